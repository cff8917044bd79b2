/**
 * @module Held-out check of the Cilium checker (`ciliumAllows`) against Cilium's own documents,
 * independently of the compiler (s32 hH). Each case is a policy written after an example of the
 * Cilium docs (policy language: layer 3, layer 4, deny policies, entities, CIDR; Kubernetes
 * constructs: namespaces, clusterwide policies), on a small estate of pods, node and outside
 * addresses; the expected verdicts were worked out by hand from the quoted text, not taken from
 * Bulkhead. Cases on fields the compiler never writes are kept too, so that the checker either
 * reads them as Cilium does or refuses them, never misreads them silently.
 *
 * Sources: https://docs.cilium.io/en/stable/security/policy/ (layer3.rst, layer4.rst, deny.rst,
 * intro.rst, kubernetes.rst in cilium/cilium `Documentation/security/policy/`), the CRD field
 * documentation (`Rule.ingress`: "If omitted or empty, this rule does not apply at ingress";
 * `enableDefaultDeny`), and `getEndpointSelector` (pkg/k8s/apis/cilium.io/utils/utils.go: a peer
 * selector naming no namespace is limited to the policy's namespace, or in a clusterwide policy
 * to endpoints that have one).
 */
import { describe, expect, it } from 'vitest'
import {
  ciliumAllows,
  PodGroupResolver,
  planCilium,
  type CheckEndpoint,
  type CiliumNodes,
  type K8sObject,
} from '../../src/compile/index.js'
import { evaluate } from '../../src/policy/evaluate.js'
import { allObjects } from './k8s-differential.js'
import { NOW, SHOP, SHOP_POLICIES } from './kubernetes-fixture.js'
import { SHOP_HAND } from './shop-hand-verdicts.js'
import {
  docPod,
  endpointOf,
  expectDocFlows,
  ICMP,
  ICMP6,
  objects,
  TCP,
  UDP,
  type DocFlow,
} from './docs-cases.js'

const mk = docPod

/** The estate: pods in four namespaces, two nodes, addresses outside the cluster. */
const PODS = {
  front: mk('default', 'front', '10.0.1.1', { role: 'frontend' }),
  back: mk('default', 'back', '10.0.1.2', { role: 'backend' }),
  svc: mk('default', 'svc', '10.0.1.3', { app: 'myService' }),
  dev: mk('default', 'dev', '10.0.1.4', { env: 'dev' }),
  pub: mk('default', 'pub', '10.0.1.5', { role: 'public' }),
  crawler: mk('default', 'crawler', '10.0.1.6', { role: 'crawler' }),
  front2: mk('ns2', 'front2', '10.0.2.1', { role: 'frontend' }),
  luke: mk('ns2', 'luke', '10.0.2.2', { name: 'luke' }),
  back2: mk('ns2', 'back2', '10.0.2.3', { role: 'backend' }),
  leia: mk('ns1', 'leia', '10.0.3.1', { name: 'leia' }),
  dns: mk('kube-system', 'dns', '10.0.4.1', { 'k8s-app': 'kube-dns' }),
} as const

/** `host` is the node of the `default` pods, `remote` the node of the others. */
const HOST = '172.18.0.2'
const REMOTE = '172.18.0.3'
const NODES: CiliumNodes = {
  addresses: new Set([HOST, REMOTE]),
  nodeOf: new Map(
    Object.values(PODS).map((p) => [p.workload.name, p.namespace === 'default' ? HOST : REMOTE]),
  ),
}

/** A pod of {@link PODS} by name, or an address no pod holds. */
const end = endpointOf(PODS)

type Flow = DocFlow

function expectFlows(yaml: string, flows: readonly Flow[]): void {
  expectDocFlows(
    (objs, src, dst, p, port) => ciliumAllows(objs, src, dst, p, port, NODES),
    end,
    yaml,
    flows,
  )
}

