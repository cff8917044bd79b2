/**
 * @module Which pod label keys Cilium's selectors see as the pod carries them: the keys its label
 * filter keeps in endpoint security identities (its policy selectors match identity labels only,
 * so a selector naming a key the filter leaves out matches no endpoint), less the keys Cilium
 * sets or drops on endpoints itself.
 * @remarks Transcribed from cilium/cilium:
 * - `pkg/labelsfilter/filter.go` (`defaultLabelPrefixCfg`, `parseLabelPrefix`,
 *   `ParseLabelPrefixCfg`, `filterLabels`, commit 0b22469da6e3659b027ab2827de9f346c4db95cd):
 *   each prefix is `[source:][!]regexp`, the regexp matching at the start of the key; a key is
 *   kept when no include prefix is configured beyond the defaults and no ignore prefix matches
 *   it, or when the longest include prefix that matches is longer than the shortest ignore prefix
 *   that matches. Prefixes given with the agent's `--labels` are added to the default list, and
 *   one include prefix among them keeps only the keys an include prefix matches
 *   ({@link ciliumLabelFilter}). A `--label-prefix-file` replaces the default list: not modelled.
 * - `pkg/k8s/utils/utils.go` (`SanitizePodLabels`, commit
 *   944f7bae656eac90d6ba1792674d71cf0a94e9c2) and `pkg/k8s/apis/cilium.io/const.go` (commit
 *   019c1234ad2c8a8110423a1fd620d82e1233dadb): pod labels whose key starts with `io.cilium.k8s`
 *   are dropped; `io.kubernetes.pod.namespace` := the namespace,
 *   `io.cilium.k8s.namespace.labels.<key>` := the namespace's labels,
 *   `io.cilium.k8s.policy.serviceaccount` := the service account and
 *   `io.cilium.k8s.policy.cluster` := the cluster name are set ({@link ciliumEndpointKey}).
 * @see https://docs.cilium.io/en/stable/operations/performance/scalability/identity-relevant-labels/
 */

/** One prefix of Cilium's label filter (filter.go `LabelPrefix`). */
interface LabelPrefix {
  /** Label source it applies to (`k8s`, `reserved`, …); empty: every source. */
  readonly source: string
  readonly ignore: boolean
  readonly expr: RegExp
}

/** A Cilium label filter: its prefixes, and whether an include prefix must match (`whitelist`). */
export interface CiliumLabelFilter {
  readonly prefixes: readonly LabelPrefix[]
  readonly whitelist: boolean
}

/**
 * What Go's `regexp` (RE2 syntax, which Cilium compiles prefixes with) refuses in `expr` although
 * JavaScript compiles it: a lookahead or lookbehind (`(?=`, `(?!`, `(?<=`, `(?<!`: "invalid or
 * unsupported Perl syntax") or a backreference (`\1`…`\9` with no octal digit after, `\k<name>`:
 * "invalid escape sequence", in a class too); undefined when there is none. Escaped characters
 * and character classes are read as such (`\(?=` and `[(?=]` are plain characters).
 */
function refusedByRe2(expr: string): string | undefined {
  let inClass = false
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i]
    if (c === '\\') {
      // Go's parseEscape: \1 to \7 begin an octal escape only when an octal digit follows
      const next = expr[i + 1] ?? ''
      const octal = /[1-7]/.test(next) && /[0-7]/.test(expr[i + 2] ?? '')
      if ((/[1-9]/.test(next) && !octal) || next === 'k')
        return `invalid escape sequence: \\${next}`
      i++
    } else if (inClass) inClass = c !== ']'
    else if (c === '[') {
      inClass = true
      // a ] first in the class (after a ^) is a plain character
      if (expr[i + 1] === '^') i++
      if (expr[i + 1] === ']') i++
    } else if (c === '(' && /^\(\?<?[=!]/.test(expr.slice(i, i + 4))) {
      const group = expr.slice(i, i + (expr[i + 2] === '<' ? 4 : 3))
      return `invalid or unsupported Perl syntax: ${group}`
    }
  }
  return undefined
}

/**
 * One prefix in Cilium's `--labels` syntax, `[source:][!]regexp` (filter.go `parseLabelPrefix`).
 * @throws Error for an empty prefix, a regular expression JavaScript cannot compile, or one Go's
 *   RE2 syntax refuses ({@link refusedByRe2}).
 */
function parseLabelPrefix(text: string): LabelPrefix {
  const i = text.indexOf(':')
  const source = i >= 0 ? text.slice(0, i) : ''
  let prefix = i >= 0 ? text.slice(i + 1) : text
  if (prefix.length === 0) throw new Error(`invalid label source "${source}", prefix "${prefix}"`)
  const ignore = prefix.startsWith('!')
  if (ignore) prefix = prefix.slice(1)
  let expr: RegExp
  try {
    expr = new RegExp(prefix)
  } catch (e) {
    throw new Error(`unable to compile regexp "${prefix}": ${(e as Error).message}`, { cause: e })
  }
  const re2 = refusedByRe2(prefix)
  if (re2 !== undefined) throw new Error(`unable to compile regexp "${prefix}": ${re2}`)
  return { source, ignore, expr }
}

