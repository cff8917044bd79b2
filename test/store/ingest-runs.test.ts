/**
 * Runs of small files stored in one transaction (`FlowStore.ingestFiles`, and `bulkhead ingest`
 * of a folder of small files): a file that fails in the middle of a run stores nothing of itself
 * (no flow, no source, no address only it names), the others are stored, each once; a second run
 * stores nothing again.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { Command } from 'commander'
import { BulkheadError } from '../../src/core/index.js'
import { ingestFiles, registerIngest, type IngestOutput } from '../../src/cli/commands/ingest.js'
import { readFlowColumns, type FileSummary } from '../../src/ingest/read.js'
import { openDuckDbStore, type FlowStore, type IngestFileResult } from '../../src/store/index.js'
import { FlowWriter } from '../../src/store/duckdb/batch.js'

const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-ingest-runs-'))
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})
afterEach(() => {
  vi.restoreAllMocks()
  process.exitCode = undefined
})

const HEADER =
  'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n'

/** An AWS v2 file of `n` records from 10.`k`.0.x to 10.`k`.1.x (addresses of file `k` only). */
function awsText(k: number, n: number): string {
  let s = HEADER
  for (let i = 0; i < n; i++)
    s += `2 123456789010 eni-${k} 10.${k}.0.${i + 1} 10.${k}.1.${i + 1} ${40000 + i} 443 6 10 840 ${1793491200 + i} ${1793491260 + i} ACCEPT OK\n`
  return s
}

/** Reads `file` as the CLI does (strict: a malformed record makes the file unusable). */
function reader(summaries: FileSummary[]) {
  return (file: string) => readFlowColumns([file], { format: 'auto', strict: true }, summaries)
}

function isResult(r: IngestFileResult | BulkheadError): r is IngestFileResult {
  return !(r instanceof BulkheadError)
}

async function rows(store: FlowStore, sql: string): Promise<unknown[]> {
  return (await store.query<Record<string, unknown>>(sql)).map((r) => Object.values(r)[0])
}

describe('FlowStore.ingestFiles', () => {
  it('stores_a_run_in_one_go_leaving_out_alone_a_file_that_fails_in_the_middle', async () => {
    const dir = path.join(root, 'store-run')
    mkdirSync(dir)
    const a = path.join(dir, 'a.log')
    const bad = path.join(dir, 'bad.log')
    const twin = path.join(dir, 'a-copy.log')
    const b = path.join(dir, 'b.log.gz')
    const missing = path.join(dir, 'missing.log')
    const earlier = path.join(dir, 'earlier.log')
    writeFileSync(a, awsText(1, 5))
    // 4 good records (read and yielded before the error), then a malformed one
    writeFileSync(
      bad,
      awsText(2, 4) +
        '2 123456789010 eni-2 10.2.0.9 not-an-address 40000 443 6 10 840 1793491200 1793491260 ACCEPT OK\n',
    )
    copyFileSync(a, twin)
    writeFileSync(b, gzipSync(awsText(3, 7)))
    writeFileSync(earlier, awsText(4, 3))
    const store = await openDuckDbStore(path.join(dir, 'store.duckdb'))
    try {
      const summaries: FileSummary[] = []
      const first = await store.ingestFile(earlier, reader(summaries))
      expect(first).toMatchObject({ records: 3, alreadyIngested: false })

      const files = [a, bad, twin, b, missing, earlier]
      const results = await store.ingestFiles(files, reader(summaries))
      expect(
        results.map((r) => (isResult(r) ? r.alreadyIngested : r.diagnostics[0]?.code)),
      ).toEqual([false, 'ingest/malformed-record', true, false, 'io/not-found', true])
      expect(results.filter(isResult).map((r) => [r.file, r.records])).toEqual([
        [a, 5],
        [twin, 5],
        [b, 7],
        [earlier, 3],
      ])
      expect(await store.count()).toBe(3 + 5 + 7)
      expect((await rows(store, 'SELECT DISTINCT file FROM flows ORDER BY file')).sort()).toEqual(
        [a, b, earlier].sort(),
      )
      // nothing of the failed file: no source row, no address only it names
      expect(await rows(store, `SELECT count(*) FROM sources WHERE file = '${bad}'`)).toEqual([0])
      expect(await rows(store, `SELECT count(*) FROM addresses WHERE text LIKE '10.2.%'`)).toEqual([
        0,
      ])
      expect((await rows(store, 'SELECT path FROM ingested_files')).sort()).toEqual(
        [a, b, earlier].sort(),
      )

      // again: every good file already ingested, the bad one fails again, nothing is added
      const again = await store.ingestFiles(files, reader(summaries))
      expect(again.map((r) => (isResult(r) ? r.alreadyIngested : r.diagnostics[0]?.code))).toEqual([
        true,
        'ingest/malformed-record',
        true,
        true,
        'io/not-found',
        true,
      ])
      expect(await store.count()).toBe(3 + 5 + 7)
      expect(await rows(store, 'SELECT count(*) FROM ingested_files')).toEqual([3])
    } finally {
      await store.close()
    }
  })
})

