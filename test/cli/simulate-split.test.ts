/**
 * simulate from the store: groups of flows that span a change of an address's holder are judged
 * flow by flow, as the files are (the store reads their rows in one query:
 * test/store/group-flows.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { labelSet, type Flow, type Inventory } from '../../src/core/index.js'
import { feedStore } from '../../src/cli/commands/simulate.js'
import { PolicyIndex } from '../../src/policy/policy-index.js'
import { Simulator } from '../../src/policy/simulate.js'
import { openDuckDbStore } from '../../src/store/index.js'
import { workload } from '../helpers/workloads.js'

const HOUR = 3_600_000
const T = Date.UTC(2026, 9, 20)
const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-simulate-split-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

// tmp-worker holds 10.70.0.9 only 10:00–14:00: a flow at 09:00 or 15:00 is from the address
// alone (an unmanaged entity of its own), one at 12:00 from tmp-worker
const inventory: Inventory = {
  workloads: [
    workload('web-1', '10.0.1.1', { role: 'web' }),
    {
      name: 'tmp-worker',
      addresses: [{ ip: '10.70.0.9', from: T + 10 * HOUR, to: T + 14 * HOUR }],
      labels: labelSet({ role: 'batch' }),
    },
  ],
  externals: [],
  labelRules: [],
}

const GROUPS = 40

/** Per port 8000 … 8039, three flows of one day at 09:00, 12:00 and 15:00: one stored group each. */
function flows(): Flow[] {
  const out: Flow[] = []
  for (let p = 0; p < GROUPS; p++)
    for (const [k, h] of [9, 12, 15].entries()) {
      const start = T + h * HOUR + p * 1000
      out.push({
        src: '10.70.0.9',
        dst: '10.0.1.1',
        srcPort: 40000,
        dstPort: 8000 + p,
        protocol: 6,
        start,
        end: start + 500,
        packets: 1,
        bytes: 60,
        observedAction: 'accept',
        direction: 'client-to-server',
        source: { format: 'csv', file: 'flows.csv', line: 2 + 3 * p + k },
      })
    }
  return out
}

it('judges groups spanning an address change flow by flow', async () => {
  const at = T + 12 * HOUR
  // no policy: every flow denied by default
  const index = PolicyIndex.build(inventory, { policies: [], enforcement: [] }, at)
  const store = await openDuckDbStore(path.join(root, 'store.duckdb'))
  try {
    await store.appendFlows(flows())
    const fromStore = new Simulator(index, inventory, at)
    expect(await feedStore(fromStore, index, store, { files: [], format: 'auto' })).toBe(GROUPS)
    const fromFlows = new Simulator(index, inventory, at)
    for (const f of flows()) fromFlows.add(f)
    const report = fromStore.report()
    expect(report).toEqual(fromFlows.report())
    expect(report.evaluated).toBe(3 * GROUPS)
    expect(report.denied.filter((e) => e.src.name === 'tmp-worker')).toHaveLength(GROUPS)
    expect(report.denied.find((e) => e.src.name === '10.70.0.9')).toMatchObject({
      flows: 2,
      examples: [{ line: 2 }, { line: 4 }],
    })
  } finally {
    await store.close()
  }
})
