/**
 * @module Benchmark `simulate-store`: `bulkhead simulate` from the flow store, as users run it
 * (the built CLI in its own process), over the bench estate of `bench/write-estate.ts`: 20 000
 * workloads, 2 000 rules, 2 000 000 flows over 30 days (times `BENCH_SCALE`) ingested into a fresh
 * store, then `simulate --at 2026-11-15` with `-o text` and `-o json` written to /dev/null.
 *
 * Each format is run `RUNS` times, alternating, since one run's wall time moves with the load of
 * the machine; CPU seconds (every thread of the child) are the steadier figure.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { build, runCli, type CliRun } from './cli-process.js'
import { writeEstate } from './write-estate.js'

const RUNS = 2

/** Figures of one run; times in seconds. */
export interface SimulateStoreBenchResult {
  readonly scale: number
  readonly flowsWritten: number
  readonly workloads: number
  readonly policies: number
  /** `bulkhead ingest -w WS WS/flows.csv -o json` (built CLI). */
  readonly ingest: {
    readonly seconds: number
    readonly cpuSeconds: number | null
    readonly flowsStored: number
  }
  /** From `simulate -o json` of the first run: what was judged. */
  readonly judged: { readonly flows: number; readonly deniedEdges: number }
  /** Per output format, one entry per run, in run order. */
  readonly simulate: Readonly<
    Record<
      'text' | 'json',
      readonly { readonly seconds: number; readonly cpuSeconds: number | null }[]
    >
  >
}

function log(msg: string): void {
  process.stderr.write(`[bench simulate-store] ${msg}\n`)
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

function checked(what: string, r: CliRun, ok: readonly number[] = [0]): CliRun {
  if (r.status === null || !ok.includes(r.status))
    throw new Error(`${what} exited ${String(r.status)}: ${r.stderr.slice(0, 2000)}`)
  return r
}

/**
 * What the text report at `file` says was judged: its "simulated N flows" and "denied flows by
 * edge (N edges)" lines, read from the first 64 KiB (the summary comes before the edges).
 */
function judgedOf(file: string): { flows: number; deniedEdges: number } {
  const fd = openSync(file, 'r')
  const buf = Buffer.alloc(1 << 16)
  const n = readSync(fd, buf, 0, buf.length, 0)
  closeSync(fd)
  const head = buf.subarray(0, n).toString('utf8')
  const number = (re: RegExp): number => Number((re.exec(head)?.[1] ?? 'NaN').replaceAll(' ', ''))
  return {
    flows: number(/^simulated ([\d ]+) flows/m),
    deniedEdges: number(/^denied flows by edge \(([\d ]+) edges?\)/m),
  }
}

/** Runs the benchmark in a temporary folder (removed afterwards). */
export function benchSimulateStore(scale: number): Promise<SimulateStoreBenchResult> {
  return Promise.resolve(run(scale))
}

function run(scale: number): SimulateStoreBenchResult {
  const ws = mkdtempSync(path.join(tmpdir(), 'bulkhead-bench-store-'))
  try {
    const count = Math.max(10_000, Math.round(2_000_000 * scale))
    let t = performance.now()
    const estate = writeEstate(ws, count)
    log(`wrote ${estate.flows} flows in ${((performance.now() - t) / 1000).toFixed(1)} s`)
    t = performance.now()
    build()
    log(`built dist/ in ${((performance.now() - t) / 1000).toFixed(1)} s`)

    const ing = checked(
      'bulkhead ingest',
      runCli(['ingest', '-w', ws, path.join(ws, 'flows.csv'), '-o', 'json']),
    )
    const stored = (JSON.parse(ing.stdout) as { records: number }).records
    log(`ingest: ${stored} flows stored in ${ing.seconds.toFixed(1)} s`)

    // the first text report goes to a file, whose head says what was judged; the rest to /dev/null
    const firstText = path.join(ws, 'simulate.txt')
    const textFd = openSync(firstText, 'w')
    const devNull = openSync('/dev/null', 'w')
    const simulate: Record<'text' | 'json', { seconds: number; cpuSeconds: number | null }[]> = {
      text: [],
      json: [],
    }
    try {
      for (let i = 0; i < RUNS; i++)
        for (const format of ['text', 'json'] as const) {
          const r = checked(
            `bulkhead simulate -o ${format}`,
            runCli(
              ['simulate', '-w', ws, '--at', '2026-11-15', '-o', format],
              i === 0 && format === 'text' ? textFd : devNull,
            ),
          )
          simulate[format].push({
            seconds: round(r.seconds),
            cpuSeconds: r.cpuSeconds === null ? null : round(r.cpuSeconds),
          })
          log(
            `simulate -o ${format}: ${r.seconds.toFixed(1)} s (${r.cpuSeconds?.toFixed(1) ?? '?'} s CPU)`,
          )
        }
    } finally {
      closeSync(devNull)
      closeSync(textFd)
    }
    const judged = judgedOf(firstText)
    return {
      scale,
      flowsWritten: estate.flows,
      workloads: estate.workloads,
      policies: estate.policies,
      ingest: {
        seconds: round(ing.seconds),
        cpuSeconds: ing.cpuSeconds === null ? null : round(ing.cpuSeconds),
        flowsStored: stored,
      },
      judged,
      simulate,
    }
  } finally {
    rmSync(ws, { recursive: true, force: true })
  }
}
