/**
 * NetFlow v1 and v7 (src/ingest/netflow/fixed.ts): decoding and the collector (framing in files
 * and detection: netflow-parser.test.ts). Fixtures are built byte by byte (netflow-builders.ts).
 */
import { describe, expect, it } from 'vitest'
import type { Flow } from '../../src/core/flow.js'
import { NetflowDecoder, type DecodeResult } from '../../src/ingest/netflow/decoder.js'
import { collectOver } from './collect-helper.js'
import { v1, v5, v7, type V5Record } from './netflow-builders.js'

const META = { exporter: '192.0.2.1', file: 'udp://192.0.2.1:2055', record: 3 }
const T0 = 1_700_000_000_000

function problems(r: DecodeResult): string[] {
  return r.problems.map((p) => `${p.kind}:${p.reason}${p.count === undefined ? '' : `=${p.count}`}`)
}

const TCP: V5Record = {
  src: '192.0.2.10',
  dst: '198.51.100.20',
  srcPort: 51000,
  dstPort: 443,
  protocol: 6,
  packets: 12,
  bytes: 4800,
  first: 3000,
  last: 9000,
  tcpFlags: 0x1b,
}
const ECHO_REPLY: V5Record = {
  src: '198.51.100.20',
  dst: '192.0.2.10',
  srcPort: 0,
  dstPort: 0x0000, // ICMP type 0 (echo reply), code 0, as type·256+code
  protocol: 1,
  packets: 1,
  bytes: 84,
  first: 9500,
  last: 9500,
}
const UNREACHABLE: V5Record = {
  ...ECHO_REPLY,
  dstPort: 0x0303, // type 3 (destination unreachable), code 3 (port unreachable)
  packets: 2,
  bytes: 140,
}
const DNS: V5Record = {
  src: '192.0.2.10',
  dst: '198.51.100.53',
  srcPort: 5353,
  dstPort: 53,
  protocol: 17,
  packets: 1,
  bytes: 71,
  first: 9900,
  last: 9900,
  tcpFlags: 0x12, // not TCP: not kept
}

describe('NetFlow v1', () => {
  // export time: 1_700_000_000 s + 250 ms, when SysUptime was 10 000 ms
  const H = { sysUptime: 10_000, secs: 1_700_000_000, nsecs: 250_000_000 }

  it('decodes every field of its 48-octet records, times from SysUptime as v5', () => {
    const r = new NetflowDecoder().decode(v1(H, [TCP, ECHO_REPLY, UNREACHABLE, DNS]), META)
    expect(problems(r)).toEqual([])
    const base = {
      observedAction: 'unknown',
      direction: 'unknown',
      source: { format: 'netflow-v1', file: META.file, record: 3 },
    } as const
    expect(r.flows).toEqual<Flow[]>([
      {
        ...base,
        src: '192.0.2.10',
        dst: '198.51.100.20',
        srcPort: 51000,
        dstPort: 443,
        protocol: 6,
        // start = export − (10 000 − 3 000), end = export − (10 000 − 9 000)
        start: T0 + 250 - 7000,
        end: T0 + 250 - 1000,
        packets: 12,
        bytes: 4800,
        tcpFlags: 0x1b, // octet 40 in v1 (37 in v5 and v7)
      },
      {
        ...base,
        src: '198.51.100.20',
        dst: '192.0.2.10',
        srcPort: 0,
        dstPort: 0,
        protocol: 1,
        start: T0 + 250 - 500,
        end: T0 + 250 - 500,
        packets: 1,
        bytes: 84,
        // a 0 in the destination port is type 0, echo reply, as in v5: the reply half
        direction: 'server-to-client',
      },
      {
        ...base,
        src: '198.51.100.20',
        dst: '192.0.2.10',
        srcPort: 3,
        dstPort: 3,
        protocol: 1,
        start: T0 + 250 - 500,
        end: T0 + 250 - 500,
        packets: 2,
        bytes: 140,
      },
      {
        ...base,
        src: '192.0.2.10',
        dst: '198.51.100.53',
        srcPort: 5353,
        dstPort: 53,
        protocol: 17,
        start: T0 + 250 - 100,
        end: T0 + 250 - 100,
        packets: 1,
        bytes: 71,
      },
    ])
  })

  it('copes with SysUptime wrap-around as v5 does', () => {
    const r = new NetflowDecoder().decode(
      v1({ sysUptime: 1000, secs: 1_700_000_000 }, [{ ...DNS, first: 0xfffff000, last: 500 }]),
      META,
    )
    expect(r.flows[0]).toMatchObject({ start: T0 - 5096, end: T0 - 500 })
  })

  it('a datagram cut short, or whose count disagrees with its length, is one bad-length and no flows', () => {
    const d = new NetflowDecoder()
    const whole = v1(H, [TCP, DNS])
    for (const bad of [
      whole.subarray(0, whole.byteLength - 10), // cut short
      whole.subarray(0, 16 + 48), // one record of two
      v1({ ...H, count: 3 }, [TCP, DNS]), // count above the records sent
      v1({ ...H, count: 1 }, [TCP, DNS]), // count below
      whole.subarray(0, 10), // not even a header
    ]) {
      const r = d.decode(bad, META)
      expect(r.flows).toEqual([])
      expect(problems(r)).toEqual(['skip:bad-length'])
    }
  })

  it('has no sequence numbers: the collector notes no losses for it', () => {
    const d = new NetflowDecoder({}, { sequenceGaps: true })
    expect(problems(d.decode(v1(H, [TCP]), META))).toEqual([])
    expect(problems(d.decode(v1(H, [TCP, DNS]), META))).toEqual([])
  })
})

