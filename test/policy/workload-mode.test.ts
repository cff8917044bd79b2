/**
 * One enforcement mode per workload (DESIGN.md glossary "enforcement mode: per workload"): a
 * `cidr` Enforcement entry can match one address of a workload and not another; the workload's
 * mode is then the strongest of its addresses' modes at the flow's time, as every compiler gives
 * its host (nftables `hostMode`). From held-out case c20: `dual` holds 10.20.0.4 (in the enforced
 * block) and 10.21.0.4 (not in it); a denied flow from either address is `blocked`, as the
 * compiled ruleset drops it. Every expectation below is worked out by hand from the entries.
 */
import { describe, expect, it } from 'vitest'
import {
  labelSet,
  parseCidr,
  type Cidr,
  type EnforcementEntry,
  type Flow,
  type FlowTuple,
  type PolicySet,
  type Workload,
} from '../../src/core/index.js'
import { hostMode } from '../../src/compile/nftables/compile.js'
import { diffEnforcement, FlowDiffer } from '../../src/policy/diff.js'
import { enforcementEntryOf, evaluate, workloadEnforcement } from '../../src/policy/evaluate.js'
import { PolicyIndex } from '../../src/policy/policy-index.js'
import { simulate } from '../../src/policy/simulate.js'
import { inventoryOf, workload } from '../helpers/workloads.js'

const T = (iso: string): number => Date.parse(iso)
const DAY20 = T('2026-10-20T10:00:00Z')
const DAY22 = T('2026-10-22T10:00:00Z')

const dual = workload('dual', ['10.20.0.4', '10.21.0.4'], { app: 'z', env: 'prod' })
const p3 = workload('p3', '10.20.2.9', { app: 'z', env: 'prod' })
/** Holds 10.21.0.7 always and 10.20.0.7 (in the enforced block) on 2026-10-20 only. */
const roamer: Workload = {
  name: 'roamer',
  labels: labelSet({ app: 'z', env: 'prod' }),
  addresses: [
    { ip: '10.21.0.7' },
    { ip: '10.20.0.7', from: T('2026-10-20T00:00:00Z'), to: T('2026-10-21T00:00:00Z') },
  ],
}
const inventory = inventoryOf(dual, p3, roamer)

const BLOCK: EnforcementEntry = {
  selector: { kind: 'cidr', cidr: parseCidr('10.20.0.0/24') as Cidr, except: [] },
  mode: 'enforce',
}
const REST = (mode: EnforcementEntry['mode']): EnforcementEntry => ({
  selector: { kind: 'labels', match: labelSet(), expressions: [], global: false },
  mode,
})
/** No rules (every flow denied by default); the c20 Enforcement entries. */
const SET: PolicySet = { policies: [], enforcement: [BLOCK, REST('monitor')] }

const tuple = (src: string, dst: string, at: number): FlowTuple => ({
  src,
  dst,
  protocol: 6,
  dstPort: 80,
  srcPort: 50000,
  at,
})

const flow = (src: string, dst: string, start: number): Flow => ({
  src,
  dst,
  srcPort: 50000,
  dstPort: 80,
  protocol: 6,
  start,
  end: start + 1000,
  packets: 4,
  bytes: 300,
  observedAction: 'accept',
  direction: 'client-to-server',
  source: { format: 'test', file: 'mem' },
})

/** [src, dst, time, srcMode, dstMode, outcome], by hand: dual enforce; p3 monitor; roamer enforce on day 20 only. */
const CASES: [string, string, number, string, string, string][] = [
  ['10.21.0.4', '10.20.2.9', DAY20, 'enforce', 'monitor', 'blocked'], // c20 line 5
  ['10.20.0.4', '10.20.2.9', DAY20, 'enforce', 'monitor', 'blocked'],
  ['10.20.2.9', '10.21.0.4', DAY20, 'monitor', 'enforce', 'blocked'],
  ['10.21.0.7', '10.20.2.9', DAY20, 'enforce', 'monitor', 'blocked'],
  ['10.21.0.7', '10.20.2.9', DAY22, 'monitor', 'monitor', 'would-be-blocked'],
]

