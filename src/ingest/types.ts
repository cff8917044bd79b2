/**
 * @module The contract every flow parser implements, and the skip accounting they share.
 * @remarks Format details: shared/docs/FLOW-FORMATS.md.
 */
import { BulkheadError, type Diagnostic, type Flow } from '../core/index.js'
import type { StringTable } from './columnar.js'
import type { GcpReports } from './gcp-reports.js'
import type { PairHalf } from './netflow/decoder.js'
import type { NetflowRun } from './netflow/run.js'

/** Names of the supported formats. Stable: used on the command line and stored with flows. */
export type FlowFormat =
  | 'aws-vpc'
  | 'azure-nsg'
  | 'azure-vnet'
  | 'gcp-vpc'
  | 'zeek'
  | 'hubble'
  | 'netflow'
  | 'conntrack'
  | 'bulkhead-jsonl'
  | 'goflow2'
  | 'csv'

/** One skipped record, kept as an example for the summary. */
export interface SkipExample {
  /**
   * `file:line`, `file:line:column`, `file#record` (Azure: `file#tuple` or `file#record-N`,
   * the N-th record without flows), or `file` (or `file:0`): the whole file.
   */
  readonly where: string
  readonly reason: string
  /** The offending text, cut to 200 characters. */
  readonly text: string
  /**
   * Why, where the reason alone does not say (a CSV `no-header`: the required columns the line
   * lacks and the header names each takes).
   */
  readonly detail?: string
}

/**
 * Counts of what a parse saw. `skipped` is by reason (a short stable kebab-case string, e.g.
 * `bad-address`, `nodata`, `too-few-fields`); `examples` keeps the first few of each reason.
 * `notes` are records deliberately not emitted that are not errors (AWS NODATA, duplicate reports),
 * counted by reason too.
 */
export interface ParseStats {
  records: number
  skipped: Record<string, number>
  notes: Record<string, number>
  examples: SkipExample[]
  /**
   * The {@link flowNote}s of the record being read, not counted yet: a {@link skip} of the
   * record drops them; {@link flowGiven} moves them onto the record's flow (or, for a parser run
   * on its own, counts them).
   */
  pending?: string[]
  /**
   * Set by reading (read.ts): the {@link flowNote}s of a record ride on its flow
   * ({@link FLOW_NOTES}; a row's `notes` in columns) and are counted when reading gives the
   * flow out ({@link countFlowNotes}), so that a flow skipped after its parser gave it
   * (`mixed-address-families`, `no-sender` after pairing) takes its notes with it. Absent: a
   * parser run on its own counts a record's notes as it gives out its flow.
   */
  notesRide?: boolean
}

/** Options a parser receives. */
export interface ParseContext {
  /** The file name as given (for `source.file` and messages). */
  readonly file: string
  /** When true, the first malformed record is fatal: the parser throws a `BulkheadError` with `ingest/malformed-record`. */
  readonly strict: boolean
  /** Field order for formats that have one and no header (AWS custom formats: `--fields`). */
  readonly fields?: string
  /**
   * The time the file stands for, ms since the epoch, and where it comes from, for records whose
   * format has no time field (AWS custom formats without `start` and `end`, a `conntrack -L`
   * listing, CSV without times): the timestamp in an AWS flow log object name, else the file's
   * modification time.
   * Absent for standard input.
   */
  readonly fileTime?: { readonly ms: number; readonly from: 'name' | 'mtime' }
  /** Accumulates counts and examples; the parser mutates it through {@link skip} and {@link note}. */
  readonly stats: ParseStats
  /**
   * State shared with the other files of the read (see {@link ReadRun}). Without it, a file is
   * read on its own.
   */
  readonly run?: ReadRun
  /**
   * Given by reading when it pairs the two directions of a connection per exporter (NetFlow and
   * IPFIX, read.ts): the parser sets the exporter scope of each flow it gives out whose record
   * counts one direction only (netflow/decoder.ts `DecodeResult.halves`); reading pairs only
   * those (netflow/pairing.ts), and only two of the same scope. Absent: the parser records nothing.
   */
  readonly halves?: WeakMap<Flow, PairHalf>
}

