import { describe, it, expect } from 'vitest'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { BulkheadError } from '../../src/core/index.js'
import { conntrackParser } from '../../src/ingest/formats/conntrack.js'
import { readAsFile } from '../helpers/files.js'
import { hubbleParser as hubbleParserForDetect } from '../../src/ingest/formats/hubble.js'
import { zeekParser as zeekParserForDetect } from '../../src/ingest/formats/zeek.js'
import { linesOf, runLines } from './text-helpers.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/flows/', import.meta.url))

const run = (lines: readonly string[], file = 'ct.txt', strict = false) =>
  runLines(conntrackParser, lines, { file, strict })
const fixture = (name: string): string => readFileSync(FIXTURES + name, 'utf8')
const head = (text: string): Uint8Array => new TextEncoder().encode(text.slice(0, 65536))

describe('conntrack -L (conntrack-list.txt)', () => {
  it('maps tuples, DNAT, counters, ICMP and UNREPLIED', async () => {
    const { flows, ctx } = await run(linesOf(fixture('conntrack-list.txt')), 'conntrack-list.txt')
    expect(ctx.stats.skipped).toEqual({})
    expect(flows).toHaveLength(7)
    // Service 10.96.0.10:53 DNATed to the CoreDNS pod
    expect(flows[0]).toEqual({
      src: '10.244.1.17',
      dst: '10.244.3.5',
      srcPort: 51234,
      dstPort: 53,
      protocol: 6,
      start: 0,
      end: 0,
      packets: 9,
      bytes: 1020,
      observedAction: 'accept',
      direction: 'client-to-server',
      source: { format: 'conntrack', file: 'conntrack-list.txt', line: 1 },
    })
    // Service port 80 → backend pod port 8080
    expect(flows[1]).toMatchObject({ dst: '10.244.2.33', dstPort: 8080, packets: 22, bytes: 10800 })
    expect(flows[2]).toMatchObject({
      protocol: 17,
      dst: '10.244.3.5',
      dstPort: 53,
      observedAction: 'unknown',
      packets: 1,
      bytes: 76,
    })
    expect(flows[3]).toMatchObject({
      protocol: 1,
      dstPort: 8,
      srcPort: 0,
      dst: '10.20.2.21',
      packets: 2,
      bytes: 168,
    })
    expect(flows[4]).toMatchObject({
      protocol: 58,
      src: '2001:db8:0:1::11',
      dstPort: 128,
      srcPort: 0,
    })
    expect(flows[5]).toMatchObject({
      protocol: 6,
      dst: '2001:db8:0:2::21',
      dstPort: 22,
      packets: 0,
      bytes: 0,
    })
    expect(flows[6]).toMatchObject({ protocol: 47, srcPort: 0, dstPort: 0, dst: '192.0.2.2' })
    expect(ctx.stats.notes).toEqual({ dnat: 2, 'no-timestamp': 7, 'summary-line': 1 })
  })
})

describe('conntrack -o extended / /proc/net/nf_conntrack (conntrack-extended.txt)', () => {
  it('skips the layer-3 columns', async () => {
    const { flows, ctx } = await run(linesOf(fixture('conntrack-extended.txt')))
    expect(ctx.stats.skipped).toEqual({})
    expect(flows).toHaveLength(4)
    expect(flows[0]).toMatchObject({
      src: '10.20.1.11',
      dst: '10.20.3.5',
      dstPort: 22,
      protocol: 6,
      observedAction: 'unknown',
    })
    expect(flows[1]).toMatchObject({
      src: '2001:db8::30:7',
      dst: '2001:db8::53',
      protocol: 17,
      dstPort: 53,
      observedAction: 'accept',
    })
    expect(flows[2]).toMatchObject({ dstPort: 5432, packets: 26, bytes: 10956, start: 0, end: 0 })
    expect(flows[3]).toMatchObject({
      protocol: 1,
      dstPort: 8,
      dst: '10.20.9.9',
      observedAction: 'unknown',
    })
  })
})

