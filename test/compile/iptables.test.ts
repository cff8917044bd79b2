/**
 * @module iptables target: the conformance suite (with the text-level semantics checker over
 * the ipset and iptables-restore files), golden files for the nftables fixture workspace, the
 * modes, the ipset form of address ranges, and agreement with the nftables target's checker.
 */
import fc from 'fast-check'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { cidrRange, parseCidr, type Cidr, type PolicySet } from '../../src/core/index.js'
import { resolveEntity } from '../../src/policy/evaluate.js'
import { loadWorkspace } from '../../src/policy/files.js'
import { iptablesCompiler } from '../../src/compile/iptables/compile.js'
import {
  decideIptables,
  parseIptables,
  type ParsedIptables,
} from '../../src/compile/iptables/check.js'
import { rangeToCidrs } from '../../src/core/index.js'
import { ALL_CAPABILITIES, type CompileResult } from '../../src/compile/target.js'
import { runCompileConformance, type ConformanceChecker } from '../conformance/compile.case.js'
import {
  expectIcmpErrorsRelated,
  expectLinkControlPasses,
  expectSwitchAtSecond,
  expiringWebToDb,
  tcpWebToDb,
  expectProgressPerHost,
  twoHosts,
  webToDb,
} from './two-hosts.js'
import { nftablesCompiler } from '../../src/compile/nftables/compile.js'
import { SEED } from '../helpers/model.js'
import { inventoryOf, workload } from '../helpers/workloads.js'

const parsedCache = new WeakMap<CompileResult, Map<string, ParsedIptables>>()

/** Parses each host's three artefacts once per compile result. */
function byHost(result: CompileResult): Map<string, ParsedIptables> {
  let m = parsedCache.get(result)
  if (!m) {
    const files = new Map<string, string[]>()
    for (const a of result.artefacts)
      files.set(a.host ?? '', [...(files.get(a.host ?? '') ?? []), a.content])
    m = new Map([...files].map(([h, f]) => [h, parseIptables(f)]))
    parsedCache.set(result, m)
  }
  return m
}

/** Decides a flow from the rendered files: egress chain of the source host, ingress chain of the destination host. */
const iptablesChecker: ConformanceChecker = (result, inventory, tuple) => {
  const hosts = byHost(result)
  const s = resolveEntity(inventory, tuple.src, tuple.at)
  const d = resolveEntity(inventory, tuple.dst, tuple.at)
  if (s.kind === 'workload' && d.kind === 'workload' && s.workload.name === d.workload.name)
    return undefined // loopback
  const sh = s.kind === 'workload' ? hosts.get(s.workload.name) : undefined
  const dh = d.kind === 'workload' ? hosts.get(d.workload.name) : undefined
  if (!sh && !dh) return undefined
  const verdicts = [
    sh ? decideIptables(sh, 'egress', tuple) : 'accept',
    dh ? decideIptables(dh, 'ingress', tuple) : 'accept',
  ]
  return verdicts.every((v) => v === 'accept') ? 'allowed' : 'denied'
}

runCompileConformance({
  compiler: iptablesCompiler,
  checker: iptablesChecker,
  extraOptions: { antiLockout: false },
  numRuns: 25,
  followsTime: true,
})

const FIXTURE = fileURLToPath(new URL('../fixtures/compile-nftables/', import.meta.url))
const NOW = new Date('2026-11-22T12:00:00Z')

