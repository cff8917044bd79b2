/**
 * @module goflow2's JSON output (`goflow2 -format=json`): one flow message per line, of NetFlow
 * v5, NetFlow v9, IPFIX or sFlow v5, as the netsampler/goflow2 collector decoded it.
 *
 * Two layouts are read, told apart by their keys:
 * - goflow2 v2 (`producer/proto/render.go`, README "Get started"): snake_case keys, `type`
 *   (`NETFLOW_V5`, `NETFLOW_V9`, `IPFIX`, `SFLOW_5`), `time_received_ns`, `time_flow_start_ns`,
 *   `time_flow_end_ns` (Unix nanoseconds; an RFC 3339 string with the `datetimenano` renderer),
 *   `src_addr`/`dst_addr`/`sampler_address` as text (`""` when the record had none), `etype` by
 *   name (`IPv4`, `IPv6`, `ARP`; `""` for another number; a number with the renderer set to
 *   `none`), `proto` by name (`TCP`, `UDP`, `ICMP`, `ICMPv6`, `SCTP`; `""` for another protocol
 *   in v2.0–2.1, IANA keywords in later versions; a number with the renderer `none`), every field
 *   written, zero or not.
 * - goflow2 v1 (`format/common/text.go`, README of v1): the protobuf's CamelCase field names,
 *   `TimeFlowStart`/`TimeFlowEnd`/`TimeReceived` in Unix seconds (`TimeFlowStartMs`/`…EndMs` in
 *   milliseconds where present; v1.3+ also `TimeFlowStartNs`/`TimeFlowEndNs`/`TimeReceivedNs` in
 *   nanoseconds, fields 111/112/110 as v2's `time_*_ns`), `Etype`/`Proto` as numbers (beside
 *   `EtypeName`/`ProtoName`),
 *   addresses as text, or base64 of 4 or 16 bytes as protobuf's JSON mapping writes `bytes`; Go's
 *   `encoding/json` of the protobuf message (netobserv's goflow2-kube enricher) also writes
 *   `Type` as its enum number (`4` for `IPFIX`), read as the name.
 * Integers may also be decimal strings (protobuf's JSON mapping writes 64-bit ones so). Times:
 * the finest key present wins (ns, then ms, then s); nanoseconds are read exactly from the line's
 * digits (they exceed 2^53) and truncated to ms.
 * @see https://github.com/netsampler/goflow2 (README "Output format", docs/protocols.md)
 */
import {
  hasPorts,
  isIcmpReply,
  type Flow,
  type FlowDirection,
  type ObservedAction,
} from '../../core/index.js'
import { MAX_TIME_MS, parseAddress, parseIsoTime, parseProtocol } from '../fields.js'
import type { PairHalf } from '../netflow/decoder.js'
import {
  firstJsonObject,
  jsonRecord,
  flowGiven,
  flowNote,
  note,
  skip,
  type LineParser,
  type LineReader,
  type ParseContext,
} from '../types.js'

/** goflow2's message types (`pb/flow.proto` `FlowType`), in the order of their enum numbers. */
const TYPE_NAMES: readonly string[] = [
  'FLOWUNKNOWN',
  'SFLOW_5',
  'NETFLOW_V5',
  'NETFLOW_V9',
  'IPFIX',
]
const TYPES: ReadonlySet<string> = new Set(TYPE_NAMES)

/**
 * The message type's name from a `type`/`Type` value: the enum's name as goflow2 renders it
 * (`IPFIX`), or its number (`4`) as Go's `encoding/json` writes the protobuf `FlowMessage` (the
 * layout with base64 `bytes` addresses, as netobserv's goflow2-kube enricher emits it). @returns
 * undefined for anything else.
 */
function typeName(v: unknown): string | undefined {
  if (typeof v === 'string') return TYPES.has(v) ? v : undefined
  if (typeof v === 'number' && Number.isInteger(v)) return TYPE_NAMES[v]
  return undefined
}

/**
 * The value of a field under its v2 (snake_case) or v1 (CamelCase) name, or the other v1 names
 * it had (v1.0 `TCPFlags`, v1.1+ `TcpFlags`, as the protobuf's Go names changed).
 */
