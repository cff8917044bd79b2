/**
 * @module The embedded flow store on DuckDB (`@duckdb/node-api`): one database file per
 * workspace, default `.bulkhead/store.duckdb`.
 * @remarks Schema and column choices: ./schema.ts; load path: ./batch.ts. Semantics: DESIGN.md
 * "Storage and scale". Transactions: DuckDB has `BEGIN TRANSACTION`, `COMMIT` and `ROLLBACK`
 * (`ABORT`), no savepoints (https://duckdb.org/docs/1.5/sql/statements/transactions.html), so a
 * run of small files in one transaction ({@link FlowStore.ingestFiles}) holds each file whole and
 * checks it before writing any of it, instead of rolling back to a savepoint.
 */
import { createHash } from 'node:crypto'
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs'
import { Worker } from 'node:worker_threads'
import {
  BIGINT,
  DuckDBConnection,
  DuckDBInstance,
  DuckDBListValue,
  DuckDBListVector,
  DuckDBStructVector,
  DuckDBTimestampValue,
  StatementType,
} from './api.js'
import type {
  DuckDBPreparedStatement,
  DuckDBType,
  DuckDBDataChunk,
  DuckDBValue,
  DuckDBVector,
} from '@duckdb/node-api'
import {
  BulkheadError,
  diagnostic,
  ioDiagnostic,
  type Flow,
  type FlowDirection,
  type ObservedAction,
} from '../../core/index.js'
import {
  windowWhere,
  type ColumnBatch,
  type ColumnValue,
  type FlowBatch,
  type FlowColumnBatch,
  type FlowQuery,
  type FlowStore,
  type GcpReportJournal,
  type GroupFlowsOptions,
  type IngestFileResult,
  type QueryOptions,
  type StoredFlowGroup,
  type StoredGcpReport,
  type TempColumn,
} from '../store.js'
import {
  checkCounters,
  FlowWriter,
  loadBooks,
  settleBothEnds,
  settleExporterEnds,
  prepareLoad,
  type Books,
} from './batch.js'
import { groupStoredFlows, type FlowDictionaries } from './groups.js'
import { pairHalves, type PairedHalves } from './halves.js'
import { ensureSchema, GCP_REPORTS_KEPT_MS, SCHEMA_VERSION, schemaVersion } from './schema.js'

/** The BulkheadError for a file that cannot be read for its fingerprint. */
function unreadable(file: string, err: unknown): BulkheadError {
  return new BulkheadError([ioDiagnostic(err, 'read', file)], { cause: err })
}

/** What the store settled across files for an {@link IngestFileResult}. */
interface Settled {
  /** Stored flows read `reject` ({@link settleBothEnds}, {@link settleExporterEnds}). */
  readonly rejectedAtOtherEnd: number
  /** Halves of different files merged, by format ({@link pairHalves}). */
  readonly pairedAcrossFiles: Readonly<Record<string, number>>
  /** Of those, TCP pairs read `reject` for the server's reset ({@link PairedHalves.refused}). */
  readonly refusedByReset: number
}

/**
 * The `rejectedAtOtherEnd`, `pairedAcrossFiles` and `refusedByReset` of an
 * {@link IngestFileResult}: absent when none.
 */
function settled(
  s: Settled,
): Pick<IngestFileResult, 'rejectedAtOtherEnd' | 'pairedAcrossFiles' | 'refusedByReset'> {
  return {
    ...(s.rejectedAtOtherEnd > 0 ? { rejectedAtOtherEnd: s.rejectedAtOtherEnd } : {}),
    ...(s.refusedByReset > 0 ? { refusedByReset: s.refusedByReset } : {}),
    ...(Object.keys(s.pairedAcrossFiles).length > 0
      ? { pairedAcrossFiles: s.pairedAcrossFiles }
      : {}),
  }
}

/**
 * The time span `settleBothEnds` looks at after an ingest: the span of the rows written of its
 * formats, widened to the flows {@link pairHalves} merged (one half may be older); undefined
 * when neither has any.
 */
function bothEndsSpanOf(
  written: { readonly lo: number; readonly hi: number } | undefined,
  paired: PairedHalves,
): { readonly lo: number; readonly hi: number } | undefined {
  const lo = Math.min(written?.lo ?? Infinity, paired.lo)
  const hi = Math.max(written?.hi ?? -Infinity, paired.hi)
  return lo <= hi ? { lo, hi } : undefined
}

/**
 * SHA-256 of a file's bytes, lower-case hex, read streaming (1 MiB chunks) on the calling thread.
 * @throws BulkheadError `io/not-found` when the file does not exist, `io/read-failed` otherwise.
 */
export async function fingerprintFile(file: string): Promise<string> {
  const hash = createHash('sha256')
  try {
    // a small regular file in one read, and synchronously: a read on the thread pool costs more
    // than it (`ingestFiles` fingerprints a run's files one after the other before storing them)
    const st = statSync(file, { throwIfNoEntry: false })
    if (st?.isFile() === true && st.size <= WHOLE_READ_BYTES)
      return hash.update(readFileSync(file)).digest('hex')
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }))
      hash.update(chunk as Buffer)
  } catch (err) {
    throw unreadable(file, err)
  }
  return hash.digest('hex')
}

/** Files up to this size (bytes) are hashed from one read instead of a stream. */
const WHOLE_READ_BYTES = 1 << 20

/**
 * The worker of {@link fingerprintFileOffThread}: plain CommonJS (run with `eval`), so that it
 * runs the same from the TypeScript sources and from `dist/`.
 */
const HASH_WORKER = `
const { parentPort, workerData } = require('node:worker_threads')
const { createHash } = require('node:crypto')
const { createReadStream } = require('node:fs')
const hash = createHash('sha256')
createReadStream(workerData, { highWaterMark: 1 << 20 })
  .on('data', (chunk) => hash.update(chunk))
  .on('error', (e) => parentPort.postMessage({ code: e.code, message: e.message }))
  .on('end', () => parentPort.postMessage({ hex: hash.digest('hex') }))
`

/**
 * {@link fingerprintFile} computed on a worker thread, so that the calling thread can read the
 * file meanwhile (same value, same errors). Starting the worker costs tens of milliseconds:
 * worth it only for large files (see {@link HASH_AHEAD_BYTES}). Aborting `signal` stops the
 * worker and rejects with a plain Error.
 */
