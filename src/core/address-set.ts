/**
 * @module Sets of addresses of one family as sorted inclusive ranges, with exact set algebra
 * (union, minus, intersect, covers) and conversion to the fewest CIDR blocks.
 *
 * The address counterpart of {@link IntervalSet} (ports): values are the unsigned integers of
 * {@link IpAddress} (`bigint`, 32 or 128 bits), so every operation is exact for both families.
 * @remarks Semantics: a CIDR block is the inclusive range {@link cidrRange} gives; the fewest
 * blocks of a range are {@link rangeToCidrs}'s (aligned power-of-two blocks, greedy from the
 * low end, which is optimal for one contiguous range).
 */
import { cidrRange, familyBits, formatIp, rangeToCidrs, type Cidr, type IpFamily } from './ip.js'

/** An inclusive range of addresses of one family, `lo <= hi`, values as in {@link IpAddress}. */
export interface AddressInterval {
  readonly lo: bigint
  readonly hi: bigint
}

const byLo = (a: AddressInterval, b: AddressInterval): number =>
  a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0

/**
 * A set of addresses of one family: sorted, disjoint, non-adjacent inclusive ranges. Immutable.
 * Operations between sets of different families throw (a caller bug, never input).
 */
export class AddressRangeSet {
  private constructor(
    readonly family: IpFamily,
    /** Ascending, disjoint, and never adjacent (`a.hi + 1 < b.lo`). */
    readonly ranges: readonly AddressInterval[],
  ) {}

  /** The empty set of `family`. */
  static empty(family: IpFamily): AddressRangeSet {
    return new AddressRangeSet(family, [])
  }

  /** Every address of `family` (`0.0.0.0/0`, `::/0`). */
  static all(family: IpFamily): AddressRangeSet {
    return new AddressRangeSet(family, [{ lo: 0n, hi: (1n << BigInt(familyBits(family))) - 1n }])
  }

  /**
   * A normalised set from any ranges (overlapping or adjacent ranges merged, `lo > hi` ignored).
   * @throws RangeError when a value lies outside the family's address space.
   */
  static of(family: IpFamily, ranges: Iterable<AddressInterval>): AddressRangeSet {
    const max = (1n << BigInt(familyBits(family))) - 1n
    const sorted = [...ranges].filter((r) => r.lo <= r.hi).sort(byLo)
    const out: AddressInterval[] = []
    for (const r of sorted) {
      if (r.lo < 0n || r.hi > max)
        throw new RangeError(`address range ${r.lo}-${r.hi} is outside IPv${family}`)
      const last = out[out.length - 1]
      if (last && r.lo <= last.hi + 1n) {
        if (r.hi > last.hi) out[out.length - 1] = { lo: last.lo, hi: r.hi }
      } else out.push({ lo: r.lo, hi: r.hi })
    }
    return new AddressRangeSet(family, out)
  }

  /** The addresses of the blocks of `family` among `cidrs` (blocks of the other family ignored). */
  static fromCidrs(family: IpFamily, cidrs: Iterable<Cidr>): AddressRangeSet {
    const ranges: AddressInterval[] = []
    for (const c of cidrs) {
      if (c.family !== family) continue
      const r = cidrRange(c)
      ranges.push({ lo: r.first, hi: r.last })
    }
    return AddressRangeSet.of(family, ranges)
  }

  get isEmpty(): boolean {
    return this.ranges.length === 0
  }

  /** Number of addresses in the set. */
  get size(): bigint {
    return this.ranges.reduce((n, r) => n + r.hi - r.lo + 1n, 0n)
  }

