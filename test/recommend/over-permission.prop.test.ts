/**
 * `overPermission` (src/recommend/recommend.ts), which counts per class of workloads selected by
 * the same rules, against the implementation that visited every workload pair a rule allows
 * (copied below unchanged as the reference; it exceeded a `Map`'s 2^24 entries on a
 * 20 000-workload estate): random inventories (names sharing prefixes, repeated label sets,
 * IPv4-only, IPv6-only, dual-stack and address-less workloads), random proposed policies (label,
 * workload, `any` and CIDR selectors, scopes, TCP/UDP port ranges, ICMP, ICMPv6, GRE) and random
 * observed edges, fast-check with the suite's fixed seed; the results must be deep-equal,
 * examples and their order included.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  formatService,
  hasPorts,
  IntervalSet,
  isIcmp,
  maxPort,
  parseIp,
  selectorKey,
  type Inventory,
  type LabelSet,
  type Policy,
  type PortRange,
  type Rule,
  type Selector,
  type Service,
  type Workload,
} from '../../src/core/index.js'
import type { DependencyMap } from '../../src/discover/types.js'
import { overPermission, selectsWorkload } from '../../src/recommend/recommend.js'
import type { OverPermission } from '../../src/recommend/types.js'
import { SEED } from '../helpers/model.js'

type Sides = Parameters<typeof overPermission>[3]

/**
 * A memoised "which inventory workloads do these selectors (any of them) select, with this scope
 * ANDed in" (label, workload and `any` selectors; others select no workload here). Rules share
 * selectors, so each distinct (selectors, scope) is computed once.
 */
function refMemberCache(
  inventory: Inventory,
): (sels: readonly Selector[], scope: LabelSet) => Workload[] {
  const cache = new Map<string, Workload[]>()
  return (sels, scope) => {
    const key = `${sels.map(selectorKey).join('|')}\u0000${JSON.stringify(scope)}`
    let hit = cache.get(key)
    if (!hit) {
      hit = inventory.workloads.filter((w) => sels.some((s) => selectsWorkload(s, w, scope)))
      cache.set(key, hit)
    }
    return hit
  }
}

/**
 * Over-permission of workload-to-workload rules (issue 5 item 2): the (source, destination,
 * protocol, port) combinations the rules allow minus those observed, counted per workload pair and
 * per identity pair (label sets), a workload with itself left out (as connlist leaves it out:
 * its traffic to itself crosses no firewall) from what is allowed, and from what is observed per
 * workload pair; per identity pair it is observed traffic of its label set's pair, so that at
 * identity granularity the identity count stays 0 (the rule recommended from a workload's traffic
 * to itself allows other workloads of its label set: the workload count shows those pairs); a
 * protocol without ports (GRE, ESP) counts as one service. A pair counts on a service only when
 * the two workloads hold addresses of one family (at any time): ICMP an IPv4 pair, ICMPv6 an IPv6
 * pair, other protocols either (IPv4 and IPv6 never connect, as in connlist). Rules
 * with a CIDR, external or internet side are not counted here (their widening is reported under
 * `aggregated`).
 */
