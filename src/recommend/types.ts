/**
 * @module Options and report types of `recommend` (least-privilege policy from the dependency map).
 * @remarks Semantics: issue 5; DESIGN.md "rule", "policy", "dependency map".
 */
import type { Diagnostic, Policy, PolicySet, RuleRef } from '../core/index.js'
import type { EdgePattern } from '../discover/types.js'
import type { PortRangeOptions } from './ports.js'

/**
 * Which labels form the selectors of a rule between workloads.
 *
 * - `identity`: every label key any workload of the inventory carries; a selector matches exactly
 *   the workloads with the same label set (keys a workload lacks become `DoesNotExist`).
 * - `role`: the keys `app`, `env`, `role` (those the workload carries; the others `DoesNotExist`).
 * - `app`: the keys `app`, `env`.
 *
 * A workload without any of the chosen keys is selected by name (`{workload: name}`).
 * Stable: CLI flag values and JSON output.
 */
export type Granularity = 'identity' | 'role' | 'app'

/**
 * Observation rhythms the user expects in the estate (`--expect`): the values `discover --expect`
 * takes, each needing the window discover's `COVERAGE` gives it.
 */
export type ExpectedRhythm = 'daily' | 'weekly' | 'monthly' | 'quarterly'

/** Options of {@link recommend}. Every field is optional; defaults are given per field. */
export interface RecommendOptions {
  /** Default `identity`. */
  readonly granularity?: Granularity
  /** Label keys whose values form one policy's scope. Default `['app', 'env']`. */
  readonly scopeBy?: readonly string[]
  /**
   * Widest IPv4 prefix to which unmanaged private ranges are aggregated: blocks inside one
   * `/maxPrefix` become the smallest block covering them. Default 24. IPv6: `maxPrefix6`, default 64.
   */
  readonly maxPrefix?: number
  readonly maxPrefix6?: number
  /**
   * When false (default), every unmanaged public endpoint (`internet`, or a single public address
   * of a map built with `--keep-public-ips`) is the one `internet` selector: `0.0.0.0/0` and
   * `::/0` minus the private ranges. When true, single public addresses keep host rules.
   */
  readonly keepPublicIps?: boolean
  /** Rhythms the estate is expected to have; a window too short to see them is warned about. */
  readonly expect?: readonly ExpectedRhythm[]
  /**
   * Owner of each policy, by policy name (`payments-prod`; a proposal merged beside an existing
   * policy, `payments-prod-proposed`, by the existing policy's name, then by its own) or by a
   * scope label value (`payments`); looked up in that order. Otherwise the common `ownerLabel`
   * value of the scope's workloads, else `unassigned` (flagged).
   */
  readonly owners?: Readonly<Record<string, string>>
  /** The label key naming a workload's owner. Default `owner`. */
  readonly ownerLabel?: string
  /**
   * An existing policy set (item 6): edges it already allows are not proposed; its allow rules that
   * no edge uses are listed as removal candidates; new policies whose name it already uses are
   * named `<name>-proposed`, and new rule ids avoid the ids of that policy.
   */
  readonly existing?: PolicySet
  /** Instant at which rule expiry of `existing` is judged, ms (the CLI: `--at`, default now). Default: the window's end. */
  readonly now?: number
  /** Dynamic port range detection (item 4). */
  readonly portRanges?: PortRangeOptions
  /** Concrete workload pairs kept as evidence per rule. Default 3. */
  readonly samplePairs?: number
  /** Examples kept in the over-permission report. Default 10. */
  readonly examples?: number
  /**
   * When false (default), the accepted edges of a port or host scan (`scans.ts` `findScans`) get
   * no rule and are excluded as `scan-like`. When true they get rules, flagged `scan-like` and
   * never merged into a port range.
   */
  readonly includeScans?: boolean
}

/** One recommended rule in the report. Stable: `recommend -o json`. */
export interface RuleReport {
  readonly policy: string
  readonly id: string
  readonly from: string
  readonly to: string
  readonly service: string
  readonly flows: number
  /** Share of all observed flows this rule covers, 0–1. */
  readonly coverage: number
  readonly pattern: EdgePattern
  /**
   * Why the rule needs a look: `month-end`, `weekly`, `rare`, `once` pattern, `scan-like` (kept
   * by `includeScans`), `port-range`, `no-owner`.
   */
  readonly flags: readonly string[]
}

