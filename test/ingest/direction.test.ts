import { describe, it, expect } from 'vitest'
import type { Flow } from '../../src/core/index.js'
import { orient, pairDirections } from '../../src/ingest/direction.js'
import { readAsFile } from '../helpers/files.js'
import { concat, ip4, ipfix, set, template, u16, u64, u8, v5 } from './netflow-builders.js'

function flow(p: Partial<Flow>): Flow {
  return {
    src: '10.0.0.1',
    dst: '10.0.0.2',
    srcPort: 40000,
    dstPort: 443,
    protocol: 6,
    start: 1000,
    end: 2000,
    packets: 1,
    bytes: 100,
    observedAction: 'accept',
    direction: 'unknown',
    source: { format: 'aws-vpc', file: 'f', line: 1 },
    ...p,
  }
}

async function collect(fs: Flow[], window?: number): Promise<{ out: Flow[]; paired: number }> {
  let paired = 0
  async function* gen(): AsyncGenerator<Flow> {
    yield* fs
  }
  const out: Flow[] = []
  for await (const f of pairDirections(gen(), {
    ...(window !== undefined ? { window } : {}),
    onPaired: () => paired++,
  }))
    out.push(f)
  return { out, paired }
}

describe('orient', () => {
  it('TCP flags: SYN without ACK keeps, SYN+ACK swaps, even against the ports', () => {
    // SYN from a low port to a high port: flags win over ports
    expect(orient(flow({ srcPort: 443, dstPort: 50000, tcpFlags: 2 }))).toMatchObject({
      src: '10.0.0.1',
      srcPort: 443,
      direction: 'client-to-server',
    })
    expect(orient(flow({ srcPort: 50000, dstPort: 443, tcpFlags: 18 }))).toMatchObject({
      src: '10.0.0.2',
      srcPort: 443,
      dst: '10.0.0.1',
      dstPort: 50000,
      direction: 'client-to-server',
    })
  })

  it('NetFlow/IPFIX flags are the OR of the record: SYN+ACK is no evidence, the ports decide', async () => {
    // a v5 datagram (Cisco's NetFlow v5 record format: tcp_flags "cumulative OR of TCP flags")
    // of one connection a health check opened and reset: the server's half SYN+ACK (0x12), the
    // client's half SYN, then ACK, then RST (0x16). Both are the client 10.1.2.3:49452 → 8080.
    const server = { src: '10.9.8.7', srcPort: 8080, dst: '10.1.2.3', dstPort: 49452 }
    const client = { src: '10.1.2.3', srcPort: 49452, dst: '10.9.8.7', dstPort: 8080 }
    const half = (ends: typeof server, tcpFlags: number, packets: number) => ({
      ...ends,
      protocol: 6,
      packets,
      bytes: packets * 60,
      first: 8_555_000,
      last: 8_556_000,
      tcpFlags,
    })
    const datagram = v5({ sysUptime: 8_569_672, secs: 1_540_209_179 }, [
      half(server, 0x12, 2),
      half(client, 0x16, 3),
    ])
    // each record on its own (--no-pair)
    const { flows } = await readAsFile(datagram, { name: 'v5.dat', pair: false })
    expect(flows.map((f) => [f.src, f.srcPort, f.dst, f.dstPort, f.direction])).toEqual([
      ['10.1.2.3', 49452, '10.9.8.7', 8080, 'client-to-server'],
      ['10.1.2.3', 49452, '10.9.8.7', 8080, 'client-to-server'],
    ])
    expect(flows.map((f) => f.tcpFlags)).toEqual([0x12, 0x16])
    // paired (the default): one flow, 2 + 3 packets, 120 + 180 octets, flags 0x12 | 0x16
    const paired = await readAsFile(datagram, { name: 'v5.dat' })
    expect(paired.flows).toHaveLength(1)
    expect(paired.flows[0]).toMatchObject({
      src: '10.1.2.3',
      srcPort: 49452,
      dst: '10.9.8.7',
      dstPort: 8080,
      packets: 5,
      bytes: 300,
      tcpFlags: 0x16,
      direction: 'client-to-server',
    })
    // SYN without ACK is still the client's, whatever the ports (an attempt nobody answered)
    const nf = { format: 'netflow-v9', file: 'f', record: 0 }
    expect(orient(flow({ srcPort: 443, dstPort: 50000, tcpFlags: 2, source: nf }))).toMatchObject({
      srcPort: 443,
      direction: 'client-to-server',
    })
    // with neither port telling, SYN+ACK leaves an IPFIX record unknown, never turned
    const ipfixSource = { format: 'ipfix', file: 'f', record: 0 }
    expect(
      orient(flow({ srcPort: 40000, dstPort: 41000, tcpFlags: 0x12, source: ipfixSource })),
    ).toMatchObject({ srcPort: 40000, direction: 'unknown' })
  })

  it('ports: well-known and known-service ports, then ephemeral ranges', () => {
    expect(orient(flow({ srcPort: 5432, dstPort: 40000 }))).toMatchObject({
      srcPort: 40000,
      dstPort: 5432,
      direction: 'client-to-server',
    })
    expect(orient(flow({ srcPort: 20641, dstPort: 22 }))).toMatchObject({
      dstPort: 22,
      direction: 'client-to-server',
    })
    expect(orient(flow({ srcPort: 5001, dstPort: 45000 }))).toMatchObject({
      srcPort: 45000,
      dstPort: 5001,
      direction: 'client-to-server',
    })
  })

  it('telecom SCTP and UDP services are servers: Diameter, S1AP, NGAP, GTP, PFCP', () => {
    // a Diameter peer connecting from port 5000 (also a known port) is a tie, not a swap
    expect(orient(flow({ protocol: 132, srcPort: 5000, dstPort: 3868 }))).toMatchObject({
      srcPort: 5000,
      dstPort: 3868,
      direction: 'unknown',
    })
    for (const [protocol, port] of [
      [132, 3868],
      [132, 36412],
      [132, 38412],
      [132, 2905],
      [17, 2152],
      [17, 8805],
      [17, 1812],
    ] as const) {
      expect(orient(flow({ protocol, srcPort: port, dstPort: 3001 }))).toMatchObject({
        srcPort: 3001,
        dstPort: port,
        direction: 'client-to-server',
      })
    }
    // S1AP's and NGAP's ports lie in Linux's client range: servers for SCTP only
    expect(orient(flow({ protocol: 6, srcPort: 443, dstPort: 36412 }))).toMatchObject({
      srcPort: 36412,
      dstPort: 443,
      direction: 'client-to-server',
    })
  })

  it('both ports listed servers: the one in the ephemeral range is the client (50051 → 9100)', () => {
    // a client given port 50051 (gRPC's, in Linux's 32768–60999) scraping a node exporter
    expect(orient(flow({ srcPort: 50051, dstPort: 9100 }))).toMatchObject({
      src: '10.0.0.1',
      srcPort: 50051,
      dstPort: 9100,
      direction: 'client-to-server',
    })
    // the server's half, as a router's uni-directional NetFlow record gives it: turned
    expect(orient(flow({ srcPort: 9100, dstPort: 50051, tcpFlags: 0x1b }))).toMatchObject({
      src: '10.0.0.2',
      srcPort: 50051,
      dst: '10.0.0.1',
      dstPort: 9100,
      direction: 'client-to-server',
    })
    expect(orient(flow({ protocol: 17, srcPort: 53, dstPort: 50051 }))).toMatchObject({
      srcPort: 50051,
      dstPort: 53,
      direction: 'client-to-server',
    })
    // SCTP-only servers in the client range are still servers: a tie stays a tie
    expect(orient(flow({ protocol: 132, srcPort: 3868, dstPort: 36412 })).direction).toBe('unknown')
  })

  it('an IPFIX router record of the server half (9100 → 50051) is read as the scrape it answers', async () => {
    // RFC 7011: template set (2) then a data set; one record per direction, cumulative flags
    const tpl = template(2, 300, '8:4 12:4 7:2 11:2 4:1 6:2 2:8 1:8 152:8 153:8')
    const rec = (src: string, dst: string, sp: number, dp: number): Uint8Array =>
      concat(ip4(src), ip4(dst), u16(sp), u16(dp), u8(6), u16(0x1b), u64(5), u64(600))
    const t = 1_790_000_000_000
    const data = set(
      300,
      concat(
        rec('10.10.0.41', '10.10.2.22', 50051, 9100),
        u64(t),
        u64(t + 40),
        rec('10.10.2.22', '10.10.0.41', 9100, 50051),
        u64(t),
        u64(t + 40),
      ),
    )
    const msg = ipfix({ exportTime: t / 1000 + 60, domain: 7 }, tpl, data)
    const { flows } = await readAsFile(msg, {
      name: 'r-bill-b.ipfix',
      format: 'netflow',
      pair: false,
    })
    expect(flows).toHaveLength(2)
    for (const f of flows)
      expect(f).toMatchObject({
        src: '10.10.0.41',
        dst: '10.10.2.22',
        dstPort: 9100,
        direction: 'client-to-server',
      })
    // paired (the default): the two records are one scrape, 5 + 5 packets, 600 + 600 octets
    const paired = await readAsFile(msg, { name: 'r-bill-b.ipfix', format: 'netflow' })
    expect(paired.flows).toHaveLength(1)
    expect(paired.flows[0]).toMatchObject({
      src: '10.10.0.41',
      srcPort: 50051,
      dst: '10.10.2.22',
      dstPort: 9100,
      packets: 10,
      bytes: 1200,
      direction: 'client-to-server',
    })
    expect(paired.summary.stats.notes['paired-directions']).toBe(1)
  })

  it('ambiguous → unknown and never swapped', () => {
    for (const [s, d] of [
      [443, 8080],
      [40000, 50000],
      [2000, 3001],
      [53, 53],
    ] as const) {
      const f = flow({ srcPort: s, dstPort: d })
      expect(orient(f)).toMatchObject({ srcPort: s, dstPort: d, direction: 'unknown' })
    }
    expect(orient(flow({ protocol: 47, srcPort: 0, dstPort: 0 })).direction).toBe('unknown')
    // ICMP echo reply is not swapped
    expect(orient(flow({ protocol: 1, srcPort: 0, dstPort: 0 })).direction).toBe('unknown')
    expect(orient(flow({ protocol: 1, srcPort: 0, dstPort: 8 })).direction).toBe('client-to-server')
  })

  it('an ICMP reply type is the server half, marked and not turned; where a format writes no type, 0 is absent', async () => {
    // CSV carries the type in dst_port: its parser marks replies, and reading keeps them
    const text = [
      'src_ip,dst_ip,src_port,dst_port,protocol',
      '10.0.0.1,10.0.0.2,0,0,icmp',
      '2001:db8::1,2001:db8::2,0,129,icmpv6',
    ].join('\n')
    const { flows } = await readAsFile(text, { name: 'pings.csv', format: 'csv' })
    expect(flows[0]).toMatchObject({
      src: '10.0.0.1',
      dstPort: 0,
      direction: 'server-to-client',
    })
    expect(flows[1]?.direction).toBe('server-to-client')
    // AWS VPC flow logs have no ICMP type: their ICMP records carry port 0, which says nothing
    expect(orient(flow({ protocol: 1, srcPort: 0, dstPort: 0 })).direction).toBe('unknown')
  })

  it('swaps names with the ends', () => {
    const o = orient(flow({ srcPort: 443, dstPort: 50000, srcName: 'web', dstName: 'client' }))
    expect(o).toMatchObject({ srcName: 'client', dstName: 'web' })
  })
})

