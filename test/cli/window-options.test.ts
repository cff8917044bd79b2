/**
 * `--since`/`--until` wherever stored flows are read: `blast-radius --baseline observed` and
 * `metrics` (unexpected east-west) take the window as `discover`, `recommend`, `simulate`, `lint`
 * and `diff` do, and refuse it where they read no flows.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli } from '../helpers/cli.js'

const tmp = mkdtempSync(path.join(tmpdir(), 'bulkhead-window-options-'))
const W = path.join(tmp, 'ws')
const AT = '2026-10-25T00:00:00Z'
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
beforeAll(async () => {
  cpSync('test/fixtures/simulate-estate', W, { recursive: true })
  const r = await cli('ingest', '-w', W, path.join(W, 'flows.csv'))
  expect(r.code).toBe(0)
})

describe('--since/--until of blast-radius and metrics', () => {
  // flows.csv starting on 21 October or later: one, pay-web-1 -> pay-db-1 tcp/5432 (no rule
  // allows web to db)
  it('metrics: unexpected east-west over the window only', async () => {
    const all = await cli('metrics', '-w', W, '--at', AT, '--no-lateral')
    expect(all.code).toBe(0)
    const whole = (JSON.parse(all.stdout) as { unexpectedEastWest: { edges: number } })
      .unexpectedEastWest
    expect(whole.edges).toBeGreaterThan(1)
    const r = await cli('metrics', '-w', W, '--at', AT, '--no-lateral', '--since', '2026-10-21')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({
      unexpectedEastWest: {
        edges: 1,
        flows: 1,
        examples: [{ src: 'pay-web-1', dst: 'pay-db-1', service: 'tcp/5432', flows: 1 }],
      },
    })
  })

  it('blast-radius --baseline observed: what the window shows', async () => {
    const args = ['blast-radius', '-w', W, '--at', AT, '--baseline', 'observed', '-o', 'json']
    const r = await cli(...args, '--since', '2026-10-21')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({
      summary: { openPairs: 1, openLateralPaths: 1 },
    })
    const empty = await cli(...args, '--since', '2027-01-01')
    expect(empty.code).toBe(1)
    expect(empty.stderr).toContain('discover/no-flows')
  })

  it('a window where no stored flows are read is a usage error', async () => {
    const br = await cli('blast-radius', '-w', W, '--at', AT, '--since', '2026-10-21')
    expect(br.code).toBe(1)
    expect(br.stderr).toContain('error cli/usage: --since/--until select the stored flows')
    const m = await cli('metrics', '-w', W, '--at', AT, '--no-flows', '--until', '2026-10-21')
    expect(m.code).toBe(1)
    expect(m.stderr).toContain('error cli/usage: --since/--until select the stored flows')
  })
})
