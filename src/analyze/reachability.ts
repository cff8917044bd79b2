/**
 * @module Reachability graphs between workloads under three baselines — `flat` (no
 * segmentation), `observed` (what the flows show) and `policy` (what a policy set allows) — and
 * their reach figures: direct and transitive reach (lateral movement), with incremental update
 * after a policy change.
 *
 * The graph is built on **nodes**, not workloads: workloads that every rule treats alike share a
 * node (as Cilium and atomic-predicate verifiers analyse identities, not endpoints), and figures
 * are expanded to workloads only for reporting. Under `policy` a node is the set of
 * {@link PolicyIndex} endpoint classes of the addresses a workload holds (workloads with equal
 * labels and equal policy relevance collapse); under `flat` every active workload is in one node;
 * under `observed` each workload is its own node (flows are per workload).
 *
 * Semantics (DESIGN.md "blast radius", "Policy language v1"):
 *
 * - A workload is **active** when it holds an address at the instant `at` (an address held by two
 *   workloads at once belongs to the first in inventory order, as `resolveEntity` decides). Only
 *   active workloads reach or are reached, in every baseline.
 * - Workload A **reaches** workload B ≠ A on service P when some address of A may open a
 *   connection to some address of B (of the same family) on P: under `policy` when the policy set
 *   allows the flow (rule expiry judged at `at`); under `flat` always; under `observed` when the
 *   dependency map has an edge A → B on P that was not wholly rejected by the observer.
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

/** Which reachability the figures describe. Stable: written in JSON output. */
export type Baseline = 'flat' | 'observed' | 'policy'

/**
 * A reachability graph over nodes of workloads. `nodeOf[w]` is the node of workload `w`
 * (inventory index); `members[n]` the workloads of node `n`, in inventory order; `edges[n]` maps
 * each destination node to the non-empty services allowed from every member of `n` to every
 * member of the destination (a self-edge `n → n` means members reach each other, never
 * themselves).
 */
export interface ReachGraph {
  readonly baseline: Baseline
  readonly workloads: readonly Workload[]
  readonly nodeOf: Int32Array
  readonly members: readonly (readonly number[])[]
  readonly edges: readonly Map<number, ServiceSet>[]
}

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
 */
export function heldAddresses(inventory: Inventory, at: number): string[][] {
  const holder = new Map<string, number>()
  inventory.workloads.forEach((w, i) => {
    for (const a of w.addresses) if (addressHoldsAt(a, at) && !holder.has(a.ip)) holder.set(a.ip, i)
  })
  return inventory.workloads.map((w, i) => [
    ...new Set(w.addresses.filter((a) => holder.get(a.ip) === i).map((a) => a.ip)),
  ])
}

/** `flat`: every active workload reaches every other on every service. */
export function flatReachGraph(inventory: Inventory, at: number): ReachGraph {
  const held = heldAddresses(inventory, at)
  const nodeOf = new Int32Array(held.length)
  const active: number[] = []
  const idle: number[] = []
  held.forEach((a, i) => {
    if (a.length > 0) active.push(i)
    else {
      idle.push(i)
      nodeOf[i] = 1
    }
  })
  const edges = [new Map<number, ServiceSet>(), new Map<number, ServiceSet>()]
  if (active.length > 0) edges[0]?.set(0, ServiceSet.ANY)
  return {
    baseline: 'flat',
    workloads: inventory.workloads,
    nodeOf,
    members: [active, idle],
    edges,
  }
}

/**
 * `observed`: an edge A → B on each (protocol, port) of a dependency-map edge between two
 * inventory workloads (entities of kind `workload`, matched by name), unless the observer
 * rejected every flow of the edge. Self-edges of a workload are left out. Entities of other kinds
 * (externals, unmanaged ranges, `--group-by` identities) are not workloads and are ignored.
 * Pure function over the map; the workloads need not be active (flows were seen).
 */
