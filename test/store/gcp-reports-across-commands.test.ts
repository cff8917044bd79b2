/**
 * @module GCP VPC Flow Logs: the SRC and DEST reports of the same traffic in files of different
 * `ingest` commands (a sink's hourly shards ingested as they come) are counted once, as when one
 * command reads both files (store schema version 6, `gcp_reports`). Expected values computed by
 * hand from the reader's rule (ingest/gcp-reports.ts): same 5-tuple, other reporter, intervals
 * overlapping within 5 s.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { afterAll, describe, expect, it } from 'vitest'
import { ingestFiles, type IngestOutput } from '../../src/cli/commands/ingest.js'
import { openDuckDbStore, SCHEMA_VERSION } from '../../src/store/index.js'

const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-gcp-commands-'))
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

const CLIENT = '10.0.0.8'
const SERVER = '10.0.0.5'

/** One flow-log record of the connection CLIENT:40001 → SERVER:443 (`reply`: its other direction). */
function report(
  reporter: 'SRC' | 'DEST',
  reply: boolean,
  start: string,
  end: string,
  bytes: number,
  packets: number,
): string {
  const [a, ap, b, bp] = reply ? [SERVER, 443, CLIENT, 40001] : [CLIENT, 40001, SERVER, 443]
  return JSON.stringify({
    logName: 'projects/p/logs/compute.googleapis.com%2Fvpc_flows',
    jsonPayload: {
      connection: { src_ip: a, src_port: ap, dest_ip: b, dest_port: bp, protocol: 6 },
      start_time: start,
      end_time: end,
      bytes_sent: String(bytes),
      packets_sent: String(packets),
      reporter,
    },
  })
}

let n = 0
/** Two shards: the client VM's reports (a.json) and the server VM's (b.json), `lagS` seconds later. */
function shards(lagS: number): { a: string; b: string } {
  const d = path.join(dir, `case-${String(n++)}`)
  const t = (s: number): string =>
    new Date(Date.UTC(2026, 0, 1, 0, 59, 58) + s * 1000).toISOString()
  const a = path.join(d, 'a.json')
  const b = path.join(d, 'b.json')
  mkdirSync(d)
  // the client VM: its egress (SRC) and the reply it received (DEST), 00:59:58–01:00:03
  writeFileSync(
    a,
    [report('SRC', false, t(0), t(5), 1000, 10), report('DEST', true, t(0), t(5), 5000, 8)].join(
      '\n',
    ) + '\n',
  )
  // the server VM: what it received (DEST) and its reply (SRC), its own sampling
  writeFileSync(
    b,
    [
      report('DEST', false, t(lagS), t(lagS + 5), 990, 10),
      report('SRC', true, t(lagS), t(lagS + 5), 5100, 8),
    ].join('\n') + '\n',
  )
  return { a, b }
}

async function ingest(store: string, files: string[]): Promise<IngestOutput> {
  const out = await ingestFiles(
    files.map((file) => ({ file, format: 'gcp-vpc' as const })),
    store,
    { strict: true, progress: false },
  )
  expect(out.failed).toEqual([])
  return out
}

async function flows(store: string): Promise<unknown[]> {
  const s = await openDuckDbStore(store, { readOnly: true })
  try {
    return await s.query(
      'SELECT src, src_port, dst, dst_port, start_ms, end_ms, packets, bytes, file, line FROM flows ORDER BY start_ms, file',
    )
  } finally {
    await s.close()
  }
}

const START = Date.UTC(2026, 0, 1, 0, 59, 58)

