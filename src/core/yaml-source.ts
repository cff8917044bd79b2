/**
 * @module YAML parsing with source locations: multi-document files, syntax and duplicate-key
 * errors as diagnostics, YAML path → 1-based line/column, and zod issues → located diagnostics.
 * @remarks Locations come from the `yaml` package (`parseAllDocuments`: node and error offsets),
 * turned into lines and columns by a `LineCounter` of the text itself (`lineCounterOf`);
 * see STYLE.md "Errors".
 */
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  visit,
  type Document,
  type Node,
  type Pair,
  type YAMLMap,
} from 'yaml'
import type * as z from 'zod'
import {
  diagnostic,
  type Diagnostic,
  type ErrorCode,
  type Severity,
  type SourceLocation,
} from './errors.js'
import { JsonLocator, jsonRepeatedKey, lineCounterOf } from './json-locate.js'
import { checkLabelKey, checkLabelValue, labelSet, type LabelSet } from './labels.js'

/** One file already read: its display path (relative to the working directory) and its text. */
export interface SourceFile {
  readonly path: string
  readonly text: string
  /**
   * The documents of `text`, parsed before ({@link parsedYamlOf}, kept by the workspace's parse
   * cache): {@link parseYamlFile} then reads them instead of parsing the text again.
   */
  readonly parsed?: ParsedYaml
}

/**
 * Where each node of a parsed YAML document starts (character offsets into the file's text), in
 * the shape of the document: `o` the node's offset; a mapping's `k` gives, per key as text, the
 * key's offset and the value's node (the key's node for a key without a value, as
 * {@link YamlDoc.loc} points there); a sequence's `i` its items' nodes; a scalar that reads as a
 * number or a boolean keeps its source text in `s` (`1.10`, for {@link YamlDoc.labelText}).
 */
export interface YamlNodeOffsets {
  readonly o: number
  readonly k?: Readonly<Record<string, readonly [key: number, value: YamlNodeOffsets]>>
  readonly i?: readonly YamlNodeOffsets[]
  readonly s?: string
}

/**
 * A YAML file's documents as {@link parsedYamlOf} gives them: each document's index in the file,
 * its plain value (what `toJS()` gives) and its node offsets. Plain JSON data: it survives
 * `JSON.stringify` / `JSON.parse` unchanged.
 */
export interface ParsedYaml {
  readonly docs: readonly {
    readonly index: number
    readonly value: unknown
    readonly nodes: YamlNodeOffsets
  }[]
}

/** A path inside a YAML document, e.g. `['rules', 1, 'from', 0]`. */
export type YamlPath = readonly (string | number)[]

/** Extra fields of a diagnostic besides code, message and location. */
export interface DiagnosticExtra {
  readonly severity?: Severity
  readonly related?: readonly SourceLocation[]
  readonly hint?: string
}

/** Finds where a path of a document starts in its file's text. */
interface Locator {
  /** Character offset of the node at `path`, or of its key (see {@link YamlDoc.loc}). */
  offset(path: YamlPath, target: 'value' | 'key'): number
  /** 1-based line and column of an offset. */
  linePos(offset: number): { line: number; col: number }
  /**
   * The source text of the scalar at `path` as written (`1.10`, not 1.1), when there is one;
   * asked only of scalars that read as a number or a boolean ({@link YamlDoc.labelText}).
   */
  scalarSource(path: YamlPath): string | undefined
}

/** Locations from the `yaml` package's node tree. */
class YamlLocator implements Locator {
  constructor(
    private readonly doc: Document,
    private readonly lineCounter: LineCounter,
  ) {}

  offset(path: YamlPath, target: 'value' | 'key'): number {
    const { node, keyNode, complete } = this.nodeAt(path)
    return rangeStart(target === 'key' && complete && keyNode ? keyNode : node)
  }

  scalarSource(path: YamlPath): string | undefined {
    const { node, complete } = this.nodeAt(path)
    return complete && isScalar(node) && typeof node.source === 'string' ? node.source : undefined
  }

