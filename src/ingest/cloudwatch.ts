/**
 * @module AWS flow log records wrapped in CloudWatch Logs JSON, turned back into text lines.
 *
 * Flow logs published to CloudWatch Logs reach files in three JSON shapes, each holding the
 * record text in the `message` of its log events:
 * - `aws logs get-log-events` / `filter-log-events` output: `{"events": [{"timestamp",
 *   "message", "ingestionTime"}, …], "nextForwardToken": …}` (pretty-printed by default), or a
 *   bare array of those events (`--query events`);
 * - a subscription filter's payload, as a Firehose stream writes it to S3 (gunzipped: objects
 *   back to back, no separator) or a Lambda receives it: `{"messageType": "DATA_MESSAGE",
 *   "owner", "logGroup", "logStream", "subscriptionFilters", "logEvents": [{"id", "timestamp",
 *   "message"}]}`; `CONTROL_MESSAGE` objects (the destination's health checks) carry no records.
 *
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html
 * @see https://docs.aws.amazon.com/cli/latest/reference/logs/get-log-events.html
 */

import { BulkheadError } from '../core/index.js'
import { cutJsonRecords } from './json-objects.js'

/** Whether `head` (the first bytes of a file) starts, after blanks and a BOM, with `{` or `[`. */
export function startsJson(head: Uint8Array): boolean {
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0
  while (i < head.byteLength) {
    const c = head[i]
    if (c === 0x7b || c === 0x5b) return true
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return false
    i++
  }
  return false
}

/** A `"message": "…"` member and its JSON string value. */
const MESSAGE = /"message"\s*:\s*("(?:[^"\\]|\\.)*")/g

/**
 * The `message` values of the log events in the start of a CloudWatch Logs JSON document (for
 * detection: the head may end inside an object); empty unless the text names `events` or
 * `logEvents`.
 */
