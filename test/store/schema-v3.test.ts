/**
 * @module Schema version 3: the `flows` view computes `day` and joins `sources`, with the
 * columns, types and values of version 2; a version 2 store migrates on open.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import type { Flow } from '../../src/core/index.js'
import { SCHEMA_VERSION } from '../../src/store/index.js'
import { FLOW_T0, syntheticFlow } from '../helpers/flows.js'
import { all, withStore } from '../helpers/store.js'
import { SEED } from '../helpers/model.js'

const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-v3-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const DAY = 86_400_000
const T0 = FLOW_T0

async function dump(conn: DuckDBConnection, sql: string): Promise<string[]> {
  const r = await conn.runAndReadAll(sql)
  return r
    .getRowObjectsJS()
    .map((x) => JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)))
}

/** {@link syntheticFlow}, every third one to an IPv6 destination. */
const flow = (i: number, over: Partial<Flow> = {}): Flow =>
  syntheticFlow(i, { dst: i % 3 ? '10.0.200.1' : '2001:db8::1', ...over })

/** The schema version 2 DDL, as Bulkhead before schema version 3 created it. */
const V2_DDL = [
  `CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`,
  `CREATE TABLE addresses (id UINTEGER NOT NULL, text VARCHAR NOT NULL)`,
  `CREATE TABLE flow_rows (src UINTEGER NOT NULL, dst UINTEGER NOT NULL, src_port USMALLINT NOT NULL, dst_port USMALLINT NOT NULL, protocol UTINYINT NOT NULL, start_ms BIGINT NOT NULL, end_ms BIGINT NOT NULL, day DATE NOT NULL, packets UBIGINT NOT NULL, bytes UBIGINT NOT NULL, observed_action UTINYINT NOT NULL, direction UTINYINT NOT NULL, format VARCHAR NOT NULL, file VARCHAR NOT NULL, line UINTEGER, record UINTEGER, tcp_flags USMALLINT, src_name VARCHAR, dst_name VARCHAR, src_labels VARCHAR, dst_labels VARCHAR)`,
  `CREATE VIEW flows AS SELECT sa.text AS src, da.text AS dst, fr.src_port, fr.dst_port, fr.protocol, fr.start_ms, fr.end_ms, fr.day, fr.packets, fr.bytes, CASE fr.observed_action WHEN 0 THEN 'accept' WHEN 1 THEN 'reject' ELSE 'unknown' END AS observed_action, CASE fr.direction WHEN 1 THEN 'client-to-server' WHEN 2 THEN 'server-to-client' ELSE 'unknown' END AS direction, fr.format, fr.file, fr.line, fr.record, fr.tcp_flags, fr.src_name, fr.dst_name, fr.src_labels, fr.dst_labels, fr.rowid AS rowid FROM flow_rows fr LEFT JOIN addresses sa ON sa.id = fr.src LEFT JOIN addresses da ON da.id = fr.dst`,
  `CREATE TABLE ingested_files (path VARCHAR NOT NULL, fingerprint VARCHAR PRIMARY KEY, records UBIGINT NOT NULL, ingested_at TIMESTAMP NOT NULL)`,
  `INSERT INTO meta VALUES ('schema_version', '2')`,
]

const sqlText = (s: string | undefined): string => (s === undefined ? 'NULL' : `'${s}'`)
const sqlNum = (n: number | undefined): string => (n === undefined ? 'NULL' : String(n))

/** Writes `flows` into a version 2 store as its writer did (ids in first-use order). */
async function writeV2(conn: DuckDBConnection, flows: readonly Flow[]): Promise<void> {
  for (const sql of V2_DDL) await conn.run(sql)
  const ids = new Map<string, number>()
  const id = (t: string): number => {
    if (!ids.has(t)) ids.set(t, ids.size)
    return ids.get(t) as number
  }
  const action = { accept: 0, reject: 1, unknown: 2 }
  const dirs = { unknown: 0, 'client-to-server': 1, 'server-to-client': 2 }
  const rows = flows.map(
    (f) =>
      `(${id(f.src)}, ${id(f.dst)}, ${f.srcPort}, ${f.dstPort}, ${f.protocol}, ${f.start}, ${f.end}, ` +
      `DATE '1970-01-01' + ${Math.floor(f.start / DAY)}, ${f.packets}, ${f.bytes}, ` +
      `${action[f.observedAction]}, ${dirs[f.direction]}, '${f.source.format}', '${f.source.file}', ` +
      `${sqlNum(f.source.line)}, ${sqlNum(f.source.record)}, ${sqlNum(f.tcpFlags)}, ` +
      `${sqlText(f.srcName)}, ${sqlText(f.dstName)}, ` +
      `${sqlText(f.srcLabels && JSON.stringify(f.srcLabels))}, ${sqlText(f.dstLabels && JSON.stringify(f.dstLabels))})`,
  )
  await conn.run(`INSERT INTO flow_rows VALUES ${rows.join(', ')}`)
  await conn.run(
    `INSERT INTO addresses VALUES ${[...ids].map(([t, i]) => `(${i}, '${t}')`).join(', ')}`,
  )
  await conn.run(
    `INSERT INTO ingested_files VALUES ('a.log', 'abc', 2, TIMESTAMP '2026-11-01 00:00:00')`,
  )
}

