/**
 * @module Inventory from YAML: `kind: Inventory` (workloads with timed addresses, named
 * externals) and `kind: LabelRules` documents, checked field by field with located diagnostics,
 * plus the cross-file checks (duplicate workload, duplicate external, an address held by two
 * workloads at overlapping times).
 * @remarks Format: DESIGN.md "Workspace, inventory and enforcement files".
 */
import * as z from 'zod'
import {
  diagnostic,
  formatLocationFrom,
  normalizeIp,
  parseCidr,
  type Cidr,
  type Diagnostic,
  type External,
  type LabelRule,
  type LabelRuleMatch,
  type SourceLocation,
  type TimedAddress,
  type Workload,
} from '../../core/index.js'
import {
  parseLabelMap,
  parseTimestamp,
  type YamlDoc,
  type YamlPath,
} from '../../core/yaml-source.js'

/** Inventory entries collected from every inventory document, before label rules are applied. */
export interface InventoryParts {
  /** Workloads with their explicit labels only, in file order. */
  readonly workloads: Workload[]
  readonly externals: External[]
  /** Label rules in file order (files sorted by path, documents and entries in order). */
  readonly labelRules: LabelRule[]
}

/** An empty {@link InventoryParts} to collect into. */
export function emptyInventoryParts(): InventoryParts {
  return { workloads: [], externals: [], labelRules: [] }
}

const INVENTORY_DOC = z.strictObject({
  apiVersion: z.string(),
  kind: z.literal('Inventory'),
  workloads: z.array(z.unknown()).optional(),
  externals: z.array(z.unknown()).optional(),
})

/**
 * The text a workload or external name may be, from any inventory source: no control character
 * (C0, DEL, C1), no line or paragraph separator, no bidirectional override or isolate.
 */
// eslint-disable-next-line no-control-regex -- control characters are what is refused
export const NAME_TEXT = /^[^\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]*$/
/** What {@link NAME_TEXT} refuses, as a message says it. */
export const NAME_TEXT_RULE =
  'a name holds no control character (tab, line break, NUL) nor a bidirectional override'

/**
 * A workload or external name: text without control characters (C0, DEL and C1, which holds the
 * line break NEL), line or paragraph separators, or bidirectional overrides and isolates (a NUL
 * or a line break in a name went raw to the terminal and into nftables comments, and an override
 * makes a name print as another; `inventory` lists cannot show them).
 */
const NAME = z.string().min(1).regex(NAME_TEXT, NAME_TEXT_RULE)

const WORKLOAD = z.strictObject({
  name: NAME,
  addresses: z.array(z.unknown()),
  labels: z.unknown().optional(),
})

const TIMED_ADDRESS = z.strictObject({
  ip: z.unknown(),
  from: z.string().optional(),
  to: z.string().optional(),
})

const EXTERNAL = z.strictObject({
  name: NAME,
  cidr: z.unknown(),
  labels: z.unknown().optional(),
})

const LABEL_RULES_DOC = z.strictObject({
  apiVersion: z.string(),
  kind: z.literal('LabelRules'),
  rules: z.array(z.unknown()),
})

const LABEL_RULE = z.strictObject({
  match: z.strictObject({
    cidr: z.unknown().optional(),
    name: z.string().min(1).optional(),
    labels: z.unknown().optional(),
    tag: z.unknown().optional(),
  }),
  labels: z.unknown(),
})

/** AWS limits: a tag key has 1–128 characters, a value 0–256 (Using_Tags.html, "Tag restrictions"). */
const TAG_KEY_MAX = 128
const TAG_VALUE_MAX = 256

/**
 * Checks a `match.tag` mapping (`{ Key: Value }`, raw cloud tags) at `path`. Errors, all
 * `inventory/bad-label-rule`: not a mapping or empty (at the value); an empty key or one over 128
 * characters (at the key); a value that is not text (a YAML number, boolean or null: its text
 * could differ from the tag's, so it must be quoted) or over 256 characters (at the value).
 * @returns the pairs, or undefined when any is bad.
 * @remarks Keys and values are compared as written (case-sensitive); the value `*` matches any
 * value ({@link LabelRuleMatch.tag}).
 */
