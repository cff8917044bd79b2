/**
 * @module GcpReports' journal: what a read remembers, as the store keeps it between commands
 * (store `gcp_reports`), is what the read still remembers after it. Expected values by hand from
 * the rule in ingest/gcp-reports.ts.
 */
import { describe, expect, it } from 'vitest'
import { GcpReports } from '../../src/ingest/gcp-reports.js'

const KEY = '6|10.0.0.8|40001|10.0.0.5|443'
const at = (s: number, reporter = 'SRC') => ({
  reporter,
  start: s * 1000,
  end: s * 1000 + 5000,
  startText: `t${String(s)}`,
})

describe('GcpReports journal', () => {
  it('a seeded report matched by a new one is journalled removed; an unmatched new one added', () => {
    const r = new GcpReports()
    r.seed([{ key: KEY, ...at(0) }])
    // DEST, 1 s later: the other VM's report of the seeded one
    expect(r.check(KEY, at(1, 'DEST'))).toBe(true)
    // 100 s later: other traffic
    expect(r.check(KEY, at(100, 'DEST'))).toBe(false)
    expect(r.drain()).toEqual({
      added: [{ key: KEY, ...at(100, 'DEST') }],
      removed: [{ key: KEY, ...at(0) }],
    })
    expect(r.drain()).toEqual({ added: [], removed: [] })
  })

  it('reports pushed out (more than 16 of one 5-tuple) are not kept: 16 added of 17', () => {
    const r = new GcpReports()
    // 17 SRC reports 100 s apart: none matches another (same reporter, other start_time)
    for (let i = 0; i < 17; i++) expect(r.check(KEY, at(i * 100))).toBe(false)
    const { added, removed } = r.drain()
    expect(removed).toEqual([])
    expect(added.map((a) => a.start / 1000)).toEqual(
      Array.from({ length: 16 }, (_, i) => (i + 1) * 100),
    )
  })
})
