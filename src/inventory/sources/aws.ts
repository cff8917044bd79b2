/**
 * @module Inventory from AWS: the JSON of `aws ec2 describe-instances`
 * (`{ "Reservations": [ { "Instances": [ ... ] } ] }`, or the instances alone with
 * `--query 'Reservations[].Instances[]'` or `'Reservations[*].Instances[*]'`), across any number
 * of files.
 *
 * @remarks Source format: AWS EC2 API `DescribeInstances` / `Instance`
 * (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Instance.html); tag rules
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Tags.html). Semantics:
 * DESIGN.md "Workspace, inventory and enforcement files" (tags become labels, `Name` tag as name).
 */
import type { LabelOrigin, TimedAddress, Workload } from '../../core/index.js'
import { isMapping, type YamlDoc, type YamlPath } from '../../core/yaml-source.js'
import {
  cloudWorkloads,
  type CloudInstance,
  type FoundInstance,
  type RawAddress,
  type RawTag,
} from './cloud.js'

export { sanitizeTagKey, sanitizeTagValue } from './cloud.js'

/** The label origin of a tag whose key and value were kept as they are. */
export const AWS_ORIGIN: LabelOrigin = 'source:aws'

/** The label holding the instance's VPC id. */
export const AWS_VPC_LABEL = 'aws/vpc-id'

/**
 * One EC2 instance found in an inventory file (at `['Reservations', r, 'Instances', i]`, or at
 * `[i]` / `[r, i]` in `--query` output).
 */
export type AwsInstance = FoundInstance

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined
}

/** An EC2 instance as `describe-instances` writes it: a mapping with a text `InstanceId`. */
function isInstance(v: unknown): boolean {
  return isMapping(v) && typeof v['InstanceId'] === 'string'
}

/**
 * True when a parsed document looks like `describe-instances` output: a mapping with
 * `Reservations`, or the instances alone as `--query` selects them: a sequence whose first
 * element is an instance (`--query 'Reservations[].Instances[]'`) or a sequence of such
 * sequences (`--query 'Reservations[*].Instances[*]'`, one per reservation).
 * @remarks `--query`: https://docs.aws.amazon.com/cli/latest/userguide/cli-usage-filter.html
 */
export function isAwsDescribeInstances(value: unknown): boolean {
  if (Array.isArray(value))
    return isInstance(value[0]) || (Array.isArray(value[0]) && isInstance(value[0][0]))
  return isMapping(value) && Object.hasOwn(value, 'Reservations') && !Object.hasOwn(value, 'kind')
}

/**
 * Collects the instances of a document {@link isAwsDescribeInstances} took into `into`.
 * `Reservations` or `Instances` that is not a sequence, or an instance that is not a mapping, is
 * `schema/invalid-value`; so is an element of a `--query` sequence that is not an instance (or,
 * in a sequence of sequences, not a sequence of instances).
 */
export function collectAwsInstances(d: YamlDoc, into: AwsInstance[]): void {
  if (Array.isArray(d.value)) {
    const take = (v: unknown, path: YamlPath): void => {
      if (isInstance(v)) into.push({ doc: d, path, value: v as Record<string, unknown> })
      else d.report('schema/invalid-value', 'not an EC2 instance (no "InstanceId")', path)
    }
    const nested = Array.isArray(d.value[0])
    d.value.forEach((v: unknown, i) => {
      if (!nested) take(v, [i])
      else if (!Array.isArray(v))
        d.report('schema/invalid-value', 'a reservation must be a sequence of instances', [i])
      else v.forEach((x: unknown, j) => take(x, [i, j]))
    })
    return
  }
  const reservations = (d.value as Record<string, unknown>)['Reservations']
  if (!Array.isArray(reservations)) {
    d.report('schema/invalid-value', '"Reservations" must be a sequence', ['Reservations'])
    return
  }
  reservations.forEach((r, ri) => {
    const instances = isMapping(r) ? r['Instances'] : undefined
    if (!Array.isArray(instances)) {
      d.report('schema/invalid-value', 'a reservation must have an "Instances" sequence', [
        'Reservations',
        ri,
      ])
      return
    }
    instances.forEach((inst, ii) => {
      const path = ['Reservations', ri, 'Instances', ii]
      if (!isMapping(inst)) d.report('schema/invalid-value', 'an instance must be a mapping', path)
      else into.push({ doc: d, path, value: inst })
    })
  })
}