function readTagMatch(
  d: YamlDoc,
  raw: unknown,
  path: YamlPath,
): Readonly<Record<string, string>> | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    d.report('inventory/bad-label-rule', 'match.tag must be a mapping of tag key: value', path, {
      hint: 'e.g. tag: { Team: payments, Backup: "*" }',
    })
    return undefined
  }
  const entries = Object.entries(raw as Record<string, unknown>)
  if (entries.length === 0) {
    d.report('inventory/bad-label-rule', 'match.tag must name at least one tag', path)
    return undefined
  }
  const out: Record<string, string> = {}
  let ok = true
  for (const [key, value] of entries) {
    if (key === '' || key.length > TAG_KEY_MAX) {
      d.report(
        'inventory/bad-label-rule',
        `a tag key must have 1–${TAG_KEY_MAX} characters`,
        [...path, key],
        { target: 'key' },
      )
      ok = false
      continue
    }
    if (typeof value !== 'string') {
      d.report(
        'inventory/bad-label-rule',
        `tag "${key}" must have a text value, not ${value === null ? 'nothing' : typeof value}`,
        [...path, key],
        { hint: 'quote the value, e.g. "0042"; "*" matches any value' },
      )
      ok = false
      continue
    }
    if (value.length > TAG_VALUE_MAX) {
      d.report(
        'inventory/bad-label-rule',
        `the value of tag "${key}" is longer than ${TAG_VALUE_MAX} characters`,
        [...path, key],
      )
      ok = false
      continue
    }
    out[key] = value
  }
  return ok ? out : undefined
}

/**
 * Reads one `kind: Inventory` document into `parts`. Workload labels are the explicit ones
 * (`labelOrigins` all `explicit`); addresses are canonicalised with `normalizeIp`; `from`/`to`
 * are ISO-8601 (a date alone is UTC midnight) and give a half-open interval `[from, to)`.
 * Errors: `schema/*`, `inventory/bad-address`, `inventory/bad-time-interval`,
 * `inventory/bad-label`. Entries with errors are left out.
 */
export function readInventoryDocument(d: YamlDoc, parts: InventoryParts): void {
  const doc = d.check(INVENTORY_DOC, d.value, [])
  const raw = d.value as Record<string, unknown>
  const workloads = doc?.workloads ?? (Array.isArray(raw['workloads']) ? raw['workloads'] : [])
  const externals = doc?.externals ?? (Array.isArray(raw['externals']) ? raw['externals'] : [])
  workloads.forEach((item, i) => {
    const w = readWorkload(d, item, ['workloads', i])
    if (w) parts.workloads.push(w)
  })
  externals.forEach((item, i) => {
    const e = readExternal(d, item, ['externals', i])
    if (e) parts.externals.push(e)
  })
}

function field(raw: unknown, key: string): unknown {
  return raw !== null && typeof raw === 'object' && !Array.isArray(raw)
    ? (raw as Record<string, unknown>)[key]
    : undefined
}

function readWorkload(d: YamlDoc, raw: unknown, path: YamlPath): Workload | undefined {
  const w = d.check(WORKLOAD, raw, path)
  const labels = parseLabelMap(d, field(raw, 'labels'), [...path, 'labels'])
  const rawAddresses = field(raw, 'addresses')
  const addresses: TimedAddress[] = []
  let ok = true
  if (Array.isArray(rawAddresses)) {
    for (const [i, a] of rawAddresses.entries()) {
      const t = readAddress(d, a, [...path, 'addresses', i])
      if (t) addresses.push(t)
      else ok = false
    }
  }
  if (!w || !labels || !ok) return undefined
  const labelOrigins = Object.fromEntries(Object.keys(labels).map((k) => [k, 'explicit' as const]))
  return { name: w.name, addresses, labels, labelOrigins, location: d.loc(path) }
}

