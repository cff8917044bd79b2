/**
 * @module Inventory from Kubernetes: manifests, or `kubectl get pods,deployments,replicasets,
 * statefulsets,daemonsets,namespaces -o json|yaml` dumps (a `kind: List` / `PodList` with
 * `items`, or multi-document YAML), across any number of files.
 *
 * Every Pod with an IP becomes an address of the workload named after its top owner, as
 * np-guard's netpol-analyzer names workloads: `namespace/name[Kind]`. The owner walk
 * ({@link OwnerIndex}, {@link controllerOwner}, {@link workloadName}) is shared with the
 * Kubernetes connectivity analysis (src/kubernetes/manifests.ts), which names workloads alike.
 *
 * @remarks Sources: DESIGN.md "Workspace, inventory and enforcement files"; Kubernetes
 * `ownerReferences` (https://kubernetes.io/docs/concepts/overview/working-with-objects/owners-dependents/),
 * `status.podIPs` (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#PodStatus);
 * np-guard/netpol-analyzer workload names (`tests/onlineboutique/connlist_output.json`).
 */
import {
  checkLabelKey,
  checkKubernetesLabelValue,
  diagnostic,
  labelSet,
  normalizeIp,
  type Diagnostic,
  type LabelOrigin,
  type SourceLocation,
  type TimedAddress,
  type Workload,
} from '../../core/index.js'
import { isMapping, type YamlDoc, type YamlPath } from '../../core/yaml-source.js'

/** The label origin recorded for labels read from Kubernetes objects. */
export const KUBERNETES_ORIGIN: LabelOrigin = 'source:kubernetes'

/**
 * Pod labels that controllers add per revision; dropped so that replicas of one owner across
 * revisions share one label set. `rollouts-pod-template-hash` is Argo Rollouts' counterpart of
 * `pod-template-hash` (https://argo-rollouts.readthedocs.io/en/stable/features/specification/).
 */
export const DROPPED_POD_LABELS: readonly string[] = [
  'pod-template-hash',
  'controller-revision-hash',
  'pod-template-generation',
  'rollouts-pod-template-hash',
]

/**
 * Pod labels that the StatefulSet and Job controllers set per pod or per run, so that replicas
 * of one workload, or the runs of one CronJob, never agree on them: a StatefulSet replica's name
 * and ordinal, a Job's name and uid (a new Job for each run of a CronJob), an indexed Job pod's
 * completion index. Dropped from the inventory's labels with {@link DROPPED_POD_LABELS}, where
 * they would otherwise be left out with an `inventory/conflicting-labels` warning on every
 * StatefulSet of two replicas. The workload name already says which StatefulSet, Job or CronJob.
 * @remarks Source: Kubernetes "Well-Known Labels, Annotations and Taints"
 * (https://kubernetes.io/docs/reference/labels-annotations-taints/).
 */
export const PER_POD_LABELS: readonly string[] = [
  'statefulset.kubernetes.io/pod-name',
  'apps.kubernetes.io/pod-index',
  'job-name',
  'controller-uid',
  'batch.kubernetes.io/job-name',
  'batch.kubernetes.io/controller-uid',
  'batch.kubernetes.io/job-completion-index',
]

/**
 * Labels that OpenShift's DeploymentConfig controller sets per revision on the pods (and the
 * selector) of each ReplicationController it makes: `deployment` is the controller's name
 * (`frontend-2`), while `deploymentconfig` (the DeploymentConfig's name) is the same for every
 * revision and is kept (openshift/library-go `pkg/apps/appsutil/util.go` `MakeDeployment`:
 * `podLabels[DeploymentConfigLabel] = config.Name; podLabels[DeploymentLabel] = deploymentName`).
 * Dropped only from workloads named `[DeploymentConfig]` ({@link dropRevisionLabels}):
 * elsewhere `deployment` is a label users write.
 */
export const DEPLOYMENT_CONFIG_REVISION_LABELS: readonly string[] = ['deployment']

/**
 * `labels` without the labels the workload `workload` (`ns/name[Kind]`) sets per revision
 * beyond {@link DROPPED_POD_LABELS}: {@link DEPLOYMENT_CONFIG_REVISION_LABELS} for a
 * DeploymentConfig. Returns `labels` itself when nothing is dropped.
 */
export function dropRevisionLabels(
  workload: string,
  labels: Record<string, string>,
): Record<string, string> {
  if (!workload.endsWith('[DeploymentConfig]')) return labels
  return Object.fromEntries(
    Object.entries(labels).filter(([k]) => !DEPLOYMENT_CONFIG_REVISION_LABELS.includes(k)),
  )
}

