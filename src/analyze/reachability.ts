/**
 * @module Reachability graphs between workloads under four baselines — `flat` (no
 * segmentation), `observed` (what the flows show), `policy` (what a policy set allows, every
 * workload enforcing it) and `enforced` (what is closed today, each workload in its mode) — and
 * their reach figures: direct and transitive reach (lateral movement), with incremental update
 * after a policy change.
 *
 * The graph is built on **nodes**, not workloads: workloads that every rule treats alike share a
 * node (as Cilium and atomic-predicate verifiers analyse identities, not endpoints), and figures
 * are expanded to workloads only for reporting. Under `policy` a node is the set of
 * {@link PolicyIndex} endpoint classes of the addresses a workload holds (workloads with equal
 * labels and equal policy relevance collapse), and nodes are further grouped by their rule lists
 * (see graph.ts: one edge row per source group, each edge two ints); under `flat` the active
 * workloads are in one node per set of address families they hold; under `observed` each workload is its own node (flows are per
 * workload).
 *
 * Semantics (DESIGN.md "blast radius", "Policy language v1"):
 *
 * - A workload is **active** when it holds an address at the instant `at` (an address held by two
 *   workloads at once belongs to the first in inventory order, as `resolveEntity` decides). Only
 *   active workloads reach or are reached, in every baseline.
 * - Workload A **reaches** workload B ≠ A on service P when some address of A may open a
 *   connection to some address of B (of the same family) on P: under `policy` when the policy set
 *   allows the flow (rule expiry judged at `at`); under `enforced` when the policy set allows it
 *   or the stronger of the two workloads' enforcement modes is not `enforce` (each workload's one
 *   mode at `at`: the strongest of the modes of the addresses it holds; DESIGN.md rule 5: a
 *   denied flow is dropped only where the source's egress or the destination's ingress enforces;
 *   the reference verdict's `decision === 'allowed' || mode !== 'enforce'`); under `flat` always;
 *   under `observed` when the dependency map has an edge A → B on P that was not wholly rejected
 *   by the observer.
 * - With an **exploitable** service set (`--assume-exploitable`), only those services count: the
 *   graph keeps each edge's services intersected with it, and drops edges left empty. An attacker
 *   holding a workload can take every workload it reaches on an exploitable service.
 * - **direct** reach: workloads reached in one hop; **transitive**: workloads reached over any
 *   number of hops (≤ `hops` when given), the source itself excluded. **directServices**: the
 *   (destination workload, service) pairs reached in one hop, a service being one entry of
 *   {@link ServiceSet.toServices} (a port range counts once, `any` counts once).
 * @remarks Semantics: DESIGN.md "blast radius", "identity"; issue 9 items 1 and 3.
 */
import {
  ICMP_OF_FAMILY,
  isIcmpError,
  isIcmpReply,
  isLinkControl,
  NO_CONNECTION_SERVICES,
  parseIp,
  selectorMatches,
  ServiceSet,
  type Endpoint,
  type Inventory,
  type Policy,
  type PolicySet,
  type Rule,
  type Selector,
  type Workload,
} from '../core/index.js'
import type { DependencyMap } from '../discover/types.js'
import { addressHoldsAt } from '../policy/evaluate.js'
import { PolicyIndex } from '../policy/policy-index.js'
import {
  directOfNode,
  EMPTY_ROW,
  graphFigures,
  groupWeights,
  isEmptySet,
  restrictGraph,
  rowSums,
  rowsOf,
  ServiceTable,
  rowFind,
  transitiveFigures,
  type EdgeRow,
  type ReachGraph,
} from './graph.js'

export * from './graph.js'

/** Options of the reach figures. */
export interface ReachOptions {
  /** Only these services count (see the module comment); undefined: every service. */
  readonly exploitable?: ServiceSet
  /** Limit transitive reach to this many hops (≥ 1); undefined: unlimited. */
  readonly hops?: number
}

/** Per-node reach figures, each counted in workloads (see the module comment). */
export interface ReachFigures {
  readonly direct: Int32Array
  readonly directServices: Float64Array
  readonly transitive: Int32Array
}

/**
 * The canonical addresses each workload holds at `at` (ms), per inventory index: the addresses
 * for which it is the holder `resolveEntity` picks (the first workload in inventory order).
 * Memoised per (inventory, `at`): the arrays are shared, do not modify them.
 */
export function heldAddresses(inventory: Inventory, at: number): string[][] {
  let byTime = heldMemo.get(inventory)
  if (byTime === undefined) heldMemo.set(inventory, (byTime = new Map<number, string[][]>()))
  let held = byTime.get(at)
  if (held === undefined) {
    held = computeHeld(inventory, at)
    if (byTime.size >= 4) byTime.clear()
    byTime.set(at, held)
  }
  return held
}

/**
 * Memo of {@link heldAddresses} per inventory (inventories are immutable values; one analysis
 * asks for the same instant several times).
 */
const heldMemo = new WeakMap<Inventory, Map<number, string[][]>>()

function computeHeld(inventory: Inventory, at: number): string[][] {
  const holder = new Map<string, number>()
  inventory.workloads.forEach((w, i) => {
    for (const a of w.addresses) if (addressHoldsAt(a, at) && !holder.has(a.ip)) holder.set(a.ip, i)
  })
  return inventory.workloads.map((w, i) => [
    ...new Set(w.addresses.filter((a) => holder.get(a.ip) === i).map((a) => a.ip)),
  ])
}

