/**
 * @module Held-out cases of the aws-sg semantics checker ({@link awsSgDecide}): small security
 * groups written by hand as the Terraform JSON the target emits, each flow's answer worked out
 * by hand from the AWS documentation (quoted beside each case), never from Bulkhead. They check
 * the checker against the cloud, independently of the compiler; the property tests then check
 * the compiler against the checker.
 *
 * Sources: VPC User Guide "Security group rules" (https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html),
 * EC2 API `IpPermission` (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpPermission.html),
 * VPC User Guide "Internetwork traffic privacy" (https://docs.aws.amazon.com/vpc/latest/userguide/VPC_Security.html).
 */
import { describe, expect, it } from 'vitest'
import {
  AWS_SG_FILE,
  awsSgCompiler,
  awsSgDecide,
  type CompileResult,
} from '../../src/compile/index.js'
import {
  labelSet,
  parseCidr,
  type Cidr,
  type Inventory,
  type PolicySet,
  type Rule,
  type Selector,
} from '../../src/core/index.js'
import { evaluate } from '../../src/policy/evaluate.js'

const AT = Date.UTC(2026, 10, 22, 12)
const lbl = (role: string): Selector => ({
  kind: 'labels',
  match: labelSet({ role }),
  expressions: [],
  global: false,
})

/**
 * a and b carry groups A and B; c has no group (not enforced); a also holds an Elastic IP,
 * listed in the inventory (flow logs show it), which is not an address of its interface.
 */
const INV: Inventory = {
  workloads: [
    {
      name: 'a',
      addresses: [{ ip: '10.0.1.10' }, { ip: '2001:db8:1::10' }, { ip: '54.0.0.10' }],
      labels: labelSet({ role: 'a' }),
    },
    {
      name: 'b',
      addresses: [{ ip: '10.0.1.20' }, { ip: '2001:db8:1::20' }],
      labels: labelSet({ role: 'b' }),
    },
    { name: 'c', addresses: [{ ip: '10.0.1.30' }], labels: labelSet({ role: 'c' }) },
  ],
  externals: [],
  labelRules: [],
}

type Peer = { cidr_ipv4: string } | { cidr_ipv6: string } | { group: string }
interface HandRule {
  readonly ip_protocol: string
  readonly from_port?: number
  readonly to_port?: number
  readonly peer: Peer
}
interface HandGroup {
  readonly ingress?: readonly HandRule[]
  readonly egress?: readonly HandRule[]
}

/** The Terraform JSON of hand-written groups, in the shape render.ts writes. */
function tf(groups: Record<string, HandGroup>, members: Record<string, string>): CompileResult {
  const ref = (g: string): string => `\${aws_security_group.${g}.id}`
  const rules: Record<'ingress' | 'egress', Record<string, unknown>> = { ingress: {}, egress: {} }
  let n = 0
  for (const [g, spec] of Object.entries(groups))
    for (const dir of ['ingress', 'egress'] as const)
      for (const r of spec[dir] ?? []) {
        const { peer, ...service } = r
        rules[dir][`r${String(n++)}`] = {
          security_group_id: ref(g),
          ...service,
          ...('group' in peer ? { referenced_security_group_id: ref(peer.group) } : peer),
        }
      }
  const doc = {
    locals: {
      bulkhead_workload_security_group: Object.fromEntries(
        Object.entries(members).map(([w, g]) => [w, ref(g)]),
      ),
    },
    resource: {
      aws_security_group: Object.fromEntries(Object.keys(groups).map((g) => [g, { name: g }])),
      aws_vpc_security_group_ingress_rule: rules.ingress,
      aws_vpc_security_group_egress_rule: rules.egress,
    },
  }
  return { artefacts: [{ path: AWS_SG_FILE, content: JSON.stringify(doc) }], diagnostics: [] }
}

const decide = (r: CompileResult, src: string, dst: string, protocol: number, dstPort: number) =>
  awsSgDecide(r, INV, { src, dst, protocol, dstPort, at: AT })

const ALL_OUT: HandRule[] = [
  { ip_protocol: '-1', peer: { cidr_ipv4: '0.0.0.0/0' } },
  { ip_protocol: '-1', peer: { cidr_ipv6: '::/0' } },
]

