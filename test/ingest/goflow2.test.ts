/**
 * goflow2's JSON lines (formats/goflow2.ts): hand-written fixtures in the layouts goflow2 v2
 * (`producer/proto/render.go`, README "Get started") and v1 (`format/common/text.go`, protobuf
 * JSON with base64 addresses) write, read end to end (detection, pairing per exporter,
 * orientation); each expected flow computed by hand from the records.
 */
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { BulkheadError, type Flow } from '../../src/core/index.js'
import { goflow2Parser } from '../../src/ingest/formats/goflow2.js'
import { readFlows, type FileSummary } from '../../src/ingest/read.js'
import { fixtureText, runParser } from './text-helpers.js'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const FIXTURES = fileURLToPath(new URL('../fixtures/flows/', import.meta.url))
const S = 1_700_000_000_000 // ms of 1700000000 s

async function read(
  name: string,
  opts: { strict?: boolean; pair?: boolean; format?: 'auto' | 'goflow2' } = {},
): Promise<{ flows: Flow[]; summary: FileSummary }> {
  const summaries: FileSummary[] = []
  const flows: Flow[] = []
  for await (const f of readFlows(
    [FIXTURES + name],
    { format: opts.format ?? 'auto', strict: opts.strict ?? false, pair: opts.pair ?? true },
    summaries,
  ))
    flows.push(f)
  flows.sort((a, b) => (a.source.line ?? 0) - (b.source.line ?? 0))
  return { flows, summary: summaries[0] as FileSummary }
}

const src = (name: string, line: number) => ({ format: 'goflow2', file: FIXTURES + name, line })

describe('goflow2 v2 JSON (goflow2-v2.jsonl)', () => {
  it('detects it, pairs one exporter`s two records, reads actions, ICMP, sFlow and notes', async () => {
    const { flows, summary } = await read('goflow2-v2.jsonl')
    expect(summary.format).toBe('goflow2')
    expect(summary.stats.skipped).toEqual({})
    expect(summary.stats.notes).toEqual({
      'paired-directions': 2,
      'sampling-rate:100': 1,
      'sampling-rate:512': 1,
      'sflow-sample': 1,
      'not-ip': 1,
      'unnamed-protocol': 1,
    })
    expect(flows).toEqual([
      // lines 1 + 2: the client's and the server's record of one connection, one exporter
      {
        src: '10.0.0.5',
        srcPort: 51000,
        dst: '10.0.1.9',
        dstPort: 443,
        protocol: 6,
        start: S,
        end: S + 5000,
        packets: 18,
        bytes: 6200,
        observedAction: 'accept', // forwarding_status 64: forwarded
        direction: 'client-to-server',
        tcpFlags: 27,
        source: src('goflow2-v2.jsonl', 1),
      },
      // forwarding_status 130 (0b10xxxxxx): dropped
      {
        src: '10.0.0.7',
        srcPort: 40000,
        dst: '10.0.1.53',
        dstPort: 53,
        protocol: 17,
        start: S + 11_000,
        end: S + 11_000,
        packets: 1,
        bytes: 80,
        observedAction: 'reject',
        direction: 'client-to-server',
        source: src('goflow2-v2.jsonl', 3),
      },
      // lines 4 + 5: echo request (icmp_type 8) and reply (type 0 from an exporter that gives types)
      {
        src: '10.0.0.5',
        srcPort: 0,
        dst: '10.0.1.9',
        dstPort: 8,
        protocol: 1,
        start: S + 21_000,
        end: S + 21_001,
        packets: 2,
        bytes: 168,
        observedAction: 'accept',
        direction: 'client-to-server',
        source: src('goflow2-v2.jsonl', 4),
      },
      // an sFlow sample: one packet from the server (443) to the client, turned round by ports
      {
        src: '2001:db8::5',
        srcPort: 50001,
        dst: '2001:db8::20',
        dstPort: 443,
        protocol: 6,
        start: S + 40_123,
        end: S + 40_123,
        packets: 1,
        bytes: 1500,
        observedAction: 'unknown',
        direction: 'client-to-server',
        tcpFlags: 16,
        source: src('goflow2-v2.jsonl', 6),
      },
      {
        src: '10.0.0.8',
        srcPort: 45000,
        dst: '10.0.4.4',
        dstPort: 5432,
        protocol: 6,
        start: S + 47_000,
        end: S + 49_000,
        packets: 2,
        bytes: 120,
        observedAction: 'unknown',
        direction: 'client-to-server',
        tcpFlags: 2,
        source: src('goflow2-v2.jsonl', 9),
      },
    ])
  })

  it('--no-pair keeps the two records of a connection apart', async () => {
    const { flows, summary } = await read('goflow2-v2.jsonl', { pair: false })
    expect(flows.map((f) => f.source.line)).toEqual([1, 2, 3, 4, 5, 6, 9])
    expect(summary.stats.notes['paired-directions']).toBeUndefined()
    // the server's record turned round by its ports, its own counters kept
    expect(flows[1]).toMatchObject({ src: '10.0.0.5', dst: '10.0.1.9', packets: 8, bytes: 5000 })
  })

  it('does not pair records of two exporters', async () => {
    const text = fixtureText('goflow2-v2.jsonl').split('\n')
    const other = (text[1] ?? '').replace(
      '"sampler_address":"192.0.2.1"',
      '"sampler_address":"192.0.2.77"',
    )
    const dir = mkdtempSync(join(tmpdir(), 'goflow2-'))
    try {
      writeFileSync(join(dir, 'two.jsonl'), [text[0] ?? '', other].join('\n'))
      const summaries: FileSummary[] = []
      const flows: Flow[] = []
      for await (const f of readFlows(
        [join(dir, 'two.jsonl')],
        { format: 'auto', strict: false },
        summaries,
      ))
        flows.push(f)
      expect(flows).toHaveLength(2)
      expect(summaries[0]?.stats.notes['paired-directions']).toBeUndefined()
    } finally {
      rmSync(dir, { recursive: true })
    }
  })
})

