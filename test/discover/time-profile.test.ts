import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  activeDaysOf,
  calendarOf,
  classifyPattern,
  dayOfMonthSlot,
  hourOfWeekSlot,
  hourSlotsOf,
  monthEndsOf,
  profileOf,
  type FlowSpan,
} from '../../src/discover/time-profile.js'
import { SEED } from '../helpers/model.js'
import { ZONES } from './zones.js'

const DAY = 86_400_000
const HOUR = 3_600_000

/** Classifies flows starting at `starts` over a window of `windowDays` UTC days. */
function classify(starts: readonly number[], windowDays: number): string {
  const days = [...new Set(starts.map((s) => Math.floor(s / DAY)))].sort((a, b) => a - b)
  return classifyPattern(
    profileOf(starts.map((s) => ({ start: s, end: s }))),
    days.length,
    windowDays,
    { days },
  )
}

/** Midnight UTC of a day between 2020 and 2030. */
const dayStart = fc.integer({ min: 18_262, max: 21_900 }).map((d) => d * DAY)

describe('time profile slots', () => {
  it('hour_of_week_slot_zero_is_monday_midnight_utc', () => {
    expect(hourOfWeekSlot(Date.UTC(2026, 10, 2, 0, 30))).toBe(0) // Monday 2 Nov 2026
    expect(hourOfWeekSlot(Date.UTC(2026, 10, 8, 23, 59))).toBe(167) // Sunday
    expect(dayOfMonthSlot(Date.UTC(2026, 9, 31, 12))).toBe(30)
  })
  it('month_ends_count_days_near_the_same_month_end_once', () => {
    const d = (y: number, m: number, day: number): number => Date.UTC(y, m, day) / DAY
    expect(monthEndsOf([d(2026, 9, 31), d(2026, 10, 1), d(2026, 10, 2)])).toBe(1)
    expect(monthEndsOf([d(2026, 8, 30), d(2026, 9, 31)])).toBe(2)
  })
})

describe('classifyPattern', () => {
  it('one_flow_is_once', () => {
    fc.assert(
      fc.property(
        dayStart,
        fc.integer({ min: 0, max: DAY - 1 }),
        fc.integer({ min: 1, max: 120 }),
        (d, t, w) => {
          expect(classify([d + t], w)).toBe('once')
        },
      ),
      { seed: SEED, numRuns: 200 },
    )
  })

  it('flows_on_the_last_day_of_each_month_are_month_end', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2020, max: 2029 }),
        fc.integer({ min: 0, max: 11 }),
        fc.integer({ min: 2, max: 6 }),
        fc.array(fc.integer({ min: 0, max: 23 }), { minLength: 1, maxLength: 4 }),
        (year, month, months, hours) => {
          const starts: number[] = []
          for (let k = 0; k < months; k++) {
            const last = Date.UTC(year, month + k + 1, 0) // day 0 of the next month
            for (const h of hours) starts.push(last + h * HOUR)
          }
          // the window runs from the first of the first month to a few days after the last
          const from = Date.UTC(year, month, 1)
          const to = Date.UTC(year, month + months, 4)
          expect(classify(starts, Math.round((to - from) / DAY))).toBe('month-end')
        },
      ),
      { seed: SEED, numRuns: 200 },
    )
  })

  it('weekdays_nine_to_five_are_business_hours', () => {
    fc.assert(
      fc.property(
        dayStart,
        fc.integer({ min: 14, max: 90 }),
        fc.integer({ min: 1, max: 6 }),
        (d0, n, perDay) => {
          const starts: number[] = []
          for (let i = 0; i < n; i++) {
            const d = d0 + i * DAY
            const wd = (new Date(d).getUTCDay() + 6) % 7
            if (wd >= 5) continue
            for (let k = 0; k < perDay; k++)
              starts.push(d + (9 + ((k * 3 + i) % 8)) * HOUR + k * 60_000)
          }
          expect(classify(starts, n)).toBe('business-hours')
        },
      ),
      { seed: SEED, numRuns: 200 },
    )
  })

  it('every_night_is_nightly', () => {
    fc.assert(
      fc.property(
        dayStart,
        fc.integer({ min: 3, max: 90 }),
        fc.constantFrom(0, 1, 2, 3, 4, 5, 21, 22, 23),
        (d0, n, h) => {
          const starts = Array.from({ length: n }, (_, i) => d0 + i * DAY + h * HOUR)
          expect(classify(starts, n)).toBe('nightly')
        },
      ),
      { seed: SEED, numRuns: 200 },
    )
  })

  it('one_weekday_every_week_is_weekly', () => {
    fc.assert(
      fc.property(
        dayStart,
        fc.integer({ min: 2, max: 12 }),
        fc.integer({ min: 0, max: 23 }),
        (d0, weeks, h) => {
          const starts = Array.from({ length: weeks }, (_, i) => d0 + i * 7 * DAY + h * HOUR)
          expect(classify(starts, weeks * 7)).toBe('weekly')
        },
      ),
      { seed: SEED, numRuns: 200 },
    )
  })

  it('every_hour_of_every_day_is_continuous', () => {
    fc.assert(
      fc.property(dayStart, fc.integer({ min: 1, max: 60 }), (d0, n) => {
        const starts = Array.from({ length: n * 24 }, (_, i) => d0 + i * HOUR)
        expect(classify(starts, n)).toBe('continuous')
      }),
      { seed: SEED, numRuns: 100 },
    )
  })

  it('a_few_scattered_mid_month_days_are_rare', () => {
    fc.assert(
      fc.property(
        dayStart,
        fc.uniqueArray(fc.integer({ min: 0, max: 59 }), { minLength: 2, maxLength: 4 }),
        fc.integer({ min: 0, max: 23 }),
        (d0, offsets, h) => {
          const starts = offsets
            .map((o) => d0 + o * DAY + h * HOUR)
            .filter((s) => {
              const dom = new Date(s).getUTCDate()
              return dom >= 5 && dom <= 24
            })
          fc.pre(new Set(starts.map((s) => Math.floor(s / DAY))).size >= 2)
          expect(classify(starts, 60)).toBe('rare')
        },
      ),
      { seed: SEED, numRuns: 200 },
    )
  })

  it('a_month_end_job_seen_at_one_month_end_only_is_not_month_end', () => {
    const last = Date.UTC(2026, 9, 31)
    expect(classify([last + 23 * HOUR, last + DAY + HOUR], 40)).toBe('rare')
  })
})

