/**
 * @module Benchmark `eval`: PolicyIndex verdicts per second (one core) over synthetic estates of
 * 1 000 / 10 000 / 100 000 workloads and 100 / 1 000 / 10 000 / 100 000 rules, the reference
 * evaluator's rate on the smallest estate, and the flatness ratio (rate at 100 000 rules / rate at
 * 100 rules, at 100 000 workloads). Goals: ≥ 5 000 000 verdicts/s at 100 000 workloads and
 * 10 000 rules; flatness ≥ 0.8.
 *
 * Two paths are measured, labelled as such:
 * - `verdictsPerSecond` — the path `bulkhead simulate` uses (src/policy/simulate.ts): the address
 *   columns are dictionary-encoded (each distinct address resolved to an endpoint class once with
 *   `endpointClass`; per flow only for addresses a workload holds for a bounded time), then
 *   `decideClasses` per flow. The encoding is timed apart (`encodeSeconds`, one pass over the
 *   columns) and included in `endToEndVerdictsPerSecond` (encode once + decide once).
 * - `textVerdictsPerSecond` — `decide(srcText, dstText, …)` per flow: two string-keyed Map lookups
 *   of address text per verdict, for callers that hold no dictionary.
 * The goals are judged on `verdictsPerSecond` and reported for the other two as well.
 *
 * Also: one-rule updates (`PolicyIndex.updatePolicy` alone) at 10 000 workloads and 1 000 rules,
 * the same edits as bench/reach.ts makes (goal of issue 9: under 1 ms).
 *
 * Run with `npm run bench -- eval`; `BENCH_SCALE=0.1` shrinks workloads, rules and flows tenfold.
 * Flows: 1 000 000 pre-generated tuples with a Zipf skew (bench/generate-estate.ts), cycled; one untimed pass
 * warms the pair cache first. Progress goes to stderr.
 */
import os from 'node:os'
import { evaluate } from '../src/policy/evaluate.js'
import type { Inventory } from '../src/core/index.js'
import { PolicyIndex } from '../src/policy/policy-index.js'
import { Simulator } from '../src/policy/simulate.js'
import {
  DAY0,
  generateEstate,
  generateFlows,
  generatePolicies,
  oneRuleEdits,
  type FlowColumns,
} from './generate-estate.js'

/** Figures for one (workloads, rules) estate. Times in seconds, rates in verdicts per second. */
export interface EvalCase {
  readonly workloads: number
  readonly rules: number
  readonly buildSeconds: number
  /** The first pass over every flow: includes computing every touched class pair. */
  readonly warmupSeconds: number
  /**
   * The simulate path: `decideClasses` over dictionary-encoded address columns (see the module
   * comment); the encoding is not in this figure.
   */
  readonly verdictsPerSecond: number
  /** One pass of dictionary encoding of both address columns, seconds (amortised in simulate). */
  readonly encodeSeconds: number
  /** Distinct addresses resolved once, and flows whose address holds only for a time (resolved per flow). */
  readonly encode: { readonly distinctAddresses: number; readonly timedLookups: number }
  /** flows / (encodeSeconds + one decideClasses pass): a simulate run over the flows, once. */
  readonly endToEndVerdictsPerSecond: number
  /** `decide(srcText, dstText, …)` per flow: address text → class by Map lookups every time. */
  readonly textVerdictsPerSecond: number
  readonly allowedShare: number
  /** {@link PolicyIndex.stats} after the runs. */
  readonly stats: ReturnType<PolicyIndex['stats']>
  /**
   * What the rate depends on (see the README's Performance section): the distinct pairs of
   * (source `from` rule list, destination `to` rule list) the flows need, and how many of the
   * most used pairs answer half and 90 % of the flows.
   */
  readonly listPairs: { readonly touched: number; readonly forHalf: number; readonly for90: number }
}

