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
  type EnforcementEntry,
  type EnforcementMode,
  type Entity,
  type Flow,
  type FlowTuple,
  type Inventory,
  type Outcome,
  type Policy,
  type PolicySet,
  type Rule,
  type Selector,
  type SourceLocation,
  formatRuleRef,
  judgedAsReply,
  replyConnectionPort,
  SeenRange,
} from '../core/index.js'
import { Resolver } from '../inventory/resolver.js'
import { enforcementEntryOf, workloadEnforcement } from './evaluate.js'
import {
  connlist,
  connlistEntities,
  connlistRows,
  policyBlocks,
  type ConnlistRow,
} from './connlist.js'
import { PolicyIndex, type IndexedVerdict } from './policy-index.js'
import { selectorToYaml } from './render.js'

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

/**
 * A field of a rule as the policy file names it: {@link RuleField} with `ports` for the model's
 * `services` (DESIGN.md "Policy language v1"); `scope` is the policy's scope.
 */
export type RuleFileKey = Exclude<RuleField, 'services'> | 'ports'

/**
 * One field of a changed rule with its value under OLD and under NEW, as the policy file writes
 * it (YAML data): `action` `'allow'|'deny'`; `from`/`to` selectors as `{ role: web }`,
 * `{ cidr: ... }`, `'any'` ...; `ports` as `['tcp/443']`; `owner` the effective owner; `reason`;
 * `evidence` as written; `expires` as an ISO-8601 UTC instant (the first instant the rule no
 * longer applies, like {@link RuleSummary.expires}); `emergency` a boolean; `scope` the policy's
 * labels. `old`/`new` is absent when that side has no such field (no `reason`, no `expires`, ...).
 */
export interface RuleFieldChange {
  readonly field: RuleFileKey
  readonly old?: unknown
  readonly new?: unknown
}

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
  /**
   * For `changed`: each field that differs with its old and new value, in the words of the policy
   * file (`ports`, not `services`), in the order of {@link fields}; empty otherwise.
   */
  readonly changes: readonly RuleFieldChange[]
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

/**
 * An Enforcement entry behind a change of outcome: the NEW entry that decides the mode now in
 * force, or, when no NEW entry matches either end (both `observe` by default), the OLD entry that
 * decided the mode in force before.
 */
export interface EnforcementEntryRef extends EnforcementEntrySummary {
  readonly set: 'old' | 'new'
}

/**
 * Observed flows of one edge whose verdict (allowed or denied) stays the same but whose outcome
 * changes the same way: flows denied under both policy sets, between ends whose enforcement mode
 * in force (the stronger of the two ends', DESIGN.md rule 5) changes. `stricter` when the outcome
 * goes up unenforced < would-be-blocked < blocked, `looser` when it goes down. A flow whose
 * verdict changes is an {@link EdgeChange} instead, never both. Otherwise as {@link EdgeChange}.
 */
export interface OutcomeEdgeChange extends Omit<EdgeChange, 'change'> {
  readonly change: 'stricter' | 'looser'
  /** The entry behind the change; absent only when neither set has one (cannot happen for a change). */
  readonly entry?: EnforcementEntryRef
}

/** The observed flows whose outcome changes although their verdict does not. */
export interface OutcomeChanges {
  /** Flows denied under OLD and NEW whose outcome differs. */
  readonly flows: number
  /**
   * Of `flows`, those not dropped under OLD (would-be-blocked or unenforced) and dropped
   * (`blocked`) under NEW that their observer did not reject: impact for `--fail-on-impact`.
   */
  readonly newlyDropped: number
  /** Of `flows`, those that become `blocked` that their observer had already rejected. */
  readonly alreadyRejected: number
  /**
   * Edges whose flows become blocked first (those of already-rejected flows only after them),
   * then the other stricter ones, then looser ones; then by flow count (descending), by names.
   */
  readonly edges: readonly OutcomeEdgeChange[]
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
  /** Flows whose verdict stays and whose outcome changes (the enforcement mode in force changed). */
  readonly outcomeChanges: OutcomeChanges
}

/**
 * One Enforcement entry as the diff shows it. Semantics: DESIGN.md "Workspace, inventory and
 * enforcement files" (first match wins; unmatched workloads are `observe`).
 */
