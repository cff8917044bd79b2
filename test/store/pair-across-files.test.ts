/**
 * @module The store pairs the two directions of an AWS or GCP VPC connection whose records are in
 * different files (store `pairHalves`): hand-written cases, expected flows worked out by hand
 * from the pairing rules (README `bulkhead flows`, "Direction"). The property over generated
 * files is test/property/pair-across-files.prop.test.ts.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ingestFiles, type IngestOutput } from '../../src/cli/commands/ingest.js'
import { readFlowColumns } from '../../src/ingest/read.js'
import { PAIR_SLACK_MS } from '../../src/ingest/direction.js'
import { HALF_LOOKBACK_MS, HALF_SLACK_MS } from '../../src/store/duckdb/halves.js'
import { openDuckDbStore } from '../../src/store/index.js'

const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-pair-files-'))
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

const MAX = Number.MAX_SAFE_INTEGER

/** A flow row as compared here: the `flows` view's columns that matter, and the half mark. */
interface Row {
  src: string
  dst: string
  sp: number
  dp: number
  proto: number
  start: number
  end: number
  packets: number
  bytes: number
  action: string
  direction: string
  file: string
  line: number
  half: number
  srcName?: string | null
  dstName?: string | null
}

async function stored(store: string, names = false): Promise<Row[]> {
  const s = await openDuckDbStore(store, { readOnly: true })
  try {
    const rows = await s.query<Record<string, unknown>>(
      `SELECT v.*, fr.half FROM flows v JOIN flow_rows fr ON fr.rowid = v.rowid
       ORDER BY v.start_ms, v.src_port, v.dst_port, v.file, v.line`,
    )
    return rows.map((r) => ({
      src: r['src'] as string,
      dst: r['dst'] as string,
      sp: r['src_port'] as number,
      dp: r['dst_port'] as number,
      proto: r['protocol'] as number,
      start: r['start_ms'] as number,
      end: r['end_ms'] as number,
      packets: r['packets'] as number,
      bytes: r['bytes'] as number,
      action: r['observed_action'] as string,
      direction: r['direction'] as string,
      file: path.basename(r['file'] as string),
      line: r['line'] as number,
      half: r['half'] as number,
      ...(names
        ? { srcName: r['src_name'] as string | null, dstName: r['dst_name'] as string | null }
        : {}),
    }))
  } finally {
    await s.close()
  }
}

async function ingest(
  store: string,
  files: readonly string[],
  format: 'aws-vpc' | 'gcp-vpc',
): Promise<IngestOutput> {
  const out = await ingestFiles(
    files.map((file) => ({ file, format })),
    store,
    { strict: true, progress: false },
  )
  expect(out.failed).toEqual([])
  return out
}

const AWS_A = [
  // 1: a request whose reply is in b.log
  '2 123456789012 eni-0a 10.0.1.7 10.0.2.9 49152 443 6 10 1000 1790000000 1790000060 ACCEPT OK',
  // 2: a request with no reply anywhere
  '2 123456789012 eni-0a 10.0.1.7 10.0.2.9 50000 5432 6 3 180 1790000000 1790000060 ACCEPT OK',
  // 3: UDP between two client-range ports: no evidence of the client either way
  '2 123456789012 eni-0a 10.0.1.7 10.0.2.9 40000 50000 17 5 500 1790000000 1790000010 ACCEPT OK',
  // 4: ICMP (no type: ports 0 0), counters near 2^53 - 1
  '2 123456789012 eni-0a 10.0.2.9 10.0.1.7 0 0 1 9007199254740000 9007199254740991 1790000000 1790000001 ACCEPT OK',
  // 5: a request whose reply (b.log) comes 140 s after it ended: not the same exchange
  '2 123456789012 eni-0a 10.0.1.7 10.0.2.9 49153 443 6 4 400 1790000000 1790000060 ACCEPT OK',
]
const AWS_B = [
  '2 123456789012 eni-0b 10.0.2.9 10.0.1.7 50000 40000 17 6 600 1790000005 1790000020 ACCEPT OK',
  '2 123456789012 eni-0b 10.0.2.9 10.0.1.7 443 49152 6 8 4000 1790000030 1790000090 ACCEPT OK',
  '2 123456789012 eni-0b 10.0.1.7 10.0.2.9 0 0 1 1000 5 1790000000 1790000002 ACCEPT OK',
  '2 123456789012 eni-0b 10.0.2.9 10.0.1.7 443 49153 6 2 200 1790000200 1790000260 ACCEPT OK',
]

