/** @module Helpers for the recommend tests: hand-built dependency maps, inventory YAML, normalising loaded policies. */
import { stringify } from 'yaml'
import type { Inventory, Policy } from '../../src/core/index.js'
import type { DependencyMap, Edge, EdgePattern, MapEntity } from '../../src/discover/types.js'
import { defaultWorkspace, loadFromSources, type SourceFile } from '../../src/policy/index.js'

export const DAY = 86_400_000
export const T0 = Date.UTC(2026, 9, 1)

/** One edge with defaults: 10 flows on day 0, continuous, direction known. */
export function edge(
  src: string,
  dst: string,
  protocol: number,
  dstPort: number,
  extra: Partial<Omit<Edge, 'src' | 'dst' | 'protocol' | 'dstPort'>> & {
    pattern?: EdgePattern
  } = {},
): Edge {
  return {
    src,
    dst,
    protocol,
    dstPort,
    flows: 10,
    packets: 100,
    bytes: 10_000,
    firstSeen: T0,
    lastSeen: T0 + DAY,
    activeDays: 2,
    profile: { hourOfWeek: Array<number>(168).fill(0), dayOfMonth: Array<number>(31).fill(0) },
    pattern: 'continuous',
    unknownDirection: 0,
    rejected: 0,
    ...extra,
  }
}

/** A map over the inventory's workloads and externals plus the given unmanaged entity names. */
export function mapOf(
  inventory: Inventory,
  edges: readonly Edge[],
  window: { start: number; end: number } | undefined = { start: T0, end: T0 + 20 * DAY },
): DependencyMap {
  const entities: MapEntity[] = [
    ...inventory.workloads.map((w) => ({
      id: w.name,
      kind: 'workload' as const,
      name: w.name,
      labels: w.labels,
    })),
    ...inventory.externals.map((x) => ({
      id: x.name,
      kind: 'external' as const,
      name: x.name,
      labels: x.labels,
    })),
  ]
  const known = new Set(entities.map((e) => e.id))
  for (const e of edges) {
    for (const id of [e.src, e.dst]) {
      if (!known.has(id)) {
        known.add(id)
        entities.push({ id, kind: 'unmanaged', name: id, labels: {} })
      }
    }
  }
  return { window, entities, edges, sources: [], diagnostics: [] }
}

/** Renders an inventory as a `kind: Inventory` YAML file (times as ISO-8601). */
export function inventoryYaml(inventory: Inventory): SourceFile {
  const doc = {
    apiVersion: 'bulkhead.dev/v1',
    kind: 'Inventory',
    workloads: inventory.workloads.map((w) => ({
      name: w.name,
      addresses: w.addresses.map((a) =>
        a.from === undefined && a.to === undefined
          ? a.ip
          : {
              ip: a.ip,
              ...(a.from !== undefined ? { from: new Date(a.from).toISOString() } : {}),
              ...(a.to !== undefined ? { to: new Date(a.to).toISOString() } : {}),
            },
      ),
      labels: { ...w.labels },
    })),
    externals: inventory.externals.map((x) => ({
      name: x.name,
      cidr: x.cidr.text,
      labels: { ...x.labels },
    })),
  }
  return { path: 'inventory/inventory.yaml', text: stringify(doc) }
}

/** Loads an inventory from YAML text (throws on any error). */
export function loadInventory(text: string): Inventory {
  const r = loadFromSources(
    defaultWorkspace('.'),
    [{ path: 'inventory/hosts.yaml', text }],
    [],
    new Date(T0),
  )
  if (r.diagnostics.some((d) => d.severity !== 'warning'))
    throw new Error(JSON.stringify(r.diagnostics))
  return r.inventory
}

/** Drops `location` everywhere and `file`, so loaded and built policies compare. */
export function normalise(policies: readonly Policy[]): unknown {
  const strip = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(strip)
    if (x !== null && typeof x === 'object' && typeof (x as { base?: unknown }).base !== 'bigint') {
      return Object.fromEntries(
        Object.entries(x)
          .filter(([k, v]) => k !== 'location' && k !== 'file' && v !== undefined)
          .map(([k, v]) => [k, strip(v)]),
      )
    }
    return x
  }
  return strip(policies)
}
