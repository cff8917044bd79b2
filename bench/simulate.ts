/**
 * @module Benchmark `simulate`: what a `Simulator` (src/policy/simulate.ts) holds per denied edge
 * and how fast it takes flows, over the bench estate of 20 000 workloads and 2 000 rules
 * (bench/generate-estate.ts: estate seed 7, policies seed 11) and 1 000 000 flows (seed 13,
 * Zipf skew 1), each a Flow object as `simulate --flows FILE.csv` feeds them (three examples kept
 * per edge, the default). The flows are replayed once to warm the index's caches, then again
 * into a new Simulator, measured: memory (V8 heap plus ArrayBuffers, after a full collection)
 * before it is made, after its last flow and with its report held.
 *
 * Run with `npm run bench -- simulate`; `BENCH_SCALE` scales workloads, rules and flows. The
 * store path (the grouping query read by column, then the same Simulator) is timed on the built
 * CLI over the same estate written as a workspace by ./write-estate.ts (README "History of the
 * figures").
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { loadavg } from 'node:os'
import type { Flow } from '../src/core/index.js'
import { PolicyIndex } from '../src/policy/policy-index.js'
import { Simulator } from '../src/policy/simulate.js'
import { DAY0, generateEstate, generateFlows, generatePolicies } from './generate-estate.js'

/** The figures. Memory in bytes, times in seconds. */
export interface SimulateBenchResult {
  readonly workloads: number
  readonly rules: number
  readonly flows: number
  readonly deniedEdges: number
  /** What the Simulator holds after the last flow, per denied edge. Goal: ≤ 200. */
  readonly bytesPerDeniedEdge: number
  /** The same with the report (`report()`, its objects and strings) held too. */
  readonly withReportBytesPerDeniedEdge: number
  readonly flowsPerSecond: number
  readonly reportSeconds: number
  readonly load1: number
}

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** V8 heap used plus ArrayBuffer backing stores (typed arrays), after two full collections. */
function memory(): number {
  gc()
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

/** Runs the benchmark; see the module comment. */
export function benchSimulate(scale: number): Promise<SimulateBenchResult> {
  return Promise.resolve().then(() => run(scale))
}

function run(scale: number): SimulateBenchResult {
  const workloads = Math.max(200, Math.round(20_000 * scale))
  const rules = Math.max(10, Math.round(workloads / 10))
  const count = Math.max(10_000, Math.round(1_000_000 * scale))
  const estate = generateEstate(workloads)
  const policySet = generatePolicies(estate, rules)
  const f = generateFlows(estate, count)
  const now = DAY0 + 12 * 3_600_000
  const index = PolicyIndex.build(estate.inventory, policySet, now)
  const feed = (sim: Simulator): void => {
    for (let i = 0; i < f.count; i++) {
      const start = f.at[i] as number
      const flow: Flow = {
        src: f.src[i] as string,
        dst: f.dst[i] as string,
        srcPort: 40000,
        dstPort: f.dstPort[i] as number,
        protocol: f.protocol[i] as number,
        start,
        end: start + 1000,
        packets: 1,
        bytes: 100,
        observedAction: 'accept',
        direction: 'unknown',
        source: { format: 'csv', file: 'flows.csv', line: i + 2 },
      }
      sim.add(flow)
    }
  }
  const options = { policySet }
  // in a function of its own: a temporary of this frame could keep the warm-up Simulator alive
  const warmUp = (): number => {
    const warm = new Simulator(index, estate.inventory, now, options)
    feed(warm)
    return warm.report().flows
  }
  warmUp()
  const before = memory()
  const sim = new Simulator(index, estate.inventory, now, options)
  let t = performance.now()
  feed(sim)
  const feedSeconds = (performance.now() - t) / 1000
  const held = memory()
  t = performance.now()
  const report = sim.report()
  const reportSeconds = (performance.now() - t) / 1000
  const withReport = memory()
  const edges = report.denied.length
  const result: SimulateBenchResult = {
    workloads,
    rules,
    flows: count,
    deniedEdges: edges,
    bytesPerDeniedEdge: Math.round((held - before) / Math.max(1, edges)),
    withReportBytesPerDeniedEdge: Math.round((withReport - before) / Math.max(1, edges)),
    flowsPerSecond: Math.round(count / feedSeconds),
    reportSeconds: Math.round(reportSeconds * 100) / 100,
    load1: Math.round((loadavg()[0] ?? NaN) * 100) / 100,
  }
  process.stderr.write(
    `[simulate] ${workloads} workloads, ${rules} rules, ${count} flows: ${edges} denied edges, ${result.bytesPerDeniedEdge} B each held (${result.withReportBytesPerDeniedEdge} with the report), ${result.flowsPerSecond} flows/s, report ${result.reportSeconds} s\n`,
  )
  return result
}
