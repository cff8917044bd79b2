/**
 * @module The DuckDB load path: flows packed into column vectors, a batch at a time, which
 * DuckDB reads into `flow_rows` by one `INSERT … SELECT` per batch from a table function
 * ({@link prepareLoad}) that copies them chunk by chunk.
 *
 * Why this shape (measured on 1 M flows, 2 cores; see the issue 3 notes):
 * - the row Appender (`appendVarchar`, … per value) costs ~3.4 s per million flows, and the
 *   node-api `DuckDBDataChunk.setColumns` ~5.5 s: both make one native call per value;
 * - fixed-width columns copied from typed arrays cost almost nothing, but one native call per
 *   string (~340 ns) would still cost ~0.7 s per million for `src`/`dst` alone;
 * - addresses are stored as ids into the store's `addresses` table (schema version 2): the
 *   address {@link IdBook} assigns them in JS, each new address crosses into DuckDB once per store,
 *   and `flow_rows` holds `UINTEGER`s, which DuckDB compresses for half the CPU of VARCHAR;
 *   `observed_action` and `direction` are stored as their small codes;
 * - schema version 3: `format` / `file` are stored as one id into the store's `sources` table,
 *   assigned by an {@link IdBook}; names and labels as one nullable id into `names`, assigned
 *   by another (NULL for a flow with none, the common case); `day` is not
 *   stored (the `flows` view computes it from `start_ms`). So every column handed over is a
 *   number and the insert is a plain `INSERT … SELECT`;
 * - the `INSERT … SELECT` of one batch runs on DuckDB's thread while JS packs the next; until
 *   session 36 a batch was first appended to a temporary staging table (`appendDataChunk`, then
 *   the appender's `flushSync`, about 0.2 s of the JS thread per million rows, a third of it
 *   DuckDB's distinct-count statistics of the staging table), then moved. DuckDB now reads the
 *   batch through a table function whose calls (one per 2 048 rows, on the JS thread, between
 *   reads of the file) only copy typed arrays into its output vectors: 1 M Zeek records in
 *   process 1.14–1.33 → 1.02–1.14 s, machine otherwise idle (see the README's "Where the time
 *   goes");
 * - flows arrive as objects ({@link FlowWriter.add}) or as columns
 *   ({@link FlowWriter.appendColumns}, from the ingest columnar path), which are copied array to
 *   array, address codes through a per-table remap to address ids.
 *
 * Measured (2026-11-22, 2 cores, 1 M synthetic flows into an on-disk store, /tmp/r2/load.mts,
 * load average 1–5 from other work), whole-process CPU: schema version 1 with DuckDB's 2 threads
 * 4.5–5.7 s; with 1 thread for the load (store.ts LOAD_THREADS) 3.0 s; schema version 2 with 1
 * thread 2.3 s. `preserve_insertion_order=false` doubled the file and the CPU (rejected);
 * larger batches (256 Ki, 512 Ki rows) did not help. A direct appender on the table took the
 * same CPU as the staging path but on the JS thread. `force_compression='uncompressed'` inserts
 * about 2× faster and writes a 12× larger file (rejected).
 * Schema version 3 against version 2, whole-process CPU for 1 M synthetic flows into a fresh
 * on-disk store (.perf/w-load.mts: flows built before the clock starts, 1 load thread; best of 3
 * in each of two rounds, load average 5.5–8 from other work, 2026-11-22): column path
 * ({@link FlowWriter.appendColumns}) 1.94 / 2.71 → 1.32 / 1.38 s, object path
 * ({@link FlowWriter.add}) 3.52 / 4.19 → 3.19 / 2.81 s; best wall 3.0 → 1.7 s (columns); the
 * file grows 7.9 → 8.1 MB.
 * 64-bit columns are written as two little-endian 32-bit words, which avoids a `BigInt` per value.
 * A flow's `packets` and `bytes` are safe integers (core/flow.ts {@link isCounter}), so the high
 * word never exceeds 2^21 − 1; any other value is refused (`store/bad-counter`), never stored
 * wrapped or truncated.
 */
import duckdb from '@duckdb/node-bindings'
import { DuckDBTableFunction, UINTEGER, USMALLINT, UTINYINT, BIGINT, UBIGINT } from './api.js'
import type { DuckDBAppender, DuckDBConnection, DuckDBType } from '@duckdb/node-api'
import {
  BulkheadError,
  diagnostic,
  HALF_ECHO_ASSUMED,
  HALF_ICMP_TYPED,
  HALF_SETTLED,
  HALF_SWAPPED,
  HALF_UNPAIRED,
  isCounter,
  type Flow,
  type FlowHalf,
  type FlowObjects,
} from '../../core/index.js'
import type { FlowBatch, FlowColumnBatch } from '../store.js'
import { FLOW_COLUMNS, type FlowColumn } from './schema.js'

/**
 * The error for a counter outside the Flow contract (core/flow.ts `MAX_COUNTER`), at the flow's
 * file and line (line 0, the whole file, for a record read by index).
 */
function badCounter(packets: number, bytes: number, file: string, line: number): BulkheadError {
  return new BulkheadError([
    diagnostic(
      'store/bad-counter',
      `a flow's packets (${String(packets)}) or bytes (${String(bytes)}) is not an integer 0 … 2^53 - 1; it is not stored`,
      { file, line, column: 0 },
    ),
  ])
}

/**
 * Checks every flow of `batch` against the Flow contract's counters before any is packed, so that
 * a file held whole in memory (`FlowStore.ingestFiles`) is refused before anything of it
 * is written.
 * @throws BulkheadError `store/bad-counter` at the first flow whose `packets` or `bytes` is not a
 * safe integer 0 … 2^53 − 1, as {@link FlowWriter.append} would.
 */
export function checkCounters(batch: FlowBatch): void {
  if (Array.isArray(batch)) {
    for (const f of batch as readonly Flow[])
      if (!isCounter(f.packets) || !isCounter(f.bytes))
        throw badCounter(f.packets, f.bytes, f.source.file, f.source.line ?? 0)
    return
  }
  const c = batch as FlowColumnBatch
  for (let i = 0; i < c.n; i++) {
    const p = c.packets[i] as number
    const b = c.bytes[i] as number
    if (!isCounter(p) || !isCounter(b)) throw badCounter(p, b, c.file, c.line[i] ?? 0)
  }
}

