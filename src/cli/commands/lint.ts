/**
 * @module `bulkhead lint`: findings about the workspace's rules (owner, reason, expiry, breadth,
 * shadowed and redundant rules, selectors that match nothing, unused rules when flows are
 * available), as text, JSON or SARIF for code scanning; exit 2 when any finding is an error.
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import type { Command } from 'commander'
import {
  formatDiagnostic,
  formatLocation,
  formatRuleRef,
  type RuleRef,
  type SourceLocation,
  counted,
} from '../../core/index.js'
import { LINT_CODES, lint, type LintCode, type LintFinding } from '../../policy/lint.js'
import { PolicyIndex } from '../../policy/policy-index.js'
import { Simulator } from '../../policy/simulate.js'
import { toSarif, type SarifRuleInfo } from '../render/sarif.js'
import { emit, EXIT, UsageError } from '../output.js'
import { VERSION } from '../version.js'
import {
  noFlowsOption,
  outputOption,
  policyOption,
  timeOption,
  verb,
  windowOptions,
} from '../usage.js'
import { loadOrThrow, windowOf } from '../workspace.js'
import { gitRevision, repositoryRoot, revisionFile } from '../policy-source.js'
import { checkFieldList } from '../inputs.js'
import {
  checkFlowFlags,
  failIfUnusable,
  feedFlows,
  FIELDS_HELP,
  flowFormat,
  reportFlowRead,
  warnNoFlowsJudged,
  type FedFlows,
  type FlowInput,
} from './simulate.js'

/** The JSON shape of `lint -o json`. Stable. */
export interface LintOutput {
  readonly at: string
  readonly errors: number
  readonly warnings: number
  /**
   * Where rule hits came from, or null when no flows were available; no `lint/unused` findings
   * then, nor when `count` is 0 (warned `simulate/no-flows`).
   */
  readonly flows: {
    readonly from: 'files' | 'store'
    readonly what: string
    readonly count: number
    /**
     * With `--since`/`--until`: the stored flows with no real time (start 0, core `NO_TIME_MS`)
     * left out of the rule hits, since no window can place them (as `simulate`'s
     * `source.untimedLeftOut`).
     */
    readonly untimedLeftOut?: number
    /** Malformed records of the files skipped while reading, by reason (files only). */
    readonly skipped?: Readonly<Record<string, number>>
    /** Unusable files (files only): the others were judged; the run exits 1. */
    readonly failed?: readonly string[]
  } | null
  readonly findings: readonly {
    readonly code: LintCode
    readonly severity: 'error' | 'warning'
    readonly message: string
    readonly rule: string | null
    readonly location: string | null
    readonly related: readonly string[]
  }[]
}

interface LintCliOptions {
  workspace: string
  policy?: string
  at: number
  expiringDays: number
  flows?: string[] | false
  format: ReturnType<typeof flowFormat>
  fields?: string
  since?: number
  until?: number
  strict?: boolean
  output: string
}

/** SARIF rule descriptions of every lint code. */
export const LINT_SARIF_RULES: Readonly<Record<string, SarifRuleInfo>> = Object.fromEntries(
  Object.entries(LINT_CODES).map(([code, info]) => [
    code,
    { description: info.description, defaultLevel: info.severity },
  ]),
)

/** The text note of stored flows a window left out for having no real time; '' when none. */
function untimedLeftOut(n: number | undefined): string {
  return n !== undefined && n > 0
    ? ` (${counted(n, 'stored flow')} with no real time left out: no window can place them)`
    : ''
}

function renderText(o: LintOutput, findings: readonly LintFinding[], noFlows: boolean): string {
  const lines = findings.map((f) => formatDiagnostic(f))
  const from = (f: NonNullable<LintOutput['flows']>): string =>
    `from ${f.from === 'store' ? 'the store' : f.what}${untimedLeftOut(f.untimedLeftOut)}`
  const unused =
    o.flows === null
      ? noFlows
        ? 'unused rules not checked (--no-flows)'
        : 'unused rules not checked: no flows (pass --flows FILE..., or ingest into the store)'
      : o.flows.count === 0
        ? `unused rules not checked: no flows were judged ${from(o.flows)}`
        : `unused rules judged over ${counted(o.flows.count, 'flow')} ${from(o.flows)}`
  lines.push(`${counted(o.errors, 'error')}, ${counted(o.warnings, 'warning')}; ${unused}`)
  return lines.join('\n')
}

/**
 * `--expiring-days`: a number of days, ≥ 0, in decimal digits (`14`, `0.5`). @throws UsageError
 * otherwise: `Number` alone read `""` and blanks as 0 and `0x10` as 16.
 */
function parseDays(text: string): number {
  const days = Number(text)
  if (!/^\d+(\.\d+)?$/.test(text) || !Number.isFinite(days))
    throw new UsageError(`--expiring-days must be a number of days, got "${text}"`)
  return days
}

