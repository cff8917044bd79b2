/**
 * @module `bulkhead diff OLD NEW`: what changes between two policy folders (or git revisions of
 * one) — rules, connectivity (connlist lines) and, with flows, the observed flows whose verdict
 * changes; text, PR-ready Markdown, JSON or SARIF.
 */
import { stat } from 'node:fs/promises'
import path from 'node:path'
import type { Command } from 'commander'
import { stringify } from 'yaml'
import {
  BulkheadError,
  diagnostic,
  formatLocation,
  type Diagnostic,
  type SourceLocation,
  counted,
  mdCode,
  mdText,
} from '../../core/index.js'
import { formatRunSummary } from '../../ingest/index.js'
import {
  diffPolicies,
  enforcementChanged,
  FlowDiffer,
  hasImpact,
  onlyAlreadyRejected,
  ruleLocations,
  type ConnlistLineChange,
  type EdgeChange,
  type EnforcementEntryChange,
  type EnforcementEntrySummary,
  type ModeChangeGroup,
  type OutcomeChanges,
  type OutcomeEdgeChange,
  type PolicyDiff,
  type RuleChange,
  type RuleFieldChange,
} from '../../policy/diff.js'
import { renderExpires } from '../../policy/render.js'
import { connlistLine } from '../../policy/connlist.js'
import type { FlowQuery, FlowStore } from '../../store/index.js'
import { untimedFlows } from '../../discover/index.js'
import { openStore } from '../store.js'
import {
  checkFieldList,
  expandInputs,
  filesRead,
  readEachFile,
  readSummary,
  unusableLines,
} from '../inputs.js'
import { startFilesProgress, startQueryProgress } from '../progress.js'
import { AfterOutputError, EXIT, printDiagnostics, toYaml, UsageError } from '../output.js'
import { fitMarkdown, GITHUB_COMMENT_LIMIT, type CutList, type MdPart } from '../render/md.js'
import { toSarif, type SarifFinding, type SarifRuleInfo } from '../render/sarif.js'
import { VERSION } from '../version.js'
import { gitRevision, repositoryRoot, revisionFile } from '../policy-source.js'
import {
  mdLimitOption,
  noFlowsOption,
  outputOption,
  timeOption,
  verb,
  windowOptions,
} from '../usage.js'
import { loadOrThrow, windowOf } from '../workspace.js'
import { FIELDS_HELP, flowFormat } from './simulate.js'

/**
 * The share of diff's store progress bar given to DuckDB's ordered read before the first flow
 * (the sort): over 1.1 M stored flows it took 0.5 s, and replaying the flows one by one 17 s.
 */
const SORT_SHARE = 0.05

/**
 * Replays the stored flows of `q` (`[since, until)`) into `differ`, with a progress bar on a
 * terminal: DuckDB's estimate of the sort, then the share of the flows replayed. With a window,
 * the store leaves out flows with no real time (`FlowQuery`), as simulate's grouping does: no
 * window can place them (`--until` alone would take them as 1970).
 * @returns with a window, the flows with no real time left out; else undefined.
 */
async function replayStore(
  store: FlowStore,
  q: FlowQuery,
  differ: FlowDiffer,
): Promise<number | undefined> {
  const windowed = q.since !== undefined || q.until !== undefined
  const total = await store.count(q)
  const progress = startQueryProgress('replaying stored flows')
  let replayed = 0
  try {
    // DuckDB's estimate, still polled while the rows stream, is dropped once they do
    const onProgress = (f: number): void => {
      if (replayed === 0) progress.onProgress(f * SORT_SHARE)
    }
    for await (const f of store.flows(q, { onProgress })) {
      differ.add(f)
      if (++replayed % 2048 === 0)
        progress.onProgress(SORT_SHARE + (1 - SORT_SHARE) * (replayed / total))
    }
  } finally {
    progress.stop()
  }
  // the window selected no flow at start 0 (the loop saw none): count them in the store
  return windowed ? untimedFlows(store) : undefined
}

interface DiffOpts {
  workspace: string
  at: number
  output: string
  flows?: string[] | false
  format: ReturnType<typeof flowFormat>
  fields?: string
  since?: number
  until?: number
  strict?: boolean
  failOnImpact?: boolean
  mdLimit: number
}

/**
 * The check between `diff`'s options, once, before the workspace (`./usage.ts`): `--flows`
 * given with `--since/--until`.
 * @throws UsageError.
 */
function checkDiffFlags(opts: DiffOpts): void {
  if (Array.isArray(opts.flows) && (opts.since !== undefined || opts.until !== undefined))
    throw new UsageError('give --flows or --since/--until (the store), not both')
}