/**
 * What the files of one read (one command) share, where a record of one file depends on another:
 * NetFlow/IPFIX templates (netflow/run.ts: data left without a template at the end of its file may
 * find one in another file) and GCP reports (gcp-reports.ts: the SRC and DEST reports of the same
 * traffic may be in two files); and, for speed, a string table for columnar reads.
 */
export interface ReadRun {
  readonly netflow: NetflowRun
  readonly gcpReports: GcpReports
  /**
   * One {@link StringTable} for the files read as columns with this run (read.ts
   * `readFlowColumns`), so that an address of many files has one code in all of them and the
   * store maps it to its address id once per batch writer instead of once per file: `ingest`
   * gives each run of small files one (read.ts `withSharedStrings`; 500 files of 2 000 AWS
   * records in process 1.81–2.03 → 1.71–1.83 s and 1.79–1.88 → 1.75–1.82 s, eight and six
   * alternating runs, 2026-11-25; the same stored rows). Absent (as read.ts `readRunOf` makes a
   * run): each file gets a table of its own, dropped with it, so that a command reading many
   * large files does not hold every distinct string of them to its end.
   */
  readonly strings?: StringTable
}

/**
 * One flow parser. Text parsers read lines; binary parsers read the raw bytes.
 * `detect` looks at the first bytes of a file (already gunzipped, at most 64 KiB) and returns
 * a confidence 0–1 that the content is this format (0: certainly not).
 */
export interface FlowParser {
  readonly format: FlowFormat
  readonly kind: 'lines' | 'bytes'
  detect(head: Uint8Array): number
}

/**
 * The synchronous per-line core of a line parser whose records are one line each and which
 * holds no flows back: `line` returns the line's flow, or undefined for a header, a blank line,
 * a note or a skip (recorded in the context it was made with). Reading calls it in a plain loop
 * over each batch of lines, which is the fast path (no async step per line).
 */
export interface LineReader {
  /** `lineNo` is 1-based. */
  line(raw: string, lineNo: number): Flow | undefined
}

/** A parser over lines. `lines` yields each line without its terminator; numbering is 1-based in order. */
export interface LineParser extends FlowParser {
  readonly kind: 'lines'
  /**
   * The longest line the format may hold, bytes, for formats whose records can be one JSON
   * document on a single line (Azure blobs, compact JSON arrays). Default: `MAX_LINE_BYTES`.
   */
  readonly maxLineBytes?: number
  parse(lines: AsyncIterable<string>, ctx: ParseContext): AsyncIterable<Flow>
  /**
   * The parser's {@link LineReader} for one file, when its records are independent lines.
   * Must give exactly what `parse` gives, line by line; `parse` is then a loop over it.
   */
  reader?(ctx: ParseContext): LineReader
}

/** A parser over chunks of raw bytes (NetFlow/IPFIX datagram files). */
export interface ByteParser extends FlowParser {
  readonly kind: 'bytes'
  parse(chunks: AsyncIterable<Uint8Array>, ctx: ParseContext): AsyncIterable<Flow>
}

/** Any flow parser: of text lines or of raw bytes, told apart by `kind`. */
export type AnyParser = LineParser | ByteParser

/** Most examples kept per reason. */
export const EXAMPLES_PER_REASON = 3

/**
 * Connections of an event stream (conntrack `-E`, Cisco NSEL) held open at once before the least
 * recently seen is given out unfinished (note `open-evicted`): bounds the memory of one read.
 */
export const MAX_OPEN_CONNECTIONS = 200_000

/** A fresh, empty {@link ParseStats}. */
export function newStats(): ParseStats {
  return { records: 0, skipped: {}, notes: {}, examples: [] }
}

/**
 * Records a malformed record: counts it under `reason`, keeps an example, and in strict mode
 * throws. `where` is `file:line`, `file:line:column` or `file#record`. `detail` says why where
 * the reason alone does not: it is kept on the example and put in the diagnostic's message
 * (`reason: detail: text`).
 */