/**
 * `labels` with `namespace: <namespace>` (DESIGN.md: "`namespace` becomes a label"), which wins
 * over a label of that name: a pod label `namespace` of another value is reported at `path` (the
 * labels' mapping) as an `inventory/bad-label` warning, not lost unsaid, as a cloud tag whose key
 * the source sets itself is.
 */
function namespaced(
  labels: Record<string, string>,
  namespace: string,
  doc: YamlDoc,
  path: YamlPath,
): Record<string, string> {
  const own = labels['namespace']
  if (own !== undefined && own !== namespace)
    doc.report(
      'inventory/bad-label',
      `label namespace=${own} gives way to the label namespace=${namespace} that every workload of namespace ${namespace} gets`,
      [...path, 'namespace'],
      { severity: 'warning' },
    )
  return { ...labels, namespace }
}

/**
 * Kinds that run pods from a template, and so name a workload when they are the top owner
 * (`spec.template`, or `spec.jobTemplate.spec.template` for a CronJob: {@link podTemplatePath}).
 * `Rollout` is Argo Rollouts' replacement for a Deployment (`argoproj.io`; its ReplicaSets own
 * the pods, https://argo-rollouts.readthedocs.io/en/stable/features/specification/); a `Rollout`
 * of another API group is no workload ({@link isWorkloadObject}). `DeploymentConfig` is
 * OpenShift's (`apps.openshift.io/v1`, or the legacy `v1` of OpenShift 3): it makes one
 * ReplicationController per revision, which owns the pods
 * (https://docs.redhat.com/en/documentation/openshift_container_platform/4.13/html/building_applications/deployments).
 */
export const WORKLOAD_KINDS: ReadonlySet<string> = new Set([
  'Deployment',
  'ReplicaSet',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
  'ReplicationController',
  'Rollout',
  'DeploymentConfig',
])

/** The API group of Argo Rollouts' `Rollout`. */
const ARGO_ROLLOUTS_GROUP = 'argoproj.io/'
/** The API group of OpenShift's `DeploymentConfig`. */
const OPENSHIFT_APPS_GROUP = 'apps.openshift.io/'

/**
 * True when an object of kind `kind` and `apiVersion` is a workload object: its kind is in
 * {@link WORKLOAD_KINDS}, a `Rollout` is Argo Rollouts' (`argoproj.io/...`) and a
 * `DeploymentConfig` OpenShift's (`apps.openshift.io/...`, or `v1` as OpenShift 3 served it).
 */
export function isWorkloadObject(kind: string, apiVersion: unknown): boolean {
  if (!WORKLOAD_KINDS.has(kind)) return false
  const version = typeof apiVersion === 'string' ? apiVersion : ''
  if (kind === 'Rollout') return version.startsWith(ARGO_ROLLOUTS_GROUP)
  if (kind === 'DeploymentConfig')
    return version.startsWith(OPENSHIFT_APPS_GROUP) || version === 'v1'
  return true
}

/** Where the pod template of a {@link WORKLOAD_KINDS} object is, by kind. */
export function podTemplatePath(kind: string): YamlPath {
  return kind === 'CronJob' ? ['spec', 'jobTemplate', 'spec', 'template'] : ['spec', 'template']
}

/**
 * The label OpenShift sets on the pods of a DeploymentConfig's deployment process, valued the
 * name of the ReplicationController (revision) they deploy: the deployer pod `<rc>-deploy` and
 * the lifecycle hook pods `<rc>-hook-pre`, `-mid`, `-post` (openshift/api apps/v1
 * `DeployerPodForDeploymentLabel`: "The deployer pod and hook pods created by the internal
 * strategies will have this label"; openshift/library-go `createHookPodManifest`, origin's
 * deployer controller `makeDeployerPod`). Such a pod runs the deployment, not the application:
 * it has none of the template's labels, and its owner reference to the ReplicationController
 * (the deployer pod's; a hook pod has none) is not a controller reference but lets the garbage
 * collector remove it with the revision. It is its own workload, `ns/<pod>[Pod]`, as np-guard's
 * netpol-analyzer names it (it follows `controller: true` references only).
 */
export const DEPLOYER_POD_LABEL = 'openshift.io/deployer-pod-for.name'

/**
 * True when the Pod metadata `meta` carries {@link DEPLOYER_POD_LABEL}: an OpenShift deployer or
 * lifecycle hook pod, whose owner reference does not make it one of the DeploymentConfig's pods.
 */
export function isDeploymentProcessPod(meta: unknown): boolean {
  const labels = isMapping(meta) ? meta['labels'] : undefined
  return isMapping(labels) && labels[DEPLOYER_POD_LABEL] !== undefined
}

