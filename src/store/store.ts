/**
 * @module The flow store contract: where ingested flows live and how later stages read them.
 * @remarks Semantics: DESIGN.md "Storage and scale". Implementations: `duckdb/` (embedded
 * default); a ClickHouse store implements the same interface at scale.
 */
import {
  ICMP_REQUEST_OF_REPLY,
  NO_TIME_MS,
  type BulkheadError,
  type Flow,
  type FlowDirection,
  type FlowSource,
} from '../core/index.js'

/**
 * A selection of stored flows by time. `since` and `until` are milliseconds since the epoch,
 * UTC, half-open: a flow is selected when `since <= flow.start < until`. Absent bounds are open.
 * With either bound, flows with no real time (start {@link NO_TIME_MS}) are left out: no window
 * can place them, and `until` alone would take them as 1970 ({@link windowWhere}). `limit` caps
 * the number of flows returned (after ordering by `start`).
 */
export interface FlowQuery {
  readonly since?: number
  readonly until?: number
  readonly limit?: number
}

/**
 * Options of the store's long reads ({@link FlowStore.query}, {@link FlowStore.queryBatches},
 * {@link FlowStore.flows}).
 */
export interface QueryOptions {
  /**
   * Called while the query runs, about every 150 ms (DuckDB store: `PROGRESS_POLL_MS`), with
   * the engine's estimate of the share of the query done: a fraction in [0, 1], non-decreasing
   * within one call; not called before the engine has an estimate, nor once the returned promise
   * (or, for {@link FlowStore.flows}, the iteration) has settled. A query that ends within one
   * interval reports nothing. What it throws stops the reports and is thrown by the query once the
   * query has ended (a query's own error wins). DuckDB's estimate counts the rows of each pipeline
   * against the rows it expects, so it moves in steps and may stand still while a pipeline with
   * no estimate runs (a hash table's finalisation); it is a share of work, not of time.
   */
  readonly onProgress?: (fraction: number) => void
}

/**
 * A value of a {@link ColumnBatch}: a string (VARCHAR), a number (integers that fit a JS number,
 * and floating point), a `bigint` (an integer beyond 2^53), a boolean, or null (SQL NULL).
 */
export type ColumnValue = string | number | bigint | boolean | null

/**
 * One batch of a {@link FlowStore.queryColumnBatches} result (one DuckDB data chunk, about
 * 2 048 rows), read in place by column and row, with no object per row. Columns are numbered
 * from 0 in the order of the SELECT list. Valid only during the `onBatch` call that receives it.
 */
export interface ColumnBatch {
  /** Rows in the batch. */
  readonly rowCount: number
  /**
   * The value at (`column`, `row`). Only BOOLEAN, integer, floating-point and VARCHAR columns
   * are read this way; a list column is read with {@link listOffset}, {@link listLength} and
   * {@link listElement} or, for a list of STRUCT, {@link elementField}.
   * @throws TypeError for a value of another type (DATE, TIMESTAMP, DECIMAL, LIST, STRUCT …).
   */
  value(column: number, row: number): ColumnValue
  /**
   * For a LIST column that is never NULL (write `coalesce(x, [])` where it could be): where the
   * elements of `row` start among the column's elements (read with {@link elementField}). What
   * it gives for a NULL list is unspecified (`@duckdb/node-api` keeps a list's validity private).
   */
  listOffset(column: number, row: number): number
  /** For a LIST column that is never NULL: the number of elements of `row`. */
  listLength(column: number, row: number): number
  /**
   * For a LIST of STRUCT column: field number `field` (in the STRUCT's order) of element
   * `element` (from {@link listOffset}), converted as {@link value} converts.
   * @throws TypeError when the column is not a list of structs, or for a field of another type.
   */
  elementField(column: number, element: number, field: number): ColumnValue
  /**
   * For a LIST column of BOOLEAN, integer, floating-point or VARCHAR values: element `element`
   * (from {@link listOffset}), converted as {@link value} converts.
   * @throws TypeError when the column is not a list, or for an element of another type.
   */
  listElement(column: number, element: number): ColumnValue
}

