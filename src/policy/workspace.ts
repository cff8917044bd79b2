/**
 * @module The workspace file `bulkhead.yaml` (`kind: Workspace`): where inventory, policy,
 * store and default flow sources are, resolved against the workspace folder.
 * @remarks Format: DESIGN.md "Workspace, inventory and enforcement files".
 */
import path from 'node:path'
import * as z from 'zod'
import {
  canonicalTimeZone,
  type Diagnostic,
  type SourceConfig,
  type SourceLocation,
  type Workspace,
} from '../core/index.js'
import { checkHeader, parseYamlFile, type SourceFile, type YamlDoc } from '../core/yaml-source.js'

/** The name of the workspace file inside the workspace folder. */
export const WORKSPACE_FILE = 'bulkhead.yaml'

/** Defaults for a workspace without `bulkhead.yaml` or with fields left out (relative to the root). */
export const WORKSPACE_DEFAULTS = {
  inventory: ['inventory/'],
  policy: 'policy/',
  store: '.bulkhead/store.duckdb',
  sources: [] as SourceConfig[],
} as const

const WORKSPACE_DOC = z.strictObject({
  apiVersion: z.string(),
  kind: z.literal('Workspace'),
  // zod's own message for a union is "Invalid input", which names no shape
  inventory: z
    .union([z.string().min(1), z.array(z.string().min(1))], {
      error: 'expected a path or a list of paths (inventory: [inventory/])',
    })
    .optional(),
  policy: z.string().min(1).optional(),
  // a DuckDB file: a path written as a folder would be created as a file of that name
  store: z
    .string()
    .min(1)
    .refine((p) => !/[/\\]$/.test(p) && !/(?:^|[/\\])\.\.?$/.test(p), {
      error: 'store names the DuckDB file, not a folder (store: .bulkhead/store.duckdb)',
    })
    .optional(),
  timeZone: z.string().min(1).optional(),
  sources: z
    .array(
      z.strictObject({
        path: z.string().min(1),
        format: z.string().min(1),
        fields: z.string().optional(),
      }),
    )
    .optional(),
})

/**
 * Resolves a workspace-relative path against `root` (an absolute path). A store URL such as
 * `clickhouse://host:8123/db` is kept as written.
 */
export function resolveWorkspacePath(root: string, p: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(p)) return p
  return path.resolve(root, p)
}

/** The workspace of `root` with every default (see {@link WORKSPACE_DEFAULTS}); paths absolute. */
export function defaultWorkspace(root: string): Workspace {
  const abs = path.resolve(root)
  return {
    root: abs,
    inventory: WORKSPACE_DEFAULTS.inventory.map((p) => resolveWorkspacePath(abs, p)),
    policy: resolveWorkspacePath(abs, WORKSPACE_DEFAULTS.policy),
    store: resolveWorkspacePath(abs, WORKSPACE_DEFAULTS.store),
    sources: [],
  }
}

/**
 * Parses `bulkhead.yaml`. Absent fields keep their defaults. When the file has any problem the
 * whole workspace keeps its defaults, so loading can go on and report every other problem too;
 * the problems go to `sink` (`yaml/*`, `schema/*`, `workspace/bad-config` for a second document).
 * @param root - the workspace folder as given; paths in the result are absolute.
 * @param file - the workspace file, its `path` as displayed in diagnostics.
 * @param locations - when given, receives where the file names each inventory and policy path
 *   (by resolved path), so that a missing one is reported at its line and column.
 */
export function parseWorkspaceFile(
  root: string,
  file: SourceFile,
  sink: Diagnostic[],
  locations?: Map<string, SourceLocation>,
): Workspace {
  const base = defaultWorkspace(root)
  let workspace = base
  let seen = false
  for (const d of parseYamlFile(file, sink)) {
    if (!checkHeader(d, ['Workspace'])) continue
    if (seen) {
      d.report('workspace/bad-config', 'a workspace file holds one Workspace document', [])
      continue
    }
    seen = true
    const w = d.check(WORKSPACE_DOC, d.value, [])
    if (!w) continue
    const inventory =
      w.inventory === undefined
        ? undefined
        : typeof w.inventory === 'string'
          ? [w.inventory]
          : w.inventory
    const sources = w.sources?.map((s) => ({
      path: resolveWorkspacePath(base.root, s.path),
      format: s.format,
      ...(s.fields !== undefined ? { fields: s.fields } : {}),
    }))
    const timeZone = w.timeZone === undefined ? undefined : canonicalTimeZone(w.timeZone)
    if (w.timeZone !== undefined && timeZone === undefined) {
      d.report(
        'workspace/unknown-time-zone',
        `"${w.timeZone}" is not an IANA time zone name`,
        ['timeZone'],
        { hint: 'name a zone of the tz database, such as Europe/Berlin, America/New_York or UTC' },
      )
      continue
    }
    if (locations) namedLocations(locations, d, base.root, w.inventory, w.policy)
    workspace = {
      root: base.root,
      inventory: inventory
        ? inventory.map((p) => resolveWorkspacePath(base.root, p))
        : base.inventory,
      policy: w.policy !== undefined ? resolveWorkspacePath(base.root, w.policy) : base.policy,
      store: w.store !== undefined ? resolveWorkspacePath(base.root, w.store) : base.store,
      sources: sources ?? base.sources,
      ...(timeZone !== undefined ? { timeZone } : {}),
      named: { inventory: w.inventory !== undefined, policy: w.policy !== undefined },
    }
  }
  return workspace
}

/** Records in `out` where `d` names its inventory and policy paths, by resolved path. */
function namedLocations(
  out: Map<string, SourceLocation>,
  d: YamlDoc,
  root: string,
  inventory: string | readonly string[] | undefined,
  policy: string | undefined,
): void {
  if (typeof inventory === 'string')
    out.set(resolveWorkspacePath(root, inventory), d.loc(['inventory']))
  else
    inventory?.forEach((p, i) => {
      const at = resolveWorkspacePath(root, p)
      if (!out.has(at)) out.set(at, d.loc(['inventory', i]))
    })
  if (policy !== undefined) out.set(resolveWorkspacePath(root, policy), d.loc(['policy']))
}
