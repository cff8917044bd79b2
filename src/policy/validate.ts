/**
 * @module Field-level parsers and cross-document checks for workspace files: labels, times,
 * expiry, selectors and services, each reporting located diagnostics; plus the policy-set checks
 * (duplicates, scoped sides, expired rules, selectors that match nothing, unknown label keys).
 * @remarks Semantics: DESIGN.md "Policy language v1" (rules 2, 4 and 6) and "Workspace, inventory
 * and enforcement files"; Kubernetes label selectors for `matchExpressions`.
 */
import * as z from 'zod'
import {
  DAY_MS,
  addressesLeft,
  checkLabelKey,
  checkLabelValue,
  cidrCovers,
  diagnostic,
  expressionMatches,
  isScoped,
  labelSet,
  labelsMatch,
  parseCidr,
  parseService,
  SelectorMembers,
  type Cidr,
  type Diagnostic,
  type LabelExpression,
  type LabelSet,
  type Selector,
  type Service,
  type SourceLocation,
  type Workload,
} from '../core/index.js'
import { isMapping, parseTimestamp, type YamlDoc, type YamlPath } from '../core/yaml-source.js'

/**
 * Parses a rule's `expires` value: a date alone is valid through that whole UTC day, so it
 * expires at the following UTC midnight; a date-time expires at that instant.
 * @returns ms since the epoch, or undefined when `raw` is not such a date (the caller reports
 * `policy/bad-expires`).
 */
export function parseExpires(raw: unknown): number | undefined {
  if (typeof raw !== 'string') return undefined
  const t = parseTimestamp(raw)
  if (!t) return undefined
  return t.dateOnly ? t.ms + DAY_MS : t.ms
}

/** Names a selector may refer to: the inventory's workloads and externals. */
export interface SelectorNames {
  readonly workloads: ReadonlySet<string>
  readonly externals: ReadonlySet<string>
  /**
   * False when inventory files could not be read (missing, unreadable): their names are not in
   * the sets, so an unknown name is not reported (the load fails on the read errors anyway).
   * Absent: true.
   */
  readonly complete?: boolean
}

const EXPRESSION = z.strictObject({
  key: z.string().min(1),
  operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
  values: z.array(z.string()).optional(),
})

/**
 * The selectors that name an inventory entry: where the names are ({@link SelectorNames}), what
 * the field must be (`schema/invalid-value`), and the code of a name the inventory lacks.
 */
const NAMED_SELECTORS = {
  workload: {
    set: 'workloads',
    shape: '"workload" must be a workload name',
    unknown: 'policy/unknown-workload',
  },
  external: {
    set: 'externals',
    shape: '"external" must be the name of an inventory external',
    unknown: 'policy/unknown-external',
  },
} as const

/**
 * Parses one selector (DESIGN.md "selector"): the string `any` or `{any: true}`; `{cidr, except?}`;
 * `{workload, scope?: global}`; `{external}`; otherwise a label selector of plain `key: value`
 * pairs plus `matchLabels`, `matchExpressions` (Kubernetes rules) and `scope: global`.
 * Errors: `policy/bad-selector` (mixed kinds, bad `scope`, malformed), `policy/bad-cidr`,
 * `policy/except-outside-cidr`, `policy/unknown-workload`, `policy/unknown-external`,
 * `inventory/bad-label`, `schema/*` for malformed expressions.
 * @returns the selector with `location` = the node's start, or undefined on any error.
 */
