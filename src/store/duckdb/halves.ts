/**
 * @module Pairing across files: the two directions of an AWS or GCP VPC connection, each stored
 * as an unpaired half of its own file (`flow_rows.half`, schema version 4), merged into one
 * client → server flow by the store, with the rules reading uses for the two halves of one file
 * (ingest/direction.ts `DirectionPairer`, ingest/columnar.ts `ColumnPairer`). NetFlow/IPFIX and
 * goflow2 halves carry their exporter (`flow_rows.exporter`, schema version 5; NULL for AWS and
 * GCP, one scope): two halves pair only when it is the same, as reading pairs per exporter
 * (ingest/netflow/pairing.ts `ExporterPairer`), so two exporters' records never merge.
 *
 * Why the store: a GCP Logging sink splits an hour into shards and a CloudWatch log stream holds
 * one interface's records, so the two records of one connection are often in different files;
 * reading pairs what one file holds, and the store, which holds the other files, pairs the rest
 * in the transaction that stores a file, as it settles refusals logged at the other end
 * (./batch.ts `settleBothEnds`).
 *
 * The work is SQL over the halves (window functions for the order in which halves meet, one
 * `INSERT … SELECT` for the merged flows, one `DELETE` for the halves they replace): a shard split
 * of a GCP sink, or of the `ingest` benchmark's file, pairs about a million halves across files,
 * which as rows read into JavaScript took about 45 s (converting DuckDB values alone about 20 s)
 * and in SQL takes seconds.
 */
import { DuckDBListValue } from './api.js'
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api'
import {
  HALF_ECHO_ASSUMED,
  HALF_ICMP_TYPED,
  HALF_SWAPPED,
  MAX_COUNTER,
  ORED_TCP_FLAGS_FORMATS,
  type Flow,
} from '../../core/index.js'
import { icmpRequestTypeSql } from '../store.js'
import { FLOW_COLUMNS } from './schema.js'
import { FlowWriter, type Books, type NameTuple } from './batch.js'

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
  /** True when one of them is a typed ICMP half (core `HALF_ICMP_TYPED`). */
  readonly icmpTyped?: boolean
}

/** What {@link pairHalves} did. */
export interface PairedHalves {
  /** Merged pairs (each one flow fewer in the store), by format. */
  readonly byFormat: Readonly<Record<string, number>>
  /** Of those, TCP pairs read `reject` because the server answered the SYN with a reset. */
  readonly refused: number
  /** Earliest `start` of a merged flow (ms), or `Infinity` when none was merged. */
  readonly lo: number
  /** Latest `end` of a merged flow (ms), or `-Infinity` when none was merged. */
  readonly hi: number
}

const NONE: PairedHalves = { byFormat: {}, refused: 0, lo: Infinity, hi: -Infinity }

/** Temporary tables of one pairing (the store's connection; dropped at the end). */
const HALVES = 'temp.bulkhead_halves'
const MERGED = 'temp.bulkhead_merged'

const SWAPPED = String(HALF_SWAPPED)
const ECHO = String(HALF_ECHO_ASSUMED)
const TYPED = String(HALF_ICMP_TYPED)
const SLACK = String(HALF_SLACK_MS)

/**
 * SQL: the destination port by which the class of a half of `flow_rows` (column prefix `r`) is
 * found: for a typed ICMP half (`HALF_ICMP_TYPED`) the type of the request it is or answers, so
 * that an echo request (type 8) and its reply (type 0) fall in one class; else `dst_port`.
 */
function classPortSql(r: string): string {
  return `CASE WHEN (${r}half & ${TYPED}) <> 0 THEN ${icmpRequestTypeSql(`${r}protocol`, `${r}dst_port`)} ELSE ${r}dst_port END`
}

