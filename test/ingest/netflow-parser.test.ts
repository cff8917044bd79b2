import { describe, expect, it } from 'vitest'
import type { Flow } from '../../src/core/flow.js'
import { detectNetflow, netflowParser, splitDatagrams } from '../../src/ingest/formats/netflow.js'
import { newStats, type ParseContext } from '../../src/ingest/types.js'
import {
  concat,
  ipfix,
  recV4,
  set,
  template,
  TPL_V4,
  u16,
  v1,
  v5,
  v7,
  v9,
  type V5Record,
} from './netflow-builders.js'

const T0 = 1_700_000_000_000
const rec = (sp: number): Uint8Array =>
  recV4({
    src: '10.0.0.1',
    dst: '10.0.0.2',
    sp,
    dp: 443,
    proto: 6,
    pkts: 1,
    bytes: 60,
    start: T0,
    end: T0,
  })
const v5dg = (n: number): Uint8Array =>
  v5(
    { sysUptime: 1000, secs: 1_700_000_000 },
    Array.from({ length: n }, (_, i) => ({
      src: '10.0.0.1',
      dst: '10.0.0.2',
      srcPort: i,
      dstPort: 80,
      protocol: 6,
      packets: 1,
      bytes: 40,
      first: 500,
      last: 900,
    })),
  )

/** Yields `b` in chunks of `size` octets, to exercise framing across chunk boundaries. */
async function* chunked(b: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < b.byteLength; i += size) yield b.subarray(i, i + size)
}

async function parseAll(
  b: Uint8Array,
  size = 7,
  strict = false,
): Promise<{ flows: Flow[]; ctx: ParseContext }> {
  const ctx: ParseContext = { file: 'capture.dat', strict, stats: newStats() }
  const flows: Flow[] = []
  for await (const f of netflowParser.parse(chunked(b, size), ctx)) flows.push(f)
  return { flows, ctx }
}

