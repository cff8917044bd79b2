/**
 * @module Recommend stage: least-privilege policy from the dependency map. Re-exports only.
 */
export * from './types.js'
export { recommend, selectsWorkload, windowWarnings, FLAGGED_PATTERNS } from './recommend.js'
export { UNASSIGNED_OWNER } from '../policy/lint.js'
export {
  groupPorts,
  isEphemeralNoise,
  portsByEndpoints,
  EPHEMERAL_LOW,
  type PortGroup,
  type PortRangeOptions,
} from './ports.js'
export {
  aggregateBlocks,
  blockSelector,
  entityCidr,
  hostBlocks,
  internetSelectors,
} from './cidr.js'
export {
  findScans,
  isProbe,
  NEGOTIATING_PORTS,
  PROBE_MAX_FLOWS,
  PROBE_MAX_SPAN_MS,
  SCAN_MIN_PORTS,
  SCAN_MIN_TARGETS,
  SCAN_WINDOW_MS,
  type Scan,
} from './scans.js'
export { renderReportText, renderReportMarkdown } from './report.js'
export { recommendationFiles, renderRecommendation } from './write.js'
