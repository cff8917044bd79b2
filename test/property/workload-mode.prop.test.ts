/**
 * @module One enforcement mode per workload, on random estates (fixed seed): for every address a
 * workload holds at a time, the reference evaluator's mode of a flow from or to it is the
 * strongest of the first-match modes of all the addresses the workload holds then (worked out
 * here by brute force, apart from src/policy/evaluate.ts), and PolicyIndex and the nftables
 * compiler's `hostMode` give the same. The Enforcement entries put `cidr` selectors that split
 * the generator's addresses (10.0.0.0/29 | 10.0.0.8/29, 2001:db8::/126 | 2001:db8::4/127) before
 * label and `any` entries, and the test counts the workloads they split, so the property checks
 * the rule where it matters.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  cidrContains,
  parseCidr,
  parseIp,
  selectorMatches,
  type Cidr,
  type EnforcementEntry,
  type EnforcementMode,
  type Inventory,
  type PolicySet,
  type Workload,
} from '../../src/core/index.js'
import { hostMode } from '../../src/compile/nftables/compile.js'
import { addressHoldsAt, evaluate, groupReceiversMode } from '../../src/policy/evaluate.js'
import { PolicyIndex } from '../../src/policy/policy-index.js'
import { enforcementArb, inventoryArb, policySetArb, SEED, TIMES } from '../helpers/model.js'

const RUNS = 400
const RANK: Record<EnforcementMode, number> = { observe: 0, monitor: 1, enforce: 2 }
const SPLITTING = ['10.0.0.0/29', '10.0.0.8/29', '10.0.0.4/30', '2001:db8::/126', '2001:db8::4/127']

/** 1–3 `cidr` entries on blocks that split the generator's addresses, then random entries. */
const splitEnforcementArb: fc.Arbitrary<EnforcementEntry[]> = fc
  .tuple(
    fc.array(
      fc.record({
        cidr: fc.constantFrom(...SPLITTING),
        mode: fc.constantFrom<EnforcementMode>('observe', 'monitor', 'enforce'),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    enforcementArb,
  )
  .map(([cidrs, rest]) => [
    ...cidrs.map(({ cidr, mode }): EnforcementEntry => ({
      selector: { kind: 'cidr', cidr: parseCidr(cidr) as Cidr, except: [] },
      mode,
    })),
    ...rest,
  ])

/** The brute-force mode of a workload at `at`: first match per held address, then the strongest. */
function expectedMode(ps: PolicySet, w: Workload, at: number): EnforcementMode[] {
  return w.addresses
    .filter((a) => addressHoldsAt(a, at))
    .map((a) => {
      const ip = parseIp(a.ip)
      if (ip === undefined) return 'observe'
      const e = ps.enforcement.find((x) =>
        x.selector.kind === 'cidr'
          ? cidrContains(x.selector.cidr, ip) && !x.selector.except.some((c) => cidrContains(c, ip))
          : selectorMatches(x.selector, { ip, entity: { kind: 'workload', workload: w } }, {}),
      )
      return e?.mode ?? 'observe'
    })
}

describe('a workload has one enforcement mode: the strongest of its held addresses', () => {
  it(`evaluate, PolicyIndex and hostMode agree with the brute force over ${RUNS} random estates`, () => {
    let split = 0
    let checked = 0
    fc.assert(
      fc.property(
        inventoryArb,
        policySetArb,
        splitEnforcementArb,
        (inv: Inventory, base: PolicySet, enforcement) => {
          const ps: PolicySet = { ...base, enforcement }
          // one index for every instant: a workload's mode changes as it gains and loses addresses
          const index = PolicyIndex.build(inv, ps, TIMES[0] as number)
          for (const at of TIMES) {
            for (const w of inv.workloads) {
              const modes = expectedMode(ps, w, at)
              if (modes.length === 0) continue
              const want = modes.reduce((m, x) => (RANK[x] > RANK[m] ? x : m))
              if (new Set(modes).size > 1) split++
              expect(hostMode(ps, w, at).mode).toBe(want)
              for (const a of w.addresses.filter((x) => addressHoldsAt(x, at))) {
                const out = { src: a.ip, dst: '203.0.113.5', protocol: 6, dstPort: 80, at }
                const back = { src: '203.0.113.5', dst: a.ip, protocol: 6, dstPort: 80, at }
                expect(evaluate(inv, ps, out).srcMode).toBe(want)
                expect(evaluate(inv, ps, back).dstMode).toBe(want)
                expect(index.evaluate(out).srcMode).toBe(want)
                expect(index.evaluate(back).dstMode).toBe(want)
                checked++
              }
            }
          }
        },
      ),
      { seed: SEED, numRuns: RUNS },
    )
    // the generator must produce workloads whose addresses the cidr entries split
    expect(split).toBeGreaterThan(RUNS / 4)
    expect(checked).toBeGreaterThan(RUNS)
  }, 60_000)
})

describe('the receivers of a group: the strongest mode of the workloads holding an address', () => {
  it(`reference and PolicyIndex agree with the brute force, either side of every address window`, () => {
    const DAY = 86_400_000
    const T0 = TIMES[0] as number
    // the generator's windows start at a day of TIMES and last 1–9 days: every bound is a day
    const instants = Array.from({ length: 20 }, (_, d) => [T0 + d * DAY - 1, T0 + d * DAY]).flat()
    let changing = 0
    fc.assert(
      fc.property(
        inventoryArb,
        policySetArb,
        splitEnforcementArb,
        (inv: Inventory, base: PolicySet, enforcement) => {
          const ps: PolicySet = { ...base, enforcement }
          const index = PolicyIndex.build(inv, ps, T0)
          const seen = new Set<string | undefined>()
          for (const at of instants) {
            let want: EnforcementMode | undefined
            for (const w of inv.workloads) {
              for (const m of expectedMode(ps, w, at))
                if (want === undefined || RANK[m] > RANK[want]) want = m
            }
            seen.add(want)
            expect(groupReceiversMode(inv, ps, at)).toBe(want)
            expect(index.groupReceiversMode(at)).toBe(want)
            const v = index.evaluate({
              src: '203.0.113.5',
              dst: '224.0.0.251',
              protocol: 17,
              dstPort: 5353,
              at,
            })
            expect(v.receiversMode).toBe(want ?? 'observe')
          }
          if (seen.size > 1) changing++
        },
      ),
      { seed: SEED, numRuns: RUNS },
    )
    // some estates' receivers must change over time (time-bounded addresses)
    expect(changing).toBeGreaterThan(RUNS / 10)
  }, 60_000)
})
