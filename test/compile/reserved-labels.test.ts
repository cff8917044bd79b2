/**
 * Pod labels whose keys the cluster targets set, rewrite or drop themselves: a compiled selector
 * on such a key would read the target's value, not the inventory's. Each case gives the pods the
 * labels the target really gives their endpoints (transcribed below from the upstream code) and
 * checks the target's verdicts, computed by the compiler's own evaluators (calico/check.ts,
 * cilium/check.ts) over those labels, against the model's.
 *
 * Calico (projectcalico/calico `libcalico-go/lib/backend/k8s/conversion/workload_endpoint_default.go`
 * @ 0f71015b8d0f166d0ab6c7d4a6a3352c53d2da35, `podToDefaultWorkloadEndpoint`): the endpoint's
 * labels are the pod's, then `projectcalico.org/namespace` := the namespace,
 * `projectcalico.org/orchestrator` := `k8s`, `projectcalico.org/serviceaccount` := the pod's
 * service account; the namespace and service-account profiles (`conversion.go`
 * `NamespaceToProfile` @ fb7b1d4cb3cae059a51969f5517791844667e6e0) add `pcns.<label>` and
 * `pcsa.<label>`, which the endpoints inherit.
 *
 * Cilium (cilium/cilium `pkg/k8s/utils/utils.go` @ 944f7bae656eac90d6ba1792674d71cf0a94e9c2,
 * `SanitizePodLabels`): pod label keys starting with `io.cilium.k8s` are dropped; then
 * `io.cilium.k8s.namespace.labels.<label>` := the namespace's labels, `io.kubernetes.pod.namespace`
 * := the namespace, `io.cilium.k8s.policy.serviceaccount` := the service account,
 * `io.cilium.k8s.policy.cluster` := the cluster name; the identity label filter
 * (`pkg/labelsfilter/filter.go`) applies after.
 */
import { describe, expect, it } from 'vitest'
import {
  calicoAllows,
  ciliumAllows,
  ciliumIdentityKey,
  ciliumLabelFilter,
  kubernetesCompiler,
  planCalico,
  planCilium,
  PodGroupResolver,
  type CheckEndpoint,
  type CompiledPod,
  type K8sObject,
} from '../../src/compile/index.js'
import { BulkheadError, type Inventory, type PolicySet } from '../../src/core/index.js'
import { evaluate } from '../../src/policy/evaluate.js'
import { allObjects } from './k8s-differential.js'
import { enforced, lbl, NOW, pod, policy, rule, tcp } from './kubernetes-fixture.js'

type Json = Record<string, unknown>

/** What the cluster knows and Bulkhead does not: service accounts and namespace labels. */
interface Cluster {
  readonly serviceAccount?: Readonly<Record<string, string>>
  readonly namespaceLabels?: Readonly<Record<string, Readonly<Record<string, string>>>>
  readonly serviceAccountLabels?: Readonly<Record<string, Readonly<Record<string, string>>>>
}

/** A pod's own labels (no `namespace`), as the inventory holds them. */
function own(p: CompiledPod): Record<string, string> {
  const out: Record<string, string> = { ...p.workload.labels }
  delete out['namespace']
  return out
}

/** The labels of a pod's Calico workload endpoint (see the module comment). */
function calicoEndpointLabels(p: CompiledPod, c: Cluster): Record<string, string> {
  const sa = c.serviceAccount?.[p.workload.name] ?? 'default'
  const inherited: Record<string, string> = {}
  for (const [k, v] of Object.entries(c.namespaceLabels?.[p.namespace] ?? {}))
    inherited[`pcns.${k}`] = v
  inherited['pcns.projectcalico.org/name'] = p.namespace
  for (const [k, v] of Object.entries(c.serviceAccountLabels?.[sa] ?? {}))
    inherited[`pcsa.${k}`] = v
  return {
    ...inherited,
    ...own(p),
    'projectcalico.org/namespace': p.namespace,
    'projectcalico.org/orchestrator': 'k8s',
    'projectcalico.org/serviceaccount': sa,
  }
}

