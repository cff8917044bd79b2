/**
 * @module The dependency map's data types: entities, edges with time profiles and patterns.
 * Produced by `src/discover` (aggregation over the flow store), read by `recommend`,
 * `simulate`, the renderers and the UI.
 * @remarks Semantics: DESIGN.md "edge", "dependency map"; issue 4 items 3–4.
 */
import type { Diagnostic } from '../core/index.js'

/**
 * When an edge is active, classified from its time profile (see `classifyPattern`).
 *
 * - `once`: seen on one day only, in one hour slot (or one run of hours every flow is open in).
 * - `rare`: seen on few days (see the classifier's thresholds), without a regular rhythm.
 * - `month-end`: active days fall in the last or first days of a month.
 * - `weekly`: active on the same weekday(s) only, over two or more weeks.
 * - `nightly`: active most days, only at night (`NIGHT_HOURS` of time-profile.ts, 20:00–06:00;
 *   not simply outside business hours, which end at 19:00 and start at 07:00).
 * - `business-hours`: active on weekdays, only in business hours (`BUSINESS_HOURS`,
 *   07:00–19:00).
 *
 * Hours and days are those of the time zone the map is built in (`--time-zone`, the workspace's
 * `timeZone`, else UTC).
 * - `continuous`: active across most hours of most days.
 *
 * Stable: written into JSON output and rule evidence.
 */
export type EdgePattern =
  'continuous' | 'business-hours' | 'nightly' | 'weekly' | 'month-end' | 'rare' | 'once'

/**
 * What kind of thing an entity of the map is.
 * `workload`: an inventory workload. `external`: a named external range from the inventory.
 * `unmanaged`: addresses the inventory does not know, grouped by the resolver (`10.9.3.0/24`,
 * `internet`, or one public address with `--keep-public-ips`). `identity`: a group of workloads
 * collapsed by `--group-by` (its name is the label values, e.g. `payments/api`).
 */
export type MapEntityKind = 'workload' | 'external' | 'unmanaged' | 'identity'

/** One node of the dependency map. */
export interface MapEntity {
  /** Unique within the map; edges refer to it. Equal to `name` (names are unique across kinds). */
  readonly id: string
  readonly kind: MapEntityKind
  readonly name: string
  /** The entity's labels (workloads: resolved labels; externals: their labels; else `{}`). */
  readonly labels: Readonly<Record<string, string>>
  /** For `identity` entities: the workloads collapsed into it, sorted. */
  readonly members?: readonly string[]
}

/**
 * Flows per time slot, in the map's time zone ({@link DependencyMap.timeZone}, UTC unless set):
 * when the edge is in use. Computed in the store's SQL (discover `aggregateEdges`); discover
 * `profileOf` is the same definition over flow objects, and tests hold the two equal.
 */
export interface TimeProfile {
  /**
   * 168 slots, slot 0 = Monday 00:00–01:00, slot 24·d + h for ISO weekday d+1 (0 = Monday) and
   * hour h. `hourOfWeek[s]` = the number of flows open during some part of slot s: a flow open
   * over `[start, end)` (a flow with `end = start` at the instant `start`) counts once in the
   * slot of each local hour holding one of its instants — a flow 01:10–03:50 in slots 1, 2 and 3
   * of its weekday, a flow ending at 04:00:00.000 not in 4, a flow 23:30–00:30 in the last hour
   * of one weekday and the first of the next — and a flow open a week (7 × 24 h) or more in all
   * 168. A local hour skipped by a DST change holds no instant; a repeated hour is one slot, where
   * a flow counts once. So the sum over slots is at least the edge's flows (equal when each flow
   * lies inside one hour): it counts flow-hours, not flows.
   */
  readonly hourOfWeek: readonly number[]
  /**
   * 31 slots, slot 0 = the 1st. `dayOfMonth[s]` = the number of flows active on a day whose day
   * of month is s + 1, each flow once in each distinct slot of its active days ({@link
   * Edge.activeDays}): the day of its start, or for a flow open a day (24 h) or more every day
   * from its start to its last instant (at most 400 days on). A short flow over midnight keeps
   * its start day, unlike `hourOfWeek`: days are what the rhythm rules count as occurrences (a
   * backup from Saturday 23:30 to Sunday 00:30 is one Saturday run, not a run on two weekdays),
   * while the hours say when in the week the traffic is there.
   */
  readonly dayOfMonth: readonly number[]
}

