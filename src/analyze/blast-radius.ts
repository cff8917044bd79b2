/**
 * @module Blast radius: per source workload, what an attacker holding it reaches directly and by
 * lateral movement, the shortest paths to crown jewels, and summary figures with the reduction
 * from one baseline to another. `BlastRadiusQuery → answerBlastRadius() → BlastRadiusResult`.
 * @remarks Semantics: DESIGN.md "blast radius"; reach as defined in reachability.ts; issue 9
 * item 2.
 */
import {
  diagnostic,
  expressionMatches,
  labelsMatch,
  parseIp,
  cidrContains,
  type Diagnostic,
  type Inventory,
  type PolicySet,
  type Selector,
  type ServiceSet,
  type Workload,
} from '../core/index.js'
import type { DependencyMap } from '../discover/types.js'
import {
  EMPTY_ROW,
  flatReachGraph,
  groupBfs,
  groupSources,
  groupSuccessors,
  hasBit,
  sourceNodes,
  sourceReach,
  viaNode,
  type GroupBfs,
  type GroupSources,
  heldAddresses,
  enforcedReachGraph,
  observedReachGraph,
  policyReachGraph,
  reachFigures,
  reachServiceText,
  restrictGraph,
  rowFind,
  type Baseline,
  type ReachGraph,
} from './reachability.js'

/** The label that marks crown jewels when no `to` selector is given. */
export const CROWN_JEWEL_LABEL = { key: 'tier', value: 'crown-jewel' } as const

