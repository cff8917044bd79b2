/**
 * @module Tests of the cilium target: conformance suite, golden files of the shared fixture,
 * and the shape of what each rule kind becomes (deny → ingressDeny/egressDeny, namespaced vs
 * cluster-wide, CIDR sets with except, endpoint namespaces).
 */
import { describe, expect, it } from 'vitest'
import {
  ciliumCompiler,
  planCilium,
  PodGroupResolver,
  ciliumAllows,
  ciliumDirection,
  selects,
  CILIUM_NAMESPACE_LABEL as CILIUM_NS,
  type K8sLabelSelector,
} from '../../src/compile/index.js'
import {
  allObjects,
  expectGoldenFiles,
  OUTSIDE,
  runDifferential,
  withPods,
  type Obj,
  expectExercised,
  expectPortZeroExercised,
} from './k8s-differential.js'
import { upstreamChecked } from './upstream-rules.js'
import { evaluate } from '../../src/policy/evaluate.js'
import type { Rule } from '../../src/core/index.js'
import type { CheckEndpoint, CiliumNodes, CompiledPod } from '../../src/compile/index.js'
import { runCompileConformance } from '../conformance/compile.case.js'
import {
  ANY_SUBJECT,
  cidr,
  enforced,
  FOREIGN_PROBES,
  lbl,
  NOW,
  pod,
  policy,
  rule,
  SHOP,
  SHOP_POLICIES,
  tcp,
} from './kubernetes-fixture.js'

