/**
 * @module Direction inference: which end of a flow record opened the connection, for formats
 * that log one record per direction without saying (AWS VPC, Azure, GCP, NetFlow, CSV).
 *
 * Zeek, conntrack and Hubble say which side is the client; their parsers set `direction`
 * themselves and this module is not applied to them.
 */
import type { Flow } from '../core/index.js'

const TCP = 6
const UDP = 17
const SCTP = 132
const DCCP = 33
const ICMP = 1
const ICMPV6 = 58

const SYN = 0x02
const PSH = 0x08
const ACK = 0x10

/**
 * Ports at or above 1024 that are commonly listening server ports (databases, caches, brokers,
 * web alternates, Kubernetes and cloud control planes). Ports below 1024 are servers anyway.
 */
export const KNOWN_SERVER_PORTS: ReadonlySet<number> = new Set([
  1080, 1194, 1433, 1434, 1521, 1883, 2049, 2181, 2375, 2376, 2379, 2380, 3000, 3128, 3268, 3269,
  3306, 3389, 4222, 4369, 4443, 5000, 5044, 5060, 5061, 5222, 5432, 5601, 5671, 5672, 5900, 5984,
  6379, 6380, 6443, 6660, 6667, 7000, 7001, 7199, 7474, 7687, 8000, 8008, 8080, 8081, 8086, 8088,
  8125, 8200, 8300, 8301, 8443, 8500, 8883, 8888, 9000, 9042, 9090, 9092, 9093, 9100, 9200, 9300,
  9418, 9443, 9999, 10250, 10255, 11211, 15672, 25565, 27017, 27018, 27019, 28015, 50051,
])

/** Start of the ephemeral (client) port range used by Linux and the IANA range (32768/49152). */
export const EPHEMERAL_FROM = 32768

function isServicePort(p: number): boolean {
  return (p > 0 && p < 1024) || KNOWN_SERVER_PORTS.has(p)
}

/** The verdict of the evidence: keep the record's order, swap it, or no confident answer. */
export type Orientation = 'as-is' | 'swap' | 'unknown'

/**
 * The evidence, in order: TCP flags, then well-known/listening ports, then ephemeral ranges.
 *
 * - TCP flags: SYN without ACK → the sender is the client (`as-is`); SYN+ACK without PSH →
 *   the sender is the server (`swap`). This is the AWS VPC / Azure convention (AWS records ACK
 *   only as part of SYN-ACK = 18). Flags that also carry PSH are the OR over a whole
 *   connection (NetFlow/IPFIX), where both halves show SYN+ACK: they are not evidence.
 * - ports: exactly one side is < 1024 or in {@link KNOWN_SERVER_PORTS} → that side is the server.
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
  const f = flow.tcpFlags
  if (p === TCP && f !== undefined && (f & SYN) !== 0) {
    if ((f & ACK) === 0) return 'as-is'
    if ((f & PSH) === 0) return 'swap'
  }
  const s = flow.srcPort
  const d = flow.dstPort
  const ss = isServicePort(s)
  const ds = isServicePort(d)
  if (ds && !ss) return 'as-is'
  if (ss && !ds) return 'swap'
  if (ss && ds) return 'unknown'
  const se = s >= EPHEMERAL_FROM
  const de = d >= EPHEMERAL_FROM
  if (se && !de && d > 0) return 'as-is'
  if (de && !se && s > 0) return 'swap'
  return 'unknown'
}

/** The flow with its ends exchanged (addresses, ports, names, labels); counters and times kept. */
export function swapEnds(f: Flow): Flow {
  const { srcName, dstName, srcLabels, dstLabels, ...rest } = f
  return {
    ...rest,
    src: f.dst,
    dst: f.src,
    srcPort: f.dstPort,
    dstPort: f.srcPort,
    ...(dstName !== undefined ? { srcName: dstName } : {}),
    ...(srcName !== undefined ? { dstName: srcName } : {}),
    ...(dstLabels !== undefined ? { srcLabels: dstLabels } : {}),
    ...(srcLabels !== undefined ? { dstLabels: srcLabels } : {}),
  }
}

/**
 * Returns the flow oriented client→server where the evidence is good (see {@link orientation}),
 * with `direction: 'client-to-server'`; otherwise the flow unchanged with `direction: 'unknown'`.
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

/** Default number of unpaired records held by {@link pairDirections}. */
export const PAIR_WINDOW = 10_000

/** Largest gap between the two halves' time intervals that still pairs them, in ms. */
export const PAIR_SLACK_MS = 60_000

/** A direction the record already states wins; otherwise the evidence of {@link orientation}. */
function decide(f: Flow): Orientation {
  if (f.direction === 'client-to-server') return 'as-is'
  if (f.direction === 'server-to-client') return 'swap'
  return orientation(f)
}

function endpointKey(addr: string, port: number): string {
  return `${addr}|${port}`
}

