/**
 * @module Direction inference: which end of a flow record opened the connection, for formats
 * that log one record per direction without saying (AWS VPC, GCP, NetFlow, CSV).
 *
 * Zeek, conntrack, Hubble and Azure say which side is the client; their parsers set `direction`
 * themselves, and reading applies this module only to the records they leave `unknown` (a Zeek
 * `OTH` connection seen mid-stream), as it does to every record of the formats above.
 */
import {
  addCounters,
  HALF_SETTLED,
  HALF_SWAPPED,
  HALF_UNPAIRED,
  ICMP_REQUEST_OF_REPLY,
  ORED_TCP_FLAGS_FORMATS,
  type Flow,
} from '../core/index.js'
import { note, noteOnFlow, skip, withNotesOf, type ParseContext } from './types.js'

const TCP = 6
const UDP = 17
const SCTP = 132
const DCCP = 33
const ICMP = 1
const ICMPV6 = 58

const SYN = 0x02
const RST = 0x04
const PSH = 0x08
const ACK = 0x10

/**
 * Ports at or above 1024 that are commonly listening server ports (databases, caches, brokers,
 * web alternates, Kubernetes and cloud control planes; RADIUS, STUN, IPsec NAT-T and overlay
 * tunnels; the telecom core's M3UA, M2PA, Diameter, GTP and PFCP). Ports below 1024 are servers
 * anyway.
 */
export const KNOWN_SERVER_PORTS: ReadonlySet<number> = new Set([
  1080, 1194, 1433, 1434, 1521, 1812, 1813, 1883, 2049, 2123, 2152, 2181, 2375, 2376, 2379, 2380,
  2905, 3000, 3128, 3268, 3269, 3306, 3389, 3478, 3565, 3868, 4222, 4369, 4443, 4500, 4789, 5000,
  5044, 5060, 5061, 5222, 5432, 5601, 5671, 5672, 5900, 5984, 6081, 6379, 6380, 6443, 6514, 6660,
  6667, 7000, 7001, 7199, 7474, 7687, 8000, 8008, 8080, 8081, 8086, 8088, 8125, 8200, 8300, 8301,
  8443, 8500, 8805, 8883, 8888, 9000, 9042, 9090, 9092, 9093, 9100, 9200, 9300, 9418, 9443, 9999,
  10250, 10255, 11211, 15672, 25565, 27017, 27018, 27019, 28015, 50051,
])

/**
 * SCTP server ports of the mobile core inside the ephemeral range (S1AP, X2AP, NGAP, XnAP): servers
 * for SCTP only — as TCP or UDP ports they are as likely a client's (Linux picks client ports
 * from 32768).
 */
export const KNOWN_SCTP_SERVER_PORTS: ReadonlySet<number> = new Set([36412, 36422, 38412, 38422])

/** Start of the ephemeral (client) port range used by Linux and the IANA range (32768/49152). */
export const EPHEMERAL_FROM = 32768

function isServicePort(p: number, protocol: number): boolean {
  return (
    (p > 0 && p < 1024) ||
    KNOWN_SERVER_PORTS.has(p) ||
    (protocol === SCTP && KNOWN_SCTP_SERVER_PORTS.has(p))
  )
}

/**
 * Both ports are listed servers. A listed port in the ephemeral range (50051, gRPC) is also one a
 * client is given, from 32768 up (Linux's `ip_local_port_range` 32768–60999; IANA's dynamic
 * range, which Windows uses, 49152–65535), while a port below 32768 is not: so where exactly one
 * side is in that range, it is the client (a client port 50051 to a node exporter's 9100,
 * as a router's two uni-directional NetFlow records of the connection show it). The SCTP-only
 * servers (S1AP, NGAP…) are not taken for clients. Otherwise `unknown`.
 *
 * @param s - source port; @param d - destination port, both listed servers.
 * @param protocol - IANA protocol number.
 */
export function clientInServerList(s: number, d: number, protocol: number): Orientation {
  const ephemeral = (port: number): boolean =>
    port >= EPHEMERAL_FROM && !(protocol === SCTP && KNOWN_SCTP_SERVER_PORTS.has(port))
  const se = ephemeral(s)
  const de = ephemeral(d)
  if (se && !de) return 'as-is'
  if (de && !se) return 'swap'
  return 'unknown'
}

/** The verdict of the evidence: keep the record's order, swap it, or no confident answer. */
export type Orientation = 'as-is' | 'swap' | 'unknown'

/**
 * The evidence, in order: TCP flags, then well-known/listening ports, then ephemeral ranges.
 *
 * - TCP flags: SYN without ACK → the sender is the client (`as-is`); SYN+ACK without PSH →
 *   the sender is the server (`swap`). This is the AWS VPC convention (AWS records ACK
 *   only as part of SYN-ACK = 18), and a single packet's flags (Hubble). NetFlow and IPFIX
 *   flags are the OR over the record's packets ({@link ORED_TCP_FLAGS_FORMATS}), where both halves
 *   of a connection show SYN+ACK, with PSH or without (a health check that connects and resets
 *   sends SYN, ACK, RST): there SYN+ACK is not evidence, nor anywhere with PSH.
 * - ports: exactly one side is < 1024 or in {@link KNOWN_SERVER_PORTS} (for SCTP also
 *   {@link KNOWN_SCTP_SERVER_PORTS}) → that side is the server. Both are, and exactly one is
 *   in the ephemeral range (a client given 50051 talking to 9100) → that one is the client.
 * - ephemeral: exactly one side is ≥ {@link EPHEMERAL_FROM} → the other side is the server.
 * - ICMP/ICMPv6: echo request (8/128) is `as-is`; nothing is swapped (type and code would lose
 *   their meaning).
 * - Protocols without ports and every tie: `unknown`.
 */
