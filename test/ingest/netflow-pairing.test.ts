/**
 * Pairing the two one-direction records of a NetFlow/IPFIX connection into one client→server
 * flow (read.ts `EXPORTER_PAIRED_FORMATS`, direction.ts `DirectionPairer` with scopes): hand-built
 * datagrams, each expected flow computed by hand from the records, and a property test that
 * pairing keeps every packet and octet and never merges the records of two exporters.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Flow } from '../../src/core/index.js'
import { readFlows, type FileSummary } from '../../src/ingest/read.js'
import { cli } from '../helpers/cli.js'
import { readAsFile } from '../helpers/files.js'
import { ether, ipv4, pcap, udp } from './capture-builders.js'
import {
  concat,
  ip4,
  ipfix,
  recV4,
  set,
  template,
  TPL_V4,
  u16,
  u32,
  u64,
  u8,
  v5,
  v9,
} from './netflow-builders.js'

/** Epoch seconds of the exports below. */
const SECS = 1_700_000_000

/** The TPL_V4 template (IPFIX set 2 / v9 FlowSet 0) as id 256. */
const tplV4 = (setId: 0 | 2): Uint8Array => template(setId, 256, TPL_V4)

/** A TPL_V4 record; times in ms since the epoch. */
function rec(
  src: string,
  sp: number,
  dst: string,
  dp: number,
  pkts: number,
  bytes: number,
  start: number,
  end: number,
  proto = 6,
): Uint8Array {
  return recV4({ src, dst, sp, dp, proto, pkts, bytes, start, end })
}

const T0 = SECS * 1000 - 30_000

