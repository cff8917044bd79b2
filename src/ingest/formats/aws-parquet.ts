/**
 * @module AWS VPC Flow Logs delivered to S3 as Apache Parquet (the flow log's "Log file format:
 * Parquet" option): read with DuckDB's `read_parquet`, each row handed to the text reader
 * ({@link AwsLineReader}) as the line it would be in the plain-text format, so validation,
 * NODATA/SKIPDATA, skips and notes are exactly the text format's.
 *
 * Columns are the flow log's fields, in the format's order; AWS and Athena spell them with `_`
 * (`account_id`), which reads as `-`. Only the file's columns are read: the `key=value` folders
 * of a Hive-compatible S3 prefix (`…/aws-account-id=…/year=2026/month=03/…`) are not. A Parquet
 * file is not a stream: it is read from its path (its index is at the end), one DuckDB chunk
 * (2 048 rows) at a time, so memory stays bounded.
 * `source.line` of a flow is its 1-based row number in the file.
 * @remarks Field names and Parquet types: AWS VPC User Guide, "Flow log records" (available
 * fields, "Parquet data type") and "Flow log files" (log file format).
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { DuckDBValue } from '@duckdb/node-api'
import { BulkheadError, type Flow } from '../../core/index.js'
import { isRegularFile } from '../lines.js'
import { flowGiven, type ParseContext } from '../types.js'
import { AwsLineReader, parseAwsFieldList } from './aws-vpc.js'

/** The magic number at the start (and end) of a Parquet file. */
const PAR1 = [0x50, 0x41, 0x52, 0x31]

/**
 * True when `file` starts with the Parquet magic `PAR1`; false for anything else, including a
 * file that cannot be read (reading it then reports why).
 */
export function isParquetFile(file: string): boolean {
  // standard input, a pipe or a FIFO can be read only once: never Parquet here
  if (file === '-' || !isRegularFile(file)) return false
  // four bytes read synchronously: an open, a read and a close on the thread pool cost more
  let fd: number | undefined
  try {
    fd = openSync(file, 'r')
    const head = Buffer.alloc(4)
    const bytesRead = readSync(fd, head, 0, 4, 0)
    return bytesRead === 4 && PAR1.every((b, i) => head[i] === b)
  } catch {
    return false
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/**
 * One Parquet cell as the token the text format writes: `-` for a field without a value, which
 * Parquet gives as NULL or, as tools that rewrite flow logs write it, an empty (or blank) string.
 * A row becomes a line split at white space, so an empty token would shift every later column
 * and lose the row as `field-count`.
 */
function cellToken(v: DuckDBValue): string {
  if (v === null) return '-'
  const text = String(v)
  return text.trim() === '' ? '-' : text
}

/** What DuckDB's file readers take for glob syntax in a path (`*`, `**`, `?`, `[…]`). */
const GLOB_CHARACTERS = /[*?[]/

/**
 * A symbolic link named `flows.parquet`, in a new folder of the system's temporary folder, to
 * `file`, and how to remove both.
 * @throws the file system's errors (reading the file then fails as it would have).
 */
function plainLink(file: string): { path: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-parquet-'))
  const link = path.join(dir, 'flows.parquet')
  symlinkSync(path.resolve(file), link)
  return { path: link, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/**
 * The flows of an AWS VPC flow log in Parquet, in row order, unpaired (as the text reader gives
 * them). Rows that are not flows are counted in `ctx.stats` as the text reader counts them.
 * `onProgress` is called with the share of the file's rows read (0–1), once per chunk.
 * @throws BulkheadError `ingest/unknown-format` when the columns are not AWS flow log fields
 *   (with `srcaddr` and `dstaddr`); `ingest/truncated-input` when DuckDB cannot read the file
 *   (a cut or corrupt Parquet file), after yielding the rows read before.
 */
export async function* readAwsParquet(
  file: string,
  ctx: ParseContext,
  onProgress?: (fractionRead: number) => void,
): AsyncGenerator<Flow> {
  const { DuckDBInstance } = await import('@duckdb/node-api')
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' })
  const conn = await instance.connect()
  const unreadable = (err: unknown): BulkheadError =>
    new BulkheadError(
      [
        {
          code: 'ingest/truncated-input',
          severity: 'fatal',
          message: `cannot read ${file} as Parquet: ${err instanceof Error ? err.message : String(err)}`,
          location: { file, line: 0, column: 0 },
          hint: 'the file may be cut short or corrupt; fetch it again',
        },
      ],
      { cause: err },
    )
  let link: { path: string; remove: () => void } | undefined
  try {
    let result
    let total: number
    try {
      // DuckDB reads the path as a glob: a name with `*`, `?` or `[` would read its siblings too
      // (`a*b.parquet` read `azzb.parquet` as well); such a file is read through a link
      link = GLOB_CHARACTERS.test(file) ? plainLink(file) : undefined
      const readable = link?.path ?? file
      // rows in the file (from its footer), for progress; asked first, as a query on the
      // connection ends the result being streamed
      const meta = await conn.runAndReadAll('SELECT sum(num_rows) FROM parquet_file_metadata($1)', [
        readable,
      ])
      total = Number(meta.getRows()[0]?.[0] ?? 0)
      // the file's own columns only: DuckDB would add the `key=value` folders of a path as
      // columns, and AWS's Hive-compatible S3 prefixes (`aws-account-id=…/year=2026/…`) have them
      result = await conn.stream('SELECT * FROM read_parquet($1, hive_partitioning = false)', [
        readable,
      ])
    } catch (err) {
      throw unreadable(err)
    }
    const columns = result.columnNames()
    const names = parseAwsFieldList(columns.join(' '))
    if (names === undefined) {
      throw new BulkheadError([
        {
          code: 'ingest/unknown-format',
          severity: 'fatal',
          message: `${file} is a Parquet file whose columns are not AWS VPC flow log fields: ${columns.join(', ')}`,
          location: { file, line: 0, column: 0 },
          hint: 'Parquet is read as an AWS VPC flow log; it needs at least srcaddr and dstaddr',
        },
      ])
    }
    const reader = new AwsLineReader({ ...ctx, fields: names.join(' ') })
    let row = 0
    for (;;) {
      let chunk
      try {
        chunk = await result.fetchChunk()
      } catch (err) {
        throw unreadable(err)
      }
      if (chunk === null || chunk.rowCount === 0) break
      if (total > 0) onProgress?.(Math.min(1, (row + chunk.rowCount) / total))
      for (const values of chunk.getRows()) {
        row++
        const line = values.map(cellToken).join(' ')
        const f = flowGiven(ctx.stats, reader.line(line, row))
        if (f !== undefined) yield f
      }
    }
  } finally {
    conn.closeSync()
    instance.closeSync()
    link?.remove()
  }
}
