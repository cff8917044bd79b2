import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import type { FlowTuple, Inventory, PolicySet, Workload } from '../../src/core/index.js'
import type { Edge } from '../../src/discover/types.js'
import { addressHoldsAt, evaluate, resolveEntity } from '../../src/policy/evaluate.js'
import { defaultWorkspace, loadFromSources } from '../../src/policy/index.js'
import { recommend, renderRecommendation, type Granularity } from '../../src/recommend/index.js'
import { inventoryArb, SEED, TIMES } from '../helpers/model.js'
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
    fc.assert(
      fc.property(caseArb, ({ inventory, edges }) => {
        const { r, set, observed } = identityRecommendation(inventory, edges, (a, b, e) =>
          a && b ? [`${id(a)}>${id(b)}>${e.protocol}/${e.dstPort}`] : [],
        )
        for (const a of inventory.workloads) {
          for (const b of inventory.workloads) {
            for (const [proto, port] of SERVICES) {
              for (const t of tuples(inventory, a.name, b.name, proto, port)) {
                if (evaluate(inventory, set, t).decision !== 'allowed') continue
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
  })

  it('(b2) at identity granularity an unmanaged or external endpoint reaches (or is reached from) only observed identities and services', () => {
    fc.assert(
      fc.property(caseArb, ({ inventory, edges }) => {
        const { set, observed } = identityRecommendation(inventory, edges, (a, b, e) => [
          ...(a && !b ? [`${id(a)}>${e.dst}>${e.protocol}/${e.dstPort}`] : []),
          ...(!a && b ? [`${e.src}>${id(b)}>${e.protocol}/${e.dstPort}`] : []),
        ])
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
              for (const [proto, port] of SERVICES) {
                const inbound = evaluate(inventory, set, {
                  src: probe,
                  dst: a.ip,
                  protocol: proto,
                  dstPort: port,
                  at,
                })
                if (
                  inbound.decision === 'allowed' &&
                  !observed.has(`${entity}>${id(w)}>${proto}/${port}`)
                )
                  throw new Error(
                    `${probe} (${entity}) -> ${w.name} ${proto}/${port} allowed but never observed`,
                  )
                const outbound = evaluate(inventory, set, {
                  src: a.ip,
                  dst: probe,
                  protocol: proto,
                  dstPort: port,
                  at,
                })
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
