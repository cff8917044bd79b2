/**
 * @module The demo (issue 10 items 1–2): the committed estate is what the generator writes, the
 * whole pipeline runs on it in process, the training flows are all allowed, the intrusion day's
 * scan and lateral movement are blocked, and the HTML report holds the figures and renders in
 * headless Chromium.
 */
import { createHash } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateDemo } from '../../examples/demo/generate.js'
import { lateralMovement, runDemo, scans, type DemoResult } from '../../src/cli/commands/demo.js'

const DEMO = fileURLToPath(new URL('../../examples/demo/', import.meta.url))
const CHROMIUM = '/usr/bin/chromium'
const REQUIRED = process.env['BULKHEAD_REQUIRE_BROWSER'] === '1'
const HAVE = existsSync(CHROMIUM)
const tmp = mkdtempSync(path.join(tmpdir(), 'bulkhead-demo-'))
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true })
})

function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const rel of readdirSync(dir, { recursive: true }) as string[]) {
    const p = path.join(dir, rel)
    if (rel.split(path.sep)[0] === 'out' || rel === 'generate.ts' || rel === '.gitignore') continue
    try {
      out.set(rel, createHash('sha256').update(readFileSync(p)).digest('hex'))
    } catch {
      // a folder
    }
  }
  return out
}

describe('demo estate', () => {
  it('the committed workspace is exactly what npm run demo:generate writes', () => {
    const dir = path.join(tmp, 'generated')
    const s = generateDemo(dir)
    expect(tree(dir)).toEqual(tree(DEMO))
    const training = s.connections.aws + s.connections.zeek + s.connections.hubble
    expect(training).toBeGreaterThan(50_000)
    expect(training).toBeLessThan(200_000)
    expect(s.bytes).toBeLessThan(5_000_000)
  }, 30_000)
})