function field(o: Record<string, unknown>, v2: string, ...v1: string[]): unknown {
  const v = o[v2]
  if (v !== undefined) return v
  for (const name of v1) if (o[name] !== undefined) return o[name]
  return undefined
}

/**
 * A non-negative integer: a JSON number, or a decimal string (protobuf JSON's 64-bit integers).
 * @returns undefined when absent (`null` too), NaN when present but not an integer 0…`max`.
 */
function uint(v: unknown, max: number): number | undefined {
  if (v === undefined || v === null) return undefined
  const n =
    typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,20}$/.test(v) ? Number(v) : NaN
  return Number.isInteger(n) && n >= 0 && n <= max ? n : NaN
}

/**
 * A time field in ms: a number (or decimal string) in `unitMs` milliseconds per unit (1e-6 for
 * nanoseconds, 1000 for seconds), or an RFC 3339 string (the `datetimenano` renderer). 0 and
 * absent: undefined (goflow2 writes 0 for a time it does not have); NaN: does not read.
 */
function time(v: unknown, unitMs: number): number | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v === 'string' && !/^\d+$/.test(v)) return parseIsoTime(v) ?? NaN
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN
  if (!Number.isFinite(n) || n < 0) return NaN
  if (n === 0) return undefined
  const ms = Math.round(n * unitMs)
  return ms <= MAX_TIME_MS ? ms : NaN
}

/** Nanoseconds per millisecond, as a bigint. */
const NS_PER_MS = 1_000_000n

/**
 * A nanosecond time field (`time_flow_start_ns`, v1.3+ `TimeFlowStartNs`, ...) in ms, truncated
 * (ns ÷ 10^6, rounded down, as Go's `time.UnixMilli`), in exact integer arithmetic: a Unix time in
 * ns is about 1.7 · 10^18, above 2^53, so a JSON number of it has lost its last digits by the time
 * `JSON.parse` gives it. The digits are taken from the line's text (`"key": 123…` at the key's
 * last occurrence, whose value `JSON.parse` keeps, or the decimal string protobuf's JSON mapping
 * writes), and used when they read as the parsed value does (so they are that key's); an RFC 3339 string (the `datetimenano` renderer) reads as {@link time}.
 * 0 and absent: undefined; NaN: does not read.
 */
function timeNs(o: Record<string, unknown>, key: string, line: string): number | undefined {
  const v = o[key]
  if (v === undefined || v === null) return undefined
  let digits: string | undefined
  if (typeof v === 'string') {
    if (!/^\d+$/.test(v)) return time(v, 1e-6)
    digits = v
  } else if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0) return NaN
    if (Number.isSafeInteger(v)) digits = String(v)
    else {
      // the key's last occurrence, whose value JSON.parse keeps when a key is written twice
      let m: RegExpExecArray | undefined
      for (const x of line.matchAll(new RegExp(`"${key}"\\s*:\\s*(\\d{1,30}(?![\\d.eE]))?`, 'g')))
        m = x
      // the text's digits when they are this value's; else the value as parsed (rounded)
      digits = m?.[1] !== undefined && Number(m[1]) === v ? m[1] : BigInt(v).toString()
    }
  } else return NaN
  const ns = BigInt(digits)
  if (ns === 0n) return undefined
  const ms = ns / NS_PER_MS
  return ms <= BigInt(MAX_TIME_MS) ? Number(ms) : NaN
}

/**
 * The first time present of: v2 nanoseconds (`v2ns`), v1.3+ nanoseconds (`v1ns`), v1
 * milliseconds (`v1ms`), v1 seconds (`v1s`): the finest goflow2 wrote is preferred.
 */
