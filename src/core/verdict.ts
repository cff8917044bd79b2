/**
 * @module Verdicts: the outcome of evaluating one flow against the policy set, with its reason.
 * @remarks Semantics: DESIGN.md "verdict", "Policy language v1" rules 1, 3, 4, 5.
 */
import type { Entity } from './entity.js'
import type { EnforcementMode, RuleRef } from './model.js'

/** `allowed` or `denied`. */
export type Decision = 'allowed' | 'denied'

/**
 * Why a flow got its decision: the rule that decided it (the first matching deny rule, or when
 * none, the first matching allow rule, in policy-set order), `default-deny`, or `link-control`
 * (IPv6 link control, allowed whatever the rules: see {@link isLinkControl}).
 */
export type DecidedBy =
  { readonly rule: RuleRef; readonly action: 'allow' | 'deny' } | 'default-deny' | 'link-control'

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

const LINK_CONTROL = new Set(IPV6_LINK_CONTROL_ICMP_TYPES)

/**
 * True when `protocol` (IANA number) and ICMP type `type` (a flow's destination port) are IPv6
 * link control ({@link IPV6_LINK_CONTROL_ICMP_TYPES}). A flow between IPv6 addresses that is
 * link control is allowed whatever the rules (between IPv4 addresses, protocol 58 is not ICMPv6
 * on the wire, and the rules judge it).
 */
export function isLinkControl(protocol: number, type: number): boolean {
  return protocol === 58 && LINK_CONTROL.has(type)
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
  /** The stronger of the two modes: the one that decides what happens to a denied flow. */
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
