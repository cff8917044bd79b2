/**
 * @module The DuckDB flow store schema (version 6): tables, column types, the `flows` view, the
 * version check and the migrations from versions 1, 2, 3, 4 and 5.
 *
 * Tables: `meta (key, value)`, `addresses (id, text)`, `sources (id, format, file)`,
 * `names (id, src_name, dst_name, src_labels, dst_labels)`, `exporters (id, key)`,
 * `flow_rows` ({@link FLOW_COLUMNS}),
 * `ingested_files (path, fingerprint, records, ingested_at)`,
 * `gcp_reports (key, reporter, start_ms, end_ms, start_text)` ({@link CREATE_GCP_REPORTS}); the view `flows`
 * ({@link VIEW_COLUMNS}) is what readers query.
 *
 * Column choices, for load and scan speed:
 * - `start_ms` / `end_ms` are `BIGINT` milliseconds since the epoch, UTC — exactly the unit of
 *   {@link Flow} `start`/`end`, so nothing is converted on the way in or out, time filters bind
 *   plain integers, and the load path writes them as raw int64 words. (A `TIMESTAMP_MS` would
 *   store the same int64; use `epoch_ms(start_ms)` in SQL to get a TIMESTAMP.) DuckDB keeps
 *   min/max zonemaps per row group (122 880 rows) for every column, so a `start_ms` filter skips
 *   whole row groups when rows arrive in time order, which flow files do. ClickHouse would
 *   `PARTITION BY day` the same table.
 * - `day` (`DATE`, the UTC day of `start_ms`) is computed by the `flows` view (schema version 3;
 *   version 2 stored it): storing it cost ~10 % of the insert CPU, and every reader's time filter
 *   has a `start_ms` bound, which prunes row groups as well.
 * - ports `USMALLINT`, protocol `UTINYINT`, counters `UBIGINT`: the value ranges of the model.
 * - rows live in `flow_rows`, with `src`/`dst` as ids into `addresses (id, text)` (canonical
 *   address text, as in {@link Flow}; one row per distinct address of the store),
 *   `observed_action` / `direction` as small codes, `source` as an id into
 *   `sources (id, format, file)` (one row per distinct pair; version 3, version 2 stored both
 *   strings in every row), and `names` as an id into `names` (one row per distinct tuple of
 *   src/dst name and labels, NULL when a flow has none; version 3, version 2 stored four
 *   nullable VARCHAR columns, whose compression analysis cost ~0.25 s of insert CPU per million
 *   rows even when all NULL, .perf/w-nulls.mts); the `flows` VIEW joins and decodes them, so
 *   every reader sees the text columns of version 1. Why: storing VARCHAR addresses and names
 *   cost half of DuckDB's insert CPU (compression analysis of string columns); integer codes
 *   halve it (1 M rows, one thread: ~1.0 s instead of ~2.0 s CPU, /tmp/r2/sql.mts, 2026-11-22).
 *   The price is on reads that touch `src`/`dst`: the view's joins add ~0.15–0.2 s CPU per
 *   million rows to each such query (2 M rows: `DISTINCT src … UNION DISTINCT dst` 0.04 → 0.42 s,
 *   simulate's GROUP BY 1.15 → 1.4 s, a full ordered scan 0.45 → 0.8 s; /tmp/r2/read.mts).
 *   DuckDB 1.5.5 keeps a view's unused LEFT JOINs, so every query through `flows` also pays the
 *   `sources` and `names` joins: 2 M rows, version 2 → 3 (.perf/w-read.mts, load average 5–7,
 *   best of 4): simulate's GROUP BY 1.01 → 1.08 s CPU, distinct addresses 0.43 → 0.49 s, a
 *   windowed `flows()` read 3.0 → 3.3 s, the time-windowed aggregations unchanged (≤ 0.09 s);
 * - labels are JSON object text with sorted keys.
 * - `half` (version 4): the unpaired-half mark of a flow (core `HALF_UNPAIRED`, `HALF_SWAPPED`,
 *   `HALF_ECHO_ASSUMED`, `HALF_ICMP_TYPED`, and `HALF_SETTLED` on a half read `reject` because the
 *   other end refused it, ./batch.ts `settleBothEnds`; 0 for every other flow): one direction of an AWS or
 *   GCP VPC connection (or a NetFlow/IPFIX or goflow2 record of one direction, below)
 *   whose other direction was not in its file, which the store pairs when another file brings
 *   it (./halves.ts). The view leaves it out. A `UTINYINT` that is mostly 0 costs the insert
 *   little (bit-packed); its zonemaps let the pairing query skip row groups without halves.
 *   Flows stored before version 4 are all 0: their halves are not known, and not paired.
 * - `exporter` (version 5): for an unpaired half of a NetFlow/IPFIX or goflow2 record, an id into
 *   `exporters (id, key)`, the exporter that logged it, independent of the file (ingest
 *   `PairHalf.exporter`: the format, the sender's address and port and the observation domain;
 *   goflow2's `type` and `sampler_address`), so that the store pairs it only with a half of the
 *   same exporter (./halves.ts); NULL on every other row (AWS and GCP halves: one scope). An
 *   all-NULL `UINTEGER` costs the insert ~0 (see batch.ts `NAME_BOOK`). Flows stored before
 *   version 5 are NULL: NetFlow halves were stored unmarked (`half` 0) then.
 * @remarks Semantics of each column: src/core/flow.ts. Stable: store format; bump
 * {@link SCHEMA_VERSION} on any change and add a migration.
 */
