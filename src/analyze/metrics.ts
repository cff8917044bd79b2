/**
 * @module Segmentation metrics: one report of the figures a segmentation programme tracks —
 * broad allow rules (and how many a policy change removed), sensitive workloads under
 * `enforce`, lateral movement open today against flat and the policy (the enforcement rollout),
 * unexpected east-west connections, exceptions and emergency rules, rules without owners, rules
 * expiring soon — as data and in the Prometheus text exposition format.
 * `MetricsQuery → answerMetrics() → MetricsResult`.
 * @remarks Semantics: DESIGN.md "Who uses it" step 6 ("Watch"), "enforcement mode"; breadth,
 * ownership and expiry as `lint` defines them (src/policy/lint.ts); issue 9 item 4. Prometheus
 * format: https://prometheus.io/docs/instrumenting/exposition_formats/ (text format 0.0.4), for
 * node-exporter's textfile collector.
 */
import {
  formatRuleRef,
  formatService,
  hasRealTime,
  parseIp,
  type EnforcementMode,
  type Inventory,
  type PolicySet,
  type TimedAddress,
  type Workload,
} from '../core/index.js'
import type { DependencyMap } from '../discover/types.js'
import { addressHoldsAt, enforcementModeOf, isLive } from '../policy/evaluate.js'
import { lint, type LintFinding } from '../policy/lint.js'
import { PolicyIndex, isAllowedCode } from '../policy/policy-index.js'
import { answerBlastRadius, type BlastRadiusFigures, type RolloutProgress } from './blast-radius.js'

/** Lint codes that make an allow rule broad. */
export const BROAD_CODES = [
  'lint/broad-source',
  'lint/broad-port',
  'lint/broad-cidr',
  'lint/whole-environment',
] as const

/** Kinds of sensitive workload, and the labels that mark them. */
export type SensitiveKind = 'crown-jewel' | 'database' | 'admin'

/**
 * The sensitive kinds of a workload: `crown-jewel` (`tier: crown-jewel`), `database` (`role` is
 * `db` or `database`), `admin` (`role: admin`, or a label `admin: "true"`).
 */
export function sensitiveKinds(w: Workload): SensitiveKind[] {
  const out: SensitiveKind[] = []
  if (w.labels['tier'] === 'crown-jewel') out.push('crown-jewel')
  if (w.labels['role'] === 'db' || w.labels['role'] === 'database') out.push('database')
  if (w.labels['role'] === 'admin' || w.labels['admin'] === 'true') out.push('admin')
  return out
}

/** What to measure. */
export interface MetricsQuery {
  readonly inventory: Inventory
  readonly policySet: PolicySet
  /** ms since the epoch, UTC: expiry is judged here. */
  readonly now: number
  /** The previous policy version (`--previous DIR`), to count broad rules removed. */
  readonly previous?: PolicySet
  /** The observed dependency map, for unexpected east-west connections. */
  readonly dependencyMap?: DependencyMap
  /**
   * Compute {@link MetricsResult.lateralMovement} (default true): three reachability graphs, the
   * larger part of the work on a big estate.
   */
  readonly lateral?: boolean
  /** Rules expiring within this many days count as expiring soon (default 30). */
  readonly expiringDays?: number
}

/** The report. Stable: the JSON output of `bulkhead metrics`. */
export interface MetricsResult {
  readonly at: string
  readonly rules: {
    readonly total: number
    readonly live: number
    readonly allow: number
    readonly deny: number
  }
  readonly broadAllowRules: {
    readonly count: number
    /** Rules per breadth code (a rule may have several). */
    readonly byCode: Readonly<Record<string, number>>
    readonly rules: readonly string[]
    /** Present with `previous`: broad rules then, and those no longer broad (or gone) now. */
    readonly previous?: number
    readonly removed?: number
    readonly added?: number
  }
  readonly sensitiveWorkloads: {
    readonly total: number
    readonly enforced: number
    /** Per kind and mode. */
    readonly byKind: Readonly<Record<SensitiveKind, Readonly<Record<EnforcementMode, number>>>>
    /** Sensitive workloads not under `enforce`. */
    readonly notEnforced: readonly string[]
  }
  /**
   * Lateral movement between workloads (`bulkhead blast-radius --baseline enforced`, every active
   * workload a source, crown jewels `tier: crown-jewel`): open today (`enforced`), with no
   * segmentation (`flat`) and with the policy enforced everywhere (`policy`), and the rollout's
   * progress from the one to the other; null when not asked for (`lateral: false`).
   */
  readonly lateralMovement: {
    readonly flat: LateralFigures
    readonly enforced: LateralFigures
    readonly policy: LateralFigures
    readonly rollout: RolloutProgress
  } | null
  /**
   * Observed workload-to-workload edges (and their flows) no live rule allows; null without a map.
   * An edge is judged between the two workloads' addresses held at its `firstSeen`; an edge whose
   * flows have no real time (core `hasRealTime`: Zeek's masked timestamps, start 0) at `now`
   * instead, not at 1970-01-01; where no pair of addresses holds at that instant (an address
   * held only for a time), each pair at the nearest instant both hold ({@link jointInstant}).
   */
  readonly unexpectedEastWest: {
    readonly edges: number
    readonly flows: number
    readonly checkedEdges: number
    readonly examples: readonly {
      readonly src: string
      readonly dst: string
      readonly service: string
      readonly flows: number
    }[]
  } | null
  /** Live rules with `expires` (temporary exceptions), and emergency rules. */
  readonly exceptions: { readonly temporary: number; readonly emergency: number }
  readonly rulesWithoutOwner: number
  readonly rulesExpiringSoon: number
  readonly expiringWithinDays: number
  readonly expiredRules: number
}

