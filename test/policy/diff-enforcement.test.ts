/**
 * Policy diff, Enforcement part: entries added, removed and changed, the workloads whose mode
 * changes, and the observed flows whose outcome changes although their verdict does not. Every
 * expectation is worked out by hand from DESIGN.md semantics 5 (first match wins, unmatched
 * workloads observe, the stronger mode of the two ends decides a denied flow's outcome).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  labelSet,
  type EnforcementEntry,
  type EnforcementMode,
  type Flow,
  type FlowDirection,
  type Outcome,
  type PolicySet,
  type Selector,
} from '../../src/core/index.js'
import {
  diffEnforcement,
  diffPolicies,
  FlowDiffer,
  hasImpact,
  type OutcomeEdgeChange,
} from '../../src/policy/diff.js'
import { PolicyIndex } from '../../src/policy/policy-index.js'
import { simulate, Simulator } from '../../src/policy/simulate.js'
import {
  enforcementMixArb,
  groupTupleArb,
  inventoryArb,
  policySetArb,
  SEED,
  TIMES,
  tupleArb,
} from '../helpers/model.js'
import { inventoryOf, workload } from '../helpers/workloads.js'

const lbl = (m: Record<string, string>): Selector => ({
  kind: 'labels',
  match: labelSet(m),
  expressions: [],
  global: false,
})
/** An entry at line `line` of e.yaml (column 5, as a `modes` item is). */
const entry = (
  m: Record<string, string>,
  mode: EnforcementMode,
  line: number,
): EnforcementEntry => ({
  selector: lbl(m),
  mode,
  location: { file: 'e.yaml', line, column: 5 },
})
const loc = (line: number) => ({ file: 'e.yaml', line, column: 5 })

// web -> api tcp/443 (prod only) is the one allowed connection
const POLICIES: PolicySet['policies'] = [
  {
    name: 'p',
    owner: 'team',
    scope: labelSet(),
    file: 'p.yaml',
    rules: [
      {
        id: 'web-to-api',
        action: 'allow',
        from: [lbl({ role: 'web', env: 'prod' })],
        to: [lbl({ role: 'api' })],
        services: [{ protocol: 6, ports: { lo: 443, hi: 443 } }],
        emergency: false,
      },
    ],
  },
]
const withModes = (...enforcement: EnforcementEntry[]): PolicySet => ({
  policies: POLICIES,
  enforcement,
})

const WEB = '10.0.0.1'
const API = '10.0.0.2'
const DB = '10.0.0.3'
const DEV = '10.0.0.4'
const BLOG = '10.0.0.5'
const INTERNET = '203.0.113.5'
const inventory = inventoryOf(
  workload('web', WEB, { app: 'shop', env: 'prod', role: 'web' }),
  workload('api', API, { app: 'shop', env: 'prod', role: 'api' }),
  workload('db', DB, { app: 'shop', env: 'prod', role: 'db' }),
  workload('dev', DEV, { app: 'shop', env: 'dev', role: 'web' }),
  workload('blog', BLOG, { app: 'blog', env: 'prod' }),
)
const NOW = new Date('2026-11-01T00:00:00Z')

const flow = (
  src: string,
  dst: string,
  dstPort: number,
  start: number,
  over: Partial<Flow> = {},
): Flow => ({
  src,
  dst,
  srcPort: 50000,
  dstPort,
  protocol: 6,
  start,
  end: start + 1,
  packets: 1,
  bytes: 100,
  observedAction: 'accept',
  direction: 'client-to-server',
  source: { format: 'test', file: 'mem' },
  ...over,
})

/** The same observed traffic for every case below. */
const TRAFFIC: Flow[] = [
  flow(WEB, API, 443, 1000), // allowed under every set
  flow(WEB, DB, 5432, 2000), // denied: web and db
  flow(WEB, DB, 5432, 3000),
  // the reply half of a web -> db connection: judged as web -> db tcp/5432
  flow(DB, WEB, 50000, 4000, { srcPort: 5432, direction: 'server-to-client' }),
  flow(WEB, API, 22, 5000), // denied: web and api
  flow(DEV, API, 443, 6000, { observedAction: 'reject' }), // denied: dev (no rule) and api
  flow(BLOG, DEV, 80, 7000), // denied: blog and dev
  flow(INTERNET, WEB, 443, 8000), // denied: internet (always observe) and web
]

