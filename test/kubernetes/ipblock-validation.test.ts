/**
 * @module How the Kubernetes analysis reads IPv4-mapped IPv6 blocks and ipBlock excepts.
 * Expectations worked out by hand from the Kubernetes source (ValidateIPBlock, ParseCIDRSloppy, GetWarningsForCIDR), the network-policy-api
 * v1alpha1 CIDR type and Go's `net.ParseCIDR`; each test uses its own few lines of YAML.
 */
import { describe, expect, it } from 'vitest'
import { analyze, formatK8sConnlist, loadModel } from '../../src/kubernetes/index.js'

/** Namespace a, pods a/web (app: web, ingress policy below) and a/cli: lines 1–14. */
const PODS = `apiVersion: v1
kind: Namespace
metadata: { name: a }
---
apiVersion: v1
kind: Pod
metadata: { name: web, namespace: a, labels: { app: web } }
spec: { containers: [{ name: c, image: i, ports: [{ containerPort: 80 }] }] }
---
apiVersion: v1
kind: Pod
metadata: { name: cli, namespace: a, labels: { app: cli } }
spec: { containers: [{ name: c, image: i }] }
---
`

/** An ingress policy on a/web from one ipBlock on TCP 80; the block at line 23. */
function ingressFrom(block: string) {
  const a = analyze([
    {
      path: 'm.yaml',
      text: `${PODS}apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: web-in, namespace: a }
spec:
  podSelector: { matchLabels: { app: web } }
  policyTypes: [Ingress]
  ingress:
    - ports: [{ port: 80 }]
      from: [{ ipBlock: ${block} }]
`,
    },
  ])
  return {
    errors: a.diagnostics.filter((d) => d.severity !== 'warning').map((d) => d.code),
    warnings: a.diagnostics.filter((d) => d.severity === 'warning').map((d) => d.code),
    toWeb: formatK8sConnlist(a.connections, 'txt')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.endsWith('=> a/web[Pod] : TCP 80')),
  }
}

const TEN_LESS_TEN_ONE = [
  '10.0.0.0-10.0.255.255[External] => a/web[Pod] : TCP 80',
  '10.2.0.0-10.255.255.255[External] => a/web[Pod] : TCP 80',
]

describe('IPv4-mapped IPv6 blocks in ipBlocks, as the API server reads them', () => {
  it('::ffff:10.0.0.0/104 except ::ffff:10.1.0.0/112 is 10.0.0.0/8 except 10.1.0.0/16, with a warning each', () => {
    const r = ingressFrom('{ cidr: "::ffff:10.0.0.0/104", except: ["::ffff:10.1.0.0/112"] }')
    expect(r.errors).toEqual([])
    expect(r.warnings).toEqual(['k8s/cidr-ipv4-mapped', 'k8s/cidr-ipv4-mapped'])
    expect(r.toWeb).toEqual(TEN_LESS_TEN_ONE)
  })

  it('an IPv4 cidr with a mapped except /112 passes the strict-subset check (8 < 112)', () => {
    const r = ingressFrom('{ cidr: 10.0.0.0/8, except: ["::ffff:10.1.0.0/112"] }')
    expect(r.errors).toEqual([])
    expect(r.toWeb).toEqual(TEN_LESS_TEN_ONE)
  })

  it('a mapped cidr /104 with an IPv4 except /16 is refused: Kubernetes compares 104 with 16', () => {
    expect(ingressFrom('{ cidr: "::ffff:10.0.0.0/104", except: [10.1.0.0/16] }').errors).toEqual([
      'k8s/except-outside-cidr',
    ])
  })

  it('an except equal to its cidr is refused (not a strict subset)', () => {
    expect(ingressFrom('{ cidr: 10.0.0.0/8, except: [10.0.0.0/8] }').errors).toEqual([
      'k8s/except-outside-cidr',
    ])
    expect(ingressFrom('{ cidr: "::ffff:10.0.0.0/104", except: [10.0.0.0/8] }').errors).toEqual([
      'k8s/except-outside-cidr',
    ])
  })

  it('a mapped except that holds the whole cidr, which the API server lets through, removes it', () => {
    const r = ingressFrom('{ cidr: 0.0.0.0/1, except: ["::ffff:0.0.0.0/96"] }')
    expect(r.errors).toEqual([])
    expect(r.toWeb).toEqual([])
  })

  it('a mapped address with a prefix under 96 is an IPv6 block (::/8), as Go masks it', () => {
    const r = ingressFrom('{ cidr: "::ffff:10.0.0.0/8" }')
    expect(r.errors).toEqual([])
    expect(r.warnings).toEqual(['k8s/cidr-host-bits', 'k8s/cidr-ipv4-mapped'])
    expect(r.toWeb).toEqual([
      '::-ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff[External] => a/web[Pod] : TCP 80',
    ])
  })

  it('an AdminNetworkPolicy networks block in mapped notation is refused, as its CRD does', () => {
    const { diagnostics } = loadModel([
      {
        path: 'm.yaml',
        text: `${PODS}apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: { name: x }
spec:
  priority: 1
  subject: { namespaces: {} }
  egress: [{ action: Deny, to: [{ networks: ["::ffff:10.0.0.0/104"] }] }]
`,
      },
    ])
    expect(diagnostics.map((d) => [d.code, d.location?.line])).toEqual([['k8s/bad-cidr', 21]])
  })
})
