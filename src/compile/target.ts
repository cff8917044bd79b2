/**
 * @module The Compiler interface every enforcement target implements, the capability names a
 * target declares, and the error a target raises for a rule it cannot express.
 * @remarks Semantics: DESIGN.md "Enforcement and verification"; STYLE.md "Conventions"
 * (`UnsupportedByTargetError`, capability list as Hono's skip-with-reason list).
 */
import {
  AddressRangeSet,
  BulkheadError,
  cidrCovers,
  formatRuleRef,
  formatService,
  isNonUnicastSet,
  selectorKey,
  type Diagnostic,
  type External,
  type EnforcementMode,
  type Inventory,
  type Policy,
  type PolicySet,
  type Rule,
  type RuleRef,
  type Selector,
} from '../core/index.js'
import { addressHoldsAt, isLive } from '../policy/evaluate.js'

/**
 * Enforcement back ends (DESIGN.md "target"), in the order `compile --help` lists them. Stable:
 * the `--target` values.
 */
export const TARGET_NAMES = [
  'nftables',
  'iptables',
  'kubernetes',
  'cilium',
  'calico',
  'aws-sg',
  'azure-nsg',
] as const

/** One of {@link TARGET_NAMES}. */
export type TargetName = (typeof TARGET_NAMES)[number]

/**
 * What a target can express. A live rule needs every capability {@link requiredCapabilities}
 * lists for it; a target that lacks one raises {@link UnsupportedByTargetError}.
 *
 * - `deny-rules`: rules with `action: deny` (deny beats allow).
 * - `cidr-selectors` / `cidr-except`: `cidr` selectors, and ones with `except` blocks.
 * - `multicast-broadcast`: `cidr` and `external` selectors whose every address is a multicast
 *   group (`224.0.0.0/4`, `ff00::/8`) or the limited broadcast `255.255.255.255` (core
 *   `isNonUnicastSet`): a rule for mDNS to `224.0.0.251/32`, to a named external over a group,
 *   to `224.0.0.0/3` except `240.0.0.0/4` ({@link selectorAddresses}). A selector that also holds
 *   unicast addresses (`0.0.0.0/0`, `any`, a wide external) does not need it: it compiles into
 *   something that works for them.
 * - `named-externals`: `external` selectors (the inventory's named ranges).
 * - `workload-selectors`: `workload` selectors (one workload by name).
 * - `label-expressions`: `matchExpressions` (In, NotIn, Exists, DoesNotExist).
 * - `global-selectors`: label or workload selectors marked `scope: global`.
 * - `any-peer`: the `any` selector (every endpoint, managed or not).
 * - `port-ranges`: services with a port range wider than one port, short of every port.
 * - `icmp`: ICMP / ICMPv6 services (with or without a type).
 * - `icmp-types`: ICMP / ICMPv6 services naming a type or type range short of every type
 *   (`icmp/8`); `icmp` (every type) needs only `icmp`.
 * - `icmpv6`: ICMPv6 services (protocol 58), on top of `icmp`.
 * - `sctp`: SCTP services (protocol 132).
 * - `ipsec-protocols`: ESP and AH services (`esp`, `ah`, i.e. `proto/50`, `proto/51`), which some
 *   targets name although they name no other protocol number (Azure NSG `Esp` / `Ah`).
 * - `other-protocols`: services naming a protocol other than TCP, UDP, SCTP, ICMP, ICMPv6, ESP
 *   and AH. A target with `other-protocols` has `ipsec-protocols` too (they are protocol
 *   numbers like any other to it).
 * - `any-service`: the `any` service (every protocol and port).
 * - `ipv6`: IPv6 addresses and blocks.
 * - `monitor-mode`: Enforcement `monitor` (accept, but record would-be-blocked connections).
 * Stable: printed in errors and used by the conformance suite's skip lists.
 */
export type Capability =
  | 'deny-rules'
  | 'cidr-selectors'
  | 'cidr-except'
  | 'multicast-broadcast'
  | 'named-externals'
  | 'workload-selectors'
  | 'label-expressions'
  | 'global-selectors'
  | 'any-peer'
  | 'port-ranges'
  | 'icmp'
  | 'icmp-types'
  | 'icmpv6'
  | 'sctp'
  | 'ipsec-protocols'
  | 'other-protocols'
  | 'any-service'
  | 'ipv6'
  | 'monitor-mode'