/**
 * The kinds an Argo Rollouts `Rollout`'s `spec.workloadRef` may name, with where their pod
 * template is (argoproj/argo-rollouts `rollout/templateref.go` `infoByGroupKind`: `apps`
 * Deployment and ReplicaSet at `spec.template`, core PodTemplate at `template`).
 */
const WORKLOAD_REF_TEMPLATES: ReadonlyMap<string, YamlPath> = new Map<string, YamlPath>([
  ['Deployment', ['spec', 'template']],
  ['ReplicaSet', ['spec', 'template']],
  ['PodTemplate', ['template']],
])

/** Where a workload object's pod template is: in object `obj`, at `path` (relative to it). */
export interface PodTemplateAt {
  readonly obj: KubernetesObject
  readonly path: YamlPath
}

/**
 * The pod templates of workload objects. A workload object's template is its own
 * ({@link podTemplatePath}), except for an Argo Rollouts `Rollout` with `spec.workloadRef`
 * (https://argo-rollouts.readthedocs.io/en/stable/migrating/: "Reference an existing Deployment
 * from a Rollout using workloadRef"), whose pods are made from the template of the object it
 * names: a Deployment, ReplicaSet or PodTemplate of the Rollout's namespace, found among the
 * objects given (any file). The Rollout's own `spec.selector` (else the referenced object's) only
 * chooses its pods; their labels are the template's.
 */
export class PodTemplates {
  private byKey: Map<string, KubernetesObject> | undefined

  /** @param objects - every Kubernetes object of the input, where a `workloadRef` is looked up. */
  constructor(private readonly objects: readonly KubernetesObject[]) {}

  /**
   * The pod template of `o`, or undefined for a Rollout whose `workloadRef` names a kind Argo
   * Rollouts does not read or an object not in the input: then an
   * `inventory/unresolved-workload-ref` warning at the reference says its pods' labels are
   * unknown. Call once per object (each call that fails reports).
   */
  of(o: OwnedObject): PodTemplateAt | undefined {
    const spec = o.obj.value['spec']
    const ref = o.kind === 'Rollout' && isMapping(spec) ? spec['workloadRef'] : undefined
    if (!isMapping(ref)) return { obj: o.obj, path: podTemplatePath(o.kind) }
    const kind = str(ref['kind'])
    const name = str(ref['name'])
    const self = workloadName(o.namespace, o.kind, o.name)
    const unresolved = (why: string, hint: string): void => {
      o.obj.doc.report(
        'inventory/unresolved-workload-ref',
        `the workloadRef of ${self} ${why}; its pods' labels are unknown, so the workload has only the namespace label`,
        [...o.obj.path, 'spec', 'workloadRef'],
        { severity: 'warning', hint },
      )
    }
    const path = kind === undefined ? undefined : WORKLOAD_REF_TEMPLATES.get(kind)
    if (kind === undefined || name === undefined || path === undefined) {
      unresolved(
        kind === undefined || name === undefined
          ? 'has no kind or no name'
          : `names a ${kind}, which Argo Rollouts does not take a pod template from`,
        "a workloadRef names a Deployment, ReplicaSet or PodTemplate of the Rollout's namespace by kind and name",
      )
      return undefined
    }
    const found = this.index().get(workloadName(o.namespace, kind, name))
    if (!found) {
      unresolved(
        `names ${workloadName(o.namespace, kind, name)}, which is not in the input`,
        `give the ${kind} with the Rollout: kubectl get rollouts,${kind.toLowerCase()}s -o yaml`,
      )
      return undefined
    }
    return { obj: found, path }
  }

  /** The objects of the kinds a workloadRef may name, by `namespace/name[Kind]` (built once). */
  private index(): Map<string, KubernetesObject> {
    if (this.byKey) return this.byKey
    const m = new Map<string, KubernetesObject>()
    for (const obj of this.objects) {
      const kind = obj.value['kind']
      const meta = obj.value['metadata']
      if (typeof kind !== 'string' || !WORKLOAD_REF_TEMPLATES.has(kind) || !isMapping(meta))
        continue
      const name = str(meta['name'])
      if (name === undefined) continue
      const key = workloadName(str(meta['namespace']) ?? 'default', kind, name)
      if (!m.has(key)) m.set(key, obj)
    }
    this.byKey = m
    return m
  }
}

/** One Kubernetes object found in an inventory file, with where it is. */
export interface KubernetesObject {
  readonly doc: YamlDoc
  /** Path of the object inside its document: `[]` or `['items', i]`. */
  readonly path: YamlPath
  readonly value: Record<string, unknown>
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined
}