export function fingerprintFileOffThread(file: string, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(HASH_WORKER, { eval: true, workerData: file })
    const stop = (): void => {
      reject(new Error(`hashing ${file} was cancelled`))
      void worker.terminate()
    }
    signal?.addEventListener('abort', stop, { once: true })
    worker.once('message', (m: { hex?: string; code?: string; message?: string }) => {
      signal?.removeEventListener('abort', stop)
      if (m.hex !== undefined) resolve(m.hex)
      else reject(unreadable(file, m))
      void worker.terminate()
    })
    worker.once('error', (err) => {
      signal?.removeEventListener('abort', stop)
      reject(unreadable(file, err))
    })
    // settles nothing when a message or error came first
    worker.once('exit', () => {
      reject(new Error(`the worker hashing ${file} stopped without an answer`))
    })
  })
}

/**
 * Files at least this large (bytes on disk) are hashed on a worker thread while they are read
 * and stored, instead of before ({@link FlowStore.ingestFile}): hashing takes ≈ 0.4 s per
 * 560 MB on the 2-core bench machine, about 7 % of the ingest of that file when done first;
 * starting a worker takes ≈ 40 ms, more than hashing a file below this size.
 */
export const HASH_AHEAD_BYTES = 64 * 1024 * 1024

/**
 * DuckDB threads while flows are written ({@link FlowStore.ingestFile},
 * {@link FlowStore.appendFlows}); the instance's own setting (all cores) is restored afterwards.
 * One thread stores the same rows for ~40 % less CPU than two on the 2-core bench machine
 * (1 M flows through the load path into an on-disk store: 3.0 s CPU instead of 4.5–5.7 s, same
 * file size), and leaves the other core to the JS parser that runs while DuckDB inserts.
 * Measured 2026-11-22 with /tmp/r2/load.mts, load average 1–5; see the issue 3 notes.
 */
export const LOAD_THREADS = 1

/**
 * DuckDB optimizers turned off for the store's instance. `common_subplan` (DuckDB 1.5.5) merges
 * the two sides of `SELECT DISTINCT src FROM flows WHERE … UNION SELECT DISTINCT dst FROM flows
 * WHERE …` into one, returning only the `dst` values, when `flows` is a view joining one table
 * twice (as the view of schema versions 2 and 3 joins `addresses` for `src` and `dst`);
 * reproduced on a plain 2-table view, fixed by disabling that optimizer: DuckDB issue #25819
 * (regression in 1.5.1–1.5.5, fixed on the 1.6 line). Tested in test/store/duckdb-store.test.ts.
 */
export const DISABLED_OPTIMIZERS = 'common_subplan'

/**
 * Complete row groups (122 880 rows each) an insert keeps in memory before writing them to the
 * store's file (DuckDB's `write_buffer_row_group_count`, default 5). DuckDB 1.5.5
 * (`OptimisticDataWriter::WriteNewRowGroup`) writes a transaction's inserted rows ahead of its
 * COMMIT once that many complete row groups are unwritten, all of them in the insert that
 * completes the last; COMMIT writes the rest. A load's inserts run while the parser reads on, so
 * a row group an insert writes costs the load nothing, and one written by COMMIT or by an insert
 * the parser has to wait for (a full batch) costs it all; with 1 each row group is written as it
 * completes. 1 000 000 Zeek records in process: COMMIT 57–59 → 12–15 ms, no more one insert of
 * 147 ms among inserts of 40–70 ms, 0.93–0.98 → 0.92–0.96 s (six alternating runs each, from
 * dist); 5 000 000 AWS records: COMMIT 97 → 33 ms (one traced run each); same file size
 * (2026-11-25).
 */
const WRITE_BUFFER_ROW_GROUPS = '1'

/**
 * How often (ms) a query's progress is read while it runs, for {@link QueryOptions.onProgress}:
 * the progress bars redraw at most 5 times a second.
 */
export const PROGRESS_POLL_MS = 150

/**
 * The settings that make DuckDB track a query's progress on a connection, so that
 * `DuckDBConnection.progress` (the C API's `duckdb_query_progress`) has an answer. DuckDB creates
 * a query's progress tracker only when `enable_progress_bar` is set (`ClientContext::
 * PendingPreparedStatementInternal`; off by default in embedded use): without it
 * `progress.percentage` stays -1 for the whole query. With it DuckDB also draws its own bar on
 * stdout (which would corrupt `-o json`) unless `enable_progress_bar_print` is false, hence set
 * first. `progress_bar_time` (default 2000 ms) only delays that drawing (`ProgressBar::
 * ShouldPrint`): the percentage is updated after every task of the query whatever its value.
 * Reading `progress` while a query is pending on the same connection is safe: the binding calls
 * `duckdb_query_progress` synchronously on the JS thread, and DuckDB returns a copy of atomics
 * without taking the connection's lock (`ClientContext::GetQueryProgress`).
 *
 * Checked with @duckdb/node-api 1.5.5-r.5 (session 16, helper hB, a script polling
 * `conn.progress` every 50 ms during a GROUP BY of 20 M rows of `range()`): -1 throughout with the
 * defaults; 0 → 92 % with these settings, also with `progress_bar_time = 10000` (longer than the
 * query) and `= 0`; -1 again once the query has ended; the percentage never went down within a
 * query. Left at its default, `enable_progress_bar_print` drew DuckDB's bar on stdout. Tracking
 * cost nothing measurable: simulate's GROUP BY over 1.1 M stored flows took 1.07–1.15 s CPU with
 * it, 1.12–1.33 s without (4 runs each, load average 3–5).
 */
const PROGRESS_SETTINGS = [
  'SET enable_progress_bar_print = false',
  'SET enable_progress_bar = true',
]

/** Makes `conn` track query progress ({@link PROGRESS_SETTINGS}). */
async function trackProgress(conn: DuckDBConnection): Promise<void> {
  for (const sql of PROGRESS_SETTINGS) await conn.run(sql)
}

/** A running poll of a connection's query progress ({@link pollProgress}). */
interface ProgressPoll {
  /** Stops the polling; nothing is reported after. Safe to call twice. */
  stop(): void
  /** Throws what the callback threw, if it did. */
  check(): void
}

const NO_POLL: ProgressPoll = { stop: () => undefined, check: () => undefined }

/**
 * Reads the progress of the query running on `conn` every {@link PROGRESS_POLL_MS} ms until
 * stopped, and gives `onProgress` each new highest fraction (DuckDB's percentage / 100, clamped to
 * [0, 1]; -1, no estimate yet or no query running, is not reported). The timer is `unref()`ed (it
 * never keeps the process alive); a callback that throws stops the polling, and `check()` then
 * throws its error. `conn` must track progress ({@link trackProgress}). Nothing when `onProgress`
 * is undefined.
 */