describe('iptables golden files', () => {
  it('fixture workspace compiles to the reviewed ipset and rules files', async () => {
    const { inventory, policySet } = await loadWorkspace(FIXTURE, NOW)
    const r = iptablesCompiler.compile(inventory, policySet, { now: NOW })
    expect(r.artefacts.map((a) => [a.path, a.host, a.mode])).toEqual(
      [
        ['pay-web-1', 'monitor'],
        ['pay-api-1', 'observe'],
        ['pay-db-1', 'enforce'],
        ['dev-api-1', 'observe'],
      ].flatMap(([h, m]) =>
        ['.ipset', '.rules.v4', '.rules.v6', '.apply.sh'].map((s) => [`${h}${s}`, h, m]),
      ),
    )
    for (const a of r.artefacts)
      await expect(a.content).toMatchFileSnapshot(`../golden/compile/compile-iptables.${a.path}`)
    expect(r.diagnostics.map((d) => d.code).sort()).toEqual([
      'compile/anti-lockout',
      'compile/anti-lockout',
      'compile/expired-rule-omitted',
    ])
  })
})

const file = (r: CompileResult, path: string): string =>
  r.artefacts.find((a) => a.path === path)?.content ?? ''

describe('iptables modes and options', () => {
  const now = NOW
  it('enforce drops, monitor records in the wbb ipset then accepts, observe only counts', () => {
    const e = iptablesCompiler.compile(twoHosts, webToDb('enforce'), { now })
    const m = iptablesCompiler.compile(twoHosts, webToDb('monitor'), { now })
    const o = iptablesCompiler.compile(twoHosts, webToDb('observe'), { now })
    expect(file(e, 'b.rules.v4')).toContain('-A BULKHEAD-IN -j DROP')
    expect(file(e, 'b.rules.v4')).toContain('-A BULKHEAD-IN -m conntrack --ctstate INVALID -j DROP')
    expect(file(m, 'b.rules.v4')).toContain(
      '-A BULKHEAD-IN -j SET --add-set bh-wbb-in-v4 src,dst,dst --exist\n-A BULKHEAD-IN -j ACCEPT',
    )
    expect(file(m, 'b.rules.v4')).not.toContain('-j DROP')
    expect(file(m, 'b.ipset')).toContain(
      'create bh-wbb-in-v6 hash:ip,port,ip family inet6 timeout 3600 maxelem 65536 -exist',
    )
    expect(file(o, 'b.rules.v4')).not.toMatch(/-j (DROP|ACCEPT|SET)/)
    const pkt = { src: '10.9.0.1', dst: '10.9.0.2', protocol: 6 }
    const decide = (r: CompileResult, port: number): string =>
      decideIptables(byHost(r).get('b') as ParsedIptables, 'ingress', { ...pkt, dstPort: port })
    expect([decide(e, 5432), decide(e, 5433)]).toEqual(['accept', 'drop'])
    expect([decide(m, 5432), decide(m, 5433)]).toEqual(['accept', 'record'])
    expect([decide(o, 5432), decide(o, 5433)]).toEqual(['accept', 'accept'])
  })

  it('an ICMP error is RELATED and passes before any rule; other ICMP types meet the rules', () => {
    const e = byHost(iptablesCompiler.compile(twoHosts, webToDb('enforce'), { now }))
    expectIcmpErrorsRelated((p) => decideIptables(e.get('b') as ParsedIptables, 'egress', p))
  })

  it('link control passes before any rule, not recorded in monitor mode: IGMP between IPv4 addresses, ICMPv6 neighbour discovery', () => {
    expectLinkControlPasses((mode, dir, p) => {
      const e = byHost(iptablesCompiler.compile(twoHosts, webToDb(mode), { now }))
      return decideIptables(e.get('b') as ParsedIptables, dir, p)
    })
  })

  it('single ports go into one hash:ip,port,net service set, ranges into per-port rules', () => {
    const r = iptablesCompiler.compile(twoHosts, webToDb('enforce'), { now, antiLockout: false })
    const rules = file(r, 'b.rules.v4')
      .split('\n')
      .filter((l) => l.includes('--match-set'))
    expect(rules).toEqual(['-A BULKHEAD-IN -m set --match-set bh-in-v4-svc dst,dst,src -j ACCEPT'])
    expect(file(r, 'b.ipset')).toContain(
      'create bh-in-v4-svc.n hash:ip,port,net family inet maxelem 4194304 -exist\nflush bh-in-v4-svc.n\nadd bh-in-v4-svc.n 10.9.0.2,tcp:5432,10.9.0.1/32\nswap bh-in-v4-svc.n bh-in-v4-svc',
    )
    expect(file(r, 'b.rules.v6')).not.toContain('--match-set')
    expect(file(r, 'a.rules.v4')).toContain(
      '-A BULKHEAD-OUT -m set --match-set bh-out-v4-svc src,dst,dst -j ACCEPT',
    )
    const ranged = webToDb('enforce')
    const rule = ranged.policies[0]?.rules[0]
    const wide: PolicySet = {
      ...ranged,
      policies: [
        {
          ...(ranged.policies[0] as PolicySet['policies'][number]),
          rules: [
            {
              ...(rule as NonNullable<typeof rule>),
              services: [{ protocol: 6, ports: { lo: 8000, hi: 8100 } }],
            },
          ],
        },
      ],
    }
    const w = iptablesCompiler.compile(twoHosts, wide, { now, antiLockout: false })
    expect(file(w, 'b.rules.v4')).toContain(
      '-A BULKHEAD-IN -d 10.9.0.2/32 -p tcp -m tcp --dport 8000:8100 -m set --match-set bh-in-v4-0 src -j ACCEPT',
    )
    expect(file(w, 'b.ipset')).toContain('add bh-in-v4-0.n 10.9.0.1/32')
  })

  it("a host's files carry only its own rules' peers: a workload that is nobody's peer adds nothing", () => {
    const withC = inventoryOf(
      ...twoHosts.workloads,
      workload('c', ['10.9.0.3', '2001:db8::3'], { role: 'batch' }),
    )
    const before = iptablesCompiler.compile(twoHosts, webToDb('enforce'), { now })
    const after = iptablesCompiler.compile(withC, webToDb('enforce'), { now })
    for (const path of ['b.ipset', 'b.rules.v4', 'b.rules.v6', 'b.apply.sh'])
      expect(file(after, path), path).toBe(file(before, path))
    expect(file(after, 'c.ipset')).not.toContain('10.9.0.1')
  })

  it('tells onProgress each host as it is rendered, and compiles the same', () => {
    expectProgressPerHost(iptablesCompiler)
  })

  it('direction and anti-lockout options carry over from the nftables plan', () => {
    const i = iptablesCompiler.compile(twoHosts, webToDb('enforce'), { now, direction: 'ingress' })
    expect(file(i, 'b.rules.v4')).toContain(':BULKHEAD-IN - [0:0]')
    expect(file(i, 'b.rules.v4')).not.toContain('-A BULKHEAD-OUT') // declared (emptied), no rule
    expect(file(i, 'b.rules.v4')).toContain('--match-set bh-mgmt-v4 src -j ACCEPT')
    expect(file(i, 'b.ipset')).toContain('add bh-mgmt-v4.n 192.168.0.0/16')
    const mgmt = [parseCidr('192.0.2.0/24') as Cidr]
    const c = iptablesCompiler.compile(twoHosts, webToDb('enforce'), { now, managementCidrs: mgmt })
    expect(file(c, 'b.ipset')).toContain('add bh-mgmt-v4.n 192.0.2.0/24')
    expect(file(c, 'b.rules.v6')).not.toContain('bh-mgmt-v6')
    const off = iptablesCompiler.compile(twoHosts, webToDb('enforce'), { now, antiLockout: false })
    expect(file(off, 'b.rules.v4')).not.toContain('bh-mgmt')
    const m = iptablesCompiler.compile(twoHosts, webToDb('monitor'), { now, monitorTimeout: 60 })
    expect(file(m, 'a.ipset')).toContain(
      'create bh-wbb-out-v4 hash:ip,port,ip family inet timeout 60',
    )
  })

  it('ICMP type 255 is matched exactly (u32), never as --icmp-type 255, which the kernel reads as any', () => {
    // allow every ICMP type but timestamp (13): the allowed types are listed one per rule
    const base = webToDb('enforce')
    const rule = base.policies[0]?.rules[0] as NonNullable<
      PolicySet['policies'][number]['rules'][number]
    >
    const icmp: PolicySet = {
      ...base,
      policies: [
        {
          ...(base.policies[0] as PolicySet['policies'][number]),
          rules: [
            { ...rule, services: [{ protocol: 1, ports: { lo: 0, hi: 255 } }] },
            {
              ...rule,
              id: 'no-timestamp',
              action: 'deny',
              services: [{ protocol: 1, ports: { lo: 13, hi: 13 } }],
            },
          ],
        },
      ],
    }
    const r = iptablesCompiler.compile(twoHosts, icmp, { now, antiLockout: false })
    const rules = file(r, 'b.rules.v4')
    expect(rules).not.toMatch(/--icmp-type (255|any)\b/)
    expect(rules).toContain('-p icmp -m u32 --u32 "0>>22&0x3C@0>>24=255"')
    const decide = (type: number): string =>
      decideIptables(byHost(r).get('b') as ParsedIptables, 'ingress', {
        src: '10.9.0.1',
        dst: '10.9.0.2',
        protocol: 1,
        dstPort: type,
      })
    expect([decide(8), decide(13), decide(254), decide(255)]).toEqual([
      'accept',
      'drop',
      'accept',
      'accept',
    ])
    // the checker reads a bare --icmp-type 255 as the kernel does: every type
    const any = parseIptables([
      '*filter\n:BULKHEAD-IN - [0:0]\n-A BULKHEAD-IN -p icmp -m icmp --icmp-type 255 -j ACCEPT\n-A BULKHEAD-IN -j DROP\nCOMMIT\n',
    ])
    const pkt = { src: '10.9.0.1', dst: '10.9.0.2', protocol: 1, dstPort: 13 }
    expect(decideIptables(any, 'ingress', pkt)).toBe('accept')
  })

  it('IP protocol 0 is matched exactly on IPv4 (u32), never left out nor as -p 0 (s13/hR D10)', () => {
    const base = webToDb('enforce')
    const rule = base.policies[0]?.rules[0] as NonNullable<
      PolicySet['policies'][number]['rules'][number]
    >
    const withRules = (rules: (typeof rule)[]): PolicySet => ({
      ...base,
      policies: [{ ...(base.policies[0] as PolicySet['policies'][number]), rules }],
    })
    const decide = (r: CompileResult, src: string, protocol: number): string =>
      decideIptables(byHost(r).get('b') as ParsedIptables, 'ingress', {
        src,
        dst: '10.9.0.2',
        protocol,
        dstPort: 0,
      })
    // proto/0 alone, and `any` minus a denied tcp/443 (which keeps protocol 0)
    const zero = withRules([{ ...rule, services: [{ protocol: 0, ports: { lo: 0, hi: 65535 } }] }])
    const anyBut = withRules([
      { ...rule, services: [{ protocol: 'any' }] },
      {
        ...rule,
        id: 'no-443',
        action: 'deny',
        services: [{ protocol: 6, ports: { lo: 443, hi: 443 } }],
      },
    ])
    for (const ps of [zero, anyBut]) {
      const r = iptablesCompiler.compile(twoHosts, ps, { now, antiLockout: false })
      expect(file(r, 'b.rules.v4')).toContain('-m u32 --u32 "6&0xFF=0"')
      expect(file(r, 'b.rules.v4')).not.toMatch(/-p 0\b/)
      expect(file(r, 'b.rules.v6')).not.toMatch(/-p 0\b|6&0xFF/)
      expect([decide(r, '10.9.0.1', 0), decide(r, '10.9.0.7', 0)]).toEqual(['accept', 'drop'])
    }
    const r = iptablesCompiler.compile(twoHosts, zero, { now, antiLockout: false })
    expect([decide(r, '10.9.0.1', 47), decide(r, '10.9.0.1', 6)]).toEqual(['drop', 'drop'])
    // the checker reads `-p 0` as iptables does: every protocol
    const all = parseIptables([
      '*filter\n:BULKHEAD-IN - [0:0]\n-A BULKHEAD-IN -p 0 -j ACCEPT\n-A BULKHEAD-IN -j DROP\nCOMMIT\n',
    ])
    const pkt = { src: '10.9.0.1', dst: '10.9.0.2', protocol: 47, dstPort: 0 }
    expect(decideIptables(all, 'ingress', pkt)).toBe('accept')
  })

  it('writes no IPv6 rule for an extension header, which ip6tables -p never matches (s35/hB)', () => {
    // ip6tables-restore warns "never matched protocol: 43" for -p 43, 44, 51, 60: the kernel skips
    // those headers to the upper-layer protocol, so such a rule is dead and its warning noise
    const inv = inventoryOf(
      workload('a', ['10.9.0.1', '2001:db8::1'], { role: 'web' }),
      workload('b', ['10.9.0.2', '2001:db8::2'], { role: 'db' }),
    )
    const base = webToDb('enforce')
    const policy = base.policies[0] as PolicySet['policies'][number]
    const rule = policy.rules[0] as PolicySet['policies'][number]['rules'][number]
    const ps: PolicySet = {
      ...base,
      policies: [
        {
          ...policy,
          rules: [
            { ...rule, services: [{ protocol: 'any' }] },
            {
              ...rule,
              id: 'no-443',
              action: 'deny',
              services: [{ protocol: 6, ports: { lo: 443, hi: 443 } }],
            },
          ],
        },
      ],
    }
    const r = iptablesCompiler.compile(inv, ps, { now, antiLockout: false })
    for (const f of ['a.rules.v6', 'b.rules.v6']) {
      expect(file(r, f)).toMatch(/-p 47 /)
      expect(file(r, f)).not.toMatch(/-p (0|43|44|51|60) /)
    }
    // IPv4 keeps them: there they are protocols like any other
    expect(file(r, 'b.rules.v4')).toMatch(/-p 43 /)
    expect(file(r, 'b.rules.v4')).toMatch(/-p 51 /)
  })

  it('is the iptables target and declares every capability, like nftables', () => {
    expect(iptablesCompiler.target).toBe('iptables')
    expect([...iptablesCompiler.capabilities]).toEqual([...ALL_CAPABILITIES])
  })
})

