/**
 * A command asked for a machine format that stops on an input error still prints a document in
 * that format on stdout (and the diagnostics on stderr, exit 1), so a pipeline that parses
 * `-o json` or uploads `-o sarif` reports the error instead of choking on empty output.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli } from '../helpers/cli.js'

const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-failure-output-'))
const ws = path.join(root, 'ws')
const broken = path.join(ws, 'policy', 'shop.yaml')
beforeAll(async () => {
  expect((await cli('init', '-w', ws)).code).toBe(0)
  // a rule id used twice: policy/duplicate-rule-id at the second one
  writeFileSync(
    broken,
    `apiVersion: bulkhead.dev/v1
kind: Policy
metadata: { name: shop, owner: team-shop }
scope: { app: shop }
rules:
  - { id: a, from: [{ role: web }], to: [{ role: api }], ports: [tcp/443], reason: r }
  - { id: a, from: [{ role: api }], to: [{ role: db }], ports: [tcp/5432], reason: r }
`,
  )
})
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

describe('machine output when a command stops on an input error', () => {
  it('lint -o json: {ok: false, errors, diagnostics} with the code and location', async () => {
    const r = await cli('lint', '-w', ws, '-o', 'json')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('error policy/duplicate-rule-id')
    const out = JSON.parse(r.stdout) as {
      ok: boolean
      errors: number
      diagnostics: { code: string; location?: { file: string; line: number } }[]
    }
    expect(out.ok).toBe(false)
    expect(out.errors).toBeGreaterThanOrEqual(1)
    expect(out.diagnostics).toContainEqual(
      expect.objectContaining({
        code: 'policy/duplicate-rule-id',
        location: expect.objectContaining({ file: broken, line: 7 }) as unknown,
      }),
    )
  })

  it('lint -o sarif: a SARIF log whose result points at the broken file and line', async () => {
    const r = await cli('lint', '-w', ws, '-o', 'sarif')
    expect(r.code).toBe(1)
    const log = JSON.parse(r.stdout) as {
      version: string
      runs: {
        results: {
          ruleId: string
          level: string
          locations: {
            physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } }
          }[]
        }[]
      }[]
    }
    expect(log.version).toBe('2.1.0')
    const result = log.runs[0]?.results.find((x) => x.ruleId === 'policy/duplicate-rule-id')
    expect(result?.level).toBe('error')
    const where = result?.locations[0]?.physicalLocation
    expect(where?.region.startLine).toBe(7)
    expect(where?.artifactLocation.uri).toMatch(/policy\/shop\.yaml$/)
  })

  it('simulate -o yaml and diff -o md on the same workspace; text prints nothing on stdout', async () => {
    const y = await cli('simulate', '-w', ws, '-o', 'yaml')
    expect(y.code).toBe(1)
    expect(y.stdout).toMatch(/^ok: false\n/)
    expect(y.stdout).toContain('code: policy/duplicate-rule-id')
    const md = await cli(
      'diff',
      '-w',
      ws,
      path.join(ws, 'policy'),
      path.join(ws, 'policy'),
      '-o',
      'md',
    )
    expect(md.code).toBe(1)
    expect(md.stdout).toMatch(/^\*\*bulkhead stopped on \d+ errors?\*\*/)
    expect(md.stdout).toContain('`policy/duplicate-rule-id`')
    const text = await cli('lint', '-w', ws)
    expect(text.code).toBe(1)
    expect(text.stdout).toBe('')
    expect(text.stderr).toContain('error policy/duplicate-rule-id')
  })

  it('simulate -o json on a store that is not a DuckDB file: store/open-failed', async () => {
    const other = path.join(root, 'bad-store')
    expect((await cli('init', '-w', other)).code).toBe(0)
    mkdirSync(path.join(other, '.bulkhead'), { recursive: true })
    const store = path.join(other, '.bulkhead', 'store.duckdb')
    writeFileSync(store, 'not a database\n'.repeat(1000))
    const r = await cli('simulate', '-w', other, '-o', 'json')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('error store/open-failed')
    const out = JSON.parse(r.stdout) as { ok: boolean; diagnostics: { code: string }[] }
    expect(out.ok).toBe(false)
    expect(out.diagnostics.map((d) => d.code)).toEqual(['store/open-failed'])
  })

  it('flows -o json|yaml that wrote its own document adds no second one (unusable file, --strict)', async () => {
    const missing = path.join(root, 'missing.log')
    const bad = path.join(root, 'bad.csv')
    writeFileSync(
      bad,
      'src_ip,dst_ip,dst_port,protocol\n10.0.0.1,10.0.0.2,443,tcp\n10.0.0.1,nope,443,tcp\n',
    )
    for (const args of [[missing], ['--strict', bad]]) {
      const r = await cli('flows', ...args, '-o', 'json')
      expect(r.code, args.join(' ')).toBe(1)
      const out = JSON.parse(r.stdout) as { failed: string[]; summary: { diagnostics: unknown[] } }
      expect(out.failed).toEqual(args[0] === '--strict' ? [] : [missing])
      expect(out.summary.diagnostics.length).toBeGreaterThan(0)
      const y = await cli('flows', ...args, '-o', 'yaml')
      expect(y.stdout).not.toContain('ok: false')
    }
  })
})
