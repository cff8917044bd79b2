/**
 * A full disk while `ingest` writes the store is `io/write-failed` at the store (exit 1, the
 * file listed as failed, the store keeping what was committed before), not an internal error
 * and not DuckDB's "cannot rollback" hiding the cause (s9/hK D3). The disk is a 2 MiB tmpfs
 * mounted in a mount namespace of its own (`unshare -m`: root), so nothing outside sees it.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, it } from 'vitest'
import { describeKernel } from '../netns/probe-check.js'

const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-full-disk-'))
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

/** Whether this process may mount a tmpfs in a mount namespace of its own. */
function tmpfsSupport(): { ok: true } | { ok: false; reason: string } {
  const mnt = path.join(root, 'probe')
  const r = spawnSync(
    'unshare',
    ['-m', 'sh', '-c', `mkdir -p "${mnt}" && mount -t tmpfs -o size=1m tmpfs "${mnt}"`],
    { encoding: 'utf8', timeout: 10_000 },
  )
  if (r.error) return { ok: false, reason: `unshare: ${r.error.message}` }
  if (r.status !== 0) return { ok: false, reason: `cannot mount a tmpfs: ${r.stderr.trim()}` }
  return { ok: true }
}

const cli = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

/** `n` CSV flow lines of scattered addresses and counters (a header first), from seed `x`. */
function scatteredCsv(n: number, seed: number): string {
  const lines = ['src_ip,dst_ip,src_port,dst_port,protocol,start,end,packets,bytes']
  let x = seed
  const next = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0)
  const ip = (): string => `10.${next() >>> 24}.${(next() >>> 16) & 255}.${(next() >>> 8) & 255}`
  for (let i = 0; i < n; i++) {
    lines.push(
      `${ip()},${ip()},${1024 + (next() % 60000)},443,tcp,${1790000000 + i},${1790000005 + i},${next() % 997},${next() % 10_000_000}`,
    )
  }
  return `${lines.join('\n')}\n`
}

/**
 * Mounts a 2 MiB tmpfs at `mnt` in a mount namespace of its own, makes a workspace on it, and runs
 * `bulkhead ingest -w WS INPUT -o json` for each input, its stdout and stderr in `root/NAME.out` and
 * `root/NAME.err`; prints `NAME=<exit code>` for each.
 */
function ingestOnTmpfs(mnt: string, runs: readonly (readonly [name: string, input: string])[]) {
  const ws = path.join(mnt, 'ws')
  const bulkhead = `"${process.execPath}" --import tsx "${cli}"`
  const script = [
    `mkdir -p "${mnt}" && mount -t tmpfs -o size=2m tmpfs "${mnt}" || exit 90`,
    `${bulkhead} init -w "${ws}" > /dev/null || exit 91`,
    ...runs.flatMap(([name, input]) => [
      `${bulkhead} ingest -w "${ws}" "${input}" -o json > "${root}/${name}.out" 2> "${root}/${name}.err"`,
      `echo "${name}=$?"`,
    ]),
  ].join('\n')
  return {
    ws,
    r: spawnSync('unshare', ['-m', 'sh', '-c', script], { encoding: 'utf8', timeout: 120_000 }),
  }
}

describeKernel('a full disk under the store', tmpfsSupport(), () => {
  it('ingest: io/write-failed at the store, the file failed, exit 1; a later ingest still works', () => {
    // 200 000 flows of scattered addresses and counters: more than 2 MiB of store
    const big = path.join(root, 'big.csv')
    writeFileSync(big, scatteredCsv(200_000, 12345))
    const small = path.join(root, 'small.csv')
    writeFileSync(small, 'src_ip,dst_ip,dst_port,protocol\n10.0.0.1,10.0.0.2,443,tcp\n')
    const { ws, r } = ingestOnTmpfs(path.join(root, 'mnt'), [
      ['big', big],
      ['small', small],
    ])
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toContain('big=1')
    const out = JSON.parse(readText(`${root}/big.out`)) as {
      failed: string[]
      records: number
      diagnostics: { code: string; location?: { file: string } }[]
    }
    const err = readText(`${root}/big.err`)
    expect(err).toContain('error io/write-failed')
    expect(err).toContain('No space left on device')
    expect(err).not.toContain('internal error')
    expect(out.failed).toEqual([big])
    expect(out.records).toBe(0)
    expect(out.diagnostics).toContainEqual(
      expect.objectContaining({
        code: 'io/write-failed',
        location: expect.objectContaining({
          file: path.join(ws, '.bulkhead', 'store.duckdb'),
        }) as unknown,
      }),
    )
    // the failed file's flows were rolled back: a small file fits, stored whole
    expect(r.stdout).toContain('small=0')
    expect(JSON.parse(readText(`${root}/small.out`))).toMatchObject({ records: 1, failed: [] })
  }, 150_000)
})

describeKernel('a full disk under the store, during a run of small files', tmpfsSupport(), () => {
  it('ingest: every file of the run failed with io/write-failed (said once), exit 1; a later ingest still works', () => {
    // 40 files of 5 000 flows of scattered addresses: each small, together more than 2 MiB of store
    const dir = path.join(root, 'many')
    mkdirSync(dir)
    const files: string[] = []
    for (let f = 0; f < 40; f++) {
      const file = path.join(dir, `f${String(f).padStart(2, '0')}.csv`)
      writeFileSync(file, scatteredCsv(5000, 54321 + f))
      files.push(file)
    }
    const small = path.join(root, 'small2.csv')
    writeFileSync(small, 'src_ip,dst_ip,dst_port,protocol\n10.0.0.3,10.0.0.4,443,tcp\n')
    const { r } = ingestOnTmpfs(path.join(root, 'mnt2'), [
      ['many', dir],
      ['small2', small],
    ])
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toContain('many=1')
    const out = JSON.parse(readText(`${root}/many.out`)) as {
      failed: string[]
      records: number
      files: number
      diagnostics: { code: string }[]
    }
    const err = readText(`${root}/many.err`)
    expect(err).toContain('error io/write-failed')
    expect(err).not.toContain('internal error')
    expect(out.failed).toEqual(files)
    expect(out.records).toBe(0)
    expect(out.files).toBe(0)
    expect(out.diagnostics.filter((d) => d.code === 'io/write-failed')).toHaveLength(1)
    // the run was rolled back: a small file fits, stored whole
    expect(r.stdout).toContain('small2=0')
    expect(JSON.parse(readText(`${root}/small2.out`))).toMatchObject({ records: 1, failed: [] })
  }, 150_000)
})

function readText(file: string): string {
  return spawnSync('cat', [file], { encoding: 'utf8' }).stdout
}
