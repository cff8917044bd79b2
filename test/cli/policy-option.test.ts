/**
 * `--policy DIR|REV:path` on the verbs that judge one policy set: `lint`, `eval` and `connlist`
 * take it as `simulate` does, so a proposal (`recommend --out DIR`) can be checked, queried and
 * listed before it replaces the workspace's policy folder.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { cli } from '../helpers/cli.js'

const W = 'test/fixtures/simulate-estate'
const AT = '2026-10-25T00:00:00Z'
const tmp = mkdtempSync(path.join(tmpdir(), 'bulkhead-policy-option-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** One rule, web to api on tcp/443, without a reason (lint/no-reason, an error). */
const PROPOSAL = path.join(tmp, 'proposed')
mkdirSync(PROPOSAL)
writeFileSync(
  path.join(PROPOSAL, 'only-web.yaml'),
  `apiVersion: bulkhead.dev/v1
kind: Policy
metadata: { name: only-web, owner: team-payments }
scope: { app: payments, env: prod }
rules:
  - id: web-to-api
    from: [{ role: web }]
    to: [{ role: api }]
    ports: [tcp/443]
`,
)

describe('--policy on lint, eval and connlist', () => {
  it('lint checks the proposal: its rule has no reason (exit 2)', async () => {
    const r = await cli(
      'lint',
      '-w',
      W,
      '--at',
      AT,
      '--no-flows',
      '--policy',
      PROPOSAL,
      '-o',
      'json',
    )
    expect(r.code).toBe(2)
    const out = JSON.parse(r.stdout) as { findings: { code: string; rule: string }[] }
    expect(out.findings).toContainEqual(
      expect.objectContaining({ code: 'lint/no-reason', rule: 'only-web/web-to-api' }),
    )
  })

  it('eval judges by the proposal: api to db is allowed by the workspace, denied by default here', async () => {
    const q = '10.20.2.10 -> 10.20.3.10 tcp/5432'
    const ws = await cli('eval', q, '-w', W, '--at', AT, '-o', 'json')
    expect(JSON.parse(ws.stdout)).toMatchObject({ decision: 'allowed' })
    const r = await cli('eval', q, '-w', W, '--at', AT, '--policy', PROPOSAL, '-o', 'json')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ decision: 'denied', by: 'default-deny' })
  })

  it('connlist lists what the proposal allows: one connection', async () => {
    const r = await cli('connlist', '-w', W, '--at', AT, '--policy', PROPOSAL)
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('pay-web-1 => pay-api-1 : TCP 443\n')
  })

  it('a --policy that does not exist is io/not-found (exit 1)', async () => {
    const r = await cli('connlist', '-w', W, '--policy', path.join(tmp, 'nosuch'))
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('io/not-found')
  })
})

describe('--policy is one option everywhere', () => {
  it.each(['simulate', 'lint', 'eval', 'connlist'])('%s --help describes it alike', async (v) => {
    const r = await cli(v, '--help')
    expect(r.stdout.replace(/\s+/g, ' ')).toContain(
      '--policy <dir> a policy folder (or REV:path) to',
    )
  })
})