export interface EnforcementEntrySummary {
  /**
   * 1-based position among the policy set's Enforcement entries in load order (files in path
   * order, entries in file order): the order in which the first match wins.
   */
  readonly position: number
  /** The selector as text (core `selectorKey`): `{app=shop,env=prod}`, `workload db-1`. */
  readonly selector: string
  readonly mode: EnforcementMode
  /** Where the entry is (its `modes` item). */
  readonly location?: SourceLocation
}

/** The fields of an Enforcement entry compared by {@link diffEnforcement}. */
export type EnforcementEntryField = 'mode' | 'position'

/**
 * One Enforcement entry added, removed or changed. Entries have no id: they are matched by
 * selector (the k-th entry with a selector in OLD to the k-th with the same selector in NEW).
 * A matched entry is `changed` when its mode differs (`mode`) or it moved relative to the other
 * matched entries (`position`: it is outside a longest run of matched entries that kept their
 * order, so moving one entry past three marks the one, not the three). An entry whose selector
 * changes is one removed and one added.
 */
export interface EnforcementEntryChange {
  readonly kind: 'added' | 'removed' | 'changed'
  /** For `changed`: the fields that differ, in {@link EnforcementEntryField} order; empty otherwise. */
  readonly fields: readonly EnforcementEntryField[]
  readonly old?: EnforcementEntrySummary
  readonly new?: EnforcementEntrySummary
}

/**
 * Workloads whose enforcement mode changes the same way: from `old` to `new`, decided by the
 * same entries (absent: no entry matched, so `observe` by default).
 */
export interface ModeChangeGroup {
  readonly old: EnforcementMode
  readonly new: EnforcementMode
  /** The OLD entry that decided their mode under OLD. */
  readonly oldEntry?: EnforcementEntrySummary
  /** The NEW entry that decides their mode under NEW. */
  readonly newEntry?: EnforcementEntrySummary
  /** Workspace names, sorted, each once. */
  readonly workloads: readonly string[]
}

/** How many workloads change from one mode to another. */
export interface ModeTransition {
  readonly old: EnforcementMode
  readonly new: EnforcementMode
  readonly workloads: number
}

/** The Enforcement part of a diff (DESIGN.md semantics 5: the mode decides what a denial does). */
export interface EnforcementDiff {
  /** Sorted by position (NEW's, or OLD's for a removed entry). */
  readonly entries: readonly EnforcementEntryChange[]
  /** Workloads of the inventory whose mode changes (each counted once). */
  readonly workloads: number
  /** Counts by (old mode, new mode), to-`enforce` first, then by mode. */
  readonly transitions: readonly ModeTransition[]
  /** Same order as `transitions`, then by NEW entry and OLD entry position. */
  readonly groups: readonly ModeChangeGroup[]
}