describe('aws-sg checker against the AWS documentation (hand-worked cases)', () => {
  it('1. a referenced group admits its members on the rule protocol and port range only', () => {
    // "When you specify a security group as the source for a rule, traffic is allowed from the
    // network interfaces that are associated with the source security group for the specified
    // protocol and port."
    const r = tf(
      {
        A: {
          egress: [{ ip_protocol: 'tcp', from_port: 5432, to_port: 5433, peer: { group: 'B' } }],
        },
        B: {
          ingress: [{ ip_protocol: 'tcp', from_port: 5432, to_port: 5432, peer: { group: 'A' } }],
        },
      },
      { a: 'A', b: 'B' },
    )
    expect(decide(r, '10.0.1.10', '10.0.1.20', 6, 5432)).toBe('allowed')
    expect(decide(r, '10.0.1.10', '10.0.1.20', 6, 5433)).toBe('denied') // B's ingress: 5432 only
    expect(decide(r, '10.0.1.10', '10.0.1.20', 17, 5432)).toBe('denied') // tcp only
    expect(decide(r, '10.0.1.20', '10.0.1.10', 6, 5432)).toBe('denied') // B has no egress
    // a group with no egress rule (Terraform removed the default) sends nothing, even to an
    // unfiltered peer: "If your security group has no outbound rules, no outbound traffic is allowed."
    expect(decide(r, '10.0.1.10', '10.0.1.30', 6, 5432)).toBe('denied')
  })

  it('2. a side without a group does not filter; rules of one group are a union', () => {
    // c is not enforced: only B's ingress decides c -> b.
    const r = tf(
      {
        B: {
          ingress: [
            {
              ip_protocol: 'tcp',
              from_port: 22,
              to_port: 22,
              peer: { cidr_ipv4: '203.0.113.0/24' },
            },
            { ip_protocol: 'tcp', from_port: 22, to_port: 22, peer: { cidr_ipv4: '10.0.1.30/32' } },
          ],
        },
      },
      { b: 'B' },
    )
    expect(decide(r, '10.0.1.30', '10.0.1.20', 6, 22)).toBe('allowed')
    expect(decide(r, '203.0.113.5', '10.0.1.20', 6, 22)).toBe('allowed')
    expect(decide(r, '198.51.100.7', '10.0.1.20', 6, 22)).toBe('denied')
    // neither side has a group: nothing of the file decides
    expect(decide(r, '10.0.1.30', '198.51.100.7', 6, 22)).toBeUndefined()
  })

  it('3. ip_protocol -1 is every protocol and port, of the rule CIDR family only', () => {
    // IpPermission: "Use -1 to specify all protocols."
    const r = tf(
      { B: { ingress: [{ ip_protocol: '-1', peer: { cidr_ipv4: '10.0.1.0/24' } }] } },
      { b: 'B' },
    )
    expect(decide(r, '10.0.1.30', '10.0.1.20', 6, 1)).toBe('allowed')
    expect(decide(r, '10.0.1.30', '10.0.1.20', 17, 9999)).toBe('allowed')
    expect(decide(r, '10.0.1.30', '10.0.1.20', 47, 0)).toBe('allowed') // GRE
    expect(decide(r, '10.0.1.30', '10.0.1.20', 1, 8)).toBe('allowed')
    expect(decide(r, '10.0.2.30', '10.0.1.20', 6, 1)).toBe('denied')
    // an IPv4 CIDR matches no IPv6 source
    expect(decide(r, '2001:db8:2::1', '2001:db8:1::20', 6, 1)).toBe('denied')
  })

  it('4. icmp: from_port is the ICMP type (-1 every type), IPv4 only; icmpv6 for IPv6', () => {
    // IpPermission FromPort: "If the protocol is ICMP or ICMPv6, this is the ICMP type or -1
    // (all ICMP types)."
    const r = tf(
      {
        B: {
          ingress: [
            { ip_protocol: 'icmp', from_port: 8, to_port: -1, peer: { cidr_ipv4: '0.0.0.0/0' } },
            { ip_protocol: 'icmpv6', from_port: 128, to_port: -1, peer: { cidr_ipv6: '::/0' } },
          ],
        },
        A: {
          ingress: [
            { ip_protocol: 'icmp', from_port: -1, to_port: -1, peer: { cidr_ipv4: '0.0.0.0/0' } },
          ],
        },
      },
      { a: 'A', b: 'B' },
    )
    expect(decide(r, '10.0.1.30', '10.0.1.20', 1, 8)).toBe('allowed')
    expect(decide(r, '10.0.1.30', '10.0.1.20', 1, 13)).toBe('denied') // timestamp: another type
    expect(decide(r, '2001:db8:2::1', '2001:db8:1::20', 58, 128)).toBe('allowed')
    expect(decide(r, '2001:db8:2::1', '2001:db8:1::20', 58, 8)).toBe('denied')
    // icmp -1: every ICMP type, still not TCP
    expect(decide(r, '10.0.1.30', '10.0.1.10', 1, 13)).toBe('allowed')
    expect(decide(r, '10.0.1.30', '10.0.1.10', 6, 8)).toBe('denied')
  })

  it('5. another protocol number: every port, whatever range the rule gives', () => {
    // IpPermission: "specifying -1 or a protocol number other than tcp, udp, icmp, or icmpv6
    // allows traffic on all ports, regardless of any port range you specify."
    const r = tf(
      {
        B: {
          ingress: [
            { ip_protocol: '47', from_port: 0, to_port: 0, peer: { cidr_ipv4: '10.0.1.30/32' } },
          ],
        },
      },
      { b: 'B' },
    )
    expect(decide(r, '10.0.1.30', '10.0.1.20', 47, 0)).toBe('allowed')
    expect(decide(r, '10.0.1.30', '10.0.1.20', 47, 1234)).toBe('allowed')
    expect(decide(r, '10.0.1.30', '10.0.1.20', 6, 0)).toBe('denied')
  })

  it('6. tcp, udp, icmp given by number keep their ports and types', () => {
    // The same sentence: only a number *other than* tcp, udp, icmp, icmpv6 drops the ports; the
    // API takes "the IP protocol name (tcp, udp, icmp, icmpv6) or number", so 6 is tcp.
    const r = tf(
      {
        B: {
          ingress: [
            { ip_protocol: '6', from_port: 22, to_port: 22, peer: { cidr_ipv4: '10.0.1.30/32' } },
            { ip_protocol: '1', from_port: 8, to_port: -1, peer: { cidr_ipv4: '10.0.1.30/32' } },
          ],
        },
      },
      { b: 'B' },
    )
    expect(decide(r, '10.0.1.30', '10.0.1.20', 6, 22)).toBe('allowed')
    expect(decide(r, '10.0.1.30', '10.0.1.20', 6, 80)).toBe('denied')
    expect(decide(r, '10.0.1.30', '10.0.1.20', 1, 8)).toBe('allowed')
    expect(decide(r, '10.0.1.30', '10.0.1.20', 1, 13)).toBe('denied')
  })

  it('7. a self-reference admits the members of the same group', () => {
    const r = tf(
      {
        A: {
          ingress: [{ ip_protocol: 'tcp', from_port: 7000, to_port: 7001, peer: { group: 'A' } }],
          egress: [{ ip_protocol: 'tcp', from_port: 7000, to_port: 7001, peer: { group: 'A' } }],
        },
      },
      { a: 'A', b: 'A' },
    )
    expect(decide(r, '10.0.1.20', '10.0.1.10', 6, 7001)).toBe('allowed')
    expect(decide(r, '10.0.1.20', '10.0.1.10', 6, 7002)).toBe('denied')
    expect(decide(r, '10.0.1.30', '10.0.1.10', 6, 7000)).toBe('denied') // c is not a member
  })

  it('8. a referenced group matches its members private addresses, not their Elastic IPs', () => {
    // "Incoming traffic is allowed based on the private IP addresses of the network interfaces
    // that are associated with the source security group (and not the public IP or Elastic IP
    // addresses)."
    const r = tf(
      {
        A: { egress: ALL_OUT },
        B: {
          ingress: [{ ip_protocol: 'tcp', from_port: 443, to_port: 443, peer: { group: 'A' } }],
        },
      },
      { a: 'A', b: 'B' },
    )
    expect(decide(r, '10.0.1.10', '10.0.1.20', 6, 443)).toBe('allowed')
    // a reached b over the internet: the packet carries a's Elastic IP, no rule of B holds it
    expect(decide(r, '54.0.0.10', '10.0.1.20', 6, 443)).toBe('denied')
  })

  it('9. link-local addresses (instance metadata, time sync) are not filtered', () => {
    // "Amazon security groups and network ACLs don't filter traffic to or from link-local
    // addresses (169.254.0.0/16) or AWS-reserved IPv4 addresses"
    const r = tf({ A: { egress: [] }, B: { ingress: [] } }, { a: 'A', b: 'B' })
    expect(decide(r, '10.0.1.10', '169.254.169.254', 6, 80)).toBe('allowed')
    expect(decide(r, '10.0.1.10', '169.254.169.123', 17, 123)).toBe('allowed')
    expect(decide(r, '169.254.1.1', '10.0.1.20', 6, 22)).toBe('allowed')
    expect(decide(r, '10.0.1.10', '10.0.1.20', 6, 22)).toBe('denied')
  })

  it('10. a policy that denies instance metadata is not enforced: the compiler says so', () => {
    // the model denies a -> 169.254.169.254 tcp/80 (the deny, and default deny); AWS does not
    // filter it (case 9), so the compiler warns where the policy names link-local addresses
    const imds: Selector = {
      kind: 'cidr',
      cidr: parseCidr('169.254.169.254/32') as Cidr,
      except: [],
    }
    const ps = (rules: Rule[]): PolicySet => ({
      policies: [{ name: 'p', owner: 't', scope: labelSet(), rules, file: 'p.yaml' }],
      enforcement: [{ selector: { kind: 'any' }, mode: 'enforce' }],
    })
    const deny: Rule = {
      id: 'no-imds',
      action: 'deny',
      from: [{ kind: 'any' }],
      to: [imds],
      services: [{ protocol: 6, ports: { lo: 80, hi: 80 } }],
      emergency: false,
    }
    const tuple = { src: '10.0.1.10', dst: '169.254.169.254', protocol: 6, dstPort: 80, at: AT }
    expect(evaluate(INV, ps([deny]), tuple).decision).toBe('denied')
    const r = awsSgCompiler.compile(INV, ps([deny]), { now: new Date(AT) })
    expect(awsSgDecide(r, INV, tuple)).toBe('allowed')
    const warned = r.diagnostics.filter((d) => d.code === 'compile/platform-traffic-unfiltered')
    expect(warned.map((d) => d.message.split(':')[0])).toEqual(['p/no-imds'])
    // a policy that does not name link-local gets no such warning
    const quiet = awsSgCompiler.compile(INV, ps([]), { now: new Date(AT) })
    expect(quiet.diagnostics.map((d) => d.code)).not.toContain(
      'compile/platform-traffic-unfiltered',
    )
  })

  it('11. the compiler gives a member Elastic IP its own rule beside the group reference', () => {
    // case 8 with the compiler: a -> b tcp/443 allowed by the model from every address of a
    const allow: Rule = {
      id: 'a-to-b',
      action: 'allow',
      from: [lbl('a')],
      to: [lbl('b')],
      services: [{ protocol: 6, ports: { lo: 443, hi: 443 } }],
      emergency: false,
    }
    const ps: PolicySet = {
      policies: [{ name: 'p', owner: 't', scope: labelSet(), rules: [allow], file: 'p.yaml' }],
      enforcement: [{ selector: { kind: 'any' }, mode: 'enforce' }],
    }
    const r = awsSgCompiler.compile(INV, ps, { now: new Date(AT) })
    for (const src of ['10.0.1.10', '54.0.0.10', '2001:db8:1::10'])
      for (const dst of ['10.0.1.20', '2001:db8:1::20']) {
        const tuple = { src, dst, protocol: 6, dstPort: 443, at: AT }
        if (src.includes(':') !== dst.includes(':')) continue
        expect(evaluate(INV, ps, tuple).decision, `${src} -> ${dst}`).toBe('allowed')
        expect(awsSgDecide(r, INV, tuple), `${src} -> ${dst}`).toBe('allowed')
      }
    expect(r.artefacts[0]?.content).toContain('"cidr_ipv4": "54.0.0.10/32"')
  })
})