/** Every capability, in a stable order. */
export const ALL_CAPABILITIES: readonly Capability[] = [
  'deny-rules',
  'cidr-selectors',
  'cidr-except',
  'multicast-broadcast',
  'named-externals',
  'workload-selectors',
  'label-expressions',
  'global-selectors',
  'any-peer',
  'port-ranges',
  'icmp',
  'icmp-types',
  'icmpv6',
  'sctp',
  'ipsec-protocols',
  'other-protocols',
  'any-service',
  'ipv6',
  'monitor-mode',
]

/**
 * Every capability but `missing`: how a target that lacks a few states what it can express, so
 * that its list names what is missing (the capabilities its conformance suite skips), as a
 * Hono router names its skipped tests.
 */
export function capabilitiesWithout(...missing: readonly Capability[]): ReadonlySet<Capability> {
  return new Set(ALL_CAPABILITIES.filter((c) => !missing.includes(c)))
}

/** Which traffic of a host a compiled artefact filters: into it, out of it, or both. */
export type Direction = 'ingress' | 'egress' | 'both'

/**
 * Options every compiler takes. A target may extend them (see `NftablesOptions`); the
 * extensions must all be optional so that the conformance suite can drive any compiler.
 */
export interface CompileOptions {
  /**
   * The instant at which the policy is compiled: rules with `expires <= now` are left out
   * (DESIGN.md rule 4) and workloads have the addresses they hold at `now`.
   */
  readonly now: Date
  /** Workload names to compile for; undefined means every workload (`--all-hosts`). */
  readonly hosts?: readonly string[]
  /** Default `both`. */
  readonly direction?: Direction
  /**
   * Told `(done, total)` after each host's artefacts are rendered, `total` being the hosts
   * compiled for, so that a shell can draw a progress bar over a long compile. Only the targets
   * that write a file per host (nftables, iptables) call it; it must not throw and changes nothing
   * in the result.
   */
  readonly onProgress?: (done: number, total: number) => void
}

/** One output file: `path` is relative to the output folder (no `..`, not absolute). */
export interface Artefact {
  readonly path: string
  readonly content: string
  /** The workload the artefact enforces for, when it is per host. */
  readonly host?: string
  /** That workload's enforcement mode, when it is per host. */
  readonly mode?: EnforcementMode
}

/** What {@link Compiler.compile} returns: files to write and warnings to show. */
export interface CompileResult {
  readonly artefacts: readonly Artefact[]
  /**
   * Warnings only (anti-lockout in force, rules left out as expired, rules and addresses whose
   * time bounds lie after the compile instant ({@link laterChanges}) and that the artefacts do
   * not follow, hosts without address).
   */
  readonly diagnostics: readonly Diagnostic[]
  /**
   * Set by the targets whose artefacts follow time by themselves (nftables `meta time`,
   * iptables `-m time`): see {@link TimeSlicing}. Absent for the targets without time, whose
   * artefacts are right only until {@link recompileAt}.
   */
  readonly timeSlicing?: TimeSlicing
}

/**
 * An enforcement target. `compile` is pure (no I/O, no clock: time comes in `options.now`).
 * @throws UnsupportedByTargetError when a live rule needs a capability the target lacks.
 * @throws BulkheadError `compile/unknown-host` when `options.hosts` names no workload.
 */
export interface Compiler<O extends CompileOptions = CompileOptions> {
  readonly target: TargetName
  readonly capabilities: ReadonlySet<Capability>
  compile(inventory: Inventory, policySet: PolicySet, options: O): CompileResult
}

/** One rule a target cannot express, with the capability it lacks. */
export interface Unsupported {
  readonly rule: RuleRef
  readonly capability: Capability
}

/**
 * A rule (or several) that the target cannot express. Carries one
 * `compile/unsupported-by-target` diagnostic per (rule, capability), located at the rule.
 */
export class UnsupportedByTargetError extends BulkheadError {
  override name = 'UnsupportedByTargetError'
  constructor(
    readonly target: TargetName,
    readonly unsupported: readonly Unsupported[],
    diagnostics: readonly Diagnostic[],
  ) {
    super(diagnostics)
  }
}

/**
 * The addresses a `cidr` or `external` selector matches, as the reference evaluator resolves them
 * (policy/evaluate.ts): a block minus its `except` blocks; a named external's block minus what
 * the other externals take from it (a longer prefix inside it wins, and of two externals with one
 * block the first in inventory order). Undefined for the other selectors, and for an external
 * the inventory does not name. Addresses workloads hold are not taken out (a workload inside an
 * external's block is rare, and only makes the rest narrower).
 */