  /** The node at `path`, or the deepest existing one (`complete` false), and its key node. */
  private nodeAt(path: YamlPath): { node: unknown; keyNode: Node | undefined; complete: boolean } {
    let node: unknown = this.doc.contents
    let keyNode: Node | undefined
    let complete = true
    for (const seg of path) {
      if (isAlias(node)) node = node.resolve(this.doc)
      if (isMap(node)) {
        const pair = this.pairOf(node, String(seg))
        if (!pair) {
          complete = false
          break
        }
        keyNode = pair.key as Node
        node =
          pair.value === null || (isScalar(pair.value) && pair.value.value === null)
            ? pair.key
            : pair.value
      } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
        keyNode = undefined
        node = node.items[seg]
      } else {
        complete = false
        break
      }
    }
    return { node, keyNode, complete }
  }

  linePos(offset: number): { line: number; col: number } {
    return this.lineCounter.linePos(offset)
  }

  /**
   * The pair of `key` in `map`: its own, else the one a merge key (`<<: *anchor`, or a sequence
   * of aliases, the first one first) brings in, as `toJS` merges them.
   */
  private pairOf(map: YAMLMap, key: string, depth = 0): Pair | undefined {
    const own = map.items.find((p) => keyText(p.key) === key)
    if (own || depth > 20) return own
    for (const p of map.items) {
      if (!isScalar(p.key) || typeof p.key.value !== 'symbol') continue
      const sources = isSeq(p.value) ? p.value.items : [p.value]
      for (const src of sources) {
        const m = isAlias(src) ? src.resolve(this.doc) : src
        const found = isMap(m) ? this.pairOf(m, key, depth + 1) : undefined
        if (found) return found
      }
    }
    return undefined
  }
}

/**
 * Locations from {@link YamlNodeOffsets}: the answers of {@link YamlLocator} for the document the
 * offsets were taken from (a property test holds the two to that), without its node tree.
 */
class OffsetsLocator implements Locator {
  constructor(
    private readonly nodes: YamlNodeOffsets,
    private readonly lineCounter: LineCounter,
  ) {}

  offset(path: YamlPath, target: 'value' | 'key'): number {
    const { node, key, complete } = this.nodeAt(path)
    return target === 'key' && complete && key !== undefined ? key : node.o
  }

  scalarSource(path: YamlPath): string | undefined {
    const { node, complete } = this.nodeAt(path)
    return complete ? node.s : undefined
  }

  /** As {@link YamlLocator}'s: the node at `path`, or the deepest existing one. */
  private nodeAt(path: YamlPath): {
    node: YamlNodeOffsets
    key: number | undefined
    complete: boolean
  } {
    let node = this.nodes
    let key: number | undefined
    for (const seg of path) {
      const k = node.k
      if (k !== undefined) {
        const entry = Object.hasOwn(k, String(seg)) ? k[String(seg)] : undefined
        if (entry === undefined) return { node, key, complete: false }
        key = entry[0]
        node = entry[1]
      } else if (node.i !== undefined && typeof seg === 'number' && node.i[seg] !== undefined) {
        key = undefined
        node = node.i[seg]
      } else return { node, key, complete: false }
    }
    return { node, key, complete: true }
  }

  linePos(offset: number): { line: number; col: number } {
    return this.lineCounter.linePos(offset)
  }
}

/**
 * The node offsets of `node` (see {@link YamlNodeOffsets}), as {@link YamlLocator} walks it;
 * undefined when the document holds what a walk of offsets does not follow as the node tree
 * does: an alias, a merge key (`<<`), a key that is not a scalar, a repeated key.
 */
