/**
 * @module The checks Calico's API server and Cilium's agent run beyond the CRD schemas
 * (./upstream-rules.ts, transcribed from libcalico-go's validator and selector parser and from
 * Cilium's `Rule.Sanitize`), on what the `calico` and `cilium` targets write: the checker on
 * known cases, the compilers on inputs that reach those rules, and properties over label keys and
 * values drawn from everything Kubernetes label syntax allows and Bulkhead inventories take.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  calicoAllows,
  calicoCompiler,
  calicoSelector,
  calicoSelectorMatches,
  ciliumAllows,
  ciliumCompiler,
  kubernetesCompiler,
  planCalico,
  planCilium,
  PodGroupResolver,
  type CheckEndpoint,
  type K8sObject,
} from '../../src/compile/index.js'
import {
  BulkheadError,
  checkLabelValue,
  labelSet,
  type Inventory,
  type LabelExpression,
  type PolicySet,
  type Selector,
} from '../../src/core/index.js'
import { evaluate } from '../../src/policy/evaluate.js'
import { SEED } from '../helpers/model.js'
import { workload } from '../helpers/workloads.js'
import { allObjects } from './k8s-differential.js'
import { cidr, enforced, lbl, NOW, pod, policy, rule, SHOP, tcp } from './kubernetes-fixture.js'
import {
  calicoEval,
  calicoProblems,
  ciliumProblems,
  k8sSelectorMatches,
  parseCalicoSelector,
} from './upstream-rules.js'

type Json = Record<string, unknown>

/** Every problem of every document of a calico or cilium plan. */
function problems(objects: readonly K8sObject[]): string[] {
  return objects.flatMap((o) => {
    const doc = o
    const kind = String(doc['kind'])
    const name = String((doc['metadata'] as Json | undefined)?.['name'])
    const ps = String(doc['apiVersion']).startsWith('cilium.io/')
      ? ciliumProblems(doc)
      : calicoProblems(doc)
    return ps.map((p) => `${kind} ${name}: ${p}`)
  })
}

