/**
 * @module PolicyIndex: the fast evaluator (Cilium-like endpoint classes, a selector cache and
 * per-class-pair decision tables), tested against the reference evaluator in evaluate.ts.
 *
 * How it works, in the words of DESIGN.md:
 *
 * - Every flow endpoint falls into an **endpoint class**: all endpoints of a class get the same
 *   answer from every selector of the policy set and of the Enforcement entries. A class key is
 *   (entity part, longest policy CIDR block containing the address). The entity part is a
 *   workload's identity (its label set) plus its name when some `workload` selector names it; a
 *   named external when some `external` selector names it; otherwise "unmanaged". Policy blocks
 *   (selector CIDRs and their `except` blocks) are nested or disjoint, so the longest block
 *   containing an address fixes which blocks contain it.
 * - Address → class: a Map from address text to the workloads holding it (a short list of
 *   `[from, to)` windows in inventory order, each with its class id), then, for other addresses, a
 *   bounded cache filled by longest-prefix match over the named externals and the policy blocks
 *   ({@link CidrTrie}).
 * - The **selector cache**: each distinct (selector, scope) is evaluated once per class with the
 *   reference {@link selectorMatches} on a representative endpoint of the class. Candidate
 *   selectors of a class are found through an anchor (one label pair the selector requires, the
 *   workload or external name, or the CIDR block), so a class only tests selectors that can match.
 * - Per class: the sorted live rule indices whose `from` (resp. `to`) matches it, interned, so
 *   that classes with equal lists share one id (with few rules, most classes share the empty
 *   list).
 * - Per (from-list, to-list) pair, computed lazily and cached: a decision table: per protocol,
 *   elementary port intervals each with its deciding rule (first live deny in policy-set order,
 *   else first live allow, else default deny). Tables are interned by their rule list. Keying the
 *   pair cache by list ids instead of class ids (a refinement of the brief) keeps it small and
 *   cache-friendly: it holds one entry per distinct pair of rule lists actually met.
 *
 * A lookup is two hash lookups, a pair-cache lookup and a binary search: its cost does not
 * depend on the number of rules (they only affect the build and the first touch of a pair).
 * @remarks Semantics: DESIGN.md "Policy language v1" rules 1–5, as implemented by
 * {@link evaluate}; design after Cilium's SelectorCache and policy map (`pkg/policy`).
 */
import {
  BulkheadError,
  CidrTrie,
  IntervalSet,
  ServiceSet,
  formatLabelSet,
  isScoped,
  maxPort,
  outcomeOf,
  parseIp,
  selectorMatches,
  strongerMode,
  type Cidr,
  type DecidedBy,
  type EnforcementMode,
  type Endpoint,
  type Entity,
  type External,
  type FlowTuple,
  type Inventory,
  type LabelSet,
  type Outcome,
  type Policy,
  type PolicySet,
  type PortRange,
  type RuleRef,
  type Selector,
  type Service,
} from '../core/index.js'
import { enforcementModeOf, isLive } from './evaluate.js'
import {
  buildTable,
  PairCache,
  TableArena,
  tableEntries,
  tableLookup,
} from './index-internals/tables.js'

/**
 * The verdict of {@link PolicyIndex.evaluate}: the fields of {@link Verdict} that do not need
 * the full list of matching rules (`matched` and `expired` are left out; ask the reference
 * evaluator to explain one flow).
 */
export interface IndexedVerdict {
  readonly decision: 'allowed' | 'denied'
  readonly by: DecidedBy
  /** The enforcement mode of the source (egress) and of the destination (ingress). */
  readonly srcMode: EnforcementMode
  readonly dstMode: EnforcementMode
  /** The stronger of the two. */
  readonly mode: EnforcementMode
  readonly outcome: Outcome
  readonly src: Entity
  readonly dst: Entity
  /** True when the tuple was judged as the connection it answers (rule 3). */
  readonly reply: boolean
}

/** What {@link PolicyIndex.ruleAt} returns. */
export interface IndexedRule {
  readonly policy: string
  readonly id: string
  readonly action: 'allow' | 'deny'
}

/** One rule of the flat list, in policy-set order. */
interface RuleInfo {
  readonly ref: RuleRef
  readonly action: 'allow' | 'deny'
  readonly live: boolean
  /** Some service is `any`: the rule covers every protocol and port. */
  readonly anyService: boolean
  /** The other services, as (protocol, inclusive port range). */
  readonly svc: readonly { readonly proto: number; readonly lo: number; readonly hi: number }[]
}