/** Runs the parser alone (no pairing: no `halves` in its context). */
function runGoflow2(text: string, strict = false) {
  return runParser(goflow2Parser, text, { file: 'g.jsonl', strict })
}

describe('goflow2 v1 JSON (goflow2-v1.jsonl)', () => {
  it('reads CamelCase keys, seconds, numbers and base64 addresses', async () => {
    const { flows, summary } = await read('goflow2-v1.jsonl')
    expect(summary.format).toBe('goflow2')
    expect(summary.stats.skipped).toEqual({})
    expect(summary.stats.notes).toEqual({ 'time-from-received': 1 })
    expect(flows).toEqual([
      {
        src: '10.0.0.8',
        srcPort: 45000,
        dst: '10.0.4.4',
        dstPort: 5432,
        protocol: 6,
        start: S,
        end: S + 3000,
        packets: 3,
        bytes: 300,
        observedAction: 'unknown',
        direction: 'client-to-server',
        tcpFlags: 2,
        source: src('goflow2-v1.jsonl', 1),
      },
      {
        src: '10.0.0.5',
        srcPort: 53000,
        dst: '10.0.1.9',
        dstPort: 53,
        protocol: 17,
        start: S,
        end: S + 1000,
        packets: 1,
        bytes: 64,
        observedAction: 'unknown',
        direction: 'client-to-server',
        source: src('goflow2-v1.jsonl', 2),
      },
      {
        src: '2001:db8::1',
        srcPort: 0,
        dst: '2001:db8::2',
        dstPort: 128,
        protocol: 58,
        start: S + 20_000,
        end: S + 20_000,
        packets: 0,
        bytes: 0,
        observedAction: 'unknown',
        direction: 'client-to-server',
        source: src('goflow2-v1.jsonl', 3),
      },
    ])
  })
})

