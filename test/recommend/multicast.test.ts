/**
 * Flows to multicast groups (mDNS, SSDP), the limited broadcast and from 0.0.0.0 are no
 * connections to the internet: `recommend` proposes one rule per group, to its /32 (/128), with a
 * reason naming the protocol, while a real internet edge still gets the internet rule, which
 * leaves the non-unicast ranges out. Expectations computed by hand.
 */
import { describe, expect, it } from 'vitest'
import { selectorKey, type FlowTuple, type PolicySet } from '../../src/core/index.js'
import { evaluate } from '../../src/policy/evaluate.js'
import { defaultWorkspace, loadFromSources } from '../../src/policy/index.js'
import { recommend, renderRecommendation } from '../../src/recommend/index.js'
import { DAY, T0, edge, loadInventory, mapOf } from './helpers.js'

const TCP = 6
const UDP = 17
const HOSTS = `apiVersion: bulkhead.dev/v1
kind: Inventory
workloads:
  - name: kiosk-1
    addresses: [10.5.0.11, "2001:db8:5::11"]
    labels: { role: kiosk, app: store, env: prod }
  - name: kiosk-2
    addresses: [10.5.0.12, "2001:db8:5::12"]
    labels: { role: kiosk, app: store, env: prod }
  - name: api-1
    addresses: [10.5.0.21]
    labels: { role: api, app: store, env: prod }
`
const INV = loadInventory(HOSTS)
/** The entity names are what the resolver gives: the group address itself, or `internet`. */
const MAP = mapOf(INV, [
  edge('kiosk-1', '224.0.0.251', UDP, 5353, { flows: 20 }),
  edge('kiosk-2', '224.0.0.251', UDP, 5353, { flows: 10 }),
  edge('kiosk-1', 'ff02::fb', UDP, 5353, { flows: 5 }),
  edge('kiosk-1', '239.255.255.250', UDP, 1900, { flows: 7 }),
  edge('kiosk-2', 'ff05::c', UDP, 1900, { flows: 3 }),
  edge('kiosk-1', '255.255.255.255', UDP, 67, { flows: 2 }),
  edge('0.0.0.0', '255.255.255.255', UDP, 67, { flows: 4 }),
  edge('api-1', 'internet', TCP, 443, { flows: 50 }),
])

const tuple = (src: string, dst: string, protocol: number, dstPort: number): FlowTuple => ({
  src,
  dst,
  protocol,
  dstPort,
  at: T0 + DAY,
})

