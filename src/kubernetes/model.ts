/**
 * @module The Kubernetes model a connectivity analysis runs on: namespaces, pods grouped into
 * workloads, validated NetworkPolicies, AdminNetworkPolicies (in evaluation order) and the
 * BaselineAdminNetworkPolicy, plus the services a policy port list allows towards a pod.
 *
 * @remarks Built once at the edge (every problem a located diagnostic); the analysers trust it.
 */
import { sortDiagnostics, type Diagnostic, ServiceSet } from '../core/index.js'
import type { SourceFile } from '../core/yaml-source.js'
import { parseAdminPolicy, type AdminPolicy, type AnpPort } from './anp.js'
import {
  kubernetesObjects,
  objectMeta,
  podsAndNamespaces,
  type K8sNamespace,
  type K8sPod,
  type KubernetesObject,
} from './manifests.js'
import { parseNetworkPolicy, type NetpolPort, type NetworkPolicy } from './netpol.js'
import { parseExposures, type Exposure } from './ingress.js'
import { primaryNetworks, udnWorkloadName, type PrimaryNetwork } from './udn.js'

/** A workload: `namespace/name[Kind]` and its pods (at least one). */
export interface K8sWorkload {
  readonly name: string
  readonly namespace: string
  readonly kind: string
  readonly pods: readonly K8sPod[]
}

/** Everything the analysis reads, validated. */
export interface K8sModel {
  readonly namespaces: ReadonlyMap<string, K8sNamespace>
  readonly workloads: readonly K8sWorkload[]
  readonly networkPolicies: readonly NetworkPolicy[]
  /** AdminNetworkPolicies by priority (lower first), then name. */
  readonly adminPolicies: readonly AdminPolicy[]
  readonly baselinePolicy: AdminPolicy | undefined
  /** What Ingress and Route objects expose to `{ingress-controller}`. */
  readonly exposures: readonly Exposure[]
  /**
   * Namespace → its primary user-defined network (UDN/CUDN, see ./udn.ts); a namespace not in
   * the map is on the cluster's pod network.
   */
  readonly primaryNetworks: ReadonlyMap<string, PrimaryNetwork>
}

/**
 * Builds the model from Kubernetes objects. Invalid policies are left out with located errors
 * (so a caller must refuse to report connectivity when {@link hasErrors} of the diagnostics);
 * two AdminNetworkPolicies with one priority are a `k8s/same-priority` warning (the API leaves
 * their order undefined; they are taken by name); a second BaselineAdminNetworkPolicy is
 * `k8s/duplicate-object`. An input with no pod or workload is `k8s/no-workloads` (warning).
 * Kinds that carry no connectivity (ConfigMap, Secret, ...) are skipped without a note.
 * @param sink - receives diagnostics (the same sink the objects' documents report to).
 */
export function buildModel(objects: readonly KubernetesObject[], sink: Diagnostic[]): K8sModel {
  const { pods: allPods, namespaces } = podsAndNamespaces(objects)
  const declared = new Set(
    objects.filter((o) => o.value['kind'] === 'Namespace').map((o) => objectMeta(o).name ?? ''),
  )
  const networks = primaryNetworks(objects, namespaces, declared)
  // workloads of a UDN namespace are named `ns[udn]/name[Kind]`, as np-guard prints them
  const pods = allPods.map((p) =>
    networks.get(p.namespace)?.kind === 'UDN'
      ? { ...p, workload: udnWorkloadName(p.workload, p.namespace) }
      : p,
  )
  const networkPolicies: NetworkPolicy[] = []
  const adminPolicies: AdminPolicy[] = []
  let baselinePolicy: AdminPolicy | undefined
  const seenNp = new Set<string>()
  for (const obj of objects) {
    const kind = obj.value['kind']
    if (kind === 'NetworkPolicy') {
      const np = parseNetworkPolicy(obj, sink)
      if (!np) continue
      const k = `${np.namespace}/${np.name}`
      if (seenNp.has(k)) {
        obj.doc.report(
          'k8s/duplicate-object',
          `NetworkPolicy ${k} appears twice; this copy is ignored`,
          [...obj.path, 'metadata', 'name'],
          { severity: 'warning' },
        )
        continue
      }
      seenNp.add(k)
      networkPolicies.push(np)
    } else if (kind === 'AdminNetworkPolicy' || kind === 'BaselineAdminNetworkPolicy') {
      const ap = parseAdminPolicy(obj, sink)
      if (!ap) continue
      if (ap.kind === 'BaselineAdminNetworkPolicy') {
        if (baselinePolicy) {
          obj.doc.report(
            'k8s/duplicate-object',
            'a cluster has one BaselineAdminNetworkPolicy; this one is ignored',
            [...obj.path, 'metadata', 'name'],
          )
          continue
        }
        baselinePolicy = ap
      } else {
        const dup = adminPolicies.find((a) => a.name === ap.name)
        if (dup) {
          obj.doc.report(
            'k8s/duplicate-object',
            `AdminNetworkPolicy ${ap.name} appears twice; this copy is ignored`,
            [...obj.path, 'metadata', 'name'],
            { severity: 'warning' },
          )
          continue
        }
        const same = adminPolicies.find((a) => a.priority === ap.priority)
        if (same) {
          obj.doc.report(
            'k8s/same-priority',
            `AdminNetworkPolicy ${ap.name} has the same priority ${String(ap.priority)} as ${same.name}; their order is undefined in Kubernetes and is taken by name here`,
            [...obj.path, 'spec', 'priority'],
            {
              severity: 'warning',
              related: [same.object.doc.loc([...same.object.path, 'spec', 'priority'])],
            },
          )
        }
        adminPolicies.push(ap)
      }
    }
  }
  adminPolicies.sort(
    (a, b) =>
      (a.priority ?? 0) - (b.priority ?? 0) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  )
  const byName = new Map<string, K8sPod[]>()
  for (const p of pods) {
    const list = byName.get(p.workload)
    if (list) list.push(p)
    else byName.set(p.workload, [p])
  }
  const workloads: K8sWorkload[] = [...byName.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, ps]) => {
      const m = /^([^/]*)\/(.*)\[([^\]]*)\]$/.exec(name)
      return { name, namespace: ps[0]?.namespace ?? m?.[1] ?? '', kind: m?.[3] ?? '', pods: ps }
    })
  if (workloads.length === 0) {
    sink.push({
      code: 'k8s/no-workloads',
      severity: 'warning',
      message: 'no Pod or workload (Deployment, StatefulSet, ...) found; nothing to analyse',
    })
  }
  const exposures = parseExposures(objects, workloads)
  return {
    namespaces,
    workloads,
    networkPolicies,
    adminPolicies,
    baselinePolicy,
    exposures,
    primaryNetworks: networks,
  }
}

