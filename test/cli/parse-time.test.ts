/** parseTime (src/cli/workspace.ts): the times of --at, --since, --until and --now. */
import { afterEach, describe, expect, it } from 'vitest'
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

  it('rejects impossible days and other text', () => {
    for (const text of ['2026-02-30 00:00:00', 'yesterday'])
      expect(() => parseTime(text)).toThrow(/is not a time/)
  })
})
