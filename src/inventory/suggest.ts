/**
 * @module Label suggestions: unlabelled workloads whose traffic looks like that of an already
 * labelled role (same peers, protocols and ports) are proposed that role, with the reason and a
 * similarity score; and a renderer of the proposals as a `kind: LabelRules` document to review
 * and commit. Pure: no I/O, no clock.
 * @remarks Semantics: issue 4 item 5 ("label suggestions"); DESIGN.md "label", "workload",
 * "dependency map"; the rendered rules follow DESIGN.md "Workspace, inventory and enforcement
 * files" (`kind: LabelRules`, `match.name` is an unanchored JavaScript regular expression, so the
 * rules anchor it).
 */
import { Document } from 'yaml'
import { PROTOCOL_NAMES, hasPorts, type Inventory } from '../core/index.js'
import type { DependencyMap, MapEntity } from '../discover/types.js'

/** Options of {@link suggestLabels}. */
export interface SuggestOptions {
  /** The label key that names a role. Default `role`. */
  readonly key?: string
  /**
   * The least similarity (Jaccard index, 0–1) at which a role is proposed. Must be in (0, 1];
   * default {@link DEFAULT_MIN_SCORE}.
   */
  readonly minScore?: number
  /** How many member names the reason text lists before `+N more`. Default 3. */
  readonly maxNamed?: number
}

/** The default {@link SuggestOptions.minScore}. */
export const DEFAULT_MIN_SCORE = 0.6

/** The default {@link SuggestOptions.key}. */
export const DEFAULT_ROLE_KEY = 'role'

/** Another role that also reached the threshold, for the reviewer. */
export interface SuggestionAlternative {
  readonly value: string
  /** Jaccard index of the best-matching member of that role, 0–1. */
  readonly score: number
  readonly shared: number
  readonly total: number
}

/**
 * One proposal: give workload `workload` the label `key=value`. Stable: the JSON shape of
 * `bulkhead inventory suggest-labels -o json`.
 */
export interface LabelSuggestion {
  readonly workload: string
  readonly key: string
  readonly value: string
  /** `shared / total`: the Jaccard index of the two traffic signatures, 0–1 (1 = identical). */
  readonly score: number
  /** Signature features the workload shares with its best-matching member. */
  readonly shared: number
  /**
   * Features in either signature (the size of the union), without those whose peer is an
   * unlabelled workload and that only one side has.
   */
  readonly total: number
  /** The labelled members of the role that match with this same score, sorted by name. */
  readonly members: readonly string[]
  /** E.g. `shares 5 of 6 peers/ports with role=api (api-1, api-2)`. */
  readonly reason: string
  /**
   * Features of the workload that the first member of `members` lacks, and the reverse, as text
   * (`to role=db tcp/5432`, `from internet tcp/443`), sorted; without features whose peer is an
   * unlabelled workload (they do not count against the score).
   */
  readonly onlyWorkload: readonly string[]
  readonly onlyMember: readonly string[]
  /** Other roles with a score ≥ `minScore`, best first (ties: more shared, then by value). */
  readonly alternatives: readonly SuggestionAlternative[]
}

/**
 * One element of a traffic signature; `text` is how it is shown. `unknown`: the peer is a
 * workload without the role key, whose role is not known yet.
 */
interface Feature {
  readonly key: string
  readonly text: string
  readonly unknown: boolean
}

/** Signature sizes: all features, and those whose peer is known (not an unlabelled workload). */
interface Signature {
  readonly features: Map<string, Feature>
  known: number
}

/**
 * The text of a peer in a signature. Workloads carrying the role key are their role
 * (`role=api`), so replicas look alike; other workloads are `workload:<name>`; named externals
 * `external:<name>`; unmanaged ranges by their name (`10.9.3.0/24`, `internet`); `identity`
 * entities (a grouped map) their role when their labels carry it, else `identity:<name>`; the
 * workload itself (an edge from a workload to itself) is `self`.
 */
function peerToken(
  peer: MapEntity,
  self: string,
  key: string,
  roleOf: ReadonlyMap<string, string>,
): string {
  if (peer.id === self) return 'self'
  const role = roleOf.get(peer.id)
  if (role !== undefined) return `${key}=${role}`
  switch (peer.kind) {
    case 'workload':
      return `workload:${peer.name}`
    case 'external':
      return `external:${peer.name}`
    case 'unmanaged':
      return peer.name
    case 'identity':
      return `identity:${peer.name}`
  }
}

