/**
 * NetFlow / IPFIX read from packet captures (`tcpdump -w`, Wireshark): libpcap and pcapng
 * containers, link types, the sender as exporter key, packets that are not NetFlow.
 * Layouts: tcpdump.org pcap-savefile(5) and linktypes, draft-ietf-opsawg-pcapng; captures built
 * here (no binary fixtures).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Flow } from '../../src/core/flow.js'
import { DETECT_BYTES, detectFormat } from '../../src/ingest/detect.js'
import { detectNetflow } from '../../src/ingest/formats/netflow.js'
import { CaptureReader } from '../../src/ingest/netflow/pcap.js'
import type { FileSummary } from '../../src/ingest/read.js'
import { tempDir } from '../helpers/files.js'
import { readOne } from '../helpers/flows.js'
import {
  ether,
  ipv4,
  ipv6,
  le16,
  le32,
  pcap,
  sctp,
  sctpData,
  SYN,
  tcp,
  udp,
} from './capture-builders.js'
import { SEED } from '../helpers/model.js'
import {
  concat,
  ip4,
  ipfix,
  tcpRecV4,
  set,
  template,
  TPL_V4,
  u16,
  u32,
  u8,
  v5,
  v9,
} from './netflow-builders.js'
import { CORPUS_SKIP, corpusPath, corpusTitle } from '../helpers/corpora.js'

/**
 * A pcapng section: one interface of link type `link`, then enhanced packet blocks; big-endian
 * unless `littleEndian` (as Wireshark writes it on x86).
 */
function pcapng(link: number, frames: Uint8Array[], littleEndian = false): Uint8Array {
  const w32 = littleEndian ? le32 : u32
  const w16 = littleEndian ? le16 : u16
  const block = (type: number, body: Uint8Array): Uint8Array => {
    const pad = (4 - (body.byteLength % 4)) % 4
    const total = 12 + body.byteLength + pad
    return concat(w32(type), w32(total), body, new Uint8Array(pad), w32(total))
  }
  return concat(
    block(0x0a0d0d0a, concat(w32(0x1a2b3c4d), w16(1), w16(0), u32(0xffffffff), u32(0xffffffff))),
    block(1, concat(w16(link), w16(0), w32(65535))),
    ...frames.map((f) =>
      block(6, concat(w32(0), w32(0), w32(0), w32(f.byteLength), w32(f.byteLength), f)),
    ),
  )
}

const dir = tempDir('bulkhead-pcap')
let n = 0

async function read(bytes: Uint8Array): Promise<{ flows: Flow[]; summary: FileSummary }> {
  const file = join(dir, `capture-${n++}.pcap`)
  writeFileSync(file, bytes)
  return readOne(file)
}

const T0 = 1_700_000_000
const rec = (src: string, dst: string, dp: number) => tcpRecV4(src, dst, dp, T0)

/** A v5 datagram of one flow 10.2.0.1:1234 -> 10.2.0.2:22. */
const v5d = v5({ sysUptime: 10_000, secs: T0 }, [
  {
    src: '10.2.0.1',
    dst: '10.2.0.2',
    srcPort: 1234,
    dstPort: 22,
    protocol: 6,
    packets: 4,
    bytes: 200,
    first: 9000,
    last: 9500,
  },
])

