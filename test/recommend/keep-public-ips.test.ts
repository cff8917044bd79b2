/**
 * `--keep-public-ips` proposes rules per public address ("rules per public address instead of one
 * internet rule"): a public client and a public server in one /24 are two /32 rules (and an
 * IPv6 one a /128), never one block aggregated over both, which would open the addresses between
 * them, most likely another party's. Unmanaged private addresses are still aggregated up to
 * `--max-prefix`, as README says. Expectations computed by hand.
 */
import { describe, expect, it } from 'vitest'
import { selectorKey, type FlowTuple, type PolicySet } from '../../src/core/index.js'
import { evaluate } from '../../src/policy/evaluate.js'
import { recommend } from '../../src/recommend/index.js'
import { DAY, T0, edge, loadInventory, mapOf } from './helpers.js'

const TCP = 6
const INV = loadInventory(`apiVersion: bulkhead.dev/v1
kind: Inventory
workloads:
  - name: web-1
    addresses: [10.1.0.11]
    labels: { role: web, app: shop, env: prod }
  - name: db-1
    addresses: [10.1.0.31]
    labels: { role: db, app: shop, env: prod }
`)
/** With keepPublicIps the resolver names each unmanaged public address by itself. */
const MAP = mapOf(INV, [
  edge('203.0.113.10', 'web-1', TCP, 443),
  edge('web-1', '203.0.113.99', TCP, 443),
  edge('web-1', '2001:db8:7::1', TCP, 443),
  edge('web-1', '2001:db8:7::ff', TCP, 8443),
  // private: both in one /24 block at --max-prefix 24, so aggregated (README)
  edge('db-1', '10.99.5.6', TCP, 9100),
  edge('db-1', '10.99.5.7', TCP, 9100),
])

describe('recommend --keep-public-ips', () => {
  const result = recommend(MAP, INV, { keepPublicIps: true, maxPrefix: 24 })
  const rules = result.policies.flatMap((p) => p.rules)
  const set: PolicySet = { policies: result.policies, enforcement: [] }
  const verdict = (src: string, dst: string, port: number): string => {
    const t: FlowTuple = { src, dst, protocol: TCP, dstPort: port, at: T0 + DAY }
    return evaluate(INV, set, t).decision
  }

  it('one host block per public address, in both directions and both families', () => {
    const cidrs = rules
      .flatMap((r) => [...r.from, ...r.to].map(selectorKey))
      .filter((k) => k.startsWith('cidr'))
    expect(cidrs.filter((k) => !k.startsWith('cidr 10.')).sort()).toEqual([
      'cidr 2001:db8:7::1/128',
      'cidr 2001:db8:7::ff/128',
      'cidr 203.0.113.10/32',
      'cidr 203.0.113.99/32',
    ])
    expect(result.report.aggregated.map((a) => a.cover)).toEqual(['10.99.5.6/31'])
  })

  it('allows the observed public addresses and not their neighbours', () => {
    expect(verdict('203.0.113.10', '10.1.0.11', 443)).toBe('allowed')
    expect(verdict('203.0.113.11', '10.1.0.11', 443)).toBe('denied')
    expect(verdict('203.0.113.99', '10.1.0.11', 443)).toBe('denied')
    expect(verdict('10.1.0.11', '203.0.113.99', 443)).toBe('allowed')
    expect(verdict('10.1.0.11', '203.0.113.64', 443)).toBe('denied')
    expect(verdict('10.1.0.11', '2001:db8:7::1', 443)).toBe('allowed')
    expect(verdict('10.1.0.11', '2001:db8:7::2', 443)).toBe('denied')
    expect(verdict('10.1.0.11', '2001:db8:7::ff', 8443)).toBe('allowed')
    // private blocks are aggregated as before
    expect(verdict('10.1.0.31', '10.99.5.7', 9100)).toBe('allowed')
  })
})
