import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { Diagnostic } from '../../src/core/index.js'
import {
  analyzeDocuments,
  formatK8sConnlist,
  kubernetesObjects,
  podsAndNamespaces,
} from '../../src/kubernetes/index.js'

/** The (pod, workload) pairs of a JSON list of objects in namespace `ns`. */
function workloads(items: unknown[]): { pods: string[][]; diagnostics: Diagnostic[] } {
  const sink: Diagnostic[] = []
  const text = JSON.stringify({ apiVersion: 'v1', kind: 'List', items })
  const { pods } = podsAndNamespaces(kubernetesObjects([{ path: 'k.json', text }], sink))
  return { pods: pods.map((p) => [p.name, p.workload]), diagnostics: sink }
}
const obj = (kind: string, name: string, meta: Record<string, unknown> = {}) => ({
  apiVersion: kind === 'Pod' ? 'v1' : 'apps/v1',
  kind,
  metadata: { name, namespace: 'ns', ...meta },
})

/**
 * test/fixtures/k8s-gc-owner: a dump of namespace `ns`: Deployment api, its ReplicaSet and pod
 * (controller references), a pod `debug` whose only owner reference (to that ReplicaSet) has no
 * `controller: true`, and a NetworkPolicy isolating api for ingress, open to debug on TCP 8080.
 */
const GC_ONLY_OWNER = (
  JSON.parse(
    readFileSync(new URL('../fixtures/k8s-gc-owner/dump.json', import.meta.url), 'utf8'),
  ) as { items: unknown[] }
).items

describe('k8s connlist: owner references (one walk shared with the inventory)', () => {
  it('a cycle of owners names the workload after the reference that closes it', () => {
    const r = workloads([
      obj('ReplicaSet', 'r', {
        uid: 'u-r',
        ownerReferences: [{ kind: 'Pod', name: 'p', uid: 'u-p', controller: true }],
      }),
      obj('Pod', 'p', {
        uid: 'u-p',
        ownerReferences: [{ kind: 'ReplicaSet', name: 'r', uid: 'u-r', controller: true }],
      }),
    ])
    expect(r.diagnostics).toEqual([])
    // from the Pod, the reference back to it; the ReplicaSet is its own top owner (from it, the
    // reference back to it), with no Pod of that name, so it gives a template pod
    expect(r.pods).toEqual([
      ['p', 'ns/p[Pod]'],
      ['r', 'ns/r[ReplicaSet]'],
    ])
  })
  it('a pod whose owner references include no controller is its own [Pod] workload', () => {
    // Kubernetes: only a reference with controller: true points to the managing controller; the
    // others are for garbage collection. np-guard (PodFromCoreObject) follows controller
    // references only. Worked by hand: debug (a GC-only reference to api's ReplicaSet) is
    // ns/debug[Pod], not isolated; api is isolated for ingress, open to debug on TCP 8080 only.
    // Before 2026-11-24 debug was a pod of ns/api[Deployment] (the first reference), which the
    // world then reached through debug's pod
    const r = workloads(GC_ONLY_OWNER.slice(0, 4))
    expect(r.diagnostics).toEqual([])
    expect(r.pods).toEqual([
      ['api-7f-abc', 'ns/api[Deployment]'],
      ['debug', 'ns/debug[Pod]'],
    ])
    const a = analyzeDocuments(GC_ONLY_OWNER)
    expect(a.diagnostics).toEqual([])
    expect(formatK8sConnlist(a.connections, 'txt').trim().split('\n')).toEqual([
      '0.0.0.0-255.255.255.255[External] => ns/debug[Pod] : All Connections',
      'ns/api[Deployment] => 0.0.0.0-255.255.255.255[External] : All Connections',
      'ns/api[Deployment] => ns/debug[Pod] : All Connections',
      'ns/debug[Pod] => 0.0.0.0-255.255.255.255[External] : All Connections',
      'ns/debug[Pod] => ns/api[Deployment] : TCP 8080',
    ])
  })
  it('finds an owner by uid before its name; a reference without a kind is a Pod', () => {
    expect(
      workloads([
        obj('ReplicaSet', 'renamed', { uid: 'u-1' }),
        obj('Pod', 'a', {
          ownerReferences: [{ kind: 'ReplicaSet', name: 'old', uid: 'u-1', controller: true }],
        }),
        obj('Pod', 'b', {
          ownerReferences: [
            { name: 'x', controller: true },
            { kind: 'ReplicaSet', name: 'y' },
          ],
        }),
      ]).pods,
    ).toEqual([
      ['a', 'ns/renamed[ReplicaSet]'],
      ['b', 'ns/x[Pod]'],
    ])
  })
})