describe('the checker itself (upstream cases)', () => {
  it('parses what Calico parses, and refuses what it refuses', () => {
    const ok = [
      '',
      'all()',
      "a == 'b'",
      'a=="b"',
      "a == 'it\"s'",
      'a == "it\'s"',
      'has(a)',
      '!has( a.b/c-d_e )',
      "a in {'x', 'y'}",
      'a in {}',
      "a not in {'x',}",
      "a notin {'x'}",
      "(a == 'b' || c != 'd') && !(e in {'f'})",
      "all == 'x'",
      "has == 'x'",
      'global()',
    ]
    for (const s of ok) expect(() => parseCalicoSelector(s), s).not.toThrow()
    const bad = [
      "a = 'b'",
      "a == 'b",
      "a == 'it's'",
      'a == b',
      "a b 'c'",
      "a in 'x'",
      "a in {'x'",
      "a:b == 'x'",
      "a == 'x' &",
      "a == 'x' && ",
      "a inside {'x'}",
      `${'k'.repeat(513)} == 'x'`,
      "a == 'x' b == 'y'",
    ]
    for (const s of bad) expect(() => parseCalicoSelector(s), s).toThrow()
  })

  it('Bulkhead\'s own calico checker reads a value calicoSelector quotes in " as Calico does', () => {
    // calicoSelector writes `role == "it's"` and `role in {"it's", 'b'}` (Calico has no escape);
    // the compiler's checker read only '…' literals
    for (const s of [
      calicoSelector({ matchLabels: { role: "it's" } }),
      calicoSelector({
        matchExpressions: [{ key: 'role', operator: 'In', values: ["it's", 'b'] }],
      }),
    ]) {
      for (const labels of [{ role: "it's" }, { role: 'b' }, { role: 'its' }, {}])
        expect(calicoSelectorMatches(s, labels), `${s} on ${JSON.stringify(labels)}`).toBe(
          calicoEval(parseCalicoSelector(s), labels),
        )
    }
  })

  it('reads `!=` and `not in` as true for a missing label, `==` and `in` as false', () => {
    const at = (s: string, l: Record<string, string>): boolean =>
      calicoEval(parseCalicoSelector(s), l)
    expect(at("a != 'x'", {})).toBe(true)
    expect(at("a not in {'x'}", {})).toBe(true)
    expect(at("a == 'x'", {})).toBe(false)
    expect(at("a in {'x'}", {})).toBe(false)
    expect(at("a == 'x y'", { a: 'x y' })).toBe(true)
  })

  it('flags the Calico and Cilium rules Bulkhead output could break', () => {
    const gnp = (spec: Json, name = 'bh-x'): Json => ({
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkPolicy',
      metadata: { name },
      spec,
    })
    expect(calicoProblems(gnp({ selector: 'all()' }, 'a.b.c')).join()).toContain('name')
    expect(calicoProblems(gnp({ selector: "role == 'it's'" })).join()).toContain('selector')
    const mixed = gnp({
      egress: [{ action: 'Allow', destination: { nets: ['10.0.0.1/32', '2001:db8::1/128'] } }],
    })
    expect(calicoProblems(mixed).join()).toContain('both IPv4 and IPv6')
    const across = gnp({
      egress: [
        { action: 'Allow', source: { nets: ['10.0.0.0/8'] }, destination: { nets: ['::/0'] } },
      ],
    })
    expect(calicoProblems(across).join()).toContain('both IPv4 and IPv6')
    const ports = gnp({ ingress: [{ action: 'Allow', destination: { ports: ['90:80', 0] } }] })
    expect(calicoProblems(ports)).toHaveLength(3)
    expect(calicoProblems(gnp({ ingress: [{ action: 'Allow', protocol: 0 }] }))).toHaveLength(1)
    expect(
      calicoProblems(
        gnp({ ingress: [{ action: 'Allow', destination: { nets: ['10.0.0.1/8'] } }] }),
      ),
    ).toHaveLength(1)
    const cnp = (spec: Json): Json => ({ apiVersion: 'cilium.io/v2', kind: 'X', spec })
    expect(
      ciliumProblems(
        cnp({
          endpointSelector: { matchLabels: { 'a..b/c': 'x' } },
          egress: [
            {
              toEndpoints: [{}],
              toCIDRSet: [{ cidr: '10.0.0.0/8', except: ['11.0.0.0/8'] }],
              toPorts: [{ ports: [{ port: '80', endPort: 79, protocol: 'TCP' }] }],
              icmps: [{ fields: [{ type: 8, family: 'IPv4' }] }],
            },
          ],
        }),
      ),
    ).toHaveLength(5)
  })
})

describe('calico: what the validator refuses', () => {
  it('a peer that is a dual-stack workload outside the cluster: one Calico rule per address family', () => {
    // hand-computed: vm-db holds 10.0.0.5 and 2001:db8::5; Calico refuses a rule holding IPv4 and
    // IPv6 nets ("rule contains both IPv4 and IPv6 CIDRs"), so each family is its own rule
    const inv: Inventory = {
      workloads: [
        pod('shop', 'web', '10.244.1.10', { app: 'shop', role: 'web' }),
        workload('vm-db', ['10.0.0.5', '2001:db8::5'], { role: 'db' }),
      ],
      externals: [],
      labelRules: [],
    }
    const ps = enforced([
      policy('shop', { app: 'shop' }, [
        rule('to-db', [lbl({ role: 'web' })], [lbl({ role: 'db' }, true)], [tcp(5432)]),
        rule(
          'to-nets',
          [lbl({ role: 'web' })],
          [
            { kind: 'cidr', cidr: cidr('2001:db8::/64'), except: [] },
            { kind: 'cidr', cidr: cidr('10.1.0.0/16'), except: [] },
          ],
          [tcp(80)],
        ),
      ]),
    ])
    const objects = allObjects(planCalico(inv, ps, { now: NOW }))
    expect(problems(objects)).toEqual([])
    const nets = objects
      .flatMap((o) => ((o.spec as Json)['egress'] as Json[] | undefined) ?? [])
      .map((r) => ((r['destination'] as Json | undefined)?.['nets'] as string[] | undefined) ?? [])
      .filter((n) => n.length > 0)
    expect(nets).toEqual([['10.0.0.5/32'], ['2001:db8::5/128'], ['10.1.0.0/16'], ['2001:db8::/64']])
  })

  it('subjects inside a cidr selector towards a block of the other family: no rule (no packet has both)', () => {
    // from: the pods inside 10.244.1.0/24 (source.nets 10.244.1.0/24); to: 2001:db8::/64 and
    // 192.0.2.0/24: only the IPv4 pair can carry a packet
    const ps = enforced([
      policy('shop', { app: 'shop' }, [
        rule(
          'v4-to-both',
          [{ kind: 'cidr', cidr: cidr('10.244.1.0/24'), except: [] }],
          [
            { kind: 'cidr', cidr: cidr('2001:db8::/64'), except: [] },
            { kind: 'cidr', cidr: cidr('192.0.2.0/24'), except: [] },
          ],
          [tcp(443)],
        ),
      ]),
    ])
    const objects = allObjects(planCalico(SHOP, ps, { now: NOW }))
    expect(problems(objects)).toEqual([])
  })
})

