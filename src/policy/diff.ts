/**
 * @module Policy diff: what changes between two policy sets over one inventory — rules added,
 * removed and changed, connlist lines added and removed, and the observed flows whose verdict
 * changes, grouped by edge. Pure: flows come in through {@link FlowDiffer.add}; no I/O.
 * @remarks Semantics: DESIGN.md "The command line" (`diff OLD NEW`, `--fail-on-impact`) and
 * "Policy language v1" (verdicts as {@link evaluate} computes them, via {@link PolicyIndex}).
 */
import {
  entityName,
  formatService,
  selectorKey,
  ServiceSet,
  type Cidr,
  type DecidedBy,
  type Flow,
  type FlowTuple,
  type Inventory,
  type Outcome,
  type Policy,
  type PolicySet,
  type Rule,
  type Selector,
  type SourceLocation,
  replyConnectionPort,
  SeenRange,
} from '../core/index.js'
import { Resolver } from '../inventory/resolver.js'
import {
  connlist,
  connlistEntities,
  connlistRows,
  policyBlocks,
  type ConnlistRow,
} from './connlist.js'
import { PolicyIndex } from './policy-index.js'

/** The fields of a rule compared by {@link diffRules}; `scope` is the policy's scope. */
export type RuleField =
  | 'action'
  | 'from'
  | 'to'
  | 'services'
  | 'owner'
  | 'reason'
  | 'evidence'
  | 'expires'
  | 'emergency'
  | 'scope'

/** A rule as the diff shows it: selectors and services as text. */
export interface RuleSummary {
  readonly action: 'allow' | 'deny'
  readonly from: readonly string[]
  readonly to: readonly string[]
  readonly services: readonly string[]
  readonly owner: string
  readonly reason?: string
  /** ISO-8601 instant from which the rule no longer applies. */
  readonly expires?: string
  readonly location?: SourceLocation
}

/** One rule added, removed or changed, keyed by (policy name, rule id). */
export interface RuleChange {
  readonly kind: 'added' | 'removed' | 'changed'
  readonly policy: string
  readonly id: string
  /** For `changed`: the fields that differ, in {@link RuleField} order; empty otherwise. */
  readonly fields: readonly RuleField[]
  readonly old?: RuleSummary
  readonly new?: RuleSummary
}

/**
 * A connlist line that appears or disappears, with the rule behind the change, so that a report
 * (SARIF) can point at it.
 */
export interface ConnlistLineChange extends ConnlistRow {
  /**
   * `policy/id` of the rule that decides one sample connection of the change (a service the line
   * gains or loses, between addresses of the two ends): for an added line the NEW rule that allows
   * it; for a removed line the NEW deny rule that now blocks it, else the OLD rule that allowed it;
   * for a removed line that loses nothing (its pair only gained services, so the line was
   * rewritten), the NEW rule that allows what the pair gained; for an added line that gains
   * nothing, of the NEW rules that allow it preferably the one that allowed what the pair lost.
   * Absent when the sample is denied by default in NEW and was not allowed by a rule in OLD (cannot
   * happen for a real change) or the ends have no addresses.
   */
  readonly by?: string
}

/** Connlist lines that appear (`added`) or disappear (`removed`), sorted as connlist sorts. */
export interface ConnlistChange {
  readonly added: readonly ConnlistLineChange[]
  readonly removed: readonly ConnlistLineChange[]
}

/** A verdict as the diff shows it. */
export interface DiffVerdict {
  readonly decision: 'allowed' | 'denied'
  /** `policy/id` of the deciding rule, `default-deny`, `link-control` or `related`. */
  readonly by: string
  readonly outcome: Outcome
}

/**
 * Observed flows of one edge (source entity, destination entity, protocol, destination port)
 * whose verdict changes the same way. `change` is `blocked` for allowed → denied and `allowed`
 * for denied → allowed. The entities are those of discover and simulate (DESIGN.md "edge",
 * "entity"): a workload, a named external, an unmanaged private range (/24, /64) or `internet`
 * for every unmanaged public address, so many internet clients make one edge. Times are ms
 * since the epoch, UTC: the earliest start and the latest end of the edge's flows with a real
 * time, as simulate and discover give them.
 */
