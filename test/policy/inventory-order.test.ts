/**
 * Inventory paths are read in the order bulkhead.yaml lists them (each folder's files sorted by
 * path), so LabelRules apply in that order: the earlier rule wins a key (README "Inventory").
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadWorkspace } from '../../src/policy/files.js'

const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-inventory-order-'))
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

const rules = (env: string): string =>
  `apiVersion: bulkhead.dev/v1\nkind: LabelRules\nrules:\n  - { match: { cidr: 10.0.0.0/8 }, labels: { env: ${env} } }\n`

describe('the order of inventory paths', () => {
  it.each([
    ['[late/, early/]', 'late'],
    ['[early/, late/]', 'early'],
  ])('inventory: %s gives env %s (the first listed LabelRules win)', async (list, env) => {
    const ws = path.join(root, env)
    for (const dir of ['early', 'late']) {
      mkdirSync(path.join(ws, dir), { recursive: true })
      writeFileSync(path.join(ws, dir, 'rules.yaml'), rules(dir))
    }
    writeFileSync(
      path.join(ws, 'early', 'hosts.yaml'),
      'apiVersion: bulkhead.dev/v1\nkind: Inventory\nworkloads:\n  - { name: h, addresses: [10.0.0.1], labels: { role: web } }\n',
    )
    writeFileSync(
      path.join(ws, 'bulkhead.yaml'),
      `apiVersion: bulkhead.dev/v1\nkind: Workspace\ninventory: ${list}\npolicy: policy/\n`,
    )
    mkdirSync(path.join(ws, 'policy'), { recursive: true })
    const r = await loadWorkspace(ws, new Date(0))
    expect(r.diagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
    expect(r.inventory.workloads[0]?.labels).toEqual({ env, role: 'web' })
  })
})
