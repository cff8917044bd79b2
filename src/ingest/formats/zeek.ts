/**
 * @module Zeek `conn.log` parser: TSV (ASCII writer, with `#` header lines or a plain column
 * header) and JSON lines (`LogAscii::use_json`, dotted keys such as `"id.orig_h"`). Two readers
 * with one mapping: {@link ZeekLineReader} (text lines → flows) and {@link ZeekColumnReader}
 * (TSV bytes → {@link FlowColumns} rows, for the columnar ingest path; any line it does not read
 * itself goes to the line reader).
 *
 * @remarks Semantics: Zeek's `Conn::Info` record
 * (https://docs.zeek.org/en/master/scripts/base/protocols/conn/main.zeek.html) and
 * shared/docs/FLOW-FORMATS.md "Zeek conn.log".
 */
import {
  isCounter,
  isIcmpReply,
  normalizeIp,
  type Flow,
  type FlowDirection,
  type ObservedAction,
} from '../../core/index.js'
import {
  ACTION_ACCEPT,
  ACTION_REJECT,
  ACTION_UNKNOWN,
  DIR_C2S,
  DIR_S2C,
  DIR_UNKNOWN,
  type FlowColumns,
  type StringTable,
} from '../columnar.js'
import { ColumnLineReader, ipv4At } from '../column-reader.js'
import { MAX_TIME_MS, parseIsoTime } from '../fields.js'
import {
  jsonRecord,
  flowGiven,
  flowNote,
  note,
  skip,
  type LineParser,
  type LineReader,
  type ParseContext,
} from '../types.js'

/** Column names (TSV) or keys (JSON) for each endpoint field, in preference order. */
const ALIASES = {
  origH: ['id.orig_h', 'id_orig_h', 'src'],
  origP: ['id.orig_p', 'id_orig_p', 'src_port'],
  respH: ['id.resp_h', 'id_resp_h', 'dst'],
  respP: ['id.resp_p', 'id_resp_p', 'dst_port'],
} as const

/** Every field name `Conn::Info` defines (plus renamed id fields), used to recognise a plain header line. */
const CONN_FIELDS = new Set([
  'ts',
  'uid',
  'id.orig_h',
  'id.orig_p',
  'id.resp_h',
  'id.resp_p',
  'id_orig_h',
  'id_orig_p',
  'id_resp_h',
  'id_resp_p',
  'proto',
  'service',
  'duration',
  'orig_bytes',
  'resp_bytes',
  'conn_state',
  'local_orig',
  'local_resp',
  'missed_bytes',
  'history',
  'orig_pkts',
  'orig_ip_bytes',
  'resp_pkts',
  'resp_ip_bytes',
  'tunnel_parents',
  'ip_proto',
  'orig_l2_addr',
  'resp_l2_addr',
  'community_id',
  'vlan',
  'inner_vlan',
  'failed_service',
  'id.vlan',
  'id.inner_vlan',
])

/**
 * ICMP types that have a counterpart (request/reply pairs). For these Zeek logs the
 * counterpart type as `id.resp_p`; for every other ("one-way") type `id.resp_p` is the ICMP code.
 * Source: Zeek `ICMP4_counterpart` / `ICMP6_counterpart` (src/packet_analysis/protocol/icmp).
 */
const ICMP4_PAIRED = new Set([0, 8, 9, 10, 13, 14, 15, 16, 17, 18])
const ICMP6_PAIRED = new Set([128, 129, 130, 131, 133, 134, 135, 136, 139, 140, 144, 145])

/**
 * ICMP and ICMPv6 "connections" always have `conn_state` `OTH` (there is no handshake), but
 * Zeek's ICMP analyzer still orients them: `orig` sent the request (or the first message), so
 * their direction is client-to-server, not unknown — unless that first message was a reply (an
 * echo reply when capture started mid-ping, or on an asymmetric route): then `orig` is the
 * server, and the record server-to-client, judged as the request it answers; answered (the responder sent packets) they
 * carried traffic both ways and count as accepted, otherwise unknown.
 * @see https://docs.zeek.org/en/master/scripts/base/protocols/conn/main.zeek.html (conn_state, OTH)
 */
function icmpAnswered(respPkts: number): boolean {
  return respPkts > 0
}

/**
 * `conn_state` → what the observer saw. Zeek does not see firewall decisions; it infers them
 * from packets: `REJ` (SYN answered by RST) is a rejection; `S0`, `SH`, `RSTOS0` are attempts the
 * responder never answered (dropped silently, or nothing there: see {@link refineByPayload});
 * the others carried traffic.
 */
const STATE_ACTION: Readonly<Record<string, ObservedAction>> = {
  REJ: 'reject',
  S0: 'unknown',
  SH: 'unknown',
  RSTOS0: 'unknown',
  OTH: 'unknown',
  S1: 'accept',
  S2: 'accept',
  S3: 'accept',
  SF: 'accept',
  RSTO: 'accept',
  RSTR: 'accept',
  RSTRH: 'accept',
  SHR: 'accept',
}

/** `conn_state`s of attempts the responder never answered (note `unanswered-attempt`). */
const UNANSWERED_STATES: ReadonlySet<string> = new Set(['S0', 'SH', 'RSTOS0'])

/** `conn_state`s whose action {@link refineByPayload} may change. */
const REFINED_STATES: ReadonlySet<string> = new Set([...UNANSWERED_STATES, 'RSTRH'])

/**
 * The action of a `conn_state` the protocol and payload counts can overturn, and how:
 * - A TCP attempt the responder never answered (`S0` "connection attempt seen, no reply", `SH`,
 *   `RSTOS0`: no SYN-ACK seen) that carried no payload either way is `reject`: the connection
 *   never opened (a firewall dropped the SYN, or nothing was there), as `REJ`'s did, so it is no
 *   dependency that worked (`recommend` proposes no rule for an edge of such attempts only;
 *   `simulate` counts a denied one as already rejected), as Azure's unanswered TCP attempts are
 *   read. With originator payload it stays unknown: a client sends data only after the
 *   handshake, so the capture missed the responder's side (asymmetric routing). UDP and other
 *   protocols stay unknown: one-way traffic (syslog, SNMP traps, NetFlow export) has no reply.
 * - `RSTOS0` with responder payload was answered (a capture that missed the handshake: history
 *   `^dtADTR`): accept.
 * - Any of the three whose responder sent packets (`resp_pkts` > 0) without payload was answered
 *   too, by something other than a SYN-ACK the capture saw (history `Fa`, the tail of a
 *   connection whose start the capture missed, in Zeek's own `core.tunnels.teredo` baseline):
 *   no attempt, and unknown.
 * - `RSTRH` (only the responder's SYN-ACK or RST seen) carried traffic only when payload went
 *   either way; a lone RST to a scan probe (history `Cr`) carried nothing: unknown.
 * @param origBytes - `orig_bytes`, payload octets (≤ 0 when unset); `respBytes` likewise.
 * @param respPkts - `resp_pkts` (≤ 0 when unset).
 * @returns the action, and whether the record is an unanswered attempt.
 * @see https://docs.zeek.org/en/master/scripts/base/protocols/conn/main.zeek.html (conn_state)
 */