import type { DuckDBConnection } from '@duckdb/node-api'
import { BulkheadError } from '../../core/index.js'

/** The schema version this code writes. Stable: stored in `meta.schema_version`. */
export const SCHEMA_VERSION = 6

/** One column of the `flow_rows` table. `kind` says how the load path encodes it. */
export interface FlowColumn {
  readonly name: string
  /** The DuckDB type in `flow_rows`. */
  readonly type: string
  readonly nullable: boolean
  /**
   * `address`: an `addresses.id` (`UINTEGER`), assigned through the writer's address `IdBook`;
   * `source`: a `sources.id` (`UINTEGER`), assigned through its source `IdBook`;
   * `names`: a `names.id` (`UINTEGER`, NULL when the flow has no name and no labels), assigned
   * through its name `IdBook`; `exporter`: an `exporters.id` (`UINTEGER`, NULL but on NetFlow/IPFIX
   * and goflow2 halves), assigned through its exporter `IdBook`; otherwise the fixed-width type
   * written as is.
   */
  readonly kind: 'address' | 'source' | 'names' | 'exporter' | 'u8' | 'u16' | 'u32' | 'i64' | 'u64'
}

/**
 * The columns of `flow_rows`, in table order. Stable: store format. `observed_action` codes:
 * 0 accept, 1 reject, 2 unknown; `direction` codes: 0 unknown, 1 client-to-server,
 * 2 server-to-client (the codes of `FlowColumnBatch`); the `flows` view decodes both.
 */
export const FLOW_COLUMNS: readonly FlowColumn[] = [
  { name: 'src', type: 'UINTEGER', nullable: false, kind: 'address' },
  { name: 'dst', type: 'UINTEGER', nullable: false, kind: 'address' },
  { name: 'src_port', type: 'USMALLINT', nullable: false, kind: 'u16' },
  { name: 'dst_port', type: 'USMALLINT', nullable: false, kind: 'u16' },
  { name: 'protocol', type: 'UTINYINT', nullable: false, kind: 'u8' },
  { name: 'start_ms', type: 'BIGINT', nullable: false, kind: 'i64' },
  { name: 'end_ms', type: 'BIGINT', nullable: false, kind: 'i64' },
  { name: 'packets', type: 'UBIGINT', nullable: false, kind: 'u64' },
  { name: 'bytes', type: 'UBIGINT', nullable: false, kind: 'u64' },
  { name: 'observed_action', type: 'UTINYINT', nullable: false, kind: 'u8' },
  { name: 'direction', type: 'UTINYINT', nullable: false, kind: 'u8' },
  { name: 'source', type: 'UINTEGER', nullable: false, kind: 'source' },
  { name: 'line', type: 'UINTEGER', nullable: true, kind: 'u32' },
  { name: 'record', type: 'UINTEGER', nullable: true, kind: 'u32' },
  { name: 'tcp_flags', type: 'USMALLINT', nullable: true, kind: 'u16' },
  { name: 'names', type: 'UINTEGER', nullable: true, kind: 'names' },
  { name: 'half', type: 'UTINYINT', nullable: false, kind: 'u8' },
  { name: 'exporter', type: 'UINTEGER', nullable: true, kind: 'exporter' },
]