/** The hour-of-week slot of `ms` in `zone`, by an `Intl` formatter of its own. */
function intlSlot(ms: number, zone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    weekday: 'short',
    hour: 'numeric',
    hourCycle: 'h23',
  }).formatToParts(ms)
  const get = (t: string): string => parts.find((p) => p.type === t)?.value ?? ''
  return (
    ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(get('weekday')) * 24 +
    Number(get('hour'))
  )
}

/** Offset changes of 2026 (UTC) of the zones above, to the hour: flows are drawn around them. */
const CHANGES = [
  Date.UTC(2026, 2, 29, 1), // Berlin
  Date.UTC(2026, 9, 25, 1),
  Date.UTC(2026, 2, 8, 7), // New York
  Date.UTC(2026, 10, 1, 6),
  Date.UTC(2026, 2, 8, 5, 30), // St John's
  Date.UTC(2026, 10, 1, 4, 30),
  Date.UTC(2026, 3, 4, 14), // Chatham: 03:45 → 02:45 and 02:45 → 03:45
  Date.UTC(2026, 8, 26, 14),
  Date.UTC(2026, 3, 4, 15), // Lord Howe: 02:00 → 01:30 and 02:00 → 02:30
  Date.UTC(2026, 9, 3, 15, 30),
]

describe('hourSlotsOf and activeDaysOf (the object path of the profile)', () => {
  it('a flow 01:10–03:50 is in slots 1, 2 and 3; its end is exclusive; a week is every slot', () => {
    const mon = Date.UTC(2026, 10, 2) // a Monday
    expect(
      hourSlotsOf({ start: mon + HOUR + 10 * 60_000, end: mon + 3 * HOUR + 50 * 60_000 }),
    ).toEqual([1, 2, 3])
    expect(hourSlotsOf({ start: mon + HOUR, end: mon + 4 * HOUR })).toEqual([1, 2, 3])
    expect(hourSlotsOf({ start: mon + HOUR, end: mon + 4 * HOUR + 1 })).toEqual([1, 2, 3, 4])
    expect(hourSlotsOf({ start: mon + HOUR, end: mon + HOUR })).toEqual([1])
    // Sunday 23:30 to Monday 00:30 wraps round the week
    expect(hourSlotsOf({ start: mon - HOUR / 2, end: mon + HOUR / 2 })).toEqual([0, 167])
    expect(hourSlotsOf({ start: mon + 5, end: mon + 5 + 7 * DAY })).toHaveLength(168)
    expect(hourSlotsOf({ start: mon + 5, end: mon + 5 + 7 * DAY - 1 })).toHaveLength(168)
    expect(hourSlotsOf({ start: mon + 5, end: mon + 7 * DAY - 1 })).toHaveLength(168)
    expect(hourSlotsOf({ start: mon + HOUR, end: mon + 7 * DAY - 1 })).toHaveLength(167)
    // Berlin in November is UTC+1
    expect(hourSlotsOf({ start: mon + HOUR, end: mon + 4 * HOUR }, 'Europe/Berlin')).toEqual([
      2, 3, 4,
    ])
  })

  it('equals the local hours of every minute of the flow, by Intl, around DST changes and at random', () => {
    const flow = fc
      .tuple(
        fc.oneof(
          fc
            .constantFrom(...CHANGES)
            .chain((c) => fc.integer({ min: c - 14 * HOUR, max: c + HOUR })),
          fc.integer({ min: Date.UTC(2019, 0, 1), max: Date.UTC(2031, 0, 1) }),
        ),
        fc.integer({ min: 0, max: 15 * HOUR }),
      )
      .map(([start, length]) => ({ start, end: start + length }))
    fc.assert(
      fc.property(flow, fc.constantFrom(...ZONES), (f, zone) => {
        const last = Math.max(f.start, f.end - 1)
        const want = new Set([intlSlot(f.start, zone), intlSlot(last, zone)])
        for (let t = Math.floor(f.start / 60_000 + 1) * 60_000; t < last; t += 60_000)
          want.add(intlSlot(t, zone))
        expect(hourSlotsOf(f, zone)).toEqual([...want].sort((a, b) => a - b))
      }),
      { seed: SEED, numRuns: 150 },
    )
  })

  it('a short flow is active on its start day; a long one on each day to its last instant', () => {
    const d = Date.UTC(2026, 10, 2)
    const n = d / DAY
    expect(activeDaysOf({ start: d + 23 * HOUR, end: d + 25 * HOUR })).toEqual([n])
    expect(activeDaysOf({ start: d + 9 * HOUR, end: d + 33 * HOUR })).toEqual([n, n + 1])
    // open from midnight to midnight two days on: the second midnight is not in it
    expect(activeDaysOf({ start: d, end: d + 2 * DAY })).toEqual([n, n + 1])
    // Singapore is UTC+8: 20:00 UTC is the next day there
    expect(activeDaysOf({ start: d + 20 * HOUR, end: d + 21 * HOUR }, 'Asia/Singapore')).toEqual([
      n + 1,
    ])
  })

  it('profileOf counts a flow once in each hour slot and once in each day-of-month slot of its active days', () => {
    const d = Date.UTC(2026, 0, 30, 22) // a Friday, 22:00
    const p = profileOf([
      { start: d, end: d + 3 * HOUR }, // 22:00–01:00: Friday 22, 23 and Saturday 0; the 30th
      { start: d, end: d + 40 * DAY }, // every hour; 30 January to 11 March
    ])
    const fri = 4 * 24
    expect(p.hourOfWeek[fri + 22]).toBe(2)
    expect(p.hourOfWeek[fri + 24]).toBe(2)
    expect(p.hourOfWeek[fri + 1]).toBe(1)
    expect(p.dayOfMonth[29]).toBe(2)
    // every day of month but the 29th (February 2026 has none), the 30th twice
    expect(p.dayOfMonth[28]).toBe(0)
    expect(p.dayOfMonth.filter((x) => x === 1)).toHaveLength(29)
  })
})