function refineByPayload(
  state: string,
  action: ObservedAction,
  protocol: number,
  origBytes: number,
  respBytes: number,
  respPkts: number,
): { action: ObservedAction; unanswered: boolean } {
  if (state === 'RSTOS0' && respBytes > 0) return { action: 'accept', unanswered: false }
  if (state === 'RSTRH' && origBytes <= 0 && respBytes <= 0)
    return { action: 'unknown', unanswered: false }
  if (!UNANSWERED_STATES.has(state)) return { action, unanswered: false }
  if (respPkts > 0) return { action: 'unknown', unanswered: false }
  const neverOpened = protocol === 6 && origBytes <= 0 && respBytes <= 0
  return { action: neverOpened ? 'reject' : action, unanswered: true }
}

/** A field value after TSV decoding: undefined when unset (`-`) or absent, `''` when empty. */
type Value = string | number | boolean | readonly unknown[] | undefined
type Getter = (names: readonly string[]) => Value

/** TSV header state of one log section. */
export interface TsvState {
  separator: string
  setSeparator: string
  emptyField: string
  unsetField: string
  path: string | undefined
  fields: string[] | undefined
}

function freshState(): TsvState {
  return {
    separator: '\t',
    setSeparator: ',',
    emptyField: '(empty)',
    unsetField: '-',
    path: undefined,
    fields: undefined,
  }
}

/** Decodes the `\xHH` escapes Zeek writes in `#separator`. */
function unescapeSeparator(text: string): string {
  return text.replace(/\\x([0-9a-fA-F]{2})/g, (_m, h: string) =>
    String.fromCharCode(parseInt(h, 16)),
  )
}

/** True when a timestamp is the BTest canonifier's mask (`XXXXXXXXXX.XXXXXX`). */
function isMasked(text: string): boolean {
  return /^X+(\.X+)?$/.test(text)
}

const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/

/**
 * A `ts`: `ms` rounded to the millisecond (the flow's start), `exact` the unrounded milliseconds
 * (fractions of a millisecond kept), from which the end (`ts + duration`) is rounded once.
 */
type TimeResult =
  | { kind: 'ok'; ms: number; exact: number }
  | { kind: 'masked' }
  | { kind: 'missing' }
  | { kind: 'bad' }

/**
 * Above this, an integer JSON `ts` is milliseconds (Zeek `JSON::TS_MILLIS` /
 * `TS_MILLIS_UNSIGNED`), not seconds: 1e11 s is the year 5138, 1e11 ms is 1973-03-03.
 */
const JSON_MILLIS_ABOVE = 1e11

/**
 * `ts`: epoch seconds (number or numeric text), ISO-8601 text (JSON writer with
 * `JSON::TS_ISO8601`), an integer above {@link JSON_MILLIS_ABOVE} as a JSON number (milliseconds,
 * `JSON::TS_MILLIS`), or the BTest mask. Source: Zeek `LogAscii::json_timestamps`
 * (base/frameworks/logging/writers/ascii.zeek, `JSON::TimestampFormat`).
 */
function parseTime(v: Value): TimeResult {
  if (v === undefined || v === '') return { kind: 'missing' }
  let ms: number
  if (typeof v === 'number') ms = Number.isInteger(v) && v > JSON_MILLIS_ABOVE ? v : v * 1000
  else if (typeof v === 'string') {
    if (isMasked(v)) return { kind: 'masked' }
    if (/^\d+(\.\d+)?$/.test(v)) ms = Number(v) * 1000
    else if (ISO_RE.test(v)) ms = isoExactMs(v)
    else return { kind: 'bad' }
  } else return { kind: 'bad' }
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_TIME_MS) return { kind: 'bad' }
  return { kind: 'ok', ms: Math.round(ms), exact: ms }
}

/**
 * An ISO-8601 `ts` (already matched by {@link ISO_RE}) in milliseconds with the digits beyond
 * the millisecond kept as a fraction (`…16.748830Z` → …16748.83), NaN for an impossible date.
 */
function isoExactMs(v: string): number {
  const frac = /\.(\d+)/.exec(v)?.[1] ?? ''
  if (frac.length <= 3) return parseIsoTime(v) ?? NaN
  const whole = parseIsoTime(v.replace(`.${frac}`, `.${frac.slice(0, 3)}`))
  return whole === undefined ? NaN : whole + Number(`0.${frac.slice(3)}`)
}

/** The largest Zeek `count` (an unsigned 64-bit integer), as decimal text. */
const MAX_COUNT_TEXT = '18446744073709551615'

/**
 * A non-negative count (`count` type: an unsigned 64-bit integer, so at most 2^64 − 1; a JSON
 * number of 2^64 or more as JSON reads it is malformed, so no sum of two counts overflows to
 * Infinity). Returns undefined when unset, NaN when malformed. A count (or the sum of a
 * connection's two directions) above a flow counter's 2^53 − 1 makes the record `bad-counter`.
 */
function parseCount(v: Value): number | undefined {
  if (v === undefined || v === '') return undefined
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v < 2 ** 64 ? v : NaN
  if (typeof v === 'string' && /^\d{1,20}$/.test(v) && (v.length < 20 || v <= MAX_COUNT_TEXT))
    return Number(v)
  return NaN
}

/** A port number 0–65535. undefined when unset, NaN when malformed. */
function parsePort(v: Value): number | undefined {
  const n = parseCount(v)
  if (n === undefined) return undefined
  return n <= 65535 ? n : NaN
}

/** Seconds (`interval`). undefined when unset, NaN when malformed or negative. */
function parseInterval(v: Value): number | undefined {
  if (v === undefined || v === '') return undefined
  let n: number
  if (typeof v === 'number') n = v
  else if (typeof v === 'string' && /^\d+(\.\d+)?(e[+-]?\d+)?$/i.test(v)) n = Number(v)
  else return NaN
  // `-0` too: a signed duration is refused in JSON as in TSV, whose `-0.0` does not read
  return Number.isFinite(n) && n >= 0 && !Object.is(n, -0) ? n : NaN
}

/** True when a `set[string]` / array field holds at least one element. */
function nonEmptySet(v: Value): boolean {
  if (Array.isArray(v)) return v.length > 0
  return typeof v === 'string' && v !== ''
}

/** Transport protocol number from `ip_proto` (Zeek ≥ 6) or `proto` (`tcp`/`udp`/`icmp`). */
function protocolOf(get: Getter, family6: boolean): number | 'missing' | 'unknown' | 'bad' {
  const ipProto = parseCount(get(['ip_proto']))
  if (ipProto !== undefined) {
    if (Number.isNaN(ipProto) || ipProto > 255) return 'bad'
    return ipProto
  }
  const proto = get(['proto'])
  if (proto === undefined || proto === '') return 'missing'
  switch (String(proto).toLowerCase()) {
    case 'tcp':
      return 6
    case 'udp':
      return 17
    case 'icmp':
      return family6 ? 58 : 1
    case 'unknown_transport':
      return 'unknown'
    default:
      return 'bad'
  }
}