/** A KubeVirt VirtualMachine in namespace `ns` whose VMI carries `labels`. */
const vm = (name: string, labels: Record<string, string>) => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name, namespace: 'ns' },
  spec: { running: true, template: { metadata: { labels }, spec: { domain: { devices: {} } } } },
})

describe('k8s connlist: an object named only by generateName', () => {
  it('is the workload of its prefix, with a warning, as the inventory names it', () => {
    // modelled on kubernetes-sigs/kueue site/static/examples/jobs/sample-job.yaml
    // (https://github.com/kubernetes-sigs/kueue/blob/main/site/static/examples/jobs/sample-job.yaml);
    // before, `k8s/bad-object` (an error) refused the manifests
    const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { generateName: 'load-' } }
    const r = workloads([job, obj('Deployment', 'api')])
    expect(r.pods).toEqual([
      ['load-', 'default/load-[Job]'],
      ['api', 'ns/api[Deployment]'],
    ])
    expect(r.diagnostics.map((d) => `${d.severity} ${d.code}`)).toEqual([
      'warning inventory/generated-name',
    ])
  })

  it('a Namespace without a name, or an object with neither, is still k8s/bad-object', () => {
    const r = workloads([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { generateName: 'ns-' } },
      { apiVersion: 'batch/v1', kind: 'Job', metadata: {} },
    ])
    expect(r.diagnostics.map((d) => `${d.severity} ${d.code}`)).toEqual([
      'error k8s/bad-object',
      'error k8s/bad-object',
    ])
  })
})

describe('k8s connlist: Argo Rollouts', () => {
  it("a Rollout is a workload with its template's pod; another group's Rollout is no object", () => {
    // modelled on argoproj/argo-rollouts examples/rollout-canary.yaml
    // (https://github.com/argoproj/argo-rollouts/blob/master/examples/rollout-canary.yaml);
    // before: k8s/no-workloads
    const rollout = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'canary', namespace: 'ns' },
      spec: { template: { metadata: { labels: { app: 'canary' } } } },
    }
    const other = { apiVersion: 'dbops.example.com/v1', kind: 'Rollout', metadata: { name: 'x' } }
    const r = workloads([rollout, other])
    expect(r.diagnostics).toEqual([])
    expect(r.pods).toEqual([['canary', 'ns/canary[Rollout]']])
  })

  it("a Rollout with workloadRef takes the referenced Deployment's template; unresolved: a warning", () => {
    // the Rollout of argo-rollouts docs/migrating.md ("Reference Deployment From Rollout"): no
    // spec.template, spec.workloadRef names a Deployment of its namespace, whose template the
    // controller makes the pods from (rollout/templateref.go). Worked by hand: both workloads'
    // pods carry app=rollout-ref-deployment, so the policy isolates both for ingress; each still
    // reaches out. Before: the Rollout's pod had no labels, the policy did not select it, and
    // External => Rollout and Deployment => Rollout were listed
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'rollout-ref-deployment', namespace: 'ns' },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'rollout-ref-deployment' } },
        template: {
          metadata: { labels: { app: 'rollout-ref-deployment' } },
          spec: { containers: [{ name: 'demo', ports: [{ containerPort: 8080 }] }] },
        },
      },
    }
    const rollout = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'rollout-ref-deployment', namespace: 'ns' },
      spec: {
        replicas: 5,
        selector: { matchLabels: { app: 'rollout-ref-deployment' } },
        workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'rollout-ref-deployment' },
        strategy: { canary: { steps: [{ setWeight: 20 }] } },
      },
    }
    const isolate = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'deny-in', namespace: 'ns' },
      spec: {
        podSelector: { matchLabels: { app: 'rollout-ref-deployment' } },
        policyTypes: ['Ingress'],
      },
    }
    const a = analyzeDocuments([deployment, rollout, isolate])
    expect(a.diagnostics).toEqual([])
    // a bad label in the shared template is one error, not one per reader of the template
    const badLabel = {
      ...deployment,
      spec: {
        ...deployment.spec,
        template: { ...deployment.spec.template, metadata: { labels: { app: 'x', v: 1.1 } } },
      },
    }
    expect(
      workloads([badLabel, rollout]).diagnostics.map((d) => `${d.severity} ${d.code}`),
    ).toEqual(['error k8s/bad-object'])
    expect(formatK8sConnlist(a.connections, 'txt').trim().split('\n')).toEqual([
      'ns/rollout-ref-deployment[Deployment] => 0.0.0.0-255.255.255.255[External] : All Connections',
      'ns/rollout-ref-deployment[Rollout] => 0.0.0.0-255.255.255.255[External] : All Connections',
    ])
    // the reference not in the input: the Rollout's pod has no labels, with a warning there
    const orphan = { ...rollout, metadata: { name: 'orphan', namespace: 'ns' } }
    const r = workloads([orphan])
    expect(r.pods).toEqual([['orphan', 'ns/orphan[Rollout]']])
    // at the reference: the column of its value in the one-line JSON list
    const text = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [orphan] })
    const column = text.indexOf('{"apiVersion":"apps/v1"') + 1
    expect(
      r.diagnostics.map((d) => [d.severity, d.code, d.location?.line, d.location?.column]),
    ).toEqual([['warning', 'inventory/unresolved-workload-ref', 1, column]])
  })
})