function referenceOverPermission(
  policies: readonly Policy[],
  inventory: Inventory,
  map: DependencyMap,
  sides: Sides,
  examples: number,
): OverPermission[] {
  const selected = refMemberCache(inventory)
  const allowedW = new Map<string, Service[]>()
  const allowedI = new Map<string, Service[]>()
  const ids = new Map<Workload, string>()
  const idOf = (w: Workload): string => {
    let id = ids.get(w)
    if (id === undefined) {
      id = `{${Object.entries(w.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')}}`
      ids.set(w, id)
    }
    return id
  }
  const isWorkloadSel = (s: Selector): boolean => s.kind === 'labels' || s.kind === 'workload'
  const families = new Map<Workload, { v4: boolean; v6: boolean }>()
  const familiesOf = (w: Workload): { v4: boolean; v6: boolean } => {
    let f = families.get(w)
    if (f === undefined) {
      const fs = new Set(w.addresses.map((a) => parseIp(a.ip)?.family))
      f = { v4: fs.has(4), v6: fs.has(6) }
      families.set(w, f)
    }
    return f
  }
  /** The services on which `a` and `b` can connect: over an address pair of one family. */
  const connecting = (a: Workload, b: Workload, services: readonly Service[]): Service[] => {
    const fa = familiesOf(a)
    const fb = familiesOf(b)
    const v4 = fa.v4 && fb.v4
    const v6 = fa.v6 && fb.v6
    return services.filter((sv) => (sv.protocol === 1 ? v4 : sv.protocol === 58 ? v6 : v4 || v6))
  }
  for (const p of policies) {
    for (const r of p.rules) {
      if (!r.from.every(isWorkloadSel) || !r.to.every(isWorkloadSel)) continue
      const froms = selected(r.from, p.scope)
      const tos = selected(r.to, p.scope)
      const add = (m: Map<string, Service[]>, key: string, services: Service[]): void => {
        const list = m.get(key)
        if (list) list.push(...services)
        else m.set(key, services)
      }
      for (const a of froms) {
        for (const b of tos) {
          if (a === b) continue // a workload's traffic to itself never crosses a firewall
          const services = connecting(a, b, r.services)
          if (services.length === 0) continue
          add(allowedW, `${a.name} -> ${b.name}`, services)
          add(allowedI, `${idOf(a)} -> ${idOf(b)}`, [...services])
        }
      }
    }
  }
  // observed (protocol, port) per pair, as `proto/port` strings
  const observedW = new Map<string, Set<string>>()
  const observedI = new Map<string, Set<string>>()
  const note = (m: Map<string, Set<string>>, key: string, value: string): void => {
    const set = m.get(key)
    if (set) set.add(value)
    else m.set(key, new Set([value]))
  }
  for (const e of map.edges) {
    const a = sides.get(e.src)
    const b = sides.get(e.dst)
    if (
      typeof a !== 'object' ||
      typeof b !== 'object' ||
      a.kind !== 'workload' ||
      b.kind !== 'workload'
    )
      continue
    const svc = `${e.protocol}/${e.dstPort}`
    // a workload's traffic to itself is no pair of distinct workloads, but it is traffic of its
    // label set's pair: the identity rule recommended from it allows that pair and no more
    if (a.workload !== b.workload) note(observedW, `${a.workload.name} -> ${b.workload.name}`, svc)
    note(observedI, `${idOf(a.workload)} -> ${idOf(b.workload)}`, svc)
  }
  const measure = (
    unit: 'workload' | 'identity',
    allowed: Map<string, Service[]>,
    observed: Map<string, Set<string>>,
  ): OverPermission => {
    let nAllowed = 0
    let nObserved = 0
    const ex: string[] = []
    for (const key of [...allowed.keys()].sort()) {
      // allowed ports per protocol, merged (rules here never allow `any` protocol)
      const byProto = new Map<number, PortRange[]>()
      for (const sv of allowed.get(key) ?? []) {
        if (sv.protocol === 'any') continue
        byProto.set(sv.protocol, [...(byProto.get(sv.protocol) ?? []), sv.ports])
      }
      const seenHere = observed.get(key) ?? new Set<string>()
      let size = 0
      let seen = 0
      const unseen: Service[] = []
      for (const [proto, ranges] of byProto) {
        if (!hasPorts(proto) && !isIcmp(proto)) {
          // a protocol without ports (GRE, ESP, ...) is one service, observed or not
          size += 1
          const hit = [...seenHere].some((sv) => Number(sv.split('/')[0]) === proto)
          if (hit) seen += 1
          else unseen.push({ protocol: proto, ports: { lo: 0, hi: maxPort(proto) } })
          continue
        }
        const ports = IntervalSet.of(ranges)
        size += ports.size
        const hits: PortRange[] = []
        for (const sv of seenHere) {
          const [pr, po] = sv.split('/').map(Number) as [number, number]
          if (pr === proto && ports.has(po)) hits.push({ lo: po, hi: po })
        }
        seen += hits.length
        if (hits.length < ports.size && ex.length < examples) {
          for (const r of ports.subtract(IntervalSet.of(hits)).ranges)
            unseen.push({ protocol: proto, ports: r })
        }
      }
      nAllowed += size
      nObserved += seen
      if (size > seen && ex.length < examples)
        ex.push(`${key} ${unseen.map(formatService).join(',')}`)
    }
    const extra = nAllowed - nObserved
    return {
      unit,
      allowed: nAllowed,
      observed: nObserved,
      extra,
      share: nAllowed === 0 ? 0 : extra / nAllowed,
      examples: ex,
    }
  }
  return [measure('workload', allowedW, observedW), measure('identity', allowedI, observedI)]
}

