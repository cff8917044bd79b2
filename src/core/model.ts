/**
 * @module The model: workloads, inventory, selectors, rules, policies, enforcement modes and
 * the workspace. Loaders produce these once, validated, with source locations; after that the
 * core trusts them (as Cilium does after `Sanitize`).
 * @remarks Semantics: DESIGN.md "Glossary", "Policy language v1", "Workspace".
 */
import type { SourceLocation } from './errors.js'
import type { Cidr } from './ip.js'
import type { LabelSet } from './labels.js'
import type { Service } from './service.js'

/**
 * One address of a workload, valid in the half-open interval `[from, to)` (ms since the epoch,
 * UTC); a missing bound is open. `ip` is canonical text (see {@link Flow}).
 */
export interface TimedAddress {
  readonly ip: string
  readonly from?: number
  readonly to?: number
  readonly location?: SourceLocation
}

/** Where a label on a workload came from, for `bulkhead inventory`. */
export type LabelOrigin = 'explicit' | `label-rule:${number}` | `source:${string}`

/**
 * An addressable thing that runs software: host, VM, pod, container, cloud instance.
 * `labels` are the resolved labels (explicit labels win over label rules).
 */
export interface Workload {
  readonly name: string
  readonly addresses: readonly TimedAddress[]
  readonly labels: LabelSet
  readonly labelOrigins?: Readonly<Record<string, LabelOrigin>>
  /**
   * Raw cloud tags as the source recorded them (key and value unchanged, case-sensitive),
   * for `LabelRules` `match.tag`. Only the AWS source fills it (every tag, `Name` included, on
   * which all instances of the workload agree); other sources leave it undefined (Kubernetes
   * annotations are free-form notes, not tags; Kubernetes labels are labels already). Not
   * labels: tags become labels only through the source's own mapping or a label rule.
   */
  readonly tags?: Readonly<Record<string, string>>
  readonly location?: SourceLocation
}

/** A named unmanaged address range (a partner network, a bank's SFTP range). */
export interface External {
  readonly name: string
  readonly cidr: Cidr
  readonly labels: LabelSet
  readonly location?: SourceLocation
}

/** What a label rule matches; every given field must match (AND). */
export interface LabelRuleMatch {
  readonly cidr?: Cidr
  /** Regular expression over the workload name (JavaScript syntax, unanchored unless written so). */
  readonly name?: string
  /** Labels the workload must already carry. */
  readonly labels?: LabelSet
  /**
   * Raw cloud tags ({@link Workload.tags}) the workload must carry: every pair must be present
   * with exactly that value (case-sensitive), except that the value `*` only requires the key.
   * A workload without tags never matches a rule with `tag`.
   */
  readonly tag?: Readonly<Record<string, string>>
}

/** One `LabelRules` entry: workloads that match get `labels`, unless they set the key explicitly. */
export interface LabelRule {
  readonly match: LabelRuleMatch
  readonly labels: LabelSet
  readonly location?: SourceLocation
}

/** Every workload and named external, with label rules already applied. */
export interface Inventory {
  readonly workloads: readonly Workload[]
  readonly externals: readonly External[]
  readonly labelRules: readonly LabelRule[]
}

/** A Kubernetes `matchExpressions` requirement. @see https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#resources-that-support-set-based-requirements */
export interface LabelExpression {
  readonly key: string
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'
  readonly values: readonly string[]
}

/**
 * A predicate over flow endpoints (DESIGN.md "selector").
 *
 * - `labels`: workloads whose labels satisfy every `match` pair and every expression
 *   (Kubernetes semantics). Empty `match` and `expressions` (`{}`) match every workload. Inside a
 *   policy with a scope it is ANDed with the scope unless `global`.
 * - `workload`: the workload of that name; ANDed with the scope unless `global`.
 * - `external`: the named external range of the inventory.
 * - `cidr`: any endpoint whose address is inside `cidr` and outside every `except` block,
 *   whether or not it is a workload. Not scoped.
 * - `any`: every endpoint. Not scoped.
 */
export type Selector =
  | {
      readonly kind: 'labels'
      readonly match: LabelSet
      readonly expressions: readonly LabelExpression[]
      readonly global: boolean
      readonly location?: SourceLocation
    }
  | {
      readonly kind: 'workload'
      readonly name: string
      readonly global: boolean
      readonly location?: SourceLocation
    }
  | { readonly kind: 'external'; readonly name: string; readonly location?: SourceLocation }
  | {
      readonly kind: 'cidr'
      readonly cidr: Cidr
      readonly except: readonly Cidr[]
      readonly location?: SourceLocation
    }
  | { readonly kind: 'any'; readonly location?: SourceLocation }

/** `allow` or `deny`. Deny beats allow (DESIGN.md semantics rule 1). */
export type RuleAction = 'allow' | 'deny'

/** Names one rule: the policy it is in and its id there. Stable: printed in verdicts and JSON. */
export interface RuleRef {
  readonly policy: string
  readonly id: string
}

/**
 * One rule. A flow matches it when its source matches any `from` selector, its destination
 * any `to` selector, and its protocol and destination port any service.
 */
export interface Rule {
  readonly id: string
  readonly action: RuleAction
  readonly from: readonly Selector[]
  readonly to: readonly Selector[]
  readonly services: readonly Service[]
  /** Rule owner; falls back to the policy's owner. */
  readonly owner?: string
  readonly reason?: string
  /** Free-form evidence as written (flows, firstSeen, lastSeen, ...). */
  readonly evidence?: Readonly<Record<string, unknown>>
  /**
   * The instant (ms since the epoch, UTC) from which the rule no longer applies. A date without
   * a time (`2027-06-30`) is valid through that whole UTC day, so it expires at the next midnight.
   */
  readonly expires?: number
  /** An emergency exception; must have `expires`. */
  readonly emergency: boolean
  readonly location?: SourceLocation
}

/** One policy file: a named, scoped set of rules. An empty scope protects every workload. */
export interface Policy {
  readonly name: string
  readonly owner: string
  readonly description?: string
  readonly scope: LabelSet
  readonly rules: readonly Rule[]
  readonly file: string
  readonly location?: SourceLocation
}

/** Per-workload enforcement mode (DESIGN.md "enforcement mode"). Ordered observe < monitor < enforce. */
export type EnforcementMode = 'observe' | 'monitor' | 'enforce'

/** One `kind: Enforcement` entry. First match wins; unmatched workloads are `observe`. */
export interface EnforcementEntry {
  readonly selector: Selector
  readonly mode: EnforcementMode
  readonly location?: SourceLocation
}

/** All policy files of a workspace, sorted by policy name, and the enforcement entries in file order. */
export interface PolicySet {
  readonly policies: readonly Policy[]
  readonly enforcement: readonly EnforcementEntry[]
}

/** One configured flow source of a workspace. */
export interface SourceConfig {
  readonly path: string
  readonly format: string
  readonly fields?: string
}

/** A workspace's `bulkhead.yaml`, with paths resolved against the workspace folder. */
export interface Workspace {
  readonly root: string
  readonly inventory: readonly string[]
  readonly policy: string
  readonly store: string
  readonly sources: readonly SourceConfig[]
  /**
   * The IANA time zone of the calendar views of flows (time profiles, active days, patterns),
   * canonical ({@link canonicalTimeZone}); absent: UTC.
   */
  readonly timeZone?: string
  /**
   * Which of `inventory` and `policy` bulkhead.yaml names itself: a path it names must exist,
   * a default (absent key, or no bulkhead.yaml) may be missing. Absent: none named.
   */
  readonly named?: { readonly inventory: boolean; readonly policy: boolean }
}