/** The identity labels of a pod's Cilium endpoint, source prefix left out (see the module comment). */
function ciliumEndpointLabels(p: CompiledPod, c: Cluster): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(own(p))) if (!k.startsWith('io.cilium.k8s')) out[k] = v
  for (const [k, v] of Object.entries(c.namespaceLabels?.[p.namespace] ?? {}))
    out[`io.cilium.k8s.namespace.labels.${k}`] = v
  out['io.kubernetes.pod.namespace'] = p.namespace
  out['io.cilium.k8s.policy.serviceaccount'] = c.serviceAccount?.[p.workload.name] ?? 'default'
  out['io.cilium.k8s.policy.cluster'] = 'default'
  return Object.fromEntries(Object.entries(out).filter(([k]) => ciliumIdentityKey(k)))
}

/**
 * Every (source, destination, port) between two distinct pods, and from an address outside the
 * estate to each pod: the target's verdict over the endpoints' real labels against the model's.
 * Returns the disagreements, `src -> dst tcp/port target=… model=…`.
 */
function disagreements(
  target: 'calico' | 'cilium',
  inv: Inventory,
  ps: PolicySet,
  cluster: Cluster,
  ports: readonly number[],
): string[] {
  const objects: K8sObject[] =
    target === 'calico'
      ? allObjects(planCalico(inv, ps, { now: NOW }))
      : allObjects(planCilium(inv, ps, { now: NOW }))
  const pods = new PodGroupResolver(inv, { now: NOW }, target).pods
  const ends: CheckEndpoint[] = [
    ...pods.map((p) => ({
      ip: p.workload.addresses[0]?.ip ?? '',
      pod: {
        ...p,
        labels:
          target === 'calico' ? calicoEndpointLabels(p, cluster) : ciliumEndpointLabels(p, cluster),
      },
    })),
    { ip: '203.0.113.9' },
  ]
  const allows = target === 'calico' ? calicoAllows : ciliumAllows
  const out: string[] = []
  for (const src of ends)
    for (const dst of ends) {
      if (src === dst || dst.pod === undefined) continue
      for (const port of ports) {
        const tuple = { src: src.ip, dst: dst.ip, protocol: 6, dstPort: port, at: NOW.getTime() }
        const model = evaluate(inv, ps, tuple).decision === 'allowed'
        const got = allows(objects, src, dst, 6, port)
        if (got !== model)
          out.push(`${src.ip} -> ${dst.ip} tcp/${port} ${target}=${got} model=${model}`)
      }
    }
  return out
}

/** Every label key an emitted selector names (matchLabels, matchExpressions, Calico selectors). */
function selectorKeys(objects: readonly K8sObject[]): Set<string> {
  const keys = new Set<string>()
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) n.forEach(walk)
    else if (typeof n === 'object' && n !== null) {
      const o = n as Json
      for (const k of Object.keys((o['matchLabels'] as Json | undefined) ?? {})) keys.add(k)
      for (const e of (o['matchExpressions'] as Json[] | undefined) ?? [])
        keys.add(String(e['key']))
      for (const f of ['selector', 'namespaceSelector']) {
        const text = o[f]
        if (typeof text !== 'string') continue
        for (const m of text.matchAll(/([A-Za-z0-9_./-]+)\s*(?:==|!=|in |not in )/g))
          keys.add(m[1] ?? '')
        for (const m of text.matchAll(/has\(([^)]+)\)/g)) keys.add(m[1] ?? '')
      }
      Object.values(o).forEach(walk)
    }
  }
  walk(objects.map((o) => o['spec']))
  return keys
}

/** web (a), api (a), db (b), and the one rule `from` → db on tcp/5432 (and tcp/5433 for `from2`). */
function estate(
  webLabels: Record<string, string>,
  from: Parameters<typeof rule>[1],
  from2?: Parameters<typeof rule>[1],
) {
  const inv: Inventory = {
    workloads: [
      pod('a', 'web', '10.244.1.10', { role: 'web', ...webLabels }),
      pod('a', 'api', '10.244.1.11', { role: 'api' }),
      pod('b', 'db', '10.244.2.10', { role: 'db' }),
    ],
    externals: [],
    labelRules: [],
  }
  const ps = enforced([
    policy('p', {}, [
      rule('to-db', from, [lbl({ role: 'db' }, true)], [tcp(5432)]),
      ...(from2 ? [rule('to-db-2', from2, [lbl({ role: 'db' }, true)], [tcp(5433)])] : []),
    ]),
  ])
  return { inv, ps }
}