export function parseSelector(
  d: YamlDoc,
  raw: unknown,
  path: YamlPath,
  names: SelectorNames,
): Selector | undefined {
  const location = d.loc(path)
  if (raw === 'any') return { kind: 'any', location }
  if (!isMapping(raw)) {
    d.report(
      'policy/bad-selector',
      'a selector is a mapping such as { role: web }, or the word any',
      path,
    )
    return undefined
  }
  const keys = Object.keys(raw)
  const special = ['any', 'cidr', 'workload', 'external'].filter((k) => Object.hasOwn(raw, k))
  if (special.length > 1) {
    d.report(
      'policy/bad-selector',
      `a selector cannot combine ${special.map((k) => `"${k}"`).join(' and ')}`,
      path,
    )
    return undefined
  }
  const kind = special[0]
  if (kind !== undefined) {
    const allowed =
      kind === 'cidr' ? ['cidr', 'except'] : kind === 'workload' ? ['workload', 'scope'] : [kind]
    let ok = true
    for (const k of keys) {
      if (!allowed.includes(k)) {
        d.report(
          'policy/bad-selector',
          `"${k}" cannot be combined with "${kind}" in one selector`,
          [...path, k],
          {
            target: 'key',
            hint: 'write label selectors and address selectors as separate list items',
          },
        )
        ok = false
      }
    }
    if (kind === 'any') {
      if (raw['any'] !== true) {
        d.report('policy/bad-selector', '"any" must be true', [...path, 'any'])
        return undefined
      }
      return ok ? { kind: 'any', location } : undefined
    }
    if (kind === 'cidr') {
      const cidr = parseCidrAt(d, raw['cidr'], [...path, 'cidr'])
      const except: Cidr[] = []
      const rawExcept = raw['except']
      if (rawExcept !== undefined) {
        if (!Array.isArray(rawExcept)) {
          d.report('schema/invalid-value', '"except" must be a list of CIDR blocks', [
            ...path,
            'except',
          ])
          ok = false
        } else {
          rawExcept.forEach((item, i) => {
            const ex = parseCidrAt(d, item, [...path, 'except', i])
            if (!ex) ok = false
            else if (cidr && !cidrCovers(cidr, ex)) {
              d.report(
                'policy/except-outside-cidr',
                `except block ${ex.text} is not inside ${cidr.text}`,
                [...path, 'except', i],
              )
              ok = false
            } else except.push(ex)
          })
        }
      }
      return ok && cidr ? { kind: 'cidr', cidr, except, location } : undefined
    }
    /** The name a `workload:` or `external:` selector gives; undefined after reporting a bad or unknown one. */
    const named = (field: keyof typeof NAMED_SELECTORS): string | undefined => {
      const { set, shape, unknown } = NAMED_SELECTORS[field]
      const name = raw[field]
      if (typeof name !== 'string' || name === '') {
        d.report('schema/invalid-value', shape, [...path, field])
        return undefined
      }
      if (!names[set].has(name)) {
        if (names.complete === false) return name
        d.report(unknown, `no ${field} named "${name}" in the inventory`, [...path, field])
        return undefined
      }
      return name
    }
    if (kind === 'workload') {
      const global = parseScopeKey(d, raw, path)
      const name = named('workload')
      if (name === undefined) return undefined
      return ok && global !== undefined ? { kind: 'workload', name, global, location } : undefined
    }
    // external
    const name = named('external')
    if (name === undefined) return undefined
    return ok ? { kind: 'external', name, location } : undefined
  }
  return parseLabelSelector(d, raw, path, location)
}

function parseScopeKey(
  d: YamlDoc,
  raw: Record<string, unknown>,
  path: YamlPath,
): boolean | undefined {
  if (!Object.hasOwn(raw, 'scope')) return false
  if (raw['scope'] === 'global') return true
  d.report('policy/bad-selector', '"scope" in a selector can only be "global"', [...path, 'scope'])
  return undefined
}

function parseCidrAt(d: YamlDoc, raw: unknown, path: YamlPath): Cidr | undefined {
  if (typeof raw !== 'string') {
    d.report('policy/bad-cidr', 'a CIDR block must be written as text, e.g. 10.0.0.0/8', path)
    return undefined
  }
  const c = parseCidr(raw)
  if (typeof c === 'string') {
    d.report('policy/bad-cidr', c, path)
    return undefined
  }
  return c
}

/**
 * A `matchExpressions` item with each of its `values` that YAML reads as a number or boolean
 * replaced by its text as written (`values: [1, 1.10]` is `["1", "1.10"]`), as label values are
 * read in `matchLabels` form and on workloads; anything else is left for the schema to judge.
 */
function valuesAsText(d: YamlDoc, item: unknown, at: YamlPath): unknown {
  if (!isMapping(item) || !Array.isArray(item.values)) return item
  const values: unknown[] = item.values
  return {
    ...item,
    values: values.map((v, j) => d.labelText(v, [...at, 'values', j]) ?? v),
  }
}

