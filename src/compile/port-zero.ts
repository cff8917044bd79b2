/**
 * @module Port 0 of TCP, UDP and SCTP on targets that cannot write it in a deny: the
 * `compile/port-zero-passes` warning, given when a deny rule's written form leaves port 0 out and
 * the written allows still let port 0 through for a pair the model denies.
 *
 * The model's `tcp` and `tcp/0-1023` hold port 0 (DESIGN.md "service"; README "Workspace and
 * policy format"). AdminNetworkPolicy ports start at 1 (`portNumber.port`, `portRange.start`:
 * 1–65535), and Cilium's `port: "0"` means every port, so a deny range from 0 other than the
 * whole protocol is written from 1 there; what stops port 0 then is only what the allows say.
 */
import {
  cidrContains,
  cidrRange,
  formatRuleRef,
  formatIp,
  formatService,
  parseIp,
  type Cidr,
  type Diagnostic,
  type Inventory,
  type IpAddress,
  type Policy,
  type PolicySet,
  type Rule,
  type RuleRef,
  type Selector,
  type Service,
  SelectorMembers,
} from '../core/index.js'
import { addressHoldsAt, evaluate, isLive } from '../policy/evaluate.js'
import { isAllowedCode, PolicyIndex } from '../policy/policy-index.js'

/** The protocols whose ports the cluster targets write: TCP, UDP, SCTP. */
const PORT_PROTOCOLS: ReadonlySet<number> = new Set([6, 17, 132])

/**
 * How a target writes the TCP/UDP/SCTP ranges of a rule's services when it cannot name port 0:
 * a range from 0 is written from 1 (a range of port 0 alone is refused before, as
 * `compile/not-expressible`), except the whole protocol (0–65535) when `wholeHoldsZero`, which
 * the target writes as "every port" (NetworkPolicy `{protocol}` without `port`, Cilium
 * `port: "0"`). Other services are written as they are.
 */
export function writtenFromPort1(services: readonly Service[], wholeHoldsZero: boolean): Service[] {
  return services.flatMap((s): Service[] => {
    if (s.protocol === 'any' || !PORT_PROTOCOLS.has(s.protocol) || s.ports.lo > 0) return [s]
    if (wholeHoldsZero && s.ports.hi === 65535) return [s]
    if (s.ports.hi < 1) return []
    return [{ protocol: s.protocol, ports: { lo: 1, hi: s.ports.hi } }]
  })
}

/** The TCP/UDP/SCTP protocols for which `written` leaves out port 0 that `services` hold. */
function lostPortZero(services: readonly Service[], written: readonly Service[]): number[] {
  const holds = (list: readonly Service[], p: number): boolean =>
    list.some((s) => s.protocol === 'any' || (s.protocol === p && s.ports.lo === 0))
  return [...PORT_PROTOCOLS].filter((p) => holds(services, p) && !holds(written, p))
}

/**
 * The `compile/port-zero-passes` warnings of a compile: one per live deny rule whose written
 * services leave out port 0 of TCP, UDP or SCTP that the rule denies, when for some pair of
 * endpoints the rule takes, the model denies that port 0 under `monitor` or `enforce` (the
 * stronger mode of the two ends) while the policy set as the target writes it (every rule's
 * services through `written`) allows it. The warning names the rule, the protocol, one such flow
 * and the allow rule that lets it through.
 *
 * Pairs tried: those the deny and some allow written with port 0 (`any`, a whole protocol) both
 * take (no such allow: nothing is tried), one address per endpoint class. Endpoints: the
 * addresses held at `at` by the workloads a side's label and workload
 * selectors take; for `cidr`, `external` and `any` selectors the workload addresses inside and,
 * for the addresses no workload holds, the first address of each block the policy set and the
 * externals name and the address after its last, with `0.0.0.0` and `::`: each run of addresses
 * that the same blocks hold starts at one of them, so every endpoint class is tried (a leak to
 * an address of an allow's block inside a wider deny block is found).
 * @param written - the services of a rule as the target writes them (see {@link writtenFromPort1});
 *   the rule's `action` tells an allow (written as NetworkPolicy, say) from a deny (AdminNetworkPolicy).
 * @param target - the target's name, for the message (`kubernetes --deny-with anp`, `cilium`).
 * @param why - why the target cannot write port 0 in a deny, for the message.
 * @returns the warnings, in policy and rule order; none when no deny loses port 0 (the common
 *   case: a deny of `any`, of single ports, or of ranges from 1).
 */