/**
 * The halves to look at, each with the record it was read from: every unpaired half of
 * `[$lo, $hi]` (by `start_ms`) whose class holds a half of a new file (`$sources`) and a half of
 * another file near it in time. A class is the protocol, the two addresses and the two ports, each
 * pair in either order: every group (format, protocol, the record's two endpoints) lies within
 * one, also for an ICMP record read as an echo request (its ports 0 and 8 or 128 are the same pair
 * in its reply), so finding them needs only `least`/`greatest` on plain columns.
 * A typed ICMP half (`HALF_ICMP_TYPED`: NetFlow/IPFIX, goflow2) counts, for its class, the type of
 * the request it is or answers ({@link classPortSql}) as its destination port, so that an echo
 * request (type 8) and its reply (type 0) are one class; its group is reading's `icmpKey` (ingest
 * direction.ts): the request's client and server, type and code, in that order (`g1` the client
 * · 65536 + code, `g2` the server · 65536 + request type; `ty` keeps these groups apart from the
 * others), so a group holds requests one way and their replies the other.
 *
 * The exporter (`ex`: `flow_rows.exporter`, NULL for AWS and GCP, equal to NULL here: `IS NOT
 * DISTINCT FROM`) is part of the class and of the group.
 *
 * Columns: the row (`id` its rowid, its `names` id, `swapped` when orienting exchanged its ends,
 * `HALF_SWAPPED`; `ty` when it is a typed ICMP half, `qt` the type of the request it is or
 * answers), `fmt` and `frank` the rank of its format and of its file's path among the
 * store's, `pos` its line (or record) in its file, and the record: `rs`/`rsp`, `rd`/`rdp` its
 * source and destination address id and port (the row's ends exchanged again when swapped;
 * ports 0 and 0 when reading took its ICMP type for echo, `HALF_ECHO_ASSUMED`); `side` which end
 * reading took for the client (1 its source, 2 its destination, 0 no evidence: from the stored
 * direction, which is what the evidence said, as ingest `decide`) and `strength` how strong that
 * evidence is (2 TCP flags, 1 ports, 0 none, as ingest `decide`); `g1`, `g2` its two endpoints
 * in a fixed order (address id · 65536 + port). Integers only: the sort of {@link MERGED_SQL}
 * is over these.
 *
 * `typed`: the new halves include a typed ICMP half. Without one (every AWS and GCP ingest) no
 * class holding a new half needs the ICMP types read, and the query is the plain one: typed
 * halves are left out and no row pays for the `CASE`s.
 */
