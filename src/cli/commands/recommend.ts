/**
 * @module `bulkhead recommend`: least-privilege policy files from the stored flows' dependency
 * map, with evidence, and a summary (coverage, over-permission, flagged rules).
 * @remarks Semantics: issue 5; the core is `src/recommend` (pure); this shell builds the map,
 * writes the files and prints the report.
 */
import { readdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { Option, type Command } from 'commander'
import { counted, type Diagnostic } from '../../core/index.js'
import {
  recommend,
  recommendationFiles,
  renderReportMarkdown,
  renderReportText,
  type ExpectedRhythm,
  type Granularity,
  type RecommendReport,
} from '../../recommend/index.js'
import { printDiagnostics, toYaml, UsageError, makeDirectory } from '../output.js'
import { loadDependencyMap } from '../dependency-map.js'
import {
  choiceOption,
  outputOption,
  timeOption,
  verb,
  wholeNumber,
  windowOptions,
} from '../usage.js'
import { loadOrThrow, parseTimeZone } from '../workspace.js'

/** Options of the `recommend` verb as commander passes them. */
interface RecommendCliOptions {
  workspace: string
  granularity: Granularity
  scopeBy: string
  out?: string
  since?: number
  until?: number
  maxPrefix: number
  keepPublicIps?: boolean
  expect: ExpectedRhythm[]
  timeZone?: string
  merge?: boolean
  owner?: Record<string, string>
  dryRun?: boolean
  includeScans?: boolean
  at: number
  output: string
}

const FORMATS = ['text', 'json', 'yaml', 'md']
const GRANULARITIES: readonly Granularity[] = ['identity', 'role', 'app']
const RHYTHMS: readonly ExpectedRhythm[] = ['daily', 'weekly', 'monthly', 'quarterly']

/** The JSON/YAML shape of `recommend -o json`: the report plus the files written. Stable. */
export interface RecommendOutput extends RecommendReport {
  /** Paths of the policy files written (empty with `--dry-run`). */
  readonly written: readonly string[]
}

function parseList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
}

/** `--owner NAME=TEAM...`, added to the owners of the earlier values. @throws UsageError. */
function parseOwner(
  p: string,
  previous: Record<string, string> | undefined,
): Record<string, string> {
  const i = p.indexOf('=')
  if (i <= 0 || i === p.length - 1)
    throw new UsageError(
      `--owner: "${p}" is not NAME=TEAM`,
      'e.g. --owner payments-prod=team-payments or --owner payments=team-payments',
    )
  return { ...previous, [p.slice(0, i)]: p.slice(i + 1) }
}

/** `--expect`: rhythms, comma-separated. @throws UsageError for one that is not. */
function parseRhythms(text: string): ExpectedRhythm[] {
  const expect = parseList(text)
  for (const e of expect)
    if (!(RHYTHMS as readonly string[]).includes(e))
      throw new UsageError(`--expect: unknown rhythm "${e}"`, `use any of: ${RHYTHMS.join(', ')}`)
  return expect as ExpectedRhythm[]
}

