/**
 * @module The store's column path (`FlowWriter.appendColumns`, `ingestFile` with
 * `readFlowColumns`) stores exactly the rows the object path stores.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { BulkheadError, type Flow } from '../../src/core/index.js'
import { FlowColumns, StringTable } from '../../src/ingest/columnar.js'
import { readFlowBatches, readFlowColumns } from '../../src/ingest/read.js'
import { openDuckDbStore } from '../../src/store/index.js'
import { BATCH_ROWS, FlowWriter, prepareLoad } from '../../src/store/duckdb/batch.js'
import { ensureSchema } from '../../src/store/duckdb/schema.js'

const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-colstore-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const V2 =
  'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status'
const ECS =
  'version interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status flow-direction ecs-service-name ecs-task-id tcp-flags'

/** An AWS file mixing the fast path, the slow path (IPv6, ECS names, odd lines) and pairs. */
function awsFile(): string {
  const lines = [V2]
  for (let i = 0; i < 3000; i++) {
    // IPv6 to IPv6 now and then (an IPv4 and an IPv6 end would be skipped: mixed-address-families)
    const v6 = i % 11 === 0
    const a = v6 ? `2001:db8:a::${(1 + (i % 97)).toString(16)}` : `10.0.${i % 13}.${1 + (i % 97)}`
    const b = v6 ? `2001:db8::${(i % 50).toString(16)}` : `151.101.${i % 5}.${100 + (i % 61)}`
    const t = 1_790_000_000 + i
    lines.push(`2 1 eni-1 ${a} ${b} ${40000 + (i % 999)} 443 6 3 300 ${t} ${t + 60} ACCEPT OK`)
    if (i % 3 !== 0)
      lines.push(`2 1 eni-1 ${b} ${a} 443 ${40000 + (i % 999)} 6 2 200 ${t} ${t + 60} ACCEPT OK`)
    if (i % 500 === 0) lines.push(`2 1 eni-1 ${a} ${b} - - 6 - - ${t} ${t} - NODATA`, 'bad line')
  }
  lines.push(ECS)
  for (let i = 0; i < 200; i++) {
    const t = 1_790_010_000 + i
    lines.push(
      `5 eni-2 10.1.0.${i % 9} 10.2.0.${i % 7} ${50000 + i} ${i % 4 ? 5432 : 40001} 6 1 60 ${t} ${t + 5} ACCEPT OK ${i % 2 ? 'egress' : 'ingress'} ${i % 3 ? 'api' : '-'} task-${i % 4} ${i % 4 === 0 ? '-' : i % 5 ? 2 : 18}`,
    )
  }
  return lines.join('\n') + '\n'
}

type Row = Record<string, unknown>

async function rows(run: (sql: string) => Promise<Row[]>): Promise<string[]> {
  const r = await run('SELECT * FROM flows ORDER BY rowid')
  return r.map((x) =>
    JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
  )
}

