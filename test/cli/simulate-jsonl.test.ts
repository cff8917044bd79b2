/**
 * `simulate -o jsonl`: a line per flow with its own verdict, from flow files and from the store.
 * Each line is checked against `bulkhead eval` of the same flow at its own time (the estate
 * `hand-b`, whose verdicts test/cli/hand-verdicts.test.ts works out by hand, has no expiring rule,
 * so expiry judged at the flow's time and at `--at` agree), and the lines together against the
 * report of `-o json`.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { SimulateFlowLine } from '../../src/cli/commands/simulate.js'
import { cli } from '../helpers/cli.js'
import { simulateJson } from '../helpers/verdict-table.js'

const B = 'test/fixtures/hand-b'
const AT = '2026-10-15T10:00:00Z'
const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-simulate-jsonl-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

type Line = SimulateFlowLine & {
  src: string
  dst: string
  start: string
  observedAction: string
  source: { file: string; line: number }
}

function linesOf(stdout: string): Line[] {
  return stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Line)
}

/** What a line says of its verdict, without where the flow was read from. */
function verdictKey(l: Line): string {
  const rule = l.rule === null ? l.by : `${l.rule.policy}/${l.rule.id}`
  return [l.src, l.dst, l.service, l.start, l.srcEntity.name, l.dstEntity.name, l.decision]
    .concat([rule, l.srcMode, l.dstMode, l.mode, l.outcome])
    .join(' ')
}

describe('simulate -o jsonl', () => {
  it('gives_every_flow_read_the_verdict_eval_gives_it_at_its_time', async () => {
    const r = await cli('simulate', '-w', B, '--flows', `${B}/flows.csv`, '--at', AT, '-o', 'jsonl')
    expect(r.code, r.stderr).toBe(0)
    const lines = linesOf(r.stdout)
    // every record of the file (lines 2–32), in the order read
    expect(lines.map((l) => l.source.line)).toEqual(Array.from({ length: 31 }, (_, i) => i + 2))
    for (const l of lines) {
      const where = `${B}/flows.csv:${String(l.source.line)}`
      // a reply is judged as the connection it answers: eval asks about that connection
      const [src, dst] = l.reply ? [l.dst, l.src] : [l.src, l.dst]
      const e = await cli(
        'eval',
        `${src} -> ${dst} ${l.service}`,
        '-w',
        B,
        '--at',
        l.start,
        '-o',
        'json',
      )
      expect(e.code, `${where} ${e.stderr}`).toBe(0)
      const j = JSON.parse(e.stdout) as {
        decision: string
        by: string
        rule: unknown
        action: unknown
        srcMode: string
        dstMode: string
        outcome: string
        src: { name: string; kind: string }
        dst: { name: string; kind: string }
      }
      expect([l.decision, l.by, l.rule, l.action], where).toEqual([
        j.decision,
        j.by,
        j.rule,
        j.action,
      ])
      const [se, de] = l.reply ? [j.dst, j.src] : [j.src, j.dst]
      expect([l.srcMode, l.dstMode], where).toEqual(
        l.reply ? [j.dstMode, j.srcMode] : [j.srcMode, j.dstMode],
      )
      expect(l.outcome, where).toBe(
        l.decision === 'denied' && l.observedAction === 'reject' ? 'already-rejected' : j.outcome,
      )
      // workloads and named externals by name; other addresses as the dependency map groups them
      for (const [got, want] of [
        [l.srcEntity, se],
        [l.dstEntity, de],
      ] as const) {
        expect(got.kind, where).toBe(want.kind)
        if (want.kind !== 'unmanaged') expect(got.name, where).toBe(want.name)
      }
    }
    // the report's counts go to stderr
    expect(r.stderr).toContain('outcomes: allowed 16, blocked 6, would-be-blocked 8, unenforced 0')
  })

  it('adds_up_to_the_report_of_json_output', async () => {
    const r = await cli('simulate', '-w', B, '--flows', `${B}/flows.csv`, '--at', AT, '-o', 'jsonl')
    expect(r.code, r.stderr).toBe(0)
    const lines = linesOf(r.stdout)
    const j = await simulateJson(B, AT)
    const outcomes: Record<string, number> = {}
    const hits: Record<string, number> = {}
    for (const l of lines) {
      outcomes[l.outcome] = (outcomes[l.outcome] ?? 0) + 1
      if (l.rule !== null) {
        const k = `${l.rule.policy}/${l.rule.id}`
        hits[k] = (hits[k] ?? 0) + 1
      }
    }
    expect(outcomes).toEqual({
      ...Object.fromEntries(Object.entries(j.outcomes).filter(([, n]) => n > 0)),
      'already-rejected': j.alreadyRejected,
    })
    expect(hits).toEqual(
      Object.fromEntries(j.rules.filter((x) => x.hits > 0).map((x) => [x.rule, x.hits])),
    )
    // the denied lines by edge are the report's denied edges
    const edges: Record<string, number> = {}
    for (const l of lines) {
      if (l.decision !== 'denied') continue
      const [s, d] = l.reply ? [l.dstEntity, l.srcEntity] : [l.srcEntity, l.dstEntity]
      const k = `${s.name} -> ${d.name} ${l.service}`
      edges[k] = (edges[k] ?? 0) + 1
    }
    expect(edges).toEqual(
      Object.fromEntries(
        j.denied.map((e) => [`${e.src.name} -> ${e.dst.name} ${e.service}`, e.flows]),
      ),
    )
  })

  it('judges_the_stored_flows_one_by_one_by_start_within_the_window_and_gates', async () => {
    const ws = path.join(root, 'hand-b')
    cpSync(B, ws, { recursive: true })
    const ingest = await cli('ingest', '-w', ws, path.join(ws, 'flows.csv'), '-o', 'json')
    expect(ingest.code, ingest.stderr).toBe(0)
    const files = await cli(
      'simulate',
      '-w',
      ws,
      '--flows',
      path.join(ws, 'flows.csv'),
      '--at',
      AT,
      '-o',
      'jsonl',
    )
    const stored = await cli('simulate', '-w', ws, '--at', AT, '-o', 'jsonl')
    expect(stored.code, stored.stderr).toBe(0)
    const fromStore = linesOf(stored.stdout)
    // the same verdicts as the file's, the store's flows ordered by start
    expect(fromStore.map(verdictKey).sort()).toEqual(linesOf(files.stdout).map(verdictKey).sort())
    const starts = fromStore.map((l) => l.start)
    expect(starts).toEqual([...starts].sort())
    expect(stored.stderr).toContain(`simulated 31 flows (31 distinct verdicts) from the store`)
    // --since/--until select the flows of the window only
    const day = await cli(
      'simulate',
      '-w',
      ws,
      '--at',
      AT,
      '--since',
      '2026-10-15',
      '--until',
      '2026-10-16',
      '-o',
      'jsonl',
    )
    expect(day.code, day.stderr).toBe(0)
    const inDay = linesOf(day.stdout)
    expect(inDay.length).toBe(fromStore.filter((l) => l.start.startsWith('2026-10-15')).length)
    expect(inDay.length).toBeGreaterThan(20)
    // --fail-on-block gates as with the report: the lines are written, exit 2
    const gate = await cli('simulate', '-w', ws, '--at', AT, '--fail-on-block', '-o', 'jsonl')
    expect(gate.code).toBe(2)
    expect(linesOf(gate.stdout).length).toBe(31)
  })
})
