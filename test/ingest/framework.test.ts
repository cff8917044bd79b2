import { parse } from 'yaml'
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { Command } from 'commander'
import { BulkheadError, type Flow } from '../../src/core/index.js'
import { detectFormat } from '../../src/ingest/detect.js'
import { fromLoneCr, fromUtf16, openBytes, peekBytes, splitLines } from '../../src/ingest/lines.js'
import { readFlows, summarize, type FileSummary } from '../../src/ingest/read.js'
import { parseIsoTime, parseTime, isDottedQuad, parseAddress } from '../../src/ingest/fields.js'
import { registerFlows, tableLines } from '../../src/cli/commands/flows.js'
import { fixture, fixtureText } from './text-helpers.js'

let dir = ''
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bulkhead-ingest-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function readAll(
  files: string[],
  opts: Parameters<typeof readFlows>[1] = { format: 'auto', strict: false },
) {
  const summaries: FileSummary[] = []
  const flows: Flow[] = []
  let error: unknown
  try {
    for await (const f of readFlows(files, opts, summaries)) flows.push(f)
  } catch (e) {
    error = e
  }
  return { flows, summaries, error }
}

/**
 * Writes each (name, bytes) file to the scratch folder and expects it to read as the fixture
 * aws-v2.log does: detected `aws-vpc`, no error, the same flows at the same line numbers.
 */
async function expectReadsAsAwsV2(files: readonly (readonly [string, Uint8Array])[]) {
  const plain = await readAll([fixture('aws-v2.log')])
  expect(plain.flows.length).toBeGreaterThan(0)
  const key = (f: Flow) => [f.src, f.dst, f.bytes, f.source.line]
  for (const [name, bytes] of files) {
    const file = join(dir, name)
    writeFileSync(file, bytes)
    const got = await readAll([file])
    expect(got.error, name).toBeUndefined()
    expect(got.summaries[0]?.format, name).toBe('aws-vpc')
    expect(got.flows.map(key), name).toEqual(plain.flows.map(key))
  }
}

async function lines(chunks: string[], maxLineBytes?: number) {
  const long: number[] = []
  async function* gen(): AsyncGenerator<Uint8Array> {
    for (const c of chunks) yield Buffer.from(c)
  }
  const out: string[] = []
  for await (const l of splitLines(gen(), {
    ...(maxLineBytes !== undefined ? { maxLineBytes } : {}),
    onLongLine: (n) => long.push(n),
  }))
    out.push(l)
  return { out, long }
}

describe('splitLines', () => {
  it('splits LF and CRLF across chunk boundaries, keeping multi-byte characters whole', async () => {
    const { out } = await lines(['a\r\nb', 'c\n\nd\u00e9'.slice(0, 4), '\u00e9\nlast'])
    expect(out).toEqual(['a', 'bc', '', 'd\u00e9', 'last'])
    const bytes = Buffer.from('x\u20acy\n')
    async function* split(): AsyncGenerator<Uint8Array> {
      for (const b of bytes) yield Uint8Array.of(b)
    }
    const got: string[] = []
    for await (const l of splitLines(split())) got.push(l)
    expect(got).toEqual(['x\u20acy'])
  })

  it('replaces a line longer than the bound by "" and reports its number', async () => {
    const { out, long } = await lines(
      ['ok\n', 'x'.repeat(30), 'y'.repeat(30), '\nfine\n', 'z'.repeat(50)],
      40,
    )
    expect(out).toEqual(['ok', '', 'fine', ''])
    expect(long).toEqual([2, 4])
  })
})

