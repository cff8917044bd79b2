/**
 * @module The dependency map: edges between workloads, named externals and unmanaged ranges
 * over an observation window, with their patterns and coverage warnings; `--group-by` and
 * `--top` views of it.
 * @remarks Semantics: DESIGN.md "dependency map", "edge", "identity"; issue 4 items 3–4.
 */
import {
  canonicalTimeZone,
  counted,
  localDay,
  NO_TIME_MS,
  SeenRange,
  UTC_ZONE,
  type Diagnostic,
  type Inventory,
} from '../core/index.js'
import { Resolver } from '../inventory/resolver.js'
import type { FlowStore } from '../store/store.js'
import {
  aggregateEdges,
  EntityRegistry,
  progressPart,
  sourceWindows,
  untimedFlows,
  type OnProgress,
  type RawEdge,
} from './aggregate.js'
import {
  addProfiles,
  calendarOf,
  classifyPattern,
  DAY_MS,
  lastInstant,
  type WindowCalendar,
} from './time-profile.js'
import type { DependencyMap, Edge, MapEntity } from './types.js'

/** What a user expects to see in the window; each needs a minimum window (see {@link COVERAGE}). */
export type Expectation = 'daily' | 'weekly' | 'monthly' | 'quarterly'

/** Options of {@link buildDependencyMap}. */
export interface DiscoverOptions {
  /** ms UTC, half-open [since, until), on flow `start`. */
  readonly since?: number
  readonly until?: number
  /** Resolver option: each unmanaged public address is its own entity (default: `internet`). */
  readonly keepPublicIps?: boolean
  /** Resolver option: prefix to which unmanaged private IPv4 addresses are grouped, default 24. */
  readonly privateGrouping?: number
  /**
   * Patterns the user must expect; a window shorter than needed gives `discover/short-window`.
   * Default `['monthly']`.
   */
  readonly expect?: readonly Expectation[]
  /**
   * The IANA time zone of the calendar views (hour-of-week and day-of-month profiles, active
   * days, the window's days, so the patterns): `Asia/Singapore` puts a 02:00 local backup in
   * the night hours. Default {@link UTC_ZONE}.
   */
  readonly timeZone?: string
  /**
   * Called while the store is queried, about every 150 ms, with the share of the store's work
   * done: a fraction in [0, 1], non-decreasing over the whole build (the source windows, the
   * distinct addresses, then the edge aggregation, weighted by their usual time); never after
   * the build has settled. The resolution of addresses in between reports nothing.
   */
  readonly onProgress?: OnProgress
}

/**
 * The window each expectation needs, in days of span (`end − start`): `daily` ≥ 2 (to see a
 * day repeat), `weekly` ≥ 14 (two of each weekday), `monthly` > 31 (more than a month, so the
 * window holds a month end and the days either side), `quarterly` > 92 (more than a quarter).
 * `strict` means the span must exceed `days`.
 */
export const COVERAGE: Readonly<Record<Expectation, { days: number; strict: boolean }>> = {
  daily: { days: 2, strict: false },
  weekly: { days: 14, strict: false },
  monthly: { days: 31, strict: true },
  quarterly: { days: 92, strict: true },
}

/**
 * The calendar days of `zone` (default UTC) a window (ms since the epoch) touches (≥ 1): from the
 * day of `start` to the day of its last instant (`end − 1 ms`, time-profile {@link lastInstant}),
 * since `end` is the latest flow's end, which is exclusive: a window whose last flow ends at
 * 00:00:00.000 does not touch that day, as that flow is not active on it.
 * @throws RangeError when `zone` is not a time-zone name.
 */
export function windowDays(window: { start: number; end: number }, zone = UTC_ZONE): number {
  return Math.max(1, localDay(lastInstant(window), zone) - localDay(window.start, zone) + 1)
}

