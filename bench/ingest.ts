/**
 * @module Benchmark `ingest`: `bulkhead ingest` throughput on synthetic AWS VPC and Zeek files,
 * against DuckDB's own `read_csv` + GROUP BY on the same AWS file.
 *
 * Measured twice, into a fresh on-disk store each time (parse + orient + pair + store, end to
 * end): the built CLI (`node dist/cli/bulkhead.js ingest FILE -o json`) in its own process, as
 * users run it, on which the ratio is judged; and in-process through `ingestFiles`
 * (src/cli/commands/ingest.ts), the function the CLI's `ingest` action calls.
 * Every case runs the built package: `dist/` is rebuilt first, and the in-process cases import
 * `ingestFiles` and the readers from `dist/` (tsc's output, what users' Node runs), not the
 * sources through tsx: tsx's per-file transform (esbuild, with `keepNames`) ran the same reading
 * 10–15 % slower (reading only, 5 000 000 AWS records 2.61–2.69 s under tsx against 2.23–2.26 s
 * from `dist/`; 1 000 000 Zeek records 0.56–0.58 against 0.48–0.52 s; three runs each, 2026-11-25).
 * Sizes: 5 000 000 AWS records, 1 000 000 Zeek records, and 1 000 000 AWS records in 500 small
 * files (and in one file, to compare), times `BENCH_SCALE` (default 1).
 * The files are written first, each by a child process (this file run as a script:
 * `tsx bench/ingest.ts aws|zeek|aws-files FILE RECORDS SEED`): written in this process, the
 * generator's garbage was collected during the measured run that followed (1 000 000 Zeek
 * records in process: 0.88–0.92 s after a fresh start, 1.01–1.09 s right after writing the
 * file, three runs each, 2026-11-25).
 */
