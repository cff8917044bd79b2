/**
 * @module Flow file format detection from the first 64 KiB (after gunzip).
 */
import { BulkheadError } from '../core/index.js'
import { openBytes } from './lines.js'
import { PARSERS } from './registry.js'
import type { FlowFormat } from './types.js'

/** Bytes of (decompressed) content looked at by detection. */
export const DETECT_BYTES = 64 * 1024

/** Lowest confidence accepted by {@link detectFormat}. */
export const MIN_CONFIDENCE = 0.5

/** Every registered parser's confidence for `head`, best first (ties keep registry order). */
export function rankFormats(head: Uint8Array): { format: FlowFormat; confidence: number }[] {
  const scored = PARSERS.map((p, i) => {
    let c = 0
    try {
      c = p.detect(head)
    } catch {
      c = 0
    }
    return { format: p.format, confidence: Number.isFinite(c) ? c : 0, i }
  })
  scored.sort((a, b) => b.confidence - a.confidence || a.i - b.i)
  return scored.map(({ format, confidence }) => ({ format, confidence }))
}

/** Reads up to {@link DETECT_BYTES} of the decompressed content (less if the gzip is truncated). */
export async function readHead(file: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let n = 0
  try {
    for await (const c of openBytes(file)) {
      parts.push(c)
      n += c.length
      if (n >= DETECT_BYTES) break
    }
  } catch (err) {
    // a truncated gzip still has a usable head; reading the file reports the truncation
    if (!(
      err instanceof BulkheadError &&
      err.diagnostics.some((d) => d.code === 'ingest/truncated-input')
    ))
      throw err
  }
  return Buffer.concat(parts).subarray(0, DETECT_BYTES)
}

/**
 * Reads up to 64 KiB of the (decompressed) file and picks the parser with the highest
 * `detect()` confidence.
 * @throws BulkheadError `ingest/unknown-format` (severity `fatal`) when no parser reaches
 *   {@link MIN_CONFIDENCE}, with a hint listing the `--format` values; `ingest/empty-input`
 *   (severity `warning`: zero flows, not fatal — callers catch it and go on) when the file has
 *   no bytes; `io/*` when it cannot be read.
 */
export async function detectFormat(file: string): Promise<FlowFormat> {
  const head = await readHead(file)
  if (
    head.length === 0 ||
    head.every((b) => b === 0x0a || b === 0x0d || b === 0x20 || b === 0x09)
  ) {
    throw new BulkheadError([
      {
        code: 'ingest/empty-input',
        severity: 'warning',
        message: `${file} is empty: no flows`,
        location: { file, line: 0, column: 0 },
      },
    ])
  }
  const ranked = rankFormats(head)
  const best = ranked[0]
  if (best && best.confidence >= MIN_CONFIDENCE) return best.format
  const formats = PARSERS.map((p) => p.format).join(', ')
  throw new BulkheadError([
    {
      code: 'ingest/unknown-format',
      severity: 'fatal',
      message: `cannot tell the flow format of ${file}${best && best.confidence > 0 ? ` (closest: ${best.format}, confidence ${best.confidence.toFixed(2)})` : ''}`,
      location: { file, line: 0, column: 0 },
      hint: `name it with --format, one of: ${formats}`,
    },
  ])
}
