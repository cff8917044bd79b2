/**
 * @module The compact reachability graph store shared by every baseline: nodes of workloads,
 * grouped on each side into source and destination groups, with one sorted edge row per source
 * group (typed arrays of destination-group ids and interned service-set ids, two ints per edge).
 *
 * A node-level edge `a → b` exists exactly when the row of `srcGroup[a]` has an entry for
 * `dstGroup[b]`; its services are that entry's set. Under `policy`, nodes whose addresses fall in
 * endpoint classes with equal `from` rule lists share a source group and nodes with equal `to`
 * rule lists share a destination group, so one row entry stands for every node pair of the two
 * groups (a biclique): the 100 000-workload benchmark estate (10 135 nodes, 602 912 node-level
 * edges) is stored as 99 083 row entries over 4 601 source and 3 853 destination groups. Transitive reach is
 * computed over destination groups (every node of a group is reached at the same distance, since
 * edges always reach whole groups) with one bitset per group, and expanded to workload counts by
 * group sizes. Node-level edges are enumerated only for reporting ({@link forEachEdge}).
 * @remarks Semantics: DESIGN.md "blast radius", "identity"; issue 9 items 1 and 3. The biclique
 * compression follows atomic-predicate verifiers and Cilium's identity-based policy maps: the
 * graph is computed on identities (here: rule-list classes), not endpoints.
 */
import { ICMP_OF_FAMILY, NO_CONNECTION_SERVICES, ServiceSet, type Workload } from '../core/index.js'

/**
 * Which reachability the figures describe. Stable: written in JSON output. `policy`: what the
 * policy set allows, as if every workload enforced it; `enforced`: what is closed today, each
 * workload in its enforcement mode (see reachability.ts).
 */
export type Baseline = 'flat' | 'observed' | 'policy' | 'enforced'

/** The edges of one source group: parallel arrays, `dst` strictly ascending. */
export interface EdgeRow {
  /** Destination group ids, ascending. */
  readonly dst: Int32Array
  /** Per entry: an index into {@link ReachGraph.services} (never an empty set). */
  readonly svc: Int32Array
}

/**
 * A reachability graph over nodes of workloads. `nodeOf[w]` is the node of workload `w`
 * (inventory index); `members[n]` the workloads of node `n`, in inventory order. `srcGroup[n]` /
 * `dstGroup[n]` are the node's source and destination groups; `rows[s]` the edges of source group
 * `s`; `groupNodes[g]` the nodes of destination group `g`, ascending; `services[i]` the interned
 * service sets. Node `a` reaches node `b` on `services[rows[srcGroup[a]].svc[k]]` when
 * `rows[srcGroup[a]].dst[k] === dstGroup[b]`. A self-edge `a → a` means that the members of `a`
 * reach each other, never themselves. Graphs held by {@link PolicyReachability} stay valid until
 * its next `updatePolicy`.
 */
export interface ReachGraph {
  readonly baseline: Baseline
  readonly workloads: readonly Workload[]
  readonly nodeOf: Int32Array
  readonly members: readonly (readonly number[])[]
  readonly srcGroup: Int32Array
  readonly dstGroup: Int32Array
  readonly rows: readonly EdgeRow[]
  readonly groupNodes: readonly (readonly number[])[]
  readonly services: readonly ServiceSet[]
}

/** An empty edge row. */
export const EMPTY_ROW: EdgeRow = { dst: new Int32Array(0), svc: new Int32Array(0) }

/** Interns service sets (by object) to small integer ids. */
export class ServiceTable {
  readonly sets: ServiceSet[] = []
  private readonly ids = new Map<ServiceSet, number>()

