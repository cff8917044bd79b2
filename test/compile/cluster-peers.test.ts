/**
 * @module How the cluster targets (kubernetes, cilium, calico) treat peers that are not plain
 * pod groups: workloads that are not pods (matched by address), named externals holding
 * workloads, labels from label rules (not on the pod), and dual-stack pods inside a `cidr`
 * selector. Cases from the s13/hR review (D1, D2, D5, D6).
 */
import { describe, expect, it } from 'vitest'
import {
  BulkheadError,
  labelSet,
  type Inventory,
  type PolicySet,
  type Workload,
} from '../../src/core/index.js'
import {
  calicoAllows,
  ciliumAllows,
  planCalico,
  planCilium,
  planKubernetes,
  planObjects,
  type CheckEndpoint,
  type CompiledPod,
  type K8sObject,
} from '../../src/compile/index.js'
import { evaluate } from '../../src/policy/evaluate.js'
import { cidr, enforced, lbl, NOW, policy, pod, rule, tcp } from './kubernetes-fixture.js'
import { workload } from '../helpers/workloads.js'
import { upstreamChecked } from './upstream-rules.js'

const WEB = pod('shop', 'web', '10.99.1.10', { app: 'web' })
const API = pod('shop', 'api', '10.99.1.20', { app: 'api' })
/** A VM: no `namespace` label, so not a pod. */
const DB_VM: Workload = workload('db-vm', '10.99.0.50', { role: 'db' })
const inventory = (workloads: Workload[]): Inventory => ({
  workloads,
  externals: [{ name: 'dc', cidr: cidr('10.99.0.0/24'), labels: labelSet() }],
  labelRules: [],
})

type Plan = { objects: K8sObject[]; pods: readonly CompiledPod[] }
const cilium = (inv: Inventory, ps: PolicySet): Plan => {
  const p = planCilium(inv, ps, { now: NOW })
  return {
    objects: upstreamChecked([...[...p.objects.values()].flat(), ...p.clusterwide]),
    pods: [],
  }
}
const calico = (inv: Inventory, ps: PolicySet): Plan => {
  const p = planCalico(inv, ps, { now: NOW })
  return { objects: upstreamChecked([...[...p.objects.values()].flat(), ...p.global]), pods: [] }
}

/** Compares a checker of the compiled output with the model on (src, dst, tcp/port). */
function agrees(
  inv: Inventory,
  ps: PolicySet,
  plan: (inv: Inventory, ps: PolicySet) => Plan,
  allows: typeof ciliumAllows,
  flows: readonly [string, string, number][],
): void {
  const { objects } = plan(inv, ps)
  const end = (ip: string): CheckEndpoint => {
    const w = inv.workloads.find((x) => x.addresses.some((a) => a.ip === ip))
    const ns = w?.labels['namespace']
    if (!w || ns === undefined) return { ip }
    const labels = Object.fromEntries(
      Object.entries(w.labels).filter(
        ([k]) => k !== 'namespace' && !w.labelOrigins?.[k]?.startsWith('label-rule:'),
      ),
    )
    return { ip, pod: { workload: w, namespace: ns, labels } }
  }
  for (const [src, dst, port] of flows) {
    const want =
      evaluate(inv, ps, { src, dst, protocol: 6, dstPort: port, at: NOW.getTime() }).decision ===
      'allowed'
    expect(allows(objects, end(src), end(dst), 6, port), `${src} -> ${dst} tcp/${port}`).toBe(want)
  }
}

const notExpressible = (f: () => unknown): void => {
  let err: unknown
  try {
    f()
  } catch (e) {
    err = e
  }
  expect(err).toBeInstanceOf(BulkheadError)
  expect((err as BulkheadError).diagnostics.map((d) => d.code)).toEqual(['compile/not-expressible'])
}

