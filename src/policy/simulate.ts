/**
 * @module Simulate: replay flows against the policy set and report what it would block, grouped
 * by edge, with rule hit counts, unused and expired rules, and the enforcement mode of each flow.
 *
 * Pure: flows in, a {@link SimulationReport} out. The CLI (`bulkhead simulate`) feeds it flows
 * parsed from files or flow groups aggregated by the store.
 *
 * Semantics (DESIGN.md "Policy language v1" rules 1–5, as the reference `evaluate`):
 * - Rule expiry is judged once, at the instant the {@link PolicyIndex} was built (`--at`, default
 *   now): the question simulate answers is "what would *this* policy, as it stands at that
 *   instant, do to the traffic we saw". Addresses resolve at each flow's own time (`start`), so a
 *   reused IP maps to the workload that held it when the flow happened. Each verdict therefore
 *   equals `evaluate(inventory, policySet, tuple, { now: at, reply })` with `tuple.at = flow.start`.
 * - A flow recorded as a reply (`direction: server-to-client`), or of an ICMP/ICMPv6 reply type
 *   whatever its direction (`judgedAsReply`), is judged as the connection it answers (rule 3):
 *   addresses swapped and its source port (an ICMP reply: the request's type) as the destination
 *   port; it is reported under that connection's edge. Another flow of `unknown` direction is
 *   judged as recorded, and counted.
 * - Outcome (rule 5): a denied flow is `blocked` where the stronger mode of its two sides is
 *   `enforce`, `would-be-blocked` where it is `monitor`, `unenforced` where it is `observe`. A
 *   flow to a multicast group or the broadcast is judged at the ingress of every workload that may
 *   receive it too (every workload holding an address at the flow's time, as the host targets
 *   install it): its mode is the strongest of the sender's and those workloads'
 *   ({@link PolicyIndex.groupReceiversMode}, the reference `groupReceiversMode`). With
 *   `asEnforced`, every workload is taken as `enforce` (unmanaged endpoints have no enforcement
 *   point and stay `observe`), to judge a policy before any mode changes.
 * - Already rejected: a denied flow that its observer recorded as rejected (`observedAction`
 *   `reject`: an AWS security group or NACL, an Azure NSG, a firewall's deny event, a Zeek `REJ`
 *   or unanswered TCP attempt) did not get through before the policy either, so enforcing the
 *   policy breaks nothing there. It is counted in `alreadyRejected`, not in `outcomes`, and its
 *   edge (when all of the edge's denied flows were rejected) has the outcome `already-rejected`,
 *   listed after the others; `wouldBlockIfEnforced` leaves it out. Monitor mode asks what
 *   enforcing would break, and internet scans that security groups refuse are in every AWS flow
 *   log. An allowed flow stays `allowed` whatever its observer recorded.
 * - Time: a flow with no real time (start 0, core `NO_TIME_MS`: Zeek's masked timestamps) is
 *   judged as any other (its addresses resolve at that start), counted in `untimed`, and left out
 *   of the window and the edges' first/last seen (README "bulkhead discover").
 *
 * Speed: each distinct address is resolved to an endpoint class once (per flow time only when a
 * workload holds the address for a bounded time) and verdicts come from
 * {@link PolicyIndex.decideClasses}.
 *
 * Memory: denied edges are rows of typed-array columns (./denied-edges.ts: about 120 bytes per
 * edge with three examples, against 640 when each was an object with its own example objects);
 * their strings and objects are made once, by {@link Simulator.report}, or one edge at a time, as
 * they are written, through {@link Simulator.deniedEdges} (the CLI's output).
 * @remarks Issue 6 item 2.
 */
import {
  entityName,
  formatRuleRef,
  formatService,
  outcomeOf,
  strongerMode,
  BulkheadError,
  type EnforcementMode,
  type Entity,
  type Flow,
  type FlowDirection,
  type FlowSource,
  type Inventory,
  type Outcome,
  type PolicySet,
  type RuleRef,
  type SourceLocation,
  judgedAsReply,
  replyConnectionPort,
  SeenRange,
  Interner,
  type SeenSpan,
} from '../core/index.js'
import { Resolver, type ResolverOptions } from '../inventory/resolver.js'
import { COUNT_KIND, DeniedEdgeTable, type ExampleRow } from './denied-edges.js'
import {
  LINK_CONTROL_CODE,
  RELATED_CODE,
  byOfCode,
  isAllowedCode,
  type PolicyIndex,
} from './policy-index.js'

