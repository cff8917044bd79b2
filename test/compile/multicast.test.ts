/**
 * A rule to a multicast group (mDNS `224.0.0.251/32`, `ff02::fb/128`) on the targets: the host
 * targets filter it on the source's egress, where the group is the destination address; the
 * cluster targets and Azure, whose networks carry no multicast or broadcast, refuse it by name
 * (`multicast-broadcast`) rather than compile it into nothing.
 */
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
  azureNsgCompiler,
  calicoCompiler,
  ciliumCompiler,
  decidePacket,
  iptablesCompiler,
  kubernetesCompiler,
  nftablesCompiler,
  parseRuleset,
  requiredCapabilities,
  UnsupportedByTargetError,
} from '../../src/compile/index.js'
import { evaluate } from '../../src/policy/evaluate.js'
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
    expect(requiredCapabilities(rule('a', '224.0.0.251/32'))).toContain('multicast-broadcast')
    expect(requiredCapabilities(rule('b', 'ff02::fb/128'))).toContain('multicast-broadcast')
    expect(requiredCapabilities(rule('c', '255.255.255.255/32'))).toContain('multicast-broadcast')
    expect(requiredCapabilities(rule('d', '0.0.0.0/0'))).not.toContain('multicast-broadcast')
    expect(requiredCapabilities(rule('e', '223.255.255.255/32'))).not.toContain(
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

  for (const compiler of [kubernetesCompiler, ciliumCompiler, calicoCompiler, azureNsgCompiler]) {
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

  for (const compiler of [kubernetesCompiler, ciliumCompiler, calicoCompiler, azureNsgCompiler]) {
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
