/**
 * @module Tests of AddressRangeSet: every operation against a naive model (a set of every
 * address, in a 64-address window at the bottom of IPv4, the top of IPv4 and the top of IPv6),
 * CIDR conversion both ways, and the family guard.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  AddressRangeSet,
  parseCidr,
  type AddressInterval,
  type Cidr,
  type IpFamily,
} from '../../src/core/index.js'
import { SEED } from '../helpers/model.js'

const WINDOW = 64n
/** Windows of 64 addresses: family and first address. */
const WINDOWS: readonly [IpFamily, bigint][] = [
  [4, 0n],
  [4, (1n << 32n) - WINDOW],
  [6, (1n << 128n) - WINDOW],
]

const windowArb = fc.constantFrom(...WINDOWS)
const rangesArb = fc.array(
  fc.tuple(fc.bigInt(0n, WINDOW - 1n), fc.bigInt(0n, WINDOW - 1n)).map(([a, b]) => ({
    lo: a < b ? a : b,
    hi: a < b ? b : a,
  })),
  { maxLength: 6 },
)

/** The naive model: every address of the window the ranges hold. */
const model = (ranges: readonly AddressInterval[], base: bigint): Set<bigint> => {
  const s = new Set<bigint>()
  for (const r of ranges) for (let v = r.lo; v <= r.hi; v++) s.add(base + v)
  return s
}
const members = (set: AddressRangeSet, base: bigint): Set<bigint> => {
  const s = new Set<bigint>()
  for (let v = base; v < base + WINDOW; v++) if (set.has(v)) s.add(v)
  return s
}
const shift = (ranges: readonly AddressInterval[], base: bigint): AddressInterval[] =>
  ranges.map((r) => ({ lo: base + r.lo, hi: base + r.hi }))
const sorted = (s: Set<bigint>): bigint[] => [...s].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
/** The set's ranges are sorted, disjoint and never adjacent, and say what `has` says. */
const normalised = (set: AddressRangeSet, base: bigint): void => {
  set.ranges.forEach((r, i) => {
    expect(r.lo <= r.hi).toBe(true)
    const next = set.ranges[i + 1]
    if (next) expect(r.hi + 1n < next.lo).toBe(true)
  })
  expect(sorted(members(set, base))).toEqual(sorted(model(set.ranges, 0n)))
}

