/**
 * @module The columnar flow batch: flows as typed arrays (one per field) plus a string table,
 * and direction inference and pairing on those columns. The fast ingest path (AWS VPC read
 * from bytes, Zeek TSV too) produces these instead of one {@link Flow} object
 * per record, and the DuckDB writer copies them into its data chunks.
 *
 * @remarks The semantics are exactly those of the object path: {@link ColumnPairer} is
 * `DirectionPairer` (./direction.ts) on numeric keys, with the same window, eviction order and
 * merge rules, and {@link FlowColumns.toFlows} gives the flows the object path gives (the
 * differential tests in test/ingest/columnar.test.ts hold both to that).
 */
import {
  addCounters,
  HALF_SETTLED,
  HALF_SWAPPED,
  HALF_UNPAIRED,
  type Flow,
  type ObservedAction,
  type FlowDirection,
  Interner,
} from '../core/index.js'
import {
  addressRole,
  ConnectionMemory,
  clientInServerList,
  groupEnds,
  EPHEMERAL_FROM,
  KNOWN_SERVER_PORTS,
  PAIR_RUN,
  PAIR_SLACK_MS,
  PAIR_WINDOW,
  refusedByReset,
} from './direction.js'
import { flowNotesOf, type ParseStats } from './types.js'

/** Codes of `observedAction` in {@link FlowColumns.action}. */
export const ACTION_ACCEPT = 0
export const ACTION_REJECT = 1
export const ACTION_UNKNOWN = 2
/** Codes of `direction` in {@link FlowColumns.direction}. */
export const DIR_UNKNOWN = 0
export const DIR_C2S = 1
export const DIR_S2C = 2

const ACTIONS: readonly ObservedAction[] = ['accept', 'reject', 'unknown']
const DIRECTIONS: readonly FlowDirection[] = ['unknown', 'client-to-server', 'server-to-client']

/** A growable open-addressing map from uint32 keys to non-negative int32 values. */
class U32Map {
  private keys: Uint32Array
  private vals: Int32Array
  private mask: number
  private size = 0

  constructor(bits = 12) {
    this.keys = new Uint32Array(1 << bits)
    this.vals = new Int32Array(1 << bits).fill(-1)
    this.mask = (1 << bits) - 1
  }

  get(k: number): number {
    const keys = this.keys
    const vals = this.vals
    let i = Math.imul(k, 0x9e3779b1) >>> 0
    for (;;) {
      i &= this.mask
      const v = vals[i] as number
      if (v < 0 || keys[i] === k) return v
      i++
    }
  }

  set(k: number, v: number): void {
    if ((this.size + 1) * 2 > this.mask) this.grow()
    const keys = this.keys
    const vals = this.vals
    let i = Math.imul(k, 0x9e3779b1) >>> 0
    for (;;) {
      i &= this.mask
      if ((vals[i] as number) < 0) {
        keys[i] = k
        vals[i] = v
        this.size++
        return
      }
      if (keys[i] === k) {
        vals[i] = v
        return
      }
      i++
    }
  }

  private grow(): void {
    const oldKeys = this.keys
    const oldVals = this.vals
    const cap = oldKeys.length * 2
    this.keys = new Uint32Array(cap)
    this.vals = new Int32Array(cap).fill(-1)
    this.mask = cap - 1
    this.size = 0
    for (let i = 0; i < oldKeys.length; i++) {
      const v = oldVals[i] as number
      if (v >= 0) this.set(oldKeys[i] as number, v)
    }
  }
}

/**
 * The strings of the flows of one file, or of the files read with one `ReadRun` that has
 * `strings` (a run of small files): addresses, workload names, each with one code. A string has exactly one code whichever way it
 * came in (as text, or as an IPv4 address read from bytes), so equal codes mean equal text. Codes
 * are only added, never changed: a batch read earlier keeps its meaning. Grows with the distinct
 * strings read (for flow logs, the distinct addresses: typically thousands a file).
 */
export class StringTable {
  private readonly interner = new Interner()
  /** Text of each code (the interner's array: the same array for the table's life). */
  readonly strings: readonly string[] = this.interner.texts
  private readonly byV4 = new U32Map()
  /** Note lists of rows (`FlowColumns.notes`), each as its names joined by newlines. */
  private readonly noteLists = new Interner()
  private readonly noteArrays: (readonly string[])[] = []

  /**
   * Per code, 1 when its text is a plain unicast address (direction.ts `addressRole` `host`), 2
   * when not, 0 not asked yet ({@link StringTable.isUnicast}).
   */
  private unicast = new Uint8Array(256)

  /**
   * True when the text of code `c` is a plain unicast address (`addressRole` `host`), asked once
   * per code.
   */
  isUnicast(c: number): boolean {
    let h = this.unicast
    if (c >= h.length) {
      let n = h.length * 2
      while (n <= c) n *= 2
      const grown = new Uint8Array(n)
      grown.set(h)
      h = this.unicast = grown
    }
    let r = h[c] as number
    if (r === 0) r = h[c] = addressRole(this.strings[c] as string) === 'host' ? 1 : 2
    return r === 1
  }

  /** The code of `text`, adding it when new: codes are the core {@link Interner}'s ids. */
  code(text: string): number {
    return this.interner.id(text)
  }

  /** The code of the IPv4 address `v4` (a uint32, first octet most significant), as dotted-quad text. */
  ipv4(v4: number): number {
    let c = this.byV4.get(v4)
    if (c < 0) {
      c = this.code(`${v4 >>> 24}.${(v4 >>> 16) & 255}.${(v4 >>> 8) & 255}.${v4 & 255}`)
      this.byV4.set(v4, c)
    }
    return c
  }

  /**
   * The code of the note list `names` (the notes of a row's record or records, types.ts
   * `flowNote`; in their order, repeats kept), for `FlowColumns.notes`; -1 for none.
   */
  notesCode(names: readonly string[]): number {
    if (names.length === 0) return -1
    const c = this.noteLists.id(names.join('\n'))
    if (this.noteArrays.length <= c) this.noteArrays[c] = names.slice()
    return c
  }

  /** The note list of code `c` ({@link notesCode}). */
  notesOf(c: number): readonly string[] {
    return this.noteArrays[c] ?? []
  }

