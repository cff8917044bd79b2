/**
 * YAF's TCP flags (CERT PEN 6871: initialTCPFlags 14, unionTCPFlags 15, their reverses 16398 /
 * 16399) sent inside an RFC 6313 subTemplateMultiList (293) or subTemplateList (292) of each
 * record, as YAF 2.x exports them, or as plain elements: hand-built IPFIX messages, each
 * expected flow worked out by hand from the records.
 */
import { describe, expect, it } from 'vitest'
import type { Flow } from '../../src/core/index.js'
import { NetflowDecoder, type DatagramMeta } from '../../src/ingest/netflow/decoder.js'
import { readAsFile } from '../helpers/files.js'
import { concat, ip4, ipfix, set, template, u16, u32, u64, u8 } from './netflow-builders.js'

const SECS = 1_700_000_000
const T0 = SECS * 1000 - 30_000
const META: DatagramMeta = { exporter: 'test', file: 'yaf.ipfix', record: 0 }

/** YAF's TCP sub-template (as `yaf_tcp_t`): sequence number, initial and union flags. */
const TCP_SUB = template(2, 49155, '184:4 14:1:6871 15:1:6871')
/** The biflow one: the same plus the reverse flags (CERT's reverse bit 0x4000). */
const TCP_SUB_BIFLOW = template(2, 49171, '184:4 14:1:6871 15:1:6871 16398:1:6871 16399:1:6871')
/** A uniflow record: times, octets, packets, addresses, ports, protocol, then the list. */
const UNIFLOW = template(2, 45825, '152:8 153:8 85:4 86:4 8:4 12:4 7:2 11:2 4:1 293:65535')
/** A biflow record: the same with RFC 5103 reverse counters, then the list. */
const BIFLOW = template(
  2,
  45826,
  '152:8 153:8 85:4 86:4 85:4:29305 86:4:29305 8:4 12:4 7:2 11:2 4:1 293:65535',
)

/** A subTemplateMultiList value (variable length, 1-octet form): semantic 3, one entry. */
function multiList(tid: number, record: Uint8Array): Uint8Array {
  const entry = concat(u16(tid), u16(record.byteLength + 4), record)
  return concat(u8(1 + entry.byteLength), u8(3), entry)
}

function uniflow(
  src: string,
  sp: number,
  dst: string,
  dp: number,
  pkts: number,
  octets: number,
  initial: number,
  union: number,
): Uint8Array {
  return concat(
    u64(T0),
    u64(T0 + 500),
    u32(octets),
    u32(pkts),
    ip4(src),
    ip4(dst),
    u16(sp),
    u16(dp),
    u8(6),
    multiList(49155, concat(u32(1234), u8(initial), u8(union))),
  )
}

