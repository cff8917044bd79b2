/**
 * @module Tests of `bulkhead k8s import` (issue 8 item 2): imported policies, loaded back as a
 * workspace, give the same connlist as `k8s connlist` of the manifests, on the np-guard corpus,
 * on our own fixture and on random NetworkPolicy/ANP/BANP sets (an ANP `Pass` before an
 * overlapping `Allow` included); what cannot be imported is a located error; the CLI writes,
 * refuses to overwrite, and the workspace loads.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import type { SourceFile } from '../../src/core/yaml-source.js'
import {
  analyze,
  formatK8sConnlist,
  importManifests,
  namespaceLabelKey,
  readManifestFiles,
  serviceList,
} from '../../src/kubernetes/index.js'
import { ServiceSet, type Cidr } from '../../src/core/index.js'
import { cli } from '../helpers/cli.js'
import { anp, estateDocs, k8sArbitraries, np, ns, pod, type K8sEstate } from './arbitraries.js'
import { compareImport, POD_BLOCK, POD_BLOCK6, sorted } from './import-compare.js'
import { SEED } from '../helpers/model.js'
import { CORPUS_SKIP, corpusPath, corpusTitle } from '../helpers/corpora.js'

const FIXTURE = fileURLToPath(new URL('../fixtures/k8s-import/', import.meta.url))
const NPGUARD = corpusPath('np-guard/')
const GC_OWNER = fileURLToPath(new URL('../fixtures/k8s-gc-owner/', import.meta.url))

const docsFiles = (docs: readonly unknown[]): SourceFile[] =>
  docs.map((d, i) => ({ path: `doc${i}.json`, text: JSON.stringify(d) }))
describe('k8s import: the k8s-import fixture', () => {
  const files = readManifestFiles(FIXTURE)
  const r = compareImport(files)

  it('imports without errors and the workspace loads without errors', () => {
    expect(r.imported.diagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
    expect(r.loadDiagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
  })

  it('bulkhead connlist of the import equals k8s connlist of the manifests', () => {
    expect(r.k8s.size).toBeGreaterThan(10)
    expect(sorted(r.model)).toEqual(sorted(r.k8s))
    // spot checks of the semantics being carried over
    expect(r.k8s.get('shop/web[Deployment] => shop/api[Deployment]')).toBe('TCP 9000')
    expect(r.k8s.get('shop/api[Deployment] => shop/db[StatefulSet]')).toBe('TCP 5432-5435')
    expect(r.k8s.get('ops/agent[DaemonSet] => shop/web[Deployment]')).toBe('TCP 8080')
    expect(r.k8s.get('ops/agent[DaemonSet] => shop/api[Deployment]')).toBe('TCP 9000,9100')
  })

  it('splits a named port that resolves to different numbers, per workload', () => {
    const p = r.imported.policies.find((x) => x.name === 'np-shop-http-from-ops')
    expect(p).toBeDefined()
    const byTo = (p?.rules ?? []).map((x) => [x.to, x.services])
    expect(byTo).toContainEqual([
      [{ kind: 'workload', name: 'shop/web[Deployment]', global: false }],
      [{ protocol: 6, ports: { lo: 8080, hi: 8080 } }],
    ])
    expect(byTo).toContainEqual([
      [{ kind: 'workload', name: 'shop/api[Deployment]', global: false }],
      [{ protocol: 6, ports: { lo: 9000, hi: 9000 } }],
    ])
  })

  it('a workload whose pods give a named port different numbers gets them all, as k8s connlist gives', () => {
    // a Deployment caught mid-rollout: the old ReplicaSet's pod names 8000 "http", the new one's 8001
    const rs = (name: string, port: number) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}-1
  namespace: n
  labels: { app: api }
  ownerReferences: [{ apiVersion: apps/v1, kind: ReplicaSet, name: ${name}, uid: u-${name}, controller: true }]
spec: { containers: [{ name: c, image: i, ports: [{ name: http, containerPort: ${String(port)} }] }] }
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: ${name}
  namespace: n
  ownerReferences: [{ apiVersion: apps/v1, kind: Deployment, name: api, uid: u0, controller: true }]
spec: { selector: { matchLabels: { app: api } }, template: { metadata: { labels: { app: api } }, spec: { containers: [{ name: c, image: i }] } } }
---
`
    const c = compareImport([
      {
        path: 'm.yaml',
        text: `${rs('api-old', 8000)}${rs('api-new', 8001)}apiVersion: v1
kind: Pod
metadata: { name: cli, namespace: n, labels: { app: cli } }
spec: { containers: [{ name: c, image: i }] }
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: named, namespace: n }
spec:
  podSelector: { matchLabels: { app: api } }
  policyTypes: [Ingress]
  ingress: [{ from: [{ podSelector: {} }], ports: [{ port: http }] }]
`,
      },
    ])
    expect(c.k8s.get('n/cli[Pod] => n/api[Deployment]')).toBe('TCP 8000-8001')
    expect(sorted(c.model)).toEqual(sorted(c.k8s))
    expect(c.imported.diagnostics.map((d) => [d.code, d.location?.line])).toContainEqual([
      'k8s/conflicting-ports',
      18,
    ])
  })

  it('namespace selectors select the namespace labels the inventory copies onto workloads', () => {
    const key = namespaceLabelKey('team')
    expect(key).toBe('ns.bulkhead.dev/team')
    expect(namespaceLabelKey('kubernetes.io/metadata.name')).toBe('namespace')
    expect(namespaceLabelKey('example.com/tier')).toBe('example.com.ns.bulkhead.dev/tier')
    const agent = r.imported.inventory.workloads.find((w) => w.name === 'ops/agent[DaemonSet]')
    expect(agent?.labels).toEqual({ app: 'agent', namespace: 'ops', [key]: 'platform' })
    const text = r.files.get('np-shop-http-from-ops.yaml') ?? ''
    expect(text).toContain('ns.bulkhead.dev/team: platform')
  })

  it('owner comes from the bulkhead.dev/owner annotation, else "imported"', () => {
    const owners = Object.fromEntries(r.imported.policies.map((p) => [p.name, p.owner]))
    expect(owners['np-shop-db-in']).toBe('team-db')
    expect(owners['np-shop-api-in']).toBe('imported')
    for (const p of r.imported.policies)
      for (const rule of p.rules) expect(rule.reason).toMatch(/NetworkPolicy|isolates/)
  })

  it('an ipBlock becomes the block externals inside its cidr and outside its except', () => {
    const names = r.imported.inventory.externals.map((e) => e.name).sort()
    expect(names).toEqual([
      'block-0.0.0.0-0',
      'block-10.0.0.0-8',
      'block-10.96.0.10-32',
      'block-::-0',
    ])
    const webIn = r.imported.policies.find((p) => p.name === 'np-shop-web-in')
    expect(webIn?.rules.map((x) => x.from)).toContainEqual([
      { kind: 'external', name: 'block-0.0.0.0-0' },
    ])
  })
})

// read with ../shared present even when cases.json is missing: that fails, it does not skip
const cases: { inputDir: string }[] =
  CORPUS_SKIP !== undefined
    ? []
    : (JSON.parse(readFileSync(join(NPGUARD, 'cases.json'), 'utf8')) as { inputDir: string }[])

describe.skipIf(CORPUS_SKIP !== undefined)(corpusTitle('k8s import on the np-guard corpus'), () => {
  it('has the 22 np-guard cases', () => {
    expect(cases).toHaveLength(22)
  })
  for (const c of cases) {
    const files = readManifestFiles(join(NPGUARD, c.inputDir))
    it(`${c.inputDir}: connlist of the import equals k8s connlist`, () => {
      const r = compareImport(files)
      const errors = r.imported.diagnostics.filter((d) => d.severity !== 'warning')
      expect(errors).toEqual([])
      expect(r.loadDiagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
      expect(sorted(r.model)).toEqual(sorted(r.k8s))
    }, 60_000)
  }
})

describe('k8s import: a pod whose owner references include no controller', () => {
  it('is its own [Pod] workload in the inventory, as k8s connlist names it', () => {
    // test/fixtures/k8s-gc-owner: debug's only owner reference (to api's ReplicaSet) has no
    // controller: true, so it only marks debug for garbage collection; np-guard names it
    // ns/debug[Pod]. Worked by hand: two workloads, api isolated for ingress (TCP 8080 from
    // debug only). Before 2026-11-24 debug's address joined ns/api[Deployment] and its labels
    // cleared api's (inventory/conflicting-labels), so the import lost the policy's selection
    const c = compareImport(readManifestFiles(GC_OWNER))
    expect(c.imported.diagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
    expect(
      c.imported.inventory.workloads.map((w) => [w.name, w.addresses.map((a) => a.ip), w.labels]),
    ).toEqual([
      ['ns/api[Deployment]', ['10.1.0.1'], { app: 'api', namespace: 'ns' }],
      ['ns/debug[Pod]', ['10.1.0.2'], { app: 'debug', namespace: 'ns' }],
    ])
    expect(c.k8s.get('ns/debug[Pod] => ns/api[Deployment]')).toBe('TCP 8080')
    expect(sorted(c.model)).toEqual(sorted(c.k8s))
  })
})

describe('k8s import: what cannot be imported', () => {
  it('an ANP Pass before an overlapping Allow is imported exactly (passed traffic falls to NetworkPolicy)', () => {
    const files = docsFiles([
      ns('a', { team: 'x' }),
      ns('b', { team: 'y' }),
      pod('p1', 'a', { app: 'x' }),
      pod('p2', 'b', { app: 'y' }),
      pod('p3', 'b', { app: 'z' }),
      // a's pods are isolated for ingress and allow only app=z
      np('only-z', 'a', {
        podSelector: {},
        policyTypes: ['Ingress'],
        ingress: [
          { from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'z' } } }] },
        ],
      }),
      anp('first', 1, {
        subject: { namespaces: { matchLabels: { team: 'x' } } },
        ingress: [
          {
            name: 'pass-web',
            action: 'Pass',
            from: [{ namespaces: { matchLabels: { team: 'y' } } }],
            ports: [{ portNumber: { protocol: 'TCP', port: 80 } }],
          },
        ],
      }),
      anp('second', 2, {
        subject: { namespaces: {} },
        ingress: [{ name: 'allow-all', action: 'Allow', from: [{ namespaces: {} }] }],
      }),
    ])
    const r = compareImport(files)
    expect(r.imported.diagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
    expect(r.loadDiagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
    expect(sorted(r.model)).toEqual(sorted(r.k8s))
    // TCP 80 from b is passed to NetworkPolicy, which admits it from app=z only
    expect(r.k8s.get('b/p2[Pod] => a/p1[Pod]')).toBeDefined()
    expect(r.k8s.get('b/p2[Pod] => a/p1[Pod]')).not.toContain('TCP 80')
    expect(r.k8s.get('b/p3[Pod] => a/p1[Pod]')).toBe('All Connections')
    // the Allow is written per workload pair for a/p1, without the passed services
    const rules = r.imported.policies.find((p) => p.name === 'anp-second')?.rules ?? []
    expect(
      rules.some((x) =>
        (x.reason ?? '').includes('less what AdminNetworkPolicy first rule "pass-web"'),
      ),
    ).toBe(true)
  })

  it('a Pass that no later ANP rule overlaps is dropped (traffic falls to NetworkPolicy)', () => {
    const files = docsFiles([
      pod('p1', 'a', { app: 'x' }),
      pod('p2', 'b', { app: 'y' }),
      np('deny-in', 'a', { podSelector: {}, policyTypes: ['Ingress'] }),
      anp('first', 1, {
        subject: { namespaces: {} },
        ingress: [{ name: 'pass', action: 'Pass', from: [{ namespaces: {} }] }],
      }),
    ])
    const r = compareImport(files)
    expect(r.imported.diagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
    expect(sorted(r.model)).toEqual(sorted(r.k8s))
    expect(r.k8s.get('b/p2[Pod] => a/p1[Pod]')).toBeUndefined()
  })

  it("an OpenShift DeploymentConfig's pods are one workload, without the per-revision 'deployment' label", () => {
    // pods of two revisions (ReplicationControllers frontend-1, frontend-2 owned by the
    // DeploymentConfig; labels as openshift/library-go pkg/apps/appsutil/util.go MakeDeployment
    // sets them), as the inventory reads them; before, the DeploymentConfig was no object and the
    // workload kept deployment=frontend-1
    const owner = (kind: string, name: string, uid: string) => ({
      ownerReferences: [{ kind, name, uid, controller: true }],
    })
    const dcPod = (n: number) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `frontend-${n}-x`,
        namespace: 'a',
        labels: { app: 'frontend', deploymentconfig: 'frontend', deployment: `frontend-${n}` },
        ...owner('ReplicationController', `frontend-${n}`, `u-rc${n}`),
      },
      status: { podIP: `10.0.0.${n}` },
    })
    const rc = (n: number) => ({
      apiVersion: 'v1',
      kind: 'ReplicationController',
      metadata: {
        name: `frontend-${n}`,
        namespace: 'a',
        uid: `u-rc${n}`,
        ...owner('DeploymentConfig', 'frontend', 'u-dc'),
      },
    })
    const dc = {
      apiVersion: 'apps.openshift.io/v1',
      kind: 'DeploymentConfig',
      metadata: { name: 'frontend', namespace: 'a', uid: 'u-dc' },
      spec: { template: { metadata: { labels: { app: 'frontend' } } } },
    }
    const r = importManifests(docsFiles([dc, rc(1), rc(2), dcPod(1), dcPod(2)]))
    expect(r.diagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
    expect(
      r.inventory.workloads.map((w) => [w.name, w.addresses.map((x) => x.ip), w.labels]),
    ).toEqual([
      [
        'a/frontend[DeploymentConfig]',
        ['10.0.0.1', '10.0.0.2'],
        {
          app: 'frontend',
          deploymentconfig: 'frontend',
          [namespaceLabelKey('kubernetes.io/metadata.name')]: 'a',
          namespace: 'a',
        },
      ],
    ])
  })

  it('a pod selector on the key "namespace" is k8s/not-importable', () => {
    const r = importManifests(
      docsFiles([
        pod('p1', 'a', { app: 'x' }),
        np('odd', 'a', { podSelector: { matchLabels: { namespace: 'a' } }, ingress: [] }),
      ]),
    )
    expect(r.diagnostics).toContainEqual(
      expect.objectContaining({
        code: 'k8s/not-importable',
        location: expect.objectContaining({ file: 'doc1.json' }),
      }),
    )
  })

  it('an ANP Allow before an overlapping Deny is imported exactly (deny only what is denied)', () => {
    const files = docsFiles([
      ns('a', { team: 'x' }),
      ns('b', { team: 'y' }),
      pod('p1', 'a', { app: 'x' }, [{ name: 'web', containerPort: 80 }]),
      pod('p2', 'b', { app: 'y' }, [{ name: 'web', containerPort: 8080 }]),
      anp('first', 1, {
        subject: { namespaces: { matchLabels: { team: 'x' } } },
        ingress: [
          {
            name: 'allow-web',
            action: 'Allow',
            from: [{ namespaces: {} }],
            ports: [{ portNumber: { protocol: 'TCP', port: 80 } }],
          },
          { name: 'deny-rest', action: 'Deny', from: [{ namespaces: {} }] },
        ],
      }),
    ])
    const r = compareImport(files)
    expect(r.imported.diagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
    expect(sorted(r.model)).toEqual(sorted(r.k8s))
    expect(r.k8s.get('b/p2[Pod] => a/p1[Pod]')).toBe('TCP 80')
  })

  it('serviceList keeps the protocols a set holds implicitly', () => {
    const all = ServiceSet.ANY.subtract(
      ServiceSet.single({ protocol: 6, ports: { lo: 80, hi: 80 } }),
    )
    const list = serviceList(all)
    const back = ServiceSet.of(list)
    // equal on every real protocol (0–255); `any` is kept as `any`
    for (let p = 0; p <= 255; p++)
      expect(back.ports(p).equals(all.ports(p)), `protocol ${p}`).toBe(true)
    expect(serviceList(ServiceSet.ANY)).toEqual([{ protocol: 'any' }])
  })
})

// ---- random NetworkPolicy / ANP / BANP sets (generators as in semantics.prop.test.ts) ----

const IMPORT_SELECTORS = {
  pods: [
    {},
    { matchLabels: { app: 'a' } },
    { matchLabels: { app: 'b' } },
    { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['a'] }] },
    { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] },
  ],
  namespaces: [
    {},
    { matchLabels: { team: 'x' } },
    { matchLabels: { team: 'y' } },
    { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['b'] }] },
  ],
}
const { estate, anpPods, anpRule } = k8sArbitraries(IMPORT_SELECTORS)

/**
 * Estates whose pods hold addresses of one family or both (`status.podIPs`, inside the
 * policies' IPv4 and IPv6 blocks): never none, since --assign-addresses would give such a pod an
 * IPv4 address only while k8s connlist takes both families for it.
 */
