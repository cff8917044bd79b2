/**
 * @module Shared fixture of the Kubernetes-family targets (kubernetes, cilium, calico): a shop,
 * a payments service and ops tools as pods in three namespaces, and a policy set using every
 * selector kind, scopes, port ranges, `any` and one deny rule.
 */
import fc from 'fast-check'
import {
  labelSet,
  parseCidr,
  type Cidr,
  type EnforcementEntry,
  type EnforcementMode,
  type Inventory,
  type LabelExpression,
  type Policy,
  type PolicySet,
  type Rule,
  type Selector,
  type Service,
  type Workload,
} from '../../src/core/index.js'
import { workload } from '../helpers/workloads.js'

export const NOW = new Date(Date.UTC(2026, 10, 22, 12))
export const cidr = (t: string): Cidr => parseCidr(t) as Cidr
export const lbl = (
  match: Record<string, string>,
  global = false,
  expressions: LabelExpression[] = [],
): Selector => ({
  kind: 'labels',
  match: labelSet(match),
  expressions,
  global,
})
export const tcp = (lo: number, hi = lo): Service => ({ protocol: 6, ports: { lo, hi } })
export const udp = (lo: number, hi = lo): Service => ({ protocol: 17, ports: { lo, hi } })

/** A pod workload as the Kubernetes inventory source makes it (`namespace` label, `ns/name[Pod]`). */
export function pod(
  ns: string,
  name: string,
  ip: string,
  labels: Record<string, string>,
): Workload {
  return workload(`${ns}/${name}[Pod]`, ip, { ...labels, namespace: ns })
}

export function rule(
  id: string,
  from: Selector[],
  to: Selector[],
  services: Service[],
  action: 'allow' | 'deny' = 'allow',
): Rule {
  return { id, action, from, to, services, emergency: false }
}

export function policy(name: string, scope: Record<string, string>, rules: Rule[]): Policy {
  return { name, owner: 'team', scope: labelSet(scope), rules, file: `policy/${name}.yaml` }
}

export function enforced(policies: Policy[]): PolicySet {
  return { policies, enforcement: [{ selector: { kind: 'any' }, mode: 'enforce' }] }
}

// ---------------------------------------------------------------------------------------------
// fixture estate: a shop in namespace `shop`, a payments service in `pay`, tools in `ops`
export const SHOP: Inventory = {
  workloads: [
    pod('shop', 'web', '10.244.1.10', { app: 'shop', role: 'web' }),
    pod('shop', 'api', '10.244.1.11', { app: 'shop', role: 'api' }),
    pod('shop', 'db', '10.244.1.12', { app: 'shop', role: 'db' }),
    pod('pay', 'api', '10.244.2.10', { app: 'pay', role: 'api' }),
    pod('pay', 'db', '10.244.2.11', { app: 'pay', role: 'db' }),
    pod('ops', 'backup', '10.244.3.10', { app: 'ops', role: 'backup' }),
    pod('ops', 'debug', '10.244.3.11', { app: 'ops', role: 'debug', env: 'dev' }),
  ],
  externals: [
    { name: 'bank', cidr: cidr('198.51.100.0/24'), labels: labelSet({ role: 'partner' }) },
  ],
  labelRules: [],
}

export const SHOP_POLICIES = enforced([
  policy('shop', { app: 'shop' }, [
    rule(
      'internet-to-web',
      [{ kind: 'cidr', cidr: cidr('0.0.0.0/0'), except: [cidr('10.0.0.0/8')] }],
      [lbl({ role: 'web' })],
      [tcp(443), tcp(80)],
    ),
    rule('web-to-api', [lbl({ role: 'web' })], [lbl({ role: 'api' })], [tcp(8000, 8100)]),
    rule('api-to-db', [lbl({ role: 'api' })], [lbl({ role: 'db' })], [tcp(5432)]),
    rule(
      'api-to-pay',
      [lbl({ role: 'api' })],
      [lbl({ app: 'pay', role: 'api' }, true)],
      [tcp(443)],
    ),
    rule(
      'dns',
      [lbl({})],
      [{ kind: 'cidr', cidr: cidr('10.96.0.10/32'), except: [] }],
      [udp(53), tcp(53)],
    ),
  ]),
  policy('pay', { namespace: 'pay' }, [
    rule('api-to-bank', [lbl({ role: 'api' })], [{ kind: 'external', name: 'bank' }], [tcp(22)]),
    rule('api-to-db', [lbl({ role: 'api' })], [lbl({ role: 'db' })], [{ protocol: 'any' }]),
    rule(
      'from-shop',
      [lbl({ app: 'shop', role: 'api' }, true)],
      [lbl({ role: 'api' })],
      [tcp(443)],
    ),
  ]),
  policy('ops', {}, [
    rule(
      'backup-dbs',
      [{ kind: 'workload', name: 'ops/backup[Pod]', global: true }],
      [lbl({}, false, [{ key: 'role', operator: 'In', values: ['db'] }])],
      [tcp(5432), tcp(1, 65535)],
    ),
    rule(
      'debug-anywhere',
      [lbl({ role: 'debug' })],
      [lbl({}, false, [{ key: 'namespace', operator: 'NotIn', values: ['pay'] }])],
      [{ protocol: 'any' }],
    ),
    rule(
      'no-dev-to-db',
      [lbl({ env: 'dev' })],
      [lbl({ role: 'db' })],
      [{ protocol: 'any' }],
      'deny',
    ),
  ]),
])

