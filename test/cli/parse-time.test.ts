/** parseTime (src/cli/workspace.ts): the times of --at, --since, --until (and --now, the former name of --at). */
import { afterEach, describe, expect, it } from 'vitest'
import { BulkheadError } from '../../src/core/index.js'
import { parseTime } from '../../src/cli/workspace.js'

const saved = process.env['TZ']

describe('parseTime', () => {
  afterEach(() => {
    if (saved === undefined) delete process.env['TZ']
    else process.env['TZ'] = saved
  })

  it('reads a time without a zone as UTC whatever the machine’s zone, with T or a space', () => {
    // JavaScript reads a zone-less date-time in the machine's zone: New York is 4 h behind then
    process.env['TZ'] = 'America/New_York'
    const want = Date.UTC(2026, 10, 1, 0, 0, 0)
    expect(new Date('2026-11-01 00:00:00').getTime()).not.toBe(want) // the trap itself
    for (const text of [
      '2026-11-01T00:00:00',
      '2026-11-01 00:00:00',
      '2026-11-01 00:00',
      '2026-11-01',
    ])
      expect(parseTime(text)).toBe(want)
    expect(parseTime('2026-11-01 02:00:00+02:00')).toBe(want)
    expect(parseTime('2026-11-01 00:00:00.250Z')).toBe(want + 250)
  })

  it('years 0000-0099 are those years, not 19xx (Date.UTC maps them so)', () => {
    expect(parseTime('0050-01-01')).toBe(-60_589_296_000_000)
    expect(parseTime('0099-12-31T23:59:59Z')).toBe(-59_011_459_201_000)
    expect(parseTime('0000-02-29')).toBe(-62_162_121_600_000) // year 0 is a leap year
    expect(parseTime('1969-12-31T23:59:59Z')).toBe(-1000)
    for (const text of ['0001-02-29', '0050-13-01', '0099-04-31']) {
      let code: unknown
      try {
        parseTime(text)
      } catch (e) {
        code = e instanceof BulkheadError ? e.diagnostics[0]?.code : e
      }
      expect(code, text).toBe('cli/usage')
    }
  })

  it('reads only ISO 8601: a date with other text after it is no time in the machine’s zone', () => {
    // Date.parse's fallback read these as 10:00 in the machine's zone (14:00Z in New York)
    process.env['TZ'] = 'America/New_York'
    for (const text of [
      '2026-10-21, 10:00',
      '2026-10-21 (any comment) 10:00',
      '2026-10-21 UTC',
      '2026-10-21 Z',
    ])
      expect(() => parseTime(text), text).toThrow(/is not a time/)
    const want = Date.UTC(2026, 9, 21, 10, 0, 0)
    expect(parseTime('2026-10-21t10:00')).toBe(want)
    expect(parseTime('2026-10-21T10:00:00z')).toBe(want)
    expect(parseTime('2026-10-21T12:00:00+0200')).toBe(want)
  })

  it('rejects impossible days and other text', () => {
    for (const text of ['2026-02-30 00:00:00', 'yesterday'])
      expect(() => parseTime(text)).toThrow(/is not a time/)
  })

  it('reads epoch seconds of 9 or 10 digits only, and its hint says so (s44 QA store F1)', () => {
    expect(parseTime('100000000')).toBe(100_000_000_000)
    expect(parseTime('1800000000.5')).toBe(1_800_000_000_500)
    for (const text of ['2026', '86400', '10000000000']) {
      try {
        parseTime(text)
        expect.unreachable(text)
      } catch (err) {
        expect((err as BulkheadError).diagnostics[0]?.hint).toMatch(/9 or 10 digits/)
      }
    }
  })
})
