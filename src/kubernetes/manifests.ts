/**
 * @module Kubernetes manifests for connectivity analysis: objects from YAML/JSON files, label
 * selectors, namespaces and pods (real Pods, or one pod per workload template) with the
 * workload each belongs to and its container ports.
 *
 * @remarks Sources: Kubernetes API reference — LabelSelector
 * (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/label-selector/),
 * Pod `spec.containers[].ports` (ContainerPort: `containerPort`, `name`, `protocol` default TCP),
 * `ownerReferences`; the automatic namespace label `kubernetes.io/metadata.name`
 * (https://kubernetes.io/docs/reference/labels-annotations-taints/#kubernetes-io-metadata-name);
 * workload names `namespace/name[Kind]` as np-guard's netpol-analyzer prints them. KubeVirt's
 * `VirtualMachine` (https://kubevirt.io/user-guide/virtual_machines/virtual_machine_instances/):
 * its VirtualMachineInstance, and the virt-launcher pod that is the VM's network endpoint, carry
 * `spec.template.metadata.labels` and the VM's name; np-guard reads the kind as a workload
 * (`default/fedora-vm-1[VirtualMachine]`, its test `virtual_machines_example`).
 */
import {
  checkKubernetesLabelValue,
  checkLabelKey,
  formatIp,
  labelSet,
  parseIp,
  type Diagnostic,
  type IpAddress,
  type LabelExpression,
  type LabelSet,
  type SourceLocation,
} from '../core/index.js'
import {
  collectKubernetesObjects,
  controllerOwner,
  isDeploymentProcessPod,
  isKubernetesDocument,
  OwnerIndex,
  PodTemplates,
  type PodTemplateAt,
  isWorkloadObject,
  reportGeneratedName,
  workloadName,
  type KubernetesObject,
  type OwnedObject,
} from '../inventory/sources/kubernetes.js'
import {
  isMapping,
  parseYamlFile,
  type SourceFile,
  type YamlDoc,
  type YamlPath,
} from '../core/yaml-source.js'

export type { KubernetesObject } from '../inventory/sources/kubernetes.js'

/** The label every namespace carries with its own name (Kubernetes ≥ 1.21). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name'

/** KubeVirt's kind for a virtual machine: a workload whose pod template is `spec.template`. */
const VIRTUAL_MACHINE = 'VirtualMachine'

/** The protocols NetworkPolicy and AdminNetworkPolicy name, by their Kubernetes spelling. */
export const K8S_PROTOCOLS: Readonly<Record<string, number>> = { TCP: 6, UDP: 17, SCTP: 132 }

/**
 * The IANA number of a protocol in its Kubernetes spelling (`TCP`, `UDP`, `SCTP`), or
 * undefined: only {@link K8S_PROTOCOLS}' own names (`constructor` is no protocol).
 */
export function k8sProtocol(name: string): number | undefined {
  return Object.hasOwn(K8S_PROTOCOLS, name) ? K8S_PROTOCOLS[name] : undefined
}

/**
 * A Kubernetes label selector. Empty (`{}`) selects everything. `matchLabels` and every
 * expression are ANDed.
 */
export interface LabelSelector {
  readonly matchLabels: LabelSet
  readonly expressions: readonly LabelExpression[]
}

/** The selector that selects everything (`{}`). */
export const SELECT_ALL: LabelSelector = { matchLabels: labelSet(), expressions: [] }

/** True when `labels` satisfy the selector (Kubernetes semantics; `NotIn`/`DoesNotExist` hold for a missing key). */
export function selects(sel: LabelSelector, labels: LabelSet): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels)) {
    if (!Object.hasOwn(labels, k) || labels[k] !== v) return false
  }
  for (const e of sel.expressions) {
    const has = Object.hasOwn(labels, e.key)
    const value = labels[e.key] as string
    switch (e.operator) {
      case 'In':
        if (!has || !e.values.includes(value)) return false
        break
      case 'NotIn':
        if (has && e.values.includes(value)) return false
        break
      case 'Exists':
        if (!has) return false
        break
      case 'DoesNotExist':
        if (has) return false
        break
    }
  }
  return true
}

