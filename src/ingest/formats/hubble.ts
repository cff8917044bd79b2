/**
 * @module Cilium Hubble parser: `hubble observe -o jsonpb` (one `GetFlowsResponse` per line, the
 * flow under `flow`) and the older `-o json` (the `Flow` object at top level).
 *
 * @remarks Semantics: Cilium `api/v1/flow/flow.proto` (`Flow`, `Endpoint`, `Layer4`, `Verdict`,
 * `FlowType`, `is_reply`), `api/v1/observer/observer.proto` (`GetFlowsResponse`), and
 * shared/docs/FLOW-FORMATS.md "Cilium Hubble". Proto3 JSON omits zero values: a missing port,
 * ICMP type or code is 0, a missing verdict is `VERDICT_UNKNOWN`. Observation points:
 * flow.proto `TraceObservationPoint` (`TO_OVERLAY` 4 … `TO_ENDPOINT` 101); drop events carry no
 * `is_reply` (cilium `pkg/hubble/parser/threefour/parser.go`, `decodeIsReply`: "for other
 * events, such as drops, we simply do not know if they were replies or not"); a cross-node
 * packet denied at the destination is `FORWARDED` at the source node's `TO_OVERLAY` and
 * `DROPPED` (`POLICY_DENIED`) at the destination node (Cilium docs, "Life of a Packet").
 */
import {
  checkLabelKey,
  checkLabelValue,
  isIcmpReply,
  normalizeIp,
  type Flow,
  type FlowDirection,
  type ObservedAction,
} from '../../core/index.js'
import { mixedFamilies } from '../direction.js'
import { MAX_TIME_MS, parseIsoTime } from '../fields.js'
import { JsonObjectSplitter, type RawRecord } from '../json-objects.js'
import {
  flowGiven,
  flowNote,
  jsonRecord,
  note,
  skip,
  type LineParser,
  type ParseContext,
} from '../types.js'

/**
 * Most (5-tuple, reply, action) keys remembered for de-duplication. Each entry costs about
 * 150 bytes, so the map stays under ~10 MB; when full, the least recently emitted key is
 * forgotten, so a duplicate arriving after 65,536 other connections is emitted again (counted
 * twice, never lost).
 */
export const HUBBLE_DEDUP_MAX_KEYS = 65_536

/** Longest record, in characters (a pretty-printed flow is a few KiB). */
const HUBBLE_MAX_RECORD = 1 << 20

/** Two observations of the same key this close in time (ms) are one connection. */
export const HUBBLE_DEDUP_WINDOW_MS = 1000

const RFC3339_RE = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/

/** `Verdict` enum names by number (flow.proto). */
const VERDICT_NAMES = [
  'VERDICT_UNKNOWN',
  'FORWARDED',
  'DROPPED',
  'ERROR',
  'AUDIT',
  'REDIRECTED',
  'TRACED',
  'TRANSLATED',
]

/**
 * `TraceObservationPoint` names and numbers (flow.proto) on the way to the destination: every
 * known point but `TO_PROXY` (1) and `TO_ENDPOINT` (101), where the packet has reached the L7
 * proxy or the destination endpoint. A packet forwarded at a transit point (the source node's
 * `TO_OVERLAY` into the tunnel, its `TO_STACK` in native routing) can still be dropped by the
 * destination's ingress policy on its own node.
 */
const TRANSIT_POINTS = new Set([
  'TO_HOST',
  'TO_STACK',
  'TO_OVERLAY',
  'FROM_ENDPOINT',
  'FROM_PROXY',
  'FROM_HOST',
  'FROM_STACK',
  'FROM_OVERLAY',
  'FROM_NETWORK',
  'TO_NETWORK',
  'FROM_CRYPTO',
  'TO_CRYPTO',
  2,
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  11,
  12,
  13,
])

