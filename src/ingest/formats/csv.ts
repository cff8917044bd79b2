/**
 * @module Generic CSV flow files (RFC 4180) with a header row, for exports Bulkhead has no
 * dedicated parser for.
 */
import { isIcmpReply, type Flow, type ObservedAction } from '../../core/index.js'
import { parseAddress, parseCounter, parsePort, parseProtocol, parseTime } from '../fields.js'
import { note, skip, type LineParser, type ParseContext } from '../types.js'

type Column = CsvColumn

/**
 * Accepted header names per column (case-insensitive; spaces, dots and dashes read as `_`).
 * Required: `src_ip`, `dst_ip`, `dst_port`, `protocol`.
 */
export const CSV_COLUMN_ALIASES: Readonly<Record<CsvColumn, readonly string[]>> = {
  src_ip: [
    'src_ip',
    'srcaddr',
    'src_addr',
    'source',
    'source_ip',
    'source_address',
    'src',
    'srcip',
    'saddr',
  ],
  dst_ip: [
    'dst_ip',
    'dstaddr',
    'dst_addr',
    'destination',
    'destination_ip',
    'destination_address',
    'dest_ip',
    'dst',
    'dstip',
    'daddr',
  ],
  src_port: ['src_port', 'srcport', 'source_port', 'sport'],
  dst_port: ['dst_port', 'dstport', 'destination_port', 'dest_port', 'dport'],
  protocol: ['protocol', 'proto', 'ip_protocol'],
  // Argus (`ra -c ,`, the CTU-13 binetflow files): StartTime / LastTime, TotPkts, TotBytes
  start: ['start', 'start_time', 'first_seen', 'ts', 'timestamp', 'time', 'starttime', 'stime'],
  end: ['end', 'end_time', 'last_seen', 'lasttime', 'ltime'],
  duration: ['duration', 'dur'],
  packets: ['packets', 'pkts', 'packet_count', 'totpkts'],
  bytes: ['bytes', 'octets', 'byte_count', 'totbytes'],
  action: ['action', 'decision', 'verdict'],
}

/** A column the CSV parser reads. */
export type CsvColumn =
  | 'src_ip'
  | 'dst_ip'
  | 'src_port'
  | 'dst_port'
  | 'protocol'
  | 'start'
  | 'end'
  | 'duration'
  | 'packets'
  | 'bytes'
  | 'action'
const REQUIRED: readonly Column[] = ['src_ip', 'dst_ip', 'dst_port', 'protocol']
const DELIMITERS = [',', ';', '\t'] as const

/** Most physical lines one quoted record may span. */
export const CSV_MAX_RECORD_LINES = 100

/**
 * Splits one CSV record (RFC 4180: `"` quotes, `""` is a literal quote, delimiters and line
 * breaks inside quotes are data). @returns the fields, or undefined when a quote is still open.
 */
export function splitCsv(text: string, delim = ','): string[] | undefined {
  const out: string[] = []
  let i = 0
  const n = text.length
  for (;;) {
    if (i < n && text.charCodeAt(i) === 34) {
      let v = ''
      i++
      for (;;) {
        const q = text.indexOf('"', i)
        if (q < 0) return undefined
        v += text.slice(i, q)
        if (text.charCodeAt(q + 1) === 34) {
          v += '"'
          i = q + 2
        } else {
          i = q + 1
          break
        }
      }
      // tolerate junk between closing quote and delimiter
      const d = text.indexOf(delim, i)
      if (d < 0) {
        out.push(v)
        return out
      }
      out.push(v)
      i = d + 1
    } else {
      const d = text.indexOf(delim, i)
      if (d < 0) {
        out.push(text.slice(i))
        return out
      }
      out.push(text.slice(i, d))
      i = d + 1
    }
  }
}

/**
 * A time cell: what {@link parseTime} reads, and Argus's `2011/08/10 09:46:53.058760` (its date
 * written with slashes; without a zone it is UTC, as every time without one).
 */
function csvTime(text: string): number | undefined {
  const t = text.trim()
  return parseTime(
    /^\d{4}\/\d{2}\/\d{2}(?:[ T]|$)/.test(t)
      ? `${t.slice(0, 10).replace(/\//g, '-')}${t.slice(10)}`
      : t,
  )
}

/**
 * The time {@link csvTime} read from `text` as `ms` (rounded to the millisecond), with the digits
 * beyond the millisecond kept as a fraction: `09:46:59.607825` → …59607.825; an integer count of
 * microseconds or nanoseconds divided down. An end computed from it (start + `duration`) is then
 * rounded once, as the record's own numbers give it, not a millisecond off.
 */