function pollProgress(
  conn: DuckDBConnection,
  onProgress: ((fraction: number) => void) | undefined,
): ProgressPoll {
  if (onProgress === undefined) return NO_POLL
  let best = -1
  let failure: { error: unknown } | undefined
  const timer = setInterval(() => {
    const percentage = conn.progress.percentage
    if (!(percentage >= 0)) return
    const fraction = Math.min(1, percentage / 100)
    if (fraction <= best) return
    best = fraction
    try {
      onProgress(fraction)
    } catch (error) {
      failure = { error }
      clearInterval(timer)
    }
  }, PROGRESS_POLL_MS)
  timer.unref()
  return {
    stop: () => {
      clearInterval(timer)
    },
    check: () => {
      if (failure !== undefined) throw failure.error
    },
  }
}

/**
 * Runs `run` (a query on `conn`) while {@link pollProgress} reports its progress; the polling is
 * stopped before this settles. What `onProgress` threw is thrown once `run` has ended, unless
 * `run` threw.
 */
async function polled<R>(
  conn: DuckDBConnection,
  onProgress: ((fraction: number) => void) | undefined,
  run: () => Promise<R>,
): Promise<R> {
  const poll = pollProgress(conn, onProgress)
  let result: R
  try {
    result = await run()
  } finally {
    poll.stop()
  }
  poll.check()
  return result
}

/**
 * The WHERE clause and parameters for a {@link FlowQuery}'s time bounds ({@link windowWhere}),
 * bound as BIGINT.
 */
function timeFilter(q: FlowQuery): { where: string; values: DuckDBValue[]; types: DuckDBType[] } {
  // plain `start_ms` bounds: DuckDB skips row groups by their start_ms zonemaps (schema
  // version 3 stores no `day`; the view's computed one would not prune)
  const { where, params } = windowWhere(q, 'start_ms')
  return { where, values: params.map((p) => BigInt(p)), types: params.map(() => BIGINT) }
}

function limitClause(q: FlowQuery): string {
  if (q.limit === undefined) return ''
  return ` LIMIT ${Math.max(0, Math.floor(q.limit))}`
}

const READ_COLUMNS =
  'src, dst, src_port, dst_port, protocol, start_ms, end_ms, packets, bytes, observed_action, direction, ' +
  'format, file, line, record, tcp_flags, src_name, dst_name, src_labels, dst_labels'

function num(v: DuckDBValue): number {
  return typeof v === 'bigint' ? Number(v) : (v as number)
}

/** One stored row (columns in {@link READ_COLUMNS} order) back to a {@link Flow}. */
function rowToFlow(r: readonly DuckDBValue[]): Flow {
  const line = r[13]
  const record = r[14]
  const flags = r[15]
  const srcName = r[16]
  const dstName = r[17]
  const srcLabels = r[18]
  const dstLabels = r[19]
  return {
    src: r[0] as string,
    dst: r[1] as string,
    srcPort: num(r[2] ?? 0),
    dstPort: num(r[3] ?? 0),
    protocol: num(r[4] ?? 0),
    start: num(r[5] ?? 0),
    end: num(r[6] ?? 0),
    packets: num(r[7] ?? 0),
    bytes: num(r[8] ?? 0),
    observedAction: r[9] as ObservedAction,
    direction: r[10] as FlowDirection,
    source: {
      format: r[11] as string,
      file: r[12] as string,
      ...(line !== null && line !== undefined ? { line: num(line) } : {}),
      ...(record !== null && record !== undefined ? { record: num(record) } : {}),
    },
    ...(flags !== null && flags !== undefined ? { tcpFlags: num(flags) } : {}),
    ...(typeof srcName === 'string' ? { srcName } : {}),
    ...(typeof dstName === 'string' ? { dstName } : {}),
    ...(typeof srcLabels === 'string'
      ? { srcLabels: JSON.parse(srcLabels) as Record<string, string> }
      : {}),
    ...(typeof dstLabels === 'string'
      ? { dstLabels: JSON.parse(dstLabels) as Record<string, string> }
      : {}),
  }
}

/** Plain JS for {@link FlowStore.query} rows: safe bigints become numbers, dates `Date`. */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint')
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(v)
      : v
  if (Array.isArray(v)) return v.map(plain)
  return v
}

/** One result row with {@link plain} values. */
function plainRow(row: Record<string, unknown>): Record<string, unknown> {
  const o: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(row)) o[k] = plain(v)
  return o
}

/**
 * A {@link ColumnValue} from a vector item: primitives as they come (a safe `bigint` as a
 * number, as {@link plain} does), anything else refused.
 */
function columnValue(v: unknown): ColumnValue {
  switch (typeof v) {
    case 'string':
    case 'number':
    case 'boolean':
      return v
    case 'bigint':
      return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(v)
        : v
    default:
      if (v === null) return null
      throw new TypeError(
        `a column batch reads BOOLEAN, integer, floating-point and VARCHAR values only`,
      )
  }
}

/** {@link ColumnBatch} over one DuckDB data chunk: each value read from its vector in place. */
class ChunkColumns implements ColumnBatch {
  readonly rowCount: number
  private readonly vectors: DuckDBVector[] = []
  constructor(chunk: DuckDBDataChunk) {
    this.rowCount = chunk.rowCount
    for (let i = 0; i < chunk.columnCount; i++) this.vectors.push(chunk.getColumnVector(i))
  }
  private vector(column: number): DuckDBVector {
    const v = this.vectors[column]
    if (v === undefined) throw new RangeError(`no column ${column}`)
    return v
  }
  private list(column: number): DuckDBListVector {
    const v = this.vector(column)
    if (!(v instanceof DuckDBListVector)) throw new TypeError(`column ${column} is not a LIST`)
    return v
  }
  value(column: number, row: number): ColumnValue {
    return columnValue(this.vector(column).getItem(row))
  }
  listOffset(column: number, row: number): number {
    return this.list(column).getEntryOffset(row)
  }
  listLength(column: number, row: number): number {
    return this.list(column).getEntryLength(row)
  }
  elementField(column: number, element: number, field: number): ColumnValue {
    const child = this.list(column).childVector
    if (!(child instanceof DuckDBStructVector))
      throw new TypeError(`column ${column} is not a LIST of STRUCT`)
    return columnValue(child.getItemValue(element, field))
  }
  listElement(column: number, element: number): ColumnValue {
    return columnValue(this.list(column).childVector.getItem(element))
  }
}