/** A whole diff. `flows` is absent when no flows were given. `diff -o json` prints it with times as instants (the CLI's `DiffOutput`). */
export interface PolicyDiff {
  /** ISO-8601 instant at which expiry and address holding were judged. */
  readonly at: string
  readonly rules: readonly RuleChange[]
  readonly connlist: ConnlistChange
  readonly enforcement: EnforcementDiff
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

/** The policy file's key of a {@link RuleField}. */
const fileKey = (f: RuleField): RuleFileKey => (f === 'services' ? 'ports' : f)

/** The value of field `f` of rule `r` of policy `p` as the file writes it; undefined when absent. */
function fileValue(f: RuleField, p: Policy, r: Rule): unknown {
  switch (f) {
    case 'action':
      return r.action
    case 'from':
      return r.from.map(selectorToYaml)
    case 'to':
      return r.to.map(selectorToYaml)
    case 'services':
      return r.services.map(formatService)
    case 'owner':
      return r.owner ?? p.owner
    case 'reason':
      return r.reason
    case 'evidence':
      return r.evidence
    case 'expires':
      return r.expires === undefined ? undefined : new Date(r.expires).toISOString()
    case 'emergency':
      return r.emergency
    case 'scope':
      return { ...p.scope }
  }
}

function fieldChange(f: RuleField, o: [Policy, Rule], n: [Policy, Rule]): RuleFieldChange {
  const ov = fileValue(f, ...o)
  const nv = fileValue(f, ...n)
  return {
    field: fileKey(f),
    ...(ov !== undefined ? { old: ov } : {}),
    ...(nv !== undefined ? { new: nv } : {}),
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
 * when its policy's scope differs. Each changed field is also given with its old and new value
 * in the policy file's words ({@link RuleChange.changes}). Sorted by policy, then id.
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
    if (o && !n)
      out.push({ kind: 'removed', policy, id, fields: [], changes: [], old: summary(...o) })
    else if (!o && n)
      out.push({ kind: 'added', policy, id, fields: [], changes: [], new: summary(...n) })
    else if (o && n) {
      const fields = changedFields(o[0], o[1], n[0], n[1])
      if (fields.length > 0) {
        const changes = fields.map((f) => fieldChange(f, o, n))
        const [os, ns] = [summary(...o), summary(...n)]
        out.push({ kind: 'changed', policy, id, fields, changes, old: os, new: ns })
      }
    }
  }
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
  return out.sort((a, b) => cmp(a.policy, b.policy) || cmp(a.id, b.id))
}

const MODE_RANK: Record<EnforcementMode, number> = { observe: 0, monitor: 1, enforce: 2 }

function entrySummary(e: EnforcementEntry, i: number): EnforcementEntrySummary {
  return {
    position: i + 1,
    selector: selectorKey(e.selector),
    mode: e.mode,
    ...(e.location ? { location: e.location } : {}),
  }
}

/** The indices of a longest strictly increasing subsequence of `xs` (O(n log n)). */
function longestIncreasing(xs: readonly number[]): Set<number> {
  const tails: number[] = [] // index into xs of the smallest tail of each length
  const prev: number[] = []
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i] as number
    let lo = 0
    let hi = tails.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((xs[tails[mid] as number] as number) < x) lo = mid + 1
      else hi = mid
    }
    prev[i] = lo > 0 ? (tails[lo - 1] as number) : -1
    tails[lo] = i
  }
  const out = new Set<number>()
  for (let i = tails.length > 0 ? (tails[tails.length - 1] as number) : -1; i >= 0;) {
    out.add(i)
    i = prev[i] as number
  }
  return out
}

/**
 * What changes in enforcement between two policy sets: the Enforcement entries added, removed
 * and changed (see {@link EnforcementEntryChange}), and the workloads of `inventory` whose mode
 * changes at `at`, with the entry that decides it on each side. A workload has one mode, resolved
 * as every evaluator and compiler resolves it (`enforcementEntryOf`: the strongest of the
 * first-match modes of the addresses it holds at `at`, decided by that address's entry), so a
 * workload is in one group.
 * @param at - the instant (ms) whose held addresses decide the modes (the diff's `--at`).
 * @remarks Semantics: DESIGN.md "Policy language v1" rule 5 and "Workspace, inventory and
 * enforcement files".
 */
