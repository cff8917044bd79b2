/**
 * @module The aggregation benchmark (`npm run bench -- aggregate`): 3 000 000 synthetic flows
 * (AWS VPC flow log v2, fixed seed 42, `BENCH_SCALE` scales the count) grouped by (source
 * address, destination address, destination port, protocol) three ways, on the same flows:
 *
 * - Bulkhead: every record loaded as one flow into the DuckDB flow store (`appendFlows`, timed
 *   apart; `bulkhead ingest` would pair the two halves of a connection into one flow, which is
 *   another grouping), then the GROUP BY with the edge counters (flows, packets, bytes, first
 *   and last seen) through `FlowStore.query`.
 * - DuckDB alone: `read_csv` of the flow log file + the same GROUP BY.
 * - nfdump: the same flows sent as NetFlow v5 datagrams over UDP on 127.0.0.1 to `nfcapd`, then
 *   `nfdump -R DIR -A srcip,dstip,dstport,proto`; skipped with a reason when nfdump is missing and
 *   the bench cannot install it.
 *
 * Each tool's group count is reported; `groupsAgree` says whether all agree. Times are seconds,
 * rates flows per second.
 * @remarks DESIGN.md "Storage and scale"; issue 10 item 5.
 */
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { DuckDBInstance } from '@duckdb/node-api'
import type { Flow } from '../src/core/index.js'
import { openDuckDbStore } from '../src/store/duckdb/store.js'
import { writeAwsVpcFile } from './generate.js'
import {
  captureV5,
  ensureNfdump,
  nfcapdFlows,
  nfdumpAggregate,
  nfdumpVersion,
  type V5Flow,
} from './nfcapd.js'

/** Flows at scale 1. */
export const AGGREGATE_FLOWS = 3_000_000

const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d
const log = (line: string): void => {
  process.stderr.write(`[aggregate] ${line}\n`)
}

/** The key and counters every tool computes, as one SQL select over columns named by `c`. */
function groupSql(
  from: string,
  c: Record<'src' | 'dst' | 'dport' | 'proto' | 'pk' | 'by' | 's' | 'e', string>,
): string {
  return `SELECT count(*) AS groups, sum(n) AS flows FROM (
    SELECT ${c.src}, ${c.dst}, ${c.dport}, ${c.proto}, count(*) AS n, sum(${c.pk}) AS packets,
      sum(${c.by}) AS bytes, min(${c.s}) AS first_seen, max(${c.e}) AS last_seen
    FROM ${from} GROUP BY ${c.src}, ${c.dst}, ${c.dport}, ${c.proto})`
}

/** The records of an AWS VPC v2 file (header skipped) as NetFlow v5 flows. */
async function* awsFlows(file: string): AsyncGenerator<V5Flow> {
  const rl = createInterface({ input: createReadStream(file, 'latin1'), crlfDelay: Infinity })
  let first = true
  for await (const line of rl) {
    if (first) {
      first = false
      continue
    }
    const f = line.split(' ')
    if (f.length < 14) continue
    yield {
      src: f[3] ?? '',
      dst: f[4] ?? '',
      srcPort: Number(f[5]),
      dstPort: Number(f[6]),
      protocol: Number(f[7]),
      packets: Number(f[8]),
      bytes: Number(f[9]),
      start: Number(f[10]) * 1000,
      end: Number(f[11]) * 1000,
    }
  }
}

/** The records of an AWS VPC v2 file as Bulkhead flows, one per record, direction unknown. */
async function* storeFlows(file: string): AsyncGenerator<Flow> {
  let line = 1
  const source = { format: 'aws-vpc', file }
  const rl = createInterface({ input: createReadStream(file, 'latin1'), crlfDelay: Infinity })
  for await (const text of rl) {
    line++
    const f = text.split(' ')
    if (f.length < 14 || f[0] !== '2') continue
    yield {
      src: f[3] ?? '',
      dst: f[4] ?? '',
      srcPort: Number(f[5]),
      dstPort: Number(f[6]),
      protocol: Number(f[7]),
      packets: Number(f[8]),
      bytes: Number(f[9]),
      start: Number(f[10]) * 1000,
      end: Number(f[11]) * 1000,
      observedAction: f[12] === 'REJECT' ? 'reject' : 'accept',
      direction: 'unknown',
      source: { ...source, line },
    }
  }
}

