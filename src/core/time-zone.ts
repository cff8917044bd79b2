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

/** An IANA zone name: `Area/Location[/Sub]`, or a single word such as `UTC`. No offsets. */
const IANA_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+){0,2}$/

const formatters = new Map<string, Intl.DateTimeFormat>()

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone)
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
    })
    formatters.set(zone, f)
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
