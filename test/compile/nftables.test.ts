/**
 * @module nftables target: the conformance suite (with the text-level semantics checker),
 * golden files for a fixture workspace, and the options (direction, anti-lockout, modes, hosts).
 */
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import {
  BulkheadError,
  labelSet,
  parseCidr,
  type Cidr,
  type Inventory,
  type PolicySet,
  type Rule,
} from '../../src/core/index.js'
import { resolveEntity } from '../../src/policy/evaluate.js'
import { loadWorkspace } from '../../src/policy/files.js'
import {
  hostFileName,
  MAX_IDENTITY_RULES,
  MIN_IDENTITY_ADDRESSES,
  nftablesCompiler,
  planHosts,
} from '../../src/compile/nftables/compile.js'
import { withAddresses } from '../helpers/model.js'
import { decidePacket, parseRuleset, type ParsedRuleset } from '../../src/compile/nftables/check.js'
import { rangeText, renderHost } from '../../src/compile/nftables/render.js'
import { iptablesCompiler } from '../../src/compile/iptables/compile.js'
import type { CompileResult } from '../../src/compile/target.js'
import {
  CONFORMANCE_INVENTORY,
  runCompileConformance,
  type ConformanceChecker,
} from '../conformance/compile.case.js'
import {
  expectIcmpErrorsRelated,
  expectLinkControlPasses,
  expectSwitchAtSecond,
  expiringWebToDb,
  tcpWebToDb,
  lbl,
  expectProgressPerHost,
  twoHosts,
  webToDb,
} from './two-hosts.js'

const parsedCache = new WeakMap<CompileResult, Map<string, ParsedRuleset>>()

/** Decides a flow from the rendered rulesets: egress of the source host, ingress of the destination host. */
const nftablesChecker: ConformanceChecker = (result, inventory, tuple) => {
  let byHost = parsedCache.get(result)
  if (!byHost) {
    byHost = new Map(result.artefacts.map((a) => [a.host ?? '', parseRuleset(a.content)]))
    parsedCache.set(result, byHost)
  }
  const s = resolveEntity(inventory, tuple.src, tuple.at)
  const d = resolveEntity(inventory, tuple.dst, tuple.at)
  const sh = s.kind === 'workload' ? byHost.get(s.workload.name) : undefined
  const dh = d.kind === 'workload' ? byHost.get(d.workload.name) : undefined
  if (s.kind === 'workload' && d.kind === 'workload' && s.workload.name === d.workload.name)
    return undefined // loopback
  if (!sh && !dh) return undefined
  const verdicts = [
    sh ? decidePacket(sh, 'egress', tuple) : 'accept',
    dh ? decidePacket(dh, 'ingress', tuple) : 'accept',
  ]
  return verdicts.every((v) => v === 'accept') ? 'allowed' : 'denied'
}

runCompileConformance({
  compiler: nftablesCompiler,
  checker: nftablesChecker,
  extraOptions: { antiLockout: false },
  numRuns: 25,
  followsTime: true,
})

describe('peers through identity sets wherever an identity qualifies', () => {
  runCompileConformance({
    compiler: nftablesCompiler,
    checker: nftablesChecker,
    extraOptions: { antiLockout: false, identitySetMinAddresses: 1 },
    numRuns: 25,
  })
})

const FIXTURE = fileURLToPath(new URL('../fixtures/compile-nftables/', import.meta.url))
const NOW = new Date('2026-11-22T12:00:00Z')

