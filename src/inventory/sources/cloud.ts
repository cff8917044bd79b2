/**
 * @module Workloads from cloud instances (AWS EC2, GCP Compute Engine, Azure virtual machines),
 * once each source has read its instances into one shape: a name, private addresses and tags.
 * One mechanism for all three: tags become labels (sanitised where needed), instances of one
 * name are one workload, labels they disagree on are dropped.
 * @remarks Semantics: DESIGN.md "Workspace, inventory and enforcement files" (tags become labels).
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

/** The cloud an instance was read from; its label origin is `source:<cloud>`. */
export type Cloud = 'aws' | 'gcp' | 'azure'

/** An address as an instance document gives it, with where. */
export interface RawAddress {
  /** Checked by {@link cloudWorkloads}: anything that is not address text is `inventory/bad-address`. */
  readonly ip: unknown
  readonly path: YamlPath
  /**
   * A secondary address (an AWS interface's secondary private IPv4, a GCP alias IP): on
   * Kubernetes nodes such addresses are the pods', so a workload of another source that holds
   * one keeps it (see {@link cloudWorkloads}' `secondary`).
   */
  readonly secondary?: boolean
}

/** An instance (EC2 instance, Compute Engine instance, Azure VM) found in an inventory document. */
export interface FoundInstance {
  readonly doc: YamlDoc
  /** Where the instance is in its document (`['Reservations', r, 'Instances', i]`, `[i]`). */
  readonly path: YamlPath
  readonly value: Record<string, unknown>
}

/** A tag (AWS, Azure) or label (GCP) as written, with where its key is. */
export interface RawTag {
  readonly key: string
  readonly value: string
  readonly path: YamlPath
}

/** One instance read by a cloud source, in the shape {@link cloudWorkloads} builds from. */
export interface CloudInstance {
  readonly doc: YamlDoc
  /** Where the instance is in its document. */
  readonly path: YamlPath
  /** The workload name: instances of one name (an auto-scaling group's) are one workload. */
  readonly name: string
  /** How messages name the instance (its id, else its name). */
  readonly id: string
  readonly addresses: readonly RawAddress[]
  /** Every tag, as written: raw tags of the workload, and labels unless in `notLabels`. */
  readonly tags: readonly RawTag[]
  /** Tag keys that are not labels (AWS `Name`, which is the name). */
  readonly notLabels?: ReadonlySet<string>
  /** Labels the source adds (`aws/vpc-id`, `gcp/network`), unless a tag gives that key. */
  readonly extra: Readonly<Record<string, string>>
}

/**
 * The `name` of an instance document (GCP, Azure), or undefined after a `schema/missing-field`
 * error at the instance when it has none (or an empty one).
 */
export function requiredName(inst: FoundInstance): string | undefined {
  const name = inst.value['name']
  if (typeof name === 'string' && name !== '') return name
  inst.doc.report('schema/missing-field', 'missing required field "name"', inst.path)
  return undefined
}

/** The text entries of the mapping `field` of an instance (GCP `labels`, Azure `tags`) as tags. */
export function tagsOf(inst: FoundInstance, field: string): RawTag[] {
  const map = inst.value[field]
  if (!isMapping(map)) return []
  const out: RawTag[] = []
  for (const [key, value] of Object.entries(map))
    if (typeof value === 'string') out.push({ key, value, path: [...inst.path, field, key] })
  return out
}

