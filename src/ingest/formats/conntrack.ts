/**
 * @module Linux conntrack parser: `conntrack -L` / `-E` text (conntrack-tools, libnetfilter_conntrack
 * `__snprintf_conntrack_default`), `-o extended`, `-o timestamp`, and `/proc/net/nf_conntrack`.
 *
 * @remarks Semantics: conntrack(8); libnetfilter_conntrack `src/conntrack/snprintf_default.c`
 * and `src/conntrack/snprintf_xml.c` (`-o xml`: `<timestamp>` start/stop in ns, `<when>` local
 * time), conntrack-tools `src/conntrack.c` (which output option sets which XML time);
 * kernel `net/netfilter/nf_conntrack_standalone.c` (`ct_seq_show`); shared/docs/FLOW-FORMATS.md
 * "Linux conntrack". Line layout, fields separated by blanks:
 * `[EPOCH.USEC]? [NEW|UPDATE|DESTROY]? (ipv4 2|ipv6 10)? L4NAME L4NUM TIMEOUT? STATE?
 *  src= dst= (sport= dport= | type= code= id=) packets=? bytes=? [UNREPLIED]?
 *  src= dst= … packets=? bytes=? [ASSURED]? mark= … delta-time=? [start=CTIME]? [stop=CTIME]? use=`.
 */
import { isCounter, normalizeIp, type Flow } from '../../core/index.js'
import {
  FLOW_NOTES,
  flowGiven,
  flowNote,
  flowNotesOf,
  MAX_OPEN_CONNECTIONS,
  note,
  skip,
  withNotesOf,
  type LineParser,
  type ParseContext,
} from '../types.js'
import { mixedFamilies } from '../direction.js'

/** Latest time we accept, ms since the epoch (year 9999). */
const MAX_TIME_MS = 253_402_300_799_999

/** Protocols whose tuples carry `sport`/`dport`: TCP, UDP, DCCP, SCTP, UDP-Lite. */
const PORTED = new Set([6, 17, 33, 132, 136])

const MONTHS: Readonly<Record<string, number>> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
}

/** One direction's tuple: the `key=value` pairs between two `src=`. */
type Tuple = Record<string, string>

/**
 * Parses `ctime()` text (`Tue Nov 14 22:13:20 2023`) as UTC. conntrack prints local time
 * without a zone; the caller notes `local-time-as-utc`. Returns undefined when malformed.
 */
function parseCtime(text: string): number | undefined {
  const m = /^\w{3} +(\w{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/.exec(text.trim())
  if (!m) return undefined
  const month = MONTHS[m[1] ?? '']
  if (month === undefined) return undefined
  const ms = Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]))
  return Number.isFinite(ms) && ms >= 0 && ms <= MAX_TIME_MS ? ms : undefined
}

function count(text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  return /^\d{1,20}$/.test(text) ? Number(text) : NaN
}

function port(text: string | undefined, max: number): number | undefined {
  const n = count(text)
  if (n === undefined) return undefined
  return n <= max ? n : NaN
}

/**
 * Most packets a TCP attempt sends before it gives up unanswered: the SYN and Linux's default
 * `tcp_syn_retries` of 6 retransmissions (ip-sysctl.rst). More, with nothing counted back, is
 * traffic whose replies went another way (asymmetric routing), not an unanswered attempt.
 */
const MAX_SYN_PACKETS = 7

/** The fields of one line, split into its parts. */
interface Parsed {
  eventTime?: number
  startTime?: number
  stopTime?: number
  deltaSeconds?: number
  protocol: number
  tuples: Tuple[]
  unreplied: boolean
  /** `[ASSURED]` was printed: the line carries the connection's status. */
  assured: boolean
  /** The protocol's state word (TCP `SYN_SENT`, `CLOSE`, …), when printed. */
  state?: string
  /** The event of a `conntrack -E` line; undefined in a listing. */
  event?: 'NEW' | 'UPDATE' | 'DESTROY'
  /**
   * `-o xml,ktimestamp`: the kernel's start and stop of the connection (`<timestamp>`), ms since
   * the epoch, UTC (the XML printer writes nanoseconds).
   */
  kernelStart?: number
  kernelStop?: number
  /** `-o xml,timestamp`: when the line was printed (`<when>`), local time read as UTC, ms. */
  printedLocal?: number
  /**
   * `-o xml` ICMP / ICMPv6: the XML printer writes no type, code or id (its `<layer4>` is empty),
   * so the flow is read as an echo request, as the readers of other typeless records do.
   */
  icmpTypeless?: boolean
}

/**
 * The milliseconds of the fraction after `[SECONDS.` in `-o timestamp`, rounded once, half up:
 * up to six digits are conntrack-tools' microseconds (`%-6ld`, left-aligned: `88094` is 88 094
 * µs); more are not its layout and are read as a decimal fraction of a second (to the ns). In
 * integers, not as `Number('0.5005') * 1000`, which is 500.49999… and so rounded a second time.
 */
