import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { Command } from 'commander'
import { BulkheadError } from '../../src/core/index.js'
import { expandGlob, registerIngest, type IngestOutput } from '../../src/cli/commands/ingest.js'
import { openDuckDbStore } from '../../src/store/index.js'
import { HASH_AHEAD_BYTES } from '../../src/store/duckdb/store.js'
import { BOTH_ENDS_FORMATS } from '../../src/store/duckdb/batch.js'
import { PAIRED_FORMATS } from '../../src/ingest/read.js'
import { writeAwsVpcFile, writeZeekConnLog } from '../../bench/generate.js'
import { TPL_V4, set, tcpRecV4, template, v9 } from '../ingest/netflow-builders.js'

const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-ingest-'))
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})
afterEach(() => {
  vi.restoreAllMocks()
  process.exitCode = undefined
})

/** Runs `bulkhead ingest ...args` in-process; returns exit code, stdout and stderr. */
async function ingest(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s)
    return true
  })
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err += String(s)
    return true
  })
  const program = new Command('bulkhead').exitOverride()
  registerIngest(program)
  process.exitCode = undefined // an earlier call's
  let code = 0
  try {
    await program.parseAsync(['ingest', ...args], { from: 'user' })
    code = typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (e) {
    if (!(e instanceof BulkheadError)) throw e
    err += e.message
    code = 1
  } finally {
    vi.restoreAllMocks()
  }
  return { code, out, err }
}

async function storedCount(ws: string): Promise<number> {
  const s = await openDuckDbStore(path.join(ws, '.bulkhead', 'store.duckdb'))
  try {
    return await s.count()
  } finally {
    await s.close()
  }
}

function workspace(name: string): string {
  const ws = path.join(root, name)
  mkdirSync(path.join(ws, 'flows'), { recursive: true })
  return ws
}

