import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import type { FlowTuple, Inventory, PolicySet, Workload } from '../../src/core/index.js'
import type { Edge } from '../../src/discover/types.js'
import { addressHoldsAt, evaluate, resolveEntity } from '../../src/policy/evaluate.js'
import { defaultWorkspace, loadFromSources } from '../../src/policy/index.js'
import { recommend, renderRecommendation, type Granularity } from '../../src/recommend/index.js'
import { inventoryArb, SEED, TIMES } from '../helpers/model.js'
import { countOutcome, newCounts, type OutcomeCounts } from '../helpers/outcomes.js'
import { edge, inventoryYaml, mapOf, normalise } from './helpers.js'

/** Addresses standing for the non-workload entities of the random maps. */
const PROBE: Record<string, string[]> = {
  internet: ['203.0.113.5', '2001:db8:ffff::1'],
  partner: ['198.51.100.7'],
  'partner-half': ['198.51.100.200'],
  '10.200.1.0/24': ['10.200.1.9'],
  '10.200.2.7/32': ['10.200.2.7'],
}
const SERVICES: [number, number][] = [
  [6, 22],
  [6, 80],
  [6, 443],
  [6, 5432],
  [17, 53],
  [1, 8],
  [6, 50000],
  [6, 50003],
]
/**
 * The services (b) and (b2) probe for a case: {@link SERVICES}, and the ports next to each
 * observed one (port − 1 and port + 1, ICMP types likewise), where a rule one port too wide or
 * a merged neighbour would show. On {@link SERVICES} alone 99 % of the probes were denied by
 * default and no probe sat next to a recommended port (s30 hI).
 */
function gridOf(edges: readonly Edge[]): [number, number][] {
  const out = new Map<string, [number, number]>()
  for (const [p, port] of SERVICES) out.set(`${p}/${port}`, [p, port])
  for (const e of edges)
    for (const port of [e.dstPort - 1, e.dstPort + 1])
      if (port >= 0 && port <= (e.protocol === 1 || e.protocol === 58 ? 255 : 65535))
        out.set(`${e.protocol}/${port}`, [e.protocol, port])
  return [...out.values()]
}

/**
 * Counts a probe's verdict (`test/helpers/outcomes.ts`), and in `nearMiss` a probe denied
 * although its pair of ends was observed on another service.
 */
function tally(
  c: OutcomeCounts & { nearMiss: number },
  inventory: Inventory,
  set: PolicySet,
  t: FlowTuple,
  v: ReturnType<typeof evaluate>,
  pairObserved: boolean,
): void {
  countOutcome(c, inventory, set, t, v)
  if (v.decision !== 'allowed' && pairObserved) c.nearMiss++
}

/** Ranges off: (b) checks exact least privilege, which merged port ranges deliberately relax. */
const NO_RANGES = { portRanges: { minPorts: 1_000_000 } }

function pool(inv: Inventory): string[] {
  return [
    ...inv.workloads.map((w) => w.name),
    ...inv.externals.map((x) => x.name),
    'internet',
    '10.200.1.0/24',
    '10.200.2.7/32',
  ]
}

/** A workload's identity: its label set, as text. */
const id = (w: Workload): string => JSON.stringify(w.labels)

/**
 * Recommends at identity granularity (no port ranges) from a case's edges, and collects the
 * observed keys: `keys(a, b, e)` gives those of edge `e`, `a` and `b` being its source and
 * destination workloads (undefined for an address that is not a workload).
 */
function identityRecommendation(
  inventory: Inventory,
  edges: readonly Edge[],
  keys: (a: Workload | undefined, b: Workload | undefined, e: Edge) => string[],
): { r: ReturnType<typeof recommend>; set: PolicySet; observed: Set<string> } {
  const r = recommend(mapOf(inventory, edges), inventory, {
    granularity: 'identity',
    ...NO_RANGES,
  })
  const byName = new Map(inventory.workloads.map((w) => [w.name, w]))
  const observed = new Set<string>()
  for (const e of edges)
    for (const k of keys(byName.get(e.src), byName.get(e.dst), e)) observed.add(k)
  return { r, set: { policies: r.policies, enforcement: [] }, observed }
}

const caseArb = inventoryArb.chain((inventory) => {
  const names = pool(inventory)
  return fc
    .uniqueArray(
      fc.tuple(
        fc.constantFrom(...names),
        fc.constantFrom(...names),
        fc.constantFrom(...SERVICES),
        fc.integer({ min: 1, max: 50 }),
      ),
      { maxLength: 14, selector: ([s, d, svc]) => `${s}>${d}>${svc.join('/')}` },
    )
    .map((list) => ({
      inventory,
      edges: list.map(([s, d, [proto, port], flows]) => edge(s, d, proto, port, { flows })),
    }))
})

/**
 * {@link caseArb} with more edges (up to 28), each with at least one workload end: the edges (b)
 * and (b2) probe around. Over {@link caseArb} (b) judged 76 allowed probes in 40 runs.
 */
