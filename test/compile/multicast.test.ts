/**
 * A rule to a multicast group (mDNS `224.0.0.251/32`, `ff02::fb/128`) on the targets: the host
 * targets filter it on the source's egress, where the group is the destination address; the
 * cluster targets and Azure, whose networks carry no multicast or broadcast, refuse it by name
 * (`multicast-broadcast`) rather than compile it into nothing.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  labelSet,
  parseCidr,
  type Cidr,
  type External,
  type Inventory,
  type PolicySet,
  type Rule,
  type Selector,
} from '../../src/core/index.js'
import {
  awsSgCompiler,
  azureNsgCompiler,
  calicoCompiler,
  ciliumCompiler,
  decideIptables,
  decidePacket,
  iptablesCompiler,
  kubernetesCompiler,
  nftablesCompiler,
  parseIptables,
  parseRuleset,
  planHosts,
  requiredCapabilities,
  type ParsedRuleset,
  UnsupportedByTargetError,
} from '../../src/compile/index.js'
import { evaluate, resolveEntity } from '../../src/policy/evaluate.js'
import {
  ALL_IPS,
  inventoryArb,
  ruleArb,
  SEED,
  selectorArb,
  serviceArb,
  TIMES,
} from '../helpers/model.js'
import { internetSelectors } from '../../src/recommend/index.js'

const NOW = new Date(Date.UTC(2026, 10, 22, 12))
const cidr = (t: string): Cidr => parseCidr(t) as Cidr
const INV: Inventory = {
  workloads: [
    {
      name: 'kiosk-1',
      addresses: [{ ip: '10.5.0.11' }, { ip: '2001:db8:5::11' }],
      labels: labelSet({ role: 'kiosk', app: 'store', namespace: 'store' }),
    },
  ],
  externals: [],
  labelRules: [],
}
const rule = (id: string, to: string): Rule => ({
  id,
  action: 'allow',
  emergency: false,
  from: [{ kind: 'labels', match: labelSet({ role: 'kiosk' }), expressions: [], global: false }],
  to: [{ kind: 'cidr', cidr: cidr(to), except: [] }],
  services: [{ protocol: 17, ports: { lo: 5353, hi: 5353 } }],
})
const SET: PolicySet = {
  policies: [
    {
      name: 'store',
      owner: 'team-store',
      scope: labelSet({ app: 'store' }),
      rules: [rule('kiosk-mdns', '224.0.0.251/32'), rule('kiosk-mdns6', 'ff02::fb/128')],
      file: 'policy/store.yaml',
    },
  ],
  enforcement: [{ selector: { kind: 'any' }, mode: 'enforce' }],
}

describe('a rule to a multicast group on the targets', () => {
  it('needs multicast-broadcast only when its block lies inside multicast or is the broadcast', () => {
    expect(requiredCapabilities(rule('a', '224.0.0.251/32'), [])).toContain('multicast-broadcast')
    expect(requiredCapabilities(rule('b', 'ff02::fb/128'), [])).toContain('multicast-broadcast')
    expect(requiredCapabilities(rule('c', '255.255.255.255/32'), [])).toContain(
      'multicast-broadcast',
    )
    expect(requiredCapabilities(rule('d', '0.0.0.0/0'), [])).not.toContain('multicast-broadcast')
    expect(requiredCapabilities(rule('e', '223.255.255.255/32'), [])).not.toContain(
      'multicast-broadcast',
    )
  })

  it('nftables: accepted on the source host egress to the group and port only, as the model says', () => {
    const r = nftablesCompiler.compile(INV, SET, { now: NOW })
    const text = r.artefacts.find((a) => a.host === 'kiosk-1')?.content ?? ''
    expect(text).toMatch(/224\.0\.0\.251 : jump out_v4_c\d/)
    expect(text).toMatch(/ff02::fb : jump out_v6_c\d/)
    const rs = parseRuleset(text)
    for (const [dst, port, src, decision] of [
      ['224.0.0.251', 5353, '10.5.0.11', 'allowed'],
      ['224.0.0.252', 5353, '10.5.0.11', 'denied'],
      ['224.0.0.251', 5355, '10.5.0.11', 'denied'],
      ['ff02::fb', 5353, '2001:db8:5::11', 'allowed'],
      ['ff05::fb', 5353, '2001:db8:5::11', 'denied'],
    ] as const) {
      const p = { src, dst, protocol: 17, dstPort: port }
      const want = evaluate(INV, SET, { ...p, at: NOW.getTime() }).decision
      expect(want, `${dst} udp/${port}`).toBe(decision)
      expect(decidePacket(rs, 'egress', p), `${dst} udp/${port}`).toBe(
        want === 'allowed' ? 'accept' : 'drop',
      )
    }
  })

  it('iptables: an ipset entry to the group /32', () => {
    const r = iptablesCompiler.compile(INV, SET, { now: NOW })
    const sets = r.artefacts.find((a) => a.path.endsWith('.ipset'))?.content ?? ''
    expect(sets).toContain('10.5.0.11,udp:5353,224.0.0.251/32')
    expect(sets).toContain('2001:db8:5::11,udp:5353,ff02::fb/128')
  })

  for (const compiler of [
    kubernetesCompiler,
    ciliumCompiler,
    calicoCompiler,
    azureNsgCompiler,
    awsSgCompiler,
  ]) {
    it(`${compiler.target}: refuses it as unsupported-by-target multicast-broadcast`, () => {
      let err: unknown
      try {
        compiler.compile(INV, SET, { now: NOW })
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(UnsupportedByTargetError)
      const u = err as UnsupportedByTargetError
      expect(u.unsupported).toEqual([
        { rule: { policy: 'store', id: 'kiosk-mdns' }, capability: 'multicast-broadcast' },
        { rule: { policy: 'store', id: 'kiosk-mdns6' }, capability: 'multicast-broadcast' },
      ])
      expect(u.diagnostics.map((d) => d.code)).toEqual([
        'compile/unsupported-by-target',
        'compile/unsupported-by-target',
      ])
    })
  }
})

describe('every selector that names only groups or the broadcast needs multicast-broadcast', () => {
  const ext = (name: string, block: string): External => ({
    name,
    cidr: cidr(block),
    labels: labelSet(),
  })
  const kiosk: Selector = {
    kind: 'labels',
    match: labelSet({ role: 'kiosk' }),
    expressions: [],
    global: false,
  }
  const to = (sel: Selector): Rule => ({
    id: 'r',
    action: 'allow',
    emergency: false,
    from: [kiosk],
    to: [sel],
    services: [{ protocol: 17, ports: { lo: 5353, hi: 5353 } }],
  })
  const needs = (sel: Selector, externals: readonly External[] = []): boolean =>
    requiredCapabilities(to(sel), externals).includes('multicast-broadcast')
  const byName = (name: string): Selector => ({ kind: 'external', name })
  const block = (c: string, except: string[] = []): Selector => ({
    kind: 'cidr',
    cidr: cidr(c),
    except: except.map(cidr),
  })

  it('a named external over a group, the groups or the broadcast, by name', () => {
    expect(needs(byName('mdns'), [ext('mdns', '224.0.0.251/32')])).toBe(true)
    expect(needs(byName('mdns6'), [ext('mdns6', 'ff02::fb/128')])).toBe(true)
    expect(needs(byName('bcast'), [ext('bcast', '255.255.255.255/32')])).toBe(true)
    expect(needs(byName('groups'), [ext('groups', '224.0.0.0/4')])).toBe(true)
    // on the from side as well
    expect(
      requiredCapabilities({ ...to(kiosk), from: [byName('mdns')] }, [
        ext('mdns', '224.0.0.251/32'),
      ]),
    ).toContain('multicast-broadcast')
    // a unicast external does not; nor an unknown name (a load error before compile)
    expect(needs(byName('bank'), [ext('bank', '198.51.100.0/24')])).toBe(false)
    expect(needs(byName('nobody'), [ext('mdns', '224.0.0.251/32')])).toBe(false)
  })

  it('a named external as the evaluator resolves it: less the externals that win over it', () => {
    // 224.0.0.0/3 is 224.0.0.0 – 255.255.255.255; class-e (longer prefix) takes 240.0.0.0/4,
    // so the name reaches 224.0.0.0/4 alone: only groups
    const de = [ext('class-d-e', '224.0.0.0/3'), ext('class-e', '240.0.0.0/4')]
    expect(needs(byName('class-d-e'), de)).toBe(true)
    expect(needs(byName('class-e'), de)).toBe(false)
    // 192.0.0.0/2 covers the groups but reaches unicast addresses too (192.0.0.0 – 223.255.255.255
    // and class E): it compiles into something that works, as 0.0.0.0/0 does
    const wide = [ext('wide', '192.0.0.0/2'), ext('groups', '224.0.0.0/4')]
    expect(needs(byName('wide'), wide)).toBe(false)
    expect(needs(byName('groups'), wide)).toBe(true)
    expect(needs(byName('wide'), [ext('wide', '192.0.0.0/2')])).toBe(false)
    // the second external of one block matches nothing (the first in inventory order wins)
    const twice = [ext('first', '224.0.0.251/32'), ext('second', '224.0.0.251/32')]
    expect(needs(byName('first'), twice)).toBe(true)
    expect(needs(byName('second'), twice)).toBe(false)
  })

  it('a cidr with except: what is left of the block', () => {
    expect(needs(block('224.0.0.0/3', ['240.0.0.0/4']))).toBe(true)
    expect(needs(block('255.255.255.254/31', ['255.255.255.254/32']))).toBe(true)
    expect(needs(block('ff00::/8', ['ff02::/16']))).toBe(true)
    expect(needs(block('224.0.0.0/4', ['224.0.0.0/24']))).toBe(true)
    // 192.0.0.0/2 less 192.0.0.0/3 is 224.0.0.0/3: groups and class E
    expect(needs(block('192.0.0.0/2', ['192.0.0.0/3']))).toBe(false)
    expect(needs(block('255.255.255.254/31'))).toBe(false)
  })

  it('not any, not the whole space, not the internet selector (which leaves the groups out)', () => {
    expect(needs({ kind: 'any' })).toBe(false)
    expect(needs(block('0.0.0.0/0'))).toBe(false)
    expect(needs(block('::/0'))).toBe(false)
    for (const sel of internetSelectors()) expect(needs(sel)).toBe(false)
  })

  const inv: Inventory = {
    ...INV,
    externals: [ext('mdns-group', '224.0.0.251/32'), ext('bank', '198.51.100.0/24')],
  }
  const set: PolicySet = {
    ...SET,
    policies: [
      {
        ...(SET.policies[0] as PolicySet['policies'][number]),
        rules: [
          { ...to(byName('mdns-group')), id: 'kiosk-mdns-by-name' },
          { ...to(byName('bank')), id: 'kiosk-bank' },
        ],
      },
    ],
  }

  it('the model allows the group through the external, as through its block', () => {
    const at = NOW.getTime()
    const v = (dst: string) =>
      evaluate(inv, set, { src: '10.5.0.11', dst, protocol: 17, dstPort: 5353, at }).decision
    expect(v('224.0.0.251')).toBe('allowed')
    expect(v('224.0.0.252')).toBe('denied')
  })

  for (const compiler of [
    kubernetesCompiler,
    ciliumCompiler,
    calicoCompiler,
    azureNsgCompiler,
    awsSgCompiler,
  ]) {
    it(`${compiler.target}: refuses a rule to the group by its external's name`, () => {
      let err: unknown
      try {
        compiler.compile(inv, set, { now: NOW })
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(UnsupportedByTargetError)
      const u = err as UnsupportedByTargetError
      expect(u.unsupported).toEqual([
        { rule: { policy: 'store', id: 'kiosk-mdns-by-name' }, capability: 'multicast-broadcast' },
      ])
      expect(u.diagnostics.map((d) => d.code)).toEqual(['compile/unsupported-by-target'])
      expect(u.diagnostics[0]?.message).toContain('external mdns-group = 224.0.0.251/32')
    })
  }

  it('nftables: compiles it, to the group on the egress', () => {
    const r = nftablesCompiler.compile(inv, set, { now: NOW })
    const rs = parseRuleset(r.artefacts.find((a) => a.host === 'kiosk-1')?.content ?? '')
    const p = { src: '10.5.0.11', dst: '224.0.0.251', protocol: 17, dstPort: 5353 }
    expect(decidePacket(rs, 'egress', p)).toBe('accept')
    expect(decidePacket(rs, 'egress', { ...p, dst: '224.0.0.252' })).toBe('drop')
  })
})

/**
 * The receivers of group traffic. The model judges a packet to a group or the broadcast as the
 * flow from its sender to that address; the host targets enforce that one verdict at the
 * sender's egress and at the ingress of every host that receives the packet (DESIGN.md rule 5).
 * Expected verdicts are computed by hand from the rules below, then checked against the
 * reference evaluator and against the rendered rulesets of the receiving host.
 */
