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
import {
  ALL_IPS,
  groupTupleArb,
  inventoryArb,
  policyArb,
  policySetArb,
  PORTS,
  SEED,
  TIMES,
  tupleArb,
  withPolicy,
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
): string | undefined {
  const want = evaluate(inv, ps, t, { now, reply })
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

const flowsArb = fc.array(tupleArb, { minLength: FLOWS_PER_RUN, maxLength: FLOWS_PER_RUN })

describe('PolicyIndex agrees with the reference evaluator', () => {
  it(`on ${RUNS * FLOWS_PER_RUN} random flows, forward and reply, over ${RUNS} random estates`, () => {
    let flows = 0
    fc.assert(
      fc.property(
        inventoryArb,
        policySetArb,
        fc.constantFrom(...TIMES),
        flowsArb,
        (inv, ps, now, tuples) => {
          const index = PolicyIndex.build(inv, ps, now)
          for (const t of tuples) {
            for (const reply of [false, true]) {
              const diff = difference(index, inv, ps, t, now, reply)
              if (diff !== undefined) throw new Error(diff)
            }
            flows++
          }
          // expired rules are those not live at `now`, in policy-set order
          const expired = ps.policies.flatMap((p) =>
            p.rules
              .filter((r) => r.expires !== undefined && now >= r.expires)
              .map((r) => ({ policy: p.name, id: r.id })),
          )
          expect(index.expiredRules).toEqual(expired)
        },
      ),
      { seed: SEED, numRuns: RUNS },
    )
    expect(flows).toBe(RUNS * FLOWS_PER_RUN)
  }, 60_000)
})

describe('PolicyIndex agrees with the reference evaluator on flows to a group', () => {
  it(`the receivers' mode too (${RUNS / 2} random estates, 40 flows each)`, () => {
    let receivers = 0
    fc.assert(
      fc.property(
        inventoryArb,
        policySetArb,
        fc.constantFrom(...TIMES),
        fc.array(groupTupleArb, { minLength: 40, maxLength: 40 }),
        (inv, ps, now, tuples) => {
          const index = PolicyIndex.build(inv, ps, now)
          for (const t of tuples) {
            const diff = difference(index, inv, ps, t, now, false)
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
    fc.assert(
      fc.property(
        inventoryArb,
        policySetArb,
        fc.constantFrom(...TIMES),
        fc.array(updateArb, { minLength: 1, maxLength: 4 }),
        fc.array(tupleArb, { minLength: 30, maxLength: 30 }),
        fc.array(
          fc.tuple(
            fc.constantFrom(...ALL_IPS),
            fc.constantFrom(...ALL_IPS),
            fc.constantFrom(...TIMES),
          ),
          { minLength: 3, maxLength: 3 },
        ),
        (inv, ps0, now, updates, tuples, pairs) => {
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
                const diff = difference(index, inv, ps, t, now, reply)
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
  }, 60_000)
})
