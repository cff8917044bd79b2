/** @module Hand-built dependency maps and inventories for the label suggestion tests. */
import { labelSet, type Inventory, type Workload } from '../../src/core/index.js'
import type { DependencyMap, Edge, MapEntity } from '../../src/discover/types.js'

/** A workload entity or inventory workload: name and labels. */
export interface W {
  readonly name: string
  readonly labels?: Record<string, string>
}

/** An edge written as [src, dst, protocol, dstPort]. */
export type E = readonly [string, string, number, number]

const EMPTY_PROFILE = {
  hourOfWeek: Array.from({ length: 168 }, () => 0),
  dayOfMonth: Array.from({ length: 31 }, () => 0),
}

/** A minimal edge; counts are placeholders (suggestions ignore them). */
export function edge([src, dst, protocol, dstPort]: E, flows = 1): Edge {
  return {
    src,
    dst,
    protocol,
    dstPort,
    flows,
    packets: flows,
    bytes: 100 * flows,
    firstSeen: 0,
    lastSeen: 1000,
    activeDays: 1,
    profile: EMPTY_PROFILE,
    pattern: 'once',
    unknownDirection: 0,
    rejected: 0,
  }
}

/**
 * A map whose entities are the given workloads plus, for any other id an edge names, an
 * `external` entity when the id starts with `ext-` and else an `unmanaged` one.
 */
export function mapOf(workloads: readonly W[], edges: readonly E[]): DependencyMap {
  const entities = new Map<string, MapEntity>()
  for (const w of workloads)
    entities.set(w.name, {
      id: w.name,
      kind: 'workload',
      name: w.name,
      labels: labelSet(w.labels ?? {}),
    })
  for (const [s, d] of edges)
    for (const id of [s, d])
      if (!entities.has(id))
        entities.set(id, {
          id,
          kind: id.startsWith('ext-') ? 'external' : 'unmanaged',
          name: id,
          labels: {},
        })
  return {
    window: { start: 0, end: 1000 },
    entities: [...entities.values()],
    edges: edges.map((e) => edge(e)),
    sources: [],
    diagnostics: [],
  }
}

/** An inventory of the given workloads (one made-up address each), no externals or rules. */
export function inventoryOf(workloads: readonly W[]): Inventory {
  return {
    workloads: workloads.map((w, i): Workload => ({
      name: w.name,
      addresses: [{ ip: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}` }],
      labels: labelSet(w.labels ?? {}),
    })),
    externals: [],
    labelRules: [],
  }
}
