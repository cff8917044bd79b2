/**
 * The calendar views of the dependency map: active days of long connections, and time zones of
 * the calendar views (`--time-zone`, the workspace's `timeZone`): hour-of-week and
 * day-of-month profiles, active days and patterns are those of the zone. The SQL aggregation
 * (DuckDB's ICU) is checked against Node's `Intl` on random instants in zones with DST,
 * half-hour and 45-minute offsets.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import {
  canonicalTimeZone,
  localDay,
  localWallClock,
  type Inventory,
} from '../../src/core/index.js'
import { buildDependencyMap, edgeFigures, windowDays, type Edge } from '../../src/discover/index.js'
import { MAX_SPAN_DAYS } from '../../src/discover/aggregate.js'
import {
  activeDaysOf,
  hourSlotsOf,
  profileOf,
  type FlowSpan,
} from '../../src/discover/time-profile.js'
import { loadWorkspace } from '../../src/policy/files.js'
import { openDuckDbStore } from '../../src/store/index.js'
import { cli } from '../helpers/cli.js'
import { SEED } from '../helpers/model.js'
import { ZONES } from './zones.js'

const DAY = 86_400_000
const HOUR = 3_600_000
const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-time-zone-'))
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

const INVENTORY = `apiVersion: bulkhead.dev/v1
kind: Inventory
workloads:
  - { name: app-1, addresses: [10.0.0.1], labels: { role: app } }
  - { name: backup-1, addresses: [10.0.0.2], labels: { role: backup } }
`

/**
 * A workspace whose store holds one flow app-1 → backup-1 tcp/873 at each of `starts` (ms),
 * lasting `lengthMs` (default one minute), or over each given span.
 */
async function workspaceWith(
  name: string,
  starts: readonly (number | FlowSpan)[],
  yaml = '',
  lengthMs = 60_000,
): Promise<string> {
  const ws = path.join(root, name)
  mkdirSync(path.join(ws, 'inventory'), { recursive: true })
  writeFileSync(path.join(ws, 'inventory', 'hosts.yaml'), INVENTORY)
  if (yaml !== '') writeFileSync(path.join(ws, 'bulkhead.yaml'), yaml)
  const lines = starts.map((s, i) => {
    const f = typeof s === 'number' ? { start: s, end: s + lengthMs } : s
    return `10.0.0.1,10.0.0.2,${40000 + (i % 20000)},873,tcp,${new Date(f.start).toISOString()},${new Date(f.end).toISOString()}`
  })
  const flows = path.join(ws, 'flows.csv')
  writeFileSync(flows, `src_ip,dst_ip,src_port,dst_port,protocol,start,end\n${lines.join('\n')}\n`)
  const r = await cli('ingest', '-w', ws, flows, '-o', 'json')
  expect(r.code, r.stderr).toBe(0)
  return ws
}

async function onlyEdge(
  ws: string,
  timeZone?: string,
): Promise<{ edge: Edge; zone: string | undefined }> {
  const loaded = await loadWorkspace(ws, new Date())
  const inventory: Inventory = loaded.inventory
  const store = await openDuckDbStore(path.join(ws, '.bulkhead', 'store.duckdb'), {
    readOnly: true,
  })
  try {
    const map = await buildDependencyMap(store, inventory, {
      expect: [],
      ...(timeZone !== undefined ? { timeZone } : {}),
    })
    expect(map.edges).toHaveLength(1)
    return { edge: map.edges[0] as Edge, zone: map.timeZone }
  } finally {
    await store.close()
  }
}

/** Weekday (0 = Monday), hour, day of month and local day number of `ms` in `zone`, by Intl. */
function localParts(ms: number, zone: string): { slot: number; dom: number; day: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    weekday: 'short',
    hour: 'numeric',
    hourCycle: 'h23',
    day: 'numeric',
  }).formatToParts(ms)
  const get = (t: string): string => parts.find((p) => p.type === t)?.value ?? ''
  const weekday = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(get('weekday'))
  return {
    slot: weekday * 24 + Number(get('hour')),
    dom: Number(get('day')) - 1,
    day: localDay(ms, zone),
  }
}

