/**
 * @module The demo's compile step: one policy set compiled to several targets, each for the
 * workloads it can enforce — nftables for the hosts and VMs, Kubernetes NetworkPolicy and Cilium
 * for the pods — with a per-target account of what was written and what could not be expressed.
 * @remarks DESIGN.md "Enforcement and verification": a rule a target cannot express is an error
 * naming the rule and the target, never a silent drop. Here such an error stops that target (it
 * writes nothing) and is listed in the result; the other targets go on.
 */
import {
  BulkheadError,
  formatRuleRef,
  hostCidr,
  parseIp,
  type IpAddress,
  selectorMatches,
  type Diagnostic,
  type EnforcementMode,
  type Inventory,
  type Policy,
  type PolicySet,
  type Rule,
  type Selector,
  type Workload,
} from '../../core/index.js'
import {
  ciliumCompiler,
  kubernetesCompiler,
  nftablesCompiler,
  UnsupportedByTargetError,
  type Artefact,
  type TargetName,
} from '../../compile/index.js'
import { addressHoldsAt, enforcementModeOf, isLive } from '../../policy/evaluate.js'

/** The targets the demo compiles to. */
export type DemoTarget = Extract<TargetName, 'nftables' | 'kubernetes' | 'cilium'>

/** One rule a target could not express, or one workload it cannot enforce in its mode. */
export interface NotExpressed {
  /** `policy/rule`, or the workload name for a mode problem. */
  readonly what: string
  /** The diagnostic code (`compile/unsupported-by-target`, `compile/not-expressible`, ...). */
  readonly code: string
  readonly message: string
}

/** What one target wrote. Stable: part of `DemoResult`. */
export interface DemoTargetResult {
  readonly target: DemoTarget
  /** The workloads compiled for (hosts for nftables, pods for the cluster targets), sorted. */
  readonly workloads: readonly string[]
  /** Workloads of this target's kind left out, with why (`observe` mode: nothing is installed). */
  readonly leftOut: readonly { readonly workload: string; readonly why: string }[]
  /** Live rules with a side selecting one of {@link workloads}: the rules this target enforces. */
  readonly rules: number
  /** Live rules selecting none of them (enforced by another target, or by none). */
  readonly otherRules: number
  /** Files written, relative to the target's folder. Empty when {@link notExpressed} is not. */
  readonly artefacts: readonly string[]
  /**
   * Compiler warnings (expired rules left out, anti-lockout, ...). The cluster targets'
   * `compile/not-a-pod` for the hosts are left out: those are the nftables target's.
   */
  readonly warnings: readonly Diagnostic[]
  /** Rules (or modes) the target cannot express; when any, the target writes nothing. */
  readonly notExpressed: readonly NotExpressed[]
}

/** A target's artefacts with the account of {@link DemoTargetResult}. */
export interface CompiledTarget {
  readonly result: DemoTargetResult
  readonly files: readonly Artefact[]
}

/** The address judged for a workload that holds none at the instant (modes and label selectors do not read it). */
const NO_ADDRESS: IpAddress = { family: 4, value: 0n }

/** The endpoint view of a workload at `at`: one per address it holds then. */
function endpoints(w: Workload, at: number): { ip: IpAddress }[] {
  const out: { ip: IpAddress }[] = []
  for (const a of w.addresses) {
    if (!addressHoldsAt(a, at)) continue
    const ip = parseIp(a.ip)
    if (ip) out.push({ ip })
  }
  return out
}

/** True when any selector of `side` selects workload `w` (scope ANDed in, DESIGN.md rule 2). */
export function sideSelects(
  side: readonly Selector[],
  policy: Policy,
  w: Workload,
  at: number,
): boolean {
  const eps = endpoints(w, at)
  const entity = { kind: 'workload' as const, workload: w }
  return side.some((s) => {
    if (s.kind === 'cidr')
      return eps.some((e) => selectorMatches(s, { ip: e.ip, entity }, policy.scope))
    // label, workload, external and any selectors do not depend on the address
    return selectorMatches(s, { ip: eps[0]?.ip ?? NO_ADDRESS, entity }, policy.scope)
  })
}

/**
 * The part of a policy set a target enforces for `workloads`: every policy with only its rules
 * that select one of them on either side (expired ones kept, so that the compiler reports them),
 * and no Enforcement entries (modes are checked per workload by {@link compileDemoTargets}).
 * @returns the policy set and the counts of live rules kept and left for other targets.
 */
export function policyFor(
  policySet: PolicySet,
  workloads: readonly Workload[],
  at: number,
): { policySet: PolicySet; rules: number; otherRules: number } {
  let rules = 0
  let otherRules = 0
  const policies: Policy[] = []
  for (const policy of policySet.policies) {
    const kept: Rule[] = []
    for (const rule of policy.rules) {
      const mine = workloads.some(
        (w) => sideSelects(rule.from, policy, w, at) || sideSelects(rule.to, policy, w, at),
      )
      if (mine) kept.push(rule)
      if (!isLive(rule, at)) continue
      if (mine) rules++
      else otherRules++
    }
    if (kept.length > 0) policies.push({ ...policy, rules: kept })
  }
  return { policySet: { policies, enforcement: [] }, rules, otherRules }
}

