/**
 * @module Generic CSV flow files (RFC 4180) with a header row, for exports Bulkhead has no
 * dedicated parser for.
 */
import {
  isCounter,
  isIcmpReply,
  type Flow,
  type FlowDirection,
  type ObservedAction,
} from '../../core/index.js'
import { refusedByReset } from '../direction.js'
import { parseAddress, parseCounter, parseProtocol, parsePort, parseTime } from '../fields.js'
import type { PairHalf } from '../netflow/decoder.js'
import { flowGiven, flowNote, note, skip, type LineParser, type ParseContext } from '../types.js'

type Column = CsvColumn

/**
 * Accepted header names per column (case-insensitive; spaces, dots and dashes read as `_`).
 * Required: `src_ip`, `dst_ip`, `dst_port`, `protocol`. Besides the common names, those of the
 * flow tools' text exports: nfdump `-o csv` (`ts,te,td,sa,da,sp,dp,pr,flg,…,ipkt,ibyt,opkt,obyt`;
 * from 1.7.5 `firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,bytes` and the
 * `-o csv:%…` names `lastSeen`, `inPackets`, `outBytes`, `flags`…), SiLK `rwcut`
 * (`sIP|dIP|sPort|dPort|pro|packets|bytes|flags|sTime|duration|eTime|sen|`), pmacct's print
 * plugin (`SRC_IP,DST_IP,SRC_PORT,DST_PORT,TCP_FLAGS,PROTOCOL,TIMESTAMP_START,TIMESTAMP_END,
 * PACKETS,BYTES`, or `TIMESTAMP_MIN`/`TIMESTAMP_MAX` with stitching), Argus `ra -c ,` (`StartTime`, `Dur`, `TotPkts`, `TotBytes`), and an Elastic
 * (ECS) export, as Kibana's CSV report writes it (`@timestamp`, `source.ip`, `source.port`,
 * `destination.ip`, `destination.port`, `network.transport`, `network.bytes`, `network.packets`,
 * `event.start`, `event.end`; `source.bytes`/`destination.bytes` and `.packets` when the
 * `network.*` totals are absent), and nProbe's and ntopng's NetFlow element names (`IPV4_SRC_ADDR`,
 * `IPV6_SRC_ADDR`, `L4_DST_PORT`, `IN_BYTES`/`OUT_BYTES`, `FIRST_SWITCHED`,
 * `FLOW_START_MILLISECONDS`, `TOTAL_BYTES`…). See {@link FALLBACK_ALIASES} for names read only without a better one.
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
    'sa',
    'sip',
    // nProbe / ntopng, by their NetFlow element names (IPv6 ends: `src_ip6`)
    'ipv4_src_addr',
  ],
  src_ip6: ['ipv6_src_addr'],
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
    'da',
    'dip',
    'ipv4_dst_addr',
  ],
  dst_ip6: ['ipv6_dst_addr'],
  src_port: ['src_port', 'srcport', 'source_port', 'sport', 'sp', 'l4_src_port', 'ip_src_port'],
  dst_port: [
    'dst_port',
    'dstport',
    'destination_port',
    'dest_port',
    'dport',
    'dp',
    'l4_dst_port',
    'ip_dst_port',
  ],
  protocol: [
    'protocol',
    'proto',
    'ip_protocol',
    'pr',
    'pro',
    // ECS: the transport by its IANA keyword (`tcp`, `ipv6-icmp`), or its number
    'network_transport',
    'network_iana_number',
  ],
  // Argus (`ra -c ,`, the CTU-13 binetflow files): StartTime / LastTime, TotPkts, TotBytes
  start: [
    'start',
    'start_time',
    'first_seen',
    'ts',
    'timestamp',
    'time',
    'starttime',
    'stime',
    'firstseen',
    'timestamp_start',
    // pmacct with nfacctd_stitching: the first and last time of the records an aggregate stitched
    'timestamp_min',
    // nProbe dumps (epoch seconds) and the NetFlow datasets nProbe made (epoch milliseconds)
    'first_switched',
    'flow_start_milliseconds',
    'event_start',
    '@timestamp',
  ],
  end: [
    'end',
    'end_time',
    'last_seen',
    'lasttime',
    'ltime',
    'te',
    'lastseen',
    'etime',
    'timestamp_end',
    'timestamp_max',
    'last_switched',
    'flow_end_milliseconds',
    'event_end',
  ],
  duration: ['duration', 'dur', 'td'],
  // ECS `network.packets` / `network.bytes` count both directions ("If source.bytes and
  // destination.bytes are known, network.bytes is their sum"); `source.*` counts one
  packets: [
    'packets',
    'pkts',
    'packet_count',
    'totpkts',
    'ipkt',
    'inpackets',
    // nProbe: IN_* "src->dst", OUT_* "dst->src"
    'in_pkts',
    'network_packets',
    'source_packets',
  ],
  bytes: [
    'bytes',
    'octets',
    'byte_count',
    'totbytes',
    'ibyt',
    'inbytes',
    'in_bytes',
    'total_bytes',
    'network_bytes',
    'source_bytes',
  ],
  // the other direction's counters of a bidirectional record (nfdump's `opkt`/`obyt`: NSEL,
  // IPFIX biflows; ECS `destination.*` beside `source.*`), added to `packets` / `bytes`
  out_packets: ['opkt', 'outpackets', 'out_packets', 'out_pkts', 'destination_packets'],
  out_bytes: ['obyt', 'outbytes', 'out_bytes', 'destination_bytes'],
  tcp_flags: ['tcp_flags', 'tcpflags', 'flags', 'flg'],
  // `observedAction`, `direction`, `srcName` and `dstName`: the columns `bulkhead flows -o csv`
  // writes, so that its CSV reads back as the same flows
  action: ['action', 'decision', 'verdict', 'observedaction'],
  direction: ['direction'],
  src_name: ['srcname'],
  dst_name: ['dstname'],
}

/** A column the CSV parser reads. */
export type CsvColumn =
  | 'src_ip'
  | 'dst_ip'
  | 'src_ip6'
  | 'dst_ip6'
  | 'src_port'
  | 'dst_port'
  | 'protocol'
  | 'start'
  | 'end'
  | 'duration'
  | 'packets'
  | 'bytes'
  | 'out_packets'
  | 'out_bytes'
  | 'tcp_flags'
  | 'action'
  | 'direction'
  | 'src_name'
  | 'dst_name'