  /** True when address `value` is in the set (binary search). */
  has(value: bigint): boolean {
    let lo = 0
    let hi = this.ranges.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const r = this.ranges[mid] as AddressInterval
      if (value < r.lo) hi = mid - 1
      else if (value > r.hi) lo = mid + 1
      else return true
    }
    return false
  }

  union(other: AddressRangeSet): AddressRangeSet {
    this.same(other)
    return AddressRangeSet.of(this.family, [...this.ranges, ...other.ranges])
  }

  intersect(other: AddressRangeSet): AddressRangeSet {
    this.same(other)
    const out: AddressInterval[] = []
    let i = 0
    let j = 0
    while (i < this.ranges.length && j < other.ranges.length) {
      const a = this.ranges[i] as AddressInterval
      const b = other.ranges[j] as AddressInterval
      const lo = a.lo > b.lo ? a.lo : b.lo
      const hi = a.hi < b.hi ? a.hi : b.hi
      if (lo <= hi) out.push({ lo, hi })
      if (a.hi < b.hi) i++
      else j++
    }
    return new AddressRangeSet(this.family, out)
  }

  /** The addresses of this set that are not in `other`. */
  minus(other: AddressRangeSet): AddressRangeSet {
    this.same(other)
    const out: AddressInterval[] = []
    let j = 0
    for (const a of this.ranges) {
      let lo = a.lo
      while (j < other.ranges.length && (other.ranges[j] as AddressInterval).hi < lo) j++
      for (let k = j; k < other.ranges.length && lo <= a.hi; k++) {
        const b = other.ranges[k] as AddressInterval
        if (b.lo > a.hi) break
        if (b.lo > lo) out.push({ lo, hi: b.lo - 1n })
        if (b.hi + 1n > lo) lo = b.hi + 1n
      }
      if (lo <= a.hi) out.push({ lo, hi: a.hi })
    }
    return new AddressRangeSet(this.family, out)
  }

  /** True when every address of `other` is in this set. */
  covers(other: AddressRangeSet): boolean {
    return other.minus(this).isEmpty
  }

  equals(other: AddressRangeSet): boolean {
    return (
      this.family === other.family &&
      this.ranges.length === other.ranges.length &&
      this.ranges.every((r, i) => {
        const o = other.ranges[i] as AddressInterval
        return r.lo === o.lo && r.hi === o.hi
      })
    )
  }

  /**
   * The set as the fewest CIDR blocks (text, ascending; see {@link rangeToCidrs}), none shorter
   * than `/minPrefix` (default 0: the whole space is one `0.0.0.0/0`). Fewest for the set, not
   * only per range: a block is contiguous, so it lies inside one of the (non-adjacent) ranges.
   */
  toCidrs(minPrefix: 0 | 1 = 0): string[] {
    return this.ranges.flatMap((r) => rangeToCidrs(this.family, r, minPrefix))
  }

  /**
   * The fewest CIDR blocks (ascending, disjoint) that hold every address of this set and no
   * address outside `within ∪ this`: the set may grow into `within` where that saves blocks.
   * With `within` empty it is {@link toCidrs} (`/0` allowed).
   * @remarks Optimal by recursion on the address trie: a block that meets this set and lies in
   * `within ∪ this` is one block (at least one is needed); any other block that meets the set
   * can only be covered by blocks strictly inside it, so its two halves are solved apart.
   */
  coverWithin(within: AddressRangeSet): Cidr[] {
    const upper = this.union(within)
    const bits = familyBits(this.family)
    const out: Cidr[] = []
    const walk = (base: bigint, prefix: number): void => {
      const size = 1n << BigInt(bits - prefix)
      const last = base + size - 1n
      if (!this.meets(base, last)) return
      if (upper.holds(base, last)) {
        out.push({
          family: this.family,
          base,
          prefix,
          text: `${formatIp({ family: this.family, value: base })}/${prefix}`,
        })
        return
      }
      walk(base, prefix + 1)
      walk(base + size / 2n, prefix + 1)
    }
    walk(0n, 0)
    return out
  }

  /** The index of the first range whose `hi` is at least `value` (ranges.length if none). */
  private firstEndingAtOrAfter(value: bigint): number {
    let lo = 0
    let hi = this.ranges.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((this.ranges[mid] as AddressInterval).hi < value) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** True when some address of [lo, hi] is in the set. */
  private meets(lo: bigint, hi: bigint): boolean {
    const r = this.ranges[this.firstEndingAtOrAfter(lo)]
    return r !== undefined && r.lo <= hi
  }

  /** True when every address of [lo, hi] is in the set (ranges are never adjacent). */
  private holds(lo: bigint, hi: bigint): boolean {
    const r = this.ranges[this.firstEndingAtOrAfter(lo)]
    return r !== undefined && r.lo <= lo && hi <= r.hi
  }

  private same(other: AddressRangeSet): void {
    if (other.family !== this.family)
      throw new RangeError(`IPv${this.family} and IPv${other.family} address sets do not mix`)
  }
}
