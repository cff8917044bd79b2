/**
 * @module Helpers the store tests share: run a function on an open DuckDB flow store (closed
 * afterwards, also when the function throws), collect an async iterable, ingest files one command
 * each, and read the stored flows with their half marks and exporters.
 */
import path from 'node:path'
import { expect } from 'vitest'
import { ingestFiles } from '../../src/cli/commands/ingest.js'
import type { FlowFormat } from '../../src/ingest/types.js'
import { openDuckDbStore, type FlowStore } from '../../src/store/index.js'

/** Opens the store at `where` (default a private in-memory store), runs `fn`, closes the store. */
export async function withStore<T>(
  fn: (s: FlowStore) => Promise<T>,
  where = ':memory:',
): Promise<T> {
  const s = await openDuckDbStore(where)
  try {
    return await fn(s)
  } finally {
    await s.close()
  }
}

/** Every item of `it`, in order. */
export async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

/** A stored flow as the pairing tests compare it: `file` is the base name; times in ms. */
export interface HalfRow {
  src: string
  sp: number
  dst: string
  dp: number
  protocol: number
  start: number
  end: number
  bytes: number
  action: string
  direction: string
  file: string
  /** `flow_rows.half`: the HALF_* bits of an unpaired half, 0 for a whole flow. */
  half: number
  /** The exporter key of a NetFlow/IPFIX/goflow2 half, null for others. */
  exporter: string | null
}

/** Every flow of the store file `store`, with its half mark and exporter, by bytes. */
export async function storedHalves(store: string): Promise<HalfRow[]> {
  const s = await openDuckDbStore(store, { readOnly: true })
  try {
    const rows = await s.query<Record<string, unknown>>(
      `SELECT v.*, fr.half, e.key AS exporter FROM flows v JOIN flow_rows fr ON fr.rowid = v.rowid
       LEFT JOIN exporters e ON e.id = fr.exporter ORDER BY v.bytes`,
    )
    return rows.map((r) => ({
      src: r['src'] as string,
      sp: r['src_port'] as number,
      dst: r['dst'] as string,
      dp: r['dst_port'] as number,
      protocol: r['protocol'] as number,
      start: r['start_ms'] as number,
      end: r['end_ms'] as number,
      bytes: r['bytes'] as number,
      action: r['observed_action'] as string,
      direction: r['direction'] as string,
      file: path.basename(r['file'] as string),
      half: r['half'] as number,
      exporter: r['exporter'] as string | null,
    }))
  } finally {
    await s.close()
  }
}

/**
 * Ingests each of `files` (format `format`, strict) into `store` by a command of its own, as
 * users ingest files as they arrive; the notes of all the commands, summed. Fails the test when a
 * file fails.
 */
export async function ingestEach(
  store: string,
  files: readonly string[],
  format: FlowFormat,
): Promise<Record<string, number>> {
  const notes: Record<string, number> = {}
  for (const file of files) {
    const out = await ingestFiles([{ file, format }], store, { strict: true, progress: false })
    expect(out.failed).toEqual([])
    for (const [k, v] of Object.entries(out.notes)) notes[k] = (notes[k] ?? 0) + v
  }
  return notes
}