describe('cilium target', () => {
  it('matches the golden files', async () => {
    await expectGoldenFiles(ciliumCompiler, 'compile-cilium', [
      'ciliumnetworkpolicies.yaml',
      'ciliumclusterwidenetworkpolicies.yaml',
    ])
  })

  it('deny rules become ingressDeny and egressDeny; every object is labelled', () => {
    const plan = planCilium(SHOP, SHOP_POLICIES, { now: NOW })
    const all = allObjects(plan) as Obj[]
    const deny = all.filter((o) => o.metadata.labels['bulkhead.dev/rule'] === 'no-dev-to-db')
    expect(
      deny
        .map((o) => Object.keys(o.spec).filter((k) => k !== 'endpointSelector'))
        .flat()
        .sort(),
    ).toEqual(['egressDeny', 'ingressDeny'])
    for (const o of all) expect(o.metadata.labels['bulkhead.dev/policy']).toBeTruthy()
    const dd = all.filter((o) => o.metadata.name === 'bulkhead-default-deny')
    expect(dd.map((o) => [o.kind, o.metadata.namespace, o.spec])).toEqual(
      ['ops', 'pay', 'shop'].map((ns) => [
        'CiliumNetworkPolicy',
        ns,
        { endpointSelector: {}, ingress: [{}], egress: [{}] },
      ]),
    )
  })

  it('a namespace-pinned subject is a CiliumNetworkPolicy; peers name their namespace', () => {
    const ps = enforced([
      policy('p', { namespace: 'shop' }, [
        rule(
          'r',
          [
            lbl({ role: 'web' }),
            { kind: 'cidr', cidr: cidr('192.0.2.0/24'), except: [cidr('192.0.2.8/29')] },
          ],
          [lbl({ role: 'api' })],
          [tcp(8000, 8100)],
        ),
      ]),
    ])
    const plan = planCilium(SHOP, ps, { now: NOW })
    const shop = plan.objects.get('shop') as Obj[]
    const ing = shop.find((o) => o.metadata.name === 'bh-p-r-in')
    expect(ing?.kind).toBe('CiliumNetworkPolicy')
    expect(ing?.spec).toEqual({
      endpointSelector: { matchLabels: { role: 'api' } },
      ingress: [
        {
          fromEndpoints: [
            { matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'shop', role: 'web' } },
          ],
          toPorts: [{ ports: [{ port: '8000', endPort: 8100, protocol: 'TCP' }] }],
        },
        {
          fromCIDRSet: [{ cidr: '192.0.2.0/24', except: ['192.0.2.8/29'] }],
          toPorts: [{ ports: [{ port: '8000', endPort: 8100, protocol: 'TCP' }] }],
        },
      ],
    })
    expect(plan.clusterwide).toEqual([])
  })

  it('an unscoped selector is cluster-wide, peers in every namespace', () => {
    const ps = enforced([
      policy('p', {}, [
        rule('r', [lbl({ role: 'web' })], [{ kind: 'any' }], [{ protocol: 'any' }]),
      ]),
    ])
    const plan = planCilium(SHOP, ps, { now: NOW, direction: 'egress' })
    expect(plan.clusterwide).toHaveLength(1)
    expect((plan.clusterwide[0] as Obj).spec).toEqual({
      // limited to the compiled namespaces (s13/hR D3)
      endpointSelector: {
        matchLabels: { role: 'web' },
        matchExpressions: [{ key: CILIUM_NS, operator: 'In', values: ['ops', 'pay', 'shop'] }],
      },
      egress: [{ toEntities: ['all'] }],
    })
  })

  it('a cluster-wide subject keeps its pinned namespace (s13/hR D7)', () => {
    // scope pins namespace shop; the expression on namespace makes the group cluster-wide
    const inv = {
      workloads: [
        pod('shop', 'web', '10.244.1.10', { app: 'web' }),
        pod('dev', 'web', '10.244.2.10', { app: 'web' }),
      ],
      externals: [],
      labelRules: [],
    }
    const notKubeSystem = { key: 'namespace', operator: 'NotIn' as const, values: ['kube-system'] }
    const ps = enforced([
      policy('shop', { namespace: 'shop' }, [
        rule(
          'office-to-web',
          [{ kind: 'cidr', cidr: cidr('192.0.2.0/24'), except: [] }],
          [lbl({ app: 'web' }, false, [notKubeSystem])],
          [tcp(443)],
        ),
      ]),
    ])
    const plan = planCilium(inv, ps, { now: NOW })
    const objects = allObjects(plan)
    const pods = new PodGroupResolver(inv, { now: NOW }).pods
    for (const p of pods) {
      const dst = { ip: p.workload.addresses[0]?.ip ?? '', pod: p }
      const tuple = { src: '192.0.2.7', dst: dst.ip, protocol: 6, dstPort: 443, at: NOW.getTime() }
      expect(ciliumAllows(objects, { ip: '192.0.2.7' }, dst, 6, 443), p.workload.name).toBe(
        evaluate(inv, ps, tuple).decision === 'allowed',
      )
    }
    const subject = (plan.clusterwide[0] as Obj | undefined)?.spec['endpointSelector']
    expect(subject).toMatchObject({ matchLabels: { [CILIUM_NS]: 'shop', app: 'web' } })
  })

  it('no policy selects pods outside the compiled namespaces: any and namespace-free subjects (s13/hR D3)', () => {
    const { inventory, policySet } = ANY_SUBJECT
    const plan = planCilium(inventory, policySet, { now: NOW })
    const objects = allObjects(plan)
    expect(plan.clusterwide.length).toBeGreaterThan(0)
    for (const { namespace, self, points } of FOREIGN_PROBES)
      for (const dir of ['ingress', 'egress'] as const)
        for (const [peer, port] of points)
          expect(
            ciliumDirection(objects, self, { ip: peer }, dir, 6, port),
            `${namespace} ${dir}`,
          ).toBe(true)
    // the compiled pods keep their subjects
    const selected = (o: Obj, ns: string, labels: Record<string, string>): boolean =>
      selects(o.spec['endpointSelector'] as K8sLabelSelector, { ...labels, [CILIUM_NS]: ns })
    const cw = plan.clusterwide as Obj[]
    expect(cw.some((o) => selected(o, 'shop', { app: 'web', tier: 'front' }))).toBe(true)
    expect(cw.some((o) => selected(o, 'dev', { app: 'web', tier: 'front' }))).toBe(true)
  })
})

