/**
 * @module Inventory stage: workload sources and label rules. Re-exports only.
 */
export * from './label-rules.js'
export {
  checkInventory,
  emptyInventoryParts,
  readInventoryDocument,
  readLabelRulesDocument,
  type InventoryParts,
} from './sources/yaml.js'
