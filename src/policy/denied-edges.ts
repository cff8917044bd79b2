/**
 * @module The denied edges of a simulation kept as plain columns: one row of typed-array cells per
 * edge (source entity, destination entity, service), its example flows in a shared pool of rows,
 * and no object, string or map entry per edge, so that a run over a million denied edges holds
 * about 120 bytes for each instead of about 640 (README "Performance"). Strings (services, rule
 * names, example places) are made only when the report is built ({@link Simulator.report}).
 *
 * Used by `Simulator` (./simulate.ts) alone: the semantics of the counts, of first/last seen and
 * of the order of examples are documented there.
 */
import { hasRealTime, Interner, type FlowSource } from '../core/index.js'

/** Rows per page of a {@link PagedColumn}: 4 096 (32 KiB of Float64). */
const PAGE_BITS = 12
const PAGE = 1 << PAGE_BITS
const PAGE_MASK = PAGE - 1

type Cells = Float64Array | Int32Array | Uint8Array

/**
 * A column of numbers indexed by dense row ids from 0, in pages of {@link PAGE} cells, so that it
 * grows without copying and wastes at most one page (a doubling array wastes up to half).
 */
class PagedColumn<A extends Cells> {
  private readonly pages: A[] = []

  constructor(private readonly make: (n: number) => A) {}

  get(i: number): number {
    return (this.pages[i >>> PAGE_BITS] as A)[i & PAGE_MASK] as number
  }

  set(i: number, v: number): void {
    ;(this.pages[i >>> PAGE_BITS] as A)[i & PAGE_MASK] = v
  }

  /** Makes room for row `i` (rows are added in order: called when `i` starts a page). */
  reserve(i: number): void {
    while (this.pages.length <= i >>> PAGE_BITS) this.pages.push(this.make(PAGE))
  }
}

const f64 = (): PagedColumn<Float64Array> => new PagedColumn((n) => new Float64Array(n))
const i32 = (): PagedColumn<Int32Array> => new PagedColumn((n) => new Int32Array(n))

/**
 * What a denied flow counts as on its edge: its outcome (`blocked`, `would-be-blocked`,
 * `unenforced`) or, when its observer had already rejected it, `rejected`. Index into
 * {@link EdgeCounts}.
 */
export type CountKind = 0 | 1 | 2 | 3

/** {@link CountKind}s by name. */
export const COUNT_KIND = {
  blocked: 0,
  'would-be-blocked': 1,
  unenforced: 2,
  rejected: 3,
} as const

/** An edge's flows by {@link CountKind}: blocked, would-be-blocked, unenforced, already rejected. */
export type EdgeCounts = readonly [number, number, number, number]

/** The kind cell of an edge whose flows are of more than one kind (counts in a side map). */
const MIXED = 4

/**
 * An example flow as {@link DeniedEdgeTable.examples} gives it (simulate's `FlowExample`, the
 * same type: defined here, as simulate imports this module and not the other way round): where
 * it was read from, its addresses as recorded (a reply's are not swapped) and its start, ms since
 * the epoch, UTC.
 */
export interface ExampleRow {
  readonly file: string
  readonly line?: number
  readonly record?: number
  readonly format: string
  readonly src: string
  readonly dst: string
  readonly start: number
}

/**
 * Denied edges keyed by (source entity id, destination entity id, service key), each with its
 * flow counts by kind, first/last seen and flows with no real time, the rules that denied it, and
 * up to `examplesPerEdge` example flows: the earliest by start, then file, line and record.
 *
 * Rows: one per edge in order of first denial (its id, from 0). A hash table of row ids (open
 * addressing, linear probing, at most 3/4 full) finds an edge by comparing its key cells. Rare
 * cases live in side maps: an edge with flows of several kinds, with flows with no real time, or
 * denied by more than one rule. Examples form a singly linked list per edge in a pool of rows,
 * largest first, so that the common "full and later than every kept example" test reads one cell.
 */