/**
 * Converts one conn.log record, given a field getter, into a flow; or calls {@link skip} and
 * returns undefined. Counts notes for masked timestamps, tunnels and unanswered attempts.
 */
function toFlow(get: Getter, ctx: ParseContext, line: number, text: string): Flow | undefined {
  const where = `${ctx.file}:${line}`
  const origH = get(ALIASES.origH)
  const respH = get(ALIASES.respH)
  if (origH === undefined || respH === undefined) {
    skip(ctx, 'missing-address', where, text)
    return undefined
  }
  const src = normalizeIp(String(origH))
  const dst = normalizeIp(String(respH))
  if (!src || !dst) {
    skip(ctx, 'bad-address', where, text)
    return undefined
  }
  const protocol = protocolOf(get, src.includes(':'))
  if (typeof protocol !== 'number') {
    skip(ctx, `${protocol}-protocol`, where, text)
    return undefined
  }
  const origP = parsePort(get(ALIASES.origP))
  const respP = parsePort(get(ALIASES.respP))
  if (Number.isNaN(origP) || Number.isNaN(respP)) {
    skip(ctx, 'bad-port', where, text)
    return undefined
  }
  let srcPort = 0
  let dstPort = 0
  if (protocol === 1 || protocol === 58) {
    // Zeek: orig_p = ICMP type; resp_p = counterpart type for request/reply types, else the code.
    const type = origP ?? 0
    const paired = (protocol === 1 ? ICMP4_PAIRED : ICMP6_PAIRED).has(type)
    if (type > 255 || (respP ?? 0) > 255) {
      skip(ctx, 'bad-icmp-type', where, text)
      return undefined
    }
    dstPort = type
    srcPort = paired ? 0 : (respP ?? 0)
  } else if (protocol === 6 || protocol === 17 || protocol === 132) {
    if (respP === undefined) {
      skip(ctx, 'missing-port', where, text)
      return undefined
    }
    srcPort = origP ?? 0
    dstPort = respP
  }

  const ts = parseTime(get(['ts']))
  if (ts.kind === 'bad') {
    skip(ctx, 'bad-timestamp', where, text)
    return undefined
  }
  const duration = parseInterval(get(['duration']))
  if (Number.isNaN(duration)) {
    skip(ctx, 'bad-duration', where, text)
    return undefined
  }
  let start = 0
  let end = 0
  if (ts.kind === 'ok') {
    // rounded once from the exact ts + duration (the end Zeek's numbers give), not from the
    // rounded start, which could put it a millisecond early or late
    start = ts.ms
    end = Math.round(ts.exact + (duration ?? 0) * 1000)
    // a connection open past year 9999 is no duration Zeek measured (as a start there is no ts)
    if (!(end <= MAX_TIME_MS)) {
      skip(ctx, 'bad-duration', where, text)
      return undefined
    }
  }

  const origPkts = parseCount(get(['orig_pkts']))
  const respPkts = parseCount(get(['resp_pkts']))
  const origIpBytes = parseCount(get(['orig_ip_bytes']))
  const respIpBytes = parseCount(get(['resp_ip_bytes']))
  const origBytes = parseCount(get(['orig_bytes']))
  const respBytes = parseCount(get(['resp_bytes']))
  if (
    [origPkts, respPkts, origIpBytes, respIpBytes, origBytes, respBytes].some((n) =>
      Number.isNaN(n),
    )
  ) {
    skip(ctx, 'bad-counter', where, text)
    return undefined
  }
  const packets = (origPkts ?? 0) + (respPkts ?? 0)
  const bytes =
    origIpBytes !== undefined || respIpBytes !== undefined
      ? (origIpBytes ?? 0) + (respIpBytes ?? 0)
      : (origBytes ?? 0) + (respBytes ?? 0)
  // a flow counter is a safe integer (core/flow.ts); two 64-bit counts can sum beyond it
  if (!isCounter(packets) || !isCounter(bytes)) {
    skip(ctx, 'bad-counter', where, text)
    return undefined
  }

  const state = get(['conn_state'])
  const stateText = typeof state === 'string' ? state.toUpperCase() : undefined
  const refined = refineByPayload(
    stateText ?? '',
    stateText ? (STATE_ACTION[stateText] ?? 'unknown') : 'unknown',
    protocol,
    origBytes ?? 0,
    respBytes ?? 0,
    respPkts ?? 0,
  )
  let observedAction: ObservedAction = refined.action
  let direction: FlowDirection = stateText === 'OTH' ? 'unknown' : 'client-to-server'
  if (stateText === 'OTH' && (protocol === 1 || protocol === 58)) {
    direction = isIcmpReply(protocol, dstPort) ? 'server-to-client' : 'client-to-server'
    if (icmpAnswered(respPkts ?? 0)) observedAction = 'accept'
  }
  // Notes only for records that are emitted.
  if (ts.kind === 'masked') flowNote(ctx, 'masked-timestamp')
  else if (ts.kind === 'missing') flowNote(ctx, 'no-timestamp')
  if (refined.unanswered) flowNote(ctx, 'unanswered-attempt')
  if (nonEmptySet(get(['tunnel_parents']))) flowNote(ctx, 'tunnelled')
  // no packet count or no byte count read (a zeek-cut subset, a JSON record without them): 0
  if (
    (origPkts === undefined && respPkts === undefined) ||
    [origIpBytes, respIpBytes, origBytes, respBytes].every((n) => n === undefined)
  )
    flowNote(ctx, 'counters-not-logged')

  return {
    src,
    dst,
    srcPort,
    dstPort,
    protocol,
    start,
    end,
    packets,
    bytes,
    observedAction,
    direction,
    source: { format: 'zeek', file: ctx.file, line },
  }
}

/** A getter over one JSON record: dotted keys (`"id.orig_h"`) or nested objects (`{"id":{"orig_h":…}}`). */
function jsonGetter(obj: Record<string, unknown>): Getter {
  return (names) => {
    for (const name of names) {
      let v: unknown = obj[name]
      if (v === undefined && name.includes('.')) {
        v = name
          .split('.')
          .reduce<unknown>(
            (o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined),
            obj,
          )
      }
      if (v === undefined || v === null) continue
      if (
        typeof v === 'string' ||
        typeof v === 'number' ||
        typeof v === 'boolean' ||
        Array.isArray(v)
      )
        return v
      // an object where a scalar belongs: its JSON text, which no field parser accepts
      return JSON.stringify(v)
    }
    return undefined
  }
}

/** A getter over one TSV record. */
function tsvGetter(
  state: TsvState,
  index: ReadonlyMap<string, number>,
  values: readonly string[],
): Getter {
  return (names) => {
    for (const name of names) {
      const i = index.get(name)
      if (i === undefined) continue
      const v = values[i]
      if (v === undefined || v === state.unsetField) return undefined
      if (v === state.emptyField) return ''
      return v
    }
    return undefined
  }
}

/**
 * True when `tokens` look like a plain column header (BTest baselines with column subsets): every
 * token is a conn.log field name, or every token is an identifier and one is `uid`, `ts` or
 * `id.orig_h`. Data values cannot satisfy either (uids are random, not field names).
 */