describe('labels the cluster cannot carry', () => {
  /** The diagnostic codes a compile throws, or [] when it compiles. */
  const codes = (f: () => unknown): string[] => {
    try {
      f()
      return []
    } catch (e) {
      if (e instanceof BulkheadError) return e.diagnostics.map((d) => d.code)
      throw e
    }
  }
  const targets = [
    ['kubernetes', kubernetesCompiler],
    ['cilium', ciliumCompiler],
    ['calico', calicoCompiler],
  ] as const

  it('a pod whose namespace label is no Kubernetes namespace name: compile/not-expressible on every cluster target', () => {
    // calico wrote `projectcalico.org/namespace in {'b', 'its'}` (the quote dropped: another
    // namespace), cilium a namespace value its label validation refuses, both a namespaced object
    // in namespace "it's", which the API server refuses
    for (const ns of ["it's", 'Shop', 'a b', 'x'.repeat(64), 'a.b']) {
      const inv: Inventory = {
        workloads: [
          workload('x/web[Pod]', '10.244.1.10', { namespace: ns, role: 'web' }),
          pod('b', 'db', '10.244.1.11', { role: 'db' }),
        ],
        externals: [],
        labelRules: [],
      }
      const ps = enforced([
        policy('p', {}, [rule('r', [lbl({ role: 'web' })], [lbl({ role: 'db' })], [tcp(5432)])]),
      ])
      for (const [name, c] of targets)
        expect(
          codes(() => c.compile(inv, ps, { now: NOW })),
          `${name} ${ns}`,
        ).toEqual(['compile/not-expressible'])
    }
  })

  it('a selector on a label key Kubernetes refuses (Bulkhead takes the prefix a..b/): compile/not-expressible on every cluster target', () => {
    // Bulkhead's key syntax takes prefixes that are no DNS-1123 subdomain; no pod carries such a
    // key in a cluster. kubernetes and cilium wrote the key (the API server and Cilium's label
    // validation refuse it), calico a selector no pod can match
    for (const key of ['a..b/role', 'a.-b/role', 'x-.y/role']) {
      const inv: Inventory = {
        workloads: [
          pod('a', 'web', '10.244.1.10', { [key]: 'web' }),
          pod('a', 'db', '10.244.1.11', { role: 'db' }),
        ],
        externals: [],
        labelRules: [],
      }
      const ps = enforced([
        policy('p', {}, [rule('r', [lbl({ [key]: 'web' })], [lbl({ role: 'db' })], [tcp(5432)])]),
      ])
      for (const [name, c] of targets)
        expect(
          codes(() => c.compile(inv, ps, { now: NOW })),
          `${name} ${key}`,
        ).toEqual(['compile/not-expressible'])
    }
  })
})

// ---------------------------------------------------------------------------------------------
// properties over label keys and values

const chars = (s: string): string[] => Array.from({ length: s.length }, (_, i) => s.charAt(i))
const lowers = 'abcdefghijklmnopqrstuvwxyz0123456789'
const alnum = fc.constantFrom(...chars(`${lowers}ABCDEFGHIJKLMNOPQRSTUVWXYZ`))
const lowerAlnum = fc.constantFrom(...chars(lowers))
const join = (a: fc.Arbitrary<string[]>): fc.Arbitrary<string> => a.map((x) => x.join(''))
/** A Kubernetes label name: 1–63 of `[A-Za-z0-9_.-]`, alphanumeric at both ends. */
const nameArb = fc
  .tuple(
    alnum,
    join(fc.array(fc.oneof(alnum, fc.constantFrom('-', '_', '.')), { maxLength: 8 })),
    alnum,
  )
  .map(([a, m, z]) => (m.length === 0 && a === z ? a : `${a}${m}${z}`))