const differ = (old: PolicySet, neu: PolicySet, flows: Flow[] = TRAFFIC): FlowDiffer => {
  const d = new FlowDiffer(inventory, old, neu, { now: NOW })
  for (const f of flows) d.add(f)
  return d
}
const edgeRow = (e: OutcomeEdgeChange) => [
  e.change,
  e.src,
  e.dst,
  e.service,
  e.flows,
  e.alreadyRejected,
  e.old.outcome,
  e.new.outcome,
  e.entry === undefined ? undefined : `${e.entry.set} ${e.entry.position} ${e.entry.mode}`,
]

describe('diffEnforcement and outcome changes: monitor → enforce', () => {
  const SHOP_PROD = { app: 'shop', env: 'prod' }
  const old = withModes(entry(SHOP_PROD, 'monitor', 4))
  const neu = withModes(entry(SHOP_PROD, 'enforce', 4))

  it('the entry changes its mode and web, api and db go from monitor to enforce', () => {
    const oldEntry = {
      position: 1,
      selector: '{app=shop,env=prod}',
      mode: 'monitor',
      location: loc(4),
    }
    const newEntry = { ...oldEntry, mode: 'enforce' }
    expect(diffEnforcement(inventory, old, neu, NOW.getTime())).toEqual({
      entries: [{ kind: 'changed', fields: ['mode'], old: oldEntry, new: newEntry }],
      workloads: 3, // dev (env dev) and blog (app blog) stay observe
      transitions: [{ old: 'monitor', new: 'enforce', workloads: 3 }],
      groups: [
        { old: 'monitor', new: 'enforce', oldEntry, newEntry, workloads: ['api', 'db', 'web'] },
      ],
    })
  })

  it('denied flows to or from shop prod go from would-be-blocked to blocked: impact', () => {
    const r = differ(old, neu).result()
    // no verdict changes: the policies are the same
    expect(r).toMatchObject({ flows: 8, newlyBlocked: 0, newlyAllowed: 0, edges: [] })
    // web->db x3 (one a reply), web->api tcp/22, internet->web, dev->api (rejected where
    // observed); blog->dev stays unenforced, web->api tcp/443 stays allowed
    expect(r.outcomeChanges).toMatchObject({ flows: 6, newlyDropped: 5, alreadyRejected: 1 })
    expect(r.outcomeChanges.edges.map(edgeRow)).toEqual([
      ['stricter', 'web', 'db', 'tcp/5432', 3, 0, 'would-be-blocked', 'blocked', 'new 1 enforce'],
      [
        'stricter',
        'internet',
        'web',
        'tcp/443',
        1,
        0,
        'would-be-blocked',
        'blocked',
        'new 1 enforce',
      ],
      ['stricter', 'web', 'api', 'tcp/22', 1, 0, 'would-be-blocked', 'blocked', 'new 1 enforce'],
      // only flows already rejected where observed: last of those that become blocked
      ['stricter', 'dev', 'api', 'tcp/443', 1, 1, 'would-be-blocked', 'blocked', 'new 1 enforce'],
    ])
    expect(r.outcomeChanges.edges[0]).toMatchObject({
      firstSeen: 2000,
      lastSeen: 4001,
      old: { decision: 'denied', by: 'default-deny' },
      new: { decision: 'denied', by: 'default-deny' },
      entry: { set: 'new', selector: '{app=shop,env=prod}', location: loc(4) },
    })
    expect(hasImpact({ ...diffPolicies(inventory, old, neu, { now: NOW }), flows: r })).toBe(true)
  })

  it('a flow dropped under NEW that its observer had already rejected is no impact', () => {
    const r = differ(old, neu, [flow(DEV, API, 443, 6000, { observedAction: 'reject' })]).result()
    expect(r.outcomeChanges).toMatchObject({ flows: 1, newlyDropped: 0, alreadyRejected: 1 })
    expect(hasImpact({ ...diffPolicies(inventory, old, neu, { now: NOW }), flows: r })).toBe(false)
  })

  it('a flow whose verdict and outcome both change is counted once, as a verdict change', () => {
    // OLD also allows web -> db tcp/5432; NEW does not, and enforces
    const allowDb: PolicySet['policies'] = [
      {
        ...(POLICIES[0] as PolicySet['policies'][number]),
        rules: [
          {
            id: 'web-to-db',
            action: 'allow',
            from: [lbl({ role: 'web' })],
            to: [lbl({ role: 'db' })],
            services: [{ protocol: 6, ports: { lo: 5432, hi: 5432 } }],
            emergency: false,
          },
        ],
      },
    ]
    const o = { ...old, policies: allowDb }
    const r = differ(o, neu, [flow(WEB, DB, 5432, 2000), flow(WEB, API, 22, 5000)]).result()
    expect(r).toMatchObject({ flows: 2, newlyBlocked: 1 })
    expect(
      r.edges.map((e) => [e.change, e.service, e.flows, e.old.outcome, e.new.outcome]),
    ).toEqual([['blocked', 'tcp/5432', 1, 'allowed', 'blocked']])
    expect(r.outcomeChanges.flows).toBe(1) // web -> api tcp/22 only
    expect(r.outcomeChanges.edges.map((e) => [e.service, e.flows])).toEqual([['tcp/22', 1]])
  })
})