export function skip(
  ctx: ParseContext,
  reason: string,
  where: string,
  text: string,
  diagnosticSink?: (d: Diagnostic) => void,
  detail?: string,
): void {
  const s = ctx.stats
  // the record's notes describe a flow that is not given out: dropped (never counted)
  if (s.pending !== undefined) s.pending.length = 0
  s.skipped[reason] = (s.skipped[reason] ?? 0) + 1
  if ((s.skipped[reason] ?? 0) <= EXAMPLES_PER_REASON)
    s.examples.push(
      detail === undefined
        ? { where, reason, text: text.slice(0, 200) }
        : { where, reason, text: text.slice(0, 200), detail },
    )
  if (ctx.strict || diagnosticSink) {
    const d: Diagnostic = {
      code: 'ingest/malformed-record',
      severity: ctx.strict ? 'fatal' : 'warning',
      message: `${reason}: ${detail === undefined ? '' : `${detail}: `}${text.slice(0, 200)}`,
      location: whereToLocation(where),
      hint: ctx.strict
        ? 'drop --strict to skip and count malformed records'
        : 'the record was skipped',
    }
    diagnosticSink?.(d)
    if (ctx.strict) throw new BulkheadError([d])
  }
}

/**
 * The JSON object on the first non-blank line of a file's head (a byte order mark and leading
 * blanks allowed), for the detectors of JSON-lines formats; undefined when that line is no JSON
 * object (also when the head cuts it).
 */
