/**
 * @module Shared CLI plumbing: output formats, exit codes, printing diagnostics.
 */
import { closeSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs'
import { rename, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { Scalar, stringify, YAMLSeq } from 'yaml'
import {
  BulkheadError,
  formatDiagnostic,
  formatLocation,
  ioDiagnostic,
  sortDiagnostics,
  type Diagnostic,
  type SourceLocation,
  counted,
  mdCode,
  mdText,
} from '../core/index.js'
import { toSarif } from './render/sarif.js'
import { gitRevision, repositoryRoot, revisionFile } from './policy-source.js'
import { VERSION } from './version.js'

/** Exit codes (DESIGN.md "The command line"). Stable: CI pipelines depend on them. */
export const EXIT = {
  ok: 0,
  /** Usage or input error. */
  input: 1,
  /** A check the user asked for failed (`--fail-on-block`, `lint`, `diff --fail-on-impact`). */
  checkFailed: 2,
} as const

/** A usage error: printed as `error cli/usage: ...`, exit 1. */
export class UsageError extends BulkheadError {
  constructor(message: string, hint?: string) {
    super([{ code: 'cli/usage', severity: 'error', message, ...(hint ? { hint } : {}) }])
  }
}

/**
 * An input error raised after the command wrote its whole output document, which already names
 * the error (`flows -o json`: `failed` and `summary.diagnostics`): `run()` prints it on stderr and
 * exits 1, but writes no failure document after the first.
 */
export class AfterOutputError extends BulkheadError {}

/**
 * YAML of command output, holding what `JSON.stringify(data)` holds (undefined fields dropped,
 * `toJSON` applied): an object met twice is written twice, not as an anchor and an alias
 * (`&a1` … `*a1`), so the text reads and greps like the JSON it mirrors. Block style, two spaces a
 * level, strings folded at 80 characters by the `yaml` package; a non-empty array of finite
 * numbers is in flow style on one line however long, `[0, 3, 1]`, as {@link toJson} writes it.
 */
export function toYaml(data: unknown): string {
  return yamlText(asJson(data))
}

/**
 * The YAML of a JSON value: block style, but a non-empty array of finite numbers in flow style on
 * one line, `[0, 3, 1]`, however long (an edge's time profile, 168 hours of the week and 31 days
 * of the month, was 199 lines of `- 0`). Strings fold at 80 characters as the package folds them.
 * `wrapper`, an array of `json` holding one element of a larger array (a piece of
 * {@link yamlChunks}), is written as that array is written, in block style.
 */
function yamlText(json: unknown, wrapper?: readonly unknown[]): string {
  const replacer = (key: unknown, value: unknown): unknown =>
    value === wrapper ? value : numbersInFlow(key, value)
  return stringify(json, replacer, YAML_OPTIONS)
}

/**
 * `aliasDuplicateObjects`: see {@link toYaml}; `flowCollectionPadding`: `[0, 3, 1]`, not
 * `[ 0, 3, 1 ]` (the only non-empty flow collections written are {@link NumberRow}s).
 */
const YAML_OPTIONS = { aliasDuplicateObjects: false, flowCollectionPadding: false } as const

/**
 * A sequence of numbers written in flow style on one line whatever its length: the package breaks
 * a flow collection longer than `lineWidth` into one item a line, so the row is written with
 * `lineWidth` 0 (its items are numbers, which never fold; the rest of the document keeps 80).
 */
class NumberRow extends YAMLSeq<Scalar<number>> {
  override toString(...[ctx, onComment, onChompKeep]: Parameters<YAMLSeq['toString']>): string {
    const rowCtx = ctx && { ...ctx, options: { ...ctx.options, lineWidth: 0 } }
    return super.toString(rowCtx, onComment, onChompKeep)
  }
}

/** The `yaml` package's replacer: a non-empty array of finite numbers becomes a {@link NumberRow}. */
function numbersInFlow(_key: unknown, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || !isNumberArray(value)) return value
  const row = new NumberRow()
  row.flow = true
  for (const n of value as readonly number[]) row.items.push(new Scalar(n))
  return row
}

/** `data` as `JSON.parse(JSON.stringify(data))` gives it back (what JSON leaves out: `null`). */
function asJson(data: unknown): unknown {
  return omitted(data) ? null : (JSON.parse(JSON.stringify(data)) as unknown)
}

/**
 * An array or an object without `toJSON`, not a boxed primitive (which JSON writes as the
 * primitive): what {@link jsonChunks} and {@link yamlChunks} take apart.
 */
function isContainer(v: unknown): v is object {
  return (
    v !== null &&
    typeof v === 'object' &&
    typeof (v as { toJSON?: unknown }).toJSON !== 'function' &&
    !isBoxed(v)
  )
}

/**
 * {@link toYaml} in pieces, the same text when joined: a top-level array is one piece per
 * element, a top-level object one piece per key, and a key holding a non-empty array or object
 * one piece per element or entry below it, each rendered by the `yaml` package inside a
 * one-element copy of its parents, so that its indentation, and where the package folds long
 * lines, are what they are in the whole document. A dependency map of 400 000 edges is so never
 * one string (V8 caps a string at about 512 MiB), nor one YAML document tree in memory.
 */
export function* yamlChunks(data: unknown): Generator<string> {
  if (!isContainer(data)) return void (yield toYaml(data))
  if (Array.isArray(data)) {
    // an array of numbers is one line, `[0, 3, 1]`
    if (data.length === 0 || isNumberArray(data)) return void (yield toYaml(data))
    for (const v of data as unknown[]) {
      const one = [asJson(v)]
      yield yamlText(one, one)
    }
    return
  }
  const entries = Object.entries(data).filter(([, v]) => !omitted(v))
  if (entries.length === 0) return void (yield toYaml(data))
  for (const [k, v] of entries) {
    // the entries below `k`, one at a time: a lazyArray's elements are made as they are written
    const below = isContainer(v) && !isNumberArray(v) ? entriesBelow(v) : undefined
    const head0 = below?.next()
    if (below === undefined || head0 === undefined || head0.done === true) {
      yield yamlText({ [k]: asJson(v) })
      continue
    }
    const piece = ([i, x]: [string | number, unknown]): string => {
      if (typeof i !== 'number') return yamlText({ [k]: { [i]: asJson(x) } })
      const one = [asJson(x)]
      return yamlText({ [k]: one }, one)
    }
    const first = piece(head0.value)
    const head = first.slice(0, first.indexOf('\n') + 1)
    // `key:` on a line of its own, the value indented below it; a key the package writes
    // otherwise (`? key` for one over 1024 characters) is written whole, in one piece.
    if (!head.endsWith(':\n') || !first.startsWith('  ', head.length)) {
      yield yamlText({ [k]: asJson(v) })
      continue
    }
    yield first
    for (const e of below) yield piece(e).slice(head.length)
  }
}

/** The elements of an array as `[index, element]`, or an object's entries JSON writes, in order. */
function* entriesBelow(v: object): Generator<[string | number, unknown]> {
  if (Array.isArray(v)) {
    const a = v as readonly unknown[]
    for (let i = 0; i < a.length; i++) yield [i, a[i]]
  } else for (const [x, y] of Object.entries(v)) if (!omitted(y)) yield [x, y]
}

/**
 * A read-only array of `length` elements whose element `i` is `at(i)`, made anew on each read
 * (a `Proxy` over an empty array): `Array.isArray` is true, and `JSON.stringify`,
 * {@link jsonChunks}, {@link yamlChunks}, `for … of` and the array methods read it as the array of
 * those elements, so that a document with a list of millions of entries is written without
 * holding an object per entry. Writing it must not change what `at` gives.
 */
export function lazyArray<T>(length: number, at: (i: number) => T): readonly T[] {
  const index = (key: string | symbol): number | undefined => {
    if (typeof key !== 'string' || !/^(?:0|[1-9]\d*)$/.test(key)) return undefined
    const i = Number(key)
    return i < length ? i : undefined
  }
  return new Proxy<T[]>([], {
    get(target, key, receiver) {
      if (key === 'length') return length
      const i = index(key)
      return i !== undefined ? at(i) : (Reflect.get(target, key, receiver) as unknown)
    },
    has(target, key) {
      return index(key) !== undefined || Reflect.has(target, key)
    },
    ownKeys(target) {
      return [...Array.from({ length }, (_, i) => String(i)), ...Reflect.ownKeys(target)]
    },
    getOwnPropertyDescriptor(target, key) {
      const i = index(key)
      return i !== undefined
        ? { value: at(i), writable: false, enumerable: true, configurable: true }
        : Reflect.getOwnPropertyDescriptor(target, key)
    },
  })
}

/** Values `JSON.stringify` leaves out of an object (and writes as `null` in an array). */
function omitted(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol'
}

/** A JSON number as `JSON.stringify` writes it (`-12`, `0.5`, `1e+21`, `5e-7`), alone. */
const JSON_NUMBER = /^-?\d+(?:\.\d+)?(?:e[+-]\d+)?$/

/**
 * `JSON.stringify(value, null, 2)`, but an array whose elements are all numbers on one line,
 * `[0, 3, 1]`: an edge's time profile (168 hours of the week and 31 days of the month) is 199
 * lines otherwise, most of a dependency map's bytes. `JSON.parse` of it is `JSON.parse` of
 * `JSON.stringify(value)`; an array holding anything else (also `null`, as `NaN` is written) keeps
 * one element a line. `undefined` for what `JSON.stringify` gives `undefined` (a function, a
 * symbol, `undefined`).
 * @remarks Written in one walk, as `JSON.stringify` walks (ECMA-262 SerializeJSONProperty:
 * `toJSON(key)`, boxed primitives, left-out values, own enumerable keys in order, a cycle is a
 * `TypeError`); each scalar is `JSON.stringify`'s own text. Before 2026-11-25 it was
 * `JSON.stringify(value, null, 2)` with the number arrays joined back onto one line by a regular
 * expression, and the text of `discover -o json` of 82 570 edges took 2.6 s of CPU (1.0 s now).
 */
export function toJson(value: unknown): string | undefined {
  return jsonText('', value, '', [])
}

/** Boxed primitives, which `JSON.stringify` writes as the primitive. */
function isBoxed(v: object): boolean {
  return v instanceof Number || v instanceof String || v instanceof Boolean || v instanceof BigInt
}

/**
 * The text of `value`, read under `key` (what its `toJSON` is given), as {@link toJson} writes
 * it at indentation `indent` (the spaces before its line); `stack` holds the containers being
 * written, to find a cycle.
 */
function jsonText(
  key: string,
  value: unknown,
  indent: string,
  stack: object[],
): string | undefined {
  let v = value
  if ((typeof v === 'object' && v !== null) || typeof v === 'function' || typeof v === 'bigint') {
    const toJSON = (v as { toJSON?: unknown }).toJSON
    if (typeof toJSON === 'function') v = (toJSON as (k: string) => unknown).call(v, key)
  }
  // a scalar: undefined for undefined, a function, a symbol
  if (typeof v !== 'object' || v === null || isBoxed(v)) return JSON.stringify(v)
  if (stack.includes(v)) throw new TypeError('Converting circular structure to JSON')
  stack.push(v)
  const inner = `${indent}  `
  const parts: string[] = []
  let text: string
  if (Array.isArray(v)) {
    const a = v as readonly unknown[]
    const length = a.length
    let numbers = true
    for (let i = 0; i < length; i++) {
      const x = a[i]
      // a number is its own text (String(-0) is '0' as in JSON), NaN and ±Infinity are null
      if (typeof x === 'number' && Number.isFinite(x)) parts.push(String(x))
      else {
        const t = jsonText(String(i), x, inner, stack) ?? 'null'
        if (numbers && !JSON_NUMBER.test(t)) numbers = false
        parts.push(t)
      }
    }
    text =
      length === 0
        ? '[]'
        : numbers
          ? `[${parts.join(', ')}]`
          : `[\n${inner}${parts.join(`,\n${inner}`)}\n${indent}]`
  } else {
    const o = v as Record<string, unknown>
    for (const k of Object.keys(o)) {
      const t = jsonText(k, o[k], inner, stack)
      if (t !== undefined) parts.push(`${JSON.stringify(k)}: ${t}`)
    }
    text = parts.length === 0 ? '{}' : `{\n${inner}${parts.join(`,\n${inner}`)}\n${indent}}`
  }
  stack.pop()
  return text
}

/**
 * True for a non-empty array that {@link toJson} writes on one line: each element written as a
 * number (a finite number, a boxed one, a value whose `toJSON` gives one).
 */
function isNumberArray(v: object): boolean {
  if (!Array.isArray(v) || v.length === 0) return false
  const a = v as readonly unknown[]
  for (let i = 0; i < a.length; i++) {
    const x = a[i]
    if (typeof x === 'number') {
      if (!Number.isFinite(x)) return false
    } else if (isContainer(x) || !JSON_NUMBER.test(jsonText(String(i), x, '', []) ?? ''))
      return false
  }
  return true
}

/**
 * {@link toJson} in pieces, the same text when joined: the top `levels` levels of arrays and
 * plain objects are taken apart (an array of numbers is not: it is one line), and each value
 * below them is one piece. A large document (a dependency map of 400 000 edges is over a gigabyte
 * of text) is so never one string, which V8 caps at about 512 MiB (`RangeError: Invalid string
 * length`).
 */
export function* jsonChunks(value: unknown, levels = 2, indent = ''): Generator<string> {
  if (levels <= 0 || !isContainer(value) || isNumberArray(value)) {
    yield jsonText('', value, indent, []) ?? 'null'
    return
  }
  const inner = `${indent}  `
  if (Array.isArray(value)) {
    if (value.length === 0) return void (yield '[]')
    yield '['
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i]
      yield `${i === 0 ? '' : ','}\n${inner}`
      yield* jsonChunks(omitted(v) ? null : v, levels - 1, inner)
    }
    yield `\n${indent}]`
    return
  }
  const entries = Object.entries(value).filter(([, v]) => !omitted(v))
  if (entries.length === 0) return void (yield '{}')
  yield '{'
  for (const [i, [k, v]] of entries.entries()) {
    yield `${i === 0 ? '' : ','}\n${inner}${JSON.stringify(k)}: `
    yield* jsonChunks(v, levels - 1, inner)
  }
  yield `\n${indent}}`
}