/** Rows per data chunk: DuckDB's vector size. */
const CHUNK_ROWS = 2048
/** Rows per batch (a multiple of {@link CHUNK_ROWS}). */
export const BATCH_ROWS = CHUNK_ROWS * 64
/**
 * Rows packed at which {@link FlowWriter} hands a batch to DuckDB early, when no insert is in
 * flight (a multiple of {@link CHUNK_ROWS}: each insert is one statement, planned once, and smaller
 * batches would only multiply those).
 */
const EAGER_ROWS = CHUNK_ROWS * 8

const TWO_32 = 4_294_967_296

function stageType(c: FlowColumn): DuckDBType {
  switch (c.kind) {
    case 'address':
    case 'source':
    case 'names':
    case 'exporter':
    case 'u32':
      return UINTEGER
    case 'u8':
      return UTINYINT
    case 'u16':
      return USMALLINT
    case 'i64':
      return BIGINT
    case 'u64':
      return UBIGINT
  }
}

/**
 * A batch handed to DuckDB: its columns and validity bitmaps (as {@link Batch} packs them), its
 * row count, and the next row the scan of {@link prepareLoad}'s table function gives out.
 */
interface Feed {
  cols: Column[]
  valid: (Uint8Array | undefined)[]
  n: number
  pos: number
}

/** Each connection's feed ({@link prepareLoad}) and the name of its table function. */
const FEEDS = new WeakMap<DuckDBConnection, { readonly name: string; feed: Feed | undefined }>()
let feedNames = 0

/**
 * Registers on `conn` the table function that gives out the rows of the batch a {@link FlowWriter}
 * of `conn` is storing: run once per connection, outside a transaction (DuckDB registers a
 * function in the connection's transaction, so a rollback would take it away).
 * `INSERT INTO flow_rows SELECT * FROM` it runs on DuckDB's thread, calling back into JavaScript
 * for each chunk of 2 048 rows, whose columns are copied from the batch's typed arrays
 * (`copy_data_to_vector`, one call per column); nothing is staged in a table first. While such
 * an insert is in flight, the JS thread must make no synchronous call on `conn` (it would wait
 * for the insert, which waits for the JS thread): {@link FlowWriter} settles its insert before it
 * touches `conn` again, and the store runs its operations on `conn` one at a time.
 */
export function prepareLoad(conn: DuckDBConnection): void {
  if (FEEDS.has(conn)) return
  const slot: { readonly name: string; feed: Feed | undefined } = {
    name: `bulkhead_batch_${String(++feedNames)}`,
    feed: undefined,
  }
  const widths = FLOW_COLUMNS.map(widthOf)
  conn.registerTableFunction(
    DuckDBTableFunction.create({
      name: slot.name,
      bindFunction: (info) => {
        for (const c of FLOW_COLUMNS) info.addResultColumn(c.name, stageType(c))
      },
      initFunction: () => undefined,
      mainFunction: (_info, out) => {
        const f = slot.feed
        const raw = out.chunk
        const m = f === undefined ? 0 : Math.min(CHUNK_ROWS, f.n - f.pos)
        duckdb.data_chunk_set_size(raw, m)
        if (f === undefined || m === 0) return
        const off = f.pos
        for (let c = 0; c < widths.length; c++) {
          const vec = duckdb.data_chunk_get_vector(raw, c)
          const w = widths[c] as number
          const arr = f.cols[c] as Column
          duckdb.copy_data_to_vector(
            vec,
            0,
            arr.buffer as ArrayBuffer,
            arr.byteOffset + off * w,
            m * w,
          )
          const v = f.valid[c]
          if (v) {
            duckdb.vector_ensure_validity_writable(vec)
            duckdb.copy_data_to_vector_validity(
              vec,
              0,
              v.buffer as ArrayBuffer,
              v.byteOffset + off / 8,
              Math.ceil(m / 64) * 8,
            )
          }
        }
        f.pos = off + m
      },
    }),
  )
  FEEDS.set(conn, slot)
}

/**
 * What a dictionary table of the store holds and how its rows map to values of type `T`: the
 * table, its value columns (after `id UINTEGER`; VARCHAR, NULL as `undefined`), the map key of
 * a value and its cells.
 */
export interface BookSpec<T> {
  readonly table: string
  readonly columns: readonly string[]
  key(value: T): string
  cells(value: T): readonly (string | undefined)[]
  fromCells(cells: readonly (string | undefined)[]): T
}

/** `addresses (id, text)`: canonical address text (schema version 2). */
export const ADDRESS_BOOK: BookSpec<string> = {
  table: 'addresses',
  columns: ['text'],
  key: (text) => text,
  cells: (text) => [text],
  fromCells: (c) => c[0] ?? '',
}

/** `sources (id, format, file)`: a flow's `source.format` and `source.file` (schema version 3). */
export const SOURCE_BOOK: BookSpec<readonly [format: string, file: string]> = {
  table: 'sources',
  columns: ['format', 'file'],
  key: ([format, file]) => `${format}\u0000${file}`,
  cells: (v) => v,
  fromCells: (c) => [c[0] ?? '', c[1] ?? ''],
}

/** A flow's `srcName`, `dstName` and labels ({@link labelsJson} text); absent values undefined. */
export type NameTuple = readonly [
  srcName: string | undefined,
  dstName: string | undefined,
  srcLabels: string | undefined,
  dstLabels: string | undefined,
]

/**
 * `names (id, src_name, dst_name, src_labels, dst_labels)` (schema version 3); a flow with none
 * of the four stores a NULL id (see {@link namesId}). Why a table: four all-NULL VARCHAR columns
 * cost ~0.25 s of DuckDB insert CPU per million rows (string compression analysis, even of
 * NULLs), one all-NULL UINTEGER column ~0 (3.3 M rows, one thread, .perf/w-nulls.mts,
 * 2026-11-22); names and labels repeat per workload, so the table stays small.
 */
