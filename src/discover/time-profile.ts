/**
 * @module Time profiles of edges and the classification of an edge's rhythm into an
 * {@link EdgePattern}. Pure: no clock, no I/O. {@link profileOf}, {@link hourSlotsOf},
 * {@link activeDaysOf} and the slot functions read instants in a zone (UTC unless given; the
 * rules of Node's `Intl`); they are the object path that the store's SQL aggregation
 * (discover `aggregateEdges`) agrees with. The classification reads slots and days of whatever
 * zone made them (the dependency map's `timeZone`, UTC unless set).
 * @remarks Semantics: DESIGN.md "edge" (time profile: hours of week, days of month); issue 4
 * item 3. The thresholds are constants below, each with its reason.
 */
import { DAY_MS, HOUR_MS, localDay, localWallClock, UTC_ZONE } from '../core/index.js'
import type { EdgePattern, TimeProfile } from './types.js'

/** ms per UTC day and per hour (the core's constants, kept here for this module's importers). */
export { DAY_MS, HOUR_MS }

/** A flow open this long (ms, 7 × 24 h) or longer counts in every hour-of-week slot. */
export const WEEK_MS = 7 * DAY_MS

/**
 * The longest span, in days past its start day, over which a flow counts as active (a record
 * whose end is years after its start is damaged, and each active day is a row of the query).
 */
export const MAX_SPAN_DAYS = 400

/**
 * The time span of one flow, ms since the epoch, UTC: the flow is open over `[start, end)`
 * (a flow with `end ≤ start` over the instant `start` alone), as {@link lastInstant} reads it.
 */
export interface FlowSpan {
  readonly start: number
  readonly end: number
}

/** Slots of {@link TimeProfile.hourOfWeek}: 7 days × 24 hours. */
export const HOURS_OF_WEEK = 168

/** Slots of {@link TimeProfile.dayOfMonth}. */
export const DAYS_OF_MONTH = 31

/**
 * Business hours: Monday–Friday, 07:00–19:00 (hours 7..18) of the map's time zone. The wide band
 * tolerates a zone that is only roughly right: in UTC, the default (flow logs carry no zone), it
 * covers Europe and the US East coast's mornings.
 */
export const BUSINESS_HOURS = { from: 7, to: 19 } as const

/**
 * Night: 20:00–06:00 (hours 20..23 and 0..5) of the map's time zone, the usual window for backups
 * and batch jobs.
 */
export const NIGHT_HOURS = { from: 20, to: 6 } as const

/**
 * Month-end days: the 26th to the 31st and the 1st to the 3rd (month-end closes run on the last
 * business days, or on the first days of the next month for the month just ended).
 */
export const MONTH_END_DAYS = { lastFrom: 26, firstTo: 3 } as const

/** Share of an edge's flows that must fall in the pattern's slots (tolerates stray retries). */
export const SHARE = 0.9

/**
 * An edge is "regular" (`continuous`, `business-hours`, `nightly`) when it is active on at least
 * this share of the window's days (a weekday-only edge is active on 5/7 ≈ 0.71).
 */
export const REGULAR_DAYS = 0.5

/** `business-hours` needs at least this share of the window's weekdays. */
export const BUSINESS_DAYS = 0.6

/**
 * `weekly` and `month-end` need at least this share of the occurrences the window holds (of
 * the weekday(s), or of the month ends), so that two chance hits are `rare`, not a rhythm.
 */
export const RHYTHM_SHARE = 0.5

/** A zeroed profile (168 hour-of-week slots, 31 day-of-month slots). */
export function emptyProfile(): { hourOfWeek: number[]; dayOfMonth: number[] } {
  return {
    hourOfWeek: new Array<number>(HOURS_OF_WEEK).fill(0),
    dayOfMonth: new Array<number>(DAYS_OF_MONTH).fill(0),
  }
}

/** The hour-of-week slot of a wall-clock time (core `localWallClock`): 24·d + h, d = 0 for Monday. */
function wallSlot(wall: number): number {
  const d = new Date(wall)
  return ((d.getUTCDay() + 6) % 7) * 24 + d.getUTCHours()
}

/** The hour-of-week slot of an instant (ms UTC) in `zone`: 24·d + h, d = 0 for Monday. */
export function hourOfWeekSlot(ms: number, zone: string = UTC_ZONE): number {
  return wallSlot(localWallClock(ms, zone))
}

/** The day-of-month slot of an instant (ms UTC) in `zone`: 0 for the 1st. */
export function dayOfMonthSlot(ms: number, zone: string = UTC_ZONE): number {
  return new Date(localWallClock(ms, zone)).getUTCDate() - 1
}

/** The last instant (ms) a flow is open: `end − 1`, or `start` for a flow of no length. */
export function lastInstant(flow: FlowSpan): number {
  return Math.max(flow.start, flow.end - 1)
}