export function diffEnforcement(
  inventory: Inventory,
  oldSet: PolicySet,
  newSet: PolicySet,
  at: number,
): EnforcementDiff {
  const olds = oldSet.enforcement.map(entrySummary)
  const news = newSet.enforcement.map(entrySummary)
  // match the k-th entry with a selector in OLD to the k-th with the same selector in NEW
  const queue = new Map<string, number[]>()
  olds.forEach((e, i) => {
    const q = queue.get(e.selector)
    if (q) q.push(i)
    else queue.set(e.selector, [i])
  })
  const pairs: [number, number][] = [] // [old index, new index], in NEW order
  const added: number[] = []
  news.forEach((e, j) => {
    const i = queue.get(e.selector)?.shift()
    if (i === undefined) added.push(j)
    else pairs.push([i, j])
  })
  const kept = longestIncreasing(pairs.map(([i]) => i))
  const entries: EnforcementEntryChange[] = []
  const matchedOld = new Set(pairs.map(([i]) => i))
  olds.forEach((e, i) => {
    if (!matchedOld.has(i)) entries.push({ kind: 'removed', fields: [], old: e })
  })
  for (const j of added)
    entries.push({ kind: 'added', fields: [], new: news[j] as EnforcementEntrySummary })
  pairs.forEach(([i, j], k) => {
    const o = olds[i] as EnforcementEntrySummary
    const n = news[j] as EnforcementEntrySummary
    const fields: EnforcementEntryField[] = []
    if (o.mode !== n.mode) fields.push('mode')
    if (!kept.has(k)) fields.push('position')
    if (fields.length > 0) entries.push({ kind: 'changed', fields, old: o, new: n })
  })
  const positionOf = (c: EnforcementEntryChange): number => (c.new ?? c.old)?.position ?? 0
  entries.sort(
    (a, b) =>
      positionOf(a) - positionOf(b) || (a.kind === 'removed' ? -1 : b.kind === 'removed' ? 1 : 0),
  )

  const groups = new Map<string, { g: Omit<ModeChangeGroup, 'workloads'>; names: Set<string> }>()
  const changed = new Set<string>()
  for (const w of inventory.workloads) {
    const entity: Entity = { kind: 'workload', workload: w }
    const i = enforcementEntryOf(oldSet, entity, at)
    const j = enforcementEntryOf(newSet, entity, at)
    const o = olds[i]
    const n = news[j]
    const oldMode = o?.mode ?? 'observe'
    const newMode = n?.mode ?? 'observe'
    if (oldMode === newMode) continue
    changed.add(w.name)
    const key = `${oldMode} ${newMode} ${i} ${j}`
    let acc = groups.get(key)
    if (acc === undefined) {
      acc = {
        g: {
          old: oldMode,
          new: newMode,
          ...(o ? { oldEntry: o } : {}),
          ...(n ? { newEntry: n } : {}),
        },
        names: new Set(),
      }
      groups.set(key, acc)
    }
    acc.names.add(w.name)
  }
  const transitionOrder = (a: ModeTransition | ModeChangeGroup, b: typeof a): number =>
    MODE_RANK[b.new] - MODE_RANK[a.new] || MODE_RANK[a.old] - MODE_RANK[b.old]
  const sorted: ModeChangeGroup[] = [...groups.values()]
    .map(({ g, names }) => ({ ...g, workloads: [...names].sort(cmpText) }))
    .sort(
      (a, b) =>
        transitionOrder(a, b) ||
        (a.newEntry?.position ?? 0) - (b.newEntry?.position ?? 0) ||
        (a.oldEntry?.position ?? 0) - (b.oldEntry?.position ?? 0),
    )
  // a workload is counted once per transition, even when several entries decide its addresses
  const perTransition = new Map<
    string,
    { t: Omit<ModeTransition, 'workloads'>; names: Set<string> }
  >()
  for (const g of sorted) {
    const key = `${g.old} ${g.new}`
    let acc = perTransition.get(key)
    if (acc === undefined) {
      acc = { t: { old: g.old, new: g.new }, names: new Set() }
      perTransition.set(key, acc)
    }
    for (const name of g.workloads) acc.names.add(name)
  }
  const transitions = [...perTransition.values()]
    .map(({ t, names }) => ({ ...t, workloads: names.size }))
    .sort(transitionOrder)
  return { entries, workloads: changed.size, transitions, groups: sorted }
}

function cmpText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** True when the Enforcement entries or any workload's mode differ. */
export function enforcementChanged(d: EnforcementDiff): boolean {
  return d.entries.length > 0 || d.workloads > 0
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
  const newRules = new Set(
    newSet.policies.flatMap((p) => p.rules.map((x) => formatRuleRef({ policy: p.name, id: x.id }))),
  )
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
      // allows what stays: of several, the one that allowed what was lost (the rule narrowed);
      // when that rule allows the pair nothing any more, the narrowed rule all the same: the
      // line was rewritten by its change, not by a rule that allows what stays unchanged
      // (a rule removed is no NEW rule: the line then names a NEW rule that allows what stays)
      const narrowed = reverse.isEmpty ? undefined : sampleRule(r, reverse, oldAllow)
      if (narrowed !== undefined)
        by =
          sampleRule(r, all, (t) => (newAllow(t) === narrowed ? narrowed : undefined)) ??
          (newRules.has(narrowed) ? narrowed : undefined)
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
 * address); a flow whose `direction` is `server-to-client`, or of an ICMP/ICMPv6 reply type
 * whatever its direction (`judgedAsReply`), is judged as the connection it answers (rule 3).
 * Rule expiry is judged at `now` for both sets. Memory: one entry per changed edge.
 */
