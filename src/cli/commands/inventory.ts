/**
 * @module `bulkhead inventory`: the resolved workloads (addresses with their time bounds, labels
 * and where each label came from) and the named externals of a workspace; and
 * `bulkhead inventory suggest-labels`: roles proposed for unlabelled workloads from their traffic,
 * printed as LabelRules to review and commit.
 */
import type { Command } from 'commander'
import { formatLocation, type Inventory, counted } from '../../core/index.js'
import {
  DEFAULT_MIN_SCORE,
  DEFAULT_ROLE_KEY,
  renderSuggestedLabelRules,
  suggestLabels,
  type LabelSuggestion,
} from '../../inventory/index.js'
import { emit, printDiagnostics, UsageError } from '../output.js'
import { loadDependencyMap } from '../dependency-map.js'
import {
  atOf,
  choiceOption,
  formerNowOption,
  outputOption,
  timeOption,
  verb,
  windowOptions,
} from '../usage.js'
import { loadOrThrow } from '../workspace.js'

/** One label of a workload in `inventory -o json`. Stable. */
export interface InventoryLabelOutput {
  readonly key: string
  readonly value: string
  /**
   * `explicit`, `label-rule:<n>` (the n-th label rule applied, counting from 1 in file order, as
   * editors number lines) or `source:<kind>[:tag:<raw>]`.
   */
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
    /** Raw cloud tags as the source wrote them (AWS only), for LabelRules `match.tag`. */
    readonly tags?: Readonly<Record<string, string>>
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
          const index = m ? Number(m[1]) : undefined
          const rule = index !== undefined ? inventory.labelRules[index] : undefined
          return {
            key,
            value: w.labels[key] ?? '',
            // the model's index is 0-based; users count rules from 1
            origin: index !== undefined ? `label-rule:${String(index + 1)}` : origin,
            ...(rule?.location ? { at: formatLocation(rule.location) } : {}),
          }
        }),
      ...(w.tags ? { tags: w.tags } : {}),
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
  if (rule) return `label rule ${rule[1] ?? ''}${l.at ? ` (${l.at})` : ''}`
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
  parts.push(`${counted(nw, 'workload')}, ${counted(nx, 'external')}`)
  return parts.join('\n\n')
}

/** The JSON/YAML data of `inventory suggest-labels -o json`. Stable. */
export interface SuggestLabelsOutput {
  readonly key: string
  readonly minScore: number
  /** The flows' span, ISO-8601 UTC. */
  readonly window: { readonly start: string; readonly end: string }
  /** Inventory workloads without the key. */
  readonly unlabelled: number
  readonly suggestions: readonly LabelSuggestion[]
}

/**
 * Renders suggestions as an aligned table (workload, proposed label, score with two decimals,
 * reason), then a count line.
 */
export function renderSuggestionsTable(out: SuggestLabelsOutput): string {
  const parts: string[] = []
  if (out.suggestions.length > 0) {
    const rows: string[][] = [['WORKLOAD', 'SUGGEST', 'SCORE', 'REASON']]
    for (const s of out.suggestions) {
      const alt = s.alternatives.map((a) => `${s.key}=${a.value} ${a.score.toFixed(2)}`)
      rows.push([
        s.workload,
        `${s.key}=${s.value}`,
        s.score.toFixed(2),
        s.reason + (alt.length > 0 ? `; also ${alt.join(', ')}` : ''),
      ])
    }
    parts.push(table(rows))
  }
  const n = out.suggestions.length
  parts.push(
    `${counted(n, 'suggestion')} for ${counted(out.unlabelled, 'workload')} without "${out.key}" (min score ${out.minScore})`,
  )
  return parts.join('\n\n')
}

/** Options of `inventory suggest-labels` as commander passes them. */
interface SuggestCliOptions {
  workspace: string
  since?: number
  until?: number
  minScore: number
  key: string
  group: 'workload' | 'role'
  output: string
}

function parseMinScore(text: string): number {
  const v = Number(text)
  if (!/^\d*\.?\d+$/.test(text.trim()) || !(v > 0 && v <= 1))
    throw new UsageError(`--min-score must be a number in (0, 1], not "${text}"`)
  return v
}

/** `--key`: a label key. @throws UsageError when empty. */
function parseKey(text: string): string {
  if (text.trim() === '') throw new UsageError('--key must not be empty')
  return text
}