describe('active days', () => {
  it('a connection open for 30 days (a database pool, logged once at its end) is active on each day', async () => {
    // five pool connections opened on 2026-09-01 at 09:00 and closed 30 days later, as Zeek and
    // conntrack log them: one record each
    const start = Date.UTC(2026, 8, 1, 9)
    const ws = await workspaceWith(
      'pool',
      [0, 1, 2, 3, 4].map((i) => start + i * 1000),
      '',
      30 * DAY,
    )
    const { edge } = await onlyEdge(ws)
    expect(edge.flows).toBe(5)
    expect(edge.activeDays).toBe(31)
    expect(edge.days).toEqual(Array.from({ length: 31 }, (_, i) => Math.floor(start / DAY) + i))
    expect(edge.longestMs).toBe(30 * DAY)
    // opened on a Tuesday at 09:00, open around the clock: not business-hours, not weekly
    expect(edge.pattern).toBe('continuous')
    // open a week or more: each flow in every hour of the week, and once on each day of month
    // its days touch (1–30 September, 1 October: slots 0–29)
    expect(edge.profile.hourOfWeek).toEqual(new Array(168).fill(5))
    expect(edge.profile.dayOfMonth).toEqual([...new Array(30).fill(5), 0])
  })

  it('one long connection in a long window is rare, and grouping keeps the longest flow', async () => {
    const start = Date.UTC(2026, 8, 1, 9)
    // two connections of two days each, 60 days apart, in a 62-day window
    const ws = await workspaceWith('long-rare', [start, start + 60 * DAY], '', 2 * DAY)
    const { edge } = await onlyEdge(ws)
    expect(edge.activeDays).toBe(6) // each two-day connection touches 3 calendar days
    expect(edge.pattern).toBe('rare')
    const merged = edgeFigures([edge, { ...edge, longestMs: 60_000, days: [] }], 62)
    expect(merged.longestMs).toBe(2 * DAY)
    expect(merged.pattern).toBe('rare')
  })

  it('a span is read at most MAX_SPAN_DAYS past its start day', async () => {
    const start = Date.UTC(2026, 0, 1)
    const ws = await workspaceWith('damaged', [start], '', 5000 * DAY)
    const { edge } = await onlyEdge(ws)
    expect(edge.activeDays).toBe(MAX_SPAN_DAYS + 1)
  })
})