describe('YAF TCP flags in a subTemplateMultiList', () => {
  it('the first packet names the client: SYN from 10.0.0.1:8080, SYN+ACK from 10.0.0.2:40000', async () => {
    // a client on 8080 (a server port) talking to 40000 (ephemeral): ports alone would make
    // 10.0.0.1 the server. The flags say otherwise: 10.0.0.1's first packet is a SYN (0x02), then
    // ACK|PSH|FIN (0x19); 10.0.0.2's is SYN+ACK (0x12). By hand: one flow 10.0.0.1:8080 →
    // 10.0.0.2:40000, 3 + 2 packets, 180 + 900 octets, flags 0x02|0x19|0x12|0x19 = 0x1b,
    // client-to-server.
    const msg = ipfix(
      { exportTime: SECS },
      TCP_SUB,
      UNIFLOW,
      set(
        45825,
        concat(
          uniflow('10.0.0.1', 8080, '10.0.0.2', 40000, 3, 180, 0x02, 0x19),
          uniflow('10.0.0.2', 40000, '10.0.0.1', 8080, 2, 900, 0x12, 0x19),
        ),
      ),
    )
    const { flows, summary } = await readAsFile(msg, { name: 'yaf.ipfix' })
    expect(flows.map((f) => [f.src, f.srcPort, f.dst, f.dstPort, f.packets, f.bytes])).toEqual([
      ['10.0.0.1', 8080, '10.0.0.2', 40000, 5, 1080],
    ])
    expect(flows[0]).toMatchObject({ tcpFlags: 0x1b, direction: 'client-to-server' })
    expect(summary.stats.notes['paired-directions']).toBe(1)
  })

  it('a biflow whose reverse direction opened with a reset was refused (reject), as Zeek REJ', () => {
    // forward: SYN (0x02), one packet; reverse: RST|ACK (0x14), one packet → reject, noted
    // refused-by-reset. A second biflow answered SYN+ACK (0x12) stays unknown.
    const rec = (sp: number, reverseInitial: number): Uint8Array =>
      concat(
        u64(T0),
        u64(T0 + 1),
        u32(60),
        u32(1),
        u32(40),
        u32(1),
        ip4('10.0.0.5'),
        ip4('10.0.0.9'),
        u16(sp),
        u16(5432),
        u8(6),
        multiList(49171, concat(u32(1), u8(0x02), u8(0), u8(reverseInitial), u8(0))),
      )
    const d = new NetflowDecoder()
    const r = d.decode(
      ipfix(
        { exportTime: SECS },
        TCP_SUB_BIFLOW,
        BIFLOW,
        set(45826, concat(rec(50000, 0x14), rec(50001, 0x12))),
      ),
      META,
    )
    expect(
      r.flows.map((f) => [f.srcPort, f.observedAction, f.direction, f.tcpFlags, f.packets]),
    ).toEqual([
      [50000, 'reject', 'client-to-server', 0x16, 2],
      [50001, 'unknown', 'client-to-server', 0x12, 2],
    ])
    expect(r.problems.filter((p) => p.reason === 'refused-by-reset')).toHaveLength(1)
  })

  it('reads a subTemplateList (292) and plain CERT elements too; a broken list adds nothing', () => {
    // template 300: addresses, ports, protocol, a subTemplateList of 49155 records; template 301
    // the flags as plain elements. Record 3's list claims an entry longer than the list: its flow
    // is read without flags (ports 50000 → 22 still orient it), nothing is skipped.
    const d = new NetflowDecoder()
    const head = (sp: number, dp: number): Uint8Array =>
      concat(ip4('10.0.0.1'), ip4('10.0.0.2'), u16(sp), u16(dp), u8(6))
    const subList = concat(u8(7 + 2), u8(3), u16(49155), u32(7), u8(0x12), u8(0x10))
    const broken = concat(u8(6), u8(3), u16(49155), u16(40), u8(0))
    const r = d.decode(
      ipfix(
        { exportTime: SECS },
        TCP_SUB,
        template(2, 300, '8:4 12:4 7:2 11:2 4:1 292:65535'),
        template(2, 301, '8:4 12:4 7:2 11:2 4:1 14:1:6871 15:1:6871'),
        set(300, concat(head(22, 50000), subList)),
        set(301, concat(head(40000, 8080), u8(0x02), u8(0x18))),
        set(300, concat(head(50000, 22), broken)),
      ),
      META,
    )
    expect(r.problems.filter((p) => p.kind === 'skip')).toEqual([])
    expect(r.flows.map((f) => [f.srcPort, f.direction, f.tcpFlags])).toEqual([
      [22, 'server-to-client', 0x12],
      [40000, 'client-to-server', 0x1a],
      [50000, 'unknown', undefined],
    ])
  })

  it('notes a record whose list names a template not yet received (its flags are lost)', () => {
    // the data arrives before YAF's TCP sub-template 49155: the record is read from its own
    // fields (ports 40000 → 8080 leave the direction unknown, no flags), nothing is skipped, and
    // one note says why. The same record once the sub-template has arrived has its flags.
    const d = new NetflowDecoder()
    const rec = uniflow('10.0.0.1', 40000, '10.0.0.2', 8080, 1, 60, 0x02, 0x02)
    const before = d.decode(ipfix({ exportTime: SECS }, UNIFLOW, set(45825, rec)), META)
    expect(before.problems.map((p) => [p.kind, p.reason])).toEqual([
      ['note', 'unknown-sub-template'],
    ])
    expect(before.flows.map((f) => [f.srcPort, f.direction, f.tcpFlags])).toEqual([
      [40000, 'unknown', undefined],
    ])
    // a record of one direction, as any other: reading may pair it with its reply
    expect(before.halves.has(before.flows[0] as Flow)).toBe(true)
    const after = d.decode(ipfix({ exportTime: SECS }, TCP_SUB, set(45825, rec)), META)
    expect(after.problems).toEqual([])
    expect(after.flows.map((f) => [f.srcPort, f.direction, f.tcpFlags])).toEqual([
      [40000, 'client-to-server', 0x02],
    ])
  })
})
