/**
 * @module The statements `settleBothEnds` and `settleExporterEnds` (src/store/duckdb/batch.ts)
 * run: the halves to read `reject` are found first, and the update runs only when there are
 * some, with the same rows changed as the single `UPDATE … WHERE rowid IN (query)` of before.
 */
import { describe, expect, it } from 'vitest'
import { DuckDBInstance } from '../../src/store/duckdb/api.js'
import { HALF_UNPAIRED } from '../../src/core/index.js'
import { settleBothEnds, settleExporterEnds } from '../../src/store/duckdb/batch.js'
import { ensureSchema } from '../../src/store/duckdb/schema.js'

const T = 1_790_000_000_000
const span = { lo: T, hi: T + 100_000 }

/**
 * An in-memory store whose `flow_rows` hold `rows` of one record (source, action, start s,
 * exporter or null), all unpaired halves, and a connection that records the first word of each
 * statement it is given.
 */
async function store(rows: readonly (readonly [number, number, number, number | null])[]) {
  const db = await DuckDBInstance.create(':memory:')
  const conn = await db.connect()
  await ensureSchema(conn, ':memory:')
  await conn.run(`INSERT INTO sources VALUES (0, 'aws-vpc', 'a.log'), (1, 'aws-vpc', 'b.log')`)
  await conn.run(`INSERT INTO exporters VALUES (0, 'e')`)
  for (const [source, action, start, exporter] of rows)
    await conn.run(
      `INSERT INTO flow_rows (src, dst, src_port, dst_port, protocol, start_ms, end_ms, packets, bytes,
         observed_action, direction, source, half, exporter)
       VALUES (1, 2, 40001, 443, 6, ${String(T + start * 1000)}, ${String(T + start * 1000 + 1000)},
         1, 1, ${String(action)}, 0, ${String(source)}, ${String(HALF_UNPAIRED)}, ${String(exporter)})`,
    )
  const statements: string[] = []
  const recording = new Proxy(conn, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver)
      if ((prop === 'run' || prop === 'runAndReadAll') && typeof v === 'function')
        return (sql: string, ...rest: unknown[]) => {
          statements.push(sql.trim().split(/\s+/)[0] as string)
          return (v as (...a: unknown[]) => unknown).call(target, sql, ...rest)
        }
      return v
    },
  })
  const actions = async (): Promise<unknown[]> =>
    (await conn.runAndReadAll(`SELECT observed_action FROM flow_rows ORDER BY rowid`))
      .getRows()
      .map((r) => r[0])
  const tables = async (): Promise<number> =>
    Number(
      (
        await conn.runAndReadAll(`SELECT count(*) FROM duckdb_tables() WHERE temporary`)
      ).getRows()[0]?.[0],
    )
  return { conn: recording, statements, actions, tables }
}

describe('settling runs its update only when it has halves to read reject', () => {
  it('finds_nothing_and_runs_no_update_when_no_reject_is_near_an_accept', async () => {
    // an accept and a reject of the record 80 s apart (more than 60 s): nothing to settle
    const s = await store([
      [0, 1, 0, null],
      [1, 0, 81, null],
    ])
    expect(await settleBothEnds(s.conn, span)).toBe(0)
    expect(s.statements).toEqual(['CREATE', 'SELECT', 'DROP'])
    expect(await s.actions()).toEqual([1, 0])
    expect(await s.tables()).toBe(0)
  })

  it('updates_the_accepts_a_near_reject_refuses', async () => {
    // two accepts 10 s and 30 s after the reject: both read reject, once each
    const s = await store([
      [0, 1, 0, null],
      [1, 0, 10, null],
      [1, 0, 30, null],
    ])
    expect(await settleBothEnds(s.conn, span)).toBe(2)
    expect(s.statements).toEqual(['CREATE', 'SELECT', 'UPDATE', 'DROP'])
    expect(await s.actions()).toEqual([1, 1, 1])
    expect(await s.tables()).toBe(0)
  })

  it('settles_exporter_halves_of_different_files_the_same_way', async () => {
    const s = await store([
      [0, 1, 0, 0],
      [1, 0, 10, 0],
      [0, 0, 20, 0],
    ])
    // the accept of the reject's own file is not settled across files
    expect(await settleExporterEnds(s.conn, span)).toBe(1)
    expect(s.statements).toEqual(['CREATE', 'SELECT', 'UPDATE', 'DROP'])
    expect(await s.actions()).toEqual([1, 1, 0])
  })
})
