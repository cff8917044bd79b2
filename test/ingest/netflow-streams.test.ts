/**
 * IPFIX over TCP and SCTP in packet captures (RFC 7011 §10.3 SCTP, §10.4 TCP; templates per
 * Transport Session, §8): TCP streams reassembled by sequence number (out of order, duplicated,
 * with a hole), SCTP DATA chunks whole and fragmented. Captures built here (no binary fixtures).
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Flow } from '../../src/core/flow.js'
import type { FileSummary } from '../../src/ingest/read.js'
import { CaptureReader } from '../../src/ingest/netflow/pcap.js'
import { MAX_HELD_OCTETS } from '../../src/ingest/netflow/streams.js'
import { tempDir } from '../helpers/files.js'
import { readOne } from '../helpers/flows.js'
import { SEED } from '../helpers/model.js'
import { ACK, ipv4, ipv6, pcap, sctp, sctpData, SYN, tcp } from './capture-builders.js'
import {
  concat,
  ip4,
  ipfix,
  set,
  tcpRecV4,
  template,
  TPL_V4,
  u16,
  u8,
  v9,
} from './netflow-builders.js'

const dir = tempDir('bulkhead-streams')
let n = 0

async function read(frames: Uint8Array[]): Promise<{ flows: Flow[]; summary: FileSummary }> {
  const file = join(dir, `capture-${String(n++)}.pcap`)
  writeFileSync(file, pcap(101, frames))
  return readOne(file)
}

const T0 = 1_700_000_000
const rec = (dp: number) => tcpRecV4('10.1.0.1', '10.1.0.2', dp, T0)
/** An IPFIX message with the template 300 and one record to `dp`. */
const withTemplate = (dp: number) =>
  ipfix({ exportTime: T0 }, template(2, 300, TPL_V4), set(300, rec(dp)))
/** An IPFIX message of data only (template 300). */
const data = (...dps: number[]) => ipfix({ exportTime: T0 + 1 }, set(300, concat(...dps.map(rec))))

const EXPORTER = '192.0.2.1'
const COLLECTOR = '192.0.2.9'
const ISN = 0xfffff000 // the sequence numbers wrap past 2^32 within the stream

/** IPv4 TCP frames of one connection from port `sport` to 4739: its SYN, then `stream` cut at `cuts`. */
function connection(stream: Uint8Array, cuts: number[], sport = 50000, isn = ISN): Uint8Array[] {
  const frames = [ipv4(EXPORTER, COLLECTOR, 6, tcp(sport, 4739, isn, new Uint8Array(0), SYN))]
  const bounds = [0, ...cuts, stream.byteLength]
  for (let i = 0; i + 1 < bounds.length; i++) {
    const from = bounds[i] ?? 0
    const seg = stream.subarray(from, bounds[i + 1])
    frames.push(ipv4(EXPORTER, COLLECTOR, 6, tcp(sport, 4739, isn + 1 + from, seg)))
  }
  return frames
}

const ports = (flows: Flow[]) => flows.map((f) => f.dstPort)