/**
 * `flat`: every active workload reaches every other on every service of each address family
 * both hold (any service less the other family's ICMP, as between addresses of one family in
 * the other baselines): an IPv4-only workload does not reach an IPv6-only one. Nodes (each its
 * own source and destination group): the active workloads holding IPv4 addresses only, IPv6
 * only, and both; then the idle ones.
 */
export function flatReachGraph(inventory: Inventory, at: number): ReachGraph {
  const held = heldAddresses(inventory, at)
  // family mask of a workload: bit 0 IPv4, bit 1 IPv6; 0 when idle (holds no address at `at`)
  const byMask: number[][] = [[], [], [], []]
  held.forEach((a, i) => {
    let m = 0
    for (const ip of a) m |= ip.includes(':') ? 2 : 1
    ;(byMask[m] as number[]).push(i)
  })
  const masks = [1, 2, 3].filter((m) => (byMask[m] as number[]).length > 0)
  const members = [...masks.map((m) => byMask[m] as number[]), byMask[0] as number[]]
  const nodeOf = new Int32Array(held.length)
  members.forEach((ws, node) => {
    for (const w of ws) nodeOf[w] = node
  })
  const services = new ServiceTable()
  const rows: EdgeRow[] = masks.map((m) => {
    const dst: number[] = []
    const svc: number[] = []
    masks.forEach((k, node) => {
      if ((m & k) === 0) return
      dst.push(node)
      svc.push(services.id(OPEN_SERVICES[m & k] as ServiceSet))
    })
    return { dst: Int32Array.from(dst), svc: Int32Array.from(svc) }
  })
  rows.push(EMPTY_ROW)
  const ids = Int32Array.from(members, (_, node) => node)
  return {
    baseline: 'flat',
    workloads: inventory.workloads,
    nodeOf,
    members,
    srcGroup: ids,
    dstGroup: ids,
    rows,
    groupNodes: members.map((_, node) => [node]),
    services: services.sets,
  }
}

/**
 * `observed`: an edge A → B on each (protocol, port) of a dependency-map edge between two
 * inventory workloads (entities of kind `workload`, matched by name) that are active at `at`
 * (ms; as in every baseline, so that reductions compare one population), unless the observer
 * rejected every flow of the edge. Self-edges of a workload are left out, and so are link
 * control (IPv6 neighbour and multicast listener discovery, IGMP) and ICMP errors (`isLinkControl`, `isIcmpError`: allowed whatever the rules, they
 * reach no service), and an edge between two workloads that hold no address family in common at
 * `at`, or on the other family's ICMP (ICMP needs IPv4 at both ends, ICMPv6 IPv6): as under
 * `flat` and `policy`, no packet has an IPv4 and an IPv6 end (a flow record that says so, which
 * some sources write, opens nothing), so `observed` stays within `flat`. Entities of other kinds (externals, unmanaged ranges, `--group-by`
 * identities) are not workloads and are ignored. Each workload is its own node and its own
 * source and destination group.
 */
export function observedReachGraph(
  inventory: Inventory,
  map: DependencyMap,
  at: number,
): ReachGraph {
  const held = heldAddresses(inventory, at)
  // family mask of each workload at `at`: bit 0 IPv4, bit 1 IPv6 (0: idle)
  const family = held.map((a) => {
    let m = 0
    for (const ip of a) m |= ip.includes(':') ? 2 : 1
    return m
  })
  const n = inventory.workloads.length
  const byName = new Map<string, number>()
  inventory.workloads.forEach((w, i) => {
    if (!byName.has(w.name)) byName.set(w.name, i)
  })
  const kind = new Map(map.entities.map((e) => [e.id, e]))
  const nodeOf = Int32Array.from({ length: n }, (_, i) => i)
  const members = Array.from({ length: n }, (_, i) => [i])
  const services = Array.from(
    { length: n },
    () => new Map<number, { protocol: number; ports: { lo: number; hi: number } }[]>(),
  )
  for (const e of map.edges) {
    if (e.flows > 0 && e.rejected >= e.flows) continue
    if (
      isLinkControl(e.protocol, e.dstPort) ||
      isIcmpError(e.protocol, e.dstPort) ||
      isIcmpReply(e.protocol, e.dstPort)
    )
      continue
    const s = kind.get(e.src)
    const d = kind.get(e.dst)
    if (s?.kind !== 'workload' || d?.kind !== 'workload') continue
    const a = byName.get(s.name)
    const b = byName.get(d.name)
    if (a === undefined || b === undefined || a === b) continue
    // families both hold (0 when either is idle); ICMP needs IPv4, ICMPv6 IPv6
    const common = (family[a] as number) & (family[b] as number)
    if (common === 0) continue
    if (e.protocol === 1 && (common & 1) === 0) continue
    if (e.protocol === 58 && (common & 2) === 0) continue
    const m = services[a] as Map<number, { protocol: number; ports: { lo: number; hi: number } }[]>
    const list = m.get(b) ?? []
    list.push({ protocol: e.protocol, ports: { lo: e.dstPort, hi: e.dstPort } })
    m.set(b, list)
  }
  const table = new ServiceTable()
  const rows = rowsOf(
    services.map((m) => [...m].map(([b, list]) => [b, table.id(ServiceSet.of(list))] as const)),
  )
  return {
    baseline: 'observed',
    workloads: inventory.workloads,
    nodeOf,
    members,
    srcGroup: nodeOf,
    dstGroup: nodeOf,
    rows,
    groupNodes: members,
    services: table.sets,
  }
}

