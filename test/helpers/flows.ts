/**
 * @module A numbered synthetic flow for store tests: flow `i` is 10.0.x.y:40000+ → 10.0.200.1:443
 * TCP, starting `i` seconds after 2026-11-01T12:00Z and lasting 500 ms, from line `i + 1` of
 * an AWS VPC file `flows.log`; and one file read as users read it.
 */
import type { Flow } from '../../src/core/index.js'
import { readFlows, type FileSummary, type ReadOptions } from '../../src/ingest/read.js'

/** 2026-11-01T12:00:00Z, ms: the start of flow 0. */
export const FLOW_T0 = Date.UTC(2026, 10, 1, 12, 0, 0)

/** Flow number `i` (distinct source address and port for `i` < 20 000), with `over` applied. */
export function syntheticFlow(i: number, over: Partial<Flow> = {}): Flow {
  return {
    src: `10.0.${(i >> 8) & 255}.${i & 255}`,
    dst: '10.0.200.1',
    srcPort: 40000 + (i % 20000),
    dstPort: 443,
    protocol: 6,
    start: FLOW_T0 + i * 1000,
    end: FLOW_T0 + i * 1000 + 500,
    packets: 3,
    bytes: 180,
    observedAction: 'accept',
    direction: 'client-to-server',
    source: { format: 'aws-vpc', file: 'flows.log', line: i + 1 },
    ...over,
  }
}

/**
 * Reads one flow file through the reader users get (`readFlows`, format `auto` and not strict
 * unless `options` say otherwise) and returns its flows and its summary.
 */
export async function readOne(
  file: string,
  options: Partial<ReadOptions> = {},
): Promise<{ flows: Flow[]; summary: FileSummary }> {
  const summaries: FileSummary[] = []
  const flows: Flow[] = []
  for await (const f of readFlows([file], { format: 'auto', strict: false, ...options }, summaries))
    flows.push(f)
  const summary = summaries[0]
  if (summary === undefined) throw new Error(`no summary for ${file}`)
  return { flows, summary }
}