/**
 * True when a parsed document is a Kubernetes object or list rather than a Bulkhead document:
 * a mapping with a text `kind` and an `apiVersion` that does not start with `bulkhead.dev/`, and
 * whose kind is not one of Bulkhead's (so a misspelt Bulkhead apiVersion is still reported by
 * the Bulkhead loader).
 */
export function isKubernetesDocument(value: unknown, bulkheadKinds: readonly string[]): boolean {
  if (!isMapping(value)) return false
  const kind = value['kind']
  const apiVersion = value['apiVersion']
  return (
    typeof kind === 'string' &&
    typeof apiVersion === 'string' &&
    !apiVersion.startsWith('bulkhead.dev/') &&
    !bulkheadKinds.includes(kind)
  )
}

/**
 * Collects the objects of a Kubernetes document into `into`: the document itself, or each
 * element of `items` when its kind ends in `List` (`List`, `PodList`, `DeploymentList`, ...; an
 * item of a typed list without a `kind` gets the list's: `Pod` in a `PodList`).
 * `items` that is not a sequence, or an item that is not a mapping, is `schema/invalid-value`.
 */
export function collectKubernetesObjects(d: YamlDoc, into: KubernetesObject[]): void {
  const value = d.value as Record<string, unknown>
  const kind = value['kind'] as string
  if (!kind.endsWith('List')) {
    into.push({ doc: d, path: [], value })
    return
  }
  const items = value['items']
  if (items === undefined || items === null) return
  if (!Array.isArray(items)) {
    d.report('schema/invalid-value', `"items" of a ${kind} must be a sequence`, ['items'])
    return
  }
  items.forEach((item, i) => {
    if (!isMapping(item)) {
      d.report('schema/invalid-value', 'a list item must be a Kubernetes object', ['items', i])
      return
    }
    // items of a typed list (`PodList`) may leave out their kind
    const typed = typeof item['kind'] === 'string' || kind === 'List'
    const value = typed ? item : { ...item, kind: kind.slice(0, -'List'.length) }
    into.push({ doc: d, path: ['items', i], value })
  })
}

/** A controller owner reference: what `metadata.ownerReferences` names. */
export interface OwnerReference {
  readonly kind: string
  readonly name: string
  readonly uid: string | undefined
}

/** A Kubernetes object as the owner walk ({@link OwnerIndex}) sees it. */
export interface OwnedObject {
  readonly obj: KubernetesObject
  readonly kind: string
  readonly name: string
  /** `metadata.namespace`, `default` when absent. */
  readonly namespace: string
  readonly uid: string | undefined
  readonly owner: OwnerReference | undefined
}

/** A workload's name as np-guard's netpol-analyzer prints it: `namespace/name[Kind]`. */
export function workloadName(namespace: string, kind: string, name: string): string {
  return `${namespace}/${name}[${kind}]`
}

/**
 * The `inventory/generated-name` warning, at `metadata.generateName` of the object at `path`: it
 * has no name, only the prefix the API server completes on creation, and its workload is named
 * after the prefix (the inventory and the `k8s` verbs alike).
 */
export function reportGeneratedName(
  doc: YamlDoc,
  path: YamlPath,
  namespace: string,
  kind: string,
  prefix: string,
): void {
  doc.report(
    'inventory/generated-name',
    `this ${kind} has no name, only the prefix generateName "${prefix}" that the API server completes when it is created; the workload is named ${workloadName(namespace, kind, prefix)}`,
    [...path, 'metadata', 'generateName'],
    { severity: 'warning' },
  )
}

/**
 * The controller reference of an object's `metadata`: the owner reference with
 * `controller: true`, the one owner that manages the object; only references that are mappings
 * with a non-empty `name` count. Without one the object has no owner and is its own workload
 * (a pod: `ns/pod[Pod]`): references without `controller: true` only let the garbage collector
 * delete the object with its owners (Kubernetes "Owners and Dependents", and ObjectMeta's
 * `ownerReferences`: "There cannot be more than one managing controller"), and np-guard's
 * netpol-analyzer (`PodFromCoreObject`) follows controller references only. Before 2026-11-24
 * the first reference was taken when none was the controller.
 *
 * A reference without a `kind` is skipped when `defaultKind` is undefined, else taken as of that
 * kind (np-guard names its workload `[Pod]`). A `uid` that is not a non-empty string is
 * undefined. A `Node` owner is no owner: it is how the kubelet marks a static pod's mirror pod
 * (https://kubernetes.io/docs/concepts/workloads/pods/static-pods/), which is its own workload
 * (`kube-system/etcd-minikube[Pod]`), as np-guard's `addPodOwner` skips Node owners.
 */