/** Registers `lint`. */
export function registerLint(program: Command): void {
  const cmd = windowOptions(
    verb(program, 'lint')
      .description(
        'check rules: owner, reason, expiry, broad rules, shadowed/redundant rules, selectors that match nothing, unused rules',
      )
      .option('-w, --workspace <dir>', 'workspace folder', '.'),
    'stored flows',
  )
    .addOption(policyOption('check'))
    .addOption(timeOption('--at <time>', 'the instant expiry is judged at (ISO-8601)'))
    .option('--expiring-days <n>', 'report rules expiring within this many days', parseDays, 30)
    .option(
      '--flows <files...>',
      "flow files for rule hits (default: the workspace's store, when it exists)",
    )
  noFlowsOption(
    cmd,
    'do not look for flows: no unused-rule findings (not with --flows, --since or --until)',
  )
    .option('-f, --format <format>', 'format of --flows files', flowFormat, 'auto')
    .option('--fields <list>', FIELDS_HELP, (t) => checkFieldList(t))
    .option('--strict', 'a malformed record in a --flows file is fatal (exit 1), not skipped')
    .addOption(outputOption(['text', 'json', 'yaml', 'sarif'], 'text'))
    .addHelpText(
      'after',
      `
Codes (severity): ${Object.entries(LINT_CODES)
        .map(
          ([c, i]) => `${c} (${i.severity}${i.otherwise !== undefined ? `; ${i.otherwise}` : ''})`,
        )
        .join(', ')}.
Shadowed and redundant are exact: computed over every endpoint class of the inventory and the
services of the rules, not guessed.

Examples:
  $ bulkhead lint
  $ bulkhead lint --expiring-days 14 -o sarif > bulkhead.sarif
  $ bulkhead lint --flows flows/aws/*.log.gz -o json
  $ bulkhead lint --policy recommended/                   # a proposal, before it replaces policy/

Exit codes: 0 no errors (warnings allowed), 1 usage or input error, 2 some finding is an error.`,
    )
    .hook('preAction', (c) => {
      checkFlowFlags(c.opts<LintCliOptions>())
    })
    .action(async (opts: LintCliOptions) => {
      const { at, expiringDays: days } = opts
      const { inventory, policySet, workspace } = await loadOrThrow(
        opts.workspace,
        new Date(at),
        opts.policy,
      )
      const files = Array.isArray(opts.flows) ? opts.flows : []
      const wantStore = opts.since !== undefined || opts.until !== undefined
      let hits: Map<string, number> | undefined
      let flows: LintOutput['flows'] = null
      let fed: FedFlows | undefined
      if (opts.flows !== false && (files.length > 0 || wantStore || existsSync(workspace.store))) {
        const input: FlowInput = {
          files,
          format: opts.format,
          ...(opts.fields !== undefined ? { fields: opts.fields } : {}),
          strict: opts.strict === true,
          ...windowOf(opts),
        }
        const index = PolicyIndex.build(inventory, policySet, at)
        const sim = new Simulator(index, inventory, at)
        fed = await feedFlows(sim, index, input, workspace.store)
        reportFlowRead(fed, opts.output)
        const report = sim.summary() // rule hits and counts: no denied edge is needed
        // no flow judged (an empty window or file): no rule is shown unused by nothing
        if (report.flows === 0) warnNoFlowsJudged(fed, input)
        else hits = new Map(report.rules.map((r) => [formatRuleRef(r as RuleRef), r.hits]))
        flows = {
          from: fed.from,
          what: fed.what,
          count: report.flows,
          ...(fed.untimedLeftOut !== undefined ? { untimedLeftOut: fed.untimedLeftOut } : {}),
          ...(fed.read ? { skipped: fed.read.skipped } : {}),
          ...(fed.files ? { failed: fed.files.failed } : {}),
        }
      }
      const findings = lint(inventory, policySet, {
        now: at,
        expiringDays: days,
        ...(hits ? { hits } : {}),
      })
      const errors = findings.filter((f) => f.severity === 'error').length
      const out: LintOutput = {
        at: new Date(at).toISOString(),
        errors,
        warnings: findings.length - errors,
        flows,
        findings: findings.map((f) => ({
          code: f.code,
          severity: f.severity,
          message: f.message,
          rule: f.rule ? formatRuleRef(f.rule) : null,
          location: f.location ? formatLocation(f.location) : null,
          related: (f.related ?? []).map(formatLocation),
        })),
      }
      if (opts.output === 'sarif') {
        // `--policy REV:path`: a place `HEAD~1:policy/a.yaml:3:5` is the repository file
        // `policy/a.yaml` at that line of the revision linted, as diff places NEW's rules;
        // code scanning has no file named `HEAD~1:policy/a.yaml`
        const gitDir = path.resolve(opts.workspace)
        const place = (loc: SourceLocation): SourceLocation =>
          gitRevision(loc.file) === undefined
            ? loc
            : { ...loc, file: revisionFile(loc.file, gitDir) }
        const sarif = toSarif(
          findings.map((f) => ({
            ruleId: f.code,
            level: f.severity,
            message: f.message,
            ...(f.location ? { location: place(f.location) } : {}),
            ...(f.related ? { related: f.related.map(place) } : {}),
            ...(f.rule
              ? { key: `${formatRuleRef(f.rule)}${f.subject === undefined ? '' : ` ${f.subject}`}` }
              : {}),
          })),
          {
            name: 'bulkhead',
            version: VERSION,
            rules: LINT_SARIF_RULES,
            // code scanning reads paths from the repository root, wherever lint ran
            baseDir: repositoryRoot(opts.workspace) ?? process.cwd(),
            cwd: process.cwd(),
          },
        )
        process.stdout.write(`${JSON.stringify(sarif, null, 2)}\n`)
      } else emit(out, opts.output, (o) => renderText(o, findings, opts.flows === false))
      if (fed) failIfUnusable(fed)
      process.exitCode = errors > 0 ? EXIT.checkFailed : EXIT.ok
    })
}