/**
 * True for a policy-verdict event (`event_type.type` 5, Cilium's `MessageTypePolicyVerdict`) at
 * egress (`traffic_direction` `EGRESS`, 2 in flow.proto): the source endpoint's egress policy let
 * the packet out (`policy-verdict:L3-L4 EGRESS ALLOWED`), and the destination's ingress policy,
 * on another node, can still drop it, as after a forward at a {@link TRANSIT_POINTS} point. Such
 * events carry no observation point (they are no trace events).
 */
function isEgressPolicyVerdict(f: Readonly<Record<string, unknown>>): boolean {
  const type = f['event_type']
  const direction = f['traffic_direction']
  return (
    typeof type === 'object' &&
    type !== null &&
    (type as Record<string, unknown>)['type'] === 5 &&
    (direction === 'EGRESS' || direction === 2)
  )
}

/** TCP flag bits (RFC 9293 header order). */
const TCP_FLAG_BITS: Readonly<Record<string, number>> = {
  FIN: 1,
  SYN: 2,
  RST: 4,
  PSH: 8,
  ACK: 16,
  URG: 32,
  ECE: 64,
  CWR: 128,
}

/** Label sources that do not describe the workload itself and are dropped. */
const DROPPED_SOURCES = new Set(['reserved', 'cidr', 'fqdn', 'world'])

type Obj = Record<string, unknown>

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined
}

/** A proto3 JSON integer (number, or decimal text for 64-bit values); missing → 0; else NaN. */
function int(v: unknown): number {
  if (v === undefined || v === null) return 0
  if (typeof v === 'number') return Number.isInteger(v) ? v : NaN
  if (typeof v === 'string' && /^\d{1,10}$/.test(v)) return Number(v)
  return NaN
}

/** `verdict` → observed action. `AUDIT` (policy audit mode: would be dropped, was forwarded) is accept. */
function actionOf(verdict: unknown): { action: ObservedAction; audit: boolean } {
  const name =
    typeof verdict === 'number'
      ? VERDICT_NAMES[verdict]
      : typeof verdict === 'string'
        ? verdict.toUpperCase()
        : undefined
  switch (name) {
    case 'FORWARDED':
    case 'REDIRECTED':
    case 'TRANSLATED':
      return { action: 'accept', audit: false }
    case 'AUDIT':
      return { action: 'accept', audit: true }
    case 'DROPPED':
    case 'ERROR':
    case 'DENIED':
      return { action: 'reject', audit: false }
    default:
      return { action: 'unknown', audit: false }
  }
}

/**
 * The workload name of an endpoint: `namespace/name[Kind]` from the first of `workloads`
 * (Cilium ≥ 1.13), else `namespace/pod_name`, else undefined (host, world, remote node).
 */
function nameOf(ep: Obj): string | undefined {
  const ns = str(ep['namespace'])
  const prefix = ns ? `${ns}/` : ''
  const workloads = ep['workloads']
  if (Array.isArray(workloads) && isObj(workloads[0])) {
    const name = str(workloads[0]['name'])
    const kind = str(workloads[0]['kind'])
    if (name) return `${prefix}${name}${kind ? `[${kind}]` : ''}`
  }
  const pod = str(ep['pod_name'])
  return pod ? `${prefix}${pod}` : undefined
}

/**
 * The labels of an endpoint: `source:key=value` entries with the source (`k8s:`, `container:`,
 * `unspec:`) stripped; `reserved:`/`cidr:`/`fqdn:` entries, `io.cilium.*` keys and
 * `io.kubernetes.pod.namespace` dropped; `namespace` added from the endpoint's namespace.
 * Keys or values that are not valid label text are dropped and counted (`dropped-label`).
 */