describe('core time zones', () => {
  it('canonicalTimeZone reads IANA names in any case and refuses offsets and unknown names', () => {
    expect(canonicalTimeZone('europe/berlin')).toBe('Europe/Berlin')
    expect(canonicalTimeZone('Etc/UTC')).toBe('UTC')
    expect(canonicalTimeZone('UTC')).toBe('UTC')
    expect(canonicalTimeZone('Etc/GMT-5')).toBe('Etc/GMT-5')
    for (const bad of ['+05:30', 'Nowhere/City', '', 'Europe/Berlin; DROP TABLE', "Europe/O'Brien"])
      expect(canonicalTimeZone(bad), bad).toBeUndefined()
  })

  it('localDay is the UTC day number in UTC and the local date across a DST change', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_102_444_800_000 }), (ms) => {
        expect(localDay(ms, 'UTC')).toBe(Math.floor(ms / DAY))
      }),
      { seed: SEED, numRuns: 500 },
    )
    // 2026-03-29 01:30 UTC is 03:30 in Berlin (CEST since 01:00 UTC); 2026-03-28 23:30 UTC is
    // 00:30 on the 29th (CET)
    const mar29 = Date.UTC(2026, 2, 29) / DAY
    expect(localDay(Date.UTC(2026, 2, 29, 1, 30), 'Europe/Berlin')).toBe(mar29)
    expect(localDay(Date.UTC(2026, 2, 28, 23, 30), 'Europe/Berlin')).toBe(mar29)
    expect(localDay(Date.UTC(2026, 2, 28, 22, 30), 'Europe/Berlin')).toBe(mar29 - 1)
    // Kathmandu is UTC+5:45: 18:15 UTC is midnight
    expect(localDay(Date.UTC(2026, 0, 1, 18, 14), 'Asia/Kathmandu')).toBe(mar29 - 87)
    expect(localDay(Date.UTC(2026, 0, 1, 18, 15), 'Asia/Kathmandu')).toBe(mar29 - 86)
  })

  it('windowDays counts the calendar days of the zone', () => {
    // 2026-01-01 20:00 UTC to 2026-01-02 03:00 UTC: two UTC days, one day in Singapore (UTC+8)
    const w = { start: Date.UTC(2026, 0, 1, 20), end: Date.UTC(2026, 0, 2, 3) }
    expect(windowDays(w)).toBe(2)
    expect(windowDays(w, 'Asia/Singapore')).toBe(1)
    expect(windowDays(w, 'America/New_York')).toBe(1)
  })

  it('windowDays does not count the day the window ends on at 00:00:00.000 (its end is exclusive)', () => {
    // 63 days, Monday 2026-09-07 00:00 to Monday 2026-11-09 00:00 UTC: the last flow ended as
    // the 9th began, so the window holds 9 weeks, not 64 days
    const w = { start: Date.UTC(2026, 8, 7), end: Date.UTC(2026, 10, 9) }
    expect(windowDays(w)).toBe(63)
    expect(windowDays({ ...w, end: w.end + 1 })).toBe(64)
    // 00:00 in Berlin (CET, UTC+1) is 23:00 UTC the day before
    expect(windowDays({ start: w.start, end: Date.UTC(2026, 10, 8, 23) }, 'Europe/Berlin')).toBe(63)
    // a window of one instant is one day
    expect(windowDays({ start: w.start, end: w.start })).toBe(1)
  })
})

describe('discover text: FIRST and LAST are the first and last active days', () => {
  it('a short flow over midnight shows its start day, a flow ending at 00:00:00.000 not that day', async () => {
    // held-out check (s33 hF): LAST was the day of the edge's last end instant, so a month-end
    // job 23:30-00:30 on 30 September showed LAST 2026-10-01 (DAYS 2: 31 Aug and 30 Sep), and a
    // job 23:00-00:00 showed the day it ended at midnight, which README says it is not on
    const row = async (name: string, spans: FlowSpan[]): Promise<string> => {
      const ws = await workspaceWith(name, spans)
      const r = await cli('discover', '-w', ws)
      expect(r.code, r.stderr).toBe(0)
      return r.stdout.split('\n').find((l) => l.startsWith('app-1')) ?? ''
    }
    const overMidnight = await row('last-over-midnight', [
      { start: Date.UTC(2026, 7, 31, 23), end: Date.UTC(2026, 8, 1) },
      { start: Date.UTC(2026, 8, 30, 23, 30), end: Date.UTC(2026, 9, 1, 0, 30) },
    ])
    expect(overMidnight).toMatch(/\s2\s+2026-08-31\s+2026-09-30\s+month-end/)
    const toMidnight = await row('last-to-midnight', [
      { start: Date.UTC(2026, 8, 30, 23), end: Date.UTC(2026, 9, 1) },
    ])
    expect(toMidnight).toMatch(/\s1\s+2026-09-30\s+2026-09-30\s+once/)
  })
})

