/**
 * @module The flow store for the commands that read or write it, loaded on first use: DuckDB's
 * native library takes about 0.25 s to load, which every other command (eval, validate, lint,
 * compile, ...) need not pay at start.
 */
import type { FlowStore } from '../store/index.js'

/**
 * Opens (creating when absent) the DuckDB flow store at `path`: `openDuckDbStore` of
 * src/store, imported on this first call.
 * @throws as `openDuckDbStore`.
 */
export async function openStore(path: string): Promise<FlowStore> {
  const { openDuckDbStore } = await import('../store/index.js')
  return openDuckDbStore(path)
}