export function orientation(flow: Flow): Orientation {
  const p = flow.protocol
  if (p === ICMP || p === ICMPV6) {
    const t = flow.dstPort
    return (p === ICMP && (t === 8 || t === 13 || t === 15 || t === 17)) ||
      (p === ICMPV6 && t === 128)
      ? 'as-is'
      : 'unknown'
  }
  if (p !== TCP && p !== UDP && p !== SCTP && p !== DCCP) return 'unknown'
  const flags = flagsOrientation(flow)
  if (flags !== 'unknown') return flags
  const s = flow.srcPort
  const d = flow.dstPort
  const ss = isServicePort(s, p)
  const ds = isServicePort(d, p)
  if (ds && !ss) return 'as-is'
  if (ss && !ds) return 'swap'
  if (ss && ds) return clientInServerList(s, d, p)
  const se = s >= EPHEMERAL_FROM
  const de = d >= EPHEMERAL_FROM
  if (se && !de && d > 0) return 'as-is'
  if (de && !se && s > 0) return 'swap'
  return 'unknown'
}

/** The TCP-flag evidence of {@link orientation} alone: `unknown` where the flags tell nothing. */
function flagsOrientation(flow: Flow): Orientation {
  const f = flow.tcpFlags
  if (flow.protocol !== TCP || f === undefined || (f & SYN) === 0) return 'unknown'
  if ((f & ACK) === 0) return 'as-is'
  if ((f & PSH) === 0 && !ORED_TCP_FLAGS_FORMATS.has(flow.source.format)) return 'swap'
  return 'unknown'
}

