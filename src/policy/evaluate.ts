/**
 * @module The reference evaluator: DESIGN.md's six semantic rules as plain loops, no caches.
 *
 * Every fast path (PolicyIndex), compiler checker and analysis is tested against this file, so
 * it stays small and obviously correct. Do not optimise it.
 * @remarks Semantics: DESIGN.md "Policy language v1".
 */
import {
  cidrContains,
  outcomeOf,
  parseIp,
  selectorMatches,
  serviceMatches,
  strongerMode,
  BulkheadError,
  type EnforcementEntry,
  type EnforcementMode,
  type Entity,
  type DecidedBy,
  type Endpoint,
  type FlowTuple,
  type Inventory,
  type IpAddress,
  type Policy,
  type PolicySet,
  type Rule,
  type RuleRef,
  type TimedAddress,
  type Verdict,
  type Workload,
  decidedWithoutRules,
  replyConnectionPort,
  isGroupAddress,
} from '../core/index.js'

/** True when a timed address holds at `at` (ms since the epoch): `from <= at < to`, open bounds allowed. */
export function addressHoldsAt(a: TimedAddress, at: number): boolean {
  return (a.from === undefined || a.from <= at) && (a.to === undefined || at < a.to)
}

/** True when `w` holds address `ip` at time `at` (ms): some address equal to it that holds then. */
export function holdsAddress(w: Workload, ip: string, at: number): boolean {
  return w.addresses.some((a) => a.ip === ip && addressHoldsAt(a, at))
}

/**
 * What an address is at a time: the workload holding it then; else the named external with the
 * longest prefix containing it; else an unnamed unmanaged endpoint named by the address itself.
 * `ip` must be canonical text (see {@link Flow}).
 */
export function resolveEntity(inventory: Inventory, ip: string, at: number): Entity {
  for (const w of inventory.workloads) {
    if (holdsAddress(w, ip, at)) return { kind: 'workload', workload: w }
  }
  const addr = parseIp(ip)
  let best: Entity | undefined
  let bestPrefix = -1
  if (addr) {
    for (const x of inventory.externals) {
      if (cidrContains(x.cidr, addr) && x.cidr.prefix > bestPrefix) {
        best = { kind: 'external', name: x.name, named: true, external: x }
        bestPrefix = x.cidr.prefix
      }
    }
  }
  return best ?? { kind: 'external', name: ip, named: false }
}

/**
 * The index in `policySet.enforcement` of the first entry whose selector matches one address of
 * an endpoint (selectors unscoped), or −1 when none does or the entity is unmanaged. This is an
 * address's own mode, not yet the workload's: a `cidr` selector can match one address of a
 * workload and not another, and the workload's mode is the strongest of its addresses' modes
 * ({@link workloadEnforcement}).
 * @remarks Semantics: DESIGN.md "Workspace, inventory and enforcement files" (first match wins).
 */
export function addressEnforcementEntry(policySet: PolicySet, endpoint: Endpoint): number {
  if (endpoint.entity.kind !== 'workload') return -1
  return policySet.enforcement.findIndex((entry) => selectorMatches(entry.selector, endpoint, {}))
}

/** How the Enforcement entries decide one workload's mode at an instant ({@link workloadEnforcement}). */
export interface WorkloadEnforcement {
  /** Index in `policySet.enforcement` of the entry that decides the mode; −1 for none (`observe`). */
  readonly entry: number
  /** The workload's one enforcement mode. */
  readonly mode: EnforcementMode
  /**
   * Each address the workload holds at the instant, in inventory order, with its own first-match
   * entry and mode ({@link addressEnforcementEntry}); empty when it holds none.
   */
  readonly addresses: readonly {
    readonly ip: IpAddress
    readonly entry: number
    readonly mode: EnforcementMode
  }[]
}

const MODE_RANK: Readonly<Record<EnforcementMode, number>> = { observe: 0, monitor: 1, enforce: 2 }

/**
 * The enforcement mode of a workload at time `at` (ms): the strongest (enforce > monitor >
 * observe) of the first-match modes of the addresses it holds at `at` (each address: the mode of
 * the first Enforcement entry whose selector matches it, selectors unscoped, else `observe`). The
 * deciding entry is that strongest address's entry, the first such address in inventory order
 * on a tie. A workload that holds no address at `at` gets the mode of the first entry that
 * matches the workload itself: a label, `workload` or `any` selector (a `cidr` selector matches
 * no workload without an address). So a workload has one mode, whatever address a flow uses,
 * and it is the mode every compiler gives its host (nftables `hostMode`).
 * @param at - the instant, ms since the epoch; `-Infinity` holds only addresses without `from`.
 * @remarks Semantics: DESIGN.md glossary "enforcement mode" (per workload) and "Workspace,
 * inventory and enforcement files" (first match wins).
 */