describe('IPFIX over TCP in a capture (RFC 7011 §10.4)', () => {
  const stream = concat(withTemplate(22), data(80, 443), data(5432))

  it('reads messages split across segments and several messages in one segment', async () => {
    // cuts inside the first message's header, inside a record, and between the last two
    const first = withTemplate(22).byteLength
    const cuts = [3, 40, first + 10, stream.byteLength - data(5432).byteLength]
    const { flows, summary } = await read(connection(stream, cuts))
    expect(summary.format).toBe('netflow')
    expect(summary.stats.skipped).toEqual({})
    expect(ports(flows)).toEqual([22, 80, 443, 5432])
    expect(flows[0]).toMatchObject({ src: '10.1.0.1', dst: '10.1.0.2', packets: 3, bytes: 180 })
  })

  it('puts segments out of order back in order and drops retransmissions', async () => {
    const [syn, a, b, c, d] = connection(stream, [30, 70, 120])
    if (!syn || !a || !b || !c || !d) throw new Error('four segments')
    const { flows, summary } = await read([syn, c, a, a, d, b, c])
    expect(summary.stats.skipped).toEqual({})
    expect(summary.stats.notes).toMatchObject({ 'tcp-duplicate': 2 })
    expect(ports(flows)).toEqual([22, 80, 443, 5432])
  })

  it('a segment the capture missed is one tcp-gap; reading resumes at the next message', async () => {
    const one = withTemplate(22).byteLength
    const two = one + data(80, 443).byteLength
    const frames = connection(stream, [one, one + 20, two])
    const { flows, summary } = await read(frames.filter((_, i) => i !== 2)) // the hole: [one, one+20)
    expect(summary.stats.skipped).toEqual({ 'tcp-gap': 1 })
    // the message cut by the hole is lost; the next one is read with the session's template
    expect(ports(flows)).toEqual([22, 5432])
  })

  it('a hole with more than MAX_HELD_OCTETS behind it is a gap at once, and reading goes on', async () => {
    // 24 messages of about 49 KB (1200 records) after the hole: more than 1 MiB waits behind it
    const big = (i: number) =>
      data(...Array.from({ length: 1200 }, (_, j) => 10_000 + i * 1200 + j))
    const after = Array.from({ length: 24 }, (_, i) => big(i))
    const head = concat(withTemplate(22), data(80))
    const whole = concat(head, ...after)
    expect(whole.byteLength - head.byteLength).toBeGreaterThan(MAX_HELD_OCTETS)
    let at = head.byteLength
    const cuts = [withTemplate(22).byteLength + 5, head.byteLength]
    for (const m of after.slice(0, -1)) cuts.push((at += m.byteLength))
    // the segment with the rest of data(80) is lost
    const frames = connection(whole, cuts).filter((_, i) => i !== 2)
    // the gap is declared while the capture is read, not only at its end
    const reader = new CaptureReader()
    const before = reader.push(pcap(101, frames))
    expect(before.filter((p) => p.kind === 'skip').map((p) => p.reason)).toEqual(['tcp-gap'])
    expect(before.filter((p) => p.kind === 'message')).toHaveLength(1 + after.length)
    expect(reader.end()).toEqual([])
    const { flows, summary } = await read(frames)
    expect(summary.stats.skipped).toEqual({ 'tcp-gap': 1 })
    expect(ports(flows)).toEqual([22, ...Array.from({ length: 24 * 1200 }, (_, k) => 10_000 + k)])
  })

  it('a capture cut in the middle of a message ends with tcp-gap', async () => {
    const frames = connection(stream, [stream.byteLength - 10])
    const { flows, summary } = await read(frames.slice(0, -1))
    expect(ports(flows)).toEqual([22, 80, 443])
    expect(summary.stats.skipped).toEqual({ 'tcp-gap': 1 })
  })

  it('keeps templates per connection: same template id, other layouts, and no template across a reconnect', async () => {
    // connection B: template 300 = destination, source, protocol, destination port
    const bTemplate = ipfix(
      { exportTime: T0 },
      template(2, 300, '12:4 8:4 4:1 11:2'),
      set(300, concat(ip4('10.9.0.2'), ip4('10.9.0.1'), u8(17), u16(53))),
    )
    const a = connection(concat(withTemplate(22), data(80)), [withTemplate(22).byteLength], 50000)
    const b = connection(bTemplate, [], 50001)
    // A again on the same ports: a new connection (SYN after data) must send its templates again
    const again = connection(data(443), [], 50000, 7)
    const { flows, summary } = await read([
      ...[a[0], a[1], b[0], b[1], a[2], ...again].filter((f) => f !== undefined),
    ])
    expect(flows.map((f) => `${f.src}>${f.dst}:${f.protocol}/${f.dstPort}`)).toEqual([
      '10.1.0.1>10.1.0.2:6/22',
      '10.9.0.1>10.9.0.2:17/53',
      '10.1.0.1>10.1.0.2:6/80',
    ])
    expect(summary.stats.skipped).toEqual({ 'no-template': 1 })
  })

  it('a capture that starts in the middle of a connection reads from the first segment that starts a message', async () => {
    const frames = connection(stream, [50, withTemplate(22).byteLength]).slice(2) // no SYN, no start
    const { flows, summary } = await read(frames)
    // its two data messages are read, without the template the capture missed
    expect(summary.stats.skipped).toEqual({ 'no-template': 2 })
    expect(summary.stats.notes).toMatchObject({ 'capture-not-netflow': 1 })
    expect(flows).toEqual([])
    // two octets that could begin a header, then a message further on: read from the message
    const tail = [
      ipv4(EXPORTER, COLLECTOR, 6, tcp(50003, 4739, 100, Uint8Array.of(0, 10))),
      ipv4(EXPORTER, COLLECTOR, 6, tcp(50003, 4739, 5000, withTemplate(22))),
    ]
    const later = await read(tail)
    expect(ports(later.flows)).toEqual([22])
    expect(later.summary.stats.skipped).toEqual({})
  })

  it('other TCP traffic is not read as IPFIX, even when a segment of it looks like a message', async () => {
    const http = new TextEncoder().encode('GET / HTTP/1.1\r\nHost: example\r\n\r\n')
    const frames = connection(concat(http, withTemplate(22)), [http.byteLength], 50002)
    // the collector's acknowledgement, and the request sent again: still other traffic
    frames.push(
      ipv4(COLLECTOR, EXPORTER, 6, tcp(4739, 50002, 1, new Uint8Array(0), ACK)),
      frames[1] ?? new Uint8Array(0),
    )
    const { flows, summary } = await read(frames)
    expect(flows).toEqual([])
    expect(summary.stats.notes).toEqual({ 'capture-not-netflow': 3 })
    // the same request seen again in a capture that missed the SYN: not a retransmission of IPFIX
    const midway = await read([frames[1] ?? new Uint8Array(0), frames[1] ?? new Uint8Array(0)])
    expect(midway.summary.stats.notes).toEqual({ 'capture-not-netflow': 2 })
    expect(summary.stats.skipped).toEqual({ 'no-netflow-in-capture': 1 })
  })

  it('over IPv6 too', async () => {
    const frames = connection(stream, [17]).map((f) =>
      ipv6('2001:db8::1', '2001:db8::9', 6, f.subarray(20)),
    )
    const { flows, summary } = await read(frames)
    expect(summary.stats.skipped).toEqual({})
    expect(ports(flows)).toEqual([22, 80, 443, 5432])
  })

  it('any order of the segments, with duplicates, gives the flows of the stream in order', async () => {
    const cuts = [5, 16, 33, 60, 97, 130, 150]
    const [syn, ...segments] = connection(stream, cuts)
    if (syn === undefined) throw new Error('a SYN')
    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray(segments, { minLength: segments.length }),
        fc.array(fc.nat(segments.length - 1), { maxLength: 4 }),
        async (order, again) => {
          const frames = [syn, ...order, ...again.map((i) => segments[i] ?? syn)]
          const { flows, summary } = await read(frames)
          expect(summary.stats.skipped).toEqual({})
          expect(ports(flows)).toEqual([22, 80, 443, 5432])
        },
      ),
      { seed: SEED, numRuns: 40 },
    )
  })
})

