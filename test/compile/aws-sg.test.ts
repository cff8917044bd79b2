/**
 * @module Tests of the aws-sg target: conformance suite with the security-group checker (which
 * reads the Terraform JSON back), golden file of a fixture workspace, and hand cases: groups and
 * references, observe workloads by address, CIDR regions split by denies, one-sided direction,
 * the quota warning and the refusals (`compile/not-expressible`).
 */
import fc from 'fast-check'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, vi } from 'vitest'
import {
  AddressRangeSet,
  BulkheadError,
  labelSet,
  ServiceSet,
  parseCidr,
  type Cidr,
  type FlowTuple,
  type Inventory,
  type Policy,
  type PolicySet,
  type Rule,
  type Selector,
} from '../../src/core/index.js'
import { compactGrants } from '../../src/compile/aws-sg/compact.js'
import {
  AWS_SG_CAPABILITIES,
  AWS_SG_FILE,
  awsSgCompiler,
  awsSgDecide,
  planAwsSg,
  readSecurityGroups,
  requiredCapabilities,
  peerText,
  type AwsSgPlan,
  type CompileResult,
  type SgGrant,
  type SgPeer,
} from '../../src/compile/index.js'
import { evaluate } from '../../src/policy/evaluate.js'
import { PolicyIndex } from '../../src/policy/policy-index.js'
import { loadWorkspace } from '../../src/policy/files.js'
import { DENSE_SERVICES, runCompileConformance } from '../conformance/compile.case.js'
import { ALL_IPS, inventoryArb, policySetArb, SEED, TIMES, tupleArb } from '../helpers/model.js'
import { estateArb } from '../netns/estate.js'

runCompileConformance({
  compiler: awsSgCompiler,
  checker: awsSgDecide,
  refusals: ['compile/not-expressible'],
  numRuns: 100,
})

const NOW = new Date('2026-11-22T12:00:00Z')
const FIXTURE = fileURLToPath(new URL('../fixtures/compile-aws-sg/', import.meta.url))
const lbl = (m: Record<string, string>): Selector => ({
  kind: 'labels',
  match: labelSet(m),
  expressions: [],
  global: false,
})
const cidr = (t: string): Cidr => parseCidr(t) as Cidr
const tcp = (lo: number, hi = lo) => ({ protocol: 6, ports: { lo, hi } }) as const
const rule = (
  id: string,
  from: Selector[],
  to: Selector[],
  services: Rule['services'],
  action: Rule['action'] = 'allow',
): Rule => ({
  id,
  action,
  from,
  to,
  services,
  emergency: false,
})
const ESTATE: Inventory = {
  workloads: [
    { name: 'web-1', addresses: [{ ip: '10.1.0.1' }], labels: labelSet({ role: 'web' }) },
    { name: 'web-2', addresses: [{ ip: '10.1.0.2' }], labels: labelSet({ role: 'web' }) },
    { name: 'db-1', addresses: [{ ip: '10.1.0.3' }], labels: labelSet({ role: 'db' }) },
    { name: 'ops-1', addresses: [{ ip: '10.1.0.9' }], labels: labelSet({ role: 'ops' }) },
  ],
  externals: [],
  labelRules: [],
}
const policySet = (rules: Rule[], observe: string[] = ['ops']): PolicySet => {
  const p: Policy = { name: 'p', owner: 't', scope: labelSet(), rules, file: 'p.yaml' }
  return {
    policies: [p],
    enforcement: [
      ...observe.map((role) => ({ selector: lbl({ role }), mode: 'observe' as const })),
      { selector: { kind: 'any' }, mode: 'enforce' },
    ],
  }
}
/** Every (src, dst, service) of the estate and a few outside addresses: checker ≡ model. */
const agrees = (
  inv: Inventory,
  ps: PolicySet,
  plan = awsSgCompiler.compile(inv, ps, { now: NOW }),
): number => {
  const ips = [
    ...inv.workloads.flatMap((w) => w.addresses.map((a) => a.ip)),
    '10.1.0.200',
    '192.0.2.1',
  ]
  let decided = 0
  for (const src of ips)
    for (const dst of ips)
      for (const [protocol, dstPort] of [
        [6, 22],
        [6, 80],
        [6, 443],
        [17, 53],
        [1, 8],
      ] as const) {
        const tuple = { src, dst, protocol, dstPort, at: NOW.getTime() }
        const got = awsSgDecide(plan, inv, tuple)
        if (got === undefined) continue
        decided++
        const v = evaluate(inv, ps, tuple)
        // observe-to-observe is not the target's; enforced sides follow the model
        expect(got, `${src} -> ${dst} ${protocol}/${dstPort}`).toBe(v.decision)
      }
  return decided
}
const grantsOf = (plan: AwsSgPlan, group: string) =>
  plan.groups
    .find((g) => g.name === group)
    ?.grants.map((g) => ({
      direction: g.direction,
      peer: g.peer.kind === 'cidr' ? g.peer.cidr : `sg:${g.peer.group}`,
      services: g.services.toString(),
    }))