function labelsOf(ep: Obj, ctx: ParseContext): Record<string, string> | undefined {
  const out: Record<string, string> = {}
  const raw = ep['labels']
  if (Array.isArray(raw)) {
    for (const item of raw) {
      if (typeof item !== 'string') continue
      const colon = item.indexOf(':')
      const eq = item.indexOf('=')
      const hasSource = colon >= 0 && (eq < 0 || colon < eq)
      const source = hasSource ? item.slice(0, colon) : ''
      if (DROPPED_SOURCES.has(source)) continue
      const body = hasSource ? item.slice(colon + 1) : item
      const i = body.indexOf('=')
      const key = i < 0 ? body : body.slice(0, i)
      const value = i < 0 ? '' : body.slice(i + 1)
      if (key.startsWith('io.cilium.') || key === 'io.kubernetes.pod.namespace') continue
      if (checkLabelKey(key) !== undefined || checkLabelValue(value) !== undefined) {
        flowNote(ctx, 'dropped-label')
        continue
      }
      out[key] = value
    }
  }
  const ns = str(ep['namespace'])
  if (ns && checkLabelValue(ns) === undefined) out['namespace'] = ns
  return Object.keys(out).length > 0 ? out : undefined
}

/** `l4` → protocol and ports (ICMP: dstPort = type, srcPort = code). */
function layer4(
  l4: Obj,
): { protocol: number; srcPort: number; dstPort: number; flags?: Obj } | 'none' | 'bad' {
  const ported: [string, number][] = [
    ['TCP', 6],
    ['UDP', 17],
    ['SCTP', 132],
  ]
  for (const [name, protocol] of ported) {
    const p = l4[name]
    if (!isObj(p)) continue
    const srcPort = int(p['source_port'])
    const dstPort = int(p['destination_port'])
    if (!(srcPort >= 0 && srcPort <= 65535 && dstPort >= 0 && dstPort <= 65535)) return 'bad'
    return isObj(p['flags'])
      ? { protocol, srcPort, dstPort, flags: p['flags'] }
      : { protocol, srcPort, dstPort }
  }
  const icmp: [string, number][] = [
    ['ICMPv4', 1],
    ['ICMPv6', 58],
  ]
  for (const [name, protocol] of icmp) {
    const p = l4[name]
    if (!isObj(p)) continue
    const type = int(p['type'])
    const code = int(p['code'])
    if (!(type >= 0 && type <= 255 && code >= 0 && code <= 255)) return 'bad'
    return { protocol, srcPort: code, dstPort: type }
  }
  if (isObj(l4['IGMP'])) return { protocol: 2, srcPort: 0, dstPort: 0 }
  if (isObj(l4['VRRP'])) return { protocol: 112, srcPort: 0, dstPort: 0 }
  return 'none'
}

function tcpFlagsOf(flags: Obj | undefined): number | undefined {
  if (!flags) return undefined
  let bits = 0
  for (const [name, bit] of Object.entries(TCP_FLAG_BITS)) if (flags[name] === true) bits |= bit
  return bits
}

/** Bounded map of recently emitted keys → time (ms), oldest evicted first. */
class RecentKeys {
  private readonly map = new Map<string, number>()
  constructor(private readonly max: number) {}
  /** True when `key` was emitted within the window of `at`. */
  within(key: string, at: number): boolean {
    const last = this.map.get(key)
    return last !== undefined && Math.abs(at - last) <= HUBBLE_DEDUP_WINDOW_MS
  }
  /** The record of `from` becomes that of `to`, at the same time (`from` must be held). */
  move(from: string, to: string): void {
    const at = this.map.get(from)
    if (at === undefined) return
    this.map.delete(from)
    this.add(to, at)
  }
  /** Records `key` as emitted at `at`. */
  add(key: string, at: number): void {
    this.map.delete(key)
    this.map.set(key, at)
    if (this.map.size > this.max) {
      const oldest = this.map.keys().next()
      if (!oldest.done) this.map.delete(oldest.value)
    }
  }
}

