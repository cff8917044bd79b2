/**
 * @module Markdown meant to be pasted into a pull-request or issue comment (`diff -o md`,
 * `simulate -o md`), cut to fit the comment when longer: each list (table rows, the lines of a
 * code block) keeps its first lines, with a note saying how many are left out, and a line under
 * the summary says the comment is cut. Generic: it knows nothing about what a line means.
 * @remarks GitHub's REST API refuses a comment body over 65 536 characters ("Body is too long
 * (maximum is 65536 characters)", issue and pull-request comments alike).
 */

/**
 * GitHub's limit on a comment's body, in characters: the default of `--md-limit`
 * (`./usage.ts`, `mdLimitOption`) for every `-o md` meant for a comment.
 */
export const GITHUB_COMMENT_LIMIT = 65_536

/**
 * A list of lines in a Markdown document that may be cut to fit a size: table rows or the lines
 * of a code block. `close` ends it (a code fence) and stays; `what` names `n` of its lines in the
 * note that says how many were left out.
 */
export interface CutList {
  /**
   * The lines, without line ends. Read more than once (an array, a `lazyArray` or an iterable
   * whose iterator starts again), and when the document is cut only as far as the room goes: a
   * list of millions of lines made one at a time is never held.
   */
  readonly items: Iterable<string>
  /** How many lines `items` gives; not given: `items.length` when it is an array, else counted. */
  readonly count?: number
  readonly close: readonly string[]
  readonly what: (n: number) => string
}

/** A part of a document for {@link fitMarkdown}: a line always kept, or a list that may be cut. */
export type MdPart = string | CutList

/** The line under the summary of a document cut to `limit` characters. */
export function cutLine(limit: number): string {
  return `This comment is cut to ${String(limit)} characters, GitHub's limit for a comment (\`--md-limit\`).`
}

/** The lines after a list of which `n` lines were left out (none when `n` is 0). */
function leftOutNote(l: CutList, n: number): string[] {
  return n === 0
    ? []
    : ['', `… ${l.what(n)} left out here to fit a GitHub comment: \`-o json\` has them all.`]
}

function countOf(l: CutList): number {
  if (l.count !== undefined) return l.count
  if (Array.isArray(l.items)) return (l.items as readonly string[]).length
  let n = 0
  for (const _ of l.items) n++
  return n
}

/** The characters `lines` take, each with its line end. */
const sizeOf = (lines: readonly string[]): number => lines.reduce((a, x) => a + x.length + 1, 0)

/**
 * How many first lines of `items` fit in `room` characters (each with its line end), and the
 * characters they take; reads no further than the first line that does not fit.
 */
function firstFitting(items: Iterable<string>, room: number): { n: number; used: number } {
  let n = 0
  let used = 0
  for (const item of items) {
    if (used + item.length + 1 > room) break
    used += item.length + 1
    n++
  }
  return { n, used }
}

/**
 * The lines of `parts` (lines, and lists that may be cut), without line ends, forming a document
 * of at most `limit` UTF-16 code units (GitHub's characters are code points, never more) when
 * each line is ended by `\n`. When the whole does not fit, each list keeps a first part of its
 * lines, the lists sharing the room left evenly (a short list whole, the rest of its share to the
 * others), and a note after a cut list says how many of its lines were left out; a line after
 * `parts[summaryAt]` (the summary) says the document was cut. The lines outside lists are always
 * kept. `limit` 0: no limit.
 *
 * Streams: a list's lines are read as they are written, and to size the lists only as far as
 * `limit` characters of each, so the work and memory added by the limit are bounded by `limit`,
 * not by the lists; the lines left out are counted by {@link CutList.count}, not read.
 */
export function* fitMarkdownLines(
  parts: readonly MdPart[],
  limit: number,
  summaryAt = 0,
): Generator<string> {
  const lists = parts.filter((p): p is CutList => typeof p !== 'string')
  const count = new Map(lists.map((l) => [l, countOf(l)]))
  // each list's size, read no further than `limit` characters: a longer list is never whole
  const size = new Map<CutList, number>()
  let total = 0
  for (const p of parts) total += typeof p === 'string' ? p.length + 1 : sizeOf(p.close)
  if (limit > 0)
    for (const l of lists) {
      const { n, used } = firstFitting(l.items, limit + 1)
      size.set(l, n === count.get(l) ? used : Infinity)
      total += size.get(l) ?? 0
    }
  if (total <= limit || limit === 0) {
    for (const p of parts)
      if (typeof p === 'string') yield p
      else {
        yield* p.items
        yield* p.close
      }
    return
  }
  const cut = cutLine(limit)
  // room for the lines always kept, the notes at their longest and the line saying it was cut
  let fixed = cut.length + 2
  for (const p of parts)
    fixed +=
      typeof p === 'string'
        ? p.length + 1
        : sizeOf(p.close) + sizeOf(leftOutNote(p, count.get(p) ?? 0))
  let room = Math.max(0, limit - fixed)
  const kept = new Map<CutList, number>()
  const sizeOr0 = (l: CutList): number => size.get(l) ?? 0
  const bySize = [...lists].sort((a, b) =>
    sizeOr0(a) < sizeOr0(b) ? -1 : sizeOr0(a) > sizeOr0(b) ? 1 : 0,
  )
  bySize.forEach((l, i) => {
    const { n, used } = firstFitting(l.items, Math.floor(room / (bySize.length - i)))
    kept.set(l, n)
    room -= used
  })
  for (const [i, p] of parts.entries()) {
    if (typeof p === 'string') {
      yield p
      if (i === summaryAt) yield* ['', cut]
      continue
    }
    const n = kept.get(p) ?? 0
    let k = 0
    if (n > 0)
      for (const item of p.items) {
        yield item
        if (++k === n) break
      }
    yield* p.close
    yield* leftOutNote(p, (count.get(p) ?? 0) - n)
  }
}

/** {@link fitMarkdownLines} as one string, each line ended by `\n`. */
export function fitMarkdown(parts: readonly MdPart[], limit: number, summaryAt = 0): string {
  let out = ''
  for (const line of fitMarkdownLines(parts, limit, summaryAt)) out += `${line}\n`
  return out
}