export interface EdgeChange {
  readonly change: 'blocked' | 'allowed'
  readonly src: string
  readonly dst: string
  readonly protocol: number
  readonly dstPort: number
  /** `tcp/443`. */
  readonly service: string
  readonly flows: number
  /** Absent when every flow of the edge has no real time (core `hasRealTime`). */
  readonly firstSeen?: number
  readonly lastSeen?: number
  /** Of `flows`, those with no real time (start 1970-01-01T00:00:00Z, Zeek's masked timestamps). */
  readonly untimed: number
  /**
   * Of `flows`, those the observer recorded as rejected (`observedAction` `reject`: a security
   * group, an NSG, a firewall's deny). On a `blocked` edge they are not in
   * {@link FlowDiff.newlyBlocked}: enforcing NEW changes nothing for them (simulate's "already
   * rejected where observed"); on an `allowed` edge something other than the policy refused them.
   */
  readonly alreadyRejected: number
  readonly old: DiffVerdict
  readonly new: DiffVerdict
}

/** The flow part of a diff. */
export interface FlowDiff {
  /** Flows judged. */
  readonly flows: number
  /** Flows skipped because an address does not parse. */
  readonly skipped: number
  /** Of `flows`, those with no real time: judged, with no first/last seen. */
  readonly untimed: number
  /**
   * Stored flows with no real time left out of a replay windowed by `--since`/`--until` (no
   * window can place them); absent when the replay had no window.
   */
  readonly untimedLeftOut?: number
  /**
   * Flows allowed under OLD and denied under NEW that their observer did not reject: the impact
   * `--fail-on-impact` looks for.
   */
  readonly newlyBlocked: number
  /** Flows allowed under OLD and denied under NEW that their observer had already rejected. */
  readonly alreadyRejected: number
  /** Flows denied under OLD and allowed under NEW (whatever their observer recorded). */
  readonly newlyAllowed: number
  /**
   * Newly blocked edges first (those of already-rejected flows only after the others), then
   * by flow count (descending), then by names.
   */
  readonly edges: readonly EdgeChange[]
}

/** A whole diff. `flows` is absent when no flows were given. `diff -o json` prints it with times as instants (the CLI's `DiffOutput`). */
export interface PolicyDiff {
  /** ISO-8601 instant at which expiry and address holding were judged. */
  readonly at: string
  readonly rules: readonly RuleChange[]
  readonly connlist: ConnlistChange
  readonly flows?: FlowDiff
}

function stable(v: unknown): string {
  return JSON.stringify(v, (k, x: unknown) =>
    k === 'location' ? undefined : typeof x === 'bigint' ? x.toString() : x,
  )
}

const selText = (s: Selector): string => selectorKey(s)

function summary(p: Policy, r: Rule): RuleSummary {
  return {
    action: r.action,
    from: r.from.map(selText),
    to: r.to.map(selText),
    services: r.services.map(formatService),
    owner: r.owner ?? p.owner,
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
    ...(r.expires !== undefined ? { expires: new Date(r.expires).toISOString() } : {}),
    ...(r.location ? { location: r.location } : {}),
  }
}

function changedFields(op: Policy, o: Rule, np: Policy, n: Rule): RuleField[] {
  const sels = (xs: readonly Selector[]): string => stable(xs.map(stable).sort())
  const svcs = (r: Rule): string => ServiceSet.of(r.services).toString()
  const checks: [RuleField, boolean][] = [
    ['action', o.action !== n.action],
    ['from', sels(o.from) !== sels(n.from)],
    ['to', sels(o.to) !== sels(n.to)],
    ['services', svcs(o) !== svcs(n)],
    ['owner', (o.owner ?? op.owner) !== (n.owner ?? np.owner)],
    ['reason', o.reason !== n.reason],
    ['evidence', stable(o.evidence ?? null) !== stable(n.evidence ?? null)],
    ['expires', o.expires !== n.expires],
    ['emergency', o.emergency !== n.emergency],
    ['scope', stable(op.scope) !== stable(np.scope)],
  ]
  return checks.filter(([, differs]) => differs).map(([f]) => f)
}

/**
 * Rules added, removed and changed between two policy sets, matched by (policy name, rule id).
 * A rule is changed when any {@link RuleField} differs: selectors are compared as sets, services
 * as the set of (protocol, port) they cover, the owner as the rule's effective owner, and `scope`
 * when its policy's scope differs. Sorted by policy, then id.
 */