/** Bounded set of the most recently added keys, oldest evicted first. */
class RecentSet {
  private readonly set = new Set<string>()
  constructor(private readonly max: number) {}
  has(key: string): boolean {
    return this.set.has(key)
  }
  add(key: string): void {
    this.set.delete(key)
    this.set.add(key)
    if (this.set.size > this.max) {
      const oldest = this.set.values().next()
      if (!oldest.done) this.set.delete(oldest.value)
    }
  }
}

/**
 * Parses Hubble JSON lines into flows.
 *
 * - Line shapes: `{"flow":{…},"node_name":…,"time":…}` (jsonpb `GetFlowsResponse`), or the
 *   `Flow` itself (older `-o json`). `node_status` and `lost_events` responses, and the flow
 *   exporter's `agent_event` and `debug_event` (cilium api/v1/observer/observer.proto,
 *   `ExportEvent`), are counted as notes and not emitted.
 * - `Type` `L7` (or 2) records repeat an L3/L4 flow: when an L3/L4 record of the same
 *   connection (protocol and endpoints, either way round; the last {@link HUBBLE_DEDUP_MAX_KEYS})
 *   came earlier in the file, note `l7`, not emitted; otherwise (an export of L7 events only) the
 *   record is read as a flow like the others. `SOCK` (3) socket
 *   trace events: note `sock-trace`, not emitted. Flows without `IP` (ARP and other non-IP
 *   frames): note `no-ip-layer`, or `ip-not-exported` when the flow has no `Type` either (an
 *   exporter whose `fieldMask` left `IP` out); without a known `l4`: note `no-l4`.
 * - The exporter's aggregated records (`aggregationOptions`: one record with `aggregate` counts of
 *   the events of a window, cilium pkg/hubble/exporter/aggregator.go) are read as one event at
 *   the record's time, noted `aggregated`: the counts are events, not packets or connections.
 * - `IP.source/destination` → src/dst; `l4.TCP|UDP|SCTP` ports; `l4.ICMPv4|ICMPv6` → dstPort =
 *   type, srcPort = code; TCP flags → `tcpFlags`.
 * - `verdict` FORWARDED/REDIRECTED/TRANSLATED → accept; AUDIT → accept (note `audit`);
 *   DROPPED/ERROR/DENIED → reject; anything else → unknown.
 * - `time` (RFC 3339, ns precision) → start = end (ms, rounded as {@link parseIsoTime} does;
 *   an impossible date such as Feb 30 is `bad-timestamp`). Missing: 0, note `no-timestamp`.
 *   Each record is one packet event without byte counts: packets and bytes are 0 (unknown).
 * - `is_reply` true → direction `server-to-client` (the record is the reply half), false →
 *   `client-to-server`, absent → `unknown` (`server-to-client` for an ICMP reply type); the deprecated `reply` is used when `is_reply` is
 *   absent (proto3 JSON omits `reply: false`, so absent stays unknown).
 * - Endpoint names and labels: see {@link nameOf} and {@link labelsOf}.
 * - De-duplication: Hubble reports each packet event at every observation point (source node
 *   egress, destination node ingress, proxy), and a connection's later packets as events of
 *   their own. A record whose (src, dst, ports, protocol, reply flag, observed action) was
 *   emitted less than {@link HUBBLE_DEDUP_WINDOW_MS} earlier or later is not emitted (note
 *   `duplicate-observation`), whichever observation point reported either: the key holds no
 *   observation point, so a second event at the same point is one too (records carry no
 *   counters, so it adds nothing). The action is part of the key so
 *   that a drop is never hidden by a forward. Memory is bounded by {@link HUBBLE_DEDUP_MAX_KEYS}.
 * - Forwarded, then dropped: a packet the source's node forwards (`FORWARDED` at a transit
 *   point, {@link TRANSIT_POINTS}: `TO_OVERLAY` into the tunnel, `TO_STACK`; or allowed by the
 *   source endpoint's egress policy, {@link isEgressPolicyVerdict}) and the
 *   destination's node drops (a `DROPPED` record of the same 5-tuple, such as `POLICY_DENIED` at
 *   its ingress) was never delivered: the forwarded record is not a flow (note
 *   `forwarded-then-dropped`), so a connection the cluster refuses is only rejected records.
 *   An accepted transit record, and every record after it, waits until a record
 *   {@link HUBBLE_DEDUP_WINDOW_MS} later in record time (or the end of the file) comes, so flows
 *   still come out in file order; Hubble Relay merges the nodes' streams in time order (its sort
 *   buffer), so the drop comes within that window. Files of one node each (`hubble observe` per
 *   agent, concatenated) hold the two halves apart: there the forwarded record stays a flow.
 *
 * Skip reasons: `bad-json`, `not-a-flow`, `bad-address`, `mixed-address-families` (an IPv4 and
 * an IPv6 end), `bad-port`, `bad-timestamp`.
 * @throws BulkheadError `ingest/malformed-record` on the first skipped record when `ctx.strict`.
 */