/**
 * Worked out by hand. Paired: 1+b2 (client 10.0.1.7:49152 by port 443; times 0–90 s; 10+8
 * packets, 1000+4000 bytes; source a.log:1), 3+b1 (no evidence: the client is the half first in
 * path order, a.log:3, direction unknown; 0–20 s; 11 packets, 1100 bytes), 4+b3 (ICMP, no
 * evidence: a.log:4 is the client, 10.0.2.9 → 10.0.1.7, read as an echo request, type 8; counters
 * held at 2^53 - 1). Not paired: 2 (no reply; as read, half 1), 5 and b4 (140 s apart: b4 is the
 * reply, stored turned round, half 1|2).
 */
const AWS_EXPECTED: Row[] = [
  {
    src: '10.0.2.9',
    dst: '10.0.1.7',
    sp: 0,
    dp: 8,
    proto: 1,
    start: 1790000000000,
    end: 1790000002000,
    packets: MAX,
    bytes: MAX,
    action: 'accept',
    direction: 'unknown',
    file: 'a.log',
    line: 4,
    half: 0,
  },
  {
    src: '10.0.1.7',
    dst: '10.0.2.9',
    sp: 40000,
    dp: 50000,
    proto: 17,
    start: 1790000000000,
    end: 1790000020000,
    packets: 11,
    bytes: 1100,
    action: 'accept',
    direction: 'unknown',
    file: 'a.log',
    line: 3,
    half: 0,
  },
  {
    src: '10.0.1.7',
    dst: '10.0.2.9',
    sp: 49152,
    dp: 443,
    proto: 6,
    start: 1790000000000,
    end: 1790000090000,
    packets: 18,
    bytes: 5000,
    action: 'accept',
    direction: 'client-to-server',
    file: 'a.log',
    line: 1,
    half: 0,
  },
  {
    src: '10.0.1.7',
    dst: '10.0.2.9',
    sp: 49153,
    dp: 443,
    proto: 6,
    start: 1790000000000,
    end: 1790000060000,
    packets: 4,
    bytes: 400,
    action: 'accept',
    direction: 'client-to-server',
    file: 'a.log',
    line: 5,
    half: 1,
  },
  {
    src: '10.0.1.7',
    dst: '10.0.2.9',
    sp: 50000,
    dp: 5432,
    proto: 6,
    start: 1790000000000,
    end: 1790000060000,
    packets: 3,
    bytes: 180,
    action: 'accept',
    direction: 'client-to-server',
    file: 'a.log',
    line: 2,
    half: 1,
  },
  {
    src: '10.0.1.7',
    dst: '10.0.2.9',
    sp: 49153,
    dp: 443,
    proto: 6,
    start: 1790000200000,
    end: 1790000260000,
    packets: 2,
    bytes: 200,
    action: 'accept',
    direction: 'client-to-server',
    file: 'b.log',
    line: 4,
    half: 3,
  },
]

function awsFiles(name: string): { dir: string; a: string; b: string } {
  const dir = path.join(root, name)
  mkdirSync(dir, { recursive: true })
  const a = path.join(dir, 'a.log')
  const b = path.join(dir, 'b.log')
  writeFileSync(a, AWS_A.join('\n') + '\n')
  writeFileSync(b, AWS_B.join('\n') + '\n')
  return { dir, a, b }
}

