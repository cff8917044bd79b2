/**
 * @module Held-out cases of the azure-nsg semantics checker ({@link azureNsgDecide}): small NSGs
 * written by hand as the Terraform JSON the target emits, each flow's answer worked out by hand
 * from the Azure documentation (quoted beside each case), never from Bulkhead. They check the
 * checker against the cloud, independently of the compiler.
 *
 * Sources: "Network security groups" overview
 * (https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview: security
 * rules, default security rules, augmented rules, Azure platform considerations), "How network
 * security groups filter network traffic"
 * (https://learn.microsoft.com/azure/virtual-network/network-security-group-how-it-works) and
 * "Application security groups"
 * (https://learn.microsoft.com/azure/virtual-network/application-security-groups).
 */
import { describe, expect, it } from 'vitest'
import {
  AZURE_NSG_FILE,
  azureNsgCompiler,
  azureNsgDecide,
  readAzureNsg,
} from '../../src/compile/index.js'
import {
  labelSet,
  parseCidr,
  type Cidr,
  type Inventory,
  type PolicySet,
  type Rule,
} from '../../src/core/index.js'
import { evaluate } from '../../src/policy/evaluate.js'

const AT = Date.UTC(2026, 10, 22, 12)

/** web and db have NICs with NSGs W and D; obs has none (not enforced). */
const INV: Inventory = {
  workloads: [
    { name: 'web', addresses: [{ ip: '10.1.0.1' }], labels: labelSet({ role: 'web' }) },
    { name: 'db', addresses: [{ ip: '10.1.0.3' }], labels: labelSet({ role: 'db' }) },
    { name: 'obs', addresses: [{ ip: '10.1.0.9' }], labels: labelSet({ role: 'obs' }) },
  ],
  externals: [],
  labelRules: [],
}

interface HandRule {
  readonly priority: number
  readonly direction: 'Inbound' | 'Outbound'
  readonly access: 'Allow' | 'Deny'
  readonly protocol: string
  readonly ports?: string | readonly string[]
  readonly src?: string | readonly string[]
  readonly dst?: string | readonly string[]
  readonly srcAsg?: readonly string[]
  readonly dstAsg?: readonly string[]
}

/** The Terraform JSON of hand-written NSGs, in the shape render.ts writes. */
function tf(
  nsgs: Record<string, readonly HandRule[]>,
  nsgOf: Record<string, string>,
  asgsOf: Record<string, readonly string[]> = {},
): ReturnType<typeof readAzureNsg> {
  const nic = (w: string): string => `\${var.network_interface_ids["${w}"]}`
  const asgRef = (g: string): string => `\${azurerm_application_security_group.${g}.id}`
  const side = (
    name: 'source' | 'destination',
    prefixes: string | readonly string[] | undefined,
    asgs: readonly string[] | undefined,
  ): Record<string, unknown> => {
    if (asgs) return { [`${name}_application_security_group_ids`]: asgs.map(asgRef) }
    const p = prefixes ?? '*'
    return typeof p === 'string'
      ? { [`${name}_address_prefix`]: p }
      : { [`${name}_address_prefixes`]: p }
  }
  const rules: Record<string, unknown> = {}
  for (const [nsg, list] of Object.entries(nsgs))
    list.forEach((r, k) => {
      const ports = r.ports ?? '*'
      rules[`${nsg}_${String(k)}`] = {
        name: `${nsg}-${String(k)}`,
        network_security_group_name: `\${azurerm_network_security_group.${nsg}.name}`,
        priority: r.priority,
        direction: r.direction,
        access: r.access,
        protocol: r.protocol,
        source_port_range: '*',
        ...(typeof ports === 'string'
          ? { destination_port_range: ports }
          : { destination_port_ranges: ports }),
        ...side('source', r.src, r.srcAsg),
        ...side('destination', r.dst, r.dstAsg),
      }
    })
  const doc = {
    resource: {
      azurerm_network_security_rule: rules,
      azurerm_network_interface_security_group_association: Object.fromEntries(
        Object.entries(nsgOf).map(([w, n]) => [
          `${n}__${w}`,
          {
            network_interface_id: nic(w),
            network_security_group_id: `\${azurerm_network_security_group.${n}.id}`,
          },
        ]),
      ),
      azurerm_network_interface_application_security_group_association: Object.fromEntries(
        Object.entries(asgsOf).flatMap(([w, gs]) =>
          gs.map((g) => [
            `${g}__${w}`,
            { network_interface_id: nic(w), application_security_group_id: asgRef(g) },
          ]),
        ),
      ),
    },
  }
  return readAzureNsg(JSON.stringify(doc))
}