export function controllerOwner(meta: unknown, defaultKind?: string): OwnerReference | undefined {
  const refs = isMapping(meta) ? meta['ownerReferences'] : undefined
  if (!Array.isArray(refs)) return undefined
  const good = refs.filter(
    (r): r is Record<string, unknown> =>
      isMapping(r) && !!str(r['name']) && (defaultKind !== undefined || !!str(r['kind'])),
  )
  const ref = good.find((r) => r['controller'] === true)
  if (!ref || ref['kind'] === 'Node') return undefined
  return {
    kind: str(ref['kind']) ?? (defaultKind as string),
    name: ref['name'] as string,
    uid: str(ref['uid']),
  }
}

/**
 * Where following owner references from an object ends: at an object without owner (`top`), at
 * an object whose owner is not in the input (`missing`: `last` and its reference `ref`), or at
 * an object whose owner was already passed (`cycle`: `last`, its reference `ref`, and the object
 * `next` that reference found).
 */
export type OwnerChainEnd =
  | { readonly end: 'top'; readonly top: OwnedObject }
  | { readonly end: 'missing'; readonly last: OwnedObject; readonly ref: OwnerReference }
  | {
      readonly end: 'cycle'
      readonly last: OwnedObject
      readonly ref: OwnerReference
      readonly next: OwnedObject
    }

/**
 * The objects of an input by `uid` and by namespace, kind and name, to follow owner references
 * the way Kubernetes' garbage collector names owners (a reference holds the owner's `uid`;
 * namespaced owners are in the dependent's namespace). Objects without `uid` (plain manifests)
 * are found by name.
 * @see https://kubernetes.io/docs/concepts/overview/working-with-objects/owners-dependents/
 */
export class OwnerIndex {
  private readonly byKey = new Map<string, OwnedObject>()
  private readonly byUid = new Map<string, OwnedObject>()

  /**
   * Adds `o`, unless an object of the same namespace, kind and name is already in: then `o` is
   * not added and that earlier object is returned (the caller reports the duplicate).
   */
  add(o: OwnedObject): OwnedObject | undefined {
    const k = workloadName(o.namespace, o.kind, o.name)
    const prior = this.byKey.get(k)
    if (prior) return prior
    this.byKey.set(k, o)
    if (o.uid) this.byUid.set(o.uid, o)
    return undefined
  }

  /** Follows owner references from `start` (by `uid`, else by namespace, kind and name) to where they end. */
  walk(start: OwnedObject): OwnerChainEnd {
    let cur = start
    const seen = new Set<OwnedObject>([start])
    for (;;) {
      const ref = cur.owner
      if (!ref) return { end: 'top', top: cur }
      const next =
        (ref.uid ? this.byUid.get(ref.uid) : undefined) ??
        this.byKey.get(workloadName(cur.namespace, ref.kind, ref.name))
      if (!next) return { end: 'missing', last: cur, ref }
      if (seen.has(next)) return { end: 'cycle', last: cur, ref, next }
      seen.add(next)
      cur = next
    }
  }
}

/** Reads labels at `path` of `obj`; bad keys or values are `inventory/bad-label` (returns undefined). */
function readLabels(obj: KubernetesObject, rel: YamlPath): Record<string, string> | undefined {
  let raw: unknown = obj.value
  for (const seg of rel) raw = isMapping(raw) ? raw[seg as string] : undefined
  if (raw === undefined || raw === null) return {}
  const path = [...obj.path, ...rel]
  if (!isMapping(raw)) {
    obj.doc.report('schema/invalid-value', 'labels must be a mapping of key: value', path)
    return undefined
  }
  const out: Record<string, string> = {}
  let ok = true
  for (const [k, v] of Object.entries(raw)) {
    if (DROPPED_POD_LABELS.includes(k) || PER_POD_LABELS.includes(k)) continue
    // labels are map[string]string: the API server refuses a YAML number or boolean, whose text
    // would not be the manifest's anyway (`1.10` reads as 1.1)
    const text = typeof v === 'string' ? v : undefined
    const problem =
      checkLabelKey(k) ??
      (text === undefined
        ? typeof v === 'number' || typeof v === 'boolean'
          ? `label "${k}" has a ${typeof v} value; Kubernetes label values are text: quote it`
          : `label "${k}" must have a text value`
        : checkKubernetesLabelValue(text))
    if (problem || text === undefined) {
      obj.doc.report('inventory/bad-label', problem ?? 'bad label', [...path, k], { target: 'key' })
      ok = false
      continue
    }
    out[k] = text
  }
  return ok ? out : undefined
}