describe('a --since/--until window', () => {
  it('ends at --until, however long a flow selected by its start runs on', async () => {
    // held-out (hF, s33): --since 2026-10-01 --until 2026-11-01 with a flow open from 19 October
    // to 9 November made a 39-day window: no discover/short-window for a window of one month
    // end. By hand: the window is 1 October 02:00 (the first flow) to 1 November 00:00, 31 days
    const ws = await workspaceWith('until-clips', [
      Date.UTC(2026, 9, 1, 2),
      { start: Date.UTC(2026, 9, 19), end: Date.UTC(2026, 10, 9) },
      Date.UTC(2026, 9, 31, 23),
    ])
    const loaded = await loadWorkspace(ws, new Date())
    const store = await openDuckDbStore(path.join(ws, '.bulkhead', 'store.duckdb'), {
      readOnly: true,
    })
    try {
      const since = Date.UTC(2026, 9, 1)
      const until = Date.UTC(2026, 10, 1)
      const map = await buildDependencyMap(store, loaded.inventory, { since, until })
      expect(map.window).toEqual({ start: Date.UTC(2026, 9, 1, 2), end: until })
      expect(map.diagnostics.map((d) => d.code)).toContain('discover/short-window')
      expect(windowDays(map.window!)).toBe(31)
      // without --until the window is the flows' span
      const open = await buildDependencyMap(store, loaded.inventory, { since })
      expect(open.window?.end).toBe(Date.UTC(2026, 10, 9))
    } finally {
      await store.close()
    }
  })
})

describe('buildDependencyMap counts the weekdays its window holds', () => {
  it('business-hours needs 60 % of the real weekdays, and weekend days are not weekdays', async () => {
    // Saturday 5 to Sunday 20 September 2026: 16 days, 10 weekdays. Four flows an hour apart on
    // 5 weekdays and one on each weekend end of the window: 20 of 22 flow-hours in business
    // hours, active on 5 of 10 weekdays (50 %). Read as 5/7 of 16 days (11.4) with every active
    // day counted (7 ≥ 6.86), it was business-hours; 6 weekdays of 10 are (hand case wsD)
    const weekdays = (days: number[]): number[] =>
      days.flatMap((d) => [10, 11, 12, 13].map((h) => Date.UTC(2026, 8, d, h)))
    const ends = [Date.UTC(2026, 8, 5, 10), Date.UTC(2026, 8, 20, 10)]
    const five = await workspaceWith('weekdays-five', [...ends, ...weekdays([7, 8, 9, 10, 11])])
    expect((await onlyEdge(five)).edge).toMatchObject({ activeDays: 7, pattern: 'rare' })
    const six = await workspaceWith('weekdays-six', [...ends, ...weekdays([7, 8, 9, 10, 11, 14])])
    expect((await onlyEdge(six)).edge).toMatchObject({ activeDays: 8, pattern: 'business-hours' })
  })
})