describe('diffEnforcement and outcome changes: enforce → monitor', () => {
  it('the same workloads go back, and flows are no longer dropped: no impact', () => {
    const old = withModes(entry({ app: 'shop', env: 'prod' }, 'enforce', 4))
    const neu = withModes(entry({ app: 'shop', env: 'prod' }, 'monitor', 4))
    const d = diffEnforcement(inventory, old, neu, NOW.getTime())
    expect(d.transitions).toEqual([{ old: 'enforce', new: 'monitor', workloads: 3 }])
    expect(d.groups.map((g) => g.workloads)).toEqual([['api', 'db', 'web']])
    const r = differ(old, neu).result()
    expect(r.outcomeChanges).toMatchObject({ flows: 6, newlyDropped: 0, alreadyRejected: 0 })
    expect(r.outcomeChanges.edges.map(edgeRow)).toEqual([
      ['looser', 'web', 'db', 'tcp/5432', 3, 0, 'blocked', 'would-be-blocked', 'new 1 monitor'],
      ['looser', 'dev', 'api', 'tcp/443', 1, 1, 'blocked', 'would-be-blocked', 'new 1 monitor'],
      [
        'looser',
        'internet',
        'web',
        'tcp/443',
        1,
        0,
        'blocked',
        'would-be-blocked',
        'new 1 monitor',
      ],
      ['looser', 'web', 'api', 'tcp/22', 1, 0, 'blocked', 'would-be-blocked', 'new 1 monitor'],
    ])
    expect(hasImpact({ ...diffPolicies(inventory, old, neu, { now: NOW }), flows: r })).toBe(false)
  })

  it('a removed entry: db falls through to the next entry, which is where its new mode comes from', () => {
    const old = withModes(entry({ role: 'db' }, 'enforce', 4), entry({ app: 'shop' }, 'monitor', 5))
    const neu = withModes(entry({ app: 'shop' }, 'monitor', 4))
    const d = diffEnforcement(inventory, old, neu, NOW.getTime())
    const dbEntry = { position: 1, selector: '{role=db}', mode: 'enforce', location: loc(4) }
    // the {app=shop} entry keeps its order relative to the other matched entries (there are none)
    expect(d.entries).toEqual([{ kind: 'removed', fields: [], old: dbEntry }])
    expect(d.groups).toEqual([
      {
        old: 'enforce',
        new: 'monitor',
        oldEntry: dbEntry,
        newEntry: { position: 1, selector: '{app=shop}', mode: 'monitor', location: loc(4) },
        workloads: ['db'],
      },
    ])
    // web -> db: the stronger end was db (enforce), now both monitor
    const r = differ(old, neu).result()
    expect(r.outcomeChanges.edges.map(edgeRow)).toEqual([
      ['looser', 'web', 'db', 'tcp/5432', 3, 0, 'blocked', 'would-be-blocked', 'new 1 monitor'],
    ])
  })
})