function fractionMs(frac: string): number {
  return frac.length <= 6
    ? Math.floor((Number(frac) + 500) / 1000)
    : Math.floor((Number(frac.padEnd(9, '0')) + 500_000) / 1_000_000)
}

/** Nanoseconds since the epoch (decimal digits) → ms, rounded once, half up (in BigInt). */
function nsToMs(ns: string): number {
  return Number((BigInt(ns) + 500_000n) / 1_000_000n)
}

/** Splits a line into its parts, or returns a skip reason. */
function split(line: string): Parsed | string {
  const parsed: Parsed = { protocol: -1, tuples: [], unreplied: false, assured: false }
  // `[start=Tue Nov 14 22:13:20 2023]` and `[stop=…]` contain blanks: take them out first.
  let bad = false
  const rest = line.replace(/\[(start|stop)=([^\]]*)\]/g, (_m, which: string, value: string) => {
    const ms = parseCtime(value)
    if (ms === undefined) bad = true
    else if (which === 'start') parsed.startTime = ms
    else parsed.stopTime = ms
    return ' '
  })
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set in the replace callback
  if (bad) return 'bad-timestamp'
  // `-o timestamp` prints `[%-8ld.%-6ld]` (conntrack-tools src/conntrack.c): seconds, then the
  // microseconds as an integer, left-aligned and padded with blanks (`[1712662404.88094 ]` is
  // .088094 s)
  const stamp = /^\[(\d{1,12})(?:\.(\d{1,9}))?\s*\]\s*/.exec(rest.trimStart())
  const tokens = (stamp ? rest.trimStart().slice(stamp[0].length) : rest).trim().split(/\s+/)
  let i = 0
  if (stamp) {
    const ms = Number(stamp[1]) * 1000 + fractionMs(stamp[2] ?? '0')
    if (ms > MAX_TIME_MS) return 'bad-timestamp'
    parsed.eventTime = ms
  }
  const event = /^\[(NEW|UPDATE|DESTROY)\]$/.exec(tokens[i] ?? '')?.[1]
  if (event === 'NEW' || event === 'UPDATE' || event === 'DESTROY') {
    parsed.event = event
    i++
  }
  if ((tokens[i] === 'ipv4' || tokens[i] === 'ipv6') && /^\d+$/.test(tokens[i + 1] ?? '')) i += 2
  // L4 name and number.
  if (!/^[a-z][a-z0-9-]*$/.test(tokens[i] ?? '') || !/^\d{1,3}$/.test(tokens[i + 1] ?? ''))
    return 'bad-protocol'
  parsed.protocol = Number(tokens[i + 1])
  if (parsed.protocol > 255) return 'bad-protocol'
  i += 2
  // Optional timeout and state.
  if (/^\d+$/.test(tokens[i] ?? '')) i++
  // TCP states include the kernel's `SYN_SENT2` (simultaneous open), hence digits
  const state = tokens[i] ?? ''
  if (/^[A-Z][A-Z0-9_]*$/.test(state)) {
    parsed.state = state
    i++
  }
  for (; i < tokens.length; i++) {
    const t = tokens[i] ?? ''
    if (t === '[UNREPLIED]') {
      parsed.unreplied = true
      continue
    }
    if (t === '[ASSURED]') {
      parsed.assured = true
      continue
    }
    if (t.startsWith('[')) {
      // [OFFLOAD], [HW_OFFLOAD]; a vendor's flag may hold blanks ([RTCACHE o33/r37])
      while (!(tokens[i] ?? ']').endsWith(']')) i++
      continue
    }
    const eq = t.indexOf('=')
    // bare words after both tuples are vendor flags (Keenetic: slan, nomac, no_if)
    if (eq < 0 && parsed.tuples.length === 2) continue
    if (eq <= 0) return 'bad-token'
    const key = t.slice(0, eq)
    const value = t.slice(eq + 1)
    if (key === 'src') {
      if (parsed.tuples.length >= 2) return 'too-many-tuples'
      parsed.tuples.push({ src: value })
      continue
    }
    if (key === 'delta-time') {
      const n = count(value)
      if (n === undefined || Number.isNaN(n)) return 'bad-timestamp'
      parsed.deltaSeconds = n
      continue
    }
    const tuple = parsed.tuples[parsed.tuples.length - 1]
    if (
      tuple &&
      ['dst', 'sport', 'dport', 'type', 'code', 'id', 'packets', 'bytes'].includes(key) &&
      tuple[key] === undefined
    ) {
      tuple[key] = value
    }
    // mark=, use=, zone=, secctx=, helper=, labels=, id= (with -o id), … : not needed.
  }
  return parsed
}