export function workloadEnforcement(
  policySet: PolicySet,
  workload: Workload,
  at: number,
): WorkloadEnforcement {
  const entity: Entity = { kind: 'workload', workload }
  const addresses: { ip: IpAddress; entry: number; mode: EnforcementMode }[] = []
  for (const a of workload.addresses) {
    if (!addressHoldsAt(a, at)) continue
    const ip = parseIp(a.ip)
    if (ip === undefined) continue
    const entry = addressEnforcementEntry(policySet, { ip, entity })
    addresses.push({ ip, entry, mode: modeOfEntry(policySet, entry) })
  }
  let best = addresses[0]
  for (const a of addresses)
    if (best === undefined || MODE_RANK[a.mode] > MODE_RANK[best.mode]) best = a
  if (best !== undefined) return { entry: best.entry, mode: best.mode, addresses }
  const entry = policySet.enforcement.findIndex(
    (e) =>
      e.selector.kind !== 'cidr' && selectorMatches(e.selector, { ip: NO_ADDRESS, entity }, {}),
  )
  return { entry, mode: modeOfEntry(policySet, entry), addresses }
}

/** Stands in for the address of a workload that holds none; only non-`cidr` selectors are asked. */
const NO_ADDRESS: IpAddress = { family: 4, value: 0n }

function modeOfEntry(policySet: PolicySet, entry: number): EnforcementMode {
  return entry < 0 ? 'observe' : (policySet.enforcement[entry] as EnforcementEntry).mode
}

/**
 * The index in `policySet.enforcement` of the entry that decides an entity's enforcement mode at
 * `at` (ms): a workload's, by {@link workloadEnforcement}; −1 when no entry does (the mode is
 * then `observe`) or the entity is unmanaged. {@link enforcementModeOf} is this entry's mode.
 * @remarks Semantics: DESIGN.md "Workspace, inventory and enforcement files" (first match wins).
 */
export function enforcementEntryOf(policySet: PolicySet, entity: Entity, at: number): number {
  return entity.kind === 'workload' ? workloadEnforcement(policySet, entity.workload, at).entry : -1
}

/**
 * The enforcement mode of an entity at `at` (ms): a workload's one mode
 * ({@link workloadEnforcement}: the strongest of the modes of the addresses it holds then).
 * Unmanaged entities have no enforcement point: always `observe`.
 */
export function enforcementModeOf(
  policySet: PolicySet,
  entity: Entity,
  at: number,
): EnforcementMode {
  return entity.kind === 'workload'
    ? workloadEnforcement(policySet, entity.workload, at).mode
    : 'observe'
}

/**
 * The strongest enforcement mode (enforce > monitor > observe) of the workloads that may receive
 * a packet to a multicast group or the broadcast at `at` (ms): every workload that holds an
 * address at `at` ({@link workloadEnforcement}), whatever the family of its addresses and the
 * group's. Undefined when no workload holds one then.
 *
 * The model names no receiver of a group: which hosts joined it is the network's business. The
 * host targets (nftables, iptables) judge a packet to a group at the sender's egress and at the
 * ingress of every enforced host, in both families whatever its own addresses (nftables
 * `planDirection`), so a denied group flow is dropped by each enforcing receiver, and recorded
 * by each monitoring one, whatever the sender's mode.
 * @remarks Semantics: DESIGN.md rule 5 (the mode that applies to a denied flow).
 */
export function groupReceiversMode(
  inventory: Inventory,
  policySet: PolicySet,
  at: number,
): EnforcementMode | undefined {
  let mode: EnforcementMode | undefined
  for (const w of inventory.workloads) {
    const e = workloadEnforcement(policySet, w, at)
    if (e.addresses.length === 0) continue
    mode = mode === undefined ? e.mode : strongerMode(mode, e.mode)
  }
  return mode
}

/** True when the rule is in force at `now` (ms): it has no `expires`, or `now` is before it (rule 4). */
export function isLive(rule: Rule, now: number): boolean {
  return rule.expires === undefined || now < rule.expires
}

/** True when the rule matches the endpoints and service, with the policy's scope ANDed in (rules 1, 2). */
export function ruleMatches(
  policy: Policy,
  rule: Rule,
  src: Endpoint,
  dst: Endpoint,
  protocol: number,
  dstPort: number,
): boolean {
  return (
    rule.from.some((s) => selectorMatches(s, src, policy.scope)) &&
    rule.to.some((s) => selectorMatches(s, dst, policy.scope)) &&
    rule.services.some((s) => serviceMatches(s, protocol, dstPort))
  )
}

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /**
   * The tuple is a reply (server → client): it is judged as the connection it answers, with
   * addresses and ports swapped (rule 3); an ICMP reply as the request it answers
   * (`replyConnectionPort`: an echo reply as the echo request).
   */
  readonly reply?: boolean
  /** The instant at which rule expiry is judged, ms; defaults to the flow's time `tuple.at`. */
  readonly now?: number
}

function endpoint(inventory: Inventory, ipText: string, at: number): Endpoint {
  const ip: IpAddress | undefined = parseIp(ipText)
  if (!ip) {
    throw new BulkheadError([
      { code: 'eval/bad-flow', severity: 'error', message: `"${ipText}" is not an IP address` },
    ])
  }
  return { ip, entity: resolveEntity(inventory, ipText, at) }
}

