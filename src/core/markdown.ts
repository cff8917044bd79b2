/**
 * @module Text and code for GitHub Flavored Markdown (tables, paragraphs, list items): what a
 * name, label, owner or reason must escape so that GitHub shows it as written.
 *
 * Semantics: the GFM spec (https://github.github.com/gfm/), CommonMark 0.31 "Backslash escapes"
 * (any ASCII punctuation may be escaped with `\` and is then literal text) and "Code spans"
 * (a backtick string of length n opens a span closed by one of the same length; a space at both
 * ends is stripped once), and GFM "Tables": a row ends at a line break and a cell at a `|` not
 * preceded by `\`, also inside a code span (`\|` there is a `|`).
 */

/** A line break (CRLF, CR or LF): a GFM table row and a list item's line end there. */
const LINE_BREAK = /\r\n|\r|\n/g

/**
 * Characters that start inline syntax in GFM: `\` (escapes), `` ` `` (code), `*` `_` (emphasis),
 * `~` (strikethrough), `<` (raw HTML, autolinks), `&` (entity references such as `&lt;`), `|`
 * (a table cell's end).
 */
const INLINE_SYNTAX = /[\\`*_~<&|]/g

/**
 * `s` as literal GFM inline text, for a table cell or a line of prose: every character that
 * starts inline syntax is escaped with a backslash, a `]` followed by `(` too (so `[x](y)` is no
 * link; a bare `[x]` is none in a document without link reference definitions, and
 * `ns/name[Kind]` stays readable), and a line break becomes a space (it would end the row or the
 * item).
 *
 * @param s - any text: a workload name, label value, owner, reason, file path.
 * @returns text that GitHub renders as `s` with its line breaks as spaces. GitHub's own
 *   extensions to GFM are not escaped: a `@name` still mentions, a `#123` still links an issue,
 *   and a bare URL or `www.` address is still made a link (its text stays the same).
 */
export function mdText(s: string): string {
  return s
    .replace(LINE_BREAK, ' ')
    .replace(INLINE_SYNTAX, (c) => `\\${c}`)
    .replace(/\](?=\()/g, '\\]')
}

/**
 * `s` as one GFM code span: fenced by one backtick more than its longest run of backticks,
 * padded with a space at both ends when it begins or ends with a backtick, or when it begins and
 * ends with a space and is not all U+0020 spaces (a code span then strips one at both ends;
 * `" \t "` is stripped too). A line break becomes a space.
 *
 * @param s - any text.
 * @param inTable - true in a table cell: `|` is written `\|`, which the table turns back into
 *   `|` before the code span is read (GFM "Tables"). Outside a table `\|` would show its `\`.
 * @returns the code span; the empty string for empty `s` (a code span cannot be empty).
 */
export function mdCode(s: string, inTable = true): string {
  if (s === '') return ''
  let t = s.replace(LINE_BREAK, ' ')
  if (inTable) t = t.replace(/\|/g, '\\|')
  let longest = 0
  for (const run of t.match(/`+/g) ?? []) longest = Math.max(longest, run.length)
  const fence = '`'.repeat(longest + 1)
  const pad =
    t.startsWith('`') ||
    t.endsWith('`') ||
    // CommonMark strips one space at both ends unless the content is all spaces (U+0020 only: a
    // tab or a no-break space among them does not keep it whole)
    (t.startsWith(' ') && t.endsWith(' ') && /[^ ]/.test(t))
  return pad ? `${fence} ${t} ${fence}` : `${fence}${t}${fence}`
}