/** The text of the first `<name>…</name>` element in `xml`, or undefined. */
function xmlText(xml: string, name: string): string | undefined {
  const open = xml.indexOf(`<${name}>`)
  if (open < 0) return undefined
  const from = open + name.length + 2
  const close = xml.indexOf('</', from)
  return close < 0 ? undefined : xml.slice(from, close).trim()
}

/** What {@link xmlFlowLine} makes of a `<flow>` element: its text line, its times, its typing. */
interface XmlFlow {
  text: string
  kernelStart?: number
  kernelStop?: number
  printedLocal?: number
  icmpTypeless?: boolean
}

/**
 * One `<flow>` element of `conntrack -L -o xml` / `conntrack -E -o xml` (one per line, as
 * libnetfilter_conntrack's XML printer writes them, src/conntrack/snprintf_xml.c) written again
 * as the text line it stands for, so that it is read by the same rules: `<flow type="new">`
 * (`update`, `destroy`) → `[NEW]` …; each `<meta direction="original|reply">` → its tuple
 * (`layer3` `src`/`dst`, `layer4` `sport`/`dport`, ICMP `type`/`code`/`id`, `counters`); the
 * `independent` meta's `state`, `timeout`, `deltatime`, `<unreplied/>`, `<assured/>`.
 *
 * Times, which the text line cannot carry as XML gives them:
 * - `-o xml,ktimestamp` (NFCT_OF_TIMESTAMP): `<timestamp><start>NS</start><stop>NS</stop>
 *   </timestamp>` in the independent meta, the kernel's connection start and end (stop only
 *   once it ended, in a `destroy` event) in nanoseconds since the epoch, UTC; then `deltatime`
 *   is stop − start, or (start only) the print time − start, in seconds;
 * - `-o xml,timestamp` (NFCT_OF_TIME; conntrack-tools src/conntrack.c sets it for XML where text
 *   gets the `[EPOCH.USEC]` stamp): `<when><hour/><min/><sec/><wday/><day/><month/><year/>
 *   </when>` after the metas, the time the line was printed, `localtime()` without a zone.
 *
 * ICMP and ICMPv6 tuples have an empty `<layer4>` there (conntrack 1.4.7 with Debian 12's
 * libnetfilter_conntrack, checked against the kernel in test/netns/conntrack-kernel.test.ts): no
 * type, code or id. Such an element is marked `icmpTypeless` (read as an echo request, see
 * {@link toFlow}); a `<type>` there, should a printer write one, is read as the text's `type=`.
 * @returns the text line and the times, or undefined when the element has no original tuple
 *   (`bad-timestamp` when a time element is there but not a time).
 */
function xmlFlowLine(xml: string): XmlFlow | 'bad-timestamp' | undefined {
  const metas = new Map<string, string>()
  for (const m of xml.matchAll(
    /<meta direction="(original|reply|independent)">([\s\S]*?)<\/meta>/g,
  ))
    metas.set(m[1] ?? '', m[2] ?? '')
  const original = metas.get('original')
  if (original === undefined) return undefined
  const l4 = /<layer4 protonum="(\d{1,3})" protoname="([^"]*)"/.exec(original)
  if (!l4) return undefined
  const name = (l4[2] ?? '').toLowerCase()
  const words: string[] = []
  const event = /^<flow type="(new|update|destroy)"/.exec(xml)?.[1]
  if (event !== undefined) words.push(`[${event.toUpperCase()}]`)
  words.push(/^[a-z][a-z0-9-]*$/.test(name) ? name : 'unknown', l4[1] ?? '')
  const independent = metas.get('independent') ?? ''
  const timeout = xmlText(independent, 'timeout')
  const state = xmlText(independent, 'state')
  if (timeout !== undefined) words.push(timeout)
  if (state !== undefined && /^[A-Z][A-Z0-9_]*$/.test(state)) words.push(state)
  for (const dir of ['original', 'reply']) {
    const body = metas.get(dir)
    if (body === undefined) continue
    const layer4 = /<layer4[^>]*>([\s\S]*?)<\/layer4>/.exec(body)?.[1] ?? ''
    for (const [key, from] of [
      ['src', body],
      ['dst', body],
      ['sport', layer4],
      ['dport', layer4],
      ['type', layer4],
      ['code', layer4],
      ['id', layer4],
      ['packets', body],
      ['bytes', body],
    ] as const) {
      const v = xmlText(from, key)
      if (v !== undefined && v !== '') words.push(`${key}=${v}`)
    }
    if (dir === 'original' && independent.includes('<unreplied/>')) words.push('[UNREPLIED]')
  }
  if (independent.includes('<assured/>')) words.push('[ASSURED]')
  const delta = xmlText(independent, 'deltatime')
  if (delta !== undefined) words.push(`delta-time=${delta}`)
  const out: XmlFlow = { text: words.join(' ') }
  const icmp = l4[1] === '1' || l4[1] === '58'
  if (
    icmp &&
    xmlText(/<layer4[^>]*>([\s\S]*?)<\/layer4>/.exec(original)?.[1] ?? '', 'type') === undefined
  )
    out.icmpTypeless = true
  const stamps = /<timestamp>([\s\S]*?)<\/timestamp>/.exec(independent)?.[1] ?? ''
  for (const [key, name] of [
    ['kernelStart', 'start'],
    ['kernelStop', 'stop'],
  ] as const) {
    const ns = xmlText(stamps, name)
    if (ns === undefined) continue
    if (!/^\d{1,20}$/.test(ns)) return 'bad-timestamp'
    // not Math.round(Number(ns) / 1e6): a double holds 19 digits only to 256 ns, so
    // …000499999 ns became …000.5 ms and was rounded up
    const ms = nsToMs(ns)
    if (ms > MAX_TIME_MS) return 'bad-timestamp'
    out[key] = ms
  }
  const when = /<when>([\s\S]*?)<\/when>/.exec(xml)?.[1]
  if (when !== undefined) {
    const [y, mo, d, h, mi, sec] = ['year', 'month', 'day', 'hour', 'min', 'sec'].map((k) =>
      Number(xmlText(when, k) ?? NaN),
    )
    const ms = Date.UTC(y ?? NaN, (mo ?? NaN) - 1, d ?? NaN, h ?? NaN, mi ?? NaN, sec ?? NaN)
    const inRange =
      (mo ?? 0) >= 1 && (mo ?? 13) <= 12 && (d ?? 0) >= 1 && (d ?? 32) <= 31 && (h ?? 24) <= 23
    if (!inRange || !Number.isFinite(ms) || ms < 0 || ms > MAX_TIME_MS) return 'bad-timestamp'
    out.printedLocal = ms
  }
  return out
}

