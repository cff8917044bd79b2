/**
 * @module Tests of the azure-nsg target: conformance suite with the NSG evaluator of the emitted
 * Terraform JSON, the golden file of a fixture workspace, and hand cases (priorities, ASGs,
 * observe workloads, prefixes per family, ICMP, load-balancer probes, limits).
 */
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import {
  ALLOW_PRIORITIES,
  AZURE_LIMITS,
  AZURE_NSG_FILE,
  DENY_PRIORITIES,
  azureNsgCompiler,
  azureNsgDecide,
  planAzureNsg,
  readAzureNsg,
  UnsupportedByTargetError,
  type AzureNsgOptions,
  type CompileResult,
} from '../../src/compile/index.js'
import {
  labelSet,
  parseService,
  type Inventory,
  type PolicySet,
  type Rule,
  type Service,
} from '../../src/core/index.js'
import { evaluate } from '../../src/policy/evaluate.js'
import { loadWorkspace } from '../../src/policy/files.js'
import { runCompileConformance, type ConformanceChecker } from '../conformance/compile.case.js'
import { inventoryOf, workload } from '../helpers/workloads.js'
import { cidr, lbl, rule, tcp } from './kubernetes-fixture.js'

const NOW = new Date('2026-11-22T12:00:00Z')
const FIXTURE = fileURLToPath(new URL('../fixtures/compile-azure-nsg/', import.meta.url))

const checker: ConformanceChecker = (result, inventory, tuple) => {
  const tf = result.artefacts.find((a) => a.path === AZURE_NSG_FILE)
  if (!tf) throw new Error('no Terraform file')
  return azureNsgDecide(readAzureNsg(tf.content), inventory, tuple)
}

runCompileConformance({
  compiler: azureNsgCompiler,
  checker,
  // the model's exact semantics: no load-balancer rule before the policy's
  extraOptions: { loadBalancerProbes: false },
  // Azure relates no ICMP error to a flow and names no ICMP type: the rules judge them
  icmpErrors: 'by-rules',
})

const INVENTORY: Inventory = {
  workloads: [
    {
      name: 'web-1',
      addresses: [{ ip: '10.1.0.1' }, { ip: '2001:db8::1' }],
      labels: labelSet({ role: 'web', app: 'shop' }),
    },
    {
      name: 'web-2',
      addresses: [{ ip: '10.1.0.2' }],
      labels: labelSet({ role: 'web', app: 'shop' }),
    },
    {
      name: 'api-1',
      addresses: [{ ip: '10.1.1.1' }],
      labels: labelSet({ role: 'api', app: 'shop' }),
    },
    {
      name: 'db-1',
      addresses: [{ ip: '10.1.2.1' }],
      labels: labelSet({ role: 'db', app: 'shop' }),
    },
  ],
  externals: [],
  labelRules: [],
}

function policySet(
  rules: Rule[],
  enforcement: PolicySet['enforcement'] = [{ selector: { kind: 'any' }, mode: 'enforce' }],
): PolicySet {
  return {
    policies: [
      { name: 'shop', owner: 'team', scope: labelSet({ app: 'shop' }), rules, file: 'shop.yaml' },
    ],
    enforcement,
  }
}

function compile(
  ps: PolicySet,
  inv: Inventory = INVENTORY,
  extra: Partial<AzureNsgOptions> = {},
): CompileResult {
  return azureNsgCompiler.compile(inv, ps, { now: NOW, ...extra })
}

type Tf = { resource: Record<string, Record<string, Record<string, unknown>>> }
const tfOf = (r: CompileResult): Tf => JSON.parse(r.artefacts[0]?.content ?? '{}') as Tf