const halvesSql = (typed: boolean): string => `
CREATE OR REPLACE TEMP TABLE bulkhead_halves AS
WITH h AS (
  SELECT source, protocol, start_ms, end_ms, least(src, dst) AS a1, greatest(src, dst) AS a2,
    ${
      typed
        ? `least(src_port, ${classPortSql('')}) AS p1, greatest(src_port, ${classPortSql('')}) AS p2`
        : 'least(src_port, dst_port) AS p1, greatest(src_port, dst_port) AS p2'
    }, exporter AS ex
  FROM flow_rows WHERE half <> 0 AND start_ms BETWEEN $lo AND $hi),
k AS (
  SELECT DISTINCT n.protocol, n.a1, n.a2, n.p1, n.p2, n.ex
  FROM h n JOIN h o
    ON o.protocol = n.protocol AND o.a1 = n.a1 AND o.a2 = n.a2 AND o.p1 = n.p1 AND o.p2 = n.p2
      AND o.ex IS NOT DISTINCT FROM n.ex
  WHERE n.source IN (SELECT unnest($sources::UINTEGER[])) AND o.source <> n.source
    AND o.start_ms <= n.end_ms + ${SLACK} AND n.start_ms <= o.end_ms + ${SLACK}),
so AS (
  SELECT id, dense_rank() OVER (ORDER BY format) AS fmt, dense_rank() OVER (ORDER BY file) AS frank,
    format IN (${[...ORED_TCP_FLAGS_FORMATS].map((f) => `'${f}'`).join(', ')}) AS ored
  FROM sources),
c AS (
  SELECT fr.rowid AS id, fr.*, so.fmt, so.frank, so.ored, coalesce(fr.line, fr.record, 0) AS pos,
    (fr.half & ${SWAPPED}) <> 0 AS swapped,
    ${typed ? `(fr.half & ${TYPED}) <> 0 AS ty, ${icmpRequestTypeSql('fr.protocol', 'fr.dst_port')} AS qt` : 'false AS ty, fr.dst_port AS qt'},
    CASE WHEN (fr.half & ${ECHO}) <> 0 THEN 0 ELSE fr.src_port END AS sp,
    CASE WHEN (fr.half & ${ECHO}) <> 0 THEN 0 ELSE fr.dst_port END AS dp
  FROM flow_rows fr
    JOIN k ON fr.protocol = k.protocol AND least(fr.src, fr.dst) = k.a1
      AND greatest(fr.src, fr.dst) = k.a2 AND ${
        typed
          ? `least(fr.src_port, ${classPortSql('fr.')}) = k.p1
      AND greatest(fr.src_port, ${classPortSql('fr.')}) = k.p2`
          : 'least(fr.src_port, fr.dst_port) = k.p1 AND greatest(fr.src_port, fr.dst_port) = k.p2'
      }
      AND fr.exporter IS NOT DISTINCT FROM k.ex
    JOIN so ON so.id = fr.source
  WHERE fr.half <> 0 AND fr.start_ms BETWEEN $lo AND $hi${typed ? '' : ` AND (fr.half & ${TYPED}) = 0`})
SELECT id, source, fmt, exporter AS ex, ty, frank, pos, line, record, protocol,
  start_ms, end_ms, packets, bytes, observed_action AS action, tcp_flags, half, names, swapped,
  CASE WHEN swapped THEN dst ELSE src END AS rs, CASE WHEN swapped THEN dp ELSE sp END AS rsp,
  CASE WHEN swapped THEN src ELSE dst END AS rd, CASE WHEN swapped THEN sp ELSE dp END AS rdp,
  CASE WHEN direction = 0 THEN 0 WHEN (direction = 1) <> swapped THEN 1 ELSE 2 END AS side,
  -- how strong the evidence behind side is (ingest direction.ts decide): TCP flags 2, ports 1
  CASE WHEN direction = 0 THEN 0
    WHEN protocol = 6 AND tcp_flags IS NOT NULL AND (tcp_flags & 2) <> 0
      AND ((tcp_flags & 16) = 0 OR ((tcp_flags & 8) = 0 AND NOT ored)) THEN 2
    ELSE 1 END AS strength,
  ${
    typed
      ? `CASE WHEN ty THEN (CASE WHEN qt <> dst_port THEN dst ELSE src END)::UBIGINT * 65536 + src_port
    ELSE least(src::UBIGINT * 65536 + sp, dst::UBIGINT * 65536 + dp) END AS g1,
  CASE WHEN ty THEN (CASE WHEN qt <> dst_port THEN src ELSE dst END)::UBIGINT * 65536 + qt
    ELSE greatest(src::UBIGINT * 65536 + sp, dst::UBIGINT * 65536 + dp) END AS g2`
      : `least(src::UBIGINT * 65536 + sp, dst::UBIGINT * 65536 + dp) AS g1,
  greatest(src::UBIGINT * 65536 + sp, dst::UBIGINT * 65536 + dp) AS g2`
  }
FROM c`

/** A column of the client's half: `a`'s when `cl`, else `b`'s. */
const client = (col: string): string => `CASE WHEN cl THEN a.${col} ELSE b.${col} END`
/** The server's half's column (`b` when the client is `a`). */
const server = (col: string): string => `CASE WHEN cl THEN b.${col} ELSE a.${col} END`

/** The other end's column of a names row: a record stored turned round has its names turned too. */
const OTHER_END: Readonly<Record<string, string>> = {
  src_name: 'dst_name',
  dst_name: 'src_name',
  src_labels: 'dst_labels',
  dst_labels: 'src_labels',
}

/**
 * A name or labels column (`src_name`, …) of the record of the client's half or the server's: of
 * its names row (`na` for `a`, `nb` for `b`), the other end's column when the row is the record
 * turned round.
 */
function recordName(whose: 'client' | 'server', col: string): string {
  const other = OTHER_END[col] as string
  const of = (h: 'a' | 'b'): string => {
    const n = h === 'a' ? 'na' : 'nb'
    return `CASE WHEN ${h}.swapped THEN ${n}.${other} ELSE ${n}.${col} END`
  }
  const [first, second] = whose === 'client' ? (['a', 'b'] as const) : (['b', 'a'] as const)
  return `CASE WHEN cl THEN ${of(first)} ELSE ${of(second)} END`
}