/** One column of a table made by {@link FlowStore.loadTempTable}. */
export interface TempColumn {
  readonly name: string
  readonly type: 'VARCHAR' | 'BIGINT'
}

/**
 * Flows of one file as columns (row `i` of every array is one flow), the shape the ingest
 * columnar path produces (`FlowColumns` in src/ingest/columnar.ts) and the store copies into its
 * column vectors without a {@link Flow} object per row. Units and meanings are {@link Flow}'s:
 *
 * - `src`, `dst`, and `srcName` / `dstName` (-1: absent) are codes into `table.strings`;
 * - `action`: 0 accept, 1 reject, 2 unknown; `direction`: 0 unknown, 1 client-to-server,
 *   2 server-to-client; `tcpFlags`: -1 when absent;
 * - `start`, `end` ms since the epoch, UTC; `line` is `source.line` (1-based), and every row
 *   has `source.format` = `format`, `source.file` = `file`, no `source.record`, no labels;
 * - `half`: each row's unpaired-half mark (core `HALF_UNPAIRED`, `HALF_SWAPPED`,
 *   `HALF_ECHO_ASSUMED`, `HALF_SETTLED`), set by reading for the halves of AWS and GCP VPC connections that found
 *   no partner in their file; absent, every row is 0. The store pairs marked rows of different
 *   files as reading pairs the halves of one file ({@link IngestFileResult.pairedAcrossFiles}).
 */
export interface FlowColumnBatch {
  /** Rows. */
  readonly n: number
  readonly format: string
  readonly file: string
  readonly table: { readonly strings: readonly string[] }
  readonly src: Uint32Array
  readonly dst: Uint32Array
  readonly srcPort: Uint16Array
  readonly dstPort: Uint16Array
  readonly protocol: Uint8Array
  readonly start: Float64Array
  readonly end: Float64Array
  readonly packets: Float64Array
  readonly bytes: Float64Array
  readonly action: Uint8Array
  readonly direction: Uint8Array
  readonly tcpFlags: Int16Array
  readonly srcName: Int32Array
  readonly dstName: Int32Array
  readonly line: Float64Array
  readonly half?: Uint8Array
}

/**
 * Stored flows that judging treats alike ({@link FlowStore.groupFlows}): the flows of one UTC day
 * (by `start`) with the same addresses, protocol, direction, service port and rejection, or, when
 * the caller asked for it, one flow alone (`count` 1).
 *
 * The service port: a reply's (`server-to-client`, protocols other than ICMP 1 and ICMPv6 58) is
 * its source port, kept in `srcPort` with `dstPort` 0; every other flow keeps `dstPort` (an ICMP
 * message's type and code as the flow holds them) with `srcPort` 0. The client's ephemeral port
 * is not kept: flows that differ only in it are one group. Flows with no real time (core
 * `NO_TIME_MS`) are never grouped with timed ones. Structurally a `FlowGroup` of
 * src/policy/simulate.ts, which `Simulator.addGroup` judges as it is.
 */
export interface StoredFlowGroup {
  /**
   * The store's ids of `src` and `dst`: within one {@link FlowStore.groupFlows} call, equal ids
   * are equal addresses (for caches keyed by address).
   */
  readonly srcId: number
  readonly dstId: number
  /** Addresses as canonical text (the `flows` view's `src` / `dst`). */
  readonly src: string
  readonly dst: string
  readonly srcPort: number
  readonly dstPort: number
  /** IANA protocol number. */
  readonly protocol: number
  readonly direction: FlowDirection
  /** Every flow of the group was recorded `reject` by its observer. */
  readonly rejected: boolean
  /** Flows in the group (≥ 1). */
  readonly count: number
  /** Earliest and latest `start`, ms since the epoch, UTC. */
  readonly first: number
  readonly lastStart: number
  /** Latest `end`, ms since the epoch, UTC. */
  readonly last: number
  /** `first`: the time at which a judge resolves the group's addresses. */
  readonly at: number
  /**
   * The group's first flows by (`start`, file, line, record), at most the `examples` asked for:
   * where each was read from (the `flows` view's format, file, line, record), and its `start`.
   */
  readonly examples: readonly { readonly source: FlowSource; readonly start: number }[]
}

