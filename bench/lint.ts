/**
 * @module Benchmark `lint`: the whole of {@link lint} (ownership, expiry, breadth, and the exact
 * coverage: endpoint classes, groups, shadowed / redundant / matches-nothing) over the synthetic
 * estates of bench/generate-estate.ts: 1 000 / 10 000 / 20 000 workloads with rules = workloads
 * / 10 (fixed seeds; about 1 % of the addresses held from a time on), and the 20 000 estate with
 * every address made time-bounded (held in one of two halves of a year, so endpoint classes
 * carry lives and some never meet).
 *
 * Run with `npm run bench -- lint`; `BENCH_SCALE=0.1` shrinks the estates tenfold. The findings
 * per code are printed with the time, so a change that alters them shows here too.
 */
import { lint } from '../src/policy/lint.js'
import type { Inventory } from '../src/core/index.js'
import { DAY0, generateEstate, generatePolicies, type Estate } from './generate-estate.js'

/** Figures for one estate; times in seconds (the median of `runs`). */
export interface LintCase {
  readonly workloads: number
  readonly rules: number
  readonly timeBounded: 'as generated' | 'every address'
  readonly runs: number
  readonly medianSeconds: number
  readonly minSeconds: number
  /** Findings per code. */
  readonly findings: Readonly<Record<string, number>>
}

function log(msg: string): void {
  process.stderr.write(`[bench lint] ${msg}\n`)
}

const HALF_YEAR_MS = 182 * 86_400_000

/** Every address held in one of two half-year windows around DAY0 (by the workload's index). */
function everyAddressBounded(inv: Inventory): Inventory {
  return {
    ...inv,
    workloads: inv.workloads.map((w, i) => ({
      ...w,
      addresses: w.addresses.map((a) =>
        i % 2 === 0
          ? { ip: a.ip, from: DAY0 - HALF_YEAR_MS, to: DAY0 }
          : { ip: a.ip, from: DAY0, to: DAY0 + HALF_YEAR_MS },
      ),
    })),
  }
}

function measure(estate: Estate, timeBounded: LintCase['timeBounded']): LintCase {
  const workloads = estate.inventory.workloads.length
  const inventory =
    timeBounded === 'every address' ? everyAddressBounded(estate.inventory) : estate.inventory
  const policySet = generatePolicies(estate, Math.max(10, Math.round(workloads / 10)))
  const { policies } = policySet
  const rules = policies.reduce((n, p) => n + p.rules.length, 0)
  const runs = workloads >= 10_000 ? 3 : 5
  const times: number[] = []
  const findings: Record<string, number> = {}
  for (let k = 0; k < runs; k++) {
    const t = performance.now()
    const out = lint(inventory, policySet, { now: DAY0 })
    times.push((performance.now() - t) / 1000)
    if (k === 0) for (const f of out) findings[f.code] = (findings[f.code] ?? 0) + 1
  }
  times.sort((a, b) => a - b)
  const median = times[Math.floor(times.length / 2)] as number
  log(`${workloads} workloads, ${rules} rules, ${timeBounded}: ${median.toFixed(3)} s`)
  return {
    workloads,
    rules,
    timeBounded,
    runs,
    medianSeconds: Math.round(median * 1000) / 1000,
    minSeconds: Math.round((times[0] as number) * 1000) / 1000,
    findings,
  }
}

/** Runs the benchmark. */
export function benchLint(scale: number): Promise<LintCase[]> {
  const out: LintCase[] = []
  const sizes = [1_000, 10_000, 20_000].map((n) => Math.max(100, Math.round(n * scale)))
  let estate: Estate | undefined
  for (const n of sizes) {
    estate = generateEstate(n)
    out.push(measure(estate, 'as generated'))
  }
  if (estate) out.push(measure(estate, 'every address'))
  return Promise.resolve(out)
}
