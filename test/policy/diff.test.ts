/**
 * Policy diff (pure part): rule changes with the fields that differ, connlist changes over a
 * common split of the address space, and flow verdict changes grouped by edge.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  labelSet,
  parseCidr,
  type Cidr,
  type Flow,
  type Policy,
  type PolicySet,
  type Rule,
  type Selector,
  type Service,
  judgedAsReply,
} from '../../src/core/index.js'
import {
  diffConnlist,
  diffPolicies,
  diffRules,
  FlowDiffer,
  hasImpact,
} from '../../src/policy/diff.js'
import { evaluate } from '../../src/policy/evaluate.js'
import { densePolicySetArb, flowInArb, inventoryArb, SEED, TIMES } from '../helpers/model.js'
import { countOutcome, judgedTuple, newCounts } from '../helpers/outcomes.js'
import { inventoryOf, workload } from '../helpers/workloads.js'

const lbl = (m: Record<string, string>): Selector => ({
  kind: 'labels',
  match: labelSet(m),
  expressions: [],
  global: false,
})
const cidr = (t: string, except: string[] = []): Selector => ({
  kind: 'cidr',
  cidr: parseCidr(t) as Cidr,
  except: except.map((e) => parseCidr(e) as Cidr),
})
const rule = (id: string, over: Partial<Rule> = {}): Rule => ({
  id,
  action: 'allow',
  from: [lbl({ role: 'web' })],
  to: [lbl({ role: 'api' })],
  services: [{ protocol: 6, ports: { lo: 443, hi: 443 } }],
  emergency: false,
  reason: 'because',
  ...over,
})
const policy = (rules: Rule[], over: Partial<Policy> = {}): Policy => ({
  name: 'p',
  owner: 'team',
  scope: labelSet({ app: 'shop' }),
  rules,
  file: 'p.yaml',
  ...over,
})
const set = (...policies: Policy[]): PolicySet => ({ policies, enforcement: [] })

const inventory = inventoryOf(
  workload('web', '10.0.0.1', { app: 'shop', role: 'web' }),
  workload('api', '10.0.0.2', { app: 'shop', role: 'api' }),
)
const NOW = new Date('2026-11-01T00:00:00Z')

describe('diffRules', () => {
  it('reports added, removed and changed rules with the fields that differ', () => {
    const old = set(policy([rule('a'), rule('b'), rule('c'), rule('d')]))
    const neu = set(
      policy([
        rule('a'),
        rule('b', { services: [{ protocol: 6, ports: { lo: 80, hi: 80 } }], reason: 'new reason' }),
        rule('c', { action: 'deny', from: [lbl({ role: 'db' })], expires: Date.UTC(2027, 0, 1) }),
        rule('e'),
      ]),
    )
    const changes = diffRules(old, neu)
    expect(changes.map((c) => [c.kind, c.id, c.fields])).toEqual([
      ['changed', 'b', ['services', 'reason']],
      ['changed', 'c', ['action', 'from', 'expires']],
      ['removed', 'd', []],
      ['added', 'e', []],
    ])
    expect(changes[1]?.new?.expires).toBe('2027-01-01T00:00:00.000Z')
    expect(changes[0]?.old?.services).toEqual(['tcp/443'])
  })
  it('gives each changed field with its old and new value in the policy file words', () => {
    // by hand from DESIGN.md "Policy language v1": the file's key for services is `ports`,
    // selectors are written as the file writes them, a date expires at the next UTC midnight
    const old = set(policy([rule('c', { expires: Date.UTC(2027, 0, 1), owner: 'alice' })]))
    // NEW's rule has no reason
    const { reason: _, ...noReason } = rule('c')
    const neu = set(
      policy([
        {
          ...noReason,
          action: 'deny',
          from: [lbl({ role: 'web', env: 'prod' }), cidr('10.9.0.0/16', ['10.9.1.0/24'])],
          services: [
            { protocol: 6, ports: { lo: 443, hi: 443 } },
            { protocol: 6, ports: { lo: 8443, hi: 8443 } },
          ],
          expires: Date.UTC(2027, 3, 1),
        },
      ]),
    )
    const [c] = diffRules(old, neu)
    // `fields` keeps the model's names; `changes` speaks the file's
    expect(c?.fields).toEqual(['action', 'from', 'services', 'owner', 'reason', 'expires'])
    expect(c?.changes).toEqual([
      { field: 'action', old: 'allow', new: 'deny' },
      {
        field: 'from',
        old: [{ role: 'web' }],
        new: [
          { env: 'prod', role: 'web' },
          { cidr: '10.9.0.0/16', except: ['10.9.1.0/24'] },
        ],
      },
      { field: 'ports', old: ['tcp/443'], new: ['tcp/443', 'tcp/8443'] },
      { field: 'owner', old: 'alice', new: 'team' },
      { field: 'reason', old: 'because' },
      { field: 'expires', old: '2027-01-01T00:00:00.000Z', new: '2027-04-01T00:00:00.000Z' },
    ])
    // added and removed rules have no field changes
    const rest = diffRules(set(policy([rule('a')])), set(policy([rule('b')])))
    expect(rest.map((r) => [r.kind, r.changes])).toEqual([
      ['removed', []],
      ['added', []],
    ])
  })
  it('compares services as sets and selectors without order or location', () => {
    const two = [
      { protocol: 6, ports: { lo: 443, hi: 443 } },
      { protocol: 6, ports: { lo: 80, hi: 80 } },
    ] as const
    const old = set(
      policy([rule('a', { services: [...two], from: [lbl({ role: 'web' }), cidr('10.0.0.0/8')] })]),
    )
    const neu = set(
      policy([
        rule('a', {
          services: [two[1], two[0], { protocol: 6, ports: { lo: 80, hi: 80 } }],
          from: [
            { ...cidr('10.0.0.0/8'), location: { file: 'x', line: 3, column: 1 } },
            lbl({ role: 'web' }),
          ],
        }),
      ]),
    )
    expect(diffRules(old, neu)).toEqual([])
  })
  it('a scope or owner change of the policy marks its rules', () => {
    const old = set(policy([rule('a'), rule('b', { owner: 'own' })]))
    const neu = set(
      policy([rule('a'), rule('b', { owner: 'own' })], {
        scope: labelSet({ app: 'pay' }),
        owner: 'other',
      }),
    )
    expect(diffRules(old, neu).map((c) => [c.id, c.fields])).toEqual([
      ['a', ['owner', 'scope']],
      ['b', ['scope']],
    ])
  })
})

describe('diffConnlist', () => {
  it('shows a service change as one line removed and one added', () => {
    const old = set(policy([rule('a')]))
    const neu = set(policy([rule('a', { services: [{ protocol: 6, ports: { lo: 80, hi: 80 } }] })]))
    // each line names the rule behind it: the old rule that allowed what is lost, the new rule
    // that allows what is gained
    expect(diffConnlist(inventory, old, neu, { now: NOW })).toEqual({
      removed: [{ src: 'web', dst: 'api', conn: 'TCP 443', by: 'p/a' }],
      added: [{ src: 'web', dst: 'api', conn: 'TCP 80', by: 'p/a' }],
    })
  })
  it('a line lost to a new deny rule names the deny rule', () => {
    const allow443 = rule('a', { services: [{ protocol: 6, ports: { lo: 443, hi: 8443 } }] })
    const old = set(policy([allow443]))
    const deny = rule('no-443', {
      action: 'deny',
      services: [{ protocol: 6, ports: { lo: 443, hi: 443 } }],
    })
    const d = diffConnlist(inventory, old, set(policy([allow443, deny])), { now: NOW })
    expect(d.removed).toEqual([{ src: 'web', dst: 'api', conn: 'TCP 443-8443', by: 'p/no-443' }])
    // what stays is still allowed by the allow rule
    expect(d.added).toEqual([{ src: 'web', dst: 'api', conn: 'TCP 444-8443', by: 'p/a' }])
  })
  it('a line only widened names the rule that widened it, not another rule of the line', () => {
    // found by a held-out estate: mon-1 => pay-web-1 : TCP 443,9100-9110,ICMP 8 (three rules)
    // became TCP 443,9100-9111,ICMP 8, and the removed line was put at the unchanged ping rule
    const ping = rule('ping', {
      from: [{ kind: 'any' }],
      services: [{ protocol: 1, ports: { lo: 8, hi: 8 } }],
    })
    const scrape = (hi: number): Rule =>
      rule('scrape', { services: [{ protocol: 6, ports: { lo: 9100, hi } }] })
    const old = set(policy([ping, scrape(9110)]))
    const neu = set(policy([ping, scrape(9111)]))
    const d = diffConnlist(inventory, old, neu, { now: NOW })
    expect(d.removed).toEqual([
      { src: 'web', dst: 'api', conn: 'TCP 9100-9110,ICMP 8', by: 'p/scrape' },
    ])
    expect(d.added).toEqual([
      { src: 'web', dst: 'api', conn: 'TCP 9100-9111,ICMP 8', by: 'p/scrape' },
    ])
    // ... and narrowed back: the added line names the rule that narrowed, which still allows
    // most of it, not the ping rule of its first service
    const back = diffConnlist(inventory, neu, old, { now: NOW })
    expect(back.removed).toEqual([
      { src: 'web', dst: 'api', conn: 'TCP 9100-9111,ICMP 8', by: 'p/scrape' },
    ])
    expect(back.added).toEqual([
      { src: 'web', dst: 'api', conn: 'TCP 9100-9110,ICMP 8', by: 'p/scrape' },
    ])
  })
  it('a line rewritten by a rule that no longer covers the pair names that rule (s44 QA sem2 F2)', () => {
    // web => api had TCP 23 (telnet, unchanged) and TCP 443 (https, whose source is now another
    // pair; here no workload); the added line TCP 23 named the unchanged telnet rule
    const telnet = rule('telnet', { services: [{ protocol: 6, ports: { lo: 23, hi: 23 } }] })
    const https = (role: string): Rule => rule('https', { from: [lbl({ role })] })
    const old = set(policy([telnet, https('web')]))
    const neu = set(policy([telnet, https('db')]))
    const d = diffConnlist(inventory, old, neu, { now: NOW })
    expect(d.removed).toContainEqual({ src: 'web', dst: 'api', conn: 'TCP 23,443', by: 'p/https' })
    expect(d.added).toContainEqual({ src: 'web', dst: 'api', conn: 'TCP 23', by: 'p/https' })
    // removed rather than narrowed: the NEW rule that allows what stays (s44 QA retest F11)
    const gone = diffConnlist(inventory, old, set(policy([telnet])), { now: NOW })
    expect(gone.removed).toContainEqual({
      src: 'web',
      dst: 'api',
      conn: 'TCP 23,443',
      by: 'p/https',
    })
    expect(gone.added).toContainEqual({ src: 'web', dst: 'api', conn: 'TCP 23', by: 'p/telnet' })
  })
  it('a new CIDR block that changes nothing shows no line (both sides use the same split)', () => {
    const internet = (from: Selector[]): PolicySet =>
      set(policy([rule('in', { from, to: [lbl({ role: 'web' })] })]))
    const old = internet([cidr('0.0.0.0/0')])
    const neu = internet([cidr('0.0.0.0/0', ['203.0.113.0/24']), cidr('203.0.113.0/24')])
    expect(diffConnlist(inventory, old, neu, { now: NOW })).toEqual({ added: [], removed: [] })
    // ... while narrowing the block does show
    const narrow = internet([cidr('0.0.0.0/0', ['203.0.113.0/24'])])
    const d = diffConnlist(inventory, old, narrow, { now: NOW })
    expect(d.added).toEqual([])
    expect(d.removed).toEqual([
      { src: '203.0.113.0-203.0.113.255[External]', dst: 'web', conn: 'TCP 443', by: 'p/in' },
    ])
  })
})

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
  end: start,
  packets: 1,
  bytes: 100,
  observedAction: 'accept',
  direction: 'client-to-server',
  source: { format: 'test', file: 'mem' },
  ...over,
})

describe('FlowDiffer', () => {
  it('groups changed flows by edge with counts and first/last seen; replies are judged as their connection', () => {
    const old = set(
      policy([rule('a', { services: [{ protocol: 6, ports: { lo: 443, hi: 443 } }] })]),
    )
    const neu = set(
      policy([rule('a', { services: [{ protocol: 6, ports: { lo: 8443, hi: 8443 } }] })]),
    )
    const d = new FlowDiffer(inventory, old, neu, { now: NOW })
    d.add(flow('10.0.0.1', '10.0.0.2', 443, 3000))
    d.add(flow('10.0.0.1', '10.0.0.2', 443, 1000))
    // the reply half of a 443 connection: api -> web from port 443
    d.add(
      flow('10.0.0.2', '10.0.0.1', 50000, 2000, { srcPort: 443, direction: 'server-to-client' }),
    )
    d.add(flow('10.0.0.1', '10.0.0.2', 8443, 1000))
    d.add(flow('10.0.0.1', '10.0.0.2', 22, 1000)) // denied both times: no change
    d.add(flow('bad', '10.0.0.2', 443, 1000))
    const r = d.result()
    expect(r).toMatchObject({ flows: 5, skipped: 1, newlyBlocked: 3, newlyAllowed: 1 })
    expect(r.edges).toEqual([
      {
        change: 'blocked',
        src: 'web',
        dst: 'api',
        protocol: 6,
        dstPort: 443,
        service: 'tcp/443',
        flows: 3,
        firstSeen: 1000,
        lastSeen: 3000,
        untimed: 0,
        alreadyRejected: 0,
        old: { decision: 'allowed', by: 'p/a', outcome: 'allowed' },
        new: { decision: 'denied', by: 'default-deny', outcome: 'unenforced' },
      },
      expect.objectContaining({ change: 'allowed', dstPort: 8443, flows: 1 }),
    ])
    const full = { ...diffPolicies(inventory, old, neu, { now: NOW }), flows: r }
    expect(hasImpact(full)).toBe(true)
    expect(hasImpact({ ...full, flows: { ...r, newlyBlocked: 0 } })).toBe(false)
  })
})

describe('FlowDiffer: flows the observer had already rejected', () => {
  // simulate's rule (README "simulate"): enforcing NEW changes nothing for a flow that a
  // security group, NSG or firewall already refused, so it is no impact
  it('are counted apart from newlyBlocked, per edge too, and are no impact', () => {
    const tcp = (port: number): Service => ({ protocol: 6, ports: { lo: port, hi: port } })
    const old = set(policy([rule('a', { services: [tcp(22), tcp(443)] })]))
    const neu = set(policy([]))
    const d = new FlowDiffer(inventory, old, neu, { now: NOW })
    d.add(flow('10.0.0.1', '10.0.0.2', 22, 1000, { observedAction: 'reject' }))
    d.add(flow('10.0.0.1', '10.0.0.2', 22, 2000, { observedAction: 'reject' }))
    d.add(flow('10.0.0.1', '10.0.0.2', 443, 3000, { observedAction: 'reject' }))
    const onlyRejected = d.result()
    expect(onlyRejected).toMatchObject({ flows: 3, newlyBlocked: 0, alreadyRejected: 3 })
    const full = { ...diffPolicies(inventory, old, neu, { now: NOW }), flows: onlyRejected }
    expect(hasImpact(full)).toBe(false)
    d.add(flow('10.0.0.1', '10.0.0.2', 443, 4000))
    const r = d.result()
    expect(r).toMatchObject({ flows: 4, newlyBlocked: 1, alreadyRejected: 3 })
    expect(hasImpact({ ...full, flows: r })).toBe(true)
    // an edge with a flow that got through comes first, though it has fewer flows
    expect(r.edges.map((e) => [e.service, e.flows, e.alreadyRejected])).toEqual([
      ['tcp/443', 2, 1],
      ['tcp/22', 2, 2],
    ])
  })
})

describe('FlowDiffer edges are edges of entities (DESIGN.md glossary)', () => {
  it('every internet address is the one entity internet, an unmanaged private /24 one range', () => {
    const old = set(policy([rule('a', { from: [cidr('0.0.0.0/0')] })]))
    const neu = set(policy([rule('a', { from: [lbl({ role: 'web' })] })]))
    const d = new FlowDiffer(inventory, old, neu, { now: NOW })
    for (const [i, src] of ['203.0.113.7', '198.51.100.9', '192.0.2.44'].entries())
      d.add(flow(src, '10.0.0.2', 443, 1000 + i))
    d.add(flow('10.9.1.1', '10.0.0.2', 443, 5000))
    d.add(flow('10.9.1.2', '10.0.0.2', 443, 6000))
    const r = d.result()
    expect(r.newlyBlocked).toBe(5)
    expect(r.edges.map((e) => [e.src, e.dst, e.service, e.flows, e.firstSeen])).toEqual([
      ['internet', 'api', 'tcp/443', 3, 1000],
      ['10.9.1.0/24', 'api', 'tcp/443', 2, 5000],
    ])
  })

  it('flows with no real time are counted, not seen in 1970', () => {
    const old = set(policy([rule('a')]))
    const neu = set(policy([]))
    const d = new FlowDiffer(inventory, old, neu, { now: NOW })
    d.add(flow('10.0.0.1', '10.0.0.2', 443, 0))
    d.add(flow('10.0.0.1', '10.0.0.2', 443, 7000))
    d.add(flow('10.0.0.1', '10.0.0.2', 22, 0))
    const r = d.result()
    expect(r.untimed).toBe(2)
    expect(r.edges).toEqual([
      expect.objectContaining({ dstPort: 443, flows: 2, untimed: 1, firstSeen: 7000 }),
    ])
    const only = new FlowDiffer(inventory, old, neu, { now: NOW })
    only.add(flow('10.0.0.1', '10.0.0.2', 443, 0))
    const [edge] = only.result().edges
    expect(edge).toMatchObject({ flows: 1, untimed: 1 })
    expect(edge).not.toHaveProperty('firstSeen')
    expect(edge).not.toHaveProperty('lastSeen')
  })
})

/**
 * A new policy set for `old`: an unrelated random one, or `old` edited as a change under review
 * would: one rule's action turned over, one rule removed, or one policy removed.
 */
