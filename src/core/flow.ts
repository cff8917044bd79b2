/**
 * @module Flows: one observed connection record, normalised from any source format.
 * @remarks Semantics: DESIGN.md "flow"; format details: shared/docs/FLOW-FORMATS.md.
 */

/** What the observer (security group, NSG, Cilium, firewall) recorded for the flow. */
export type ObservedAction = 'accept' | 'reject' | 'unknown'

/**
 * Which way the record points. `client-to-server`: `src` opened the connection.
 * `server-to-client`: the record is the reply half (addresses swapped). `unknown`: the format
 * does not say and inference was not confident; such flows are marked, never guessed silently.
 */
export type FlowDirection = 'client-to-server' | 'server-to-client' | 'unknown'

/** Where a flow was read from. Stable: stored with every flow row. */
export interface FlowSource {
  /** Parser name, e.g. `aws-vpc`, `zeek`, `netflow-v9`. */
  readonly format: string
  /** File path as given, or `udp://host:port` for a collector. */
  readonly file: string
  /** 1-based line, for formats read by line. */
  readonly line?: number
  /**
   * 0-based index, for formats not read by line: the datagram of a NetFlow/IPFIX file or
   * collector stream (the records of one datagram share it), the flow tuple of an Azure blob.
   */
  readonly record?: number
}

/**
 * One normalised flow.
 *
 * - `src`, `dst`: canonical address text (dotted quad, or RFC 5952 IPv6; IPv4-mapped IPv6 is
 *   written as IPv4).
 * - `srcPort`, `dstPort`: 0–65535; 0 when the protocol has no ports. For ICMP/ICMPv6
 *   (protocol 1/58) `dstPort` is the ICMP type and `srcPort` the ICMP code, so that the service
 *   `icmp/8` matches `dstPort` 8.
 * - `protocol`: IANA protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, 132 SCTP).
 * - `start`, `end`: milliseconds since the Unix epoch, UTC; `end >= start`.
 * - `packets`, `bytes`: counts for this record (bytes are octets at the IP layer as the
 *   exporter counted them); 0 when unknown. Each is a safe integer, 0 … {@link MAX_COUNTER}
 *   (2^53 − 1): the largest count a JS number holds exactly. A reader that reads a larger count
 *   (Zeek's and IPFIX's counters are unsigned 64-bit; a record's two directions are summed)
 *   skips the record as `bad-counter`; where one flow is merged from several valid records (the
 *   two halves of a connection, Azure's B/C/E updates) the sum is held at {@link MAX_COUNTER}
 *   ({@link addCounters}). The store refuses any other value rather than store it wrapped.
 */
export interface Flow {
  readonly src: string
  readonly dst: string
  readonly srcPort: number
  readonly dstPort: number
  readonly protocol: number
  readonly start: number
  readonly end: number
  readonly packets: number
  readonly bytes: number
  readonly observedAction: ObservedAction
  readonly direction: FlowDirection
  readonly source: FlowSource
  /** TCP flags ORed over the flow (SYN=2, ACK=16), when the format records them. */
  readonly tcpFlags?: number
  /** Workload names the format itself gives (ECS task, GCP instance, Kubernetes pod). */
  readonly srcName?: string
  readonly dstName?: string
  /** Labels the format itself gives (Hubble `k8s:app=reviews` → `app=reviews`). */
  readonly srcLabels?: Readonly<Record<string, string>>
  readonly dstLabels?: Readonly<Record<string, string>>
}

/**
 * Unpaired-half marks: how a stored flow stands to the pairing of a connection's two directions
 * (AWS and GCP VPC flow logs write one record per direction; reading pairs the two records of one
 * file into one flow, ingest/direction.ts). A flow is marked 0 when it is not an unpaired half: a
 * merged pair, a record of a format that is not paired, or one read with pairing off. Otherwise
 * it is {@link HALF_UNPAIRED}, ORed with {@link HALF_SWAPPED}, {@link HALF_ECHO_ASSUMED},
 * {@link HALF_ICMP_TYPED} and {@link HALF_SETTLED} as they apply; with them the store finds and merges the other half when another file holds it.
 * Stable: stored in `flow_rows.half` (store schema version 4); do not change the values. NetFlow/
 * IPFIX and goflow2 records of one direction are marked too when their exporter is known beyond
 * their file ({@link FlowHalf}; store schema version 5).
 */
