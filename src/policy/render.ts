/**
 * @module Rendering a Policy back to the YAML policy language, so that loading the text gives the
 * same model (locations aside). Used by `recommend` to write policy files.
 * @remarks Format: DESIGN.md "Policy language v1".
 */
import { Document, isMap, isSeq, Scalar, visit, type ScalarTag } from 'yaml'
import { DAY_MS, formatService, type Policy, type Rule, type Selector } from '../core/index.js'
import { API_VERSION } from '../core/yaml-source.js'

/** Keys with a meaning of their own in a selector; labels with these keys go under `matchLabels`. */
const RESERVED_SELECTOR_KEYS = new Set([
  'any',
  'cidr',
  'except',
  'workload',
  'external',
  'scope',
  'matchLabels',
  'matchExpressions',
])

/**
 * The YAML form of one selector: `'any'`, `{cidr, except?}`, `{workload, scope?}`,
 * `{external}`, or label pairs (under `matchLabels` when a key is reserved) with
 * `matchExpressions` and `scope: global`. `{}` for the empty label selector.
 */
export function selectorToYaml(sel: Selector): unknown {
  switch (sel.kind) {
    case 'any':
      return 'any'
    case 'cidr':
      return sel.except.length > 0
        ? { cidr: sel.cidr.text, except: sel.except.map((c) => c.text) }
        : { cidr: sel.cidr.text }
    case 'workload':
      return sel.global ? { workload: sel.name, scope: 'global' } : { workload: sel.name }
    case 'external':
      return { external: sel.name }
    case 'labels': {
      const out: Record<string, unknown> = {}
      const keys = Object.keys(sel.match)
      if (keys.some((k) => RESERVED_SELECTOR_KEYS.has(k))) out['matchLabels'] = { ...sel.match }
      else for (const k of keys) out[k] = sel.match[k]
      if (sel.expressions.length > 0) {
        out['matchExpressions'] = sel.expressions.map((e) =>
          e.operator === 'Exists' || e.operator === 'DoesNotExist'
            ? { key: e.key, operator: e.operator }
            : { key: e.key, operator: e.operator, values: [...e.values] },
        )
      }
      if (sel.global) out['scope'] = 'global'
      return out
    }
  }
}

/**
 * Renders an expiry instant: `YYYY-MM-DD` when it is a UTC midnight (the day before, since a date
 * is valid through its whole day), otherwise an ISO-8601 date-time in UTC.
 */
export function renderExpires(ms: number): string {
  if (ms % DAY_MS === 0) return new Date(ms - DAY_MS).toISOString().slice(0, 10)
  return new Date(ms).toISOString()
}

function ruleToYaml(
  rule: Rule,
  selectors: (list: readonly Selector[]) => unknown,
): Record<string, unknown> {
  return {
    id: rule.id,
    ...(rule.action === 'deny' ? { action: 'deny' } : {}),
    from: selectors(rule.from),
    to: selectors(rule.to),
    ports: rule.services.map(formatService),
    ...(rule.reason !== undefined ? { reason: rule.reason } : {}),
    ...(rule.owner !== undefined ? { owner: rule.owner } : {}),
    ...(rule.evidence !== undefined ? { evidence: rule.evidence } : {}),
    ...(rule.expires !== undefined ? { expires: renderExpires(rule.expires) } : {}),
    ...(rule.emergency ? { emergency: true } : {}),
  }
}

/** Options of {@link renderPolicy}. */
export interface RenderPolicyOptions {
  /**
   * A YAML comment written above a rule, by rule id (lines split at `\n`, each prefixed `# `).
   * Comments do not change what loading gives. Used by `recommend` for time patterns and port ranges.
   */
  readonly ruleComments?: ReadonlyMap<string, string>
}

/**
 * YAML text written as it is in place of a node: a selector list's flow sequence rendered once
 * (it fits on one line) and reused for each rule that has the same list. Wrapped afresh for each
 * use, so that the `yaml` package never sees the same object twice (which it would write as an
 * anchor and aliases).
 */
class Prerendered {
  constructor(readonly text: string) {}
}

/**
 * The `yaml` tag that writes a {@link Prerendered} value's text unchanged, with no tag of its own
 * (`default`); never used for reading.
 */
const PRERENDERED_TAG: ScalarTag = {
  tag: 'tag:bulkhead.dev,2026:prerendered',
  default: true,
  identify: (value) => value instanceof Prerendered,
  resolve: (value) => value,
  stringify: (item) => (item.value as Prerendered).text,
}