function offsetsOf(node: unknown): YamlNodeOffsets | undefined {
  const o = rangeStart(node)
  if (isMap(node)) {
    const k: Record<string, readonly [number, YamlNodeOffsets]> = Object.create(null) as Record<
      string,
      readonly [number, YamlNodeOffsets]
    >
    for (const pair of node.items) {
      if (!isScalar(pair.key) || typeof pair.key.value === 'symbol') return undefined
      const key = String(pair.key.value)
      if (Object.hasOwn(k, key)) return undefined
      const v = pair.value
      const child = offsetsOf(v === null || (isScalar(v) && v.value === null) ? pair.key : v)
      if (child === undefined) return undefined
      k[key] = [rangeStart(pair.key), child]
    }
    return { o, k }
  }
  if (isSeq(node)) {
    const i: YamlNodeOffsets[] = []
    for (const item of node.items) {
      const child = offsetsOf(item)
      if (child === undefined) return undefined
      i.push(child)
    }
    return { o, i }
  }
  if (isScalar(node)) {
    const v = node.value
    return (typeof v === 'number' || typeof v === 'boolean') && typeof node.source === 'string'
      ? { o, s: node.source }
      : { o }
  }
  // an alias, or anything else the walk of node offsets does not follow
  return undefined
}

/**
 * True when `value` is plain JSON data that `JSON.stringify` / `JSON.parse` give back unchanged:
 * no non-finite number, no `-0`, nothing but strings, numbers, booleans, null, arrays and plain
 * objects.
 */
function jsonSafe(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0)
  if (Array.isArray(value)) return value.every(jsonSafe)
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype)
    return Object.values(value).every(jsonSafe)
  return false
}

/**
 * Parses a YAML file into its documents' values and node offsets ({@link ParsedYaml}), for the
 * workspace's parse cache: {@link parseYamlFile} of the file with these as its `parsed` gives
 * the same documents, values and locations as without. Undefined when that cannot be promised,
 * and the file is then parsed each time: a file {@link parseYamlFile} reads as JSON (that is
 * fast already), a file with a syntax error or any other diagnostic, a document that holds an
 * alias, a merge key, a key that is not a scalar, or a value JSON cannot carry (`.nan`, `.inf`,
 * `-0`).
 */
export function parsedYamlOf(file: SourceFile): ParsedYaml | undefined {
  const sink: Diagnostic[] = []
  if (parseJsonFile(file, sink) !== undefined) return undefined
  let docs: ReturnType<typeof parseAllDocuments>
  try {
    docs = parseAllDocuments(file.text, YAML_OPTIONS)
  } catch {
    return undefined
  }
  if (!Array.isArray(docs)) return undefined
  const out: ParsedYaml['docs'][number][] = []
  for (const [index, doc] of docs.entries()) {
    // (a warning, as an unknown tag, is a diagnostic too: parsed each time, so it is given again)
    if (doc.errors.length > 0 || doc.warnings.length > 0) return undefined
    let value: unknown
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT })
    } catch {
      return undefined
    }
    if (value === null || value === undefined) continue
    let nodes: YamlNodeOffsets | undefined
    try {
      nodes = jsonSafe(value) ? offsetsOf(doc.contents) : undefined
    } catch {
      // a document nested deeper than these walks go: parsed each time, as before
      return undefined
    }
    if (nodes === undefined) return undefined
    out.push({ index, value, nodes })
  }
  return { docs: out }
}

/**
 * One parsed, syntactically valid YAML document of a file (a JSON file is one such document),
 * with its plain JavaScript value (YAML 1.2 core schema: timestamps stay strings) and a sink for
 * diagnostics located in it.
 */
export class YamlDoc {
  constructor(
    /** Display path of the file. */
    readonly file: string,
    /** 0-based index of the document in its file. */
    readonly index: number,
    private readonly locator: Locator,
    /** The document as plain data (`toJS()`); `null` for an empty document. */
    readonly value: unknown,
    /** Where diagnostics go; shared by every document of a load. */
    readonly sink: Diagnostic[],
  ) {}

  /**
   * The location of the node at `path` (its first character), or of the key of the last path
   * segment when `target` is `'key'`. When the path does not fully exist, the deepest existing
   * node is used, so a missing field points at the mapping that lacks it.
   */
  loc(path: YamlPath, target: 'value' | 'key' = 'value'): SourceLocation {
    return this.at(this.locator.offset(path, target))
  }