describe('azure-nsg golden file', () => {
  it('fixture workspace compiles to the reviewed Terraform JSON', async () => {
    const { inventory, policySet: ps, diagnostics } = await loadWorkspace(FIXTURE, NOW)
    expect(diagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
    const r = azureNsgCompiler.compile(inventory, ps, { now: NOW })
    expect(r.artefacts.map((a) => a.path)).toEqual([AZURE_NSG_FILE])
    await expect(r.artefacts[0]?.content).toMatchFileSnapshot(
      `../golden/compile/compile-azure-nsg.${AZURE_NSG_FILE}`,
    )
    expect(r.diagnostics.map((d) => d.code).sort()).toEqual([
      'compile/expires-later',
      'compile/icmp-errors-dropped',
      'compile/load-balancer-probes',
    ])
    // every flow between the fixture's addresses and a few outside, as the model decides
    const ips = [
      ...inventory.workloads.flatMap((w) => w.addresses.map((a) => a.ip)),
      '10.9.9.9',
      '10.40.0.5',
      '198.51.100.7',
      '203.0.113.4',
    ]
    const state = readAzureNsg(r.artefacts[0]?.content ?? '')
    const ps2 = { ...ps }
    let decided = 0
    for (const src of ips)
      for (const dst of ips)
        for (const [protocol, dstPort] of [
          [6, 443],
          [6, 5432],
          [6, 22],
          [6, 21],
          [6, 8050],
          [17, 53],
          [1, 8],
          [58, 128],
          [1, 3],
          [58, 2],
        ] as const) {
          if (src.includes(':') !== dst.includes(':')) continue
          if (protocol === (src.includes(':') ? 1 : 58)) continue // ICMP of the other family
          const tuple = { src, dst, protocol, dstPort, at: NOW.getTime() }
          const got = azureNsgDecide(state, inventory, tuple)
          if (got === undefined) continue
          decided++
          // an ICMP error is judged by the rules as an echo request of the pair would be
          // (compile/icmp-errors-dropped), not allowed as related as the model does
          const judged =
            dstPort === 3 || dstPort === 2 ? { ...tuple, dstPort: protocol === 1 ? 8 : 128 } : tuple
          expect(got, `${src} -> ${dst} ${protocol}/${dstPort}`).toBe(
            evaluate(inventory, ps2, judged).decision,
          )
        }
    expect(decided).toBeGreaterThan(100)
  })
})

describe('azure-nsg target', () => {
  it('an NSG gets the rules naming an ASG of its workload even when the address its workload holds resolves to another workload', () => {
    // by hand: db-1 also holds 10.0.0.1, which web-1 (first in the inventory) wins, so no rule
    // matches db-1 by address; but rule web-to-db names db-1 by its labels, so db-1 joins the
    // ASG {role=db} and its NSG takes web-to-db inbound (ASG to ASG), as it did before NSGs
    // skipped the rules their class does not match
    const inv = inventoryOf(
      workload('web-1', '10.0.0.1', { role: 'web' }),
      workload('db-1', '10.0.0.1', { role: 'db' }),
    )
    const ps: PolicySet = {
      policies: [
        {
          name: 'p',
          owner: 'o',
          scope: labelSet(),
          rules: [rule('web-to-db', [lbl({ role: 'web' })], [lbl({ role: 'db' })], [tcp(5432)])],
          file: 'p.yaml',
        },
      ],
      enforcement: [{ selector: { kind: 'any' }, mode: 'enforce' }],
    }
    const plan = planAzureNsg(inv, ps, { now: NOW, loadBalancerProbes: false })
    const db = plan.nsgs.find((n) => n.members.includes('db-1'))
    expect(
      db?.rules
        .filter((r) => r.direction === 'Inbound' && r.rule?.id === 'web-to-db')
        .map((r) => r.name),
    ).toEqual(['bh-in.p.web-to-db.tcp.asg-asg'])
  })

  it('deny rules come before allow rules; deny-all at 4096 in each direction', () => {
    const plan = planAzureNsg(
      INVENTORY,
      policySet([
        rule('web-to-api', [lbl({ role: 'web' })], [lbl({ role: 'api' })], [tcp(443)]),
        rule(
          'no-web-to-db',
          [lbl({ role: 'web' })],
          [lbl({ role: 'db' })],
          [{ protocol: 'any' }],
          'deny',
        ),
      ]),
      { now: NOW, loadBalancerProbes: false },
    )
    const web = plan.nsgs.find((n) => n.members.includes('web-1'))
    expect(web?.members).toEqual(['web-1', 'web-2'])
    const out = web?.rules.filter((r) => r.direction === 'Outbound') ?? []
    expect(out.map((r) => [r.name, r.access])).toEqual([
      ['bh-out.shop.no-web-to-db.any.asg-asg', 'Deny'],
      ['bh-out.shop.web-to-api.tcp.asg-asg', 'Allow'],
      ['bh-deny-all-out', 'Deny'],
    ])
    const [deny, allow, all] = out.map((r) => r.priority)
    expect(deny).toBeGreaterThanOrEqual(DENY_PRIORITIES.lo)
    expect(deny).toBeLessThanOrEqual(DENY_PRIORITIES.hi)
    expect(allow).toBeGreaterThanOrEqual(ALLOW_PRIORITIES.lo)
    expect(allow).toBeLessThanOrEqual(ALLOW_PRIORITIES.hi)
    expect(DENY_PRIORITIES.hi).toBeLessThan(ALLOW_PRIORITIES.lo)
    expect(all).toBe(4096)
    // the rule's groups are ASGs on both sides
    expect(out[1]?.source).toEqual({ kind: 'asgs', asgs: ['{role=web} in scope {app=shop}'] })
    expect(out[1]?.destination).toEqual({ kind: 'asgs', asgs: ['{role=api} in scope {app=shop}'] })
    expect(plan.asgs.map((a) => [a.name, a.members])).toEqual([
      ['bh-role-api-in-app-shop', ['api-1']],
      ['bh-role-db-in-app-shop', ['db-1']],
      ['bh-role-web-in-app-shop', ['web-1', 'web-2']],
    ])
  })

  it('observe workloads get no NSG, join no ASG, and are named by address', () => {
    const ps = policySet(
      [rule('web-to-api', [lbl({ role: 'web' })], [lbl({ role: 'api' })], [tcp(443)])],
      [
        { selector: lbl({ role: 'api' }), mode: 'enforce' },
        { selector: { kind: 'any' }, mode: 'observe' },
      ],
    )
    const plan = planAzureNsg(INVENTORY, ps, { now: NOW, loadBalancerProbes: false })
    expect(plan.nsgs.map((n) => n.members)).toEqual([['api-1']])
    expect(plan.asgs.flatMap((a) => a.members)).toEqual(['api-1'])
    const inbound = plan.nsgs[0]?.rules.filter((r) => r.rule?.id === 'web-to-api') ?? []
    expect(inbound.map((r) => r.source)).toEqual([
      { kind: 'prefixes', family: 4, prefixes: ['10.1.0.1/32', '10.1.0.2/32'] },
      { kind: 'prefixes', family: 6, prefixes: ['2001:db8::1/128'] },
    ])
    const tf = tfOf(compile(ps))
    expect(
      Object.values(tf.resource['azurerm_network_interface_security_group_association'] ?? {}).map(
        (a) => a['network_interface_id'],
      ),
    ).toEqual(['${var.network_interface_ids["api-1"]}'])
  })

  it('monitor mode is unsupported-by-target (monitor-mode), as for cilium', () => {
    const ps = policySet(
      [rule('web-to-api', [lbl({ role: 'web' })], [lbl({ role: 'api' })], [tcp(443)])],
      [{ selector: { kind: 'any' }, mode: 'monitor' }],
    )
    expect(() => compile(ps)).toThrow(UnsupportedByTargetError)
    // a monitored workload left out of --host does not stop the others
    const only = policySet(
      [rule('web-to-api', [lbl({ role: 'web' })], [lbl({ role: 'api' })], [tcp(443)])],
      [
        { selector: lbl({ role: 'api' }), mode: 'enforce' },
        { selector: { kind: 'any' }, mode: 'monitor' },
      ],
    )
    expect(compile(only, INVENTORY, { hosts: ['api-1'] }).artefacts).toHaveLength(1)
  })

  it('typed ICMP, ICMPv6 and SCTP are refused with their capability, never widened', () => {
    for (const [service, capability] of [
      [{ protocol: 1, ports: { lo: 8, hi: 8 } }, 'icmp-types'],
      [{ protocol: 58, ports: { lo: 0, hi: 255 } }, 'icmpv6'],
      [{ protocol: 132, ports: { lo: 9000, hi: 9000 } }, 'sctp'],
    ] as const) {
      let err: unknown
      try {
        compile(policySet([rule('r', [lbl({ role: 'web' })], [lbl({ role: 'api' })], [service])]))
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(UnsupportedByTargetError)
      expect((err as UnsupportedByTargetError).unsupported.map((u) => u.capability)).toContain(
        capability,
      )
    }
  })

  it('esp and ah (proto/50, proto/51) compile to Esp and Ah; gre and other numbers stay refused', () => {
    const whole = (protocol: number) => ({ protocol, ports: { lo: 0, hi: 65535 } })
    const named = (text: string) => parseService(text) as Service
    const ipsec = rule(
      'ipsec',
      [lbl({ role: 'web' })],
      [lbl({ role: 'api' })],
      [named('esp'), named('ah')],
    )
    const noAh = rule(
      'no-ah',
      [{ kind: 'cidr', cidr: cidr('10.1.0.2/32'), except: [] }],
      [lbl({ role: 'api' })],
      [whole(51)],
      'deny',
    )
    const ps = policySet([ipsec, noAh])
    const r = compile(ps, INVENTORY, { loadBalancerProbes: false })
    const plan = planAzureNsg(INVENTORY, ps, { now: NOW, loadBalancerProbes: false })
    const api = plan.nsgs.find((n) => n.members.includes('api-1'))
    expect(
      api?.rules
        .filter((x) => x.direction === 'Inbound' && x.rule !== undefined)
        .map((x) => [x.rule?.id, x.access, x.protocol, x.ports]),
    ).toEqual([
      ['no-ah', 'Deny', 'Ah', ['*']],
      ['ipsec', 'Allow', 'Esp', ['*']],
      ['ipsec', 'Allow', 'Ah', ['*']],
    ])
    // the NSG evaluator of the file agrees with the model on ESP, AH and GRE between all pairs
    const state = readAzureNsg(r.artefacts[0]?.content ?? '')
    const ips = INVENTORY.workloads.flatMap((w) => w.addresses.map((a) => a.ip))
    let decided = 0
    for (const src of ips)
      for (const dst of ips)
        for (const protocol of [50, 51, 47]) {
          const tuple = { src, dst, protocol, dstPort: 0, at: NOW.getTime() }
          const got = azureNsgDecide(state, INVENTORY, tuple)
          if (got === undefined) continue
          decided++
          expect(got, `${src} -> ${dst} proto ${protocol}`).toBe(
            evaluate(INVENTORY, ps, tuple).decision,
          )
        }
    expect(decided).toBeGreaterThan(20)
    // GRE (47) is not ESP or AH: other-protocols, refused
    let err: unknown
    try {
      compile(
        policySet([
          rule(
            'gre',
            [lbl({ role: 'web' })],
            [lbl({ role: 'api' })],
            [named('gre'), named('proto/47')],
          ),
        ]),
      )
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(UnsupportedByTargetError)
    expect((err as UnsupportedByTargetError).unsupported.map((u) => u.capability)).toEqual([
      'other-protocols',
    ])
    // the refusal names the services as the policy spells them, each once
    expect((err as UnsupportedByTargetError).diagnostics[0]?.message).toContain(
      'needs "other-protocols" (gre), which',
    )
  })

  it('icmp (every type) names the far side by IPv4 prefixes only', () => {
    const plan = planAzureNsg(
      INVENTORY,
      policySet([
        rule(
          'ping',
          [lbl({ role: 'web' })],
          [lbl({ role: 'api' })],
          [{ protocol: 1, ports: { lo: 0, hi: 255 } }],
        ),
      ]),
      { now: NOW, loadBalancerProbes: false, direction: 'ingress' },
    )
    const api = plan.nsgs.find((n) => n.members.includes('api-1'))
    const ping = api?.rules.filter((r) => r.rule?.id === 'ping') ?? []
    expect(ping.map((r) => [r.protocol, r.source])).toEqual([
      ['Icmp', { kind: 'prefixes', family: 4, prefixes: ['10.1.0.1/32', '10.1.0.2/32'] }],
    ])
  })

  it('cidr except becomes the prefixes that remain; IPv4 and IPv6 in separate rules', () => {
    const plan = planAzureNsg(
      INVENTORY,
      policySet([
        rule(
          'office',
          [
            { kind: 'cidr', cidr: cidr('192.0.2.0/24'), except: [cidr('192.0.2.0/25')] },
            { kind: 'cidr', cidr: cidr('2001:db8:1::/48'), except: [] },
          ],
          [lbl({ role: 'db' })],
          [tcp(5432)],
        ),
      ]),
      { now: NOW, loadBalancerProbes: false, direction: 'ingress' },
    )
    const db = plan.nsgs.find((n) => n.members.includes('db-1'))
    expect(db?.rules.filter((r) => r.rule).map((r) => r.source)).toEqual([
      { kind: 'prefixes', family: 4, prefixes: ['192.0.2.128/25'] },
      { kind: 'prefixes', family: 6, prefixes: ['2001:db8:1::/48'] },
    ])
  })

  it('load-balancer probes: allowed at priority 100 by default, with a warning; off on request', () => {
    const ps = policySet([
      rule('web-to-api', [lbl({ role: 'web' })], [lbl({ role: 'api' })], [tcp(443)]),
    ])
    const on = compile(ps)
    expect(on.diagnostics.map((d) => d.code)).toContain('compile/load-balancer-probes')
    const rules = Object.values(tfOf(on).resource['azurerm_network_security_rule'] ?? {})
    expect(
      rules
        .filter((r) => r['source_address_prefix'] === 'AzureLoadBalancer')
        .map((r) => r['priority']),
    ).toEqual([100, 100, 100])
    const state = readAzureNsg(on.artefacts[0]?.content ?? '')
    const probe = {
      src: '168.63.129.16',
      dst: '10.1.2.1',
      protocol: 6,
      dstPort: 80,
      at: NOW.getTime(),
    }
    expect(azureNsgDecide(state, INVENTORY, probe)).toBe('allowed')
    const off = compile(ps, INVENTORY, { loadBalancerProbes: false })
    expect(off.diagnostics.map((d) => d.code)).not.toContain('compile/load-balancer-probes')
    expect(azureNsgDecide(readAzureNsg(off.artefacts[0]?.content ?? ''), INVENTORY, probe)).toBe(
      'denied',
    )
  })

  it('ICMP errors get no rule and meet the deny-all unless icmp is allowed, with a warning (Azure relates none to a flow)', () => {
    // by hand, from the NSG overview: state is flow records of the five-tuple, `Any` takes ICMP,
    // and a rule names no ICMP type. web -> api tcp/443 only: api's destination unreachable or
    // time exceeded back to web meets bh-deny-all-out at api (and bh-deny-all-in at web); the
    // model allows them (related), hence the warning. With web -> api icmp allowed, web's errors
    // to api pass (Icmp out at web, in at api), api's to web still do not.
    const at = NOW.getTime()
    const flow = (src: string, dst: string, protocol: number, dstPort: number) => ({
      src,
      dst,
      protocol,
      dstPort,
      at,
    })
    const tcpOnly = policySet([
      rule('web-to-api', [lbl({ role: 'web' })], [lbl({ role: 'api' })], [tcp(443)]),
    ])
    const r = compile(tcpOnly, INVENTORY, { loadBalancerProbes: false })
    const warned = r.diagnostics.filter((d) => d.code === 'compile/icmp-errors-dropped')
    expect(warned).toEqual([expect.objectContaining({ severity: 'warning' })])
    expect(warned[0]?.message).toMatch(/^3 NSG\(s\) drop ICMP errors/)
    const tf = r.artefacts[0]?.content ?? ''
    expect(tf).not.toContain('"Icmp"')
    const state = readAzureNsg(tf)
    for (const [src, dst, protocol, type] of [
      ['10.1.1.1', '10.1.0.1', 1, 3],
      ['10.1.1.1', '10.1.0.1', 1, 11],
      ['10.1.0.1', '10.1.1.1', 1, 3],
    ] as const) {
      const f = flow(src, dst, protocol, type)
      expect(evaluate(INVENTORY, tcpOnly, f).by).toBe('related')
      expect(azureNsgDecide(state, INVENTORY, f), `${src} -> ${dst} icmp/${type}`).toBe('denied')
    }
    const withIcmp = policySet([
      rule('web-to-api', [lbl({ role: 'web' })], [lbl({ role: 'api' })], [tcp(443)]),
      rule(
        'web-to-api-icmp',
        [lbl({ role: 'web' })],
        [lbl({ role: 'api' })],
        [parseService('icmp') as Service],
      ),
    ])
    const icmp = readAzureNsg(compile(withIcmp).artefacts[0]?.content ?? '')
    expect(azureNsgDecide(icmp, INVENTORY, flow('10.1.0.1', '10.1.1.1', 1, 3))).toBe('allowed')
    expect(azureNsgDecide(icmp, INVENTORY, flow('10.1.1.1', '10.1.0.1', 1, 3))).toBe('denied')
    // link control is still taken as passing (no multicast on a virtual network)
    expect(azureNsgDecide(state, INVENTORY, flow('10.1.1.1', '10.1.0.1', 2, 0))).toBe('allowed')
  })

  it('every object names its origin; variables hold what the inventory does not know', () => {
    const tf = tfOf(
      compile(
        policySet([rule('web-to-api', [lbl({ role: 'web' })], [lbl({ role: 'api' })], [tcp(443)])]),
      ),
    )
    const doc = tf as unknown as { variable: Record<string, { type: string }> }
    expect(Object.keys(doc.variable).sort()).toEqual([
      'location',
      'network_interface_ids',
      'resource_group_name',
    ])
    expect(doc.variable['network_interface_ids']?.type).toBe('map(string)')
    for (const a of Object.values(tf.resource['azurerm_application_security_group'] ?? {}))
      expect(a['tags']).toMatchObject({
        'managed-by': 'bulkhead',
        'bulkhead-rules': 'shop/web-to-api',
      })
    for (const r of Object.values(tf.resource['azurerm_network_security_rule'] ?? {})) {
      expect(String(r['description']).length).toBeLessThanOrEqual(140)
      expect(String(r['name']).length).toBeLessThanOrEqual(80)
      expect(r['description']).toMatch(/^bulkhead /)
    }
  })

  it('more than 5000 NSGs (one per label set) is a cloud-limit warning', () => {
    const inventory = (n: number): Inventory =>
      inventoryOf(
        ...Array.from({ length: n }, (_, i) =>
          workload(`w${i}`, `10.${Math.floor(i / 250)}.${i % 250}.1`, { role: `r${i}` }),
        ),
      )
    const ps: PolicySet = {
      policies: [],
      enforcement: [{ selector: { kind: 'any' }, mode: 'enforce' }],
    }
    const limits = (n: number) =>
      planAzureNsg(inventory(n), ps, { now: NOW, loadBalancerProbes: false }).diagnostics.filter(
        (d) => d.code === 'compile/cloud-limit-exceeded',
      )
    // Azure's limit, 5000 NSGs per region and subscription
    expect(limits(5000)).toEqual([])
    const over = limits(5001)
    expect(over).toHaveLength(1)
    expect(over[0]?.message).toMatch(/^5001 NSGs/)
    expect(AZURE_LIMITS.nsgsPerRegion).toBe(5000)
  })

  it('more than 1000 rules in one NSG is a cloud-limit warning naming the NSG and the counts', () => {
    const many = Array.from({ length: 600 }, (_, i) =>
      rule(
        `r${i}`,
        [{ kind: 'cidr', cidr: cidr(`192.0.${Math.floor(i / 250)}.${i % 250}/32`), except: [] }],
        [lbl({ role: 'db' })],
        [tcp(1000 + i)],
      ),
    )
    const r = compile(policySet(many), INVENTORY, {
      direction: 'ingress',
      loadBalancerProbes: false,
    })
    expect(r.diagnostics.filter((d) => d.code === 'compile/cloud-limit-exceeded')).toEqual([])
    const twice = compile(
      policySet([...many, ...many.map((x) => ({ ...x, id: `${x.id}b`, services: [tcp(30000)] }))]),
      INVENTORY,
      {
        direction: 'ingress',
        loadBalancerProbes: false,
      },
    )
    const limit = twice.diagnostics.filter((d) => d.code === 'compile/cloud-limit-exceeded')
    expect(limit).toHaveLength(1)
    expect(limit[0]?.message).toMatch(
      /^NSG bh-nsg.app.shop.role.db has 1201 security rules; Azure allows 1000/,
    )
  })

  it('more than 10 ASGs on one side are split over several rules', () => {
    const workloads = Array.from({ length: 12 }, (_, i) => ({
      name: `w${i}`,
      addresses: [{ ip: `10.3.0.${i + 1}` }],
      labels: labelSet({ app: 'shop', tier: `t${i}` }),
    }))
    const inv: Inventory = { ...INVENTORY, workloads: [...INVENTORY.workloads, ...workloads] }
    const from = workloads.map((w) => lbl({ tier: w.labels['tier'] ?? '' }))
    const plan = planAzureNsg(
      inv,
      policySet([rule('tiers', from, [lbl({ role: 'db' })], [tcp(5432)])]),
      {
        now: NOW,
        loadBalancerProbes: false,
        direction: 'ingress',
      },
    )
    const db = plan.nsgs.find((n) => n.members.includes('db-1'))
    const tiers = db?.rules.filter((r) => r.rule?.id === 'tiers') ?? []
    expect(tiers.map((r) => (r.source.kind === 'asgs' ? r.source.asgs.length : 0))).toEqual([10, 2])
  })
})
