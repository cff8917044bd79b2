/**
 * @module The DuckDB flow store schema (version 1): tables, column types, and the version check.
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
 * - `src`/`dst` are canonical address text (`VARCHAR`), as in {@link Flow}; labels are JSON
 *   object text with sorted keys.
 * @remarks Semantics of each column: src/core/flow.ts. Stable: store format; bump
 * {@link SCHEMA_VERSION} on any change and add a migration.
 */
import type { DuckDBConnection } from '@duckdb/node-api'
import { BulkheadError } from '../../core/index.js'

/** The schema version this code writes. Stable: stored in `meta.schema_version`. */
export const SCHEMA_VERSION = 1

/** One column of the `flows` table. `kind` says how the load path encodes it. */
export interface FlowColumn {
  readonly name: string
  /** The DuckDB type in `flows`. */
  readonly type: string
  readonly nullable: boolean
  /**
   * `string`: dictionary-coded during load (a `UINTEGER` code in the staging table);
   * otherwise the fixed-width type written as is.
   */
  readonly kind: 'string' | 'u8' | 'u16' | 'u32' | 'i32' | 'i64' | 'u64'
}

/** The columns of `flows`, in table order. Stable: store format. */
export const FLOW_COLUMNS: readonly FlowColumn[] = [
  { name: 'src', type: 'VARCHAR', nullable: false, kind: 'string' },
  { name: 'dst', type: 'VARCHAR', nullable: false, kind: 'string' },
  { name: 'src_port', type: 'USMALLINT', nullable: false, kind: 'u16' },
  { name: 'dst_port', type: 'USMALLINT', nullable: false, kind: 'u16' },
  { name: 'protocol', type: 'UTINYINT', nullable: false, kind: 'u8' },
  { name: 'start_ms', type: 'BIGINT', nullable: false, kind: 'i64' },
  { name: 'end_ms', type: 'BIGINT', nullable: false, kind: 'i64' },
  { name: 'day', type: 'DATE', nullable: false, kind: 'i32' },
  { name: 'packets', type: 'UBIGINT', nullable: false, kind: 'u64' },
  { name: 'bytes', type: 'UBIGINT', nullable: false, kind: 'u64' },
  { name: 'observed_action', type: 'VARCHAR', nullable: false, kind: 'string' },
  { name: 'direction', type: 'VARCHAR', nullable: false, kind: 'string' },
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

/** DDL of schema version 1. */
const DDL_V1 = [
  `CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`,
  `CREATE TABLE flows (${FLOW_COLUMNS.map((c) => `${c.name} ${c.type}${c.nullable ? '' : ' NOT NULL'}`).join(', ')})`,
  `CREATE TABLE ingested_files (path VARCHAR NOT NULL, fingerprint VARCHAR PRIMARY KEY, records UBIGINT NOT NULL, ingested_at TIMESTAMP NOT NULL)`,
  `INSERT INTO meta VALUES ('schema_version', '${SCHEMA_VERSION}')`,
]

/**
 * Creates the schema in an empty database, or checks the version of an existing one.
 * @param where - the store path, for messages.
 * @throws BulkheadError `store/schema-too-new` when the store was written by a newer Bulkhead
 * (its `schema_version` is above {@link SCHEMA_VERSION}); the store is left untouched.
 */
export async function ensureSchema(conn: DuckDBConnection, where: string): Promise<void> {
  const tables = await conn.runAndReadAll(
    `SELECT count(*)::INTEGER AS n FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = 'meta'`,
  )
  const hasMeta = Number(tables.getRowObjectsJS()[0]?.['n'] ?? 0) > 0
  if (!hasMeta) {
    await conn.run('BEGIN TRANSACTION')
    try {
      for (const sql of DDL_V1) await conn.run(sql)
      await conn.run('COMMIT')
    } catch (err) {
      await conn.run('ROLLBACK')
      throw err
    }
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
  // version < SCHEMA_VERSION: no older versions exist yet; migrations go here.
}
