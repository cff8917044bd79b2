/**
 * @module Labels and label sets: `key=value` pairs on workloads (DESIGN.md "label").
 */

/** One `key=value` pair. */
export interface Label {
  readonly key: string
  readonly value: string
}

/**
 * A set of labels, at most one value per key, keys sorted, frozen. Build with {@link labelSet};
 * two label sets with the same pairs are deep-equal and format identically.
 */
export type LabelSet = Readonly<Record<string, string>>

/**
 * Label keys follow Kubernetes' qualified names: an optional DNS-subdomain prefix and `/`, then
 * 1–63 characters of `[A-Za-z0-9_.-]`, starting and ending alphanumeric.
 * @see https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set
 */
const KEY_RE =
  /^(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/
/** Values are looser than Kubernetes' (cloud tags carry spaces and colons) but have no control characters or `=`/`,`. */
const VALUE_RE = /^[^\p{Cc}=,]{0,253}$/u

/**
 * Kubernetes label values: at most 63 characters, empty or starting and ending alphanumeric, with
 * `-`, `_`, `.` between.
 * @see https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set
 */
const KUBERNETES_VALUE_RE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/

/**
 * Returns a reason when `value` is a valid Bulkhead label value that Kubernetes refuses (see
 * {@link KUBERNETES_VALUE_RE}), else undefined. For the Kubernetes source and targets.
 */
export function checkKubernetesLabelValue(value: string): string | undefined {
  return KUBERNETES_VALUE_RE.test(value)
    ? undefined
    : `${JSON.stringify(value)} is not a valid Kubernetes label value (at most 63 characters: letters, digits, "-", "_", ".", starting and ending with a letter or digit)`
}

/**
 * Kubernetes label keys (qualified names): an optional DNS-1123 subdomain prefix of at most 253
 * characters and `/`, then 1–63 of `[A-Za-z0-9_.-]`, alphanumeric at both ends. Stricter than
 * {@link KEY_RE} on the prefix (no `..`, `.-` or `-.`).
 * @see https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set
 */
const KUBERNETES_KEY_NAME_RE = /^[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/
const DNS_SUBDOMAIN_RE = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/

/**
 * Returns a reason when `key` is a label key that Kubernetes refuses (see
 * {@link KUBERNETES_KEY_NAME_RE}), else undefined. For the Kubernetes targets.
 */
export function checkKubernetesLabelKey(key: string): string | undefined {
  const slash = key.indexOf('/')
  const prefix = slash < 0 ? undefined : key.slice(0, slash)
  const name = key.slice(slash + 1)
  return KUBERNETES_KEY_NAME_RE.test(name) &&
    (prefix === undefined || (prefix.length <= 253 && DNS_SUBDOMAIN_RE.test(prefix)))
    ? undefined
    : `${JSON.stringify(key)} is not a valid Kubernetes label key (an optional DNS subdomain prefix and "/", then at most 63 characters: letters, digits, "-", "_", ".", starting and ending with a letter or digit)`
}

/** Kubernetes namespace names: DNS-1123 labels, 1–63 of `[a-z0-9-]`, alphanumeric at both ends. */
const KUBERNETES_NAMESPACE_RE = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/

/**
 * Returns a reason when `name` (a pod's `namespace` label) is no Kubernetes namespace name (a
 * DNS-1123 label), else undefined. For the Kubernetes targets.
 * @see https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#dns-label-names
 */
export function checkKubernetesNamespace(name: string): string | undefined {
  return KUBERNETES_NAMESPACE_RE.test(name)
    ? undefined
    : `${JSON.stringify(name)} is not a Kubernetes namespace name (at most 63 characters: lower-case letters, digits, "-", starting and ending with a letter or digit)`
}

/** Returns a reason when `key` is not a valid label key, else undefined. */
export function checkLabelKey(key: string): string | undefined {
  return KEY_RE.test(key)
    ? undefined
    : `"${key}" is not a valid label key (letters, digits, "-", "_", ".", optional "prefix/", at most 63 characters)`
}

/** Returns a reason when `value` is not a valid label value, else undefined. */
export function checkLabelValue(value: string): string | undefined {
  return VALUE_RE.test(value)
    ? undefined
    : `"${value}" is not a valid label value (no "=", ",", or control characters; at most 253 characters)`
}

/** Builds a frozen label set with sorted keys. Later pairs win for a repeated key. */
export function labelSet(
  labels: Readonly<Record<string, string>> | Iterable<Label> = {},
): LabelSet {
  const pairs: [string, string][] = isLabelIterable(labels)
    ? [...labels].map((l) => [l.key, l.value])
    : Object.entries(labels)
  const merged = new Map(pairs)
  const out: Record<string, string> = {}
  for (const key of [...merged.keys()].sort()) out[key] = merged.get(key) as string
  return Object.freeze(out)
}

function isLabelIterable(x: unknown): x is Iterable<Label> {
  return typeof x === 'object' && x !== null && Symbol.iterator in x
}

/** Parses `key=value`. Returns undefined when there is no `=`. */
export function parseLabel(text: string): Label | undefined {
  const i = text.indexOf('=')
  if (i <= 0) return undefined
  return { key: text.slice(0, i).trim(), value: text.slice(i + 1).trim() }
}

/**
 * Formats a label set as `k1=v1,k2=v2` (sorted by key). Stable: identity ids are built from
 * this; do not change the format.
 */
export function formatLabelSet(labels: LabelSet): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k] ?? ''}`)
    .join(',')
}

/** Merges label sets; labels in later sets win. */
export function mergeLabels(...sets: readonly LabelSet[]): LabelSet {
  return labelSet(Object.assign({}, ...sets) as Record<string, string>)
}
