/**
 * @module Benchmark `recommend`: {@link recommend} (the function `bulkhead recommend` calls, with
 * the CLI's default options) on the bench estate of `bench/write-estate.ts` at 5 000 / 10 000 /
 * 20 000 workloads (times `BENCH_SCALE`, at least 200), with five flows per workload (fixed seeds;
 * 20 000 workloads and 100 000 flows is the estate on which session 36 found `recommend` running
 * out of memory). Each size is written to a temporary workspace and ingested with the built CLI;
 * then a child process (this file run as a script, so that each size has its own heap and peak
 * RSS) loads the workspace and its dependency map as the CLI does and times `recommend` in
 * process, then the rendering of the policy files.
 *
 * Run with `npm run bench -- recommend`. A size whose child fails (out of memory, say) is
 * reported with its exit status and the end of its standard error, and the larger ones are not
 * tried. Times are seconds, memory bytes.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import v8 from 'node:v8'
import { recommend, renderRecommendation } from '../src/recommend/index.js'
import { loadDependencyMap } from '../src/cli/dependency-map.js'
import { loadOrThrow } from '../src/cli/workspace.js'
import { build, runCli } from './cli-process.js'
import { writeEstate } from './write-estate.js'

/** Workloads per size at scale 1; flows are {@link FLOWS_PER_WORKLOAD} times as many. */
const SIZES = [5_000, 10_000, 20_000]
const FLOWS_PER_WORKLOAD = 5

/** What the child measures in one workspace. */
export interface RecommendMeasure {
  /** Building the dependency map from the store (`loadDependencyMap`, as the CLI). */
  readonly mapSeconds: number
  readonly edges: number
  /** `recommend(map, inventory, options)`: wall and CPU (user + system) of the process. */
  readonly recommendSeconds: number
  readonly recommendCpuSeconds: number
  /** `renderRecommendation`: the policy files' text. */
  readonly renderSeconds: number
  readonly policies: number
  /** Proposed rules (the report's `totals.rules`). */
  readonly rules: number
  readonly coverage: number
  /** Peak resident set size of the child (`process.resourceUsage().maxRSS`), bytes. */
  readonly peakRssBytes: number
  /** V8 heap committed (`total_heap_size`) and used right after `recommend`, before any GC. */
  readonly heapTotalBytes: number
  readonly heapUsedBytes: number
}

/** Figures for one size. */
export interface RecommendCase {
  readonly workloads: number
  readonly flowsWritten: number
  readonly flowsStored: number
  readonly ingestSeconds: number
  /** The child's wall time, start-up and map included. */
  readonly childSeconds: number
  readonly measure?: RecommendMeasure
  /** Set when the child failed: its exit status or signal, and the end of its stderr. */
  readonly failed?: string
}

function log(msg: string): void {
  process.stderr.write(`[bench recommend] ${msg}\n`)
}

const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits

/** Loads the workspace `ws` and times recommend in this process (the child's part). */
async function measure(ws: string): Promise<RecommendMeasure> {
  const { inventory, workspace } = await loadOrThrow(ws, new Date())
  let t = performance.now()
  // the options `bulkhead recommend` passes by default (src/cli/commands/recommend.ts)
  const map = await loadDependencyMap(workspace, inventory, {
    keepPublicIps: false,
    expect: [],
    privateGrouping: 24,
  })
  const mapSeconds = (performance.now() - t) / 1000
  const cpu = process.cpuUsage()
  t = performance.now()
  const result = recommend(map, inventory, {
    granularity: 'identity',
    scopeBy: ['app', 'env'],
    maxPrefix: 24,
    keepPublicIps: false,
    expect: ['monthly'],
    owners: {},
    now: Date.now(),
    includeScans: false,
  })
  const recommendSeconds = (performance.now() - t) / 1000
  const used = process.cpuUsage(cpu)
  const heap = v8.getHeapStatistics()
  t = performance.now()
  const files = renderRecommendation(result)
  const renderSeconds = (performance.now() - t) / 1000
  return {
    mapSeconds: round(mapSeconds),
    edges: map.edges.length,
    recommendSeconds: round(recommendSeconds),
    recommendCpuSeconds: round((used.user + used.system) / 1e6),
    renderSeconds: round(renderSeconds),
    policies: files.size,
    rules: result.report.totals.rules,
    coverage: round(result.report.totals.coverage, 4),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    heapTotalBytes: heap.total_heap_size,
    heapUsedBytes: heap.used_heap_size,
  }
}

/** Runs {@link measure} in a child process (this file as a script, under the same loader). */
function measureInChild(ws: string): {
  seconds: number
  measure?: RecommendMeasure
  failed?: string
} {
  const t = performance.now()
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ws], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const seconds = round((performance.now() - t) / 1000)
  if (r.status !== 0) {
    // V8's "FATAL ERROR: ... JavaScript heap out of memory" (or a thrown error's first line) comes
    // before a long native stack trace: name it, then the end of standard error
    const cause = /^.*(FATAL ERROR|Error:).*$/m.exec(r.stderr)?.[0] ?? ''
    return {
      seconds,
      failed: `exit ${String(r.status)}${r.signal ? ` (${r.signal})` : ''}: ${cause}\n...\n${r.stderr.slice(-1000)}`,
    }
  }
  return { seconds, measure: JSON.parse(r.stdout) as RecommendMeasure }
}

/** Runs the benchmark; each size in a temporary folder (removed afterwards). */
export function benchRecommend(scale: number): Promise<RecommendCase[]> {
  build()
  const out: RecommendCase[] = []
  for (const size of SIZES) {
    const workloads = Math.max(200, Math.round(size * scale))
    const ws = mkdtempSync(path.join(tmpdir(), 'bulkhead-bench-recommend-'))
    try {
      const estate = writeEstate(ws, workloads * FLOWS_PER_WORKLOAD, workloads)
      const ing = runCli(['ingest', '-w', ws, path.join(ws, 'flows.csv'), '-o', 'json'])
      if (ing.status !== 0)
        throw new Error(
          `bulkhead ingest exited ${String(ing.status)}: ${ing.stderr.slice(0, 2000)}`,
        )
      const stored = (JSON.parse(ing.stdout) as { records: number }).records
      const child = measureInChild(ws)
      const m = child.measure
      log(
        m
          ? `${workloads} workloads, ${stored} flows: recommend ${m.recommendSeconds} s (${m.recommendCpuSeconds} s CPU), ${m.rules} rules, peak RSS ${(m.peakRssBytes / 2 ** 20).toFixed(0)} MiB`
          : `${workloads} workloads, ${stored} flows: FAILED ${child.failed ?? ''}`,
      )
      out.push({
        workloads: estate.workloads,
        flowsWritten: estate.flows,
        flowsStored: stored,
        ingestSeconds: round(ing.seconds),
        childSeconds: child.seconds,
        ...(m ? { measure: m } : {}),
        ...(child.failed !== undefined ? { failed: child.failed } : {}),
      })
      if (!m) break
    } finally {
      rmSync(ws, { recursive: true, force: true })
    }
  }
  return Promise.resolve(out)
}

// run as a script (the child): `tsx bench/recommend.ts WORKSPACE` prints one RecommendMeasure
if (
  process.argv[1] !== undefined &&
  path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)
) {
  measure(process.argv[2] ?? '.').then(
    (m) => {
      process.stdout.write(`${JSON.stringify(m)}\n`)
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
      process.exitCode = 1
    },
  )
}
