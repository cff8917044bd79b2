/**
 * `simulate -o text|md|csv` is written in pieces, a line or two per denied edge, as `-o json`
 * is: a report of 4.6 M denied edges (1 000 000 flows … 5 000 000 over the 20 000-workload bench
 * estate) made 700 MB of text, over the 512 MiB a V8 string holds, and the run ended in
 * `RangeError: Invalid string length` after all its work.
 */
import { describe, expect, it } from 'vitest'
import {
  renderSimulateCsv,
  renderSimulateMarkdown,
  renderSimulateText,
  simulatePieces,
  type SimulateOutput,
} from '../../src/cli/commands/simulate.js'

const EDGE: SimulateOutput['denied'][number] = {
  src: { name: 'web-1', kind: 'workload' },
  dst: { name: 'db|1', kind: 'workload' },
  service: 'tcp/5432',
  outcome: 'blocked',
  outcomes: { allowed: 0, blocked: 2, 'would-be-blocked': 0, unenforced: 0 },
  alreadyRejected: 0,
  flows: 2,
  firstSeen: '2026-11-01T10:00:00.000Z',
  lastSeen: '2026-11-01T11:00:00.000Z',
  untimed: 0,
  deniedBy: ['default-deny'],
  examples: [
    {
      where: 'a,b.csv:2',
      format: 'csv',
      src: '10.0.0.1',
      dst: '10.0.0.2',
      start: '2026-11-01T10:00:00.000Z',
    },
  ],
}

/** A report of `n` denied edges (the same one: cheap), one rule, nothing else. */
function output(n: number): SimulateOutput {
  return {
    at: '2026-11-01T12:00:00.000Z',
    asEnforced: false,
    source: { from: 'files', what: 'a,b.csv' },
    flows: 2 * n,
    evaluated: 2 * n,
    outcomes: { allowed: 0, blocked: 2 * n, 'would-be-blocked': 0, unenforced: 0 },
    alreadyRejected: 0,
    wouldBlockIfEnforced: 2 * n,
    replies: 0,
    linkControl: 0,
    related: 0,
    unknownDirection: 0,
    skipped: {},
    untimed: 0,
    window: { first: '2026-11-01T10:00:00.000Z', last: '2026-11-01T11:00:00.000Z' },
    denied: Array.from({ length: n }, () => EDGE),
    rules: [{ rule: 'p/r', action: 'allow', hits: 0, expired: false, location: null }],
    unused: ['p/r'],
    expired: [],
  }
}

describe('simulate -o text|md|csv in pieces', () => {
  const whole: Record<string, (o: SimulateOutput) => string> = {
    text: renderSimulateText,
    md: (o) => renderSimulateMarkdown(o, 0), // uncut (--md-limit 0): every edge's row
    csv: renderSimulateCsv,
  }
  for (const format of ['text', 'md', 'csv']) {
    it(`${format}: the same text, no piece longer than an edge's lines`, () => {
      for (const n of [0, 1, 20_000]) {
        const o = output(n)
        const pieces = [...simulatePieces(o, format, 0)]
        expect(pieces.join('')).toBe((whole[format] as (o: SimulateOutput) => string)(o))
        expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan(200)
        if (n > 0) expect(pieces.length).toBeGreaterThan(n)
      }
    })
  }
})