  /**
   * A label value as written at `path`: text as it is, a number or boolean as its source text
   * (`version: 1.10` is "1.10", not the 1.1 YAML reads; `tier: 1` is "1"); undefined for any
   * other value (a list, a mapping, null).
   */
  labelText(value: unknown, path: YamlPath): string | undefined {
    if (typeof value === 'string') return value
    if (typeof value !== 'number' && typeof value !== 'boolean') return undefined
    return this.locator.scalarSource(path) ?? String(value)
  }

  /** The location of a character offset of the file. */
  at(offset: number): SourceLocation {
    const { line, col } = this.locator.linePos(offset)
    return { file: this.file, line, column: col }
  }

  /** Records a diagnostic at the node of `path` (or its key). */
  report(
    code: ErrorCode,
    message: string,
    path: YamlPath,
    extra: DiagnosticExtra & { target?: 'value' | 'key' } = {},
  ): void {
    this.sink.push(
      diagnostic(code, message, this.loc(path, extra.target ?? 'value'), stripTarget(extra)),
    )
  }

  /**
   * Checks `value` (found at `path` in this document) against a zod schema. Every issue becomes a
   * located diagnostic: unknown keys → `schema/unknown-field` at the key, absent or null required
   * fields → `schema/missing-field`, anything else → `schema/invalid-value` at the value.
   * @returns the parsed data, or undefined when there was any issue.
   */
  check<T>(schema: z.ZodType<T>, value: unknown, path: YamlPath): T | undefined {
    const result = schema.safeParse(value)
    if (result.success) return result.data
    for (const issue of result.error.issues) {
      const rel = issue.path.filter(
        (p): p is string | number => typeof p === 'string' || typeof p === 'number',
      )
      const full = [...path, ...rel]
      const field = fieldName(full)
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          this.report('schema/unknown-field', `unknown field "${key}"`, [...full, key], {
            target: 'key',
          })
        }
        continue
      }
      const found = valueAt(value, rel)
      if (
        (issue.code === 'invalid_type' || issue.code === 'invalid_union') &&
        rel.length > 0 &&
        !found.present
      ) {
        this.report('schema/missing-field', `missing required field "${field}"`, full.slice(0, -1))
      } else if (
        (issue.code === 'invalid_type' || issue.code === 'invalid_union') &&
        rel.length > 0 &&
        found.value === null
      ) {
        this.report('schema/missing-field', `field "${field}" has no value`, full, {
          target: 'key',
        })
      } else {
        this.report('schema/invalid-value', `"${field}": ${issue.message}`, full)
      }
    }
    return undefined
  }
}

/**
 * The field a path ends at, as a reader finds it in the file: the last key, with the list indexes
 * after it (`['rules', 0, 'from', 0, 'matchExpressions', 0, 'values', 1]` is `values[1]`;
 * `['rules', 2]` is `rules[2]`); `document` for the document itself.
 */
export function fieldName(path: YamlPath): string {
  let i = path.length
  while (i > 0 && typeof path[i - 1] === 'number') i--
  const indexes = path
    .slice(i)
    .map((n) => `[${String(n)}]`)
    .join('')
  return `${i > 0 ? String(path[i - 1]) : 'document'}${indexes}`
}

function stripTarget(extra: DiagnosticExtra & { target?: 'value' | 'key' }): DiagnosticExtra {
  const { target: _target, ...rest } = extra
  return rest
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value)
  return undefined
}

function rangeStart(node: unknown): number {
  if (node && typeof node === 'object' && 'range' in node) {
    const range = (node as { range?: readonly number[] | null }).range
    if (range && typeof range[0] === 'number') return range[0]
  }
  return 0
}

/** Looks up a relative path in plain data; `present` is false when some key or index is absent. */
export function valueAt(value: unknown, path: YamlPath): { present: boolean; value: unknown } {
  let cur: unknown = value
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, seg))
      return { present: false, value: undefined }
    cur = (cur as Record<string | number, unknown>)[seg]
  }
  return { present: true, value: cur }
}