/** A DNS-1123 label. */
const dnsLabelArb = fc
  .tuple(
    lowerAlnum,
    join(fc.array(fc.oneof(lowerAlnum, fc.constant('-')), { maxLength: 6 })),
    lowerAlnum,
  )
  .map(([a, m, z]) => `${a}${m}${z}`)
/** Label keys: Kubernetes qualified names, and the looser prefixes Bulkhead's key syntax takes. */
const keyArb = fc.oneof(
  nameArb,
  fc
    .tuple(fc.array(dnsLabelArb, { minLength: 1, maxLength: 3 }), nameArb)
    .map(([p, n]) => `${p.join('.')}/${n}`),
  // Bulkhead takes these, Kubernetes does not (prefix not a DNS subdomain)
  fc.constantFrom('a..b/role', 'a.-b/role', 'x-.y/tier'),
)
/** Kubernetes label values (empty included). */
const k8sValueArb = fc.oneof(fc.constant(''), nameArb)
/** What a Bulkhead inventory takes as a value and Kubernetes does not: quotes, blanks, unicode… */
const looseValueArb = fc.oneof(
  fc.constantFrom(
    "it's",
    'say "hi"',
    `both ' and "`,
    'a b',
    'back\\slash',
    'ünï',
    'x:y',
    '{a}',
    "'",
    '',
  ),
  fc.string({ maxLength: 12 }).filter((v) => checkLabelValue(v) === undefined),
)
const valueArb = fc.oneof(k8sValueArb, looseValueArb)

const exprArb = (
  keys: readonly string[],
  values: fc.Arbitrary<string>,
): fc.Arbitrary<LabelExpression> =>
  fc
    .record({
      key: fc.constantFrom(...keys),
      operator: fc.constantFrom('In', 'NotIn', 'Exists', 'DoesNotExist'),
      values: fc.array(values, { minLength: 1, maxLength: 3 }),
    })
    .map((e) =>
      e.operator === 'Exists' || e.operator === 'DoesNotExist' ? { ...e, values: [] } : e,
    )

describe('properties', () => {
  it('calicoSelector: Calico parses it, and it means what the Kubernetes selector means', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(keyArb, { minLength: 1, maxLength: 3 }).chain((keys) =>
          fc.record({
            keys: fc.constant(keys),
            match: fc.dictionary(fc.constantFrom(...keys), valueArb, { maxKeys: 2 }),
            exprs: fc.array(exprArb(keys, valueArb), { maxLength: 2 }),
            labels: fc.array(fc.dictionary(fc.constantFrom(...keys), valueArb, { maxKeys: 3 }), {
              minLength: 1,
              maxLength: 4,
            }),
          }),
        ),
        ({ match, exprs, labels }) => {
          const k8s = {
            matchLabels: match,
            matchExpressions: exprs.map((e) => ({ ...e, values: [...e.values] })),
          }
          let text: string
          try {
            text = calicoSelector(k8s)
          } catch (e) {
            // only a value with both quote characters has no Calico literal
            expect(String(e)).toContain('quote')
            return
          }
          const ast = parseCalicoSelector(text)
          for (const l of labels)
            expect(calicoEval(ast, l), `${text} on ${JSON.stringify(l)}`).toBe(
              k8sSelectorMatches(k8s, l),
            )
        },
      ),
      { seed: SEED, numRuns: 400 },
    )
  })

  it('compiled estates with such labels: calico and cilium documents pass the upstream checks, or the compiler refuses with a BulkheadError', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(keyArb, { minLength: 1, maxLength: 3 }).chain((keys) =>
          fc.record({
            keys: fc.constant(keys),
            pods: fc.array(
              fc.dictionary(
                fc.constantFrom(...keys),
                fc.oneof(k8sValueArb, k8sValueArb, looseValueArb),
                { maxKeys: 3 },
              ),
              {
                minLength: 2,
                maxLength: 4,
              },
            ),
            sels: fc.array(
              fc.record({
                match: fc.dictionary(fc.constantFrom(...keys), valueArb, { maxKeys: 2 }),
                exprs: fc.array(exprArb(keys, valueArb), { maxLength: 1 }),
              }),
              { minLength: 2, maxLength: 2 },
            ),
          }),
        ),
        ({ pods, sels }) => {
          const inv: Inventory = {
            workloads: pods.map((labels, i) =>
              pod(i % 2 === 0 ? 'a' : 'b', `p${i}`, `10.244.0.${i + 1}`, labels),
            ),
            externals: [],
            labelRules: [],
          }
          const selectors: Selector[] = sels.map((s) => ({
            kind: 'labels',
            match: labelSet(s.match),
            expressions: s.exprs,
            global: true,
          }))
          const ps: PolicySet = enforced([
            policy('p', {}, [
              rule('r', [selectors[0] as Selector], [selectors[1] as Selector], [tcp(443)]),
            ]),
          ])
          for (const [name, plan] of [
            ['calico', () => allObjects(planCalico(inv, ps, { now: NOW }))],
            ['cilium', () => allObjects(planCilium(inv, ps, { now: NOW }))],
          ] as const) {
            let objects: K8sObject[]
            try {
              objects = plan()
            } catch (e) {
              if (e instanceof BulkheadError) continue
              throw e
            }
            expect(problems(objects), name).toEqual([])
            if (name !== 'calico') continue
            // the compiler's own checker reads each selector as Calico does, on every pod
            for (const o of objects) {
              const spec = o.spec as Json
              const texts = [
                spec['selector'],
                ...['ingress', 'egress'].flatMap((d) =>
                  ((spec[d] as Json[] | undefined) ?? []).flatMap((r) =>
                    ['source', 'destination'].map((e) => (r[e] as Json | undefined)?.['selector']),
                  ),
                ),
              ].filter((t): t is string => typeof t === 'string')
              for (const t of texts)
                for (const w of inv.workloads)
                  expect(calicoSelectorMatches(t, w.labels), t).toBe(
                    calicoEval(parseCalicoSelector(t), w.labels),
                  )
            }
          }
        },
      ),
      { seed: SEED, numRuns: 150 },
    )
  })
})

