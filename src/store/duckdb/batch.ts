/**
 * @module The DuckDB load path: flows packed into column vectors, appended as data chunks to a
 * staging table, then moved into `flows` by one vectorised `INSERT … SELECT` per batch.
 *
 * Why this shape (measured on 1 M flows, 2 cores; see the issue note):
 * - the row Appender (`appendVarchar`, … per value) costs ~3.4 s per million flows, and the
 *   node-api `DuckDBDataChunk.setColumns` ~5.5 s: both make one native call per value;
 * - fixed-width columns copied from typed arrays cost almost nothing, but one native call per
 *   string (~340 ns) would still cost ~0.7 s per million for `src`/`dst` alone;
 * - so every string column is dictionary-coded in JS (a `Map` per batch; formats repeat the
 *   same few thousand addresses), the staging table holds `UINTEGER` codes, each distinct string
 *   crosses into DuckDB once per batch, and the `INSERT … SELECT` decodes them with a list
 *   lookup `d[code + 1]`;
 * - the copy into DuckDB is synchronous and cheap, so the `INSERT … SELECT` of one batch runs
 *   on DuckDB's threads while JS packs the next.
 * 64-bit columns are written as two little-endian 32-bit words, which avoids a `BigInt` per value.
 */
import duckdb from '@duckdb/node-bindings'
import {
  DATE,
  DuckDBDataChunk,
  INTEGER,
  UINTEGER,
  USMALLINT,
  UTINYINT,
  BIGINT,
  UBIGINT,
  type DuckDBAppender,
  type DuckDBConnection,
  type DuckDBType,
} from '@duckdb/node-api'
import type { Flow } from '../../core/index.js'
import { FLOW_COLUMNS, type FlowColumn } from './schema.js'

/** Rows per data chunk: DuckDB's vector size. */
const CHUNK_ROWS = 2048
/** Rows per batch (a multiple of {@link CHUNK_ROWS}). */
export const BATCH_ROWS = CHUNK_ROWS * 64

const MS_PER_DAY = 86_400_000
const TWO_32 = 4_294_967_296

/** The staging table (temporary, per connection) and the per-batch string dictionary. */
export const STAGE_TABLE = 'bulkhead_stage'
export const DICT_TABLE = 'bulkhead_dict'

function stageType(c: FlowColumn): DuckDBType {
  switch (c.kind) {
    case 'string':
    case 'u32':
      return UINTEGER
    case 'u8':
      return UTINYINT
    case 'u16':
      return USMALLINT
    case 'i32':
      return c.type === 'DATE' ? DATE : INTEGER
    case 'i64':
      return BIGINT
    case 'u64':
      return UBIGINT
  }
}

function stageSqlType(c: FlowColumn): string {
  return c.kind === 'string' ? 'UINTEGER' : c.type
}

/** DDL for the temporary staging and dictionary tables (run once per connection). */
export const STAGE_DDL = [
  `CREATE TEMP TABLE ${STAGE_TABLE} (${FLOW_COLUMNS.map((c) => `${c.name} ${stageSqlType(c)}`).join(', ')})`,
  `CREATE TEMP TABLE ${DICT_TABLE} (id UINTEGER, s VARCHAR)`,
]

/** Moves one staged batch into `flows`, decoding the dictionary codes. */
const MOVE_SQL =
  `INSERT INTO flows SELECT ${FLOW_COLUMNS.map((c) => (c.kind === 'string' ? `d[${c.name} + 1]` : c.name)).join(', ')} ` +
  `FROM temp.${STAGE_TABLE}, (SELECT list(s ORDER BY id) AS d FROM temp.${DICT_TABLE})`

const COL = Object.fromEntries(FLOW_COLUMNS.map((c, i) => [c.name, i])) as Record<string, number>

function col(name: string): number {
  const i = COL[name]
  if (i === undefined) throw new Error(`no column ${name}`)
  return i
}

// column indices, resolved once
const C_SRC = col('src')
const C_DST = col('dst')
const C_SPORT = col('src_port')
const C_DPORT = col('dst_port')
const C_PROTO = col('protocol')
const C_START = col('start_ms')
const C_END = col('end_ms')
const C_DAY = col('day')
const C_PACKETS = col('packets')
const C_BYTES = col('bytes')
const C_ACTION = col('observed_action')
const C_DIR = col('direction')
const C_FORMAT = col('format')
const C_FILE = col('file')
const C_LINE = col('line')
const C_RECORD = col('record')
const C_FLAGS = col('tcp_flags')
const C_SNAME = col('src_name')
const C_DNAME = col('dst_name')
const C_SLABELS = col('src_labels')
const C_DLABELS = col('dst_labels')

/** Strings every batch's dictionary starts with, at codes 0–4 (see {@link Batch.add}). */
const FIXED_STRINGS = [
  'accept',
  'reject',
  'unknown',
  'client-to-server',
  'server-to-client',
] as const

type Column = Uint8Array | Uint16Array | Uint32Array | Int32Array

