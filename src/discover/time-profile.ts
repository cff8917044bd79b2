/**
 * @module Time profiles of edges and the classification of an edge's rhythm into an
 * {@link EdgePattern}. Pure: no clock, no I/O. {@link profileOf} and the slot functions read
 * instants in UTC; the classification reads slots and days of whatever zone made them (the
 * dependency map's `timeZone`, UTC unless set).
 * @remarks Semantics: DESIGN.md "edge" (time profile: hours of week, days of month); issue 4
 * item 3. The thresholds are constants below, each with its reason.
 */
import { DAY_MS } from '../core/index.js'
import type { EdgePattern, TimeProfile } from './types.js'

/** ms per UTC day (the core's constant, kept here for this module's importers). */
export { DAY_MS }

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

/** The hour-of-week slot of an instant (ms UTC): 24·d + h, d = 0 for Monday. */
export function hourOfWeekSlot(ms: number): number {
  const d = new Date(ms)
  return ((d.getUTCDay() + 6) % 7) * 24 + d.getUTCHours()
}

/** The day-of-month slot of an instant (ms UTC): 0 for the 1st. */
export function dayOfMonthSlot(ms: number): number {
  return new Date(ms).getUTCDate() - 1
}

/** Adds `n` to `slots[i]` (an index inside the array). */
function bump(slots: number[], i: number, n: number): void {
  slots[i] = (slots[i] ?? 0) + n
}

/** The profile of flows starting at `starts` (ms UTC). */
export function profileOf(starts: Iterable<number>): TimeProfile {
  const p = emptyProfile()
  for (const s of starts) {
    bump(p.hourOfWeek, hourOfWeekSlot(s), 1)
    bump(p.dayOfMonth, dayOfMonthSlot(s), 1)
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
   * The active days themselves (UTC days since the epoch). When given, `month-end` counts the
   * distinct month ends they touch ({@link monthEndsOf}); otherwise it counts the distinct
   * month-end day-of-month slots, which can undercount but never overcounts.
   */
  readonly days?: readonly number[]
  /**
   * The longest flow of the edge, ms. A flow open for {@link LONG_LIVED_MS} or more (a database
   * pool, a replication link) is there at every hour of its days, whenever it started: such an
   * edge is `continuous` when regular, else `rare`, never a rhythm read from its start times.
   */
  readonly longestMs?: number
}

/** A flow open this long (ms, one day) is present around the clock ({@link PatternContext}). */
export const LONG_LIVED_MS = DAY_MS

function sum(xs: readonly number[]): number {
  let n = 0
  for (const x of xs) n += x
  return n
}

/**
 * Classifies an edge's rhythm. Rules, in order (the first that holds wins); `flows` is the sum
 * of the profile, "share" means share of `flows`, `windowDays` the UTC calendar days the
 * observation window touches:
 *
 * 1. `once`: active on at most 1 day and in at most 1 hour-of-week slot.
 * 2. `month-end`: active on ≥ 2 days; every active day-of-month slot is a month-end day
 *    ({@link MONTH_END_DAYS}); the days touch ≥ 2 distinct month ends and at least
 *    {@link RHYTHM_SHARE} of the month ends the window holds (`windowDays / 30.44`).
 * 3. `weekly`: active on ≤ 2 distinct weekdays, on more days than weekdays (so ≥ 2 weeks), and
 *    on at least {@link RHYTHM_SHARE} of those weekdays' occurrences in the window.
 * 4. `nightly`: ≥ {@link SHARE} of flows in {@link NIGHT_HOURS}, active on ≥ {@link REGULAR_DAYS}
 *    of the window's days.
 * 5. `business-hours`: ≥ {@link SHARE} of flows in {@link BUSINESS_HOURS} on weekdays, active on
 *    ≥ {@link BUSINESS_DAYS} of the window's weekdays (`windowDays · 5/7`).
 * 6. `continuous`: active on ≥ {@link REGULAR_DAYS} of the window's days. Traffic around the
 *    clock lands here, and so, as the fallback, does any other traffic present most days that
 *    fits no narrower pattern (e.g. a daily job at noon, weekends included).
 * 7. `rare`: everything else (seen on few days, without a rhythm above).
 *
 * An edge with a long-lived flow (`context.longestMs` ≥ {@link LONG_LIVED_MS}) skips rules 2–5:
 * its start times say when connections were opened, not when traffic flows.
 *
 * @param profile - flows per hour-of-week and day-of-month slot.
 * @param activeDays - distinct UTC days with a flow.
 * @param windowDays - UTC calendar days of the observation window (≥ 1; smaller values are 1).
 */
export function classifyPattern(
  profile: TimeProfile,
  activeDays: number,
  windowDays: number,
  context: PatternContext = {},
): EdgePattern {
  const win = Math.max(1, windowDays)
  const flows = sum(profile.hourOfWeek)
  const hourSlots = profile.hourOfWeek.filter((n) => n > 0).length
  if (activeDays <= 1 && hourSlots <= 1) return 'once'
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

  // weekly
  const byWeekday = new Array<number>(7).fill(0)
  profile.hourOfWeek.forEach((n, i) => bump(byWeekday, Math.floor(i / 24), n))
  const weekdays = byWeekday.filter((n) => n > 0).length
  if (
    weekdays >= 1 &&
    weekdays <= 2 &&
    activeDays > weekdays &&
    activeDays >= RHYTHM_SHARE * weekdays * (win / 7)
  )
    return 'weekly'

  let night = 0
  let business = 0
  profile.hourOfWeek.forEach((n, i) => {
    if (isNightHour(i % 24)) night += n
    if (isBusinessSlot(i)) business += n
  })
  if (regular && night >= SHARE * flows) return 'nightly'
  if (business >= SHARE * flows && activeDays >= BUSINESS_DAYS * win * (5 / 7))
    return 'business-hours'
  if (regular) return 'continuous'
  return 'rare'
}
