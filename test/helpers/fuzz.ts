/**
 * @module How long the fuzz and robustness properties run: `runs(n)` is `n` times `FUZZ_SCALE`.
 *
 * `npm test` leaves `FUZZ_SCALE` unset (factor 1, the short runs); `npm run fuzz`
 * (test/helpers/fuzz-campaign.ts) sets a large factor and a seed (`FC_SEED`, see `SEED` in
 * ./model.ts) and prints both, so that a failure can be replayed with the same two variables.
 */
import fc from 'fast-check'
import { expect } from 'vitest'
import type { Diagnostic } from '../../src/core/index.js'
import type { SourceFile } from '../../src/policy/index.js'

/** The factor on every fuzz property's `numRuns`: `FUZZ_SCALE` (a positive number), default 1. */
export const FUZZ_SCALE = scaleOf(process.env.FUZZ_SCALE)

function scaleOf(text: string | undefined): number {
  if (text === undefined || text === '') return 1
  const n = Number(text)
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`FUZZ_SCALE must be a positive number, not "${text}"`)
  return n
}

/** `n` runs times {@link FUZZ_SCALE}, at least 1. */
export function runs(n: number): number {
  return Math.max(1, Math.round(n * FUZZ_SCALE))
}

/**
 * A test timeout, ms, for a fuzz test whose default run needs more than Vitest's: `ms` times
 * {@link FUZZ_SCALE}; 0 (no timeout) in a long run, whose length is the point.
 */
export function fuzzTimeout(ms: number): number {
  return FUZZ_SCALE === 1 ? ms : 0
}

/**
 * Values of any JSON shape for the fields of a document under test, often wrong: one of
 * `constants` (values shaped like the fields: addresses, ports, names), a short string, an
 * integer, or arrays and objects of these (keys from `keys`), a few levels deep.
 */
export function junkValues(
  constants: readonly unknown[],
  keys: readonly string[],
): fc.Arbitrary<unknown> {
  return fc.letrec((tie) => ({
    v: fc.oneof(
      { depthSize: 'small' },
      fc.constantFrom(...constants),
      fc.string({ maxLength: 4 }),
      fc.integer(),
      fc.array(tie('v'), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom(...keys), tie('v'), { maxKeys: 4 }),
    ),
  })).v
}

/**
 * Names that a plain object answers without holding them (`Object.prototype`'s properties): a
 * lookup `TABLE[text]` or `text in TABLE` finds them. A dictionary for the generators.
 */
export const PROTOTYPE_NAMES = [
  'constructor',
  '__proto__',
  'toString',
  'tostring',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  '__defineGetter__',
] as const

/**
 * Every diagnostic has a stable code and points inside one of the given files: line 0 (and
 * column 0) for the whole file, else a line of the file and a column at most one past its end.
 */
export function expectLocatedInside(
  diags: readonly Diagnostic[],
  files: readonly SourceFile[],
): void {
  for (const d of diags) {
    expect(d.code).toMatch(/^[a-z0-9]+\/[a-z0-9-]+$/)
    const loc = d.location
    if (loc === undefined) continue
    const f = files.find((x) => x.path === loc.file)
    expect(f, `${d.code} at ${loc.file}`).toBeDefined()
    if (loc.line === 0) {
      expect(loc.column, JSON.stringify(d)).toBe(0)
      continue
    }
    const lines = (f?.text ?? '').split('\n')
    expect(loc.line, JSON.stringify(d)).toBeGreaterThanOrEqual(1)
    expect(loc.line, JSON.stringify(d)).toBeLessThanOrEqual(lines.length)
    expect(loc.column, JSON.stringify(d)).toBeGreaterThanOrEqual(1)
    expect(loc.column, JSON.stringify(d)).toBeLessThanOrEqual(
      (lines[loc.line - 1] ?? '').length + 1,
    )
  }
}

/** One edit of a text file: {@link TEXT_EDIT_KINDS}, at offset (or line, or word) `at`, with `text`. */
export interface TextEdit {
  readonly kind: (typeof TEXT_EDIT_KINDS)[number]
  readonly at: number
  readonly text: string
}

/** What {@link editText} does: insert, delete or replace characters, drop or repeat a line, swap a word. */
export const TEXT_EDIT_KINDS = [
  'insert',
  'delete',
  'replace',
  'drop-line',
  'dup-line',
  'word',
] as const

/**
 * A generator of {@link TextEdit}s whose text comes from `texts`; `word` edits weigh double when
 * `moreWords` (the swaps that find lookups by name, as `TCP` → `constructor`).
 */
export function textEdit(texts: fc.Arbitrary<string>, moreWords = false): fc.Arbitrary<TextEdit> {
  const kinds = moreWords ? [...TEXT_EDIT_KINDS, 'word' as const] : TEXT_EDIT_KINDS
  return fc.record({ kind: fc.constantFrom(...kinds), at: fc.nat(), text: texts })
}

/**
 * `text` after `edits`, in order. Offsets wrap around the text's length (lines, its line count):
 * `insert` puts `text` at the offset, `delete` removes as many characters as `text` has (at least
 * one), `replace` overwrites that many, `drop-line` and `dup-line` remove or repeat a line, and
 * `word` replaces one match of `words` (else any word) with `text`.
 */
export function editText(text: string, edits: readonly TextEdit[], words: RegExp): string {
  let t = text
  for (const e of edits) {
    const i = e.at % (t.length + 1)
    const n = Math.max(1, e.text.length)
    if (e.kind === 'insert') t = t.slice(0, i) + e.text + t.slice(i)
    else if (e.kind === 'delete') t = t.slice(0, i) + t.slice(i + n)
    else if (e.kind === 'replace') t = t.slice(0, i) + e.text + t.slice(i + n)
    else if (e.kind === 'word') {
      const known = [...t.matchAll(words)]
      const found = known.length > 0 ? known : [...t.matchAll(/[A-Za-z][A-Za-z0-9-]*/g)]
      const w = found[e.at % Math.max(1, found.length)]
      if (w !== undefined) t = t.slice(0, w.index) + e.text + t.slice(w.index + w[0].length)
    } else {
      const lines = t.split('\n')
      const j = e.at % lines.length
      if (e.kind === 'drop-line') lines.splice(j, 1)
      else lines.splice(j, 0, lines[j] ?? '')
      t = lines.join('\n')
    }
  }
  return t
}
