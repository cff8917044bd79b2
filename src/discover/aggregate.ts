/**
 * @module Aggregation of stored flows into edges, in DuckDB SQL over the flow store: the
 * store's distinct addresses are resolved to entities in TypeScript (time-aware, one row per
 * holding interval), handed to DuckDB as a temporary table, and one query groups every flow by
 * (client entity, server entity, protocol, destination port) with its counters, active days
 * and time histograms. Flows never stream into JavaScript.
 * @remarks Semantics: DESIGN.md "edge"; issue 4 item 3. Resolution: src/inventory/resolver.ts.
 */
import {
  entityName,
  NO_TIME_MS,
  normalizeIp,
  type Entity,
  type Inventory,
  UTC_ZONE,
} from '../core/index.js'
import { Resolver } from '../inventory/resolver.js'
import {
  icmpReplySql,
  icmpRequestTypeSql,
  windowWhere,
  type ColumnBatch,
  type FlowStore,
} from '../store/store.js'
import {
  DAYS_OF_MONTH,
  HOUR_MS,
  HOURS_OF_WEEK,
  LONG_LIVED_MS,
  MAX_SPAN_DAYS,
  WEEK_MS,
  emptyProfile,
} from './time-profile.js'
import type { MapEntity, SourceWindow, TimeProfile } from './types.js'

/** The temporary address → entity table's name. */
export const ADDRESS_TABLE = 'tmp_bulkhead_discover_addr'

/** SQL: the flow has a real time ({@link NO_TIME_MS}). */
const TIMED = `start_ms <> ${NO_TIME_MS}`

/**
 * The stored flows with no real time ({@link NO_TIME_MS}): what a window (`since`/`until`)
 * leaves out, since none can place them.
 */
export async function untimedFlows(store: FlowStore): Promise<number> {
  const rows = await store.query(`SELECT count(*) AS n FROM flows WHERE NOT (${TIMED})`)
  return n(rows[0]?.['n'])
}

/** Open bounds in the address table (ms): the limits of a JS `Date`, beyond any flow time. */
const MIN_MS = -8_640_000_000_000_000
const MAX_MS = 8_640_000_000_000_000

/** A time selection, ms UTC, half-open `[since, until)` on flow `start`. */
export interface TimeRange {
  readonly since?: number
  readonly until?: number
}

/** One holding of an address by an entity, `[from, to)` ms UTC. */
export interface AddressHolding {
  readonly ip: string
  readonly from: number
  readonly to: number
  readonly entity: string
}

/**
 * An edge before classification: counters, profile and active days (days since 1970-01-01 of
 * the calendar of the aggregation's time zone).
 */
export interface RawEdge {
  readonly src: string
  readonly dst: string
  readonly protocol: number
  readonly dstPort: number
  readonly flows: number
  readonly packets: number
  readonly bytes: number
  readonly firstSeen: number
  readonly lastSeen: number
  readonly days: readonly number[]
  /** The longest flow of the edge, `end − start` in ms. */
  readonly longestMs: number
  readonly profile: TimeProfile
  readonly unknownDirection: number
  readonly rejected: number
}

/**
 * Gives map entities stable ids: the entity's name; when a name is already taken by an entity
 * of another kind (a workload named like an unmanaged range), `<kind>:<name>`.
 */
export class EntityRegistry {
  private readonly byKey = new Map<string, MapEntity>()
  private readonly ids = new Set<string>()

  /** The map entity of a resolver answer, registered on first sight. */
  add(e: Entity): MapEntity {
    const kind: MapEntity['kind'] =
      e.kind === 'workload' ? 'workload' : e.named ? 'external' : 'unmanaged'
    const name = entityName(e)
    const key = `${kind}\u0000${name}`
    const known = this.byKey.get(key)
    if (known) return known
    const id = this.ids.has(name) ? `${kind}:${name}` : name
    const labels =
      e.kind === 'workload' ? e.workload.labels : e.external !== undefined ? e.external.labels : {}
    const m: MapEntity = { id, kind, name, labels }
    this.byKey.set(key, m)
    this.ids.add(id)
    return m
  }

  /** Every registered entity, in registration order. */
  all(): MapEntity[] {
    return [...this.byKey.values()]
  }
}

