/**
 * @module The DuckDB load path: flows packed into column vectors, appended as data chunks to a
 * staging table, then moved into `flow_rows` by one vectorised `INSERT … SELECT` per batch.
 *
 * Why this shape (measured on 1 M flows, 2 cores; see the issue 3 notes):
 * - the row Appender (`appendVarchar`, … per value) costs ~3.4 s per million flows, and the
 *   node-api `DuckDBDataChunk.setColumns` ~5.5 s: both make one native call per value;
 * - fixed-width columns copied from typed arrays cost almost nothing, but one native call per
 *   string (~340 ns) would still cost ~0.7 s per million for `src`/`dst` alone;
 * - addresses are stored as ids into the store's `addresses` table (schema version 2): the
 *   {@link AddressBook} assigns them in JS, each new address crosses into DuckDB once per store,
 *   and `flow_rows` holds `UINTEGER`s, which DuckDB compresses for half the CPU of VARCHAR;
 *   `observed_action` and `direction` are stored as their small codes;
 * - the other string columns are dictionary-coded in JS (a `Map` per batch), the staging table
 *   holds `UINTEGER` codes, each distinct string crosses into DuckDB once per batch, and the
 *   `INSERT … SELECT` decodes them with a list lookup `d[code + 1]`; `format` / `file` are bound
 *   as parameters when a batch has one of each, and names / labels are NULL when no row has one,
 *   so a flow-log batch needs no dictionary at all;
 * - the copy into DuckDB is synchronous and cheap, so the `INSERT … SELECT` of one batch runs
 *   on DuckDB's thread while JS packs the next;
 * - flows arrive as objects ({@link FlowWriter.add}) or as columns
 *   ({@link FlowWriter.appendColumns}, from the ingest columnar path), which are copied array to
 *   array, strings through per-batch and per-table code remaps.
 *
 * Measured (2026-11-22, 2 cores, 1 M synthetic flows into an on-disk store, /tmp/r2/load.mts,
 * load average 1–5 from other work), whole-process CPU: schema version 1 with DuckDB's 2 threads
 * 4.5–5.7 s; with 1 thread for the load (store.ts LOAD_THREADS) 3.0 s; schema version 2 with 1
 * thread 2.3 s. `preserve_insertion_order=false` doubled the file and the CPU (rejected);
 * larger batches (256 Ki, 512 Ki rows) did not help. A direct appender on the table took the
 * same CPU as the staging path but on the JS thread. `force_compression='uncompressed'` inserts
 * about 2× faster and writes a 12× larger file (rejected).
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
import type { FlowColumnBatch } from '../store.js'
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
    case 'address':
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

/**
 * The statement that moves one staged batch into `flow_rows`. Addresses, action and direction
 * are already the stored codes; the other string columns are decoded from the batch dictionary
 * with a list lookup. Cheaper expressions where the batch allows: `format` and `file` as
 * parameters `$1`, `$2` when the whole batch has one of each (`single`); names and labels as NULL
 * when no row has one; no dictionary at all when nothing needs it.
 */
function moveSql(single: boolean, names: boolean, labels: boolean): string {
  const expr = (c: FlowColumn): string => {
    if (c.kind !== 'string') return c.name
    switch (c.name) {
      case 'format':
        return single ? '$1::VARCHAR' : `d[format + 1]`
      case 'file':
        return single ? '$2::VARCHAR' : `d[file + 1]`
      case 'src_name':
      case 'dst_name':
        return names ? `d[${c.name} + 1]` : 'NULL'
      case 'src_labels':
      case 'dst_labels':
        return labels ? `d[${c.name} + 1]` : 'NULL'
      default:
        return `d[${c.name} + 1]`
    }
  }
  const dict = !single || names || labels
  return (
    `INSERT INTO flow_rows SELECT ${FLOW_COLUMNS.map(expr).join(', ')} FROM temp.${STAGE_TABLE}` +
    (dict ? `, (SELECT list(s ORDER BY id) AS d FROM temp.${DICT_TABLE})` : '')
  )
}

/** {@link moveSql} for every combination, index `single * 4 + names * 2 + labels`. */
const MOVE_SQL: readonly string[] = [0, 1, 2, 3, 4, 5, 6, 7].map((k) =>
  moveSql((k & 4) !== 0, (k & 2) !== 0, (k & 1) !== 0),
)

/**
 * The store's address dictionary, `addresses (id, text)`, mirrored in JS: every distinct
 * address text gets the next id. Ids assigned since the last {@link AddressBook.commit} are
 * written to `addresses` with the batch that first uses them (same transaction) and forgotten by
 * {@link AddressBook.rollback}.
 */
