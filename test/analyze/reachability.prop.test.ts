/**
 * Property tests: the policy and enforced reachability graphs and their reach figures against a
 * brute-force pairwise oracle built on the reference evaluator (every workload pair, every address
 * pair, every elementary service interval; under `enforced`, the verdict's mode too), the compact
 * group store's invariants, blast-radius paths and crown-jewel counts against the oracle, and
 * incremental updates (one change, and chains of changes that split groups) against a fresh build.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  NO_CONNECTION_SERVICES,
  ServiceSet,
  cidrCovers,
  parseCidr,
  parseIp,
  type Cidr,
  type Inventory,
  type Policy,
  type PolicySet,
  type Rule,
  type Selector,
  type Service,
  type Workload,
} from '../../src/core/index.js'
import { addressHoldsAt, evaluate, resolveEntity } from '../../src/policy/evaluate.js'
import {
  answerBlastRadius,
  edgeCount,
  edgeServices,
  enforcedReachGraph,
  flatReachGraph,
  forEachEdge,
  PolicyReachability,
  restrictGraph,
  policyReachGraph,
  reachFigures,
  reachServiceText,
  type ReachGraph,
} from '../../src/analyze/index.js'
import { labelSet, type LabelSet } from '../../src/core/index.js'
import { countOutcome, newCounts } from '../helpers/outcomes.js'
import {
  ALL_IPS,
  SEED,
  TIMES,
  enforcementMixArb,
  hostExcepts,
  inventoryArb,
  densePolicySetArb,
  policyArb,
  policySetArb,
  serviceArb,
  V6,
  withV6ExceptArb,
} from '../helpers/model.js'

const PROTOS = [6, 17, 132, 1, 58, 47]

/** Start points of every elementary interval of every protocol, given the services in play. */
function probes(policySet: PolicySet, extra: readonly Service[]): [number, number][] {
  const cuts = new Map<number, Set<number>>(PROTOS.map((p) => [p, new Set([0])]))
  const services = [
    ...policySet.policies.flatMap((p) => p.rules.flatMap((r) => r.services)),
    ...extra,
  ]
  for (const s of services) {
    if (s.protocol === 'any') continue
    const set = cuts.get(s.protocol) ?? new Set([0])
    set.add(s.ports.lo)
    set.add(s.ports.hi + 1)
    cuts.set(s.protocol, set)
  }
  const out: [number, number][] = []
  for (const [p, set] of cuts) {
    const max = p === 1 || p === 58 ? 255 : p === 47 ? 0 : 65535
    for (const port of set) if (port <= max) out.push([p, port])
  }
  return out
}

const ANY: Selector = { kind: 'any' }
const ALL: Selector = { kind: 'labels', match: {}, expressions: [], global: false }
/** The policy with every non-label selector replaced by `{}` (all workloads in scope). */
function labelOnly(p: Policy): Policy {
  const fix = (xs: readonly Selector[]): Selector[] =>
    xs.map((x) => (x.kind === 'labels' ? x : ALL))
  return {
    ...p,
    rules: p.rules.map(({ expires: _e, ...r }) => ({ ...r, from: fix(r.from), to: fix(r.to) })),
  }
}

/**
 * What the oracle's reference verdicts exercised (`test/helpers/outcomes.ts`); a test resets it
 * and asserts minimums. Over plain `policySetArb` the linked-estates property judged 22 107
 * probes: 2.3 % allowed by a rule, 12 denied by a deny over an allow (s30 hI).
 */
let exercised = newCounts()
/** Of {@link exercised}, the IPv6 probes that fell in a CIDR `except`. */
let v6Except = 0
/** Of {@link v6Except}, those with an end that an except of one address (/128) names. */
let v6HostExcept = 0

interface Oracle {
  /** adjacency between workload indices, with the allowed probe points */
  readonly adj: Map<number, Set<string>>[]
  /**
   * the lateral paths: the pairs of `adj` whose points hold a connection (not only messages of
   * other connections, core NO_CONNECTION_SERVICES: ICMP errors, link control, ICMP replies)
   */
  readonly paths: Set<number>[]
  /** the pairs that are edges of the graph before `exploitable` restricts it (as `paths`, over every point) */
  readonly edges: Set<number>[]
  readonly active: boolean[]
}