describe('bulkhead ingest', () => {
  it('stores_a_file_once_and_reports_json', async () => {
    const ws = workspace('once')
    const file = path.join(ws, 'flows', 'vpc.log')
    writeAwsVpcFile(file, 3000, 42)
    const first = await ingest([file, '-w', ws, '-o', 'json'])
    expect(first.code).toBe(0)
    const o = JSON.parse(first.out) as IngestOutput
    expect(o.files).toBe(1)
    expect(o.records).toBeGreaterThan(1000) // both directions of most connections are paired into one flow
    expect(o.formats).toEqual({ 'aws-vpc': o.records })
    expect(o.alreadyIngested).toEqual([])
    expect(existsSync(path.join(ws, '.bulkhead', 'store.duckdb'))).toBe(true)
    expect(await storedCount(ws)).toBe(o.records)

    const again = await ingest([file, '-w', ws, '-o', 'json'])
    expect(again.code).toBe(0)
    const o2 = JSON.parse(again.out) as IngestOutput
    expect(o2).toMatchObject({ files: 0, records: 0, alreadyIngested: [file] })
    expect(await storedCount(ws)).toBe(o.records)
  })

  it('stores_a_large_file_once_while_hashing_it_on_another_thread', async () => {
    const ws = workspace('large')
    const file = path.join(ws, 'flows', 'vpc.log')
    // ≈ 112 bytes a record: above HASH_AHEAD_BYTES, so it is hashed while it is read
    const written = writeAwsVpcFile(file, 620_000, 7)
    expect(written.bytes).toBeGreaterThanOrEqual(HASH_AHEAD_BYTES)
    const copy = path.join(ws, 'flows', 'vpc-copy.log')
    copyFileSync(file, copy)
    const first = await ingest([file, '-w', ws, '-o', 'json'])
    expect(first.code).toBe(0)
    const o = JSON.parse(first.out) as IngestOutput
    expect(o).toMatchObject({ files: 1, alreadyIngested: [] })
    expect(await storedCount(ws)).toBe(o.records)
    // the copy is read until its fingerprint is known; what was read is neither stored nor counted
    const again = await ingest([copy, '-w', ws, '-o', 'json'])
    expect(again.code).toBe(0)
    const o2 = JSON.parse(again.out) as IngestOutput
    expect(o2).toMatchObject({ files: 0, records: 0, skipped: {}, alreadyIngested: [copy] })
    expect(await storedCount(ws)).toBe(o.records)
  })

  it('reads_the_workspace_sources_by_glob_with_their_format', async () => {
    const ws = workspace('sources')
    writeZeekConnLog(path.join(ws, 'flows', 'a.conn.log'), 500, 1)
    writeZeekConnLog(path.join(ws, 'flows', 'b.conn.log'), 700, 2)
    writeFileSync(path.join(ws, 'flows', 'ignored.txt'), 'not a flow file\n')
    writeFileSync(
      path.join(ws, 'bulkhead.yaml'),
      'apiVersion: bulkhead.dev/v1\nkind: Workspace\nsources:\n  - { path: "flows/*.conn.log", format: zeek }\n',
    )
    const r = await ingest(['-w', ws, '-o', 'json'])
    expect(r.code).toBe(0)
    const o = JSON.parse(r.out) as IngestOutput
    expect(o.files).toBe(2)
    expect(Object.keys(o.formats)).toEqual(['zeek'])
    expect(await storedCount(ws)).toBe(o.records)
    expect(o.records).toBeGreaterThan(0)
  })

  it('exits_1_and_stores_nothing_of_an_unusable_file_but_keeps_the_good_ones', async () => {
    const ws = workspace('bad')
    const good = path.join(ws, 'flows', 'vpc.log')
    writeAwsVpcFile(good, 200, 7)
    const bad = path.join(ws, 'flows', 'bad.log')
    // an AWS file with a malformed record in the middle, read with --strict
    writeFileSync(
      bad,
      'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n' +
        '2 123456789010 eni-1 10.0.0.1 10.0.0.2 40000 443 6 10 840 1793491200 1793491260 ACCEPT OK\n' +
        '2 123456789010 eni-1 10.0.0.1 not-an-address 40000 443 6 10 840 1793491200 1793491260 ACCEPT OK\n',
    )
    const r = await ingest([good, bad, '-w', ws, '--strict', '--format', 'aws-vpc', '-o', 'json'])
    expect(r.code).toBe(1)
    const o = JSON.parse(r.out) as IngestOutput
    expect(o.failed).toEqual([bad])
    expect(o.diagnostics.map((d) => d.code)).toContain('ingest/malformed-record')
    expect(r.err).toContain('ingest/malformed-record')
    expect(await storedCount(ws)).toBe(o.records)
    const s = await openDuckDbStore(path.join(ws, '.bulkhead', 'store.duckdb'))
    try {
      expect(await s.query('SELECT DISTINCT file FROM flows')).toEqual([{ file: good }])
    } finally {
      await s.close()
    }
  })

  it('a file whose every record was skipped is not marked ingested, so it can be given again', async () => {
    // stored as ingested with nothing of it, every later ingest passed it over (flows lost)
    const ws = workspace('all-skipped')
    const conn = path.join(ws, 'flows', 'conn.log')
    writeZeekConnLog(conn, 50, 3)
    const wrong = await ingest([conn, '-w', ws, '--format', 'aws-vpc', '-o', 'json'])
    // malformed records are skipped, not fatal (but for --strict): a warning, exit 0
    expect(wrong.code).toBe(0)
    const w = JSON.parse(wrong.out) as IngestOutput
    expect(w.failed).toEqual([])
    expect(w.records).toBe(0)
    expect(w.skipped['field-count']).toBeGreaterThan(0)
    expect(w.diagnostics.map((d) => [d.code, d.severity])).toEqual([
      ['ingest/all-records-skipped', 'warning'],
    ])
    expect(wrong.err).toContain('check --format')
    const right = await ingest([conn, '-w', ws, '--format', 'zeek', '-o', 'json'])
    expect(right.code).toBe(0)
    expect((JSON.parse(right.out) as IngestOutput).records).toBe(50)
    expect(await storedCount(ws)).toBe(50)
    // NetFlow v9 data whose template comes in a later file: given again with it, it is read
    const data = path.join(ws, 'flows', 'data.dat')
    const tpl = path.join(ws, 'flows', 'template.dat')
    const H = { sysUptime: 100_000, secs: 1_793_491_200, sourceId: 1 }
    writeFileSync(data, v9(H, set(256, tcpRecV4('10.0.0.1', '10.0.0.2', 443, 1_793_491_100))))
    writeFileSync(tpl, v9(H, template(0, 256, TPL_V4)))
    const early = await ingest([data, '-w', ws, '--format', 'netflow', '-o', 'json'])
    expect(early.code).toBe(0)
    expect(early.err).toContain('together with the file that holds its template')
    const both = await ingest([data, tpl, '-w', ws, '--format', 'netflow', '-o', 'json'])
    expect(both.code).toBe(0)
    expect((JSON.parse(both.out) as IngestOutput).records).toBe(1)
    // a file of no record at all is no such file: marked ingested as before
    const empty = path.join(ws, 'flows', 'empty.log')
    writeFileSync(empty, '')
    expect((await ingest([empty, '-w', ws, '--format', 'zeek'])).code).toBe(0)
  })

  it('refuses_an_unknown_format_and_no_input_as_usage_errors', async () => {
    const ws = workspace('usage')
    const r = await ingest(['x.log', '-w', ws, '--format', 'pcap'])
    expect(r.code).toBe(1)
    expect(r.err).toContain('cli/usage')
    const none = await ingest(['-w', ws])
    expect(none.code).toBe(1)
    expect(none.err).toContain('no files given')
  })

  it('expands_globs_with_star_and_double_star', () => {
    const base = path.join(root, 'glob')
    mkdirSync(path.join(base, 'a', 'b'), { recursive: true })
    for (const f of ['x.log', 'y.log', 'a/z.log', 'a/b/w.log', 'a/b/w.txt'])
      writeFileSync(path.join(base, f), '')
    expect(expandGlob(path.join(base, '*.log'))).toEqual([
      path.join(base, 'x.log'),
      path.join(base, 'y.log'),
    ])
    expect(expandGlob(path.join(base, '**', '*.log'))).toEqual(
      ['a/b/w.log', 'a/z.log', 'x.log', 'y.log'].map((f) => path.join(base, f)),
    )
    expect(expandGlob(path.join(base, 'a', '?.log'))).toEqual([path.join(base, 'a', 'z.log')])
    expect(expandGlob(path.join(base, 'nothing', '*.log'))).toEqual([])
  })

  it('globs with brackets: classes, complements, a bracket that opens no class, a class no path can match (found by the fuzz campaign)', () => {
    const base = path.join(root, 'brackets')
    mkdirSync(base, { recursive: true })
    for (const f of ['a.log', 'b.log', '[.log']) writeFileSync(path.join(base, f), '')
    // `[` without its `]` is itself; `[ab]` is a class, `[!a]` its complement
    expect(expandGlob(path.join(base, '[.log'))).toEqual([path.join(base, '[.log')])
    expect(expandGlob(path.join(base, '*['))).toEqual([])
    expect(expandGlob(path.join(base, '[ab].log'))).toEqual(
      ['a.log', 'b.log'].map((f) => path.join(base, f)),
    )
    expect(expandGlob(path.join(base, '[!a].log'))).toEqual(
      ['[.log', 'b.log'].map((f) => path.join(base, f)),
    )
    // a reversed range matches nothing, as a pattern that matches no file (ingest/no-files)
    expect(expandGlob(path.join(base, '[z-a]*'))).toEqual([])
  })

  it('a | in a glob is a file name character, not "or" with a pattern of the current folder (found by the fuzz campaign)', () => {
    const base = path.join(root, 'bars')
    mkdirSync(base, { recursive: true })
    for (const f of ['a.log', 'a|b.log', '|x']) writeFileSync(path.join(base, f), '')
    // picomatch read `<base>/|*` as `<base>/` or `*`: every file of the current folder
    expect(expandGlob(path.join(base, '|*'))).toEqual([path.join(base, '|x')])
    expect(expandGlob(path.join(base, 'a|*.log'))).toEqual([path.join(base, 'a|b.log')])
    expect(expandGlob(path.join(base, '[|]x'))).toEqual([path.join(base, '|x')])
    // inside parentheses it is still an alternative (extglob)
    expect(expandGlob(path.join(base, '(a|b).log'))).toEqual([path.join(base, 'a.log')])
  })
})

