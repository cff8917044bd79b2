/**
 * `simulate -o md` fits in a GitHub comment (65 536 characters; the API refuses a longer body), as
 * `diff -o md` does, through the same `fitMarkdownLines` (`src/cli/render/md.ts`): the denied-edge
 * table keeps its first rows with a note saying how many are left out, a line under the summary
 * says the comment is cut, `--md-limit N` sets the size (0: none), `-o json` is never cut. The
 * rows are still made one at a time: a cut run reads only the first edges, never all of them.
 */
import { describe, expect, it } from 'vitest'
import {
  renderSimulateMarkdown,
  simulatePieces,
  type SimulateOutput,
} from '../../src/cli/commands/simulate.js'
import { lazyArray } from '../../src/cli/output.js'
import { GITHUB_COMMENT_LIMIT } from '../../src/cli/render/md.js'
import { cli } from '../helpers/cli.js'

type Edge = SimulateOutput['denied'][number]

/** Denied edge `i`, made when read (counted in `reads`). */
function edge(i: number): Edge {
  return {
    src: { name: `web-${String(i).padStart(6, '0')}`, kind: 'workload' },
    dst: { name: 'db*1', kind: 'workload' },
    service: 'tcp/5432',
    outcome: 'blocked',
    outcomes: { allowed: 0, blocked: 1, 'would-be-blocked': 0, unenforced: 0 },
    alreadyRejected: 0,
    flows: 1,
    firstSeen: '2026-11-01T10:00:00.000Z',
    lastSeen: '2026-11-01T10:00:00.000Z',
    untimed: 0,
    deniedBy: ['default-deny'],
    examples: [
      {
        where: `flows.csv:${String(i + 2)}`,
        format: 'csv',
        src: '10.0.0.1',
        dst: '10.0.0.2',
        start: '2026-11-01T10:00:00.000Z',
      },
    ],
  }
}

/** A report of `n` denied edges, each made when read; `reads.n` counts the reads. */
function output(n: number, reads: { n: number }): SimulateOutput {
  return {
    at: '2026-11-01T12:00:00.000Z',
    asEnforced: false,
    source: { from: 'files', what: 'flows.csv' },
    flows: n,
    evaluated: n,
    outcomes: { allowed: 0, blocked: n, 'would-be-blocked': 0, unenforced: 0 },
    alreadyRejected: 0,
    wouldBlockIfEnforced: n,
    replies: 0,
    linkControl: 0,
    related: 0,
    unknownDirection: 0,
    skipped: {},
    untimed: 0,
    window: { first: '2026-11-01T10:00:00.000Z', last: '2026-11-01T10:00:00.000Z' },
    denied: lazyArray(n, (i) => {
      reads.n++
      return edge(i)
    }),
    rules: [{ rule: 'p/r', action: 'allow', hits: 0, expired: false, location: null }],
    unused: ['p/r'],
    expired: [],
  }
}

const SUMMARY = '200000 flows from flows.csv; rule expiry judged at 2026-11-01T12:00:00.000Z.'
const CUT = "This comment is cut to 65536 characters, GitHub's limit for a comment (`--md-limit`)."

describe('simulate -o md is cut to fit a GitHub comment', () => {
  it('200 000 denied edges: within 65 536 characters, the notes, only the first edges read', () => {
    const reads = { n: 0 }
    const o = output(200_000, reads)
    const pieces = [...simulatePieces(o, 'md')]
    const doc = `${pieces.join('')}\n` // emit ends it with a line end
    expect(doc.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT)
    expect(doc.length).toBeGreaterThan(GITHUB_COMMENT_LIMIT - 300) // the room is used
    const lines = doc.split('\n')
    expect(lines.slice(2, 5)).toEqual([SUMMARY, '', CUT])
    const rows = lines.filter((l) => l.startsWith('| blocked | web-')).length
    expect(rows).toBeGreaterThan(400)
    // each row shows its edge: the first ones, in order
    expect(lines.filter((l) => l.startsWith('| blocked | web-'))[rows - 1]).toContain(
      `web-${String(rows - 1).padStart(6, '0')}`,
    )
    const note = `… ${String(200_000 - rows)} denied edges left out here to fit a GitHub comment: \`-o json\` has them all.`
    expect(lines).toContain(note)
    // the note is after a blank line, not a table row; the rule-hit table is whole
    expect(lines[lines.indexOf(note) - 1]).toBe('')
    expect(lines.slice(-2)).toEqual(['| p/r | allow | 0 | unused |', ''])
    expect(doc).not.toContain('rules left out')
    // streaming: the edges are read as far as the room goes (sizing, then writing), not all
    expect(reads.n).toBeLessThan(4 * rows)
    // the pieces are lines, as before: no string of the whole table
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan(300)
  })

  it('a report that fits is whole, without the line or the notes; 0 is no limit', () => {
    const small = renderSimulateMarkdown(output(10, { n: 0 }))
    expect(small).not.toContain('cut to')
    expect(small).not.toContain('left out')
    expect(small.split('\n').filter((l) => l.startsWith('| blocked | web-'))).toHaveLength(10)
    const reads = { n: 0 }
    const whole = renderSimulateMarkdown(output(5_000, reads), 0)
    expect(whole.length).toBeGreaterThan(GITHUB_COMMENT_LIMIT)
    expect(whole).not.toContain('left out')
    expect(reads.n).toBe(5_000)
  })

  const W = 'test/fixtures/simulate-estate'
  const FLOWS = `${W}/flows.csv`
  const AT = '2026-11-01'

  it('--md-limit N on the command line: at most N characters, with the notes; JSON unchanged', async () => {
    const base = ['simulate', '-w', W, '--at', AT, '--flows', FLOWS]
    const whole = await cli(...base, '-o', 'md', '--md-limit', '0')
    expect(whole.code).toBe(0)
    expect(whole.stdout.length).toBeGreaterThan(1500)
    const r = await cli(...base, '-o', 'md', '--md-limit', '1500')
    expect(r.code).toBe(0)
    expect(r.stdout.length).toBeLessThanOrEqual(1500)
    expect(r.stdout).toContain(
      "This comment is cut to 1500 characters, GitHub's limit for a comment (`--md-limit`).",
    )
    expect(r.stdout).toMatch(/\n\n… \d+ denied edges? left out here to fit a GitHub comment/)
    // the default fits this small run: the same as no limit
    expect((await cli(...base, '-o', 'md')).stdout).toBe(whole.stdout)
    const json = await cli(...base, '-o', 'json')
    expect((await cli(...base, '-o', 'json', '--md-limit', '1500')).stdout).toBe(json.stdout)
    expect((await cli(...base, '-o', 'md', '--md-limit', 'x')).code).toBe(1)
  })
})