describe('bulkhead demo', () => {
  let r: DemoResult
  const lines: string[] = []
  beforeAll(async () => {
    r = await runDemo({ dir: DEMO, out: path.join(tmp, 'out'), log: (l) => lines.push(l) })
  }, 60_000)

  it('ingests the three formats and recommends a policy covering every training flow', () => {
    expect(Object.keys(r.ingest.formats).sort()).toEqual(['aws-vpc', 'hubble', 'zeek'])
    expect(r.ingest.skipped).toEqual({})
    expect(r.recommend.coverage).toBe(1)
    expect(r.recommend.written.length).toBeGreaterThanOrEqual(5)
    expect(r.lint.errors).toBe(0)
    expect(lines.filter((l) => /^\[\d\/8\]/.test(l))).toHaveLength(8)
    expect(lines.at(-1)).toContain('report.html')
  })

  it('training flows: nothing would be blocked', () => {
    expect(r.training.flows).toBe(r.ingest.records)
    expect(r.training.wouldBlockIfEnforced).toBe(0)
    expect(r.training.denied).toEqual([])
    expect(r.training.outcomes.allowed).toBe(r.ingest.records)
  })

  it('intrusion day: only the compromised web server is denied, its scan and lateral movement blocked', () => {
    expect(r.intrusion.outcomes.blocked).toBeGreaterThan(0)
    expect(new Set(r.intrusion.denied.map((e) => e.src.name))).toEqual(new Set(['pay-web-1']))
    expect(r.intrusion.denied.every((e) => e.outcome === 'blocked')).toBe(true)
    const lateral = lateralMovement(r.intrusion).map((e) => `${e.dst.name} ${e.service}`)
    expect(lateral).toEqual(
      expect.arrayContaining([
        'pay-db-1 tcp/5432',
        'pay-jump-1 tcp/22',
        'dc-1 tcp/445',
        'bank-sftp tcp/22',
        'internet tcp/4444',
      ]),
    )
    const [scan, ...others] = scans(r.intrusion)
    expect(others).toEqual([])
    expect(scan?.src).toBe('pay-web-1')
    expect(scan?.services).toEqual([
      'tcp/22',
      'tcp/3389',
      'tcp/445',
      'tcp/5432',
      'tcp/6379',
      'tcp/8443',
    ])
    expect(scan?.flows).toBeGreaterThan(500)
    // the normal traffic of that day is all allowed
    expect(r.intrusion.outcomes.allowed).toBeGreaterThan(2000)
  })

  it('compiles nftables rulesets for the VMs and shrinks the blast radius', () => {
    expect(r.compile.artefacts).toContain('pay-db-1.nft')
    expect(r.compile.artefacts.some((a) => a.includes('boutique'))).toBe(false)
    const nft = readFileSync(path.join(r.out, 'nftables', 'pay-db-1.nft'), 'utf8')
    expect(nft).toContain('table inet bulkhead')
    const b = r.blastRadius
    expect(b.recommended.openLateralPaths).toBeLessThan(b.flat.openLateralPaths)
    expect(b.recommended.meanTransitive).toBeLessThan(b.flat.meanTransitive)
    expect(b.reduction.openLateralPaths).toBeGreaterThan(50)
  })

  it('writes a self-contained report with the figures', () => {
    const html = readFileSync(r.report, 'utf8')
    expect(html).toContain('data-training-blocked="0"')
    expect(html).toContain(`data-intrusion-blocked="${r.intrusion.outcomes.blocked}"`)
    expect(html).toContain(`data-flat-paths="${r.blastRadius.flat.openLateralPaths}"`)
    expect(html).toContain(`data-policy-paths="${r.blastRadius.recommended.openLateralPaths}"`)
    expect(html).toContain(`${r.blastRadius.reduction.openLateralPaths} %`)
    expect(html).toContain('pay-web-1</td><td>pay-db-1</td><td>tcp/5432')
    // nothing is fetched: no remote script, stylesheet or image
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=["']?https?:/i)
  })

  it('a rerun into the same out folder starts from a fresh store and gives the same figures', async () => {
    const again = await runDemo({ dir: DEMO, out: r.out, log: () => {} })
    expect(again.ingest.records).toBe(r.ingest.records)
    expect(again.training.wouldBlockIfEnforced).toBe(0)
    expect(again.intrusion.outcomes).toEqual(r.intrusion.outcomes)
  }, 60_000)

  describe.skipIf(!HAVE && !REQUIRED)(`the report in headless Chromium (needs ${CHROMIUM})`, () => {
    it('renders the map and every table', () => {
      expect(existsSync(CHROMIUM), `${CHROMIUM} is required (BULKHEAD_REQUIRE_BROWSER=1)`).toBe(
        true,
      )
      const run = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          fileURLToPath(new URL('./browser-check.ts', import.meta.url)),
          CHROMIUM,
          r.report,
        ],
        {
          encoding: 'utf8',
          timeout: 90_000,
          cwd: fileURLToPath(new URL('../..', import.meta.url)),
        },
      )
      expect(run.error, run.stderr).toBeUndefined()
      expect(run.status, run.stderr).toBe(0)
      const out = JSON.parse(run.stdout) as Record<string, unknown>
      expect(out['map']).toEqual({
        entities: r.map.entities,
        edges: r.map.edges,
        rendered: r.map.entities,
      })
      expect(out['rows']).toEqual({
        rules: r.recommend.rules,
        training: 6,
        intrusion: r.intrusion.denied.length,
        lateral: lateralMovement(r.intrusion).length,
        scans: 1,
        blast: 4,
        nftables: r.compile.artefacts.length,
      })
      expect(out['trainingBlocked']).toBe('0')
      expect(out['intrusionCard']).toBe(r.intrusion.outcomes.blocked.toLocaleString('en-US'))
      expect(out['lateralText']).toContain('pay-db-1')
      expect(out['mapVisible']).toBe(true)
      expect(out['errors']).toEqual([])
      expect((out['requests'] as string[]).every((u) => /^(file|about|data):/.test(u))).toBe(true)
    }, 120_000)
  })
})
