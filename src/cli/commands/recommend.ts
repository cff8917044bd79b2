/**
 * @module `bulkhead recommend`: least-privilege policy files from the stored flows' dependency
 * map, with evidence, and a summary (coverage, over-permission, flagged rules).
 * @remarks Semantics: issue 5; the core is `src/recommend` (pure); this shell builds the map,
 * writes the files and prints the report.
 */
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Command } from 'commander'
import { counted } from '../../core/index.js'
import {
  recommend,
  renderRecommendation,
  renderReportMarkdown,
  renderReportText,
  type ExpectedRhythm,
  type Granularity,
  type RecommendReport,
} from '../../recommend/index.js'
import { checkFormat, printDiagnostics, toYaml, UsageError, makeDirectory } from '../output.js'
import { loadDependencyMap } from '../dependency-map.js'
import {
  checkUsageFirst,
  loadOrThrow,
  parseTime,
  parseTimeZone,
  parseWindow,
} from '../workspace.js'

/** Options of the `recommend` verb as commander passes them. */
interface RecommendCliOptions {
  workspace: string
  granularity: string
  scopeBy: string
  out?: string
  since?: string
  until?: string
  maxPrefix: string
  keepPublicIps?: boolean
  expect: string
  timeZone?: string
  merge?: boolean
  owner?: string[]
  dryRun?: boolean
  at: string
  output: string
}

const FORMATS = ['text', 'json', 'yaml', 'md']
const GRANULARITIES: readonly Granularity[] = ['identity', 'role', 'app']
const RHYTHMS: readonly ExpectedRhythm[] = ['monthly', 'quarterly']

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

function parseOwners(pairs: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const p of pairs ?? []) {
    const i = p.indexOf('=')
    if (i <= 0 || i === p.length - 1)
      throw new UsageError(
        `--owner: "${p}" is not NAME=TEAM`,
        'e.g. --owner payments-prod=team-payments or --owner payments=team-payments',
      )
    out[p.slice(0, i)] = p.slice(i + 1)
  }
  return out
}

/**
 * The checks of `recommend`'s command line alone ({@link checkUsageFirst}): `-o`,
 * `--granularity`, `--expect`, `--max-prefix`, the window, `--time-zone`, `--owner`, `--at`;
 * returns them parsed.
 * @throws UsageError for a bad value.
 */
function recommendUsage(opts: RecommendCliOptions): {
  granularity: Granularity
  expect: string[]
  since?: number
  until?: number
  timeZone: string | undefined
  owners: Record<string, string>
} {
  checkFormat(opts.output, FORMATS)
  if (!(GRANULARITIES as readonly string[]).includes(opts.granularity))
    throw new UsageError(
      `--granularity: unknown value "${opts.granularity}"`,
      `use one of: ${GRANULARITIES.join(', ')}`,
    )
  const expect = parseList(opts.expect)
  for (const e of expect)
    if (!(RHYTHMS as readonly string[]).includes(e))
      throw new UsageError(`--expect: unknown rhythm "${e}"`, `use any of: ${RHYTHMS.join(', ')}`)
  if (!/^\d{1,2}$/.test(opts.maxPrefix) || Number(opts.maxPrefix) > 32)
    throw new UsageError(`--max-prefix: "${opts.maxPrefix}" is not a prefix length 0–32`)
  parseTime(opts.at)
  return {
    granularity: opts.granularity as Granularity,
    expect,
    ...parseWindow(opts.since, opts.until),
    timeZone: parseTimeZone(opts.timeZone),
    owners: parseOwners(opts.owner),
  }
}

/** Registers `recommend`. */
export function registerRecommend(program: Command): void {
  const cmd = program
    .command('recommend')
    .description(
      'propose least-privilege policy files (one per scope) from the observed flows, with evidence',
    )
    .option('-w, --workspace <dir>', 'workspace folder', '.')
    .option('--granularity <g>', 'labels forming selectors: identity | role | app', 'identity')
    .option('--scope-by <keys>', 'label keys whose values make one policy scope', 'app,env')
    .option('--out <dir>', 'folder for the policy files (default: <workspace>/recommended)')
    .option('--since <time>', 'first flow start to learn from (ISO-8601, date or epoch seconds)')
    .option('--until <time>', 'learn from flows starting before this time (exclusive)')
    .option('--max-prefix <n>', 'widest prefix unmanaged private ranges are aggregated to', '24')
    .option('--keep-public-ips', 'rules per public address instead of one "internet" rule')
    .option(
      '--expect <rhythms>',
      'rhythms the estate has: monthly,quarterly (warns when the window is too short); "" for none',
      'monthly',
    )
    .option(
      '--time-zone <zone>',
      "IANA zone of the hours and days that make the patterns (default: the workspace's timeZone, else UTC)",
    )
    .option(
      '--merge',
      "compare with the workspace's policy: propose only missing rules (as <name>-proposed.yaml), list unused rules",
    )
    .option('--owner <name=team...>', 'owner per policy name or scope label value (repeatable)')
    .option('--dry-run', 'print the summary only; write no files')
    .option(
      '--at <time>',
      'with --merge: when to judge the expiry of existing rules (ISO-8601)',
      'now',
    )
    .option('-o, --output <format>', FORMATS.join(' | '), 'text')
    .addHelpText(
      'after',
      `
Rules allow what was observed and nothing else at the chosen granularity: one policy per scope
(by default per app and env), rules between label selectors, each with id, reason, owner and
evidence (flows, bytes, first/last seen, active days, pattern, sample pairs). The summary gives
coverage per rule and overall, the over-permission the granularity introduced, flagged rules
(month-end, weekly, rare patterns; port ranges; missing owners) and, with --merge, removal
candidates. Review the files, then move them into the policy folder.

Examples:
  $ bulkhead recommend -w my-estate
  $ bulkhead recommend --granularity role --out policy/ --merge
  $ bulkhead recommend --since 2026-10-01 --until 2026-11-01 -o md > recommendation.md

Exit codes: 0 success (warnings on stderr), 1 usage error or no flows in the store/window.`,
    )
    .action(async (opts: RecommendCliOptions) => {
      const { granularity, expect, since, until, timeZone, owners } = recommendUsage(opts)

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
        privateGrouping: Math.max(Number(opts.maxPrefix), 24),
        ...(timeZone !== undefined ? { timeZone } : {}),
      })
      printDiagnostics(map.diagnostics)

      const result = recommend(map, inventory, {
        granularity,
        scopeBy: parseList(opts.scopeBy),
        maxPrefix: Number(opts.maxPrefix),
        keepPublicIps: opts.keepPublicIps === true,
        expect: expect as ExpectedRhythm[],
        owners,
        ...(opts.merge === true ? { existing: policySet } : {}),
        // an existing rule past its expiry allows nothing now (DESIGN.md rule 4)
        now: parseTime(opts.at),
      })
      const outDir = opts.out ?? path.join(opts.workspace, 'recommended')
      const written: string[] = []
      if (opts.dryRun !== true && result.policies.length > 0) {
        makeDirectory(outDir)
        for (const [file, text] of renderRecommendation(result)) {
          const p = path.join(outDir, file)
          writeFileSync(p, text)
          written.push(p)
        }
      }
      printDiagnostics(result.report.diagnostics)
      const output: RecommendOutput = { ...result.report, written }
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
  checkUsageFirst(cmd, recommendUsage)
}