/** SQL decoding `observed_action` codes of `flow_rows` alias `fr`. */
const ACTION_SQL = `CASE fr.observed_action WHEN 0 THEN 'accept' WHEN 1 THEN 'reject' ELSE 'unknown' END`
/** SQL decoding `direction` codes of `flow_rows` alias `fr`. */
const DIRECTION_SQL = `CASE fr.direction WHEN 1 THEN 'client-to-server' WHEN 2 THEN 'server-to-client' ELSE 'unknown' END`
/**
 * SQL of the UTC day (`DATE`) of `fr.start_ms`: the day that schema version 2 stored, which the
 * writer computed as `Math.floor(start / 86 400 000)` days since 1970-01-01 (so a time before
 * 1970 falls on the day before, not on 1970-01-01).
 */
const DAY_SQL = `CAST(epoch_ms(fr.start_ms) AS DATE)`

/**
 * The columns of the `flows` view, in order: those of schema versions 1 and 2 (same names,
 * types and values), then `rowid`.
 */
export const VIEW_COLUMNS: readonly string[] = [
  'src',
  'dst',
  'src_port',
  'dst_port',
  'protocol',
  'start_ms',
  'end_ms',
  'day',
  'packets',
  'bytes',
  'observed_action',
  'direction',
  'format',
  'file',
  'line',
  'record',
  'tcp_flags',
  'src_name',
  'dst_name',
  'src_labels',
  'dst_labels',
  'rowid',
]

function viewExpr(name: string): string {
  switch (name) {
    case 'src':
      return 'sa.text AS src'
    case 'dst':
      return 'da.text AS dst'
    case 'day':
      return `${DAY_SQL} AS day`
    case 'observed_action':
      return `${ACTION_SQL} AS observed_action`
    case 'direction':
      return `${DIRECTION_SQL} AS direction`
    case 'format':
      return 'so.format AS format'
    case 'file':
      return 'so.file AS file'
    case 'src_name':
    case 'dst_name':
    case 'src_labels':
    case 'dst_labels':
      return `nm.${name} AS ${name}`
    case 'rowid':
      return 'fr.rowid AS rowid'
    default:
      return `fr.${name}`
  }
}

/**
 * The `flows` view: `flow_rows` with addresses as text, action/direction as their names,
 * `format`/`file` from `sources` and `day` computed, so readers see the columns and values of
 * schema version 1 ({@link VIEW_COLUMNS}) plus `rowid`, the row's insertion order.
 */
const FLOWS_VIEW =
  `CREATE VIEW flows AS SELECT ${VIEW_COLUMNS.map(viewExpr).join(', ')} FROM flow_rows fr` +
  ` LEFT JOIN addresses sa ON sa.id = fr.src LEFT JOIN addresses da ON da.id = fr.dst` +
  ` LEFT JOIN sources so ON so.id = fr.source LEFT JOIN names nm ON nm.id = fr.names`

const CREATE_FLOW_ROWS = `CREATE TABLE flow_rows (${FLOW_COLUMNS.map((c) => `${c.name} ${c.type}${c.nullable ? '' : ' NOT NULL'}`).join(', ')})`
const CREATE_SOURCES = `CREATE TABLE sources (id UINTEGER NOT NULL, format VARCHAR NOT NULL, file VARCHAR NOT NULL)`
const CREATE_ADDRESSES = `CREATE TABLE addresses (id UINTEGER NOT NULL, text VARCHAR NOT NULL)`
const CREATE_NAMES = `CREATE TABLE names (id UINTEGER NOT NULL, src_name VARCHAR, dst_name VARCHAR, src_labels VARCHAR, dst_labels VARCHAR)`
const CREATE_EXPORTERS = `CREATE TABLE exporters (id UINTEGER NOT NULL, key VARCHAR NOT NULL)`

/**
 * `gcp_reports` (version 6): the GCP VPC Flow Logs reports an `ingest` remembered and did not
 * match (ingest/gcp-reports.ts `GcpReports`: the SRC or DEST report of some traffic whose other
 * report it has not read), one row each in the order they were remembered (`rowid`), kept in the
 * transaction that stores their files; the next `ingest` starts from them, so that the other
 * VM's report in a file of a later command is dropped (`duplicate-report`) as it is when the two
 * files are read by one command. `key` is the 5-tuple `protocol|src|srcPort|dst|dstPort`
 * (addresses as canonical text), `reporter` `SRC`/`DEST` (NULL when the record had none),
 * `start_ms`/`end_ms` the record's interval, `start_text` its `start_time` as written. Rows
 * more than {@link GCP_REPORTS_KEPT_MS} older than the newest are dropped (./store.ts).
 */