import { execFileSync, spawnSync } from 'node:child_process'
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { DuckDBInstance } from '@duckdb/node-api'
import { pathToFileURL } from 'node:url'
import type * as IngestCommand from '../src/cli/commands/ingest.js'
import type * as Read from '../src/ingest/read.js'
import type * as Registry from '../src/ingest/registry.js'
import { ROOT, build, runCli } from './cli-process.js'
import { writeAwsVpcFile, writeZeekConnLog, type Generated } from './generate.js'

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
     * `bulkhead ingest FILE -o json` as users run it: the built CLI (`dist/cli/bulkhead.js`,
     * rebuilt before the run) in its own process, into a fresh workspace; includes the process
     * start.
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
     * `ingestFiles` (what the CLI's `ingest` action calls) in this process, from the built
     * `dist/`.
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
  /**
   * Many small files (AWS VPC, {@link SMALL_FILE_RECORDS} records each, as an interface's hourly
   * files are), `ingestFiles` in this process, against the same records in one file: what each
   * file costs on top of its records (fingerprint, detection, a reader and pairer of its own,
   * pairing across files in the store).
   */
  readonly smallFiles: {
    readonly files: number
    readonly records: number
    readonly seconds: number
    readonly recordsPerSecond: number
    /** The same records in one file (one header line), in this process. */
    readonly oneFileSeconds: number
    /** (seconds − oneFileSeconds) / files, in milliseconds. */
    readonly msPerFile: number
  }
  readonly zeek:
    | {
        readonly records: number
        readonly bytes: number
        /** `ingestFiles` in this process (as `aws.ingest`), after the AWS cases. */
        readonly seconds: number
        readonly recordsPerSecond: number
        readonly flowsStored: number
        /** `bulkhead ingest FILE -o json`, the built CLI in its own process (as `aws.cli`). */
        readonly cli: {
          readonly seconds: number
          readonly cpuSeconds: number | null
          readonly recordsPerSecond: number
        }
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

/** The flow files this benchmark writes (`aws-files`: a folder of small AWS files, below). */
type FileKind = 'aws' | 'zeek' | 'aws-files'

/** Records in each file of the small-files case. */
const SMALL_FILE_RECORDS = 2000

/**
 * Writes `records` AWS records as files of {@link SMALL_FILE_RECORDS} records into the folder
 * `dir` (`small-00000.log`, …, each with its header line and seed `seed + i`), and the same
 * records in one file beside it, `dir.log`, under one header line.
 */
function writeSmallFiles(dir: string, records: number, seed: number): Generated {
  mkdirSync(dir, { recursive: true })
  const files = Math.max(1, Math.round(records / SMALL_FILE_RECORDS))
  const bodies: Buffer[] = []
  let header = ''
  let written = 0
  let bytes = 0
  for (let i = 0; i < files; i++) {
    const file = path.join(dir, `small-${String(i).padStart(5, '0')}.log`)
    const g = writeAwsVpcFile(file, SMALL_FILE_RECORDS, seed + i)
    written += g.records
    bytes += g.bytes
    const text = readFileSync(file)
    const lf = text.indexOf(10)
    header = text.subarray(0, lf + 1).toString('utf8')
    bodies.push(text.subarray(lf + 1))
  }
  writeFileSync(`${dir}.log`, Buffer.concat([Buffer.from(header), ...bodies]))
  return { file: dir, records: written, bytes }
}

function writeFlowFile(kind: FileKind, file: string, records: number, seed: number): Generated {
  if (kind === 'aws-files') return writeSmallFiles(file, records, seed)
  return kind === 'aws'
    ? writeAwsVpcFile(file, records, seed)
    : writeZeekConnLog(file, records, seed)
}

/**
 * Writes a flow file in a child process (this file as a script, under the same loader) and
 * flushes it to disk; what was written and the seconds it took.
 * @throws Error when the child fails.
 */
function writeInChild(
  kind: FileKind,
  file: string,
  records: number,
  seed: number,
): Generated & { seconds: number } {
  const t = performance.now()
  const r = spawnSync(
    process.execPath,
    [
      ...process.execArgv,
      fileURLToPath(import.meta.url),
      kind,
      file,
      String(records),
      String(seed),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  )
  if (r.status !== 0) throw new Error(`writing ${file} failed (exit ${String(r.status)})`)
  if (kind !== 'aws-files') flushToDisk(file)
  else execFileSync('sync')
  return { ...(JSON.parse(r.stdout) as Generated), seconds: (performance.now() - t) / 1000 }
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

/** A module of the built package, `dist/<file>` (see the module doc: what the cases run). */
async function fromDist<T>(file: string): Promise<T> {
  return (await import(pathToFileURL(path.join(ROOT, 'dist', file)).href)) as T
}

/** Runs the benchmark in a temporary folder (removed afterwards). */
export async function benchIngest(scale: number): Promise<IngestBenchResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-bench-'))
  try {
    let t = performance.now()
    build()
    log(`built dist/ in ${((performance.now() - t) / 1000).toFixed(1)} s`)
    const { ingestFiles } = await fromDist<typeof IngestCommand>('cli/commands/ingest.js')
    const { readFlowBatches, readFlowColumns } = await fromDist<typeof Read>('ingest/read.js')
    const { parserFor } = await fromDist<typeof Registry>('ingest/registry.js')
    const awsRecords = Math.max(1000, Math.round(5_000_000 * scale))
    const zeekRecords = Math.max(1000, Math.round(1_000_000 * scale))
    const smallRecords = Math.max(10 * SMALL_FILE_RECORDS, Math.round(1_000_000 * scale))
    const awsFile = path.join(dir, 'vpc-flows.log')
    const aws = writeInChild('aws', awsFile, awsRecords, 42)
    const generateSeconds = aws.seconds
    log(
      `generated ${aws.records} AWS VPC records (${aws.bytes} bytes) in ${generateSeconds.toFixed(2)} s`,
    )
    const hasZeek = parserFor('zeek') !== undefined
    const zeekFile = path.join(dir, 'conn.log')
    const z = hasZeek ? writeInChild('zeek', zeekFile, zeekRecords, 42) : undefined
    const smallDir = path.join(dir, 'small')
    const small = writeInChild('aws-files', smallDir, smallRecords, 1000)

    t = performance.now()
    let objectFlows = 0
    const summaries: Read.FileSummary[] = []
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
    if (z !== undefined) {
      t = performance.now()
      const zout = await ingestFiles(
        [{ file: zeekFile, format: 'zeek' }],
        path.join(dir, 'zeek.duckdb'),
        { strict: false, progress: false },
      )
      const zs = (performance.now() - t) / 1000
      log(`zeek ingest: ${zout.records} flows in ${zs.toFixed(2)} s`)
      const zcli = ingestWithCli(zeekFile, path.join(dir, 'ws-zeek'))
      log(
        `zeek: bulkhead ingest (built CLI, own process): ${zcli.records} flows stored in ${zcli.seconds.toFixed(2)} s`,
      )
      zeek = {
        records: z.records,
        bytes: z.bytes,
        seconds: round(zs),
        recordsPerSecond: Math.round(z.records / zs),
        flowsStored: zout.records,
        cli: {
          seconds: round(zcli.seconds),
          cpuSeconds: zcli.cpuSeconds === null ? null : round(zcli.cpuSeconds),
          recordsPerSecond: Math.round(z.records / zcli.seconds),
        },
      }
    } else {
      zeek = { skipped: 'no zeek parser in src/ingest/registry.ts' }
    }

    // after the Zeek case, which keeps its place right after the AWS cases: run just before it,
    // this case changed the Zeek figure (0.83–0.86 s against 0.97–1.04 s, 2026-11-25)
    const smallFiles = readdirSync(smallDir)
      .sort()
      .map((f) => ({ file: path.join(smallDir, f), format: 'auto' as const }))
    t = performance.now()
    await ingestFiles(smallFiles, path.join(dir, 'small.duckdb'), {
      strict: false,
      progress: false,
    })
    const smallSeconds = (performance.now() - t) / 1000
    t = performance.now()
    await ingestFiles(
      [{ file: `${smallDir}.log`, format: 'auto' }],
      path.join(dir, 'joined.duckdb'),
      {
        strict: false,
        progress: false,
      },
    )
    const joinedSeconds = (performance.now() - t) / 1000
    log(
      `small files: ${small.records} records in ${smallFiles.length} files in ${smallSeconds.toFixed(2)} s, in one file ${joinedSeconds.toFixed(2)} s`,
    )

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
      smallFiles: {
        files: smallFiles.length,
        records: small.records,
        seconds: round(smallSeconds),
        recordsPerSecond: Math.round(small.records / smallSeconds),
        oneFileSeconds: round(joinedSeconds),
        msPerFile: round(((smallSeconds - joinedSeconds) / smallFiles.length) * 1000, 2),
      },
      zeek,
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

// as a script (writeInChild): `ingest.ts aws|zeek|aws-files FILE RECORDS SEED` writes the file
// (or the folder of small files) and prints what it wrote as JSON
if (
  process.argv[1] !== undefined &&
  path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)
) {
  const [kind, file, records, seed] = process.argv.slice(2)
  if ((kind !== 'aws' && kind !== 'zeek' && kind !== 'aws-files') || file === undefined) {
    process.stderr.write('usage: ingest.ts aws|zeek|aws-files FILE RECORDS SEED\n')
    process.exit(1)
  }
  process.stdout.write(
    JSON.stringify(writeFlowFile(kind, file, Number(records), Number(seed ?? 42))) + '\n',
  )
}