/** Names sharing prefixes (`w1`, `w10`, `w1-x`), one holding ` -> `, case and non-ASCII. */
const NAMES = [
  'w1',
  'w10',
  'w1-x',
  'w1 +x',
  'w100',
  'w',
  'w2',
  'W1',
  'w1 -> w2',
  'a',
  'ä',
  'w10-y',
  'b',
]
const VALUES = ['web', 'db']

const labelsArb: fc.Arbitrary<LabelSet> = fc
  .tuple(fc.constantFrom(undefined, ...VALUES), fc.constantFrom(undefined, ...VALUES))
  .map(([app, env]) => ({
    ...(app === undefined ? {} : { app }),
    ...(env === undefined ? {} : { env }),
  }))

/** A workload of no family, IPv4 only, IPv6 only or dual-stack, numbered `i` for its addresses. */
const workloadArb = (name: string, i: number): fc.Arbitrary<Workload> =>
  fc.tuple(labelsArb, fc.constantFrom('none', 'v4', 'v6', 'dual')).map(([labels, fam]) => ({
    name,
    labels,
    addresses: [
      ...(fam === 'v4' || fam === 'dual' ? [{ ip: `10.0.0.${String(i + 1)}` }] : []),
      ...(fam === 'v6' || fam === 'dual' ? [{ ip: `fd00::${String(i + 1)}` }] : []),
    ],
  }))

const inventoryArb: fc.Arbitrary<Inventory> = fc
  .shuffledSubarray(NAMES, { minLength: 1, maxLength: NAMES.length })
  .chain((names) => fc.tuple(...names.map((n, i) => workloadArb(n, i))))
  .map((workloads) => ({ workloads, externals: [], labelRules: [] }))

const selectorArb: fc.Arbitrary<Selector> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.oneof(fc.constant({}), labelsArb), fc.boolean())
      .map(([match, global]) => ({ kind: 'labels' as const, match, expressions: [], global })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...NAMES), fc.boolean())
      .map(([name, global]) => ({ kind: 'workload' as const, name, global })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'any' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'external' as const, name: 'x' }) },
)

/** An allow rule. */
function rule(id: string, from: Selector[], to: Selector[], services: Service[]): Rule {
  return { id, action: 'allow', from, to, services, emergency: false }
}

const rangeArb: fc.Arbitrary<PortRange> = fc.oneof(
  fc
    .tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 4 }))
    .map(([lo, n]) => ({ lo, hi: lo + n })),
  fc.constant({ lo: 0, hi: 65535 }),
)

const serviceArb: fc.Arbitrary<Service> = fc.oneof(
  fc.tuple(fc.constantFrom(6, 17), rangeArb).map(([protocol, ports]) => ({ protocol, ports })),
  fc
    .tuple(fc.constantFrom(1, 58), fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 2 }))
    .map(([protocol, lo, n]) => ({ protocol, ports: { lo, hi: lo + n } })),
  fc.constantFrom(1, 58).map((protocol) => ({ protocol, ports: { lo: 0, hi: 255 } })),
  fc.constant({ protocol: 47, ports: { lo: 0, hi: maxPort(47) } }),
)