describe('a workload has one mode: the strongest of the modes of the addresses it holds', () => {
  it('the reference evaluator gives dual enforce at either address (c20)', () => {
    for (const [src, dst, at, srcMode, dstMode, outcome] of CASES) {
      const v = evaluate(inventory, SET, tuple(src, dst, at))
      expect([src, dst, v.srcMode, v.dstMode, v.outcome]).toEqual([
        src,
        dst,
        srcMode,
        dstMode,
        outcome,
      ])
    }
  })

  it('PolicyIndex agrees, forward and reply', () => {
    const index = PolicyIndex.build(inventory, SET, DAY20)
    for (const [src, dst, at] of CASES) {
      for (const reply of [false, true]) {
        const t = tuple(src, dst, at)
        const want = evaluate(inventory, SET, t, { reply, now: DAY20 })
        const got = index.evaluate(t, reply)
        expect([got.srcMode, got.dstMode, got.outcome]).toEqual([
          want.srcMode,
          want.dstMode,
          want.outcome,
        ])
      }
    }
  })

  it('simulate reports the flow from dual at its monitor address as blocked', () => {
    const index = PolicyIndex.build(inventory, SET, DAY20)
    const r = simulate(
      index,
      inventory,
      DAY20,
      CASES.map(([src, dst, at]) => flow(src, dst, at)),
    )
    expect(r.outcomes).toEqual({ allowed: 0, blocked: 4, 'would-be-blocked': 1, unenforced: 0 })
  })

  it('agrees with the mode nftables compiles for the host, and names the deciding entry', () => {
    for (const at of [DAY20, DAY22]) {
      for (const w of [dual, p3, roamer]) {
        const ip = w.addresses.find((a) => a.from === undefined)?.ip as string
        const v = evaluate(inventory, SET, tuple(ip, '192.0.2.1', at))
        expect(hostMode(SET, w, at).mode).toBe(v.srcMode)
      }
    }
    expect(hostMode(SET, dual, DAY20).mixed?.code).toBe('compile/mixed-mode')
    expect(hostMode(SET, roamer, DAY22).mixed).toBeUndefined()
    // the strongest address's entry decides: #0 (the block) for dual, #1 ({}) for p3
    const e = { kind: 'workload', workload: dual } as const
    expect(enforcementEntryOf(SET, e, DAY20)).toBe(0)
    expect(enforcementEntryOf(SET, { kind: 'workload', workload: p3 }, DAY20)).toBe(1)
    expect(workloadEnforcement(SET, dual, DAY20).addresses.map((a) => a.mode)).toEqual([
      'enforce',
      'monitor',
    ])
  })

  it('a tie: the first address in inventory order decides the entry', () => {
    const other: EnforcementEntry = {
      selector: { kind: 'cidr', cidr: parseCidr('10.21.0.0/24') as Cidr, except: [] },
      mode: 'enforce',
    }
    const set: PolicySet = { policies: [], enforcement: [other, BLOCK, REST('monitor')] }
    // 10.20.0.4 → entry 1 (enforce), 10.21.0.4 → entry 0 (enforce): the first address's, 1
    expect(workloadEnforcement(set, dual, DAY20)).toMatchObject({ entry: 1, mode: 'enforce' })
  })

  it('a workload holding no address gets the mode of the first non-cidr entry that matches it', () => {
    const gone: Workload = {
      name: 'gone',
      labels: labelSet({ app: 'z' }),
      addresses: [{ ip: '10.20.0.9', to: DAY20 - 1 }],
    }
    expect(workloadEnforcement(SET, gone, DAY22)).toEqual({
      entry: 1,
      mode: 'monitor',
      addresses: [],
    })
  })

  it('diff compares one mode per workload: dual stays enforced when the rest goes to observe', () => {
    const neu: PolicySet = { policies: [], enforcement: [BLOCK, REST('observe')] }
    const d = diffEnforcement(inventory, SET, neu, DAY22)
    // dual: enforce (its 10.20.0.4) under both; p3 and roamer (on day 22): monitor → observe
    expect(d.workloads).toBe(2)
    expect(d.groups.map((g) => [g.old, g.new, g.workloads])).toEqual([
      ['monitor', 'observe', ['p3', 'roamer']],
    ])
    // the observed flow from dual's 10.21.0.4 stays blocked: no outcome change
    const differ = new FlowDiffer(inventory, SET, neu, { now: new Date(DAY22) })
    differ.add(flow('10.21.0.4', '10.20.2.9', DAY20))
    expect(differ.result().outcomeChanges.flows).toBe(0)
  })
})