describe('cilium target: ICMP rules as icmps', () => {
  const ps = enforced([
    policy('p', { app: 'shop' }, [
      rule(
        'ping-and-web',
        [lbl({ role: 'web' })],
        [lbl({ role: 'api' })],
        [tcp(443), { protocol: 1, ports: { lo: 8, hi: 8 } }],
      ),
      rule(
        'icmp-all',
        [lbl({ role: 'api' })],
        [lbl({ role: 'db' }), { kind: 'cidr', cidr: cidr('192.0.2.0/24'), except: [] }],
        [
          { protocol: 1, ports: { lo: 0, hi: 255 } },
          { protocol: 58, ports: { lo: 128, hi: 129 } },
        ],
      ),
    ]),
  ])

  it('puts icmps in a rule entry of its own, one field per type, at most 40 per ICMPRule', () => {
    const plan = planCilium(SHOP, ps, { now: NOW, direction: 'ingress' })
    const shop = plan.clusterwide as Obj[]
    const ping = shop.find((o) => o.metadata.name.startsWith('bh-p-ping-and-web'))
    expect(ping?.spec['ingress']).toEqual([
      {
        fromEndpoints: [
          {
            matchLabels: { app: 'shop', role: 'web' },
            matchExpressions: [{ key: CILIUM_NS, operator: 'Exists' }],
          },
        ],
        toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }],
      },
      {
        fromEndpoints: [
          {
            matchLabels: { app: 'shop', role: 'web' },
            matchExpressions: [{ key: CILIUM_NS, operator: 'Exists' }],
          },
        ],
        icmps: [{ fields: [{ family: 'IPv4', type: 8 }] }],
      },
    ])
    const all = shop.find((o) => o.metadata.name.startsWith('bh-p-icmp-all'))
    const icmps = (all?.spec['ingress'] as { icmps: { fields: unknown[] }[] }[])[0]?.icmps ?? []
    expect(icmps.map((i) => i.fields.length)).toEqual([40, 40, 40, 40, 40, 40, 18])
  })

  it('the evaluator of the output agrees with the model on ICMP, ICMPv6 and TCP', () => {
    const plan = planCilium(SHOP, ps, { now: NOW })
    const objects = allObjects(plan)
    const pods: readonly CompiledPod[] = new PodGroupResolver(SHOP, { now: NOW }).pods
    const ends: CheckEndpoint[] = [
      ...pods.flatMap((pod) => pod.workload.addresses.map((a) => ({ ip: a.ip, pod }))),
      ...[...OUTSIDE, '192.0.2.9'].map((ip) => ({ ip })),
    ]
    const services: [number, number][] = [
      [1, 8],
      [1, 0],
      [1, 3],
      [58, 128],
      [58, 1],
      [6, 443],
      [6, 80],
    ]
    let allowed = 0
    for (const s of ends)
      for (const d of ends) {
        if (s === d || (!s.pod && !d.pod)) continue
        for (const [protocol, port] of services) {
          const want =
            evaluate(SHOP, ps, { src: s.ip, dst: d.ip, protocol, dstPort: port, at: NOW.getTime() })
              .decision === 'allowed'
          const got = ciliumAllows(objects, s, d, protocol, port)
          if (got) allowed++
          expect(got, `${s.ip} -> ${d.ip} ${protocol}/${port}`).toBe(want)
        }
      }
    expect(allowed).toBeGreaterThan(4)
  })
})

