/**
 * @module CLI helpers to load a workspace (printing diagnostics) and read times.
 */
import { stat } from 'node:fs/promises'
import path from 'node:path'
import type { Command } from 'commander'
import type { LoadResult } from '../policy/load.js'
import { loadWorkspace } from '../policy/files.js'
import { WORKSPACE_FILE } from '../policy/workspace.js'
import { printDiagnostics, UsageError } from './output.js'
import { readPolicySource } from './policy-source.js'
import { BulkheadError, canonicalTimeZone, formatDiagnostic, hasErrors } from '../core/index.js'

/**
 * Loads the workspace, with the policy set named by `policy` (a folder or `REV:path`, see
 * {@link readPolicySource}) in place of the workspace's policy folder when given; prints
 * warnings to stderr; throws BulkheadError (exit 1) when any diagnostic is an error, so that
 * nothing runs on a half-loaded workspace.
 *
 * @param printed - an earlier load of the same workspace (commands that compare two policy
 *   sets load twice): its warnings were printed then, so the inventory's are not printed again.
 */
export async function loadOrThrow(
  root: string,
  now: Date,
  policy?: string,
  printed?: LoadResult,
): Promise<LoadResult> {
  const result = await loadWorkspace(
    root,
    now,
    policy === undefined ? {} : { policyFiles: await readPolicySource(policy, path.resolve(root)) },
  )
  if (hasErrors(result.diagnostics)) throw new BulkheadError(result.diagnostics)
  const seen = new Set(printed?.diagnostics.map(formatDiagnostic))
  printDiagnostics(result.diagnostics.filter((d) => !seen.has(formatDiagnostic(d))))
  return result
}

/**
 * What makes a folder a workspace: its `bulkhead.yaml`, or, for a workspace laid out without one
 * (bulkhead.yaml is optional: its defaults name these), an `inventory/` or `policy/` folder or the
 * default flow store's `.bulkhead/` folder.
 */
export const WORKSPACE_MARKS: readonly string[] = [
  WORKSPACE_FILE,
  'inventory',
  'policy',
  '.bulkhead',
]

/**
 * The verbs with `-w, --workspace` that may run where there is no workspace yet, by command path
 * (`inventory suggest-labels`), each with when: `init` writes one; `ingest FILE...` stores into
 * DIR/.bulkhead/ (so the folder becomes one), while a bare `ingest` reads the workspace's sources.
 */
const RUNS_WITHOUT_WORKSPACE: Readonly<Record<string, (cmd: Command) => boolean>> = {
  init: () => true,
  ingest: (cmd) => cmd.args.length > 0,
}

/** `inventory suggest-labels` for that sub-verb: the names from below the program down to `cmd`. */
function commandPath(cmd: Command): string {
  const names: string[] = []
  for (let c = cmd; c.parent !== null; c = c.parent) names.unshift(c.name())
  return names.join(' ')
}

/**
 * The one check that a verb which needs a workspace runs in one (`run()` calls it before every
 * action, after the command line's own checks, `./usage.ts`): a verb with a `-w, --workspace`
 * option, save those {@link RUNS_WITHOUT_WORKSPACE}, needs the folder to hold one of
 * {@link WORKSPACE_MARKS}. Without it the verb would run on nothing (`validate` said
 * `ok: 0 workloads`, `compile` wrote 0 files, exit 0), and a user in the wrong folder got no hint.
 * @throws BulkheadError `io/not-found` when the folder does not exist, `workspace/not-found`
 *   when it holds none of the marks; both exit 1, with a hint naming `bulkhead init` and `-w DIR`.
 */
export async function requireWorkspace(cmd: Command): Promise<void> {
  if (!cmd.options.some((o) => o.long === '--workspace')) return
  if (RUNS_WITHOUT_WORKSPACE[commandPath(cmd)]?.(cmd) === true) return
  const root = String(cmd.opts()['workspace'] ?? '.')
  const where = { file: root, line: 0, column: 0 }
  const hint = `run the command in a workspace folder or pass -w DIR; \`bulkhead init -w ${root}\` writes one`
  const st = await stat(root).catch(() => undefined)
  if (!st?.isDirectory())
    throw new BulkheadError([
      {
        code: 'io/not-found',
        severity: 'error',
        message: `workspace folder "${root}" does not exist or is not a folder`,
        location: where,
        // a file: init cannot write a workspace there; `-w ws/bulkhead.yaml` meant its folder
        hint: st
          ? path.basename(root) === WORKSPACE_FILE
            ? `it is a file: -w takes the workspace folder, e.g. -w ${JSON.stringify(path.dirname(root))}`
            : 'it is a file: -w takes a workspace folder (files to read are named without -w)'
          : hint,
      },
    ])
  const marks = await Promise.all(
    WORKSPACE_MARKS.map((m) =>
      stat(path.join(root, m)).then(
        () => true,
        () => false,
      ),
    ),
  )
  if (!marks.includes(true))
    throw new BulkheadError([
      {
        code: 'workspace/not-found',
        severity: 'error',
        message: `"${root}" is not a workspace: it holds no ${WORKSPACE_FILE} (nor inventory/, policy/ or .bulkhead/)`,
        location: where,
        hint,
      },
    ])
}

