/**
 * What a Simulator holds per denied edge (README "Performance": about 120 bytes at a million
 * edges; 640 when each edge was an object with its own maps, arrays and example objects). The
 * heap is measured after a full garbage collection, with typed-array memory counted.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import type { Inventory } from '../../src/core/index.js'
import { PolicyIndex } from '../../src/policy/policy-index.js'
import { Simulator } from '../../src/policy/simulate.js'
import { simulateOutputOf, simulatePieces } from '../../src/cli/commands/simulate.js'
import { GITHUB_COMMENT_LIMIT } from '../../src/cli/render/md.js'
import { workload } from '../helpers/workloads.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** Heap used plus ArrayBuffer backing stores, after two full collections. */
function memory(): number {
  gc()
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

describe('Simulator memory', () => {
  it('holds under 250 bytes per denied edge over 100 000 edges', () => {
    const T = Date.UTC(2026, 10, 1)
    const inv: Inventory = {
      workloads: Array.from({ length: 200 }, (_, i) =>
        workload(`w${i}`, `10.1.0.${i}`, { role: 'web' }),
      ),
      externals: [],
      labelRules: [],
    }
    // no policy: every flow is denied by default, each on an edge of its own
    const index = PolicyIndex.build(inv, { policies: [], enforcement: [] }, T)
    const edges = 100_000
    const before = memory()
    const sim = new Simulator(index, inv, T)
    for (let i = 0; i < edges; i++) {
      const start = T + i * 1000
      sim.add({
        src: `10.1.0.${i % 200}`,
        dst: `10.1.0.${Math.floor(i / 200) % 200}`,
        srcPort: 40000,
        dstPort: 1000 + Math.floor(i / 40_000),
        protocol: 6,
        start,
        end: start + 500,
        packets: 1,
        bytes: 100,
        observedAction: 'accept',
        direction: 'client-to-server',
        source: { format: 'csv', file: 'flows.csv', line: i + 2 },
      })
    }
    const perEdge = (memory() - before) / edges
    expect(perEdge, `${Math.round(perEdge)} bytes per denied edge`).toBeLessThan(250)
    // the CLI's output document makes each edge's objects as it is written (simulateOutputOf):
    // it held about 960 bytes per edge in all when it listed them (report and document)
    const out = simulateOutputOf(
      sim,
      { from: 'files', what: 'flows.csv' },
      { files: [], format: 'auto' },
    )
    const withDocument = (memory() - before) / edges
    expect(withDocument, `${Math.round(withDocument)} bytes per denied edge`).toBeLessThan(300)
    let lines = 0
    for (const p of simulatePieces(out, 'csv')) if (p.endsWith('\r\n')) lines++
    expect(lines).toBe(edges + 1)
    // -o md is cut to a GitHub comment as it is written: the first rows, the rest counted
    let md = ''
    for (const p of simulatePieces(out, 'md')) md += p
    expect(md.length + 1).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT)
    // a denied-edge row names its example flows (flows.csv:LINE); the outcome table does not
    const rows = md.split('\n').filter((l) => l.startsWith('| ') && l.includes('flows.csv:')).length
    const left = /… (\d+) denied edges left out here/.exec(md)?.[1]
    expect(rows + Number(left)).toBe(edges)
    expect(sim.report().denied).toHaveLength(edges)
  })
})
