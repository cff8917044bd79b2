import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { normalizeIp } from '../../src/core/ip.js'
import { isIcmpReply, type Flow } from '../../src/core/flow.js'
import { NetflowDecoder, type DecodeResult } from '../../src/ingest/netflow/decoder.js'
import {
  concat,
  ip4,
  ip6,
  ipfix,
  ipfixOptionsTemplate,
  recV4,
  set,
  template,
  templateRecords,
  TPL_V4,
  u16,
  u32,
  u64,
  u8,
  type FieldSpec,
  v1,
  v5,
  v7,
  v9,
  v9OptionsTemplate,
  varlen,
  type FixedHeader,
  type V5Record,
} from './netflow-builders.js'
import { SEED } from '../helpers/model.js'
import { runs } from '../helpers/fuzz.js'
import { corpusFiles, corpusPath } from '../helpers/corpora.js'

const T0 = 1_700_000_000_000

/** Corpus datagrams (each file's UDP payload); none when ../shared is absent. */
const corpus: Uint8Array[] = corpusFiles('netflow/', (f) => f.endsWith('.dat')).map(
  (f) => new Uint8Array(readFileSync(corpusPath('netflow/') + f)),
)

const rec = recV4({
  src: '10.0.0.1',
  dst: '10.0.0.2',
  sp: 1234,
  dp: 80,
  proto: 6,
  pkts: 3,
  bytes: 180,
  start: T0,
  end: T0 + 10,
})
const fixedRecords: V5Record[] = [
  {
    src: '10.0.0.1',
    dst: '10.0.0.2',
    srcPort: 1,
    dstPort: 2,
    protocol: 6,
    packets: 1,
    bytes: 40,
    first: 100,
    last: 4000,
    tcpFlags: 2,
  },
  {
    src: '10.0.0.2',
    dst: '10.0.0.1',
    srcPort: 0,
    dstPort: 0x0301,
    protocol: 1,
    packets: 1,
    bytes: 40,
    first: 100,
    last: 4000,
  },
]
const built: Uint8Array[] = [
  v5({ sysUptime: 5000, secs: 1_700_000_000 }, fixedRecords),
  v1({ sysUptime: 5000, secs: 1_700_000_000, nsecs: 999_999_999 }, fixedRecords),
  v7({ sysUptime: 5000, secs: 1_700_000_000, sequence: 7 }, [
    ...fixedRecords,
    // a destination flow mask's record: no source, ports or protocol
    { ...fixedRecords[0]!, src: '0.0.0.0', srcPort: 0, dstPort: 0, protocol: 0, flowMask: 1 },
  ]),
  v9(
    { sysUptime: 9000, secs: 1_700_000_000, sourceId: 1 },
    set(
      0,
      templateRecords([
        { id: 256, fields: TPL_V4 },
        {
          id: 257,
          fields: [
            [27, 16],
            [28, 16],
            [4, 1],
            [22, 4],
            [21, 4],
            [1, 4],
          ],
        },
      ]),
    ),
    v9OptionsTemplate(258, [[1, 4]], [[40, 4]]),
    set(256, concat(rec, rec, u16(0))),
    set(257, concat(ip6('2001:db8::1'), ip6('::ffff:a00:1'), u8(58), u32(100), u32(8000), u32(99))),
    set(258, concat(u32(1), u32(2))),
  ),
  ipfix(
    { exportTime: 1_700_000_000, domain: 2 },
    template(2, 300, '8:4 12:4 96:65535 4:1 7:2 11:2 1:8 2:8 9:4:9 22:4 21:4'),
    ipfixOptionsTemplate(301, 1, [
      [144, 4],
      [160, 8],
    ]),
    set(301, concat(u32(1), u64(T0 - 1000))),
    set(
      300,
      concat(
        ip4('10.0.0.3'),
        ip4('10.0.0.4'),
        varlen(new Uint8Array(3)),
        u8(17),
        u16(53),
        u16(5353),
        u64(1),
        u64(2),
        u32(7),
        u32(10),
        u32(20),
      ),
    ),
    set(2, concat(u16(300), u16(0))),
  ),
]
const seeds = [...corpus, ...built]