/**
 * The oracle's adjacency: under `policy` (`enforced` false) a probe is open when the rules allow
 * it; under `enforced` also when the verdict's mode (the stronger of the two sides') is not
 * `enforce` (DESIGN.md rule 5: nothing drops it).
 */
function oracle(
  inventory: Inventory,
  policySet: PolicySet,
  at: number,
  points: [number, number][],
  exploitable?: ServiceSet,
  enforced = false,
): Oracle {
  const n = inventory.workloads.length
  const addrs: string[][] = Array.from({ length: n }, () => [])
  for (const ip of ALL_IPS) {
    const e = resolveEntity(inventory, ip, at)
    if (e.kind === 'workload') addrs[inventory.workloads.indexOf(e.workload)]?.push(ip)
  }
  const adj = Array.from({ length: n }, () => new Map<number, Set<string>>())
  const paths = Array.from({ length: n }, () => new Set<number>())
  const edges = Array.from({ length: n }, () => new Set<number>())
  const hosts = hostExcepts(policySet)
  for (let a = 0; a < n; a++)
    for (let b = 0; b < n; b++) {
      if (a === b) continue
      // a connection between a and b: some service allowed that is no message of another
      // connection (core NO_CONNECTION_SERVICES: ICMP errors, link control, ICMP replies reach no
      // service, even where a rule names them); over the exploitable services (`paths`, what
      // reach counts) and over all (`edges`, the graph's edges before they are restricted)
      let connection = false
      let edge = false
      for (const x of addrs[a] as string[])
        for (const y of addrs[b] as string[]) {
          const family = parseIp(x)?.family
          if (family === undefined || family !== parseIp(y)?.family) continue
          for (const [protocol, dstPort] of points) {
            const counted = !exploitable || exploitable.has(protocol, dstPort)
            // ICMPv6 between IPv4 addresses (ICMP between IPv6 ones) is no traffic anyone sends
            if ((family === 4 && protocol === 58) || (family === 6 && protocol === 1)) continue
            const v = evaluate(
              inventory,
              policySet,
              { src: x, dst: y, protocol, dstPort, at },
              { now: at },
            )
            if (counted) {
              const before = exercised.cidrExcept
              countOutcome(
                exercised,
                inventory,
                policySet,
                { src: x, dst: y, protocol, dstPort, at },
                v,
              )
              if (family === 6 && exercised.cidrExcept > before) {
                v6Except++
                if (hosts.has(x) || hosts.has(y)) v6HostExcept++
              }
            }
            // reachability counts what the rules allow; under `enforced`, a flow no side
            // enforces is open whatever the verdict
            const byRules = v.matched.allow.length > 0 && v.matched.deny.length === 0
            if (!byRules && !(enforced && v.mode !== 'enforce')) continue
            const joins = !NO_CONNECTION_SERVICES[family].has(protocol, dstPort)
            if (joins) edge = true
            if (!counted) continue
            const m = adj[a] as Map<number, Set<string>>
            const set = m.get(b) ?? new Set<string>()
            set.add(`${protocol}/${dstPort}`)
            m.set(b, set)
            if (joins) connection = true
          }
        }
      if (connection) (paths[a] as Set<number>).add(b)
      if (edge) (edges[a] as Set<number>).add(b)
    }
  return { adj, paths, edges, active: addrs.map((a) => a.length > 0) }
}

function oracleReach(
  o: Oracle,
  a: number,
  hops = Infinity,
): { direct: number; transitive: number } {
  const seen = new Set<number>([a])
  let frontier = [a]
  for (let h = 0; frontier.length > 0 && h < hops; h++) {
    const next: number[] = []
    for (const u of frontier)
      for (const v of o.paths[u] as Set<number>)
        if (!seen.has(v)) {
          seen.add(v)
          next.push(v)
        }
    frontier = next
  }
  return { direct: (o.paths[a] as Set<number>).size, transitive: seen.size - 1 }
}