function serviceText(protocol: number, port: number): string {
  const name = PROTOCOL_NAMES[protocol] ?? String(protocol)
  return hasPorts(protocol) ? `${name}/${port}` : port === 0 ? name : `${name}/${port}`
}

/**
 * The traffic signature of every entity: the set of (direction, peer, protocol, destination
 * port) of the edges it is an end of. `out` = the entity is the client (edge `src`), `in` = the
 * server (edge `dst`); the port is always the edge's destination port. A self-edge gives both an
 * `out` and an `in` feature with peer `self`.
 */
function signatures(
  map: DependencyMap,
  key: string,
  roleOf: ReadonlyMap<string, string>,
): Map<string, Signature> {
  const byId = new Map(map.entities.map((e) => [e.id, e]))
  const out = new Map<string, Signature>()
  const add = (self: string, dir: 'out' | 'in', peerId: string, protocol: number, port: number) => {
    const peer = byId.get(peerId) ?? {
      id: peerId,
      kind: 'unmanaged' as const,
      name: peerId,
      labels: {},
    }
    const token = peerToken(peer, self, key, roleOf)
    const svc = serviceText(protocol, port)
    const f: Feature = {
      key: `${dir}\u0000${token}\u0000${protocol}\u0000${port}`,
      text: `${dir === 'out' ? 'to' : 'from'} ${token} ${svc}`,
      unknown: token.startsWith('workload:'),
    }
    let sig = out.get(self)
    if (!sig) out.set(self, (sig = { features: new Map(), known: 0 }))
    if (sig.features.has(f.key)) return
    sig.features.set(f.key, f)
    if (!f.unknown) sig.known++
  }
  for (const e of map.edges) {
    add(e.src, 'out', e.dst, e.protocol, e.dstPort)
    add(e.dst, 'in', e.src, e.protocol, e.dstPort)
  }
  return out
}

function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** a/b compared with c/d for non-negative integers, b, d > 0: negative when a/b < c/d. */
function compareFraction(a: number, b: number, c: number, d: number): number {
  return a * d - c * b
}

interface Match {
  readonly member: string
  readonly shared: number
  readonly total: number
}

/**
 * Proposes a role for every unlabelled workload whose traffic looks like a labelled role's.
 *
 * - **Signature**: a workload's traffic signature is the set of (direction in/out, peer,
 *   protocol, destination port) over the edges of `map` it is an end of. A peer that carries the
 *   role key is represented by its role (`role=db`), so talking to `db-1` or to its replica
 *   `db-2` is the same feature; other peers by their identity (see the peer rules in the source).
 *   Flow counts and time patterns are ignored: replicas with different load look alike.
 * - **Labelled / unlabelled**: a workload of `inventory` is labelled when its resolved labels
 *   carry `key` (for peers not in the inventory, the map entity's labels count). Only workload
 *   entities of the map that have at least one edge take part; `map` should be workload-level
 *   (`buildDependencyMap`, not grouped).
 * - **Score**: the Jaccard index |A ∩ B| / |A ∪ B| of the two signatures (plain, unweighted:
 *   every peer/port counts once), except that a feature whose peer is an unlabelled workload
 *   (`workload:<name>`, a peer whose role is not known) counts only when both signatures have
 *   it: on one side only, it is left out of the union too. Such a peer may be a replica of a
 *   role the other side talks to, and every unlabelled peer of a member would otherwise lower
 *   every candidate's score against it. A role's score for a workload is the best over the
 *   role's labelled members, so a workload identical to any one member scores 1 even when the
 *   members differ among themselves.
 * - **Proposal**: the role with the best score (ties: more shared features, then the smaller
 *   value), when that score ≥ `minScore`. Other roles at or over `minScore` are listed as
 *   `alternatives`. A workload sharing nothing with any member gets nothing. The proposals are
 *   one pass: a workload proposed a role does not count as labelled for the others.
 *
 * @param map - the dependency map over the observation window (edges oriented client → server).
 * @param inventory - the loaded inventory (labels already resolved by label rules).
 * @returns proposals sorted by workload name.
 * @throws RangeError when `minScore` is not in (0, 1] or `key` is empty.
 */