/** One distinct (selector, scope) of the live rules. */
interface SelectorEntry {
  readonly sel: Selector
  /** The scope ANDed in (empty for unscoped selectors). */
  readonly scope: LabelSet
  readonly key: string
  /** Live rule indices that use the selector in `from` / `to` (rebuilt on update). */
  from: number[]
  to: number[]
  dead: boolean
}

/** One endpoint class. */
interface EndpointClass {
  readonly key: string
  /** A member endpoint; every member gets the same answer from every selector. */
  readonly rep: Endpoint
  readonly mode: EnforcementMode
  /** Selector-cache buckets whose selectors may match this class. */
  readonly anchors: readonly string[]
  /** Memo: the selector ids (< selEpoch) that match this class; undefined until first use. */
  matched: Set<number> | undefined
  selEpoch: number
}

/** One window in which a workload holds an address, in a list in inventory order. */
interface Holder {
  /** `[from, to)` in ms; open bounds are ±Infinity. */
  readonly from: number
  readonly to: number
  readonly cls: number
  readonly workload: number
  next: Holder | undefined
}

/** Bound of the per-address class cache of non-workload addresses (cleared when full). */
const IP_CACHE_LIMIT = 1 << 16
/** Bound of the pair cache over all classes (cleared when full). */
const PAIR_CACHE_LIMIT = 1 << 22

/** Sorted, duplicate-free copy. */
function sortedUnique(xs: number[]): Int32Array {
  const a = Int32Array.from(xs).sort()
  let n = 0
  for (let i = 0; i < a.length; i++) if (i === 0 || a[i] !== a[i - 1]) a[n++] = a[i] as number
  return a.slice(0, n)
}

/** Intersection of two sorted arrays. */
function intersectSorted(a: Int32Array, b: Int32Array): Int32Array {
  const out: number[] = []
  let i = 0
  let j = 0
  while (i < a.length && j < b.length) {
    const x = a[i] as number
    const y = b[j] as number
    if (x === y) {
      out.push(x)
      i++
      j++
    } else if (x < y) i++
    else j++
  }
  return Int32Array.from(out)
}

/**
 * An injective cache key for a selector. Deviation from the brief: `selectorKey` (core) is a
 * display key and is not injective (a workload named `a global` and the global selector of
 * workload `a` share a key), so the cache keys on this JSON form instead.
 */
function cacheKey(sel: Selector): string {
  switch (sel.kind) {
    case 'any':
      return '["any"]'
    case 'cidr':
      return JSON.stringify(['cidr', sel.cidr.text, sel.except.map((c) => c.text)])
    case 'external':
      return JSON.stringify(['external', sel.name])
    case 'workload':
      return JSON.stringify(['workload', sel.name, sel.global])
    case 'labels':
      return JSON.stringify([
        'labels',
        sel.match,
        sel.expressions.map((e) => [e.key, e.operator, e.values]),
        sel.global,
      ])
  }
}

const pairAnchor = (k: string, v: string): string => `l:${JSON.stringify([k, v])}`

/** Every selector of the policies (live or not) and of the Enforcement entries. */
function* allSelectors(policies: readonly Policy[], policySet: PolicySet): Iterable<Selector> {
  for (const p of policies) for (const r of p.rules) yield* [...r.from, ...r.to]
  for (const e of policySet.enforcement) yield e.selector
}

/** What fixes the partition into classes: policy blocks and the names selectors refer to. */
interface Partition {
  readonly blocks: readonly Cidr[]
  readonly workloadNames: ReadonlySet<string>
  readonly externalNames: ReadonlySet<string>
  readonly signature: string
}

function partitionOf(policies: readonly Policy[], policySet: PolicySet): Partition {
  const blocks = new Map<string, Cidr>()
  const workloadNames = new Set<string>()
  const externalNames = new Set<string>()
  for (const s of allSelectors(policies, policySet)) {
    if (s.kind === 'cidr') for (const c of [s.cidr, ...s.except]) blocks.set(c.text, c)
    else if (s.kind === 'workload') workloadNames.add(s.name)
    else if (s.kind === 'external') externalNames.add(s.name)
  }
  const sorted = (xs: Iterable<string>): string[] => [...xs].sort()
  const signature = JSON.stringify([
    sorted(blocks.keys()),
    sorted(workloadNames),
    sorted(externalNames),
  ])
  return { blocks: [...blocks.values()], workloadNames, externalNames, signature }
}

/**
 * The pair-cache key of two rule-list ids: a small integer (a V8 Smi) when both are below 2¹⁵,
 * else a larger exact integer (ids are below 2²², as class ids are — see {@link PolicyIndex}).
 */