/**
 * How the documents are printed: no folding of long lines; no directives (a new Document has none
 * to print, and looking for them walks every node again).
 */
const TO_STRING = { lineWidth: 0, directives: false } as const

/**
 * Quotes, in place, the string scalars that start with ':': a plain scalar that does (`::/0`,
 * `::1/128`) is valid YAML 1.2 but stops YAML 1.1 parsers (PyYAML, so yamllint and yq) that review
 * tools run on these files.
 */
function quoteLeadingColons(doc: Document): void {
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && node.value.startsWith(':'))
        node.type = Scalar.QUOTE_SINGLE
    },
  })
}

/**
 * A flow sequence (`[ a, { b: c } ]`) as `renderPolicy` writes it for a rule's `from`, `to` and
 * `ports`, or `undefined` when it takes more than one line (then it is written in place, where the
 * indentation may matter). On one line the text does not depend on where the sequence stands.
 */
function renderFlowSeq(items: readonly unknown[]): string | undefined {
  const doc = new Document(items)
  if (isSeq(doc.contents)) doc.contents.flow = true
  quoteLeadingColons(doc)
  const text = doc.toString(TO_STRING)
  const body = text.endsWith('\n') ? text.slice(0, -1) : text
  return body.includes('\n') ? undefined : body
}

/**
 * Renders one policy as a `kind: Policy` YAML document (`scope`, selectors and ports in flow
 * style, as in DESIGN.md). Loading the text gives back the same policy apart from `location`
 * and `file`. Strings that would read back as another type are quoted by the `yaml` package.
 * @returns the YAML text, ending in a newline.
 * @remarks A rule's selector lists are rendered once per distinct list and the text reused (the
 * `except` list of the public internet, one CIDR per known external, recurs in most rules that
 * `recommend` proposes): the output is the same as rendering each in place, and the time grows
 * with the distinct lists rather than with every copy of them.
 */
export function renderPolicy(policy: Policy, options: RenderPolicyOptions = {}): string {
  // selectors are shared between rules (recommend makes the `internet` selector once): a number
  // for each distinct YAML form (by object, then by its JSON text), then the text of each list of
  // them by those numbers, so that a rule's lookup does not grow with its `except` lists
  const selectorIds = new Map<Selector, number>()
  const formIds = new Map<string, number>()
  const keyOf = (sel: Selector): number => {
    let id = selectorIds.get(sel)
    if (id === undefined) {
      const form = JSON.stringify(selectorToYaml(sel))
      id = formIds.get(form)
      if (id === undefined) formIds.set(form, (id = formIds.size))
      selectorIds.set(sel, id)
    }
    return id
  }
  const flowSeqs = new Map<string, string | undefined>()
  /** The selector list's YAML form, or its text when already rendered (one line). */
  const selectors = (list: readonly Selector[]): unknown => {
    const key = list.map(keyOf).join(',')
    let text = flowSeqs.get(key)
    if (!flowSeqs.has(key)) {
      text = renderFlowSeq(list.map(selectorToYaml))
      flowSeqs.set(key, text)
    }
    return text === undefined ? list.map(selectorToYaml) : new Prerendered(text)
  }
  const body = {
    apiVersion: API_VERSION,
    kind: 'Policy',
    metadata: {
      name: policy.name,
      owner: policy.owner,
      ...(policy.description !== undefined ? { description: policy.description } : {}),
    },
    ...(Object.keys(policy.scope).length > 0 ? { scope: { ...policy.scope } } : {}),
    rules: policy.rules.map((rule) => ruleToYaml(rule, selectors)),
  }
  const doc = new Document(body, { customTags: [PRERENDERED_TAG] })
  const scope = doc.get('scope', true)
  if (isMap(scope)) scope.flow = true
  const rules = doc.get('rules', true)
  if (isSeq(rules)) {
    for (const item of rules.items) {
      if (!isMap(item)) continue
      const id = item.get('id')
      const comment = typeof id === 'string' ? options.ruleComments?.get(id) : undefined
      if (comment !== undefined) {
        item.commentBefore = comment
          .split('\n')
          .map((line) => ` ${line}`)
          .join('\n')
      }
      for (const key of ['from', 'to', 'ports']) {
        const node = item.get(key, true)
        if (isSeq(node)) node.flow = true
      }
    }
  }
  quoteLeadingColons(doc)
  return doc.toString(TO_STRING)
}