export function portZeroWarnings(
  inventory: Inventory,
  policySet: PolicySet,
  at: number,
  written: (rule: Rule) => readonly Service[],
  target: string,
  why: string,
): Diagnostic[] {
  const lossy: { policy: Policy; rule: Rule; protocols: number[] }[] = []
  for (const policy of policySet.policies)
    for (const rule of policy.rules) {
      if (rule.action !== 'deny' || !isLive(rule, at)) continue
      const protocols = lostPortZero(rule.services, written(rule))
      if (protocols.length > 0) lossy.push({ policy, rule, protocols })
    }
  if (lossy.length === 0) return []
  // the allows that the target writes with port 0 of a protocol (any, a whole protocol): only
  // they can let port 0 through, so without one nothing is tried
  const holdsZero = (services: readonly Service[], p: number): boolean =>
    services.some((s) => s.protocol === 'any' || (s.protocol === p && s.ports.lo === 0))
  const openers = policySet.policies.flatMap((policy) =>
    policy.rules
      .filter((r) => r.action === 'allow' && isLive(r, at))
      .map((rule) => ({ policy, rule, services: written(rule) })),
  )
  if (!lossy.some((d) => d.protocols.some((p) => openers.some((a) => holdsZero(a.services, p)))))
    return []
  const writtenSet: PolicySet = {
    ...policySet,
    policies: policySet.policies.map((p) => ({
      ...p,
      rules: p.rules.map((r) => ({ ...r, services: written(r) })),
    })),
  }
  // one index, of the set as written: it has the model's selectors and enforcement entries, so
  // its endpoint classes and modes are the model's; the model's own verdict is asked only of a
  // pair the written set allows (the reference evaluator, once per such pair)
  const compiled = PolicyIndex.build(inventory, writtenSet, at)
  const members = new SelectorMembers(inventory.workloads)
  const live = (ips: readonly { ip: string; from?: number; to?: number }[]): IpAddress[] =>
    ips.filter((a) => addressHoldsAt(a, at)).flatMap((a) => parseIp(a.ip) ?? [])
  const allAddresses = inventory.workloads.flatMap((w) => live(w.addresses))
  // the first address of every block the selectors and externals name and the address after
  // its last: the blocks cut the address space into runs whose addresses are in the same blocks,
  // and each run starts at one of these (or at 0), so an unmanaged address of every endpoint
  // class is among them
  const blocks: Cidr[] = [
    ...inventory.externals.map((x) => x.cidr),
    ...[
      ...policySet.policies.flatMap((p) => p.rules.flatMap((r) => [...r.from, ...r.to])),
      ...policySet.enforcement.map((e) => e.selector),
    ].flatMap((s) => (s.kind === 'cidr' ? [s.cidr, ...s.except] : [])),
  ]
  const cuts: IpAddress[] = [
    { family: 4, value: 0n },
    { family: 6, value: 0n },
    ...blocks.flatMap((b): IpAddress[] => {
      const { first, last } = cidrRange(b)
      const after = last + 1n
      return [
        { family: b.family, value: first },
        ...(after < 1n << BigInt(b.family === 4 ? 32 : 128)
          ? [{ family: b.family, value: after }]
          : []),
      ]
    }),
  ]
  const inBlock = (c: Cidr, except: readonly Cidr[]): IpAddress[] =>
    [...cuts, ...allAddresses].filter(
      (a) => cidrContains(c, a) && !except.some((e) => cidrContains(e, a)),
    )
  const endpoints = (policy: Policy, selectors: readonly Selector[]): IpAddress[] =>
    selectors.flatMap((s): IpAddress[] => {
      switch (s.kind) {
        case 'labels':
        case 'workload':
          return members.of(s, policy.scope).flatMap((w) => live(w.addresses))
        case 'cidr':
          return inBlock(s.cidr, s.except)
        case 'external': {
          const x = inventory.externals.find((e) => e.name === s.name)
          return x ? inBlock(x.cidr, []) : []
        }
        case 'any':
          return [...allAddresses, ...cuts]
      }
    })
  /** Whether a side's selectors may take `ip` (a label or workload selector: as a member's address). */
  const takes = (policy: Policy, selectors: readonly Selector[]): ((ip: IpAddress) => boolean) => {
    const held = new Set(
      endpoints(
        policy,
        selectors.filter((s) => s.kind === 'labels' || s.kind === 'workload'),
      ).map(formatIp),
    )
    return (ip) =>
      held.has(formatIp(ip)) ||
      selectors.some((s) => {
        if (s.kind === 'any') return true
        if (s.kind === 'cidr')
          return cidrContains(s.cidr, ip) && !s.except.some((e) => cidrContains(e, ip))
        if (s.kind === 'external') {
          const x = inventory.externals.find((e) => e.name === s.name)
          return x !== undefined && cidrContains(x.cidr, ip)
        }
        return false
      })
  }
  /**
   * One address per endpoint class: addresses of one class match the same selectors and
   * enforcement entries, which the model and the written set share, so both decide them alike,
   * and a pair of classes is tried once, not once per pair of addresses.
   */
  const oneByClass = (ips: readonly IpAddress[]): IpAddress[] => {
    const seen = new Set<number>()
    return ips.filter((ip) => {
      const c = compiled.endpointClass(formatIp(ip), at)
      if (seen.has(c)) return false
      seen.add(c)
      return true
    })
  }
  const out: Diagnostic[] = []
  for (const { policy, rule, protocols } of lossy) {
    const found = findPassing(policy, rule, protocols)
    if (found === undefined) continue
    const denied = rule.services.filter(
      (s) => s.protocol === 'any' || s.protocol === found.protocol,
    )
    out.push({
      code: 'compile/port-zero-passes',
      severity: 'warning',
      message: `rule ${formatRuleRef({ policy: policy.name, id: rule.id })} denies ${denied.map(formatService).join(', ')}, written from port 1 on ${target} (${why}); ${found.src} -> ${found.dst} ${formatService({ protocol: found.protocol, ports: { lo: 0, hi: 0 } })}, which it denies, passes the written objects: ${found.allow ? `allow rule ${formatRuleRef(found.allow)} lets` : 'they let'} port 0 through`,
      ...(rule.location ? { location: rule.location } : {}),
    })
  }
  return out

  function findPassing(
    policy: Policy,
    rule: Rule,
    protocols: readonly number[],
  ): { src: string; dst: string; protocol: number; allow?: RuleRef } | undefined {
    const froms = endpoints(policy, rule.from)
    const tos = endpoints(policy, rule.to)
    for (const protocol of protocols)
      for (const a of openers) {
        if (!holdsZero(a.services, protocol)) continue
        // the pairs both rules take
        const srcs = oneByClass(froms.filter(takes(a.policy, a.rule.from)))
        const dsts = oneByClass(tos.filter(takes(a.policy, a.rule.to)))
        const found = firstPassing(srcs, dsts, protocol)
        if (found) return found
      }
    return undefined
  }

  function firstPassing(
    srcs: readonly IpAddress[],
    dsts: readonly IpAddress[],
    protocol: number,
  ): { src: string; dst: string; protocol: number; allow?: RuleRef } | undefined {
    for (const s of srcs)
      for (const d of dsts) {
        if (s.family !== d.family) continue
        const src = formatIp(s)
        const dst = formatIp(d)
        if (!isAllowedCode(compiled.decide(src, dst, protocol, 0, at))) continue
        const tuple = { src, dst, protocol, dstPort: 0, at }
        const w = compiled.evaluate(tuple)
        if (w.mode === 'observe') continue
        if (evaluate(inventory, policySet, tuple).decision !== 'denied') continue
        return { src, dst, protocol, ...(typeof w.by !== 'string' ? { allow: w.by.rule } : {}) }
      }
    return undefined
  }
}
