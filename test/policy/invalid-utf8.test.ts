/**
 * Bytes that are not UTF-8 in an inventory or policy file (a Latin-1 `é`, one byte E9) are read
 * as U+FFFD, as before, but with an `io/invalid-utf8` warning at the first of them (hC's input
 * audit, s33: a team name `team-été` saved as Latin-1 arrived as `team-t\uFFFD\uFFFD` without a
 * word). The file still loads: a Latin-1 comment should not stop a load.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { hasErrors, replacementWarning } from '../../src/core/index.js'
import { loadWorkspace } from '../../src/policy/files.js'
import { cli } from '../helpers/cli.js'

const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-utf8-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const INVENTORY = `apiVersion: bulkhead.dev/v1
kind: Inventory
workloads:
  - { name: web-1, addresses: [10.0.0.1], labels: { app: shop, role: web } }
  - { name: api-1, addresses: [10.0.0.2], labels: { app: shop, role: api } }
`
/** A policy whose owner holds two Latin-1 bytes (E9) on line 3, the first at column 37 (after `metadata: { name: shop, owner: team-`, 36 characters). */
const POLICY = Buffer.concat([
  Buffer.from('apiVersion: bulkhead.dev/v1\nkind: Policy\nmetadata: { name: shop, owner: team-'),
  Buffer.from([0xe9]),
  Buffer.from('t'),
  Buffer.from([0xe9]),
  Buffer.from(
    ' }\nscope: { app: shop }\nrules:\n  - { id: r1, from: [{ role: web }], to: [{ role: api }], ports: [tcp/443], reason: x }\n',
  ),
])

describe('io/invalid-utf8', () => {
  it('warns at the first byte that is not UTF-8 and loads the file all the same', async () => {
    const ws = path.join(root, 'ws')
    mkdirSync(path.join(ws, 'inventory'), { recursive: true })
    mkdirSync(path.join(ws, 'policy'), { recursive: true })
    writeFileSync(path.join(ws, 'inventory', 'hosts.yaml'), INVENTORY)
    writeFileSync(path.join(ws, 'policy', 'shop.yaml'), POLICY)
    const loaded = await loadWorkspace(ws, new Date('2026-11-24T00:00:00Z'))
    expect(hasErrors(loaded.diagnostics)).toBe(false)
    const warnings = loaded.diagnostics.filter((d) => d.code === 'io/invalid-utf8')
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatchObject({
      severity: 'warning',
      location: { line: 3, column: 37 },
    })
    expect(warnings[0]?.location?.file).toMatch(/policy[/\\]shop\.yaml$/)
    expect(loaded.policySet.policies[0]?.owner).toBe('team-\uFFFDt\uFFFD')
    const r = await cli('validate', '-w', ws)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/shop\.yaml:3:37 warning io\/invalid-utf8/)
  })

  it('gives none for UTF-8 text, and counts the column in the line', () => {
    expect(replacementWarning({ path: 'a.yaml', text: 'team-été\n' })).toBeUndefined()
    expect(replacementWarning({ path: 'a.yaml', text: 'a: 1\nbb: \uFFFD\n' })?.location).toEqual({
      file: 'a.yaml',
      line: 2,
      column: 5,
    })
  })
})
