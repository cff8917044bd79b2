/**
 * `bulkhead discover` text table: the pattern column says how many of an edge's flows have an
 * unsure direction, so that one unsure flow among thousands does not read as an unsure edge.
 */
import { describe, expect, it } from 'vitest'
import {
  emptyProfile,
  renderText,
  type DependencyMap,
  type Edge,
} from '../../src/discover/index.js'

const T = Date.UTC(2026, 10, 2, 10)

function edge(src: string, flows: number, unknownDirection: number): Edge {
  return {
    src,
    dst: 'db-1',
    protocol: 6,
    dstPort: 5432,
    flows,
    packets: flows,
    bytes: flows * 100,
    firstSeen: T,
    lastSeen: T + 60_000,
    activeDays: 1,
    profile: emptyProfile(),
    pattern: 'once',
    unknownDirection,
    rejected: 0,
  }
}

describe('discover text: direction unsure', () => {
  it('names the share of unsure flows, and plain "direction unsure" only when all are', () => {
    const map: DependencyMap = {
      window: { start: T, end: T + 3_600_000 },
      entities: [],
      edges: [edge('app-1', 1866, 1), edge('app-2', 4, 4), edge('app-3', 7, 0)],
      sources: [],
      diagnostics: [],
    }
    const rows = renderText(map).split('\n')
    const row = (src: string): string => rows.find((r) => r.startsWith(src)) ?? ''
    expect(row('app-1')).toMatch(/once \(direction unsure for 1 of 1866 flows\)\s*$/)
    expect(row('app-2')).toMatch(/once \(direction unsure\)\s*$/)
    expect(row('app-3')).toMatch(/once\s*$/)
  })
})

describe('discover text: services as the policy spells them', () => {
  it('names ESP, AH and GRE edges esp, ah and gre (not proto/50), and TCP with its port', () => {
    const at = (protocol: number, dstPort: number, src: string): Edge => ({
      ...edge(src, 1, 0),
      protocol,
      dstPort,
    })
    const map: DependencyMap = {
      window: { start: T, end: T + 3_600_000 },
      entities: [],
      edges: [at(50, 0, 'vpn-1'), at(51, 0, 'vpn-2'), at(47, 0, 'gw-1'), at(6, 5432, 'app-1')],
      sources: [],
      diagnostics: [],
    }
    const rows = renderText(map).split('\n')
    const row = (src: string): string => rows.find((r) => r.startsWith(src)) ?? ''
    expect(row('vpn-1')).toMatch(/\besp\b/)
    expect(row('vpn-2')).toMatch(/\bah\b/)
    expect(row('gw-1')).toMatch(/\bgre\b/)
    expect(row('app-1')).toMatch(/\btcp\/5432\b/)
    expect(rows.join('\n')).not.toMatch(/proto\//)
  })
})

describe('discover text: FIRST and LAST are days of the time zone, as DAYS and the patterns', () => {
  it('a month-end job at 23:30 on 31 August in New York (03:30 UTC on 1 September) shows 2026-08-31', () => {
    // 2026-09-01T03:30Z is 2026-08-31 23:30 EDT (UTC−4); its last flow at 2026-10-01T03:40Z is
    // 2026-09-30 23:40 EDT. In UTC the same instants are the 1st of September and of October.
    const first = Date.UTC(2026, 8, 1, 3, 30)
    const last = Date.UTC(2026, 9, 1, 3, 40)
    const map = (timeZone?: string): DependencyMap => ({
      window: { start: first, end: last + 60_000 },
      entities: [],
      edges: [{ ...edge('batch-1', 2, 0), firstSeen: first, lastSeen: last }],
      sources: [],
      diagnostics: [],
      ...(timeZone !== undefined ? { timeZone } : {}),
    })
    const row = (m: DependencyMap): string =>
      renderText(m)
        .split('\n')
        .find((r) => r.startsWith('batch-1')) ?? ''
    expect(row(map('America/New_York'))).toMatch(/\s2026-08-31\s+2026-09-30\s/)
    expect(row(map())).toMatch(/\s2026-09-01\s+2026-10-01\s/)
    // the window line stays in UTC instants
    expect(renderText(map('America/New_York'))).toContain('window 2026-09-01T03:30:00Z')
  })
})

describe('discover text: LAST is the last of the active days DAYS counts', () => {
  it('a connection open from 1 October 00:00 to 5 November 00:00 UTC shows LAST 2026-11-04, its 35th day', () => {
    // held-out (hE, s33): a pool connection 2026-10-01T00:00Z – 2026-11-05T00:00Z is active on
    // 1 October … 4 November (35 days: its end is exclusive), yet LAST read 2026-11-05, a day
    // the edge was not active on. By hand: day numbers 20727 (2026-10-01) … 20761 (2026-11-04).
    const first = Date.UTC(2026, 9, 1)
    const last = Date.UTC(2026, 10, 5)
    const days = Array.from({ length: 35 }, (_, i) => first / 86_400_000 + i)
    const map: DependencyMap = {
      window: { start: first, end: last },
      entities: [],
      edges: [
        { ...edge('web-1', 1, 0), firstSeen: first, lastSeen: last, activeDays: 35, days },
        // a short flow over midnight counts on its start day only: LAST is that day
        {
          ...edge('backup-1', 1, 0),
          firstSeen: Date.UTC(2026, 9, 10, 23, 30),
          lastSeen: Date.UTC(2026, 9, 11, 0, 30),
          days: [Date.UTC(2026, 9, 10) / 86_400_000],
        },
      ],
      sources: [],
      diagnostics: [],
    }
    const row = (src: string): string =>
      renderText(map)
        .split('\n')
        .find((r) => r.startsWith(src)) ?? ''
    expect(row('web-1')).toMatch(/\s35\s+2026-10-01\s+2026-11-04\s/)
    expect(row('backup-1')).toMatch(/\s2026-10-10\s+2026-10-10\s/)
  })
})
