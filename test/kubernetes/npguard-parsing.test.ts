/**
 * @module How `k8s connlist` reads policies, where checking it against np-guard's own
 * connectivity cases (beyond the 22 of ../shared/corpora) showed defects and gaps. Each test uses
 * its own few lines of YAML; the np-guard case that showed the problem is named in the test.
 */
import { describe, expect, it } from 'vitest'
import { analyze, formatK8sConnlist } from '../../src/kubernetes/index.js'

/** A Deployment `name` (labels app: name) in namespace `ns`: 9 lines, the last `---`. */
const deployment = (name: string, ns: string): string => `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: ${ns} }
spec:
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec: { containers: [{ name: c, image: i }] }
---
`

/** Two namespaces with one Deployment each (x/a and y/b): lines 1–18. */
const PODS = deployment('a', 'x') + deployment('b', 'y')

function run(policies: string) {
  const a = analyze([{ path: 'm.yaml', text: PODS + policies }])
  return {
    a,
    errors: a.diagnostics.filter((d) => d.severity !== 'warning'),
    warnings: a.diagnostics.filter((d) => d.severity === 'warning'),
    txt: formatK8sConnlist(a.connections, 'txt')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean),
  }
}

describe('CIDR blocks with host bits set are read masked, as Kubernetes and np-guard read them', () => {
  // shown by np-guard's anp_banp_test_multiple_warnings and anp_and_banp_using_networks_with_ipv6_test
  // (ANP networks ff06::/3), which Bulkhead refused as k8s/bad-cidr
  it('an ipBlock cidr 10.0.0.1/8 is 10.0.0.0/8, with a k8s/cidr-host-bits warning', () => {
    const r = run(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: out, namespace: x }
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
    - to:
        - ipBlock: { cidr: 10.0.0.1/8, except: [10.1.2.3/16] }
`)
    expect(r.errors).toEqual([])
    // one for the cidr, one for the except, each at its own block
    expect(r.warnings.map((d) => [d.code, d.location?.line, d.location?.column])).toEqual([
      ['k8s/cidr-host-bits', 27, 28],
      ['k8s/cidr-host-bits', 27, 49],
    ])
    expect(r.txt.filter((l) => l.startsWith('x/a[Deployment] =>'))).toEqual([
      'x/a[Deployment] => 10.0.0.0-10.0.255.255[External] : All Connections',
      'x/a[Deployment] => 10.2.0.0-10.255.255.255[External] : All Connections',
    ])
  })

  it('an ANP networks block ff06::/3 is e000::/3', () => {
    const r = run(`apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: { name: deny-v6 }
spec:
  priority: 1
  subject: { namespaces: {} }
  egress:
    - { name: d, action: Deny, to: [{ networks: [ff06::/3] }] }
`)
    expect(r.errors).toEqual([])
    expect(r.warnings.map((d) => d.code)).toEqual(['k8s/cidr-host-bits'])
    expect(r.txt).toContain(
      'x/a[Deployment] => ::-dfff:ffff:ffff:ffff:ffff:ffff:ffff:ffff[External] : All Connections',
    )
    expect(r.txt.some((l) => l.includes('e000::'))).toBe(false)
  })

  it('a malformed block or a bare address is still k8s/bad-cidr', () => {
    for (const cidr of ['10.0.0.300/8', '10.0.0.0/33', '10.0.0.1']) {
      const r = run(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: out, namespace: x }
spec:
  podSelector: {}
  egress:
    - to: [{ ipBlock: { cidr: "${cidr}" } }]
`)
      expect(r.errors.map((d) => d.code)).toEqual(['k8s/bad-cidr'])
    }
  })
})

describe('ANP nodes peers are ignored with a warning, as np-guard ignores them', () => {
  // shown by np-guard's anp_and_banp_using_networks_and_nodes_test and
  // anp_banp_test_multiple_warnings, which Bulkhead refused as k8s/unsupported-field errors
  const anp = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: { name: with-nodes }
spec:
  priority: 1
  subject: { namespaces: { matchLabels: { kubernetes.io/metadata.name: x } } }
  egress:
    - name: only-nodes
      action: Deny
      to: [{ nodes: { matchExpressions: [{ key: role, operator: Exists }] } }]
    - name: nodes-and-pods
      action: Deny
      to:
        - nodes: { matchLabels: { role: infra } }
        - namespaces: { matchLabels: { kubernetes.io/metadata.name: y } }
`
  it('the other peers of the rule still apply; a rule of nodes peers only matches nothing', () => {
    const r = run(anp)
    expect(r.errors).toEqual([])
    expect(r.warnings.map((d) => [d.code, d.location?.line])).toEqual([
      ['k8s/unsupported-field', 28],
      ['k8s/unsupported-field', 32],
    ])
    expect(r.txt).toEqual([
      '0.0.0.0-255.255.255.255[External] => x/a[Deployment] : All Connections',
      '0.0.0.0-255.255.255.255[External] => y/b[Deployment] : All Connections',
      'x/a[Deployment] => 0.0.0.0-255.255.255.255[External] : All Connections',
      'y/b[Deployment] => 0.0.0.0-255.255.255.255[External] : All Connections',
      'y/b[Deployment] => x/a[Deployment] : All Connections',
    ])
  })

  it('a nodes peer with a bad selector is still an error', () => {
    const r = run(anp.replace('operator: Exists', 'operator: Equals'))
    expect(r.errors.map((d) => d.code)).toEqual(['k8s/bad-selector'])
  })
})
