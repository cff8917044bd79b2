/**
 * Blast radius on a small estate whose reach is worked out by hand (test/fixtures/blast-estate):
 * flat, observed and policy baselines, attacker paths to the crown jewel, exploitable services,
 * hop limits, incremental updates, and the CLI's JSON, Markdown and DOT output.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import {
  labelSet,
  parseCidr,
  parseService,
  ServiceSet,
  type Inventory,
  type Policy,
  type PolicySet,
  type Cidr,
  type Selector,
  type Service,
} from '../../src/core/index.js'
import type { DependencyMap, Edge } from '../../src/discover/index.js'
import {
  answerBlastRadius,
  blastSelectorWarnings,
  edgeServices,
  enforcedReachGraph,
  flatReachGraph,
  PolicyReachability,
  reductionOf,
  renderBlastRadiusMd,
  renderBlastRadiusText,
  type BlastRadiusFigures,
  type BlastRadiusResult,
  type BlastRadiusQuery,
} from '../../src/analyze/index.js'
import { cli } from '../helpers/cli.js'
import { BLAST_ESTATE, loadBlastEstate } from './blast-estate.js'
import { inventoryOf, workload } from '../helpers/workloads.js'

const DIR = BLAST_ESTATE
/** `bulkhead blast-radius -w <blast-estate> --at 2026-11-22 ...rest`. */
const blastRadiusAt = (...rest: string[]) =>
  cli('blast-radius', '-w', DIR, '--at', '2026-11-22', ...rest)
const AT = Date.UTC(2026, 10, 22)

let inventory: Inventory
let policySet: PolicySet
let openPolicy: PolicySet

