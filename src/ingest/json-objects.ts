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
