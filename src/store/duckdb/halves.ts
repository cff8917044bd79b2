/**
 * @module Pairing across files: the two directions of an AWS or GCP VPC connection, each stored
 * as an unpaired half of its own file (`flow_rows.half`, schema version 4), merged into one
 * client → server flow by the store, with the rules reading uses for the two halves of one file
 * (ingest/direction.ts `DirectionPairer`, ingest/columnar.ts `ColumnPairer`).
 *
 * Why the store: a GCP Logging sink splits an hour into shards and a CloudWatch log stream holds
 * one interface's records, so the two records of one connection are often in different files;
 * reading pairs what one file holds, and the store, which holds the other files, pairs the rest
 * in the transaction that stores a file, as it settles refusals logged at the other end
 * (./batch.ts `settleBothEnds`).
 */
import { DuckDBListValue, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api'
import {
  addCounters,
  HALF_ECHO_ASSUMED,
  HALF_SWAPPED,
  type Flow,
  type ObservedAction,
} from '../../core/index.js'
import { FlowWriter, type Books } from './batch.js'

/**
 * Largest gap (ms) between two halves' time intervals that still pairs them: ingest's
 * `PAIR_SLACK_MS` (a test keeps the two equal).
 */
export const HALF_SLACK_MS = 60_000

/**
 * How much earlier (ms) than the earliest new half a stored half may start and still be looked
 * at: a record spans at most one aggregation interval (AWS: 10 minutes; GCP: up to 15), so an
 * hour leaves room, as for `settleBothEnds`.
 */
export const HALF_LOOKBACK_MS = 3_600_000

/** The unpaired halves an ingest wrote (`FlowWriter.halves`). */
export interface NewHalves {
  /** Earliest `start` and latest `end` of the new halves, ms since the epoch. */
  readonly lo: number
  readonly hi: number
  /** The `sources` ids of their files. */
  readonly sources: readonly number[]
}

/** What {@link pairHalves} did. */
export interface PairedHalves {
  /** Merged pairs (each one flow fewer in the store), by format. */
  readonly byFormat: Readonly<Record<string, number>>
  /** Earliest `start` of a merged flow (ms), or `Infinity` when none was merged. */
  readonly lo: number
  /** Latest `end` of a merged flow (ms), or `-Infinity` when none was merged. */
  readonly hi: number
}

const NONE: PairedHalves = { byFormat: {}, lo: Infinity, hi: -Infinity }

/** The client end as a half's record shows it: its own source, its destination, or no evidence. */
type Side = 'as-is' | 'swap' | 'unknown'

/** One stored unpaired half, with the record it was read from. */
interface Half {
  readonly id: bigint
  readonly source: number
  readonly format: string
  readonly file: string
  readonly line: number | undefined
  readonly record: number | undefined
  readonly protocol: number
  /** The group: format, protocol and the record's two endpoints in a fixed order ({@link groupKey}). */
  readonly key: string
  readonly start: number
  readonly end: number
  readonly packets: number
  readonly bytes: number
  readonly action: number
  readonly tcpFlags: number | undefined
  readonly half: number
  /** The record's ends as read: before orienting swapped them (`HALF_SWAPPED`), ports as written. */
  readonly src: string
  readonly dst: string
  readonly srcPort: number
  readonly dstPort: number
  readonly srcName: string | undefined
  readonly dstName: string | undefined
  readonly srcLabels: string | undefined
  readonly dstLabels: string | undefined
  /** Which end reading took for the client (ingest `decide` of the record). */
  readonly side: Side
}

const ACTIONS: readonly ObservedAction[] = ['accept', 'reject', 'unknown']

function num(v: DuckDBValue): number {
  return typeof v === 'bigint' ? Number(v) : (v as number)
}

function text(v: DuckDBValue): string | undefined {
  return typeof v === 'string' ? v : undefined
}

function opt(v: DuckDBValue): number | undefined {
  return v === null ? undefined : num(v)
}

/**
 * The group of a half: format, protocol and the record's two endpoints (address and port) in a
 * fixed order, so that a record and its reply have the same.
 */
function groupKey(
  format: string,
  protocol: number,
  src: string,
  srcPort: number,
  dst: string,
  dstPort: number,
): string {
  const a = `${src}|${String(srcPort)}`
  const b = `${dst}|${String(dstPort)}`
  return `${format}|${String(protocol)}|${a < b ? `${a}|${b}` : `${b}|${a}`}`
}

/**
 * A stored row (the columns of {@link CANDIDATES_SQL}) back to its half: the ends exchanged
 * again when orienting swapped them, the ports 0 and 0 again when reading took the ICMP type for
 * an echo request; the side from the stored direction (`client-to-server` is the evidence reading
 * found: the row's source is the client).
 */
function halfOf(r: readonly DuckDBValue[]): Half {
  const half = num(r[20] ?? 0)
  const swapped = (half & HALF_SWAPPED) !== 0
  const echo = (half & HALF_ECHO_ASSUMED) !== 0
  const rowSrc = r[6] as string
  const rowDst = r[7] as string
  const rowSrcPort = echo ? 0 : num(r[8] ?? 0)
  const rowDstPort = echo ? 0 : num(r[9] ?? 0)
  const rowSrcName = text(r[16] ?? null)
  const rowDstName = text(r[17] ?? null)
  const rowSrcLabels = text(r[18] ?? null)
  const rowDstLabels = text(r[19] ?? null)
  const direction = num(r[14] ?? 0)
  // the row's client: its source (1), its destination (2), or unknown (0)
  const rowSide: Side = direction === 1 ? 'as-is' : direction === 2 ? 'swap' : 'unknown'
  const side: Side =
    rowSide === 'unknown' || !swapped ? rowSide : rowSide === 'as-is' ? 'swap' : 'as-is'
  const flags = r[15]
  return {
    id: r[0] as bigint,
    source: num(r[1] ?? 0),
    format: r[2] as string,
    file: r[3] as string,
    line: opt(r[4] ?? null),
    record: opt(r[5] ?? null),
    protocol: num(r[21] ?? 0),
    key: groupKey(r[2] as string, num(r[21] ?? 0), rowSrc, rowSrcPort, rowDst, rowDstPort),
    start: num(r[10] ?? 0),
    end: num(r[11] ?? 0),
    packets: num(r[12] ?? 0),
    bytes: num(r[13] ?? 0),
    action: num(r[22] ?? 2),
    tcpFlags: flags === null || flags === undefined ? undefined : num(flags),
    half,
    src: swapped ? rowDst : rowSrc,
    dst: swapped ? rowSrc : rowDst,
    srcPort: swapped ? rowDstPort : rowSrcPort,
    dstPort: swapped ? rowSrcPort : rowDstPort,
    srcName: swapped ? rowDstName : rowSrcName,
    dstName: swapped ? rowSrcName : rowDstName,
    srcLabels: swapped ? rowDstLabels : rowSrcLabels,
    dstLabels: swapped ? rowSrcLabels : rowDstLabels,
    side,
  }
}

/**
 * The stored halves to look at: every unpaired half of `[lo, hi]` (by `start_ms`) whose class
 * holds a half of a new file (`sources`) and a half of another file near it in time. A class is
 * the protocol, the two addresses and the two ports, each pair in either order: every group
 * (format, protocol, the record's two endpoints) lies within one, also for an ICMP record read as
 * an echo request (its ports 0 and 8 or 128 are the same pair in its reply), so the query needs
 * no expression but `least`/`greatest` on plain columns, and {@link pairHalves} sorts the rows
 * into groups.
 */
const CANDIDATES_SQL = `
WITH h AS (
  SELECT source, protocol, start_ms, end_ms, least(src, dst) AS a1, greatest(src, dst) AS a2,
    least(src_port, dst_port) AS p1, greatest(src_port, dst_port) AS p2
  FROM flow_rows WHERE half <> 0 AND start_ms BETWEEN $lo AND $hi),
k AS (
  SELECT DISTINCT n.protocol, n.a1, n.a2, n.p1, n.p2
  FROM h n JOIN h o
    ON o.protocol = n.protocol AND o.a1 = n.a1 AND o.a2 = n.a2 AND o.p1 = n.p1 AND o.p2 = n.p2
  WHERE n.source IN (SELECT unnest($sources::UINTEGER[])) AND o.source <> n.source
    AND o.start_ms <= n.end_ms + ${String(HALF_SLACK_MS)}
    AND n.start_ms <= o.end_ms + ${String(HALF_SLACK_MS)})
SELECT fr.rowid, fr.source, so.format, so.file, fr.line, fr.record, sa.text, da.text, fr.src_port,
  fr.dst_port, fr.start_ms, fr.end_ms, fr.packets, fr.bytes, fr.direction, fr.tcp_flags,
  nm.src_name, nm.dst_name, nm.src_labels, nm.dst_labels, fr.half, fr.protocol,
  fr.observed_action
FROM flow_rows fr
  JOIN k ON fr.protocol = k.protocol AND least(fr.src, fr.dst) = k.a1
    AND greatest(fr.src, fr.dst) = k.a2 AND least(fr.src_port, fr.dst_port) = k.p1
    AND greatest(fr.src_port, fr.dst_port) = k.p2
  JOIN sources so ON so.id = fr.source
  JOIN addresses sa ON sa.id = fr.src JOIN addresses da ON da.id = fr.dst
  LEFT JOIN names nm ON nm.id = fr.names
WHERE fr.half <> 0 AND fr.start_ms BETWEEN $lo AND $hi`

/** (file, line or record, row id) order: the order of the files' records, as if concatenated by path. */
function byFileOrder(a: Half, b: Half): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1
  const la = a.line ?? a.record ?? 0
  const lb = b.line ?? b.record ?? 0
  if (la !== lb) return la - lb
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/** Time order: start, end, then {@link byFileOrder}. */
function byTime(a: Half, b: Half): number {
  return a.start - b.start || a.end - b.end || byFileOrder(a, b)
}

/**
 * True when `b` is the other half of `a` as reading pairs them (ingest `DirectionPairer.push`):
 * the record's ends exchanged (same group, so the other end matches too), the same action, time
 * intervals overlapping or at most {@link HALF_SLACK_MS} apart; and from another file (two halves
 * of one file that reading did not pair stay apart, as in that file).
 */
function pairs(a: Half, b: Half): boolean {
  return (
    a.source !== b.source &&
    a.src === b.dst &&
    a.srcPort === b.dstPort &&
    a.action === b.action &&
    b.start <= a.end + HALF_SLACK_MS &&
    a.start <= b.end + HALF_SLACK_MS
  )
}

/**
 * The flow of two halves, as ingest `merge` makes it from a held record `a` and the record `b`
 * that pairs with it: the client is the end `a`'s evidence names, else `b`'s, else `a`'s source
 * (direction then `unknown`); `a` is the half first in {@link byFileOrder} (the one a reading of
 * the files concatenated in path order would hold). Start the earlier, end the later, counters
 * summed (held at 2^53 − 1), TCP flags ORed, action and `source` of the client's half, names
 * and labels of the client's half, else the server's of the other end; an ICMP record read as an
 * echo request is read so again.
 */
function merge(a: Half, b: Half): Flow {
  let clientIsA = true
  let confident = true
  if (a.side !== 'unknown') clientIsA = a.side === 'as-is'
  else if (b.side !== 'unknown') clientIsA = b.side !== 'as-is'
  else confident = false
  const client = clientIsA ? a : b
  const server = clientIsA ? b : a
  let dstPort = client.dstPort
  if (
    ((a.half | b.half) & HALF_ECHO_ASSUMED) !== 0 &&
    client.srcPort === 0 &&
    dstPort === 0 &&
    (client.protocol === 1 || client.protocol === 58)
  )
    dstPort = client.protocol === 1 ? 8 : 128
  const srcName = client.srcName ?? server.dstName
  const dstName = client.dstName ?? server.srcName
  const srcLabels = client.srcLabels ?? server.dstLabels
  const dstLabels = client.dstLabels ?? server.srcLabels
  return {
    src: client.src,
    dst: client.dst,
    srcPort: client.srcPort,
    dstPort,
    protocol: client.protocol,
    start: Math.min(a.start, b.start),
    end: Math.max(a.end, b.end),
    packets: addCounters(a.packets, b.packets),
    bytes: addCounters(a.bytes, b.bytes),
    observedAction: ACTIONS[client.action] ?? 'unknown',
    direction: confident ? 'client-to-server' : 'unknown',
    source: {
      format: client.format,
      file: client.file,
      ...(client.line !== undefined ? { line: client.line } : {}),
      ...(client.record !== undefined ? { record: client.record } : {}),
    },
    ...(a.tcpFlags !== undefined || b.tcpFlags !== undefined
      ? { tcpFlags: (a.tcpFlags ?? 0) | (b.tcpFlags ?? 0) }
      : {}),
    ...(srcName !== undefined ? { srcName } : {}),
    ...(dstName !== undefined ? { dstName } : {}),
    ...(srcLabels !== undefined
      ? { srcLabels: JSON.parse(srcLabels) as Record<string, string> }
      : {}),
    ...(dstLabels !== undefined
      ? { dstLabels: JSON.parse(dstLabels) as Record<string, string> }
      : {}),
  }
}

/**
 * The pairs of one group (halves of one format, protocol and pair of endpoints), found as
 * reading finds them in one file, over the group's halves in time order: a half is held until
 * the next one; that one pairs with it ({@link pairs}) or is held in its place.
 */
function pairGroup(halves: Half[]): [Half, Half][] {
  halves.sort(byTime)
  const out: [Half, Half][] = []
  let held: Half | undefined
  for (const h of halves) {
    if (held !== undefined && pairs(held, h)) {
      out.push(byFileOrder(held, h) <= 0 ? [held, h] : [h, held])
      held = undefined
    } else held = h
  }
  return out
}

/**
 * Pairs the unpaired halves of different files: after an ingest has written `added` (its new
 * halves), every stored half of a group that holds a new half and a half of another file near
 * it in time is looked at; within a group, in time order, two halves of different files that
 * reading would pair (the record's ends exchanged, the same action, time intervals overlapping
 * or at most {@link HALF_SLACK_MS} apart) are merged into one flow as reading merges them (see
 * {@link merge}): the two rows are deleted and the flow is written in their place, no longer a
 * half. Runs in the caller's transaction, before `settleBothEnds` (which then sees the merged
 * flows, as it sees the pairs reading merged).
 *
 * Cost: when the store holds no half of another file in the time span (a single file into a new
 * store), one query that stops there (6 ms CPU over the 0.68 M halves of the 2.8 M flows of the
 * `ingest` benchmark); else a hash join of the halves of the span with themselves (`half <> 0`
 * and the `start_ms` bounds: row groups outside the span, or without halves, are skipped by their
 * zonemaps; ≈ 0.25 s CPU over those 0.68 M halves, measured 2026-11-23 on a loaded 2-core
 * machine), and work in JS only for the classes with a half on each side.
 * @returns the merges by format and the time span of the merged flows.
 */
export async function pairHalves(
  conn: DuckDBConnection,
  books: Books,
  added: NewHalves | undefined,
): Promise<PairedHalves> {
  if (added === undefined || added.sources.length === 0) return NONE
  const lo = Math.max(-8.64e15, added.lo - HALF_LOOKBACK_MS)
  const hi = Math.min(8.64e15, added.hi + HALF_SLACK_MS)
  const sources = new DuckDBListValue([...added.sources])
  if (added.sources.length === 1) {
    // the common case of one file into a store holding no half of another file in its span
    const other = await conn.runAndReadAll(
      `SELECT count(*) FROM (SELECT 1 FROM flow_rows WHERE half <> 0 AND start_ms BETWEEN $lo AND $hi
         AND source <> $source LIMIT 1)`,
      { lo: BigInt(Math.floor(lo)), hi: BigInt(Math.ceil(hi)), source: added.sources[0] ?? 0 },
    )
    if (num(other.getRows()[0]?.[0] ?? 0) === 0) return NONE
  }
  const r = await conn.runAndReadAll(CANDIDATES_SQL, {
    lo: BigInt(Math.floor(lo)),
    hi: BigInt(Math.ceil(hi)),
    sources,
  })
  const groups = new Map<string, Half[]>()
  for (const row of r.getRows()) {
    const h = halfOf(row)
    const g = groups.get(h.key)
    if (g === undefined) groups.set(h.key, [h])
    else g.push(h)
  }
  const merged: Flow[] = []
  const gone: bigint[] = []
  const byFormat: Record<string, number> = {}
  let mlo = Infinity
  let mhi = -Infinity
  for (const g of groups.values()) {
    for (const [a, b] of pairGroup(g)) {
      const f = merge(a, b)
      merged.push(f)
      gone.push(a.id, b.id)
      byFormat[f.source.format] = (byFormat[f.source.format] ?? 0) + 1
      if (f.start < mlo) mlo = f.start
      if (f.end > mhi) mhi = f.end
    }
  }
  if (merged.length === 0) return NONE
  await conn.run(`DELETE FROM flow_rows WHERE rowid IN (SELECT unnest($ids::BIGINT[]))`, {
    ids: new DuckDBListValue(gone),
  })
  const w = await FlowWriter.open(conn, undefined, books)
  try {
    for (const f of merged) if (w.add(f)) await w.rotate()
    await w.finish()
  } catch (err) {
    await w.abort()
    throw err
  }
  return { byFormat, lo: mlo, hi: mhi }
}