// random estates for the property tests of the three targets
const NAMESPACES = ['a', 'b', 'c'] as const
const ROLES = ['web', 'api', 'db'] as const
const APPS = ['x', 'y'] as const

/**
 * Workloads of the random estates that are not pods (no `namespace` label): a VM inside the
 * named external `partner` (203.0.113.0/24) and one inside the CIDR selector 10.244.1.0/24. The
 * cluster targets install nothing for them and match them by address.
 */
export const VMS: readonly Workload[] = [
  workload('vm-db', '203.0.113.50', { role: 'db', app: 'x' }),
  workload('vm-web', '10.244.1.200', { role: 'web', app: 'y' }),
]

/**
 * Random pods: some dual-stack (an IPv6 address besides the IPv4 one), and some whose `tier`
 * label comes from a label rule (`labelOrigins`), which the pod does not carry in the cluster.
 */
const podsArb = fc
  .array(
    fc.record({
      ns: fc.integer({ min: 0, max: 2 }),
      role: fc.constantFrom(...ROLES),
      app: fc.constantFrom(...APPS),
      tier: fc.integer({ min: 0, max: 3 }),
      v6: fc.boolean(),
    }),
    { minLength: 2, maxLength: 7 },
  )
  .map((ps) =>
    ps.map((p, i): Workload => {
      const w = pod(NAMESPACES[p.ns] as string, `p${i}`, `10.244.${p.ns}.${i + 1}`, {
        role: p.role,
        app: p.app,
        ...(p.tier >= 2 ? { tier: 'gold' } : {}),
      })
      return {
        ...w,
        // canonical text, as the inventory sources give it (`fd00:244::1`, not `fd00:244:0::1`)
        addresses: p.v6
          ? [
              ...w.addresses,
              { ip: p.ns === 0 ? `fd00:244::${i + 1}` : `fd00:244:${p.ns}::${i + 1}` },
            ]
          : w.addresses,
        ...(p.tier === 3 ? { labelOrigins: { tier: 'label-rule:0' as const } } : {}),
      }
    }),
  )

const selectorArb: fc.Arbitrary<Selector> = fc.oneof(
  fc
    .record({ role: fc.constantFrom(...ROLES), global: fc.boolean() })
    .map((r) => lbl({ role: r.role }, r.global)),
  fc
    .record({ ns: fc.constantFrom(...NAMESPACES), global: fc.boolean() })
    .map((r) => lbl({ namespace: r.ns }, r.global)),
  fc.constantFrom<Selector>(
    lbl({}),
    lbl({ tier: 'gold' }, true),
    lbl({}, false, [{ key: 'role', operator: 'NotIn', values: ['db'] }]),
    lbl({}, true, [{ key: 'namespace', operator: 'In', values: ['a', 'b'] }]),
    lbl({}, false, [{ key: 'tier', operator: 'DoesNotExist', values: [] }]),
    { kind: 'any' },
    { kind: 'cidr', cidr: cidr('192.0.2.0/24'), except: [] },
    { kind: 'cidr', cidr: cidr('0.0.0.0/0'), except: [cidr('10.0.0.0/8')] },
    { kind: 'cidr', cidr: cidr('10.244.1.0/24'), except: [cidr('10.244.1.2/31')] },
    { kind: 'external', name: 'partner' },
    { kind: 'workload', name: 'a/p0[Pod]', global: true },
    { kind: 'workload', name: 'vm-db', global: true },
  ),
)

const serviceArb: fc.Arbitrary<Service> = fc.constantFrom<Service>(
  tcp(80),
  tcp(443),
  tcp(8000, 8100),
  udp(53),
  tcp(0, 65535),
  { protocol: 132, ports: { lo: 9000, hi: 9000 } },
  { protocol: 'any' },
)