describe('buildDependencyMap in a time zone', () => {
  it('an edge on 60 % of the weekdays is business-hours when its window ends at midnight', async () => {
    // held-out check (s33 hF): 9 weeks from Monday 2026-09-07, 45 weekdays; the edge's flows
    // are 10:00-10:05 on the first 27 weekdays and a Sunday 23:00-00:00 flow ending the window
    // at Monday 2026-11-09 00:00:00.000 (exclusive, not a day of the window): 27 active weekdays
    // = 60 % of 45, 27/28 of its flow-hours in business hours. Counting the 9th as a 64th day
    // (a 46th weekday) asked for 27.6 and made it rare.
    const weekdays: FlowSpan[] = []
    for (let d = 0; weekdays.length < 27; d++) {
      const t = Date.UTC(2026, 8, 7 + d, 10)
      if (new Date(t).getUTCDay() % 6 !== 0) weekdays.push({ start: t, end: t + 300_000 })
    }
    const last = { start: Date.UTC(2026, 10, 8, 23), end: Date.UTC(2026, 10, 9) }
    const ws = await workspaceWith('window-end-midnight', [...weekdays, last])
    const { edge } = await onlyEdge(ws)
    expect(edge.activeDays).toBe(28)
    expect(edge.pattern).toBe('business-hours')
  })

  it('a nightly backup at 02:30 Singapore time is nightly there and not in UTC', async () => {
    // 40 days at 18:30 UTC = 02:30 the next day in Singapore (UTC+8, no DST)
    const starts = Array.from({ length: 40 }, (_, i) => Date.UTC(2026, 8, 1, 18, 30) + i * DAY)
    const ws = await workspaceWith('singapore', starts)
    const utc = await onlyEdge(ws)
    expect(utc.zone).toBeUndefined()
    expect(utc.edge.pattern).toBe('continuous')
    const sg = await onlyEdge(ws, 'Asia/Singapore')
    expect(sg.zone).toBe('Asia/Singapore')
    expect(sg.edge.pattern).toBe('nightly')
    const hours = new Set(
      sg.edge.profile.hourOfWeek.flatMap((n, slot) => (n > 0 ? [slot % 24] : [])),
    )
    expect([...hours]).toEqual([2])
    expect(sg.edge.days).toEqual(utc.edge.days?.map((d) => d + 1))
  })

  it("the workspace's timeZone applies to discover; --time-zone overrides it", async () => {
    const starts = Array.from({ length: 40 }, (_, i) => Date.UTC(2026, 8, 1, 18, 30) + i * DAY)
    const ws = await workspaceWith(
      'workspace-zone',
      starts,
      'apiVersion: bulkhead.dev/v1\nkind: Workspace\ntimeZone: asia/singapore\n',
    )
    const inZone = await cli('discover', '-w', ws, '-o', 'json', '--expect', 'daily')
    expect(inZone.code, inZone.stderr).toBe(0)
    const j = JSON.parse(inZone.stdout) as { timeZone: string; edges: { pattern: string }[] }
    expect(j.timeZone).toBe('Asia/Singapore')
    expect(j.edges[0]?.pattern).toBe('nightly')
    const text = await cli('discover', '-w', ws, '--expect', 'daily')
    expect(text.stdout).toContain('days and patterns in Asia/Singapore')
    const utc = await cli('discover', '-w', ws, '-o', 'json', '--time-zone', 'UTC')
    const u = JSON.parse(utc.stdout) as { timeZone: string; edges: { pattern: string }[] }
    expect(u.timeZone).toBe('UTC')
    expect(u.edges[0]?.pattern).toBe('continuous')
    const rec = await cli('recommend', '-w', ws, '--dry-run', '-o', 'json')
    expect(rec.code, rec.stderr).toBe(0)
    const rules = (JSON.parse(rec.stdout) as { rules: { pattern: string }[] }).rules
    expect(rules.map((r) => r.pattern)).toEqual(['nightly'])
  })

  it('bad zones: --time-zone is cli/usage, the workspace file workspace/unknown-time-zone at its line', async () => {
    const ws = await workspaceWith('bad-zone', [Date.UTC(2026, 8, 1)])
    for (const verb of ['discover', 'recommend']) {
      const r = await cli(verb, '-w', ws, '--time-zone', '+05:30')
      expect(r.code, verb).toBe(1)
      expect(r.stderr).toContain('error cli/usage: --time-zone: "+05:30" is not an IANA time zone')
    }
    writeFileSync(
      path.join(ws, 'bulkhead.yaml'),
      'apiVersion: bulkhead.dev/v1\nkind: Workspace\ntimeZone: Mars/Olympus_Mons\n',
    )
    const loaded = await loadWorkspace(ws, new Date())
    expect(loaded.diagnostics).toContainEqual(
      expect.objectContaining({
        code: 'workspace/unknown-time-zone',
        location: expect.objectContaining({ line: 3, column: 11 }) as unknown,
      }),
    )
  })

  it('profiles and days in SQL equal Intl on random instants (DST, +5:45, -3:30, +12:45)', async () => {
    const instants = fc.sample(
      fc.integer({ min: Date.UTC(2019, 0, 1), max: Date.UTC(2031, 0, 1) }),
      {
        seed: SEED,
        numRuns: 400,
      },
    )
    // the hours around DST changes of Berlin and Lord Howe (a 30-minute DST) in 2026 as well
    const edges = [
      Date.UTC(2026, 2, 29, 1),
      Date.UTC(2026, 9, 25, 1),
      Date.UTC(2026, 3, 4, 15),
      Date.UTC(2026, 9, 3, 15),
    ].flatMap((t) => [-HOUR, -1, 0, 1, HOUR / 2, HOUR].map((d) => t + d))
    const starts = [...instants, ...edges]
    // flows of no length: each is in the slots of its start alone
    const ws = await workspaceWith('random', starts, '', 0)
    for (const zone of ZONES) {
      const want = {
        hourOfWeek: new Array<number>(168).fill(0),
        dayOfMonth: new Array<number>(31).fill(0),
      }
      const days = new Set<number>()
      for (const s of starts) {
        const p = localParts(s, zone)
        want.hourOfWeek[p.slot] = (want.hourOfWeek[p.slot] ?? 0) + 1
        want.dayOfMonth[p.dom] = (want.dayOfMonth[p.dom] ?? 0) + 1
        days.add(p.day)
      }
      const { edge } = await onlyEdge(ws, zone)
      expect(edge.profile, zone).toEqual(want)
      expect(edge.days, zone).toEqual([...days].sort((a, b) => a - b))
    }
  }, 60_000)

  it('SQL equals the object path (profileOf, activeDaysOf) on random flows of any length, also across DST changes', async () => {
    const lengths = fc.oneof(
      fc.constant(0),
      fc.integer({ min: 1, max: 59_999 }),
      fc.integer({ min: 60_000, max: HOUR - 1 }),
      fc.integer({ min: HOUR, max: 12 * HOUR }),
      fc.integer({ min: 12 * HOUR, max: 7 * DAY - 1 }),
      fc.integer({ min: 7 * DAY, max: 10 * DAY }),
      fc.integer({ min: 20 * DAY, max: 40 * DAY }),
    )
    const random = fc
      .sample(
        fc.tuple(fc.integer({ min: Date.UTC(2019, 0, 1), max: Date.UTC(2031, 0, 1) }), lengths),
        { seed: SEED, numRuns: 300 },
      )
      .map(([start, length]) => ({ start, end: start + length }))
    // flows starting around each offset change of 2026 of the zones below
    const aroundChanges = ZONES.flatMap((z) => offsetChanges(z, 2026)).flatMap((c) =>
      [-2 * HOUR, -HOUR, -HOUR / 2, -1, 0, 1].flatMap((d) =>
        [60_000, 50 * 60_000, 90 * 60_000, 3 * HOUR, 26 * HOUR].map((l) => ({
          start: c + d,
          end: c + d + l,
        })),
      ),
    )
    // two changes in each zone but UTC and Kathmandu
    expect(aroundChanges).toHaveLength(5 * 2 * 6 * 5)
    // flows ending on the hour, and over the hour
    const onTheHour = [0, 1, 2, 25].map((h) => ({
      start: Date.UTC(2026, 5, 1, 1) + h * HOUR,
      end: Date.UTC(2026, 5, 1, 4) + h * HOUR,
    }))
    const flows = [...random, ...aroundChanges, ...onTheHour]
    const ws = await workspaceWith('random-spans', flows)
    for (const zone of ZONES) {
      const { edge } = await onlyEdge(ws, zone)
      expect(edge.flows, zone).toBe(flows.length)
      expect(edge.profile, zone).toEqual(profileOf(flows, zone))
      const days = new Set(flows.flatMap((f) => activeDaysOf(f, zone)))
      expect(edge.days, zone).toEqual([...days].sort((a, b) => a - b))
    }
  }, 120_000)
})