/**
 * Parses every document of a YAML file. Syntax errors become `yaml/syntax` and repeated keys
 * `yaml/duplicate-key`, each at the position the `yaml` package reports (1-based); of the
 * syntax errors of one line only the first is reported, the others counted in its message (the
 * parser reports each token after a broken one); a document with any such error is left out. Empty documents (a trailing `---`, comments only) are left
 * out silently.
 * @param file - display path and text.
 * @param sink - receives diagnostics.
 * @returns the documents in file order; never throws.
 */
export function parseYamlFile(file: SourceFile, sink: Diagnostic[]): YamlDoc[] {
  // positions from the text, not from the counter the parser fills (see lineCounterOf)
  if (file.parsed !== undefined) {
    const lines = lineCounterOf(file.text)
    return file.parsed.docs.map(
      (d) => new YamlDoc(file.path, d.index, new OffsetsLocator(d.nodes, lines), d.value, sink),
    )
  }
  const json = parseJsonFile(file, sink)
  if (json !== undefined) return json
  const lineCounter = lineCounterOf(file.text)
  const out: YamlDoc[] = []
  let docs: ReturnType<typeof parseAllDocuments>
  try {
    docs = parseAllDocuments(file.text, YAML_OPTIONS)
  } catch (err) {
    sink.push(
      diagnostic('yaml/syntax', `cannot parse YAML: ${String(err)}`, {
        file: file.path,
        line: 1,
        column: 1,
      }),
    )
    return out
  }
  if (!Array.isArray(docs)) return out
  docs.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      // one syntax error per line: the parser reports every token after a broken one, so one
      // unquoted `[` gave a diagnostic per token of every line after it (131 for a 9-line file);
      // the first of a line is the one to read, the rest of it are counted in its message
      const syntaxByLine = new Map<number, { index: number; more: number }>()
      const diags: Diagnostic[] = []
      for (const err of doc.errors) {
        const pos = lineCounter.linePos(err.pos[0])
        const code: ErrorCode = err.code === 'DUPLICATE_KEY' ? 'yaml/duplicate-key' : 'yaml/syntax'
        const seen = code === 'yaml/syntax' ? syntaxByLine.get(pos.line) : undefined
        if (seen !== undefined) {
          seen.more++
          continue
        }
        if (code === 'yaml/syntax') syntaxByLine.set(pos.line, { index: diags.length, more: 0 })
        // the yaml package reports its own stack overflow (a document nested thousands deep)
        // as RESOURCE_EXHAUSTION with the engine's text, "Maximum call stack size exceeded"
        const repeated = err.code === 'DUPLICATE_KEY' ? keyAt(doc, err.pos[0]) : undefined
        const message =
          err.code === 'RESOURCE_EXHAUSTION' && /call stack/i.test(err.message)
            ? 'the document nests too deep here to be read (the YAML parser ran out of stack); nest less'
            : repeated !== undefined
              ? `Map keys must be unique (${JSON.stringify(repeated)} is repeated)`
              : firstLine(err.message)
        diags.push(
          diagnostic(
            code,
            message,
            { file: file.path, line: pos.line, column: pos.col },
            repeated !== undefined ? { hint: 'keep one of them' } : {},
          ),
        )
      }
      for (const { index, more } of syntaxByLine.values()) {
        const d = diags[index]
        if (d !== undefined && more > 0)
          diags[index] = {
            ...d,
            message: `${d.message} (and ${String(more)} more syntax error${more === 1 ? '' : 's'} on this line, most often caused by this one)`,
          }
      }
      sink.push(...diags)
      return
    }
    let value: unknown
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT })
    } catch (err) {
      // the yaml package throws ReferenceError for an alias it cannot or will not expand: the
      // message is its text, at the alias (not "ReferenceError: ..." at the file's first line)
      const alias = aliasProblem(doc)
      const at = alias?.offset ?? badMergeSource(doc) ?? 0
      const pos = lineCounter.linePos(at)
      const text = err instanceof Error ? err.message : String(err)
      sink.push(
        diagnostic('yaml/syntax', alias?.message ?? firstLine(text), {
          file: file.path,
          line: pos.line,
          column: pos.col,
        }),
      )
      return
    }
    // a tag the YAML 1.2 core schema does not know (`!foo`, `!!js/function`) is read past, its
    // value as written: say so, as Kubernetes' decoder refuses such a file
    for (const w of doc.warnings) {
      if (w.code !== 'TAG_RESOLVE_FAILED') continue
      const pos = lineCounter.linePos(w.pos[0])
      sink.push(
        diagnostic(
          'yaml/unknown-tag',
          `unknown tag ${file.text.slice(w.pos[0], w.pos[1])}: the value is read as if untagged`,
          { file: file.path, line: pos.line, column: pos.col },
          { severity: 'warning', hint: 'remove the tag' },
        ),
      )
    }
    if (value === null || value === undefined) return
    out.push(new YamlDoc(file.path, index, new YamlLocator(doc, lineCounter), value, sink))
  })
  return out
}