/** A quarter of an hour, ms: every zone's offsets and offset changes fall on whole ones. */
const QUARTER_MS = 900_000

/**
 * The hour-of-week slots (ascending, distinct) a flow is open in, in `zone`: the slot of the
 * local hour of each instant of `[start, end)` ({@link FlowSpan}), so a flow 01:10–03:50 is in
 * slots 1, 2 and 3 of its weekday and one ending at 04:00:00.000 is not in 4; every slot for a
 * flow open {@link WEEK_MS} or more. An hour a DST change skips holds no instant of the flow; a
 * repeated hour is one slot. Exact for zones whose offsets and offset changes fall on whole
 * quarter hours of UTC (every zone of the tz database since 1979, when Liberia left −0:44:30);
 * DuckDB's aggregation (discover `aggregateEdges`) computes the same slots.
 * @throws RangeError when `zone` is not a zone name.
 */
export function hourSlotsOf(flow: FlowSpan, zone: string = UTC_ZONE): number[] {
  if (flow.end - flow.start >= WEEK_MS) return Array.from({ length: HOURS_OF_WEEK }, (_, i) => i)
  const last = lastInstant(flow)
  const slots = new Set<number>()
  let t = flow.start
  let wall = localWallClock(t, zone)
  slots.add(wallSlot(wall))
  for (;;) {
    // the next hour of this wall clock, if its offset holds until then
    const next = t + HOUR_MS - (((wall % HOUR_MS) + HOUR_MS) % HOUR_MS)
    const stop = Math.min(next, last)
    const stopWall = localWallClock(stop, zone)
    if (stopWall - stop !== wall - t)
      // the offset changed in between: the local hour is constant between quarter hours of UTC
      for (let q = (Math.floor(t / QUARTER_MS) + 1) * QUARTER_MS; q < stop; q += QUARTER_MS)
        slots.add(wallSlot(localWallClock(q, zone)))
    slots.add(wallSlot(stopWall))
    if (next > last) break
    t = next
    wall = stopWall
  }
  return [...slots].sort((a, b) => a - b)
}

/**
 * The days a flow is active on, in `zone`, as days since 1970-01-01 (core `localDay`),
 * ascending: its start day; for a flow open {@link LONG_LIVED_MS} or more, every day from its
 * start day to the day of its {@link lastInstant}, at most {@link MAX_SPAN_DAYS} past the start
 * day. A short flow over midnight keeps its start day: the rhythm rules count occurrences of
 * days ({@link classifyPattern}).
 * @throws RangeError when `zone` is not a zone name.
 */
export function activeDaysOf(flow: FlowSpan, zone: string = UTC_ZONE): number[] {
  const d0 = localDay(flow.start, zone)
  if (flow.end - flow.start < LONG_LIVED_MS) return [d0]
  const d1 = Math.min(localDay(lastInstant(flow), zone), d0 + MAX_SPAN_DAYS)
  return Array.from({ length: Math.max(0, d1 - d0) + 1 }, (_, i) => d0 + i)
}

/** The day-of-month slot (0 for the 1st) of a day number (days since 1970-01-01). */
function daySlot(day: number): number {
  return new Date(day * DAY_MS).getUTCDate() - 1
}

/** Adds `n` to `slots[i]` (an index inside the array). */
function bump(slots: number[], i: number, n: number): void {
  slots[i] = (slots[i] ?? 0) + n
}

/**
 * The profile of `flows` in `zone` ({@link TimeProfile}): each flow adds 1 to each slot of
 * {@link hourSlotsOf}, and 1 to each distinct day-of-month slot of its {@link activeDaysOf}.
 * The object path the SQL aggregation agrees with.
 * @throws RangeError when `zone` is not a zone name.
 */
export function profileOf(flows: Iterable<FlowSpan>, zone: string = UTC_ZONE): TimeProfile {
  const p = emptyProfile()
  for (const f of flows) {
    for (const slot of hourSlotsOf(f, zone)) bump(p.hourOfWeek, slot, 1)
    for (const slot of new Set(activeDaysOf(f, zone).map(daySlot))) bump(p.dayOfMonth, slot, 1)
  }
  return p
}

/** Slot-wise sum of profiles. */
export function addProfiles(profiles: Iterable<TimeProfile>): TimeProfile {
  const p = emptyProfile()
  for (const q of profiles) {
    q.hourOfWeek.forEach((n, i) => bump(p.hourOfWeek, i, n))
    q.dayOfMonth.forEach((n, i) => bump(p.dayOfMonth, i, n))
  }
  return p
}

/** True when day-of-month slot `i` (0 = the 1st) is a month-end day ({@link MONTH_END_DAYS}). */
export function isMonthEndSlot(i: number): boolean {
  return i + 1 >= MONTH_END_DAYS.lastFrom || i + 1 <= MONTH_END_DAYS.firstTo
}