function checkAgainstOracle(
  graph: ReachGraph,
  inventory: Inventory,
  policySet: PolicySet,
  at: number,
  exploitable?: ServiceSet,
): number {
  const points = probes(policySet, exploitable ? exploitable.toServices() : [])
  let beyond = 0 // workloads that reach more over several hops than in one
  const o = oracle(inventory, policySet, at, points, exploitable, graph.baseline === 'enforced')
  const figs = reachFigures(graph, exploitable ? { exploitable } : {})
  const hop2 = reachFigures(graph, exploitable ? { exploitable, hops: 2 } : { hops: 2 })
  inventory.workloads.forEach((w, a) => {
    const node = graph.nodeOf[a] as number
    const want = oracleReach(o, a)
    if (want.transitive > want.direct) beyond++
    expect({ w: w.name, direct: figs.direct[node], transitive: figs.transitive[node] }).toEqual({
      w: w.name,
      ...want,
    })
    expect([w.name, hop2.transitive[node]]).toEqual([w.name, oracleReach(o, a, 2).transitive])
    // edge services, exactly at every elementary interval
    for (let b = 0; b < inventory.workloads.length; b++) {
      if (a === b) continue
      const s = edgeServices(graph, node, graph.nodeOf[b] as number)
      // (a pair that is no lateral path has no edge, whatever messages of others it allows)
      const wantPoints =
        ((o.edges[a] as Set<number>).has(b)
          ? (o.adj[a] as Map<number, Set<string>>).get(b)
          : undefined) ?? new Set<string>()
      const active = o.active[a] === true && o.active[b] === true
      for (const [p, port] of points) {
        if (exploitable && !exploitable.has(p, port)) continue
        const got = active && s !== undefined && s.has(p, port)
        expect({ a, b, p, port, got }).toEqual({
          a,
          b,
          p,
          port,
          got: wantPoints.has(`${p}/${port}`),
        })
      }
    }
  })
  return beyond
}

/**
 * Checks an updated {@link PolicyReachability} against a fresh build of its current policy set at
 * `at`, workload by workload (the two need not partition workloads into the same nodes): the same
 * direct, direct-service and transitive figures, and the same edge services to every workload.
 */
function expectSameAsFreshBuild(live: PolicyReachability, inventory: Inventory, at: number): void {
  const fresh = PolicyReachability.build(inventory, live.currentPolicySet, at)
  inventory.workloads.forEach((_, w) => {
    const a = live.graph.nodeOf[w] as number
    const b = fresh.graph.nodeOf[w] as number
    expect([
      live.figures.direct[a],
      live.figures.directServices[a],
      live.figures.transitive[a],
    ]).toEqual([
      fresh.figures.direct[b],
      fresh.figures.directServices[b],
      fresh.figures.transitive[b],
    ])
    for (let v = 0; v < inventory.workloads.length; v++) {
      const s1 = edgeServices(live.graph, a, live.graph.nodeOf[v] as number)
      const s2 = edgeServices(fresh.graph, b, fresh.graph.nodeOf[v] as number)
      expect(s1 === undefined ? 'none' : String(s1)).toBe(s2 === undefined ? 'none' : String(s2))
    }
  })
}

/**
 * An inventory, an instant, and a random policy set plus allow rules between workloads that hold
 * an address at that instant: the random sets alone never made a path of two hops (on all 60
 * estates every workload's transitive reach was its direct reach), so the policy baseline's
 * transitive figures went unchecked. 4–12 links: with 3–8 both linked-estates properties passed
 * with the group closure adding only the first direct destination's reach (s30 hL).
 * `setArb` draws the random set; `chained`: half the links start where the previous one ends;
 * `towards`: half the links end at a workload with such labels (the blast radius's jewels).
 */