function widthOf(c: FlowColumn): number {
  switch (c.kind) {
    case 'u8':
      return 1
    case 'u16':
      return 2
    case 'string':
    case 'u32':
    case 'i32':
      return 4
    case 'i64':
    case 'u64':
      return 8
  }
}

/** Labels as JSON object text with sorted keys (stable, so equal label sets compare equal). */
export function labelsJson(labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels).sort()
  const o: Record<string, string> = {}
  for (const k of keys) o[k] = labels[k] as string
  return JSON.stringify(o)
}

/** One batch of flows in column form, with its string dictionary. */
class Batch {
  n = 0
  readonly cols: Column[]
  /** Validity bitmaps (bit set = value present), for nullable columns only. */
  readonly valid: (Uint8Array | undefined)[]
  readonly dict = new Map<string, number>()
  readonly strings: string[] = []
  // one-entry caches for the columns that repeat the same string object row after row
  private lastFile = ''
  private lastFileCode = -1
  private lastFormat = ''
  private lastFormatCode = -1

  constructor(readonly capacity: number) {
    this.cols = FLOW_COLUMNS.map((c) => {
      const w = widthOf(c)
      if (w === 1) return new Uint8Array(capacity)
      if (w === 2) return new Uint16Array(capacity)
      if (w === 8) return new Uint32Array(capacity * 2)
      return c.kind === 'i32' ? new Int32Array(capacity) : new Uint32Array(capacity)
    })
    this.valid = FLOW_COLUMNS.map((c) => (c.nullable ? new Uint8Array(capacity / 8) : undefined))
    this.reset()
  }

  reset(): void {
    this.n = 0
    this.dict.clear()
    this.strings.length = 0
    for (const s of FIXED_STRINGS) this.code(s)
    this.lastFileCode = -1
    this.lastFormatCode = -1
    for (const v of this.valid) v?.fill(0)
  }

  private code(s: string): number {
    let c = this.dict.get(s)
    if (c === undefined) {
      c = this.strings.length
      this.dict.set(s, c)
      this.strings.push(s)
    }
    return c
  }

  private setString(col: number, row: number, s: string | undefined): void {
    if (s === undefined) return
    ;(this.cols[col] as Uint32Array)[row] = this.code(s)
    const v = this.valid[col] as Uint8Array
    v[row >> 3] = (v[row >> 3] as number) | (1 << (row & 7))
  }

  private setNullable(col: number, row: number, x: number | undefined): void {
    if (x === undefined) return
    ;(this.cols[col] as Uint32Array | Uint16Array)[row] = x
    const v = this.valid[col] as Uint8Array
    v[row >> 3] = (v[row >> 3] as number) | (1 << (row & 7))
  }

  /** Packs one flow; returns true when the batch is full. */
  add(f: Flow): boolean {
    const r = this.n++
    const cols = this.cols
    ;(cols[C_SRC] as Uint32Array)[r] = this.code(f.src)
    ;(cols[C_DST] as Uint32Array)[r] = this.code(f.dst)
    ;(cols[C_SPORT] as Uint16Array)[r] = f.srcPort
    ;(cols[C_DPORT] as Uint16Array)[r] = f.dstPort
    ;(cols[C_PROTO] as Uint8Array)[r] = f.protocol
    const start = f.start
    const end = f.end
    const i2 = r * 2
    const st = cols[C_START] as Uint32Array
    st[i2] = start >>> 0
    st[i2 + 1] = Math.floor(start / TWO_32)
    const en = cols[C_END] as Uint32Array
    en[i2] = end >>> 0
    en[i2 + 1] = Math.floor(end / TWO_32)
    ;(cols[C_DAY] as Int32Array)[r] = Math.floor(start / MS_PER_DAY)
    const pk = cols[C_PACKETS] as Uint32Array
    pk[i2] = f.packets >>> 0
    pk[i2 + 1] = Math.floor(f.packets / TWO_32)
    const by = cols[C_BYTES] as Uint32Array
    by[i2] = f.bytes >>> 0
    by[i2 + 1] = Math.floor(f.bytes / TWO_32)
    // fixed codes (see FIXED_STRINGS): the types allow no other values
    const a = f.observedAction
    ;(cols[C_ACTION] as Uint32Array)[r] = a === 'accept' ? 0 : a === 'reject' ? 1 : 2
    const d = f.direction
    ;(cols[C_DIR] as Uint32Array)[r] =
      d === 'client-to-server' ? 3 : d === 'server-to-client' ? 4 : 2
    const src = f.source
    if (src.file !== this.lastFile || this.lastFileCode < 0) {
      this.lastFile = src.file
      this.lastFileCode = this.code(src.file)
    }
    ;(cols[C_FILE] as Uint32Array)[r] = this.lastFileCode
    if (src.format !== this.lastFormat || this.lastFormatCode < 0) {
      this.lastFormat = src.format
      this.lastFormatCode = this.code(src.format)
    }
    ;(cols[C_FORMAT] as Uint32Array)[r] = this.lastFormatCode
    this.setNullable(C_LINE, r, src.line)
    this.setNullable(C_RECORD, r, src.record)
    this.setNullable(C_FLAGS, r, f.tcpFlags)
    this.setString(C_SNAME, r, f.srcName)
    this.setString(C_DNAME, r, f.dstName)
    if (f.srcLabels !== undefined) this.setString(C_SLABELS, r, labelsJson(f.srcLabels))
    if (f.dstLabels !== undefined) this.setString(C_DLABELS, r, labelsJson(f.dstLabels))
    return this.n === this.capacity
  }
}