describe('gcp-vpc reports of the same traffic in files of different commands', () => {
  it('the server VM shard ingested after the client VM shard adds nothing: one flow, as one command stores', async () => {
    const { a, b } = shards(1)
    // by hand: the client VM's two records pair into CLIENT:40001 → SERVER:443, 00:59:58–01:00:03,
    // 10 + 8 packets, 1000 + 5000 bytes, a.json line 1; the server VM's two reports overlap them
    // (other reporter, 1 s later) and are dropped
    const expected = [
      {
        src: CLIENT,
        src_port: 40001,
        dst: SERVER,
        dst_port: 443,
        start_ms: START,
        end_ms: START + 5000,
        packets: 18,
        bytes: 6000,
        file: a,
        line: 1,
      },
    ]
    const one = path.join(path.dirname(a), 'one.duckdb')
    const out = await ingest(one, [a, b])
    expect(out.notes['duplicate-report']).toBe(2)
    expect(await flows(one)).toEqual(expected)

    const two = path.join(path.dirname(a), 'two.duckdb')
    await ingest(two, [a])
    const second = await ingest(two, [b])
    expect(second.notes['duplicate-report']).toBe(2)
    expect(second.records).toBe(0)
    expect(await flows(two)).toEqual(expected)
    // the matched reports are forgotten: nothing of this connection is remembered
    const s = await openDuckDbStore(two, { readOnly: true })
    try {
      expect(await s.query('SELECT count(*)::INTEGER AS n FROM gcp_reports')).toEqual([{ n: 0 }])
    } finally {
      await s.close()
    }
  })

  it('the shards ingested in the other order store one flow too (the server VM reports kept)', async () => {
    const { a, b } = shards(1)
    const store = path.join(path.dirname(a), 'ba.duckdb')
    await ingest(store, [b])
    const second = await ingest(store, [a])
    expect(second.notes['duplicate-report']).toBe(2)
    // by hand: b.json's two records pair into CLIENT:40001 → SERVER:443, 00:59:59–01:00:04,
    // 18 packets, 990 + 5100 bytes, b.json line 1 (README "Limits today": the report stored
    // first is kept, not the one first in path order)
    expect(await flows(store)).toEqual([
      {
        src: CLIENT,
        src_port: 40001,
        dst: SERVER,
        dst_port: 443,
        start_ms: START + 1000,
        end_ms: START + 6000,
        packets: 18,
        bytes: 6090,
        file: b,
        line: 1,
      },
    ])
  })

  it('a report more than 5 s after is other traffic: stored, in one command or two', async () => {
    const { a, b } = shards(1)
    // the server VM's next records of the same 5-tuple: 01:00:09–01:00:14, 6 s after a.json's end
    const t = (sec: number): string => new Date(START + sec * 1000).toISOString()
    appendFileSync(
      b,
      [
        report('DEST', false, t(11), t(16), 770, 3),
        report('SRC', true, t(11), t(16), 3300, 4),
      ].join('\n') + '\n',
    )
    // by hand: a.json's flow (6000 bytes) as above; b.json lines 1–2 dropped; lines 3–4 pair into
    // CLIENT:40001 → SERVER:443, 01:00:09–01:00:14, 3 + 4 packets, 770 + 3300 bytes, b.json line 3
    const expected = [
      {
        src: CLIENT,
        src_port: 40001,
        dst: SERVER,
        dst_port: 443,
        start_ms: START,
        end_ms: START + 5000,
        packets: 18,
        bytes: 6000,
        file: a,
        line: 1,
      },
      {
        src: CLIENT,
        src_port: 40001,
        dst: SERVER,
        dst_port: 443,
        start_ms: START + 11_000,
        end_ms: START + 16_000,
        packets: 7,
        bytes: 4070,
        file: b,
        line: 3,
      },
    ]
    const one = path.join(path.dirname(a), 'one.duckdb')
    expect((await ingest(one, [a, b])).notes['duplicate-report']).toBe(2)
    expect(await flows(one)).toEqual(expected)
    const two = path.join(path.dirname(a), 'two.duckdb')
    await ingest(two, [a])
    expect((await ingest(two, [b])).notes['duplicate-report']).toBe(2)
    expect(await flows(two)).toEqual(expected)
  })

  it('migrates_a_schema_version_5_store_to_6_with_no_remembered_report', async () => {
    expect(SCHEMA_VERSION).toBe(6)
    const { a } = shards(1)
    const file = path.join(path.dirname(a), 'v5.duckdb')
    await ingest(file, [a])
    // made a version 5 store: its table dropped, its version set back
    let raw = await DuckDBInstance.create(file)
    let conn = await raw.connect()
    await conn.run('DROP TABLE gcp_reports')
    await conn.run(`UPDATE meta SET value = '5' WHERE key = 'schema_version'`)
    conn.closeSync()
    raw.closeSync()
    const s = await openDuckDbStore(file)
    await s.close()
    raw = await DuckDBInstance.create(file)
    conn = await raw.connect()
    const v = await conn.runAndReadAll(
      `SELECT (SELECT value FROM meta WHERE key = 'schema_version'), (SELECT count(*)::INTEGER FROM gcp_reports)`,
    )
    expect(v.getRows()).toEqual([['6', 0]])
    conn.closeSync()
    raw.closeSync()
  })
})
