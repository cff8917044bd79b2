/**
 * @module Inventory from CSV: one workload per row, columns `name`, `addresses`, `labels`.
 *
 * ```csv
 * name,addresses,labels
 * pay-api-1,10.20.1.11;2001:db8::11,role=api;app=payments;env=prod
 * "batch, nightly","10.30.0.7 10.30.0.8","role=batch"
 * ```
 *
 * @remarks Syntax: RFC 4180 (comma-separated, `"`-quoted fields with `""` for a quote, CRLF or
 * LF line ends, quoted fields may span lines). Semantics: DESIGN.md "Workspace, inventory and
 * enforcement files" (labels, addresses, `source:csv` label origin).
 */
import {
  checkLabelKey,
  checkLabelValue,
  diagnostic,
  formatLocationFrom,
  labelSet,
  normalizeIp,
  type Diagnostic,
  type LabelOrigin,
  type SourceLocation,
  type TimedAddress,
  type Workload,
} from '../../core/index.js'
import type { SourceFile } from '../../core/yaml-source.js'

/** The label origin recorded for labels read from CSV. */
export const CSV_ORIGIN: LabelOrigin = 'source:csv'

/** The columns of an inventory CSV file. `name` and `addresses` are required, `labels` optional. */
export const CSV_COLUMNS = ['name', 'addresses', 'labels'] as const

/** One field of a CSV record: its unquoted text and the file offset of each of its characters. */
interface Field {
  readonly text: string
  /** `offsets[i]` is the offset in the file of `text[i]`; `start` is the field's first character. */
  readonly offsets: readonly number[]
  readonly start: number
}

/** Converts file offsets to 1-based line and column. */
class Lines {
  private readonly starts: number[] = [0]
  constructor(
    readonly file: string,
    text: string,
  ) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1)
  }
  loc(offset: number): SourceLocation {
    let lo = 0
    let hi = this.starts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if ((this.starts[mid] as number) <= offset) lo = mid
      else hi = mid - 1
    }
    return { file: this.file, line: lo + 1, column: offset - (this.starts[lo] as number) + 1 }
  }
}

/**
 * Splits RFC 4180 text into records of fields, from offset `start` (past a BOM and a `sep=` line). A quote inside an unquoted field is taken
 * literally; text after a closing quote and before the next comma, and an unterminated quoted
 * field, are `inventory/malformed-csv` (the record is dropped). Blank lines, and records whose
 * every field is empty or white space (`,,`, `"",""`), are skipped.
 */
