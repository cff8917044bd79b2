/**
 * @module Helpers the store tests share: run a function on an open DuckDB flow store (closed
 * afterwards, also when the function throws), collect an async iterable, ingest files one command
 * each or all in one, read the stored flows with their half marks and exporters or as keys, and
 * split one file's lines into several files (the settling properties).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { expect } from 'vitest'
import { ingestFiles } from '../../src/cli/commands/ingest.js'
import type { Flow } from '../../src/core/index.js'
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

/** Ingests `files` (format `format`, strict) into `store` in one command. Fails the test when a file fails. */
export async function ingestTogether(
  store: string,
  files: readonly string[],
  format: FlowFormat,
): Promise<void> {
  const jobs = files.map((file) => ({ file, format }))
  const out = await ingestFiles(jobs, store, { strict: true, progress: false })
  expect(out.failed).toEqual([])
}

/** What the settling properties compare: the 5-tuple as read, the start and the action. */
export function flowKey(
  f: Pick<Flow, 'src' | 'dst' | 'srcPort' | 'dstPort' | 'protocol' | 'start' | 'observedAction'>,
): string {
  return `${f.src}:${String(f.srcPort)} > ${f.dst}:${String(f.dstPort)} p${String(f.protocol)} @${String(f.start)} ${f.observedAction}`
}

/** The flows stored at `store`, as sorted {@link flowKey}s. */
export async function storedKeys(store: string): Promise<string[]> {
  const s = await openDuckDbStore(store, { readOnly: true })
  try {
    return (await all(s.flows())).map(flowKey).sort()
  } finally {
    await s.close()
  }
}

/**
 * `lines` cut before each index of `cuts` (taken modulo the line count; 0 and repeats ignored),
 * in order: the files a property splits one file into.
 */
export function splitAtCuts(lines: readonly string[], cuts: readonly number[]): string[][] {
  const at = [...new Set(cuts.map((c) => c % lines.length).filter((c) => c > 0))].sort(
    (a, b) => a - b,
  )
  const files: string[][] = []
  let from = 0
  for (const c of [...at, lines.length]) {
    files.push(lines.slice(from, c))
    from = c
  }
  return files
}

/**
 * Writes `lines` as `all.<ext>` and each of `files` as `a.<ext>`, `b.<ext>`, … into the new
 * folder `dir`: the one file and the split files of a property's case.
 */
export function writeSplit(
  dir: string,
  lines: readonly string[],
  files: readonly (readonly string[])[],
  ext: string,
): { one: string; parts: string[] } {
  mkdirSync(dir)
  const one = path.join(dir, `all.${ext}`)
  writeFileSync(one, lines.join('\n') + '\n')
  const parts = files.map((ls, i) => {
    const f = path.join(dir, `${String.fromCharCode(97 + i)}.${ext}`)
    writeFileSync(f, ls.join('\n') + '\n')
    return f
  })
  return { one, parts }
}