export function selectorAddresses(
  sel: Selector,
  externals: readonly External[],
): AddressRangeSet | undefined {
  if (sel.kind === 'cidr') {
    const f = sel.cidr.family
    return AddressRangeSet.fromCidrs(f, [sel.cidr]).minus(AddressRangeSet.fromCidrs(f, sel.except))
  }
  if (sel.kind !== 'external') return undefined
  const i = externals.findIndex((x) => x.name === sel.name)
  const x = externals[i]
  if (x === undefined) return undefined
  const won = externals.filter(
    (o, j) =>
      j !== i &&
      cidrCovers(x.cidr, o.cidr) &&
      (o.cidr.prefix > x.cidr.prefix || (o.cidr.prefix === x.cidr.prefix && j < i)),
  )
  const f = x.cidr.family
  return AddressRangeSet.fromCidrs(f, [x.cidr]).minus(
    AddressRangeSet.fromCidrs(
      f,
      won.map((o) => o.cidr),
    ),
  )
}

/**
 * The capabilities a rule needs, in {@link ALL_CAPABILITIES} order, without duplicates.
 * @param externals - the inventory's named externals, which `external` selectors name: a rule
 *   to an external whose addresses are all multicast or broadcast needs `multicast-broadcast`.
 */
export function requiredCapabilities(rule: Rule, externals: readonly External[]): Capability[] {
  const need = new Set<Capability>()
  if (rule.action === 'deny') need.add('deny-rules')
  for (const sel of [...rule.from, ...rule.to]) {
    const addresses = selectorAddresses(sel, externals)
    if (addresses !== undefined && isNonUnicastSet(addresses)) need.add('multicast-broadcast')
    switch (sel.kind) {
      case 'cidr':
        need.add('cidr-selectors')
        if (sel.except.length > 0) need.add('cidr-except')
        if (sel.cidr.family === 6) need.add('ipv6')
        break
      case 'external':
        need.add('named-externals')
        break
      case 'workload':
        need.add('workload-selectors')
        if (sel.global) need.add('global-selectors')
        break
      case 'labels':
        if (sel.expressions.length > 0) need.add('label-expressions')
        if (sel.global) need.add('global-selectors')
        break
      case 'any':
        need.add('any-peer')
        break
    }
  }
  for (const s of rule.services) {
    if (s.protocol === 'any') need.add('any-service')
    else if (s.protocol === 1 || s.protocol === 58) {
      need.add('icmp')
      if (s.protocol === 58) need.add('icmpv6')
      if (!(s.ports.lo === 0 && s.ports.hi >= 255)) need.add('icmp-types')
    } else if (s.protocol === 50 || s.protocol === 51) need.add('ipsec-protocols')
    else if (s.protocol !== 6 && s.protocol !== 17 && s.protocol !== 132)
      need.add('other-protocols')
    else {
      if (s.protocol === 132) need.add('sctp')
      if (s.ports.lo !== s.ports.hi && !(s.ports.lo === 0 && s.ports.hi === 65535))
        need.add('port-ranges')
    }
  }
  return ALL_CAPABILITIES.filter((c) => need.has(c))
}

/**
 * Checks every live rule (and the Enforcement modes) of the policy set against a target's
 * capabilities. Expired rules are absent (rule 4) and need nothing.
 * @param inventory - its named externals are what `external` selectors match
 *   ({@link requiredCapabilities}).
 * @param modes - the modes of the workloads the target enforces for (the cluster targets pass
 *   their pods' modes, so that a VM in monitor mode does not stop them). Default: every mode an
 *   Enforcement entry names.
 * @throws UnsupportedByTargetError listing every (rule, capability) the target lacks; `monitor-mode`
 *   under rule `(enforcement)/monitor-mode` when `modes` holds `monitor`, its diagnostic located at
 *   the first Enforcement entry giving `monitor` (the others as `related`).
 */