/**
 * Builds workloads from every collected EC2 instance (through {@link cloudWorkloads}).
 *
 * - **Name**: the `Name` tag, else `InstanceId` (neither is `schema/missing-field`). Instances
 *   with the same `Name` (an auto-scaling group) are one workload with all their addresses, as
 *   replicas of one Kubernetes owner are.
 * - **Addresses**: `PrivateIpAddress`, every `NetworkInterfaces[].PrivateIpAddresses[].PrivateIpAddress`
 *   and `NetworkInterfaces[].Ipv6Addresses[].Ipv6Address`. No time bounds: `LaunchTime` is reset
 *   by stop/start while the private IP stays, so it does not bound the address. Public IPs are
 *   not workload addresses (flows inside a VPC carry private ones), nor are the prefixes of
 *   prefix delegation (`Ipv4Prefixes`, `Ipv6Prefixes`: on EKS the pods' addresses, which a pod
 *   dump gives). A `terminated` instance
 *   gives an `inventory/no-address` warning and is left out.
 * - **Labels**: every tag except `Name` (sanitised as {@link sanitizeTagKey} says), plus
 *   `aws/vpc-id: <VpcId>` when present. Instance ids, subnets and zones are not labels: they
 *   differ between the instances of one workload.
 * - **Tags**: every tag as written, `Name` included (a missing `Value` is `""`).
 *
 * @param secondary - when given, receives the addresses that are secondary private IPv4
 *   addresses of an interface (`PrivateIpAddresses[]` with `Primary: false`). On EKS these are
 *   the node's pods' addresses (the VPC CNI assigns them to the node's interfaces), so the
 *   inventory merge gives them to a workload of another source that holds them.
 * @returns workloads sorted by name; diagnostics go to each instance's document sink.
 */
export function awsWorkloads(
  instances: readonly AwsInstance[],
  secondary?: Set<TimedAddress>,
): Workload[] {
  const cloud: CloudInstance[] = []
  for (const inst of instances) {
    const v = inst.value
    const d = inst.doc
    const tags: unknown[] = Array.isArray(v['Tags']) ? (v['Tags'] as unknown[]) : []
    const tagName = tags.find((t) => isMapping(t) && t['Key'] === 'Name')
    const name = str(isMapping(tagName) ? tagName['Value'] : undefined) ?? str(v['InstanceId'])
    const id = str(v['InstanceId']) ?? name
    if (name === undefined || id === undefined) {
      d.report('schema/missing-field', 'missing required field "InstanceId"', inst.path)
      continue
    }
    const state = isMapping(v['State']) ? str(v['State']['Name']) : undefined
    if (state === 'terminated') {
      d.report('inventory/no-address', `instance ${id} is terminated; it is left out`, inst.path, {
        severity: 'warning',
      })
      continue
    }
    const raw: RawTag[] = []
    tags.forEach((t, i) => {
      if (!isMapping(t)) return
      const key = t['Key']
      const value = t['Value'] ?? ''
      if (typeof key !== 'string' || typeof value !== 'string') {
        d.report('schema/invalid-value', 'a tag is { Key, Value } with text values', [
          ...inst.path,
          'Tags',
          i,
        ])
        return
      }
      raw.push({ key, value, path: [...inst.path, 'Tags', i, 'Key'] })
    })
    const vpc = str(v['VpcId'])
    cloud.push({
      doc: d,
      path: inst.path,
      name,
      id,
      addresses: instanceAddresses(inst),
      tags: raw,
      notLabels: NOT_LABELS,
      extra: vpc !== undefined ? { [AWS_VPC_LABEL]: vpc } : {},
    })
  }
  return cloudWorkloads('aws', cloud, secondary)
}

const NOT_LABELS: ReadonlySet<string> = new Set(['Name'])

/** The private addresses an instance document names, with where; secondary IPv4 marked. */
function instanceAddresses(inst: AwsInstance): RawAddress[] {
  const raw: RawAddress[] = []
  const v = inst.value
  if (v['PrivateIpAddress'] !== undefined && v['PrivateIpAddress'] !== null)
    raw.push({ ip: v['PrivateIpAddress'], path: [...inst.path, 'PrivateIpAddress'] })
  const nics = Array.isArray(v['NetworkInterfaces']) ? v['NetworkInterfaces'] : []
  nics.forEach((nic, n) => {
    if (!isMapping(nic)) return
    const base = [...inst.path, 'NetworkInterfaces', n]
    const privs = Array.isArray(nic['PrivateIpAddresses']) ? nic['PrivateIpAddresses'] : []
    privs.forEach((p, i) => {
      if (isMapping(p) && p['PrivateIpAddress'] !== undefined)
        raw.push({
          ip: p['PrivateIpAddress'],
          path: [...base, 'PrivateIpAddresses', i, 'PrivateIpAddress'],
          secondary: p['Primary'] === false,
        })
    })
    if (privs.length === 0 && nic['PrivateIpAddress'] !== undefined)
      raw.push({ ip: nic['PrivateIpAddress'], path: [...base, 'PrivateIpAddress'] })
    const v6 = Array.isArray(nic['Ipv6Addresses']) ? nic['Ipv6Addresses'] : []
    v6.forEach((p, i) => {
      if (isMapping(p) && p['Ipv6Address'] !== undefined)
        raw.push({ ip: p['Ipv6Address'], path: [...base, 'Ipv6Addresses', i, 'Ipv6Address'] })
    })
  })
  return raw
}