/**
 * Flows already grouped by the store: all flows with the same addresses, protocol, judged port
 * and direction over a time span in which neither address changes holder. `srcPort` and `dstPort`
 * are as recorded; for a reply only `srcPort` matters, otherwise only `dstPort`.
 */
export interface FlowGroup {
  readonly src: string
  readonly dst: string
  readonly srcPort: number
  readonly dstPort: number
  readonly protocol: number
  readonly direction: FlowDirection
  /** True when the observer recorded every flow of the group as rejected (`observedAction`). */
  readonly rejected?: boolean
  /** How many flows the group holds (≥ 1). */
  readonly count: number
  /**
   * Earliest `start` and latest `end` of the group's flows, ms since the epoch, UTC. A `first` of
   * core `NO_TIME_MS` (0) makes the group one of flows with no real time (Zeek's masked
   * timestamps), left out of every window and first/last seen: a group never mixes the two.
   */
  readonly first: number
  readonly last: number
  /** The time at which addresses are resolved, ms (a `start` of one of the flows). */
  readonly at: number
  /** Up to a few example flows: where each was read from, and its `start`. */
  readonly examples: readonly { readonly source: FlowSource; readonly start: number }[]
}

/** Options of {@link simulate} / {@link Simulator}. */
export interface SimulateOptions {
  /** Take every workload as enforced (`--as-enforced`). Default false. */
  readonly asEnforced?: boolean
  /** Examples kept per edge; default 3. */
  readonly examplesPerEdge?: number
  /**
   * The policy set the index was built from; used only to give each rule its source location in
   * the report.
   */
  readonly policySet?: PolicySet
  /** How unmanaged addresses are grouped into entities for the edges (default: /24, `internet`). */
  readonly grouping?: ResolverOptions
}

/** An endpoint of an edge: the entity's display name and its kind. */
export interface EdgeEndpoint {
  readonly name: string
  /** `workload`, `external` (a named external of the inventory) or `unmanaged` (a range). */
  readonly kind: 'workload' | 'external' | 'unmanaged'
}

/**
 * One example flow of an edge: where it was read from (`file`, `line` or `record`, `format`), its
 * addresses as recorded (a reply's are not swapped) and its `start`, ms since the epoch, UTC.
 * The denied-edge table's {@link ExampleRow}, as it gives them.
 */
export type FlowExample = ExampleRow

/**
 * The outcome of a denied edge: the strongest of its flows' (blocked > would-be-blocked >
 * unenforced), or `already-rejected` when its observer had rejected every one of them.
 */
export type DeniedOutcome = Exclude<Outcome, 'allowed'> | 'already-rejected'

/**
 * Denied flows of one edge (source entity, destination entity, service), in the direction of the
 * connection. `flows` counts records; `outcomes` splits those not already rejected (`allowed` is
 * always 0 here), `alreadyRejected` counts the others.
 */
export interface DeniedEdge {
  readonly src: EdgeEndpoint
  readonly dst: EdgeEndpoint
  /** `tcp/5432`, `icmp/8`, `gre`, `proto/4`. */
  readonly service: string
  readonly protocol: number
  /** The destination port (ICMP type for ICMP) the flows were judged on. */
  readonly port: number
  /** See {@link DeniedOutcome}. */
  readonly outcome: DeniedOutcome
  readonly outcomes: Readonly<Record<Outcome, number>>
  /** Of `flows`, those the observer had already rejected (see the module comment). */
  readonly alreadyRejected: number
  readonly flows: number
  /**
   * Earliest start and latest end of the edge's flows with a real time, ms since the epoch, UTC;
   * absent when all its flows have none (core `hasRealTime`).
   */
  readonly firstSeen?: number
  readonly lastSeen?: number
  /** Of `flows`, those with no real time (start 1970-01-01T00:00:00Z, Zeek's masked timestamps). */
  readonly untimed: number
  /** The deny rules (`policy/id`) or `default-deny` that denied the flows, sorted. */
  readonly deniedBy: readonly string[]
  readonly examples: readonly FlowExample[]
}

/** Hits of one rule: the flows it decided (it was the first matching deny, or else allow). */
export interface RuleHits {
  readonly policy: string
  readonly id: string
  readonly action: 'allow' | 'deny'
  readonly expired: boolean
  readonly hits: number
  readonly location?: SourceLocation
}