/** Class code: endpoint class × 2 + (IPv6 ? 1 : 0), so that families never mix. */
interface PolicyNodes {
  readonly nodeOf: Int32Array
  readonly members: number[][]
  /** Per node: its class codes, sorted. */
  readonly codes: Int32Array[]
  /** Per node: one endpoint per held address of its first member (covers every class). */
  readonly reps: Endpoint[][]
}

function policyNodes(
  index: PolicyIndex,
  inventory: Inventory,
  held: string[][],
  at: number,
): PolicyNodes {
  const keyToNode = new Map<string, number>()
  const nodeOf = new Int32Array(held.length)
  const members: number[][] = []
  const codes: Int32Array[] = []
  const reps: Endpoint[][] = []
  // most workloads hold one address: their node is found by the class code alone
  const singleToNode = new Map<number, number>()
  held.forEach((addrs, w) => {
    let node: number | undefined
    let sorted: Int32Array | undefined
    let key: string | number
    if (addrs.length === 1) {
      const ip = addrs[0] as string
      key = index.endpointClass(ip, at) * 2 + (ip.includes(':') ? 1 : 0)
      node = singleToNode.get(key)
    } else {
      const cs: number[] = []
      for (const ip of addrs) cs.push(index.endpointClass(ip, at) * 2 + (ip.includes(':') ? 1 : 0))
      sorted = Int32Array.from(new Set(cs)).sort()
      key = sorted.length === 1 ? (sorted[0] as number) : sorted.join(',')
      node = typeof key === 'number' ? singleToNode.get(key) : keyToNode.get(key)
    }
    if (node === undefined) {
      node = members.length
      if (typeof key === 'number') singleToNode.set(key, node)
      else keyToNode.set(key, node)
      members.push([])
      codes.push(sorted ?? Int32Array.of(key as number))
      const workload = inventory.workloads[w] as Workload
      const eps: Endpoint[] = []
      for (const ip of addrs) {
        const parsed = parseIp(ip)
        if (parsed) eps.push({ ip: parsed, entity: { kind: 'workload', workload } })
      }
      reps.push(eps)
    }
    members[node]?.push(w)
    nodeOf[w] = node
  })
  return { nodeOf, members, codes, reps }
}

const unions = new WeakMap<ServiceSet, WeakMap<ServiceSet, ServiceSet>>()
/** `a ∪ b`, memoised per pair of (immutable) sets, so that equal unions are one object. */
function unionOf(a: ServiceSet, b: ServiceSet): ServiceSet {
  if (a === b) return a
  let m = unions.get(a)
  if (m === undefined) {
    m = new WeakMap()
    unions.set(a, m)
  }
  let u = m.get(b)
  if (u === undefined) {
    u = a.union(b)
    m.set(b, u)
  }
  return u
}

/** Per address family (0 IPv4, 1 IPv6): a service set without the other family's ICMP, memoised. */
const OWN_FAMILY = [new WeakMap<ServiceSet, ServiceSet>(), new WeakMap<ServiceSet, ServiceSet>()]

/**
 * `s` between addresses of one family (`v6` 0 or 1): ICMPv6 (58) is no traffic between IPv4
 * addresses, nor ICMP (1) between IPv6 ones (README Limits; connlist judges them so too).
 */
function ownFamily(s: ServiceSet, v6: number): ServiceSet {
  const memo = OWN_FAMILY[v6] as WeakMap<ServiceSet, ServiceSet>
  let t = memo.get(s)
  if (t === undefined) {
    t = s.subtract(ICMP_OF_FAMILY[v6 === 1 ? 4 : 6])
    memo.set(s, t)
  }
  return t
}

/** Per address family (0 IPv4, 1 IPv6): whether a service set holds a connection, memoised. */
const CONNECTS = [new WeakMap<ServiceSet, boolean>(), new WeakMap<ServiceSet, boolean>()]

/**
 * Whether `s`, between addresses of one family (`v6` 0 or 1), holds a service that is a
 * connection: not only messages of other connections (core `NO_CONNECTION_SERVICES`: ICMP
 * errors, link control, ICMP replies), which reach no service even where a rule names them, as
 * `connlist` makes no line of them alone.
 */
function connects(s: ServiceSet, v6: number): boolean {
  const memo = CONNECTS[v6] as WeakMap<ServiceSet, boolean>
  let c = memo.get(s)
  if (c === undefined) {
    c = !s.subtract(NO_CONNECTION_SERVICES[v6 === 1 ? 6 : 4]).isEmpty
    memo.set(s, c)
  }
  return c
}