  /** The code of note list `c` (-1: none) with note `name` added at its end. */
  withNote(c: number, name: string): number {
    return this.notesCode([...this.notesOf(c), name])
  }

  /** The code of the two note lists `a` and `b` together (a merged pair's), -1 for none. */
  joinNotes(a: number, b: number): number {
    if (b < 0) return a
    if (a < 0) return b
    return this.notesCode([...this.notesOf(a), ...this.notesOf(b)])
  }
}

/**
 * Counts the notes of every row of `c` (`FlowColumns.notes`) in `stats.notes`: reading gives the
 * rows out, after every check that may skip a row (types.ts `ParseStats.notesRide`).
 */
export function countRowNotes(stats: ParseStats, c: FlowColumns): void {
  const notes = c.notes
  // rows per note list code (codes are small: one per distinct list of a file)
  let counts: number[] | undefined
  for (let i = 0; i < c.n; i++) {
    const k = notes[i] as number
    if (k >= 0) {
      counts ??= []
      counts[k] = (counts[k] ?? 0) + 1
    }
  }
  if (counts === undefined) return
  for (let k = 0; k < counts.length; k++) {
    const n = counts[k]
    if (n !== undefined)
      for (const r of c.table.notesOf(k)) stats.notes[r] = (stats.notes[r] ?? 0) + n
  }
}

/**
 * A batch of flows from one file, one typed array per field (row `i` of every array is flow
 * `i`), growable. Strings (addresses, names) are codes into {@link FlowColumns.table}, which the
 * batches of one file share. Field meanings and units are those of {@link Flow}:
 *
 * - `src`, `dst`: string codes of canonical address text; `srcPort`, `dstPort`, `protocol`;
 * - `start`, `end`: ms since the epoch, UTC; `packets`, `bytes`;
 * - `action`: {@link ACTION_ACCEPT} / {@link ACTION_REJECT} / {@link ACTION_UNKNOWN};
 * - `direction`: {@link DIR_UNKNOWN} / {@link DIR_C2S} / {@link DIR_S2C};
 * - `tcpFlags`: -1 when absent; `srcName`, `dstName`: string codes, -1 when absent;
 * - `line`: the 1-based line in `file` (`source.line`); every row has one (`source.record` is
 *   never set: only line formats are columnar);
 * - `half`: the row's unpaired-half mark (core {@link HALF_UNPAIRED}, {@link HALF_SWAPPED},
 *   `HALF_ECHO_ASSUMED`, {@link HALF_SETTLED}): 0 unless a pairer emitted the row as a half that found no partner
 *   in its file;
 * - `notes`: the code of the notes of the row's record or records ({@link StringTable.notesCode},
 *   types.ts `flowNote`), -1 for none; counted when reading gives the row out
 *   ({@link countRowNotes}), so a row skipped before then takes its notes with it.
 */
export class FlowColumns {
  n = 0
  src: Uint32Array
  dst: Uint32Array
  srcPort: Uint16Array
  dstPort: Uint16Array
  protocol: Uint8Array
  start: Float64Array
  end: Float64Array
  packets: Float64Array
  bytes: Float64Array
  action: Uint8Array
  direction: Uint8Array
  tcpFlags: Int16Array
  srcName: Int32Array
  dstName: Int32Array
  line: Float64Array
  half: Uint8Array
  notes: Int32Array

  constructor(
    /** `source.format` of every row. */
    readonly format: string,
    /** `source.file` of every row. */
    readonly file: string,
    readonly table: StringTable,
    capacity = 4096,
  ) {
    const c = Math.max(16, capacity)
    this.src = new Uint32Array(c)
    this.dst = new Uint32Array(c)
    this.srcPort = new Uint16Array(c)
    this.dstPort = new Uint16Array(c)
    this.protocol = new Uint8Array(c)
    this.start = new Float64Array(c)
    this.end = new Float64Array(c)
    this.packets = new Float64Array(c)
    this.bytes = new Float64Array(c)
    this.action = new Uint8Array(c)
    this.direction = new Uint8Array(c)
    this.tcpFlags = new Int16Array(c)
    this.srcName = new Int32Array(c)
    this.dstName = new Int32Array(c)
    this.line = new Float64Array(c)
    this.half = new Uint8Array(c)
    this.notes = new Int32Array(c)
  }

  /** Rows the arrays hold without growing. */
  get capacity(): number {
    return this.src.length
  }

  /** Makes room for `more` rows after the current `n`, doubling the arrays as needed. */
  reserve(more: number): void {
    const need = this.n + more
    if (need <= this.src.length) return
    let cap = this.src.length * 2
    while (cap < need) cap *= 2
    const g = <
      T extends Uint32Array | Uint16Array | Uint8Array | Float64Array | Int16Array | Int32Array,
    >(
      a: T,
    ): T => {
      const b = new (a.constructor as new (n: number) => T)(cap)
      b.set(a)
      return b
    }
    this.src = g(this.src)
    this.dst = g(this.dst)
    this.srcPort = g(this.srcPort)
    this.dstPort = g(this.dstPort)
    this.protocol = g(this.protocol)
    this.start = g(this.start)
    this.end = g(this.end)
    this.packets = g(this.packets)
    this.bytes = g(this.bytes)
    this.action = g(this.action)
    this.direction = g(this.direction)
    this.tcpFlags = g(this.tcpFlags)
    this.srcName = g(this.srcName)
    this.dstName = g(this.dstName)
    this.line = g(this.line)
    this.half = g(this.half)
    this.notes = g(this.notes)
  }

  /** Copies row `i` of `from` (same string table) to the end; returns its index. */
  copyRow(from: FlowColumns, i: number): number {
    this.reserve(1)
    const r = this.n++
    this.src[r] = from.src[i] as number
    this.dst[r] = from.dst[i] as number
    this.srcPort[r] = from.srcPort[i] as number
    this.dstPort[r] = from.dstPort[i] as number
    this.protocol[r] = from.protocol[i] as number
    this.start[r] = from.start[i] as number
    this.end[r] = from.end[i] as number
    this.packets[r] = from.packets[i] as number
    this.bytes[r] = from.bytes[i] as number
    this.action[r] = from.action[i] as number
    this.direction[r] = from.direction[i] as number
    this.tcpFlags[r] = from.tcpFlags[i] as number
    this.srcName[r] = from.srcName[i] as number
    this.dstName[r] = from.dstName[i] as number
    this.line[r] = from.line[i] as number
    this.half[r] = from.half[i] as number
    this.notes[r] = from.notes[i] as number
    return r
  }