/** Registers `inventory suggest-labels` under the `inventory` command. */
function registerSuggestLabels(inventory: Command): void {
  windowOptions(
    verb(inventory, 'suggest-labels')
      .description(
        'propose a role for unlabelled workloads whose traffic looks like a labelled role (same peers and ports), as LabelRules to review',
      )
      .option('-w, --workspace <dir>', 'workspace folder', '.'),
  )
    .option(
      '--min-score <n>',
      'least similarity (0–1] to propose a role',
      parseMinScore,
      DEFAULT_MIN_SCORE,
    )
    .option('--key <key>', 'the label key that names a role', parseKey, DEFAULT_ROLE_KEY)
    .addOption(
      choiceOption(
        '--group <by>',
        'one rule per workload or per role',
        ['workload', 'role'],
        (t) => `--group must be workload or role, not "${t}"`,
        'workload',
      ),
    )
    .addOption(outputOption(['yaml', 'json', 'text', 'table'], 'yaml', ' (yaml: LabelRules)'))
    .exitOverride()
    .addHelpText(
      'after',
      `
Each workload's traffic signature is the set of (in/out, peer, protocol, port) of its edges in the
dependency map; peers that carry the key count as their role (role=db), so replicas look alike.
The score is the Jaccard index against the closest labelled member of each role; a peer that is
an unlabelled workload counts only when both sides share it. -o yaml prints a LabelRules document
(one exact-name rule per workload, with the reason as a comment) to review and save under an
inventory folder.

Examples:
  $ bulkhead inventory suggest-labels -w my-estate > inventory/suggested-roles.yaml
  $ bulkhead inventory suggest-labels --key tier --min-score 0.8 -o text
  $ bulkhead inventory suggest-labels --since 2026-10-01 -o json | jq '.suggestions[].reason'

Exit codes: 0 success (also with no suggestions), 1 usage error or no flows in the store/window.`,
    )
    .action(async (opts: SuggestCliOptions) => {
      const { group, minScore, since, until } = opts
      const { inventory, workspace } = await loadOrThrow(opts.workspace, new Date())
      // rhythms do not matter here: no coverage expectations
      const map = await loadDependencyMap(workspace, inventory, {
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
        expect: [],
      })
      printDiagnostics(map.diagnostics)
      const suggestions = suggestLabels(map, inventory, { key: opts.key, minScore })
      if (opts.output === 'yaml') {
        process.stdout.write(renderSuggestedLabelRules(suggestions, { group }))
        return
      }
      const out: SuggestLabelsOutput = {
        key: opts.key,
        minScore,
        window: { start: iso(map.window.start), end: iso(map.window.end) },
        unlabelled: inventory.workloads.filter((w) => !Object.hasOwn(w.labels, opts.key)).length,
        suggestions,
      }
      emit(out, opts.output, (data) => renderSuggestionsTable(data))
    })
}

/** Registers `inventory` and its subcommand `suggest-labels`. */
export function registerInventory(program: Command): void {
  const inventory = verb(program, 'inventory')
    // options after "suggest-labels" are its own (both take -w and -o)
    .enablePositionalOptions()
    .description(
      'show the resolved workloads: addresses (with time bounds), labels and where each label came from, and the named externals',
    )
    .option('-w, --workspace <dir>', 'workspace folder', '.')
    .addOption(
      timeOption(
        '--at <time>',
        "when the policy's rule expiry is judged in the load's diagnostics (ISO-8601); the listing itself is the same at any time: addresses show their time bounds",
      ),
    )
    .addOption(formerNowOption())
    .addOption(outputOption(['table', 'text', 'json', 'yaml'], 'table', ' (text = table)'))
    .addHelpText(
      'after',
      `
Inventory folders may hold Bulkhead YAML, CSV (name,addresses,labels), Kubernetes manifests or
"kubectl get pods,deployments,replicasets,statefulsets,daemonsets -o json|yaml" dumps,
"aws ec2 describe-instances", "gcloud compute instances list --format=json" and
"az vm list --show-details -o json" JSON.

Subcommand: "bulkhead inventory suggest-labels" proposes roles for unlabelled workloads.

Examples:
  $ bulkhead inventory -w my-estate
  $ bulkhead inventory -o json | jq '.workloads[] | select(.labels == [])'

Exit codes: 0 loaded, 1 any error in the inventory or policy (printed with file:line:col).`,
    )
    .action(async (opts: { workspace: string; at: number; now?: number; output: string }) => {
      const { inventory } = await loadOrThrow(opts.workspace, new Date(atOf(opts)))
      emit(inventoryOutput(inventory), opts.output, (data) => renderInventoryTable(data))
    })
  registerSuggestLabels(inventory)
}
