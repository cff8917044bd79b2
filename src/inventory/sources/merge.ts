/**
 * @module Combines the inventory sources of a workspace: Bulkhead YAML, CSV, Kubernetes dumps,
 * AWS `describe-instances`, GCP `gcloud compute instances list` and Azure `az vm list -d` JSON. Decides which source reads which file or document, builds the
 * Kubernetes and AWS workloads once every file is read, and merges workloads of the same name
 * from different sources (reporting conflicting labels and addresses held twice).
 * @remarks Semantics: DESIGN.md "Workspace, inventory and enforcement files".
 */
import {
  diagnostic,
  labelSet,
  type Diagnostic,
  type LabelOrigin,
  type SourceLocation,
  type TimedAddress,
  type Workload,
} from '../../core/index.js'
import type { SourceFile, YamlDoc } from '../../core/yaml-source.js'
import {
  awsWorkloads,
  collectAwsInstances,
  isAwsDescribeInstances,
  type AwsInstance,
} from './aws.js'
import { azureWorkloads, collectAzureVms, isAzureVms, type AzureVm } from './azure.js'
import { readCsvInventory } from './csv.js'
import { collectGcpInstances, gcpWorkloads, isGcpInstances, type GcpInstance } from './gcp.js'
import {
  collectKubernetesObjects,
  isKubernetesDocument,
  kubernetesWorkloads,
  type KubernetesObject,
} from './kubernetes.js'

/** Which source a workload came from. */
export type SourceKind = 'yaml' | 'csv' | 'kubernetes' | 'aws' | 'gcp' | 'azure'

/** True for file names the CSV source reads. */
export function isCsvFile(path: string): boolean {
  return /\.csv$/i.test(path)
}

/**
 * Collects what the non-YAML sources read while the loader walks the inventory files, then
 * builds and merges. Use: for each file, {@link readFile}; when it returns false, parse it as
 * YAML (JSON is YAML 1.2, so `.json` files too) and offer each document to {@link readDocument}
 * before the Bulkhead reader; at the end call {@link finish}.
 */
export class SourceCollector {
  private readonly csv: Workload[] = []
  private readonly csvNames = new Map<string, SourceLocation>()
  private readonly kube: KubernetesObject[] = []
  private readonly aws: AwsInstance[] = []
  private readonly gcp: GcpInstance[] = []
  private readonly azure: AzureVm[] = []

  /** Bulkhead kinds: documents of these kinds are never taken as Kubernetes objects. */
  constructor(private readonly bulkheadKinds: readonly string[]) {}

  /** Reads a CSV file (by its extension) and returns true; returns false for other files. */
  readFile(file: SourceFile, sink: Diagnostic[]): boolean {
    if (!isCsvFile(file.path)) return false
    this.csv.push(...readCsvInventory(file, sink, this.csvNames))
    return true
  }

  /**
   * Takes a Kubernetes object or list, an AWS `describe-instances` document (or its instances
   * alone, as `--query` selects them), GCP Compute Engine instances or Azure virtual machines,
   * or an empty sequence (a cloud listing without instances: no workloads), and returns true;
   * returns false for anything else (left to the Bulkhead reader, which reports unknown kinds).
   */
  readDocument(d: YamlDoc): boolean {
    // an empty sequence: what `gcloud … --format=json`, `az vm list` and `describe-instances
    // --query 'Reservations[].Instances[]'` print where there are no instances
    if (Array.isArray(d.value) && d.value.length === 0) return true
    if (isAwsDescribeInstances(d.value)) {
      collectAwsInstances(d, this.aws)
      return true
    }
    if (isGcpInstances(d.value)) {
      collectGcpInstances(d, this.gcp)
      return true
    }
    if (isAzureVms(d.value)) {
      collectAzureVms(d, this.azure)
      return true
    }
    if (isKubernetesDocument(d.value, this.bulkheadKinds)) {
      collectKubernetesObjects(d, this.kube)
      return true
    }
    return false
  }