describe('AWS VPC: the two directions of a connection in two files are one flow', () => {
  it('keeps the store slack equal to reading’s', () => {
    expect(HALF_SLACK_MS).toBe(PAIR_SLACK_MS)
    expect(HALF_LOOKBACK_MS).toBeGreaterThan(10 * 60_000)
  })

  it('the concatenation read as one file: the expected flows', async () => {
    const { dir, a, b } = awsFiles('concat')
    const all = path.join(dir, 'all.log')
    writeFileSync(all, readFileSync(a, 'utf8') + readFileSync(b, 'utf8'))
    const store = path.join(dir, 's.duckdb')
    const out = await ingest(store, [all], 'aws-vpc')
    expect(out.notes['paired-directions']).toBe(3)
    expect(out.records).toBe(6)
    // a.log's lines are lines 1–5 of the concatenation, b.log's lines 6–9
    const rows = await stored(store)
    expect(
      rows.map((r) =>
        r.line > 5 ? { ...r, file: 'b.log', line: r.line - 5 } : { ...r, file: 'a.log' },
      ),
    ).toEqual(AWS_EXPECTED)
  })

  for (const order of [
    ['a', 'b'],
    ['b', 'a'],
  ] as const) {
    it(`two ingests, ${order.join(' then ')}: the same flows; a second ingest adds nothing`, async () => {
      const files = awsFiles(`two-${order.join('')}`)
      const store = path.join(files.dir, 's.duckdb')
      const first = await ingest(store, [files[order[0]]], 'aws-vpc')
      expect(first.notes['paired-across-files']).toBeUndefined()
      const second = await ingest(store, [files[order[1]]], 'aws-vpc')
      expect(second.notes['paired-across-files']).toBe(3)
      // the second file's flows, less the three that merged with halves stored before
      expect(second.records).toBe((order[1] === 'a' ? 5 : 4) - 3)
      expect(await stored(store)).toEqual(AWS_EXPECTED)
      const again = await ingest(store, [files.a, files.b], 'aws-vpc')
      expect(again.alreadyIngested).toHaveLength(2)
      expect(await stored(store)).toEqual(AWS_EXPECTED)
    })

    it(`one ingest of ${order.join(', ')} (one transaction): the same flows`, async () => {
      const files = awsFiles(`one-${order.join('')}`)
      const store = path.join(files.dir, 's.duckdb')
      const out = await ingest(
        store,
        order.map((k) => files[k]),
        'aws-vpc',
      )
      expect(out.notes['paired-across-files']).toBe(3)
      expect(out.records).toBe(6)
      expect(out.formats).toEqual({ 'aws-vpc': 6 })
      expect(await stored(store)).toEqual(AWS_EXPECTED)
    })
  }

  it("one half's TCP flags beat the other's ports across files too, whichever file is first", async () => {
    // a client on port 53 refused by a high port (reading weighs the evidence so: direction.ts)
    const head =
      'version srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags\n'
    const rst = '5 10.0.0.2 10.0.0.1 40000 53 6 1 40 1790000000 1790000060 ACCEPT OK 4\n'
    const syn = '5 10.0.0.1 10.0.0.2 53 40000 6 1 44 1790000000 1790000060 ACCEPT OK 2\n'
    for (const [first, second] of [
      [rst, syn],
      [syn, rst],
    ] as const) {
      const dir = mkdtempSync(path.join(root, 'flags-'))
      const a = path.join(dir, 'a.log')
      const b = path.join(dir, 'b.log')
      writeFileSync(a, head + first)
      writeFileSync(b, head + second)
      const store = path.join(dir, 's.duckdb')
      await ingest(store, [a], 'aws-vpc')
      expect((await ingest(store, [b], 'aws-vpc')).notes['paired-across-files']).toBe(1)
      const rows = await stored(store)
      expect(rows.map((r) => [r.src, r.sp, r.dp, r.direction, r.packets])).toEqual([
        ['10.0.0.1', 53, 40000, 'client-to-server', 2],
      ])
      // as one file reads it
      const all = path.join(dir, 'all.log')
      writeFileSync(all, head + first + second)
      const one = path.join(dir, 'one.duckdb')
      await ingest(one, [all], 'aws-vpc')
      expect((await stored(one)).map((r) => [r.src, r.sp, r.dp, r.direction])).toEqual([
        ['10.0.0.1', 53, 40000, 'client-to-server'],
      ])
    }
  })

  it('halves read with pairing off are not marked, and the store pairs nothing', async () => {
    const { dir, a, b } = awsFiles('no-pair')
    const s = await openDuckDbStore(path.join(dir, 's.duckdb'))
    try {
      for (const f of [a, b])
        await s.ingestFile(f, (file) =>
          readFlowColumns([file], { format: 'aws-vpc', strict: true, pair: false }, []),
        )
      expect(await s.count()).toBe(9)
      expect(await s.query('SELECT count(*)::INTEGER AS n FROM flow_rows WHERE half <> 0')).toEqual(
        [{ n: 0 }],
      )
    } finally {
      await s.close()
    }
  })
})

