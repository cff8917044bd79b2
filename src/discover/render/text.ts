/**
 * @module `discover` text output: a readable table of the top edges and the coverage warnings.
 */
import type { DependencyMap, Edge } from '../types.js'
import { iso, serviceText } from './json.js'
import { counted, DAY_MS, localDay, NO_TIME_MS } from '../../core/index.js'
import { lastInstant } from '../time-profile.js'

/** Pads columns to a common width; the last column is not padded. */
function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = []
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)))
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

/** The calendar day (`YYYY-MM-DD`) of the instant `ms` in `zone`, or in UTC without one. */
function day(ms: number, zone: string | undefined): string {
  return (zone === undefined ? iso(ms) : iso(localDay(ms, zone) * DAY_MS)).slice(0, 10)
}

/**
 * FIRST and LAST of an edge: its first and last active day (`days`, which DAYS counts), so a
 * short flow over midnight shows its start day and a flow ending at 00:00:00.000 (exclusive) not
 * that day. Without `days` (an edge built by hand), the days of `firstSeen` and of the last
 * instant before `lastSeen`.
 */
function firstAndLast(e: Edge, zone: string | undefined): [string, string] {
  const days = e.days ?? []
  const first = days[0]
  const last = days[days.length - 1]
  if (first !== undefined && last !== undefined)
    return [iso(first * DAY_MS).slice(0, 10), iso(last * DAY_MS).slice(0, 10)]
  return [day(e.firstSeen, zone), day(lastInstant({ start: e.firstSeen, end: e.lastSeen }), zone)]
}

/**
 * The pattern column's note on flows whose direction the source could not settle: every flow
 * (the edge may be the other way round), or how many of how many (one unsure flow among
 * thousands does not make the edge unsure).
 */
function unsure(e: Edge): string {
  if (e.unknownDirection === 0) return ''
  if (e.unknownDirection >= e.flows) return ' (direction unsure)'
  return ` (direction unsure for ${e.unknownDirection} of ${counted(e.flows, 'flow')})`
}

/**
 * Renders the window (UTC instants, and the time zone of days and patterns when it is not UTC),
 * then the first `limit` edges (map order: most flows first) as a table SOURCE, DESTINATION,
 * SERVICE, FLOWS, BYTES, DAYS, FIRST, LAST, PATTERN, then a count. FIRST and LAST are the first
 * and last active days in the map's time zone, as DAYS and PATTERN count them.
 */
export function renderText(map: DependencyMap, limit = 50): string {
  if (!map.window && map.edges.length === 0) return 'no flows in the selected window'
  const zone = map.timeZone !== undefined ? `; days and patterns in ${map.timeZone}` : ''
  const parts = [
    map.window
      ? `window ${iso(map.window.start)} to ${iso(map.window.end)}${zone}`
      : 'window: none (no flow has a real time)',
  ]
  const rows: string[][] = [
    ['SOURCE', 'DESTINATION', 'SERVICE', 'FLOWS', 'BYTES', 'DAYS', 'FIRST', 'LAST', 'PATTERN'],
  ]
  for (const e of map.edges.slice(0, limit)) {
    rows.push([
      e.src,
      e.dst,
      serviceText(e.protocol, e.dstPort),
      String(e.flows),
      String(e.bytes),
      String(e.activeDays),
      // an edge of flows with no real time only has no first or last day
      ...(e.firstSeen === NO_TIME_MS && e.lastSeen === NO_TIME_MS
        ? ['-', '-']
        : firstAndLast(e, map.timeZone)),
      e.pattern + unsure(e),
    ])
  }
  parts.push(table(rows))
  const shown = Math.min(limit, map.edges.length)
  const more = map.edges.length > shown ? ` (${shown} shown; use --top or -o json for all)` : ''
  // flows with no real time are in the edges, not in the window (discover/untimed-flows)
  const untimed = map.untimed ? `; ${counted(map.untimed, 'flow')} with no real time` : ''
  parts.push(
    `${counted(map.edges.length, 'edge')} between ${counted(map.entities.length, 'entity', 'entities')}${untimed}${more}`,
  )
  return parts.join('\n\n')
}