describe('conntrack -E -o timestamp (conntrack-events.txt)', () => {
  it('takes times from the event stamp, delta-time and [start]/[stop]', async () => {
    const { flows, ctx } = await run(linesOf(fixture('conntrack-events.txt')))
    expect(ctx.stats.skipped).toEqual({})
    expect(flows).toHaveLength(7)
    expect(flows[0]).toMatchObject({
      start: 1709632800123,
      end: 1709632800123,
      dst: '10.244.2.33',
      dstPort: 8080,
      observedAction: 'unknown',
    })
    expect(flows[1]).toMatchObject({ start: 1709632800124, observedAction: 'accept' })
    expect(flows[3]).toMatchObject({
      start: 1709632800500,
      end: 1709632830500,
      packets: 18,
      bytes: 7600,
      observedAction: 'accept',
    })
    expect(flows[4]).toMatchObject({
      protocol: 1,
      dstPort: 8,
      start: 1709632831000,
      observedAction: 'unknown',
    })
    expect(flows[5]).toMatchObject({ protocol: 58, dstPort: 128, src: '2001:db8:0:1::11' })
    expect(flows[6]).toMatchObject({
      start: Date.UTC(2024, 2, 5, 10, 1, 38),
      end: Date.UTC(2024, 2, 5, 10, 1, 40),
      packets: 2,
      bytes: 183,
    })
    expect(ctx.stats.notes).toEqual({ dnat: 4, 'local-time-as-utc': 1 })
  })
})

describe('conntrack malformed lines', () => {
  const cases: [string, string, string][] = [
    ['free text', 'hello world', 'bad-protocol'],
    ['no dst', 'tcp 6 10 ESTABLISHED src=10.0.0.1', 'missing-tuple'],
    [
      'bad address',
      'tcp 6 10 ESTABLISHED src=10.0.0.300 dst=10.0.0.2 sport=1 dport=2',
      'bad-address',
    ],
    ['port out of range', 'udp 17 10 src=10.0.0.1 dst=10.0.0.2 sport=70000 dport=53', 'bad-port'],
    ['tcp without ports', 'tcp 6 10 ESTABLISHED src=10.0.0.1 dst=10.0.0.2', 'missing-port'],
    [
      'bad counter',
      'udp 17 10 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=53 packets=x bytes=1',
      'bad-counter',
    ],
    [
      'bad start',
      'udp 17 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=53 [start=soon]',
      'bad-timestamp',
    ],
    [
      'three tuples',
      'udp 17 1 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1 src=1.1.1.1',
      'too-many-tuples',
    ],
    ['icmp without type', 'icmp 1 10 src=10.0.0.1 dst=10.0.0.2 code=0 id=1', 'bad-icmp-type'],
  ]
  for (const [name, text, reason] of cases) {
    it(`skips ${name} as ${reason}`, async () => {
      const { flows, ctx } = await run([text])
      expect(flows).toHaveLength(0)
      expect(ctx.stats.skipped).toEqual({ [reason]: 1 })
      expect(ctx.stats.examples[0]).toMatchObject({ where: 'ct.txt:1', reason })
    })
  }

  it('throws BulkheadError in strict mode', async () => {
    const err = await run(['hello world'], 'ct.txt', true).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BulkheadError)
    expect((err as BulkheadError).diagnostics[0]).toMatchObject({
      code: 'ingest/malformed-record',
      location: { file: 'ct.txt', line: 1 },
    })
  })
})

describe('conntrack detect', () => {
  it('recognises its fixtures and rejects the others', () => {
    for (const f of ['conntrack-list.txt', 'conntrack-events.txt', 'conntrack-extended.txt'])
      expect(conntrackParser.detect(head(fixture(f))), f).toBeGreaterThan(0.5)
    for (const f of [
      'zeek-conn.log',
      'zeek-conn.json',
      'zeek-btest-columns.log',
      'hubble-jsonpb.json',
      'hubble-json-legacy.json',
    ]) {
      expect(conntrackParser.detect(head(fixture(f))), f).toBe(0)
    }
  })
})

