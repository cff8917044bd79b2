/**
 * @module The flow store for the commands that read or write it, loaded on first use: DuckDB's
 * native library takes about 0.25 s to load, which every other command (eval, validate, lint,
 * compile, ...) need not pay at start.
 */
import type { FlowStore, OpenStoreOptions } from '../store/index.js'
import { printDiagnostics } from './output.js'
import { counted } from '../core/index.js'

/**
 * Opens (creating when absent) the DuckDB flow store at `path`: `openDuckDbStore` of
 * src/store, imported on this first call; the commands that only read pass `readOnly`, so that
 * several of them can run at once. Flows of a commit a crash cut short are removed at
 * open: warned as `store/recovered`.
 * @throws as `openDuckDbStore`.
 */
export async function openStore(path: string, options: OpenStoreOptions = {}): Promise<FlowStore> {
  const { openDuckDbStore } = await import('../store/index.js')
  const store = await openDuckDbStore(path, options)
  if (store.recovered > 0)
    printDiagnostics([
      {
        code: 'store/recovered',
        severity: 'warning',
        message: `${counted(store.recovered, 'flow')} of an ingest that never committed (the process stopped while it wrote the store) were removed from ${path}`,
        hint: 'ingest the files of the interrupted run again: each file that was not stored is stored now',
      },
    ])
  return store
}