const linkedArbOf = (
  setArb: fc.Arbitrary<PolicySet>,
  chained = false,
  towards: (labels: LabelSet) => boolean = () => false,
): fc.Arbitrary<[Inventory, PolicySet, number]> =>
  fc.tuple(inventoryArb, setArb, fc.constantFrom(...TIMES)).chain(([inventory, ps, at]) => {
    const held = inventory.workloads.filter((w) => w.addresses.some((a) => addressHoldsAt(a, at)))
    const live = held.map((w) => w.name)
    if (live.length < 3) return fc.constant<[Inventory, PolicySet, number]>([inventory, ps, at])
    const goals = held.filter((w) => towards(w.labels)).map((w) => w.name)
    const link = fc.tuple(
      fc.constantFrom(...live),
      goals.length > 0
        ? fc.oneof(fc.constantFrom(...live), fc.constantFrom(...goals))
        : fc.constantFrom(...live),
      fc.oneof(
        { weight: 3, arbitrary: fc.constant<Service>({ protocol: 'any' }) },
        { weight: 1, arbitrary: serviceArb },
      ),
      fc.boolean(),
    )
    return fc
      .array(link, { minLength: 4, maxLength: 12 })
      .map((drawn) =>
        // chained: half the links start where the previous one ends, so paths of several hops
        drawn.map(([a, b, service, on], i) => {
          const prev = drawn[i - 1]
          return [chained && on && prev ? prev[1] : a, b, service] as const
        }),
      )
      .map((links): [Inventory, PolicySet, number] => [
        inventory,
        {
          ...ps,
          policies: [
            ...ps.policies,
            {
              name: 'links',
              owner: 't',
              scope: labelSet(),
              rules: links.map(([a, b, service], i) => ({
                id: `l${i}`,
                action: 'allow' as const,
                from: [{ kind: 'workload' as const, name: a, global: true }],
                to: [{ kind: 'workload' as const, name: b, global: true }],
                services: [service],
                emergency: false,
              })),
              file: 'links.yaml',
            },
          ],
        },
        at,
      ])
  })

const linkedArb = linkedArbOf(policySetArb)

/**
 * The inventory and set with, for each IPv6 except of one address (/128) of the set, in two draws
 * of three: the address held at `at` (given for all time to a random workload if no workload
 * names it); a twin: a workload holding at `at` another address that the except's selector holds
 * and none of its excepts (the address given to a random workload if none does), relabelled with
 * the labels of the first (or the first itself); and an allow rule on any service between the
 * selector and `any`, in a policy `twins`. PolicyIndex keys the endpoint class of a workload's
 * address by the workload's labels and the longest policy block holding it, so only the /128
 * except sets the two addresses apart. Reachability judges workloads by the addresses they hold
 * at `at`, so an except of an address no workload holds then changes none of its answers. Over
 * `withV6ExceptArb` alone, 26 of the enforced property's IPv6 probes had an end a /128 except
 * names, and it passed with PolicyIndex leaving IPv6 /128 excepts out of its address partition
 * (s31 hF).
 */