describe('cilium: labels Cilium leaves out of endpoint identities', () => {
  // cilium/cilium pkg/labelsfilter/filter.go (commit 0b22469da6e3659b027ab2827de9f346c4db95cd),
  // defaultLabelPrefixCfg: keys starting with io.kubernetes, kubernetes.io, k8s.io, annotation,
  // pod-template-hash, ... (app.kubernetes.io and io.kubernetes.pod.namespace kept) are no
  // identity labels, and Cilium selectors match identity labels only: a selector naming one
  // matches no endpoint
  const IGNORED = [
    'kubernetes.io/os',
    'k8s.io/x',
    'annotation-x',
    'io.kubernetes.container.name',
    'foo.beta.kubernetes.io/x',
    'etcd_node',
  ]
  it('no endpoint selector names such a key; pods are named by their identity labels', () => {
    const inv: Inventory = {
      workloads: [
        pod('a', 'web', '10.244.1.10', {
          role: 'web',
          'app.kubernetes.io/name': 'web',
          ...Object.fromEntries(IGNORED.map((k) => [k, 'y'])),
        }),
        pod('a', 'db', '10.244.1.11', { role: 'db' }),
      ],
      externals: [],
      labelRules: [],
    }
    const ps = enforced([
      policy('p', {}, [
        rule(
          'by-name',
          [{ kind: 'workload', name: 'a/web[Pod]', global: true }],
          [lbl({ role: 'db' })],
          [tcp(5432)],
        ),
        rule('by-label', [lbl({ 'annotation-x': 'y' })], [lbl({ role: 'db' })], [tcp(5433)]),
      ]),
    ])
    const objects = allObjects(planCilium(inv, ps, { now: NOW }))
    const keys = new Set<string>()
    const walk = (n: unknown): void => {
      if (Array.isArray(n)) n.forEach(walk)
      else if (typeof n === 'object' && n !== null) {
        const o = n as Json
        for (const k of Object.keys((o['matchLabels'] as Json | undefined) ?? {})) keys.add(k)
        for (const e of (o['matchExpressions'] as Json[] | undefined) ?? [])
          keys.add(String(e['key']))
        Object.values(o).forEach(walk)
      }
    }
    walk(objects.map((o) => o.spec))
    expect([...keys].filter((k) => IGNORED.includes(k))).toEqual([])
    // web is still named: by its identity labels; and Cilium (its identity labels) allows what
    // the model allows
    expect(keys).toContain('app.kubernetes.io/name')
    const [web, db] = new PodGroupResolver(inv, { now: NOW }, 'cilium').pods
    const end = (p: typeof web): CheckEndpoint => ({
      ip: p?.workload.addresses[0]?.ip ?? '',
      ...(p ? { pod: p } : {}),
    })
    for (const [port, want] of [
      [5432, true],
      [5433, true],
      [5434, false],
    ] as const)
      expect(ciliumAllows(objects, end(web), end(db), 6, port), `tcp/${port}`).toBe(want)
  })
})

