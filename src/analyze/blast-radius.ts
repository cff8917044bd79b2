/**
 * @module Blast radius: per source workload, what an attacker holding it reaches directly and by
 * lateral movement, the shortest paths to crown jewels, and summary figures with the reduction
 * from one baseline to another. `BlastRadiusQuery → answerBlastRadius() → BlastRadiusResult`.
 * @remarks Semantics: DESIGN.md "blast radius"; reach as defined in reachability.ts; issue 9
 * item 2.
 */
import {
  expressionMatches,
  labelsMatch,
  parseIp,
  cidrContains,
  type Inventory,
  type PolicySet,
  type Selector,
  type ServiceSet,
  type Workload,
} from '../core/index.js'
import type { DependencyMap } from '../discover/types.js'
import {
  adjacency,
  bfsFrom,
  type BfsResult,
  flatReachGraph,
  heldAddresses,
  observedReachGraph,
  policyReachGraph,
  reachFigures,
  restrictGraph,
  type Baseline,
  type ReachGraph,
} from './reachability.js'

/** The label that marks crown jewels when no `to` selector is given. */
export const CROWN_JEWEL_LABEL = { key: 'tier', value: 'crown-jewel' } as const

/** What to analyse. */
export interface BlastRadiusQuery {
  readonly inventory: Inventory
  readonly baseline: Baseline
  /** Required for `policy`. */
  readonly policySet?: PolicySet
  /** Required for `observed`. */
  readonly dependencyMap?: DependencyMap
  /** The instant addresses and rule expiry are judged at, ms since the epoch, UTC. */
  readonly at: number
  /** Source workloads (`labels`, `workload`, `cidr` or `any`); default every active workload. */
  readonly from?: Selector
  /** Crown jewels; default workloads labelled `tier: crown-jewel`. */
  readonly to?: Selector
  /** Limit transitive reach and paths to this many hops (≥ 1). */
  readonly hops?: number
  /** Only these services are footholds (`--assume-exploitable`). */
  readonly exploitable?: ServiceSet
  /** A second policy set to compare against (`--compare DIR`), with a label for output. */
  readonly compare?: { readonly label: string; readonly policySet: PolicySet }
  /** Shortest paths listed per source, nearest first (default 5). */
  readonly maxPaths?: number
  /** Workloads listed in `summary.largest` (default 10). */
  readonly top?: number
}

/** One shortest attacker path: `path[0]` is the source, the last element the crown jewel. */
export interface BlastPath {
  readonly to: string
  readonly hops: number
  readonly path: readonly string[]
  /** Services allowed on each hop (`path[i] → path[i+1]`), as ServiceSet text. */
  readonly services: readonly string[]
}

/** Figures of one source workload; `direct` and `transitive` count workloads. */
export interface BlastRadiusSource {
  readonly workload: string
  readonly direct: number
  readonly transitive: number
  readonly directServices: number
  /** Crown jewels reachable from the source. */
  readonly crownJewelsReached: number
  readonly paths: readonly BlastPath[]
}

/** Summary figures over the sources. */
export interface BlastRadiusFigures {
  readonly sources: number
  /**
   * Allowed (source, destination, service) triples between workloads, from the sources; a
   * service is one entry of `ServiceSet.toServices()`, so `any` counts once (see `openPairs`).
   */
  readonly openLateralPaths: number
  /** Allowed (source, destination) pairs between workloads, from the sources: the sum of `direct`. */
  readonly openPairs: number
  readonly meanDirect: number
  readonly maxDirect: number
  readonly meanTransitive: number
  readonly maxTransitive: number
  /** Sources from which some crown jewel is reachable. */
  readonly sourcesReachingCrownJewels: number
}

/** Reduction in percent from one result to another; `null` when the first figure is 0. */
export interface Reduction {
  readonly from: string
  readonly to: string
  readonly openLateralPaths: number | null
  readonly openPairs: number | null
  readonly meanDirect: number | null
  readonly meanTransitive: number | null
  readonly sourcesReachingCrownJewels: number | null
}

/** The answer. Stable: the JSON output of `bulkhead blast-radius`. */
export interface BlastRadiusResult {
  readonly baseline: Baseline
  readonly at: string
  readonly hops: number | null
  readonly exploitable: string | null
  readonly workloads: number
  readonly crownJewels: readonly string[]
  /** Sorted by transitive, then direct (descending), then name. */
  readonly sources: readonly BlastRadiusSource[]
  readonly summary: BlastRadiusFigures & {
    readonly largest: readonly {
      readonly workload: string
      readonly transitive: number
      readonly direct: number
    }[]
    /** The figures of the baseline compared with (flat, or `--compare`), when any. */
    readonly comparedWith?: { readonly label: string } & BlastRadiusFigures
    readonly reduction?: Reduction
  }
  /** Node-level graph the paths were found on, for the DOT renderer (not in JSON output). */
  readonly graph?: ReachGraph
}

