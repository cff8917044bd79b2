/**
 * What the environment refuses — a file where a folder goes, a missing folder, a store another
 * process holds — is a located error with a stable code and exit 1, not an internal error with a
 * stack trace.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { cli } from '../helpers/cli.js'

const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-env-errors-'))
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

describe('errors of the environment', () => {
  it('a file where a folder goes: io/write-failed at the path, with a hint', async () => {
    const file = path.join(root, 'a-file')
    writeFileSync(file, 'x')
    const init = await cli('init', '-w', path.join(file, 'ws'))
    expect(init.code).toBe(1)
    expect(init.stderr).toMatch(/error io\/write-failed: cannot mkdir .*ENOTDIR/)
    expect(init.stderr).toContain('a part of the path is a file, not a folder')
    expect(init.stderr).not.toContain('internal error')
    expect(init.stderr).not.toMatch(/\n\s+at /) // no stack trace
  })

  it('a store another process holds: store/locked, exit 1', async () => {
    const ws = path.join(root, 'locked')
    expect((await cli('init', '-w', ws)).code).toBe(0)
    const flows = path.join(ws, 'flows.csv')
    writeFileSync(
      flows,
      'src_ip,dst_ip,src_port,dst_port,protocol\n10.0.0.1,10.0.0.2,40000,443,tcp\n',
    )
    expect((await cli('ingest', '-w', ws, flows)).code).toBe(0)
    const store = path.join(ws, '.bulkhead', 'store.duckdb')
    // a second process opens the store and holds it (DuckDB: one writing process per file)
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { DuckDBInstance } from '@duckdb/node-api'
const db = await DuckDBInstance.create(process.argv[1])
await db.connect()
process.stdout.write('open\\n')
setTimeout(() => undefined, 30000)`,
        store,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    try {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('the holder did not open the store')), 20000)
        holder.stdout.on('data', (b: Buffer) => {
          if (b.toString().includes('open')) {
            clearTimeout(t)
            resolve()
          }
        })
        holder.on('exit', () => reject(new Error('the holder exited')))
      })
      const r = await cli('ingest', '-w', ws, flows)
      expect(r.code).toBe(1)
      expect(r.stderr).toContain('error store/locked')
      expect(r.stderr).toContain('in use by another process')
    } finally {
      holder.kill()
    }
  }, 40_000)
})