/** What {@link simulate} returns. Counts are flow records (a group of n counts n). */
export interface SimulationReport {
  /** The instant rule expiry was judged at (the index's `now`), ms. */
  readonly at: number
  readonly asEnforced: boolean
  /** Flow records judged. */
  readonly flows: number
  /** Distinct (source, destination, protocol, port, direction, time) tuples evaluated. */
  readonly evaluated: number
  /** Flows by outcome, but for `alreadyRejected`: `flows` is their sum plus `alreadyRejected`. */
  readonly outcomes: Readonly<Record<Outcome, number>>
  /** Denied flows the observer had already rejected (see the module comment). */
  readonly alreadyRejected: number
  /**
   * Denied flows with a workload on either side, whatever the modes, but for those already
   * rejected: what `asEnforced` would report as blocked; `simulate --fail-on-block` fails when it
   * is not 0. Denied flows between two unmanaged endpoints have no enforcement point and are not
   * counted.
   */
  readonly wouldBlockIfEnforced: number
  /**
   * Flows their reader marked replies (`direction: server-to-client`), and ICMP/ICMPv6 reply
   * types recorded in another direction, judged as their connection (`judgedAsReply`); records a
   * reader turned round into client-to-server flows are not among them.
   */
  readonly replies: number
  /**
   * Flows allowed as link control (ICMPv6 neighbour and multicast listener discovery, IGMP;
   * `isLinkControl`) whatever the rules; counted in `outcomes.allowed` too.
   */
  readonly linkControl: number
  /**
   * Flows allowed as ICMP error messages (destination unreachable, time exceeded, …,
   * `isIcmpError`), part of the connection they report on, whatever the rules; counted in
   * `outcomes.allowed` too.
   */
  readonly related: number
  /** Flows whose direction was unknown, judged as recorded (an ICMP reply type is a reply). */
  readonly unknownDirection: number
  /** Flows not judged, by reason (`bad-address`: an address that does not parse). */
  readonly skipped: Readonly<Record<string, number>>
  /**
   * Earliest `start` and latest `end` of the judged flows with a real time, ms; undefined when
   * none has one (core {@link SeenRange}).
   */
  readonly window?: SeenSpan
  /**
   * Judged flows with no real time (start 1970-01-01T00:00:00Z, as Zeek's masked timestamps are
   * read): verdicts as any other, left out of `window` and the edges' first/last seen.
   */
  readonly untimed: number
  /**
   * Edges with denied flows, by outcome (blocked first, already rejected last), then flows (most
   * first), then names.
   */
  readonly denied: readonly DeniedEdge[]
  /** Every rule in policy-set order, with its hits (expired rules have 0). */
  readonly rules: readonly RuleHits[]
  /** Live rules that decided no flow, in policy-set order. */
  readonly unused: readonly RuleRef[]
  /** Rules expired at `at`, in policy-set order (they were ignored, rule 4). */
  readonly expired: readonly RuleRef[]
}

/** An address resolved once: its endpoint class and its entity id (for the edge). */
export interface AddressInfo {
  readonly cls: number
  readonly entity: number
}

/**
 * The verdict of one flow, as {@link Simulator.addFlow} gives it (`simulate -o jsonl`): the
 * fields of `eval -o json` that a flow of a log has, in the flow's own orientation. A reply is
 * judged as the connection it answers (DESIGN.md rule 3): `service` is then that connection's,
 * and `srcEntity`/`srcMode` stay the flow's source (the connection's destination).
 */
export interface FlowVerdict {
  readonly decision: 'allowed' | 'denied'
  /**
   * What decided: `rule` (named in `rule`), `default-deny`, or one of the allowances no rule
   * judges: `link-control` (IPv6 neighbour and multicast listener discovery, IGMP) and `related`
   * (an ICMP error message).
   */
  readonly by: 'rule' | ReturnType<typeof byOfCode>
  readonly rule: RuleRef | null
  readonly action: 'allow' | 'deny' | null
  /** The service judged: `tcp/5432`, `icmp/8`; for a reply, its connection's. */
  readonly service: string
  /** True when the flow was judged as the connection it answers. */
  readonly reply: boolean
  readonly srcEntity: EdgeEndpoint
  readonly dstEntity: EdgeEndpoint
  /** The ends' modes (after `asEnforced`). */
  readonly srcMode: EnforcementMode
  readonly dstMode: EnforcementMode
  /**
   * The mode that applies: the stronger of the two ends', and for a flow to a multicast group or
   * the broadcast also its receivers' (see the module comment).
   */
  readonly mode: EnforcementMode
  /**
   * `allowed`, or for a denied flow what {@link mode} does with it (`blocked`,
   * `would-be-blocked`, `unenforced`), or `already-rejected` when its observer had rejected it
   * (counted apart, see the module comment).
   */
  readonly outcome: Outcome | 'already-rejected'
}

