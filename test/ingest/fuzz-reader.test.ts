/**
 * Fuzz of the real reader (src/ingest/read.ts): mutated fixture files of every format, plain or
 * gzipped, with the gzip stream cut or corrupted, read from disk with the format detected or
 * given, strict or not, through both the object path (`readFlowBatches`) and the columnar path
 * (`readFlowColumns`). The reader may throw only a `BulkheadError` with one of the codes its
 * TSDoc lists; every flow it emits is valid; the two paths agree; every diagnostic is located
 * inside the file (or at the whole file, line 0).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { BulkheadError, type Diagnostic, type Flow } from '../../src/core/index.js'
import {
  DETECT_BYTES,
  PARSERS,
  flowInvariantViolation,
  rankFormats,
  readFlowBatches,
  readFlowColumns,
  type FileSummary,
  type ReadOptions,
} from '../../src/ingest/index.js'
import { AWS_FIELD_NAMES } from '../../src/ingest/formats/aws-vpc.js'
import { flowToJson } from '../../src/ingest/formats/bulkhead-jsonl.js'
import { syntheticFlow } from '../helpers/flows.js'
import { ofTwoFamilies } from '../helpers/families.js'
import { SEED } from '../helpers/model.js'
import { fuzzTimeout, runs } from '../helpers/fuzz.js'
import { corpusFiles, corpusPath } from '../helpers/corpora.js'

const dir = mkdtempSync(join(tmpdir(), 'bulkhead-fuzz-reader-'))
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

const FLOWS = fileURLToPath(new URL('../fixtures/flows/', import.meta.url))
const VENDOR = fileURLToPath(new URL('../fixtures/vendor/', import.meta.url))

function filesOf(folder: string, max = Infinity): Buffer[] {
  const files = readdirSync(folder).sort().slice(0, max)
  if (files.length === 0) throw new Error(`no seed file in ${folder}`)
  return files.map((f) => readFileSync(folder + f))
}

/**
 * Every flow fixture and vendor sample, a few NetFlow/IPFIX captures, one CSV and one Bulkhead
 * JSON-lines file of our own.
 */
const SEEDS: Buffer[] = [
  ...filesOf(FLOWS),
  ...filesOf(VENDOR),
  // the corpora are optional (see README "How it is tested"): none when ../shared is absent
  ...corpusFiles('netflow/')
    .slice(0, 8)
    .map((f) => readFileSync(corpusPath('netflow/') + f)),
  Buffer.from(
    'src,dst,dst_port,protocol,start,end,bytes,packets,action\n' +
      '10.0.0.1,10.0.0.2,443,tcp,2026-10-01T00:00:00Z,2026-10-01T00:00:05Z,100,2,accept\n',
  ),
  Buffer.from(
    Array.from({ length: 6 }, (_, i) => JSON.stringify(flowToJson(syntheticFlow(i))) + '\n').join(
      '',
    ),
  ),
].filter((b) => b.length > 0)

/** What `readFlowBatches` documents that it throws (its TSDoc `@throws`). */
const READ_ERRORS = new Set([
  'ingest/unknown-format',
  'ingest/truncated-input',
  'io/not-found',
  'io/read-failed',
  'ingest/malformed-record',
])

const FORMATS = PARSERS.map((p) => p.format)

const byteMutation = fc.record({
  kind: fc.constantFrom('set', 'del', 'dup', 'insert', 'cut-line'),
  at: fc.nat(),
  bytes: fc.oneof(
    fc.constantFrom(
      ...[' ', '\t', ',', '"', '\n', '\r\n', '-', ':', '{', '}', '[', ']', '0', '9', '#', '\0'].map(
        (s) => Buffer.from(s),
      ),
      Buffer.from([0xff]),
      Buffer.from([0x1f, 0x8b]),
      Buffer.from('99999999999999999999'),
    ),
    fc.uint8Array({ minLength: 1, maxLength: 4 }).map((a) => Buffer.from(a)),
  ),
})
type ByteMutation = typeof byteMutation extends fc.Arbitrary<infer T> ? T : never

function mutate(src: Buffer, muts: readonly ByteMutation[]): Buffer {
  let b = src
  for (const m of muts) {
    const i = b.length === 0 ? 0 : m.at % (b.length + 1)
    if (m.kind === 'set')
      b = Buffer.concat([b.subarray(0, i), m.bytes, b.subarray(i + m.bytes.length)])
    else if (m.kind === 'del') b = Buffer.concat([b.subarray(0, i), b.subarray(i + m.bytes.length)])
    else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, i), m.bytes, b.subarray(i)])
    else if (m.kind === 'dup')
      b = Buffer.concat([b.subarray(0, i), b.subarray(i - 40 < 0 ? 0 : i - 40, i), b.subarray(i)])
    else b = b.subarray(0, i) // a file cut anywhere, as a writer killed mid-line leaves it
  }
  return b
}

