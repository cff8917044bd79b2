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
import { decidePacket, parseRuleset } from '../../src/compile/nftables/check.js'
import { parseService } from '../../src/core/index.js'
import { analyze, readManifestFiles } from '../../src/kubernetes/index.js'

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
    // the probes the hosts refused (AWS REJECT, Zeek REJ) were already rejected where observed
    expect(r.intrusion.alreadyRejected).toBeGreaterThan(0)
    expect(
      r.intrusion.denied.every((e) => e.outcome === 'blocked' || e.outcome === 'already-rejected'),
    ).toBe(true)
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

  it('the month-end settlement batch is in the window and its rules keep their evidence', () => {
    const end = Date.UTC(2026, 9, 31)
    expect(Date.parse(r.map.window.start)).toBeLessThan(end)
    expect(Date.parse(r.map.window.end)).toBeGreaterThan(end + 86_400_000)
    const byId = new Map(r.recommend.rhythms.map((q) => [`${q.policy}/${q.id}`, q]))
    const sftp = byId.get('settlement-prod/batch-to-bank-sftp-tcp-22')
    expect(sftp?.activeDays).toBe(2)
    expect(sftp?.firstSeen.slice(0, 10)).toBe('2026-10-30')
    expect(sftp?.lastSeen.slice(0, 10)).toBe('2026-10-31')
    expect(byId.get('payments-prod/batch-settlement-prod-to-db-crown-jewel-tcp-5432')?.flows).toBe(
      12,
    )
    // recommend's rule: a monthly rhythm needs a window of more than 31 days; 30 days is warned
    expect(r.recommend.warnings.map((d) => d.code)).toContain('recommend/short-window')
  })

  it('compiles nftables for the VMs, NetworkPolicy and Cilium for the pods, each rule somewhere', () => {
    const [nft, k8s, cilium] = r.compile.targets
    expect(r.compile.targets.map((t) => t.target)).toEqual(['nftables', 'kubernetes', 'cilium'])
    expect(nft?.artefacts).toContain('pay-db-1.nft')
    expect(nft?.workloads.some((w) => w.startsWith('boutique/'))).toBe(false)
    const pods = [
      'adservice',
      'cartservice',
      'checkoutservice',
      'currencyservice',
      'emailservice',
      'frontend',
      'paymentservice',
      'productcatalogservice',
      'recommendationservice',
      'redis-cart',
      'shippingservice',
    ].map((s) => `boutique/${s}[Deployment]`)
    expect(k8s?.workloads).toEqual(pods)
    expect(cilium?.workloads).toEqual(pods)
    expect(k8s?.artefacts).toEqual(['boutique.networkpolicies.yaml'])
    expect(cilium?.artefacts).toEqual(['boutique.ciliumnetworkpolicies.yaml'])
    for (const t of r.compile.targets) {
      expect(t.notExpressed, t.target).toEqual([])
      expect(t.rules + t.otherRules, t.target).toBe(r.recommend.rules)
    }
    // no rule is left without a target: the VM rules and the pod rules add up
    expect((nft?.rules ?? 0) + (k8s?.rules ?? 0)).toBeGreaterThanOrEqual(r.recommend.rules)
    expect(r.compile.artefacts).toContain('kubernetes/boutique.networkpolicies.yaml')
    const text = readFileSync(path.join(r.out, 'nftables', 'pay-db-1.nft'), 'utf8')
    expect(text).toContain('table inet bulkhead')
    expect(
      readFileSync(path.join(r.out, 'cilium', 'boutique.ciliumnetworkpolicies.yaml'), 'utf8'),
    ).toContain('kind: CiliumNetworkPolicy')
  })

  it('the nftables rulesets stop every denied connection of the intrusion day at both VM ends', () => {
    const rulesets = new Map<string, ReturnType<typeof parseRuleset>>()
    for (const f of r.compile.artefacts.filter((a) => a.startsWith('nftables/')))
      rulesets.set(
        path.basename(f, '.nft'),
        parseRuleset(readFileSync(path.join(r.out, f), 'utf8')),
      )
    let checked = 0
    for (const e of r.intrusion.denied) {
      const out = rulesets.get(e.src.name)
      const inn = rulesets.get(e.dst.name)
      for (const x of e.examples) {
        const svc = parseService(e.service)
        if (!('ports' in svc)) throw new Error(`${e.service}: not one protocol and port`)
        const p = { src: x.src, dst: x.dst, protocol: svc.protocol, dstPort: svc.ports.lo }
        const what = `${e.src.name} -> ${e.dst.name} ${e.service}`
        // the source is in enforce mode: its egress drops
        if (out) expect(decidePacket(out, 'egress', p), what).toBe('drop')
        // the destination drops or (monitor) records: anti-lockout is from the jump host only
        if (inn) expect(decidePacket(inn, 'ingress', p), what).not.toBe('accept')
        checked += (out ? 1 : 0) + (inn ? 1 : 0)
      }
    }
    expect(rulesets.get('pay-jump-1')).toBeDefined()
    expect(checked).toBeGreaterThan(20)
  })

  it('the NetworkPolicies allow exactly the pod-to-pod pairs of the recommended policy (k8s analyser)', () => {
    const files = [
      ...readManifestFiles(path.join(DEMO, 'inventory', 'boutique-manifests.yaml')),
      ...readManifestFiles(path.join(DEMO, 'inventory', 'boutique-pods.yaml')),
      ...readManifestFiles(path.join(r.out, 'kubernetes', 'boutique.networkpolicies.yaml')),
    ]
    const a = analyze(files)
    expect(a.workloads.map((w) => w.name)).toContain('boutique/frontend[Deployment]')
    const allowed = new Set(
      a.connections
        .filter((c) => c.src.startsWith('boutique/') && c.dst.startsWith('boutique/'))
        .map((c) => `${c.src} -> ${c.dst} ${c.services.toString()}`),
    )
    const policy = readFileSync(path.join(r.out, 'policy', 'boutique-prod.yaml'), 'utf8')
    const expected = new Set<string>()
    for (const m of policy.matchAll(/ports: \[ tcp\/(\d+) \][^]*?pairs:\n((?:\s+- .*\n)+)/g))
      for (const pair of (m[2] ?? '').matchAll(/- (boutique\/\S+) -> (boutique\/\S+)/g))
        expected.add(`${pair[1]} -> ${pair[2]} tcp/${m[1]}`)
    expect(expected.size).toBeGreaterThanOrEqual(15)
    expect(allowed).toEqual(expected)
  })

  it('shrinks the blast radius', () => {
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
        targets: 3,
        artefacts: r.compile.artefacts.length,
        rhythms: r.recommend.rhythms.length,
      })
      expect(out['trainingBlocked']).toBe('0')
      expect(out['intrusionCard']).toBe(r.intrusion.outcomes.blocked.toLocaleString('en-US'))
      expect(out['lateralText']).toContain('pay-db-1')
      expect(out['mapVisible']).toBe(true)
      // the body is at most 1200 px wide: a long cell (a CIDR list with its except ranges) wraps
      expect(out['pageWidth'], JSON.stringify(out['widest'])).toBeLessThanOrEqual(1280)
      expect(out['errors']).toEqual([])
      expect(out['failed']).toEqual([])
      expect((out['requests'] as string[]).every((u) => /^(file|about|data):/.test(u))).toBe(true)
    }, 120_000)
  })
})