  /**
   * Appends a flow of this batch's file. @throws Error when the flow cannot be a row (labels,
   * a `source.record`, no `source.line`, another file): columnar formats never produce those.
   */
  pushFlow(f: Flow): number {
    if (
      f.srcLabels !== undefined ||
      f.dstLabels !== undefined ||
      f.source.line === undefined ||
      f.source.record !== undefined ||
      f.source.file !== this.file ||
      f.source.format !== this.format
    )
      throw new Error(`a ${f.source.format} flow without a columnar form: ${JSON.stringify(f)}`)
    this.reserve(1)
    const r = this.n++
    const t = this.table
    this.src[r] = t.code(f.src)
    this.dst[r] = t.code(f.dst)
    this.srcPort[r] = f.srcPort
    this.dstPort[r] = f.dstPort
    this.protocol[r] = f.protocol
    this.start[r] = f.start
    this.end[r] = f.end
    this.packets[r] = f.packets
    this.bytes[r] = f.bytes
    const a = f.observedAction
    this.action[r] =
      a === 'accept' ? ACTION_ACCEPT : a === 'reject' ? ACTION_REJECT : ACTION_UNKNOWN
    const d = f.direction
    this.direction[r] =
      d === 'client-to-server' ? DIR_C2S : d === 'server-to-client' ? DIR_S2C : DIR_UNKNOWN
    this.tcpFlags[r] = f.tcpFlags ?? -1
    this.srcName[r] = f.srcName !== undefined ? t.code(f.srcName) : -1
    this.dstName[r] = f.dstName !== undefined ? t.code(f.dstName) : -1
    this.line[r] = f.source.line
    this.half[r] = 0
    const notes = flowNotesOf(f)
    this.notes[r] = notes === undefined ? -1 : t.notesCode(notes)
    return r
  }

  /** Row `i` as a {@link Flow} (the object path's shape, optional fields only when present). */
  flowAt(i: number): Flow {
    const s = this.table.strings
    const f: { -readonly [K in keyof Flow]: Flow[K] } = {
      src: s[this.src[i] as number] as string,
      dst: s[this.dst[i] as number] as string,
      srcPort: this.srcPort[i] as number,
      dstPort: this.dstPort[i] as number,
      protocol: this.protocol[i] as number,
      start: this.start[i] as number,
      end: this.end[i] as number,
      packets: this.packets[i] as number,
      bytes: this.bytes[i] as number,
      observedAction: ACTIONS[this.action[i] as number] as ObservedAction,
      direction: DIRECTIONS[this.direction[i] as number] as FlowDirection,
      source: { format: this.format, file: this.file, line: this.line[i] as number },
    }
    const flags = this.tcpFlags[i] as number
    if (flags >= 0) f.tcpFlags = flags
    const sn = this.srcName[i] as number
    const dn = this.dstName[i] as number
    if (sn >= 0) f.srcName = s[sn] as string
    if (dn >= 0) f.dstName = s[dn] as string
    return f
  }

  /** Every row as a {@link Flow}, in order. */
  toFlows(): Flow[] {
    const out: Flow[] = []
    for (let i = 0; i < this.n; i++) out.push(this.flowAt(i))
    return out
  }
}

const TCP = 6
const UDP = 17
const SCTP = 132
const DCCP = 33
const ICMP = 1
const ICMPV6 = 58
const SYN = 0x02
const PSH = 0x08
const ACK = 0x10

/** `isServicePort` of direction.ts as a lookup table over 0–65535. */
const SERVICE_PORT = (() => {
  const t = new Uint8Array(65536)
  for (let p = 1; p < 1024; p++) t[p] = 1
  for (const p of KNOWN_SERVER_PORTS) t[p] = 1
  return t
})()

const AS_IS = 1
const SWAP = 2
const UNKNOWN = 0

/** `orientation` of direction.ts on row `i`: {@link AS_IS}, {@link SWAP} or {@link UNKNOWN}. */
function orientationAt(c: FlowColumns, i: number): number {
  const p = c.protocol[i] as number
  if (p === ICMP || p === ICMPV6) {
    const t = c.dstPort[i] as number
    return (p === ICMP && (t === 8 || t === 13 || t === 15 || t === 17)) ||
      (p === ICMPV6 && t === 128)
      ? AS_IS
      : UNKNOWN
  }
  if (p !== TCP && p !== UDP && p !== SCTP && p !== DCCP) return UNKNOWN
  const flags = flagsAt(c, i)
  if (flags !== UNKNOWN) return flags
  const s = c.srcPort[i] as number
  const d = c.dstPort[i] as number
  const ss = SERVICE_PORT[s] === 1
  const ds = SERVICE_PORT[d] === 1
  if (ds && !ss) return AS_IS
  if (ss && !ds) return SWAP
  if (ss && ds) {
    const o = clientInServerList(s, d, p)
    return o === 'as-is' ? AS_IS : o === 'swap' ? SWAP : UNKNOWN
  }
  const se = s >= EPHEMERAL_FROM
  const de = d >= EPHEMERAL_FROM
  if (se && !de && d > 0) return AS_IS
  if (de && !se && s > 0) return SWAP
  return UNKNOWN
}

/** The TCP-flag evidence of {@link orientationAt} alone ({@link UNKNOWN} where it tells nothing). */
function flagsAt(c: FlowColumns, i: number): number {
  const f = c.tcpFlags[i] as number
  if ((c.protocol[i] as number) !== TCP || f < 0 || (f & SYN) === 0) return UNKNOWN
  if ((f & ACK) === 0) return AS_IS
  if ((f & PSH) === 0) return SWAP
  return UNKNOWN
}

