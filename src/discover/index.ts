/**
 * @module Discover: aggregation of stored flows into a dependency map (edges with time profiles
 * and patterns) and its renderings. Re-exports only.
 * @remarks Semantics: DESIGN.md "edge", "dependency map"; issue 4 items 3–4.
 */
export type {
  DependencyMap,
  Edge,
  EdgePattern,
  MapEntity,
  MapEntityKind,
  SourceWindow,
  TimeProfile,
} from './types.js'
export {
  buildDependencyMap,
  coverageWarnings,
  edgeFigures,
  groupBy,
  topEdges,
  windowCalendar,
  windowDays,
  COVERAGE,
  type DiscoverOptions,
  type EdgeFigures,
  type Expectation,
} from './dependency-map.js'
export {
  classifyPattern,
  emptyProfile,
  profileOf,
  addProfiles,
  monthEndsOf,
  hourOfWeekSlot,
  dayOfMonthSlot,
  calendarOf,
  type PatternContext,
  type WindowCalendar,
} from './time-profile.js'
export {
  aggregateEdges,
  addressHoldings,
  EntityRegistry,
  ADDRESS_TABLE,
  untimedFlows,
} from './aggregate.js'
export {
  discoverOutput,
  MAX_SOURCES_LISTED,
  type DiscoverOutput,
  type DiscoverOutputOptions,
  type DiscoverEdgeOutput,
  type DiscoverEntityOutput,
} from './render/json.js'
export { renderDot } from './render/dot.js'
export { renderMermaid } from './render/mermaid.js'
export { renderHtml, renderHtmlPieces } from './render/html.js'
export { renderText } from './render/text.js'