/** {@link jsonChunks} of `value`, then a newline: the text of a JSON output document. */
export function* jsonLines(value: unknown): Generator<string> {
  yield* jsonChunks(value)
  yield '\n'
}

/**
 * Writes `text` to stdout, waiting for the stream to drain when its buffer is full: for output
 * written while input is still read (`flows`, `simulate -o jsonl`), so that memory stays bounded
 * whatever reads stdout, however slowly.
 */
export async function writeStdout(text: string): Promise<void> {
  if (!process.stdout.write(text))
    await new Promise<void>((resolve) => process.stdout.once('drain', resolve))
}

/** Gathers pieces of text into writes of about this many UTF-16 units. */
const WRITE_UNITS = 1 << 20

/**
 * Writes pieces of text to `file` (created or truncated), or to stdout when `file` is undefined,
 * about 1 MiB at a time.
 * @throws the Node system error of the open or a write (ENOENT, EACCES, ENOSPC, ...), which
 * {@link systemErrorDiagnostic} reports.
 */
export function writePieces(pieces: Iterable<string>, file?: string): void {
  const fd = file === undefined ? undefined : openSync(file, 'w')
  try {
    let buf = ''
    const flush = (): void => {
      if (buf === '') return
      if (fd === undefined) process.stdout.write(buf)
      else writeSync(fd, buf)
      buf = ''
    }
    for (const p of pieces) {
      buf += p
      if (buf.length >= WRITE_UNITS) flush()
    }
    flush()
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/**
 * Prints `data` in the chosen format: `json` and `yaml` print the data itself, in pieces
 * ({@link jsonChunks}, {@link yamlChunks}), so a large document is never one string; every other format calls
 * `render` with the format name and prints what it returns: a string, or pieces of text (for
 * outputs that grow with the data), ended by a line end when they do not end with one.
 */
export function emit<T>(
  data: T,
  format: string,
  render: (data: T, format: string) => string | Iterable<string>,
): void {
  if (format === 'json') writePieces(jsonLines(data))
  else if (format === 'yaml') writePieces(yamlChunks(data))
  else {
    const text = render(data, format)
    if (typeof text === 'string')
      writePieces([text.endsWith('\n') || text === '' ? text : `${text}\n`])
    else writePieces(endedByNewline(text))
  }
}

/** `pieces`, then a line end when they are not empty and do not end with one. */
function* endedByNewline(pieces: Iterable<string>): Generator<string> {
  let last = ''
  for (const p of pieces) {
    if (p !== '') last = p
    yield p
  }
  if (last !== '' && !last.endsWith('\n')) yield '\n'
}

/**
 * `mkdir -p`: creates `dir` and its missing parents, one level at a time, from the nearest
 * existing ancestor down. Node's `mkdir(dir, { recursive: true })` is not used: where `mkdir`
 * fails with ENOENT under a parent that exists (inside `/proc`, Node 20) it retries for ever.
 * An existing `dir` (or one another process makes meanwhile) is no error; an existing file at
 * `dir` is (`code` EEXIST, as `mkdir` reports it).
 * @throws the Node system error of the first level that cannot be created (`syscall` `mkdir`,
 * `code` ENOENT, EACCES, ENOTDIR, EROFS, EEXIST, ...), which {@link systemErrorDiagnostic}
 * reports.
 */
export function makeDirectory(dir: string): void {
  const missing: string[] = []
  for (let d = path.resolve(dir); isMissing(d);) {
    missing.push(d)
    const parent = path.dirname(d)
    if (parent === d) break
    d = parent
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d)
    } catch (err) {
      // made by another process since the stat: fine when it is a folder
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(d).isDirectory()) throw err
    }
  }
  // a file where the folder goes: said here, at the folder, not by the first write under it
  // (which named a temporary file of compile's, `out/web-1.nft.tmp-2815`)
  if (missing.length === 0 && !statSync(dir).isDirectory()) {
    throw Object.assign(new Error(`EEXIST: file already exists, mkdir '${dir}'`), {
      code: 'EEXIST',
      syscall: 'mkdir',
      path: dir,
    })
  }
}