describe('zeek, hubble and conntrack detect return 0 for the other formats', () => {
  const OTHERS: Record<string, string> = {
    'aws-vpc':
      'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK\n',
    'azure-nsg':
      '{"records":[{"time":"2024-03-05T10:00:00Z","properties":{"Version":2,"flows":[{"rule":"DefaultRule_AllowInternetOutBound","flows":[{"mac":"000D3AF87856","flowTuples":["1709632800,10.0.0.4,13.67.143.118,44931,443,T,O,A,B,,,,"]}]}]}}]}\n',
    'gcp-vpc':
      '{"insertId":"abc","jsonPayload":{"connection":{"src_ip":"10.128.0.2","src_port":22,"dest_ip":"35.235.241.16","dest_port":51234,"protocol":6},"reporter":"SRC","bytes_sent":"1200","packets_sent":"10","start_time":"2024-03-05T10:00:00Z","end_time":"2024-03-05T10:00:05Z"},"logName":"projects/p/logs/compute.googleapis.com%2Fvpc_flows"}\n',
    csv: 'src_ip,dst_ip,src_port,dst_port,protocol,start,end,packets,bytes,action\n10.0.0.1,10.0.0.2,40000,443,tcp,2024-03-05T10:00:00Z,2024-03-05T10:00:01Z,10,1000,accept\n',
  }
  const parsers = {
    zeek: zeekParserForDetect,
    hubble: hubbleParserForDetect,
    conntrack: conntrackParser,
  }
  for (const [format, text] of Object.entries(OTHERS)) {
    it(format, () => {
      for (const [name, p] of Object.entries(parsers))
        expect(p.detect(head(text)), `${name} on ${format}`).toBe(0)
    })
  }
})

describe('conntrack output as real tools write it', () => {
  // conntrack-tools src/conntrack.c prints `[%-8ld.%-6ld]`: microseconds as an integer, padded
  const short = [
    '[1712662404.88094 ]\t [UPDATE] tcp      6 60 SYN_RECV src=192.168.7.101 dst=157.240.251.61 sport=52717 dport=5222 src=157.240.251.61 dst=87.138.198.79 sport=5222 dport=26886 mark=25165825',
    '[1712662404.5     ]\t [UPDATE] tcp      6 60 SYN_RECV src=192.168.7.101 dst=157.240.251.61 sport=52718 dport=5222 src=157.240.251.61 dst=87.138.198.79 sport=5222 dport=26887 mark=25165825',
  ]

  it('a timestamp with fewer than six microsecond digits is microseconds, and is read', async () => {
    const { flows, ctx } = await run(short)
    expect(ctx.stats.skipped).toEqual({})
    expect(flows.map((f) => f.start)).toEqual([1_712_662_404_088, 1_712_662_404_000])
    expect(conntrackParser.detect(head(`${short.join('\n')}\n`))).toBeGreaterThan(0.5)
  })

  it('the closing summary after an echoed ^C is a note, not a malformed record', async () => {
    const { ctx } = await run([
      '[DESTROY] udp      17 src=192.168.88.62 dst=172.26.38.1 sport=52725 dport=53 packets=1 bytes=86 [UNREPLIED] src=172.26.38.1 dst=192.168.88.62 sport=53 dport=52725 packets=0 bytes=0 mark=256',
      '^Cconntrack v1.4.5 (conntrack-tools): 18 flow events have been shown.',
    ])
    expect(ctx.stats.skipped).toEqual({})
    expect(ctx.stats.notes).toMatchObject({ 'summary-line': 1 })
  })

  it('a listing without times takes the file modification time (when it was written)', async () => {
    const when = new Date('2026-05-01T08:00:00Z')
    const { flows, summary } = await readAsFile(
      'tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=443 src=10.0.0.2 dst=10.0.0.1 sport=443 dport=40000 [ASSURED] mark=0 use=1\n',
      { name: 'ct.txt', mtime: when },
    )
    expect(flows[0]).toMatchObject({ start: when.getTime(), end: when.getTime() })
    expect(summary.stats.notes).toEqual({ 'time-from-file-mtime': 1 })
  })
})
