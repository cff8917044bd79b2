/**
 * @module Kubernetes connectivity analysis (NetworkPolicy, AdminNetworkPolicy,
 * BaselineAdminNetworkPolicy, Ingress/Route): re-exports only.
 */
export * from './manifests.js'
export * from './netpol.js'
export * from './anp.js'
export * from './ingress.js'
export * from './model.js'
export * from './connlist.js'
export * from './eval.js'
export * from './files.js'
export * from './import.js'
export * from './udn.js'