/**
 * Converts one conntrack line to a flow.
 *
 * - The first tuple is the original direction: `src`→`dst` as the client addressed it. When the
 *   reply tuple's `src` differs from the original `dst`, the connection was DNATed (Kubernetes
 *   Service, port forward): `dst`/`dstPort` become the reply's `src`/`sport`, the real backend
 *   (note `dnat`).
 * - ICMP / ICMPv6: `dstPort` = `type`, `srcPort` = `code` of the original tuple.
 * - `packets`/`bytes` (with `nf_conntrack_acct`) are summed over both directions; a line or
 *   connection that printed none has 0 for them, noted `counters-not-logged` by the caller.
 * - `[UNREPLIED]` → observedAction `unknown`; otherwise `accept`. Direction `client-to-server`.
 *   One exception: a TCP connection still `[UNREPLIED]` whose reply tuple counted packets was
 *   refused by a reset: the kernel ends a connection whose only reply is a RST at once
 *   (`nf_conntrack_proto_tcp.c`, "If only reply is a RST"), before marking it replied, so its
 *   `[DESTROY]` (with `nf_conntrack_acct`) shows `[UNREPLIED]` and the RST in the reply's
 *   `packets=` — as Zeek's `REJ` (SYN answered by RST), it is `reject` (note `refused-by-reset`).
 *   Without `nf_conntrack_acct` (the default) nothing is counted, and the TCP state says it: the
 *   RST moves the connection to `CLOSE` (`tcp_conntracks`, rst row, from every state but
 *   `NONE`) and the kernel deletes it, so its `[DESTROY]` prints `CLOSE` and `[UNREPLIED]`
 *   (Linux 6.18: no `[UPDATE]` before it; the timeout printed is SYN_SENT's). A TCP line
 *   `[UNREPLIED]` in `CLOSE` whose reply tuple printed no counters is therefore refused too. The
 *   same table moves the connection to `CLOSE` on a RST from the original direction, and the
 *   kernel deletes it just the same ("If only reply is a RST" tests any RST while unreplied):
 *   the client's own reset before any answer (Linux's own stack sends none in SYN_SENT, even on
 *   a close with SO_LINGER 0; other stacks, raw-socket scanners and devices injecting resets
 *   may), or the originator's reset of a one-way connection picked up mid-stream. With counters
 *   that is told apart (the reply tuple counted nothing: the rules below); without, it prints
 *   the same line and is read as refused (README, Limits).
 *   A TCP connection that ended (`[DESTROY]`) still `[UNREPLIED]` with nothing counted in the
 *   reply tuple and at most {@link MAX_SYN_PACKETS} sent (the SYN and its retries: dropped
 *   silently, or nothing there) never opened either: `reject` (note `unanswered-attempt`), as
 *   Zeek's `S0` without payload. A listing's `[UNREPLIED]` entry in another state (SYN_SENT)
 *   may still be answered, and without `nf_conntrack_acct` nothing is counted: `unknown`; so is
 *   UDP, whose ICMP port
 *   unreachable conntrack does not count in the tuple, and whose one-way traffic has no reply.
 *   A `[DESTROY]` without `[ASSURED]` whose reply tuple counted no packet while the original
 *   counted some is read as `[UNREPLIED]`: Linux 2.6 put no status in destroy events.
 * - Time: the event timestamp `[EPOCH.USEC]` (`-o timestamp`, UTC) is the end, and the start
 *   is that less the connection's age: `delta-time=N` (seconds since it started), else the span
 *   of `[start=…]`/`[stop=…]`. Those two (`-o ktimestamp`) are `ctime()` local time without a
 *   zone: used only without an epoch stamp, read as UTC and noted `local-time-as-utc`.
 *   `-o xml` (see {@link xmlFlowLine}): the kernel's `<timestamp>` start and stop (UTC) are the
 *   flow's, before anything else (without a stop, the end is start + `deltatime`); else the
 *   `<when>` print time is the end, as the epoch stamp but local time, noted `local-time-as-utc`.
 *   With none of these (a plain `-L` listing), the end is the file's time (`ctx.fileTime`, its
 *   modification time: when the listing was written), the start that less `delta-time`, noted
 *   `time-from-file-mtime`; from standard input start = end = 0 and note `no-timestamp`.
 */