export function observedReachGraph(inventory: Inventory, map: DependencyMap): ReachGraph {
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
    const s = kind.get(e.src)
    const d = kind.get(e.dst)
    if (s?.kind !== 'workload' || d?.kind !== 'workload') continue
    const a = byName.get(s.name)
    const b = byName.get(d.name)
    if (a === undefined || b === undefined || a === b) continue
    const m = services[a] as Map<number, { protocol: number; ports: { lo: number; hi: number } }[]>
    const list = m.get(b) ?? []
    list.push({ protocol: e.protocol, ports: { lo: e.dstPort, hi: e.dstPort } })
    m.set(b, list)
  }
  const edges = services.map((m) => new Map([...m].map(([b, list]) => [b, ServiceSet.of(list)])))
  return { baseline: 'observed', workloads: inventory.workloads, nodeOf, members, edges }
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
  held.forEach((addrs, w) => {
    const cs: number[] = []
    for (const ip of addrs) cs.push(index.endpointClass(ip, at) * 2 + (ip.includes(':') ? 1 : 0))
    const sorted =
      cs.length === 1 ? Int32Array.of(cs[0] as number) : Int32Array.from(new Set(cs)).sort()
    const key = sorted.join(',')
    let node = keyToNode.get(key)
    if (node === undefined) {
      node = members.length
      keyToNode.set(key, node)
      members.push([])
      codes.push(sorted)
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

/** Services from node `a` to node `b`: the union over same-family class pairs. */
function pairServices(index: PolicyIndex, a: Int32Array, b: Int32Array): ServiceSet {
  let set: ServiceSet | undefined
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number
    for (let j = 0; j < b.length; j++) {
      const y = b[j] as number
      if ((x & 1) !== (y & 1)) continue
      const s = index.allowedServicesClasses(x >> 1, y >> 1)
      set = set === undefined ? s : unionOf(set, s)
    }
  }
  return set ?? ServiceSet.EMPTY
}

const emptyMemo = new WeakMap<ServiceSet, boolean>()
/** `set.isEmpty`, memoised per (immutable) set. */
export function isEmptySet(set: ServiceSet): boolean {
  let e = emptyMemo.get(set)
  if (e === undefined) {
    e = set.isEmpty
    emptyMemo.set(set, e)
  }
  return e
}

const entriesMemo = new WeakMap<ServiceSet, number>()
/** How many services a set lists ({@link ServiceSet.toServices}), memoised per set. */
export function serviceCount(set: ServiceSet): number {
  let n = entriesMemo.get(set)
  if (n === undefined) {
    n = set.isEmpty ? 0 : set.toServices().length
    entriesMemo.set(set, n)
  }
  return n
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

/** A stable text key of a rule, locations left out, to find which rules a change touched. */
function ruleKey(rule: Rule, scope: Readonly<Record<string, string>>): string {
  return JSON.stringify([rule, scope], (k, v: unknown) =>
    k === 'location' ? undefined : typeof v === 'bigint' ? v.toString() : v,
  )
}

/** What {@link PolicyReachability.updatePolicy} did. */
export interface ReachUpdate {
  /** `incremental`: only affected node pairs were recomputed; `full`: the graph was rebuilt. */
  readonly mode: 'incremental' | 'full'
  readonly changedRules: number
  /** Node pairs whose services were recomputed. */
  readonly pairsRecomputed: number
  /** Node pairs that gained or lost their last (counted) service. */
  readonly edgesAdded: number
  readonly edgesRemoved: number
}

/**
 * The `policy` baseline, kept up to date under policy changes. Build once; {@link updatePolicy}
 * after a policy file changes; read {@link graph} and {@link figures}.
 *
 * Incremental update (issue 9 item 3): a node pair's services depend only on the rules whose
 * `from` matches the source and `to` the destination, so after a change only pairs (S, D) where S
 * matches a `from` and D a `to` of a changed rule (old or new version) are recomputed; direct
 * figures are recomputed for those sources; transitive reach is updated in place when edges are
 * only added (every node that reaches the new edge's source gains the destination's reach), and
 * recomputed (strongly connected components and bitsets) when an edge disappears. A change to a
 * rule with a CIDR, workload or external selector can change the endpoint classes themselves;
 * then the graph is rebuilt (`mode: 'full'`). Figures use unlimited hops.
 */
export class PolicyReachability {
  graph!: ReachGraph
  figures!: ReachFigures
  private nodes!: PolicyNodes
  private closure!: Closure
  private policies: Policy[]

  private constructor(
    private readonly inventory: Inventory,
    private readonly policySet: PolicySet,
    private readonly at: number,
    private readonly options: { readonly exploitable?: ServiceSet },
    private readonly index: PolicyIndex,
  ) {
    this.policies = [...policySet.policies]
    this.rebuild()
  }

  /** Builds the graph and its figures; `options.exploitable` as in {@link ReachOptions}. */
  static build(
    inventory: Inventory,
    policySet: PolicySet,
    at: number,
    options: { readonly exploitable?: ServiceSet } = {},
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

  private rebuild(): void {
    const held = heldAddresses(this.inventory, this.at)
    this.nodes = policyNodes(this.index, this.inventory, held, this.at)
    const n = this.nodes.members.length
    const edges = Array.from({ length: n }, () => new Map<number, ServiceSet>())
    // only node pairs that some live allow rule covers (source side × destination side) can have
    // services: collect them per rule, then ask the index for those pairs alone
    const srcNodes = new Map<number, Set<number>>()
    const dstNodes = new Map<number, Set<number>>()
    const add = (m: Map<number, Set<number>>, rule: number, node: number): void => {
      if (this.index.ruleAt(rule).action !== 'allow') return
      const set = m.get(rule)
      if (set) set.add(node)
      else m.set(rule, new Set([node]))
    }
    for (let a = 0; a < n; a++) {
      for (const code of this.nodes.codes[a] as Int32Array) {
        const { from, to } = this.index.classRules(code >> 1)
        for (const r of from) add(srcNodes, r, a)
        for (const r of to) add(dstNodes, r, a)
      }
    }
    const words = (n + 31) >>> 5
    const done = new Uint32Array(n * words)
    for (const [r, srcs] of srcNodes) {
      const dsts = dstNodes.get(r)
      if (!dsts) continue
      for (const a of srcs) {
        const ca = this.nodes.codes[a] as Int32Array
        const out = edges[a] as Map<number, ServiceSet>
        for (const b of dsts) {
          const k = a * words + (b >>> 5)
          const bit = 1 << (b & 31)
          if (((done[k] as number) & bit) !== 0) continue
          done[k] = (done[k] as number) | bit
          const s = this.counted(pairServices(this.index, ca, this.nodes.codes[b] as Int32Array))
          if (!isEmptySet(s)) out.set(b, s)
        }
      }
    }
    this.graph = {
      baseline: 'policy',
      workloads: this.inventory.workloads,
      nodeOf: this.nodes.nodeOf,
      members: this.nodes.members,
      edges,
    }
    this.closure = closureOf(this.graph)
    this.figures = {
      direct: new Int32Array(n),
      directServices: new Float64Array(n),
      transitive: new Int32Array(n),
    }
    for (let a = 0; a < n; a++) {
      this.directOf(a)
      ;(this.figures.transitive)[a] = this.closure.count(a)
    }
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

  private directOf(a: number): void {
    const [d, ds] = directFigures(this.graph, a)
    this.figures.direct[a] = d
    this.figures.directServices[a] = ds
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
    // the changed rules, each with the scope it is read in
    const keys = (p: Policy | undefined): Map<string, { rule: Rule; scope: Policy['scope'] }> =>
      new Map(
        (p?.rules ?? []).map((r) => [
          ruleKey(r, p?.scope ?? {}),
          { rule: r, scope: p?.scope ?? {} },
        ]),
      )
    const before = keys(old)
    const after = keys(policy)
    const changed = [
      ...[...before].filter(([k]) => !after.has(k)).map(([, v]) => v),
      ...[...after].filter(([k]) => !before.has(k)).map(([, v]) => v),
    ]
    const structural = changed.some(({ rule }) =>
      [...rule.from, ...rule.to].some(
        (s) => s.kind === 'cidr' || s.kind === 'workload' || s.kind === 'external',
      ),
    )
    if (structural) {
      this.rebuild()
      return {
        mode: 'full',
        changedRules: changed.length,
        pairsRecomputed: this.graph.members.length ** 2,
        edgesAdded: 0,
        edgesRemoved: 0,
      }
    }
    const n = this.graph.members.length
    const matchesNode = (
      sels: readonly Selector[],
      scope: Policy['scope'],
      node: number,
    ): boolean =>
      (this.nodes.reps[node] as Endpoint[]).some((ep) =>
        sels.some((s) => selectorMatches(s, ep, scope)),
      )
    const srcs = new Set<number>()
    const dsts = new Set<number>()
    for (const { rule, scope } of changed) {
      const s: number[] = []
      const d: number[] = []
      for (let a = 0; a < n; a++) {
        if (matchesNode(rule.from, scope, a)) s.push(a)
        if (matchesNode(rule.to, scope, a)) d.push(a)
      }
      if (s.length > 0 && d.length > 0) {
        for (const a of s) srcs.add(a)
        for (const b of d) dsts.add(b)
      }
    }
    let pairs = 0
    const added: [number, number][] = []
    let removed = 0
    for (const a of srcs) {
      const ca = this.nodes.codes[a] as Int32Array
      if (ca.length === 0) continue
      const out = this.graph.edges[a] as Map<number, ServiceSet>
      for (const b of dsts) {
        const cb = this.nodes.codes[b] as Int32Array
        if (cb.length === 0) continue
        pairs++
        const s = this.counted(pairServices(this.index, ca, cb))
        const had = out.has(b)
        if (isEmptySet(s)) {
          if (had) {
            out.delete(b)
            removed++
          }
        } else {
          out.set(b, s)
          if (!had) added.push([a, b])
        }
      }
      this.directOf(a)
    }
    if (removed > 0) {
      this.closure = closureOf(this.graph)
      for (let a = 0; a < n; a++) this.figures.transitive[a] = this.closure.count(a)
    } else if (added.length > 0) {
      for (const [u, v] of added) {
        for (const x of this.closure.addEdge(u, v))
          this.figures.transitive[x] = this.closure.count(x)
      }
    }
    return {
      mode: 'incremental',
      changedRules: changed.length,
      pairsRecomputed: pairs,
      edgesAdded: added.length,
      edgesRemoved: removed,
    }
  }
}

/** Direct reach and direct services of node `a`, per member. */
function directFigures(graph: ReachGraph, a: number): [number, number] {
  let d = 0
  let ds = 0
  for (const [b, s] of graph.edges[a] as Map<number, ServiceSet>) {
    const k = (graph.members[b] as readonly number[]).length - (a === b ? 1 : 0)
    d += k
    ds += k * serviceCount(s)
  }
  return [d, ds]
}

/**
 * Transitive closure of a node graph as one bitset per node (bit `v` set when `v` is reachable
 * in ≥ 1 hop), built over strongly connected components (Tarjan) in reverse topological order.
 */
class Closure {
  constructor(
    private readonly graph: ReachGraph,
    readonly reach: Uint32Array[],
    private readonly words: number,
  ) {}

  /** Workloads reached by any member of node `a` (the member itself excluded). */
  count(a: number): number {
    const r = this.reach[a] as Uint32Array
    let total = 0
    for (let w = 0; w < this.words; w++) {
      let bits = r[w] as number
      while (bits !== 0) {
        const low = bits & -bits
        const v = w * 32 + (31 - Math.clz32(low))
        total += (this.graph.members[v] as readonly number[]).length
        bits ^= low
      }
    }
    return total - (this.has(a, a) ? 1 : 0)
  }

  has(a: number, v: number): boolean {
    return (((this.reach[a] as Uint32Array)[v >>> 5] as number) & (1 << (v & 31))) !== 0
  }

  /** Adds edge u → v; returns the nodes whose reach grew. */
  addEdge(u: number, v: number): number[] {
    const grown: number[] = []
    const rv = this.reach[v] as Uint32Array
    for (let x = 0; x < this.reach.length; x++) {
      if (x !== u && !this.has(x, u)) continue
      const rx = this.reach[x] as Uint32Array
      let changed = false
      const bit = 1 << (v & 31)
      if (((rx[v >>> 5] as number) & bit) === 0) {
        rx[v >>> 5] = (rx[v >>> 5] as number) | bit
        changed = true
      }
      for (let w = 0; w < this.words; w++) {
        const m = (rx[w] as number) | (rv[w] as number)
        if (m !== rx[w]) {
          rx[w] = m
          changed = true
        }
      }
      if (changed) grown.push(x)
    }
    return grown
  }
}

function closureOf(graph: ReachGraph): Closure {
  const n = graph.members.length
  const words = (n + 31) >>> 5
  const succ = graph.edges.map((m) => [...m.keys()])
  // iterative Tarjan
  const index = new Int32Array(n).fill(-1)
  const low = new Int32Array(n)
  const onStack = new Uint8Array(n)
  const stack: number[] = []
  const comp = new Int32Array(n).fill(-1)
  const comps: number[][] = []
  let counter = 0
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue
    const work: [number, number][] = [[root, 0]]
    index[root] = low[root] = counter++
    stack.push(root)
    onStack[root] = 1
    while (work.length > 0) {
      const top = work[work.length - 1] as [number, number]
      const [v, i] = top
      const out = succ[v] as number[]
      if (i < out.length) {
        top[1] = i + 1
        const w = out[i] as number
        if (index[w] === -1) {
          index[w] = low[w] = counter++
          stack.push(w)
          onStack[w] = 1
          work.push([w, 0])
        } else if (onStack[w] === 1) low[v] = Math.min(low[v] as number, index[w] as number)
      } else {
        work.pop()
        const parent = work[work.length - 1]
        if (parent) low[parent[0]] = Math.min(low[parent[0]] as number, low[v] as number)
        if (low[v] === index[v]) {
          const c: number[] = []
          let w: number
          do {
            w = stack.pop() as number
            onStack[w] = 0
            comp[w] = comps.length
            c.push(w)
          } while (w !== v)
          comps.push(c)
        }
      }
    }
  }
  // components come out sinks first: each one's successors are already done
  const compReach: Uint32Array[] = []
  for (let c = 0; c < comps.length; c++) {
    const r = new Uint32Array(words)
    const nodes = comps[c] as number[]
    const cyclic =
      nodes.length > 1 ||
      (graph.edges[nodes[0] as number] as Map<number, ServiceSet>).has(nodes[0] as number)
    if (cyclic) for (const v of nodes) r[v >>> 5] = (r[v >>> 5] as number) | (1 << (v & 31))
    const seen = new Set<number>([c])
    for (const v of nodes) {
      for (const w of succ[v] as number[]) {
        const cw = comp[w] as number
        if (seen.has(cw)) continue
        seen.add(cw)
        const rw = compReach[cw] as Uint32Array
        for (let k = 0; k < words; k++) r[k] = (r[k] as number) | (rw[k] as number)
        for (const x of comps[cw] as number[]) r[x >>> 5] = (r[x >>> 5] as number) | (1 << (x & 31))
      }
    }
    compReach.push(r)
  }
  const reach = Array.from({ length: n }, (_, v) =>
    Uint32Array.from(compReach[comp[v] as number] as Uint32Array),
  )
  return new Closure(graph, reach, words)
}

/**
 * Reach figures of a graph: direct and directServices per node, and transitive reach (unlimited
 * hops through the closure, or a breadth-first search per node when `options.hops` is set).
 * `options.exploitable` filters the edges first (see the module comment).
 */
export function reachFigures(graph: ReachGraph, options: ReachOptions = {}): ReachFigures {
  const g = options.exploitable ? restrictGraph(graph, options.exploitable) : graph
  const n = g.members.length
  const direct = new Int32Array(n)
  const directServices = new Float64Array(n)
  const transitive = new Int32Array(n)
  for (let a = 0; a < n; a++) {
    const [d, ds] = directFigures(g, a)
    direct[a] = d
    directServices[a] = ds
  }
  if (options.hops === undefined) {
    const c = closureOf(g)
    for (let a = 0; a < n; a++) transitive[a] = c.count(a)
  } else {
    const adj = adjacency(g)
    for (let a = 0; a < n; a++) {
      const { dist } = bfsFrom(adj, a, options.hops)
      let t = 0
      for (let v = 0; v < n; v++)
        if ((dist[v] as number) > 0)
          t += (g.members[v] as readonly number[]).length - (v === a ? 1 : 0)
      transitive[a] = t
    }
  }
  return { direct, directServices, transitive }
}

/** The graph with every edge's services intersected with `exploitable`; empty edges dropped. */
export function restrictGraph(graph: ReachGraph, exploitable: ServiceSet): ReachGraph {
  const memo = new Map<ServiceSet, ServiceSet>()
  const edges = graph.edges.map((m) => {
    const out = new Map<number, ServiceSet>()
    for (const [b, s] of m) {
      let r = memo.get(s)
      if (r === undefined) {
        r = s.intersect(exploitable)
        memo.set(s, r)
      }
      if (!isEmptySet(r)) out.set(b, r)
    }
    return out
  })
  return { ...graph, edges }
}

/**
 * Breadth-first search from node `a`: every node reached in 1…`maxHops` hops with its distance
 * and the node it was first reached from (`-1` for a first hop). Node `a` itself appears when a
 * cycle (or self-edge) leads back to it.
 */
export function bfs(
  graph: ReachGraph,
  a: number,
  maxHops = Infinity,
): Map<number, { dist: number; parent: number }> {
  const seen = new Map<number, { dist: number; parent: number }>()
  let frontier = [a]
  let dist = 0
  while (frontier.length > 0 && dist < maxHops) {
    dist++
    const next: number[] = []
    for (const u of frontier) {
      for (const v of (graph.edges[u] as Map<number, ServiceSet>).keys()) {
        if (seen.has(v)) continue
        seen.set(v, { dist, parent: u === a && dist === 1 ? -1 : u })
        if (v !== a) next.push(v)
      }
    }
    frontier = next
  }
  return seen
}

/** Each node's destination nodes as an array, for {@link bfsFrom}. */
export function adjacency(graph: ReachGraph): Int32Array[] {
  return graph.edges.map((m) => Int32Array.from(m.keys()))
}

/** A breadth-first search result: per node its distance (−1: not reached) and BFS parent. */
export interface BfsResult {
  /** Hops from the source (≥ 1), −1 when not reached in 1…maxHops hops. */
  readonly dist: Int32Array
  /** The node each node was first reached from; −1 for first hops. */
  readonly parent: Int32Array
}

/**
 * {@link bfs} over an {@link adjacency}, with typed arrays: the fast form for many sources. The
 * source itself has a distance when a cycle (or self-edge) leads back to it.
 */
export function bfsFrom(adj: readonly Int32Array[], a: number, maxHops = Infinity): BfsResult {
  const n = adj.length
  const dist = new Int32Array(n).fill(-1)
  const parent = new Int32Array(n).fill(-1)
  const queue = new Int32Array(n + 1)
  let head = 0
  let tail = 0
  queue[tail++] = a
  let first = true
  while (head < tail) {
    const u = queue[head++] as number
    const du = first ? 0 : (dist[u] as number)
    first = false
    if (du >= maxHops) continue
    const out = adj[u] as Int32Array
    for (let k = 0; k < out.length; k++) {
      const v = out[k] as number
      if (dist[v] !== -1) continue
      dist[v] = du + 1
      parent[v] = du === 0 ? -1 : u
      if (v !== a) queue[tail++] = v
    }
  }
  return { dist, parent }
}
