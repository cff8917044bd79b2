/**
 * The progress of the store's long reads (`QueryOptions.onProgress` of `query`, `queryBatches`
 * and `flows`): DuckDB's estimate, polled while the query runs, as fractions in [0, 1] that never
 * go down, and nothing once the read has settled. The queries must run for several poll
 * intervals: a per-row hash over a few hundred thousand stored flows does, its cost raised until
 * DuckDB has reported twice (the machine's speed is not known).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { openDuckDbStore, type FlowStore } from '../../src/store/index.js'
import { PROGRESS_POLL_MS } from '../../src/store/duckdb/store.js'
import { syntheticFlow } from '../helpers/flows.js'

const FLOWS = 300_000
const realSetInterval = globalThis.setInterval
const realClearInterval = globalThis.clearInterval
let store: FlowStore

beforeAll(async () => {
  store = await openDuckDbStore(':memory:')
  function* flows(): Iterable<ReturnType<typeof syntheticFlow>> {
    for (let i = 0; i < FLOWS; i++) yield syntheticFlow(i)
  }
  expect(await store.appendFlows(flows())).toBe(FLOWS)
}, 60_000)

afterAll(async () => {
  await store.close()
})

/** A query hashing every stored flow's text `k` times over: its time grows with `k`. */
const heavy = (k: number): string =>
  `SELECT count(DISTINCT md5(repeat(src || start_ms::VARCHAR, ${k}))) AS n FROM flows`

/** Fractions in [0, 1], each at least the one before. */
function expectFractions(seen: readonly number[]): void {
  for (const f of seen) {
    expect(f).toBeGreaterThanOrEqual(0)
    expect(f).toBeLessThanOrEqual(1)
  }
  expect([...seen].sort((a, b) => a - b)).toEqual(seen)
}

/**
 * Runs `read(k, onProgress)` for growing `k` until DuckDB has reported at least twice; checks
 * that every timer the read started was cleared by the time it settled, and that nothing is
 * reported after (over a few poll intervals).
 */
async function reportsOf(
  read: (k: number, onProgress: (f: number) => void) => Promise<unknown>,
): Promise<number[]> {
  let seen: number[] = []
  for (const k of [40, 160, 640]) {
    seen = []
    let settled = false
    let late = 0
    const running = new Set<unknown>()
    const set = vi
      .spyOn(globalThis, 'setInterval')
      .mockImplementation((...args: Parameters<typeof setInterval>) => {
        const timer = realSetInterval(...args)
        running.add(timer)
        return timer
      })
    const clear = vi
      .spyOn(globalThis, 'clearInterval')
      .mockImplementation((timer: Parameters<typeof clearInterval>[0]) => {
        running.delete(timer)
        realClearInterval(timer)
      })
    try {
      await read(k, (f) => {
        if (settled) late++
        seen.push(f)
      })
      settled = true
      expect(set).toHaveBeenCalled() // the read polled
      expect(running.size).toBe(0) // and stopped polling
    } finally {
      set.mockRestore()
      clear.mockRestore()
    }
    await sleep(4 * PROGRESS_POLL_MS)
    expect(late).toBe(0)
    if (seen.length >= 2) break
  }
  return seen
}

describe('the progress of a store query', () => {
  it('query_reports_fractions_in_0_1_that_never_go_down_and_nothing_after_it_resolved', async () => {
    const seen = await reportsOf((k, onProgress) => store.query(heavy(k), [], { onProgress }))
    expect(seen.length).toBeGreaterThanOrEqual(1)
    expectFractions(seen)
  }, 60_000)

  it('queryBatches_reports_until_the_last_batch_is_read', async () => {
    const seen = await reportsOf((k, onProgress) =>
      store.queryBatches(heavy(k), [], () => undefined, { onProgress }),
    )
    expect(seen.length).toBeGreaterThanOrEqual(1)
    expectFractions(seen)
  }, 60_000)

  it('flows_reports_while_the_ordered_read_is_iterated_and_not_after_a_break', async () => {
    // the consumer is slow (a pause every 20 000 flows), as diff judging each flow is
    const iterate = async (stopAt: number, onProgress: (f: number) => void): Promise<number> => {
      let n = 0
      for await (const _ of store.flows({}, { onProgress })) {
        if (++n % 20_000 === 0) await sleep(PROGRESS_POLL_MS / 2)
        if (n === stopAt) break
      }
      return n
    }
    const whole = await reportsOf(async (_k, onProgress) => {
      expect(await iterate(FLOWS + 1, onProgress)).toBe(FLOWS)
    })
    expect(whole.length).toBeGreaterThanOrEqual(1)
    expectFractions(whole)
    // a consumer that stops early ends the polling too (reportsOf checks nothing comes late)
    const part = await reportsOf(async (_k, onProgress) => {
      expect(await iterate(FLOWS / 2, onProgress)).toBe(FLOWS / 2)
    })
    expectFractions(part)
  }, 60_000)

  it('duckdb_tracks_progress_once_asked_and_draws_no_bar_of_its_own', async () => {
    // progress is tracked once asked for; DuckDB's own bar (drawn on stdout, which would
    // corrupt `-o json`) stays off
    await store.query(heavy(1), [], { onProgress: () => undefined })
    const [row] = await store.query<{ track: string; print: string }>(
      `SELECT current_setting('enable_progress_bar')::VARCHAR AS track,
              current_setting('enable_progress_bar_print')::VARCHAR AS print`,
    )
    expect(row).toEqual({ track: 'true', print: 'false' })
  })

  it('what_the_callback_throws_is_thrown_by_the_query_once_it_has_ended', async () => {
    const boom = new Error('callback failed')
    let calls = 0
    let thrown: unknown
    for (const k of [160, 640, 2560]) {
      calls = 0
      thrown = undefined
      await store
        .query(heavy(k), [], {
          onProgress: () => {
            calls++
            throw boom
          },
        })
        .catch((err: unknown) => (thrown = err))
      if (calls > 0) break
    }
    expect(calls).toBe(1) // the polling stopped at the first throw
    expect(thrown).toBe(boom)
    // the store is still usable
    expect(await store.count()).toBe(FLOWS)
  }, 60_000)
})