describe('NetFlow v7 (Catalyst MLS)', () => {
  // export time: 1_700_000_100 s, when SysUptime was 500 000 ms
  const H = { sysUptime: 500_000, secs: 1_700_000_100, sequence: 1000 }
  const ORACLE: V5Record = {
    src: '10.1.1.5',
    dst: '10.2.2.9',
    srcPort: 33000,
    dstPort: 1521,
    protocol: 6,
    packets: 7,
    bytes: 900,
    first: 480_000,
    last: 499_000,
    tcpFlags: 0, // the PFC exports no TCP flags
    flowMask: 0x03,
    routerSc: '10.0.0.1',
  }
  const ECHO: V5Record = {
    ...ORACLE,
    srcPort: 0,
    dstPort: 0x0800, // echo request
    protocol: 1,
    packets: 4,
    bytes: 336,
    first: 490_000,
    last: 493_000,
  }
  // the default destination flow mask: no source address, ports or protocol
  const DESTINATION_ONLY: V5Record = {
    ...ORACLE,
    src: '0.0.0.0',
    srcPort: 0,
    dstPort: 0,
    protocol: 0,
    flowMask: 0x01,
  }

  it('decodes its 52-octet records (v5 layout, router_sc at the end)', () => {
    const r = new NetflowDecoder().decode(v7(H, [ORACLE, ECHO]), META)
    expect(problems(r)).toEqual([])
    const source = { format: 'netflow-v7', file: META.file, record: 3 }
    const exportMs = T0 + 100_000
    expect(r.flows).toEqual<Flow[]>([
      {
        src: '10.1.1.5',
        dst: '10.2.2.9',
        srcPort: 33000,
        dstPort: 1521,
        protocol: 6,
        start: exportMs - 20_000,
        end: exportMs - 1000,
        packets: 7,
        bytes: 900,
        observedAction: 'unknown',
        direction: 'unknown',
        tcpFlags: 0,
        source,
      },
      {
        src: '10.1.1.5',
        dst: '10.2.2.9',
        srcPort: 0,
        dstPort: 8,
        protocol: 1,
        start: exportMs - 10_000,
        end: exportMs - 7000,
        packets: 4,
        bytes: 336,
        observedAction: 'unknown',
        direction: 'unknown',
        source,
      },
    ])
  })

  it('skips a record whose protocol the flow mask left out (no-protocol), keeping the others', () => {
    const r = new NetflowDecoder().decode(
      v7(H, [DESTINATION_ONLY, ORACLE, { ...ORACLE, srcPort: 0, dstPort: 0, protocol: 0 }]),
      META,
    )
    expect(r.flows.map((f) => `${f.src}:${f.srcPort} -> ${f.dst}:${f.dstPort}`)).toEqual([
      '10.1.1.5:33000 -> 10.2.2.9:1521',
    ])
    expect(problems(r)).toEqual(['skip:no-protocol', 'skip:no-protocol'])
    expect(r.problems[0]).toMatchObject({ file: META.file, record: 3 })
    // v1 and v5 have no flow mask: protocol 0 stays a flow, as v5 always read it
    for (const dg of [v1(H, [DESTINATION_ONLY]), v5(H, [DESTINATION_ONLY])]) {
      expect(new NetflowDecoder().decode(dg, META).flows).toMatchObject([{ protocol: 0 }])
    }
  })

  it('a datagram cut short, or whose count disagrees with its length, is one bad-length and no flows', () => {
    const d = new NetflowDecoder()
    const whole = v7(H, [ORACLE, ECHO])
    for (const bad of [
      whole.subarray(0, whole.byteLength - 4), // router_sc of the last record cut
      v7({ ...H, count: 3 }, [ORACLE, ECHO]),
      v7({ ...H, count: 1 }, [ORACLE, ECHO]),
      // 12 records of 52 octets are 13 of v5's 48: the version word decides the layout
      v7(H, Array<V5Record>(12).fill(ORACLE)).subarray(0, 24 + 48 * 12),
    ]) {
      const r = d.decode(bad, META)
      expect(r.flows).toEqual([])
      expect(problems(r)).toEqual(['skip:bad-length'])
    }
    expect(d.decode(v7(H, Array<V5Record>(12).fill(ORACLE)), META).flows).toHaveLength(12)
  })

  it('counts records its flow_sequence shows missing, per exporter, as v5 does', () => {
    const d = new NetflowDecoder({}, { sequenceGaps: true })
    expect(problems(d.decode(v7({ ...H, sequence: 10 }, [ORACLE, ECHO]), META))).toEqual([])
    expect(problems(d.decode(v7({ ...H, sequence: 12 }, [ORACLE]), META))).toEqual([])
    expect(problems(d.decode(v7({ ...H, sequence: 20 }, [ORACLE]), META))).toEqual([
      'note:lost-records=7',
    ])
    // v5's counter of the same exporter is another counter
    expect(problems(d.decode(v5({ ...H, sequence: 500 }, [ORACLE]), META))).toEqual([])
    expect(problems(d.decode(v7({ ...H, sequence: 21 }, [ORACLE]), META))).toEqual([])
  })
})