const addressedEstate = k8sArbitraries({ ...IMPORT_SELECTORS, addresses: true }).estate.map(
  (e) => ({
    ...e,
    pods: e.pods.map((p) => ({
      ...p,
      families: p.families !== undefined && p.families.length > 0 ? p.families : ([4, 6] as const),
    })),
  }),
)

/** An ANP spec whose first ingress and egress rules have `action`, then up to one random rule. */
const anpSpecFirst = (action: string) => {
  const rules = (key: 'from' | 'to') =>
    fc
      .tuple(
        anpRule(key, [action]),
        fc.array(anpRule(key, ['Allow', 'Deny', 'Pass']), { maxLength: 1 }),
      )
      .map(([first, rest]) => [first, ...rest])
  return fc.record({ subject: anpPods, ingress: rules('from'), egress: rules('to') })
}
/** Estates whose first ANP starts with a `Pass` and whose second starts with an `Allow`. */
const passAllowEstate = fc
  .tuple(estate, anpSpecFirst('Pass'), anpSpecFirst('Allow'))
  .map(([e, pass, allow]) => ({ ...e, anps: [pass, allow] }))

/** Imports a random estate (pods without an IP get addresses from `assign`) and checks it: no error, and connlist equality. */
function checkEstate(
  e: K8sEstate,
  assign: readonly Cidr[] = [POD_BLOCK],
): { passShadowed: boolean } {
  const docs = estateDocs(e)
  const r = compareImport(docsFiles(docs), assign)
  // every random set imports: nothing is refused
  expect(r.imported.diagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
  expect(r.loadDiagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
  expect(sorted(r.model)).toEqual(sorted(r.k8s))
  return {
    passShadowed: r.imported.policies.some((p) =>
      p.rules.some((x) => (x.reason ?? '').includes('(Pass)')),
    ),
  }
}

describe('k8s import --assign-addresses: address families', () => {
  // two Deployments (no pods: families unknown, so both in k8s connlist); a/db admits only the
  // IPv6 block fd00:1::/64 on TCP 5432, so k8s connlist models IPv6. By hand, k8s connlist --ipv6:
  const want = [
    '0.0.0.0-255.255.255.255[External] => a/web[Deployment] : All Connections',
    '::-fd00:0:ffff:ffff:ffff:ffff:ffff:ffff[External] => a/web[Deployment] : All Connections',
    'a/db[Deployment] => 0.0.0.0-255.255.255.255[External] : All Connections',
    'a/db[Deployment] => ::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff[External] : All Connections',
    'a/db[Deployment] => a/web[Deployment] : All Connections',
    'a/web[Deployment] => 0.0.0.0-255.255.255.255[External] : All Connections',
    'a/web[Deployment] => ::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff[External] : All Connections',
    'fd00:1:0:1::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff[External] => a/web[Deployment] : All Connections',
    'fd00:1::-fd00:1::ffff:ffff:ffff:ffff[External] => a/db[Deployment] : TCP 5432',
    'fd00:1::-fd00:1::ffff:ffff:ffff:ffff[External] => a/web[Deployment] : All Connections',
  ]
  const deployment = (name: string) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'a' },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 5432 }] }] },
      },
    },
  })
  const files = docsFiles([
    deployment('web'),
    deployment('db'),
    np('db-in', 'a', {
      podSelector: { matchLabels: { app: 'db' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ ipBlock: { cidr: 'fd00:1::/64' } }], ports: [{ port: 5432 }] }],
    }),
  ])

  it('k8s connlist --ipv6 lists both families for the unaddressed pods', () => {
    const got = formatK8sConnlist(analyze(files).connections, 'txt')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
    expect(got.sort()).toEqual([...want].sort())
  })

  it('an IPv4 and an IPv6 block: the workspace has every line, IPv6 ones too', () => {
    const r = compareImport(files, [POD_BLOCK, POD_BLOCK6])
    expect(r.imported.diagnostics.filter((d) => d.code === 'k8s/no-pod-address')).toEqual([])
    expect(r.imported.inventory.workloads.map((w) => w.addresses.map((a) => a.ip))).toEqual([
      ['100.64.0.1', 'fd99::1'],
      ['100.64.0.2', 'fd99::2'],
    ])
    expect(sorted(r.model)).toEqual(sorted(r.k8s))
  })

  it('an IPv4 block alone: a located k8s/no-pod-address warning, and the IPv6 lines are missing', () => {
    const r = compareImport(files, [POD_BLOCK])
    expect(r.imported.diagnostics).toContainEqual(
      expect.objectContaining({
        code: 'k8s/no-pod-address',
        severity: 'warning',
        // at the first workload so given, a/db (workloads are sorted by name)
        location: expect.objectContaining({ file: 'doc1.json', line: 1 }) as unknown,
        hint: expect.stringContaining('100.64.0.0/10,fd00:10:244::/64') as unknown,
      }),
    )
    const v6 = [...r.k8s.keys()].filter((k) => k.includes('6:'))
    expect(v6.length).toBeGreaterThan(0)
    expect(v6.filter((k) => r.model.has(k))).toEqual([])
  })
})