const REQUIRED: readonly Column[] = ['src_ip', 'dst_ip', 'dst_port', 'protocol']

/**
 * Header names read for their column only when no other name of it is in the header: ECS's
 * `@timestamp` is when the event was written (a Packetbeat flow report), so `event.start` is the
 * flow's start when both are there; `source.packets`/`source.bytes` count one direction, and
 * `network.packets`/`network.bytes`, when present, both.
 */
export const FALLBACK_ALIASES: ReadonlySet<string> = new Set([
  '@timestamp',
  'source_packets',
  'source_bytes',
])
/**
 * Header names of counters of both directions of a flow (nProbe's `TOTAL_BYTES`, "IN_BYTES +
 * OUT_BYTES"; ECS `network.bytes`/`.packets`, "the sum of source.bytes and destination.bytes";
 * Argus `TotPkts`/`TotBytes`): the other direction's column (`out_bytes`) is not added to them.
 */
const BOTH_DIRECTIONS: ReadonlySet<string> = new Set([
  'total_bytes',
  'network_bytes',
  'network_packets',
  'totpkts',
  'totbytes',
])
const DELIMITERS = [',', ';', '\t', '|'] as const

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
 * Argus `ra` with `RA_TIME_FORMAT="%y-%m-%d+%T.%f"`, the date-bearing format its CSV recipes set
 * (`ra -F ra.conf -c ,`): `09-11-18+09:00:03.914398`.
 */
const ARGUS_YMD_PLUS_RE = /^(\d{2})-(\d{2})-(\d{2})\+(\d{2}:\d{2}:\d{2}(?:\.\d+)?)$/

/**
 * A time cell: what {@link parseTime} reads, and Argus's `2011/08/10 09:46:53.058760` (its date
 * written with slashes) and `09-11-18+09:00:03.914398` (`%y-%m-%d+%T.%f`: a two-digit year is
 * 1969–2068, as POSIX `strptime` reads `%y`); without a zone it is UTC, as every time without one.
 */
function csvTime(text: string): number | undefined {
  const t = text.trim()
  const yy = ARGUS_YMD_PLUS_RE.exec(t)
  if (yy) {
    const y = Number(yy[1])
    return parseTime(`${y < 69 ? 2000 + y : 1900 + y}-${yy[2]}-${yy[3]}T${yy[4]}`)
  }
  return parseTime(
    /^\d{4}\/\d{2}\/\d{2}(?:[ T]|$)/.test(t)
      ? `${t.slice(0, 10).replace(/\//g, '-')}${t.slice(10)}`
      : t,
  )
}

/**
 * Protocol names of frames that are no IP packets, which Argus records too (its `Proto` column:
 * `arp`, `rarp`, `lldp`, `llc`, …, with MAC addresses in `SrcAddr`/`DstAddr` for the link-layer
 * ones).
 */
const NON_IP_PROTOCOLS: ReadonlySet<string> = new Set([
  'arp',
  'rarp',
  'lldp',
  'llc',
  'stp',
  'ipx',
  'eapol',
  'lacp',
  // Argus's management records (its start, status and stop reports, `STA`/`STP`), no traffic
  'man',
])

const MAC_RE = /^[0-9a-f]{2}(?:[:-][0-9a-f]{2}){5}$/i

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