/** `decide` of direction.ts: a stated direction wins, else the evidence. */
function decideAt(c: FlowColumns, i: number): number {
  const d = c.direction[i] as number
  if (d === DIR_C2S) return AS_IS
  if (d === DIR_S2C) return SWAP
  return orientationAt(c, i)
}

/** How strong {@link decideAt}'s answer is, as `decide` of direction.ts weighs it: 3, 2, 1, 0. */
function strengthAt(c: FlowColumns, i: number, o: number): number {
  if (o === UNKNOWN) return 0
  const d = c.direction[i] as number
  if (d === DIR_C2S || d === DIR_S2C) return 3
  return flagsAt(c, i) !== UNKNOWN ? 2 : 1
}

/** Exchanges the ends of row `i` (addresses, ports, names). */
function swapAt(c: FlowColumns, i: number): void {
  const s = c.src[i] as number
  c.src[i] = c.dst[i] as number
  c.dst[i] = s
  const sp = c.srcPort[i] as number
  c.srcPort[i] = c.dstPort[i] as number
  c.dstPort[i] = sp
  const sn = c.srcName[i] as number
  c.srcName[i] = c.dstName[i] as number
  c.dstName[i] = sn
}

/**
 * `orient` of direction.ts, in place on row `i`: client→server where the evidence is good
 * (swapping the ends when the record is the reply), else direction unknown.
 */
export function orientRow(c: FlowColumns, i: number): void {
  const o = decideAt(c, i)
  if (o === AS_IS) c.direction[i] = DIR_C2S
  else if (o === SWAP) {
    swapAt(c, i)
    c.direction[i] = DIR_C2S
  } else c.direction[i] = DIR_UNKNOWN
}

/**
 * `withGroupEnds` of direction.ts on every row of `c`, after orientation and pairing: a row
 * whose source is a group or the broadcast, or whose destination is unspecified, is turned
 * around (counted through `swapped`) or, when no sender can have written it, left out (through
 * `skipped`, reason `no-sender`); a row with such an address is `client-to-server` and no
 * unpaired half (`half` 0: the store never pairs it across files). Returns `c`
 * (changed in place) when no row is left out, else a new batch of the kept rows.
 */
export function groupEndsRows(
  c: FlowColumns,
  skipped: (reason: 'no-sender', where: string, text: string) => void,
  swapped: (n: number) => void,
): FlowColumns {
  const s = c.table.strings
  let drop: number[] | undefined
  let swaps = 0
  const t = c.table
  for (let i = 0; i < c.n; i++) {
    // the common row, both ends unicast: two reads, no object
    if (t.isUnicast(c.src[i] as number) && t.isUnicast(c.dst[i] as number)) continue
    const f = {
      src: s[c.src[i] as number] as string,
      dst: s[c.dst[i] as number] as string,
      protocol: c.protocol[i] as number,
    }
    const g = groupEnds(f)
    if (g === 'unicast') continue
    // group traffic has no reply to pair with: never a half for the store to pair across files
    c.half[i] = 0
    if (g === 'as-is') c.direction[i] = DIR_C2S
    else if (g === 'swap') {
      swapAt(c, i)
      c.direction[i] = DIR_C2S
      swaps++
    } else {
      ;(drop ??= []).push(i)
      skipped(
        'no-sender',
        `${c.file}:${String(c.line[i])}`,
        `${f.src} -> ${f.dst} protocol ${String(f.protocol)}: a multicast group or the broadcast is never a source, 0.0.0.0 or :: never a destination`,
      )
    }
  }
  if (swaps > 0) swapped(swaps)
  if (drop === undefined) return c
  const out = new FlowColumns(c.format, c.file, c.table, c.n)
  const gone = new Set(drop)
  for (let i = 0; i < c.n; i++) if (!gone.has(i)) out.copyRow(c, i)
  return out
}

/**
 * `merge` of direction.ts: appends the flow of the two halves `a` (held) and `b` to `out`.
 * @param remembered - the client end an earlier handshake settled ({@link RowHandshakes.clientAt}
 *   of `b`): 1 `b`'s source, 2 `b`'s destination (`a`'s source), 0 none.
 */
function mergeInto(
  held: FlowColumns,
  a: number,
  inp: FlowColumns,
  b: number,
  out: FlowColumns,
  remembered: number,
): void {
  const oa = decideAt(held, a)
  const ob = decideAt(inp, b)
  let clientIsA: boolean
  let confident = true
  if (oa !== UNKNOWN && strengthAt(held, a, oa) >= strengthAt(inp, b, ob)) clientIsA = oa === AS_IS
  else if (ob !== UNKNOWN) clientIsA = ob !== AS_IS
  else if (remembered !== 0) clientIsA = remembered === 2
  else {
    clientIsA = true
    confident = false
  }
  const cc = clientIsA ? held : inp
  const ci = clientIsA ? a : b
  const sc = clientIsA ? inp : held
  const si = clientIsA ? b : a
  out.reserve(1)
  const r = out.n++
  out.src[r] = cc.src[ci] as number
  out.dst[r] = cc.dst[ci] as number
  out.srcPort[r] = cc.srcPort[ci] as number
  out.dstPort[r] = cc.dstPort[ci] as number
  out.protocol[r] = cc.protocol[ci] as number
  out.start[r] = Math.min(held.start[a] as number, inp.start[b] as number)
  out.end[r] = Math.max(held.end[a] as number, inp.end[b] as number)
  out.packets[r] = addCounters(held.packets[a] as number, inp.packets[b] as number)
  out.bytes[r] = addCounters(held.bytes[a] as number, inp.bytes[b] as number)
  out.action[r] = cc.action[ci] as number
  out.direction[r] = confident ? DIR_C2S : DIR_UNKNOWN
  out.line[r] = cc.line[ci] as number
  out.half[r] = 0
  // the notes of both records (types.ts `withNotesOf`)
  out.notes[r] = out.table.joinNotes(held.notes[a] as number, inp.notes[b] as number)
  const fa = held.tcpFlags[a] as number
  const fb = inp.tcpFlags[b] as number
  out.tcpFlags[r] = fa < 0 && fb < 0 ? -1 : (fa < 0 ? 0 : fa) | (fb < 0 ? 0 : fb)
  // a refused connection no observer judged: direction.ts `merge`
  const cf = clientIsA ? fa : fb
  const sf = clientIsA ? fb : fa
  if (
    confident &&
    out.protocol[r] === 6 &&
    held.action[a] === ACTION_UNKNOWN &&
    inp.action[b] === ACTION_UNKNOWN &&
    refusedByReset(cf < 0 ? undefined : cf, sf < 0 ? undefined : sf)
  ) {
    out.action[r] = ACTION_REJECT
    out.notes[r] = out.table.withNote(out.notes[r], 'refused-by-reset')
  }
  const csn = cc.srcName[ci] as number
  const cdn = cc.dstName[ci] as number
  out.srcName[r] = csn >= 0 ? csn : (sc.dstName[si] as number)
  out.dstName[r] = cdn >= 0 ? cdn : (sc.srcName[si] as number)
  // reading gives a merged flow still without a direction one more look (read.ts `finish`)
  if (!confident) orientRow(out, r)
}

