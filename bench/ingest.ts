/**
 * @module Benchmark `ingest`: `bulkhead ingest` throughput on synthetic AWS VPC and Zeek files,
 * against DuckDB's own `read_csv` + GROUP BY on the same AWS file.
 *
 * Measured twice, into a fresh on-disk store each time (parse + orient + pair + store, end to
 * end): the built CLI (`node dist/cli/main.js ingest FILE -o json`) in its own process, as users
 * run it, on which the ratio is judged; and in-process through `ingestFiles`
 * (src/cli/commands/ingest.ts), the function the CLI's `ingest` action calls.
 * Sizes: 5 000 000 AWS records and 1 000 000 Zeek records, times `BENCH_SCALE` (default 1).
 */
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { ingestFiles } from '../src/cli/commands/ingest.js'
import { readFlowBatches, readFlowColumns, type FileSummary } from '../src/ingest/read.js'
import { parserFor } from '../src/ingest/registry.js'
import { build, runCli } from './cli-process.js'
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
    /**
     * `bulkhead ingest FILE -o json` as users run it: the built CLI (`dist/cli/main.js`, rebuilt
     * before the run) in its own process, into a fresh workspace; includes the process start.
     * The ratio is judged on this figure.
     */
    readonly cli: {
      readonly seconds: number
      /** CPU of the child process (all its threads), from /proc; null where /proc is missing. */
      readonly cpuSeconds: number | null
      readonly recordsPerSecond: number
      readonly flowsStored: number
    }
    /**
     * `ingestFiles` (what the CLI's `ingest` action calls) in this process, from the TypeScript
     * sources under tsx.
     */
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
    /** CLI ingest seconds / DuckDB seconds (the goal is ≤ 2). */
    readonly ratio: number
    /** CLI ingest CPU seconds / DuckDB CPU seconds (in-process figures where /proc is missing). */
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

/**
 * Writes `file`'s dirty pages to disk, so that the generator's write-back (560 MB for the AWS
 * file) does not compete with the timed phases for the disk and the CPU.
 */
function flushToDisk(file: string): void {
  const fd = openSync(file, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** Runs `bulkhead ingest FILE -w WS -o json` in a child process; its JSON output and times. */
function ingestWithCli(
  file: string,
  ws: string,
): { seconds: number; cpuSeconds: number | null; records: number } {
  mkdirSync(ws, { recursive: true })
  const r = runCli(['ingest', file, '-w', ws, '-o', 'json'])
  if (r.status !== 0) throw new Error(`bulkhead ingest exited ${String(r.status)}: ${r.stderr}`)
  const out = JSON.parse(r.stdout) as { records: number }
  return { seconds: r.seconds, cpuSeconds: r.cpuSeconds, records: out.records }
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
    flushToDisk(awsFile)
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

    t = performance.now()
    build()
    log(`built dist/ in ${((performance.now() - t) / 1000).toFixed(1)} s`)
    const cli = ingestWithCli(awsFile, path.join(dir, 'ws'))
    log(
      `bulkhead ingest (built CLI, own process): ${cli.records} flows stored in ${cli.seconds.toFixed(2)} s (${cli.cpuSeconds?.toFixed(2) ?? '?'} s CPU)`,
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
      flushToDisk(zeekFile)
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
        cli: {
          seconds: round(cli.seconds),
          cpuSeconds: cli.cpuSeconds === null ? null : round(cli.cpuSeconds),
          recordsPerSecond: Math.round(aws.records / cli.seconds),
          flowsStored: cli.records,
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
        ratio: round(cli.seconds / duckSeconds, 2),
        cpuRatio: round((cli.cpuSeconds ?? ingestCpu) / duckCpu, 2),
      },
      zeek,
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
