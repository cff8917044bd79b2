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
  type Inventory,
  type PolicySet,
  type Rule,
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
