/**
 * @module Builders of fixed inventories for example-based tests: a workload holding its
 * addresses at all times, and an inventory of workloads with no externals and no label rules.
 */
import { labelSet, type Inventory, type Workload } from '../../src/core/index.js'

/** A workload holding `ips` at all times (no `from` / `to`), with these labels. */
export function workload(
  name: string,
  ips: string | readonly string[],
  labels: Record<string, string> = {},
): Workload {
  return {
    name,
    addresses: (typeof ips === 'string' ? [ips] : ips).map((ip) => ({ ip })),
    labels: labelSet(labels),
  }
}

/** An inventory of these workloads, with no externals and no label rules. */
export function inventoryOf(...workloads: Workload[]): Inventory {
  return { workloads, externals: [], labelRules: [] }
}