describe('pairDirections', () => {
  it('a record without an action pairs with the nearest held half too (NetFlow v5: unknown) (s45 QA retest F1)', async () => {
    // one UDP connection over two windows, read client w1, client w2, server w2, server w1: the
    // server's w1 record finds the client's w1 record held behind w2 (as accepted records do)
    const c = (w: number, line: number): Flow =>
      flow({
        protocol: 17,
        srcPort: 50000,
        dstPort: 50001,
        start: w * 60_000,
        end: w * 60_000 + 59_000,
        packets: 1 + w,
        observedAction: 'unknown',
        source: { format: 'aws-vpc', file: 'f', line },
      })
    const s = (w: number, line: number): Flow => ({
      ...c(w, line),
      src: '10.0.0.2',
      dst: '10.0.0.1',
      srcPort: 50001,
      dstPort: 50000,
      packets: 10 + w,
    })
    const { out, paired } = await collect([c(0, 1), c(1, 2), s(1, 3), s(0, 4)])
    expect(paired).toBe(2)
    expect(out.map((f) => [f.start, f.packets]).sort((a, b) => a[0]! - b[0]!)).toEqual([
      [0, 11],
      [60_000, 13],
    ])
  })

  it("one half's TCP flags beat the other half's ports, whichever is read first", async () => {
    // a client on port 53 (nmap -g 53, a NAT's port) refused by a high port's reset: the SYN
    // names the client; the ports alone would name 53 the server
    const syn = flow({ srcPort: 53, dstPort: 40000, tcpFlags: 2, observedAction: 'unknown' })
    const rst = flow({
      src: '10.0.0.2',
      dst: '10.0.0.1',
      srcPort: 40000,
      dstPort: 53,
      tcpFlags: 4,
      observedAction: 'unknown',
      source: { format: 'aws-vpc', file: 'f', line: 2 },
    })
    for (const order of [
      [rst, syn],
      [syn, rst],
    ]) {
      const { out } = await collect(order)
      expect(out.map((f) => [f.src, f.srcPort, f.dstPort, f.direction, f.observedAction])).toEqual([
        ['10.0.0.1', 53, 40000, 'client-to-server', 'reject'],
      ])
      expect(out[0]?.source.line).toBe(1) // the client's record
    }
  })

  it('sums both halves into one client→server flow', async () => {
    const req = flow({ packets: 10, bytes: 1000, tcpFlags: 2, start: 1000, end: 5000 })
    const rep = flow({
      src: '10.0.0.2',
      dst: '10.0.0.1',
      srcPort: 443,
      dstPort: 40000,
      packets: 8,
      bytes: 9000,
      tcpFlags: 18,
      start: 2000,
      end: 6000,
    })
    const { out, paired } = await collect([rep, req])
    expect(paired).toBe(1)
    expect(out).toHaveLength(1)
    expect(out[0]).toMatchObject({
      src: '10.0.0.1',
      srcPort: 40000,
      dst: '10.0.0.2',
      dstPort: 443,
      packets: 18,
      bytes: 10000,
      start: 1000,
      end: 6000,
      tcpFlags: 18,
      direction: 'client-to-server',
    })
  })

  it("a SYN answered by a reset, where no observer judged it (NetFlow without forwarding status), is a refusal, as Zeek's REJ", async () => {
    const nf = (p: Partial<Flow>): Flow =>
      flow({
        observedAction: 'unknown',
        source: { format: 'netflow-v9', file: 'f', line: 1 },
        ...p,
      })
    const syn = nf({ dstPort: 9, tcpFlags: 2 })
    const reset = (tcpFlags: number, more: Partial<Flow> = {}): Flow =>
      nf({ src: '10.0.0.2', dst: '10.0.0.1', srcPort: 9, dstPort: 40000, tcpFlags, ...more })
    // softflowd, pmacct and fprobe log a closed port's answer as RST+ACK (20) without SYN
    const refused = (await collect([syn, reset(20)])).out
    expect(refused).toHaveLength(1)
    expect(refused[0]).toMatchObject({
      src: '10.0.0.1',
      dst: '10.0.0.2',
      dstPort: 9,
      observedAction: 'reject',
      direction: 'client-to-server',
      tcpFlags: 22,
    })
    // not refused: the server answered SYN+ACK; the client's record has ACK (it connected);
    // an action a record holds (a router's forwarding status, AWS) is never overridden; no flags
    for (const [a, b] of [
      [syn, reset(22)],
      [nf({ dstPort: 9, tcpFlags: 2 | 16 | 4 }), reset(20)],
      [syn, reset(20, { observedAction: 'accept' })],
      [nf({ dstPort: 9 }), nf({ src: '10.0.0.2', dst: '10.0.0.1', srcPort: 9, dstPort: 40000 })],
    ] as const) {
      const out = (await collect([a, b])).out
      expect(out.length).toBeGreaterThan(0)
      expect(out.map((f) => f.observedAction)).not.toContain('reject')
    }
  })

  it('does not pair different actions, distant times, or same-direction records', async () => {
    const a = flow({})
    const b = flow({
      src: '10.0.0.2',
      dst: '10.0.0.1',
      srcPort: 443,
      dstPort: 40000,
      observedAction: 'reject',
    })
    const c = flow({
      src: '10.0.0.2',
      dst: '10.0.0.1',
      srcPort: 443,
      dstPort: 40000,
      start: 10_000_000,
      end: 10_000_001,
    })
    const { out, paired } = await collect([a, b, c, flow({})])
    expect(paired).toBe(0)
    expect(out).toHaveLength(4)
    expect(out.every((f) => f.dstPort === 443 && f.direction === 'client-to-server')).toBe(true)
  })

  it('one direction accepted at one end and rejected at the other is rejected at both (AWS: the destination security group refused it)', async () => {
    // the client's interface logs the SYNs it let out ACCEPT, the server's logs them REJECT
    const out = flow({ packets: 3, bytes: 180, source: { format: 'aws-vpc', file: 'f', line: 1 } })
    const refused = flow({
      observedAction: 'reject',
      start: 1500,
      end: 2500,
      packets: 3,
      bytes: 180,
      source: { format: 'aws-vpc', file: 'f', line: 2 },
    })
    for (const order of [
      [out, refused],
      [refused, out],
    ]) {
      const { out: flows, paired } = await collect(order)
      expect(paired).toBe(0)
      expect(flows.map((f) => [f.source.line, f.observedAction, f.dstPort])).toEqual(
        order.map((f) => [f.source.line, 'reject', 443]),
      )
    }
    // not when the times are apart, the action unknown, or the records of two directions
    for (const other of [
      { ...refused, start: 10_000_000, end: 10_000_001 },
      { ...refused, observedAction: 'unknown' as const },
      { ...refused, src: out.dst, dst: out.src, srcPort: out.dstPort, dstPort: out.srcPort },
    ]) {
      const { out: flows } = await collect([out, other])
      expect(flows.find((f) => f.source.line === 1)?.observedAction).toBe('accept')
    }
  })

  it('a pair merged between an accept and a refusal of one direction does not keep them apart (README example)', async () => {
    // A at 0 s, A at 1 s, the reply at 2 s (pairs with the second A), R at 10 s: the first A is
    // an unpaired record near a refusal of its direction, so it is read `reject`, as the store
    // settles the halves of one file; the merged pair is neither settled nor a refusal. And the
    // other way round: a refusal before the pair settles an accept after it.
    const at = (s: number, line: number, p: Partial<Flow> = {}) =>
      flow({
        start: s * 1000,
        end: s * 1000 + 1000,
        source: { format: 'aws-vpc', file: 'f', line },
        ...p,
      })
    const reply = { src: '10.0.0.2', dst: '10.0.0.1', srcPort: 443, dstPort: 40000 }
    const reject = { observedAction: 'reject' as const }
    for (const [records, merged] of [
      [[at(0, 1), at(1, 2), at(2, 3, reply), at(10, 4, reject)], 'accept'],
      [
        [at(0, 1, reject), at(1, 2, reject), at(2, 3, { ...reply, ...reject }), at(10, 4)],
        'reject',
      ],
    ] as const) {
      const { out, paired } = await collect([...records])
      expect(paired).toBe(1)
      expect(
        out
          .map((f) => [f.source.line, f.packets, f.observedAction])
          .sort((x, y) => Number(x[0]) - Number(y[0])),
      ).toEqual([
        [1, 1, 'reject'],
        [2, 2, merged],
        [4, 1, 'reject'],
      ])
    }
  })

  it('a record held before a pair takes the direction the handshake of the pair settled (README)', async () => {
    // 4500 -> 443: both listening ports, so the ports cannot tell; the second record carries
    // the SYN, its reply the SYN-ACK; the first stays held after the pair and is read after it
    const nat = { srcPort: 4500 }
    const { out, paired } = await collect([
      flow({ ...nat, start: 0, end: 500 }),
      flow({
        ...nat,
        start: 1000,
        end: 1500,
        tcpFlags: 2,
        source: { format: 'aws-vpc', file: 'f', line: 2 },
      }),
      flow({
        src: '10.0.0.2',
        dst: '10.0.0.1',
        srcPort: 443,
        dstPort: 4500,
        start: 1000,
        end: 1500,
        tcpFlags: 18,
        source: { format: 'aws-vpc', file: 'f', line: 3 },
      }),
    ])
    expect(paired).toBe(1)
    expect(out.map((f) => [f.source.line, f.src, f.srcPort, f.direction])).toEqual([
      [2, '10.0.0.1', 4500, 'client-to-server'],
      [1, '10.0.0.1', 4500, 'client-to-server'],
    ])
  })

  it('holds at most `window` records: a reply beyond it is not paired', async () => {
    const req = flow({})
    const fillers = Array.from({ length: 5 }, (_, i) => flow({ src: `10.1.0.${i + 1}` }))
    const rep = flow({ src: '10.0.0.2', dst: '10.0.0.1', srcPort: 443, dstPort: 40000 })
    expect((await collect([req, ...fillers, rep], 3)).paired).toBe(0)
    expect((await collect([req, ...fillers, rep], 10)).paired).toBe(1)
  })
})
