/**
 * @module Which pod label keys Cilium keeps in an endpoint's security identity under its default
 * label filter. Cilium's policy selectors match identity labels only, so a selector naming a key
 * the filter leaves out matches no endpoint.
 * @remarks Transcribed from cilium/cilium `pkg/labelsfilter/filter.go` (`defaultLabelPrefixCfg`
 * and `filterLabels`, commit 0b22469da6e3659b027ab2827de9f346c4db95cd): each prefix is a regular
 * expression that must match at the start of the key; a key is kept when no ignore prefix
 * matches it, or when the longest include prefix that matches is longer than the shortest ignore
 * prefix that matches. A cluster started with `--label-prefix-file` or `--labels` filters
 * otherwise: this is the default.
 * @see https://docs.cilium.io/en/stable/operations/performance/scalability/identity-relevant-labels/
 */

/** Include prefixes of the default filter (beyond `reserved:`). */
const INCLUDE: readonly RegExp[] = [
  /io\.kubernetes\.pod\.namespace/,
  /io\.cilium\.k8s\.namespace\.labels/,
  /app\.kubernetes\.io/,
  /io\.cilium\.k8s\.policy\.cluster/,
]

/** Ignore prefixes of the default filter. */
const IGNORE: readonly RegExp[] = [
  /io\.kubernetes/,
  /kubernetes\.io/,
  /statefulset\.kubernetes\.io\/pod-name/,
  /apps\.kubernetes\.io\/pod-index/,
  /batch\.kubernetes\.io\/job-completion-index/,
  /.*beta\.kubernetes\.io/,
  /k8s\.io/,
  /pod-template-generation/,
  /pod-template-hash/,
  /controller-revision-hash/,
  /annotation.*/,
  /etcd_node/,
]

/** Length of the match of `re` at the start of `key`, or 0 (filter.go `LabelPrefix.matches`). */
function matchAtStart(re: RegExp, key: string): number {
  const m = re.exec(key)
  return m?.index === 0 ? m[0].length : 0
}

/**
 * True when Cilium's default label filter keeps the pod label `key` in endpoint identities.
 * `app.kubernetes.io/name` is kept; `kubernetes.io/os`, `k8s.io/x`, `annotation-x`,
 * `foo.beta.kubernetes.io/x`, `pod-template-hash` are not.
 */
export function ciliumIdentityKey(key: string): boolean {
  let ignored = 0
  let included = 0
  for (const re of IGNORE) {
    const n = matchAtStart(re, key)
    if (n > 0 && (ignored === 0 || n < ignored)) ignored = n
  }
  for (const re of INCLUDE) included = Math.max(included, matchAtStart(re, key))
  return ignored === 0 || included > ignored
}