export function assertExpressible(
  target: TargetName,
  capabilities: ReadonlySet<Capability>,
  inventory: Inventory,
  policySet: PolicySet,
  now: Date,
  modes: ReadonlySet<EnforcementMode> = new Set(policySet.enforcement.map((e) => e.mode)),
): void {
  const { externals } = inventory
  const unsupported: Unsupported[] = []
  const diagnostics: Diagnostic[] = []
  const at = now.getTime()
  const push = (policy: Policy, rule: Rule, capability: Capability): void => {
    const ref = { policy: policy.name, id: rule.id }
    unsupported.push({ rule: ref, capability })
    const loc = rule.location ?? policy.location
    // the services that need it, as the policy spells them (`esp`, `icmp/8`), when some do
    const services = [
      ...new Set(
        rule.services
          .filter((s) =>
            requiredCapabilities(
              {
                ...rule,
                action: 'allow',
                from: [],
                to: [],
                services: [s],
              },
              externals,
            ).includes(capability),
          )
          .map(formatService),
      ),
    ]
    // the selectors that name only groups or the broadcast: an external's name does not say so
    const selectors =
      capability === 'multicast-broadcast'
        ? [
            ...new Set(
              [...rule.from, ...rule.to]
                .filter((sel) => {
                  const a = selectorAddresses(sel, externals)
                  return a !== undefined && isNonUnicastSet(a)
                })
                .map((sel) => {
                  const x = sel.kind === 'external' && externals.find((e) => e.name === sel.name)
                  return x ? `${selectorKey(sel)} = ${x.cidr.text}` : selectorKey(sel)
                }),
            ),
          ]
        : []
    const what = [...services, ...selectors]
    diagnostics.push({
      code: 'compile/unsupported-by-target',
      severity: 'error',
      message: `rule ${ref.policy}/${ref.id} needs "${capability}"${what.length > 0 ? ` (${what.join(', ')})` : ''}, which target ${target} cannot express`,
      ...(loc ? { location: loc } : {}),
    })
  }
  for (const policy of policySet.policies) {
    for (const rule of policy.rules) {
      if (!isLive(rule, at)) continue
      for (const cap of requiredCapabilities(rule, externals))
        if (!capabilities.has(cap)) push(policy, rule, cap)
    }
  }
  if (!capabilities.has('monitor-mode') && modes.has('monitor')) {
    const [first, ...more] = policySet.enforcement.filter((e) => e.mode === 'monitor')
    unsupported.push({
      rule: { policy: '(enforcement)', id: 'monitor-mode' },
      capability: 'monitor-mode',
    })
    diagnostics.push({
      code: 'compile/unsupported-by-target',
      severity: 'error',
      message: `workloads to compile are in monitor mode, which target ${target} cannot express: it allows or drops, it cannot accept and report`,
      hint: 'give those workloads mode enforce or observe in the Enforcement file, or compile only enforced ones with --host NAME; bulkhead simulate shows what enforce would block',
      ...(first?.location ? { location: first.location } : {}),
      ...(more.some((e) => e.location)
        ? { related: more.flatMap((e) => (e.location ? [e.location] : [])) }
        : {}),
    })
  }
  if (unsupported.length > 0) throw new UnsupportedByTargetError(target, unsupported, diagnostics)
}

/**
 * One future instant at which the model changes but compiled artefacts do not: a live rule's
 * `expires`, or a workload address's `from` (not held yet) or `to` (held until then).
 */
export interface LaterChange {
  /** The instant, ms since epoch (UTC), strictly after the compile instant. */
  readonly at: number
  /**
   * Its warning: `compile/expires-later` located at the rule (else its policy), or
   * `compile/address-bound-later` located at the address (else its workload). The hint says
   * to recompile at or after {@link LaterChange.at}.
   */
  readonly diagnostic: Diagnostic
}

/** ISO-8601 UTC text of an instant in ms. */
function iso(t: number): string {
  return new Date(t).toISOString()
}

/**
 * The time bounds every compiled artefact ignores. No target expresses time: a rule is compiled
 * if it is live at `now` and then holds for good, and a workload has the addresses it holds at
 * `now` for good. The model (DESIGN.md rule 4: an expired rule is treated as absent; workload
 * addresses valid for a time interval) changes at each instant returned here, so the artefacts
 * are right only until the earliest of them.
 *
 * @param now - the compile instant ({@link CompileOptions.now}).
 * @returns one entry per live rule with `expires > now` (in policy and rule order), then one per
 *   workload address with `from > now` (the instant is `from`) or held at `now` with a `to`
 *   (the instant is `to`), in inventory order. Empty when nothing is time-bound.
 * @throws never.
 */