export const NAME_BOOK: BookSpec<NameTuple> = {
  table: 'names',
  columns: ['src_name', 'dst_name', 'src_labels', 'dst_labels'],
  key: (v) => JSON.stringify(v.map((x) => x ?? null)),
  cells: (v) => v,
  fromCells: (c) => [c[0], c[1], c[2], c[3]],
}

/**
 * `exporters (id, key)` (schema version 5): the exporter of an unpaired NetFlow/IPFIX or goflow2
 * half (core `FlowHalf.exporter`); one row per exporter, so the rows hold a `UINTEGER` that is
 * NULL on every other flow.
 */
export const EXPORTER_BOOK: BookSpec<string> = {
  table: 'exporters',
  columns: ['key'],
  key: (key) => key,
  cells: (key) => [key],
  fromCells: (c) => c[0] ?? '',
}

/**
 * One of the store's dictionary tables ({@link ADDRESS_BOOK}, {@link SOURCE_BOOK},
 * {@link NAME_BOOK}, {@link EXPORTER_BOOK}) mirrored in JS: every distinct value gets the next id (0, 1, …). Ids
 * assigned since the last {@link IdBook.commit} are written to the table with the batch that
 * first uses them (same transaction; ids below `written` are there) and forgotten by
 * {@link IdBook.rollback}.
 */
export class IdBook<T> {
  private readonly ids = new Map<string, number>()
  /** The values by id. */
  readonly values: T[] = []
  /** Ids below this are in the table (committed or written in the open transaction). */
  written = 0
  private committed = 0
  /** Changes when ids are forgotten, so that callers can drop cached ids. */
  epoch = 0

  constructor(readonly spec: BookSpec<T>) {}

  /**
   * Reads the table (ids must be 0 … n-1, as this class writes them).
   * @throws Error when the ids have a gap.
   */
  static async load<T>(conn: DuckDBConnection, spec: BookSpec<T>): Promise<IdBook<T>> {
    const book = new IdBook(spec)
    const r = await conn.runAndReadAll(
      `SELECT id, ${spec.columns.join(', ')} FROM ${spec.table} ORDER BY id`,
    )
    for (const [id, ...cells] of r.getRows()) {
      if (Number(id) !== book.values.length)
        throw new Error(`the store's ${spec.table} table has a gap at id ${book.values.length}`)
      book.id(spec.fromCells(cells.map((c) => (typeof c === 'string' ? c : undefined))))
    }
    book.written = book.committed = book.values.length
    return book
  }

  /** The id of `value`, assigned when new. */
  id(value: T): number {
    const key = this.spec.key(value)
    let id = this.ids.get(key)
    if (id === undefined) {
      id = this.values.length
      this.ids.set(key, id)
      this.values.push(value)
    }
    return id
  }

  /** The transaction that wrote the new ids committed. */
  commit(): void {
    this.committed = this.written = this.values.length
  }

  /** The transaction rolled back: forgets ids assigned since the last commit. */
  rollback(): void {
    if (this.values.length === this.committed) return
    for (let i = this.committed; i < this.values.length; i++)
      this.ids.delete(this.spec.key(this.values[i] as T))
    this.values.length = this.committed
    this.written = this.committed
    this.epoch++
  }

  /** Appends the rows of the ids not yet written (`id`, then the cells) and marks them written. */
  writeNew(appender: DuckDBAppender): void {
    if (this.written === this.values.length) return
    for (let i = this.written; i < this.values.length; i++) {
      appender.appendUInteger(i)
      for (const v of this.spec.cells(this.values[i] as T)) {
        if (v === undefined) appender.appendNull()
        else appender.appendVarchar(v)
      }
      appender.endRow()
    }
    appender.flushSync()
    this.written = this.values.length
  }
}

/** The `names` id of a flow's names and labels: -1 (a NULL id) when all four are absent. */
function namesId(names: IdBook<NameTuple>, tuple: NameTuple): number {
  return tuple.every((v) => v === undefined) ? -1 : names.id(tuple)
}

/** The store's four dictionaries, as {@link FlowWriter} and the store share them. */
export interface Books {
  readonly addresses: IdBook<string>
  readonly sources: IdBook<readonly [string, string]>
  readonly names: IdBook<NameTuple>
  readonly exporters: IdBook<string>
}

/** Reads the store's four dictionary tables. */
export async function loadBooks(conn: DuckDBConnection): Promise<Books> {
  return {
    addresses: await IdBook.load(conn, ADDRESS_BOOK),
    sources: await IdBook.load(conn, SOURCE_BOOK),
    names: await IdBook.load(conn, NAME_BOOK),
    exporters: await IdBook.load(conn, EXPORTER_BOOK),
  }
}

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
const C_PACKETS = col('packets')
const C_BYTES = col('bytes')
const C_ACTION = col('observed_action')
const C_DIR = col('direction')
const C_SOURCE = col('source')
const C_LINE = col('line')
const C_RECORD = col('record')
const C_FLAGS = col('tcp_flags')
const C_NAMES = col('names')
const C_HALF = col('half')
const C_EXPORTER = col('exporter')

type Column = Uint8Array | Uint16Array | Uint32Array | Int32Array