describe('openBytes and readFlows', () => {
  it('gunzips transparently, including concatenated members', async () => {
    const text = fixtureText('aws-v2.log')
    const [a, b] = [text.slice(0, 300), text.slice(300)]
    const file = join(dir, 'concat.log.gz')
    writeFileSync(file, Buffer.concat([gzipSync(a), gzipSync(b)]))
    const plain = await readAll([fixture('aws-v2.log')])
    const gz = await readAll([file])
    expect(gz.error).toBeUndefined()
    expect(gz.flows.map((f) => [f.src, f.dst, f.bytes])).toEqual(
      plain.flows.map((f) => [f.src, f.dst, f.bytes]),
    )
    expect(gz.summaries[0]?.format).toBe('aws-vpc')
    expect(gz.summaries[0]?.bytes).toBe(readFileSync(file).length)
  })

  it('text whose lines end in a lone CR (classic Mac OS) reads as with LF, line numbers kept; binary bytes stay as they are', async () => {
    // held-out (hK, s33): a CR-only CSV read as its header line alone (0 flows, nothing
    // skipped, exit 0) and a CR-only AWS file was ingest/unknown-format
    const text = fixtureText('aws-v2.log')
    const csv = [
      'src_ip,dst_ip,src_port,dst_port,protocol,start,end',
      '10.0.0.1,10.0.0.2,40000,443,tcp,2026-11-01T10:00:00Z,2026-11-01T10:00:05Z',
      '10.0.0.1,10.0.0.3,40001,22,tcp,2026-11-01T10:00:00Z,2026-11-01T10:00:05Z',
    ].join('\r')
    await expectReadsAsAwsV2([
      ['mac.log', Buffer.from(text.replace(/\r?\n/g, '\r'))],
      ['mac.log.gz', gzipSync(Buffer.from(text.replace(/\r?\n/g, '\r')))],
    ])
    const csvFile = join(dir, 'mac.csv')
    writeFileSync(csvFile, `${csv}\r`)
    const got = await readAll([csvFile])
    expect(got.flows.map((f) => [f.dst, f.dstPort, f.source.line])).toEqual([
      ['10.0.0.2', 443, 2],
      ['10.0.0.3', 22, 3],
    ])
    // bytes with a NUL (any binary format) or with an LF keep their CRs
    for (const bytes of [Buffer.from([0x00, 0x0d, 0x41]), Buffer.from('a\rb\nc\r')]) {
      const chunks = async function* (): AsyncGenerator<Uint8Array> {
        yield bytes
      }
      const out: Uint8Array[] = []
      for await (const c of fromLoneCr(chunks())) out.push(c)
      expect(Buffer.concat(out)).toEqual(bytes)
    }
  })

  it('text with a UTF-16 byte order mark (PowerShell > and Out-File), LE or BE, gzipped or not, reads as UTF-8', async () => {
    const text = fixtureText('aws-v2.log')
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])
    const be = Buffer.from(le).swap16() // FE FF and big-endian code units
    await expectReadsAsAwsV2([
      ['le.log', le],
      ['be.log', be],
      ['le.log.gz', gzipSync(le)],
    ])
    // code units and the mark itself split across chunks (3 and 1 bytes) stay whole
    for (const size of [1, 3]) {
      const chunks = async function* (): AsyncGenerator<Uint8Array> {
        for (let i = 0; i < be.length; i += size) yield be.subarray(i, i + size)
      }
      const out: Uint8Array[] = []
      for await (const c of fromUtf16(chunks())) out.push(c)
      expect(Buffer.concat(out).toString('utf8'), `chunks of ${size}`).toBe(text)
    }
  })

  it.skipIf(!existsSync('/proc/self/fd'))(
    'a read stopped early closes its file (no descriptor left open), peeked or not',
    async () => {
      const plain = join(dir, 'big-for-fd.log')
      writeFileSync(plain, Buffer.alloc(4 << 20, 0x61))
      const gz = join(dir, 'big-for-fd.log.gz')
      // random bytes: the compressed file is as large, so it is still being read after one chunk
      writeFileSync(gz, gzipSync(randomBytes(4 << 20)))
      const open = (): number => readdirSync('/proc/self/fd').length
      // a destroyed stream closes its descriptor on the thread pool: wait for it, at most 1 s
      const settled = async (want: number): Promise<number> => {
        for (let i = 0; i < 50 && open() !== want; i++) await new Promise((r) => setTimeout(r, 20))
        return open()
      }
      const before = open()
      for (const file of [plain, gz]) {
        const it = openBytes(file)[Symbol.asyncIterator]()
        await it.next()
        expect(open(), file).toBeGreaterThan(before)
        await it.return(undefined)
        expect(await settled(before), file).toBe(before)
        const peek = await peekBytes(openBytes(file), 1024)
        await peek.close()
        expect(await settled(before), file).toBe(before)
      }
    },
  )

  it('truncated gzip yields what decoded, then ingest/truncated-input naming the file', async () => {
    const rows = Array.from(
      { length: 3000 },
      (_, i) =>
        `2 1 eni-1 10.0.${i >> 8}.${i & 255} 10.1.0.1 ${40000 + i} 443 6 1 100 1700000000 1700000060 ACCEPT OK`,
    ).join('\n')
    const full = gzipSync(rows)
    const file = join(dir, 'trunc.log.gz')
    writeFileSync(file, full.subarray(0, Math.floor(full.length * 0.7)))
    const r = await readAll([file])
    expect(r.flows.length).toBeGreaterThan(100)
    expect(r.flows.length).toBeLessThan(3000)
    expect(r.error).toBeInstanceOf(BulkheadError)
    const d = (r.error as BulkheadError).diagnostics[0]
    expect(d).toMatchObject({ code: 'ingest/truncated-input', location: { file } })
    expect(d?.message).toMatch(/after \d+ compressed bytes/)
    expect(r.summaries[0]?.stats.records).toBe(r.flows.length)
  })

  it('an empty file is zero flows and an ingest/empty-input warning, not an error', async () => {
    const r = await readAll([fixture('empty.log'), fixture('aws-v3-repeated-header.log')])
    expect(r.error).toBeUndefined()
    expect(r.flows).toHaveLength(2)
    expect(r.summaries[0]?.diagnostics?.[0]).toMatchObject({
      code: 'ingest/empty-input',
      severity: 'warning',
    })
    await expect(detectFormat(fixture('empty.log'))).rejects.toSatisfy(
      (e: unknown) => e instanceof BulkheadError && e.diagnostics[0]?.code === 'ingest/empty-input',
    )
  })

  it('binary garbage: detect → ingest/unknown-format; with --format aws-vpc every line is skipped and counted', async () => {
    let x = 12345
    const bytes = Buffer.alloc(20000, 0).map(() => ((x = (x * 1103515245 + 12345) >>> 0), x >>> 24))
    const file = join(dir, 'garbage.bin')
    writeFileSync(file, bytes)
    await expect(detectFormat(file)).rejects.toSatisfy(
      (e: unknown) =>
        e instanceof BulkheadError &&
        e.diagnostics[0]?.code === 'ingest/unknown-format' &&
        /--format/.test(e.diagnostics[0].hint ?? ''),
    )
    const r = await readAll([file], { format: 'aws-vpc', strict: false })
    expect(r.error).toBeUndefined()
    expect(r.flows).toEqual([])
    const nonEmpty = Buffer.from(bytes)
      .toString('utf8')
      .split('\n')
      .filter((l) => l.replace(/\r$/, '') !== '').length
    const skipped = Object.values(r.summaries[0]?.stats.skipped ?? {}).reduce((a, b) => a + b, 0)
    expect(skipped).toBe(nonEmpty)
  })

  it('a huge line is skipped as line-too-long and the following lines still parse', async () => {
    const file = join(dir, 'huge.log')
    const good = '2 1 eni-1 10.0.0.1 10.0.0.2 40000 443 6 1 100 1700000000 1700000060 ACCEPT OK'
    writeFileSync(file, `${good}\n${'9'.repeat(3 * 1024 * 1024)}\n${good}\n`)
    const r = await readAll([file], { format: 'aws-vpc', strict: false, pair: false })
    expect(r.flows).toHaveLength(2)
    expect(r.flows[1]?.source.line).toBe(3)
    expect(r.summaries[0]?.stats.skipped).toEqual({ 'line-too-long': 1 })
  })

  it('unknown file → io/not-found; strict mode stops at the first malformed record after yielding', async () => {
    const missing = await readAll([join(dir, 'nope.log')])
    expect((missing.error as BulkheadError).diagnostics[0]?.code).toBe('io/not-found')
    const strict = await readAll([fixture('aws-v2.log')], {
      format: 'aws-vpc',
      strict: true,
      pair: false,
    })
    expect((strict.error as BulkheadError).diagnostics[0]).toMatchObject({
      code: 'ingest/malformed-record',
      severity: 'fatal',
    })
    expect(strict.flows).toHaveLength(5)
  })

  it('summarize merges per-file counts', async () => {
    const r = await readAll([fixture('aws-v2.log'), fixture('gcp.jsonl'), fixture('flows.csv')])
    const s = summarize(r.summaries, 2)
    expect(s).toMatchObject({
      files: 3,
      records: 12,
      // the GCP fixture's 10.128.0.2 → db-1:5432 and its reverse are one connection, paired
      formats: { 'aws-vpc': 4, 'gcp-vpc': 3, csv: 5 },
      seconds: 2,
    })
    // seconds to the millisecond, not a float sum (hH s33: `seconds: 1.2166875149999998`)
    expect(summarize(r.summaries, 1.2166875149999998).seconds).toBe(1.217)
    expect(s.skipped).toEqual({ 'bad-address': 1, 'field-count': 1, 'bad-port': 2, 'bad-json': 1 })
    expect(s.notes).toEqual({
      nodata: 1,
      skipdata: 1,
      'paired-directions': 2,
      'duplicate-report': 1,
      // the ICMP records of the AWS and the GCP fixture have no type
      'icmp-type-assumed-echo': 2,
      // a flows.csv record without times takes the file's modification time
      'time-from-file-mtime': 1,
    })
    expect(s.examples.length).toBeLessThanOrEqual(10)
  })

  it('reports progress with on-disk bytes', async () => {
    const seen: number[] = []
    for await (const _ of readFlows(
      [fixture('flows.csv')],
      { format: 'csv', strict: false, onProgress: (p) => seen.push(p.bytesRead) },
      [],
    ))
      void _
    expect(seen[seen.length - 1]).toBe(readFileSync(fixture('flows.csv')).length)
  })

  it('openBytes of a plain file yields its bytes unchanged', async () => {
    const parts: Uint8Array[] = []
    for await (const c of openBytes(fixture('flows.csv'))) parts.push(c)
    expect(Buffer.concat(parts).equals(readFileSync(fixture('flows.csv')))).toBe(true)
  })
})

