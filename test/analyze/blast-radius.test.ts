/**
 * Blast radius on a small estate whose reach is worked out by hand (test/fixtures/blast-estate):
 * flat, observed and policy baselines, attacker paths to the crown jewel, exploitable services,
 * hop limits, incremental updates, and the CLI's JSON, Markdown and DOT output.
 */
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  labelSet,
  parseService,
  ServiceSet,
  type Inventory,
  type Policy,
  type PolicySet,
  type Service,
} from '../../src/core/index.js'
import type { DependencyMap, Edge } from '../../src/discover/index.js'
import { loadWorkspace } from '../../src/policy/files.js'
import {
  answerBlastRadius,
  PolicyReachability,
  reductionOf,
  type BlastRadiusFigures,
  type BlastRadiusResult,
  type BlastRadiusQuery,
} from '../../src/analyze/index.js'
import { cli } from '../helpers/cli.js'

const DIR = fileURLToPath(new URL('../fixtures/blast-estate/', import.meta.url))
const AT = Date.UTC(2026, 10, 22)

let inventory: Inventory
let policySet: PolicySet
let openPolicy: PolicySet

beforeAll(async () => {
  const ws = await loadWorkspace(DIR, new Date(AT))
  expect(ws.diagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
  inventory = ws.inventory
  policySet = ws.policySet
  const open = await loadWorkspace(DIR, new Date(AT))
  // the open policy: same inventory, policy-open/ folder
  const { loadFromSources } = await import('../../src/policy/load.js')
  const { readFileSync, readdirSync } = await import('node:fs')
  const files = (dir: string) =>
    readdirSync(`${DIR}${dir}`).map((f) => ({
      path: `${dir}/${f}`,
      text: readFileSync(`${DIR}${dir}/${f}`, 'utf8'),
    }))
  const r = loadFromSources(open.workspace, files('inventory'), files('policy-open'), new Date(AT))
  expect(r.diagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
  openPolicy = r.policySet
})

const byName = (r: BlastRadiusResult) => Object.fromEntries(r.sources.map((s) => [s.workload, s]))
const figures = (r: BlastRadiusResult) =>
  Object.fromEntries(r.sources.map((s) => [s.workload, [s.direct, s.transitive, s.directServices]]))
const ask = (q: Partial<BlastRadiusQuery>) =>
  answerBlastRadius({ inventory, policySet, at: AT, baseline: 'policy', ...q })
const svc = (...xs: string[]) => ServiceSet.of(xs.map((x) => parseService(x) as Service))

describe('blast radius baselines', () => {
  it('policy: reach worked out by hand from the four rules', () => {
    const r = ask({})
    expect(figures(r)).toEqual({
      'edge-lb': [2, 3, 2], // lb -> web-1, web-2 (tcp/443), then web -> api-1
      'admin-1': [2, 3, 2], // ssh to both webs, then api-1
      'web-1': [1, 1, 1],
      'web-2': [1, 1, 1],
      'batch-1': [1, 1, 1], // batch-export, live until 2027-01-31
      'api-1': [0, 0, 0],
      'db-1': [0, 0, 0],
    })
    expect(r.summary.openLateralPaths).toBe(7)
    expect(r.summary.openPairs).toBe(7)
    expect(r.summary.maxTransitive).toBe(3)
    expect(r.crownJewels).toEqual(['db-1'])
    expect(r.summary.sourcesReachingCrownJewels).toBe(0)
    // compared with flat by default
    expect(r.summary.comparedWith?.label).toBe('flat')
    expect(r.summary.reduction?.openPairs).toBe(83.3) // 42 -> 7
    expect(r.summary.reduction?.sourcesReachingCrownJewels).toBe(100) // 6 -> 0
  })

  it('policy: an expired rule no longer counts', () => {
    const r = ask({ at: Date.UTC(2027, 1, 1) })
    expect(byName(r)['batch-1']?.direct).toBe(0)
  })

  it('flat: every active workload reaches every other; the path from the entry point to the database is one hop', () => {
    const r = ask({ baseline: 'flat' })
    for (const s of r.sources) expect([s.direct, s.transitive]).toEqual([6, 6])
    expect(r.summary.openPairs).toBe(42)
    const lb = byName(r)['edge-lb']
    expect(lb?.paths).toEqual([
      { to: 'db-1', hops: 1, path: ['edge-lb', 'db-1'], services: ['any'] },
    ])
    expect(r.summary.sourcesReachingCrownJewels).toBe(6)
    expect(r.summary.reduction).toBeUndefined()
  })

  it('the attacker path from the public entry point to the database: found under flat, gone under the policy', () => {
    const from = {
      kind: 'labels',
      match: labelSet({ exposure: 'public' }),
      expressions: [],
      global: true,
    } as const
    const flat = ask({ baseline: 'flat', from, compare: { label: 'workspace', policySet } })
    expect(flat.sources.map((s) => s.workload)).toEqual(['edge-lb'])
    expect(flat.sources[0]?.paths.length).toBe(1)
    expect(flat.summary.comparedWith?.sourcesReachingCrownJewels).toBe(0)
    expect(flat.summary.reduction?.sourcesReachingCrownJewels).toBe(100)
    const pol = ask({ from })
    expect(pol.sources[0]?.paths).toEqual([])
    expect(pol.sources[0]?.crownJewelsReached).toBe(0)
  })

  it('the open policy lets SSH from anywhere internal reach the database', () => {
    const r = ask({ policySet: openPolicy })
    expect(byName(r)['edge-lb']?.paths[0]).toEqual({
      to: 'db-1',
      hops: 1,
      path: ['edge-lb', 'db-1'],
      services: ['tcp/22'],
    })
  })

  it('--assume-exploitable keeps only footholds on those services', () => {
    const r = ask({ policySet: openPolicy, exploitable: svc('tcp/5432') })
    const web = byName(r)['web-1']
    expect([web?.direct, web?.transitive]).toEqual([1, 2]) // web-1 -> api-1 (any ∩ 5432) -> db-1
    expect(web?.paths[0]).toEqual({
      to: 'db-1',
      hops: 2,
      path: ['web-1', 'api-1', 'db-1'],
      services: ['tcp/5432', 'tcp/5432'],
    })
    expect(byName(r)['edge-lb']?.direct).toBe(0)
    expect(r.exploitable).toBe('tcp/5432')
  })

  it('--hops limits lateral movement', () => {
    const r = ask({ hops: 1 })
    for (const s of r.sources) expect(s.transitive).toBe(s.direct)
  })

  it('--to names other crown jewels', () => {
    const r = ask({ to: { kind: 'workload', name: 'api-1', global: true } })
    expect(r.crownJewels).toEqual(['api-1'])
    expect(byName(r)['edge-lb']?.paths[0]?.path).toEqual(['edge-lb', 'web-1', 'api-1'])
    expect(r.summary.sourcesReachingCrownJewels).toBe(5) // edge-lb, admin-1, web-1, web-2, batch-1
  })

  it('observed: only what the flows show; wholly rejected edges and externals do not count', () => {
    const edge = (src: string, dst: string, port: number, rejected = 0): Edge => ({
      src,
      dst,
      protocol: 6,
      dstPort: port,
      flows: 4,
      packets: 8,
      bytes: 800,
      firstSeen: AT - 1000,
      lastSeen: AT - 500,
      activeDays: 1,
      profile: { hourOfWeek: [], dayOfMonth: [] },
      pattern: 'once',
      unknownDirection: 0,
      rejected,
    })
    const wl = (name: string) => ({ id: name, kind: 'workload' as const, name, labels: {} })
    const map: DependencyMap = {
      window: { start: AT - 1000, end: AT },
      entities: [
        wl('edge-lb'),
        wl('web-1'),
        wl('api-1'),
        wl('db-1'),
        wl('admin-1'),
        { id: 'internet', kind: 'unmanaged', name: 'internet', labels: {} },
      ],
      edges: [
        edge('internet', 'edge-lb', 443),
        edge('edge-lb', 'web-1', 443),
        edge('web-1', 'api-1', 8443),
        edge('web-1', 'api-1', 8080),
        edge('api-1', 'db-1', 5432),
        edge('admin-1', 'db-1', 22, 4),
      ],
      sources: [],
      diagnostics: [],
    }
    const r = ask({ baseline: 'observed', dependencyMap: map })
    expect(figures(r)).toMatchObject({
      'edge-lb': [1, 3, 1],
      'web-1': [1, 2, 2],
      'api-1': [1, 1, 1],
      'admin-1': [0, 0, 0],
      'db-1': [0, 0, 0],
    })
    expect(byName(r)['edge-lb']?.paths[0]).toEqual({
      to: 'db-1',
      hops: 3,
      path: ['edge-lb', 'web-1', 'api-1', 'db-1'],
      services: ['tcp/443', 'tcp/8080,tcp/8443', 'tcp/5432'],
    })
    expect(r.summary.comparedWith?.label).toBe('flat')
  })

  it('observed: only workloads active at --at, and no reach over link control or ICMP errors (s13/hS D5)', () => {
    const inv: Inventory = {
      workloads: [
        { name: 'h1', addresses: [{ ip: '2001:db8::1' }], labels: labelSet({ role: 'a' }) },
        { name: 'h2', addresses: [{ ip: '2001:db8::2' }], labels: labelSet({ role: 'b' }) },
        // held its address until a day before AT: gone
        {
          name: 'gone',
          addresses: [{ ip: '2001:db8::3', to: AT - 86_400_000 }],
          labels: labelSet({ role: 'c' }),
        },
      ],
      externals: [],
      labelRules: [],
    }
    const edge = (src: string, dst: string, protocol: number, port: number): Edge => ({
      src,
      dst,
      protocol,
      dstPort: port,
      flows: 1,
      packets: 1,
      bytes: 80,
      firstSeen: AT - 3 * 86_400_000,
      lastSeen: AT - 1000,
      activeDays: 1,
      profile: { hourOfWeek: [], dayOfMonth: [] },
      pattern: 'once',
      unknownDirection: 0,
      rejected: 0,
    })
    const wl = (name: string) => ({ id: name, kind: 'workload' as const, name, labels: {} })
    const map: DependencyMap = {
      window: { start: AT - 3 * 86_400_000, end: AT },
      entities: [wl('h1'), wl('h2'), wl('gone')],
      edges: [
        edge('gone', 'h2', 6, 443),
        edge('h2', 'gone', 6, 22),
        edge('h1', 'h2', 58, 135), // neighbour solicitation
        edge('h1', 'h2', 58, 1), // destination unreachable
        edge('h2', 'h1', 6, 443),
      ],
      sources: [],
      diagnostics: [],
    }
    const r = answerBlastRadius({
      inventory: inv,
      at: AT,
      baseline: 'observed',
      dependencyMap: map,
    })
    expect(figures(r)).toEqual({ h1: [0, 0, 0], h2: [1, 1, 1] })
    expect(r.summary.comparedWith?.sources).toBe(2)
  })

  it('an allow-any rule between IPv4 workloads is one open lateral path per pair, as under flat', () => {
    // between IPv4 addresses `any` less ICMPv6 is every service there is: it lists no explicit
    // service (`any-other-protocol`), yet counts once, not zero
    const all = { kind: 'labels', match: labelSet(), expressions: [], global: false } as const
    const inv: Inventory = {
      workloads: ['a', 'b', 'c'].map((name, i) => ({
        name,
        addresses: [{ ip: `10.9.0.${i + 1}` }],
        labels: labelSet({ role: name }),
      })),
      externals: [],
      labelRules: [],
    }
    const anyRule: Policy = {
      name: 'p',
      owner: 'o',
      scope: labelSet(),
      file: 'p.yaml',
      rules: [
        {
          id: 'all',
          action: 'allow',
          from: [all],
          to: [all],
          services: [{ protocol: 'any' }],
          emergency: false,
        },
      ],
    }
    const r = answerBlastRadius({
      inventory: inv,
      policySet: { policies: [anyRule], enforcement: [] },
      at: AT,
      baseline: 'policy',
    })
    expect(r.summary.openLateralPaths).toBe(6)
    expect(r.summary.comparedWith?.openLateralPaths).toBe(6)
    expect(r.summary.reduction?.openLateralPaths).toBe(0)
  })

  it('a policy baseline without a policy set is a RangeError, not a crash elsewhere', () => {
    expect(() => answerBlastRadius({ inventory, at: AT, baseline: 'policy' })).toThrow(RangeError)
  })
})

describe('incremental update (PolicyReachability)', () => {
  it('adding and removing one rule updates the figures without a rebuild', () => {
    const live = PolicyReachability.build(inventory, policySet, AT)
    const shop = policySet.policies.find((p) => p.name === 'shop') as Policy
    const lb = inventory.workloads.findIndex((w) => w.name === 'edge-lb')
    const node = (w: number) => live.graph.nodeOf[w] as number
    expect(live.figures.transitive[node(lb)]).toBe(3)
    const apiToDb = {
      id: 'api-to-db',
      action: 'allow' as const,
      emergency: false,
      services: [parseService('tcp/5432') as Service],
      from: [
        {
          kind: 'labels' as const,
          match: labelSet({ role: 'api' }),
          expressions: [],
          global: false,
        },
      ],
      to: [
        {
          kind: 'labels' as const,
          match: labelSet({ role: 'db' }),
          expressions: [],
          global: false,
        },
      ],
    }
    const u1 = live.updatePolicy('shop', { ...shop, rules: [...shop.rules, apiToDb] })
    expect(u1).toMatchObject({
      mode: 'incremental',
      changedRules: 1,
      pairsRecomputed: 1,
      edgesAdded: 1,
      edgesRemoved: 0,
    })
    expect(live.figures.transitive[node(lb)]).toBe(4)
    const u2 = live.updatePolicy('shop', shop)
    expect(u2).toMatchObject({ mode: 'incremental', edgesRemoved: 1 })
    expect(live.figures.transitive[node(lb)]).toBe(3)
  })
})

describe('bulkhead blast-radius', () => {
  it('-o json has the documented shape', async () => {
    const r = await cli('blast-radius', '-w', DIR, '--at', '2026-11-22', '-o', 'json')
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout) as Record<string, unknown>
    expect(doc.baseline).toBe('policy')
    expect(doc).not.toHaveProperty('graph')
    const sources = doc.sources as Record<string, unknown>[]
    expect(Object.keys(sources[0] ?? {})).toEqual(
      expect.arrayContaining(['workload', 'direct', 'transitive', 'directServices', 'paths']),
    )
    expect(doc.summary).toMatchObject({ openLateralPaths: 7, maxTransitive: 3 })
  })

  it('--baseline flat --compare DIR -o md and -o dot', async () => {
    const md = await cli(
      'blast-radius',
      '-w',
      DIR,
      '--at',
      '2026-11-22',
      '--baseline',
      'flat',
      '--compare',
      `${DIR}policy`,
      '-o',
      'md',
    )
    expect(md.code).toBe(0)
    expect(md.stdout).toContain('Reduction from flat to policy:')
    const dot = await cli(
      'blast-radius',
      '-w',
      DIR,
      '--at',
      '2026-11-22',
      '--baseline',
      'flat',
      '--from',
      'edge-lb',
      '-o',
      'dot',
    )
    expect(dot.code).toBe(0)
    expect(dot.stdout).toMatch(/"edge-lb" -> "db-1" \[color=red/)
    expect(dot.stdout).toContain('"db-1" [shape=doubleoctagon')
  })

  it('bad input exits 1 with a stable code', async () => {
    const bad = await cli('blast-radius', '-w', DIR, '--from', 'role=', '--to', '=x')
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('analyze/bad-selector')
    const noStore = await cli('blast-radius', '-w', DIR, '--baseline', 'observed')
    expect(noStore.code).toBe(1)
    expect(noStore.stderr).toContain('discover/no-flows')
    const badSvc = await cli('blast-radius', '-w', DIR, '--assume-exploitable', 'tcp/99999')
    expect(badSvc.code).toBe(1)
    expect(badSvc.stderr).toContain('cli/usage')
  })
})

describe('reductionOf', () => {
  it('takes the reductions of mean reach from the exact means, not the rounded ones shown', () => {
    // s13/hS D6: 14 sources, 39 open pairs, 110 transitive pairs, against flat (13 each)
    const figures = (openPairs: number, transitivePairs: number): BlastRadiusFigures => ({
      sources: 14,
      openLateralPaths: openPairs,
      openPairs,
      meanDirect: Math.round((openPairs / 14) * 100) / 100,
      maxDirect: 13,
      transitivePairs,
      meanTransitive: Math.round((transitivePairs / 14) * 100) / 100,
      maxTransitive: 13,
      sourcesReachingCrownJewels: 0,
    })
    const r = reductionOf('flat', figures(182, 182), 'policy', figures(39, 110))
    // 1 − 39/182 = 78.57 %, 1 − 110/182 = 39.56 %; the rounded means 2.79 and 7.86 give 78.5, 39.5
    expect(r.openPairs).toBe(78.6)
    expect(r.meanDirect).toBe(78.6)
    expect(r.meanTransitive).toBe(39.6)
  })
})