describe('netflow file parser', () => {
  const H9 = { sysUptime: 1, secs: 1_700_000_000, sourceId: 1 }
  const tpl9 = v9(H9, template(0, 256, TPL_V4))
  const data9 = (sp: number): Uint8Array => v9(H9, set(256, concat(rec(sp), u16(0))))
  const tplFix = ipfix({ exportTime: 1_700_000_000 }, template(2, 300, TPL_V4))
  const dataFix = (sp: number): Uint8Array =>
    ipfix({ exportTime: 1_700_000_000 }, set(300, rec(sp)))

  it('frames concatenated v5, v9 and IPFIX datagrams in any chunking', async () => {
    const file = concat(v5dg(2), tpl9, data9(1), data9(2), tplFix, dataFix(3), v5dg(1), data9(4))
    for (const size of [1, 7, 64, 100_000]) {
      const { flows, ctx } = await parseAll(file, size)
      expect(flows.map((f) => `${f.source.format}#${f.source.record}:${f.srcPort}`)).toEqual([
        'netflow-v5#0:0',
        'netflow-v5#0:1',
        'netflow-v9#2:1',
        'netflow-v9#3:2',
        'ipfix#5:3',
        'netflow-v5#6:0',
        'netflow-v9#7:4',
      ])
      expect(ctx.stats.records).toBe(7)
      expect(ctx.stats.skipped).toEqual({})
      expect(flows.every((f) => f.source.file === 'capture.dat')).toBe(true)
    }
  })

  it('counts data without a template and a truncated tail', async () => {
    const { flows, ctx } = await parseAll(concat(data9(1), tplFix, dataFix(2).subarray(0, 30)))
    expect(flows).toEqual([])
    expect(ctx.stats.skipped).toEqual({ 'no-template': 1, 'bad-length': 1 })
    expect(ctx.stats.examples.map((e) => e.where)).toEqual(['capture.dat#2', 'capture.dat#0'])
  })

  it('treats a version it does not read (v8) as an unframeable remainder, after the good datagrams', async () => {
    const { flows, ctx } = await parseAll(concat(v5dg(1), u16(8), new Uint8Array(40)))
    expect(flows).toHaveLength(1)
    expect(ctx.stats.skipped).toEqual({ 'bad-version': 1 })
  })

  it('frames a NetFlow v6 datagram by its count: one bad-version, no record misread inside it', async () => {
    // v6 is v5's header with 52-octet records (Cisco); not decoded. Unframed, its bytes were
    // resynchronised at offset 2, where the count word 1 and the uptime read as a v1 header,
    // and a made-up v1 flow came out
    const five = v5({ sysUptime: 100_000, secs: 1_790_000_100 }, [
      {
        src: '10.0.1.10',
        dst: '10.0.2.10',
        srcPort: 40000,
        dstPort: 443,
        protocol: 6,
        packets: 10,
        bytes: 800,
        first: 40_000,
        last: 100_000,
      },
    ])
    const six = concat(u16(6), five.subarray(2), new Uint8Array(4))
    for (const size of [1, 7, 100_000]) {
      const { flows, ctx } = await parseAll(concat(six, v5dg(1), six), size)
      expect(flows.map((f) => `${f.source.format}#${f.source.record}`)).toEqual(['netflow-v5#1'])
      expect(ctx.stats.skipped).toEqual({ 'bad-version': 2 })
    }
  })

  it('frames a NetFlow v8 datagram by its aggregation scheme: one bad-version, nothing misread', async () => {
    // v8 (router-based aggregation; not decoded): a 28-octet header whose octet 22 names the
    // scheme, then count records of that scheme's size (flow-tools lib/ftlib.h, ftpdu_v8_1 …
    // ftpdu_v8_14). Here scheme 8 (full flow, 44 octets) and scheme 2 (protocol-port, 28), each
    // with one record whose bytes hold a v5 datagram's start: unframed, reading resynchronised
    // inside them and made up flows. By hand: the v5 datagram between them is the only flow.
    const inner = v5dg(1).subarray(0, 28)
    const v8 = (scheme: number, recordLength: number): Uint8Array => {
      const head = new Uint8Array(28)
      const dv = new DataView(head.buffer)
      dv.setUint16(0, 8)
      dv.setUint16(2, 1)
      dv.setUint32(8, 1_700_000_000)
      head[22] = scheme
      head[23] = 2
      const body = new Uint8Array(recordLength)
      body.set(inner.subarray(0, Math.min(28, recordLength)))
      return concat(head, body)
    }
    for (const size of [1, 7, 100_000]) {
      const { flows, ctx } = await parseAll(concat(v8(8, 44), v5dg(1), v8(2, 28)), size)
      expect(flows.map((f) => `${f.source.format}#${f.source.record}`)).toEqual(['netflow-v5#1'])
      expect(ctx.stats.skipped).toEqual({ 'bad-version': 2 })
    }
  })

  it('a datagram cut short in the middle of a file loses itself, not the datagrams after it', async () => {
    // an IPFIX message cut by a capture's snap length: its header claims bytes that are the
    // next message's; then bytes of no datagram at all (an unknown version) before a v9 one
    const file = concat(
      tplFix,
      dataFix(1).subarray(0, 30),
      dataFix(2),
      tpl9,
      u16(8), // NetFlow v8 (router-based aggregation) is not read
      new Uint8Array(40).fill(0x41),
      data9(3),
      v5dg(1),
    )
    for (const size of [1, 7, 64, 100_000]) {
      const { flows, ctx } = await parseAll(file, size)
      expect(flows.map((f) => `${f.source.format}#${f.source.record}:${f.srcPort}`)).toEqual([
        'ipfix#2:2',
        'netflow-v9#5:3',
        'netflow-v5#6:0',
      ])
      expect(ctx.stats.skipped).toEqual({ 'bad-length': 1, 'bad-version': 1 })
    }
  })

  it('throws on the first malformed datagram in strict mode', async () => {
    await expect(parseAll(concat(v5dg(1), v5dg(1).subarray(0, 50)), 7, true)).rejects.toThrow(
      /bad-length/,
    )
  })

  it('splitDatagrams yields nothing for empty input', async () => {
    const out = []
    for await (const d of splitDatagrams(chunked(new Uint8Array(0), 1))) out.push(d)
    expect(out).toEqual([])
  })

  it('detects NetFlow v5, v9 and IPFIX with high confidence and text with 0', () => {
    expect(detectNetflow(v5dg(2))).toBeGreaterThanOrEqual(0.9)
    expect(detectNetflow(tpl9)).toBeGreaterThanOrEqual(0.9)
    expect(detectNetflow(tplFix)).toBeGreaterThanOrEqual(0.9)
    const text = new TextEncoder().encode(
      '2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK\n',
    )
    expect(detectNetflow(text)).toBe(0)
    expect(detectNetflow(new TextEncoder().encode('{"flow":{}}\n'.repeat(4)))).toBe(0)
    // version word right, lengths implausible
    expect(detectNetflow(ipfix({ exportTime: 1, length: 4 }, set(2, new Uint8Array(8))))).toBe(0)
    expect(detectNetflow(v9(H9, set(2, new Uint8Array(8))))).toBe(0)
    expect(netflowParser.format).toBe('netflow')
    expect(netflowParser.kind).toBe('bytes')
  })
  it('zero padding after datagrams (PAN-OS pads v9 datagrams to a fixed size) is skipped', async () => {
    const padded = (sp: number): Uint8Array => concat(data9(sp), new Uint8Array(500))
    for (const size of [7, 64, 4096]) {
      const { flows, ctx } = await parseAll(concat(tpl9, padded(1), padded(2), padded(3)), size)
      expect(flows.map((f) => f.srcPort)).toEqual([1, 2, 3])
      expect(ctx.stats.skipped).toEqual({})
    }
    // zeros followed by bytes that are no datagram are still reported
    const { flows, ctx } = await parseAll(concat(tpl9, padded(1), new Uint8Array([0, 0x41, 1, 2])))
    expect(flows).toHaveLength(1)
    expect(ctx.stats.skipped).toEqual({ 'bad-version': 1 })
  })

  // NetFlow v1 and v7 (netflow/fixed.ts) among the other versions
  const HF = { sysUptime: 10_000, secs: 1_700_000_000 }
  const fr = (srcPort: number): V5Record => ({
    src: '10.0.0.1',
    dst: '10.0.0.2',
    srcPort,
    dstPort: 53,
    protocol: 17,
    packets: 1,
    bytes: 71,
    first: 500,
    last: 900,
  })
  /** Parses `file` in chunks of 1, 7, 64 and 100 000 octets: each gives `flows` and `skipped`. */
  async function inAnyChunking(
    file: Uint8Array,
    flows: string[],
    skipped: Record<string, number>,
  ): Promise<void> {
    for (const size of [1, 7, 64, 100_000]) {
      const got = await parseAll(file, size)
      const labels = got.flows.map((f) => `${f.source.format}#${f.source.record}:${f.srcPort}`)
      expect({ size, labels, skipped: got.ctx.stats.skipped }).toEqual({
        size,
        labels: flows,
        skipped,
      })
    }
  }

  it('frames v1 and v7 datagrams among v5 and v9 ones in any chunking (a v1 after a v9 too)', async () => {
    const file = concat(
      v1(HF, [fr(1), fr(2)]),
      v7(HF, [fr(3)]),
      tpl9,
      data9(4),
      v1(HF, [fr(5)]), // its version word 1 is also the options template FlowSet id
      data9(6),
      v5(HF, [fr(7)]),
      v7(HF, [fr(8), fr(9)]),
      new Uint8Array(100), // zero padding
    )
    await inAnyChunking(
      file,
      [
        'netflow-v1#0:1',
        'netflow-v1#0:2',
        'netflow-v7#1:3',
        'netflow-v9#3:4',
        'netflow-v1#4:5',
        'netflow-v9#5:6',
        'netflow-v5#6:7',
        'netflow-v7#7:8',
        'netflow-v7#7:9',
      ],
      {},
    )
  })

  it('a v1, v5 or v7 datagram cut short in the middle of a file loses itself, not the datagrams after it', async () => {
    // the count announces more than was captured: the next datagram's header starts inside
    // the announced length, and its bytes must not be read as records
    const cut1 = v1(HF, [fr(1), fr(2)])
    const cut7 = v7(HF, [fr(4), fr(5)])
    const cut5 = v5(HF, [fr(7), fr(8), fr(9)])
    const file = concat(
      cut1.subarray(0, cut1.byteLength - 30),
      v7(HF, [fr(3)]),
      cut7.subarray(0, 24 + 52 + 10),
      v1(HF, [fr(6)]),
      cut5.subarray(0, 24 + 48),
      v5(HF, [fr(10)]),
      tpl9,
      data9(11),
    )
    await inAnyChunking(
      file,
      ['netflow-v7#1:3', 'netflow-v1#3:6', 'netflow-v5#5:10', 'netflow-v9#7:11'],
      { 'bad-length': 3 },
    )
  })

  describe('detecting v1 and v7', () => {
    const recs = (n: number): V5Record[] => Array.from({ length: n }, (_, i) => fr(i))

    it('a whole datagram, or one followed by another or by zero padding: 0.9', () => {
      for (const dg of [v1(HF, recs(1)), v1(HF, recs(24)), v7(HF, recs(1)), v7(HF, recs(28))]) {
        expect(detectNetflow(dg)).toBe(0.9)
        expect(detectNetflow(concat(dg, v1(HF, recs(2))))).toBe(0.9)
        expect(detectNetflow(concat(dg, new Uint8Array(100)))).toBe(0.9)
      }
    })

    it('the count must agree with the length: more records than the bytes hold is 0.3, bytes after the records that start no datagram 0.5', () => {
      for (const build of [v1, v5, v7]) {
        expect(detectNetflow(build({ ...HF, count: 4 }, recs(3)))).toBe(0.3)
        // the count says 2, a third record follows
        expect(detectNetflow(build({ ...HF, count: 2 }, recs(3)))).toBe(0.5)
        expect(detectNetflow(concat(build(HF, recs(3)), new Uint8Array([0, 0x41, 1, 2])))).toBe(0.5)
      }
    })

    it('implausible headers are 0: no records, more than the exporters send, unix_nsecs of a second or more', () => {
      expect(detectNetflow(v1(HF, []))).toBe(0)
      expect(detectNetflow(v7(HF, []))).toBe(0)
      expect(detectNetflow(v1(HF, recs(25)))).toBe(0) // at most 24
      expect(detectNetflow(v7(HF, recs(29)))).toBe(0) // at most 28
      expect(detectNetflow(v5(HF, recs(31)))).toBe(0) // at most 30
      for (const build of [v1, v5, v7])
        expect(detectNetflow(build({ ...HF, nsecs: 1e9 }, recs(2)))).toBe(0)
    })
  })
})
