import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { InventoryOutput, SuggestLabelsOutput } from '../../src/cli/commands/inventory.js'
import { emptyInventoryParts, readLabelRulesDocument } from '../../src/inventory/index.js'
import { parseYamlFile } from '../../src/core/yaml-source.js'
import type { Diagnostic } from '../../src/core/index.js'
import { cli } from '../helpers/cli.js'

const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-suggest-'))
const ws = path.join(root, 'estate')

const INVENTORY = `apiVersion: bulkhead.dev/v1
kind: Inventory
workloads:
  - { name: web-1, addresses: [10.1.1.10], labels: { role: web } }
  - { name: api-1, addresses: [10.1.2.10], labels: { role: api } }
  - { name: api-2, addresses: [10.1.2.11], labels: { role: api } }
  - { name: db-1, addresses: [10.1.3.10], labels: { role: db } }
  - { name: db-2, addresses: [10.1.3.11], labels: { role: db } }
  - { name: api-3, addresses: [10.1.2.12] }
  - { name: db-3, addresses: [10.1.3.12] }
  - { name: loner, addresses: [10.1.9.9] }
`

/** One AWS VPC v2 record with both halves (request and reply) at epoch second `t`. */
function conn(src: string, dst: string, dport: number, t: number, sport = 40000): string[] {
  const line = (a: string, b: string, ap: number, bp: number) =>
    `2 123456789010 eni-1 ${a} ${b} ${ap} ${bp} 6 10 1000 ${t} ${t + 60} ACCEPT OK`
  return [line(src, dst, sport, dport), line(dst, src, dport, sport)]
}

const T = 1_790_000_000 // 2026-09-21
const FLOWS = [
  ...conn('10.1.1.10', '10.1.2.10', 8080, T),
  ...conn('10.1.1.10', '10.1.2.11', 8080, T + 100),
  ...conn('10.1.1.10', '10.1.2.12', 8080, T + 200),
  ...conn('10.1.2.10', '10.1.3.10', 5432, T + 300),
  ...conn('10.1.2.11', '10.1.3.11', 5432, T + 400),
  ...conn('10.1.2.12', '10.1.3.11', 5432, T + 500),
  // db-3 is a third db: called by api-1 and api-3
  ...conn('10.1.2.10', '10.1.3.12', 5432, T + 600),
  ...conn('10.1.2.12', '10.1.3.12', 5432, T + 700),
  // loner talks to an address nobody else talks to
  ...conn('10.1.9.9', '192.0.2.7', 443, T + 800),
]

beforeAll(async () => {
  mkdirSync(path.join(ws, 'inventory'), { recursive: true })
  mkdirSync(path.join(ws, 'flows'), { recursive: true })
  writeFileSync(path.join(ws, 'inventory', 'estate.yaml'), INVENTORY)
  const flows = path.join(ws, 'flows', 'vpc.log')
  writeFileSync(flows, `${FLOWS.join('\n')}\n`)
  const r = await cli('ingest', '-w', ws, flows, '-o', 'json')
  expect(r.code, r.stderr).toBe(0)
})

afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

describe('bulkhead inventory suggest-labels', () => {
  it('json_proposes_api_for_api_3_and_db_for_db_3', async () => {
    const r = await cli('inventory', 'suggest-labels', '-w', ws, '-o', 'json')
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout) as SuggestLabelsOutput
    expect(out.key).toBe('role')
    expect(out.minScore).toBe(0.6)
    expect(out.unlabelled).toBe(3)
    expect(out.window.start).toBe('2026-09-21T14:13:20Z')
    expect(out.suggestions.map((s) => [s.workload, s.value, s.shared, s.total, s.members])).toEqual(
      [
        // api-3: from role=web tcp/8080, to role=db tcp/5432 (db-2), like api-1 and api-2; its call
        // to db-3 (unlabelled) is shared with api-1 (3 of 3) and left out against api-2 (2 of 2)
        ['api-3', 'api', 3, 3, ['api-1', 'api-2']],
        // db-3: from role=api tcp/5432 like db-1; from api-3 (unlabelled) shared with db-2 only
        ['db-3', 'db', 2, 2, ['db-1', 'db-2']],
      ],
    )
    expect(out.suggestions[0]?.reason).toBe(
      'shares 3 of 3 peers/ports with role=api (api-1, api-2)',
    )
    // loner's only peer is an address nobody else talks to
    expect(out.suggestions.map((s) => s.workload)).not.toContain('loner')
  })

  it('yaml_is_a_label_rules_document_that_loads_cleanly', async () => {
    const r = await cli('inventory', 'suggest-labels', '-w', ws)
    expect(r.code).toBe(0)
    const sink: Diagnostic[] = []
    const parts = emptyInventoryParts()
    for (const d of parseYamlFile({ path: 'x.yaml', text: r.stdout }, sink))
      readLabelRulesDocument(d, parts)
    expect(sink).toEqual([])
    expect(parts.labelRules.map((l) => [l.match.name, l.labels])).toEqual([
      ['^api-3$', { role: 'api' }],
      ['^db-3$', { role: 'db' }],
    ])
    expect(r.stdout).toContain(
      '# api-3: shares 3 of 3 peers/ports with role=api (api-1, api-2); score 1.00',
    )
    const g = await cli('inventory', 'suggest-labels', '-w', ws, '--group', 'role')
    expect(g.stdout).toContain('name: ^api-3$')
  })

  it('text_and_options', async () => {
    const t = await cli('inventory', 'suggest-labels', '-w', ws, '-o', 'text')
    expect(t.code).toBe(0)
    expect(t.stdout).toMatch(/^WORKLOAD +SUGGEST +SCORE +REASON$/m)
    expect(t.stdout).toMatch(/^api-3 +role=api +1\.00 +shares 3 of 3/m)
    expect(t.stdout).toContain('2 suggestions for 3 workloads without "role" (min score 0.6)')
    // another key: nobody carries "tier", so there is nobody to be like
    const k = await cli('inventory', 'suggest-labels', '-w', ws, '--key', 'tier', '-o', 'json')
    expect((JSON.parse(k.stdout) as SuggestLabelsOutput).suggestions).toEqual([])
    // a window without flows
    const w = await cli('inventory', 'suggest-labels', '-w', ws, '--since', '2030-01-01')
    expect(w.code).toBe(1)
    expect(w.stderr).toContain('discover/no-flows')
  })

  it('bad_flags_are_usage_errors', async () => {
    for (const args of [
      ['--min-score', '0'],
      ['--min-score', '1.5'],
      ['--min-score', 'high'],
      ['--group', 'team'],
      ['-o', 'dot'],
      ['--since', '2026-10-02', '--until', '2026-10-01'],
    ]) {
      const r = await cli('inventory', 'suggest-labels', '-w', ws, ...args)
      expect(r.code, args.join(' ')).toBe(1)
      expect(r.stderr, args.join(' ')).toContain('cli/usage')
    }
  })

  it('plain_inventory_still_works_and_shows_raw_aws_tags', async () => {
    const r = await cli('inventory', '-w', ws, '-o', 'json')
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout) as InventoryOutput
    expect(out.workloads).toHaveLength(8)
    expect(out.workloads[0]).not.toHaveProperty('tags')
    const m = await cli('inventory', '-w', 'test/fixtures/inventory-mixed', '-o', 'json')
    const bastion = (JSON.parse(m.stdout) as InventoryOutput).workloads.find(
      (w) => w.name === 'bastion',
    )
    expect(bastion?.tags).toEqual({
      Name: 'bastion',
      env: 'prod',
      'aws:cloudformation:stack-name': 'edge',
    })
  })
})
