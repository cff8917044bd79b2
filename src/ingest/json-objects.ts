/**
 * @module JSON flow records in text: top-level objects from text read line by line, whatever the
 * layout (one per line, pretty-printed, in a top-level array), and where a broken document broke.
 */

/** A complete top-level JSON object's text and the line it starts on. */
export interface RawRecord {
  readonly text: string
  readonly line: number
}

/**
 * Splits JSON text, fed line by line, into its top-level objects, so that the parser reads the
 * three shapes JSON flow records come in: one object per line (Cloud Logging sinks, Pub/Sub,
 * BigQuery exports, `hubble observe -o json`), pretty-printed objects over several lines (the
 * GCP console's "Copy as JSON", vendors' documentation, `… | jq .`), and a pretty-printed
 * top-level array of objects (`gcloud logging read --format=json`).
 *
 * - A line that is a whole object (`{` … `}`) is taken as is, without scanning (the JSON-lines
 *   fast path).
 * - Otherwise the line is scanned (strings and escapes respected). Between objects, blanks, `[`,
 *   `]` and `,` are skipped; anything else is handed on as a record (the line, or its rest after
 *   an object), which the parser then skips as `bad-json` or `no-connection`. An object that does not end
 *   on its first line continues on the next lines only when nothing follows its `{` on that line
 *   (pretty-printing); otherwise the line is a broken JSON line (`bad-json`) and the next line
 *   starts afresh.
 * - An object longer than `maxRecord` characters is `record-too-large`; one still open at the
 *   end of the input is `bad-json`.
 */
export class JsonObjectSplitter {
  private parts: string[] = []
  private size = 0
  private depth = 0
  private inString = false
  private escaped = false
  private startLine = 0
  private tooLarge = false
  constructor(
    private readonly maxRecord: number,
    private readonly onRecord: (r: RawRecord) => void,
    private readonly onBad: (reason: string, line: number, text: string) => void,
  ) {}

  /** Feeds one line (without its terminator), `lineNo` 1-based. */
  line(text: string, lineNo: number): void {
    if (this.depth === 0) {
      const t = text.trim()
      if (t === '') return
      if (t.charCodeAt(0) === 123 && t.charCodeAt(t.length - 1) === 125) {
        this.onRecord({ text: t, line: lineNo })
        return
      }
    }
    this.scan(text, lineNo)
  }

  /** Ends the input: an object still open is `bad-json`. */
  end(): void {
    if (this.depth > 0) {
      this.onBad(
        'bad-json',
        this.startLine,
        `unterminated JSON object: ${this.parts.join('').slice(0, 120)}`,
      )
      this.reset()
    }
  }

  private reset(): void {
    this.parts = []
    this.size = 0
    this.depth = 0
    this.inString = false
    this.escaped = false
    this.tooLarge = false
  }

  private scan(text: string, lineNo: number): void {
    const n = text.length
    let recStart = this.depth > 0 ? 0 : -1
    let openedHere = false
    let done = false
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i)
      if (this.depth === 0) {
        if (c === 123) {
          this.depth = 1
          this.inString = false
          this.escaped = false
          this.startLine = lineNo
          recStart = i
          openedHere = true
        } else if (!(
          c === 32 ||
          c === 9 ||
          c === 13 ||
          c === 44 ||
          c === 91 ||
          c === 93 ||
          c === 0xfeff
        )) {
          // not an object: the parser reads the line (or its rest) and says why it is no flow
          this.onRecord({ text: (done ? text.slice(i) : text).trim(), line: lineNo })
          return
        }
        continue
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false
        else if (c === 92) this.escaped = true
        else if (c === 34) this.inString = false
      } else if (c === 34) this.inString = true
      else if (c === 123 || c === 91) this.depth++
      else if ((c === 125 || c === 93) && --this.depth === 0) {
        const piece = text.slice(recStart, i + 1)
        const whole = this.parts.length > 0 ? this.parts.join('') + piece : piece
        const line = this.startLine
        const tooLarge = this.tooLarge || whole.length > this.maxRecord
        this.reset()
        if (tooLarge) this.onBad('record-too-large', line, whole.slice(0, 200))
        else this.onRecord({ text: whole, line })
        recStart = -1
        openedHere = false
        done = true
      }
    }
    if (this.depth === 0) return
    if (openedHere && text.slice(recStart + 1).trim() !== '') {
      // a JSON line cut short: only a pretty-printed object's first line ends right after `{`
      this.reset()
      this.onBad('bad-json', lineNo, text)
      return
    }
    if (this.tooLarge) return
    const rest = recStart > 0 ? text.slice(recStart) : text
    this.size += rest.length + 1
    if (this.size > this.maxRecord) {
      this.tooLarge = true
      this.parts = []
      return
    }
    this.parts.push(rest, '\n')
  }
}

/**
 * Where in `text` V8's `JSON.parse` error `message` says it broke, in UTF-16 units: its
 * `at position N`; for "Unexpected end of JSON input", the end; for `Unexpected token …,
 * ..."SNIPPET"... is not valid JSON` (SNIPPET is the text 10 characters either side, `...`
 * outside the quotes where cut), the one place where that snippet occurs with the token in its
 * place. Undefined when it cannot be told.
 */
