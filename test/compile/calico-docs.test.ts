/**
 * @module Held-out check of the Calico checker (`calicoAllows`) against Calico's own documents,
 * independently of the compiler (s32 hH). Each case is a policy written after the Calico
 * reference (NetworkPolicy, GlobalNetworkPolicy, Rule, EntityRule, selectors, ports, ICMP, Tier)
 * on a small estate of pods and outside addresses; the expected verdicts were worked out by hand
 * from the quoted text, not taken from Bulkhead. Cases on fields the compiler never writes are
 * kept too, so that the checker either reads them as Calico does or refuses them, never
 * misreads them silently.
 *
 * Sources: https://docs.tigera.io/calico/latest/reference/resources/networkpolicy (spec table,
 * `types` defaults), .../globalnetworkpolicy, .../tier ("How policy is evaluated"), the Rule,
 * EntityRule, selector, selector scope, ports and ICMP sections (tigera/docs
 * `calico/_includes/content/`), and Felix's policy sort (a policy without `order` comes last,
 * ties by name: felix/calc `PolicyByOrder`).
 */
import { describe, expect, it } from 'vitest'
import {
  calicoAllows,
  calicoSelectorMatches,
  PodGroupResolver,
  type CheckEndpoint,
  type CompiledPod,
} from '../../src/compile/index.js'
import { planCalico } from '../../src/compile/calico/compile.js'
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

/** The estate: pods in three namespaces, and addresses outside the cluster. */
const PODS: Record<string, CompiledPod> = {
  db: mk('production', 'db', '10.1.1.1', { role: 'database' }),
  fe: mk('production', 'fe', '10.1.1.2', { role: 'frontend' }),
  dbg: mk('production', 'dbg', '10.1.1.3', { role: 'database', debug: 'true' }),
  fe2: mk('staging', 'fe2', '10.1.2.1', { role: 'frontend' }),
  be2: mk('staging', 'be2', '10.1.2.2', { role: 'backend' }),
  x: mk('dev', 'x', '10.1.3.1', { app: 'x', env: 'dev' }),
  v6: mk('dev', 'v6', 'fd00::5', { app: 'v6' }),
}

/** A pod of {@link PODS} by name, or an address no pod holds. */
const end = endpointOf(PODS)

type Flow = DocFlow

function expectFlows(yaml: string, flows: readonly Flow[]): void {
  expectDocFlows(
    (objs, src, dst, p, port) => calicoAllows(objs, src, dst, p, port),
    end,
    yaml,
    flows,
  )
}

const refuses = (yaml: string, pattern: RegExp): void => {
  expect(() => calicoAllows(objects(yaml), end('fe'), end('db'), TCP, 80)).toThrow(pattern)
}

