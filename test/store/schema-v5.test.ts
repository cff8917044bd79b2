/**
 * @module Schema version 5: `flow_rows.exporter` and the `exporters` table, the exporter of an
 * unpaired NetFlow/IPFIX or goflow2 half; a version 4 store migrates on open, keeping every row,
 * its values and order, and the `flows` view as it was, its rows' exporter NULL (version 4 stored
 * those halves unmarked, so they are not paired across files: README "Limits today").
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { afterAll, describe, expect, it } from 'vitest'
import { ingestFiles } from '../../src/cli/commands/ingest.js'
import { openDuckDbStore, SCHEMA_VERSION } from '../../src/store/index.js'

const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-v5-'))
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

/** The schema version 4 DDL, as Bulkhead before schema version 5 created it (DuckDB's own text). */
const V4_DDL = [
  `CREATE TABLE meta("key" VARCHAR PRIMARY KEY, "value" VARCHAR NOT NULL)`,
  `CREATE TABLE addresses(id UINTEGER NOT NULL, "text" VARCHAR NOT NULL)`,
  `CREATE TABLE sources(id UINTEGER NOT NULL, format VARCHAR NOT NULL, file VARCHAR NOT NULL)`,
  `CREATE TABLE "names"(id UINTEGER NOT NULL, src_name VARCHAR, dst_name VARCHAR, src_labels VARCHAR, dst_labels VARCHAR)`,
  `CREATE TABLE flow_rows(src UINTEGER NOT NULL, dst UINTEGER NOT NULL, src_port USMALLINT NOT NULL, dst_port USMALLINT NOT NULL, protocol UTINYINT NOT NULL, start_ms BIGINT NOT NULL, end_ms BIGINT NOT NULL, packets UBIGINT NOT NULL, bytes UBIGINT NOT NULL, observed_action UTINYINT NOT NULL, direction UTINYINT NOT NULL, "source" UINTEGER NOT NULL, line UINTEGER, record UINTEGER, tcp_flags USMALLINT, "names" UINTEGER, half UTINYINT NOT NULL)`,
  `CREATE VIEW flows AS SELECT sa."text" AS src, da."text" AS dst, fr.src_port, fr.dst_port, fr.protocol, fr.start_ms, fr.end_ms, CAST(epoch_ms(fr.start_ms) AS DATE) AS "day", fr.packets, fr.bytes, CASE  WHEN ((fr.observed_action = 0)) THEN ('accept') WHEN ((fr.observed_action = 1)) THEN ('reject') ELSE 'unknown' END AS observed_action, CASE  WHEN ((fr.direction = 1)) THEN ('client-to-server') WHEN ((fr.direction = 2)) THEN ('server-to-client') ELSE 'unknown' END AS direction, so.format AS format, so.file AS file, fr.line, fr.record, fr.tcp_flags, nm.src_name AS src_name, nm.dst_name AS dst_name, nm.src_labels AS src_labels, nm.dst_labels AS dst_labels, fr.rowid AS rowid FROM flow_rows AS fr LEFT JOIN addresses AS sa ON ((sa.id = fr.src)) LEFT JOIN addresses AS da ON ((da.id = fr.dst)) LEFT JOIN sources AS so ON ((so.id = fr."source")) LEFT JOIN "names" AS nm ON ((nm.id = fr."names"))`,
  `CREATE TABLE ingested_files(path VARCHAR NOT NULL, fingerprint VARCHAR PRIMARY KEY, records UBIGINT NOT NULL, ingested_at TIMESTAMP NOT NULL)`,
  `INSERT INTO meta VALUES ('schema_version', '4')`,
]

async function dump(conn: DuckDBConnection, sql: string): Promise<string[]> {
  const r = await conn.runAndReadAll(sql)
  return r
    .getRowObjectsJS()
    .map((x) => JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)))
}

async function tableDdl(conn: DuckDBConnection, db: string, table: string): Promise<string> {
  const r = await conn.runAndReadAll(
    `SELECT sql FROM duckdb_tables() WHERE database_name = '${db}' AND schema_name = 'main' AND table_name = '${table}'`,
  )
  return String(r.getRows()[0]?.[0])
}