type Header = { [K in Column]?: number } & {
  n: number
  delim: string
  /** The exporter prints local time without a zone (nfdump, pmacct): such times are noted. */
  localTime: boolean
  /** Argus `ra` columns (`Sport`, `Dport` beside `StartTime` or `TotPkts`): its ICMP "ports". */
  argus: boolean
  /** Under an Argus header, its `State` column ({@link argusTcpFlags}). */
  argusState?: number
  /**
   * nfdump's own CSV ({@link printsNfdump}) without a `direction` column: each row is one
   * NetFlow record, paired per exporter with the other direction's ({@link nfdumpHalf}).
   */
  nfdump: boolean
  /** Under an nfdump header, its exporter columns: `ra` (router address), `exid` (exporter id). */
  nfdumpExporter?: readonly number[]
}

/** A date-time without a zone or offset (not an epoch count). */
const ZONELESS_RE = /^\d{4}[-/]\d{2}[-/]\d{2}[ T]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?$/

/**
 * Headers of exporters whose times are the local time of the machine that printed them, with no
 * zone: nfdump `-o csv` (1.6 to 1.7.4: `ts,te,td,sa,da…`; 1.7.5 and later: `firstSeen`, with
 * `srcAddr`) and pmacct's print plugin (`TIMESTAMP_START` / `TIMESTAMP_END`, and with
 * `nfacctd_stitching` `TIMESTAMP_MIN` / `TIMESTAMP_MAX`, unless
 * `timestamps_utc` or `timestamps_rfc3339`, which write a zone, or `timestamps_since_epoch`).
 */
function printsLocalTime(names: readonly string[]): boolean {
  const has = (n: string): boolean => names.includes(n)
  return (
    printsNfdump(names) ||
    has('timestamp_start') ||
    has('timestamp_end') ||
    has('timestamp_min') ||
    has('timestamp_max')
  )
}

/**
 * Headers of nfdump's own CSV: `-o csv` of 1.6 to 1.7.4 (`ts,te,td,sa,da…`, with the exporter
 * columns `ra`, `eng`, `exid`), of 1.7.5 and later (`firstSeen,duration,proto,srcAddr…`, no
 * exporter column), and `-o csv:%…` (`firstSeen`… `srcAddr`).
 */
function printsNfdump(names: readonly string[]): boolean {
  const has = (n: string): boolean => names.includes(n)
  return (has('ts') && has('te') && has('sa') && has('da')) || (has('firstseen') && has('srcaddr'))
}

/**
 * Headers of Argus `ra -c ,` output (the CTU-13 binetflow files): `Sport` and `Dport` beside
 * `StartTime` or `TotPkts`. Its ICMP rows are read by {@link argusIcmpTypeCode}.
 */
function printsArgusPorts(names: readonly string[]): boolean {
  const has = (n: string): boolean => names.includes(n)
  return has('sport') && has('dport') && (has('starttime') || has('totpkts'))
}

/**
 * Argus's hexadecimal ICMP "port" (`ArgusPrintPort`: `0x%4.4x` for protocol 1 only; TCP, UDP and
 * ICMPv6 are printed in decimal).
 */
const ARGUS_HEX_PORT_RE = /^0x[0-9a-f]{1,4}$/i

/**
 * An Argus ICMP or ICMPv6 row's type and code, from its `Sport` value `sport`. Argus-clients 3.0.x
 * (the CTU-13 files) print there the 16-bit word over the flow key's type byte then code byte,
 * read on a little-endian host: code·256+type (`0x0303` port unreachable, `0x0008` echo, `0x0103`
 * host unreachable; ICMPv6 `1025` unreachable code 4, though Debian's 3.0.8.2 prints an ICMPv6
 * row's type alone in `Sport` and its code in `Dport`, which the caller reads so when `Sport` is at
 * most 255: checked with a real argus in test/netns/argus-kernel). Their `Dport` is the word over the ICMP id
 * (the echo id; for a port unreachable the quoted datagram's port), no type. Later clients print
 * the type byte alone in `Sport` (high byte 0) and the code in `Dport`, which is not read: code 0.
 * Sources: `ArgusPrintSrcPort` / `ArgusPrintDstPort` / `ArgusPrintPort` in common/argus_util.c of
 * argus-clients 3.0.6.2 (`flow->ip_flow.sport`, `dport`) and of openargus/clients
 * (`icmp_flow.type`, `code`); `struct ArgusICMPFlow` (`type, code` where `ArgusIPFlow` has
 * `sport`); `ArgusNtoH`, which swaps no ICMP field; `ArgusCreateICMPFlow` (argus ArgusIcmp.c).
 * @see https://github.com/openargus/clients/blob/master/common/argus_util.c
 */
function argusIcmpTypeCode(sport: number): { type: number; code: number } {
  return { type: sport & 0xff, code: sport >> 8 }
}

