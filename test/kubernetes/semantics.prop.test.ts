import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  allowedBetween,
  analysisUsable,
  analyze,
  evaluateK8s,
  findEndpoint,
  formatK8sConnlist,
  loadModel,
  type Peer,
} from '../../src/kubernetes/index.js'
import type { EvalEndpoint } from '../../src/kubernetes/eval.js'
import type { Analysis } from '../../src/kubernetes/connlist.js'
import { parseIp, ServiceSet, type IpAddress } from '../../src/core/index.js'
import { estateDocs, k8sArbitraries, np, ns, pod, podIps } from './arbitraries.js'
import { SEED } from '../helpers/model.js'

/** Manifests as plain objects, one JSON document per file. */
function load(docs: readonly unknown[]) {
  return loadModel(docs.map((d, i) => ({ path: `doc${i}.json`, text: JSON.stringify(d) })))
}

function lines(docs: readonly unknown[]): string[] {
  const a = analyze(docs.map((d, i) => ({ path: `doc${i}.json`, text: JSON.stringify(d) })))
  expect(a.diagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
  return formatK8sConnlist(a.connections, 'txt').split('\n').filter(Boolean)
}

describe('NetworkPolicy semantics (Kubernetes API reference)', () => {
  const base = [
    ns('a', { team: 'x' }),
    ns('b', { team: 'y' }),
    pod('p1', 'a', { app: 'web' }, [
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'dns', containerPort: 53, protocol: 'UDP' },
    ]),
    pod('p2', 'b', { app: 'web' }),
    pod('p3', 'b', { app: 'db' }),
  ]

  it('a named port resolves against the destination pod, for its protocol only', () => {
    const out = lines([
      ...base,
      np('n', 'a', {
        podSelector: {},
        ingress: [{ ports: [{ port: 'http' }, { port: 'dns' }, { port: 'dns', protocol: 'UDP' }] }],
      }),
    ])
    expect(out).toContain('b/p3[Pod] => a/p1[Pod] : TCP 8080,UDP 53')
  })

  it('namespaceSelector and podSelector in one peer are ANDed; in two peers ORed', () => {
    const and = lines([
      ...base,
      np('n', 'a', {
        podSelector: {},
        ingress: [
          {
            from: [
              {
                namespaceSelector: { matchLabels: { team: 'y' } },
                podSelector: { matchLabels: { app: 'db' } },
              },
            ],
          },
        ],
      }),
    ])
    expect(and.filter((l) => l.endsWith('=> a/p1[Pod] : All Connections'))).toEqual([
      'b/p3[Pod] => a/p1[Pod] : All Connections',
    ])
    const or = lines([
      ...base,
      np('n', 'a', {
        podSelector: {},
        ingress: [
          {
            from: [
              { namespaceSelector: { matchLabels: { team: 'y' } } },
              { podSelector: { matchLabels: { app: 'db' } } },
            ],
          },
        ],
      }),
    ])
    expect(or.filter((l) => l.endsWith('=> a/p1[Pod] : All Connections'))).toEqual([
      'b/p2[Pod] => a/p1[Pod] : All Connections',
      'b/p3[Pod] => a/p1[Pod] : All Connections',
    ])
  })

  it('from: [] and a missing from allow every source; ingress: [] allows none', () => {
    for (const rule of [{}, { from: [] }]) {
      expect(lines([...base, np('n', 'a', { podSelector: {}, ingress: [rule] })])).toContain(
        '0.0.0.0-255.255.255.255[External] => a/p1[Pod] : All Connections',
      )
    }
    const none = lines([...base, np('n', 'a', { podSelector: {}, ingress: [] })])
    expect(none.some((l) => l.includes('=> a/p1[Pod]'))).toBe(false)
  })

  it('endPort makes a range; SCTP and a protocol without port', () => {
    const out = lines([
      ...base,
      np('n', 'b', {
        podSelector: { matchLabels: { app: 'db' } },
        ingress: [
          {
            ports: [
              { port: 5000, endPort: 5010 },
              { protocol: 'SCTP', port: 9 },
              { protocol: 'UDP' },
            ],
          },
        ],
      }),
    ])
    expect(out).toContain('a/p1[Pod] => b/p3[Pod] : SCTP 9,TCP 5000-5010,UDP 1-65535')
  })

  it('egress named ports towards an address allow nothing; numbered ports do', () => {
    const out = lines([
      ...base,
      np('n', 'a', {
        podSelector: {},
        egress: [
          {
            to: [{ ipBlock: { cidr: '8.8.0.0/16' } }],
            ports: [{ port: 'dns', protocol: 'UDP' }, { port: 443 }],
          },
        ],
      }),
    ])
    expect(out).toContain('a/p1[Pod] => 8.8.0.0-8.8.255.255[External] : TCP 443')
    expect(out.filter((l) => l.startsWith('a/p1[Pod] =>'))).toEqual([
      'a/p1[Pod] => 8.8.0.0-8.8.255.255[External] : TCP 443',
    ])
  })
})

// ---- random estates: the reference evaluator agrees with the set analysis ----

const { estate } = k8sArbitraries({
  pods: [
    {},
    { matchLabels: { app: 'a' } },
    { matchLabels: { app: 'b' } },
    { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['a'] }] },
  ],
  namespaces: [{}, { matchLabels: { team: 'x' } }, { matchLabels: { team: 'y' } }],
})