/** Options of {@link FlowStore.groupFlows}. */
export interface GroupFlowsOptions extends QueryOptions {
  /** Most examples per group (≥ 1). */
  readonly examples: number
  /**
   * Asked once for each group as the grouping gives it: true to have the group's flows given one
   * by one instead (each a group of `count` 1 with itself as its example), after every group,
   * in the order the groups were split (e.g. a group whose span holds an instant at which one of
   * its addresses changes holder, so that each flow is resolved at its own time). Default:
   * none.
   */
  readonly split?: (group: StoredFlowGroup) => boolean
}

/** One batch for {@link FlowStore.ingestFile}: flow objects, or {@link FlowColumnBatch} columns. */
export type FlowBatch = readonly Flow[] | FlowColumnBatch

/** What {@link FlowStore.ingestFile} did with one file. */
export interface IngestFileResult {
  /** The file as given. */
  readonly file: string
  /** Lower-case hex SHA-256 of the file's bytes (as stored, i.e. compressed when gzip). */
  readonly fingerprint: string
  /** Flows stored from this file now, or stored by the earlier ingest when `alreadyIngested`. */
  readonly records: number
  /** True when a file with the same fingerprint was ingested before; nothing was stored. */
  readonly alreadyIngested: boolean
  /**
   * Stored `accept` flows (of this file or of files stored before) that this ingest read
   * `reject` because the other end's record of the same attempt, in another file, shows it
   * refused (AWS and GCP VPC flow logs; what one file holds is settled when it is read, note
   * `rejected-at-other-end`). For a run of small files stored in one transaction
   * ({@link FlowStore.ingestFiles}) the run's count is on its first stored file. Absent when
   * none.
   */
  readonly rejectedAtOtherEnd?: number
  /**
   * Connections whose two directions were each a half without a partner in its own file (AWS and
   * GCP VPC flow logs), this file's and another's (stored now or before), that this ingest
   * merged into one flow, as reading merges the two halves of one file: by format. The store
   * then holds that many flows fewer than the files' records. For a run of small files
   * ({@link FlowStore.ingestFiles}) the run's counts are on its first stored file. Absent when
   * none.
   */
  readonly pairedAcrossFiles?: Readonly<Record<string, number>>
  /**
   * Of the {@link pairedAcrossFiles} pairs, the TCP connections read `reject` because no record
   * held an action and the server answered the client's SYN with a reset (note
   * `refused-by-reset`, as reading notes the pairs of one file). Absent when none.
   */
  readonly refusedByReset?: number
}

/**
 * One GCP VPC Flow Logs report remembered between commands (ingest/gcp-reports.ts
 * `RememberedReport`): its 5-tuple `key`, `reporter`, `start`/`end` ms and `startText`.
 */
export interface StoredGcpReport {
  readonly key: string
  readonly reporter: string | undefined
  readonly start: number
  readonly end: number
  readonly startText: string
}

/**
 * The GCP reports of a read (ingest `GcpReports`), as the store sees them: seeded with the
 * reports an earlier command left, and drained of what changed since, in each transaction that
 * stores files.
 */
export interface GcpReportJournal {
  seed(reports: Iterable<StoredGcpReport>): void
  drain(): {
    readonly added: readonly StoredGcpReport[]
    readonly removed: readonly StoredGcpReport[]
  }
}

