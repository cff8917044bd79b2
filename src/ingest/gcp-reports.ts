/**
 * @module GCP VPC Flow Logs: the reports remembered to drop the second report of the same
 * traffic (the SRC and DEST VMs both report it), shared by the files of one read.
 */

/** How many 5-tuples are remembered to drop the second report of a connection. */
export const GCP_DEDUP_WINDOW = 100_000

/**
 * Slack (ms) when matching the `SRC` and `DEST` reports of the same traffic by their intervals:
 * the default aggregation interval (5 s, `aggregationInterval` INTERVAL_5_SEC), since each VM
 * starts its interval at the first packet it samples.
 */
export const GCP_DEDUP_SLACK_MS = 5000

/** One report remembered for de-duplication. */
interface Report {
  readonly reporter: string | undefined
  readonly start: number
  readonly end: number
  readonly startText: string
}

/** Most reports remembered per 5-tuple (the oldest is forgotten first). */
const REPORTS_PER_KEY = 16

/**
 * Remembered reports by 5-tuple, to drop the second report of the same traffic. The two VMs of
 * a connection sample and aggregate on their own, so their `start_time`/`end_time` differ: a
 * report is the other end's report of a remembered one when the `reporter`s differ (`SRC` /
 * `DEST`) and the intervals overlap, allowing {@link GCP_DEDUP_SLACK_MS}; or, whatever the
 * reporters, when `start_time` is the same text (the same record exported twice). A matched
 * report is forgotten, so that it absorbs one report only.
 */
export class GcpReports {
  private readonly seen = new Map<string, Report[]>()
  /** True when `r` duplicates a remembered report (which is then forgotten); remembers `r` otherwise. */
  check(key: string, r: Report): boolean {
    const list = this.seen.get(key)
    if (list !== undefined) {
      let best = -1
      let bestGap = Infinity
      for (let i = 0; i < list.length; i++) {
        const p = list[i] as Report
        const gap = Math.abs(p.start - r.start)
        const same =
          p.startText === r.startText ||
          (p.reporter !== undefined &&
            r.reporter !== undefined &&
            p.reporter !== r.reporter &&
            r.start <= p.end + GCP_DEDUP_SLACK_MS &&
            p.start <= r.end + GCP_DEDUP_SLACK_MS)
        if (same && gap < bestGap) {
          best = i
          bestGap = gap
        }
      }
      if (best >= 0) {
        list.splice(best, 1)
        if (list.length === 0) this.seen.delete(key)
        return true
      }
      list.push(r)
      if (list.length > REPORTS_PER_KEY) list.shift()
      // most recently used last
      this.seen.delete(key)
      this.seen.set(key, list)
      return false
    }
    this.seen.set(key, [r])
    if (this.seen.size > GCP_DEDUP_WINDOW) {
      const oldest = this.seen.keys().next().value
      if (oldest !== undefined) this.seen.delete(oldest)
    }
    return false
  }
}
