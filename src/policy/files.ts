/**
 * @module The I/O edge of loading: reads a workspace folder (bulkhead.yaml, inventory and policy
 * YAML files) and hands the texts to the pure {@link loadFromSources}. With ./parse-cache.ts (the
 * parse cache of large YAML files) the only files in `src/policy` that touch the file system.
 * @remarks Layout: DESIGN.md "Workspace, inventory and enforcement files".
 */
import { lstat, readdir, readFile, readlink, realpath, stat } from 'node:fs/promises'
import path from 'node:path'
import {
  BulkheadError,
  decodeText,
  diagnostic,
  ioDiagnostic,
  hasErrors,
  sortDiagnostics,
  type Diagnostic,
  type SourceLocation,
} from '../core/index.js'
import {
  EMPTY_INVENTORY,
  EMPTY_POLICY_SET,
  loadFromSources,
  type LoadResult,
  type SourceFile,
} from './load.js'
import { withParsedYaml } from './parse-cache.js'
import { defaultWorkspace, parseWorkspaceFile, WORKSPACE_FILE } from './workspace.js'

/** The files of a policy folder that loading reads (names starting with `.` are skipped). */
export const YAML_EXT = /\.ya?ml$/i
/**
 * The files of an inventory folder that loading reads: YAML, and CSV, Kubernetes (`kubectl get
 * -o json`) and AWS JSON files (names starting with `.` are skipped).
 */
export const INVENTORY_EXT = /\.(ya?ml|json|csv)$/i

/**
 * Reads bulkhead.yaml (optional: defaults inventory: [inventory/], policy: policy/, store: .bulkhead/store.duckdb, sources: []), then every *.yaml/*.yml file (recursively; the paths in the order bulkhead.yaml lists them, each folder's files sorted by path) under the inventory paths (there also *.json and *.csv) and the policy folder. A missing workspace folder or bulkhead.yaml syntax error is a diagnostic, not a throw.
 *
 * Paths in diagnostics are relative to the working directory (`path.relative(process.cwd(), p)`),
 * or, when that would start with `..`, the path as given (root joined with the file's path inside
 * it). Folders and files whose names start with `.` are skipped, as is bulkhead.yaml itself. A
 * missing inventory or policy path is `io/not-found` when bulkhead.yaml names it (also when it
 * names the default `policy/`, as `bulkhead init` writes it), and nothing when it is a default.
 * Unreadable files, and folders that cannot be listed, are `io/read-failed`.
 * @param root - the workspace folder, as the user gave it.
 * @param now - passed to {@link loadFromSources} (only for the `policy/expired-rule` warning).
 * @param options - `policyFiles`: policy files to load instead of the workspace's policy folder
 *   (another folder, or a git revision of one: `simulate --policy`, `diff`, `blast-radius
 *   --compare`); the inventory is still the workspace's.
 */
export async function loadWorkspace(
  root: string,
  now: Date,
  options: LoadWorkspaceOptions = {},
): Promise<LoadResult> {
  const rootAbs = path.resolve(root)
  const display = (abs: string): string => {
    const rel = path.relative(process.cwd(), abs)
    if (rel === '') return '.'
    if (rel.startsWith('..') || path.isAbsolute(rel))
      return path.join(root, path.relative(rootAbs, abs))
    return rel
  }
  const sink: Diagnostic[] = []
  const rootStat = await statOrUndefined(rootAbs)
  if (!rootStat?.isDirectory()) {
    sink.push(
      diagnostic('io/not-found', `workspace folder "${root}" does not exist or is not a folder`, {
        file: root,
        line: 0,
        column: 0,
      }),
    )
    return {
      workspace: defaultWorkspace(root),
      inventory: EMPTY_INVENTORY,
      policySet: EMPTY_POLICY_SET,
      diagnostics: sink,
    }
  }

  const wsAbs = path.join(rootAbs, WORKSPACE_FILE)
  const wsText = await readText(wsAbs, display(wsAbs), sink, false)
  // where bulkhead.yaml names each inventory and policy path: a missing one is reported there
  const named = new Map<string, SourceLocation>()
  const workspace =
    wsText === undefined
      ? defaultWorkspace(root)
      : parseWorkspaceFile(root, { path: display(wsAbs), text: wsText }, sink, named)
  const defaults = defaultWorkspace(root)
  const wsLocation = { file: display(wsAbs), line: 0, column: 0 }

  const collect = async (
    paths: readonly string[],
    isDefault: (p: string) => boolean,
    ext: RegExp = YAML_EXT,
  ): Promise<SourceFile[]> => {
    const found = new Set<string>()
    for (const p of paths) {
      const st = await statOrUndefined(p)
      if (!st) {
        if (!isDefault(p))
          sink.push(
            diagnostic(
              'io/not-found',
              `"${display(p)}" named in ${WORKSPACE_FILE} does not exist`,
              named.get(p) ?? wsLocation,
            ),
          )
        continue
      }
      // the paths in the order bulkhead.yaml lists them (LabelRules apply in file order); the
      // files of one folder sorted by path
      if (st.isDirectory()) for (const f of (await walk(p, sink, display, ext)).sort()) found.add(f)
      else if (st.isFile()) found.add(p)
    }
    found.delete(wsAbs)
    const files: SourceFile[] = []
    for (const abs of found) {
      const text = await readText(abs, display(abs), sink, true)
      if (text !== undefined) files.push({ path: display(abs), text })
    }
    return files
  }
  const inventoryFiles = await collect(
    workspace.inventory,
    (p) => workspace.named?.inventory !== true && defaults.inventory.includes(p),
    INVENTORY_EXT,
  )
  // (before the policy files are collected into the same sink)
  const inventoryUnread = hasErrors(sink)
  const policyFiles =
    options.policyFiles ??
    (await collect(
      [workspace.policy],
      (p) => workspace.named?.policy !== true && p === defaults.policy,
    ))

  const loaded = loadFromSources(
    workspace,
    await withParsedYaml(rootAbs, inventoryFiles),
    await withParsedYaml(rootAbs, policyFiles),
    now,
    { inventoryUnread },
  )
  if (sink.length === 0) return loaded
  const diagnostics = sortDiagnostics([...sink, ...loaded.diagnostics])
  if (hasErrors(diagnostics))
    return { workspace, inventory: EMPTY_INVENTORY, policySet: EMPTY_POLICY_SET, diagnostics }
  return { ...loaded, diagnostics }
}

