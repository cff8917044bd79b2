/**
 * @module Temporary folders for a test file, and reading flow text as a real file: written to a
 * fresh temporary folder (with a chosen name and modification time), read with `readFlows`, the
 * folder removed.
 */
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll } from 'vitest'
import type { Flow } from '../../src/core/index.js'
import { readFlows, type FileSummary } from '../../src/ingest/read.js'
import type { FlowFormat } from '../../src/ingest/types.js'

/** The folders {@link tempDir} made in this test file, removed when it ends. */
const made = new Set<string>()

// registered when a test file imports this module, during its collection: so it runs at the end
// of the file whenever tempDir is called (at the top level, in a describe, in a hook or in a test;
// a hook registered inside a test or a beforeAll is never run, and its folder stayed behind)
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true })
  made.clear()
})

/**
 * A fresh folder under the system's temporary folder (`<prefix>-XXXXXX`), removed with everything
 * in it when the test file ends, wherever it is called.
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`))
  made.add(dir)
  return dir
}

/** The flows and the file's summary of `content` read as the file `name`. */
export async function readAsFile(
  content: string | Uint8Array,
  opts: { name?: string; format?: FlowFormat | 'auto'; mtime?: Date; pair?: boolean } = {},
): Promise<{ flows: Flow[]; summary: FileSummary }> {
  const dir = mkdtempSync(join(tmpdir(), 'bulkhead-file-'))
  try {
    const file = join(dir, opts.name ?? 'flows.log')
    writeFileSync(file, content)
    if (opts.mtime) utimesSync(file, opts.mtime, opts.mtime)
    const summaries: FileSummary[] = []
    const flows: Flow[] = []
    for await (const f of readFlows(
      [file],
      {
        format: opts.format ?? 'auto',
        strict: false,
        ...(opts.pair === false ? { pair: false } : {}),
      },
      summaries,
    ))
      flows.push(f)
    return { flows, summary: summaries[0] as FileSummary }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