export function laterChanges(inventory: Inventory, policySet: PolicySet, now: Date): LaterChange[] {
  const at = now.getTime()
  const out: LaterChange[] = []
  for (const policy of policySet.policies) {
    for (const rule of policy.rules) {
      if (rule.expires === undefined || !isLive(rule, at)) continue
      const loc = rule.location ?? policy.location
      const verb = rule.action === 'deny' ? 'denying' : 'allowing'
      out.push({
        at: rule.expires,
        diagnostic: {
          code: 'compile/expires-later',
          severity: 'warning',
          message: `rule ${formatRuleRef({ policy: policy.name, id: rule.id })} expires at ${iso(rule.expires)} and is compiled without expiry: the artefacts keep ${verb} after it`,
          ...(loc ? { location: loc } : {}),
          hint: `recompile at or after ${iso(rule.expires)}`,
        },
      })
    }
  }
  for (const w of inventory.workloads) {
    for (const a of w.addresses) {
      const held = addressHoldsAt(a, at)
      const when = held ? a.to : a.from !== undefined && a.from > at ? a.from : undefined
      if (when === undefined) continue
      const loc = a.location ?? w.location
      out.push({
        at: when,
        diagnostic: {
          code: 'compile/address-bound-later',
          severity: 'warning',
          message: held
            ? `workload "${w.name}" holds ${a.ip} until ${iso(when)}; the artefacts still treat it as ${w.name}'s address after that`
            : `workload "${w.name}" holds ${a.ip} from ${iso(when)}; the artefacts do not treat it as ${w.name}'s address until compiled again`,
          ...(loc ? { location: loc } : {}),
          hint: `recompile at or after ${iso(when)}`,
        },
      })
    }
  }
  return out
}

/** Most `compile/address-bound-later` warnings given one by one (the earliest); the rest are summed up. */
export const ADDRESS_BOUND_WARNINGS_MAX = 5

/**
 * The warnings of {@link laterChanges}, as every compiler adds them to
 * {@link CompileResult.diagnostics} (stable codes `compile/expires-later`,
 * `compile/address-bound-later`): every `expires-later`, then the
 * {@link ADDRESS_BOUND_WARNINGS_MAX} earliest address bounds one by one and, when there are
 * more (IP reuse gives many), one `address-bound-later` without location counting the rest.
 */
export function laterChangeWarnings(
  inventory: Inventory,
  policySet: PolicySet,
  now: Date,
  slicing?: TimeSlicing,
): Diagnostic[] {
  const changes = slicing
    ? slicing.beyond.map((c) => ({
        ...c,
        diagnostic: { ...c.diagnostic, message: c.diagnostic.message + beyondNote(slicing, c.at) },
      }))
    : laterChanges(inventory, policySet, now)
  const addresses = changes
    .filter((c) => c.diagnostic.code === 'compile/address-bound-later')
    .sort((a, b) => a.at - b.at)
  const rest = addresses.slice(ADDRESS_BOUND_WARNINGS_MAX)
  return [
    ...changes.filter((c) => c.diagnostic.code !== 'compile/address-bound-later'),
    ...addresses.slice(0, ADDRESS_BOUND_WARNINGS_MAX),
  ]
    .map((c) => c.diagnostic)
    .concat(
      rest.length === 0
        ? []
        : [
            {
              code: 'compile/address-bound-later',
              severity: 'warning',
              message: `${rest.length} more workload address bound(s) fall after the compile instant, from ${iso((rest[0] as LaterChange).at)} to ${iso((rest[rest.length - 1] as LaterChange).at)}; the artefacts follow none of them`,
              hint: `recompile at or after ${iso((addresses[0] as LaterChange).at)}, and again at each bound`,
            },
          ],
    )
}

/**
 * A target that compiles in one plan as a {@link Compiler} (kubernetes, cilium, calico, aws-sg,
 * azure-nsg): `plan` builds the target's objects from the inputs (throwing what its planner
 * throws: `compile/not-expressible`, {@link UnsupportedByTargetError}, ...) with the diagnostics
 * of its own, `artefacts` renders the plan into files; the result's diagnostics are the plan's,
 * then a warning per later change of the input the artefacts cannot follow
 * ({@link laterChangeWarnings} at `options.now`), as for every target.
 */
export function planCompiler<
  O extends CompileOptions,
  P extends { readonly diagnostics: CompileResult['diagnostics'] },
>(
  target: TargetName,
  capabilities: ReadonlySet<Capability>,
  plan: (inventory: Inventory, policySet: PolicySet, options: O) => P,
  artefacts: (plan: P, options: O) => Artefact[],
): Compiler<O> {
  return {
    target,
    capabilities,
    compile(inventory: Inventory, policySet: PolicySet, options: O): CompileResult {
      const planned = plan(inventory, policySet, options)
      return {
        artefacts: artefacts(planned, options),
        diagnostics: [
          ...planned.diagnostics,
          ...laterChangeWarnings(inventory, policySet, options.now),
        ],
      }
    },
  }
}

