/**
 * @module `bulkhead inventory`: the resolved workloads (addresses with their time bounds, labels
 * and where each label came from) and the named externals of a workspace.
 */
import type { Command } from 'commander'
import { formatLocation, type Inventory } from '../../core/index.js'
import { checkFormat, emit } from '../output.js'
import { loadOrThrow, parseTime } from '../workspace.js'

/** One label of a workload in `inventory -o json`. Stable. */
export interface InventoryLabelOutput {
  readonly key: string
  readonly value: string
  /** `explicit`, `label-rule:<n>` (0-based index in file order) or `source:<kind>[:tag:<raw>]`. */
  readonly origin: string
  /** For `label-rule:<n>`: where the rule is, `file:line:col`. */
  readonly at?: string
}

/** One address in `inventory -o json`: times are ISO-8601 UTC, `[from, to)`, absent = open. Stable. */
export interface InventoryAddressOutput {
  readonly ip: string
  readonly from?: string
  readonly to?: string
}

/** The JSON/YAML shape of `bulkhead inventory`. Stable. */
export interface InventoryOutput {
  readonly workloads: readonly {
    readonly name: string
    readonly location?: string
    readonly addresses: readonly InventoryAddressOutput[]
    readonly labels: readonly InventoryLabelOutput[]
  }[]
  readonly externals: readonly {
    readonly name: string
    readonly cidr: string
    readonly labels: Readonly<Record<string, string>>
    readonly location?: string
  }[]
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z')
}

/** Builds the output data from a loaded inventory. Pure. */
export function inventoryOutput(inventory: Inventory): InventoryOutput {
  return {
    workloads: inventory.workloads.map((w) => ({
      name: w.name,
      ...(w.location ? { location: formatLocation(w.location) } : {}),
      addresses: w.addresses.map((a) => ({
        ip: a.ip,
        ...(a.from !== undefined ? { from: iso(a.from) } : {}),
        ...(a.to !== undefined ? { to: iso(a.to) } : {}),
      })),
      labels: Object.keys(w.labels)
        .sort()
        .map((key) => {
          const origin = w.labelOrigins?.[key] ?? 'explicit'
          const m = /^label-rule:(\d+)$/.exec(origin)
          const rule = m ? inventory.labelRules[Number(m[1])] : undefined
          return {
            key,
            value: w.labels[key] ?? '',
            origin,
            ...(rule?.location ? { at: formatLocation(rule.location) } : {}),
          }
        }),
    })),
    externals: inventory.externals.map((x) => ({
      name: x.name,
      cidr: x.cidr.text,
      labels: x.labels,
      ...(x.location ? { location: formatLocation(x.location) } : {}),
    })),
  }
}

function addressText(a: InventoryAddressOutput): string {
  if (a.from === undefined && a.to === undefined) return a.ip
  return `${a.ip} [${a.from ?? '…'}, ${a.to ?? '…'})`
}

function originText(l: InventoryLabelOutput): string {
  const rule = /^label-rule:(\d+)$/.exec(l.origin)
  if (rule) return `label-rule ${rule[1]}${l.at ? ` (${l.at})` : ''}`
  const tag = /^source:([^:]+):tag:(.*)$/.exec(l.origin)
  if (tag) return `source ${tag[1]} (tag ${JSON.stringify(tag[2])})`
  if (l.origin.startsWith('source:')) return `source ${l.origin.slice('source:'.length)}`
  return l.origin
}

/** Pads columns to a common width; the last column is not padded. */
function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = []
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)))
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

/**
 * Renders the inventory as aligned text: one block per workload (name on its first line; one
 * line per address and per label, side by side), then the externals, then a count.
 */
export function renderInventoryTable(out: InventoryOutput): string {
  const parts: string[] = []
  if (out.workloads.length > 0) {
    const rows: string[][] = [['WORKLOAD', 'ADDRESS', 'LABEL', 'FROM']]
    for (const w of out.workloads) {
      const n = Math.max(1, w.addresses.length, w.labels.length)
      for (let i = 0; i < n; i++) {
        const a = w.addresses[i]
        const l = w.labels[i]
        rows.push([
          i === 0 ? w.name : '',
          a ? addressText(a) : i === 0 ? '-' : '',
          l ? `${l.key}=${l.value}` : i === 0 ? '-' : '',
          l ? originText(l) : '',
        ])
      }
    }
    parts.push(table(rows))
  }
  if (out.externals.length > 0) {
    const rows: string[][] = [['EXTERNAL', 'CIDR', 'LABELS']]
    for (const x of out.externals) {
      const labels = Object.entries(x.labels).map(([k, v]) => `${k}=${v}`)
      rows.push([x.name, x.cidr, labels.join(',') || '-'])
    }
    parts.push(table(rows))
  }
  const nw = out.workloads.length
  const nx = out.externals.length
  parts.push(`${nw} workload${nw === 1 ? '' : 's'}, ${nx} external${nx === 1 ? '' : 's'}`)
  return parts.join('\n\n')
}

/** Registers `inventory`. */
export function registerInventory(program: Command): void {
  program
    .command('inventory')
    .description(
      'show the resolved workloads: addresses (with time bounds), labels and where each label came from, and the named externals',
    )
    .option('-w, --workspace <dir>', 'workspace folder', '.')
    .option('--now <time>', 'the time at which rule expiry is judged (ISO-8601)', 'now')
    .option('-o, --output <format>', 'table | json | yaml (text = table)', 'table')
    .addHelpText(
      'after',
      `
Inventory folders may hold Bulkhead YAML, CSV (name,addresses,labels), Kubernetes manifests or
"kubectl get pods,deployments,replicasets,statefulsets,daemonsets -o json|yaml" dumps, and
"aws ec2 describe-instances" JSON.

Examples:
  $ bulkhead inventory -w my-estate
  $ bulkhead inventory -o json | jq '.workloads[] | select(.labels == [])'

Exit codes: 0 loaded, 1 any error in the inventory or policy (printed with file:line:col).`,
    )
    .action(async (opts: { workspace: string; now: string; output: string }) => {
      checkFormat(opts.output, ['table', 'text', 'json', 'yaml'])
      const { inventory } = await loadOrThrow(opts.workspace, new Date(parseTime(opts.now)))
      emit(inventoryOutput(inventory), opts.output, (data) => renderInventoryTable(data))
    })
}