describe('goflow2 bad records (goflow2-bad.jsonl)', () => {
  it('skips each with its reason and line', async () => {
    const { flows, summary } = await read('goflow2-bad.jsonl')
    expect(flows.map((f) => f.source.line)).toEqual([1])
    expect(summary.stats.skipped).toEqual({
      'bad-json': 1,
      'missing-address': 1,
      'bad-port': 1,
      'bad-etype': 1,
      'etype-mismatch': 1,
    })
    expect(summary.stats.examples.map((e) => [e.reason, e.where.split(':').pop()])).toEqual([
      ['bad-json', '2'],
      ['missing-address', '3'],
      ['bad-port', '4'],
      ['bad-etype', '5'],
      ['etype-mismatch', '6'],
    ])
  })

  it('--strict stops at the first, line 2', async () => {
    const err = await read('goflow2-bad.jsonl', { strict: true }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BulkheadError)
    const d = (err as BulkheadError).diagnostics[0]
    expect(d?.code).toBe('ingest/malformed-record')
    expect(d?.location?.line).toBe(2)
    expect(d?.message).toMatch(/^bad-json/)
  })

  it.each([
    ['bad-type', { type: 'NETFLOW_V6' }],
    ['bad-protocol', { proto: 'NOPE' }],
    ['bad-protocol', { proto: 256 }],
    ['bad-address', { src_addr: '10.0.0.300' }],
    ['missing-port', { dst_port: undefined }],
    ['bad-icmp-type', { proto: 'ICMP', icmp_type: 300 }],
    ['bad-counter', { bytes: -1 }],
    ['bad-counter', { packets: 2 ** 60 }],
    ['bad-time', { time_flow_start_ns: 'yesterday' }],
    ['end-before-start', { time_flow_end_ns: 1 }],
    ['bad-field', { forwarding_status: 'x' }],
  ])('%s: %j', async (reason, over) => {
    const base = JSON.parse(fixtureText('goflow2-bad.jsonl').split('\n')[0] ?? '') as Record<
      string,
      unknown
    >
    const { flows, ctx } = await runGoflow2(JSON.stringify({ ...base, ...over }))
    expect(flows).toEqual([])
    expect(ctx.stats.skipped).toEqual({ [reason]: 1 })
  })

  it('an ICMP record without a type is an echo request, as the NetFlow decoder reads it', async () => {
    const base = JSON.parse(fixtureText('goflow2-bad.jsonl').split('\n')[0] ?? '') as Record<
      string,
      unknown
    >
    const line = { ...base, proto: 'ICMP', src_port: 0, dst_port: 0, icmp_type: 0, icmp_code: 0 }
    const { flows, ctx } = await runGoflow2(JSON.stringify(line))
    expect(flows[0]).toMatchObject({ protocol: 1, dstPort: 8, srcPort: 0 })
    expect(ctx.stats.notes).toEqual({ 'icmp-type-assumed-echo': 1 })
  })

  it('counters absent are 0, noted', async () => {
    const base = JSON.parse(fixtureText('goflow2-bad.jsonl').split('\n')[0] ?? '') as Record<
      string,
      unknown
    >
    const { flows, ctx } = await runGoflow2(
      JSON.stringify({ ...base, bytes: undefined, packets: undefined }),
    )
    expect(flows[0]).toMatchObject({ packets: 0, bytes: 0 })
    expect(ctx.stats.notes).toEqual({ 'counters-not-logged': 1 })
  })
})

describe('goflow2 detection', () => {
  const enc = (s: string) => new TextEncoder().encode(s)
  it('claims goflow2 lines of both layouts and nothing else', () => {
    expect(goflow2Parser.detect(enc(fixtureText('goflow2-v2.jsonl')))).toBeGreaterThan(0.9)
    expect(goflow2Parser.detect(enc(fixtureText('goflow2-v1.jsonl')))).toBeGreaterThan(0.9)
    for (const other of ['gcp.jsonl', 'zeek-conn.json', 'hubble-jsonpb.json', 'flows.csv'])
      expect(goflow2Parser.detect(enc(fixtureText(other)))).toBe(0)
    expect(goflow2Parser.detect(enc('{"type":"IPFIX"}'))).toBe(0)
  })
})