async function* parseHubble(lines: AsyncIterable<string>, ctx: ParseContext): AsyncIterable<Flow> {
  const recent = new RecentKeys(HUBBLE_DEDUP_MAX_KEYS)
  const connections = new RecentSet(HUBBLE_DEDUP_MAX_KEYS)
  // records one per line (`-o json`, `-o jsonpb`) or pretty-printed (`… | jq .`, documentation)
  const ready: RawRecord[] = []
  const splitter = new JsonObjectSplitter(
    HUBBLE_MAX_RECORD,
    (r) => ready.push(r),
    (reason, at, text) => {
      skip(ctx, reason, `${ctx.file}:${String(at)}`, text)
    },
  )
  // records in arrival order, given out once no transit record before them is still waiting
  // (HUBBLE_DEDUP_WINDOW_MS of record time) for a drop at the destination's node
  const queue: Observation[] = []
  let head = 0
  // the latest queued transit record of each 5-tuple (earlier ones linked by `before`)
  const held = new Map<string, Observation>()
  let rawNo = 0
  for await (const raw of lines) {
    rawNo++
    splitter.line(rawNo === 1 ? raw.replace(/^\uFEFF/, '') : raw, rawNo)
    yield* records()
  }
  splitter.end()
  yield* release(Infinity)

  function* records(): Generator<Flow> {
    for (const r of ready.splice(0)) {
      const line = r.text
      const lineNo = r.line
      const where = `${ctx.file}:${String(lineNo)}`
      const obj = jsonRecord(line, ctx, where)
      if (obj === undefined) continue
      let f: Obj
      if (isObj(obj['flow'])) f = obj['flow']
      else if (obj['node_status'] !== undefined) {
        note(ctx, 'node-status')
        continue
      } else if (obj['agent_event'] !== undefined || obj['debug_event'] !== undefined) {
        // the flow exporter's other events (ExportEvent): the agent's (endpoint, policy and
        // service changes) and datapath debug events, no flows
        note(ctx, obj['agent_event'] !== undefined ? 'agent-event' : 'debug-event')
        continue
      } else if (obj['lost_events'] !== undefined) {
        // the events Hubble dropped before they were written: count them, not the line
        const lost = isObj(obj['lost_events']) ? Number(obj['lost_events']['num_events_lost']) : NaN
        note(ctx, 'lost-events', Number.isSafeInteger(lost) && lost > 0 ? lost : 1)
        continue
      } else if ('IP' in obj || 'l4' in obj || 'verdict' in obj || 'Type' in obj) f = obj
      else {
        skip(ctx, 'not-a-flow', where, line)
        continue
      }

      const type = f['Type']
      const l7 = type === 'L7' || type === 2
      if (type === 'SOCK' || type === 3) {
        note(ctx, 'sock-trace')
        continue
      }
      const ip = f['IP']
      if (!isObj(ip)) {
        // every flow Hubble writes has a Type (L3_L4 for ARP too): without both, the exporter's
        // fieldMask left the IP layer out
        note(ctx, l7 ? 'l7' : type === undefined ? 'ip-not-exported' : 'no-ip-layer')
        continue
      }
      const src = typeof ip['source'] === 'string' ? normalizeIp(ip['source']) : undefined
      const dst = typeof ip['destination'] === 'string' ? normalizeIp(ip['destination']) : undefined
      if (!src || !dst) {
        skip(ctx, 'bad-address', where, line)
        continue
      }
      const l4 = isObj(f['l4']) ? layer4(f['l4']) : 'none'
      if (l4 === 'bad') {
        skip(ctx, 'bad-port', where, line)
        continue
      }
      if (l4 === 'none') {
        note(ctx, l7 ? 'l7' : 'no-l4')
        continue
      }
      // skipped here, as reading would skip its flow (direction.ts `checkAddressFamilies`), before
      // its notes (labels, audit) count or it joins de-duplication
      if (mixedFamilies(src, dst)) {
        skip(ctx, 'mixed-address-families', where, line)
        continue
      }
      // an L7 record repeats a connection the L3/L4 records already count; alone (a capture or
      // export of L7 events only) it is the only record of its connection
      const conn =
        src < dst || (src === dst && l4.srcPort <= l4.dstPort)
          ? `${l4.protocol}|${src}|${l4.srcPort}|${dst}|${l4.dstPort}`
          : `${l4.protocol}|${dst}|${l4.dstPort}|${src}|${l4.srcPort}`
      if (l7 && connections.has(conn)) {
        note(ctx, 'l7')
        continue
      }
      if (!l7) connections.add(conn)

      const timeText = f['time'] ?? obj['time']
      let at = 0
      if (timeText === undefined || timeText === null) flowNote(ctx, 'no-timestamp')
      else {
        // as every reader reads ISO times: impossible dates refused, finer than ms rounded
        const ms =
          typeof timeText === 'string' && RFC3339_RE.test(timeText)
            ? (parseIsoTime(timeText.slice(0, 10) + 'T' + timeText.slice(11).toUpperCase()) ?? NaN)
            : NaN
        if (!Number.isFinite(ms) || ms < 0 || ms > MAX_TIME_MS) {
          skip(ctx, 'bad-timestamp', where, line)
          continue
        }
        at = ms
      }

      const isReply =
        typeof f['is_reply'] === 'boolean'
          ? f['is_reply']
          : typeof f['reply'] === 'boolean'
            ? f['reply']
            : undefined
      // without the flag, an ICMP reply type (echo reply) still names the reply half
      const direction: FlowDirection =
        isReply === true || (isReply === undefined && isIcmpReply(l4.protocol, l4.dstPort))
          ? 'server-to-client'
          : isReply === false
            ? 'client-to-server'
            : 'unknown'
      const { action, audit } = actionOf(f['verdict'])

      const tuple = `${src}|${dst}|${l4.srcPort}|${l4.dstPort}|${l4.protocol}`

      const srcEp = isObj(f['source']) ? f['source'] : {}
      const dstEp = isObj(f['destination']) ? f['destination'] : {}
      const srcName = nameOf(srcEp)
      const dstName = nameOf(dstEp)
      const srcLabels = labelsOf(srcEp, ctx)
      const dstLabels = labelsOf(dstEp, ctx)
      const tcpFlags = tcpFlagsOf(l4.flags)
      const flow: Flow = {
        src,
        dst,
        srcPort: l4.srcPort,
        dstPort: l4.dstPort,
        protocol: l4.protocol,
        start: at,
        end: at,
        packets: 0,
        bytes: 0,
        observedAction: action,
        direction,
        source: { format: 'hubble', file: ctx.file, line: lineNo },
        ...(tcpFlags !== undefined ? { tcpFlags } : {}),
        ...(srcName !== undefined ? { srcName } : {}),
        ...(dstName !== undefined ? { dstName } : {}),
        ...(srcLabels !== undefined ? { srcLabels } : {}),
        ...(dstLabels !== undefined ? { dstLabels } : {}),
      }
      // the record's notes ride on its flow: counted when reading gives it out, not for a
      // duplicate or a forwarded record then dropped (types.ts `flowGiven`)
      flowGiven(ctx.stats, flow)
      const transit =
        action === 'accept' &&
        (TRANSIT_POINTS.has(f['trace_observation_point'] as string | number) ||
          isEgressPolicyVerdict(f))
      const last = held.get(tuple)
      const observed: Observation = {
        flow,
        tuple,
        isReply,
        action,
        at,
        audit,
        aggregated: isObj(f['aggregate']),
        transit,
        dropped: false,
        released: false,
        before: transit ? last : undefined,
      }
      // a packet forwarded at a transit point and then dropped at the destination's node
      // within the window was not delivered: its forwarded records are not flows
      if (action === 'reject') {
        for (let o = last; o !== undefined && !o.released; o = o.before) {
          if (o.dropped || Math.abs(at - o.at) > HUBBLE_DEDUP_WINDOW_MS) continue
          o.dropped = true
          note(ctx, 'forwarded-then-dropped')
        }
      }
      // a record with a reply flag lends it to a record of its packet without one still held
      // at a transit point (TO_OVERLAY, where Cilium sets none): the flow given out for the
      // packet takes the direction the flag says, whichever record came first
      if (isReply !== undefined) {
        for (let o = last; o !== undefined && !o.released; o = o.before) {
          if (o.isReply !== undefined || o.dropped || o.action !== action) continue
          if (Math.abs(at - o.at) > HUBBLE_DEDUP_WINDOW_MS) continue
          o.isReply = isReply
          o.flow = { ...o.flow, direction }
          break
        }
      }
      if (transit) held.set(tuple, observed)
      if (head === queue.length && !transit) {
        // nothing waits: the common case, without the queue
        if (admit(observed)) yield flow
        continue
      }
      queue.push(observed)
      for (const out of release(at)) yield out
    }
  }

  /**
   * Gives out queued records in arrival order, up to the first transit record still inside the
   * window of `now` (record time, ms); all of them when `now` is Infinity.
   */
  function release(now: number): Flow[] {
    const out: Flow[] = []
    while (head < queue.length) {
      const o = queue[head] as Observation
      const waiting =
        o.transit &&
        !o.dropped &&
        o.at >= now - HUBBLE_DEDUP_WINDOW_MS &&
        queue.length - head <= HUBBLE_DEDUP_MAX_KEYS
      if (waiting) break
      head++
      // given out in order, so the latest transit record of its tuple is the last to go
      if (o.transit && held.get(o.tuple) === o) held.delete(o.tuple)
      o.released = true
      o.before = undefined
      if (!o.dropped && admit(o)) out.push(o.flow)
    }
    if (head === queue.length) {
      queue.length = 0
      head = 0
    } else if (head > 1024 && head * 2 > queue.length) {
      queue.splice(0, head)
      head = 0
    }
    return out
  }

  /**
   * De-duplicates across observation points: true when the record's flow is to be given out.
   * A record without a reply flag (Cilium sets none where the trace reason is unknown, as at
   * `TO_OVERLAY`) repeats one with either flag, and the first with a flag repeats one without,
   * which takes that flag (a record with the other flag is then the other half of the exchange).
   */
  function admit(o: Observation): boolean {
    const key = (reply: boolean | undefined): string => `${o.tuple}|${String(reply)}|${o.action}`
    let repeats = recent.within(key(o.isReply), o.at)
    if (!repeats && o.isReply === undefined)
      repeats = recent.within(key(false), o.at) || recent.within(key(true), o.at)
    else if (!repeats && recent.within(key(undefined), o.at)) {
      // the record without a flag given out is this one's packet: it takes this flag, so that
      // a record with the other flag is no repeat of it
      recent.move(key(undefined), key(o.isReply))
      repeats = true
    }
    if (repeats) {
      note(ctx, 'duplicate-observation')
      return false
    }
    recent.add(key(o.isReply), o.at)
    if (o.audit) flowNote(ctx, 'audit')
    if (o.aggregated) flowNote(ctx, 'aggregated')
    flowGiven(ctx.stats, o.flow)
    ctx.stats.records++
    return true
  }
}