describe('classifyPattern over flows open for hours', () => {
  /** Classifies flows over a window of `windowDays` UTC days, as discover does. */
  function classifySpans(flows: readonly FlowSpan[], windowDays: number): string {
    const days = [...new Set(flows.flatMap((f) => activeDaysOf(f)))].sort((a, b) => a - b)
    const longestMs = Math.max(...flows.map((f) => f.end - f.start))
    return classifyPattern(profileOf(flows), days.length, windowDays, {
      days,
      longestMs,
      flows: flows.length,
    })
  }
  const day0 = Date.UTC(2026, 8, 5) // a Saturday

  it('one three-hour backup, or two parallel ones, is once; two short flows hours apart are not', () => {
    const run = { start: day0 + HOUR + 600_000, end: day0 + 3 * HOUR + 3_000_000 }
    expect(classifySpans([run], 60)).toBe('once')
    expect(classifySpans([run, { ...run, start: run.start + 5000 }], 60)).toBe('once')
    expect(
      classifySpans(
        [
          { start: day0 + HOUR, end: day0 + HOUR + 60_000 },
          { start: day0 + 3 * HOUR, end: day0 + 3 * HOUR + 60_000 },
        ],
        60,
      ),
    ).toBe('rare')
  })

  it('a weekly job from Saturday 23:30 to Sunday 00:30 is weekly: its days are Saturdays', () => {
    const runs = [0, 1, 2, 3].map((w) => ({
      start: day0 + w * 7 * DAY + 23.5 * HOUR,
      end: day0 + w * 7 * DAY + 24.5 * HOUR,
    }))
    expect(classifySpans(runs, 28)).toBe('weekly')
  })

  it('a backup 01:00–04:00 every night is nightly; a session 18:00–23:00 every day is not', () => {
    const nights = Array.from({ length: 40 }, (_, i) => ({
      start: day0 + i * DAY + HOUR,
      end: day0 + i * DAY + 4 * HOUR,
    }))
    expect(classifySpans(nights, 40)).toBe('nightly')
    const evenings = nights.map((f) => ({ start: f.start + 17 * HOUR, end: f.end + 19 * HOUR }))
    expect(classifySpans(evenings, 40)).toBe('continuous')
    // a working day 08:00–17:00 on weekdays is business hours
    const work = nights
      .filter((f) => new Date(f.start).getUTCDay() % 6 !== 0)
      .map((f) => ({ start: f.start + 7 * HOUR, end: f.end + 13 * HOUR }))
    expect(classifySpans(work, 40)).toBe('business-hours')
  })
})