describe('diffEnforcement and outcome changes: observe → monitor', () => {
  it('prod workloads start being reported: stricter, not dropped, no impact', () => {
    const old = withModes(entry({ env: 'prod' }, 'observe', 4))
    const neu = withModes(entry({ env: 'prod' }, 'monitor', 4))
    const d = diffEnforcement(inventory, old, neu, NOW.getTime())
    expect(d.workloads).toBe(4) // all but dev
    expect(d.groups.map((g) => [g.old, g.new, g.workloads])).toEqual([
      ['observe', 'monitor', ['api', 'blog', 'db', 'web']],
    ])
    const r = differ(old, neu).result()
    // every denied flow changes: blog -> dev too, now that blog (prod) is monitored
    expect(r.outcomeChanges).toMatchObject({ flows: 7, newlyDropped: 0, alreadyRejected: 0 })
    expect(r.outcomeChanges.edges.map((e) => [e.src, e.dst, e.service, e.flows, e.change])).toEqual(
      [
        ['web', 'db', 'tcp/5432', 3, 'stricter'],
        ['blog', 'dev', 'tcp/80', 1, 'stricter'],
        ['dev', 'api', 'tcp/443', 1, 'stricter'],
        ['internet', 'web', 'tcp/443', 1, 'stricter'],
        ['web', 'api', 'tcp/22', 1, 'stricter'],
      ],
    )
    expect(r.outcomeChanges.edges.every((e) => e.new.outcome === 'would-be-blocked')).toBe(true)
    expect(hasImpact({ ...diffPolicies(inventory, old, neu, { now: NOW }), flows: r })).toBe(false)
  })

  it('a new entry for unmatched workloads: the change has no OLD entry', () => {
    const neu = withModes(entry({ env: 'dev' }, 'monitor', 4))
    const d = diffEnforcement(inventory, withModes(), neu, NOW.getTime())
    const newEntry = { position: 1, selector: '{env=dev}', mode: 'monitor', location: loc(4) }
    expect(d).toEqual({
      entries: [{ kind: 'added', fields: [], new: newEntry }],
      workloads: 1,
      transitions: [{ old: 'observe', new: 'monitor', workloads: 1 }],
      groups: [{ old: 'observe', new: 'monitor', newEntry, workloads: ['dev'] }],
    })
  })
})

describe('outcome changes of flows to a group: its receivers judge it too', () => {
  it('a receiver that starts enforcing drops denied group flows of observed senders', () => {
    // worked by hand: no rule names a group, so both flows are denied under OLD and NEW; OLD
    // leaves every workload observe (unenforced), NEW makes db enforce, and db receives both
    const neu = withModes(entry({ role: 'db' }, 'enforce', 4))
    const udp = { protocol: 17 }
    const r = differ(withModes(), neu, [
      flow(INTERNET, '239.255.255.250', 1900, 1000, udp),
      flow(BLOG, '224.0.0.251', 5353, 2000, udp),
    ]).result()
    expect(r.outcomeChanges).toMatchObject({ flows: 2, newlyDropped: 2, alreadyRejected: 0 })
    expect(r.outcomeChanges.edges.map(edgeRow)).toEqual([
      [
        'stricter',
        'blog',
        '224.0.0.251',
        'udp/5353',
        1,
        0,
        'unenforced',
        'blocked',
        'new 1 enforce',
      ],
      [
        'stricter',
        'internet',
        '239.255.255.250',
        'udp/1900',
        1,
        0,
        'unenforced',
        'blocked',
        'new 1 enforce',
      ],
    ])
  })
})