describe('calico checker against Calico docs: NetworkPolicy', () => {
  it('the sample allow-tcp-6379: a rule selector takes pods of the policy namespace only', () => {
    // selector scopes: "If no namespaceSelector is present then the rule's selector matches the
    // default scope for that type of policy. (This is the same namespace for NetworkPolicy ...)"
    expectFlows(
      `
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: { name: allow-tcp-6379, namespace: production }
spec:
  selector: role == 'database'
  types: [Ingress, Egress]
  ingress:
    - action: Allow
      protocol: TCP
      source: { selector: role == 'frontend' }
      destination: { ports: [6379] }
  egress:
    - action: Allow
`,
      [
        ['fe', 'db', TCP, 6379, true],
        ['fe', 'db', TCP, 80, false],
        ['fe', 'db', UDP, 6379, false],
        ['fe2', 'db', TCP, 6379, false], // a frontend of another namespace
        ['8.8.8.8', 'db', TCP, 6379, false],
        ['db', '8.8.8.8', TCP, 443, true],
        ['db', 'fe', TCP, 80, true], // fe is selected by no policy
        ['fe2', 'be2', TCP, 80, true], // staging holds no policy
      ],
    )
  })

  it('types defaults: egress rules only → Egress; ingress rules or none → Ingress', () => {
    // "If types has no value, Calico defaults as follows": no/no → Ingress, yes/no → Ingress,
    // no/yes → Egress, yes/yes → Ingress, Egress
    expectFlows(
      `
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: { name: egress-only, namespace: production }
spec:
  order: 10
  selector: role == 'frontend'
  egress:
    - action: Deny
      destination: { nets: [8.8.8.8/32] }
    - action: Allow
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: { name: isolate-staging, namespace: staging }
spec:
  order: 10
  selector: all()
`,
      [
        ['fe', '8.8.8.8', UDP, 53, false],
        ['fe', '1.1.1.1', UDP, 53, true],
        ['db', 'fe', TCP, 80, true], // fe's ingress: no policy
        ['fe2', 'be2', TCP, 80, false], // staging: Ingress, no rules: end of tier
        ['be2', '8.8.8.8', TCP, 443, true], // staging egress untouched
        ['fe', 'be2', TCP, 80, false],
      ],
    )
  })

  it('a rule selector all() is every in-scope endpoint, not every packet', () => {
    // "A rule with a selector all() won't match all packets, it will match packets from all
    // in-scope endpoints and network sets. To match all packets, do not include a selector"
    expectFlows(
      `
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: { name: from-namespace, namespace: production }
spec:
  order: 100
  selector: role == 'database'
  types: [Ingress]
  ingress:
    - action: Allow
      source: { selector: all() }
`,
      [
        ['fe', 'db', TCP, 5432, true],
        ['fe2', 'db', TCP, 5432, false],
        ['8.8.8.8', 'db', TCP, 5432, false],
      ],
    )
  })

  it('an egress rule selector is scoped too; no destination is any', () => {
    expectFlows(
      `
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: { name: fe-egress, namespace: production }
spec:
  order: 100
  selector: role == 'frontend'
  types: [Egress]
  egress:
    - action: Allow
      protocol: TCP
      destination: { selector: role == 'database', ports: [5432] }
    - action: Allow
      protocol: UDP
      destination: { ports: [53] }
`,
      [
        ['fe', 'db', TCP, 5432, true],
        ['fe', 'be2', TCP, 5432, false],
        ['fe', '8.8.8.8', UDP, 53, true],
        ['fe', 'be2', UDP, 53, true],
        ['fe', '8.8.8.8', TCP, 443, false],
      ],
    )
  })

  it('a NetworkPolicy selects pods of its namespace only; Staged kinds enforce nothing', () => {
    expectFlows(
      `
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: { name: deny-all, namespace: staging }
spec:
  order: 1
  selector: all()
  types: [Ingress, Egress]
  ingress: [{ action: Deny }]
  egress: [{ action: Deny }]
---
apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata: { name: staged-deny, namespace: production }
spec:
  order: 1
  selector: all()
  types: [Ingress]
  ingress: [{ action: Deny }]
`,
      [
        ['fe', 'db', TCP, 80, true],
        ['fe', 'be2', TCP, 80, false],
        ['fe2', '8.8.8.8', TCP, 80, false],
      ],
    )
  })
})

describe('calico checker against Calico docs: order and actions', () => {
  const order = (deny: number | undefined, allow: number | undefined): string => `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: { name: deny-10 }
spec:
  ${deny === undefined ? '' : `order: ${String(deny)}`}
  selector: all()
  types: [Ingress]
  ingress:
    - action: Deny
      source: { nets: [10.0.0.0/8] }
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: { name: allow-all }
spec:
  ${allow === undefined ? '' : `order: ${String(allow)}`}
  selector: all()
  types: [Ingress]
  ingress: [{ action: Allow }]
`
  it('the lowest order applies first; nets match pod addresses too', () => {
    expectFlows(order(100, 200), [
      ['10.200.0.1', 'db', TCP, 80, false],
      ['fe', 'db', TCP, 80, false], // 10.1.1.2 is in 10.0.0.0/8
      ['8.8.8.8', 'db', TCP, 80, true],
    ])
    expectFlows(order(300, 200), [
      ['10.200.0.1', 'db', TCP, 80, true],
      ['8.8.8.8', 'db', TCP, 80, true],
    ])
  })

  it('a policy without order comes last (Felix: nil order is infinity); ties by name', () => {
    expectFlows(order(undefined, 1000), [['10.200.0.1', 'db', TCP, 80, true]])
    expectFlows(order(1000, undefined), [['10.200.0.1', 'db', TCP, 80, false]])
    // same order: allow-all < deny-10 by name
    expectFlows(order(5, 5), [['10.200.0.1', 'db', TCP, 80, true]])
  })

  it('rules of one policy in order: the first Allow or Deny decides; Log goes on', () => {
    // "After a Log action, processing continues with the next rule; Allow and Deny are
    // immediate and final and no further rules are processed"
    expectFlows(
      `
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: { name: rules-in-order, namespace: production }
spec:
  order: 100
  selector: role == 'database'
  types: [Ingress]
  ingress:
    - action: Log
    - action: Deny
      source: { nets: [8.8.8.8/32] }
    - action: Allow
      protocol: TCP
      destination: { ports: [80] }
`,
      [
        ['8.8.8.8', 'db', TCP, 80, false],
        ['1.1.1.1', 'db', TCP, 80, true],
        ['1.1.1.1', 'db', UDP, 80, false], // end of tier
      ],
    )
  })

  it('Pass skips the remaining policies to the profiles, which allow on Kubernetes', () => {
    // "An action of Pass ... will skip over the remaining policies and jump to the first profile
    // assigned to the endpoint"; Calico gives each Kubernetes namespace a profile that allows
    expectFlows(
      `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: { name: pass-partner }
spec:
  order: 100
  selector: all()
  types: [Ingress]
  ingress:
    - action: Pass
      source: { nets: [192.0.2.0/24] }
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: { name: deny-rest }
spec:
  order: 200
  selector: all()
  types: [Ingress]
  ingress: [{ action: Deny }]
`,
      [
        ['192.0.2.5', 'db', TCP, 80, true],
        ['8.8.8.8', 'db', TCP, 80, false],
      ],
    )
  })

  it('a GlobalNetworkPolicy and a NetworkPolicy interleave by order', () => {
    expectFlows(
      `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: { name: deny-partner }
spec:
  order: 100
  selector: projectcalico.org/namespace == 'production'
  types: [Ingress]
  ingress:
    - action: Deny
      source: { nets: [192.0.2.0/24] }
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: { name: allow-all, namespace: production }
spec:
  order: 1000
  selector: all()
  types: [Ingress]
  ingress: [{ action: Allow }]
`,
      [
        ['192.0.2.5', 'db', TCP, 80, false],
        ['8.8.8.8', 'db', TCP, 80, true],
        ['192.0.2.5', 'fe2', TCP, 80, true], // staging: neither applies
      ],
    )
  })
})

