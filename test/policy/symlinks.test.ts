/**
 * Symbolic links in policy, inventory and manifest folders: a link back to a folder the walk is
 * inside is one `io/read-failed` at the link (it was walked some 40 levels deep, each file read
 * once per level: 40 duplicate-policy-name errors at ever longer paths); a `.yaml` link that leads
 * nowhere, or round in a loop, is an error, not a file left out without a word.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadWorkspace } from '../../src/policy/files.js'
import { readManifestFiles } from '../../src/kubernetes/files.js'

const NOW = new Date('2026-11-01T00:00:00Z')
const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-symlinks-'))
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

const POLICY = `apiVersion: bulkhead.dev/v1
kind: Policy
metadata: { name: p, owner: o }
rules: []
`

function workspace(name: string): string {
  const ws = path.join(root, name)
  mkdirSync(path.join(ws, 'policy'), { recursive: true })
  mkdirSync(path.join(ws, 'inventory'), { recursive: true })
  writeFileSync(path.join(ws, 'bulkhead.yaml'), 'apiVersion: bulkhead.dev/v1\nkind: Workspace\n')
  writeFileSync(path.join(ws, 'policy', 'p.yaml'), POLICY)
  return ws
}

describe('symbolic links in workspace folders', () => {
  it('a link back to an enclosing folder is one io/read-failed at the link', async () => {
    const ws = workspace('loop')
    symlinkSync('.', path.join(ws, 'policy', 'again'))
    mkdirSync(path.join(ws, 'inventory', 'sub'))
    symlinkSync('../../inventory', path.join(ws, 'inventory', 'sub', 'up'))
    const r = await loadWorkspace(ws, NOW)
    expect(r.diagnostics.map((d) => [d.code, path.basename(d.location?.file ?? '')])).toEqual([
      ['io/read-failed', 'up'],
      ['io/read-failed', 'again'],
    ])
    expect(r.policySet.policies).toHaveLength(0)
  })

  it('a link to a folder outside is read, once', async () => {
    const ws = workspace('outside')
    mkdirSync(path.join(ws, 'shared'))
    writeFileSync(path.join(ws, 'shared', 'q.yaml'), POLICY.replace('name: p', 'name: q'))
    symlinkSync('../shared', path.join(ws, 'policy', 'shared'))
    const r = await loadWorkspace(ws, NOW)
    expect(r.diagnostics).toEqual([])
    expect(r.policySet.policies.map((p) => p.name)).toEqual(['p', 'q'])
  })

  it('a .yaml link that leads nowhere is io/not-found, one that loops io/read-failed', async () => {
    const ws = workspace('dangling')
    symlinkSync('gone.yaml', path.join(ws, 'policy', 'a.yaml'))
    symlinkSync('b.yaml', path.join(ws, 'policy', 'b.yaml'))
    symlinkSync('gone', path.join(ws, 'policy', 'notes')) // not a name that is read: ignored
    const r = await loadWorkspace(ws, NOW)
    expect(r.diagnostics.map((d) => [d.code, path.basename(d.location?.file ?? '')])).toEqual([
      ['io/not-found', 'a.yaml'],
      ['io/read-failed', 'b.yaml'],
    ])
    expect(r.policySet.policies).toHaveLength(0)
  })

  it('k8s manifests: a link back to an enclosing folder is ELOOP at the link', () => {
    const dir = path.join(root, 'manifests')
    mkdirSync(dir)
    writeFileSync(
      path.join(dir, 'ns.yaml'),
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n',
    )
    symlinkSync('.', path.join(dir, 'loop'))
    let err: unknown
    try {
      readManifestFiles(dir, root)
    } catch (e) {
      err = e
    }
    expect(err).toMatchObject({ code: 'ELOOP', syscall: 'scandir', path: 'manifests/loop' })
  })
})