function isPlainHeader(tokens: readonly string[]): boolean {
  if (tokens.length === 0) return false
  if (tokens.every((t) => CONN_FIELDS.has(t))) return true
  return (
    tokens.every((t) => /^[A-Za-z_][\w.]*$/.test(t)) &&
    tokens.some((t) => t === 'uid' || t === 'ts' || t === 'id.orig_h')
  )
}

/**
 * The per-line state machine of the Zeek parser (header lines set the field order and
 * separators; {@link parseZeek} is a loop over it). See {@link parseZeek} for the mapping.
 */
export class ZeekLineReader implements LineReader {
  /** The current section's header state (read by {@link ZeekColumnReader}; replaced at `#separator`). */
  state: TsvState = freshState()
  /** Column of each field name of the current header (replaced at each header). */
  index = new Map<string, number>()
  constructor(private readonly ctx: ParseContext) {}

  /** One line (1-based `lineNo`) → a flow, or undefined (header, blank, skip recorded in ctx). */
  line(raw: string, lineNo: number): Flow | undefined {
    const ctx = this.ctx
    let state = this.state
    let index = this.index
    let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (lineNo === 1 && line.startsWith('\uFEFF')) line = line.slice(1)
    if (line.trim() === '') return undefined
    const where = `${ctx.file}:${lineNo}`

    if (line.startsWith('#')) {
      if (line.startsWith('##')) return undefined
      if (line.startsWith('#separator')) {
        // A new log section starts: earlier header lines no longer apply.
        this.state = state = freshState()
        this.index = index = new Map<string, number>()
        const sep = unescapeSeparator(line.slice('#separator'.length).replace(/^[ \t]/, ''))
        if (sep !== '') state.separator = sep
        return undefined
      }
      const sep = state.separator
      const cut = line.indexOf(sep)
      const key = cut < 0 ? line : line.slice(0, cut)
      const rest = cut < 0 ? '' : line.slice(cut + sep.length)
      switch (key) {
        case '#set_separator':
          state.setSeparator = rest
          break
        case '#empty_field':
          state.emptyField = rest
          break
        case '#unset_field':
          state.unsetField = rest
          break
        case '#path':
          state.path = rest
          break
        case '#fields':
          state.fields = rest.split(sep)
          this.index = index = new Map(state.fields.map((f, i) => [f, i]))
          break
        default:
          break // #types, #open, #close, comments
      }
      return undefined
    }

    // a JSON record, also one indented (a pretty-printer's or a shipper's leading blanks)
    if (line.trimStart().startsWith('{')) {
      const rec = jsonRecord(line, ctx, where)
      if (rec === undefined) return undefined
      if (typeof rec['_path'] === 'string' && rec['_path'] !== 'conn') {
        // another log of the same stream (json-streaming-logs): a record, not an error
        note(ctx, 'other-zeek-log')
        return undefined
      }
      const flow = toFlow(jsonGetter(rec), ctx, lineNo, line)
      if (flow) ctx.stats.records++
      return flow
    }

    const values = line.split(state.separator)
    if (!state.fields) {
      if (isPlainHeader(values)) {
        state.fields = values
        this.index = index = new Map(values.map((f, i) => [f, i]))
        return undefined
      }
      skip(ctx, 'no-fields-header', where, line)
      return undefined
    }
    if (values.length === state.fields.length && values.every((v, i) => v === state.fields?.[i]))
      return undefined // repeated header
    if (state.path !== undefined && state.path !== 'conn') {
      note(ctx, 'other-zeek-log')
      return undefined
    }
    if (values.length !== state.fields.length) {
      skip(ctx, 'field-count-mismatch', where, line)
      return undefined
    }
    const flow = toFlow(tsvGetter(state, index, values), ctx, lineNo, line)
    if (flow) ctx.stats.records++
    return flow
  }
}

/**
 * Parses Zeek conn.log lines into flows.
 *
 * - TSV: honours `#separator` (with `\xHH` escapes), `#set_separator`, `#empty_field`,
 *   `#unset_field`, `#path` (records of a `#path` other than `conn` are noted as
 *   `other-zeek-log`, not emitted), `#fields`; `#types`, `#open`, `#close` and `##` banners are
 *   ignored. Without
 *   `#fields`, a plain tab-separated line naming conn.log fields is taken as the header (BTest
 *   baselines with column subsets). Concatenated logs may restart with new headers.
 * - JSON: one object per line, dotted or nested `id` keys; `ts` epoch seconds, ISO-8601, or
 *   epoch milliseconds (an integer above 1e11, `JSON::TS_MILLIS`).
 *
 * Mapping: `id.orig_h:orig_p` → `src:srcPort` (the client), `id.resp_h:resp_p` → `dst:dstPort`;
 * protocol from `ip_proto` when present, else `proto` (`icmp` over IPv6 → 58); for ICMP,
 * `dstPort` = type (`orig_p`) and `srcPort` = code (`resp_p` for one-way types, 0 for
 * request/reply types, whose `resp_p` is the counterpart type); `end = ts + duration`, rounded to the millisecond once (not from the rounded start);
 * packets = `orig_pkts + resp_pkts`, bytes = `orig_ip_bytes + resp_ip_bytes` (else
 * `orig_bytes + resp_bytes`, payload only). `conn_state` REJ → reject; S0/SH/RSTOS0 (note
 * `unanswered-attempt`) → reject over TCP with no payload either way, else unknown
 * ({@link refineByPayload}); OTH → unknown with direction unknown, except for ICMP/ICMPv6
 * (always OTH): client-to-server, accepted when the responder answered; others → accept. Masked
 * timestamps give start = end = 0 (note `masked-timestamp`); `tunnel_parents` set → note `tunnelled`.
 * A record from which no packet count or no byte count is read (the columns or keys absent, as in
 * a `zeek-cut` subset, or all of them unset) has 0 for it, noted `counters-not-logged`.
 *
 * Every data line is either emitted (counted in `stats.records`) or skipped with a reason:
 * `missing-address`, `bad-address`, `missing-protocol`, `unknown-protocol` (`unknown_transport`
 * without `ip_proto`), `bad-protocol`, `bad-port`, `missing-port`, `bad-icmp-type`,
 * `bad-timestamp`, `bad-duration` (malformed, negative or signed (`-0.0`), or an end past year 9999), `bad-counter` (malformed, or a packet or byte sum above
 * 2^53 − 1), `field-count-mismatch`, `no-fields-header`,
 * `bad-json`. JSON records whose `_path` is not `conn` (one stream of every log, as
 * json-streaming-logs writes) are noted as `other-zeek-log`.
 *
 * @throws BulkheadError `ingest/malformed-record` on the first skipped record when `ctx.strict`.
 */
async function* parseZeek(lines: AsyncIterable<string>, ctx: ParseContext): AsyncIterable<Flow> {
  const reader = new ZeekLineReader(ctx)
  let lineNo = 0
  for await (const raw of lines) {
    const flow = flowGiven(ctx.stats, reader.line(raw, ++lineNo))
    if (flow) yield flow
  }
}

