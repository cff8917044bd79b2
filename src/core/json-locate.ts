/**
 * @module Source locations in JSON text without a syntax tree: the offset of the value (or key)
 * at a path, 1-based line and column of an offset, and the first repeated key of an object.
 *
 * Used for documents that are plain JSON (a `kubectl get pods -o json` dump, AWS
 * `describe-instances` output): `JSON.parse` reads them in a fraction of the memory the YAML
 * parser's node tree takes (a 143 MB pod list needed more than 4 GB that way), and locations are
 * found only when a diagnostic asks for one. The text must be valid JSON (RFC 8259); these
 * functions do not validate it.
 */
import { LineCounter } from 'yaml'

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d
/** U+FEFF, a byte-order mark JSON.parse does not take but files may start with. */
const BOM = 0xfeff

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === BOM
}

function skipSpace(t: string, i: number): number {
  while (i < t.length && isSpace(t.charCodeAt(i))) i++
  return i
}

/** The offset after the closing quote of the string whose opening quote is at `i`. */
function stringEnd(t: string, i: number): number {
  let from = i + 1
  for (;;) {
    const q = t.indexOf('"', from)
    if (q < 0) return t.length
    let backslashes = 0
    while (t.charCodeAt(q - 1 - backslashes) === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) return q + 1
    from = q + 1
  }
}

/** The text of the string token `t[i, end)`, escapes decoded. */
function stringText(t: string, i: number, end: number): string {
  const raw = t.slice(i + 1, end - 1)
  return raw.includes('\\') ? (JSON.parse(t.slice(i, end)) as string) : raw
}

/** The offset after the value that starts at `i`. */
function valueEnd(t: string, i: number): number {
  const c = t.charCodeAt(i)
  if (c === QUOTE) return stringEnd(t, i)
  if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
    let depth = 0
    for (let j = i; j < t.length; j++) {
      const d = t.charCodeAt(j)
      if (d === QUOTE) j = stringEnd(t, j) - 1
      else if (d === OPEN_OBJECT || d === OPEN_ARRAY) depth++
      else if ((d === CLOSE_OBJECT || d === CLOSE_ARRAY) && --depth === 0) return j + 1
    }
    return t.length
  }
  let j = i // a number, true, false or null
  while (j < t.length) {
    const d = t.charCodeAt(j)
    if (d === COMMA || d === CLOSE_OBJECT || d === CLOSE_ARRAY || isSpace(d)) break
    j++
  }
  return j
}

/** One member of a container: where its key (objects only) and its value start. */
interface Member {
  readonly key: number | undefined
  readonly value: number
}

/**
 * A `yaml` LineCounter holding every line start of `text` (after each LF), so that its
 * `linePos(offset)` gives the 1-based line and column (UTF-16 code units) of any offset, whatever
 * the parser made of the text. (The counter the `yaml` parser fills itself misses the line
 * breaks inside a multi-line plain scalar it did not expect, so its positions after one are
 * lines too early: test/core/yaml-source.test.ts.)
 */
export function lineCounterOf(text: string): LineCounter {
  const lines = new LineCounter()
  lines.addNewLine(0)
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines.addNewLine(i + 1)
  return lines
}

/**
 * Locates paths in one JSON text. The members of every container a path goes through are listed
 * once and kept, so locating many paths in one large array (a diagnostic per pod) costs one scan
 * of that array, not one per path.
 */
export class JsonLocator {
  private readonly members = new Map<number, Map<string, Member> | Member[]>()
  private lines: LineCounter | undefined

  constructor(private readonly text: string) {}

  /**
   * The offset of the value at `path` (its first character), or of the key of the last segment
   * when `target` is `'key'`; a `null` value is located at its key. When the path does not fully
   * exist, the deepest existing value is used (a missing field points at the object that lacks
   * it), as {@link YamlDoc.loc} does.
   */
  offset(path: readonly (string | number)[], target: 'value' | 'key' = 'value'): number {
    const t = this.text
    let at = skipSpace(t, 0)
    let key: number | undefined
    let complete = true
    for (const seg of path) {
      const list = this.membersOf(at)
      const m = Array.isArray(list)
        ? typeof seg === 'number'
          ? list[seg]
          : undefined
        : list?.get(String(seg))
      if (m === undefined) {
        complete = false
        break
      }
      key = m.key
      at = key !== undefined && t.startsWith('null', m.value) ? key : m.value
    }
    return target === 'key' && complete && key !== undefined ? key : at
  }

  /** 1-based line and column (UTF-16 code units) of an offset, by `yaml`'s LineCounter. */
  linePos(offset: number): { line: number; col: number } {
    this.lines ??= lineCounterOf(this.text)
    return this.lines.linePos(offset)
  }

  /**
   * The text of the number or `true`/`false` at `path` as written (`1.10`, which JSON.parse reads
   * as 1.1); undefined when the value there is none of these.
   */
  scalarSource(path: readonly (string | number)[]): string | undefined {
    const at = this.offset(path)
    return /^[-\dtf]/.test(this.text.charAt(at))
      ? this.text.slice(at, valueEnd(this.text, at))
      : undefined
  }

  private membersOf(at: number): Map<string, Member> | Member[] | undefined {
    const known = this.members.get(at)
    if (known !== undefined) return known
    const t = this.text
    const c = t.charCodeAt(at)
    if (c !== OPEN_OBJECT && c !== OPEN_ARRAY) return undefined
    const close = c === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY
    const byKey = new Map<string, Member>()
    const byIndex: Member[] = []
    let j = skipSpace(t, at + 1)
    while (j < t.length && t.charCodeAt(j) !== close) {
      if (c === OPEN_OBJECT) {
        const keyEnd = stringEnd(t, j)
        let v = skipSpace(t, keyEnd)
        if (t.charCodeAt(v) === COLON) v = skipSpace(t, v + 1)
        byKey.set(stringText(t, j, keyEnd), { key: j, value: v })
        j = v
      } else byIndex.push({ key: undefined, value: j })
      j = skipSpace(t, valueEnd(t, j))
      if (t.charCodeAt(j) === COMMA) j = skipSpace(t, j + 1)
    }
    const list = c === OPEN_OBJECT ? byKey : byIndex
    this.members.set(at, list)
    return list
  }
}

/**
 * The first key that an object of `text` repeats (JSON.parse keeps the last silently; RFC 8259
 * §4: names "SHOULD be unique"), with the offset of the repetition; undefined when none.
 * One pass over the text.
 */
export function jsonRepeatedKey(text: string): { key: string; offset: number } | undefined {
  // per open container: the keys seen (objects) or null (arrays)
  const stack: (Set<string> | null)[] = []
  let expectKey = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      const end = stringEnd(text, i)
      const keys = stack[stack.length - 1]
      if (expectKey && keys) {
        const key = stringText(text, i, end)
        if (keys.has(key)) return { key, offset: i }
        keys.add(key)
      }
      expectKey = false
      i = end - 1
    } else if (c === OPEN_OBJECT) {
      stack.push(new Set())
      expectKey = true
    } else if (c === OPEN_ARRAY) {
      stack.push(null)
      expectKey = false
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      stack.pop()
      expectKey = false
    } else if (c === COMMA) {
      expectKey = stack[stack.length - 1] != null
    }
  }
  return undefined
}
