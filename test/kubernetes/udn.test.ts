/**
 * OVN-Kubernetes primary user-defined networks in `k8s connlist` / `k8s eval` / `k8s import`
 * (src/kubernetes/udn.ts), on small fixtures written here. Semantics as np-guard reads them.
 */
import { describe, expect, it } from 'vitest'
import {
  analyzeDocuments,
  evaluateK8s,
  findEndpoint,
  formatK8sConnlist,
  importManifests,
  type K8sModel,
} from '../../src/kubernetes/index.js'

const LABEL = 'k8s.ovn.org/primary-user-defined-network'

const ns = (name: string, labels: Record<string, string> = { [LABEL]: '' }) => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels },
})
const pod = (namespace: string, name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels },
  spec: { containers: [{ name: 'c', ports: [{ containerPort: 8080, name: 'http' }] }] },
})
const udn = (namespace: string, role = 'Primary', name = 'net') => ({
  apiVersion: 'k8s.ovn.org/v1',
  kind: 'UserDefinedNetwork',
  metadata: { name, namespace },
  spec: { topology: 'Layer2', layer2: { role, subnets: ['10.10.0.0/16'] } },
})
const cudn = (name: string, namespaceSelector: unknown) => ({
  apiVersion: 'k8s.ovn.org/v1',
  kind: 'ClusterUserDefinedNetwork',
  metadata: { name },
  spec: {
    namespaceSelector,
    network: {
      topology: 'Layer3',
      layer3: { role: 'Primary', subnets: [{ cidr: '10.20.0.0/16' }] },
    },
  },
})
const denyIngressExcept = (namespace: string, port: number) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'only', namespace },
  spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ ports: [{ port }] }] },
})

const codes = (docs: unknown[]) =>
  analyzeDocuments(docs).diagnostics.map((d) => [d.code, d.severity])

