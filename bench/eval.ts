/**
 * @module Benchmark `eval`: PolicyIndex verdicts per second (`decide`, one core) over synthetic
 * estates of 1 000 / 10 000 / 100 000 workloads and 100 / 1 000 / 10 000 / 100 000 rules, the
 * reference evaluator's rate on the smallest estate, and the flatness ratio (rate at 100 000
 * rules / rate at 100 rules, at 100 000 workloads). Goals: ≥ 5 000 000 verdicts/s at 100 000
 * workloads and 10 000 rules; flatness ≥ 0.8.
 *
 * Run with `npm run bench -- eval`; `BENCH_SCALE=0.1` shrinks workloads, rules and flows tenfold.
 * Flows: 1 000 000 pre-generated tuples with a Zipf skew (bench/generate-estate.ts), cycled; one untimed pass
 * warms the pair cache first. Progress goes to stderr.
 */
import { evaluate } from '../src/policy/evaluate.js'
import { PolicyIndex } from '../src/policy/policy-index.js'
import {
  DAY0,
  generateEstate,
  generateFlows,
  generatePolicies,
  type FlowColumns,
} from './generate-estate.js'

/** Figures for one (workloads, rules) estate. Times in seconds, rates in verdicts per second. */
export interface EvalCase {
  readonly workloads: number
  readonly rules: number
  readonly buildSeconds: number
  /** The first pass over every flow: includes computing every touched class pair. */
  readonly warmupSeconds: number
  readonly verdictsPerSecond: number
  /**
   * `decideClasses` on classes resolved beforehand with `endpointClass` (untimed), as a
   * columnar simulate over dictionary-encoded addresses would run: the pair and table lookup only.
   */
  readonly preResolvedVerdictsPerSecond: number
  readonly allowedShare: number
  readonly stats: { classes: number; selectors: number; cachedPairs: number; rules: number }
}

/** The whole result. */
export interface EvalBenchResult {
  readonly scale: number
  readonly flows: number
  readonly cases: readonly EvalCase[]
  /** Combinations not run, with the reason. */
  readonly skipped: readonly {
    readonly workloads: number
    readonly rules: number
    readonly reason: string
  }[]
  /**
   * Per estate size: two `Map<string, number>.get` per flow (source and destination address) over
   * the same flows — the floor cost of any evaluator keyed by address text, for context.
   */
  readonly mapBaseline: readonly {
    readonly workloads: number
    readonly lookupsPairsPerSecond: number
  }[]
  readonly reference: {
    readonly workloads: number
    readonly rules: number
    readonly flows: number
    readonly verdictsPerSecond: number
  }
  /** Sampled flows on which `decide` and the reference disagreed (must be 0). */
  readonly disagreements: { readonly sampled: number; readonly count: number }
  /** verdicts/s at the most rules / at the fewest rules, at the most workloads. */
  readonly flatness: number
  readonly goals: {
    readonly rateAt100kWorkloads10kRules: number | null
    readonly rateGoal: 5_000_000
    readonly flatnessGoal: 0.8
  }
}

function log(msg: string): void {
  process.stderr.write(`[bench eval] ${msg}\n`)
}

const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits

/** Decides every flow `passes` times; returns the number of allowed verdicts (a sink). */
function pass(index: PolicyIndex, f: FlowColumns): number {
  let allowed = 0
  const { src, dst, protocol, dstPort, at } = f
  for (let i = 0; i < f.count; i++) {
    const code = index.decide(
      src[i] as string,
      dst[i] as string,
      protocol[i] as number,
      dstPort[i] as number,
      at[i] as number,
    )
    if (code >= 0 && (code & 1) === 0) allowed++
  }
  return allowed
}

/** Verdicts per second of decideClasses over pre-resolved classes. */
function classRate(index: PolicyIndex, f: FlowColumns): number {
  const src = Int32Array.from({ length: f.count }, (_, i) =>
    index.endpointClass(f.src[i] as string, f.at[i] as number),
  )
  const dst = Int32Array.from({ length: f.count }, (_, i) =>
    index.endpointClass(f.dst[i] as string, f.at[i] as number),
  )
  const run = (): number => {
    let allowed = 0
    for (let i = 0; i < f.count; i++) {
      const code = index.decideClasses(
        src[i] as number,
        dst[i] as number,
        f.protocol[i] as number,
        f.dstPort[i] as number,
      )
      if (code >= 0 && (code & 1) === 0) allowed++
    }
    return allowed
  }
  run()
  let n = 0
  let sink = 0
  const t = performance.now()
  do {
    sink += run()
    n += f.count
  } while (performance.now() - t < 1000)
  return sink >= 0 ? Math.round(n / ((performance.now() - t) / 1000)) : 0
}

/** Flows per second for two Map<string, number> lookups per flow (timed like the index). */
function mapRate(f: FlowColumns): number {
  const m = new Map<string, number>()
  for (let i = 0; i < f.count; i++) {
    m.set(f.src[i] as string, i)
    m.set(f.dst[i] as string, i)
  }
  const run = (): number => {
    let acc = 0
    for (let i = 0; i < f.count; i++)
      acc += ((m.get(f.src[i] as string) as number) ^ (m.get(f.dst[i] as string) as number)) & 1
    return acc
  }
  run()
  let n = 0
  let sink = 0
  const t = performance.now()
  do {
    sink += run()
    n += f.count
  } while (performance.now() - t < 1500)
  const rate = Math.round(n / ((performance.now() - t) / 1000))
  log(`map baseline: ${(rate / 1e6).toFixed(2)} M flows/s (sink ${sink & 1})`)
  return rate
}