/** One-rule updates on a bare PolicyIndex. Times in milliseconds (wall clock). */
export interface EvalUpdates {
  readonly workloads: number
  readonly rules: number
  readonly updates: number
  /** `updatePolicy` alone. */
  readonly medianMs: number
  readonly p90Ms: number
  readonly maxMs: number
  /**
   * After each update, `classRules` of every workload class (work an index might defer to the
   * next query is paid here), median.
   */
  readonly requeryMedianMs: number
  /** Updates that rebuilt the classes (`partitionEpoch` changed): the slow path. */
  readonly fullReindexes: number
}

/** The whole result. */
export interface EvalBenchResult {
  readonly scale: number
  /** 1/5/15-minute load average when done: figures on a busy machine are slower. */
  readonly loadAverage: readonly number[]
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
  /** `verdictsPerSecond` at the most rules / at the fewest rules, at the most workloads. */
  readonly flatness: number
  /** The same ratio for `textVerdictsPerSecond` and `endToEndVerdictsPerSecond`. */
  readonly flatnessText: number
  readonly flatnessEndToEnd: number
  /**
   * A whole `Simulator` (src/policy/simulate.ts) over the flows once, at the most workloads and the
   * third rule count (10 000 at scale 1): one flow group object per flow, verdict, outcome, rule
   * hits and denied-edge accounting. Flows per second.
   */
  readonly simulate: {
    readonly workloads: number
    readonly rules: number
    readonly flowsPerSecond: number
  } | null
  readonly updates: EvalUpdates
  readonly goals: {
    /** Judged on `verdictsPerSecond` (the simulate path). */
    readonly rateAt100kWorkloads10kRules: number | null
    readonly rateGoal: 5_000_000
    readonly rateMet: boolean
    readonly flatnessGoal: 0.8
    readonly flatnessMet: boolean
    readonly updateGoalMs: 1
    readonly updateMet: boolean
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

/** Dictionary-encoded address columns: class ids, as simulate resolves them. */
export interface Encoded {
  readonly src: Int32Array
  readonly dst: Int32Array
  readonly seconds: number
  readonly distinct: number
  readonly timed: number
}

/**
 * Encodes both address columns as simulate does: each distinct address text is resolved to its
 * endpoint class once and cached, unless a workload holds it only for a time
 * (`addressChanges` not empty): then it is resolved at each flow's time.
 */
function encode(index: PolicyIndex, f: FlowColumns): Encoded {
  const t = performance.now()
  const cache = new Map<string, number>()
  const timedSet = new Set<string>()
  let timed = 0
  const col = (texts: readonly string[]): Int32Array => {
    const out = new Int32Array(f.count)
    for (let i = 0; i < f.count; i++) {
      const ip = texts[i] as string
      const c = cache.get(ip)
      if (c !== undefined) {
        out[i] = c
        continue
      }
      if (!timedSet.has(ip) && index.addressChanges(ip).length === 0) {
        const cls = index.endpointClass(ip, f.at[i] as number)
        cache.set(ip, cls)
        out[i] = cls
      } else {
        timedSet.add(ip)
        timed++
        out[i] = index.endpointClass(ip, f.at[i] as number)
      }
    }
    return out
  }
  const src = col(f.src)
  const dst = col(f.dst)
  return {
    src,
    dst,
    seconds: (performance.now() - t) / 1000,
    distinct: cache.size + timedSet.size,
    timed,
  }
}

/**
 * The pairs of interned rule lists (source's `from` list, destination's `to` list, as
 * {@link PolicyIndex.classRules} returns them) the flows need, and how many of the most used
 * answer half and 90 % of the flows. Not timed.
 */
function listPairs(index: PolicyIndex, e: Encoded, count: number): EvalCase['listPairs'] {
  const ids = new Map<Int32Array, number>()
  const id = (list: Int32Array): number => {
    let k = ids.get(list)
    if (k === undefined) {
      k = ids.size
      ids.set(list, k)
    }
    return k
  }
  const uses = new Map<number, number>()
  for (let i = 0; i < count; i++) {
    const key =
      id(index.classRules(e.src[i] as number).from) * 2 ** 26 +
      id(index.classRules(e.dst[i] as number).to)
    uses.set(key, (uses.get(key) ?? 0) + 1)
  }
  const sorted = [...uses.values()].sort((a, b) => b - a)
  let seen = 0
  let forHalf = 0
  let for90 = 0
  for (const [k, n] of sorted.entries()) {
    seen += n
    if (forHalf === 0 && seen >= count / 2) forHalf = k + 1
    if (seen >= 0.9 * count) {
      for90 = k + 1
      break
    }
  }
  return { touched: uses.size, forHalf, for90 }
}

/** One decideClasses pass over encoded columns; returns the number of allowed verdicts. */
export function classPass(index: PolicyIndex, e: Encoded, f: FlowColumns): number {
  let allowed = 0
  const { src, dst } = e
  const { protocol, dstPort } = f
  for (let i = 0; i < f.count; i++) {
    const code = index.decideClasses(
      src[i] as number,
      dst[i] as number,
      protocol[i] as number,
      dstPort[i] as number,
    )
    if (code >= 0 && (code & 1) === 0) allowed++
  }
  return allowed
}

/** Verdicts per second of `run` (one pass = `count` verdicts) over at least `ms` milliseconds. */
export function rate(
  run: () => number,
  count: number,
  ms: number,
): { rate: number; allowed: number; verdicts: number } {
  let n = 0
  let allowed = 0
  const t = performance.now()
  do {
    allowed += run()
    n += count
  } while (performance.now() - t < ms)
  return { rate: Math.round(n / ((performance.now() - t) / 1000)), allowed, verdicts: n }
}

/** Flows per second of a whole Simulator over the flows, once (after one warm-up run). */
function simulateRate(
  index: PolicyIndex,
  inventory: Inventory,
  now: number,
  f: FlowColumns,
): number {
  const run = (): number => {
    const sim = new Simulator(index, inventory, now, { examplesPerEdge: 1 })
    const t = performance.now()
    for (let i = 0; i < f.count; i++) {
      const at = f.at[i] as number
      sim.addGroup({
        src: f.src[i] as string,
        dst: f.dst[i] as string,
        srcPort: 40000,
        dstPort: f.dstPort[i] as number,
        protocol: f.protocol[i] as number,
        direction: 'client-to-server',
        count: 1,
        first: at,
        last: at,
        at,
        examples: [{ source: SOURCE, start: at }],
      })
    }
    const seconds = (performance.now() - t) / 1000
    return sim.report().flows / seconds
  }
  run()
  return Math.round(run())
}

const SOURCE = { format: 'bench', file: 'generated' } as const

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

/**
 * One-rule updates at `n` workloads and `n / 10` rules: 200 times, a random policy's label-to-label
 * rule gets another service and (10 %) becomes a deny, as bench/reach.ts does (seed 99).
 */
function updateFigures(n: number, now: number): EvalUpdates {
  const estate = generateEstate(n)
  const policySet = generatePolicies(estate, Math.max(10, Math.round(n / 10)))
  const index = PolicyIndex.build(estate.inventory, policySet, now)
  const classes = new Set<number>()
  for (const w of estate.inventory.workloads)
    for (const a of w.addresses) classes.add(index.endpointClass(a.ip, now))
  const requery = (): void => {
    for (const c of classes) index.classRules(c)
  }
  requery()
  const times: number[] = []
  const after: number[] = []
  let full = 0
  for (const { name, next } of oneRuleEdits(policySet)) {
    const epoch = index.partitionEpoch
    let t = performance.now()
    index.updatePolicy(name, next)
    times.push(performance.now() - t)
    if (index.partitionEpoch !== epoch) full++
    t = performance.now()
    requery()
    after.push(performance.now() - t)
  }
  const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b)
  const q = (xs: number[], f: number): number =>
    round(sorted(xs)[Math.min(xs.length - 1, Math.floor(f * xs.length))] ?? 0)
  const figures: EvalUpdates = {
    workloads: n,
    rules: policySet.policies.reduce((k, p) => k + p.rules.length, 0),
    updates: times.length,
    medianMs: q(times, 0.5),
    p90Ms: q(times, 0.9),
    maxMs: round(Math.max(0, ...times)),
    requeryMedianMs: q(after, 0.5),
    fullReindexes: full,
  }
  log(
    `one-rule updates at ${n} workloads: updatePolicy median ${figures.medianMs} ms, p90 ${figures.p90Ms} ms, max ${figures.maxMs} ms; re-query median ${figures.requeryMedianMs} ms; ${full} full re-indexes`,
  )
  return figures
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
  let simulateFigure: EvalBenchResult['simulate'] | undefined
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
      // the simulate path: encode once (timed), warm the pair cache, then decideClasses
      const encoded = encode(index, flows)
      t = performance.now()
      classPass(index, encoded, flows)
      const warmupSeconds = (performance.now() - t) / 1000
      t = performance.now()
      classPass(index, encoded, flows)
      const onePass = (performance.now() - t) / 1000
      const cls = rate(() => classPass(index, encoded, flows), flows.count, 1500)
      pass(index, flows)
      const text = rate(() => pass(index, flows), flows.count, 1500)
      const c: EvalCase = {
        workloads: n,
        rules: r,
        buildSeconds: round(buildSeconds),
        warmupSeconds: round(warmupSeconds),
        verdictsPerSecond: cls.rate,
        encodeSeconds: round(encoded.seconds),
        encode: { distinctAddresses: encoded.distinct, timedLookups: encoded.timed },
        endToEndVerdictsPerSecond: Math.round(flows.count / (encoded.seconds + onePass)),
        textVerdictsPerSecond: text.rate,
        allowedShare: round(cls.allowed / cls.verdicts, 4),
        stats: index.stats(),
        listPairs: listPairs(index, encoded, flows.count),
      }
      cases.push(c)
      if (n === sizes[2] && r === ruleCounts[2]) {
        simulateFigure = {
          workloads: n,
          rules: r,
          flowsPerSecond: simulateRate(index, estate.inventory, now, flows),
        }
        log(
          `simulate: ${(simulateFigure.flowsPerSecond / 1e6).toFixed(2)} M flows/s through Simulator`,
        )
      }
      log(
        `${n} workloads × ${r} rules: build ${c.buildSeconds} s, encode ${c.encodeSeconds} s, warm-up ${c.warmupSeconds} s, ${(c.verdictsPerSecond / 1e6).toFixed(2)} M verdicts/s decideClasses (end to end ${(c.endToEndVerdictsPerSecond / 1e6).toFixed(2)} M/s; decide(text) ${(c.textVerdictsPerSecond / 1e6).toFixed(2)} M/s), ${JSON.stringify(c.stats)}, rule-list pairs ${c.listPairs.touched} (half the flows need ${c.listPairs.forHalf}, 90 % ${c.listPairs.for90})`,
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
  const updates = updateFigures(Math.max(200, Math.round(10_000 * scale)), now)
  const biggest = cases.filter((c) => c.workloads === sizes[sizes.length - 1])
  const fewest = biggest[0] as EvalCase
  const most = biggest[biggest.length - 1] as EvalCase
  const target = cases.find((c) => c.workloads === sizes[2] && c.rules === ruleCounts[2])
  const flatness = round(most.verdictsPerSecond / fewest.verdictsPerSecond)
  return {
    scale,
    loadAverage: os.loadavg().map((x) => round(x, 2)),
    flows: flowCount,
    cases,
    skipped,
    mapBaseline,
    reference: reference as EvalBenchResult['reference'],
    disagreements,
    flatness,
    flatnessText: round(most.textVerdictsPerSecond / fewest.textVerdictsPerSecond),
    flatnessEndToEnd: round(most.endToEndVerdictsPerSecond / fewest.endToEndVerdictsPerSecond),
    simulate: simulateFigure ?? null,
    updates,
    goals: {
      rateAt100kWorkloads10kRules: target?.verdictsPerSecond ?? null,
      rateGoal: 5_000_000,
      rateMet: (target?.verdictsPerSecond ?? 0) >= 5_000_000,
      flatnessGoal: 0.8,
      flatnessMet: flatness >= 0.8,
      updateGoalMs: 1,
      updateMet: updates.medianMs < 1,
    },
  }
}
