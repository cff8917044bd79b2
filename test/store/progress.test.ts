import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { formatBytes, formatRate, startProgress } from '../../src/cli/progress.js'

describe('progress', () => {
  it('formats_bytes_and_rates_in_decimal_units', () => {
    expect(formatBytes(999)).toBe('999 B')
    expect(formatBytes(56_250_026)).toBe('56.3 MB')
    expect(formatBytes(2_500_000_000)).toBe('2.5 GB')
    expect(formatRate(950)).toBe('950/s')
    expect(formatRate(12_345)).toBe('12.3 k/s')
    expect(formatRate(1_234_567)).toBe('1.23 M/s')
  })

  it('writes_nothing_when_disabled_or_when_there_is_nothing_to_read', () => {
    const stream = new PassThrough()
    let written = 0
    stream.on('data', (b: Buffer) => (written += b.length))
    for (const p of [startProgress(1000, false, stream), startProgress(0, true, stream)]) {
      p.update({ bytesDone: 500, records: 10, file: 'a.log' })
      p.stop()
    }
    expect(written).toBe(0)
  })
})