/** Why a time-aware target does not follow a change: the slice bound or its latest instant. */
function beyondNote(slicing: TimeSlicing, at: number): string {
  if (slicing.latest !== undefined && ceilToSecond(at) > slicing.latest)
    return ` (the target's time match ends at ${iso(slicing.latest)})`
  const last = slicing.starts[slicing.starts.length - 1]
  if (last === undefined)
    return ` (--max-time-slices ${slicing.maxSlices}: the rulesets do not switch by themselves)`
  return ` (the rulesets switch by themselves only up to their last time slice, from ${iso(last)}, which holds until compiled again: --max-time-slices ${slicing.maxSlices})`
}

/**
 * The earliest instant after `now` at which the compiled artefacts stop matching the model
 * (the least {@link LaterChange.at}), or undefined when nothing is time-bound: when to compile
 * and install again.
 */
export function recompileAt(
  inventory: Inventory,
  policySet: PolicySet,
  now: Date,
): Date | undefined {
  const times = laterChanges(inventory, policySet, now).map((c) => c.at)
  // not Math.min(...times): more than about 125 000 instants overflow the call stack
  return times.length > 0 ? new Date(times.reduce((m, t) => Math.min(m, t))) : undefined
}

/** Default of `--max-time-slices`: at most this many time slices per ruleset (7 switches). */
export const DEFAULT_MAX_TIME_SLICES = 8

/** The kernel compares times in whole seconds: an instant in ms, rounded up to the next whole second. */
export function ceilToSecond(t: number): number {
  return Math.ceil(t / 1000) * 1000
}

/**
 * How a time-aware target cuts the future into slices, each compiled at its start
 * (DESIGN.md rule 4 and time-bounded addresses: between two {@link LaterChange} instants every
 * verdict of the model is constant). Slice 0 is [now, starts[0]), slice i is
 * [starts[i-1], starts[i]), the last one [starts[last], ∞): the kernel picks the slice by the
 * packet's time, so an expired rule stops matching at its instant without a recompile.
 */
export interface TimeSlicing {
  /**
   * The instants (ms since epoch, UTC, whole seconds, ascending, all after `now`) at which the
   * artefacts switch to their next slice: each {@link LaterChange.at} rounded up to the whole
   * second (the kernel's `meta time` and `-m time` work in seconds), at most `maxSlices - 1`.
   */
  readonly starts: readonly number[]
  /** The changes the slices follow (their instant, rounded up, is one of {@link starts}). */
  readonly followed: readonly LaterChange[]
  /**
   * The changes the artefacts do not follow: after the last slice start when the bound
   * `maxSlices` is reached, or after `latest`. Warned about ({@link laterChangeWarnings}).
   */
  readonly beyond: readonly LaterChange[]
  /** The earliest instant of {@link beyond} (when to compile and install again), if any. */
  readonly recompileAt?: number
  /** The bound the slices were cut with. */
  readonly maxSlices: number
  /** The last instant (ms) the target can dispatch on, when it has one. */
  readonly latest?: number
}

/**
 * Cuts the time after `now` into at most `maxSlices` slices (see {@link TimeSlicing}).
 * @param maxSlices - whole number ≥ 1; 1 gives no slice start (every change is beyond).
 * @param latest - the last instant (ms) the target can dispatch on (iptables' `-m time` stops in
 *   2038); later instants are beyond. Default: none.
 * @throws never.
 */
export function timeSlices(
  inventory: Inventory,
  policySet: PolicySet,
  now: Date,
  maxSlices: number,
  latest = Number.POSITIVE_INFINITY,
): TimeSlicing {
  const changes = laterChanges(inventory, policySet, now)
  const instants = [...new Set(changes.map((c) => ceilToSecond(c.at)))]
    .filter((t) => t <= latest)
    .sort((a, b) => a - b)
    .slice(0, Math.max(0, maxSlices - 1))
  const chosen = new Set(instants)
  const followed = changes.filter((c) => chosen.has(ceilToSecond(c.at)))
  const beyond = changes.filter((c) => !chosen.has(ceilToSecond(c.at)))
  const first = beyond.reduce((m, c) => Math.min(m, c.at), Number.POSITIVE_INFINITY)
  return {
    starts: instants,
    followed,
    beyond,
    ...(Number.isFinite(first) ? { recompileAt: first } : {}),
    maxSlices,
    ...(Number.isFinite(latest) ? { latest } : {}),
  }
}