describe('rangeToCidrs', () => {
  it('covers exactly the range with aligned blocks of at least /1', () => {
    const arb = fc.tuple(
      fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }),
      fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }),
    )
    fc.assert(
      fc.property(arb, ([a, b]) => {
        const lo = a < b ? a : b
        const hi = a < b ? b : a
        const blocks = rangeToCidrs(4, { lo, hi }).map((t) => {
          const c = parseCidr(t) as Cidr
          expect(c.prefix).toBeGreaterThanOrEqual(1)
          return cidrRange(c)
        })
        let next = lo
        for (const { first, last } of blocks) {
          expect(first).toBe(next)
          next = last + 1n
        }
        expect(next).toBe(hi + 1n)
        expect(blocks.length).toBeLessThanOrEqual(64)
      }),
      { seed: SEED, numRuns: 300 },
    )
    expect(rangeToCidrs(6, { lo: 0n, hi: (1n << 128n) - 1n })).toEqual(['::/1', '8000::/1'])
  })

  it('with minPrefix 0 writes the whole space as one /0 and every other range as before', () => {
    expect(rangeToCidrs(4, { lo: 0n, hi: (1n << 32n) - 1n }, 0)).toEqual(['0.0.0.0/0'])
    expect(rangeToCidrs(6, { lo: 0n, hi: (1n << 128n) - 1n }, 0)).toEqual(['::/0'])
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 32n) - 2n }), (hi) => {
        expect(rangeToCidrs(4, { lo: 0n, hi }, 0)).toEqual(rangeToCidrs(4, { lo: 0n, hi }))
      }),
      { seed: SEED, numRuns: 100 },
    )
  })
})