/**
 * The handshake carry-over on columns (direction.ts `ConnectionMemory.settle`, used by
 * `DirectionPairer` and `HandshakeCarry`): the client end of each connection a TCP handshake
 * settled (a `client-to-server` row with SYN), by the rows' string codes, so that later rows of
 * the connection whose evidence cannot tell take its direction. {@link ColumnPairer} holds one;
 * reading without pairing (`--no-pair`) holds one of its own.
 */
export class RowHandshakes {
  private readonly memory: ConnectionMemory

  /** @param limit - connections remembered per generation (`ConnectionMemory`). */
  constructor(limit = PAIR_WINDOW) {
    this.memory = new ConnectionMemory(limit)
  }

  /** Row `r`'s connection key, as `ConnectionMemory` keys it (the smaller end first). */
  private static key(c: FlowColumns, r: number): string {
    const s = c.src[r] as number
    const d = c.dst[r] as number
    const sp = c.srcPort[r] as number
    const dp = c.dstPort[r] as number
    return s < d || (s === d && sp <= dp)
      ? `${String(c.protocol[r])}|${String(s)}|${String(sp)}|${String(d)}|${String(dp)}`
      : `${String(c.protocol[r])}|${String(d)}|${String(dp)}|${String(s)}|${String(sp)}`
  }

  /** Remember a handshake's direction from row `r` of `c`, or give the row the remembered one. */
  settle(c: FlowColumns, r: number): void {
    // the common rows (no SYN seen, or nothing remembered) build no key: this runs on every flow
    const dir = c.direction[r] as number
    const flags = c.tcpFlags[r] as number
    const remember = dir === DIR_C2S && flags >= 0 && (flags & 0x02) !== 0
    if (!remember && (dir !== DIR_UNKNOWN || this.memory.empty)) return
    const key = RowHandshakes.key(c, r)
    if (remember) {
      this.memory.set(key, `${String(c.src[r])}|${String(c.srcPort[r])}`)
      return
    }
    const client = this.clientOf(c, r, key)
    if (client === 1) c.direction[r] = DIR_C2S
    else if (client === 2) {
      swapAt(c, r)
      c.direction[r] = DIR_C2S
    }
  }

  /**
   * Remember the client a handshake's row `r` of `c` names as it is read, before orienting:
   * `DirectionPairer.push`'s (a row with SYN whose evidence tells which end is the client).
   */
  rememberAt(c: FlowColumns, r: number): void {
    const flags = c.tcpFlags[r] as number
    if (flags < 0 || (flags & 0x02) === 0) return
    const o = decideAt(c, r)
    if (o === AS_IS)
      this.memory.set(RowHandshakes.key(c, r), `${String(c.src[r])}|${String(c.srcPort[r])}`)
    else if (o === SWAP)
      this.memory.set(RowHandshakes.key(c, r), `${String(c.dst[r])}|${String(c.dstPort[r])}`)
  }

  /** The remembered client of row `r`'s connection: 1 its source, 2 its destination, 0 none. */
  clientAt(c: FlowColumns, r: number): number {
    return this.memory.empty ? 0 : this.clientOf(c, r, RowHandshakes.key(c, r))
  }

  private clientOf(c: FlowColumns, r: number, key: string): number {
    const client = this.memory.get(key)
    if (client === undefined) return 0
    if (client === `${String(c.src[r])}|${String(c.srcPort[r])}`) return 1
    return client === `${String(c.dst[r])}|${String(c.dstPort[r])}` ? 2 : 0
  }
}

/** Rows a {@link ColumnPairer}'s pool starts with (it doubles as records are held). */
const POOL_START_ROWS = 256

/**
 * `DirectionPairer` (./direction.ts) on columns: pairs the two directions of a connection into
 * one client→server row, with the same rules, window ({@link PAIR_WINDOW}), slack
 * ({@link PAIR_SLACK_MS}), eviction order and output order, so it yields the same flows.
 *
 * The held records live in a pool of rows (a {@link FlowColumns} that grows, doubling, up to
 * `window + 2` rows: a small file holds few, and zeroing a full pool cost more than reading it); the
 * connection key (protocol and both endpoints, the smaller string code first) indexes an
 * open-addressing table with linear probing over the pool; arrival order is a queue of
 * (row, sequence number) pairs skipped lazily when the row was paired or replaced since. A held
 * row's run (the earlier records of its connection, `DirectionPairer`'s, settled the same way) is
 * a list of pool rows linked through `runNext`: no allocation per record, at most
 * {@link PAIR_RUN} rows walked. The run a merged pair leaves stays held with its newest row in
 * the key table, marked in `runHead` (a run row, not a held record), queued where the pair arrived;
 * a record pairs with a row of a run as `DirectionPairer` does ({@link ColumnPairer.pairInRun}).
 * Keys are string codes, not text: two rows have equal codes exactly when they have equal text,
 * which is all a key needs.
 */