function merge(a: Flow, b: Flow): Flow {
  // a and b are opposite halves; decide the client from the evidence of either half
  const oa = decide(a)
  const ob = decide(b)
  let client: Flow
  let confident = true
  if (oa !== 'unknown') client = oa === 'as-is' ? a : b
  else if (ob !== 'unknown') client = ob === 'as-is' ? b : a
  else {
    client = a
    confident = false
  }
  const server = client === a ? b : a
  const flags =
    a.tcpFlags !== undefined || b.tcpFlags !== undefined
      ? (a.tcpFlags ?? 0) | (b.tcpFlags ?? 0)
      : undefined
  const srcName = client.srcName ?? server.dstName
  const dstName = client.dstName ?? server.srcName
  const srcLabels = client.srcLabels ?? server.dstLabels
  const dstLabels = client.dstLabels ?? server.srcLabels
  const {
    tcpFlags: _f,
    srcName: _sn,
    dstName: _dn,
    srcLabels: _sl,
    dstLabels: _dl,
    ...base
  } = client
  return {
    ...base,
    start: Math.min(a.start, b.start),
    end: Math.max(a.end, b.end),
    packets: a.packets + b.packets,
    bytes: a.bytes + b.bytes,
    direction: confident ? 'client-to-server' : 'unknown',
    ...(flags !== undefined ? { tcpFlags: flags } : {}),
    ...(srcName !== undefined ? { srcName } : {}),
    ...(dstName !== undefined ? { dstName } : {}),
    ...(srcLabels !== undefined ? { srcLabels } : {}),
    ...(dstLabels !== undefined ? { dstLabels } : {}),
  }
}

/**
 * Pairs the two directions of a connection (AWS VPC and Azure emit one record per direction,
 * the reply with swapped addresses and ports) into one client→server flow: packets and bytes
 * summed, `start` the earlier, `end` the later, TCP flags ORed, `source` of the client half.
 *
 * Two records pair when they have the same protocol, swapped endpoints (address and port),
 * the same `observedAction`, and time intervals that overlap or are at most
 * {@link PAIR_SLACK_MS} apart. Unpaired records are oriented with {@link orient}.
 *
 * Bound: at most `window` (default {@link PAIR_WINDOW}) unpaired records are held; when more
 * arrive the oldest is emitted unpaired. So memory is O(window), and a reply more than `window`
 * records after its request is not paired. Output order differs from input order by at most
 * the window. `onPaired` is called once per merged pair (for the run summary's notes).
 * When `flows` throws, the held records are emitted first and then the error is rethrown.
 */
export async function* pairDirections(
  flows: AsyncIterable<Flow>,
  opts: { window?: number; onPaired?: () => void } = {},
): AsyncGenerator<Flow> {
  const window = Math.max(1, opts.window ?? PAIR_WINDOW)
  // key: protocol + endpoint pair in record order
  const pending = new Map<string, Flow>()
  // Insertion order for eviction. `pending.entries().next()` would walk over every deleted
  // entry of V8's ordered hash table, which made eviction O(deletions); a FIFO of keys, skipped
  // lazily when the key was paired or replaced since, keeps it O(1) amortised.
  const order: { key: string; flow: Flow }[] = []
  let head = 0
  let failure: { error: unknown } | undefined
  try {
    for await (const f of flows) {
      const a = endpointKey(f.src, f.srcPort)
      const b = endpointKey(f.dst, f.dstPort)
      const reverseKey = `${f.protocol}|${b}|${a}`
      const other = pending.get(reverseKey)
      if (
        other !== undefined &&
        other.observedAction === f.observedAction &&
        f.start <= other.end + PAIR_SLACK_MS &&
        other.start <= f.end + PAIR_SLACK_MS
      ) {
        pending.delete(reverseKey)
        opts.onPaired?.()
        yield merge(other, f)
        continue
      }
      const key = `${f.protocol}|${a}|${b}`
      const same = pending.get(key)
      if (same !== undefined) {
        pending.delete(key)
        yield orient(same)
      }
      pending.set(key, f)
      order.push({ key, flow: f })
      while (pending.size > window && head < order.length) {
        const oldest = order[head] as { key: string; flow: Flow }
        head++
        if (pending.get(oldest.key) === oldest.flow) {
          pending.delete(oldest.key)
          yield orient(oldest.flow)
        }
      }
      // Compact when most queued keys are stale (paired away), so the queue stays O(window).
      if (order.length - head > 4 * window + 1024) {
        let w = 0
        for (let i = head; i < order.length; i++) {
          const e = order[i] as { key: string; flow: Flow }
          if (pending.get(e.key) === e.flow) order[w++] = e
        }
        order.length = w
        head = 0
      }
    }
  } catch (error) {
    // emit what is held before passing the error on: "after yielding what was read"
    failure = { error }
  }
  for (const f of pending.values()) yield orient(f)
  if (failure) throw failure.error
}
