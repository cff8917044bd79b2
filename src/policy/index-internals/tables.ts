/**
 * @module PolicyIndex internals: decision tables packed in one Int32Array arena, open-addressing
 * pair caches (Float64 keys up to 2⁵³, compact Int32 keys up to 2³¹−2), and service columns that
 * unfold a table into a dense row of codes. Flat typed arrays keep a lookup to a few cache lines.
 * @remarks Used only by src/policy/policy-index.ts; not part of the public API.
 */

/** First port of the first interval of every protocol: below every real port. */
const MIN_PORT = -2147483648

/** One rule as the table builder sees it. */
export interface TableRule {
  readonly action: 'allow' | 'deny'
  /** Some service is `any`: the rule covers every protocol and port. */
  readonly anyService: boolean
  readonly svc: readonly { readonly proto: number; readonly lo: number; readonly hi: number }[]
}

/** The decision code of {@link PolicyIndex.decide}: `2i` allowed by rule i, `2i+1` denied by rule i, `-1` default deny. */
function encode(deny: number, allow: number): number {
  return deny >= 0 ? 2 * deny + 1 : allow >= 0 ? 2 * allow : -1
}

function find(next: Int32Array, k: number): number {
  let r = k
  while ((next[r] as number) !== r) r = next[r] as number
  while ((next[k] as number) !== r) {
    const t = next[k] as number
    next[k] = r
    k = t
  }
  return r
}

/** Paints still-unpainted cells a..b with v (first painter wins), skipping painted runs. */
function paint(cells: Int32Array, next: Int32Array, a: number, b: number, v: number): void {
  let k = find(next, a)
  while (k <= b) {
    cells[k] = v
    next[k] = k + 1
    k = find(next, k + 1)
  }
}

/**
 * Index of the last element <= `x` of `sorted` (ascending; its first element must be <= `x`,
 * else 0): the interval of `x` when the elements are interval starts (port breakpoints from
 * MIN_PORT, the instants a timeline changes from −∞). Binary search, O(log n).
 */
export function intervalOf(sorted: ArrayLike<number>, x: number): number {
  let lo = 0
  let hi = sorted.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if ((sorted[mid] as number) <= x) lo = mid
    else hi = mid - 1
  }
  return lo
}

/**
 * Builds the packed decision table of a sorted list of live rule indices (policy-set order):
 * for each (protocol, port), the first deny rule covering it, else the first allow rule, else
 * default deny (DESIGN.md rule 1). Layout (offsets relative to the table's start): `[0]` the
 * code for every protocol not listed, `[1]` the number `np` of listed protocols, then `np`
 * triples (protocol, offset, interval count), then each protocol's intervals as (first port,
 * code) pairs, sorted; an interval runs to the next one's first port, the first starts at −2³¹.
 */
export function buildTable(rules: readonly TableRule[], list: Int32Array): Int32Array {
  let restDeny = -1
  let restAllow = -1
  const protoSet = new Set<number>()
  for (const i of list) {
    const r = rules[i] as TableRule
    if (r.anyService) {
      if (r.action === 'deny') {
        if (restDeny < 0) restDeny = i
      } else if (restAllow < 0) restAllow = i
    }
    for (const s of r.svc) protoSet.add(s.proto)
  }
  const rest = encode(restDeny, restAllow)
  const protos: number[] = []
  const tables: number[][] = []
  for (const p of [...protoSet].sort((a, b) => a - b)) {
    const points = new Set<number>([MIN_PORT])
    for (const i of list) {
      for (const s of (rules[i] as TableRule).svc) {
        if (s.proto !== p) continue
        points.add(s.lo)
        points.add(s.hi + 1)
      }
    }
    const bps = [...points].sort((a, b) => a - b)
    const n = bps.length
    const deny = new Int32Array(n).fill(-1)
    const allow = new Int32Array(n).fill(-1)
    const nextDeny = Int32Array.from({ length: n + 1 }, (_, k) => k)
    const nextAllow = Int32Array.from({ length: n + 1 }, (_, k) => k)
    for (const i of list) {
      const r = rules[i] as TableRule
      const cells = r.action === 'deny' ? deny : allow
      const next = r.action === 'deny' ? nextDeny : nextAllow
      if (r.anyService) paint(cells, next, 0, n - 1, i)
      else {
        for (const s of r.svc) {
          if (s.proto === p)
            paint(cells, next, intervalOf(bps, s.lo), intervalOf(bps, s.hi + 1) - 1, i)
        }
      }
    }
    const pairs: number[] = []
    for (let k = 0; k < n; k++) {
      const d = encode(deny[k] as number, allow[k] as number)
      if (pairs.length > 0 && pairs[pairs.length - 1] === d) continue
      pairs.push(bps[k] as number, d)
    }
    if (pairs.length === 2 && pairs[1] === rest) continue // the same as every other protocol
    protos.push(p)
    tables.push(pairs)
  }
  const np = protos.length
  const out = new Int32Array(2 + 3 * np + tables.reduce((n, x) => n + x.length, 0))
  out[0] = rest
  out[1] = np
  let o = 2 + 3 * np
  for (let k = 0; k < np; k++) {
    const pairs = tables[k] as number[]
    out[2 + 3 * k] = protos[k] as number
    out[3 + 3 * k] = o
    out[4 + 3 * k] = pairs.length / 2
    out.set(pairs, o)
    o += pairs.length
  }
  return out
}

