import { describe, expect, it } from 'vitest'
import { entityName, labelSet, parseCidr, type Cidr, type Inventory } from '../../src/core/index.js'
import { INTERNET, Resolver } from '../../src/inventory/index.js'

const T = (d: string) => Date.parse(d)
const inv: Inventory = {
  workloads: [
    {
      name: 'ci-runner-7',
      addresses: [
        { ip: '10.30.0.7', from: T('2026-10-01T00:00:00Z'), to: T('2026-10-15T00:00:00Z') },
      ],
      labels: labelSet(),
    },
    {
      name: 'dev-web-1',
      addresses: [{ ip: '10.30.0.7', from: T('2026-10-15T00:00:00Z') }, { ip: '2001:db8::11' }],
      labels: labelSet(),
    },
  ],
  externals: [
    { name: 'bank', cidr: parseCidr('198.51.100.0/24') as Cidr, labels: labelSet() },
    { name: 'bank-sftp', cidr: parseCidr('198.51.100.0/28') as Cidr, labels: labelSet() },
    { name: 'corp', cidr: parseCidr('10.0.0.0/8') as Cidr, labels: labelSet() },
  ],
  labelRules: [],
}
const name = (r: Resolver, ip: string, at = T('2026-10-10T00:00:00Z')) =>
  entityName(r.resolve(ip, at))