describe('schema version 5', () => {
  it('migrates_a_schema_version_4_store_keeping_every_row_in_order_with_no_exporter', async () => {
    expect(SCHEMA_VERSION).toBe(6)
    const file = path.join(dir, 'v4.duckdb')
    const raw = await DuckDBInstance.create(file)
    const conn = await raw.connect()
    for (const sql of V4_DDL) await conn.run(sql)
    // an AWS half (marked), and a goflow2 query whose reply was in no file (stored unmarked by
    // version 4, which kept no exporter)
    await conn.run(`INSERT INTO addresses VALUES (0, '10.0.0.5'), (1, '10.0.1.9')`)
    await conn.run(
      `INSERT INTO sources VALUES (0, 'aws-vpc', '/f/a.log'), (1, 'goflow2', '/f/a.jsonl')`,
    )
    await conn.run(
      `INSERT INTO flow_rows VALUES
        (0, 1, 49152, 443, 6, 1790000000000, 1790000060000, 10, 1000, 0, 1, 0, 1, NULL, NULL, NULL, 1),
        (0, 1, 53000, 53, 17, 1700000000000, 1700000001000, 1, 64, 2, 0, 1, 1, NULL, NULL, NULL, 0)`,
    )
    const before = await dump(conn, 'SELECT * FROM flows ORDER BY rowid')
    const columns = await dump(conn, 'SELECT column_name, column_type FROM (DESCRIBE flows)')
    conn.closeSync()
    raw.closeSync()

    const s = await openDuckDbStore(file, { readOnly: true })
    await s.close()
    const s2 = await openDuckDbStore(path.join(dir, 'fresh.duckdb'))
    await s2.close()

    const raw2 = await DuckDBInstance.create(file)
    const c2 = await raw2.connect()
    await c2.run(`ATTACH '${path.join(dir, 'fresh.duckdb')}' AS fresh (READ_ONLY)`)
    expect(await dump(c2, "SELECT value FROM meta WHERE key = 'schema_version'")).toEqual([
      '{"value":"6"}',
    ])
    expect(await dump(c2, 'SELECT * FROM flows ORDER BY rowid')).toEqual(before)
    expect(await dump(c2, 'SELECT column_name, column_type FROM (DESCRIBE flows)')).toEqual(columns)
    expect(await dump(c2, 'SELECT half, exporter FROM flow_rows ORDER BY rowid')).toEqual([
      '{"half":1,"exporter":null}',
      '{"half":0,"exporter":null}',
    ])
    expect(await dump(c2, 'SELECT count(*)::INTEGER AS n FROM exporters')).toEqual(['{"n":0}'])
    // the same tables as a new store's
    const v4 = await tableDdl(c2, 'v4', 'flow_rows')
    expect(v4).toBe(await tableDdl(c2, 'fresh', 'flow_rows'))
    expect(v4).toContain('half UTINYINT NOT NULL, exporter UINTEGER)')
    expect(await tableDdl(c2, 'v4', 'exporters')).toBe(await tableDdl(c2, 'fresh', 'exporters'))
    c2.closeSync()
    raw2.closeSync()

    // the reply of the stored goflow2 query, in a new file: the query was stored unmarked, so
    // it stays a flow of its own; the reply is a half of its exporter
    const b = path.join(dir, 'b.jsonl')
    writeFileSync(
      b,
      JSON.stringify({
        type: 'IPFIX',
        time_received_ns: '1700000010000000000',
        sampler_address: '192.0.2.1',
        time_flow_start_ns: '1700000000500000000',
        time_flow_end_ns: '1700000001500000000',
        bytes: 128,
        packets: 1,
        src_addr: '10.0.1.9',
        dst_addr: '10.0.0.5',
        etype: 'IPv4',
        proto: 'UDP',
        src_port: 53,
        dst_port: 53000,
      }) + '\n',
    )
    const out = await ingestFiles([{ file: b, format: 'goflow2' }], file, {
      strict: true,
      progress: false,
    })
    expect(out.notes['paired-across-files']).toBeUndefined()
    const s3 = await openDuckDbStore(file, { readOnly: true })
    try {
      expect(await s3.count()).toBe(3)
      expect(await s3.query('SELECT id, key FROM exporters')).toEqual([
        { id: 0, key: 'IPFIX\u0000192.0.2.1' },
      ])
    } finally {
      await s3.close()
    }
  })
})
