/**
 * @module `bulkhead ingest [FILE...]`: parse flow files and store them in the workspace store,
 * once per file (by content fingerprint), with progress on a terminal.
 */
import { existsSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs'
import { globSync, isDynamicPattern } from 'tinyglobby'
import path from 'node:path'
import type { Command } from 'commander'
import { BulkheadError, type Diagnostic, type Workspace, counted } from '../../core/index.js'
import {
  readRunOf,
  readFlowColumns,
  summarize,
  formatRunSummary,
  withSharedStrings,
  type FileSummary,
  type RunSummary,
} from '../../ingest/read.js'
import { isRegularFile } from '../../ingest/lines.js'
import { PARSERS } from '../../ingest/registry.js'
import type { FlowFormat, ReadRun } from '../../ingest/types.js'
import { INVENTORY_EXT, YAML_EXT } from '../../policy/files.js'
import { defaultWorkspace, parseWorkspaceFile, WORKSPACE_FILE } from '../../policy/workspace.js'
import type { FlowBatch, IngestFileResult } from '../../store/index.js'
import { openStore } from '../store.js'
import { checkFieldList, expandInputs, noFiles } from '../inputs.js'
import { emit, EXIT, printDiagnostics, UsageError, makeDirectory } from '../output.js'
import { outputOption, verb } from '../usage.js'
import { startProgress } from '../progress.js'

/** Options of the `ingest` verb as commander passes them. */
interface IngestOptions {
  workspace: string
  format?: FlowFormat | 'auto'
  fields?: string
  strict?: boolean
  output: string
}

/** The JSON shape of `ingest -o json`. Stable. */
export interface IngestOutput {
  /** Files read now (already-ingested files are not read and not counted here). */
  readonly files: number
  /**
   * Flows stored now: the files' flows (after pairing the two directions of a connection within
   * each file), less the pairs the store merged with a half from another file (note
   * `paired-across-files`), which may have been stored before.
   */
  readonly records: number
  /** Malformed records skipped, by reason. */
  readonly skipped: Readonly<Record<string, number>>
  /** Records deliberately not stored (AWS NODATA, paired directions, ...), by reason. */
  readonly notes: Readonly<Record<string, number>>
  /** The first skipped records: `{where, reason, text}`. */
  readonly examples: RunSummary['examples']
  /** Flows stored by format. */
  readonly formats: Readonly<Record<string, number>>
  /** On-disk bytes read. */
  readonly bytes: number
  readonly seconds: number
  /**
   * Files skipped because a file with the same bytes was ingested before: by an earlier ingest,
   * or by this one (then also in `sameBytesAs`).
   */
  readonly alreadyIngested: readonly string[]
  /** Of `alreadyIngested`, those whose twin was stored by this run: file → the twin. */
  readonly sameBytesAs: Readonly<Record<string, string>>
  /** Files that could not be used; nothing of them was stored. */
  readonly failed: readonly string[]
  /** The store written to. */
  readonly store: string
  /**
   * Whether this run created the store: `true` when it was not there before and the run stored a
   * file; `false` when it was there, or when the run stored nothing and so left nothing behind
   * (the store, and the folders made for it, are removed again).
   */
  readonly storeCreated: boolean
  /** Whether the run made a store, stored nothing in it, and so removed it again. */
  readonly storeRemoved: boolean
  readonly diagnostics: readonly Diagnostic[]
}

/** One file to ingest, with the format and field order that apply to it. */
export interface IngestJob {
  readonly file: string
  readonly format: FlowFormat | 'auto'
  readonly fields?: string
}

function checkFlowFormat(format: string, where: string): FlowFormat | 'auto' {
  const known = PARSERS.map((p) => p.format as string)
  if (format === 'auto' || known.includes(format)) return format as FlowFormat | 'auto'
  throw new UsageError(
    `unknown flow format "${format}" (${where})`,
    `use auto or one of: ${known.join(', ')}`,
  )
}

/** Reads `bulkhead.yaml` of `root` when present; defaults otherwise. Throws on a broken file. */
function readWorkspace(root: string): Workspace {
  const file = path.join(root, WORKSPACE_FILE)
  if (!existsSync(file)) return defaultWorkspace(root)
  const sink: Diagnostic[] = []
  const ws = parseWorkspaceFile(root, { path: file, text: readFileSync(file, 'utf8') }, sink)
  if (sink.some((d) => d.severity !== 'warning')) throw new BulkheadError(sink)
  return ws
}

/**
 * `pattern` with each `|` outside parentheses and brackets escaped. picomatch reads a bare `|` as
 * "or" between whole patterns, so `/data/a|*` also matched every file of the current folder; a
 * `|` is a file name character there, and alternatives are written `{a,b}` or `(a|b)`.
 */
function literalBars(pattern: string): string {
  let out = ''
  let parens = 0
  let bracket = false
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string
    if (c === '\\') {
      out += pattern.slice(i, i + 2)
      i++
      continue
    }
    if (bracket) bracket = c !== ']'
    else if (c === '[') bracket = true
    else if (c === '(') parens++
    else if (c === ')' && parens > 0) parens--
    out += c === '|' && parens === 0 && !bracket ? '\\|' : c
  }
  return out
}