export class FlowDiffer {
  private readonly oldIndex: PolicyIndex
  private readonly newIndex: PolicyIndex
  private readonly resolver: Resolver
  private readonly inventory: Inventory
  private readonly oldSet: PolicySet
  private readonly newSet: PolicySet
  private readonly edges = new Map<string, ChangedEdge>()
  private readonly outcomeEdges = new Map<string, ChangedOutcomeEdge>()
  private readonly entryCache = new Map<string, readonly [number, number]>()
  /** Each Enforcement entry of OLD and NEW as an outcome edge names it, by index. */
  private readonly oldRefs: readonly EnforcementEntryRef[]
  private readonly newRefs: readonly EnforcementEntryRef[]
  private readonly seen = new SeenRange()
  private flows = 0
  private skipped = 0
  private blocked = 0
  private alreadyRejected = 0
  private allowed = 0
  private outcomeChanged = 0
  private dropped = 0
  private droppedRejected = 0

  constructor(
    inventory: Inventory,
    oldSet: PolicySet,
    newSet: PolicySet,
    options: { readonly now: Date },
  ) {
    this.oldIndex = PolicyIndex.build(inventory, oldSet, options.now.getTime())
    this.newIndex = PolicyIndex.build(inventory, newSet, options.now.getTime())
    this.resolver = new Resolver(inventory)
    this.inventory = inventory
    this.oldSet = oldSet
    this.newSet = newSet
    this.oldRefs = oldSet.enforcement.map((e, i) => ({ set: 'old', ...entrySummary(e, i) }))
    this.newRefs = newSet.enforcement.map((e, i) => ({ set: 'new', ...entrySummary(e, i) }))
  }

  /** Judges one flow under both policy sets. Never throws: a flow with a bad address is counted in `skipped`. */
  add(flow: Flow): void {
    const reply = judgedAsReply(flow)
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
    // a flow is counted once: as a verdict change, else as an outcome change
    if (o.decision === n.decision) {
      if (o.outcome !== n.outcome) this.addOutcomeChange(flow, reply, o, n)
      return
    }
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
    const oldV = diffVerdict(o)
    const newV = diffVerdict(n)
    const key = JSON.stringify([change, src, dst, flow.protocol, port, oldV.by, newV.by])
    countOn<EdgeChange>(this.edges, key, flow, rejected, () => ({
      change,
      src,
      dst,
      protocol: flow.protocol,
      dstPort: port,
      service: formatService({ protocol: flow.protocol, ports: { lo: port, hi: port } }),
      old: oldV,
      new: newV,
    }))
  }

  /** Records a flow denied under both sets whose outcome differs (see {@link OutcomeEdgeChange}). */
  private addOutcomeChange(flow: Flow, reply: boolean, o: IndexedVerdict, n: IndexedVerdict): void {
    const rejected = flow.observedAction === 'reject'
    this.outcomeChanged++
    if (n.outcome === 'blocked') {
      if (rejected) this.droppedRejected++
      else this.dropped++
    }
    const port = reply
      ? replyConnectionPort(flow.protocol, flow.srcPort, flow.dstPort)
      : flow.dstPort
    const srcIp = reply ? flow.dst : flow.src
    const dstIp = reply ? flow.src : flow.dst
    const src = entityName(this.resolver.resolve(srcIp, flow.start))
    const dst = entityName(this.resolver.resolve(dstIp, flow.start))
    const entry = this.entryBehind(o, n, flow.start)
    const oldV = diffVerdict(o)
    const newV = diffVerdict(n)
    const key = `${src}\u0000${dst}\u0000${flow.protocol}\u0000${port}\u0000${oldV.by}\u0000${newV.by}\u0000${o.outcome}\u0000${n.outcome}\u0000${entry?.set ?? ''}\u0000${entry?.position ?? 0}`
    countOn<OutcomeEdgeChange>(this.outcomeEdges, key, flow, rejected, () => ({
      change: OUTCOME_RANK[n.outcome] > OUTCOME_RANK[o.outcome] ? 'stricter' : 'looser',
      src,
      dst,
      protocol: flow.protocol,
      dstPort: port,
      service: formatService({ protocol: flow.protocol, ports: { lo: port, hi: port } }),
      old: oldV,
      new: newV,
      ...(entry ? { entry } : {}),
    }))
  }