/** The code of the table at `base` of `a` for a protocol and destination port (ICMP type for ICMP). */
export function tableLookup(a: Int32Array, base: number, protocol: number, port: number): number {
  const np = a[base + 1] as number
  for (let k = 0; k < np; k++) {
    const h = base + 2 + 3 * k
    if (a[h] !== protocol) continue
    const o = base + (a[h + 1] as number)
    let lo = 0
    let hi = (a[h + 2] as number) - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if ((a[o + 2 * mid] as number) <= port) lo = mid
      else hi = mid - 1
    }
    return a[o + 2 * lo + 1] as number
  }
  return a[base] as number
}

/** The table at `base`, unpacked: the code for unlisted protocols, and per listed protocol its (first port, code) intervals. */
export function tableEntries(
  a: Int32Array,
  base: number,
): { rest: number; protos: { proto: number; intervals: [number, number][] }[] } {
  const protos: { proto: number; intervals: [number, number][] }[] = []
  for (let k = 0; k < (a[base + 1] as number); k++) {
    const h = base + 2 + 3 * k
    const o = base + (a[h + 1] as number)
    const intervals: [number, number][] = []
    for (let j = 0; j < (a[h + 2] as number); j++)
      intervals.push([a[o + 2 * j] as number, a[o + 2 * j + 1] as number])
    protos.push({ proto: a[h] as number, intervals })
  }
  return { rest: a[base] as number, protos }
}

/** Interned decision tables in one growing Int32Array; a table is named by its offset. */
export class TableArena {
  /** The packed tables; replaced (not resized in place) when it grows, so read it after each intern. */
  data = new Int32Array(1024)
  private used = 0
  private readonly ids = new Map<string, number>()

  /** Number of distinct tables. */
  get size(): number {
    return this.ids.size
  }

  /** The offset of the table for `key`, building it with `build` the first time. */
  intern(key: string, build: () => Int32Array): number {
    const known = this.ids.get(key)
    if (known !== undefined) return known
    const t = build()
    if (this.used + t.length > this.data.length) {
      const grown = new Int32Array(Math.max(this.data.length * 2, this.used + t.length))
      grown.set(this.data.subarray(0, this.used))
      this.data = grown
    }
    const base = this.used
    this.data.set(t, base)
    this.used += t.length
    this.ids.set(key, base)
    return base
  }
}

/**
 * An open-addressing hash map from non-negative integer keys (< 2⁵³) to non-negative integers,
 * in one Float64Array of (key, value) slots, so that a hit reads one cache line. Linear probing;
 * grows at half full.
 */
export class PairCache {
  private slots: Float64Array
  private mask: number
  private count = 0

  constructor(capacity = 1024) {
    this.slots = new Float64Array(2 * capacity).fill(-1)
    this.mask = capacity - 1
  }

  get size(): number {
    return this.count
  }

  private static hash(key: number): number {
    const lo = key >>> 0
    const hi = key > 4294967295 ? Math.floor(key / 4294967296) : 0
    return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) ^ (lo >>> 15)
  }

  /** The value for `key`, or −1. */
  get(key: number): number {
    const s = this.slots
    const mask = this.mask
    let i = PairCache.hash(key) & mask
    for (;;) {
      const k = s[2 * i] as number
      if (k === key) return s[2 * i + 1] as number
      if (k === -1) return -1
      i = (i + 1) & mask
    }
  }

  set(key: number, value: number): void {
    if (2 * (this.count + 1) > this.mask + 1) this.grow()
    const s = this.slots
    let i = PairCache.hash(key) & this.mask
    for (;;) {
      const k = s[2 * i] as number
      if (k === -1) {
        s[2 * i] = key
        s[2 * i + 1] = value
        this.count++
        return
      }
      if (k === key) {
        s[2 * i + 1] = value
        return
      }
      i = (i + 1) & this.mask
    }
  }

  clear(): void {
    this.slots = new Float64Array(2 * 1024).fill(-1)
    this.mask = 1023
    this.count = 0
  }

  private grow(): void {
    const old = this.slots
    this.slots = new Float64Array(old.length * 2).fill(-1)
    this.mask = old.length - 1
    this.count = 0
    for (let i = 0; i < old.length; i += 2)
      if ((old[i] as number) !== -1) this.set(old[i] as number, old[i + 1] as number)
  }
}