/** Runs the benchmark. `scale` shrinks every size (at least 200 workloads, 10 rules, 10 000 flows). */
export function benchEval(scale: number): Promise<EvalBenchResult> {
  return Promise.resolve().then(() => runEval(scale))
}

function runEval(scale: number): EvalBenchResult {
  const sizes = [1000, 10_000, 100_000].map((n) => Math.max(200, Math.round(n * scale)))
  const ruleCounts = [100, 1000, 10_000, 100_000].map((n) => Math.max(10, Math.round(n * scale)))
  const flowCount = Math.max(10_000, Math.round(1_000_000 * scale))
  const now = DAY0 + 12 * 3_600_000
  const cases: EvalCase[] = []
  const skipped: { workloads: number; rules: number; reason: string }[] = []
  const mapBaseline: { workloads: number; lookupsPairsPerSecond: number }[] = []
  let reference: EvalBenchResult['reference'] | undefined
  let disagreements = { sampled: 0, count: 0 }
  for (const n of sizes) {
    let t = performance.now()
    const estate = generateEstate(n)
    const flows = generateFlows(estate, flowCount)
    log(
      `estate of ${n} workloads and ${flowCount} flows generated in ${((performance.now() - t) / 1000).toFixed(2)} s`,
    )
    mapBaseline.push({ workloads: n, lookupsPairsPerSecond: mapRate(flows) })
    for (const r of ruleCounts) {
      if (r > 10 * n) {
        skipped.push({
          workloads: n,
          rules: r,
          reason:
            'more than 10 rules per workload: not a realistic estate, and the warm-up (first touch of every pair) dominates',
        })
        continue
      }
      const policySet = generatePolicies(estate, r)
      t = performance.now()
      const index = PolicyIndex.build(estate.inventory, policySet, now)
      const buildSeconds = (performance.now() - t) / 1000
      t = performance.now()
      pass(index, flows)
      const warmupSeconds = (performance.now() - t) / 1000
      let verdicts = 0
      let allowed = 0
      t = performance.now()
      do {
        allowed += pass(index, flows)
        verdicts += flows.count
      } while (performance.now() - t < 1500)
      const seconds = (performance.now() - t) / 1000
      const c: EvalCase = {
        workloads: n,
        rules: r,
        buildSeconds: round(buildSeconds),
        warmupSeconds: round(warmupSeconds),
        verdictsPerSecond: Math.round(verdicts / seconds),
        preResolvedVerdictsPerSecond: classRate(index, flows),
        allowedShare: round(allowed / verdicts, 4),
        stats: index.stats(),
      }
      cases.push(c)
      log(
        `${n} workloads × ${r} rules: build ${c.buildSeconds} s, warm-up ${c.warmupSeconds} s, ${(c.verdictsPerSecond / 1e6).toFixed(2)} M verdicts/s (pre-resolved ${(c.preResolvedVerdictsPerSecond / 1e6).toFixed(2)} M/s), ${JSON.stringify(c.stats)}`,
      )

      if (reference === undefined) {
        // the reference evaluator on the smallest estate, and a differential sample
        const sample = Math.min(flows.count, 20_000)
        const tuples = Array.from({ length: sample }, (_, i) => ({
          src: flows.src[i] as string,
          dst: flows.dst[i] as string,
          protocol: flows.protocol[i] as number,
          dstPort: flows.dstPort[i] as number,
          at: flows.at[i] as number,
        }))
        let done = 0
        let differ = 0
        t = performance.now()
        for (const tuple of tuples) {
          const v = evaluate(estate.inventory, policySet, tuple, { now })
          const code = index.decide(tuple.src, tuple.dst, tuple.protocol, tuple.dstPort, tuple.at)
          const want = v.by === 'default-deny' ? -1 : -2
          if (
            want === -1
              ? code !== -1
              : code < 0 ||
                index.ruleAt(code >> 1).id !== (v.by as { rule: { id: string } }).rule.id ||
                (code & 1) !== (v.decision === 'allowed' ? 0 : 1)
          )
            differ++
          done++
          if (performance.now() - t > 5000) break
        }
        const refSeconds = (performance.now() - t) / 1000
        reference = {
          workloads: n,
          rules: r,
          flows: done,
          verdictsPerSecond: Math.round(done / refSeconds),
        }
        disagreements = { sampled: done, count: differ }
        log(
          `reference evaluator: ${reference.verdictsPerSecond} verdicts/s over ${done} flows; ${differ} disagreements`,
        )
      }
    }
  }
  const biggest = cases.filter((c) => c.workloads === sizes[sizes.length - 1])
  const fewest = biggest[0] as EvalCase
  const most = biggest[biggest.length - 1] as EvalCase
  const target = cases.find((c) => c.workloads === sizes[2] && c.rules === ruleCounts[2])
  return {
    scale,
    flows: flowCount,
    cases,
    skipped,
    mapBaseline,
    reference: reference as EvalBenchResult['reference'],
    disagreements,
    flatness: round(most.verdictsPerSecond / fewest.verdictsPerSecond),
    goals: {
      rateAt100kWorkloads10kRules: target?.verdictsPerSecond ?? null,
      rateGoal: 5_000_000,
      flatnessGoal: 0.8,
    },
  }
}