export function diffRules(oldSet: PolicySet, newSet: PolicySet): RuleChange[] {
  const index = (set: PolicySet): Map<string, [Policy, Rule]> => {
    const m = new Map<string, [Policy, Rule]>()
    for (const p of set.policies)
      for (const r of p.rules) m.set(JSON.stringify([p.name, r.id]), [p, r])
    return m
  }
  const olds = index(oldSet)
  const news = index(newSet)
  const out: RuleChange[] = []
  for (const key of new Set([...olds.keys(), ...news.keys()])) {
    const [policy, id] = JSON.parse(key) as [string, string]
    const o = olds.get(key)
    const n = news.get(key)
    if (o && !n) out.push({ kind: 'removed', policy, id, fields: [], old: summary(...o) })
    else if (!o && n) out.push({ kind: 'added', policy, id, fields: [], new: summary(...n) })
    else if (o && n) {
      const fields = changedFields(o[0], o[1], n[0], n[1])
      if (fields.length > 0) {
        out.push({ kind: 'changed', policy, id, fields, old: summary(...o), new: summary(...n) })
      }
    }
  }
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
  return out.sort((a, b) => cmp(a.policy, b.policy) || cmp(a.id, b.id))
}

/**
 * Connlist lines that appear and disappear. Both connlists split the unmanaged address space at
 * the blocks of both policy sets, so a change of split alone shows no line; a pair whose
 * services change shows as one line removed and one added. Each line carries the rule behind it
 * ({@link ConnlistLineChange.by}).
 */
export function diffConnlist(
  inventory: Inventory,
  oldSet: PolicySet,
  newSet: PolicySet,
  options: { readonly now: Date },
): ConnlistChange {
  const splitBy: Cidr[] = [
    ...policyBlocks(oldSet, options.now),
    ...policyBlocks(newSet, options.now),
  ]
  const at = options.now.getTime()
  const side = (set: PolicySet) => {
    const index = PolicyIndex.build(inventory, set, at)
    const conns = connlist(inventory, set, { now: options.now, splitBy, index })
    const rows = new Map<string, ConnlistRow>(
      connlistRows(conns).map((r) => [`${r.src}\u0000${r.dst}\u0000${r.conn}`, r]),
    )
    const services = new Map<string, ServiceSet>(
      conns.map((c) => [`${c.src}\u0000${c.dst}`, c.services]),
    )
    return { set, rows, services, index }
  }
  const o = side(oldSet)
  const n = side(newSet)
  const changed = (from: typeof o, to: typeof o): ConnlistRow[] =>
    [...from.rows].filter(([k]) => !to.rows.has(k)).map(([, r]) => r)
  const added = changed(n, o)
  const removed = changed(o, n)
  if (added.length + removed.length === 0) return { added: [], removed: [] }
  // the rule behind each line: judge one sample connection of what the line gains or loses
  const oldIndex = o.index
  const newIndex = n.index
  const addresses = new Map<string, readonly string[]>()
  for (const set of [oldSet, newSet]) {
    for (const e of connlistEntities(inventory, set, { now: options.now, splitBy }))
      if (!addresses.has(e.name)) addresses.set(e.name, e.addresses)
  }
  const ruleOf = (by: DecidedBy, action: 'allow' | 'deny'): string | undefined =>
    typeof by !== 'string' && by.action === action ? byText(by) : undefined
  /** The first rule `judge` names for a sample connection of `services` between the line's ends. */
  const sampleRule = (
    r: ConnlistRow,
    services: ServiceSet,
    judge: (tuple: FlowTuple) => string | undefined,
  ): string | undefined => {
    const samples = [...serviceSamples(services)]
    for (const src of (addresses.get(r.src) ?? []).slice(0, SAMPLE_ADDRESSES)) {
      for (const dst of (addresses.get(r.dst) ?? []).slice(0, SAMPLE_ADDRESSES)) {
        if (src.includes(':') !== dst.includes(':')) continue
        for (const [protocol, dstPort] of samples) {
          const by = judge({ src, dst, protocol, dstPort, at })
          if (by !== undefined) return by
        }
      }
    }
    return undefined
  }
  const newAllow = (t: FlowTuple): string | undefined => ruleOf(newIndex.evaluate(t).by, 'allow')
  const oldAllow = (t: FlowTuple): string | undefined => ruleOf(oldIndex.evaluate(t).by, 'allow')
  const attribute = (r: ConnlistRow, gained: boolean): ConnlistLineChange => {
    const [mine, other] = gained ? [n, o] : [o, n]
    const pair = `${r.src}\u0000${r.dst}`
    const all = mine.services.get(pair) ?? ServiceSet.EMPTY
    const theirs = other.services.get(pair) ?? ServiceSet.EMPTY
    const delta = all.subtract(theirs)
    const reverse = theirs.subtract(all)
    let by: string | undefined
    if (!delta.isEmpty) {
      // what the line gains (added) or loses (removed)
      by = gained
        ? sampleRule(r, delta, newAllow)
        : sampleRule(r, delta, (t) => ruleOf(newIndex.evaluate(t).by, 'deny') ?? oldAllow(t))
    } else if (!gained) {
      // A removed line that loses nothing was rewritten because its pair gained services: the
      // NEW rule that allows the gain, not whichever OLD rule allows its first service.
      by = sampleRule(r, reverse, newAllow)
    } else {
      // An added line that gains nothing (its pair only lost services) names a NEW rule that
      // allows what stays: of several, the one that allowed what was lost (the rule narrowed).
      const narrowed = reverse.isEmpty ? undefined : sampleRule(r, reverse, oldAllow)
      if (narrowed !== undefined)
        by = sampleRule(r, all, (t) => (newAllow(t) === narrowed ? narrowed : undefined))
    }
    by ??= sampleRule(r, all, gained ? newAllow : oldAllow)
    return by === undefined ? r : { ...r, by }
  }
  return {
    added: added.map((r) => attribute(r, true)),
    removed: removed.map((r) => attribute(r, false)),
  }
}