/** Services from node `a` to node `b`: the union over same-family class pairs. */
function pairServices(index: PolicyIndex, a: Int32Array, b: Int32Array): ServiceSet {
  let set: ServiceSet | undefined
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number
    for (let j = 0; j < b.length; j++) {
      const y = b[j] as number
      if ((x & 1) !== (y & 1)) continue
      const s = ownFamily(index.allowedServicesClasses(x >> 1, y >> 1), x & 1)
      set = set === undefined ? s : unionOf(set, s)
    }
  }
  return set ?? ServiceSet.EMPTY
}

/** The address families of a node's class codes: bit 0 IPv4, bit 1 IPv6. */
function familiesOf(codes: Int32Array): number {
  let f = 0
  for (const c of codes) f |= 1 << (c & 1)
  return f
}

/**
 * Whether the services `s` from node `a` to node `b` make a lateral path: some of them is a
 * connection in a family both nodes hold ({@link connects}).
 */
function isPath(s: ServiceSet, a: Int32Array, b: Int32Array): boolean {
  if (isEmptySet(s)) return false
  const m = familiesOf(a) & familiesOf(b)
  return (
    ((m & 1) !== 0 && connects(ownFamily(s, 0), 0)) ||
    ((m & 2) !== 0 && connects(ownFamily(s, 1), 1))
  )
}

/**
 * `policy`: what the policy set allows, computed on the endpoint classes of a {@link PolicyIndex}
 * built at `at` (rule expiry and address holdings both judged at `at`, ms).
 */
export function policyReachGraph(
  inventory: Inventory,
  policySet: PolicySet,
  at: number,
): ReachGraph {
  return PolicyReachability.build(inventory, policySet, at).graph
}

/**
 * `enforced`: what is open today, each workload in the mode its `kind: Enforcement` entries give
 * it (see the module comment), on the same endpoint classes as {@link policyReachGraph} (rule
 * expiry and address holdings judged at `at`, ms). A pair of nodes with a same-family address
 * pair where neither side enforces is open on every service of that family.
 */
export function enforcedReachGraph(
  inventory: Inventory,
  policySet: PolicySet,
  at: number,
): ReachGraph {
  return PolicyReachability.build(inventory, policySet, at, { enforced: true }).graph
}

/** Options of {@link PolicyReachability.build}. */
export interface PolicyReachOptions {
  /** As in {@link ReachOptions}: only these services count. */
  readonly exploitable?: ServiceSet
  /**
   * The `enforced` baseline instead of `policy`: a same-family class pair where neither side's
   * enforcement mode is `enforce` is open on every service (see {@link PolicyReachability}).
   */
  readonly enforced?: boolean
}

/** Per open-family mask (bit 0 IPv4, bit 1 IPv6): every service between such addresses. */
const OPEN_SERVICES = [
  ServiceSet.EMPTY,
  ownFamily(ServiceSet.ANY, 0),
  ownFamily(ServiceSet.ANY, 1),
  ServiceSet.ANY,
]

/** A stable text key of a rule, locations left out, to find which rules a change touched. */
function ruleKey(rule: Rule, scope: Readonly<Record<string, string>>): string {
  return JSON.stringify([rule, scope], (k, v: unknown) =>
    k === 'location' ? undefined : typeof v === 'bigint' ? v.toString() : v,
  )
}

/** What {@link PolicyReachability.updatePolicy} did. */
export interface ReachUpdate {
  /** `incremental`: only affected group pairs were recomputed; `full`: the graph was rebuilt. */
  readonly mode: 'incremental' | 'full'
  readonly changedRules: number
  /** (source group, destination group) pairs whose services were recomputed. */
  readonly pairsRecomputed: number
  /** Group pairs (edge-row entries) that gained or lost their last (counted) service. */
  readonly edgesAdded: number
  readonly edgesRemoved: number
  /** Source or destination groups split because a changed rule matched only part of one. */
  readonly groupsSplit: number
}

/** A changed rule with the scope it is read in. */
interface ChangedRule {
  readonly rule: Rule
  readonly scope: Policy['scope']
}

/**
 * The rules of `before` not in `after` and of `after` not in `before` (a rule counts as the same
 * when it is the same object under an equal scope, or has an equal {@link ruleKey}).
 */
function changedRules(before: Policy | undefined, after: Policy | undefined): ChangedRule[] {
  const oldScope = before?.scope ?? {}
  const newScope = after?.scope ?? {}
  const sameScope = JSON.stringify(oldScope) === JSON.stringify(newScope)
  const oldRules = before?.rules ?? []
  const newRules = after?.rules ?? []
  const kept = new Set<Rule>()
  if (sameScope) {
    const olds = new Set(oldRules)
    for (const r of newRules) if (olds.has(r)) kept.add(r)
  }
  const keys = (rules: readonly Rule[], scope: Policy['scope']): Map<string, ChangedRule> =>
    new Map(rules.filter((r) => !kept.has(r)).map((r) => [ruleKey(r, scope), { rule: r, scope }]))
  const b = keys(oldRules, oldScope)
  const a = keys(newRules, newScope)
  return [
    ...[...b].filter(([k]) => !a.has(k)).map(([, v]) => v),
    ...[...a].filter(([k]) => !b.has(k)).map(([, v]) => v),
  ]
}

const labelKey = (k: string, v: string): string => `${k}\u0000${v}`