const policiesArb: fc.Arbitrary<Policy[]> = fc
  .array(
    fc.tuple(
      fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: labelsArb }),
      fc.array(
        fc.tuple(
          fc.array(selectorArb, { minLength: 1, maxLength: 2 }),
          fc.array(selectorArb, { minLength: 1, maxLength: 2 }),
          fc.array(serviceArb, { minLength: 1, maxLength: 4 }),
        ),
        { minLength: 1, maxLength: 4 },
      ),
    ),
    { minLength: 1, maxLength: 3 },
  )
  .map((ps) =>
    ps.map(([scope, rules], p) => ({
      name: `p${String(p)}`,
      owner: 'o',
      scope,
      file: 'p.yaml',
      rules: rules.map(([from, to, services], r) => rule(`r${String(r)}`, from, to, services)),
    })),
  )

const edgeArb = fc.tuple(
  fc.integer({ min: 0, max: NAMES.length }),
  fc.integer({ min: 0, max: NAMES.length }),
  fc.oneof(
    fc.tuple(fc.constantFrom(6, 17), fc.integer({ min: 0, max: 8 })),
    fc.tuple(fc.constantFrom(1, 58), fc.integer({ min: 0, max: 9 })),
    fc.constant<[number, number]>([47, 0]),
  ),
)

/** Entity `e<i>` is workload `i` of the inventory, or (past its end) a non-workload side. */
function sidesOf(inventory: Inventory): Sides {
  const sides = new Map<string, unknown>()
  inventory.workloads.forEach((w, i) => {
    sides.set(`e${String(i)}`, {
      kind: 'workload',
      entity: `e${String(i)}`,
      workload: w,
      group: {},
      missing: [],
    })
  })
  sides.set(`e${String(inventory.workloads.length)}`, 'internet')
  return sides as Sides
}

const caseArb = fc.record({
  inventory: inventoryArb,
  policies: policiesArb,
  edges: fc.array(edgeArb, { maxLength: 80 }),
  examples: fc.integer({ min: 0, max: 5 }),
})

describe('overPermission per workload class', () => {
  it('equals the pair-by-pair reference on random estates', () => {
    fc.assert(
      fc.property(caseArb, ({ inventory, policies, edges, examples }) => {
        const n = inventory.workloads.length
        const map = {
          window: undefined,
          entities: [],
          edges: edges.map(([s, d, [protocol, dstPort]]) => ({
            src: `e${String(Math.min(s, n))}`,
            dst: `e${String(Math.min(d, n))}`,
            protocol,
            dstPort,
            flows: 1,
            packets: 1,
            bytes: 1,
          })),
        } as unknown as DependencyMap
        const sides = sidesOf(inventory)
        const got: OverPermission[] = overPermission(policies, inventory, map, sides, examples)
        expect(got).toEqual(referenceOverPermission(policies, inventory, map, sides, examples))
      }),
      { seed: SEED, numRuns: 500 },
    )
  })

  // every pair over-permitted: the examples are the pair texts in plain sort order; `w1 +x`
  // sorts before `w1` as a source (`+` < `-` in ` -> `), `w1 -> w2` makes one text begin another
  it.each([
    [['w1', 'w10', 'w1-x', 'w1 +x', 'w', 'w2', 'W1', 'ä']],
    [['w1', 'w10', 'w1-x', 'w1 +x', 'w', 'w2', 'W1', 'w1 -> w2']],
  ])('orders examples as the plain sort of the pair texts (%j)', (names) => {
    const inventory: Inventory = {
      workloads: names.map((name) => ({
        name,
        labels: { app: 'web' },
        addresses: [{ ip: '10.0.0.1' }],
      })),
      externals: [],
      labelRules: [],
    }
    const any: Selector = { kind: 'labels', match: {}, expressions: [], global: false }
    const policies: Policy[] = [
      {
        name: 'p',
        owner: 'o',
        scope: {},
        file: 'p.yaml',
        rules: [rule('r', [any], [any], [{ protocol: 6, ports: { lo: 80, hi: 80 } }])],
      },
    ]
    const map = { window: undefined, entities: [], edges: [] } as unknown as DependencyMap
    const keys = names
      .flatMap((a) => names.filter((b) => b !== a).map((b) => `${a} -> ${b}`))
      .sort()
    const [workload] = overPermission(policies, inventory, map, sidesOf(inventory), 100)
    expect(workload?.examples).toEqual(keys.map((k) => `${k} tcp/80`))
  })
})