/**
 * Service columns: the elementary (protocol, port interval) cells of every live rule's services,
 * numbered 0..`count`−1, so that a decision table unfolds into a dense row of `count` codes and a
 * flow's (protocol, port) finds its column with two array reads. Column 0 stands for every
 * protocol no rule lists. Built from breakpoints (interval starts) per protocol; only additions
 * of breakpoints require a new layout (a superfluous breakpoint only splits equal columns).
 */
export class ServiceColumns {
  /** Protocol (0–255) → offset of its port → column map in `portCol`, or −1 when unlisted. */
  readonly protoOff = new Int32Array(256).fill(-1)
  /** Port → column, per listed protocol, `max + 1` entries each (65 536, or 256 for ICMP). */
  readonly portCol: Int32Array
  /** Number of columns. */
  readonly count: number
  /** Per column: a (protocol, port) inside it; column 0 has protocol −1. */
  readonly probe: readonly (readonly [number, number])[]
  /** Per protocol: the largest port of its `portCol` segment, −1 when unlisted. */
  readonly protoMax = new Int32Array(256).fill(-1)

  /**
   * @param breaks - per protocol number (0–255), the ports at which an interval starts (a rule's
   *   `lo` and `hi + 1`); ports outside 0..`maxPort(protocol)` are ignored.
   * @param maxPort - the largest port (or ICMP type) of a protocol.
   */
  constructor(breaks: ReadonlyMap<number, ReadonlySet<number>>, maxPort: (p: number) => number) {
    const starts = new Map<number, number[]>()
    let size = 0
    for (const [p, set] of [...breaks].sort((a, b) => a[0] - b[0])) {
      const max = maxPort(p)
      const s = [...new Set([0, ...[...set].filter((x) => x > 0 && x <= max)])].sort(
        (a, b) => a - b,
      )
      starts.set(p, s)
      size += max + 1
    }
    this.portCol = new Int32Array(size)
    const probe: [number, number][] = [[-1, 0]]
    let off = 0
    for (const [p, s] of starts) {
      const max = maxPort(p)
      this.protoOff[p] = off
      this.protoMax[p] = max
      for (let k = 0; k < s.length; k++) {
        const col = probe.length
        probe.push([p, s[k] as number])
        const end = k + 1 < s.length ? (s[k + 1] as number) : max + 1
        this.portCol.fill(col, off + (s[k] as number), off + end)
      }
      off += max + 1
    }
    this.probe = probe
    this.count = probe.length
  }

  /** The decision row of the table at `base` of `a`: one code per column. */
  row(a: Int32Array, base: number): Int32Array {
    const out = new Int32Array(this.count)
    out[0] = a[base] as number
    for (let c = 1; c < this.count; c++) {
      const [p, port] = this.probe[c] as readonly [number, number]
      out[c] = tableLookup(a, base, p, port)
    }
    return out
  }
}

/**
 * An open-addressing hash map from keys in 0..2³¹−2 to non-negative int32 values, in one
 * Int32Array of (key, value) slots: 8 bytes a slot, so that a large cache stays compact.
 * Multiplicative hashing, linear probing; grows at 5/8 full.
 */
export class IntPairCache {
  private slots: Int32Array
  private shift: number
  private count = 0

  constructor(bits = 10) {
    this.slots = new Int32Array(2 << bits).fill(-1)
    this.shift = 32 - bits
  }

  get size(): number {
    return this.count
  }

  /** The value for `key`, or −1. */
  get(key: number): number {
    const s = this.slots
    const mask = (s.length >> 1) - 1
    let i = Math.imul(key, 0x9e3779b1) >>> this.shift
    for (;;) {
      const k = s[2 * i] as number
      if (k === key) return s[2 * i + 1] as number
      if (k === -1) return -1
      i = (i + 1) & mask
    }
  }

  set(key: number, value: number): void {
    if (8 * (this.count + 1) > 5 * (this.slots.length >> 1)) this.grow()
    const s = this.slots
    const mask = (s.length >> 1) - 1
    let i = Math.imul(key, 0x9e3779b1) >>> this.shift
    for (;;) {
      const k = s[2 * i] as number
      if (k === -1) {
        s[2 * i] = key
        s[2 * i + 1] = value
        this.count++
        return
      }
      if (k === key) {
        s[2 * i + 1] = value
        return
      }
      i = (i + 1) & mask
    }
  }

  clear(): void {
    this.slots = new Int32Array(2 << 10).fill(-1)
    this.shift = 22
    this.count = 0
  }

  private grow(): void {
    const old = this.slots
    this.slots = new Int32Array(old.length * 2).fill(-1)
    this.shift--
    this.count = 0
    for (let i = 0; i < old.length; i += 2)
      if ((old[i] as number) !== -1) this.set(old[i] as number, old[i + 1] as number)
  }
}