function parseLabelSelector(
  d: YamlDoc,
  raw: Record<string, unknown>,
  path: YamlPath,
  location: SourceLocation,
): Selector | undefined {
  let ok = true
  const match: Record<string, string> = {}
  const expressions: LabelExpression[] = []
  const addPair = (key: string, value: unknown, at: YamlPath): void => {
    const keyProblem = checkLabelKey(key)
    if (keyProblem) {
      d.report('inventory/bad-label', keyProblem, at, { target: 'key' })
      ok = false
      return
    }
    const text = d.labelText(value, at)
    if (text === undefined) {
      d.report('policy/bad-selector', `label "${key}" must have one text value`, at, {
        hint: 'to match several values use matchExpressions with operator In',
      })
      ok = false
      return
    }
    const valueProblem = checkLabelValue(text)
    if (valueProblem) {
      d.report('inventory/bad-label', valueProblem, at)
      ok = false
      return
    }
    if (Object.hasOwn(match, key) && match[key] !== text) {
      d.report(
        'policy/bad-selector',
        `label "${key}" is required to be both "${match[key] ?? ''}" and "${text}"`,
        at,
      )
      ok = false
      return
    }
    match[key] = text
  }
  let global = false
  for (const key of Object.keys(raw)) {
    const value = raw[key]
    if (key === 'scope') {
      const g = parseScopeKey(d, raw, path)
      if (g === undefined) ok = false
      else global = g
    } else if (key === 'except') {
      d.report(
        'policy/bad-selector',
        '"except" needs "cidr" in the same selector',
        [...path, key],
        { target: 'key' },
      )
      ok = false
    } else if (key === 'matchLabels') {
      if (!isMapping(value)) {
        d.report('schema/invalid-value', '"matchLabels" must be a mapping of key: value', [
          ...path,
          key,
        ])
        ok = false
        continue
      }
      for (const [k, v] of Object.entries(value)) addPair(k, v, [...path, key, k])
    } else if (key === 'matchExpressions') {
      if (!Array.isArray(value)) {
        d.report('schema/invalid-value', '"matchExpressions" must be a list', [...path, key])
        ok = false
        continue
      }
      value.forEach((item, i) => {
        const at = [...path, key, i]
        const e = d.check(EXPRESSION, valuesAsText(d, item, at), at)
        if (!e) {
          ok = false
          return
        }
        const keyProblem = checkLabelKey(e.key)
        if (keyProblem) {
          d.report('inventory/bad-label', keyProblem, [...at, 'key'])
          ok = false
          return
        }
        const values = e.values ?? []
        const needsValues = e.operator === 'In' || e.operator === 'NotIn'
        if (needsValues && values.length === 0) {
          d.report(
            'policy/bad-selector',
            `operator ${e.operator} needs a non-empty "values" list`,
            at,
          )
          ok = false
          return
        }
        if (!needsValues && values.length > 0) {
          d.report('policy/bad-selector', `operator ${e.operator} takes no "values"`, [
            ...at,
            'values',
          ])
          ok = false
          return
        }
        for (const [j, v] of values.entries()) {
          const p = checkLabelValue(v)
          if (p) {
            d.report('inventory/bad-label', p, [...at, 'values', j])
            ok = false
          }
        }
        expressions.push({ key: e.key, operator: e.operator, values: [...values] })
      })
    } else {
      addPair(key, value, [...path, key])
    }
  }
  return ok ? { kind: 'labels', match: labelSet(match), expressions, global, location } : undefined
}

/**
 * Parses a `from`/`to` list, or the single word `any`. An empty list is `schema/invalid-value`
 * (a rule that can match nothing).
 * @returns the selectors, or undefined when the list or any selector is bad.
 */
export function parseSelectorList(
  d: YamlDoc,
  raw: unknown,
  path: YamlPath,
  names: SelectorNames,
): Selector[] | undefined {
  if (raw === 'any') return [{ kind: 'any', location: d.loc(path) }]
  if (!Array.isArray(raw)) {
    d.report(
      'schema/invalid-value',
      `"${String(path[path.length - 1])}" must be a list of selectors`,
      path,
      {
        hint: 'write e.g. [{ role: web }] or [any]',
      },
    )
    return undefined
  }
  if (raw.length === 0) {
    d.report(
      'schema/invalid-value',
      `an empty "${String(path[path.length - 1])}" list matches nothing`,
      path,
    )
    return undefined
  }
  let ok = true
  const out: Selector[] = []
  for (const [i, item] of raw.entries()) {
    const s = parseSelector(d, item, [...path, i], names)
    if (s) out.push(s)
    else ok = false
  }
  return ok ? out : undefined
}

/**
 * Parses a `ports` list of service strings (`tcp/443`, `tcp/8000-8100`, `udp/53`, `icmp/8`,
 * `any`) with `parseService`, reporting its codes at the item. A bare number is
 * `policy/bad-service` (the protocol is not guessed). An empty list is `schema/invalid-value`.
 */
export function parseServiceList(d: YamlDoc, raw: unknown, path: YamlPath): Service[] | undefined {
  if (!Array.isArray(raw)) {
    d.report('schema/invalid-value', '"ports" must be a list of services', path, {
      hint: 'write e.g. [tcp/443, udp/53] or [any]',
    })
    return undefined
  }
  if (raw.length === 0) {
    d.report('schema/invalid-value', 'an empty "ports" list matches nothing', path)
    return undefined
  }
  let ok = true
  const out: Service[] = []
  for (const [i, item] of raw.entries()) {
    const at = [...path, i]
    if (typeof item === 'number') {
      d.report('policy/bad-service', `${item} names no protocol`, at, {
        hint: `write tcp/${item} or udp/${item}`,
      })
      ok = false
      continue
    }
    if (typeof item !== 'string') {
      d.report('policy/bad-service', 'a service is text such as tcp/443', at)
      ok = false
      continue
    }
    const s = parseService(item)
    if ('error' in s) {
      d.report(s.code, s.error, at)
      ok = false
      continue
    }
    out.push(s)
  }
  return ok ? out : undefined
}