/** Runs the aggregation benchmark at `scale` (flows = 3 000 000 × scale). */
export async function benchAggregate(scale: number): Promise<Record<string, unknown>> {
  const records = Math.max(1000, Math.round(AGGREGATE_FLOWS * scale))
  const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-bench-aggregate-'))
  try {
    const file = path.join(dir, 'flows.log')
    let t = performance.now()
    const gen = writeAwsVpcFile(file, records, 42)
    log(
      `generated ${gen.records} flows (${(gen.bytes / 1e6).toFixed(0)} MB) in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    )

    // Bulkhead: every record into the flow store, then the GROUP BY through the FlowStore
    const store = await openDuckDbStore(path.join(dir, 'store.duckdb'))
    let bulkhead: { groups: number; flows: number; seconds: number }
    let loaded = 0
    let loadSeconds = 0
    try {
      t = performance.now()
      loaded = await store.appendFlows(storeFlows(file))
      loadSeconds = (performance.now() - t) / 1000
      log(`bulkhead load: ${loaded} flows in ${loadSeconds.toFixed(1)} s`)
      t = performance.now()
      const [row] = await store.query<{ groups: unknown; flows: unknown }>(
        groupSql('flows', {
          src: 'src',
          dst: 'dst',
          dport: 'dst_port',
          proto: 'protocol',
          pk: 'packets',
          by: 'bytes',
          s: 'start_ms',
          e: 'end_ms',
        }),
      )
      bulkhead = {
        groups: Number(row?.groups ?? 0),
        flows: Number(row?.flows ?? 0),
        seconds: (performance.now() - t) / 1000,
      }
    } finally {
      await store.close()
    }
    log(`bulkhead group by: ${bulkhead.groups} groups in ${bulkhead.seconds.toFixed(2)} s`)

    // DuckDB alone: read_csv + GROUP BY
    const instance = await DuckDBInstance.create(':memory:')
    const conn = await instance.connect()
    t = performance.now()
    const reader = await conn.runAndReadAll(
      groupSql(
        `read_csv('${file.replaceAll("'", "''")}', delim = ' ', header = true, auto_detect = false,
           columns = {'version': 'UTINYINT', 'account_id': 'VARCHAR', 'interface_id': 'VARCHAR',
                      'srcaddr': 'VARCHAR', 'dstaddr': 'VARCHAR', 'srcport': 'USMALLINT', 'dstport': 'USMALLINT',
                      'protocol': 'UTINYINT', 'packets': 'UBIGINT', 'bytes': 'UBIGINT', 'start': 'BIGINT',
                      'end': 'BIGINT', 'action': 'VARCHAR', 'log_status': 'VARCHAR'})`,
        {
          src: 'srcaddr',
          dst: 'dstaddr',
          dport: 'dstport',
          proto: 'protocol',
          pk: 'packets',
          by: 'bytes',
          s: '"start"',
          e: '"end"',
        },
      ),
    )
    const duckSeconds = (performance.now() - t) / 1000
    const duckRow = reader.getRows()[0]
    const duck = { groups: Number(duckRow?.[0] ?? 0), flows: Number(duckRow?.[1] ?? 0) }
    conn.closeSync()
    instance.closeSync()
    log(`duckdb read_csv + group by: ${duck.groups} groups in ${duckSeconds.toFixed(2)} s`)

    // nfdump on the same flows in nfcapd files
    let nfdump: Record<string, unknown>
    const why = ensureNfdump(log)
    if (why !== undefined) {
      nfdump = { skipped: why }
      log(`nfdump skipped: ${why}`)
    } else {
      const capDir = path.join(dir, 'nfcapd')
      mkdirSync(capDir)
      const boot = Date.UTC(2026, 9, 31, 23) // an hour before the synthetic day
      const cap = await captureV5(awsFlows(file), capDir, { boot, rate: 12_000, log })
      const fileBytes = cap.files.reduce((n, f) => n + statSync(f).size, 0)
      const agg = await nfdumpAggregate(capDir)
      log(
        `nfdump -A srcip,dstip,dstport,proto: ${agg.groups} groups in ${agg.seconds.toFixed(2)} s`,
      )
      nfdump = {
        version: nfdumpVersion(),
        command: 'nfdump -R DIR -A srcip,dstip,dstport,proto -q -o csv',
        conversion: {
          how: 'NetFlow v5 datagrams over UDP to nfcapd -b 127.0.0.1 -p PORT -w DIR -B 8388608',
          flowsSent: cap.flows,
          flowsStored: nfcapdFlows(cap.files) ?? 'unknown (nfdump -I printed no Flows: line)',
          datagrams: cap.datagrams,
          seconds: round(cap.seconds),
          nfcapdFiles: cap.files.length,
          nfcapdBytes: fileBytes,
        },
        seconds: round(agg.seconds),
        groups: agg.groups,
        flowsPerSecond: Math.round(cap.flows / agg.seconds),
      }
    }

    const counts = [
      bulkhead.groups,
      duck.groups,
      ...(typeof nfdump['groups'] === 'number' ? [nfdump['groups']] : []),
    ]
    return {
      scale,
      flows: gen.records,
      inputBytes: gen.bytes,
      key: ['src address', 'dst address', 'dst port', 'protocol'],
      bulkhead: {
        what: 'one flow per record into the DuckDB flow store (appendFlows), then GROUP BY through FlowStore.query',
        loadSeconds: round(loadSeconds),
        loadFlowsPerSecond: Math.round(loaded / loadSeconds),
        flowsStored: loaded,
        seconds: round(bulkhead.seconds),
        flowsPerSecond: Math.round(loaded / bulkhead.seconds),
        groups: bulkhead.groups,
        flowsGrouped: bulkhead.flows,
      },
      duckdb: {
        what: 'read_csv of the flow log + GROUP BY (in-memory DuckDB)',
        seconds: round(duckSeconds),
        flowsPerSecond: Math.round(gen.records / duckSeconds),
        groups: duck.groups,
        flowsGrouped: duck.flows,
      },
      nfdump,
      groupsAgree: counts.every((c) => c === counts[0]),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