const denseCaseArb = inventoryArb.chain((inventory) => {
  const names = pool(inventory)
  const workloads = inventory.workloads.map((w) => w.name)
  return fc
    .uniqueArray(
      fc.tuple(
        fc.constantFrom(...workloads),
        fc.constantFrom(...names),
        fc.boolean(),
        fc.constantFrom(...SERVICES),
        fc.integer({ min: 1, max: 50 }),
      ),
      {
        minLength: 4,
        maxLength: 28,
        selector: ([w, o, out, svc]) => `${out ? w : o}>${out ? o : w}>${svc.join('/')}`,
      },
    )
    .map((list) => ({
      inventory,
      edges: list.map(([w, o, out, [proto, port], flows]) =>
        edge(out ? w : o, out ? o : w, proto, port, { flows }),
      ),
    }))
})

/** (address, time) pairs at which the entity can be an endpoint. */
function endpoints(inv: Inventory, entity: string): { ip: string; at?: number }[] {
  const w = inv.workloads.find((x) => x.name === entity)
  if (!w) return (PROBE[entity] ?? []).map((ip) => ({ ip }))
  return w.addresses.flatMap((a) =>
    TIMES.filter((t) => addressHoldsAt(a, t))
      .slice(0, 1)
      .map((at) => ({ ip: a.ip, at })),
  )
}

/** One concrete tuple per (src address, dst address) at a time both hold. */
function tuples(
  inv: Inventory,
  src: string,
  dst: string,
  protocol: number,
  dstPort: number,
): FlowTuple[] {
  const out: FlowTuple[] = []
  for (const a of endpoints(inv, src)) {
    for (const b of endpoints(inv, dst)) {
      const ws = inv.workloads.find((x) => x.name === src)
      const wd = inv.workloads.find((x) => x.name === dst)
      const at = TIMES.find((t) => holds(ws, a.ip, t) && holds(wd, b.ip, t))
      if (at !== undefined) out.push({ src: a.ip, dst: b.ip, protocol, dstPort, at })
    }
  }
  return out
}
function holds(w: Workload | undefined, ip: string, t: number): boolean {
  return w === undefined || w.addresses.some((a) => a.ip === ip && addressHoldsAt(a, t))
}

const isWorkload = (inv: Inventory, name: string): boolean =>
  inv.workloads.some((w) => w.name === name)

