/**
 * @module `bulkhead simulate`: replay stored flows (or flow files parsed on the fly) against the
 * workspace policy and report what it would block, by edge, with rule hit counts, unused and
 * expired rules; `--fail-on-block` makes it a CI gate.
 */
import { existsSync } from 'node:fs'
import type { Command } from 'commander'
import {
  BulkheadError,
  formatLocation,
  formatRuleRef,
  sortDiagnostics,
  type Diagnostic,
  type Flow,
  type Outcome,
  counted,
  mdText,
} from '../../core/index.js'
import { flowToJson } from '../../ingest/index.js'
import { formatRunSummary, type RunSummary } from '../../ingest/read.js'
import { PARSERS } from '../../ingest/registry.js'
import type { FlowFormat } from '../../ingest/types.js'
import { PolicyIndex } from '../../policy/policy-index.js'
import {
  Simulator,
  type DeniedEdge,
  type DeniedEdgeList,
  type DeniedOutcome,
  type FlowVerdict,
  type SimulationReport,
} from '../../policy/simulate.js'
import type { FlowStore } from '../../store/index.js'
import { untimedFlows } from '../../discover/index.js'
import { openStore } from '../store.js'
import {
  checkFieldList,
  expandInputs,
  namesRead,
  filesRead,
  readEachFile,
  readSummary,
  unusableLines,
  type FilesRead,
} from '../inputs.js'
import { startFilesProgress, startQueryProgress } from '../progress.js'
import {
  AfterOutputError,
  emit,
  EXIT,
  lazyArray,
  printDiagnostics,
  UsageError,
  writeStdout,
} from '../output.js'
import { fitMarkdownLines, GITHUB_COMMENT_LIMIT, type MdPart } from '../render/md.js'
import {
  mdLimitOption,
  outputOption,
  policyOption,
  timeOption,
  verb,
  wholeNumber,
  windowOptions,
} from '../usage.js'
import { loadOrThrow, windowOf } from '../workspace.js'

/** Where the flows of a run come from. */
export interface FlowInput {
  /** Flow files parsed on the fly; when empty, the workspace store. */
  readonly files: readonly string[]
  readonly format: FlowFormat | 'auto'
  /** Files: the field order of an AWS custom format without its header line (`--fields`). */
  readonly fields?: string
  /** Files: the first malformed record is fatal (`ingest/malformed-record`) instead of skipped. */
  readonly strict?: boolean
  /** Half-open window on `start`, ms; only for the store. */
  readonly since?: number
  readonly until?: number
}

/** What {@link feedFlows} read. */
export interface FedFlows {
  /** `files` or `store`. */
  readonly from: 'files' | 'store'
  /** The store path, or the files. */
  readonly what: string
  /**
   * For files: the ingest summary (malformed records skipped, by reason) of the files something
   * was read from ({@link readSummary}).
   */
  readonly read?: RunSummary
  /** For files: what was read, unusable files included ({@link readEachFile}). */
  readonly files?: FilesRead
  /** For the store: flow groups whose span straddled an address change and were split by row. */
  readonly splitGroups?: number
  /**
   * For the store read with `--since`/`--until`: its flows with no real time (start 0, core
   * `NO_TIME_MS`), which no window can place, so they were left out of the replay.
   */
  readonly untimedLeftOut?: number
}

/**
 * Feeds every flow of `input` to the simulator: flow files are parsed and judged one by one;
 * the store is read as groups of flows with the same (src, dst, protocol, judged port, direction,
 * day, rejection), counted and with their first/last times and the simulator's number of
 * examples ({@link feedStore}, `FlowStore.groupFlows`), so only distinct tuples are judged. A
 * group whose time span contains an instant at which one of its addresses changes holder (a
 * time-bounded workload address) is split into its rows. An unusable flow file is
 * recorded in `files.failed` and the next one is read ({@link readEachFile}): the caller reports
 * it after its output ({@link reportFlowRead}, {@link failIfUnusable}).
 * @param each - when given, every flow is judged on its own ({@link Simulator.addFlow}) and
 *   handed over with its verdict (undefined: an address that does not parse), in the order read:
 *   the files' order, or the store's by `start` ({@link FlowStore.flows}); awaited before the
 *   next flow is read. The progress bar is then drawn only when stdout is not the terminal.
 * @throws BulkheadError for an unusable store; with `input.strict`, for the first malformed
 *   record or unusable flow file.
 */
