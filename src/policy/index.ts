/**
 * @module Policy stage: loading and validating workspaces, and rendering policies. Re-exports only.
 */
export * from './load.js'
export * from './files.js'
export * from './workspace.js'
export * from './render.js'
export {
  hasScopedSide,
  parseExpires,
  parseSelector,
  selectorMatchesSomeWorkload,
  type SelectorNames,
} from './validate.js'
export { parseTimestamp } from '../core/yaml-source.js'
export {
  API_VERSION,
  KNOWN_KINDS,
  checkHeader,
  parseYamlFile,
  YamlDoc,
  type YamlPath,
} from '../core/yaml-source.js'