/** True when the selector picks the workload (label and workload selectors read unscoped). */
export function selectsWorkload(sel: Selector, w: Workload, addresses: readonly string[]): boolean {
  switch (sel.kind) {
    case 'any':
      return true
    case 'workload':
      return w.name === sel.name
    case 'labels':
      return (
        labelsMatch(sel.match, w.labels) &&
        sel.expressions.every((e) => expressionMatches(e, w.labels))
      )
    case 'cidr':
      return addresses.some((a) => {
        const ip = parseIp(a)
        return (
          ip !== undefined &&
          cidrContains(sel.cidr, ip) &&
          !sel.except.some((c) => cidrContains(c, ip))
        )
      })
    case 'external':
      return false
  }
}

const crownJewelSelector: Selector = {
  kind: 'labels',
  match: { [CROWN_JEWEL_LABEL.key]: CROWN_JEWEL_LABEL.value },
  expressions: [],
  global: true,
}

function graphOf(
  query: BlastRadiusQuery,
  baseline: Baseline,
  policySet: PolicySet | undefined,
): ReachGraph {
  switch (baseline) {
    case 'flat':
      return flatReachGraph(query.inventory, query.at)
    case 'observed':
      if (!query.dependencyMap) throw new RangeError('the observed baseline needs a dependency map')
      return observedReachGraph(query.inventory, query.dependencyMap)
    case 'policy':
      if (!policySet) throw new RangeError('the policy baseline needs a policy set')
      return policyReachGraph(query.inventory, policySet, query.at)
  }
}

interface Computed {
  readonly figures: BlastRadiusFigures
  readonly sources: BlastRadiusSource[]
  readonly graph: ReachGraph
}

function compute(query: BlastRadiusQuery, graph0: ReachGraph, withPaths: boolean): Computed {
  const { inventory } = query
  const graph = query.exploitable ? restrictGraph(graph0, query.exploitable) : graph0
  const figs = reachFigures(graph, query.hops !== undefined ? { hops: query.hops } : {})
  const held = heldAddresses(inventory, query.at)
  const active = (i: number): boolean =>
    graph.baseline === 'observed' || (held[i] as string[]).length > 0
  const toSel = query.to ?? crownJewelSelector
  const jewels = new Set<number>()
  inventory.workloads.forEach((w, i) => {
    if (active(i) && selectsWorkload(toSel, w, held[i] as string[])) jewels.add(i)
  })
  const jewelsByNode = new Map<number, number[]>()
  for (const j of jewels) {
    const n = graph.nodeOf[j] as number
    const list = jewelsByNode.get(n) ?? []
    list.push(j)
    jewelsByNode.set(n, list)
  }
  const maxPaths = query.maxPaths ?? 5
  const sources: BlastRadiusSource[] = []
  let open = 0
  let sumD = 0
  let sumT = 0
  let maxD = 0
  let maxT = 0
  let reaching = 0
  /** Per source node: BFS distances and the crown jewels it reaches, nearest first. */
  interface NodeReach {
    readonly bfs: BfsResult
    readonly jewels: readonly number[]
  }
  const memo = new Map<number, NodeReach>()
  const adj = adjacency(graph)
  const reachOf = (a: number): NodeReach => {
    let r = memo.get(a)
    if (r === undefined) {
      const b = bfsFrom(adj, a, query.hops ?? Infinity)
      const found: { j: number; dist: number }[] = []
      for (const [n, js] of jewelsByNode) {
        const d = b.dist[n] as number
        if (d > 0) for (const j of js) found.push({ j, dist: d })
      }
      found.sort((x, y) => x.dist - y.dist || x.j - y.j)
      r = { bfs: b, jewels: found.map((f) => f.j) }
      // one-member nodes (the observed baseline) are asked once: keep no memo for them
      if ((graph.members[a] as readonly number[]).length > 1) memo.set(a, r)
    }
    return r
  }
  inventory.workloads.forEach((w, i) => {
    if (!active(i)) return
    if (query.from && !selectsWorkload(query.from, w, held[i] as string[])) return
    const a = graph.nodeOf[i] as number
    const direct = figs.direct[a] as number
    const transitive = figs.transitive[a] as number
    const directServices = figs.directServices[a] as number
    let reached = 0
    const paths: BlastPath[] = []
    if (jewels.size > 0) {
      const r = reachOf(a)
      // the source is never its own target
      reached = r.jewels.length - (jewels.has(i) && (r.bfs.dist[a] as number) > 0 ? 1 : 0)
      if (withPaths) {
        for (const j of r.jewels) {
          if (paths.length >= maxPaths) break
          if (j !== i) paths.push(pathTo(graph, r.bfs, a, i, j))
        }
      }
    }
    sources.push({
      workload: w.name,
      direct,
      transitive,
      directServices,
      crownJewelsReached: reached,
      paths,
    })
    open += directServices
    sumD += direct
    sumT += transitive
    maxD = Math.max(maxD, direct)
    maxT = Math.max(maxT, transitive)
    if (reached > 0) reaching++
  })
  const n = sources.length
  const round = (x: number): number => Math.round(x * 100) / 100
  sources.sort(
    (x, y) =>
      y.transitive - x.transitive ||
      y.direct - x.direct ||
      (x.workload < y.workload ? -1 : x.workload > y.workload ? 1 : 0),
  )
  return {
    figures: {
      sources: n,
      openLateralPaths: open,
      openPairs: sumD,
      meanDirect: n === 0 ? 0 : round(sumD / n),
      maxDirect: maxD,
      meanTransitive: n === 0 ? 0 : round(sumT / n),
      maxTransitive: maxT,
      sourcesReachingCrownJewels: reaching,
    },
    sources,
    graph,
  }
}