/** The blast-radius figures metrics reports (see {@link BlastRadiusFigures}). */
export type LateralFigures = Pick<
  BlastRadiusFigures,
  'openLateralPaths' | 'openPairs' | 'transitivePairs' | 'sourcesReachingCrownJewels'
>

const lateral = (f: BlastRadiusFigures): LateralFigures => ({
  openLateralPaths: f.openLateralPaths,
  openPairs: f.openPairs,
  transitivePairs: f.transitivePairs,
  sourcesReachingCrownJewels: f.sourcesReachingCrownJewels,
})

function ruleSet(findings: readonly LintFinding[], codes: readonly string[]): Set<string> {
  return new Set(
    findings
      .filter((f) => codes.includes(f.code) && f.rule)
      .map((f) => formatRuleRef(f.rule as NonNullable<LintFinding['rule']>)),
  )
}

/** Computes the metrics. Pure; lint runs once per policy version. */
export function answerMetrics(query: MetricsQuery): MetricsResult {
  const { inventory, policySet, now } = query
  const expiringDays = query.expiringDays ?? 30
  const findings = lint(inventory, policySet, { now, expiringDays })
  const count = (code: string): number => ruleSet(findings, [code]).size
  const broad = ruleSet(findings, BROAD_CODES)
  const byCode: Record<string, number> = {}
  for (const c of BROAD_CODES) byCode[c] = count(c)
  let previousBroad: Set<string> | undefined
  if (query.previous)
    previousBroad = ruleSet(lint(inventory, query.previous, { now, expiringDays }), BROAD_CODES)

  let total = 0
  let live = 0
  let allow = 0
  let deny = 0
  let temporary = 0
  let emergency = 0
  for (const p of policySet.policies)
    for (const r of p.rules) {
      total++
      if (r.emergency) emergency++
      if (!isLive(r, now)) continue
      live++
      if (r.action === 'allow') allow++
      else deny++
      if (r.expires !== undefined) temporary++
    }

  const modes = (): Record<EnforcementMode, number> => ({ observe: 0, monitor: 0, enforce: 0 })
  const byKind: Record<SensitiveKind, Record<EnforcementMode, number>> = {
    'crown-jewel': modes(),
    database: modes(),
    admin: modes(),
  }
  let sensitive = 0
  let enforced = 0
  const notEnforced: string[] = []
  for (const w of inventory.workloads) {
    const kinds = sensitiveKinds(w)
    if (kinds.length === 0) continue
    const mode = enforcementModeOf(policySet, { kind: 'workload', workload: w }, now)
    sensitive++
    if (mode === 'enforce') enforced++
    else notEnforced.push(w.name)
    for (const k of kinds) byKind[k][mode]++
  }

  let lateralMovement: MetricsResult['lateralMovement'] = null
  if (query.lateral !== false) {
    const blast = answerBlastRadius({
      inventory,
      policySet,
      at: now,
      baseline: 'enforced',
      maxPaths: 0,
      top: 0,
    }).summary
    lateralMovement = {
      flat: lateral(blast.comparedWith as BlastRadiusFigures),
      enforced: lateral(blast),
      policy: lateral(blast.target as BlastRadiusFigures),
      rollout: blast.rollout as RolloutProgress,
    }
  }

  let unexpected: MetricsResult['unexpectedEastWest'] = null
  if (query.dependencyMap) {
    const map = query.dependencyMap
    const index = PolicyIndex.build(inventory, policySet, now)
    const byName = new Map(inventory.workloads.map((w) => [w.name, w]))
    const kind = new Map(map.entities.map((e) => [e.id, e]))
    let edges = 0
    let flows = 0
    let checked = 0
    const examples: { src: string; dst: string; service: string; flows: number }[] = []
    for (const e of map.edges) {
      const s = kind.get(e.src)
      const d = kind.get(e.dst)
      if (s?.kind !== 'workload' || d?.kind !== 'workload') continue
      const a = byName.get(s.name)
      const b = byName.get(d.name)
      if (!a || !b) continue
      checked++
      const at = hasRealTime(e.firstSeen) ? e.firstSeen : now
      // the address pairs (same family) both held at `at`; else every pair, each judged at the
      // nearest instant both hold
      const pairs: [TimedAddress, TimedAddress, number][] = []
      const later: [TimedAddress, TimedAddress, number][] = []
      for (const x of a.addresses) {
        for (const y of b.addresses) {
          if (parseIp(x.ip)?.family !== parseIp(y.ip)?.family) continue
          if (addressHoldsAt(x, at) && addressHoldsAt(y, at)) pairs.push([x, y, at])
          else {
            const t = jointInstant(x, y, at)
            if (t !== undefined) later.push([x, y, t])
          }
        }
      }
      let ok = false
      for (const [x, y, t] of pairs.length > 0 ? pairs : later) {
        if (isAllowedCode(index.decide(x.ip, y.ip, e.protocol, e.dstPort, t))) ok = true
      }
      if (ok) continue
      edges++
      flows += e.flows
      if (examples.length < 20)
        examples.push({
          src: s.name,
          dst: d.name,
          service: formatService({ protocol: e.protocol, ports: { lo: e.dstPort, hi: e.dstPort } }),
          flows: e.flows,
        })
    }
    unexpected = { edges, flows, checkedEdges: checked, examples }
  }

  return {
    at: new Date(now).toISOString(),
    rules: { total, live, allow, deny },
    broadAllowRules: {
      count: broad.size,
      byCode,
      rules: [...broad].sort(),
      ...(previousBroad
        ? {
            previous: previousBroad.size,
            removed: [...previousBroad].filter((r) => !broad.has(r)).length,
            added: [...broad].filter((r) => !previousBroad.has(r)).length,
          }
        : {}),
    },
    sensitiveWorkloads: { total: sensitive, enforced, byKind, notEnforced: notEnforced.sort() },
    lateralMovement,
    unexpectedEastWest: unexpected,
    exceptions: { temporary, emergency },
    rulesWithoutOwner: count('lint/no-owner'),
    rulesExpiringSoon: count('lint/expiring'),
    expiringWithinDays: expiringDays,
    expiredRules: count('lint/expired'),
  }
}