describe('cluster targets: workloads that are not pods', () => {
  // s13/hR D2: the deny towards the VM vanished, and the CIDR allow reached it
  const denyVm = enforced([
    policy('shop', { namespace: 'shop' }, [
      rule(
        'web-to-dc',
        [lbl({ app: 'web' })],
        [{ kind: 'cidr', cidr: cidr('10.99.0.0/24'), except: [] }],
        [tcp(5432)],
      ),
      rule(
        'never-db-vm',
        [lbl({ app: 'web' })],
        [{ kind: 'workload', name: 'db-vm', global: true }],
        [tcp(5432)],
        'deny',
      ),
      rule(
        'never-role-db',
        [lbl({ app: 'web' })],
        [lbl({ role: 'db' }, true)],
        [tcp(5433)],
        'deny',
      ),
    ]),
  ])
  const inv = inventory([WEB, API, DB_VM])
  const flows: [string, string, number][] = [
    ['10.99.1.10', '10.99.0.50', 5432],
    ['10.99.1.10', '10.99.0.51', 5432],
    ['10.99.1.10', '10.99.0.50', 5433],
  ]

  it('a deny towards a VM is a deny of its addresses (kubernetes, AdminNetworkPolicy)', () => {
    const plan = planKubernetes(inv, denyVm, { now: NOW, denyWith: 'anp' })
    const anps = plan.adminPolicies.map((o) => o['spec'] as { egress: { to: unknown[] }[] })
    expect(anps.map((s) => s.egress[0]?.to)).toEqual([
      [{ networks: ['10.99.0.50/32'] }],
      [
        { pods: { namespaceSelector: {}, podSelector: { matchLabels: { role: 'db' } } } },
        { networks: ['10.99.0.50/32'] },
      ],
    ])
  })

  it('cilium and calico deny the VM and allow the rest of the block, as the model does', () => {
    agrees(inv, denyVm, cilium, ciliumAllows, flows)
    agrees(inv, denyVm, calico, calicoAllows, flows)
  })

  it('an allow from a VM admits its addresses (kubernetes ipBlock)', () => {
    const ps = enforced([
      policy('shop', { namespace: 'shop' }, [
        rule('db-to-api', [lbl({ role: 'db' }, true)], [lbl({ app: 'api' })], [tcp(8080)]),
      ]),
    ])
    const objects = planObjects(planKubernetes(inv, ps, { now: NOW }))
    const ingress = objects.find(
      (o) => (o['metadata'] as { name: string }).name === 'bh-shop-db-to-api-in',
    )
    expect((ingress?.['spec'] as { ingress: { from: unknown[] }[] }).ingress[0]?.from).toEqual([
      { namespaceSelector: {}, podSelector: { matchLabels: { role: 'db' } } },
      { ipBlock: { cidr: '10.99.0.50/32' } },
    ])
    agrees(inv, ps, cilium, ciliumAllows, [['10.99.0.50', '10.99.1.20', 8080]])
    agrees(inv, ps, calico, calicoAllows, [['10.99.0.50', '10.99.1.20', 8080]])
  })

  it('a deny from a VM is not expressible as AdminNetworkPolicy (no ingress networks)', () => {
    const ps = enforced([
      policy('shop', { namespace: 'shop' }, [
        rule('no-db', [lbl({ role: 'db' }, true)], [lbl({ app: 'api' })], [tcp(22)], 'deny'),
      ]),
    ])
    notExpressible(() => planKubernetes(inv, ps, { now: NOW, denyWith: 'anp' }))
  })
})

describe('cluster targets: named externals holding workloads', () => {
  // s13/hR D1: the external's whole block was emitted, so the VM inside became reachable
  const ps = enforced([
    policy('shop', { namespace: 'shop' }, [
      rule('web-to-dc', [lbl({ app: 'web' })], [{ kind: 'external', name: 'dc' }], [tcp(5432)]),
    ]),
  ])
  const inv = inventory([WEB, API, DB_VM])

  it('kubernetes excepts the addresses workloads hold in the block', () => {
    const objects = planObjects(planKubernetes(inv, ps, { now: NOW }))
    const egress = objects.find(
      (o) => (o['metadata'] as { name: string }).name === 'bh-shop-web-to-dc-eg',
    )
    expect((egress?.['spec'] as { egress: { to: unknown[] }[] }).egress[0]?.to).toEqual([
      { ipBlock: { cidr: '10.99.0.0/24', except: ['10.99.0.50/32'] } },
    ])
  })

  it('cilium and calico reach the external but not the VM, as the model does', () => {
    const flows: [string, string, number][] = [
      ['10.99.1.10', '10.99.0.50', 5432],
      ['10.99.1.10', '10.99.0.49', 5432],
    ]
    agrees(inv, ps, cilium, ciliumAllows, flows)
    agrees(inv, ps, calico, calicoAllows, flows)
  })

  it('a deny towards such an external becomes the CIDRs around the workloads (ANP networks)', () => {
    const deny = enforced([
      policy('shop', { namespace: 'shop' }, [
        rule('no-dc', [lbl({ app: 'web' })], [{ kind: 'external', name: 'dc' }], [tcp(22)], 'deny'),
      ]),
    ])
    const plan = planKubernetes(inv, deny, { now: NOW, denyWith: 'anp' })
    const to = (plan.adminPolicies[0]?.['spec'] as { egress: { to: unknown[] }[] }).egress[0]?.to
    expect(to).toEqual([
      {
        networks: [
          '10.99.0.0/27',
          '10.99.0.32/28',
          '10.99.0.48/31',
          '10.99.0.51/32',
          '10.99.0.52/30',
          '10.99.0.56/29',
          '10.99.0.64/26',
          '10.99.0.128/25',
        ],
      },
    ])
  })
})