type Mutation =
  | { kind: 'flip'; pos: number; bit: number }
  | { kind: 'truncate'; pos: number }
  | { kind: 'extend'; bytes: Uint8Array }
  | { kind: 'len16'; pos: number; value: number }
  | { kind: 'byte'; pos: number; value: number }

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    pos: fc.nat(),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), pos: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
  // overwrite a 16-bit word (lengths, counts, ids) with an edge value
  fc.record({
    kind: fc.constant('len16' as const),
    pos: fc.nat(),
    value: fc.oneof(
      fc.constantFrom(0, 1, 2, 3, 4, 5, 8, 9, 10, 255, 256, 65535),
      fc.integer({ min: 0, max: 65535 }),
    ),
  }),
  fc.record({
    kind: fc.constant('byte' as const),
    pos: fc.nat(),
    value: fc.integer({ min: 0, max: 255 }),
  }),
)

function mutate(src: Uint8Array, muts: Mutation[]): Uint8Array {
  let b: Uint8Array = src.slice()
  for (const m of muts) {
    const n = b.byteLength
    if (m.kind === 'extend') b = concat(b, m.bytes)
    else if (n === 0) continue
    else if (m.kind === 'truncate') b = b.slice(0, m.pos % n)
    else if (m.kind === 'flip') b[m.pos % n] = (b[m.pos % n] ?? 0) ^ (1 << m.bit)
    else if (m.kind === 'byte') b[m.pos % n] = m.value
    else if (n >= 2) {
      const p = (m.pos % (n - 1)) & ~1 // 16-bit fields sit at even offsets in every layout here
      b[p] = m.value >> 8
      b[p + 1] = m.value & 0xff
    }
  }
  return b
}

const LIMITS = {
  maxExporters: 3,
  maxTemplatesPerExporter: 5,
  maxTemplateFieldsPerExporter: 200,
  maxTemplateFieldsTotal: 400,
  maxPendingSetsPerExporter: 4,
  maxPendingBytesPerExporter: 4096,
  maxPendingBytesTotal: 8192,
}

function checkFlow(f: Flow): void {
  expect(normalizeIp(f.src)).toBe(f.src)
  expect(normalizeIp(f.dst)).toBe(f.dst)
  for (const p of [f.srcPort, f.dstPort])
    expect(Number.isInteger(p) && p >= 0 && p <= 65535, `port ${p}`).toBe(true)
  expect(
    Number.isInteger(f.protocol) && f.protocol >= 0 && f.protocol <= 255,
    `protocol ${f.protocol}`,
  ).toBe(true)
  expect(Number.isSafeInteger(f.start) && f.start >= 0, `start ${f.start}`).toBe(true)
  expect(Number.isSafeInteger(f.end) && f.end >= f.start, `end ${f.end} < start ${f.start}`).toBe(
    true,
  )
  for (const c of [f.packets, f.bytes])
    expect(Number.isSafeInteger(c) && c >= 0, `counter ${c}`).toBe(true)
  if (f.tcpFlags !== undefined) expect(f.tcpFlags >= 0 && f.tcpFlags <= 0xffff).toBe(true)
}

function checkResult(d: NetflowDecoder, r: DecodeResult, exporters: string[]): void {
  expect(r.problems.filter((p) => p.reason === 'decoder-error')).toEqual([])
  for (const f of r.flows) checkFlow(f)
  for (const e of exporters) {
    expect(d.cache.templateCount(e)).toBeLessThanOrEqual(LIMITS.maxTemplatesPerExporter)
    // a single template may exceed the bound on its own (up to 16 383 fields); two may not
    if (d.cache.templateCount(e) > 1)
      expect(d.cache.templateFields(e)).toBeLessThanOrEqual(LIMITS.maxTemplateFieldsPerExporter)
  }
  if (d.cache.exporterCount > 1)
    expect(d.cache.templateFields()).toBeLessThanOrEqual(LIMITS.maxTemplateFieldsTotal)
  expect(d.cache.exporterCount).toBeLessThanOrEqual(LIMITS.maxExporters)
  expect(d.cache.pendingBytesTotal).toBeLessThanOrEqual(LIMITS.maxPendingBytesTotal)
}