/** Registers `diff`. */
export function registerDiff(program: Command): void {
  const cmd = windowOptions(
    verb(program, 'diff')
      .description(
        'what changes between two policy sets: rules, connectivity, and the observed flows whose verdict changes',
      )
      .argument('<old>', 'old policy: a folder, or a git revision of one, e.g. HEAD~1:policy')
      .argument('<new>', 'new policy: a folder (e.g. policy) or REV:path')
      .option(
        '-w, --workspace <dir>',
        'workspace folder (its inventory is used for both sides)',
        '.',
      ),
    'replay stored flows',
  )
    .addOption(
      timeOption(
        '--at <time>',
        'when to judge rule expiry and the connectivity lines (ISO-8601); flows resolve their addresses at their own time',
      ),
    )
    .option(
      '--flows <files...>',
      "flow files to replay against both policy sets (default: the workspace's store, when there is one)",
    )
  noFlowsOption(
    cmd,
    'compare the policy sets only: replay no flows (not with --flows, --since or --until)',
  )
    .option('-f, --format <format>', 'flow file format for --flows', flowFormat, 'auto')
    .option('--fields <list>', FIELDS_HELP, (t) => checkFieldList(t))
    .option('--strict', 'a malformed record in a --flows file is fatal (exit 1), not skipped')
    .option(
      '--fail-on-impact',
      'exit 2 when an observed flow allowed by OLD is denied by NEW, or one not blocked under OLD is blocked (enforced) under NEW',
    )
    .addOption(outputOption(['text', 'md', 'json', 'yaml', 'sarif'], 'text'))
    .addOption(mdLimitOption('the rule table, the connectivity block and the observed-edge tables'))
    .addHelpText(
      'after',
      `
OLD and NEW are folders of policy files, or REV:path read from git in the repository that holds
the workspace folder (path from the repository root, or from the workspace with ./). Both are
checked against the workspace inventory.

Examples:
  $ bulkhead diff HEAD~1:policy policy
  $ bulkhead diff main:policy policy --flows flows/aws/*.log.gz -o md > pr-comment.md
  $ bulkhead diff old-policy/ policy/ --since 2026-11-01 --fail-on-impact

Exit codes: 0 compared, 1 bad input, 2 --fail-on-impact and an observed flow allowed by OLD is
denied by NEW, or one OLD did not block (allowed, would-be-blocked, unenforced) is blocked by NEW
(its mode became enforce); flows their observer had already rejected are no impact.`,
    )
    .hook('preAction', (c) => {
      checkDiffFlags(c.opts<DiffOpts>())
    })
    .action(async (oldSpec: string, newSpec: string, opts: DiffOpts) => {
      const now = new Date(opts.at)
      const oldLoad = await loadOrThrow(opts.workspace, now, oldSpec)
      const newLoad = await loadOrThrow(opts.workspace, now, newSpec, oldLoad)
      const ws = newLoad
      const diff = diffPolicies(ws.inventory, oldLoad.policySet, newLoad.policySet, { now })
      let flowsDiff: PolicyDiff['flows']
      // observed flows are replayed as simulate and lint replay them: the files given, else the
      // store (all of it, or the window), when there is one; --no-flows replays none
      const files = Array.isArray(opts.flows) ? opts.flows : undefined
      const storeExists = (await stat(ws.workspace.store).catch(() => undefined)) !== undefined
      const into = filesRead()
      let readSkipped: Readonly<Record<string, number>> | undefined
      if (
        opts.flows !== false &&
        (files !== undefined || opts.since !== undefined || opts.until !== undefined || storeExists)
      ) {
        const differ = new FlowDiffer(ws.inventory, oldLoad.policySet, newLoad.policySet, { now })
        let leftOut: number | undefined
        if (files !== undefined) {
          const named: Diagnostic[] = []
          const paths = expandInputs(files, named)
          printDiagnostics(named)
          const progress = startFilesProgress(paths)
          try {
            for await (const f of readEachFile(
              paths,
              {
                format: opts.format,
                ...(opts.fields !== undefined ? { fields: opts.fields } : {}),
                strict: opts.strict === true,
                onProgress: progress.onProgress,
              },
              into,
            )) {
              differ.add(f)
            }
          } finally {
            progress.stop()
          }
          const run = readSummary(into, 0)
          readSkipped = run.skipped
          printDiagnostics(run.diagnostics)
          if (Object.keys(run.skipped).length > 0)
            process.stderr.write(`${formatRunSummary(run)}\n`)
          for (const line of unusableLines(into)) process.stderr.write(`${line}\n`)
        } else {
          const storePath = ws.workspace.store
          if (!(await stat(storePath).catch(() => undefined))) {
            throw new BulkheadError([
              diagnostic(
                'io/not-found',
                `no flow store at "${storePath}"; run bulkhead ingest first, or pass --flows`,
                {
                  file: storePath,
                  line: 0,
                  column: 0,
                },
              ),
            ])
          }
          const store = await openStore(storePath, { readOnly: true })
          try {
            leftOut = await replayStore(store, windowOf(opts), differ)
          } finally {
            await store.close()
          }
        }
        flowsDiff = {
          ...differ.result(),
          ...(leftOut !== undefined ? { untimedLeftOut: leftOut } : {}),
        }
      }
      if (opts.failOnImpact === true && (flowsDiff?.flows ?? 0) === 0) {
        // a gate that judged nothing passes: say so, with what to do for the input it had
        // (--since/--until are refused with --flows; --no-flows was asked for)
        const [why, hint] =
          flowsDiff !== undefined
            ? files !== undefined
              ? [
                  'no flow was read from the files',
                  'check the files: what was unusable or skipped in them is said above',
                ]
              : [
                  'the store or the window holds none',
                  'widen or move --since/--until, or ingest flows of that time',
                ]
            : opts.flows === false
              ? [
                  '--no-flows was given',
                  'leave out --no-flows to replay the stored flows, or pass --flows FILE...',
                ]
              : [
                  `there is no flow store at "${ws.workspace.store}"`,
                  'pass --flows FILE..., or run bulkhead ingest first',
                ]
        printDiagnostics([
          {
            code: 'diff/no-flows',
            severity: 'warning',
            message: `--fail-on-impact checked no flows: ${why}`,
            hint,
          },
        ])
      }
      const full: PolicyDiff = flowsDiff ? { ...diff, flows: flowsDiff } : diff
      let text: string
      if (opts.output === 'json')
        text = `${JSON.stringify(diffOutput(full, readSkipped), null, 2)}\n`
      else if (opts.output === 'yaml') text = toYaml(diffOutput(full, readSkipped))
      else if (opts.output === 'md') text = renderDiffMarkdown(full, oldSpec, newSpec, opts.mdLimit)
      else if (opts.output === 'sarif') {
        const locs = new Map([
          ...ruleLocations(oldLoad.policySet),
          ...ruleLocations(newLoad.policySet),
        ])
        const first = newLoad.policySet.policies[0]?.file ?? oldLoad.policySet.policies[0]?.file
        const fallback = first === undefined ? undefined : { file: first, line: 0, column: 0 }
        // code scanning wants repository paths: a `REV:path` location (a rule of the OLD
        // revision) becomes the file `path` without a line — the line is the old revision's,
        // and in the working tree it may hold another rule — and is named in the message
        // (the path from the repository root, or from the workspace with ./), and every path is
        // written from the repository root, wherever diff ran
        const oldRev = gitRevision(oldSpec)
        const gitDir = path.resolve(opts.workspace)
        const findings = diffFindings(full, locs, fallback).map((f) => {
          const loc = f.location
          const rev = loc === undefined ? undefined : gitRevision(loc.file)
          if (loc === undefined || rev === undefined) return f
          const file = revisionFile(loc.file, gitDir)
          return rev === oldRev && rev !== gitRevision(newSpec)
            ? {
                ...f,
                message: `${f.message} (at ${formatLocation(loc)})`,
                location: { file, line: 0, column: 0 },
              }
            : { ...f, location: { ...loc, file } }
        })
        const tool = {
          ...SARIF_TOOL,
          baseDir: repositoryRoot(gitDir) ?? process.cwd(),
          cwd: process.cwd(),
        }
        text = `${JSON.stringify(toSarif(findings, tool), null, 2)}\n`
      } else text = renderDiffText(full, oldSpec, newSpec)
      process.stdout.write(text)
      // an unusable --flows file: the others were replayed; exit 1 as flows and ingest do
      if (into.failed.length > 0) throw new AfterOutputError(into.unusable)
      process.exitCode = opts.failOnImpact === true && hasImpact(full) ? EXIT.checkFailed : EXIT.ok
    })
}