/**
 * The `policy` baseline, kept up to date under policy changes. Build once; {@link updatePolicy}
 * after a policy file changes; read {@link graph} and {@link figures} (both valid until the next
 * update, which changes them in place).
 *
 * Groups (see graph.ts): nodes whose endpoint classes have equal `from` rule lists (per address
 * family) share a source group, equal `to` rule lists a destination group; services are computed
 * once per group pair that some live allow rule covers.
 *
 * Incremental update (issue 9 item 3): a pair's services depend only on the rules whose `from`
 * matches the source and `to` the destination. After a change, the nodes each changed rule (old
 * or new version) matches on either side are found through a label index; a group that a changed
 * rule matches only in part is split (the moved nodes keep a copy of the row, or of the column),
 * so that groups stay classes of equal rule lists; then only the pairs (source group of a matched
 * source, destination group of a matched destination) are recomputed, and direct figures only for
 * the nodes of those source groups. Transitive reach is recomputed over destination groups (a
 * bitset closure, no node-level pass) only when some row gained or lost an entry or a group was
 * split. A change to a rule with a CIDR, workload or external selector can change the endpoint
 * classes themselves; then the graph is rebuilt (`mode: 'full'`). Figures use unlimited hops.
 *
 * Under `enforced` ({@link PolicyReachOptions.enforced}) a class's key also says whether it
 * enforces (workloads of one identity in different modes part). A class that does not enforce is
 * keyed by its rule lists cut down to the rules an enforcing class has on the other side (towards
 * the others it is open on every service anyway), so that when little is enforced the open
 * workloads share few groups: with nothing enforcing, one group per address-family set. A pair of
 * groups sharing a family in which both have a class that does not enforce is open on every
 * service of those families (plus what the policy allows in another family, for dual stack);
 * the other pairs get the policy's services, as under `policy`. Every update rebuilds.
 */
export class PolicyReachability {
  figures!: ReachFigures
  private nodes!: PolicyNodes
  private srcGroup!: Int32Array
  private dstGroup!: Int32Array
  private rows!: EdgeRow[]
  private srcNodes!: number[][]
  private groupNodes!: number[][]
  /** Per destination group: workloads. */
  private weights!: number[]
  /** Per source group: the row's (direct, directServices) sums before the self correction. */
  private sums!: (readonly [number, number])[]
  private table!: ServiceTable
  /** Label pair → nodes whose workloads carry it (nodes holding an address only). */
  private labelIndex!: Map<string, number[]>
  private addressed!: number[]
  /** The index's {@link PolicyIndex.partitionEpoch} at the last rebuild: class ids renewed when it moves. */
  private epoch = -1
  private policies: Policy[]

  private constructor(
    private readonly inventory: Inventory,
    private readonly policySet: PolicySet,
    private readonly at: number,
    private readonly options: PolicyReachOptions,
    private readonly index: PolicyIndex,
  ) {
    this.policies = [...policySet.policies]
    this.rebuild()
  }

  /** Builds the graph and its figures; `options` as in {@link PolicyReachOptions}. */
  static build(
    inventory: Inventory,
    policySet: PolicySet,
    at: number,
    options: PolicyReachOptions = {},
  ): PolicyReachability {
    return new PolicyReachability(
      inventory,
      policySet,
      at,
      options,
      PolicyIndex.build(inventory, policySet, at),
    )
  }

  /** The policy set as updated so far. */
  get currentPolicySet(): PolicySet {
    return { policies: this.policies, enforcement: this.policySet.enforcement }
  }

  /** The graph as of the last build or update (its arrays change on the next update). */
  get graph(): ReachGraph {
    return {
      baseline: this.options.enforced === true ? 'enforced' : 'policy',
      workloads: this.inventory.workloads,
      nodeOf: this.nodes.nodeOf,
      members: this.nodes.members,
      srcGroup: this.srcGroup,
      dstGroup: this.dstGroup,
      rows: this.rows,
      groupNodes: this.groupNodes,
      services: this.table.sets,
    }
  }

