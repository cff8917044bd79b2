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
 * - Rules are numbered by **slot** (their global index, {@link PolicyIndex.ruleAt}): in policy-set
 *   order at build; {@link PolicyIndex.updatePolicy} keeps the slot of every unchanged rule and
 *   gives changed or added rules new slots, so a separate rank (policy base + position) keeps
 *   policy-set order for "first rule wins".
 * - Per class: the ascending live rule slots whose `from` (resp. `to`) matches it, interned, so
 *   that classes with equal lists share one id (with few rules, most classes share the empty
 *   list). Each selector also knows the classes whose memo holds it, so an update finds the
 *   classes whose lists change without scanning them all.
 * - Per (from-list, to-list) pair, computed lazily and cached: a decision table: per protocol,
 *   elementary port intervals each with its deciding rule (first live deny in policy-set order,
 *   else first live allow, else default deny). Tables are interned by their rule list and stay
 *   valid across updates (a list's content never changes meaning while the partition holds).
 * - **Service columns**: the elementary (protocol, port interval) cells of all live rules'
 *   services, numbered; a flow's (protocol, port) finds its column with two array reads, and a
 *   decision table unfolds into a dense **row** of one code per column (rows interned by content).
 *   The hot path caches, per list pair, the row offset in a compact Int32 open-addressing map.
 *
 * A lookup is two array reads of list ids, one hash probe, and two array reads (column, code): its
 * cost does not depend on the number of rules except through how many distinct list pairs the
 * flows touch (cache footprint); rules affect the build and the first touch of a pair.
 * @remarks Semantics: DESIGN.md "Policy language v1" rules 1–5, as implemented by
 * {@link evaluate}; design after Cilium's SelectorCache and policy map (`pkg/policy`).
 */
import {
  BulkheadError,
  CidrTrie,
  IntervalSet,
  Interner,
  isGroupAddress,
  ServiceSet,
  formatLabelSet,
  intersectSorted,
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
  type IpFamily,
  type LabelSet,
  type Outcome,
  type Policy,
  type PolicySet,
  type PortRange,
  type Rule,
  type RuleRef,
  type Selector,
  type Service,
  type Workload,
  decidedWithoutRules,
  NO_CONNECTION_SERVICES,
  replyConnectionPort,
} from '../core/index.js'
import { isLive, workloadEnforcement } from './evaluate.js'
import {
  buildTable,
  IntPairCache,
  intervalOf,
  PairCache,
  ServiceColumns,
  type TableRule,
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
  /**
   * Only for a flow to a multicast group or the broadcast: the strongest mode of the workloads
   * that may receive it (core `Verdict.receiversMode`, {@link PolicyIndex.groupReceiversMode}).
   */
  readonly receiversMode?: EnforcementMode
  /** The strongest of `srcMode`, `dstMode` and `receiversMode`. */
  readonly mode: EnforcementMode
  readonly outcome: Outcome
  readonly src: Entity
  readonly dst: Entity
  /** True when the tuple was judged as the connection it answers (rule 3). */
  readonly reply: boolean
}

/**
 * The decision code of link control (`isLinkControl`: IPv6 neighbour and multicast listener
 * discovery, IPv4 IGMP): allowed whatever the rules.
 * See {@link PolicyIndex.decide} for the other codes. Stable.
 */
export const LINK_CONTROL_CODE = -2

/**
 * The decision code of an ICMP error message (`isIcmpError`): allowed by `related`, as part
 * of the connection it reports on, whatever the rules. Stable.
 */
export const RELATED_CODE = -3

/**
 * True when a decision code of {@link PolicyIndex.decide} / {@link PolicyIndex.decideClasses}
 * means allowed: `2i` (allowed by rule i), {@link LINK_CONTROL_CODE} or {@link RELATED_CODE}.
 */
export function isAllowedCode(code: number): boolean {
  return code >= 0 ? (code & 1) === 0 : code === LINK_CONTROL_CODE || code === RELATED_CODE
}

/**
 * The `by` (core `DecidedBy`) of a negative decision code of {@link PolicyIndex.decideClasses}:
 * `default-deny` (-1), `link-control` ({@link LINK_CONTROL_CODE}) or `related`
 * ({@link RELATED_CODE}). A code ≥ 0 names a rule ({@link PolicyIndex.ruleAt} of `code >> 1`).
 */
export function byOfCode(code: number): 'default-deny' | 'link-control' | 'related' {
  return code === LINK_CONTROL_CODE
    ? 'link-control'
    : code === RELATED_CODE
      ? 'related'
      : 'default-deny'
}

/** What {@link PolicyIndex.ruleAt} returns. */
export interface IndexedRule {
  readonly policy: string
  readonly id: string
  readonly action: 'allow' | 'deny'
}

/**
 * One rule, at its index (its slot): rules keep their slot across {@link PolicyIndex.updatePolicy}
 * while unchanged; `rank` orders slots in policy-set order.
 */
interface RuleInfo {
  readonly ref: RuleRef
  readonly action: 'allow' | 'deny'
  readonly live: boolean
  /** Some service is `any`: the rule covers every protocol and port. */
  readonly anyService: boolean
  /** The other services, as (protocol, inclusive port range). */
  readonly svc: readonly { readonly proto: number; readonly lo: number; readonly hi: number }[]
  /** Selector ids of `from` / `to` (empty for expired rules). */
  readonly fromSids: readonly number[]
  readonly toSids: readonly number[]
  /** Position in policy-set order: the policy's base plus the rule's position in it. */
  rank: number
}

/** One policy of the set, with the slots of its rules in file order. */
interface PolicyRec {
  policy: Policy
  /** Multiple of {@link RANK_POS}; policies in name order have increasing bases. */
  base: number
  slots: number[]
}

/** One distinct (selector, scope) of the live rules. */
interface SelectorEntry {
  readonly sel: Selector
  /** The scope ANDed in (empty for unscoped selectors). */
  readonly scope: LabelSet
  readonly key: string
  /** Its selector-cache bucket (see `anchorOf`), undefined when unanchored. */
  readonly anchor: string | undefined
  /** Live rule slots that use the selector in `from` / `to`, ascending. */
  from: number[]
  to: number[]
  /** Classes whose memo (`EndpointClass.matched`) holds this selector. */
  members: number[]
  dead: boolean
}

/** One endpoint class. */
interface EndpointClass {
  readonly key: string
  /** A member endpoint; every member gets the same answer from every selector. */
  readonly rep: Endpoint
  readonly mode: EnforcementMode
  /** True when the members are multicast groups or the broadcast (`isGroupAddress`). */
  readonly group: boolean
  /** Selector-cache buckets whose selectors may match this class. */
  readonly anchors: readonly string[]
  /**
   * Memo: the ids of the live selectors that match this class; undefined until first use, then
   * kept complete (new selectors are tested against it when created, dead ones removed).
   */
  matched: Set<number> | undefined
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

/** Enforcement modes by rank (weakest first), as {@link PolicyIndex.groupReceiversMode} ranks them. */
const MODES_BY_RANK: readonly EnforcementMode[] = ['observe', 'monitor', 'enforce']
/** Bound of the pair cache over all classes (cleared when full). */
const PAIR_CACHE_LIMIT = 1 << 22
/** List ids below this use the dense pair cache (2 MiB of Uint16 when allocated). */
const DENSE = 1024

/** Slot of list pair (f, g), both below {@link DENSE}, in 8×8 tiles of the dense pair cache. */
function denseSlot(f: number, g: number): number {
  return ((((f >> 3) * (DENSE >> 3) + (g >> 3)) << 6) | ((f & 7) << 3) | (g & 7)) >>> 0
}

/** Rank of a rule: its policy's base plus its position; at most 2²¹ rules per policy. */
const RANK_POS = 2 ** 21
/** Gap between the bases of consecutive policies after a renumbering (room for insertions). */
const RANK_GAP = 2 ** 10 * RANK_POS
/** Retired slots beyond which {@link PolicyIndex.updatePolicy} renumbers every rule. */
const SLACK_MIN = 4096

const ruleKeys = new WeakMap<Rule, string>()

/**
 * A key equal for two rules exactly when they decide alike and name alike (id, action, selectors,
 * services, expiry); memoised per (immutable) rule object.
 */
function ruleKey(r: Rule): string {
  let k = ruleKeys.get(r)
  if (k === undefined) {
    k = ruleKeyOf(r)
    ruleKeys.set(r, k)
  }
  return k
}

function ruleKeyOf(r: Rule): string {
  return JSON.stringify([
    r.id,
    r.action,
    r.expires ?? null,
    r.from.map(cacheKey),
    r.to.map(cacheKey),
    r.services,
  ])
}

/** Reference counts of what fixes the partition: CIDR blocks by text, workload and external names. */
interface PartitionCounts {
  readonly blocks: Map<string, number>
  readonly workloadNames: Map<string, number>
  readonly externalNames: Map<string, number>
}

/**
 * Adds `delta` to the counts of the names and blocks `sels` refer to; true when some count left
 * or reached zero (the partition into classes changed).
 */
function countSelectors(
  counts: PartitionCounts,
  sels: readonly Selector[],
  delta: number,
): boolean {
  let changed = false
  const bump = (m: Map<string, number>, k: string): void => {
    const n = (m.get(k) ?? 0) + delta
    if (n === 0) m.delete(k)
    else m.set(k, n)
    if (n === 0 || n === delta) changed = true
  }
  for (const s of sels) {
    if (s.kind === 'cidr') for (const c of [s.cidr, ...s.except]) bump(counts.blocks, c.text)
    else if (s.kind === 'workload') bump(counts.workloadNames, s.name)
    else if (s.kind === 'external') bump(counts.externalNames, s.name)
  }
  return changed
}

/** Sorted, duplicate-free copy. */
function sortedUnique(xs: number[]): Int32Array {
  const a = Int32Array.from(xs).sort()
  let n = 0
  for (let i = 0; i < a.length; i++) if (i === 0 || a[i] !== a[i - 1]) a[n++] = a[i] as number
  return a.slice(0, n)
}

/** Appends `x` to an ascending array, keeping it ascending (and duplicate-free). */
function pushSorted(a: number[], x: number): void {
  if (a.length === 0 || (a[a.length - 1] as number) < x) {
    a.push(x)
    return
  }
  let k = a.length
  while (k > 0 && (a[k - 1] as number) > x) k--
  if (a[k - 1] !== x) a.splice(k, 0, x)
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
 * test/property/policy-index.prop.test.ts (and after updates by
 * test/property/policy-index-update.prop.test.ts). Not thread-safe. Caches grow on use and are
 * bounded: the class cache of non-workload addresses (2¹⁶ entries) and the pair caches (2²² pairs)
 * are cleared when full. At most 2²¹ rules per policy (a RangeError beyond). At most 2²² endpoint classes (a RangeError beyond; a class needs a distinct
 * identity, referenced name or CIDR block, so real estates stay far below).
 * `tuple.at` / `at` must be finite numbers (ms).
 */
export class PolicyIndex {
  private policies: Policy[]
  private readonly policySet: PolicySet
  /** Rules by slot (= global rule index); undefined for retired slots. */
  private rules: (RuleInfo | undefined)[] = []
  /** Per policy name: its rules' slots and rank base. */
  private recs = new Map<string, PolicyRec>()
  private retired = 0
  private expiredMemo: RuleRef[] | undefined
  private liveRules = 0
  private counts: PartitionCounts = {
    blocks: new Map(),
    workloadNames: new Map(),
    externalNames: new Map(),
  }
  private epoch = 0
  private ruleEpochs = 0
  // selector cache
  private selectors: SelectorEntry[] = []
  private selectorIds = new Map<string, number>()
  private buckets = new Map<string, number[]>()
  private unanchored: number[] = []
  /** Anchor → the classes carrying it (see `EndpointClass.anchors`). */
  private anchorClasses = new Map<string, number[]>()
  private readonly pairFreq = new Map<string, number>()
  /** {@link groupReceiversMode}'s timeline, built on first use (inventory and modes are fixed). */
  private receivers: { starts: Float64Array; ranks: Int8Array } | undefined
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
  /** Rule lists by id, beside {@link listKeys} (a list's comma-joined text → its id). */
  private lists: Int32Array[] = []
  private listKeys = new Interner()
  /** Pair cache: {@link pairKey} of (from-list id, to-list id) → table offset in `tables`. */
  private pairs = new PairCache()
  /**
   * The hot path's pair cache: `(f << 15) | g` of list ids below 2¹⁵ → offset of the pair's
   * decision row in `rowData` (larger ids: `bigRowPairs`, keyed by {@link pairKey}).
   */
  private rowPairs = new IntPairCache()
  private bigRowPairs = new Map<number, number>()
  /**
   * The hot corner of the pair cache: for list ids below {@link DENSE}, row index + 1 (0: not yet
   * known) in 8×8 tiles ({@link denseSlot}). List ids are given in first-touch order, so the pairs
   * of the busiest classes share cache lines here instead of scattering over the hash map.
   * Allocated on first use.
   */
  private dense: Uint16Array | undefined
  /** Per protocol, the interval starts of the live rules' services (only grows until a full re-index). */
  private breaks = new Map<number, Set<number>>()
  /** The layout of `breaks` that decision rows use; stale when `breaks` gained a start since. */
  private cols = new ServiceColumns(new Map(), maxPort)
  private colsStale = true
  /** Decision rows (one code per service column), interned by content. */
  private rowData = new Int32Array(1024)
  private rowUsed = 0
  private rowIds = new Map<string, number>()
  /** Table offset → its row offset. */
  private tableRow = new Map<number, number>()
  /** Memo of {@link allowedServicesClasses}: table offset → services, valid for one `tables` arena. */
  private serviceMemo: { tables: TableArena; sets: Map<number, ServiceSet> } = {
    tables: this.tables,
    sets: new Map(),
  }
  /**
   * Memo of {@link namedNoConnectionClasses}: `2 × table offset + (1 for IPv6)` → services, valid
   * for one `tables` arena.
   */
  private noConnectionMemo: { tables: TableArena; sets: Map<number, ServiceSet> } = {
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
    this.reindexAll()
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
    if (this.expiredMemo === undefined) {
      const out: RuleRef[] = []
      for (const p of this.policies) {
        for (const slot of (this.recs.get(p.name) as PolicyRec).slots) {
          const r = this.rules[slot] as RuleInfo
          if (!r.live) out.push(r.ref)
        }
      }
      this.expiredMemo = out
    }
    return this.expiredMemo
  }

  /**
   * How many times the endpoint classes have been rebuilt: at build, and by an
   * {@link updatePolicy} that changed the partition (or renumbered every rule). Class ids from
   * {@link endpointClass} and rule indices stay valid while this number stays the same.
   */
  get partitionEpoch(): number {
    return this.epoch
  }

  /**
   * How many times every rule was renumbered in policy-set order: at build, on a full re-index
   * ({@link partitionEpoch}), and on compaction (an {@link updatePolicy} after which retired
   * indices would outnumber current ones, at least 4 096). Rule indices of unchanged rules stay
   * valid while this number stays the same.
   */
  get ruleEpoch(): number {
    return this.ruleEpochs
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
    const port = reply
      ? replyConnectionPort(tuple.protocol, tuple.srcPort ?? 0, tuple.dstPort)
      : tuple.dstPort
    const s = this.classOf(srcIp, tuple.at)
    const d = this.classOf(dstIp, tuple.at)
    const code = this.lookup(s, d, tuple.protocol, port)
    const decision = isAllowedCode(code) ? 'allowed' : 'denied'
    let by: DecidedBy = byOfCode(code)
    if (code >= 0) {
      const r = this.rules[code >> 1] as RuleInfo
      by = { rule: r.ref, action: r.action }
    }
    const srcMode = (this.classes[s] as EndpointClass).mode
    const dstClass = this.classes[d] as EndpointClass
    const dstMode = dstClass.mode
    const receiversMode = dstClass.group
      ? (this.groupReceiversMode(tuple.at) ?? 'observe')
      : undefined
    const mode = strongerMode(strongerMode(srcMode, dstMode), receiversMode ?? 'observe')
    return {
      decision,
      by,
      srcMode,
      dstMode,
      ...(receiversMode !== undefined ? { receiversMode } : {}),
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
   * it, `-1` for default deny, {@link LINK_CONTROL_CODE} (`-2`) for link control,
   * {@link RELATED_CODE} (`-3`) for an ICMP error message; `i` is
   * the rule's global index (see {@link ruleAt}). So {@link isAllowedCode} tells allowed, and
   * when `code >= 0`, `code >> 1` is the deciding rule.
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
   * text) is most of the cost of {@link decide}. Class ids stay valid while
   * {@link partitionEpoch} is unchanged (across most {@link updatePolicy} calls).
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
   * workload holding the address at the time asked, from every address it holds then, as
   * `enforcementModeOf`; `observe` for unmanaged endpoints), and whether its members are
   * workloads, and whether they are multicast groups or the broadcast (`isGroupAddress`: a class
   * holds only group addresses or none). Added for simulate (issue 6).
   * @throws RangeError when `cls` is not a class id.
   */
  endpointClassInfo(cls: number): {
    readonly mode: EnforcementMode
    readonly workload: boolean
    readonly group: boolean
  } {
    const c = this.classes[cls]
    if (c === undefined) throw new RangeError(`no endpoint class ${cls}`)
    return { mode: c.mode, workload: c.rep.entity.kind === 'workload', group: c.group }
  }

  /**
   * The strongest enforcement mode of the workloads that may receive a packet to a multicast
   * group or the broadcast at `at` (ms): every workload holding an address then; undefined when
   * none does. The same answer as the reference `groupReceiversMode` (policy/evaluate.ts), from a
   * timeline built once (a sweep over the workloads' address windows and mode spans), so a
   * lookup is a binary search over the instants at which it changes.
   */
  groupReceiversMode(at: number): EnforcementMode | undefined {
    let t = this.receivers
    if (t === undefined) t = this.receivers = this.receiverTimeline()
    // the last start <= at; starts[0] is -Infinity
    const r = t.ranks[intervalOf(t.starts, at)] as number
    return r < 0 ? undefined : MODES_BY_RANK[r]
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

  /**
   * One more than the largest rule index (see {@link ruleAt}): the rules of the policy set, live
   * and expired, plus, after {@link updatePolicy}, the retired indices of removed or changed
   * rules. Added for simulate and lint (issue 6).
   */
  get ruleCount(): number {
    return this.rules.length
  }

  /**
   * The rule with index `i`. At build (and whenever {@link ruleEpoch} changes) the rules of
   * all policies (live or expired) are numbered from 0 in policy-set order (policies by name,
   * rules in file order). {@link updatePolicy} keeps the index of every rule it does not change;
   * a changed or added rule gets a new index at the end, and the index of a removed or changed
   * rule is retired (see {@link hasRule}); decisions still follow policy-set order.
   * @throws RangeError when `i` is not a rule index or is retired.
   */
  ruleAt(i: number): IndexedRule {
    const r = this.rules[i]
    if (r === undefined) throw new RangeError(`no rule with index ${i}`)
    return { policy: r.ref.policy, id: r.ref.id, action: r.action }
  }

  /** True when `i` is the index of a rule of the current policy set (see {@link ruleAt}). */
  hasRule(i: number): boolean {
    return this.rules[i] !== undefined
  }

  /**
   * Replaces the policy named `name` (`undefined` removes it; a new name is inserted in name
   * order, as the loader sorts). `policy.name` must equal `name`.
   *
   * Incremental (issue 9): the rules of the old and new policy are matched by content (id,
   * action, expiry, selectors, services, and the policy's scope), in order. Matched rules keep
   * their index ({@link ruleAt}); the others are retired or added at new indices. Only the
   * endpoint classes that a retired or added rule's selectors match get new rule lists (found
   * through the selector cache; a selector used for the first time is evaluated on the classes
   * met so far that carry its anchor); everything else is kept, including cached decision
   * tables, which stay valid because they are keyed by rule lists. Cost: linear in the changed
   * policy's rules plus the classes its changed rules match, not in the size of the policy set.
   *
   * Full re-index (classes and rule indices rebuilt, {@link partitionEpoch} and
   * {@link ruleEpoch} incremented): when the change adds or removes the last use of a CIDR block,
   * or of a workload or external name that a selector refers to (the partition into classes
   * changes). Compaction (rule indices renumbered, {@link ruleEpoch} incremented, classes kept):
   * when retired indices would outnumber current ones (and 4 096).
   *
   * Contract for callers holding ids (src/analyze): while {@link partitionEpoch} is unchanged,
   * class ids stay valid and {@link classRules}, {@link allowedServicesClasses} and
   * {@link decideClasses} answer for the updated policy set; while {@link ruleEpoch} is
   * unchanged, the indices of unchanged rules stay valid.
   * @throws RangeError when `policy.name !== name`.
   */
  updatePolicy(name: string, policy: Policy | undefined): void {
    if (policy !== undefined && policy.name !== name) {
      throw new RangeError(`updatePolicy("${name}") was given policy "${policy.name}"`)
    }
    const at = this.policies.findIndex((p) => p.name === name)
    const old = at >= 0 ? (this.recs.get(name) as PolicyRec) : undefined
    if (policy === undefined) {
      if (at >= 0) this.policies.splice(at, 1)
    } else if (at >= 0) this.policies[at] = policy
    else {
      const before = this.policies.findIndex((p) => p.name > name)
      this.policies.splice(before < 0 ? this.policies.length : before, 0, policy)
    }
    this.expiredMemo = undefined
    // match old rules to new ones by content, keeping their relative order
    const oldRules = old?.policy.rules ?? []
    const newRules = policy?.rules ?? []
    const sameScope =
      old !== undefined &&
      policy !== undefined &&
      formatLabelSet(old.policy.scope) === formatLabelSet(policy.scope)
    const keep = new Int32Array(newRules.length).fill(-1) // new position → old slot
    const kept = new Set<number>()
    if (old !== undefined && sameScope) {
      const byKey = new Map<string, number[]>()
      oldRules.forEach((r, i) => {
        const k = ruleKey(r)
        const q = byKey.get(k)
        if (q) q.push(i)
        else byKey.set(k, [i])
      })
      let last = -1
      newRules.forEach((r, j) => {
        const q = byKey.get(ruleKey(r))
        if (!q) return
        while (q.length > 0 && (q[0] as number) <= last) q.shift()
        const i = q.shift()
        if (i === undefined) return
        last = i
        const slot = old.slots[i] as number
        keep[j] = slot
        kept.add(slot)
      })
    }
    // does the partition change? (counts of what removed and added rules refer to)
    let structural = false
    const removed: number[] = []
    for (let i = 0; i < oldRules.length; i++) {
      const r = oldRules[i] as Rule
      const slot = (old as PolicyRec).slots[i] as number
      if (kept.has(slot)) continue
      removed.push(slot)
      if (countSelectors(this.counts, [...r.from, ...r.to], -1)) structural = true
    }
    for (let j = 0; j < newRules.length; j++) {
      const r = newRules[j] as Rule
      if ((keep[j] as number) < 0 && countSelectors(this.counts, [...r.from, ...r.to], 1))
        structural = true
    }
    const retiredAfter = this.retired + removed.length
    if (structural) {
      this.reindexAll()
      return
    }
    if (retiredAfter > Math.max(SLACK_MIN, this.rules.length - retiredAfter)) {
      this.renumberRules()
      return
    }
    // incremental: retire removed slots
    const touched = new Set<number>() // classes whose lists must be recomputed
    const removedSet = new Set(removed)
    for (const slot of removed) {
      const r = this.rules[slot] as RuleInfo
      this.rules[slot] = undefined
      this.retired++
      if (!r.live) continue
      this.liveRules--
      for (const sid of r.fromSids) this.detach(sid, slot, 'from', touched)
      for (const sid of r.toSids) this.detach(sid, slot, 'to', touched)
    }
    // ranks: a base for a new policy, then every rule's position
    const added: number[] = [] // live new slots, ascending
    let rec = old
    if (policy === undefined) this.recs.delete(name)
    else {
      if (rec === undefined) {
        rec = { policy, base: this.baseFor(name), slots: [] }
        this.recs.set(name, rec)
      }
      rec.policy = policy
      const slots: number[] = []
      newRules.forEach((r, j) => {
        let slot = keep[j] as number
        if (slot < 0) {
          slot = this.addRule(policy, r, (rec as PolicyRec).base + j)
          if ((this.rules[slot] as RuleInfo).live) added.push(slot)
        } else (this.rules[slot] as RuleInfo).rank = (rec as PolicyRec).base + j
        slots.push(slot)
      })
      rec.slots = slots
      for (const slot of added) {
        const r = this.rules[slot] as RuleInfo
        for (const sid of r.fromSids) this.attach(sid, touched)
        for (const sid of r.toSids) this.attach(sid, touched)
      }
    }
    // new rule lists of the touched classes: drop retired slots, add new ones (the largest)
    for (const cls of touched) {
      const m = (this.classes[cls] as EndpointClass).matched as Set<number>
      for (const side of ['from', 'to'] as const) {
        const ids = side === 'from' ? this.fromList : this.toList
        const id = ids[cls] as number
        if (id < 0) continue
        const next: number[] = []
        for (const slot of this.lists[id] as Int32Array) if (!removedSet.has(slot)) next.push(slot)
        for (const slot of added) {
          const r = this.rules[slot] as RuleInfo
          if ((side === 'from' ? r.fromSids : r.toSids).some((sid) => m.has(sid))) next.push(slot)
        }
        ids[cls] = this.intern(Int32Array.from(next))
      }
    }
  }

  /**
   * The services the rules allow from the class of `src` to the class of `dst` at time `at`
   * (ms): every (protocol, port) for which {@link decide} answers allowed by a rule, with ports
   * clamped to 0–65535 (0–255 for ICMP): those that some live allow rule matches and no live
   * deny rule does. Link control and ICMP errors are allowed whatever the rules; they are in the
   * set only where an allow rule and no deny rule names them ({@link namedNoConnectionClasses}
   * gives them whatever a deny says). For connlist and reachability (issue 9).
   * @throws BulkheadError `eval/bad-flow` when an address does not parse.
   */
  allowedServices(src: string, dst: string, at: number): ServiceSet {
    return this.allowedServicesClasses(this.classOf(src, at), this.classOf(dst, at))
  }

  /**
   * {@link allowedServices} for endpoint classes from {@link endpointClass}. Memoised per decision
   * table (class pairs with equal matching rule lists share one immutable {@link ServiceSet}), so
   * asking every class pair of an estate costs a few hash lookups per pair. Added for
   * reachability (issue 9, src/analyze). Answers for the current policy set; class ids stay valid
   * while {@link partitionEpoch} is unchanged.
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
   * The services of messages that are no connection of their own between the classes' family
   * ({@link NO_CONNECTION_SERVICES}: ICMP errors and link control, allowed whatever the rules,
   * and ICMP reply types, judged as the request they answer) that some live allow rule from
   * `srcClass` to `dstClass` names, whether or not a deny rule names them too: such a deny
   * decides no flow, so connlist lists them where a rule allows the pair a connection
   * ({@link allowedServicesClasses} leaves out what a deny names). Empty when the classes are of
   * different families. Memoised per decision table and family.
   */
  namedNoConnectionClasses(srcClass: number, dstClass: number): ServiceSet {
    const family = this.family(srcClass)
    if (family !== this.family(dstClass)) return ServiceSet.EMPTY
    const f = this.fromListOf(srcClass)
    const g = this.toListOf(dstClass)
    const t = this.pairTable(f, g)
    if (this.noConnectionMemo.tables !== this.tables)
      this.noConnectionMemo = { tables: this.tables, sets: new Map() }
    const key = t * 2 + (family === 6 ? 1 : 0)
    const memo = this.noConnectionMemo.sets.get(key)
    if (memo !== undefined) return memo
    const ruleless = NO_CONNECTION_SERVICES[family]
    let named = ServiceSet.EMPTY
    for (const slot of intersectSorted(this.lists[f] as Int32Array, this.lists[g] as Int32Array)) {
      const r = this.rules[slot] as RuleInfo
      if (r.action !== 'allow' || !r.live) continue
      if (r.anyService) {
        named = ruleless
        break
      }
      named = named.union(
        ServiceSet.of(r.svc.map((x) => ({ protocol: x.proto, ports: { lo: x.lo, hi: x.hi } }))),
      )
    }
    const set = named.intersect(ruleless)
    this.noConnectionMemo.sets.set(key, set)
    return set
  }

  /**
   * The live rules whose `from` (resp. `to`) selectors match endpoint class `cls`, as sorted
   * global rule indices (see {@link ruleAt}); do not modify the arrays. Lets reachability (issue
   * 9, src/analyze) visit only the class pairs some allow rule covers. The arrays are never
   * modified; they describe the policy set at the call (ask again after {@link updatePolicy}).
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
  stats(): {
    classes: number
    selectors: number
    cachedPairs: number
    rules: number
    tables: number
    rows: number
    columns: number
  } {
    return {
      classes: this.classes.length,
      selectors: this.selectorIds.size,
      cachedPairs: this.pairs.size,
      rules: this.liveRules,
      tables: this.tables.size,
      rows: this.rowIds.size,
      columns: this.cols.count,
    }
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * The hot path: list ids of both classes, the pair's decision row, the flow's service column.
   * Two arrays of classes, one compact hash probe, two small array reads.
   */
  private lookup(s: number, d: number, protocol: number, port: number): number {
    // ICMP, IGMP (link control), ICMPv6: maybe decided without rules
    if (protocol === 1 || protocol === 58 || protocol === 2) {
      const without = decidedWithoutRules(protocol, port, this.family(s), this.family(d))
      if (without !== undefined) return without === 'related' ? RELATED_CODE : LINK_CONTROL_CODE
    }
    let f = this.fromList[s] as number
    if (f < 0) f = this.fromListOf(s)
    let g = this.toList[d] as number
    if (g < 0) g = this.toListOf(d)
    let row = -1
    const dense = this.dense
    if ((f | g) < DENSE && dense !== undefined) {
      const v = dense[denseSlot(f, g)] as number
      if (v !== 0) row = (v - 1) * this.cols.count
    } else if ((f | g) < 32768) row = this.rowPairs.get((f << 15) | g)
    if (row < 0) row = this.rowOf(f, g)
    const cols = this.cols
    if ((protocol & 255) === protocol) {
      const off = cols.protoOff[protocol] as number
      if (off < 0) return this.rowData[row] as number
      if ((port & 65535) === port && port <= (cols.protoMax[protocol] as number))
        return this.rowData[row + (cols.portCol[off + port] as number)] as number
    }
    // a protocol or port outside the ranges rules use: the table answers as the reference does
    return tableLookup(this.tables.data, this.pairTable(f, g), protocol, port)
  }

  /** The address family of endpoint class `c` (a class holds one family). */
  private family(c: number): IpFamily {
    return (this.classes[c] as EndpointClass).rep.ip.family
  }

  /** The decision row offset of a list pair, built from its table on first touch and cached. */
  private rowOf(f: number, g: number): number {
    if (this.colsStale) this.relayout()
    const small = (f | g) < 32768
    if (!small) {
      const known = this.bigRowPairs.get(pairKey(f, g))
      if (known !== undefined) return known
    }
    const t = this.pairTable(f, g)
    let row = this.tableRow.get(t)
    if (row === undefined) {
      const r = this.cols.row(this.tables.data, t)
      const key = r.join(',')
      row = this.rowIds.get(key)
      if (row === undefined) {
        if (this.rowUsed + r.length > this.rowData.length) {
          const grown = new Int32Array(Math.max(this.rowData.length * 2, this.rowUsed + r.length))
          grown.set(this.rowData.subarray(0, this.rowUsed))
          this.rowData = grown
        }
        row = this.rowUsed
        this.rowData.set(r, row)
        this.rowUsed += r.length
        this.rowIds.set(key, row)
      }
      this.tableRow.set(t, row)
    }
    const index = row / this.cols.count + 1
    if ((f | g) < DENSE && index < 65536) {
      this.dense ??= new Uint16Array(DENSE * DENSE)
      this.dense[denseSlot(f, g)] = index
    } else if (small) {
      if (this.rowPairs.size >= PAIR_CACHE_LIMIT) this.rowPairs.clear()
      this.rowPairs.set((f << 15) | g, row)
    } else {
      if (this.bigRowPairs.size >= PAIR_CACHE_LIMIT) this.bigRowPairs.clear()
      this.bigRowPairs.set(pairKey(f, g), row)
    }
    return row
  }

  /** A new service-column layout for `breaks`; every decision row is rebuilt lazily. */
  private relayout(): void {
    this.cols = new ServiceColumns(this.breaks, maxPort)
    this.colsStale = false
    this.rowData = new Int32Array(1024)
    this.rowUsed = 0
    this.rowIds = new Map()
    this.tableRow = new Map()
    this.rowPairs = new IntPairCache()
    this.bigRowPairs = new Map()
    this.dense = undefined
  }

  private resetLists(): void {
    this.fromList.fill(-1)
    this.toList.fill(-1)
    this.lists = []
    this.listKeys = new Interner()
    this.tables = new TableArena()
    this.pairs = new PairCache()
    this.relayout()
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
    // a class holds one address family, so that link control and ICMP errors can be told
    // by class
    // and group addresses a class of their own (their flows' receivers judge them too)
    const group = isGroupAddress(ip)
    const key = JSON.stringify(
      named ? ['x', x.name, block, ip.family, group] : ['u', block, ip.family, group],
    )
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
    mode: EnforcementMode,
  ): number {
    const known = this.classIds.get(key)
    if (known !== undefined) return known
    if (block >= 0) for (const b of this.blockChains[block] as number[]) anchors.push(`b:${b}`)
    const cls: EndpointClass = {
      key,
      rep,
      mode,
      group: isGroupAddress(rep.ip),
      anchors,
      matched: undefined,
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
    const id = this.classes.length - 1
    this.classIds.set(key, id)
    for (const a of anchors) {
      const list = this.anchorClasses.get(a)
      if (list) list.push(id)
      else this.anchorClasses.set(a, [id])
    }
    return id
  }

  /**
   * Rebuilds everything from the policy list: partition, rule numbering in policy-set order,
   * selectors, classes and the address map (what {@link build} does).
   */
  private reindexAll(): void {
    this.epoch++
    this.ruleEpochs++
    const partition = partitionOf(this.policies, this.policySet)
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
    this.counts = { blocks: new Map(), workloadNames: new Map(), externalNames: new Map() }
    countSelectors(this.counts, [...allSelectors(this.policies, this.policySet)], 1)
    this.classes = []
    this.classIds = new Map()
    this.anchorClasses = new Map()
    this.numberRules()
    this.buildClasses()
  }

  /**
   * Compaction: renumbers every rule in policy-set order (retired indices dropped) and rebuilds
   * the selector cache, keeping the partition and the classes (same ids); memos refill lazily.
   */
  private renumberRules(): void {
    this.ruleEpochs++
    for (const c of this.classes) c.matched = undefined
    this.numberRules()
  }

  /**
   * Numbers every rule in policy-set order from scratch (selector cache, buckets, rule slots,
   * policy records) and empties the rule lists, decision tables and pair cache, which refill
   * lazily; the classes themselves are kept.
   */
  private numberRules(): void {
    this.selectors = []
    this.selectorIds = new Map()
    this.buckets = new Map()
    this.unanchored = []
    this.rules = []
    this.breaks = new Map()
    this.recs = new Map()
    this.retired = 0
    this.liveRules = 0
    this.expiredMemo = undefined
    this.policies.forEach((p, k) => {
      const base = (k + 1) * RANK_GAP
      const slots = p.rules.map((r, j) => this.addRule(p, r, base + j))
      this.recs.set(p.name, { policy: p, base, slots })
    })
    this.resetLists()
  }

  /** Adds a rule at a new slot with its selectors (created as needed); returns the slot. */
  private addRule(p: Policy, r: Rule, rank: number): number {
    if (rank % RANK_POS >= RANK_POS - 1) throw new RangeError(`policy ${p.name}: too many rules`)
    const slot = this.rules.length
    const live = isLive(r, this.now)
    const svc: { proto: number; lo: number; hi: number }[] = []
    let anyService = false
    for (const s of r.services) {
      if (s.protocol === 'any') anyService = true
      else svc.push({ proto: s.protocol, lo: s.ports.lo, hi: s.ports.hi })
    }
    if (live) {
      for (const { proto, lo, hi } of svc) {
        let set = this.breaks.get(proto)
        if (set === undefined) {
          set = new Set()
          this.breaks.set(proto, set)
          this.colsStale = true
        }
        for (const b of [lo, hi + 1]) {
          if (!set.has(b)) {
            set.add(b)
            this.colsStale = true
          }
        }
      }
    }
    const fromSids: number[] = []
    const toSids: number[] = []
    if (live) {
      this.liveRules++
      for (const s of r.from) fromSids.push(this.selectorEntry(s, p.scope))
      for (const s of r.to) toSids.push(this.selectorEntry(s, p.scope))
      for (const sid of fromSids) pushSorted((this.selectors[sid] as SelectorEntry).from, slot)
      for (const sid of toSids) pushSorted((this.selectors[sid] as SelectorEntry).to, slot)
    }
    this.rules.push({
      ref: { policy: p.name, id: r.id },
      action: r.action,
      live,
      anyService,
      svc,
      fromSids,
      toSids,
      rank,
    })
    return slot
  }

  /** After `slot` joined selector `sid`'s side: the classes it matches need new lists. */
  private attach(sid: number, touched: Set<number>): void {
    for (const c of (this.selectors[sid] as SelectorEntry).members) touched.add(c)
  }

  /** Removes retired `slot` from selector `sid`'s side; drops the selector when unused. */
  private detach(sid: number, slot: number, side: 'from' | 'to', touched: Set<number>): void {
    const s = this.selectors[sid] as SelectorEntry
    const list = s[side]
    const k = list.indexOf(slot)
    if (k >= 0) list.splice(k, 1)
    for (const c of s.members) touched.add(c)
    if (s.from.length > 0 || s.to.length > 0 || s.dead) return
    s.dead = true
    this.selectorIds.delete(s.key)
    const bucket = s.anchor === undefined ? this.unanchored : this.buckets.get(s.anchor)
    if (bucket) {
      const j = bucket.indexOf(sid)
      if (j >= 0) bucket.splice(j, 1)
    }
    for (const c of s.members) (this.classes[c] as EndpointClass).matched?.delete(sid)
    s.members = []
  }

  /** The id of a (selector, scope), created on first use and tested on the classes met so far. */
  private selectorEntry(sel: Selector, policyScope: LabelSet): number {
    const scoped = isScoped(sel)
    const scope = scoped ? policyScope : {}
    const key = scoped
      ? `${cacheKey(sel)}@${JSON.stringify([formatLabelSet(scope), scope])}`
      : cacheKey(sel)
    const id = this.selectorIds.get(key)
    if (id !== undefined) return id
    const sid = this.selectors.length
    const anchor = this.anchorOf(sel, scope)
    const entry: SelectorEntry = {
      sel,
      scope,
      key,
      anchor,
      from: [],
      to: [],
      members: [],
      dead: false,
    }
    this.selectors.push(entry)
    this.selectorIds.set(key, sid)
    if (anchor === undefined) this.unanchored.push(sid)
    else {
      const b = this.buckets.get(anchor)
      if (b) b.push(sid)
      else this.buckets.set(anchor, [sid])
    }
    const test = (c: number): void => {
      const cls = this.classes[c] as EndpointClass
      if (cls.matched !== undefined && selectorMatches(sel, cls.rep, scope)) {
        cls.matched.add(sid)
        entry.members.push(c)
      }
    }
    if (anchor === undefined) for (let c = 0; c < this.classes.length; c++) test(c)
    else for (const c of this.anchorClasses.get(anchor) ?? []) test(c)
    return sid
  }

  /** The selector-cache bucket of a selector: a key every class it matches carries. */
  private anchorOf(sel: Selector, scope: LabelSet): string | undefined {
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
        for (const set of [sel.match, scope]) {
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

  /** Builds the classes of the workloads' addresses and the address map for the partition. */
  private buildClasses(): void {
    const partition = this.partition
    this.ipCache = new Map()
    this.holders = new Map()
    this.fastHolders = new Map()
    const tails = new Map<string, Holder>()
    const parsed = new Map<string, ReturnType<typeof parseIp>>()
    this.inventory.workloads.forEach((w, wi) => {
      const id = formatLabelSet(w.labels)
      const named = partition.workloadNames.has(w.name)
      const entity = this.workloadEntities[wi] as Entity
      const spans = this.modeSpans(w)
      for (const a of w.addresses) {
        let ip = parsed.get(a.ip)
        if (!parsed.has(a.ip)) parsed.set(a.ip, (ip = parseIp(a.ip)))
        if (!ip) continue // the reference rejects the flow: leave it to the slow path
        const block = this.blockTrie.lookup(ip)?.value ?? -1
        // one holder per span of the workload's mode that the address's window meets
        for (const span of spans) {
          const from = Math.max(a.from ?? -Infinity, span.from)
          const to = Math.min(a.to ?? Infinity, span.to)
          if (from >= to) continue
          const group = isGroupAddress(ip)
          const key = JSON.stringify([
            'w',
            id,
            named ? w.name : null,
            block,
            ip.family,
            span.mode,
            group,
          ])
          const anchors = Object.entries(w.labels).map(([k, v]) => pairAnchor(k, v))
          if (named) anchors.push(`w:${w.name}`)
          const cls = this.classFor(key, { ip, entity }, block, anchors, span.mode)
          const h: Holder = { from, to, cls, workload: wi, next: undefined }
          const tail = tails.get(a.ip)
          if (tail) tail.next = h
          else this.holders.set(a.ip, h)
          tails.set(a.ip, h)
        }
      }
    })
    for (const [ip, h] of this.holders) {
      const single = h.next === undefined && h.from === -Infinity && h.to === Infinity
      this.fastHolders.set(ip, single ? h.cls : h)
    }
  }

  /**
   * The receivers' timeline of {@link groupReceiversMode}: from each instant of `starts` (the
   * first is −Infinity) until the next, the strongest mode rank (0 observe, 1 monitor, 2 enforce)
   * of the workloads holding a (parseable) address then, or −1 when none does.
   */
  private receiverTimeline(): { starts: Float64Array; ranks: Int8Array } {
    // events: at `time`, a window of a workload's holding with mode rank `rank` opens or closes
    const events: { time: number; rank: number; delta: number }[] = []
    for (const w of this.inventory.workloads) {
      const windows = w.addresses.filter((a) => parseIp(a.ip) !== undefined)
      if (windows.length === 0) continue
      for (const span of this.modeSpans(w)) {
        const rank = MODES_BY_RANK.indexOf(span.mode)
        for (const a of windows) {
          const from = Math.max(a.from ?? -Infinity, span.from)
          const to = Math.min(a.to ?? Infinity, span.to)
          if (from >= to) continue
          events.push({ time: from, rank, delta: 1 })
          if (to !== Infinity) events.push({ time: to, rank, delta: -1 })
        }
      }
    }
    events.sort((x, y) => x.time - y.time)
    const open = [0, 0, 0]
    const starts: number[] = [-Infinity]
    const ranks: number[] = [-1]
    const top = (): number => (open[2] ? 2 : open[1] ? 1 : open[0] ? 0 : -1)
    for (let k = 0; k < events.length;) {
      const time = (events[k] as { time: number }).time
      for (; k < events.length && (events[k] as { time: number }).time === time; k++) {
        const e = events[k] as { rank: number; delta: number }
        open[e.rank] = (open[e.rank] as number) + e.delta
      }
      const r = top()
      if (time === -Infinity) ranks[0] = r
      else if (r !== ranks[ranks.length - 1]) {
        starts.push(time)
        ranks.push(r)
      }
    }
    return { starts: Float64Array.from(starts), ranks: Int8Array.from(ranks) }
  }

  /**
   * The spans of time (`[from, to)`, ms, open bounds ±Infinity, covering all time) in which a
   * workload's enforcement mode ({@link workloadEnforcement}: the strongest of the modes of the
   * addresses it holds) is constant: it can change only where one of its addresses starts or
   * stops holding. Adjacent spans of one mode are merged, so a workload without time-bounded
   * addresses has one span.
   */
  private modeSpans(w: Workload): { from: number; to: number; mode: EnforcementMode }[] {
    const cuts = new Set<number>()
    for (const a of w.addresses) {
      if (a.from !== undefined && Number.isFinite(a.from)) cuts.add(a.from)
      if (a.to !== undefined && Number.isFinite(a.to)) cuts.add(a.to)
    }
    const starts = [-Infinity, ...[...cuts].sort((x, y) => x - y)]
    const spans: { from: number; to: number; mode: EnforcementMode }[] = []
    starts.forEach((from, k) => {
      const to = starts[k + 1] ?? Infinity
      // no cut inside [from, to): the addresses held at `from` are held throughout
      const mode = workloadEnforcement(this.policySet, w, from).mode
      const last = spans[spans.length - 1]
      if (last !== undefined && last.mode === mode) last.to = to
      else spans.push({ from, to, mode })
    })
    return spans
  }

  /** The selector memo of a class, filled on first use (candidates found through its anchors). */
  private ensureMatched(cls: number): Set<number> {
    const c = this.classes[cls] as EndpointClass
    if (c.matched !== undefined) return c.matched
    const m = new Set<number>()
    const check = (sid: number): void => {
      const s = this.selectors[sid] as SelectorEntry
      if (!m.has(sid) && selectorMatches(s.sel, c.rep, s.scope)) {
        m.add(sid)
        s.members.push(cls)
      }
    }
    for (const a of c.anchors) {
      const b = this.buckets.get(a)
      if (b) for (const sid of b) check(sid)
    }
    for (const sid of this.unanchored) check(sid)
    c.matched = m
    return m
  }

  /** Computes and interns the `from` and `to` rule lists of class `id`. */
  private ruleLists(id: number): void {
    const matched = this.ensureMatched(id)
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
    const id = this.listKeys.id(list.join(','))
    // ids are dense from 0: a new list's id is the next index of `lists`
    if (id === this.lists.length) this.lists.push(list)
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

  /** The rules as the table builder reads them (only live slots are ever asked for). */
  private get tableRules(): readonly TableRule[] {
    return this.rules as readonly TableRule[]
  }

  /** `list` (ascending slots) in policy-set order, for the table builder (first rule wins). */
  private inRankOrder(list: Int32Array): Int32Array {
    const rank = (slot: number): number => (this.rules[slot] as RuleInfo).rank
    for (let k = 1; k < list.length; k++) {
      if (rank(list[k] as number) < rank(list[k - 1] as number)) {
        return Int32Array.from(list).sort((a, b) => rank(a) - rank(b))
      }
    }
    return list
  }

  /**
   * A rank base for the new policy `name` (already in `policies`), between its neighbours';
   * renumbers every policy's base (and rule ranks) when there is no room.
   */
  private baseFor(name: string): number {
    const at = this.policies.findIndex((p) => p.name === name)
    const baseOf = (k: number): number | undefined =>
      this.recs.get(this.policies[k]?.name ?? '')?.base
    const lo = baseOf(at - 1) ?? 0
    const hi = baseOf(at + 1) ?? lo + 2 * RANK_GAP
    const base = lo + Math.floor((hi - lo) / 2 / RANK_POS) * RANK_POS
    if (base > lo && base < hi) return base
    let mine = 0
    this.policies.forEach((p, k) => {
      const b = (k + 1) * RANK_GAP
      const rec = this.recs.get(p.name)
      if (p.name === name || rec === undefined) {
        mine = b
        return
      }
      rec.base = b
      rec.slots.forEach((slot, j) => {
        ;(this.rules[slot] as RuleInfo).rank = b + j
      })
    })
    return mine
  }

  /** The table offset of a (from-list, to-list) pair, computed on first touch and cached. */
  private pairTable(f: number, g: number): number {
    const key = pairKey(f, g)
    const cached = this.pairs.get(key)
    if (cached >= 0) return cached
    const list = Int32Array.from(
      intersectSorted(this.lists[f] as Int32Array, this.lists[g] as Int32Array),
    )
    const t = this.tables.intern(list.join(','), () =>
      buildTable(this.tableRules, this.inRankOrder(list)),
    )
    if (this.pairs.size >= PAIR_CACHE_LIMIT) this.pairs.clear()
    this.pairs.set(key, t)
    return t
  }
}