const editedArb = (old: PolicySet): fc.Arbitrary<PolicySet> =>
  fc.oneof(
    { weight: 1, arbitrary: densePolicySetArb },
    {
      weight: 3,
      arbitrary: fc
        .tuple(fc.constantFrom('flip', 'drop-rule', 'drop-policy'), fc.nat(), fc.nat())
        .map(([kind, i, j]): PolicySet => {
          if (old.policies.length === 0) return old
          const k = i % old.policies.length
          const policies = old.policies.flatMap((p, n) => {
            if (n !== k) return [p]
            if (kind === 'drop-policy' || p.rules.length === 0) return []
            const m = j % p.rules.length
            const rules = p.rules.flatMap((r, q) =>
              q !== m
                ? [r]
                : kind === 'drop-rule'
                  ? []
                  : [
                      {
                        ...r,
                        action: r.action === 'allow' ? ('deny' as const) : ('allow' as const),
                      },
                    ],
            )
            return [{ ...p, rules }]
          })
          return { ...old, policies }
        }),
    },
  )

/** An estate, an old and a new policy set, 20–40 flows aimed at either set's rules, an instant. */
const diffRunArb = fc
  .tuple(inventoryArb, densePolicySetArb)
  .chain(([inv, old]) => fc.tuple(fc.constant(inv), fc.constant(old), editedArb(old)))
  .chain(([inv, old, neu]) =>
    fc.tuple(
      fc.constant(inv),
      fc.constant(old),
      fc.constant(neu),
      fc.array(fc.oneof(flowInArb(inv, old), flowInArb(inv, neu)), {
        minLength: 20,
        maxLength: 40,
      }),
      fc.constantFrom(...TIMES),
    ),
  )

