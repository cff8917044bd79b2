/**
 * @module Flow storage: the {@link FlowStore} contract and its DuckDB implementation.
 * Shells import this file only.
 */
export type {
  FlowBatch,
  FlowColumnBatch,
  FlowDictionaries,
  FlowQuery,
  FlowStore,
  GcpReportJournal,
  IngestFileResult,
  ColumnBatch,
  ColumnValue,
  QueryOptions,
  StoredGcpReport,
  TempColumn,
} from './store.js'
export { openDuckDbStore, fingerprintFile, type OpenStoreOptions } from './duckdb/store.js'
export { SCHEMA_VERSION } from './duckdb/schema.js'
