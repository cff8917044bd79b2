/**
 * @module Streaming byte and line access to flow files: gzip detection, line splitting with a
 * bound on line length. Memory is constant in the file size.
 */
import { createReadStream } from 'node:fs'
import { Readable, pipeline } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { BulkheadError, type Diagnostic } from '../core/index.js'

/** Default bound on one line: 1 MiB. */
export const MAX_LINE_BYTES = 1 << 20

/** Size of the read chunks, in bytes. */
const CHUNK_BYTES = 1 << 16

function ioError(file: string, err: unknown): BulkheadError {
  const e = err as NodeJS.ErrnoException
  const notFound = e.code === 'ENOENT'
  const d: Diagnostic = {
    code: notFound ? 'io/not-found' : 'io/read-failed',
    severity: 'fatal',
    message: notFound
      ? `no such file: ${file}`
      : `cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`,
    location: { file, line: 0, column: 0 },
  }
  return new BulkheadError([d], { cause: err })
}

/** The raw byte chunks of a file (or stdin for `-`), counting bytes as they are read. */
async function* rawChunks(
  file: string,
  counter: { n: number },
  onBytes?: (n: number) => void,
): AsyncGenerator<Uint8Array> {
  const stream: Readable =
    file === '-' ? process.stdin : createReadStream(file, { highWaterMark: CHUNK_BYTES })
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      counter.n += chunk.length
      onBytes?.(counter.n)
      yield chunk
    }
  } catch (err) {
    if (err instanceof BulkheadError) throw err
    throw ioError(file, err)
  } finally {
    if (file !== '-') stream.destroy()
  }
}

/**
 * Opens a file (or `-` for stdin) as bytes, transparently gunzipping when the first bytes are
 * `1f 8b` (RFC 1952), including concatenated gzip members (as `cat a.gz b.gz` and S3 exports
 * produce).
 *
 * @param onBytes - called after each raw chunk with the total of *compressed* (on-disk) bytes
 *   read so far, for progress.
 * @returns chunks of decompressed bytes, in order.
 * @throws BulkheadError `ingest/truncated-input` when the gzip stream ends early or is corrupt,
 *   naming the file and the compressed byte offset reached — after yielding everything that
 *   decoded; `io/not-found` / `io/read-failed` when the file cannot be read.
 */
export async function* openBytes(
  file: string,
  onBytes?: (compressedBytesRead: number) => void,
): AsyncGenerator<Uint8Array> {
  const counter = { n: 0 }
  const it = rawChunks(file, counter, onBytes)
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
    for (const c of head) yield c
    if (done) return
    yield* it
    return
  }
  async function* replay(): AsyncGenerator<Uint8Array> {
    for (const c of head) yield c
    if (!done) yield* it
  }
  const source = Readable.from(replay(), { objectMode: false })
  const gunzip = createGunzip({ chunkSize: CHUNK_BYTES })
  const out = pipeline(source, gunzip, () => {
    /* errors surface through the iteration of `out` */
  })
  try {
    for await (const chunk of out as AsyncIterable<Buffer>) yield chunk
  } catch (err) {
    if (err instanceof BulkheadError) throw err
    const e = err as NodeJS.ErrnoException
    if (typeof e.code === 'string' && e.code.startsWith('Z_')) {
      throw new BulkheadError(
        [
          {
            code: 'ingest/truncated-input',
            severity: 'fatal',
            message: `${file}: gzip stream is truncated or corrupt after ${counter.n} compressed bytes (${e.message})`,
            location: { file, line: 0, column: 0 },
            hint: 'the records before this point were read; re-download or re-compress the file',
          },
        ],
        { cause: err },
      )
    }
    throw ioError(file, err)
  } finally {
    source.destroy()
    gunzip.destroy()
  }
}

const decoder = new TextDecoder('utf-8')

/**
 * Splits bytes into lines (LF or CRLF terminated; a final line without terminator counts),
 * decoded as UTF-8 (invalid sequences become U+FFFD), without terminators, one array of lines
 * per read chunk (so the caller pays one async step per chunk, not per line). Lines are numbered
 * 1-based in order across batches; empty batches are not yielded.
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
  let carry: Buffer[] = []
  let carryLen = 0
  let discarding = false
  let lineNo = 0
  const finishLine = (s: string): string => {
    lineNo++
    const b = s.length > 0 && s.charCodeAt(s.length - 1) === 13 ? s.slice(0, -1) : s
    if (b.length * 3 > max && Buffer.byteLength(b) > max) {
      opts.onLongLine?.(lineNo)
      return ''
    }
    return b
  }
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
    const out: string[] = []
    // the line that the carry started
    if (discarding) {
      lineNo++
      opts.onLongLine?.(lineNo)
      discarding = false
      out.push('')
    } else if (carryLen > 0) {
      carry.push(chunk.subarray(0, firstLf))
      const s = Buffer.concat(carry).toString('utf8')
      carry = []
      carryLen = 0
      out.push(finishLine(s))
    } else {
      out.push(finishLine(chunk.toString('utf8', 0, firstLf)))
    }
    let pos = firstLf + 1
    const lastLf = chunk.lastIndexOf(10)
    if (lastLf > pos) {
      const block = chunk.toString('utf8', pos, lastLf)
      for (const l of block.split('\n')) out.push(finishLine(l))
    } else if (lastLf === pos) {
      out.push(finishLine(''))
    }
    pos = lastLf + 1
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
  if (discarding) {
    lineNo++
    opts.onLongLine?.(lineNo)
    yield ['']
  } else if (carryLen > 0) {
    yield [finishLine(decoder.decode(Buffer.concat(carry)))]
  }
}

/** {@link splitLineBatches}, one line at a time (for parsers that read lines one by one). */
export async function* splitLines(
  chunks: AsyncIterable<Uint8Array>,
  opts: { maxLineBytes?: number; onLongLine?: (line: number) => void } = {},
): AsyncGenerator<string> {
  for await (const batch of splitLineBatches(chunks, opts)) yield* batch
}