function notExpressedOf(err: unknown): NotExpressed[] {
  if (!(err instanceof BulkheadError)) throw err
  if (err instanceof UnsupportedByTargetError)
    return err.unsupported.map((u, i) => ({
      what: formatRuleRef(u.rule),
      code: 'compile/unsupported-by-target',
      message: err.diagnostics[i]?.message ?? `needs ${u.capability}`,
    }))
  return err.diagnostics.map((d) => ({
    what: /rule (\S+):/.exec(d.message)?.[1] ?? '',
    code: d.code,
    message: d.message,
  }))
}

/**
 * Compiles `policySet` to nftables (every workload without a `namespace` label: hosts and VMs,
 * with the workspace's Enforcement modes, monitor included) and to the kubernetes and cilium
 * targets (the pods: workloads with a `namespace` label).
 *
 * For the cluster targets each pod's mode is taken from the full Enforcement list (first match,
 * DESIGN.md): `enforce` pods are compiled; `observe` pods are left out (observe installs
 * nothing); `monitor` pods cannot be expressed (NetworkPolicy and Cilium policies have no
 * monitor-only mode) and are listed in `notExpressed`. Each target gets {@link policyFor} its
 * workloads, so a rule between two hosts is not asked of the cluster; a rule the target cannot
 * express stops that target, which then writes nothing and lists the rule.
 * @param now - the compile instant (rule expiry, held addresses), ms UTC.
 */
export function compileDemoTargets(
  inventory: Inventory,
  policySet: PolicySet,
  now: number,
): CompiledTarget[] {
  const modeOf = (w: Workload): EnforcementMode =>
    enforcementModeOf(policySet, { kind: 'workload', workload: w }, now)
  const byName = (a: Workload, b: Workload): number => (a.name < b.name ? -1 : 1)
  const hosts = inventory.workloads.filter((w) => w.labels['namespace'] === undefined).sort(byName)
  const pods = inventory.workloads.filter((w) => w.labels['namespace'] !== undefined).sort(byName)
  const out: CompiledTarget[] = []

  {
    const part = policyFor(policySet, hosts, now)
    // Anti-lockout from the admin jump hosts only: the default (every private range) would keep
    // tcp/22 open between all hosts, the very path the intrusion day's lateral movement takes.
    const managementCidrs = hosts
      .filter((h) => h.labels['role'] === 'admin')
      .flatMap((h) => endpoints(h, now))
      .map((e) => hostCidr(e.ip))
    out.push(
      run('nftables', hosts, [], part, [], () =>
        nftablesCompiler.compile(
          inventory,
          { ...part.policySet, enforcement: policySet.enforcement },
          {
            now: new Date(now),
            direction: 'both',
            hosts: hosts.map((h) => h.name),
            managementCidrs,
          },
        ),
      ),
    )
  }
  const enforced = pods.filter((p) => modeOf(p) === 'enforce')
  const leftOut = pods
    .filter((p) => modeOf(p) === 'observe')
    .map((p) => ({ workload: p.name, why: 'observe mode: nothing is installed' }))
  const monitor: NotExpressed[] = pods
    .filter((p) => modeOf(p) === 'monitor')
    .map((p) => ({
      what: p.name,
      code: 'compile/unsupported-by-target',
      message: `${p.name} is in monitor mode, which the target cannot express (no monitor-only policy mode)`,
    }))
  for (const target of ['kubernetes', 'cilium'] as const) {
    const part = policyFor(policySet, enforced, now)
    const compiler = target === 'kubernetes' ? kubernetesCompiler : ciliumCompiler
    out.push(
      run(target, enforced, leftOut, part, monitor, () =>
        // the workspace's modes: the compilers leave observe pods unisolated themselves
        compiler.compile(
          inventory,
          { ...part.policySet, enforcement: policySet.enforcement },
          {
            now: new Date(now),
            direction: 'both',
            hosts: enforced.map((p) => p.name),
          },
        ),
      ),
    )
  }
  return out
}

function run(
  target: DemoTarget,
  workloads: readonly Workload[],
  leftOut: DemoTargetResult['leftOut'],
  part: { rules: number; otherRules: number },
  already: readonly NotExpressed[],
  compile: () => { artefacts: readonly Artefact[]; diagnostics: readonly Diagnostic[] },
): CompiledTarget {
  const base = {
    target,
    workloads: workloads.map((w) => w.name),
    leftOut,
    rules: part.rules,
    otherRules: part.otherRules,
  }
  if (already.length > 0)
    return {
      result: { ...base, artefacts: [], warnings: [], notExpressed: already },
      files: [],
    }
  try {
    const r = compile()
    return {
      result: {
        ...base,
        artefacts: r.artefacts.map((a) => a.path),
        warnings: r.diagnostics.filter((d) => d.code !== 'compile/not-a-pod'),
        notExpressed: [],
      },
      files: r.artefacts,
    }
  } catch (err) {
    return {
      result: { ...base, artefacts: [], warnings: [], notExpressed: notExpressedOf(err) },
      files: [],
    }
  }
}