function zeroOutcomes(): Record<Outcome, number> {
  return { allowed: 0, blocked: 0, 'would-be-blocked': 0, unenforced: 0 }
}

function endpointOf(e: Entity): EdgeEndpoint {
  return {
    name: entityName(e),
    kind: e.kind === 'workload' ? 'workload' : e.named ? 'external' : 'unmanaged',
  }
}

/** One flow as a group of one ({@link FlowGroup}), its own example. */
function groupOf(flow: Flow): FlowGroup {
  return {
    src: flow.src,
    dst: flow.dst,
    srcPort: flow.srcPort,
    dstPort: flow.dstPort,
    protocol: flow.protocol,
    direction: flow.direction,
    ...(flow.observedAction === 'reject' ? { rejected: true } : {}),
    count: 1,
    first: flow.start,
    last: flow.end,
    at: flow.start,
    examples: [{ source: flow.source, start: flow.start }],
  }
}

function isBadFlow(err: unknown): boolean {
  return err instanceof BulkheadError && err.diagnostics.some((d) => d.code === 'eval/bad-flow')
}

/**
 * A streaming simulation: feed flows or flow groups with {@link add} / {@link addGroup}, then
 * call {@link report}. Not thread-safe; one per run.
 */
export class Simulator {
  private readonly asEnforced: boolean
  /** Example flows kept per denied edge (`examplesPerEdge`, 3 when not given). */
  readonly examplesPerEdge: number
  private readonly resolver: Resolver
  /** Untimed addresses resolved once. */
  private readonly addresses = new Map<string, AddressInfo>()
  private readonly timed = new Map<string, readonly number[]>()
  /** The endpoint of each entity id, beside {@link entityKeys} (kind NUL name → id). */
  private readonly entities: EdgeEndpoint[] = []
  private readonly entityKeys = new Interner()
  /** Per class, see {@link classCode}; −1 until first use. */
  private classModes = new Int8Array(64).fill(-1)
  private readonly hits: Float64Array
  /** Denied edges, in plain columns (no object per edge; see ./denied-edges.ts). */
  private readonly edges: DeniedEdgeTable
  private readonly outcomes = zeroOutcomes()
  private flows = 0
  private evaluated = 0
  private replies = 0
  private linkControl = 0
  private related = 0
  private unknownDirection = 0
  private wouldBlock = 0
  private alreadyRejected = 0
  private readonly skipped: Record<string, number> = {}
  private readonly seen = new SeenRange()

  /**
   * @param index - built for the inventory and policy set at the instant rule expiry is judged.
   * @param inventory - the inventory the index was built from (for the edges' entities).
   * @param at - the `now` the index was built with (ms): the instant rule expiry is judged at,
   *   reported as {@link SimulationReport.at}.
   */
  constructor(
    private readonly index: PolicyIndex,
    inventory: Inventory,
    private readonly at: number,
    private readonly options: SimulateOptions = {},
  ) {
    this.asEnforced = options.asEnforced === true
    this.examplesPerEdge = options.examplesPerEdge ?? 3
    this.edges = new DeniedEdgeTable(this.examplesPerEdge)
    this.resolver = new Resolver(inventory, options.grouping ?? {})
    this.hits = new Float64Array(index.ruleCount)
  }

  /** Judges one flow. Never throws: an address that does not parse is counted in `skipped`. */
  add(flow: Flow): void {
    this.addGroup(groupOf(flow))
  }