/**
 * Writes `content` to `file` atomically: to `tmp` beside it, then renamed over it, so a reader
 * never sees half a file. On failure the temporary file is removed (a rename onto a folder left
 * `out.prom.tmp` behind) and the Node system error is rethrown about `file`, the path the user
 * gave (`path` and message), not about `tmp`, for {@link systemErrorDiagnostic}.
 */
export async function replaceFile(file: string, tmp: string, content: string): Promise<void> {
  try {
    await writeFile(tmp, content)
    await rename(tmp, file)
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined)
    const e = err as NodeJS.ErrnoException
    if (typeof e.path === 'string' && typeof e.message === 'string')
      Object.assign(e, {
        path: file,
        message: e.message.replace(` -> '${file}'`, '').split(tmp).join(file),
      })
    throw e
  }
}

/** True when nothing is at `d`, also when a part of it is a file (mkdir then says so). */
function isMissing(d: string): boolean {
  try {
    statSync(d)
    return false
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return true
    throw err
  }
}

/** System calls that read: their failures are `io/read-failed`; other calls' `io/write-failed`. */
const READ_SYSCALLS = new Set(['read', 'scandir', 'stat', 'lstat', 'access', 'readlink', 'opendir'])

/**
 * A Node system error (an `Error` with an errno `code` such as `EACCES` and the `syscall` that
 * failed, usually with the `path`) as a diagnostic: `io/not-found` (ENOENT), `io/read-failed`
 * or `io/write-failed`, located at the path, with a hint. Undefined for anything else (a bug
 * stays an internal error, with its stack).
 */
