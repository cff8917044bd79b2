// @ts-check
/**
 * @module Bundles the command line into `dist/cli/bulkhead.js` (the package's `bin`), after
 * `tsc` has built `dist/`: one file (and a chunk per verb group that `main.ts` loads on demand)
 * instead of the ~330 modules of `dist/` and of zod, yaml, commander, cli-progress and the others
 * that Node resolves, reads, compiles and links one by one at every start. `bulkhead ingest` of a
 * 1 000-record file: 0.30–0.36 → 0.25–0.28 s, `bulkhead eval` on the demo 0.21 → 0.18 s (built
 * CLI, three alternating runs each, 2026-11-25). `@duckdb/node-api` stays outside: `src/store/duckdb/api.ts`
 * loads it with `require` when a store is opened.
 *
 * Usage: `node scripts/bundle-cli.mjs [ENTRY [OUTDIR]]` (default `dist/cli/main.js` into
 * `dist/cli`). OUTDIR must be two levels below the package root, as `dist/cli` is: the bundle
 * finds `package.json` (the version) at `../../package.json` as `dist/cli/version.js` does.
 */
import { readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import process from 'node:process'
import { build } from 'esbuild'

const [entry = 'dist/cli/main.js', outdir = 'dist/cli'] = process.argv.slice(2)

// the chunks of an earlier bundle (their names change with their contents)
try {
  for (const f of readdirSync(outdir)) if (/^bulkhead[.-]/.test(f)) rmSync(join(outdir, f))
} catch (err) {
  if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'ENOENT') throw err
}

await build({
  entryPoints: { bulkhead: entry },
  outdir,
  bundle: true,
  splitting: true,
  chunkNames: 'bulkhead-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // the input files' own source maps (tsc's) are followed: stack traces still name src/
  sourcemap: true,
  packages: 'bundle',
  external: ['@duckdb/*'],
  // CommonJS code in the bundle (commander, cli-progress) calls `require` for Node's modules
  banner: {
    js: "import { createRequire as __bulkheadRequire } from 'node:module'; const require = __bulkheadRequire(import.meta.url);",
  },
  logLevel: 'warning',
})