/**
 * Confidence that `head` (the first ≤ 64 KiB, already gunzipped) is a Zeek conn.log: 1 for a
 * `#separator`/`#fields` header naming `id.orig_h`, 0.9 for JSON lines with `id.orig_h` and `uid`
 * or `ts`, 0.7 for the header of another Zeek log or a json-streaming-logs stream (`_path`,
 * `_write_ts`) without conn records in the head, 0.6 for a plain column header of conn.log
 * fields, else 0.
 */
function detectZeek(head: Uint8Array): number {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head).replace(/^\uFEFF/, '')
  const lines = text
    .split('\n')
    .slice(0, 40)
    .map((l) => l.replace(/\r$/, ''))
  const complete = text.includes('\n') ? lines.slice(0, -1) : lines
  // TSV: a `#fields` header of conn.log; a Zeek header of another log (a file of several logs
  // may start with another one, for hundreds of lines; a folder of logs holds dns.log beside
  // conn.log) is still Zeek, read as such: its records are noted `other-zeek-log`
  let path: string | undefined
  let separator = false
  let otherLog = false
  for (const line of complete) {
    if (line.startsWith('#separator')) separator = true
    if (line.startsWith('#path')) path = line.slice(5).trim()
    if (line.startsWith('#fields')) {
      if (path !== undefined && path !== 'conn') {
        otherLog = separator
        continue
      }
      return /\b(id[._]orig_h|src)\b/.test(line) && /\b(id[._]resp_h|dst)\b/.test(line)
        ? 1
        : path === 'conn'
          ? 0.8
          : 0
    }
  }
  if (otherLog) return 0.7
  const data = complete.filter((l) => l.trim() !== '' && !l.startsWith('##'))
  const first = data[0]
  if (first === undefined) return 0
  if (first.trimStart().startsWith('{')) return detectZeekJson(data)
  const tokens = first.split('\t')
  if (isPlainHeader(tokens)) return 0.6
  return 0
}

/**
 * JSON lines: every line a Zeek record (`ts` with `uid` or `_path`), at least one of them a
 * conn record (`id.orig_h`, nested `id.orig_h`, or `id_orig_h` with `Log::default_scope_sep`
 * set to `_`) — a stream of every log (json-streaming-logs) counts when it holds conn records.
 */
function detectZeekJson(lines: readonly string[]): number {
  let zeek = 0
  let conn = false
  let stream = false
  for (const line of lines) {
    let o: Record<string, unknown>
    try {
      const v = JSON.parse(line) as unknown
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return 0
      o = v as Record<string, unknown>
    } catch {
      continue // a line cut by the head
    }
    if (!('ts' in o) || !('uid' in o || '_path' in o)) return 0
    zeek++
    const id = o['id']
    const hasOrig =
      'id.orig_h' in o ||
      'id_orig_h' in o ||
      (typeof id === 'object' && id !== null && 'orig_h' in id)
    if (hasOrig && (o['_path'] === undefined || o['_path'] === 'conn')) conn = true
    if (typeof o['_path'] === 'string' && '_write_ts' in o) stream = true
  }
  // json-streaming-logs: conn records are written when connections end, so a stream often
  // starts with other logs' records
  return zeek > 0 && conn ? 0.9 : zeek > 0 && stream ? 0.7 : 0
}

/** The Zeek conn.log parser. See {@link parseZeek} for the mapping and skip reasons. */
export const zeekParser: LineParser = {
  format: 'zeek',
  kind: 'lines',
  detect: detectZeek,
  parse: parseZeek,
  reader: (ctx) => new ZeekLineReader(ctx),
}

// ---------------------------------------------------------------------------------------------
// The byte reader (columnar path)

/** Columns the byte reader reads, for the current header (-1 when absent). */
interface ZeekLayout {
  /** Number of columns (`#fields` or plain header). */
  readonly n: number
  readonly origH: number
  readonly respH: number
  readonly origP: number
  readonly respP: number
  readonly ipProto: number
  readonly proto: number
  readonly ts: number
  readonly duration: number
  readonly origPkts: number
  readonly respPkts: number
  readonly origIpBytes: number
  readonly respIpBytes: number
  readonly origBytes: number
  readonly respBytes: number
  readonly connState: number
  readonly tunnelParents: number
  /** `#unset_field` and `#empty_field` as UTF-8 bytes. */
  readonly unset: Buffer
  readonly empty: Buffer
  /**
   * What the split reads of each column as it finds its end: {@link K_COUNT} (ports, counters,
   * `ip_proto`), {@link K_SECONDS} (`ts`, `duration`), {@link K_IPV4} (the addresses), 0 nothing.
   */
  readonly kinds: Uint8Array
}

/** A column the split reads as a count ({@link countToken}'s digits). */
const K_COUNT = 1
/** A column the split reads as seconds ({@link secondsToken}'s `digits[.digits]`). */
const K_SECONDS = 2
/** A column the split reads as an IPv4 address ({@link ipv4At}'s canonical dotted quad). */
const K_IPV4 = 3

/** Most columns a line read from bytes may have (wider headers go to the line reader). */
const ZEEK_MAX_COLUMNS = 256
/** Token starts of the current line (byte offsets; token `i` ends at `zstarts[i + 1] - 1`). */
const zstarts = new Int32Array(ZEEK_MAX_COLUMNS + 1)
/**
 * The value the split read of each column of {@link ZeekLayout.kinds} of the current line (what
 * {@link countToken} or {@link secondsToken} gives for a token of plain digits, what
 * {@link ipv4At} gives for a canonical dotted quad), or -1 when the token is anything else (those
 * readers decide it).
 */
const zvals = new Float64Array(ZEEK_MAX_COLUMNS + 1)
/** Powers of ten 10^0 … 10^22 (exact doubles). */
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`))

/**
 * `conn_state` values as Zeek writes them (upper case; {@link STATE_ACTION}), keyed by their
 * bytes as a base-128 number (at most 6 bytes, exact), each packed as action code | direction
 * code << 3 | 32 when the protocol and payload counts can change the action and tell an
 * `unanswered-attempt` ({@link refineByPayload}) | the state's index in {@link STATE_NAMES} << 6.
 */
const STATE_NAMES: readonly string[] = Object.keys(STATE_ACTION)
const STATE_BY_KEY: ReadonlyMap<number, number> = new Map(
  Object.entries(STATE_ACTION).map(([state, action], index) => {
    let key = 0
    for (let j = 0; j < state.length; j++) key = key * 128 + state.charCodeAt(j)
    const code =
      action === 'accept' ? ACTION_ACCEPT : action === 'reject' ? ACTION_REJECT : ACTION_UNKNOWN
    const dir = state === 'OTH' ? DIR_UNKNOWN : DIR_C2S
    const byPayload = REFINED_STATES.has(state) ? 32 : 0
    return [key, code | (dir << 3) | byPayload | (index << 6)]
  }),
)

/** The `proto` and `conn_state` values the byte reader matches before the unset and empty markers. */
const ZEEK_WORDS: ReadonlySet<string> = new Set(['tcp', 'udp', 'icmp', ...STATE_NAMES])

// results of the token readers below
/** The token is `#unset_field` (or `#empty_field`, which the line reader treats alike for counts). */
const T_UNSET = -1
/** The token is not what the byte reader reads: the line reader decides the line. */
const T_SLOW = -2

