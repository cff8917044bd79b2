/**
 * @module Verdicts: the outcome of evaluating one flow against the policy set, with its reason.
 * @remarks Semantics: DESIGN.md "verdict", "Policy language v1" rules 1, 3, 4, 5.
 */
import type { Entity } from './entity.js'
import { ICMP_REQUEST_OF_REPLY } from './flow.js'
import type { IpFamily } from './ip.js'
import type { EnforcementMode, RuleRef } from './model.js'
import { ServiceSet } from './service.js'

/** `allowed` or `denied`. */
export type Decision = 'allowed' | 'denied'

/**
 * Why a flow got its decision: the rule that decided it (the first matching deny rule, or when
 * none, the first matching allow rule, in policy-set order), `default-deny`, `link-control`
 * (link control: IPv6 neighbour and multicast listener discovery, IPv4 IGMP; allowed whatever
 * the rules: see {@link isLinkControl}), or `related` (an ICMP error message, allowed as part of
 * the connection it reports on: see {@link isIcmpError}).
 */
export type DecidedBy =
  | { readonly rule: RuleRef; readonly action: 'allow' | 'deny' }
  | 'default-deny'
  | 'link-control'
  | 'related'

/**
 * ICMPv6 types that are IPv6 link control: multicast listener discovery (130 query, 131 report,
 * 132 done; RFC 2710; 143 MLDv2 report, RFC 3810) and neighbour discovery (133 router
 * solicitation, 134 router advertisement, 135 neighbour solicitation, 136 neighbour
 * advertisement; RFC 4861). IPv6 does not work on a link without them (RFC 4890 §4.4.1: "must
 * not be dropped"), so every host target accepts them whatever the policy says, and the
 * evaluators allow them by `link-control` (an addition to DESIGN.md rule 1; issue 6 note).
 * Stable: the compiled rules and the verdicts agree through this list.
 */
export const IPV6_LINK_CONTROL_ICMP_TYPES: readonly number[] = [
  130, 131, 132, 133, 134, 135, 136, 143,
]

/**
 * IANA protocol number of IGMP (RFC 1112, RFC 2236, RFC 3376 IGMPv3), IPv4's group membership
 * protocol: the counterpart of IPv6's multicast listener discovery (RFC 3810 MLDv2 is IGMPv3's
 * translation). Every protocol-2 flow between IPv4 addresses is IPv4 link control, whatever its
 * message type: an IGMP flow carries no ports, so its `dstPort` is 0 (ingest sets it so) and no
 * type is read. Without it, a host's membership reports and its router's queries are dropped and
 * a switch that snoops IGMP forwards the host no group outside 224.0.0.0/24 (RFC 4541 §2.1).
 * The host targets accept it whatever the policy says; the evaluators allow it by
 * `link-control` (an addition to DESIGN.md rule 1). Stable: the compiled rules and the verdicts
 * agree through it.
 */
export const IGMP_PROTOCOL = 2

const LINK_CONTROL = new Set(IPV6_LINK_CONTROL_ICMP_TYPES)

/**
 * True when `protocol` (IANA number) and ICMP type `type` (a flow's destination port) are link
 * control: IPv6's ICMPv6 {@link IPV6_LINK_CONTROL_ICMP_TYPES}, or IGMP ({@link IGMP_PROTOCOL},
 * any `type`). A flow of the protocol's own family that is link control (ICMPv6 between IPv6
 * addresses, IGMP between IPv4 ones) is allowed whatever the rules; of the other family it is no
 * ICMPv6 or IGMP on the wire, and the rules judge it ({@link decidedWithoutRules}).
 */
export function isLinkControl(protocol: number, type: number): boolean {
  return protocol === IGMP_PROTOCOL || (protocol === 58 && LINK_CONTROL.has(type))
}

/**
 * ICMPv4 error message types (RFC 792; RFC 1812 §4.3.2): 3 destination unreachable, 4 source
 * quench, 5 redirect, 11 time exceeded, 12 parameter problem. Linux connection tracking treats
 * exactly these as errors (`icmp_is_err`): it finds the connection of the packet they quote and
 * marks them RELATED to it (INVALID when it tracks no such connection). Stable: the compiled
 * rules and the verdicts agree through this list.
 */
export const ICMP_ERROR_TYPES: readonly number[] = [3, 4, 5, 11, 12]

const ICMP_ERROR = new Set(ICMP_ERROR_TYPES)

/**
 * True when `protocol` (IANA number) and ICMP type `type` (a flow's destination port) are an ICMP
 * error message: ICMPv4 (1) of {@link ICMP_ERROR_TYPES}, or ICMPv6 (58) of types 0–127 (RFC 4443
 * §2.1: error messages have the high-order bit of the type clear; Linux conntrack treats them so).
 *
 * An error message is no connection of its own: stateful firewalls pass it as traffic related to
 * the connection whose packet it quotes (nftables and iptables `ct state related`, which the host
 * targets accept before any rule), and drop it when they track no such connection. A flow record
 * does not name that connection, and an error is only sent about a packet that got through, so
 * the evaluators allow such a flow between addresses of its family by `related` whatever the rules
 * (DESIGN.md rule 3, replies of a connection; an addition to DESIGN.md, issue 6 note).
 */
export function isIcmpError(protocol: number, type: number): boolean {
  return (protocol === 1 && ICMP_ERROR.has(type)) || (protocol === 58 && type >= 0 && type < 128)
}

/**
 * How a flow of `protocol`/`type` between addresses of the given families is decided whatever
 * the rules: `link-control` ({@link isLinkControl}: ICMPv6 between IPv6 addresses, IGMP between
 * IPv4 addresses), `related` ({@link isIcmpError}: ICMPv4 between IPv4 addresses, ICMPv6 between
 * IPv6 addresses), or undefined when the rules decide it (ICMP or IGMP of the other family is no
 * such protocol on the wire).
 */
