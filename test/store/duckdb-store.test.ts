import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { DuckDBInstance } from '@duckdb/node-api'
import { BulkheadError, type Flow } from '../../src/core/index.js'
import { openDuckDbStore, SCHEMA_VERSION, type FlowStore } from '../../src/store/index.js'
import { BATCH_ROWS } from '../../src/store/duckdb/batch.js'

const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-store-'))
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0)
const DAY = 86_400_000

function flow(i: number, over: Partial<Flow> = {}): Flow {
  return {
    src: `10.0.${(i >> 8) & 255}.${i & 255}`,
    dst: '10.0.200.1',
    srcPort: 40000 + (i % 20000),
    dstPort: 443,
    protocol: 6,
    start: T0 + i * 1000,
    end: T0 + i * 1000 + 500,
    packets: 3,
    bytes: 180,
    observedAction: 'accept',
    direction: 'client-to-server',
    source: { format: 'aws-vpc', file: 'flows.log', line: i + 1 },
    ...over,
  }
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

async function withStore<T>(fn: (s: FlowStore) => Promise<T>, where = ':memory:'): Promise<T> {
  const s = await openDuckDbStore(where)
  try {
    return await fn(s)
  } finally {
    await s.close()
  }
}

describe('DuckDB flow store', () => {
  it('round_trips_every_flow_field_ipv6_and_icmp', async () => {
    const full: Flow = {
      src: '2001:db8::11',
      dst: '2001:db8:0:1::5',
      srcPort: 51000,
      dstPort: 5432,
      protocol: 6,
      start: T0,
      end: T0 + 61_000,
      packets: 2 ** 40,
      bytes: Number.MAX_SAFE_INTEGER,
      observedAction: 'reject',
      direction: 'server-to-client',
      source: { format: 'hubble', file: '/var/log/hubble.json', record: 7 },
      tcpFlags: 18,
      srcName: 'payments/api-1[Pod]',
      dstName: 'payments/db-0[Pod]',
      srcLabels: { role: 'api', app: 'payments' },
      dstLabels: { role: 'db', 'k8s:io.kubernetes.pod.namespace': 'payments' },
    }
    const icmp = flow(1, {
      protocol: 1,
      srcPort: 0,
      dstPort: 8,
      direction: 'unknown',
      observedAction: 'unknown',
    })
    const icmp6: Flow = flow(2, {
      src: 'fe80::1',
      dst: 'ff02::1',
      protocol: 58,
      srcPort: 0,
      dstPort: 135,
    })
    const old: Flow = flow(3, { start: -5000, end: -1000 }) // before 1970: negative int64 words
    await withStore(async (s) => {
      expect(await s.appendFlows([full, icmp, icmp6, old])).toBe(4)
      const back = await all(s.flows())
      expect(back).toEqual([old, full, icmp, icmp6])
    })
  })

  it('round_trips_arbitrary_flows', async () => {
    const ip = fc.oneof(fc.ipV4(), fc.constantFrom('2001:db8::1', '::1', 'fe80::abcd:1'))
    const flowArb: fc.Arbitrary<Flow> = fc
      .record(
        {
          src: ip,
          dst: ip,
          srcPort: fc.integer({ min: 0, max: 65535 }),
          dstPort: fc.integer({ min: 0, max: 65535 }),
          protocol: fc.integer({ min: 0, max: 255 }),
          start: fc.integer({ min: 0, max: 4_102_444_800_000 }),
          end: fc.constant(0),
          packets: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
          bytes: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
          observedAction: fc.constantFrom('accept', 'reject', 'unknown'),
          direction: fc.constantFrom('client-to-server', 'server-to-client', 'unknown'),
          source: fc.record({
            format: fc.constantFrom('zeek', 'aws-vpc'),
            file: fc.string(),
            line: fc.nat({ max: 2 ** 32 - 1 }),
          }),
          tcpFlags: fc.integer({ min: 0, max: 255 }),
          srcName: fc.string(),
          srcLabels: fc.dictionary(fc.constantFrom('app', 'role', 'env', 'k8s:app'), fc.string()),
        },
        {
          requiredKeys: [
            'src',
            'dst',
            'srcPort',
            'dstPort',
            'protocol',
            'start',
            'end',
            'packets',
            'bytes',
            'observedAction',
            'direction',
            'source',
          ],
        },
      )
      .map((f) => ({ ...f, end: f.start + 10 }))
    await withStore(async (s) => {
      await fc.assert(
        fc.asyncProperty(fc.array(flowArb, { minLength: 1, maxLength: 20 }), async (flows) => {
          const before = await s.count()
          await s.appendFlows(flows)
          const back = await s.query<{ n: number }>('SELECT count(*) AS n FROM flows')
          expect(back[0]?.n).toBe(before + flows.length)
          const rows = await all(s.flows())
          for (const f of flows) {
            const normal = { ...f, ...(f.srcLabels ? { srcLabels: { ...f.srcLabels } } : {}) }
            expect(rows).toContainEqual(normal)
          }
        }),
        { seed: 42, numRuns: 25 },
      )
    })
  })

  it('stores_batches_larger_than_one_staging_batch_with_many_distinct_addresses', async () => {
    const n = BATCH_ROWS * 2 + 1234
    await withStore(async (s) => {
      function* gen(): Generator<Flow> {
        for (let i = 0; i < n; i++)
          yield flow(i, { dst: `192.168.${(i * 7) & 255}.${(i * 13) & 255}`, bytes: i })
      }
      expect(await s.appendFlows(gen())).toBe(n)
      const [agg] = await s.query<{ n: number; b: number; ds: number; ss: number }>(
        'SELECT count(*) AS n, sum(bytes)::BIGINT AS b, count(DISTINCT dst) AS ds, count(DISTINCT src) AS ss FROM flows',
      )
      expect(agg?.n).toBe(n)
      expect(agg?.b).toBe((n * (n - 1)) / 2)
      expect(agg?.ds).toBe(
        new Set(Array.from({ length: n }, (_, i) => `${(i * 7) & 255}.${(i * 13) & 255}`)).size,
      )
      expect(agg?.ss).toBe(
        new Set(Array.from({ length: n }, (_, i) => `${(i >> 8) & 255}.${i & 255}`)).size,
      )
      // spot-check a row from the last batch: the dictionary of each batch decodes its own codes
      const last = await s.query<{ src: string; dst: string; line: number }>(
        'SELECT src, dst, line FROM flows WHERE bytes = ?',
        [n - 1],
      )
      expect(last).toEqual([
        {
          src: flow(n - 1).src,
          dst: `192.168.${((n - 1) * 7) & 255}.${((n - 1) * 13) & 255}`,
          line: n,
        },
      ])
    })
  })

  it('ingests_a_file_once_by_fingerprint', async () => {
    const file = path.join(dir, 'a.log')
    writeFileSync(file, 'some flow file bytes\n')
    const copy = path.join(dir, 'a-copy.log')
    writeFileSync(copy, 'some flow file bytes\n')
    let reads = 0
    async function* source(f: string): AsyncIterable<Flow[]> {
      reads++
      await Promise.resolve()
      for (let i = 0; i < 10; i += 5)
        yield [i, i + 1, i + 2, i + 3, i + 4].map((j) =>
          flow(j, { source: { format: 'aws-vpc', file: f, line: j + 1 } }),
        )
    }
    await withStore(async (s) => {
      const first = await s.ingestFile(file, source)
      expect(first).toMatchObject({ file, records: 10, alreadyIngested: false })
      expect(first.fingerprint).toMatch(/^[0-9a-f]{64}$/)
      const again = await s.ingestFile(file, source)
      expect(again).toEqual({ ...first, alreadyIngested: true })
      const sameBytes = await s.ingestFile(copy, source)
      expect(sameBytes.alreadyIngested).toBe(true)
      expect(reads).toBe(1)
      expect(await s.count()).toBe(10)
      const files = await s.query<{ path: string; records: number }>(
        'SELECT path, records FROM ingested_files',
      )
      expect(files).toEqual([{ path: file, records: 10 }])
    })
  })

  it('stores_nothing_of_a_file_whose_flow_source_fails_mid_file', async () => {
    const file = path.join(dir, 'b.log')
    writeFileSync(file, 'other bytes\n')
    const n = BATCH_ROWS + 5000 // past one full batch, so rows were already moved into `flows`
    async function* failing(): AsyncIterable<Flow[]> {
      await Promise.resolve()
      for (let i = 0; i < n; i++) yield [flow(i)]
      throw new BulkheadError([
        { code: 'ingest/malformed-record', severity: 'fatal', message: 'boom' },
      ])
    }
    async function* good(): AsyncIterable<Flow[]> {
      await Promise.resolve()
      yield [flow(1)]
    }
    await withStore(async (s) => {
      await s.appendFlows([flow(0, { src: '10.9.9.9' })])
      await expect(s.ingestFile(file, failing)).rejects.toBeInstanceOf(BulkheadError)
      expect(await s.count()).toBe(1)
      expect(await s.query('SELECT * FROM ingested_files')).toEqual([])
      // the staging tables are empty again and the file can be ingested later
      const r = await s.ingestFile(file, good)
      expect(r).toMatchObject({ records: 1, alreadyIngested: false })
      expect(await s.count()).toBe(2)
    })
  })

  it('reports_a_missing_file_as_io_not_found', async () => {
    await withStore(async (s) => {
      const err = await s
        .ingestFile(path.join(dir, 'nope.log'), async function* () {})
        .catch((e: unknown) => e)
      expect(err).toBeInstanceOf(BulkheadError)
      expect((err as BulkheadError).diagnostics[0]?.code).toBe('io/not-found')
    })
  })

  it('window_is_undefined_when_empty_then_spans_min_start_to_max_end', async () => {
    await withStore(async (s) => {
      expect(await s.window()).toBeUndefined()
      await s.appendFlows([flow(5), flow(1, { end: T0 + 99_999 }), flow(3)])
      expect(await s.window()).toEqual({ start: T0 + 1000, end: T0 + 99_999 })
    })
  })

  it('filters_by_half_open_time_and_limit', async () => {
    await withStore(async (s) => {
      // one flow per 6 hours over 4 days, inserted out of order
      const flows = Array.from({ length: 16 }, (_, i) =>
        flow(i, { start: T0 + (i * DAY) / 4, end: T0 + (i * DAY) / 4 + 1 }),
      ).reverse()
      await s.appendFlows(flows)
      const since = T0 + DAY
      const until = T0 + 2 * DAY
      const got = await all(s.flows({ since, until }))
      expect(got.map((f) => f.start)).toEqual([0, 1, 2, 3].map((k) => since + (k * DAY) / 4))
      expect(await s.count({ since, until })).toBe(4)
      expect(await s.count({ since })).toBe(12)
      expect(await s.count({ until: T0 })).toBe(0)
      expect(await s.count({ until: T0 + 1 })).toBe(1)
      expect(await s.count({ limit: 5 })).toBe(5)
      const limited = await all(s.flows({ since, limit: 2 }))
      expect(limited.map((f) => f.start)).toEqual([since, since + DAY / 4])
    })
  })

  it('runs_read_only_sql_with_parameters_and_refuses_writes', async () => {
    await withStore(async (s) => {
      await s.appendFlows([flow(1), flow(2, { dstPort: 22 }), flow(3, { dstPort: 22 })])
      const rows = await s.query<{ dst_port: number; n: number; first: Date }>(
        'SELECT dst_port, count(*) AS n, min(epoch_ms(start_ms)) AS first FROM flows WHERE dst_port = ? GROUP BY dst_port',
        [22],
      )
      expect(rows).toEqual([{ dst_port: 22, n: 2, first: new Date(T0 + 2000) }])
      for (const sql of [
        'DELETE FROM flows',
        'DROP TABLE flows',
        "INSERT INTO meta VALUES ('x', 'y')",
      ]) {
        const err = await s.query(sql).catch((e: unknown) => e)
        expect((err as BulkheadError).diagnostics[0]?.code).toBe('store/not-read-only')
      }
      expect(await s.count()).toBe(3)
    })
  })

  it('persists_to_disk_and_refuses_a_newer_schema_version', async () => {
    const file = path.join(dir, 'store.duckdb')
    await withStore(async (s) => {
      await s.appendFlows([flow(1)])
    }, file)
    await withStore(async (s) => {
      expect(await s.count()).toBe(1)
      const [v] = await s.query<{ value: string }>(
        "SELECT value FROM meta WHERE key = 'schema_version'",
      )
      expect(v?.value).toBe(String(SCHEMA_VERSION))
    }, file)
    const raw = await DuckDBInstance.create(file)
    const conn = await raw.connect()
    await conn.run(`UPDATE meta SET value = '${SCHEMA_VERSION + 1}' WHERE key = 'schema_version'`)
    conn.closeSync()
    raw.closeSync()
    const err = await openDuckDbStore(file).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BulkheadError)
    expect((err as BulkheadError).diagnostics[0]?.code).toBe('store/schema-too-new')
    // refused without a change: the version is still the newer one
    const raw2 = await DuckDBInstance.create(file)
    const c2 = await raw2.connect()
    const r = await c2.runAndReadAll("SELECT value FROM meta WHERE key = 'schema_version'")
    expect(r.getRows()[0]?.[0]).toBe(String(SCHEMA_VERSION + 1))
    c2.closeSync()
    raw2.closeSync()
  })
})