describe('k8s connlist: primary UserDefinedNetworks isolate their namespace', () => {
  const docs = [
    ns('red'),
    udn('red'),
    pod('red', 'a'),
    pod('red', 'b'),
    denyIngressExcept('red', 9001),
    ns('plain', {}),
    pod('plain', 'p'),
    pod('plain', 'q'),
  ]
  const a = analyzeDocuments(docs)

  it('prints the pod network and one section per UDN; nothing crosses networks', () => {
    expect(a.diagnostics).toEqual([])
    expect(formatK8sConnlist(a.connections, 'txt')).toBe(
      [
        'Permitted connectivity analyzed in Pod network:',
        '0.0.0.0-255.255.255.255[External] => plain/p[Pod] : All Connections',
        '0.0.0.0-255.255.255.255[External] => plain/q[Pod] : All Connections',
        'plain/p[Pod] => 0.0.0.0-255.255.255.255[External] : All Connections',
        'plain/p[Pod] => plain/q[Pod] : All Connections',
        'plain/q[Pod] => 0.0.0.0-255.255.255.255[External] : All Connections',
        'plain/q[Pod] => plain/p[Pod] : All Connections',
        '',
        'Permitted connectivity analyzed in primary UDN red:',
        '0.0.0.0-255.255.255.255[External] => red[udn]/a[Pod] : TCP 9001',
        '0.0.0.0-255.255.255.255[External] => red[udn]/b[Pod] : TCP 9001',
        'red[udn]/a[Pod] => 0.0.0.0-255.255.255.255[External] : All Connections',
        'red[udn]/a[Pod] => red[udn]/b[Pod] : TCP 9001',
        'red[udn]/b[Pod] => 0.0.0.0-255.255.255.255[External] : All Connections',
        'red[udn]/b[Pod] => red[udn]/a[Pod] : TCP 9001',
        '',
      ].join('\n'),
    )
  })

  it('two UDN namespaces are two networks; json stays one list with the [udn] names', () => {
    const two = analyzeDocuments([
      ns('x'),
      udn('x'),
      pod('x', 'a'),
      ns('y'),
      udn('y'),
      pod('y', 'b'),
    ])
    const rows = JSON.parse(formatK8sConnlist(two.connections, 'json')) as {
      src: string
      dst: string
    }[]
    expect(rows.map((r) => `${r.src} => ${r.dst}`)).toEqual([
      '0.0.0.0-255.255.255.255[External] => x[udn]/a[Pod]',
      '0.0.0.0-255.255.255.255[External] => y[udn]/b[Pod]',
      'x[udn]/a[Pod] => 0.0.0.0-255.255.255.255[External]',
      'y[udn]/b[Pod] => 0.0.0.0-255.255.255.255[External]',
    ])
    const txt = formatK8sConnlist(two.connections, 'txt')
    expect(txt.startsWith('\nPermitted connectivity analyzed in primary UDN x:\n')).toBe(true)
    expect(txt).toContain('\n\nPermitted connectivity analyzed in primary UDN y:\n')
    expect(txt).not.toContain('Pod network')
  })

  it('k8s eval denies across networks, naming the networks, and finds ns/name of a UDN workload', () => {
    const m: K8sModel = a.model
    const ep = (t: string) => {
      const e = findEndpoint(m, t)
      if (typeof e === 'string') throw new Error(e)
      return e
    }
    const v = evaluateK8s(m, ep('plain/p'), ep('red/a'), 6, 9001)
    expect(v.allowed).toBe(false)
    expect(v.dst).toBe('red[udn]/a[Pod]')
    expect(v.egress?.steps).toEqual([
      expect.objectContaining({ layer: 'PrimaryNetwork', action: 'Deny' }),
    ])
    expect(evaluateK8s(m, ep('red/b'), ep('red/a'), 6, 9001).allowed).toBe(true)
  })

  it('analyze and k8s eval agree on every workload pair, inside and across networks', () => {
    const m = a.model
    expect(m.workloads.length).toBeGreaterThan(1)
    for (const src of m.workloads) {
      for (const dst of m.workloads) {
        if (src === dst) continue
        const conn = a.connections.find((c) => c.src === src.name && c.dst === dst.name)
        for (const port of [80, 9001]) {
          const v = evaluateK8s(
            m,
            { kind: 'workload', workload: src },
            { kind: 'workload', workload: dst },
            6,
            port,
          )
          expect([src.name, dst.name, port, v.allowed]).toEqual([
            src.name,
            dst.name,
            port,
            conn?.services.has(6, port) ?? false,
          ])
        }
      }
    }
  })

  it("the ingress controller reaches a UDN workload, in that network's section", () => {
    const b = analyzeDocuments([
      ns('red'),
      udn('red'),
      pod('red', 'web', { app: 'web' }),
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: 'red' },
        spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
      },
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: 'web', namespace: 'red' },
        spec: { defaultBackend: { service: { name: 'web', port: { number: 80 } } } },
      },
    ])
    expect(formatK8sConnlist(b.connections, 'txt').split('\n')).toContain(
      '{ingress-controller} => red[udn]/web[Pod] : TCP 8080',
    )
  })
})