  /** The id of `set`, allocating one on first sight. */
  id(set: ServiceSet): number {
    let i = this.ids.get(set)
    if (i === undefined) {
      i = this.sets.length
      this.sets.push(set)
      this.ids.set(set, i)
    }
    return i
  }
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
/**
 * How many services a set lists ({@link ServiceSet.toServices}), memoised per set; a set holding
 * every protocol but some (`any-other-protocol,…`, e.g. `any` less the other family's ICMP between
 * addresses of one family) counts its remainder as one more entry, as `any` counts once.
 */
export function serviceCount(set: ServiceSet): number {
  let n = entriesMemo.get(set)
  if (n === undefined) {
    n = set.isEmpty ? 0 : set.toServices().length + (set.rest && !set.isAny ? 1 : 0)
    entriesMemo.set(set, n)
  }
  return n
}

/** Every service between IPv4 addresses (`any` less ICMPv6), and between IPv6 addresses. */
const EVERY_OF_FAMILY = [
  ServiceSet.ANY.subtract(ICMP_OF_FAMILY[6]),
  ServiceSet.ANY.subtract(ICMP_OF_FAMILY[4]),
]
const textMemo = new WeakMap<ServiceSet, string>()
/**
 * A reach edge's services as text: `any` for every service of an address family (`any` less the
 * other family's ICMP, as between addresses of one family; `any-other-protocol` otherwise),
 * else the set's own text. Memoised per set.
 */
export function reachServiceText(set: ServiceSet): string {
  let t = textMemo.get(set)
  if (t === undefined) {
    t = set.isAny || EVERY_OF_FAMILY.some((x) => set.equals(x)) ? 'any' : String(set)
    textMemo.set(set, t)
  }
  return t
}

/** Index of destination group `g` in `row`, or −1 (binary search). */
export function rowFind(row: EdgeRow, g: number): number {
  let lo = 0
  let hi = row.dst.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const x = row.dst[mid] as number
    if (x === g) return mid
    if (x < g) lo = mid + 1
    else hi = mid - 1
  }
  return -1
}

/** Services from node `a` to node `b`, or undefined when `a` does not reach `b`. */
export function edgeServices(graph: ReachGraph, a: number, b: number): ServiceSet | undefined {
  const row = graph.rows[graph.srcGroup[a] as number] ?? EMPTY_ROW
  const k = rowFind(row, graph.dstGroup[b] as number)
  return k < 0 ? undefined : graph.services[row.svc[k] as number]
}

/** Calls `fn(b, services)` for every node-level edge `a → b`, by destination group then node. */
export function forEachEdge(
  graph: ReachGraph,
  a: number,
  fn: (b: number, services: ServiceSet) => void,
): void {
  const row = graph.rows[graph.srcGroup[a] as number] ?? EMPTY_ROW
  for (let k = 0; k < row.dst.length; k++) {
    const set = graph.services[row.svc[k] as number] as ServiceSet
    for (const b of graph.groupNodes[row.dst[k] as number] ?? []) fn(b, set)
  }
}

/** The number of node-level edges (self-edges included), computed from group sizes. */
export function edgeCount(graph: ReachGraph): number {
  const perRow = graph.rows.map((row) => {
    let k = 0
    for (const g of row.dst) k += (graph.groupNodes[g] as readonly number[]).length
    return k
  })
  let total = 0
  for (let a = 0; a < graph.members.length; a++) total += perRow[graph.srcGroup[a] as number] ?? 0
  return total
}

/** Workloads per destination group (the sizes that expand group counts to workloads). */
export function groupWeights(graph: ReachGraph): Float64Array {
  const w = new Float64Array(graph.groupNodes.length)
  graph.groupNodes.forEach((nodes, g) => {
    let k = 0
    for (const n of nodes) k += (graph.members[n] as readonly number[]).length
    w[g] = k
  })
  return w
}

/** Nodes per source group, ascending. */
export function sourceNodes(graph: ReachGraph): number[][] {
  const out: number[][] = Array.from({ length: graph.rows.length }, () => [])
  for (let a = 0; a < graph.members.length; a++) out[graph.srcGroup[a] as number]?.push(a)
  return out
}

/**
 * Per destination group: the distinct source groups of its nodes (`srcs`) and, parallel, the
 * first node of the group in each (`via`): the node an attacker steps through to use that row.
 */
export interface GroupSources {
  readonly srcs: readonly Int32Array[]
  readonly via: readonly Int32Array[]
}

/** {@link GroupSources} of a graph. */
export function groupSources(graph: ReachGraph): GroupSources {
  const stamp = new Int32Array(graph.rows.length).fill(-1)
  const srcs: Int32Array[] = []
  const via: Int32Array[] = []
  graph.groupNodes.forEach((nodes, g) => {
    const s: number[] = []
    const v: number[] = []
    for (const b of nodes) {
      const x = graph.srcGroup[b] as number
      if (stamp[x] === g) continue
      stamp[x] = g
      s.push(x)
      v.push(b)
    }
    srcs.push(Int32Array.from(s))
    via.push(Int32Array.from(v))
  })
  return { srcs, via }
}

/**
 * Per destination group: the distinct destination groups one hop further (from any node of it),
 * the group graph that transitive reach and breadth-first searches walk.
 */
