/**
 * @module Benchmark `ingest`: `bulkhead ingest` throughput on synthetic AWS VPC and Zeek files,
 * against DuckDB's own `read_csv` + GROUP BY on the same AWS file.
 *
 * Runs in-process through `ingestFiles` (src/cli/commands/ingest.ts), the function the CLI's
 * `ingest` action calls, into a fresh on-disk store: parse + orient + pair + store, end to end.
 * Sizes: 5 000 000 AWS records and 1 000 000 Zeek records, times `BENCH_SCALE` (default 1).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { ingestFiles } from '../src/cli/commands/ingest.js'
import { readFlowBatches, readFlowColumns, type FileSummary } from '../src/ingest/read.js'
import { parserFor } from '../src/ingest/registry.js'
import { writeAwsVpcFile, writeZeekConnLog } from './generate.js'

/** Figures of one run; times in seconds, rates in records per second. */
export interface IngestBenchResult {
  readonly scale: number
  readonly aws: {
    readonly records: number
    readonly bytes: number
    readonly generateSeconds: number
    /**
     * Reading only (parse, orient, pair), no store: where the time goes. `parseOnly` is the
     * columnar path `ingest` uses (`readFlowColumns`); `parseOnlyObjects` the flow-object path
     * (`readFlowBatches`, what `flows` and the analysis stages read).
     */
    readonly parseOnly: {
      readonly seconds: number
      readonly cpuSeconds: number
      readonly recordsPerSecond: number
      readonly flows: number
    }
    readonly parseOnlyObjects: {
      readonly seconds: number
      readonly recordsPerSecond: number
      readonly flows: number
    }
    /** `bulkhead ingest` end to end into a fresh store. */
    readonly ingest: {
      readonly seconds: number
      /** CPU time of the process (JS and DuckDB threads): comparable when the machine is loaded. */
      readonly cpuSeconds: number
      readonly recordsPerSecond: number
      readonly flowsStored: number
      readonly flowsStoredPerSecond: number
    }
    /** DuckDB `read_csv` (typed columns) + GROUP BY srcaddr, dstaddr, dstport, protocol. */
    readonly duckdbReadCsvGroupBy: {
      readonly seconds: number
      readonly cpuSeconds: number
      readonly groups: number
      readonly recordsPerSecond: number
    }
    /** ingest seconds / DuckDB seconds (the goal is ≤ 2). */
    readonly ratio: number
    /** ingest CPU seconds / DuckDB CPU seconds. */
    readonly cpuRatio: number
  }
  readonly zeek:
    | {
        readonly records: number
        readonly bytes: number
        readonly seconds: number
        readonly recordsPerSecond: number
        readonly flowsStored: number
      }
    | { readonly skipped: string }
}

function log(msg: string): void {
  process.stderr.write(`[bench ingest] ${msg}\n`)
}

/** CPU seconds (user + system, every thread of the process) since `from`. */
function cpuSince(from: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(from)
  return (u.user + u.system) / 1e6
}

function round(x: number, digits = 3): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

