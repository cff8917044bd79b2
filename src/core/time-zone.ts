/**
 * @module Time zones of the calendar views of flows (time profiles, active days, the window's
 * days): the canonical name of an IANA zone and the local calendar day of an instant. Instants
 * stay ms since the epoch everywhere; only these views are local.
 *
 * Pure: the zone rules are the ICU time-zone data built into Node (`Intl`); no clock, no I/O.
 * @see https://www.iana.org/time-zones (the tz database); ECMA-402 `Intl.DateTimeFormat` timeZone.
 */

/** The zone of every calendar view unless the workspace or `--time-zone` names another. */
export const UTC_ZONE = 'UTC'

/** ms per UTC day (24 h; a local day is 23 or 25 h on a DST change, see {@link localDay}). */
export const DAY_MS = 86_400_000

/** ms per hour. */
export const HOUR_MS = 3_600_000

/** An IANA zone name: `Area/Location[/Sub]`, or a single word such as `UTC`. No offsets. */
const IANA_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+){0,2}$/

const formatters = new Map<string, Intl.DateTimeFormat>()

/** A cached `en-US` formatter of `zone` giving the date, and the time of day when `clock`. */
function formatter(zone: string, clock = false): Intl.DateTimeFormat {
  const key = `${clock ? 'clock' : 'date'} ${zone}`
  let f = formatters.get(key)
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      ...(clock
        ? { hour: 'numeric', minute: 'numeric', second: 'numeric', hourCycle: 'h23' as const }
        : {}),
    })
    formatters.set(key, f)
  }
  return f
}

/**
 * The canonical name of an IANA time zone (`europe/berlin` → `Europe/Berlin`, `Etc/UTC` →
 * `UTC`), or `undefined` when Node's time-zone data has no zone of that name. Fixed offsets
 * (`+05:30`) are refused: DuckDB's ICU, which computes the same views in SQL, reads zone names;
 * `Etc/GMT-5` is the IANA name of UTC+5.
 */
export function canonicalTimeZone(name: string): string | undefined {
  if (!IANA_NAME.test(name)) return undefined
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone
  } catch {
    return undefined
  }
}

/**
 * The calendar day the instant `ms` falls on in `zone`, as days since 1970-01-01 (the same
 * numbering as a UTC day: `Math.floor(ms / 86 400 000)` when `zone` is UTC).
 * @param zone - a canonical zone name ({@link canonicalTimeZone}).
 * @throws RangeError when `zone` is not a zone name.
 */
export function localDay(ms: number, zone: string): number {
  if (zone === UTC_ZONE) return Math.floor(ms / DAY_MS)
  let y = 0
  let m = 0
  let d = 0
  for (const p of formatter(zone).formatToParts(ms)) {
    if (p.type === 'year') y = Number(p.value)
    else if (p.type === 'month') m = Number(p.value)
    else if (p.type === 'day') d = Number(p.value)
  }
  return Math.floor(Date.UTC(y, m - 1, d) / DAY_MS)
}

/**
 * The wall-clock time of the instant `ms` in `zone`, as ms since 1970-01-01 00:00 of that wall
 * clock: read it with the `getUTC…` methods of a `Date` (`new Date(localWallClock(t, 'Asia/Tokyo'))
 * .getUTCHours()` is Tokyo's hour). `ms` itself when `zone` is UTC; the offset of the zone at
 * `ms` is `localWallClock(ms, zone) − ms`. In a repeated hour (DST ends) two instants read the
 * same wall clock; no instant reads a skipped one.
 * @param zone - a canonical zone name ({@link canonicalTimeZone}).
 * @throws RangeError when `zone` is not a zone name.
 */
export function localWallClock(ms: number, zone: string): number {
  if (zone === UTC_ZONE) return ms
  const v: Record<string, number> = {}
  for (const p of formatter(zone, true).formatToParts(ms))
    if (p.type !== 'literal') v[p.type] = Number(p.value)
  const wall = Date.UTC(
    v['year'] ?? 1970,
    (v['month'] ?? 1) - 1,
    v['day'] ?? 1,
    v['hour'] ?? 0,
    v['minute'] ?? 0,
    v['second'] ?? 0,
  )
  return wall + (((ms % 1000) + 1000) % 1000)
}