describe('FlowStore.ingestFiles when the store fails part-way', () => {
  it('gives_every_file_of_the_run_the_error_those_not_yet_read_too_and_stores_none', async () => {
    const dir = path.join(root, 'store-fails')
    mkdirSync(dir)
    const files = [1, 2, 3, 4, 5].map((k) => {
      const f = path.join(dir, `s${k}.log`)
      writeFileSync(f, awsText(20 + k, 3))
      return f
    })
    const store = await openDuckDbStore(path.join(dir, 'store.duckdb'))
    try {
      // the write of the third file fails as a full disk does
      // called with the writer as `this` below
      // eslint-disable-next-line @typescript-eslint/unbound-method
      const append = FlowWriter.prototype.append
      let calls = 0
      vi.spyOn(FlowWriter.prototype, 'append').mockImplementation(function (
        this: FlowWriter,
        batch,
      ) {
        if (++calls === 3) return Promise.reject(new Error('IO Error: No space left on device'))
        return append.call(this, batch)
      })
      const results = await store.ingestFiles(files, reader([]))
      vi.restoreAllMocks()
      expect(results).toHaveLength(files.length)
      expect(
        results.map((r) => (r instanceof BulkheadError ? r.diagnostics[0]?.code : 'stored')),
      ).toEqual(files.map(() => 'io/write-failed'))
      expect(await store.count()).toBe(0)
      expect(await rows(store, 'SELECT count(*) FROM ingested_files')).toEqual([0])
      // the store goes on: the same files are stored by the next run
      const again = await store.ingestFiles(files, reader([]))
      expect(again.every((r) => isResult(r) && !r.alreadyIngested)).toBe(true)
      expect(await store.count()).toBe(15)
    } finally {
      await store.close()
    }
  })
})

/** Runs `bulkhead ingest ...args` in-process; returns exit code and stdout. */
async function ingest(args: string[]): Promise<{ code: number; out: string }> {
  let out = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s)
    return true
  })
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
  const program = new Command('bulkhead').exitOverride()
  registerIngest(program)
  try {
    await program.parseAsync(['ingest', ...args], { from: 'user' })
  } finally {
    vi.restoreAllMocks()
  }
  return { code: typeof process.exitCode === 'number' ? process.exitCode : 0, out }
}

describe('bulkhead ingest of a folder of small files', () => {
  it('stores_every_good_file_once_and_reports_the_one_that_fails', async () => {
    const ws = path.join(root, 'ws')
    const flows = path.join(ws, 'flows')
    mkdirSync(flows, { recursive: true })
    const names: string[] = []
    for (let k = 1; k <= 30; k++) {
      const name = path.join(flows, `f${String(k).padStart(2, '0')}.log.gz`)
      writeFileSync(name, gzipSync(awsText(k, k)))
      names.push(name)
    }
    // the 15th file is cut short: a truncated gzip stream
    const cut = names[14] as string
    const whole = gzipSync(awsText(15, 200))
    writeFileSync(cut, whole.subarray(0, whole.length - 20))
    // the 20th has the bytes of the 3rd
    const twin = names[19] as string
    copyFileSync(names[2] as string, twin)
    const expected = names.reduce((n, _, i) => (i === 14 || i === 19 ? n : n + i + 1), 0)

    const r = await ingest(['-w', ws, flows, '-o', 'json'])
    expect(r.code).toBe(1)
    const o = JSON.parse(r.out) as IngestOutput
    expect(o.failed).toEqual([cut])
    expect(o.diagnostics.map((d) => d.code)).toContain('ingest/truncated-input')
    expect(o.records).toBe(expected)
    expect(o.files).toBe(28)
    expect(o.alreadyIngested).toEqual([twin])
    expect(o.sameBytesAs).toEqual({ [twin]: names[2] })
    expect(o.storeCreated).toBe(true)

    const again = JSON.parse((await ingest(['-w', ws, flows, '-o', 'json'])).out) as IngestOutput
    expect(again.records).toBe(0)
    expect(again.failed).toEqual([cut])
    expect(again.alreadyIngested).toEqual(names.filter((n) => n !== cut))
    const store = await openDuckDbStore(path.join(ws, '.bulkhead', 'store.duckdb'))
    try {
      expect(await store.count()).toBe(expected)
      expect(await rows(store, 'SELECT count(*) FROM ingested_files')).toEqual([28])
      expect(await rows(store, 'SELECT count(DISTINCT file) FROM flows')).toEqual([28])
    } finally {
      await store.close()
    }
  })
})

describe('the progress bar over a run of small files', () => {
  it('counts_the_flows_of_every_file_read_in_the_run_not_only_of_the_last', async () => {
    const dir = path.join(root, 'progress')
    mkdirSync(dir)
    const files = [1, 2, 3].map((k) => {
      const f = path.join(dir, `p${k}.log`)
      writeFileSync(f, awsText(10 + k, 4))
      return f
    })
    let text = ''
    const stderr = process.stderr as NodeJS.WriteStream & { isTTY: boolean; columns: number }
    const tty = { isTTY: stderr.isTTY, columns: stderr.columns }
    Object.assign(stderr, { isTTY: true, columns: 200 })
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
      text += String(s)
      return true
    })
    try {
      const out = await ingestFiles(
        files.map((file) => ({ file, format: 'auto' as const })),
        path.join(dir, 'store.duckdb'),
        { strict: false, progress: true },
      )
      expect(out.records).toBe(12)
    } finally {
      vi.restoreAllMocks()
      Object.assign(stderr, tty)
    }
    // stop() draws the last state: the flows of the three files
    expect(text).toContain('| 12 flows')
  })
})