describe('AddressRangeSet', () => {
  it('of, union, intersect, minus, covers, equals agree with the naive model', () => {
    fc.assert(
      fc.property(windowArb, rangesArb, rangesArb, ([family, base], ra, rb) => {
        const a = AddressRangeSet.of(family, shift(ra, base))
        const b = AddressRangeSet.of(family, shift(rb, base))
        const ma = model(ra, base)
        const mb = model(rb, base)
        normalised(a, base)
        expect(sorted(members(a, base))).toEqual(sorted(ma))
        expect(a.size).toBe(BigInt(ma.size))
        expect(a.isEmpty).toBe(ma.size === 0)
        const u = a.union(b)
        const i = a.intersect(b)
        const m = a.minus(b)
        for (const s of [u, i, m]) normalised(s, base)
        expect(sorted(members(u, base))).toEqual(sorted(new Set([...ma, ...mb])))
        expect(sorted(members(i, base))).toEqual(sorted(ma).filter((v) => mb.has(v)))
        expect(sorted(members(m, base))).toEqual(sorted(ma).filter((v) => !mb.has(v)))
        expect(a.covers(b)).toBe([...mb].every((v) => ma.has(v)))
        expect(a.equals(b)).toBe(ma.size === mb.size && [...ma].every((v) => mb.has(v)))
      }),
      { seed: SEED, numRuns: 500 },
    )
  })

  it('toCidrs gives the set exactly, in the fewest blocks (no two siblings left unmerged)', () => {
    fc.assert(
      fc.property(windowArb, rangesArb, ([family, base], ra) => {
        const a = AddressRangeSet.of(family, shift(ra, base))
        const cidrs = a.toCidrs().map((t) => parseCidr(t) as Cidr)
        expect(AddressRangeSet.fromCidrs(family, cidrs).equals(a)).toBe(true)
        // blocks ascending and disjoint; two blocks of one size that are siblings (they make
        // the parent block) would be one block fewer
        const bits = family === 4 ? 32 : 128
        cidrs.forEach((c, k) => {
          const next = cidrs[k + 1]
          if (!next) return
          const size = 1n << BigInt(bits - c.prefix)
          expect(c.base + size <= next.base).toBe(true)
          const siblings =
            next.prefix === c.prefix && c.base + size === next.base && c.base % (2n * size) === 0n
          expect(siblings).toBe(false)
        })
      }),
      { seed: SEED, numRuns: 500 },
    )
  })

  it('coverWithin: holds the set, stays within set ∪ within, fewest blocks (brute force)', () => {
    fc.assert(
      fc.property(windowArb, rangesArb, rangesArb, ([family, base], ra, rb) => {
        const a = AddressRangeSet.of(family, shift(ra, base))
        const within = AddressRangeSet.of(family, shift(rb, base))
        const blocks = a.coverWithin(within)
        const got = AddressRangeSet.fromCidrs(family, blocks)
        expect(got.covers(a)).toBe(true)
        expect(a.union(within).covers(got)).toBe(true)
        expect(blocks.reduce((n, c) => n + AddressRangeSet.fromCidrs(family, [c]).size, 0n)).toBe(
          got.size,
        )
        expect(blocks.length).toBeLessThanOrEqual(a.toCidrs().length)
        if (within.isEmpty) expect(blocks.map((c) => c.text)).toEqual(a.toCidrs())
        // naive optimum: aligned blocks are nested or disjoint, so the blocks lying in
        // set ∪ within that no larger such block holds are disjoint, and every cover needs one
        // block inside each of them that meets the set: their count is the fewest possible
        const inUpper = new Set([...model(ra, base), ...model(rb, base)])
        const kept: [bigint, bigint][] = []
        for (let size = WINDOW; size >= 1n; size /= 2n)
          for (let lo = base; lo < base + WINDOW; lo += size) {
            const addrs = Array.from({ length: Number(size) }, (_, k) => lo + BigInt(k))
            if (!addrs.every((v) => inUpper.has(v))) continue
            if (kept.some(([klo, ksize]) => klo <= lo && lo < klo + ksize)) continue
            kept.push([lo, size])
          }
        const ma = model(ra, base)
        const optimum = kept.filter(([lo, size]) =>
          Array.from({ length: Number(size) }, (_, k) => lo + BigInt(k)).some((v) => ma.has(v)),
        ).length
        expect(blocks.length).toBe(optimum)
      }),
      { seed: SEED, numRuns: 500 },
    )
  })

  it('the whole space is one /0; fromCidrs ignores the other family', () => {
    expect(AddressRangeSet.all(4).toCidrs()).toEqual(['0.0.0.0/0'])
    expect(AddressRangeSet.all(6).toCidrs()).toEqual(['::/0'])
    expect(AddressRangeSet.all(4).toCidrs(1)).toEqual(['0.0.0.0/1', '128.0.0.0/1'])
    const c = (t: string): Cidr => parseCidr(t) as Cidr
    const v4 = AddressRangeSet.fromCidrs(4, [c('10.0.0.0/25'), c('10.0.0.128/25'), c('::/0')])
    expect(v4.toCidrs()).toEqual(['10.0.0.0/24'])
    expect(AddressRangeSet.all(4).minus(v4).toCidrs()).toHaveLength(24)
  })

  it('sets of two families do not mix; values outside the family are refused', () => {
    expect(() => AddressRangeSet.all(4).union(AddressRangeSet.all(6))).toThrow(RangeError)
    expect(() => AddressRangeSet.of(4, [{ lo: 0n, hi: 1n << 32n }])).toThrow(RangeError)
  })
})
