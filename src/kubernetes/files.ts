/**
 * @module Reading a folder of Kubernetes manifests (the one I/O adapter of `src/kubernetes`).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { decodeText } from '../core/decode.js'
import type { SourceFile } from '../core/yaml-source.js'

/** File names read as manifests: YAML and JSON. */
export const MANIFEST_EXTENSIONS: readonly string[] = ['.yaml', '.yml', '.json']

/**
 * Every `.yaml`, `.yml` and `.json` file under `path` (a folder, walked recursively in name
 * order, hidden entries skipped; or one file), with display paths relative to `cwd`.
 * @throws Error (from `node:fs`) when `path` cannot be read.
 */
export function readManifestFiles(path: string, cwd: string = process.cwd()): SourceFile[] {
  const out: SourceFile[] = []
  const walk = (p: string): void => {
    if (statSync(p).isDirectory()) {
      for (const name of readdirSync(p).sort()) {
        if (name.startsWith('.')) continue
        walk(join(p, name))
      }
      return
    }
    if (p !== path && !MANIFEST_EXTENSIONS.some((e) => p.toLowerCase().endsWith(e))) return
    out.push({ path: relative(cwd, p) || p, text: decodeText(readFileSync(p)) })
  }
  walk(path)
  return out
}
