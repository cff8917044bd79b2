/**
 * @module fitMarkdown (`src/cli/render/md.ts`, shared by `diff` and `simulate -o md`): a document
 * larger than GitHub's comment limit (65 536 characters, the REST API's "Body is too long
 * (maximum is 65536 characters)") is cut to fit, list by list; and `diff -o md` cuts every table
 * that grows with the diff, the Enforcement tables included.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { GITHUB_COMMENT_LIMIT, fitMarkdown, fitMarkdownLines } from '../../src/cli/render/md.js'
import { cli } from '../helpers/cli.js'

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

describe('diff -o md --md-limit with many Enforcement changes', () => {
  it('cuts the Enforcement entry table too: 200 changed entries fit 3 000 characters', async () => {
    const W = 'test/fixtures/diff-estate'
    const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-md-limit-'))
    try {
      // 200 entries, monitor in OLD and enforce in NEW: 200 rows of about 100 characters
      const modes = (mode: string): string =>
        'apiVersion: bulkhead.dev/v1\nkind: Enforcement\nmodes:\n' +
        Array.from(
          { length: 200 },
          (_, i) => `  - { selector: { app: svc-${String(i)} }, mode: ${mode} }\n`,
        ).join('')
      for (const [side, mode] of [
        ['old', 'monitor'],
        ['new', 'enforce'],
      ] as const) {
        cpSync(`${W}/policy`, path.join(dir, side), { recursive: true })
        writeFileSync(path.join(dir, side, 'enforcement.yaml'), modes(mode))
      }
      const args = [
        path.join(dir, 'old'),
        path.join(dir, 'new'),
        '-w',
        W,
        '--at',
        '2026-11-01T00:00:00Z',
      ]
      const full = await cli('diff', ...args, '-o', 'md', '--md-limit', '0')
      expect(full.stdout.length).toBeGreaterThan(3000)
      const r = await cli('diff', ...args, '-o', 'md', '--md-limit', '3000')
      expect(r.code).toBe(0)
      expect(r.stdout.length).toBeLessThanOrEqual(3000)
      const kept = r.stdout.split('\n').filter((l) => l.startsWith('| changed (mode)')).length
      expect(kept).toBeGreaterThan(0)
      expect(r.stdout).toContain(
        `… ${String(200 - kept)} Enforcement entry changes left out here to fit a GitHub comment`,
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