/** `2 already rejected where observed` (`2 rejected …` on a newly allowed edge), or undefined when none was. */
function rejectedText(e: EdgeChange): string | undefined {
  if (e.alreadyRejected === 0) return undefined
  return `${e.alreadyRejected} ${e.change === 'blocked' ? 'already ' : ''}rejected where observed`
}

/** NEW's outcome and {@link rejectedText}: `unenforced; 2 already rejected where observed`. */
function outcomeText(e: EdgeChange): string {
  const rejected = rejectedText(e)
  return rejected === undefined ? e.new.outcome : `${e.new.outcome}; ${rejected}`
}

/** One sentence: rule changes, connectivity changes, flow impact. First line of every rendering. */
export function diffSummary(d: PolicyDiff): string {
  const count = (k: RuleChange['kind']): number => d.rules.filter((r) => r.kind === k).length
  const parts = [
    `${counted(d.rules.length, 'rule change')} (${count('added')} added, ${count('removed')} removed, ${count('changed')} changed)`,
    `connectivity +${d.connlist.added.length} −${counted(d.connlist.removed.length, 'line')}`,
  ]
  // the Enforcement part only when something about Enforcement changed
  if (enforcementChanged(d.enforcement)) {
    parts.push(
      `enforcement: ${counted(d.enforcement.entries.length, 'entry change')}, ${counted(d.enforcement.workloads, 'workload')} changing mode`,
    )
  }
  if (d.flows) {
    const { edges, alreadyRejected } = d.flows
    const blocked = edges.filter((e) => e.change === 'blocked' && !onlyAlreadyRejected(e)).length
    const allowed = edges.filter((e) => e.change === 'allowed').length
    parts.push(
      `${counted(d.flows.newlyBlocked, 'observed flow')} newly denied on ${counted(blocked, 'edge')}` +
        (alreadyRejected > 0 ? ` (${alreadyRejected} more already rejected where observed)` : '') +
        `, ${d.flows.newlyAllowed} newly allowed on ${counted(allowed, 'edge')} (of ${d.flows.flows} replayed)`,
    )
  }
  const oc = d.flows?.outcomeChanges
  if (oc !== undefined && (oc.flows > 0 || enforcementChanged(d.enforcement))) {
    parts.push(
      `${counted(oc.flows, 'observed flow')} changing outcome on ${counted(oc.edges.length, 'edge')} (${oc.newlyDropped} newly blocked` +
        (oc.alreadyRejected > 0
          ? `, ${oc.alreadyRejected} more already rejected where observed`
          : '') +
        ')',
    )
  }
  return parts.join('; ')
}

/** `#2 {role=db}`: an entry by its position and selector; `no entry` when none decides. */
function entryName(e: EnforcementEntrySummary | undefined): string {
  return e === undefined ? 'no entry' : `#${e.position} ${e.selector}`
}

/** `file:line:col`, or the file when the line is unknown; empty with no location. */
function whereText(loc: SourceLocation | undefined): string {
  return loc ? (loc.line > 0 ? `${loc.file}:${loc.line}:${loc.column}` : loc.file) : ''
}

/** One entry change: `#1 → #3 {role=db}: enforce → monitor`. */
function entryChangeText(c: EnforcementEntryChange): string {
  const o = c.old
  const n = c.new
  if (o === undefined || n === undefined) {
    const e = (n ?? o) as EnforcementEntrySummary
    return `#${e.position} ${e.selector}: ${e.mode} ${c.kind}`
  }
  const pos = o.position === n.position ? `#${n.position}` : `#${o.position} → #${n.position}`
  const mode = o.mode === n.mode ? n.mode : `${o.mode} → ${n.mode}`
  return `${pos} ${n.selector}: ${mode}`
}

/** Workload names as text: at most {@link NAMES_SHOWN}, then `… and N more` (JSON lists all). */
function namesText(names: readonly string[]): string {
  const shown = names.slice(0, NAMES_SHOWN).join(', ')
  return names.length > NAMES_SHOWN ? `${shown}, … and ${names.length - NAMES_SHOWN} more` : shown
}

/** Workload names shown per mode change in text, Markdown and SARIF. */
const NAMES_SHOWN = 20