/** True for hours (0–23) in {@link NIGHT_HOURS}. */
export function isNightHour(h: number): boolean {
  return h >= NIGHT_HOURS.from || h < NIGHT_HOURS.to
}

/** True for hour-of-week slots in {@link BUSINESS_HOURS} (Monday–Friday). */
export function isBusinessSlot(slot: number): boolean {
  const day = Math.floor(slot / 24)
  const h = slot % 24
  return day < 5 && h >= BUSINESS_HOURS.from && h < BUSINESS_HOURS.to
}

/**
 * How many distinct month ends the days (UTC days since the epoch) are near: a day from the
 * 16th on counts for its own month's end, a day up to the 15th for the previous month's.
 */
export function monthEndsOf(days: Iterable<number>): number {
  const ends = new Set<number>()
  for (const d of days) {
    const t = new Date(d * DAY_MS)
    const y = t.getUTCFullYear()
    const m = t.getUTCMonth()
    ends.add(t.getUTCDate() >= 16 ? y * 12 + m : y * 12 + m - 1)
  }
  return ends.size
}

/** What {@link classifyPattern} knows beyond the profile. */
export interface PatternContext {
  /**
   * The active days themselves (days since the epoch of the profile's zone). When given,
   * `month-end` counts the distinct month ends they touch ({@link monthEndsOf}), otherwise the
   * distinct month-end day-of-month slots, which can undercount but never overcounts; and
   * `weekly` reads the weekdays of these days, otherwise those of the hour-of-week slots (which
   * add the next weekday for a flow open over midnight).
   */
  readonly days?: readonly number[]
  /**
   * The longest flow of the edge, ms. A flow open for {@link LONG_LIVED_MS} or more (a database
   * pool, a replication link) is there at every hour of its days, whenever it started: such an
   * edge is `continuous` when regular, else `rare`, never a rhythm read from its start times.
   */
  readonly longestMs?: number
  /**
   * The edge's flow count. `once` needs it when the profile has more than one hour slot: one
   * flow (or several open over the same hours) on one day is one occurrence, however many
   * hours it lasts. Without it, `once` needs a single hour slot.
   */
  readonly flows?: number
}

/** A flow open this long (ms, one day) is present around the clock ({@link PatternContext}). */
export const LONG_LIVED_MS = DAY_MS

function sum(xs: readonly number[]): number {
  let n = 0
  for (const x of xs) n += x
  return n
}

/** The weekday (0 = Monday) of a day number (days since 1970-01-01, a Thursday). */
function weekdayOf(day: number): number {
  return (((day + 3) % 7) + 7) % 7
}

/**
 * The calendar of an observation window in the map's zone, as {@link classifyPattern} reads it:
 * the days it touches and how many of them fall on each weekday.
 */
export interface WindowCalendar {
  /** Calendar days the window touches (≥ 1). */
  readonly days: number
  /** How many of those days are each weekday: 7 counts, index 0 = Monday … 6 = Sunday. */
  readonly weekdays: readonly number[]
}

/**
 * The calendar of the `days` consecutive days from `firstDay` (days since 1970-01-01 of the
 * zone, core `localDay`): a window Saturday 5 to Sunday 20 September 2026 (16 days) holds 10
 * weekdays, two Saturdays and two Sundays.
 */
export function calendarOf(firstDay: number, days: number): WindowCalendar {
  const n = Math.max(1, days)
  const first = weekdayOf(firstDay)
  const weekdays = Array.from(
    { length: 7 },
    (_, w) => Math.floor(n / 7) + ((w - first + 7) % 7 < n % 7 ? 1 : 0),
  )
  return { days: n, weekdays }
}

/**
 * A window known only by its number of days: each weekday 1/7 of them. What a hand-built map or
 * a caller without the window's first day gets; {@link calendarOf} is exact.
 */
function spreadCalendar(days: number): WindowCalendar {
  const n = Math.max(1, days)
  return { days: n, weekdays: new Array<number>(7).fill(n / 7) }
}

