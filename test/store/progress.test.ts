import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import {
  formatBytes,
  formatRate,
  startFilesProgress,
  startProgress,
  startQueryProgress,
} from '../../src/cli/progress.js'
import { runProcess } from '../helpers/process.js'

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

  it('adds_up_the_last_report_of_each_file_when_several_are_read', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-progress-'))
    try {
      const a = path.join(dir, 'a.log')
      const b = path.join(dir, 'b.log')
      writeFileSync(a, 'x'.repeat(1000))
      writeFileSync(b, 'x'.repeat(3000))
      const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 200 })
      let text = ''
      stream.on('data', (c: Buffer) => (text += c.toString()))
      const p = startFilesProgress([a, b], true, stream)
      p.onProgress({ file: a, bytesRead: 500, bytesTotal: 1000, records: 5 })
      p.onProgress({ file: a, bytesRead: 1000, bytesTotal: 1000, records: 10 })
      p.onProgress({ file: b, bytesRead: 1000, bytesTotal: 3000, records: 7 })
      p.stop()
      // the bar redraws at most 5 times a second; stop() draws the last state
      expect(text).toContain('2.0 kB/4.0 kB | 17 flows')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('the_store_query_bar_shows_the_share_done_never_goes_back_and_is_silent_when_disabled', () => {
    const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 200 })
    let text = ''
    stream.on('data', (c: Buffer) => (text += c.toString()))
    const p = startQueryProgress('aggregating stored flows', true, stream)
    p.onProgress(0.5)
    p.onProgress(0.2) // below the last report: ignored
    p.onProgress(Number.NaN)
    p.stop()
    // the bar redraws at most 5 times a second; stop() draws the last state
    expect(text).toContain('50% | aggregating stored flows |')
    expect(text).not.toContain('20%')
    const quiet = new PassThrough()
    let written = 0
    quiet.on('data', (b: Buffer) => (written += b.length))
    const q = startQueryProgress('aggregating stored flows', false, quiet)
    q.onProgress(0.5)
    q.stop()
    expect(written).toBe(0)
  })

  it.each([
    [
      'the file bar',
      'startProgress',
      'const p = startProgress(100, true)\np.update({ bytesDone: 10, records: 1 })',
    ],
    [
      'the store query bar',
      'startQueryProgress',
      "const p = startQueryProgress('aggregating stored flows', true)\np.onProgress(0.1)",
    ],
  ])(
    'gives_the_terminal_back_its_cursor_on_ctrl_c_and_dies_of_the_signal: %s',
    async (_name, start, draw) => {
      // a process drawing the bar on a pseudo-terminal (script(1)) gets SIGINT from itself
      const program = `import { ${start} } from './src/cli/progress.ts'
${draw}
setTimeout(() => process.kill(process.pid, 'SIGINT'), 300)
setInterval(() => undefined, 1000)`
      const { code, stdout: out } = await runProcess(
        [
          'script',
          '-qfec',
          `${process.execPath} --import tsx --input-type=module -e "${program.replace(/"/g, '\\"')}"`,
          '/dev/null',
        ],
        { timeoutMs: 20_000 },
      )
      expect(out).toContain('\x1b[?25l') // the bar hid the cursor
      expect(out).toContain('\x1b[?25h') // and showed it again
      expect(out).toContain('interrupted')
      expect(code).toBe(130) // 128 + SIGINT: it died of the signal
    },
    30_000,
  )
})