describe('cilium target: node addresses (identities host and remote-node)', () => {
  // By hand, from Cilium's policy language (language.rst): CIDR peers take no node address
  // ("CIDR rules do not apply to traffic where both sides of the connection are either managed by
  // Cilium or use an IP belonging to a node in the cluster"), entity `all` does, and the local host
  // reaches its pods whatever the allow rules (--allow-localhost default). The model knows no node:
  // 10.0.0.11 (web's node) and 10.0.0.12 (another node) are addresses inside 10.0.0.0/24, an
  // external range, so the model follows the rules; Cilium does not, hence compile/node-addresses.
  const inv = {
    workloads: [pod('shop', 'web', '10.244.1.10', { app: 'web' })],
    externals: [],
    labelRules: [],
  }
  const nodesBlock = { kind: 'cidr' as const, cidr: cidr('10.0.0.0/24'), except: [] }
  const at = (line: number) => ({ file: 'policy/shop.yaml', line, column: 5 })
  const nodes: CiliumNodes = {
    addresses: new Set(['10.0.0.11', '10.0.0.12']),
    nodeOf: new Map([['shop/web[Pod]', '10.0.0.11']]),
  }
  const decide = (rules: Rule[], src: string, dst: string, port: number) => {
    const ps = enforced([policy('shop', { namespace: 'shop' }, rules)])
    const plan = planCilium(inv, ps, { now: NOW })
    const webPod = new PodGroupResolver(inv, { now: NOW }).pods[0]
    if (!webPod) throw new Error('no pod')
    const web: CheckEndpoint = { ip: '10.244.1.10', pod: webPod }
    const end = (ip: string): CheckEndpoint => (ip === web.ip ? web : { ip })
    const objects = allObjects(plan)
    return {
      plan,
      model: evaluate(inv, ps, { src, dst, protocol: 6, dstPort: port, at: NOW.getTime() })
        .decision,
      cilium: ciliumAllows(objects, end(src), end(dst), 6, port, nodes) ? 'allowed' : 'denied',
      asWorld: ciliumAllows(objects, end(src), end(dst), 6, port) ? 'allowed' : 'denied',
    }
  }
  const allowNodes = {
    ...rule('nodes-to-web', [nodesBlock], [lbl({ app: 'web' })], [tcp(8080)]),
    location: at(7),
  }
  const anyToWeb = rule('any-to-web', [{ kind: 'any' }], [lbl({ app: 'web' })], [tcp(8080)])
  const denyNodes = {
    ...rule('no-nodes', [nodesBlock], [lbl({ app: 'web' })], [tcp(8080)], 'deny'),
    location: at(12),
  }
  const webToNodes = rule('web-to-nodes', [lbl({ app: 'web' })], [nodesBlock], [tcp(10250)])

  it('a CIDR allow takes no remote node (dropped), the local host passes anyway', () => {
    expect(decide([allowNodes], '10.0.0.12', '10.244.1.10', 8080)).toMatchObject({
      model: 'allowed',
      cilium: 'denied',
      asWorld: 'allowed',
    })
    expect(decide([allowNodes], '10.0.0.11', '10.244.1.10', 8080)).toMatchObject({
      model: 'allowed',
      cilium: 'allowed',
    })
    // without any rule for it, the local host still reaches web; a remote node does not
    expect(decide([anyToWeb], '10.0.0.11', '10.244.1.10', 9999)).toMatchObject({
      model: 'denied',
      cilium: 'allowed',
    })
    expect(decide([anyToWeb], '10.0.0.12', '10.244.1.10', 9999).cilium).toBe('denied')
  })

  it('a CIDR deny does not stop an `any` allow (entity all) for node addresses', () => {
    for (const node of ['10.0.0.11', '10.0.0.12'])
      expect(decide([anyToWeb, denyNodes], node, '10.244.1.10', 8080), node).toMatchObject({
        model: 'denied',
        cilium: 'allowed',
        asWorld: 'denied',
      })
    // an address of the block that is no node: Cilium and the model agree
    expect(decide([anyToWeb, denyNodes], '10.0.0.99', '10.244.1.10', 8080)).toMatchObject({
      model: 'denied',
      cilium: 'denied',
    })
  })

  it('a deny from `any` (ingressDeny, entity all) stops the local host too: deny beats allow-localhost', () => {
    // cilium/cilium#12716 (deny policies): a policy that says "deny from host" drops it whatever
    // --allow-localhost; #44590: "Higher precedence deny rules can still override the default
    // allow localhost rule". A deny from any compiles to ingressDeny fromEntities [all], which
    // holds the host identity: the local node is dropped on 8080, as the model says
    const denyAny = rule('no-one', [{ kind: 'any' }], [lbl({ app: 'web' })], [tcp(8080)], 'deny')
    expect(decide([anyToWeb, denyAny], '10.0.0.11', '10.244.1.10', 8080)).toMatchObject({
      model: 'denied',
      cilium: 'denied',
    })
    // on another port the deny does not apply: the local host passes, whatever the allows
    expect(decide([anyToWeb, denyAny], '10.0.0.11', '10.244.1.10', 9999).cilium).toBe('allowed')
  })

  it('a CIDR egress takes no node address; `any` takes them as the model does', () => {
    for (const node of ['10.0.0.11', '10.0.0.12'])
      expect(decide([webToNodes], '10.244.1.10', node, 10250), node).toMatchObject({
        model: 'allowed',
        cilium: 'denied',
      })
    const webToAny = rule('web-to-any', [lbl({ app: 'web' })], [{ kind: 'any' }], [tcp(10250)])
    expect(decide([webToAny], '10.244.1.10', '10.0.0.12', 10250)).toMatchObject({
      model: 'allowed',
      cilium: 'allowed',
    })
  })

  it('compile warns compile/node-addresses, naming the rules with CIDR peers', () => {
    const { plan } = decide(
      [anyToWeb, denyNodes, allowNodes, webToNodes],
      '10.0.0.12',
      '10.244.1.10',
      8080,
    )
    const warned = plan.diagnostics.filter((d) => d.code === 'compile/node-addresses')
    expect(warned).toEqual([expect.objectContaining({ severity: 'warning', location: at(12) })])
    expect(warned[0]?.message).toContain(
      'shop/no-nodes, shop/nodes-to-web, shop/web-to-nodes match no node address',
    )
    expect(warned[0]?.message).toContain('--policy-cidr-match-mode=nodes')
    expect(warned[0]?.message).toContain('--allow-localhost=policy')
    // pods only, egress only: no CIDR peer and no pod ingress, no warning
    const egressOnly = planCilium(
      inv,
      enforced([
        policy('shop', { namespace: 'shop' }, [
          rule('web-to-web', [lbl({ app: 'web' })], [lbl({ app: 'web' })], [tcp(80)]),
        ]),
      ]),
      { now: NOW, direction: 'egress' },
    )
    expect(egressOnly.diagnostics.map((d) => d.code)).not.toContain('compile/node-addresses')
  })
})