describe('cilium checker against Cilium docs: layer 3', () => {
  it('simple ingress allow (l3.yaml): endpoints only, the policy namespace only', () => {
    // "allow communication from endpoints with the label role=frontend to endpoints with the
    // label role=backend"; a CiliumNetworkPolicy's fromEndpoints is limited to its namespace
    // ("the policy only applies to pods within that namespace"), and the world is no endpoint
    expectFlows(
      `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: l3-rule, namespace: default }
spec:
  endpointSelector: { matchLabels: { role: backend } }
  ingress:
    - fromEndpoints: [{ matchLabels: { role: frontend } }]
`,
      [
        ['front', 'back', TCP, 80, true],
        ['front', 'back', UDP, 53, true],
        ['svc', 'back', TCP, 80, false],
        ['front2', 'back', TCP, 80, false], // frontend, but in ns2
        ['8.8.8.8', 'back', TCP, 80, false],
        ['back', 'front', TCP, 80, true], // front is selected by no policy
        ['back', '8.8.8.8', TCP, 443, true], // back has no egress section
        ['front2', 'back2', TCP, 80, true], // ns2 holds no policy
      ],
    )
  })

  it('ingress allow all endpoints (ingress-allow-all.yaml): {} is every endpoint of the namespace', () => {
    // an empty EndpointSelector in a namespaced policy gets the policy's namespace added
    // (getEndpointSelector): pods of other namespaces and the world stay out
    expectFlows(
      `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: allow-all-to-victim, namespace: default }
spec:
  endpointSelector: { matchLabels: { role: backend } }
  ingress:
    - fromEndpoints: [{}]
`,
      [
        ['front', 'back', TCP, 80, true],
        ['svc', 'back', UDP, 9, true],
        ['front2', 'back', TCP, 80, false],
        ['8.8.8.8', 'back', TCP, 80, false],
        [REMOTE, 'back', TCP, 80, false],
        [HOST, 'back', TCP, 80, true], // the local host, whatever the policy (allow-localhost)
      ],
    )
  })

  it('egress allow all endpoints (egress-allow-all.yaml): the namespace only, not the world', () => {
    expectFlows(
      `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: allow-all-from-frontend, namespace: default }
spec:
  endpointSelector: { matchLabels: { role: frontend } }
  egress:
    - toEndpoints: [{}]
`,
      [
        ['front', 'back', TCP, 80, true],
        ['front', 'svc', UDP, 53, true],
        ['front', 'back2', TCP, 80, false],
        ['front', '8.8.8.8', TCP, 443, false],
        ['front', HOST, TCP, 10250, false],
        ['back', 'front', TCP, 80, true], // ingress of front is not restricted
      ],
    )
  })

  it('egress default deny (egress-default-deny.yaml): an empty egress rule allows nothing', () => {
    // "An endpoint can be put into the default deny mode at ingress or egress if a rule selects
    // the endpoint and contains the respective rule section ingress or egress"
    expectFlows(
      `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: deny-all-egress, namespace: default }
spec:
  endpointSelector: { matchLabels: { role: frontend } }
  egress:
    - {}
`,
      [
        ['front', 'back', TCP, 80, false],
        ['front', '8.8.8.8', UDP, 53, false],
        ['back', 'front', TCP, 80, true], // ingress untouched
        ['front2', 'back2', TCP, 80, true], // other namespace
      ],
    )
  })

  it('all-ingress-deny (cilium-cli connectivity test): ingress [{}] denies, as the compiler writes it', () => {
    // cilium-cli connectivity/builder/all_ingress_deny.go: "Pod to Pod fails because there is no
    // egress policy ... but then at the destination there is ingress policy that denies the
    // traffic"; "Egress to world works"
    expectFlows(
      `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: all-ingress-deny, namespace: default }
spec:
  endpointSelector: {}
  ingress:
    - {}
`,
      [
        ['front', 'back', TCP, 8080, false],
        ['front2', 'back', TCP, 8080, false],
        ['8.8.8.8', 'back', TCP, 8080, false],
        ['front', '8.8.8.8', TCP, 443, true],
        ['front', 'back2', TCP, 8080, true],
      ],
    )
  })

  it('an empty ingress list does not apply at ingress (CRD: "If omitted or empty")', () => {
    expectFlows(
      `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: empty-lists, namespace: default }
spec:
  endpointSelector: { matchLabels: { role: backend } }
  ingress: []
  egressDeny: []
`,
      [
        ['front', 'back', TCP, 80, true],
        ['back', '8.8.8.8', TCP, 443, true],
      ],
    )
  })

  it('simple egress deny (egress-deny.yaml): deny beats allow; a deny-only policy isolates', () => {
    // "If an egressDeny rule matches, egress traffic is denied even if the policy contains egress
    // rules that would otherwise allow it"; deny.rst: "Pods will enter default-deny mode as soon
    // as a single policy selects it" (enableDefaultDeny: "the default is true for each traffic
    // direction that has rules", IngressDeny/EgressDeny included)
    const deny = `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: deny-backend, namespace: default }
spec:
  endpointSelector: { matchLabels: { role: frontend } }
  egressDeny:
    - toEndpoints: [{ matchLabels: { role: backend } }]
`
    expectFlows(deny, [
      ['front', 'back', TCP, 80, false],
      ['front', 'svc', TCP, 80, false], // default deny at egress: nothing allows it
    ])
    expectFlows(
      `${deny}---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: allow-all-egress, namespace: default }
spec:
  endpointSelector: { matchLabels: { role: frontend } }
  egress:
    - toEndpoints: [{}]
`,
      [
        ['front', 'back', TCP, 80, false],
        ['front', 'svc', TCP, 80, true],
      ],
    )
  })

  it('enableDefaultDeny: false leaves the direction open but for the denies', () => {
    // CRD: "EnableDefaultDeny determines whether this policy configures the subject endpoint(s)
    // to have a default deny mode"; the metadata-service example of the docs
    expectFlows(
      `
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: { name: deny-metadata }
spec:
  endpointSelector: {}
  enableDefaultDeny: { egress: false, ingress: false }
  egressDeny:
    - toCIDRSet: [{ cidr: 169.254.169.254/32 }]
`,
      [
        ['front', '169.254.169.254', TCP, 80, false],
        ['front', '8.8.8.8', TCP, 443, true],
        ['front', 'back', TCP, 80, true],
      ],
    )
  })
})

