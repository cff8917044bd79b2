/**
 * @module Loading: already-read inventory and policy files → Inventory and PolicySet, with every
 * problem reported at once as a located diagnostic and nothing half-loaded.
 * @remarks Semantics: DESIGN.md "Policy language v1" and "Workspace, inventory and enforcement
 * files"; STYLE.md "Errors".
 */
import * as z from 'zod'
import {
  cidrContains,
  diagnostic,
  formatLocationFrom,
  hasErrors,
  isScoped,
  labelSet,
  parseIp,
  replacementWarning,
  SelectorMembers,
  sortDiagnostics,
  type Diagnostic,
  type EnforcementEntry,
  type EnforcementMode,
  type Inventory,
  type LabelSet,
  type Policy,
  type PolicySet,
  type Rule,
  type Selector,
  type SourceLocation,
  type Workload,
  type Workspace,
} from '../core/index.js'
import { applyLabelRules } from '../inventory/label-rules.js'
import {
  checkInventory,
  emptyInventoryParts,
  NAME_TEXT,
  NAME_TEXT_RULE,
  readInventoryDocument,
  readLabelRulesDocument,
} from '../inventory/sources/yaml.js'
import { SourceCollector } from '../inventory/sources/merge.js'
import {
  hasScopedSide,
  parseExpires,
  rawSideUnscoped,
  parseSelector,
  parseSelectorList,
  parseServiceList,
  selectorWarnings,
  type SelectorNames,
} from './validate.js'
import {
  checkHeader,
  KNOWN_KINDS,
  parseLabelMap,
  parseYamlFile,
  type SourceFile,
  type YamlDoc,
  type YamlPath,
} from '../core/yaml-source.js'

export type { SourceFile } from '../core/yaml-source.js'

/** What a load gives: the model and every diagnostic. */
export interface LoadResult {
  readonly workspace: Workspace
  readonly inventory: Inventory
  readonly policySet: PolicySet
  /** every problem, sorted; when hasErrors(diagnostics), inventory and policySet are empty and must not be used */
  readonly diagnostics: readonly Diagnostic[]
}

/** The inventory with nothing in it. */
export const EMPTY_INVENTORY: Inventory = Object.freeze({
  workloads: [],
  externals: [],
  labelRules: [],
})
/** The policy set with nothing in it. */
export const EMPTY_POLICY_SET: PolicySet = Object.freeze({ policies: [], enforcement: [] })

const POLICY_DOC = z.strictObject({
  apiVersion: z.string(),
  kind: z.literal('Policy'),
  metadata: z.strictObject({
    name: z.string().min(1),
    owner: z.string().min(1),
    description: z.string().optional(),
  }),
  scope: z.unknown().optional(),
  rules: z.array(z.unknown()).optional(),
})

const RULE = z.strictObject({
  id: z.string().min(1),
  action: z.enum(['allow', 'deny']).optional(),
  from: z.unknown(),
  to: z.unknown(),
  ports: z.unknown(),
  reason: z.string().optional(),
  owner: z.string().min(1).optional(),
  evidence: z.record(z.string(), z.unknown()).optional(),
  expires: z.unknown().optional(),
  emergency: z.boolean().optional(),
})

const ENFORCEMENT_DOC = z.strictObject({
  apiVersion: z.string(),
  kind: z.literal('Enforcement'),
  modes: z.array(z.unknown()),
})

const ENFORCEMENT_ENTRY = z.strictObject({ selector: z.unknown(), mode: z.unknown() })

const MODES: readonly EnforcementMode[] = ['observe', 'monitor', 'enforce']

/**
 * What policy parsing needs from the inventory. `knownKeys` is undefined when the inventory has
 * errors: the label-key and matches-nothing warnings judge a selector against every workload,
 * so a workload or document the inventory lost would make them fire for selectors that are
 * right (one broken line gave a warning for every selector), and the load fails on the
 * inventory's errors anyway. Names are still checked: a name error points at one selector.
 */
interface PolicyContext {
  readonly names: SelectorNames
  readonly workloads: readonly Workload[]
  /** The same workloads by label and name, for the selector warnings. */
  readonly members: SelectorMembers
  readonly knownKeys: ReadonlySet<string> | undefined
  readonly now: number
  readonly sink: Diagnostic[]
}