export const HALF_UNPAIRED = 1
/**
 * With {@link HALF_UNPAIRED}: the flow is the record with its ends exchanged (the record was the
 * server → client direction, and orienting it swapped addresses, ports and names).
 */
export const HALF_SWAPPED = 2
/**
 * With {@link HALF_UNPAIRED}: the record had no ICMP type (ports `0 0`) and was read as an echo
 * request (`dstPort` 8, or 128 for ICMPv6; ingest/read.ts `ICMP_TYPELESS_FORMATS`), so its
 * recorded ports were 0 and 0.
 */
export const HALF_ECHO_ASSUMED = 4
/**
 * With {@link HALF_UNPAIRED}: the record is an ICMP or ICMPv6 message that carries its type
 * (NetFlow/IPFIX, goflow2: `dstPort` the type, `srcPort` the code), which reading pairs by the
 * request it is or answers (ingest/direction.ts `icmpKey`, {@link ICMP_REQUEST_OF_REPLY}): an echo
 * request with its echo reply, the addresses exchanged and the same code. The store pairs it so
 * too (store schema version 6; a store of an earlier Bulkhead holds no such half).
 */
export const HALF_ICMP_TYPED = 8
/**
 * With {@link HALF_UNPAIRED}: the record was written `accept` and is read `reject` because the
 * other end refused the same attempt (`rejected-at-other-end`: one direction of a connection
 * logged accepted at one interface and rejected at another, at most 60 s apart; ingest
 * direction.ts `DirectionPairer`, store `settleBothEnds` / `settleExporterEnds`). Such a flow is
 * no refusal itself: an accept near it only is not settled by it, in reading as in the store,
 * which tells it from a record written `reject` by this bit. Set by reading on the records it
 * settles and by the store on the halves it settles. A store of an earlier Bulkhead (before
 * 2026-11-24) holds no such bit: the halves it settled count as refusals there.
 */
export const HALF_SETTLED = 16

/**
 * An unpaired half given as a flow object (NetFlow/IPFIX, goflow2: records of one direction
 * paired per exporter): its mark ({@link HALF_UNPAIRED} …) and the exporter that logged it, a key
 * independent of the file (ingest `PairHalf.exporter`), with which the store pairs it only with a
 * half of the same exporter (store schema version 5, `flow_rows.exporter`).
 */
export interface FlowHalf {
  readonly half: number
  readonly exporter: string
}

/**
 * A batch of flow objects; `halves` (when given) names the unpaired halves among them, each with
 * its {@link FlowHalf}. A flow not in it is not an unpaired half.
 */
export type FlowObjects = readonly Flow[] & { readonly halves?: ReadonlyMap<Flow, FlowHalf> }

/** Largest `packets` / `bytes` of a {@link Flow}: 2^53 − 1 (`Number.MAX_SAFE_INTEGER`). */
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER

/** True when `n` is a valid flow counter: an integer 0 … {@link MAX_COUNTER}. */
export function isCounter(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0
}

/**
 * The sum of two valid counters, held at {@link MAX_COUNTER}: how a flow merged from several
 * records (the two halves of a connection, Azure's B/C/E updates) adds them up.
 */
export function addCounters(a: number, b: number): number {
  const s = a + b
  return s <= MAX_COUNTER ? s : MAX_COUNTER
}

/**
 * The part of a flow that a verdict depends on: the 5-tuple and the time.
 * `at` is milliseconds since the epoch, UTC.
 */
export interface FlowTuple {
  readonly src: string
  readonly dst: string
  readonly protocol: number
  readonly dstPort: number
  readonly srcPort?: number
  readonly at: number
}