function pairKey(s: number, d: number): number {
  return s < 32768 && d < 32768 ? s * 32768 + d : 1073741824 + s * 4194304 + d
}

function badFlow(ipText: string): BulkheadError {
  return new BulkheadError([
    { code: 'eval/bad-flow', severity: 'error', message: `"${ipText}" is not an IP address` },
  ])
}

/**
 * The fast evaluator. Build once per (inventory, policy set, `now`); ask many flows.
 *
 * Agrees with {@link evaluate} (`evaluate(inventory, policySet, tuple, { now, reply })`) on
 * `decision`, `by`, the modes, the outcome and the entities of every flow; this is checked by
 * test/property/policy-index.prop.test.ts. Not thread-safe. Caches grow on use and are bounded:
 * the class cache of non-workload addresses (2¹⁶ entries) and the pair cache (2²² pairs) are
 * cleared when full. At most 2²² endpoint classes (a RangeError beyond; a class needs a distinct
 * identity, referenced name or CIDR block, so real estates stay far below).
 * `tuple.at` / `at` must be finite numbers (ms).
 */
export class PolicyIndex {
  private policies: Policy[]
  private readonly policySet: PolicySet
  private rules: RuleInfo[] = []
  private expired: RuleRef[] = []
  private liveRules = 0
  // selector cache
  private selectors: SelectorEntry[] = []
  private selectorIds = new Map<string, number>()
  private buckets = new Map<string, number[]>()
  private unanchored: number[] = []
  private readonly pairFreq = new Map<string, number>()
  // partition and classes
  private partition!: Partition
  private blockTrie = new CidrTrie<number>()
  private blockChains: number[][] = []
  private classes: EndpointClass[] = []
  private classIds = new Map<string, number>()
  // addresses
  /** Address → its holders in inventory order; the fast map holds the bare class id when the
   * address has one holder with no time bounds (the common case). */
  private holders = new Map<string, Holder>()
  private fastHolders = new Map<string, number | Holder>()
  private readonly workloadEntities: Entity[]
  private readonly externalTrie = new CidrTrie<External>()
  private ipCache = new Map<string, number>()
  // pairs
  /** Interned decision tables (see index-internals/tables.ts). */
  private tables = new TableArena()
  /**
   * Rule-list classes: per endpoint class, the id of its interned `from` rule list (as a source)
   * and `to` rule list (as a destination), −1 until first use. Endpoint classes with equal lists
   * share a pair-cache entry, so the pair cache is keyed by list ids, not class ids: with few
   * rules most classes share the empty list and the cache stays small.
   */
  private fromList: Int32Array = new Int32Array(64).fill(-1)
  private toList: Int32Array = new Int32Array(64).fill(-1)
  private listIds = new Map<string, number>()
  private lists: Int32Array[] = []
  /** Pair cache: {@link pairKey} of (from-list id, to-list id) → table offset in `tables`. */
  private pairs = new PairCache()
  /** Memo of {@link allowedServicesClasses}: table offset → services, valid for one `tables` arena. */
  private serviceMemo: { tables: TableArena; sets: Map<number, ServiceSet> } = {
    tables: this.tables,
    sets: new Map(),
  }

  private constructor(
    private readonly inventory: Inventory,
    policySet: PolicySet,
    private readonly now: number,
  ) {
    this.policySet = policySet
    this.policies = [...policySet.policies]
    this.workloadEntities = inventory.workloads.map((workload) => ({ kind: 'workload', workload }))
    for (const x of inventory.externals) {
      // first of equal blocks wins, as in resolveEntity (strictly longer prefix replaces)
      if (this.externalTrie.get(x.cidr) === undefined) this.externalTrie.set(x.cidr, x)
    }
    for (const w of inventory.workloads) {
      for (const [k, v] of Object.entries(w.labels)) {
        const a = pairAnchor(k, v)
        this.pairFreq.set(a, (this.pairFreq.get(a) ?? 0) + 1)
      }
    }
    this.indexRules()
    this.repartition(partitionOf(this.policies, policySet))
  }

  /**
   * Builds the index. `now` (ms since the epoch, UTC) decides rule expiry for the whole index:
   * rules expired at `now` are absent and listed in {@link expiredRules}. Cost: linear in the
   * inventory's addresses and the rules' selectors; per-class work is deferred to first use.
   */
  static build(inventory: Inventory, policySet: PolicySet, now: number): PolicyIndex {
    return new PolicyIndex(inventory, policySet, now)
  }