describe('iptables: time slices, chosen by the kernel clock (-m time)', () => {
  const now = new Date('2026-11-22T12:00:00Z')
  const T = now.getTime()
  /** 1.5 s after a day: not a whole second, so the rules switch at the next whole second. */
  const expires = T + 86_400_000 + 1500
  const switchAt = T + 86_400_000 + 2000
  const tcp = tcpWebToDb
  const filesOf = (r: CompileResult, host: string): string[] =>
    r.artefacts.filter((a) => a.host === host).map((a) => a.content)

  it('an expiring allow and an expiring deny: each slice has its rules, between inclusive UTC seconds', () => {
    const r = iptablesCompiler.compile(twoHosts, expiringWebToDb('enforce', expires), {
      now,
      antiLockout: false,
    })
    expect(r.diagnostics.map((d) => d.code)).not.toContain('compile/expires-later')
    expect(r.timeSlicing?.starts).toEqual([switchAt])
    const [ipset = '', v4 = '', , apply = ''] = filesOf(r, 'b')
    expect(v4).toContain(
      '-A BULKHEAD-IN -m time --datestop 2026-11-23T12:00:01 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
    )
    expect(v4).toContain('-A BULKHEAD-IN -m time --datestart 2026-11-23T12:00:02 -j DROP')
    expect(v4).toContain('# time slices: 2')
    // each slice's sets are loaded, and kept by the apply script
    expect(ipset).toContain('create bh-in-v4-svc-t0 ')
    expect(ipset).toContain('create bh-in-v4-svc-t1 ')
    expect(apply).toMatch(/keep='.* bh-in-v4-svc-t0 .*bh-in-v4-svc-t1 /)
    const rs = parseIptables(filesOf(r, 'b'))
    expectSwitchAtSecond((port, at) => decideIptables(rs, 'ingress', tcp(port, at)), T, expires)
  })

  it('slices with the same rules are one time window; equal sets are loaded once', () => {
    const r = iptablesCompiler.compile(twoHosts, expiringWebToDb('enforce', expires), {
      now,
      antiLockout: false,
    })
    const [, v4 = ''] = filesOf(r, 'a')
    // a's ingress has no peer in either slice: no time match; its egress changes
    expect(v4).toContain('-A BULKHEAD-IN -j DROP')
    expect(v4).toContain('-A BULKHEAD-OUT -m time --datestart 2026-11-23T12:00:02 -j DROP')
    // a port range web -> db allowed for good: b's ingress set for it is the same in both
    // slices, loaded once under its first slice's name and used by both
    const set = expiringWebToDb('enforce', expires)
    const policy = set.policies[0] as PolicySet['policies'][number]
    // rules[1] (w2d-6432) has no expiry
    const forGood = policy.rules[1] as PolicySet['policies'][number]['rules'][number]
    const ranged: PolicySet = {
      ...set,
      policies: [
        {
          ...policy,
          rules: [
            ...policy.rules,
            {
              ...forGood,
              id: 'w2d-range',
              services: [{ protocol: 6, ports: { lo: 8000, hi: 8100 } }],
            },
          ],
        },
      ],
    }
    const [ipset = '', bv4 = ''] = filesOf(
      iptablesCompiler.compile(twoHosts, ranged, { now, antiLockout: false }),
      'b',
    )
    expect(ipset).toContain('create bh-in-v4-0-t0 ')
    expect(ipset).not.toContain('bh-in-v4-0-t1')
    const rangeRules = bv4.split('\n').filter((l) => l.includes('--dport 8000:8100'))
    expect(rangeRules).toHaveLength(2)
    for (const l of rangeRules) expect(l).toContain('--match-set bh-in-v4-0-t0 src -j ACCEPT')
  })

  it('monitor mode: the would-be-blocked sets are shared by the slices', () => {
    const r = iptablesCompiler.compile(twoHosts, expiringWebToDb('monitor', expires), { now })
    const [ipset = ''] = filesOf(r, 'b')
    expect(ipset.match(/create bh-wbb-in-v4 /g)).toHaveLength(1)
    const rs = parseIptables(filesOf(r, 'b'))
    expect(decideIptables(rs, 'ingress', tcp(5432, T))).toBe('accept')
    expect(decideIptables(rs, 'ingress', tcp(5432, switchAt))).toBe('record')
    expect(decideIptables(rs, 'ingress', tcp(6432, T))).toBe('record')
    expect(decideIptables(rs, 'ingress', tcp(6432, switchAt))).toBe('accept')
  })

  it('a change after 2038-01-19T03:14:07Z, where -m time ends, is a warning saying so', () => {
    const late = Date.parse('2040-01-01T00:00:00Z')
    const r = iptablesCompiler.compile(twoHosts, expiringWebToDb('enforce', late), { now })
    expect(r.timeSlicing?.starts).toEqual([])
    expect(r.timeSlicing?.recompileAt).toBe(late)
    const warned = r.diagnostics.filter((d) => d.code === 'compile/expires-later')
    expect(warned).toHaveLength(2)
    expect(warned[0]?.message).toContain('2038-01-19T03:14:07')
    // nftables has no such end
    expect(
      nftablesCompiler.compile(twoHosts, expiringWebToDb('enforce', late), { now }).timeSlicing
        ?.starts,
    ).toEqual([late])
  })
})

describe('time slices do not depend on the time zone of the machine that compiles', () => {
  it('nftables and iptables render the same text under TZ=America/New_York as under UTC', () => {
    const now = new Date('2026-11-22T12:00:00Z')
    const ps = expiringWebToDb('enforce', now.getTime() + 86_400_000)
    const render = (): string[] => [
      ...nftablesCompiler.compile(twoHosts, ps, { now }).artefacts.map((a) => a.content),
      ...iptablesCompiler.compile(twoHosts, ps, { now }).artefacts.map((a) => a.content),
    ]
    const tz = process.env['TZ']
    try {
      process.env['TZ'] = 'UTC'
      const utc = render()
      process.env['TZ'] = 'America/New_York'
      expect(new Date(0).getTimezoneOffset()).not.toBe(0)
      expect(render()).toEqual(utc)
    } finally {
      if (tz === undefined) delete process.env['TZ']
      else process.env['TZ'] = tz
    }
  })
})

describe('a host that no later change touches compiles exactly as without time', () => {
  it('nftables and iptables: only the rulesets an expiry changes have time slices', () => {
    const now = new Date('2026-11-22T12:00:00Z')
    const expires = now.getTime() + 86_400_000
    // c (role=backup) is in no rule: its rulesets are the same before and after the expiry
    const inv = {
      ...twoHosts,
      workloads: [...twoHosts.workloads, workload('c', '10.9.0.3', { role: 'backup' })],
    }
    const timed = expiringWebToDb('enforce', expires)
    const untimed: PolicySet = {
      ...timed,
      policies: timed.policies.map((p) => ({
        ...p,
        rules: p.rules.filter((r) => r.expires === undefined),
      })),
    }
    for (const compiler of [nftablesCompiler, iptablesCompiler]) {
      const files = (ps: PolicySet, host: string): string[] =>
        compiler
          .compile(inv, ps, { now })
          .artefacts.filter((a) => a.host === host)
          .map((a) => a.content)
      expect(files(timed, 'c'), compiler.target).toEqual(files(untimed, 'c'))
      expect(files(timed, 'c').join('')).not.toMatch(/time slices|meta time|-m time|-t0/)
      expect(files(timed, 'b').join(''), compiler.target).toContain('# time slices: 2')
    }
  })
})