/** A GCP VPC Flow Logs LogEntry line. */
function gcp(
  src: [string, number, string],
  dst: [string, number, string],
  start: string,
  end: string,
  packets: number,
  bytes: number,
  reporter: 'SRC' | 'DEST',
): string {
  return JSON.stringify({
    logName: 'projects/p/logs/compute.googleapis.com%2Fvpc_flows',
    jsonPayload: {
      connection: {
        src_ip: src[0],
        src_port: src[1],
        dest_ip: dst[0],
        dest_port: dst[1],
        protocol: 6,
      },
      start_time: start,
      end_time: end,
      packets_sent: String(packets),
      bytes_sent: String(bytes),
      reporter,
      src_instance: { vm_name: src[2] },
      dest_instance: { vm_name: dst[2] },
    },
  })
}

const API: [string, number, string] = ['10.128.0.2', 43210, 'api-1']
const DB: [string, number, string] = ['10.128.0.5', 5432, 'db-1']
// shard 0: the api VM's report of api → db; shard 1: the db VM's report of the same traffic
// (the DEST report: one of the two is dropped) and its report of db → api
const SHARD_0 = [gcp(API, DB, '2024-03-01T10:00:00Z', '2024-03-01T10:00:05Z', 12, 1640, 'SRC')]
const SHARD_1 = [
  gcp(API, DB, '2024-03-01T10:00:00.500Z', '2024-03-01T10:00:05.500Z', 13, 1700, 'DEST'),
  gcp(DB, API, '2024-03-01T10:00:00.200Z', '2024-03-01T10:00:05.200Z', 6, 800, 'SRC'),
]
const T = Date.UTC(2024, 2, 1, 10, 0, 0)

/** The flow of the connection with the api → db report of `file`, worked out by hand. */
function gcpFlow(kept: 'SRC' | 'DEST', file: string): Row {
  return {
    src: '10.128.0.2',
    dst: '10.128.0.5',
    sp: 43210,
    dp: 5432,
    proto: 6,
    // the kept api → db report and the db → api report (0.2–5.2 s)
    start: kept === 'SRC' ? T : T + 200,
    end: kept === 'SRC' ? T + 5200 : T + 5500,
    packets: (kept === 'SRC' ? 12 : 13) + 6,
    bytes: (kept === 'SRC' ? 1640 : 1700) + 800,
    action: 'accept',
    direction: 'client-to-server',
    file,
    line: 1,
    half: 0,
    srcName: 'api-1',
    dstName: 'db-1',
  }
}

