/**
 * @module The half that the byte-level column readers (AWS VPC, Zeek TSV) share: each line of a
 * block is read straight from bytes when it has the format's plain shape, and handed to the
 * format's line reader as text otherwise, so flows, skips, examples and notes are the line
 * reader's; lines that are too long are counted as {@link splitLineBatches} counts them.
 */
import type { FlowColumns } from './columnar.js'
import { checkAddressFamilies } from './direction.js'
import { finishDecodedLine } from './lines.js'
import { flowGiven, skip, type LineReader, type ParseContext } from './types.js'

/** A format's byte-level reader into {@link FlowColumns}, over the blocks of `splitLineBlocks`. */
export abstract class ColumnLineReader {
  /** The line reader behind the slow path (and the header state the fast path follows). */
  abstract readonly lines: LineReader

  constructor(
    readonly ctx: ParseContext,
    /** The longest line accepted, in bytes of UTF-8 (`line-too-long` beyond). */
    protected readonly maxLineBytes: number,
  ) {}

  /**
   * Reads the plain-shape line `buf[a, e)` (no terminator) into `out`; false, with nothing
   * recorded, when the line is not plain and must go to the line reader.
   */
  protected abstract fastLine(
    buf: Buffer,
    a: number,
    e: number,
    lineNo: number,
    out: FlowColumns,
  ): boolean

  /** Follows the line reader's header state after it took a line. */
  protected abstract sync(): void

  /** True when a line of `buf` may be too long (its decoded UTF-8 is at most 3 bytes per byte). */
  mayHoldLongLines(buf: Buffer): boolean {
    return buf.length * 3 > this.maxLineBytes
  }

  /**
   * Counts (as `line-too-long`) the lines of `buf` (numbered from `lineNo + 1`) that are too
   * long, as splitting does before any line of its batch is read, and returns their numbers
   * for {@link block} to pass over, with the number of the last line.
   */
  longLines(buf: Buffer, lineNo: number): { lineNo: number; long: Set<number> } {
    const long = new Set<number>()
    let pos = 0
    while (pos < buf.length) {
      const e = buf.indexOf(10, pos)
      lineNo++
      if ((e - pos) * 3 > this.maxLineBytes) {
        if (finishDecodedLine(buf.toString('utf8', pos, e), this.maxLineBytes) === undefined) {
          long.add(lineNo)
          this.tooLong(lineNo)
        }
      }
      pos = e + 1
    }
    return { lineNo, long }
  }

  private tooLong(lineNo: number): void {
    skip(
      this.ctx,
      'line-too-long',
      `${this.ctx.file}:${lineNo}`,
      `(line longer than ${this.maxLineBytes} bytes)`,
    )
  }

  /**
   * Reads the LF-terminated lines of `buf` (numbered from `lineNo + 1`) into `out`; the lines
   * in `long` were counted by {@link longLines} already and are passed over.
   * @returns the number of the last line read.
   */
  block(buf: Buffer, lineNo: number, out: FlowColumns, long?: ReadonlySet<number>): number {
    let pos = 0
    const n = buf.length
    while (pos < n) {
      const e = buf.indexOf(10, pos)
      lineNo++
      if (long?.has(lineNo) === true) {
        // counted by longLines
      } else if (!this.fastLine(buf, pos, e, lineNo, out))
        this.text(buf.toString('utf8', pos, e), lineNo, out)
      pos = e + 1
    }
    return lineNo
  }

  /** One decoded line, as reading lines would give it to the line reader. */
  text(raw: string, lineNo: number, out: FlowColumns): void {
    const line = finishDecodedLine(raw, this.maxLineBytes)
    if (line === undefined) {
      this.tooLong(lineNo)
      return
    }
    // as reading's object path does with each record (read.ts `take`): the notes its parser
    // made about its flow ride on its row (`FlowColumns.notes`), counted when the row is given
    // out; a record skipped here takes them with it
    const f = flowGiven(this.ctx.stats, this.lines.line(line, lineNo))
    if (f !== undefined && !checkAddressFamilies(this.ctx, f)) out.pushFlow(f)
    this.sync()
  }
}

/**
 * The canonical dotted quad in `buf[a, b)` as a uint32 (first octet most significant), or -1
 * for anything else (leading zeros, octets above 255, other characters): such text goes to the
 * line reader, which decides what it is.
 */
export function ipv4At(buf: Buffer, a: number, b: number): number {
  let v = 0
  let octet = 0
  let digits = 0
  let first = 0
  let dots = 0
  for (let j = a; j < b; j++) {
    const c = buf[j] as number
    if (c === 46) {
      if (digits === 0 || octet > 255 || (digits > 1 && first === 0)) return -1
      v = v * 256 + octet
      dots++
      digits = 0
      octet = 0
    } else {
      const d = c - 48
      if (d < 0 || d > 9 || digits === 3) return -1
      if (digits === 0) first = d
      octet = octet * 10 + d
      digits++
    }
  }
  if (dots !== 3 || digits === 0 || octet > 255 || (digits > 1 && first === 0)) return -1
  return v * 256 + octet
}