  private rebuild(): void {
    this.epoch = this.index.partitionEpoch
    const held = heldAddresses(this.inventory, this.at)
    const nodes = policyNodes(this.index, this.inventory, held, this.at)
    this.nodes = nodes
    const n = nodes.members.length
    // groups: equal rule lists per family (by content; the index's interned arrays make the
    // identity lookup hit first)
    const fromIds = new Map<Int32Array, number>()
    const toIds = new Map<Int32Array, number>()
    const fromText = new Map<string, number>()
    const toText = new Map<string, number>()
    const intern = (
      m: Map<Int32Array, number>,
      byText: Map<string, number>,
      list: Int32Array,
    ): number => {
      let id = m.get(list)
      if (id === undefined) {
        const text = list.join(',')
        id = byText.get(text)
        if (id === undefined) {
          id = byText.size
          byText.set(text, id)
        }
        m.set(list, id)
      }
      return id
    }
    const srcKeys = new Map<string, number>()
    const dstKeys = new Map<string, number>()
    this.srcGroup = new Int32Array(n)
    this.dstGroup = new Int32Array(n)
    this.srcNodes = []
    this.groupNodes = []
    const ruleCount = this.index.ruleCount
    const modes = this.classModes(nodes)
    // `enforced`: the rule lists of a class that does not enforce matter only towards classes
    // that do (towards the others everything is open), so they are keyed by the rules that an
    // enforcing class has on its other side; when nothing enforces, groups are the families
    const towardsEnforcing = [new Uint8Array(ruleCount), new Uint8Array(ruleCount)] as const
    for (const [cls, open] of this.options.enforced === true ? modes : []) {
      if (open) continue
      const { from, to } = this.index.classRules(cls)
      for (const r of to) (towardsEnforcing[0] as Uint8Array)[r] = 1
      for (const r of from) (towardsEnforcing[1] as Uint8Array)[r] = 1
    }
    const openIds = [new Map<Int32Array, number>(), new Map<Int32Array, number>()] as const
    const openText = [new Map<string, number>(), new Map<string, number>()] as const
    const openKey = (side: 0 | 1, list: Int32Array): number => {
      let id = openIds[side].get(list)
      if (id === undefined) {
        const keep = towardsEnforcing[side]
        const text = list.filter((r) => keep[r] === 1).join(',')
        id = openText[side].get(text)
        if (id === undefined) {
          id = openText[side].size
          openText[side].set(text, id)
        }
        openIds[side].set(list, id)
      }
      return id
    }
    /** Per node: bit f set when it has a class of family f (0 IPv4, 1 IPv6) that does not enforce. */
    const openMask = new Uint8Array(n)
    const keyOf = (xs: number[]): string =>
      xs.length <= 1 ? String(xs[0] ?? '') : [...new Set(xs)].sort((x, y) => x - y).join(',')
    for (let a = 0; a < n; a++) {
      const sk: number[] = []
      const dk: number[] = []
      for (const c of nodes.codes[a] as Int32Array) {
        const { from, to } = this.index.classRules(c >> 1)
        const fam = c & 1
        if (modes.get(c >> 1) === true) {
          openMask[a] = (openMask[a] as number) | (1 << fam)
          sk.push(openKey(0, from) * 4 + fam)
          dk.push(openKey(1, to) * 4 + fam)
        } else {
          sk.push(intern(fromIds, fromText, from) * 4 + 2 + fam)
          dk.push(intern(toIds, toText, to) * 4 + 2 + fam)
        }
      }
      const s = keyOf(sk)
      let gs = srcKeys.get(s)
      if (gs === undefined) {
        gs = this.srcNodes.length
        srcKeys.set(s, gs)
        this.srcNodes.push([])
      }
      this.srcGroup[a] = gs
      this.srcNodes[gs]?.push(a)
      const d = keyOf(dk)
      let gd = dstKeys.get(d)
      if (gd === undefined) {
        gd = this.groupNodes.length
        dstKeys.set(d, gd)
        this.groupNodes.push([])
      }
      this.dstGroup[a] = gd
      this.groupNodes[gd]?.push(a)
    }
    // only group pairs that some live allow rule covers (source side × destination side) can
    // have services: per source group, its allow rules; per rule, its destination groups
    const allow = new Int8Array(ruleCount)
    const isAllow = (r: number): boolean => {
      let v = allow[r] as number
      if (v === 0) {
        v = this.index.ruleAt(r).action === 'allow' ? 1 : 2
        allow[r] = v
      }
      return v === 1
    }
    const srcRules: number[][] = this.srcNodes.map(() => [])
    const dstByRule: number[][] = Array.from({ length: ruleCount }, () => [])
    const last = new Int32Array(ruleCount).fill(-1)
    this.srcNodes.forEach((ns, s) => {
      const list = srcRules[s] as number[]
      for (const c of nodes.codes[ns[0] as number] as Int32Array)
        for (const r of this.index.classRules(c >> 1).from)
          if (last[r] !== s && isAllow(r)) {
            last[r] = s
            list.push(r)
          }
    })
    last.fill(-1)
    this.groupNodes.forEach((ns, g) => {
      for (const c of nodes.codes[ns[0] as number] as Int32Array)
        for (const r of this.index.classRules(c >> 1).to)
          if (last[r] !== g && isAllow(r)) {
            last[r] = g
            dstByRule[r]?.push(g)
          }
    })
    this.table = new ServiceTable()
    const stamp = new Int32Array(this.groupNodes.length).fill(-1)
    const first = (g: number): number => (this.groupNodes[g] as number[])[0] as number
    // `enforced`: destination groups with a class that does not enforce, and per node the
    // families it has
    const openDst: number[] = []
    this.groupNodes.forEach((ns, g) => {
      if (openMask[ns[0] as number] !== 0) openDst.push(g)
    })
    const lists = this.srcNodes.map((ns, s) => {
      const out: [number, number][] = []
      const a = ns[0] as number
      const ca = nodes.codes[a] as Int32Array
      const ma = openMask[a] as number
      for (const r of srcRules[s] as number[]) {
        for (const g of dstByRule[r] as number[]) {
          if (stamp[g] === s) continue
          stamp[g] = s
          if ((ma & (openMask[first(g)] as number)) !== 0) continue // open: below
          const cb = nodes.codes[first(g)] as Int32Array
          const set = this.counted(pairServices(this.index, ca, cb))
          if (isPath(set, ca, cb)) out.push([g, this.table.id(set)])
        }
      }
      if (ma === 0) return out
      // open pairs: every service of each family where neither side enforces, and what the
      // policy allows in a family where one side enforces (only dual-stack nodes have one)
      const fa = familiesOf(ca)
      for (const g of openDst) {
        const b = first(g)
        const m = ma & (openMask[b] as number)
        if (m === 0) continue
        const cb = nodes.codes[b] as Int32Array
        const open = OPEN_SERVICES[m] as ServiceSet
        const set = this.counted(
          m === 3 || (fa & familiesOf(cb) & ~m) === 0
            ? open
            : unionOf(open, pairServices(this.index, ca, cb)),
        )
        if (isPath(set, ca, cb)) out.push([g, this.table.id(set)])
      }
      return out
    })
    this.rows = rowsOf(lists)
    const graph = this.graph
    const weights = groupWeights(graph)
    this.weights = Array.from(weights)
    this.sums = this.rows.map((_, s) => rowSums(graph, s, weights))
    const direct = new Int32Array(n)
    const directServices = new Float64Array(n)
    for (let a = 0; a < n; a++) directOfNode(graph, this.sums, a, direct, directServices)
    this.figures = {
      direct,
      directServices,
      transitive: transitiveFigures(graph, undefined, weights),
    }
    // label index for updates
    this.labelIndex = new Map()
    this.addressed = []
    for (let a = 0; a < n; a++) {
      if ((nodes.reps[a] as Endpoint[]).length === 0) continue
      this.addressed.push(a)
      const w = this.inventory.workloads[(nodes.members[a] as number[])[0] as number] as Workload
      for (const [k, v] of Object.entries(w.labels)) {
        const key = labelKey(k, v)
        const list = this.labelIndex.get(key)
        if (list) list.push(a)
        else this.labelIndex.set(key, [a])
      }
    }
  }