describe('NetFlow / IPFIX in packet captures', () => {
  it('reads v9 from a libpcap file (Ethernet, 802.1Q tag, IPv4), template then data', async () => {
    const tpl = v9({ sysUptime: 1000, secs: T0 }, template(0, 256, '8:4 12:4 7:2 11:2 4:1 2:4 1:4'))
    const data = v9(
      { sysUptime: 2000, secs: T0 + 1 },
      set(
        256,
        concat(ip4('10.0.0.1'), ip4('10.0.0.2'), u16(40000), u16(443), u8(6), u32(5), u32(400)),
      ),
    )
    const frame = (d: Uint8Array) =>
      ether(0x0800, ipv4('192.0.2.1', '192.0.2.9', 17, udp(50000, 2055, d)), [10])
    const { flows, summary } = await read(pcap(1, [frame(tpl), frame(data)]))
    expect(summary.format).toBe('netflow')
    expect(summary.stats.skipped).toEqual({})
    expect(flows).toHaveLength(1)
    expect(flows[0]).toMatchObject({
      src: '10.0.0.1',
      dst: '10.0.0.2',
      dstPort: 443,
      protocol: 6,
      packets: 5,
      bytes: 400,
    })
  })

  it('reads IPFIX from pcapng of either byte order (Linux cooked capture, IPv6 sender)', async () => {
    const msg = ipfix(
      { exportTime: T0 + 1 },
      template(2, 300, TPL_V4),
      set(300, rec('10.1.0.1', '10.1.0.2', 22)),
    )
    const sll = (p: Uint8Array) => concat(u16(0), u16(1), u16(6), new Uint8Array(8), u16(0x86dd), p)
    const frame = sll(ipv6('2001:db8::1', '2001:db8::9', 17, udp(4739, 4739, msg)))
    for (const littleEndian of [false, true]) {
      const { flows, summary } = await read(pcapng(113, [frame], littleEndian))
      expect(summary.format).toBe('netflow')
      expect(summary.stats.skipped).toEqual({})
      expect(flows).toEqual([
        expect.objectContaining({
          src: '10.1.0.1',
          dst: '10.1.0.2',
          dstPort: 22,
          packets: 3,
          bytes: 180,
        }),
      ])
    }
  })

  it('keeps templates per sender: two exporters with the same template id and other layouts', async () => {
    // exporter A: 256 = src, dst, dport, proto; exporter B: 256 = dst, src, proto, dport
    const a = v9(
      { sysUptime: 1000, secs: T0 },
      template(0, 256, '8:4 12:4 11:2 4:1'),
      set(256, concat(ip4('10.0.0.1'), ip4('10.0.0.2'), u16(80), u8(6))),
    )
    const b = v9({ sysUptime: 5000, secs: T0 }, template(0, 256, '12:4 8:4 4:1 11:2'))
    const bData = v9(
      { sysUptime: 6000, secs: T0 + 1 },
      set(256, concat(ip4('10.9.0.2'), ip4('10.9.0.1'), u8(17), u16(53))),
    )
    const aData = v9(
      { sysUptime: 2000, secs: T0 + 1 },
      set(256, concat(ip4('10.0.0.3'), ip4('10.0.0.4'), u16(443), u8(6))),
    )
    const from = (src: string, d: Uint8Array) => ipv4(src, '192.0.2.9', 17, udp(2055, 2055, d))
    const { flows } = await read(
      pcap(101, [
        from('192.0.2.1', a),
        from('192.0.2.2', b),
        from('192.0.2.2', bData),
        from('192.0.2.1', aData),
      ]),
    )
    expect(flows.map((f) => `${f.src}>${f.dst}:${f.protocol}/${f.dstPort}`)).toEqual([
      '10.0.0.1>10.0.0.2:6/80',
      '10.9.0.1>10.9.0.2:17/53',
      '10.0.0.3>10.0.0.4:6/443',
    ])
  })

  it('reassembles fragmented datagrams (IPv4 out of order, IPv6 fragment headers)', async () => {
    // an IPFIX message of 40 records (about 1.5 KB): more than one 1500-octet link MTU
    const records = Array.from({ length: 40 }, (_, i) => rec('10.3.0.1', '10.3.0.2', 1000 + i))
    const msg = ipfix(
      { exportTime: T0 + 1 },
      template(2, 300, TPL_V4),
      set(300, concat(...records)),
    )
    const dgram = udp(4739, 4739, msg)
    const cut = 1208 // a multiple of 8
    const v4 = [
      ipv4('192.0.2.1', '192.0.2.9', 17, dgram.subarray(cut), cut / 8), // last fragment first
      ipv4('192.0.2.1', '192.0.2.9', 17, dgram.subarray(0, cut), 0x2000),
    ]
    const fragHeader = (offset: number, more: boolean) =>
      concat(u8(17), u8(0), u16(offset | (more ? 1 : 0)), u32(0xfeed))
    const v6 = [
      ipv6('2001:db8::1', '2001:db8::9', 44, concat(fragHeader(0, true), dgram.subarray(0, cut))),
      ipv6('2001:db8::1', '2001:db8::9', 44, concat(fragHeader(cut, false), dgram.subarray(cut))),
    ]
    for (const frames of [v4, v6.map((f) => ether(0x86dd, f))]) {
      const { flows, summary } = await read(pcap(frames === v4 ? 101 : 1, frames))
      expect(summary.stats.skipped).toEqual({})
      expect(flows.map((f) => f.dstPort)).toEqual(records.map((_, i) => 1000 + i))
    }
  })

  it('counts packets that are not NetFlow, skips IP fragments and a capture cut short', async () => {
    const frames = [
      ipv4(
        '192.0.2.1',
        '192.0.2.9',
        17,
        udp(53, 5353, new TextEncoder().encode('not a flow record')),
      ),
      ipv4('192.0.2.1', '192.0.2.9', 1, new Uint8Array(20)),
      ipv4('192.0.2.1', '192.0.2.9', 17, udp(2055, 2055, v5d)),
      ipv4('192.0.2.1', '192.0.2.9', 17, udp(2055, 2055, v5d), 0x2000), // MF: first fragment
    ]
    const whole = pcap(101, frames)
    const { flows, summary } = await read(whole.subarray(0, whole.byteLength - 5))
    expect(flows).toEqual([
      expect.objectContaining({ src: '10.2.0.1', dst: '10.2.0.2', dstPort: 22 }),
    ])
    expect(summary.stats.notes).toMatchObject({ 'capture-not-netflow': 1, 'capture-not-udp': 1 })
    expect(summary.stats.skipped).toEqual({ 'bad-capture': 1 })
    const frag = await read(pcap(101, frames))
    expect(frag.summary.stats.skipped).toEqual({ 'ip-fragment': 1 })
  })

  it('detects a capture by its first NetFlow payload, and by its magic number alone', async () => {
    const dns = ipv4('192.0.2.1', '192.0.2.9', 17, udp(53, 5353, new Uint8Array(40).fill(7)))
    expect(
      detectNetflow(pcap(101, [dns, ipv4('192.0.2.1', '192.0.2.9', 17, udp(2055, 2055, v5d))])),
    ).toBeGreaterThanOrEqual(0.9)
    // a capture of other traffic only is still a capture: read whole, it says there is no NetFlow
    const file = join(dir, 'dns.pcap')
    writeFileSync(file, pcap(101, [dns, dns]))
    expect(await detectFormat(file)).toBe('netflow')
    const { flows, summary } = await readOne(file)
    expect(flows).toEqual([])
    expect(summary.stats.notes).toEqual({ 'capture-not-netflow': 2 })
    expect(summary.stats.skipped).toEqual({ 'no-netflow-in-capture': 1 })
  })

  it('finds NetFlow after more than 64 KiB of other traffic (detection sees only the head)', async () => {
    const other = ipv4('192.0.2.1', '192.0.2.9', 17, udp(53, 5353, new Uint8Array(1400).fill(7)))
    const frames = [
      ...Array.from({ length: 60 }, () => other),
      ipv4('192.0.2.1', '192.0.2.9', 17, udp(2055, 2055, v5d)),
    ]
    const bytes = pcap(101, frames)
    expect(bytes.byteLength - 24 - (16 + v5d.byteLength + 28)).toBeGreaterThan(DETECT_BYTES)
    const { flows, summary } = await read(bytes)
    expect(summary.format).toBe('netflow')
    expect(flows).toEqual([
      expect.objectContaining({ src: '10.2.0.1', dst: '10.2.0.2', dstPort: 22 }),
    ])
    expect(summary.stats.skipped).toEqual({})
    expect(summary.stats.notes).toEqual({ 'capture-not-netflow': 60 })
  })
})