/** One parsed record waiting for de-duplication (and, at a transit point, for a later drop). */
interface Observation {
  flow: Flow
  /** source and destination addresses and ports, protocol */
  tuple: string
  /** `is_reply` (or the older `reply`), undefined where the record has neither */
  isReply: boolean | undefined
  /** with the tuple and the reply flag, the de-duplication key */
  action: Flow['observedAction']
  /** record time, ms */
  at: number
  audit: boolean
  /** an exporter record standing for several events (`aggregate` counts): noted `aggregated` */
  aggregated: boolean
  /** accepted at a transit point: held for a drop at the destination's node */
  transit: boolean
  /** a drop of the same 5-tuple followed within the window: not a flow */
  dropped: boolean
  /** given out of the queue (as a flow, a duplicate, or not at all when dropped) */
  released: boolean
  /** the transit record of the same 5-tuple queued before this one, while this one is queued */
  before: Observation | undefined
}

/**
 * Confidence that `head` is Hubble JSON: 0.95 when the first complete record (a line, or an
 * object pretty-printed over several) is a JSON object with a `flow` object (or a top-level
 * flow) holding `IP`, `l4` or `verdict` and one of `node_name`, `event_type`, `Type`,
 * `traffic_direction`, `trace_observation_point`, or wrapped with the response's `node_name` or
 * `time`; 0.5 for `node_status` / `lost_events` / `agent_event` / `debug_event` records only (a
 * flow in a later record of the head makes it 0.95); else 0.
 */