/**
 * The {@link WindowCalendar} of a window (ms since the epoch) in `zone` (default UTC): its
 * {@link windowDays} and how many of them are each weekday, which the pattern rules count
 * (`business-hours` the window's Mondays to Fridays, `weekly` the occurrences of a weekday). An
 * absent window (no flows) is one day.
 * @throws RangeError when `zone` is not a time-zone name.
 */
export function windowCalendar(
  window: { start: number; end: number } | undefined,
  zone = UTC_ZONE,
): WindowCalendar {
  if (window === undefined) return calendarOf(0, 1)
  return calendarOf(localDay(window.start, zone), windowDays(window, zone))
}

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ')
}

/**
 * Coverage warnings: one `discover/short-window` (severity `warning`) per expectation the
 * window is too short for ({@link COVERAGE}). None for an empty window. Edge patterns give no
 * warnings of their own: an edge can only be classified from what the window holds, and the
 * window-level warning already says which rhythms cannot have been seen.
 */
export function coverageWarnings(
  window: { start: number; end: number } | undefined,
  expect: readonly Expectation[],
): Diagnostic[] {
  if (window === undefined) return []
  const span = (window.end - window.start) / DAY_MS
  const out: Diagnostic[] = []
  for (const e of [...new Set(expect)]) {
    const need = COVERAGE[e]
    const ok = need.strict ? span > need.days : span >= need.days
    if (ok) continue
    out.push({
      code: 'discover/short-window',
      severity: 'warning',
      message: `the observation window is ${span.toFixed(1)} days (${isoDay(window.start)} to ${isoDay(window.end)} UTC); ${e} patterns need ${need.strict ? 'more than' : 'at least'} ${need.days} days, so ${e} traffic may be missing from the map`,
      hint: `ingest flows over a longer period, or state what you expect with --expect`,
    })
  }
  return out
}

function edgeOrder(a: Edge, b: Edge): number {
  return (
    b.flows - a.flows ||
    (a.src < b.src ? -1 : a.src > b.src ? 1 : 0) ||
    (a.dst < b.dst ? -1 : a.dst > b.dst ? 1 : 0) ||
    a.protocol - b.protocol ||
    a.dstPort - b.dstPort
  )
}

const KIND_ORDER: Record<MapEntity['kind'], number> = {
  workload: 0,
  identity: 1,
  external: 2,
  unmanaged: 3,
}

