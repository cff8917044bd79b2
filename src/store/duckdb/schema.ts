/**
 * @module The DuckDB flow store schema (version 2): tables, column types, the `flows` view, the
 * version check and the migration from version 1.
 *
 * Column choices, for load and scan speed:
 * - `start_ms` / `end_ms` are `BIGINT` milliseconds since the epoch, UTC — exactly the unit of
 *   {@link Flow} `start`/`end`, so nothing is converted on the way in or out, time filters bind
 *   plain integers, and the load path writes them as raw int64 words. (A `TIMESTAMP_MS` would
 *   store the same int64; use `epoch_ms(start_ms)` in SQL to get a TIMESTAMP.)
 * - `day` (`DATE`, UTC day of `start_ms`) stands in for partitions. DuckDB has no partitions
 *   inside one database file; it keeps min/max zonemaps per row group (122 880 rows) for every
 *   column, so a `day` filter skips whole row groups when rows arrive in time order, which flow
 *   files do. ClickHouse would `PARTITION BY day` the same table.
 * - ports `USMALLINT`, protocol `UTINYINT`, counters `UBIGINT`: the value ranges of the model.
 * - rows live in `flow_rows`, with `src`/`dst` as ids into `addresses (id, text)` (canonical
 *   address text, as in {@link Flow}; one row per distinct address of the store) and
 *   `observed_action` / `direction` as small codes; the `flows` VIEW joins and decodes them, so
 *   every reader sees the text columns of version 1. Why: storing VARCHAR addresses and names
 *   cost half of DuckDB's insert CPU (compression analysis of string columns); integer codes
 *   halve it (1 M rows, one thread: ~1.0 s instead of ~2.0 s CPU, /tmp/r2/sql.mts, 2026-11-22).
 *   The price is on reads that touch `src`/`dst`: the view's joins add ~0.15–0.2 s CPU per
 *   million rows to each such query (2 M rows: `DISTINCT src … UNION DISTINCT dst` 0.04 → 0.42 s,
 *   simulate's GROUP BY 1.15 → 1.4 s, a full ordered scan 0.45 → 0.8 s; /tmp/r2/read.mts);
 * - labels are JSON object text with sorted keys.
 * @remarks Semantics of each column: src/core/flow.ts. Stable: store format; bump
 * {@link SCHEMA_VERSION} on any change and add a migration.
 */
import type { DuckDBConnection } from '@duckdb/node-api'
import { BulkheadError } from '../../core/index.js'

/** The schema version this code writes. Stable: stored in `meta.schema_version`. */
export const SCHEMA_VERSION = 2

/** One column of the `flow_rows` table. `kind` says how the load path encodes it. */
export interface FlowColumn {
  readonly name: string
  /** The DuckDB type in `flow_rows`. */
  readonly type: string
  readonly nullable: boolean
  /**
   * `address`: an `addresses.id` (`UINTEGER`), assigned by the writer's {@link AddressBook};
   * `string`: dictionary-coded per batch during load (a `UINTEGER` code in the staging table);
   * otherwise the fixed-width type written as is.
   */
  readonly kind: 'address' | 'string' | 'u8' | 'u16' | 'u32' | 'i32' | 'i64' | 'u64'
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
  { name: 'day', type: 'DATE', nullable: false, kind: 'i32' },
  { name: 'packets', type: 'UBIGINT', nullable: false, kind: 'u64' },
  { name: 'bytes', type: 'UBIGINT', nullable: false, kind: 'u64' },
  { name: 'observed_action', type: 'UTINYINT', nullable: false, kind: 'u8' },
  { name: 'direction', type: 'UTINYINT', nullable: false, kind: 'u8' },
  { name: 'format', type: 'VARCHAR', nullable: false, kind: 'string' },
  { name: 'file', type: 'VARCHAR', nullable: false, kind: 'string' },
  { name: 'line', type: 'UINTEGER', nullable: true, kind: 'u32' },
  { name: 'record', type: 'UINTEGER', nullable: true, kind: 'u32' },
  { name: 'tcp_flags', type: 'USMALLINT', nullable: true, kind: 'u16' },
  { name: 'src_name', type: 'VARCHAR', nullable: true, kind: 'string' },
  { name: 'dst_name', type: 'VARCHAR', nullable: true, kind: 'string' },
  { name: 'src_labels', type: 'VARCHAR', nullable: true, kind: 'string' },
  { name: 'dst_labels', type: 'VARCHAR', nullable: true, kind: 'string' },
]

/** SQL decoding `observed_action` codes of `flow_rows` alias `f`. */
const ACTION_SQL = `CASE fr.observed_action WHEN 0 THEN 'accept' WHEN 1 THEN 'reject' ELSE 'unknown' END`
/** SQL decoding `direction` codes of `flow_rows` alias `f`. */
const DIRECTION_SQL = `CASE fr.direction WHEN 1 THEN 'client-to-server' WHEN 2 THEN 'server-to-client' ELSE 'unknown' END`