/** JS parameter values for DuckDB: integers bind as BIGINT, the rest by their JS type. */
function bindParams(params: readonly unknown[]): {
  values: DuckDBValue[]
  types: (DuckDBType | undefined)[]
} {
  const values: DuckDBValue[] = []
  const types: (DuckDBType | undefined)[] = []
  for (const p of params) {
    if (typeof p === 'number' && Number.isSafeInteger(p)) {
      values.push(BigInt(p))
      types.push(BIGINT)
    } else if (p instanceof Date) {
      values.push(new DuckDBTimestampValue(BigInt(p.getTime()) * 1000n))
      types.push(undefined)
    } else {
      values.push(p as DuckDBValue)
      types.push(undefined)
    }
  }
  return { values, types }
}

const TEMP_NAME = /^tmp_[a-z0-9_]+$/
const COLUMN_NAME = /^[a-z_][a-z0-9_]*$/

function checkTempName(name: string): void {
  if (!TEMP_NAME.test(name))
    throw new RangeError(`temporary table names match ${String(TEMP_NAME)}, got "${name}"`)
}

/**
 * Thrown inside a load to roll it back: the file's fingerprint was found among the ingested
 * files.
 */
class SeenBefore extends Error {
  override name = 'SeenBefore'
}

/** Size of a file in bytes, 0 when it cannot be read (the fingerprint then reports why). */
function sizeOf(file: string): number {
  try {
    return statSync(file).size
  } catch {
    return 0
  }
}

/** The records of the earlier ingest of a file with this fingerprint, or undefined. */
async function priorRecords(
  conn: DuckDBConnection,
  fingerprint: string,
): Promise<number | undefined> {
  const seen = await conn.runAndReadAll(
    `SELECT records FROM ingested_files WHERE fingerprint = ?`,
    [fingerprint],
  )
  const row = seen.getRows()[0]
  return row === undefined ? undefined : num(row[0] ?? 0)
}

/** The records of the earlier ingests of these fingerprints, by fingerprint (absent: none). */
async function priorRecordsOf(
  conn: DuckDBConnection,
  fingerprints: readonly string[],
): Promise<Map<string, number>> {
  const found = new Map<string, number>()
  if (fingerprints.length === 0) return found
  const seen = await conn.runAndReadAll(
    `SELECT fingerprint, records FROM ingested_files WHERE fingerprint IN (SELECT unnest(?::VARCHAR[]))`,
    [new DuckDBListValue([...fingerprints])],
  )
  for (const [fp, records] of seen.getRows()) found.set(fp as string, num(records ?? 0))
  return found
}

/** Every batch `batches` yields, held in memory (the batches of one small file). */
async function readAll(batches: AsyncIterable<FlowBatch>): Promise<FlowBatch[]> {
  const held: FlowBatch[] = []
  for await (const b of batches) held.push(b)
  return held
}

/** Rows of a batch. */
function rowsOf(b: FlowBatch): number {
  return Array.isArray(b) ? b.length : (b as FlowColumnBatch).n
}

class DuckDbFlowStore implements FlowStore {
  private queue: Promise<unknown> = Promise.resolve()
  private closed = false
  /** The store's address, source and name dictionaries, read on the first write. */
  private books: Books | undefined
  /** Whether the main connection tracks query progress, set by the first query that asks. */
  private tracking = false
  /** The GCP reports of the command's read, kept in each transaction ({@link keepGcpReports}). */
  private gcpReports: GcpReportJournal | undefined
  /** The thread count {@link loading} restores; undefined when nothing is left to restore. */
  private loadRestores: number | undefined

  constructor(
    private readonly path: string,
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    readonly recovered: number,
    private readonly readOnly = false,
  ) {}

  /** The rejection of a write to a store opened read-only. */
  private refuseWrite(): Promise<never> {
    return Promise.reject(new Error(`the flow store ${this.path} is open read-only`))
  }

  /** Runs `fn` after every earlier write or query on the main connection has finished. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`the flow store ${this.path} is closed`))
    const next = this.queue.then(fn, fn)
    this.queue = next.catch(() => undefined)
    return next
  }

  keepGcpReports(reports: GcpReportJournal): Promise<void> {
    if (this.readOnly) return this.refuseWrite()
    return this.serial(async () => {
      const r = await this.conn.runAndReadAll(
        `SELECT key, reporter, start_ms, end_ms, start_text FROM gcp_reports ORDER BY rowid`,
      )
      reports.seed(
        r.getRows().map(([key, reporter, start, end, startText]) => ({
          key: key as string,
          reporter: typeof reporter === 'string' ? reporter : undefined,
          start: Number(start),
          end: Number(end),
          startText: startText as string,
        })),
      )
      this.gcpReports = reports
    })
  }

  /**
   * In the transaction that stores files: the GCP reports remembered since the last transaction
   * are added to `gcp_reports`, the stored ones matched since deleted (one row each), and rows more
   * than `GCP_REPORTS_KEPT_MS` older than the newest dropped. Nothing when no GCP report changed
   * (every other format: no statement).
   */
  private async storeGcpReports(): Promise<void> {
    const changes = this.gcpReports?.drain()
    if (changes === undefined || (changes.added.length === 0 && changes.removed.length === 0))
      return
    for (const r of changes.removed)
      await this.conn.run(
        `DELETE FROM gcp_reports WHERE rowid = (SELECT min(rowid) FROM gcp_reports WHERE key = $key
           AND reporter IS NOT DISTINCT FROM $reporter AND start_ms = $start AND end_ms = $end
           AND start_text = $text)`,
        {
          key: r.key,
          reporter: r.reporter ?? null,
          start: BigInt(r.start),
          end: BigInt(r.end),
          text: r.startText,
        },
      )
    if (changes.added.length > 0) {
      const list = (f: (r: StoredGcpReport) => DuckDBValue): DuckDBListValue =>
        new DuckDBListValue(changes.added.map(f))
      await this.conn.run(
        `INSERT INTO gcp_reports SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::BIGINT[]),
           unnest(?::BIGINT[]), unnest(?::VARCHAR[])`,
        [
          list((r) => r.key),
          list((r) => r.reporter ?? null),
          list((r) => BigInt(r.start)),
          list((r) => BigInt(r.end)),
          list((r) => r.startText),
        ],
      )
    }
    await this.conn.run(
      `DELETE FROM gcp_reports WHERE end_ms < (SELECT max(end_ms) FROM gcp_reports) - ${String(GCP_REPORTS_KEPT_MS)}`,
    )
  }