describe('v1 and v7 through the UDP collector', () => {
  it('decodes them as a file read does, and counts v7 records missing by flow_sequence', async () => {
    const H = { sysUptime: 10_000, secs: 1_700_000_000 }
    const { flows, collector: c } = await collectOver(
      [
        v1(H, [TCP]),
        v7({ ...H, sequence: 0 }, [{ ...DNS, srcPort: 40000 }]),
        v7({ ...H, sequence: 5 }, [{ ...DNS, srcPort: 40001 }]),
      ],
      3,
    )
    expect(flows.map((f) => [f.source.format, f.source.record, f.src, f.dstPort])).toEqual([
      ['netflow-v1', 0, '192.0.2.10', 443],
      ['netflow-v7', 1, '192.0.2.10', 53],
      ['netflow-v7', 2, '192.0.2.10', 53],
    ])
    expect(flows[0]).toMatchObject({ start: T0 - 7000, end: T0 - 1000, packets: 12, bytes: 4800 })
    expect(c.stats.skipped).toEqual({})
    expect(c.stats.notes['lost-records']).toBe(4)
  })
})

describe('ICMP type and code as fprobe writes them (v5)', () => {
  const H = { sysUptime: 10_000, secs: 1_700_000_000 }
  // what fprobe 1.1 (Debian 12) sent for `ping` on a veth, read with tshark: the request with
  // srcport 8, dstport 0; the reply with 0 and 0 (nfdump 1.7 prints them 8.0 and 0.0)
  const REQUEST: V5Record = {
    ...ECHO_REPLY,
    src: '192.0.2.10',
    dst: '198.51.100.20',
    srcPort: 8, // type 8 (echo request)
    dstPort: 0, // code 0
  }
  const PORT_UNREACHABLE: V5Record = { ...ECHO_REPLY, srcPort: 3, dstPort: 3 }

  it('reads a type in the source port and a code in the destination port', () => {
    const r = new NetflowDecoder().decode(v5(H, [REQUEST, ECHO_REPLY, PORT_UNREACHABLE]), META)
    expect(problems(r)).toEqual([])
    expect(r.flows.map((f) => [f.src, f.dstPort, f.srcPort])).toEqual([
      ['192.0.2.10', 8, 0],
      ['198.51.100.20', 0, 0],
      ['198.51.100.20', 3, 3],
    ])
  })

  it('keeps reading type·256+code in the destination port when the source port is 0 (Cisco)', () => {
    const cisco: V5Record = { ...REQUEST, srcPort: 0, dstPort: 0x0800 }
    const r = new NetflowDecoder().decode(v5(H, [cisco, UNREACHABLE]), META)
    expect(r.flows.map((f) => [f.dstPort, f.srcPort])).toEqual([
      [8, 0],
      [3, 3],
    ])
  })
})
