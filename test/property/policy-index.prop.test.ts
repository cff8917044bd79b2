/**
 * @module Differential tests: PolicyIndex (src/policy/policy-index.ts) against the reference
 * evaluator (src/policy/evaluate.ts) on random inventories, policy sets and flows (fixed seed),
 * as Cilium's FuzzDistillPolicy checks its policy map against the reference.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  entityName,
  replyConnectionPort,
  type FlowTuple,
  type Inventory,
  type Policy,
  type PolicySet,
} from '../../src/core/index.js'
import { evaluate } from '../../src/policy/evaluate.js'
import {
  LINK_CONTROL_CODE,
  RELATED_CODE,
  PolicyIndex,
  isAllowedCode,
  type IndexedVerdict,
} from '../../src/policy/policy-index.js'
import { countOutcome, newCounts, type OutcomeCounts } from '../helpers/outcomes.js'
import {
  densePolicySetArb,
  flowInArb,
  flowsInArb,
  GROUPS,
  groupTupleArb,
  inventoryArb,
  policyArb,
  PORTS,
  SEED,
  TIMES,
  withPolicy,
  withV6ExceptArb,
} from '../helpers/model.js'

const RUNS = 1000
const FLOWS_PER_RUN = 100

/** Describes the first difference between the index and the reference, or undefined. */
function difference(
  index: PolicyIndex,
  inv: Inventory,
  ps: PolicySet,
  t: FlowTuple,
  now: number,
  reply: boolean,
  counts?: OutcomeCounts,
): string | undefined {
  const want = evaluate(inv, ps, t, { now, reply })
  if (counts !== undefined && !reply) countOutcome(counts, inv, ps, t, want)
  const got: IndexedVerdict = index.evaluate(t, reply)
  const show = (): string =>
    `${JSON.stringify(t)} reply=${reply} now=${now}: want ${JSON.stringify({ ...want, src: entityName(want.src), dst: entityName(want.dst) })}, got ${JSON.stringify({ ...got, src: entityName(got.src), dst: entityName(got.dst) })}`
  if (got.decision !== want.decision) return `decision ${show()}`
  if (JSON.stringify(got.by) !== JSON.stringify(want.by)) return `by ${show()}`
  if (
    got.srcMode !== want.srcMode ||
    got.dstMode !== want.dstMode ||
    got.receiversMode !== want.receiversMode ||
    got.mode !== want.mode
  )
    return `mode ${show()}`
  if (got.outcome !== want.outcome) return `outcome ${show()}`
  if (got.reply !== want.reply) return `reply ${show()}`
  for (const [a, b] of [
    [got.src, want.src],
    [got.dst, want.dst],
  ] as const) {
    if (a.kind !== b.kind || entityName(a) !== entityName(b)) return `entity ${show()}`
    if (a.kind === 'external' && b.kind === 'external' && a.named !== b.named)
      return `entity named ${show()}`
  }
  // decide() must carry the same decision and rule
  const s = reply ? t.dst : t.src
  const d = reply ? t.src : t.dst
  // a reply is judged on its connection's port (an ICMP reply on its request's type)
  const port = reply ? replyConnectionPort(t.protocol, t.srcPort ?? 0, t.dstPort) : t.dstPort
  const code = index.decide(s, d, t.protocol, port, t.at)
  if (
    index.decideClasses(
      index.endpointClass(s, t.at),
      index.endpointClass(d, t.at),
      t.protocol,
      port,
    ) !== code
  ) {
    return `decideClasses differs from decide ${show()}`
  }
  if (want.by === 'default-deny') {
    if (code !== -1) return `decide ${code} ${show()}`
  } else if (want.by === 'link-control') {
    if (code !== LINK_CONTROL_CODE || !isAllowedCode(code)) return `decide ${code} ${show()}`
  } else if (want.by === 'related') {
    if (code !== RELATED_CODE || !isAllowedCode(code)) return `decide ${code} ${show()}`
  } else {
    const r = index.ruleAt(code >> 1)
    const allowed = isAllowedCode(code)
    if (
      allowed !== (want.decision === 'allowed') ||
      r.policy !== want.by.rule.policy ||
      r.id !== want.by.rule.id ||
      r.action !== want.by.action
    ) {
      return `decide ${code} ${show()}`
    }
  }
  return undefined
}

/**
 * An estate, an instant and flows: policy sets with overlapping allow and deny rules, half of
 * them with an IPv6 CIDR selector whose excepts hold workload addresses (model.ts
 * `withV6ExceptArb`), two thirds of the flows aimed at the rules (model.ts `flowsInArb`: some in
 * an except), a third uniformly random.
 */
const runArb = fc
  .tuple(inventoryArb, withV6ExceptArb(densePolicySetArb))
  .chain(([inv, ps]) =>
    fc.tuple(
      fc.constant(inv),
      fc.constant(ps),
      fc.constantFrom(...TIMES),
      flowsInArb(inv, ps, FLOWS_PER_RUN),
    ),
  )

