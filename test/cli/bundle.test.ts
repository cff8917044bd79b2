/**
 * The bundled command line (`scripts/bundle-cli.mjs`, what `npm run build` writes to
 * `dist/cli/bulkhead.js`, the package's `bin`): bundled here from the sources with the same
 * script into a folder laid out as `dist/cli` is, then run as a process. Its answers must be
 * those of the CLI run in process, including what it loads at run time: the version from
 * `package.json`, DuckDB (its native library, loaded from `node_modules` when a store opens; its
 * JavaScript API is bundled), the verbs' on-demand chunks, and cytoscape's file for
 * `discover -o html`.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli } from '../helpers/cli.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'bulkhead-bundle-'))
// `<dir>/dist/cli/bulkhead.js` with `<dir>/package.json` and `<dir>/node_modules`, as in the
// package: the bundle reads `../../package.json` and resolves packages from its own folder up
const bundle = join(dir, 'dist', 'cli', 'bulkhead.js')
const demo = join(root, 'examples', 'demo')

beforeAll(() => {
  symlinkSync(join(root, 'package.json'), join(dir, 'package.json'))
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'))
  execFileSync(
    process.execPath,
    [
      join(root, 'scripts', 'bundle-cli.mjs'),
      join(root, 'src', 'cli', 'main.ts'),
      join(dir, 'dist', 'cli'),
    ],
    { cwd: root, stdio: 'pipe' },
  )
}, 60_000)
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

/** `bulkhead ...args` from the bundle, in its own process. */
function bundled(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bundle, ...args], { encoding: 'utf8', cwd: root })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('the bundled CLI', () => {
  it('prints the version of package.json', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
    expect(bundled('--version')).toMatchObject({ code: 0, stdout: `${pkg.version}\n` })
  })

  it('answers eval and lint as the CLI in process does (verbs loaded on demand)', async () => {
    const at = ['--at', '2026-11-20T00:00:00Z']
    const evalArgs = ['eval', '10.20.1.11 -> 10.20.2.21 tcp/5432', '-w', demo, '-o', 'json', ...at]
    const lintArgs = ['lint', '-w', demo, '-o', 'json', ...at]
    for (const args of [evalArgs, lintArgs]) {
      const inProcess = await cli(...args)
      const b = bundled(...args)
      expect(b.stderr).toBe(inProcess.stderr)
      expect({ code: b.code, out: JSON.parse(b.stdout) as unknown }).toEqual({
        code: inProcess.code,
        out: JSON.parse(inProcess.stdout) as unknown,
      })
    }
  })

  it('ingests into a store and draws the dependency map (DuckDB and cytoscape found at run time)', () => {
    const ws = join(dir, 'ws')
    mkdirSync(ws)
    const file = join(root, 'test', 'fixtures', 'flows', 'aws-v2.log')
    const ingest = bundled('ingest', file, '-w', ws, '-o', 'json')
    expect(ingest.code).toBe(0)
    const summary = JSON.parse(ingest.stdout) as { files: number; records: number }
    expect(summary).toMatchObject({ files: 1, formats: { 'aws-vpc': summary.records } })
    expect(summary.records).toBeGreaterThan(0)
    const html = bundled('discover', '-w', ws, '-o', 'html')
    expect(html.code).toBe(0)
    expect(html.stdout).toContain('cytoscape')
  }, 60_000)

  it('bundles the JavaScript API of DuckDB and loads only its native library from node_modules', () => {
    const chunks = readdirSync(join(dir, 'dist', 'cli'))
      .filter((f) => f.endsWith('.js'))
      .map((f) => readFileSync(join(dir, 'dist', 'cli', f), 'utf8'))
    const imports = (pkg: string): boolean =>
      chunks.some((c) => c.includes(`from "${pkg}"`) || c.includes(`require("${pkg}")`))
    expect(imports('@duckdb/node-api')).toBe(false)
    expect(imports('@duckdb/node-bindings')).toBe(true)
    // the API's own code is in the store's chunk
    expect(chunks.some((c) => c.includes('class DuckDBInstance'))).toBe(true)
  })

  it('a usage error exits 1 with the message, no stack trace', () => {
    const r = bundled('eval')
    expect(r.code).toBe(1)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })
})