  ingestFile(
    file: string,
    batches: (file: string) => AsyncIterable<FlowBatch>,
  ): Promise<IngestFileResult> {
    if (this.readOnly) return this.refuseWrite()
    if (sizeOf(file) >= HASH_AHEAD_BYTES)
      return this.serial(() => this.ingestHashingAhead(file, batches))
    return (async () => {
      const fingerprint = await fingerprintFile(file)
      return this.serial(async () => {
        const prior = await priorRecords(this.conn, fingerprint)
        if (prior !== undefined) return { file, fingerprint, records: prior, alreadyIngested: true }
        const written = await this.loading(() =>
          this.inTransaction(async () => {
            const w = await this.writeBatches(batches(file))
            await this.recordIngest(file, fingerprint, w.records)
            return w
          }),
        )
        return {
          file,
          fingerprint,
          records: written.records,
          alreadyIngested: false,
          ...settled(written),
        }
      })
    })()
  }

  ingestFiles(
    files: readonly string[],
    batches: (file: string, index: number) => AsyncIterable<FlowBatch>,
  ): Promise<(IngestFileResult | BulkheadError)[]> {
    if (this.readOnly) return this.refuseWrite()
    return (async () => {
      // fingerprints first (outside the queue, as ingestFile's), then one query for all of them
      const prints: (string | BulkheadError)[] = []
      for (const file of files) {
        try {
          prints.push(await fingerprintFile(file))
        } catch (err) {
          if (!(err instanceof BulkheadError)) throw err
          prints.push(err)
        }
      }
      return this.serial(() => this.ingestGroup(files, prints, batches))
    })()
  }

  /**
   * {@link ingestFiles} once the fingerprints are known: one transaction, one {@link FlowWriter};
   * each file is read whole and checked before any of its flows is packed, so a file that fails
   * leaves nothing in the transaction (DuckDB has no savepoints).
   */
  private async ingestGroup(
    files: readonly string[],
    prints: readonly (string | BulkheadError)[],
    batches: (file: string, index: number) => AsyncIterable<FlowBatch>,
  ): Promise<(IngestFileResult | BulkheadError)[]> {
    const results: (IngestFileResult | BulkheadError)[] = []
    const prior = await priorRecordsOf(
      this.conn,
      prints.filter((p): p is string => typeof p === 'string'),
    )
    // results that hold only if the transaction commits: files stored now, and their twins
    const pending: number[] = []
    try {
      await this.loading(() =>
        this.inTransaction(async () => {
          const w = await FlowWriter.open(this.conn, undefined, this.books)
          const now = new Map<string, number>()
          const rows: [string, string, number][] = []
          try {
            for (const [i, file] of files.entries()) {
              const fingerprint = prints[i] as string | BulkheadError
              if (fingerprint instanceof BulkheadError) {
                results.push(fingerprint)
                continue
              }
              const before = prior.get(fingerprint)
              if (before !== undefined) {
                results.push({ file, fingerprint, records: before, alreadyIngested: true })
                continue
              }
              const twin = now.get(fingerprint)
              if (twin !== undefined) {
                pending.push(results.length)
                results.push({ file, fingerprint, records: twin, alreadyIngested: true })
                continue
              }
              let held: FlowBatch[]
              try {
                held = await readAll(batches(file, i))
                for (const b of held) checkCounters(b)
              } catch (err) {
                if (!(err instanceof BulkheadError)) throw err
                results.push(err)
                continue
              }
              let records = 0
              for (const b of held) {
                await w.append(b)
                records += rowsOf(b)
              }
              now.set(fingerprint, records)
              rows.push([file, fingerprint, records])
              pending.push(results.length)
              results.push({ file, fingerprint, records, alreadyIngested: false })
            }
            await w.finish()
          } catch (err) {
            await w.abort()
            throw err
          }
          const first = pending.find((k) => !(results[k] as IngestFileResult).alreadyIngested)
          const across = await this.settleAcrossFiles(w)
          if (first !== undefined)
            results[first] = { ...(results[first] as IngestFileResult), ...settled(across) }
          // one statement for the run: an INSERT costs about a millisecond
          if (rows.length > 0)
            await this.conn.run(
              `INSERT INTO ingested_files SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::UBIGINT[]), current_timestamp::TIMESTAMP`,
              [
                new DuckDBListValue(rows.map((r) => r[0])),
                new DuckDBListValue(rows.map((r) => r[1])),
                new DuckDBListValue(rows.map((r) => BigInt(r[2]))),
              ],
            )
        }),
      )
    } catch (err) {
      // rolled back: nothing read now was stored (a full disk, a damaged store)
      if (!(err instanceof BulkheadError)) throw err
      for (const i of pending) results[i] = err
      // the files the failure stopped before: not stored either
      while (results.length < files.length) results.push(err)
    }
    return results
  }

  /**
   * {@link ingestFile} for a large file: its fingerprint is computed on a worker thread while
   * the file is read and stored; once it is known and found among the ingested files, reading
   * stops and the transaction is rolled back.
   */
  private async ingestHashingAhead(
    file: string,
    batches: (file: string) => AsyncIterable<FlowBatch>,
  ): Promise<IngestFileResult> {
    const cancel = new AbortController()
    let fingerprint: string | undefined
    let hashError: Error | undefined
    const hashing = fingerprintFileOffThread(file, cancel.signal).then(
      (hex) => {
        fingerprint = hex
      },
      (err: unknown) => {
        hashError = err instanceof Error ? err : new Error(String(err))
      },
    )
    let prior: number | undefined
    let checked = false
    // a second connection: the main one is busy with the load
    const seenBefore = async (): Promise<boolean> => {
      if (hashError !== undefined) throw hashError
      if (checked || fingerprint === undefined) return false
      checked = true
      const conn = await this.instance.connect()
      try {
        prior = await priorRecords(conn, fingerprint)
      } finally {
        conn.closeSync()
      }
      return prior !== undefined
    }
    try {
      const written = await this.loading(() =>
        this.inTransaction(async () => {
          const w = await this.writeBatches(batches(file), seenBefore)
          await hashing
          if (await seenBefore()) throw new SeenBefore()
          await this.recordIngest(file, fingerprint as string, w.records)
          return w
        }),
      )
      return {
        file,
        fingerprint: fingerprint as string,
        records: written.records,
        alreadyIngested: false,
        ...settled(written),
      }
    } catch (err) {
      if (!(err instanceof SeenBefore)) throw err
      return {
        file,
        fingerprint: fingerprint as string,
        records: prior as number,
        alreadyIngested: true,
      }
    } finally {
      cancel.abort()
      await hashing
    }
  }

  private async recordIngest(file: string, fingerprint: string, records: number): Promise<void> {
    await this.conn.run(
      `INSERT INTO ingested_files VALUES (?, ?, ?, current_timestamp::TIMESTAMP)`,
      [file, fingerprint, BigInt(records)],
    )
  }

  appendFlows(flows: AsyncIterable<Flow> | Iterable<Flow>): Promise<number> {
    if (this.readOnly) return this.refuseWrite()
    return this.serial(() => this.loading(() => this.inTransaction(() => this.write(flows))))
  }