function parseRecords(text: string, lines: Lines, sink: Diagnostic[], start: number): Field[][] {
  const records: Field[][] = []
  let i = start
  const n = text.length
  while (i < n) {
    const fields: Field[] = []
    let bad = false
    for (;;) {
      const start = i
      let value = ''
      const offsets: number[] = []
      if (text[i] === '"') {
        i++
        let closed = false
        while (i < n) {
          if (text[i] === '"') {
            if (text[i + 1] === '"') {
              value += '"'
              offsets.push(i)
              i += 2
              continue
            }
            closed = true
            i++
            break
          }
          value += text.charAt(i)
          offsets.push(i)
          i++
        }
        if (!closed) {
          sink.push(
            diagnostic(
              'inventory/malformed-csv',
              'a quoted field is never closed',
              lines.loc(start),
            ),
          )
          return records
        }
        if (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
          if (!bad)
            sink.push(
              diagnostic(
                'inventory/malformed-csv',
                'text after the closing quote of a field',
                lines.loc(i),
                { hint: 'write a quote inside a quoted field as ""' },
              ),
            )
          bad = true
          while (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') i++
        }
      } else {
        while (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
          value += text.charAt(i)
          offsets.push(i)
          i++
        }
      }
      fields.push({ text: value, offsets, start })
      if (i < n && text[i] === ',') {
        i++
        continue
      }
      break
    }
    if (text[i] === '\r') i++
    if (text[i] === '\n') i++
    // a blank line, or a row of empty fields (`,,`: Excel writes one for a row whose cells were
    // cleared, Export-Csv `"",""`), holds nothing
    const blank = fields.every((f) => f.text.trim() === '')
    if (!bad && !blank) records.push(fields)
  }
  return records
}

/** Splits `field` at runs of characters matching `sep`, keeping each token's file offset. */
function tokens(field: Field, sep: RegExp): { text: string; offset: number }[] {
  const out: { text: string; offset: number }[] = []
  let cur = ''
  let at = -1
  const flush = (): void => {
    if (cur !== '') out.push({ text: cur, offset: at })
    cur = ''
    at = -1
  }
  for (let i = 0; i < field.text.length; i++) {
    const ch = field.text[i] as string
    if (sep.test(ch)) flush()
    else {
      if (at < 0) at = field.offsets[i] ?? field.start
      cur += ch
    }
  }
  flush()
  return out
}

/** The hint for a file whose fields are separated by something else than commas. */
const COMMA_HINT = `save the file with commas between fields (Excel in some locales and PowerShell's -UseCulture write ";")`

/**
 * Excel's optional first line `sep=X`, which names the file's field separator X (case-insensitive,
 * alone on the line, as parsecsv-for-php reads it:
 * https://github.com/parsecsv/parsecsv-for-php/blob/master/src/Csv.php `_get_delimiter_from_sep_row`):
 * the separator and the offset where the next line starts; undefined when the file has none.
 */
function sepLine(text: string, from: number): { sep: string; next: number } | undefined {
  const m = /^sep=([^\r\n])(\r?\n|$)/i.exec(text.slice(from, from + 7))
  return m ? { sep: m[1] as string, next: from + m[0].length } : undefined
}

/** How a hint names a field separator: `";"`, `tabs`, `"|"`. */
function shownSeparator(sep: string): string {
  return sep === '\t' ? 'tabs' : JSON.stringify(sep)
}

/**
 * How a header cell names columns with another separator than a comma (`name;addresses`,
 * `name<TAB>addresses`): `";"` or `tabs`, as the hint names it; undefined when it does not.
 */
function otherSeparator(cell: string): string | undefined {
  for (const sep of [';', '\t']) {
    const parts = cell.split(sep).map((p) => p.trim())
    if (parts.length > 1 && parts.includes('name') && parts.includes('addresses'))
      return shownSeparator(sep)
  }
  return undefined
}

/**
 * Reads one inventory CSV file.
 *
 * - A first line `#TYPE ...` (Windows PowerShell's `Export-Csv` without `-NoTypeInformation`:
 *   https://learn.microsoft.com/powershell/module/microsoft.powershell.utility/export-csv) is
 *   skipped, as `Import-Csv` skips it.
 * - A first line `sep=,` (Excel's optional line naming the separator) is skipped; `sep=` with any
 *   other separator (`sep=;`) is `inventory/malformed-csv` at 1:1 with the hint to save the file
 *   comma-separated, and nothing of the file is read.
 * - The first record is the header: column names `name`, `addresses` (required) and `labels`
 *   (optional), in any order, case-insensitive. A missing required column is
 *   `schema/missing-field` at 1:1; an unknown or repeated column is `schema/unknown-field` /
 *   `schema/invalid-value` at its header cell. With a bad header nothing of the file is read.
 * - `addresses`: IPv4/IPv6 addresses separated by `;` or white space (or `,` inside a quoted
 *   field), canonicalised, repeats kept once; no time bounds (use YAML for IP reuse). A bad one is
 *   `inventory/bad-address` at its line:col.
 * - `labels`: `key=value` pairs separated by `;` (or `,` inside a quoted field). A pair without `=`, a bad key or value
 *   (core `checkLabelKey` / `checkLabelValue`), or a repeated key is `inventory/bad-label`.
 * - A record with a different number of fields than the header is `inventory/malformed-csv`.
 * - A row whose fields are all empty (`,,`, which Excel writes for a row whose cells were cleared)
 *   is skipped as a blank line is, without a diagnostic.
 * - An empty name in a row with other fields is `schema/missing-field`; a name already used in this file or in an earlier
 *   CSV file (`seen`) is `inventory/duplicate-workload`, `related` = the first.
 *
 * Rows with any error are left out (the caller refuses the whole load when any error is reported).
 * @param file - display path and text.
 * @param sink - receives diagnostics.
 * @param seen - names (and locations) from earlier CSV files of the same load; updated.
 * @returns the good rows as workloads whose every label has origin `source:csv`.
 */
export function readCsvInventory(
  file: SourceFile,
  sink: Diagnostic[],
  seen: Map<string, SourceLocation> = new Map(),
): Workload[] {
  const lines = new Lines(file.path, file.text)
  const bom = file.text.charCodeAt(0) === 0xfeff ? 1 : 0
  // Excel's `sep=X` line names the separator: skipped when it is a comma; another one would split
  // nothing here, so it is refused at once with the hint a ';' header gets
  const declared = sepLine(file.text, bom)
  if (declared && declared.sep !== ',') {
    const shown = shownSeparator(declared.sep)
    sink.push(
      diagnostic(
        'inventory/malformed-csv',
        `the first line "sep=${declared.sep === '\t' ? '<tab>' : declared.sep}" says the fields are separated by ${shown}, not commas`,
        lines.loc(0),
        { hint: COMMA_HINT },
      ),
    )
    return []
  }
  const records = parseRecords(file.text, lines, sink, declared ? declared.next : bom)
  // Windows PowerShell's Export-Csv / ConvertTo-CSV write `#TYPE <.NET type>` before the header
  // unless given -NoTypeInformation; Import-Csv skips it, and so do we
  const first = records[0]
  if (first?.length === 1 && /^#TYPE\s/.test(first[0]?.text ?? '')) records.shift()
  const header = records[0]
  if (!header) return []
  const column = new Map<string, number>()
  let headerOk = true
  header.forEach((f, i) => {
    const name = f.text.trim().toLowerCase()
    if (!(CSV_COLUMNS as readonly string[]).includes(name)) {
      const sep = otherSeparator(name)
      sink.push(
        diagnostic('schema/unknown-field', `unknown column "${f.text}"`, lines.loc(f.start), {
          hint:
            sep === undefined
              ? `the columns are ${CSV_COLUMNS.join(', ')}`
              : `the header is separated by ${sep}: ${COMMA_HINT}`,
        }),
      )
      headerOk = false
    } else if (column.has(name)) {
      sink.push(
        diagnostic('schema/invalid-value', `column "${name}" is repeated`, lines.loc(f.start)),
      )
      headerOk = false
    } else column.set(name, i)
  })
  for (const required of ['name', 'addresses']) {
    if (!column.has(required)) {
      sink.push(
        diagnostic('schema/missing-field', `missing column "${required}"`, lines.loc(0), {
          hint: `the first line must name the columns: ${CSV_COLUMNS.join(',')}`,
        }),
      )
      headerOk = false
    }
  }
  if (!headerOk) return []
  const nameCol = column.get('name') as number
  const addrCol = column.get('addresses') as number
  const labelCol = column.get('labels')

  const out: Workload[] = []
  for (const record of records.slice(1)) {
    const first = record[0] as Field
    const rowLoc = lines.loc(first.start)
    if (record.length !== header.length) {
      sink.push(
        diagnostic(
          'inventory/malformed-csv',
          `this row has ${record.length} fields; the header has ${header.length}`,
          rowLoc,
          { hint: 'quote a field that contains a comma' },
        ),
      )
      continue
    }
    let ok = true
    const nameField = record[nameCol] as Field
    const name = nameField.text.trim()
    const nameLoc = lines.loc(nameField.start)
    if (name === '') {
      sink.push(diagnostic('schema/missing-field', 'the workload name is empty', nameLoc))
      ok = false
    } else {
      const prior = seen.get(name)
      if (prior) {
        sink.push(
          diagnostic(
            'inventory/duplicate-workload',
            `workload "${name}" is defined twice`,
            nameLoc,
            {
              related: [prior],
              hint: `first defined at ${formatLocationFrom(prior, nameLoc)}; merge the two rows, or rename one`,
            },
          ),
        )
        ok = false
      } else seen.set(name, nameLoc)
    }

    const addresses: TimedAddress[] = []
    const held = new Set<string>()
    for (const t of tokens(record[addrCol] as Field, /[;,\s]/)) {
      const ip = normalizeIp(t.text)
      if (ip === undefined) {
        sink.push(
          diagnostic(
            'inventory/bad-address',
            `"${t.text}" is not an IPv4 or IPv6 address`,
            lines.loc(t.offset),
          ),
        )
        ok = false
      } else if (!held.has(ip)) {
        held.add(ip)
        addresses.push({ ip, location: lines.loc(t.offset) })
      }
    }

    const labels: Record<string, string> = {}
    if (labelCol !== undefined) {
      for (const t of tokens(record[labelCol] as Field, /[;,]/)) {
        const text = t.text.trim()
        if (text === '') continue
        const offset = t.offset + (t.text.length - t.text.trimStart().length)
        const eq = text.indexOf('=')
        const key = eq < 0 ? text : text.slice(0, eq).trim()
        const value = eq < 0 ? '' : text.slice(eq + 1).trim()
        const problem =
          eq <= 0
            ? `"${text}" is not key=value`
            : (checkLabelKey(key) ??
              checkLabelValue(value) ??
              (Object.hasOwn(labels, key) ? `label key "${key}" is repeated` : undefined))
        if (problem) {
          sink.push(diagnostic('inventory/bad-label', problem, lines.loc(offset)))
          ok = false
          continue
        }
        labels[key] = value
      }
    }
    if (!ok) continue
    const labelOrigins = Object.fromEntries(
      Object.keys(labels)
        .sort()
        .map((k) => [k, CSV_ORIGIN]),
    )
    out.push({ name, addresses, labels: labelSet(labels), labelOrigins, location: rowLoc })
  }
  return out
}