describe('NetFlow / IPFIX decoder fuzz', () => {
  const exporters = ['e0', 'e1', 'e2', 'e3']

  it('mutated corpus and built datagrams through one decoder state: never throws, flows valid, bounds hold', () => {
    const d = new NetflowDecoder(LIMITS)
    let record = 0
    let flows = 0
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            seed: fc.nat(),
            exporter: fc.integer({ min: 0, max: 3 }),
            muts: fc.array(mutation, { maxLength: 5 }),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        (batch) => {
          for (const item of batch) {
            const src = seeds[item.seed % seeds.length] ?? new Uint8Array(0)
            const e = exporters[item.exporter] ?? 'e0'
            const r = d.decode(mutate(src, item.muts), {
              exporter: e,
              file: 'fuzz',
              record: record++,
            })
            flows += r.flows.length
            checkResult(d, r, exporters)
          }
        },
      ),
      { seed: SEED, numRuns: runs(400) },
    )
    checkResult(d, d.flush(), exporters)
    expect(flows).toBeGreaterThan(0) // the mutations leave plenty decodable
  })

  it('fully random buffers (with and without a valid version word)', () => {
    const d = new NetflowDecoder(LIMITS)
    let record = 0
    fc.assert(
      fc.property(
        fc.constantFrom(-1, 1, 5, 7, 9, 10),
        fc.uint8Array({ maxLength: 1500 }),
        fc.integer({ min: 0, max: 3 }),
        (version, body, ex) => {
          const b = version < 0 ? body : concat(u16(version), body)
          const r = d.decode(b, { exporter: exporters[ex] ?? 'e0', file: 'fuzz', record: record++ })
          checkResult(d, r, exporters)
        },
      ),
      { seed: SEED, numRuns: runs(1500) },
    )
    checkResult(d, d.flush(), exporters)
  })

  it('generated v1, v5 and v7 datagrams decode to exactly the records written', () => {
    const recordArb: fc.Arbitrary<V5Record> = fc
      .record({
        src: fc.ipV4(),
        dst: fc.ipV4(),
        srcPort: fc.integer({ min: 0, max: 65535 }),
        dstPort: fc.integer({ min: 0, max: 65535 }),
        protocol: fc.constantFrom(0, 1, 6, 17, 47, 58, 132),
        packets: fc.nat({ max: 2 ** 32 - 1 }),
        bytes: fc.nat({ max: 2 ** 32 - 1 }),
        // how long before the export the flow started and ended, ms (below the uptime)
        startAge: fc.nat({ max: 1_000_000 }),
        length: fc.nat({ max: 1_000_000 }),
        tcpFlags: fc.integer({ min: 0, max: 255 }),
      })
      .map(({ startAge, length, ...r }) => ({
        ...r,
        first: 2_000_000 - startAge - Math.min(length, startAge),
        last: 2_000_000 - startAge,
      }))
    fc.assert(
      fc.property(
        fc.constantFrom(
          { version: 1, build: v1, max: 24 },
          { version: 5, build: v5, max: 30 },
          { version: 7, build: v7, max: 28 },
        ),
        fc.array(recordArb, { minLength: 1, maxLength: 30 }),
        fc.record({
          // SysUptime at export: 2 000 000 ms; the records are uptime-relative to it
          secs: fc.integer({ min: 946_684_800, max: 4_102_444_800 }),
          nsecs: fc.nat({ max: 999_999_999 }),
          sequence: fc.nat({ max: 2 ** 32 - 1 }),
        }),
        fc.nat({ max: 1000 }),
        ({ version, build, max }, all, h, record) => {
          const records = all.slice(0, max)
          const header: FixedHeader = { sysUptime: 2_000_000, ...h }
          const meta = { exporter: 'gen', file: 'gen.dat', record }
          const r = new NetflowDecoder().decode(build(header, records), meta)
          const exportMs = h.secs * 1000 + Math.floor(h.nsecs / 1e6)
          const masked = (x: V5Record): boolean => version === 7 && x.protocol === 0
          expect(r.problems.map((p) => p.reason)).toEqual(
            records.filter(masked).map(() => 'no-protocol'),
          )
          const want = records
            .filter((x) => !masked(x))
            .map((x): Flow => {
              const icmp = x.protocol === 1 || x.protocol === 58
              const ports = icmp || [6, 17, 132].includes(x.protocol)
              // ICMP: Cisco's type·256 + code in the destination port, or fprobe's type in the
              // source port (1–255) and code in the destination port (below 256)
              const fprobe = icmp && x.srcPort > 0 && x.srcPort < 256 && x.dstPort < 256
              const typeCode = fprobe ? x.srcPort * 256 + x.dstPort : x.dstPort
              const dstPort = icmp ? typeCode >> 8 : ports ? x.dstPort : 0
              return {
                src: x.src,
                dst: x.dst,
                srcPort: icmp ? typeCode & 0xff : ports ? x.srcPort : 0,
                dstPort,
                protocol: x.protocol,
                start: exportMs - (2_000_000 - x.first),
                end: exportMs - (2_000_000 - x.last),
                packets: x.packets,
                bytes: x.bytes,
                observedAction: 'unknown',
                direction:
                  icmp && isIcmpReply(x.protocol, dstPort) ? 'server-to-client' : 'unknown',
                source: { format: `netflow-v${version}`, file: 'gen.dat', record },
                ...(x.protocol === 6 ? { tcpFlags: x.tcpFlags ?? 0 } : {}),
              }
            })
          expect(r.flows).toEqual(want)
        },
      ),
      { seed: SEED, numRuns: runs(300) },
    )
  })
})