export function systemErrorDiagnostic(err: unknown): Diagnostic | undefined {
  if (!(err instanceof Error)) return undefined
  const e = err as NodeJS.ErrnoException
  if (typeof e.code !== 'string' || !/^E[A-Z0-9]+$/.test(e.code)) return undefined
  if (typeof e.syscall !== 'string') return undefined
  return ioDiagnostic(err, READ_SYSCALLS.has(e.syscall) ? 'read' : 'write', e.path)
}

/** Prints diagnostics to stderr, sorted, one per line. */
export function printDiagnostics(diagnostics: readonly Diagnostic[]): void {
  for (const d of sortDiagnostics(diagnostics)) process.stderr.write(`${formatDiagnostic(d)}\n`)
}

/**
 * The JSON and YAML shape a command prints on stdout when it stops on an input error (the
 * fields `validate -o json` also has), so that a pipeline reading `-o json` gets a document,
 * not nothing. Stable.
 */
export interface FailureOutput {
  readonly ok: false
  readonly errors: number
  readonly warnings: number
  readonly diagnostics: readonly Diagnostic[]
}

/**
 * What a command that stopped on `diagnostics` prints on stdout in the machine `format` it was
 * asked for: `json` and `yaml` a {@link FailureOutput}, `sarif` a SARIF log with one result per
 * diagnostic (code scanning then marks the file that broke the run; a diagnostic with no
 * location is put at the workspace's `bulkhead.yaml`, file only), `md` a short Markdown
 * list for a pull-request comment; `undefined` for other formats (text, csv, jsonl: the
 * diagnostics on stderr say it all). The diagnostics are printed on stderr as well, by the
 * caller.
 */