/**
 * Raw flow storage. One store holds the flows of one workspace.
 *
 * Calls on one store are serialised (a second write waits for the first); reading with
 * {@link FlowStore.flows} uses its own connection and sees only committed data.
 */
export interface FlowStore {
  /**
   * Flow rows deleted when the store was opened because no ingest committed them: their source,
   * address or name ids have no dictionary row. Only a crash while DuckDB wrote a large commit
   * leaves such rows (its log is then replayed in part, the rows without the file's dictionary
   * and `ingested_files` rows), so the file is simply not ingested yet. 0 normally.
   */
  readonly recovered: number
  /**
   * Stores every flow of `file`, read through `batches(file)` (batches of flows or of columns,
   * as `readFlowBatches` / `readFlowColumns` yield them). Idempotent per file: a file whose
   * fingerprint (SHA-256 of its bytes) was already ingested is not stored again, and the result
   * says `alreadyIngested`. The fingerprint is computed before reading, except for large files
   * (DuckDB store: 64 MiB and more), which are hashed on another thread while they are read:
   * `batches(file)` is then called, and stopped as soon as the fingerprint shows an earlier
   * ingest. All rows of one file are written in one transaction: when `batches` throws (a fatal
   * parse error, an I/O error), nothing of that file is stored and the error is re-thrown. In
   * the same transaction the store settles what the new rows and the stored ones show together:
   * the unpaired halves of different files are merged
   * ({@link IngestFileResult.pairedAcrossFiles}), then refusals logged at the other end are read
   * `reject` ({@link IngestFileResult.rejectedAtOtherEnd}).
   * @throws BulkheadError `io/not-found` / `io/read-failed` when the file cannot be read for
   * the fingerprint; whatever `batches` throws; Error when the store was opened read-only.
   */
  ingestFile(
    file: string,
    batches: (file: string) => AsyncIterable<FlowBatch>,
  ): Promise<IngestFileResult>
  /**
   * {@link FlowStore.ingestFile} for a run of small files, all in one transaction: what a file
   * costs the store (a transaction, a commit, appender set-up, a fingerprint query) is paid once
   * for the run. The fingerprints are computed first and looked up in one query; then each file
   * not ingested before (nor earlier in `files`) is read through `batches(file, index)`, in
   * order, wholly into memory and checked (`store/bad-counter`) before any of it is written, so a
   * file whose read throws a BulkheadError stores nothing and the others go on. Each file is
   * held in memory while it is read: meant for files of a few MiB at most.
   * @returns one entry per file, in order: its {@link IngestFileResult} (a later file with the
   * bytes of an earlier one in `files` is `alreadyIngested` with that file's records), or the
   * BulkheadError that made it unusable (`io/not-found`, `io/read-failed`, what `batches` threw).
   * When the transaction cannot commit (a full disk: `io/write-failed`), every file it held
   * gets that error and nothing of the run is stored.
   * @throws what `batches` throws that is no BulkheadError; Error when the store was opened
   * read-only.
   */
  ingestFiles(
    files: readonly string[],
    batches: (file: string, index: number) => AsyncIterable<FlowBatch>,
  ): Promise<(IngestFileResult | BulkheadError)[]>
  /**
   * Makes `reports` (the GCP reports of this command's read) start from the reports earlier
   * commands left unmatched, and keeps what changes in them in each transaction that stores
   * files from then on ({@link FlowStore.ingestFile}, {@link FlowStore.ingestFiles}): so the
   * other VM's report of traffic stored by an earlier command is dropped by the reader
   * (`duplicate-report`), as it is when both files are read by one command. Call it before
   * reading.
   */
  keepGcpReports(reports: GcpReportJournal): Promise<void>
  /**
   * Appends flows (no idempotency check), in one transaction. Returns how many were stored.
   * @throws Error when the store was opened read-only.
   */
  appendFlows(flows: AsyncIterable<Flow> | Iterable<Flow>): Promise<number>
  /**
   * Stored flows selected by `q`, ordered by `start` then insertion order. `options.onProgress`
   * follows the ordered read (the sort, then the rows given out) until the iteration ends.
   */
  flows(q?: FlowQuery, options?: QueryOptions): AsyncIterable<Flow>
  /** How many stored flows `q` selects (`limit` caps the count). */
  count(q?: FlowQuery): Promise<number>
  /** The time span stored: min `start` and max `end`, ms since the epoch; undefined when empty. */
  window(): Promise<{ start: number; end: number } | undefined>
  /**
   * Runs one read-only SQL statement (SELECT, or a WITH … SELECT) for the analysis stages, with
   * `?`/`$1` parameters. Rows come back as plain objects; integers that fit a JS number are
   * numbers, larger ones stay `bigint`; DATE/TIMESTAMP values are `Date`. `options.onProgress`
   * reports the query's progress while it runs ({@link QueryOptions}).
   * @throws BulkheadError `store/not-read-only` for any other kind of statement.
   */
  query<T extends Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<T[]>
  /**
   * {@link query}, streamed: the rows come in batches (one per DuckDB data chunk, about 2 048
   * rows) and `onBatch` is awaited for each, so memory holds one batch, not the whole result.
   * The store's connection is busy until the promise settles: `onBatch` must not call the store.
   * `options.onProgress` reports the query's progress until the last batch is read
   * ({@link QueryOptions}).
   * @returns the number of rows.
   * @throws BulkheadError `store/not-read-only` for any other kind of statement; what `onBatch`
   *   throws. `T` is the caller's claim about the SELECT's rows, as for {@link query}.
   */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  queryBatches<T extends Record<string, unknown>>(
    sql: string,
    params: readonly unknown[],
    onBatch: (rows: T[]) => void | Promise<void>,
    options?: QueryOptions,
  ): Promise<number>
  /**
   * {@link queryBatches}, read by column: each batch is a {@link ColumnBatch} read in place, so no
   * object is made per row (over the 1.7 M groups of `simulate`'s grouping query on a store of
   * 1.8 M flows, 2026-11-24: rows as objects took 9.5 s of CPU, read in place 3.1–3.6 s, the
   * query with its chunks fetched and not read 1.8 s). Same contract
   * otherwise: the connection is busy until the promise settles, `onBatch` must not call the
   * store, `options.onProgress` as for {@link queryBatches}.
   * @returns the number of rows.
   * @throws BulkheadError `store/not-read-only` for any other kind of statement; what `onBatch`
   *   throws.
   */
  queryColumnBatches(
    sql: string,
    params: readonly unknown[],
    onBatch: (batch: ColumnBatch) => void | Promise<void>,
    options?: QueryOptions,
  ): Promise<number>
  /**
   * The flows `q` selects (`since`/`until`; with either bound, flows with no real time are left
   * out: no window can place them), grouped as {@link StoredFlowGroup} says, each group given to
   * `onGroup` as it streams (memory: one batch of groups), in no set order; then the flows of the
   * groups `options.split` chose, one by one. `onGroup` must not call the store (its connection
   * is busy until the promise settles). `options.onProgress` follows the grouping query
   * ({@link QueryOptions}). Over 1.83 M stored flows (1.72 M groups; the `simulate-store`
   * benchmark) grouping on the store's address and file ids and decoding each distinct one once
   * took about a tenth of simulate's CPU less than grouping the `flows` view's text.
   * @returns the groups the grouping gave (split ones included) and how many were split.
   * @throws RangeError when `options.examples` < 1; what `onGroup` or `split` throws.
   */
  groupFlows(
    q: Omit<FlowQuery, 'limit'>,
    options: GroupFlowsOptions,
    onGroup: (group: StoredFlowGroup) => void,
  ): Promise<{ readonly groups: number; readonly split: number }>
  /**
   * Creates (or replaces) a temporary table `name` on the connection that {@link query} uses,
   * filled with `rows`, for an analysis stage to join against the flows (e.g. discover's
   * address → entity table). The table lives until {@link dropTempTable} or {@link close} and is
   * never written to the store file. `name` must match `^tmp_[a-z0-9_]+$` (so that it cannot
   * shadow `flows`); column names `^[a-z_][a-z0-9_]*$`. Values: `VARCHAR` takes strings,
   * `BIGINT` safe integers; `null` is SQL NULL.
   * @throws RangeError for a bad name, column or value.
   */
  loadTempTable(
    name: string,
    columns: readonly TempColumn[],
    rows: readonly (readonly (string | number | null)[])[],
  ): Promise<void>
  /** Drops a temporary table made by {@link loadTempTable}; nothing when it does not exist. */
  dropTempTable(name: string): Promise<void>
  /** Closes the store; later calls fail. Safe to call twice. */
  close(): Promise<void>
}