function timeOf(
  o: Record<string, unknown>,
  line: string,
  v2ns: string,
  v1ns: string,
  v1ms: string,
  v1s: string,
): number | undefined {
  return timeNs(o, v2ns, line) ?? timeNs(o, v1ns, line) ?? time(o[v1ms], 1) ?? time(o[v1s], 1000)
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/**
 * An address field: text, or base64 of 4 or 16 bytes (protobuf JSON of a `bytes` field).
 * @returns the canonical text; `''` for goflow2's rendering of no address (empty text or bytes);
 *   undefined when it does not read.
 */
function address(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined
  if (v === '') return ''
  const text = parseAddress(v)
  if (text !== undefined) return text
  if (!BASE64.test(v) || v.length % 4 !== 0) return undefined
  const b = Buffer.from(v, 'base64')
  if (b.length === 4) return [...b].join('.')
  if (b.length === 16) return parseAddress((b.toString('hex').match(/.{4}/g) ?? []).join(':'))
  return undefined
}

/** The Ethernet type: 4 (IPv4), 6 (IPv6), 0 (not given), -1 (not IP), undefined (does not read). */
function ipVersion(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '' || v === 0 || v === '0') return 0
  if (typeof v === 'string') {
    if (v === 'IPv4') return 4
    if (v === 'IPv6') return 6
    if (v === 'ARP') return -1
    if (!/^\d+$/.test(v)) return undefined
  }
  const n = uint(v, 0xffff)
  if (n === undefined || Number.isNaN(n)) return undefined
  return n === 0x800 ? 4 : n === 0x86dd ? 6 : -1
}

/**
 * The reader of one file. Per exporter scope it remembers whether the exporter has given an ICMP
 * type (as the NetFlow decoder does: a 0 type is an echo reply only from an exporter seen to give
 * types, since goflow2 writes 0 for a type the record did not carry).
 */
function goflow2Reader(ctx: ParseContext): LineReader {
  const typing = new Set<string>()
  return {
    line(raw: string, lineNo: number): Flow | undefined {
      const line = lineNo === 1 ? raw.replace(/^\uFEFF/, '') : raw
      if (line.trim() === '') return undefined
      return parseLine(line, lineNo, ctx, typing)
    },
  }
}

/** Most exporter scopes remembered as giving ICMP types (memory bound). */
const MAX_TYPING_EXPORTERS = 10_000

/** The skip reasons of this reader. Stable. */
type Goflow2Skip =
  | 'bad-type'
  | 'bad-etype'
  | 'missing-address'
  | 'bad-address'
  | 'etype-mismatch'
  | 'bad-protocol'
  | 'bad-port'
  | 'missing-port'
  | 'bad-icmp-type'
  | 'bad-counter'
  | 'bad-time'
  | 'end-before-start'
  | 'bad-field'

