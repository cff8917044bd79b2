/**
 * @module `npm run fuzz`: the fuzz and robustness test files (every test file whose path holds
 * `fuzz` or `robustness`, and the Parquet byte mutations of `aws-parquet`), with many more runs
 * than `npm test` and a seed printed first.
 *
 * Environment: `FC_SEED` (default: a random 31-bit seed), `FUZZ_SCALE` (default 100, the factor
 * on each property's `numRuns`). Arguments are passed to Vitest, e.g. a file to run alone:
 * `npm run fuzz -- test/ingest/fuzz-text.test.ts`. A failure is replayed with the same
 * `FC_SEED` and `FUZZ_SCALE` on the failing file (fast-check also prints the counterexample).
 */
import { spawnSync } from 'node:child_process'
import { randomInt } from 'node:crypto'

const seed = process.env.FC_SEED ?? String(randomInt(0, 2 ** 31 - 1))
const scale = process.env.FUZZ_SCALE ?? '100'
const args = process.argv.slice(2)
const files = args.some((a) => !a.startsWith('-')) ? [] : ['fuzz', 'robustness', 'aws-parquet']

console.log(`fuzz: FC_SEED=${seed} FUZZ_SCALE=${scale}`)
console.log(
  `replay: FC_SEED=${seed} FUZZ_SCALE=${scale} npx vitest run --testTimeout=0 <failing file>`,
)
const r = spawnSync('npx', ['vitest', 'run', '--testTimeout=0', ...files, ...args], {
  stdio: 'inherit',
  env: { ...process.env, FC_SEED: seed, FUZZ_SCALE: scale },
})
console.log(`fuzz: FC_SEED=${seed} FUZZ_SCALE=${scale} exit ${String(r.status ?? 1)}`)
process.exit(r.status ?? 1)