/**
 * Expands a glob to the regular files it matches, sorted: an absolute path in tinyglobby's
 * (picomatch's) syntax, `*` and `?` within a path segment, `**` across segments, classes
 * `[a-z]` and `[!a]`, braces `{a,b}`; dot files match; `|` is a file name character outside
 * parentheses (`(a|b)` is an alternative). A pattern that can match no path
 * (`[z-a]`) matches nothing, as a pattern matching no file does. A path that is no pattern is
 * returned as is, so that a missing file is reported when it is read.
 * @remarks Syntax: https://github.com/SuperchupuDev/tinyglobby and picomatch's globbing
 * features (https://github.com/micromatch/picomatch#globbing-features).
 */
export function expandGlob(pattern: string): string[] {
  const posix = literalBars(pattern.split(path.sep).join('/'))
  if (!isDynamicPattern(posix)) return [pattern]
  return globSync(posix, { absolute: true, onlyFiles: true, dot: true, expandDirectories: false })
    .map((f) => path.normalize(f))
    .filter(isRegularFile)
    .sort()
}

/**
 * The files to read, each with its format, from the files named or else the workspace's
 * sources. An empty folder, and a source that matches no file, add an `ingest/no-files`
 * warning to `sink`.
 * @throws UsageError for a bad format or field list of a source, or nothing to read.
 */
function planJobs(
  files: readonly string[],
  opts: IngestOptions,
  ws: Workspace,
  sink: Diagnostic[],
): IngestJob[] {
  const cliFormat = opts.format
  if (files.length > 0) {
    return expandInputs(files, sink).map((file) => ({
      file,
      format: cliFormat ?? 'auto',
      ...(opts.fields !== undefined ? { fields: opts.fields } : {}),
    }))
  }
  if (ws.sources.length === 0) {
    throw new UsageError(
      'no files given and the workspace has no sources',
      `name files, or add sources: to ${WORKSPACE_FILE}`,
    )
  }
  const jobs: IngestJob[] = []
  const own = workspaceOwn(ws)
  for (const s of ws.sources) {
    const format = cliFormat ?? checkFlowFormat(s.format, `sources in ${WORKSPACE_FILE}`)
    const fields = opts.fields ?? s.fields
    checkFieldList(fields, `the fields of source "${s.path}" in ${WORKSPACE_FILE}`)
    const matched = expandInputs(expandGlob(s.path), sink).filter((f) => !own(f))
    if (matched.length === 0) sink.push(noFiles(`source "${s.path}" of ${WORKSPACE_FILE}`))
    for (const file of matched)
      jobs.push({ file, format, ...(fields !== undefined ? { fields } : {}) })
  }
  return jobs
}

/**
 * Whether a file is the workspace's own, never a flow log: its bulkhead.yaml, a file its policy
 * folder or inventory loads (by name: YAML, and CSV and JSON in an inventory folder; a flow log
 * kept there is a source's), its store (and the store's write-ahead log), anything in its
 * `.bulkhead/` folder (the parse cache) or its `.git/` folder (DESIGN.md keeps policy in git). A
 * source glob that reaches them (`**`, dot files match) leaves them out; before 2026-11-25 each
 * was an `ingest/unknown-format` fatal, exit 1 on every run.
 */