describe('recommend: multicast, broadcast and internet edges', () => {
  const result = recommend(MAP, INV)
  const rules = result.policies.flatMap((p) => p.rules.map((r) => ({ policy: p.name, ...r })))
  const byId = new Map(rules.map((r) => [r.id, r]))
  const set: PolicySet = { policies: result.policies, enforcement: [] }

  it('one rule per group, to its host block, named and explained by the protocol', () => {
    expect(result.policies.map((p) => p.name)).toEqual(['store-prod'])
    expect(rules.map((r) => [r.id, r.to.map(selectorKey).join(' | ')]).sort()).toEqual(
      [
        ['kiosk-to-mdns-224-0-0-251-udp-5353', 'cidr 224.0.0.251/32'],
        ['kiosk-to-mdns-ff02-fb-udp-5353', 'cidr ff02::fb/128'],
        ['kiosk-to-ssdp-239-255-255-250-udp-1900', 'cidr 239.255.255.250/32'],
        ['kiosk-to-ssdp-ff05-c-udp-1900', 'cidr ff05::c/128'],
        ['kiosk-to-255-255-255-255-udp-67', 'cidr 255.255.255.255/32'],
        [
          'api-to-internet-tcp-443',
          'cidr 0.0.0.0/0 except 10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,127.0.0.0/8,169.254.0.0/16,100.64.0.0/10,0.0.0.0/8,192.0.0.0/24,198.18.0.0/15,240.0.0.0/4,224.0.0.0/4 | cidr ::/0 except fc00::/7,fe80::/10,::1/128,::/128,64:ff9b:1::/48,100::/64,2001:2::/48,ff00::/8,2001:db8:5::11/128,2001:db8:5::12/128',
        ],
      ].sort(),
    )
    // (the workloads' IPv4 addresses are inside 10.0.0.0/8 already; their IPv6 ones are public;
    // the broadcast 255.255.255.255/32 is inside the reserved 240.0.0.0/4)
    const mdns = byId.get('kiosk-to-mdns-224-0-0-251-udp-5353')
    expect(mdns?.from.map(selectorKey)).toEqual(['{role=kiosk}'])
    expect(mdns?.services).toEqual([{ protocol: UDP, ports: { lo: 5353, hi: 5353 } }])
    expect(mdns?.reason).toBe(
      'Observed kiosk -> 224.0.0.251 (mDNS multicast group) on udp/5353: 30 flow(s) on 2 day(s), rare. Say why it is needed.',
    )
    expect(mdns?.evidence).toMatchObject({
      flows: 30,
      pairs: ['kiosk-1 -> 224.0.0.251', 'kiosk-2 -> 224.0.0.251'],
    })
    expect(byId.get('kiosk-to-ssdp-ff05-c-udp-1900')?.reason).toMatch(
      /^Observed kiosk -> ff05::c \(SSDP multicast group\) on udp\/1900: 3 flow/,
    )
    expect(byId.get('kiosk-to-255-255-255-255-udp-67')?.reason).toMatch(
      /^Observed kiosk -> 255\.255\.255\.255 \(IPv4 limited broadcast\) on udp\/67/,
    )
    // a DHCP discover from 0.0.0.0 has no workload end: no rule, as before
    expect(result.report.excluded).toEqual([
      {
        src: '0.0.0.0',
        dst: '255.255.255.255',
        service: 'udp/67',
        flows: 4,
        reason: 'no-workload-end',
      },
    ])
    expect(result.report.aggregated).toEqual([])
  })

  it('the reference evaluator allows each observed group and nothing wider', () => {
    const verdict = (s: string, d: string, p: number, port: number) =>
      evaluate(INV, set, tuple(s, d, p, port)).decision
    expect(verdict('10.5.0.11', '224.0.0.251', UDP, 5353)).toBe('allowed')
    expect(verdict('10.5.0.12', '224.0.0.251', UDP, 5353)).toBe('allowed')
    expect(verdict('2001:db8:5::11', 'ff02::fb', UDP, 5353)).toBe('allowed')
    expect(verdict('10.5.0.11', '239.255.255.250', UDP, 1900)).toBe('allowed')
    expect(verdict('2001:db8:5::12', 'ff05::c', UDP, 1900)).toBe('allowed')
    expect(verdict('10.5.0.11', '255.255.255.255', UDP, 67)).toBe('allowed')
    expect(verdict('10.5.0.21', '93.184.216.34', TCP, 443)).toBe('allowed')
    // not the internet on those ports, not another group, not another scope of the group
    expect(verdict('10.5.0.11', '93.184.216.34', UDP, 5353)).toBe('denied')
    expect(verdict('10.5.0.11', '224.0.0.252', UDP, 5353)).toBe('denied')
    expect(verdict('10.5.0.11', '224.0.0.251', UDP, 5355)).toBe('denied')
    expect(verdict('2001:db8:5::11', 'ff05::fb', UDP, 5353)).toBe('denied')
    expect(verdict('10.5.0.11', '239.255.255.251', UDP, 1900)).toBe('denied')
    expect(verdict('10.5.0.21', '224.0.0.251', UDP, 5353)).toBe('denied')
    // the internet rule does not reach multicast groups or the broadcast
    expect(verdict('10.5.0.21', '224.0.0.251', TCP, 443)).toBe('denied')
    expect(verdict('10.5.0.21', '239.255.255.250', TCP, 443)).toBe('denied')
    expect(verdict('10.5.0.21', '255.255.255.255', TCP, 443)).toBe('denied')
    expect(verdict('10.5.0.21', '223.255.255.255', TCP, 443)).toBe('allowed')
    // nor the reserved class E, the benchmarking range or "this network" (RFC 6890: not global)
    expect(verdict('10.5.0.21', '240.0.0.0', TCP, 443)).toBe('denied')
    expect(verdict('10.5.0.21', '255.255.255.254', TCP, 443)).toBe('denied')
    expect(verdict('10.5.0.21', '198.18.0.1', TCP, 443)).toBe('denied')
    expect(verdict('10.5.0.21', '0.0.0.1', TCP, 443)).toBe('denied')
    expect(verdict('10.5.0.21', '2001:2::1', TCP, 443)).toBe('denied')
    // the documentation ranges stand for public hosts: internet
    expect(verdict('10.5.0.21', '203.0.113.9', TCP, 443)).toBe('allowed')
    expect(verdict('10.5.0.21', '2001:db8:99::1', TCP, 443)).toBe('allowed')
  })

  it('the same with --keep-public-ips and --max-prefix 16: groups are never aggregated', () => {
    const r = recommend(
      mapOf(INV, [
        edge('kiosk-1', '224.0.0.251', UDP, 5353),
        edge('kiosk-1', '224.0.0.252', UDP, 5355),
      ]),
      INV,
      { keepPublicIps: true, maxPrefix: 16 },
    )
    const to = r.policies.flatMap((p) => p.rules.map((x) => [x.id, x.to.map(selectorKey)]))
    expect(to.sort()).toEqual([
      ['kiosk-to-llmnr-224-0-0-252-udp-5355', ['cidr 224.0.0.252/32']],
      ['kiosk-to-mdns-224-0-0-251-udp-5353', ['cidr 224.0.0.251/32']],
    ])
  })

  it('writes `to: [{cidr: 224.0.0.251/32}]`, which loads without diagnostics', () => {
    const files = renderRecommendation(result)
    const text = files.get('store-prod.yaml') ?? ''
    expect(text).toMatch(/cidr: 224\.0\.0\.251\/32/)
    const loaded = loadFromSources(
      defaultWorkspace('.'),
      [{ path: 'inventory/hosts.yaml', text: HOSTS }],
      [...files].map(([path, t]) => ({ path: `policy/${path}`, text: t })),
      new Date(T0),
    )
    expect(loaded.diagnostics).toEqual([])
  })
})
