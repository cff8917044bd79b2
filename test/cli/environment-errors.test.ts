/**
 * What the environment refuses — a file where a folder goes, a missing folder, a store another
 * process holds — is a located error with a stable code and exit 1, not an internal error with a
 * stack trace.
 */
import { spawn } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
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

  it('an --out folder that is a file is named as such, not by a file written under it', async () => {
    // compile wrote `<out>/<host>.nft.tmp-<pid>` first and reported ENOTDIR at that temporary
    // name; recommend named `<out>/<policy>.yaml`: the user gave `--out`, so it is named
    const file = path.join(root, 'out-file')
    writeFileSync(file, 'x')
    const c = await cli(
      'compile',
      '-w',
      'test/fixtures/eval-estate',
      '--target',
      'nftables',
      '--out',
      file,
      '-o',
      'json',
    )
    expect(c.code).toBe(1)
    const doc = JSON.parse(c.stdout) as {
      diagnostics: { code: string; location?: { file: string } }[]
    }
    expect(doc.diagnostics).toEqual([
      expect.objectContaining({
        code: 'io/write-failed',
        location: expect.objectContaining({ file }),
      }),
    ])
    expect(c.stderr).toContain('a file is in the way: give a folder path, or remove the file')
    expect(c.stderr).not.toContain('.tmp-')
    expect(readFileSync(file, 'utf8')).toBe('x')
  })

  it('metrics --out in a missing folder is named at --out, not at its temporary FILE.tmp', async () => {
    const out = path.join(root, 'no-such-folder', 'bulkhead.prom')
    const m = await cli('metrics', '-w', 'test/fixtures/eval-estate', '-o', 'prom', '--out', out)
    expect(m.code).toBe(1)
    expect(m.stderr).toContain(`${out} error io/not-found: cannot open "${out}"`)
    expect(m.stderr).not.toContain('.tmp')
  })

  it('metrics --out onto a folder, compile onto an artefact that is a folder: no temporary file left', async () => {
    const out = path.join(root, 'a-folder.prom')
    mkdirSync(out)
    const m = await cli('metrics', '-w', 'test/fixtures/eval-estate', '-o', 'prom', '--out', out)
    expect(m.code).toBe(1)
    expect(m.stderr).toContain(`${out} error io/write-failed: cannot rename "${out}"`)
    expect(m.stderr).not.toContain('.tmp')
    expect(readdirSync(root).filter((f) => f.includes('.tmp'))).toEqual([])
    const ws = path.join(root, 'artefact-folder')
    expect((await cli('init', '-w', ws)).code).toBe(0)
    const dir = path.join(root, 'artefact-out')
    mkdirSync(path.join(dir, 'web-1.nft'), { recursive: true })
    const c = await cli('compile', '-w', ws, '--target', 'nftables', '--out', dir)
    expect(c.code).toBe(1)
    expect(c.stderr).toContain('error io/write-failed: cannot rename')
    expect(c.stderr).not.toContain('.tmp')
    expect(readdirSync(dir)).toEqual(['web-1.nft'])
  })

  // Node's own recursive mkdir retries for ever where mkdir says ENOENT under a parent that
  // exists, as inside /proc (Linux)
  it.skipIf(!existsSync('/proc/self'))(
    'a folder that cannot be made under /proc: io/not-found at once, for every verb that writes',
    async () => {
      const where = '/proc/bulkhead-no-such-folder/ws'
      const init = await cli('init', '-w', where)
      expect(init.code).toBe(1)
      expect(init.stderr).toMatch(
        /error io\/not-found: cannot mkdir "\/proc\/bulkhead-no-such-folder"/,
      )
      const ws = path.join(root, 'proc-out')
      expect((await cli('init', '-w', ws)).code).toBe(0)
      const compile = await cli('compile', '-w', ws, '--target', 'nftables', '--out', where)
      expect(compile.stderr).toMatch(/error io\/not-found: cannot mkdir/)
      expect(compile.code).toBe(1)
      // the store's folder, from bulkhead.yaml
      const yaml = path.join(ws, 'bulkhead.yaml')
      writeFileSync(
        yaml,
        readFileSync(yaml, 'utf8').replace(/^store: .*$/m, `store: ${where}/store.duckdb`),
      )
      const flows = path.join(ws, 'flows.csv')
      writeFileSync(flows, 'src_ip,dst_ip,src_port,dst_port,protocol\n10.0.0.1,10.0.0.2,1,2,tcp\n')
      const ingest = await cli('ingest', '-w', ws, flows)
      expect(ingest.stderr).toMatch(/error io\/not-found: cannot mkdir/)
      expect(ingest.code).toBe(1)
    },
  )

  it('a store path that is a folder: store/open-failed whose hint says so (s44 QA hostile F3)', async () => {
    const ws = path.join(root, 'store-folder')
    expect((await cli('init', '-w', ws)).code).toBe(0)
    mkdirSync(path.join(ws, 'data'))
    const yaml = path.join(ws, 'bulkhead.yaml')
    writeFileSync(yaml, readFileSync(yaml, 'utf8').replace(/^store: .*$/m, 'store: data'))
    const flows = path.join(ws, 'flows.csv')
    writeFileSync(flows, 'src_ip,dst_ip,src_port,dst_port,protocol\n10.0.0.1,10.0.0.2,1,443,tcp\n')
    const r = await cli('ingest', '-w', ws, flows)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('error store/open-failed')
    expect(r.stderr).toContain('the store names a folder: name the DuckDB file in it')
  })

  it('a store another process holds: store/locked, exit 1', async () => {
    const { ws, flows, store } = await ingestedWorkspace('locked')
    // a second process opens the store and holds it (DuckDB: one writing process per file)
    await withHolder(store, {}, async () => {
      const r = await cli('ingest', '-w', ws, flows)
      expect(r.code).toBe(1)
      expect(r.stderr).toContain('error store/locked')
      expect(r.stderr).toContain('in use by another process')
    })
  }, 40_000)

  it('commands that only read share the store with another reader; a writer gets store/locked', async () => {
    const { ws, flows, store } = await ingestedWorkspace('shared')
    // as a second `simulate` or `discover` holds it: DuckDB's read-only access mode
    await withHolder(store, { access_mode: 'READ_ONLY' }, async () => {
      const sim = await cli('simulate', '-w', ws, '-o', 'json')
      expect(sim.stderr).toBe('')
      expect(sim.code).toBe(0)
      expect(JSON.parse(sim.stdout)).toMatchObject({ flows: 1 })
      const discover = await cli('discover', '-w', ws, '-o', 'json')
      expect(discover.code).toBe(0)
      const ingest = await cli('ingest', '-w', ws, flows)
      expect(ingest.code).toBe(1)
      expect(ingest.stderr).toContain('error store/locked')
    })
  }, 40_000)
})

/** A workspace with one flow ingested into its store. */
async function ingestedWorkspace(
  name: string,
): Promise<{ ws: string; flows: string; store: string }> {
  const ws = path.join(root, name)
  expect((await cli('init', '-w', ws)).code).toBe(0)
  const flows = path.join(ws, 'flows.csv')
  writeFileSync(
    flows,
    'src_ip,dst_ip,src_port,dst_port,protocol\n10.0.0.1,10.0.0.2,40000,443,tcp\n',
  )
  expect((await cli('ingest', '-w', ws, flows)).code).toBe(0)
  return { ws, flows, store: path.join(ws, '.bulkhead', 'store.duckdb') }
}

/** Runs `body` while another process holds the DuckDB file `store`, opened with `config`. */
async function withHolder(
  store: string,
  config: Record<string, string>,
  body: () => Promise<void>,
): Promise<void> {
  const holder = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { DuckDBInstance } from '@duckdb/node-api'
const db = await DuckDBInstance.create(process.argv[1], JSON.parse(process.argv[2]))
await db.connect()
process.stdout.write('open\\n')
setTimeout(() => undefined, 30000)`,
      store,
      JSON.stringify(config),
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
    await body()
  } finally {
    holder.kill()
  }
}