describe('k8s import --assign-addresses: a host-network pod', () => {
  // kube-system/agent on the host network of an IPv4 node: the inventory gives it no address,
  // k8s connlist gives it IPv4 only (its node's family), so it is given an IPv4 address only
  const files = docsFiles([
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'agent', namespace: 'kube-system', labels: { app: 'agent' } },
      spec: { hostNetwork: true, containers: [{ name: 'c', image: 'i' }] },
      status: { hostIP: '192.168.1.10', podIPs: [{ ip: '192.168.1.10' }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'db', namespace: 'a', labels: { app: 'db' } },
      spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 5432 }] }] },
      status: { podIPs: [{ ip: '10.244.0.2' }, { ip: 'fd00:10:244::2' }] },
    },
    np('db-in', 'a', {
      podSelector: { matchLabels: { app: 'db' } },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [{ ipBlock: { cidr: '192.168.0.0/16' } }, { ipBlock: { cidr: 'fd00:1::/64' } }],
          ports: [{ port: 5432 }],
        },
      ],
    }),
  ])

  it('gets an address of its node’s family only, and the workspace equals k8s connlist', () => {
    const r = compareImport(files, [POD_BLOCK, POD_BLOCK6])
    const agent = r.imported.inventory.workloads.find((w) => w.name === 'kube-system/agent[Pod]')
    expect(agent?.addresses.map((a) => a.ip)).toEqual(['100.64.0.1'])
    expect(r.imported.diagnostics.filter((d) => d.code === 'k8s/no-pod-address')).toEqual([])
    expect(sorted(r.model)).toEqual(sorted(r.k8s))
  })
})