export function decidedWithoutRules(
  protocol: number,
  type: number,
  srcFamily: IpFamily,
  dstFamily: IpFamily,
): 'link-control' | 'related' | undefined {
  // ICMP (1) and IGMP (2) only between IPv4 addresses, ICMPv6 (58) only between IPv6 ones
  const family = protocol === 1 || protocol === IGMP_PROTOCOL ? 4 : protocol === 58 ? 6 : undefined
  if (family === undefined || srcFamily !== family || dstFamily !== family) return undefined
  if (isLinkControl(protocol, type)) return 'link-control'
  return isIcmpError(protocol, type) ? 'related' : undefined
}

/**
 * Every service that {@link decidedWithoutRules} allows between two addresses of a family,
 * whatever the rules: IPv4 — ICMP (1) of {@link ICMP_ERROR_TYPES} and all of IGMP
 * ({@link IGMP_PROTOCOL}); IPv6 — ICMPv6 (58) types 0–127 (errors) and
 * {@link IPV6_LINK_CONTROL_ICMP_TYPES}. A deny rule naming them has no effect.
 */
export const DECIDED_WITHOUT_RULES: Readonly<Record<IpFamily, ServiceSet>> = {
  4: ServiceSet.of([
    ...ICMP_ERROR_TYPES.map((t) => ({ protocol: 1, ports: { lo: t, hi: t } })),
    { protocol: IGMP_PROTOCOL, ports: { lo: 0, hi: 65535 } },
  ]),
  6: ServiceSet.of([
    { protocol: 58, ports: { lo: 0, hi: 127 } },
    ...IPV6_LINK_CONTROL_ICMP_TYPES.map((t) => ({ protocol: 58, ports: { lo: t, hi: t } })),
  ]),
}

/**
 * The services of messages that are no connection of their own, between two addresses of a
 * family: those {@link DECIDED_WITHOUT_RULES} (ICMP errors, link control) and the ICMP and ICMPv6
 * reply types ({@link ICMP_REQUEST_OF_REPLY}: echo, timestamp, information and address-mask
 * replies; ICMPv6 echo reply 129), which a flow is judged by as the request they answer, in the
 * other direction (core `judgedAsReply`). No rule naming one of them on its own decides a flow:
 * `connlist` lists them where an allow rule names them, whatever a deny says, and never as a
 * connection alone.
 */
export const NO_CONNECTION_SERVICES: Readonly<Record<IpFamily, ServiceSet>> = {
  4: DECIDED_WITHOUT_RULES[4].union(replyTypes(1)),
  6: DECIDED_WITHOUT_RULES[6].union(replyTypes(58)),
}

/** The reply types of ICMP (1) or ICMPv6 (58), one service each. */
function replyTypes(protocol: 1 | 58): ServiceSet {
  return ServiceSet.of(
    Object.keys(ICMP_REQUEST_OF_REPLY[protocol] ?? {}).map((t) => ({
      protocol,
      ports: { lo: Number(t), hi: Number(t) },
    })),
  )
}

/**
 * What happens to a flow under the enforcement modes in force (DESIGN.md rule 5):
 * `allowed` — nothing to do; `blocked` — denied and some side enforces; `would-be-blocked` —
 * denied and the strongest side monitors; `unenforced` — denied but only observed.
 */
export type Outcome = 'allowed' | 'blocked' | 'would-be-blocked' | 'unenforced'

/** One verdict (Batfish's `PermittedByAclLine`, Cilium's `LookupResult` in one). */
export interface Verdict {
  readonly decision: Decision
  readonly by: DecidedBy
  /** Every live (unexpired) rule that matched, in policy-set order. */
  readonly matched: { readonly allow: readonly RuleRef[]; readonly deny: readonly RuleRef[] }
  /** Expired rules that would have matched; they were ignored (rule 4). */
  readonly expired: readonly RuleRef[]
  /** The enforcement mode of the source (its egress) and of the destination (its ingress). */
  readonly srcMode: EnforcementMode
  readonly dstMode: EnforcementMode
  /**
   * Only for a flow to a multicast group or the IPv4 limited broadcast: the strongest mode of the
   * workloads that may receive it (every workload holding an address at the flow's time; `observe`
   * when none does), each of which judges it at its ingress. Absent for any other destination.
   */
  readonly receiversMode?: EnforcementMode
  /**
   * The strongest of `srcMode`, `dstMode` and `receiversMode`: the one that decides what happens
   * to a denied flow.
   */
  readonly mode: EnforcementMode
  readonly outcome: Outcome
  /** True when the flow was a reply and was judged as the connection it answers (rule 3). */
  readonly reply: boolean
  readonly src: Entity
  readonly dst: Entity
}

const RANK: Record<EnforcementMode, number> = { observe: 0, monitor: 1, enforce: 2 }

/** The stronger of two modes (observe < monitor < enforce). */
export function strongerMode(a: EnforcementMode, b: EnforcementMode): EnforcementMode {
  return RANK[a] >= RANK[b] ? a : b
}

/** The outcome of a decision under a mode (DESIGN.md rule 5). */
export function outcomeOf(decision: Decision, mode: EnforcementMode): Outcome {
  if (decision === 'allowed') return 'allowed'
  return mode === 'enforce' ? 'blocked' : mode === 'monitor' ? 'would-be-blocked' : 'unenforced'
}

/** `policy/id`. */
export function formatRuleRef(r: RuleRef): string {
  return `${r.policy}/${r.id}`
}