/**
 * The holdings of each address: the address's time line is cut at every bound of a workload
 * address with the same canonical text, each piece is resolved with `resolver` at its start
 * (the piece before the first bound at that bound − 1 ms), and equal neighbours are merged. So
 * the table answers exactly what `resolver.resolve(ip, t)` answers for every `t`.
 */
export function addressHoldings(
  addresses: Iterable<string>,
  inventory: Inventory,
  resolver: Resolver,
  registry: EntityRegistry,
): AddressHolding[] {
  const bounds = new Map<string, number[]>()
  for (const w of inventory.workloads)
    for (const a of w.addresses) {
      const list = bounds.get(a.ip) ?? []
      if (a.from !== undefined) list.push(a.from)
      if (a.to !== undefined) list.push(a.to)
      bounds.set(a.ip, list)
    }
  const out: AddressHolding[] = []
  for (const ip of addresses) {
    const canonical = normalizeIp(ip) ?? ip
    const cuts = [...new Set([...(bounds.get(ip) ?? []), ...(bounds.get(canonical) ?? [])])]
      .filter((t) => t > MIN_MS && t < MAX_MS)
      .sort((a, b) => a - b)
    const starts = [MIN_MS, ...cuts]
    let current: { from: number; entity: string } | undefined
    starts.forEach((from, i) => {
      const probe = i === 0 ? (cuts[0] ?? 0) - 1 : from
      const entity = registry.add(resolver.resolve(ip, probe)).id
      if (current && current.entity === entity) return
      if (current) out.push({ ip, from: current.from, to: from, entity: current.entity })
      current = { from, entity }
    })
    if (current) out.push({ ip, from: current.from, to: MAX_MS, entity: current.entity })
  }
  return out
}

function n(v: unknown): number {
  return typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : Number(v ?? 0)
}

/** A progress callback: the share of the work done, a fraction in [0, 1], non-decreasing. */
export type OnProgress = (fraction: number) => void

/**
 * `onProgress` for one part of a longer task, the part `[from, from + size]` of the whole: a
 * fraction `f` of the part is reported as `from + f × size` (at most 1). Undefined when
 * `onProgress` is.
 */
export function progressPart(
  onProgress: OnProgress | undefined,
  from: number,
  size: number,
): OnProgress | undefined {
  return onProgress && ((f) => onProgress(Math.min(1, from + f * size)))
}

/**
 * How {@link aggregateEdges} splits its progress, as parts `[from, to]` of [0, 1], by their time:
 * over 1.1 M stored flows giving 120 488 edges (s16/hB, load average 3–6) the distinct addresses
 * took 0.07–0.35 s, the aggregation query 3.4–6.4 s (DuckDB's estimate of it moves in steps and
 * stands still for seconds while the CTEs are read) and reading its rows into edges 2.5 s (then
 * measured by the share of the flows the edges read so far count).
 */
export const EDGE_PROGRESS = {
  addresses: [0, 0.05],
  query: [0.05, 0.6],
  read: [0.6, 1],
} as const

/**
 * The distinct addresses (either end) of the flows in `range`; `onProgress` follows the query
 * (`QueryOptions` of the store).
 */
export async function distinctAddresses(
  store: FlowStore,
  range: TimeRange,
  onProgress?: OnProgress,
): Promise<string[]> {
  const { where, params } = windowWhere(range, 'start_ms')
  const rows = await store.query<{ ip: string }>(
    `SELECT DISTINCT src AS ip FROM flows ${where} UNION SELECT DISTINCT dst AS ip FROM flows ${where} ORDER BY ip`,
    [...params, ...params],
    onProgress ? { onProgress } : {},
  )
  return rows.map((r) => r.ip)
}

/**
 * The observation window of each source (format, file) in `range`, sorted by format, file, over
 * its flows with a real time (`start`/`end` 0 when it has none), and its flows with none
 * (`untimed`, {@link NO_TIME_MS}); `onProgress` follows the query.
 */
export async function sourceWindows(
  store: FlowStore,
  range: TimeRange,
  onProgress?: OnProgress,
): Promise<SourceWindow[]> {
  const { where, params } = windowWhere(range, 'start_ms')
  const rows = await store.query(
    `SELECT format, file, min(start_ms) FILTER (WHERE ${TIMED}) AS s, max(end_ms) FILTER (WHERE ${TIMED}) AS e, count(*) AS n, count(*) FILTER (WHERE NOT ${TIMED}) AS u FROM flows ${where} GROUP BY format, file ORDER BY format, file`,
    params,
    onProgress ? { onProgress } : {},
  )
  return rows.map((r) => ({
    format: String(r['format']),
    file: String(r['file']),
    start: n(r['s']),
    end: n(r['e']),
    flows: n(r['n']),
    untimed: n(r['u']),
  }))
}