const CREATE_GCP_REPORTS = `CREATE TABLE gcp_reports (key VARCHAR NOT NULL, reporter VARCHAR, start_ms BIGINT NOT NULL, end_ms BIGINT NOT NULL, start_text VARCHAR NOT NULL)`

/**
 * How long (ms) a remembered GCP report is kept before the newest one's end: a day. The two
 * reports of the same traffic end within minutes of each other; a day leaves room for shards
 * ingested out of order.
 */
export const GCP_REPORTS_KEPT_MS = 86_400_000

/** DDL of schema version 6 for an empty database. */
const DDL_V6 = [
  `CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`,
  CREATE_ADDRESSES,
  CREATE_SOURCES,
  CREATE_NAMES,
  CREATE_EXPORTERS,
  CREATE_FLOW_ROWS,
  FLOWS_VIEW,
  `CREATE TABLE ingested_files (path VARCHAR NOT NULL, fingerprint VARCHAR PRIMARY KEY, records UBIGINT NOT NULL, ingested_at TIMESTAMP NOT NULL)`,
  CREATE_GCP_REPORTS,
  `INSERT INTO meta VALUES ('schema_version', '${SCHEMA_VERSION}')`,
]

/** The columns of `flow_rows` in schema version 2 (frozen: the migrations read and write it). */
const V2_COLUMNS =
  'src UINTEGER NOT NULL, dst UINTEGER NOT NULL, src_port USMALLINT NOT NULL, dst_port USMALLINT NOT NULL, ' +
  'protocol UTINYINT NOT NULL, start_ms BIGINT NOT NULL, end_ms BIGINT NOT NULL, day DATE NOT NULL, ' +
  'packets UBIGINT NOT NULL, bytes UBIGINT NOT NULL, observed_action UTINYINT NOT NULL, direction UTINYINT NOT NULL, ' +
  'format VARCHAR NOT NULL, file VARCHAR NOT NULL, line UINTEGER, record UINTEGER, tcp_flags USMALLINT, ' +
  'src_name VARCHAR, dst_name VARCHAR, src_labels VARCHAR, dst_labels VARCHAR'

/**
 * Migrates a version 1 store (a `flows` table with text addresses and action/direction names)
 * to version 2's tables: every distinct address gets an id, rows are copied in their insertion
 * order. The version 2 view is not created: {@link MIGRATE_V2_TO_V3} follows in the same
 * transaction and replaces it anyway.
 */
const MIGRATE_V1_TO_V2 = [
  `ALTER TABLE flows RENAME TO flows_v1`,
  CREATE_ADDRESSES,
  `CREATE TABLE flow_rows (${V2_COLUMNS})`,
  `INSERT INTO addresses SELECT (row_number() OVER (ORDER BY text) - 1)::UINTEGER, text FROM (SELECT src AS text FROM flows_v1 UNION SELECT dst FROM flows_v1)`,
  `INSERT INTO flow_rows SELECT sa.id, da.id, v.src_port, v.dst_port, v.protocol, v.start_ms, v.end_ms, v.day, v.packets, v.bytes, ` +
    `CASE v.observed_action WHEN 'accept' THEN 0 WHEN 'reject' THEN 1 ELSE 2 END, ` +
    `CASE v.direction WHEN 'client-to-server' THEN 1 WHEN 'server-to-client' THEN 2 ELSE 0 END, ` +
    `v.format, v.file, v.line, v.record, v.tcp_flags, v.src_name, v.dst_name, v.src_labels, v.dst_labels` +
    ` FROM flows_v1 v JOIN addresses sa ON sa.text = v.src JOIN addresses da ON da.text = v.dst ORDER BY v.rowid`,
  `DROP TABLE flows_v1`,
  `UPDATE meta SET value = '2' WHERE key = 'schema_version'`,
]

/** The columns of `flow_rows` in schema version 3 (frozen: the migration from version 2 writes it). */
const V3_COLUMNS = FLOW_COLUMNS.filter((c) => c.name !== 'half' && c.name !== 'exporter')

/**
 * Migrates a version 2 store to version 3: every distinct (format, file) pair gets a
 * `sources` id and every distinct (src_name, dst_name, src_labels, dst_labels) tuple other than
 * all-NULL a `names` id (both in order of first appearance), `day` is dropped (the view computes
 * it), rows are copied in their insertion order, the view is replaced. Runs in the caller's
 * transaction.
 */
