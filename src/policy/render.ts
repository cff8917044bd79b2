/**
 * @module Rendering a Policy back to the YAML policy language, so that loading the text gives the
 * same model (locations aside). Used by `recommend` to write policy files.
 * @remarks Format: DESIGN.md "Policy language v1".
 */
import { Document, isMap, isSeq, Scalar, visit } from 'yaml'
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

function ruleToYaml(rule: Rule): Record<string, unknown> {
  return {
    id: rule.id,
    ...(rule.action === 'deny' ? { action: 'deny' } : {}),
    from: rule.from.map(selectorToYaml),
    to: rule.to.map(selectorToYaml),
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
 * Renders one policy as a `kind: Policy` YAML document (`scope`, selectors and ports in flow
 * style, as in DESIGN.md). Loading the text gives back the same policy apart from `location`
 * and `file`. Strings that would read back as another type are quoted by the `yaml` package.
 * @returns the YAML text, ending in a newline.
 */
export function renderPolicy(policy: Policy, options: RenderPolicyOptions = {}): string {
  const body = {
    apiVersion: API_VERSION,
    kind: 'Policy',
    metadata: {
      name: policy.name,
      owner: policy.owner,
      ...(policy.description !== undefined ? { description: policy.description } : {}),
    },
    ...(Object.keys(policy.scope).length > 0 ? { scope: { ...policy.scope } } : {}),
    rules: policy.rules.map(ruleToYaml),
  }
  const doc = new Document(body)
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
  // a plain scalar that starts with ':' (`::/0`, `::1/128`) is valid YAML 1.2 but stops YAML 1.1
  // parsers (PyYAML, so yamllint and yq) that review tools run on these files: quote it
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && node.value.startsWith(':'))
        node.type = Scalar.QUOTE_SINGLE
    },
  })
  return doc.toString({ lineWidth: 0 })
}
