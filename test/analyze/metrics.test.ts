/**
 * Segmentation metrics on test/fixtures/blast-estate: broad rules removed between two policy
 * versions, sensitive workloads under enforce, unexpected east-west edges, exceptions, owners,
 * expiry; and the Prometheus text format.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import {
  labelSet,
  parseService,
  type Inventory,
  type PolicySet,
  type Service,
} from '../../src/core/index.js'
import type { DependencyMap, Edge } from '../../src/discover/index.js'
import { answerMetrics, renderPrometheus, sensitiveKinds } from '../../src/analyze/index.js'
import { jointInstant } from '../../src/analyze/metrics.js'
import { cli } from '../helpers/cli.js'
import { BLAST_ESTATE, loadBlastEstate } from './blast-estate.js'

const DIR = BLAST_ESTATE
const NOW = Date.UTC(2026, 10, 22)
let inventory: Inventory
let policySet: PolicySet
let openPolicy: PolicySet

beforeAll(async () => {
  const { ws, open } = await loadBlastEstate(new Date(NOW))
  inventory = ws.inventory
  policySet = ws.policySet
  openPolicy = open.policySet
  expect(openPolicy.policies.length).toBe(1)
})

const edge = (src: string, dst: string, port: number, flows: number): Edge => ({
  src,
  dst,
  protocol: 6,
  dstPort: port,
  flows,
  packets: flows,
  bytes: 100,
  firstSeen: NOW - 1000,
  lastSeen: NOW - 500,
  activeDays: 1,
  profile: { hourOfWeek: [], dayOfMonth: [] },
  pattern: 'once',
  unknownDirection: 0,
  rejected: 0,
})
const wl = (name: string) => ({ id: name, kind: 'workload' as const, name, labels: {} })

describe('answerMetrics', () => {
  it('broad rules: the open policy had two, the workspace policy none, so two were removed', () => {
    const m = answerMetrics({ inventory, policySet, now: NOW, previous: openPolicy })
    expect(m.broadAllowRules).toMatchObject({ count: 0, previous: 2, removed: 2, added: 0 })
    const back = answerMetrics({ inventory, policySet: openPolicy, now: NOW, previous: policySet })
    expect(back.broadAllowRules).toMatchObject({ count: 2, previous: 0, removed: 0, added: 2 })
    expect(back.broadAllowRules.rules).toEqual(['shop/anything-internal', 'shop/web-to-api'])
  })

  it('sensitive workloads and their enforcement modes', () => {
    const m = answerMetrics({ inventory, policySet, now: NOW })
    expect(m.sensitiveWorkloads).toMatchObject({ total: 2, enforced: 1, notEnforced: ['admin-1'] })
    expect(m.sensitiveWorkloads.byKind['crown-jewel'].enforce).toBe(1)
    expect(m.sensitiveWorkloads.byKind.admin.monitor).toBe(1)
    expect(
      sensitiveKinds({
        name: 'x',
        addresses: [],
        labels: labelSet({ role: 'database', tier: 'crown-jewel' }),
      }),
    ).toEqual(['crown-jewel', 'database'])
  })

  it('lateral movement: open today (only db-1 enforces), with no segmentation and under the policy', () => {
    const m = answerMetrics({ inventory, policySet, now: NOW })
    // as `blast-radius --baseline enforced` on the fixture: 30 of flat's 42 pairs open today,
    // 7 under the policy; every path to the crown jewel db-1 is closed already
    expect(m.lateralMovement).toEqual({
      flat: {
        openLateralPaths: 42,
        openPairs: 42,
        transitivePairs: 42,
        sourcesReachingCrownJewels: 6,
      },
      enforced: {
        openLateralPaths: 30,
        openPairs: 30,
        transitivePairs: 30,
        sourcesReachingCrownJewels: 0,
      },
      policy: {
        openLateralPaths: 7,
        openPairs: 7,
        transitivePairs: 9,
        sourcesReachingCrownJewels: 0,
      },
      rollout: {
        openLateralPaths: 34.3,
        openPairs: 34.3,
        meanDirect: 34.3,
        meanTransitive: 36.4,
        sourcesReachingCrownJewels: 100,
      },
    })
    const text = renderPrometheus(m)
    expect(text).toContain('bulkhead_open_lateral_paths{baseline="enforced"} 30\n')
    expect(text).toContain('bulkhead_open_pairs{baseline="policy"} 7\n')
    expect(text).toContain('bulkhead_sources_reaching_crown_jewels{baseline="flat"} 6\n')
    expect(text).toContain(
      'bulkhead_enforcement_rollout_ratio{figure="open_lateral_paths"} 0.343\n',
    )
    expect(text).toContain(
      'bulkhead_enforcement_rollout_ratio{figure="sources_reaching_crown_jewels"} 1\n',
    )
  })

  it('unexpected east-west: observed workload edges no live rule allows', () => {
    const map: DependencyMap = {
      window: { start: NOW - 1000, end: NOW },
      entities: [
        wl('edge-lb'),
        wl('web-1'),
        wl('api-1'),
        wl('db-1'),
        { id: 'internet', kind: 'unmanaged', name: 'internet', labels: {} },
      ],
      edges: [
        edge('internet', 'edge-lb', 443, 50),
        edge('edge-lb', 'web-1', 443, 40),
        edge('web-1', 'api-1', 8443, 30),
        edge('api-1', 'db-1', 5432, 7),
        edge('web-1', 'db-1', 5432, 2),
      ],
      sources: [],
      diagnostics: [],
    }
    const m = answerMetrics({ inventory, policySet, now: NOW, dependencyMap: map })
    expect(m.unexpectedEastWest).toMatchObject({ edges: 2, flows: 9, checkedEdges: 4 })
    expect(m.unexpectedEastWest?.examples.map((e) => `${e.src}>${e.dst} ${e.service}`)).toEqual([
      'api-1>db-1 tcp/5432',
      'web-1>db-1 tcp/5432',
    ])
    expect(
      answerMetrics({ inventory, policySet: openPolicy, now: NOW, dependencyMap: map })
        .unexpectedEastWest?.edges,
    ).toBe(1)
  })

  it('unexpected east-west: an edge with no real time is judged at now, not 1970; an address held for a time matches', () => {
    const DAY = 86_400_000
    // api-1 holds its address only from ten days ago (IP reuse)
    const timed: Inventory = {
      ...inventory,
      workloads: inventory.workloads.map((w) =>
        w.name === 'api-1' ? { ...w, addresses: [{ ip: '10.0.2.21', from: NOW - 10 * DAY }] } : w,
      ),
    }
    const at = (e: Edge, t: number): Edge => ({ ...e, firstSeen: t, lastSeen: t })
    const map: DependencyMap = {
      window: { start: NOW - 30 * DAY, end: NOW },
      entities: [wl('web-1'), wl('api-1'), wl('db-1')],
      edges: [
        at(edge('web-1', 'api-1', 8443, 3), 0), // no real time (start 0)
        edge('web-1', 'api-1', 8443, 4), // seen while api-1 held the address
        at(edge('web-1', 'api-1', 8443, 5), NOW - 20 * DAY), // before it did: nearest instant
        at(edge('web-1', 'db-1', 5432, 6), 0), // no rule allows it, timed or not
      ],
      sources: [],
      diagnostics: [],
    }
    const m = answerMetrics({ inventory: timed, policySet, now: NOW, dependencyMap: map })
    expect(m.unexpectedEastWest).toMatchObject({ edges: 1, flows: 6, checkedEdges: 4 })
    expect(m.unexpectedEastWest?.examples.map((e) => `${e.src}>${e.dst}`)).toEqual(['web-1>db-1'])
  })

  it('jointInstant: the preferred instant when both addresses hold, else the nearest one', () => {
    const x = { ip: '10.0.0.1', from: 100, to: 200 }
    const y = { ip: '10.0.0.2', from: 150 }
    expect(jointInstant(x, y, 160)).toBe(160)
    expect(jointInstant(x, y, 0)).toBe(150)
    expect(jointInstant(x, y, 1000)).toBe(199)
    expect(jointInstant(x, { ip: '10.0.0.2', from: 200 }, 0)).toBeUndefined()
    expect(jointInstant({ ip: 'a' }, { ip: 'b' }, 0)).toBe(0)
  })

  it('exceptions, emergency rules, owners and expiry', () => {
    const m = answerMetrics({ inventory, policySet, now: NOW })
    expect(m.exceptions).toEqual({ temporary: 1, emergency: 0 })
    expect([m.rulesWithoutOwner, m.rulesExpiringSoon, m.expiredRules]).toEqual([0, 0, 0])
    expect(
      answerMetrics({ inventory, policySet, now: NOW, expiringDays: 90 }).rulesExpiringSoon,
    ).toBe(1)
    expect(answerMetrics({ inventory, policySet, now: Date.UTC(2027, 1, 1) }).expiredRules).toBe(1)
    const shop = policySet.policies[0]
    if (!shop) throw new Error('fixture')
    const emergency: PolicySet = {
      ...policySet,
      policies: [
        {
          ...shop,
          owner: '',
          rules: [
            ...shop.rules,
            {
              ...shop.rules[0]!,
              id: 'break-glass',
              emergency: true,
              expires: NOW + 86_400_000,
              services: [parseService('tcp/3389') as Service],
            },
          ],
        },
      ],
    }
    const e = answerMetrics({ inventory, policySet: emergency, now: NOW })
    expect(e.exceptions).toEqual({ temporary: 2, emergency: 1 })
    expect(e.rulesWithoutOwner).toBe(5)
    expect(e.rulesExpiringSoon).toBe(1)
  })
})

describe('Prometheus text format', () => {
  it('every sample has HELP and TYPE lines and a bulkhead_ name; the text ends with a newline', () => {
    const text = renderPrometheus(
      answerMetrics({ inventory, policySet, now: NOW, previous: openPolicy }),
    )
    expect(text.endsWith('\n')).toBe(true)
    const described = new Set<string>()
    for (const line of text.trimEnd().split('\n')) {
      const help = /^# HELP (bulkhead_[a-z_]+) \S/.exec(line)
      if (help) {
        described.add(help[1] as string)
        continue
      }
      const type = /^# TYPE (bulkhead_[a-z_]+) gauge$/.exec(line)
      if (type) {
        expect(described.has(type[1] as string)).toBe(true)
        continue
      }
      const sample =
        /^(bulkhead_[a-z_]+)(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?\d+(\.\d+)?$/.exec(line)
      expect(sample, line).not.toBeNull()
      expect(described.has(sample?.[1] as string)).toBe(true)
    }
    expect(text).toContain('bulkhead_broad_allow_rules_removed 2\n')
    expect(text).toContain('bulkhead_sensitive_workloads{kind="crown-jewel",mode="enforce"} 1\n')
  })

  it('bulkhead metrics -o prom and -o json', async () => {
    const prom = await cli('metrics', '-w', DIR, '--at', '2026-11-22', '-o', 'prom')
    expect(prom.code).toBe(0)
    expect(prom.stdout).toContain('# TYPE bulkhead_rules_expiring_soon gauge')
    expect(prom.stderr).toContain('discover/no-flows') // no store: a warning, not an error
    const json = await cli(
      'metrics',
      '-w',
      DIR,
      '--at',
      '2026-11-22',
      '--no-flows',
      '--previous',
      `${DIR}policy-open`,
    )
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toMatchObject({
      broadAllowRules: { removed: 2 },
      lateralMovement: { enforced: { openPairs: 30 }, rollout: { openPairs: 34.3 } },
      unexpectedEastWest: null,
    })
    const noLateral = await cli('metrics', '-w', DIR, '--at', '2026-11-22', '--no-flows')
    expect(JSON.parse(noLateral.stdout)).toMatchObject({
      lateralMovement: { flat: { openPairs: 42 } },
    })
    const skipped = await cli('metrics', '-w', DIR, '--no-flows', '--no-lateral', '-o', 'prom')
    expect(skipped.code).toBe(0)
    expect(skipped.stdout).not.toContain('bulkhead_open_lateral_paths')
    const bad = await cli('metrics', '-w', DIR, '-o', 'xml')
    expect(bad.code).toBe(1)
  })

  it('bulkhead metrics -o yaml: the JSON document, as every verb offers yaml', async () => {
    const args = ['metrics', '-w', DIR, '--at', '2026-11-22', '--no-flows']
    const json = await cli(...args, '-o', 'json')
    const yaml = await cli(...args, '-o', 'yaml')
    expect(yaml.code).toBe(0)
    expect(parseYaml(yaml.stdout)).toEqual(JSON.parse(json.stdout))
  })
})
