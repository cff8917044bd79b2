/**
 * @module Progress bars for long reads on a terminal (DESIGN.md "Quality bars"): reading flow
 * files (bytes read, records per second, time left) and querying the flow store (share done, time
 * left). Silent when stderr is not a TTY, so pipes and CI logs stay clean.
 */
import { statSync } from 'node:fs'
import cliProgress from 'cli-progress'
import type { ReadProgress } from '../ingest/index.js'

/** What a long read reports: bytes done over all files, and records so far. */
export interface ProgressUpdate {
  /** Bytes read so far over the whole run (on-disk bytes). */
  readonly bytesDone: number
  /** Flows read so far over the whole run. */
  readonly records: number
  /** The file being read, shown shortened. */
  readonly file?: string
}

/** A started progress display; `stop()` erases it. */
export interface Progress {
  update(p: ProgressUpdate): void
  stop(): void
}

/** Human bytes: `512 B`, `3.4 MB`, `1.2 GB` (decimal units). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`
  const units = ['kB', 'MB', 'GB', 'TB']
  let v = n
  let u = -1
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000
    u++
  }
  return `${v.toFixed(1)} ${units[u]}`
}

/** Human rate: `950/s`, `1.2 k/s`, `3.4 M/s`. */
export function formatRate(perSecond: number): string {
  if (perSecond < 1000) return `${Math.round(perSecond)}/s`
  if (perSecond < 1e6) return `${(perSecond / 1e3).toFixed(1)} k/s`
  return `${(perSecond / 1e6).toFixed(2)} M/s`
}

const SILENT: Progress = { update: () => undefined, stop: () => undefined }

/** A cli-progress bar drawn on a stream, and the release of its signal handlers. */
interface DrawnBar {
  readonly bar: cliProgress.SingleBar
  /** Erases the bar (restoring the cursor) and removes the signal handlers. */
  stop(): void
}

/**
 * Draws a bar of `format` over `total` on `stream`, at most 5 times a second, starting at 0 with
 * `payload`. While it is drawn, SIGINT and SIGTERM erase it and restore the cursor before the
 * process dies of the signal.
 */
function drawBar(
  total: number,
  format: string,
  payload: Record<string, unknown>,
  stream: NodeJS.WritableStream,
): DrawnBar {
  const bar = new cliProgress.SingleBar(
    { stream, fps: 5, clearOnComplete: true, hideCursor: true, barsize: 24, format },
    cliProgress.Presets.shades_classic,
  )
  bar.start(total, 0, payload)
  // Ctrl-C (or a kill) while the bar is drawn: give the terminal back its cursor and line
  // wrapping (the bar hid them), say so, then die of the signal as if it had not been caught
  const onSignal = (signal: NodeJS.Signals): void => {
    release()
    bar.stop()
    stream.write('interrupted\n')
    process.kill(process.pid, signal)
  }
  const release = (): void => {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  return {
    bar,
    stop() {
      release()
      bar.stop()
    },
  }
}

/**
 * Starts a progress bar over `totalBytes`, drawn on stderr at most 5 times a second, showing
 * `[bar] pct | read/total | N flows, R/s | ETA | file`. Returns a no-op when `enabled` is false
 * (default: stderr is a TTY) or `totalBytes` is 0. While it is drawn, SIGINT and SIGTERM erase
 * it and restore the cursor before the process dies of the signal.
 */
export function startProgress(
  totalBytes: number,
  enabled: boolean = process.stderr.isTTY,
  stream: NodeJS.WritableStream = process.stderr,
): Progress {
  if (!enabled || totalBytes <= 0) return SILENT
  const started = Date.now()
  const drawn = drawBar(
    totalBytes,
    '[{bar}] {percentage}% | {done}/{all} | {records} flows, {rate} | ETA {eta_formatted} | {file}',
    { done: formatBytes(0), all: formatBytes(totalBytes), records: 0, rate: '-', file: '' },
    stream,
  )
  return {
    update(p) {
      const seconds = (Date.now() - started) / 1000
      const file = p.file ?? ''
      drawn.bar.update(Math.min(p.bytesDone, totalBytes), {
        done: formatBytes(p.bytesDone),
        all: formatBytes(totalBytes),
        records: p.records,
        rate: seconds > 0 ? formatRate(p.records / seconds) : '-',
        file: file.length > 40 ? `…${file.slice(-39)}` : file,
      })
    },
    stop() {
      drawn.stop()
    },
  }
}

/** Steps of a {@link startQueryProgress} bar: tenths of a percent. */
const QUERY_STEPS = 1000

/**
 * A progress bar over a long read of the flow store (`simulate`, `lint` and `diff` reading the
 * store; `discover`, `recommend`, `metrics`, `inventory suggest-labels`, `blast-radius --baseline
 * observed` building the dependency map): pass `onProgress` the share of the read done, a
 * fraction in [0, 1] (clamped; a report below the last is ignored, the bar never goes back).
 * Drawn on stderr, at most 5 times a second, from the start: `[bar] pct | what | ETA`, `what`
 * saying what is done (e.g. `aggregating stored flows`). Silent when `enabled` is false (default:
 * stderr is a TTY), so pipes, CI logs and `-o json` output stay clean. `stop()` erases it (call
 * it once the read has settled, also when it failed); Ctrl-C while it is drawn restores the
 * cursor, as {@link startProgress} does.
 */
export function startQueryProgress(
  what: string,
  enabled: boolean = process.stderr.isTTY,
  stream: NodeJS.WritableStream = process.stderr,
): { readonly onProgress: (fraction: number) => void; stop(): void } {
  if (!enabled) return { onProgress: () => undefined, stop: () => undefined }
  const drawn = drawBar(
    QUERY_STEPS,
    '[{bar}] {percentage}% | {what} | ETA {eta_formatted}',
    { what },
    stream,
  )
  let shown = 0
  return {
    onProgress(fraction) {
      // the bar never goes back: a report below the last one (or NaN) is ignored
      const step = Math.round(Math.min(1, fraction) * QUERY_STEPS)
      if (!(step > shown)) return
      shown = step
      drawn.bar.update(step)
    },
    stop() {
      drawn.stop()
    },
  }
}

/**
 * A progress bar over reading `files` one after another (`flows`, `simulate --flows`, `lint
 * --flows`, `diff --flows`): pass `onProgress` to the read; the totals add up the files' last
 * reports. Sizes are taken up front (a file that cannot be stated counts 0 bytes). Silent when
 * `enabled` is false (default: stderr is a TTY).
 */
export function startFilesProgress(
  files: readonly string[],
  enabled: boolean = process.stderr.isTTY,
  stream: NodeJS.WritableStream = process.stderr,
): { readonly onProgress: (p: ReadProgress) => void; stop(): void } {
  const total = enabled ? files.reduce((n, f) => n + sizeOrZero(f), 0) : 0
  const bar = startProgress(total, enabled, stream)
  const last = new Map<string, { bytes: number; records: number }>()
  let bytes = 0
  let records = 0
  return {
    onProgress(p) {
      const before = last.get(p.file) ?? { bytes: 0, records: 0 }
      bytes += p.bytesRead - before.bytes
      records += p.records - before.records
      last.set(p.file, { bytes: p.bytesRead, records: p.records })
      bar.update({ bytesDone: bytes, records, file: p.file })
    },
    stop() {
      bar.stop()
    },
  }
}

function sizeOrZero(file: string): number {
  try {
    return statSync(file).size
  } catch {
    return 0
  }
}
