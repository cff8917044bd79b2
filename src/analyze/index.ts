/**
 * @module Analyze: reachability, blast radius, lateral paths and segmentation metrics.
 * Re-exports only.
 * @remarks Semantics: DESIGN.md "blast radius"; issue 9.
 */
export * from './reachability.js'
export * from './blast-radius.js'
export * from './metrics.js'
export * from './render.js'