/** Where the longest span of active days is set (discover time-profile); re-exported here. */
export { MAX_SPAN_DAYS }

/**
 * SQL: the number of the hour (since 1970-01-01 00:00 of the same clock) of the BIGINT ms `ms`,
 * rounded down (DuckDB's `//` rounds towards zero).
 */
function hourNumber(ms: string): string {
  return `((${ms}) - (((${ms}) % ${HOUR_MS}) + ${HOUR_MS}) % ${HOUR_MS}) // ${HOUR_MS}`
}

/**
 * The aggregation query. Flows recorded `server-to-client` are turned around (addresses; ports
 * too, except for ICMP/ICMPv6 whose "port" is the message type: a reply's type becomes its
 * request's, an echo reply an echo request); each end is joined to the
 * address table at the flow's `start`; a first GROUP BY per (edge, start day and hour, end hour,
 * end day) shrinks the data, from which the edge counters, the distinct days and the two
 * histograms are taken. Days and hours are those of `zone` (a canonical IANA name): UTC reads
 * the view's `day` and the ms themselves; another zone reads the wall clock of `start_ms` and of
 * the flow's last instant (`end_ms − 1`, `start_ms` for a flow of no length) with DuckDB's ICU
 * (`timezone(zone, make_timestamptz(µs))`), the same tz database Node's `Intl` uses.
 *
 * The histograms and active days are those of discover `profileOf` and `activeDaysOf`, which
 * define them:
 *
 * - Hour of week: a flow whose last instant is in its start's wall-clock hour (most flows)
 *   counts in that slot. Any other is a run of wall-clock hours from its start hour to its last
 *   instant's hour (`eh`; a flow open {@link WEEK_MS} or more: 168 hours), which is a run of
 *   slots round the week, at most all 168: the runs are summed as a difference array over the
 *   slots (`x_diff`: + where a run starts, − after it ends; prefix sums in {@link rawEdge}), so
 *   a long flow costs two or three rows, not one per hour. A flow shorter than a week over which
 *   the zone's offset changed (`ds`/`dl`: DST began or ended while it was open) is grouped by
 *   its own start and last instant and read at them and at each quarter hour of UTC between,
 *   where the local hour can change (every zone's offsets and changes fall on quarter hours):
 *   an hour the change skipped is not read, and a change back into an earlier hour (Chatham's
 *   03:45 → 02:45) reads it again.
 * - Active days: the start day; for a long-lived flow (open {@link LONG_LIVED_MS} or more)
 *   every day from its start day to the day of its last instant (`eday`), at most
 *   {@link MAX_SPAN_DAYS} days on. A short flow over midnight keeps its start day: the rhythm
 *   rules compare active days with weekdays.
 * - Day of month: each flow once in each distinct day-of-month slot of its active days.
 */