describe('GCP VPC: shards of one sink, a duplicate report and the two directions in different files', () => {
  function shards(name: string): { dir: string; s0: string; s1: string } {
    const dir = path.join(root, name)
    mkdirSync(dir, { recursive: true })
    const s0 = path.join(dir, '10:00:00_10:59:59_S0.json')
    const s1 = path.join(dir, '10:00:00_10:59:59_S1.json')
    writeFileSync(s0, SHARD_0.join('\n') + '\n')
    writeFileSync(s1, SHARD_1.join('\n') + '\n')
    return { dir, s0, s1 }
  }

  it('one ingest of shard 0, shard 1: the SRC report is kept and pairs with the reply in shard 1', async () => {
    const { dir, s0, s1 } = shards('gcp-01')
    const store = path.join(dir, 's.duckdb')
    const out = await ingest(store, [s0, s1], 'gcp-vpc')
    expect(out.notes).toMatchObject({ 'duplicate-report': 1, 'paired-across-files': 1 })
    expect(out.records).toBe(1)
    expect(await stored(store, true)).toEqual([gcpFlow('SRC', path.basename(s0))])
    // the same as the two shards as one file
    const all = path.join(dir, 'all.json')
    writeFileSync(all, [...SHARD_0, ...SHARD_1].join('\n') + '\n')
    const one = path.join(dir, 'one.duckdb')
    await ingest(one, [all], 'gcp-vpc')
    expect(await stored(one, true)).toEqual([gcpFlow('SRC', 'all.json')])
  })

  it('one ingest of shard 1, shard 0: the DEST report is kept, shard 1 pairs itself, shard 0 adds nothing', async () => {
    const { dir, s0, s1 } = shards('gcp-10')
    const store = path.join(dir, 's.duckdb')
    const out = await ingest(store, [s1, s0], 'gcp-vpc')
    expect(out.notes).toMatchObject({ 'duplicate-report': 1, 'paired-directions': 1 })
    expect(out.notes['paired-across-files']).toBeUndefined()
    expect(await stored(store, true)).toEqual([gcpFlow('DEST', path.basename(s1))])
  })

  it('two ingests without a duplicate report: one flow', async () => {
    const dir = path.join(root, 'gcp-two')
    mkdirSync(dir, { recursive: true })
    const s0 = path.join(dir, 'S0.json')
    const s1 = path.join(dir, 'S1.json')
    writeFileSync(s0, SHARD_0.join('\n') + '\n')
    writeFileSync(s1, (SHARD_1[1] as string) + '\n')
    for (const order of [
      [s0, s1],
      [s1, s0],
    ]) {
      const store = path.join(dir, `${path.basename(order[0] as string)}.duckdb`)
      for (const f of order) await ingest(store, [f], 'gcp-vpc')
      expect(await stored(store, true)).toEqual([gcpFlow('SRC', 'S0.json')])
    }
  })

  it('each end named by one record only: the flow takes a name from each (a names tuple the store had not)', async () => {
    const dir = path.join(root, 'gcp-names')
    mkdirSync(dir, { recursive: true })
    const s0 = path.join(dir, 'S0.json')
    const s1 = path.join(dir, 'S1.json')
    // the api VM's report names only itself; the db VM's report of the reply names only itself
    const selfOnly = (line: string): string => {
      const o = JSON.parse(line) as { jsonPayload: { dest_instance?: unknown } }
      delete o.jsonPayload.dest_instance
      return JSON.stringify(o)
    }
    writeFileSync(s0, selfOnly(SHARD_0[0] as string) + '\n')
    writeFileSync(s1, selfOnly(SHARD_1[1] as string) + '\n')
    const store = path.join(dir, 's.duckdb')
    await ingest(store, [s1], 'gcp-vpc')
    const out = await ingest(store, [s0], 'gcp-vpc')
    expect(out.notes['paired-across-files']).toBe(1)
    expect(await stored(store, true)).toEqual([gcpFlow('SRC', 'S0.json')])
  })

  it('two ingests with a duplicate report: the report is dropped across ingests, as in one ingest (store gcp_reports)', async () => {
    const { dir, s0, s1 } = shards('gcp-two-dup')
    const store = path.join(dir, 's.duckdb')
    await ingest(store, [s0], 'gcp-vpc')
    const out = await ingest(store, [s1], 'gcp-vpc')
    expect(out.notes).toMatchObject({ 'duplicate-report': 1, 'paired-across-files': 1 })
    // what one ingest of shard 0, shard 1 stores (above)
    expect(await stored(store, true)).toEqual([gcpFlow('SRC', path.basename(s0))])
  })
})