/**
 * Reads files (YAML, multi-document, JSON, `kind: List`) into a model.
 * @returns the model and every diagnostic, sorted.
 */
export function loadModel(files: readonly SourceFile[]): {
  model: K8sModel
  diagnostics: Diagnostic[]
} {
  const sink: Diagnostic[] = []
  const objects = kubernetesObjects(files, sink)
  const model = buildModel(objects, sink)
  return { model, diagnostics: sortDiagnostics(sink) }
}

/** Every port of one protocol, as a service set (ports 0–65535, as Bulkhead's `tcp`). */
export function wholeProtocol(protocol: number): ServiceSet {
  return ServiceSet.single({ protocol, ports: { lo: 0, hi: 65535 } })
}

/** The ports of `pod` named `name` (of `protocol`, or any protocol when undefined). */
export function namedPorts(
  pod: K8sPod | undefined,
  name: string,
  protocol: number | undefined,
): ServiceSet {
  if (!pod) return ServiceSet.EMPTY
  return ServiceSet.of(
    pod.ports
      .filter((p) => p.name === name && (protocol === undefined || p.protocol === protocol))
      .map((p) => ({ protocol: p.protocol, ports: { lo: p.port, hi: p.port } })),
  )
}

/**
 * The services a NetworkPolicy rule's ports allow towards `dst` (the destination pod, or
 * undefined for an address: a named port then allows nothing).
 */
export function netpolPortsSet(
  ports: readonly NetpolPort[] | 'all',
  dst: K8sPod | undefined,
): ServiceSet {
  if (ports === 'all') return ServiceSet.ANY
  let set = ServiceSet.EMPTY
  for (const p of ports) {
    if (p.port === undefined) set = set.union(wholeProtocol(p.protocol))
    else if (typeof p.port === 'string') set = set.union(namedPorts(dst, p.port, p.protocol))
    else
      set = set.union(
        ServiceSet.single({ protocol: p.protocol, ports: { lo: p.port, hi: p.endPort ?? p.port } }),
      )
  }
  return set
}

/** The services an admin policy rule's ports allow towards `dst` (as {@link netpolPortsSet}). */
export function anpPortsSet(
  ports: readonly AnpPort[] | 'all',
  dst: K8sPod | undefined,
): ServiceSet {
  if (ports === 'all') return ServiceSet.ANY
  let set = ServiceSet.EMPTY
  for (const p of ports) {
    if (p.kind === 'named') set = set.union(namedPorts(dst, p.name, undefined))
    else if (p.kind === 'number')
      set = set.union(
        ServiceSet.single({ protocol: p.protocol, ports: { lo: p.port, hi: p.port } }),
      )
    else
      set = set.union(
        ServiceSet.single({ protocol: p.protocol, ports: { lo: p.start, hi: p.end } }),
      )
  }
  return set
}
