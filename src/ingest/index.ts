/**
 * @module Flow ingest: parsers, format detection, streaming reads, direction inference. Re-exports only.
 */
export * from './types.js'
export * from './registry.js'
export * from './fields.js'
export * from './lines.js'
export * from './detect.js'
export * from './direction.js'
export * from './read.js'
export * from './columnar.js'
export { parseAwsFieldList } from './formats/aws-vpc.js'
export { bulkheadJsonlParser, flowToJson } from './formats/bulkhead-jsonl.js'