/**
 * Writes flows into `flows` through the staging table. Use inside a transaction the caller
 * opened on `conn`; {@link FlowWriter.finish} returns after the last row is in `flows` (not yet
 * committed). On failure call {@link FlowWriter.abort}, then roll back.
 */
export class FlowWriter {
  private readonly batch: Batch
  private pending: Promise<void> | undefined
  private failure: unknown
  private failed = false
  private stored = 0
  private readonly chunk: DuckDBDataChunk
  private readonly vectors: duckdb.Vector[]
  private readonly widths = FLOW_COLUMNS.map(widthOf)

  private constructor(
    private readonly conn: DuckDBConnection,
    private readonly stage: DuckDBAppender,
    private readonly dict: DuckDBAppender,
    capacity: number,
  ) {
    this.batch = new Batch(capacity)
    this.chunk = DuckDBDataChunk.create(FLOW_COLUMNS.map(stageType))
    this.vectors = FLOW_COLUMNS.map((_, i) => duckdb.data_chunk_get_vector(this.chunk.chunk, i))
  }

  /** Opens appenders on the staging tables of `conn` (created with {@link STAGE_DDL}). */
  static async open(conn: DuckDBConnection, capacity = BATCH_ROWS): Promise<FlowWriter> {
    if (capacity % CHUNK_ROWS !== 0)
      throw new Error(`batch capacity must be a multiple of ${CHUNK_ROWS}`)
    const stage = await conn.createAppender(STAGE_TABLE, null, 'temp')
    const dict = await conn.createAppender(DICT_TABLE, null, 'temp')
    return new FlowWriter(conn, stage, dict, capacity)
  }

  /** Packs one flow. Returns true when a batch is full: the caller must then `await rotate()`. */
  add(f: Flow): boolean {
    return this.batch.add(f)
  }

  /**
   * Copies the batch into the staging table (after the previous move is done), starts moving it
   * into `flows` without waiting, and empties the batch for the next flows.
   */
  async rotate(): Promise<void> {
    await this.settle()
    const b = this.batch
    if (b.n === 0) return
    this.appendBatch(b)
    const rows = b.n
    b.reset()
    const conn = this.conn
    this.pending = (async () => {
      await conn.run(MOVE_SQL)
      await conn.run(`DELETE FROM temp.${STAGE_TABLE}`)
      await conn.run(`DELETE FROM temp.${DICT_TABLE}`)
      this.stored += rows
    })().then(
      () => undefined,
      (err: unknown) => {
        this.failed = true
        this.failure = err
      },
    )
  }

  /** Writes the last batch and waits for every batch to be in `flows`. Returns the row count. */
  async finish(): Promise<number> {
    await this.rotate()
    await this.settle()
    this.close()
    return this.stored
  }

  /** Waits for work in flight and releases the appenders; errors are dropped (the caller rolls back). */
  async abort(): Promise<void> {
    await this.pending
    this.pending = undefined
    try {
      this.close()
    } catch {
      // the transaction is rolled back anyway
    }
  }

  private close(): void {
    this.stage.closeSync()
    this.dict.closeSync()
  }

  private async settle(): Promise<void> {
    await this.pending
    this.pending = undefined
    if (this.failed) throw this.failure
  }

  private appendBatch(b: Batch): void {
    for (let i = 0; i < b.strings.length; i++) {
      this.dict.appendUInteger(i)
      this.dict.appendVarchar(b.strings[i] as string)
      this.dict.endRow()
    }
    this.dict.flushSync()
    const raw = this.chunk.chunk
    for (let off = 0; off < b.n; off += CHUNK_ROWS) {
      const m = Math.min(CHUNK_ROWS, b.n - off)
      duckdb.data_chunk_set_size(raw, m)
      for (let c = 0; c < this.vectors.length; c++) {
        const vec = this.vectors[c] as duckdb.Vector
        const w = this.widths[c] as number
        const arr = b.cols[c] as Column
        duckdb.copy_data_to_vector(
          vec,
          0,
          arr.buffer as ArrayBuffer,
          arr.byteOffset + off * w,
          m * w,
        )
        const v = b.valid[c]
        if (v) {
          duckdb.vector_ensure_validity_writable(vec)
          const bytes = Math.ceil(m / 64) * 8
          duckdb.copy_data_to_vector_validity(
            vec,
            0,
            v.buffer as ArrayBuffer,
            v.byteOffset + off / 8,
            bytes,
          )
        }
      }
      this.stage.appendDataChunk(this.chunk)
    }
    this.stage.flushSync()
  }
}
