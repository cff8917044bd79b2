/**
 * gzip member by member (src/ingest/gunzip.ts): every complete member's bytes are kept, whatever
 * follows them and however the compressed bytes are cut into chunks.
 */
import { randomBytes } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { GzipError, gunzip } from '../../src/ingest/gunzip.js'
import { SEED } from '../helpers/model.js'

/** The bytes of `data` as chunks of the given sizes (cycled), as a file or a socket gives them. */
async function* chunked(data: Uint8Array, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  let i = 0
  for (let k = 0; i < data.length; k++) {
    const n = Math.max(1, sizes[k % sizes.length] ?? 1)
    yield data.subarray(i, i + n)
    i += n
  }
}

async function run(
  data: Uint8Array,
  sizes: readonly number[] = [65536],
  chunkSize = 16384,
): Promise<{ out: Buffer; trailing: [number, number][]; error?: string }> {
  const parts: Uint8Array[] = []
  const trailing: [number, number][] = []
  try {
    for await (const c of gunzip(chunked(data, sizes)[Symbol.asyncIterator](), chunkSize, (n, at) =>
      trailing.push([n, at]),
    ))
      parts.push(c)
  } catch (e) {
    if (!(e instanceof GzipError)) throw e
    return { out: Buffer.concat(parts), trailing, error: e.message }
  }
  return { out: Buffer.concat(parts), trailing }
}

const text = (n: number, seed: string): Buffer =>
  Buffer.from(
    Array.from({ length: n }, (_, i) => `${seed} 10.0.${i % 256}.${(i * 7) % 256} 443 ${i}\n`).join(
      '',
    ),
  )

describe('gunzip', () => {
  it('bytes after the last member are ignored and reported; every member before is whole', async () => {
    const a = text(5000, 'a')
    const b = text(3000, 'b')
    const gz = Buffer.concat([gzipSync(a), gzipSync(b)])
    for (const junk of ['garbage\n', '\x1f\x8bXXXX', '\x1f\x00', '\x1f\x8b\x08\xff']) {
      const r = await run(Buffer.concat([gz, Buffer.from(junk, 'latin1')]))
      expect(r.error).toBeUndefined()
      expect(r.out.equals(Buffer.concat([a, b]))).toBe(true)
      expect(r.trailing).toEqual([[junk.length, gz.length]])
    }
  })

  it('zero bytes after the last member are padding, not reported', async () => {
    const a = text(100, 'a')
    const r = await run(Buffer.concat([gzipSync(a), Buffer.alloc(4096)]))
    expect(r).toEqual({ out: a, trailing: [] })
  })

  it('a corrupt or cut member fails after the members before it, which are whole', async () => {
    const a = text(4000, 'a')
    const second = gzipSync(text(4000, 'b'))
    const bad = Buffer.from(second)
    bad[bad.length - 2] = (bad[bad.length - 2] ?? 0) ^ 0xff // its length
    const cases: [Buffer, string][] = [
      [bad, 'incorrect length check'],
      [second.subarray(0, second.length - 3), 'unexpected end of file'],
      [second.subarray(0, 5), 'unexpected end of file'],
      [Buffer.from([0x1f]), 'unexpected end of file'], // gzip(1) says the same
    ]
    for (const [tail, message] of cases) {
      const r = await run(Buffer.concat([gzipSync(a), tail]))
      expect(r.error).toBe(message)
      expect(r.out.subarray(0, a.length).equals(a)).toBe(true)
    }
    const crc = gzipSync(a)
    crc[crc.length - 8] = (crc[crc.length - 8] ?? 0) ^ 0xff
    expect((await run(crc)).error).toBe('incorrect data check (CRC-32)')
  })

  it('a header with a name, comment, extra field and header CRC (RFC 1952 2.3.1)', async () => {
    const a = text(200, 'a')
    const plain = gzipSync(a)
    const extra = Buffer.from([4, 0, 0x41, 0x42, 0, 0]) // XLEN 4, subfield AB of length 0
    const header = Buffer.concat([
      Buffer.from([0x1f, 0x8b, 8, 0x02 | 0x04 | 0x08 | 0x10, 0, 0, 0, 0, 0, 3]),
      extra,
      Buffer.from('flows.log\0a comment\0', 'latin1'),
      Buffer.from([0x12, 0x34]), // CRC16 of the header (not checked, as zlib does by default)
    ])
    const gz = Buffer.concat([header, plain.subarray(10)])
    expect((await run(gz, [1])).out.equals(a)).toBe(true)
    const reserved = Buffer.from(plain)
    reserved[3] = 0x20
    expect((await run(reserved)).error).toBe('reserved header flags set')
  })

  it('any members, any chunking of the input, any junk after: the same bytes (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.constant(0)), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 6 }),
        // junk that does not start like a member (a cut member is an error, tested above)
        fc.option(
          fc.uint8Array({ minLength: 1, maxLength: 40 }).filter((j) => j[0] !== 0x1f),
          { nil: undefined },
        ),
        fc.integer({ min: 64, max: 70000 }),
        async (lines, sizes, junk, chunkSize) => {
          const plains = lines.map((n, i) =>
            i % 2 === 0 ? text(n, `m${String(i)}`) : randomBytes(n * 3),
          )
          const members = Buffer.concat(plains.map((p) => gzipSync(p)))
          const gz = Buffer.concat([members, junk ?? new Uint8Array()])
          const r = await run(gz, sizes, chunkSize)
          expect(r.error).toBeUndefined()
          expect(r.out.equals(Buffer.concat(plains))).toBe(true)
          const garbage = junk !== undefined && junk.some((x) => x !== 0)
          expect(r.trailing).toEqual(garbage ? [[junk.length, members.length]] : [])
        },
      ),
      { seed: SEED, numRuns: 150 },
    )
  }, 60_000)
})
