/**
 * @module The store pairs an ICMP request with its reply across files when the records carry
 * their ICMP type (NetFlow/IPFIX, goflow2), as reading pairs them within a file (ingest
 * direction.ts `icmpKey`: an echo, timestamp, information or address mask request with its
 * reply, ICMPv6 echo 128 with 129, the addresses exchanged, the same code, one exporter). The
 * expected flows are worked out by hand in the comments from the rules (README `bulkhead flows`,
 * "Direction"): the merged flow is the request's (client, server, `dstPort` the request type,
 * `srcPort` the code), counters summed, the earlier start and the later end, the request's file.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ether, ipv4, pcap, udp } from '../ingest/capture-builders.js'
import { ingestEach, storedHalves, type HalfRow } from '../helpers/store.js'
import { v5, type V5Record } from '../ingest/netflow-builders.js'

const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-pair-icmp-'))
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

const S = 1_700_000_000_000 // ms of 1700000000 s

describe('NetFlow v5 captures: typed ICMP requests and replies of one exporter pair across files', () => {
  // One datagram per record, exported at 1700000010 s with SysUptime 100 000 000 ms; v5 writes
  // ICMP type·256 + code in the destination port (type 8 → 2048, 13 → 3328, 14 → 3584, 0 → 0).
  const dir = path.join(root, 'v5')
  const UP = 100_000_000
  const rec = (src: string, dst: string, typeCode: number, startMs: number, bytes: number) =>
    ({
      src,
      dst,
      srcPort: 0,
      dstPort: typeCode,
      protocol: 1,
      packets: 1,
      bytes,
      first: UP - 10_000 + startMs,
      last: UP - 10_000 + startMs + 1000,
    }) satisfies V5Record
  const capture = (file: string, exporter: string, r: V5Record): string => {
    const datagram = v5({ sysUptime: UP, secs: 1_700_000_010 }, [r])
    writeFileSync(
      file,
      pcap(1, [ether(0x0800, ipv4(exporter, '198.51.100.1', 17, udp(2055, 2055, datagram)))]),
    )
    return file
  }
  const E1 = 'netflow-v5\u0000192.0.2.1:2055'
  const E2 = 'netflow-v5\u0000192.0.2.2:2055'
  const echoRequest = rec('10.0.0.5', '10.0.1.9', 8 * 256, 0, 84)
  const echoReply = rec('10.0.1.9', '10.0.0.5', 0, 500, 168)
  const tsRequest = rec('10.0.0.5', '10.0.1.9', 13 * 256, 0, 40)
  const tsReply = rec('10.0.1.9', '10.0.0.5', 14 * 256, 700, 44)

  // the request alone, as stored: a half (UNPAIRED 1 | ICMP_TYPED 8 = 9) of exporter 1
  const request: HalfRow = {
    src: '10.0.0.5',
    sp: 0,
    dst: '10.0.1.9',
    dp: 8,
    protocol: 1,
    start: S,
    end: S + 1000,
    bytes: 84,
    action: 'unknown',
    direction: 'client-to-server',
    file: 'a.pcap',
    half: 9,
    exporter: E1,
  }

  it('an echo request and its reply of one exporter: one flow, in either order', async () => {
    mkdirSync(dir, { recursive: true })
    const a = capture(path.join(dir, 'a.pcap'), '192.0.2.1', echoRequest)
    const b = capture(path.join(dir, 'b.pcap'), '192.0.2.1', echoReply)
    // by hand: the request's flow 10.0.0.5 → 10.0.1.9 icmp type 8 code 0, 84 + 168 octets,
    // 0 … 1.5 s (the request 0–1 s, the reply 0.5–1.5 s), a.pcap, client-to-server, no longer a half
    const merged: HalfRow = { ...request, end: S + 1500, bytes: 252, half: 0, exporter: null }
    for (const [name, order] of [
      ['ab', [a, b]],
      ['ba', [b, a]],
    ] as const) {
      const store = path.join(dir, `${name}.duckdb`)
      expect((await ingestEach(store, order, 'netflow'))['paired-across-files']).toBe(1)
      expect(await storedHalves(store)).toEqual([merged])
    }
  })

  it('a timestamp request and its reply pair; an echo request does not pair with a timestamp reply', async () => {
    const c = capture(path.join(dir, 'c.pcap'), '192.0.2.1', tsRequest)
    const d = capture(path.join(dir, 'd.pcap'), '192.0.2.1', tsReply)
    const a = capture(path.join(dir, 'a.pcap'), '192.0.2.1', echoRequest)
    // by hand: 10.0.0.5 → 10.0.1.9 type 13 code 0, 40 + 44 octets, 0 … 1.7 s, c.pcap
    const ts = path.join(dir, 'cd.duckdb')
    expect((await ingestEach(ts, [d, c], 'netflow'))['paired-across-files']).toBe(1)
    expect(await storedHalves(ts)).toEqual([
      { ...request, dp: 13, end: S + 1700, bytes: 84, file: 'c.pcap', half: 0, exporter: null },
    ])
    // an echo request (type 8) and a timestamp reply (type 14, answering type 13): two halves;
    // the reply stored as its record (10.0.1.9 → 10.0.0.5 type 14), server-to-client
    const mixed = path.join(dir, 'ad.duckdb')
    expect((await ingestEach(mixed, [a, d], 'netflow'))['paired-across-files']).toBeUndefined()
    expect(await storedHalves(mixed)).toEqual([
      {
        src: '10.0.1.9',
        sp: 0,
        dst: '10.0.0.5',
        dp: 14,
        protocol: 1,
        start: S + 700,
        end: S + 1700,
        bytes: 44,
        action: 'unknown',
        direction: 'server-to-client',
        file: 'd.pcap',
        half: 9,
        exporter: E1,
      },
      request,
    ])
  })

  it('a reply of another exporter, or a second request, stays apart', async () => {
    const a = capture(path.join(dir, 'a.pcap'), '192.0.2.1', echoRequest)
    const e = capture(path.join(dir, 'e.pcap'), '192.0.2.2', echoReply)
    // the same request again from the same exporter (85 octets, the same times): same direction
    const f = capture(path.join(dir, 'f.pcap'), '192.0.2.1', { ...echoRequest, bytes: 85 })
    const store = path.join(dir, 'aef.duckdb')
    expect((await ingestEach(store, [a, e, f], 'netflow'))['paired-across-files']).toBeUndefined()
    expect(await storedHalves(store)).toEqual([
      request,
      { ...request, bytes: 85, file: 'f.pcap' },
      {
        src: '10.0.1.9',
        sp: 0,
        dst: '10.0.0.5',
        dp: 0,
        protocol: 1,
        start: S + 500,
        end: S + 1500,
        bytes: 168,
        action: 'unknown',
        direction: 'server-to-client',
        file: 'e.pcap',
        half: 9,
        exporter: E2,
      },
    ])
  })
})

describe('goflow2: typed ICMP across files', () => {
  const dir = path.join(root, 'goflow2')
  const line = (o: {
    src: string
    dst: string
    type: number
    code?: number
    startS: number
    bytes: number
    status?: number
  }): string =>
    JSON.stringify({
      type: 'IPFIX',
      time_received_ns: '1700000010000000000',
      sampler_address: '192.0.2.1',
      time_flow_start_ns: `${String(1_700_000_000 + o.startS)}000000000`,
      time_flow_end_ns: `${String(1_700_000_001 + o.startS)}000000000`,
      bytes: o.bytes,
      packets: 1,
      src_addr: o.src,
      dst_addr: o.dst,
      etype: o.src.includes(':') ? 'IPv6' : 'IPv4',
      proto: o.src.includes(':') ? 'ICMPv6' : 'ICMP',
      icmp_type: o.type,
      icmp_code: o.code ?? 0,
      forwarding_status: o.status ?? 64,
    })

  it('ICMPv6 echo request (128) and reply (129) of one sampler: one flow, in either order', async () => {
    mkdirSync(dir, { recursive: true })
    const a = path.join(dir, 'a.jsonl')
    const b = path.join(dir, 'b.jsonl')
    writeFileSync(
      a,
      line({ src: '2001:db8::5', dst: '2001:db8::9', type: 128, startS: 0, bytes: 104 }) + '\n',
    )
    writeFileSync(
      b,
      line({ src: '2001:db8::9', dst: '2001:db8::5', type: 129, startS: 1, bytes: 208 }) + '\n',
    )
    // by hand: 2001:db8::5 → 2001:db8::9 icmpv6 type 128 code 0, 312 octets, 0 … 2 s, accept,
    // a.jsonl (the request's), client-to-server
    const merged: HalfRow = {
      src: '2001:db8::5',
      sp: 0,
      dst: '2001:db8::9',
      dp: 128,
      protocol: 58,
      start: S,
      end: S + 2000,
      bytes: 312,
      action: 'accept',
      direction: 'client-to-server',
      file: 'a.jsonl',
      half: 0,
      exporter: null,
    }
    for (const [name, order] of [
      ['ab', [a, b]],
      ['ba', [b, a]],
    ] as const) {
      const store = path.join(dir, `${name}.duckdb`)
      expect((await ingestEach(store, order, 'goflow2'))['paired-across-files']).toBe(1)
      expect(await storedHalves(store)).toEqual([merged])
    }
  })

  it('an echo reply (0/0) read as a reply (its sampler gave a type before in its file) pairs with the request', async () => {
    const a = path.join(dir, 'c.jsonl')
    const b = path.join(dir, 'd.jsonl')
    writeFileSync(
      a,
      line({ src: '10.0.0.5', dst: '10.0.1.9', type: 8, startS: 0, bytes: 84 }) + '\n',
    )
    // d.jsonl: a host unreachable (type 3 code 1) first, so the sampler is known to give types
    writeFileSync(
      b,
      [
        line({ src: '10.0.2.2', dst: '10.0.0.5', type: 3, code: 1, startS: 0, bytes: 56 }),
        line({ src: '10.0.1.9', dst: '10.0.0.5', type: 0, startS: 0, bytes: 168 }),
      ].join('\n') + '\n',
    )
    // by hand: the echo 10.0.0.5 → 10.0.1.9 type 8, 84 + 168 octets, 0 … 1 s, c.jsonl; the
    // unreachable pairs with nothing: a half (9) as written, direction unknown
    const store = path.join(dir, 'cd.duckdb')
    expect((await ingestEach(store, [b, a], 'goflow2'))['paired-across-files']).toBe(1)
    expect(await storedHalves(store)).toEqual([
      {
        src: '10.0.2.2',
        sp: 1,
        dst: '10.0.0.5',
        dp: 3,
        protocol: 1,
        start: S,
        end: S + 1000,
        bytes: 56,
        action: 'accept',
        direction: 'unknown',
        file: 'd.jsonl',
        half: 9,
        exporter: 'IPFIX\u0000192.0.2.1',
      },
      {
        src: '10.0.0.5',
        sp: 0,
        dst: '10.0.1.9',
        dp: 8,
        protocol: 1,
        start: S,
        end: S + 1000,
        bytes: 252,
        action: 'accept',
        direction: 'client-to-server',
        file: 'c.jsonl',
        half: 0,
        exporter: null,
      },
    ])
  })
})