describe('diffEnforcement: reordering entries', () => {
  // OLD: {role=db} enforce, {env=prod} monitor, {app=blog} observe, {env=dev} monitor
  // NEW: {env=prod} monitor, {app=blog} observe, {role=db} enforce, {env=dev} monitor
  const old = withModes(
    entry({ role: 'db' }, 'enforce', 4),
    entry({ env: 'prod' }, 'monitor', 5),
    entry({ app: 'blog' }, 'observe', 6),
    entry({ env: 'dev' }, 'monitor', 7),
  )
  const neu = withModes(
    entry({ env: 'prod' }, 'monitor', 4),
    entry({ app: 'blog' }, 'observe', 5),
    entry({ role: 'db' }, 'enforce', 6),
    entry({ env: 'dev' }, 'monitor', 7),
  )

  it('changes first match for db only; web, api, blog and dev keep their modes', () => {
    const d = diffEnforcement(inventory, old, neu, NOW.getTime())
    // only {role=db} moved: the other three kept their relative order
    expect(d.entries).toEqual([
      {
        kind: 'changed',
        fields: ['position'],
        old: { position: 1, selector: '{role=db}', mode: 'enforce', location: loc(4) },
        new: { position: 3, selector: '{role=db}', mode: 'enforce', location: loc(6) },
      },
    ])
    // db: first match was {role=db} (enforce), now {env=prod} (monitor). web and api: {env=prod}
    // monitor both times; blog: {env=prod} comes before {app=blog} both times (monitor); dev:
    // {env=dev} monitor both times
    expect(d.workloads).toBe(1)
    expect(d.groups).toEqual([
      {
        old: 'enforce',
        new: 'monitor',
        oldEntry: { position: 1, selector: '{role=db}', mode: 'enforce', location: loc(4) },
        newEntry: { position: 1, selector: '{env=prod}', mode: 'monitor', location: loc(4) },
        workloads: ['db'],
      },
    ])
  })

  it('only flows with db on one end change outcome', () => {
    const r = differ(old, neu).result()
    expect(r.outcomeChanges).toMatchObject({ flows: 3, newlyDropped: 0 })
    expect(r.outcomeChanges.edges.map(edgeRow)).toEqual([
      ['looser', 'web', 'db', 'tcp/5432', 3, 0, 'blocked', 'would-be-blocked', 'new 1 monitor'],
    ])
  })
})

describe('diffEnforcement: a change that affects no workload', () => {
  it('an entry shadowed by an earlier one is reported, with no workload and no flow', () => {
    const old = withModes(entry({ app: 'shop' }, 'enforce', 4))
    const neu = withModes(entry({ app: 'shop' }, 'enforce', 4), entry({ role: 'db' }, 'monitor', 5))
    expect(diffEnforcement(inventory, old, neu, NOW.getTime())).toEqual({
      entries: [
        {
          kind: 'added',
          fields: [],
          new: { position: 2, selector: '{role=db}', mode: 'monitor', location: loc(5) },
        },
      ],
      workloads: 0,
      transitions: [],
      groups: [],
    })
    const r = differ(old, neu).result()
    expect(r.outcomeChanges).toEqual({ flows: 0, newlyDropped: 0, alreadyRejected: 0, edges: [] })
  })

  it('the same entries (in other places) are no change', () => {
    const old = withModes(
      entry({ app: 'shop' }, 'enforce', 4),
      entry({ env: 'prod' }, 'monitor', 5),
    )
    const neu = withModes(
      entry({ app: 'shop' }, 'enforce', 9),
      entry({ env: 'prod' }, 'monitor', 12),
    )
    expect(diffEnforcement(inventory, old, neu, NOW.getTime())).toEqual({
      entries: [],
      workloads: 0,
      transitions: [],
      groups: [],
    })
  })
})