function workspaceOwn(ws: Workspace): (file: string) => boolean {
  const under = (dir: string, f: string): boolean => f === dir || f.startsWith(dir + path.sep)
  const loaded = (dirs: readonly string[], ext: RegExp, f: string): boolean =>
    dirs.some((d) => under(d, f)) && ext.test(f) && !path.basename(f).startsWith('.')
  const hidden = [path.join(ws.root, '.bulkhead'), path.join(ws.root, '.git')]
  const files = new Set([path.join(ws.root, WORKSPACE_FILE), ws.store, `${ws.store}.wal`])
  return (file) => {
    const f = path.resolve(file)
    return (
      files.has(f) ||
      hidden.some((d) => under(d, f)) ||
      loaded([ws.policy], YAML_EXT, f) ||
      loaded(ws.inventory, INVENTORY_EXT, f)
    )
  }
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size
  } catch {
    return 0
  }
}

function renderText(out: IngestOutput): string {
  const s: RunSummary = {
    files: out.files,
    records: out.records,
    skipped: out.skipped,
    notes: out.notes,
    examples: out.examples,
    formats: out.formats,
    bytes: out.bytes,
    seconds: out.seconds,
    diagnostics: out.diagnostics,
  }
  const lines = [
    formatRunSummary(s),
    out.storeCreated
      ? `stored ${counted(out.records, 'flow')} in ${out.store} (a new store)`
      : out.storeRemoved
        ? `nothing stored: no store at ${out.store} was created`
        : `stored ${counted(out.records, 'flow')} in ${out.store}`,
  ]
  // a twin stored by this very run is named: "already ingested" would read as an earlier run
  const before = out.alreadyIngested.filter((f) => out.sameBytesAs[f] === undefined)
  if (before.length > 0) lines.push(`already ingested, not read again: ${before.join(', ')}`)
  const twins = new Map<string, string[]>()
  for (const [file, twin] of Object.entries(out.sameBytesAs))
    twins.set(twin, [...(twins.get(twin) ?? []), file])
  for (const [twin, files] of twins)
    lines.push(`same bytes as ${twin}, not read again: ${files.join(', ')}`)
  if (out.failed.length > 0) lines.push(`not stored (unusable): ${out.failed.join(', ')}`)
  return lines.join('\n')
}

/**
 * Runs an ingest: a file larger than {@link SMALL_FILE_BYTES} goes into the store in its own
 * transaction, a run of smaller ones in one transaction (`FlowStore.ingestFiles`), where a file
 * that fails is left out alone. Returns the output and whether any file was unusable. Exported for the benchmark, which runs the same path.
 */