  /** Rules that have expired at the build's `now`, in policy-set order (rule 4). */
  get expiredRules(): readonly RuleRef[] {
    return this.expired
  }

  /**
   * The verdict for one flow: the same `decision`, `by`, `srcMode`, `dstMode`, `mode`, `outcome`
   * and entities as `evaluate(inventory, policySet, tuple, { now, reply })` with the build's
   * `now`. `tuple.at` (ms) picks which workload holds an address. Addresses should be canonical
   * text (see {@link Flow}); other spellings take the slow path and resolve as the reference
   * evaluator resolves them.
   * @param reply - judge the tuple as the reply of the connection it answers (rule 3): addresses
   *   swapped and `tuple.srcPort ?? 0` as the destination port.
   * @throws BulkheadError `eval/bad-flow` when an address does not parse.
   */
  evaluate(tuple: FlowTuple, reply = false): IndexedVerdict {
    const srcIp = reply ? tuple.dst : tuple.src
    const dstIp = reply ? tuple.src : tuple.dst
    const port = reply ? (tuple.srcPort ?? 0) : tuple.dstPort
    const s = this.classOf(srcIp, tuple.at)
    const d = this.classOf(dstIp, tuple.at)
    const code = this.lookup(s, d, tuple.protocol, port)
    const decision = code >= 0 && (code & 1) === 0 ? 'allowed' : 'denied'
    let by: DecidedBy = 'default-deny'
    if (code >= 0) {
      const r = this.rules[code >> 1] as RuleInfo
      by = { rule: r.ref, action: r.action }
    }
    const srcMode = (this.classes[s] as EndpointClass).mode
    const dstMode = (this.classes[d] as EndpointClass).mode
    const mode = strongerMode(srcMode, dstMode)
    return {
      decision,
      by,
      srcMode,
      dstMode,
      mode,
      outcome: outcomeOf(decision, mode),
      src: this.entityOf(srcIp, tuple.at),
      dst: this.entityOf(dstIp, tuple.at),
      reply,
    }
  }

  /**
   * The fast path for simulate: no allocation once the pair is cached. Returns the decision
   * encoded as one integer: `2*i` when rule `i` allows the flow, `2*i + 1` when rule `i` denies
   * it, `-1` for default deny; `i` is the rule's global index (see {@link ruleAt}). So
   * `code >= 0 && (code & 1) === 0` means allowed and `code >> 1` is the deciding rule.
   * @param src - source address, canonical text; `dst` likewise.
   * @param protocol - IANA protocol number; `dstPort` the destination port (ICMP type for ICMP).
   * @param at - the flow's time, ms since the epoch (picks which workload holds an address).
   * @throws BulkheadError `eval/bad-flow` when an address does not parse.
   */
  decide(src: string, dst: string, protocol: number, dstPort: number, at: number): number {
    return this.lookup(this.classOf(src, at), this.classOf(dst, at), protocol, dstPort)
  }

  /**
   * The endpoint class of an address at a time (ms), for callers that resolve each distinct
   * address once (a dictionary-encoded address column) and then call {@link decideClasses}.
   * An addition to the brief's interface: address resolution (a hash lookup on the address
   * text) is most of the cost of {@link decide}. Class ids stay valid until {@link updatePolicy}.
   * @throws BulkheadError `eval/bad-flow` when the address does not parse.
   */
  endpointClass(ip: string, at: number): number {
    return this.classOf(ip, at)
  }

  /**
   * {@link decide} for endpoint classes from {@link endpointClass}: the same encoded decision.
   * @param srcClass - class of the source address at the flow's time; `dstClass` likewise.
   */
  decideClasses(srcClass: number, dstClass: number, protocol: number, dstPort: number): number {
    return this.lookup(srcClass, dstClass, protocol, dstPort)
  }

  /**
   * What an endpoint class from {@link endpointClass} is: its enforcement mode (the mode of the
   * first matching Enforcement entry, `observe` for unmanaged endpoints, as
   * `enforcementModeOf`), and whether its members are workloads. Added for simulate (issue 6).
   * @throws RangeError when `cls` is not a class id.
   */
  endpointClassInfo(cls: number): { readonly mode: EnforcementMode; readonly workload: boolean } {
    const c = this.classes[cls]
    if (c === undefined) throw new RangeError(`no endpoint class ${cls}`)
    return { mode: c.mode, workload: c.rep.entity.kind === 'workload' }
  }

