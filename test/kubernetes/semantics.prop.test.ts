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

/** Manifests as plain objects, one JSON document per file. */
function load(docs: readonly unknown[]) {
  return loadModel(docs.map((d, i) => ({ path: `doc${i}.json`, text: JSON.stringify(d) })))
}

const ns = (name: string, labels: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels },
})
const pod = (
  name: string,
  namespace: string,
  labels: Record<string, string>,
  ports: unknown[] = [],
) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels },
  spec: { containers: [{ name: 'c', ports }] },
})
const np = (name: string, namespace: string, spec: unknown) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace },
  spec,
})

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

const sel = fc.constantFrom<Record<string, unknown>>(
  {},
  { matchLabels: { app: 'a' } },
  { matchLabels: { app: 'b' } },
  { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['a'] }] },
)
const nsSel = fc.constantFrom<Record<string, unknown>>(
  {},
  { matchLabels: { team: 'x' } },
  { matchLabels: { team: 'y' } },
)
const npPeer = fc.oneof(
  fc.record({ podSelector: sel }),
  fc.record({ namespaceSelector: nsSel }),
  fc.record({ namespaceSelector: nsSel, podSelector: sel }),
  fc.constant({ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }),
  fc.constant({ ipBlock: { cidr: '0.0.0.0/0' } }),
)
const npPort = fc.constantFrom<Record<string, unknown>>(
  { port: 80 },
  { protocol: 'UDP' },
  { port: 'web' },
  { port: 'web', protocol: 'UDP' },
  { port: 80, endPort: 90 },
  { protocol: 'SCTP', port: 9 },
)
const npRule = (key: 'from' | 'to') =>
  fc.record(
    {
      [key]: fc.option(fc.array(npPeer, { maxLength: 2 }), { nil: undefined }),
      ports: fc.option(fc.array(npPort, { minLength: 1, maxLength: 2 }), { nil: undefined }),
    },
    { requiredKeys: [] },
  )
const npSpec = fc.record(
  {
    podSelector: sel,
    policyTypes: fc.constantFrom(['Ingress'], ['Egress'], ['Ingress', 'Egress']),
    ingress: fc.array(npRule('from'), { maxLength: 2 }),
    egress: fc.array(npRule('to'), { maxLength: 2 }),
  },
  { requiredKeys: ['podSelector'] },
)
const anpPods = fc.oneof(
  fc.record({ namespaces: nsSel }),
  fc.record({ pods: fc.record({ namespaceSelector: nsSel, podSelector: sel }) }),
)
const anpPort = fc.constantFrom<Record<string, unknown>>(
  { portNumber: { protocol: 'TCP', port: 80 } },
  { namedPort: 'web' },
  { portRange: { protocol: 'UDP', start: 50, end: 60 } },
)
const anpRule = (key: 'from' | 'to', actions: string[]) =>
  fc.record(
    {
      name: fc.constantFrom('r1', 'r2', 'r3'),
      action: fc.constantFrom(...actions),
      [key]: fc.array(
        key === 'to' ? fc.oneof(anpPods, fc.constant({ networks: ['10.0.0.0/8'] })) : anpPods,
        { minLength: 1, maxLength: 2 },
      ),
      ports: fc.option(fc.array(anpPort, { minLength: 1, maxLength: 2 }), { nil: undefined }),
    },
    { requiredKeys: ['name', 'action', key] },
  )
const anpSpec = (baseline: boolean) =>
  fc.record({
    subject: anpPods,
    ingress: fc.array(anpRule('from', baseline ? ['Allow', 'Deny'] : ['Allow', 'Deny', 'Pass']), {
      maxLength: 2,
    }),
    egress: fc.array(anpRule('to', baseline ? ['Allow', 'Deny'] : ['Allow', 'Deny', 'Pass']), {
      maxLength: 2,
    }),
  })
const estate = fc.record({
  pods: fc.array(
    fc.record({
      ns: fc.constantFrom('a', 'b'),
      app: fc.constantFrom('a', 'b', 'c'),
      web: fc.constantFrom(80, 85, 55, 9),
      proto: fc.constantFrom('TCP', 'UDP', 'SCTP'),
    }),
    { minLength: 1, maxLength: 4 },
  ),
  nps: fc.array(fc.record({ ns: fc.constantFrom('a', 'b'), spec: npSpec }), { maxLength: 3 }),
  anps: fc.array(anpSpec(false), { maxLength: 2 }),
  banp: fc.option(anpSpec(true), { nil: undefined }),
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
        const docs: unknown[] = [ns('a', { team: 'x' }), ns('b', { team: 'y' })]
        e.pods.forEach((p, i) =>
          docs.push(
            pod(`p${i}`, p.ns, { app: p.app }, [
              { name: 'web', containerPort: p.web, protocol: p.proto },
            ]),
          ),
        )
        e.nps.forEach((n, i) => docs.push(np(`np${i}`, n.ns, n.spec)))
        e.anps.forEach((s, i) =>
          docs.push({
            apiVersion: 'policy.networking.k8s.io/v1alpha1',
            kind: 'AdminNetworkPolicy',
            metadata: { name: `anp${i}` },
            spec: { priority: i, ...s },
          }),
        )
        if (e.banp)
          docs.push({
            apiVersion: 'policy.networking.k8s.io/v1alpha1',
            kind: 'BaselineAdminNetworkPolicy',
            metadata: { name: 'default' },
            spec: e.banp,
          })
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
      { seed: 42, numRuns: 80 },
    )
  })
})