function byPath(files: readonly SourceFile[]): SourceFile[] {
  return [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

function field(raw: unknown, key: string): unknown {
  return raw !== null && typeof raw === 'object' && !Array.isArray(raw)
    ? (raw as Record<string, unknown>)[key]
    : undefined
}

/**
 * Parses and validates already-read files. Pure: no I/O, no clock.
 *
 * Inventory files hold `Inventory` and `LabelRules` documents; policy files hold `Policy` and
 * `Enforcement` documents. Inventory files are taken in the order given (loadWorkspace: the
 * paths in the order bulkhead.yaml lists them, each folder's files by path), so LabelRules of an
 * earlier file come first; policy files in path order. Label rules are applied to every
 * workload before policies are checked, so selectors see resolved labels.
 *
 * @param workspace - returned as is.
 * @param now - decides nothing about validity; only rules already expired at `now` get the
 * `policy/expired-rule` warning.
 * @param options.inventoryUnread - some inventory file or folder could not be read (the caller
 * reports why): the policy is not judged against the inventory's names and labels (no
 * unknown-workload/-external errors, no label-key or matches-nothing warnings), which would
 * only echo what is missing.
 * @returns the model and every diagnostic, sorted by file, line, column and code. When any is an
 * error, `inventory` and `policySet` are empty. Never throws on bad input.
 */
export function loadFromSources(
  workspace: Workspace,
  inventoryFiles: readonly SourceFile[],
  policyFiles: readonly SourceFile[],
  now: Date,
  options: { readonly inventoryUnread?: boolean } = {},
): LoadResult {
  const sink: Diagnostic[] = []
  for (const file of [...inventoryFiles, ...policyFiles]) {
    const bad = replacementWarning(file)
    if (bad !== undefined) sink.push(bad)
  }
  const parts = emptyInventoryParts()
  // CSV, Kubernetes and AWS inventory sources; .json files are parsed as YAML (JSON ⊂ YAML 1.2)
  const others = new SourceCollector(KNOWN_KINDS)
  for (const file of inventoryFiles) {
    if (others.readFile(file, sink)) continue
    for (const d of parseYamlFile(file, sink)) {
      if (others.readDocument(d)) continue
      const kind = checkHeader(d, ['Inventory', 'LabelRules'])
      if (kind === 'Inventory') readInventoryDocument(d, parts)
      else if (kind === 'LabelRules') readLabelRulesDocument(d, parts)
    }
  }
  sink.push(...checkInventory(parts))
  const workloads = applyLabelRules(others.finish(parts.workloads, sink), parts.labelRules)
  // names from the other sources (CSV, Kubernetes, AWS/GCP/Azure) as the YAML ones are checked
  for (const x of [...workloads, ...parts.externals]) {
    if (NAME_TEXT.test(x.name) || x.location === undefined) continue
    sink.push(
      diagnostic(
        'schema/invalid-value',
        `${JSON.stringify(x.name)}: ${NAME_TEXT_RULE}`,
        x.location,
      ),
    )
  }
  const inventory: Inventory = {
    workloads,
    externals: parts.externals,
    labelRules: parts.labelRules,
  }
  const ctx: PolicyContext = {
    names: {
      workloads: new Set(workloads.map((w) => w.name)),
      externals: new Set(parts.externals.map((e) => e.name)),
      complete: options.inventoryUnread !== true,
    },
    workloads,
    members: new SelectorMembers(workloads),
    knownKeys:
      hasErrors(sink) || options.inventoryUnread === true
        ? undefined
        : new Set(workloads.flatMap((w) => Object.keys(w.labels))),
    now: now.getTime(),
    sink,
  }

  const policies: { policy: Policy; nameLocation: SourceLocation }[] = []
  const enforcement: EnforcementEntry[] = []
  for (const file of byPath(policyFiles)) {
    // DESIGN.md: one file, one policy (reviews and CODEOWNERS follow files): a second policy of a
    // file is loaded, and warned about
    let firstOfFile: SourceLocation | undefined
    for (const d of parseYamlFile(file, sink)) {
      const kind = checkHeader(d, ['Policy', 'Enforcement'])
      if (kind === 'Policy') {
        const p = readPolicy(d, ctx)
        if (p) policies.push(p)
        const at = d.loc([])
        if (firstOfFile === undefined) firstOfFile = at
        else
          sink.push(
            diagnostic(
              'policy/several-policies-in-file',
              'this file already holds a policy: one file, one policy',
              at,
              {
                severity: 'warning',
                related: [firstOfFile],
                hint: `the first is at ${formatLocationFrom(firstOfFile, at)}; move this one to a file of its own, so that reviews and code owners follow one policy`,
              },
            ),
          )
      } else if (kind === 'Enforcement') enforcement.push(...readEnforcement(d, ctx))
    }
  }
  const firstByName = new Map<string, SourceLocation>()
  for (const { policy, nameLocation } of policies) {
    const first = firstByName.get(policy.name)
    if (first) {
      sink.push(
        diagnostic(
          'policy/duplicate-policy-name',
          `policy name "${policy.name}" is already used`,
          nameLocation,
          {
            related: [first],
            hint: `first used at ${formatLocationFrom(first, nameLocation)}; give each policy its own metadata.name`,
          },
        ),
      )
    } else firstByName.set(policy.name, nameLocation)
  }

  const diagnostics = sortDiagnostics(sink)
  if (hasErrors(diagnostics)) {
    return { workspace, inventory: EMPTY_INVENTORY, policySet: EMPTY_POLICY_SET, diagnostics }
  }
  const sorted = policies
    .map((p) => p.policy)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return { workspace, inventory, policySet: { policies: sorted, enforcement }, diagnostics }
}

function readPolicy(
  d: YamlDoc,
  ctx: PolicyContext,
): { policy: Policy; nameLocation: SourceLocation } | undefined {
  const doc = d.check(POLICY_DOC, d.value, [])
  const raw = d.value as Record<string, unknown>
  const rawScope = raw['scope']
  const scope = parseLabelMap(d, rawScope, ['scope'])
  const knownKeys = ctx.knownKeys
  if (scope && knownKeys) {
    for (const key of Object.keys(scope)) {
      if (!knownKeys.has(key)) {
        ctx.sink.push(
          diagnostic(
            'policy/unknown-label-key',
            `no workload carries the label key "${key}"`,
            d.loc(['scope', key], 'key'),
            {
              severity: 'warning',
            },
          ),
        )
      }
    }
  }
  const rawRules = field(raw, 'rules')
  const rules: Rule[] = []
  let ok = true
  const firstById = new Map<string, SourceLocation>()
  if (Array.isArray(rawRules)) {
    for (const [i, item] of rawRules.entries()) {
      const rule = readRule(d, item, ['rules', i], scope, ctx, firstById)
      if (rule) rules.push(rule)
      else ok = false
    }
  }
  if (!doc || !scope || !ok) return undefined
  const policy: Policy = {
    name: doc.metadata.name,
    owner: doc.metadata.owner,
    ...(doc.metadata.description !== undefined ? { description: doc.metadata.description } : {}),
    scope,
    rules,
    file: d.file,
    location: d.loc([]),
  }
  return { policy, nameLocation: d.loc(['metadata', 'name']) }
}

function readRule(
  d: YamlDoc,
  raw: unknown,
  path: YamlPath,
  scope: LabelSet | undefined,
  ctx: PolicyContext,
  firstById: Map<string, SourceLocation>,
): Rule | undefined {
  const r = d.check(RULE, raw, path)
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined
  const o = raw as Record<string, unknown>
  let ok = r !== undefined

  const id = o['id']
  if (typeof id === 'string' && id !== '') {
    const first = firstById.get(id)
    if (first) {
      d.report(
        'policy/duplicate-rule-id',
        `rule id "${id}" is already used in this policy`,
        [...path, 'id'],
        {
          related: [first],
          hint: `first used at ${formatLocationFrom(first, first)}; give each rule of a policy its own id`,
        },
      )
      ok = false
    } else firstById.set(id, d.loc([...path, 'id']))
  }

  const from =
    o['from'] === undefined
      ? undefined
      : parseSelectorList(d, o['from'], [...path, 'from'], ctx.names)
  const to =
    o['to'] === undefined ? undefined : parseSelectorList(d, o['to'], [...path, 'to'], ctx.names)
  const services =
    o['ports'] === undefined ? undefined : parseServiceList(d, o['ports'], [...path, 'ports'])
  if (!from || !to || !services) ok = false
  // Both sides unscoped, judged on the raw list where a side did not parse (its selector error
  // is reported too): every problem at once, not this one after the user fixed that one.
  const unscoped = (parsed: Selector[] | undefined, rawSide: unknown): boolean =>
    parsed ? !parsed.every(isScoped) : rawSideUnscoped(rawSide)
  if (
    o['from'] !== undefined &&
    o['to'] !== undefined &&
    (from && to ? !hasScopedSide(from, to) : unscoped(from, o['from']) && unscoped(to, o['to']))
  ) {
    d.report(
      'policy/no-scoped-side',
      'neither "from" nor "to" consists only of scoped selectors',
      path,
      {
        hint: 'a policy speaks only about traffic into or out of its scope: use label or workload selectors without scope: global on one side',
      },
    )
    ok = false
  }
  const knownKeys = ctx.knownKeys
  if (scope && knownKeys) {
    for (const sel of [...(from ?? []), ...(to ?? [])])
      ctx.sink.push(...selectorWarnings(sel, scope, ctx.members, knownKeys))
  }

  let expires: number | undefined
  if (o['expires'] !== undefined) {
    expires = parseExpires(o['expires'])
    if (expires === undefined) {
      d.report(
        'policy/bad-expires',
        `${JSON.stringify(o['expires'])} is not a date`,
        [...path, 'expires'],
        {
          hint: 'write YYYY-MM-DD (valid through that UTC day) or an ISO-8601 date-time with a zone',
        },
      )
      ok = false
    } else if (expires <= ctx.now) {
      d.report(
        'policy/expired-rule',
        `rule "${String(id)}" expired on ${new Date(expires).toISOString()} and is treated as absent`,
        [...path, 'expires'],
        {
          severity: 'warning',
        },
      )
    }
  }
  if (o['emergency'] === true && o['expires'] === undefined) {
    d.report('policy/emergency-without-expires', 'an emergency rule must have "expires"', [
      ...path,
      'emergency',
    ])
    ok = false
  }
  if (!ok || !r || !from || !to || !services) return undefined
  return {
    id: r.id,
    action: r.action ?? 'allow',
    from,
    to,
    services,
    ...(r.owner !== undefined ? { owner: r.owner } : {}),
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
    ...(r.evidence !== undefined ? { evidence: r.evidence } : {}),
    ...(expires !== undefined ? { expires } : {}),
    emergency: r.emergency ?? false,
    location: d.loc(path),
  }
}

/**
 * Why an Enforcement entry's `external` or `cidr` selector can give no workload its mode, or
 * undefined when it can (other kinds are judged by {@link selectorWarnings}). An entry decides the
 * mode of a workload only (unmanaged addresses are always `observe`), so an `external` selector
 * never applies, and a `cidr` one only to a workload holding an address in the block at some time
 * and not in an `except` block. Without the warning such an entry was silently without effect.
 */
function enforcementSelectsNoWorkload(
  selector: Selector,
  workloads: readonly Workload[],
): string | undefined {
  if (selector.kind === 'external')
    return `an Enforcement entry sets the mode of workloads, and external "${selector.name}" is unmanaged addresses, which are always observe: this entry matches no workload (select the workloads by labels, workload or cidr)`
  if (selector.kind !== 'cidr') return undefined
  const inBlock = (text: string): boolean => {
    const ip = parseIp(text)
    return (
      ip !== undefined &&
      cidrContains(selector.cidr, ip) &&
      !selector.except.some((x) => cidrContains(x, ip))
    )
  }
  return workloads.some((w) => w.addresses.some((a) => inBlock(a.ip)))
    ? undefined
    : 'selector matches no workload: no workload holds an address in this block at any time'
}

function readEnforcement(d: YamlDoc, ctx: PolicyContext): EnforcementEntry[] {
  const doc = d.check(ENFORCEMENT_DOC, d.value, [])
  const rawModes = doc?.modes ?? field(d.value, 'modes')
  const out: EnforcementEntry[] = []
  if (!Array.isArray(rawModes)) return out
  rawModes.forEach((item, i) => {
    const path = ['modes', i]
    const e = d.check(ENFORCEMENT_ENTRY, item, path)
    const rawSelector = field(item, 'selector')
    const selector =
      rawSelector === undefined
        ? undefined
        : parseSelector(d, rawSelector, [...path, 'selector'], ctx.names)
    if (selector && ctx.knownKeys) {
      ctx.sink.push(...selectorWarnings(selector, labelSet(), ctx.members, ctx.knownKeys))
      const nothing = enforcementSelectsNoWorkload(selector, ctx.workloads)
      if (nothing !== undefined)
        ctx.sink.push(
          diagnostic('policy/selector-matches-nothing', nothing, selector.location, {
            severity: 'warning',
          }),
        )
    }
    const mode = field(item, 'mode')
    const modeOk =
      mode === undefined ||
      (typeof mode === 'string' && (MODES as readonly string[]).includes(mode))
    if (!modeOk) {
      d.report(
        'policy/bad-enforcement',
        `${JSON.stringify(mode)} is not an enforcement mode`,
        [...path, 'mode'],
        {
          hint: 'use observe, monitor or enforce',
        },
      )
    }
    if (!e || !selector || !modeOk || mode === undefined) return
    out.push({ selector, mode: mode as EnforcementMode, location: d.loc(path) })
  })
  return out
}
