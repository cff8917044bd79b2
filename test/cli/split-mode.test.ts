/**
 * `eval`, `simulate` (files and store) and `compile --target nftables` give a workload split by
 * a `cidr` Enforcement entry one mode, the strongest of its addresses' (held-out case c20), on
 * test/fixtures/split-mode-estate: `dual` holds 10.20.0.4 (in `cidr: 10.20.0.0/24` → enforce)
 * and 10.21.0.4 (`{}` → monitor), so it is enforced; `p3` (10.20.2.9) is monitor; `roamer`
 * holds 10.21.0.7 and, on 2026-10-20 only, 10.20.0.7, so it is enforced that day and monitor
 * after. No rule allows tcp/80. Expected values worked out by hand from the YAML.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SimulateOutput } from '../../src/cli/commands/simulate.js'
import { cli, compileCli } from '../helpers/cli.js'

const W = 'test/fixtures/split-mode-estate'
const FLOWS = `${W}/flows.csv`
const AT = '2026-10-20T12:00:00Z'

const evalJson = async (flow: string, at = AT): Promise<Record<string, unknown>> => {
  const r = await cli('eval', flow, '-w', W, '--at', at, '-o', 'json')
  expect(r.code).toBe(0)
  return JSON.parse(r.stdout) as Record<string, unknown>
}

/** The hand-worked denied edges of flows.csv: every flow from or to dual or roamer on day 20 is blocked. */
const EDGES = [
  'blocked dual -> p3 tcp/80 x2 {"blocked":2}',
  'blocked p3 -> dual tcp/80 x1 {"blocked":1}',
  'blocked roamer -> p3 tcp/80 x2 {"blocked":1,"would-be-blocked":1}',
]
const edges = (o: SimulateOutput): string[] =>
  o.denied
    .map(
      (e) =>
        `${e.outcome} ${e.src.name} -> ${e.dst.name} ${e.service} x${e.flows} ${JSON.stringify(
          Object.fromEntries(Object.entries(e.outcomes).filter(([, n]) => n > 0)),
        )}`,
    )
    .sort()
const OUTCOMES = { allowed: 1, blocked: 4, 'would-be-blocked': 1, unenforced: 0 }

describe('a workload split by a cidr Enforcement entry has one mode (c20)', () => {
  it('eval: the flow from dual at its monitor address is blocked', async () => {
    const v = await evalJson('10.21.0.4 -> 10.20.2.9 tcp/80')
    expect([v['srcMode'], v['dstMode'], v['outcome']]).toEqual(['enforce', 'monitor', 'blocked'])
    const back = await evalJson('10.20.2.9 -> 10.21.0.4 tcp/80')
    expect([back['srcMode'], back['dstMode'], back['outcome']]).toEqual([
      'monitor',
      'enforce',
      'blocked',
    ])
  })

  it('eval: roamer is enforced while it holds an address in the block, monitor after', async () => {
    const day20 = await evalJson('10.21.0.7 -> 10.20.2.9 tcp/80')
    expect([day20['srcMode'], day20['outcome']]).toEqual(['enforce', 'blocked'])
    const day22 = await evalJson('10.21.0.7 -> 10.20.2.9 tcp/80', '2026-10-22T12:00:00Z')
    expect([day22['srcMode'], day22['outcome']]).toEqual(['monitor', 'would-be-blocked'])
  })

  it('simulate --flows', async () => {
    const r = await cli('simulate', '-w', W, '--at', AT, '-o', 'json', '--flows', FLOWS)
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout) as SimulateOutput
    expect(out.outcomes).toEqual(OUTCOMES)
    expect(edges(out)).toEqual(EDGES)
  })

  it('compile --target nftables gives dual the mode eval gives it', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'bulkhead-split-'))
    try {
      const r = await compileCli('nftables', out, W, AT)
      expect(r.code).toBe(0)
      const text = readFileSync(path.join(out, 'dual.nft'), 'utf8')
      expect(text).toContain('# mode: enforce')
      expect(r.stderr).toContain('compile/mixed-mode')
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  })
})

describe('a workload split by a cidr Enforcement entry, simulated from the store', () => {
  let dir = ''
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-split-'))
    cpSync(W, dir, { recursive: true })
    expect((await cli('ingest', '-w', dir, path.join(dir, 'flows.csv'))).code).toBe(0)
  })
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  it('gives the same outcomes as the files', async () => {
    const r = await cli('simulate', '-w', dir, '--at', AT, '-o', 'json')
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout) as SimulateOutput
    expect(out.source.from).toBe('store')
    expect(out.outcomes).toEqual(OUTCOMES)
    expect(edges(out)).toEqual(EDGES)
  })
})