/**
 * The `flows` view: `flow_rows` with addresses as text and action/direction as their names, so
 * readers see the columns and values of schema version 1 (every column of
 * {@link FLOW_COLUMNS} under the same name) plus `rowid`, the row's insertion order.
 */
const FLOWS_VIEW =
  `CREATE VIEW flows AS SELECT ` +
  FLOW_COLUMNS.map((c) =>
    c.name === 'src'
      ? 'sa.text AS src'
      : c.name === 'dst'
        ? 'da.text AS dst'
        : c.name === 'observed_action'
          ? `${ACTION_SQL} AS observed_action`
          : c.name === 'direction'
            ? `${DIRECTION_SQL} AS direction`
            : `fr.${c.name}`,
  ).join(', ') +
  `, fr.rowid AS rowid FROM flow_rows fr LEFT JOIN addresses sa ON sa.id = fr.src LEFT JOIN addresses da ON da.id = fr.dst`

/** Tables of schema version 2 besides `meta`. */
const DDL_V2_TABLES = [
  `CREATE TABLE addresses (id UINTEGER NOT NULL, text VARCHAR NOT NULL)`,
  `CREATE TABLE flow_rows (${FLOW_COLUMNS.map((c) => `${c.name} ${c.type}${c.nullable ? '' : ' NOT NULL'}`).join(', ')})`,
  FLOWS_VIEW,
]

/** DDL of schema version 2 for an empty database. */
const DDL_V2 = [
  `CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`,
  ...DDL_V2_TABLES,
  `CREATE TABLE ingested_files (path VARCHAR NOT NULL, fingerprint VARCHAR PRIMARY KEY, records UBIGINT NOT NULL, ingested_at TIMESTAMP NOT NULL)`,
  `INSERT INTO meta VALUES ('schema_version', '${SCHEMA_VERSION}')`,
]

/**
 * Migrates a version 1 store (a `flows` table with text addresses and action/direction names)
 * to version 2: every distinct address gets an id, rows are copied in their insertion order,
 * the table is replaced by the view. Runs in the caller's transaction.
 */
const MIGRATE_V1_TO_V2 = [
  `ALTER TABLE flows RENAME TO flows_v1`,
  ...DDL_V2_TABLES.slice(0, 2),
  `INSERT INTO addresses SELECT (row_number() OVER (ORDER BY text) - 1)::UINTEGER, text FROM (SELECT src AS text FROM flows_v1 UNION SELECT dst FROM flows_v1)`,
  `INSERT INTO flow_rows SELECT ` +
    FLOW_COLUMNS.map((c) =>
      c.name === 'src'
        ? 'sa.id'
        : c.name === 'dst'
          ? 'da.id'
          : c.name === 'observed_action'
            ? `CASE v.observed_action WHEN 'accept' THEN 0 WHEN 'reject' THEN 1 ELSE 2 END`
            : c.name === 'direction'
              ? `CASE v.direction WHEN 'client-to-server' THEN 1 WHEN 'server-to-client' THEN 2 ELSE 0 END`
              : `v.${c.name}`,
    ).join(', ') +
    ` FROM flows_v1 v JOIN addresses sa ON sa.text = v.src JOIN addresses da ON da.text = v.dst ORDER BY v.rowid`,
  `DROP TABLE flows_v1`,
  FLOWS_VIEW,
  `UPDATE meta SET value = '2' WHERE key = 'schema_version'`,
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
 * Creates the schema in an empty database, or checks the version of an existing one.
 * @param where - the store path, for messages.
 * A version 1 store is migrated to version 2 in one transaction (see MIGRATE_V1_TO_V2).
 * @throws BulkheadError `store/schema-too-new` when the store was written by a newer Bulkhead
 * (its `schema_version` is above {@link SCHEMA_VERSION}); the store is left untouched.
 */
export async function ensureSchema(conn: DuckDBConnection, where: string): Promise<void> {
  const tables = await conn.runAndReadAll(
    `SELECT count(*)::INTEGER AS n FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = 'meta'`,
  )
  const hasMeta = Number(tables.getRowObjectsJS()[0]?.['n'] ?? 0) > 0
  if (!hasMeta) {
    await inTransaction(conn, DDL_V2)
    return
  }
  const rows = await conn.runAndReadAll(`SELECT value FROM meta WHERE key = 'schema_version'`)
  const version = Number(rows.getRowObjectsJS()[0]?.['value'] ?? 0)
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
  if (version === 1) await inTransaction(conn, MIGRATE_V1_TO_V2)
}