describe('Resolver', () => {
  it('is time-aware: a reused address maps to the workload holding it at the flow time', () => {
    const r = new Resolver(inv)
    expect(name(r, '10.30.0.7', T('2026-10-14T23:59:59.999Z'))).toBe('ci-runner-7')
    expect(name(r, '10.30.0.7', T('2026-10-15T00:00:00Z'))).toBe('dev-web-1')
    // before any holder: the longest external prefix
    expect(name(r, '10.30.0.7', T('2026-09-30T00:00:00Z'))).toBe('corp')
  })

  it('an address a workload holds only for a time is, outside that time, an endpoint of its own', () => {
    const r = new Resolver({ ...inv, externals: [] })
    // not grouped into 10.30.0.0/24: its flows must not mix with the neighbours'
    expect(name(r, '10.30.0.7', T('2026-09-30T00:00:00Z'))).toBe('10.30.0.7')
    expect(name(r, '::ffff:10.30.0.7', T('2026-09-30T00:00:00Z'))).toBe('10.30.0.7')
    expect(name(r, '10.30.0.8', T('2026-09-30T00:00:00Z'))).toBe('10.30.0.0/24')
    expect(name(r, '10.30.0.7', T('2026-10-02T00:00:00Z'))).toBe('ci-runner-7')
  })

  it('takes non-canonical spellings of an address', () => {
    const r = new Resolver(inv)
    expect(name(r, '2001:DB8:0::11')).toBe('dev-web-1')
    expect(name(r, '::ffff:10.30.0.7', T('2026-10-02T00:00:00Z'))).toBe('ci-runner-7')
    // the same spelling again (now cached) at other times
    expect(name(r, '::ffff:10.30.0.7', T('2026-10-20T00:00:00Z'))).toBe('dev-web-1')
    expect(name(r, '::ffff:10.30.0.7', T('2026-09-20T00:00:00Z'))).toBe('corp')
  })

  it('picks the named external with the longest prefix', () => {
    const r = new Resolver(inv)
    expect(name(r, '198.51.100.3')).toBe('bank-sftp')
    expect(name(r, '198.51.100.200')).toBe('bank')
    const e = r.resolve('198.51.100.3', 0)
    expect(e.kind === 'external' && e.named && e.external?.name).toBe('bank-sftp')
  })

  it('groups unmanaged private addresses by prefix and public ones as internet', () => {
    const r = new Resolver({ ...inv, externals: [] })
    expect(name(r, '10.9.3.17')).toBe('10.9.3.0/24')
    expect(name(r, '192.168.255.1')).toBe('192.168.255.0/24')
    expect(name(r, '100.64.1.2')).toBe('100.64.1.0/24')
    expect(name(r, 'fd00:1:2:3:4::9')).toBe('fd00:1:2:3::/64')
    expect(name(r, '8.8.8.8')).toBe(INTERNET)
    expect(name(r, '2606:4700::1111')).toBe(INTERNET)
    const e = r.resolve('10.9.3.17', 0)
    expect(e).toEqual({ kind: 'external', name: '10.9.3.0/24', named: false })
    expect(r.resolve('10.9.3.200', 0)).toBe(e)
  })

  it('groups the non-global special-purpose blocks (RFC 6890) as private, but not the documentation ones', () => {
    const r = new Resolver({ ...inv, externals: [] })
    // reserved class E 240.0.0.0/4 (RFC 1112 §4), without the limited broadcast
    expect(name(r, '240.1.2.3')).toBe('240.1.2.0/24')
    expect(name(r, '255.255.255.254')).toBe('255.255.255.0/24')
    expect(name(r, '255.255.255.255')).toBe('255.255.255.255')
    expect(name(r, '239.255.255.255')).toBe('239.255.255.255')
    // benchmarking 198.18.0.0/15 (RFC 2544): 198.18.0.0 – 198.19.255.255
    expect(name(r, '198.18.5.5')).toBe('198.18.5.0/24')
    expect(name(r, '198.19.255.1')).toBe('198.19.255.0/24')
    expect(name(r, '198.17.255.255')).toBe(INTERNET)
    expect(name(r, '198.20.0.1')).toBe(INTERNET)
    // IETF protocol assignments 192.0.0.0/24 (RFC 6890 §2.2.2; DS-Lite, 192.0.0.8 RFC 7600)
    expect(name(r, '192.0.0.8')).toBe('192.0.0.0/24')
    expect(name(r, '192.0.1.1')).toBe(INTERNET)
    // "this network" 0.0.0.0/8 (RFC 1122 §3.2.1.3); 0.0.0.0 itself is an entity of its own
    expect(name(r, '0.0.0.5')).toBe('0.0.0.0/24')
    expect(name(r, '0.0.0.0')).toBe('0.0.0.0')
    expect(name(r, '1.0.0.1')).toBe(INTERNET)
    // IPv6: discard-only 100::/64 (RFC 6666), benchmarking 2001:2::/48 (RFC 5180), local-use
    // IPv4/IPv6 translation 64:ff9b:1::/48 (RFC 8215); the well-known NAT64 prefix is global
    expect(name(r, '100::1')).toBe('100::/64')
    expect(name(r, '100:0:0:1::1')).toBe(INTERNET)
    expect(name(r, '2001:2::5')).toBe('2001:2::/64')
    expect(name(r, '2001:2:0:1::5')).toBe('2001:2:0:1::/64')
    expect(name(r, '2001:3::1')).toBe(INTERNET)
    expect(name(r, '64:ff9b:1::a00:1')).toBe('64:ff9b:1::/64')
    expect(name(r, '64:ff9b::808:808')).toBe(INTERNET)
    // documentation ranges (RFC 5737, RFC 3849) stand for public hosts in examples: internet
    expect(name(r, '192.0.2.7')).toBe(INTERNET)
    expect(name(r, '198.51.100.7')).toBe(INTERNET)
    expect(name(r, '203.0.113.7')).toBe(INTERNET)
    expect(name(r, '2001:db8::5')).toBe(INTERNET)
    // and a named external over one (DESIGN.md's bank partner) is that external
    expect(name(new Resolver(inv), '198.51.100.200')).toBe('bank')
  })

  it('honours privateGrouping, privateGrouping6 and keepPublicIps', () => {
    const r = new Resolver(
      { ...inv, externals: [] },
      { privateGrouping: 16, privateGrouping6: 48, keepPublicIps: true },
    )
    expect(name(r, '10.9.3.17')).toBe('10.9.0.0/16')
    expect(name(r, 'fd00:1:2:3::9')).toBe('fd00:1:2::/48')
    expect(name(r, '8.8.8.8')).toBe('8.8.8.8')
    expect(name(r, '2606:4700:0::1111')).toBe('2606:4700::1111')
    const host = new Resolver({ ...inv, externals: [] }, { privateGrouping: 32 })
    expect(name(host, '10.9.3.17')).toBe('10.9.3.17/32')
    expect(() => new Resolver(inv, { privateGrouping: 33 })).toThrow(RangeError)
  })

  it('gives each multicast group, the limited broadcast and 0.0.0.0 an entity of its own, never internet', () => {
    const r = new Resolver({ ...inv, externals: [] })
    // IPv4 multicast is 224.0.0.0/4: 224.0.0.0 – 239.255.255.255; its neighbours are public
    expect(name(r, '223.255.255.255')).toBe(INTERNET)
    expect(name(r, '224.0.0.0')).toBe('224.0.0.0')
    expect(name(r, '224.0.0.251')).toBe('224.0.0.251') // mDNS
    expect(name(r, '224.0.0.252')).toBe('224.0.0.252') // LLMNR, not grouped with mDNS
    expect(name(r, '239.255.255.250')).toBe('239.255.255.250') // SSDP
    expect(name(r, '239.255.255.255')).toBe('239.255.255.255')
    // class E (reserved, RFC 1112 §4) is not internet: an unmanaged block of its /24
    expect(name(r, '240.0.0.0')).toBe('240.0.0.0/24')
    expect(name(r, '::ffff:224.0.0.251')).toBe('224.0.0.251')
    // the limited broadcast (DHCP offers, NetBIOS) and a DHCP client's source before it has an
    // address (was the private group 0.0.0.0/24)
    expect(name(r, '255.255.255.255')).toBe('255.255.255.255')
    expect(name(r, '255.255.255.254')).toBe('255.255.255.0/24')
    expect(name(r, '0.0.0.0')).toBe('0.0.0.0')
    // IPv6 multicast is ff00::/8
    expect(name(r, 'feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toBe(INTERNET)
    expect(name(r, 'ff00::')).toBe('ff00::')
    expect(name(r, 'FF02::FB')).toBe('ff02::fb') // mDNS
    expect(name(r, 'ff02::c')).toBe('ff02::c') // SSDP, link-local scope
    expect(name(r, 'ff05::c')).toBe('ff05::c') // SSDP, site-local scope: another group
    expect(name(r, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toBe(
      'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    )
    expect(name(r, '::')).toBe('::')
    // also with keepPublicIps and any grouping: the address itself
    const kept = new Resolver(
      { ...inv, externals: [] },
      { keepPublicIps: true, privateGrouping: 8 },
    )
    expect(name(kept, '224.0.0.251')).toBe('224.0.0.251')
    expect(name(kept, '0.0.0.0')).toBe('0.0.0.0')
    expect(r.resolve('224.0.0.251', 0)).toEqual({
      kind: 'external',
      name: '224.0.0.251',
      named: false,
    })
  })

  it('a named external covering a multicast group still wins', () => {
    const r = new Resolver({
      ...inv,
      externals: [
        { name: 'site-multicast', cidr: parseCidr('239.0.0.0/8') as Cidr, labels: labelSet() },
        { name: 'v6-mcast', cidr: parseCidr('ff05::/16') as Cidr, labels: labelSet() },
      ],
    })
    expect(name(r, '239.255.255.250')).toBe('site-multicast')
    expect(name(r, 'ff05::c')).toBe('v6-mcast')
    expect(name(r, 'ff02::c')).toBe('ff02::c')
    expect(name(r, '224.0.0.251')).toBe('224.0.0.251')
  })

  it('never throws on a bad address: an unmanaged entity named by the text, counted', () => {
    const r = new Resolver(inv)
    expect(r.resolve('not-an-ip', 0)).toEqual({ kind: 'external', name: 'not-an-ip', named: false })
    expect(r.resolve('10.0.0.300', 0)).toEqual({
      kind: 'external',
      name: '10.0.0.300',
      named: false,
    })
    r.resolve('2001:db8::11', 0)
    r.resolve('198.51.100.3', 0)
    r.resolve('8.8.8.8', 0)
    expect(r.stats()).toEqual({ workload: 1, external: 1, unmanaged: 1, unparseable: 2 })
  })
})