/** True when token `i` of `buf` equals the bytes `w`. */
function tokenIs(buf: Buffer, i: number, w: Uint8Array | readonly number[]): boolean {
  const a = zstarts[i] as number
  if ((zstarts[i + 1] as number) - 1 - a !== w.length) return false
  for (let j = 0; j < w.length; j++) if (buf[a + j] !== w[j]) return false
  return true
}

/**
 * A `count` / port in token `i`: {@link T_UNSET} when unset or empty (the line reader's
 * undefined), the value when 1–15 decimal digits (exact, as `Number` reads it), else
 * {@link T_SLOW}.
 */
function countToken(buf: Buffer, i: number, L: ZeekLayout): number {
  if (i < 0) return T_UNSET
  const a = zstarts[i] as number
  const b = (zstarts[i + 1] as number) - 1
  if (b - a > 15 || b === a)
    return tokenIs(buf, i, L.unset) || tokenIs(buf, i, L.empty) ? T_UNSET : T_SLOW
  let v = 0
  for (let j = a; j < b; j++) {
    const d = (buf[j] as number) - 48
    if (d < 0 || d > 9)
      return tokenIs(buf, i, L.unset) || tokenIs(buf, i, L.empty) ? T_UNSET : T_SLOW
    v = v * 10 + d
  }
  return v
}

/**
 * Seconds as `digits[.digits]` in token `i` (the `time` / `interval` text Zeek writes), as
 * `Number` reads it: {@link T_UNSET} when unset or empty, {@link T_SLOW} for anything else
 * (exponents, masks, more than 16 digits). Exact: with at most 2^53 as the digits' integer and
 * 10^f exact, `N / 10^f` is the correctly rounded quotient, which is what `Number` gives.
 */
function secondsToken(buf: Buffer, i: number, L: ZeekLayout): number {
  if (i < 0) return T_UNSET
  const a = zstarts[i] as number
  const b = (zstarts[i + 1] as number) - 1
  let v = 0
  let digits = 0
  let dot = -1
  for (let j = a; j < b; j++) {
    const c = buf[j] as number
    if (c === 46 && dot < 0 && digits > 0) dot = j
    else {
      const d = c - 48
      if (d < 0 || d > 9 || ++digits > 16) {
        return tokenIs(buf, i, L.unset) || tokenIs(buf, i, L.empty) ? T_UNSET : T_SLOW
      }
      v = v * 10 + d
    }
  }
  if (digits === 0 || dot === b - 1 || v > Number.MAX_SAFE_INTEGER) {
    return tokenIs(buf, i, L.unset) || tokenIs(buf, i, L.empty) ? T_UNSET : T_SLOW
  }
  return dot < 0 ? v : v / (POW10[b - 1 - dot] as number)
}

/** {@link countToken} of token `i`, from the value the split read when it read one. */
function countAt(buf: Buffer, i: number, L: ZeekLayout): number {
  if (i < 0) return T_UNSET
  const v = zvals[i] as number
  return v >= 0 ? v : countToken(buf, i, L)
}

/** {@link secondsToken} of token `i`, from the value the split read when it read one. */
function secondsAt(buf: Buffer, i: number, L: ZeekLayout): number {
  if (i < 0) return T_UNSET
  const v = zvals[i] as number
  return v >= 0 ? v : secondsToken(buf, i, L)
}

/** A canonical dotted quad in token `i` of `buf` as a uint32 (first octet most significant), or -1. */
function ipv4Token(buf: Buffer, i: number): number {
  return ipv4At(buf, zstarts[i] as number, (zstarts[i + 1] as number) - 1)
}

/** True when token `i` is the BTest timestamp mask `X+(.X+)?`. */
function maskedToken(buf: Buffer, i: number): boolean {
  const a = zstarts[i] as number
  const b = (zstarts[i + 1] as number) - 1
  let dot = -1
  for (let j = a; j < b; j++) {
    const c = buf[j] as number
    if (c === 46 && dot < 0 && j > a) dot = j
    else if (c !== 88) return false
  }
  return b > a && dot !== b - 1
}

const W_TCP = [116, 99, 112]
const W_UDP = [117, 100, 112]
const W_ICMP = [105, 99, 109, 112]

/**
 * The Zeek parser reading TSV bytes into columns: each data line of a block with the plain
 * shape is read straight from its bytes — tab separator, the header's column count, addresses
 * as canonical IPv4 (or IPv6 text that {@link normalizeIp} accepts, cached per distinct text),
 * `proto` `tcp`/`udp`/`icmp` or a decimal `ip_proto`, decimal ports and counters (at most 15
 * digits), `ts` and `duration` as `digits[.digits]` or the BTest mask, `conn_state` one of
 * Zeek's upper-case states, unset (`#unset_field`) and empty (`#empty_field`) values. Every
 * other line (header and `#` lines, JSON, banners, a first line, CR endings, other separators,
 * damaged or unusual values, any line the line reader would skip) goes to
 * {@link ZeekLineReader} as text, so flows, skips, examples and notes are exactly the line
 * reader's ({@link parseZeek} gives the mapping). Rows are unpaired; `direction` is
 * client→server, or unknown for `OTH`, as the line reader gives it.
 */
export class ZeekColumnReader extends ColumnLineReader {
  /** The line reader behind the slow path; its header state is the current layout. */
  override readonly lines: ZeekLineReader
  private layout: ZeekLayout | undefined
  private seenState: TsvState | undefined
  private seenIndex: ReadonlyMap<string, number> | undefined
  private seenText = ''
  /**
   * IPv6 address texts read so far: the code of the canonical text times 2, plus 1 when that
   * text is IPv6 (0 for an IPv4-mapped address, read as IPv4); -1: not an address.
   */
  private readonly v6 = new Map<string, number>()
  /** Whether the address {@link address} read last is IPv6 (its canonical text). */
  private six = false
  /** The note list code of each set of the fast path's notes (bits as `fastLine` sets them). */
  private readonly noteCodes = new Int32Array(32).fill(-2)

  constructor(
    ctx: ParseContext,
    private readonly table: StringTable,
    maxLineBytes: number,
  ) {
    super(ctx, maxLineBytes)
    this.lines = new ZeekLineReader(ctx)
    this.sync()
  }

  /** The note list code ({@link StringTable.notesCode}) of the fast path's note bits `bits`. */
  private notesCode(bits: number): number {
    let c = this.noteCodes[bits] as number
    if (c === -2) {
      const names: string[] = []
      if ((bits & 1) !== 0) names.push('masked-timestamp')
      if ((bits & 2) !== 0) names.push('no-timestamp')
      if ((bits & 4) !== 0) names.push('unanswered-attempt')
      if ((bits & 8) !== 0) names.push('tunnelled')
      if ((bits & 16) !== 0) names.push('counters-not-logged')
      c = this.table.notesCode(names)
      this.noteCodes[bits] = c
    }
    return c
  }