describe('receivers: a host ingress judges a group packet as the model judges its flow', () => {
  const host = (name: string, v4: string, v6: string, role: string) => ({
    name,
    addresses: [{ ip: v4 }, { ip: v6 }],
    labels: labelSet({ role, app: 'store' }),
  })
  const inv: Inventory = {
    workloads: [
      host('kiosk-1', '10.5.0.11', '2001:db8:5::11', 'kiosk'),
      host('laptop-1', '10.5.0.12', '2001:db8:5::12', 'laptop'),
    ],
    externals: [],
    labelRules: [],
  }
  const kiosk: Selector = {
    kind: 'labels',
    match: labelSet({ role: 'kiosk' }),
    expressions: [],
    global: false,
  }
  const block = (c: string): Selector => ({ kind: 'cidr', cidr: cidr(c), except: [] })
  const r = (
    id: string,
    from: Selector[],
    to: Selector[],
    port: number,
    action: 'allow' | 'deny' = 'allow',
  ): Rule => ({
    id,
    action,
    emergency: false,
    from,
    to,
    services: [{ protocol: 17, ports: { lo: port, hi: port } }],
  })
  const rules = [
    r('kiosk-mdns', [kiosk], [block('224.0.0.251/32'), block('ff02::fb/128')], 5353),
    r('kiosk-dhcp', [kiosk], [block('255.255.255.255/32')], 67),
    r('streams', [kiosk], [block('239.0.0.0/8')], 5000),
    r('no-org-local', [kiosk], [block('239.255.0.0/16')], 5000, 'deny'),
    r('anywhere', [kiosk], [{ kind: 'any' }], 6000),
    r('ssdp', [kiosk, block('10.5.0.99/32')], [block('239.255.255.250/32')], 1900),
  ]
  const setWith = (laptopMode: 'enforce' | 'monitor'): PolicySet => ({
    policies: [
      {
        name: 'store',
        owner: 'team-store',
        scope: labelSet({ app: 'store' }),
        rules,
        file: 'policy/store.yaml',
      },
    ],
    enforcement: [
      { selector: { kind: 'workload', name: 'laptop-1', global: true }, mode: laptopMode },
      { selector: { kind: 'any' }, mode: 'enforce' },
    ],
  })
  // [source, destination, udp port, the model's decision (by hand), the host receiving it]
  const CASES = [
    ['10.5.0.11', '224.0.0.251', 5353, 'allowed', 'laptop-1'],
    ['10.5.0.12', '224.0.0.251', 5353, 'denied', 'kiosk-1'], // no rule from laptops
    ['10.5.0.11', '224.0.0.251', 5354, 'denied', 'laptop-1'],
    ['10.5.0.11', '224.0.0.252', 5353, 'denied', 'laptop-1'],
    ['2001:db8:5::11', 'ff02::fb', 5353, 'allowed', 'laptop-1'],
    ['10.5.0.11', '255.255.255.255', 67, 'allowed', 'laptop-1'],
    ['10.5.0.11', '255.255.255.255', 68, 'denied', 'laptop-1'],
    ['10.5.0.11', '239.1.2.3', 5000, 'allowed', 'laptop-1'],
    ['10.5.0.11', '239.255.1.1', 5000, 'denied', 'laptop-1'], // the deny wins
    ['10.5.0.11', '239.255.1.1', 6000, 'allowed', 'laptop-1'], // to any: every group too
    ['10.5.0.11', '225.9.9.9', 6000, 'allowed', 'laptop-1'],
    ['2001:db8:5::11', 'ff05::fb', 6000, 'allowed', 'laptop-1'],
    ['10.5.0.99', '239.255.255.250', 1900, 'allowed', 'laptop-1'], // an unmanaged sender
    ['10.5.0.99', '239.255.255.250', 1900, 'allowed', 'kiosk-1'],
    ['10.5.0.98', '239.255.255.250', 1900, 'denied', 'laptop-1'],
    // unicast is judged as before: the group rules open nothing to the host's own addresses
    ['10.5.0.11', '10.5.0.12', 6000, 'allowed', 'laptop-1'],
    ['10.5.0.11', '10.5.0.12', 5353, 'denied', 'laptop-1'],
    ['10.5.0.99', '10.5.0.12', 1900, 'denied', 'laptop-1'],
  ] as const
  const at = NOW.getTime()

  it('the reference evaluator gives the hand-computed verdicts', () => {
    for (const [src, dst, port, want] of CASES)
      expect(
        evaluate(inv, setWith('enforce'), { src, dst, protocol: 17, dstPort: port, at }).decision,
        `${src} -> ${dst} udp/${port}`,
      ).toBe(want)
  })

  it('nftables: the receiving host accepts what the model allows, drops (monitor: records) the rest', () => {
    for (const mode of ['enforce', 'monitor'] as const) {
      const out = nftablesCompiler.compile(inv, setWith(mode), { now: NOW, antiLockout: false })
      const rs = new Map(out.artefacts.map((a) => [a.host, parseRuleset(a.content)]))
      for (const [src, dst, port, want, receiver] of CASES) {
        const p = { src, dst, protocol: 17, dstPort: port }
        const deny = receiver === 'laptop-1' && mode === 'monitor' ? 'record' : 'drop'
        expect(
          decidePacket(rs.get(receiver) as ParsedRuleset, 'ingress', p),
          `${mode} ${receiver}: ${src} -> ${dst} udp/${port}`,
        ).toBe(want === 'allowed' ? 'accept' : deny)
        // and the sender, where it is a host, lets out what the model allows
        const sender = src === '10.5.0.11' || src === '2001:db8:5::11' ? 'kiosk-1' : undefined
        if (sender)
          expect(decidePacket(rs.get(sender) as ParsedRuleset, 'egress', p)).toBe(
            want === 'allowed' ? 'accept' : 'drop',
          )
      }
    }
  })

  it('iptables: the same, from the ipset and rules files', () => {
    for (const mode of ['enforce', 'monitor'] as const) {
      const out = iptablesCompiler.compile(inv, setWith(mode), { now: NOW, antiLockout: false })
      const files = new Map<string, string[]>()
      for (const a of out.artefacts)
        if (!a.path.endsWith('.sh'))
          files.set(a.host ?? '', [...(files.get(a.host ?? '') ?? []), a.content])
      for (const [src, dst, port, want, receiver] of CASES) {
        const rs = parseIptables(files.get(receiver) ?? [])
        const deny = receiver === 'laptop-1' && mode === 'monitor' ? 'record' : 'drop'
        expect(
          decideIptables(rs, 'ingress', { src, dst, protocol: 17, dstPort: port }),
          `${mode} ${receiver}: ${src} -> ${dst} udp/${port}`,
        ).toBe(want === 'allowed' ? 'accept' : deny)
      }
    }
  })

  it('the receiving ruleset looks the group up on the destination, with its senders', () => {
    const out = nftablesCompiler.compile(inv, setWith('enforce'), { now: NOW, antiLockout: false })
    const text = out.artefacts.find((a) => a.host === 'laptop-1')?.content ?? ''
    expect(text).toContain('ip daddr 224.0.0.251 ip saddr vmap @in_v4_g')
    expect(text).toContain('ip daddr 255.255.255.255 ip saddr vmap @in_v4_g')
    expect(text).toContain('ip6 daddr ff02::fb ip6 saddr vmap @in_v6_g')
    // a group no allow rule reaches is not looked up: it falls to the drop
    const { plans } = planHosts(
      inv,
      {
        ...setWith('enforce'),
        policies: [
          {
            ...(setWith('enforce').policies[0] as PolicySet['policies'][number]),
            rules: [rules[0] as Rule],
          },
        ],
      },
      { now: NOW, antiLockout: false },
    )
    expect(plans[1]?.maps.ingress[4].groups.map((g) => [g.dst.lo, g.dst.hi])).toEqual([
      [0xe00000fbn, 0xe00000fbn],
    ])
    expect(plans[1]?.maps.egress[4].groups).toEqual([])
  })

  it('connection protocols to a group are not accepted by receivers: no host sends or takes them', () => {
    // kiosk may reach any address on tcp/443 and udp/53 (a rule as wide as 0.0.0.0/0 is)
    const wide = r('wide', [kiosk], [block('0.0.0.0/0')], 53)
    const tcp: Rule = {
      ...wide,
      id: 'wide-tcp',
      services: [{ protocol: 6, ports: { lo: 443, hi: 443 } }],
    }
    const ps: PolicySet = {
      ...setWith('enforce'),
      policies: [
        {
          ...(setWith('enforce').policies[0] as PolicySet['policies'][number]),
          rules: [wide, tcp],
        },
      ],
    }
    const v = (protocol: number, dstPort: number) =>
      evaluate(inv, ps, { src: '10.5.0.11', dst: '224.0.0.5', protocol, dstPort, at }).decision
    expect(v(17, 53)).toBe('allowed')
    expect(v(6, 443)).toBe('allowed') // the model: the rule's block holds the group
    const out = nftablesCompiler.compile(inv, ps, { now: NOW, antiLockout: false })
    const rs = parseRuleset(out.artefacts.find((a) => a.host === 'laptop-1')?.content ?? '')
    const p = { src: '10.5.0.11', dst: '224.0.0.5', protocol: 17, dstPort: 53 }
    expect(decidePacket(rs, 'ingress', p)).toBe('accept')
    // Linux refuses connect() to a group (ENETUNREACH) and discards such a segment after the
    // firewall (RFC 1122 §4.2.3.10): the receiver does not carry the senders of tcp/443
    expect(decidePacket(rs, 'ingress', { ...p, protocol: 6, dstPort: 443 })).toBe('drop')
    const { plans } = planHosts(
      inv,
      { ...ps, policies: [{ ...(ps.policies[0] as PolicySet['policies'][number]), rules: [tcp] }] },
      { now: NOW, antiLockout: false },
    )
    expect(plans[1]?.maps.ingress[4].groups).toEqual([])
  })
})