const twinArb = (
  inventory: Inventory,
  policySet: PolicySet,
  at: number,
): fc.Arbitrary<[Inventory, PolicySet]> => {
  const pairs = policySet.policies.flatMap((p) =>
    p.rules.flatMap((r) =>
      (['from', 'to'] as const).flatMap((side) =>
        r[side].flatMap((s) =>
          s.kind === 'cidr'
            ? s.except
                .filter((e) => e.family === 6 && e.prefix === 128)
                .map((e) => [s, e.text.split('/')[0] as string, side] as const)
            : [],
        ),
      ),
    ),
  )
  if (pairs.length === 0) return fc.constant([inventory, policySet])
  const host = (ip: string): Cidr => parseCidr(`${ip}/128`) as Cidr
  return fc
    .array(fc.tuple(fc.nat(), fc.nat(), fc.nat(2)), {
      minLength: pairs.length,
      maxLength: pairs.length,
    })
    .map((draws) => {
      const ws = inventory.workloads.map((w) => ({ ...w, addresses: [...w.addresses] }))
      const inv = (): Inventory => ({ ...inventory, workloads: ws })
      const holder = (ip: string): number => {
        const e = resolveEntity(inv(), ip, at)
        return e.kind === 'workload' ? ws.indexOf(e.workload as (typeof ws)[number]) : -1
      }
      const named = (ip: string): boolean => ws.some((w) => w.addresses.some((a) => a.ip === ip))
      const rules: Rule[] = []
      pairs.forEach(([sel, ip, side], k) => {
        const [pick, other, skip] = draws[k] as [number, number, number]
        if (skip === 0) return
        let w = holder(ip)
        if (w < 0) {
          if (named(ip)) return
          w = pick % ws.length
          ws[w]?.addresses.push({ ip })
        }
        const inside = V6.filter(
          (x) =>
            x !== ip &&
            cidrCovers(sel.cidr, host(x)) &&
            !sel.except.some((e) => cidrCovers(e, host(x))),
        )
        const held = inside.filter((x) => holder(x) >= 0)
        let t: number
        if (held.length > 0) t = holder(held[other % held.length] as string)
        else {
          const free = inside.filter((x) => !named(x))
          if (free.length === 0) return
          t = other % ws.length
          ws[t]?.addresses.push({ ip: free[other % free.length] as string })
        }
        ws[t] = { ...(ws[t] as (typeof ws)[number]), labels: (ws[w] as Workload).labels }
        rules.push({
          id: `t${k}`,
          action: 'allow',
          from: [side === 'from' ? sel : ANY],
          to: [side === 'to' ? sel : ANY],
          services: [{ protocol: 'any' }],
          emergency: false,
        })
      })
      if (rules.length === 0) return [inv(), policySet]
      const twins: Policy = { name: 'twins', owner: 't', scope: labelSet(), rules, file: 't.yaml' }
      return [inv(), { ...policySet, policies: [...policySet.policies, twins] }]
    })
}