  /**
   * The instants (ms, sorted, distinct) at which what the address resolves to may change: the
   * finite `from`/`to` bounds of the workloads' holdings of exactly this text. Empty when no
   * workload holds it for a bounded time, so its endpoint class does not depend on time and may be
   * cached by address. Added for simulate (issue 6).
   */
  addressChanges(ip: string): readonly number[] {
    const f = this.fastHolders.get(ip)
    if (f === undefined || typeof f === 'number') return []
    const out = new Set<number>()
    for (let h: Holder | undefined = f; h !== undefined; h = h.next) {
      if (Number.isFinite(h.from)) out.add(h.from)
      if (Number.isFinite(h.to)) out.add(h.to)
    }
    return [...out].sort((a, b) => a - b)
  }

  /** How many rules {@link ruleAt} numbers (live and expired). Added for simulate and lint (issue 6). */
  get ruleCount(): number {
    return this.rules.length
  }

  /**
   * The rule with global index `i`: rules of all policies (live or expired) numbered from 0 in
   * policy-set order (policies by name, rules in file order). Indices change after
   * {@link updatePolicy}.
   * @throws RangeError when `i` is not a rule index.
   */
  ruleAt(i: number): IndexedRule {
    const r = this.rules[i]
    if (r === undefined) throw new RangeError(`no rule with index ${i}`)
    return { policy: r.ref.policy, id: r.ref.id, action: r.action }
  }

  /**
   * Replaces the policy named `name` (`undefined` removes it; a new name is inserted in name
   * order, as the loader sorts). `policy.name` must equal `name`.
   *
   * Re-indexing: rule numbering and each selector's rule lists are rebuilt (linear in rules, no
   * selector evaluation); selectors still in use keep their cache entries and their per-class
   * memo, selectors no longer used are dropped, new ones are evaluated lazily per class; per-class
   * rule lists and cached pair tables are invalidated and recomputed lazily.
   * Deviation from the brief: when the change adds or removes a CIDR block, or a workload or
   * external name that a selector refers to, the partition into classes changes, and the classes
   * (with their memos) are rebuilt from scratch.
   * @throws RangeError when `policy.name !== name`.
   */
  updatePolicy(name: string, policy: Policy | undefined): void {
    if (policy !== undefined && policy.name !== name) {
      throw new RangeError(`updatePolicy("${name}") was given policy "${policy.name}"`)
    }
    const at = this.policies.findIndex((p) => p.name === name)
    if (policy === undefined) {
      if (at >= 0) this.policies.splice(at, 1)
    } else if (at >= 0) this.policies[at] = policy
    else {
      const before = this.policies.findIndex((p) => p.name > name)
      this.policies.splice(before < 0 ? this.policies.length : before, 0, policy)
    }
    const partition = partitionOf(this.policies, this.policySet)
    const repartition = partition.signature !== this.partition.signature
    this.indexRules()
    if (repartition) this.repartition(partition)
    else {
      for (const c of this.classes) {
        if (c.matched !== undefined) {
          for (const sid of c.matched)
            if ((this.selectors[sid] as SelectorEntry).dead) c.matched.delete(sid)
        }
      }
    }
    this.resetLists()
  }

  /**
   * The services allowed from the class of `src` to the class of `dst` at time `at` (ms): every
   * (protocol, port) for which {@link decide} answers allowed, with ports clamped to 0–65535
   * (0–255 for ICMP). For connlist and reachability (issue 9).
   * @throws BulkheadError `eval/bad-flow` when an address does not parse.
   */
  allowedServices(src: string, dst: string, at: number): ServiceSet {
    return this.allowedServicesClasses(this.classOf(src, at), this.classOf(dst, at))
  }

  /**
   * {@link allowedServices} for endpoint classes from {@link endpointClass}. Memoised per decision
   * table (class pairs with equal matching rule lists share one immutable {@link ServiceSet}), so
   * asking every class pair of an estate costs a few hash lookups per pair. Added for
   * reachability (issue 9, src/analyze). Class ids stay valid until {@link updatePolicy}.
   */
  allowedServicesClasses(srcClass: number, dstClass: number): ServiceSet {
    const t = this.pairTable(this.fromListOf(srcClass), this.toListOf(dstClass))
    if (this.serviceMemo.tables !== this.tables)
      this.serviceMemo = { tables: this.tables, sets: new Map() }
    const memo = this.serviceMemo.sets.get(t)
    if (memo !== undefined) return memo
    const allowed = (code: number): boolean => code >= 0 && (code & 1) === 0
    const { rest, protos } = tableEntries(this.tables.data, t)
    let set = allowed(rest) ? ServiceSet.ANY : ServiceSet.EMPTY
    for (const { proto: p, intervals } of protos) {
      const max = maxPort(p)
      const ranges: PortRange[] = []
      for (let k = 0; k < intervals.length; k++) {
        const [start, code] = intervals[k] as [number, number]
        if (!allowed(code)) continue
        const lo = Math.max(0, start)
        const hi = Math.min(
          max,
          k + 1 < intervals.length ? (intervals[k + 1] as [number, number])[0] - 1 : max,
        )
        if (lo <= hi) ranges.push({ lo, hi })
      }
      const full: Service = { protocol: p, ports: { lo: 0, hi: max } }
      const mine = ServiceSet.of(
        IntervalSet.of(ranges).ranges.map((ports) => ({ protocol: p, ports })),
      )
      set = set.subtract(ServiceSet.single(full)).union(mine)
    }
    this.serviceMemo.sets.set(t, set)
    return set
  }