/** Cilium's default list (filter.go `defaultLabelPrefixCfg`); `whitelist` stays false. */
const DEFAULT_PREFIXES: readonly string[] = [
  'reserved:.*',
  'io\\.kubernetes\\.pod\\.namespace',
  'io\\.cilium\\.k8s\\.namespace\\.labels',
  'app\\.kubernetes\\.io',
  'io\\.cilium\\.k8s\\.policy\\.cluster',
  '!io\\.kubernetes',
  '!kubernetes\\.io',
  '!statefulset\\.kubernetes\\.io/pod-name',
  '!apps\\.kubernetes\\.io/pod-index',
  '!batch\\.kubernetes\\.io/job-completion-index',
  '!.*beta\\.kubernetes\\.io',
  '!k8s\\.io',
  '!pod-template-generation',
  '!pod-template-hash',
  '!controller-revision-hash',
  '!annotation.*',
  '!etcd_node',
]

/**
 * Cilium's label filter with the agent's `--labels` prefixes added to the default list
 * (filter.go `ParseLabelPrefixCfg` without a label prefix file): any include prefix among them
 * makes the filter keep only the keys an include prefix matches. Empty: the default filter.
 * `["k8s:app", "k8s:!team"]` keeps `app`, `app.kubernetes.io/name`, the namespace label, and drops
 * `team`, `role`.
 * @throws Error for a prefix Cilium's parser refuses (empty) or a regular expression JavaScript
 *   cannot compile.
 */
export function ciliumLabelFilter(labels: readonly string[] = []): CiliumLabelFilter {
  const extra = labels.filter((l) => l.length > 0).map(parseLabelPrefix)
  return {
    prefixes: [...DEFAULT_PREFIXES.map(parseLabelPrefix), ...extra],
    whitelist: extra.some((p) => !p.ignore),
  }
}

/** The default filter (no `--labels`). */
const DEFAULT_FILTER = ciliumLabelFilter()

/**
 * Whether `p` matches the pod label `key` (source `k8s`) at its start, and the length matched
 * (filter.go `LabelPrefix.matches`; a match may be empty).
 */
function matchAtStart(p: LabelPrefix, key: string): number | undefined {
  if (p.source !== '' && p.source !== 'k8s') return undefined
  const m = p.expr.exec(key)
  return m?.index === 0 ? m[0].length : undefined
}

/**
 * True when Cilium's label filter keeps the pod label `key` in endpoint identities (default: the
 * default filter), as filter.go `filterLabels` decides: the shortest ignore prefix that matches
 * against the longest include prefix that matches. `app.kubernetes.io/name` is kept;
 * `kubernetes.io/os`, `k8s.io/x`, `annotation-x`, `foo.beta.kubernetes.io/x`,
 * `pod-template-hash` are not.
 */
export function ciliumIdentityKey(
  key: string,
  filter: CiliumLabelFilter = DEFAULT_FILTER,
): boolean {
  let ignored = 0
  let included = 0
  for (const p of filter.prefixes) {
    const n = matchAtStart(p, key)
    if (n === undefined) continue
    if (p.ignore) {
      if (ignored === 0 || n < ignored) ignored = n
    } else if (n > included) included = n
  }
  return (!filter.whitelist && ignored === 0) || included > ignored
}

/** The label Cilium sets on every endpoint with its pod's namespace (source `k8s`). */
export const POD_NAMESPACE_KEY = 'io.kubernetes.pod.namespace'

/** Prefix of the labels Cilium owns: dropped from pods, some set by Cilium (`LabelPrefix`). */
const CILIUM_OWNED_PREFIX = 'io.cilium.k8s'

/**
 * Why Cilium's selectors do not read the pod label `key` as the pod carries it, or undefined
 * when they do (whether the key is an identity label is {@link ciliumIdentityKey}'s question).
 * `io.kubernetes.pod.namespace`, `io.cilium.k8s.policy.serviceaccount`,
 * `io.cilium.k8s.namespace.labels.team` → a reason; `app` → undefined.
 */
export function ciliumEndpointKey(key: string): string | undefined {
  if (key === POD_NAMESPACE_KEY) return "Cilium sets it to the pod's namespace"
  if (key.startsWith(CILIUM_OWNED_PREFIX))
    return 'Cilium drops pod labels under io.cilium.k8s and sets its own (namespace labels, service account, cluster)'
  return undefined
}