describe('goflow2 nanosecond times (v2 `time_*_ns`, v1.3+ `Time*Ns`)', () => {
  // pb/flow.proto: time_received_ns = 110, time_flow_start_ns = 111, time_flow_end_ns = 112
  // (uint64 Unix ns). Expected ms computed by hand: ns ÷ 10^6, rounded down.
  // 1700000000123999999 ns: exactly 1700000000123 ms (+ 999999 ns); as a double it is
  // 1700000000124000000 (doubles near 1.7e18 are 256 apart), so a reading through the parsed
  // number gives 1700000000124.
  const v1 = {
    Type: 'NETFLOW_V9',
    SamplerAddress: '192.0.2.1',
    SrcAddr: '10.0.0.8',
    DstAddr: '10.0.4.4',
    Etype: 2048,
    Proto: 6,
    SrcPort: 45000,
    DstPort: 5432,
    Bytes: 300,
    Packets: 3,
    TimeReceived: 1700000010,
    TimeFlowStart: 1700000000,
    TimeFlowEnd: 1700000003,
  }

  it('v2: a JSON number above 2^53 is read from its digits, exactly', async () => {
    const base = JSON.parse(fixtureText('goflow2-bad.jsonl').split('\n')[0] ?? '') as Record<
      string,
      unknown
    >
    const text = JSON.stringify({ ...base, time_flow_start_ns: 0, time_flow_end_ns: 0 })
      .replace('"time_flow_start_ns":0', '"time_flow_start_ns":1700000000123999999')
      .replace('"time_flow_end_ns":0', '"time_flow_end_ns": 1700000002000000001')
    const { flows, ctx } = await runGoflow2(text)
    expect(ctx.stats.skipped).toEqual({})
    expect(flows[0]).toMatchObject({ start: 1_700_000_000_123, end: 1_700_000_002_000 })
  })

  it('v2: a decimal string (protobuf JSON uint64) is exact too', async () => {
    const base = JSON.parse(fixtureText('goflow2-bad.jsonl').split('\n')[0] ?? '') as Record<
      string,
      unknown
    >
    const { flows } = await runGoflow2(
      JSON.stringify({
        ...base,
        time_flow_start_ns: '1700000000123999999',
        time_flow_end_ns: '1700000000999999999',
      }),
    )
    expect(flows[0]).toMatchObject({ start: 1_700_000_000_123, end: 1_700_000_000_999 })
  })

  it('v1.3+: TimeFlowStartNs/TimeFlowEndNs win over the seconds keys', async () => {
    const text = JSON.stringify({ ...v1, TimeFlowStartNs: 0, TimeFlowEndNs: 0 })
      .replace('"TimeFlowStartNs":0', '"TimeFlowStartNs":1700000000250999999')
      .replace('"TimeFlowEndNs":0', '"TimeFlowEndNs":1700000002750000000')
    const { flows, ctx } = await runGoflow2(text)
    expect(ctx.stats.skipped).toEqual({})
    // seconds alone would give 1700000000000 and 1700000003000
    expect(flows[0]).toMatchObject({ start: 1_700_000_000_250, end: 1_700_000_002_750 })
  })

  it('v1.3+: TimeReceivedNs when the flow has no time, noted', async () => {
    const text = JSON.stringify({
      ...v1,
      TimeFlowStart: 0,
      TimeFlowEnd: 0,
      TimeReceivedNs: 0,
    }).replace('"TimeReceivedNs":0', '"TimeReceivedNs":1700000010999999999')
    const { flows, ctx } = await runGoflow2(text)
    expect(flows[0]).toMatchObject({ start: 1_700_000_010_999, end: 1_700_000_010_999 })
    expect(ctx.stats.notes).toEqual({ 'time-from-received': 1 })
  })

  it('a key written twice: its last value, as for every other field (JSON.parse keeps the last)', async () => {
    // 1700000000000999999 and 1700000000001000000 are one double (1700000000001000000), so
    // the first key's digits read as the parsed value; by hand the record's start is the last
    // key's, 1700000000001000000 ns = 1700000000001 ms (the first's would be 1700000000000)
    const { flows, ctx } = await runGoflow2(
      '{"type":"IPFIX","sampler_address":"192.0.2.1","time_flow_start_ns":1700000000000999999,' +
        '"time_flow_end_ns":1700000002000000000,"src_addr":"10.0.0.5","dst_addr":"10.0.1.9",' +
        '"etype":"IPv4","proto":"TCP","src_port":51000,"dst_port":443,"bytes":1200,"packets":10,' +
        '"time_flow_start_ns":1700000000001000000}',
    )
    expect(ctx.stats.skipped).toEqual({})
    expect(flows.map((f) => [f.start, f.end])).toEqual([[1_700_000_000_001, 1_700_000_002_000]])
  })
})