describe('cilium checker against Cilium docs: deny policies (deny.rst table)', () => {
  const server = `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: allow-l3, namespace: default }
spec:
  endpointSelector: { matchLabels: { role: backend } }
  ingress:
    - fromEndpoints: [{ matchLabels: { role: frontend } }]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: allow-l4, namespace: default }
spec:
  endpointSelector: { matchLabels: { role: backend } }
  ingress:
    - fromEndpoints: [{ matchLabels: { role: frontend } }]
      toPorts: [{ ports: [{ port: "80", protocol: TCP }, { port: "81", protocol: TCP }] }]
`
  const denyL4 = `
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: deny-l4, namespace: default }
spec:
  endpointSelector: { matchLabels: { role: backend } }
  ingressDeny:
    - fromEndpoints: [{ matchLabels: { role: frontend } }]
      toPorts: [{ ports: [{ port: "80", protocol: TCP }] }]
`
  const denyL3 = `
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: deny-l3, namespace: default }
spec:
  endpointSelector: { matchLabels: { role: backend } }
  ingressDeny:
    - fromEndpoints: [{ matchLabels: { role: frontend } }]
`
  const curl = (a81: boolean, a80: boolean, ping: boolean): Flow[] => [
    ['front', 'back', TCP, 81, a81],
    ['front', 'back', TCP, 80, a80],
    ['front', 'back', ICMP, 8, ping],
  ]
  it('column 1: allow policies only', () => {
    expectFlows(server, curl(true, true, true))
  })
  it('column 2: plus a layer 4 deny of 80/TCP', () => {
    expectFlows(server + denyL4, curl(true, false, true))
  })
  it('column 3: plus a layer 3 deny of the client', () => {
    expectFlows(server + denyL3, curl(false, false, false))
  })
  it('column 5: a layer 4 deny alone: default deny', () => {
    expectFlows(denyL4, curl(false, false, false))
  })
})