function readAddress(d: YamlDoc, raw: unknown, path: YamlPath): TimedAddress | undefined {
  const location = d.loc(path)
  if (typeof raw === 'string') {
    const ip = normalizeIp(raw)
    if (ip === undefined) {
      d.report('inventory/bad-address', `"${raw}" is not an IPv4 or IPv6 address`, path)
      return undefined
    }
    return { ip, location }
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    d.report('inventory/bad-address', 'an address is an IP address, or { ip, from?, to? }', path)
    return undefined
  }
  const a = d.check(TIMED_ADDRESS, raw, path)
  if (!a) return undefined
  const ip = typeof a.ip === 'string' ? normalizeIp(a.ip) : undefined
  let ok = true
  if (ip === undefined) {
    d.report('inventory/bad-address', `${JSON.stringify(a.ip)} is not an IPv4 or IPv6 address`, [
      ...path,
      'ip',
    ])
    ok = false
  }
  const from = readTime(d, a.from, [...path, 'from'])
  const to = readTime(d, a.to, [...path, 'to'])
  if (from === null || to === null) ok = false
  if (typeof from === 'number' && typeof to === 'number' && from >= to) {
    d.report(
      'inventory/bad-time-interval',
      '"from" must be before "to" (the interval is half-open [from, to))',
      path,
    )
    ok = false
  }
  if (!ok || ip === undefined) return undefined
  return {
    ip,
    ...(typeof from === 'number' ? { from } : {}),
    ...(typeof to === 'number' ? { to } : {}),
    location,
  }
}

/** undefined: absent; null: bad (reported); number: ms since the epoch. */
function readTime(d: YamlDoc, raw: string | undefined, path: YamlPath): number | undefined | null {
  if (raw === undefined) return undefined
  const t = parseTimestamp(raw)
  if (!t) {
    d.report(
      'schema/invalid-value',
      `"${raw}" is not an ISO-8601 date or date-time with a zone`,
      path,
      {
        hint: 'write e.g. 2026-10-01T00:00:00Z',
      },
    )
    return null
  }
  return t.ms
}

function readCidr(d: YamlDoc, raw: unknown, path: YamlPath): Cidr | undefined {
  const c =
    typeof raw === 'string'
      ? parseCidr(raw)
      : 'a CIDR block must be written as text, e.g. 198.51.100.0/24'
  if (typeof c === 'string') {
    d.report('inventory/bad-address', c, path)
    return undefined
  }
  return c
}

function readExternal(d: YamlDoc, raw: unknown, path: YamlPath): External | undefined {
  const e = d.check(EXTERNAL, raw, path)
  const labels = parseLabelMap(d, field(raw, 'labels'), [...path, 'labels'])
  const rawCidr = field(raw, 'cidr')
  const cidr = rawCidr === undefined ? undefined : readCidr(d, rawCidr, [...path, 'cidr'])
  if (!e || !labels || !cidr) return undefined
  return { name: e.name, cidr, labels, location: d.loc(path) }
}

/**
 * Reads one `kind: LabelRules` document into `parts.labelRules`. `match.name` must compile as a
 * JavaScript regular expression (`inventory/bad-label-rule` otherwise); `match.cidr` is a CIDR
 * block (`inventory/bad-address`); `match.tag` is a non-empty mapping of raw tag key to text
 * value, `*` for any value (`inventory/bad-label-rule` otherwise, see `readTagMatch`).
 */
