/**
 * @module The benchmark runner: `npm run bench` runs every benchmark, `npm run bench -- ingest`
 * the named ones. Prints ONE JSON document on stdout — the machine and each benchmark's figures —
 * and progress on stderr. `BENCH_SCALE=0.1` shrinks every input tenfold for a quick run.
 * @remarks DESIGN.md "Quality bars": speed targets live here, with fixed seeds, not in tests.
 */
import os from 'node:os'
import { benchEval } from './eval.js'
import { benchIngest } from './ingest.js'
import { benchNft } from './nft.js'
import { benchReach } from './reach.js'

/** Every benchmark by name. Each takes the scale factor and returns its figures. */
const BENCHMARKS: Readonly<Record<string, (scale: number) => Promise<unknown>>> = {
  ingest: benchIngest,
  eval: benchEval,
  reach: benchReach,
  nft: benchNft,
}

/** The machine the figures were taken on. */
export function machine(): {
  cpus: { model: string; count: number }
  memoryBytes: number
  node: string
  platform: string
} {
  const cpus = os.cpus()
  return {
    cpus: { model: cpus[0]?.model ?? 'unknown', count: cpus.length },
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
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
  const results: Record<string, unknown> = {}
  for (const name of names)
    results[name] = await (BENCHMARKS[name] as (s: number) => Promise<unknown>)(scale)
  process.stdout.write(
    `${JSON.stringify({ machine: machine(), scale, startedAt, benchmarks: results }, null, 2)}\n`,
  )
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
