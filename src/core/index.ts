/**
 * @module The core model: re-exports only. Imports nothing else from `src/`.
 */
export * from './errors.js'
export * from './labels.js'
export * from './ip.js'
export * from './address-set.js'
export * from './cidr-trie.js'
export * from './service.js'
export * from './flow.js'
export * from './model.js'
export * from './identity.js'
export * from './entity.js'
export * from './selector.js'
export * from './verdict.js'
export * from './time-zone.js'
export * from './sorted.js'
export * from './text.js'
export * from './seen.js'