const decide = (
  s: ReturnType<typeof readAzureNsg>,
  src: string,
  dst: string,
  protocol: number,
  dstPort: number,
) => azureNsgDecide(s, INV, { src, dst, protocol, dstPort, at: AT })

const DENY_ALL: HandRule[] = [
  { priority: 4096, direction: 'Inbound', access: 'Deny', protocol: '*' },
  { priority: 4096, direction: 'Outbound', access: 'Deny', protocol: '*' },
]

describe('azure-nsg checker against the Azure documentation (hand-worked cases)', () => {
  it('1. lower priority number first; the first match stops', () => {
    // "Rules are processed in priority order, with lower numbers processed before higher
    // numbers ... Once traffic matches a rule, processing stops."
    const deny: HandRule = {
      priority: 200,
      direction: 'Inbound',
      access: 'Deny',
      protocol: 'Tcp',
      ports: '5432',
      src: '10.1.0.0/24',
    }
    const allow: HandRule = { ...deny, priority: 300, access: 'Allow', src: '10.1.0.9' }
    const s1 = tf({ D: [deny, allow, ...DENY_ALL] }, { db: 'D' })
    expect(decide(s1, '10.1.0.9', '10.1.0.3', 6, 5432)).toBe('denied')
    const s2 = tf({ D: [{ ...deny, priority: 400 }, allow, ...DENY_ALL] }, { db: 'D' })
    expect(decide(s2, '10.1.0.9', '10.1.0.3', 6, 5432)).toBe('allowed')
    expect(decide(s2, '10.1.0.1', '10.1.0.3', 6, 5432)).toBe('denied') // only the deny matches
  })

  it('2. default rules: AllowVNetInBound, AllowAzureLoadBalancerInBound, then DenyAllInbound', () => {
    // default rules 65000 VirtualNetwork -> VirtualNetwork Allow, 65001 AzureLoadBalancer ->
    // 0.0.0.0/0 Allow, 65500 Deny; "you can override them by creating rules with higher priorities"
    const bare = tf({ D: [] }, { db: 'D' })
    expect(decide(bare, '10.1.0.9', '10.1.0.3', 6, 22)).toBe('allowed') // inside the VNet
    expect(decide(bare, '168.63.129.16', '10.1.0.3', 6, 80)).toBe('allowed') // LB probe
    const shut = tf({ D: DENY_ALL }, { db: 'D' })
    expect(decide(shut, '10.1.0.9', '10.1.0.3', 6, 22)).toBe('denied')
    expect(decide(shut, '168.63.129.16', '10.1.0.3', 6, 80)).toBe('denied') // probes overridden
  })

  it('3. outbound at the source NIC and inbound at the destination NIC must both allow', () => {
    // "For inbound traffic, Azure processes the rules in a network security group associated
    // with a subnet first ... then ... the network interface"; "For outbound traffic, Azure
    // processes the rules in a network security group associated with a network interface
    // first"; a flow passes only when every NSG on its path allows it
    const inD: HandRule = {
      priority: 1001,
      direction: 'Inbound',
      access: 'Allow',
      protocol: 'Tcp',
      ports: '5432',
      src: '10.1.0.1',
    }
    const outW: HandRule = { ...inD, direction: 'Outbound', src: '*', dst: '10.1.0.3' }
    const both = tf({ W: [outW, ...DENY_ALL], D: [inD, ...DENY_ALL] }, { web: 'W', db: 'D' })
    expect(decide(both, '10.1.0.1', '10.1.0.3', 6, 5432)).toBe('allowed')
    const noOut = tf({ W: DENY_ALL, D: [inD, ...DENY_ALL] }, { web: 'W', db: 'D' })
    expect(decide(noOut, '10.1.0.1', '10.1.0.3', 6, 5432)).toBe('denied')
    const noIn = tf({ W: [outW, ...DENY_ALL], D: DENY_ALL }, { web: 'W', db: 'D' })
    expect(decide(noIn, '10.1.0.1', '10.1.0.3', 6, 5432)).toBe('denied')
    // a NIC without an NSG does not filter: obs -> db decided by D alone
    expect(decide(noIn, '10.1.0.9', '10.1.0.3', 6, 5432)).toBe('denied')
    expect(decide(both, '10.1.0.9', '10.1.0.3', 6, 5432)).toBe('denied') // source is not web
  })

  it('4. protocols: Tcp, Udp, Icmp, Esp, and Any ("encompasses TCP, UDP, and ICMP")', () => {
    const r = (priority: number, protocol: string, src: string): HandRule => ({
      priority,
      direction: 'Inbound',
      access: 'Allow',
      protocol,
      src,
    })
    const s = tf(
      {
        D: [
          r(1001, 'Tcp', '10.1.0.9'),
          r(1002, 'Icmp', '10.1.0.1'),
          r(1003, '*', '10.2.0.0/16'),
          r(1004, 'Esp', '10.3.0.1'),
          ...DENY_ALL,
        ],
      },
      { db: 'D' },
    )
    expect(decide(s, '10.1.0.9', '10.1.0.3', 6, 443)).toBe('allowed')
    expect(decide(s, '10.1.0.9', '10.1.0.3', 17, 53)).toBe('denied')
    expect(decide(s, '10.1.0.1', '10.1.0.3', 1, 8)).toBe('allowed')
    expect(decide(s, '10.1.0.1', '10.1.0.3', 6, 8)).toBe('denied')
    for (const [p, port] of [
      [6, 1],
      [17, 9999],
      [1, 8],
    ] as const)
      expect(decide(s, '10.2.3.4', '10.1.0.3', p, port)).toBe('allowed')
    expect(decide(s, '10.3.0.1', '10.1.0.3', 50, 0)).toBe('allowed')
    expect(decide(s, '10.3.0.1', '10.1.0.3', 51, 0)).toBe('denied') // Ah is not Esp
  })

  it('5. port ranges and augmented rules: several ports, ranges and prefixes in one rule', () => {
    // "You can specify an individual or range of ports. For example, you could specify 80 or
    // 10000-10005"; "You can combine multiple ports and multiple explicit IP addresses and
    // ranges into a single ... security rule."
    const s = tf(
      {
        D: [
          {
            priority: 1001,
            direction: 'Inbound',
            access: 'Allow',
            protocol: 'Tcp',
            ports: ['80', '10000-10005'],
            src: ['10.1.0.1', '192.0.2.0/24'],
          },
          ...DENY_ALL,
        ],
      },
      { db: 'D' },
    )
    expect(decide(s, '10.1.0.1', '10.1.0.3', 6, 80)).toBe('allowed')
    expect(decide(s, '192.0.2.77', '10.1.0.3', 6, 10005)).toBe('allowed')
    expect(decide(s, '192.0.2.77', '10.1.0.3', 6, 10006)).toBe('denied')
    expect(decide(s, '10.1.0.1', '10.1.0.3', 6, 81)).toBe('denied')
    expect(decide(s, '10.1.0.9', '10.1.0.3', 6, 80)).toBe('denied')
  })

  it('6. application security groups: a rule names the NICs that joined the group', () => {
    // "Application security groups enable you to ... group virtual machines and define network
    // security policies based on those groups."
    const s = tf(
      {
        D: [
          {
            priority: 1001,
            direction: 'Inbound',
            access: 'Allow',
            protocol: 'Tcp',
            ports: '5432',
            srcAsg: ['asg_web'],
            dstAsg: ['asg_db'],
          },
          ...DENY_ALL,
        ],
      },
      { db: 'D' },
      { web: ['asg_web'], db: ['asg_db'] },
    )
    expect(decide(s, '10.1.0.1', '10.1.0.3', 6, 5432)).toBe('allowed')
    expect(decide(s, '10.1.0.9', '10.1.0.3', 6, 5432)).toBe('denied') // obs is in no ASG
  })

  it('7. the host node virtual IPs (DNS, IMDS, DHCP) are not subject to the NSGs', () => {
    // "Basic infrastructure services like DHCP, DNS, IMDS, and health monitoring are provided
    // through the virtualized host IP addresses 168.63.129.16 and 169.254.169.254. ... By
    // default, these services aren't subject to the configured network security groups unless
    // targeted by service tags specific to each service."
    const s = tf({ W: DENY_ALL }, { web: 'W' })
    expect(decide(s, '10.1.0.1', '168.63.129.16', 17, 53)).toBe('allowed')
    expect(decide(s, '10.1.0.1', '169.254.169.254', 6, 80)).toBe('allowed')
    expect(decide(s, '10.1.0.1', '10.1.0.3', 6, 80)).toBe('denied')
    // load-balancer probes from 168.63.129.16 into the NIC stay subject to the rules (case 2)
    expect(decide(s, '168.63.129.16', '10.1.0.1', 6, 80)).toBe('denied')
  })

  it('8. a policy that denies IMDS is not enforced by an NSG: the compiler says so', () => {
    const imds = parseCidr('169.254.169.254/32') as Cidr
    const deny: Rule = {
      id: 'no-imds',
      action: 'deny',
      from: [{ kind: 'any' }],
      to: [{ kind: 'cidr', cidr: imds, except: [] }],
      services: [{ protocol: 6, ports: { lo: 80, hi: 80 } }],
      emergency: false,
    }
    const ps = (rules: Rule[]): PolicySet => ({
      policies: [{ name: 'p', owner: 't', scope: labelSet(), rules, file: 'p.yaml' }],
      enforcement: [{ selector: { kind: 'any' }, mode: 'enforce' }],
    })
    const tuple = { src: '10.1.0.1', dst: '169.254.169.254', protocol: 6, dstPort: 80, at: AT }
    expect(evaluate(INV, ps([deny]), tuple).decision).toBe('denied')
    const r = azureNsgCompiler.compile(INV, ps([deny]), { now: new Date(AT) })
    const state = readAzureNsg(r.artefacts.find((a) => a.path === AZURE_NSG_FILE)?.content ?? '')
    expect(azureNsgDecide(state, INV, tuple)).toBe('allowed')
    const warned = r.diagnostics.filter((d) => d.code === 'compile/platform-traffic-unfiltered')
    expect(warned.map((d) => d.message.split(':')[0])).toEqual(['p/no-imds'])
    const quiet = azureNsgCompiler.compile(INV, ps([]), { now: new Date(AT) })
    expect(quiet.diagnostics.map((d) => d.code)).not.toContain(
      'compile/platform-traffic-unfiltered',
    )
  })

  it('9. an ASG holds its members private addresses, not a public IP the inventory lists', () => {
    // "Network security groups process traffic after Azure translates public IP addresses to
    // private IP addresses for inbound traffic. They process traffic before translating private
    // IP addresses to public IP addresses for outbound traffic." A packet web sent to db across
    // the internet reaches db's NSG with web's public address, which no IP configuration holds.
    const inv: Inventory = {
      ...INV,
      workloads: INV.workloads.map((w) =>
        w.name === 'web' ? { ...w, addresses: [...w.addresses, { ip: '20.0.0.1' }] } : w,
      ),
    }
    const asgRule: HandRule = {
      priority: 1001,
      direction: 'Inbound',
      access: 'Allow',
      protocol: 'Tcp',
      ports: '5432',
      srcAsg: ['asg_web'],
    }
    const s = tf({ D: [asgRule, ...DENY_ALL] }, { db: 'D' }, { web: ['asg_web'] })
    const at = (src: string) =>
      azureNsgDecide(s, inv, { src, dst: '10.1.0.3', protocol: 6, dstPort: 5432, at: AT })
    expect(at('10.1.0.1')).toBe('allowed')
    expect(at('20.0.0.1')).toBe('denied')
    // through the compiler: the model allows web -> db from both addresses; the NSG must too
    const allow: Rule = {
      id: 'web-to-db',
      action: 'allow',
      from: [{ kind: 'labels', match: labelSet({ role: 'web' }), expressions: [], global: false }],
      to: [{ kind: 'labels', match: labelSet({ role: 'db' }), expressions: [], global: false }],
      services: [{ protocol: 6, ports: { lo: 5432, hi: 5432 } }],
      emergency: false,
    }
    const ps: PolicySet = {
      policies: [{ name: 'p', owner: 't', scope: labelSet(), rules: [allow], file: 'p.yaml' }],
      enforcement: [{ selector: { kind: 'any' }, mode: 'enforce' }],
    }
    const r = azureNsgCompiler.compile(inv, ps, { now: new Date(AT), loadBalancerProbes: false })
    const state = readAzureNsg(r.artefacts.find((a) => a.path === AZURE_NSG_FILE)?.content ?? '')
    for (const src of ['10.1.0.1', '20.0.0.1']) {
      const tuple = { src, dst: '10.1.0.3', protocol: 6, dstPort: 5432, at: AT }
      expect(evaluate(inv, ps, tuple).decision, src).toBe('allowed')
      expect(azureNsgDecide(state, inv, tuple), src).toBe('allowed')
    }
  })
})