const MIGRATE_V2_TO_V3 = [
  `DROP VIEW IF EXISTS flows`,
  `ALTER TABLE flow_rows RENAME TO flow_rows_v2`,
  CREATE_SOURCES,
  CREATE_NAMES,
  `CREATE TABLE flow_rows (${V3_COLUMNS.map((c) => `${c.name} ${c.type}${c.nullable ? '' : ' NOT NULL'}`).join(', ')})`,
  `INSERT INTO sources SELECT (row_number() OVER (ORDER BY first) - 1)::UINTEGER, format, file FROM (SELECT format, file, min(rowid) AS first FROM flow_rows_v2 GROUP BY format, file)`,
  `INSERT INTO names SELECT (row_number() OVER (ORDER BY first) - 1)::UINTEGER, src_name, dst_name, src_labels, dst_labels FROM (SELECT src_name, dst_name, src_labels, dst_labels, min(rowid) AS first FROM flow_rows_v2 WHERE src_name IS NOT NULL OR dst_name IS NOT NULL OR src_labels IS NOT NULL OR dst_labels IS NOT NULL GROUP BY src_name, dst_name, src_labels, dst_labels)`,
  `INSERT INTO flow_rows SELECT ` +
    V3_COLUMNS.map((c) =>
      c.name === 'source' ? 's.id' : c.name === 'names' ? 'n.id' : `v.${c.name}`,
    ).join(', ') +
    ` FROM flow_rows_v2 v JOIN sources s ON s.format = v.format AND s.file = v.file` +
    ` LEFT JOIN names n ON n.src_name IS NOT DISTINCT FROM v.src_name AND n.dst_name IS NOT DISTINCT FROM v.dst_name` +
    ` AND n.src_labels IS NOT DISTINCT FROM v.src_labels AND n.dst_labels IS NOT DISTINCT FROM v.dst_labels` +
    ` ORDER BY v.rowid`,
  `DROP TABLE flow_rows_v2`,
  FLOWS_VIEW,
  `UPDATE meta SET value = '3' WHERE key = 'schema_version'`,
]

/**
 * Migrates a version 3 store to version 4: `flow_rows` gains `half`, 0 on every stored row (which
 * of them were unpaired halves was not recorded). DuckDB adds no column with a constraint, so the
 * column is added with a default, made NOT NULL and its default dropped: the table then has the
 * columns and constraints of version 4's. The rows stay where they are. Runs in the caller's
 * transaction.
 */
const MIGRATE_V3_TO_V4 = [
  `ALTER TABLE flow_rows ADD COLUMN half UTINYINT DEFAULT 0`,
  `ALTER TABLE flow_rows ALTER COLUMN half SET NOT NULL`,
  `ALTER TABLE flow_rows ALTER COLUMN half DROP DEFAULT`,
  `UPDATE meta SET value = '4' WHERE key = 'schema_version'`,
]

/**
 * Migrates a version 4 store to version 5: the `exporters` table, and `flow_rows` gains the
 * nullable `exporter`, NULL on every stored row (version 4 stored NetFlow/IPFIX and goflow2
 * halves unmarked, `half` 0, so none of them is looked at for pairing). The table then has the
 * columns of version 5's. The rows stay where they are. Runs in the caller's transaction.
 */
const MIGRATE_V4_TO_V5 = [
  CREATE_EXPORTERS,
  `ALTER TABLE flow_rows ADD COLUMN exporter UINTEGER`,
  `UPDATE meta SET value = '5' WHERE key = 'schema_version'`,
]

/**
 * Migrates a version 5 store to version 6: the empty `gcp_reports` table. Version 5 kept no GCP
 * report between commands, so a report in a file stored before is not matched by the other VM's
 * report in a file stored after the migration (both stay stored, as before). Runs in the caller's
 * transaction.
 */
const MIGRATE_V5_TO_V6 = [
  CREATE_GCP_REPORTS,
  `UPDATE meta SET value = '6' WHERE key = 'schema_version'`,
]

async function inTransaction(conn: DuckDBConnection, sqls: readonly string[]): Promise<void> {
  await conn.run('BEGIN TRANSACTION')
  try {
    for (const sql of sqls) await conn.run(sql)
    await conn.run('COMMIT')
  } catch (err) {
    await conn.run('ROLLBACK')
    throw err
  }
}