describe('calico checker against Calico docs: entity rules', () => {
  it('namespaceSelector with a selector, and alone: workload endpoints of those namespaces', () => {
    // "namespaceSelector: ... If specified, only workload endpoints in the selected Kubernetes
    // namespaces are matched ... Match a specific namespace by name using the
    // projectcalico.org/name label"
    const rule = (source: string): string => `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: { name: from-staging }
spec:
  order: 100
  selector: role == 'database'
  types: [Ingress]
  ingress:
    - action: Allow
      source: ${source}
`
    const flows: Flow[] = [
      ['fe2', 'db', TCP, 80, true],
      ['be2', 'db', TCP, 80, true],
      ['fe', 'db', TCP, 80, false],
      ['8.8.8.8', 'db', TCP, 80, false],
    ]
    expectFlows(
      rule(`{ selector: all(), namespaceSelector: "projectcalico.org/name == 'staging'" }`),
      flows,
    )
    expectFlows(rule(`{ namespaceSelector: "projectcalico.org/name == 'staging'" }`), flows)
  })

  it('a GlobalNetworkPolicy rule selector takes every namespace', () => {
    expectFlows(
      `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: { name: frontends }
spec:
  order: 100
  selector: role == 'database'
  types: [Ingress]
  ingress:
    - action: Allow
      source: { selector: role == 'frontend' }
`,
      [
        ['fe', 'db', TCP, 80, true],
        ['fe2', 'db', TCP, 80, true],
        ['be2', 'db', TCP, 80, false],
        ['8.8.8.8', 'db', TCP, 80, false],
      ],
    )
  })

  it('nets with notNets', () => {
    expectFlows(
      `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: { name: nets }
spec:
  order: 100
  selector: role == 'database'
  types: [Ingress]
  ingress:
    - action: Allow
      source: { nets: [10.0.0.0/8], notNets: [10.96.0.0/12] }
`,
      [
        ['10.200.0.1', 'db', TCP, 80, true],
        ['10.96.0.5', 'db', TCP, 80, false],
        ['fe2', 'db', TCP, 80, true], // a pod address inside 10.0.0.0/8
        ['8.8.8.8', 'db', TCP, 80, false],
      ],
    )
  })

  it('ports: numbers and start:end ranges; notPorts; notProtocol; ipVersion', () => {
    expectFlows(
      `
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: { name: ports, namespace: production }
spec:
  order: 100
  selector: role == 'database'
  types: [Ingress]
  ingress:
    - action: Allow
      protocol: TCP
      destination: { ports: [80, "8000:8100"] }
    - action: Allow
      protocol: SCTP
      destination: { notPorts: [22] }
    - action: Allow
      notProtocol: UDP
      source: { nets: [192.0.2.0/24] }
`,
      [
        ['8.8.8.8', 'db', TCP, 80, true],
        ['8.8.8.8', 'db', TCP, 8000, true],
        ['8.8.8.8', 'db', TCP, 8100, true],
        ['8.8.8.8', 'db', TCP, 8101, false],
        ['8.8.8.8', 'db', TCP, 81, false],
        ['8.8.8.8', 'db', UDP, 80, false],
        ['8.8.8.8', 'db', 132, 23, true],
        ['8.8.8.8', 'db', 132, 22, false],
        ['192.0.2.5', 'db', TCP, 22, true],
        ['192.0.2.5', 'db', UDP, 22, false],
      ],
    )
    expectFlows(
      `
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: { name: v6-only, namespace: dev }
spec:
  order: 100
  selector: all()
  types: [Egress]
  egress:
    - action: Allow
      ipVersion: 6
`,
      [
        ['v6', '2001:db8::1', TCP, 443, true],
        ['x', '8.8.8.8', TCP, 443, false],
      ],
    )
  })

  it('ICMP and ICMPv6 by type', () => {
    expectFlows(
      `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: { name: allow-ping }
spec:
  order: 100
  selector: all()
  types: [Ingress]
  ingress:
    - action: Allow
      protocol: ICMP
      icmp: { type: 8 }
    - action: Allow
      protocol: ICMPv6
      icmp: { type: 128 }
`,
      [
        ['8.8.8.8', 'db', ICMP, 8, true],
        ['8.8.8.8', 'db', ICMP, 13, false],
        ['2001:db8::1', 'v6', ICMP6, 128, true],
        ['2001:db8::1', 'v6', ICMP6, 129, false],
        ['8.8.8.8', 'db', TCP, 8, false],
      ],
    )
  })
})