/** Reads a header row; undefined unless every required column is present. */
function parseHeader(line: string): Header | undefined {
  const h = readHeader(line)
  return 'missing' in h ? undefined : h
}

/**
 * Reads a header row: the {@link Header}, or the required columns it lacks, by the delimiter
 * that finds the most of them (all of them for a line that no delimiter splits).
 */
function readHeader(line: string): Header | { missing: readonly Column[] } {
  let missing: readonly Column[] = REQUIRED
  for (const delim of DELIMITERS) {
    if (!line.includes(delim)) continue
    const names = splitCsv(line, delim)
    if (!names) continue
    const canonNames = names.map(canon)
    const h: Header = {
      n: names.length,
      delim: delim,
      localTime: printsLocalTime(canonNames),
      argus: printsArgusPorts(canonNames),
      // a `direction` column (Bulkhead's own, or another tool's) leaves the rows unpaired
      nfdump:
        printsNfdump(canonNames) &&
        !CSV_COLUMN_ALIASES.direction.some((n) => canonNames.includes(n)),
    }
    if (h.argus && canonNames.includes('state')) h.argusState = canonNames.indexOf('state')
    if (h.nfdump)
      h.nfdumpExporter = ['ra', 'exid'].map((n) => canonNames.indexOf(n)).filter((i) => i >= 0)
    for (const [col, aliases] of Object.entries(CSV_COLUMN_ALIASES) as [
      Column,
      readonly string[],
    ][]) {
      const primary = canonNames.findIndex((x) => aliases.includes(x) && !FALLBACK_ALIASES.has(x))
      const i = primary >= 0 ? primary : canonNames.findIndex((x) => aliases.includes(x))
      if (i >= 0) h[col] = i
    }
    // the other direction's counter is added to a counter of one direction only: beside a total
    // of both (nProbe's TOTAL_BYTES, ECS `network.*`) it would count that direction twice; and
    // ECS `destination.*` alone is no flow's count
    const doubled = (other: number | undefined, counter: number | undefined): boolean =>
      other !== undefined &&
      (counter === undefined
        ? (canonNames[other]?.startsWith('destination_') ?? false)
        : BOTH_DIRECTIONS.has(canonNames[counter] ?? ''))
    if (doubled(h.out_packets, h.packets)) delete h.out_packets
    if (doubled(h.out_bytes, h.bytes)) delete h.out_bytes
    // a header with IPv6 address columns only (nProbe's IPV6_SRC_ADDR / IPV6_DST_ADDR)
    if (
      h.src_ip === undefined &&
      h.dst_ip === undefined &&
      h.src_ip6 !== undefined &&
      h.dst_ip6 !== undefined
    ) {
      h.src_ip = h.src_ip6
      h.dst_ip = h.dst_ip6
      delete h.src_ip6
      delete h.dst_ip6
    }
    const lacks = REQUIRED.filter((c) => h[c] === undefined)
    if (lacks.length === 0) return h
    if (lacks.length < missing.length) missing = lacks
  }
  return { missing }
}

/**
 * The required columns (`src_ip`, `dst_ip`, `dst_port`, `protocol`, in that order) that `line`,
 * read as a header row, lacks: by the delimiter (`,` `;` tab `|`) that finds the most of them;
 * empty for a complete header; all four for a line that no delimiter splits. An IPv6 address
 * column pair (`IPV6_SRC_ADDR`, `IPV6_DST_ADDR`) stands for the addresses, as the reader takes it.
 */
export function csvHeaderLacks(line: string): readonly CsvColumn[] {
  const h = readHeader(line)
  return 'missing' in h ? h.missing : []
}

/**
 * What a line read as a header lacks, for the `no-header` skip and detection's
 * `ingest/unknown-format`: each missing required column and the header names it takes
 * ({@link CSV_COLUMN_ALIASES}, canonical: any case, with spaces, dots or dashes for `_`), joined
 * with `; `, e.g. `no dst_port column (dst_port, dstport, …)`.
 */
export function missingColumnsText(missing: readonly CsvColumn[]): string {
  const names = (c: Column): readonly string[] =>
    c === 'src_ip' || c === 'dst_ip'
      ? [...CSV_COLUMN_ALIASES[c], ...CSV_COLUMN_ALIASES[c === 'src_ip' ? 'src_ip6' : 'dst_ip6']]
      : CSV_COLUMN_ALIASES[c]
  return missing.map((c) => `no ${c} column (${names(c).join(', ')})`).join('; ')
}

/** TCP flag letters as nfdump (`CEUAPRSF`) and SiLK (`FSRPAUEC`) print them, by bit. */
const FLAG_LETTERS: Readonly<Record<string, number>> = {
  F: 1,
  S: 2,
  R: 4,
  P: 8,
  A: 16,
  U: 32,
  E: 64,
  C: 128,
}

