/**
 * NetFlow v9 / IPFIX exporter quirks beyond the corpus: templates shaped as other exporters
 * build them, decoded field by field.
 */
import { describe, expect, it } from 'vitest'
import { NetflowDecoder } from '../../src/ingest/netflow/decoder.js'
import {
  concat,
  ip4,
  ip6,
  ipfix,
  set,
  template,
  u16,
  u32,
  u64,
  u8,
  v9,
} from './netflow-builders.js'

const META = { exporter: '192.0.2.1', file: 'f', record: 0 }

describe('dual-stack templates', () => {
  // nProbe: one template holding both `%IPV4_SRC_ADDR %IPV4_DST_ADDR` and
  // `%IPV6_SRC_ADDR %IPV6_DST_ADDR` (https://www.ntop.org/guides/nprobe/flow_information_elements.html);
  // an IPv6 flow has 0.0.0.0 in the IPv4 fields. RFC 3954 §8: IP_PROTOCOL_VERSION (60).
  const fields = [
    [8, 4],
    [12, 4],
    [27, 16],
    [28, 16],
    [7, 2],
    [11, 2],
    [4, 1],
    [2, 4],
    [1, 4],
    [22, 4],
    [21, 4],
  ] as const
  const tpl = template(0, 300, fields)
  const rec = (a4: string, b4: string, a6: string, b6: string): Uint8Array =>
    concat(
      ip4(a4),
      ip4(b4),
      ip6(a6),
      ip6(b6),
      u16(40000),
      u16(443),
      u8(6),
      u32(3),
      u32(300),
      u32(9000),
      u32(9500),
    )

  it('an IPv6 flow (IPv4 fields zero) reads the IPv6 pair; an IPv4 flow the IPv4 pair', () => {
    const d = new NetflowDecoder()
    const r = d.decode(
      v9(
        { sysUptime: 10_000, secs: 1_700_000_000 },
        tpl,
        set(
          300,
          concat(
            rec('0.0.0.0', '0.0.0.0', '2001:db8::1', '2001:db8::2'),
            rec('10.1.1.1', '10.1.1.2', '::', '::'),
          ),
        ),
      ),
      META,
    )
    expect(r.problems).toEqual([])
    expect(r.flows).toHaveLength(2)
    expect(r.flows[0]).toMatchObject({
      src: '2001:db8::1',
      dst: '2001:db8::2',
      srcPort: 40000,
      dstPort: 443,
      protocol: 6,
      packets: 3,
      bytes: 300,
      start: 1_700_000_000_000 - 1000,
      end: 1_700_000_000_000 - 500,
    })
    expect(r.flows[1]).toMatchObject({ src: '10.1.1.1', dst: '10.1.1.2' })
  })

  it('ipVersion (60) decides when present', () => {
    const d = new NetflowDecoder()
    const t = template(0, 301, [[60, 1], ...fields])
    const r = d.decode(
      v9(
        { sysUptime: 10_000, secs: 1_700_000_000 },
        t,
        set(
          301,
          concat(
            u8(6),
            rec('0.0.0.0', '0.0.0.0', '2001:db8::1', '2001:db8::2'),
            u8(4),
            rec('0.0.0.0', '10.1.1.2', '2001:db8::1', '2001:db8::2'),
          ),
        ),
      ),
      META,
    )
    expect(r.flows.map((f) => `${f.src}>${f.dst}`)).toEqual([
      '2001:db8::1>2001:db8::2',
      '0.0.0.0>10.1.1.2',
    ])
  })
})

