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