function toFlow(p: Parsed, ctx: ParseContext, line: number): Flow | string {
  const orig = p.tuples[0]
  if (!orig || orig['dst'] === undefined) return 'missing-tuple'
  const src = normalizeIp(orig['src'] ?? '')
  let dst = normalizeIp(orig['dst'])
  if (!src || !dst) return 'bad-address'
  const reply = p.tuples[1]
  let srcPort = 0
  let dstPort = 0
  if (PORTED.has(p.protocol)) {
    const sp = port(orig['sport'], 65535)
    const dp = port(orig['dport'], 65535)
    if (sp === undefined || dp === undefined) return 'missing-port'
    if (Number.isNaN(sp) || Number.isNaN(dp)) return 'bad-port'
    srcPort = sp
    dstPort = dp
  } else if ((p.protocol === 1 || p.protocol === 58) && p.icmpTypeless === true) {
    // `-o xml` prints no ICMP type: an echo request (ICMP 8, ICMPv6 128), as the other readers
    // read a typeless ICMP record (README "Pairing"); conntrack tracks only the query types
    // (echo, timestamp, information, address mask) as connections, echo by far the most common
    dstPort = p.protocol === 1 ? 8 : 128
  } else if (p.protocol === 1 || p.protocol === 58) {
    const type = port(orig['type'], 255)
    const code = port(orig['code'], 255)
    if (type === undefined || Number.isNaN(type) || Number.isNaN(code)) return 'bad-icmp-type'
    dstPort = type
    srcPort = code ?? 0
  }
  // every listing and event line carries the reply tuple: a line without it (or with it cut) is
  // the last line of an interrupted capture, which may have lost its [UNREPLIED] too
  if (
    reply?.['src'] === undefined ||
    reply['dst'] === undefined ||
    (PORTED.has(p.protocol) && (reply['sport'] === undefined || reply['dport'] === undefined))
  )
    return 'missing-reply-tuple'
  let dnat = false
  {
    const backend = normalizeIp(reply['src'])
    if (!backend) return 'bad-address'
    if (backend !== dst) {
      dnat = true
      dst = backend
      if (PORTED.has(p.protocol)) {
        const bp = port(reply['sport'], 65535)
        if (bp === undefined || Number.isNaN(bp)) return 'bad-port'
        dstPort = bp
      }
    } else if (PORTED.has(p.protocol)) {
      const bp = port(reply['sport'], 65535)
      if (bp !== undefined && !Number.isNaN(bp) && bp !== dstPort) {
        dnat = true // port-only DNAT (REDIRECT)
        dstPort = bp
      }
    }
  }
  // skipped here, as reading would skip it (direction.ts `checkAddressFamilies`), so that its
  // notes are not counted
  if (mixedFamilies(src, dst)) return 'mixed-address-families'
  let packets = 0
  let bytes = 0
  for (const t of p.tuples) {
    const pk = count(t['packets'])
    const by = count(t['bytes'])
    if (Number.isNaN(pk) || Number.isNaN(by)) return 'bad-counter'
    packets += pk ?? 0
    bytes += by ?? 0
  }
  if (!isCounter(packets) || !isCounter(bytes)) return 'bad-counter'
  const replies = count(reply['packets'])
  const sent = count(orig['packets'])
  // Kernels before 2.6.3x put no status in a [DESTROY] event (an answered TCP connection's has no
  // [ASSURED], an unanswered one's no [UNREPLIED]): there a reply tuple that counted nothing, while
  // the original counted packets, says the connection was never answered
  const unreplied =
    p.unreplied ||
    (p.event === 'DESTROY' && !p.assured && replies === 0 && sent !== undefined && sent > 0)
  // the kernel moves an unreplied connection to CLOSE on a RST and deletes it: without counters
  // the state is all that says a reset ended it; with them, a reply tuple that counted nothing
  // says the reset was the client's own
  const refused =
    unreplied &&
    p.protocol === 6 &&
    ((replies ?? 0) > 0 || (replies === undefined && p.state === 'CLOSE'))
  const unanswered =
    unreplied &&
    p.protocol === 6 &&
    p.event === 'DESTROY' &&
    replies === 0 &&
    sent !== undefined &&
    sent <= MAX_SYN_PACKETS

  // the connection's age: delta-time, else what [start=]/[stop=] span (a difference of two
  // local times is right in any zone)
  const delta =
    p.deltaSeconds !== undefined
      ? p.deltaSeconds * 1000
      : p.startTime !== undefined && p.stopTime !== undefined && p.stopTime >= p.startTime
        ? p.stopTime - p.startTime
        : undefined
  let start: number | undefined
  let end: number | undefined
  // noted once the record is known to give a flow (below)
  let timeNote: 'local' | 'name' | 'mtime' | 'none' | undefined
  if (p.kernelStart !== undefined || p.kernelStop !== undefined) {
    // `-o xml,ktimestamp`: the kernel's own start and stop (UTC); without a stop the connection
    // is still open, and deltatime (print time − start) says until when it was seen
    start = p.kernelStart ?? p.kernelStop
    end =
      p.kernelStop ??
      (start !== undefined && p.deltaSeconds !== undefined ? start + p.deltaSeconds * 1000 : start)
  } else if (p.eventTime !== undefined) {
    // the event's epoch stamp is UTC: it wins over [start=]/[stop=], which are local time
    end = p.eventTime
    start = delta !== undefined ? Math.max(0, end - delta) : end
  } else if (p.printedLocal !== undefined) {
    // `-o xml,timestamp`: `<when>`, the print time as local time without a zone
    timeNote = 'local'
    end = p.printedLocal
    start = delta !== undefined ? Math.max(0, end - delta) : end
  } else {
    if (p.startTime !== undefined || p.stopTime !== undefined) timeNote = 'local'
    start = p.startTime
    end = p.stopTime ?? (start !== undefined && delta !== undefined ? start + delta : start)
  }
  if (start === undefined && end !== undefined) start = end
  if (start === undefined || end === undefined) {
    // a listing is a snapshot: the file's time (name or modification time) is when it was taken
    const t = ctx.fileTime
    if (t !== undefined) {
      end = t.ms
      start = delta !== undefined ? Math.max(0, end - delta) : end
      timeNote = t.from
    } else {
      start = 0
      end = 0
      timeNote = 'none'
    }
  }
  if (end < start) end = start
  if (end > MAX_TIME_MS) return 'bad-timestamp'
  // notes about the record's flow: they ride on it (parseConntrack, types.ts `flowGiven`)
  if (refused) flowNote(ctx, 'refused-by-reset')
  if (unanswered) flowNote(ctx, 'unanswered-attempt')
  if (timeNote === 'local') flowNote(ctx, 'local-time-as-utc')
  else if (timeNote === 'none') flowNote(ctx, 'no-timestamp')
  else if (timeNote !== undefined)
    flowNote(ctx, timeNote === 'name' ? 'time-from-file-name' : 'time-from-file-mtime')
  if (dnat) flowNote(ctx, 'dnat')
  if (p.icmpTypeless === true) flowNote(ctx, 'icmp-type-assumed-echo')

  return {
    src,
    dst,
    srcPort,
    dstPort,
    protocol: p.protocol,
    start,
    end,
    packets,
    bytes,
    observedAction: refused || unanswered ? 'reject' : unreplied ? 'unknown' : 'accept',
    direction: 'client-to-server',
    source: { format: 'conntrack', file: ctx.file, line },
  }
}