describe('cilium checker against Cilium docs: entities', () => {
  it('from_world_deny.yaml: deny world, allow all', () => {
    // "deny ingress from world on all namespaces on all Pods managed by Cilium. Existing
    // inter-cluster policies will still be allowed as this policy is allowing traffic from
    // everywhere except from world"
    expectFlows(
      `
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: { name: external-lockdown }
spec:
  endpointSelector: {}
  ingressDeny:
    - fromEntities: [world]
  ingress:
    - fromEntities: [all]
`,
      [
        ['8.8.8.8', 'back', TCP, 80, false],
        ['2001:db8::1', 'back', TCP, 80, false],
        ['front2', 'back', TCP, 80, true],
        [REMOTE, 'back', TCP, 80, true],
        [HOST, 'back', TCP, 80, true],
        ['back', '8.8.8.8', TCP, 443, true], // no egress section
      ],
    )
  })

  it('host.yaml: toEntities host is the pod’s own node only', () => {
    expectFlows(
      `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: dev-to-host, namespace: default }
spec:
  endpointSelector: { matchLabels: { env: dev } }
  egress:
    - toEntities: [host]
`,
      [
        ['dev', HOST, TCP, 10250, true],
        ['dev', REMOTE, TCP, 10250, false],
        ['dev', '8.8.8.8', TCP, 443, false],
        ['dev', 'back', TCP, 80, false],
      ],
    )
  })

  it('nodes.yaml: fromEntities remote-node; the local host is let in anyway', () => {
    expectFlows(
      `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: from-nodes, namespace: default }
spec:
  endpointSelector: { matchLabels: { env: dev } }
  ingress:
    - fromEntities: [remote-node]
`,
      [
        [REMOTE, 'dev', TCP, 8080, true],
        [HOST, 'dev', TCP, 8080, true], // "Kubernetes will automatically allow all communication from the local host"
        ['8.8.8.8', 'dev', TCP, 8080, false],
        ['front', 'dev', TCP, 8080, false],
      ],
    )
  })

  it('world.yaml: fromEntities world is outside the cluster only', () => {
    expectFlows(
      `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: from-world, namespace: default }
spec:
  endpointSelector: { matchLabels: { role: public } }
  ingress:
    - fromEntities: [world]
`,
      [
        ['8.8.8.8', 'pub', TCP, 443, true],
        ['2001:db8::1', 'pub', TCP, 443, true],
        ['10.96.0.5', 'pub', TCP, 443, true], // inside the cluster range, but no endpoint
        ['front', 'pub', TCP, 443, false],
        [REMOTE, 'pub', TCP, 443, false],
      ],
    )
  })

  it('cluster: every endpoint and node, not the world', () => {
    expectFlows(
      `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: from-cluster, namespace: default }
spec:
  endpointSelector: { matchLabels: { role: public } }
  ingress:
    - fromEntities: [cluster]
`,
      [
        ['front', 'pub', TCP, 443, true],
        ['leia', 'pub', TCP, 443, true],
        [REMOTE, 'pub', TCP, 443, true],
        ['8.8.8.8', 'pub', TCP, 443, false],
      ],
    )
  })

  it('all: every peer, and a deny of all stops even the local host', () => {
    const all = (field: string): string => `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: all-${field}, namespace: default }
spec:
  endpointSelector: { matchLabels: { role: public } }
  ${field}:
    - fromEntities: [all]
`
    const peers = ['front', 'leia', REMOTE, HOST, '8.8.8.8', '2001:db8::1']
    expectFlows(
      all('ingress'),
      peers.map((p) => [p, 'pub', TCP, 443, true] as const),
    )
    expectFlows(
      all('ingressDeny'),
      peers.map((p) => [p, 'pub', TCP, 443, false] as const),
    )
  })
})