/** Addresses of each end tried when looking for the rule behind a connlist line. */
const SAMPLE_ADDRESSES = 8

/**
 * A few (protocol, port) samples of a service set: the first port of each explicit range, then,
 * for a set that also holds unlisted protocols, a protocol number no rule names.
 */
function* serviceSamples(set: ServiceSet): Generator<readonly [number, number]> {
  for (const svc of set.toServices()) {
    if (svc.protocol !== 'any') {
      const port = svc.ports.lo
      if (set.has(svc.protocol, port)) yield [svc.protocol, port]
    }
  }
  for (const [protocol, port] of [
    [253, 0],
    [6, 1],
    [17, 1],
  ] as const)
    if (set.has(protocol, port)) yield [protocol, port]
}

function byText(by: DecidedBy): string {
  return typeof by === 'string' ? by : `${by.rule.policy}/${by.rule.id}`
}

/**
 * Accumulates the flows whose verdict changes between two policy sets. Each flow is judged as
 * {@link PolicyIndex.evaluate} judges it, at the flow's `start` (which workload holds an
 * address); a flow whose `direction` is `server-to-client` is judged as the connection it
 * answers (rule 3). Rule expiry is judged at `now` for both sets. Memory: one entry per
 * changed edge.
 */
export class FlowDiffer {
  private readonly oldIndex: PolicyIndex
  private readonly newIndex: PolicyIndex
  private readonly resolver: Resolver
  private readonly edges = new Map<string, ChangedEdge>()
  private readonly seen = new SeenRange()
  private flows = 0
  private skipped = 0
  private blocked = 0
  private alreadyRejected = 0
  private allowed = 0

  constructor(
    inventory: Inventory,
    oldSet: PolicySet,
    newSet: PolicySet,
    options: { readonly now: Date },
  ) {
    this.oldIndex = PolicyIndex.build(inventory, oldSet, options.now.getTime())
    this.newIndex = PolicyIndex.build(inventory, newSet, options.now.getTime())
    this.resolver = new Resolver(inventory)
  }

