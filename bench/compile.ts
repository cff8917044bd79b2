/**
 * @module Benchmark `compile`: how every target's compile time grows with the estate. The bench
 * estates (bench/generate-estate.ts, fixed seeds; rules = workloads / 10, one policy per app, the
 * estate's Enforcement file, compiled at {@link DAY0}, so that a workload address that starts at
 * 06:00 and rules that expire a month later make three time slices) are compiled for every host
 * or cluster, in process, and the artefacts' total size is summed (no files are written):
 * nftables at 1 000 / 5 000 / 20 000 workloads, iptables at 1 000 / 5 000 (its rulesets are about
 * twice nftables' size, 1.3 GB at 20 000, more than one process should hold here), and
 * kubernetes, cilium, calico, aws-sg and azure-nsg at 1 000 / 5 000 / 20 000 on the estate each
 * accepts ({@link targetEstate}).
 *
 * The guard is the growth of time against the growth of output: `timePerOutputRatio` is
 * (ms per output MB at the largest size) ÷ (the same at the next smaller size), past the fixed
 * costs of a small estate; `cpuTimePerOutputRatio` the same in CPU time (user + system of the
 * process, garbage collection included), which other work on a shared machine moves less. About 1 when compile time is proportional to what it writes. The
 * nftables planner this replaced (every host walking every address interval and re-testing every
 * rule) took, in the built CLI, 160 ms/MB at 5 000 workloads and 727 ms/MB at 20 000 (22 s and
 * 500 s of CPU for 138 MB and 688 MB): a ratio of 4.5. Before 2026-11-23 the cluster targets
 * resolved pod groups pod by pod and selector by selector over every workload (cilium: 4.2 s →
 * 98 s of CPU for 0.74 → 3.4 MB, a ratio of 5.1), azure-nsg restricted every rule to every NSG
 * (ratio 1.6) and aws-sg asked every group about every workload address (ratio 2.3). Goal: ≤ 1.5.
 *
 * Run with `npm run bench -- compile`; `BENCH_SCALE` scales the workload counts.
 */
import { loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import {
  labelSet,
  parseService,
  type Inventory,
  type PolicySet,
  type Selector,
  type Service,
} from '../src/core/index.js'
import { awsSgCompiler } from '../src/compile/aws-sg/compile.js'
import { azureNsgCompiler } from '../src/compile/azure-nsg/compile.js'
import { calicoCompiler } from '../src/compile/calico/compile.js'
import { ciliumCompiler } from '../src/compile/cilium/compile.js'
import { iptablesCompiler } from '../src/compile/iptables/compile.js'
import { kubernetesCompiler } from '../src/compile/kubernetes/compile.js'
import { nftablesCompiler } from '../src/compile/nftables/compile.js'
import type { Compiler, TargetName } from '../src/compile/target.js'
import { DAY0, generateEstate, generatePolicies } from './generate-estate.js'

/** Figures of one compile. */
export interface CompileCase {
  readonly target: TargetName
  readonly workloads: number
  /** Rules of the policy set compiled (after {@link targetEstate} left out what the target refuses). */
  readonly rules: number
  /** Files written: per host 1 (nftables) or 4 (iptables); per namespace, or one file. */
  readonly artefacts: number
  /** Total size of every artefact, bytes (UTF-16 code units; the artefacts are ASCII). */
  readonly outputBytes: number
  /** Wall-clock time of the compile, ms. */
  readonly compileMs: number
  /** CPU time of the process during the compile (user + system, ms; garbage collection included). */
  readonly cpuMs: number
  /** compileMs per MB (10⁶ bytes) of output. */
  readonly msPerOutputMB: number
  /** cpuMs per MB of output: less moved than wall-clock time by other work on a shared machine. */
  readonly cpuMsPerOutputMB: number
  /** Time slices the rulesets switch between (1 + `switchesAt`; 1 for targets without time). */
  readonly slices: number
  /** One-minute load average after the compile (the machine may be shared). */
  readonly load1: number
}

const POD_TARGETS: readonly TargetName[] = ['kubernetes', 'cilium', 'calico']

/**
 * The bench estate of `n` workloads as `target` accepts it (the targets refuse what they cannot
 * express, DESIGN.md "Enforcement and verification"):
 *
 * - kubernetes, cilium, calico: every workload is a pod in the namespace of its app (label
 *   `namespace`), and the rules that pick some pods of a label set out by name or address
 *   (`workload` selectors, CIDR blocks inside 10.0.0.0/8: `compile/not-expressible`) are left out;
 *   kubernetes also leaves out the deny rules (plain NetworkPolicy: with `--deny-with anp` the
 *   20 000-workload estate needs more than the 1 000 AdminNetworkPolicy priorities);
 * - kubernetes, cilium, aws-sg, azure-nsg: the Enforcement file's `monitor` entry is `enforce`
 *   (they have no monitor mode);
 * - kubernetes `icmp/8` is `tcp/7` (NetworkPolicy has no ICMP), azure-nsg `icmp/8` is `icmp`
 *   (an NSG matches no ICMP type).
 */
export function targetEstate(
  target: TargetName,
  n: number,
): { inventory: Inventory; policySet: PolicySet; rules: number } {
  const estate = generateEstate(n)
  let inventory = estate.inventory
  let policySet = generatePolicies(estate, Math.max(10, Math.round(n / 10)))
  if (POD_TARGETS.includes(target)) {
    inventory = {
      ...inventory,
      workloads: inventory.workloads.map((w) => ({
        ...w,
        labels: labelSet({ ...w.labels, namespace: w.labels['app'] ?? 'default' }),
      })),
    }
    const picksPods = (s: Selector): boolean =>
      s.kind === 'workload' || (s.kind === 'cidr' && s.cidr.text.startsWith('10.'))
    policySet = {
      ...policySet,
      policies: policySet.policies
        .map((p) => ({
          ...p,
          rules: p.rules.filter(
            (r) =>
              ![...r.from, ...r.to].some(picksPods) &&
              !(target === 'kubernetes' && r.action === 'deny'),
          ),
        }))
        .filter((p) => p.rules.length > 0),
    }
  }
  if (target !== 'calico' && target !== 'nftables' && target !== 'iptables')
    policySet = {
      ...policySet,
      enforcement: policySet.enforcement.map((e) =>
        e.mode === 'monitor' ? { ...e, mode: 'enforce' as const } : e,
      ),
    }
  const icmpAs: Partial<Record<TargetName, string>> = { kubernetes: 'tcp/7', 'azure-nsg': 'icmp' }
  const as = icmpAs[target]
  if (as !== undefined) {
    const to = parseService(as) as Service
    policySet = {
      ...policySet,
      policies: policySet.policies.map((p) => ({
        ...p,
        rules: p.rules.map((r) => ({
          ...r,
          services: r.services.map((s) => (s.protocol === 1 ? to : s)),
        })),
      })),
    }
  }
  const rules = policySet.policies.reduce((sum, p) => sum + p.rules.length, 0)
  return { inventory, policySet, rules }
}

const COMPILERS: Readonly<Record<TargetName, Compiler>> = {
  nftables: nftablesCompiler,
  iptables: iptablesCompiler,
  kubernetes: kubernetesCompiler,
  cilium: ciliumCompiler,
  calico: calicoCompiler,
  'aws-sg': awsSgCompiler,
  'azure-nsg': azureNsgCompiler,
}

function compileCase(target: TargetName, workloads: number): CompileCase {
  const { inventory, policySet, rules } = targetEstate(target, workloads)
  const compiler = COMPILERS[target]
  const cpu = process.cpuUsage()
  const t = performance.now()
  const r = compiler.compile(inventory, policySet, { now: new Date(DAY0) })
  const compileMs = performance.now() - t
  const used = process.cpuUsage(cpu)
  let outputBytes = 0
  for (const a of r.artefacts) outputBytes += a.content.length
  const c: CompileCase = {
    target,
    workloads,
    rules,
    artefacts: r.artefacts.length,
    outputBytes,
    compileMs: Math.round(compileMs),
    cpuMs: Math.round((used.user + used.system) / 1000),
    msPerOutputMB: Math.round((compileMs / (outputBytes / 1e6)) * 10) / 10,
    cpuMsPerOutputMB:
      Math.round(((used.user + used.system) / 1000 / (outputBytes / 1e6)) * 10) / 10,
    slices: 1 + (r.timeSlicing?.starts.length ?? 0),
    load1: Math.round((loadavg()[0] ?? NaN) * 100) / 100,
  }
  process.stderr.write(
    `[compile] ${target}, ${workloads} workloads, ${rules} rules: ${c.compileMs} ms (CPU ${c.cpuMs} ms), ${(outputBytes / 1e6).toFixed(2)} MB (${c.msPerOutputMB} ms/MB; load ${c.load1})\n`,
  )
  return c
}

/** The targets and sizes compiled (see the module comment). */
const SIZES: readonly (readonly [TargetName, readonly number[]])[] = [
  ['nftables', [1_000, 5_000, 20_000]],
  ['iptables', [1_000, 5_000]],
  ['kubernetes', [1_000, 5_000, 20_000]],
  ['cilium', [1_000, 5_000, 20_000]],
  ['calico', [1_000, 5_000, 20_000]],
  ['aws-sg', [1_000, 5_000, 20_000]],
  ['azure-nsg', [1_000, 5_000, 20_000]],
]

/** Runs the benchmark; see the module comment. */
export function benchCompile(scale: number): Promise<unknown> {
  const size = (n: number): number => Math.max(100, Math.round(n * scale))
  // warm-up (JIT), not reported
  for (const [target] of SIZES) {
    const { inventory, policySet } = targetEstate(target, 300)
    COMPILERS[target].compile(inventory, policySet, { now: new Date(DAY0) })
  }
  const cases: CompileCase[] = []
  const timePerOutputRatio: Partial<Record<TargetName, number>> = {}
  const cpuTimePerOutputRatio: Partial<Record<TargetName, number>> = {}
  for (const [target, sizes] of SIZES) {
    const mine = sizes.map((n) => compileCase(target, size(n)))
    cases.push(...mine)
    const before = mine[mine.length - 2]
    const last = mine[mine.length - 1]
    const ratio = (per: (c: CompileCase) => number): number =>
      before && last ? Math.round((per(last) / per(before)) * 100) / 100 : NaN
    timePerOutputRatio[target] = ratio((c) => c.msPerOutputMB)
    cpuTimePerOutputRatio[target] = ratio((c) => c.cpuMsPerOutputMB)
  }
  // the goal (≤ 1.5) holds for both; on a shared machine the CPU ratio is the steadier one
  return Promise.resolve({ cases, goals: { timePerOutputRatio, cpuTimePerOutputRatio } })
}