describe('cluster targets: labels from label rules', () => {
  // s13/hR D5: `zone` comes from a label rule, so no pod carries it in the cluster
  const fromRule = (w: Workload, labels: Record<string, string>): Workload => ({
    ...w,
    labels: labelSet({ ...w.labels, ...labels }),
    labelOrigins: Object.fromEntries(Object.keys(labels).map((k) => [k, 'label-rule:0' as const])),
  })
  const devWeb = fromRule(pod('dev', 'web', '10.99.2.10', { app: 'web' }), { zone: 'untrusted' })
  const inv = inventory([devWeb, API])

  it('a pod matched only through such labels is selected by its own labels', () => {
    const ps = enforced([
      policy('shop', { namespace: 'shop' }, [
        rule('web-to-api', [lbl({ app: 'web' }, true)], [lbl({ app: 'api' })], [tcp(443)]),
        rule(
          'no-untrusted',
          [lbl({ zone: 'untrusted' }, true)],
          [lbl({ app: 'api' })],
          [{ protocol: 'any' }],
          'deny',
        ),
      ]),
    ])
    const plan = planKubernetes(inv, ps, { now: NOW, denyWith: 'anp' })
    const subjects = plan.adminPolicies.map((o) => (o['spec'] as { subject: unknown }).subject)
    expect(subjects).toEqual([
      {
        pods: {
          // limited to the compiled namespaces: no pod of an unknown namespace is a subject
          namespaceSelector: {
            matchExpressions: [
              { key: 'kubernetes.io/metadata.name', operator: 'In', values: ['dev', 'shop'] },
            ],
          },
          podSelector: { matchLabels: { zone: 'untrusted' } },
        },
      },
      {
        pods: {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'dev' } },
          podSelector: { matchLabels: { app: 'web' } },
        },
      },
    ])
    agrees(inv, ps, cilium, ciliumAllows, [['10.99.2.10', '10.99.1.20', 443]])
    agrees(inv, ps, calico, calicoAllows, [['10.99.2.10', '10.99.1.20', 443]])
  })

  it('a selector the cluster would widen (NotIn over such a label) is not expressible', () => {
    const ps = enforced([
      policy('shop', { namespace: 'shop' }, [
        rule(
          'trusted-to-api',
          [lbl({}, true, [{ key: 'zone', operator: 'NotIn', values: ['untrusted'] }])],
          [lbl({ app: 'api' })],
          [tcp(443)],
        ),
      ]),
    ])
    notExpressible(() => planKubernetes(inv, ps, { now: NOW }))
    notExpressible(() => planCilium(inv, ps, { now: NOW }))
    notExpressible(() => planCalico(inv, ps, { now: NOW }))
  })
})

describe('cluster targets: dual-stack pods inside a cidr selector', () => {
  // s13/hR D6: the pod selector standing for the pod takes its IPv6 address too
  const dual = (w: Workload, v6: string): Workload => ({
    ...w,
    addresses: [...w.addresses, { ip: v6 }],
  })
  const v4Only = enforced([
    policy('shop', { namespace: 'shop' }, [
      rule(
        'v4-subnet-to-api',
        [{ kind: 'cidr', cidr: cidr('10.99.1.0/24'), except: [] }],
        [lbl({ app: 'api' })],
        [tcp(443)],
      ),
    ]),
  ])

  it('is not expressible when the model decides the other family otherwise', () => {
    const inv = inventory([dual(WEB, 'fd99:1::10'), dual(API, 'fd99:1::20')])
    notExpressible(() => planKubernetes(inv, v4Only, { now: NOW }))
    notExpressible(() => planCilium(inv, v4Only, { now: NOW }))
  })

  it('compiles when no peer has that family, or the model allows it anyway', () => {
    planKubernetes(inventory([dual(WEB, 'fd99:1::10'), API]), v4Only, { now: NOW })
    const both = enforced([
      ...v4Only.policies,
      policy('v6', { namespace: 'shop' }, [
        rule(
          'v6-subnet-to-api',
          [{ kind: 'cidr', cidr: cidr('fd99:1::/64'), except: [] }],
          [lbl({ app: 'api' })],
          [tcp(443)],
        ),
      ]),
    ])
    const inv = inventory([dual(WEB, 'fd99:1::10'), dual(API, 'fd99:1::20')])
    planKubernetes(inv, both, { now: NOW })
    agrees(inv, both, cilium, ciliumAllows, [
      ['10.99.1.10', '10.99.1.20', 443],
      ['fd99:1::10', 'fd99:1::20', 443],
    ])
  })
})

describe('cluster targets: workloads placed by the defaultNamespace option', () => {
  it('a selector on `namespace DoesNotExist` takes them one by one, as the model does', () => {
    // no namespace label: the model matches them; the cluster puts them in `default`
    const web: Workload = workload('web', '10.99.1.10', { app: 'web' })
    const api: Workload = workload('api', '10.99.1.20', { app: 'api' })
    const ps = enforced([
      policy('p', { app: 'api' }, [
        rule(
          'unplaced-to-api',
          [lbl({}, true, [{ key: 'namespace', operator: 'DoesNotExist', values: [] }])],
          [lbl({})],
          [tcp(443)],
        ),
      ]),
    ])
    const objects = planObjects(
      planKubernetes(inventory([web, api]), ps, { now: NOW, defaultNamespace: 'default' }),
    )
    const ingress = objects.find(
      (o) => (o['metadata'] as { name: string }).name === 'bh-p-unplaced-to-api-in',
    )
    expect((ingress?.['spec'] as { ingress: { from: unknown[] }[] }).ingress[0]?.from).toEqual([
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'default' } },
        podSelector: { matchLabels: { app: 'web' } },
      },
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'default' } },
        podSelector: { matchLabels: { app: 'api' } },
      },
    ])
  })
})
