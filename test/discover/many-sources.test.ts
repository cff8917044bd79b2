import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, expect, it } from 'vitest'
import type { Flow } from '../../src/core/index.js'
import { buildDependencyMap } from '../../src/discover/index.js'
import { loadWorkspace } from '../../src/policy/files.js'
import { openDuckDbStore } from '../../src/store/index.js'
import { FLOW_T0, syntheticFlow } from '../helpers/flows.js'

// A store of more files than a spread call takes arguments (about 125 000 on Node 20): AWS
// writes a file per interface and hour, so a 20 000-workload estate has 300 000 after two weeks.
const FILES = 200_000
const T0 = FLOW_T0
const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-many-sources-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

function* flows(): Generator<Flow> {
  for (let i = 0; i < FILES; i++)
    yield syntheticFlow(i, {
      src: '10.0.0.1',
      dst: '10.0.0.2',
      srcPort: 40000,
      source: { format: 'aws-vpc', file: `f${i}.log.gz`, line: 2 },
    })
}

it('maps a store of 200 000 flow files (window from the earliest to the latest)', async () => {
  mkdirSync(path.join(root, 'inventory'))
  writeFileSync(
    path.join(root, 'inventory', 'i.yaml'),
    'apiVersion: bulkhead.dev/v1\nkind: Inventory\nworkloads:\n  - { name: a, addresses: [10.0.0.1], labels: { role: web } }\n  - { name: b, addresses: [10.0.0.2], labels: { role: api } }\n',
  )
  const s = await openDuckDbStore(path.join(root, 'store.duckdb'))
  try {
    expect(await s.appendFlows(flows())).toBe(FILES)
    const { inventory } = await loadWorkspace(root, new Date(T0))
    const map = await buildDependencyMap(s, inventory)
    expect(map.sources.length).toBe(FILES)
    expect(map.window).toEqual({ start: T0, end: T0 + (FILES - 1) * 1000 + 500 })
    expect(map.edges.map((e) => [e.src, e.dst, e.dstPort, e.flows])).toEqual([
      ['a', 'b', 443, FILES],
    ])
  } finally {
    await s.close()
  }
}, 120_000)