describe('outcome changes agree with simulate run under OLD and NEW apart', () => {
  const directionArb = fc.constantFrom<FlowDirection>(
    'client-to-server',
    'client-to-server',
    'server-to-client',
    'unknown',
  )
  const flowArb = fc
    .tuple(
      // one flow in five to a multicast group or the broadcast, judged by its receivers too
      fc.oneof({ weight: 4, arbitrary: tupleArb }, { weight: 1, arbitrary: groupTupleArb }),
      directionArb,
      fc.boolean(),
    )
    .map(([t, direction, rejected]) =>
      flow(t.src, t.dst, t.dstPort, t.at, {
        protocol: t.protocol,
        srcPort: t.srcPort ?? 0,
        direction,
        observedAction: rejected ? 'reject' : 'accept',
      }),
    )
  // NEW: the same rules with other modes (most cases), or another policy set altogether
  const setsArb = fc
    .tuple(policySetArb, enforcementMixArb, enforcementMixArb, policySetArb, fc.nat(3))
    .map(([base, e1, e2, other, pick]): [PolicySet, PolicySet] => [
      { policies: base.policies, enforcement: e1 },
      pick === 0 ? other : { policies: base.policies, enforcement: e2 },
    ])

  it('per flow: same verdict and another outcome under simulate ⇔ an outcome change in the diff (fixed seed)', () => {
    fc.assert(
      fc.property(
        inventoryArb,
        setsArb,
        fc.array(flowArb, { minLength: 1, maxLength: 30 }),
        fc.constantFrom(...TIMES),
        (inv, [old, neu], flows, at) => {
          const oldIndex = PolicyIndex.build(inv, old, at)
          const newIndex = PolicyIndex.build(inv, neu, at)
          const oldSim = new Simulator(oldIndex, inv, at)
          const newSim = new Simulator(newIndex, inv, at)
          const expected = new Map<string, { flows: number; rejected: number }>()
          let changed = 0
          let dropped = 0
          let droppedRejected = 0
          let verdictChanged = 0
          for (const f of flows) {
            const g = { ...f, at: f.start }
            const o = oldSim.judge(g)
            const n = newSim.judge(g)
            if (o === undefined || n === undefined) throw new Error('addresses all parse')
            const decided = (x: Outcome): string => (x === 'allowed' ? 'allowed' : 'denied')
            if (decided(o.outcome) !== decided(n.outcome)) verdictChanged++
            if (decided(o.outcome) !== decided(n.outcome) || o.outcome === n.outcome) continue
            changed++
            const rejected = f.observedAction === 'reject'
            if (n.outcome === 'blocked') {
              if (rejected) droppedRejected++
              else dropped++
            }
            // the edge's ends and service as simulate names them (its report of this one flow)
            const [edge] = simulate(newIndex, inv, at, [f]).denied
            if (edge === undefined) throw new Error('a denied flow has a denied edge')
            const key = [edge.src.name, edge.dst.name, edge.service, o.outcome, n.outcome].join(' ')
            const acc = expected.get(key) ?? { flows: 0, rejected: 0 }
            acc.flows++
            if (rejected) acc.rejected++
            expected.set(key, acc)
          }
          const d = new FlowDiffer(inv, old, neu, { now: new Date(at) })
          for (const f of flows) d.add(f)
          const r = d.result()
          const got = new Map<string, { flows: number; rejected: number }>()
          for (const e of r.outcomeChanges.edges) {
            const key = [e.src, e.dst, e.service, e.old.outcome, e.new.outcome].join(' ')
            const acc = got.get(key) ?? { flows: 0, rejected: 0 }
            acc.flows += e.flows
            acc.rejected += e.alreadyRejected
            got.set(key, acc)
          }
          expect(got).toEqual(expected)
          expect(r.outcomeChanges).toMatchObject({
            flows: changed,
            newlyDropped: dropped,
            alreadyRejected: droppedRejected,
          })
          // each flow counted once: a verdict change or an outcome change, never both
          expect(r.edges.reduce((s, e) => s + e.flows, 0)).toBe(verdictChanged)
        },
      ),
      { seed: SEED, numRuns: 200 },
    )
  })
})
