/**
 * @module Tests of the calico target: conformance suite, golden files of the shared fixture,
 * orders and actions, selectors, nets/notNets, ICMP and other protocols, and Staged kinds in
 * monitor mode.
 */
import { describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import {
  calicoCompiler,
  calicoSelector,
  planCalico,
  PodGroupResolver,
  calicoAllows,
  calicoDirection,
  calicoSelectorMatches,
} from '../../src/compile/index.js'
import {
  allObjects,
  expectGoldenFiles,
  runDifferential,
  withPods,
  type Obj,
  expectExercised,
  expectPortZeroExercised,
} from './k8s-differential.js'
import { upstreamChecked } from './upstream-rules.js'
import { evaluate } from '../../src/policy/evaluate.js'
import type { Inventory, PolicySet } from '../../src/core/index.js'
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

describe('calico target', () => {
  it('matches the golden files', async () => {
    await expectGoldenFiles(calicoCompiler, 'compile-calico', [
      'calico.yaml',
      'globalnetworkpolicies.yaml',
    ])
  })

  it('deny rules have order 100 and action Deny, allow rules 1000, default deny 10000', () => {
    const plan = planCalico(SHOP, SHOP_POLICIES, { now: NOW })
    const all = allObjects(plan) as Obj[]
    // the deny rule, an allow rule and the default deny are all there to be checked
    expect(all.some((o) => o.metadata.labels['bulkhead.dev/rule'] === 'no-dev-to-db')).toBe(true)
    expect(all.some((o) => o.metadata.name === 'bulkhead-default-deny')).toBe(true)
    expect(all.length).toBeGreaterThan(2)
    for (const o of all) {
      const rules = [
        ...((o.spec['ingress'] as { action: string }[] | undefined) ?? []),
        ...((o.spec['egress'] as { action: string }[] | undefined) ?? []),
      ]
      const deny = o.metadata.labels['bulkhead.dev/rule'] === 'no-dev-to-db'
      if (o.metadata.name === 'bulkhead-default-deny')
        expect(o.spec).toEqual({ order: 10000, selector: 'all()', types: ['Ingress', 'Egress'] })
      else {
        expect(o.spec['order']).toBe(deny ? 100 : 1000)
        expect(rules.length).toBeGreaterThan(0)
        for (const r of rules) expect(r.action).toBe(deny ? 'Deny' : 'Allow')
      }
    }
  })

  it('selectors use Calico syntax', () => {
    expect(calicoSelector({})).toBe('all()')
    expect(
      calicoSelector({
        matchLabels: { role: 'web' },
        matchExpressions: [
          { key: 'env', operator: 'NotIn', values: ['dev', 'test'] },
          { key: 'tier', operator: 'Exists' },
          { key: 'x', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe("role == 'web' && env not in {'dev', 'test'} && has(tier) && !has(x)")
  })

  it('ICMP types, other protocols, and one nets list for blocks without except', () => {
    const ps = enforced([
      policy('p', { app: 'shop' }, [
        rule(
          'r',
          [
            { kind: 'cidr', cidr: { ...SHOP.externals[0]!.cidr }, except: [] },
            { kind: 'external', name: 'bank' },
          ],
          [lbl({ role: 'web' })],
          [
            { protocol: 1, ports: { lo: 8, hi: 8 } },
            { protocol: 47, ports: { lo: 0, hi: 65535 } },
            { protocol: 6, ports: { lo: 0, hi: 65535 } },
          ],
        ),
      ]),
    ])
    const plan = planCalico(SHOP, ps, { now: NOW, direction: 'ingress' })
    const o = (plan.global as Obj[]).find((x) => x.metadata.name === 'bh-p-r-in')
    expect(o?.kind).toBe('GlobalNetworkPolicy')
    expect(o?.spec['selector']).toBe(
      "projectcalico.org/namespace in {'ops', 'pay', 'shop'} && app == 'shop' && role == 'web'",
    )
    const src = { nets: ['198.51.100.0/24'] }
    expect(o?.spec['ingress']).toEqual([
      { action: 'Allow', protocol: 'ICMP', icmp: { type: 8 }, source: src },
      { action: 'Allow', protocol: 47, source: src },
      { action: 'Allow', protocol: 'TCP', source: src },
    ])
  })

  it('proto/0 is compile/not-expressible at the rule, never `protocol: 0` (s13/hR D10)', () => {
    const at = { file: 'policy/p.yaml', line: 4, column: 5 }
    const ps = enforced([
      policy('p', { app: 'shop' }, [
        {
          ...rule(
            'zero',
            [lbl({ role: 'web' })],
            [lbl({ role: 'db' })],
            [{ protocol: 0, ports: { lo: 0, hi: 65535 } }],
          ),
          location: at,
        },
      ]),
    ])
    expect(() => calicoCompiler.compile(SHOP, ps, { now: NOW })).toThrow(
      expect.objectContaining({
        diagnostics: [expect.objectContaining({ code: 'compile/not-expressible', location: at })],
      }),
    )
  })

  it('port ranges are double-quoted strings, read as strings by YAML 1.1 readers too (s13/hR D10)', () => {
    // `1:10` unquoted is the base-60 integer 70 to YAML 1.1 (PyYAML, so Ansible)
    const ps = enforced([
      policy('p', { app: 'shop' }, [
        rule('r', [lbl({ role: 'web' })], [lbl({ role: 'db' })], [tcp(1, 10), tcp(8000, 8100)]),
      ]),
    ])
    const r = calicoCompiler.compile(SHOP, ps, { now: NOW, direction: 'ingress' })
    const text = r.artefacts.map((a) => a.content).join('')
    expect(text).toContain('- "1:10"')
    expect(text).toContain('- "8000:8100"')
    for (const version of ['1.1', '1.2'] as const) {
      const docs = parseAllDocuments(text, { version }).map((d) => d.toJS() as Obj | null)
      const o = docs.find((d) => d?.metadata.name === 'bh-p-r-in')
      const ingress = o?.spec['ingress'] as { destination?: { ports?: unknown[] } }[] | undefined
      expect(ingress?.[0]?.destination?.ports, version).toEqual(['1:10', '8000:8100'])
    }
  })

  it('monitor mode emits Staged kinds', () => {
    const ps: PolicySet = {
      ...SHOP_POLICIES,
      enforcement: [{ selector: { kind: 'any' }, mode: 'monitor' }],
    }
    const plan = planCalico(SHOP, ps, { now: NOW })
    const kinds = new Set(allObjects(plan).map((o) => o['kind']))
    expect([...kinds].sort()).toEqual(['StagedGlobalNetworkPolicy', 'StagedNetworkPolicy'])
  })

  it('a dual-stack pod inside an IPv4 cidr subject is a subject for that address only (source.nets)', () => {
    const dual = (
      ns: string,
      name: string,
      ip4: string,
      ip6: string,
      labels: Record<string, string>,
    ) => ({
      ...pod(ns, name, ip4, labels),
      addresses: [{ ip: ip4 }, { ip: ip6 }],
    })
    const inv: Inventory = {
      workloads: [
        dual('b', 'api', '10.244.1.4', 'fd00:244:1::4', { role: 'api' }),
        dual('a', 'db', '10.244.0.5', 'fd00:244::5', { role: 'db' }),
      ],
      externals: [],
      labelRules: [],
    }
    const block = {
      kind: 'cidr' as const,
      cidr: cidr('10.244.1.0/24'),
      except: [cidr('10.244.1.2/31')],
    }
    const ps = enforced([
      policy('p', {}, [
        rule('block-out', [block], [{ kind: 'any' }], [tcp(443)]),
        rule('block-in', [{ kind: 'any' }], [block], [tcp(8080)]),
      ]),
    ])
    const plan = planCalico(inv, ps, { now: NOW })
    const objects = allObjects(plan)
    const pods = new PodGroupResolver(inv, { now: NOW }).pods
    const api = pods.find((p) => p.namespace === 'b')
    const end = (ip: string) => {
      const p = ip.startsWith('10.244.1.') || ip.startsWith('fd00:244:1::') ? api : undefined
      return { ip, ...(p ? { pod: p } : {}) }
    }
    // the pod's IPv4 address is in the block, its IPv6 address is not: a subject for the first only
    for (const [src, dst, port, allowed] of [
      ['10.244.1.4', '8.8.8.8', 443, true],
      ['fd00:244:1::4', '2001:db8::1', 443, false],
      ['8.8.8.8', '10.244.1.4', 8080, true],
      ['2001:db8::1', 'fd00:244:1::4', 8080, false],
    ] as const) {
      const v = evaluate(inv, ps, { src, dst, protocol: 6, dstPort: port, at: NOW.getTime() })
      expect(v.decision === 'allowed', `model ${src} -> ${dst}`).toBe(allowed)
      expect(calicoAllows(objects, end(src), end(dst), 6, port), `${src} -> ${dst}`).toBe(allowed)
    }
  })

  it('no policy selects endpoints outside the compiled namespaces: any and namespace-free subjects (s13/hR D3)', () => {
    const { inventory, policySet } = ANY_SUBJECT
    const plan = planCalico(inventory, policySet, { now: NOW })
    const objects = allObjects(plan)
    expect(plan.global.length).toBeGreaterThan(0)
    for (const { namespace, self, points } of FOREIGN_PROBES)
      for (const dir of ['ingress', 'egress'] as const)
        for (const [peer, port] of points)
          expect(
            calicoDirection(objects, { ip: '10.250.0.1', pod: self }, { ip: peer }, dir, 6, port),
            `${namespace} ${dir}`,
          ).toBe(true)
    // host endpoints carry no projectcalico.org/namespace label
    for (const o of plan.global as Obj[]) {
      expect(calicoSelectorMatches(o.spec['selector'] as string, { tier: 'front' })).toBe(false)
      expect(calicoSelectorMatches(o.spec['selector'] as string, {})).toBe(false)
    }
    // the compiled pods keep their subjects
    const selected = (o: Obj, ns: string, labels: Record<string, string>): boolean =>
      calicoSelectorMatches(o.spec['selector'] as string, {
        ...labels,
        'projectcalico.org/namespace': ns,
      })
    const global = plan.global as Obj[]
    expect(global.some((o) => selected(o, 'shop', { app: 'web', tier: 'front' }))).toBe(true)
    expect(global.some((o) => selected(o, 'dev', { app: 'web', tier: 'front' }))).toBe(true)
  })
})

describe('calico target: node addresses (own host, defaultEndpointToHostAction)', () => {
  // By hand, from Calico's "Protect hosts" page: "Calico allows all connections from processes
  // running on the host to guest workloads on the host", and blocks "all connections from a
  // workload to its local host (after traffic passes any egress policy applied to the workload)"
  // unless Felix's defaultEndpointToHostAction says Accept (Calico's manifests and operator do).
  // Rule nets match other node addresses as any address. The model knows no node: 10.0.0.11
  // (web's host) and 10.0.0.12 (another node) lie in 10.0.0.0/24, an external range.
  const inv = {
    workloads: [pod('shop', 'web', '10.244.1.10', { app: 'web' })],
    externals: [],
    labelRules: [],
  }
  const nodesBlock = { kind: 'cidr' as const, cidr: cidr('10.0.0.0/24'), except: [] }
  const nodes = {
    addresses: new Set(['10.0.0.11', '10.0.0.12']),
    nodeOf: new Map([['shop/web[Pod]', '10.0.0.11']]),
  }
  const decide = (
    rules: ReturnType<typeof rule>[],
    src: string,
    dst: string,
    port: number,
    endpointToHostAction?: 'Accept' | 'Drop',
  ) => {
    const ps = enforced([policy('shop', { namespace: 'shop' }, rules)])
    const plan = planCalico(inv, ps, { now: NOW })
    const webPod = new PodGroupResolver(inv, { now: NOW }).pods[0]
    if (!webPod) throw new Error('no pod')
    const end = (ip: string) => (ip === '10.244.1.10' ? { ip, pod: webPod } : { ip })
    const objects = allObjects(plan)
    const told = { ...nodes, ...(endpointToHostAction ? { endpointToHostAction } : {}) }
    return {
      plan,
      model: evaluate(inv, ps, { src, dst, protocol: 6, dstPort: port, at: NOW.getTime() })
        .decision,
      calico: calicoAllows(objects, end(src), end(dst), 6, port, told) ? 'allowed' : 'denied',
      untold: calicoAllows(objects, end(src), end(dst), 6, port) ? 'allowed' : 'denied',
    }
  }
  const anyToWeb = rule('any-to-web', [{ kind: 'any' }], [lbl({ app: 'web' })], [tcp(8080)])
  const nodesToWeb = rule('nodes-to-web', [nodesBlock], [lbl({ app: 'web' })], [tcp(8080)])
  const webToNodes = rule('web-to-nodes', [lbl({ app: 'web' })], [nodesBlock], [tcp(10250)])

  it('the own host reaches its pod whatever the policy; other nodes by the rules, as the model', () => {
    expect(decide([anyToWeb], '10.0.0.11', '10.244.1.10', 9999)).toMatchObject({
      model: 'denied',
      calico: 'allowed',
      untold: 'denied',
    })
    expect(decide([anyToWeb], '10.0.0.12', '10.244.1.10', 9999)).toMatchObject({
      model: 'denied',
      calico: 'denied',
    })
    expect(decide([nodesToWeb], '10.0.0.12', '10.244.1.10', 8080)).toMatchObject({
      model: 'allowed',
      calico: 'allowed',
    })
  })

  it('a pod reaches its own host when its egress policy allows it and the action is Accept', () => {
    expect(decide([webToNodes], '10.244.1.10', '10.0.0.11', 10250)).toMatchObject({
      model: 'allowed',
      calico: 'allowed',
    })
    expect(decide([webToNodes], '10.244.1.10', '10.0.0.11', 10250, 'Drop')).toMatchObject({
      model: 'allowed',
      calico: 'denied',
      untold: 'allowed',
    })
    // not allowed by the egress policy: denied whatever the action
    expect(decide([webToNodes], '10.244.1.10', '10.0.0.11', 22)).toMatchObject({
      model: 'denied',
      calico: 'denied',
    })
    // another node: by the policy only
    expect(decide([webToNodes], '10.244.1.10', '10.0.0.12', 10250, 'Drop').calico).toBe('allowed')
  })

  it('compile warns compile/node-addresses: the own host, and the action when pods reach addresses', () => {
    const warned = (rules: ReturnType<typeof rule>[], direction?: 'ingress' | 'egress') =>
      planCalico(inv, enforced([policy('shop', { namespace: 'shop' }, rules)]), {
        now: NOW,
        ...(direction ? { direction } : {}),
      }).diagnostics.filter((d) => d.code === 'compile/node-addresses')
    const both = warned([anyToWeb, webToNodes])
    expect(both).toEqual([expect.objectContaining({ severity: 'warning' })])
    expect(both[0]?.message).toContain('each host reaches the pods it runs whatever the policy')
    expect(both[0]?.message).toContain('shop/web-to-nodes')
    expect(both[0]?.message).toContain('defaultEndpointToHostAction')
    // pods only towards pods: the own host part alone
    const podsOnly = warned([anyToWeb])
    expect(podsOnly[0]?.message).not.toContain('defaultEndpointToHostAction')
    // egress only, towards pods: nothing Calico decides otherwise
    const web = lbl({ app: 'web' })
    expect(warned([rule('web-to-web', [web], [web], [tcp(80)])], 'egress')).toEqual([])
    // every pod observed: no object, no warning
    const observed = planCalico(
      inv,
      {
        policies: [policy('shop', { namespace: 'shop' }, [anyToWeb])],
        enforcement: [{ selector: { kind: 'any' }, mode: 'observe' }],
      },
      { now: NOW },
    )
    expect(observed.diagnostics.map((d) => d.code)).not.toContain('compile/node-addresses')
  })
})

runCompileConformance({ compiler: calicoCompiler, extraOptions: { defaultNamespace: 'default' } })

describe('calico target: evaluator of the output agrees with the model (property)', () => {
  it('on random estates with deny rules', () => {
    const c = runDifferential(
      withPods(
        (inv, ps) => planCalico(inv, ps, { now: NOW }),
        (p) => upstreamChecked(allObjects(p)),
      ),
      calicoAllows,
    )
    expect(c.verified).toBeGreaterThan(50)
    expectExercised(c.outcomes)
    expectPortZeroExercised(c.portZero)
    expect(c.allowed).toBeGreaterThan(500)
    expect(c.denied).toBeGreaterThan(500)
  }, 120_000)

  it('on random estates with random Enforcement modes: only enforced pods block (observe pods are not isolated, monitor pods only staged; s13/hR D4)', () => {
    const c = runDifferential(
      withPods(
        (inv, ps) => planCalico(inv, ps, { now: NOW }),
        (p) => upstreamChecked(allObjects(p)),
      ),
      calicoAllows,
      100,
      ['enforce', 'monitor', 'observe'],
    )
    expect(c.verified).toBeGreaterThan(50)
    expectExercised(c.outcomes)
    expectPortZeroExercised(c.portZero)
    expect(c.refused).toBeGreaterThan(0)
    expect(c.allowed).toBeGreaterThan(500)
    expect(c.denied).toBeGreaterThan(200)
    // flows the model denies, by the mode that decides (SEED: enforce 27 061, monitor 10 859,
    // observe 17 964): about half of each
    expect(c.deniedIn.enforce, 'denied, enforce decides').toBeGreaterThan(13_000)
    expect(c.deniedIn.monitor, 'denied, monitor decides').toBeGreaterThan(5_000)
    expect(c.deniedIn.observe, 'denied, observe decides').toBeGreaterThan(9_000)
    // pod flows a deny rule decides over a matching allow, between pods in two modes one of which
    // blocks (SEED: enforce > observe 101, observe > enforce 8, enforce > monitor 37, monitor >
    // enforce 16). Over enforcementArb alone: 3, 5, 0 and 0, and the property passed with a
    // deny's peers cut to the pods that are not monitor (either direction)
    expect(
      c.crossModeDeny['enforce>observe'],
      'deny over allow, enforce > observe',
    ).toBeGreaterThan(50)
    expect(
      c.crossModeDeny['observe>enforce'],
      'deny over allow, observe > enforce',
    ).toBeGreaterThan(3)
    expect(
      c.crossModeDeny['enforce>monitor'],
      'deny over allow, enforce > monitor',
    ).toBeGreaterThan(18)
    expect(
      c.crossModeDeny['monitor>enforce'],
      'deny over allow, monitor > enforce',
    ).toBeGreaterThan(7)
  }, 120_000)
})
