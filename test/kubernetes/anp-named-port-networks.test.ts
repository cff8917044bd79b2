/**
 * @module An admin policy egress rule with a `networks`, `nodes` or `domainNames` peer and a
 * `namedPort` port: a `k8s/named-port-address-peer` warning (the CRD's validation refuses it; the
 * rule is analysed as np-guard analyses it, whose case anp_test_named_ports_multiple_peers has one) (network-policy-api v1alpha1,
 * AdminNetworkPolicyEgressRule and BaselineAdminNetworkPolicyEgressRule: "networks/nodes/domainNames
 * peer cannot be set with namedPorts since there are no namedPorts for networks/nodes/domainNames").
 * Locations worked out by hand; each test uses its own few lines of YAML.
 */
import { describe, expect, it } from 'vitest'
import { analyze, formatK8sConnlist } from '../../src/kubernetes/index.js'

/** One pod x/a: lines 1–5. */
const PODS = `apiVersion: v1
kind: Pod
metadata: { name: a, namespace: x, labels: { app: a } }
spec: { containers: [{ name: c, image: i, ports: [{ name: dns, containerPort: 53, protocol: UDP }] }] }
---
`

/** The diagnostics other than `k8s/unsupported-field` (a domainNames peer is ignored with one). */
function errors(policy: string): unknown[] {
  return analyze([{ path: 'm.yaml', text: PODS + policy }])
    .diagnostics.filter((d) => d.code !== 'k8s/unsupported-field')
    .map((d) => [d.code, d.severity, d.location?.line, d.location?.column, d.related?.[0]?.line])
}

/** An admin policy (from line 6) whose egress rule has `peer` on line 14 and its ports on 16–17 (a BANP, without priority: 13, 15–16). */
const policy = (peer: string, port: string, kind = 'AdminNetworkPolicy', action = 'Allow') =>
  `apiVersion: policy.networking.k8s.io/v1alpha1
kind: ${kind}
metadata: { name: ${kind === 'AdminNetworkPolicy' ? 'p' : 'default'} }
spec:
${kind === 'AdminNetworkPolicy' ? '  priority: 1\n' : ''}  subject: { namespaces: {} }
  egress:
    - action: ${action}
      to: [${peer}]
      ports:
        - ${port}
`

describe('admin policy egress: address peers and named ports', () => {
  const named = '{ portNumber: { port: 80 } }\n        - { namedPort: dns }'

  it('networks with a namedPort is warned at the namedPort, the peer related', () => {
    // line 17: "        - { namedPort: dns }": the value dns at column 24
    expect(errors(policy('{ networks: [10.0.0.0/8] }', named))).toEqual([
      ['k8s/named-port-address-peer', 'warning', 17, 24, 14],
    ])
  })

  it('so is a nodes peer beside a pods peer, and a BANP rule (no priority: one line less)', () => {
    expect(
      errors(policy('{ pods: { podSelector: {} } }, { nodes: { matchLabels: { a: b } } }', named)),
    ).toEqual([['k8s/named-port-address-peer', 'warning', 17, 24, 14]])
    expect(
      errors(policy('{ networks: [10.0.0.0/8] }', named, 'BaselineAdminNetworkPolicy', 'Deny')),
    ).toEqual([['k8s/named-port-address-peer', 'warning', 16, 24, 13]])
  })

  it('a domainNames peer too (the ANP CRD of 2024-10 names it in the same rule)', () => {
    expect(errors(policy('{ domainNames: [example.com] }', named))).toEqual([
      ['k8s/named-port-address-peer', 'warning', 17, 24, 14],
    ])
  })

  it('pods peers with a namedPort, and networks with numbers, are accepted', () => {
    expect(errors(policy('{ pods: { podSelector: {} } }', named))).toEqual([])
    expect(errors(policy('{ networks: [10.0.0.0/8] }', '{ portNumber: { port: 80 } }'))).toEqual([])
  })

  it("the rule is still analysed, as np-guard does: a Deny's numbered port applies, the named one matches no address", () => {
    // by hand: x/a may reach 10.0.0.0/8 on everything but TCP 80 (the Deny), and every other
    // address on everything; the named port dns (UDP 53 of x/a) is no port of an address
    const a = analyze([
      {
        path: 'm.yaml',
        text: PODS + policy('{ networks: [10.0.0.0/8] }', named, 'AdminNetworkPolicy', 'Deny'),
      },
    ])
    const line = formatK8sConnlist(a.connections, 'txt')
      .split('\n')
      .find((l) => l.startsWith('x/a[Pod] => 10.0.0.0-10.255.255.255[External]'))
    expect(line).toBe(
      'x/a[Pod] => 10.0.0.0-10.255.255.255[External] : SCTP 1-65535,TCP 1-79,81-65535,UDP 1-65535',
    )
  })
})