describe('nftables golden files', () => {
  it('fixture workspace compiles to the reviewed rulesets', async () => {
    const { inventory, policySet, diagnostics } = await loadWorkspace(FIXTURE, NOW)
    expect(diagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
    const r = nftablesCompiler.compile(inventory, policySet, { now: NOW })
    expect(r.artefacts.map((a) => [a.path, a.mode])).toEqual([
      ['pay-web-1.nft', 'monitor'],
      ['pay-api-1.nft', 'observe'],
      ['pay-db-1.nft', 'enforce'],
      ['dev-api-1.nft', 'observe'],
    ])
    for (const a of r.artefacts) {
      await expect(a.content).toMatchFileSnapshot(`../golden/compile/compile-nftables.${a.path}`)
    }
    const codes = r.diagnostics.map((d) => d.code).sort()
    expect(codes).toEqual([
      'compile/anti-lockout',
      'compile/anti-lockout',
      'compile/expired-rule-omitted',
    ])
    const expired = r.diagnostics.find((d) => d.code === 'compile/expired-rule-omitted')
    expect(expired?.location).toMatchObject({
      file: expect.stringContaining('payments.yaml'),
      line: 23,
    })
  })
  it("a host's file carries the identity sets of its peers and its own, not the inventory's", async () => {
    const { inventory, policySet } = await loadWorkspace(FIXTURE, NOW)
    const r = nftablesCompiler.compile(inventory, policySet, { now: NOW })
    const db = r.artefacts.find((a) => a.path === 'pay-db-1.nft')?.content ?? ''
    const sets = [...db.matchAll(/comment "identity \{[^}]*\}: ([^"]*)"/g)].map((m) => m[1])
    // pay-db-1 is reached by pay-api-1 and talks to pay-web-1; dev-api-1 is neither
    expect(sets).toEqual(expect.arrayContaining(['pay-api-1', 'pay-db-1', 'pay-web-1']))
    expect(sets).not.toContain('dev-api-1')
  })
})

describe('nftables options', () => {
  const now = NOW
  it('direction ingress renders only the input chain; egress only the output chain', () => {
    const i = nftablesCompiler.compile(twoHosts, webToDb('enforce'), { now, direction: 'ingress' })
    const e = nftablesCompiler.compile(twoHosts, webToDb('enforce'), { now, direction: 'egress' })
    // one ruleset per host of the two
    expect(i.artefacts).toHaveLength(2)
    expect(e.artefacts).toHaveLength(2)
    for (const a of i.artefacts) {
      expect(a.content).toContain('chain input {')
      expect(a.content).not.toContain('chain output {')
    }
    for (const a of e.artefacts) {
      expect(a.content).not.toContain('chain input {')
      expect(a.content).toContain('chain output {')
    }
  })

  it('tells onProgress each host as it is rendered, and compiles the same', () => {
    expectProgressPerHost(nftablesCompiler)
  })

  it('anti-lockout is on by default, reported, and off with antiLockout: false', () => {
    const on = nftablesCompiler.compile(twoHosts, webToDb('enforce'), { now })
    expect(on.artefacts[0]?.content).toContain('ip saddr @mgmt_v4 tcp dport 22 accept')
    expect(on.diagnostics.filter((d) => d.code === 'compile/anti-lockout')).toHaveLength(2)
    const mgmt = [parseCidr('192.0.2.0/24') as Cidr]
    const custom = nftablesCompiler.compile(twoHosts, webToDb('enforce'), {
      now,
      managementCidrs: mgmt,
    })
    expect(custom.artefacts[0]?.content).toMatch(/set mgmt_v4 \{[^}]*192\.0\.2\.0\/24/)
    expect(custom.artefacts[0]?.content).not.toContain('mgmt_v6')
    const off = nftablesCompiler.compile(twoHosts, webToDb('enforce'), { now, antiLockout: false })
    expect(off.artefacts[0]?.content).not.toContain('mgmt_')
    expect(off.diagnostics.filter((d) => d.code === 'compile/anti-lockout')).toEqual([])
  })

  it('enforce drops, monitor records and accepts, observe only counts', () => {
    const get = (mode: 'enforce' | 'monitor' | 'observe'): string =>
      nftablesCompiler.compile(twoHosts, webToDb(mode), { now }).artefacts[1]?.content ?? ''
    expect(get('enforce')).toContain('counter name blocked_in drop')
    expect(get('enforce')).not.toContain('wbb_')
    expect(get('monitor')).toContain(
      'update @wbb_in_v4 { ip saddr . ip daddr . meta l4proto . th dport }',
    )
    expect(get('monitor')).toContain('counter name would_block_in accept')
    expect(get('monitor')).not.toContain(' drop')
    const observe = get('observe')
    expect(observe).toContain('counter name seen_in')
    expect(observe).not.toContain('map ')
    expect(observe).not.toContain('drop')
  })

  it('an ICMP error passes as related before any rule; other ICMP types meet the rules', () => {
    const r = nftablesCompiler.compile(twoHosts, webToDb('enforce'), { now, antiLockout: false })
    const b = parseRuleset(r.artefacts.find((a) => a.host === 'b')?.content ?? '')
    expectIcmpErrorsRelated((p) => decidePacket(b, 'egress', p))
  })

  it('link control passes before any rule, not recorded in monitor mode: IGMP between IPv4 addresses, ICMPv6 neighbour discovery', () => {
    expectLinkControlPasses((mode, dir, p) => {
      const r = nftablesCompiler.compile(twoHosts, webToDb(mode), { now, antiLockout: false })
      const b = parseRuleset(r.artefacts.find((a) => a.host === 'b')?.content ?? '')
      return decidePacket(b, dir, p)
    })
  })

  it('the allowed pair is the only peer: per-host maps key on addresses, classes on ports', () => {
    const { plans } = planHosts(twoHosts, webToDb('enforce'), { now, antiLockout: false })
    const b = plans.find((p) => p.host === 'b')
    expect(b?.maps.ingress[4]).toEqual({
      locals: [
        {
          local: 0x0a090002n,
          identities: [],
          exact: [{ peer: { lo: 0x0a090001n, hi: 0x0a090001n }, cls: 0 }],
          ranges: [],
        },
      ],
      // no rule reaches a multicast group or the broadcast: no group destination to receive
      groups: [],
      classes: [{ ports: [{ proto: 6, port: { lo: 5432, hi: 5432 } }], icmp: [], proto: [] }],
    })
    expect(b?.maps.ingress[6].locals.flatMap((l) => [...l.exact, ...l.ranges])).toEqual([])
    const a = plans.find((p) => p.host === 'a')
    expect(a?.maps.egress[4].locals.flatMap((l) => l.exact)).toHaveLength(1)
    expect(a?.maps.ingress[4].locals.flatMap((l) => [...l.exact, ...l.ranges])).toEqual([])
  })

  it('a deny rule punches a hole in the allowed ports', () => {
    const ps = webToDb('enforce')
    const withDeny: PolicySet = {
      ...ps,
      policies: [
        {
          ...(ps.policies[0] as PolicySet['policies'][number]),
          rules: [
            {
              id: 'w2d',
              action: 'allow',
              emergency: false,
              from: [lbl({ role: 'web' })],
              to: [lbl({ role: 'db' })],
              services: [{ protocol: 6, ports: { lo: 5000, hi: 6000 } }],
            },
            {
              id: 'no-5432',
              action: 'deny',
              emergency: false,
              from: [{ kind: 'any' }],
              to: [{ kind: 'any' }],
              services: [{ protocol: 6, ports: { lo: 5432, hi: 5432 } }],
            },
          ],
        },
      ],
    }
    const r = nftablesCompiler.compile(twoHosts, withDeny, {
      now,
      hosts: ['b'],
      antiLockout: false,
    })
    expect(r.artefacts).toHaveLength(1)
    const content = r.artefacts[0]?.content ?? ''
    expect(content).toContain('10.9.0.1 : jump in_v4_c0')
    expect(content).toMatch(/set in_v4_c0_port_ranges \{[^}]*6 \. 5000-5431,\s+6 \. 5433-6000\s/)
    const rs = parseRuleset(r.artefacts[0]?.content ?? '')
    expect(
      decidePacket(rs, 'ingress', { src: '10.9.0.1', dst: '10.9.0.2', protocol: 6, dstPort: 5432 }),
    ).toBe('drop')
    expect(
      decidePacket(rs, 'ingress', { src: '10.9.0.1', dst: '10.9.0.2', protocol: 6, dstPort: 5431 }),
    ).toBe('accept')
  })

  it('a host without an address at compile time is reported', () => {
    const inv: Inventory = {
      ...twoHosts,
      workloads: [
        ...twoHosts.workloads,
        {
          name: 'gone',
          addresses: [{ ip: '10.9.0.9', to: NOW.getTime() - 1 }],
          labels: labelSet(),
        },
      ],
    }
    const r = nftablesCompiler.compile(inv, webToDb('enforce'), { now, hosts: ['gone'] })
    expect(r.diagnostics.map((d) => d.code)).toContain('compile/host-without-address')
    expect(r.diagnostics.find((d) => d.code === 'compile/host-without-address')?.hint).toBeTruthy()
  })

  it('--host naming no workload is compile/unknown-host, with a hint', () => {
    let err: unknown
    try {
      nftablesCompiler.compile(twoHosts, webToDb('enforce'), { now, hosts: ['ghost'] })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(BulkheadError)
    expect((err as BulkheadError).diagnostics).toEqual([
      expect.objectContaining({ code: 'compile/unknown-host', hint: expect.any(String) }),
    ])
  })

  it('file names are safe for any workload name', () => {
    expect(hostFileName('pay-api-1')).toBe('pay-api-1.nft')
    expect(hostFileName('shop/web-5d9f[Deployment]')).toBe('shop_web-5d9f_Deployment_.nft')
    expect(hostFileName('../../etc/passwd')).toBe('__.._etc_passwd.nft')
    expect(hostFileName('')).toBe('_.nft')
    const inv: Inventory = {
      ...CONFORMANCE_INVENTORY,
      workloads: [
        ...CONFORMANCE_INVENTORY.workloads,
        { name: 'web/1', addresses: [{ ip: '10.3.0.1' }], labels: labelSet() },
        { name: 'web_1', addresses: [{ ip: '10.3.0.2' }], labels: labelSet() },
      ],
    }
    const paths = nftablesCompiler
      .compile(inv, { policies: [], enforcement: [] }, { now })
      .artefacts.map((a) => a.path)
    expect(new Set(paths).size).toBe(paths.length)
  })

  /**
   * `n` web workloads per identity (labels role=web, team=t<t>) at 10.8.<t>.1, .3, .5, ... (gaps,
   * so that no two merge into one address range), and the hosts of {@link twoHosts}.
   */
  const webs = (teams: number, n: number): Inventory => ({
    workloads: [
      ...Array.from({ length: teams * n }, (_, i) => ({
        name: `w${i}`,
        addresses: [{ ip: `10.8.${Math.floor(i / n)}.${2 * (i % n) + 1}` }],
        labels: labelSet({ role: 'web', team: `t${Math.floor(i / n)}` }),
      })),
      ...twoHosts.workloads,
    ],
    externals: [],
    labelRules: [],
  })
  const packet = (src: string, dstPort = 5432) => ({ src, dst: '10.9.0.2', protocol: 6, dstPort })

  it('a large identity is matched through its identity set, not one map element per address', () => {
    const inv = webs(1, MIN_IDENTITY_ADDRESSES)
    const r = nftablesCompiler.compile(inv, webToDb('enforce'), {
      now,
      hosts: ['b'],
      antiLockout: false,
    })
    const text = r.artefacts[0]?.content ?? ''
    // id_0 is {role=db} (b), id_1 {role=web} (a, the only web without a team), id_2 {role=web,team=t0}
    expect(text).toContain('ip daddr 10.9.0.2 ip saddr @id_2_v4 jump in_v4_c0')
    expect(text).toMatch(
      /map in_v4_0_peers \{\n {4}type ipv4_addr : verdict\n {4}elements = \{\n {6}10\.9\.0\.1 : jump in_v4_c0\n {4}\}/,
    )
    expect(text).not.toContain('10.8.0.1 : jump')
    const rs = parseRuleset(text)
    expect(decidePacket(rs, 'ingress', packet('10.8.0.1'))).toBe('accept')
    expect(decidePacket(rs, 'ingress', packet('10.8.0.15'))).toBe('accept')
    expect(decidePacket(rs, 'ingress', packet('10.8.0.15', 5433))).toBe('drop')
    expect(decidePacket(rs, 'ingress', packet('10.8.0.2'))).toBe('drop')
    // one address fewer than the threshold: plain peer-map elements
    const small = nftablesCompiler.compile(
      webs(1, MIN_IDENTITY_ADDRESSES - 1),
      webToDb('enforce'),
      {
        now,
        hosts: ['b'],
        antiLockout: false,
      },
    )
    expect(small.artefacts[0]?.content).not.toMatch(/@id_\d+_v4 jump/)
    expect(small.artefacts[0]?.content).toContain('10.8.0.1 : jump in_v4_c0')
  })

  it('identity-set lookups per own address are bounded, whatever the number of identities', () => {
    const teams = MAX_IDENTITY_RULES + 3
    const inv = webs(teams, 2)
    const r = nftablesCompiler.compile(inv, webToDb('enforce'), {
      now,
      hosts: ['b'],
      antiLockout: false,
      identitySetMinAddresses: 1,
    })
    const text = r.artefacts[0]?.content ?? ''
    expect(text.match(/ip daddr 10\.9\.0\.2 ip saddr @id_\d+_v4 jump/g)).toHaveLength(
      MAX_IDENTITY_RULES,
    )
    const rs = parseRuleset(text)
    for (let t = 0; t < teams; t++) {
      expect(decidePacket(rs, 'ingress', packet(`10.8.${t}.3`))).toBe('accept')
      expect(decidePacket(rs, 'ingress', packet(`10.8.${t}.2`))).toBe('drop')
    }
  })

  it('single addresses and single ports use hash sets; ranges alone use interval sets', () => {
    const ps = webToDb('enforce')
    const policy = ps.policies[0] as PolicySet['policies'][number]
    const withCidr: PolicySet = {
      ...ps,
      policies: [
        {
          ...policy,
          rules: [
            ...policy.rules,
            {
              id: 'net',
              action: 'allow',
              emergency: false,
              from: [{ kind: 'cidr', cidr: parseCidr('192.0.2.0/24') as Cidr, except: [] }],
              to: [lbl({ role: 'db' })],
              services: [{ protocol: 17, ports: { lo: 1000, hi: 2000 } }],
            },
          ],
        },
      ],
    }
    const r = nftablesCompiler.compile(twoHosts, withCidr, {
      now,
      hosts: ['b'],
      antiLockout: false,
    })
    const text = r.artefacts[0]?.content ?? ''
    const block = (head: string): string => {
      const i = text.indexOf(`  ${head} {`)
      return i < 0 ? '' : text.slice(i, text.indexOf('\n  }', i))
    }
    expect(block('map in_v4_0_peers')).not.toContain('flags interval')
    expect(block('map in_v4_0_peers')).toContain('10.9.0.1 : jump in_v4_c0')
    expect(block('map in_v4_0_ranges')).toContain('flags interval')
    expect(block('map in_v4_0_ranges')).toContain('192.0.2.0/24 : jump in_v4_c1')
    expect(block('set in_v4_c0_ports')).not.toContain('flags interval')
    expect(block('set in_v4_c0_ports')).toContain('6 . 5432')
    expect(block('set in_v4_c1_port_ranges')).toContain('flags interval')
    expect(block('set in_v4_c1_port_ranges')).toContain('17 . 1000-2000')
    expect(text).not.toMatch(/ipv4_addr \. ipv4_addr/)
    const rs = parseRuleset(text)
    const udp = (src: string, dstPort: number) => ({ src, dst: '10.9.0.2', protocol: 17, dstPort })
    expect(decidePacket(rs, 'ingress', udp('192.0.2.77', 1500))).toBe('accept')
    expect(decidePacket(rs, 'ingress', udp('192.0.2.77', 2001))).toBe('drop')
    expect(decidePacket(rs, 'ingress', udp('10.9.0.1', 1500))).toBe('drop')
  })

  it('the checker refuses rules it does not understand', () => {
    const text =
      nftablesCompiler.compile(twoHosts, webToDb('enforce'), { now }).artefacts[1]?.content ?? ''
    const odd = text.replace(
      'counter name blocked_in drop',
      'tcp dport 80 accept\n    counter name blocked_in drop',
    )
    expect(() => decidePacket(parseRuleset(odd), 'ingress', packet('10.9.0.99'))).toThrow(
      /unsupported rule/,
    )
  })

  it('address ranges render as blocks where they are blocks', () => {
    expect(rangeText(4, { lo: 0n, hi: 0xffffffffn })).toBe('0.0.0.0/0')
    expect(rangeText(4, { lo: 0x0a000000n, hi: 0x0a0000ffn })).toBe('10.0.0.0/24')
    expect(rangeText(4, { lo: 0x0a000001n, hi: 0x0a0000ffn })).toBe('10.0.0.1-10.0.0.255')
    expect(rangeText(6, { lo: 1n, hi: 1n })).toBe('::1')
  })
})

describe('nftables: time slices, chosen by the kernel clock', () => {
  const now = NOW
  const T = NOW.getTime()
  /** 1.5 s after NOW: not a whole second, so the kernel switches at NOW + 2 s. */
  const expires = T + 86_400_000 + 1500
  const tcp = tcpWebToDb

  it('an expiring allow and an expiring deny switch at the next whole second, on meta time in UTC seconds', () => {
    const r = nftablesCompiler.compile(twoHosts, expiringWebToDb('enforce', expires), {
      now,
      antiLockout: false,
    })
    expect(r.diagnostics.map((d) => d.code)).not.toContain('compile/expires-later')
    const switchAt = T + 86_400_000 + 2000
    expect(r.timeSlicing?.starts).toEqual([switchAt])
    const b = r.artefacts.find((a) => a.host === 'b')?.content ?? ''
    expect(b).toContain(`    meta time < ${switchAt / 1000} jump input_t0\n`)
    expect(b).toContain(`    meta time >= ${switchAt / 1000} jump input_t1\n`)
    expect(b).toContain('# time slices: 2')
    const rs = parseRuleset(b)
    expectSwitchAtSecond((port, at) => decidePacket(rs, 'ingress', tcp(port, at)), T, expires)
    // the time is needed
    const { at: _at, ...timeless } = tcp(5432, 0)
    expect(() => decidePacket(rs, 'ingress', timeless)).toThrow(/time/)
  })

  it("slices share what they have in common: a chain or set equal to an earlier slice's is not repeated", () => {
    const r = nftablesCompiler.compile(twoHosts, expiringWebToDb('enforce', expires), {
      now,
      antiLockout: false,
    })
    const a = r.artefacts.find((x) => x.host === 'a')?.content ?? ''
    // a's input has no peer in either slice: one chain, no time test
    expect(a).not.toContain('chain input_t1 {')
    expect(a).toMatch(/chain input \{\n.*\n.*\n {4}jump input_t0\n {2}\}/)
    // its output changes (5432 then 6432); the identity sets are equal in both slices
    expect(a).toContain('chain output_t1 {')
    expect(a).toContain('set id_0_v4_t0 {')
    expect(a).not.toContain('set id_0_v4_t1')
    const rs = parseRuleset(a)
    const T2 = T + 86_400_000 * 2
    expect(decidePacket(rs, 'egress', tcp(5432, T))).toBe('accept')
    expect(decidePacket(rs, 'egress', tcp(5432, T2))).toBe('drop')
    expect(decidePacket(rs, 'egress', tcp(6432, T2))).toBe('accept')
  })

  it('monitor mode: one set of would-be-blocked sets and counters for every slice', () => {
    const r = nftablesCompiler.compile(twoHosts, expiringWebToDb('monitor', expires), { now })
    const b = r.artefacts.find((x) => x.host === 'b')?.content ?? ''
    expect(b.match(/ set wbb_in_v4 \{/g)).toHaveLength(1)
    expect(b.match(/ counter would_block_in \{\}/g)).toHaveLength(1)
    expect(b.match(/ set mgmt_v4 \{/g)).toHaveLength(1)
    expect(b.match(/update @wbb_in_v4 /g)).toHaveLength(2)
    const rs = parseRuleset(b)
    const T2 = T + 86_400_000 * 2
    expect(decidePacket(rs, 'ingress', tcp(5432, T))).toBe('accept')
    expect(decidePacket(rs, 'ingress', tcp(5432, T2))).toBe('record')
    expect(decidePacket(rs, 'ingress', tcp(6432, T))).toBe('record')
    expect(decidePacket(rs, 'ingress', tcp(6432, T2))).toBe('accept')
  })

  it('an address that a workload holds only later is matched from then on, IPv6 too', () => {
    const later = T + 3_600_000
    const inv = withAddresses(twoHosts, 'a', () => [
      { ip: '10.9.0.1', to: later },
      { ip: '2001:db8::1', from: later },
    ])
    const r = nftablesCompiler.compile(inv, webToDb('enforce'), { now, antiLockout: false })
    expect(r.diagnostics.map((d) => d.code)).not.toContain('compile/address-bound-later')
    const rs = parseRuleset(r.artefacts.find((x) => x.host === 'b')?.content ?? '')
    const v6 = (at: number) => ({ ...tcp(5432, at), src: '2001:db8::1', dst: '2001:db8::2' })
    expect(decidePacket(rs, 'ingress', tcp(5432, T))).toBe('accept')
    expect(decidePacket(rs, 'ingress', v6(T))).toBe('drop')
    expect(decidePacket(rs, 'ingress', tcp(5432, later))).toBe('drop')
    expect(decidePacket(rs, 'ingress', v6(later))).toBe('accept')
  })

  it('--max-time-slices bounds the slices; the changes beyond are warnings saying so; 1 gives the file of the compile instant alone', () => {
    const ps = expiringWebToDb('enforce', expires)
    const extra: PolicySet = {
      ...ps,
      policies: ps.policies.map((p) => ({
        ...p,
        rules: [
          ...p.rules,
          { ...(p.rules[1] as Rule), id: 'later', expires: expires + 86_400_000 },
        ],
      })),
    }
    const two = nftablesCompiler.compile(twoHosts, extra, { now, maxTimeSlices: 2 })
    expect(two.timeSlicing?.starts).toHaveLength(1)
    const warned = two.diagnostics.filter((d) => d.code === 'compile/expires-later')
    expect(warned).toHaveLength(1)
    expect(warned[0]?.message).toMatch(/later.*--max-time-slices 2/)
    expect(two.timeSlicing?.recompileAt).toBe(expires + 86_400_000)
    const one = nftablesCompiler.compile(twoHosts, extra, { now, maxTimeSlices: 1 })
    const { plans } = planHosts(twoHosts, extra, { now })
    expect(one.artefacts.map((x) => x.content)).toEqual(plans.map((p) => renderHost(p)))
    expect(one.diagnostics.filter((d) => d.code === 'compile/expires-later')).toHaveLength(3)
  })
})

describe('IPv6 extension headers (ah, proto/0, 43, 44, 60): rules that match no IPv6 packet', () => {
  const base = webToDb('enforce')
  const rule = (id: string, action: 'allow' | 'deny', protocol: number, from?: Cidr): Rule => ({
    id,
    action,
    emergency: false,
    from: [from ? { kind: 'cidr', cidr: from, except: [] } : lbl({ role: 'web' })],
    to: [lbl({ role: 'db' })],
    services: [protocol === 256 ? { protocol: 'any' } : { protocol, ports: { lo: 0, hi: 65535 } }],
  })
  const policy = (rules: Rule[]): PolicySet => ({
    ...base,
    policies: [{ ...(base.policies[0] as PolicySet['policies'][number]), rules }],
  })
  const rules = [
    rule('ipsec-ah', 'allow', 51),
    rule('no-frag', 'deny', 44),
    rule('everything', 'allow', 256),
    rule('esp', 'allow', 50),
    rule('ah-from-v4', 'allow', 51, parseCidr('10.0.0.0/8') as Cidr),
  ]
  const warned = (inv: Inventory, compiler: typeof nftablesCompiler) =>
    compiler
      .compile(inv, policy(rules), { now: NOW })
      .diagnostics.filter((d) => d.code === 'compile/ipv6-extension-header')

  it('are named, for nftables and iptables, where a host holds an IPv6 address', () => {
    for (const compiler of [nftablesCompiler, iptablesCompiler]) {
      const ds = warned(twoHosts, compiler)
      expect(ds.map((d) => d.message.split(' ')[1])).toEqual(['p/ipsec-ah', 'p/no-frag'])
      expect(ds.every((d) => d.severity === 'warning' && d.hint !== undefined)).toBe(true)
    }
  })

  it('are not named when no compiled host holds an IPv6 address', () => {
    const v4: Inventory = {
      ...twoHosts,
      workloads: twoHosts.workloads.map((w) => ({
        ...w,
        addresses: w.addresses.filter((a) => !a.ip.includes(':')),
      })),
    }
    expect(warned(v4, nftablesCompiler)).toEqual([])
  })
})