/** `monitor → enforce: 3 workloads (now #1 {app=shop}, before #1 {app=shop})`. */
function groupText(g: ModeChangeGroup): string {
  return `${g.old} → ${g.new}: ${counted(g.workloads.length, 'workload')} (now ${entryName(g.newEntry)}, before ${entryName(g.oldEntry)})`
}

/** `#1 {app=shop}: enforce` (NEW's entry) or `before: #2 {role=db}: enforce` (OLD's). */
function entryRefText(e: OutcomeEdgeChange['entry']): string {
  if (e === undefined) return ''
  return `${e.set === 'old' ? 'before: ' : ''}${entryName(e)}: ${e.mode}`
}

/** `denied by default`, or `denied by p/a → denied by default` when the deciding rule changes. */
function sameVerdictText(e: OutcomeEdgeChange): string {
  return e.old.by === e.new.by
    ? verdictText(e.new)
    : `${verdictText(e.old)} → ${verdictText(e.new)}`
}

/** `would-be-blocked → blocked`, with `; 1 already rejected where observed` when some were. */
function outcomeChangeText(e: OutcomeEdgeChange): string {
  const rejected =
    e.alreadyRejected > 0 ? `; ${e.alreadyRejected} already rejected where observed` : ''
  return `${e.old.outcome} → ${e.new.outcome}${rejected}`
}

/** True for an outcome edge with a flow that NEW newly drops and no observer had rejected. */
function newlyDropped(e: OutcomeEdgeChange): boolean {
  return e.new.outcome === 'blocked' && e.alreadyRejected < e.flows
}

const ruleWhere = (r: RuleChange): string => whereText((r.new ?? r.old)?.location)

/** Items of a list value shown before the rest is counted, and characters of a value. */
const SHOWN_ITEMS = 5
const SHOWN_CHARS = 80

/** A value in YAML flow style on one line, as a policy file writes it: `{role: web}`, `"a: b"`. */
function flowText(v: unknown): string {
  // a lone scalar as after `reason: ` (a comma needs no quotes there), collections in flow style
  const flow = typeof v === 'object' && v !== null
  const t = stringify(v, {
    lineWidth: 0,
    ...(flow ? { collectionStyle: 'flow' as const, flowCollectionPadding: false } : {}),
  })
  // a string with a line break is written on several lines: JSON's quoting is YAML too
  return t.trimEnd().includes('\n') ? JSON.stringify(v) : t.trimEnd()
}

/** `xxxxx… (123 chars)` when `t` is longer than {@link SHOWN_CHARS}. */
const shortened = (t: string): string =>
  t.length <= SHOWN_CHARS ? t : `${t.slice(0, SHOWN_CHARS - 1)}… (${t.length} chars)`

/** The items of a list field, each as the file writes it. */
const itemTexts = (v: unknown): string[] | undefined =>
  Array.isArray(v) ? v.map((x: unknown) => flowText(x)) : undefined

/**
 * One side of a changed field as the policy file writes it, on one line: ports joined by `,`
 * (`tcp/443,tcp/8443`), selectors by `, `, `expires` as its date (`2026-12-31`), `(none)` when
 * absent; a list past {@link SHOWN_ITEMS} items ends `… (N in all)`, and any text past
 * {@link SHOWN_CHARS} characters is cut with its length.
 */
function valueText(field: RuleFieldChange['field'], v: unknown): string {
  if (v === undefined) return '(none)'
  if (field === 'expires' && typeof v === 'string') return renderExpires(Date.parse(v))
  const items = itemTexts(v)
  if (items === undefined) return shortened(flowText(v))
  if (items.length === 0) return '[]'
  const sep = field === 'ports' ? ',' : ', '
  const shown = items.slice(0, SHOWN_ITEMS).join(sep)
  return shortened(items.length > SHOWN_ITEMS ? `${shown}${sep}… (${items.length} in all)` : shown)
}

/**
 * ` (passed)` after an `expires` at or before `at` (ISO-8601): the rule no longer applies then
 * and is treated as absent (DESIGN.md semantics 4); else nothing.
 */
const passed = (field: RuleFieldChange['field'], v: unknown, at: string): string =>
  field === 'expires' && typeof v === 'string' && Date.parse(at) >= Date.parse(v) ? ' (passed)' : ''

/**
 * For a list field whose old or new side is shortened: what NEW adds and drops, item by item,
 * as `+tcp/8443 −tcp/22` (the first {@link SHOWN_ITEMS} of each, each item cut as a value is);
 * else nothing, and nothing when neither side has more than one item (the part would repeat the
 * two values).
 */
function listDelta(c: RuleFieldChange): string {
  const o = itemTexts(c.old) ?? []
  const n = itemTexts(c.new) ?? []
  const long = (xs: string[]): boolean =>
    xs.length > SHOWN_ITEMS || xs.join(', ').length > SHOWN_CHARS
  if (!long(o) && !long(n)) return ''
  if (o.length <= 1 && n.length <= 1) return ''
  const part = (sign: string, xs: string[]): string[] =>
    xs.length === 0
      ? []
      : [
          `${sign}${xs.slice(0, SHOWN_ITEMS).map(shortened).join(` ${sign}`)}${xs.length > SHOWN_ITEMS ? ` … (${xs.length} in all)` : ''}`,
        ]
  const gained = n.filter((x) => !o.includes(x))
  const lost = o.filter((x) => !n.includes(x))
  return [...part('+', gained), ...part('−', lost)].join(' ')
}

/**
 * A changed field with its values in the words of the policy file:
 * `ports: tcp/443 → tcp/443,tcp/8443`, `expires: 2026-12-31 → 2027-03-31`,
 * `from: {role: web} → {role: web, env: prod}`; a shortened list adds what changed in it. An
 * expiry at or before `at` (ISO-8601, the diff's {@link PolicyDiff.at}) is marked `(passed)`.
 */
