// @ts-check
/**
 * @module Bundles the command line into `dist/cli/bulkhead.js` (the package's `bin`), with
 * Rolldown: one file (and a chunk per verb group that `main.ts` loads on demand) instead of the
 * ~330 modules of `dist/` and of zod, yaml, commander, cli-progress and the others that Node
 * resolves, reads, compiles and links one by one at every start. `bulkhead ingest` of a
 * 1 000-record file: 0.30–0.36 → 0.25–0.28 s, `bulkhead eval` on the demo 0.21 → 0.18 s (built
 * CLI, three alternating runs each, 2026-11-25).
 *
 * Rolldown since session 41, rather than esbuild (sessions 39–40): esbuild turns every
 * top-level `const` of a bundle into `var` (by design, with no option against it), and V8 then
 * reads each module-level constant and typed array of the parsers' hot loops from its slot at
 * every use instead of compiling it in; ingesting 1 000 000 Zeek records spent 0.84–0.88 s in the esbuild bundle
 * against 0.79–0.85 s unbundled, 0.78–0.85 s in Rolldown's, which keeps `const` (the summary's
 * `seconds`, ten alternating runs each, 2026-11-25).
 *
 * DuckDB's native library (`@duckdb/node-bindings`) stays outside; its JavaScript API
 * (`@duckdb/node-api`, about 40 CommonJS files) is bundled into the store's chunk, which
 * `src/store/duckdb/api.ts` loads when a store is opened: `bulkhead ingest` of an empty Zeek log
 * 217 → 205 ms (median of 20 runs, 2026-11-25; `require` of the package alone 31–35 ms, of the
 * bundled copy 15–17 ms).
 *
 * The bundle is made from the TypeScript sources (Rolldown compiles them as `tsc` does for
 * `dist/`, each file on its own: the project sets `isolatedModules`), so that its source maps
 * name `src/`.
 *
 * Usage: `node scripts/bundle-cli.mjs [ENTRY [OUTDIR]]` (default `src/cli/main.ts` into
 * `dist/cli`). OUTDIR must be two levels below the package root, as `dist/cli` is: the bundle
 * finds `package.json` (the version) at `../../package.json` as `dist/cli/version.js` does.
 */
import { chmodSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import process from 'node:process'
import { RolldownMagicString, build } from 'rolldown'

const [entry = 'src/cli/main.ts', outdir = 'dist/cli'] = process.argv.slice(2)

/**
 * `src/store/duckdb/api.ts` loads `@duckdb/node-api` with a `require` of its own
 * (`createRequire(import.meta.url)`), which a bundler leaves to Node at run time. In the bundle
 * that call becomes a plain `require`, which Rolldown resolves and bundles (the package is
 * CommonJS: it is wrapped, and runs when the store's chunk is first used, as before).
 * @type {import('rolldown').Plugin}
 */
const bundledDuckDbApi = {
  name: 'bundled-duckdb-api',
  transform(code, id) {
    if (!/[\\/]store[\\/]duckdb[\\/]api\.[jt]s$/.test(id)) return null
    const call = "createRequire(import.meta.url)('@duckdb/node-api')"
    if (!code.includes(call))
      throw new Error(
        `${id} no longer loads @duckdb/node-api with ${call}: update scripts/bundle-cli.mjs`,
      )
    // a magic string, from which Rolldown maps the changed line (the source map stays right)
    return { code: new RolldownMagicString(code).replace(call, "require('@duckdb/node-api')") }
  },
}

// the chunks of an earlier bundle (their names change with their contents)
try {
  for (const f of readdirSync(outdir)) if (/^bulkhead[.-]/.test(f)) rmSync(join(outdir, f))
} catch (err) {
  if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'ENOENT') throw err
}

await build({
  input: { bulkhead: entry },
  platform: 'node',
  // the oldest Node that package.json's `engines` allows (as tsconfig's ES2022 target for `dist/`)
  transform: { target: 'node20.19' },
  // `import './x.js'` names the TypeScript file `./x.ts` (NodeNext resolution)
  resolve: { extensionAlias: { '.js': ['.ts', '.js'] } },
  external: ['@duckdb/node-bindings'],
  plugins: [bundledDuckDbApi],
  logLevel: 'warn',
  output: {
    dir: outdir,
    format: 'esm',
    entryFileNames: '[name].js',
    chunkFileNames: 'bulkhead-[hash].js',
    sourcemap: true,
  },
})
chmodSync(join(outdir, 'bulkhead.js'), 0o755)