/**
 * Classifies an edge's rhythm. Rules, in order (the first that holds wins); `presence` is the
 * sum of the hour-of-week profile (each flow once in each hour slot it is open in: the flows
 * themselves when each lies inside one hour), "share" means share of `presence`, so a backup
 * 01:00–04:00 is three night hours and a session 18:00–23:00 three night hours of five;
 * `windowDays` the calendar days the observation window touches:
 *
 * 1. `once`: active on at most 1 day, and in at most 1 hour-of-week slot or with every flow
 *    open in every slot of the profile (`presence = context.flows × slots`: one flow of three
 *    hours is one occurrence).
 * 2. `month-end`: active on ≥ 2 days; every active day-of-month slot is a month-end day
 *    ({@link MONTH_END_DAYS}); the days touch ≥ 2 distinct month ends and at least
 *    {@link RHYTHM_SHARE} of the month ends the window holds (`windowDays / 30.44`).
 * 3. `weekly`: active on ≤ 2 distinct weekdays (of `context.days` when given, else of the hour
 *    slots), on more days than weekdays (so ≥ 2 weeks), and on at least {@link RHYTHM_SHARE} of
 *    those weekdays' occurrences in the window (counted in its {@link WindowCalendar}).
 * 4. `nightly`: ≥ {@link SHARE} of presence in {@link NIGHT_HOURS}, active on ≥
 *    {@link REGULAR_DAYS} of the window's days.
 * 5. `business-hours`: ≥ {@link SHARE} of presence in {@link BUSINESS_HOURS} on weekdays, active
 *    on ≥ {@link BUSINESS_DAYS} of the window's weekdays (Monday–Friday of its
 *    {@link WindowCalendar}); the active days counted are weekdays where `context.days` gives
 *    them, else every active day.
 * 6. `continuous`: active on ≥ {@link REGULAR_DAYS} of the window's days. Traffic around the
 *    clock lands here, and so, as the fallback, does any other traffic present most days that
 *    fits no narrower pattern (e.g. a daily job at noon, weekends included).
 * 7. `rare`: everything else (seen on few days, without a rhythm above).
 *
 * An edge with a long-lived flow (`context.longestMs` ≥ {@link LONG_LIVED_MS}) skips rules 2–5:
 * it is there around the clock, whenever its connections were opened.
 *
 * For flows that each lie inside one hour slot, every rule reads the same as over their start
 * times alone.
 *
 * @param profile - flows per hour-of-week and day-of-month slot ({@link TimeProfile}).
 * @param activeDays - distinct days with a flow.
 * @param window - the observation window's {@link WindowCalendar} ({@link calendarOf}), or only
 *   its number of calendar days (≥ 1; smaller values are 1), each weekday then taken as 1/7 of
 *   them (a window that starts or ends on a weekend is then judged as holding more weekdays than
 *   it does).
 */
export function classifyPattern(
  profile: TimeProfile,
  activeDays: number,
  window: number | WindowCalendar,
  context: PatternContext = {},
): EdgePattern {
  const calendar = typeof window === 'number' ? spreadCalendar(window) : window
  const win = calendar.days
  const presence = sum(profile.hourOfWeek)
  const hourSlots = profile.hourOfWeek.filter((n) => n > 0).length
  if (
    activeDays <= 1 &&
    (hourSlots <= 1 || (context.flows !== undefined && presence === context.flows * hourSlots))
  )
    return 'once'
  const regular = activeDays >= REGULAR_DAYS * win
  if ((context.longestMs ?? 0) >= LONG_LIVED_MS) return regular ? 'continuous' : 'rare'

  // month-end
  const domSlots = profile.dayOfMonth.flatMap((n, i) => (n > 0 ? [i] : []))
  if (activeDays >= 2 && domSlots.length > 0 && domSlots.every(isMonthEndSlot)) {
    const ends =
      context.days !== undefined
        ? monthEndsOf(context.days)
        : // distinct slots: each month end has at most one slot per day, so slots ≤ days
          Math.min(domSlots.length, activeDays)
    const inWindow = Math.max(1, win / 30.44)
    if (ends >= 2 && ends >= RHYTHM_SHARE * inWindow) return 'month-end'
  }

  // weekly: the weekdays of the days (a flow over midnight is one occurrence, on its start day)
  const weekdays =
    context.days !== undefined
      ? new Set(context.days.map(weekdayOf))
      : new Set(profile.hourOfWeek.flatMap((n, i) => (n > 0 ? [Math.floor(i / 24)] : [])))
  let occurrences = 0
  for (const w of weekdays) occurrences += calendar.weekdays[w] ?? 0
  if (
    weekdays.size >= 1 &&
    weekdays.size <= 2 &&
    activeDays > weekdays.size &&
    activeDays >= RHYTHM_SHARE * occurrences
  )
    return 'weekly'

  let night = 0
  let business = 0
  profile.hourOfWeek.forEach((n, i) => {
    if (isNightHour(i % 24)) night += n
    if (isBusinessSlot(i)) business += n
  })
  if (regular && night >= SHARE * presence) return 'nightly'
  const activeWeekdays =
    context.days !== undefined ? context.days.filter((d) => weekdayOf(d) < 5).length : activeDays
  const windowWeekdays = calendar.weekdays.slice(0, 5).reduce((n, x) => n + x, 0)
  if (business >= SHARE * presence && activeWeekdays >= BUSINESS_DAYS * windowWeekdays)
    return 'business-hours'
  if (regular) return 'continuous'
  return 'rare'
}