export class ColumnPairer {
  private readonly window: number
  private readonly pool: FlowColumns
  /** Sequence number of the record in each pool row; -1 when the row is free. */
  private poolSeq: Float64Array
  private free: Int32Array
  private freeTop = 0
  private slots: Int32Array
  private mask: number
  /** The most rows the pool needs: `window + 2`. */
  private readonly maxRows: number
  private size = 0
  private seq = 0
  private qRow: Int32Array = new Int32Array(1024)
  private qSeq: Float64Array = new Float64Array(1024)
  private qHead = 0
  private qTail = 0
  private readonly handshakes: RowHandshakes
  /**
   * Per pool row: the next older row of its run (`DirectionPairer`'s runs: the earlier records of
   * the held record's connection, linked newest first from the held row), -1 for none.
   */
  private runNext: Int32Array
  /** Per pool row: 1 when the row was read `reject` because the other end rejected it. */
  private settledRow: Uint8Array
  /**
   * Per pool row in the key table: 1 when it is no held record but the newest row of the run a
   * merged pair left (`DirectionPairer`'s), whose rows pair only through {@link ColumnPairer.pairInRun}; 0 for a held record.
   */
  private runHead: Uint8Array
  /** Rows held in runs, all keys together (counted in the window). */
  private inRuns = 0
  /** A run's rows, oldest first, while {@link ColumnPairer.extendRun} works on it. */
  private readonly runRows = new Int32Array(PAIR_RUN + 1)
  /** Pairs merged so far. */
  paired = 0
  /** Accepted records read rejected because the other end rejected them (`DirectionPairer`'s). */
  rejectedAtOtherEnd = 0
  /**
   * The note list codes with `paired-directions` and with `rejected-at-other-end` added, by the
   * list's code + 1 (a cache of `StringTable.withNote`): a merged or settled row carries its note,
   * counted when the row is given out, as `DirectionPairer`'s flows do.
   */
  private readonly pairedNotes: number[] = []
  private readonly settledNotes: number[] = []

  constructor(format: string, file: string, table: StringTable, opts: { window?: number } = {}) {
    this.window = Math.max(1, opts.window ?? PAIR_WINDOW)
    this.handshakes = new RowHandshakes(this.window)
    this.maxRows = this.window + 2
    this.pool = new FlowColumns(format, file, table, Math.min(this.maxRows, POOL_START_ROWS))
    const rows = this.pool.capacity
    this.pool.n = rows
    this.poolSeq = new Float64Array(rows).fill(-1)
    this.runNext = new Int32Array(rows).fill(-1)
    this.settledRow = new Uint8Array(rows)
    this.runHead = new Uint8Array(rows)
    this.free = new Int32Array(rows)
    for (let i = rows - 1; i >= 0; i--) this.free[this.freeTop++] = i
    this.slots = new Int32Array(0)
    this.mask = 0
    this.rehash()
  }

  /** Rebuilds the key table for the pool's size (at least twice as many slots as rows). */
  private rehash(): void {
    let cap = 16
    while (cap < this.pool.capacity * 2) cap *= 2
    if (cap === this.slots.length) return
    const old = this.slots
    this.slots = new Int32Array(cap).fill(-1)
    this.mask = cap - 1
    for (const p of old) {
      if (p < 0) continue
      let k = this.hashRow(this.pool, p) & this.mask
      while ((this.slots[k] as number) >= 0) k = (k + 1) & this.mask
      this.slots[k] = p
    }
  }

  /** Doubles the pool (up to {@link maxRows}): its new rows are free. */
  private growPool(): void {
    const P = this.pool
    const from = P.capacity
    // never past maxRows: the pool then has a free row for every record it may hold
    P.reserve(Math.max(1, Math.min(this.maxRows, from * 2) - from))
    const to = P.capacity
    P.n = to
    const seq = new Float64Array(to).fill(-1)
    seq.set(this.poolSeq)
    this.poolSeq = seq
    const next = new Int32Array(to).fill(-1)
    next.set(this.runNext)
    this.runNext = next
    const settled = new Uint8Array(to)
    settled.set(this.settledRow)
    this.settledRow = settled
    const head = new Uint8Array(to)
    head.set(this.runHead)
    this.runHead = head
    const free = new Int32Array(to)
    free.set(this.free.subarray(0, this.freeTop))
    this.free = free
    for (let i = to - 1; i >= from; i--) this.free[this.freeTop++] = i
    this.rehash()
  }

  private hashRow(c: FlowColumns, i: number): number {
    const s = c.src[i] as number
    const d = c.dst[i] as number
    const sp = c.srcPort[i] as number
    const dp = c.dstPort[i] as number
    // symmetric in the two endpoints
    const e1 = Math.imul(s, 0x9e3779b1) ^ Math.imul(sp + 1, 0x85ebca6b)
    const e2 = Math.imul(d, 0x9e3779b1) ^ Math.imul(dp + 1, 0x85ebca6b)
    let h =
      (e1 + e2) ^ Math.imul(e1 ^ e2, 0xc2b2ae35) ^ Math.imul(c.protocol[i] as number, 0x27d4eb2f)
    h ^= h >>> 15
    h = Math.imul(h, 0x2c1b3c6d)
    h ^= h >>> 12
    return h >>> 0
  }

  /** True when pool row `p` has the connection key of row `i` of `c`. */
  private sameKey(p: number, c: FlowColumns, i: number): boolean {
    const P = this.pool
    if (P.protocol[p] !== c.protocol[i]) return false
    const ps = P.src[p] as number
    const pd = P.dst[p] as number
    const psp = P.srcPort[p] as number
    const pdp = P.dstPort[p] as number
    const s = c.src[i] as number
    const d = c.dst[i] as number
    const sp = c.srcPort[i] as number
    const dp = c.dstPort[i] as number
    return (
      (ps === s && psp === sp && pd === d && pdp === dp) ||
      (ps === d && psp === dp && pd === s && pdp === sp)
    )
  }

  /** The slot holding the key of row `i` of `c`, or the empty slot where it would go (as `~slot`). */
  private find(c: FlowColumns, i: number): number {
    const slots = this.slots
    let k = this.hashRow(c, i) & this.mask
    for (;;) {
      const p = slots[k] as number
      if (p < 0) return ~k
      if (this.sameKey(p, c, i)) return k
      k = (k + 1) & this.mask
    }
  }