describe('bulkhead ingest: one attempt accepted where it left and refused where it arrived, in two files', () => {
  const HEAD =
    'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status'
  // the client's interface let the SYNs out; the database's security group refused them, and
  // that interface's aggregation interval ended in the next delivery (another file)
  const left = [
    HEAD,
    '2 123456789012 eni-0client 10.0.1.7 10.0.2.9 49152 5432 6 3 180 1790000000 1790000058 ACCEPT OK',
    // another connection that worked (both directions), and an accepted one two hours later
    '2 123456789012 eni-0client 10.0.1.7 10.0.2.9 49153 443 6 5 500 1790000000 1790000060 ACCEPT OK',
    '2 123456789012 eni-0client 10.0.2.9 10.0.1.7 443 49153 6 4 900 1790000000 1790000060 ACCEPT OK',
    '2 123456789012 eni-0client 10.0.1.7 10.0.2.9 49154 5432 6 3 180 1790007200 1790007258 ACCEPT OK',
  ]
  const refused = [
    HEAD,
    '2 123456789012 eni-0db 10.0.1.7 10.0.2.9 49152 5432 6 3 180 1790000030 1790000090 REJECT OK',
    // a refusal of another source port: it settles nothing of the client's file
    '2 123456789012 eni-0db 10.0.1.7 10.0.2.9 49160 5432 6 3 180 1790007200 1790007258 REJECT OK',
  ]

  async function stored(ws: string): Promise<string[]> {
    const s = await openDuckDbStore(path.join(ws, '.bulkhead', 'store.duckdb'))
    try {
      const rows: string[] = []
      for await (const f of s.flows())
        rows.push(`${String(f.srcPort)}>${String(f.dstPort)} ${f.observedAction}`)
      return rows.sort()
    } finally {
      await s.close()
    }
  }
  const expected = [
    '49152>5432 reject',
    '49152>5432 reject',
    '49153>443 accept',
    '49154>5432 accept',
    '49160>5432 reject',
  ]

  for (const [name, order] of [
    ['client file first, in two ingests', ['a', 'b']],
    ['refusing file first, in two ingests', ['b', 'a']],
  ] as const) {
    it(`stores both reject: ${name}`, async () => {
      const ws = workspace(`both-ends-${order.join('')}`)
      const files = { a: path.join(ws, 'flows', 'a.log'), b: path.join(ws, 'flows', 'b.log') }
      writeFileSync(files.a, left.join('\n') + '\n')
      writeFileSync(files.b, refused.join('\n') + '\n')
      const notes: Record<string, number>[] = []
      for (const k of order) {
        const r = await ingest([files[k], '-w', ws, '-o', 'json'])
        expect(r.code).toBe(0)
        notes.push((JSON.parse(r.out) as IngestOutput).notes)
      }
      expect(await stored(ws)).toEqual(expected)
      expect(notes[0]?.['rejected-at-other-end']).toBeUndefined()
      expect(notes[1]?.['rejected-at-other-end']).toBe(1)
    })
  }

  it('stores both reject when the two files are one run of small files (one transaction)', async () => {
    const ws = workspace('both-ends-run')
    const a = path.join(ws, 'flows', 'a.log')
    const b = path.join(ws, 'flows', 'b.log')
    writeFileSync(a, left.join('\n') + '\n')
    writeFileSync(b, refused.join('\n') + '\n')
    const r = await ingest([a, b, '-w', ws, '-o', 'json'])
    expect(r.code).toBe(0)
    expect((JSON.parse(r.out) as IngestOutput).notes['rejected-at-other-end']).toBe(1)
    expect(await stored(ws)).toEqual(expected)
  })

  it('the store settles the formats that reading pairs', () => {
    expect([...BOTH_ENDS_FORMATS].sort()).toEqual([...PAIRED_FORMATS].sort())
  })
})