/**
 * The instant (ms) nearest `prefer` at which both addresses hold (`from <= t < to`, core
 * `TimedAddress`): `prefer` itself when both hold then; undefined when they never hold together.
 */
export function jointInstant(x: TimedAddress, y: TimedAddress, prefer: number): number | undefined {
  const lo = Math.max(x.from ?? -Infinity, y.from ?? -Infinity)
  const hi = Math.min(x.to ?? Infinity, y.to ?? Infinity)
  if (!(lo < hi)) return undefined
  return Math.min(Math.max(prefer, lo), hi - 1)
}

/** `openLateralPaths` → `open_lateral_paths`, for label values. */
const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

/** One metric family of the exposition. */
function family(
  name: string,
  help: string,
  samples: readonly [Readonly<Record<string, string>>, number][],
): string[] {
  const esc = (v: string): string =>
    v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
  return [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} gauge`,
    ...samples.map(([labels, value]) => {
      const keys = Object.keys(labels)
      const l =
        keys.length === 0 ? '' : `{${keys.map((k) => `${k}="${esc(labels[k] ?? '')}"`).join(',')}}`
      return `${name}${l} ${value}`
    }),
  ]
}

/**
 * The metrics in the Prometheus text exposition format (every metric a gauge named
 * `bulkhead_*`, HELP and TYPE lines, no timestamps, a final newline), ready for node-exporter's
 * textfile collector (write to a `*.prom` file atomically).
 */
export function renderPrometheus(m: MetricsResult): string {
  const lines: string[] = []
  lines.push(
    ...family('bulkhead_rules', 'Live rules in the policy set, by action.', [
      [{ action: 'allow' }, m.rules.allow],
      [{ action: 'deny' }, m.rules.deny],
    ]),
  )
  lines.push(
    ...family(
      'bulkhead_broad_allow_rules',
      'Allow rules that lint reports as broad (any source, any port, wide CIDR, whole environment).',
      [[{}, m.broadAllowRules.count]],
    ),
  )
  lines.push(
    ...family(
      'bulkhead_broad_allow_rules_by_reason',
      'Broad allow rules per lint code (a rule may count under several).',
      Object.entries(m.broadAllowRules.byCode).map(
        ([code, n]) => [{ code }, n] as [Record<string, string>, number],
      ),
    ),
  )
  if (m.broadAllowRules.removed !== undefined)
    lines.push(
      ...family(
        'bulkhead_broad_allow_rules_removed',
        'Broad allow rules of the previous policy version that are gone or no longer broad.',
        [[{}, m.broadAllowRules.removed]],
      ),
    )
  lines.push(
    ...family(
      'bulkhead_sensitive_workloads',
      'Sensitive workloads (crown jewels, databases, admin interfaces) by kind and enforcement mode.',
      (Object.keys(m.sensitiveWorkloads.byKind) as SensitiveKind[]).flatMap((k) =>
        (Object.keys(m.sensitiveWorkloads.byKind[k]) as EnforcementMode[]).map(
          (mode) =>
            [{ kind: k, mode }, m.sensitiveWorkloads.byKind[k][mode]] as [
              Record<string, string>,
              number,
            ],
        ),
      ),
    ),
  )
  lines.push(
    ...family(
      'bulkhead_sensitive_workloads_enforced_ratio',
      'Share of sensitive workloads under enforce (1 when there are none).',
      [
        [
          {},
          m.sensitiveWorkloads.total === 0
            ? 1
            : m.sensitiveWorkloads.enforced / m.sensitiveWorkloads.total,
        ],
      ],
    ),
  )
  const lm = m.lateralMovement
  if (lm !== null) {
    const byBaseline = (pick: (f: LateralFigures) => number): [Record<string, string>, number][] =>
      (['flat', 'enforced', 'policy'] as const).map((b) => [{ baseline: b }, pick(lm[b])])
    lines.push(
      ...family(
        'bulkhead_open_lateral_paths',
        'Open (source, destination, service) triples between workloads: with no segmentation (flat), today with each workload in its enforcement mode (enforced), with the policy enforced everywhere (policy).',
        byBaseline((f) => f.openLateralPaths),
      ),
      ...family(
        'bulkhead_open_pairs',
        'Workload pairs with an open service, by baseline (as bulkhead_open_lateral_paths).',
        byBaseline((f) => f.openPairs),
      ),
      ...family(
        'bulkhead_sources_reaching_crown_jewels',
        'Workloads from which a crown jewel (tier=crown-jewel) is reachable by lateral movement, by baseline.',
        byBaseline((f) => f.sourcesReachingCrownJewels),
      ),
      ...family(
        'bulkhead_enforcement_rollout_ratio',
        "Share of the policy's reduction from flat that is in force today, per figure (absent where the policy reduces nothing).",
        Object.entries(lm.rollout)
          .filter((e): e is [string, number] => e[1] !== null)
          .map(([figure, pct]) => [{ figure: snake(figure) }, Math.round(pct * 10) / 1000]),
      ),
    )
  }
  if (m.unexpectedEastWest) {
    lines.push(
      ...family(
        'bulkhead_unexpected_east_west_edges',
        'Observed workload-to-workload edges that no live rule allows.',
        [[{}, m.unexpectedEastWest.edges]],
      ),
    )
    lines.push(
      ...family(
        'bulkhead_unexpected_east_west_flows',
        'Flows on observed edges that no live rule allows.',
        [[{}, m.unexpectedEastWest.flows]],
      ),
    )
  }
  lines.push(
    ...family(
      'bulkhead_exception_rules',
      'Live temporary rules (with an expiry) and emergency rules.',
      [
        [{ kind: 'temporary' }, m.exceptions.temporary],
        [{ kind: 'emergency' }, m.exceptions.emergency],
      ],
    ),
  )
  lines.push(
    ...family(
      'bulkhead_rules_without_owner',
      "Rules with no owner (neither their own nor their policy's).",
      [[{}, m.rulesWithoutOwner]],
    ),
  )
  lines.push(
    ...family('bulkhead_rules_expiring_soon', 'Live rules that expire within the window.', [
      [{ within_days: String(m.expiringWithinDays) }, m.rulesExpiringSoon],
    ]),
  )
  lines.push(
    ...family('bulkhead_rules_expired', 'Rules that have expired and are ignored.', [
      [{}, m.expiredRules],
    ]),
  )
  return `${lines.join('\n')}\n`
}
