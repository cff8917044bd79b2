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

/**
 * One remembered report as the store keeps it between commands (store `gcp_reports`, schema
 * version 6): its 5-tuple key (`protocol|src|srcPort|dst|dstPort`, addresses as canonical text),
 * `reporter` (`SRC`, `DEST`; undefined when the record had none), `start`/`end` ms since the
 * epoch, and `startText`, the record's `start_time` as written.
 */
export interface RememberedReport extends Report {
  readonly key: string
}

/** What changed in a {@link GcpReports} since the last {@link GcpReports.drain}. */
export interface ReportChanges {
  /** Reports remembered since, and still remembered. */
  readonly added: readonly RememberedReport[]
  /** Reports remembered before (stored) and forgotten since: matched, or pushed out. */
  readonly removed: readonly RememberedReport[]
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
  /** Reports remembered since the last drain, with their keys (see {@link drain}). */
  private added = new Map<Report, string>()
  /** Reports remembered before the last drain and forgotten since. */
  private removed: RememberedReport[] = []

  /**
   * Remembers the reports an earlier command left (the store's `gcp_reports`, in the order they
   * were remembered), before anything is read: a report of this read then meets them as it meets
   * a report of an earlier file of the read, so the second report of the same traffic is dropped
   * also when the first was stored by another command. Not journalled: they are stored already.
   */
  seed(reports: Iterable<RememberedReport>): void {
    for (const r of reports) {
      const { key, ...report } = r
      const list = this.seen.get(key)
      if (list === undefined) this.seen.set(key, [report])
      else list.push(report)
    }
  }

  /**
   * The changes since the last call, for the store to keep for the next command (in the
   * transaction that stores the files read): reports remembered and still held, and stored
   * reports that were forgotten since (matched, or pushed out by newer ones), so that what the
   * store keeps is what this read remembers. Clears the journal.
   */
  drain(): ReportChanges {
    const added = [...this.added].map(([r, key]) => ({ key, ...r }))
    const removed = this.removed
    this.added = new Map()
    this.removed = []
    return { added, removed }
  }

  /** Journals that `r` of `key` was forgotten (matched, or pushed out by newer reports). */
  private forget(key: string, r: Report): void {
    if (!this.added.delete(r)) this.removed.push({ key, ...r })
  }
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
        this.forget(key, list[best] as Report)
        list.splice(best, 1)
        if (list.length === 0) this.seen.delete(key)
        return true
      }
      list.push(r)
      this.added.set(r, key)
      if (list.length > REPORTS_PER_KEY) this.forget(key, list.shift() as Report)
      // most recently used last
      this.seen.delete(key)
      this.seen.set(key, list)
      return false
    }
    this.seen.set(key, [r])
    this.added.set(r, key)
    if (this.seen.size > GCP_DEDUP_WINDOW) {
      const oldest = this.seen.keys().next().value
      if (oldest !== undefined) {
        for (const p of this.seen.get(oldest) ?? []) this.forget(oldest, p)
        this.seen.delete(oldest)
      }
    }
    return false
  }
}
