/**
 * @module The flow files a command names: a folder stands for every file beneath it.
 */
import { readdirSync, realpathSync, statSync, type Dirent } from 'node:fs'
import path from 'node:path'
import {
  isRegularFile,
  parseAwsFieldList,
  readFlows,
  readRunOf,
  summarize,
  type FileSummary,
  type ReadOptions,
  type RunSummary,
} from '../ingest/index.js'
import { BulkheadError, type Diagnostic, type Flow } from '../core/index.js'
import { UsageError } from './output.js'

/**
 * `files` with each folder replaced by the regular files beneath it, at any depth (as
 * `aws s3 sync s3://bucket/AWSLogs/ flows/` lays them out by account, region and date), sorted
 * by path, hidden names (starting with `.`) left out; anything else (a file, `-`, a path that
 * does not exist, which reading then reports) as given, in the order given. Each file once: one
 * named again (`a.log a.log`, a file and the folder holding it, `a.log ./x/../a.log`, a symbolic
 * or hard link to it; by device and inode) is left out where it comes again, with an `ingest/file-named-twice`
 * warning, so that no flow is counted twice. A folder holding no such file adds an
 * `ingest/no-files` warning. Warnings go to `sink`, when one is given.
 */
export function expandInputs(files: readonly string[], sink?: Diagnostic[]): string[] {
  const out: string[] = []
  const first = new Map<string, string>()
  /** Takes `file` unless it was taken already; returns the earlier name of it, if any. */
  const take = (file: string): string | undefined => {
    // the file itself (device and inode, links followed): a symbolic or hard link, `..`, or a
    // file of a folder named too, is the same file; standard input can be read once
    let key = '-'
    if (file !== '-') {
      try {
        const st = statSync(file)
        key = `${String(st.dev)}:${String(st.ino)}`
      } catch {
        key = path.resolve(file) // missing or unreadable: reading reports it, once
      }
    }
    const was = first.get(key)
    if (was !== undefined) return was
    first.set(key, file)
    out.push(file)
    return undefined
  }
  for (const f of files) {
    let dir = false
    try {
      dir = f !== '-' && statSync(f).isDirectory()
    } catch {
      dir = false
    }
    if (!dir) {
      const was = take(f)
      if (was !== undefined)
        sink?.push(
          namedTwice(
            was === f
              ? `${f} is named more than once: read once`
              : `${f} is the same file as ${was}: read once`,
          ),
        )
      continue
    }
    const inside = filesBeneath(f).sort()
    if (inside.length === 0) sink?.push(noFiles(`folder ${f}`))
    // one by one: a spread of more than about 125 000 names overflows the call stack; one
    // warning for the folder, not one per file (`logs/*.log logs/` names every file twice)
    const again: string[] = []
    for (const file of inside) if (take(file) !== undefined) again.push(file)
    if (again.length > 0)
      sink?.push(
        namedTwice(
          again.length === 1
            ? `${again[0] ?? ''} (in folder ${f}) is named before: read once`
            : `folder ${f}: ${String(again.length)} of its files are named before (${again.slice(0, 3).join(', ')}${again.length > 3 ? ', ...' : ''}): read once`,
        ),
      )
  }
  return out
}

/**
 * The names of `given` that say what was read, each once: a file name {@link expandInputs} left
 * out as named before (`a.log ./a.log`) is dropped, a folder's name kept once. `expanded` is what
 * {@link expandInputs} returned for `given`.
 */
export function namesRead(given: readonly string[], expanded: readonly string[]): string[] {
  const taken = new Set(expanded)
  const folder = (f: string): boolean => {
    try {
      return f !== '-' && statSync(f).isDirectory()
    } catch {
      return false
    }
  }
  return [...new Set(given.filter((f) => taken.has(f) || folder(f)))]
}

/** The `ingest/file-named-twice` warning with `message`. */
function namedTwice(message: string): Diagnostic {
  return {
    code: 'ingest/file-named-twice',
    severity: 'warning',
    message,
    hint: 'name each file once (a folder stands for every file beneath it)',
  }
}

/**
 * The regular files beneath folder `root`, at any depth, hidden names left out, each once: a
 * folder or file reached again through a symbolic link (a link to a folder it is inside, two
 * links to one file) is taken at its first path in a breadth-first walk, so a link cycle is no
 * endless tree (Node's recursive `readdir` followed one 40 levels deep, a file read 41 times).
 */