  /** Empties slot `k` (backward-shift deletion, so probes stay unbroken). */
  private deleteSlot(k: number): void {
    const slots = this.slots
    const mask = this.mask
    let hole = k
    let j = k
    for (;;) {
      j = (j + 1) & mask
      const p = slots[j] as number
      if (p < 0) break
      const home = this.hashRow(this.pool, p) & mask
      // move p into the hole when its home is not in (hole, j]
      if (hole <= j ? home <= hole || home > j : home <= hole && home > j) {
        slots[hole] = p
        hole = j
      }
    }
    slots[hole] = -1
    this.size--
  }

  private release(p: number): void {
    this.poolSeq[p] = -1
    this.free[this.freeTop++] = p
  }

  /**
   * Appends pool row `p` to `out`, oriented, as a half that found no partner: marked
   * {@link HALF_UNPAIRED}, {@link HALF_SWAPPED} when orienting exchanged its ends, and
   * {@link HALF_SETTLED} when it was read `reject` because the other end rejected it.
   */
  private emit(p: number, out: FlowColumns): void {
    const P = this.pool
    const r = out.copyRow(P, p)
    orientRow(out, r)
    this.handshakes.settle(out, r)
    const half =
      out.src[r] !== P.src[p] || out.srcPort[r] !== P.srcPort[p]
        ? HALF_UNPAIRED | HALF_SWAPPED
        : HALF_UNPAIRED
    out.half[r] = this.settledRow[p] === 1 ? half | HALF_SETTLED : half
  }

  /** Emits the run of held row `p` (its older rows, oldest first) and frees its rows. */
  private emitRun(p: number, out: FlowColumns): void {
    const q = this.runNext[p] as number
    if (q < 0) return
    this.runNext[p] = -1
    this.emitRun(q, out)
    this.emit(q, out)
    this.release(q)
    this.inRuns--
  }

  /**
   * `DirectionPairer.extendRun`: held row `o` (of either direction) joins its run; the run's rows
   * of the direction of row `i` of `inp` are settled against the new record, and the run trimmed. Returns the newest row of the run
   * kept (-1: none); `inp.action[i]` is read `reject` when a refusal of the run settles it.
   * No allocation: the run, at most {@link PAIR_RUN} rows, is walked through `runRows`.
   */
  private extendRun(o: number, inp: FlowColumns, i: number, out: FlowColumns): number {
    const P = this.pool
    const rows = this.runRows
    const next = this.runNext
    let len = 0
    for (let q = next[o] as number; q >= 0; q = next[q] as number) len++
    let j = len
    for (let q = next[o] as number; q >= 0; q = next[q] as number) rows[--j] = q
    rows[len] = o
    next[o] = -1
    this.poolSeq[o] = 0 // a run's row is no held record: its queue entry is stale
    this.inRuns -= len
    const total = len + 1
    const fs = inp.start[i] as number
    const fe = inp.end[i] as number
    const fa = inp.action[i] as number
    let settle = false
    const src = inp.src[i] as number
    const srcPort = inp.srcPort[i] as number
    for (j = 0; j < total; j++) {
      const m = rows[j] as number
      // the run may hold records of the other direction too: they settle nothing of the new one's
      if (P.src[m] !== src || P.srcPort[m] !== srcPort) continue
      if (fs > (P.end[m] as number) + PAIR_SLACK_MS || (P.start[m] as number) > fe + PAIR_SLACK_MS)
        continue
      const ma = P.action[m] as number
      if (fa === ACTION_REJECT && ma === ACTION_ACCEPT) {
        P.action[m] = ACTION_REJECT
        this.settledRow[m] = 1
        P.notes[m] = this.settledNote(P.notes[m] as number)
        this.rejectedAtOtherEnd++
      } else if (fa === ACTION_ACCEPT && ma === ACTION_REJECT && this.settledRow[m] === 0)
        settle = true
    }
    if (settle) {
      inp.action[i] = ACTION_REJECT
      inp.notes[i] = this.settledNote(inp.notes[i] as number)
      this.rejectedAtOtherEnd++
    }
    const excess = total - PAIR_RUN
    let newest = -1
    for (j = 0; j < total; j++) {
      const m = rows[j] as number
      if (j < excess || (P.end[m] as number) + PAIR_SLACK_MS < fs) {
        this.emit(m, out)
        this.release(m)
      } else {
        next[m] = newest
        newest = m
        this.inRuns++
      }
    }
    return newest
  }

  /** Note list `c` with `rejected-at-other-end` added (see {@link ColumnPairer.settledNotes}). */
  private settledNote(c: number): number {
    return (this.settledNotes[c + 1] ??= this.pool.table.withNote(c, 'rejected-at-other-end'))
  }

  /** Appends to `out` pool row `p` merged with row `i` of `inp`, noted `paired-directions`. */
  private mergeRow(p: number, inp: FlowColumns, i: number, out: FlowColumns): void {
    this.paired++
    mergeInto(this.pool, p, inp, i, out, this.handshakes.clientAt(inp, i))
    const r = out.n - 1
    const c = out.notes[r] as number
    out.notes[r] = this.pairedNotes[c + 1] ??= out.table.withNote(c, 'paired-directions')
    this.handshakes.settle(out, r)
  }

  /** `DirectionPairer`'s `isPartner`: pool row `p` and row `i` of `inp` can be two halves, ends aside. */
  private isPartner(p: number, inp: FlowColumns, i: number): boolean {
    const P = this.pool
    return (
      P.action[p] === inp.action[i] &&
      (inp.start[i] as number) <= (P.end[p] as number) + PAIR_SLACK_MS &&
      (P.start[p] as number) <= (inp.end[i] as number) + PAIR_SLACK_MS
    )
  }

