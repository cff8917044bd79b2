/**
 * @module Benchmark `reach`: full reachability analysis (policy baseline: PolicyIndex build,
 * node graph over endpoint classes in the compact group store, transitive closure over groups,
 * figures) over synthetic estates of 1 000 / 10 000 / 100 000 workloads (rules = workloads / 10),
 * and one-rule incremental updates (`PolicyReachability.updatePolicy`) at 10 000 workloads, with
 * the index's share (`PolicyIndex.updatePolicy` on an index in the same state) and the
 * reachability's share (the rest) reported apart; and the `enforced` baseline's build on the same
 * estates. Goals: full analysis at 10 000 workloads < 1 s; one-rule update < 1 ms (median).
 *
 * Run with `npm run bench -- reach`; `BENCH_SCALE=0.1` shrinks the estates tenfold. Fixed seeds
 * (bench/generate-estate.ts). Progress goes to stderr.
 */
import os from 'node:os'
import { PolicyIndex } from '../src/policy/policy-index.js'
import { answerBlastRadius, edgeCount, PolicyReachability } from '../src/analyze/index.js'
import { labelSet } from '../src/core/index.js'
import { DAY0, generateEstate, generatePolicies, oneRuleEdits } from './generate-estate.js'

/** Figures for one estate. Times in seconds. */
export interface ReachCase {
  readonly workloads: number
  readonly rules: number
  /** PolicyReachability.build: index, nodes, groups, covered group pairs, closure, figures. */
  readonly fullSeconds: number
  /** PolicyIndex.build alone on the same estate (the index's share of `fullSeconds`). */
  readonly indexBuildSeconds: number
  /** answerBlastRadius over every workload (policy + flat comparison + paths to crown jewels). */
  readonly blastRadiusSeconds: number
  /**
   * PolicyReachability.build with `enforced` (the estate's Enforcement entries: a quarter of the
   * apps' prod enforcing, the rest of prod monitoring), and its edge-row entries.
   */
  readonly enforcedSeconds: number
  readonly enforcedRowEntries: number
  readonly nodes: number
  /** Node-level edges (pairs of nodes, self-edges included) the group store stands for. */
  readonly edges: number
  /** Source and destination groups, and the edge-row entries (two ints each) actually stored. */
  readonly sourceGroups: number
  readonly destinationGroups: number
  readonly rowEntries: number
  /** V8 heap in use after the build, MB (the default heap limit applies). */
  readonly heapUsedMB: number
  readonly meanTransitive: number
}

/** Figures of one-rule updates. Times in milliseconds. */
export interface ReachUpdates {
  readonly workloads: number
  readonly updates: number
  readonly medianMs: number
  readonly p90Ms: number
  readonly maxMs: number
  readonly incremental: number
  readonly full: number
  readonly meanPairsRecomputed: number
  /** The same updates on a bare PolicyIndex (`updatePolicy` alone), median ms: the floor. */
  readonly indexOnlyMedianMs: number
  /**
   * The reachability's share: per update, total minus the same update on the bare index (both
   * indexes are in the same state), median and p90 ms. Includes the index's lazy work that the
   * recomputed pairs trigger (rule lists and decision tables of the touched classes).
   */
  readonly reachOnlyMedianMs: number
  readonly reachOnlyP90Ms: number
}

/** The whole result. */
export interface ReachBenchResult {
  readonly scale: number
  /** 1/5/15-minute load average when done: figures on a busy machine are slower. */
  readonly loadAverage: readonly number[]
  readonly cases: readonly ReachCase[]
  /** Sizes not run, with the reason. */
  readonly skipped: readonly { readonly workloads: number; readonly reason: string }[]
  readonly updates: ReachUpdates
  readonly goals: { readonly fullAt10kSeconds: 1; readonly updateMs: 1 }
}

function log(msg: string): void {
  process.stderr.write(`[bench reach] ${msg}\n`)
}

const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits
const at = DAY0 + 12 * 3_600_000

/** Runs the benchmark. */
export function benchReach(scale: number): Promise<ReachBenchResult> {
  return Promise.resolve().then(() => runReach(scale))
}