  /**
   * Runs a load with DuckDB limited to {@link LOAD_THREADS} threads, then restores the
   * instance's thread count (also when `fn` throws). {@link allThreads}, called once the last
   * row is inserted, restores it earlier.
   */
  private async loading<T>(fn: () => Promise<T>): Promise<T> {
    const r = await this.conn.runAndReadAll(`SELECT current_setting('threads')::INTEGER`)
    const threads = num(r.getRows()[0]?.[0] ?? LOAD_THREADS)
    if (threads <= LOAD_THREADS) return fn()
    await this.conn.run(`SET threads = ${LOAD_THREADS}`)
    this.loadRestores = threads
    let result: T
    try {
      result = await fn()
    } catch (err) {
      this.loadRestores = undefined
      // after a failed write DuckDB may refuse every statement: keep the error that says why
      await this.conn.run(`SET threads = ${threads}`).catch(() => undefined)
      throw err
    }
    await this.allThreads()
    return result
  }

  /**
   * Gives DuckDB back the instance's thread count once a load's last row is inserted: what is
   * left (settling both ends, COMMIT) is DuckDB's alone, while the JS thread only waits, so
   * one thread would leave a core idle. 5 000 000 AWS records (the bench file), one traced run
   * each: settling both ends 289 → 165 ms, COMMIT 105 → 82 ms; the built CLI 4.06–4.24 →
   * 3.90–3.97 s (three alternating runs, 2026-11-25).
   */
  private async allThreads(): Promise<void> {
    const threads = this.loadRestores
    if (threads === undefined) return
    this.loadRestores = undefined
    await this.conn.run(`SET threads = ${threads}`)
  }

  /**
   * Runs `fn` in one transaction of the main connection.
   * @throws what `fn` throws, with DuckDB's I/O errors as diagnostics ({@link storeIoError}).
   */
  private async inTransaction<T>(fn: () => Promise<T>): Promise<T> {
    try {
      this.books ??= await loadBooks(this.conn)
    } catch (err) {
      throw storeIoError(this.path, err)
    }
    const books = [this.books.addresses, this.books.sources, this.books.names, this.books.exporters]
    await this.conn.run('BEGIN TRANSACTION')
    let result: T
    try {
      result = await fn()
      await this.conn.run('COMMIT')
    } catch (err) {
      for (const b of books) b.rollback()
      // a commit that failed (a full disk) has ended the transaction already: the ROLLBACK then
      // fails too, and must not hide the error that says why
      await this.conn.run('ROLLBACK').catch(() => undefined)
      throw storeIoError(this.path, err)
    }
    for (const b of books) b.commit()
    return result
  }

  private async write(flows: AsyncIterable<Flow> | Iterable<Flow>): Promise<number> {
    const w = await FlowWriter.open(this.conn, undefined, this.books)
    try {
      if (Symbol.asyncIterator in flows) {
        for await (const f of flows) if (w.add(f)) await w.rotate()
      } else {
        for (const f of flows) if (w.add(f)) await w.rotate()
      }
      return (await this.finish(w)).records
    } catch (err) {
      await w.abort()
      throw err
    }
  }

  /**
   * Writes every batch; after each, `seenBefore` (when given) may stop the load by answering
   * true, which throws {@link SeenBefore} (the caller rolls back).
   */
  private async writeBatches(
    batches: AsyncIterable<FlowBatch>,
    seenBefore?: () => Promise<boolean>,
  ): Promise<{ records: number } & Settled> {
    const w = await FlowWriter.open(this.conn, undefined, this.books)
    try {
      for await (const batch of batches) {
        await w.append(batch)
        if (seenBefore !== undefined && (await seenBefore())) throw new SeenBefore()
      }
      return await this.finish(w)
    } catch (err) {
      await w.abort()
      throw err
    }
  }

  /** Finishes `w` and settles what its rows and the stored ones show together ({@link settleAcrossFiles}). */
  private async finish(w: FlowWriter): Promise<{ records: number } & Settled> {
    const records = await w.finish()
    return { records, ...(await this.settleAcrossFiles(w)) }
  }

  /**
   * After `w` (finished) has written a transaction's rows: pairs the unpaired halves it wrote
   * with those of other files ({@link pairHalves}), then reads `reject` the accepted halves whose
   * refusal the other end logged ({@link settleBothEnds}: the halves left unpaired, as reading
   * settles them; for NetFlow/IPFIX and goflow2 halves {@link settleExporterEnds}, per exporter). Each looks only at
   * the time span of what was written.
   */
  private async settleAcrossFiles(w: FlowWriter): Promise<Settled> {
    // DuckDB's work alone from here: the parser is done
    await this.allThreads()
    await this.storeGcpReports()
    const paired = await pairHalves(this.conn, this.books as Books, w.halves())
    const span = bothEndsSpanOf(w.bothEndsSpan(), paired)
    const exporters = w.exporterSpan()
    return {
      rejectedAtOtherEnd:
        (span === undefined ? 0 : await settleBothEnds(this.conn, span)) +
        (exporters === undefined ? 0 : await settleExporterEnds(this.conn, exporters)),
      pairedAcrossFiles: paired.byFormat,
      refusedByReset: paired.refused,
    }
  }

  async *flows(q: FlowQuery = {}, options: QueryOptions = {}): AsyncIterable<Flow> {
    if (this.closed) throw new Error(`the flow store ${this.path} is closed`)
    const { where, values, types } = timeFilter(q)
    const conn = await this.instance.connect()
    let poll = NO_POLL
    try {
      if (options.onProgress !== undefined) {
        await trackProgress(conn)
        poll = pollProgress(conn, options.onProgress)
      }
      // the query sorts, then gives out rows as they are fetched: polled until the iteration ends
      const result = await conn.stream(
        `SELECT ${READ_COLUMNS} FROM flows ${where} ORDER BY start_ms, rowid${limitClause(q)}`,
        values,
        types,
      )
      for (;;) {
        const chunk = await result.fetchChunk()
        poll.check()
        if (!chunk || chunk.rowCount === 0) break
        for (const row of chunk.getRows()) yield rowToFlow(row)
      }
    } finally {
      poll.stop()
      conn.closeSync()
    }
  }

  count(q: FlowQuery = {}): Promise<number> {
    return this.serial(async () => {
      const { where, values, types } = timeFilter(q)
      const r = await this.conn.runAndReadAll(
        `SELECT count(*) FROM (SELECT 1 FROM flow_rows ${where}${limitClause(q)})`,
        values,
        types,
      )
      return num(r.getRows()[0]?.[0] ?? 0)
    })
  }