export function suggestLabels(
  map: DependencyMap,
  inventory: Inventory,
  options: SuggestOptions = {},
): LabelSuggestion[] {
  const key = options.key ?? DEFAULT_ROLE_KEY
  const minScore = options.minScore ?? DEFAULT_MIN_SCORE
  const maxNamed = options.maxNamed ?? 3
  if (key === '') throw new RangeError('the role key must not be empty')
  if (!(minScore > 0 && minScore <= 1))
    throw new RangeError(`minScore must be in (0, 1], got ${minScore}`)

  const inventoryLabels = new Map(inventory.workloads.map((w) => [w.name, w.labels]))
  const roleOf = new Map<string, string>()
  for (const e of map.entities) {
    const labels = (e.kind === 'workload' ? inventoryLabels.get(e.name) : undefined) ?? e.labels
    const role = labels[key]
    if (role !== undefined) roleOf.set(e.id, role)
  }
  const sigs = signatures(map, key, roleOf)

  // labelled members (by number), and an inverted index feature → members holding it
  const members: { readonly id: string; readonly role: string; readonly known: number }[] = []
  const index = new Map<string, number[]>()
  const candidates: MapEntity[] = []
  for (const e of [...map.entities].sort((a, b) => byText(a.id, b.id))) {
    if (e.kind !== 'workload') continue
    const sig = sigs.get(e.id)
    if (!sig || sig.features.size === 0) continue
    const role = roleOf.get(e.id)
    if (role === undefined) {
      candidates.push(e)
      continue
    }
    const m = members.length
    members.push({ id: e.id, role, known: sig.known })
    for (const f of sig.features.keys()) {
      const list = index.get(f)
      if (list) list.push(m)
      else index.set(f, [m])
    }
  }

  const out: LabelSuggestion[] = []
  // per member: shared features with a known peer, and with an unlabelled-workload peer
  const sharedKnown = new Int32Array(members.length)
  const sharedUnknown = new Int32Array(members.length)
  const touched: number[] = []
  for (const c of candidates) {
    const sig = sigs.get(c.id) as Signature
    touched.length = 0
    for (const f of sig.features.values())
      for (const m of index.get(f.key) ?? []) {
        if (sharedKnown[m] === 0 && sharedUnknown[m] === 0) touched.push(m)
        if (f.unknown) sharedUnknown[m] = (sharedUnknown[m] as number) + 1
        else sharedKnown[m] = (sharedKnown[m] as number) + 1
      }
    // best match per role: highest score, then most shared, then the member name
    const best = new Map<string, Match[]>()
    for (const m of touched) {
      const known = sharedKnown[m] as number
      const unknown = sharedUnknown[m] as number
      sharedKnown[m] = 0
      sharedUnknown[m] = 0
      const member = members[m] as (typeof members)[number]
      const shared = known + unknown
      const total = sig.known + (member.known - known) + unknown
      const list = best.get(member.role)
      const first = list?.[0]
      const cmp = first ? compareFraction(shared, total, first.shared, first.total) : 1
      if (!list || cmp > 0) best.set(member.role, [{ member: member.id, shared, total }])
      else if (cmp === 0) list.push({ member: member.id, shared, total })
    }
    const ranked = [...best.entries()]
      .map(([value, matches]) => {
        matches.sort((a, b) => b.shared - a.shared || byText(a.member, b.member))
        return { value, matches, top: matches[0] as Match }
      })
      .filter((r) => r.top.shared / r.top.total >= minScore)
      .sort(
        (a, b) =>
          compareFraction(b.top.shared, b.top.total, a.top.shared, a.top.total) ||
          b.top.shared - a.top.shared ||
          byText(a.value, b.value),
      )
    const [win, ...rest] = ranked
    if (!win) continue
    const alike = win.matches.map((m) => m.member).sort(byText)
    const named = alike.slice(0, maxNamed).join(', ')
    const more = alike.length > maxNamed ? `, +${alike.length - maxNamed} more` : ''
    const memberSig = (sigs.get(win.top.member) as Signature).features
    out.push({
      workload: c.name,
      key,
      value: win.value,
      score: win.top.shared / win.top.total,
      shared: win.top.shared,
      total: win.top.total,
      members: alike,
      reason: `shares ${win.top.shared} of ${win.top.total} peers/ports with ${key}=${win.value} (${named}${more})`,
      onlyWorkload: [...sig.features.values()]
        .filter((f) => !f.unknown && !memberSig.has(f.key))
        .map((f) => f.text)
        .sort(byText),
      onlyMember: [...memberSig.values()]
        .filter((f) => !f.unknown && !sig.features.has(f.key))
        .map((f) => f.text)
        .sort(byText),
      alternatives: rest.map((r) => ({
        value: r.value,
        score: r.top.shared / r.top.total,
        shared: r.top.shared,
        total: r.top.total,
      })),
    })
  }
  return out.sort((a, b) => byText(a.workload, b.workload))
}