describe('policy reachability vs brute-force pairwise oracle (reference evaluator)', () => {
  it('direct and transitive counts and edge services agree on small random estates', () => {
    let beyond = 0
    fc.assert(
      fc.property(linkedArb, ([inventory, policySet, at]) => {
        beyond += checkAgainstOracle(
          policyReachGraph(inventory, policySet, at),
          inventory,
          policySet,
          at,
        )
      }),
      { seed: SEED, numRuns: 60 },
    )
    // with the seed: 18 workloads reach more over several hops than in one
    expect(beyond).toBeGreaterThan(12)
  }, 120_000)

  it('agree with --assume-exploitable services', () => {
    let beyond = 0
    fc.assert(
      fc.property(
        linkedArb,
        fc.array(serviceArb, { minLength: 1, maxLength: 3 }),
        ([inventory, policySet, at], xs) => {
          beyond += checkAgainstOracle(
            policyReachGraph(inventory, policySet, at),
            inventory,
            policySet,
            at,
            ServiceSet.of(xs),
          )
        },
      ),
      { seed: SEED + 1, numRuns: 40 },
    )
    // with the seed: 8; FC_SEED=3611202617: 5
    expect(beyond).toBeGreaterThan(2)
  }, 120_000)

  it('enforced: counts and edge services agree with the oracle (verdict allowed or mode not enforce)', () => {
    // how often the random Enforcement entries gave a mix of modes (some pair open by mode,
    // some closed by an enforcing side)
    const seen = { mixed: 0, noneEnforcing: 0, exploitable: 0, twins: 0 }
    exercised = newCounts()
    v6Except = 0
    v6HostExcept = 0
    fc.assert(
      fc.property(
        fc
          .tuple(
            inventoryArb,
            withV6ExceptArb(densePolicySetArb),
            fc.option(enforcementMixArb, { freq: 8, nil: undefined }),
            fc.constantFrom(...TIMES),
            fc.option(fc.array(serviceArb, { minLength: 1, maxLength: 3 }), {
              freq: 3,
              nil: undefined,
            }),
          )
          // twins (and an allow rule over the /128 except's selector) after the draws above
          .chain(([inventory, randomSet, mix, at, xs]) =>
            twinArb(inventory, randomSet, at).map(([inv, ps]) => [inv, ps, mix, at, xs] as const),
          ),
        ([inventory, randomSet, mix, at, xs]) => {
          const policySet = mix ? { ...randomSet, enforcement: mix } : randomSet
          const modes = inventory.workloads
            .flatMap((w) => w.addresses)
            .map(
              (a) =>
                evaluate(inventory, policySet, {
                  src: a.ip,
                  dst: a.ip,
                  protocol: 6,
                  dstPort: 1,
                  at,
                }).mode,
            )
          if (modes.includes('enforce') && modes.some((m) => m !== 'enforce')) seen.mixed++
          if (!modes.includes('enforce')) seen.noneEnforcing++
          if (xs) seen.exploitable++
          if (policySet.policies.some((p) => p.name === 'twins')) seen.twins++
          const g = enforcedReachGraph(inventory, policySet, at)
          expect(g.baseline).toBe('enforced')
          checkAgainstOracle(g, inventory, policySet, at, xs ? ServiceSet.of(xs) : undefined)
          checkStore(g)
        },
      ),
      { seed: SEED + 6, numRuns: 400 },
    )
    expect(seen.mixed).toBeGreaterThan(100)
    expect(seen.noneEnforcing).toBeGreaterThan(100)
    expect(seen.exploitable).toBeGreaterThan(100)
    // with the seed, of 24 996 probes: 1 695 allowed by a rule, 95 denied by a deny over an allow
    // (144 before withV6ExceptArb, 87 before twinArb), 1 093 met an expired rule, 1 153 fell in
    // an except (422 before twinArb), 1 000 at a port range end, 407 scoped
    expect(exercised.allowedByRule).toBeGreaterThan(400)
    expect(exercised.denyOverAllow).toBeGreaterThan(70)
    expect(exercised.defaultDenied).toBeGreaterThan(5_000)
    expect(exercised.expiredHit).toBeGreaterThan(450)
    expect(exercised.cidrExcept).toBeGreaterThan(120)
    expect(exercised.portEdge).toBeGreaterThan(350)
    expect(exercised.scoped).toBeGreaterThan(120)
    // IPv6 probes in an except: 27 over the dense sets alone, 150 with withV6ExceptArb (26 with
    // an end a /128 except names), 881 with twinArb (674; 50 estates of 400 with twins); it
    // fails with PolicyIndex leaving IPv6 /128 excepts out of its address partition after 66 runs
    expect(v6Except, 'IPv6 probes in an except').toBeGreaterThan(440)
    expect(v6HostExcept, 'IPv6 probes in a /128 except').toBeGreaterThan(330)
    expect(seen.twins, 'estates with twins').toBeGreaterThan(25)
  }, 180_000)

  it('incremental updatePolicy gives the same graph and figures as a fresh build', () => {
    const seen = { incremental: 0, added: 0, removed: 0, full: 0 }
    const scenario = fc.tuple(
      inventoryArb,
      densePolicySetArb,
      fc.constantFrom(...TIMES),
      fc.constantFrom('p0', 'p1', 'p9'),
      fc.boolean(),
    )
    fc.assert(
      fc.property(
        scenario.chain(([inv, ps, at, name, remove]) =>
          fc.tuple(
            fc.constant(inv),
            fc.constant(ps),
            fc.constant(at),
            fc.constant(name),
            fc.constant(remove),
            policyArb(name),
            fc.boolean(),
          ),
        ),
        ([inventory, startSet, at, name, remove, generated, onlyLabels]) => {
          let policySet = startSet
          // label-only rules keep the endpoint classes, so the update stays incremental
          const replacement = onlyLabels ? labelOnly(generated) : generated
          if (onlyLabels) policySet = { ...policySet, policies: policySet.policies.map(labelOnly) }
          const live = PolicyReachability.build(inventory, policySet, at)
          const u = live.updatePolicy(name, remove ? undefined : replacement)
          if (u.mode === 'full') seen.full++
          else {
            seen.incremental++
            if (u.edgesAdded > 0) seen.added++
            if (u.edgesRemoved > 0) seen.removed++
          }
          expectSameAsFreshBuild(live, inventory, at)
        },
      ),
      { seed: SEED + 2, numRuns: 300 },
    )
    // the incremental path itself was exercised, with edges both gained and lost
    expect(seen.incremental).toBeGreaterThan(20)
    // (FC_SEED=3611202617: 5 of each)
    expect(seen.added).toBeGreaterThan(2)
    expect(seen.removed).toBeGreaterThan(2)
  }, 120_000)
})