function aggregateSql(where: string, zone: string): string {
  const key = 'se, de, proto, port'
  const last = 'greatest(end_ms - 1, start_ms)'
  const utc = zone === UTC_ZONE
  // a canonical zone name holds only [A-Za-z0-9_+/-] (core canonicalTimeZone): no quote to escape
  const wall = (ms: string): string => `timezone('${zone}', make_timestamptz((${ms}) * 1000))`
  // f0: the wall clock of the start (t0) and of the last instant (t1), as TIMESTAMPs
  const clocks = utc
    ? `day, epoch_ms(start_ms) AS t0, epoch_ms(${last}) AS t1`
    : `${wall('start_ms')} AS t0, ${wall(last)} AS t1`
  const span = `end_ms - start_ms`
  const h0 = hourNumber('epoch_ms(t0)')
  const h1 = hourNumber('epoch_ms(t1)')
  // the offset changed while the flow was open (never in UTC; a flow of a week is in every slot)
  const shifted = utc
    ? 'false'
    : `(${span} < ${WEEK_MS} AND epoch_ms(t1) - ${last} <> epoch_ms(t0) - start_ms)`
  const hourSlot = (ts: string): string => `(isodow(${ts}) - 1) * 24 + hour(${ts})`
  // dst: the instants read (ms), the start, the last instant and the quarter hours between
  const quarter = HOUR_MS / 4
  const probes =
    `list_concat([ds, dl], list_transform(range(ds // ${quarter} + 1, (dl - 1) // ${quarter} + 1), ` +
    `lambda q: q * ${quarter}))`
  const days = (col: string): string => `datediff('day', DATE '1970-01-01', ${col})`
  // a reply: marked so, or an ICMP reply type whatever its direction (core judgedAsReply)
  const reply = `(direction = 'server-to-client' OR ${icmpReplySql('protocol', 'dst_port')})`
  return `
WITH f0 AS (
  SELECT
    CASE WHEN ${reply} THEN dst ELSE src END AS c,
    CASE WHEN ${reply} THEN src ELSE dst END AS s,
    CASE WHEN NOT ${reply} THEN dst_port
      WHEN protocol NOT IN (1, 58) THEN src_port
      ELSE ${icmpRequestTypeSql('protocol', 'dst_port')} END AS port,
    protocol AS proto, start_ms, end_ms, packets, bytes, ${clocks},
    direction = 'unknown' AND NOT ${reply} AS unk, observed_action = 'reject' AS rej, NOT (${TIMED}) AS nt
  FROM flows ${where}
),
f AS (
  SELECT c, s, port, proto, start_ms, end_ms, packets, bytes, unk, rej, nt,
    ${utc ? 'day' : 'CAST(t0 AS DATE) AS day'}, hour(t0) AS hr,
    CASE WHEN ${span} >= ${LONG_LIVED_MS} THEN CAST(t1 AS DATE) ELSE ${utc ? 'day' : 'CAST(t0 AS DATE)'} END AS eday,
    CASE WHEN ${shifted} THEN NULL WHEN ${span} >= ${WEEK_MS} THEN ${h0} + ${HOURS_OF_WEEK - 1}
      WHEN ${h1} > ${h0} THEN ${h1} END AS eh,
    CASE WHEN ${shifted} THEN start_ms END AS ds, CASE WHEN ${shifted} THEN ${last} END AS dl
  FROM f0
),
r AS MATERIALIZED (
  SELECT a.entity AS se, b.entity AS de, f.proto, f.port, f.day, f.hr, f.eh, f.ds, f.dl, f.eday,
    f.nt, count(*) AS n, sum(f.packets) AS pk, sum(f.bytes) AS oc,
    min(f.start_ms) AS fs, max(f.end_ms) AS ls,
    max(f.end_ms - f.start_ms) AS lg,
    count(*) FILTER (WHERE f.unk) AS nu, count(*) FILTER (WHERE f.rej) AS nr
  FROM f
  JOIN ${ADDRESS_TABLE} a ON a.ip = f.c AND f.start_ms >= a.from_ms AND f.start_ms < a.to_ms
  JOIN ${ADDRESS_TABLE} b ON b.ip = f.s AND f.start_ms >= b.from_ms AND f.start_ms < b.to_ms
  GROUP BY se, de, f.proto, f.port, f.day, f.hr, f.eh, f.ds, f.dl, f.eday, f.nt
),
e AS (
  SELECT ${key}, sum(n) AS flows, sum(pk) AS packets, sum(oc) AS bytes,
    min(fs) FILTER (WHERE NOT nt) AS first_seen, max(ls) FILTER (WHERE NOT nt) AS last_seen,
    max(lg) FILTER (WHERE NOT nt) AS longest, sum(nu) AS unknown_direction, sum(nr) AS rejected
  FROM r GROUP BY ${key}
),
d AS (
  SELECT ${key}, list_sort(list(DISTINCT x)) AS days FROM (
    SELECT ${key}, unnest(range(d0, least(d1, d0 + ${MAX_SPAN_DAYS}) + 1)) AS x FROM (
      SELECT ${key}, ${days('day')}::INTEGER AS d0, ${days('eday')}::INTEGER AS d1
      FROM r WHERE NOT nt)
  ) GROUP BY ${key}
),
w AS (
  SELECT ${key}, list(cnt * ${SLOT_CODE} + slot) AS w_hist FROM (
    SELECT ${key}, slot, sum(n)::BIGINT AS cnt FROM (
      SELECT ${key}, ((isodow(day) - 1) * 24 + hr)::INTEGER AS slot, n
      FROM r WHERE eh IS NULL AND ds IS NULL AND NOT nt
      UNION ALL
      SELECT ${key}, unnest(list_distinct(list_transform(${probes},
          lambda t: (${hourSlot(wall('t'))})::INTEGER))) AS slot, n
      FROM r WHERE ds IS NOT NULL AND NOT nt
    ) GROUP BY ${key}, slot
  ) GROUP BY ${key}
),
sp AS (
  SELECT ${key}, n, ((isodow(day) - 1) * 24 + hr)::INTEGER AS s0,
    least(eh - (${days('day')} * 24 + hr) + 1, ${HOURS_OF_WEEK})::INTEGER AS len
  FROM r WHERE eh IS NOT NULL AND NOT nt
),
x AS (
  SELECT ${key}, list(v * ${SLOT_CODE} + i) AS x_diff FROM (
    SELECT ${key}, i, sum(v)::BIGINT AS v FROM (
      SELECT ${key}, s0 AS i, n AS v FROM sp
      UNION ALL
      SELECT ${key}, (s0 + len) % ${HOURS_OF_WEEK} AS i, -n AS v FROM sp
      WHERE s0 + len <> ${HOURS_OF_WEEK}
      UNION ALL
      SELECT ${key}, 0 AS i, n AS v FROM sp WHERE s0 + len > ${HOURS_OF_WEEK}
    ) GROUP BY ${key}, i HAVING sum(v) <> 0
  ) GROUP BY ${key}
),
m AS (
  SELECT ${key}, list(cnt * ${SLOT_CODE} + slot) AS m_hist FROM (
    SELECT ${key}, slot, sum(n)::BIGINT AS cnt FROM (
      SELECT ${key}, (dayofmonth(day) - 1)::INTEGER AS slot, n FROM r WHERE eday = day AND NOT nt
      UNION ALL
      SELECT ${key}, unnest(list_distinct(list_transform(
          range(0, least(${days('eday')}, ${days('day')} + ${MAX_SPAN_DAYS}) - ${days('day')} + 1),
          lambda x: (dayofmonth(day + x::INTEGER) - 1)::INTEGER))) AS slot, n
      FROM r WHERE eday > day AND NOT nt
    ) GROUP BY ${key}, slot
  ) GROUP BY ${key}
)
SELECT ${key}, flows, packets, bytes, first_seen, last_seen, longest, unknown_direction, rejected,
  coalesce(d.days, []) AS days, coalesce(w.w_hist, []) AS w_hist,
  coalesce(x.x_diff, []) AS x_diff, coalesce(m.m_hist, []) AS m_hist
FROM e LEFT JOIN d USING (${key}) LEFT JOIN m USING (${key}) LEFT JOIN w USING (${key})
  LEFT JOIN x USING (${key})`
}