/** The text of the mapping key that starts at `offset` in `doc`, if any (a scalar key's value). */
function keyAt(doc: Document, offset: number): string | undefined {
  let found: string | undefined
  visit(doc, {
    Pair(_, pair) {
      const key = pair.key
      if (isScalar(key) && key.range?.[0] === offset) {
        found = String(key.value)
        return visit.BREAK
      }
      return undefined
    },
  })
  return found
}

/**
 * The `yaml` package's options for every file. Merge keys (`<<: *labels`), a YAML 1.1 type that
 * the YAML 1.2 core schema leaves out but Kubernetes reads (sigs.k8s.io/yaml, go-yaml), so
 * manifests that kubectl applies read alike.
 */
const YAML_OPTIONS = {
  prettyErrors: true,
  uniqueKeys: true,
  merge: true,
  // YAML 1.1 types the 1.2 core schema leaves out (`!!omap`, `!!set`, `!!binary`, `!!timestamp`)
  // are unknown tags, read as if untagged (`yaml/unknown-tag`): `!!omap [ {role: web} ]` as a
  // selector was an empty mapping, which selects every workload in scope
  resolveKnownTags: false,
  // the package's own warnings go to `process.emitWarning` (a key that is a list: "Set mapAsMap:
  // true", an option of a library the user never calls); what it reports, this module does
  logLevel: 'error',
} as const

/** How many copies aliases may make of anchored nodes (the `yaml` package's `maxAliasCount`). */
const MAX_ALIAS_COUNT = 100

/**
 * The first alias `doc.toJS({ maxAliasCount })` refuses, with its offset and what is wrong: an
 * alias naming no anchor set before it, or one whose copies exceed {@link MAX_ALIAS_COUNT}
 * (a "billion laughs" document: aliases of nodes that hold aliases multiply). Counts as the
 * `yaml` package counts (`Alias.resolve`: uses of an anchor × the copies one use makes).
 * undefined when no alias is at fault.
 */
function aliasProblem(doc: Document): { offset: number; message: string } | undefined {
  const uses = new Map<unknown, { count: number; copies: number }>()
  const copiesOf = (n: unknown): number => {
    if (isAlias(n)) {
      const u = uses.get(n.resolve(doc))
      return u === undefined ? 0 : u.count * u.copies
    }
    if (isMap(n) || isSeq(n)) return Math.max(0, ...n.items.map(copiesOf))
    if (n !== null && typeof n === 'object' && 'key' in n && 'value' in n)
      return Math.max(copiesOf(n.key), copiesOf(n.value))
    return 1
  }
  let found: { offset: number; message: string } | undefined
  visit(doc, {
    Alias(_, alias) {
      const offset = alias.range?.[0] ?? 0
      const source = alias.resolve(doc)
      if (source === undefined) {
        found = {
          offset,
          message: `alias *${alias.source} names no anchor &${alias.source} set before it`,
        }
        return visit.BREAK
      }
      const u = uses.get(source) ?? { count: 0, copies: 0 }
      uses.set(source, u)
      u.count += 1
      if (u.copies === 0) u.copies = copiesOf(source)
      if (u.count * u.copies > MAX_ALIAS_COUNT) {
        found = {
          offset,
          message: `aliases expand to more than ${String(MAX_ALIAS_COUNT)} copies here (refused as a resource-exhaustion "billion laughs" document; write the values out)`,
        }
        return visit.BREAK
      }
      return undefined
    },
  })
  return found
}

