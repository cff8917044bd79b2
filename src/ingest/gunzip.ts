/**
 * @module gzip decompression member by member (RFC 1952), so that the bytes of every complete
 * member are kept when something else follows them.
 *
 * Node's `Gunzip` stream reads concatenated members too, but when a member is followed by bytes
 * that are not another member (trailing garbage: a mail footer, a second download appended) it
 * fails, and the output of its last step — up to a quarter of a MiB of records — is lost with
 * it. Here each member's deflate data (RFC 1951) goes through its own `InflateRaw`, which stops at
 * the end of the deflate stream and says how many input bytes it used; the header and the
 * trailer (CRC-32 and length, checked) are read here. As gzip(1) does, zero bytes after the last
 * member are padding, and other bytes are reported and ignored ("decompression OK, trailing
 * garbage ignored").
 */
import { createInflateRaw, crc32 } from 'node:zlib'

/** Why a gzip stream could not be read to its end. */
export class GzipError extends Error {
  override name = 'GzipError'
}

/** Compressed bytes not yet used, with more pulled from the source on demand. */
class ByteQueue {
  private chunks: Buffer[] = []
  private length = 0
  private eof = false
  /** Bytes handed out so far (the offset of the first queued byte in the compressed stream). */
  used = 0

  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  /** Pulls until at least `n` bytes are queued or the source ends; true when there are `n`. */
  async ensure(n: number): Promise<boolean> {
    while (this.length < n && !this.eof) {
      const r = await this.source.next()
      if (r.done === true) this.eof = true
      else if (r.value.length > 0) {
        const b = Buffer.isBuffer(r.value)
          ? r.value
          : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.length)
        this.chunks.push(b)
        this.length += b.length
      }
    }
    return this.length >= n
  }

  /** The queued byte at `i` (call {@link ensure} first). */
  at(i: number): number {
    for (const c of this.chunks) {
      if (i < c.length) return c[i] ?? 0
      i -= c.length
    }
    return 0
  }

  /** Removes and returns the first `n` queued bytes (at most what is queued). */
  take(n: number): Buffer {
    const parts: Buffer[] = []
    let want = Math.min(n, this.length)
    while (want > 0) {
      const c = this.chunks[0]
      if (c === undefined) break
      if (c.length <= want) {
        parts.push(c)
        this.chunks.shift()
        want -= c.length
        this.length -= c.length
        this.used += c.length
      } else {
        parts.push(c.subarray(0, want))
        this.chunks[0] = c.subarray(want)
        this.length -= want
        this.used += want
        want = 0
      }
    }
    return parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts)
  }

  /** The next queued chunk, or the next chunk of the source; undefined at the end. */
  async next(): Promise<Buffer | undefined> {
    if (!(await this.ensure(1))) return undefined
    return this.take(this.chunks[0]?.length ?? 0)
  }

  /** Puts bytes taken but not used back at the front. */
  unshift(b: Buffer): void {
    if (b.length === 0) return
    this.chunks.unshift(b)
    this.length += b.length
    this.used -= b.length
  }

  /** Closes the source without reading the rest. */
  async close(): Promise<void> {
    if (!this.eof) await this.source.return?.()
  }
}

const FHCRC = 0x02
const FEXTRA = 0x04
const FNAME = 0x08
const FCOMMENT = 0x10
const FRESERVED = 0xe0

/**
 * Length of the member header at the front of `q` (RFC 1952 §2.3.1), or a string saying why
 * the bytes are not one. `undefined` when the input ends inside what could be a header (as
 * gzip(1), which says "unexpected end of file" for a lone `1f` after a member).
 */
async function headerLength(q: ByteQueue): Promise<number | string | undefined> {
  // byte by byte, so that a few bytes of garbage are told from a cut header
  const has = [await q.ensure(1), await q.ensure(2), await q.ensure(3), await q.ensure(4)]
  if (has[0] === true && q.at(0) !== 0x1f) return 'not a gzip member'
  if (has[1] === true && q.at(1) !== 0x8b) return 'not a gzip member'
  if (has[2] === true && q.at(2) !== 8) return `unknown compression method ${String(q.at(2))}`
  const flags = q.at(3)
  if (has[3] === true && (flags & FRESERVED) !== 0) return 'reserved header flags set'
  if (!(await q.ensure(10))) return undefined
  let n = 10
  if ((flags & FEXTRA) !== 0) {
    if (!(await q.ensure(n + 2))) return undefined
    n += 2 + (q.at(n) | (q.at(n + 1) << 8))
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if ((flags & flag) === 0) continue
    // a zero-terminated string; bounded so that garbage cannot make it read the whole file
    for (let guard = 0; ; guard++) {
      if (guard > 1 << 20) return 'header name or comment longer than 1 MiB'
      if (!(await q.ensure(n + 1))) return undefined
      if (q.at(n++) === 0) break
    }
  }
  if ((flags & FHCRC) !== 0) n += 2
  if (!(await q.ensure(n))) return undefined
  return n
}