  /** Judges one flow under both policy sets. Never throws: a flow with a bad address is counted in `skipped`. */
  add(flow: Flow): void {
    const reply = flow.direction === 'server-to-client'
    const tuple = {
      src: flow.src,
      dst: flow.dst,
      protocol: flow.protocol,
      dstPort: flow.dstPort,
      srcPort: flow.srcPort,
      at: flow.start,
    }
    let o: ReturnType<PolicyIndex['evaluate']>
    let n: ReturnType<PolicyIndex['evaluate']>
    try {
      o = this.oldIndex.evaluate(tuple, reply)
      n = this.newIndex.evaluate(tuple, reply)
    } catch {
      this.skipped++
      return
    }
    this.flows++
    this.seen.add(flow.start, flow.end)
    if (o.decision === n.decision) return
    const change = n.decision === 'denied' ? 'blocked' : 'allowed'
    const rejected = flow.observedAction === 'reject'
    if (change === 'allowed') this.allowed++
    else if (rejected) this.alreadyRejected++
    else this.blocked++
    const port = reply
      ? replyConnectionPort(flow.protocol, flow.srcPort, flow.dstPort)
      : flow.dstPort
    // the connection's ends as discover and simulate name them: the client of a reply is its dst
    const src = entityName(this.resolver.resolve(reply ? flow.dst : flow.src, flow.start))
    const dst = entityName(this.resolver.resolve(reply ? flow.src : flow.dst, flow.start))
    const oldV: DiffVerdict = { decision: o.decision, by: byText(o.by), outcome: o.outcome }
    const newV: DiffVerdict = { decision: n.decision, by: byText(n.by), outcome: n.outcome }
    const key = JSON.stringify([change, src, dst, flow.protocol, port, oldV.by, newV.by])
    let e = this.edges.get(key)
    if (e === undefined) {
      e = {
        edge: {
          change,
          src,
          dst,
          protocol: flow.protocol,
          dstPort: port,
          service: formatService({ protocol: flow.protocol, ports: { lo: port, hi: port } }),
          old: oldV,
          new: newV,
        },
        flows: 0,
        rejected: 0,
        seen: new SeenRange(),
      }
      this.edges.set(key, e)
    }
    e.flows++
    if (rejected) e.rejected++
    e.seen.add(flow.start, flow.end)
  }

  /** The result so far. */
  result(): FlowDiff {
    const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
    // blocked, blocked but already rejected, allowed
    const rank = (e: EdgeChange): number =>
      e.change === 'allowed' ? 2 : onlyAlreadyRejected(e) ? 1 : 0
    const edges = [...this.edges.values()]
      .map(edgeChange)
      .sort(
        (a, b) =>
          rank(a) - rank(b) ||
          b.flows - a.flows ||
          cmp(a.src, b.src) ||
          cmp(a.dst, b.dst) ||
          a.protocol - b.protocol ||
          a.dstPort - b.dstPort,
      )
    return {
      flows: this.flows,
      skipped: this.skipped,
      untimed: this.seen.untimed,
      newlyBlocked: this.blocked,
      alreadyRejected: this.alreadyRejected,
      newlyAllowed: this.allowed,
      edges,
    }
  }
}

/**
 * True when every flow of a newly denied edge had been rejected by its observer: enforcing NEW
 * changes nothing there (no impact; SARIF `diff/flow-already-rejected`).
 */
export function onlyAlreadyRejected(e: EdgeChange): boolean {
  return e.change === 'blocked' && e.alreadyRejected === e.flows
}

/** A changed edge while flows are added: its fixed part, its count and when it was seen. */
interface ChangedEdge {
  readonly edge: Omit<
    EdgeChange,
    'flows' | 'firstSeen' | 'lastSeen' | 'untimed' | 'alreadyRejected'
  >
  flows: number
  rejected: number
  readonly seen: SeenRange
}

function edgeChange(e: ChangedEdge): EdgeChange {
  const span = e.seen.span()
  const { old, new: now, ...where } = e.edge
  return {
    ...where,
    flows: e.flows,
    ...(span ? { firstSeen: span.first, lastSeen: span.last } : {}),
    untimed: e.seen.untimed,
    alreadyRejected: e.rejected,
    old,
    new: now,
  }
}

/**
 * The rule and connectivity parts of a diff (add `flows` from a {@link FlowDiffer}).
 * @param now - judges rule expiry and which addresses workloads hold.
 */
export function diffPolicies(
  inventory: Inventory,
  oldSet: PolicySet,
  newSet: PolicySet,
  options: { readonly now: Date },
): PolicyDiff {
  return {
    at: options.now.toISOString(),
    rules: diffRules(oldSet, newSet),
    connlist: diffConnlist(inventory, oldSet, newSet, options),
  }
}

/**
 * True when an observed flow allowed under OLD is denied under NEW and its observer had not
 * already rejected it (`--fail-on-impact`).
 */
export function hasImpact(diff: PolicyDiff): boolean {
  return (diff.flows?.newlyBlocked ?? 0) > 0
}

/** Where each rule of a policy set is, by `policy/id` (for SARIF locations). */
export function ruleLocations(set: PolicySet): Map<string, SourceLocation> {
  const m = new Map<string, SourceLocation>()
  for (const p of set.policies) {
    for (const r of p.rules) {
      const loc = r.location ?? p.location
      if (loc) m.set(`${p.name}/${r.id}`, loc)
    }
  }
  return m
}