/**
 * Parses `now`, an ISO-8601 time (`T` or a space between date and time; without a zone, UTC), a
 * date (midnight UTC) or epoch seconds into ms since the epoch. Every four-digit year is the
 * year it says in the proleptic Gregorian calendar, as ISO 8601 and `Date.parse` read it: years
 * 0000–1969 give negative times (a store may hold flows of devices whose clock was never set).
 * @throws UsageError (`cli/usage`) for anything else, and for a day the calendar does not have.
 */
export function parseTime(text: string): number {
  if (text === 'now') return Date.now()
  if (/^\d{9,10}(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000)
  // Only ISO 8601's grammar: Date.parse falls back to a lenient parser of its own for other text
  // ("2026-10-21, 10:00", "2026-10-21 (x) 10:00"), which reads the time in the machine's zone
  if (!ISO_TIME.test(text)) throw notATime(text)
  // ISO 8601 and RFC 3339 allow a space for the `T` (DuckDB, `date` and many exports write it)
  const iso = text.replace(/^(\d{4}-\d{2}-\d{2})[Tt ]/, '$1T')
  // A time without a zone is UTC, as everywhere in Bulkhead (JavaScript would take it as local).
  const zoned = /T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(iso) ? `${iso}Z` : iso
  const ms = Date.parse(zoned)
  // Date.parse rolls an impossible day over (2026-02-30 → 2026-03-02): check the calendar
  const ymd = /^(\d{4})-(\d{2})-(\d{2})/.exec(text)
  // not Date.UTC, which takes years 0–99 as 1900–1999 (so 0050-01-01 was "not a time")
  const day = ymd ? new Date(0) : undefined
  if (ymd && day) day.setUTCFullYear(Number(ymd[1]), Number(ymd[2]) - 1, Number(ymd[3]))
  const real =
    ymd !== null &&
    day !== undefined &&
    day.getUTCFullYear() === Number(ymd[1]) &&
    day.getUTCMonth() === Number(ymd[2]) - 1 &&
    day.getUTCDate() === Number(ymd[3])
  if (Number.isNaN(ms) || !real) throw notATime(text)
  return ms
}

/**
 * The ISO-8601 times {@link parseTime} reads: a date, optionally a time (`T` or a space; minutes,
 * seconds and a fraction) and a zone (`Z` or an offset `±hh:mm` / `±hhmm`).
 */
const ISO_TIME =
  /^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:?\d{2})?)?$/

function notATime(text: string): UsageError {
  return new UsageError(
    `"${text}" is not a time`,
    'use ISO-8601, e.g. 2026-11-01T12:00:00Z, a date 2026-11-01, or epoch seconds of 9 or 10 digits (1973 to 2286; an earlier time as a date)',
  )
}

/** The window of `--since` and `--until` (ms) as a store query takes it: only the keys given. */
export function windowOf(opts: { since?: number; until?: number }): {
  since?: number
  until?: number
} {
  return {
    ...(opts.since !== undefined ? { since: opts.since } : {}),
    ...(opts.until !== undefined ? { until: opts.until } : {}),
  }
}

/**
 * `--time-zone`: the canonical IANA name of the zone given (without it, the workspace's
 * `timeZone`, else UTC, applies).
 * @throws UsageError when `zone` is not an IANA zone name.
 */
export function parseTimeZone(zone: string): string {
  const name = canonicalTimeZone(zone)
  if (name === undefined)
    throw new UsageError(
      `--time-zone: "${zone}" is not an IANA time zone name`,
      'name a zone of the tz database, such as Europe/Berlin, America/New_York or UTC',
    )
  return name
}