/**
 * Inflates one member's deflate data from the front of `q`, yielding the output as it comes;
 * the input the deflate stream did not use (the trailer and what follows) is put back into
 * `q`. One chunk of input is in flight at a time, so memory stays at two chunks' output.
 *
 * @throws GzipError when the deflate data is corrupt or ends early.
 */
async function* inflateMember(q: ByteQueue, chunkSize: number): AsyncGenerator<Buffer> {
  const inflate = createInflateRaw({ chunkSize })
  const out: Buffer[] = []
  // changed by the stream's callbacks
  const st: { ended: boolean; failure?: Error; inFlight: boolean; inputDone: boolean } = {
    ended: false,
    inFlight: false,
    inputDone: false,
  }
  let wake: (() => void) | undefined
  const signal = (): void => {
    const w = wake
    wake = undefined
    w?.()
  }
  inflate.on('data', (c: Buffer) => {
    out.push(c)
    signal()
  })
  inflate.on('end', () => {
    st.ended = true
    signal()
  })
  inflate.on('error', (e: Error) => {
    st.failure = e
    signal()
  })
  // the chunks written and not yet known to be used whole; `fedStart` is the inflate input
  // offset of the first of them (inflate.bytesWritten counts the input bytes it used)
  const fed: Buffer[] = []
  let fedStart = 0
  const feed = async (): Promise<void> => {
    const b = await q.next()
    if (b === undefined) {
      st.inputDone = true
      inflate.end()
      return
    }
    while (fed.length > 0 && fedStart + (fed[0]?.length ?? 0) <= inflate.bytesWritten) {
      fedStart += fed.shift()?.length ?? 0
    }
    fed.push(b)
    st.inFlight = true
    inflate.write(b, () => {
      st.inFlight = false
      signal()
    })
  }
  try {
    for (;;) {
      // the next chunk inflates (on libuv's thread pool) while the last one's output is used
      if (!st.inFlight && !st.inputDone && !st.ended && st.failure === undefined) await feed()
      const c = out.shift()
      if (c !== undefined) {
        yield c
        continue
      }
      if (st.failure !== undefined) throw new GzipError(st.failure.message)
      if (st.ended) break
      if (!st.inFlight && !st.inputDone) continue
      await new Promise<void>((resolve) => {
        wake = resolve
      })
    }
    // give back what follows the deflate stream
    const unused = Buffer.concat(fed).subarray(inflate.bytesWritten - fedStart)
    q.unshift(unused)
  } finally {
    inflate.destroy()
  }
}

/**
 * Decompresses a gzip stream (RFC 1952): one or more members, each checked against its CRC-32
 * and length. After the last member, zero bytes are padding; any other bytes are ignored and
 * `onTrailingBytes(count, offset)` is called once with their number and the compressed offset
 * where they start (gzip(1): "decompression OK, trailing garbage ignored").
 *
 * @param source - the compressed bytes, starting with a member header (`1f 8b`).
 * @param chunkSize - size of the output chunks, in bytes.
 * @returns the decompressed bytes, every complete member's whole, in order.
 * @throws GzipError when a member is truncated or corrupt — after yielding everything before the
 *   bad part.
 */
export async function* gunzip(
  source: AsyncIterator<Uint8Array>,
  chunkSize: number,
  onTrailingBytes?: (count: number, offset: number) => void,
): AsyncGenerator<Uint8Array> {
  const q = new ByteQueue(source)
  try {
    for (let member = 0; ; member++) {
      if (!(await q.ensure(1))) return
      const start = q.used
      const header = await headerLength(q)
      if (member > 0 && typeof header === 'string') {
        // after a complete member: padding or trailing garbage
        let count = 0
        let zeros = true
        for (let b = await q.next(); b !== undefined; b = await q.next()) {
          count += b.length
          if (zeros && b.some((x) => x !== 0)) zeros = false
        }
        if (!zeros) onTrailingBytes?.(count, start)
        return
      }
      if (header === undefined) throw new GzipError('unexpected end of file')
      if (typeof header === 'string') throw new GzipError(header)
      q.take(header)
      let crc = 0
      let size = 0
      for await (const c of inflateMember(q, chunkSize)) {
        crc = crc32(c, crc)
        size = (size + c.length) % 0x1_0000_0000
        yield c
      }
      if (!(await q.ensure(8))) throw new GzipError('unexpected end of file')
      const trailer = q.take(8)
      if (trailer.readUInt32LE(0) !== crc) throw new GzipError('incorrect data check (CRC-32)')
      if (trailer.readUInt32LE(4) !== size) throw new GzipError('incorrect length check')
    }
  } finally {
    await q.close()
  }
}
