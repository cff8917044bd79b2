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
import { diagnostic, type Diagnostic, type ErrorCode } from '../../core/index.js'
import { JsonLocator } from '../../core/json-locate.js'
import { jsonErrorOffset } from '../../ingest/json-objects.js'

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

/** Go's `encoding/json` matches a key to a struct field case-insensitively (ASCII here). */
function fieldOf<F extends string>(key: string, fields: readonly F[]): F | undefined {
  return fields.find((f) => f === key.toLowerCase())
}

/** What {@link parseCiliumLabelPrefixFile} gives: the prefixes, or none and the problems. */
export interface CiliumLabelPrefixFileResult {
  /** The file's prefixes in order; undefined when `diagnostics` holds an error. */
  readonly prefixes?: readonly CiliumFilePrefix[]
  readonly diagnostics: readonly Diagnostic[]
}

/**
 * Reads the text of a Cilium label prefix file (the agent's `--label-prefix-file`) as
 * cilium/cilium `pkg/labelsfilter/filter.go` `readLabelPrefixCfgFrom` reads it with Go's
 * `encoding/json`: one JSON object (text after it is not read), `version` exactly the integer 1,
 * `valid-prefixes` a list (or null) of objects whose `prefix` and `source` are non-empty strings
 * and `invert` a boolean (absent or null: false); field names match case-insensitively and other
 * fields are ignored. `{"version": 1, "valid-prefixes": [{"source": "k8s", "prefix": "app"},
 * {"source": "k8s", "prefix": "team", "invert": true}]}` → `app` (include), `team` (ignore).
 * @param text - the file's text (UTF-8 decoded); pure: the caller reads the file.
 * @param file - its path, for the locations.
 * @returns every problem at once, each located at file:line:column (1-based): `yaml/syntax`
 *   (not JSON), `schema/invalid-value` (a value of the wrong type, another version, an empty
 *   string, a null entry, which makes Cilium's agent crash, or a key given twice in one object,
 *   which Go's decoder merges), `schema/missing-field` (no `prefix` or `source`).
 */
export function parseCiliumLabelPrefixFile(
  text: string,
  file: string,
): CiliumLabelPrefixFileResult {
  const diagnostics: Diagnostic[] = []
  const locator = new JsonLocator(text)
  const at = (offset: number): { file: string; line: number; column: number } => {
    const { line, col } = locator.linePos(offset)
    return { file, line, column: col }
  }
  const fail = (
    code: ErrorCode,
    message: string,
    path: readonly (string | number)[],
    hint: string,
    target: 'value' | 'key' = 'value',
  ): void => {
    diagnostics.push(diagnostic(code, message, at(locator.offset(path, target)), { hint }))
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    const message = (e as Error).message
    // Go's json.Decoder reads the first value and leaves the rest of the file unread
    const after = /^Unexpected non-whitespace character after JSON at position (\d+)/.exec(message)
    if (after) value = JSON.parse(text.slice(0, Number(after[1])))
    else {
      diagnostics.push(
        diagnostic(
          'yaml/syntax',
          `not a JSON label prefix file: ${message}`,
          at(jsonErrorOffset(message, text) ?? 0),
          {
            hint: 'write it as {"version": 1, "valid-prefixes": [{"source": "k8s", "prefix": "app"}]}',
          },
        ),
      )
      return { diagnostics }
    }
  }
  const typeHint =
    'give the type Cilium reads: version a number, valid-prefixes a list, prefix and source strings, invert true or false'
  if (value !== null && (typeof value !== 'object' || Array.isArray(value))) {
    fail('schema/invalid-value', 'a label prefix file is one JSON object', [], typeHint)
    return { diagnostics }
  }
  const top = (value ?? {}) as Record<string, unknown>
  const twice = (obj: Record<string, unknown>, path: readonly (string | number)[]): void => {
    const seen = new Set<string>()
    for (const k of Object.keys(obj)) {
      const f = k.toLowerCase()
      if (seen.has(f))
        fail(
          'schema/invalid-value',
          `"${k}" is given twice (field names match case-insensitively; Go's decoder merges the values)`,
          [...path, k],
          'give each field once',
          'key',
        )
      seen.add(f)
    }
  }
  twice(top, [])
  let version = 0
  let list: unknown = null
  let listKey = 'valid-prefixes'
  let versionKey: string | undefined
  // false when the version has a wrong type (said once, not again as "unsupported")
  let versionTyped = true
  for (const [k, v] of Object.entries(top)) {
    const f = fieldOf(k, ['version', 'valid-prefixes'])
    if (f === 'version') versionKey = k
    if (f === 'version' && v !== null) {
      const written = locator.scalarSource([k])
      if (typeof v !== 'number' || written === undefined || !/^-?\d+$/.test(written)) {
        versionTyped = false
        fail(
          'schema/invalid-value',
          `version must be a whole number, not ${written ?? JSON.stringify(v)}`,
          [k],
          'write "version": 1',
        )
      } else version = v
    } else if (f === 'valid-prefixes') {
      list = v
      listKey = k
    }
  }
  if (version !== 1 && versionTyped)
    fail(
      'schema/invalid-value',
      `unsupported version ${String(version)}`,
      versionKey === undefined ? [] : [versionKey],
      'write "version": 1, the only version Cilium reads',
    )
  const prefixes: CiliumFilePrefix[] = []
  if (list !== null && !Array.isArray(list))
    fail('schema/invalid-value', `${listKey} must be a list`, [listKey], typeHint)
  for (const [i, entry] of (Array.isArray(list) ? (list as unknown[]) : []).entries()) {
    const path = [listKey, i]
    if (entry === null) {
      fail(
        'schema/invalid-value',
        "a null prefix (Cilium's agent crashes on it)",
        path,
        'remove it',
      )
      continue
    }
    if (typeof entry !== 'object' || Array.isArray(entry)) {
      fail(
        'schema/invalid-value',
        'a prefix is an object {"source", "prefix", "invert"}',
        path,
        typeHint,
      )
      continue
    }
    const obj = entry as Record<string, unknown>
    twice(obj, path)
    const got: { prefix: string; source: string; invert: boolean } = {
      prefix: '',
      source: '',
      invert: false,
    }
    const keys: Record<string, string> = {}
    for (const [k, v] of Object.entries(obj)) {
      const f = fieldOf(k, ['prefix', 'source', 'invert'])
      if (f === undefined || v === null) continue
      keys[f] = k
      if (f === 'invert' ? typeof v !== 'boolean' : typeof v !== 'string')
        fail(
          'schema/invalid-value',
          `${f} must be ${f === 'invert' ? 'true or false' : 'a string'}`,
          [...path, k],
          typeHint,
        )
      else if (f === 'invert') got.invert = v as boolean
      else got[f] = v as string
    }
    for (const f of ['prefix', 'source'] as const)
      if (got[f] === '') {
        const k = keys[f]
        if (k === undefined)
          fail(
            'schema/missing-field',
            `${f} is missing (Cilium: ${f} was empty)`,
            path,
            `give the ${f}${f === 'source' ? ': k8s for pod labels' : ''}`,
          )
        else if (typeof obj[k] === 'string')
          fail(
            'schema/invalid-value',
            `${f} is empty (Cilium: ${f} was empty)`,
            [...path, k],
            `give the ${f}${f === 'source' ? ': k8s for pod labels' : ''}`,
          )
      }
    prefixes.push(got)
  }
  return diagnostics.length > 0 ? { diagnostics } : { prefixes, diagnostics }
}