  /**
   * Per endpoint class of the nodes: true when it is open under `enforced` (its mode is not
   * `enforce`); every class is closed (false) under `policy`.
   */
  private classModes(nodes: PolicyNodes): Map<number, boolean> {
    const out = new Map<number, boolean>()
    const enforced = this.options.enforced === true
    for (const codes of nodes.codes)
      for (const c of codes) {
        const cls = c >> 1
        if (!out.has(cls))
          out.set(cls, enforced && this.index.endpointClassInfo(cls).mode !== 'enforce')
      }
    return out
  }

  private readonly intersections = new WeakMap<ServiceSet, ServiceSet>()
  private counted(s: ServiceSet): ServiceSet {
    const x = this.options.exploitable
    if (x === undefined) return s
    let r = this.intersections.get(s)
    if (r === undefined) {
      r = s.intersect(x)
      this.intersections.set(s, r)
    }
    return r
  }

  /** Nodes (holding an address) that some selector of `sels` matches, read in `scope`. */
  private matching(sels: readonly Selector[], scope: Policy['scope']): number[] {
    const found = new Set<number>()
    for (const sel of sels) {
      let cands = this.addressed
      if (sel.kind === 'labels') {
        const pairs = [...Object.entries(sel.match), ...(sel.global ? [] : Object.entries(scope))]
        for (const [k, v] of pairs) {
          const list = this.labelIndex.get(labelKey(k, v)) ?? []
          if (list.length < cands.length) cands = list
        }
      }
      for (const a of cands) {
        if (found.has(a)) continue
        const ep = (this.nodes.reps[a] as Endpoint[])[0] as Endpoint
        if (selectorMatches(sel, ep, scope)) found.add(a)
      }
    }
    return [...found]
  }

  /**
   * Splits the groups of one side so that the nodes of a group match the same changed rules:
   * `sets[k]` are the nodes changed rule `k` matches. Returns how many groups were created.
   */
  private refine(sets: readonly number[][], side: 'src' | 'dst'): number {
    const groupOf = side === 'src' ? this.srcGroup : this.dstGroup
    const members = side === 'src' ? this.srcNodes : this.groupNodes
    const pattern = new Map<number, string>()
    sets.forEach((ns, k) => {
      for (const a of ns) pattern.set(a, `${pattern.get(a) ?? ''}${k},`)
    })
    const byGroup = new Map<number, Map<string, number[]>>()
    for (const [a, p] of pattern) {
      const g = groupOf[a] as number
      let m = byGroup.get(g)
      if (m === undefined) byGroup.set(g, (m = new Map<string, number[]>()))
      const list = m.get(p)
      if (list) list.push(a)
      else m.set(p, [a])
    }
    let created = 0
    for (const [g, pats] of byGroup) {
      let touched = 0
      for (const ns of pats.values()) touched += ns.length
      const untouched = (members[g] as number[]).length - touched
      if (untouched === 0 && pats.size === 1) continue
      let keep = untouched === 0
      const moved = new Set<number>()
      for (const ns of pats.values()) {
        if (keep) {
          keep = false
          continue
        }
        ns.sort((x, y) => x - y)
        const ng = members.length
        members.push(ns)
        for (const a of ns) {
          groupOf[a] = ng
          moved.add(a)
        }
        if (side === 'src') {
          this.rows.push(this.rows[g] as EdgeRow)
          this.sums.push(this.sums[g] as readonly [number, number])
        } else {
          let w = 0
          for (const a of ns) w += (this.nodes.members[a] as number[]).length
          this.weights.push(w)
          this.weights[g] = (this.weights[g] as number) - w
          // the new group is reached wherever the old one was (ids ascend: append keeps order)
          this.rows.forEach((row, s) => {
            const k = rowFind(row, g)
            if (k < 0) return
            const dst = new Int32Array(row.dst.length + 1)
            const svc = new Int32Array(row.svc.length + 1)
            dst.set(row.dst)
            svc.set(row.svc)
            dst[row.dst.length] = ng
            svc[row.svc.length] = row.svc[k] as number
            this.rows[s] = { dst, svc }
          })
        }
        created++
      }
      members[g] = (members[g] as number[]).filter((a) => !moved.has(a))
    }
    return created
  }