describe('k8s connlist: OpenShift DeploymentConfig', () => {
  it('a DeploymentConfig is a workload with its template pod, and names the pods of its ReplicationControllers', () => {
    // openshift/origin test/extended/testdata/deployments/deployment-simple.yaml; before,
    // k8s/no-workloads for the manifest alone
    const dc = {
      apiVersion: 'apps.openshift.io/v1',
      kind: 'DeploymentConfig',
      metadata: { name: 'deployment-simple', namespace: 'ns', uid: 'u-dc' },
      spec: { template: { metadata: { labels: { name: 'deployment-simple' } } } },
    }
    const other = {
      apiVersion: 'example.com/v1',
      kind: 'DeploymentConfig',
      metadata: { name: 'x' },
    }
    const alone = workloads([dc, other])
    expect(alone.diagnostics).toEqual([])
    expect(alone.pods).toEqual([['deployment-simple', 'ns/deployment-simple[DeploymentConfig]']])
    const rc = obj('ReplicationController', 'deployment-simple-1', {
      uid: 'u-rc',
      ownerReferences: [
        { kind: 'DeploymentConfig', name: 'deployment-simple', uid: 'u-dc', controller: true },
      ],
    })
    const p = obj('Pod', 'deployment-simple-1-abcde', {
      labels: { name: 'deployment-simple', deployment: 'deployment-simple-1' },
      ownerReferences: [
        {
          kind: 'ReplicationController',
          name: 'deployment-simple-1',
          uid: 'u-rc',
          controller: true,
        },
      ],
    })
    const dump = workloads([dc, rc, p])
    expect(dump.diagnostics).toEqual([])
    expect(dump.pods).toEqual([
      ['deployment-simple-1-abcde', 'ns/deployment-simple[DeploymentConfig]'],
    ])
  })

  it('the deployer and hook pods of a revision are their own [Pod] workloads, not the DeploymentConfig', () => {
    // as origin's deployer controller (makeDeployerPod) and library-go's createHookPodManifest
    // make them: label openshift.io/deployer-pod-for.name=<rc>; the deployer's reference to the
    // ReplicationController has no controller: true, a hook pod has no reference. np-guard, which
    // follows controller references only, names them ns/<pod>[Pod] too. Before: the deployer pod
    // was a pod of ns/deployment-simple[DeploymentConfig], with a k8s/conflicting-labels warning
    const rc = obj('ReplicationController', 'deployment-simple-1', {
      uid: 'u-rc',
      ownerReferences: [
        { kind: 'DeploymentConfig', name: 'deployment-simple', uid: 'u-dc', controller: true },
      ],
    })
    const dc = {
      apiVersion: 'apps.openshift.io/v1',
      kind: 'DeploymentConfig',
      metadata: { name: 'deployment-simple', namespace: 'ns', uid: 'u-dc' },
    }
    const process = { 'openshift.io/deployer-pod-for.name': 'deployment-simple-1' }
    const deployer = obj('Pod', 'deployment-simple-1-deploy', {
      labels: process,
      annotations: { 'openshift.io/deployment.name': 'deployment-simple-1' },
      ownerReferences: [
        {
          apiVersion: 'v1',
          kind: 'ReplicationController',
          name: 'deployment-simple-1',
          uid: 'u-rc',
        },
      ],
    })
    const hook = obj('Pod', 'deployment-simple-1-hook-pre', {
      labels: { ...process, 'openshift.io/deployer-pod.type': 'hook-pre' },
    })
    const r = workloads([dc, rc, deployer, hook])
    expect(r.diagnostics).toEqual([])
    expect(r.pods).toEqual([
      ['deployment-simple-1-deploy', 'ns/deployment-simple-1-deploy[Pod]'],
      ['deployment-simple-1-hook-pre', 'ns/deployment-simple-1-hook-pre[Pod]'],
      ['deployment-simple', 'ns/deployment-simple[DeploymentConfig]'],
    ])
  })
})