/**
 * The store's `schema_version`, or `undefined` when the database is empty (a new store).
 * @param where - the store path, for messages.
 * @throws BulkheadError `store/open-failed` when it is no flow store: a database holding tables
 *   but no `meta` (another program's: Bulkhead would add its tables to it, even for a verb that
 *   only reads), or a `meta` without a whole-number `schema_version` (damaged: it was read as the
 *   current version).
 */
export async function schemaVersion(
  conn: DuckDBConnection,
  where = 'the store',
): Promise<number | undefined> {
  const tables = await conn.runAndReadAll(
    `SELECT schema_name = 'main' AND table_name = 'meta', table_name FROM duckdb_tables() WHERE database_name = current_database() ORDER BY schema_name, table_name`,
  )
  const rows0 = tables.getRows()
  const names = rows0.map((r) => (typeof r[1] === 'string' ? r[1] : ''))
  if (!rows0.some((r) => r[0] === true)) {
    if (names.length === 0) return undefined
    const shown = names.slice(0, 5).join(', ') + (names.length > 5 ? ', …' : '')
    throw notAStore(
      where,
      `${where} is a DuckDB database but no flow store: it holds tables (${shown}) and no Bulkhead schema`,
      'give store: in bulkhead.yaml a file of its own (a new path); Bulkhead writes no tables into another database',
    )
  }
  const rows = await conn.runAndReadAll(`SELECT value FROM meta WHERE key = 'schema_version'`)
  const value = rows.getRows()[0]?.[0]
  const text = typeof value === 'string' ? value : undefined
  if (text === undefined || !/^[1-9]\d{0,8}$/.test(text))
    throw notAStore(
      where,
      `the flow store ${where} is damaged: its schema_version is ${text === undefined ? 'missing' : `"${text}"`}`,
      'restore it from a copy, or remove it and ingest again',
    )
  return Number(text)
}

function notAStore(where: string, message: string, hint: string): BulkheadError {
  return new BulkheadError([
    {
      code: 'store/open-failed',
      severity: 'error',
      message,
      location: { file: where, line: 0, column: 0 },
      hint,
    },
  ])
}

/**
 * Creates the schema in an empty database, or checks the version of an existing one.
 * @param where - the store path, for messages.
 * A version 1, 2, 3, 4 or 5 store is migrated to version 6 in one transaction (MIGRATE_V1_TO_V2,
 * MIGRATE_V2_TO_V3, MIGRATE_V3_TO_V4, MIGRATE_V4_TO_V5, MIGRATE_V5_TO_V6 from where it stands), keeping every row and the rows'
 * order; on any error nothing changes.
 * @throws BulkheadError `store/schema-too-new` when the store was written by a newer Bulkhead
 * (its `schema_version` is above {@link SCHEMA_VERSION}); the store is left untouched.
 */
export async function ensureSchema(conn: DuckDBConnection, where: string): Promise<void> {
  const version = await schemaVersion(conn, where)
  if (version === undefined) {
    await inTransaction(conn, DDL_V6)
    return
  }
  if (version > SCHEMA_VERSION) {
    throw new BulkheadError([
      {
        code: 'store/schema-too-new',
        severity: 'fatal',
        message: `the store ${where} has schema version ${version}; this Bulkhead reads up to version ${SCHEMA_VERSION}`,
        location: { file: where, line: 0, column: 0 },
        hint: 'upgrade Bulkhead, or ingest into a new store',
      },
    ])
  }
  if (version === 1)
    await inTransaction(conn, [
      ...MIGRATE_V1_TO_V2,
      ...MIGRATE_V2_TO_V3,
      ...MIGRATE_V3_TO_V4,
      ...MIGRATE_V4_TO_V5,
      ...MIGRATE_V5_TO_V6,
    ])
  else if (version === 2)
    await inTransaction(conn, [
      ...MIGRATE_V2_TO_V3,
      ...MIGRATE_V3_TO_V4,
      ...MIGRATE_V4_TO_V5,
      ...MIGRATE_V5_TO_V6,
    ])
  else if (version === 3)
    await inTransaction(conn, [...MIGRATE_V3_TO_V4, ...MIGRATE_V4_TO_V5, ...MIGRATE_V5_TO_V6])
  else if (version === 4) await inTransaction(conn, [...MIGRATE_V4_TO_V5, ...MIGRATE_V5_TO_V6])
  else if (version === 5) await inTransaction(conn, MIGRATE_V5_TO_V6)
}
