/**
 * @module Inventory from AWS: the JSON of `aws ec2 describe-instances`
 * (`{ "Reservations": [ { "Instances": [ ... ] } ] }`), across any number of files.
 *
 * @remarks Source format: AWS EC2 API `DescribeInstances` / `Instance`
 * (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Instance.html); tag rules
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Tags.html). Semantics:
 * DESIGN.md "Workspace, inventory and enforcement files" (tags become labels, `Name` tag as name).
 */
import {
  checkLabelKey,
  checkLabelValue,
  labelSet,
  normalizeIp,
  type LabelOrigin,
  type SourceLocation,
  type TimedAddress,
  type Workload,
} from '../../core/index.js'
import { isMapping, type YamlDoc, type YamlPath } from '../../core/yaml-source.js'

/** The label origin of a tag whose key and value were kept as they are. */
export const AWS_ORIGIN: LabelOrigin = 'source:aws'

/** The label holding the instance's VPC id. */
export const AWS_VPC_LABEL = 'aws/vpc-id'

/** One EC2 instance found in an inventory file, with where it is. */
export interface AwsInstance {
  readonly doc: YamlDoc
  /** `['Reservations', r, 'Instances', i]` */
  readonly path: YamlPath
  readonly value: Record<string, unknown>
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined
}

/** True when a parsed document looks like `describe-instances` output: a mapping with `Reservations`. */
export function isAwsDescribeInstances(value: unknown): boolean {
  return isMapping(value) && Object.hasOwn(value, 'Reservations') && !Object.hasOwn(value, 'kind')
}

/**
 * Collects the instances of a `describe-instances` document into `into`. `Reservations` or
 * `Instances` that is not a sequence, or an instance that is not a mapping, is
 * `schema/invalid-value`.
 */
export function collectAwsInstances(d: YamlDoc, into: AwsInstance[]): void {
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
 * A label key for an AWS tag key: the key itself when it is a valid label key, else every
 * character outside `[A-Za-z0-9_.-]` replaced by `-`, leading and trailing non-alphanumerics
 * removed, cut to 63 characters (`aws:autoscaling:groupName` → `aws-autoscaling-groupName`).
 * @returns undefined when nothing usable is left.
 */
export function sanitizeTagKey(raw: string): string | undefined {
  if (checkLabelKey(raw) === undefined) return raw
  const k = raw
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+/, '')
    .replace(/[^A-Za-z0-9]+$/, '')
  return k !== '' && checkLabelKey(k) === undefined ? k : undefined
}

/** A label value for a tag value: `=`, `,` and control characters replaced by `-`, cut to 253. */
export function sanitizeTagValue(raw: string): string {
  if (checkLabelValue(raw) === undefined) return raw
  return raw.replace(/[\p{Cc}=,]/gu, '-').slice(0, 253)
}

interface Building {
  name: string
  location: SourceLocation
  addresses: TimedAddress[]
  sets: {
    labels: Record<string, string>
    origins: Record<string, LabelOrigin>
    tags: Record<string, string>
    inst: AwsInstance
  }[]
}