  /**
   * Judges one flow as {@link add} does, and returns its verdict; undefined when an address does
   * not parse (counted in `skipped`). Never throws.
   */
  addFlow(flow: Flow): FlowVerdict | undefined {
    const g = groupOf(flow)
    const v = this.judge(g)
    this.record(g, v)
    if (v === undefined) return undefined
    const { code, src, dst, reply } = v
    // the connection's ends, shown the flow's way round
    const s = reply ? dst : src
    const d = reply ? src : dst
    const srcMode = this.modeOf(s.cls)
    const dstMode = this.modeOf(d.cls)
    const rule = code >= 0 ? this.index.ruleAt(code >> 1) : undefined
    const allowed = v.outcome === 'allowed'
    return {
      decision: allowed ? 'allowed' : 'denied',
      by: rule !== undefined ? 'rule' : byOfCode(code),
      rule: rule === undefined ? null : { policy: rule.policy, id: rule.id },
      action: rule === undefined ? null : rule.action,
      service: formatService({ protocol: g.protocol, ports: { lo: v.port, hi: v.port } }),
      reply,
      srcEntity: this.entities[s.entity] as EdgeEndpoint,
      dstEntity: this.entities[d.entity] as EdgeEndpoint,
      srcMode,
      dstMode,
      mode: this.modeAt(src.cls, dst.cls, g.at),
      outcome: !allowed && g.rejected === true ? 'already-rejected' : v.outcome,
    }
  }

  /**
   * Judges a group of flows with one verdict (see {@link FlowGroup}). Never throws: an address
   * that does not parse is counted in `skipped` (`bad-address`).
   */
  addGroup(g: FlowGroup): void {
    this.record(g, this.judge(g))
  }

  /** Counts group `g` under its verdict `v` ({@link judge}; undefined: an address does not parse). */
  private record(g: FlowGroup, v: ReturnType<Simulator['judge']>): void {
    if (v === undefined) {
      this.skipped['bad-address'] = (this.skipped['bad-address'] ?? 0) + g.count
      return
    }
    const { code, outcome, src: s, dst: d, port, reply } = v
    const n = g.count
    this.flows += n
    this.evaluated++
    if (reply) this.replies += n
    else if (g.direction === 'unknown') this.unknownDirection += n
    this.seen.add(g.first, g.last, n)
    if (code >= 0) this.hits[code >> 1] = (this.hits[code >> 1] as number) + n
    else if (code === LINK_CONTROL_CODE) this.linkControl += n
    else if (code === RELATED_CODE) this.related += n
    if (outcome === 'allowed') {
      this.outcomes.allowed += n
      return
    }
    const rejected = g.rejected === true
    if (rejected) this.alreadyRejected += n
    else {
      this.outcomes[outcome] += n
      // a workload on either side, or one that receives the group the flow is sent to
      const dc = this.classCode(d.cls)
      if (
        (this.classCode(s.cls) & WORKLOAD_BIT) !== 0 ||
        (dc & WORKLOAD_BIT) !== 0 ||
        ((dc & GROUP_BIT) !== 0 && this.index.groupReceiversMode(g.at) !== undefined)
      )
        this.wouldBlock += n
    }
    const kind = rejected ? COUNT_KIND.rejected : COUNT_KIND[outcome]
    const edges = this.edges
    // entity ids and services (protocol × 65 536 + port) stay below 2^31
    const e = edges.edge(s.entity, d.entity, g.protocol * 65_536 + port, kind, code >> 1) // -1 (default deny) >> 1 is -1
    edges.addFlows(e, kind, n)
    edges.addSeen(e, g.first, g.last, n)
    edges.addDeniedBy(e, code >> 1)
    // keep the earliest examples, sorted by start, then by place (file, line, record), so that
    // flows of one instant give the same examples in whatever order they are replayed (a file
    // in read order, the store in no order)
    for (const x of g.examples) edges.addExample(e, x.source, x.start, g.src, g.dst)
  }

  /**
   * The verdict of one flow or group, without recording it: the decision code of
   * {@link PolicyIndex.decideClasses} (`2i` allowed by rule i, `2i+1` denied by rule i, `-1`
   * default deny, `LINK_CONTROL_CODE` link control, `RELATED_CODE` an ICMP error), the outcome under the modes (and
   * `asEnforced`), the endpoints' classes and entities, the port judged, and whether the flow was
   * judged as the connection it answers (`reply`, core `judgedAsReply`). Undefined when an address
   * does not parse.
   */
  judge(
    g: Pick<FlowGroup, 'src' | 'dst' | 'srcPort' | 'dstPort' | 'protocol' | 'direction' | 'at'>,
  ):
    | {
        code: number
        outcome: Outcome
        src: AddressInfo
        dst: AddressInfo
        port: number
        reply: boolean
      }
    | undefined {
    const reply = judgedAsReply(g)
    const port = reply ? replyConnectionPort(g.protocol, g.srcPort, g.dstPort) : g.dstPort
    let src: AddressInfo
    let dst: AddressInfo
    try {
      src = this.resolve(reply ? g.dst : g.src, g.at)
      dst = this.resolve(reply ? g.src : g.dst, g.at)
    } catch (err) {
      if (!isBadFlow(err)) throw err
      return undefined
    }
    const code = this.index.decideClasses(src.cls, dst.cls, g.protocol, port)
    const outcome: Outcome = isAllowedCode(code)
      ? 'allowed'
      : outcomeOf('denied', this.modeAt(src.cls, dst.cls, g.at))
    return { code, outcome, src, dst, port, reply }
  }