/**
 * The connection a `conntrack -E` line belongs to: its original tuple (protocol, addresses,
 * ports, or ICMP type, code and id), which the kernel keeps unique while the connection lives.
 */
function connectionKey(p: Parsed): string {
  const o = p.tuples[0] ?? {}
  // addresses in their canonical text (RFC 5952): `2001:DB8::1` and `2001:db8:0::1` are one end
  const end = (t: string | undefined): string | undefined =>
    t === undefined ? t : (normalizeIp(t) ?? t)
  return [
    p.protocol,
    end(o['src']),
    end(o['dst']),
    o['sport'],
    o['dport'],
    o['type'],
    o['code'],
    o['id'],
  ].join(' ')
}

/** A connection of an event stream while its events come: its flow so far. */
interface OpenConnection {
  flow: Flow
  /** True when some event had a time of its own (not the file's time standing in for it). */
  timed: boolean
  /** True when some event printed counters (`packets=`/`bytes=`, `nf_conntrack_acct`). */
  counted: boolean
}

/**
 * True when a line prints counters: `packets=`/`bytes=` in a tuple, which conntrack writes only
 * with `nf_conntrack_acct` on (off by default), and in events only at `[DESTROY]`.
 */
function hasCounters(p: Parsed): boolean {
  return p.tuples.some((t) => t['packets'] !== undefined || t['bytes'] !== undefined)
}