export function fieldChangeText(c: RuleFieldChange, at: string): string {
  const delta = listDelta(c)
  const side = (v: unknown): string => `${valueText(c.field, v)}${passed(c.field, v, at)}`
  return `${c.field}: ${side(c.old)} → ${side(c.new)}${delta ? ` (${delta})` : ''}`
}

/** {@link fieldChangeText} in a Markdown table cell: the key and the values as code spans. */
function fieldChangeMarkdown(c: RuleFieldChange, at: string): string {
  const code = (t: string): string => (t === '(none)' ? t : mdCode(t))
  const side = (v: unknown): string =>
    `${code(valueText(c.field, v))}${passed(c.field, v, at) ? ' **(passed)**' : ''}`
  const delta = listDelta(c)
  return `${mdCode(c.field)}: ${side(c.old)} → ${side(c.new)}${delta ? ` (${mdText(delta)})` : ''}`
}

const iso = (ms: number): string => new Date(ms).toISOString()

/** An {@link EdgeChange} as `diff -o json|yaml` prints it: first and last seen as ISO-8601 UTC. */
export type EdgeChangeOutput = Omit<EdgeChange, 'firstSeen' | 'lastSeen'> & {
  readonly firstSeen?: string
  readonly lastSeen?: string
}

/**
 * The shape of `diff -o json` and `-o yaml`: the {@link PolicyDiff}, with every time an ISO-8601
 * UTC instant as in the other verbs' JSON (`at` already is; the edges' `firstSeen`/`lastSeen`,
 * ms in the diff, become instants too). Stable.
 */
export type DiffOutput = Omit<PolicyDiff, 'flows'> & {
  readonly flows?: Omit<NonNullable<PolicyDiff['flows']>, 'edges' | 'outcomeChanges'> & {
    readonly edges: readonly EdgeChangeOutput[]
    readonly outcomeChanges: Omit<OutcomeChanges, 'edges'> & {
      readonly edges: readonly OutcomeEdgeChangeOutput[]
    }
    /**
     * `--flows` files: malformed records skipped while reading them, by reason (as `simulate`'s
     * `readSkipped`; `skipped` counts flows whose address does not parse). Absent for the store.
     */
    readonly readSkipped?: Readonly<Record<string, number>>
  }
}

/** An {@link OutcomeEdgeChange} as `diff -o json|yaml` prints it: first and last seen as ISO-8601 UTC. */
export type OutcomeEdgeChangeOutput = Omit<OutcomeEdgeChange, 'firstSeen' | 'lastSeen'> & {
  readonly firstSeen?: string
  readonly lastSeen?: string
}

/** An edge with its first and last seen (ms) as ISO-8601 instants. */
function withInstants<E extends { readonly firstSeen?: number; readonly lastSeen?: number }>({
  firstSeen,
  lastSeen,
  ...e
}: E): Omit<E, 'firstSeen' | 'lastSeen'> & { firstSeen?: string; lastSeen?: string } {
  return {
    ...e,
    ...(firstSeen !== undefined ? { firstSeen: iso(firstSeen) } : {}),
    ...(lastSeen !== undefined ? { lastSeen: iso(lastSeen) } : {}),
  }
}

/**
 * The {@link DiffOutput} of `d`, with the read skips of `--flows` files when they were read.
 * Pure.
 */
export function diffOutput(
  d: PolicyDiff,
  readSkipped?: Readonly<Record<string, number>>,
): DiffOutput {
  const { flows, ...rest } = d
  if (flows === undefined) return rest
  return {
    ...rest,
    flows: {
      ...flows,
      ...(readSkipped !== undefined ? { readSkipped } : {}),
      edges: flows.edges.map(withInstants),
      outcomeChanges: {
        ...flows.outcomeChanges,
        edges: flows.outcomeChanges.edges.map(withInstants),
      },
    },
  }
}

/** `allowed by shop-prod/web`, `denied by default`. */
const verdictText = (v: EdgeChange['old']): string =>
  `${v.decision} by ${v.by === 'default-deny' ? 'default' : v.by}`

/**
 * Flows with no real time, as simulate words them: replayed ones (judged, no first/last seen),
 * and stored ones a `--since`/`--until` window left out. Nothing when there are none.
 */
function untimedLines(f: NonNullable<PolicyDiff['flows']>, indent: string): string[] {
  const out: string[] = []
  if (f.untimed > 0)
    out.push(
      `${indent}(${counted(f.untimed, 'flow')} with no real time: judged, left out of first/last seen)`,
    )
  if ((f.untimedLeftOut ?? 0) > 0)
    out.push(
      `${indent}(${counted(f.untimedLeftOut ?? 0, 'stored flow')} with no real time left out: no window can place them)`,
    )
  return out
}