/** `app=web,tier in (a,b)`: a selector as `kubectl` prints it; `{}` is `<all>`. */
export function formatSelector(sel: LabelSelector): string {
  const parts = Object.entries(sel.matchLabels).map(([k, v]) => `${k}=${v}`)
  for (const e of sel.expressions) {
    if (e.operator === 'Exists') parts.push(e.key)
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`)
    else parts.push(`${e.key} ${e.operator === 'In' ? 'in' : 'notin'} (${e.values.join(',')})`)
  }
  return parts.length === 0 ? '<all>' : parts.join(',')
}

/** A label value as Kubernetes validates it: at most 63 characters, alphanumeric at both ends, `-_.` inside. */
/**
 * A label value or selector value as written. Labels are `map[string]string` and selector values
 * `[]string`: the API server refuses a YAML number or boolean (whose text would not be the
 * manifest's anyway: `1.10` reads as 1.1), so they are no text here.
 */
function scalarText(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined
}

/**
 * Parses a LabelSelector found at `path` of `obj`. `null`/missing is not handled here (the
 * caller decides what absent means). Bad shapes, a field other than `matchLabels` and
 * `matchExpressions`, bad keys or values, an unknown operator, `In`/`NotIn`
 * without values or `Exists`/`DoesNotExist` with values are `k8s/bad-selector` at the offending
 * node, with `what` (e.g. `NetworkPolicy ns/name`) in the message.
 * @returns the selector, or undefined when it is invalid.
 */
export function parseLabelSelector(
  doc: YamlDoc,
  path: YamlPath,
  raw: unknown,
  what: string,
): LabelSelector | undefined {
  const bad = (message: string, at: YamlPath): LabelSelector | undefined => {
    doc.report('k8s/bad-selector', `${what}: ${message}`, at)
    return undefined
  }
  if (!isMapping(raw)) return bad('a label selector must be a mapping', path)
  let ok = true as boolean
  // A key other than matchLabels/matchExpressions (a typo such as `matchLabel`, or an older
  // draft's shape such as ANP `namespaces: {namespaceSelector: ...}`) would otherwise leave the
  // empty selector, which selects everything; the API server refuses unknown fields.
  for (const k of Object.keys(raw)) {
    if (k !== 'matchLabels' && k !== 'matchExpressions') {
      bad(
        `unknown field ${JSON.stringify(k)} in a label selector (it has only matchLabels and matchExpressions)`,
        [...path, k],
      )
      ok = false
    }
  }
  const match: Record<string, string> = {}
  const ml = raw['matchLabels']
  if (ml !== undefined && ml !== null) {
    if (!isMapping(ml))
      return bad('matchLabels must be a mapping of key: value', [...path, 'matchLabels'])
    for (const [k, v] of Object.entries(ml)) {
      const text = scalarText(v)
      const problem =
        checkLabelKey(k) ??
        (text === undefined
          ? `${JSON.stringify(v)} is not a valid label value (label values are text: quote it)`
          : checkKubernetesLabelValue(text))
      if (problem) {
        bad(problem, [...path, 'matchLabels', k])
        ok = false
      } else match[k] = text as string
    }
  }
  const expressions: LabelExpression[] = []
  const me = raw['matchExpressions']
  if (me !== undefined && me !== null) {
    if (!Array.isArray(me))
      return bad('matchExpressions must be a sequence', [...path, 'matchExpressions'])
    me.forEach((e, i) => {
      const at = [...path, 'matchExpressions', i]
      if (!isMapping(e)) {
        bad('a match expression must be a mapping with key, operator and values', at)
        ok = false
        return
      }
      const key = e['key']
      const op = e['operator']
      const values = e['values'] ?? []
      const keyProblem =
        key === undefined || key === null
          ? 'a match expression needs a key (the label key it tests)'
          : typeof key !== 'string'
            ? `${JSON.stringify(key)} is not a valid label key (label keys are text: quote it)`
            : checkLabelKey(key)
      if (keyProblem !== undefined || typeof key !== 'string') {
        bad(keyProblem ?? 'a match expression needs a key', [...at, 'key'])
        ok = false
        return
      }
      if (op === undefined || op === null) {
        bad('a match expression needs an operator: In, NotIn, Exists or DoesNotExist', at)
        ok = false
        return
      }
      if (op !== 'In' && op !== 'NotIn' && op !== 'Exists' && op !== 'DoesNotExist') {
        bad(`unknown operator ${JSON.stringify(op)}; use In, NotIn, Exists or DoesNotExist`, [
          ...at,
          'operator',
        ])
        ok = false
        return
      }
      if (!Array.isArray(values) || values.some((v) => scalarText(v) === undefined)) {
        bad('values must be a sequence of strings', [...at, 'values'])
        ok = false
        return
      }
      const texts = values.map((v) => scalarText(v) as string)
      if ((op === 'In' || op === 'NotIn') && texts.length === 0) {
        bad(`operator ${op} needs at least one value`, at)
        ok = false
        return
      }
      if ((op === 'Exists' || op === 'DoesNotExist') && texts.length > 0) {
        bad(`operator ${op} takes no values`, [...at, 'values'])
        ok = false
        return
      }
      const badValue = texts.find((t) => checkKubernetesLabelValue(t) !== undefined)
      if (badValue !== undefined) {
        bad(`${JSON.stringify(badValue)} is not a valid label value`, [...at, 'values'])
        ok = false
        return
      }
      expressions.push({ key, operator: op, values: texts })
    })
  }
  return ok ? { matchLabels: labelSet(match), expressions } : undefined
}

/** A namespace: its name and labels (always with {@link NAMESPACE_NAME_LABEL}). */
export interface K8sNamespace {
  readonly name: string
  readonly labels: LabelSet
}

/** One container port of a pod. `protocol` is 6, 17 or 132. */
export interface ContainerPort {
  readonly name?: string
  readonly port: number
  readonly protocol: number
}

/**
 * One pod as the analysis sees it: a real Pod of the input, or the pod a workload's template
 * would run when the input has no Pod of that workload.
 */
export interface K8sPod {
  readonly name: string
  readonly namespace: string
  readonly labels: LabelSet
  /** The workload it belongs to, `namespace/name[Kind]` of its top owner. */
  readonly workload: string
  readonly ports: readonly ContainerPort[]
  readonly location: SourceLocation
  /**
   * The addresses the pod holds (`status.podIPs`, else `status.podIP`; see {@link podAddressesAt}),
   * absent when the input gives none (a manifest, a template): its address families are then
   * unknown and the analysis takes both. A host-network pod's are its node's.
   */
  readonly addresses?: readonly IpAddress[]
  /**
   * `spec.hostNetwork: true`: the pod runs in its node's network namespace and sends from the
   * node's addresses, which the node itself and the node's other host-network pods share. The
   * analysis applies policies to it as to any pod (as np-guard does; Kubernetes leaves
   * NetworkPolicy for such pods undefined), but an address it holds does not name it in `k8s eval`.
   */
  readonly hostNetwork?: true
}

/**
 * Parses every file as multi-document YAML (JSON is YAML) and returns the Kubernetes objects,
 * with items of `kind: List` / `PodList` / ... expanded. A document that is not a Kubernetes
 * object (no `apiVersion` and `kind`, or a Bulkhead document) is skipped with a
 * `k8s/not-kubernetes` warning. YAML syntax errors are `yaml/syntax` errors.
 */
export function kubernetesObjects(
  files: readonly SourceFile[],
  sink: Diagnostic[],
): KubernetesObject[] {
  const out: KubernetesObject[] = []
  for (const f of files) {
    for (const d of parseYamlFile(f, sink)) {
      if (
        !isKubernetesDocument(d.value, [
          'Workspace',
          'Inventory',
          'LabelRules',
          'Policy',
          'Enforcement',
        ])
      ) {
        d.report(
          'k8s/not-kubernetes',
          'not a Kubernetes object (no apiVersion and kind); skipped',
          [],
          {
            severity: 'warning',
          },
        )
        continue
      }
      collectKubernetesObjects(d, out)
    }
  }
  return out
}

/** Metadata of an object: name (undefined when missing) and namespace (default `default`). */
export function objectMeta(obj: KubernetesObject): { name: string | undefined; namespace: string } {
  const meta = obj.value['metadata']
  const m = isMapping(meta) ? meta : {}
  const name = typeof m['name'] === 'string' && m['name'] !== '' ? m['name'] : undefined
  const namespace =
    typeof m['namespace'] === 'string' && m['namespace'] !== '' ? m['namespace'] : 'default'
  return { name, namespace }
}

/** `metadata.generateName` of an object when it is non-empty text (a name prefix the API server completes). */
function generateNameOf(obj: KubernetesObject): string | undefined {
  const g = at(obj.value, ['metadata', 'generateName'])
  return typeof g === 'string' && g !== '' ? g : undefined
}

function at(v: unknown, path: YamlPath): unknown {
  let cur = v
  for (const seg of path)
    cur = isMapping(cur) ? cur[seg as string] : Array.isArray(cur) ? cur[seg as number] : undefined
  return cur
}

/**
 * The addresses a Pod object holds: `status.podIPs[].ip`, else `status.podIP`, as the inventory
 * source reads them (src/inventory/sources/kubernetes.ts); none for a pod that has ended (phase
 * `Succeeded`/`Failed`: its IP is released), and none when no entry is an address (a bad entry is
 * left out: {@link badPodAddressEntries} finds it, and the reader reports it). A pod on the host
 * network (`spec.hostNetwork: true`) holds its node's addresses, which its `status.podIPs` gives
 * (the inventory gives it none, since the node and its other host-network pods share them).
 * Pure: no diagnostics.
 * @returns the addresses, or undefined when the pod holds none the input tells.
 */
export function podAddressesAt(pod: Record<string, unknown>): IpAddress[] | undefined {
  const status = at(pod, ['status'])
  if (!isMapping(status)) return undefined
  const phase = status['phase']
  if (phase === 'Succeeded' || phase === 'Failed') return undefined
  const out = podAddressEntries(status).flatMap((e) => {
    const ip = typeof e.raw === 'string' ? parseIp(e.raw) : undefined
    return ip ? [ip] : []
  })
  return out.length > 0 ? out : undefined
}

/** The entries of `status.podIPs` (each `{ip}` or, loosely, a bare text), else `status.podIP`, with their paths under `status`. */
function podAddressEntries(status: Record<string, unknown>): { raw: unknown; path: YamlPath }[] {
  const list: unknown = status['podIPs']
  if (Array.isArray(list) && list.length > 0)
    return list.map((x: unknown, i) =>
      isMapping(x) ? { raw: x['ip'], path: ['podIPs', i, 'ip'] } : { raw: x, path: ['podIPs', i] },
    )
  const one = status['podIP']
  return one === undefined || one === null || one === '' ? [] : [{ raw: one, path: ['podIP'] }]
}

/**
 * The entries of a Pod's `status.podIPs` (else `status.podIP`) that {@link podAddressesAt}
 * leaves out because they are no IPv4 or IPv6 address, for a pod whose addresses it reads (one
 * that has not ended). Pure.
 * @returns each bad entry's text and its path relative to the pod object (`['status', 'podIPs', 1, 'ip']`).
 */
export function badPodAddressEntries(
  pod: Record<string, unknown>,
): { raw: unknown; path: YamlPath }[] {
  const status = at(pod, ['status'])
  if (!isMapping(status)) return []
  const phase = status['phase']
  if (phase === 'Succeeded' || phase === 'Failed') return []
  return podAddressEntries(status)
    .filter((e) => typeof e.raw !== 'string' || parseIp(e.raw) === undefined)
    .map((e) => ({ raw: e.raw, path: ['status', ...e.path] }))
}

/** Reads object labels at `rel`; non-text values and bad keys are `k8s/bad-object` (the label is left out). */
function labelsAt(obj: KubernetesObject, rel: YamlPath): LabelSet {
  const raw = at(obj.value, rel)
  if (raw === undefined || raw === null) return labelSet()
  if (!isMapping(raw)) {
    obj.doc.report('k8s/bad-object', 'labels must be a mapping of key: value', [
      ...obj.path,
      ...rel,
    ])
    return labelSet()
  }
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(raw)) {
    const text = scalarText(v)
    const problem =
      checkLabelKey(k) ??
      (text === undefined
        ? `label ${JSON.stringify(k)} has no text value (label values are text: quote it)`
        : checkKubernetesLabelValue(text))
    if (problem !== undefined || text === undefined) {
      obj.doc.report(
        'k8s/bad-object',
        problem ?? `label ${JSON.stringify(k)} is not a valid key: value pair`,
        [...obj.path, ...rel, k],
        {
          target: 'key',
        },
      )
      continue
    }
    out[k] = text
  }
  return labelSet(out)
}

/** Container ports of a pod spec at `rel` (containers and init containers). Bad entries are `k8s/bad-object`. */
function portsAt(obj: KubernetesObject, rel: YamlPath): ContainerPort[] {
  const out: ContainerPort[] = []
  for (const list of ['containers', 'initContainers']) {
    const cs = at(obj.value, [...rel, list])
    if (!Array.isArray(cs)) continue
    cs.forEach((c, ci) => {
      const ps = isMapping(c) ? c['ports'] : undefined
      if (!Array.isArray(ps)) return
      ps.forEach((p, pi) => {
        const path = [...obj.path, ...rel, list, ci, 'ports', pi]
        if (!isMapping(p)) return
        const port = p['containerPort']
        const proto = p['protocol'] ?? 'TCP'
        const protocol = typeof proto === 'string' ? k8sProtocol(proto) : undefined
        if (
          typeof port !== 'number' ||
          !Number.isInteger(port) ||
          port < 1 ||
          port > 65535 ||
          protocol === undefined
        ) {
          obj.doc.report(
            'k8s/bad-object',
            'a container port needs containerPort 1–65535 and protocol TCP, UDP or SCTP',
            path,
            {
              severity: 'warning',
            },
          )
          return
        }
        const name = typeof p['name'] === 'string' && p['name'] !== '' ? p['name'] : undefined
        out.push({ ...(name !== undefined ? { name } : {}), port, protocol })
      })
    })
  }
  return out
}

function withAddresses(a: IpAddress[] | undefined): { addresses?: readonly IpAddress[] } {
  return a ? { addresses: a } : {}
}

/**
 * The namespaces and pods of the input.
 *
 * - **Namespaces**: every `Namespace` object (its labels plus `kubernetes.io/metadata.name`),
 *   and every namespace a pod or workload is in, with only that label.
 * - **Pods**: every `Pod` (with the addresses of {@link podAddressesAt}), in the workload of its top owner: its controller `ownerReference` is
 *   followed through the objects present (by `uid`, else namespace, kind and name); when the
 *   owner is not in the input the workload is named after the reference (np-guard:
 *   `default/frontend-99684f7f8[ReplicaSet]` for a dump without ReplicaSets; a reference without
 *   a kind gives `[Pod]`). A Pod without owner is `ns/name[Pod]`, and so is a Pod whose owner
 *   references include no controller (garbage-collection links only; np-guard follows controller
 *   references only: `controllerOwner`), and a static pod's
 *   mirror pod, whose owner is its `Node` (np-guard's `addPodOwner` skips Node owners; static
 *   pods: https://kubernetes.io/docs/concepts/workloads/pods/static-pods/). So is an OpenShift
 *   deployer or lifecycle hook pod (`DEPLOYER_POD_LABEL`), whose reference to the
 *   ReplicationController it deploys is no controller reference (np-guard: `[Pod]` too).
 * - A workload object (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob,
 *   ReplicationController, Argo Rollouts' Rollout, OpenShift's DeploymentConfig, KubeVirt
 *   VirtualMachine: `isWorkloadObject`) that is its own top owner and has no Pod in
 *   the input gives one pod from its template (labels and container ports; a VM has none; a
 *   Rollout with `spec.workloadRef` the referenced Deployment's, ReplicaSet's or PodTemplate's:
 *   `PodTemplates`).
 * - A Pod whose owner walk ends at a `VirtualMachineInstance` not in the input (a virt-launcher
 *   pod) belongs to the `VirtualMachine` of the same namespace and name when that is in the
 *   input (KubeVirt names the VMI after its VM), so the VM is one workload, not two. np-guard
 *   instead skips every pod named `virt-launcher-*` with a warning.
 * - Pods of one workload whose labels differ are each analysed with their own labels (a
 *   connection of the workload is the union over its pods), with a `k8s/conflicting-labels` warning.
 * - A Pod or workload object without `metadata.name` is named after its `metadata.generateName`
 *   (the prefix the API server completes), with an `inventory/generated-name` warning, as the
 *   inventory names it; without either (or a Namespace without a name) it is `k8s/bad-object`.
 *   A repeated namespace/kind/name is
 *   `k8s/duplicate-object` (warning, second copy ignored).
 */
export function podsAndNamespaces(objects: readonly KubernetesObject[]): {
  pods: K8sPod[]
  namespaces: Map<string, K8sNamespace>
} {
  const namespaces = new Map<string, K8sNamespace>()
  const owned: OwnedObject[] = []
  const owners = new OwnerIndex()
  for (const obj of objects) {
    const kind = obj.value['kind']
    if (typeof kind !== 'string') continue
    if (
      kind !== 'Namespace' &&
      kind !== 'Pod' &&
      kind !== VIRTUAL_MACHINE &&
      !isWorkloadObject(kind, obj.value['apiVersion'])
    )
      continue
    const meta = objectMeta(obj)
    const { namespace } = meta
    const generated =
      meta.name === undefined && kind !== 'Namespace' ? generateNameOf(obj) : undefined
    const name = meta.name ?? generated
    if (name === undefined) {
      obj.doc.report('k8s/bad-object', `this ${kind} has no metadata.name; skipped`, obj.path)
      continue
    }
    if (generated !== undefined) reportGeneratedName(obj.doc, obj.path, namespace, kind, generated)
    if (kind === 'Namespace') {
      if (namespaces.has(name)) {
        obj.doc.report(
          'k8s/duplicate-object',
          `Namespace ${name} appears twice; this copy is ignored`,
          [...obj.path, 'metadata', 'name'],
          {
            severity: 'warning',
          },
        )
        continue
      }
      const labels = labelsAt(obj, ['metadata', 'labels'])
      namespaces.set(name, { name, labels: labelSet({ ...labels, [NAMESPACE_NAME_LABEL]: name }) })
      continue
    }
    const uidRaw = at(obj.value, ['metadata', 'uid'])
    const o: OwnedObject = {
      obj,
      kind,
      name,
      namespace,
      uid: typeof uidRaw === 'string' ? uidRaw : undefined,
      // a mirror pod's Node is none; an OpenShift deployer or hook pod is not its DC's pod
      owner:
        kind === 'Pod' && isDeploymentProcessPod(obj.value['metadata'])
          ? undefined
          : controllerOwner(obj.value['metadata'], 'Pod'),
    }
    if (owners.add(o)) {
      obj.doc.report(
        'k8s/duplicate-object',
        `${workloadName(namespace, kind, name)} appears twice; this copy is ignored`,
        [...obj.path, 'metadata', 'name'],
        {
          severity: 'warning',
        },
      )
      continue
    }
    owned.push(o)
  }
  const vmNames = new Set(
    owned
      .filter((o) => o.kind === VIRTUAL_MACHINE)
      .map((o) => workloadName(o.namespace, o.kind, o.name)),
  )
  /**
   * The workload of `p`: named after its top owner; after the reference that is not in the
   * input, or that closes a cycle (then the object it found is the top).
   */
  const topOf = (p: OwnedObject): { name: string; top: OwnedObject | undefined } => {
    const chain = owners.walk(p)
    if (chain.end === 'top') {
      const { top } = chain
      return { name: workloadName(top.namespace, top.kind, top.name), top }
    }
    if (chain.end === 'missing' && chain.ref.kind === 'VirtualMachineInstance') {
      const vm = workloadName(chain.last.namespace, VIRTUAL_MACHINE, chain.ref.name)
      if (vmNames.has(vm)) return { name: vm, top: undefined }
    }
    const name = workloadName(chain.last.namespace, chain.ref.kind, chain.ref.name)
    return { name, top: chain.end === 'cycle' ? chain.next : undefined }
  }
  const pods: K8sPod[] = []
  const withPods = new Set<string>()
  for (const o of owned) {
    if (o.kind !== 'Pod') continue
    const { name } = topOf(o)
    withPods.add(name)
    const addresses = podAddressesAt(o.obj.value)
    for (const bad of badPodAddressEntries(o.obj.value))
      o.obj.doc.report(
        'k8s/bad-object',
        `${JSON.stringify(bad.raw)} is not an IPv4 or IPv6 address; left out of pod ${o.namespace}/${o.name}'s addresses (${addresses ? `it holds ${addresses.map(formatIp).join(', ')}` : 'it holds none the input tells, so the analysis takes both address families for it'})`,
        [...o.obj.path, ...bad.path],
        { severity: 'warning' },
      )
    pods.push({
      name: o.name,
      namespace: o.namespace,
      labels: labelsAt(o.obj, ['metadata', 'labels']),
      workload: name,
      ports: portsAt(o.obj, ['spec']),
      location: o.obj.doc.loc(o.obj.path),
      ...withAddresses(addresses),
      ...(at(o.obj.value, ['spec', 'hostNetwork']) === true ? { hostNetwork: true as const } : {}),
    })
  }
  const templates = new PodTemplates(objects)
  // each template read once: a Deployment's is also its Rollouts' (workloadRef), whose bad labels
  // and ports are reported once
  const read = new Map<KubernetesObject, { labels: LabelSet; ports: ContainerPort[] }>()
  const templateOf = (tpl: PodTemplateAt): { labels: LabelSet; ports: ContainerPort[] } => {
    let r = read.get(tpl.obj)
    if (!r) {
      r = {
        labels: labelsAt(tpl.obj, [...tpl.path, 'metadata', 'labels']),
        ports: portsAt(tpl.obj, [...tpl.path, 'spec']),
      }
      read.set(tpl.obj, r)
    }
    return r
  }
  for (const o of owned) {
    if (o.kind === 'Pod') continue
    const { name, top } = topOf(o)
    if (top !== o || withPods.has(name)) continue
    withPods.add(name)
    // a Rollout with workloadRef: the referenced Deployment's template (unresolved: a warning)
    const tpl = templates.of(o)
    const { labels, ports } = tpl ? templateOf(tpl) : { labels: labelSet(), ports: [] }
    pods.push({
      name: o.name,
      namespace: o.namespace,
      labels,
      workload: name,
      ports,
      location: o.obj.doc.loc(o.obj.path),
    })
  }
  for (const p of pods) {
    if (!namespaces.has(p.namespace)) {
      namespaces.set(p.namespace, {
        name: p.namespace,
        labels: labelSet({ [NAMESPACE_NAME_LABEL]: p.namespace }),
      })
    }
  }
  // pods of one workload with different labels: analysed one by one, with a warning
  const firstOf = new Map<string, K8sPod>()
  for (const p of pods) {
    const first = firstOf.get(p.workload)
    if (!first) firstOf.set(p.workload, p)
    else if (JSON.stringify(first.labels) !== JSON.stringify(p.labels) && first !== p) {
      const obj = owned.find(
        (o) => o.kind === 'Pod' && o.name === p.name && o.namespace === p.namespace,
      )
      obj?.obj.doc.report(
        'k8s/conflicting-labels',
        `pods of ${p.workload} have different labels (${p.name} and ${first.name}); each pod is analysed with its own`,
        [...obj.obj.path, 'metadata', 'labels'],
        { severity: 'warning', related: [first.location] },
      )
      firstOf.set(p.workload, p)
    }
  }
  return { pods, namespaces }
}