/** What to analyse. */
export interface BlastRadiusQuery {
  readonly inventory: Inventory
  readonly baseline: Baseline
  /** Required for `policy` and `enforced` (whose modes come from its `enforcement`). */
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
  /** Mean of `direct` over the sources, rounded to 2 decimals (reductions use the exact mean). */
  readonly meanDirect: number
  readonly maxDirect: number
  /** Sum of `transitive` over the sources: (source, reachable workload) pairs. */
  readonly transitivePairs: number
  /** Mean of `transitive` over the sources, rounded to 2 decimals (reductions use the exact mean). */
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

/**
 * How far an enforcement rollout has got, per figure: the share in percent of what the policy
 * would close (from `flat` to `policy`) that is closed today (from `flat` to `enforced`), rounded
 * to 0.1; `null` when the policy closes nothing of that figure. 100 when today's figure equals
 * the policy's. Means are taken exactly, as in {@link Reduction}.
 */
export interface RolloutProgress {
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
    /**
     * Baseline `enforced` only: the target, the figures of the same policy set as if every
     * workload enforced it (the `policy` baseline), labelled `policy`.
     */
    readonly target?: { readonly label: string } & BlastRadiusFigures
    /** Baseline `enforced` only: the reduction from `flat` to the target. */
    readonly targetReduction?: Reduction
    /** Baseline `enforced` only: how much of the target's reduction is in force today. */
    readonly rollout?: RolloutProgress
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

/**
 * Warnings for a `--from` or `--to` selector (`what`: the flag and its text, as the message shows
 * it) that would make the answer quietly empty: `policy/unknown-label-key` for each label key no
 * workload carries (a misspelt key), and `policy/selector-matches-nothing` when it selects no
 * workload holding an address at `at` (blast radius counts only those), as the policy loader warns
 * about a policy's selectors. An external never selects a workload: an address belongs to a
 * workload holding it before any external. Located at the selector when the YAML form gave it a
 * location.
 */
export function blastSelectorWarnings(
  sel: Selector,
  what: string,
  inventory: Inventory,
  at: number,
): Diagnostic[] {
  const out: Diagnostic[] = []
  if (sel.kind === 'labels') {
    const known = new Set(inventory.workloads.flatMap((w) => Object.keys(w.labels)))
    const keys = new Set([...Object.keys(sel.match), ...sel.expressions.map((e) => e.key)])
    for (const key of keys)
      if (!known.has(key))
        out.push(
          diagnostic(
            'policy/unknown-label-key',
            `${what}: no workload carries the label key "${key}"`,
            sel.location,
            { severity: 'warning' },
          ),
        )
  }
  const held = heldAddresses(inventory, at)
  const selected = inventory.workloads.some(
    (w, i) => (held[i] as string[]).length > 0 && selectsWorkload(sel, w, held[i] as string[]),
  )
  if (!selected)
    out.push(
      diagnostic(
        'policy/selector-matches-nothing',
        `${what} selects no workload holding an address at ${new Date(at).toISOString()}`,
        sel.location,
        {
          severity: 'warning',
          hint:
            sel.kind === 'external'
              ? 'an external is no workload: name the workloads in its range with a cidr selector'
              : 'check the labels or the name, and --at: only workloads holding an address then count',
        },
      ),
    )
  return out
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
      return observedReachGraph(query.inventory, query.dependencyMap, query.at)
    case 'policy':
      if (!policySet) throw new RangeError('the policy baseline needs a policy set')
      return policyReachGraph(query.inventory, policySet, query.at)
    case 'enforced':
      if (!policySet) throw new RangeError('the enforced baseline needs a policy set')
      return enforcedReachGraph(query.inventory, policySet, query.at)
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
  const active = (i: number): boolean => (held[i] as string[]).length > 0
  const toSel = query.to ?? crownJewelSelector
  const jewels = new Set<number>()
  inventory.workloads.forEach((w, i) => {
    if (active(i) && selectsWorkload(toSel, w, held[i] as string[])) jewels.add(i)
  })
  // crown jewels per destination group, in inventory order
  const jewelsByGroup = new Map<number, number[]>()
  for (const j of jewels) {
    const g = graph.dstGroup[graph.nodeOf[j] as number] as number
    const list = jewelsByGroup.get(g)
    if (list) list.push(j)
    else jewelsByGroup.set(g, [j])
  }
  const maxPaths = query.maxPaths ?? 5
  const sources: BlastRadiusSource[] = []
  let open = 0
  let sumD = 0
  let sumT = 0
  let maxD = 0
  let maxT = 0
  let reaching = 0
  /**
   * Per source group: how many crown jewels it reaches, and the nearest ones (by hops, then
   * inventory order) with their paths, enough for `maxPaths` after leaving out the source itself.
   * Per node of the group: whether its own destination group is reached (a jewel source is then
   * among the jewels reached and is left out).
   */
  interface GroupReach {
    readonly count: number
    readonly nearest: readonly { readonly j: number; readonly path: BlastPath }[]
  }
  const memo = new Map<number, GroupReach>()
  const selfReached = new Uint8Array(graph.members.length)
  const bySrc = jewels.size > 0 ? sourceNodes(graph) : []
  const gs = jewels.size > 0 ? groupSources(graph) : undefined
  const succ = gs ? groupSuccessors(graph, gs) : []
  // unlimited hops: which groups a source group reaches comes from the closure; a search is
  // needed only for the nearest jewels' paths, and stops once it has found enough of them
  const closure = jewels.size > 0 && query.hops === undefined ? sourceReach(graph) : undefined
  const jewelGroups = [...jewelsByGroup.keys()]
  const reachOf = (s: number): GroupReach => {
    let r = memo.get(s)
    if (r !== undefined) return r
    let count = 0
    const wanted = withPaths ? maxPaths + 1 : 0
    let b: GroupBfs | undefined
    if (closure) {
      const set = closure.sets[s] as Uint32Array
      for (const g of jewelGroups)
        if (hasBit(set, g)) count += (jewelsByGroup.get(g) as number[]).length
      for (const a of bySrc[s] as number[])
        selfReached[a] = hasBit(set, graph.dstGroup[a] as number) ? 1 : 0
      if (wanted > 0 && count > 0) {
        b = groupBfs(graph, succ, s, Infinity, (order, n) => {
          let found = 0
          for (let i = 0; i < n && found < wanted; i++)
            found += jewelsByGroup.get(order[i] as number)?.length ?? 0
          return found >= wanted
        })
      }
    } else {
      b = groupBfs(graph, succ, s, query.hops ?? Infinity)
      for (let i = 0; i < b.count; i++)
        count += jewelsByGroup.get(b.order[i] as number)?.length ?? 0
      for (const a of bySrc[s] as number[])
        selfReached[a] = (b.dist[graph.dstGroup[a] as number] as number) > 0 ? 1 : 0
    }
    const nearest: { j: number; path: BlastPath }[] = []
    if (b !== undefined && wanted > 0) {
      let i = 0
      while (i < b.count && nearest.length < wanted) {
        // one distance level at a time: its jewels in inventory order
        const d = b.dist[b.order[i] as number] as number
        const level: number[] = []
        for (; i < b.count && b.dist[b.order[i] as number] === d; i++) {
          const js = jewelsByGroup.get(b.order[i] as number)
          if (js !== undefined) for (const j of js) level.push(j)
        }
        level.sort((x, y) => x - y)
        for (const j of level) {
          if (nearest.length >= wanted) break
          nearest.push({ j, path: pathTo(graph, gs as GroupSources, b, s, j) })
        }
      }
    }
    r = { count, nearest }
    memo.set(s, r)
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
      const r = reachOf(graph.srcGroup[a] as number)
      // the source is never its own target
      reached = r.count - (jewels.has(i) && selfReached[a] === 1 ? 1 : 0)
      if (withPaths) {
        for (const { j, path } of r.nearest) {
          if (paths.length >= maxPaths) break
          if (j !== i)
            paths.push({
              ...path,
              path: [(graph.workloads[i] as Workload).name, ...path.path.slice(1)],
            })
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
      transitivePairs: sumT,
      meanTransitive: n === 0 ? 0 : round(sumT / n),
      maxTransitive: maxT,
      sourcesReachingCrownJewels: reaching,
    },
    sources,
    graph,
  }
}

/**
 * The path from source group `s` to jewel `j` along the BFS parents: the source's place is held
 * by an empty name (the caller puts the source workload there); each intermediate hop by the first
 * member of the node whose row reached the next group.
 */
function pathTo(
  graph: ReachGraph,
  gs: GroupSources,
  bfs: GroupBfs,
  s: number,
  j: number,
): BlastPath {
  const groups: number[] = []
  let g = graph.dstGroup[graph.nodeOf[j] as number] as number
  for (;;) {
    groups.push(g)
    const p = bfs.parent[g] as number
    if (p === -1) break
    g = p
  }
  groups.reverse()
  const names = ['']
  const services: string[] = []
  let row = graph.rows[s] ?? EMPTY_ROW
  for (let k = 0; k < groups.length; k++) {
    const h = groups[k] as number
    services.push(
      reachServiceText(graph.services[row.svc[rowFind(row, h)] as number] as ServiceSet),
    )
    if (k + 1 < groups.length) {
      const v = viaNode(graph, gs, h, groups[k + 1] as number)
      const first = (graph.members[v] as readonly number[])[0] as number
      names.push((graph.workloads[first] as Workload).name)
      row = graph.rows[graph.srcGroup[v] as number] ?? EMPTY_ROW
    }
  }
  names.push((graph.workloads[j] as Workload).name)
  return { to: names[names.length - 1] as string, hops: groups.length, path: names, services }
}

function mean(sum: number, n: number): number {
  return n === 0 ? 0 : sum / n
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
    // from the exact means, not the rounded ones shown
    meanDirect: pct(mean(a.openPairs, a.sources), mean(b.openPairs, b.sources)),
    meanTransitive: pct(mean(a.transitivePairs, a.sources), mean(b.transitivePairs, b.sources)),
    sourcesReachingCrownJewels: pct(a.sourcesReachingCrownJewels, b.sourcesReachingCrownJewels),
  }
}

/** Share in percent of the closing from `flat` to `target` that `today` has done. */
function done(flat: number, today: number, target: number): number | null {
  return flat === target ? null : Math.round(((flat - today) / (flat - target)) * 1000) / 10
}

/** {@link RolloutProgress} from the flat, today's (`enforced`) and the target's figures. */
export function rolloutOf(
  flat: BlastRadiusFigures,
  today: BlastRadiusFigures,
  target: BlastRadiusFigures,
): RolloutProgress {
  const meanOf = (f: BlastRadiusFigures, sum: number): number => mean(sum, f.sources)
  return {
    openLateralPaths: done(flat.openLateralPaths, today.openLateralPaths, target.openLateralPaths),
    openPairs: done(flat.openPairs, today.openPairs, target.openPairs),
    meanDirect: done(
      meanOf(flat, flat.openPairs),
      meanOf(today, today.openPairs),
      meanOf(target, target.openPairs),
    ),
    meanTransitive: done(
      meanOf(flat, flat.transitivePairs),
      meanOf(today, today.transitivePairs),
      meanOf(target, target.transitivePairs),
    ),
    sourcesReachingCrownJewels: done(
      flat.sourcesReachingCrownJewels,
      today.sourcesReachingCrownJewels,
      target.sourcesReachingCrownJewels,
    ),
  }
}

/**
 * Answers a blast-radius query. Without `compare`, a non-flat baseline is compared with `flat`
 * (the reduction segmentation brings); with `compare`, the baseline is compared with the given
 * policy set (the reduction a policy change brings). Baseline `enforced` also gives its target
 * (the same policy set under `policy`), the reduction from `flat` to it, and the rollout's
 * progress towards it ({@link RolloutProgress}), with or without `compare`.
 * @throws RangeError when the baseline's input (policy set or dependency map) is missing.
 */
export function answerBlastRadius(query: BlastRadiusQuery): BlastRadiusResult {
  const main = compute(query, graphOf(query, query.baseline, query.policySet), true)
  let comparedWith: ({ label: string } & BlastRadiusFigures) | undefined
  let reduction: Reduction | undefined
  let flat: BlastRadiusFigures | undefined
  const flatFigures = (): BlastRadiusFigures =>
    (flat ??= compute(query, graphOf(query, 'flat', undefined), false).figures)
  if (query.compare) {
    const other = compute(query, graphOf(query, 'policy', query.compare.policySet), false)
    comparedWith = { label: query.compare.label, ...other.figures }
    reduction = reductionOf(query.baseline, main.figures, query.compare.label, other.figures)
  } else if (query.baseline !== 'flat') {
    comparedWith = { label: 'flat', ...flatFigures() }
    reduction = reductionOf('flat', flatFigures(), query.baseline, main.figures)
  }
  let rollout: Pick<BlastRadiusResult['summary'], 'target' | 'targetReduction' | 'rollout'> = {}
  if (query.baseline === 'enforced') {
    const target = compute(query, graphOf(query, 'policy', query.policySet), false).figures
    rollout = {
      target: { label: 'policy', ...target },
      targetReduction: reductionOf('flat', flatFigures(), 'policy', target),
      rollout: rolloutOf(flatFigures(), main.figures, target),
    }
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
      ...rollout,
    },
    graph: main.graph,
  }
}
