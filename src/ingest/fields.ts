/**
 * @module Fast, allocation-light field parsers shared by the text flow parsers.
 *
 * Every function here returns `undefined` for a value it cannot read and never throws, so a
 * parser can write `const port = parsePort(t); if (port === undefined) return skip(...)`.
 * They avoid regular expressions and `ipaddr.js` on the hot path: AWS VPC files hold hundreds
 * of millions of records.
 */
import { isCounter, normalizeIp, PROTOCOLS, type Flow } from '../core/index.js'

/**
 * Reads a non-negative decimal integer of at most `max` (inclusive) from `text`, digits only
 * (no sign, no spaces, no exponent). At most 16 digits, so the result is an exact safe integer.
 * @returns the number, or undefined for an empty or non-digit string or a value above `max`.
 */
export function parseUint(text: string, max: number = Number.MAX_SAFE_INTEGER): number | undefined {
  const n = text.length
  if (n === 0 || n > 16) return undefined
  let v = 0
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i) - 48
    if (c < 0 || c > 9) return undefined
    v = v * 10 + c
  }
  return v <= max ? v : undefined
}

/** A TCP/UDP port 0–65535 written in decimal, or undefined. */
export function parsePort(text: string): number | undefined {
  return parseUint(text, 65535)
}

/** An IANA protocol number 0–255 written in decimal, or undefined. */
export function parseProtocolNumber(text: string): number | undefined {
  return parseUint(text, 255)
}

/**
 * IANA "Assigned Internet Protocol Numbers" keywords (lower-cased) of the protocols flow exports
 * name, with the spellings exporters print besides: nfdump's `ICMP6` and `IPv6`, `/etc/protocols`'
 * `ipencap` (4), `ospf` for `OSPFIGP`. Read by {@link parseIanaProtocol}.
 * @see https://www.iana.org/assignments/protocol-numbers
 */
export const IANA_PROTOCOL_KEYWORDS: ReadonlyMap<string, number> = new Map([
  ['hopopt', 0],
  ['icmp', 1],
  ['igmp', 2],
  ['ggp', 3],
  ['ipv4', 4],
  ['ipencap', 4],
  ['st', 5],
  ['tcp', 6],
  ['egp', 8],
  ['igp', 9],
  ['udp', 17],
  ['rdp', 27],
  ['dccp', 33],
  ['ipv6', 41],
  ['ipv6-route', 43],
  ['ipv6-frag', 44],
  ['rsvp', 46],
  ['gre', 47],
  ['esp', 50],
  ['ah', 51],
  ['ipv6-icmp', 58],
  ['icmpv6', 58],
  ['icmp6', 58],
  ['ipv6-nonxt', 59],
  ['ipv6-opts', 60],
  ['eigrp', 88],
  ['ospfigp', 89],
  ['ospf', 89],
  ['ipip', 94],
  ['pim', 103],
  ['vrrp', 112],
  ['l2tp', 115],
  ['sctp', 132],
  ['udplite', 136],
  ['mpls-in-ip', 137],
])

/** Protocol names flow records use: the policy language's ({@link PROTOCOLS}) and IANA's keywords. */
const PROTOCOL_NAMES: ReadonlyMap<string, number> = new Map([
  ...Object.entries(PROTOCOLS),
  ...IANA_PROTOCOL_KEYWORDS,
])

/**
 * A protocol given as an IANA number (`6`) or a name: the policy language's (`tcp`, `icmpv6`,
 * `gre`…) or an IANA keyword from {@link IANA_PROTOCOL_KEYWORDS} (`OSPF`, `PIM`, `ICMP6`,
 * `ipv6-icmp`…); case-insensitive.
 * @returns the IANA number 0–255, or undefined. Source: IANA "Assigned Internet Protocol Numbers".
 */
export function parseProtocol(text: string): number | undefined {
  const n = parseProtocolNumber(text)
  if (n !== undefined) return n
  // a Map: `constructor` is no protocol
  return PROTOCOL_NAMES.get(text.trim().toLowerCase())
}

/**
 * Validates a canonical dotted quad (`10.0.0.1`; no leading zeros, each octet 0–255) without
 * allocating. @returns true when `text` is already the canonical IPv4 spelling.
 */
export function isDottedQuad(text: string): boolean {
  const n = text.length
  if (n < 7 || n > 15) return false
  let dots = 0
  let digits = 0
  let octet = 0
  let first = 0
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c === 46) {
      if (digits === 0 || octet > 255 || (digits > 1 && first === 0)) return false
      dots++
      digits = 0
      octet = 0
    } else {
      const d = c - 48
      if (d < 0 || d > 9 || digits === 3) return false
      if (digits === 0) first = d
      octet = octet * 10 + d
      digits++
    }
  }
  return dots === 3 && digits > 0 && octet <= 255 && !(digits > 1 && first === 0)
}

/**
 * Canonical text of an IPv4 or IPv6 address: dotted quads are checked without allocating and
 * returned as is; anything with a `:` goes through `normalizeIp` (RFC 5952, IPv4-mapped IPv6 →
 * IPv4, zone id dropped). @returns undefined for anything else (including `-` and `""`).
 */
export function parseAddress(text: string): string | undefined {
  if (isDottedQuad(text)) return text
  if (text.includes(':')) return normalizeIp(text)
  return undefined
}

/**
 * Unix time in seconds (integer or decimal, e.g. `1418530010` or `1418530010.123`) → milliseconds,
 * or undefined. Rounded to the nearest ms, half up, from the digits (as {@link parseIsoTime}
 * rounds): a double holds such a time only to about 0.2 µs, so `Number(text) * 1000` put times
 * just under a half millisecond (`….000499999`) on the wrong side.
 */
