import { describe, expect, it } from 'vitest'
import { analyze, analysisUsable } from '../../src/kubernetes/index.js'

const NS = `apiVersion: v1
kind: Pod
metadata: { name: a, namespace: x, labels: { app: a } }
---
`

/** A NetworkPolicy np1 in namespace x: its 4-line header, then `spec` (the body under `spec:`). */
const np = (spec: string): string => `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: np1, namespace: x }
spec:
${spec}`

function diags(text: string) {
  const a = analyze([{ path: 'p.yaml', text: NS + text }])
  return { a, d: a.diagnostics.filter((x) => x.severity !== 'warning') }
}

describe('invalid policies: located errors naming the policy', () => {
  const cases: [string, string, string, number][] = [
    [
      'bad cidr',
      np(`  podSelector: {}
  ingress:
    - from:
        - ipBlock: { cidr: 10.0.0.300/8 }
`),
      'k8s/bad-cidr',
      12,
    ],
    [
      'except outside cidr',
      np(`  podSelector: {}
  egress:
    - to:
        - ipBlock:
            cidr: 10.0.0.0/16
            except:
              - 10.1.0.0/24
`),
      'k8s/except-outside-cidr',
      15,
    ],
    [
      'unknown protocol',
      np(`  podSelector: {}
  ingress:
    - ports:
        - protocol: ICMP
`),
      'k8s/unknown-protocol',
      12,
    ],
    [
      'protocol named like an Object.prototype property (found by the fuzz campaign: it was protocol Object)',
      np(`  podSelector: {}
  ingress:
    - ports:
        - protocol: constructor
`),
      'k8s/unknown-protocol',
      12,
    ],
    [
      'bad selector operator',
      np(`  podSelector:
    matchExpressions:
      - key: app
        operator: Equals
        values: [a]
`),
      'k8s/bad-selector',
      12,
    ],
    [
      'selector value that is a YAML number (the API server refuses it; 1.10 would read 1.1)',
      np(`  podSelector:
    matchLabels:
      version: 1.10
`),
      'k8s/bad-selector',
      11,
    ],
    [
      'selector with an unknown field (a typo for matchLabels read as the empty selector, every pod)',
      np(`  podSelector:
    matchLabel:
      app: a
`),
      'k8s/bad-selector',
      11,
    ],
    [
      // the peer shape of an older draft, as in kubernetes-sigs/network-policy-api
      // conformance/base/api_integration/core-anp-np-banp.yaml: it was read as every namespace
      'ANP namespaces peer in an older shape (namespaces: {namespaceSelector: ...})',
      `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: { name: anp1 }
spec:
  priority: 10
  subject: { namespaces: {} }
  ingress:
    - name: r
      action: Deny
      from:
        - namespaces:
            namespaceSelector: { matchLabels: { house: slytherin } }
`,
      'k8s/bad-selector',
      16,
    ],
    [
      'endPort below port',
      np(`  podSelector: {}
  ingress:
    - ports:
        - port: 90
          endPort: 80
`),
      'k8s/bad-port',
      13,
    ],
    [
      'ANP priority out of range',
      `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: { name: anp1 }
spec:
  priority: 1001
  subject: { namespaces: {} }
`,
      'k8s/priority-out-of-range',
      9,
    ],
    [
      'BANP with Pass',
      `apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: { name: default }
spec:
  subject: { namespaces: {} }
  ingress:
    - name: r
      action: Pass
      from: [{ namespaces: {} }]
`,
      'k8s/bad-policy',
      12,
    ],
  ]
  for (const [name, text, code, line] of cases) {
    it(name, () => {
      const { a, d } = diags(text)
      expect(analysisUsable(a)).toBe(false)
      expect(d).toContainEqual(
        expect.objectContaining({
          code,
          location: expect.objectContaining({ file: 'p.yaml', line }),
        }),
      )
      expect(d.find((x) => x.code === code)?.message).toMatch(/np1|anp1|default/)
    })
  }

  it('a match expression without key or operator says which is missing (hN, session 31)', () => {
    // own fixture; LabelSelectorRequirement (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/label-selector/):
    // key and operator are required. Before, the message read 'undefined is not a valid label key'
    const sel = (e: string) =>
      diags(
        np(`  podSelector:
    matchExpressions:
      - ${e}
`),
      ).d.map((x) => x.message)
    expect(sel('{ operator: Exists }')).toEqual([
      'NetworkPolicy x/np1: a match expression needs a key (the label key it tests)',
    ])
    expect(sel('{ key: app, values: [a] }')).toEqual([
      'NetworkPolicy x/np1: a match expression needs an operator: In, NotIn, Exists or DoesNotExist',
    ])
    expect(sel('{ key: 7, operator: Exists }')).toEqual([
      'NetworkPolicy x/np1: 7 is not a valid label key (label keys are text: quote it)',
    ])
    expect(sel("{ key: 'bad key', operator: Exists }")[0]).toMatch(
      /"bad key" is not a valid label key \(letters, digits/,
    )
  })

  it('policyTypes default: ingress rules only do not isolate egress', () => {
    const { a } = diags(
      np(`  podSelector: {}
  ingress: []
`),
    )
    const names = a.connections.map((c) => `${c.src} => ${c.dst}`)
    expect(names).toContain('x/a[Pod] => 0.0.0.0-255.255.255.255[External]')
    expect(names).not.toContain('0.0.0.0-255.255.255.255[External] => x/a[Pod]')
  })

  it('same ANP priority is a warning, not an error', () => {
    const anp = (n: string) => `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: { name: ${n} }
spec:
  priority: 3
  subject: { namespaces: {} }
`
    const { a, d } = diags(`${anp('one')}---\n${anp('two')}`)
    expect(d).toEqual([])
    expect(a.diagnostics).toContainEqual(
      expect.objectContaining({ code: 'k8s/same-priority', severity: 'warning' }),
    )
  })
})

describe('port names (IANA_SVC_NAME)', () => {
  const withPort = (port: string) =>
    np(`  podSelector: {}
  ingress:
    - ports: [{ port: ${port} }]
`)
  it('accepts 15 characters with a letter, rejects 16, a trailing hyphen and upper case', () => {
    expect(diags(withPort('abcdefghijklmno')).d).toEqual([])
    for (const bad of ['abcdefghijklmnop', 'web-', 'Web']) {
      expect(diags(withPort(bad)).d).toContainEqual(
        expect.objectContaining({ code: 'k8s/bad-port' }),
      )
    }
  })
})