/**
 * The offset of the first merge source (the value of a `<<` key) that is no mapping, alias of
 * one or sequence of those, which `toJS` refuses ("Merge sources must be maps or map aliases");
 * undefined when there is none.
 */
function badMergeSource(doc: Document): number | undefined {
  const isSource = (n: unknown): boolean => {
    const r = isAlias(n) ? n.resolve(doc) : n
    return isMap(r)
  }
  let at: number | undefined
  visit(doc, {
    Pair(_, pair) {
      if (!isScalar(pair.key) || typeof pair.key.value !== 'symbol') return undefined
      const v = pair.value
      if (isSource(v) || (isSeq(v) && v.items.every(isSource))) return undefined
      at = rangeStart(v ?? pair.key)
      return visit.BREAK
    },
  })
  return at
}

/**
 * A file that is one JSON document (its first character, after a byte-order mark and white
 * space, is `{` or `[`, and `JSON.parse` reads it) is read with `JSON.parse`, located with
 * {@link JsonLocator}: the same value and locations as the YAML parser gives, in a fraction of
 * its memory and time. A repeated key is `yaml/duplicate-key` at the repetition, and the document
 * is left out, as for YAML.
 * @returns the document (none when it is `null` or has a repeated key), or undefined when the
 *   file is not JSON or does not parse as JSON (the YAML parser then reports where it breaks).
 */
function parseJsonFile(file: SourceFile, sink: Diagnostic[]): YamlDoc[] | undefined {
  const text = file.text
  if (!/^[\s\uFEFF]*[[{]/.test(text)) return undefined
  let value: unknown
  try {
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)
  } catch {
    return undefined
  }
  const locator = new JsonLocator(text)
  const repeated = jsonRepeatedKey(text)
  if (repeated !== undefined) {
    const { line, col } = locator.linePos(repeated.offset)
    sink.push(
      diagnostic(
        'yaml/duplicate-key',
        `Map keys must be unique ("${repeated.key}" is repeated)`,
        { file: file.path, line, column: col },
        { hint: 'keep one of them' },
      ),
    )
    return []
  }
  return value === null ? [] : [new YamlDoc(file.path, 0, locator, value, sink)]
}

function firstLine(message: string): string {
  const i = message.indexOf(' at line ')
  const head = i > 0 ? message.slice(0, i) : message
  return head.split('\n')[0] ?? head
}

/** The only `apiVersion` this version reads. */
export const API_VERSION = 'bulkhead.dev/v1'

/** Every document kind Bulkhead reads. */
export const KNOWN_KINDS = [
  'Workspace',
  'Inventory',
  'LabelRules',
  'Policy',
  'Enforcement',
] as const

/**
 * Checks a document's `apiVersion` (must be `bulkhead.dev/v1`) and `kind`. A kind Bulkhead does
 * not know, or one that does not belong in this kind of file (e.g. a Policy among inventory
 * files), is `schema/unknown-kind` at the kind's value.
 * @returns the kind when the header is good and the kind is in `allowed`, else undefined.
 */
export function checkHeader(d: YamlDoc, allowed: readonly string[]): string | undefined {
  const v = d.value
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    d.report('schema/invalid-value', 'a document must be a mapping with apiVersion and kind', [])
    return undefined
  }
  const o = v as Record<string, unknown>
  let ok = true
  if (!Object.hasOwn(o, 'apiVersion') || o['apiVersion'] === null) {
    d.report('schema/missing-field', 'missing required field "apiVersion"', [])
    ok = false
  } else if (o['apiVersion'] !== API_VERSION) {
    d.report('schema/invalid-value', `apiVersion must be ${API_VERSION}`, ['apiVersion'])
    ok = false
  }
  const kind = o['kind']
  if (kind === undefined || kind === null) {
    d.report('schema/missing-field', 'missing required field "kind"', [])
    return undefined
  }
  if (typeof kind !== 'string' || !(KNOWN_KINDS as readonly string[]).includes(kind)) {
    d.report('schema/unknown-kind', `unknown kind ${JSON.stringify(kind)}`, ['kind'], {
      hint: `use one of ${KNOWN_KINDS.join(', ')}`,
    })
    return undefined
  }
  if (!allowed.includes(kind)) {
    d.report('schema/unknown-kind', `kind ${kind} does not belong in this file`, ['kind'], {
      hint: `here use ${allowed.join(' or ')}`,
    })
    return undefined
  }
  return ok ? kind : undefined
}