  window(): Promise<{ start: number; end: number } | undefined> {
    return this.serial(async () => {
      const r = await this.conn.runAndReadAll(`SELECT min(start_ms), max(end_ms) FROM flow_rows`)
      const row = r.getRows()[0]
      if (!row || row[0] === null || row[0] === undefined) return undefined
      return { start: num(row[0]), end: num(row[1] ?? row[0]) }
    })
  }

  query<T extends Record<string, unknown>>(
    sql: string,
    params: readonly unknown[] = [],
    options: QueryOptions = {},
  ): Promise<T[]> {
    return this.serial(() =>
      this.withSelect(sql, params, options, async (stmt) =>
        (await stmt.runAndReadAll()).getRowObjectsJS().map((row) => plainRow(row) as T),
      ),
    )
  }

  // the row type is the caller's claim about its SELECT, as for query<T>
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  queryBatches<T extends Record<string, unknown>>(
    sql: string,
    params: readonly unknown[],
    onBatch: (rows: T[]) => void | Promise<void>,
    options: QueryOptions = {},
  ): Promise<number> {
    return this.serial(() =>
      this.withSelect(sql, params, options, async (stmt) => {
        let n = 0
        for await (const rows of (await stmt.stream()).yieldRowObjectJs()) {
          n += rows.length
          await onBatch(rows.map((row) => plainRow(row) as T))
        }
        return n
      }),
    )
  }

  queryColumnBatches(
    sql: string,
    params: readonly unknown[],
    onBatch: (batch: ColumnBatch) => void | Promise<void>,
    options: QueryOptions = {},
  ): Promise<number> {
    return this.serial(() =>
      this.withSelect(sql, params, options, async (stmt) => {
        const result = await stmt.stream()
        let n = 0
        for (;;) {
          const chunk = await result.fetchChunk()
          if (!chunk || chunk.rowCount === 0) break
          n += chunk.rowCount
          await onBatch(new ChunkColumns(chunk))
        }
        return n
      }),
    )
  }

  async groupFlows(
    q: Omit<FlowQuery, 'limit'>,
    options: GroupFlowsOptions,
    onGroup: (group: StoredFlowGroup) => void,
  ): Promise<{ groups: number; split: number }> {
    return groupStoredFlows(this, await this.flowDictionaries(), q, options, onGroup)
  }

  /** Every stored address and source by id ({@link FlowDictionaries}). */
  private async flowDictionaries(): Promise<FlowDictionaries> {
    const addresses = new Map<number, string>()
    const sources = new Map<number, { format: string; file: string }>()
    for (const r of await this.query<{ id: number; text: string }>(
      `SELECT id, text FROM addresses`,
      [],
    ))
      addresses.set(r.id, r.text)
    for (const r of await this.query<{ id: number; format: string; file: string }>(
      `SELECT id, format, file FROM sources`,
      [],
    ))
      sources.set(r.id, { format: r.format, file: r.file })
    return { addresses, sources }
  }

  /**
   * Prepares `sql`, checks that it is one SELECT, binds `params`, runs `fn` (its progress polled
   * for `options.onProgress` until it settles), frees the statement.
   */
  private async withSelect<R>(
    sql: string,
    params: readonly unknown[],
    options: QueryOptions,
    fn: (stmt: DuckDBPreparedStatement) => Promise<R>,
  ): Promise<R> {
    const { onProgress } = options
    if (onProgress !== undefined && !this.tracking) {
      await trackProgress(this.conn)
      this.tracking = true
    }
    const stmt = await this.conn.prepare(sql)
    try {
      if (stmt.statementType !== StatementType.SELECT) {
        throw new BulkheadError([
          {
            code: 'store/not-read-only',
            severity: 'error',
            message: 'only a single SELECT statement can be run through query()',
          },
        ])
      }
      if (params.length > 0) {
        const { values, types } = bindParams(params)
        stmt.bind(values, types as DuckDBType[])
      }
      return await polled(this.conn, onProgress, () => fn(stmt))
    } finally {
      stmt.destroySync()
    }
  }

  async loadTempTable(
    name: string,
    columns: readonly TempColumn[],
    rows: readonly (readonly (string | number | null)[])[],
  ): Promise<void> {
    checkTempName(name)
    if (columns.length === 0) throw new RangeError('a temporary table needs at least one column')
    for (const c of columns) {
      if (!COLUMN_NAME.test(c.name)) throw new RangeError(`bad column name "${c.name}"`)
      if (!['VARCHAR', 'BIGINT'].includes(c.type))
        throw new RangeError(`unsupported column type ${c.type}`)
    }
    return this.serial(async () => {
      await this.conn.run(
        `CREATE OR REPLACE TEMP TABLE ${name} (${columns.map((c) => `${c.name} ${c.type}`).join(', ')})`,
      )
      const app = await this.conn.createAppender(name, null, 'temp')
      try {
        for (const row of rows) {
          if (row.length !== columns.length)
            throw new RangeError(
              `a row of ${name} has ${row.length} values, expected ${columns.length}`,
            )
          columns.forEach((c, i) => {
            const v = row[i]
            if (v === null || v === undefined) app.appendNull()
            else if (c.type === 'VARCHAR' && typeof v === 'string') app.appendVarchar(v)
            else if (c.type === 'BIGINT' && typeof v === 'number' && Number.isSafeInteger(v))
              app.appendBigInt(BigInt(v))
            else throw new RangeError(`bad value for ${name}.${c.name}: ${String(v)}`)
          })
          app.endRow()
        }
        app.flushSync()
      } finally {
        app.closeSync()
      }
    })
  }

  async dropTempTable(name: string): Promise<void> {
    checkTempName(name)
    return this.serial(async () => {
      await this.conn.run(`DROP TABLE IF EXISTS temp.main.${name}`)
    })
  }

  async close(): Promise<void> {
    if (this.closed) return
    await this.queue
    this.closed = true
    this.conn.closeSync()
    this.instance.closeSync()
  }
}

/**
 * Why DuckDB could not open the store file, as a diagnostic: `store/locked` when another process
 * holds it (DuckDB allows one writing process per database file), else `store/open-failed` with
 * DuckDB's message (permissions, not a DuckDB file).
 */