const PORTS = [5432, 5433]

describe('calico: labels Calico sets on workload endpoints or inherits from profiles', () => {
  it('projectcalico.org/namespace: Calico sets the namespace, so the selector is not the pod label', () => {
    const key = 'projectcalico.org/namespace'
    const { inv, ps } = estate({ [key]: 'b' }, [lbl({ [key]: 'b' }, true)])
    expect(disagreements('calico', inv, ps, {}, PORTS)).toEqual([])
  })

  it('projectcalico.org/orchestrator: Calico sets k8s on every pod (match and NotIn)', () => {
    const key = 'projectcalico.org/orchestrator'
    const { inv, ps } = estate(
      { [key]: 'legacy' },
      [lbl({ [key]: 'legacy' }, true)],
      [lbl({}, true, [{ key, operator: 'NotIn', values: ['legacy'] }])],
    )
    expect(disagreements('calico', inv, ps, {}, PORTS)).toEqual([])
  })

  it('projectcalico.org/serviceaccount: Calico sets the pod spec service account, unknown here', () => {
    const key = 'projectcalico.org/serviceaccount'
    const { inv, ps } = estate({ [key]: 'web' }, [lbl({ [key]: 'web' }, true)])
    const cluster = { serviceAccount: { 'a/web[Pod]': 'default', 'a/api[Pod]': 'web' } }
    expect(disagreements('calico', inv, ps, cluster, PORTS)).toEqual([])
    expect(selectorKeys(allObjects(planCalico(inv, ps, { now: NOW })))).not.toContain(key)
  })

  it('pcns.* and pcsa.*: namespace and service-account labels the endpoints inherit', () => {
    const { inv, ps } = estate(
      { 'pcns.team': 'x', 'pcsa.tier': 'gold' },
      [lbl({ 'pcns.team': 'x' }, true)],
      [lbl({ 'pcsa.tier': 'gold' }, true)],
    )
    // api's namespace is labelled team=x and its service account tier=gold: it inherits both
    const cluster: Cluster = {
      serviceAccount: { 'a/api[Pod]': 'gold-sa' },
      namespaceLabels: { a: { team: 'x' } },
      serviceAccountLabels: { 'gold-sa': { tier: 'gold' } },
    }
    expect(disagreements('calico', inv, ps, cluster, PORTS)).toEqual([])
    const keys = selectorKeys(allObjects(planCalico(inv, ps, { now: NOW })))
    expect([...keys].filter((k) => k.startsWith('pcns.') || k.startsWith('pcsa.'))).toEqual([])
  })
})