describe('NetFlow/IPFIX records of one connection are paired per exporter', () => {
  it('v5: the two directions are one flow, counters summed, the client from the ports, the client record as source', async () => {
    // datagram 0: the server's record 10.0.0.9:443 → 10.0.0.5:51000, 4 packets, 3000 octets,
    // uptime 1100–2900 ms; datagram 1: the client's 10.0.0.5:51000 → 10.0.0.9:443, 5 packets,
    // 400 octets, uptime 1000–3000 ms; both flags SYN|ACK|PSH|FIN (0x1b), exported at uptime
    // 10 000 ms = SECS s. By hand: start = SECS·1000 − (10 000 − 1000) = SECS·1000 − 9000, end
    // = SECS·1000 − 7000; 9 packets, 3400 octets; the client 10.0.0.5:51000 (443 is a server
    // port; flags ORed are no evidence); source the client's record: datagram 1.
    const h = { sysUptime: 10_000, secs: SECS }
    const server = {
      src: '10.0.0.9',
      srcPort: 443,
      dst: '10.0.0.5',
      dstPort: 51000,
      protocol: 6,
      packets: 4,
      bytes: 3000,
      first: 1100,
      last: 2900,
      tcpFlags: 0x1b,
    }
    const client = {
      ...server,
      src: '10.0.0.5',
      srcPort: 51000,
      dst: '10.0.0.9',
      dstPort: 443,
      packets: 5,
      bytes: 400,
      first: 1000,
      last: 3000,
    }
    const file = concat(v5(h, [server]), v5(h, [client]))
    const { flows, summary } = await readAsFile(file, { name: 'pair.v5', format: 'netflow' })
    expect(flows).toEqual([
      {
        src: '10.0.0.5',
        dst: '10.0.0.9',
        srcPort: 51000,
        dstPort: 443,
        protocol: 6,
        start: SECS * 1000 - 9000,
        end: SECS * 1000 - 7000,
        packets: 9,
        bytes: 3400,
        observedAction: 'unknown',
        direction: 'client-to-server',
        source: { format: 'netflow-v5', file: expect.stringMatching(/pair\.v5$/), record: 1 },
        tcpFlags: 0x1b,
      },
    ])
    expect(summary.stats.notes['paired-directions']).toBe(1)
    // --no-pair: the two records, each oriented client → server
    const apart = await readAsFile(file, { name: 'pair.v5', format: 'netflow', pair: false })
    expect(apart.flows.map((f) => [f.src, f.srcPort, f.packets, f.bytes])).toEqual([
      ['10.0.0.5', 51000, 4, 3000],
      ['10.0.0.5', 51000, 5, 400],
    ])
    expect(apart.summary.stats.notes['paired-directions']).toBeUndefined()
  })

  it('--no-pair: a later record of a connection takes the direction its handshake settled', async () => {
    // a NAT-T source port (4500, a listed server port) to 443: ports cannot tell. Datagram 0: the
    // client's SYN (flags 0x02); datagram 1, a later export: the server's record, no flags. By
    // hand: the handshake names 10.0.0.5:4500 the client, so the server's record is turned round
    const h = { sysUptime: 10_000, secs: SECS }
    const syn = {
      src: '10.0.0.5',
      srcPort: 4500,
      dst: '10.0.0.9',
      dstPort: 443,
      protocol: 6,
      packets: 1,
      bytes: 60,
      first: 1000,
      last: 1000,
      tcpFlags: 0x02,
    }
    const reply = {
      ...syn,
      src: '10.0.0.9',
      srcPort: 443,
      dst: '10.0.0.5',
      dstPort: 4500,
      packets: 7,
      bytes: 5000,
      first: 5000,
      last: 9000,
      tcpFlags: 0,
    }
    const file = concat(v5(h, [syn]), v5(h, [reply]))
    const apart = await readAsFile(file, { name: 'nat-t.v5', format: 'netflow', pair: false })
    expect(apart.flows.map((f) => [f.src, f.srcPort, f.packets, f.direction])).toEqual([
      ['10.0.0.5', 4500, 1, 'client-to-server'],
      ['10.0.0.5', 4500, 7, 'client-to-server'],
    ])
  })

  it('IPFIX: the records of two observation domains are never paired; of one domain they are', async () => {
    // the same connection's two directions, 10.1.0.1:40000 ⇄ 10.2.0.2:5432, 2 and 3 packets
    const a = rec('10.1.0.1', 40000, '10.2.0.2', 5432, 2, 120, T0, T0 + 500)
    const b = rec('10.2.0.2', 5432, '10.1.0.1', 40000, 3, 900, T0 + 10, T0 + 490)
    const msg = (domain: number, r: Uint8Array): Uint8Array =>
      ipfix({ exportTime: SECS, domain }, tplV4(2), set(256, r))
    const two = await readAsFile(concat(msg(1, a), msg(2, b)), { name: 'd.ipfix' })
    expect(two.flows.map((f) => [f.src, f.dst, f.dstPort, f.packets, f.bytes])).toEqual([
      ['10.1.0.1', '10.2.0.2', 5432, 2, 120],
      ['10.1.0.1', '10.2.0.2', 5432, 3, 900],
    ])
    expect(two.summary.stats.notes['paired-directions']).toBeUndefined()
    const one = await readAsFile(concat(msg(1, a), msg(1, b)), { name: 'd.ipfix' })
    expect(one.flows).toHaveLength(1)
    expect(one.flows[0]).toMatchObject({
      src: '10.1.0.1',
      srcPort: 40000,
      dst: '10.2.0.2',
      dstPort: 5432,
      packets: 5,
      bytes: 1020,
      start: T0,
      end: T0 + 500,
      direction: 'client-to-server',
      source: { format: 'ipfix', record: 0 },
    })
  })

  it('v9: two source ids of one exporter are two scopes', async () => {
    const a = rec('10.1.0.1', 40000, '10.2.0.2', 443, 1, 60, T0, T0 + 100)
    const b = rec('10.2.0.2', 443, '10.1.0.1', 40000, 1, 60, T0, T0 + 100)
    const dg = (sourceId: number, r: Uint8Array): Uint8Array =>
      v9({ sysUptime: 100_000, secs: SECS, sourceId }, tplV4(0), set(256, r))
    const two = await readAsFile(concat(dg(7, a), dg(8, b)), { name: 's.v9', format: 'netflow' })
    expect(two.flows).toHaveLength(2)
    const one = await readAsFile(concat(dg(7, a), dg(7, b)), { name: 's.v9', format: 'netflow' })
    expect(one.flows).toHaveLength(1)
    expect(one.flows[0]).toMatchObject({ packets: 2, bytes: 120, source: { format: 'netflow-v9' } })
  })

  it('a capture: two exporters (senders) are never paired; one exporter is', async () => {
    const a = rec('10.1.0.1', 40000, '10.2.0.2', 443, 1, 60, T0, T0 + 100)
    const b = rec('10.2.0.2', 443, '10.1.0.1', 40000, 2, 1500, T0, T0 + 100)
    const frame = (sender: string, r: Uint8Array): Uint8Array =>
      ether(
        0x0800,
        ipv4(
          sender,
          '192.0.2.100',
          17,
          udp(4739, 4739, ipfix({ exportTime: SECS }, tplV4(2), set(256, r))),
        ),
      )
    const two = await readAsFile(pcap(1, [frame('192.0.2.1', a), frame('192.0.2.2', b)]), {
      name: 'two.pcap',
    })
    expect(two.flows.map((f) => f.bytes)).toEqual([60, 1500])
    const one = await readAsFile(pcap(1, [frame('192.0.2.1', a), frame('192.0.2.1', b)]), {
      name: 'one.pcap',
    })
    expect(one.flows.map((f) => [f.src, f.dstPort, f.packets, f.bytes])).toEqual([
      ['10.1.0.1', 443, 3, 1560],
    ])
  })

  it('ICMP: an echo request pairs with its reply and is read as the request; an unreachable stays apart', async () => {
    // template: addresses, protocol, icmpTypeIPv4 (176), icmpCodeIPv4 (177), packets, octets, times
    const tpl = template(2, 300, '8:4 12:4 4:1 176:1 177:1 2:4 1:8 152:8 153:8')
    const icmp = (src: string, dst: string, type: number, code: number, t: number): Uint8Array =>
      concat(ip4(src), ip4(dst), u8(1), u8(type), u8(code), u32(1), u64(84), u64(t), u64(t + 1))
    const msg = ipfix(
      { exportTime: SECS },
      tpl,
      set(
        300,
        concat(
          icmp('10.0.0.2', '10.0.0.1', 0, 0, T0 + 1), // the reply first
          icmp('10.0.0.1', '10.0.0.2', 8, 0, T0),
          icmp('10.0.0.2', '10.0.0.1', 3, 3, T0 + 5), // port unreachable
        ),
      ),
    )
    const { flows, summary } = await readAsFile(msg, { name: 'icmp.ipfix' })
    // by hand: the echo 10.0.0.1 → 10.0.0.2 type 8 code 0, 2 packets, 168 octets, T0 … T0 + 2
    expect(flows).toHaveLength(2)
    expect(flows).toContainEqual(
      expect.objectContaining({
        src: '10.0.0.1',
        dst: '10.0.0.2',
        srcPort: 0,
        dstPort: 8,
        protocol: 1,
        packets: 2,
        bytes: 168,
        start: T0,
        end: T0 + 2,
        direction: 'client-to-server',
      }),
    )
    expect(flows).toContainEqual(
      expect.objectContaining({ src: '10.0.0.2', dst: '10.0.0.1', srcPort: 3, dstPort: 3 }),
    )
    expect(summary.stats.notes['paired-directions']).toBe(1)
    // a reply left alone keeps its type and its direction (server-to-client), not turned round
    const alone = await readAsFile(
      ipfix({ exportTime: SECS }, tpl, set(300, icmp('10.0.0.2', '10.0.0.1', 0, 0, T0))),
      { name: 'reply.ipfix' },
    )
    expect(alone.flows[0]).toMatchObject({
      src: '10.0.0.2',
      dst: '10.0.0.1',
      srcPort: 0,
      dstPort: 0,
      direction: 'server-to-client',
    })
  })

  it('ICMP without a type: the two records pair by their addresses, as AWS typeless ICMP does, read as one echo request of unknown direction', async () => {
    // destinationTransportPort 0 and no ICMP type element (MikroTik): no type, so each record is
    // read as an echo request (noted icmp-type-assumed-echo); 10.0.0.1 ⇄ 10.0.0.2, 1 + 1 packets
    const tpl = template(2, 303, '8:4 12:4 4:1 7:2 11:2 2:4 1:8 152:8 153:8')
    const r = (src: string, dst: string, t: number): Uint8Array =>
      concat(ip4(src), ip4(dst), u8(1), u16(0), u16(0), u32(1), u64(84), u64(t), u64(t + 1))
    const both = ipfix(
      { exportTime: SECS },
      tpl,
      set(303, concat(r('10.0.0.1', '10.0.0.2', T0), r('10.0.0.2', '10.0.0.1', T0 + 1))),
    )
    const { flows, summary } = await readAsFile(both, { name: 'typeless.ipfix' })
    // by hand: the record read first, 10.0.0.1 → 10.0.0.2, icmp/8, 2 packets, 168 octets,
    // T0 … T0 + 2, and no direction (either end may have pinged), as AWS reads its 0 0 pair
    expect(flows).toEqual([
      {
        src: '10.0.0.1',
        dst: '10.0.0.2',
        srcPort: 0,
        dstPort: 8,
        protocol: 1,
        start: T0,
        end: T0 + 2,
        packets: 2,
        bytes: 168,
        observedAction: 'unknown',
        direction: 'unknown',
        source: { format: 'ipfix', file: expect.stringMatching(/typeless\.ipfix$/), record: 0 },
      },
    ])
    expect(summary.stats.notes).toMatchObject({
      'paired-directions': 1,
      'icmp-type-assumed-echo': 2,
    })
    // alone: an echo request of unknown direction too (README: "direction unknown, and said so")
    const one = await readAsFile(
      ipfix({ exportTime: SECS }, tpl, set(303, r('10.0.0.2', '10.0.0.1', T0))),
      { name: 'one.ipfix' },
    )
    expect(one.flows[0]).toMatchObject({ src: '10.0.0.2', dstPort: 8, direction: 'unknown' })
    // and with --no-pair: two echo requests, neither given a direction it does not have
    const apart = await readAsFile(both, { name: 'typeless.ipfix', pair: false })
    expect(apart.flows.map((f) => [f.src, f.dstPort, f.direction])).toEqual([
      ['10.0.0.1', 8, 'unknown'],
      ['10.0.0.2', 8, 'unknown'],
    ])
  })

  it('records that count both directions are not paired again: RFC 5103 biflows, initiator/responder counters', async () => {
    // RFC 5103 reverse octets and packets (PEN 29305, elements 1 and 2)
    const bi = template(2, 301, '8:4 12:4 7:2 11:2 4:1 2:4 1:8 152:8 153:8 1:8:29305 2:4:29305')
    const biRec = (src: string, sp: number, dst: string, dp: number): Uint8Array =>
      concat(
        ip4(src),
        ip4(dst),
        u16(sp),
        u16(dp),
        u8(6),
        u32(2),
        u64(100),
        u64(T0),
        u64(T0 + 100),
        u64(300),
        u32(3),
      )
    const m1 = ipfix(
      { exportTime: SECS },
      bi,
      set(
        301,
        concat(
          biRec('10.0.0.1', 40000, '10.0.0.2', 443),
          biRec('10.0.0.2', 443, '10.0.0.1', 40000),
        ),
      ),
    )
    const r1 = await readAsFile(m1, { name: 'bi.ipfix' })
    expect(r1.flows.map((f) => [f.packets, f.bytes])).toEqual([
      [5, 400],
      [5, 400],
    ])
    expect(r1.summary.stats.notes['paired-directions']).toBeUndefined()
    // initiator / responder octets (231/232), Cisco NSEL's counters
    const ir = template(2, 302, '8:4 12:4 7:2 11:2 4:1 231:8 232:8 152:8 153:8')
    const irRec = (src: string, sp: number, dst: string, dp: number): Uint8Array =>
      concat(ip4(src), ip4(dst), u16(sp), u16(dp), u8(6), u64(10), u64(20), u64(T0), u64(T0 + 9))
    const m2 = ipfix(
      { exportTime: SECS },
      ir,
      set(
        302,
        concat(
          irRec('10.0.0.1', 40000, '10.0.0.2', 443),
          irRec('10.0.0.2', 443, '10.0.0.1', 40000),
        ),
      ),
    )
    const r2 = await readAsFile(m2, { name: 'ir.ipfix' })
    expect(r2.flows).toHaveLength(2)
    expect(r2.summary.stats.notes['paired-directions']).toBeUndefined()
  })

  it('softflowd -b biflows (RFC 5103): a biflow of reverse packets only is turned and pairs; a refused connection is reject', async () => {
    // softflowd 1.1.0 -b's template: addresses, ports, protocol, tcpControlBits, forward packets
    // and octets, times, then reverse octets, packets and tcpControlBits (PEN 29305: 1, 2, 6)
    const bi = template(
      2,
      303,
      '8:4 12:4 7:2 11:2 4:1 6:1 2:4 1:8 152:8 153:8 1:8:29305 2:4:29305 6:1:29305',
    )
    const biRec = (
      src: string,
      sp: number,
      dst: string,
      dp: number,
      proto: number,
      flags: number,
      fwd: [number, number],
      rev: [number, number],
      revFlags: number,
    ): Uint8Array =>
      concat(
        ip4(src),
        ip4(dst),
        u16(sp),
        u16(dp),
        u8(proto),
        u8(flags),
        u32(fwd[0]),
        u64(fwd[1]),
        u64(T0),
        u64(T0 + 400),
        u64(rev[1]),
        u32(rev[0]),
        u8(revFlags),
      )
    // as softflowd -b sent them (hE's capture, out-sf10b): ping 10.199.0.1 → 10.199.0.2, 3 echo
    // requests of 84 octets in the request's biflow (type 8 code 0 in the destination port,
    // 8·256), the 3 replies (84 octets each) in a biflow of their own keyed from the lower
    // address, type 0, forward 0/0, reverse 3/252; and a refused connection 41003 → 9: the
    // client's SYN (60 octets) forward, the server's RST|ACK (40 octets) reverse
    const msg = ipfix(
      { exportTime: SECS },
      bi,
      set(
        303,
        concat(
          biRec('10.199.0.1', 0, '10.199.0.2', 8 * 256, 1, 0, [3, 252], [0, 0], 0),
          biRec('10.199.0.1', 0, '10.199.0.2', 0, 1, 0, [0, 0], [3, 252], 0),
          biRec('10.199.0.1', 41003, '10.199.0.2', 9, 6, 0x02, [1, 60], [1, 40], 0x14),
        ),
      ),
    )
    const pick = (f: Flow): unknown[] => [
      f.src,
      f.srcPort,
      f.dst,
      f.dstPort,
      f.protocol,
      f.packets,
      f.bytes,
      f.direction,
      f.observedAction,
      f.tcpFlags,
    ]
    // by hand: the echo is one flow, the request's (type 8), 3 + 3 packets, 252 + 252 octets; the
    // refusal one flow of both directions, 2 packets, 100 octets, flags SYN | RST|ACK = 0x16,
    // reject (client SYN without ACK, server RST without SYN), client to server
    const paired = await readAsFile(msg, { name: 'sf-b.ipfix' })
    expect(paired.flows.map(pick)).toEqual([
      ['10.199.0.1', 0, '10.199.0.2', 8, 1, 6, 504, 'client-to-server', 'unknown', undefined],
      ['10.199.0.1', 41003, '10.199.0.2', 9, 6, 2, 100, 'client-to-server', 'reject', 0x16],
    ])
    expect(paired.summary.stats.notes['paired-directions']).toBe(1)
    expect(paired.summary.stats.notes['refused-by-reset']).toBe(1)
    // unpaired, the replies' biflow is the replies' record: 10.199.0.2 → 10.199.0.1, echo reply
    // (type 0), server to client, as the same record sent as a one-direction record reads
    const apart = await readAsFile(msg, { name: 'sf-b.ipfix', pair: false })
    const reply = ['10.199.0.2', 0, '10.199.0.1', 0, 1, 3, 252, 'server-to-client', 'unknown']
    expect(apart.flows.map(pick)).toContainEqual([...reply, undefined])
    const uni = ipfix(
      { exportTime: SECS },
      tplV4(2),
      set(
        256,
        concat(
          rec('10.199.0.1', 0, '10.199.0.2', 8 * 256, 3, 252, T0, T0 + 400, 1),
          rec('10.199.0.2', 0, '10.199.0.1', 0, 3, 252, T0, T0 + 400, 1),
        ),
      ),
    )
    expect(
      (await readAsFile(uni, { name: 'uni.ipfix', pair: false })).flows.map(pick),
    ).toContainEqual([...reply, undefined])
  })

  it('pairs only within the slack: intervals 60 s apart pair, 60.001 s apart do not', async () => {
    const msg = (gap: number): Uint8Array =>
      ipfix(
        { exportTime: SECS + 200 },
        tplV4(2),
        set(
          256,
          concat(
            rec('10.0.0.1', 40000, '10.0.0.2', 22, 1, 60, T0, T0 + 1000),
            rec('10.0.0.2', 22, '10.0.0.1', 40000, 1, 60, T0 + 1000 + gap, T0 + 2000 + gap),
          ),
        ),
      )
    expect((await readAsFile(msg(60_000), { name: 'g.ipfix' })).flows).toHaveLength(1)
    expect((await readAsFile(msg(60_001), { name: 'g.ipfix' })).flows).toHaveLength(2)
  })

  it('the records of two files are not paired (the store keeps no exporter)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulkhead-nfpair-'))
    try {
      const a = join(dir, 'a.ipfix')
      const b = join(dir, 'b.ipfix')
      writeFileSync(
        a,
        ipfix(
          { exportTime: SECS },
          tplV4(2),
          set(256, rec('10.0.0.1', 40000, '10.0.0.2', 22, 1, 60, T0, T0 + 9)),
        ),
      )
      writeFileSync(
        b,
        ipfix(
          { exportTime: SECS },
          tplV4(2),
          set(256, rec('10.0.0.2', 22, '10.0.0.1', 40000, 1, 60, T0, T0 + 9)),
        ),
      )
      const summaries: FileSummary[] = []
      const flows: Flow[] = []
      for await (const f of readFlows([a, b], { format: 'auto', strict: false }, summaries))
        flows.push(f)
      expect(flows).toHaveLength(2)
      // nor by ingest in the store: the halves are stored unmarked (flow_rows.half 0)
      const ws = join(dir, 'ws')
      expect((await cli('init', '-w', ws)).code).toBe(0)
      const first = await cli('ingest', '-w', ws, '-o', 'json', a)
      const second = await cli('ingest', '-w', ws, '-o', 'json', b)
      expect(first.code).toBe(0)
      expect(second.code).toBe(0)
      const notes = JSON.parse(second.stdout) as { records: number; notes: Record<string, number> }
      expect(notes.records).toBe(1)
      expect(notes.notes['paired-across-files']).toBeUndefined()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('NetFlow/IPFIX pairing (property, fixed seed)', () => {
  // Records of two observation domains over a few endpoints, so that many are the reverse of
  // another (of the same domain or of the other). Domain 1 counts 1–999 octets a record, domain 2
  // whole millions: a flow merged from both would be neither below a million nor a multiple of one.
  const hosts = ['10.0.0.1', '10.0.0.2', '10.0.0.3']
  const ports = [22, 443, 40000, 50000]
  const recordArb = fc.record({
    domain: fc.constantFrom(1, 2),
    src: fc.constantFrom(...hosts),
    dst: fc.constantFrom(...hosts),
    sp: fc.constantFrom(...ports),
    dp: fc.constantFrom(...ports),
    proto: fc.constantFrom(6, 17),
    pkts: fc.integer({ min: 0, max: 50 }),
    size: fc.integer({ min: 1, max: 999 }),
    start: fc.integer({ min: 0, max: 180_000 }),
    dur: fc.integer({ min: 0, max: 90_000 }),
  })

  it('keeps every packet and octet, and never merges records of two exporters', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(recordArb, { minLength: 1, maxLength: 40 }), async (records) => {
        const msgs = records.map((r, i) =>
          ipfix(
            { exportTime: SECS, domain: r.domain, sequence: i },
            tplV4(2),
            set(
              256,
              rec(
                r.src,
                r.sp,
                r.dst,
                r.dp,
                r.pkts,
                r.domain === 1 ? r.size : r.size * 1_000_000,
                T0 - 300_000 + r.start,
                T0 - 300_000 + r.start + r.dur,
                r.proto,
              ),
            ),
          ),
        )
        const { flows, summary } = await readAsFile(concat(...msgs), { name: 'p.ipfix' })
        const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0)
        expect(sum(flows.map((f) => f.packets))).toBe(sum(records.map((r) => r.pkts)))
        expect(sum(flows.map((f) => f.bytes))).toBe(
          sum(records.map((r) => (r.domain === 1 ? r.size : r.size * 1_000_000))),
        )
        for (const f of flows) expect(f.bytes < 1_000_000 || f.bytes % 1_000_000 === 0).toBe(true)
        const paired = summary.stats.notes['paired-directions'] ?? 0
        expect(flows).toHaveLength(records.length - paired)
      }),
      { seed: 20261123, numRuns: 60 },
    )
  })
})
