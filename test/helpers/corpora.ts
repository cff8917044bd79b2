/**
 * @module The real public samples in `../shared/corpora` (beside the clone, as CI has them): where
 * they are and whether their tests may skip. A corpus test skips, with the reason in its name,
 * only when `../shared` itself is absent; with `../shared` present, a corpus folder that is missing
 * (renamed, moved) or holds none of the files a test wants fails that test instead of skipping
 * it or leaving it nothing to check.
 */
import { existsSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** `../shared` beside the clone (CI puts it there). */
const SHARED = fileURLToPath(new URL('../../../shared/', import.meta.url))

/** `../shared/corpora/`, with its trailing slash. */
export const CORPORA = fileURLToPath(new URL('../../../shared/corpora/', import.meta.url))

/**
 * Why the corpus tests skip: `../shared` is absent. `undefined` when it is present, and then every
 * corpus test runs (and fails when its corpus is missing).
 */
export const CORPUS_SKIP: string | undefined = existsSync(SHARED)
  ? undefined
  : 'needs ../shared/corpora (../shared is absent)'

/** `../shared/corpora/<rel>` (keep a trailing slash in `rel` to get one back). */
export function corpusPath(rel: string): string {
  return CORPORA + rel
}

/**
 * The sorted names in the corpus folder `rel` that `keep` accepts: `[]` when `../shared` is
 * absent (the tests that use them skip); with `../shared` present, throws when the folder is
 * missing or none of its names is accepted, so the test fails rather than checking nothing.
 */
export function corpusFiles(rel: string, keep: (name: string) => boolean = () => true): string[] {
  if (CORPUS_SKIP !== undefined) return []
  const dir = corpusPath(rel)
  if (!existsSync(dir)) throw new Error(`../shared is present but ${dir} is missing`)
  const names = readdirSync(dir).filter(keep).sort()
  if (names.length === 0) throw new Error(`../shared is present but ${dir} holds no wanted file`)
  return names
}

/** A corpus `describe` title: `title`, and the reason when the corpus tests skip. */
export function corpusTitle(title: string): string {
  return CORPUS_SKIP === undefined ? title : `${title} — skipped: ${CORPUS_SKIP}`
}