describe('k8s connlist: KubeVirt VirtualMachine (np-guard case virtual_machines_example)', () => {
  it('a VirtualMachine is a workload with its template labels', () => {
    const r = workloads([vm('vm1', { os: 'linux' })])
    expect(r.diagnostics).toEqual([])
    expect(r.pods).toEqual([['vm1', 'ns/vm1[VirtualMachine]']])
  })
  it('its virt-launcher pod (owned by the VMI of the same name) is the same workload', () => {
    const launcher = obj('Pod', 'virt-launcher-vm1-abcde', {
      labels: { os: 'linux' },
      ownerReferences: [{ kind: 'VirtualMachineInstance', name: 'vm1', controller: true }],
    })
    expect(workloads([vm('vm1', { os: 'linux' }), launcher]).pods).toEqual([
      ['virt-launcher-vm1-abcde', 'ns/vm1[VirtualMachine]'],
    ])
    // without the VirtualMachine in the input, the pod is named after its VMI
    expect(workloads([launcher]).pods).toEqual([
      ['virt-launcher-vm1-abcde', 'ns/vm1[VirtualMachineInstance]'],
    ])
  })
  it('a NetworkPolicy selects a VM by its template labels', () => {
    const policy = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'p', namespace: 'ns' },
      spec: {
        podSelector: { matchLabels: { size: 'small' } },
        policyTypes: ['Ingress'],
        ingress: [{ ports: [{ protocol: 'TCP', port: 22 }] }],
      },
    }
    const a = analyzeDocuments([vm('a', { size: 'small' }), vm('b', { size: 'big' }), policy])
    expect(formatK8sConnlist(a.connections, 'txt').trim().split('\n')).toEqual([
      '0.0.0.0-255.255.255.255[External] => ns/a[VirtualMachine] : TCP 22',
      '0.0.0.0-255.255.255.255[External] => ns/b[VirtualMachine] : All Connections',
      'ns/a[VirtualMachine] => 0.0.0.0-255.255.255.255[External] : All Connections',
      'ns/a[VirtualMachine] => ns/b[VirtualMachine] : All Connections',
      'ns/b[VirtualMachine] => 0.0.0.0-255.255.255.255[External] : All Connections',
      'ns/b[VirtualMachine] => ns/a[VirtualMachine] : TCP 22',
    ])
  })
})