const ruleArb = (i: number): fc.Arbitrary<Rule> =>
  fc
    .record({
      from: fc.array(selectorArb, { minLength: 1, maxLength: 2 }),
      to: fc.array(selectorArb, { minLength: 1, maxLength: 2 }),
      services: fc.array(serviceArb, { minLength: 1, maxLength: 2 }),
      deny: fc.integer({ min: 0, max: 4 }),
    })
    .map((r) => rule(`r${i}`, r.from, r.to, r.services, r.deny === 0 ? 'deny' : 'allow'))

const policyArb = (n: number): fc.Arbitrary<Policy> =>
  fc
    .record({
      scope: fc.constantFrom<Record<string, string>>(
        {},
        { app: 'x' },
        { namespace: 'a' },
        { role: 'api' },
      ),
      rules: fc
        .tuple(ruleArb(0), ruleArb(1), ruleArb(2))
        .chain((rs) => fc.subarray(rs, { minLength: 1 })),
    })
    .map((p) => policy(`pol${n}`, p.scope, p.rules))

/** Small random Kubernetes-like estates: pods in namespaces a, b, c, the {@link VMS}, and one or two policies. */
export const estateArb = fc.record({
  workloads: podsArb.map((ps) => [...ps, ...VMS]),
  policies: fc.tuple(policyArb(0), policyArb(1)).chain((ps) => fc.subarray(ps, { minLength: 1 })),
})

/**
 * s13/hR D3: rules whose subject is `any` or a label selector naming no namespace, in an estate
 * of two namespaces; {@link FOREIGN_PODS} are pods the inventory does not know, which no
 * compiled policy may select.
 */
export const ANY_SUBJECT: { inventory: Inventory; policySet: PolicySet } = {
  inventory: {
    workloads: [
      pod('shop', 'web', '10.244.1.10', { app: 'web', tier: 'front' }),
      pod('shop', 'api', '10.244.1.20', { app: 'api' }),
      pod('dev', 'web', '10.244.2.10', { app: 'web', tier: 'front' }),
    ],
    externals: [],
    labelRules: [],
  },
  policySet: enforced([
    policy('shop', { namespace: 'shop' }, [
      rule('public-to-web', [{ kind: 'any' }], [lbl({ app: 'web' })], [tcp(443)]),
      rule('nobody-ssh-to-api', [{ kind: 'any' }], [lbl({ app: 'api' })], [tcp(22)], 'deny'),
      rule('front-to-api', [lbl({ tier: 'front' }, true)], [lbl({ app: 'api' })], [tcp(8080)]),
      rule(
        'api-to-front',
        [lbl({ app: 'api' })],
        [lbl({ tier: 'front' }, true)],
        [tcp(9090)],
        'deny',
      ),
    ]),
  ]),
}

/** Pods outside the inventory: CoreDNS, and a `tier: front` pod of a namespace Bulkhead does not know. */
export const FOREIGN_PODS = [
  { namespace: 'kube-system', labels: labelSet({ 'k8s-app': 'kube-dns' }) },
  { namespace: 'other', labels: labelSet({ tier: 'front', app: 'web' }) },
] as const

/**
 * Each {@link FOREIGN_PODS} pod as a checker endpoint (a workload named after its namespace, no
 * addresses), with the (peer address, TCP port) points of {@link ANY_SUBJECT}'s rules it is
 * probed on in both directions: every such packet must stay allowed (no policy selects it).
 */
export const FOREIGN_PROBES = FOREIGN_PODS.map((f) => ({
  namespace: f.namespace,
  self: { workload: { name: f.namespace, addresses: [], labels: f.labels }, ...f },
  points: [
    ['10.96.0.10', 53],
    ['10.244.1.10', 443],
    ['10.244.1.20', 22],
    ['10.244.1.20', 8080],
  ] as const,
}))

/**
 * Random Enforcement lists for the estates of {@link estateArb} (first match wins, unmatched
 * workloads `observe`), in the given modes: by role, namespace, label, one pod, an address
 * block, and `any`, so that namespaces hold pods in one mode or in several (s13/hR D4).
 */
export const enforcementArb = (
  modes: readonly EnforcementMode[],
): fc.Arbitrary<EnforcementEntry[]> =>
  fc.array(
    fc.record({
      selector: fc.constantFrom<Selector>(
        lbl({ role: 'web' }),
        lbl({ role: 'db' }),
        lbl({ namespace: 'b' }),
        lbl({ tier: 'gold' }),
        { kind: 'workload', name: 'a/p0[Pod]', global: false },
        { kind: 'cidr', cidr: cidr('10.244.1.0/24'), except: [] },
        { kind: 'any' },
      ),
      mode: fc.constantFrom(...modes),
    }),
    { maxLength: 3 },
  )