export function failureOutput(
  diagnostics: readonly Diagnostic[],
  format: string,
  workspace = '.',
): string | undefined {
  const sorted = sortDiagnostics(diagnostics)
  const errors = sorted.filter((d) => d.severity !== 'warning').length
  if (format === 'json' || format === 'yaml') {
    const out: FailureOutput = {
      ok: false,
      errors,
      warnings: sorted.length - errors,
      diagnostics: sorted,
    }
    return format === 'json' ? `${JSON.stringify(out, null, 2)}\n` : toYaml(out)
  }
  if (format === 'sarif') {
    // code scanning reads paths from the repository root; a place in a policy set read from git
    // (`HEAD~1:policy/a.yaml:3:5`, diff's OLD) is put at its file without a line, which in the
    // working tree may hold something else, and named in the message (as diff -o sarif does)
    const gitDir = path.resolve(workspace)
    const place = (loc: SourceLocation): SourceLocation =>
      gitRevision(loc.file) === undefined
        ? loc
        : { file: revisionFile(loc.file, gitDir), line: 0, column: 0 }
    const anchor: SourceLocation = {
      file: path.join(workspace, 'bulkhead.yaml'),
      line: 0,
      column: 0,
    }
    const log = toSarif(
      sorted.map((d) => {
        const message = d.hint !== undefined ? `${d.message} (${d.hint})` : d.message
        const old =
          d.location !== undefined && gitRevision(d.location.file) !== undefined
            ? formatLocation(d.location)
            : undefined
        return {
          ruleId: d.code,
          level: d.severity === 'warning' ? ('warning' as const) : ('error' as const),
          message: old !== undefined ? `${message} (at ${old})` : message,
          // a diagnostic with no place of its own (a usage error) is put at the workspace's
          // bulkhead.yaml: code scanning rejects the whole file for one result without a location
          location: d.location ? place(d.location) : anchor,
          ...(d.related ? { related: d.related.map(place) } : {}),
        }
      }),
      {
        name: 'bulkhead',
        version: VERSION,
        baseDir: repositoryRoot(gitDir) ?? process.cwd(),
        cwd: process.cwd(),
      },
    )
    return `${JSON.stringify(log, null, 2)}\n`
  }
  if (format === 'md') {
    const items = sorted.map(
      (d) =>
        `- **${d.severity}** ${mdCode(d.code, false)}${d.location ? ` at ${mdCode(formatLocation(d.location), false)}` : ''}: ${mdText(d.message)}${d.hint !== undefined ? ` (${mdText(d.hint)})` : ''}`,
    )
    return `**bulkhead stopped on ${counted(errors, 'error')}**\n\n${items.join('\n')}\n`
  }
  return undefined
}