describe('cilium checker against Cilium docs: CIDR', () => {
  it('cidr.yaml: a CIDR set with except; CIDR rules take no pod and no node', () => {
    // "allow ... to talk to the external IP 20.1.1.1, as well as the CIDR prefix 10.0.0.0/8, but
    // not CIDR prefix 10.96.0.0/12"; "CIDR rules do not apply to traffic where both sides of the
    // connection are either managed by Cilium or use an IP belonging to a node in the cluster"
    const objs = `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: cidr-rule, namespace: default }
spec:
  endpointSelector: { matchLabels: { app: myService } }
  egress:
    - toCIDRSet:
        - { cidr: 20.1.1.1/32 }
        - { cidr: 10.0.0.0/8, except: [10.96.0.0/12] }
        - { cidr: 172.18.0.0/16 }
`
    expectFlows(objs, [
      ['svc', '20.1.1.1', TCP, 80, true],
      ['svc', '10.5.0.1', UDP, 53, true],
      ['svc', '10.96.0.5', TCP, 80, false],
      ['svc', '8.8.8.8', TCP, 80, false],
      ['svc', 'back', TCP, 80, false], // a pod inside 10.0.0.0/8
      ['svc', REMOTE, TCP, 10250, false], // a node inside 172.18.0.0/16
      ['svc', HOST, TCP, 10250, false],
    ])
  })

  it('toCIDR (the plain form) is a CIDR peer too', () => {
    expectFlows(
      `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: cidr-plain, namespace: default }
spec:
  endpointSelector: { matchLabels: { app: myService } }
  egress:
    - toCIDR: [20.1.1.1/32]
`,
      [
        ['svc', '20.1.1.1', TCP, 80, true],
        ['svc', '20.1.1.2', TCP, 80, false],
      ],
    )
  })

  it('cidr_l4_combined.yaml: CIDR and port together', () => {
    expectFlows(
      `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: cidr-l4-rule, namespace: default }
spec:
  endpointSelector: { matchLabels: { role: crawler } }
  egress:
    - toCIDRSet: [{ cidr: 192.0.2.0/24 }]
      toPorts: [{ ports: [{ port: "80", protocol: TCP }] }]
`,
      [
        ['crawler', '192.0.2.10', TCP, 80, true],
        ['crawler', '192.0.2.10', TCP, 443, false],
        ['crawler', '192.0.3.10', TCP, 80, false],
        ['svc', '192.0.2.10', TCP, 443, true], // not selected
      ],
    )
  })
})