interface Building {
  name: string
  location: SourceLocation
  addresses: TimedAddress[]
  /** label sets of each replica (or the template), intersected at the end */
  labelSets: { labels: Record<string, string>; location: SourceLocation }[]
  fromPods: boolean
  /** where warnings about the workload go (the sink of the documents) */
  sink: Diagnostic[]
}

/**
 * Builds workloads from every collected Kubernetes object (all files together, so a Deployment
 * in one file owns ReplicaSets and Pods in others).
 *
 * - **Naming.** A Pod's controller `ownerReference` is followed through the objects present
 *   (matched by `uid`, else by namespace, kind and name) to the top owner; the workload is
 *   `namespace/name[Kind]` of that owner (Pod → ReplicaSet → Deployment gives
 *   `ns/deploy[Deployment]`; a bare Pod gives `ns/pod[Pod]`). When a reference names an object
 *   that is not in the input, the workload is named after that reference (the last object known,
 *   if only by reference) and an `inventory/unknown-owner` warning is given once per missing
 *   owner: this is what np-guard prints for a dump without ReplicaSets
 *   (`default/adservice-77d5cd745d[ReplicaSet]`). Objects without `metadata.namespace` are in
 *   `default`. An OpenShift deployer or lifecycle hook pod ({@link DEPLOYER_POD_LABEL}) is its
 *   own workload `ns/<pod>[Pod]`: its reference to the ReplicationController it deploys does not
 *   make it one of the DeploymentConfig's pods.
 * - **Addresses.** `status.podIPs[].ip`, else `status.podIP`, canonicalised, no time bounds (a
 *   dump is a snapshot). Replicas of one owner are one workload with several addresses. Pods
 *   with no IP (pending, or a manifest), in phase `Succeeded`/`Failed` (their IP is released) or
 *   with `spec.hostNetwork: true` (the IP is the node's) give no address and an
 *   `inventory/no-address` warning; a bad IP is `inventory/bad-address`. A workload that only
 *   such pods name, and no template (a bare Pod manifest, a dump whose pods are all pending), is
 *   still a workload, without addresses, with those pods' labels (as `k8s import` lists it).
 * - **Labels.** The pod's labels minus {@link DROPPED_POD_LABELS} and {@link PER_POD_LABELS} (and,
 *   for a `[DeploymentConfig]` workload, {@link DEPLOYMENT_CONFIG_REVISION_LABELS}), plus `namespace: <ns>` (which
 *   wins over a pod label of that name); namespace objects' labels are not merged. Labels on
 *   which the replicas disagree are dropped with an `inventory/conflicting-labels` warning. A
 *   workload-kind object (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob,
 *   ReplicationController, Argo Rollouts' Rollout, OpenShift's DeploymentConfig) that is a top owner but has no pod in the input (plain manifests)
 *   is still a workload, with no addresses and its pod template's labels ({@link PodTemplates}: a
 *   Rollout with `spec.workloadRef` takes the referenced Deployment's; one that cannot be
 *   resolved has only `namespace`, with an `inventory/unresolved-workload-ref` warning).
 *   Every label's origin is `source:kubernetes`.
 * - Other kinds (Namespace, Service, NetworkPolicy, ConfigMap, ...) are ignored. An object
 *   without `metadata.name` is named after its `metadata.generateName`, the prefix the API server
 *   completes (`default/sample-job-[Job]`), with an `inventory/generated-name` warning; without
 *   either it is `schema/missing-field`. The same namespace, kind and name twice
 *   is an `inventory/duplicate-workload` warning and the second copy is ignored.
 *
 * @returns workloads sorted by name; diagnostics go to each object's document sink.
 */
