/**
 * @module Which pod label keys Cilium's selectors see as the pod carries them: the keys its label
 * filter keeps in endpoint security identities (its policy selectors match identity labels only,
 * so a selector naming a key the filter leaves out matches no endpoint), less the keys Cilium
 * sets or drops on endpoints itself.
 * @remarks Transcribed from cilium/cilium:
 * - `pkg/labelsfilter/filter.go` (`defaultLabelPrefixCfg`, `parseLabelPrefix`,
 *   `ParseLabelPrefixCfg`, `filterLabels`, commit 0b22469da6e3659b027ab2827de9f346c4db95cd):
 *   each prefix is `[source:][!]regexp`, the regexp matching at the start of the key; a key is
 *   kept when no include prefix is configured and no ignore prefix matches it, or when the
 *   longest include prefix that matches is longer than the shortest ignore prefix that matches.
 *   Prefixes given with the agent's `--labels` are added to the base list, and one include
 *   prefix among them keeps only the keys an include prefix matches ({@link ciliumLabelFilter}).
 *   The base list is the default list, or the agent's `--label-prefix-file` in its stead
 *   (`readLabelPrefixCfgFrom`, {@link parseCiliumLabelPrefixFile}): JSON
 *   `{"version": 1, "valid-prefixes": [{"source", "prefix", "invert"}]}` whose prefixes are plain
 *   text matched at the start of the key (no regular expression is compiled for them), an
 *   include prefix among them making the filter keep only the keys an include prefix matches.
 * - `pkg/k8s/utils/utils.go` (`SanitizePodLabels`, commit
 *   944f7bae656eac90d6ba1792674d71cf0a94e9c2) and `pkg/k8s/apis/cilium.io/const.go` (commit
 *   019c1234ad2c8a8110423a1fd620d82e1233dadb): pod labels whose key starts with `io.cilium.k8s`
 *   are dropped; `io.kubernetes.pod.namespace` := the namespace,
 *   `io.cilium.k8s.namespace.labels.<key>` := the namespace's labels,
 *   `io.cilium.k8s.policy.serviceaccount` := the service account and
 *   `io.cilium.k8s.policy.cluster` := the cluster name are set ({@link ciliumEndpointKey}).
 * @see https://docs.cilium.io/en/stable/operations/performance/scalability/identity-relevant-labels/
 */
import * as z from 'zod'
import { diagnostic, type Diagnostic } from '../../core/index.js'
import { parseYamlFile } from '../../core/yaml-source.js'

/** One prefix of Cilium's label filter (filter.go `LabelPrefix`). */
interface LabelPrefix {
  /** Label source it applies to (`k8s`, `reserved`, …); empty: every source. */
  readonly source: string
  readonly ignore: boolean
  /** The regular expression (`--labels`, the default list), matched at the start of the key. */
  readonly expr?: RegExp
  /** Without `expr` (a label prefix file's prefix): the text the key must start with. */
  readonly text: string
}

/**
 * One prefix of a Cilium label prefix file (`--label-prefix-file`; filter.go `LabelPrefix` as
 * JSON), as {@link parseCiliumLabelPrefixFile} reads it.
 */
export interface CiliumFilePrefix {
  /** Label source it applies to (`k8s` for pod labels, `reserved`, …); never empty. */
  readonly source: string
  /** Plain text a key must start with (not a regular expression; a leading `!` is a character). */
  readonly prefix: string
  /** True: an ignore prefix (JSON `"invert": true`), the file's form of `!`. */
  readonly invert: boolean
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
  return { source, ignore, expr, text: prefix }
}

/** The label Cilium sets on every endpoint with its pod's namespace (source `k8s`). */
export const POD_NAMESPACE_KEY = 'io.kubernetes.pod.namespace'

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
 * Cilium's label filter with the agent's `--labels` prefixes added to its base list
 * (filter.go `ParseLabelPrefixCfg`): the default list, or the prefixes of the agent's
 * `--label-prefix-file` (`file`, {@link parseCiliumLabelPrefixFile}), which replace it. An
 * include prefix among the file's or the `--labels` prefixes makes the filter keep only the keys
 * an include prefix matches. Both empty: the default filter.
 * `["k8s:app", "k8s:!team"]` keeps `app`, `app.kubernetes.io/name`, the namespace label, and drops
 * `team`, `role`; the file `[{source: "k8s", prefix: "app", invert: false}]` with no `--labels`
 * keeps `app`, `app.kubernetes.io/name`, `apple` and drops `role` and the namespace label.
 * @throws Error for a prefix Cilium's parser refuses (empty) or a regular expression JavaScript
 *   cannot compile or Go's RE2 refuses; and for a filter that leaves the namespace label
 *   ({@link POD_NAMESPACE_KEY}) out of identities: Cilium's namespaced policies, which require
 *   it, would then select no endpoint, and Bulkhead's selectors name it.
 */