describe('fields', () => {
  it('parses times and addresses', () => {
    expect(parseIsoTime('2024-03-01T10:00:00.123456789Z')).toBe(Date.UTC(2024, 2, 1, 10, 0, 0, 123))
    expect(parseIsoTime('2024-02-30T00:00:00Z')).toBeUndefined()
    expect(parseTime('1700000000')).toBe(1700000000000)
    expect(parseTime('1700000000123')).toBe(1700000000123)
    // finer epoch units by magnitude, rounded to the nearest ms; nothing after 9999
    expect(parseTime('1793577599500000')).toBe(1793577599500) // µs
    expect(parseTime('1793577599500600')).toBe(1793577599501)
    expect(parseTime('1793577599500400123')).toBe(1793577599500) // ns
    // decimal seconds rounded from the digits, half up, not through a double (≈ 0.2 µs here)
    expect(parseTime('1418530010.000499999')).toBe(1418530010000)
    expect(parseTime('1418530010.0005')).toBe(1418530010001)
    expect(parseTime('1418530010.9995')).toBe(1418530011000)
    expect(parseTime('1418530010.25')).toBe(1418530010250)
    expect(parseTime('999999999999999999999')).toBeUndefined()
    expect(parseTime('10000-01-01T00:00:00Z')).toBeUndefined()
    expect(parseIsoTime('0099-01-01T00:00:00Z')).toBe(new Date('0099-01-01T00:00:00Z').getTime())
    expect(isDottedQuad('255.255.255.255')).toBe(true)
    for (const bad of ['256.1.1.1', '1.2.3', '01.2.3.4', '1.2.3.4.', '1..2.3'])
      expect(isDottedQuad(bad)).toBe(false)
    expect(parseAddress('::ffff:10.0.0.1')).toBe('10.0.0.1')
    expect(parseAddress('2001:DB8:0:0::1')).toBe('2001:db8::1')
  })
})