describe('the pods named one by one instead', () => {
  it('compile/not-expressible, rule and target named, when their labels take another pod', () => {
    const key = 'projectcalico.org/namespace'
    const { inv, ps } = estate({ [key]: 'b' }, [lbl({ [key]: 'b' }, true)])
    // a second web in namespace a without the label: {role: web} would take it too
    const more = {
      ...inv,
      workloads: [...inv.workloads, pod('a', 'web2', '10.244.1.12', { role: 'web' })],
    }
    let err: unknown
    try {
      planCalico(more, ps, { now: NOW })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(BulkheadError)
    const d = (err as BulkheadError).diagnostics[0]
    expect(d?.code).toBe('compile/not-expressible')
    expect(d?.message).toContain('rule p/to-db')
    expect(d?.message).toContain('target calico')
  })
})

describe('cilium: labels Cilium sets on endpoints or drops from pods', () => {
  it('io.kubernetes.pod.namespace: Cilium sets the namespace, so the selector is not the pod label', () => {
    const key = 'io.kubernetes.pod.namespace'
    const { inv, ps } = estate({ [key]: 'b' }, [lbl({ [key]: 'b' }, true)])
    expect(disagreements('cilium', inv, ps, {}, PORTS)).toEqual([])
  })

  it('io.cilium.k8s.*: dropped from pods; service account, cluster and namespace labels set by Cilium', () => {
    const sa = 'io.cilium.k8s.policy.serviceaccount'
    const ns = 'io.cilium.k8s.namespace.labels.team'
    const { inv, ps } = estate(
      { [sa]: 'web', [ns]: 'x', 'io.cilium.k8s.policy.cluster': 'east' },
      [lbl({ [sa]: 'web' }, true)],
      [lbl({ [ns]: 'x' }, true)],
    )
    const cluster: Cluster = {
      serviceAccount: { 'a/web[Pod]': 'default', 'a/api[Pod]': 'web' },
      namespaceLabels: { a: { team: 'y' }, b: { team: 'x' } },
    }
    expect(disagreements('cilium', inv, ps, cluster, PORTS)).toEqual([])
    const keys = selectorKeys(allObjects(planCilium(inv, ps, { now: NOW })))
    expect([...keys].filter((k) => k.startsWith('io.cilium.k8s'))).toEqual([])
    expect(keys).toContain('role')
  })

  it('reserved identities: a peer naming its namespaces only by NotIn takes no reserved:world', () => {
    const { inv, ps } = estate({}, [
      lbl({}, true, [{ key: 'namespace', operator: 'NotIn', values: ['kube-system'] }]),
    ])
    // 203.0.113.9 is reserved:world to Cilium, which has no namespace label: NotIn holds for it
    expect(disagreements('cilium', inv, ps, {}, PORTS)).toEqual([])
  })

  it('k8s: and reserved: sources in a key: no Kubernetes label key, compile/not-expressible', () => {
    for (const key of ['k8s:app', 'reserved:host']) {
      const { inv, ps } = estate({}, [lbl({ [key]: 'x' }, true)])
      for (const plan of [planCilium, planCalico]) {
        let err: unknown
        try {
          plan(inv, ps, { now: NOW })
        } catch (e) {
          err = e
        }
        expect(err, key).toBeInstanceOf(BulkheadError)
        expect((err as BulkheadError).diagnostics[0]?.code).toBe('compile/not-expressible')
      }
    }
  })
})

describe('kubernetes: kubernetes.io/metadata.name', () => {
  it('is a plain pod label to the API server (it sets it on namespaces only): compiled as it is', () => {
    const key = 'kubernetes.io/metadata.name'
    const { inv, ps } = estate({ [key]: 'b' }, [lbl({ [key]: 'b' }, true)])
    const result = kubernetesCompiler.compile(inv, ps, { now: NOW })
    const text = result.artefacts.map((a) => a.content).join('\n')
    expect(text).toContain(`${key}: b`)
  })
})

describe('cilium: the label prefixes of the cluster (labelPrefixes, --cilium-labels)', () => {
  // filter.go ParseLabelPrefixCfg: --labels prefixes are added to the default list; one include
  // prefix among them keeps only the keys an include prefix matches (whitelist)
  const inv: Inventory = {
    workloads: [
      pod('a', 'web', '10.244.1.10', { app: 'web', role: 'frontend', team: 'x' }),
      pod('a', 'db', '10.244.1.11', { app: 'db', role: 'backend', team: 'x' }),
    ],
    externals: [],
    labelRules: [],
  }
  const ps = enforced([
    policy('p', {}, [
      rule('fe-be', [lbl({ role: 'frontend' })], [lbl({ role: 'backend' })], [tcp(5432)]),
      rule('team', [lbl({ team: 'x' })], [lbl({ app: 'db' })], [tcp(5433)]),
    ]),
  ])

  it('ciliumLabelFilter: as Cilium parses and applies the prefixes', () => {
    const only = ciliumLabelFilter(['k8s:app'])
    expect(
      ['app', 'app.kubernetes.io/name', 'io.kubernetes.pod.namespace'].map((k) =>
        ciliumIdentityKey(k, only),
      ),
    ).toEqual([true, true, true])
    expect(['role', 'team'].map((k) => ciliumIdentityKey(k, only))).toEqual([false, false])
    const notTeam = ciliumLabelFilter(['k8s:!team'])
    expect(['role', 'team'].map((k) => ciliumIdentityKey(k, notTeam))).toEqual([true, false])
    // another source than k8s never matches a pod label: only the default includes are kept
    expect(ciliumIdentityKey('app', ciliumLabelFilter(['container:app']))).toBe(false)
    expect(() => ciliumLabelFilter(['k8s:'])).toThrow(/invalid label source/)
    expect(() => ciliumLabelFilter(['('])).toThrow(/unable to compile/)
  })

  for (const [what, prefixes, absent] of [
    [
      'an include prefix (k8s:app): role and team are no identity labels',
      ['k8s:app'],
      ['role', 'team'],
    ],
    ['an ignore prefix (k8s:!team)', ['k8s:!team'], ['team']],
  ] as const)
    it(`${what}: no selector names them, and Cilium allows what the model allows`, () => {
      const objects = allObjects(planCilium(inv, ps, { now: NOW, labelPrefixes: prefixes }))
      const keys = selectorKeys(objects)
      for (const k of absent) expect(keys, k).not.toContain(k)
      const filter = ciliumLabelFilter(prefixes)
      const pods = new PodGroupResolver(inv, { now: NOW }, 'cilium', filter).pods
      const ends = pods.map((p) => ({
        ip: p.workload.addresses[0]?.ip ?? '',
        pod: {
          ...p,
          labels: Object.fromEntries(
            Object.entries(own(p)).filter(([k]) => ciliumIdentityKey(k, filter)),
          ),
        },
      }))
      expect(ends.length).toBeGreaterThan(1)
      expect(ends.every((e) => e.ip !== '')).toBe(true)
      for (const src of ends)
        for (const dst of ends)
          for (const port of [5432, 5433]) {
            if (src === dst) continue
            const tuple = {
              src: src.ip,
              dst: dst.ip,
              protocol: 6,
              dstPort: port,
              at: NOW.getTime(),
            }
            expect(ciliumAllows(objects, src, dst, 6, port), `${src.ip} -> ${dst.ip} ${port}`).toBe(
              evaluate(inv, ps, tuple).decision === 'allowed',
            )
          }
    })

  it('the namespace label stays an identity label whatever --labels adds (the default includes it)', () => {
    for (const prefixes of [['k8s:!.*'], ['k8s:app'], ['!io\\.kubernetes\\.pod\\.namespace']])
      expect(ciliumIdentityKey('io.kubernetes.pod.namespace', ciliumLabelFilter(prefixes))).toBe(
        true,
      )
  })
})

describe('s29 review: more operators and filters, worked out by hand', () => {
  it('calico: projectcalico.org/namespace under NotIn and DoesNotExist reads the pod label, not the namespace', () => {
    const key = 'projectcalico.org/namespace'
    // by hand: web carries the pod label b, api and db none. NotIn [b] and DoesNotExist both hold
    // for api and db, not web: the model allows api -> db on 5432 and 5433 and denies web -> db.
    // On Calico every endpoint's label is its namespace (a, a, b): a selector on the key would
    // take web (a ∉ {b}) and drop db; so no selector on it, and Calico must answer as the model.
    const { inv, ps } = estate(
      { [key]: 'b' },
      [lbl({}, true, [{ key, operator: 'NotIn', values: ['b'] }])],
      [lbl({}, true, [{ key, operator: 'DoesNotExist', values: [] }])],
    )
    const at = NOW.getTime()
    const verdict = (src: string, port: number) =>
      evaluate(inv, ps, { src, dst: '10.244.2.10', protocol: 6, dstPort: port, at }).decision
    expect([verdict('10.244.1.11', 5432), verdict('10.244.1.11', 5433)]).toEqual([
      'allowed',
      'allowed',
    ])
    expect([verdict('10.244.1.10', 5432), verdict('10.244.1.10', 5433)]).toEqual([
      'denied',
      'denied',
    ])
    expect(disagreements('calico', inv, ps, {}, PORTS)).toEqual([])
  })

  it('cilium: an ignore prefix without a source (!app) and an include of another source (reserved:foo)', () => {
    // by hand (filter.go filterLabels: shortest ignore against longest include; an include
    // prefix among --labels, whatever its source, makes the filter a whitelist):
    // !app: app → ignored 3, included 0 → out; application → out; app.kubernetes.io/name →
    // ignored 3, included 18 (app\.kubernetes\.io) → kept; role → nothing matches → kept
    const notApp = ciliumLabelFilter(['!app'])
    expect(
      ['app', 'application', 'app.kubernetes.io/name', 'role'].map((k) =>
        ciliumIdentityKey(k, notApp),
      ),
    ).toEqual([false, false, true, true])
    // reserved:foo matches no pod label (source k8s) but is an include: role → out (whitelist,
    // nothing included); app.kubernetes.io/name → included 18 → kept
    const reserved = ciliumLabelFilter(['reserved:foo'])
    expect(
      ['role', 'app.kubernetes.io/name', 'io.kubernetes.pod.namespace'].map((k) =>
        ciliumIdentityKey(k, reserved),
      ),
    ).toEqual([false, true, true])
    // Go's regexp (RE2) has no lookaround and no backreference: Cilium refuses such a prefix
    // ("invalid or unsupported Perl syntax", "invalid escape sequence"), so no cluster runs with
    // it; JavaScript compiles them. An escaped parenthesis or one in a class is a plain character.
    for (const bad of [
      'k8s:a(?=b)',
      'k8s:!a(?!b)',
      '(?<=x)app',
      '(?<!x)app',
      '(a)\\1',
      '(?<n>a)\\k<n>',
      '[\\1]x',
      'a\\8',
    ])
      expect(() => ciliumLabelFilter([bad]), bad).toThrow(/unable to compile/)
    for (const good of [
      'k8s:\\(?=',
      'k8s:[(?=]x',
      'k8s:a\\\\',
      'k8s:(?:ab)+',
      'k8s:[\\]1]',
      'k8s:a\\12',
    ])
      expect(() => ciliumLabelFilter([good]), good).not.toThrow()
    // "!" alone: an ignore of the empty expression, matching 0 characters: as no ignore at all
    expect(ciliumIdentityKey('role', ciliumLabelFilter(['!']))).toBe(true)
  })

  it('cilium: with role no identity label (k8s:!role), web and api are one identity: not expressible', () => {
    // by hand: web {role: web} and api {role: api}, both in a; without role both endpoints are
    // {namespace a}, so no selector takes web without api: compile/not-expressible
    const { inv, ps } = estate({}, [lbl({ role: 'web' }, true)])
    let err: unknown
    try {
      planCilium(inv, ps, { now: NOW, labelPrefixes: ['k8s:!role'] })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(BulkheadError)
    expect((err as BulkheadError).diagnostics[0]?.code).toBe('compile/not-expressible')
  })
})

describe('s29 review: NotIn on a key --cilium-labels leaves out of identities', () => {
  it('team NotIn [x] with k8s:!team is not expressible (README: such a NotIn is true for every endpoint)', () => {
    // by hand: web {app: web, team: x}, db {app: db}, cache {app: cache, team: y}, all in a; the
    // rule from team NotIn [x] to app=db: the model takes db and cache. With team no identity
    // label, `team NotIn [x]` holds for every endpoint in the cluster, web too: README "Labels
    // Cilium leaves out of identities" makes that compile/not-expressible, naming web (unlike a key
    // the target sets itself, whose selector is dropped for the pods one by one)
    const inv: Inventory = {
      workloads: [
        pod('a', 'web', '10.244.1.10', { app: 'web', team: 'x' }),
        pod('a', 'db', '10.244.1.11', { app: 'db' }),
        pod('a', 'cache', '10.244.1.12', { app: 'cache', team: 'y' }),
      ],
      externals: [],
      labelRules: [],
    }
    const ps = enforced([
      policy('p', {}, [
        rule(
          'not-x',
          [lbl({}, true, [{ key: 'team', operator: 'NotIn', values: ['x'] }])],
          [lbl({ app: 'db' }, true)],
          [tcp(5433)],
        ),
      ]),
    ])
    let err: unknown
    try {
      planCilium(inv, ps, { now: NOW, labelPrefixes: ['k8s:!team'] })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(BulkheadError)
    const d = (err as BulkheadError).diagnostics[0]
    expect(d?.code).toBe('compile/not-expressible')
    expect(d?.message).toContain('a/web[Pod]')
    // with the default filter team is an identity label: the selector is written as it is
    expect(() => planCilium(inv, ps, { now: NOW })).not.toThrow()
  })
})