export function cloudWatchMessagesIn(text: string): string[] {
  if (!/"(?:logEvents|events)"\s*:\s*\[/.test(text) && !/^\s*\[\s*\{/.test(text)) return []
  const out: string[] = []
  for (const m of text.matchAll(MESSAGE)) {
    try {
      const v: unknown = JSON.parse(m[1] ?? '""')
      if (typeof v === 'string') out.push(...v.split('\n'))
    } catch {
      // a string cut by the end of the head
    }
  }
  return out
}

/**
 * The record lines of a stream of CloudWatch Logs JSON (the shapes of the module comment; top-level
 * objects back to back, one per line, pretty-printed, or in a top-level array): each log event's
 * `message`, one per line, in order. An object that is not JSON, or text between objects, is
 * reported through `onProblem('bad-json')`; a `CONTROL_MESSAGE` through
 * `onProblem('cloudwatch-control-message')`; an event without a string `message`, or an object
 * that is neither events nor an event (a Lambda's `{"awslogs":{"data":…}}`, `aws logs
 * get-query-results` output), through `onProblem('no-message')` — never dropped silently. An
 * `events`/`logEvents` array that is empty is no problem. `onProblem` gets the 1-based line of
 * the file where the object (or the stray text) starts. Keeps one top-level object in memory.
 */
export async function* cloudWatchLines(
  chunks: AsyncIterable<Uint8Array>,
  onProblem: (
    reason: 'bad-json' | 'cloudwatch-control-message' | 'no-message' | 'truncated',
    text: string,
    line: number,
  ) => void,
): AsyncGenerator<Uint8Array> {
  const decoder = new TextDecoder('utf-8')
  /** The open brackets of the current top-level object, innermost last (`{` 123 or `[` 91). */
  const open: number[] = []
  let inString = false
  let escaped = false
  let parts: string[] = []
  let junk = ''
  /** The line being scanned, the line the current top-level object starts on, and the stray text's. */
  let line = 1
  let objLine = 1
  let junkLine = 1
  const take = (text: string, out: string[], at: number): void => {
    let obj: unknown
    try {
      obj = JSON.parse(text)
    } catch {
      onProblem('bad-json', text.slice(0, 200), at)
      return
    }
    if (typeof obj !== 'object' || obj === null) return
    const o = obj as Record<string, unknown>
    if (o.messageType === 'CONTROL_MESSAGE') {
      onProblem('cloudwatch-control-message', text.slice(0, 200), at)
      return
    }
    const events = Array.isArray(o.logEvents)
      ? o.logEvents
      : Array.isArray(o.events)
        ? o.events
        : [o]
    for (const e of events as unknown[]) {
      const m =
        typeof e === 'object' && e !== null ? (e as Record<string, unknown>).message : undefined
      if (typeof m === 'string') out.push(m)
      else onProblem('no-message', JSON.stringify(e).slice(0, 200), at)
    }
  }
  const scan = (text: string): string[] => {
    const out: string[] = []
    let start = open.length > 0 ? 0 : -1
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (c === 10) line++
      if (inString) {
        if (escaped) escaped = false
        else if (c === 92) escaped = true
        else if (c === 34) inString = false
        continue
      }
      if (open.length === 0) {
        if (c === 123) {
          if (junk.trim() !== '') onProblem('bad-json', junk.trim().slice(0, 200), junkLine)
          junk = ''
          open.push(123)
          start = i
          objLine = line
        } else if (c !== 91 && c !== 93 && c !== 44 && c !== 0xfeff && c > 32) {
          if (junk === '') junkLine = line
          junk += String.fromCharCode(c)
        } else if (c === 10 && junk.trim() !== '') {
          onProblem('bad-json', junk.trim().slice(0, 200), junkLine)
          junk = ''
        }
        continue
      }
      if (c === 34) inString = true
      else if (c === 123 || c === 91) open.push(c)
      else if (c === 125 || c === 93) {
        // a bracket that closes another kind: the object is broken, and ends here
        const matched = open.pop() === (c === 125 ? 123 : 91)
        if (!matched || open.length === 0) {
          parts.push(text.slice(start, i + 1))
          if (matched) take(parts.join(''), out, objLine)
          else onProblem('bad-json', parts.join('').slice(0, 200), objLine)
          parts = []
          open.length = 0
          start = -1
        }
      }
    }
    if (open.length > 0 && start >= 0) parts.push(text.slice(start))
    return out
  }
  const emit = (lines: string[]): Uint8Array | undefined =>
    lines.length === 0 ? undefined : Buffer.from(lines.join('\n') + '\n', 'utf8')
  /**
   * The messages of the events whole in the object the text ended inside (a file cut short, a
   * gzip cut: `cutJsonRecords` over its `events`/`logEvents`), reported `truncated` once; a
   * broken object (text no continuation makes JSON) is one `bad-json`.
   */
  const salvage = (): string[] => {
    const text = parts.join('')
    const cut = cutJsonRecords(text, 0, EVENT_ARRAYS)
    if (cut === undefined) {
      onProblem('bad-json', text.slice(0, 200), objLine)
      return []
    }
    const out: string[] = []
    for (const r of cut.records) take(text.slice(r.start, r.end), out, objLine)
    onProblem(
      'truncated',
      `object cut short: the ${String(cut.records.length)} events whole before the cut are read`,
      objLine,
    )
    return out
  }
  let failure: BulkheadError | undefined
  try {
    for await (const chunk of chunks) {
      const b = emit(scan(decoder.decode(chunk, { stream: true })))
      if (b) yield b
    }
  } catch (err) {
    // a gzip cut: what was decoded is read as text cut short, then the error goes on
    if (!(err instanceof BulkheadError && err.diagnostics[0]?.code === 'ingest/truncated-input'))
      throw err
    failure = err
  }
  const b = emit(scan(decoder.decode()))
  if (b) yield b
  if (open.length > 0) {
    const salvaged = emit(salvage())
    if (salvaged) yield salvaged
  } else if (junk.trim() !== '') onProblem('bad-json', junk.trim().slice(0, 200), junkLine)
  if (failure !== undefined) throw failure
}

/** The arrays of log events in CloudWatch Logs JSON (`get-log-events`, subscription payloads). */
const EVENT_ARRAYS: ReadonlySet<string> = new Set(['events', 'logEvents'])