  /** Recomputes the layout when the line reader's header state changed. */
  protected sync(): void {
    const st = this.lines.state
    const index = this.lines.index
    const text = `${st.separator}\n${st.unsetField}\n${st.emptyField}\n${st.path ?? '\u0000'}`
    if (st === this.seenState && index === this.seenIndex && text === this.seenText) return
    this.seenState = st
    this.seenIndex = index
    this.seenText = text
    this.layout = undefined
    const fields = st.fields
    if (
      st.separator !== '\t' ||
      fields === undefined ||
      fields.length > ZEEK_MAX_COLUMNS ||
      (st.path !== undefined && st.path !== 'conn')
    )
      return
    const col = (names: readonly string[]): number => {
      for (const name of names) {
        const i = index.get(name)
        if (i !== undefined) return i
      }
      return -1
    }
    const L: ZeekLayout = {
      n: fields.length,
      origH: col(ALIASES.origH),
      respH: col(ALIASES.respH),
      origP: col(ALIASES.origP),
      respP: col(ALIASES.respP),
      ipProto: col(['ip_proto']),
      proto: col(['proto']),
      ts: col(['ts']),
      duration: col(['duration']),
      origPkts: col(['orig_pkts']),
      respPkts: col(['resp_pkts']),
      origIpBytes: col(['orig_ip_bytes']),
      respIpBytes: col(['resp_ip_bytes']),
      origBytes: col(['orig_bytes']),
      respBytes: col(['resp_bytes']),
      connState: col(['conn_state']),
      tunnelParents: col(['tunnel_parents']),
      unset: Buffer.from(st.unsetField, 'utf8'),
      empty: Buffer.from(st.emptyField, 'utf8'),
      kinds: new Uint8Array(fields.length),
    }
    for (const i of [L.ipProto, L.origP, L.respP, L.origPkts, L.respPkts, L.origIpBytes])
      if (i >= 0) L.kinds[i] = K_COUNT
    for (const i of [L.respIpBytes, L.origBytes, L.respBytes]) if (i >= 0) L.kinds[i] = K_COUNT
    for (const i of [L.ts, L.duration]) if (i >= 0) L.kinds[i] = K_SECONDS
    for (const i of [L.origH, L.respH]) if (i >= 0) L.kinds[i] = K_IPV4
    // the line reader's own rules decide lines without both addresses, or whose unset and
    // empty markers could be confused with a value read here: a number, an address, or a
    // `proto` or `conn_state` word (which fastLine looks for before the markers)
    const plain = (w: Buffer): boolean =>
      w.length > 0 &&
      w.every((c) => c > 32 && c < 127 && !(c >= 48 && c <= 57) && c !== 46) &&
      !ZEEK_WORDS.has(w.toString('latin1'))
    // and a header whose address column names could pass for addresses (repeated headers)
    const named = (i: number): boolean => i >= 0 && !/[\d:]/.test(fields[i] ?? '')
    if (!named(L.origH) || !named(L.respH) || !plain(L.unset) || !plain(L.empty)) return
    this.layout = L
  }