  /**
   * Builds the Kubernetes and AWS workloads and merges every source by workload name.
   *
   * Workloads of one name from different sources become one workload: addresses are joined
   * (identical ones kept once), labels joined with their origins; the same key with different
   * values is `inventory/conflicting-labels` at the later source's workload, `related` = the
   * earlier. Sources are taken in the order YAML, CSV, Kubernetes, AWS, GCP, Azure; the merged workload keeps
   * the first one's location, and the raw tags of the first source that has any. Duplicate
   * names inside one source are that source's business (YAML and CSV report
   * `inventory/duplicate-workload`; Kubernetes and AWS group replicas).
   * A secondary address of a cloud instance (an AWS interface's secondary private IPv4, a GCP
   * alias IP) that a workload of another source holds at
   * an overlapping time is that workload's alone (on EKS the node's secondary addresses are its
   * pods'). Then an address held by two different workloads at overlapping times is
   * `inventory/duplicate-address`, except when both come from YAML (already reported by
   * `checkInventory`).
   * @param yaml - the YAML workloads (explicit labels), in file order.
   * @returns every workload, YAML ones first in their order, then the others by name.
   */
  finish(yaml: readonly Workload[], sink: Diagnostic[]): Workload[] {
    const secondary = new Set<TimedAddress>()
    const groups: [SourceKind, readonly Workload[]][] = [
      ['yaml', yaml],
      ['csv', this.csv],
      ['kubernetes', kubernetesWorkloads(this.kube)],
      ['aws', awsWorkloads(this.aws, secondary)],
      ['gcp', gcpWorkloads(this.gcp, secondary)],
      ['azure', azureWorkloads(this.azure, secondary)],
    ]
    const merged = new Map<string, Merging>()
    const order: Merging[] = []
    const addressKind = new Map<TimedAddress, SourceKind>()
    for (const [kind, workloads] of groups) {
      for (const w of workloads) {
        for (const a of w.addresses) addressKind.set(a, kind)
        const m = merged.get(w.name)
        if (!m || m.kinds.has(kind)) {
          if (m) continue // a duplicate inside one source: reported by that source
          const fresh: Merging = {
            workload: w,
            kinds: new Set([kind]),
            labels: { ...w.labels },
            origins: { ...originsOf(w) },
            labelAt: Object.fromEntries(Object.keys(w.labels).map((k) => [k, w.location])),
            addresses: [...w.addresses],
            tags: w.tags,
          }
          merged.set(w.name, fresh)
          order.push(fresh)
          continue
        }
        m.kinds.add(kind)
        m.tags ??= w.tags
        const origins = originsOf(w)
        for (const [k, v] of Object.entries(w.labels)) {
          const had = m.labels[k]
          if (had === undefined) {
            m.labels[k] = v
            m.origins[k] = origins[k] ?? `source:${kind}`
            m.labelAt[k] = w.location
          } else if (had !== v) {
            const first = m.labelAt[k]
            sink.push(
              diagnostic(
                'inventory/conflicting-labels',
                `workload "${w.name}" has ${k}=${v} from ${kind} but ${k}=${had} from ${m.origins[k] ?? 'another source'}`,
                w.location,
                {
                  ...(first ? { related: [first] } : {}),
                  hint: 'make the sources agree, or drop the label from one',
                },
              ),
            )
          }
        }
        for (const a of w.addresses) {
          if (!m.addresses.some((b) => b.ip === a.ip && b.from === a.from && b.to === a.to))
            m.addresses.push(a)
        }
      }
    }
    const out = order.map((m): Workload => {
      if (m.kinds.size === 1) return m.workload
      return {
        name: m.workload.name,
        addresses: m.addresses,
        labels: labelSet(m.labels),
        labelOrigins: Object.fromEntries(
          Object.keys(m.origins)
            .sort()
            .map((k) => [k, m.origins[k] as LabelOrigin]),
        ),
        ...(m.tags ? { tags: m.tags } : {}),
        ...(m.workload.location ? { location: m.workload.location } : {}),
      }
    })
    const kept = withoutYieldedAddresses(out, secondary)
    sink.push(...duplicateAddresses(kept, addressKind))
    return kept
  }
}

/** Drops the `weak` addresses that another workload holds at an overlapping time. */
function withoutYieldedAddresses(
  workloads: readonly Workload[],
  weak: ReadonlySet<TimedAddress>,
): Workload[] {
  if (weak.size === 0) return [...workloads]
  const strong = new Map<string, { workload: string; address: TimedAddress }[]>()
  for (const w of workloads) {
    for (const a of w.addresses) {
      if (weak.has(a)) continue
      const held = strong.get(a.ip) ?? []
      held.push({ workload: w.name, address: a })
      strong.set(a.ip, held)
    }
  }
  return workloads.map((w) => {
    const addresses = w.addresses.filter(
      (a) =>
        !weak.has(a) ||
        !(strong.get(a.ip) ?? []).some((h) => h.workload !== w.name && overlaps(h.address, a)),
    )
    return addresses.length === w.addresses.length ? w : { ...w, addresses }
  })
}

interface Merging {
  workload: Workload
  kinds: Set<SourceKind>
  labels: Record<string, string>
  origins: Record<string, LabelOrigin>
  labelAt: Record<string, SourceLocation | undefined>
  addresses: TimedAddress[]
  /** Raw cloud tags: those of the first source that has any (only AWS sets them). */
  tags: Readonly<Record<string, string>> | undefined
}

function originsOf(w: Workload): Record<string, LabelOrigin> {
  const out: Record<string, LabelOrigin> = {}
  for (const k of Object.keys(w.labels)) out[k] = w.labelOrigins?.[k] ?? 'explicit'
  return out
}

function overlaps(a: TimedAddress, b: TimedAddress): boolean {
  return (a.from ?? -Infinity) < (b.to ?? Infinity) && (b.from ?? -Infinity) < (a.to ?? Infinity)
}

function duplicateAddresses(
  workloads: readonly Workload[],
  kindOf: ReadonlyMap<TimedAddress, SourceKind>,
): Diagnostic[] {
  const out: Diagnostic[] = []
  const byIp = new Map<string, { workload: string; address: TimedAddress }[]>()
  for (const w of workloads) {
    for (const a of w.addresses) {
      const held = byIp.get(a.ip) ?? []
      const clash = held.find(
        (h) =>
          h.workload !== w.name &&
          overlaps(h.address, a) &&
          !(kindOf.get(h.address) === 'yaml' && kindOf.get(a) === 'yaml'),
      )
      if (clash) {
        out.push(
          diagnostic(
            'inventory/duplicate-address',
            `${a.ip} of workload "${w.name}" (${kindOf.get(a) ?? 'yaml'}) is also held by workload "${clash.workload}" (${kindOf.get(clash.address) ?? 'yaml'}) at an overlapping time`,
            a.location ?? w.location,
            { ...(clash.address.location ? { related: [clash.address.location] } : {}) },
          ),
        )
      }
      held.push({ workload: w.name, address: a })
      byIp.set(a.ip, held)
    }
  }
  return out
}