/** Runs the benchmark in a temporary folder (removed afterwards). */
export async function benchIngest(scale: number): Promise<IngestBenchResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-bench-'))
  try {
    const awsRecords = Math.max(1000, Math.round(5_000_000 * scale))
    const zeekRecords = Math.max(1000, Math.round(1_000_000 * scale))
    const awsFile = path.join(dir, 'vpc-flows.log')
    let t = performance.now()
    const aws = writeAwsVpcFile(awsFile, awsRecords, 42)
    const generateSeconds = (performance.now() - t) / 1000
    log(
      `generated ${aws.records} AWS VPC records (${aws.bytes} bytes) in ${generateSeconds.toFixed(2)} s`,
    )

    t = performance.now()
    let objectFlows = 0
    const summaries: FileSummary[] = []
    for await (const batch of readFlowBatches(
      [awsFile],
      { format: 'aws-vpc', strict: false },
      summaries,
    ))
      objectFlows += batch.length
    const objectSeconds = (performance.now() - t) / 1000
    log(`parse only, flow objects: ${objectFlows} flows in ${objectSeconds.toFixed(2)} s`)

    t = performance.now()
    let cpu = process.cpuUsage()
    let flows = 0
    for await (const batch of readFlowColumns([awsFile], { format: 'aws-vpc', strict: false }, []))
      flows += Array.isArray(batch) ? batch.length : batch.n
    const parseSeconds = (performance.now() - t) / 1000
    const parseCpu = cpuSince(cpu)
    log(`parse only, columns: ${flows} flows in ${parseSeconds.toFixed(2)} s`)

    t = performance.now()
    cpu = process.cpuUsage()
    const out = await ingestFiles(
      [{ file: awsFile, format: 'auto' }],
      path.join(dir, 'aws.duckdb'),
      { strict: false, progress: false },
    )
    const ingestSeconds = (performance.now() - t) / 1000
    const ingestCpu = cpuSince(cpu)
    log(
      `ingest: ${out.records} flows stored in ${ingestSeconds.toFixed(2)} s (${ingestCpu.toFixed(2)} s CPU)`,
    )

    const instance = await DuckDBInstance.create(':memory:')
    const conn = await instance.connect()
    t = performance.now()
    cpu = process.cpuUsage()
    const reader = await conn.runAndReadAll(
      `SELECT count(*) AS groups FROM (
         SELECT srcaddr, dstaddr, dstport, protocol, count(*) AS n, sum(bytes) AS bytes
         FROM read_csv('${awsFile.replaceAll("'", "''")}', delim = ' ', header = true, auto_detect = false,
           columns = {'version': 'UTINYINT', 'account_id': 'VARCHAR', 'interface_id': 'VARCHAR',
                      'srcaddr': 'VARCHAR', 'dstaddr': 'VARCHAR', 'srcport': 'USMALLINT', 'dstport': 'USMALLINT',
                      'protocol': 'UTINYINT', 'packets': 'UBIGINT', 'bytes': 'UBIGINT', 'start': 'BIGINT',
                      'end': 'BIGINT', 'action': 'VARCHAR', 'log_status': 'VARCHAR'})
         GROUP BY srcaddr, dstaddr, dstport, protocol)`,
    )
    const duckSeconds = (performance.now() - t) / 1000
    const duckCpu = cpuSince(cpu)
    const groups = Number(reader.getRows()[0]?.[0] ?? 0)
    conn.closeSync()
    instance.closeSync()
    log(
      `duckdb read_csv + group by: ${groups} groups in ${duckSeconds.toFixed(2)} s (${duckCpu.toFixed(2)} s CPU)`,
    )

    let zeek: IngestBenchResult['zeek']
    if (parserFor('zeek')) {
      const zeekFile = path.join(dir, 'conn.log')
      const z = writeZeekConnLog(zeekFile, zeekRecords, 42)
      t = performance.now()
      const zout = await ingestFiles(
        [{ file: zeekFile, format: 'zeek' }],
        path.join(dir, 'zeek.duckdb'),
        { strict: false, progress: false },
      )
      const zs = (performance.now() - t) / 1000
      log(`zeek ingest: ${zout.records} flows in ${zs.toFixed(2)} s`)
      zeek = {
        records: z.records,
        bytes: z.bytes,
        seconds: round(zs),
        recordsPerSecond: Math.round(z.records / zs),
        flowsStored: zout.records,
      }
    } else {
      zeek = { skipped: 'no zeek parser in src/ingest/registry.ts' }
    }

    return {
      scale,
      aws: {
        records: aws.records,
        bytes: aws.bytes,
        generateSeconds: round(generateSeconds),
        parseOnly: {
          seconds: round(parseSeconds),
          cpuSeconds: round(parseCpu),
          recordsPerSecond: Math.round(aws.records / parseSeconds),
          flows,
        },
        parseOnlyObjects: {
          seconds: round(objectSeconds),
          recordsPerSecond: Math.round(aws.records / objectSeconds),
          flows: objectFlows,
        },
        ingest: {
          seconds: round(ingestSeconds),
          cpuSeconds: round(ingestCpu),
          recordsPerSecond: Math.round(aws.records / ingestSeconds),
          flowsStored: out.records,
          flowsStoredPerSecond: Math.round(out.records / ingestSeconds),
        },
        duckdbReadCsvGroupBy: {
          seconds: round(duckSeconds),
          cpuSeconds: round(duckCpu),
          groups,
          recordsPerSecond: Math.round(aws.records / duckSeconds),
        },
        ratio: round(ingestSeconds / duckSeconds, 2),
        cpuRatio: round(ingestCpu / duckCpu, 2),
      },
      zeek,
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
