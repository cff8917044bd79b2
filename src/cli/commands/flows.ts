/**
 * @module `bulkhead flows FILE...`: parse flow files of any supported format and print the
 * normalised flows, with a summary of what was skipped on stderr.
 */
import type { Command } from 'commander'
import { BulkheadError, type Diagnostic, type Flow } from '../../core/index.js'
import { PARSERS } from '../../ingest/registry.js'
import { formatRunSummary, type RunSummary } from '../../ingest/read.js'
import type { FlowFormat } from '../../ingest/types.js'
import { flowToJson } from '../../ingest/index.js'
import {
  checkFieldList,
  expandInputs,
  filesRead,
  readEachFile,
  readSummary,
  unusableLines,
} from '../inputs.js'
import { startFilesProgress } from '../progress.js'
import { AfterOutputError, printDiagnostics, toYaml, writeStdout } from '../output.js'
import { choiceOption, outputOption, verb, wholeNumber } from '../usage.js'

/** Output formats of `bulkhead flows`. */
export const FLOWS_OUTPUTS = ['jsonl', 'csv', 'table', 'json', 'yaml'] as const

/** Columns of the CSV and table output, in order. Stable: scripts read the CSV header. */
export const FLOW_COLUMNS = [
  'start',
  'end',
  'src',
  'srcPort',
  'dst',
  'dstPort',
  'protocol',
  'packets',
  'bytes',
  'observedAction',
  'direction',
  'tcpFlags',
  'srcName',
  'dstName',
  'format',
  'file',
  'line',
] as const

function cells(f: Flow): string[] {
  return [
    new Date(f.start).toISOString(),
    new Date(f.end).toISOString(),
    f.src,
    String(f.srcPort),
    f.dst,
    String(f.dstPort),
    String(f.protocol),
    String(f.packets),
    String(f.bytes),
    f.observedAction,
    f.direction,
    f.tcpFlags !== undefined ? String(f.tcpFlags) : '',
    f.srcName ?? '',
    f.dstName ?? '',
    f.source.format,
    f.source.file,
    f.source.line !== undefined
      ? String(f.source.line)
      : f.source.record !== undefined
        ? `#${f.source.record}`
        : '',
  ]
}

/** One CSV field, quoted per RFC 4180 when it holds a comma, quote or line break. */
export function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v
}

/**
 * Rows as the lines of an aligned text table, header first (numbers right-aligned). Columns are
 * as wide as their widest cell, so every row is read twice; nothing is spread into arguments, so
 * any number of rows renders.
 */