/** Plain-text rendering. */
export function renderDiffText(d: PolicyDiff, oldName: string, newName: string): string {
  const out = [`${oldName} → ${newName}: ${diffSummary(d)}`, '']
  out.push('Rules:')
  if (d.rules.length === 0) out.push('  (no change)')
  for (const r of d.rules) {
    const mark = r.kind === 'added' ? '+' : r.kind === 'removed' ? '-' : '~'
    const fields =
      r.kind === 'changed' ? ` changed: ${r.changes.map((c) => c.field).join(', ')}` : ` ${r.kind}`
    const where = ruleWhere(r)
    out.push(`  ${mark} ${r.policy}/${r.id}${fields}${where ? `  (${where})` : ''}`)
    for (const c of r.changes) out.push(`      ${fieldChangeText(c, d.at)}`)
  }
  out.push('', 'Connectivity:')
  if (d.connlist.added.length + d.connlist.removed.length === 0) out.push('  (no change)')
  for (const r of d.connlist.removed) out.push(`  - ${connlistLine(r)}${ruleBehind(r)}`)
  for (const r of d.connlist.added) out.push(`  + ${connlistLine(r)}${ruleBehind(r)}`)
  if (enforcementChanged(d.enforcement)) {
    const en = d.enforcement
    out.push('', 'Enforcement:')
    for (const c of en.entries) {
      const mark = c.kind === 'added' ? '+' : c.kind === 'removed' ? '-' : '~'
      const where = whereText((c.new ?? c.old)?.location)
      out.push(`  ${mark} ${entryChangeText(c)}${where ? `  (${where})` : ''}`)
    }
    out.push(
      en.workloads === 0
        ? '  No workload changes mode.'
        : `  ${counted(en.workloads, 'workload')} changing mode: ${en.transitions.map((t) => `${t.old} → ${t.new} ${t.workloads}`).join(', ')}`,
    )
    for (const g of en.groups) out.push(`    ${groupText(g)}: ${namesText(g.workloads)}`)
  }
  if (d.flows) {
    out.push('', 'Observed flows whose verdict changes:')
    if (d.flows.edges.length === 0) out.push('  (none)')
    for (const e of d.flows.edges) {
      out.push(
        `  ${e.change === 'blocked' ? 'DENIED ' : 'ALLOWED'} ${e.src} -> ${e.dst} ${e.service}: ${counted(e.flows, 'flow')}, ` +
          `${verdictText(e.old)} → ${verdictText(e.new)} (${outcomeText(e)})`,
      )
    }
    if (d.flows.skipped > 0)
      out.push(`  (${counted(d.flows.skipped, 'flow')} skipped: bad address)`)
    out.push(...untimedLines(d.flows, '  '))
  }
  const oc = d.flows?.outcomeChanges
  if (oc !== undefined && (oc.flows > 0 || enforcementChanged(d.enforcement))) {
    out.push('', 'Observed flows whose outcome changes (same verdict):')
    if (oc.edges.length === 0) out.push('  (none)')
    for (const e of oc.edges) {
      const entry = entryRefText(e.entry)
      out.push(
        `  ${e.new.outcome.toUpperCase()} ${e.src} -> ${e.dst} ${e.service}: ${counted(e.flows, 'flow')}, ` +
          `${sameVerdictText(e)}, ${outcomeChangeText(e)}${entry ? ` (${entry})` : ''}`,
      )
    }
  }
  return `${out.join('\n')}\n`
}

/**
 * Markdown for a pull request: a summary line first, then headed sections with tables. The
 * tables and the connectivity block are cut to fit `limit` characters (default: GitHub's
 * {@link GITHUB_COMMENT_LIMIT}; 0: no limit), with a note where lines are left out
 * ({@link fitMarkdown}); the summary's counts are always the whole diff's.
 */
export function renderDiffMarkdown(
  d: PolicyDiff,
  oldName: string,
  newName: string,
  limit = GITHUB_COMMENT_LIMIT,
): string {
  const impact = hasImpact(d) ? '⚠️ ' : ''
  const out: MdPart[] = [
    `${impact}**Bulkhead policy diff** ${mdCode(oldName, false)} → ${mdCode(newName, false)}: ${diffSummary(d)}.`,
    '',
  ]
  const rows = (
    items: string[],
    what: (n: number) => string,
    close: readonly string[] = [],
  ): CutList => ({ items, close, what })
  out.push('### Rule changes', '')
  if (d.rules.length === 0) out.push('No rule changes.')
  else {
    out.push('| change | rule | what changed | owner | where |', '|---|---|---|---|---|')
    out.push(
      rows(
        d.rules.map((r) => {
          const owner = (r.new ?? r.old)?.owner ?? ''
          const what = r.changes.map((c) => fieldChangeMarkdown(c, d.at)).join('<br>')
          return `| ${r.kind} | ${mdCode(`${r.policy}/${r.id}`)} | ${what} | ${mdText(owner)} | ${mdText(ruleWhere(r))} |`
        }),
        (n) => counted(n, 'rule change'),
      ),
    )
  }
  out.push('', '### Connectivity changes', '')
  if (d.connlist.added.length + d.connlist.removed.length === 0) out.push('No connectivity change.')
  else {
    out.push('```diff')
    // one line per connection: a line break in a name would start a line that is neither - nor +
    const oneLine = (s: string): string => s.replace(/\r\n|\r|\n/g, ' ')
    out.push(
      rows(
        [
          ...d.connlist.removed.map((r) => oneLine(`- ${connlistLine(r)}${ruleBehind(r)}`)),
          ...d.connlist.added.map((r) => oneLine(`+ ${connlistLine(r)}${ruleBehind(r)}`)),
        ],
        (n) => counted(n, 'connectivity line'),
        ['```'],
      ),
    )
  }
  if (enforcementChanged(d.enforcement)) {
    const en = d.enforcement
    out.push('', '### Enforcement changes', '')
    if (en.entries.length > 0) {
      out.push('| change | entry | mode | where |', '|---|---|---|---|')
      out.push(
        rows(
          en.entries.map((c) => {
            const o = c.old
            const n = c.new
            const e = (n ?? o) as EnforcementEntrySummary
            const pos =
              o !== undefined && n !== undefined && o.position !== n.position
                ? `#${o.position} → #${n.position}`
                : `#${e.position}`
            const mode =
              o !== undefined && n !== undefined && o.mode !== n.mode
                ? `${o.mode} → ${n.mode}`
                : e.mode
            const what = c.kind === 'changed' ? `changed (${c.fields.join(', ')})` : c.kind
            return `| ${what} | ${pos} ${mdCode(e.selector)} | ${mode} | ${mdText(whereText(e.location))} |`
          }),
          (n) => counted(n, 'Enforcement entry change'),
        ),
      )
      out.push('')
    }
    if (en.workloads === 0) out.push('No workload changes mode.')
    else {
      out.push(
        `${counted(en.workloads, 'workload')} changing mode: ${en.transitions.map((t) => `${t.old} → ${t.new === 'enforce' ? '**enforce**' : t.new} ${t.workloads}`).join(', ')}.`,
        '',
        '| mode change | workloads | entry now | entry before | names |',
        '|---|---:|---|---|---|',
      )
      out.push(
        rows(
          en.groups.map(
            (g) =>
              `| ${g.old} → ${g.new === 'enforce' ? '**enforce**' : g.new} | ${g.workloads.length} | ${mdText(entryName(g.newEntry))} | ${mdText(entryName(g.oldEntry))} | ${mdText(namesText(g.workloads))} |`,
          ),
          (n) => counted(n, 'mode change group'),
        ),
      )
    }
  }
  if (d.flows) {
    out.push('', '### Observed flows whose verdict changes', '')
    if (d.flows.edges.length === 0)
      out.push(
        d.flows.flows === 1
          ? 'The one replayed flow keeps its verdict.'
          : `None of the ${d.flows.flows} replayed flows changes verdict.`,
      )
    else {
      out.push(
        '| change | source | destination | service | flows | first seen | last seen | before | after |',
        '|---|---|---|---|---:|---|---|---|---|',
      )
      out.push(
        rows(
          d.flows.edges.map(
            (e) =>
              `| ${e.change === 'allowed' ? 'allowed' : onlyAlreadyRejected(e) ? 'denied' : '**denied**'} | ${mdText(e.src)} | ${mdText(e.dst)} | ${e.service} | ${e.flows} | ${e.firstSeen !== undefined ? iso(e.firstSeen) : '-'} | ${e.lastSeen !== undefined ? iso(e.lastSeen) : '-'} | ${mdText(verdictText(e.old))} | ${mdText(verdictText(e.new))} (${outcomeText(e)}) |`,
          ),
          (n) => counted(n, 'edge'),
        ),
      )
    }
    const notes = untimedLines(d.flows, '')
    if (notes.length > 0) out.push('', ...notes)
  }
  const oc = d.flows?.outcomeChanges
  if (oc !== undefined && (oc.flows > 0 || enforcementChanged(d.enforcement))) {
    out.push('', '### Observed flows whose outcome changes (same verdict)', '')
    if (oc.edges.length === 0)
      out.push(
        d.flows?.flows === 1
          ? 'The one replayed flow keeps its outcome.'
          : `None of the ${d.flows?.flows ?? 0} replayed flows changes outcome without changing verdict.`,
      )
    else {
      out.push(
        '| outcome | source | destination | service | flows | first seen | last seen | verdict | before → after | entry |',
        '|---|---|---|---|---:|---|---|---|---|---|',
      )
      out.push(
        rows(
          oc.edges.map(
            (e) =>
              `| ${newlyDropped(e) ? '**blocked**' : e.new.outcome} | ${mdText(e.src)} | ${mdText(e.dst)} | ${e.service} | ${e.flows} | ${e.firstSeen !== undefined ? iso(e.firstSeen) : '-'} | ${e.lastSeen !== undefined ? iso(e.lastSeen) : '-'} | ${mdText(sameVerdictText(e))} | ${mdText(outcomeChangeText(e))} | ${mdText(entryRefText(e.entry))} |`,
          ),
          (n) => counted(n, 'edge'),
        ),
      )
    }
  }
  return fitMarkdown(out, limit)
}