const CORPUS = corpusPath('netflow/')

describe.skipIf(CORPUS_SKIP !== undefined)(corpusTitle('corpus datagrams in a capture'), () => {
  it('the Cisco ASA template and data datagrams give the same flows captured as written raw', async () => {
    const files = ['netflow9_test_cisco_asa_1_tpl.dat', 'netflow9_test_cisco_asa_1_data.dat']
    const raw = concat(...files.map((f) => new Uint8Array(readFileSync(CORPUS + f))))
    const captured = pcap(
      1,
      files.map((f) =>
        ether(
          0x0800,
          ipv4(
            '192.0.2.1',
            '192.0.2.9',
            17,
            udp(2055, 2055, new Uint8Array(readFileSync(CORPUS + f))),
          ),
        ),
      ),
    )
    const a = await read(raw)
    const b = await read(captured)
    const strip = (fs: Flow[]) => fs.map((f) => ({ ...f, source: undefined }))
    expect(a.flows.length).toBeGreaterThan(0)
    expect(strip(b.flows)).toEqual(strip(a.flows))
  })
})

describe('damaged captures', () => {
  it('never throws: any octets overwritten, and any cut, in libpcap and pcapng files', () => {
    const msg = ipfix(
      { exportTime: T0 + 1 },
      template(2, 300, TPL_V4),
      set(300, rec('10.1.0.1', '10.1.0.2', 22)),
    )
    const frames = [
      ether(0x0800, ipv4('192.0.2.1', '192.0.2.9', 17, udp(4739, 4739, msg)), [5, 6]),
      ether(0x86dd, ipv6('2001:db8::1', '2001:db8::9', 17, udp(4739, 4739, msg))),
      // over TCP (a SYN, the message in two segments) and SCTP (in two DATA chunks)
      ether(0x0800, ipv4('192.0.2.1', '192.0.2.9', 6, tcp(1, 4739, 9, new Uint8Array(0), SYN))),
      ether(0x0800, ipv4('192.0.2.1', '192.0.2.9', 6, tcp(1, 4739, 10, msg.subarray(0, 9)))),
      ether(0x0800, ipv4('192.0.2.1', '192.0.2.9', 6, tcp(1, 4739, 19, msg.subarray(9)))),
      ether(
        0x0800,
        ipv4(
          '192.0.2.1',
          '192.0.2.9',
          132,
          sctp(1, 4739, 5, [sctpData(1, msg.subarray(0, 30), 2), sctpData(2, msg.subarray(30), 1)]),
        ),
      ),
    ]
    const captures = [pcap(1, frames), pcapng(1, frames)]
    // undamaged, each of the four packets' transports gives the message once
    for (const c of captures) {
      const reader = new CaptureReader()
      const got = [...reader.push(c), ...reader.end()]
      expect(got.map((p) => (p.kind === 'message' ? p.transport : p.kind))).toEqual([
        'udp',
        'udp',
        'tcp',
        'sctp',
      ])
    }
    fc.assert(
      fc.property(
        fc.constantFrom(...captures),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(),
        (base, edits, cut) => {
          const b = base.slice(0, 24 + (cut % (base.byteLength - 23)))
          for (const [at, v] of edits) b[at % b.byteLength] = v
          const reader = new CaptureReader()
          const got = [
            ...reader.push(b.subarray(0, 7)),
            ...reader.push(b.subarray(7)),
            ...reader.end(),
          ]
          for (const p of got)
            if (p.kind === 'message') expect(p.bytes.byteLength).toBeLessThan(b.byteLength)
          expect(detectNetflow(b)).toBeGreaterThanOrEqual(0)
        },
      ),
      { seed: SEED, numRuns: 400 },
    )
  })
})
