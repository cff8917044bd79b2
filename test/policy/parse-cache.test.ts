/**
 * The workspace's parse cache (src/policy/parse-cache.ts): a large YAML file is parsed once and
 * read from `.bulkhead/cache/yaml/` by the next load, keyed by its text; what a load gives is the
 * same with the cache, without it, and with a cache file that is broken or of another version.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { loadWorkspace } from '../../src/policy/files.js'
import { PARSE_CACHE_MIN_CHARS, parseCacheDir } from '../../src/policy/parse-cache.js'
import type { LoadResult } from '../../src/policy/load.js'

const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-parse-cache-'))
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})
afterEach(() => {
  delete process.env['BULKHEAD_PARSE_CACHE']
})

let n = 0

/** A workspace whose inventory (one YAML file) is just over the cache's threshold. */
function workspace(extra = ''): { ws: string; inventory: string } {
  const ws = path.join(root, `ws${String(++n)}`)
  mkdirSync(path.join(ws, 'inventory'), { recursive: true })
  mkdirSync(path.join(ws, 'policy'), { recursive: true })
  const lines = ['apiVersion: bulkhead.dev/v1', 'kind: Inventory', 'workloads:']
  for (let i = 0; lines.join('\n').length < PARSE_CACHE_MIN_CHARS + 1000; i++)
    lines.push(
      `  - name: w${String(i)}`,
      `    addresses: [10.${String((i >> 16) & 255)}.${String((i >> 8) & 255)}.${String(i & 255)}]`,
      `    labels: { role: r${String(i % 7)}, app: a${String(i % 13)}, tier: ${String(i % 3)}, version: 1.10 }`,
    )
  const inventory = path.join(ws, 'inventory', 'hosts.yaml')
  writeFileSync(inventory, `${lines.join('\n')}\n${extra}`)
  writeFileSync(
    path.join(ws, 'policy', 'p.yaml'),
    'apiVersion: bulkhead.dev/v1\nkind: Policy\nmetadata: { name: p, owner: t }\nscope: { app: a1 }\nrules:\n  - { id: r, from: [{ role: r1 }], to: [{ role: r2 }], ports: [tcp/443], reason: x }\n',
  )
  return { ws, inventory }
}

function cacheFiles(ws: string): string[] {
  const dir = parseCacheDir(ws)
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : []
}

async function uncached(ws: string): Promise<LoadResult> {
  process.env['BULKHEAD_PARSE_CACHE'] = '0'
  try {
    return await loadWorkspace(ws, new Date(0))
  } finally {
    delete process.env['BULKHEAD_PARSE_CACHE']
  }
}