describe('goflow2 v1 messages marshalled by Go `encoding/json` (`Type` as its enum number)', () => {
  // The layout netobserv's goflow2-kube enricher and similar pipelines write: the protobuf
  // FlowMessage through encoding/json, so `bytes` are base64 and the `FlowType` enum a number
  // (pb/flow.proto: FLOWUNKNOWN 0, SFLOW_5 1, NETFLOW_V5 2, NETFLOW_V9 3, IPFIX 4). Hand-written
  // after such a record (a NetFlow v5 generator's flow to MySQL, SamplerAddress 127.0.0.1).
  const line = {
    Type: 2,
    TimeReceived: 1727959923,
    SequenceNum: 20362,
    SamplingRate: 0,
    SamplerAddress: 'fwAAAQ==',
    TimeFlowStart: 1727959922,
    TimeFlowEnd: 1727959922,
    TimeFlowStartMs: 1727959921518,
    TimeFlowEndMs: 1727959921619,
    Bytes: 120,
    Packets: 944,
    SrcAddr: '10.154.20.12',
    DstAddr: '77.12.190.94',
    Etype: 2048,
    Proto: 6,
    SrcPort: 9010,
    DstPort: 3306,
    NextHop: 'lhSRAQ==',
    ForwardingStatus: 0,
    TcpFlags: 0,
  }

  it('reads Type 2 as NETFLOW_V5: the flow, its milliseconds, v1.1+ `TcpFlags`', async () => {
    const { flows, ctx } = await runGoflow2(JSON.stringify({ ...line, TcpFlags: 0x12 }))
    expect(ctx.stats.skipped).toEqual({})
    expect(flows).toEqual([
      {
        src: '10.154.20.12',
        srcPort: 9010,
        dst: '77.12.190.94',
        dstPort: 3306,
        protocol: 6,
        start: 1_727_959_921_518,
        end: 1_727_959_921_619,
        packets: 944,
        bytes: 120,
        observedAction: 'unknown',
        direction: 'unknown', // reading orients it (next test)
        tcpFlags: 0x12,
        source: { format: 'goflow2', file: 'g.jsonl', line: 1 },
      },
    ])
  })

  it('detects the file as goflow2 (not as a CSV whose header is the JSON keys)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulkhead-goflow2-'))
    try {
      const file = join(dir, 'flows.json')
      writeFileSync(file, JSON.stringify(line) + '\n')
      const summaries: FileSummary[] = []
      const flows: Flow[] = []
      for await (const f of readFlows([file], { format: 'auto', strict: false }, summaries))
        flows.push(f)
      expect(summaries[0]?.format).toBe('goflow2')
      expect(summaries[0]?.stats.skipped).toEqual({})
      // MySQL's 3306 is the listed server port
      expect(flows).toMatchObject([
        { src: '10.154.20.12', dst: '77.12.190.94', dstPort: 3306, direction: 'client-to-server' },
      ])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a number that is no FlowType is bad-type', async () => {
    for (const Type of [5, -1, 2.5]) {
      const { flows, ctx } = await runGoflow2(JSON.stringify({ ...line, Type }))
      expect(flows).toEqual([])
      expect(ctx.stats.skipped).toEqual({ 'bad-type': 1 })
    }
  })
})

describe('goflow2 v1.1+ JSON key names', () => {
  it('reads `TcpFlags` (v1.0 wrote `TCPFlags`) on a v1.3 IPFIX record', async () => {
    // after goflow2 v1.3's own JSON output (`"Type":"IPFIX"`, `IpTos`, `TcpFlags`, `SrcAs`)
    const line = {
      Type: 'IPFIX',
      TimeReceived: 1703760968,
      SamplingRate: 10,
      SamplerAddress: '1.0.0.6',
      TimeFlowStart: 1703760967,
      TimeFlowEnd: 1703760968,
      Bytes: 60,
      Packets: 1,
      SrcAddr: '10.0.36.1',
      DstAddr: '10.0.36.2',
      Etype: 2048,
      Proto: 6,
      SrcPort: 37892,
      DstPort: 443,
      IpTos: 0,
      TcpFlags: 2,
      SrcAs: 0,
    }
    const { flows, ctx } = await runGoflow2(JSON.stringify(line))
    expect(ctx.stats.skipped).toEqual({})
    expect(flows).toMatchObject([{ protocol: 6, tcpFlags: 2, dstPort: 443 }])
  })
})
