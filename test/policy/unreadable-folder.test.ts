/**
 * A policy or inventory folder that cannot be listed (no permission; as root every folder can be
 * listed, so `readdir` is made to fail here) is an `io/read-failed` error, not an empty folder.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { loadWorkspace } from '../../src/policy/files.js'

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>()
  return {
    ...actual,
    readdir: (dir: string): Promise<string[]> => {
      if (path.basename(dir).startsWith('locked-')) {
        const err = new Error(`EACCES: permission denied, scandir '${dir}'`)
        Object.assign(err, { code: 'EACCES' })
        return Promise.reject(err)
      }
      return actual.readdir(dir)
    },
  }
})

const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-unreadable-'))
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

describe('a folder that cannot be listed', () => {
  it.each([
    ['policy', 'policy: locked-policy/\n'],
    ['inventory', 'inventory: [locked-inventory/]\n'],
  ])('the %s folder is io/read-failed and nothing is loaded', async (kind, yaml) => {
    const ws = path.join(root, kind)
    mkdirSync(path.join(ws, `locked-${kind}`), { recursive: true })
    writeFileSync(
      path.join(ws, 'bulkhead.yaml'),
      `apiVersion: bulkhead.dev/v1\nkind: Workspace\n${yaml}`,
    )
    const r = await loadWorkspace(ws, new Date('2026-11-01T00:00:00Z'))
    expect(r.diagnostics).toContainEqual(
      expect.objectContaining({
        code: 'io/read-failed',
        severity: 'error',
        location: expect.objectContaining({ file: expect.stringMatching(`locked-${kind}$`) }),
      }),
    )
    expect(r.policySet.policies).toEqual([])
  })
})