function filesBeneath(root: string): string[] {
  const out: string[] = []
  const seen = new Set<string>()
  const real = (p: string): string | undefined => {
    try {
      return realpathSync(p)
    } catch {
      return undefined // a dangling link, or gone: no file
    }
  }
  const top = real(root)
  if (top === undefined) return out
  seen.add(top)
  // breadth-first, so that the shortest path to a folder or file is the one kept; each folder
  // with its real path, so that a plain entry's real path needs no call (only links do)
  const queue: { dir: string; realDir: string }[] = [{ dir: root, realDir: top }]
  for (let i = 0; i < queue.length; i++) {
    const { dir, realDir } = queue[i] as { dir: string; realDir: string }
    let entries: Dirent[]
    try {
      entries = readdirSync(dir, { withFileTypes: true })
    } catch {
      continue // unreadable: its files are not listed, as before
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const e of entries) {
      if (e.name.startsWith('.')) continue
      const p = path.join(dir, e.name)
      const link = e.isSymbolicLink()
      const r = link ? real(p) : path.join(realDir, e.name)
      if (r === undefined || seen.has(r)) continue
      let isDir = e.isDirectory()
      if (link) {
        try {
          isDir = statSync(p).isDirectory()
        } catch {
          continue
        }
      }
      if (isDir) {
        seen.add(r)
        queue.push({ dir: p, realDir: r })
      } else if (link ? isRegularFile(p) : e.isFile()) {
        seen.add(r)
        out.push(p)
      }
    }
  }
  return out
}

/**
 * `--fields` (the field order of an AWS custom format without its header line), checked before
 * anything is read: a list without `srcaddr` and `dstaddr`, or with a name that is not a field
 * name, would otherwise be one skipped record and the file read in the default order; a list
 * that names a field twice would read one of its columns and drop the other.
 * @param where - where the list was given, for the message (`--fields`, or a source of bulkhead.yaml).
 * @returns `text`.
 * @throws UsageError when the list is unusable.
 */
export function checkFieldList<T extends string | undefined>(text: T, where = '--fields'): T {
  if (text === undefined) return text
  const names = parseAwsFieldList(text)
  // a field named twice: which column holds it? (the later one was read, the other dropped)
  const twice = names?.find((n, i) => names.indexOf(n) !== i)
  if (twice !== undefined)
    throw new UsageError(
      `${where} "${text}" names the field ${twice} twice`,
      'name each field once, in the order of the columns',
    )
  if (names !== undefined) return text
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

/** What {@link readEachFile} read, filled in as it reads. */
export interface FilesRead {
  /** One summary per file, in order, as each ends (an unusable file's too). */
  readonly summaries: FileSummary[]
  /**
   * The files that could not be used (missing, unreadable, unknown format, truncated), in order;
   * not a file that `--strict` stopped at a malformed record.
   */
  readonly failed: string[]
  /** Why, for the files in `failed`: their fatal diagnostics. */
  readonly unusable: Diagnostic[]
}

/** An empty {@link FilesRead}. */
export function filesRead(): FilesRead {
  return { summaries: [], failed: [], unusable: [] }
}

/**
 * The flows of `files`, read one file at a time in one read run (NetFlow templates and GCP
 * reports may be in another file): a file that cannot be used is added to `into.failed` and the
 * next one is read, as `ingest` goes on past it; what was read of it before the error is yielded.
 * Shared by `flows`, `simulate --flows`, `lint --flows` and `diff --flows`, so that all of them
 * go on past an unusable file and count it alike ({@link readSummary}, {@link unusableLines}).
 * @throws BulkheadError with `opts.strict`: the first malformed record, or an unusable file,
 *   stops the run (the file is in `into.failed` when it was unusable).
 */
export async function* readEachFile(
  files: readonly string[],
  opts: ReadOptions,
  into: FilesRead,
): AsyncGenerator<Flow> {
  const read: ReadOptions = {
    ...opts,
    run: opts.run ?? readRunOf(files.map((file) => ({ file, format: opts.format }))),
  }
  for (const file of files) {
    try {
      yield* readFlows([file], read, into.summaries)
    } catch (err) {
      if (!(err instanceof BulkheadError)) throw err
      if (!err.diagnostics.some((d) => d.code === 'ingest/malformed-record')) into.failed.push(file)
      if (opts.strict) throw err
      into.unusable.push(...err.diagnostics)
    }
  }
}

/** True when something was read of `file` before it failed (a truncated gzip, say). */
function partlyRead(into: FilesRead, file: string): boolean {
  return into.summaries.some((s) => s.file === file && s.stats.records > 0)
}

/**
 * The run summary of {@link readEachFile}'s files, counting (`files`, `bytes`, flows) only the
 * files something was read from: an unusable file that gave no flow is not "read", as `ingest`
 * counts only what it stored, so `read 0 files` and `not read (unusable): F` agree.
 */
export function readSummary(into: FilesRead, seconds: number): RunSummary {
  return summarize(
    into.summaries.filter((s) => !into.failed.includes(s.file) || partlyRead(into, s.file)),
    seconds,
  )
}

/**
 * The lines naming {@link readEachFile}'s unusable files: `not read (unusable): F, ...` for
 * those that gave nothing, `stopped at an error (the flows before it were read): F, ...` for
 * those read in part (counted in {@link readSummary}). None when every file was usable.
 */
export function unusableLines(into: FilesRead): string[] {
  const partly = into.failed.filter((f) => partlyRead(into, f))
  const not = into.failed.filter((f) => !partly.includes(f))
  return [
    ...(not.length > 0 ? [`not read (unusable): ${not.join(', ')}`] : []),
    ...(partly.length > 0
      ? [`stopped at an error (the flows before it were read): ${partly.join(', ')}`]
      : []),
  ]
}