describe('PolicyIndex agrees with the reference evaluator', () => {
  it(`on ${RUNS * FLOWS_PER_RUN} random flows, forward and reply, over ${RUNS} random estates`, () => {
    const counts = newCounts()
    fc.assert(
      fc.property(runArb, ([inv, ps, now, tuples]) => {
        const index = PolicyIndex.build(inv, ps, now)
        for (const t of tuples) {
          for (const reply of [false, true]) {
            const diff = difference(index, inv, ps, t, now, reply, counts)
            if (diff !== undefined) throw new Error(diff)
          }
        }
        // expired rules are those not live at `now`, in policy-set order
        const expired = ps.policies.flatMap((p) =>
          p.rules
            .filter((r) => r.expires !== undefined && now >= r.expires)
            .map((r) => ({ policy: p.name, id: r.id })),
        )
        expect(index.expiredRules).toEqual(expired)
      }),
      { seed: SEED, numRuns: RUNS },
    )
    expect(counts.flows).toBe(RUNS * FLOWS_PER_RUN)
    // the flows must exercise every part of the semantics, not only default deny. Uniform tuples
    // over the plain sets gave (seed 20261122): 1 202 allowed by a rule, 609 denied by a deny
    // rule, 4 of them over an allow, 997 hit an expired rule, 500 an except, 393 a port range
    // edge, 93 a scoped selector. With these generators: 9 475, 8 115, 4 364, 12 434, 6 487,
    // 20 627, 4 409. Each minimum is about half of that. IPv6 flows in an except: 2 501 over the
    // dense sets alone, none in an except of one address, and the property passed with
    // PolicyIndex leaving the /128 excepts of IPv6 selectors out of its address partition; with
    // withV6ExceptArb 4 442, of which 639 with an end that a /128 except names
    expect(counts.allowedByRule).toBeGreaterThan(3_000)
    expect(counts.deniedByRule).toBeGreaterThan(4_000)
    expect(counts.denyOverAllow).toBeGreaterThan(2_500)
    expect(counts.defaultDenied).toBeGreaterThan(20_000)
    expect(counts.withoutRules).toBeGreaterThan(1_500)
    expect(counts.expiredHit).toBeGreaterThan(5_000)
    expect(counts.cidrExcept).toBeGreaterThan(2_000)
    expect(counts.ipv6).toBeGreaterThan(20_000)
    expect(counts.ipv6Except, 'IPv6 flows in an except').toBeGreaterThan(2_200)
    expect(counts.ipv6HostExcept, 'IPv6 flows in an except of one address').toBeGreaterThan(300)
    expect(counts.portEdge).toBeGreaterThan(8_000)
    expect(counts.scoped).toBeGreaterThan(2_000)
    expect(counts.global).toBeGreaterThan(3_000)
  }, 60_000)
})

/**
 * A flow to a group: a third {@link groupTupleArb}, two thirds a flow aimed at the set's rules
 * (`flowInArb`: the source its `from` picks, a port at a range end) sent to a group of the
 * source's family instead. Over {@link groupTupleArb} and the plain sets 225 of 20 000 group
 * flows were allowed by a rule and 27 denied by one (s30 hI).
 */
function groupFlowArb(inv: Inventory, ps: PolicySet): fc.Arbitrary<FlowTuple> {
  const v4 = GROUPS.filter((g) => !g.includes(':'))
  const v6 = GROUPS.filter((g) => g.includes(':'))
  return fc.oneof(
    { weight: 1, arbitrary: groupTupleArb },
    {
      weight: 2,
      arbitrary: fc.tuple(flowInArb(inv, ps), fc.nat()).map(([t, k]) => {
        const groups = t.src.includes(':') ? v6 : v4
        return { ...t, dst: groups[k % groups.length] as string }
      }),
    },
  )
}

describe('PolicyIndex agrees with the reference evaluator on flows to a group', () => {
  it(`the receivers' mode too (${RUNS / 2} random estates, 40 flows each)`, () => {
    let receivers = 0
    const counts = newCounts()
    fc.assert(
      fc.property(
        fc
          .tuple(inventoryArb, densePolicySetArb, fc.constantFrom(...TIMES))
          .chain(([inv, ps, now]) =>
            fc.tuple(
              fc.constant(inv),
              fc.constant(ps),
              fc.constant(now),
              fc.array(groupFlowArb(inv, ps), { minLength: 40, maxLength: 40 }),
            ),
          ),
        ([inv, ps, now, tuples]) => {
          const index = PolicyIndex.build(inv, ps, now)
          for (const t of tuples) {
            const diff = difference(index, inv, ps, t, now, false, counts)
            if (diff !== undefined) throw new Error(diff)
            const v = index.evaluate(t)
            if (v.receiversMode === undefined) throw new Error(`no receivers' mode ${t.dst}`)
            if (v.receiversMode !== 'observe') receivers++
          }
        },
      ),
      { seed: SEED, numRuns: RUNS / 2 },
    )
    // the estates must give some group flows a monitoring or enforcing receiver
    expect(receivers).toBeGreaterThan(RUNS)
    // with the seed, of 20 000 group flows: 634 allowed by a rule, 328 denied by one (201 over an
    // allow), 779 met an expired rule, 153 fell in an except, 925 at a port range end, 114 scoped
    expect(counts.allowedByRule).toBeGreaterThan(300)
    expect(counts.denyOverAllow).toBeGreaterThan(100)
    expect(counts.defaultDenied).toBeGreaterThan(5_000)
    expect(counts.expiredHit).toBeGreaterThan(380)
    expect(counts.cidrExcept).toBeGreaterThan(70)
    expect(counts.portEdge).toBeGreaterThan(450)
    // scoped flows come in clusters (an estate has a scoped policy or not): 114 with the default
    // seed, 55 with FC_SEED=3611202614, so the bound is well below both
    expect(counts.scoped).toBeGreaterThan(25)
  }, 60_000)
})