/**
 * Semantics rule 2 (DESIGN.md): at least one side of a rule consists only of scoped selectors
 * (label or workload selectors without `scope: global`).
 */
export function hasScopedSide(from: readonly Selector[], to: readonly Selector[]): boolean {
  return from.every(isScoped) || to.every(isScoped)
}

/**
 * True when a raw `from` or `to` list certainly holds a selector that is not scoped, though the
 * list did not parse: `any`, a mapping of only `any`, only `cidr`/`except` or only `external`
 * (its error is in a value: a bad CIDR, an `except` outside the block, an unknown external), or
 * a label or workload selector with `scope: global`. Lets {@link hasScopedSide}'s error
 * (`policy/no-scoped-side`) be reported with the selector's own, as every problem is reported at
 * once; a mapping that mixes kinds says nothing (what was meant is unknown).
 */
export function rawSideUnscoped(raw: unknown): boolean {
  if (raw === 'any') return true
  if (!Array.isArray(raw)) return false
  const ADDRESS_KEYS: readonly (readonly string[])[] = [['any'], ['cidr', 'except'], ['external']]
  return raw.some((item) => {
    if (item === 'any') return true
    if (!isMapping(item)) return false
    const keys = Object.keys(item)
    if (keys.length === 0) return false
    if (
      ADDRESS_KEYS.some(
        (kind) =>
          kind[0] !== undefined && keys.includes(kind[0]) && keys.every((k) => kind.includes(k)),
      )
    )
      return true
    const special = ['any', 'cidr', 'except', 'external'].some((k) => keys.includes(k))
    return !special && item['scope'] === 'global'
  })
}

/**
 * True when a label or workload selector matches at least one workload, with `scope` ANDed in
 * unless the selector is global. Other selector kinds are not checked (returns true).
 * @param workloads - the inventory's workloads, or a {@link SelectorMembers} of them (same
 *   answer, found through its label and name index instead of by scanning every workload).
 */
export function selectorMatchesSomeWorkload(
  sel: Selector,
  scope: LabelSet,
  workloads: readonly Workload[] | SelectorMembers,
): boolean {
  if (sel.kind !== 'labels' && sel.kind !== 'workload') return true
  if (workloads instanceof SelectorMembers) return workloads.matchesAny(sel, scope)
  if (sel.kind === 'labels')
    return workloads.some(
      (w) =>
        labelsMatch(sel.match, w.labels) &&
        sel.expressions.every((e) => expressionMatches(e, w.labels)) &&
        (sel.global || labelsMatch(scope, w.labels)),
    )
  return workloads.some((w) => w.name === sel.name && (sel.global || labelsMatch(scope, w.labels)))
}

/**
 * Warnings for one selector against the resolved inventory: `policy/unknown-label-key` for each
 * key no workload carries, and `policy/selector-matches-nothing` when a label or workload selector
 * (ANDed with `scope` unless global) matches no workload, or when a CIDR selector's `except`
 * blocks cover its whole block (it matches no address at all). A CIDR selector is not otherwise
 * checked against workloads (CIDRs usually name outside ranges), nor are external and `any` ones.
 */
export function selectorWarnings(
  sel: Selector,
  scope: LabelSet,
  workloads: readonly Workload[] | SelectorMembers,
  knownKeys: ReadonlySet<string>,
): Diagnostic[] {
  const out: Diagnostic[] = []
  const where = sel.location
  if (sel.kind === 'labels') {
    const keys = new Set([...Object.keys(sel.match), ...sel.expressions.map((e) => e.key)])
    for (const key of keys) {
      if (!knownKeys.has(key)) {
        out.push(
          diagnostic(
            'policy/unknown-label-key',
            `no workload carries the label key "${key}"`,
            where,
            { severity: 'warning' },
          ),
        )
      }
    }
  }
  if (sel.kind === 'cidr' && addressesLeft(sel.cidr, sel.except).length === 0) {
    out.push(
      diagnostic(
        'policy/selector-matches-nothing',
        `cidr ${sel.cidr.text}: its except blocks cover the whole block, so it matches no address`,
        where,
        { severity: 'warning', hint: 'remove the selector, or the except blocks that cover it' },
      ),
    )
  }
  if (!selectorMatchesSomeWorkload(sel, scope, workloads)) {
    const scoped =
      (sel.kind === 'labels' || sel.kind === 'workload') &&
      !sel.global &&
      Object.keys(scope).length > 0
    out.push(
      diagnostic(
        'policy/selector-matches-nothing',
        `selector matches no workload${scoped ? ' inside the policy scope' : ''}`,
        where,
        {
          severity: 'warning',
        },
      ),
    )
  }
  return out
}