export function ciliumLabelFilter(
  labels: readonly string[] = [],
  file?: readonly CiliumFilePrefix[],
): CiliumLabelFilter {
  const extra = labels.filter((l) => l.length > 0).map(parseLabelPrefix)
  const base: readonly LabelPrefix[] =
    file === undefined
      ? DEFAULT_PREFIXES.map(parseLabelPrefix)
      : file.map((p) => ({ source: p.source, ignore: p.invert, text: p.prefix }))
  const filter = {
    prefixes: [...base, ...extra],
    whitelist: (file?.some((p) => !p.invert) ?? false) || extra.some((p) => !p.ignore),
  }
  if (!ciliumIdentityKey(POD_NAMESPACE_KEY, filter))
    throw new Error(
      `the label filter leaves ${POD_NAMESPACE_KEY} out of endpoint identities: Cilium's namespaced policies would select no endpoint; include it (file: {"source": "k8s", "prefix": "${POD_NAMESPACE_KEY}"})`,
    )
  return filter
}

/** The default filter (no `--labels`). */
const DEFAULT_FILTER = ciliumLabelFilter()

/**
 * Whether `p` matches the pod label `key` (source `k8s`) at its start, and the length matched
 * (filter.go `LabelPrefix.matches`; a match may be empty): a file's prefix (no `expr`) when the
 * key starts with its text, the length of that text.
 */
function matchAtStart(p: LabelPrefix, key: string): number | undefined {
  if (p.source !== '' && p.source !== 'k8s') return undefined
  if (p.expr === undefined) return key.startsWith(p.text) ? p.text.length : undefined
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

/** What {@link parseCiliumLabelPrefixFile} gives: the prefixes, or none and the problems. */
export interface CiliumLabelPrefixFileResult {
  /** The file's prefixes in order; undefined when `diagnostics` holds an error. */
  readonly prefixes?: readonly CiliumFilePrefix[]
  readonly diagnostics: readonly Diagnostic[]
}

/**
 * The label prefix file as filter.go `readLabelPrefixCfgFrom` decodes it: `version` 1, the only
 * one Cilium reads; `valid-prefixes` a list (absent or null: none) of prefixes whose `source`
 * and `prefix` are non-empty (Cilium refuses an empty one) and `invert` a boolean (absent or
 * null: false). Other fields are ignored, as Go's decoder ignores them.
 */
const LABEL_PREFIX_FILE = z.object({
  version: z.literal(1),
  'valid-prefixes': z
    .array(
      z.object({
        source: z.string().min(1),
        prefix: z.string().min(1),
        invert: z.boolean().nullish(),
      }),
    )
    .nullish(),
})

/**
 * Reads a Cilium label prefix file (the agent's `--label-prefix-file`, JSON:
 * `{"version": 1, "valid-prefixes": [{"source": "k8s", "prefix": "app"}, {"source": "k8s",
 * "prefix": "team", "invert": true}]}` → `app` (include), `team` (ignore)), with the loader the
 * workspace files use (`parseYamlFile`, a zod schema: {@link LABEL_PREFIX_FILE}).
 * @param text - the file's text (UTF-8 decoded); pure: the caller reads the file.
 * @param file - its path, for the locations.
 * @returns every problem at once, each located at file:line:column (1-based): `yaml/syntax`
 *   (not JSON or YAML), `yaml/duplicate-key`, `schema/invalid-value` (another version, a value
 *   of the wrong type, an empty string), `schema/missing-field` (no `version`, `prefix` or
 *   `source`).
 */
export function parseCiliumLabelPrefixFile(
  text: string,
  file: string,
): CiliumLabelPrefixFileResult {
  const found: Diagnostic[] = []
  const docs = parseYamlFile({ path: file, text }, found)
  const doc = docs.length === 1 ? docs[0] : undefined
  if (doc === undefined && found.length === 0)
    found.push(
      diagnostic(
        'schema/invalid-value',
        `a label prefix file is one JSON object; ${file} holds ${String(docs.length)} documents`,
        { file, line: 1, column: 1 },
      ),
    )
  const parsed = doc?.check(LABEL_PREFIX_FILE, doc.value, [])
  // every problem says what Cilium reads
  // (a hint of the reader's own, `keep one of them` of a repeated key, is kept before the shape)
  const diagnostics = found.map((d) => ({
    ...d,
    hint: d.hint === undefined ? FILE_HINT : `${d.hint}; ${FILE_HINT}`,
  }))
  if (parsed === undefined) return { diagnostics }
  const prefixes = (parsed['valid-prefixes'] ?? []).map((p) => ({
    source: p.source,
    prefix: p.prefix,
    invert: p.invert ?? false,
  }))
  return { prefixes, diagnostics }
}

/** The hint of every problem of a label prefix file: the shape Cilium reads. */
const FILE_HINT =
  'Cilium reads {"version": 1, "valid-prefixes": [{"source": "k8s", "prefix": "app", "invert": false}]}'