/**
 * The verdict for one flow (DESIGN.md rules 1–5).
 *
 * Link control (ICMPv6 neighbour and multicast listener discovery between IPv6 addresses, IGMP
 * between IPv4 addresses, `isLinkControl`) is allowed by `link-control` whatever the rules, as every host target
 * accepts it; an ICMP error message of the addresses' family (`isIcmpError`: destination
 * unreachable, time exceeded, …) is allowed by `related`, as part of the connection it reports
 * on (`decidedWithoutRules` in core/verdict.ts). Any other flow is allowed iff some live allow rule matches it and no live deny
 * rule does; otherwise it is denied (by the first matching deny rule, or by default). Rules are
 * visited in policy-set order (policies by name, rules in file order); `by` names the first
 * deciding rule and `matched` lists all. Expired rules are ignored and listed in `expired` when
 * they match.
 *
 * @param tuple - addresses as text (canonical or not), protocol IANA number, destination port
 *   (ICMP type for ICMP), time in ms since the epoch, UTC.
 * @throws BulkheadError `eval/bad-flow` when an address does not parse.
 */
export function evaluate(
  inventory: Inventory,
  policySet: PolicySet,
  tuple: FlowTuple,
  options: EvaluateOptions = {},
): Verdict {
  const reply = options.reply === true
  const t = reply
    ? {
        src: tuple.dst,
        dst: tuple.src,
        protocol: tuple.protocol,
        dstPort: replyConnectionPort(tuple.protocol, tuple.srcPort ?? 0, tuple.dstPort),
        at: tuple.at,
      }
    : tuple
  const now = options.now ?? t.at
  const src = endpoint(inventory, t.src, t.at)
  const dst = endpoint(inventory, t.dst, t.at)

  const allow: RuleRef[] = []
  const deny: RuleRef[] = []
  const expired: RuleRef[] = []
  for (const policy of policySet.policies) {
    for (const rule of policy.rules) {
      if (!ruleMatches(policy, rule, src, dst, t.protocol, t.dstPort)) continue
      const ref = { policy: policy.name, id: rule.id }
      if (!isLive(rule, now)) expired.push(ref)
      else if (rule.action === 'deny') deny.push(ref)
      else allow.push(ref)
    }
  }

  const firstDeny = deny[0]
  const firstAllow = allow[0]
  const without = decidedWithoutRules(t.protocol, t.dstPort, src.ip.family, dst.ip.family)
  const decision =
    without !== undefined || (firstDeny === undefined && firstAllow !== undefined)
      ? 'allowed'
      : 'denied'
  const by: DecidedBy =
    without ??
    (firstDeny !== undefined
      ? { rule: firstDeny, action: 'deny' as const }
      : firstAllow !== undefined
        ? { rule: firstAllow, action: 'allow' as const }
        : ('default-deny' as const))
  // one mode per workload, from every address it holds at the flow's time (not only this one)
  const srcMode = enforcementModeOf(policySet, src.entity, t.at)
  const dstMode = enforcementModeOf(policySet, dst.entity, t.at)
  // a packet to a group is judged at the ingress of every workload that may receive it too
  const receiversMode = isGroupAddress(dst.ip)
    ? (groupReceiversMode(inventory, policySet, t.at) ?? 'observe')
    : undefined
  const mode = strongerMode(strongerMode(srcMode, dstMode), receiversMode ?? 'observe')
  return {
    decision,
    by,
    matched: { allow, deny },
    expired,
    srcMode,
    dstMode,
    ...(receiversMode !== undefined ? { receiversMode } : {}),
    mode,
    outcome: outcomeOf(decision, mode),
    reply,
    src: src.entity,
    dst: dst.entity,
  }
}

/** One sentence saying why: `allowed by payments-prod/web-to-api`, `denied by default (no allow rule matches)`. */
export function explainVerdict(v: Verdict): string {
  const reply = v.reply ? ' (a reply: judged as the connection it answers)' : ''
  if (v.by === 'link-control')
    return 'allowed as link control (IPv6 neighbour or multicast listener discovery, IPv4 IGMP), which every host target accepts whatever the rules'
  if (v.by === 'related')
    return 'allowed as an ICMP error message, which stateful firewalls pass as part of the connection it reports on (the flow record does not name that connection); no rule judges it'
  if (v.by === 'default-deny') {
    const exp =
      v.expired.length > 0
        ? `; expired rule${v.expired.length > 1 ? 's' : ''} ${v.expired.map((r) => `${r.policy}/${r.id}`).join(', ')} would have matched`
        : ''
    return `denied by default: no allow rule matches${exp}${reply}`
  }
  const ref = `${v.by.rule.policy}/${v.by.rule.id}`
  if (v.by.action === 'deny') {
    const over =
      v.matched.allow.length > 0
        ? ` (overrides allow ${v.matched.allow.map((r) => `${r.policy}/${r.id}`).join(', ')})`
        : ''
    return `denied by rule ${ref}${over}${reply}`
  }
  return `allowed by rule ${ref}${reply}`
}
