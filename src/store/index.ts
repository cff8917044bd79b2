/**
 * @module Flow storage: the {@link FlowStore} contract and its DuckDB implementation.
 * Shells import this file only.
 */
export type {
  FlowBatch,
  FlowColumnBatch,
  FlowQuery,
  FlowStore,
  GcpReportJournal,
  GroupFlowsOptions,
  IngestFileResult,
  ColumnBatch,
  ColumnValue,
  QueryOptions,
  StoredFlowGroup,
  StoredGcpReport,
  TempColumn,
} from './store.js'
export { windowWhere } from './store.js'
export { openDuckDbStore, fingerprintFile, type OpenStoreOptions } from './duckdb/store.js'
export { SCHEMA_VERSION } from './duckdb/schema.js'
