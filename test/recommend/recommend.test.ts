import { describe, it, expect } from 'vitest'
import { readFileSync } from 'node:fs'
import {
  formatService,
  selectorKey,
  type FlowTuple,
  type Inventory,
  type Policy,
  type PolicySet,
} from '../../src/core/index.js'
import { evaluate } from '../../src/policy/evaluate.js'
import { defaultWorkspace, loadFromSources } from '../../src/policy/index.js'
import {
  recommend,
  renderRecommendation,
  renderReportMarkdown,
  renderReportText,
} from '../../src/recommend/index.js'
import { DAY, T0, edge, inventoryYaml, loadInventory, mapOf, normalise } from './helpers.js'
import type { Edge } from '../../src/discover/types.js'
import { inventoryOf, workload } from '../helpers/workloads.js'

const HOSTS = readFileSync(
  new URL('../fixtures/recommend-estate/inventory/hosts.yaml', import.meta.url),
  'utf8',
)
const INV: Inventory = loadInventory(HOSTS)
const TCP = 6
const UDP = 17

const ADDR: Record<string, string> = {
  internet: '203.0.113.5',
  'bank-sftp': '198.51.100.7',
  '10.9.3.5/32': '10.9.3.5',
  '10.9.3.9/32': '10.9.3.9',
  '10.9.7.0/24': '10.9.7.20',
}
function ip(entity: string): string {
  const w = INV.workloads.find((x) => x.name === entity)
  return w ? (w.addresses[0]?.ip as string) : (ADDR[entity] as string)
}
function tuple(src: string, dst: string, protocol: number, dstPort: number): FlowTuple {
  return { src: ip(src), dst: ip(dst), protocol, dstPort, at: T0 + DAY }
}
function set(policies: readonly Policy[]): PolicySet {
  return { policies, enforcement: [] }
}

const RANGE = Array.from({ length: 10 }, (_, i) => 49152 + i * 2)
/** Figures of traffic seen every hour of the 20-day window: a rule merging such pairs stays continuous. */
const steady = (flows: number): Partial<Edge> => ({
  flows,
  activeDays: 20,
  days: Array.from({ length: 20 }, (_, i) => T0 / DAY + i),
  profile: {
    hourOfWeek: Array<number>(168).fill(flows / 168),
    dayOfMonth: [...Array<number>(20).fill(flows / 20), ...Array<number>(11).fill(0)],
  },
})
const EDGES = [
  edge('web-1', 'api-1', TCP, 443, steady(1000)),
  edge('web-2', 'api-2', TCP, 443, steady(900)),
  edge('api-1', 'db-1', TCP, 5432, { flows: 500 }),
  edge('internet', 'web-1', TCP, 443, { flows: 300 }),
  edge('internet', 'web-2', TCP, 443, { flows: 200 }),
  edge('batch-1', 'bank-sftp', TCP, 22, { flows: 2, pattern: 'month-end', activeDays: 1 }),
  edge('api-1', '10.9.3.5/32', UDP, 53, { flows: 40 }),
  edge('api-2', '10.9.3.9/32', UDP, 53, { flows: 30 }),
  edge('db-1', 'api-1', TCP, 45678, { flows: 7, unknownDirection: 7 }),
  ...RANGE.map((p) => edge('api-1', 'batch-1', TCP, p, { flows: 3 })),
  edge('internet', '10.9.7.0/24', TCP, 80, { flows: 5 }),
  edge('legacy-1', 'db-1', TCP, 5432, { flows: 4 }),
]
const MAP = mapOf(INV, EDGES)