/** The notes saying that a record had no time of its own and took the file's (or none). */
const UNTIMED_NOTES: ReadonlySet<string> = new Set([
  'time-from-file-mtime',
  'time-from-file-name',
  'no-timestamp',
])

/**
 * `f` without the notes that say its record took the file's time ({@link UNTIMED_NOTES}): the
 * flow of an event without a time (`-o xml,ktimestamp` times only `destroy` events) merged with
 * one that has a time, whose time the connection's flow takes.
 */
function withoutUntimedNotes(f: Flow): Flow {
  const notes = flowNotesOf(f)
  if (notes === undefined) return f
  const copy: Flow & { [FLOW_NOTES]?: readonly string[] } = { ...f }
  copy[FLOW_NOTES] = notes.filter((n) => !UNTIMED_NOTES.has(n))
  return copy
}

/**
 * One flow of a connection from its events: the earliest start and latest end of the events
 * with a time of their own, the highest counters (conntrack's are totals since the connection
 * began), accepted once any event shows a reply, else rejected when one shows a refusing reset;
 * source line of the latest event. Once an event has a time, the connection's flow no longer
 * carries the `time-from-file-…` notes of the events without one.
 */
function mergeEvent(held: OpenConnection, next: OpenConnection): OpenConnection {
  const a = next.timed && !held.timed ? withoutUntimedNotes(held.flow) : held.flow
  const b = held.timed && !next.timed ? withoutUntimedNotes(next.flow) : next.flow
  const times =
    held.timed && next.timed
      ? { start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) }
      : held.timed
        ? { start: a.start, end: a.end }
        : { start: b.start, end: b.end }
  return {
    timed: held.timed || next.timed,
    counted: held.counted || next.counted,
    // the notes of every event's record (types.ts `withNotesOf`)
    flow: withNotesOf(
      {
        ...b,
        ...times,
        packets: Math.max(a.packets, b.packets),
        bytes: Math.max(a.bytes, b.bytes),
        observedAction:
          a.observedAction === 'accept' || b.observedAction === 'accept'
            ? 'accept'
            : a.observedAction === 'reject' || b.observedAction === 'reject'
              ? 'reject'
              : 'unknown',
      },
      a,
      b,
    ),
  }
}

/**
 * Parses conntrack lines into flows (see {@link toFlow} for the mapping). Blank lines and the
 * `conntrack v1.4.x (conntrack-tools): N flow entries have been shown.` summary are ignored
 * (note `summary-line`).
 *
 * A listing line (`-L`, `/proc/net/nf_conntrack`) is one flow. The events of `conntrack -E`
 * (`[NEW]`, `[UPDATE]`…, `[DESTROY]`) are one flow per connection, given out at its
 * `[DESTROY]` (see {@link mergeEvent}); the other events are noted `merged-events`. Connections
 * without a `[DESTROY]` by the end of the input (still open when the capture stopped, or only
 * `-e NEW` events captured) are given out at the end, noted `open-at-end`; a new `[NEW]` for a
 * tuple still open ends the earlier connection (its `[DESTROY]` was not captured: note
 * `destroy-missed`). At most
 * {@link MAX_OPEN_CONNECTIONS} are held: beyond, the least recently seen is given out (note
 * `open-evicted`). A flow whose lines printed no counters (no `nf_conntrack_acct`; events other
 * than `[DESTROY]` never do) is noted `counters-not-logged`.
 *
 * Skip reasons: `bad-protocol`, `bad-token`, `too-many-tuples`, `missing-tuple`,
 * `missing-reply-tuple` (a line cut short), `bad-address`, `missing-port`, `bad-port`,
 * `bad-icmp-type`, `bad-counter`, `bad-timestamp`, `mixed-address-families` (an IPv4 and an IPv6
 * end, after DNAT; skipped before its events merge or its notes count).
 * @throws BulkheadError `ingest/malformed-record` on the first skipped record when `ctx.strict`.
 */
