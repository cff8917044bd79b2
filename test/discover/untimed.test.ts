/**
 * Flows with no real time (Zeek's masked timestamps `XXXXXXXXXX.XXXXXX`, read as start 0): edges
 * of the map, but not in its window (unless they are all it has), the edges' first/last seen,
 * days or time profiles.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { edgeFigures } from '../../src/discover/index.js'
import type { DiscoverOutput } from '../../src/discover/render/json.js'
import { emptyProfile } from '../../src/discover/time-profile.js'
import { cli } from '../helpers/cli.js'

const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-untimed-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** Two flows with masked timestamps (192.168.1.10 -> 192.168.1.1 tcp/443, and an mDNS one). */
const MASKED = 'test/fixtures/flows/zeek-btest-columns.log'

/** A workspace holding `files` (copied or written) ingested into its store. */
async function workspace(name: string, files: Record<string, string>): Promise<string> {
  const ws = path.join(root, name)
  mkdirSync(path.join(ws, 'inventory'), { recursive: true })
  const paths: string[] = []
  for (const [file, content] of Object.entries(files)) {
    const p = path.join(ws, file)
    if (content === MASKED) copyFileSync(MASKED, p)
    else writeFileSync(p, content)
    paths.push(p)
  }
  const r = await cli('ingest', '-w', ws, ...paths)
  expect(r.code, r.stderr).toBe(0)
  return ws
}

/** Three real flows on 2026-11-02, 10:00 to 12:00 UTC. */
const REAL = [
  'src_ip,dst_ip,src_port,dst_port,protocol,start,end',
  '10.0.0.1,10.0.0.2,40001,873,tcp,2026-11-02T10:00:00Z,2026-11-02T10:01:00Z',
  '10.0.0.1,10.0.0.2,40002,873,tcp,2026-11-02T11:00:00Z,2026-11-02T11:01:00Z',
  '10.0.0.1,10.0.0.2,40003,873,tcp,2026-11-02T12:00:00Z,2026-11-02T12:01:00Z',
  '',
].join('\n')

describe('discover and flows with no real time', () => {
  it('keeps them as edges, out of the window and the profiles, with discover/untimed-flows', async () => {
    const ws = await workspace('mixed', { 'conn.log': MASKED, 'real.csv': REAL })
    const r = await cli('discover', '-w', ws, '-o', 'json')
    expect(r.code, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as DiscoverOutput
    // the window is the real flows' day, not 1970-01-01 to 2026
    expect(out.window).toEqual({ start: '2026-11-02T10:00:00Z', end: '2026-11-02T12:01:00Z' })
    expect(out.untimed).toBe(2)
    const codes = out.warnings.map((w) => w.code)
    expect(codes).toContain('discover/untimed-flows')
    // a window of hours is short for monthly patterns: the warning fires now
    expect(codes).toContain('discover/short-window')
    const masked = out.edges.find((e) => e.port === 443)
    expect(masked).toMatchObject({ flows: 1, activeDays: 0 })
    expect(masked?.profile.hourOfWeek.every((n) => n === 0)).toBe(true)
    expect(masked?.profile.dayOfMonth.every((n) => n === 0)).toBe(true)
    const real = out.edges.find((e) => e.port === 873)
    expect(real).toMatchObject({ flows: 3, activeDays: 1, firstSeen: '2026-11-02T10:00:00Z' })
    expect(out.sources.find((s) => s.format === 'zeek')).toMatchObject({ flows: 2, untimed: 2 })
    const text = await cli('discover', '-w', ws)
    expect(text.stdout).toMatch(/; 2 flows with no real time/)
    expect(text.stdout).toMatch(/^window 2026-11-02T10:00:00Z to 2026-11-02T12:01:00Z/)
  }, 30_000)

  it('a --since/--until window leaves them out, --until alone too, and says how many', async () => {
    const ws = await workspace('windowed', { 'conn.log': MASKED, 'real.csv': REAL })
    for (const window of [
      ['--until', '2030-01-01'],
      ['--since', '2026-11-01'],
    ]) {
      const r = await cli('discover', '-w', ws, '-o', 'json', ...window)
      expect(r.code, r.stderr).toBe(0)
      const out = JSON.parse(r.stdout) as DiscoverOutput
      expect(out.untimed, window.join(' ')).toBe(0)
      expect(out.edges.map((e) => [e.port, e.flows])).toEqual([[873, 3]])
      expect(out.window).toEqual({ start: '2026-11-02T10:00:00Z', end: '2026-11-02T12:01:00Z' })
      // left out, and said so
      expect(out.warnings.map((w) => w.code)).toContain('discover/untimed-flows')
    }
  }, 30_000)

  it('a store of such flows only is still a map, over the instant they carry, with the warning', async () => {
    const ws = await workspace('masked-only', { 'conn.log': MASKED })
    const r = await cli('discover', '-w', ws, '-o', 'json')
    expect(r.code, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as DiscoverOutput
    expect(out.window).toEqual({ start: '1970-01-01T00:00:00Z', end: '1970-01-01T00:00:00Z' })
    expect(out.untimed).toBe(2)
    expect(out.edges.map((e) => e.flows)).toEqual([1, 1])
    expect(out.warnings.map((w) => w.code)).toContain('discover/untimed-flows')
  }, 30_000)
})

describe('merged edges', () => {
  it('an edge of untimed flows only widens neither first nor last seen', () => {
    const base = {
      src: 'a',
      dst: 'b',
      protocol: 6,
      dstPort: 443,
      packets: 1,
      bytes: 1,
      profile: emptyProfile(),
      pattern: 'once' as const,
      unknownDirection: 0,
      rejected: 0,
    }
    const timed = {
      ...base,
      flows: 2,
      firstSeen: 1_000_000,
      lastSeen: 2_000_000,
      activeDays: 1,
      days: [0],
    }
    const untimed = { ...base, flows: 1, firstSeen: 0, lastSeen: 0, activeDays: 0, days: [] }
    expect(edgeFigures([untimed, timed], 1)).toMatchObject({
      flows: 3,
      firstSeen: 1_000_000,
      lastSeen: 2_000_000,
    })
    expect(edgeFigures([untimed, { ...untimed }], 1)).toMatchObject({ firstSeen: 0, lastSeen: 0 })
  })
})
