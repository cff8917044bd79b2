import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
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

const DIR = fileURLToPath(new URL('../../../shared/corpora/netflow/', import.meta.url))
const T0 = 1_700_000_000_000

/** Corpus datagrams (each file's UDP payload) when the corpora are present. */
const corpus: Uint8Array[] = existsSync(DIR)
  ? readdirSync(DIR)
      .filter((f) => f.endsWith('.dat'))
      .sort()
      .map((f) => new Uint8Array(readFileSync(DIR + f)))
  : []

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
              const dstPort = icmp ? x.dstPort >> 8 : ports ? x.dstPort : 0
              return {
                src: x.src,
                dst: x.dst,
                srcPort: icmp ? x.dstPort & 0xff : ports ? x.srcPort : 0,
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