/** One update: replace, add or remove (undefined) a policy by name. */
const updateArb: fc.Arbitrary<{ name: string; policy: Policy | undefined }> = fc
  .constantFrom('p0', 'p1', 'p2', 'p3', 'o', 'q')
  .chain((name) =>
    fc.record({
      name: fc.constant(name),
      policy: fc.option(policyArb(name), { freq: 3, nil: undefined }),
    }),
  )

const PROTO_PORTS: readonly [number, number][] = [
  ...[6, 17, 132].flatMap((p) => PORTS.map((port): [number, number] => [p, port])),
  ...[1, 58].flatMap((p) => [0, 8, 128, 255].map((port): [number, number] => [p, port])),
  [47, 0],
]

describe('PolicyIndex after updatePolicy', () => {
  it('equals a fresh reference evaluation of the updated policy set; allowedServices matches evaluate', () => {
    let checked = 0
    let nonEmpty = 0
    const counts = newCounts()
    fc.assert(
      fc.property(
        fc
          .tuple(
            inventoryArb,
            densePolicySetArb,
            fc.array(updateArb, { minLength: 1, maxLength: 4 }),
          )
          .chain(([inv, ps0, updates]) => {
            // aim the flows at the rules of the set and of the policies the updates bring
            const brought = updates.flatMap((u) => (u.policy ? [u.policy] : []))
            const all: PolicySet = { ...ps0, policies: [...ps0.policies, ...brought] }
            return fc.tuple(
              fc.constant(inv),
              fc.constant(ps0),
              fc.constantFrom(...TIMES),
              fc.constant(updates),
              flowsInArb(inv, all, 30),
            )
          }),
        ([inv, ps0, now, updates, tuples]) => {
          // allowedServices between the ends of three of the flows (mostly aimed at a rule)
          const pairs = tuples.slice(10, 13).map((t) => [t.src, t.dst, t.at] as const)
          const index = PolicyIndex.build(inv, ps0, now)
          let ps = ps0
          // touch some pairs first so that caches exist to be invalidated
          for (const t of tuples.slice(0, 10))
            index.decide(t.src, t.dst, t.protocol, t.dstPort, t.at)
          for (const u of updates) {
            index.updatePolicy(u.name, u.policy)
            ps = withPolicy(ps, u.name, u.policy)
            for (const t of tuples) {
              for (const reply of [false, true]) {
                const diff = difference(index, inv, ps, t, now, reply, counts)
                if (diff !== undefined)
                  throw new Error(
                    `after updates ${JSON.stringify(updates.map((x) => x.name))}: ${diff}`,
                  )
              }
              checked++
            }
          }
          for (const [src, dst, at] of pairs) {
            const set = index.allowedServices(src, dst, at)
            if (!set.isEmpty) nonEmpty++
            for (const [protocol, dstPort] of PROTO_PORTS) {
              // what the rules allow: link control and ICMP errors are allowed whatever they say
              const v = evaluate(inv, ps, { src, dst, protocol, dstPort, at }, { now })
              const want = v.matched.allow.length > 0 && v.matched.deny.length === 0
              if (set.has(protocol, dstPort) !== want) {
                throw new Error(
                  `allowedServices ${src} -> ${dst} at ${at}: ${protocol}/${dstPort} want ${want}, set ${set.toString()}`,
                )
              }
            }
          }
        },
      ),
      { seed: SEED, numRuns: 400 },
    )
    expect(checked).toBeGreaterThan(400 * 30)
    // with uniform tuples over the plain sets, 326 of 29 370 flows were allowed by a rule and 7
    // denied by a deny over an allow (seed 20261122); now 2 927 and 915 of 28 650
    expect(counts.allowedByRule).toBeGreaterThan(counts.flows / 20)
    expect(counts.denyOverAllow).toBeGreaterThan(counts.flows / 40)
    expect(counts.expiredHit).toBeGreaterThan(counts.flows / 20)
    expect(nonEmpty).toBeGreaterThan(100) // 214 of 1 200 sets with the seed
  }, 60_000)
})