/** The instants (ms, to the minute) at which `zone`'s UTC offset changes in `year`, by Intl. */
function offsetChanges(zone: string, year: number): number[] {
  const offset = (t: number): number => localWallClock(t, zone) - t
  const out: number[] = []
  for (let t = Date.UTC(year, 0, 1); t < Date.UTC(year + 1, 0, 1); t += HOUR) {
    if (offset(t) === offset(t + HOUR)) continue
    let lo = t
    let hi = t + HOUR
    while (hi - lo > 60_000) {
      const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000
      if (offset(mid) === offset(lo)) lo = mid
      else hi = mid
    }
    out.push(hi)
  }
  return out
}

describe('hours a flow is open in', () => {
  it('a flow 01:10–03:50 is in hour slots 1, 2 and 3 of its weekday; one ending at 04:00 is not in 4', async () => {
    // Monday 2 November 2026 01:10–03:50 and Tuesday 01:00–04:00:00.000, UTC
    const flows = [
      { start: Date.UTC(2026, 10, 2, 1, 10), end: Date.UTC(2026, 10, 2, 3, 50) },
      { start: Date.UTC(2026, 10, 3, 1), end: Date.UTC(2026, 10, 3, 4) },
    ]
    const ws = await workspaceWith('three-hours', flows)
    const slots = (e: Edge): number[] => e.profile.hourOfWeek.flatMap((n, i) => (n > 0 ? [i] : []))
    const utc = (await onlyEdge(ws)).edge
    expect(slots(utc)).toEqual([1, 2, 3, 25, 26, 27])
    expect(utc.profile.hourOfWeek.filter((n) => n > 0)).toEqual([1, 1, 1, 1, 1, 1])
    // the day of month is the start's: the 2nd and the 3rd
    expect(utc.profile.dayOfMonth.flatMap((n, i) => (n > 0 ? [i] : []))).toEqual([1, 2])
    expect(utc.activeDays).toBe(2)
    // Berlin is UTC+1 in November: an hour later
    expect(slots((await onlyEdge(ws, 'Europe/Berlin')).edge)).toEqual([2, 3, 4, 26, 27, 28])
    expect(hourSlotsOf(flows[0] as FlowSpan)).toEqual([1, 2, 3])
  })

  it('a skipped hour (DST begins) holds no flow; a repeated hour (DST ends) counts a flow once', async () => {
    // Sunday 29 March 2026, Berlin: 00:30 CET to 03:30 CEST (02:00–03:00 does not exist);
    // Sunday 25 October 2026: 01:30 CEST to 03:30 CET (02:00–03:00 happens twice)
    const flows = [
      { start: Date.UTC(2026, 2, 28, 23, 30), end: Date.UTC(2026, 2, 29, 1, 30) },
      { start: Date.UTC(2026, 9, 24, 23, 30), end: Date.UTC(2026, 9, 25, 2, 30) },
    ]
    const ws = await workspaceWith('dst-hours', flows)
    const { edge } = await onlyEdge(ws, 'Europe/Berlin')
    const sunday = 6 * 24
    const want = new Array<number>(168).fill(0)
    for (const h of [0, 1, 3]) want[sunday + h] = (want[sunday + h] ?? 0) + 1
    for (const h of [1, 2, 3]) want[sunday + h] = (want[sunday + h] ?? 0) + 1
    expect(edge.profile.hourOfWeek).toEqual(want)
  })

  it('a nightly backup 01:00–04:00 is nightly and lights hours 1–3; one run of it is once; an evening session is not nightly', async () => {
    const start = Date.UTC(2026, 8, 1)
    const backups = Array.from({ length: 40 }, (_, i) => ({
      start: start + i * DAY + HOUR,
      end: start + i * DAY + 4 * HOUR,
    }))
    const nightly = (await onlyEdge(await workspaceWith('backup', backups))).edge
    expect(nightly.pattern).toBe('nightly')
    expect(new Set(nightly.profile.hourOfWeek.flatMap((n, i) => (n > 0 ? [i % 24] : [])))).toEqual(
      new Set([1, 2, 3]),
    )
    expect(nightly.profile.dayOfMonth.reduce((a, b) => a + b, 0)).toBe(40)
    // one run in a long window (with a short flow 50 days later to make the window): the run
    // alone is one occurrence
    const once = await workspaceWith('one-backup', [backups[0] as FlowSpan])
    expect((await onlyEdge(once)).edge.pattern).toBe('once')
    // 18:00–23:00 every day: three of five hours are night hours, not 90 %
    const evenings = backups.map((b) => ({ start: b.start + 17 * HOUR, end: b.end + 19 * HOUR }))
    const evening = (await onlyEdge(await workspaceWith('evening', evenings))).edge
    expect(evening.pattern).toBe('continuous')
  })
})