/**
 * The pairs and the flow of each, as reading makes them:
 *
 * - within a group (format, exporter, protocol, the record's two endpoints), the halves in time order
 *   (start, end, then file, line, row): each is held until the next, which pairs with it or is
 *   held in its place (ingest `DirectionPairer.push`). Two neighbours pair (`link`) when they are
 *   of different files (two halves of one file that reading did not pair stay apart, as in that
 *   file), the record's ends are exchanged (typed ICMP: its addresses, the request's type and
 *   code being the group's), the action is the same and the time intervals overlap
 *   or are at most {@link HALF_SLACK_MS} apart. In a run of neighbours that each link to the next,
 *   the first pairs with the second, the third with the fourth, and so on (`rn - z - 1` even: `z`
 *   is the last half before that did not link to its next);
 * - the flow (ingest `merge`, with `a` the half first in path order — file, then line — as a
 *   reading of the files concatenated in path order would hold it, and `b` the other): the client
 *   (`cl`: `a`) is the end the stronger evidence names (`strength`: TCP flags over ports), `a`'s
 *   when as strong, else `b`'s, else `a`'s source, and the direction is then `unknown`; start the earlier, end the later; packets and bytes summed, held at 2^53 − 1;
 *   action, `source`, line and record of the client's half; TCP flags ORed; names and labels of
 *   the client's record, else the server's of the other end; an ICMP record read as an echo
 *   request is read so again. `names` is the id of the merged names where the store has them;
 *   `new_names` marks a flow whose names the store has not (written by {@link pairHalves} through
 *   its book instead).
 */
const MERGED_SQL = `
CREATE OR REPLACE TEMP TABLE bulkhead_merged AS
WITH s AS (
  SELECT id, source, fmt, ex, ty, protocol, g1, g2, rs, rsp, rd, rdp, action, start_ms, end_ms, frank,
    pos, row_number() OVER w AS rn,
    lead(id) OVER w AS n_id, lead(source) OVER w AS n_source, lead(rs) OVER w AS n_rs,
    lead(rd) OVER w AS n_rd,
    lead(rsp) OVER w AS n_rsp, lead(action) OVER w AS n_action,
    lead(start_ms) OVER w AS n_start, lead(end_ms) OVER w AS n_end,
    lead(frank) OVER w AS n_frank, lead(pos) OVER w AS n_pos
  FROM ${HALVES}
  WINDOW w AS (PARTITION BY fmt, ex, ty, protocol, g1, g2 ORDER BY start_ms, end_ms, frank, pos, id)),
l AS (
  SELECT *, coalesce(n_id IS NOT NULL AND n_source <> source AND rd = n_rs
    AND CASE WHEN ty THEN rs = n_rd ELSE rdp = n_rsp END AND action = n_action AND n_start <= end_ms + ${SLACK} AND start_ms <= n_end + ${SLACK},
    false) AS link
  FROM s),
t AS (
  SELECT *, coalesce(max(CASE WHEN NOT link THEN rn END) OVER (PARTITION BY fmt, ex, ty, protocol,
    g1, g2 ORDER BY rn ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS z
  FROM l),
p AS (
  SELECT CASE WHEN first THEN id ELSE n_id END AS a_id, CASE WHEN first THEN n_id ELSE id END AS b_id
  FROM (SELECT *, frank < n_frank OR (frank = n_frank AND (pos < n_pos OR (pos = n_pos AND id < n_id)))
    AS first FROM t WHERE link AND (rn - z - 1) % 2 = 0)),
f AS (
  SELECT a.id AS a_id, b.id AS b_id,
    -- DuckDB reads an alias of this SELECT list in the expressions after it
    CASE WHEN a.side <> 0 AND a.strength >= b.strength THEN a.side = 1
      WHEN b.side <> 0 THEN b.side <> 1 ELSE true END AS cl,
    a.side <> 0 OR b.side <> 0 AS confident,
    ${client('rs')} AS src, ${client('rd')} AS dst, ${client('rsp')} AS src_port,
    CASE WHEN ((a.half | b.half) & ${ECHO}) <> 0 AND ${client('rsp')} = 0 AND ${client('rdp')} = 0
      AND a.protocol IN (1, 58) THEN CASE WHEN a.protocol = 1 THEN 8 ELSE 128 END
      ELSE ${client('rdp')} END AS dst_port,
    a.protocol, least(a.start_ms, b.start_ms) AS start_ms, greatest(a.end_ms, b.end_ms) AS end_ms,
    least(a.packets + b.packets, ${String(MAX_COUNTER)}::UBIGINT) AS packets,
    least(a.bytes + b.bytes, ${String(MAX_COUNTER)}::UBIGINT) AS bytes,
    -- a refused TCP connection no record judged (direction.ts refusedByReset): the client's SYN
    -- without ACK answered by RST without SYN; the halves' actions are equal (they pair so)
    confident AND a.protocol = 6 AND a.action = 2 AND (${client('tcp_flags')} & 18) = 2
      AND (${server('tcp_flags')} & 6) = 4 AS refused,
    CASE WHEN coalesce(refused, false) THEN 1 ELSE ${client('action')} END AS observed_action,
    CASE WHEN confident THEN 1 ELSE 0 END AS direction,
    ${client('source')} AS source, ${client('line')} AS line, ${client('record')} AS record,
    CASE WHEN a.tcp_flags IS NULL AND b.tcp_flags IS NULL THEN NULL
      ELSE coalesce(a.tcp_flags, 0) | coalesce(b.tcp_flags, 0) END AS tcp_flags,
    coalesce(${recordName('client', 'src_name')}, ${recordName('server', 'dst_name')}) AS src_name,
    coalesce(${recordName('client', 'dst_name')}, ${recordName('server', 'src_name')}) AS dst_name,
    coalesce(${recordName('client', 'src_labels')}, ${recordName('server', 'dst_labels')}) AS src_labels,
    coalesce(${recordName('client', 'dst_labels')}, ${recordName('server', 'src_labels')}) AS dst_labels
  FROM p JOIN ${HALVES} a ON a.id = p.a_id JOIN ${HALVES} b ON b.id = p.b_id
    LEFT JOIN names na ON na.id = a.names LEFT JOIN names nb ON nb.id = b.names)
SELECT f.*, nm.id AS names,
  nm.id IS NULL AND NOT (f.src_name IS NULL AND f.dst_name IS NULL AND f.src_labels IS NULL
    AND f.dst_labels IS NULL) AS new_names
FROM f LEFT JOIN names nm ON nm.src_name IS NOT DISTINCT FROM f.src_name
  AND nm.dst_name IS NOT DISTINCT FROM f.dst_name AND nm.src_labels IS NOT DISTINCT FROM f.src_labels
  AND nm.dst_labels IS NOT DISTINCT FROM f.dst_labels`