/**
 * SQL (standard, any store's dialect): true when type `t` of protocol `p` is an ICMP/ICMPv6 reply
 * (core `isIcmpReply`: an echo reply, ...), for SQL expressions `p` and `t` (column names).
 * Such a record answers a request whatever direction it was stored with (core `judgedAsReply`).
 */
export function icmpReplySql(p: string, t: string): string {
  const protocols = Object.entries(ICMP_REQUEST_OF_REPLY).map(
    ([protocol, replies]) =>
      `(${p} = ${protocol} AND ${t} IN (${Object.keys(replies).join(', ')}))`,
  )
  return `(${protocols.join(' OR ')})`
}

/**
 * SQL (standard `CASE`, any store's dialect): the ICMP type of the request that type `t` of
 * protocol `p` answers (an echo reply's is the echo request), else `t` itself, for SQL
 * expressions `p` and `t` (column names). Core {@link ICMP_REQUEST_OF_REPLY} written out: the
 * table by which ingest's `icmpKey` keys typed ICMP records within a file, the store pairs them
 * across files, and discover names a reply's edge by the request it answers.
 */
export function icmpRequestTypeSql(p: string, t: string): string {
  const protocols = Object.entries(ICMP_REQUEST_OF_REPLY).map(([protocol, replies]) => {
    const types = Object.entries(replies).map(
      ([reply, request]) => `WHEN ${reply} THEN ${String(request)}`,
    )
    return `WHEN ${p} = ${protocol} THEN CASE ${t} ${types.join(' ')} ELSE ${t} END`
  })
  return `CASE ${protocols.join(' ')} ELSE ${t} END`
}

