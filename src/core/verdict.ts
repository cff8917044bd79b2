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
 * none, the first matching allow rule, in policy-set order), or `default-deny`.
 */
export type DecidedBy = { readonly rule: RuleRef; readonly action: 'allow' | 'deny' } | 'default-deny'

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