/** True for a YAML/JSON mapping (a non-null object that is not an array). */
export function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/**
 * Checks a label map (`{ key: value }`) at `path`: each key with `checkLabelKey`, each value with
 * `checkLabelValue` (`inventory/bad-label` at the key or value); a non-mapping is
 * `schema/invalid-value`. `undefined` (absent) gives the empty set.
 * @returns the label set, or undefined when any pair is bad.
 */
export function parseLabelMap(d: YamlDoc, raw: unknown, path: YamlPath): LabelSet | undefined {
  if (raw === undefined || raw === null) return labelSet()
  if (!isMapping(raw)) {
    d.report('schema/invalid-value', 'labels must be a mapping of key: value', path)
    return undefined
  }
  let ok = true
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(raw)) {
    const keyProblem = checkLabelKey(key)
    if (keyProblem) {
      d.report('inventory/bad-label', keyProblem, [...path, key], { target: 'key' })
      ok = false
      continue
    }
    const text = d.labelText(value, [...path, key])
    const valueProblem =
      text === undefined ? `label "${key}" must have a text value` : checkLabelValue(text)
    if (valueProblem || text === undefined) {
      d.report('inventory/bad-label', valueProblem ?? `label "${key}" must have a text value`, [
        ...path,
        key,
      ])
      ok = false
      continue
    }
    out[key] = text
  }
  return ok ? labelSet(out) : undefined
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/
const DATETIME_RE =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+-]\d{2}:?\d{2})$/

/**
 * Parses an ISO-8601 date (`2027-06-30`, UTC midnight) or date-time with a zone
 * (`2026-10-01T00:00:00Z`, `2026-10-01T02:00+02:00`; fractions of a second are truncated to ms).
 * A date-time without a zone is refused: its instant would depend on the machine's time zone.
 * @returns ms since the epoch (UTC) and whether the text was a date alone; undefined when invalid.
 */
export function parseTimestamp(text: string): { ms: number; dateOnly: boolean } | undefined {
  const t = text.trim()
  const dm = DATE_RE.exec(t)
  if (dm) {
    const ms = utc(Number(dm[1]), Number(dm[2]), Number(dm[3]), 0, 0, 0, 0)
    return ms === undefined ? undefined : { ms, dateOnly: true }
  }
  const m = DATETIME_RE.exec(t)
  if (!m) return undefined
  const frac = (m[7] ?? '').padEnd(3, '0').slice(0, 3)
  const base = utc(
    Number(m[1]),
    Number(m[2]),
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6] ?? '0'),
    Number(frac),
  )
  if (base === undefined) return undefined
  const zone = m[8] ?? 'Z'
  let offsetMin = 0
  if (zone !== 'Z' && zone !== 'z') {
    const z2 = zone.replace(':', '')
    const hh = Number(z2.slice(1, 3))
    const mm = Number(z2.slice(3, 5))
    if (hh > 23 || mm > 59) return undefined
    offsetMin = (hh * 60 + mm) * (z2[0] === '-' ? -1 : 1)
  }
  return { ms: base - offsetMin * 60_000, dateOnly: false }
}

function utc(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  ms: number,
): number | undefined {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return undefined
  const dt = new Date(0)
  dt.setUTCFullYear(y, mo - 1, d)
  dt.setUTCHours(h, mi, s, ms)
  if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== mo - 1 || dt.getUTCDate() !== d)
    return undefined
  return dt.getTime()
}