describe('receivers, differential: every host judges group packets as the model does', () => {
  const GROUP_SELECTORS: readonly Selector[] = [
    '224.0.0.251/32',
    '224.0.0.0/4',
    '239.0.0.0/8',
    '239.255.0.0/16',
    '255.255.255.255/32',
    '0.0.0.0/0',
    'ff02::fb/128',
    'ff00::/8',
    '::/0',
  ].map((c) => ({ kind: 'cidr' as const, cidr: cidr(c), except: [] }))
  const SERVICES = [
    [17, 5353],
    [17, 1900],
    [17, 53],
    [6, 80],
    [1, 8],
    [58, 128],
    [58, 135],
  ] as const
  const groupRuleArb = (id: string): fc.Arbitrary<Rule> =>
    fc.record({
      id: fc.constant(id),
      action: fc.constantFrom('allow' as const, 'allow' as const, 'deny' as const),
      emergency: fc.constant(false),
      from: fc.array(selectorArb, { minLength: 1, maxLength: 2 }),
      to: fc.array(
        fc.oneof(
          { weight: 3, arbitrary: fc.constantFrom(...GROUP_SELECTORS) },
          { weight: 1, arbitrary: fc.constant<Selector>({ kind: 'any' }) },
          { weight: 1, arbitrary: selectorArb },
        ),
        { minLength: 1, maxLength: 2 },
      ),
      services: fc.array(
        fc.oneof(
          fc.constantFrom(...SERVICES).map(([protocol, port]) => ({
            protocol,
            ports: { lo: port, hi: port },
          })),
          serviceArb,
        ),
        { minLength: 1, maxLength: 2 },
      ),
    })
  const GROUPS = [
    '224.0.0.251',
    '224.0.0.252',
    '239.1.2.3',
    '239.255.1.1',
    '255.255.255.255',
    'ff02::fb',
    'ff05::c',
  ]
  const SENDERS = [...ALL_IPS, '10.0.0.99', '2001:db8::ff']

  it('nftables and iptables, at the sender egress and every other host ingress', () => {
    let judged = 0
    let allowed = 0
    fc.assert(
      fc.property(
        inventoryArb,
        fc.array(groupRuleArb('g'), { minLength: 1, maxLength: 5 }),
        fc.array(ruleArb('r'), { maxLength: 2 }),
        fc.constantFrom(...TIMES),
        (inventory, groupRules, other, at) => {
          const rules = [...groupRules, ...other].map((x, i) => ({ ...x, id: `r${i}` }))
          const ps: PolicySet = {
            policies: [{ name: 'p', owner: 't', scope: labelSet(), rules, file: 'p.yaml' }],
            enforcement: [{ selector: { kind: 'any' }, mode: 'enforce' }],
          }
          const opts = { now: new Date(at), antiLockout: false, maxTimeSlices: 1 }
          const nft = nftablesCompiler.compile(inventory, ps, opts).artefacts
          const ipt = iptablesCompiler.compile(inventory, ps, opts).artefacts
          const hosts = nft.map((a) => ({
            name: a.host ?? '',
            nft: parseRuleset(a.content),
            ipt: parseIptables(
              ipt.filter((b) => b.host === a.host && !b.path.endsWith('.sh')).map((b) => b.content),
            ),
          }))
          for (const src of SENDERS)
            for (const dst of GROUPS) {
              if (src.includes(':') !== dst.includes(':')) continue
              // and IGMP (link control: allowed whatever the rules), probed only
              for (const [protocol, dstPort] of [...SERVICES, [2, 0] as const]) {
                if (protocol === (src.includes(':') ? 1 : 58)) continue
                const tuple = { src, dst, protocol, dstPort, at }
                const want = evaluate(inventory, ps, tuple).decision
                const sender = resolveEntity(inventory, src, at)
                for (const h of hosts) {
                  const own = sender.kind === 'workload' && sender.workload.name === h.name
                  const dir = own ? 'egress' : 'ingress'
                  // no host sends TCP to a group or accepts it so addressed: receivers drop it
                  const connection = protocol === 6
                  const expected =
                    want === 'allowed' && !(connection && dir === 'ingress') ? 'accept' : 'drop'
                  const where = `${h.name} ${dir}: ${src} -> ${dst} ${protocol}/${dstPort}`
                  expect(decidePacket(h.nft, dir, tuple), `nftables ${where}`).toBe(expected)
                  expect(decideIptables(h.ipt, dir, tuple), `iptables ${where}`).toBe(expected)
                  judged++
                  if (want === 'allowed') allowed++
                }
              }
            }
        },
      ),
      { seed: SEED, numRuns: 30, endOnFailure: true },
    )
    // both verdicts are exercised
    expect(allowed).toBeGreaterThan(100)
    expect(judged - allowed).toBeGreaterThan(100)
  }, 120_000)
})