function exactTime(text: string, ms: number): number {
  const t = text.trim()
  if (/^\d{15,20}$/.test(t)) {
    const n = Number(t)
    return n <= 1e14 ? ms : n <= 1e17 ? n / 1000 : n / 1e6
  }
  const m = /^(.*?[.,]\d{3})(\d+)(\D.*)?$/.exec(t)
  if (!m) return ms
  const cut = csvTime(`${m[1] ?? ''}${m[3] ?? ''}`)
  return cut === undefined ? ms : cut + Number(`0.${m[2] ?? ''}`)
}

function canon(h: string): string {
  return h
    .trim()
    .replace(/^\uFEFF/, '')
    .toLowerCase()
    .replace(/[\s.-]+/g, '_')
}

type Header = { [K in Column]?: number } & { n: number; delim: string }

/** Reads a header row; undefined unless every required column is present. */
function parseHeader(line: string): Header | undefined {
  for (const delim of DELIMITERS) {
    if (!line.includes(delim)) continue
    const names = splitCsv(line, delim)
    if (!names) continue
    const canonNames = names.map(canon)
    const h: Header = { n: names.length, delim: delim }
    for (const [col, aliases] of Object.entries(CSV_COLUMN_ALIASES) as [
      Column,
      readonly string[],
    ][]) {
      const i = canonNames.findIndex((x) => aliases.includes(x))
      if (i >= 0) h[col] = i
    }
    if (REQUIRED.every((c) => h[c] !== undefined)) return h
  }
  return undefined
}

function parseAction(text: string): ObservedAction | undefined {
  const t = text.trim().toLowerCase()
  if (t === '' || t === '-' || t === 'unknown') return 'unknown'
  if (
    [
      'accept',
      'accepted',
      'allow',
      'allowed',
      'permit',
      'permitted',
      'pass',
      'forwarded',
      'ok',
    ].includes(t)
  )
    return 'accept'
  if (['reject', 'rejected', 'deny', 'denied', 'drop', 'dropped', 'block', 'blocked'].includes(t))
    return 'reject'
  return undefined
}

function parseRecord(
  f: string[],
  h: Header,
  where: string,
  text: string,
  ctx: ParseContext,
): Flow | undefined {
  const get = (c: Column): string => {
    const i = h[c]
    return i === undefined ? '' : (f[i] ?? '').trim()
  }
  const src = parseAddress(get('src_ip'))
  const dst = parseAddress(get('dst_ip'))
  if (src === undefined || dst === undefined) return void skip(ctx, 'bad-address', where, text)
  const sp = get('src_port')
  let srcPort = sp === '' || sp === '-' ? 0 : parsePort(sp)
  const dp = get('dst_port')
  let dstPort = dp === '' || dp === '-' ? 0 : parsePort(dp)
  if (srcPort === undefined || dstPort === undefined) return void skip(ctx, 'bad-port', where, text)
  const protoText = get('protocol')
  let protocol = parseProtocol(protoText)
  if (protocol === undefined) return void skip(ctx, 'bad-protocol', where, text)
  if (protocol === 1 || protocol === 58) {
    const v6 = src.includes(':')
    // the name `icmp` between IPv6 addresses is ICMPv6, as Zeek writes it; a protocol number of
    // the other family (ICMPv4 over IPv6, ICMPv6 over IPv4) is no packet anyone sent
    if (protocol === (v6 ? 1 : 58)) {
      if (v6 && protoText.toLowerCase() === 'icmp') protocol = 58
      else return void skip(ctx, 'bad-protocol', where, text)
    }
    // above 255 it is type·256+code in the port, NetFlow v5's convention (nfdump's exports)
    if (dstPort > 255) {
      srcPort = dstPort & 0xff
      dstPort = dstPort >> 8
    }
  }
  const st = get('start')
  const et = get('end')
  let start: number | undefined
  let end: number | undefined
  if (st === '' && et === '') {
    // no time: the file's (name or modification time), noted; from standard input 0, noted
    const t = ctx.fileTime
    start = end = t?.ms ?? 0
    note(ctx, t === undefined ? 'no-timestamp' : `time-from-file-${t.from}`)
  } else {
    start = st === '' ? csvTime(et) : csvTime(st)
    end = et === '' ? start : csvTime(et)
    // no end but a duration in seconds (Argus `Dur`): the end is the start plus it
    const dur = get('duration')
    if (et === '' && st !== '' && start !== undefined && dur !== '') {
      const seconds = /^\d{1,9}(\.\d{1,9})?$/.test(dur) ? Number(dur) : NaN
      end = Number.isNaN(seconds) ? undefined : Math.round(exactTime(st, start) + seconds * 1000)
    }
  }
  if (start === undefined || end === undefined) return void skip(ctx, 'bad-time', where, text)
  if (end < start) return void skip(ctx, 'end-before-start', where, text)
  const packets = parseCounter(get('packets'))
  const bytes = parseCounter(get('bytes'))
  if (packets === undefined || bytes === undefined)
    return void skip(ctx, 'bad-counter', where, text)
  const observedAction = parseAction(get('action'))
  if (observedAction === undefined) return void skip(ctx, 'bad-action', where, text)
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
    // an ICMP reply type (echo reply, ...) in dst_port is the server's half of its exchange
    direction: isIcmpReply(protocol, dstPort) ? 'server-to-client' : 'unknown',
    source: {
      format: 'csv',
      file: ctx.file,
      line: Number(where.slice(where.lastIndexOf(':') + 1)),
    },
  }
}