  /**
   * The live rules whose `from` (resp. `to`) selectors match endpoint class `cls`, as sorted
   * global rule indices (see {@link ruleAt}); do not modify the arrays. Lets reachability (issue
   * 9, src/analyze) visit only the class pairs some allow rule covers. Valid until
   * {@link updatePolicy}.
   */
  classRules(cls: number): { readonly from: Int32Array; readonly to: Int32Array } {
    return {
      from: this.lists[this.fromListOf(cls)] as Int32Array,
      to: this.lists[this.toListOf(cls)] as Int32Array,
    }
  }

  /**
   * Sizes: endpoint classes, distinct (selector, scope) in use, cached pairs (of interned
   * from/to rule lists, see the module comment), live rules.
   */
  stats(): { classes: number; selectors: number; cachedPairs: number; rules: number } {
    return {
      classes: this.classes.length,
      selectors: this.selectorIds.size,
      cachedPairs: this.pairs.size,
      rules: this.liveRules,
    }
  }

  // ---------------------------------------------------------------------------------------------

  private lookup(s: number, d: number, protocol: number, port: number): number {
    let f = this.fromList[s] as number
    if (f < 0) f = this.fromListOf(s)
    let g = this.toList[d] as number
    if (g < 0) g = this.toListOf(d)
    let t = this.pairs.get(pairKey(f, g))
    if (t < 0) t = this.pairTable(f, g)
    return tableLookup(this.tables.data, t, protocol, port)
  }

  private resetLists(): void {
    this.fromList.fill(-1)
    this.toList.fill(-1)
    this.listIds = new Map()
    this.lists = []
    this.tables = new TableArena()
    this.pairs = new PairCache()
  }

  /** The class id of an address at a time. */
  private classOf(ip: string, at: number): number {
    const f = this.fastHolders.get(ip)
    if (typeof f === 'number') return f
    let h = f
    while (h !== undefined) {
      if (at >= h.from && at < h.to) return h.cls
      h = h.next
    }
    const c = this.ipCache.get(ip)
    return c !== undefined ? c : this.unmanagedClass(ip)
  }

  /** What an address resolves to at a time, as resolveEntity does. Assumes it parses. */
  private entityOf(ip: string, at: number): Entity {
    let h = this.holders.get(ip)
    while (h !== undefined) {
      if (at >= h.from && at < h.to) return this.workloadEntities[h.workload] as Entity
      h = h.next
    }
    const addr = parseIp(ip)
    const x = addr ? this.externalTrie.lookup(addr)?.value : undefined
    return x
      ? { kind: 'external', name: x.name, named: true, external: x }
      : { kind: 'external', name: ip, named: false }
  }

  /** Slow path: the class of an address no workload holds at that time; cached (bounded). */
  private unmanagedClass(ipText: string): number {
    const ip = parseIp(ipText)
    if (!ip) throw badFlow(ipText)
    const x = this.externalTrie.lookup(ip)?.value
    const block = this.blockTrie.lookup(ip)?.value ?? -1
    const named = x !== undefined && this.partition.externalNames.has(x.name)
    const entity: Entity = x
      ? { kind: 'external', name: x.name, named: true, external: x }
      : { kind: 'external', name: ipText, named: false }
    const key = JSON.stringify(named ? ['x', x.name, block] : ['u', block])
    const anchors = named ? [`x:${x.name}`] : []
    const cls = this.classFor(key, { ip, entity }, block, anchors, 'observe')
    if (this.ipCache.size >= IP_CACHE_LIMIT) this.ipCache.clear()
    this.ipCache.set(ipText, cls)
    return cls
  }