/**
 * The SARIF rule ids of `diff -o sarif`, with their descriptions and default levels (a failed
 * run's SARIF uses the diagnostic codes instead). Stable: code scanning keys alerts on them;
 * README "Diagnostic codes" lists every one (test/docs/readme-codes.test.ts checks it).
 */
export const DIFF_SARIF_RULES = {
  'diff/rule-added': { description: 'A rule is added.', defaultLevel: 'note' as const },
  'diff/rule-removed': { description: 'A rule is removed.', defaultLevel: 'note' as const },
  'diff/rule-changed': { description: 'A rule changes.', defaultLevel: 'note' as const },
  'diff/connection-added': {
    description: 'A connection becomes allowed.',
    defaultLevel: 'note' as const,
  },
  'diff/connection-removed': {
    description: 'A connection is no longer allowed.',
    defaultLevel: 'warning' as const,
  },
  'diff/flow-blocked': {
    description: 'Observed traffic that was allowed would be denied.',
    defaultLevel: 'error' as const,
  },
  'diff/flow-already-rejected': {
    description:
      'Observed traffic that was allowed would be denied, but its observer had already rejected all of it: enforcing changes nothing there.',
    defaultLevel: 'note' as const,
  },
  'diff/flow-allowed': {
    description: 'Observed traffic that was denied would be allowed.',
    defaultLevel: 'note' as const,
  },
  'diff/enforcement-added': {
    description: 'An Enforcement entry is added.',
    defaultLevel: 'note' as const,
  },
  'diff/enforcement-removed': {
    description: 'An Enforcement entry is removed.',
    defaultLevel: 'note' as const,
  },
  'diff/enforcement-changed': {
    description: 'An Enforcement entry changes its mode or its place in the first-match order.',
    defaultLevel: 'note' as const,
  },
  'diff/mode-changed': {
    description:
      'Workloads change enforcement mode (a warning when they become enforced: their denied traffic starts being dropped).',
    defaultLevel: 'note' as const,
  },
  'diff/flow-enforced': {
    description:
      'Observed traffic that is denied and was not dropped (would-be-blocked or unenforced) would be dropped: its enforcement mode becomes enforce.',
    defaultLevel: 'error' as const,
  },
  'diff/flow-outcome-changed': {
    description:
      'Observed denied traffic changes outcome (blocked, would-be-blocked, unenforced) without being newly dropped, or was already rejected where observed.',
    defaultLevel: 'note' as const,
  },
} satisfies Readonly<Record<`diff/${string}`, SarifRuleInfo>>

const SARIF_TOOL = { name: 'bulkhead', version: VERSION, rules: DIFF_SARIF_RULES }

