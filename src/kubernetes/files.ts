/**
 * @module Reading a folder of Kubernetes manifests (the one I/O adapter of `src/kubernetes`).
 */
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { decodeText } from '../core/decode.js'
import type { SourceFile } from '../core/yaml-source.js'

/** File names read as manifests: YAML and JSON. */
export const MANIFEST_EXTENSIONS: readonly string[] = ['.yaml', '.yml', '.json']

/**
 * Every `.yaml`, `.yml` and `.json` file under `path` (a folder, walked recursively in name
 * order, hidden entries skipped; or one file), with display paths relative to `cwd`.
 * @throws Error (from `node:fs`) when `path` cannot be read; `code` ELOOP (`syscall` scandir)
 *   for a link to a folder the walk is inside (a symbolic link loop, walked until the path was
 *   too long).
 */
export function readManifestFiles(path: string, cwd: string = process.cwd()): SourceFile[] {
  const out: SourceFile[] = []
  const walk = (p: string, inside: ReadonlyMap<string, string>): void => {
    if (statSync(p).isDirectory()) {
      const real = realpathSync(p)
      const ancestor = inside.get(real)
      if (ancestor !== undefined)
        throw Object.assign(
          new Error(
            `a symbolic link loop: it leads back to "${relative(cwd, ancestor) || ancestor}"`,
          ),
          { code: 'ELOOP', syscall: 'scandir', path: relative(cwd, p) || p },
        )
      const within = new Map(inside).set(real, p)
      for (const name of readdirSync(p).sort()) {
        if (name.startsWith('.')) continue
        walk(join(p, name), within)
      }
      return
    }
    if (p !== path && !MANIFEST_EXTENSIONS.some((e) => p.toLowerCase().endsWith(e))) return
    out.push({ path: relative(cwd, p) || p, text: decodeText(readFileSync(p)) })
  }
  walk(path, new Map())
  return out
}