describe('one connection key with more halves than two, each in a file of its own', () => {
  // request, reply, request, reply, each a second after the other: in time order each links to
  // the next, and reading pairs the first with the second and the third with the fourth
  const records = {
    a: '2 123456789012 eni-0a 10.0.1.7 10.0.2.9 49152 443 6 1 100 1790000000 1790000010 ACCEPT OK',
    b: '2 123456789012 eni-0b 10.0.2.9 10.0.1.7 443 49152 6 2 200 1790000001 1790000011 ACCEPT OK',
    c: '2 123456789012 eni-0c 10.0.1.7 10.0.2.9 49152 443 6 4 400 1790000002 1790000012 ACCEPT OK',
    d: '2 123456789012 eni-0d 10.0.2.9 10.0.1.7 443 49152 6 8 800 1790000003 1790000013 ACCEPT OK',
  }
  const flow = (start: number, end: number, packets: number, file: string, half: number): Row => ({
    src: '10.0.1.7',
    dst: '10.0.2.9',
    sp: 49152,
    dp: 443,
    proto: 6,
    start,
    end,
    packets,
    bytes: packets * 100,
    action: 'accept',
    direction: 'client-to-server',
    file,
    line: 1,
    half,
  })
  // worked out by hand: a+b (0–11 s, 3 packets, a.log), c+d (2–13 s, 12 packets, c.log)
  const four = [
    flow(1790000000000, 1790000011000, 3, 'a.log', 0),
    flow(1790000002000, 1790000013000, 12, 'c.log', 0),
  ]
  // without d: a+b, and c alone
  const three = [
    flow(1790000000000, 1790000011000, 3, 'a.log', 0),
    flow(1790000002000, 1790000012000, 4, 'c.log', 1),
  ]
  // c, then b: they pair (1–12 s, 6 packets, the client's c.log), and a, ingested last, finds
  // no half left: a merge is not undone (README "Limits today")
  const threeLate = [
    flow(1790000000000, 1790000010000, 1, 'a.log', 1),
    flow(1790000001000, 1790000012000, 6, 'c.log', 0),
  ]

  function files(name: string, keys: readonly (keyof typeof records)[]): Record<string, string> {
    const dir = path.join(root, name)
    mkdirSync(dir, { recursive: true })
    const out: Record<string, string> = {}
    for (const k of keys) {
      out[k] = path.join(dir, `${k}.log`)
      writeFileSync(out[k], records[k] + '\n')
    }
    return out
  }

  for (const [name, keys, orders, expected] of [
    ['four', ['a', 'b', 'c', 'd'], ['abcd', 'dcba', 'acbd', 'cadb'], four],
    ['three', ['a', 'b', 'c'], ['abc', 'cba', 'acb'], three],
  ] as const) {
    for (const order of orders) {
      it(`${name} halves, one ingest each in the order ${order}, and all in one ingest`, async () => {
        const f = files(`chain-${name}-${order}`, keys)
        const one = path.join(root, `chain-${name}-${order}`, 'one.duckdb')
        const each = order.split('')
        for (const k of each) await ingest(one, [f[k] as string], 'aws-vpc')
        expect(await stored(one)).toEqual(order === 'cba' ? threeLate : expected)
        const run = path.join(root, `chain-${name}-${order}`, 'run.duckdb')
        await ingest(
          run,
          each.map((k) => f[k] as string),
          'aws-vpc',
        )
        expect(await stored(run)).toEqual(expected)
      })
    }
  }
})