  /**
   * Replaces the policy named `name` (`undefined` removes it), as {@link PolicyIndex.updatePolicy},
   * and updates the graph and figures (see the class comment).
   * @throws RangeError when `policy.name !== name`.
   */
  updatePolicy(name: string, policy: Policy | undefined): ReachUpdate {
    const at = this.policies.findIndex((p) => p.name === name)
    const old = at >= 0 ? this.policies[at] : undefined
    this.index.updatePolicy(name, policy)
    if (policy === undefined) {
      if (at >= 0) this.policies.splice(at, 1)
    } else if (at >= 0) this.policies[at] = policy
    else {
      const before = this.policies.findIndex((p) => p.name > name)
      this.policies.splice(before < 0 ? this.policies.length : before, 0, policy)
    }
    const changed = changedRules(old, policy)
    const structural = changed.some(({ rule }) =>
      [...rule.from, ...rule.to].some(
        (s) => s.kind === 'cidr' || s.kind === 'workload' || s.kind === 'external',
      ),
    )
    if (structural || this.index.partitionEpoch !== this.epoch || this.options.enforced === true) {
      this.rebuild()
      return {
        mode: 'full',
        changedRules: changed.length,
        pairsRecomputed: this.srcNodes.length * this.groupNodes.length,
        edgesAdded: 0,
        edgesRemoved: 0,
        groupsSplit: 0,
      }
    }
    const srcSets = changed.map(({ rule, scope }) => this.matching(rule.from, scope))
    const dstSets = changed.map(({ rule, scope }) => this.matching(rule.to, scope))
    const split = this.refine(srcSets, 'src') + this.refine(dstSets, 'dst')
    // pairs to recompute: (source group of a matched source) × (destination group of a matched
    // destination), over the rules that match on both sides
    const srcs = new Set<number>()
    const dstSet = new Set<number>()
    changed.forEach((_, k) => {
      const s = srcSets[k] as number[]
      const d = dstSets[k] as number[]
      if (s.length === 0 || d.length === 0) return
      for (const a of s) srcs.add(this.srcGroup[a] as number)
      for (const b of d) dstSet.add(this.dstGroup[b] as number)
    })
    const dsts = Int32Array.from(dstSet).sort()
    let pairs = 0
    let added = 0
    let removed = 0
    for (const s of srcs) {
      const row = this.rows[s] as EdgeRow
      const ca = this.nodes.codes[(this.srcNodes[s] as number[])[0] as number] as Int32Array
      const dst: number[] = []
      const svc: number[] = []
      let i = 0
      for (const g of dsts) {
        while (i < row.dst.length && (row.dst[i] as number) < g) {
          dst.push(row.dst[i] as number)
          svc.push(row.svc[i] as number)
          i++
        }
        const had = i < row.dst.length && row.dst[i] === g
        if (had) i++
        const cb = this.nodes.codes[(this.groupNodes[g] as number[])[0] as number] as Int32Array
        const set = this.counted(pairServices(this.index, ca, cb))
        pairs++
        if (isPath(set, ca, cb)) {
          dst.push(g)
          svc.push(this.table.id(set))
          if (!had) added++
        } else if (had) removed++
      }
      for (; i < row.dst.length; i++) {
        dst.push(row.dst[i] as number)
        svc.push(row.svc[i] as number)
      }
      this.rows[s] =
        dst.length === 0 ? EMPTY_ROW : { dst: Int32Array.from(dst), svc: Int32Array.from(svc) }
    }
    const graph = this.graph
    for (const s of srcs) {
      this.sums[s] = rowSums(graph, s, this.weights)
      for (const a of this.srcNodes[s] as number[])
        directOfNode(graph, this.sums, a, this.figures.direct, this.figures.directServices)
    }
    if (added > 0 || removed > 0 || split > 0)
      this.figures.transitive.set(transitiveFigures(graph, undefined, this.weights))
    return {
      mode: 'incremental',
      changedRules: changed.length,
      pairsRecomputed: pairs,
      edgesAdded: added,
      edgesRemoved: removed,
      groupsSplit: split,
    }
  }
}

/**
 * Reach figures of a graph: direct and directServices per node, and transitive reach (unlimited
 * hops through the group closure, or a breadth-first search over groups when `options.hops` is
 * set). `options.exploitable` filters the edges first (see the module comment).
 */
export function reachFigures(graph: ReachGraph, options: ReachOptions = {}): ReachFigures {
  const g = options.exploitable ? restrictGraph(graph, options.exploitable) : graph
  return graphFigures(g, options.hops)
}