describe('recommend: properties against the reference evaluator', () => {
  for (const granularity of ['identity', 'role', 'app'] as Granularity[]) {
    it(`(a) every observed edge is allowed by the recommended set (granularity ${granularity})`, () => {
      fc.assert(
        fc.property(caseArb, ({ inventory, edges }) => {
          const r = recommend(mapOf(inventory, edges), inventory, { granularity })
          const set = { policies: r.policies, enforcement: [] }
          for (const x of r.report.excluded) {
            // only edges with no workload at either end may go without a rule
            expect(x.reason).toBe('no-workload-end')
            expect(isWorkload(inventory, x.src) || isWorkload(inventory, x.dst)).toBe(false)
          }
          for (const e of edges) {
            if (!isWorkload(inventory, e.src) && !isWorkload(inventory, e.dst)) continue
            for (const t of tuples(inventory, e.src, e.dst, e.protocol, e.dstPort)) {
              const v = evaluate(inventory, set, t)
              if (v.decision !== 'allowed')
                throw new Error(`${e.src} -> ${e.dst} ${JSON.stringify(t)} denied`)
            }
          }
          expect(r.report.totals.coverage).toBeCloseTo(
            edges
              .filter((e) => isWorkload(inventory, e.src) || isWorkload(inventory, e.dst))
              .reduce((n, e) => n + e.flows, 0) /
              Math.max(
                1,
                edges.reduce((n, e) => n + e.flows, 0),
              ),
          )
        }),
        { seed: SEED, numRuns: 60 },
      )
    })
  }

  it('(b) at identity granularity nothing beyond the observed (identity pairs × services) is allowed', () => {
    const c = { ...newCounts(), nearMiss: 0 }
    fc.assert(
      fc.property(denseCaseArb, ({ inventory, edges }) => {
        const { r, set, observed } = identityRecommendation(inventory, edges, (a, b, e) =>
          a && b ? [`${id(a)}>${id(b)}>${e.protocol}/${e.dstPort}`, `${id(a)}>${id(b)}`] : [],
        )
        const grid = gridOf(edges)
        for (const a of inventory.workloads) {
          for (const b of inventory.workloads) {
            for (const [proto, port] of grid) {
              for (const t of tuples(inventory, a.name, b.name, proto, port)) {
                const v = evaluate(inventory, set, t)
                tally(c, inventory, set, t, v, observed.has(`${id(a)}>${id(b)}`))
                if (v.decision !== 'allowed') continue
                if (!observed.has(`${id(a)}>${id(b)}>${proto}/${port}`)) {
                  throw new Error(
                    `${a.name} -> ${b.name} ${proto}/${port} allowed but never observed between these identities`,
                  )
                }
              }
            }
          }
        }
        expect(r.report.overPermission.find((o) => o.unit === 'identity')?.extra).toBe(0)
      }),
      { seed: SEED, numRuns: 40 },
    )
    // with the seed, of 29 430 probes: 365 allowed, 1 095 next to a recommended port, 5 261 denied
    // between observed identity pairs; over caseArb and SERVICES 76 of 13 024 were allowed and none
    // probed next to a recommended port, so only the report's count saw a rule one port too wide
    expect(c.allowedByRule).toBeGreaterThan(180)
    expect(c.portEdge).toBeGreaterThan(500)
    expect(c.nearMiss).toBeGreaterThan(2_500)
    expect(c.defaultDenied).toBeGreaterThan(5_000)
  })

  it('(b2) at identity granularity an unmanaged or external endpoint reaches (or is reached from) only observed identities and services', () => {
    const c2 = { ...newCounts(), nearMiss: 0 }
    fc.assert(
      fc.property(denseCaseArb, ({ inventory, edges }) => {
        const { set, observed } = identityRecommendation(inventory, edges, (a, b, e) => [
          ...(a && !b ? [`${id(a)}>${e.dst}>${e.protocol}/${e.dstPort}`, `${id(a)}>${e.dst}`] : []),
          ...(!a && b ? [`${e.src}>${id(b)}>${e.protocol}/${e.dstPort}`, `${e.src}>${id(b)}`] : []),
        ])
        const grid = gridOf(edges)
        // the entity a probe address stands for: a named external containing it, else its pool name
        const entityOf = (ip: string): string => {
          const v = resolveEntity(inventory, ip, TIMES[0] as number)
          if (v.kind === 'external' && v.named) return v.name
          return (
            Object.keys(PROBE).find(
              (k) => k !== 'partner' && k !== 'partner-half' && PROBE[k]?.includes(ip),
            ) ?? 'internet'
          )
        }
        for (const probe of Object.values(PROBE).flat()) {
          const entity = entityOf(probe)
          for (const w of inventory.workloads) {
            for (const a of w.addresses) {
              const at = TIMES.find((t) => addressHoldsAt(a, t))
              if (at === undefined) continue
              for (const [proto, port] of grid) {
                const tin = { src: probe, dst: a.ip, protocol: proto, dstPort: port, at }
                const inbound = evaluate(inventory, set, tin)
                tally(c2, inventory, set, tin, inbound, observed.has(`${entity}>${id(w)}`))
                if (
                  inbound.decision === 'allowed' &&
                  !observed.has(`${entity}>${id(w)}>${proto}/${port}`)
                )
                  throw new Error(
                    `${probe} (${entity}) -> ${w.name} ${proto}/${port} allowed but never observed`,
                  )
                const tout = { src: a.ip, dst: probe, protocol: proto, dstPort: port, at }
                const outbound = evaluate(inventory, set, tout)
                tally(c2, inventory, set, tout, outbound, observed.has(`${id(w)}>${entity}`))
                if (
                  outbound.decision === 'allowed' &&
                  !observed.has(`${id(w)}>${entity}>${proto}/${port}`)
                )
                  throw new Error(
                    `${w.name} -> ${probe} (${entity}) ${proto}/${port} allowed but never observed`,
                  )
              }
            }
          }
        }
      }),
      { seed: SEED, numRuns: 40 },
    )
    // with the seed, of 51 576 probes: 659 allowed, 1 977 next to a recommended port, 9 211 denied
    // between an observed entity and identity (257 allowed of 22 656 over caseArb and SERVICES,
    // which passed with recommended rules one port too wide)
    expect(c2.allowedByRule).toBeGreaterThan(330)
    expect(c2.portEdge).toBeGreaterThan(1_000)
    expect(c2.nearMiss).toBeGreaterThan(4_500)
    expect(c2.defaultDenied).toBeGreaterThan(5_000)
  })

  it('(c) the written YAML loads with no diagnostics and load(render(result)) equals the result', () => {
    fc.assert(
      fc.property(
        caseArb,
        fc.constantFrom<Granularity>('identity', 'role', 'app'),
        ({ inventory, edges }, granularity) => {
          const r = recommend(mapOf(inventory, edges), inventory, { granularity })
          const files = [...renderRecommendation(r)].map(([path, text]) => ({
            path: `policy/${path}`,
            text,
          }))
          const loaded = loadFromSources(
            defaultWorkspace('.'),
            [inventoryYaml(inventory)],
            files,
            new Date(TIMES[0] as number),
          )
          expect(loaded.diagnostics).toEqual([])
          expect(normalise(loaded.policySet.policies)).toEqual(normalise(r.policies))
        },
      ),
      { seed: SEED, numRuns: 40 },
    )
  })
})

/** Keeps `Edge` imported for readers: the maps above are lists of it. */
export type { Edge }