/**
 * RFC 6313 structured data as YAF sends its TCP flags (decoder.ts `readCertFlags`): IPFIX messages
 * whose records hold subTemplateLists (292) and subTemplateMultiLists (293) of random
 * sub-templates, nested up to 4 lists deep (the decoder reads 2), naming known, unknown, options
 * and their own enclosing template ids, with CERT's flag elements (PEN 6871: 14, 15 and their
 * reverses 16398, 16399) anywhere. Built from a tape of random numbers, so that the structure
 * shrinks with it.
 */
const CERT = 6871
const CERT_FLAG_IDS: ReadonlySet<number> = new Set([14, 15, 16398, 16399])
const YAF_SECS = 1_700_000_000
const YAF_T0 = YAF_SECS * 1000 - 30_000
/** The top template: times, addresses, ports, protocol, then generated fields. */
const TOP_ID = 300
const TOP_FIXED: readonly FieldSpec[] = [
  [152, 8],
  [153, 8],
  [8, 4],
  [12, 4],
  [7, 2],
  [11, 2],
  [4, 1],
]
/** An options template whose records hold a list: never read for flags. */
const OPTIONS_ID = 301
const SUB_FIELDS: readonly FieldSpec[] = [
  [14, 1, CERT],
  [15, 1, CERT],
  [16398, 1, CERT],
  [16399, 1, CERT],
  [14, 2, CERT], // a flag element of the wrong length: ignored
  [184, 4],
  [4, 1],
  [96, 65535],
  [292, 65535],
  [293, 65535],
  [292, 3], // fixed-length lists: a semantic octet and a template id
  [293, 5], // a semantic octet and one empty entry
]
const TOP_EXTRA: readonly FieldSpec[] = [
  [292, 65535],
  [293, 65535],
  [293, 65535],
  [14, 1, CERT],
  [15, 1, CERT],
  [16398, 1, CERT],
  [292, 3],
]
const LIST_TIDS = [256, 257, 258, 259, TOP_ID, OPTIONS_ID, 2, 999]
const FLAG_BYTES = [0x02, 0x12, 0x14, 0x10, 0x18, 0x11, 0x19]
/** The deepest list nesting the decoder reads flags from (SUB_TEMPLATE_DEPTH). */
const READ_DEPTH = 2
/** The deepest list nesting generated. */
const BUILD_DEPTH = 4

/** Draws from a tape of generated numbers; 0 once it runs out, so every tape builds a message. */
class Tape {
  private i = 0
  constructor(private readonly xs: readonly number[]) {}
  /** 0 ≤ n < `n`. */
  next(n: number): number {
    return (this.xs[this.i++] ?? 0) % n
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.next(xs.length)]!
  }
  /** True about once in `n` draws. */
  chance(n: number): boolean {
    return this.next(n) === n - 1
  }
}

interface YafMessage {
  readonly bytes: Uint8Array
  /** Per data record of the top template: its protocol and the OR of the flags the decoder reads. */
  readonly records: readonly { protocol: number; flags: number | undefined }[]
}

/**
 * An IPFIX message of 1–4 sub-templates (ids 256–259; a repeated id redefines), the top template,
 * an options template and 1–3 top records. `dirty`: list entry lengths, variable-length headers and
 * record counts are sometimes wrong (the expected flags are then meaningless).
 */
