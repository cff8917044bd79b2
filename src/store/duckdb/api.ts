/**
 * @module The values of `@duckdb/node-api` that the store uses, loaded with `require`.
 *
 * The package is CommonJS. Node's `import` of a CommonJS package first runs the CommonJS
 * export lexer over each of its files to find the named exports (`cjs-module-lexer`: about
 * 0.1 s of CPU for this package on Node 20, on every command that opens a store); `require`
 * loads the same module (one instance: an `import` elsewhere, as in the tests, gets these very
 * classes) without that pass. Types come from the package with `import type`, which costs
 * nothing at run time. The command line's bundle (scripts/bundle-cli.mjs) turns the call below
 * into a plain `require` and bundles the package; keep its text as it is.
 */
import { createRequire } from 'node:module'
import type * as Api from '@duckdb/node-api'

const api = createRequire(import.meta.url)('@duckdb/node-api') as typeof Api

export const {
  BIGINT,
  UBIGINT,
  UINTEGER,
  USMALLINT,
  UTINYINT,
  StatementType,
  DuckDBConnection,
  DuckDBInstance,
  DuckDBListValue,
  DuckDBListVector,
  DuckDBStructVector,
  DuckDBTableFunction,
  DuckDBTimestampValue,
} = api

/* The classes above as types too (a `const` and a `type` may share a name). */
export type StatementType = Api.StatementType
export type DuckDBConnection = Api.DuckDBConnection
export type DuckDBInstance = Api.DuckDBInstance
export type DuckDBListValue = Api.DuckDBListValue
export type DuckDBListVector = Api.DuckDBListVector
export type DuckDBStructVector = Api.DuckDBStructVector
export type DuckDBTableFunction = Api.DuckDBTableFunction
export type DuckDBTimestampValue = Api.DuckDBTimestampValue
