/**
 * @module mdText and mdCode checked against readers written from CommonMark 0.31 / GFM:
 * "Backslash escapes" (a `\` before ASCII punctuation makes it literal), "Code spans" (a run of
 * n backticks opens a span that the next run of exactly n closes; one space is stripped from
 * both ends when both are spaces and the content is not all spaces) and GFM "Tables" (`\|` in
 * a cell is a `|`, also inside a code span).
 */
import { describe, expect, it } from 'vitest'
import { mdCode, mdText } from '../../src/core/markdown.js'

const AWKWARD = [
  'web|1',
  'api`x`',
  '*db*_main_',
  '<script>alert(1)</script>',
  '[x](http://evil.example)',
  '&lt;amp&gt; ~~strike~~ # hash',
  'back\\|slash\\',
  '``two``',
  '` lead',
  ' both ',
  'naïve-服务-🚀',
  'ns/name[Deployment]',
  ' \t ',
  ' \u00a0 ',
]

/** Plain text of a cell: throws on unescaped markup; undoes backslash escapes. */
function readText(s: string): string {
  let out = ''
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    const next = s[i + 1]
    if (c === '\\' && next !== undefined && /[!-/:-@[-`{-~]/.test(next)) {
      out += next
      i++
    } else if ('`*_~<&|\n\r'.includes(c) || (c === ']' && next === '(')) {
      throw new Error(`unescaped ${JSON.stringify(c)} at ${String(i)} in ${JSON.stringify(s)}`)
    } else out += c
  }
  return out
}

/** The content of `s` read as one code span (in a table cell when `inTable`). */
function readCode(s: string, inTable: boolean): string {
  const t = inTable ? s.replace(/\\\|/g, '|') : s
  const open = /^`+/.exec(t)![0]
  const rest = t.slice(open.length)
  // the closing run: the first backtick run of the same length
  const re = /`+/g
  let m: RegExpExecArray | null
  let end = -1
  while ((m = re.exec(rest)) !== null)
    if (m[0].length === open.length) {
      end = m.index
      break
    }
  expect(end, `no closing fence in ${JSON.stringify(s)}`).toBeGreaterThanOrEqual(0)
  expect(end + 2 * open.length, `text after the span in ${JSON.stringify(s)}`).toBe(
    rest.length + open.length,
  )
  const body = rest.slice(0, end)
  // "space character" is U+0020 alone: a body of spaces and a tab is not "entirely spaces"
  return body.startsWith(' ') && body.endsWith(' ') && /[^ ]/.test(body) ? body.slice(1, -1) : body
}

describe('mdText', () => {
  it.each(AWKWARD)('%j reads back as written, no markup', (s) => {
    expect(readText(mdText(s))).toBe(s)
  })
  it('writes a line break as a space and keeps a bare [Kind] readable', () => {
    expect(mdText('two\r\nlines\nthree')).toBe('two lines three')
    expect(mdText('ns/web[Deployment]')).toBe('ns/web[Deployment]')
  })
})

describe('mdCode', () => {
  it.each(AWKWARD)('%j is one code span holding it, in a table and outside', (s) => {
    expect(readCode(mdCode(s), true)).toBe(s)
    expect(mdCode(s)).not.toMatch(/(^|[^\\])\|/)
    expect(readCode(mdCode(s, false), false)).toBe(s)
  })
  it('is empty for empty text and writes a line break as a space', () => {
    expect(mdCode('')).toBe('')
    expect(mdCode('a\nb')).toBe('`a b`')
  })
})