describe('calico checker against Calico docs: selectors', () => {
  it('the operators of the selector table, with precedence', () => {
    const l = { role: 'database', env: 'prod', 'my-label': 'prod-1' }
    const cases: [string, boolean][] = [
      ['all()', true],
      ["role == 'database'", true],
      ["role != 'database'", false],
      ["tier != 'x'", true], // "Matches resources without label k or ..."
      ['has(env)', true],
      ['!has(env)', false],
      ["role in { 'frontend', 'database' }", true],
      ["role not in {'frontend'}", true],
      ["tier not in {'a'}", true],
      ["tier in {'a'}", false],
      ["my-label contains 'od-'", true],
      ["my-label starts with 'prod'", true],
      ["my-label ends with '-1'", true],
      ["my-label ends with 'prod'", false],
      ["role == 'database' && env == 'dev'", false],
      ["role == 'database' || env == 'dev'", true],
      ["!(role == 'database')", false],
      ['!all()', false],
      // the docs' precedence example: ! binds tighter than &&, && than ||
      ["! has(my-label) || my-label starts with 'prod' && role in {'frontend','business'}", false],
      ["!has(tier) || my-label starts with 'x' && role in {'frontend','business'}", true],
      ['has(a) || has(env)', true],
      ["role in {'x'} || env in {'prod'}", true],
    ]
    expect(cases.filter(([s, want]) => calicoSelectorMatches(s, l) !== want)).toEqual([])
  })
})

describe('calico checker: fields it does not read are refused', () => {
  const withRule = (rule: string): string => `
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: { name: r, namespace: production }
spec:
  order: 100
  selector: all()
  types: [Ingress]
  ingress:
    - ${rule}
`
  it('named ports, service accounts, services, HTTP, notSelector, ICMP code, tiers', () => {
    refuses(
      withRule(`{ action: Allow, protocol: TCP, destination: { ports: [http] } }`),
      /named port/,
    )
    refuses(
      withRule(`{ action: Allow, source: { serviceAccounts: { names: [a] } } }`),
      /serviceAccounts/,
    )
    refuses(withRule(`{ action: Allow, http: { methods: [GET] } }`), /http/)
    refuses(withRule(`{ action: Allow, source: { notSelector: has(debug) } }`), /notSelector/)
    refuses(withRule(`{ action: Allow, protocol: ICMP, icmp: { type: 8, code: 0 } }`), /code/)
    refuses(
      `
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: { name: tiered, namespace: production }
spec:
  tier: security
  order: 100
  selector: all()
  types: [Ingress]
`,
      /tier/,
    )
  })
})

describe('calico: compiler and checker end to end on hand-worked verdicts', () => {
  it('the shared fixture compiled to Calico gives the verdicts worked out by hand', () => {
    const objs = allObjects(planCalico(SHOP, SHOP_POLICIES, { now: NOW }))
    const pods = new PodGroupResolver(SHOP, { now: NOW }).pods
    const at = (ip: string): CheckEndpoint => {
      const p = pods.find((x) => x.workload.addresses.some((a) => a.ip === ip))
      return p ? { ip, pod: p } : { ip }
    }
    const wrong = SHOP_HAND.filter(
      ([s, d, p, port, want]) => calicoAllows(objs, at(s), at(d), p, port) !== want,
    ).map(
      ([s, d, p, port, want, why]) =>
        `${s} -> ${d} ${String(p)}/${String(port)}: ${String(want)} (${why})`,
    )
    expect(wrong).toEqual([])
  })
})