/** Escapes every character that has a meaning in a JavaScript regular expression. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** Options of {@link renderSuggestedLabelRules}. */
export interface RenderRulesOptions {
  /**
   * `workload` (default): one rule per workload, `match: { name: "^<name>$" }`. `role`: one rule
   * per proposed value, `match: { name: "^(?:<a>|<b>)$" }`.
   */
  readonly group?: 'workload' | 'role'
}

function pct(score: number): string {
  return score.toFixed(2)
}

/**
 * Text for a YAML comment: control characters (line feed, carriage return, NUL, …) and the
 * Unicode line separators written as `\n`, `\r`, `\uXXXX`. A workload name may hold any of them;
 * written as is, a line break ends the comment and the rest of the name reads as YAML content.
 */
function commentText(text: string): string {
  return text.replace(/[\p{Cc}\u2028\u2029]/gu, (c) =>
    c === '\n'
      ? '\\n'
      : c === '\r'
        ? '\\r'
        : c === '\t'
          ? '\\t'
          : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}

/**
 * Renders proposals as one `kind: LabelRules` YAML document (`apiVersion: bulkhead.dev/v1`), with
 * each rule's reason and score as a comment above it. Names are regex-escaped and anchored, so a
 * rule matches exactly the named workloads. Loading it (`readLabelRulesDocument`) gives rules
 * that, applied to the inventory, set each workload's `key` to the proposed value (the
 * workloads lack the key, so no explicit label or earlier rule wins over it).
 * @returns YAML text ending in a newline; with no proposals, a document with `rules: []`.
 */
export function renderSuggestedLabelRules(
  suggestions: readonly LabelSuggestion[],
  options: RenderRulesOptions = {},
): string {
  const groups: { names: string[]; key: string; value: string; notes: string[] }[] = []
  if (options.group === 'role') {
    const byRole = new Map<string, (typeof groups)[number]>()
    for (const s of suggestions) {
      const id = `${s.key}\u0000${s.value}`
      let g = byRole.get(id)
      if (!g) byRole.set(id, (g = { names: [], key: s.key, value: s.value, notes: [] }))
      g.names.push(s.workload)
      g.notes.push(` ${commentText(`${s.workload}: ${s.reason}`)}; score ${pct(s.score)}`)
    }
    groups.push(...[...byRole.values()].sort((a, b) => byText(a.value, b.value)))
  } else {
    for (const s of suggestions)
      groups.push({
        names: [s.workload],
        key: s.key,
        value: s.value,
        notes: [` ${commentText(`${s.workload}: ${s.reason}`)}; score ${pct(s.score)}`],
      })
  }
  const doc = new Document({
    apiVersion: 'bulkhead.dev/v1',
    kind: 'LabelRules',
    rules: groups.map((g) => ({
      match: {
        name:
          g.names.length === 1
            ? `^${escapeRegExp(g.names[0] as string)}$`
            : `^(?:${g.names.map(escapeRegExp).join('|')})$`,
      },
      labels: { [g.key]: g.value },
    })),
  })
  doc.commentBefore =
    ' Suggested by `bulkhead inventory suggest-labels`: review each rule, then commit this\n' +
    ' file under an inventory folder. Each rule names its workloads exactly.' +
    (groups.length === 0 ? '\n No suggestions: no unlabelled workload reached the score.' : '')
  const rules = doc.get('rules', true)
  if (rules && typeof rules === 'object' && 'items' in rules) {
    const items = (rules as { items: { commentBefore?: string | null }[] }).items
    groups.forEach((g, i) => {
      const item = items[i]
      if (item) item.commentBefore = g.notes.join('\n')
    })
  }
  return doc.toString({ lineWidth: 0 })
}