/**
 * TCP flags as flow exports print them: nfdump's positional letters with `.` for a flag not set
 * (`.AP.SF` in 1.6, `...AP.SF` from 1.7) or its hex (`0xd2`, 1.6 with ECE/CWR set); SiLK's
 * letters, blank-padded (`FS PA   `); a number (pmacct's `TCP_FLAGS`, `rwcut
 * --integer-tcp-flags`), decimal or `0x` hex. @returns the flag bits, or undefined when the text
 * is none of these.
 */
export function parseTcpFlags(text: string): number | undefined {
  const t = text.trim()
  if (/^0x[0-9a-f]{1,3}$/i.test(t)) return parseInt(t.slice(2), 16)
  if (/^\d{1,4}$/.test(t)) {
    const n = Number(t)
    return n <= 0xfff ? n : undefined
  }
  if (!/^[CEUAPRSF. ]+$/.test(t)) return undefined
  let bits = 0
  for (const c of t) bits |= FLAG_LETTERS[c] ?? 0
  return bits
}

/** Argus's TCP flag letters (`ra -Z b`), by bit: `7` and `8` are the 7th and 8th (ECE, CWR). */
const ARGUS_FLAG_LETTERS: Readonly<Record<string, number>> = {
  ...FLAG_LETTERS,
  '7': 64,
  '8': 128,
}

/**
 * An Argus TCP row's `State` as `ra -Z b` prints it (the CTU-13 binetflow files: `S_RA`,
 * `FSPA_FSPA`): the flags its source sent, `_`, the flags its destination sent (ra(1) `-Z`:
 * `F S R P A U 7 8`). @returns both, or undefined for another state (`ra`'s default `RST`, `CON`…).
 */
function argusTcpFlags(text: string): { src: number; dst: number } | undefined {
  const m = /^([FSRPAU78]*)_([FSRPAU78]*)$/.exec(text.trim())
  if (!m) return undefined
  const bits = (t: string): number => {
    let b = 0
    for (const c of t) b |= ARGUS_FLAG_LETTERS[c] ?? 0
    return b
  }
  return { src: bits(m[1] ?? ''), dst: bits(m[2] ?? '') }
}

