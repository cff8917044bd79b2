/**
 * The README's links to its own sections lead somewhere: every `](#anchor)` names a heading, as
 * GitHub makes a heading's anchor (its text without markup, lower case, punctuation other than
 * `-` and `_` dropped, spaces made `-`, a repeated anchor suffixed `-1`, `-2`, …; the algorithm
 * of github-slugger, which github.com uses).
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

/** The text of a heading as rendered: code spans' content kept, links' text kept. */
function headingText(line: string): string {
  return line
    .replace(/^#+\s+/, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`([^`]*)`/g, '$1')
    .trim()
}

/** GitHub's anchor of a heading text (before de-duplication). */
function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-')
}

/** Every heading's anchor, outside fenced code blocks, with GitHub's suffixes for repeats. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  let fenced = false
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced
    if (fenced || !/^#{1,6}\s/.test(line)) continue
    const base = slug(headingText(line))
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    out.add(n === 0 ? base : `${base}-${String(n)}`)
  }
  return out
}

describe('README links to its own sections', () => {
  it('makes anchors as GitHub does', () => {
    expect(
      slug(headingText('### `bulkhead collect --listen [udp://|tcp://|tls://]HOST:PORT ...`')),
    ).toBe('bulkhead-collect---listen-udptcptlshostport-')
    expect(slug(headingText('#### Format `aws-vpc`'))).toBe('format-aws-vpc')
    expect([...anchors('# A\n## A\n```\n# A\n```\n## B c\n')]).toEqual(['a', 'a-1', 'b-c'])
  })

  it('every link to #anchor names a heading', () => {
    const have = anchors(README)
    const links = [...README.matchAll(/\]\(#([^)\s]+)\)/g)].map((m) => m[1] as string)
    expect(links.length).toBeGreaterThan(20)
    expect(links.filter((a) => !have.has(a))).toEqual([])
  })
})