export function jsonErrorOffset(message: string, text: string): number | undefined {
  const at = /position (\d+)/.exec(message)
  if (at) return Number(at[1])
  if (message.startsWith('Unexpected end of JSON input')) return text.length
  const m = /^Unexpected token '(.)', (\.\.\.)?"([\s\S]*)"(?:\.\.\.)? is not valid JSON$/.exec(
    message,
  )
  if (!m) return undefined
  const token = m[1] ?? ''
  const lead = m[2] !== undefined
  const snippet = m[3] ?? ''
  if (snippet === '') return undefined
  // the token sits 10 characters into a snippet cut at its start, else where the snippet holds it
  const found: number[] = []
  for (let i = text.indexOf(snippet); i >= 0; i = text.indexOf(snippet, i + 1)) {
    const p = lead ? i + 10 : i + snippet.indexOf(token)
    if (text[p] === token) found.push(p)
    if (found.length > 1) return undefined
  }
  return found[0]
}

/** A record complete before the cut of a JSON document ({@link cutJsonRecords}). */
export interface CutRecord {
  /** Its text is `text.slice(start, end)`: one whole JSON value. */
  readonly start: number
  readonly end: number
  /** Nesting of its records array: 0 for the document's own, 1 inside a record of those, … */
  readonly depth: number
}

/** What {@link cutJsonRecords} finds in a JSON document cut short. */
export interface CutJson {
  /** The records complete before the cut, in document order. */
  readonly records: readonly CutRecord[]
  /** Where the record the cut falls in begins (UTF-16 offset); undefined when none had begun. */
  readonly cutRecordAt: number | undefined
}

/** One open container of the document being scanned. */
interface Frame {
  readonly array: boolean
  /** An array of records: the depth of its records; else −1. */
  readonly recordsDepth: number
  /** An object whose `records` array holds records of this depth; else −1. */
  readonly holdsDepth: number
  /**
   * Object: 0 after `{`, 1 after a key, 2 after `:`, 3 after a value, 4 after `,`.
   * Array: 0 after `[`, 2 after `,`, 3 after a value.
   */
  state: number
  /** Object: its last key. */
  key: string
  /** Object: its `records` array has begun. */
  hasRecords: boolean
  /** Array of records: where its element being read began, or −1 between elements. */
  elemStart: number
  /** The records complete inside this container (for an array of records: its elements). */
  salvage: CutRecord[]
}

const WS = /[ \t\n\r]*/y
// eslint-disable-next-line no-control-regex -- JSON strings may not hold control characters
const STRING_RUN = /[^"\\\u0000-\u001f]*/y
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y
/** What a number cut at the end of the text may be: a beginning of {@link NUMBER}. */
const NUMBER_PREFIX = /^-?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?(?:[eE][+-]?[0-9]*)?)?$/

/** Azure's: the key of the array of records ({@link cutJsonRecords}). */
const RECORDS_KEY: ReadonlySet<string> = new Set(['records'])

/**
 * The records of a JSON document that was cut short (a blob downloaded while being written, a
 * failed copy): when `text` is the beginning of a JSON document and not the whole of one — every
 * token up to its end valid JSON (RFC 8259), the end inside a value — the records complete
 * before the end; undefined when `text` is not such a beginning (a broken document: a token that
 * no continuation makes JSON) or is a whole document.
 *
 * Records are read as Azure flow-log blobs hold them: the elements of the document's `records`
 * array (or of a top-level array), and, for an element that is itself `{"records": [...]}` and
 * less than `maxNesting` deep, the elements of its `records` array instead. `keys` names the
 * arrays of records instead of `records` (CloudWatch Logs: `events`, `logEvents`). A record is complete
 * when its closing `}` (or the end of its value) is before the cut; the record the cut falls in
 * is not among them, however much of it was written.
 *
 * Why a scanner of our own: the streaming parser @streamparser/json 0.0.26 was tried in its
 * place (2026-11-22) and needed six workarounds for text that ends inside a token (it checks
 * no string, number or word cut short where it stands, emits no partial token after `\` or a
 * number's `-`, `.` or `e`, swallows a misplaced partial number's error, takes any partial token
 * where a key is due, skips a byte order mark), on top of the same record tracking: more code
 * than this scanner, and less plain. Tested against `JSON.parse` on broken and cut documents.
 */
