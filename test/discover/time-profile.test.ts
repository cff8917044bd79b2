import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  classifyPattern,
  dayOfMonthSlot,
  hourOfWeekSlot,
  monthEndsOf,
  profileOf,
} from '../../src/discover/time-profile.js'
import { SEED } from '../helpers/model.js'

const DAY = 86_400_000
const HOUR = 3_600_000

/** Classifies flows starting at `starts` over a window of `windowDays` UTC days. */
function classify(starts: readonly number[], windowDays: number): string {
  const days = [...new Set(starts.map((s) => Math.floor(s / DAY)))].sort((a, b) => a - b)
  return classifyPattern(profileOf(starts), days.length, windowDays, { days })
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