export class DeniedEdgeTable {
  private count = 0
  // key cells
  private readonly srcs = i32()
  private readonly dsts = i32()
  /** protocol × 65 536 + port. */
  private readonly services = i32()
  // counts
  /** The edge's one {@link CountKind}, or {@link MIXED}. */
  private readonly kinds = new PagedColumn((n) => new Uint8Array(n))
  /** Flows of that kind (for a mixed edge see {@link mixed}). */
  private readonly flows = f64()
  private readonly mixed = new Map<number, Float64Array>()
  // seen
  private readonly firsts = f64()
  private readonly lasts = f64()
  private readonly untimed = new Map<number, number>()
  // rules
  /** The first rule index that denied flows of the edge (−1: default deny) … */
  private readonly deniedBy = i32()
  /** … and the others, when more than one did. */
  private readonly alsoDeniedBy = new Map<number, Set<number>>()
  // examples
  private readonly exHead = i32()
  private readonly exCount = i32()
  private exRows = 0
  private readonly exNext = i32()
  private readonly exSrc = i32()
  private readonly exDst = i32()
  private readonly exSource = i32()
  /** NaN when absent. */
  private readonly exLine = f64()
  private readonly exRecord = f64()
  private readonly exStart = f64()
  // interned texts of examples: addresses (ids dense from 0), and (file, format) pairs
  private readonly addresses = new Interner()
  private readonly sourceIds = new Map<string, Map<string, number>>()
  private readonly sourceFiles: string[] = []
  private readonly sourceFormats: string[] = []
  private lastFile: string | undefined
  private lastFormat: string | undefined
  private lastSource = -1
  // hash table of row ids + 1 (0: empty)
  private slots = new Int32Array(1024)

  /** @param examplesPerEdge - examples kept per edge (0: none). */
  constructor(private readonly examplesPerEdge: number) {}

  /** Number of edges. */
  get size(): number {
    return this.count
  }

  /**
   * The row of edge (`src`, `dst`, `service`), added (with `kind`, no flows, `deniedBy`) when new.
   * @param src - source entity id (≥ 0, < 2³¹).
   * @param dst - destination entity id.
   * @param service - protocol × 65 536 + port.
   * @param kind - the kind of the flows about to be counted on a new edge.
   * @param deniedBy - the rule index (−1: default deny) of a new edge.
   */
  edge(src: number, dst: number, service: number, kind: CountKind, deniedBy: number): number {
    const slots = this.slots
    const mask = slots.length - 1
    let i = hash(src, dst, service) & mask
    for (;;) {
      const v = slots[i] as number
      if (v === 0) break
      const e = v - 1
      if (this.srcs.get(e) === src && this.dsts.get(e) === dst && this.services.get(e) === service)
        return e
      i = (i + 1) & mask
    }
    const e = this.count++
    if ((e & PAGE_MASK) === 0) {
      for (const c of [this.srcs, this.dsts, this.services, this.deniedBy, this.exHead])
        c.reserve(e)
      for (const c of [this.exCount, this.flows, this.firsts, this.lasts, this.kinds]) c.reserve(e)
    }
    this.srcs.set(e, src)
    this.dsts.set(e, dst)
    this.services.set(e, service)
    this.kinds.set(e, kind)
    this.flows.set(e, 0)
    this.firsts.set(e, Infinity)
    this.lasts.set(e, -Infinity)
    this.deniedBy.set(e, deniedBy)
    this.exHead.set(e, -1)
    this.exCount.set(e, 0)
    slots[i] = e + 1
    if (4 * this.count > 3 * slots.length) this.grow()
    return e
  }

  /** Adds `n` flows of `kind` to edge `e`. */
  addFlows(e: number, kind: CountKind, n: number): void {
    const k = this.kinds.get(e)
    if (k === (kind as number)) {
      this.flows.set(e, this.flows.get(e) + n)
      return
    }
    let c = this.mixed.get(e)
    if (c === undefined) {
      c = new Float64Array(4)
      c[k] = this.flows.get(e)
      this.mixed.set(e, c)
      this.kinds.set(e, MIXED)
    }
    c[kind] = (c[kind] as number) + n
  }