describe('dual-stack estates (property)', () => {
  const v4v6: Selector[] = [
    { kind: 'cidr', cidr: cidr('10.244.1.0/24'), except: [] },
    { kind: 'cidr', cidr: cidr('fd00:244::/64'), except: [] },
    { kind: 'cidr', cidr: cidr('192.0.2.0/24'), except: [cidr('192.0.2.128/25')] },
    { kind: 'cidr', cidr: cidr('2001:db8::/48'), except: [] },
    { kind: 'workload', name: 'vm', global: true },
    lbl({ role: 'web' }, true),
    lbl({ role: 'db' }, true),
    { kind: 'any' },
  ]
  const inv: Inventory = {
    workloads: [
      {
        ...pod('a', 'web', '10.244.1.10', { role: 'web' }),
        addresses: [{ ip: '10.244.1.10' }, { ip: 'fd00:244::10' }],
      },
      {
        ...pod('a', 'db', '10.244.2.11', { role: 'db' }),
        addresses: [{ ip: '10.244.2.11' }, { ip: 'fd00:245::11' }],
      },
      workload('vm', ['192.0.2.5', '2001:db8::5'], { role: 'vm' }),
    ],
    externals: [],
    labelRules: [],
  }
  const ips = [
    '10.244.1.10',
    'fd00:244::10',
    '10.244.2.11',
    'fd00:245::11',
    '192.0.2.5',
    '2001:db8::5',
    '192.0.2.200',
    '2001:db8:0:1::1',
  ]
  const pods = new PodGroupResolver(inv, { now: NOW }, 'calico').pods
  const end = (ip: string): CheckEndpoint => {
    const p = pods.find((q) => q.workload.addresses.some((a) => a.ip === ip))
    return p ? { ip, pod: p } : { ip }
  }
  for (const [target, plan, allows] of [
    ['calico', planCalico, calicoAllows],
    ['cilium', planCilium, ciliumAllows],
  ] as const)
    it(`${target}: every document passes the upstream checks, and the checker agrees with the model on every address pair`, () => {
      let compiled = 0
      fc.assert(
        fc.property(
          fc.subarray(v4v6, { minLength: 1, maxLength: 3 }),
          fc.subarray(v4v6, { minLength: 1, maxLength: 3 }),
          fc.boolean(),
          (from, to, deny) => {
            const rules = [rule('r', from, to, [tcp(443)], deny ? 'deny' : 'allow')]
            if (deny) rules.push(rule('all', [{ kind: 'any' }], [lbl({}, true)], [tcp(443)]))
            const ps = enforced([policy('p', {}, rules)])
            let objects: K8sObject[]
            try {
              objects = allObjects(plan(inv, ps, { now: NOW }))
              compiled++
            } catch (e) {
              if (e instanceof BulkheadError) return
              throw e
            }
            expect(problems(objects)).toEqual([])
            for (const src of ips)
              for (const dst of ips) {
                // Calico enforces at pods only: a flow between two addresses no pod holds is not its
                if (src === dst || src.includes(':') !== dst.includes(':')) continue
                if (end(src).pod === undefined && end(dst).pod === undefined) continue
                const want = evaluate(inv, ps, {
                  src,
                  dst,
                  protocol: 6,
                  dstPort: 443,
                  at: NOW.getTime(),
                }).decision
                const got = allows(objects, end(src), end(dst), 6, 443) ? 'allowed' : 'denied'
                expect(got, `${src} -> ${dst}`).toBe(want)
              }
          },
        ),
        { seed: SEED, numRuns: 200 },
      )
      // most pairs of sides compile (cilium refuses a dual-stack pod inside an IPv4 block)
      expect(compiled, target).toBeGreaterThan(50)
    })
})
