/**
 * @module Streaming byte and line access to flow files: gzip detection, line splitting with a
 * bound on line length. Memory is constant in the file size.
 */
import { readFileSync, statSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { BulkheadError, ioDiagnostic } from '../core/index.js'
import { GzipError, gunzip } from './gunzip.js'

/**
 * `ingest/truncated-input` (a gzip member cut short or corrupt) thrown by {@link splitLineBlocks}
 * and the line splitters on it when the input ended inside a line: the same diagnostics, with
 * that unterminated line's text. A line reader drops it (a record cut short); a reader of one
 * JSON document reads what it holds, since a blob is often a single line (azure.ts).
 */
export class CutInputError extends BulkheadError {
  constructor(
    cause: BulkheadError,
    /** The text decoded after the last line break before the cut (UTF-8, U+FFFD for a split character). */
    readonly tail: string,
  ) {
    super(cause.diagnostics, { cause })
  }
}

/** Default bound on one line: 1 MiB. */
export const MAX_LINE_BYTES = 1 << 20

/**
 * Size of the read chunks, in bytes. 256 KiB read a 560 MB AWS file into the store about 4 %
 * faster than 64 KiB (median of five alternating runs of the built CLI: 4.14 → 3.99 s; fewer
 * reads and fewer steps through the async generators); 1 MiB was no faster, and makes every
 * block need the long-line pre-pass of the column readers (3 bytes per byte > the 1 MiB bound).
 */
const CHUNK_BYTES = 1 << 18

function ioError(file: string, err: unknown): BulkheadError {
  return new BulkheadError([ioDiagnostic(err, 'read', file, 'fatal')], { cause: err })
}

/**
 * True when `file` is a regular file (not standard input `-`, a pipe, a FIFO, a device or a
 * directory, nor missing): one that can be opened and read more than once.
 */
export function isRegularFile(file: string): boolean {
  if (file === '-') return false
  try {
    return statSync(file).isFile()
  } catch {
    return false
  }
}

/**
 * The bytes of `file` when it is a regular file of at most {@link CHUNK_BYTES}, read at once;
 * undefined for a larger file, standard input, a pipe or a FIFO (read as a stream).
 * @throws BulkheadError `io/not-found` / `io/read-failed` as the stream would.
 */
function smallFileBytes(file: string): Buffer | undefined {
  if (file === '-') return undefined
  let size: number
  try {
    const st = statSync(file)
    if (!st.isFile()) return undefined
    size = st.size
  } catch (err) {
    throw ioError(file, err)
  }
  if (size > CHUNK_BYTES) return undefined
  try {
    return readFileSync(file)
  } catch (err) {
    throw ioError(file, err)
  }
}

/** The raw byte chunks of a file (or stdin for `-`), counting bytes as they are read. */
async function* rawChunks(
  file: string,
  counter: { n: number },
  onBytes?: (n: number) => void,
): AsyncGenerator<Uint8Array> {
  // a regular file of at most one chunk in one read: reading ahead (its open, reads and close
  // on the thread pool) costs more than the read of a few kilobytes
  const whole = smallFileBytes(file)
  if (whole !== undefined) {
    counter.n = whole.length
    onBytes?.(counter.n)
    if (whole.length > 0) yield whole
    return
  }
  const chunks = file === '-' ? (process.stdin as AsyncIterable<Buffer>) : readAhead(file)
  try {
    for await (const chunk of chunks) {
      counter.n += chunk.length
      onBytes?.(counter.n)
      yield chunk
    }
  } catch (err) {
    if (err instanceof BulkheadError) throw err
    throw ioError(file, err)
  }
}

/**
 * The chunks of `file` ({@link CHUNK_BYTES} each, the last shorter), each in a buffer of its own,
 * the read of the next one started before a chunk is given out, so that the file is read while
 * its consumer works. A read stream started its next read only once the consumer had taken the
 * chunk and the promise jobs run meanwhile had ended, so the parser waited for each read: 175 ms
 * of 2.3 s reading 5 000 000 AWS records (CPU profile, 2026-11-25), 97 ms with this, and reading
 * them 2.31–2.37 → 2.23–2.27 s (three alternating runs each, from dist).
 * @throws the file system's errors (the caller makes them diagnostics).
 */
async function* readAhead(file: string): AsyncGenerator<Buffer> {
  const fh = await open(file, 'r')
  const read = (): Promise<Buffer> => {
    const p = fh
      .read(Buffer.allocUnsafeSlow(CHUNK_BYTES), 0, CHUNK_BYTES, null)
      .then((r) => r.buffer.subarray(0, r.bytesRead))
    // a read that fails while its chunk's consumer is still at work on the one before is no
    // unhandled rejection (Node would end the process): its error is thrown when it is awaited
    p.catch(() => undefined)
    return p
  }
  let next = read()
  try {
    for (;;) {
      const chunk = await next
      if (chunk.length === 0) return
      next = read()
      yield chunk
    }
  } finally {
    // a read still in flight (the consumer stopped early, or a read failed) ends before the close
    await next.catch(() => undefined)
    await fh.close()
  }
}

/** Callbacks of {@link openBytes}. */
export interface OpenBytesOptions {
  /** Called after each raw chunk with the total of *compressed* (on-disk) bytes read so far. */
  onBytes?: (compressedBytesRead: number) => void
  /**
   * Called once when bytes other than zero padding follow the last gzip member, with their
   * number and the compressed offset where they start; they are ignored, as gzip(1) does.
   */
  onTrailingBytes?: (count: number, offset: number) => void
}

/**
 * Opens a file (or `-` for stdin) as bytes, transparently gunzipping when the first bytes are
 * `1f 8b` (RFC 1952), including concatenated gzip members (as `cat a.gz b.gz` and S3 exports
 * produce) and trailing bytes after them (see {@link gunzip}), transcoding text with a UTF-16
 * byte order mark to UTF-8 (see `fromUtf16`), and writing the lone CR line endings of text as LF
 * (see {@link fromLoneCr}).
 *
 * @returns chunks of decompressed bytes, in order.
 * @throws BulkheadError `ingest/truncated-input` when a gzip member ends early or is corrupt,
 *   naming the file and the compressed byte offset reached — after yielding everything that
 *   decoded before it; `io/not-found` / `io/read-failed` when the file cannot be read.
 */
export async function* openBytes(
  file: string,
  opts: OpenBytesOptions = {},
): AsyncGenerator<Uint8Array> {
  yield* fromLoneCr(fromUtf16(openGunzipped(file, opts)))
}

/** How much of a stream {@link fromLoneCr} looks at to tell its line endings. */
const LINE_END_HEAD_BYTES = 1 << 16

/**
 * Text whose lines end in a lone CR (classic Mac OS, and some exports made there), with each CR
 * written as LF, so that every reader splits its lines; any other bytes unchanged. Told from the
 * head (the first 64 KiB, or the whole of a shorter stream): a CR and neither LF nor NUL. Flow
 * text always has a line break within its first lines, and binary formats (NetFlow datagrams,
 * pcap, Parquet) hold NUL bytes in their headers. One byte for one byte, so line numbers and
 * offsets stay those of the file.
 */
export async function* fromLoneCr(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const peek = await peekBytes(chunks, LINE_END_HEAD_BYTES)
  const head = peek.head.subarray(0, LINE_END_HEAD_BYTES)
  const loneCr = head.includes(0x0d) && !head.includes(0x0a) && !head.includes(0x00)
  try {
    for await (const c of peek.rest) {
      if (!loneCr) {
        yield c
        continue
      }
      const out = Uint8Array.from(c)
      for (let i = out.indexOf(0x0d); i !== -1; i = out.indexOf(0x0d, i + 1)) out[i] = 0x0a
      yield out
    }
  } finally {
    await peek.close()
  }
}

/**
 * Text that starts with a UTF-16 byte order mark (`FF FE` little-endian, `FE FF` big-endian:
 * what Windows PowerShell's `>` and `Out-File` write) as UTF-8 without the mark; any other bytes
 * unchanged. No flow format starts with those bytes (NetFlow datagrams start with `00`).
 * Invalid UTF-16 becomes U+FFFD.
 */
export async function* fromUtf16(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const it = chunks[Symbol.asyncIterator]()
  const state = { done: false }
  const next = async (): Promise<Uint8Array | undefined> => {
    const r = await it.next()
    if (r.done === true) state.done = true
    return r.done === true ? undefined : r.value
  }
  try {
    let head: Uint8Array = new Uint8Array(0)
    while (head.length < 2 && !state.done) {
      const c = await next()
      if (c !== undefined) head = head.length === 0 ? c : Buffer.concat([head, c])
    }
    const le = head[0] === 0xff && head[1] === 0xfe
    const be = head[0] === 0xfe && head[1] === 0xff
    if (!le && !be) {
      if (head.length > 0) yield head
      for (let c = await next(); c !== undefined; c = await next()) yield c
      return
    }
    // the decoder drops the byte order mark and keeps a split code unit between chunks
    const decoder = new TextDecoder(le ? 'utf-16le' : 'utf-16be')
    const utf8 = (text: string): Uint8Array => Buffer.from(text, 'utf8')
    yield utf8(decoder.decode(head, { stream: true }))
    for (let c = await next(); c !== undefined; c = await next())
      yield utf8(decoder.decode(c, { stream: true }))
    yield utf8(decoder.decode())
  } finally {
    // a consumer that stops early closes the stream under it (its file descriptor)
    if (!state.done) await it.return?.()
  }
}

/**
 * Reads chunks until at least `want` bytes (or the end, or an error) and gives them back as
 * `head` (all of them, concatenated), with `rest`: every chunk of the stream from the first,
 * the peeked ones included, then any error the peek met. So a stream read once (standard input,
 * a pipe, a FIFO) can be looked at and then parsed whole.
 */
export async function peekBytes(
  chunks: AsyncIterable<Uint8Array>,
  want: number,
): Promise<{
  head: Uint8Array
  /** True when the stream failed during the peek: `rest` ends with that error. */
  failed: boolean
  rest: AsyncIterable<Uint8Array>
  /** Closes the stream without reading `rest`. */
  close: () => Promise<void>
}> {
  const it = chunks[Symbol.asyncIterator]()
  const seen: Uint8Array[] = []
  let n = 0
  let done = false
  let failure: { error: unknown } | undefined
  try {
    while (n < want) {
      const r = await it.next()
      if (r.done === true) {
        done = true
        break
      }
      seen.push(r.value)
      n += r.value.length
    }
  } catch (error) {
    failure = { error }
  }
  async function* rest(): AsyncGenerator<Uint8Array> {
    try {
      yield* seen
      if (failure) throw failure.error
      if (!done) for (let r = await it.next(); r.done !== true; r = await it.next()) yield r.value
    } finally {
      // a consumer that stops early closes the stream
      if (!done && !failure) await it.return?.()
    }
  }
  const close = async (): Promise<void> => {
    if (!done && !failure) await it.return?.()
  }
  // one chunk (a small file is one) is the head as it is: copying it took three copies of every
  // small file, one for each peek reading takes
  const head = seen.length === 1 ? (seen[0] as Uint8Array) : Buffer.concat(seen)
  return { head, failed: failure !== undefined, rest: rest(), close }
}

/** {@link openBytes} without the UTF-16 step: raw or gunzipped bytes. */
async function* openGunzipped(file: string, opts: OpenBytesOptions): AsyncGenerator<Uint8Array> {
  const counter = { n: 0 }
  const it = rawChunks(file, counter, opts.onBytes)
  // peek at least two bytes
  const head: Uint8Array[] = []
  let headLen = 0
  let done = false
  while (headLen < 2) {
    const r = await it.next()
    if (r.done) {
      done = true
      break
    }
    head.push(r.value)
    headLen += r.value.length
  }
  const first = head[0]
  const gz =
    first !== undefined &&
    headLen >= 2 &&
    (first.length >= 2
      ? first[0] === 0x1f && first[1] === 0x8b
      : first[0] === 0x1f && head[1]?.[0] === 0x8b)
  if (!gz) {
    try {
      for (const c of head) yield c
      if (done) return
      yield* it
    } finally {
      // stopped while the peeked chunks were handed on: close the file too
      await it.return(undefined)
    }
    return
  }
  async function* replay(): AsyncGenerator<Uint8Array> {
    for (const c of head) yield c
    if (!done) yield* it
  }
  try {
    yield* gunzip(replay(), CHUNK_BYTES, opts.onTrailingBytes)
  } catch (err) {
    if (err instanceof BulkheadError) throw err
    if (err instanceof GzipError) {
      throw new BulkheadError(
        [
          {
            code: 'ingest/truncated-input',
            severity: 'fatal',
            message: `${file}: gzip stream is truncated or corrupt after ${counter.n} compressed bytes (${err.message})`,
            location: { file, line: 0, column: 0 },
            hint: 'the records before this point were read; re-download or re-compress the file',
          },
        ],
        { cause: err },
      )
    }
    throw ioError(file, err)
  } finally {
    await it.return(undefined)
  }
}

const decoder = new TextDecoder('utf-8')

/**
 * Splits bytes into lines (LF or CRLF terminated; a final line without terminator counts),
 * decoded as UTF-8 (invalid sequences become U+FFFD), without terminators, one array of lines
 * per read chunk (so the caller pays one async step per chunk, not per line). Lines are numbered
 * 1-based in order across batches; empty batches are not yielded. These are the lines of
 * {@link splitLineBlocks}, decoded.
 *
 * A line longer than `maxLineBytes` (default {@link MAX_LINE_BYTES}) is never held whole: its
 * bytes are dropped as they arrive, `onLongLine(lineNumber)` (1-based) is called once it ends,
 * and `''` is yielded in its place, so line numbers stay right. Memory is bounded by
 * `maxLineBytes` plus one read chunk.
 */
export async function* splitLineBatches(
  chunks: AsyncIterable<Uint8Array>,
  opts: { maxLineBytes?: number; onLongLine?: (line: number) => void } = {},
): AsyncGenerator<string[]> {
  const max = opts.maxLineBytes ?? MAX_LINE_BYTES
  let lineNo = 0
  const tooLong = (): string => {
    opts.onLongLine?.(lineNo)
    return ''
  }
  for await (const items of splitLineBlocks(chunks, { maxLineBytes: max })) {
    const out: string[] = []
    for (const item of items) {
      if (item === null) {
        lineNo++
        out.push(tooLong())
        continue
      }
      // a block holds whole LF-terminated lines: the split leaves one empty string at the end
      const lines = typeof item === 'string' ? [item] : item.toString('utf8').split('\n')
      if (typeof item !== 'string') lines.pop()
      for (const l of lines) {
        lineNo++
        out.push(finishDecodedLine(l, max) ?? tooLong())
      }
    }
    yield out
  }
}

/** {@link splitLineBatches}, one line at a time (for parsers that read lines one by one). */
export async function* splitLines(
  chunks: AsyncIterable<Uint8Array>,
  opts: { maxLineBytes?: number; onLongLine?: (line: number) => void } = {},
): AsyncGenerator<string> {
  for await (const batch of splitLineBatches(chunks, opts)) yield* batch
}

/**
 * One item of {@link splitLineBlocks}: a `Buffer` of whole lines, each terminated by LF (CR
 * kept before it); a `string`, one last line without a terminator (decoded as
 * {@link splitLineBatches} decodes it); or `null`, one line dropped as too long before it was
 * held whole (the caller counts it as `line-too-long`).
 */
export type LineBlockItem = Buffer | string | null

/**
 * {@link splitLineBatches} without decoding: the same lines, in the same order and numbering,
 * as raw bytes, one array of items per read chunk that ends a line. A consumer decodes a line
 * with `buf.toString('utf8', start, lfIndex)` and applies the same checks as
 * {@link splitLineBatches} (a trailing CR dropped; a line whose decoded UTF-8 is longer than
 * `maxLineBytes` counted as too long), so reading lines from the blocks gives exactly what
 * {@link splitLineBatches} gives. A `Buffer` item may be a view of a read chunk: use it before
 * asking for the next batch.
 */
export async function* splitLineBlocks(
  chunks: AsyncIterable<Uint8Array>,
  opts: { maxLineBytes?: number } = {},
): AsyncGenerator<LineBlockItem[]> {
  const max = opts.maxLineBytes ?? MAX_LINE_BYTES
  let carry: Buffer[] = []
  let carryLen = 0
  let discarding = false
  try {
    for await (const raw of chunks) {
      const chunk = Buffer.isBuffer(raw)
        ? raw
        : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)
      const firstLf = chunk.indexOf(10)
      if (firstLf < 0) {
        if (discarding) continue
        carry.push(chunk)
        carryLen += chunk.length
        if (carryLen > max) {
          discarding = true
          carry = []
          carryLen = 0
        }
        continue
      }
      const out: LineBlockItem[] = []
      const lastLf = chunk.lastIndexOf(10)
      if (discarding) {
        out.push(null)
        discarding = false
        if (lastLf > firstLf) out.push(chunk.subarray(firstLf + 1, lastLf + 1))
      } else if (carryLen > 0) {
        // the line begun in earlier chunks as a block of its own: the chunk's other lines are not
        // copied
        carry.push(chunk.subarray(0, firstLf + 1))
        out.push(Buffer.concat(carry))
        if (lastLf > firstLf) out.push(chunk.subarray(firstLf + 1, lastLf + 1))
        carry = []
        carryLen = 0
      } else {
        out.push(chunk.subarray(0, lastLf + 1))
      }
      const pos = lastLf + 1
      if (pos < chunk.length) {
        const rest = chunk.subarray(pos)
        if (rest.length > max) {
          discarding = true
        } else {
          // copy: the chunk buffer may be reused by the producer
          carry.push(Buffer.from(rest))
          carryLen = rest.length
        }
      }
      yield out
    }
  } catch (err) {
    // a cut inside a line: the line's text goes with the error (CutInputError)
    const cut =
      err instanceof BulkheadError && err.diagnostics[0]?.code === 'ingest/truncated-input'
    if (!cut || discarding || carryLen === 0) throw err
    throw new CutInputError(err, decoder.decode(Buffer.concat(carry)))
  }
  if (discarding) yield [null]
  else if (carryLen > 0) yield [decoder.decode(Buffer.concat(carry))]
}

/** Applies {@link splitLineBatches}' per-line rules to one decoded line: the CR dropped, or undefined when too long. */
export function finishDecodedLine(s: string, maxLineBytes: number): string | undefined {
  const b = s.length > 0 && s.charCodeAt(s.length - 1) === 13 ? s.slice(0, -1) : s
  if (b.length * 3 > maxLineBytes && Buffer.byteLength(b) > maxLineBytes) return undefined
  return b
}
