/**
 * @module AdminNetworkPolicy `domainNames` egress peers (network-policy-api v1alpha1,
 * experimental: Allow rules of an ANP only, not a BANP). Expectations worked out by hand from the
 * v1alpha1 types; each test uses its own few lines of YAML.
 */
import { describe, expect, it } from 'vitest'
import { analyze, formatK8sConnlist } from '../../src/kubernetes/index.js'

/** One pod x/a: lines 1–5. */
const PODS = `apiVersion: v1
kind: Pod
metadata: { name: a, namespace: x, labels: { app: a } }
spec: { containers: [{ name: c, image: i }] }
---
`

function run(policy: string) {
  const a = analyze([{ path: 'm.yaml', text: PODS + policy }])
  return {
    errors: a.diagnostics
      .filter((d) => d.severity !== 'warning')
      .map((d) => [d.code, d.location?.line]),
    warnings: a.diagnostics
      .filter((d) => d.severity === 'warning')
      .map((d) => [d.code, d.location?.line]),
    out: formatK8sConnlist(a.connections, 'txt')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('x/a[Pod] =>')),
  }
}

const anp = (
  action: string,
  kind = 'AdminNetworkPolicy',
) => `apiVersion: policy.networking.k8s.io/v1alpha1
kind: ${kind}
metadata: { name: ${kind === 'AdminNetworkPolicy' ? 'dns' : 'default'} }
spec:
${kind === 'AdminNetworkPolicy' ? '  priority: 1\n' : ''}  subject: { namespaces: {} }
  egress:
    - { action: ${action}, to: [{ domainNames: ["*.example.com", kubernetes.io] }] }
    - { action: Deny, to: [{ networks: [0.0.0.0/0] }] }
`

describe('ANP domainNames peers', () => {
  it('an Allow rule to domain names is read, ignored with a warning: the Deny after it decides', () => {
    const r = run(anp('Allow'))
    expect(r.errors).toEqual([])
    expect(r.warnings).toEqual([['k8s/unsupported-field', 13]])
    expect(r.out).toEqual([])
  })

  it('a Deny rule with domain names is k8s/bad-policy (Allow rules only)', () => {
    expect(run(anp('Deny')).errors).toEqual([['k8s/bad-policy', 13]])
  })

  it('a BaselineAdminNetworkPolicy has no domainNames peer', () => {
    expect(run(anp('Allow', 'BaselineAdminNetworkPolicy')).errors).toEqual([['k8s/bad-policy', 12]])
  })

  it('a name that is no domain name is k8s/bad-policy', () => {
    expect(run(anp('Allow').replace('*.example.com', '*example.com')).errors).toEqual([
      ['k8s/bad-policy', 13],
    ])
  })
})