function detectHubble(head: Uint8Array): number {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head).replace(/^\uFEFF/, '')
  const lines = text.split('\n')
  const complete = lines.length > 1 ? lines.slice(0, -1) : lines
  // the first records, one per line or pretty-printed
  const records: string[] = []
  const state = { broken: false }
  const splitter = new JsonObjectSplitter(
    HUBBLE_MAX_RECORD,
    (r) => records.push(r.text),
    () => {
      state.broken = true
    },
  )
  for (let i = 0; i < complete.length && records.length < 20 && !state.broken; i++)
    splitter.line(complete[i] ?? '', i + 1)
  if (state.broken && records.length === 0) return 0
  let best = 0
  for (const t of records.slice(0, 20)) {
    if (!t.startsWith('{')) return 0
    let o: unknown
    try {
      o = JSON.parse(t)
    } catch {
      return 0
    }
    if (!isObj(o)) return 0
    const wrapped = isObj(o['flow'])
    const f = wrapped ? (o['flow'] as Obj) : o
    const core = 'IP' in f || 'l4' in f || 'verdict' in f
    const hubbleish =
      'node_name' in f ||
      'event_type' in f ||
      'Type' in f ||
      'traffic_direction' in f ||
      'trace_observation_point' in f ||
      // the GetFlowsResponse around a flow (`-o jsonpb`, the flow exporter), whatever the
      // exporter's field mask kept of the flow
      (wrapped && ('node_name' in o || 'time' in o))
    if (core && hubbleish) return 0.95
    if ('node_status' in o || 'lost_events' in o || 'agent_event' in o || 'debug_event' in o)
      best = 0.5
    else return best
  }
  return best
}

/** The Hubble parser. See {@link parseHubble} for the mapping, notes and skip reasons. */
export const hubbleParser: LineParser = {
  format: 'hubble',
  kind: 'lines',
  detect: detectHubble,
  parse: parseHubble,
}
