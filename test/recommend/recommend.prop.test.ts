import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import type { FlowTuple, Inventory, PolicySet, Workload } from '../../src/core/index.js'
import type { Edge } from '../../src/discover/types.js'
import { addressHoldsAt, evaluate, resolveEntity } from '../../src/policy/evaluate.js'
import { defaultWorkspace, loadFromSources } from '../../src/policy/index.js'
import { recommend, renderRecommendation, type Granularity } from '../../src/recommend/index.js'
import { inventoryArb, SEED, TIMES } from '../helpers/model.js'
import { T0, DAY } from './helpers.js'
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
/** Unmanaged hosts a horizontal scan of the random cases sweeps (13: some sweeps reach 10). */
const SCAN_HOSTS: Record<string, string[]> = Object.fromEntries(
  Array.from({ length: 13 }, (_, i) => [`10.200.3.${i + 1}/32`, [`10.200.3.${i + 1}`]]),
)
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

/** When the probes of the random cases' bursts start: day 5 of the window. */
const BURST = T0 + 5 * DAY

/**
 * A burst of short edges from one source, around the scan thresholds (recommend `scans.ts`): 8 to
 * 13 ports of one destination (vertical) or one port of 8 to 13 {@link SCAN_HOSTS} (horizontal),
 * started 1 s to 70 s apart (13 probes 70 s apart span 14 minutes), each of 1 to 4 flows (4: no
 * probe), some rejected on every flow. Ports 200–212, 2000–2012 and 40000–40012 (none of
 * {@link SERVICES}, none a port that negotiates data ports).
 */
const burstArb = (names: readonly string[], workloads: readonly string[]): fc.Arbitrary<Edge[]> =>
  fc
    .record({
      vertical: fc.boolean(),
      // a workload sweeping (horizontal) or swept (vertical), the other end any entity
      workload: fc.constantFrom(...workloads),
      other: fc.constantFrom(...names),
      port0: fc.constantFrom(200, 2000, 40000),
      gap: fc.constantFrom(1_000, 1_000, 45_000, 66_000, 67_000, 70_000),
      probes: fc.array(
        fc.tuple(fc.constantFrom(1, 1, 1, 2, 3, 4), fc.constantFrom(false, false, true)),
        {
          minLength: 8,
          maxLength: 13,
        },
      ),
    })
    .map(({ vertical, workload, other, port0, gap, probes }) =>
      probes.map(([flows, rejected], i) =>
        edge(
          vertical ? other : workload,
          vertical ? workload : `10.200.3.${i + 1}/32`,
          6,
          vertical ? port0 + i : port0,
          {
            flows,
            firstSeen: BURST + i * gap,
            lastSeen: BURST + i * gap + 1_000,
            rejected: rejected ? flows : 0,
          },
        ),
      ),
    )

const caseArb = inventoryArb.chain((inventory) => {
  const names = pool(inventory)
  const workloads = inventory.workloads.map((w) => w.name)
  return fc
    .tuple(
      fc.uniqueArray(
        fc.tuple(
          fc.constantFrom(...names),
          fc.constantFrom(...names),
          fc.constantFrom(...SERVICES),
          fc.integer({ min: 1, max: 50 }),
          // a short edge inside the bursts' hour now and then: a probe of its own
          fc.option(fc.integer({ min: 0, max: 600 }), { freq: 4, nil: undefined }),
        ),
        { maxLength: 14, selector: ([s, d, svc]) => `${s}>${d}>${svc.join('/')}` },
      ),
      fc.option(burstArb(names, workloads), { freq: 5, nil: undefined }),
    )
    .map(([list, burst]) => ({
      inventory,
      edges: [
        ...list.map(([s, d, [proto, port], flows, short]) =>
          edge(
            s,
            d,
            proto,
            port,
            short === undefined
              ? { flows }
              : {
                  flows: Math.min(flows, 3),
                  firstSeen: BURST + short * 1_000,
                  lastSeen: BURST + short * 1_000 + 500,
                },
          ),
        ),
        ...(burst ?? []),
      ],
    }))
})

/**
 * The edges of the scans among `edges`, by brute force over the definition (README `recommend`):
 * a probe has 1–3 flows within 10 minutes; for each probe, the window of 10 minutes from its
 * first flow holds a vertical scan when the probes of its (source, destination, protocol with
 * ports) there have 10 or more distinct ports, a horizontal one when those of its (source,
 * protocol, port) have 10 or more distinct destinations; every probe of such a window is a scan's.
 */