/** The merged flows whose names the store has (or that have none), into `flow_rows`. */
const INSERT_SQL = `INSERT INTO flow_rows SELECT ${FLOW_COLUMNS.map((c) =>
  c.name === 'half' ? '0' : c.name === 'exporter' ? 'NULL' : c.name,
).join(', ')} FROM ${MERGED} WHERE NOT new_names`

function num(v: DuckDBValue): number {
  return typeof v === 'bigint' ? Number(v) : (v as number)
}

function text(v: DuckDBValue | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined
}

/**
 * The merged flows whose names and labels are a tuple the store has not stored yet (one end
 * named only by the other half's record: rare), as {@link Flow}s, from the store's books.
 */
async function flowsWithNewNames(conn: DuckDBConnection, books: Books): Promise<Flow[]> {
  const r = await conn.runAndReadAll(
    `SELECT src, dst, src_port, dst_port, protocol, start_ms, end_ms, packets, bytes,
       observed_action, direction, source, line, record, tcp_flags, src_name, dst_name,
       src_labels, dst_labels FROM ${MERGED} WHERE new_names`,
  )
  const actions = ['accept', 'reject', 'unknown'] as const
  return r.getRows().map((row) => {
    const [format, file] = books.sources.values[num(row[11] ?? 0)] ?? ['', '']
    const names: NameTuple = [text(row[15]), text(row[16]), text(row[17]), text(row[18])]
    const line = row[12]
    const record = row[13]
    const flags = row[14]
    return {
      src: books.addresses.values[num(row[0] ?? 0)] ?? '',
      dst: books.addresses.values[num(row[1] ?? 0)] ?? '',
      srcPort: num(row[2] ?? 0),
      dstPort: num(row[3] ?? 0),
      protocol: num(row[4] ?? 0),
      start: num(row[5] ?? 0),
      end: num(row[6] ?? 0),
      packets: num(row[7] ?? 0),
      bytes: num(row[8] ?? 0),
      observedAction: actions[num(row[9] ?? 2)] ?? 'unknown',
      direction: num(row[10] ?? 0) === 1 ? 'client-to-server' : 'unknown',
      source: {
        format,
        file,
        ...(line !== null && line !== undefined ? { line: num(line) } : {}),
        ...(record !== null && record !== undefined ? { record: num(record) } : {}),
      },
      ...(flags !== null && flags !== undefined ? { tcpFlags: num(flags) } : {}),
      ...(names[0] !== undefined ? { srcName: names[0] } : {}),
      ...(names[1] !== undefined ? { dstName: names[1] } : {}),
      ...(names[2] !== undefined
        ? { srcLabels: JSON.parse(names[2]) as Record<string, string> }
        : {}),
      ...(names[3] !== undefined
        ? { dstLabels: JSON.parse(names[3]) as Record<string, string> }
        : {}),
    }
  })
}