describe('parse cache', () => {
  it('keeps a large file once, reads it on the next load, and loads the same either way', async () => {
    const { ws } = workspace()
    const plain = await uncached(ws)
    expect(cacheFiles(ws)).toEqual([])
    expect(plain.inventory.workloads.length).toBeGreaterThan(1000)
    const first = await loadWorkspace(ws, new Date(0))
    expect(cacheFiles(ws)).toHaveLength(1)
    const second = await loadWorkspace(ws, new Date(0))
    expect(first).toEqual(plain)
    expect(second).toEqual(plain)
    // git passes the cache over
    expect(readFileSync(path.join(ws, '.bulkhead', 'cache', '.gitignore'), 'utf8')).toBe('*\n')
  })

  it('is read by the next load (a changed cache file shows), and not for another text', async () => {
    const { ws, inventory } = workspace()
    await loadWorkspace(ws, new Date(0))
    const [name] = cacheFiles(ws)
    const file = path.join(parseCacheDir(ws), name as string)
    writeFileSync(file, readFileSync(file, 'utf8').replace('"name":"w0"', '"name":"from-cache"'))
    const read = await loadWorkspace(ws, new Date(0))
    expect(read.inventory.workloads.some((w) => w.name === 'from-cache')).toBe(true)
    // the text changed: its own entry, parsed again
    writeFileSync(inventory, `${readFileSync(inventory, 'utf8')}# edited\n`)
    const again = await loadWorkspace(ws, new Date(0))
    expect(again.inventory.workloads.some((w) => w.name === 'from-cache')).toBe(false)
    expect(again.inventory.workloads.some((w) => w.name === 'w0')).toBe(true)
    expect(cacheFiles(ws)).toHaveLength(2)
  })

  it('passes over a broken cache file or one of another version, and writes it again', async () => {
    const { ws } = workspace()
    const plain = await uncached(ws)
    await loadWorkspace(ws, new Date(0))
    const [name] = cacheFiles(ws)
    const file = path.join(parseCacheDir(ws), name as string)
    const good = readFileSync(file, 'utf8')
    for (const broken of [
      good.slice(0, 1000),
      good.replace(/"versions":"[^"]*"/, '"versions":"0.0.0/0.0.0"'),
      good.replace('"format":1', '"format":99'),
      '{"format":1}',
      'null',
    ]) {
      writeFileSync(file, broken)
      expect(await loadWorkspace(ws, new Date(0))).toEqual(plain)
      expect(readFileSync(file, 'utf8')).toBe(good)
    }
  })

  it('locates diagnostics as the parsed file does', async () => {
    const { ws } = workspace(
      '  - name: bad\n    addresses: [10.0.0.300]\n    labels: { role: r1 }\n  - name: w0\n    addresses: [10.9.9.9]\n',
    )
    const plain = await uncached(ws)
    expect(plain.diagnostics.length).toBeGreaterThan(0)
    await loadWorkspace(ws, new Date(0))
    expect(cacheFiles(ws)).toHaveLength(1)
    expect((await loadWorkspace(ws, new Date(0))).diagnostics).toEqual(plain.diagnostics)
  })

  it('is off with BULKHEAD_PARSE_CACHE=0, and a workspace it cannot write to loads as before', async () => {
    const { ws } = workspace()
    process.env['BULKHEAD_PARSE_CACHE'] = '0'
    const plain = await loadWorkspace(ws, new Date(0))
    expect(existsSync(path.join(ws, '.bulkhead'))).toBe(false)
    delete process.env['BULKHEAD_PARSE_CACHE']
    // .bulkhead is a file: no folder can be made in it
    writeFileSync(path.join(ws, '.bulkhead'), 'not a folder')
    expect(await loadWorkspace(ws, new Date(0))).toEqual(plain)
  })

  it('records a file it cannot keep (an alias), which is then parsed once per load and loads the same', async () => {
    const { ws } = workspace(
      '  - name: aliased\n    addresses: [10.9.9.8]\n    labels: &l { role: r1 }\n  - name: again\n    addresses: [10.9.9.7]\n    labels: *l\n',
    )
    const plain = await uncached(ws)
    expect(plain.inventory.workloads.find((w) => w.name === 'again')?.labels).toEqual({
      role: 'r1',
    })
    expect(await loadWorkspace(ws, new Date(0))).toEqual(plain)
    const [name] = cacheFiles(ws)
    const kept = JSON.parse(readFileSync(path.join(parseCacheDir(ws), name as string), 'utf8')) as {
      docs: unknown
    }
    expect(kept.docs).toBeNull()
    expect(await loadWorkspace(ws, new Date(0))).toEqual(plain)
  })

  it('keeps the 32 most recently used cache files', async () => {
    const { ws } = workspace()
    const dir = parseCacheDir(ws)
    mkdirSync(dir, { recursive: true })
    for (let i = 0; i < 40; i++) {
      const f = path.join(dir, `old${String(i).padStart(2, '0')}.json`)
      writeFileSync(f, '{}')
      const t = new Date(Date.UTC(2026, 0, 1, 0, i))
      utimesSync(f, t, t)
    }
    await loadWorkspace(ws, new Date(0))
    const left = cacheFiles(ws)
    expect(left).toHaveLength(32)
    // the newest are kept: the one just written and the 31 most recent old ones
    expect(left.filter((f) => f.startsWith('old')).sort()).toEqual(
      Array.from({ length: 31 }, (_, i) => `old${String(i + 9).padStart(2, '0')}.json`),
    )
  })
})