export async function ingestFiles(
  jobs: readonly IngestJob[],
  storePath: string,
  opts: { strict: boolean; progress?: boolean },
): Promise<IngestOutput> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(storePath)) {
    throw new UsageError(`store ${storePath}: only a DuckDB file store is supported so far`)
  }
  // a store this run creates is removed again, with the folders made for it, when nothing is
  // stored: `ingest FILE` of an unusable file in a folder that is no workspace leaves none
  const fresh = storePath !== ':memory:' && !existsSync(storePath)
  const madeDirs = fresh ? missingDirs(path.dirname(storePath)) : []
  if (storePath !== ':memory:') makeDirectory(path.dirname(storePath))
  const store = await openStore(storePath)
  const started = performance.now()
  const summaries: FileSummary[] = []
  const already: string[] = []
  // fingerprint → the file of this run stored with it, and the files found to be its twins
  const storedNow = new Map<string, string>()
  const sameBytesAs: Record<string, string> = {}
  const failed: string[] = []
  const diagnostics: Diagnostic[] = []
  const sizes = jobs.map((j) => sizeOf(j.file))
  // bytes on disk of the jobs before each job, and of all of them
  const offsets = [0]
  for (const size of sizes) offsets.push((offsets[offsets.length - 1] ?? 0) + size)
  const totalBytes = offsets[jobs.length] ?? 0
  // one read of all the files, though each is stored alone or in a run of small files: NetFlow
  // templates and GCP reports may be in another file (ReadRun)
  const shared = readRunOf(jobs)
  // GCP reports left by earlier commands: the other VM's report of traffic stored then is dropped
  await store.keepGcpReports(shared.gcpReports)
  const progress = startProgress(totalBytes, opts.progress ?? process.stderr.isTTY)
  let doneBytes = 0
  let doneRecords = 0
  let readRecords = 0
  // records of the files stored so far: where the progress bar's count goes on from
  let storedRecords = 0
  /**
   * The batches of one job's file, read with `run`, its reading shown on the progress bar.
   * @throws BulkheadError `ingest/all-records-skipped` (a warning) once read, when the file gave
   *   no flow and skipped records ({@link everyRecordSkipped}): the store keeps nothing of it, so
   *   it can be ingested again (with its template file, with the right `--format`).
   */
  async function* read(job: IngestJob, file: string, run: ReadRun): AsyncIterable<FlowBatch> {
    const before = summaries.length
    yield* readFile(job, file, run)
    const summary = summaries.slice(before).find((s) => s.file === file)
    if (summary !== undefined) everyRecordSkipped(summary)
  }
  const readFile = (job: IngestJob, file: string, run: ReadRun): AsyncIterable<FlowBatch> => {
    // the records of the file read before, in a run, are stored only when the run commits
    doneRecords += readRecords
    readRecords = 0
    return readFlowColumns(
      [file],
      {
        format: job.format,
        strict: opts.strict,
        ...(job.fields !== undefined ? { fields: job.fields } : {}),
        run,
        onProgress: (p) => {
          progress.update({
            bytesDone: doneBytes + p.bytesRead,
            records: doneRecords + p.records,
            file: p.file,
          })
          readRecords = p.records
        },
      },
      summaries,
    )
  }
  /** Books the outcome of one file: stored, found already ingested, or failed. */
  // stored flows read `reject` by the store because another file holds the refusing end
  let settledAcrossFiles = 0
  // pairs merged by the store that the server's reset shows refused
  let refusedAcrossFiles = 0
  // halves merged by the store with the other half from another file, by format
  const pairedAcrossFiles: Record<string, number> = {}
  const settle = (file: string, result: IngestFileResult | BulkheadError): void => {
    if (
      result instanceof BulkheadError &&
      result.diagnostics.every((d) => d.severity === 'warning')
    ) {
      // read, but nothing to store (every record skipped): said, not failed, and not marked
      for (const d of result.diagnostics) diagnostics.push(d)
    } else if (result instanceof BulkheadError) {
      failed.push(file)
      // a commit that failed is the one error of every file it held: said once
      for (const d of result.diagnostics) if (!diagnostics.includes(d)) diagnostics.push(d)
    } else if (result.alreadyIngested) {
      already.push(file)
      const twin = storedNow.get(result.fingerprint)
      if (twin !== undefined) sameBytesAs[file] = twin
    } else {
      storedRecords += result.records
      storedNow.set(result.fingerprint, file)
      settledAcrossFiles += result.rejectedAtOtherEnd ?? 0
      refusedAcrossFiles += result.refusedByReset ?? 0
      for (const [format, n] of Object.entries(result.pairedAcrossFiles ?? {}))
        pairedAcrossFiles[format] = (pairedAcrossFiles[format] ?? 0) + n
    }
  }
  try {
    for (let i = 0; i < jobs.length;) {
      const group = smallRun(jobs, sizes, i)
      if (group > 1) {
        const run = jobs.slice(i, i + group)
        const base = i
        // one string table for the run's files, which one batch writer stores (ReadRun.strings)
        const runRead = withSharedStrings(shared)
        const results = await store.ingestFiles(
          run.map((j) => j.file),
          (file, k) => {
            doneBytes = offsets[base + k] ?? 0
            return read(run[k] as IngestJob, file, runRead)
          },
        )
        results.forEach((r, k) => {
          settle((run[k] as IngestJob).file, r)
        })
        doneRecords = storedRecords
        readRecords = 0
        i += group
        doneBytes = offsets[i] ?? 0
        continue
      }
      const job = jobs[i] as IngestJob
      // a large file is read while it is hashed: a file found already ingested drops its summary
      const before = summaries.length
      let result: IngestFileResult | BulkheadError
      try {
        result = await store.ingestFile(job.file, (file) => read(job, file, shared))
      } catch (err) {
        if (!(err instanceof BulkheadError)) throw err
        result = err
      }
      if (!(result instanceof BulkheadError) && result.alreadyIngested) summaries.length = before
      settle(job.file, result)
      doneRecords = storedRecords
      readRecords = 0
      i++
      doneBytes = offsets[i] ?? 0
    }
  } finally {
    progress.stop()
    await store.close()
    if (fresh && storedNow.size === 0) removeStore(storePath, madeDirs)
  }
  const seconds = (performance.now() - started) / 1000
  // a failed file's summary counts what was read, but nothing of it was stored
  const stored = summaries.filter((s) => !failed.includes(s.file))
  const run = summarize(stored, seconds)
  const notes = { ...run.notes }
  if (settledAcrossFiles > 0)
    notes['rejected-at-other-end'] = (notes['rejected-at-other-end'] ?? 0) + settledAcrossFiles
  if (refusedAcrossFiles > 0)
    notes['refused-by-reset'] = (notes['refused-by-reset'] ?? 0) + refusedAcrossFiles
  // each pair merged across files is one flow fewer than the files' records: the store's count
  let records = run.records
  const formats = { ...run.formats }
  for (const [format, n] of Object.entries(pairedAcrossFiles)) {
    notes['paired-across-files'] = (notes['paired-across-files'] ?? 0) + n
    records -= n
    formats[format] = (formats[format] ?? 0) - n
  }
  return {
    files: run.files,
    records,
    skipped: run.skipped,
    notes,
    examples: run.examples,
    formats,
    bytes: run.bytes,
    seconds: run.seconds,
    alreadyIngested: already,
    sameBytesAs,
    failed,
    store: storePath,
    storeCreated: fresh && storedNow.size > 0,
    storeRemoved: fresh && storedNow.size === 0,
    diagnostics: [...run.diagnostics, ...diagnostics],
  }
}