describe('cilium checker against Cilium docs: layer 4', () => {
  it('l4.yaml: TCP 80 only; any layer 4 policy blocks ICMP', () => {
    // "If any layer 4 policy is specified, then ICMP will be blocked unless it's related to a
    // connection that is otherwise allowed by the policy"
    expectFlows(
      `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: l4-rule, namespace: default }
spec:
  endpointSelector: { matchLabels: { app: myService } }
  egress:
    - toPorts: [{ ports: [{ port: "80", protocol: TCP }] }]
`,
      [
        ['svc', '8.8.8.8', TCP, 80, true],
        ['svc', 'back', TCP, 80, true], // "to any layer 3 destination"
        ['svc', REMOTE, TCP, 80, true],
        ['svc', '8.8.8.8', TCP, 443, false],
        ['svc', '8.8.8.8', UDP, 80, false],
        ['svc', '8.8.8.8', ICMP, 8, false],
      ],
    )
  })

  it('l4_port_range.yaml: port with endPort', () => {
    expectFlows(
      `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: l4-port-range-rule, namespace: default }
spec:
  endpointSelector: { matchLabels: { app: myService } }
  egress:
    - toPorts: [{ ports: [{ port: "80", endPort: 444, protocol: TCP }] }]
`,
      [
        ['svc', '8.8.8.8', TCP, 79, false],
        ['svc', '8.8.8.8', TCP, 80, true],
        ['svc', '8.8.8.8', TCP, 444, true],
        ['svc', '8.8.8.8', TCP, 445, false],
      ],
    )
  })

  it('l3_l4_combined.yaml: labels and port together', () => {
    expectFlows(
      `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: l3-l4-rule, namespace: default }
spec:
  endpointSelector: { matchLabels: { role: backend } }
  ingress:
    - fromEndpoints: [{ matchLabels: { role: frontend } }]
      toPorts: [{ ports: [{ port: "80", protocol: TCP }] }]
`,
      [
        ['front', 'back', TCP, 80, true],
        ['front', 'back', TCP, 8080, false],
        ['svc', 'back', TCP, 80, false],
      ],
    )
  })

  it('port "0" is every port of the protocol; protocol omitted or ANY is every protocol', () => {
    // PortProtocol: "Protocol is the L4 protocol. If omitted or empty, any protocol matches.
    // Accepted values: TCP, UDP, ""/"ANY""; port 0 is the wildcard port
    expectFlows(
      `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: wildcards, namespace: default }
spec:
  endpointSelector: { matchLabels: { app: myService } }
  egress:
    - toPorts: [{ ports: [{ port: "0", protocol: TCP }] }]
    - toPorts: [{ ports: [{ port: "53" }, { port: "123", protocol: ANY }] }]
`,
      [
        ['svc', '8.8.8.8', TCP, 1, true],
        ['svc', '8.8.8.8', TCP, 65535, true],
        ['svc', '8.8.8.8', UDP, 53, true],
        ['svc', '8.8.8.8', UDP, 123, true],
        ['svc', '8.8.8.8', UDP, 124, false],
        ['svc', '8.8.8.8', ICMP, 8, false],
      ],
    )
  })

  it('icmp.yaml: ICMP type 8 and ICMPv6 type 128 (EchoRequest); type names are refused', () => {
    const icmp = (v6: string): string => `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: icmp-rule, namespace: default }
spec:
  endpointSelector: { matchLabels: { app: myService } }
  egress:
    - icmps:
        - fields:
            - { type: 8, family: IPv4 }
            - { type: ${v6}, family: IPv6 }
`
    expectFlows(icmp('128'), [
      ['svc', '8.8.8.8', ICMP, 8, true],
      ['svc', '8.8.8.8', ICMP, 13, false],
      ['svc', '2001:db8::1', ICMP6, 128, true],
      ['svc', '2001:db8::1', ICMP6, 129, false],
      ['svc', '8.8.8.8', TCP, 80, false],
    ])
    // the CamelCase names (`EchoRequest`) are valid Cilium; the compiler writes numbers, and the
    // checker refuses a name rather than misread it
    expect(() =>
      ciliumAllows(objects(icmp('EchoRequest')), end('svc'), end('2001:db8::1'), ICMP6, 128),
    ).toThrow(/ICMP type name EchoRequest/)
  })
})