  /**
   * The mode that applies to a flow of the connection from class `src` to class `dst` at `at`
   * (ms): the stronger of the two ends', and for a packet to a group also its receivers' (every
   * workload that may receive it judges it at its ingress).
   */
  private modeAt(src: number, dst: number, at: number): EnforcementMode {
    const mode = strongerMode(this.modeOf(src), this.modeOf(dst))
    return (this.classCode(dst) & GROUP_BIT) !== 0 && mode !== 'enforce'
      ? strongerMode(mode, this.receiversMode(at))
      : mode
  }

  /** The report of everything added so far: {@link summary} and every {@link deniedEdges} object. */
  report(): SimulationReport {
    const list = this.deniedEdges()
    const denied: DeniedEdge[] = []
    for (let k = 0; k < list.length; k++) denied.push(list.at(k))
    const { rules, unused, expired, ...counts } = this.summary()
    return { ...counts, denied, rules, unused, expired }
  }

  /**
   * The report of everything added so far without its denied edges (see {@link deniedEdges}):
   * the counts, the window, the rule hits, unused and expired rules. Memory does not grow with the
   * denied edges.
   */
  summary(): Omit<SimulationReport, 'denied'> {
    const names = this.ruleNames()
    const locations = new Map<string, SourceLocation>()
    for (const p of this.options.policySet?.policies ?? []) {
      for (const r of p.rules)
        if (r.location) locations.set(formatRuleRef({ policy: p.name, id: r.id }), r.location)
    }
    const expiredSet = new Set(this.index.expiredRules.map(formatRuleRef))
    const rules: RuleHits[] = []
    const unused: RuleRef[] = []
    for (let i = 0; i < this.index.ruleCount; i++) {
      const r = this.index.ruleAt(i)
      const ref = names[i] as string
      const expired = expiredSet.has(ref)
      const hits = this.hits[i] as number
      const loc = locations.get(ref)
      rules.push({
        policy: r.policy,
        id: r.id,
        action: r.action,
        expired,
        hits,
        ...(loc ? { location: loc } : {}),
      })
      if (!expired && hits === 0) unused.push({ policy: r.policy, id: r.id })
    }
    const window = this.seen.span()
    return {
      at: this.at,
      asEnforced: this.asEnforced,
      flows: this.flows,
      evaluated: this.evaluated,
      outcomes: { ...this.outcomes },
      alreadyRejected: this.alreadyRejected,
      wouldBlockIfEnforced: this.wouldBlock,
      replies: this.replies,
      linkControl: this.linkControl,
      related: this.related,
      unknownDirection: this.unknownDirection,
      skipped: { ...this.skipped },
      ...(window ? { window } : {}),
      untimed: this.seen.untimed,
      rules,
      unused,
      expired: [...this.index.expiredRules],
    }
  }

