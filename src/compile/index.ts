/**
 * @module Compile stage: the Compiler interface and the targets. Re-exports only.
 */
export * from './target.js'
export * from './nftables/compile.js'
export * from './nftables/capabilities.js'
export * from './nftables/render.js'
export * from './nftables/check.js'