describe('schema version 3', () => {
  it('migrates_a_schema_version_2_store_keeping_every_row_value_and_type_in_order', async () => {
    // a version 2 store goes on to the current version (4: `half`, test/store/schema-v4.test.ts)
    expect(SCHEMA_VERSION).toBe(6)
    const files = ['a.log', 'b.log', 'conn.log']
    const flows: Flow[] = []
    for (let i = 0; i < 3000; i++) {
      const file = files[(i * 7) % 3] as string
      flows.push(
        flow(i, {
          // out of time order, a few before 1970, and two on one millisecond
          start: i % 101 === 0 ? -DAY * 3 - i * 7919 : T0 + ((i * 7919) % 5000) * 60_000,
          end: T0 + 10 ** 7,
          observedAction: (['accept', 'reject', 'unknown'] as const)[
            i % 3
          ] as Flow['observedAction'],
          direction: (['unknown', 'client-to-server', 'server-to-client'] as const)[
            i % 3
          ] as Flow['direction'],
          source:
            file === 'conn.log'
              ? { format: 'zeek', file, record: i }
              : { format: 'aws-vpc', file, line: i + 1 },
          ...(i % 4 === 0 ? { tcpFlags: i % 256 } : {}),
          ...(i % 5 === 0
            ? { srcName: `api-${i % 3}`, srcLabels: { app: 'api', tier: `${i % 2}` } }
            : {}),
          ...(i % 7 === 0 ? { dstName: 'db', dstLabels: { app: 'db' } } : {}),
        }),
      )
    }
    const file = path.join(dir, 'v2.duckdb')
    const raw = await DuckDBInstance.create(file)
    const conn = await raw.connect()
    await writeV2(conn, flows)
    const before = await dump(conn, 'SELECT * FROM flows ORDER BY rowid')
    const columns = await dump(conn, 'SELECT column_name, column_type FROM (DESCRIBE flows)')
    const daySum = await dump(
      conn,
      "SELECT sum(datediff('day', DATE '1970-01-01', day)) AS s FROM flows",
    )
    conn.closeSync()
    raw.closeSync()
    expect(before.length).toBe(3000)

    const expected = flows
      .map((f, i) => ({ f, i }))
      .sort((x, y) => x.f.start - y.f.start || x.i - y.i)
      .map((x) => x.f)
    await withStore(async (s) => {
      expect(await all(s.flows())).toEqual(expected)
      expect(await s.count({ since: T0, until: T0 + 60_000 * 100 })).toBe(
        flows.filter((f) => f.start >= T0 && f.start < T0 + 60_000 * 100).length,
      )
      const [v] = await s.query<{ value: string }>(
        "SELECT value FROM meta WHERE key = 'schema_version'",
      )
      expect(v?.value).toBe('6')
      // one source per (format, file), in order of first appearance
      expect(await s.query('SELECT id, format, file FROM sources ORDER BY id')).toEqual([
        { id: 0, format: 'aws-vpc', file: 'a.log' },
        { id: 1, format: 'aws-vpc', file: 'b.log' },
        { id: 2, format: 'zeek', file: 'conn.log' },
      ])
      const stored = await s.query<{ column_name: string }>(
        'SELECT column_name FROM (DESCRIBE flow_rows)',
      )
      expect(stored.map((r) => r.column_name)).not.toContain('day')
      expect(stored.map((r) => r.column_name)).not.toContain('file')
      expect(stored.map((r) => r.column_name)).not.toContain('src_name')
      // one names row per distinct (src_name, dst_name, src_labels, dst_labels) other than none
      const tuples = new Set(
        flows
          .filter((f) => f.srcName !== undefined || f.dstName !== undefined)
          .map((f) => JSON.stringify([f.srcName, f.dstName, f.srcLabels, f.dstLabels])),
      )
      const [nm] = await s.query<{ n: number }>('SELECT count(*) AS n FROM names')
      expect(nm?.n).toBe(tuples.size)
      // flows of a known source after the migration reuse its id
      await s.appendFlows([flow(1, { source: { format: 'zeek', file: 'conn.log', record: 1 } })])
      const [n] = await s.query<{ n: number }>('SELECT count(*) AS n FROM sources')
      expect(n?.n).toBe(3)
    }, file)
    // the view has the same columns, types and values (the appended flow is last)
    const raw2 = await DuckDBInstance.create(file)
    const c2 = await raw2.connect()
    expect(await dump(c2, 'SELECT column_name, column_type FROM (DESCRIBE flows)')).toEqual(columns)
    expect((await dump(c2, 'SELECT * FROM flows ORDER BY rowid')).slice(0, 3000)).toStrictEqual(
      before,
    )
    expect(
      await dump(
        c2,
        "SELECT sum(datediff('day', DATE '1970-01-01', day)) AS s FROM flows WHERE rowid < 3000",
      ),
    ).toEqual(daySum)
    c2.closeSync()
    raw2.closeSync()
  }, 60_000)

  it('computes_day_as_the_utc_day_of_start_including_before_1970', async () => {
    await withStore(async (s) => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: -4_000_000_000_000, max: 4_102_444_800_000 }), {
            minLength: 1,
            maxLength: 30,
          }),
          async (starts) => {
            const before = await s.count()
            await s.appendFlows(starts.map((start, i) => flow(i, { start, end: start })))
            const rows = await s.query<{ t: number; d: number }>(
              `SELECT start_ms AS t, datediff('day', DATE '1970-01-01', day) AS d FROM flows WHERE rowid >= ? ORDER BY rowid`,
              [before],
            )
            expect(rows).toEqual(starts.map((t) => ({ t, d: Math.floor(t / DAY) })))
          },
        ),
        { seed: SEED, numRuns: 30 },
      )
    }, ':memory:')
  })

  it('stores_format_file_and_names_through_their_tables_and_forgets_rolled_back_ids', async () => {
    const file = path.join(dir, 'src.duckdb')
    const good = path.join(dir, 'good.log')
    writeFileSync(good, 'x\n')
    await withStore(async (s) => {
      const mixed = [0, 1, 2, 3, 4, 5].map((i) =>
        flow(i, {
          source: { format: i % 2 ? 'zeek' : 'aws-vpc', file: `f${i % 3}.log`, line: i + 1 },
        }),
      )
      await s.appendFlows(mixed)
      expect((await all(s.flows())).map((f) => f.source)).toEqual(mixed.map((f) => f.source))
      // a failed ingest stores nothing, and its new source and names ids are forgotten
      const bad = path.join(dir, 'bad.log')
      writeFileSync(bad, 'y\n')
      await expect(
        s.ingestFile(bad, async function* () {
          yield [flow(9, { source: { format: 'zeek', file: bad, record: 1 }, srcName: 'lost' })]
          throw new Error('boom')
        }),
      ).rejects.toThrow('boom')
      await s.ingestFile(good, async function* () {
        yield [
          flow(10, {
            source: { format: 'hubble', file: good, record: 3 },
            dstName: 'db',
            dstLabels: { b: '2', a: '1' },
          }),
        ]
      })
      expect(await s.query('SELECT * FROM names ORDER BY id')).toEqual([
        {
          id: 0,
          src_name: null,
          dst_name: 'db',
          src_labels: null,
          dst_labels: '{"a":"1","b":"2"}',
        },
      ])
      expect(await s.query('SELECT id, format, file FROM sources ORDER BY id')).toEqual([
        { id: 0, format: 'aws-vpc', file: 'f0.log' },
        { id: 1, format: 'zeek', file: 'f1.log' },
        { id: 2, format: 'aws-vpc', file: 'f2.log' },
        { id: 3, format: 'zeek', file: 'f0.log' },
        { id: 4, format: 'aws-vpc', file: 'f1.log' },
        { id: 5, format: 'zeek', file: 'f2.log' },
        { id: 6, format: 'hubble', file: good },
      ])
    }, file)
    // reopened, a new store object reads the same sources
    await withStore(async (s) => {
      const back = await all(s.flows())
      expect(back.map((f) => f.source.file)).toEqual([
        ...[0, 1, 2, 0, 1, 2].map((k) => `f${k}.log`),
        good,
      ])
    }, file)
  })
})