describe('bulkhead flows', () => {
  async function run(args: string[]): Promise<{ out: string; err: string; error?: unknown }> {
    const program = new Command('bulkhead').exitOverride()
    registerFlows(program)
    let out = ''
    let err = ''
    const w1 = process.stdout.write.bind(process.stdout)
    const w2 = process.stderr.write.bind(process.stderr)
    process.stdout.write = (s: string) => ((out += s), true)
    process.stderr.write = (s: string) => ((err += s), true)
    try {
      await program.parseAsync(['flows', ...args], { from: 'user' })
      return { out, err }
    } catch (error) {
      return { out, err, error }
    } finally {
      process.stdout.write = w1
      process.stderr.write = w2
    }
  }

  it('prints jsonl with ISO times and a summary on stderr', async () => {
    const r = await run([fixture('flows.csv')])
    expect(r.error).toBeUndefined()
    const rows = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(rows).toHaveLength(5)
    expect(rows[0]).toMatchObject({
      src: '10.0.0.1',
      start: '2024-05-01T10:00:00.000Z',
      end: '2024-05-01T10:00:30.500Z',
    })
    expect(r.err).toMatch(/5 flows/)
    expect(r.err).toMatch(/bad-port 1/)
  })

  it('csv, table with --limit, and json outputs', async () => {
    const csv = await run([fixture('flows.csv'), '-o', 'csv'])
    expect(csv.out.split('\n')[0]).toBe(
      'start,end,src,srcPort,dst,dstPort,protocol,packets,bytes,observedAction,direction,tcpFlags,srcName,dstName,format,file,line',
    )
    expect(csv.out.trim().split('\n')).toHaveLength(6)
    const table = await run([fixture('flows.csv'), '-o', 'table', '--limit', '2'])
    expect(table.out.trim().split('\n')).toHaveLength(3)
    const json = await run([fixture('aws-v2.log'), '-o', 'json'])
    const doc = JSON.parse(json.out) as { summary: { records: number }; flows: unknown[] }
    expect(doc.summary.records).toBe(4)
    expect(doc.flows).toHaveLength(4)
    // -o json is written as read; a --strict stop still leaves a whole document, naming why
    const cut = await run([fixture('aws-v2.log'), fixture('flows.csv'), '-o', 'json', '--strict'])
    expect((cut.error as BulkheadError).diagnostics[0]?.code).toBe('ingest/malformed-record')
    const partial = JSON.parse(cut.out) as {
      flows: unknown[]
      summary: { diagnostics: { code: string }[] }
    }
    expect(partial.summary.diagnostics.map((d) => d.code)).toContain('ingest/malformed-record')
    const yaml = await run([fixture('aws-v2.log'), '-o', 'yaml'])
    const [y, j] = [parse(yaml.out), JSON.parse(json.out)] as { flows: unknown; failed: unknown }[]
    expect([y?.flows, y?.failed]).toEqual([j?.flows, j?.failed])
    const none = await run([fixture('aws-v2.log'), '-o', 'json', '--limit', '0'])
    expect(JSON.parse(none.out)).toMatchObject({ flows: [], failed: [] })
    const noneYaml = await run([fixture('aws-v2.log'), '-o', 'yaml', '--limit', '0'])
    expect(parse(noneYaml.out)).toMatchObject({ flows: [], failed: [] })
    // -o yaml is written as read too, and stays whole when --strict stops
    const cutYaml = await run([
      fixture('aws-v2.log'),
      fixture('flows.csv'),
      '-o',
      'yaml',
      '--strict',
    ])
    const partialYaml = parse(cutYaml.out) as typeof partial
    expect(partialYaml.flows).toEqual(partial.flows)
    expect(partialYaml.summary.diagnostics.map((d) => d.code)).toContain('ingest/malformed-record')
  })

  it('a table of 150 000 rows renders (widths are not spread into Math.max)', () => {
    const f = {
      src: '10.0.0.1',
      dst: '10.0.0.2',
      srcPort: 40000,
      dstPort: 443,
      protocol: 6,
      start: 0,
      end: 0,
      packets: 1,
      bytes: 60,
      observedAction: 'accept',
      direction: 'client-to-server',
      source: { format: 'csv', file: 'f.csv', line: 1 },
    } as const
    const rows = Array.from({ length: 150_000 }, (_, i) => ({ ...f, srcPort: i % 65536 }))
    let n = 0
    for (const _ of tableLines(rows)) n++
    expect(n).toBe(150_001)
  })

  it('unusable input and --strict throw BulkheadError (exit 1 in the runner); other files are still read', async () => {
    const garbage = join(dir, 'garbage2.bin')
    writeFileSync(garbage, Buffer.from([0, 1, 2, 3, 255, 254, 10, 7, 7]))
    const u = await run([garbage])
    expect((u.error as BulkheadError).diagnostics[0]?.code).toBe('ingest/unknown-format')
    const s = await run([fixture('aws-v2.log'), '--strict'])
    expect((s.error as BulkheadError).diagnostics[0]?.code).toBe('ingest/malformed-record')
    // an unusable file does not stop the others: they are printed, the run still exits 1
    const both = await run([garbage, fixture('aws-v2.log'), '-o', 'json'])
    expect((both.error as BulkheadError).diagnostics[0]?.code).toBe('ingest/unknown-format')
    const doc = JSON.parse(both.out) as { failed: string[]; flows: unknown[] }
    expect(doc.failed).toEqual([garbage])
    expect(doc.flows).toHaveLength(4)
    expect(both.err).toContain(`not read (unusable): ${garbage}`)
    // with --strict an unusable file stops the run, and the document names it in `failed`
    const first = await run([garbage, fixture('aws-v2.log'), '-o', 'json', '--strict'])
    expect((first.error as BulkheadError).diagnostics[0]?.code).toBe('ingest/unknown-format')
    expect(JSON.parse(first.out)).toMatchObject({ flows: [], failed: [garbage] })
    // --strict still stops at the first malformed record, before later files
    const strict = await run([fixture('aws-v2.log'), fixture('flows.csv'), '--strict'])
    expect((strict.error as BulkheadError).diagnostics[0]?.code).toBe('ingest/malformed-record')
    expect(strict.out).not.toContain('10.0.0.1')
    const bad = await run([fixture('aws-v2.log'), '-o', 'xml'])
    expect((bad.error as BulkheadError).diagnostics[0]?.code).toBe('cli/usage')
    // an unusable --fields stops before reading (it was one skipped record, then the v2 order)
    const fields = await run([fixture('aws-v2.log'), '--fields', 'version srcaddr bogus'])
    expect((fields.error as BulkheadError).diagnostics[0]?.code).toBe('cli/usage')
    expect(fields.out).toBe('')
  })
})