  /**
   * The entry behind an outcome change ({@link EnforcementEntryRef}): of the ends whose mode is
   * the one in force under NEW, the first that a NEW entry matches; else, of the ends whose mode
   * was in force under OLD, the first that an OLD entry matched. For a flow to a multicast group
   * or the broadcast, its receivers (every workload holding an address at `at`, in inventory
   * order; `receiversMode`) come after the two ends.
   */
  private entryBehind(
    o: IndexedVerdict,
    n: IndexedVerdict,
    at: number,
  ): EnforcementEntryRef | undefined {
    const ends = [this.entriesOf(n.src, at), this.entriesOf(n.dst, at)]
    if (n.receiversMode !== undefined) {
      for (const workload of this.inventory.workloads) {
        // a receiver holds an address then (groupReceiversMode)
        if (workloadEnforcement(this.newSet, workload, at).addresses.length === 0) continue
        ends.push(this.entriesOf({ kind: 'workload', workload }, at))
      }
    }
    const find = (v: IndexedVerdict, which: 'old' | 'new'): EnforcementEntryRef | undefined => {
      const set = which === 'old' ? this.oldSet : this.newSet
      const refs = which === 'old' ? this.oldRefs : this.newRefs
      for (const end of ends) {
        const i = end[which === 'old' ? 0 : 1]
        // an end's mode is its deciding entry's (`observe` without one)
        if ((i < 0 ? 'observe' : set.enforcement[i]?.mode) !== v.mode) continue
        const ref = refs[i]
        if (ref !== undefined) return ref
      }
      return undefined
    }
    return find(n, 'new') ?? find(o, 'old')
  }

  /**
   * The indices of the OLD and NEW entries that decide the mode of `entity` at `at` (ms)
   * (`enforcementEntryOf`: a workload's one mode, from every address it holds then), cached by
   * workload when none of its addresses is bounded in time (at most {@link ENTRY_CACHE}, then
   * cleared); −1 for an unmanaged entity.
   */
  private entriesOf(entity: Entity, at: number): readonly [number, number] {
    if (entity.kind !== 'workload') return [-1, -1]
    const w = entity.workload
    const timed = w.addresses.some((a) => a.from !== undefined || a.to !== undefined)
    const key = timed ? undefined : w.name
    const known = key === undefined ? undefined : this.entryCache.get(key)
    if (known !== undefined) return known
    const found = [
      enforcementEntryOf(this.oldSet, entity, at),
      enforcementEntryOf(this.newSet, entity, at),
    ] as const
    if (key !== undefined) {
      if (this.entryCache.size >= ENTRY_CACHE) this.entryCache.clear()
      this.entryCache.set(key, found)
    }
    return found
  }

  /** The result so far. */
  result(): FlowDiff {
    const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
    // more flows first, then by source, destination, protocol and port
    const byEdge = (a: EdgeChange | OutcomeEdgeChange, b: EdgeChange | OutcomeEdgeChange): number =>
      b.flows - a.flows ||
      cmp(a.src, b.src) ||
      cmp(a.dst, b.dst) ||
      a.protocol - b.protocol ||
      a.dstPort - b.dstPort
    // blocked, blocked but already rejected, allowed
    const rank = (e: EdgeChange): number =>
      e.change === 'allowed' ? 2 : onlyAlreadyRejected(e) ? 1 : 0
    const edges = [...this.edges.values()]
      .map(edgeChange)
      .sort((a, b) => rank(a) - rank(b) || byEdge(a, b))
    // become blocked, become blocked but already rejected, other stricter, looser
    const outcomeRank = (e: OutcomeEdgeChange): number =>
      e.new.outcome === 'blocked'
        ? e.alreadyRejected === e.flows
          ? 1
          : 0
        : e.change === 'stricter'
          ? 2
          : 3
    const outcomeEdges = [...this.outcomeEdges.values()]
      .map(edgeChange)
      .sort(
        (a, b) =>
          outcomeRank(a) - outcomeRank(b) ||
          byEdge(a, b) ||
          cmp(a.old.outcome, b.old.outcome) ||
          cmp(a.new.outcome, b.new.outcome) ||
          cmp(a.old.by, b.old.by) ||
          cmp(a.new.by, b.new.by) ||
          cmp(a.entry?.set ?? '', b.entry?.set ?? '') ||
          (a.entry?.position ?? 0) - (b.entry?.position ?? 0),
      )
    return {
      flows: this.flows,
      skipped: this.skipped,
      untimed: this.seen.untimed,
      newlyBlocked: this.blocked,
      alreadyRejected: this.alreadyRejected,
      newlyAllowed: this.allowed,
      edges,
      outcomeChanges: {
        flows: this.outcomeChanged,
        newlyDropped: this.dropped,
        alreadyRejected: this.droppedRejected,
        edges: outcomeEdges,
      },
    }
  }
}

