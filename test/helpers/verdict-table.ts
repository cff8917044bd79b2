/**
 * @module Tables of hand-computed verdicts (test/cli/hand-verdicts.test.ts,
 * test/policy/hand-verdicts-hc.test.ts): one case a line, checked against `bulkhead eval -o json`;
 * and the parts of `bulkhead simulate -o json` those tests read.
 */
import { expect } from 'vitest'
import { cli } from './cli.js'

/** Splits `at | flow | decision | rule (or by) | outcome of a denied flow`, one case a line. */
export function cases(table: string): string[][] {
  return table
    .trim()
    .split('\n')
    .map((l) => l.split('|').map((c) => c.trim()))
}

/**
 * `bulkhead eval FLOW -w WS --at AT -o json` as `decision|by|outcome`: `by` is the deciding rule
 * as `policy/id`, else `default-deny`, `link-control` or `related`; the outcome is empty for an
 * allowed flow.
 */
export async function evalOne(ws: string, at: string, flow: string): Promise<string> {
  const r = await cli('eval', flow, '-w', ws, '--at', at, '-o', 'json')
  expect(r.code, r.stderr).toBe(0)
  const j = JSON.parse(r.stdout) as {
    decision: string
    by: string
    rule: { policy: string; id: string } | null
    outcome: string
  }
  const by = j.rule ? `${j.rule.policy}/${j.rule.id}` : j.by
  return [j.decision, by, j.decision === 'allowed' ? '' : j.outcome].join('|')
}

/** The parts of `bulkhead simulate -o json` the hand-verdict tests read. */
export interface SimJson {
  outcomes: Record<string, number>
  alreadyRejected: number
  linkControl: number
  related: number
  readSkipped: unknown
  denied: {
    src: { name: string }
    dst: { name: string }
    service: string
    outcome: string
    flows: number
    deniedBy: string[]
  }[]
  rules: { rule: string; hits: number; expired: boolean }[]
  unused: string[]
}

/** `bulkhead simulate -w WS --flows WS/flows.csv --at AT -o json` (exit 0), with `extra` options. */
export async function simulateJson(ws: string, at: string, ...extra: string[]): Promise<SimJson> {
  const r = await cli(
    'simulate',
    '-w',
    ws,
    '--flows',
    `${ws}/flows.csv`,
    '--at',
    at,
    '-o',
    'json',
    ...extra,
  )
  expect(r.code, r.stderr).toBe(0)
  return JSON.parse(r.stdout) as SimJson
}
