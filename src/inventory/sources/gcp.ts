/**
 * @module Inventory from GCP: Compute Engine instances as `gcloud compute instances list
 * --format=json` prints them (a JSON array), one instance (`gcloud compute instances describe
 * --format=json`), or the API's `instances.list` / `instances.aggregatedList` responses.
 *
 * @remarks Source format: Compute Engine API `Instance`
 * (https://cloud.google.com/compute/docs/reference/rest/v1/instances), labels
 * (https://cloud.google.com/compute/docs/labeling-resources) and network tags
 * (https://cloud.google.com/vpc/docs/add-remove-network-tags). Semantics: DESIGN.md "Workspace,
 * inventory and enforcement files" (cloud labels and tags become labels).
 */
import type { TimedAddress, Workload } from '../../core/index.js'
import { isMapping, type YamlDoc, type YamlPath } from '../../core/yaml-source.js'
import {
  cloudWorkloads,
  requiredName,
  tagsOf,
  type CloudInstance,
  type FoundInstance,
  type RawAddress,
} from './cloud.js'

/** The label holding the instance's VPC network name (of its first interface). */
export const GCP_NETWORK_LABEL = 'gcp/network'

/** The label holding the instance's zone (`europe-west1-b`). */
export const GCP_ZONE_LABEL = 'gcp/zone'

/** The prefix of the labels that carry network tags: `gcp-tag/http-server: "true"`. */
export const GCP_TAG_PREFIX = 'gcp-tag/'

/** One Compute Engine instance found in an inventory file, with where it is. */
export type GcpInstance = FoundInstance

const INSTANCE = 'compute#instance'

function isInstance(v: unknown): v is Record<string, unknown> {
  return isMapping(v) && v['kind'] === INSTANCE
}

/**
 * True when a parsed document holds Compute Engine instances: an array whose first element is
 * one (`kind: compute#instance`), one instance, or a `compute#instanceList` /
 * `compute#instanceAggregatedList`.
 */
export function isGcpInstances(value: unknown): boolean {
  if (Array.isArray(value)) return isInstance(value[0])
  if (!isMapping(value)) return false
  const kind = value['kind']
  return (
    kind === INSTANCE ||
    kind === 'compute#instanceList' ||
    kind === 'compute#instanceAggregatedList'
  )
}

/**
 * Collects the instances of a document {@link isGcpInstances} took into `into`. An element of
 * an array or list that is not an instance is `schema/invalid-value`.
 */
export function collectGcpInstances(d: YamlDoc, into: GcpInstance[]): void {
  const take = (v: unknown, path: YamlPath): void => {
    if (isInstance(v)) into.push({ doc: d, path, value: v })
    else d.report('schema/invalid-value', `not a Compute Engine instance (kind ${INSTANCE})`, path)
  }
  const value = d.value
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      take(v, [i])
    })
    return
  }
  if (!isMapping(value)) return
  if (value['kind'] === INSTANCE) {
    take(value, [])
    return
  }
  const items = value['items']
  if (value['kind'] === 'compute#instanceList') {
    if (Array.isArray(items)) {
      items.forEach((v, i) => {
        take(v, ['items', i])
      })
    }
    return
  }
  // aggregatedList: { items: { "zones/europe-west1-b": { instances: [...] } } }
  if (!isMapping(items)) return
  for (const [scope, group] of Object.entries(items)) {
    const list = isMapping(group) ? group['instances'] : undefined
    if (Array.isArray(list)) {
      list.forEach((v, i) => {
        take(v, ['items', scope, 'instances', i])
      })
    }
  }
}

/** The last segment of a resource URL (`.../zones/europe-west1-b` → `europe-west1-b`). */
function lastSegment(v: unknown): string | undefined {
  if (typeof v !== 'string' || v === '') return undefined
  const s = v.slice(v.lastIndexOf('/') + 1)
  return s === '' ? undefined : s
}

/**
 * Builds workloads from every collected instance (through {@link cloudWorkloads}).
 *
 * - **Name**: `name` (missing: `schema/missing-field`), the name VPC Flow Logs give as
 *   `vm_name`. Instances of one name (in two zones or projects) are one workload.
 * - **Addresses**: each interface's internal `networkIP` and `ipv6Address`, and its alias IP
 *   ranges of one address (`/32`, `/128`, as secondary addresses); wider alias ranges (a GKE
 *   node's pod range) are the pods', not the instance's, and external addresses
 *   (`accessConfigs`) are not workload addresses (flows inside a VPC carry internal ones).
 *   Every `status` is kept: a `TERMINATED` (stopped) instance keeps its internal address.
 * - **Labels**: every GCP label as it is; each network tag (`tags.items`, what firewall rules
 *   target) as `gcp-tag/<tag>: "true"`; plus `gcp/network` (the first interface's network
 *   name) and `gcp/zone`.
 * - **Tags** ({@link Workload.tags}): the GCP labels as written.
 */
export function gcpWorkloads(
  instances: readonly GcpInstance[],
  secondary?: Set<TimedAddress>,
): Workload[] {
  const cloud: CloudInstance[] = []
  for (const inst of instances) {
    const v = inst.value
    const name = requiredName(inst)
    if (name === undefined) continue
    const tags = tagsOf(inst, 'labels')
    const extra: Record<string, string> = {}
    const network = Array.isArray(v['networkInterfaces'])
      ? lastSegment(
          isMapping(v['networkInterfaces'][0]) ? v['networkInterfaces'][0]['network'] : '',
        )
      : undefined
    if (network !== undefined) extra[GCP_NETWORK_LABEL] = network
    const zone = lastSegment(v['zone'])
    if (zone !== undefined) extra[GCP_ZONE_LABEL] = zone
    const items = isMapping(v['tags']) ? v['tags']['items'] : undefined
    if (Array.isArray(items)) {
      for (const t of items)
        if (typeof t === 'string' && t !== '') extra[GCP_TAG_PREFIX + t] = 'true'
    }
    cloud.push({
      doc: inst.doc,
      path: inst.path,
      name,
      id: name,
      addresses: gcpAddresses(inst),
      tags,
      extra,
    })
  }
  return cloudWorkloads('gcp', cloud, secondary)
}

/** The address of an alias IP range of one address (`10.4.0.5/32`, `fd20::5/128`, `10.4.0.5`). */
function singleAddress(range: string): string | undefined {
  const [ip = '', prefix, more] = range.split('/')
  if (more !== undefined) return undefined
  if (prefix === undefined || prefix === (ip.includes(':') ? '128' : '32')) return ip
  return undefined
}

function gcpAddresses(inst: GcpInstance): RawAddress[] {
  const out: RawAddress[] = []
  const nics = inst.value['networkInterfaces']
  if (!Array.isArray(nics)) return out
  nics.forEach((nic, n) => {
    if (!isMapping(nic)) return
    const base = [...inst.path, 'networkInterfaces', n]
    if (nic['networkIP'] !== undefined)
      out.push({ ip: nic['networkIP'], path: [...base, 'networkIP'] })
    if (nic['ipv6Address'] !== undefined)
      out.push({ ip: nic['ipv6Address'], path: [...base, 'ipv6Address'] })
    const aliases = Array.isArray(nic['aliasIpRanges']) ? nic['aliasIpRanges'] : []
    aliases.forEach((a, i) => {
      const range = isMapping(a) ? a['ipCidrRange'] : undefined
      const ip = typeof range === 'string' ? singleAddress(range) : undefined
      if (ip !== undefined) {
        out.push({
          ip,
          path: [...base, 'aliasIpRanges', i, 'ipCidrRange'],
          secondary: true,
        })
      }
    })
  })
  return out
}
