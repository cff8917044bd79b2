import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Diagnostic } from '../../src/core/index.js'
import { loadFromSources, type SourceFile } from '../../src/policy/load.js'
import { defaultWorkspace } from '../../src/policy/workspace.js'
import { CORPUS_SKIP, corpusPath, corpusTitle } from '../helpers/corpora.js'

const NPGUARD = corpusPath('np-guard/tests')
const BOUTIQUE = corpusPath('online-boutique')
const FIXTURE = fileURLToPath(
  new URL('../fixtures/inventory-mixed/inventory/pods.json', import.meta.url),
)

const load = (files: SourceFile[]) => loadFromSources(defaultWorkspace('.'), files, [], new Date(0))
const at = (d: Diagnostic) =>
  `${d.severity} ${d.code} ${d.location?.file}:${d.location?.line}:${d.location?.column}`
const summary = (files: SourceFile[]) =>
  load(files).inventory.workloads.map((w) => [w.name, w.addresses.map((a) => a.ip), w.labels])

describe('Kubernetes inventory: kubectl -o json List', () => {
  const text = readFileSync(FIXTURE, 'utf8')
  it('names workloads by their top owner, joins replicas, drops hash labels, adds namespace', () => {
    const r = load([{ path: 'pods.json', text }])
    expect(r.diagnostics).toEqual([])
    expect(summary([{ path: 'pods.json', text }])).toEqual([
      [
        'shop/cart[Deployment]',
        ['10.244.1.5', 'fd00:10:244::5', '10.244.2.7'],
        { app: 'cart', namespace: 'shop' },
      ],
      ['shop/debug[Pod]', ['10.244.3.3'], { app: 'debug', namespace: 'shop' }],
    ])
    const cart = r.inventory.workloads[0]
    expect(cart?.labelOrigins).toEqual({ app: 'source:kubernetes', namespace: 'source:kubernetes' })
    // located at the Deployment, each address at its podIPs entry
    expect(cart?.location).toMatchObject({ file: 'pods.json', line: 5, column: 5 })
    expect(cart?.addresses[1]?.location).toMatchObject({ line: 30, column: 105 })
  })

  it('gives the same workloads from multi-document YAML spread over two files', () => {
    const items = (JSON.parse(text) as { items: unknown[] }).items
    const yaml = (xs: unknown[]) => xs.map((x) => JSON.stringify(x)).join('\n---\n')
    const split = [
      { path: 'a-owners.yaml', text: yaml(items.slice(0, 2)) },
      { path: 'b-pods.yaml', text: yaml(items.slice(2)) },
    ]
    expect(load(split).diagnostics).toEqual([])
    expect(summary(split)).toEqual(summary([{ path: 'pods.json', text }]))
  })
})

const pod = (
  name: string,
  extra: Record<string, unknown> = {},
  meta: Record<string, unknown> = {},
) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'ns', labels: { app: name }, ...meta },
  status: { podIP: '10.1.0.1' },
  ...extra,
})
const list = (...items: unknown[]) =>
  JSON.stringify({ apiVersion: 'v1', kind: 'List', items }, null, 2)

describe('Kubernetes inventory: the namespace label', () => {
  it("a pod's own label namespace gives way to its namespace, with a warning at the label", () => {
    const text = [
      'apiVersion: v1',
      'kind: Pod',
      'metadata:',
      '  name: web',
      '  namespace: shop',
      '  labels: { app: web, namespace: team-a }',
      'status: { phase: Running, podIP: 10.244.0.10 }',
      '---',
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: { name: api, namespace: shop }',
      'spec:',
      '  template:',
      '    metadata:',
      '      labels: { app: api, namespace: shop }', // the same value: nothing to say
      '',
    ].join('\n')
    const r = load([{ path: 'pods.yaml', text }])
    expect(r.inventory.workloads.map((w) => [w.name, w.labels])).toEqual([
      ['shop/api[Deployment]', { app: 'api', namespace: 'shop' }],
      ['shop/web[Pod]', { app: 'web', namespace: 'shop' }],
    ])
    expect(r.diagnostics.map(at)).toEqual(['warning inventory/bad-label pods.yaml:6:34'])
    expect(r.diagnostics[0]?.message).toContain('namespace=team-a')
  })
})