describe('IPFIX time and counter elements (IANA IPFIX registry, RFC 7011 §6, RFC 5102)', () => {
  it('flowStart/EndDeltaMicroseconds (158/159) are before the export time', () => {
    const d = new NetflowDecoder()
    const t = template(2, 400, '8:4 12:4 7:2 11:2 4:1 2:8 1:8 158:4 159:4')
    const r = d.decode(
      ipfix(
        { exportTime: 1_700_000_000 },
        t,
        set(
          400,
          concat(
            ip4('10.0.0.1'),
            ip4('10.0.0.2'),
            u16(5353),
            u16(53),
            u8(17),
            u64(1),
            u64(100),
            u32(5_000_000),
            u32(1_000_000),
          ),
        ),
      ),
      META,
    )
    expect(r.flows[0]).toMatchObject({
      start: 1_700_000_000_000 - 5000,
      end: 1_700_000_000_000 - 1000,
      packets: 1,
      bytes: 100,
      protocol: 17,
      dstPort: 53,
    })
  })

  it('flowDurationMilliseconds (161) gives the end; post counters (23/24, v9 OUT_BYTES/OUT_PKTS) alone are read', () => {
    const d = new NetflowDecoder()
    const t = template(2, 401, '8:4 12:4 7:2 11:2 4:1 24:8 23:8 152:8 161:4')
    const r = d.decode(
      ipfix(
        { exportTime: 1_700_000_010 },
        t,
        set(
          401,
          concat(
            ip4('10.0.0.1'),
            ip4('10.0.0.2'),
            u16(1234),
            u16(80),
            u8(6),
            u64(7),
            u64(700),
            u64(1_700_000_000_000),
            u32(2500),
          ),
        ),
      ),
      META,
    )
    expect(r.flows[0]).toMatchObject({
      start: 1_700_000_000_000,
      end: 1_700_000_002_500,
      packets: 7,
      bytes: 700,
    })
  })

  it('flowDurationMicroseconds (162) with flowStartSeconds (150)', () => {
    const d = new NetflowDecoder()
    const t = template(2, 402, '8:4 12:4 4:1 150:4 162:4')
    const r = d.decode(
      ipfix(
        { exportTime: 1_700_000_010 },
        t,
        set(
          402,
          concat(ip4('10.0.0.1'), ip4('10.0.0.2'), u8(47), u32(1_700_000_000), u32(1_500_000)),
        ),
      ),
      META,
    )
    expect(r.flows[0]).toMatchObject({
      protocol: 47,
      start: 1_700_000_000_000,
      end: 1_700_000_001_500,
    })
  })

  it('a duration with an end and no start gives the start (153 + 161, 151 + 162)', () => {
    const d = new NetflowDecoder()
    const r = d.decode(
      ipfix(
        { exportTime: 1_700_000_010 },
        template(2, 403, '8:4 12:4 4:1 153:8 161:4'),
        template(2, 404, '8:4 12:4 4:1 151:4 162:4'),
        set(
          403,
          concat(ip4('10.0.0.1'), ip4('10.0.0.2'), u8(47), u64(1_700_000_009_000), u32(3000)),
        ),
        set(
          404,
          concat(ip4('10.0.0.1'), ip4('10.0.0.3'), u8(47), u32(1_700_000_009), u32(2_500_000)),
        ),
      ),
      META,
    )
    expect(r.flows.map((f) => [f.dst, f.start, f.end])).toEqual([
      ['10.0.0.2', 1_700_000_006_000, 1_700_000_009_000],
      ['10.0.0.3', 1_700_000_006_500, 1_700_000_009_000],
    ])
  })
})

describe('SonicWall IPFIX (sysUptime-relative times, postNAT fields, large observation domain)', () => {
  // Template and values as in logstash-plugins/logstash-codec-netflow
  // spec/codecs/benchmarks/ipfix_bench_sonicwall.py (its Wireshark decode), addresses rewritten:
  // BYTES, PKTS, PROTOCOL, IP_SRC_ADDR, L4_SRC_PORT, INPUT_SNMP, L4_DST_PORT, IP_DST_ADDR,
  // OUTPUT_SNMP, IP_NEXT_HOP, LAST_SWITCHED, FIRST_SWITCHED, postNAT src/dst address and port.
  const fields = [
    [1, 4],
    [2, 4],
    [4, 1],
    [8, 4],
    [7, 2],
    [10, 4],
    [11, 2],
    [12, 4],
    [14, 4],
    [15, 4],
    [21, 4],
    [22, 4],
    [225, 4],
    [226, 4],
    [227, 2],
    [228, 2],
  ] as const
  const rec = (r: {
    bytes: number
    pkts: number
    proto: number
    src: string
    sp: number
    dp: number
    dst: string
    last: number
    first: number
  }): Uint8Array =>
    concat(
      u32(r.bytes),
      u32(r.pkts),
      u8(r.proto),
      ip4(r.src),
      u16(r.sp),
      u32(2),
      u16(r.dp),
      ip4(r.dst),
      u32(1),
      ip4('10.0.0.1'),
      u32(r.last),
      u32(r.first),
      ip4(r.src),
      ip4('192.0.2.65'),
      u16(r.sp),
      u16(56681),
    )

  it('counters, ports and protocol as the exporter sent them; times anchored at the export time', () => {
    const d = new NetflowDecoder()
    const domain = 2692647936
    const tpl = d.decode(ipfix({ exportTime: 1533760066, domain }, template(2, 256, fields)), META)
    expect(tpl.problems).toEqual([])
    const r = d.decode(
      ipfix(
        { exportTime: 1533773509, domain },
        set(
          256,
          concat(
            rec({
              bytes: 1103002,
              pkts: 762,
              proto: 6,
              src: '198.51.100.37',
              sp: 443,
              dp: 41769,
              dst: '10.0.0.237',
              last: 14_605_000,
              first: 14_597_000,
            }),
            rec({
              bytes: 157,
              pkts: 1,
              proto: 17,
              src: '198.51.100.75',
              sp: 53,
              dp: 8748,
              dst: '10.0.0.237',
              last: 14_578_000,
              first: 14_578_000,
            }),
          ),
        ),
      ),
      META,
    )
    expect(r.problems).toEqual([])
    expect(r.flows).toHaveLength(2)
    const { source: _s, ...first } = r.flows[0] ?? { source: undefined }
    expect(first).toEqual({
      src: '198.51.100.37',
      dst: '10.0.0.237',
      srcPort: 443,
      dstPort: 41769,
      protocol: 6,
      // no systemInitTimeMilliseconds: the end is the export time, the start 8 s before it
      start: 1533773509000 - 8000,
      end: 1533773509000,
      packets: 762,
      bytes: 1103002,
      observedAction: 'unknown',
      direction: 'unknown',
    })
    expect(r.flows[1]).toMatchObject({
      protocol: 17,
      srcPort: 53,
      dstPort: 8748,
      packets: 1,
      bytes: 157,
    })
  })
})