function parseLine(
  line: string,
  lineNo: number,
  ctx: ParseContext,
  typing: Set<string>,
): Flow | undefined {
  const where = `${ctx.file}:${lineNo}`
  const o = jsonRecord(line, ctx, where)
  if (o === undefined) return undefined
  const bad = (reason: Goflow2Skip): Flow | undefined => {
    skip(ctx, reason, where, line)
    return undefined
  }
  const typeValue = field(o, 'type', 'Type')
  const type = typeName(typeValue) ?? ''
  if (typeValue !== undefined && type === '') return bad('bad-type')
  const sflow = type === 'SFLOW_5'

  const version = ipVersion(field(o, 'etype', 'Etype'))
  if (version === undefined) return bad('bad-etype')
  if (version < 0) {
    // ARP and other Ethernet traffic an sFlow agent sampled: no IP flow
    note(ctx, 'not-ip')
    return undefined
  }
  const srcValue = field(o, 'src_addr', 'SrcAddr')
  const dstValue = field(o, 'dst_addr', 'DstAddr')
  if (srcValue === undefined || dstValue === undefined) return bad('missing-address')
  const src = address(srcValue)
  const dst = address(dstValue)
  if (src === undefined || dst === undefined) return bad('bad-address')
  if (src === '' || dst === '') {
    // goflow2 renders an address the record did not carry as "" (as the NetFlow decoder notes
    // a data record without both addresses)
    note(ctx, 'no-address')
    return undefined
  }
  const v6 = src.includes(':')
  if (v6 !== dst.includes(':') || (version === 4 && v6) || (version === 6 && !v6))
    return bad('etype-mismatch')

  const protoValue = field(o, 'proto', 'Proto')
  if (protoValue === '') {
    // goflow2 v2.0–2.1 name five protocols and write "" for the others
    note(ctx, 'unnamed-protocol')
    return undefined
  }
  const protocol =
    typeof protoValue === 'string' ? parseProtocol(protoValue) : uint(protoValue, 255)
  if (protocol === undefined || Number.isNaN(protocol)) return bad('bad-protocol')

  let srcPort = uint(field(o, 'src_port', 'SrcPort'), 65535)
  let dstPort = uint(field(o, 'dst_port', 'DstPort'), 65535)
  if (Number.isNaN(srcPort) || Number.isNaN(dstPort)) return bad('bad-port')
  if (hasPorts(protocol) && (srcPort === undefined || dstPort === undefined))
    return bad('missing-port')

  const sampler = address(field(o, 'sampler_address', 'SamplerAddress')) ?? ''
  const scope = `goflow2\u0000${type}\u0000${sampler}`
  let direction: FlowDirection = 'unknown'
  let echoAssumed = false
  if (protocol === 1 || protocol === 58) {
    const t = uint(field(o, 'icmp_type', 'IcmpType'), 255)
    const c = uint(field(o, 'icmp_code', 'IcmpCode'), 255)
    if (Number.isNaN(t) || Number.isNaN(c)) return bad('bad-icmp-type')
    let typed: [number, number] | undefined
    if ((t ?? 0) !== 0 || (c ?? 0) !== 0) typed = [t ?? 0, c ?? 0]
    else if ((dstPort ?? 0) !== 0) {
      // NetFlow v5's convention, kept by goflow2: type·256 + code in the destination port
      const tc = dstPort ?? 0
      typed = [tc >> 8, tc & 0xff]
    } else if (t !== undefined && (sflow || typing.has(scope))) typed = [0, 0]
    if (typed !== undefined) {
      ;[dstPort, srcPort] = typed
      if (!sflow && typed[0] !== 0 && typing.size < MAX_TYPING_EXPORTERS) typing.add(scope)
      if (isIcmpReply(protocol, typed[0])) direction = 'server-to-client'
    } else {
      // no type: an echo request, as for the other formats that give none
      dstPort = protocol === 1 ? 8 : 128
      srcPort = 0
      echoAssumed = true
      flowNote(ctx, 'icmp-type-assumed-echo')
    }
  } else if (!hasPorts(protocol)) {
    srcPort = 0
    dstPort = 0
  }

  const bytes = uint(field(o, 'bytes', 'Bytes'), Number.MAX_SAFE_INTEGER)
  const packets = uint(field(o, 'packets', 'Packets'), Number.MAX_SAFE_INTEGER)
  if (Number.isNaN(bytes) || Number.isNaN(packets)) return bad('bad-counter')
  if (bytes === undefined || packets === undefined) flowNote(ctx, 'counters-not-logged')

  let start = timeOf(
    o,
    line,
    'time_flow_start_ns',
    'TimeFlowStartNs',
    'TimeFlowStartMs',
    'TimeFlowStart',
  )
  let end = timeOf(o, line, 'time_flow_end_ns', 'TimeFlowEndNs', 'TimeFlowEndMs', 'TimeFlowEnd')
  if (Number.isNaN(start) || Number.isNaN(end)) return bad('bad-time')
  if (start === undefined && end === undefined) {
    const received =
      timeNs(o, 'time_received_ns', line) ??
      timeNs(o, 'TimeReceivedNs', line) ??
      time(o['TimeReceived'], 1000)
    if (received === undefined || Number.isNaN(received)) return bad('bad-time')
    flowNote(ctx, 'time-from-received')
    start = received
  }
  start ??= end ?? 0
  end ??= start
  if (end < start) return bad('end-before-start')

  const flags = uint(field(o, 'tcp_flags', 'TCPFlags', 'TcpFlags'), 0xffff)
  const status = uint(field(o, 'forwarding_status', 'ForwardingStatus'), 0xffffffff)
  const rate = uint(field(o, 'sampling_rate', 'SamplingRate'), 0xffffffff)
  if (Number.isNaN(flags) || Number.isNaN(status) || Number.isNaN(rate)) return bad('bad-field')
  // forwardingStatus (IANA 89, RFC 7270): bits 7-6 01 forwarded, 10 dropped — as the NetFlow
  // decoder reads it; goflow2 writes 0 where the record had none (unknown)
  const fs = ((status ?? 0) & 0xff) >> 6
  const observedAction: ObservedAction = fs === 1 ? 'accept' : fs === 2 ? 'reject' : 'unknown'
  if (rate !== undefined && rate > 1) flowNote(ctx, `sampling-rate:${rate}`)
  if (sflow) flowNote(ctx, 'sflow-sample')

  const flow: Flow = {
    src,
    dst,
    srcPort: srcPort ?? 0,
    dstPort: dstPort ?? 0,
    protocol,
    start,
    end,
    packets: packets ?? 0,
    bytes: bytes ?? 0,
    observedAction,
    direction,
    source: { format: 'goflow2', file: ctx.file, line: lineNo },
    ...(protocol === 6 && flags !== undefined ? { tcpFlags: flags } : {}),
  }
  // a NetFlow/IPFIX record counts one direction: reading pairs it with the other direction's
  // record of the same exporter (netflow/pairing.ts); an sFlow sample is one packet, not paired
  // (across files too, by `type` and `sampler_address`, when the record names its sampler)
  if (!sflow)
    ctx.halves?.set(flow, {
      scope,
      echoAssumed,
      ...(sampler !== '' ? { exporter: `${type}\u0000${sampler}` } : {}),
    } satisfies PairHalf)
  return flow
}