/**
 * Builds workloads from every collected EC2 instance.
 *
 * - **Name**: the `Name` tag, else `InstanceId` (neither is `schema/missing-field`). Instances
 *   with the same `Name` (an auto-scaling group) are one workload with all their addresses, as
 *   replicas of one Kubernetes owner are.
 * - **Addresses**: `PrivateIpAddress`, every `NetworkInterfaces[].PrivateIpAddresses[].PrivateIpAddress`
 *   and `NetworkInterfaces[].Ipv6Addresses[].Ipv6Address`, canonicalised, deduplicated, without
 *   time bounds (the dump is a snapshot; `LaunchTime` is reset by stop/start while the private
 *   IP stays, so it does not bound the address). Public IPs are not workload addresses (flows
 *   inside a VPC carry private ones). A bad address is `inventory/bad-address`. A `terminated`
 *   instance, or one without any private address, gives an `inventory/no-address` warning and
 *   is left out.
 * - **Labels**: every tag except `Name`; a tag key that is not a valid label key is sanitised
 *   ({@link sanitizeTagKey}) and a value with `=`, `,` or control characters too
 *   ({@link sanitizeTagValue}); the origin is `source:aws`, or `source:aws:tag:<raw key>` when
 *   the key or value was changed, so the raw tag stays visible in `bulkhead inventory`. A tag
 *   whose key sanitises to nothing, or two tags sanitising to one key, give an
 *   `inventory/bad-label` warning and are left out. Plus `aws/vpc-id: <VpcId>` when present.
 *   Instance ids, subnets and zones are not labels: they differ between the instances of one
 *   workload. Labels on which same-named instances disagree are dropped with an
 *   `inventory/conflicting-labels` warning.
 * - **Tags** ({@link Workload.tags}, for `LabelRules` `match.tag`): every tag as written, `Name`
 *   included, keys and values unchanged (a missing `Value` is `""`); only the tags on which all
 *   same-named instances agree. Always set (`{}` for an untagged instance).
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
  const building = new Map<string, Building>()
  for (const inst of instances) {
    const v = inst.value
    const d = inst.doc
    const tags: unknown[] = Array.isArray(v['Tags']) ? (v['Tags'] as unknown[]) : []
    const tagName = tags.find((t) => isMapping(t) && t['Key'] === 'Name')
    const name = str(isMapping(tagName) ? tagName['Value'] : undefined) ?? str(v['InstanceId'])
    const id = str(v['InstanceId']) ?? name
    if (name === undefined) {
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
    const addresses = instanceAddresses(inst, secondary)
    if (addresses === undefined) continue
    if (addresses.length === 0) {
      d.report(
        'inventory/no-address',
        `instance ${id} has no private address; it is left out`,
        inst.path,
        {
          severity: 'warning',
        },
      )
      continue
    }
    const labels: Record<string, string> = {}
    const origins: Record<string, LabelOrigin> = {}
    const rawTags: Record<string, string> = {}
    tags.forEach((t, i) => {
      if (!isMapping(t)) return
      const rawKey = t['Key']
      const rawValue = t['Value'] ?? ''
      if (typeof rawKey !== 'string' || typeof rawValue !== 'string') {
        d.report('schema/invalid-value', 'a tag is { Key, Value } with text values', [
          ...inst.path,
          'Tags',
          i,
        ])
        return
      }
      rawTags[rawKey] = rawValue
      if (rawKey === 'Name') return
      const k = sanitizeTagKey(rawKey)
      const val = sanitizeTagValue(rawValue)
      if (k === undefined || Object.hasOwn(labels, k)) {
        d.report(
          'inventory/bad-label',
          k === undefined
            ? `tag "${rawKey}" has no usable label key; it is left out`
            : `tag "${rawKey}" gives the label key "${k}" that another tag already gave; it is left out`,
          [...inst.path, 'Tags', i, 'Key'],
          { severity: 'warning' },
        )
        return
      }
      labels[k] = val
      origins[k] = k === rawKey && val === rawValue ? AWS_ORIGIN : `source:aws:tag:${rawKey}`
    })
    const vpc = str(v['VpcId'])
    if (vpc !== undefined && !Object.hasOwn(labels, AWS_VPC_LABEL)) {
      labels[AWS_VPC_LABEL] = sanitizeTagValue(vpc)
      origins[AWS_VPC_LABEL] = AWS_ORIGIN
    }
    let b = building.get(name)
    if (!b) {
      b = { name, location: d.loc(inst.path), addresses: [], sets: [] }
      building.set(name, b)
    }
    b.addresses.push(...addresses)
    b.sets.push({ labels, origins, tags: rawTags, inst })
  }

  const out: Workload[] = []
  for (const b of [...building.values()].sort((x, y) =>
    x.name < y.name ? -1 : x.name > y.name ? 1 : 0,
  )) {
    const [first, ...rest] = b.sets
    if (!first) continue
    const dropped = new Set<string>()
    for (const s of rest)
      for (const k of new Set([...Object.keys(first.labels), ...Object.keys(s.labels)]))
        if (first.labels[k] !== s.labels[k]) dropped.add(k)
    const labels = Object.fromEntries(Object.entries(first.labels).filter(([k]) => !dropped.has(k)))
    for (const k of [...dropped].sort()) {
      const other = rest.find((s) => s.labels[k] !== first.labels[k])
      first.inst.doc.report(
        'inventory/conflicting-labels',
        `instances named "${b.name}" disagree on label "${k}"; it is left out`,
        first.inst.path,
        {
          severity: 'warning',
          ...(other ? { related: [other.inst.doc.loc(other.inst.path)] } : {}),
        },
      )
    }
    const seen = new Set<string>()
    const addresses = b.addresses.filter((a) => !seen.has(a.ip) && (seen.add(a.ip), true))
    const labelOrigins = Object.fromEntries(
      Object.keys(labels)
        .sort()
        .map((k) => [k, first.origins[k] ?? AWS_ORIGIN]),
    )
    // raw tags on which every instance of the workload agrees (conflicts were reported above
    // through the labels they give)
    const rawTags = Object.fromEntries(
      Object.keys(first.tags)
        .filter((k) => rest.every((s) => s.tags[k] === first.tags[k]))
        .sort()
        .map((k) => [k, first.tags[k] as string]),
    )
    out.push({
      name: b.name,
      addresses,
      labels: labelSet(labels),
      labelOrigins,
      tags: rawTags,
      location: b.location,
    })
  }
  return out
}

/**
 * The private addresses of an instance; undefined when one is bad (reported). Secondary private
 * IPv4 addresses are also added to `secondary`.
 */
function instanceAddresses(
  inst: AwsInstance,
  secondary: Set<TimedAddress> | undefined,
): TimedAddress[] | undefined {
  const raw: { ip: unknown; path: YamlPath; secondary?: boolean }[] = []
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
  const out: TimedAddress[] = []
  const seen = new Set<string>()
  let ok = true
  for (const r of raw) {
    const ip = typeof r.ip === 'string' ? normalizeIp(r.ip) : undefined
    if (ip === undefined) {
      inst.doc.report(
        'inventory/bad-address',
        `${JSON.stringify(r.ip)} is not an IPv4 or IPv6 address`,
        r.path,
      )
      ok = false
    } else if (!seen.has(ip)) {
      seen.add(ip)
      const a: TimedAddress = { ip, location: inst.doc.loc(r.path) }
      if (r.secondary === true) secondary?.add(a)
      out.push(a)
    }
  }
  return ok ? out : undefined
}