/**
 * Generic CSV: a header row naming at least `src_ip,dst_ip,dst_port,protocol`, in any order and
 * case, or an alias from {@link CSV_COLUMN_ALIASES} (`srcaddr`, `src_addr`, `source`,
 * `destination`, `dstport`, `proto`, ...); optional `src_port`, `start`, `end`, `duration`
 * (seconds: the end when `end` is absent), `packets`, `bytes`, `action`; Argus's `ra -c ,`
 * columns (`StartTime`, `Dur`, `TotPkts`, `TotBytes`, dates written `2011/08/10`) are read too.
 * Delimiter `,` (or `;` / tab, taken from the header).
 *
 * - Fields may be quoted (RFC 4180), including delimiters, `""` and line breaks (a record spans at
 *   most {@link CSV_MAX_RECORD_LINES} lines; its `source.line` is its first line).
 * - protocol: IANA number or name (`tcp`, `udp`, `icmp`, ...); `icmp` between IPv6 addresses is
 *   58, a number of the other family's ICMP is `bad-protocol`. ICMP's type is `dst_port` (and its
 *   code `src_port`), or type·256+code in `dst_port` when that is above 255.
 * - Times: epoch seconds, ms, µs or ns (told apart by size, see `parseTime`), or ISO-8601; no
 *   `end` → `start`, no `start` → `end`; neither → the file's time (`ctx.fileTime`, noted
 *   `time-from-file-mtime` / `-name`), from standard input 0 (noted `no-timestamp`).
 * - action: accept/allow/permit/forwarded → `accept`, reject/deny/drop/block → `reject`, empty → `unknown`.
 * - Missing ports, packets, bytes → 0. A repeated header row (concatenated files) is skipped.
 * - `direction`: `server-to-client` for an ICMP/ICMPv6 reply type in `dst_port` (echo reply 0,
 *   129, ...: `isIcmpReply`), else `unknown`; reading orients by ports.
 *
 * Skip reasons: `no-header`, `field-count`, `unclosed-quote`, `bad-address`, `bad-port`,
 * `bad-protocol`, `bad-time`, `end-before-start`, `bad-counter`, `bad-action`.
 */
export const csvParser: LineParser = {
  format: 'csv',
  kind: 'lines',
  detect(head: Uint8Array): number {
    const t = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('utf8')
    // the header is the first line that is not blank, as the parser reads it
    const first = /^(?:[ \t\r\uFEFF]*\n)*([^\n]*)/.exec(t)?.[1]?.replace(/\r$/, '') ?? ''
    return parseHeader(first) ? 0.9 : 0
  },
  async *parse(lines: AsyncIterable<string>, ctx: ParseContext): AsyncIterable<Flow> {
    let header: Header | undefined
    let headerText = ''
    let lineNo = 0
    let pending = ''
    let pendingLine = 0
    let pendingCount = 0
    for await (const line of lines) {
      lineNo++
      if (pendingCount === 0 && line.trim() === '') continue
      let text = line
      let first = lineNo
      if (pendingCount > 0) {
        text = `${pending}\n${line}`
        first = pendingLine
      }
      if (!header) {
        header = parseHeader(text)
        headerText = text
        if (!header) skip(ctx, 'no-header', `${ctx.file}:${lineNo}`, line)
        continue
      }
      const f = splitCsv(text, header.delim)
      if (!f) {
        if (pendingCount + 1 >= CSV_MAX_RECORD_LINES) {
          skip(ctx, 'unclosed-quote', `${ctx.file}:${first}`, text)
          pending = ''
          pendingCount = 0
        } else {
          pending = text
          pendingLine = first
          pendingCount++
        }
        continue
      }
      pending = ''
      pendingCount = 0
      const where = `${ctx.file}:${first}`
      if (f.length !== header.n) {
        skip(ctx, 'field-count', where, text)
        continue
      }
      if (text === headerText) continue
      const flow = parseRecord(f, header, where, text, ctx)
      if (flow) yield flow
    }
    if (pendingCount > 0) skip(ctx, 'unclosed-quote', `${ctx.file}:${pendingLine}`, pending)
  },
}