describe('IPFIX over SCTP in a capture (RFC 7011 §10.3)', () => {
  const frame = (vtag: number, ...chunks: Uint8Array[]) =>
    ipv4(EXPORTER, COLLECTOR, 132, sctp(50000, 4739, vtag, chunks))

  it('reads whole messages of DATA chunks and puts fragmented ones together; a TSN seen again is dropped', async () => {
    const msg = data(80, 443)
    const parts = [msg.subarray(0, 10), msg.subarray(10, 50), msg.subarray(50)]
    const { flows, summary } = await read([
      frame(7, sctpData(1, withTemplate(22))),
      // the last fragment first, then the first two in one packet, then the first again
      frame(7, sctpData(4, parts[2] ?? msg, 1)),
      frame(7, sctpData(2, parts[0] ?? msg, 2), sctpData(3, parts[1] ?? msg, 0)),
      frame(7, sctpData(2, parts[0] ?? msg, 2)),
      frame(7, sctpData(5, data(5432))),
    ])
    expect(summary.stats.skipped).toEqual({})
    expect(summary.stats.notes).toMatchObject({ 'sctp-duplicate': 1 })
    expect(ports(flows)).toEqual([22, 80, 443, 5432])
  })

  it('a multi-homed association that goes on over another address pair keeps its templates', async () => {
    const { flows, summary } = await read([
      frame(7, sctpData(1, withTemplate(22))),
      ipv4('192.0.2.2', '192.0.2.10', 132, sctp(50000, 4739, 7, [sctpData(2, data(80))])),
    ])
    expect(summary.stats.skipped).toEqual({})
    expect(ports(flows)).toEqual([22, 80])
  })

  it('NetFlow v9 export packets over SCTP too (draft-djernaes-netflow-9-transport)', async () => {
    const tpl = v9({ sysUptime: 1000, secs: T0 }, template(0, 256, '8:4 12:4 7:2 11:2 4:1'))
    const rec9 = v9(
      { sysUptime: 2000, secs: T0 + 1 },
      set(256, concat(ip4('10.0.0.1'), ip4('10.0.0.2'), u16(40000), u16(443), u8(6))),
    )
    const { flows, summary } = await read([frame(9, sctpData(1, tpl), sctpData(2, rec9))])
    expect(summary.stats.skipped).toEqual({})
    expect(flows).toEqual([expect.objectContaining({ dst: '10.0.0.2', dstPort: 443 })])
  })

  it('templates per association; a message missing a fragment is sctp-fragment', async () => {
    const msg = data(80)
    const { flows, summary } = await read([
      frame(7, sctpData(1, withTemplate(22))),
      // another association (verification tag) has no template 300
      frame(8, sctpData(1, data(443))),
      frame(7, sctpData(2, msg.subarray(0, 20), 2)),
    ])
    expect(ports(flows)).toEqual([22])
    expect(summary.stats.skipped).toEqual({ 'no-template': 1, 'sctp-fragment': 1 })
  })
})