/** Registers `recommend`. */
export function registerRecommend(program: Command): void {
  windowOptions(
    verb(program, 'recommend')
      .description(
        'propose least-privilege policy files (one per scope) from the observed flows, with evidence',
      )
      .option('-w, --workspace <dir>', 'workspace folder', '.'),
    'learn from flows',
  )
    .addOption(
      choiceOption(
        '--granularity <g>',
        'labels forming selectors',
        GRANULARITIES,
        (t) => `--granularity: unknown value "${t}"`,
        'identity',
      ),
    )
    .option('--scope-by <keys>', 'label keys whose values make one policy scope', 'app,env')
    .option('--out <dir>', 'folder for the policy files (default: <workspace>/recommended)')
    .option(
      '--max-prefix <n>',
      'widest prefix unmanaged private IPv4 ranges are aggregated to (IPv6 ones go by /64)',
      wholeNumber(0, 32, (t) => `--max-prefix: "${t}" is not a prefix length 0–32`),
      24,
    )
    .option('--keep-public-ips', 'rules per public address instead of one "internet" rule')
    .addOption(
      new Option(
        '--expect <rhythms>',
        'rhythms the estate has: daily,weekly,monthly,quarterly, as discover takes them (warns when the window is too short); "" for none',
      )
        .argParser(parseRhythms)
        .default(['monthly'], 'monthly'),
    )
    .option(
      '--time-zone <zone>',
      "IANA zone of the hours and days that make the patterns (default: the workspace's timeZone, else UTC)",
      parseTimeZone,
    )
    .option(
      '--merge',
      "compare with the workspace's policy: propose only missing rules (as <name>-proposed.yaml), list unused rules",
    )
    .option(
      '--owner <name=team...>',
      'owner per policy name or scope label value (repeatable)',
      parseOwner,
    )
    .option('--dry-run', 'print the summary only; write no files')
    .option(
      '--include-scans',
      'propose rules for the answered probes of port and host scans too (flagged scan-like; by default they get none)',
    )
    .addOption(
      timeOption(
        '--at <time>',
        'with --merge: when to judge the expiry of existing rules (ISO-8601)',
      ),
    )
    .addOption(outputOption(FORMATS, 'text'))
    .addHelpText(
      'after',
      `
Rules allow what was observed and nothing else at the chosen granularity: one policy per scope
(by default per app and env), rules between label selectors, each with id, reason, owner and
evidence (flows, bytes, first/last seen, active days, pattern, sample pairs). The summary gives
coverage per rule and overall, the over-permission the granularity introduced, flagged rules
(month-end, weekly, rare patterns; port ranges; missing owners) and, with --merge, removal
candidates. The answered probes of a scan (10 or more ports of one destination, or one port of
10 or more destinations, probed within 10 minutes) get no rule unless --include-scans.
Review the files, then move them into the policy folder.

Examples:
  $ bulkhead recommend -w my-estate
  $ bulkhead recommend --granularity role --out policy/ --merge
  $ bulkhead recommend --since 2026-10-01 --until 2026-11-01 -o md > recommendation.md

Exit codes: 0 success (warnings on stderr), 1 usage error or no flows in the store/window.`,
    )
    .action(async (opts: RecommendCliOptions) => {
      const { granularity, expect, since, until, timeZone } = opts

      const { inventory, workspace, policySet } = await loadOrThrow(opts.workspace, new Date())
      const map = await loadDependencyMap(workspace, inventory, {
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
        keepPublicIps: opts.keepPublicIps === true,
        // recommend says itself which rhythms the window is too short for
        expect: [],
        // unmanaged private addresses grouped no wider than --max-prefix (discover's /24 would
        // make one observed address a /24 rule whatever --max-prefix says); recommend then
        // aggregates the blocks up to --max-prefix itself
        privateGrouping: Math.max(opts.maxPrefix, 24),
        ...(timeZone !== undefined ? { timeZone } : {}),
      })
      printDiagnostics(map.diagnostics)

      const result = recommend(map, inventory, {
        granularity,
        scopeBy: parseList(opts.scopeBy),
        maxPrefix: opts.maxPrefix,
        keepPublicIps: opts.keepPublicIps === true,
        expect,
        owners: opts.owner ?? {},
        ...(opts.merge === true ? { existing: policySet } : {}),
        // an existing rule past its expiry allows nothing now (DESIGN.md rule 4)
        now: opts.at,
        includeScans: opts.includeScans === true,
      })
      const outDir = opts.out ?? path.join(opts.workspace, 'recommended')
      const written: string[] = []
      const stale: Diagnostic[] = []
      if (opts.dryRun !== true && result.policies.length > 0) {
        makeDirectory(outDir)
        // one file rendered and written at a time: together they are hundreds of MB on a large estate
        for (const [file, text] of recommendationFiles(result)) {
          const p = path.join(outDir, file)
          writeFileSync(p, text)
          written.push(p)
        }
        const policyDir = path.resolve(workspace.root, workspace.policy)
        if (path.resolve(outDir) !== policyDir) stale.push(...staleFiles(outDir, written))
      }
      const diagnostics = [...result.report.diagnostics, ...stale]
      printDiagnostics(diagnostics)
      const output: RecommendOutput = { ...result.report, diagnostics, written }
      let text: string
      if (opts.output === 'json') text = `${JSON.stringify(output, null, 2)}\n`
      else if (opts.output === 'yaml') text = toYaml(output)
      else if (opts.output === 'md') text = renderReportMarkdown(result.report)
      else {
        const body = renderReportText({ ...result.report, diagnostics: [] })
        text =
          written.length > 0
            ? `${body}wrote ${counted(written.length, 'file')} to ${outDir}\n`
            : body
      }
      process.stdout.write(text)
    })
}

/**
 * The `recommend/stale-files` warning: policy files (`*.yaml`, `*.yml`) in `outDir` that this run
 * did not write, left by an earlier run with other options (`--scope-by app` writes `shop.yaml`
 * where `shop-prod.yaml` of the default scoping stays), which `simulate --policy DIR` or a copy
 * into the policy folder would take along. Not given for the workspace's policy folder, whose
 * other files are its policies. Empty when there are none.
 */
function staleFiles(outDir: string, written: readonly string[]): Diagnostic[] {
  const ours = new Set(written.map((p) => path.basename(p)))
  const others = readdirSync(outDir, { withFileTypes: true })
    .filter((e) => e.isFile() && /\.ya?ml$/i.test(e.name) && !ours.has(e.name))
    .map((e) => e.name)
    .sort()
  if (others.length === 0) return []
  const shown = others.slice(0, 5).join(', ') + (others.length > 5 ? ', ...' : '')
  return [
    {
      code: 'recommend/stale-files',
      severity: 'warning',
      message: `${counted(others.length, 'policy file')} in ${outDir} this run did not write (${shown}): an earlier run's, read with these by simulate --policy ${outDir}`,
      hint: 'remove them, or write each run to a folder of its own',
      location: { file: outDir, line: 0, column: 0 },
    },
  ]
}
