/**
 * @module Inventory from Kubernetes: manifests, or `kubectl get pods,deployments,replicasets,
 * statefulsets,daemonsets,namespaces -o json|yaml` dumps (a `kind: List` / `PodList` with
 * `items`, or multi-document YAML), across any number of files.
 *
 * Every Pod with an IP becomes an address of the workload named after its top owner, as
 * np-guard's netpol-analyzer names workloads: `namespace/name[Kind]`.
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
import type { YamlDoc, YamlPath } from '../../core/yaml-source.js'

/** The label origin recorded for labels read from Kubernetes objects. */
export const KUBERNETES_ORIGIN: LabelOrigin = 'source:kubernetes'

/**
 * Pod labels that controllers add per revision; dropped so that replicas of one owner across
 * revisions share one label set.
 */
export const DROPPED_POD_LABELS: readonly string[] = [
  'pod-template-hash',
  'controller-revision-hash',
  'pod-template-generation',
]

/** Kinds that run pods and so name a workload when they are the top owner. */
const WORKLOAD_KINDS = new Set([
  'Deployment',
  'ReplicaSet',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
  'ReplicationController',
])

/** One Kubernetes object found in an inventory file, with where it is. */
export interface KubernetesObject {
  readonly doc: YamlDoc
  /** Path of the object inside its document: `[]` or `['items', i]`. */
  readonly path: YamlPath
  readonly value: Record<string, unknown>
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
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

interface Parsed {
  readonly obj: KubernetesObject
  readonly kind: string
  readonly name: string
  readonly namespace: string
  readonly uid: string | undefined
  readonly owner: { kind: string; name: string; uid: string | undefined } | undefined
}

function key(namespace: string, kind: string, name: string): string {
  return `${namespace}/${name}[${kind}]`
}

/** The controller owner reference (`controller: true`), else the first one. */
function ownerOf(meta: Record<string, unknown>): Parsed['owner'] {
  const refs = meta['ownerReferences']
  if (!Array.isArray(refs)) return undefined
  const good = refs.filter(
    (r): r is Record<string, unknown> => isMapping(r) && !!str(r['kind']) && !!str(r['name']),
  )
  const ref = good.find((r) => r['controller'] === true) ?? good[0]
  if (!ref) return undefined
  return { kind: ref['kind'] as string, name: ref['name'] as string, uid: str(ref['uid']) }
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
    if (DROPPED_POD_LABELS.includes(k)) continue
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

/** Where the pod template's labels are, by kind. */
function templateLabelsPath(kind: string): YamlPath {
  return kind === 'CronJob'
    ? ['spec', 'jobTemplate', 'spec', 'template', 'metadata', 'labels']
    : ['spec', 'template', 'metadata', 'labels']
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
 *   `default`.
 * - **Addresses.** `status.podIPs[].ip`, else `status.podIP`, canonicalised, no time bounds (a
 *   dump is a snapshot). Replicas of one owner are one workload with several addresses. Pods
 *   with no IP (pending), in phase `Succeeded`/`Failed` (their IP is released) or with
 *   `spec.hostNetwork: true` (the IP is the node's) give no address and an
 *   `inventory/no-address` warning; a bad IP is `inventory/bad-address`.
 * - **Labels.** The pod's labels minus {@link DROPPED_POD_LABELS}, plus `namespace: <ns>` (which
 *   wins over a pod label of that name); namespace objects' labels are not merged. Labels on
 *   which the replicas disagree are dropped with an `inventory/conflicting-labels` warning. A
 *   workload-kind object (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob,
 *   ReplicationController) that is a top owner but has no pod in the input (plain manifests)
 *   is still a workload, with no addresses and its pod template's labels.
 *   Every label's origin is `source:kubernetes`.
 * - Other kinds (Namespace, Service, NetworkPolicy, ConfigMap, ...) are ignored. An object
 *   without `metadata.name` is `schema/missing-field`; the same namespace, kind and name twice
 *   is an `inventory/duplicate-workload` warning and the second copy is ignored.
 *
 * @returns workloads sorted by name; diagnostics go to each object's document sink.
 */
export function kubernetesWorkloads(objects: readonly KubernetesObject[]): Workload[] {
  const parsed: Parsed[] = []
  const byKey = new Map<string, Parsed>()
  const byUid = new Map<string, Parsed>()
  for (const obj of objects) {
    const kind = obj.value['kind']
    if (typeof kind !== 'string') continue
    if (kind !== 'Pod' && !WORKLOAD_KINDS.has(kind)) continue
    const meta = obj.value['metadata']
    const name = isMapping(meta) ? str(meta['name']) : undefined
    if (!isMapping(meta) || name === undefined) {
      obj.doc.report(
        'schema/missing-field',
        `missing required field "name" of this ${kind}'s metadata`,
        isMapping(meta) ? [...obj.path, 'metadata'] : obj.path,
      )
      continue
    }
    const namespace = str(meta['namespace']) ?? 'default'
    const p: Parsed = { obj, kind, name, namespace, uid: str(meta['uid']), owner: ownerOf(meta) }
    const k = key(namespace, kind, name)
    const prior = byKey.get(k)
    if (prior) {
      obj.doc.report(
        'inventory/duplicate-workload',
        `${k} appears twice; this copy is ignored`,
        [...obj.path, 'metadata', 'name'],
        {
          severity: 'warning',
          related: [prior.obj.doc.loc([...prior.obj.path, 'metadata', 'name'])],
        },
      )
      continue
    }
    byKey.set(k, p)
    if (p.uid) byUid.set(p.uid, p)
    parsed.push(p)
  }

  const warnedOwners = new Set<string>()
  /** The workload name of `p`'s top owner, and the top object when present. */
  const topOf = (p: Parsed): { name: string; top: Parsed | undefined } => {
    let cur = p
    const seen = new Set<Parsed>([p])
    for (;;) {
      const ref = cur.owner
      if (!ref) return { name: key(cur.namespace, cur.kind, cur.name), top: cur }
      const next =
        (ref.uid ? byUid.get(ref.uid) : undefined) ??
        byKey.get(key(cur.namespace, ref.kind, ref.name))
      if (!next) {
        const missing = key(cur.namespace, ref.kind, ref.name)
        if (!warnedOwners.has(missing)) {
          warnedOwners.add(missing)
          cur.obj.doc.report(
            'inventory/unknown-owner',
            `owner ${missing} of ${key(cur.namespace, cur.kind, cur.name)} is not in the inventory; the workload is named after it`,
            [...cur.obj.path, 'metadata', 'ownerReferences'],
            {
              severity: 'warning',
              hint: 'include replicasets and deployments in the kubectl dump',
            },
          )
        }
        return { name: missing, top: undefined }
      }
      if (seen.has(next)) return { name: key(cur.namespace, cur.kind, cur.name), top: cur }
      seen.add(next)
      cur = next
    }
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
  const locOf = (p: Parsed): SourceLocation => p.obj.doc.loc(p.obj.path)

  for (const p of parsed) {
    if (p.kind !== 'Pod') continue
    const ips = podAddresses(p)
    if (ips === undefined || ips.length === 0) continue
    const labels = readLabels(p.obj, ['metadata', 'labels'])
    if (labels === undefined) continue
    const { name, top } = topOf(p)
    const b = get(name, top ? locOf(top) : locOf(p), p.obj.doc.sink)
    b.addresses.push(...ips)
    b.fromPods = true
    b.labelSets.push({ labels: { ...labels, namespace: p.namespace }, location: locOf(p) })
  }
  for (const p of parsed) {
    if (!WORKLOAD_KINDS.has(p.kind)) continue
    const { name, top } = topOf(p)
    if (top !== p) continue
    const b = get(name, locOf(p), p.obj.doc.sink)
    if (b.fromPods) continue
    const labels = readLabels(p.obj, templateLabelsPath(p.kind))
    if (labels === undefined) continue
    b.labelSets.push({ labels: { ...labels, namespace: p.namespace }, location: locOf(p) })
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
function podAddresses(p: Parsed): TimedAddress[] | undefined {
  const v = p.obj.value
  const spec = isMapping(v['spec']) ? v['spec'] : {}
  const status = isMapping(v['status']) ? v['status'] : {}
  const where = key(p.namespace, p.kind, p.name)
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