  private classFor(
    key: string,
    rep: Endpoint,
    block: number,
    anchors: string[],
    mode?: EnforcementMode,
  ): number {
    const id = this.classIds.get(key)
    if (id !== undefined) return id
    if (block >= 0) for (const b of this.blockChains[block] as number[]) anchors.push(`b:${b}`)
    const cls: EndpointClass = {
      key,
      rep,
      mode: mode ?? enforcementModeOf(this.policySet, rep),
      anchors,
      matched: undefined,
      selEpoch: 0,
    }
    if (this.classes.length >= 4194304) throw new RangeError('more than 2^22 endpoint classes')
    this.classes.push(cls)
    if (this.classes.length > this.fromList.length) {
      const grow = (a: Int32Array): Int32Array => {
        const b = new Int32Array(a.length * 2).fill(-1)
        b.set(a)
        return b
      }
      this.fromList = grow(this.fromList)
      this.toList = grow(this.toList)
    }
    this.classIds.set(key, this.classes.length - 1)
    return this.classes.length - 1
  }

  /** Numbers the rules and rebuilds each selector's rule lists, keeping selectors still used. */
  private indexRules(): void {
    this.rules = []
    this.expired = []
    this.liveRules = 0
    for (const s of this.selectors) {
      s.from = []
      s.to = []
    }
    for (const p of this.policies) {
      for (const r of p.rules) {
        const i = this.rules.length
        const live = isLive(r, this.now)
        const ref: RuleRef = { policy: p.name, id: r.id }
        const svc: { proto: number; lo: number; hi: number }[] = []
        let anyService = false
        for (const s of r.services) {
          if (s.protocol === 'any') anyService = true
          else svc.push({ proto: s.protocol, lo: s.ports.lo, hi: s.ports.hi })
        }
        this.rules.push({ ref, action: r.action, live, anyService, svc })
        if (!live) {
          this.expired.push(ref)
          continue
        }
        this.liveRules++
        for (const s of r.from) this.selectorEntry(s, p.scope).from.push(i)
        for (const s of r.to) this.selectorEntry(s, p.scope).to.push(i)
      }
    }
    // drop selectors no longer used; their ids are never reused
    for (const [key, sid] of this.selectorIds) {
      const s = this.selectors[sid] as SelectorEntry
      if (s.from.length === 0 && s.to.length === 0) {
        s.dead = true
        this.selectorIds.delete(key)
      }
    }
    this.rebuildBuckets()
  }

  private selectorEntry(sel: Selector, policyScope: LabelSet): SelectorEntry {
    const scoped = isScoped(sel)
    const scope = scoped ? policyScope : {}
    const key = scoped
      ? `${cacheKey(sel)}@${JSON.stringify([formatLabelSet(scope), scope])}`
      : cacheKey(sel)
    const id = this.selectorIds.get(key)
    if (id !== undefined) return this.selectors[id] as SelectorEntry
    const entry: SelectorEntry = { sel, scope, key, from: [], to: [], dead: false }
    this.selectors.push(entry)
    this.selectorIds.set(key, this.selectors.length - 1)
    return entry
  }

  /** The selector-cache bucket of a selector: a key every class it matches carries. */
  private anchorOf(s: SelectorEntry): string | undefined {
    const sel = s.sel
    switch (sel.kind) {
      case 'any':
        return undefined
      case 'cidr': {
        const b = this.blockTrie.get(sel.cidr)
        return b === undefined ? undefined : `b:${b}`
      }
      case 'external':
        return `x:${sel.name}`
      case 'workload':
        return `w:${sel.name}`
      case 'labels': {
        let best: string | undefined
        let bestFreq = Infinity
        for (const set of [sel.match, s.scope]) {
          for (const [k, v] of Object.entries(set)) {
            const a = pairAnchor(k, v)
            const f = this.pairFreq.get(a) ?? 0
            if (f < bestFreq) {
              best = a
              bestFreq = f
            }
          }
        }
        return best
      }
    }
  }

  private rebuildBuckets(): void {
    this.buckets = new Map()
    this.unanchored = []
    for (const sid of this.selectorIds.values()) {
      const s = this.selectors[sid] as SelectorEntry
      const anchor = this.anchorOf(s)
      if (anchor === undefined) this.unanchored.push(sid)
      else {
        const b = this.buckets.get(anchor)
        if (b) b.push(sid)
        else this.buckets.set(anchor, [sid])
      }
    }
  }