/** How the bytes reach the disk: as they are, gzipped, or gzipped and then damaged. */
const wrapping = fc.oneof(
  fc.constant({ kind: 'plain' as const }),
  fc.constant({ kind: 'gzip' as const }),
  fc.record({ kind: fc.constant('gzip-cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('gzip-flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('gzip-twice' as const), at: fc.nat() }),
)
type Wrapping = typeof wrapping extends fc.Arbitrary<infer T> ? T : never

function wrap(b: Buffer, w: Wrapping): Buffer {
  if (w.kind === 'plain') return b
  const gz = gzipSync(b)
  if (w.kind === 'gzip') return gz
  if (w.kind === 'gzip-cut') return gz.subarray(0, w.at % (gz.length + 1))
  if (w.kind === 'gzip-twice') {
    // two members, the split anywhere in the text: one file as `cat a.gz b.gz` makes it
    const i = w.at % (b.length + 1)
    return Buffer.concat([gzipSync(b.subarray(0, i)), gzipSync(b.subarray(i))])
  }
  const out = Buffer.from(gz)
  const i = w.at % out.length
  out[i] = (out[i] ?? 0) ^ (1 << w.bit)
  return out
}

const options = fc.record({
  format: fc.oneof(
    { arbitrary: fc.constant('auto' as const), weight: 3 },
    { arbitrary: fc.constantFrom(...FORMATS), weight: 1 },
  ),
  strict: fc.boolean(),
  pair: fc.boolean(),
  fields: fc.option(
    fc.constantFrom(
      'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
      'srcaddr dstaddr dstport protocol',
      '${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${start} ${end}',
      'start srcaddr',
      '',
    ),
    { nil: undefined },
  ),
})

interface Outcome {
  flows: Flow[]
  summaries: FileSummary[]
  codes?: string[]
  thrown?: readonly Diagnostic[]
}

async function readWith(file: string, opts: ReadOptions, columnar: boolean): Promise<Outcome> {
  const summaries: FileSummary[] = []
  const flows: Flow[] = []
  try {
    if (columnar) {
      for await (const b of readFlowColumns([file], opts, summaries))
        flows.push(...(Array.isArray(b) ? b : b.toFlows()))
    } else for await (const b of readFlowBatches([file], opts, summaries)) flows.push(...b)
  } catch (e) {
    if (!(e instanceof BulkheadError)) throw e
    return { flows, summaries, codes: e.diagnostics.map((d) => d.code), thrown: e.diagnostics }
  }
  return { flows, summaries }
}

/**
 * `a` (object path) threw only a documented error and emitted valid flows; `b` (columnar path)
 * threw the same error, or none, and then gave the same flows and summaries.
 */
function expectSameRead(a: Outcome, b: Outcome): void {
  for (const c of a.codes ?? []) expect(READ_ERRORS, c).toContain(c)
  for (const f of a.flows) {
    expect(flowInvariantViolation(f), JSON.stringify(f)).toBeUndefined()
    // reading skips a record with an IPv4 and an IPv6 end (mixed-address-families), but for AWS
    // VPC's, where AWS writes the interface's IPv4 address for an IPv6 packet's end
    if (f.source.format !== 'aws-vpc')
      expect(ofTwoFamilies(f.src, f.dst), JSON.stringify(f)).toBe(false)
  }
  expect(b.codes).toEqual(a.codes)
  if (a.codes === undefined) {
    expect(b.flows).toEqual(a.flows)
    expect(b.summaries).toEqual(a.summaries)
  }
}

/** Every diagnostic has a stable code and points at `file`: at a line of its `lines`, or line 0. */
function expectLocatedIn(file: string, lines: number, diags: readonly Diagnostic[]): void {
  for (const d of diags) {
    expect(d.code).toMatch(/^[a-z0-9]+\/[a-z0-9-]+$/)
    const loc = d.location
    if (loc === undefined) continue
    // a binary record is located as `file#record`, line 0 (ingest/types.ts whereToLocation); an
    // Azure entry as `file#record-N/flowRecords/flows/1`
    const rest = loc.file.startsWith(file) ? loc.file.slice(file.length) : loc.file
    expect(rest, JSON.stringify(d)).toMatch(/^(#(record-)?\d+(\/[A-Za-z0-9]+)*)?$/)
    if (loc.line === 0) expect(loc.column, JSON.stringify(d)).toBe(0)
    else {
      expect(loc.column, JSON.stringify(d)).toBeGreaterThanOrEqual(1)
      expect(loc.line, JSON.stringify(d)).toBeLessThanOrEqual(lines)
    }
  }
}

/** Lines of `bytes` as a text reader counts them (LF-separated). */
/**
 * Lines of a text as the readers split it: at LF, or at CR where the first 64 KiB hold a CR and
 * neither LF nor NUL (lone-CR line endings, README "Supported flow formats").
 */
function lineCount(bytes: Buffer): number {
  const head = bytes.subarray(0, 1 << 16)
  const end = head.includes(0x0d) && !head.includes(0x0a) && !head.includes(0x00) ? 0x0d : 0x0a
  let n = 1
  for (const b of bytes) if (b === end) n++
  return n
}

let seq = 0

describe('fuzz: the flow reader on damaged files', () => {
  it(
    'mutated fixtures, plain or gzipped and damaged: only documented errors, valid flows, both paths agree',
    async () => {
      const seen = new Set<string>()
      await fc.assert(
        fc.asyncProperty(
          fc.nat(),
          fc.array(byteMutation, { maxLength: 5 }),
          wrapping,
          options,
          async (which, muts, w, o) => {
            const text = mutate(SEEDS[which % SEEDS.length] ?? Buffer.alloc(0), muts)
            const file = join(
              dir,
              `f${String(seq++ % 4)}${w.kind === 'plain' ? '.log' : '.log.gz'}`,
            )
            writeFileSync(file, wrap(text, w))
            const opts: ReadOptions = {
              format: o.format,
              strict: o.strict,
              pair: o.pair,
              ...(o.fields !== undefined ? { fields: o.fields } : {}),
            }
            const a = await readWith(file, opts, false)
            const b = await readWith(file, opts, true)
            expectSameRead(a, b)
            if (a.codes === undefined) seen.add(a.summaries[0]?.format ?? '?')
            else seen.add(a.codes.join())
            // lines of the text the parser read (unknown when it is gzip: a fixture, or damaged)
            const lines =
              ['plain', 'gzip', 'gzip-twice'].includes(w.kind) &&
              !(text[0] === 0x1f && text[1] === 0x8b)
                ? lineCount(text)
                : Infinity
            expectLocatedIn(file, lines, [
              ...(a.thrown ?? []),
              ...a.summaries.flatMap((s) => s.diagnostics ?? []),
            ])
            for (const s of a.summaries) {
              const total = Object.values(s.stats.skipped).reduce((x, y) => x + y, 0)
              expect(s.stats.examples.length).toBeLessThanOrEqual(total)
              for (const x of s.stats.examples) {
                // `file:line`, `file:line:column`, `file#record` (Azure: `#tuple`, `#record-N`, or
                // `#record-N/flowRecords/flows/1`: the entry in the record, since ca18c63), or `file`:
                // the whole document (a JSON blob that does not parse)
                expect(x.where.startsWith(file), x.where).toBe(true)
                const m = /^$|^:(\d+)(?::(\d+))?$|^#(?:record-)?(\d+)(?:\/[A-Za-z0-9]+)*$/.exec(
                  x.where.slice(file.length),
                )
                expect(m, x.where).not.toBeNull()
                if (m?.[1] === undefined) continue
                expect(Number(m[1]), x.where).toBeGreaterThanOrEqual(0) // 0: the whole file (`--fields`)
                expect(Number(m[1]), x.where).toBeLessThanOrEqual(lines)
                if (m[2] !== undefined) expect(Number(m[2]), x.where).toBeGreaterThanOrEqual(1)
              }
            }
          },
        ),
        { seed: SEED, numRuns: runs(100) },
      )
      // the mutations leave most files readable, and reach the errors too
      expect(seen.size).toBeGreaterThan(5)
    },
    fuzzTimeout(60_000),
  )

  it(
    'aws-vpc custom formats: any fields in any order, rows of near-valid values; both read paths agree',
    async () => {
      const names = [...AWS_FIELD_NAMES, 'future-field', 'x']
      const wrong = fc.constantFrom('-', '', '-1', '9999999999999', 'IPv4', 'x', '1.2.3', '65536')
      // a right-looking value for each field, and now and then a wrong one
      const valueOf = (field: string): fc.Arbitrary<string> => {
        const right = /addr$/.test(field)
          ? fc.oneof(fc.ipV4(), fc.ipV6())
          : /port$/.test(field)
            ? fc.nat({ max: 65535 }).map(String)
            : field === 'protocol'
              ? fc.constantFrom('6', '17', '1', '58', '47', '132')
              : field === 'start' || field === 'end'
                ? fc.integer({ min: 1_600_000_000, max: 1_600_000_100 }).map(String)
                : field === 'action'
                  ? fc.constantFrom('ACCEPT', 'REJECT', '-')
                  : field === 'log-status'
                    ? fc.constantFrom('OK', 'NODATA', 'SKIPDATA')
                    : field === 'tcp-flags'
                      ? fc.constantFrom('2', '18', '19', '3')
                      : fc.nat({ max: 1_000_000 }).map(String)
        return fc.oneof({ arbitrary: right, weight: 30 }, { arbitrary: wrong, weight: 1 })
      }
      // most headers name the two addresses AWS needs, anywhere among the others
      const fieldList = fc
        .tuple(fc.shuffledSubarray(names, { minLength: 1, maxLength: 16 }), fc.nat(9))
        .chain(([some, k]) => {
          const all = k === 0 ? some : [...new Set([...some, 'srcaddr', 'dstaddr'])]
          return fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length })
        })
      const table = fieldList.chain((fields) =>
        fc.tuple(
          fc.constant(fields),
          fc.array(
            fc.tuple(
              fc.tuple(...fields.map(valueOf)),
              fc.oneof(
                { arbitrary: fc.constant(null), weight: 8 },
                { arbitrary: wrong, weight: 1 },
              ),
            ),
            {
              maxLength: 12,
            },
          ),
        ),
      )
      let emitted = 0
      let mixedNoted = 0
      await fc.assert(
        fc.asyncProperty(
          table,
          fc.boolean(),
          fc.boolean(),
          async ([fields, rows], header, strict) => {
            // a row has one value per field, and now and then one more
            const lines = rows.map(([r, extra]) =>
              [...r, ...(extra === null ? [] : [extra])].join(' '),
            )
            // the rows whose two ends are of different IP versions, worked out apart from the
            // reader: the packet's addresses when given (not "-"), else the interface's
            const at = (name: string): number => fields.indexOf(name)
            const end = (r: readonly string[], pkt: string, iface: string): string =>
              at(pkt) >= 0 && r[at(pkt)] !== '-' ? (r[at(pkt)] ?? '') : (r[at(iface)] ?? '')
            // (a line is split at runs of white space, as AWS writes it, so an empty value and an
            // extra one can make a line of the right length)
            const mixedRows = lines.filter((line) => {
              const r = line.trim().split(/\s+/)
              return (
                r.length === fields.length &&
                ofTwoFamilies(end(r, 'pkt-srcaddr', 'srcaddr'), end(r, 'pkt-dstaddr', 'dstaddr'))
              )
            }).length
            const text = (header ? [fields.join(' '), ...lines] : lines).join('\n') + '\n'
            const file = join(dir, `custom${String(seq++ % 4)}.log`)
            writeFileSync(file, text)
            const opts: ReadOptions = {
              format: 'aws-vpc',
              strict,
              ...(header ? {} : { fields: fields.join(' ') }),
            }
            const a = await readWith(file, opts, false)
            const b = await readWith(file, opts, true)
            emitted += a.flows.length
            expectSameRead(a, b)
            // AWS writes the interface's IPv4 address for an IPv6 packet's end: such rows are
            // kept and noted interface-address-stand-in, never skipped for it (some may be skipped
            // for another reason, and a strict read stops at its first skip), and every emitted
            // flow with an IPv4 and an IPv6 end is one of them
            expect(a.summaries[0]?.stats.skipped['mixed-address-families']).toBeUndefined()
            const noted = a.summaries[0]?.stats.notes['interface-address-stand-in'] ?? 0
            expect(noted).toBeLessThanOrEqual(mixedRows)
            expect(a.flows.filter((f) => ofTwoFamilies(f.src, f.dst)).length).toBeLessThanOrEqual(
              noted,
            )
            mixedNoted += noted
          },
        ),
        { seed: SEED, numRuns: runs(50) },
      )
      // the rows reach the emitting paths, not only the skips; half of the generated rows have
      // an IPv4 and an IPv6 end (fc.ipV4 or fc.ipV6 for each), kept and noted
      expect(emitted).toBeGreaterThan(5)
      expect(mixedNoted).toBeGreaterThan(0)
    },
    fuzzTimeout(30_000),
  )

  it('format detection ranks any head without throwing, confidences in [0, 1]', () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.array(byteMutation, { maxLength: 8 }),
        fc.nat(DETECT_BYTES),
        (which, muts, cut) => {
          const head = mutate(SEEDS[which % SEEDS.length] ?? Buffer.alloc(0), muts).subarray(0, cut)
          const ranked = rankFormats(new Uint8Array(head))
          for (const r of ranked) {
            expect(FORMATS).toContain(r.format)
            expect(
              r.confidence >= 0 && r.confidence <= 1,
              `${r.format} ${String(r.confidence)}`,
            ).toBe(true)
          }
        },
      ),
      { seed: SEED, numRuns: runs(150) },
    )
  })
})