export async function feedFlows(
  sim: Simulator,
  index: PolicyIndex,
  input: FlowInput,
  storePath: string,
  each?: (flow: Flow, verdict: FlowVerdict | undefined) => Promise<void>,
): Promise<FedFlows> {
  // a bar would draw over the flows printed to the same terminal
  const bar = process.stderr.isTTY && (each === undefined || !process.stdout.isTTY)
  if (input.files.length > 0) {
    const into = filesRead()
    const t = performance.now()
    const named: Diagnostic[] = []
    const files = expandInputs(input.files, named)
    printDiagnostics(named)
    const progress = startFilesProgress(files, bar)
    try {
      for await (const f of readEachFile(
        files,
        {
          format: input.format,
          strict: input.strict === true,
          ...(input.fields !== undefined ? { fields: input.fields } : {}),
          onProgress: progress.onProgress,
        },
        into,
      )) {
        if (each === undefined) sim.add(f)
        else await each(f, sim.addFlow(f))
      }
    } finally {
      progress.stop()
    }
    return {
      from: 'files',
      // the names as given, each file once, as expandInputs read it
      what: namesRead(input.files, files).join(', '),
      read: readSummary(into, (performance.now() - t) / 1000),
      files: into,
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(storePath)) {
    throw new UsageError(`store ${storePath}: only a DuckDB file store is supported so far`)
  }
  if (!existsSync(storePath)) {
    throw new BulkheadError([
      {
        code: 'simulate/no-flows',
        severity: 'error',
        message: `no flow store at ${storePath}`,
        hint: 'run `bulkhead ingest` first, or pass --flows FILE...',
      },
    ])
  }
  const store = await openStore(storePath, { readOnly: true })
  try {
    // groups of flows, or each flow on its own (no group to split)
    let splitGroups: number | undefined
    if (each === undefined) splitGroups = await feedStore(sim, index, store, input)
    else
      await feedStoreFlows(sim, store, input, each, startQueryProgress('judging stored flows', bar))
    const windowed = input.since !== undefined || input.until !== undefined
    return {
      from: 'store',
      what: storePath,
      ...(splitGroups !== undefined ? { splitGroups } : {}),
      ...(windowed ? { untimedLeftOut: await untimedFlows(store) } : {}),
    }
  } finally {
    await store.close()
  }
}

/** Most `--examples` per edge. */
const MAX_EXAMPLES = 1000

/** The share of simulate's store progress bar given to DuckDB's grouping query (see feedStore). */
const GROUPING_SHARE = 0.2

/**
 * Feeds the flows of the store (in `input`'s window) to `sim` as the store's groups
 * ({@link FlowStore.groupFlows}, `--examples` each); a group whose span contains an instant at
 * which one of its addresses changes holder (a time-bounded workload address) is split into its
 * flows, each judged at its own start, as replaying the files judges them.
 * @param progress - the bar ({@link startQueryProgress}: drawn on a terminal): DuckDB's estimate
 * of the grouping query, then the share of the window's flows judged, which ends at 1 once every
 * group is judged (the total, `FlowStore.count`, selects what `FlowStore.groupFlows` reads).
 * @returns the number of groups split.
 */
export async function feedStore(
  sim: Simulator,
  index: PolicyIndex,
  store: FlowStore,
  input: FlowInput,
  progress = startQueryProgress('grouping and judging stored flows'),
): Promise<number> {
  const window = storeWindow(input)
  // the instants an address changes holder, once per address (index.addressChanges builds a
  // sorted array each time)
  const changesOf = new Map<number, readonly number[]>()
  const straddles = (id: number, ip: string, t0: number, t1: number): boolean => {
    let changes = changesOf.get(id)
    if (changes === undefined) {
      changes = index.addressChanges(ip)
      changesOf.set(id, changes)
    }
    for (const c of changes) if (t0 < c && c <= t1) return true
    return false
  }
  // A bar on a terminal while the groups are made (DuckDB's estimate of the query) and read and
  // judged (the share of the flows they count; the split groups' flows read after are few).
  // Over 1.1 M stored flows in 577 426 groups the query took 0.9–2 s and reading and judging 5–7 s.
  const total = await store.count(window)
  let judged = 0
  let groups = 0
  const report = (): void => {
    if (total > 0)
      progress.onProgress(GROUPING_SHARE + (1 - GROUPING_SHARE) * Math.min(1, judged / total))
  }
  try {
    const { split } = await store.groupFlows(
      window,
      {
        examples: Math.max(1, sim.examplesPerEdge),
        split: (g) =>
          straddles(g.srcId, g.src, g.first, g.lastStart) ||
          straddles(g.dstId, g.dst, g.first, g.lastStart),
        // DuckDB's estimate, still polled while the groups stream, is dropped once they do
        onProgress: (f) => {
          if (judged === 0) progress.onProgress(f * GROUPING_SHARE)
        },
      },
      (g) => {
        sim.addGroup(g)
        judged += g.count
        if (++groups % 2048 === 0) report()
      },
    )
    report()
    return split
  } finally {
    progress.stop()
  }
}

/** The store's window of `input` (`--since`/`--until`), as {@link FlowStore} queries take it. */
function storeWindow(input: FlowInput): { since?: number; until?: number } {
  return {
    ...(input.since !== undefined ? { since: input.since } : {}),
    ...(input.until !== undefined ? { until: input.until } : {}),
  }
}

/**
 * Feeds the flows of the store (in `input`'s window) to `sim` one by one, by `start`
 * ({@link FlowStore.flows}), handing each to `each` with its verdict (see {@link feedFlows}).
 * @param progress - the bar: DuckDB's estimate of the ordered read.
 */
async function feedStoreFlows(
  sim: Simulator,
  store: FlowStore,
  input: FlowInput,
  each: (flow: Flow, verdict: FlowVerdict | undefined) => Promise<void>,
  progress: { readonly onProgress: (fraction: number) => void; stop(): void },
): Promise<void> {
  const window = storeWindow(input)
  try {
    for await (const f of store.flows(window, { onProgress: progress.onProgress }))
      await each(f, sim.addFlow(f))
  } finally {
    progress.stop()
  }
}

// --- output ---------------------------------------------------------------------------------------

/**
 * The counts of a {@link SimulationReport} that `simulate -o json` gives as they are (their
 * meaning is documented there), so that the two shapes are written once.
 */
type ReportCounts = Pick<
  SimulationReport,
  | 'flows'
  | 'evaluated'
  | 'outcomes'
  | 'alreadyRejected'
  | 'wouldBlockIfEnforced'
  | 'replies'
  | 'linkControl'
  | 'related'
  | 'unknownDirection'
  | 'skipped'
  | 'untimed'
>

/**
 * The JSON shape of `simulate -o json`: the report's counts ({@link ReportCounts}) and, as
 * documents, its time, source, window, denied edges and rules. Stable. Times are ISO-8601 UTC.
 */
export interface SimulateOutput extends ReportCounts {
  readonly at: string
  readonly asEnforced: boolean
  readonly source: {
    readonly from: 'files' | 'store'
    readonly what: string
    readonly since?: string
    readonly until?: string
    /**
     * With `since`/`until`: the stored flows with no real time, left out of the replay (no window
     * can place them).
     */
    readonly untimedLeftOut?: number
    /** For files: the unusable ones (not judged, or judged up to the error); the run exits 1. */
    readonly failed?: readonly string[]
  }
  readonly window: { readonly first: string; readonly last: string } | null
  readonly denied: readonly {
    readonly src: { name: string; kind: string }
    readonly dst: { name: string; kind: string }
    readonly service: string
    readonly outcome: DeniedOutcome
    readonly outcomes: Readonly<Record<Outcome, number>>
    /** Of `flows`, those the observer had already rejected. */
    readonly alreadyRejected: number
    readonly flows: number
    /** Over the edge's flows with a real time; null when it has none. */
    readonly firstSeen: string | null
    readonly lastSeen: string | null
    /** Of `flows`, those with no real time. */
    readonly untimed: number
    readonly deniedBy: readonly string[]
    readonly examples: readonly {
      where: string
      format: string
      src: string
      dst: string
      start: string
    }[]
  }[]
  readonly rules: readonly {
    rule: string
    action: string
    hits: number
    expired: boolean
    location: string | null
  }[]
  /** Live rules no judged flow matched; empty when no flow was judged (`flows` 0: not checked). */
  readonly unused: readonly string[]
  readonly expired: readonly string[]
  /** For files: malformed records skipped while reading, by reason. */
  readonly readSkipped?: Readonly<Record<string, number>>
}

/**
 * A line of `simulate -o jsonl`: the flow as `flows -o jsonl` prints it (`start`/`end` ISO-8601
 * UTC, `source` the file and line or record it was read from), then its verdict
 * ({@link FlowVerdict}: `service`, `reply`, `srcEntity`, `dstEntity`, `decision`, `by`, `rule`,
 * `action`, `srcMode`, `dstMode`, `mode`, `outcome`). Stable.
 */
export type SimulateFlowLine = Record<string, unknown> & FlowVerdict

/**
 * The {@link SimulateFlowLine} of flow `f` and its verdict `v`, as JSON text (no line end): the
 * two objects' texts joined, which costs a third of stringifying one object spread from both.
 */
export function verdictLine(f: Flow, v: FlowVerdict): string {
  return `${JSON.stringify(flowToJson(f)).slice(0, -1)},${JSON.stringify(v).slice(1)}`
}

const iso = (ms: number): string => new Date(ms).toISOString()

/** Builds the output document of a report. */
export function simulateOutput(
  r: SimulationReport,
  fed: FedFlows,
  input: FlowInput,
): SimulateOutput {
  return simulateDocument(
    r,
    { length: r.denied.length, at: (k) => r.denied[k] as DeniedEdge },
    fed,
    input,
  )
}

/**
 * The output document of what `sim` has judged, the same as {@link simulateOutput} of its
 * report, but for its denied edges: each edge's object (and the report's object behind it) is
 * made when the document is written ({@link lazyArray} over {@link Simulator.deniedEdges}), so
 * writing text, Markdown, CSV or JSON holds no object per edge.
 */
export function simulateOutputOf(sim: Simulator, fed: FedFlows, input: FlowInput): SimulateOutput {
  return simulateDocument(sim.summary(), sim.deniedEdges(), fed, input)
}

function simulateDocument(
  r: Omit<SimulationReport, 'denied'>,
  denied: DeniedEdgeList,
  fed: FedFlows,
  input: FlowInput,
): SimulateOutput {
  return {
    at: iso(r.at),
    asEnforced: r.asEnforced,
    source: {
      from: fed.from,
      what: fed.what,
      ...(input.since !== undefined && fed.from === 'store' ? { since: iso(input.since) } : {}),
      ...(input.until !== undefined && fed.from === 'store' ? { until: iso(input.until) } : {}),
      ...(fed.untimedLeftOut !== undefined ? { untimedLeftOut: fed.untimedLeftOut } : {}),
      ...(fed.files ? { failed: fed.files.failed } : {}),
    },
    flows: r.flows,
    evaluated: r.evaluated,
    outcomes: r.outcomes,
    alreadyRejected: r.alreadyRejected,
    wouldBlockIfEnforced: r.wouldBlockIfEnforced,
    replies: r.replies,
    linkControl: r.linkControl,
    related: r.related,
    unknownDirection: r.unknownDirection,
    skipped: r.skipped,
    untimed: r.untimed,
    window: r.window ? { first: iso(r.window.first), last: iso(r.window.last) } : null,
    denied: lazyArray(denied.length, (k) => deniedOutput(denied.at(k))),
    rules: r.rules.map((x) => ({
      rule: formatRuleRef(x),
      action: x.action,
      hits: x.hits,
      expired: x.expired,
      location: x.location ? formatLocation(x.location) : null,
    })),
    // no flow judged: no rule is shown unused by nothing (as lint)
    unused: r.flows === 0 ? [] : r.unused.map(formatRuleRef),
    expired: r.expired.map(formatRuleRef),
    ...(fed.read ? { readSkipped: fed.read.skipped } : {}),
  }
}

/** One denied edge of the output document. */
function deniedOutput(e: DeniedEdge): SimulateOutput['denied'][number] {
  return {
    src: e.src,
    dst: e.dst,
    service: e.service,
    outcome: e.outcome,
    outcomes: e.outcomes,
    alreadyRejected: e.alreadyRejected,
    flows: e.flows,
    firstSeen: e.firstSeen !== undefined ? iso(e.firstSeen) : null,
    lastSeen: e.lastSeen !== undefined ? iso(e.lastSeen) : null,
    untimed: e.untimed,
    deniedBy: e.deniedBy,
    examples: e.examples.map((x) => ({
      where:
        x.line !== undefined
          ? `${x.file}:${x.line}`
          : x.record !== undefined
            ? `${x.file}#${x.record}`
            : x.file,
      format: x.format,
      src: x.src,
      dst: x.dst,
      start: iso(x.start),
    })),
  }
}

const OUTCOME_LABEL: Record<Outcome | DeniedOutcome, string> = {
  'already-rejected': 'already rejected',
  allowed: 'allowed',
  blocked: 'BLOCKED',
  'would-be-blocked': 'WOULD-BE-BLOCKED',
  unenforced: 'unenforced',
}

function outcomeLine(o: Readonly<Record<Outcome, number>>): string {
  return `allowed ${o.allowed}, blocked ${o.blocked}, would-be-blocked ${o['would-be-blocked']}, unenforced ${o.unenforced}`
}

/**
 * `FIRST .. LAST` of a denied edge, with `(N with no real time)` when some of its flows have
 * none, or `no real time` when all have none.
 */
function seenText(e: SimulateOutput['denied'][number]): string {
  if (e.firstSeen === null || e.lastSeen === null) return 'no real time'
  return `${e.firstSeen} .. ${e.lastSeen}${e.untimed > 0 ? ` (${e.untimed} with no real time)` : ''}`
}

/**
 * ` (1 blocked, 2 already rejected where observed)` when a denied edge's flows do not all meet its
 * outcome (the strongest of theirs), else `''`: the text and Markdown name one outcome per edge,
 * and without the split an edge of one blocked flow and two the observer had already rejected
 * read `BLOCKED … 3 flows`. The JSON and CSV carry the same counts (`outcomes`, `alreadyRejected`).
 */
export function outcomeSplitText(e: SimulateOutput['denied'][number]): string {
  const parts: [number, string][] = [
    [e.outcomes.blocked, 'blocked'],
    [e.outcomes['would-be-blocked'], 'would-be-blocked'],
    [e.outcomes.unenforced, 'unenforced'],
    [e.alreadyRejected, 'already rejected where observed'],
  ]
  const present = parts.filter(([n]) => n > 0)
  if (present.length <= 1) return ''
  return ` (${present.map(([n, what]) => `${String(n)} ${what}`).join(', ')})`
}

/**
 * The summary at the head of the text report (the counts, the window, what was judged apart):
 * also what `-o jsonl` writes to stderr after its lines.
 */
function simulateSummaryLines(o: SimulateOutput): string[] {
  const lines: string[] = [
    `simulated ${counted(o.flows, 'flow')} (${counted(o.evaluated, 'distinct verdict')}) from ${o.source.from === 'store' ? `the store ${o.source.what}` : o.source.what}; rule expiry judged at ${o.at}${o.asEnforced ? '; every workload taken as enforced' : ''}`,
    `outcomes: ${outcomeLine(o.outcomes)}`,
  ]
  if (o.alreadyRejected > 0)
    lines.push(
      `denied and already rejected where observed (enforcing breaks nothing there): ${o.alreadyRejected}`,
    )
  if (o.window) lines.push(`flows seen ${o.window.first} .. ${o.window.last}`)
  if (o.untimed > 0)
    lines.push(
      `${counted(o.untimed, 'flow')} with no real time: judged, left out of the window and first/last seen`,
    )
  if ((o.source.untimedLeftOut ?? 0) > 0)
    lines.push(
      `${counted(o.source.untimedLeftOut ?? 0, 'stored flow')} with no real time left out: no window can place them`,
    )
  if (o.replies > 0) lines.push(`flows read as replies, judged as their connection: ${o.replies}`)
  if (o.linkControl > 0)
    lines.push(
      `link control (IPv6 neighbour/multicast listener discovery, IGMP), allowed whatever the rules: ${o.linkControl}`,
    )
  if (o.related > 0)
    lines.push(
      `ICMP errors (unreachable, time exceeded, ...), allowed as part of the connection they report on: ${o.related}`,
    )
  if (o.unknownDirection > 0)
    lines.push(`direction unknown, judged as recorded: ${o.unknownDirection}`)
  const skipped = Object.entries(o.skipped).map(([k, v]) => `${k} ${v}`)
  if (skipped.length > 0) lines.push(`not judged: ${skipped.join(', ')}`)
  if (o.readSkipped && Object.keys(o.readSkipped).length > 0) {
    lines.push(
      `malformed records skipped while reading: ${Object.entries(o.readSkipped)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    )
  }
  return lines
}

/**
 * Human text, line by line (without line ends): one line or two per denied edge, so that a report
 * of millions of edges is written in pieces, never as one string (V8 caps a string at about
 * 512 MiB: 4.6 M denied edges made a 700 MB text).
 */
export function* simulateTextLines(o: SimulateOutput): Generator<string> {
  yield* simulateSummaryLines(o)
  yield ''
  if (o.denied.length === 0) yield 'denied flows: none'
  else {
    yield `denied flows by edge (${counted(o.denied.length, 'edge')}):`
    for (const e of o.denied) {
      yield `  ${OUTCOME_LABEL[e.outcome].padEnd(16)} ${e.src.name} -> ${e.dst.name} ${e.service}  ${counted(e.flows, 'flow')}${outcomeSplitText(e)}  ${seenText(e)}  by ${e.deniedBy.join(', ')}`
      if (e.examples.length > 0) yield `      e.g. ${e.examples.map((x) => x.where).join(', ')}`
    }
  }
  yield ''
  yield 'rule hits:'
  for (const r of o.rules) {
    yield `  ${String(r.hits).padStart(8)}  ${r.action.padEnd(5)} ${r.rule}${r.expired ? ' (expired)' : ''}${r.location ? `  ${r.location}` : ''}`
  }
  yield ''
  yield o.flows === 0
    ? 'unused rules not checked: no flows were judged'
    : o.unused.length > 0
      ? `unused rules (${o.unused.length}): ${o.unused.join(', ')}`
      : 'unused rules: none'
  yield o.expired.length > 0
    ? `expired rules (${o.expired.length}), ignored: ${o.expired.join(', ')}`
    : 'expired rules: none'
}

/** Human text: {@link simulateTextLines} joined. */
export function renderSimulateText(o: SimulateOutput): string {
  return [...simulateTextLines(o)].join('\n')
}

/**
 * Markdown, for a pull-request or issue comment, line by line (see {@link simulateTextLines}): at
 * most `limit` characters with its line ends (default GitHub's {@link GITHUB_COMMENT_LIMIT}; 0 no
 * limit). When longer, the denied-edge table and the rule-hit table keep their first rows, with a
 * note under each cut one saying how many are left out, and a line under the summary says the
 * comment is cut ({@link fitMarkdownLines}); the counts above the tables are always the whole
 * run's. The rows are still made one at a time as they are written: to size the denied table only
 * its first `limit` characters are read, and the edges left out are counted, not written.
 */
export function* simulateMarkdownLines(
  o: SimulateOutput,
  limit = GITHUB_COMMENT_LIMIT,
): Generator<string> {
  const parts: MdPart[] = [
    '## Bulkhead simulate',
    '',
    `${counted(o.flows, 'flow')} from ${o.source.from === 'store' ? 'the store' : mdText(o.source.what)}; rule expiry judged at ${o.at}${o.asEnforced ? '; every workload taken as enforced' : ''}.`,
    '',
    '| outcome | flows |',
    '| --- | ---: |',
    ...(['allowed', 'blocked', 'would-be-blocked', 'unenforced'] as const).map(
      (k) => `| ${k} | ${o.outcomes[k]} |`,
    ),
    `| already rejected where observed | ${o.alreadyRejected} |`,
    '',
    '### Denied flows by edge',
    '',
  ]
  if (o.denied.length === 0) parts.push('None.')
  else {
    const denied = o.denied
    parts.push(
      '| outcome | source | destination | service | flows | first seen | last seen | denied by | examples |',
      '| --- | --- | --- | --- | ---: | --- | --- | --- | --- |',
      {
        // read again from the start by each pass: a row is made as it is read, never held
        items: {
          *[Symbol.iterator]() {
            for (const e of denied)
              yield `| ${e.outcome} | ${mdText(e.src.name)} | ${mdText(e.dst.name)} | ${e.service} | ${e.flows}${outcomeSplitText(e)} | ${e.firstSeen ?? '-'} | ${e.lastSeen ?? '-'} | ${mdText(e.deniedBy.join(', '))} | ${mdText(e.examples.map((x) => x.where).join(', '))} |`
          },
        },
        count: denied.length,
        close: [],
        what: (n) => counted(n, 'denied edge'),
      },
    )
  }
  parts.push(
    '',
    '### Rule hits',
    '',
    '| rule | action | hits | note |',
    '| --- | --- | ---: | --- |',
  )
  const unused = new Set(o.unused)
  parts.push({
    items: o.rules.map(
      (r) =>
        `| ${mdText(r.rule)} | ${r.action} | ${r.hits} | ${r.expired ? 'expired' : unused.has(r.rule) ? 'unused' : ''} |`,
    ),
    close: [],
    what: (n) => counted(n, 'rule'),
  })
  // the summary sentence is the third line
  yield* fitMarkdownLines(parts, limit, 2)
}

/** Markdown, for a comment: {@link simulateMarkdownLines} joined (without the last line end). */
export function renderSimulateMarkdown(o: SimulateOutput, limit = GITHUB_COMMENT_LIMIT): string {
  return [...simulateMarkdownLines(o, limit)].join('\n')
}

const csvCell = (s: string | number): string => {
  const t = String(s)
  return /[",\n\r]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t
}

/** CSV (RFC 4180): the header, then one row per denied edge, each without its CRLF. */
export function* simulateCsvRows(o: SimulateOutput): Generator<string> {
  const head = [
    'outcome',
    'src',
    'src_kind',
    'dst',
    'dst_kind',
    'service',
    'flows',
    'blocked',
    'would_be_blocked',
    'unenforced',
    'already_rejected',
    'first_seen',
    'last_seen',
    'denied_by',
    'examples',
  ]
  yield head.join(',')
  for (const e of o.denied)
    yield [
      e.outcome,
      e.src.name,
      e.src.kind,
      e.dst.name,
      e.dst.kind,
      e.service,
      e.flows,
      e.outcomes.blocked,
      e.outcomes['would-be-blocked'],
      e.outcomes.unenforced,
      e.alreadyRejected,
      e.firstSeen ?? '',
      e.lastSeen ?? '',
      // lists one item a line (RFC 4180 quotes the cell): rule ids and paths may hold blanks
      e.deniedBy.join('\n'),
      e.examples.map((x) => x.where).join('\n'),
    ]
      .map(csvCell)
      .join(',')
}

/** CSV (RFC 4180): {@link simulateCsvRows}, each ended by CRLF. */
export function renderSimulateCsv(o: SimulateOutput): string {
  return [...simulateCsvRows(o)].join('\r\n') + '\r\n'
}

/**
 * The text of `simulate -o text|md|csv` in pieces, the same text as {@link renderSimulateText},
 * {@link renderSimulateMarkdown} and {@link renderSimulateCsv} when joined (text and Markdown
 * without a final line end, which `emit` adds), so that no string grows with the number of edges.
 */
export function* simulatePieces(
  o: SimulateOutput,
  format: string,
  mdLimit = GITHUB_COMMENT_LIMIT,
): Generator<string> {
  if (format === 'csv') {
    for (const row of simulateCsvRows(o)) yield `${row}\r\n`
    return
  }
  let first = true
  for (const line of format === 'md' ? simulateMarkdownLines(o, mdLimit) : simulateTextLines(o)) {
    yield first ? line : `\n${line}`
    first = false
  }
}

/** Options of `simulate` as commander passes them. */
interface SimulateOptions {
  workspace: string
  policy?: string
  flows?: string[]
  format: FlowFormat | 'auto'
  fields?: string
  since?: number
  until?: number
  at: number
  asEnforced?: boolean
  failOnBlock?: boolean
  strict?: boolean
  examples: number
  output: string
  mdLimit: number
}

/**
 * Reports on stderr what reading flow files skipped: the diagnostics, and for text output the
 * run summary (malformed records by reason, first examples); machine outputs carry the counts.
 * Nothing for the store.
 */
export function reportFlowRead(fed: FedFlows, output: string): void {
  if (!fed.read) return
  if (fed.read.diagnostics.length > 0) printDiagnostics(sortDiagnostics(fed.read.diagnostics))
  if (output === 'text' && Object.keys(fed.read.skipped).length > 0)
    process.stderr.write(`${formatRunSummary(fed.read)}\n`)
  for (const line of fed.files ? unusableLines(fed.files) : []) process.stderr.write(`${line}\n`)
}

/**
 * Ends a command whose output is written (`simulate`, `lint`) with exit 1 when a `--flows` file
 * was unusable, as `flows` and `ingest` do: the other files were read and judged, and the
 * unusable file's diagnostics go to stderr.
 * @throws AfterOutputError with those diagnostics.
 */
export function failIfUnusable(fed: FedFlows): void {
  if (fed.files && fed.files.failed.length > 0) throw new AfterOutputError(fed.files.unusable)
}

/**
 * `--fields` of the verbs that read `--flows` files (`simulate`, `lint`, `diff`), as `flows` and
 * `ingest` take it: the field order of an AWS custom format without its header line, checked
 * before anything is read ({@link checkFieldList}).
 */
export const FIELDS_HELP =
  'field order of --flows files in an AWS custom format without a header line, e.g. "version srcaddr dstaddr ..." (as flows and ingest take it)'

/** Parses `--format` for flow files. */
export function flowFormat(format: string | undefined): FlowFormat | 'auto' {
  if (format === undefined || format === 'auto') return 'auto'
  const known = PARSERS.map((p) => p.format as string)
  if (known.includes(format)) return format as FlowFormat
  throw new UsageError(`unknown flow format "${format}"`, `use auto or one of: ${known.join(', ')}`)
}

/**
 * The check between the options of `simulate` and `lint`, once, before the workspace
 * (`./usage.ts`): `--flows` given with `--since/--until`.
 * @throws UsageError.
 */
export function checkFlowFlags(opts: {
  flows?: string[] | boolean
  since?: number
  until?: number
}): void {
  if (
    Array.isArray(opts.flows) &&
    opts.flows.length > 0 &&
    (opts.since !== undefined || opts.until !== undefined)
  )
    throw new UsageError('--since/--until select stored flows; they cannot be used with --flows')
}

/**
 * Prints the `simulate/no-flows` warning (stderr) of a run that judged no flow although flows
 * were asked for: the store, its window or the files held none. `simulate --fail-on-block` then
 * passes and no rule is checked for use (`simulate`'s unused rules, `lint/unused`): said, not
 * silent. The hint names what to change: the window when one was given, the store when not, and
 * the summary above when the files had unusable or skipped records.
 */
export function warnNoFlowsJudged(fed: FedFlows, input: FlowInput): void {
  const windowed = input.since !== undefined || input.until !== undefined
  const troubled =
    (fed.files?.failed.length ?? 0) > 0 || Object.keys(fed.read?.skipped ?? {}).length > 0
  const hint =
    fed.from === 'store'
      ? windowed
        ? 'widen or move --since/--until, or ingest flows of that time'
        : 'ingest flows into the store first (bulkhead ingest), or pass --flows FILE...'
      : troubled
        ? 'check the files: what was unusable or skipped in them is said above'
        : 'the files hold no flow record: check that they are the files meant'
  printDiagnostics([
    {
      code: 'simulate/no-flows',
      severity: 'warning',
      message: `no flows were judged: ${fed.from === 'store' ? (windowed ? 'the store holds none in the window' : 'the store holds none') : 'no flow was read from the files'}`,
      hint,
    },
  ])
}

/** Registers `simulate`. */
export function registerSimulate(program: Command): void {
  windowOptions(
    verb(program, 'simulate')
      .description(
        'replay flows against the policy: what it would block, by edge; rule hit counts; unused and expired rules',
      )
      .option('-w, --workspace <dir>', 'workspace folder', '.'),
    'stored flows',
    '; flows with no real time are left out',
  )
    .addOption(policyOption('judge'))
    .option('--flows <files...>', "flow files to parse and judge (default: the workspace's store)")
    .option('-f, --format <format>', 'format of --flows files', flowFormat, 'auto')
    .option('--fields <list>', FIELDS_HELP, (t) => checkFieldList(t))
    .option('--strict', 'a malformed record in a --flows file is fatal (exit 1), not skipped')
    .addOption(
      timeOption(
        '--at <time>',
        "the instant rule expiry is judged at; addresses resolve at each flow's time",
      ),
    )
    .option('--as-enforced', 'take every workload as enforced, whatever the Enforcement modes say')
    .option(
      '--fail-on-block',
      'exit 2 when the policy denies any flow that has a workload on either side',
    )
    .option(
      '--examples <n>',
      'example flows kept per edge',
      wholeNumber(
        0,
        MAX_EXAMPLES,
        (t) => `--examples must be a whole number 0 to ${MAX_EXAMPLES}, got "${t}"`,
      ),
      3,
    )
    .addOption(outputOption(['text', 'json', 'yaml', 'md', 'csv', 'jsonl'], 'text'))
    .addOption(mdLimitOption('the denied-edge table and the rule-hit table'))
    .addHelpText(
      'after',
      `
A denied flow is "blocked" where the stronger enforcement mode of its two ends is enforce,
"would-be-blocked" where it is monitor and "unenforced" where it is observe; a flow to a multicast
group or the broadcast takes the strongest mode of its sender and of every workload holding an
address then (its receivers, each of which judges it). --fail-on-block counts every denied flow
with a workload on either side, or to a group a workload receives, whatever its mode (what
--as-enforced would block): the gate judges the policy before any mode changes. A denied flow its observer had
already rejected (AWS REJECT, Azure D, a firewall's deny, Zeek REJ) is counted apart, as "already
rejected": enforcing breaks nothing there, so it is neither would-be-blocked nor in the gate.
Rule hits count the flows a rule decided (the first matching deny, else the first matching allow).
-o jsonl prints every flow with its own verdict, one JSON line each, as it is judged (the flow as
\`flows -o jsonl\` prints it, then service, reply, srcEntity, dstEntity, decision, by, rule, action,
srcMode, dstMode, mode, outcome); the report's counts go to stderr.

Examples:
  $ bulkhead simulate                                      # every stored flow
  $ bulkhead simulate --since 2026-11-01 --until 2026-11-08 -o md
  $ bulkhead simulate --flows flows/aws/*.log.gz --policy proposed/ --fail-on-block
  $ bulkhead simulate --as-enforced -o csv > would-block.csv
  $ bulkhead simulate --flows conn.log -o jsonl | jq -c 'select(.outcome == "blocked")'

Exit codes: 0 done, 1 usage or input error, 2 --fail-on-block and something would be blocked.`,
    )
    .hook('preAction', (c) => {
      checkFlowFlags(c.opts<SimulateOptions>())
    })
    .action(async (opts: SimulateOptions) => {
      const { at, examples } = opts
      const input: FlowInput = {
        files: opts.flows ?? [],
        format: opts.format,
        ...(opts.fields !== undefined ? { fields: opts.fields } : {}),
        strict: opts.strict === true,
        ...windowOf(opts),
      }
      const { inventory, policySet, workspace } = await loadOrThrow(
        opts.workspace,
        new Date(at),
        opts.policy,
      )
      const index = PolicyIndex.build(inventory, policySet, at)
      const sim = new Simulator(index, inventory, at, {
        asEnforced: opts.asEnforced === true,
        examplesPerEdge: examples,
        policySet,
      })
      const jsonl = opts.output === 'jsonl'
      // -o jsonl: a line per flow as it is judged, written in pieces (backpressure from stdout)
      let lines: string[] = []
      const flush = async (): Promise<void> => {
        if (lines.length > 0) await writeStdout(lines.join(''))
        lines = []
      }
      let fed: FedFlows
      try {
        fed = await feedFlows(
          sim,
          index,
          input,
          workspace.store,
          jsonl
            ? async (f, v) => {
                if (v === undefined) return // counted in `skipped` (bad-address)
                lines.push(`${verdictLine(f, v)}\n`)
                if (lines.length >= 512) await flush()
              }
            : undefined,
        )
      } finally {
        await flush()
      }
      // the lines are the output: the reading summary and the report's counts go to stderr
      reportFlowRead(fed, jsonl ? 'text' : opts.output)
      const out = simulateOutputOf(sim, fed, input)
      if (jsonl) for (const line of simulateSummaryLines(out)) process.stderr.write(`${line}\n`)
      // --fail-on-block over nothing passes: say so
      if (out.flows === 0) warnNoFlowsJudged(fed, input)
      if (!jsonl) emit(out, opts.output, (o, f) => simulatePieces(o, f, opts.mdLimit))
      failIfUnusable(fed)
      process.exitCode =
        opts.failOnBlock === true && out.wouldBlockIfEnforced > 0 ? EXIT.checkFailed : EXIT.ok
    })
}