describe('k8s connlist: which namespaces a UDN / CUDN takes', () => {
  it('a UDN whose namespace lacks the label, or a Secondary one, is ignored with a warning', () => {
    const docs = [ns('red', {}), udn('red'), pod('red', 'a'), pod('red', 'b')]
    expect(codes(docs)).toEqual([['k8s/network-ignored', 'warning']])
    expect(formatK8sConnlist(analyzeDocuments(docs).connections, 'txt')).toContain(
      'red/a[Pod] => red/b[Pod] : All Connections',
    )
    expect(codes([ns('red'), udn('red', 'Secondary'), pod('red', 'a')])).toEqual([
      ['k8s/network-ignored', 'warning'],
    ])
    // a namespace only implied by its pods is not declared with the label
    expect(codes([udn('red'), pod('red', 'a')])).toEqual([['k8s/network-ignored', 'warning']])
  })

  it('a CUDN joins the labelled namespaces its selector matches into one network', () => {
    const docs = [
      ns('a', { [LABEL]: '', tenant: 't' }),
      ns('b', { [LABEL]: '', tenant: 't' }),
      ns('c', { tenant: 't' }),
      cudn('tenant-net', { matchLabels: { tenant: 't' } }),
      pod('a', 'x'),
      pod('b', 'y'),
      pod('c', 'z'),
    ]
    const r = analyzeDocuments(docs)
    expect(r.diagnostics.map((d) => [d.code, d.severity])).toEqual([
      ['k8s/network-ignored', 'warning'],
    ])
    const txt = formatK8sConnlist(r.connections, 'txt')
    const [podNet, tenant] = txt.split(
      '\nPermitted connectivity analyzed in primary CUDN tenant-net:\n',
    )
    expect(podNet).toContain('c/z[Pod] => 0.0.0.0-255.255.255.255[External]')
    expect(podNet).not.toContain('a/x')
    expect(tenant).toContain('a/x[Pod] => b/y[Pod] : All Connections')
    expect(tenant).toContain('b/y[Pod] => a/x[Pod] : All Connections')
    expect(txt).not.toContain('c/z[Pod] => a/x')
    expect(txt).not.toContain('[udn]')
  })

  it('a UDN and a CUDN are different networks', () => {
    const docs = [
      ns('a', { [LABEL]: '', t: '1' }),
      ns('b', { [LABEL]: '' }),
      cudn('n', { matchLabels: { t: '1' } }),
      udn('b'),
      pod('a', 'x'),
      pod('b', 'y'),
    ]
    const conns = analyzeDocuments(docs).connections
    expect(
      conns.filter((c) => !c.src.endsWith('[External]') && !c.dst.endsWith('[External]')),
    ).toEqual([])
  })

  it('refuses what OVN-Kubernetes refuses (k8s/bad-network)', () => {
    const bad = (docs: unknown[]) =>
      expect(codes(docs)).toContainEqual(['k8s/bad-network', 'error'])
    bad([ns('default'), udn('default'), pod('default', 'a')])
    bad([ns('openshift-x'), udn('openshift-x')])
    bad([ns('red'), udn('red', 'Primary', 'default')])
    bad([ns('red'), udn('red', 'Primary', 'one'), udn('red', 'Primary', 'two')])
    bad([ns('red'), { ...udn('red'), spec: { topology: 'Layer4' } }])
    bad([ns('red'), { ...udn('red'), spec: { topology: 'Layer2', layer2: { role: 'Main' } } }])
    bad([ns('red'), udn('red'), ns('blue'), cudn('all', {})])
  })
})

describe('k8s import: primary networks cannot be imported', () => {
  it('is refused with k8s/not-importable', () => {
    const text = JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [ns('red'), udn('red'), pod('red', 'a')],
    })
    const r = importManifests([{ path: 'k.json', text }])
    expect(r.diagnostics).toContainEqual(
      expect.objectContaining({ code: 'k8s/not-importable', severity: 'error' }),
    )
  })
})

describe('k8s connlist: the ingress controller reaches declared target ports only', () => {
  it('a pod behind the Service that does not declare the numeric target port is not reached; a VM is', () => {
    const svc = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's', namespace: 'n' },
      spec: { selector: { app: 'x' }, ports: [{ port: 80, targetPort: 8080 }] },
    }
    const ing = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'i', namespace: 'n' },
      spec: { defaultBackend: { service: { name: 's', port: { number: 80 } } } },
    }
    const other = {
      ...pod('n', 'other', { app: 'x' }),
      spec: { containers: [{ name: 'c', ports: [{ containerPort: 9000 }] }] },
    }
    const vm = {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: 'vm', namespace: 'n' },
      spec: { template: { metadata: { labels: { app: 'x' } } } },
    }
    const r = analyzeDocuments([pod('n', 'web', { app: 'x' }), other, vm, svc, ing])
    expect(
      formatK8sConnlist(r.connections, 'txt')
        .split('\n')
        .filter((l) => l.startsWith('{ingress-controller}')),
    ).toEqual([
      '{ingress-controller} => n/vm[VirtualMachine] : TCP 8080',
      '{ingress-controller} => n/web[Pod] : TCP 8080',
    ])
  })
})