beforeAll(async () => {
  const { ws, open } = await loadBlastEstate(new Date(AT))
  expect(ws.diagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
  inventory = ws.inventory
  policySet = ws.policySet
  // the open policy: same inventory, policy-open/ folder
  expect(open.diagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
  openPolicy = open.policySet
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

  it('text and Markdown say how many sources and paths their lists leave out', () => {
    // flat: 7 sources, 6 of them with a path to db-1; lists of 2 leave 5 sources and 4 paths out
    const r = ask({ baseline: 'flat' })
    expect([r.sources.length, r.sources.filter((x) => x.paths.length > 0).length]).toEqual([7, 6])
    const md = renderBlastRadiusMd(r, 2)
    expect(md).toContain('… 5 more sources: `-o json` has them all.')
    expect(md).toContain('… the paths of 4 more sources: `-o json` has them all.')
    const text = renderBlastRadiusText(r, 2)
    expect(text).toContain('... 5 more (use -o json)')
    expect(text).toContain('... paths of 4 more sources (use -o json)')
    // nothing said where the lists hold everything
    expect(renderBlastRadiusMd(r)).not.toContain('more source')
    expect(renderBlastRadiusText(r)).not.toContain('more')
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
    // the limit must matter: without it some source reaches further than one hop
    expect(ask({}).sources.some((s) => s.transitive !== s.direct)).toBe(true)
    expect(r.sources.length).toBeGreaterThan(0)
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
        workload('h1', ['10.0.0.1', '2001:db8::1'], { role: 'a' }),
        workload('h2', ['10.0.0.2', '2001:db8::2'], { role: 'b' }),
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
        edge('h1', 'h2', 2, 0), // IGMP
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

  it('observed: an edge opens nothing between workloads that share no address family at --at', () => {
    // a CSV row `fd00::1 -> 10.0.0.2` (no packet has an IPv4 and an IPv6 end) was stored and made
    // `v6 -> v4` an open path under observed while flat, which every other baseline stays within,
    // had none; ICMP needs IPv4 at both ends and ICMPv6 IPv6, as under policy
    const inv = inventoryOf(
      workload('v6', 'fd00::1', { role: 'a' }),
      workload('v4', '10.0.0.2', { role: 'b' }),
      workload('dual', ['10.0.0.3', 'fd00::3'], { role: 'c' }),
    )
    const edge = (src: string, dst: string, protocol: number, port: number): Edge => ({
      src,
      dst,
      protocol,
      dstPort: port,
      flows: 1,
      packets: 1,
      bytes: 80,
      firstSeen: AT - 1000,
      lastSeen: AT - 1000,
      activeDays: 1,
      profile: { hourOfWeek: [], dayOfMonth: [] },
      pattern: 'once',
      unknownDirection: 0,
      rejected: 0,
    })
    const wl = (name: string) => ({ id: name, kind: 'workload' as const, name, labels: {} })
    const map: DependencyMap = {
      window: { start: AT - 1000, end: AT },
      entities: [wl('v6'), wl('v4'), wl('dual')],
      edges: [
        edge('v6', 'v4', 6, 80), // no family in common: nothing
        edge('v4', 'v6', 1, 8), // likewise
        edge('v4', 'dual', 58, 128), // ICMPv6 echo between an IPv4-only and a dual: no traffic
        edge('v6', 'dual', 1, 8), // ICMP echo from an IPv6-only workload: no traffic
        edge('dual', 'v4', 1, 8), // ICMP echo over IPv4: a service
        edge('dual', 'v6', 58, 128), // ICMPv6 echo over IPv6: a service
        edge('v6', 'dual', 6, 443),
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
    expect(figures(r)).toEqual({ v6: [1, 2, 1], v4: [0, 0, 0], dual: [2, 2, 2] })
    const flat = answerBlastRadius({ inventory: inv, at: AT, baseline: 'flat' })
    expect(r.summary.openPairs).toBeLessThanOrEqual(flat.summary.openPairs)
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

  it('a rule allowing only ICMP errors or replies opens no lateral path (s44 QA retest F4)', () => {
    // as connlist lists no line for them alone: no connection of their own
    const all = { kind: 'labels', match: labelSet(), expressions: [], global: false } as const
    const inv = inventoryOf(
      workload('a', '10.9.0.1', { role: 'a' }),
      workload('b', '10.9.0.2', { role: 'b' }),
    )
    const only = (services: string[]): PolicySet => ({
      policies: [
        {
          name: 'p',
          owner: 'o',
          scope: labelSet(),
          file: 'p.yaml',
          rules: [
            {
              id: 'r',
              action: 'allow',
              from: [all],
              to: [all],
              services: services.map((x) => parseService(x) as Service),
              emergency: false,
            },
          ],
        },
      ],
      enforcement: [],
    })
    const paths = (services: string[]): number =>
      answerBlastRadius({ inventory: inv, policySet: only(services), at: AT, baseline: 'policy' })
        .summary.openLateralPaths
    expect(paths(['icmp/3'])).toBe(0)
    expect(paths(['icmp/0', 'icmp/14'])).toBe(0)
    expect(paths(['icmp/8'])).toBe(2)
    // and with --assume-exploitable naming an error only, under a rule that allows more
    const r = answerBlastRadius({
      inventory: inv,
      policySet: only(['icmp']),
      at: AT,
      baseline: 'policy',
      exploitable: svc('icmp/3'),
    })
    expect(r.summary.openLateralPaths).toBe(0)
  })

  it('a policy baseline without a policy set is a RangeError, not a crash elsewhere', () => {
    expect(() => answerBlastRadius({ inventory, at: AT, baseline: 'policy' })).toThrow(RangeError)
  })
})

describe('the enforced baseline, worked out by hand', () => {
  const labels = (role: string): Selector => ({
    kind: 'labels',
    match: labelSet({ role }),
    expressions: [],
    global: false,
  })
  const allow = (id: string, from: string, to: string, service: string) => ({
    id,
    action: 'allow' as const,
    from: [labels(from)],
    to: [labels(to)],
    services: [parseService(service) as Service],
    emergency: false,
  })
  // lb, web and api in monitor or observe, db enforcing; the rules lb -> web, web -> api, api -> db
  const inv: Inventory = {
    workloads: [
      { name: 'lb', ip: '10.7.0.1', labels: { role: 'lb' } },
      { name: 'web', ip: '10.7.0.2', labels: { role: 'web' } },
      { name: 'api', ip: '10.7.0.3', labels: { role: 'api' } },
      { name: 'db', ip: '10.7.0.4', labels: { role: 'db', tier: 'crown-jewel' } },
    ].map((w) => ({ name: w.name, addresses: [{ ip: w.ip }], labels: labelSet(w.labels) })),
    externals: [],
    labelRules: [],
  }
  const set: PolicySet = {
    policies: [
      {
        name: 'shop',
        owner: 'o',
        scope: labelSet(),
        file: 'shop.yaml',
        rules: [
          allow('lb-web', 'lb', 'web', 'tcp/443'),
          allow('web-api', 'web', 'api', 'tcp/8443'),
          allow('api-db', 'api', 'db', 'tcp/5432'),
        ],
      },
    ],
    enforcement: [
      { selector: labels('db'), mode: 'enforce' },
      { selector: labels('web'), mode: 'monitor' },
      { selector: labels('api'), mode: 'monitor' },
    ],
  }

  it('open among the three that do not enforce; only what the policy allows to and from db', () => {
    const r = answerBlastRadius({ inventory: inv, policySet: set, at: AT, baseline: 'enforced' })
    // lb, web, api reach each other on every service (6 pairs, `any` once each); api -> db on
    // tcp/5432 (db's ingress allows it); lb -> db and web -> db are dropped at db, db reaches nothing
    expect(figures(r)).toEqual({
      lb: [2, 3, 2],
      web: [2, 3, 2],
      api: [3, 3, 3],
      db: [0, 0, 0],
    })
    expect(r.summary).toMatchObject({
      openLateralPaths: 7,
      openPairs: 7,
      transitivePairs: 9,
      sourcesReachingCrownJewels: 3,
    })
    expect(byName(r)['lb']?.paths).toEqual([
      { to: 'db', hops: 2, path: ['lb', 'api', 'db'], services: ['any', 'tcp/5432'] },
    ])
    // flat: 12 pairs; policy (the target): lb -> web -> api -> db, 3 pairs, transitive 3 + 2 + 1
    expect(r.summary.comparedWith).toMatchObject({ label: 'flat', openPairs: 12 })
    expect(r.summary.reduction).toMatchObject({
      from: 'flat',
      to: 'enforced',
      openLateralPaths: 41.7, // 12 -> 7
      openPairs: 41.7,
      meanTransitive: 25, // 12 -> 9
      sourcesReachingCrownJewels: 0, // 3 -> 3
    })
    expect(r.summary.target).toMatchObject({
      label: 'policy',
      openLateralPaths: 3,
      openPairs: 3,
      transitivePairs: 6,
      sourcesReachingCrownJewels: 3,
    })
    expect(r.summary.targetReduction).toMatchObject({ from: 'flat', to: 'policy', openPairs: 75 })
    expect(r.summary.rollout).toEqual({
      openLateralPaths: 55.6, // (12 - 7) / (12 - 3)
      openPairs: 55.6,
      meanDirect: 55.6,
      meanTransitive: 50, // (12 - 9) / (12 - 6)
      sourcesReachingCrownJewels: null, // the policy closes no path to db
    })
  })

  it('nothing enforcing is flat; everything enforcing is the policy', () => {
    const none = answerBlastRadius({
      inventory: inv,
      policySet: { ...set, enforcement: [] },
      at: AT,
      baseline: 'enforced',
    })
    expect(none.summary).toMatchObject({ openLateralPaths: 12, openPairs: 12, transitivePairs: 12 })
    expect(none.summary.reduction?.openLateralPaths).toBe(0)
    expect(none.summary.rollout?.openPairs).toBe(0)
    const all = answerBlastRadius({
      inventory: inv,
      policySet: { ...set, enforcement: [{ selector: { kind: 'any' }, mode: 'enforce' }] },
      at: AT,
      baseline: 'enforced',
    })
    const pol = answerBlastRadius({ inventory: inv, policySet: set, at: AT, baseline: 'policy' })
    expect(figures(all)).toEqual(figures(pol))
    expect(all.summary.rollout?.openPairs).toBe(100)
    // the policy baseline ignores modes and has no target
    expect(pol.summary.target).toBeUndefined()
    expect(pol.summary.rollout).toBeUndefined()
  })

  it('a dual-stack pair whose IPv6 addresses enforce: each workload enforces at every address (its one mode, the strongest), so only the ICMPv6 the policy allows is open', () => {
    const dual: Inventory = {
      workloads: ['a', 'b'].map((name, i) => ({
        name,
        addresses: [{ ip: `10.8.0.${i + 1}` }, { ip: `2001:db8:8::${i + 1}` }],
        labels: labelSet({ role: name }),
      })),
      externals: [],
      labelRules: [],
    }
    const ping: PolicySet = {
      policies: [
        {
          name: 'p',
          owner: 'o',
          scope: labelSet(),
          file: 'p.yaml',
          rules: [allow('ping6', 'a', 'b', 'icmpv6/128')],
        },
      ],
      // the IPv6 addresses enforce, the IPv4 ones alone would observe: a and b enforce
      enforcement: [
        {
          selector: { kind: 'cidr', cidr: parseCidr('2001:db8:8::/64') as Cidr, except: [] },
          mode: 'enforce',
        },
      ],
    }
    const g = enforcedReachGraph(dual, ping, AT)
    const ab = edgeServices(g, g.nodeOf[0] as number, g.nodeOf[1] as number)
    const ba = edgeServices(g, g.nodeOf[1] as number, g.nodeOf[0] as number)
    for (const s of [ab, ba]) {
      expect(s?.has(6, 22) ?? false).toBe(false) // IPv4: no rule, and both ends enforce
      expect(s?.has(1, 8) ?? false).toBe(false)
    }
    expect(ab?.has(58, 128)).toBe(true) // allowed by ping6
    expect(ab?.has(58, 135)).toBe(false)
    expect(ba?.has(58, 128) ?? false).toBe(false)
  })

  it('flat joins workloads that share an address family only: IPv4-only never reaches IPv6-only', () => {
    const addrs: Record<string, string[]> = {
      v4a: ['10.9.0.1'],
      v4b: ['10.9.0.2'],
      v6: ['2001:db8:9::3'],
      dual: ['10.9.0.4', '2001:db8:9::4'],
    }
    const mixed: Inventory = {
      workloads: Object.entries(addrs).map(([name, ips]) => ({
        name,
        addresses: ips.map((ip) => ({ ip })),
        labels: labelSet({ role: name }),
      })),
      externals: [],
      labelRules: [],
    }
    const flat = answerBlastRadius({ inventory: mixed, at: AT, baseline: 'flat' })
    // direct: v4a reaches v4b and dual, v4b reaches v4a and dual, v6 reaches dual, dual the
    // three others; transitive: everyone reaches the three others, through dual; one service
    // (`any` of the shared families) per pair
    expect(figures(flat)).toEqual({
      v4a: [2, 3, 2],
      v4b: [2, 3, 2],
      v6: [1, 3, 1],
      dual: [3, 3, 3],
    })
    expect(flat.summary).toMatchObject({ openPairs: 8, openLateralPaths: 8 })
    // v6 reaches v4a by lateral movement through dual, not directly
    const g = flatReachGraph(mixed, AT)
    const v4a = g.nodeOf[0] as number
    const v6 = g.nodeOf[2] as number
    const dual = g.nodeOf[3] as number
    expect(edgeServices(g, v6, v4a)).toBeUndefined()
    expect(edgeServices(g, v4a, v6)).toBeUndefined()
    // between IPv4 addresses: every service but ICMPv6; the dual-stack pair: every service
    expect(edgeServices(g, v4a, dual)?.has(58, 128)).toBe(false)
    expect(edgeServices(g, v4a, dual)?.has(1, 8)).toBe(true)
    expect(edgeServices(g, v6, dual)?.has(1, 8)).toBe(false)
    expect(edgeServices(g, dual, dual)?.isAny).toBe(true)
    // with nothing enforcing, `enforced` is `flat` on a mixed estate too
    const none = answerBlastRadius({
      inventory: mixed,
      policySet: { policies: [], enforcement: [] },
      at: AT,
      baseline: 'enforced',
    })
    expect(figures(none)).toEqual(figures(flat))
    expect(none.summary.reduction?.openPairs).toBe(0)
  })

  it('with --compare, the reduction is from today to the other policy; target and rollout stay', () => {
    const shop = set.policies[0] as Policy
    const next: PolicySet = {
      ...set,
      policies: [{ ...shop, rules: shop.rules.filter((r) => r.id !== 'lb-web') }],
    }
    const r = answerBlastRadius({
      inventory: inv,
      policySet: set,
      at: AT,
      baseline: 'enforced',
      compare: { label: 'next', policySet: next },
    })
    expect(r.summary.comparedWith).toMatchObject({ label: 'next', openPairs: 2 })
    expect(r.summary.reduction).toMatchObject({ from: 'enforced', to: 'next', openPairs: 71.4 }) // 7 -> 2
    expect(r.summary.target).toMatchObject({ label: 'policy', openPairs: 3 })
    expect(r.summary.rollout?.openPairs).toBe(55.6)
  })

  it('PolicyReachability under enforced rebuilds on a policy change', () => {
    const live = PolicyReachability.build(inv, set, AT, { enforced: true })
    const shop = set.policies[0] as Policy
    const u = live.updatePolicy('shop', { ...shop, rules: shop.rules.slice(0, 2) })
    expect(u.mode).toBe('full')
    const api = live.graph.nodeOf[2] as number
    expect(live.figures.direct[api]).toBe(2) // api -> db is gone
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
    const r = await blastRadiusAt('-o', 'json')
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
    const md = await blastRadiusAt('--baseline', 'flat', '--compare', `${DIR}policy`, '-o', 'md')
    expect(md.code).toBe(0)
    expect(md.stdout).toContain('Reduction from flat to policy:')
    const dot = await blastRadiusAt('--baseline', 'flat', '--from', 'edge-lb', '-o', 'dot')
    expect(dot.code).toBe(0)
    expect(dot.stdout).toMatch(/"edge-lb" -> "db-1" \[color=red/)
    expect(dot.stdout).toContain('"db-1" [shape=doubleoctagon')
  })

  it('--baseline enforced: text and -o json give today, flat, the policy target and the rollout', async () => {
    // test/fixtures/blast-estate: only db-1 enforces (the rest of prod monitors), so the six
    // others reach each other on every service and nothing reaches db-1, which no rule opens
    const args = ['--baseline', 'enforced']
    const json = await blastRadiusAt(...args, '-o', 'json')
    expect(json.stderr).toBe('')
    expect(json.code).toBe(0)
    const doc = JSON.parse(json.stdout) as BlastRadiusResult
    expect(doc.baseline).toBe('enforced')
    expect(doc.summary).toMatchObject({
      openLateralPaths: 30,
      openPairs: 30,
      transitivePairs: 30,
      sourcesReachingCrownJewels: 0,
      comparedWith: { label: 'flat', openPairs: 42 },
      reduction: { from: 'flat', to: 'enforced', openPairs: 28.6 },
      target: { label: 'policy', openPairs: 7, transitivePairs: 9 },
      targetReduction: { from: 'flat', to: 'policy', openPairs: 83.3 },
      rollout: { openPairs: 34.3, meanTransitive: 36.4, sourcesReachingCrownJewels: 100 },
    })
    expect(doc.sources.find((x) => x.workload === 'db-1')).toMatchObject({ direct: 0 })
    const text = await blastRadiusAt(...args)
    expect(text.code).toBe(0)
    expect(text.stdout).toContain('baseline enforced at 2026-11-22')
    expect(text.stdout).toContain('reduction from flat to enforced: open lateral paths 28.6%')
    expect(text.stdout).toContain('target policy (every workload enforcing): open lateral paths 7')
    expect(text.stdout).toContain(
      "rollout, share of the target's reduction in force: open lateral paths 34.3%",
    )
    const md = await blastRadiusAt(...args, '-o', 'md')
    expect(md.code).toBe(0)
    expect(md.stdout).toContain('Target `policy` (every workload enforcing)')
    // the same comparison figures as the text (open pairs and mean direct reach were missing)
    for (const sentence of [
      'reduction from flat to enforced: open lateral paths 28.6%, open source-destination pairs 28.6%, mean direct reach 28.6%',
      'reduction from flat to policy: open lateral paths 83.3%, open source-destination pairs 83.3%, mean direct reach 83.3%',
      "share of the target's reduction in force: open lateral paths 34.3%, open source-destination pairs 34.3%",
    ]) {
      expect(text.stdout).toContain(sentence)
      expect(md.stdout.toLowerCase()).toContain(sentence.toLowerCase())
    }
  })

  it('a --from or --to that selects no workload active at --at warns, not a quiet 0', async () => {
    // a misspelt key gave "0 crown jewels ... sources reaching a crown jewel: 0", exit 0, no word
    const typo = await blastRadiusAt('--to', 'teir=crown-jewel')
    expect(typo.code).toBe(0)
    expect(typo.stderr).toContain(
      'warning policy/unknown-label-key: --to "teir=crown-jewel": no workload carries the label key "teir"',
    )
    expect(typo.stderr).toContain(
      'warning policy/selector-matches-nothing: --to "teir=crown-jewel" selects no workload holding an address at 2026-11-22T00:00:00.000Z',
    )
    const none = await blastRadiusAt('--from', '{role: cache}')
    expect(none.code).toBe(0)
    expect(none.stderr).toMatch(/^--from:1:1 warning policy\/selector-matches-nothing: /m)
    expect(none.stderr).not.toContain('unknown-label-key')
    const ok = await blastRadiusAt('--from', 'role=web', '--to', 'cidr:10.0.3.0/24')
    expect(ok.code).toBe(0)
    expect(ok.stderr).toBe('')
  })

  it('--help says flat reaches only within an address family, as the README does', async () => {
    const help = (await cli('blast-radius', '--help')).stdout.replace(/\s+/g, ' ')
    expect(help).toContain('every workload reaches every other of an address family it shares')
  })

  it('an unknown baseline is a usage error', async () => {
    const r = await cli('blast-radius', '-w', DIR, '--baseline', 'enforcing')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('cli/usage')
    expect(r.stderr).toContain('flat, observed, policy, enforced')
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

describe('blastSelectorWarnings', () => {
  const inv: Inventory = {
    workloads: [
      workload('web-1', '10.0.0.1', { role: 'web' }),
      {
        name: 'old-db',
        addresses: [{ ip: '10.0.0.9', to: Date.UTC(2026, 9, 1) }],
        labels: labelSet({ role: 'db' }),
      },
    ],
    externals: [{ name: 'bank', cidr: parseCidr('198.51.100.0/24') as Cidr, labels: labelSet() }],
    labelRules: [],
  }
  const codes = (sel: Selector, at: number) =>
    blastSelectorWarnings(sel, '--to "x"', inv, at).map((d) => `${d.severity} ${d.code}`)
  const labels = (m: Record<string, string>): Selector => ({
    kind: 'labels',
    match: labelSet(m),
    expressions: [],
    global: true,
  })

  it('warns for a key no workload carries and for no workload active at the instant', () => {
    expect(codes(labels({ role: 'web' }), AT)).toEqual([])
    expect(codes(labels({ tier: 'gold' }), AT)).toEqual([
      'warning policy/unknown-label-key',
      'warning policy/selector-matches-nothing',
    ])
    // old-db held its address until 2026-10-01 (half-open): selected before, not at or after
    expect(codes(labels({ role: 'db' }), Date.UTC(2026, 8, 30))).toEqual([])
    expect(codes(labels({ role: 'db' }), Date.UTC(2026, 9, 1))).toEqual([
      'warning policy/selector-matches-nothing',
    ])
    expect(codes({ kind: 'cidr', cidr: parseCidr('10.0.0.0/30') as Cidr, except: [] }, AT)).toEqual(
      [],
    )
  })

  it('an external is no workload: it selects none, and the hint says so', () => {
    const d = blastSelectorWarnings(
      { kind: 'external', name: 'bank' },
      '--to "{external: bank}"',
      inv,
      AT,
    )
    expect(d.map((x) => x.code)).toEqual(['policy/selector-matches-nothing'])
    expect(d[0]?.hint).toContain('an external')
  })
})