export function* tableLines(rows: readonly Flow[]): Generator<string> {
  const head = [...FLOW_COLUMNS] as string[]
  const widths = head.map((h) => h.length)
  for (const f of rows) {
    const r = cells(f)
    for (let i = 0; i < r.length; i++) widths[i] = Math.max(widths[i] ?? 0, (r[i] ?? '').length)
  }
  const right = new Set([3, 5, 6, 7, 8, 11])
  const fmt = (r: readonly string[]): string =>
    r
      .map((c, i) => (right.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  yield fmt(head)
  for (const f of rows) yield fmt(cells(f))
}

/** Renders rows as an aligned text table with a header (numbers right-aligned). */
export function renderTable(rows: readonly Flow[]): string {
  return [...tableLines(rows)].join('\n')
}

/** One flow of `-o json`'s `flows` array, indented to its place in the document. */
function jsonFlow(f: Flow): string {
  return `    ${JSON.stringify(flowToJson(f), null, 2).replace(/\n/g, '\n    ')}`
}

interface FlowsOptions {
  format: string
  fields?: string
  strict?: boolean
  output: string
  limit?: number
  pair: boolean
}

/** Registers `bulkhead flows` on `program`. */
export function registerFlows(program: Command): void {
  const formats = PARSERS.map((p) => p.format)
  verb(program, 'flows')
    .description(
      'parse flow files of any supported format; print normalised flows and a summary of skipped records',
    )
    .argument(
      '<files...>',
      'flow files (gzip is read transparently), or folders (every file beneath); - for stdin',
    )
    .addOption(
      choiceOption(
        '-f, --format <format>',
        'flow format',
        ['auto', ...formats],
        (t) => `unknown flow format "${t}"`,
        'auto',
      ),
    )
    .option(
      '--fields <fields>',
      'AWS custom format field order without a header, e.g. "version srcaddr dstaddr ..." or the ${...} format string',
      (t) => checkFieldList(t),
    )
    .option(
      '--strict',
      'stop at the first malformed record (exit 1) instead of skipping and counting it',
    )
    .option(
      '--no-pair',
      'do not merge the two directions of a connection (AWS VPC, GCP VPC; NetFlow/IPFIX and nfdump CSV per exporter)',
    )
    .addOption(outputOption(FLOWS_OUTPUTS, 'jsonl'))
    .option(
      '--limit <n>',
      'print at most n flows (all are still read and counted)',
      wholeNumber(0, Infinity, (t) => `--limit must be a non-negative integer, not "${t}"`),
    )
    .addHelpText(
      'after',
      `
Output: jsonl (default) prints one JSON flow per line, times as ISO-8601 UTC; csv has a header row;
table is aligned for terminals (held in memory for its column widths); json prints
{"flows": [...], "failed": [unusable files], "summary": ...}, written as it is read; yaml the same.
The summary (flows read, skipped records by reason, first examples) goes to stderr.

Examples:
  $ bulkhead flows flows/aws/*.log.gz
  $ bulkhead flows eni.log --format aws-vpc --fields '\${version} \${srcaddr} \${dstaddr} \${srcport} \${dstport} \${protocol} \${packets} \${bytes} \${start} \${end} \${action} \${log-status} \${tcp-flags}'
  $ bulkhead flows nsg.json -o table --limit 20
  $ zcat flows.csv.gz | bulkhead flows - --format csv -o csv

Exit codes: 0 success (also when records were skipped); 1 when a file was unusable (the other files
are still read and printed), or with --strict at the first malformed record.`,
    )
    .action(async (named: string[], opts: FlowsOptions) => {
      // an empty folder is an ingest/no-files warning, in the summary as the other warnings
      const noFiles: Diagnostic[] = []
      const files = expandInputs(named, noFiles)
      const limit = opts.limit ?? Infinity
      const into = filesRead()
      const t0 = performance.now()
      // only a table holds its rows (its columns are as wide as the widest cell); -o json and
      // -o yaml are written as they are read, `flows` first, so any number of flows prints
      const held: Flow[] = []
      let printed = 0
      let batch: string[] = []
      const flush = async (): Promise<void> => {
        if (batch.length > 0) await writeStdout(batch.join(''))
        batch = []
      }
      /**
       * Closes the `-o json` or `-o yaml` document: the flows, then `failed` and `summary` (with
       * `extra` diagnostics: why files were unusable, or the error that stopped the run).
       */
      const closeDocument = async (extra: readonly Diagnostic[]): Promise<void> => {
        const s = finish()
        const tail = {
          failed: into.failed,
          summary: { ...s, diagnostics: [...s.diagnostics, ...extra] },
        }
        if (opts.output === 'json') {
          const rest = JSON.stringify(tail, null, 2).slice(1)
          await writeStdout(`${printed > 0 ? '\n  ' : ''}],${rest}\n`)
        } else if (opts.output === 'yaml') {
          await writeStdout(`${printed > 0 ? '' : 'flows: []\n'}${toYaml(tail)}`)
        }
      }
      const finish = (): RunSummary => {
        const s = readSummary(into, (performance.now() - t0) / 1000)
        return { ...s, diagnostics: [...noFiles, ...s.diagnostics] }
      }
      // each file is read on its own: an unusable file is reported and the others are still
      // read (as `ingest` does); with --strict the first malformed record stops the run
      // (readEachFile). The bar would draw over flows printed to the same terminal
      const progress = startFilesProgress(files, process.stderr.isTTY && !process.stdout.isTTY)
      try {
        if (opts.output === 'csv') batch.push(`${FLOW_COLUMNS.join(',')}\n`)
        if (opts.output === 'json') batch.push('{\n  "flows": [')
        const read = {
          format: opts.format as FlowFormat | 'auto',
          strict: opts.strict === true,
          pair: opts.pair,
          ...(opts.fields !== undefined ? { fields: opts.fields } : {}),
          onProgress: progress.onProgress,
        }
        for await (const f of readEachFile(files, read, into)) {
          if (printed >= limit) continue
          printed++
          if (opts.output === 'jsonl') batch.push(`${JSON.stringify(flowToJson(f))}\n`)
          else if (opts.output === 'csv') batch.push(`${cells(f).map(csvField).join(',')}\n`)
          else if (opts.output === 'json') batch.push(`${printed > 1 ? ',' : ''}\n${jsonFlow(f)}`)
          else if (opts.output === 'yaml')
            // one line per flow under `flows:`, in YAML's flow style (JSON is YAML): a
            // block mapping per flow costs the YAML writer 60 µs a flow
            batch.push(`${printed > 1 ? '' : 'flows:\n'}- ${JSON.stringify(flowToJson(f))}\n`)
          else held.push(f)
          if (batch.length >= 512) await flush()
        }
        await flush()
      } catch (err) {
        progress.stop()
        await flush()
        if (err instanceof BulkheadError) {
          // the document stays whole: what was read, and the error among the diagnostics
          await closeDocument(err.diagnostics)
          process.stderr.write(`${formatRunSummary(finish())}\n`)
          throw new AfterOutputError(err.diagnostics, { cause: err })
        }
        throw err
      }
      progress.stop()
      const summary = finish()
      if (opts.output === 'table') {
        for (const line of tableLines(held)) {
          batch.push(`${line}\n`)
          if (batch.length >= 512) await flush()
        }
        await flush()
      }
      await closeDocument(into.unusable)
      printDiagnostics(summary.diagnostics)
      process.stderr.write(`${formatRunSummary(summary)}\n`)
      if (into.failed.length > 0) {
        for (const line of unusableLines(into)) process.stderr.write(`${line}\n`)
        throw new AfterOutputError(into.unusable)
      }
    })
}