  /**
   * The denied edges of everything added so far, in the report's order (by outcome, blocked
   * first and already rejected last, then flows, most first, then names, protocol and port), each
   * made as a {@link DeniedEdge} object when asked for: what {@link report} lists, without holding
   * an object per edge (the order is one integer per edge). Valid until the next
   * {@link add}/{@link addGroup}.
   */
  deniedEdges(): DeniedEdgeList {
    const edges = this.edges
    const n = edges.size
    const rank = new Int8Array(n)
    const flows = new Float64Array(n)
    for (let e = 0; e < n; e++) {
      const [blocked, wouldBeBlocked, unenforced, alreadyRejected] = edges.counts(e)
      const total = blocked + wouldBeBlocked + unenforced + alreadyRejected
      flows[e] = total
      rank[e] = OUTCOME_CODE[outcomeOfCounts(blocked, wouldBeBlocked, alreadyRejected, total)]
    }
    const entities = this.entities
    // names are compared once per entity, not once per comparison of edges: each entity's place
    // among the names (equal names, equal places), and the sort keys in columns of their own
    const place = this.entityNameRanks()
    const srcRank = new Int32Array(n)
    const dstRank = new Int32Array(n)
    const service = new Int32Array(n)
    for (let e = 0; e < n; e++) {
      srcRank[e] = place[edges.src(e)] as number
      dstRank[e] = place[edges.dst(e)] as number
      service[e] = edges.service(e)
    }
    const order = new Int32Array(n)
    for (let e = 0; e < n; e++) order[e] = e
    order.sort(
      (a, b) =>
        (rank[b] as number) - (rank[a] as number) ||
        (flows[b] as number) - (flows[a] as number) ||
        (srcRank[a] as number) - (srcRank[b] as number) ||
        (dstRank[a] as number) - (dstRank[b] as number) ||
        ((service[a] as number) >>> 16) - ((service[b] as number) >>> 16) ||
        ((service[a] as number) & 0xffff) - ((service[b] as number) & 0xffff) ||
        a - b, // as a stable sort of the edges in table order leaves them
    )
    const names = this.ruleNames()
    // one string per service and one `deniedBy` array per single rule, shared by their edges
    const services = new Map<number, string>()
    const single = new Map<number, readonly string[]>()
    const at = (k: number): DeniedEdge => {
      const e = order[k]
      if (e === undefined) throw new RangeError(`no denied edge ${k} of ${n}`)
      const [blocked, wouldBeBlocked, unenforced, alreadyRejected] = edges.counts(e)
      const flows = blocked + wouldBeBlocked + unenforced + alreadyRejected
      const outcome = outcomeOfCounts(blocked, wouldBeBlocked, alreadyRejected, flows)
      const key = edges.service(e)
      const protocol = key >>> 16
      const port = key & 0xffff
      let service = services.get(key)
      if (service === undefined) {
        service = formatService({ protocol, ports: { lo: port, hi: port } })
        services.set(key, service)
      }
      const seen = edges.seen(e)
      const by = edges.rules(e)
      let deniedBy: readonly string[] | undefined
      if (by.length === 1) deniedBy = single.get(by[0] as number)
      if (deniedBy === undefined) {
        deniedBy = by.map((i) => (i < 0 ? 'default-deny' : (names[i] as string))).sort()
        if (by.length === 1) single.set(by[0] as number, deniedBy)
      }
      const src = entities[edges.src(e)] as EdgeEndpoint
      const dst = entities[edges.dst(e)] as EdgeEndpoint
      const outcomes = { allowed: 0, blocked, 'would-be-blocked': wouldBeBlocked, unenforced }
      const { untimed } = seen
      const examples = edges.examples(e)
      // one plain object literal per shape: a spread makes larger, slower objects
      return seen.first <= seen.last
        ? {
            src,
            dst,
            service,
            protocol,
            port,
            outcome,
            outcomes,
            alreadyRejected,
            flows,
            firstSeen: seen.first,
            lastSeen: seen.last,
            untimed,
            deniedBy,
            examples,
          }
        : {
            src,
            dst,
            service,
            protocol,
            port,
            outcome,
            outcomes,
            alreadyRejected,
            flows,
            untimed,
            deniedBy,
            examples,
          }
    }
    return { length: n, at }
  }

