/**
 * @module Zeek `conn.log` parser: TSV (ASCII writer, with `#` header lines or a plain column
 * header) and JSON lines (`LogAscii::use_json`, dotted keys such as `"id.orig_h"`).
 *
 * @remarks Semantics: Zeek's `Conn::Info` record
 * (https://docs.zeek.org/en/master/scripts/base/protocols/conn/main.zeek.html) and
 * shared/docs/FLOW-FORMATS.md "Zeek conn.log".
 */
import {
  normalizeIp,
  type Flow,
  type FlowDirection,
  type ObservedAction,
} from '../../core/index.js'
import { note, skip, type LineParser, type LineReader, type ParseContext } from '../types.js'

/** Latest time we accept, ms since the epoch (9999-12-31T23:59:59.999Z); later values are malformed. */
const MAX_TIME_MS = 253_402_300_799_999

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
 * `conn_state` → what the observer saw. Zeek does not see firewall decisions; it infers them
 * from packets: `REJ` (SYN answered by RST) is a rejection; `S0`, `SH`, `RSTOS0` are attempts the
 * responder never answered (unknown: dropped silently, or host down); the others carried traffic.
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

/** A field value after TSV decoding: undefined when unset (`-`) or absent, `''` when empty. */
type Value = string | number | boolean | readonly unknown[] | undefined
type Getter = (names: readonly string[]) => Value

/** TSV header state of one log section. */
interface TsvState {
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

type TimeResult =
  { kind: 'ok'; ms: number } | { kind: 'masked' } | { kind: 'missing' } | { kind: 'bad' }

/** `ts`: epoch seconds (number or numeric text), ISO-8601 text (JSON writer), or the BTest mask. */
function parseTime(v: Value): TimeResult {
  if (v === undefined || v === '') return { kind: 'missing' }
  let ms: number
  if (typeof v === 'number') ms = v * 1000
  else if (typeof v === 'string') {
    if (isMasked(v)) return { kind: 'masked' }
    if (/^\d+(\.\d+)?$/.test(v)) ms = Number(v) * 1000
    else if (ISO_RE.test(v)) ms = Date.parse(v)
    else return { kind: 'bad' }
  } else return { kind: 'bad' }
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_TIME_MS) return { kind: 'bad' }
  return { kind: 'ok', ms: Math.round(ms) }
}