describe('the store column path', () => {
  it('ingestFile stores the same rows from columns as from flow objects', async () => {
    const file = path.join(dir, 'vpc.log')
    writeFileSync(file, awsFile())
    const stored: string[][] = []
    for (const columnar of [false, true]) {
      const store = await openDuckDbStore(':memory:')
      try {
        const r = await store.ingestFile(file, (f) =>
          columnar
            ? readFlowColumns([f], { format: 'aws-vpc', strict: false }, [])
            : readFlowBatches([f], { format: 'aws-vpc', strict: false }, []),
        )
        expect(r.records).toBeGreaterThan(3000)
        stored.push(await rows((sql) => store.query(sql)))
      } finally {
        await store.close()
      }
    }
    const [objects, columns] = stored as [string[], string[]]
    expect(columns.length).toBe(objects.length)
    expect(columns).toStrictEqual(objects)
    // the file exercises names, IPv6 and both directions
    expect(
      objects.some((r) => r.includes('"src_name":"api"') || r.includes('"dst_name":"api"')),
    ).toBe(true)
    expect(objects.some((r) => r.includes('2001:db8::'))).toBe(true)
    expect(objects.some((r) => r.includes('"direction":"unknown"'))).toBe(true)
  }, 60_000)

  it('appendColumns across batch boundaries, mixed with add(), equals add() alone', async () => {
    const table = new StringTable()
    const flows: Flow[] = []
    for (let i = 0; i < 9000; i++) {
      const f: { -readonly [K in keyof Flow]: Flow[K] } = {
        src: i % 7 === 0 ? `2001:db8::${i % 300}` : `10.${i % 3}.${i % 250}.${i % 199}`,
        dst: `192.168.${i % 5}.${i % 111}`,
        srcPort: (i * 37) % 65536,
        dstPort: i % 2 ? 443 : 53,
        protocol: i % 2 ? 6 : 17,
        start: 1_790_000_000_000 + i * 86_400_000 * (i % 3),
        end: 1_790_000_000_000 + i * 86_400_000 * (i % 3) + i,
        packets: i % 4 === 0 ? 2 ** 40 + i : i,
        bytes: i * 1000,
        observedAction: i % 3 === 0 ? 'accept' : i % 3 === 1 ? 'reject' : 'unknown',
        direction: i % 4 === 0 ? 'client-to-server' : i % 4 === 1 ? 'unknown' : 'server-to-client',
        source: { format: 'aws-vpc', file: 'x.log', line: i + 1 },
      }
      if (i % 5 === 0) f.tcpFlags = i % 4096
      if (i % 6 === 0) f.srcName = `svc-${i % 4}`
      if (i % 10 === 0) f.dstName = `db-${i % 3}`
      flows.push(f)
    }
    const stored: string[][] = []
    for (const columnar of [false, true]) {
      const instance = await DuckDBInstance.create(':memory:')
      const conn: DuckDBConnection = await instance.connect()
      try {
        await ensureSchema(conn, ':memory:')
        prepareLoad(conn)
        const w = await FlowWriter.open(conn, 2048)
        if (!columnar) {
          for (const f of flows) if (w.add(f)) await w.rotate()
        } else {
          // odd-sized column batches, with a few object flows between them
          let i = 0
          while (i < flows.length) {
            const c = new FlowColumns('aws-vpc', 'x.log', table, 16)
            for (const f of flows.slice(i, i + 1531)) c.pushFlow(f)
            await w.appendColumns(c)
            i += 1531
            for (const f of flows.slice(i, i + 3)) if (w.add(f)) await w.rotate()
            i += 3
          }
        }
        expect(await w.finish()).toBe(flows.length)
        stored.push(await rows(async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJS()))
      } finally {
        conn.closeSync()
        instance.closeSync()
      }
    }
    expect(stored[1]).toStrictEqual(stored[0])
  }, 60_000)

  it('a counter outside 0 … 2^53 - 1 is refused (store/bad-counter) on both paths, never stored wrapped', async () => {
    const table = new StringTable()
    const base: Flow = {
      src: '10.0.0.1',
      dst: '10.0.0.2',
      srcPort: 40000,
      dstPort: 443,
      protocol: 6,
      start: 1_790_000_000_000,
      end: 1_790_000_000_000,
      packets: 1,
      bytes: 1,
      observedAction: 'accept',
      direction: 'client-to-server',
      source: { format: 'zeek', file: 'x.log', line: 1 },
    }
    const max = { ...base, packets: Number.MAX_SAFE_INTEGER, bytes: Number.MAX_SAFE_INTEGER }
    const bad: Flow[] = [
      { ...base, bytes: 2 ** 64 }, // wrapped to 0 before
      { ...base, packets: 2 ** 64 + 2 ** 12 },
      { ...base, bytes: 2 ** 53 },
      { ...base, packets: -1 },
      { ...base, bytes: 1.5 },
      { ...base, packets: Number.NaN },
    ]
    const instance = await DuckDBInstance.create(':memory:')
    const conn: DuckDBConnection = await instance.connect()
    const codeOf = (e: unknown): unknown =>
      e instanceof BulkheadError ? e.diagnostics.map((d) => d.code) : e
    const whereOf = (e: unknown): unknown =>
      e instanceof BulkheadError ? e.diagnostics.map((d) => d.location) : e
    try {
      await ensureSchema(conn, ':memory:')
      prepareLoad(conn)
      const w = await FlowWriter.open(conn, 2048)
      w.add(max)
      for (const f of bad) {
        let thrown: unknown
        try {
          w.add(f)
        } catch (e) {
          thrown = e
        }
        expect(codeOf(thrown), JSON.stringify(f)).toEqual(['store/bad-counter'])
        expect(whereOf(thrown)).toEqual([{ file: 'x.log', line: 1, column: 0 }])
        const c = new FlowColumns('zeek', 'x.log', table, 16)
        c.pushFlow(max)
        c.pushFlow(f)
        const e: unknown = await w.appendColumns(c).then(
          () => undefined,
          (err: unknown) => err,
        )
        expect(codeOf(e), JSON.stringify(f)).toEqual(['store/bad-counter'])
        expect(whereOf(e)).toEqual([{ file: 'x.log', line: 1, column: 0 }])
      }
      expect(await w.finish()).toBe(1)
      const back = (
        await conn.runAndReadAll('SELECT packets::VARCHAR AS p, bytes::VARCHAR AS b FROM flows')
      ).getRowObjectsJS()
      expect(back).toEqual([{ p: '9007199254740991', b: '9007199254740991' }])
    } finally {
      conn.closeSync()
      instance.closeSync()
    }
  })
  it('hands the rows packed so far to DuckDB when no insert is in flight, not only full batches', async () => {
    const table = new StringTable()
    let next = 0
    const columns = (n: number): FlowColumns => {
      const c = new FlowColumns('zeek', 'x.log', table, n)
      for (let i = 0; i < n; i++, next++)
        c.pushFlow({
          src: `10.0.${(next >> 8) & 255}.${next & 255}`,
          dst: '10.9.0.1',
          srcPort: 1024 + (next % 60000),
          dstPort: 443,
          protocol: 6,
          start: 1_790_000_000_000 + next,
          end: 1_790_000_000_000 + next,
          packets: 1,
          bytes: next,
          observedAction: 'accept',
          direction: 'client-to-server',
          source: { format: 'zeek', file: 'x.log', line: next + 1 },
        })
      return c
    }
    const instance = await DuckDBInstance.create(':memory:')
    const conn: DuckDBConnection = await instance.connect()
    try {
      await ensureSchema(conn, ':memory:')
      prepareLoad(conn)
      const run = conn.run.bind(conn)
      const inserts: Promise<unknown>[] = []
      vi.spyOn(conn, 'run').mockImplementation((sql, ...rest) => {
        const p = run(sql, ...rest)
        if (sql.startsWith('INSERT INTO flow_rows')) inserts.push(p)
        return p
      })
      const w = await FlowWriter.open(conn)
      const settled = async (): Promise<void> => {
        await Promise.all(inserts)
        await new Promise((r) => setImmediate(r))
      }
      // far below a full batch: goes at once, DuckDB having nothing to do
      await w.appendColumns(columns(20_000))
      expect(inserts).toHaveLength(1)
      // while that insert is in flight, rows wait
      await w.appendColumns(columns(20_000))
      expect(inserts).toHaveLength(1)
      await settled()
      await w.appendColumns(columns(1_000))
      expect(inserts).toHaveLength(2)
      await settled()
      // too few to go alone
      await w.appendColumns(columns(1_000))
      expect(inserts).toHaveLength(2)
      expect(await w.finish()).toBe(42_000)
      expect(inserts).toHaveLength(3)
      expect(BATCH_ROWS).toBeGreaterThan(42_000)
      const r = await conn.runAndReadAll(
        'SELECT count(*), min(bytes), max(bytes), bool_and(bytes = rowid) FROM flow_rows',
      )
      expect(r.getRowsJS()).toStrictEqual([[42_000n, 0n, 41_999n, true]])
    } finally {
      conn.closeSync()
      instance.closeSync()
    }
  }, 60_000)
})