/**
 * Pairs the unpaired halves of different files: after an ingest has written `added` (its new
 * halves), every stored half of a class that holds a new half and a half of another file near it
 * in time is looked at ({@link halvesSql}); within a group, in time order, two halves of
 * different files that reading would pair (the record's ends exchanged, the same action, time
 * intervals overlapping or at most {@link HALF_SLACK_MS} apart) are merged into one flow as
 * reading merges them ({@link MERGED_SQL}): the two rows are deleted and the flow is written in
 * their place, no longer a half. Runs in the caller's transaction, before `settleBothEnds`
 * (which then sees the merged flows, as it sees the pairs reading merged).
 *
 * Cost: when the store holds no half of another file in the time span (a single file into a new
 * store), one query that stops there (6 ms CPU over the 0.68 M halves of the 2.8 M flows of the
 * `ingest` benchmark); else a hash join of the halves of the span with themselves (`half <> 0`
 * and the `start_ms` bounds: row groups outside the span, or without halves, are skipped by their
 * zonemaps; ≈ 0.25 s CPU over those 0.68 M halves), and the sort and merge of the halves of the
 * classes with a half on each side.
 * @returns the merges by format and the time span of the merged flows.
 */
export async function pairHalves(
  conn: DuckDBConnection,
  books: Books,
  added: NewHalves | undefined,
): Promise<PairedHalves> {
  if (added === undefined || added.sources.length === 0) return NONE
  const lo = BigInt(Math.floor(Math.max(-8.64e15, added.lo - HALF_LOOKBACK_MS)))
  const hi = BigInt(Math.ceil(Math.min(8.64e15, added.hi + HALF_SLACK_MS)))
  if (added.sources.length === 1) {
    // the common case of one file into a store holding no half of another file in its span
    const other = await conn.runAndReadAll(
      `SELECT count(*) FROM (SELECT 1 FROM flow_rows WHERE half <> 0 AND start_ms BETWEEN $lo AND $hi
         AND source <> $source LIMIT 1)`,
      { lo, hi, source: added.sources[0] ?? 0 },
    )
    if (num(other.getRows()[0]?.[0] ?? 0) === 0) return NONE
  }
  try {
    await conn.run(halvesSql(added.icmpTyped === true), {
      lo,
      hi,
      sources: new DuckDBListValue([...added.sources]),
    })
    await conn.run(MERGED_SQL)
    const counts = await conn.runAndReadAll(
      `SELECT so.format, count(*)::INTEGER, min(m.start_ms), max(m.end_ms),
         count(*) FILTER (WHERE m.refused)::INTEGER
       FROM ${MERGED} m JOIN sources so ON so.id = m.source GROUP BY so.format`,
    )
    const byFormat: Record<string, number> = {}
    let mlo = Infinity
    let mhi = -Infinity
    let refused = 0
    for (const [format, n, start, end, r] of counts.getRows()) {
      byFormat[format as string] = num(n ?? 0)
      refused += num(r ?? 0)
      mlo = Math.min(mlo, num(start ?? 0))
      mhi = Math.max(mhi, num(end ?? 0))
    }
    if (counts.getRows().length === 0) return NONE
    await conn.run(INSERT_SQL)
    const named = await flowsWithNewNames(conn, books)
    await conn.run(
      `DELETE FROM flow_rows WHERE rowid IN (SELECT a_id FROM ${MERGED} UNION ALL SELECT b_id FROM ${MERGED})`,
    )
    if (named.length > 0) {
      const w = await FlowWriter.open(conn, undefined, books)
      try {
        for (const f of named) if (w.add(f)) await w.rotate()
        await w.finish()
      } catch (err) {
        await w.abort()
        throw err
      }
    }
    return { byFormat, refused, lo: mlo, hi: mhi }
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${MERGED}`)
    await conn.run(`DROP TABLE IF EXISTS ${HALVES}`)
  }
}