/** The group store's invariants, checked node pair by node pair. */
function checkStore(graph: ReachGraph): void {
  let count = 0
  for (let a = 0; a < graph.members.length; a++) {
    const seen = new Map<number, string>()
    forEachEdge(graph, a, (b, set) => {
      count++
      expect(seen.has(b)).toBe(false)
      expect(set.isEmpty).toBe(false)
      seen.set(b, String(set))
    })
    for (let b = 0; b < graph.members.length; b++) {
      const s = edgeServices(graph, a, b)
      expect(s === undefined ? undefined : String(s)).toBe(seen.get(b))
    }
  }
  expect(edgeCount(graph)).toBe(count)
  for (const row of graph.rows) {
    expect(row.dst.length).toBe(row.svc.length)
    for (let k = 1; k < row.dst.length; k++)
      expect(row.dst[k] as number).toBeGreaterThan(row.dst[k - 1] as number)
  }
  // every node is in the destination group that lists it, and in no other
  const listed = new Map<number, number>()
  graph.groupNodes.forEach((nodes, g) => {
    for (const n of nodes) {
      expect(listed.has(n)).toBe(false)
      listed.set(n, g)
    }
  })
  for (let a = 0; a < graph.members.length; a++) expect(listed.get(a)).toBe(graph.dstGroup[a])
}

describe('compact group store', () => {
  it('node-level edges, edge counts and rows agree (policy, flat, exploitable)', () => {
    fc.assert(
      fc.property(
        inventoryArb,
        densePolicySetArb,
        fc.constantFrom(...TIMES),
        fc.array(serviceArb, { minLength: 1, maxLength: 2 }),
        (inventory, policySet, at, xs) => {
          const g = policyReachGraph(inventory, policySet, at)
          checkStore(g)
          checkStore(restrictGraph(g, ServiceSet.of(xs)))
          checkStore(flatReachGraph(inventory, at))
        },
      ),
      { seed: SEED + 3, numRuns: 60 },
    )
  }, 120_000)
})