  /**
   * Adds `n` flows whose earliest start is `first` and latest end `last` (ms) to the edge's
   * first/last seen, or to its flows with no real time when `first` has none (core `SeenRange`).
   */
  addSeen(e: number, first: number, last: number, n: number): void {
    if (!hasRealTime(first)) {
      this.untimed.set(e, (this.untimed.get(e) ?? 0) + n)
      return
    }
    if (first < this.firsts.get(e)) this.firsts.set(e, first)
    if (last > this.lasts.get(e)) this.lasts.set(e, last)
  }

  /** Records that rule `rule` (−1: default deny) denied flows of edge `e`. */
  addDeniedBy(e: number, rule: number): void {
    if (rule === this.deniedBy.get(e)) return
    let s = this.alsoDeniedBy.get(e)
    if (s === undefined) this.alsoDeniedBy.set(e, (s = new Set()))
    s.add(rule)
  }

  /**
   * Offers one example flow to edge `e`: kept when the edge has fewer than `examplesPerEdge` or
   * it comes before the last kept one (by start, then file, line, record; absent line or record
   * first), which it then replaces. Of equal places the one offered first stays first.
   * @param src - the flow's source address as recorded.
   * @param dst - its destination address as recorded.
   */
  addExample(e: number, source: FlowSource, start: number, src: string, dst: string): void {
    const max = this.examplesPerEdge
    if (!(max > 0)) return
    let n = this.exCount.get(e)
    let head = this.exHead.get(e)
    // full and later than the largest kept: the common case, decided on one cell
    if (n >= max && start > this.exStart.get(head)) return
    const file = this.sourceId(source)
    const line = source.line ?? NaN
    const record = source.record ?? NaN
    let row: number
    if (n >= max) {
      if (this.order(start, file, line, record, head) >= 0) return
      // the largest kept one goes: its row takes the new example
      row = head
      head = this.exNext.get(head)
      n--
    } else {
      row = this.exRows++
      if ((row & PAGE_MASK) === 0) {
        for (const c of [this.exNext, this.exSrc, this.exDst, this.exSource]) c.reserve(row)
        for (const c of [this.exLine, this.exRecord, this.exStart]) c.reserve(row)
      }
    }
    this.exSrc.set(row, this.addresses.id(src))
    this.exDst.set(row, this.addresses.id(dst))
    this.exSource.set(row, file)
    this.exLine.set(row, line)
    this.exRecord.set(row, record)
    this.exStart.set(row, start)
    // largest first: pass the kept examples that come after the new one
    let prev = -1
    let cur = head
    while (cur >= 0 && this.order(start, file, line, record, cur) < 0) {
      prev = cur
      cur = this.exNext.get(cur)
    }
    this.exNext.set(row, cur)
    if (prev < 0) head = row
    else this.exNext.set(prev, row)
    this.exHead.set(e, head)
    this.exCount.set(e, n + 1)
  }

  /** Edge `e`'s source entity id. */
  src(e: number): number {
    return this.srcs.get(e)
  }

  /** Edge `e`'s destination entity id. */
  dst(e: number): number {
    return this.dsts.get(e)
  }

  /** Edge `e`'s service key: protocol × 65 536 + port. */
  service(e: number): number {
    return this.services.get(e)
  }

  /** Edge `e`'s flows by {@link CountKind}. */
  counts(e: number): EdgeCounts {
    const k = this.kinds.get(e)
    if (k === MIXED) {
      const c = this.mixed.get(e) as Float64Array
      return [c[0] as number, c[1] as number, c[2] as number, c[3] as number]
    }
    const out: [number, number, number, number] = [0, 0, 0, 0]
    out[k] = this.flows.get(e)
    return out
  }

  /** Earliest start and latest end of edge `e`'s flows with a real time: ±Infinity when none. */
  seen(e: number): { readonly first: number; readonly last: number; readonly untimed: number } {
    return { first: this.firsts.get(e), last: this.lasts.get(e), untimed: this.untimed.get(e) ?? 0 }
  }