describe('Kubernetes inventory: owners and odd pods', () => {
  it('StatefulSet, DaemonSet and CronJob → Job pods are named after the top owner', () => {
    const owned = (name: string, kind: string, owner: string, ip: string) =>
      pod(
        name,
        { status: { podIP: ip } },
        {
          ownerReferences: [{ kind, name: owner, controller: true }],
          labels: { app: owner, 'controller-revision-hash': 'x' },
        },
      )
    const f = list(
      { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: 'ns' } },
      owned('db-0', 'StatefulSet', 'db', '10.1.0.1'),
      owned('db-1', 'StatefulSet', 'db', '10.1.0.2'),
      { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent', namespace: 'ns' } },
      owned('agent-x', 'DaemonSet', 'agent', '10.1.0.3'),
      { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'backup', namespace: 'ns' } },
      {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: {
          name: 'backup-1',
          namespace: 'ns',
          ownerReferences: [{ kind: 'CronJob', name: 'backup', controller: true }],
        },
      },
      owned('backup-1-zz', 'Job', 'backup-1', '10.1.0.4'),
    )
    const r = load([{ path: 'k.json', text: f }])
    expect(r.diagnostics.map(at)).toEqual([])
    expect(r.inventory.workloads.map((w) => [w.name, w.addresses.map((a) => a.ip)])).toEqual([
      ['ns/agent[DaemonSet]', ['10.1.0.3']],
      ['ns/backup[CronJob]', ['10.1.0.4']],
      ['ns/db[StatefulSet]', ['10.1.0.1', '10.1.0.2']],
    ])
    expect(r.inventory.workloads[2]?.labels).toEqual({ app: 'db', namespace: 'ns' })
  })

  it('warns about an unknown owner and names the workload after the reference, once per owner', () => {
    const ref = {
      ownerReferences: [{ kind: 'ReplicaSet', name: 'web-abc', controller: true }],
      labels: { app: 'web' },
    }
    const f = list(
      pod('web-abc-1', { status: { podIP: '10.1.0.1' } }, ref),
      pod('web-abc-2', { status: { podIP: '10.1.0.2' } }, ref),
    )
    const r = load([{ path: 'k.json', text: f }])
    expect(r.diagnostics.map(at)).toEqual(['warning inventory/unknown-owner k.json:14:28'])
    expect(r.inventory.workloads.map((w) => [w.name, w.addresses.length])).toEqual([
      ['ns/web-abc[ReplicaSet]', 2],
    ])
  })

  it("a static pod's mirror pod, owned by its Node, is its own workload (as k8s connlist names it)", () => {
    const mirror = { ownerReferences: [{ kind: 'Node', name: 'node-1', controller: true }] }
    const f = list(
      pod('static-web-node-1', { status: { podIP: '10.1.0.1' } }, mirror),
      pod('static-db-node-1', { status: { podIP: '10.1.0.2' } }, mirror),
    )
    const r = load([{ path: 'k.json', text: f }])
    expect(r.diagnostics.map(at)).toEqual([])
    expect(r.inventory.workloads.map((w) => w.name)).toEqual([
      'ns/static-db-node-1[Pod]',
      'ns/static-web-node-1[Pod]',
    ])
  })

  it('pending, finished and host-network pods give no address, with a warning', () => {
    const f = list(
      pod('pending', { status: { phase: 'Pending' } }),
      pod('done', { status: { phase: 'Succeeded', podIP: '10.1.0.9' } }),
      pod('host', { spec: { hostNetwork: true }, status: { podIP: '192.168.0.10' } }),
      pod('ok'),
    )
    const r = load([{ path: 'k.json', text: f }])
    expect(r.diagnostics.map((d) => `${d.code}@${d.location?.line}`)).toEqual([
      'inventory/no-address@5',
      'inventory/no-address@19',
      'inventory/no-address@34',
    ])
    // bare pods: each is still its own workload, without addresses (as k8s import lists them)
    expect(r.inventory.workloads.map((w) => [w.name, w.addresses.length])).toEqual([
      ['ns/done[Pod]', 0],
      ['ns/host[Pod]', 0],
      ['ns/ok[Pod]', 1],
      ['ns/pending[Pod]', 0],
    ])
  })

  it('a bare Pod manifest is a workload without addresses, with its labels, as k8s import lists it', () => {
    // modelled on kubernetes/website content/en/examples/pods/simple-pod.yaml
    // (https://github.com/kubernetes/website/blob/main/content/en/examples/pods/simple-pod.yaml):
    // a `---`, then one Pod in flow style, without namespace or status; before, it was lost
    const manifest = [
      '---',
      '{',
      '  apiVersion: "v1",',
      '  kind: "Pod",',
      '  metadata: { name: "web", labels: { app: "web" } },',
      '  spec: { containers: [{ name: "web", image: "nginx:1.27" }] },',
      '}',
      '',
    ].join('\n')
    const r = load([{ path: 'pod.yaml', text: manifest }])
    expect(r.diagnostics.map(at)).toEqual(['warning inventory/no-address pod.yaml:2:1'])
    expect(summary([{ path: 'pod.yaml', text: manifest }])).toEqual([
      ['default/web[Pod]', [], { app: 'web', namespace: 'default' }],
    ])
  })

  it("an Argo Rollouts Rollout is a workload, as a Deployment is; another group's Rollout is not", () => {
    // modelled on argoproj/argo-rollouts examples/rollout-canary.yaml
    // (https://github.com/argoproj/argo-rollouts/blob/master/examples/rollout-canary.yaml);
    // before, the Rollout was silently no workload, and its pods in a dump (Pod -> ReplicaSet ->
    // Rollout) gave an inventory/unknown-owner warning though the Rollout was in the dump
    const rollout = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'canary', namespace: 'ns', uid: 'u-ro' },
      spec: { template: { metadata: { labels: { app: 'canary' } } } },
    }
    const other = {
      apiVersion: 'dbops.example.com/v1',
      kind: 'Rollout',
      metadata: { name: 'schema', namespace: 'ns' },
    }
    const manifests = list(rollout, other)
    expect(summary([{ path: 'r.json', text: manifests }])).toEqual([
      ['ns/canary[Rollout]', [], { app: 'canary', namespace: 'ns' }],
    ])
    const rs = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: 'canary-7d9f',
        namespace: 'ns',
        uid: 'u-rs',
        ownerReferences: [
          {
            apiVersion: 'argoproj.io/v1alpha1',
            kind: 'Rollout',
            name: 'canary',
            uid: 'u-ro',
            controller: true,
          },
        ],
      },
    }
    const owned = pod(
      'canary-7d9f-x',
      { status: { podIP: '10.1.0.7' } },
      {
        ownerReferences: [
          { kind: 'ReplicaSet', name: 'canary-7d9f', uid: 'u-rs', controller: true },
        ],
        labels: { app: 'canary', 'rollouts-pod-template-hash': '7d9f' },
      },
    )
    const dump = list(rollout, rs, owned)
    const r = load([{ path: 'd.json', text: dump }])
    expect(r.diagnostics.map(at)).toEqual([])
    expect(summary([{ path: 'd.json', text: dump }])).toEqual([
      // rollouts-pod-template-hash is per revision, as pod-template-hash is: dropped
      ['ns/canary[Rollout]', ['10.1.0.7'], { app: 'canary', namespace: 'ns' }],
    ])
  })

  it("an OpenShift DeploymentConfig is a workload, as a Deployment is; its per-revision 'deployment' label is dropped", () => {
    // the manifest is openshift/origin test/extended/testdata/deployments/deployment-simple.yaml
    // (https://github.com/openshift/origin/blob/master/test/extended/testdata/deployments/deployment-simple.yaml);
    // before, it was silently no workload
    const manifest = [
      'apiVersion: apps.openshift.io/v1',
      'kind: DeploymentConfig',
      'metadata:',
      '  name: deployment-simple',
      'spec:',
      '  replicas: 1',
      '  selector:',
      '    name: deployment-simple',
      '  template:',
      '    metadata:',
      '      labels:',
      '        name: deployment-simple',
      '    spec:',
      '      containers:',
      '      - image: "registry.access.redhat.com/ubi8/ubi-minimal:latest"',
      '        name: myapp',
      '  triggers:',
      '  - type: ConfigChange',
      '',
    ].join('\n')
    const r = load([{ path: 'dc.yaml', text: manifest }])
    expect(r.diagnostics).toEqual([])
    expect(summary([{ path: 'dc.yaml', text: manifest }])).toEqual([
      [
        'default/deployment-simple[DeploymentConfig]',
        [],
        { name: 'deployment-simple', namespace: 'default' },
      ],
    ])
    // a dump mid-rollout: the controller makes one ReplicationController per revision
    // (frontend-1, frontend-2), owned by the DeploymentConfig and annotated with its name, and
    // labels their pods deploymentconfig=<dc> and deployment=<rc> (openshift/library-go
    // pkg/apps/appsutil/util.go MakeDeployment). Before: inventory/unknown-owner though the
    // DeploymentConfig was in the dump, and inventory/conflicting-labels on "deployment"
    const dc = {
      apiVersion: 'apps.openshift.io/v1',
      kind: 'DeploymentConfig',
      metadata: { name: 'frontend', namespace: 'ns', uid: 'u-dc' },
      spec: {
        template: { metadata: { labels: { app: 'frontend', deploymentconfig: 'frontend' } } },
      },
    }
    const rc = (n: number) => ({
      apiVersion: 'v1',
      kind: 'ReplicationController',
      metadata: {
        name: `frontend-${n}`,
        namespace: 'ns',
        uid: `u-rc${n}`,
        annotations: { 'openshift.io/deployment-config.name': 'frontend' },
        ownerReferences: [
          {
            apiVersion: 'apps.openshift.io/v1',
            kind: 'DeploymentConfig',
            name: 'frontend',
            uid: 'u-dc',
            controller: true,
          },
        ],
      },
    })
    const owned = (n: number, ip: string) =>
      pod(
        `frontend-${n}-x${n}`,
        { status: { podIP: ip } },
        {
          ownerReferences: [
            {
              kind: 'ReplicationController',
              name: `frontend-${n}`,
              uid: `u-rc${n}`,
              controller: true,
            },
          ],
          labels: { app: 'frontend', deploymentconfig: 'frontend', deployment: `frontend-${n}` },
        },
      )
    const dump = list(dc, rc(1), rc(2), owned(1, '10.128.0.4'), owned(2, '10.128.0.5'))
    expect(load([{ path: 'd.json', text: dump }]).diagnostics.map(at)).toEqual([])
    expect(summary([{ path: 'd.json', text: dump }])).toEqual([
      [
        'ns/frontend[DeploymentConfig]',
        ['10.128.0.4', '10.128.0.5'],
        { app: 'frontend', deploymentconfig: 'frontend', namespace: 'ns' },
      ],
    ])
    // 'deployment' is a user's label elsewhere: kept on other workloads' pods
    const plain = pod('web', {}, { labels: { app: 'web', deployment: 'blue' } })
    expect(summary([{ path: 'p.json', text: list(plain) }])).toEqual([
      ['ns/web[Pod]', ['10.1.0.1'], { app: 'web', deployment: 'blue', namespace: 'ns' }],
    ])
    // OpenShift 3's legacy apiVersion v1 too; another group's DeploymentConfig is no workload
    const legacy = { ...dc, apiVersion: 'v1', metadata: { name: 'old', namespace: 'ns' } }
    const other = { ...dc, apiVersion: 'example.com/v1', metadata: { name: 'x', namespace: 'ns' } }
    expect(summary([{ path: 'o.json', text: list(legacy, other) }]).map((w) => w[0])).toEqual([
      'ns/old[DeploymentConfig]',
    ])
  })

  it("an OpenShift deployer or hook pod is its own [Pod] workload: not merged into the DeploymentConfig's", () => {
    // a dump mid-deployment, the pods as origin's deployer controller (makeDeployerPod) and
    // library-go's createHookPodManifest make them: label openshift.io/deployer-pod-for.name=<rc>,
    // none of the template's labels; the deployer's reference to the ReplicationController has no
    // controller: true, a hook pod has none. Worked by hand: the DeploymentConfig keeps its one
    // pod's address and labels; each process pod is ns/<pod>[Pod] (as np-guard names it), a
    // finished one without address. Before: the running deployer's address joined
    // ns/frontend[DeploymentConfig], whose app and deploymentconfig labels were left out with
    // inventory/conflicting-labels warnings
    const owner = (kind: string, name: string, uid: string, controller?: true) => ({
      ownerReferences: [
        { apiVersion: 'v1', kind, name, uid, ...(controller ? { controller } : {}) },
      ],
    })
    const dc = {
      apiVersion: 'apps.openshift.io/v1',
      kind: 'DeploymentConfig',
      metadata: { name: 'frontend', namespace: 'ns', uid: 'u-dc' },
      spec: {
        template: { metadata: { labels: { app: 'frontend', deploymentconfig: 'frontend' } } },
      },
    }
    const rc = (n: number) => ({
      apiVersion: 'v1',
      kind: 'ReplicationController',
      metadata: {
        name: `frontend-${n}`,
        namespace: 'ns',
        uid: `u-rc${n}`,
        ...owner('DeploymentConfig', 'frontend', 'u-dc', true),
      },
    })
    const app = pod(
      'frontend-2-abcde',
      { status: { phase: 'Running', podIP: '10.128.0.5' } },
      {
        labels: { app: 'frontend', deploymentconfig: 'frontend', deployment: 'frontend-2' },
        ...owner('ReplicationController', 'frontend-2', 'u-rc2', true),
      },
    )
    const deployer = (n: number, status: Record<string, unknown>) =>
      pod(
        `frontend-${n}-deploy`,
        { status },
        {
          labels: { 'openshift.io/deployer-pod-for.name': `frontend-${n}` },
          annotations: { 'openshift.io/deployment.name': `frontend-${n}` },
          ...owner('ReplicationController', `frontend-${n}`, `u-rc${n}`),
        },
      )
    const hook = pod(
      'frontend-2-hook-pre',
      { status: { phase: 'Running', podIP: '10.128.0.10' } },
      {
        labels: {
          'openshift.io/deployer-pod-for.name': 'frontend-2',
          'openshift.io/deployer-pod.type': 'hook-pre',
        },
      },
    )
    const dump = list(
      dc,
      rc(1),
      rc(2),
      app,
      deployer(2, { phase: 'Running', podIP: '10.128.0.9' }),
      hook,
      deployer(1, { phase: 'Succeeded', podIP: '10.128.0.3' }),
    )
    const r = load([{ path: 'd.json', text: dump }])
    expect(r.diagnostics.map((d) => `${d.severity} ${d.code}`)).toEqual([
      'warning inventory/no-address', // frontend-1-deploy has ended
    ])
    const process = (n: number) => ({
      namespace: 'ns',
      'openshift.io/deployer-pod-for.name': `frontend-${n}`,
    })
    expect(summary([{ path: 'd.json', text: dump }])).toEqual([
      ['ns/frontend-1-deploy[Pod]', [], process(1)],
      ['ns/frontend-2-deploy[Pod]', ['10.128.0.9'], process(2)],
      [
        'ns/frontend-2-hook-pre[Pod]',
        ['10.128.0.10'],
        { ...process(2), 'openshift.io/deployer-pod.type': 'hook-pre' },
      ],
      [
        'ns/frontend[DeploymentConfig]',
        ['10.128.0.5'],
        { app: 'frontend', deploymentconfig: 'frontend', namespace: 'ns' },
      ],
    ])
  })

  it("an Argo Rollout with workloadRef has the referenced Deployment's template labels; unresolved, a warning", () => {
    // argo-rollouts docs/migrating.md "Reference Deployment From Rollout": no spec.template; the
    // controller makes the Rollout's pods from the named Deployment's template
    // (rollout/templateref.go: Deployment, ReplicaSet or PodTemplate of its namespace). Worked by
    // hand: both workloads carry app and tier from that template. Before: the Rollout had only
    // namespace=shop, silently
    const manifests = [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: { name: rollout-ref-deployment, namespace: shop }',
      'spec:',
      '  replicas: 0',
      '  selector: { matchLabels: { app: rollout-ref-deployment } }',
      '  template:',
      '    metadata: { labels: { app: rollout-ref-deployment, tier: web } }',
      '    spec: { containers: [{ name: demo, image: argoproj/rollouts-demo:blue }] }',
      '---',
      'apiVersion: argoproj.io/v1alpha1',
      'kind: Rollout',
      'metadata: { name: rollout-ref-deployment, namespace: shop }',
      'spec:',
      '  selector: { matchLabels: { app: rollout-ref-deployment } }',
      '  workloadRef:',
      '    apiVersion: apps/v1',
      '    kind: Deployment',
      '    name: rollout-ref-deployment',
      '---',
      'apiVersion: argoproj.io/v1alpha1',
      'kind: Rollout',
      'metadata: { name: orphan, namespace: shop }',
      'spec:',
      '  workloadRef: { apiVersion: apps/v1, kind: Deployment, name: not-here }',
      '---',
      'apiVersion: argoproj.io/v1alpha1',
      'kind: Rollout',
      'metadata: { name: stateful, namespace: shop }',
      'spec:',
      '  workloadRef: { apiVersion: apps/v1, kind: StatefulSet, name: db }',
      '',
    ].join('\n')
    const labels = { app: 'rollout-ref-deployment', namespace: 'shop', tier: 'web' }
    expect(summary([{ path: 'ro.yaml', text: manifests }])).toEqual([
      ['shop/orphan[Rollout]', [], { namespace: 'shop' }],
      ['shop/rollout-ref-deployment[Deployment]', [], labels],
      ['shop/rollout-ref-deployment[Rollout]', [], labels],
      ['shop/stateful[Rollout]', [], { namespace: 'shop' }],
    ])
    // at each reference that does not resolve: one not in the input, one of a kind Argo does not read
    expect(load([{ path: 'ro.yaml', text: manifests }]).diagnostics.map(at)).toEqual([
      'warning inventory/unresolved-workload-ref ro.yaml:25:16',
      'warning inventory/unresolved-workload-ref ro.yaml:31:16',
    ])
    // a bad label in the shared template is one error, not one per reader of the template
    const bad = manifests.replace('tier: web }', 'tier: web, version: 1.10 }')
    expect(load([{ path: 'ro.yaml', text: bad }]).diagnostics.map(at)).toEqual([
      'error inventory/bad-label ro.yaml:8:67',
      'warning inventory/unresolved-workload-ref ro.yaml:25:16',
      'warning inventory/unresolved-workload-ref ro.yaml:31:16',
    ])
  })

  it('reads YAML merge keys in manifests as Kubernetes does', () => {
    // modelled on asialeaf/kube-httpserver config/kube-httpserver.yaml
    // (https://github.com/asialeaf/kube-httpserver/blob/main/config/kube-httpserver.yaml): the
    // pod template's labels merge the selector's (`<<: *labels`), which kubectl applies (go-yaml
    // reads merge keys); before, "<<" was a label key and inventory/bad-label refused the file
    const manifest = [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: { name: api, namespace: shop }',
      'spec:',
      '  selector:',
      '    matchLabels: &labels',
      '      app: api',
      '  template:',
      '    metadata:',
      '      labels:',
      '        <<: *labels',
      '        app.kubernetes.io/version: devel',
      '',
    ].join('\n')
    const r = load([{ path: 'api.yaml', text: manifest }])
    expect(r.diagnostics.map(at)).toEqual([])
    expect(summary([{ path: 'api.yaml', text: manifest }])).toEqual([
      [
        'shop/api[Deployment]',
        [],
        { app: 'api', 'app.kubernetes.io/version': 'devel', namespace: 'shop' },
      ],
    ])
  })

  it('a manifest object with only generateName is named after the prefix, with a warning', () => {
    // modelled on kubernetes-sigs/kueue site/static/examples/jobs/sample-job.yaml
    // (https://github.com/kubernetes-sigs/kueue/blob/main/site/static/examples/jobs/sample-job.yaml),
    // a Job for `kubectl create` with `generateName` and no `name` (Argo CD hook Jobs are alike);
    // before, `schema/missing-field` refused the whole inventory
    const manifest = [
      'apiVersion: batch/v1',
      'kind: Job',
      'metadata:',
      '  generateName: load-job-',
      '  namespace: batch',
      '  labels: { team: data }',
      'spec:',
      '  template:',
      '    metadata: { labels: { app: loader } }',
      '    spec: { containers: [{ name: load, image: busybox }], restartPolicy: Never }',
      '---',
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: { name: api, namespace: batch }',
      'spec: { template: { metadata: { labels: { app: api } } } }',
      '',
    ].join('\n')
    const r = load([{ path: 'jobs.yaml', text: manifest }])
    expect(r.diagnostics.map(at)).toEqual(['warning inventory/generated-name jobs.yaml:4:17'])
    expect(r.diagnostics[0]?.message).toContain('batch/load-job-[Job]')
    expect(summary([{ path: 'jobs.yaml', text: manifest }])).toEqual([
      ['batch/api[Deployment]', [], { app: 'api', namespace: 'batch' }],
      ['batch/load-job-[Job]', [], { app: 'loader', namespace: 'batch' }],
    ])
  })

  it('an object with neither name nor generateName is still schema/missing-field', () => {
    const f = list({ apiVersion: 'batch/v1', kind: 'Job', metadata: { namespace: 'ns' } })
    expect(load([{ path: 'k.json', text: f }]).diagnostics.map(at)).toEqual([
      'error schema/missing-field k.json:8:19',
    ])
  })

  it('pods of an owner not in the dump that all give no address name a workload with their labels', () => {
    const ref = {
      ownerReferences: [{ kind: 'ReplicaSet', name: 'web-abc', controller: true }],
      labels: { app: 'web', 'pod-template-hash': 'abc' },
    }
    const f = list(
      pod('web-abc-1', { status: { phase: 'Pending' } }, ref),
      pod('web-abc-2', { status: { phase: 'Pending' } }, ref),
    )
    const r = load([{ path: 'k.json', text: f }])
    expect(summary([{ path: 'k.json', text: f }])).toEqual([
      ['ns/web-abc[ReplicaSet]', [], { app: 'web', namespace: 'ns' }],
    ])
    expect(r.diagnostics.map((d) => d.code).sort()).toEqual([
      'inventory/no-address',
      'inventory/no-address',
      'inventory/unknown-owner',
    ])
  })

  it('drops the labels StatefulSet and Job controllers set per pod or per run, with no warning', () => {
    // Kubernetes "Well-Known Labels": statefulset.kubernetes.io/pod-name and
    // apps.kubernetes.io/pod-index name one replica; job-name, controller-uid and their
    // batch.kubernetes.io/ forms name one run of a CronJob; job-completion-index one pod of it
    const sts = { ownerReferences: [{ kind: 'StatefulSet', name: 'db', controller: true }] }
    const replica = (i: number) =>
      pod(
        `db-${String(i)}`,
        { status: { podIP: `10.1.0.${String(i + 1)}` } },
        {
          ...sts,
          labels: {
            app: 'db',
            'controller-revision-hash': 'db-6c8b9',
            'statefulset.kubernetes.io/pod-name': `db-${String(i)}`,
            'apps.kubernetes.io/pod-index': String(i),
          },
        },
      )
    const job = (run: string) => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: `backup-${run}`,
        namespace: 'ns',
        uid: `u-${run}`,
        ownerReferences: [{ kind: 'CronJob', name: 'backup', controller: true }],
      },
    })
    const runPod = (run: string, ip: string) =>
      pod(
        `backup-${run}-x`,
        { status: { podIP: ip } },
        {
          ownerReferences: [
            { kind: 'Job', name: `backup-${run}`, uid: `u-${run}`, controller: true },
          ],
          labels: {
            app: 'backup',
            'job-name': `backup-${run}`,
            'controller-uid': `u-${run}`,
            'batch.kubernetes.io/job-name': `backup-${run}`,
            'batch.kubernetes.io/controller-uid': `u-${run}`,
            'batch.kubernetes.io/job-completion-index': '0',
          },
        },
      )
    const f = list(
      { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: 'ns' } },
      replica(0),
      replica(1),
      { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'backup', namespace: 'ns' } },
      job('1'),
      job('2'),
      runPod('1', '10.1.0.7'),
      runPod('2', '10.1.0.8'),
    )
    const r = load([{ path: 'k.json', text: f }])
    expect(r.diagnostics.map(at)).toEqual([])
    expect(summary([{ path: 'k.json', text: f }])).toEqual([
      ['ns/backup[CronJob]', ['10.1.0.7', '10.1.0.8'], { app: 'backup', namespace: 'ns' }],
      ['ns/db[StatefulSet]', ['10.1.0.1', '10.1.0.2'], { app: 'db', namespace: 'ns' }],
    ])
  })

  it('drops labels on which replicas disagree, with a warning', () => {
    const ref = { ownerReferences: [{ kind: 'StatefulSet', name: 's', controller: true }] }
    const f = list(
      { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 's', namespace: 'ns' } },
      pod(
        's-0',
        { status: { podIP: '10.1.0.1' } },
        { ...ref, labels: { app: 's', version: 'v1' } },
      ),
      pod(
        's-1',
        { status: { podIP: '10.1.0.2' } },
        { ...ref, labels: { app: 's', version: 'v2' } },
      ),
    )
    const r = load([{ path: 'k.json', text: f }])
    expect(r.diagnostics.map((d) => `${d.severity} ${d.code}`)).toEqual([
      'warning inventory/conflicting-labels',
    ])
    expect(r.inventory.workloads[0]?.labels).toEqual({ app: 's', namespace: 'ns' })
  })

  it.each([
    [
      'bad pod IP',
      list(pod('p', { status: { podIPs: [{ ip: '10.1.0.999' }] } })),
      ['error inventory/bad-address k.json:18:19'],
    ],
    [
      'pod without a name',
      list({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { namespace: 'x' },
        status: { podIP: '10.0.0.1' },
      }),
      ['error schema/missing-field k.json:8:19'],
    ],
    [
      'items not a sequence',
      '{"apiVersion": "v1", "kind": "List",\n "items": {"a": 1}}',
      ['error schema/invalid-value k.json:2:11'],
    ],
    [
      'malformed JSON dump',
      '{"apiVersion": "v1", "kind": "List",\n "items": [ {"kind": "Pod",, } ]}',
      ['error yaml/syntax k.json:2:28'],
    ],
    [
      'malformed YAML dump',
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: [x\n',
      ['error yaml/syntax k.json:5:1'],
    ],
    [
      'bad pod label',
      list(pod('p', {}, { labels: { 'bad key!': 'x' } })),
      ['error inventory/bad-label k.json:12:11'],
    ],
    [
      // the API server takes neither: labels are map[string]string of Kubernetes' syntax
      'YAML number and a label value Kubernetes refuses (s11/hO D2)',
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: shop\n  labels:\n    version: 1.10\n    app: hello world\n    tier: -front-\nstatus: { phase: Running, podIP: 10.244.0.9 }\n',
      [
        'error inventory/bad-label k.json:7:5',
        'error inventory/bad-label k.json:8:5',
        'error inventory/bad-label k.json:9:5',
      ],
    ],
  ])('%s is a located error and nothing is loaded', (_n, text, expected) => {
    const r = load([{ path: 'k.json', text }])
    expect(r.diagnostics.map(at)).toEqual(expected)
    expect(r.inventory.workloads).toEqual([])
  })
})