export function firstJsonObject(head: Uint8Array): Record<string, unknown> | undefined {
  const text = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('utf8')
  const first = text
    .replace(/^\uFEFF/, '')
    .split('\n')
    .find((l) => l.trim() !== '')
  if (first === undefined || !first.trimStart().startsWith('{')) return undefined
  try {
    const v: unknown = JSON.parse(first)
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

/**
 * The JSON object on one record line (JSON lines: Bulkhead's own, Zeek, Hubble). A line that is
 * no JSON, or JSON that is not an object (an array, a string, `null`), is skipped as `bad-json`
 * at `where` ({@link skip}) and gives undefined.
 * @throws BulkheadError in strict mode, as {@link skip}.
 */
export function jsonRecord(
  line: string,
  ctx: ParseContext,
  where: string,
): Record<string, unknown> | undefined {
  let v: unknown
  try {
    v = JSON.parse(line)
  } catch {
    v = undefined
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    skip(ctx, 'bad-json', where, line)
    return undefined
  }
  return v as Record<string, unknown>
}

/**
 * Counts `count` (default 1) records deliberately not emitted that are not errors (e.g. AWS
 * NODATA), or conditions of a file worth saying (gzip trailing bytes), in `ctx.stats.notes`.
 */
export function note(ctx: Pick<ParseContext, 'stats'>, reason: string, count = 1): void {
  ctx.stats.notes[reason] = (ctx.stats.notes[reason] ?? 0) + count
}

/**
 * The notes a flow carries from its record (two records' for a merged pair, each record's once)
 * until reading gives it out: see {@link ParseStats.notesRide}. A symbol key, so that a spread
 * (`{ ...f, direction }`) keeps them and no output (`flowToJson`, the store) sees them.
 */
export const FLOW_NOTES: unique symbol = Symbol('bulkhead.flowNotes')

/** A {@link Flow} with the notes of its record(s) ({@link FLOW_NOTES}), while reading holds it. */
export type NotedFlow = Flow & { [FLOW_NOTES]?: readonly string[] }

/**
 * Notes `reason` about the flow the record being read gives (`counters-not-logged`,
 * `local-time-as-utc`, ...): remembered in `ctx.stats.pending`, not counted. A {@link skip} of
 * the record drops it; when the parser gives out the record's flow, {@link flowGiven} moves it
 * onto the flow, which carries it through orientation and pairing, and reading counts it when
 * it gives the flow out (read.ts; {@link ParseStats.notesRide}). So `notes` counts only what
 * describes flows given out, whatever skips a flow and wherever. A parser that holds flows back
 * and gives them out later notes with {@link note}, after its checks.
 */
export function flowNote(ctx: Pick<ParseContext, 'stats'>, reason: string): void {
  const s = ctx.stats
  if (s.pending === undefined) s.pending = [reason]
  else s.pending.push(reason)
}

/**
 * Called with what a parser's per-record step gave (a {@link LineReader}'s `line`, a record
 * parser) before the flow goes anywhere: the record's pending {@link flowNote}s go onto `flow`
 * ({@link FLOW_NOTES}) when reading carries notes ({@link ParseStats.notesRide}), else (a parser
 * run on its own, whose flows are final) they are counted. A record that gave no flow and
 * skipped nothing (a header, a record merged into another): its notes are counted. Returns `flow`.
 */
export function flowGiven<F extends Flow | undefined>(stats: ParseStats, flow: F): F {
  const p = stats.pending
  if (p === undefined || p.length === 0) return flow
  if (flow !== undefined && stats.notesRide === true) {
    const f = flow as NotedFlow
    const had = f[FLOW_NOTES]
    ;(f as { [FLOW_NOTES]?: readonly string[] })[FLOW_NOTES] =
      had === undefined ? p.slice() : [...had, ...p]
  } else for (const r of p) stats.notes[r] = (stats.notes[r] ?? 0) + 1
  p.length = 0
  return flow
}

/**
 * Puts note `reason` on `f` ({@link FLOW_NOTES}): a note about a flow already made, from a
 * reader that learns its notes with the flow (the NetFlow/IPFIX decoder's
 * `DecodeProblem.flow`). Counted, as every flow note, when reading gives `f` out
 * ({@link countFlowNotes}).
 */
export function noteOnFlow(f: Flow, reason: string): void {
  const had = (f as NotedFlow)[FLOW_NOTES]
  // a new array: a merged flow may share its notes with one of its records
  ;(f as { [FLOW_NOTES]?: readonly string[] })[FLOW_NOTES] =
    had === undefined ? [reason] : [...had, reason]
}

/** The notes `f` carries ({@link FLOW_NOTES}), or undefined. */
export function flowNotesOf(f: Flow): readonly string[] | undefined {
  return (f as NotedFlow)[FLOW_NOTES]
}

/**
 * `out` (a flow made from `a`, and `b` for a merged pair) with the notes of `a` and `b`: each
 * record's notes once, so a pair counts both its records' notes (as the store's pairing of two
 * halves stored from two files does, whose notes counted as each was stored).
 */
export function withNotesOf<F extends Flow>(out: F, a: Flow, b?: Flow): F {
  const na = (a as NotedFlow)[FLOW_NOTES]
  const nb = b === undefined ? undefined : (b as NotedFlow)[FLOW_NOTES]
  const n = na === undefined ? nb : nb === undefined ? na : [...na, ...nb]
  if (n !== undefined) (out as { [FLOW_NOTES]?: readonly string[] })[FLOW_NOTES] = n
  return out
}

/**
 * Counts the notes `f` carries ({@link FLOW_NOTES}) in `stats.notes` and takes them off it: reading
 * gives `f` out (after every check that may skip it). Returns `f`.
 */
export function countFlowNotes(stats: ParseStats, f: Flow): Flow {
  const n = (f as NotedFlow)[FLOW_NOTES]
  if (n === undefined) return f
  for (const r of n) stats.notes[r] = (stats.notes[r] ?? 0) + 1
  Reflect.deleteProperty(f, FLOW_NOTES)
  return f
}

function whereToLocation(where: string): { file: string; line: number; column: number } {
  const c = /^(.*):(\d+):(\d+)$/.exec(where)
  if (c) return { file: c[1] ?? where, line: Number(c[2]), column: Number(c[3]) }
  const m = /^(.*):(\d+)$/.exec(where)
  // line 0 is the whole file (`--fields`), which has no column
  if (m) return { file: m[1] ?? where, line: Number(m[2]), column: m[2] === '0' ? 0 : 1 }
  return { file: where, line: 0, column: 0 }
}
