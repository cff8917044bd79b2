/**
 * @module Ascending integer lists (rule indexes, list ids): operations that keep them
 * ascending. Pure.
 */

/**
 * The elements two ascending, duplicate-free lists share, ascending: a linear merge walk,
 * O(|a| + |b|).
 *
 * @param a - ascending integers without repeats (a `number[]` or a typed array).
 * @param b - the same.
 * @returns a new array; empty when either list is.
 * @throws never. Unsorted input gives a subset of the intersection, not an error.
 * @remarks Used by the policy index (the rules a (from-list, to-list) pair of an address pair
 *   shares) and by the nftables compiler (the rules an interval and a host both match).
 */
export function intersectSorted(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  const out: number[] = []
  let i = 0
  let j = 0
  while (i < a.length && j < b.length) {
    const x = a[i] as number
    const y = b[j] as number
    if (x === y) {
      out.push(x)
      i++
      j++
    } else if (x < y) i++
    else j++
  }
  return out
}