function storeOpenError(path: string, err: unknown): BulkheadError {
  const message = err instanceof Error ? err.message : String(err)
  const where = { file: path, line: 0, column: 0 }
  const d = /Could not set lock on file/i.test(message)
    ? diagnostic('store/locked', `the flow store "${path}" is in use by another process`, where, {
        hint: 'wait for the other bulkhead command to finish: an ingest holds the store alone, while commands that only read it (simulate, discover, diff) can share it',
      })
    : diagnostic('store/open-failed', `cannot open the flow store "${path}": ${message}`, where, {
        hint: /Is a directory/i.test(message)
          ? 'the store names a folder: name the DuckDB file in it (store: .bulkhead/store.duckdb in bulkhead.yaml)'
          : 'check that the store and its folder are writable and that it is a DuckDB file',
      })
  return new BulkheadError([d], { cause: err })
}

/**
 * DuckDB's error on a store file that is damaged or cannot be written, as a diagnostic located at
 * the store: `store/open-failed` when DuckDB cannot read what the file says it holds (a store cut
 * short by an interrupted copy), `io/write-failed` when it cannot write (a full disk, a file size
 * limit); DuckDB's message is kept. Any other error is returned as it is (a bug stays an internal
 * error).
 */
function storeIoError(path: string, err: unknown): unknown {
  if (err instanceof BulkheadError || !(err instanceof Error)) return err
  const where = { file: path, line: 0, column: 0 }
  if (/Could not read enough bytes|Could not read from file/i.test(err.message))
    return new BulkheadError(
      [
        diagnostic(
          'store/open-failed',
          `the flow store "${path}" is damaged: ${err.message}`,
          where,
          {
            hint: 'restore the store from a copy, or remove it and ingest the flow files again',
          },
        ),
      ],
      { cause: err },
    )
  if (
    /No space left on device|Disk quota exceeded|File too large|Could not write/i.test(err.message)
  )
    return new BulkheadError(
      [
        diagnostic(
          'io/write-failed',
          `cannot write the flow store "${path}": ${err.message}`,
          where,
          {
            hint: 'free space on the disk that holds the store (it keeps what earlier ingests committed), then ingest the files again',
          },
        ),
      ],
      { cause: err },
    )
  return err
}

/**
 * An error raised once DuckDB has opened the file (reading the schema, recovering, migrating):
 * ours as it is; a write DuckDB cannot make as {@link storeIoError} says; any other as
 * `store/open-failed` — DuckDB reads most of a damaged file only at the first query.
 */
function openedError(path: string, err: unknown): unknown {
  if (err instanceof BulkheadError) return err
  const mapped = storeIoError(path, err)
  return mapped instanceof BulkheadError ? mapped : storeOpenError(path, err)
}

/**
 * Deletes the flow rows whose source, address or name id has no row in its dictionary, and
 * returns how many. An ingest writes a file's flows, dictionary rows and `ingested_files` row in
 * one transaction, but DuckDB (1.5.5) replays a write-ahead log cut during a large commit in part:
 * the flows, which it wrote to the file before the commit, without the rest (s9/hK; duckdb/duckdb
 * PR 25931). Such rows belong to no committed ingest, and ids the next ingest gives out would
 * otherwise name them. Run when a log was left behind (a crash), before anything is written.
 */
export async function deleteUncommittedFlows(conn: DuckDBConnection): Promise<number> {
  const reader = await conn.runAndReadAll(
    `DELETE FROM flow_rows
     WHERE source NOT IN (SELECT id FROM sources)
        OR src NOT IN (SELECT id FROM addresses)
        OR dst NOT IN (SELECT id FROM addresses)
        OR (names IS NOT NULL AND names NOT IN (SELECT id FROM names))`,
  )
  return Number(reader.getRows()[0]?.[0] ?? 0)
}

/** How {@link openDuckDbStore} opens a store. */
export interface OpenStoreOptions {
  /**
   * Open an existing store for reading only, so that any number of reading processes
   * (`simulate`, `discover`, `diff` in parallel CI jobs) share it; DuckDB gives one process the
   * file to write, or any number of processes the file to read (DuckDB's concurrency
   * documentation). The store is opened for writing all the same when it must be written before
   * it can be read: absent, left with a write-ahead log by a crash (its uncommitted flows are
   * removed), or of an older schema (migrated). Writing to a read-only store throws.
   */
  readonly readOnly?: boolean
}

/**
 * Opens (creating when absent) the DuckDB flow store at `path`; `':memory:'` gives a private
 * in-memory store. The folder of `path` must exist.
 * @throws BulkheadError `store/locked` when another process holds the file (for writing, or for
 * reading when this open writes), `store/open-failed` when DuckDB cannot open it otherwise
 * (permissions, not a DuckDB file), `store/schema-too-new` when it was written by a newer schema.
 */
export async function openDuckDbStore(
  path: string,
  options: OpenStoreOptions = {},
): Promise<FlowStore> {
  // a write-ahead log left behind: the last process did not close the store (it crashed)
  const crashed = existsSync(`${path}.wal`)
  if (options.readOnly === true && path !== ':memory:' && existsSync(path) && !crashed) {
    const store = await openReadOnly(path)
    if (store !== undefined) return store
  }
  let instance: DuckDBInstance
  try {
    instance = await DuckDBInstance.create(path, {
      disabled_optimizers: DISABLED_OPTIMIZERS,
      write_buffer_row_group_count: WRITE_BUFFER_ROW_GROUPS,
    })
  } catch (err) {
    throw storeOpenError(path, err)
  }
  let conn: DuckDBConnection | undefined
  try {
    conn = await instance.connect()
    await ensureSchema(conn, path)
    const recovered = crashed ? await deleteUncommittedFlows(conn) : 0
    prepareLoad(conn)
    return new DuckDbFlowStore(path, instance, conn, recovered)
  } catch (err) {
    conn?.closeSync()
    instance.closeSync()
    throw openedError(path, err)
  }
}

/**
 * The store at `path` opened read-only, or `undefined` when it must be written first: it has no
 * schema yet, or an older one (to be migrated by a writing open).
 * @throws as {@link openDuckDbStore}.
 */
async function openReadOnly(path: string): Promise<FlowStore | undefined> {
  let instance: DuckDBInstance
  try {
    instance = await DuckDBInstance.create(path, {
      access_mode: 'READ_ONLY',
      disabled_optimizers: DISABLED_OPTIMIZERS,
    })
  } catch (err) {
    throw storeOpenError(path, err)
  }
  let conn: DuckDBConnection | undefined
  try {
    conn = await instance.connect()
    const version = await schemaVersion(conn, path)
    if (version !== undefined && version >= SCHEMA_VERSION) {
      await ensureSchema(conn, path) // writes nothing here; a newer schema is store/schema-too-new
      return new DuckDbFlowStore(path, instance, conn, 0, true)
    }
  } catch (err) {
    conn?.closeSync()
    instance.closeSync()
    throw openedError(path, err)
  }
  conn.closeSync()
  instance.closeSync()
  return undefined
}