/**
 * The slot lists of the aggregation query code a slot `i` (0–167) and its count `v` as one
 * integer `v · 256 + i`: one list per edge, in no order (a list with `ORDER BY`, or two lists
 * kept in step, cost DuckDB more than the whole GROUP BY before them).
 */
const SLOT_CODE = 256

/** The columns of the aggregation query ({@link aggregateSql}) by number, as it SELECTs them. */
const COL = {
  se: 0,
  de: 1,
  proto: 2,
  port: 3,
  flows: 4,
  packets: 5,
  bytes: 6,
  firstSeen: 7,
  lastSeen: 8,
  longest: 9,
  unknownDirection: 10,
  rejected: 11,
  days: 12,
  wHist: 13,
  xDiff: 14,
  mHist: 15,
} as const

/**
 * The (slot, count) pairs of row `row`'s list of {@link SLOT_CODE} codes in column `col` (counts
 * may be negative).
 */
function decodeSlots(
  b: ColumnBatch,
  col: number,
  row: number,
  f: (slot: number, count: number) => void,
): void {
  const from = b.listOffset(col, row)
  const to = from + b.listLength(col, row)
  for (let i = from; i < to; i++) {
    const code = n(b.listElement(col, i))
    const slot = ((code % SLOT_CODE) + SLOT_CODE) % SLOT_CODE
    f(slot, (code - slot) / SLOT_CODE)
  }
}

/** Row `row`'s list of numbers in column `col`. */
function numsAt(b: ColumnBatch, col: number, row: number): number[] {
  const from = b.listOffset(col, row)
  const out = new Array<number>(b.listLength(col, row))
  for (let i = 0; i < out.length; i++) out[i] = n(b.listElement(col, from + i))
  return out
}