/** One policy in the report. Stable. */
export interface PolicyReport {
  readonly name: string
  readonly file: string
  readonly scope: Readonly<Record<string, string>>
  readonly owner: string
  readonly rules: number
  readonly flows: number
  /** Share of all observed flows covered by this policy's rules, 0–1. */
  readonly coverage: number
}

/** An observed edge that got no rule, with the reason. Stable. */
export interface ExcludedEdge {
  readonly src: string
  readonly dst: string
  readonly service: string
  readonly flows: number
  /**
   * `link-control` (IPv6 neighbour or multicast listener discovery, IPv4 IGMP: allowed whatever
   *   the rules),
   * `related` (an ICMP error message: allowed as part of the connection it reports on),
   * `ephemeral-noise`, `no-workload-end`, `grouped-entity`, `unknown-entity`, `already-allowed`,
   * `denied-by-existing` (with `--merge`: an existing deny rule blocks the whole edge),
   * `rejected` (the flow source recorded every flow of the edge as rejected, `observedAction:
   * reject`: attempts a security group or firewall refused, such as an internet scan, or TCP
   * attempts nobody answered, not a dependency; an edge with some accepted flows gets its rule),
   * `scan-like` (an edge with accepted flows among the probes of a port or host scan, scans.ts
   * `findScans`; kept with `includeScans`).
   */
  readonly reason: string
}

/** Allowed-but-never-observed connections the recommended rules introduce (item 2). Stable. */
export interface OverPermission {
  /**
   * Counting unit: `workload` counts (source workload, destination workload, protocol, port);
   * `identity` counts (source label set, destination label set, protocol, port).
   */
  readonly unit: 'workload' | 'identity'
  readonly allowed: number
  readonly observed: number
  /** allowed − observed. */
  readonly extra: number
  /** extra / allowed (0 when nothing is allowed). */
  readonly share: number
  /** Up to `examples` of `src -> dst service` allowed but never observed. */
  readonly examples: readonly string[]
}

/** The summary of one recommendation (item 7). Stable: `recommend -o json`. */
export interface RecommendReport {
  readonly granularity: Granularity
  readonly scopeBy: readonly string[]
  /**
   * ISO-8601 UTC, over the flows with a real time; absent when the map had none (no flows, or
   * only flows with no real time).
   */
  readonly window?: { readonly start: string; readonly end: string; readonly days: number }
  /**
   * Flows with no real time (start 1970-01-01T00:00:00Z, Zeek's masked timestamps): in the
   * rules' flow counts, not in the window or the evidence's first/last seen. Absent: none.
   */
  readonly untimed?: number
  readonly totals: {
    readonly edges: number
    readonly flows: number
    /** Flows of edges allowed by the recommended rules (plus, when merging, by the existing set). */
    readonly coveredFlows: number
    readonly coverage: number
    /**
     * With `existing` (`--merge`): flows of the edges that existing deny rules block in part (for
     * some of the addresses of the edge's entities), counted in `coveredFlows` because their
     * proposed rule allows the rest; the deny beats it where they overlap. Absent when none.
     */
    readonly partlyDeniedFlows?: number
    readonly rules: number
    readonly policies: number
  }
  readonly policies: readonly PolicyReport[]
  readonly rules: readonly RuleReport[]
  readonly overPermission: readonly OverPermission[]
  /** Unmanaged blocks widened by aggregation: `cover ⊇ blocks`. */
  readonly aggregated: readonly { readonly cover: string; readonly blocks: readonly string[] }[]
  readonly excluded: readonly ExcludedEdge[]
  /** Rules of `existing` that no observed edge matched (item 6): candidates, not deleted. */
  readonly removalCandidates: readonly RuleRef[]
  readonly diagnostics: readonly Diagnostic[]
}

/** What {@link recommend} returns. */
export interface RecommendResult {
  /** One policy per scope, sorted by name; rules sorted by id. `file` is `<name>.yaml`. */
  readonly policies: readonly Policy[]
  /** YAML comments per policy name and rule id (time patterns, port ranges), for rendering. */
  readonly comments: ReadonlyMap<string, ReadonlyMap<string, string>>
  readonly report: RecommendReport
}
