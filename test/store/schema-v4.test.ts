/**
 * @module Schema version 4: `flow_rows.half`, the unpaired-half mark; a version 3 store migrates
 * on open, keeping every row, its values and order, and the `flows` view as it was.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { afterAll, describe, expect, it } from 'vitest'
import { ingestFiles } from '../../src/cli/commands/ingest.js'
import { openDuckDbStore, SCHEMA_VERSION } from '../../src/store/index.js'

const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-v4-'))
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

/** The schema version 3 DDL, as Bulkhead before schema version 4 created it (DuckDB's own text). */
const V3_DDL = [
  `CREATE TABLE meta("key" VARCHAR PRIMARY KEY, "value" VARCHAR NOT NULL)`,
  `CREATE TABLE addresses(id UINTEGER NOT NULL, "text" VARCHAR NOT NULL)`,
  `CREATE TABLE sources(id UINTEGER NOT NULL, format VARCHAR NOT NULL, file VARCHAR NOT NULL)`,
  `CREATE TABLE "names"(id UINTEGER NOT NULL, src_name VARCHAR, dst_name VARCHAR, src_labels VARCHAR, dst_labels VARCHAR)`,
  `CREATE TABLE flow_rows(src UINTEGER NOT NULL, dst UINTEGER NOT NULL, src_port USMALLINT NOT NULL, dst_port USMALLINT NOT NULL, protocol UTINYINT NOT NULL, start_ms BIGINT NOT NULL, end_ms BIGINT NOT NULL, packets UBIGINT NOT NULL, bytes UBIGINT NOT NULL, observed_action UTINYINT NOT NULL, direction UTINYINT NOT NULL, "source" UINTEGER NOT NULL, line UINTEGER, record UINTEGER, tcp_flags USMALLINT, "names" UINTEGER)`,
  `CREATE VIEW flows AS SELECT sa."text" AS src, da."text" AS dst, fr.src_port, fr.dst_port, fr.protocol, fr.start_ms, fr.end_ms, CAST(epoch_ms(fr.start_ms) AS DATE) AS "day", fr.packets, fr.bytes, CASE  WHEN ((fr.observed_action = 0)) THEN ('accept') WHEN ((fr.observed_action = 1)) THEN ('reject') ELSE 'unknown' END AS observed_action, CASE  WHEN ((fr.direction = 1)) THEN ('client-to-server') WHEN ((fr.direction = 2)) THEN ('server-to-client') ELSE 'unknown' END AS direction, so.format AS format, so.file AS file, fr.line, fr.record, fr.tcp_flags, nm.src_name AS src_name, nm.dst_name AS dst_name, nm.src_labels AS src_labels, nm.dst_labels AS dst_labels, fr.rowid AS rowid FROM flow_rows AS fr LEFT JOIN addresses AS sa ON ((sa.id = fr.src)) LEFT JOIN addresses AS da ON ((da.id = fr.dst)) LEFT JOIN sources AS so ON ((so.id = fr."source")) LEFT JOIN "names" AS nm ON ((nm.id = fr."names"))`,
  `CREATE TABLE ingested_files(path VARCHAR NOT NULL, fingerprint VARCHAR PRIMARY KEY, records UBIGINT NOT NULL, ingested_at TIMESTAMP NOT NULL)`,
  `INSERT INTO meta VALUES ('schema_version', '3')`,
]

async function dump(conn: DuckDBConnection, sql: string): Promise<string[]> {
  const r = await conn.runAndReadAll(sql)
  return r
    .getRowObjectsJS()
    .map((x) => JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)))
}

/** The `CREATE TABLE flow_rows` text of the store `conn` is connected to. */
async function flowRowsDdl(conn: DuckDBConnection): Promise<string> {
  const r = await conn.runAndReadAll(
    `SELECT sql FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = 'flow_rows'`,
  )
  return String(r.getRows()[0]?.[0])
}

