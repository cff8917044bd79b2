/**
 * @module The workspace's parse cache: a large YAML file (the inventory of a big estate) is parsed
 * once and kept under `.bulkhead/cache/yaml/`, keyed by the SHA-256 of its text, as its
 * documents' values and node offsets (`ParsedYaml`); the next command that loads the workspace
 * reads those instead of parsing the text again. The `yaml` package reads about 2 MB/s (the
 * 2.8 MB inventory of 20 000 workloads: 1.3–1.6 s, and the garbage its node trees leave).
 * @remarks What a cached file gives is what parsing gives: `parsedYamlOf` (src/core/yaml-source.ts)
 * keeps only files for which that holds, and a property test holds the node offsets to the
 * `yaml` package's node tree. A cache file of another Bulkhead or `yaml` version, or one that
 * cannot be read, is passed over (and written again); writing is best effort (a read-only
 * workspace loads as before). `BULKHEAD_PARSE_CACHE=0` turns the cache off.
 */
import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import { parsedYamlOf, type ParsedYaml, type SourceFile } from '../core/yaml-source.js'

/** Files shorter than this (in UTF-16 code units of their text) are parsed each time. */
export const PARSE_CACHE_MIN_CHARS = 256 * 1024

/** Cache files kept in the folder: the least recently used go first. */
const PARSE_CACHE_KEEP = 32

/** Stable: the layout of a cache file; change it when `ParsedYaml` or its meaning changes. */
const CACHE_FORMAT = 1

/** The folder of the cache, inside the workspace folder `root`. */
export function parseCacheDir(root: string): string {
  return path.join(root, '.bulkhead', 'cache', 'yaml')
}

let versions: string | undefined

/** Bulkhead's and the `yaml` package's versions: a cache file of others is not read. */
function versionsNow(): string {
  if (versions !== undefined) return versions
  const require = createRequire(import.meta.url)
  const own = require('../../package.json') as { version: string }
  const yaml = require('yaml/package.json') as { version: string }
  versions = `${own.version}/${yaml.version}`
  return versions
}

/**
 * A cache file as written: its format, the versions, the text's SHA-256, the documents; `docs`
 * null when `parsedYamlOf` gave none for the text (it is then parsed each time, but not twice).
 */
interface CacheFile {
  readonly format: number
  readonly versions: string
  readonly sha256: string
  readonly docs: ParsedYaml['docs'] | null
}

/**
 * `files` with `parsed` set on the large YAML files ({@link PARSE_CACHE_MIN_CHARS}): from the
 * cache of the workspace `root` when it holds the text's documents, else parsed now (and kept
 * for the next command, when `parsedYamlOf` gives them). Other files are returned as they are.
 * Never throws: a cache that cannot be read or written is passed over.
 */
export async function withParsedYaml(
  root: string,
  files: readonly SourceFile[],
): Promise<SourceFile[]> {
  if (process.env['BULKHEAD_PARSE_CACHE'] === '0') return [...files]
  const dir = parseCacheDir(root)
  const out: SourceFile[] = []
  let wrote = false
  for (const file of files) {
    if (
      file.parsed !== undefined ||
      file.text.length < PARSE_CACHE_MIN_CHARS ||
      !/\.ya?ml$/i.test(file.path)
    ) {
      out.push(file)
      continue
    }
    const sha256 = createHash('sha256').update(file.text).digest('hex')
    const where = path.join(dir, `${sha256}.json`)
    const cached = await readCacheFile(where, sha256)
    if (cached !== undefined) {
      out.push(cached === null ? file : { ...file, parsed: { docs: cached } })
      continue
    }
    const parsed = parsedYamlOf(file)
    out.push(parsed === undefined ? file : { ...file, parsed })
    wrote =
      (await writeCacheFile(where, {
        format: CACHE_FORMAT,
        versions: versionsNow(),
        sha256,
        docs: parsed === undefined ? null : parsed.docs,
      })) || wrote
  }
  if (wrote) await prune(dir)
  return out
}

/**
 * The documents of cache file `where` when it is one for the text of `sha256` (null: the text has
 * none to keep), else undefined.
 */
async function readCacheFile(
  where: string,
  sha256: string,
): Promise<ParsedYaml['docs'] | null | undefined> {
  let data: unknown
  try {
    data = JSON.parse(await readFile(where, 'utf8'))
  } catch {
    return undefined
  }
  const c = data as Partial<CacheFile> | null
  if (
    c === null ||
    typeof c !== 'object' ||
    c.format !== CACHE_FORMAT ||
    c.versions !== versionsNow() ||
    c.sha256 !== sha256 ||
    c.docs === undefined ||
    (c.docs !== null &&
      (!Array.isArray(c.docs) ||
        !c.docs.every(
          (d: unknown) =>
            d !== null &&
            typeof d === 'object' &&
            typeof (d as { index?: unknown }).index === 'number' &&
            typeof (d as { nodes?: { o?: unknown } }).nodes?.o === 'number',
        )))
  )
    return undefined
  // the most recently used are kept (prune)
  const now = new Date()
  await utimes(where, now, now).catch(() => undefined)
  return c.docs
}

/** Writes `c` to `where` (through a temporary file and a rename); false when it could not. */
async function writeCacheFile(where: string, c: CacheFile): Promise<boolean> {
  const tmp = `${where}.${String(process.pid)}.tmp`
  try {
    const dir = path.dirname(where)
    await mkdir(dir, { recursive: true })
    // git passes the cache over, as it does pytest's (a workspace is often a repository)
    await writeFile(path.join(dir, '..', '.gitignore'), '*\n', { flag: 'wx' }).catch(
      () => undefined,
    )
    await writeFile(tmp, JSON.stringify(c))
    await rename(tmp, where)
    return true
  } catch {
    await unlink(tmp).catch(() => undefined)
    return false
  }
}

/** Removes the least recently used cache files beyond {@link PARSE_CACHE_KEEP}. */
async function prune(dir: string): Promise<void> {
  try {
    const names = (await readdir(dir)).filter((n) => n.endsWith('.json'))
    if (names.length <= PARSE_CACHE_KEEP) return
    const dated = await Promise.all(
      names.map(async (n) => ({ n, t: (await stat(path.join(dir, n))).mtimeMs })),
    )
    dated.sort((a, b) => b.t - a.t)
    for (const { n } of dated.slice(PARSE_CACHE_KEEP)) await unlink(path.join(dir, n))
  } catch {
    // another command pruning at the same time, or a folder that cannot be listed
  }
}