function yafMessage(tape: Tape, dirty: boolean): YafMessage {
  const templates = new Map<number, readonly FieldSpec[]>()
  const defs: { id: number; fields: readonly FieldSpec[] }[] = []
  for (let i = 0, n = 1 + tape.next(4); i < n; i++) {
    const id = 256 + tape.next(4)
    const fields = Array.from({ length: 1 + tape.next(5) }, () => tape.pick(SUB_FIELDS))
    defs.push({ id, fields })
    templates.set(id, fields)
  }
  const top = [
    ...TOP_FIXED,
    ...Array.from({ length: 1 + tape.next(3) }, () => tape.pick(TOP_EXTRA)),
  ]
  templates.set(TOP_ID, top)
  const minLength = (fields: readonly FieldSpec[]): number =>
    fields.reduce((n, [, len]) => n + (len === 65535 ? 1 : len), 0)
  const wrong = (right: number): number =>
    tape.pick([0, 1, 2, 3, 4, 5, 255, 65535, right + 1, Math.max(0, right - 1)])

  // the flags of the top record being built
  const acc: { flags: number | undefined } = { flags: undefined }
  const seen = (b: number): void => {
    acc.flags = (acc.flags ?? 0) | b
  }
  const varlen = (body: Uint8Array): Uint8Array => {
    const n = dirty && tape.chance(8) ? wrong(body.byteLength) : body.byteLength
    return n < 255 && !tape.chance(4)
      ? concat(u8(n), body)
      : concat(u8(255), u16(Math.min(n, 65535)), body)
  }
  /** The records of template `tid` at list level `level`, their flags counted when `live`. */
  const records = (tid: number, level: number, live: boolean): Uint8Array => {
    const fields = templates.get(tid)
    if (fields === undefined || tid === OPTIONS_ID)
      return new Uint8Array(Array.from({ length: tape.next(8) }, () => tape.next(256)))
    const usable = live && level <= READ_DEPTH && minLength(fields) > 0
    return concat(
      ...Array.from({ length: tape.next(3) }, () => record(fields, level, usable, undefined)),
    )
  }
  const list = (kind: number, level: number, live: boolean): Uint8Array => {
    const semantic = tape.pick([0, 1, 2, 3, 4, 255])
    if (level > BUILD_DEPTH) return kind === 292 ? concat(u8(semantic), u16(999)) : u8(semantic)
    if (kind === 292) {
      const tid = tape.pick(LIST_TIDS)
      return concat(u8(semantic), u16(tid), records(tid, level, live))
    }
    const entries = Array.from({ length: tape.next(4) }, () => {
      const tid = tape.pick(LIST_TIDS)
      const body = records(tid, level, live)
      const n = dirty && tape.chance(6) ? wrong(body.byteLength + 4) : body.byteLength + 4
      return concat(u16(tid), u16(n), body)
    })
    return concat(u8(semantic), ...entries)
  }
  /** One record of `fields` inside a list at `level` (0: a top record). */
  function record(
    fields: readonly FieldSpec[],
    level: number,
    live: boolean,
    protocol: number | undefined,
  ): Uint8Array {
    return concat(
      ...fields.map(([id, len, ent], i): Uint8Array => {
        if (level === 0 && i < TOP_FIXED.length) {
          if (id === 152) return u64(YAF_T0)
          if (id === 153) return u64(YAF_T0 + 500)
          if (id === 8) return ip4('10.0.0.1')
          if (id === 12) return ip4('10.0.0.2')
          if (id === 7) return u16(40000)
          if (id === 11) return u16(443)
          return u8(protocol ?? 6)
        }
        if (ent === CERT && len === 1) {
          const b = tape.chance(4) ? tape.next(256) : tape.pick(FLAG_BYTES)
          if (live && CERT_FLAG_IDS.has(id)) seen(b)
          return u8(b)
        }
        if ((id === 292 || id === 293) && ent === undefined) {
          if (len === 65535) return varlen(list(id, level + 1, live))
          // fixed-length lists: no records, so nothing read from them
          if (dirty && tape.chance(3))
            return new Uint8Array(Array.from({ length: len }, () => tape.next(256)))
          return id === 292
            ? concat(u8(3), u16(tape.pick(LIST_TIDS)))
            : concat(u8(3), u16(256), u16(4))
        }
        if (len === 65535)
          return varlen(new Uint8Array(Array.from({ length: tape.next(7) }, () => tape.next(256))))
        return new Uint8Array(Array.from({ length: len }, () => tape.next(256)))
      }),
    )
  }

  const tops: { protocol: number; flags: number | undefined }[] = []
  const bodies: Uint8Array[] = []
  for (let i = 0, n = 1 + tape.next(3); i < n; i++) {
    const protocol = tape.chance(5) ? 17 : 6
    acc.flags = undefined
    bodies.push(record(top, 0, true, protocol))
    tops.push({ protocol, flags: protocol === 6 ? acc.flags : undefined })
  }
  const sets = [
    set(2, templateRecords(defs)),
    template(2, TOP_ID, top),
    ipfixOptionsTemplate(OPTIONS_ID, 1, [
      [144, 4],
      [292, 65535],
    ]),
    set(TOP_ID, concat(...bodies)),
  ]
  // a dirty message may send its data before its templates
  if (dirty && tape.chance(6)) sets.reverse()
  return { bytes: ipfix({ exportTime: YAF_SECS, domain: 3 }, ...sets), records: tops }
}