  /**
   * The code of the address in token `i` (canonical IPv4, or IPv6 text), or -1 (line reader);
   * its family in {@link six}.
   */
  private address(buf: Buffer, i: number): number {
    const v4 = (zvals[i] as number) >= 0 ? (zvals[i] as number) : ipv4Token(buf, i)
    if (v4 >= 0) {
      this.six = false
      return this.table.ipv4(v4)
    }
    const a = zstarts[i] as number
    const b = (zstarts[i + 1] as number) - 1
    if (b - a < 2 || b - a > 45) return -1
    let colon = false
    for (let j = a; j < b; j++) {
      const c = buf[j] as number
      if (c === 58) colon = true
      else if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70) || c === 46))
        return -1
    }
    const L = this.layout as ZeekLayout
    if (!colon || tokenIs(buf, i, L.unset) || tokenIs(buf, i, L.empty)) return -1
    const raw = buf.toString('latin1', a, b)
    let packed = this.v6.get(raw)
    if (packed === undefined) {
      const canon = normalizeIp(raw)
      packed = canon === undefined ? -1 : this.table.code(canon) * 2 + (canon.includes(':') ? 1 : 0)
      this.v6.set(raw, packed)
    }
    if (packed < 0) return -1
    this.six = (packed & 1) === 1
    return packed >>> 1
  }

  /**
   * The data line `buf[a, e)` read from bytes (`buf[e]` is its LF); false (nothing recorded) when
   * the line reader must decide it.
   */
  protected fastLine(buf: Buffer, a: number, e: number, lineNo: number, out: FlowColumns): boolean {
    if (this.layout === undefined) return false
    const len = e - a
    if (len === 0 || len * 3 > this.maxLineBytes || lineNo === 1) return false
    const c0 = buf[a] as number
    if (c0 === 35 || c0 === 123 || buf[e - 1] === 13) return false
    const L = this.layout
    const nt = L.n
    const kinds = L.kinds
    // one pass: split the line at its tabs, reading the counts, seconds and IPv4 addresses of
    // the columns that hold them as it goes (zvals; -1 when a token is not of that plain shape:
    // its reader decides it)
    let k = 0
    let j = a
    zstarts[0] = a
    for (;;) {
      const kind = kinds[k] as number
      let c = buf[j] as number
      if (kind === K_IPV4) {
        // as ipv4At reads it
        let v = 0
        let octet = 0
        let digits = 0
        let first = 0
        let dots = 0
        let plain = true
        for (; ; c = buf[++j] as number) {
          const d = c - 48
          if (d >>> 0 > 9) {
            if (c < 32) break
            if (c === 46) {
              if (digits === 0 || octet > 255 || (digits > 1 && first === 0)) plain = false
              v = v * 256 + octet
              dots++
              digits = 0
              octet = 0
              continue
            }
            plain = false
          }
          if (digits === 3) plain = false
          if (digits === 0) first = d
          octet = octet * 10 + d
          digits++
        }
        zvals[k] =
          plain && dots === 3 && digits > 0 && octet <= 255 && (digits === 1 || first !== 0)
            ? v * 256 + octet
            : -1
      } else if (kind !== 0) {
        // a count, or seconds (digits with one dot after the first)
        const t = j
        let v = 0
        let dot = -1
        let plain = true
        for (; ; c = buf[++j] as number) {
          const d = c - 48
          if (d >>> 0 > 9) {
            if (c < 32) break
            if (c === 46 && kind === K_SECONDS && dot < 0 && j > t) {
              dot = j
              continue
            }
            plain = false
          }
          v = v * 10 + d
        }
        const digits = j - t - (dot < 0 ? 0 : 1)
        // as countToken reads it: 1–15 digits; as secondsToken: at most 16, a dot not last, the
        // digits' integer exact
        zvals[k] =
          !plain ||
          digits === 0 ||
          digits > (kind === K_COUNT ? 15 : 16) ||
          dot === j - 1 ||
          v > Number.MAX_SAFE_INTEGER
            ? -1
            : dot < 0
              ? v
              : v / (POW10[j - 1 - dot] as number)
      } else {
        while (c >= 32) c = buf[++j] as number
      }
      // the token ends at a tab, or at the LF at buf[e] that ends the line; at any other control
      // character the line reader decides the line
      if (c !== 9) {
        if (c === 10) break
        return false
      }
      if (++k >= nt) return false
      zstarts[k] = ++j
    }
    if (j !== e) return false
    if (k !== nt - 1) return false
    zstarts[nt] = e + 1
    const src = this.address(buf, L.origH)
    const srcSix = this.six
    const dst = this.address(buf, L.respH)
    // an IPv4 and an IPv6 end: the line reader gives the record, which is skipped as it is on the
    // object path (column-reader.ts `text`)
    if (src < 0 || dst < 0 || srcSix !== this.six) return false
    // protocol: ip_proto when set, else proto
    let protocol = countAt(buf, L.ipProto, L)
    if (protocol === T_SLOW || protocol > 255) return false
    if (protocol === T_UNSET) {
      // (the markers are never these words: sync)
      const p = L.proto
      if (p < 0) return false
      if (tokenIs(buf, p, W_TCP)) protocol = 6
      else if (tokenIs(buf, p, W_UDP)) protocol = 17
      else if (tokenIs(buf, p, W_ICMP)) protocol = srcSix ? 58 : 1
      else return false
    }
    const origP = countAt(buf, L.origP, L)
    const respP = countAt(buf, L.respP, L)
    if (origP === T_SLOW || respP === T_SLOW || origP > 65535 || respP > 65535) return false
    let srcPort = 0
    let dstPort = 0
    if (protocol === 1 || protocol === 58) {
      const type = origP < 0 ? 0 : origP
      const code = respP < 0 ? 0 : respP
      if (type > 255 || code > 255) return false
      dstPort = type
      srcPort = (protocol === 1 ? ICMP4_PAIRED : ICMP6_PAIRED).has(type) ? 0 : code
    } else if (protocol === 6 || protocol === 17 || protocol === 132) {
      if (respP < 0) return false
      srcPort = origP < 0 ? 0 : origP
      dstPort = respP
    }
    // ts: seconds, the mask, or unset (no timestamp)
    let masked = false
    let ts = secondsAt(buf, L.ts, L)
    let tsExact = 0
    if (ts === T_SLOW) {
      if (!maskedToken(buf, L.ts)) return false
      masked = true
    } else if (ts >= 0) {
      ts *= 1000
      if (ts > MAX_TIME_MS) return false
      tsExact = ts
      ts = Math.round(ts)
    }
    const duration = secondsAt(buf, L.duration, L)
    if (duration === T_SLOW) return false
    // an end past year 9999: the line reader skips it (bad-duration)
    if (ts >= 0 && duration > 0 && tsExact + duration * 1000 > MAX_TIME_MS) return false
    const origPkts = countAt(buf, L.origPkts, L)
    const respPkts = countAt(buf, L.respPkts, L)
    const origIpBytes = countAt(buf, L.origIpBytes, L)
    const respIpBytes = countAt(buf, L.respIpBytes, L)
    const origBytes = countAt(buf, L.origBytes, L)
    const respBytes = countAt(buf, L.respBytes, L)
    if (
      origPkts === T_SLOW ||
      respPkts === T_SLOW ||
      origIpBytes === T_SLOW ||
      respIpBytes === T_SLOW ||
      origBytes === T_SLOW ||
      respBytes === T_SLOW
    )
      return false
    let action = ACTION_UNKNOWN
    let direction = DIR_C2S
    let unanswered = false
    const cs = L.connState
    // a state Zeek writes, else unset or empty (the markers are never a state: sync), else the
    // line reader decides
    let packed: number | undefined
    if (cs >= 0) {
      const a0 = zstarts[cs] as number
      const b0 = (zstarts[cs + 1] as number) - 1
      if (b0 - a0 <= 6) {
        let key = 0
        for (let j = a0; j < b0; j++) key = key * 128 + (buf[j] as number)
        packed = STATE_BY_KEY.get(key)
      }
      if (packed === undefined && !tokenIs(buf, cs, L.unset) && !tokenIs(buf, cs, L.empty))
        return false
    }
    if (packed !== undefined) {
      action = packed & 3
      direction = (packed >> 3) & 3
      if ((packed & 32) !== 0) {
        const r = refineByPayload(
          STATE_NAMES[packed >> 6] as string,
          action === ACTION_ACCEPT ? 'accept' : 'unknown',
          protocol,
          origBytes,
          respBytes,
          respPkts,
        )
        action =
          r.action === 'accept'
            ? ACTION_ACCEPT
            : r.action === 'reject'
              ? ACTION_REJECT
              : ACTION_UNKNOWN
        unanswered = r.unanswered
      }
      if (direction === DIR_UNKNOWN && (protocol === 1 || protocol === 58)) {
        // OTH on ICMP: oriented by Zeek (see icmpAnswered)
        direction = isIcmpReply(protocol, dstPort) ? DIR_S2C : DIR_C2S
        if (icmpAnswered(respPkts < 0 ? 0 : respPkts)) action = ACTION_ACCEPT
      }
    }
    const tp = L.tunnelParents
    const tunnelled =
      tp >= 0 &&
      zstarts[tp + 1] !== (zstarts[tp] as number) + 1 &&
      !tokenIs(buf, tp, L.unset) &&
      !tokenIs(buf, tp, L.empty)

    // the line is a flow: record it as the line reader does, its notes on its row (counted when
    // reading gives the row out: types.ts `flowNote`)
    let noted = 0
    if (masked) noted = 1
    else if (ts === T_UNSET) noted = 2
    if (unanswered) noted |= 4
    if (tunnelled) noted |= 8
    if (
      (origPkts < 0 && respPkts < 0) ||
      (origIpBytes < 0 && respIpBytes < 0 && origBytes < 0 && respBytes < 0)
    )
      noted |= 16
    this.ctx.stats.records++
    out.reserve(1)
    const r = out.n++
    out.src[r] = src
    out.dst[r] = dst
    out.srcPort[r] = srcPort
    out.dstPort[r] = dstPort
    out.protocol[r] = protocol
    if (ts >= 0) {
      out.start[r] = ts
      out.end[r] = Math.round(tsExact + (duration < 0 ? 0 : duration) * 1000)
    } else {
      out.start[r] = 0
      out.end[r] = 0
    }
    out.packets[r] = (origPkts < 0 ? 0 : origPkts) + (respPkts < 0 ? 0 : respPkts)
    out.bytes[r] =
      origIpBytes >= 0 || respIpBytes >= 0
        ? (origIpBytes < 0 ? 0 : origIpBytes) + (respIpBytes < 0 ? 0 : respIpBytes)
        : (origBytes < 0 ? 0 : origBytes) + (respBytes < 0 ? 0 : respBytes)
    out.action[r] = action
    out.direction[r] = direction
    out.tcpFlags[r] = -1
    out.srcName[r] = -1
    out.dstName[r] = -1
    out.line[r] = lineNo
    out.notes[r] = noted === 0 ? -1 : this.notesCode(noted)
    return true
  }
}