describe('FlowDiffer agrees with the reference evaluator', () => {
  it('counts exactly the flows whose reference verdict changes (fixed seed)', () => {
    const counts = newCounts()
    let changed = 0
    let allBlocked = 0
    let allAllowed = 0
    fc.assert(
      fc.property(diffRunArb, ([inv, old, neu, tuples, at]) => {
        const d = new FlowDiffer(inv, old, neu, { now: new Date(at) })
        let blocked = 0
        let allowed = 0
        for (const t of tuples) {
          const f = flow(t.src, t.dst, t.dstPort, t.at, {
            protocol: t.protocol,
            srcPort: t.srcPort ?? 0,
          })
          d.add(f)
          // an ICMP reply type is judged as the request it answers, whatever its direction
          const reply = judgedAsReply(f)
          const ov = evaluate(inv, old, t, { now: at, reply })
          countOutcome(counts, inv, old, judgedTuple(t, reply), ov)
          const o = ov.decision
          const n = evaluate(inv, neu, t, { now: at, reply }).decision
          if (o === 'allowed' && n === 'denied') blocked++
          if (o === 'denied' && n === 'allowed') allowed++
        }
        const r = d.result()
        expect([r.flows, r.newlyBlocked, r.newlyAllowed]).toEqual([tuples.length, blocked, allowed])
        expect(r.edges.reduce((s, e) => s + e.flows, 0)).toBe(blocked + allowed)
        if (blocked + allowed > 0) changed++
        allBlocked += blocked
        allAllowed += allowed
      }),
      { seed: SEED, numRuns: 150 },
    )
    // old random sets against unrelated new ones, over uniform tuples, gave 22 newly blocked and
    // 16 newly allowed flows in 13 of the 150 runs. With the seed now: 159 and 99 in 36 runs, of
    // 4 495 flows (old verdicts: 368 allowed by a rule, 169 denied by a deny over an allow, 362
    // hit an expired rule, 181 an except, 668 a port range edge, 145 a scoped selector)
    expect(changed).toBeGreaterThan(15)
    expect(allBlocked).toBeGreaterThan(70)
    expect(allAllowed).toBeGreaterThan(50)
    expect(counts.allowedByRule).toBeGreaterThan(150)
    expect(counts.denyOverAllow).toBeGreaterThan(100)
    expect(counts.expiredHit).toBeGreaterThan(150)
    expect(counts.cidrExcept).toBeGreaterThan(90)
    expect(counts.portEdge).toBeGreaterThan(300)
    expect(counts.scoped).toBeGreaterThan(70)
    expect(counts.global).toBeGreaterThan(130)
  })
})