/** One of the words of {@link FlowDirection}, as `flows -o csv` writes them. */
function isFlowDirection(t: string): t is FlowDirection {
  return t === 'client-to-server' || t === 'server-to-client' || t === 'unknown'
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
  // a frame that is no IP packet (ARP, LLDP…: Argus records them) is no flow, nor malformed
  if (
    NON_IP_PROTOCOLS.has(get('protocol').toLowerCase()) ||
    MAC_RE.test(get('src_ip')) ||
    MAC_RE.test(get('dst_ip'))
  )
    return void note(ctx, 'not-ip')
  // nProbe and ntopng give each family its own columns, the other one empty or unspecified
  const address = (v4: Column, v6: Column): string => {
    const a = get(v4)
    return (a === '' || a === '0.0.0.0') && h[v6] !== undefined ? get(v6) : a
  }
  const src = parseAddress(address('src_ip', 'src_ip6'))
  const dst = parseAddress(address('dst_ip', 'dst_ip6'))
  if (src === undefined || dst === undefined) return void skip(ctx, 'bad-address', where, text)
  const sp = get('src_port')
  const dp = get('dst_port')
  // Argus prints ICMP's "ports" in hex (`0x0303`): read here, refused below for other protocols
  const hex = h.argus && (ARGUS_HEX_PORT_RE.test(sp) || ARGUS_HEX_PORT_RE.test(dp))
  const port = (t: string): number | undefined =>
    t === '' || t === '-'
      ? 0
      : h.argus && ARGUS_HEX_PORT_RE.test(t)
        ? parseInt(t.slice(2), 16)
        : parsePort(t)
  let srcPort = port(sp)
  let dstPort = port(dp)
  // nfdump writes an ICMP flow's destination port as type.code (`8.0`, `3.3`)
  const typeCode = dstPort === undefined ? /^(\d{1,3})\.(\d{1,3})$/.exec(dp) : null
  if (typeCode) dstPort = Number(typeCode[1]) * 256 + Number(typeCode[2])
  if (srcPort === undefined || dstPort === undefined || dstPort > 65535)
    return void skip(ctx, 'bad-port', where, text)
  const protoText = get('protocol')
  let protocol = parseProtocol(protoText)
  if (protocol === undefined) return void skip(ctx, 'bad-protocol', where, text)
  if (typeCode && protocol !== 1 && protocol !== 58) return void skip(ctx, 'bad-port', where, text)
  if (typeCode) {
    // its type and code, whatever the source port says
    srcPort = dstPort & 0xff
    dstPort = dstPort >> 8
  } else if (protocol === 1 || protocol === 58) {
    const v6 = src.includes(':')
    // the name `icmp` between IPv6 addresses is ICMPv6, as Zeek writes it; a protocol number of
    // the other family (ICMPv4 over IPv6, ICMPv6 over IPv4) is no packet anyone sent
    if (protocol === (v6 ? 1 : 58)) {
      if (v6 && protoText.toLowerCase() === 'icmp') protocol = 58
      else return void skip(ctx, 'bad-protocol', where, text)
    }
    if (h.argus) {
      // Argus: type and code in Sport (code·256+type), no type in Dport; ICMPv6 as Debian's
      // 3.0.8.2 prints it: the type in Sport, the code in Dport
      const { type, code } =
        protocol === 58 && srcPort <= 255
          ? { type: srcPort, code: dstPort <= 255 ? dstPort : 0 }
          : argusIcmpTypeCode(srcPort)
      srcPort = code
      dstPort = type
    } else if (dstPort > 255) {
      // above 255 it is type·256+code in the port, NetFlow v5's convention (nfdump's exports)
      srcPort = dstPort & 0xff
      dstPort = dstPort >> 8
    }
  }
  // Argus writes hex for ICMPv4 only: a hex port of TCP, UDP or ICMPv6 is no port it printed
  if (hex && protocol !== 1) return void skip(ctx, 'bad-port', where, text)
  const zero = (c: Column): string => {
    const t = get(c)
    // nfdump and pmacct print a time the record lacks as 0000-00-00 00:00:00: no time
    return t.startsWith('0000-00-00') ? '' : t
  }
  const st = zero('start')
  const et = zero('end')
  let start: number | undefined
  let end: number | undefined
  if (st === '' && et === '') {
    // no time: the file's (name or modification time), noted; from standard input 0, noted
    const t = ctx.fileTime
    start = end = t?.ms ?? 0
    flowNote(ctx, t === undefined ? 'no-timestamp' : `time-from-file-${t.from}`)
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
  const inPackets = parseCounter(get('packets'))
  const inBytes = parseCounter(get('bytes'))
  const outPackets = parseCounter(get('out_packets'))
  const outBytes = parseCounter(get('out_bytes'))
  if (
    inPackets === undefined ||
    inBytes === undefined ||
    outPackets === undefined ||
    outBytes === undefined
  )
    return void skip(ctx, 'bad-counter', where, text)
  // a bidirectional record's two directions are summed, as for Zeek and IPFIX biflows
  const packets = inPackets + outPackets
  const bytes = inBytes + outBytes
  if (!isCounter(packets) || !isCounter(bytes)) return void skip(ctx, 'bad-counter', where, text)
  let observedAction = parseAction(get('action'))
  if (observedAction === undefined) return void skip(ctx, 'bad-action', where, text)
  // a header without packet or byte columns gives 0 for them: noted, as the aws-vpc, zeek and
  // goflow2 readers note it, so that discover's figures are not read as measured
  if (
    (h.packets === undefined && h.out_packets === undefined) ||
    (h.bytes === undefined && h.out_bytes === undefined)
  )
    flowNote(ctx, 'counters-not-logged')
  // times without a zone from an exporter that prints local time are read as UTC, and noted
  if (h.localTime && (ZONELESS_RE.test(st) || ZONELESS_RE.test(et)))
    flowNote(ctx, 'local-time-as-utc')
  let tcpFlags: number | undefined
  const flagText = get('tcp_flags')
  if (protocol === 6 && flagText !== '' && flagText !== '-') {
    tcpFlags = parseTcpFlags(flagText)
    // the flow is kept, without flags, rather than dropped for a column it does not need
    if (tcpFlags === undefined) flowNote(ctx, 'unread-tcp-flags')
  }
  // Argus `ra -Z b`: a TCP row's State holds each direction's flags; a SYN its destination
  // answered with a reset is a refusal, as direction.ts `refusedByReset` reads two halves
  const argusFlags =
    protocol === 6 && h.argusState !== undefined ? argusTcpFlags(f[h.argusState] ?? '') : undefined
  if (argusFlags) {
    tcpFlags ??= argusFlags.src | argusFlags.dst
    if (observedAction === 'unknown' && refusedByReset(argusFlags.src, argusFlags.dst)) {
      observedAction = 'reject'
      flowNote(ctx, 'refused-by-reset')
    }
  }
  // a direction Bulkhead wrote (`flows -o csv`) is kept; another column of that name (an
  // exporter's ingress/egress, 0/1) is not one of its words and is not read
  const written = get('direction').trim()
  const srcName = get('src_name')
  const dstName = get('dst_name')
  const flow: Flow = {
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
    direction: isFlowDirection(written)
      ? written
      : isIcmpReply(protocol, dstPort)
        ? 'server-to-client'
        : 'unknown',
    ...(srcName !== '' ? { srcName } : {}),
    ...(dstName !== '' ? { dstName } : {}),
    source: {
      format: 'csv',
      file: ctx.file,
      line: Number(where.slice(where.lastIndexOf(':') + 1)),
    },
    ...(tcpFlags !== undefined ? { tcpFlags } : {}),
  }
  // an nfdump row of one direction (no other direction's counters: not an NSEL or IPFIX biflow
  // record, nor a connection `nfdump -B` joined) pairs as its NetFlow record would
  if (h.nfdump && outPackets === 0 && outBytes === 0) ctx.halves?.set(flow, nfdumpHalf(f, h))
  return flow
}

/**
 * How an nfdump `-o csv` row of one direction may be paired (read.ts `EXPORTER_PAIRED_FORMATS`,
 * netflow/pairing.ts): within its file, with a row of the same exporter — the same `ra` (router
 * address) and `exid` (nfdump's number for an exporter of the file: address, NetFlow version and
 * v9 source id / IPFIX observation domain) where the header has them, else any row of the file
 * (1.7.5's and `-o csv:%…` headers name no exporter). The engine type/id (`eng`) is left out, as
 * the NetFlow decoder leaves out a v5 header's: one router's line cards are one exporter. Not
 * across files: `exid` numbers the exporters of one file only, and `ra` alone names no
 * observation domain. nfdump prints an ICMP row's type (`8.0`), so none is assumed an echo.
 */
function nfdumpHalf(f: readonly string[], h: Header): PairHalf {
  const ids = (h.nfdumpExporter ?? []).map((i) => (f[i] ?? '').trim())
  return { scope: ['csv', ...ids].join('\u0000'), echoAssumed: false }
}

/**
 * A comment line: `#` first, after blanks (and a byte order mark). No flow record starts so: its
 * first field would have to begin with `#` unquoted.
 */
const COMMENT_RE = /^[ \t\uFEFF]*#/

/**
 * The text of a comment line after its `#` and the blanks that follow it: a header written as a
 * comment (`#IPV4_SRC_ADDR|IPV4_DST_ADDR|…`, as nProbe's text dumps write it) read as a header.
 */
function uncommented(line: string): string {
  return line.replace(/^[ \t\uFEFF]*#[ \t]*/, '')
}

/**
 * The header line of a file's head (`\n`-separated, a last partial line included), as the parser
 * finds it: the first line that is not blank and not a `#` comment, or a `#` comment before it
 * whose text reads as a complete header. Undefined when the head has no such line.
 */
function headerLineOf(text: string): string | undefined {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '')
    if (line.trim() === '') continue
    if (!COMMENT_RE.test(line)) return line
    const h = uncommented(line)
    if (parseHeader(h)) return h
  }
  return undefined
}