/** The reply half of a tuple: addresses and ports swapped. */
export function reverseTuple(t: FlowTuple): FlowTuple {
  return {
    src: t.dst,
    dst: t.src,
    protocol: t.protocol,
    dstPort: t.srcPort ?? 0,
    srcPort: t.dstPort,
    at: t.at,
  }
}

/**
 * ICMP reply message types and the request each answers (RFC 792: echo reply 0 → echo 8,
 * timestamp reply 14 → 13, information reply 16 → 15; RFC 950: address mask reply 18 → 17) and
 * ICMPv6 (RFC 4443: echo reply 129 → echo request 128). Stable: simulate and discover judge a
 * reply as its request by this table.
 */
export const ICMP_REQUEST_OF_REPLY: Readonly<Record<number, Readonly<Record<number, number>>>> = {
  1: { 0: 8, 14: 13, 16: 15, 18: 17 },
  58: { 129: 128 },
}

/** True when an ICMP/ICMPv6 message type is a reply (see {@link ICMP_REQUEST_OF_REPLY}). */
export function isIcmpReply(protocol: number, type: number): boolean {
  return ICMP_REQUEST_OF_REPLY[protocol]?.[type] !== undefined
}

/**
 * True when a flow record is judged as the connection it answers (DESIGN.md rule 3): its reader
 * marked it a reply (`direction: server-to-client`), or it is an ICMP/ICMPv6 reply type
 * ({@link isIcmpReply}: an echo reply answers an echo request whatever direction its record
 * gives — `unknown` or `client-to-server` from a `direction` column or a JSON-lines flow, Hubble's
 * `is_reply: false`), as `eval` judges it. `simulate`, `lint`'s rule hits and `diff --flows` judge
 * by this, so that no rule naming a reply type decides a flow (a reply is its connection's).
 */
export function judgedAsReply(flow: Pick<Flow, 'protocol' | 'dstPort' | 'direction'>): boolean {
  return flow.direction === 'server-to-client' || isIcmpReply(flow.protocol, flow.dstPort)
}

/**
 * The destination port of the connection a reply (a server → client record) answers, on which
 * the reply is judged (DESIGN.md rule 3): its source port; for ICMP/ICMPv6, whose "port" is the
 * message type (`dstPort`), the type of the request it answers (an echo reply is judged as the
 * echo request), or its own type when it answers none.
 */
export function replyConnectionPort(protocol: number, srcPort: number, dstPort: number): number {
  const icmp = ICMP_REQUEST_OF_REPLY[protocol]
  if (icmp !== undefined) return icmp[dstPort] ?? dstPort
  return srcPort
}

/**
 * Formats whose TCP flags are the OR of every packet of the record's direction: NetFlow v1/v5/v7
 * (`tcp_flags`, "cumulative OR of TCP flags") and v9/IPFIX (`tcpControlBits`, a bit "set to 1
 * if any observed packet of this Flow has the corresponding TCP control bit set", RFC 7012 /
 * IANA IPFIX registry), and CSV, whose flag columns are those of the NetFlow/IPFIX collectors'
 * exports (nfdump, SiLK, pmacct), and goflow2's JSON, whose NetFlow/IPFIX records carry those
 * ORed flags (its sFlow samples carry one packet's, for which this reads less, never wrongly). ACK is set on every packet after a connection's first, so a client's
 * record (SYN, then ACKs) shows SYN+ACK as the server's does: only SYN without ACK tells the
 * sender (the client of an attempt nobody answered). Stable: reading (ingest direction.ts) and
 * the store's pairing across files (store halves.ts) weigh flag evidence through it.
 */
export const ORED_TCP_FLAGS_FORMATS: ReadonlySet<string> = new Set([
  'netflow-v1',
  'netflow-v5',
  'netflow-v7',
  'netflow-v9',
  'ipfix',
  'csv',
  'goflow2',
])