/** Row `row` of a batch of the aggregation query ({@link aggregateSql}) as a {@link RawEdge}. */
function rawEdge(b: ColumnBatch, row: number): RawEdge {
  const at = (col: number): number => n(b.value(col, row))
  const profile = emptyProfile()
  const hours = profile.hourOfWeek
  decodeSlots(b, COL.wHist, row, (slot, count) => {
    if (slot < HOURS_OF_WEEK) hours[slot] = count
  })
  // runs of hours: a difference array over the slots (+n where a run starts, −n after its end)
  const diff = new Array<number>(HOURS_OF_WEEK).fill(0)
  decodeSlots(b, COL.xDiff, row, (slot, count) => {
    if (slot < HOURS_OF_WEEK) diff[slot] = count
  })
  let open = 0
  diff.forEach((d, slot) => {
    open += d
    hours[slot] = (hours[slot] ?? 0) + open
  })
  decodeSlots(b, COL.mHist, row, (slot, count) => {
    if (slot < DAYS_OF_MONTH) profile.dayOfMonth[slot] = count
  })
  return {
    src: String(b.value(COL.se, row)),
    dst: String(b.value(COL.de, row)),
    protocol: at(COL.proto),
    dstPort: at(COL.port),
    flows: at(COL.flows),
    packets: at(COL.packets),
    bytes: at(COL.bytes),
    firstSeen: at(COL.firstSeen),
    lastSeen: at(COL.lastSeen),
    days: numsAt(b, COL.days, row),
    longestMs: at(COL.longest),
    profile,
    unknownDirection: at(COL.unknownDirection),
    rejected: at(COL.rejected),
  }
}

/**
 * Aggregates the flows of `range` into raw edges (not yet classified). Loads the address table
 * ({@link ADDRESS_TABLE}) into the store's query connection and drops it afterwards.
 * `onProgress` follows the store's work, split as {@link EDGE_PROGRESS} says: the distinct
 * addresses query, the aggregation query (DuckDB's estimate), then the edges read (the share of
 * the flows of `range` they count); non-decreasing, never called once this has settled.
 * @param zone - canonical IANA time zone of the days and hours (core `canonicalTimeZone`).
 * @returns the edges in no particular order and the entities they refer to.
 */
export async function aggregateEdges(
  store: FlowStore,
  inventory: Inventory,
  resolver: Resolver,
  registry: EntityRegistry,
  range: TimeRange,
  zone: string = UTC_ZONE,
  onProgress?: OnProgress,
): Promise<RawEdge[]> {
  const part = (p: readonly [number, number]): OnProgress | undefined =>
    progressPart(onProgress, p[0], p[1] - p[0])
  const addresses = await distinctAddresses(store, range, part(EDGE_PROGRESS.addresses))
  if (addresses.length === 0) return []
  const holdings = addressHoldings(addresses, inventory, resolver, registry)
  await store.loadTempTable(
    ADDRESS_TABLE,
    [
      { name: 'ip', type: 'VARCHAR' },
      { name: 'from_ms', type: 'BIGINT' },
      { name: 'to_ms', type: 'BIGINT' },
      { name: 'entity', type: 'VARCHAR' },
    ],
    holdings.map((h) => [h.ip, h.from, h.to, h.entity]),
  )
  try {
    const { where, params } = windowWhere(range, 'start_ms')
    // every flow of the range is in exactly one edge (the holdings of an address cover all
    // time), so the flows of the edges read so far over all flows measure the reading
    // (DuckDB's estimate, still polled while the rows stream, is dropped once they do)
    const queryPart = part(EDGE_PROGRESS.query)
    const read = part(EDGE_PROGRESS.read)
    const total = read ? await store.count(range) : 0
    let counted = 0
    const edges: RawEdge[] = []
    await store.queryColumnBatches(
      aggregateSql(where, zone),
      params,
      (b) => {
        for (let row = 0; row < b.rowCount; row++) {
          const e = rawEdge(b, row)
          edges.push(e)
          counted += e.flows
        }
        if (read !== undefined && total !== 0) read(Math.min(1, counted / total))
      },
      queryPart
        ? {
            onProgress: (f) => {
              if (edges.length === 0) queryPart(f)
            },
          }
        : {},
    )
    return edges
  } finally {
    await store.dropTempTable(ADDRESS_TABLE)
  }
}