/** The flow with its ends exchanged (addresses, ports, names, labels); counters and times kept. */
export function swapEnds(f: Flow): Flow {
  const out: Mutable<Flow> = {
    src: f.dst,
    dst: f.src,
    srcPort: f.dstPort,
    dstPort: f.srcPort,
    protocol: f.protocol,
    start: f.start,
    end: f.end,
    packets: f.packets,
    bytes: f.bytes,
    observedAction: f.observedAction,
    direction: f.direction,
    source: f.source,
  }
  if (f.tcpFlags !== undefined) out.tcpFlags = f.tcpFlags
  if (f.dstName !== undefined) out.srcName = f.dstName
  if (f.srcName !== undefined) out.dstName = f.srcName
  if (f.dstLabels !== undefined) out.srcLabels = f.dstLabels
  if (f.srcLabels !== undefined) out.dstLabels = f.srcLabels
  return withNotesOf(out, f)
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/**
 * Returns the flow oriented client→server where the evidence is good (see {@link orientation}),
 * with `direction: 'client-to-server'`; otherwise the flow unchanged with `direction: 'unknown'`.
 * (ICMP replies are marked `server-to-client` by the readers that know the message type: the
 * NetFlow decoder, the CSV parser.)
 * A swapped record keeps its counters (they are then the server→client half's counters).
 * A direction the parser already set is trusted: `client-to-server` is kept, `server-to-client`
 * is swapped. Never swaps when both or neither side looks like a server port.
 */
export function orient(flow: Flow): Flow {
  const o = decide(flow)
  if (o === 'as-is')
    return flow.direction === 'client-to-server' ? flow : { ...flow, direction: 'client-to-server' }
  if (o === 'swap') return { ...swapEnds(flow), direction: 'client-to-server' }
  return flow.direction === 'unknown' ? flow : { ...flow, direction: 'unknown' }
}

/**
 * What an address text is for direction: `sink` when it can only be a packet's destination (a
 * multicast group, `224.0.0.0/4` or `ff00::/8`, RFC 1112 §4 and RFC 4291 §2.7: "must not be
 * used as a source"; the limited broadcast `255.255.255.255`, RFC 919 §7, RFC 1122 §3.2.1.3),
 * `origin` when it can only be its source (the unspecified `0.0.0.0` or `::`, RFC 1122
 * §3.2.1.3, RFC 4291 §2.5.2: a DHCP discover, a duplicate address probe), else `host`. Reads
 * canonical text ({@link Flow}: dotted quad, RFC 5952) by its first characters, without parsing.
 */
export function addressRole(text: string): 'sink' | 'origin' | 'host' {
  const c = text.charCodeAt(0)
  if (c === 0x32 /* 2 */) {
    // 224. – 239. (two digits after the 2, then a dot) and 255.255.255.255
    if (text.charCodeAt(3) !== 0x2e) return 'host'
    const n = (text.charCodeAt(1) - 48) * 10 + (text.charCodeAt(2) - 48)
    if (n >= 24 && n <= 39) return 'sink'
    return text === '255.255.255.255' ? 'sink' : 'host'
  }
  if (c === 0x66 /* f */) return /^ff[0-9a-f]{2}:/.test(text) ? 'sink' : 'host'
  if (text === '0.0.0.0' || text === '::') return 'origin'
  return 'host'
}

/**
 * How a record's ends must be read whatever its ports say, from its addresses alone: a group or
 * the broadcast is always the destination, an unspecified address always the source
 * ({@link addressRole}). `unicast`: no such address, the ports decide ({@link orientation});
 * `as-is`: the record is the sender's; `swap`: it is written the other way round (a reply
 * direction's record, a parser's swapped columns); `no-sender`: neither way is a packet that can
 * be sent (group to group, unspecified to unspecified), and for ICMP and ICMPv6 a record whose
 * swap would be needed, since the message type is its own direction's (an echo reply turned
 * around is no echo request).
 */
export function groupEnds(
  f: Pick<Flow, 'src' | 'dst' | 'protocol'>,
): 'unicast' | 'as-is' | 'swap' | 'no-sender' {
  const s = addressRole(f.src)
  const d = addressRole(f.dst)
  if (s === 'host' && d === 'host') return 'unicast'
  if (s !== 'sink' && d !== 'origin') return 'as-is'
  if (d !== 'sink' && s !== 'origin' && f.protocol !== ICMP && f.protocol !== ICMPV6) return 'swap'
  return 'no-sender'
}

/**
 * A flow whose address is a group, the broadcast or unspecified, with its ends as a packet can
 * have them ({@link groupEnds}): the sender first, `direction: client-to-server` (the sender is
 * known, whatever the ports said); a flow with no such address unchanged; undefined for a record
 * no sender can have written (`no-sender`), which reading skips as malformed. Applied to every
 * flow after orientation and pairing, whatever its format: a parser's or the port evidence's
 * answer never makes a group a source.
 */
export function withGroupEnds(f: Flow): Flow | undefined {
  switch (groupEnds(f)) {
    case 'unicast':
      return f
    case 'as-is':
      return f.direction === 'client-to-server' ? f : { ...f, direction: 'client-to-server' }
    case 'swap':
      return { ...swapEnds(f), direction: 'client-to-server' }
    case 'no-sender':
      return undefined
  }
}

/**
 * {@link withGroupEnds} with its bookkeeping, for the readers that hold flows as objects (and the
 * collector): a flow turned around is noted `group-source-swapped`; one no sender can have written
 * is skipped (reason `no-sender`, at its file and line or record) and undefined is returned.
 */
export function senderFirst(ctx: ParseContext, f: Flow): Flow | undefined {
  const g = withGroupEnds(f)
  if (g === undefined) {
    skip(
      ctx,
      'no-sender',
      whereOf(f),
      `${f.src} -> ${f.dst} protocol ${f.protocol}: a multicast group or the broadcast is never a source, 0.0.0.0 or :: never a destination`,
    )
  } else if (g.src !== f.src) note(ctx, 'group-source-swapped')
  return g
}

/**
 * Where `f` was read, as a skip names it (types.ts `SkipExample.where`): `file:line`, `file#record`
 * (a datagram, an Azure flow tuple: 0-based, no line), or `file`.
 */
function whereOf(f: Flow): string {
  const s = f.source
  if (s.line !== undefined) return `${s.file}:${s.line}`
  return s.record !== undefined ? `${s.file}#${s.record}` : s.file
}

/**
 * Whether `src` and `dst`, canonical address text as {@link Flow} holds it (dotted quad, RFC 5952
 * IPv6: only IPv6 has a `:`), are of different IP versions. No packet has an IPv4 address at one
 * end and an IPv6 address at the other (RFC 791 §3.1, RFC 8200 §3), and IPv4-mapped addresses
 * (`::ffff:a.b.c.d`) are read as IPv4 before this, so such a record is damaged, but for an AWS
 * VPC record's stand-in interface address ({@link checkAddressFamilies}).
 */
export function mixedFamilies(src: string, dst: string): boolean {
  return src.includes(':') !== dst.includes(':')
}

/**
 * Skips `f` as malformed, reason `mixed-address-families`, when its ends are of different IP
 * versions ({@link mixedFamilies}), at its file and line (`file:line`), or record (`file#N`);
 * true when it did (then the caller drops `f`). Reading applies it to each record as its parser gives it out, before
 * orientation and pairing, on both read paths (read.ts `take`, column-reader.ts), so the two skip
 * the same records in the same order. (The collector needs none: the NetFlow/IPFIX decoder takes
 * both addresses from one pair, IPv4 or IPv6.)
 *
 * Except an AWS VPC record: without `pkt-srcaddr`/`pkt-dstaddr`, AWS writes the interface's
 * primary private IPv4 address for a packet end that is none of the interface's addresses (AWS
 * VPC user guide, "Flow log limitations": an instance that forwards traffic, say), so an IPv6
 * packet gives such a record. It is AWS's own output, not damage: kept as written (the end that
 * stands in is the interface that handled the packet, as for IPv4 traffic, where the substitution
 * cannot be seen) and noted `interface-address-stand-in`; false.
 * @throws BulkheadError `ingest/malformed-record` in strict mode, as {@link skip}.
 */
export function checkAddressFamilies(ctx: ParseContext, f: Flow): boolean {
  if (!mixedFamilies(f.src, f.dst)) return false
  if (f.source.format === 'aws-vpc') {
    note(ctx, 'interface-address-stand-in')
    return false
  }
  skip(
    ctx,
    'mixed-address-families',
    whereOf(f),
    `${f.src} -> ${f.dst}: an IPv4 and an IPv6 address are never the two ends of one packet`,
  )
  return true
}

/** Default number of unpaired records held by {@link pairDirections}. */
export const PAIR_WINDOW = 10_000

/** Largest gap between the two halves' time intervals that still pairs them, in ms. */
export const PAIR_SLACK_MS = 60_000

/**
 * Most earlier records of one direction of a connection held behind its latest record (a run,
 * see {@link DirectionPairer}), so that a refusal the other end logged settles every accepted
 * record of the run, and an accepted record near a refusal of the run is settled.
 */
export const PAIR_RUN = 8

/** A direction the record already states wins; otherwise the evidence of {@link orientation}. */
function decide(f: Flow): Orientation {
  if (f.direction === 'client-to-server') return 'as-is'
  if (f.direction === 'server-to-client') return 'swap'
  return orientation(f)
}

/**
 * How strong {@link decide}'s answer `o` for `f` is, in the order the evidence is weighed: a
 * stated direction 3, TCP flags 2, ports 1, none 0 ({@link merge} takes the stronger half's).
 */
function strength(f: Flow, o: Orientation): number {
  if (o === 'unknown') return 0
  if (f.direction === 'client-to-server' || f.direction === 'server-to-client') return 3
  return flagsOrientation(f) !== 'unknown' ? 2 : 1
}

/**
 * Whether the two TCP halves of a connection show a refusal: the client's flags have SYN without
 * ACK (an attempt no SYN-ACK answered: every later packet of a client carries ACK) and the
 * server's have RST without SYN (a closed port answers a SYN with RST+ACK, RFC 9293 §3.10.7.1),
 * as Zeek's `REJ`. Flags as the records give them (for NetFlow/IPFIX the OR over the record's
 * packets); undefined (no flags logged) is no evidence. The caller checks that both records
 * hold no action of their own.
 */
export function refusedByReset(
  clientFlags: number | undefined,
  serverFlags: number | undefined,
): boolean {
  return (
    clientFlags !== undefined &&
    serverFlags !== undefined &&
    (clientFlags & (SYN | ACK)) === SYN &&
    (serverFlags & (SYN | RST)) === RST
  )
}

/**
 * The flow of two opposite halves `a` (read first) and `b` of one connection: the client is the
 * one the stronger evidence of either half names ({@link strength}: one half's SYN beats the
 * other's ports, whichever was read first); with none, the client end a handshake of an earlier
 * window settled (`remembered`, {@link ConnectionMemory}: `address|port`), so that the flow is
 * the client's record (`source`); else `a`'s, marked `unknown`.
 */
function merge(a: Flow, b: Flow, remembered?: string): Flow {
  const oa = decide(a)
  const ob = decide(b)
  let client: Flow
  let confident = true
  if (oa !== 'unknown' && strength(a, oa) >= strength(b, ob)) client = oa === 'as-is' ? a : b
  else if (ob !== 'unknown') client = ob === 'as-is' ? b : a
  else if (remembered !== undefined && remembered === endOf(b)) client = b
  else {
    client = a
    confident = remembered !== undefined && remembered === endOf(a)
  }
  const server = client === a ? b : a
  const out: Mutable<Flow> = {
    src: client.src,
    dst: client.dst,
    srcPort: client.srcPort,
    dstPort: client.dstPort,
    protocol: client.protocol,
    start: Math.min(a.start, b.start),
    end: Math.max(a.end, b.end),
    packets: addCounters(a.packets, b.packets),
    bytes: addCounters(a.bytes, b.bytes),
    observedAction: client.observedAction,
    direction: confident ? 'client-to-server' : 'unknown',
    source: client.source,
  }
  if (a.tcpFlags !== undefined || b.tcpFlags !== undefined)
    out.tcpFlags = (a.tcpFlags ?? 0) | (b.tcpFlags ?? 0)
  const srcName = client.srcName ?? server.dstName
  const dstName = client.dstName ?? server.srcName
  const srcLabels = client.srcLabels ?? server.dstLabels
  const dstLabels = client.dstLabels ?? server.srcLabels
  if (srcName !== undefined) out.srcName = srcName
  if (dstName !== undefined) out.dstName = dstName
  if (srcLabels !== undefined) out.srcLabels = srcLabels
  if (dstLabels !== undefined) out.dstLabels = dstLabels
  const merged = withNotesOf(out, a, b)
  // a refused connection no observer judged (NetFlow without forwarding status, softflowd,
  // fprobe, pmacct): the closed port's reset is the refusal, read `reject` as Zeek's REJ
  if (
    confident &&
    out.protocol === TCP &&
    a.observedAction === 'unknown' &&
    b.observedAction === 'unknown' &&
    refusedByReset(client.tcpFlags, server.tcpFlags)
  ) {
    out.observedAction = 'reject'
    noteOnFlow(merged, 'refused-by-reset')
  }
  return merged
}

/**
 * The key both halves of a connection share: protocol and the two endpoints in a fixed order
 * (the smaller address text first, then the smaller port), so one map lookup finds the other half.
 */
function connectionKey(f: Flow): string {
  const c = f.src < f.dst ? -1 : f.src > f.dst ? 1 : f.srcPort - f.dstPort
  return c <= 0
    ? `${f.protocol}|${f.src}|${f.srcPort}|${f.dst}|${f.dstPort}`
    : `${f.protocol}|${f.dst}|${f.dstPort}|${f.src}|${f.srcPort}`
}

/**
 * {@link connectionKey} for the ICMP records of a format that carries their message type (NetFlow,
 * IPFIX: `dstPort` the type, `srcPort` the code): an echo request and its reply (RFC 792, RFC
 * 4443; {@link ICMP_REQUEST_OF_REPLY}) share the key of the request, as sent by its client
 * (protocol, client, server, request type, code), so that one lookup finds the other; any other
 * message is keyed as written, and pairs with nothing. Undefined for a protocol other than
 * ICMP and ICMPv6.
 */
function icmpKey(f: Flow): string | undefined {
  const p = f.protocol
  if (p !== ICMP && p !== ICMPV6) return undefined
  const request = ICMP_REQUEST_OF_REPLY[p]?.[f.dstPort]
  return request === undefined
    ? `${p}|${f.src}|${f.dst}|${f.dstPort}|${f.srcPort}`
    : `${p}|${f.dst}|${f.src}|${request}|${f.srcPort}`
}

/**
 * The client end of connections whose direction a TCP handshake settled (a record with SYN set,
 * oriented client→server), by connection key, so that later records of the same connection
 * (AWS writes one per direction per aggregation window; only the window with the handshake has
 * SYN) are oriented the same way where their ports alone cannot tell: a NAT gateway's source port
 * that is also a listening port (4500 → 443).
 * Bounded: two generations of at most `limit` entries each; the older is dropped when the newer
 * is full.
 */
export class ConnectionMemory {
  private cur = new Map<string, string>()
  private old = new Map<string, string>()

  constructor(private readonly limit: number) {}

  /** True when nothing is remembered (no handshake seen yet): lookups can be skipped. */
  get empty(): boolean {
    return this.cur.size === 0 && this.old.size === 0
  }

  /** The client end (`address|port`, as the caller writes it) of the connection, if known. */
  get(key: string): string | undefined {
    return this.cur.get(key) ?? this.old.get(key)
  }

  set(key: string, client: string): void {
    if (!this.cur.has(key) && this.cur.size >= this.limit) {
      this.old = this.cur
      this.cur = new Map()
    }
    this.cur.set(key, client)
  }

  /**
   * An oriented flow of connection `key` as it leaves a reader: a handshake's direction (a
   * `client-to-server` record with SYN) is remembered; an `unknown` direction takes the
   * remembered one, its ends swapped when the client is its destination.
   */
  settle(f: Flow, key: string): Flow {
    if (f.direction === 'client-to-server') {
      if (f.tcpFlags !== undefined && (f.tcpFlags & SYN) !== 0) this.set(key, endOf(f))
      return f
    }
    if (f.direction !== 'unknown') return f
    const client = this.get(key)
    if (client === undefined) return f
    if (client === endOf(f)) return { ...f, direction: 'client-to-server' }
    if (client === `${f.dst}|${String(f.dstPort)}`)
      return { ...swapEnds(f), direction: 'client-to-server' }
    return f
  }
}

/**
 * True when held record `m` and record `f` of one connection key can be its two halves, their
 * ends exchanged aside ({@link exchanged}): the same action, times overlapping or at most
 * {@link PAIR_SLACK_MS} apart.
 */
function isPartner(m: Flow, f: Flow): boolean {
  return (
    m.observedAction === f.observedAction &&
    f.start <= m.end + PAIR_SLACK_MS &&
    m.start <= f.end + PAIR_SLACK_MS
  )
}

/**
 * True when `m` and `f`, of one connection key, have their ends exchanged: `f`'s source is `m`'s
 * destination (for ICMP keyed by its request, {@link icmpKey}: the addresses exchanged).
 */
function exchanged(m: Flow, f: Flow, icmp: boolean): boolean {
  return m.src === f.dst && (icmp ? m.dst === f.src : m.srcPort === f.dstPort)
}

/** The source end of `f` as {@link ConnectionMemory} writes a client: `address|port`. */
function endOf(f: Flow): string {
  return `${f.src}|${String(f.srcPort)}`
}

/**
 * The handshake carry-over of {@link DirectionPairer} for records read without pairing
 * (`--no-pair`): each record is oriented ({@link orient}) and then settled by the TCP handshake
 * of its connection seen earlier in the same input ({@link ConnectionMemory}), as a pairer's
 * unpaired records are, so that `--no-pair` changes which records are merged, not which way
 * they point.
 */
export class HandshakeCarry {
  private readonly memory = new ConnectionMemory(PAIR_WINDOW)

  /**
   * `f` oriented and settled. @param scope - the exporter scope of the record, as
   * {@link DirectionPairer.push} takes it; undefined: one scope for all records.
   */
  orient(f: Flow, scope?: string): Flow {
    const o = f.direction === 'unknown' ? orient(f) : f
    // most records neither hold a handshake nor can take one: they build no key
    const handshake =
      o.direction === 'client-to-server' && o.tcpFlags !== undefined && (o.tcpFlags & SYN) !== 0
    if (!handshake && (o.direction !== 'unknown' || this.memory.empty)) return o
    const conn = connectionKey(o)
    return this.memory.settle(o, scope === undefined ? conn : `${scope}\u0000${conn}`)
  }
}

/**
 * Pairs the two directions of a connection (AWS VPC emits one record per direction,
 * the reply with swapped addresses and ports) into one client→server flow: packets and bytes
 * summed (held at 2^53 − 1, core `addCounters`), `start` the earlier, `end` the later, TCP flags
 * ORed, `source` of the client half.
 * Synchronous: {@link DirectionPairer.push} appends what is ready to an output array, so reading
 * can run it in a plain loop over a batch of flows.
 *
 * Two records pair when they have the same protocol, swapped endpoints (address and port),
 * the same `observedAction`, and time intervals that overlap or are at most
 * {@link PAIR_SLACK_MS} apart. A record that finds a held record of the same connection that
 * it does not pair with is held in its place, and the held one (of either direction: the same
 * direction again, or an incompatible other half) joins the new record's run: the earlier records
 * of the connection, held behind the latest (at most {@link PAIR_RUN}; one that ends more than
 * {@link PAIR_SLACK_MS} before the new record starts is released), released with it, oldest
 * first, and counted in the window. A record that is no refusal (`accept`, or `unknown` where the
 * format records no action) pairs with the held record of the other direction nearest to it in
 * start time, the latest or one of its run (the latest on a tie, then the newer; a refusal only
 * with the latest, so that, joining the run, it settles the accepts of its direction):
 * one connection logged at two interfaces, or over two aggregation windows, is read in any
 * interleaving of its records, and a reply finds its request held behind another record of the
 * connection. Pairing with the latest, the merged flow leaves at once and the run stays held as the
 * connection's run (queued for eviction where the pair arrived), so that the next record of the
 * connection joins it and a merged pair between an accept and a refusal does not keep them apart;
 * pairing with a record of the run, that record leaves the run and the latest stays held. Reading
 * does not look ahead: a record that meets a partner of another window before its own pairs with
 * it. Unpaired records are oriented with {@link orient}.
 * Settling one direction accepted at one end and rejected at the other: every accepted record of
 * a run (or the latest) whose interval is within {@link PAIR_SLACK_MS} of a record of the run of
 * the same direction (the same source address and port as written) that was written `reject` is
 * read rejected, whichever came first and however many there are
 * (counted in {@link DirectionPairer.rejectedAtOtherEnd}); an accepted record read rejected is no
 * refusal itself, so settling does not chain from one accept to the next. This is the store's
 * rule for records of different files (store `settleBothEnds`, `settleExporterEnds`): the same
 * source and destination, for NetFlow/IPFIX and goflow2 the same exporter (the scope), near in
 * time.
 *
 * Every record emitted unpaired is a half that found no partner in its file: {@link
 * DirectionPairer.halfOf} gives its unpaired-half mark (core `HALF_UNPAIRED`, with `HALF_SWAPPED`
 * when orienting exchanged its ends and `HALF_SETTLED` when it was read `reject` by a refusal at the
 * other end, so that the store does not take it for a refusal), which ingest stores so that the store can pair it with the
 * other half when another file holds that (store `pairHalves`).
 *
 * A flow whose direction the evidence leaves unknown takes that of an earlier flow of the same
 * connection (same protocol, addresses and ports) whose TCP handshake settled it
 * ({@link ConnectionMemory}, at most 2 × `window` connections remembered).
 *
 * Bound: at most `window` (default {@link PAIR_WINDOW}) unpaired records are held; when more
 * arrive the oldest is released unpaired. So memory is O(window), and a reply more than `window`
 * records after its request is not paired. Output order differs from input order by at most
 * the window. A live reader also releases the records held since before a time
 * ({@link DirectionPairer.expire}).
 *
 * Scopes: a record pushed with a `scope` (NetFlow/IPFIX: the exporter and observation domain
 * that logged it, netflow/decoder.ts `pairScope`) pairs only with a record of the same scope, so
 * two exporters' records are never merged. With `icmpTypes` (formats whose ICMP records carry
 * the message type, as NetFlow and IPFIX do) an ICMP echo request pairs with its reply
 * ({@link icmpKey}: the same code, the addresses exchanged), and the flow is the request's
 * (`dstPort` its type); without it ICMP records pair as written, ports `0 0` with `0 0` (AWS,
 * GCP: no type).
 */
export class DirectionPairer {
  private readonly window: number
  private readonly pending = new Map<string, Flow>()
  // Insertion order for eviction, as parallel arrays (keys, entries), skipped lazily when the key
  // was paired or replaced since: `pending.entries().next()` would walk over every deleted entry
  // of V8's ordered hash table. An entry is a held record, or the run a merged pair left (its
  // array, which the next record of the connection replaces).
  private keys: string[] = []
  private held: (Flow | readonly Flow[])[] = []
  /** The `at` of each pushed record, parallel to `keys` and `held` ({@link DirectionPairer.expire}). */
  private arrived: number[] = []
  private head = 0
  private readonly icmpTypes: boolean
  private readonly memory: ConnectionMemory
  /**
   * The earlier records of the held record's connection (either direction), oldest first, by
   * key: its run (see the class comment). Each is counted in the window.
   */
  private readonly runs = new Map<string, Flow[]>()
  /** Records held in runs, all keys together. */
  private inRuns = 0
  /** The copies read `reject` because the other end rejected them: their record was `accept`. */
  private readonly settled = new WeakSet<Flow>()
  /** Pairs merged so far. */
  paired = 0
  /**
   * Accepted records read rejected because the other end rejected them (`rejected-at-other-end`:
   * see the class comment).
   */
  rejectedAtOtherEnd = 0
  /** The unpaired-half mark of each flow emitted unpaired ({@link DirectionPairer.halfOf}). */
  private readonly halves = new WeakMap<Flow, number>()
  /** With `opts.origins`: the record pushed of each flow emitted unpaired ({@link DirectionPairer.recordOf}). */
  private readonly origins: WeakMap<Flow, Flow> | undefined
  /**
   * With `opts.origins`: the record pushed of each copy read rejected because the other end
   * rejected it (see the class comment).
   */
  private readonly pushed: WeakMap<Flow, Flow> | undefined

  /**
   * @param opts.window - most records held unpaired (default {@link PAIR_WINDOW}).
   * @param opts.icmpTypes - ICMP records carry their message type: an echo request pairs with
   *   its reply (see the class comment). Default false.
   * @param opts.origins - remember the record each unpaired flow was emitted for
   *   ({@link DirectionPairer.recordOf}). Default false.
   */
  constructor(opts: { window?: number; icmpTypes?: boolean; origins?: boolean } = {}) {
    this.window = Math.max(1, opts.window ?? PAIR_WINDOW)
    this.memory = new ConnectionMemory(this.window)
    this.icmpTypes = opts.icmpTypes ?? false
    this.origins = opts.origins === true ? new WeakMap() : undefined
    this.pushed = opts.origins === true ? new WeakMap() : undefined
  }

  /** Records held unpaired now (runs included). */
  get size(): number {
    return this.pending.size + this.inRuns
  }

  /**
   * The unpaired-half mark of a flow this pairer emitted: core `HALF_UNPAIRED` (ORed with
   * `HALF_SWAPPED` when orienting exchanged its ends, and `HALF_SETTLED` when it was written
   * `accept` and is read `reject` because the other end rejected it) for a record that found no
   * partner, 0 for a merged pair (and for any flow it did not emit).
   */
  halfOf(f: Flow): number {
    return this.halves.get(f) ?? 0
  }

  /**
   * With `opts.origins`: the record (as pushed) of a flow this pairer emitted unpaired, also
   * when it was read rejected because the other end rejected it; undefined for a merged pair,
   * any other flow, or without `opts.origins`.
   */
  recordOf(f: Flow): Flow | undefined {
    return this.origins?.get(f)
  }

  /** Record `f` of connection `key` emitted without a partner: oriented, settled, marked. */
  private unpaired(f: Flow, key: string): Flow {
    // with ICMP types, an ICMP reply stays as the reader marked it (`server-to-client`): turned
    // round, its type and code would be read as ports
    const keep = this.icmpTypes && f.direction !== 'unknown' && icmpKey(f) !== undefined
    const out = this.memory.settle(keep ? f : orient(f), key)
    const half =
      out.src !== f.src || out.srcPort !== f.srcPort ? HALF_UNPAIRED | HALF_SWAPPED : HALF_UNPAIRED
    this.halves.set(out, this.settled.has(f) ? half | HALF_SETTLED : half)
    this.origins?.set(out, this.pushed?.get(f) ?? f)
    return out
  }

  /** The record `f` read `reject`: a copy, which {@link DirectionPairer.recordOf} traces back to `f`. */
  private rejected(f: Flow): Flow {
    const r: Flow = { ...f, observedAction: 'reject' }
    // a fact about the flow given out, counted then (types.ts `noteOnFlow`)
    noteOnFlow(r, 'rejected-at-other-end')
    this.settled.add(r)
    this.pushed?.set(r, this.pushed.get(f) ?? f)
    return r
  }

  /** The run of `key`, released unpaired, oldest first. */
  private releaseRun(key: string, out: Flow[]): void {
    const run = this.runs.get(key)
    if (run === undefined) return
    this.runs.delete(key)
    this.inRuns -= run.length
    for (const r of run) out.push(this.unpaired(r, key))
  }

  /**
   * Queue entry `e` of `key`, released with its run when it is still held (a held record, or a
   * run a merged pair left).
   */
  private releaseEntry(key: string, e: Flow | readonly Flow[], out: Flow[]): void {
    if (this.pending.get(key) === e) {
      this.pending.delete(key)
      this.releaseRun(key, out)
      out.push(this.unpaired(e, key))
    } else if (this.runs.get(key) === e) this.releaseRun(key, out)
  }

  /** True when queue entry `e` of `key` is still held (see {@link DirectionPairer.releaseEntry}). */
  private live(key: string, e: Flow | readonly Flow[]): boolean {
    return this.pending.get(key) === e || this.runs.get(key) === e
  }

  /**
   * `f`, a record of connection `key` that does not pair with the held record `other` (of
   * either direction; undefined when a merged pair left the run): `other` joins its run, and the
   * run's records of `f`'s direction are
   * settled against `f` (an accepted record near a rejected one, as written, is read `reject`,
   * whichever came first; AWS: the source's interface let it out, the destination's security
   * group refused it), then trimmed: a record that ends more than
   * {@link PAIR_SLACK_MS} before `f` starts, and the oldest beyond {@link PAIR_RUN}, are released
   * unpaired. Returns `f`, or its copy read `reject`.
   */
  private extendRun(key: string, other: Flow | undefined, f: Flow, out: Flow[]): Flow {
    const run = this.runs.get(key)
    const members = run ?? []
    this.inRuns -= members.length
    if (other !== undefined) members.push(other)
    const refused = f.observedAction === 'reject'
    let settle = false
    for (let j = 0; j < members.length; j++) {
      const m = members[j] as Flow
      // the run may hold records of the other direction too: they settle nothing of f's
      if (m.src !== f.src || m.srcPort !== f.srcPort) continue
      if (f.start > m.end + PAIR_SLACK_MS || m.start > f.end + PAIR_SLACK_MS) continue
      if (refused && m.observedAction === 'accept') {
        members[j] = this.rejected(m)
        this.rejectedAtOtherEnd++
      } else if (
        f.observedAction === 'accept' &&
        m.observedAction === 'reject' &&
        !this.settled.has(m)
      )
        settle = true
    }
    if (settle) {
      f = this.rejected(f)
      this.rejectedAtOtherEnd++
    }
    const excess = members.length - PAIR_RUN
    const kept: Flow[] = []
    for (let j = 0; j < members.length; j++) {
      const m = members[j] as Flow
      if (j < excess || m.end + PAIR_SLACK_MS < f.start) out.push(this.unpaired(m, key))
      else kept.push(m)
    }
    if (kept.length > 0) this.runs.set(key, kept)
    else this.runs.delete(key)
    this.inRuns += kept.length
    return f
  }

  /**
   * Takes one record; appends to `out` the flows that are ready.
   *
   * @param scope - the exporter scope of the record (see the class comment); undefined: one
   *   scope for all records (AWS, GCP).
   * @param at - when the record arrived, ms (any clock, non-decreasing), for
   *   {@link DirectionPairer.expire}; default 0.
   */
  push(f: Flow, out: Flow[], scope?: string, at = 0): void {
    const icmp = this.icmpTypes ? icmpKey(f) : undefined
    const conn = icmp ?? connectionKey(f)
    const key = scope === undefined ? conn : `${scope}\u0000${conn}`
    const pending = this.pending
    const other = pending.get(key)
    const run = this.runs.size === 0 ? undefined : this.runs.get(key)
    // the same key, so the ends are swapped when the source is the other's destination (for
    // ICMP keyed by its request, the addresses exchanged: one is the request, one its reply)
    const swapped = other !== undefined && exchanged(other, f, icmp !== undefined)
    // a handshake's record names its connection's client as it is read, as its flow would
    // when it leaves (ConnectionMemory.settle): a pair merged while it is held (a later window's,
    // whose ports cannot tell) takes that direction
    if (f.tcpFlags !== undefined && (f.tcpFlags & SYN) !== 0) {
      const o = decide(f)
      if (o === 'as-is') this.memory.set(key, endOf(f))
      else if (o === 'swap') this.memory.set(key, `${f.dst}|${String(f.dstPort)}`)
    }
    if (run !== undefined && f.observedAction !== 'reject') {
      // a record of the run nearer in start time than the held one is the partner (the other
      // interface's or window's record of the connection, read in between); a refusal pairs
      // only with the latest, so that in the run it settles the accepts of its direction
      let best = -1
      let bestGap =
        other !== undefined && swapped && isPartner(other, f)
          ? Math.abs(f.start - other.start)
          : Infinity
      for (let j = run.length - 1; j >= 0; j--) {
        const m = run[j] as Flow
        const gap = Math.abs(f.start - m.start)
        if (gap < bestGap && isPartner(m, f) && exchanged(m, f, icmp !== undefined)) {
          best = j
          bestGap = gap
        }
      }
      if (best >= 0) {
        const m = run[best] as Flow
        run.splice(best, 1)
        this.inRuns--
        if (run.length === 0) this.runs.delete(key)
        this.emitPair(m, f, key, out)
        return
      }
    }
    if (other === undefined) {
      // a merged pair left the connection's run: the record joins it
      if (this.runs.has(key)) f = this.extendRun(key, undefined, f, out)
    } else if (!swapped && other.src === f.src && other.srcPort === f.srcPort) {
      // the same direction again: `other` joins its run
      pending.delete(key)
      f = this.extendRun(key, other, f, out)
    } else {
      pending.delete(key)
      if (swapped && isPartner(other, f)) {
        // the run stays held (see the class comment), queued where the pair arrived
        if (run !== undefined) this.enqueue(key, run, at)
        this.emitPair(other, f, key, out)
        return
      }
      // the other direction, not its partner: `other` joins the run all the same, so that a
      // refusal of its direction still settles it when it comes (and one of f's direction f)
      f = this.extendRun(key, other, f, out)
    }
    pending.set(key, f)
    this.enqueue(key, f, at)
    while (pending.size + this.inRuns > this.window && this.head < this.keys.length) {
      const k = this.keys[this.head] as string
      const oldest = this.held[this.head] as Flow | readonly Flow[]
      this.head++
      this.releaseEntry(k, oldest, out)
    }
    // Compact when most queued entries are stale (paired away), so the queue stays O(window).
    if (this.keys.length - this.head > 4 * this.window + 1024) this.compact()
  }

  /** Appends to `out` held record `held` of connection `key` merged with `f`, its other half. */
  private emitPair(held: Flow, f: Flow, key: string, out: Flow[]): void {
    this.paired++
    const m = merge(held, f, this.memory.empty ? undefined : this.memory.get(key))
    // a fact about the flow given out, counted then (types.ts `noteOnFlow`)
    noteOnFlow(m, 'paired-directions')
    out.push(this.memory.settle(m.direction === 'unknown' ? orient(m) : m, key))
  }

  private enqueue(key: string, e: Flow | readonly Flow[], at: number): void {
    this.keys.push(key)
    this.held.push(e)
    this.arrived.push(at)
  }

  /**
   * Releases, unpaired and oriented, the held records pushed with an `at` before `before`, in
   * arrival order: a live reader (the collector) calls it on a timer, so that a record whose
   * other direction never comes is not held for ever when few records arrive.
   */
  expire(before: number, out: Flow[]): void {
    while (this.head < this.keys.length && (this.arrived[this.head] as number) < before) {
      const k = this.keys[this.head] as string
      const e = this.held[this.head] as Flow | readonly Flow[]
      this.head++
      this.releaseEntry(k, e, out)
    }
    if (this.head > 1024 && this.head * 2 > this.keys.length) this.compact()
  }

  /** Releases every held record, oriented, in arrival order. */
  flush(out: Flow[]): void {
    for (let i = this.head; i < this.keys.length; i++)
      this.releaseEntry(this.keys[i] as string, this.held[i] as Flow | readonly Flow[], out)
    this.pending.clear()
    this.runs.clear()
    this.inRuns = 0
    this.keys = []
    this.held = []
    this.arrived = []
    this.head = 0
  }

  private compact(): void {
    const keys: string[] = []
    const held: (Flow | readonly Flow[])[] = []
    const arrived: number[] = []
    for (let i = this.head; i < this.keys.length; i++) {
      const k = this.keys[i] as string
      const f = this.held[i] as Flow | readonly Flow[]
      if (this.live(k, f)) {
        keys.push(k)
        held.push(f)
        arrived.push(this.arrived[i] as number)
      }
    }
    this.keys = keys
    this.held = held
    this.arrived = arrived
    this.head = 0
  }
}

/**
 * {@link DirectionPairer} over an async stream of flows. `onPaired` is called once per merged
 * pair (for the run summary's notes). When `flows` throws, the held records are emitted first
 * and then the error is rethrown.
 */
export async function* pairDirections(
  flows: AsyncIterable<Flow>,
  opts: { window?: number; onPaired?: () => void } = {},
): AsyncGenerator<Flow> {
  const pairer = new DirectionPairer(opts)
  const out: Flow[] = []
  let failure: { error: unknown } | undefined
  try {
    for await (const f of flows) {
      const before = pairer.paired
      pairer.push(f, out)
      if (pairer.paired !== before) opts.onPaired?.()
      if (out.length > 0) {
        yield* out
        out.length = 0
      }
    }
  } catch (error) {
    // emit what is held before passing the error on: "after yielding what was read"
    failure = { error }
  }
  pairer.flush(out)
  yield* out
  if (failure) throw failure.error
}