export function kubernetesWorkloads(objects: readonly KubernetesObject[]): Workload[] {
  const parsed: OwnedObject[] = []
  const owners = new OwnerIndex()
  for (const obj of objects) {
    const kind = obj.value['kind']
    if (typeof kind !== 'string') continue
    if (kind !== 'Pod' && !isWorkloadObject(kind, obj.value['apiVersion'])) continue
    const meta = obj.value['metadata']
    const given = isMapping(meta) ? str(meta['name']) : undefined
    const generated = given === undefined && isMapping(meta) ? str(meta['generateName']) : undefined
    const name = given ?? generated
    if (!isMapping(meta) || name === undefined) {
      obj.doc.report(
        'schema/missing-field',
        `missing required field "name" of this ${kind}'s metadata`,
        isMapping(meta) ? [...obj.path, 'metadata'] : obj.path,
      )
      continue
    }
    const namespace = str(meta['namespace']) ?? 'default'
    if (generated !== undefined) reportGeneratedName(obj.doc, obj.path, namespace, kind, generated)
    const p: OwnedObject = {
      obj,
      kind,
      name,
      namespace,
      uid: str(meta['uid']),
      // an OpenShift deployer or hook pod is not one of its DeploymentConfig's pods
      owner: kind === 'Pod' && isDeploymentProcessPod(meta) ? undefined : controllerOwner(meta),
    }
    const prior = owners.add(p)
    if (prior) {
      obj.doc.report(
        'inventory/duplicate-workload',
        `${workloadName(namespace, kind, name)} appears twice; this copy is ignored`,
        [...obj.path, 'metadata', 'name'],
        {
          severity: 'warning',
          related: [prior.obj.doc.loc([...prior.obj.path, 'metadata', 'name'])],
        },
      )
      continue
    }
    parsed.push(p)
  }

  const warnedOwners = new Set<string>()
  /**
   * The workload name of `p`'s top owner, and the top object when present: on a cycle the last
   * object before it; an owner not in the input names the workload, with a warning once.
   */
  const topOf = (p: OwnedObject): { name: string; top: OwnedObject | undefined } => {
    const chain = owners.walk(p)
    if (chain.end === 'top') {
      const { top } = chain
      return { name: workloadName(top.namespace, top.kind, top.name), top }
    }
    const { last } = chain
    if (chain.end === 'cycle')
      return { name: workloadName(last.namespace, last.kind, last.name), top: last }
    const missing = workloadName(last.namespace, chain.ref.kind, chain.ref.name)
    if (!warnedOwners.has(missing)) {
      warnedOwners.add(missing)
      last.obj.doc.report(
        'inventory/unknown-owner',
        `owner ${missing} of ${workloadName(last.namespace, last.kind, last.name)} is not in the inventory; the workload is named after it`,
        [...last.obj.path, 'metadata', 'ownerReferences'],
        {
          severity: 'warning',
          hint: 'include replicasets and deployments in the kubectl dump',
        },
      )
    }
    return { name: missing, top: undefined }
  }

  const building = new Map<string, Building>()
  const get = (name: string, location: SourceLocation, sink: Diagnostic[]): Building => {
    let b = building.get(name)
    if (!b) {
      b = { name, location, addresses: [], labelSets: [], fromPods: false, sink }
      building.set(name, b)
    }
    return b
  }
  const locOf = (p: OwnedObject): SourceLocation => p.obj.doc.loc(p.obj.path)

  /** pods that give no address (pending, ended, host network, a manifest) */
  const addressless: OwnedObject[] = []
  for (const p of parsed) {
    if (p.kind !== 'Pod') continue
    const ips = podAddresses(p)
    if (ips === undefined) continue
    if (ips.length === 0) {
      addressless.push(p)
      continue
    }
    const labels = readLabels(p.obj, ['metadata', 'labels'])
    if (labels === undefined) continue
    const { name, top } = topOf(p)
    const b = get(name, top ? locOf(top) : locOf(p), p.obj.doc.sink)
    b.addresses.push(...ips)
    b.fromPods = true
    b.labelSets.push({
      labels: namespaced(dropRevisionLabels(name, labels), p.namespace, p.obj.doc, [
        ...p.obj.path,
        'metadata',
        'labels',
      ]),
      location: locOf(p),
    })
  }
  const templates = new PodTemplates(objects)
  // each template read once: a Deployment's is also its Rollouts' (workloadRef), whose bad labels
  // are reported once
  const templateLabels = new Map<KubernetesObject, Record<string, string> | undefined>()
  const labelsOf = (tpl: PodTemplateAt): Record<string, string> | undefined => {
    if (!templateLabels.has(tpl.obj))
      templateLabels.set(tpl.obj, readLabels(tpl.obj, [...tpl.path, 'metadata', 'labels']))
    return templateLabels.get(tpl.obj)
  }
  for (const p of parsed) {
    if (p.kind === 'Pod') continue
    const { name, top } = topOf(p)
    if (top !== p) continue
    const b = get(name, locOf(p), p.obj.doc.sink)
    if (b.fromPods) continue
    const tpl = templates.of(p)
    const labels = tpl ? labelsOf(tpl) : {}
    if (labels === undefined) continue
    b.labelSets.push({
      labels: tpl
        ? namespaced(dropRevisionLabels(name, labels), p.namespace, tpl.obj.doc, [
            ...tpl.path,
            'metadata',
            'labels',
          ])
        : { namespace: p.namespace },
      location: locOf(p),
    })
  }
  // a workload whose pods all give no address, and that no template names (a bare Pod manifest,
  // a dump whose pods are all pending): still a workload, without addresses, with the pods' labels
  const fromAddressless = new Set<string>()
  for (const p of addressless) {
    const { name, top } = topOf(p)
    if (building.has(name) && !fromAddressless.has(name)) continue
    const labels = readLabels(p.obj, ['metadata', 'labels'])
    if (labels === undefined) continue
    fromAddressless.add(name)
    const b = get(name, top ? locOf(top) : locOf(p), p.obj.doc.sink)
    b.labelSets.push({
      labels: namespaced(dropRevisionLabels(name, labels), p.namespace, p.obj.doc, [
        ...p.obj.path,
        'metadata',
        'labels',
      ]),
      location: locOf(p),
    })
  }

  const out: Workload[] = []
  for (const b of [...building.values()].sort((x, y) =>
    x.name < y.name ? -1 : x.name > y.name ? 1 : 0,
  )) {
    const labels = intersectLabels(b)
    const seenIp = new Set<string>()
    const addresses = b.addresses.filter((a) => !seenIp.has(a.ip) && (seenIp.add(a.ip), true))
    out.push({
      name: b.name,
      addresses,
      labels: labelSet(labels),
      labelOrigins: Object.fromEntries(
        Object.keys(labels)
          .sort()
          .map((k) => [k, KUBERNETES_ORIGIN]),
      ),
      location: b.location,
    })
  }
  return out
}