describe('the window calendar: real weekdays, not 5/7 of the days', () => {
  const dayOf = (y: number, m: number, d: number): number => Date.UTC(y, m, d) / DAY

  it('counts each weekday of the window', () => {
    // Saturday 5 to Sunday 20 September 2026: 16 days, 10 of them Monday to Friday
    expect(calendarOf(dayOf(2026, 8, 5), 16).weekdays).toEqual([2, 2, 2, 2, 2, 3, 3])
    expect(calendarOf(dayOf(2026, 8, 7), 63).weekdays).toEqual([9, 9, 9, 9, 9, 9, 9])
    expect(calendarOf(dayOf(2026, 8, 7), 1)).toEqual({ days: 1, weekdays: [1, 0, 0, 0, 0, 0, 0] })
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30_000 }), fc.integer({ min: 1, max: 800 }), (d, n) => {
        const c = calendarOf(d, n)
        const byHand = [0, 0, 0, 0, 0, 0, 0]
        for (let i = 0; i < n; i++) {
          const w = (new Date((d + i) * DAY).getUTCDay() + 6) % 7
          byHand[w] = (byHand[w] ?? 0) + 1
        }
        expect(c.weekdays).toEqual(byHand)
      }),
      { seed: SEED, numRuns: 300 },
    )
  })

  it('business-hours needs 60 % of the weekdays the window holds (held-out s33 hF, wsD)', () => {
    // 10:00 on 6 of the 10 weekdays of Saturday 5 to Sunday 20 September 2026: 60 %; read as
    // 5/7 of 16 days (11.4 weekdays) it was rare
    const starts = [7, 8, 9, 14, 15, 16].map((d) => Date.UTC(2026, 8, d, 10))
    const days = starts.map((t) => Math.floor(t / DAY))
    const profile = profileOf(starts.map((t) => ({ start: t, end: t + 300_000 })))
    const window = calendarOf(dayOf(2026, 8, 5), 16)
    expect(classifyPattern(profile, 6, window, { days, flows: 6 })).toBe('business-hours')
    expect(classifyPattern(profile, 6, 16, { days, flows: 6 })).toBe('rare')
    // one weekday fewer is below 60 %: the weekend flows that a weekday-only rule leaves out
    // do not make it up
    const five = [...starts.slice(0, 5), Date.UTC(2026, 8, 19, 10)]
    const fiveDays = five.map((t) => Math.floor(t / DAY))
    const p5 = profileOf(five.map((t) => ({ start: t, end: t + 300_000 })))
    expect(classifyPattern(p5, 6, window, { days: fiveDays, flows: 6 })).not.toBe('business-hours')
  })

  it('weekly counts the occurrences of its weekdays in the window', () => {
    // Monday 7 to Friday 2 October 2026 (26 days): three Saturdays and three Sundays; a job on
    // Saturday 12, Sunday 13 and Saturday 19 is on half of those 6, where 2 × 26/7 = 7.4 asked for 3.7
    const starts = [12, 13, 19].map((d) => Date.UTC(2026, 8, d, 3))
    const days = starts.map((t) => Math.floor(t / DAY))
    const profile = profileOf(starts.map((t) => ({ start: t, end: t + 600_000 })))
    expect(classifyPattern(profile, 3, calendarOf(dayOf(2026, 8, 7), 26), { days })).toBe('weekly')
    expect(classifyPattern(profile, 3, 26, { days })).toBe('rare')
  })
})