export function cutJsonRecords(
  text: string,
  maxNesting: number,
  keys: ReadonlySet<string> = RECORDS_KEY,
): CutJson | undefined {
  const stack: Frame[] = []
  /** Where each open container began. */
  const starts: number[] = []
  /** The top-level value has ended. */
  const doc = { done: false }
  let i = 0
  const n = text.length
  const skipWs = (): void => {
    WS.lastIndex = i
    WS.exec(text)
    i = WS.lastIndex
  }
  /** Scans a string from its opening quote at `i`: true when it closes, false at the end; undefined when invalid. */
  const scanString = (): boolean | undefined => {
    i++
    for (;;) {
      STRING_RUN.lastIndex = i
      STRING_RUN.exec(text)
      i = STRING_RUN.lastIndex
      if (i >= n) return false
      const c = text.charCodeAt(i)
      if (c === 0x22) {
        i++
        return true
      }
      if (c !== 0x5c) return undefined // a control character
      // an escape: \" \\ \/ \b \f \n \r \t or \uXXXX
      if (i + 1 >= n) return false
      const e = text[i + 1] ?? ''
      if ('"\\/bfnrt'.includes(e)) {
        i += 2
        continue
      }
      if (e !== 'u') return undefined
      const hex = text.slice(i + 2, i + 6)
      if (!/^[0-9a-fA-F]*$/.test(hex)) return undefined
      if (hex.length < 4) return false
      i += 6
    }
  }
  /** A value ended at `i` (after `closed`, the container it was). */
  const valueDone = (start: number, closed?: Frame): void => {
    const parent = stack.at(-1)
    if (parent === undefined) {
      doc.done = true
      return
    }
    if (parent.recordsDepth >= 0) {
      parent.salvage.push({ start, end: i, depth: parent.recordsDepth })
      parent.elemStart = -1
    } else if (closed !== undefined && closed.salvage.length > 0)
      parent.salvage.push(...closed.salvage)
    parent.state = 3
  }
  /** Reads the value starting at `i`; false when the text ends inside it; undefined when invalid. */
  const value = (): boolean | undefined => {
    const parent = stack.at(-1)
    if (parent !== undefined && parent.recordsDepth >= 0) parent.elemStart = i
    const start = i
    const c = text[i]
    if (c === '{' || c === '[') {
      const array = c === '['
      let recordsDepth = -1
      let holdsDepth = -1
      if (parent === undefined) {
        if (array) recordsDepth = 0
        else holdsDepth = 0
      } else if (parent.recordsDepth >= 0) {
        if (!array && parent.recordsDepth < maxNesting) holdsDepth = parent.recordsDepth + 1
      } else if (array && !parent.array && keys.has(parent.key) && parent.holdsDepth >= 0) {
        recordsDepth = parent.holdsDepth
        parent.hasRecords = true
      }
      stack.push({
        array,
        recordsDepth,
        holdsDepth,
        state: 0,
        key: '',
        hasRecords: false,
        elemStart: -1,
        salvage: [],
      })
      starts.push(start)
      i++
      return true
    }
    if (c === '"') {
      const closed = scanString()
      if (closed !== true) return closed
    } else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i
      const m = NUMBER.exec(text)
      const end = NUMBER.lastIndex
      // a whole number ends at a delimiter; else it is cut at the end of the text, or invalid
      if (m === null || end >= n || !' \t\n\r,]}'.includes(text.charAt(end)))
        return NUMBER_PREFIX.test(text.slice(i)) ? false : undefined
      i = end
    } else {
      const word = c === 't' ? 'true' : c === 'f' ? 'false' : c === 'n' ? 'null' : undefined
      if (word === undefined) return undefined
      const got = text.slice(i, i + word.length)
      if (!word.startsWith(got)) return undefined
      if (got.length < word.length) return false
      i += word.length
    }
    valueDone(start)
    return true
  }
  /** Closes the container at the top of the stack (its `}` or `]` at `i`). */
  const close = (): true => {
    const closed = stack.pop()
    const start = starts.pop() ?? 0
    i++
    valueDone(start, closed)
    return true
  }
  while (i < n) {
    skipWs()
    if (i >= n) break
    const f = stack.at(-1)
    const c = text[i]
    let ok: boolean | undefined = true
    if (f === undefined) {
      if (doc.done) return undefined // text after the document
      ok = value()
    } else if (!f.array && (f.state === 0 || f.state === 4)) {
      if (c === '}' && f.state === 0) ok = close()
      else if (c === '"') {
        const keyStart = i
        ok = scanString()
        if (ok === true) {
          const raw = text.slice(keyStart, i)
          f.key = raw.includes('\\') ? String(JSON.parse(raw)) : raw.slice(1, -1)
          f.state = 1
        }
      } else ok = undefined
    } else if (!f.array && f.state === 1) {
      if (c !== ':') return undefined
      f.state = 2
      i++
    } else if (f.state === 3) {
      if (c === ',') {
        f.state = f.array ? 2 : 4
        i++
      } else if (c === (f.array ? ']' : '}')) ok = close()
      else ok = undefined
    } else if (f.array && f.state === 0 && c === ']') ok = close()
    else ok = value()
    if (ok === undefined) return undefined
    if (!ok) break
  }
  if (doc.done) return undefined // a whole document
  const records = stack.flatMap((f) => f.salvage)
  let cutRecordAt: number | undefined
  for (let k = stack.length - 1; k >= 0; k--) {
    const f = stack[k]
    if (f === undefined || f.recordsDepth < 0) continue
    const child = stack[k + 1]
    if (f.elemStart >= 0 && !(child !== undefined && child.hasRecords)) cutRecordAt = f.elemStart
    break
  }
  return { records, cutRecordAt }
}