  /** Rebuilds blocks, classes and the address map for a new partition. */
  private repartition(partition: Partition): void {
    this.partition = partition
    this.blockTrie = new CidrTrie<number>()
    partition.blocks.forEach((c, i) => {
      this.blockTrie.set(c, i)
    })
    this.blockChains = partition.blocks.map((c) =>
      this.blockTrie
        .lookupAll({ family: c.family, value: c.base })
        .filter((e) => e.cidr.prefix <= c.prefix)
        .map((e) => e.value),
    )
    this.rebuildBuckets() // cidr anchors depend on block ids
    this.classes = []
    this.resetLists()
    this.classIds = new Map()
    this.ipCache = new Map()
    this.holders = new Map()
    this.fastHolders = new Map()
    const tails = new Map<string, Holder>()
    const parsed = new Map<string, ReturnType<typeof parseIp>>()
    this.inventory.workloads.forEach((w, wi) => {
      const id = formatLabelSet(w.labels)
      const named = partition.workloadNames.has(w.name)
      const entity = this.workloadEntities[wi] as Entity
      for (const a of w.addresses) {
        let ip = parsed.get(a.ip)
        if (!parsed.has(a.ip)) parsed.set(a.ip, (ip = parseIp(a.ip)))
        if (!ip) continue // the reference rejects the flow: leave it to the slow path
        const block = this.blockTrie.lookup(ip)?.value ?? -1
        const key = JSON.stringify(['w', id, named ? w.name : null, block])
        const anchors = Object.entries(w.labels).map(([k, v]) => pairAnchor(k, v))
        if (named) anchors.push(`w:${w.name}`)
        const cls = this.classFor(key, { ip, entity }, block, anchors)
        const h: Holder = {
          from: a.from ?? -Infinity,
          to: a.to ?? Infinity,
          cls,
          workload: wi,
          next: undefined,
        }
        const tail = tails.get(a.ip)
        if (tail) tail.next = h
        else this.holders.set(a.ip, h)
        tails.set(a.ip, h)
      }
    })
    for (const [ip, h] of this.holders) {
      const single = h.next === undefined && h.from === -Infinity && h.to === Infinity
      this.fastHolders.set(ip, single ? h.cls : h)
    }
  }

  /** Fills the selector memo of a class for every selector allocated since it was last filled. */
  private ensureMatched(c: EndpointClass): Set<number> {
    const check = (m: Set<number>, sid: number): void => {
      const s = this.selectors[sid] as SelectorEntry
      if (!s.dead && selectorMatches(s.sel, c.rep, s.scope)) m.add(sid)
    }
    if (c.matched === undefined) {
      const m = new Set<number>()
      for (const a of c.anchors) {
        const b = this.buckets.get(a)
        if (b) for (const sid of b) check(m, sid)
      }
      for (const sid of this.unanchored) check(m, sid)
      c.matched = m
    } else {
      for (let sid = c.selEpoch; sid < this.selectors.length; sid++) check(c.matched, sid)
    }
    c.selEpoch = this.selectors.length
    return c.matched
  }

  /** Computes and interns the `from` and `to` rule lists of class `id`. */
  private ruleLists(id: number): void {
    const matched = this.ensureMatched(this.classes[id] as EndpointClass)
    const from: number[] = []
    const to: number[] = []
    for (const sid of matched) {
      const s = this.selectors[sid] as SelectorEntry
      for (const i of s.from) from.push(i)
      for (const i of s.to) to.push(i)
    }
    this.fromList[id] = this.intern(sortedUnique(from))
    this.toList[id] = this.intern(sortedUnique(to))
  }

  private intern(list: Int32Array): number {
    const key = list.join(',')
    let id = this.listIds.get(key)
    if (id === undefined) {
      id = this.lists.length
      this.lists.push(list)
      this.listIds.set(key, id)
    }
    return id
  }

  private fromListOf(cls: number): number {
    if ((this.fromList[cls] as number) < 0) this.ruleLists(cls)
    return this.fromList[cls] as number
  }

  private toListOf(cls: number): number {
    if ((this.toList[cls] as number) < 0) this.ruleLists(cls)
    return this.toList[cls] as number
  }

  /** The table offset of a (from-list, to-list) pair, computed on first touch and cached. */
  private pairTable(f: number, g: number): number {
    const key = pairKey(f, g)
    const cached = this.pairs.get(key)
    if (cached >= 0) return cached
    const list = intersectSorted(this.lists[f] as Int32Array, this.lists[g] as Int32Array)
    const t = this.tables.intern(list.join(','), () => buildTable(this.rules, list))
    if (this.pairs.size >= PAIR_CACHE_LIMIT) this.pairs.clear()
    this.pairs.set(key, t)
    return t
  }
}