export function parseEpochSeconds(text: string): number | undefined {
  const i = parseUint(text)
  if (i !== undefined) return i * 1000
  if (!/^\d{1,12}\.\d{1,9}$/.test(text)) return undefined
  const dot = text.indexOf('.')
  const frac = text.slice(dot + 1)
  const up = frac.length > 3 && frac.charCodeAt(3) >= 53 ? 1 : 0 // the 4th digit ≥ 5
  return Number(text.slice(0, dot)) * 1000 + Number(frac.slice(0, 3).padEnd(3, '0')) + up
}

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|UTC|[+-]\d{2}:?\d{2})?$/

/**
 * An ISO-8601 / RFC 3339 date-time → milliseconds since the epoch, UTC. Accepts `T` or a space
 * between date and time, up to 9 fractional digits (rounded to the nearest ms, half up, as
 * {@link parseEpochSeconds} rounds), `Z`, ` UTC` (BigQuery's
 * JSON export of TIMESTAMP: `2023-01-10 19:11:04.981421 UTC`) or `±hh:mm` / `±hhmm`; without a
 * zone the time is read as UTC. A bare date is midnight UTC.
 * @returns undefined for anything else, including impossible dates (month 13, Feb 30).
 */
export function parseIsoTime(text: string): number | undefined {
  const m = ISO_RE.exec(text.trim())
  if (!m) return undefined
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m
  const year = Number(y)
  const month = Number(mo)
  const day = Number(d)
  const hour = Number(h)
  const minute = Number(mi)
  const second = Number(s)
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60)
    return undefined
  const ms = frac === '' ? 0 : Number(frac.slice(0, 3).padEnd(3, '0'))
  // setUTCFullYear, not Date.UTC, which reads years 0–99 as 1900–1999
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  date.setUTCHours(hour, minute, Math.min(second, 59), ms)
  let t = date.getTime()
  if (date.getUTCDate() !== day) return undefined
  if (frac.length > 3 && frac.charCodeAt(3) >= 53) t += 1 // the 4th digit ≥ 5: round up
  if (zone && zone !== 'Z' && zone !== 'z' && zone !== 'UTC') {
    const sign = zone.startsWith('-') ? -1 : 1
    const digits = zone.slice(1).replace(':', '')
    const off = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))
    t -= sign * off * 60_000
  }
  return Number.isFinite(t) ? t : undefined
}

/** The last millisecond of 9999-12-31 UTC: a later time in a flow record is garbage, not a flow. */
export const MAX_TIME_MS = 253_402_300_799_999

/**
 * A time in any common spelling → ms since the epoch, UTC: an integer count of epoch seconds
 * (up to 1e11, i.e. before year 5138), milliseconds (up to 1e14), microseconds (up to 1e17) or
 * nanoseconds (beyond), the finer units rounded to the nearest millisecond; decimal epoch
 * seconds; or ISO-8601 (see {@link parseIsoTime}).
 * @returns undefined otherwise, and for times after {@link MAX_TIME_MS}.
 */
export function parseTime(text: string): number | undefined {
  const t = text.trim()
  let ms: number | undefined
  const i = parseUint(t)
  if (i !== undefined) ms = i <= 1e11 ? i * 1000 : i <= 1e14 ? i : Math.round(i / 1000)
  else if (/^\d{17,20}$/.test(t)) {
    const n = BigInt(t)
    ms = Number(n <= 100_000_000_000_000_000n ? (n + 500n) / 1000n : (n + 500_000n) / 1_000_000n)
  } else ms = parseEpochSeconds(t) ?? parseIsoTime(t)
  return ms !== undefined && ms <= MAX_TIME_MS ? ms : undefined
}

/**
 * A counter (packets, bytes): a non-negative decimal integer; `-`, `""` → 0 (no value).
 * @returns undefined when the text is something else (negative, not a number).
 */
export function parseCounter(text: string): number | undefined {
  if (text === '-' || text === '') return 0
  return parseUint(text)
}

/**
 * Checks the {@link Flow} invariants (core/flow.ts): canonical addresses, ports 0–65535,
 * protocol 0–255, integer times with `end >= start`, counters that are safe integers 0 … 2^53 − 1
 * ({@link isCounter}).
 * @returns the first violated invariant's name, or undefined when the flow is valid.
 * Used by the tests and usable as a last guard by any parser.
 */
export function flowInvariantViolation(f: Flow): string | undefined {
  if (normalizeIp(f.src) !== f.src) return 'src-not-canonical'
  if (normalizeIp(f.dst) !== f.dst) return 'dst-not-canonical'
  if (!Number.isInteger(f.srcPort) || f.srcPort < 0 || f.srcPort > 65535) return 'src-port-range'
  if (!Number.isInteger(f.dstPort) || f.dstPort < 0 || f.dstPort > 65535) return 'dst-port-range'
  if (!Number.isInteger(f.protocol) || f.protocol < 0 || f.protocol > 255) return 'protocol-range'
  if (!Number.isFinite(f.start) || !Number.isFinite(f.end)) return 'time-not-finite'
  if (f.end < f.start) return 'end-before-start'
  if (!isCounter(f.packets)) return 'packets-range'
  if (!isCounter(f.bytes)) return 'bytes-range'
  if (
    f.tcpFlags !== undefined &&
    (!Number.isInteger(f.tcpFlags) || f.tcpFlags < 0 || f.tcpFlags > 0xfff)
  )
    return 'tcp-flags-range'
  return undefined
}