/** The workload-level path from source workload `i` (node `a`) to jewel `j`, along BFS parents. */
function pathTo(graph: ReachGraph, bfs: BfsResult, a: number, i: number, j: number): BlastPath {
  const nodes: number[] = []
  let n = graph.nodeOf[j] as number
  for (;;) {
    nodes.push(n)
    const p = bfs.parent[n] as number
    if (p === -1) break
    n = p
  }
  nodes.reverse()
  // intermediate nodes differ from the source's and the jewel's node: any member stands for them
  const chain = [
    i,
    ...nodes.slice(0, -1).map((x) => (graph.members[x] as readonly number[])[0] as number),
    j,
  ]
  const names = chain.map((w) => (graph.workloads[w] as Workload).name)
  const services: string[] = []
  let prev = a
  for (const x of nodes) {
    services.push(String((graph.edges[prev] as Map<number, ServiceSet>).get(x)))
    prev = x
  }
  return { to: names[names.length - 1] as string, hops: nodes.length, path: names, services }
}

function pct(before: number, after: number): number | null {
  return before === 0 ? null : Math.round(((before - after) / before) * 1000) / 10
}

/** Reduction in percent from figures `a` to figures `b`. */
export function reductionOf(
  from: string,
  a: BlastRadiusFigures,
  to: string,
  b: BlastRadiusFigures,
): Reduction {
  return {
    from,
    to,
    openLateralPaths: pct(a.openLateralPaths, b.openLateralPaths),
    openPairs: pct(a.openPairs, b.openPairs),
    meanDirect: pct(a.meanDirect, b.meanDirect),
    meanTransitive: pct(a.meanTransitive, b.meanTransitive),
    sourcesReachingCrownJewels: pct(a.sourcesReachingCrownJewels, b.sourcesReachingCrownJewels),
  }
}

/**
 * Answers a blast-radius query. Without `compare`, a non-flat baseline is compared with `flat`
 * (the reduction segmentation brings); with `compare`, the baseline is compared with the given
 * policy set (the reduction a policy change brings).
 * @throws RangeError when the baseline's input (policy set or dependency map) is missing.
 */
export function answerBlastRadius(query: BlastRadiusQuery): BlastRadiusResult {
  const main = compute(query, graphOf(query, query.baseline, query.policySet), true)
  let comparedWith: ({ label: string } & BlastRadiusFigures) | undefined
  let reduction: Reduction | undefined
  if (query.compare) {
    const other = compute(query, graphOf(query, 'policy', query.compare.policySet), false)
    comparedWith = { label: query.compare.label, ...other.figures }
    reduction = reductionOf(query.baseline, main.figures, query.compare.label, other.figures)
  } else if (query.baseline !== 'flat') {
    const flat = compute(query, graphOf(query, 'flat', undefined), false)
    comparedWith = { label: 'flat', ...flat.figures }
    reduction = reductionOf('flat', flat.figures, query.baseline, main.figures)
  }
  const held = heldAddresses(query.inventory, query.at)
  const toSel = query.to ?? crownJewelSelector
  const crownJewels = query.inventory.workloads
    .filter((w, i) => selectsWorkload(toSel, w, held[i] as string[]))
    .map((w) => w.name)
  const top = query.top ?? 10
  return {
    baseline: query.baseline,
    at: new Date(query.at).toISOString(),
    hops: query.hops ?? null,
    exploitable: query.exploitable ? String(query.exploitable) : null,
    workloads: held.filter((a) => a.length > 0).length,
    crownJewels,
    sources: main.sources,
    summary: {
      ...main.figures,
      largest: main.sources
        .slice(0, top)
        .map((s) => ({ workload: s.workload, transitive: s.transitive, direct: s.direct })),
      ...(comparedWith ? { comparedWith } : {}),
      ...(reduction ? { reduction } : {}),
    },
    graph: main.graph,
  }
}