function entityOrder(a: MapEntity, b: MapEntity): number {
  return KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

function classify(raw: RawEdge, window: WindowCalendar): Edge {
  return {
    src: raw.src,
    dst: raw.dst,
    protocol: raw.protocol,
    dstPort: raw.dstPort,
    flows: raw.flows,
    packets: raw.packets,
    bytes: raw.bytes,
    firstSeen: raw.firstSeen,
    lastSeen: raw.lastSeen,
    activeDays: raw.days.length,
    days: raw.days,
    longestMs: raw.longestMs,
    profile: raw.profile,
    pattern: classifyPattern(raw.profile, raw.days.length, window, {
      days: raw.days,
      longestMs: raw.longestMs,
      flows: raw.flows,
    }),
    unknownDirection: raw.unknownDirection,
    rejected: raw.rejected,
  }
}

/**
 * Builds the workload-level dependency map of the flows in the store selected by
 * `[since, until)`: entities are every inventory workload (with or without flows) and every
 * named external and unmanaged range that is an endpoint of an edge; each endpoint is resolved
 * at the flow's `start` (a reused IP maps to the workload that held it then). The aggregation
 * runs in the store's SQL ({@link aggregateEdges}); the window is the selected flows' span, ending
 * at `until` at the latest (a flow selected by its start may end later), and
 * `diagnostics` holds the coverage warnings ({@link coverageWarnings}, default expectation
 * `monthly`). An empty selection gives `window: undefined`, no edges and no warnings.
 * @throws RangeError for a `privateGrouping` outside 0–32, or a `timeZone` that is not an IANA
 *   zone name.
 */
export async function buildDependencyMap(
  store: FlowStore,
  inventory: Inventory,
  options: DiscoverOptions = {},
): Promise<DependencyMap> {
  const timeZone = canonicalTimeZone(options.timeZone ?? UTC_ZONE)
  if (timeZone === undefined)
    throw new RangeError(`"${options.timeZone ?? ''}" is not an IANA time zone name`)
  const resolver = new Resolver(inventory, {
    ...(options.privateGrouping !== undefined ? { privateGrouping: options.privateGrouping } : {}),
    ...(options.keepPublicIps !== undefined ? { keepPublicIps: options.keepPublicIps } : {}),
  })
  const range = {
    ...(options.since !== undefined ? { since: options.since } : {}),
    ...(options.until !== undefined ? { until: options.until } : {}),
  }
  const registry = new EntityRegistry()
  for (const workload of inventory.workloads) registry.add({ kind: 'workload', workload })
  // the source windows are a quick scan next to the aggregation (0.05–0.18 s of 4–7 s over
  // 1.1 M flows, see EDGE_PROGRESS)
  const first = 0.05
  const sources = await sourceWindows(store, range, progressPart(options.onProgress, 0, first))
  // flows with no real time (NO_TIME_MS) would stretch the window back to 1970-01-01
  const timed = sources.filter((s) => s.flows > (s.untimed ?? 0))
  const untimed = sources.reduce((n, s) => n + (s.untimed ?? 0), 0)
  // a window leaves them out (windowWhere, store): say how many
  const windowed = range.since !== undefined || range.until !== undefined
  const leftOut = windowed ? await untimedFlows(store) : 0
  // a store of untimed flows only still has a map, over the one instant they carry (start 0;
  // discover/untimed-flows says so): no window would read as "no flows"
  const window =
    sources.length === 0
      ? undefined
      : timed.length === 0
        ? { start: NO_TIME_MS, end: NO_TIME_MS }
        : {
            // not Math.min(...): a store of more than about 125 000 files overflows the stack
            start: timed.reduce((m, s) => Math.min(m, s.start), Infinity),
            // a flow selected by its start may end after --until: the window ends there all the
            // same (a long flow would stretch an October window into November, hiding that it
            // holds one month end: discover/short-window)
            end: Math.min(
              timed.reduce((m, s) => Math.max(m, s.end), -Infinity),
              range.until ?? Infinity,
            ),
          }
  const raw =
    sources.length > 0
      ? await aggregateEdges(
          store,
          inventory,
          resolver,
          registry,
          range,
          timeZone,
          progressPart(options.onProgress, first, 1 - first),
        )
      : []
  const calendar = windowCalendar(window, timeZone)
  const edges = raw.map((r) => classify(r, calendar)).sort(edgeOrder)
  const used = new Set<string>()
  for (const e of edges) used.add(e.src).add(e.dst)
  const entities = registry
    .all()
    .filter((m) => m.kind === 'workload' || used.has(m.id))
    .sort(entityOrder)
  return {
    window,
    entities,
    edges,
    sources,
    diagnostics: [
      ...(untimed > 0 ? [untimedWarning(untimed)] : []),
      ...(leftOut > 0 ? [untimedLeftOutWarning(leftOut)] : []),
      ...coverageWarnings(window, options.expect ?? ['monthly']),
    ],
    ...(untimed > 0 ? { untimed } : {}),
    ...(timeZone !== UTC_ZONE ? { timeZone } : {}),
  }
}

/** The identity name of labels under `keys`: the values joined by `/`, `-` for a missing key. */
function identityName(labels: Readonly<Record<string, string>>, keys: readonly string[]): string {
  return keys.map((k) => labels[k] ?? '-').join('/')
}

/** The figures of an {@link Edge}: everything but its ends and service. */
export type EdgeFigures = Omit<Edge, 'src' | 'dst' | 'protocol' | 'dstPort'>

/**
 * The figures of several edges taken as one traffic (one identity pair of `--group-by`, one
 * proposed rule): counters summed, first/last seen widened, profiles added, active days united
 * (from `days`; without them the largest `activeDays`), the longest flow the longest of theirs,
 * and the pattern classified again over the window
 * (its {@link WindowCalendar}, or its number of days: {@link classifyPattern}) — so two pairs each
 * seen on another day make traffic seen on two days, not one.
 * @param list - at least one edge; one edge's figures are its own.
 */
export function edgeFigures(list: readonly Edge[], window: number | WindowCalendar): EdgeFigures {
  if (list.length === 1) {
    const { src: _s, dst: _d, protocol: _p, dstPort: _t, ...own } = list[0] as Edge
    return own
  }
  const allDays = list.every((e) => e.days !== undefined)
  const days = allDays
    ? [...new Set(list.flatMap((e) => e.days ?? []))].sort((a, b) => a - b)
    : undefined
  const activeDays = days
    ? days.length
    : list.reduce((m, e) => Math.max(m, e.activeDays), -Infinity)
  const longest = list.map((e) => e.longestMs).filter((x) => x !== undefined)
  const longestMs = longest.length > 0 ? longest.reduce((m, x) => Math.max(m, x)) : undefined
  const profile = addProfiles(list.map((e) => e.profile))
  const flows = list.reduce((n, e) => n + e.flows, 0)
  return {
    flows,
    packets: list.reduce((n, e) => n + e.packets, 0),
    bytes: list.reduce((n, e) => n + e.bytes, 0),
    // an edge of flows with no real time only (both 0) widens nothing
    ...seenSpan(list),
    activeDays,
    ...(days ? { days } : {}),
    ...(longestMs !== undefined ? { longestMs } : {}),
    profile,
    pattern: classifyPattern(profile, activeDays, window, {
      ...(days ? { days } : {}),
      ...(longestMs !== undefined ? { longestMs } : {}),
      flows,
    }),
    unknownDirection: list.reduce((n, e) => n + e.unknownDirection, 0),
    rejected: list.reduce((n, e) => n + e.rejected, 0),
  }
}

/**
 * First and last seen of merged edges, over those with a real time (core {@link SeenRange}: an
 * edge of untimed flows only has both at {@link NO_TIME_MS}); both 0 when none has one.
 */
function seenSpan(list: readonly Edge[]): { firstSeen: number; lastSeen: number } {
  const seen = new SeenRange()
  for (const e of list) seen.add(e.firstSeen, e.lastSeen)
  const span = seen.span()
  return span
    ? { firstSeen: span.first, lastSeen: span.last }
    : { firstSeen: NO_TIME_MS, lastSeen: NO_TIME_MS }
}

/**
 * The `discover/untimed-flows` warning: `untimed` flows have no real time (start 0, as Zeek's
 * masked timestamps are read); they are edges, but left out of the window and the time profiles.
 */
export function untimedWarning(untimed: number): Diagnostic {
  return {
    code: 'discover/untimed-flows',
    severity: 'warning',
    message: `${counted(untimed, 'flow')} with no real time (start 1970-01-01T00:00:00Z, as Zeek's masked timestamps XXXXXXXXXX.XXXXXX are read): counted in ${untimed === 1 ? 'its edge' : 'their edges'}, left out of the window, first and last seen, days and time patterns`,
    hint: 'give the flows their real times (Zeek logs as written, not canonified for tests) to see when they happened',
  }
}

/**
 * The `discover/untimed-flows` warning of a window (`--since`/`--until`): `leftOut` stored flows
 * have no real time, so no window can place them, and they were left out of the map.
 */
export function untimedLeftOutWarning(leftOut: number): Diagnostic {
  return {
    code: 'discover/untimed-flows',
    severity: 'warning',
    message: `${counted(leftOut, 'stored flow')} with no real time (start 1970-01-01T00:00:00Z, as Zeek's masked timestamps are read) left out: no --since/--until window can place them`,
    hint: 'drop --since/--until to map them with the others',
  }
}

/**
 * Collapses workloads (and identities) into identities by the values of `keys` (`--group-by
 * app,role`): the identity `payments/api` holds every workload with `app=payments, role=api`;
 * a missing key reads `-`. Its labels are the grouped keys it has; `members` the workload names,
 * sorted. Externals and unmanaged ranges stay. Edges between the same (identity, identity,
 * protocol, port) merge: counters summed, first/last seen widened, profiles added, active days
 * united (from `days`; without them the largest `activeDays`), and the pattern classified again.
 * `keys` empty returns `map` unchanged. Pure.
 */
export function groupBy(map: DependencyMap, keys: readonly string[]): DependencyMap {
  if (keys.length === 0) return map
  const taken = new Set(
    map.entities.filter((e) => e.kind !== 'workload' && e.kind !== 'identity').map((e) => e.id),
  )
  const groups = new Map<
    string,
    { name: string; labels: Record<string, string>; members: string[] }
  >()
  const target = new Map<string, string>()
  for (const e of map.entities) {
    if (e.kind !== 'workload' && e.kind !== 'identity') {
      target.set(e.id, e.id)
      continue
    }
    const name = identityName(e.labels, keys)
    const id = taken.has(name) ? `identity:${name}` : name
    let g = groups.get(id)
    if (!g) {
      const labels: Record<string, string> = {}
      for (const k of keys) {
        const v = e.labels[k]
        if (v !== undefined) labels[k] = v
      }
      g = { name, labels, members: [] }
      groups.set(id, g)
    }
    // one by one: a spread of more than about 125 000 members overflows the call stack
    for (const m of e.kind === 'identity' ? (e.members ?? [e.name]) : [e.name]) g.members.push(m)
    target.set(e.id, id)
  }
  const entities: MapEntity[] = map.entities.filter(
    (e) => e.kind !== 'workload' && e.kind !== 'identity',
  )
  for (const [id, g] of groups)
    entities.push({
      id,
      kind: 'identity',
      name: g.name,
      labels: g.labels,
      members: [...new Set(g.members)].sort(),
    })
  const merged = new Map<string, Edge[]>()
  for (const e of map.edges) {
    const src = target.get(e.src) ?? e.src
    const dst = target.get(e.dst) ?? e.dst
    const key = `${src}\u0000${dst}\u0000${e.protocol}\u0000${e.dstPort}`
    const list = merged.get(key) ?? []
    list.push({ ...e, src, dst })
    merged.set(key, list)
  }
  const calendar = windowCalendar(map.window, map.timeZone)
  const edges: Edge[] = []
  for (const list of merged.values()) {
    const first = list[0] as Edge
    edges.push({
      src: first.src,
      dst: first.dst,
      protocol: first.protocol,
      dstPort: first.dstPort,
      ...edgeFigures(list, calendar),
    })
  }
  return {
    window: map.window,
    entities: entities.sort(entityOrder),
    edges: edges.sort(edgeOrder),
    sources: map.sources,
    diagnostics: map.diagnostics,
    ...(map.timeZone !== undefined ? { timeZone: map.timeZone } : {}),
  }
}

/**
 * The `n` edges with the most flows (`--top N`; edges are already sorted so), and only the
 * entities they connect. `n` ≤ 0 or not finite keeps everything. Pure.
 */
export function topEdges(map: DependencyMap, n: number): DependencyMap {
  if (!Number.isFinite(n) || n <= 0 || n >= map.edges.length) return map
  const edges = [...map.edges].sort(edgeOrder).slice(0, Math.floor(n))
  const used = new Set<string>()
  for (const e of edges) used.add(e.src).add(e.dst)
  return { ...map, edges, entities: map.entities.filter((e) => used.has(e.id)) }
}