/** A rule id of {@link DIFF_SARIF_RULES}. */
type DiffRuleId = keyof typeof DIFF_SARIF_RULES

/** A diff finding, its rule id one that {@link DIFF_SARIF_RULES} declares. */
type DiffFinding = SarifFinding & { readonly ruleId: DiffRuleId }

/** `  (rule policy/id)` after a connlist line: the rule behind the change, when known. */
function ruleBehind(r: ConnlistLineChange): string {
  return r.by === undefined ? '' : `  (rule ${r.by})`
}

/**
 * SARIF findings of a diff: rule changes (notes at the rule), connectivity lines (added: note;
 * removed: warning) and changed flow edges (newly blocked: error, at the rule that allowed them
 * before when known); Enforcement entries added, removed and changed (notes at the entry), mode
 * changes of workloads (at the NEW entry that decides their mode, else the OLD one; a warning
 * when they become enforced) and outcome changes of observed flows (at the entry behind the
 * change; an error when flows no observer rejected become blocked). `locations` maps `policy/id` to where the rule is; a connlist line is put
 * at the rule behind it ({@link ConnlistLineChange.by}); a finding with no place of its own gets
 * `fallback` (a policy file), since GitHub code scanning requires a location on every result.
 * Each finding has a `key` (SARIF fingerprint): the rule `policy/id`, the connection `src => dst`,
 * the edge `src -> dst service`, the entry's selector, or the mode change and its entries.
 */
export function diffFindings(
  d: PolicyDiff,
  locations: ReadonlyMap<string, SourceLocation>,
  fallback?: SourceLocation,
): SarifFinding[] {
  const out: DiffFinding[] = []
  for (const r of d.rules) {
    const loc = (r.new ?? r.old)?.location
    const what =
      r.kind === 'changed'
        ? `changed (${r.changes.map((c) => fieldChangeText(c, d.at)).join('; ')})`
        : r.kind
    out.push({
      ruleId: `diff/rule-${r.kind}`,
      level: 'note',
      message: `rule ${r.policy}/${r.id} ${what}`,
      key: `${r.policy}/${r.id}`,
      ...(loc ? { location: loc } : {}),
    })
  }
  for (const [r, removed] of [
    ...d.connlist.removed.map((r) => [r, true] as const),
    ...d.connlist.added.map((r) => [r, false] as const),
  ]) {
    const loc = r.by === undefined ? undefined : locations.get(r.by)
    out.push({
      ruleId: removed ? 'diff/connection-removed' : 'diff/connection-added',
      level: removed ? 'warning' : 'note',
      message: `${removed ? 'no longer allowed' : 'newly allowed'}: ${connlistLine(r)}${r.by === undefined ? '' : ` (rule ${r.by})`}`,
      key: `${r.src} => ${r.dst}`,
      ...(loc ? { location: loc } : {}),
    })
  }
  for (const e of d.flows?.edges ?? []) {
    const loc =
      locations.get(e.change === 'blocked' ? e.old.by : e.new.by) ?? locations.get(e.new.by)
    const ruleId: DiffRuleId =
      e.change === 'allowed'
        ? 'diff/flow-allowed'
        : onlyAlreadyRejected(e)
          ? 'diff/flow-already-rejected'
          : 'diff/flow-blocked'
    const rejected = rejectedText(e)
    out.push({
      ruleId,
      level: ruleId === 'diff/flow-blocked' ? 'error' : 'note',
      message: `${e.src} -> ${e.dst} ${e.service}: ${counted(e.flows, 'observed flow')} ${verdictText(e.old)} would be ${verdictText(e.new)}${rejected === undefined ? '' : ` (${rejected})`}`,
      key: `${e.src} -> ${e.dst} ${e.service}`,
      ...(loc ? { location: loc } : {}),
    })
  }
  // Enforcement: every finding at an Enforcement entry (NEW's, else OLD's)
  for (const c of d.enforcement.entries) {
    const loc = (c.new ?? c.old)?.location
    const what = c.kind === 'changed' ? `changed (${c.fields.join(', ')})` : c.kind
    out.push({
      ruleId: `diff/enforcement-${c.kind}`,
      level: 'note',
      message:
        `Enforcement entry ${entryChangeText(c)} ${c.kind === 'changed' ? what : ''}`.trimEnd(),
      key: (c.new ?? c.old)?.selector ?? '',
      ...(loc ? { location: loc } : {}),
    })
  }
  for (const g of d.enforcement.groups) {
    const loc = (g.newEntry ?? g.oldEntry)?.location
    out.push({
      ruleId: 'diff/mode-changed',
      level: g.new === 'enforce' ? 'warning' : 'note',
      message: `mode ${groupText(g)}: ${namesText(g.workloads)}`,
      key: `${g.old} -> ${g.new} ${g.oldEntry?.selector ?? ''} ${g.newEntry?.selector ?? ''}`,
      ...(loc ? { location: loc } : {}),
    })
  }
  for (const e of d.flows?.outcomeChanges.edges ?? []) {
    const loc = e.entry?.location
    const entry = entryRefText(e.entry)
    out.push({
      ruleId: newlyDropped(e) ? 'diff/flow-enforced' : 'diff/flow-outcome-changed',
      level: newlyDropped(e) ? 'error' : 'note',
      message: `${e.src} -> ${e.dst} ${e.service}: ${counted(e.flows, 'observed flow')} ${sameVerdictText(e)} would be ${e.new.outcome}, not ${e.old.outcome}${e.alreadyRejected > 0 ? ` (${e.alreadyRejected} already rejected where observed)` : ''}${entry ? `, by the entry ${entry}` : ''}`,
      key: `${e.src} -> ${e.dst} ${e.service}`,
      ...(loc ? { location: loc } : {}),
    })
  }
  return fallback ? out.map((f) => (f.location ? f : { ...f, location: fallback })) : out
}