/**
 * goflow2's JSON lines (`goflow2 -format=json`, v1 and v2 layouts, see the module doc). Each
 * NetFlow/IPFIX record counts one direction: the records of one exporter scope (`sampler_address`
 * and `type`) are paired as NetFlow files are (read.ts `EXPORTER_PAIRED_FORMATS`); TCP flags are
 * the OR over the record's packets; `forwarding_status` 64–127 forwarded (accept), 128–191
 * dropped (reject), as RFC 7270 and the NetFlow decoder; counters are not scaled by
 * `sampling_rate` (noted `sampling-rate:<N>`). An sFlow v5 sample (`SFLOW_5`) is one sampled
 * packet, read as a flow of that packet (noted `sflow-sample`), not paired.
 *
 * Skip reasons: `bad-json`, `bad-type`, `bad-etype`, `missing-address`, `bad-address`,
 * `etype-mismatch`, `bad-protocol`, `bad-port`, `missing-port`, `bad-icmp-type`, `bad-counter`,
 * `bad-time`, `end-before-start`, `bad-field` (TCP flags, forwarding status or sampling rate
 * that is no integer). Notes: `not-ip`, `no-address`, `unnamed-protocol`,
 * `icmp-type-assumed-echo`, `counters-not-logged`, `time-from-received`, `sampling-rate:<N>`,
 * `sflow-sample`.
 */
export const goflow2Parser: LineParser = {
  format: 'goflow2',
  kind: 'lines',
  detect(head: Uint8Array): number {
    const o = firstJsonObject(head)
    if (o === undefined) return 0
    if (typeName(field(o, 'type', 'Type')) === undefined) return 0
    const v2 =
      'src_addr' in o && 'dst_addr' in o && ('time_received_ns' in o || 'sampler_address' in o)
    const v1 = 'SrcAddr' in o && 'DstAddr' in o && ('TimeReceived' in o || 'SamplerAddress' in o)
    return v2 || v1 ? 0.97 : 0
  },
  reader: goflow2Reader,
  async *parse(lines: AsyncIterable<string>, ctx: ParseContext): AsyncIterable<Flow> {
    const reader = goflow2Reader(ctx)
    let lineNo = 0
    for await (const raw of lines) {
      const f = flowGiven(ctx.stats, reader.line(raw, ++lineNo))
      if (f) yield f
    }
  },
}