async function* parseConntrack(
  lines: AsyncIterable<string>,
  ctx: ParseContext,
): AsyncIterable<Flow> {
  let lineNo = 0
  const open = new Map<string, OpenConnection>()
  // without nf_conntrack_acct (the default) a line has no counters: 0, noted as the other
  // readers note a record that logs none
  const out = (flow: Flow, counted: boolean): Flow => {
    if (!counted) flowNote(ctx, 'counters-not-logged')
    ctx.stats.records++
    return flowGiven(ctx.stats, flow)
  }
  for await (const raw of lines) {
    lineNo++
    const line = raw.replace(/^\uFEFF/, '').trim()
    if (line === '') continue
    // the closing summary (on stderr; here when captured with 2>&1, maybe after an echoed ^C)
    if (/^(\^C)?conntrack v[\d.]+ \(conntrack-tools\)/.test(line)) {
      note(ctx, 'summary-line')
      continue
    }
    const where = `${ctx.file}:${lineNo}`
    let text = line
    let xmlTimes: XmlFlow | undefined
    if (line.startsWith('<')) {
      // `-o xml`: the XML declaration and the `<conntrack>` element around the flows are not
      // records; each `<flow>` is
      if (!line.startsWith('<flow')) continue
      const converted = xmlFlowLine(line)
      if (converted === undefined || converted === 'bad-timestamp') {
        skip(ctx, converted ?? 'missing-tuple', where, line)
        continue
      }
      text = converted.text
      xmlTimes = converted
    }
    const parsed = split(text)
    if (typeof parsed !== 'string' && xmlTimes !== undefined) {
      const { kernelStart, kernelStop, printedLocal, icmpTypeless } = xmlTimes
      if (kernelStart !== undefined) parsed.kernelStart = kernelStart
      if (kernelStop !== undefined) parsed.kernelStop = kernelStop
      if (printedLocal !== undefined) parsed.printedLocal = printedLocal
      if (icmpTypeless !== undefined) parsed.icmpTypeless = icmpTypeless
    }
    const flow = typeof parsed === 'string' ? parsed : toFlow(parsed, ctx, lineNo)
    if (typeof flow === 'string') {
      skip(ctx, flow, where, line)
      continue
    }
    // the record's notes go onto its flow, held or given out (counted when reading gives it out)
    flowGiven(ctx.stats, flow)
    if (typeof parsed === 'string' || parsed.event === undefined) {
      yield out(flow, typeof parsed !== 'string' && hasCounters(parsed))
      continue
    }
    const key = connectionKey(parsed)
    const timed =
      parsed.eventTime !== undefined ||
      parsed.startTime !== undefined ||
      parsed.stopTime !== undefined ||
      parsed.kernelStart !== undefined ||
      parsed.kernelStop !== undefined ||
      parsed.printedLocal !== undefined
    const held = open.get(key)
    open.delete(key) // re-inserted last: the map stays in order of last event
    if (held !== undefined && parsed.event === 'NEW') {
      note(ctx, 'destroy-missed') // the earlier connection of this tuple ended uncaptured
      yield out(held.flow, held.counted)
    } else if (held !== undefined) note(ctx, 'merged-events')
    const counted = hasCounters(parsed)
    const merged =
      held !== undefined && parsed.event !== 'NEW'
        ? mergeEvent(held, { flow, timed, counted })
        : { flow, timed, counted }
    if (parsed.event === 'DESTROY') {
      yield out(merged.flow, merged.counted)
      continue
    }
    open.set(key, merged)
    if (open.size > MAX_OPEN_CONNECTIONS) {
      const [oldest] = open
      if (oldest !== undefined) {
        open.delete(oldest[0])
        note(ctx, 'open-evicted')
        yield out(oldest[1].flow, oldest[1].counted)
      }
    }
  }
  for (const c of open.values()) {
    note(ctx, 'open-at-end')
    yield out(c.flow, c.counted)
  }
}

/** A conntrack line: optional timestamp/event/layer-3 prefix, L4 name and number, then `src=`…`dst=`. */
const LINE_RE =
  /^\s*(\[\d+(\.\d+)?\s*\]\s+)?(\[(NEW|UPDATE|DESTROY)\]\s+)?((ipv4|ipv6)\s+\d+\s+)?[a-z][a-z0-9-]*\s+\d{1,3}\s+(\d+\s+)?([A-Z][A-Z0-9_]*\s+)?src=\S+\s+dst=\S+/

/**
 * Confidence that `head` is conntrack text: 0.9 when at least half of the first 20 non-blank
 * complete lines (and at least one) match the conntrack layout, or when they are `-o xml`
 * output (the XML declaration, `<conntrack>` and `<flow>` lines only), else 0.
 */
function detectConntrack(head: Uint8Array): number {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head).replace(/^\uFEFF/, '')
  const lines = text.split('\n')
  const complete = (lines.length > 1 ? lines.slice(0, -1) : lines)
    .filter((l) => l.trim() !== '')
    .slice(0, 20)
  if (complete.length === 0) return 0
  // `-o xml`: `<?xml …?>`, `<conntrack>`, then one `<flow>` element per line
  if (complete.some((l) => /^\s*<flow[ >].*<meta direction="original">/.test(l)))
    return complete.every((l) => /^\s*<(\?xml |\/?conntrack>|flow[ >])/.test(l)) ? 0.9 : 0
  const hits = complete.filter((l) => LINE_RE.test(l)).length
  return hits > 0 && hits * 2 >= complete.length ? 0.9 : 0
}

/** The conntrack parser. See {@link parseConntrack}. */
export const conntrackParser: LineParser = {
  format: 'conntrack',
  kind: 'lines',
  detect: detectConntrack,
  parse: parseConntrack,
}