async function statOrUndefined(p: string): Promise<Awaited<ReturnType<typeof stat>> | undefined> {
  try {
    return await stat(p)
  } catch {
    return undefined
  }
}

async function readText(
  abs: string,
  shown: string,
  sink: Diagnostic[],
  required: boolean,
): Promise<string | undefined> {
  try {
    return decodeText(await readFile(abs))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !required) return undefined
    sink.push(ioDiagnostic(err, 'read', shown))
    return undefined
  }
}

/** Options of {@link loadWorkspace}. */
export interface LoadWorkspaceOptions {
  readonly policyFiles?: readonly SourceFile[]
}

/**
 * The YAML files under `dir`, recursively (names starting with `.` skipped), sorted, with paths
 * relative to the working directory as {@link SourceFile} shows them.
 * @throws BulkheadError `io/read-failed` when a file cannot be read.
 */
export async function readYamlFolder(dir: string): Promise<SourceFile[]> {
  const sink: Diagnostic[] = []
  const files: SourceFile[] = []
  const shownOf = (abs: string): string => path.relative(process.cwd(), abs) || abs
  for (const abs of await walk(path.resolve(dir), sink, shownOf)) {
    const shown = shownOf(abs)
    const text = await readText(abs, shown, sink, true)
    if (text !== undefined) files.push({ path: shown, text })
  }
  if (sink.length > 0) throw new BulkheadError(sink)
  return files
}

/**
 * Every file whose name matches `ext` (default *.yaml / *.yml) under `dir`, recursively, skipping
 * names that start with `.`. A folder that cannot be listed (no permission) is an
 * `io/read-failed` diagnostic in `sink`, not an empty folder: its files would be missing from the
 * load without a word. So is a link to a folder the walk is inside (a symbolic link loop, walked
 * until the path was too long, each file read once per level), and a link named like a file to
 * read that leads nowhere (`io/not-found`) or round in a loop (`io/read-failed`).
 * @param inside - the real paths of the folders the walk is in (`dir`'s ancestors).
 */
async function walk(
  dir: string,
  sink: Diagnostic[],
  shown: (abs: string) => string,
  ext: RegExp = YAML_EXT,
  inside: ReadonlyMap<string, string> = new Map(),
): Promise<string[]> {
  const out: string[] = []
  const real = await realpath(dir).catch(() => dir)
  const ancestor = inside.get(real)
  if (ancestor !== undefined) {
    sink.push(
      diagnostic(
        'io/read-failed',
        `cannot read "${shown(dir)}": a symbolic link loop, it leads back to "${shown(ancestor)}"`,
        { file: shown(dir), line: 0, column: 0 },
        { hint: 'remove the link, or point it at a folder outside this one' },
      ),
    )
    return out
  }
  const within = new Map(inside).set(real, dir)
  let entries: string[]
  try {
    entries = await readdir(dir)
  } catch (err) {
    // a folder removed while it is walked is gone, not unreadable
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      sink.push(ioDiagnostic(err, 'read', shown(dir)))
    return out
  }
  for (const name of entries.sort()) {
    if (name.startsWith('.')) continue
    const abs = path.join(dir, name)
    let st: Awaited<ReturnType<typeof stat>>
    try {
      st = await stat(abs)
    } catch (err) {
      // a link left dangling or looping: a file named to be read that is not (a file removed
      // while the folder is walked is gone: lstat fails too)
      const link = await lstat(abs).then(
        (l) => l.isSymbolicLink(),
        () => false,
      )
      if (link && ext.test(name)) sink.push(await brokenLink(abs, err, shown(abs)))
      continue
    }
    if (st.isDirectory()) out.push(...(await walk(abs, sink, shown, ext, within)))
    else if (st.isFile() && ext.test(name)) out.push(abs)
  }
  return out
}

/** A link `abs` that `stat` refused (`err`): `io/not-found` when it leads nowhere, else as `err`. */
async function brokenLink(abs: string, err: unknown, shown: string): Promise<Diagnostic> {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return ioDiagnostic(err, 'read', shown)
  const target = await readlink(abs).catch(() => '?')
  return diagnostic(
    'io/not-found',
    `"${shown}" is a symbolic link to "${target}", which does not exist`,
    { file: shown, line: 0, column: 0 },
    { hint: 'correct the link, or remove it' },
  )
}