describe('blast radius against the oracle', () => {
  it('crown jewels reached and every listed path (valid hops, shortest, services) agree', () => {
    // two roles of four, so that estates hold several jewels and sources reach more than one
    const jewelSel: Selector = {
      kind: 'labels',
      match: labelSet(),
      expressions: [{ key: 'role', operator: 'In', values: ['db', 'api'] }],
      global: true,
    }
    exercised = newCounts()
    const seen = { reached: 0, multiHop: 0 }
    fc.assert(
      fc.property(
        linkedArbOf(densePolicySetArb, true, (l) => l['role'] === 'db' || l['role'] === 'api'),
        fc.integer({ min: 1, max: 3 }),
        fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
        fc.constantFrom('policy' as const, 'enforced' as const),
        enforcementMixArb,
        ([inventory, randomSet, at], maxPaths, hops, baseline, mix) => {
          const policySet = baseline === 'enforced' ? { ...randomSet, enforcement: mix } : randomSet
          const r = answerBlastRadius({
            inventory,
            policySet,
            at,
            baseline,
            to: jewelSel,
            maxPaths,
            ...(hops !== undefined ? { hops } : {}),
          })
          const o = oracle(
            inventory,
            policySet,
            at,
            probes(policySet, []),
            undefined,
            baseline === 'enforced',
          )
          const index = new Map(inventory.workloads.map((w, i) => [w.name, i]))
          const jewels = new Set(r.crownJewels.map((n) => index.get(n) as number))
          for (const src of r.sources) {
            const a = index.get(src.workload) as number
            // oracle BFS distances from a
            const dist = new Map<number, number>([[a, 0]])
            let frontier = [a]
            for (let h = 1; frontier.length > 0 && h <= (hops ?? Infinity); h++) {
              const next: number[] = []
              for (const u of frontier)
                for (const v of o.paths[u] as Set<number>)
                  if (!dist.has(v)) {
                    dist.set(v, h)
                    next.push(v)
                  }
              frontier = next
            }
            const reached = [...jewels].filter((j) => j !== a && dist.has(j))
            expect([src.workload, src.crownJewelsReached]).toEqual([src.workload, reached.length])
            seen.reached += reached.length
            seen.multiHop += src.paths.filter((p) => p.hops > 1).length
            // the nearest jewels by (hops, inventory order), each with a valid shortest path
            const want = reached
              .sort((x, y) => (dist.get(x) as number) - (dist.get(y) as number) || x - y)
              .slice(0, maxPaths)
            expect(src.paths.map((p) => p.to)).toEqual(
              want.map((j) => (inventory.workloads[j] as { name: string }).name),
            )
            for (const p of src.paths) {
              const chain = p.path.map((n) => index.get(n) as number)
              expect(p.hops).toBe(dist.get(chain[chain.length - 1] as number))
              expect(chain.length).toBe(p.hops + 1)
              for (let k = 0; k + 1 < chain.length; k++) {
                const x = chain[k] as number
                const y = chain[k + 1] as number
                expect((o.paths[x] as Set<number>).has(y)).toBe(true)
                const g = r.graph as ReachGraph
                expect(p.services[k]).toBe(
                  reachServiceText(
                    edgeServices(g, g.nodeOf[x] as number, g.nodeOf[y] as number) as ServiceSet,
                  ),
                )
              }
            }
          }
        },
      ),
      { seed: SEED + 4, numRuns: 300 },
    )
    // with the seed: 365 jewels reached, 25 paths of several hops; of 27 804 probes 6 536 allowed
    // by a rule, 122 denied by a deny over an allow, 1 795 expired, 682 except, 1 152 port edge,
    // 255 scoped. On one role, 3 paths, 120 unlinked estates: 37 reached, 2 multi-hop paths, of
    // 7 406 probes 92 allowed by a rule, none deny over allow; it passed with the search for the
    // nearest jewels one short when the source is itself a jewel
    expect(seen.reached).toBeGreaterThan(180)
    expect(seen.multiHop).toBeGreaterThan(12)
    expect(exercised.allowedByRule).toBeGreaterThan(3_000)
    expect(exercised.denyOverAllow).toBeGreaterThan(60)
    expect(exercised.defaultDenied).toBeGreaterThan(5_000)
    expect(exercised.expiredHit).toBeGreaterThan(900)
    expect(exercised.cidrExcept).toBeGreaterThan(340)
    expect(exercised.portEdge).toBeGreaterThan(570)
    expect(exercised.scoped).toBeGreaterThan(120)
  }, 120_000)
})

describe('incremental updates over chains of random changes', () => {
  it('equal a fresh build after every step; groups split when a change matches part of one', () => {
    const seen = { steps: 0, incremental: 0, split: 0 }
    const names = ['p0', 'p1', 'p9'] as const
    fc.assert(
      fc.property(
        inventoryArb,
        densePolicySetArb,
        fc.constantFrom(...TIMES),
        fc.array(
          fc
            .tuple(fc.constantFrom(...names), fc.boolean())
            .chain(([name, remove]) =>
              fc.tuple(fc.constant(name), fc.constant(remove), policyArb(name)),
            ),
          { minLength: 2, maxLength: 4 },
        ),
        (inventory, startSet, at, steps) => {
          const policySet = { ...startSet, policies: startSet.policies.map(labelOnly) }
          const live = PolicyReachability.build(inventory, policySet, at)
          for (const [name, remove, generated] of steps) {
            const u = live.updatePolicy(name, remove ? undefined : labelOnly(generated))
            seen.steps++
            if (u.mode === 'incremental') seen.incremental++
            if (u.groupsSplit > 0) seen.split++
            expectSameAsFreshBuild(live, inventory, at)
            checkStore(live.graph)
          }
        },
      ),
      { seed: SEED + 5, numRuns: 150 },
    )
    expect(seen.incremental).toBeGreaterThan(seen.steps / 2)
    expect(seen.split).toBeGreaterThan(10)
  }, 180_000)
})
