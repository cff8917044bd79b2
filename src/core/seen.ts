/**
 * @module When flows were seen: the time range of the flows that have a real time, and the count
 * of those that have none. One helper for every report with a window or a first/last seen
 * (discover, simulate, diff, recommend's evidence), so that none starts at 1970-01-01.
 * @remarks Semantics: README "bulkhead discover" (flows with no real time), session 19's
 * `discover/untimed-flows`. The masked timestamps are what Zeek's test canonifier writes for every
 * epoch time: zeek/zeek testing/scripts/diff-remove-timestamps replaces
 * `[0-9]{10}\.[0-9]{2,8}` with `XXXXXXXXXX.XXXXXX`, so such a log has no time at all.
 */

/**
 * The `start` (ms) of a flow with no real time: what a reader gives a record whose time is
 * unknown, such as the Zeek reader for the masked timestamps of Zeek's test canonifier
 * (`XXXXXXXXXX.XXXXXX`, note `masked-timestamp`; start = end = 0). Such a flow is judged and
 * counted like any other, but it is left out of every window and first/last seen, which
 * 1970-01-01 would stretch. Only start 0 counts: a real time in 1970 (a device whose clock was
 * never set) is data.
 */
export const NO_TIME_MS = 0

/** True when a flow starting at `start` (ms) has a real time ({@link NO_TIME_MS}). */
export function hasRealTime(start: number): boolean {
  return start !== NO_TIME_MS
}

/** A time range, ms since the epoch, UTC: the earliest start and the latest end. */
export interface SeenSpan {
  readonly first: number
  readonly last: number
}

/**
 * Accumulates when flows were seen: {@link span} is the earliest start and the latest end of the
 * flows with a real time; {@link untimed} counts those with none ({@link hasRealTime}).
 */
export class SeenRange {
  private first = Infinity
  private last = -Infinity
  /** Flows added with no real time. */
  untimed = 0

  /**
   * Adds `count` flows (default 1) whose earliest start is `start` and latest end is `end` (ms):
   * a group of flows with no real time when `start` is {@link NO_TIME_MS}, so a group must not
   * mix flows with and without one.
   */
  add(start: number, end: number, count = 1): void {
    if (!hasRealTime(start)) {
      this.untimed += count
      return
    }
    if (start < this.first) this.first = start
    if (end > this.last) this.last = end
  }

  /** The range of the flows with a real time; undefined when there are none. */
  span(): SeenSpan | undefined {
    return this.first <= this.last ? { first: this.first, last: this.last } : undefined
  }
}