describe('schema version 4', () => {
  it('migrates_a_schema_version_3_store_keeping_every_row_in_order_with_no_half_marked', async () => {
    expect(SCHEMA_VERSION).toBe(6)
    const file = path.join(dir, 'v3.duckdb')
    const raw = await DuckDBInstance.create(file)
    const conn = await raw.connect()
    for (const sql of V3_DDL) await conn.run(sql)
    // an AWS request (a half: its reply was in no file), a GCP flow with names, a Zeek flow
    await conn.run(
      `INSERT INTO addresses VALUES (0, '10.0.1.7'), (1, '10.0.2.9'), (2, '2001:db8::1')`,
    )
    await conn.run(
      `INSERT INTO sources VALUES (0, 'aws-vpc', '/f/a.log'), (1, 'gcp-vpc', '/f/s0.json'), (2, 'zeek', '/f/conn.log')`,
    )
    await conn.run(`INSERT INTO names VALUES (0, 'api-1', 'db-1', NULL, NULL)`)
    await conn.run(
      `INSERT INTO flow_rows VALUES
        (0, 1, 49152, 443, 6, 1790000000000, 1790000060000, 10, 1000, 0, 1, 0, 1, NULL, NULL, NULL),
        (0, 1, 43210, 5432, 6, 1709287200000, 1709287205000, 12, 1640, 0, 1, 1, 1, NULL, NULL, 0),
        (2, 2, 1, 2, 17, 1790000000000, 1790000000000, 9007199254740991, 0, 2, 0, 2, NULL, 4, 18, NULL)`,
    )
    await conn.run(
      `INSERT INTO ingested_files VALUES ('/f/a.log', 'abc', 1, TIMESTAMP '2026-11-01 00:00:00')`,
    )
    const before = await dump(conn, 'SELECT * FROM flows ORDER BY rowid')
    const columns = await dump(conn, 'SELECT column_name, column_type FROM (DESCRIBE flows)')
    conn.closeSync()
    raw.closeSync()
    expect(before).toHaveLength(3)

    // a reading command opens it: it is migrated first (as versions 1 and 2 are)
    const s = await openDuckDbStore(file, { readOnly: true })
    await s.close()

    const fresh = await DuckDBInstance.create(':memory:')
    const mem = await fresh.connect()
    const s2 = await openDuckDbStore(path.join(dir, 'fresh.duckdb'))
    await s2.close()
    await mem.run(`ATTACH '${path.join(dir, 'fresh.duckdb')}' AS fresh (READ_ONLY)`)
    const freshDdl = String(
      (
        await mem.runAndReadAll(
          `SELECT sql FROM duckdb_tables() WHERE database_name = 'fresh' AND table_name = 'flow_rows'`,
        )
      ).getRows()[0]?.[0],
    )
    mem.closeSync()
    fresh.closeSync()

    const raw2 = await DuckDBInstance.create(file)
    const c2 = await raw2.connect()
    expect(await dump(c2, "SELECT value FROM meta WHERE key = 'schema_version'")).toEqual([
      '{"value":"6"}',
    ])
    expect(await dump(c2, 'SELECT * FROM flows ORDER BY rowid')).toEqual(before)
    expect(await dump(c2, 'SELECT column_name, column_type FROM (DESCRIBE flows)')).toEqual(columns)
    expect(await dump(c2, 'SELECT half FROM flow_rows ORDER BY rowid')).toEqual([
      '{"half":0}',
      '{"half":0}',
      '{"half":0}',
    ])
    // the same table as a new store's: column, type, NOT NULL, no default
    expect(await flowRowsDdl(c2)).toBe(freshDdl)
    expect(freshDdl).toContain('half UTINYINT NOT NULL, exporter UINTEGER)')
    c2.closeSync()
    raw2.closeSync()

    // the reply of the stored request, in a new file: flows stored before version 4 carry no
    // mark, so it stays a flow of its own (README "Limits today")
    const b = path.join(dir, 'b.log')
    writeFileSync(
      b,
      '2 123456789012 eni-0b 10.0.2.9 10.0.1.7 443 49152 6 8 4000 1790000030 1790000090 ACCEPT OK\n',
    )
    const out = await ingestFiles([{ file: b, format: 'aws-vpc' }], file, {
      strict: true,
      progress: false,
    })
    expect(out.notes['paired-across-files']).toBeUndefined()
    const s3 = await openDuckDbStore(file, { readOnly: true })
    try {
      expect(await s3.count()).toBe(4)
    } finally {
      await s3.close()
    }
  })
})