const OUTCOME_RANK: Record<Outcome, number> = {
  allowed: 0,
  unenforced: 1,
  'would-be-blocked': 2,
  blocked: 3,
}

function diffVerdict(v: IndexedVerdict): DiffVerdict {
  return { decision: v.decision, by: byText(v.by), outcome: v.outcome }
}

/** Addresses whose deciding Enforcement entries {@link FlowDiffer} keeps. */
const ENTRY_CACHE = 1 << 16

/**
 * True when every flow of a newly denied edge had been rejected by its observer: enforcing NEW
 * changes nothing there (no impact; SARIF `diff/flow-already-rejected`).
 */
export function onlyAlreadyRejected(e: EdgeChange): boolean {
  return e.change === 'blocked' && e.alreadyRejected === e.flows
}

/** The counted fields of an edge, filled in by {@link edgeChange}. */
type Counted = 'flows' | 'firstSeen' | 'lastSeen' | 'untimed' | 'alreadyRejected'

/** A changed edge while flows are added: its fixed part, its count and when it was seen. */
interface EdgeAcc<E> {
  readonly edge: Omit<E, Counted>
  flows: number
  rejected: number
  readonly seen: SeenRange
}
type ChangedEdge = EdgeAcc<EdgeChange>
type ChangedOutcomeEdge = EdgeAcc<OutcomeEdgeChange>

/** Counts `flow` on the edge `key` of `edges` (made by `make` the first time); `rejected`: by its observer. */
function countOn<E>(
  edges: Map<string, EdgeAcc<E>>,
  key: string,
  flow: Flow,
  rejected: boolean,
  make: () => Omit<E, Counted>,
): void {
  let e = edges.get(key)
  if (e === undefined) {
    e = { edge: make(), flows: 0, rejected: 0, seen: new SeenRange() }
    edges.set(key, e)
  }
  e.flows++
  if (rejected) e.rejected++
  e.seen.add(flow.start, flow.end)
}

function edgeChange<E extends EdgeChange | OutcomeEdgeChange>(e: EdgeAcc<E>): E {
  const span = e.seen.span()
  const { old, new: now, ...where } = e.edge as Omit<OutcomeEdgeChange, Counted>
  const { entry, ...rest } = where
  return {
    ...rest,
    flows: e.flows,
    ...(span ? { firstSeen: span.first, lastSeen: span.last } : {}),
    untimed: e.seen.untimed,
    alreadyRejected: e.rejected,
    old,
    new: now,
    ...(entry ? { entry } : {}),
  } as E
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
    enforcement: diffEnforcement(inventory, oldSet, newSet, options.now.getTime()),
  }
}

/**
 * True when an observed flow that NEW drops got through under OLD and its observer had not
 * already rejected it (`--fail-on-impact`): allowed under OLD and denied under NEW (whatever
 * NEW's mode), or denied under both and not dropped under OLD (would-be-blocked or unenforced)
 * but dropped (`blocked`) under NEW.
 */
export function hasImpact(diff: PolicyDiff): boolean {
  return (diff.flows?.newlyBlocked ?? 0) > 0 || (diff.flows?.outcomeChanges.newlyDropped ?? 0) > 0
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