/**
 * Throws when a file read gave no flow and skipped records: every record of it was malformed for
 * the format read (a wrong `--format` or `--fields`), or NetFlow data whose template no file of
 * the command holds. Stored, it would be marked ingested with nothing of it in the store, and
 * every later `ingest` of it, with its template or the right format, would pass it over as
 * already ingested. Thrown, the store keeps nothing of it (not even the mark); the error is a
 * warning, so the run does not fail for it (malformed records are skipped, not fatal, but for
 * `--strict`, which stops at the first). A file of no record (empty, AWS `NODATA` only) is no
 * such file.
 * @throws BulkheadError `ingest/all-records-skipped` (warning) naming the reasons and what to do.
 */
function everyRecordSkipped(summary: FileSummary): void {
  const skipped = Object.entries(summary.stats.skipped)
  if (summary.stats.records > 0 || skipped.length === 0) return
  const total = skipped.reduce((n, [, k]) => n + k, 0)
  const reasons = skipped.map(([r, k]) => `${r} ${String(k)}`).join(', ')
  throw new BulkheadError([
    {
      code: 'ingest/all-records-skipped',
      severity: 'warning',
      message: `${summary.file}: every record was skipped (${counted(total, 'record')}: ${reasons}); nothing of it is stored, and it is not marked ingested`,
      location: { file: summary.file, line: 0, column: 0 },
      hint: summary.stats.skipped['no-template']
        ? 'NetFlow/IPFIX data without its template: ingest it again together with the file that holds its template'
        : `check --format and --fields (bulkhead flows ${summary.file} shows the skipped records), then ingest it again`,
    },
  ])
}

/**
 * Files up to this size (bytes on disk) are stored in runs, many to a transaction
 * (`FlowStore.ingestFiles`), each read whole into memory before it is written: a transaction,
 * its commit and the set-up of the store's appenders cost milliseconds per file, more than
 * reading a file of a few kilobytes (hourly AWS VPC flow-log files of one interface).
 */
export const SMALL_FILE_BYTES = 4 * 1024 * 1024

/**
 * At most this many files, and {@link SMALL_RUN_BYTES} bytes on disk, go into one run: the
 * work an interrupted ingest loses, and a full disk fails, at once.
 */