describe('random estates: evaluateK8s (per service) ≡ allowedBetween (service sets)', () => {
  it('agrees on every endpoint pair and a set of services', () => {
    const services: [number, number][] = [
      [6, 80],
      [6, 85],
      [6, 90],
      [6, 91],
      [17, 55],
      [17, 80],
      [132, 9],
      [132, 10],
      [6, 443],
    ]
    fc.assert(
      fc.property(estate, (e) => {
        const docs = estateDocs(e)
        const { model, diagnostics } = load(docs)
        expect(analysisUsable({ diagnostics } as never)).toBe(true)
        const ends = [...model.workloads.map((w) => w.name), '10.1.2.3', '10.2.0.1', '8.8.8.8']
        for (const s of ends) {
          for (const d of ends) {
            if (s === d) continue
            const se = findEndpoint(model, s) as EvalEndpoint
            const de = findEndpoint(model, d) as EvalEndpoint
            const peers = (x: EvalEndpoint): Peer[] =>
              x.kind === 'workload'
                ? x.workload.pods.map((p) => ({ kind: 'pod', pod: p }))
                : x.kind === 'ip'
                  ? [
                      {
                        kind: 'range',
                        range: {
                          family: x.ip.family,
                          first: x.ip.value,
                          last: x.ip.value,
                          name: x.text,
                        },
                      },
                    ]
                  : []
            for (const [proto, port] of services) {
              const ref = evaluateK8s(model, se, de, proto, port).allowed
              const set = peers(se).some((a) =>
                peers(de).some((b) => allowedBetween(model, a, b).has(proto, port)),
              )
              expect(set).toBe(ref)
            }
          }
        }
      }),
      { seed: SEED, numRuns: 80 },
    )
  })
})

// ---- random estates with pod addresses: k8s eval of an address ≡ k8s connlist ----

const withAddresses = k8sArbitraries({
  pods: [
    {},
    { matchLabels: { app: 'a' } },
    { matchLabels: { app: 'b' } },
    { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['a'] }] },
  ],
  namespaces: [{}, { matchLabels: { team: 'x' } }, { matchLabels: { team: 'y' } }],
  addresses: true,
})

/** Whether the connlist entity `name` is `end`: a workload by name, an address by the range holding it. */
function entityIs(
  a: Analysis,
  name: string,
  end: { workload: string } | { ip: IpAddress },
): boolean {
  if ('workload' in end) return name === end.workload
  const r = a.ranges.find((x) => x.name === name)
  return (
    r !== undefined &&
    r.family === end.ip.family &&
    r.first <= end.ip.value &&
    end.ip.value <= r.last
  )
}

describe('random estates with pod addresses: k8s eval ≡ k8s connlist', () => {
  // np-guard and Bulkhead read ipBlocks and ANP networks as addresses outside the cluster's
  // pods (np-guard issue #456; its eval matches a pod by selectors only): an address a pod holds
  // is that pod, judged as its workload's connlist line says; and no connection crosses address
  // families (a pod without IPv4 address has no IPv4 line). Pod addresses fall inside the
  // policies' blocks (10.2.0.x in 10.0.0.0/8; 10.1.0.x in its except; fd00::x in fd00::/16).
  it('eval of pod addresses, workloads and outside addresses agrees with the connlist lines', () => {
    const services: [number, number][] = [
      [6, 80],
      [6, 85],
      [17, 55],
      [132, 9],
      [6, 443],
    ]
    let podAddressFlows = 0
    fc.assert(
      fc.property(withAddresses.estate, (e) => {
        const docs = estateDocs(e)
        const files = docs.map((d, i) => ({ path: `doc${i}.json`, text: JSON.stringify(d) }))
        const a = analyze(files)
        expect(analysisUsable(a)).toBe(true)
        const { model } = a
        const v6 = a.ranges.some((r) => r.family === 6)
        // outside addresses: IPv6 ones only where the analysis models IPv6 (README)
        const outside = [
          '10.1.2.3',
          '10.2.0.99',
          '8.8.8.8',
          ...(v6 ? ['fd00::99', '2001:db8::1'] : []),
        ]
        type End = { text: string; is: { workload: string } | { ip: IpAddress }; pod?: string }
        const ends: End[] = [
          ...model.workloads.map((w) => ({ text: w.name, is: { workload: w.name }, pod: w.name })),
          ...e.pods.flatMap((p, i) =>
            podIps(i, p.families ?? []).map((ip) => ({
              text: ip,
              is: { workload: `${p.ns}/p${String(i)}[Pod]` },
              pod: `${p.ns}/p${String(i)}[Pod]`,
            })),
          ),
          ...outside.map((ip) => ({ text: ip, is: { ip: parseIp(ip) as IpAddress } })),
        ]
        for (const s of ends) {
          for (const d of ends) {
            if (s.pod === undefined && d.pod === undefined) continue // two outside addresses
            if (s.pod !== undefined && s.pod === d.pod) continue // a pod to itself: not listed
            const se = findEndpoint(model, s.text) as EvalEndpoint
            const de = findEndpoint(model, d.text) as EvalEndpoint
            if (parseIp(s.text) && s.pod) podAddressFlows++
            const listed = a.connections
              .filter((c) => entityIs(a, c.src, s.is) && entityIs(a, c.dst, d.is))
              .reduce((acc, c) => acc.union(c.services), ServiceSet.EMPTY)
            for (const [proto, port] of services) {
              const v = evaluateK8s(model, se, de, proto, port)
              expect({
                flow: `${s.text} -> ${d.text} ${String(proto)}/${String(port)}`,
                allowed: v.allowed,
              }).toEqual({
                flow: `${s.text} -> ${d.text} ${String(proto)}/${String(port)}`,
                allowed: listed.has(proto, port),
              })
            }
          }
        }
      }),
      { seed: SEED, numRuns: 80 },
    )
    expect(podAddressFlows).toBeGreaterThan(100)
  })
})