/**
 * A label key for a tag key: the key itself when it is a valid label key, else every character
 * outside `[A-Za-z0-9_.-]` replaced by `-`, leading and trailing non-alphanumerics removed, cut
 * to 63 characters (`aws:autoscaling:groupName` → `aws-autoscaling-groupName`).
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
    inst: CloudInstance
  }[]
}

/**
 * Builds workloads from the instances one cloud source read.
 *
 * - **Addresses**: canonicalised, deduplicated, without time bounds (a dump is a snapshot). A
 *   bad address is `inventory/bad-address` and leaves the instance out; an instance with no
 *   address gives an `inventory/no-address` warning and is left out.
 * - **Labels**: every tag not in `notLabels`; a key that is not a valid label key is sanitised
 *   ({@link sanitizeTagKey}) and a value with `=`, `,` or control characters too
 *   ({@link sanitizeTagValue}); the origin is `source:<cloud>`, or `source:<cloud>:tag:<raw key>`
 *   when the key or value was changed, so the raw tag stays visible in `bulkhead inventory`. A
 *   tag whose key sanitises to nothing, or to a key that a tag written with it (taken before
 *   tags whose key was changed, whatever their order) or `extra` (the source's own labels,
 *   `aws/vpc-id`) already gave, gives an `inventory/bad-label` warning and is left out. Labels on
 *   which same-named instances disagree are dropped with an `inventory/conflicting-labels`
 *   warning.
 * - **Tags** ({@link Workload.tags}, for `LabelRules` `match.tag`): every tag as written, keys and
 *   values unchanged; only those on which all same-named instances agree. Always set.
 *
 * @param secondary - when given, receives the addresses marked {@link RawAddress.secondary}.
 * @returns workloads sorted by name; diagnostics go to each instance's document sink.
 */
export function cloudWorkloads(
  cloud: Cloud,
  instances: readonly CloudInstance[],
  secondary?: Set<TimedAddress>,
): Workload[] {
  const origin: LabelOrigin = `source:${cloud}`
  const building = new Map<string, Building>()
  for (const inst of instances) {
    const d = inst.doc
    const addresses = instanceAddresses(inst, secondary)
    if (addresses === undefined) continue
    if (addresses.length === 0) {
      d.report(
        'inventory/no-address',
        `instance ${inst.id} has no private address; it is left out`,
        inst.path,
        { severity: 'warning' },
      )
      continue
    }
    const labels: Record<string, string> = {}
    const origins: Record<string, LabelOrigin> = {}
    const rawTags: Record<string, string> = {}
    // the source's own labels first (`aws/vpc-id` from VpcId): a tag of that key is left out
    for (const [k, v] of Object.entries(inst.extra)) {
      labels[k] = sanitizeTagValue(v)
      origins[k] = origin
    }
    // tags whose key is a label key as written before those sanitised into one: which tag of
    // two keeps a key does not hang on their order in the dump
    const keyed = inst.tags.map((t) => ({ t, k: sanitizeTagKey(t.key) }))
    const asWritten = keyed.filter((x) => x.k === x.t.key)
    for (const { t, k } of [...asWritten, ...keyed.filter((x) => x.k !== x.t.key)]) {
      rawTags[t.key] = t.value
      if (inst.notLabels?.has(t.key) === true) continue
      const val = sanitizeTagValue(t.value)
      if (k === undefined || Object.hasOwn(labels, k)) {
        d.report(
          'inventory/bad-label',
          k === undefined
            ? `tag "${t.key}" has no usable label key; it is left out`
            : Object.hasOwn(inst.extra, k)
              ? `tag "${t.key}" gives the label key "${k}" that the ${cloud} source sets itself; it is left out`
              : `tag "${t.key}" gives the label key "${k}" that another tag already gave; it is left out`,
          t.path,
          { severity: 'warning' },
        )
        continue
      }
      labels[k] = val
      origins[k] = k === t.key && val === t.value ? origin : `source:${cloud}:tag:${t.key}`
    }
    let b = building.get(inst.name)
    if (!b) {
      b = { name: inst.name, location: d.loc(inst.path), addresses: [], sets: [] }
      building.set(inst.name, b)
    }
    // one by one: an auto-scaling group can hold more addresses than a spread takes
    for (const a of addresses) b.addresses.push(a)
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
        .map((k) => [k, first.origins[k] ?? origin]),
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
 * The addresses of an instance; undefined when one is bad (reported). Secondary ones are also
 * added to `secondary`.
 */
function instanceAddresses(
  inst: CloudInstance,
  secondary: Set<TimedAddress> | undefined,
): TimedAddress[] | undefined {
  const out: TimedAddress[] = []
  const seen = new Set<string>()
  let ok = true
  for (const r of inst.addresses) {
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