export function groupSuccessors(
  graph: ReachGraph,
  gs: GroupSources = groupSources(graph),
): Int32Array[] {
  const n = graph.groupNodes.length
  const stamp = new Int32Array(n).fill(-1)
  const out: Int32Array[] = []
  for (let g = 0; g < n; g++) {
    const list: number[] = []
    for (const s of gs.srcs[g] as Int32Array) {
      const row = graph.rows[s] ?? EMPTY_ROW
      for (let k = 0; k < row.dst.length; k++) {
        const h = row.dst[k] as number
        if (stamp[h] === g) continue
        stamp[h] = g
        list.push(h)
      }
    }
    out.push(Int32Array.from(list))
  }
  return out
}

/**
 * Transitive closure over destination groups: per strongly connected component (`comp[g]` of
 * group `g`), a bitset of the groups reachable in ≥ 1 hop from its nodes; computed over strongly connected components (iterative Tarjan), sinks
 * first, so each component ORs its successors' finished sets once.
 */
function groupClosure(
  succ: readonly Int32Array[],
  words: number,
): { readonly comp: Int32Array; readonly compReach: readonly Uint32Array[] } {
  const n = succ.length
  const index = new Int32Array(n).fill(-1)
  const low = new Int32Array(n)
  const onStack = new Uint8Array(n)
  const stack: number[] = []
  const comp = new Int32Array(n).fill(-1)
  const comps: number[][] = []
  let counter = 0
  const workV = new Int32Array(n)
  const workI = new Int32Array(n)
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue
    let top = 0
    workV[0] = root
    workI[0] = 0
    index[root] = low[root] = counter++
    stack.push(root)
    onStack[root] = 1
    while (top >= 0) {
      const v = workV[top] as number
      const i = workI[top] as number
      const out = succ[v] as Int32Array
      if (i < out.length) {
        workI[top] = i + 1
        const w = out[i] as number
        if (index[w] === -1) {
          index[w] = low[w] = counter++
          stack.push(w)
          onStack[w] = 1
          top++
          workV[top] = w
          workI[top] = 0
        } else if (onStack[w] === 1) low[v] = Math.min(low[v] as number, index[w] as number)
      } else {
        top--
        if (top >= 0) {
          const p = workV[top] as number
          low[p] = Math.min(low[p] as number, low[v] as number)
        }
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
  const compReach: Uint32Array[] = []
  const seen = new Int32Array(comps.length).fill(-1)
  for (let c = 0; c < comps.length; c++) {
    const r = new Uint32Array(words)
    const nodes = comps[c] as number[]
    const first = nodes[0] as number
    const cyclic = nodes.length > 1 || (succ[first] as Int32Array).includes(first)
    if (cyclic) for (const v of nodes) r[v >>> 5] = (r[v >>> 5] as number) | (1 << (v & 31))
    seen[c] = c
    for (const v of nodes) {
      for (const w of succ[v] as Int32Array) {
        const cw = comp[w] as number
        if (seen[cw] === c) continue
        seen[cw] = c
        const rw = compReach[cw] as Uint32Array
        for (let k = 0; k < words; k++) r[k] = (r[k] as number) | (rw[k] as number)
        for (const x of comps[cw] as number[]) r[x >>> 5] = (r[x >>> 5] as number) | (1 << (x & 31))
      }
    }
    compReach.push(r)
  }
  return { comp, compReach }
}

/**
 * Direct figures of every node: `direct[a]` workloads reached in one hop and `directServices[a]`
 * (destination workload, service) pairs, the member itself excluded (see reachability.ts).
 */
export function directFigures(
  graph: ReachGraph,
  weights: ArrayLike<number> = groupWeights(graph),
): { direct: Int32Array; directServices: Float64Array } {
  const n = graph.members.length
  const direct = new Int32Array(n)
  const directServices = new Float64Array(n)
  const base = graph.rows.map((row) => {
    let d = 0
    let ds = 0
    for (let k = 0; k < row.dst.length; k++) {
      const w = weights[row.dst[k] as number] as number
      d += w
      ds += w * serviceCount(graph.services[row.svc[k] as number] as ServiceSet)
    }
    return [d, ds] as const
  })
  for (let a = 0; a < n; a++) directOfNode(graph, base, a, direct, directServices)
  return { direct, directServices }
}

/** Fills the direct figures of node `a` from its row's sums, minus the member itself. */
export function directOfNode(
  graph: ReachGraph,
  base: readonly (readonly [number, number])[],
  a: number,
  direct: Int32Array,
  directServices: Float64Array,
): void {
  const s = graph.srcGroup[a] as number
  const [d, ds] = base[s] ?? [0, 0]
  const row = graph.rows[s] ?? EMPTY_ROW
  const k =
    (graph.members[a] as readonly number[]).length > 0
      ? rowFind(row, graph.dstGroup[a] as number)
      : -1
  if (k < 0) {
    direct[a] = d
    directServices[a] = ds
  } else {
    direct[a] = d - 1
    directServices[a] = ds - serviceCount(graph.services[row.svc[k] as number] as ServiceSet)
  }
}

/** The row sums {@link directOfNode} needs, for one source group. */
export function rowSums(
  graph: ReachGraph,
  s: number,
  weights: ArrayLike<number>,
): readonly [number, number] {
  const row = graph.rows[s] ?? EMPTY_ROW
  let d = 0
  let ds = 0
  for (let k = 0; k < row.dst.length; k++) {
    const w = weights[row.dst[k] as number] as number
    d += w
    ds += w * serviceCount(graph.services[row.svc[k] as number] as ServiceSet)
  }
  return [d, ds]
}

/** Per source group: the destination groups it reaches in ≥ 1 hop, as bitsets of `words` words. */
export interface SourceReach {
  readonly words: number
  readonly sets: readonly Uint32Array[]
}

/**
 * {@link SourceReach} of a graph: the row's groups and everything they reach (group closure);
 * each strongly connected component's set is ORed in once per row.
 */
export function sourceReach(graph: ReachGraph): SourceReach {
  const words = (graph.groupNodes.length + 31) >>> 5
  const { comp, compReach } = groupClosure(groupSuccessors(graph), words)
  const seen = new Int32Array(compReach.length).fill(-1)
  const sets = graph.rows.map((row, s) => {
    const r = new Uint32Array(words)
    for (let k = 0; k < row.dst.length; k++) {
      const g = row.dst[k] as number
      r[g >>> 5] = (r[g >>> 5] as number) | (1 << (g & 31))
      const c = comp[g] as number
      if (seen[c] === s) continue
      seen[c] = s
      const rc = compReach[c] as Uint32Array
      for (let w = 0; w < words; w++) r[w] = (r[w] as number) | (rc[w] as number)
    }
    return r
  })
  return { words, sets }
}

/** True when bit `g` of `set` is set. */
export function hasBit(set: Uint32Array, g: number): boolean {
  return ((set[g >>> 5] as number) & (1 << (g & 31))) !== 0
}

/**
 * Transitive reach of every node in workloads (itself excluded): unlimited hops through the
 * group closure, or a breadth-first search over groups per source group when `hops` is set.
 */
export function transitiveFigures(
  graph: ReachGraph,
  hops?: number,
  weights: ArrayLike<number> = groupWeights(graph),
): Int32Array {
  const n = graph.members.length
  const out = new Int32Array(n)
  const bySrc = sourceNodes(graph)
  const self = (a: number, reached: boolean): number =>
    reached && (graph.members[a] as readonly number[]).length > 0 ? 1 : 0
  if (hops === undefined) {
    const { words, sets } = sourceReach(graph)
    bySrc.forEach((nodes, s) => {
      if (nodes.length === 0) return
      const r = sets[s] as Uint32Array
      let total = 0
      for (let w = 0; w < words; w++) {
        let bits = r[w] as number
        while (bits !== 0) {
          const lowBit = bits & -bits
          total += weights[w * 32 + (31 - Math.clz32(lowBit))] as number
          bits ^= lowBit
        }
      }
      for (const a of nodes) out[a] = total - self(a, hasBit(r, graph.dstGroup[a] as number))
    })
  } else {
    const succ = groupSuccessors(graph)
    bySrc.forEach((nodes, s) => {
      if (nodes.length === 0) return
      const b = groupBfs(graph, succ, s, hops)
      let total = 0
      for (let i = 0; i < b.count; i++) total += weights[b.order[i] as number] as number
      for (const a of nodes)
        out[a] = total - self(a, (b.dist[graph.dstGroup[a] as number] as number) > 0)
    })
  }
  return out
}

/** A breadth-first search over destination groups from one source group. */
export interface GroupBfs {
  /** Per destination group: hops from the source group (≥ 1), −1 when not reached. */
  readonly dist: Int32Array
  /** Per reached group: the group it was first reached from, −1 for first hops. */
  readonly parent: Int32Array
  /** Reached groups in BFS order (so by distance); the first `count` entries are used. */
  readonly order: Int32Array
  readonly count: number
  /** False when `enough` stopped the search early (farther groups are then unknown). */
  readonly complete: boolean
}

/**
 * Breadth-first search from source group `s` over 1…`maxHops` hops on the group graph `succ`
 * ({@link groupSuccessors}): the first hop is the row of `s`. After each finished distance level
 * `enough(count)` (groups reached so far) may stop it.
 */
export function groupBfs(
  graph: ReachGraph,
  succ: readonly Int32Array[],
  s: number,
  maxHops = Infinity,
  enough?: (order: Int32Array, count: number) => boolean,
): GroupBfs {
  const n = graph.groupNodes.length
  const dist = new Int32Array(n).fill(-1)
  const parent = new Int32Array(n).fill(-1)
  const order = new Int32Array(n)
  let tail = 0
  const row0 = graph.rows[s] ?? EMPTY_ROW
  if (maxHops >= 1) {
    for (let k = 0; k < row0.dst.length; k++) {
      const g = row0.dst[k] as number
      dist[g] = 1
      order[tail++] = g
    }
  }
  let head = 0
  let d = 1
  while (head < tail && d < maxHops) {
    if (enough?.(order, tail) === true) return { dist, parent, order, count: tail, complete: false }
    const end = tail
    for (; head < end; head++) {
      const g = order[head] as number
      const out = succ[g] as Int32Array
      for (let k = 0; k < out.length; k++) {
        const h = out[k] as number
        if (dist[h] !== -1) continue
        dist[h] = d + 1
        parent[h] = g
        order[tail++] = h
      }
    }
    d++
  }
  return { dist, parent, order, count: tail, complete: true }
}

/**
 * The node of destination group `g` whose source row reaches destination group `h` (the first in
 * node order), or −1.
 */
export function viaNode(graph: ReachGraph, gs: GroupSources, g: number, h: number): number {
  const srcs = gs.srcs[g] as Int32Array
  for (let i = 0; i < srcs.length; i++)
    if (rowFind(graph.rows[srcs[i] as number] ?? EMPTY_ROW, h) >= 0)
      return (gs.via[g] as Int32Array)[i] as number
  return -1
}

/**
 * Reach figures of a graph, per node, each counted in workloads: direct and directServices, and
 * transitive reach (unlimited hops, or at most `hops`).
 */
export function graphFigures(
  graph: ReachGraph,
  hops?: number,
): { direct: Int32Array; directServices: Float64Array; transitive: Int32Array } {
  const weights = groupWeights(graph)
  const { direct, directServices } = directFigures(graph, weights)
  return { direct, directServices, transitive: transitiveFigures(graph, hops, weights) }
}

/** Builds sorted rows from per-group lists of `[dst group, service id]`. */
export function rowsOf(lists: readonly (readonly (readonly [number, number])[])[]): EdgeRow[] {
  return lists.map((list) => {
    if (list.length === 0) return EMPTY_ROW
    const sorted = [...list].sort((x, y) => x[0] - y[0])
    return {
      dst: Int32Array.from(sorted, (e) => e[0]),
      svc: Int32Array.from(sorted, (e) => e[1]),
    }
  })
}

/** Messages of other connections in either family (core `NO_CONNECTION_SERVICES`). */
const NO_CONNECTION_ANY = NO_CONNECTION_SERVICES[4].union(NO_CONNECTION_SERVICES[6])

/**
 * The graph with every edge's services intersected with `exploitable`; edges left with no service,
 * or with messages of other connections only (core `NO_CONNECTION_SERVICES`: ICMP errors, link
 * control, ICMP replies, which are no lateral path), dropped. (An edge holds no family: IGMP, link
 * control between IPv4 addresses only, counts as such here for IPv6 pairs too.)
 */
export function restrictGraph(graph: ReachGraph, exploitable: ServiceSet): ReachGraph {
  const table = new ServiceTable()
  const map = new Int32Array(graph.services.length).fill(-2)
  const rows = graph.rows.map((row) => {
    const dst: number[] = []
    const svc: number[] = []
    for (let k = 0; k < row.dst.length; k++) {
      const old = row.svc[k] as number
      let id = map[old] as number
      if (id === -2) {
        const r = (graph.services[old] as ServiceSet).intersect(exploitable)
        id = isEmptySet(r) || r.subtract(NO_CONNECTION_ANY).isEmpty ? -1 : table.id(r)
        map[old] = id
      }
      if (id < 0) continue
      dst.push(row.dst[k] as number)
      svc.push(id)
    }
    return dst.length === 0 ? EMPTY_ROW : { dst: Int32Array.from(dst), svc: Int32Array.from(svc) }
  })
  return { ...graph, rows, services: table.sets }
}