  /**
   * Each entity id's place among the entities' names in {@link cmp} order (UTF-16 code units),
   * equal names in the same place: comparing two places compares the two names.
   */
  private entityNameRanks(): Int32Array {
    const entities = this.entities
    const name = (id: number): string => (entities[id] as EdgeEndpoint).name
    const ids = Int32Array.from(entities.keys()).sort((a, b) => cmp(name(a), name(b)))
    const ranks = new Int32Array(entities.length)
    let place = 0
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k] as number
      if (k > 0 && name(ids[k - 1] as number) !== name(id)) place = k
      ranks[id] = place
    }
    return ranks
  }

  /** `policy/id` of every rule index. */
  private ruleNames(): string[] {
    const names: string[] = []
    for (let i = 0; i < this.index.ruleCount; i++) names.push(formatRuleRef(this.index.ruleAt(i)))
    return names
  }

  private resolve(ip: string, at: number): AddressInfo {
    const known = this.addresses.get(ip)
    if (known !== undefined) return known
    let changes = this.timed.get(ip)
    if (changes === undefined) {
      changes = this.index.addressChanges(ip)
      this.timed.set(ip, changes)
    }
    const cls = this.index.endpointClass(ip, at) // throws eval/bad-flow
    const info: AddressInfo = { cls, entity: this.entityId(this.resolver.resolve(ip, at)) }
    if (changes.length === 0) this.addresses.set(ip, info)
    return info
  }

  private entityId(e: Entity): number {
    const ep = endpointOf(e)
    const id = this.entityKeys.id(`${ep.kind}\u0000${ep.name}`)
    // ids are dense from 0: a new key's id is the next index of `entities`
    if (id === this.entities.length) this.entities.push(ep)
    return id
  }

  /**
   * Per class, cached: its effective mode index (after `asEnforced`: 0 observe, 1 monitor, 2
   * enforce), plus {@link WORKLOAD_BIT} when it is a workload and {@link GROUP_BIT} when it is a
   * multicast group or the broadcast.
   */
  private classCode(cls: number): number {
    if (cls >= this.classModes.length) {
      const grown = new Int8Array(Math.max(cls + 1, this.classModes.length * 2)).fill(-1)
      grown.set(this.classModes)
      this.classModes = grown
    }
    let m = this.classModes[cls] as number
    if (m < 0) {
      const info = this.index.endpointClassInfo(cls)
      const mode = this.asEnforced && info.workload ? 'enforce' : info.mode
      m = MODES.indexOf(mode) | (info.workload ? WORKLOAD_BIT : 0) | (info.group ? GROUP_BIT : 0)
      this.classModes[cls] = m
    }
    return m
  }

  private modeOf(cls: number): EnforcementMode {
    return MODES[this.classCode(cls) & MODE_MASK] as EnforcementMode
  }

  /** The strongest mode of the receivers of a group at `at` (ms), after `asEnforced`. */
  private receiversMode(at: number): EnforcementMode {
    const m = this.index.groupReceiversMode(at)
    if (m === undefined) return 'observe'
    return this.asEnforced ? 'enforce' : m
  }
}

const MODES: readonly EnforcementMode[] = ['observe', 'monitor', 'enforce']
/** {@link Simulator.classCode} bits: the mode index, a workload, a group. */
const MODE_MASK = 3
const WORKLOAD_BIT = 4
const GROUP_BIT = 8

/**
 * The denied edges of a {@link Simulator}, in the report's order ({@link Simulator.deniedEdges}):
 * `at(k)` makes the k-th edge's object, 0 ≤ k < `length`.
 */
export interface DeniedEdgeList {
  readonly length: number
  /** @throws RangeError when `k` is not below `length`. */
  at(k: number): DeniedEdge
}

/** Sort rank of an edge's outcome: higher first (blocked first, already rejected last). */
const OUTCOME_CODE: Record<DeniedOutcome, number> = {
  blocked: 3,
  'would-be-blocked': 2,
  unenforced: 1,
  'already-rejected': 0,
}

/** A denied edge's outcome from its counts (see {@link DeniedOutcome}). */
function outcomeOfCounts(
  blocked: number,
  wouldBeBlocked: number,
  alreadyRejected: number,
  flows: number,
): DeniedOutcome {
  return blocked > 0
    ? 'blocked'
    : wouldBeBlocked > 0
      ? 'would-be-blocked'
      : alreadyRejected === flows
        ? 'already-rejected'
        : 'unenforced'
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * Simulates `flows` (or flow groups) against the policy of `index` (see the module comment for
 * the semantics).
 * @param index - built with `PolicyIndex.build(inventory, policySet, at)`.
 * @param inventory - the same inventory (entities of the edges).
 * @param at - the `now` the index was built with (ms); reported as the expiry instant.
 * @throws never for bad input: flows with unparseable addresses are counted in `skipped`.
 */
export function simulate(
  index: PolicyIndex,
  inventory: Inventory,
  at: number,
  flows: Iterable<Flow | FlowGroup>,
  options: SimulateOptions = {},
): SimulationReport {
  const sim = new Simulator(index, inventory, at, options)
  for (const f of flows) {
    if ('count' in f) sim.addGroup(f)
    else sim.add(f)
  }
  return sim.report()
}
