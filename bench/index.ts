/**
 * @module The benchmark runner: `npm run bench` runs every benchmark, `npm run bench -- ingest`
 * the named ones. Prints ONE JSON document on stdout — the machine and each benchmark's figures —
 * and progress on stderr. `BENCH_SCALE=0.1` shrinks every input tenfold for a quick run.
 * @remarks DESIGN.md "Quality bars": speed targets live here, with fixed seeds, not in tests.
 */
import os from 'node:os'

type Bench = (scale: number) => Promise<unknown>

/**
 * Every benchmark by name. Each takes the scale factor and returns its figures. Modules are
 * imported when their benchmark runs, so `npm run bench -- NAME` loads only that one.
 */
const BENCHMARKS: Readonly<Record<string, () => Promise<Bench>>> = {
  ingest: async () => (await import('./ingest.js')).benchIngest,
  eval: async () => (await import('./eval.js')).benchEval,
  reach: async () => (await import('./reach.js')).benchReach,
  nft: async () => (await import('./nft.js')).benchNft,
  compile: async () => (await import('./compile.js')).benchCompile,
  simulate: async () => (await import('./simulate.js')).benchSimulate,
  'simulate-store': async () => (await import('./simulate-store.js')).benchSimulateStore,
  aggregate: async () => (await import('./aggregate.js')).benchAggregate,
  lint: async () => (await import('./lint.js')).benchLint,
  recommend: async () => (await import('./recommend.js')).benchRecommend,
}

/**
 * The machine the figures were taken on: CPU model and logical cores, memory in bytes, Node.js
 * version, platform, and the 1/5/15-minute load averages (`os.loadavg()`, Unix only) when asked.
 */
export function machine(): {
  cpus: { model: string; count: number }
  memoryBytes: number
  node: string
  platform: string
  loadAverage: readonly number[]
} {
  const cpus = os.cpus()
  return {
    cpus: { model: cpus[0]?.model ?? 'unknown', count: cpus.length },
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const names = argv.length > 0 ? argv : Object.keys(BENCHMARKS)
  const unknown = names.filter((n) => !(n in BENCHMARKS))
  if (unknown.length > 0) {
    process.stderr.write(
      `unknown benchmark: ${unknown.join(', ')} (have: ${Object.keys(BENCHMARKS).join(', ')})\n`,
    )
    return 1
  }
  const scaleText = process.env['BENCH_SCALE'] ?? '1'
  const scale = Number(scaleText)
  if (!Number.isFinite(scale) || scale <= 0) {
    process.stderr.write(`BENCH_SCALE must be a positive number, got "${scaleText}"\n`)
    return 1
  }
  const startedAt = new Date().toISOString()
  const before = machine()
  const results: Record<string, unknown> = {}
  for (const name of names) {
    const load = BENCHMARKS[name] as () => Promise<Bench>
    results[name] = await (await load())(scale)
  }
  // the load average at the start (other work on the machine) and at the end (ours included)
  const doc = {
    machine: { ...before, loadAverageAtEnd: machine().loadAverage },
    scale,
    startedAt,
    finishedAt: new Date().toISOString(),
    benchmarks: results,
  }
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`)
  return 0
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    process.stderr.write(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    )
    process.exitCode = 1
  },
)
