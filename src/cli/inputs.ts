/**
 * @module The flow files a command names: a folder stands for every file beneath it.
 */
import { readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { isRegularFile, parseAwsFieldList } from '../ingest/index.js'
import type { Diagnostic } from '../core/index.js'
import { UsageError } from './output.js'

/**
 * `files` with each folder replaced by the regular files beneath it, at any depth (as
 * `aws s3 sync s3://bucket/AWSLogs/ flows/` lays them out by account, region and date), sorted
 * by path, hidden names (starting with `.`) left out; anything else (a file, `-`, a path that
 * does not exist, which reading then reports) as given, in the order given. A folder holding no
 * such file adds an `ingest/no-files` warning to `sink`, when one is given.
 */
export function expandInputs(files: readonly string[], sink?: Diagnostic[]): string[] {
  const out: string[] = []
  for (const f of files) {
    let dir = false
    try {
      dir = f !== '-' && statSync(f).isDirectory()
    } catch {
      dir = false
    }
    if (!dir) {
      out.push(f)
      continue
    }
    const inside = (readdirSync(f, { recursive: true }) as string[])
      .filter((rel) => !rel.split(path.sep).some((part) => part.startsWith('.')))
      .map((rel) => path.join(f, rel))
      .filter(isRegularFile)
      .sort()
    if (inside.length === 0) sink?.push(noFiles(`folder ${f}`))
    out.push(...inside)
  }
  return out
}

/**
 * `--fields` (the field order of an AWS custom format without its header line), checked before
 * anything is read: a list without `srcaddr` and `dstaddr`, or with a name that is not a field
 * name, would otherwise be one skipped record and the file read in the default order.
 * @param where - where the list was given, for the message (`--fields`, or a source of bulkhead.yaml).
 * @throws UsageError when the list is unusable.
 */
export function checkFieldList(text: string | undefined, where = '--fields'): void {
  if (text === undefined || parseAwsFieldList(text) !== undefined) return
  throw new UsageError(
    `${where} "${text}" is not an AWS flow log field list`,
    'name the fields in their order, with srcaddr and dstaddr, e.g. "version srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"',
  )
}

/**
 * The `ingest/no-files` warning for an input that stands for no file: an empty folder, or a glob
 * of bulkhead.yaml's `sources` that matches nothing (a typo, or logs not delivered yet), so that a
 * scheduled ingest that reads nothing says so rather than storing 0 flows in silence.
 * @param what - the input, as the message names it (`folder flows/`, `source "flows/*.gz"`).
 */
export function noFiles(what: string): Diagnostic {
  return {
    code: 'ingest/no-files',
    severity: 'warning',
    message: `${what}: no file to read`,
    hint: "check the path; a source's glob is relative to the workspace folder",
  }
}