/**
 * Flows aggregated by (source entity, destination entity, protocol, destination port), oriented
 * client → server: a flow recorded `server-to-client` is counted on the reversed edge.
 */
export interface Edge {
  /** {@link MapEntity.id} of the client side. */
  readonly src: string
  /** {@link MapEntity.id} of the server side. */
  readonly dst: string
  /** IANA protocol number. */
  readonly protocol: number
  /** Destination port (ICMP: the ICMP type; 0 for protocols without ports). */
  readonly dstPort: number
  readonly flows: number
  readonly packets: number
  /** Octets. */
  readonly bytes: number
  /**
   * ms since the epoch, UTC: the earliest flow `start` and the latest flow `end`, over the flows
   * with a real time (both 0 when none of the edge's flows has one).
   */
  readonly firstSeen: number
  readonly lastSeen: number
  /**
   * Distinct calendar days (of the map's time zone) with at least one flow active: a flow is
   * active on its start day, and a flow open a day (24 h) or more on every day from its start
   * to its last instant (`end − 1 ms`), at most 400 days on.
   */
  readonly activeDays: number
  /**
   * Those days, as days since 1970-01-01 (`floor(ms / 86 400 000)` in UTC; the local date's
   * number in another zone, core `localDay`), ascending. Set by
   * `buildDependencyMap`; lets `groupBy` merge edges exactly. Not written to JSON output.
   */
  readonly days?: readonly number[]
  /**
   * The longest flow of the edge, `end − start` in ms. Set by `buildDependencyMap`; a flow open
   * a day or more makes the pattern `continuous` or `rare` (discover `classifyPattern`). Not
   * written to JSON output.
   */
  readonly longestMs?: number
  readonly profile: TimeProfile
  readonly pattern: EdgePattern
  /**
   * Flows of this edge whose direction the source did not record and inference could not settle
   * (`direction: unknown`): the edge may be the reverse of the real connection.
   */
  readonly unknownDirection: number
  /** Flows the observer recorded as rejected (`observedAction: reject`). */
  readonly rejected: number
}

/** The observation window of one flow source (one format + file, or one collector). */
export interface SourceWindow {
  readonly format: string
  readonly file: string
  /**
   * ms since the epoch, UTC: earliest `start` and latest `end` of its flows with a real time;
   * both 0 when none has one.
   */
  readonly start: number
  readonly end: number
  readonly flows: number
  /** Of `flows`, those with no real time (start 0, as Zeek's masked timestamps are read). */
  readonly untimed?: number
}

/** The dependency map over an observation window (DESIGN.md "dependency map"). */
export interface DependencyMap {
  /**
   * The span of the flows with a real time, ms since the epoch, UTC; undefined when there were
   * none (no flows, or only flows with no real time).
   */
  readonly window: { readonly start: number; readonly end: number } | undefined
  /**
   * Flows with no real time (start 0: Zeek's masked timestamps): edges of the map, left out of
   * the window and of the edges' times and profiles (`discover/untimed-flows`). Absent: none.
   */
  readonly untimed?: number
  readonly entities: readonly MapEntity[]
  /** Sorted by flows, descending, then by (src, dst, protocol, dstPort). */
  readonly edges: readonly Edge[]
  readonly sources: readonly SourceWindow[]
  /** Coverage warnings (`discover/short-window`) and other non-fatal findings. */
  readonly diagnostics: readonly Diagnostic[]
  /**
   * The IANA time zone of the calendar views: the edges' `profile` slots, `days` and
   * `activeDays`, and so their `pattern`. Absent: UTC.
   */
  readonly timeZone?: string
}