  /** The rule indices (−1: default deny) that denied flows of edge `e`, the first one first. */
  rules(e: number): number[] {
    return [this.deniedBy.get(e), ...(this.alsoDeniedBy.get(e) ?? [])]
  }

  /** Edge `e`'s examples, earliest first. */
  examples(e: number): ExampleRow[] {
    // largest first in the list: filled from the end, in an array of the exact length
    let k = this.exCount.get(e)
    const out = new Array<ExampleRow>(k)
    for (let r = this.exHead.get(e); r >= 0; r = this.exNext.get(r)) {
      const s = this.exSource.get(r)
      const line = this.exLine.get(r)
      const record = this.exRecord.get(r)
      const file = this.sourceFiles[s] as string
      const format = this.sourceFormats[s] as string
      const src = this.addresses.text(this.exSrc.get(r))
      const dst = this.addresses.text(this.exDst.get(r))
      const start = this.exStart.get(r)
      // object literals of one shape each (a spread makes larger objects): absent stays absent
      out[--k] = Number.isNaN(record)
        ? Number.isNaN(line)
          ? { file, format, src, dst, start }
          : { file, line, format, src, dst, start }
        : Number.isNaN(line)
          ? { file, record, format, src, dst, start }
          : { file, line, record, format, src, dst, start }
    }
    return out
  }

  /**
   * The order of an example (start, source id, line, record; NaN: absent) against example row
   * `r`: negative when it comes first. Files compare by text, an absent line or record as −1.
   */
  private order(start: number, source: number, line: number, record: number, r: number): number {
    const d = start - this.exStart.get(r)
    if (d !== 0) return d
    const s = this.exSource.get(r)
    if (s !== source) {
      const a = this.sourceFiles[source] as string
      const b = this.sourceFiles[s] as string
      if (a !== b) return a < b ? -1 : 1
    }
    const rl = this.exLine.get(r)
    const dl = (Number.isNaN(line) ? -1 : line) - (Number.isNaN(rl) ? -1 : rl)
    if (dl !== 0) return dl
    const rr = this.exRecord.get(r)
    return (Number.isNaN(record) ? -1 : record) - (Number.isNaN(rr) ? -1 : rr)
  }

  /** The id of a (file, format) pair; the last one is remembered (flows come file by file). */
  private sourceId(source: FlowSource): number {
    if (source.file === this.lastFile && source.format === this.lastFormat) return this.lastSource
    let byFormat = this.sourceIds.get(source.file)
    if (byFormat === undefined)
      this.sourceIds.set(source.file, (byFormat = new Map<string, number>()))
    let id = byFormat.get(source.format)
    if (id === undefined) {
      id = this.sourceFiles.length
      this.sourceFiles.push(source.file)
      this.sourceFormats.push(source.format)
      byFormat.set(source.format, id)
    }
    this.lastFile = source.file
    this.lastFormat = source.format
    this.lastSource = id
    return id
  }

  private grow(): void {
    const slots = new Int32Array(this.slots.length * 2)
    const mask = slots.length - 1
    for (let e = 0; e < this.count; e++) {
      let i = hash(this.srcs.get(e), this.dsts.get(e), this.services.get(e)) & mask
      while ((slots[i] as number) !== 0) i = (i + 1) & mask
      slots[i] = e + 1
    }
    this.slots = slots
  }
}

/** A 32-bit hash of an edge key (three integers below 2³¹), well mixed for linear probing. */
function hash(src: number, dst: number, service: number): number {
  let h = Math.imul(src, 0x9e3779b1) ^ Math.imul(dst, 0x85ebca77) ^ Math.imul(service, 0xc2b2ae3d)
  h ^= h >>> 16
  h = Math.imul(h, 0x7feb352d)
  h ^= h >>> 15
  h = Math.imul(h, 0x846ca68b)
  return h ^ (h >>> 16)
}