describe('k8s import: random policy sets (fixed seed)', () => {
  it('connlist of the import equals k8s connlist (no set is refused)', () => {
    let runs = 0
    fc.assert(
      fc.property(estate, (e) => {
        checkEstate(e)
        runs++
      }),
      { seed: SEED, numRuns: 60 },
    )
    expect(runs).toBe(60)
  }, 120_000)

  it('estates of IPv4-only, IPv6-only and dual-stack pods import exactly too (families kept)', () => {
    // before 2026-11-24 k8s connlist gave an IPv6-only pod lines to IPv4 ranges, which the
    // workspace's connlist (addresses of different families never connect) has not
    let runs = 0
    fc.assert(
      fc.property(addressedEstate, (e) => {
        checkEstate(e)
        runs++
      }),
      { seed: SEED, numRuns: 60 },
    )
    expect(runs).toBe(60)
  }, 120_000)

  it('estates with pods of unknown families, given both by --assign-addresses, import exactly too', () => {
    // k8s connlist takes both families for a pod whose addresses the manifests do not give; before
    // 2026-11-24 --assign-addresses gave it one block's family only, so where a policy names an
    // IPv6 block its IPv6 lines were missing from the workspace
    let runs = 0
    let unknown = 0
    fc.assert(
      fc.property(k8sArbitraries({ ...IMPORT_SELECTORS, addresses: true }).estate, (e) => {
        unknown += e.pods.filter((p) => p.families?.length === 0).length
        checkEstate(e, [POD_BLOCK, POD_BLOCK6])
        runs++
      }),
      { seed: SEED, numRuns: 60 },
    )
    expect(runs).toBe(60)
    expect(unknown).toBeGreaterThan(30)
  }, 120_000)

  it('sets where an ANP Pass precedes an Allow import exactly too', () => {
    let shadowed = 0
    fc.assert(
      fc.property(passAllowEstate, (e) => {
        if (checkEstate(e).passShadowed) shadowed++
      }),
      // about 1 set in 6 shadows an Allow behind the Pass: 60 runs gave 4 such sets for some
      // seeds (FC_SEED=10, 22); 150 runs leave a count of 5 or fewer at odds below 1e-6
      { seed: SEED, numRuns: 150 },
    )
    // the runs must include sets where an Allow is written per workload, less passed traffic
    expect(shadowed).toBeGreaterThan(5)
  }, 120_000)
})