runCompileConformance({
  compiler: ciliumCompiler,
  extraOptions: { defaultNamespace: 'default' },
})

describe('cilium target: evaluator of the output agrees with the model (property)', () => {
  it('on random estates with deny rules', () => {
    const c = runDifferential(
      withPods(
        (inv, ps) => planCilium(inv, ps, { now: NOW }),
        (p) => upstreamChecked(allObjects(p)),
      ),
      ciliumAllows,
    )
    expect(c.verified).toBeGreaterThan(50)
    expectExercised(c.outcomes)
    expectPortZeroExercised(c.portZero)
    expect(c.allowed).toBeGreaterThan(500)
    expect(c.denied).toBeGreaterThan(500)
  }, 120_000)

  it('on random estates with random Enforcement modes: only enforced pods block (observe pods are not isolated; s13/hR D4)', () => {
    const c = runDifferential(
      withPods(
        (inv, ps) => planCilium(inv, ps, { now: NOW }),
        (p) => upstreamChecked(allObjects(p)),
      ),
      ciliumAllows,
      100,
      ['enforce', 'observe'],
    )
    expect(c.verified).toBeGreaterThan(50)
    expectExercised(c.outcomes)
    expectPortZeroExercised(c.portZero)
    expect(c.refused).toBeGreaterThan(0)
    expect(c.allowed).toBeGreaterThan(500)
    expect(c.denied).toBeGreaterThan(200)
    // flows the model denies, by the mode that decides (SEED: enforce 24 604, observe 29 104):
    // about half of each
    expect(c.deniedIn.enforce, 'denied, enforce decides').toBeGreaterThan(12_000)
    expect(c.deniedIn.observe, 'denied, observe decides').toBeGreaterThan(14_000)
    // pod flows a deny rule decides over a matching allow, between pods in two modes (SEED:
    // enforce > observe 46, observe > enforce 115). Over enforcementArb alone: 3 and 7, and the
    // property passed only by luck with a deny's egressDeny or ingressDeny peers cut to the
    // pods that are not observe
    expect(
      c.crossModeDeny['enforce>observe'],
      'deny over allow, enforce > observe',
    ).toBeGreaterThan(20)
    expect(
      c.crossModeDeny['observe>enforce'],
      'deny over allow, observe > enforce',
    ).toBeGreaterThan(55)
  }, 120_000)
})