export class AddressBook {
  private readonly ids = new Map<string, number>()
  /** Address text by id. */
  readonly texts: string[] = []
  /** Ids below this are in `addresses` (committed or written in the open transaction). */
  written = 0
  private committed = 0
  /** Changes when ids are forgotten, so that callers can drop cached ids. */
  epoch = 0

  /** Reads `addresses` (ids must be 0 … n-1, as this class writes them). */
  static async load(conn: DuckDBConnection): Promise<AddressBook> {
    const book = new AddressBook()
    const r = await conn.runAndReadAll(`SELECT id, text FROM addresses ORDER BY id`)
    for (const [id, text] of r.getRows()) {
      if (Number(id) !== book.texts.length)
        throw new Error(`the store's addresses table has a gap at id ${book.texts.length}`)
      book.id(text as string)
    }
    book.written = book.committed = book.texts.length
    return book
  }

  /** The id of `text`, assigned when new. */
  id(text: string): number {
    let id = this.ids.get(text)
    if (id === undefined) {
      id = this.texts.length
      this.ids.set(text, id)
      this.texts.push(text)
    }
    return id
  }

  /** The transaction that wrote the new ids committed. */
  commit(): void {
    this.committed = this.written = this.texts.length
  }

  /** The transaction rolled back: forgets ids assigned since the last commit. */
  rollback(): void {
    if (this.texts.length === this.committed) return
    for (let i = this.committed; i < this.texts.length; i++)
      this.ids.delete(this.texts[i] as string)
    this.texts.length = this.committed
    this.written = this.committed
    this.epoch++
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

type Column = Uint8Array | Uint16Array | Uint32Array | Int32Array

function widthOf(c: FlowColumn): number {
  switch (c.kind) {
    case 'u8':
      return 1
    case 'u16':
      return 2
    case 'address':
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
  /** The batch's one `file` and `format` codes, until a second of either shows up (`mixed`). */
  fileCode = -1
  formatCode = -1
  mixed = false
  /** Whether any row has a name / labels. */
  hasNames = false
  hasLabels = false

  constructor(
    readonly capacity: number,
    readonly book: AddressBook,
  ) {
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
    this.gen++
    this.dict.clear()
    this.strings.length = 0
    this.lastFileCode = -1
    this.lastFormatCode = -1
    this.fileCode = -1
    this.formatCode = -1
    this.mixed = false
    this.hasNames = false
    this.hasLabels = false
    for (const v of this.valid) v?.fill(0)
  }

  /** {@link FlowColumnBatch} string code → this batch's code, valid where `remapGen` is `gen`. */
  private remap = new Uint32Array(0)
  private remapGen = new Int32Array(0)
  private gen = 0
  private remapStrings: readonly string[] | undefined
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

  /** This batch's code of code `c` of `strings` (the string table of the columns being added). */
  private remapCode(strings: readonly string[], c: number): number {
    if (c >= this.remap.length) {
      const len = Math.max(c + 1, this.remap.length * 2, 1024)
      const r = new Uint32Array(len)
      r.set(this.remap)
      const g = new Int32Array(len)
      g.set(this.remapGen)
      this.remap = r
      this.remapGen = g
    }
    if (this.remapGen[c] === this.gen) return this.remap[c] as number
    const code = this.code(strings[c] as string)
    this.remap[c] = code
    this.remapGen[c] = this.gen
    return code
  }

  /**
   * Packs rows `from … from + count - 1` of `c` (at most the room left). Fixed-width columns are
   * copied array to array; string codes go through a per-batch remap, so each distinct string
   * is looked up once per batch.
   */
  addColumns(c: FlowColumnBatch, from: number, count: number): void {
    const strings = c.table.strings
    if (strings !== this.remapStrings) {
      this.remapStrings = strings
      this.gen++
    }
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
    const st = cols[C_START] as Uint32Array
    const en = cols[C_END] as Uint32Array
    const day = cols[C_DAY] as Int32Array
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
      day[r] = Math.floor(start / MS_PER_DAY)
      const p = c.packets[i] as number
      pk[i2] = p >>> 0
      pk[i2 + 1] = Math.floor(p / TWO_32)
      const b = c.bytes[i] as number
      by[i2] = b >>> 0
      by[i2 + 1] = Math.floor(b / TWO_32)
      line[r] = c.line[i] as number
    }
    this.setValidRange(C_LINE, n0, count)
    const fileCode = this.code(c.file)
    const formatCode = this.code(c.format)
    ;(cols[C_FILE] as Uint32Array).fill(fileCode, n0, n0 + count)
    ;(cols[C_FORMAT] as Uint32Array).fill(formatCode, n0, n0 + count)
    this.source(fileCode, formatCode)
    const flags = cols[C_FLAGS] as Uint16Array
    const flagsValid = this.valid[C_FLAGS] as Uint8Array
    const sn = cols[C_SNAME] as Uint32Array
    const snValid = this.valid[C_SNAME] as Uint8Array
    const dn = cols[C_DNAME] as Uint32Array
    const dnValid = this.valid[C_DNAME] as Uint8Array
    for (let i = from, r = n0; i < to; i++, r++) {
      const f = c.tcpFlags[i] as number
      if (f >= 0) {
        flags[r] = f
        flagsValid[r >> 3] = (flagsValid[r >> 3] as number) | (1 << (r & 7))
      }
      const s = c.srcName[i] as number
      if (s >= 0) {
        this.hasNames = true
        sn[r] = this.remapCode(strings, s)
        snValid[r >> 3] = (snValid[r >> 3] as number) | (1 << (r & 7))
      }
      const d = c.dstName[i] as number
      if (d >= 0) {
        this.hasNames = true
        dn[r] = this.remapCode(strings, d)
        dnValid[r >> 3] = (dnValid[r >> 3] as number) | (1 << (r & 7))
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

  private code(s: string): number {
    let c = this.dict.get(s)
    if (c === undefined) {
      c = this.strings.length
      this.dict.set(s, c)
      this.strings.push(s)
    }
    return c
  }

  /** Notes the `file` and `format` codes of rows being added (for {@link moveSql}'s `single`). */
  private source(fileCode: number, formatCode: number): void {
    if (this.fileCode < 0) {
      this.fileCode = fileCode
      this.formatCode = formatCode
    } else if (fileCode !== this.fileCode || formatCode !== this.formatCode) this.mixed = true
  }

  private setString(col: number, row: number, s: string | undefined): void {
    if (s === undefined) return
    if (col === C_SNAME || col === C_DNAME) this.hasNames = true
    else this.hasLabels = true
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
    ;(cols[C_DAY] as Int32Array)[r] = Math.floor(start / MS_PER_DAY)
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
    this.source(this.lastFileCode, this.lastFormatCode)
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
    private readonly addresses: DuckDBAppender,
    capacity: number,
    book: AddressBook,
  ) {
    this.batch = new Batch(capacity, book)
    this.chunk = DuckDBDataChunk.create(FLOW_COLUMNS.map(stageType))
    this.vectors = FLOW_COLUMNS.map((_, i) => duckdb.data_chunk_get_vector(this.chunk.chunk, i))
  }

  /**
   * Opens appenders on the staging tables of `conn` (created with {@link STAGE_DDL}) and on
   * `addresses`. `book` is the store's address dictionary (read from `addresses` when not
   * given); the caller tells it about the commit or rollback of the transaction.
   */
  static async open(
    conn: DuckDBConnection,
    capacity = BATCH_ROWS,
    book?: AddressBook,
  ): Promise<FlowWriter> {
    if (capacity % CHUNK_ROWS !== 0)
      throw new Error(`batch capacity must be a multiple of ${CHUNK_ROWS}`)
    const b = book ?? (await AddressBook.load(conn))
    const stage = await conn.createAppender(STAGE_TABLE, null, 'temp')
    const dict = await conn.createAppender(DICT_TABLE, null, 'temp')
    const addresses = await conn.createAppender('addresses')
    return new FlowWriter(conn, stage, dict, addresses, capacity, b)
  }

  /** Packs one flow. Returns true when a batch is full: the caller must then `await rotate()`. */
  add(f: Flow): boolean {
    return this.batch.add(f)
  }

  /**
   * Packs a batch of columns (any size), rotating through full batches. The columns are read
   * before this returns; the caller may reuse them afterwards.
   */
  async appendColumns(c: FlowColumnBatch): Promise<void> {
    const b = this.batch
    let off = 0
    while (off < c.n) {
      const m = Math.min(c.n - off, b.capacity - b.n)
      b.addColumns(c, off, m)
      off += m
      if (b.n === b.capacity) await this.rotate()
    }
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
    const single = !b.mixed && b.fileCode >= 0
    const move = MOVE_SQL[(single ? 4 : 0) + (b.hasNames ? 2 : 0) + (b.hasLabels ? 1 : 0)] as string
    const params = single
      ? [b.strings[b.formatCode] as string, b.strings[b.fileCode] as string]
      : undefined
    b.reset()
    const conn = this.conn
    this.pending = (async () => {
      await conn.run(move, params)
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
    this.addresses.closeSync()
  }

  private async settle(): Promise<void> {
    await this.pending
    this.pending = undefined
    if (this.failed) throw this.failure
  }

  private appendBatch(b: Batch): void {
    const book = b.book
    if (book.written < book.texts.length) {
      for (let i = book.written; i < book.texts.length; i++) {
        this.addresses.appendUInteger(i)
        this.addresses.appendVarchar(book.texts[i] as string)
        this.addresses.endRow()
      }
      this.addresses.flushSync()
      book.written = book.texts.length
    }
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