function runReach(scale: number): ReachBenchResult {
  const sizes = [1000, 10_000, 100_000].map((n) => Math.max(200, Math.round(n * scale)))
  const cases: ReachCase[] = []
  const skipped: { workloads: number; reason: string }[] = []
  for (const n of sizes) {
    if (process.env['BENCH_REACH_SKIP_100K'] === '1' && n > 50_000) {
      skipped.push({ workloads: n, reason: 'BENCH_REACH_SKIP_100K=1' })
      log(`${n} workloads: skipped`)
      continue
    }
    const estate = generateEstate(n)
    const policySet = generatePolicies(estate, Math.max(10, Math.round(n / 10)))
    let t = performance.now()
    PolicyIndex.build(estate.inventory, policySet, at)
    const indexBuildSeconds = (performance.now() - t) / 1000
    t = performance.now()
    const live = PolicyReachability.build(estate.inventory, policySet, at)
    const fullSeconds = (performance.now() - t) / 1000
    const heapUsedMB = Math.round(process.memoryUsage().heapUsed / 1e6)
    const g = live.graph
    const nodes = g.members.length
    const edges = edgeCount(g)
    const rowEntries = g.rows.reduce((k, row) => k + row.dst.length, 0)
    t = performance.now()
    const r = answerBlastRadius({
      inventory: estate.inventory,
      policySet,
      at,
      baseline: 'policy',
      to: { kind: 'labels', match: labelSet({ role: 'db' }), expressions: [], global: true },
      maxPaths: 1,
    })
    const blastRadiusSeconds = (performance.now() - t) / 1000
    t = performance.now()
    const enforced = PolicyReachability.build(estate.inventory, policySet, at, { enforced: true })
    const enforcedSeconds = (performance.now() - t) / 1000
    const enforcedRowEntries = enforced.graph.rows.reduce((k, row) => k + row.dst.length, 0)
    log(
      `${n} workloads: full ${fullSeconds.toFixed(3)} s (index alone ${indexBuildSeconds.toFixed(3)} s), blast-radius ${blastRadiusSeconds.toFixed(3)} s, enforced ${enforcedSeconds.toFixed(3)} s (${enforcedRowEntries} row entries), ${nodes} nodes, ${edges} edges in ${rowEntries} row entries, heap ${heapUsedMB} MB`,
    )
    cases.push({
      workloads: n,
      rules: policySet.policies.reduce((k, p) => k + p.rules.length, 0),
      fullSeconds: round(fullSeconds),
      indexBuildSeconds: round(indexBuildSeconds),
      blastRadiusSeconds: round(blastRadiusSeconds),
      enforcedSeconds: round(enforcedSeconds),
      enforcedRowEntries,
      nodes,
      edges,
      sourceGroups: g.rows.length,
      destinationGroups: g.groupNodes.length,
      rowEntries,
      heapUsedMB,
      meanTransitive: r.summary.meanTransitive,
    })
  }
  // one-rule updates at 10 000 workloads: change one label-to-label rule's port or target role
  const n = Math.max(200, Math.round(10_000 * scale))
  const estate = generateEstate(n)
  const policySet = generatePolicies(estate, Math.max(10, Math.round(n / 10)))
  const live = PolicyReachability.build(estate.inventory, policySet, at)
  const bare = PolicyIndex.build(estate.inventory, policySet, at)
  const bareTimes: number[] = []
  const times: number[] = []
  const ownTimes: number[] = []
  let incremental = 0
  let full = 0
  let pairs = 0
  for (const { name, next } of oneRuleEdits(policySet)) {
    let t = performance.now()
    bare.updatePolicy(name, next)
    const b = performance.now() - t
    bareTimes.push(b)
    t = performance.now()
    const u = live.updatePolicy(name, next)
    const total = performance.now() - t
    times.push(total)
    ownTimes.push(Math.max(0, total - b))
    if (u.mode === 'incremental') incremental++
    else full++
    pairs += u.pairsRecomputed
  }
  times.sort((a, b) => a - b)
  bareTimes.sort((a, b) => a - b)
  ownTimes.sort((a, b) => a - b)
  const q = (f: number): number =>
    round(times[Math.min(times.length - 1, Math.floor(f * times.length))] ?? 0)
  const updates: ReachUpdates = {
    workloads: n,
    updates: times.length,
    medianMs: q(0.5),
    p90Ms: q(0.9),
    maxMs: round(times[times.length - 1] ?? 0),
    incremental,
    full,
    meanPairsRecomputed: round(pairs / Math.max(1, times.length), 1),
    indexOnlyMedianMs: round(bareTimes[Math.floor(bareTimes.length / 2)] ?? 0),
    reachOnlyMedianMs: round(ownTimes[Math.floor(ownTimes.length / 2)] ?? 0),
    reachOnlyP90Ms: round(ownTimes[Math.floor(ownTimes.length * 0.9)] ?? 0),
  }
  log(
    `one-rule updates at ${n}: median ${updates.medianMs} ms, p90 ${updates.p90Ms} ms (index alone: median ${updates.indexOnlyMedianMs} ms; reachability: median ${updates.reachOnlyMedianMs} ms, p90 ${updates.reachOnlyP90Ms} ms)`,
  )
  return {
    scale,
    loadAverage: os.loadavg().map((x) => round(x, 2)),
    cases,
    skipped,
    updates,
    goals: { fullAt10kSeconds: 1, updateMs: 1 },
  }
}
