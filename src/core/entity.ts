/**
 * @module Entities: what a flow endpoint resolves to (DESIGN.md "entity").
 */
import type { External, Workload } from './model.js'

/**
 * A workload, or an unmanaged address range. A named external from the inventory has
 * `named: true`; other unmanaged addresses are grouped into ranges such as `internet` or
 * `10.9.3.0/24` by the resolver and have `named: false`.
 */
export type Entity =
  | { readonly kind: 'workload'; readonly workload: Workload }
  | {
      readonly kind: 'external'
      readonly name: string
      readonly named: boolean
      readonly external?: External
    }

/** Display name: the workload's or range's name. */
export function entityName(e: Entity): string {
  return e.kind === 'workload' ? e.workload.name : e.name
}
