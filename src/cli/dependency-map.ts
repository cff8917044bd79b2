/**
 * @module The workspace's dependency map for the commands that need one (discover, recommend,
 * inventory suggest-labels, blast-radius, metrics): opens the store, builds the map, closes it.
 */
import { existsSync } from 'node:fs'
import { BulkheadError, type Inventory, type Workspace } from '../core/index.js'
import { buildDependencyMap, type DependencyMap, type DiscoverOptions } from '../discover/index.js'
import { startQueryProgress } from './progress.js'
import { openStore } from './store.js'
import { UsageError } from './output.js'

/**
 * Builds the dependency map of the workspace's flow store over `options.since`/`until`, its
 * calendar views in `options.timeZone`, else the workspace's `timeZone`, else UTC, with a
 * progress bar on a terminal while the store is queried (`options.onProgress` is replaced).
 * The map's own diagnostics (coverage warnings) are returned in it, not printed.
 * @throws UsageError for a store that is not a DuckDB file; BulkheadError `discover/no-flows`
 *   when the store does not exist or holds no flow in the selected window (the store file is
 *   never created here).
 */
export async function loadDependencyMap(
  workspace: Workspace,
  inventory: Inventory,
  options: DiscoverOptions = {},
): Promise<DependencyMap & { readonly window: NonNullable<DependencyMap['window']> }> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(workspace.store))
    throw new UsageError(`store ${workspace.store}: only a DuckDB file store is supported so far`)
  const noFlows = (
    where: string,
    hint = 'ingest flow logs first: bulkhead ingest FILE...',
  ): BulkheadError =>
    new BulkheadError([
      { code: 'discover/no-flows', severity: 'error', message: `no flows ${where}`, hint },
    ])
  if (!existsSync(workspace.store)) throw noFlows(`(the store ${workspace.store} does not exist)`)
  const store = await openStore(workspace.store, { readOnly: true })
  const timeZone = options.timeZone ?? workspace.timeZone
  const progress = startQueryProgress('aggregating stored flows')
  let map: DependencyMap
  try {
    map = await buildDependencyMap(store, inventory, {
      ...options,
      ...(timeZone !== undefined ? { timeZone } : {}),
      onProgress: progress.onProgress,
    })
  } finally {
    progress.stop()
    await store.close()
  }
  const window = map.window
  if (window === undefined)
    throw options.since !== undefined || options.until !== undefined
      ? // the store may hold flows outside the window: ingesting is not the only way out
        noFlows(
          'in the selected window',
          'widen or move --since/--until (bulkhead discover without them shows the window the store holds), or ingest flows of that time',
        )
      : noFlows(`in ${workspace.store}`)
  return { ...map, window }
}
