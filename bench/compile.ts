/**
 * @module Benchmark `compile`: how the host targets' compile time grows with the estate. The
 * bench estates (bench/generate-estate.ts, fixed seeds; rules = workloads / 10, one policy per
 * app, the estate's Enforcement file, compiled at {@link DAY0}, so that a workload address that
 * starts at 06:00 and rules that expire a month later make three time slices) are compiled for
 * every host, in process, and the rulesets' total size is summed (no files are written):
 * nftables at 1 000 / 5 000 / 20 000 workloads, iptables at 1 000 / 5 000 (its rulesets are about
 * twice nftables' size, 1.3 GB at 20 000, more than one process should hold here).
 *
 * The guard is the growth of time against the growth of output: `timePerOutputRatio` is
 * (ms per output MB at the largest size) ÷ (the same at the next smaller size), past the fixed
 * costs of a small estate. About 1 when compile time is proportional to what it writes. The
 * planner this replaced (every host walking every address interval and re-testing every rule)
 * took, in the built CLI, 160 ms/MB at 5 000 workloads and 727 ms/MB at 20 000 (nftables:
 * 22 s and 500 s of CPU for 138 MB and 688 MB): a ratio of 4.5. Goal: ≤ 1.5.
 *
 * Run with `npm run bench -- compile`; `BENCH_SCALE` scales the workload counts.
 */
import { loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { iptablesCompiler } from '../src/compile/iptables/compile.js'
import { nftablesCompiler } from '../src/compile/nftables/compile.js'
import type { Compiler } from '../src/compile/target.js'
import type { NftablesOptions } from '../src/compile/nftables/compile.js'
import { DAY0, generateEstate, generatePolicies } from './generate-estate.js'

/** Figures of one compile. */
export interface CompileCase {
  readonly target: 'nftables' | 'iptables'
  readonly workloads: number
  readonly rules: number
  /** Files written per host: 1 (nftables) or 4 (iptables). */
  readonly artefacts: number
  /** Total size of every artefact, bytes (UTF-16 code units; the rulesets are ASCII). */
  readonly outputBytes: number
  readonly compileMs: number
  /** compileMs per MB (10⁶ bytes) of output. */
  readonly msPerOutputMB: number
  /** Time slices the rulesets switch between (1 + `switchesAt`). */
  readonly slices: number
  /** One-minute load average after the compile (the machine may be shared). */
  readonly load1: number
}

function compileCase(
  target: CompileCase['target'],
  compiler: Compiler<NftablesOptions>,
  workloads: number,
): CompileCase {
  const estate = generateEstate(workloads)
  const rules = Math.max(10, Math.round(workloads / 10))
  const policySet = generatePolicies(estate, rules)
  const t = performance.now()
  const r = compiler.compile(estate.inventory, policySet, { now: new Date(DAY0) })
  const compileMs = performance.now() - t
  let outputBytes = 0
  for (const a of r.artefacts) outputBytes += a.content.length
  const c: CompileCase = {
    target,
    workloads,
    rules,
    artefacts: r.artefacts.length,
    outputBytes,
    compileMs: Math.round(compileMs),
    msPerOutputMB: Math.round((compileMs / (outputBytes / 1e6)) * 10) / 10,
    slices: 1 + (r.timeSlicing?.starts.length ?? 0),
    load1: Math.round((loadavg()[0] ?? NaN) * 100) / 100,
  }
  process.stderr.write(
    `[compile] ${target}, ${workloads} workloads, ${rules} rules: ${c.compileMs} ms, ${(outputBytes / 1e6).toFixed(1)} MB (${c.msPerOutputMB} ms/MB; load ${c.load1})\n`,
  )
  return c
}

/** Runs the benchmark; see the module comment. */
export function benchCompile(scale: number): Promise<unknown> {
  const size = (n: number): number => Math.max(100, Math.round(n * scale))
  // warm-up (JIT), not reported
  nftablesCompiler.compile(
    generateEstate(300).inventory,
    generatePolicies(generateEstate(300), 30),
    {
      now: new Date(DAY0),
    },
  )
  iptablesCompiler.compile(
    generateEstate(300).inventory,
    generatePolicies(generateEstate(300), 30),
    {
      now: new Date(DAY0),
    },
  )
  const nft = [1_000, 5_000, 20_000].map((n) => compileCase('nftables', nftablesCompiler, size(n)))
  const ipt = [1_000, 5_000].map((n) => compileCase('iptables', iptablesCompiler, size(n)))
  const ratio = (cases: readonly CompileCase[]): number => {
    const before = cases[cases.length - 2]
    const last = cases[cases.length - 1]
    if (!before || !last) return NaN
    return Math.round((last.msPerOutputMB / before.msPerOutputMB) * 100) / 100
  }
  return Promise.resolve({
    cases: [...nft, ...ipt],
    goals: {
      timePerOutputRatio: { nftables: ratio(nft), iptables: ratio(ipt) },
    },
  })
}