/** A non-negative count (`count` type). Returns undefined when unset, NaN when malformed. */
function parseCount(v: Value): number | undefined {
  if (v === undefined || v === '') return undefined
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 && Number.isInteger(v) ? v : NaN
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) return Number(v)
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
  return Number.isFinite(n) && n >= 0 ? n : NaN
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
    start = ts.ms
    end = Math.min(MAX_TIME_MS, start + Math.round((duration ?? 0) * 1000))
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

  const state = get(['conn_state'])
  const stateText = typeof state === 'string' ? state.toUpperCase() : undefined
  const observedAction: ObservedAction = stateText
    ? (STATE_ACTION[stateText] ?? 'unknown')
    : 'unknown'
  const direction: FlowDirection = stateText === 'OTH' ? 'unknown' : 'client-to-server'
  // Notes only for records that are emitted.
  if (ts.kind === 'masked') note(ctx, 'masked-timestamp')
  else if (ts.kind === 'missing') note(ctx, 'no-timestamp')
  if (stateText === 'S0' || stateText === 'SH' || stateText === 'RSTOS0')
    note(ctx, 'unanswered-attempt')
  if (nonEmptySet(get(['tunnel_parents']))) note(ctx, 'tunnelled')

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
  private state = freshState()
  private index = new Map<string, number>()
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

    if (line.startsWith('{')) {
      let obj: unknown
      try {
        obj = JSON.parse(line)
      } catch {
        skip(ctx, 'bad-json', where, line)
        return undefined
      }
      if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
        skip(ctx, 'bad-json', where, line)
        return undefined
      }
      const rec = obj as Record<string, unknown>
      if (typeof rec['_path'] === 'string' && rec['_path'] !== 'conn') {
        skip(ctx, 'not-conn-log', where, line)
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
      skip(ctx, 'not-conn-log', where, line)
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
 *   `#unset_field`, `#path` (records of a `#path` other than `conn` are skipped as
 *   `not-conn-log`), `#fields`; `#types`, `#open`, `#close` and `##` banners are ignored. Without
 *   `#fields`, a plain tab-separated line naming conn.log fields is taken as the header (BTest
 *   baselines with column subsets). Concatenated logs may restart with new headers.
 * - JSON: one object per line, dotted or nested `id` keys; `ts` epoch seconds or ISO-8601.
 *
 * Mapping: `id.orig_h:orig_p` → `src:srcPort` (the client), `id.resp_h:resp_p` → `dst:dstPort`;
 * protocol from `ip_proto` when present, else `proto` (`icmp` over IPv6 → 58); for ICMP,
 * `dstPort` = type (`orig_p`) and `srcPort` = code (`resp_p` for one-way types, 0 for
 * request/reply types, whose `resp_p` is the counterpart type); `end = ts + duration`;
 * packets = `orig_pkts + resp_pkts`, bytes = `orig_ip_bytes + resp_ip_bytes` (else
 * `orig_bytes + resp_bytes`, payload only). `conn_state` REJ → reject; S0/SH/RSTOS0 → unknown
 * (note `unanswered-attempt`); OTH → unknown with direction unknown; others → accept. Masked
 * timestamps give start = end = 0 (note `masked-timestamp`); `tunnel_parents` set → note `tunnelled`.
 *
 * Every data line is either emitted (counted in `stats.records`) or skipped with a reason:
 * `missing-address`, `bad-address`, `missing-protocol`, `unknown-protocol` (`unknown_transport`
 * without `ip_proto`), `bad-protocol`, `bad-port`, `missing-port`, `bad-icmp-type`,
 * `bad-timestamp`, `bad-duration`, `bad-counter`, `field-count-mismatch`, `no-fields-header`,
 * `bad-json`, `not-conn-log`.
 *
 * @throws BulkheadError `ingest/malformed-record` on the first skipped record when `ctx.strict`.
 */
async function* parseZeek(lines: AsyncIterable<string>, ctx: ParseContext): AsyncIterable<Flow> {
  const reader = new ZeekLineReader(ctx)
  let lineNo = 0
  for await (const raw of lines) {
    const flow = reader.line(raw, ++lineNo)
    if (flow) yield flow
  }
}

/**
 * Confidence that `head` (the first ≤ 64 KiB, already gunzipped) is a Zeek conn.log: 1 for a
 * `#separator`/`#fields` header naming `id.orig_h`, 0.9 for JSON lines with `id.orig_h` and `uid`
 * or `ts`, 0.6 for a plain column header of conn.log fields, else 0.
 */
function detectZeek(head: Uint8Array): number {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head).replace(/^\uFEFF/, '')
  const lines = text
    .split('\n')
    .slice(0, 40)
    .map((l) => l.replace(/\r$/, ''))
  const complete = text.includes('\n') ? lines.slice(0, -1) : lines
  let path: string | undefined
  for (const line of complete) {
    if (line.startsWith('#path')) path = line.slice(5).trim()
    if (line.startsWith('#fields')) {
      if (path !== undefined && path !== 'conn') return 0
      return /\b(id[._]orig_h|src)\b/.test(line) && /\b(id[._]resp_h|dst)\b/.test(line)
        ? 1
        : path === 'conn'
          ? 0.8
          : 0
    }
  }
  const data = complete.filter((l) => l.trim() !== '' && !l.startsWith('##'))
  const first = data[0]
  if (first === undefined) return 0
  if (first.startsWith('{')) {
    try {
      const o = JSON.parse(first) as Record<string, unknown>
      const hasOrig =
        'id.orig_h' in o || (typeof o['id'] === 'object' && o['id'] !== null && 'orig_h' in o['id'])
      if (
        hasOrig &&
        ('uid' in o || 'ts' in o) &&
        (o['_path'] === undefined || o['_path'] === 'conn')
      )
        return 0.9
    } catch {
      return 0
    }
    return 0
  }
  const tokens = first.split('\t')
  if (isPlainHeader(tokens)) return 0.6
  return 0
}

/** The Zeek conn.log parser. See {@link parseZeek} for the mapping and skip reasons. */
export const zeekParser: LineParser = {
  format: 'zeek',
  kind: 'lines',
  detect: detectZeek,
  parse: parseZeek,
  reader: (ctx) => new ZeekLineReader(ctx),
}