/**
 * Generic CSV: a header row naming at least `src_ip,dst_ip,dst_port,protocol`, in any order and
 * case, or an alias from {@link CSV_COLUMN_ALIASES} (`srcaddr`, `src_addr`, `source`,
 * `destination`, `dstport`, `proto`, ...); optional `src_port`, `start`, `end`, `duration`
 * (seconds: the end when `end` is absent), `packets`, `bytes`, `action`; Argus's `ra -c ,`
 * columns (`StartTime`, `Dur`, `TotPkts`, `TotBytes`, dates written `2011/08/10`) are read too,
 * and a TCP row's `State` as `ra -Z b` prints it ({@link argusTcpFlags}): the flow's TCP flags,
 * and with no action a SYN answered by a reset (`S_RA`) is `reject` (note `refused-by-reset`).
 * Delimiter `,` (or `;` / tab / `|`, taken from the header).
 *
 * - Fields may be quoted (RFC 4180), including delimiters, `""` and line breaks (a record spans at
 *   most {@link CSV_MAX_RECORD_LINES} lines; its `source.line` is its first line).
 * - protocol: IANA number or name (`tcp`, `udp`, `icmp`, ...); `icmp` between IPv6 addresses is
 *   58, a number of the other family's ICMP is `bad-protocol`. ICMP's type is `dst_port` (and its
 *   code `src_port`), or type·256+code in `dst_port` when that is above 255; under an Argus
 *   header both are in `Sport`, hex for ICMPv4 ({@link argusIcmpTypeCode}), except an ICMPv6
 *   `Sport` of at most 255, the type, whose code is `Dport`; a hex port of another
 *   protocol, or outside an Argus header, is `bad-port`.
 * - Times: epoch seconds, ms, µs or ns (told apart by size, see `parseTime`), or ISO-8601; no
 *   `end` → `start`, no `start` → `end`; neither → the file's time (`ctx.fileTime`, noted
 *   `time-from-file-mtime` / `-name`), from standard input 0 (noted `no-timestamp`).
 * - action: accept/allow/permit/forwarded → `accept`, reject/deny/drop/block → `reject`, empty → `unknown`.
 * - Missing ports, packets, bytes → 0 (a header without packet or byte columns: noted
 *   `counters-not-logged`). A repeated header row (concatenated files) is skipped.
 * - `direction`: a `direction` column's `client-to-server`, `server-to-client` or `unknown`, as
 *   `bulkhead flows -o csv` writes it (another value is not read); else `server-to-client` for an
 *   ICMP/ICMPv6 reply type in `dst_port` (echo reply 0, 129, ...: `isIcmpReply`), else `unknown`;
 *   reading orients the `unknown` ones by ports.
 * - `flows -o csv`'s other columns read back too: `observedAction` as `action`, `srcName` and
 *   `dstName` as the names the flow gives (its `format`, `file` and `line` are this file's).
 *
 * - Counters: `packets` and `bytes` plus, in a bidirectional record, the other direction's
 *   (`opkt` / `obyt`); TCP flags (`flg`, `flags`, `TCP_FLAGS`: letters or a number) on TCP flows,
 *   read as the OR over the record's packets (only SYN without ACK tells the client).
 * - Times without a zone are UTC; from nfdump or pmacct, which print the local time of the
 *   machine that ran them, each such record is noted `local-time-as-utc`.
 * - Delimiter `|` too, with blank-padded cells and a final delimiter (SiLK `rwcut`).
 * - A line whose first character that is not blank is `#` (outside a quoted field) is a comment,
 *   before the header or between records: skipped and noted `comment-line`, never malformed (a
 *   `#`-prefixed header, `#src_ip,...`, is a comment too).
 * - nfdump's closing `Summary` block (the line `Summary`, its header and its totals) is noted
 *   `summary-block` and not read; a header line after it starts records again.
 * - Under nfdump's own header ({@link printsNfdump}, without a `direction` column) each row of
 *   one direction (no `opkt`/`obyt`) is given its exporter scope in `ctx.halves`
 *   ({@link nfdumpHalf}): reading pairs the two rows of a connection as NetFlow records
 *   (read.ts `EXPORTER_PAIRED_FORMATS`); other CSV rows are not paired.
 *
 * Skip reasons: `no-header`, `field-count`, `unclosed-quote`, `bad-address`, `bad-port`,
 * `bad-protocol`, `bad-time`, `end-before-start`, `bad-counter`, `bad-action`. Notes:
 * `time-from-file-*`, `no-timestamp`, `local-time-as-utc`, `unread-tcp-flags`, `summary-block`,
 * `comment-line`,
 * `not-ip` (a frame that is no IP packet, as Argus records ARP and LLDP: not a flow).
 */
