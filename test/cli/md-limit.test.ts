/**
 * @module fitMarkdown (`src/cli/render/md.ts`, shared by `diff` and `simulate -o md`): a document larger than GitHub's comment limit (65 536 characters, the
 * REST API's "Body is too long (maximum is 65536 characters)") is cut to fit, list by list.
 */
import { describe, expect, it } from 'vitest'
import { GITHUB_COMMENT_LIMIT, fitMarkdown, fitMarkdownLines } from '../../src/cli/render/md.js'

const line = (i: number): string => `+ web-${String(i).padStart(5, '0')} => db : TCP 5432`

describe('fitMarkdown', () => {
  it('keeps a document within the limit whole', () => {
    const doc = fitMarkdown(
      ['summary', '', '```diff', { items: ['+ a', '- b'], close: ['```'], what: (n) => `${n}` }],
      GITHUB_COMMENT_LIMIT,
    )
    expect(doc).toBe('summary\n\n```diff\n+ a\n- b\n```\n')
  })

  it('cuts 170 KB of lines to 65 536 characters; a short list is kept whole', () => {
    const big = Array.from({ length: 6000 }, (_, i) => line(i))
    const small = ['| a | b |', '| c | d |']
    const doc = fitMarkdown(
      [
        'summary',
        '',
        '```diff',
        { items: big, close: ['```'], what: (n) => `${String(n)} connectivity lines` },
        '',
        '| x | y |',
        '|---|---|',
        { items: small, close: [], what: (n) => `${String(n)} edges` },
      ],
      GITHUB_COMMENT_LIMIT,
    )
    expect(big.join('\n').length).toBeGreaterThan(2 * GITHUB_COMMENT_LIMIT)
    expect(doc.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT)
    expect(doc.length).toBeGreaterThan(GITHUB_COMMENT_LIMIT - 200) // the room is used
    const lines = doc.split('\n')
    const kept = lines.filter((l) => l.startsWith('+ web-')).length
    expect(doc).toContain(
      `\`\`\`\n\n… ${String(6000 - kept)} connectivity lines left out here to fit a GitHub comment`,
    )
    expect(lines.slice(-3, -1)).toEqual(small)
    expect(doc).not.toContain('edges left out')
  })

  it('0 is no limit', () => {
    const big = Array.from({ length: 6000 }, (_, i) => line(i))
    const doc = fitMarkdown(['s', { items: big, close: [], what: String }], 0)
    expect(doc).toBe(`s\n${big.join('\n')}\n`)
  })

  it('streams: a list of a million lines made as read is read only as far as the room, the rest counted', () => {
    let reads = 0
    const items: Iterable<string> = {
      *[Symbol.iterator]() {
        for (let i = 0; i < 1_000_000; i++) {
          reads++
          yield line(i)
        }
      },
    }
    const lines = [
      ...fitMarkdownLines(
        ['summary', { items, count: 1_000_000, close: [], what: (n) => `${String(n)} lines` }],
        GITHUB_COMMENT_LIMIT,
      ),
    ]
    const kept = lines.filter((l) => l.startsWith('+ web-')).length
    expect(`${lines.join('\n')}\n`.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT)
    expect(lines.at(-1)).toBe(
      `… ${String(1_000_000 - kept)} lines left out here to fit a GitHub comment: \`-o json\` has them all.`,
    )
    // sizing (as far as the whole limit: a few lines more), sharing the room, writing: three reads
    expect(reads).toBeLessThan(3 * kept + 100)
  })
})