  /**
   * `DirectionPairer.push`'s pairing within the run: row `i` of `inp`, no refusal, merges with the row of the
   * run of key-table row `o` (slot `k`) that is its partner and nearest in start time, when that
   * is nearer than the held record `o` (the held record wins a tie, and the newer of two run rows).
   * Returns true when it merged (the merged row appended to `out`); the held record stays.
   */
  private pairInRun(k: number, o: number, inp: FlowColumns, i: number, out: FlowColumns): boolean {
    const P = this.pool
    const next = this.runNext
    const head = this.runHead[o] === 1
    // a refusal pairs only with the held record (`DirectionPairer.push`)
    if ((!head && (next[o] as number) < 0) || inp.action[i] === ACTION_REJECT) return false
    const fs = inp.start[i] as number
    const src = inp.dst[i] as number
    const srcPort = inp.dstPort[i] as number
    const exchanged = (p: number): boolean => P.src[p] === src && P.srcPort[p] === srcPort
    let bestGap =
      !head && exchanged(o) && this.isPartner(o, inp, i)
        ? Math.abs(fs - (P.start[o] as number))
        : Infinity
    let best = -1
    let bestPrev = -1
    // the run's rows, newest first: `o` itself when it heads a run a merged pair left
    for (let prev = head ? -1 : o, q = head ? o : (next[o] as number); q >= 0;) {
      const gap = Math.abs(fs - (P.start[q] as number))
      if (gap < bestGap && exchanged(q) && this.isPartner(q, inp, i)) {
        best = q
        bestPrev = prev
        bestGap = gap
      }
      prev = q
      q = next[q] as number
    }
    if (best < 0) return false
    this.mergeRow(best, inp, i, out)
    if (best !== o) {
      // unlinked from the run
      next[bestPrev] = next[best] as number
      this.release(best)
      this.inRuns--
      return true
    }
    // `o` headed the run: the next row takes its place, in the key table and the queue
    const q = next[o] as number
    if (q < 0) {
      this.deleteSlot(k)
      this.release(o)
      return true
    }
    P.n = o
    P.copyRow(P, q)
    P.n = P.src.length
    next[o] = next[q] as number
    this.settledRow[o] = this.settledRow[q] as number
    this.release(q)
    this.inRuns--
    return true
  }

  /** Takes row `i` of `inp`; appends to `out` the rows that are ready. */
  push(inp: FlowColumns, i: number, out: FlowColumns): void {
    const P = this.pool
    let k = this.find(inp, i)
    let run = -1
    let settled = false
    const o = k >= 0 ? (this.slots[k] as number) : -1
    const swapped = o >= 0 && P.src[o] === inp.dst[i] && P.srcPort[o] === inp.dstPort[i]
    this.handshakes.rememberAt(inp, i)
    if (o >= 0 && this.pairInRun(k, o, inp, i, out)) return
    if (o >= 0 && !swapped && P.src[o] === inp.src[i] && P.srcPort[o] === inp.srcPort[i]) {
      // the same direction again: the held row joins its run
      this.deleteSlot(k)
      const written = inp.action[i]
      run = this.extendRun(o, inp, i, out)
      // read `reject` by the run: a settled accept, no refusal of its own
      settled = inp.action[i] !== written
      k = this.find(inp, i)
    } else if (o >= 0) {
      this.deleteSlot(k)
      // the same key, so the ends are swapped when the source is the other's destination
      if (swapped && this.runHead[o] === 0 && this.isPartner(o, inp, i)) {
        const q = this.runNext[o] as number
        this.runNext[o] = -1
        this.mergeRow(o, inp, i, out)
        this.release(o)
        // the run stays held (`DirectionPairer.push`), its newest row in the key table
        if (q >= 0) {
          this.inRuns--
          this.hold(q, this.find(P, q), 1)
        }
        return
      }
      // the other direction, not its partner: the held row joins the run all the same
      // (`DirectionPairer.push`)
      const written = inp.action[i]
      run = this.extendRun(o, inp, i, out)
      settled = inp.action[i] !== written
      k = this.find(inp, i)
    }
    // hold the record
    if (this.freeTop === 0) {
      this.growPool()
      k = this.find(inp, i)
    }
    const p = this.free[--this.freeTop] as number
    P.n = p
    P.copyRow(inp, i)
    P.n = P.src.length
    this.runNext[p] = run
    this.settledRow[p] = settled ? 1 : 0
    this.hold(p, k, 0)
    while (this.size + this.inRuns > this.window && this.qHead < this.qTail) {
      const q = this.qRow[this.qHead] as number
      const qs = this.qSeq[this.qHead] as number
      this.qHead++
      if (this.poolSeq[q] === qs) {
        this.deleteSlot(this.find(P, q))
        this.emitRun(q, out)
        this.emit(q, out)
        this.release(q)
      }
    }
  }

  /**
   * Puts pool row `p` in the key table at the empty slot `~k` ({@link ColumnPairer.find}) and
   * queues it: a held record (`head` 0), or the newest row of the run a merged pair left (`head` 1).
   */
  private hold(p: number, k: number, head: number): void {
    const s = ++this.seq
    this.poolSeq[p] = s
    this.runHead[p] = head
    this.slots[~k] = p
    this.size++
    if (this.qTail === this.qRow.length) this.growQueue()
    this.qRow[this.qTail] = p
    this.qSeq[this.qTail] = s
    this.qTail++
  }

  /** Makes room at the queue's tail: drops stale entries, and doubles it when still mostly live. */
  private growQueue(): void {
    let w = 0
    for (let r = this.qHead; r < this.qTail; r++) {
      const q = this.qRow[r] as number
      const qs = this.qSeq[r] as number
      if (this.poolSeq[q] === qs) {
        this.qRow[w] = q
        this.qSeq[w] = qs
        w++
      }
    }
    this.qHead = 0
    this.qTail = w
    if (w * 2 > this.qRow.length) {
      const row = new Int32Array(this.qRow.length * 2)
      const seq = new Float64Array(this.qRow.length * 2)
      row.set(this.qRow.subarray(0, w))
      seq.set(this.qSeq.subarray(0, w))
      this.qRow = row
      this.qSeq = seq
    }
  }

  /** Releases every held record, oriented, in arrival order. */
  flush(out: FlowColumns): void {
    for (let r = this.qHead; r < this.qTail; r++) {
      const q = this.qRow[r] as number
      if (this.poolSeq[q] === this.qSeq[r]) {
        this.emitRun(q, out)
        this.emit(q, out)
        this.release(q)
      }
    }
    this.inRuns = 0
    this.slots.fill(-1)
    this.size = 0
    this.qHead = 0
    this.qTail = 0
  }
}