describe('cilium checker against Cilium docs: namespaces and clusterwide policies', () => {
  it('kubedns-policy.yaml: a peer naming its namespace leaves the policy namespace', () => {
    expectFlows(
      `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: allow-to-kubedns, namespace: default }
spec:
  endpointSelector: {}
  egress:
    - toEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: kube-system
            k8s-app: kube-dns
      toPorts: [{ ports: [{ port: "53", protocol: UDP }] }]
`,
      [
        ['front', 'dns', UDP, 53, true],
        ['front', 'dns', TCP, 53, false],
        ['front', 'back', TCP, 80, false],
        ['front2', 'dns', TCP, 53, true], // ns2 holds no policy
      ],
    )
  })

  it('isolate-namespaces.yaml: from {} in each namespace', () => {
    expectFlows(
      `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: isolate-ns2, namespace: ns2 }
spec:
  endpointSelector: {}
  ingress:
    - fromEndpoints: [{}]
`,
      [
        ['front2', 'luke', TCP, 80, true],
        ['front', 'luke', TCP, 80, false],
        ['8.8.8.8', 'luke', TCP, 80, false],
        ['luke', 'front', TCP, 80, true],
      ],
    )
  })

  it('namespace-policy.yaml: a peer in another namespace by its namespace label', () => {
    expectFlows(
      `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: k8s-expose-across-namespace, namespace: ns1 }
spec:
  endpointSelector: { matchLabels: { name: leia } }
  ingress:
    - fromEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: ns2
            name: luke
`,
      [
        ['luke', 'leia', TCP, 80, true],
        ['front2', 'leia', TCP, 80, false],
      ],
    )
  })

  it('clusterscope-policy.yaml: a clusterwide subject and peer take every namespace', () => {
    expectFlows(
      `
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: { name: interns-access }
spec:
  endpointSelector: { matchLabels: { name: leia } }
  ingress:
    - fromEndpoints: [{ matchLabels: { name: luke } }]
`,
      [
        ['luke', 'leia', TCP, 80, true],
        ['front2', 'leia', TCP, 80, false],
        ['8.8.8.8', 'leia', TCP, 80, false],
      ],
    )
  })

  it('wildcard-from-endpoints.yaml: {} in a clusterwide policy is every managed endpoint, not the world', () => {
    // "allows all Cilium managed endpoints in the cluster to communicate with kube-dns"
    expectFlows(
      `
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: { name: wildcard-from-endpoints }
spec:
  endpointSelector:
    matchLabels:
      k8s:io.kubernetes.pod.namespace: kube-system
      k8s-app: kube-dns
  ingress:
    - fromEndpoints: [{}]
      toPorts: [{ ports: [{ port: "53", protocol: UDP }] }]
`,
      [
        ['front', 'dns', UDP, 53, true],
        ['leia', 'dns', UDP, 53, true],
        ['8.8.8.8', 'dns', UDP, 53, false],
        [HOST, 'dns', UDP, 53, false], // a remote node to the DNS pod
        ['front', 'dns', TCP, 53, false],
      ],
    )
  })

  it('a peer selector with a NotIn alone in a clusterwide policy: managed endpoints only', () => {
    expectFlows(
      `
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: { name: not-in }
spec:
  endpointSelector: { matchLabels: { role: public } }
  ingress:
    - fromEndpoints:
        - matchExpressions: [{ key: role, operator: NotIn, values: [frontend] }]
`,
      [
        ['svc', 'pub', TCP, 80, true],
        ['front', 'pub', TCP, 80, false],
        ['8.8.8.8', 'pub', TCP, 80, false],
      ],
    )
  })
})