function scanEdges(edges: readonly Edge[]): Set<Edge> {
  const WINDOW = 10 * 60_000
  const probes = edges.filter(
    (e) => e.flows >= 1 && e.flows <= 3 && e.firstSeen !== 0 && e.lastSeen - e.firstSeen <= WINDOW,
  )
  const out = new Set<Edge>()
  for (const a of probes) {
    const inWindow = probes.filter(
      (b) =>
        b.src === a.src &&
        b.protocol === a.protocol &&
        b.firstSeen >= a.firstSeen &&
        b.firstSeen - a.firstSeen <= WINDOW,
    )
    const vertical = inWindow.filter((b) => b.dst === a.dst && [6, 17, 132].includes(b.protocol))
    const horizontal = inWindow.filter((b) => b.dstPort === a.dstPort)
    if (new Set(vertical.map((b) => b.dstPort)).size >= 10) for (const b of vertical) out.add(b)
    if (new Set(horizontal.map((b) => b.dst)).size >= 10) for (const b of horizontal) out.add(b)
  }
  return out
}

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
  if (!w) return (PROBE[entity] ?? SCAN_HOSTS[entity] ?? []).map((ip) => ({ ip }))
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
    it(`(a) every observed edge is allowed by the recommended set, save rejected and scan-like ones (granularity ${granularity})`, () => {
      const seen = { scanLike: 0, kept: 0, nearMiss: 0 }
      fc.assert(
        fc.property(caseArb, fc.boolean(), ({ inventory, edges }, includeScans) => {
          const r = recommend(mapOf(inventory, edges), inventory, { granularity, includeScans })
          const set = { policies: r.policies, enforcement: [] }
          const scans = scanEdges(edges)
          const hasWorkload = (e: { src: string; dst: string }): boolean =>
            isWorkload(inventory, e.src) || isWorkload(inventory, e.dst)
          const rejected = (e: Edge): boolean => e.rejected >= e.flows
          const edgeOf = (x: { src: string; dst: string; service: string }): Edge | undefined =>
            edges.find(
              (e) =>
                e.src === x.src &&
                e.dst === x.dst &&
                x.service ===
                  `${e.protocol === 6 ? 'tcp' : e.protocol === 17 ? 'udp' : 'icmp'}/${e.dstPort}`,
            )
          // only these may go without a rule: no workload at either end; rejected on every flow;
          // an accepted edge of a scan, by the definition, unless includeScans
          for (const x of r.report.excluded) {
            const e = edgeOf(x)
            if (x.reason === 'no-workload-end') expect(hasWorkload(x)).toBe(false)
            else if (x.reason === 'rejected') expect(e && rejected(e)).toBe(true)
            else if (x.reason === 'scan-like') {
              expect(e !== undefined && scans.has(e) && !rejected(e) && !includeScans).toBe(true)
              seen.scanLike++
            } else throw new Error(`excluded as ${x.reason}: ${JSON.stringify(x)}`)
          }
          const dropped = (e: Edge): boolean => rejected(e) || (!includeScans && scans.has(e))
          for (const e of edges) {
            if (!hasWorkload(e)) continue
            if (dropped(e)) {
              // a scan's accepted edge is excluded as scan-like (its pair may be allowed by
              // another edge's rule); a rejected one as rejected
              expect(
                r.report.excluded.some(
                  (x) => edgeOf(x) === e && x.reason === (rejected(e) ? 'rejected' : 'scan-like'),
                ),
              ).toBe(true)
              continue
            }
            if (scans.has(e)) seen.kept++
            else if (e.flows <= 3 && e.firstSeen >= BURST) seen.nearMiss++
            for (const t of tuples(inventory, e.src, e.dst, e.protocol, e.dstPort)) {
              const v = evaluate(inventory, set, t)
              if (v.decision !== 'allowed')
                throw new Error(`${e.src} -> ${e.dst} ${JSON.stringify(t)} denied`)
            }
          }
          expect(r.report.totals.coverage).toBeCloseTo(
            edges.filter((e) => hasWorkload(e) && !dropped(e)).reduce((n, e) => n + e.flows, 0) /
              Math.max(
                1,
                edges.reduce((n, e) => n + e.flows, 0),
              ),
          )
        }),
        { seed: SEED, numRuns: 120 },
      )
      // the cases hold scans excluded, scans kept (includeScans), and short edges of bursts
      // below the thresholds that must keep their rules
      // with the seed: 61 excluded, 75 kept, 639 short edges outside any scan; mutants with a
      // threshold one off (10 → 9 or 11 ports or hosts, 3 → 4 flows, 10 → 11 minutes) fail
      expect(seen.scanLike).toBeGreaterThan(30)
      expect(seen.kept).toBeGreaterThan(35)
      expect(seen.nearMiss).toBeGreaterThan(300)
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