export function readLabelRulesDocument(d: YamlDoc, parts: InventoryParts): void {
  const doc = d.check(LABEL_RULES_DOC, d.value, [])
  const raw = d.value as Record<string, unknown>
  const rules = doc?.rules ?? (Array.isArray(raw['rules']) ? raw['rules'] : [])
  rules.forEach((item, i) => {
    const path = ['rules', i]
    const r = d.check(LABEL_RULE, item, path)
    const rawMatch = field(item, 'match')
    const labels = parseLabelMap(d, field(item, 'labels'), [...path, 'labels'])
    const rawCidr = field(rawMatch, 'cidr')
    const cidr =
      rawCidr === undefined ? undefined : readCidr(d, rawCidr, [...path, 'match', 'cidr'])
    const rawLabels = field(rawMatch, 'labels')
    const matchLabels =
      rawLabels === undefined
        ? undefined
        : parseLabelMap(d, rawLabels, [...path, 'match', 'labels'])
    const rawTag = field(rawMatch, 'tag')
    const tag =
      rawTag === undefined ? undefined : readTagMatch(d, rawTag, [...path, 'match', 'tag'])
    const name = field(rawMatch, 'name')
    let nameOk = true
    if (typeof name === 'string') {
      try {
        new RegExp(name)
      } catch (err) {
        d.report(
          'inventory/bad-label-rule',
          `"${name}" is not a valid regular expression: ${(err as Error).message}`,
          [...path, 'match', 'name'],
        )
        nameOk = false
      }
    }
    if (
      !r ||
      !labels ||
      !nameOk ||
      (rawCidr !== undefined && !cidr) ||
      (rawLabels !== undefined && !matchLabels) ||
      (rawTag !== undefined && !tag)
    )
      return
    const match: LabelRuleMatch = {
      ...(cidr ? { cidr } : {}),
      ...(r.match.name !== undefined ? { name: r.match.name } : {}),
      ...(matchLabels ? { labels: matchLabels } : {}),
      ...(tag ? { tag } : {}),
    }
    parts.labelRules.push({ match, labels, location: d.loc(path) })
  })
}

/**
 * `code` at every item whose `name` an earlier item of `items` already has (`related` = the
 * first one), in input order; `what` names the kind of item in the message.
 */
function duplicateNames(
  items: readonly { readonly name: string; readonly location?: SourceLocation | undefined }[],
  code: 'inventory/duplicate-workload' | 'inventory/duplicate-external',
  what: string,
): Diagnostic[] {
  const out: Diagnostic[] = []
  const first = new Map<string, SourceLocation | undefined>()
  for (const item of items) {
    if (!first.has(item.name)) {
      first.set(item.name, item.location)
      continue
    }
    const at = first.get(item.name)
    out.push(
      diagnostic(code, `${what} "${item.name}" is defined twice`, item.location, {
        ...(at ? { related: [at] } : {}),
        hint: `${at ? `first defined at ${formatLocationFrom(at, item.location)}; ` : ''}merge the two, or rename one`,
      }),
    )
  }
  return out
}

/**
 * Cross-file inventory checks: `inventory/duplicate-workload`, `inventory/duplicate-external`
 * (at the second, `related` = the first), and `inventory/duplicate-address` when one address is
 * held by two workloads at overlapping times (half-open intervals; an absent bound is open).
 * The same address on different workloads at disjoint times is IP reuse and fine.
 */
export function checkInventory(parts: InventoryParts): Diagnostic[] {
  const out: Diagnostic[] = [
    ...duplicateNames(parts.workloads, 'inventory/duplicate-workload', 'workload'),
    ...duplicateNames(parts.externals, 'inventory/duplicate-external', 'external'),
  ]
  const byIp = new Map<string, { workload: string; address: TimedAddress }[]>()
  for (const w of parts.workloads) {
    for (const a of w.addresses) {
      const held = byIp.get(a.ip) ?? []
      const clash = held.find((h) => h.workload !== w.name && overlaps(h.address, a))
      if (clash) {
        out.push(
          diagnostic(
            'inventory/duplicate-address',
            `${a.ip} is also held by workload "${clash.workload}" at an overlapping time`,
            a.location,
            {
              ...(clash.address.location ? { related: [clash.address.location] } : {}),
              hint: 'give each address a from/to interval when it was reused',
            },
          ),
        )
      }
      held.push({ workload: w.name, address: a })
      byIp.set(a.ip, held)
    }
  }
  return out
}

function overlaps(a: TimedAddress, b: TimedAddress): boolean {
  const aFrom = a.from ?? -Infinity
  const aTo = a.to ?? Infinity
  const bFrom = b.from ?? -Infinity
  const bTo = b.to ?? Infinity
  return aFrom < bTo && bFrom < aTo
}