describe('cilium checker: fields it does not read are refused, nodes are not pods', () => {
  const withEgress = (rule: string): K8sObject[] =>
    objects(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: r, namespace: default }
spec:
  endpointSelector: {}
  egress:
    - ${rule}
`)
  const ask = (objs: K8sObject[]): boolean =>
    ciliumAllows(objs, end('front'), end('8.8.8.8'), TCP, 80, NODES)

  it('FQDN, services, L7 rules, named ports, other entities, cidrGroupRef', () => {
    expect(() => ask(withEgress(`{ toFQDNs: [{ matchName: example.com }] }`))).toThrow(/toFQDNs/)
    expect(() => ask(withEgress(`{ toServices: [{ k8sService: { serviceName: a } }] }`))).toThrow(
      /toServices/,
    )
    expect(() =>
      ask(
        withEgress(
          `{ toPorts: [{ ports: [{ port: "80", protocol: TCP }], rules: { http: [{ method: GET }] } }] }`,
        ),
      ),
    ).toThrow(/toPorts field rules/)
    expect(() =>
      ask(withEgress(`{ toPorts: [{ ports: [{ port: http, protocol: TCP }] }] }`)),
    ).toThrow(/named ports/)
    expect(() => ask(withEgress(`{ toEntities: [kube-apiserver] }`))).toThrow(/kube-apiserver/)
    expect(() => ask(withEgress(`{ toCIDRSet: [{ cidrGroupRef: office }] }`))).toThrow(
      /cidrGroupRef/,
    )
  })

  it('a nodeSelector policy (host firewall) selects nodes, no pod', () => {
    // "nodeSelector ... selects nodes"; this checker judges pods only
    expectFlows(
      `
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: { name: host-fw }
spec:
  nodeSelector: { matchLabels: { node-role.kubernetes.io/control-plane: "" } }
  ingress:
    - fromEntities: [cluster]
`,
      [
        ['8.8.8.8', 'back', TCP, 80, true],
        ['front', 'back', TCP, 80, true],
      ],
    )
  })
})

describe('cilium checker: empty lists (cilium/cilium#29608)', () => {
  it('an explicit empty CIDR or entity list selects nothing; toPorts alone selects every peer', () => {
    // "In case of egress/ingress policies with an explicit (non-nil) empty slice in one of ...
    // toCIDR/fromCIDR ... toEntities/fromEntities no identities should be selected"; the same
    // rule without the field "allow[s] traffic to port 80 for all identities"
    const rule = (peer: string): string => `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: l4, namespace: default }
spec:
  endpointSelector: { matchLabels: { role: backend } }
  ingress:
    - { ${peer} toPorts: [{ ports: [{ port: "80", protocol: TCP }] }] }
`
    for (const empty of ['fromCIDR: [],', 'fromCIDRSet: [],', 'fromEntities: [],'])
      expectFlows(rule(empty), [
        ['8.8.8.8', 'back', TCP, 80, false],
        ['front', 'back', TCP, 80, false],
      ])
    expectFlows(rule(''), [
      ['8.8.8.8', 'back', TCP, 80, true],
      ['front', 'back', TCP, 80, true],
      ['front', 'back', TCP, 81, false],
    ])
  })

  it('enableDefaultDeny: true without rules in the direction is refused (version-dependent)', () => {
    const objs = objects(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: edd, namespace: default }
spec:
  endpointSelector: {}
  enableDefaultDeny: { ingress: true }
  ingress: []
  egress: [{ toEntities: [all] }]
`)
    expect(() => ciliumAllows(objs, end('front'), end('back'), TCP, 80, NODES)).toThrow(
      /enableDefaultDeny/,
    )
  })
})

describe('cilium: compiler and checker end to end on hand-worked verdicts', () => {
  it('the hand-worked verdicts agree with the reference evaluator', () => {
    const wrong = SHOP_HAND.filter(([src, dst, protocol, dstPort, want]) => {
      const tuple = { src, dst, protocol, dstPort, at: NOW.getTime() }
      return (evaluate(SHOP, SHOP_POLICIES, tuple).decision === 'allowed') !== want
    })
    expect(wrong).toEqual([])
  })

  it('the shared fixture compiled to Cilium gives the verdicts worked out by hand', () => {
    const objs = allObjects(planCilium(SHOP, SHOP_POLICIES, { now: NOW }))
    const pods = new PodGroupResolver(SHOP, { now: NOW }).pods
    const at = (ip: string): CheckEndpoint => {
      const p = pods.find((x) => x.workload.addresses.some((a) => a.ip === ip))
      return p ? { ip, pod: p } : { ip }
    }
    const wrong = SHOP_HAND.filter(
      ([s, d, p, port, want]) => ciliumAllows(objs, at(s), at(d), p, port) !== want,
    ).map(
      ([s, d, p, port, want, why]) =>
        `${s} -> ${d} ${String(p)}/${String(port)}: ${String(want)} (${why})`,
    )
    expect(wrong).toEqual([])
  })
})