describe('aws-sg target', () => {
  it('fixture workspace compiles to the reviewed Terraform JSON', async () => {
    const { inventory, policySet: ps, diagnostics } = await loadWorkspace(FIXTURE, NOW)
    expect(diagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
    const r = awsSgCompiler.compile(inventory, ps, { now: NOW })
    expect(r.artefacts.map((a) => a.path)).toEqual([AWS_SG_FILE])
    await expect(r.artefacts[0]?.content).toMatchFileSnapshot(
      `../golden/compile/compile-aws-sg.${AWS_SG_FILE}`,
    )
    expect(r.diagnostics.map((d) => d.code)).toEqual([])
    const read = readSecurityGroups(r.artefacts[0]?.content ?? '')
    // the prod workloads are enforced, dev-api-1 (observe) has no group
    expect([...read.workloadGroup.keys()].sort()).toEqual(['pay-api-1', 'pay-db-1', 'pay-web-1'])
    expect(agrees(inventory, ps, r)).toBeGreaterThan(50)
  })

  it('workloads every rule treats alike share one group; groups reference each other', () => {
    const ps = policySet([
      rule('web-to-db', [lbl({ role: 'web' })], [lbl({ role: 'db' })], [tcp(5432)]),
    ])
    const plan = planAwsSg(ESTATE, ps, { now: NOW })
    expect(plan.groups.map((g) => [g.name, g.workloads])).toEqual([
      ['bulkhead-role=db', ['db-1']],
      ['bulkhead-role=web', ['web-1', 'web-2']],
    ])
    expect(grantsOf(plan, 'bulkhead-role=db')?.filter((g) => g.services === 'tcp/5432')).toEqual([
      { direction: 'ingress', peer: 'sg:sg_role_web', services: 'tcp/5432' },
    ])
    expect(grantsOf(plan, 'bulkhead-role=web')?.filter((g) => g.services === 'tcp/5432')).toEqual([
      { direction: 'egress', peer: 'sg:sg_role_db', services: 'tcp/5432' },
    ])
    expect(plan.groups[0]?.grants.find((g) => g.peer.kind === 'group')?.origin).toEqual([
      'p/web-to-db',
    ])
    expect(agrees(ESTATE, ps)).toBeGreaterThan(20)
  })

  it('each AWS rule names only the rules (and housekeeping) that allow its own protocol and ports', () => {
    // one peer, two rules of different services, and the housekeeping ICMP of the same peer:
    // before, every AWS rule of the peer named all of them (the tcp/443 rule from 0.0.0.0/0 said
    // "(icmp-errors) (ipv4-link-control) p/ping"), as the tags were kept per peer, not per rule
    const ps = policySet([
      rule('https', [{ kind: 'any' }], [lbl({ role: 'web' })], [tcp(443)]),
      rule(
        'ping',
        [{ kind: 'any' }],
        [lbl({ role: 'web' })],
        [{ protocol: 1, ports: { lo: 8, hi: 8 } }],
      ),
    ])
    const r = awsSgCompiler.compile(ESTATE, ps, { now: NOW })
    const doc = JSON.parse(r.artefacts[0]?.content ?? '{}') as {
      resource: Record<string, Record<string, Record<string, unknown>>>
    }
    const tagged = Object.values(doc.resource['aws_vpc_security_group_ingress_rule'] ?? {})
      .filter((x) => String(x['security_group_id']).includes('sg_role_web'))
      .filter((x) => x['cidr_ipv4'] === '0.0.0.0/0')
      .map((x) => {
        const tags = x['tags'] as Record<string, string>
        return `${String(x['ip_protocol'])} ${String(x['from_port'])}: ${tags['bulkhead:rules']}`
      })
      .sort()
    expect(tagged).toEqual([
      '2 undefined: (ipv4-link-control)',
      'icmp 11: (icmp-errors)',
      'icmp 12: (icmp-errors)',
      'icmp 3: (icmp-errors)',
      'icmp 4: (icmp-errors)',
      'icmp 5: (icmp-errors)',
      'icmp 8: p/ping',
      'tcp 443: p/https',
    ])
    const description = Object.values(doc.resource['aws_vpc_security_group_ingress_rule'] ?? {})
      .filter((x) => String(x['security_group_id']).includes('sg_role_web'))
      .find((x) => x['cidr_ipv4'] === '0.0.0.0/0' && x['ip_protocol'] === 'tcp')?.['description']
    expect(description).toBe('Bulkhead from 0.0.0.0/0: p/https')
  })

  it('an observe workload gets no group, is named by its address, and nothing opens it', () => {
    const ps = policySet([
      rule('ops-to-db', [lbl({ role: 'ops' })], [lbl({ role: 'db' })], [tcp(22)]),
      rule('web-to-ops', [lbl({ role: 'web' })], [lbl({ role: 'ops' })], [tcp(443)]),
    ])
    const r = awsSgCompiler.compile(ESTATE, ps, { now: NOW })
    const plan = planAwsSg(ESTATE, ps, { now: NOW })
    expect(plan.groups.flatMap((g) => g.workloads)).not.toContain('ops-1')
    expect(grantsOf(plan, 'bulkhead-role=db')).toContainEqual({
      direction: 'ingress',
      peer: '10.1.0.9/32',
      services: 'tcp/22',
    })
    // no group of the file is attached to ops-1, and no rule allows everything
    expect(readSecurityGroups(r.artefacts[0]?.content ?? '').workloadGroup.has('ops-1')).toBe(false)
    expect(r.artefacts[0]?.content).not.toContain('"ip_protocol": "-1"')
    expect(agrees(ESTATE, ps)).toBeGreaterThan(20)
  })

  it('an any rule is one 0.0.0.0/0 rule; a deny on a block splits it around that block only', () => {
    const anyToWeb = rule('any-to-web', [{ kind: 'any' }], [lbl({ role: 'web' })], [tcp(443)])
    const plain = planAwsSg(ESTATE, policySet([anyToWeb]), { now: NOW })
    const cidrs443 = (plan: AwsSgPlan): string[] | undefined =>
      grantsOf(plan, 'bulkhead-role=web')
        ?.filter(
          (g) =>
            g.direction === 'ingress' &&
            !g.peer.startsWith('sg:') &&
            g.services.includes('tcp/443'),
        )
        .map((g) => g.peer)
    // merged with the ICMP errors every group allows from everywhere
    expect(cidrs443(plain)).toEqual(['0.0.0.0/0'])
    const deny = rule(
      'no-test-net',
      [{ kind: 'cidr', cidr: cidr('192.0.2.0/24'), except: [] }],
      [lbl({ role: 'web' })],
      [tcp(443)],
      'deny',
    )
    const ps = policySet([anyToWeb, deny])
    const cut = planAwsSg(ESTATE, ps, { now: NOW })
    const peers = cidrs443(cut)
    expect(peers).toHaveLength(24) // 0.0.0.0/0 less one /24: 24 blocks
    expect(peers).not.toContain('192.0.2.0/24')
    expect(agrees(ESTATE, ps)).toBeGreaterThan(20)
  })

  it('direction ingress filters inbound only: one allow-all outbound rule per family', () => {
    const ps = policySet([
      rule('web-to-db', [lbl({ role: 'web' })], [lbl({ role: 'db' })], [tcp(5432)]),
    ])
    const plan = planAwsSg(ESTATE, ps, { now: NOW, direction: 'ingress' })
    expect(grantsOf(plan, 'bulkhead-role=web')?.filter((g) => g.direction === 'egress')).toEqual([
      { direction: 'egress', peer: '::/0', services: 'any' },
      { direction: 'egress', peer: '0.0.0.0/0', services: 'any' },
    ])
  })

  it('a group above the rule quota is compile/cloud-limit-exceeded naming the group and the counts', () => {
    const ps = policySet([
      rule('web-to-db', [lbl({ role: 'web' })], [lbl({ role: 'db' })], [tcp(5432)]),
    ])
    const ranges = Array.from({ length: 70 }, (_, i) => tcp(1000 + 2 * i))
    const many = policySet([rule('many', [lbl({ role: 'web' })], [lbl({ role: 'db' })], ranges)])
    expect(awsSgCompiler.compile(ESTATE, ps, { now: NOW }).diagnostics).toEqual([])
    const warned = awsSgCompiler.compile(ESTATE, many, { now: NOW }).diagnostics
    // a group reference counts as one IPv4 and one IPv6 rule (AWS quota page); IPv4: the 70
    // ports, 5 ICMP error types and IGMP
    expect(warned.map((d) => [d.code, d.message.split(' rules;')[0]])).toEqual([
      ['compile/cloud-limit-exceeded', 'security group bulkhead-role=db has 76 inbound IPv4'],
      ['compile/cloud-limit-exceeded', 'security group bulkhead-role=db has 70 inbound IPv6'],
      ['compile/cloud-limit-exceeded', 'security group bulkhead-role=web has 76 outbound IPv4'],
      ['compile/cloud-limit-exceeded', 'security group bulkhead-role=web has 70 outbound IPv6'],
    ])
    expect(warned[0]?.message).toContain('quota is 60')
    const raised = awsSgCompiler.compile(ESTATE, many, { now: NOW, rulesPerGroupQuota: 100 })
    expect(raised.diagnostics).toEqual([])
  })

  it('what a security group cannot express is compile/not-expressible', () => {
    const refused = (ps: PolicySet, inv = ESTATE): string[] => {
      try {
        planAwsSg(inv, ps, { now: NOW })
      } catch (e) {
        if (e instanceof BulkheadError) return e.diagnostics.map((d) => d.code)
        throw e
      }
      return []
    }
    // SCTP: AWS allows every port of protocols other than TCP, UDP, ICMP and ICMPv6 whatever
    // range a rule gives, so the target lacks the sctp capability, even for every port
    for (const ports of [
      { lo: 5000, hi: 5000 },
      { lo: 0, hi: 65535 },
    ]) {
      const sctp = { protocol: 132, ports }
      expect(
        refused(policySet([rule('sctp', [lbl({ role: 'web' })], [lbl({ role: 'db' })], [sctp])])),
      ).toEqual(['compile/unsupported-by-target'])
    }
    // two addresses of one workload that the policy treats differently from outside
    const twoAddresses: Inventory = {
      ...ESTATE,
      workloads: ESTATE.workloads.map((w) =>
        w.name === 'db-1' ? { ...w, addresses: [...w.addresses, { ip: '10.2.0.3' }] } : w,
      ),
    }
    const toOne = rule(
      'to-one',
      [{ kind: 'any' }],
      [{ kind: 'cidr', cidr: cidr('10.1.0.0/24'), except: [] }],
      [tcp(22)],
    )
    expect(refused(policySet([toOne]), twoAddresses)).toEqual(['compile/not-expressible'])
  })

  it('compaction: a reference the CIDR rules hold goes, touching ports and neighbouring prefixes merge', () => {
    const inv: Inventory = {
      ...ESTATE,
      workloads: [
        ...ESTATE.workloads,
        { name: 'ops-2', addresses: [{ ip: '10.1.0.8' }], labels: labelSet({ role: 'ops' }) },
      ],
    }
    const net = (t: string): Selector => ({ kind: 'cidr', cidr: cidr(t), except: [] })
    const ps = policySet([
      // web is inside 10.1.0.0/24: the reference from web on tcp/443 is held by the CIDR rule
      rule('lan-to-db', [net('10.1.0.0/24')], [lbl({ role: 'db' })], [tcp(443), tcp(444, 450)]),
      rule('web-to-db', [lbl({ role: 'web' })], [lbl({ role: 'db' })], [tcp(443)]),
      // the two ops addresses 10.1.0.8 and 10.1.0.9 (observe) are one /31 on tcp/22
      rule('ops-to-db', [lbl({ role: 'ops' })], [lbl({ role: 'db' })], [tcp(22)]),
    ])
    const loose = planAwsSg(inv, ps, { now: NOW, compact: false })
    const tight = planAwsSg(inv, ps, { now: NOW })
    const inbound = (plan: AwsSgPlan) =>
      grantsOf(plan, 'bulkhead-role=db')
        ?.filter((g) => g.direction === 'ingress' && !g.services.startsWith('icmp'))
        .map((g) => `${g.peer} ${g.services}`)
    expect(inbound(loose)).toEqual([
      '10.1.0.0/24 tcp/443-450',
      '10.1.0.8/32 tcp/22,tcp/443-450',
      '10.1.0.9/32 tcp/22,tcp/443-450',
      'sg:sg_role_db tcp/443-450',
      'sg:sg_role_web tcp/443-450',
    ])
    expect(inbound(tight)).toEqual(['10.1.0.0/24 tcp/443-450', '10.1.0.8/31 tcp/22'])
    expect(agrees(inv, ps)).toBeGreaterThan(20)
  })

  it('compaction: a hole a broader rule fills is not cut out; covered rules go', () => {
    const v4 = (c: string): SgPeer => ({ kind: 'cidr', family: 4, cidr: c })
    const grant = (peer: SgPeer, services: ServiceSet, origin: string): SgGrant => ({
      direction: 'ingress',
      peer,
      services,
      origin: [origin],
    })
    const https = ServiceSet.single(tcp(443))
    const ping = ServiceSet.single({ protocol: 1, ports: { lo: 8, hi: 8 } })
    // 0.0.0.0/0 less 192.0.2.0/24 on tcp/443 (24 blocks), and 192.0.2.0/24 on everything
    const holed = AddressRangeSet.all(4)
      .minus(AddressRangeSet.fromCidrs(4, [cidr('192.0.2.0/24')]))
      .toCidrs()
      .map((c) => grant(v4(c), https, 'p/https'))
    const grants = [
      ...holed,
      grant(v4('192.0.2.0/24'), ServiceSet.ANY, 'p/partner'),
      // covered: a host inside the /24 on ping, a group whose only member is inside it
      grant(v4('192.0.2.9/32'), ping, 'p/ping'),
      grant({ kind: 'group', group: 'sg_x' }, ping, 'p/ping'),
    ]
    const members = (g: string) =>
      g === 'sg_x' ? [{ family: 4 as const, value: 0xc0000205n }] : []
    const out = compactGrants(grants, members).map(
      (g) => `${peerText(g.peer)} ${g.services.toString()} ${g.origin.join(',')}`,
    )
    // the /0 rule now also stands for what p/partner allows of tcp/443 from the /24: both named
    expect(out.sort()).toEqual([
      '0.0.0.0/0 tcp/443 p/https,p/partner',
      '192.0.2.0/24 any p/partner',
    ])
    // a group with a member outside every CIDR rule keeps its reference
    const outside = (g: string) =>
      g === 'sg_x' ? [{ family: 4 as const, value: 0x0a000001n }] : []
    expect(compactGrants(grants, outside).some((g) => g.peer.kind === 'group')).toBe(true)
  })

  it('compaction: a block kept narrower than a rule it comes from still names that rule', () => {
    const grant = (cidrText: string, services: ServiceSet, origin: string): SgGrant => ({
      direction: 'ingress',
      peer: { kind: 'cidr', family: 4, cidr: cidrText },
      services,
      origin: [origin],
    })
    // by hand: 10.0.0.0/25 allows everything, so of p/a's /24 on tcp/443 only 10.0.0.128/25 is
    // left to say; whichever block says it (the /25, or the /24 again), it comes from p/a alone
    const out = compactGrants(
      [
        grant('10.0.0.0/24', ServiceSet.single(tcp(443)), 'p/a'),
        grant('10.0.0.0/25', ServiceSet.ANY, 'p/w'),
      ],
      () => [],
    ).map((g) => `${peerText(g.peer)} ${g.services.toString()} ${g.origin.join(',')}`)
    expect(out.filter((g) => g.includes('tcp/443'))).toEqual([
      expect.stringMatching(/^10\.0\.0\.(128\/25|0\/24) tcp\/443 p\/a$/),
    ])
  })

  it('compaction keeps what every group allows (on and off, through the checker; never more rules)', () => {
    const expressible = (ps: PolicySet, inv: Inventory): PolicySet => ({
      policies: ps.policies.map((p) => ({
        ...p,
        rules: p.rules.filter((r) =>
          requiredCapabilities(r, inv.externals).every((c) => AWS_SG_CAPABILITIES.has(c)),
        ),
      })),
      enforcement: [{ selector: { kind: 'any' }, mode: 'enforce' }],
    })
    const rules = (r: CompileResult): number => {
      const read = readSecurityGroups(r.artefacts[0]?.content ?? '')
      return [...read.rules.values()].reduce((n, g) => n + g.ingress.length + g.egress.length, 0)
    }
    let compared = 0
    let fewer = 0
    const both = (inv: Inventory, ps: PolicySet, at: number, probes: readonly FlowTuple[]) => {
      let off: CompileResult
      try {
        off = awsSgCompiler.compile(inv, ps, { now: new Date(at), compact: false })
      } catch (e) {
        if (e instanceof BulkheadError) return // refused either way: not-expressible
        throw e
      }
      const on = awsSgCompiler.compile(inv, ps, { now: new Date(at) })
      expect(rules(on)).toBeLessThanOrEqual(rules(off))
      if (rules(on) < rules(off)) fewer++
      for (const t of probes) {
        const tuple = { ...t, at }
        expect(awsSgDecide(on, inv, tuple), JSON.stringify(tuple)).toBe(
          awsSgDecide(off, inv, tuple),
        )
        compared++
      }
    }
    fc.assert(
      fc.property(
        inventoryArb,
        policySetArb,
        fc.integer({ min: 0, max: TIMES.length - 1 }),
        fc.array(tupleArb, { minLength: 40, maxLength: 40 }),
        (inv, ps, t, probes) => {
          both(inv, expressible(ps, inv), TIMES[t] as number, probes)
        },
      ),
      { seed: SEED, numRuns: 60 },
    )
    fc.assert(
      fc.property(estateArb, (e) => {
        const ips = [...e.hosts.flatMap((h) => h.addresses), '10.77.2.1', '192.0.2.1', 'fd77::99']
        const probes = ips.flatMap((src) =>
          ips.flatMap((dst) =>
            DENSE_SERVICES.map(([protocol, dstPort]) => ({ src, dst, protocol, dstPort, at: 0 })),
          ),
        )
        both(
          e.inventory,
          expressible({ policies: e.policies, enforcement: [] }, e.inventory),
          NOW.getTime(),
          probes,
        )
      }),
      { seed: SEED, numRuns: 60 },
    )
    expect(compared).toBeGreaterThan(10_000)
    expect(fewer).toBeGreaterThan(10)
    expect(ALL_IPS.length).toBeGreaterThan(0)
  })
})

describe('aws-sg pairs of groups', () => {
  it('plans only the pairs of groups an allow rule joins (work proportional to the output, not groups²)', () => {
    // a chain app a0 -> a1 -> ... -> a149 on tcp/443, and a deny inside each link's services
    const n = 150
    const inv: Inventory = {
      workloads: Array.from({ length: n }, (_, i) => ({
        name: `w-${i}`,
        addresses: [{ ip: `10.2.${Math.floor(i / 200)}.${(i % 200) + 1}` }],
        labels: labelSet({ app: `a${i}` }),
      })),
      externals: [],
      labelRules: [],
    }
    const rules = Array.from({ length: n - 1 }, (_, i) =>
      rule(`r${i}`, [lbl({ app: `a${i}` })], [lbl({ app: `a${i + 1}` })], [tcp(443), tcp(22)]),
    )
    rules.push(rule('no-ssh', [{ kind: 'any' }], [{ kind: 'any' }], [tcp(22)], 'deny'))
    const spy = vi.spyOn(PolicyIndex.prototype, 'allowedServicesClasses')
    let plan: AwsSgPlan
    try {
      plan = planAwsSg(inv, policySet(rules, []), { now: NOW })
      // each group: its one source and one destination, and its address regions; before, every
      // ordered pair of groups was asked (n² = 22 500)
      expect(spy.mock.calls.length).toBeLessThan(10 * n)
    } finally {
      spy.mockRestore()
    }
    const key = (i: number) => plan.groups.find((g) => g.workloads.includes(`w-${i}`))?.key ?? '?'
    const g5 = plan.groups.find((g) => g.key === key(5))
    const peers = g5?.grants.filter((g) => g.peer.kind === 'group')
    expect(peers?.map((g) => [g.direction, peerText(g.peer), g.services.toString()])).toEqual([
      ['egress', `sg:${key(6)}`, 'tcp/443'],
      ['ingress', `sg:${key(4)}`, 'tcp/443'],
    ])
  })
})

describe('aws-sg group names and keys', () => {
  const w = (name: string, ip: string, role: string) => ({
    name,
    addresses: [{ ip }],
    labels: labelSet({ role }),
  })
  const inventory = (...ws: ReturnType<typeof w>[]): Inventory => ({
    workloads: ws,
    externals: [],
    labelRules: [],
  })

  it('label sets that read alike (ident, case) get distinct keys and names, none lost', () => {
    const inv = inventory(
      w('a', '10.1.0.1', 'a-b'),
      w('b', '10.1.0.2', 'a_b'),
      w('c', '10.1.0.3', 'A-B'),
    )
    const ps = policySet([rule('r', [lbl({ role: 'a-b' })], [lbl({ role: 'a_b' })], [tcp(443)])])
    const plan = planAwsSg(inv, ps, { now: NOW })
    expect(new Set(plan.groups.map((g) => g.key)).size).toBe(3)
    expect(new Set(plan.groups.map((g) => g.name.toLowerCase())).size).toBe(3)
    // the label set sorting first keeps the readable key and name; the others are hashed
    expect(plan.groups.find((g) => g.workloads.includes('c'))?.key).toBe('sg_role_a_b')
    expect(plan.groups.find((g) => g.workloads.includes('a'))?.key).toMatch(
      /^sg_role_a_b_[0-9a-f]{8}$/,
    )
    const r = awsSgCompiler.compile(inv, ps, { now: NOW })
    const read = readSecurityGroups(r.artefacts[0]?.content ?? '')
    expect(new Set(read.workloadGroup.values()).size).toBe(3)
    expect(agrees(inv, ps, r)).toBeGreaterThan(10)
  })

  it('a label set split by a policy block keeps its name on the part with fewer rules when a workload sorting first joins the other', () => {
    const ps = policySet([
      rule(
        'lab-to-db',
        [{ kind: 'cidr', cidr: cidr('10.2.0.0/16'), except: [] }],
        [lbl({ role: 'db' })],
        [tcp(5432)],
      ),
    ])
    const base = [
      w('web-1', '10.1.0.1', 'web'),
      w('web-2', '10.1.0.2', 'web'),
      w('web-3', '10.2.0.3', 'web'),
      w('db-1', '10.1.0.3', 'db'),
    ]
    const groupOf = (inv: Inventory, workload: string) =>
      planAwsSg(inv, ps, { now: NOW }).groups.find((g) => g.workloads.includes(workload))
    const before = groupOf(inventory(...base), 'web-1')
    const grown = inventory(w('web-0', '10.2.0.9', 'web'), ...base)
    const after = groupOf(grown, 'web-1')
    expect(after?.name).toBe(before?.name)
    expect(after?.key).toBe(before?.key)
    expect(before?.name).toBe('bulkhead-role=web')
    expect(before?.key).toBe('sg_role_web')
    // the other part is named after its first workload
    expect(groupOf(inventory(...base), 'web-3')?.name).toBe('bulkhead-role=web@web-3')
    expect(groupOf(grown, 'web-3')?.name).toBe('bulkhead-role=web@web-0')
  })
})