/** The labels every replica agrees on; keys they disagree on are dropped with a warning at the workload. */
function intersectLabels(b: Building): Record<string, string> {
  const [first, ...rest] = b.labelSets
  if (!first) return {}
  const dropped = new Set<string>()
  for (const s of rest) {
    for (const k of new Set([...Object.keys(first.labels), ...Object.keys(s.labels)])) {
      if (first.labels[k] !== s.labels[k]) dropped.add(k)
    }
  }
  const out = Object.fromEntries(Object.entries(first.labels).filter(([k]) => !dropped.has(k)))
  for (const k of [...dropped].sort()) {
    const other = rest.find((s) => s.labels[k] !== first.labels[k])
    b.sink.push(
      diagnostic(
        'inventory/conflicting-labels',
        `the pods of ${b.name} disagree on label "${k}"; it is left out`,
        first.location,
        { severity: 'warning', ...(other ? { related: [other.location] } : {}) },
      ),
    )
  }
  return out
}

/**
 * The addresses of a pod: `[]` when it has none to give (with a warning), undefined when an IP
 * is bad (reported as an error).
 */
function podAddresses(p: OwnedObject): TimedAddress[] | undefined {
  const v = p.obj.value
  const spec = isMapping(v['spec']) ? v['spec'] : {}
  const status = isMapping(v['status']) ? v['status'] : {}
  const where = workloadName(p.namespace, p.kind, p.name)
  const skip = (why: string): TimedAddress[] => {
    p.obj.doc.report('inventory/no-address', `${where} ${why}; it gives no address`, p.obj.path, {
      severity: 'warning',
    })
    return []
  }
  const phase = str(status['phase'])
  if (phase === 'Succeeded' || phase === 'Failed')
    return skip(`has ended (phase ${phase}) and released its IP`)
  if (spec['hostNetwork'] === true) return skip("uses the host network (its IP is the node's)")
  const raw: { ip: unknown; path: YamlPath }[] = []
  if (Array.isArray(status['podIPs']) && status['podIPs'].length > 0) {
    status['podIPs'].forEach((x, i) =>
      raw.push(
        isMapping(x)
          ? { ip: x['ip'], path: [...p.obj.path, 'status', 'podIPs', i, 'ip'] }
          : { ip: x, path: [...p.obj.path, 'status', 'podIPs', i] },
      ),
    )
  } else if (status['podIP'] !== undefined && status['podIP'] !== null && status['podIP'] !== '') {
    raw.push({ ip: status['podIP'], path: [...p.obj.path, 'status', 'podIP'] })
  }
  if (raw.length === 0)
    return skip('has no IP yet (status.podIPs is empty: pending, or a manifest)')
  const out: TimedAddress[] = []
  let ok = true
  for (const r of raw) {
    const ip = typeof r.ip === 'string' ? normalizeIp(r.ip) : undefined
    if (ip === undefined) {
      p.obj.doc.report(
        'inventory/bad-address',
        `${JSON.stringify(r.ip)} is not an IPv4 or IPv6 address`,
        r.path,
      )
      ok = false
    } else out.push({ ip, location: p.obj.doc.loc(r.path) })
  }
  return ok ? out : undefined
}