/**
 * SQL (any store's dialect): the WHERE clause of a time window over stored flows and its
 * parameters, to bind in order; what every windowed read of the store selects
 * ({@link FlowStore.flows}, {@link FlowStore.count}, {@link FlowStore.groupFlows}, and discover's
 * queries). The window is `q`'s `since`/`until` (ms since the epoch, UTC), half-open
 * `[since, until)` on `column`, an expression of the flow's start in ms (`start_ms`, or
 * `fr.start_ms` through an alias); each bound is rounded up to a whole millisecond, as the column
 * holds. `where` is `''` when `q` has no bound, else `WHERE ...`, which with a bound also leaves
 * out the flows with no real time (start {@link NO_TIME_MS}): no window can place them, and
 * `until` alone would take them as 1970.
 */
export function windowWhere(
  q: { readonly since?: number; readonly until?: number },
  column: string,
): { where: string; params: number[] } {
  const parts: string[] = []
  const params: number[] = []
  if (q.since !== undefined) {
    parts.push(`${column} >= ?`)
    params.push(Math.ceil(q.since))
  }
  if (q.until !== undefined) {
    parts.push(`${column} < ?`)
    params.push(Math.ceil(q.until))
  }
  if (parts.length > 0) parts.push(`${column} <> ${String(NO_TIME_MS)}`)
  return { where: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params }
}
