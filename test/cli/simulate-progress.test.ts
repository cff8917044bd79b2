/**
 * simulate from the store: the progress bar's total is the flows the grouping reads, so the bar
 * ends at 100 % also when a window leaves out flows with no real time (before 2026-11-25 the
 * total, `FlowStore.count`, still held them under `--until` alone, and the bar ended short).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { NO_TIME_MS, type Flow, type Inventory } from '../../src/core/index.js'
import { feedStore } from '../../src/cli/commands/simulate.js'
import { PolicyIndex } from '../../src/policy/policy-index.js'
import { Simulator } from '../../src/policy/simulate.js'
import { openDuckDbStore, type FlowStore } from '../../src/store/index.js'
import { workload } from '../helpers/workloads.js'

const HOUR = 3_600_000
const T = Date.UTC(2026, 9, 20)
const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-simulate-progress-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const inventory: Inventory = {
  workloads: [workload('web-1', '10.0.1.1', { role: 'web' })],
  externals: [],
  labelRules: [],
}

const TIMED = 5
const UNTIMED = 3

/** `TIMED` flows on ports 8000 … (one group each) and `UNTIMED` with no real time. */
function flows(): Flow[] {
  const flow = (i: number, start: number): Flow => ({
    src: '10.9.0.1',
    dst: '10.0.1.1',
    srcPort: 40000,
    dstPort: 8000 + i,
    protocol: 6,
    start,
    end: start === NO_TIME_MS ? NO_TIME_MS : start + 500,
    packets: 1,
    bytes: 60,
    observedAction: 'accept',
    direction: 'client-to-server',
    source: { format: 'csv', file: 'flows.csv', line: 2 + i },
  })
  return [
    ...Array.from({ length: TIMED }, (_, i) => flow(i, T + i * HOUR)),
    ...Array.from({ length: UNTIMED }, (_, i) => flow(TIMED + i, NO_TIME_MS)),
  ]
}

async function withStore(fn: (store: FlowStore) => Promise<void>): Promise<void> {
  const store = await openDuckDbStore(path.join(root, 'store.duckdb'))
  try {
    if ((await store.count()) === 0) await store.appendFlows(flows())
    await fn(store)
  } finally {
    await store.close()
  }
}

/** The fractions feedStore reports to its bar, over the window of `input`. */
async function reported(
  store: FlowStore,
  window: { since?: number; until?: number },
): Promise<number[]> {
  const index = PolicyIndex.build(inventory, { policies: [], enforcement: [] }, T)
  const sim = new Simulator(index, inventory, T)
  const seen: number[] = []
  await feedStore(
    sim,
    index,
    store,
    { files: [], format: 'auto', ...window },
    {
      onProgress: (f) => seen.push(f),
      stop: () => undefined,
    },
  )
  return seen
}

describe('simulate from the store: progress', () => {
  it('ends at 1 under --until alone, which leaves the untimed flows out', async () => {
    await withStore(async (store) => {
      expect(await reported(store, { until: T + 24 * HOUR })).toEqual([1])
      expect(await reported(store, {})).toEqual([1])
      expect(await reported(store, { since: T, until: T + 24 * HOUR })).toEqual([1])
    })
  })

  it('count and flows select what groupFlows reads: no untimed flow under a bound', async () => {
    await withStore(async (store) => {
      const until = T + 24 * HOUR
      expect(await store.count({ until })).toBe(TIMED)
      const read: Flow[] = []
      for await (const f of store.flows({ until })) read.push(f)
      expect(read.map((f) => f.start)).toEqual(
        flows()
          .slice(0, TIMED)
          .map((f) => f.start),
      )
      let grouped = 0
      await store.groupFlows({ until }, { examples: 1, split: () => false }, (g) => {
        grouped += g.count
      })
      expect(grouped).toBe(TIMED)
      expect(await store.count()).toBe(TIMED + UNTIMED)
    })
  })
})