describe.skipIf(CORPUS_SKIP !== undefined)(corpusTitle('np-guard corpus dumps'), () => {
  const read = (...parts: string[]): SourceFile => ({
    path: parts.join('/'),
    text: readFileSync(join(NPGUARD, ...parts), 'utf8'),
  })

  it('onlineboutique pods.yaml gives exactly the workloads np-guard names in its connlist output', () => {
    const r = load([read('onlineboutique', 'pods.yaml'), read('onlineboutique', 'ns.yaml')])
    expect(
      r.diagnostics.every((d) => d.severity === 'warning' && d.code === 'inventory/unknown-owner'),
    ).toBe(true)
    const conn = JSON.parse(
      readFileSync(join(NPGUARD, 'onlineboutique', 'connlist_output.json'), 'utf8'),
    ) as { src: string; dst: string }[]
    const npguard = new Set(
      conn
        .flatMap((c) => [c.src, c.dst])
        .filter((n) => n.includes('[') && !n.endsWith('[External]') && !/^\d/.test(n)),
    )
    expect(npguard.size).toBeGreaterThan(5)
    const ours = new Set(r.inventory.workloads.map((w) => w.name))
    for (const n of npguard) expect(ours).toContain(n)
    expect(r.inventory.workloads).toHaveLength(12)
    expect(
      r.inventory.workloads.every(
        (w) => w.addresses.length === 1 && w.labels['namespace'] === 'default',
      ),
    ).toBe(true)
  })

  it('reads kubectl JSON PodLists whose items leave out their kind', () => {
    const dir = 'multiple_topology_resources_3'
    const files = readdirSync(join(NPGUARD, dir))
      .filter((f) => f.endsWith('.json'))
      .map((f) => read(dir, f))
    const r = load(files)
    // pods of this dump have no IPs: every one is reported, none is silently dropped
    const pods = (
      JSON.parse(readFileSync(join(NPGUARD, dir, 'pods_list.json'), 'utf8')) as { items: unknown[] }
    ).items.length
    expect(r.diagnostics.filter((d) => d.code === 'inventory/no-address')).toHaveLength(pods)
    expect(r.diagnostics.some((d) => d.severity !== 'warning')).toBe(false)
  })

  it('ipblockstest pods.yaml: replicas joined by ReplicaSet, hash labels dropped', () => {
    const r = load([read('ipblockstest', 'pods.yaml')])
    expect(r.diagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
    const dns = r.inventory.workloads.find(
      (w) => w.name === 'kube-system-dummy-to-ignore/kube-dns-amd64-d66bf76db[ReplicaSet]',
    )
    expect(dns?.addresses.map((a) => a.ip)).toEqual(['172.30.86.185', '172.30.206.149'])
    for (const w of r.inventory.workloads)
      expect(Object.keys(w.labels)).not.toContain('pod-template-hash')
  })
})

describe.skipIf(CORPUS_SKIP !== undefined)(corpusTitle('online-boutique manifests'), () => {
  it('Deployments without pods are workloads with their template labels and no addresses', () => {
    const text = readFileSync(join(BOUTIQUE, 'kubernetes-manifests.yaml'), 'utf8')
    const r = load([{ path: 'kubernetes-manifests.yaml', text }])
    expect(r.diagnostics).toEqual([])
    expect(r.inventory.workloads.map((w) => w.name)).toContain('default/frontend[Deployment]')
    expect(
      r.inventory.workloads.every(
        (w) => w.name.endsWith('[Deployment]') && w.addresses.length === 0,
      ),
    ).toBe(true)
    const fe = r.inventory.workloads.find((w) => w.name === 'default/frontend[Deployment]')
    expect(fe?.labels).toEqual({ app: 'frontend', namespace: 'default' })
  })
})

describe('Kubernetes inventory: owner references (one walk shared with k8s connlist)', () => {
  const rs = (name: string, meta: Record<string, unknown>) => ({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: 'ns', ...meta },
  })
  it('a cycle of owners ends at the last object before it', () => {
    const f = list(
      rs('r', {
        uid: 'u-r',
        ownerReferences: [{ kind: 'Pod', name: 'p', uid: 'u-p', controller: true }],
      }),
      pod(
        'p',
        {},
        {
          uid: 'u-p',
          ownerReferences: [{ kind: 'ReplicaSet', name: 'r', uid: 'u-r', controller: true }],
        },
      ),
    )
    const r = load([{ path: 'k.json', text: f }])
    expect(r.diagnostics.map(at)).toEqual([])
    expect(r.inventory.workloads.map((w) => [w.name, w.addresses.length])).toEqual([
      ['ns/r[ReplicaSet]', 1],
    ])
  })
  it('a pod whose owner references include no controller is its own [Pod] workload', () => {
    // Kubernetes: only the reference with controller: true "points to the managing controller"
    // (OwnerReference); the others only let the garbage collector delete the pod with its owner.
    // np-guard (PodFromCoreObject) follows controller references only and names such a pod
    // ns/<pod>[Pod]. Worked by hand: api-7f-abc and mixed (a GC-only ConfigMap reference before
    // the controller reference) are the Deployment's; debug (a GC-only reference to the same
    // ReplicaSet, labels the ReplicaSet's selector does not match) and step-1 (controller: false
    // to a Workflow not in the dump) are their own. Before 2026-11-24 the first reference was
    // taken: debug joined ns/api[Deployment] (app=api and app=debug: inventory/conflicting-labels)
    // and step-1 was ns/wf[Workflow] with inventory/unknown-owner
    const ref = (kind: string, name: string, uid: string, controller?: boolean) => ({
      apiVersion: kind === 'ReplicaSet' ? 'apps/v1' : 'v1',
      kind,
      name,
      uid,
      ...(controller === undefined ? {} : { controller }),
    })
    const f = list(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'api', namespace: 'ns', uid: 'u-d' },
      },
      rs('api-7f', {
        uid: 'u-rs',
        ownerReferences: [{ ...ref('Deployment', 'api', 'u-d', true), apiVersion: 'apps/v1' }],
      }),
      pod(
        'api-7f-abc',
        { status: { podIP: '10.1.0.1' } },
        {
          labels: { app: 'api' },
          ownerReferences: [ref('ReplicaSet', 'api-7f', 'u-rs', true)],
        },
      ),
      pod(
        'debug',
        { status: { podIP: '10.1.0.2' } },
        {
          ownerReferences: [ref('ReplicaSet', 'api-7f', 'u-rs')],
        },
      ),
      pod(
        'mixed',
        { status: { podIP: '10.1.0.3' } },
        {
          labels: { app: 'api' },
          ownerReferences: [
            ref('ConfigMap', 'cfg', 'u-cm'),
            ref('ReplicaSet', 'api-7f', 'u-rs', true),
          ],
        },
      ),
      pod(
        'step-1',
        { status: { podIP: '10.1.0.4' } },
        {
          ownerReferences: [
            { ...ref('Workflow', 'wf', 'u-wf', false), apiVersion: 'argoproj.io/v1alpha1' },
          ],
        },
      ),
    )
    const r = load([{ path: 'k.json', text: f }])
    expect(r.diagnostics.map(at)).toEqual([])
    expect(summary([{ path: 'k.json', text: f }])).toEqual([
      ['ns/api[Deployment]', ['10.1.0.1', '10.1.0.3'], { app: 'api', namespace: 'ns' }],
      ['ns/debug[Pod]', ['10.1.0.2'], { app: 'debug', namespace: 'ns' }],
      ['ns/step-1[Pod]', ['10.1.0.4'], { app: 'step-1', namespace: 'ns' }],
    ])
  })
  it('finds an owner by uid before its name, and skips a reference without a kind', () => {
    const f = list(
      rs('renamed', { uid: 'u-1' }),
      pod(
        'p',
        {},
        {
          ownerReferences: [
            { name: 'x' },
            { kind: 'ReplicaSet', name: 'old-name', uid: 'u-1', controller: true },
          ],
        },
      ),
      pod(
        'q',
        { status: { podIP: '10.1.0.2' } },
        { ownerReferences: [{ name: 'x', controller: true }] },
      ),
    )
    const r = load([{ path: 'k.json', text: f }])
    expect(r.diagnostics.map(at)).toEqual([])
    expect(r.inventory.workloads.map((w) => w.name)).toEqual([
      'ns/q[Pod]',
      'ns/renamed[ReplicaSet]',
    ])
  })
})

describe('Kubernetes inventory: shapes', () => {
  it('a list item that is a sequence is no object (schema/invalid-value)', () => {
    const r = load([{ path: 'k.json', text: list(['Pod', 'web']) }])
    expect(r.diagnostics.map((d) => d.code)).toEqual(['schema/invalid-value'])
  })
})