/**
 * Every problem reason the decoder documents (decoder.ts module comment and its notes), but the
 * one with a parameter, `sampling-rate:<N>` ({@link documented}).
 */
const REASONS: ReadonlySet<string> = new Set([
  'bad-length',
  'bad-version',
  'bad-template',
  'bad-field-length',
  'bad-counter',
  'bad-time',
  'no-template',
  'no-protocol',
  'options-record',
  'no-address',
  'template-withdrawn',
  'end-before-start',
  'ends-after-export',
  'uptime-unwrapped',
  'time-from-export',
  'exporter-evicted',
  'template-evicted',
  'unknown-sub-template',
  'exporter-restarted',
  'icmp-type-assumed-echo',
  'inner-header',
  'refused-by-reset',
  'lost-datagrams',
  'lost-records',
])

/** A reason the decoder documents: one of {@link REASONS}, or `sampling-rate:<N>` with N > 1. */
function documented(reason: string): boolean {
  return REASONS.has(reason) || /^sampling-rate:(?:[2-9]|[1-9]\d+)$/.test(reason)
}

describe('IPFIX structured data (RFC 6313) fuzz: YAF flags in sub-template lists', () => {
  const tape = fc.array(fc.nat({ max: 1 << 16 }), { minLength: 30, maxLength: 400, size: 'large' })

  it('clean messages: one flow per record, whose TCP flags are the OR of those read two lists deep', () => {
    fc.assert(
      fc.property(tape, (xs) => {
        const m = yafMessage(new Tape(xs), false)
        const r = new NetflowDecoder().decode(m.bytes, { exporter: 'yaf', file: 'yaf', record: 0 })
        expect(r.problems.filter((p) => p.kind === 'skip')).toEqual([])
        expect(r.flows.map((f) => [f.protocol, f.tcpFlags])).toEqual(
          m.records.map((x) => [x.protocol, x.flags]),
        )
        for (const f of r.flows) checkFlow(f)
      }),
      { seed: SEED, numRuns: runs(300) },
    )
  })

  it('damaged messages through one decoder state: never throws, documented reasons, flows valid, bounds hold', () => {
    const d = new NetflowDecoder(LIMITS)
    const exporters = ['e0', 'e1', 'e2', 'e3']
    let record = 0
    fc.assert(
      fc.property(
        tape,
        fc.integer({ min: 0, max: 3 }),
        fc.array(mutation, { maxLength: 3 }),
        (xs, ex, muts) => {
          const m = yafMessage(new Tape(xs), true)
          const r = d.decode(mutate(m.bytes, muts), {
            exporter: exporters[ex] ?? 'e0',
            file: 'fuzz',
            record: record++,
          })
          for (const p of r.problems) {
            expect(documented(p.reason), p.reason).toBe(true)
            expect(['skip', 'note']).toContain(p.kind)
          }
          // TCP flags only on TCP (a mutation may make a field tcpControlBits: 2 octets)
          for (const f of r.flows) if (f.tcpFlags !== undefined) expect(f.protocol).toBe(6)
          checkResult(d, r, exporters)
        },
      ),
      { seed: SEED, numRuns: runs(500) },
    )
    checkResult(d, d.flush(), exporters)
  })
})