function widthOf(c: FlowColumn): number {
  switch (c.kind) {
    case 'u8':
      return 1
    case 'u16':
      return 2
    case 'address':
    case 'source':
    case 'names':
    case 'exporter':
    case 'u32':
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

/** One batch of flows in column form. */
class Batch {
  n = 0
  readonly cols: Column[]
  /** Validity bitmaps (bit set = value present), for nullable columns only. */
  readonly valid: (Uint8Array | undefined)[]
  // a one-entry cache for the source, which repeats row after row
  private lastFile = ''
  private lastFormat = ''
  private lastSource = -1
  private lastSourceEpoch = -1
  // a one-entry cache for the names of the column path: (table, srcName code, dstName code)
  private lastNameStrings: readonly string[] | undefined
  private lastSrcName = -1
  private lastDstName = -1
  private lastNames = -1
  private lastNamesEpoch = -1

  constructor(
    readonly capacity: number,
    readonly book: IdBook<string>,
    readonly sources: IdBook<readonly [string, string]>,
    readonly names: IdBook<NameTuple>,
    readonly exporters: IdBook<string>,
  ) {
    this.cols = FLOW_COLUMNS.map((c) => {
      const w = widthOf(c)
      if (w === 1) return new Uint8Array(capacity)
      if (w === 2) return new Uint16Array(capacity)
      if (w === 8) return new Uint32Array(capacity * 2)
      return new Uint32Array(capacity)
    })
    this.valid = FLOW_COLUMNS.map((c) => (c.nullable ? new Uint8Array(capacity / 8) : undefined))
    this.reset()
  }

  reset(): void {
    this.n = 0
    this.lastSource = -1
    for (const v of this.valid) v?.fill(0)
  }

  /** {@link FlowColumnBatch} string code → address id (-1: not looked up), for `addrStrings`. */
  private addr = new Int32Array(0)
  private addrStrings: readonly string[] | undefined
  private addrEpoch = -1

  private growAddr(min: number): void {
    const a = new Int32Array(Math.max(min, this.addr.length * 2, 1024)).fill(-1)
    a.set(this.addr)
    this.addr = a
  }

  /** The address id of code `c` of `strings` (`addr` holds at least `strings.length` codes). */
  private addrCode(strings: readonly string[], c: number): number {
    if (c >= this.addr.length) this.growAddr(c + 1)
    const id = this.book.id(strings[c] as string)
    this.addr[c] = id
    return id
  }

  /** The names id of (`s`, `d`), codes of `strings` (-1: absent), through a one-entry cache. */
  private nameCode(strings: readonly string[], s: number, d: number): number {
    if (
      strings !== this.lastNameStrings ||
      s !== this.lastSrcName ||
      d !== this.lastDstName ||
      this.names.epoch !== this.lastNamesEpoch
    ) {
      this.lastNameStrings = strings
      this.lastSrcName = s
      this.lastDstName = d
      this.lastNamesEpoch = this.names.epoch
      this.lastNames = namesId(this.names, [
        s >= 0 ? strings[s] : undefined,
        d >= 0 ? strings[d] : undefined,
        undefined,
        undefined,
      ])
    }
    return this.lastNames
  }

  /**
   * Packs rows `from … from + count - 1` of `c` (at most the room left). Fixed-width columns are
   * copied array to array; address codes go through a per-table remap to address ids.
   * @throws BulkheadError `store/bad-counter` as {@link Batch.add}; no row of this call is packed.
   */
  addColumns(c: FlowColumnBatch, from: number, count: number): void {
    const strings = c.table.strings
    if (strings !== this.addrStrings || this.book.epoch !== this.addrEpoch) {
      this.addrStrings = strings
      this.addrEpoch = this.book.epoch
      this.addr.fill(-1)
    }
    if (this.addr.length < strings.length) this.growAddr(strings.length)
    const addr = this.addr
    const n0 = this.n
    const to = from + count
    const cols = this.cols
    const srcCol = cols[C_SRC] as Uint32Array
    const dstCol = cols[C_DST] as Uint32Array
    for (let i = from, r = n0; i < to; i++, r++) {
      const s = c.src[i] as number
      const sa = s < addr.length ? (addr[s] as number) : -1
      srcCol[r] = sa >= 0 ? sa : this.addrCode(strings, s)
      const d = c.dst[i] as number
      const da = d < addr.length ? (addr[d] as number) : -1
      dstCol[r] = da >= 0 ? da : this.addrCode(strings, d)
    }
    ;(cols[C_SPORT] as Uint16Array).set(c.srcPort.subarray(from, to), n0)
    ;(cols[C_DPORT] as Uint16Array).set(c.dstPort.subarray(from, to), n0)
    ;(cols[C_PROTO] as Uint8Array).set(c.protocol.subarray(from, to), n0)
    // action (0 accept, 1 reject, 2 unknown) and direction codes are the stored ones
    ;(cols[C_ACTION] as Uint8Array).set(c.action.subarray(from, to), n0)
    ;(cols[C_DIR] as Uint8Array).set(c.direction.subarray(from, to), n0)
    // unpaired-half marks (core HALF_*) are the stored values too
    if (c.half !== undefined) (cols[C_HALF] as Uint8Array).set(c.half.subarray(from, to), n0)
    else (cols[C_HALF] as Uint8Array).fill(0, n0, n0 + count)
    const st = cols[C_START] as Uint32Array
    const en = cols[C_END] as Uint32Array
    const pk = cols[C_PACKETS] as Uint32Array
    const by = cols[C_BYTES] as Uint32Array
    const line = cols[C_LINE] as Uint32Array
    for (let i = from, r = n0; i < to; i++, r++) {
      const i2 = r * 2
      const start = c.start[i] as number
      const end = c.end[i] as number
      st[i2] = start >>> 0
      st[i2 + 1] = Math.floor(start / TWO_32)
      en[i2] = end >>> 0
      en[i2 + 1] = Math.floor(end / TWO_32)
      const p = c.packets[i] as number
      const b = c.bytes[i] as number
      if (!isCounter(p) || !isCounter(b)) throw badCounter(p, b, c.file, c.line[i] ?? 0)
      pk[i2] = p >>> 0
      pk[i2 + 1] = Math.floor(p / TWO_32)
      by[i2] = b >>> 0
      by[i2 + 1] = Math.floor(b / TWO_32)
      line[r] = c.line[i] as number
    }
    this.setValidRange(C_LINE, n0, count)
    ;(cols[C_SOURCE] as Uint32Array).fill(this.source(c.format, c.file), n0, n0 + count)
    const flags = cols[C_FLAGS] as Uint16Array
    const flagsValid = this.valid[C_FLAGS] as Uint8Array
    const nm = cols[C_NAMES] as Uint32Array
    const nmValid = this.valid[C_NAMES] as Uint8Array
    for (let i = from, r = n0; i < to; i++, r++) {
      const f = c.tcpFlags[i] as number
      if (f >= 0) {
        flags[r] = f
        flagsValid[r >> 3] = (flagsValid[r >> 3] as number) | (1 << (r & 7))
      }
      const s = c.srcName[i] as number
      const d = c.dstName[i] as number
      if (s >= 0 || d >= 0) {
        nm[r] = this.nameCode(strings, s, d)
        nmValid[r >> 3] = (nmValid[r >> 3] as number) | (1 << (r & 7))
      }
    }
    this.n = n0 + count
  }

  /** Marks rows `from … from + count - 1` of nullable column `col` present. */
  private setValidRange(col: number, from: number, count: number): void {
    const v = this.valid[col] as Uint8Array
    let r = from
    const to = from + count
    for (; r < to && (r & 7) !== 0; r++) v[r >> 3] = (v[r >> 3] as number) | (1 << (r & 7))
    const fullEnd = to & ~7
    if (r < fullEnd) {
      v.fill(0xff, r >> 3, fullEnd >> 3)
      r = fullEnd
    }
    for (; r < to; r++) v[r >> 3] = (v[r >> 3] as number) | (1 << (r & 7))
  }

  /** The `sources` id of (`format`, `file`), assigned when new. */
  sourceId(format: string, file: string): number {
    return this.source(format, file)
  }

  /** The source id of (`format`, `file`), through a one-entry cache. */
  private source(format: string, file: string): number {
    if (
      this.lastSource < 0 ||
      file !== this.lastFile ||
      format !== this.lastFormat ||
      this.sources.epoch !== this.lastSourceEpoch
    ) {
      this.lastFile = file
      this.lastFormat = format
      this.lastSource = this.sources.id([format, file])
      this.lastSourceEpoch = this.sources.epoch
    }
    return this.lastSource
  }

  private setNullable(col: number, row: number, x: number | undefined): void {
    if (x === undefined) return
    ;(this.cols[col] as Uint32Array | Uint16Array)[row] = x
    const v = this.valid[col] as Uint8Array
    v[row >> 3] = (v[row >> 3] as number) | (1 << (row & 7))
  }

  /**
   * Packs one flow; returns true when the batch is full. `half`: the flow is an unpaired half
   * (NetFlow/IPFIX, goflow2), stored with its mark and exporter.
   * @throws BulkheadError `store/bad-counter` when `packets` or `bytes` is not a safe integer
   * 0 … 2^53 − 1 (the Flow contract); nothing of the flow is packed.
   */
  add(f: Flow, half?: FlowHalf): boolean {
    if (!isCounter(f.packets) || !isCounter(f.bytes))
      throw badCounter(f.packets, f.bytes, f.source.file, f.source.line ?? 0)
    const r = this.n++
    const cols = this.cols
    ;(cols[C_SRC] as Uint32Array)[r] = this.book.id(f.src)
    ;(cols[C_DST] as Uint32Array)[r] = this.book.id(f.dst)
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
    const pk = cols[C_PACKETS] as Uint32Array
    pk[i2] = f.packets >>> 0
    pk[i2 + 1] = Math.floor(f.packets / TWO_32)
    const by = cols[C_BYTES] as Uint32Array
    by[i2] = f.bytes >>> 0
    by[i2 + 1] = Math.floor(f.bytes / TWO_32)
    // the stored codes (schema.ts FLOW_COLUMNS): the types allow no other values
    const a = f.observedAction
    ;(cols[C_ACTION] as Uint8Array)[r] = a === 'accept' ? 0 : a === 'reject' ? 1 : 2
    const d = f.direction
    ;(cols[C_DIR] as Uint8Array)[r] =
      d === 'client-to-server' ? 1 : d === 'server-to-client' ? 2 : 0
    // a flow object is an unpaired half only with its exporter (AWS and GCP halves come as columns)
    if (half === undefined) (cols[C_HALF] as Uint8Array)[r] = 0
    else {
      ;(cols[C_HALF] as Uint8Array)[r] = half.half
      this.setNullable(C_EXPORTER, r, this.exporters.id(half.exporter))
    }
    const src = f.source
    ;(cols[C_SOURCE] as Uint32Array)[r] = this.source(src.format, src.file)
    this.setNullable(C_LINE, r, src.line)
    this.setNullable(C_RECORD, r, src.record)
    this.setNullable(C_FLAGS, r, f.tcpFlags)
    const names = namesId(this.names, [
      f.srcName,
      f.dstName,
      f.srcLabels && labelsJson(f.srcLabels),
      f.dstLabels && labelsJson(f.dstLabels),
    ])
    if (names >= 0) this.setNullable(C_NAMES, r, names)
    return this.n === this.capacity
  }
}

/**
 * Formats whose flow logs record a connection at each network interface it crosses, each record
 * with that interface's action, so that one attempt can be `ACCEPT` where it left and `REJECT`
 * where it was refused (AWS VPC, GCP VPC: ingest's `PAIRED_FORMATS`; a test keeps the two equal).
 * The store settles such attempts across files ({@link settleBothEnds}).
 */
export const BOTH_ENDS_FORMATS: ReadonlySet<string> = new Set(['aws-vpc', 'gcp-vpc'])

/** Largest gap (ms) between the two ends' records of one attempt: ingest's `PAIR_SLACK_MS`. */
const BOTH_ENDS_SLACK_MS = 60_000
/**
 * How much earlier (ms) than the earliest new row a stored row of the same attempt may start: a
 * record spans at most one aggregation interval (AWS: 10 minutes), a paired flow its two
 * halves; an hour leaves room for both.
 */
const BOTH_ENDS_LOOKBACK_MS = 3_600_000

/**
 * The query of the row ids of the `accept` halves of one direction that a half written
 * `reject` refuses (`rejected-at-other-end`), over the unpaired halves (`half` with core
 * `HALF_UNPAIRED`) that start in `[lo, hi]` and that `scope` (SQL over `flow_rows`) admits: the
 * same record (protocol, source and destination address and port as the record wrote them: a half
 * stored turned round, `HALF_SWAPPED`, is turned back; for ICMP both read typeless, or both with
 * their type), the same `exporter` (NULL for AWS and GCP), one `accept` and one `reject` that is
 * no settled accept itself (`HALF_SETTLED` clear), their times overlapping or at most
 * {@link BOTH_ENDS_SLACK_MS} apart; with `otherFile`, of different files only ({@link settleHalves}
 * reads them `reject`).
 */
function refusedHalvesSql(lo: number, hi: number, scope: string, otherFile: boolean): string {
  const swapped = `(half & ${String(HALF_SWAPPED)}) <> 0`
  return `WITH near AS (
         SELECT rowid AS id, source, exporter, protocol, start_ms, end_ms, observed_action,
           (half & ${String(HALF_SETTLED)}) <> 0 AS settled,
           half & ${String(HALF_ECHO_ASSUMED | HALF_ICMP_TYPED)} AS icmp,
           CASE WHEN ${swapped} THEN dst ELSE src END AS rs,
           CASE WHEN ${swapped} THEN dst_port ELSE src_port END AS rsp,
           CASE WHEN ${swapped} THEN src ELSE dst END AS rd,
           CASE WHEN ${swapped} THEN src_port ELSE dst_port END AS rdp
         FROM flow_rows
         WHERE start_ms BETWEEN ${String(lo)} AND ${String(hi)}
           AND (half & ${String(HALF_UNPAIRED)}) <> 0 AND observed_action <= 1 AND ${scope})
       SELECT DISTINCT a.id FROM near a JOIN near r
         ON a.exporter IS NOT DISTINCT FROM r.exporter AND a.rs = r.rs AND a.rd = r.rd
           AND a.rsp = r.rsp AND a.rdp = r.rdp AND a.protocol = r.protocol AND a.icmp = r.icmp
       WHERE a.observed_action = 0 AND r.observed_action = 1 AND NOT r.settled${
         otherFile ? ' AND a.source <> r.source' : ''
       }
         AND r.start_ms <= a.end_ms + ${String(BOTH_ENDS_SLACK_MS)}
         AND a.start_ms <= r.end_ms + ${String(BOTH_ENDS_SLACK_MS)}`
}

/** The connection's temporary table of the row ids {@link settleHalves} reads `reject`. */
const SETTLE_IDS = 'bulkhead_settle_ids'

/**
 * Reads `reject` the halves {@link refusedHalvesSql} finds, and marks them `HALF_SETTLED`, so
 * that they settle nothing in turn, here or in a later transaction, as in reading (ingest
 * direction.ts `DirectionPairer`). The ids are found first and kept in a temporary table, and
 * the update runs only when there are some: an `UPDATE … WHERE rowid IN (query)` that changes
 * nothing costs about twice the query alone (5 000 000 AWS records in one transaction, 2.84 M
 * rows, 682 777 unpaired halves, nothing to settle: 164 ms against 82–97 ms, 2026-11-25).
 * @returns how many stored halves were turned to `reject`.
 */
async function settleHalves(
  conn: DuckDBConnection,
  lo: number,
  hi: number,
  scope: string,
  otherFile: boolean,
): Promise<number> {
  await conn.run(
    `CREATE OR REPLACE TEMP TABLE ${SETTLE_IDS} AS ${refusedHalvesSql(lo, hi, scope, otherFile)}`,
  )
  let changed = 0
  try {
    const found = await conn.runAndReadAll(`SELECT count(*) FROM ${SETTLE_IDS}`)
    if (Number(found.getRows()[0]?.[0] ?? 0) > 0)
      changed = (
        await conn.run(
          `UPDATE flow_rows SET observed_action = 1, half = half | ${String(HALF_SETTLED)}
             WHERE rowid IN (SELECT id FROM ${SETTLE_IDS})`,
        )
      ).rowsChanged
  } catch (err) {
    // the transaction is rolled back; the error that says why is the one to keep
    await conn.run(`DROP TABLE IF EXISTS ${SETTLE_IDS}`).catch(() => undefined)
    throw err
  }
  await conn.run(`DROP TABLE ${SETTLE_IDS}`)
  return changed
}

/**
 * Reads `reject` the stored `accept` halves of one attempt that the other end's record shows
 * refused, across files and ingests: one direction of a connection (the record as written:
 * protocol, source and destination address and port), one unpaired half `accept` and one written
 * `reject`, their times overlapping or at most {@link BOTH_ENDS_SLACK_MS} apart, both of
 * {@link BOTH_ENDS_FORMATS} ({@link settleHalves}). AWS logs a connection at each interface it
 * crosses with that interface's action; when the destination's security group refuses it, the
 * source's interface logs it `ACCEPT` and the destination's `REJECT` ("Flow log records": "REJECT
 * — … not allowed by the security groups or network ACLs"), and the two records are often in
 * different files (each interface's aggregation interval ends at its own time; S3 delivers a file
 * every 5 minutes). Reading settles what one file holds (ingest `rejected-at-other-end`); this
 * settles the rest, in the transaction that stores the new rows, over the stored halves near
 * their time span `span` (from {@link FlowWriter.bothEndsSpan}), within a file too (where reading's
 * run was cut short: more than 9 records of the connection between them).
 *
 * A flow merged from both directions is neither settled nor a refusal, as in reading, where the
 * pair leaves the pairer at once: a reply means the traffic went both ways through one interface
 * (AWS "Flow log record examples": a ping the network ACL lets out logs "two ACCEPT records (one
 * for the originating ping and one for the response ping)", one the security group denies "a
 * single REJECT record, because the traffic was not permitted to reach your instance"). A half
 * read `reject` by settling (`HALF_SETTLED`) is no refusal either.
 * @returns how many stored halves were turned to `reject`.
 */
export async function settleBothEnds(
  conn: DuckDBConnection,
  span: { readonly lo: number; readonly hi: number },
): Promise<number> {
  const formats = [...BOTH_ENDS_FORMATS].map((f) => `'${f}'`).join(', ')
  const lo = Math.max(-8.64e15, span.lo - BOTH_ENDS_LOOKBACK_MS)
  const hi = Math.min(8.64e15, span.hi + BOTH_ENDS_SLACK_MS)
  const scope = `source IN (SELECT id FROM sources WHERE format IN (${formats}))`
  return settleHalves(conn, lo, hi, scope, false)
}

/**
 * {@link settleBothEnds} for the unpaired halves of NetFlow/IPFIX and goflow2 records (rows with
 * an `exporter`): one direction of a connection that one exporter logged `accept` (forwarded,
 * RFC 7270 forwardingStatus 64–127) in one file and `reject` (dropped, 128–191) in another, their
 * times overlapping or at most {@link BOTH_ENDS_SLACK_MS} apart, is one refusal: the accepted
 * half is read `reject`. As reading settles two such records of one exporter within a file
 * (ingest direction.ts `DirectionPairer.push`, `rejected-at-other-end`): the same exporter, the
 * same record ({@link settleHalves}), the halves of different files (two halves of one file
 * that reading did not settle stay as they are, as in that file). Only unpaired halves carry their
 * exporter, so a flow merged from both directions is not looked at: within a file too, a record
 * paired with its reply is no longer held when the refusal comes.
 * Runs over the halves near `span` (from {@link FlowWriter.exporterSpan}), after `pairHalves`.
 * @returns how many stored halves were turned to `reject`.
 */
export async function settleExporterEnds(
  conn: DuckDBConnection,
  span: { readonly lo: number; readonly hi: number },
): Promise<number> {
  const lo = Math.max(-8.64e15, span.lo - BOTH_ENDS_LOOKBACK_MS)
  const hi = Math.min(8.64e15, span.hi + BOTH_ENDS_SLACK_MS)
  return settleHalves(conn, lo, hi, 'exporter IS NOT NULL', true)
}

/**
 * Writes flows into `flows`, a batch at a time, through {@link prepareLoad}'s table function
 * (which must have been registered on `conn`). Use inside a transaction the caller
 * opened on `conn`; {@link FlowWriter.finish} returns after the last row is in `flows` (not yet
 * committed). On failure call {@link FlowWriter.abort}, then roll back.
 */
export class FlowWriter {
  private readonly batch: Batch
  /** The insert in flight (settles without throwing); undefined when DuckDB has none. */
  private pending: Promise<void> | undefined
  private failure: unknown
  private failed = false
  private stored = 0
  /** The batch DuckDB reads while the next one is packed: its arrays swap with the packed one's. */
  private readonly sending: Feed
  /** Earliest `start` and latest `end` (ms) of the rows written of {@link BOTH_ENDS_FORMATS}. */
  private lo = Infinity
  private hi = -Infinity
  /** Earliest `start` and latest `end` (ms) of the unpaired halves written (`half` not 0). */
  private halfLo = Infinity
  private halfHi = -Infinity
  /** The `sources` ids of the unpaired halves written. */
  private readonly halfSources = new Set<number>()
  /** Earliest `start` and latest `end` (ms) of the unpaired halves written with an exporter. */
  private exporterLo = Infinity
  private exporterHi = -Infinity
  /** A typed ICMP half was written (core `HALF_ICMP_TYPED`). */
  private icmpTyped = false

  private constructor(
    private readonly conn: DuckDBConnection,
    private readonly slot: { readonly name: string; feed: Feed | undefined },
    private readonly addresses: DuckDBAppender,
    private readonly sourceRows: DuckDBAppender,
    private readonly nameRows: DuckDBAppender,
    private readonly exporterRows: DuckDBAppender,
    capacity: number,
    books: Books,
  ) {
    this.batch = new Batch(capacity, books.addresses, books.sources, books.names, books.exporters)
    const other = new Batch(capacity, books.addresses, books.sources, books.names, books.exporters)
    this.sending = { cols: other.cols, valid: other.valid, n: 0, pos: 0 }
    this.insertSql = `INSERT INTO flow_rows SELECT * FROM ${slot.name}()`
  }

  private readonly insertSql: string

  /**
   * Opens appenders on `addresses`, `sources`, `names` and `exporters`. `books` are the store's dictionaries (read from their
   * tables when not given); the caller tells them about the commit or rollback of the
   * transaction.
   * @throws Error when `capacity` is not a multiple of 2 048 (DuckDB's vector size), or when
   * {@link prepareLoad} was not run on `conn`.
   */
  static async open(
    conn: DuckDBConnection,
    capacity = BATCH_ROWS,
    books?: Books,
  ): Promise<FlowWriter> {
    if (capacity % CHUNK_ROWS !== 0)
      throw new Error(`batch capacity must be a multiple of ${CHUNK_ROWS}`)
    const slot = FEEDS.get(conn)
    if (slot === undefined) throw new Error('prepareLoad was not run on this connection')
    const b = books ?? (await loadBooks(conn))
    const addresses = await conn.createAppender(ADDRESS_BOOK.table)
    const sourceRows = await conn.createAppender(SOURCE_BOOK.table)
    const nameRows = await conn.createAppender(NAME_BOOK.table)
    const exporterRows = await conn.createAppender(EXPORTER_BOOK.table)
    return new FlowWriter(conn, slot, addresses, sourceRows, nameRows, exporterRows, capacity, b)
  }

  /**
   * Packs one flow. Returns true when a batch is full: the caller must then `await rotate()`.
   * `half`: the flow is an unpaired NetFlow/IPFIX or goflow2 half ({@link FlowHalf}).
   * @throws BulkheadError `store/bad-counter` for a counter outside the Flow contract.
   */
  add(f: Flow, half?: FlowHalf): boolean {
    if (BOTH_ENDS_FORMATS.has(f.source.format)) {
      if (f.start < this.lo) this.lo = f.start
      if (f.end > this.hi) this.hi = f.end
    }
    if (half !== undefined && half.half !== 0) {
      if (f.start < this.halfLo) this.halfLo = f.start
      if (f.end > this.halfHi) this.halfHi = f.end
      // a FlowHalf always names its exporter
      if (f.start < this.exporterLo) this.exporterLo = f.start
      if (f.end > this.exporterHi) this.exporterHi = f.end
      if ((half.half & HALF_ICMP_TYPED) !== 0) this.icmpTyped = true
      this.halfSources.add(this.batch.sourceId(f.source.format, f.source.file))
    } else half = undefined
    return this.batch.add(f, half)
  }

  /**
   * The time span (ms since the epoch) of the rows written of formats that log a connection at
   * each interface it crosses ({@link BOTH_ENDS_FORMATS}); undefined when there are none.
   */
  bothEndsSpan(): { readonly lo: number; readonly hi: number } | undefined {
    return this.lo <= this.hi ? { lo: this.lo, hi: this.hi } : undefined
  }

  /**
   * The time span (ms since the epoch) of the unpaired halves written with an exporter
   * (NetFlow/IPFIX, goflow2; {@link settleExporterEnds}); undefined when there are none.
   */
  exporterSpan(): { readonly lo: number; readonly hi: number } | undefined {
    return this.exporterLo <= this.exporterHi
      ? { lo: this.exporterLo, hi: this.exporterHi }
      : undefined
  }

  /**
   * The unpaired halves written (rows whose `half` is not 0): their time span (ms since the
   * epoch), the `sources` ids of their files, and whether one is a typed ICMP half; undefined
   * when there are none. What `pairHalves` (./halves.ts) looks at.
   */
  halves():
    | {
        readonly lo: number
        readonly hi: number
        readonly sources: readonly number[]
        readonly icmpTyped: boolean
      }
    | undefined {
    return this.halfLo <= this.halfHi
      ? {
          lo: this.halfLo,
          hi: this.halfHi,
          sources: [...this.halfSources],
          icmpTyped: this.icmpTyped,
        }
      : undefined
  }

  /**
   * Packs a batch of flow objects or of columns, rotating through full batches.
   * @throws BulkheadError `store/bad-counter` as {@link FlowWriter.add}; what a rotation throws.
   */
  async append(batch: FlowBatch): Promise<void> {
    if (Array.isArray(batch)) {
      const halves = (batch as FlowObjects).halves
      if (halves === undefined || halves.size === 0) {
        for (const f of batch as readonly Flow[]) if (this.add(f)) await this.rotate()
      } else {
        for (const f of batch as readonly Flow[])
          if (this.add(f, halves.get(f))) await this.rotate()
      }
      await this.rotateWhenIdle()
    } else await this.appendColumns(batch as FlowColumnBatch)
  }

  /**
   * Packs a batch of columns (any size), rotating through full batches. The columns are read
   * before this returns; the caller may reuse them afterwards.
   */
  async appendColumns(c: FlowColumnBatch): Promise<void> {
    if (BOTH_ENDS_FORMATS.has(c.format)) {
      const half = c.half
      let halves = false
      for (let i = 0; i < c.n; i++) {
        const start = c.start[i] as number
        const end = c.end[i] as number
        if (start < this.lo) this.lo = start
        if (end > this.hi) this.hi = end
        if (half !== undefined && half[i] !== 0) {
          halves = true
          if (start < this.halfLo) this.halfLo = start
          if (end > this.halfHi) this.halfHi = end
        }
      }
      if (halves) this.halfSources.add(this.batch.sourceId(c.format, c.file))
    }
    const b = this.batch
    let off = 0
    while (off < c.n) {
      const m = Math.min(c.n - off, b.capacity - b.n)
      b.addColumns(c, off, m)
      off += m
      if (b.n === b.capacity) await this.rotate()
    }
    await this.rotateWhenIdle()
  }

  /**
   * Hands the rows packed so far to DuckDB when no insert is in flight and they are at least
   * {@link EAGER_ROWS}, instead of waiting for a full batch. The parser is the slower side: with
   * full batches only, DuckDB waited for each while JavaScript packed it, and after the file's
   * last record JavaScript waited for the insert of a whole last batch; now DuckDB takes what is
   * there whenever it is free, and the last insert is of the rows packed meanwhile.
   */
  private async rotateWhenIdle(): Promise<void> {
    if (this.pending === undefined) {
      if (this.batch.n >= EAGER_ROWS) await this.rotate()
      return
    }
    // an insert in flight takes its rows through the table function, whose calls wait for this
    // thread's event loop: a caller that reads without waiting for I/O (small files read whole,
    // `ingestFiles`) would reach it only when the batch is full, and then wait for the whole insert
    await new Promise((resolve) => setImmediate(resolve))
  }

  /**
   * Hands the batch to DuckDB (after the previous insert is done): writes the new dictionary
   * rows, swaps the batch's arrays with those of {@link sending}, starts the insert of its rows
   * into `flow_rows` without waiting (DuckDB reads them through {@link prepareLoad}'s table
   * function while JavaScript packs the next batch), and empties the batch.
   */
  async rotate(): Promise<void> {
    await this.settle()
    const b = this.batch
    if (b.n === 0) return
    b.book.writeNew(this.addresses)
    b.sources.writeNew(this.sourceRows)
    b.names.writeNew(this.nameRows)
    b.exporters.writeNew(this.exporterRows)
    const f = this.sending
    for (let c = 0; c < b.cols.length; c++) {
      const col = b.cols[c] as Column
      b.cols[c] = f.cols[c] as Column
      f.cols[c] = col
      const v = b.valid[c]
      b.valid[c] = f.valid[c]
      f.valid[c] = v
    }
    f.n = b.n
    f.pos = 0
    const rows = b.n
    b.reset()
    const conn = this.conn
    const slot = this.slot
    this.pending = (async () => {
      slot.feed = f
      try {
        await conn.run(this.insertSql)
      } finally {
        slot.feed = undefined
      }
      if (f.pos !== rows) throw new Error(`${String(f.pos)} of ${String(rows)} rows were stored`)
      this.stored += rows
    })().then(
      () => {
        // no insert in flight: the next packed rows may go at once (rotateWhenIdle)
        this.pending = undefined
      },
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
    this.nameRows.closeSync()
    this.exporterRows.closeSync()
    this.addresses.closeSync()
    this.sourceRows.closeSync()
  }

  private async settle(): Promise<void> {
    await this.pending
    this.pending = undefined
    if (this.failed) throw this.failure
  }
}
