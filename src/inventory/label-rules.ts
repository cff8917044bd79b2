/**
 * @module Label rules: give workloads labels by CIDR, name pattern, existing labels or raw cloud
 * tags.
 * @remarks Semantics: DESIGN.md "Workspace, inventory and enforcement files" — rules apply in
 * order; explicit labels on a workload win over rules. Which of two rules setting the same key
 * wins DESIGN.md does not say: the earlier one, as the first match wins for enforcement modes
 * (README "Workspace and policy format").
 */
import {
  cidrContains,
  labelSet,
  labelsMatch,
  parseIp,
  type LabelOrigin,
  type LabelRule,
  type LabelSet,
  type Workload,
} from '../core/index.js'

/**
 * True when `rule.match` holds for a workload whose current labels are `labels`: every given
 * field must hold — `cidr`: ANY address of the workload (whatever its time interval) is inside;
 * `name`: the regular expression (unanchored) finds a match in the name; `labels`: the workload
 * already carries every pair; `tag`: the workload's raw tags ({@link Workload.tags}) hold every
 * pair, where the value `*` only requires the key (see {@link tagsMatch}). An empty match holds
 * for every workload.
 * @param regex - the compiled `match.name`, when the caller caches it.
 */
export function labelRuleMatches(
  rule: LabelRule,
  workload: Workload,
  labels: LabelSet,
  regex?: RegExp,
): boolean {
  const m = rule.match
  if (m.cidr) {
    const cidr = m.cidr
    const inside = workload.addresses.some((a) => {
      const ip = parseIp(a.ip)
      return ip !== undefined && cidrContains(cidr, ip)
    })
    if (!inside) return false
  }
  if (m.name !== undefined && !(regex ?? new RegExp(m.name)).test(workload.name)) return false
  if (m.labels && !labelsMatch(m.labels, labels)) return false
  if (m.tag && !tagsMatch(m.tag, workload.tags)) return false
  return true
}

/** The `match.tag` value that requires only the key, with any value. */
export const ANY_TAG_VALUE = '*'

/**
 * True when `tags` (a workload's raw cloud tags) hold every pair of `want`: the key present
 * (case-sensitive, as AWS tag keys are) and the value equal, or the wanted value is `*`
 * ({@link ANY_TAG_VALUE}), which matches any value, the empty one included. An empty `want`
 * holds for any tags; undefined `tags` (a workload from a source without tags) hold no pair.
 * @remarks A literal tag value `*` can only be matched through `*` itself (any value).
 * @see https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Tags.html (keys are case-sensitive)
 */
export function tagsMatch(
  want: Readonly<Record<string, string>>,
  tags: Readonly<Record<string, string>> | undefined,
): boolean {
  for (const [key, value] of Object.entries(want)) {
    if (!tags || !Object.hasOwn(tags, key)) return false
    if (value !== ANY_TAG_VALUE && tags[key] !== value) return false
  }
  return true
}

/**
 * Applies label rules in order to every workload. A matching rule adds each of its labels whose
 * key the workload does not have yet (explicit labels win; earlier rules win over later ones).
 * `labelOrigins` records where each label came from: the workload's own origins (default
 * `explicit`) or `label-rule:<index>` (0-based index in `rules`). `match.labels` is checked
 * against the labels the workload has when the rule is reached (explicit plus earlier rules).
 * @returns new workloads; the input is not changed. Rules whose `match.name` does not compile
 * never match (the loader reports them before this runs).
 */
export function applyLabelRules(
  workloads: readonly Workload[],
  rules: readonly LabelRule[],
): Workload[] {
  const regexes = rules.map((r) => {
    if (r.match.name === undefined) return undefined
    try {
      return new RegExp(r.match.name)
    } catch {
      return null
    }
  })
  return workloads.map((w) => {
    const labels: Record<string, string> = { ...w.labels }
    const origins: Record<string, LabelOrigin> = {}
    for (const key of Object.keys(w.labels)) origins[key] = w.labelOrigins?.[key] ?? 'explicit'
    let changed = false
    for (const [index, rule] of rules.entries()) {
      const regex = regexes[index]
      if (regex === null) continue
      if (!labelRuleMatches(rule, w, labels, regex)) continue
      for (const [key, value] of Object.entries(rule.labels)) {
        if (Object.hasOwn(labels, key)) continue
        labels[key] = value
        origins[key] = `label-rule:${index}`
        changed = true
      }
    }
    if (!changed && w.labelOrigins) return w
    return { ...w, labels: labelSet(labels), labelOrigins: sortKeys(origins) }
  })
}

function sortKeys<T>(o: Record<string, T>): Readonly<Record<string, T>> {
  const out: Record<string, T> = {}
  for (const k of Object.keys(o).sort()) out[k] = o[k] as T
  return out
}