describe('bulkhead k8s import (CLI)', () => {
  const dirs: string[] = []
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  it('--assign-addresses takes one block per family, comma-separated or repeated', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'bulkhead-import-'))
    dirs.push(ws)
    const base = ['k8s', 'import', FIXTURE, '--out', join(ws, 'policy')]
    const two4 = await cli(...base, '--assign-addresses', '100.64.0.0/10,10.0.0.0/8')
    expect(two4.code).toBe(1)
    expect(two4.stderr).toContain('cli/usage')
    const ok = await cli(
      ...base,
      '--assign-addresses',
      '100.64.0.0/10',
      '--assign-addresses',
      'fd99::/64',
    )
    expect(ok.code, ok.stderr).toBe(0)
    const inv = readFileSync(join(ws, 'inventory', 'kubernetes.yaml'), 'utf8')
    expect(inv).toContain('- 100.64.0.1')
    expect(inv).toContain('- fd99::1')
  })

  it('writes policies and inventory, refuses to overwrite without --force, and the workspace loads', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'bulkhead-import-'))
    dirs.push(ws)
    const out = join(ws, 'policy')
    const args = ['k8s', 'import', FIXTURE, '--out', out, '--assign-addresses', '100.64.0.0/10']
    const first = await cli(...args, '-o', 'json')
    expect(first.code, first.stderr).toBe(0)
    const report = JSON.parse(first.stdout) as { policies: number; written: string[] }
    expect(report.policies).toBeGreaterThan(4)
    expect(existsSync(join(ws, 'inventory', 'kubernetes.yaml'))).toBe(true)
    expect(existsSync(join(out, 'np-shop-db-in.yaml'))).toBe(true)

    const again = await cli(...args)
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('cli/usage')
    expect((await cli(...args, '--force')).code).toBe(0)

    const validate = await cli('validate', '-w', ws)
    expect(validate.code, validate.stderr + validate.stdout).toBe(0)
    const conn = await cli('connlist', '-w', ws, '-o', 'json')
    expect(conn.code, conn.stderr).toBe(0)
    const lines = JSON.parse(conn.stdout) as { src: string; dst: string; conn: string }[]
    expect(lines).toContainEqual({
      src: 'shop/web[Deployment]',
      dst: 'shop/api[Deployment]',
      conn: 'TCP 9000',
    })
  })

  it('pods without an IP are a k8s/no-pod-address warning, which --assign-addresses removes', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'bulkhead-import-'))
    dirs.push(ws)
    const out = join(ws, 'policy')
    const bare = importManifests(readManifestFiles(FIXTURE))
    expect(bare.diagnostics).toContainEqual(
      expect.objectContaining({ code: 'k8s/no-pod-address', severity: 'warning' }),
    )
    const r = await cli('k8s', 'import', FIXTURE, '--out', out)
    expect(r.code).toBe(0)
    expect(r.stderr).toContain('warning k8s/no-pod-address')
    const given = await cli(
      ...['k8s', 'import', FIXTURE, '--out', out, '--force'],
      ...['--assign-addresses', '100.64.0.0/10'],
    )
    expect(given.code).toBe(0)
    expect(given.stderr).not.toContain('k8s/no-pod-address')
  })

  it('a folder with an invalid policy writes nothing (exit 1)', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'bulkhead-import-'))
    dirs.push(ws)
    const bad = fileURLToPath(new URL('../fixtures/k8s-invalid/', import.meta.url))
    const r = await cli('k8s', 'import', bad, '--out', join(ws, 'policy'))
    expect(r.code).toBe(1)
    expect(existsSync(join(ws, 'policy'))).toBe(false)
  })
})