describe('recommend on a hand-built estate', () => {
  const result = recommend(MAP, INV, { maxPrefix: 24 })
  const byId = new Map(
    result.policies.flatMap((p) => p.rules.map((r) => [`${p.name}/${r.id}`, r] as const)),
  )

  it('writes one policy per app and env scope, rules between label selectors with readable ids', () => {
    expect(result.policies.map((p) => [p.name, p.scope])).toEqual([
      ['pay-prod', { app: 'pay', env: 'prod' }],
      ['shop-prod', { app: 'shop', env: 'prod' }],
    ])
    expect([...byId.keys()].sort()).toEqual(
      [
        'pay-prod/api-to-10-9-3-0-28-udp-53',
        'pay-prod/api-to-batch-tcp-49152-49170',
        'pay-prod/api-to-db-tcp-5432',
        'pay-prod/batch-to-bank-sftp-tcp-22',
        'pay-prod/legacy-1-to-db-tcp-5432',
        'pay-prod/web-shop-prod-to-api-tcp-443',
        'shop-prod/internet-to-web-tcp-443',
      ].sort(),
    )
    const r = byId.get('pay-prod/web-shop-prod-to-api-tcp-443')
    // the client is outside the policy's scope: global, full label set; the server is scoped
    expect(r?.from.map(selectorKey)).toEqual([
      '{app=shop,env=prod,owner=team-shop,role=web} global',
    ])
    expect(r?.to.map(selectorKey)).toEqual(['{owner=team-pay,role=api}'])
    // the rule's owner is the policy's (team-pay), so the rule leaves it to the fallback
    expect(r?.owner).toBeUndefined()
    expect(r?.reason).toMatch(/1900 flow/)
    expect(r?.evidence).toMatchObject({
      flows: 1900,
      pattern: 'continuous',
      pairs: ['web-1 -> api-1', 'web-2 -> api-2'],
    })
    // a workload without labels is selected by name
    expect(byId.get('pay-prod/legacy-1-to-db-tcp-5432')?.from).toEqual([
      { kind: 'workload', name: 'legacy-1', global: true },
    ])
  })

  it('warns of an --owner that names no proposed policy and no scope value (a typo)', () => {
    const map = mapOf(INV, [edge('web-1', 'api-1', 6, 443, { flows: 3 })])
    const name = recommend(map, INV).policies[0]?.name ?? ''
    const r = recommend(map, INV, { owners: { [name]: 'team-a', 'no-such-policy': 'team-b' } })
    expect(r.policies[0]?.owner).toBe('team-a')
    const unused = r.report.diagnostics.filter((d) => d.code === 'recommend/unused-owner')
    expect(unused).toHaveLength(1)
    expect(unused[0]?.message).toContain('no-such-policy')
    // a scope label value is a key too
    const byValue = recommend(map, INV, { owners: { prod: 'team-c' } })
    expect(byValue.report.diagnostics.map((d) => d.code)).not.toContain('recommend/unused-owner')
  })

  it('-o md counts one rule in one policy in the singular', () => {
    const r = recommend(mapOf(INV, [edge('web-1', 'api-1', 6, 443, { flows: 3 })]), INV)
    expect(r.report.totals).toMatchObject({ rules: 1, policies: 1 })
    const md = renderReportMarkdown(r.report)
    expect(md).toContain('**1** rule in **1** policy covers **')
    expect(md).not.toMatch(/\(1 days\)/)
    const day = recommend(
      mapOf(INV, [edge('web-1', 'api-1', 6, 443, { flows: 3 })], { start: T0, end: T0 + DAY }),
      INV,
    )
    expect(renderReportMarkdown(day.report)).toContain('(1 day)')
    expect(renderReportText(day.report)).toContain('(1 day)')
  })

  it('counts a protocol without ports (GRE) as one service in the over-permission figures', () => {
    const r = recommend(mapOf(INV, [edge('web-1', 'api-1', 47, 0, { flows: 3 })]), INV)
    expect(r.report.overPermission.find((o) => o.unit === 'identity')).toMatchObject({
      allowed: 1,
      observed: 1,
      extra: 0,
    })
  })

  it('names ESP, AH and GRE rules and services by the protocol (esp, not proto/50), whole', () => {
    const r = recommend(
      mapOf(INV, [
        edge('web-1', 'api-1', 50, 0, { flows: 3 }),
        edge('web-1', 'api-1', 51, 0, { flows: 3 }),
        edge('web-1', 'api-1', 47, 0, { flows: 3 }),
      ]),
      INV,
    )
    const rules = r.policies.flatMap((p) => p.rules)
    expect(rules.map((x) => x.id).sort()).toEqual(
      ['web-shop-prod-to-api-ah', 'web-shop-prod-to-api-esp', 'web-shop-prod-to-api-gre'].sort(),
    )
    expect(rules.flatMap((x) => x.services.map(formatService)).sort()).toEqual(['ah', 'esp', 'gre'])
    expect(rules.flatMap((x) => x.services)).toContainEqual({
      protocol: 50,
      ports: { lo: 0, hi: 65535 },
    })
  })

  it('proposes no rule for an address a workload holds at other times (a CIDR has no time)', () => {
    const inv = loadInventory(`apiVersion: bulkhead.dev/v1
kind: Inventory
workloads:
  - name: api-1
    addresses: [10.1.2.10]
    labels: { role: api, app: shop, env: prod }
  - name: ci-1
    addresses: [{ ip: 10.2.0.7, from: 2026-11-01T00:00:00Z, to: 2026-11-06T10:00:00Z }]
    labels: { role: build, app: ci, env: dev }
`)
    const edges = [
      edge('10.2.0.7', 'api-1', TCP, 443, { flows: 3 }),
      edge('10.2.0.0/24', 'api-1', TCP, 443, { flows: 5 }),
    ]
    const map = mapOf(inv, edges)
    const r = recommend(
      {
        ...map,
        entities: [
          ...map.entities,
          { id: '10.2.0.7', kind: 'unmanaged', name: '10.2.0.7', labels: {} },
          { id: '10.2.0.0/24', kind: 'unmanaged', name: '10.2.0.0/24', labels: {} },
        ],
      },
      inv,
    )
    expect(r.report.excluded.map((e) => [e.src, e.reason])).toEqual([
      ['10.2.0.7', 'time-bound-address'],
    ])
    expect(r.report.diagnostics.map((d) => d.code)).toContain('recommend/time-bound-address')
    // the block's rule leaves the address out, so it never reaches ci-1 either
    const from = r.policies.flatMap((p) => p.rules.flatMap((x) => x.from.map(selectorKey)))
    expect(from).toEqual(['cidr 10.2.0.0/24 except 10.2.0.7/32'])
    expect(r.report.totals.coverage).toBeCloseTo(5 / 8)
  })

  it('allows every observed edge that got a rule, and reports the excluded ones with reasons', () => {
    const excluded = new Set(result.report.excluded.map((e) => `${e.src}>${e.dst}:${e.service}`))
    expect([...excluded].sort()).toEqual(['db-1>api-1:tcp/45678', 'internet>10.9.7.0/24:tcp/80'])
    expect(result.report.excluded.map((e) => e.reason).sort()).toEqual([
      'ephemeral-noise',
      'no-workload-end',
    ])
    for (const e of EDGES) {
      if (
        excluded.has(
          `${e.src}>${e.dst}:${formatService({ protocol: e.protocol, ports: { lo: e.dstPort, hi: e.dstPort } })}`,
        )
      )
        continue
      const v = evaluate(INV, set(result.policies), tuple(e.src, e.dst, e.protocol, e.dstPort))
      expect(v.decision, `${e.src} -> ${e.dst} ${e.dstPort}`).toBe('allowed')
    }
    // the noise edge is the reply of an allowed connection
    const reply = evaluate(
      INV,
      set(result.policies),
      { ...tuple('db-1', 'api-1', TCP, 45678), srcPort: 5432 },
      { reply: true },
    )
    expect(reply.decision).toBe('allowed')
    expect(result.report.diagnostics.map((d) => d.code)).toEqual(
      expect.arrayContaining([
        'recommend/ephemeral-noise',
        'recommend/no-workload-end',
        'recommend/port-range',
        'recommend/time-pattern',
      ]),
    )
  })

  it('recommend/time-pattern says how many flagged rules it leaves out of its list', () => {
    // seven edges seen once, on seven ports: seven rules flagged `once` (by hand)
    const ports = [22, 80, 443, 5432, 6379, 8080, 9090]
    const once = recommend(
      mapOf(
        INV,
        ports.map((p) =>
          edge('web-1', 'api-1', TCP, p, { flows: 1, pattern: 'once', activeDays: 1 }),
        ),
      ),
      INV,
    )
    const tp = once.report.diagnostics.find((d) => d.code === 'recommend/time-pattern')
    expect(tp?.message).toMatch(/^7 rule\(s\) /)
    // five named, the rest counted: a list of five read as the whole of it
    expect(tp?.message).toMatch(/: (\S+, ){4}\S+, and 2 more \(see the flagged rules\)$/)
  })

  it('denies what was not observed: lateral movement, dev to prod, other ports', () => {
    const ps = set(result.policies)
    for (const [s, d, port] of [
      ['web-1', 'db-1', 5432],
      ['dev-web-1', 'api-1', 443],
      ['web-1', 'api-1', 22],
      ['db-1', 'bank-sftp', 22],
      ['batch-1', 'api-1', 443],
      ['internet', 'api-1', 443],
      ['internet', 'db-1', 5432],
      ['api-1', 'batch-1', 49151],
      ['legacy-1', 'api-1', 5432],
    ] as const) {
      expect(evaluate(INV, ps, tuple(s, d, TCP, port)).decision, `${s} -> ${d} ${port}`).toBe(
        'denied',
      )
    }
  })

  it('turns internet sources into one rule from 0.0.0.0/0 and ::/0 minus private ranges', () => {
    const r = byId.get('shop-prod/internet-to-web-tcp-443')
    expect(r?.from.map((s) => (s.kind === 'cidr' ? s.cidr.text : s.kind))).toEqual([
      '0.0.0.0/0',
      '::/0',
    ])
    expect(
      r?.from.every(
        (s) =>
          s.kind === 'cidr' &&
          s.except.some((c) => c.text === '10.0.0.0/8' || c.text === 'fc00::/7'),
      ),
    ).toBe(true)
    expect(r?.evidence).toMatchObject({ flows: 500 })
  })

  it('aggregates unmanaged private blocks to the smallest covering prefix, never wider than --max-prefix', () => {
    const r = byId.get('pay-prod/api-to-10-9-3-0-28-udp-53')
    expect(r?.to.map(selectorKey)).toEqual(['cidr 10.9.3.0/28'])
    expect(result.report.aggregated).toEqual([
      { cover: '10.9.3.0/28', blocks: ['10.9.3.5/32', '10.9.3.9/32'] },
    ])
    // with /29 the two hosts fall into different /29 blocks: each stays as narrow as it is
    const narrow = recommend(MAP, INV, { maxPrefix: 29 })
    const keys = narrow.policies
      .flatMap((p) => p.rules.flatMap((x) => x.to.map(selectorKey)))
      .filter((k) => k.startsWith('cidr 10.9'))
    expect(keys.sort()).toEqual(['cidr 10.9.3.5/32', 'cidr 10.9.3.9/32'])
    expect(narrow.report.aggregated).toEqual([])
  })

  it('proposes many high ports to one destination as a range, flagged, and counts the range as over-permission', () => {
    const r = byId.get('pay-prod/api-to-batch-tcp-49152-49170')
    expect(r?.services).toEqual([{ protocol: TCP, ports: { lo: 49152, hi: 49170 } }])
    expect(r?.evidence).toMatchObject({ observedPorts: 10 })
    const rr = result.report.rules.find((x) => x.id === r?.id)
    expect(rr?.flags).toContain('port-range')
    const identity = result.report.overPermission.find((o) => o.unit === 'identity')
    // 19 ports allowed in the range, 10 observed; every other rule is exact at identity granularity
    expect(identity).toMatchObject({ extra: 9 })
    const workload = result.report.overPermission.find((o) => o.unit === 'workload')
    // plus the replica pairs never seen: web-1->api-2, web-2->api-1, api-2->db-1, api-2->batch-1 (19 ports)
    expect(workload?.extra).toBe(9 + 1 + 1 + 1 + 19)
  })

  it("a rule's evidence unites its pairs' days: two pairs each seen once, on two days, are not 'once'", () => {
    const onDay = (d: number): Partial<Edge> => {
      const hourOfWeek = Array<number>(168).fill(0)
      hourOfWeek[10] = 3
      const dayOfMonth = Array<number>(31).fill(0)
      dayOfMonth[d] = 3
      return {
        flows: 3,
        activeDays: 1,
        days: [T0 / DAY + d],
        firstSeen: T0 + d * DAY,
        lastSeen: T0 + d * DAY + 60_000,
        profile: { hourOfWeek, dayOfMonth },
        pattern: 'once',
      }
    }
    const r = recommend(
      mapOf(INV, [
        edge('web-1', 'api-1', TCP, 8080, onDay(3)),
        edge('web-2', 'api-2', TCP, 8080, onDay(9)),
      ]),
      INV,
    )
    const rule = r.report.rules.find((x) => x.id.endsWith('tcp-8080'))
    const ev = r.policies.flatMap((p) => p.rules).find((x) => x.id === rule?.id)?.evidence
    expect(ev).toMatchObject({ flows: 6, activeDays: 2 })
    expect(ev?.pattern).not.toBe('once')
  })

  it('flags time patterns, comments them in the YAML, and warns when the window is too short for --expect', () => {
    const rr = result.report.rules.find((x) => x.id === 'batch-to-bank-sftp-tcp-22')
    expect(rr?.flags).toEqual(['month-end'])
    const files = renderRecommendation(result)
    expect(files.get('pay-prod.yaml')).toMatch(
      /# pattern month-end: active on 1 day\(s\)[^\n]*\n\s+- id: batch-to-bank-sftp-tcp-22/,
    )
    expect(result.report.diagnostics.some((d) => d.code === 'recommend/short-window')).toBe(false)
    const short = recommend(MAP, INV, { expect: ['monthly'] })
    const warn = short.report.diagnostics.find((d) => d.code === 'recommend/short-window')
    expect(warn?.severity).toBe('warning')
    expect(warn?.message).toMatch(/20\.0 days/)
    const long = recommend(mapOf(INV, EDGES, { start: T0, end: T0 + 40 * DAY }), INV, {
      expect: ['monthly'],
    })
    expect(long.report.diagnostics.some((d) => d.code === 'recommend/short-window')).toBe(false)
  })

  it('reports coverage per rule and overall', () => {
    const total = EDGES.reduce((n, e) => n + e.flows, 0)
    expect(result.report.totals.flows).toBe(total)
    expect(result.report.totals.coveredFlows).toBe(total - 7 - 5)
    expect(result.report.totals.coverage).toBeCloseTo((total - 12) / total)
    const sum = result.report.rules.reduce((n, r) => n + r.coverage, 0)
    expect(sum).toBeCloseTo(result.report.totals.coverage)
  })

  it('takes owners from the owner label, the owner mapping, or flags them', () => {
    expect(result.policies.map((p) => p.owner)).toEqual(['team-pay', 'team-shop'])
    const mixed = loadInventory(
      HOSTS.replace('owner: team-shop }\n  - name: api-1', 'owner: team-web }\n  - name: api-1'),
    )
    const r2 = recommend(mapOf(mixed, EDGES), mixed)
    const shop = r2.policies.find((p) => p.name === 'shop-prod')
    expect(shop?.owner).toBe('unassigned')
    // each rule still names the owner its protected workloads agree on
    expect(shop?.rules.map((x) => x.owner).sort()).toEqual(['team-shop', 'team-web'])
    expect(
      r2.report.rules
        .filter((x) => x.policy === 'shop-prod')
        .every((x) => !x.flags.includes('no-owner')),
    ).toBe(true)
    expect(r2.report.diagnostics.some((d) => d.code === 'recommend/no-owner')).toBe(true)
    const r3 = recommend(mapOf(mixed, EDGES), mixed, { owners: { shop: 'team-storefront' } })
    expect(r3.policies.find((p) => p.name === 'shop-prod')?.owner).toBe('team-storefront')
  })

  it('writes YAML that loads without diagnostics and round-trips (load → render → load)', () => {
    const files = renderRecommendation(result)
    const policyFiles = [...files].map(([path, text]) => ({ path: `policy/${path}`, text }))
    const loaded = loadFromSources(
      defaultWorkspace('.'),
      [{ path: 'inventory/hosts.yaml', text: HOSTS }],
      policyFiles,
      new Date(T0),
    )
    expect(loaded.diagnostics).toEqual([])
    expect(normalise(loaded.policySet.policies)).toEqual(normalise(result.policies))
    // and once more through the renderer
    const again = loaded.policySet.policies.map((p) => ({
      path: `policy/${p.name}.yaml`,
      text: renderRecommendation({ policies: [p], comments: new Map() }).get(p.file) ?? '',
    }))
    const loaded2 = loadFromSources(
      defaultWorkspace('.'),
      [inventoryYaml(INV)],
      again,
      new Date(T0),
    )
    expect(loaded2.diagnostics).toEqual([])
    expect(normalise(loaded2.policySet.policies)).toEqual(normalise(loaded.policySet.policies))
  })

  it('renders text and Markdown summaries', () => {
    const text = renderReportText(result.report)
    expect(text).toMatch(/8 rules in 2 policies|7 rules in 2 policies/)
    expect(text).toMatch(/no rule proposed \(ephemeral-noise\): 1 edge/)
    const md = renderReportMarkdown(result.report)
    expect(md).toMatch(/\| `pay-prod.yaml` \| 6 \| team-pay \|/)
    expect(md).toMatch(/## Flagged rules/)
  })
})

describe('granularity', () => {
  const inv = loadInventory(
    HOSTS.replace(
      'labels: { role: web, app: shop, env: prod, owner: team-shop }',
      'labels: { role: web, app: shop, env: prod, owner: team-shop, loc: eu }',
    ),
  )
  const edges = [edge('web-1', 'api-1', TCP, 443), edge('web-2', 'api-1', TCP, 443)]
  it('identity separates label sets that role granularity merges', () => {
    const id = recommend(mapOf(inv, edges), inv, { granularity: 'identity' })
    expect(id.report.totals.rules).toBe(2)
    const role = recommend(mapOf(inv, edges), inv, { granularity: 'role' })
    expect(role.report.totals.rules).toBe(1)
    const r = role.policies[0]?.rules[0]
    expect(r?.id).toBe('web-shop-prod-to-api-tcp-443')
    expect(r?.from.map(selectorKey)).toEqual(['{app=shop,env=prod,role=web} global'])
    // web-2 lacks loc: at identity granularity its selector says so, so web-1 is not matched by it
    const sels = id.policies[0]?.rules.flatMap((x) => x.from.map(selectorKey)) ?? []
    expect(sels).toContain('{app=shop,env=prod,owner=team-shop,role=web; !loc} global')
  })
  it('app granularity selects whole apps', () => {
    const app = recommend(mapOf(inv, edges), inv, { granularity: 'app' })
    const r = app.policies[0]?.rules[0]
    expect(r?.id).toBe('shop-prod-to-pay-prod-tcp-443')
    expect(r?.to.map(selectorKey)).toEqual(['{}'])
    // over-permission: every shop-prod workload to every pay-prod workload on 443
    const w = app.report.overPermission.find((o) => o.unit === 'workload')
    expect(w).toMatchObject({ allowed: 2 * 4, observed: 2, extra: 6 })
  })
  it('over-permission leaves out a workload with itself, as connlist does', () => {
    // shop-prod (web-1, web-2) to itself on tcp/7000: 2 pairs of distinct workloads, not 4
    const app = recommend(mapOf(inv, [edge('web-1', 'web-2', TCP, 7000)]), inv, {
      granularity: 'app',
    })
    expect(app.policies[0]?.rules).toHaveLength(1)
    const w = app.report.overPermission.find((o) => o.unit === 'workload')
    expect(w).toMatchObject({ allowed: 2, observed: 1, extra: 1 })
    expect(w?.examples).toEqual(['web-2 -> web-1 tcp/7000'])
  })
  it('a workload talking to itself observes its label set pair: identity over-permission 0, the other workloads of that label set counted per workload', () => {
    // db-1, db-2, db-3 share one label set; only db-2 was seen, to itself, on tcp/22 (s30 hL:
    // the identity count left the self-traffic out and said 1 extra at identity granularity)
    const same = inventoryOf(
      ...['db-1', 'db-2', 'db-3'].map((n, i) =>
        workload(n, `10.1.0.${i + 1}`, { role: 'db', env: 'dev' }),
      ),
    )
    const r = recommend(mapOf(same, [edge('db-2', 'db-2', TCP, 22)]), same, {
      granularity: 'identity',
    })
    expect(r.policies.flatMap((p) => p.rules)).toHaveLength(1)
    const byUnit = (u: string) => r.report.overPermission.find((o) => o.unit === u)
    // by hand: one label-set pair on one service, observed (db-2 -> db-2)
    expect(byUnit('identity')).toMatchObject({ allowed: 1, observed: 1, extra: 0 })
    // 3 × 2 pairs of distinct workloads on tcp/22, none observed
    expect(byUnit('workload')).toMatchObject({ allowed: 6, observed: 0, extra: 6 })
  })
  it('over-permission counts a workload pair on a service only when they have an address pair of its family (ICMPv6: IPv6, ICMP: IPv4), as connlist does', () => {
    // held-out (hE, s33): app-1 and app-2 share a label set, app-2 has no IPv6 address; pacs pinged
    // app-1 over ICMPv6 and ran tcp/104 to app-1 over IPv6. The report said pacs -> app-2
    // icmpv6/128 was allowed but never observed, a pair that cannot connect (connlist lists none)
    const inv = inventoryOf(
      workload('app-1', ['10.10.2.11', '2001:db8:10::21'], { role: 'app', app: 'ehr' }),
      workload('app-2', '10.10.2.12', { role: 'app', app: 'ehr' }),
      workload('app-3', '2001:db8:10::23', { role: 'app', app: 'ehr' }),
      workload('pacs-1', ['10.10.4.11', '2001:db8:10::41'], { role: 'storage', app: 'pacs' }),
    )
    const r = recommend(
      mapOf(inv, [edge('pacs-1', 'app-1', 58, 128), edge('app-1', 'pacs-1', 1, 8)]),
      inv,
      { granularity: 'identity' },
    )
    const byUnit = (u: string) => r.report.overPermission.find((o) => o.unit === u)
    // by hand: icmpv6/128 from pacs-1 to app-1 and app-3 (IPv6), not app-2 (IPv4 only): 2 allowed,
    // 1 observed; icmp/8 to pacs-1 from app-1 and app-2 (IPv4), not app-3 (IPv6 only): 2 allowed,
    // 1 observed
    expect(byUnit('workload')).toMatchObject({ allowed: 4, observed: 2, extra: 2 })
    expect(byUnit('workload')?.examples).toEqual([
      'app-2 -> pacs-1 icmp/8',
      'pacs-1 -> app-3 icmpv6/128',
    ])
    expect(byUnit('identity')).toMatchObject({ allowed: 2, observed: 2, extra: 0 })
  })
})

describe('merge with an existing policy folder', () => {
  const existingText = `apiVersion: bulkhead.dev/v1
kind: Policy
metadata: { name: pay-prod, owner: team-payments }
scope: { app: pay, env: prod }
rules:
  - id: web-to-api
    from: [{ role: web, app: shop, scope: global }]
    to: [{ role: api }]
    ports: [tcp/443]
    owner: alice
  - id: old-ssh
    from: [{ role: batch }]
    to: [{ role: db }]
    ports: [tcp/22]
`
  const loaded = loadFromSources(
    defaultWorkspace('.'),
    [{ path: 'inventory/hosts.yaml', text: HOSTS }],
    [{ path: 'policy/pay.yaml', text: existingText }],
    new Date(T0),
  )
  it('--owner names a merged proposal by its own name or the existing policy it extends', () => {
    // by hand: the proposal for the existing pay-prod is written as pay-prod-proposed; the
    // unused-owner warning lists that name, so an --owner with it (or with pay-prod, the name the
    // no-owner hint gives) owns the proposal and is no typo; shop-prod's owner is another's
    for (const key of ['pay-prod-proposed', 'pay-prod']) {
      const r = recommend(MAP, INV, { existing: loaded.policySet, owners: { [key]: 'team-x' } })
      expect(r.policies.find((p) => p.name === 'pay-prod-proposed')?.owner).toBe('team-x')
      expect(r.report.diagnostics.map((d) => d.code)).not.toContain('recommend/unused-owner')
    }
  })

  it('proposes only missing rules, in <name>-proposed, and lists unused rules as removal candidates', () => {
    expect(loaded.diagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
    const r = recommend(MAP, INV, { existing: loaded.policySet })
    const names = r.policies.map((p) => p.name)
    expect(names).toEqual(['pay-prod-proposed', 'shop-prod'])
    const ids = r.policies.flatMap((p) => p.rules.map((x) => x.id))
    expect(ids.some((id) => id.includes('web-shop-prod-to-api'))).toBe(false)
    expect(
      r.report.excluded
        .filter((e) => e.reason === 'already-allowed')
        .map((e) => `${e.src}>${e.dst}`)
        .sort(),
    ).toEqual(['web-1>api-1', 'web-2>api-2'])
    expect(r.report.removalCandidates).toEqual([{ policy: 'pay-prod', id: 'old-ssh' }])
    // the existing set plus the proposal allows every edge that got no other exclusion
    const all = set([...loaded.policySet.policies, ...r.policies])
    for (const e of EDGES) {
      if (
        r.report.excluded.some(
          (x) => x.src === e.src && x.dst === e.dst && x.reason !== 'already-allowed',
        )
      )
        continue
      expect(
        evaluate(INV, all, tuple(e.src, e.dst, e.protocol, e.dstPort)).decision,
        `${e.src} -> ${e.dst}`,
      ).toBe('allowed')
    }
    // the proposal loads next to the existing policy
    const files = [...renderRecommendation(r)].map(([path, text]) => ({
      path: `policy/${path}`,
      text,
    }))
    const both = loadFromSources(
      defaultWorkspace('.'),
      [{ path: 'inventory/hosts.yaml', text: HOSTS }],
      [{ path: 'policy/pay.yaml', text: existingText }, ...files],
      new Date(T0),
    )
    expect(both.diagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
    expect(
      both.policySet.policies.find((p) => p.name === 'pay-prod')?.rules.map((x) => [x.id, x.owner]),
    ).toEqual([
      ['web-to-api', 'alice'],
      ['old-ssh', undefined],
    ])
  })
})

describe('merge: an edge is already allowed only when every address its entities stand for is', () => {
  // each rule covers part of an observed edge's entity: the old check judged one stand-in address
  // (192.0.2.1 for the internet, a named external's base address) and called them covered
  const shop = `apiVersion: bulkhead.dev/v1
kind: Policy
metadata: { name: shop-prod, owner: team-shop }
scope: { app: shop, env: prod }
rules:
  - id: testnet-to-web
    from: [{ cidr: 192.0.2.0/24 }]
    to: [{ role: web }]
    ports: [tcp/443]
  - id: web-to-api-expiring
    from: [{ role: web }]
    to: [{ role: api, app: pay, scope: global }]
    ports: [tcp/443]
    expires: 2026-10-05
`
  const pay = `apiVersion: bulkhead.dev/v1
kind: Policy
metadata: { name: pay-prod, owner: team-pay }
scope: { app: pay, env: prod }
rules:
  - id: batch-to-bank-half
    from: [{ role: batch }]
    to: [{ cidr: 198.51.100.0/25 }]
    ports: [tcp/22]
`
  const at = T0 + 10 * DAY
  const load = (shopText: string, payText: string): PolicySet => {
    const l = loadFromSources(
      defaultWorkspace('.'),
      [{ path: 'inventory/hosts.yaml', text: HOSTS }],
      [
        { path: 'policy/shop.yaml', text: shopText },
        { path: 'policy/pay.yaml', text: payText },
      ],
      new Date(at),
    )
    expect(l.diagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
    return l.policySet
  }
  const excluded = (existing: PolicySet, now: number): string[] =>
    recommend(MAP, INV, { existing, now })
      .report.excluded.filter((e) => e.reason === 'already-allowed')
      .map((e) => `${e.src}>${e.dst}`)
      .sort()

  it('proposes rules for edges the existing rules cover in part, or covered only before now', () => {
    // the rule expiring 2026-10-05 covers web → api before then, nothing after
    expect(T0).toBeLessThan(Date.UTC(2026, 9, 5))
    expect(excluded(load(shop, pay), T0)).toEqual(['web-1>api-1', 'web-2>api-2'])
    expect(excluded(load(shop, pay), at)).toEqual([])
  })

  it('an existing deny over a whole edge: no rule, over part of it: a rule; both warned', () => {
    // deny beats allow: an allow proposed under the first deny would allow nothing
    const denyApi = `
  - id: no-web-to-api
    action: deny
    from: [{ role: web }]
    to: [{ role: api, app: pay, scope: global }]
    ports: [tcp/443]
`
    const denyHalfBank = `  - id: no-half-bank
    action: deny
    from: [{ role: batch }]
    to: [{ cidr: 198.51.100.0/25 }]
    ports: [tcp/22]
`
    const existing = load(shop.replace('rules:\n', `rules:${denyApi}`), pay + denyHalfBank)
    const r = recommend(MAP, INV, { existing, now: at })
    expect(
      r.report.excluded
        .filter((e) => e.reason === 'denied-by-existing')
        .map((e) => `${e.src}>${e.dst}`)
        .sort(),
    ).toEqual(['web-1>api-1', 'web-2>api-2'])
    const codes = r.report.diagnostics.filter((d) => d.code === 'recommend/denied-by-existing')
    expect(codes).toHaveLength(2)
    expect(codes.every((d) => d.severity === 'warning')).toBe(true)
    // the partly denied edge still gets its rule, and its flows are counted apart
    const proposed = r.policies.flatMap((p) => p.rules)
    expect(
      proposed.some((x) => x.to.some((t) => t.kind === 'external' && t.name === 'bank-sftp')),
    ).toBe(true)
    const bank = MAP.edges.filter((e) => e.dst === 'bank-sftp')
    expect(bank.length).toBeGreaterThan(0)
    expect(r.report.totals.partlyDeniedFlows).toBe(bank.reduce((n, e) => n + e.flows, 0))
    expect(
      recommend(MAP, INV, { existing: load(shop, pay), now: at }).report.totals,
    ).not.toHaveProperty('partlyDeniedFlows')
  })

  it('a rule covering the whole entity still counts', () => {
    const existing = load(
      shop.replace('cidr: 192.0.2.0/24', 'cidr: 0.0.0.0/0'),
      pay.replace('cidr: 198.51.100.0/25', 'cidr: 198.51.100.0/24'),
    )
    expect(excluded(existing, at)).toEqual([
      'batch-1>bank-sftp',
      'internet>web-1',
      'internet>web-2',
    ])
  })
})

describe('edges the flow source rejected', () => {
  // an internet scan refused by the web servers' security group (AWS `REJECT` on every record),
  // beside the traffic the group accepts, and an edge refused only in part
  const map = mapOf(INV, [
    edge('internet', 'web-1', TCP, 443, { flows: 300 }),
    edge('internet', 'web-1', TCP, 22, { flows: 9, rejected: 9 }),
    edge('internet', 'web-1', TCP, 3389, { flows: 4, rejected: 4 }),
    edge('web-1', 'api-1', TCP, 443, { flows: 10, rejected: 3 }),
  ])
  const result = recommend(map, INV)

  it('propose no rule for an edge every flow of which was rejected, and say so', () => {
    expect(result.report.excluded.map((e) => [e.src, e.dst, e.service, e.flows, e.reason])).toEqual(
      [
        ['internet', 'web-1', 'tcp/22', 9, 'rejected'],
        ['internet', 'web-1', 'tcp/3389', 4, 'rejected'],
      ],
    )
    expect(result.report.diagnostics).toContainEqual(
      expect.objectContaining({ code: 'recommend/rejected', severity: 'warning' }),
    )
    const ps = set(result.policies)
    expect(evaluate(INV, ps, tuple('internet', 'web-1', TCP, 22)).decision).toBe('denied')
    expect(evaluate(INV, ps, tuple('internet', 'web-1', TCP, 3389)).decision).toBe('denied')
  })

  it('keep the rules of edges with accepted flows, also when some of their flows were rejected', () => {
    const ps = set(result.policies)
    expect(evaluate(INV, ps, tuple('internet', 'web-1', TCP, 443)).decision).toBe('allowed')
    expect(evaluate(INV, ps, tuple('web-1', 'api-1', TCP, 443)).decision).toBe('allowed')
    expect(result.report.totals.coveredFlows).toBe(310)
  })
})