export const csvParser: LineParser = {
  format: 'csv',
  kind: 'lines',
  detect(head: Uint8Array): number {
    const t = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('utf8')
    // the header as the parser finds it: not blank, not a `#` comment unless one reads as a header
    const first = headerLineOf(t) ?? ''
    // a JSON object or array is no header, though its keys split at commas read as column names
    // (`{"SrcAddr":"10.0.0.1","DstAddr":…}`: a JSON-lines export of another tool)
    if (/^[\s\uFEFF]*[{[]/.test(first)) return 0
    return parseHeader(first) ? 0.9 : 0
  },
  async *parse(lines: AsyncIterable<string>, ctx: ParseContext): AsyncIterable<Flow> {
    let header: Header | undefined
    let headerText = ''
    let lineNo = 0
    let pending = ''
    let pendingLine = 0
    let pendingCount = 0
    // inside nfdump's closing summary block (`Summary`, its own header, one row of totals)
    let inSummary = false
    for await (const line of lines) {
      lineNo++
      if (pendingCount === 0 && line.trim() === '') continue
      // a `#` comment, before the header or between records (not inside a quoted field); one
      // before the header that reads as a complete header is the header, and its repeats are
      // skipped as a repeated header is
      if (pendingCount === 0 && COMMENT_RE.test(line)) {
        if (!header) {
          const read = readHeader(uncommented(line))
          if (!('missing' in read)) {
            header = read
            headerText = line
            continue
          }
        } else if (line === headerText) {
          inSummary = false
          continue
        }
        note(ctx, 'comment-line')
        continue
      }
      if (inSummary) {
        // the next file's header (files joined with `cat`) starts records again
        if (line === headerText) inSummary = false
        continue
      }
      if (header && pendingCount === 0 && line.trim() === 'Summary') {
        inSummary = true
        note(ctx, 'summary-block')
        continue
      }
      let text = line
      let first = lineNo
      if (pendingCount > 0) {
        text = `${pending}\n${line}`
        first = pendingLine
      }
      if (!header) {
        const read = readHeader(text)
        header = 'missing' in read ? undefined : read
        headerText = text
        if ('missing' in read)
          skip(
            ctx,
            'no-header',
            `${ctx.file}:${lineNo}`,
            line,
            undefined,
            missingColumnsText(read.missing),
          )
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
      const flow = flowGiven(ctx.stats, parseRecord(f, header, where, text, ctx))
      if (flow) yield flow
    }
    if (pendingCount > 0) skip(ctx, 'unclosed-quote', `${ctx.file}:${pendingLine}`, pending)
  },
}