export const SMALL_RUN_FILES = 1000

/** At most this many bytes on disk go into one run of small files ({@link SMALL_RUN_FILES}). */
export const SMALL_RUN_BYTES = 64 * 1024 * 1024

/** How many jobs from `from` on form a run of small files (0 or 1: none, store it alone). */
function smallRun(jobs: readonly IngestJob[], sizes: readonly number[], from: number): number {
  let n = 0
  let bytes = 0
  while (from + n < jobs.length && n < SMALL_RUN_FILES) {
    const size = sizes[from + n] ?? 0
    if (size > SMALL_FILE_BYTES || (n > 0 && bytes + size > SMALL_RUN_BYTES)) break
    bytes += size
    n++
  }
  return n
}

/** `dir` and its ancestors that do not exist, deepest first (what `mkdir -p dir` makes). */
function missingDirs(dir: string): string[] {
  const out: string[] = []
  for (let d = path.resolve(dir); !existsSync(d); d = path.dirname(d)) {
    out.push(d)
    if (path.dirname(d) === d) break
  }
  return out
}

/**
 * Removes a DuckDB store this run created (its file, write-ahead log and spill folder) and the
 * folders made for it, deepest first; a folder that holds anything else stays.
 */
function removeStore(storePath: string, madeDirs: readonly string[]): void {
  for (const f of [storePath, `${storePath}.wal`, `${storePath}.tmp`])
    rmSync(f, { recursive: true, force: true })
  for (const d of madeDirs) {
    try {
      rmdirSync(d)
    } catch {
      return
    }
  }
}

/** A file argument, added to `previous`: `-` (standard input) is refused, as ingest knows each file by its content. */
function fileArgument(file: string, previous: string[] | undefined): string[] {
  if (file === '-')
    throw new UsageError(
      'ingest does not read standard input',
      'write the flows to a file and ingest that: each file is stored once, known by its content',
    )
  return [...(previous ?? []), file]
}

/** Registers `ingest`. */
export function registerIngest(program: Command): void {
  verb(program, 'ingest')
    .description('parse flow files and store the flows in the workspace store (each file once)')
    .argument(
      '[files...]',
      "flow files (gzip is fine) or folders (every file beneath); default: the workspace's sources",
      fileArgument,
    )
    .option('-w, --workspace <dir>', 'workspace folder', '.')
    .option(
      '-f, --format <format>',
      `auto | ${PARSERS.map((p) => p.format).join(' | ')} (default: auto, or each source's format)`,
      (t) => checkFlowFormat(t, '--format'),
    )
    .option('--fields <list>', 'field order for AWS custom formats without a header line', (t) =>
      checkFieldList(t),
    )
    .option('--strict', 'stop at the first malformed record (nothing of that file is stored)')
    .addOption(outputOption(['text', 'json', 'yaml'], 'text'))
    .addHelpText(
      'after',
      `
A file whose bytes were ingested before is not stored again (one of 64 MiB or more is hashed while
it is read, and read only until its hash is known). A file that cannot be used (unknown format,
truncated gzip, --strict and a bad record) stores nothing; the other files are stored all the same.
A file whose every record was skipped stores nothing and is not marked ingested (a warning), so it
can be given again with the right --format or with its NetFlow template file.

Examples:
  $ bulkhead ingest flows/aws/2026-11-01.log.gz
  $ bulkhead ingest -w my-estate               # the sources listed in bulkhead.yaml
  $ bulkhead ingest conn.log --format zeek -o json

Exit codes: 0 success, 1 usage error or an unusable file.`,
    )
    .action(async (files: string[], opts: IngestOptions) => {
      const ws = readWorkspace(opts.workspace)
      const planned: Diagnostic[] = []
      const jobs = planJobs(files, opts, ws, planned)
      const ran = await ingestFiles(jobs, ws.store, { strict: opts.strict === true })
      const out = { ...ran, diagnostics: [...planned, ...ran.diagnostics] }
      printDiagnostics(out.diagnostics)
      emit(out, opts.output, (o) => renderText(o))
      if (out.failed.length > 0) process.exitCode = EXIT.input
    })
}
