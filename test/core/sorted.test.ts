import { describe, expect, it } from 'vitest'
import { intersectSorted } from '../../src/core/index.js'

describe('intersectSorted', () => {
  it('keeps the shared elements, ascending', () => {
    expect(intersectSorted([1, 3, 5, 7], [2, 3, 4, 7, 9])).toEqual([3, 7])
    expect(intersectSorted(Int32Array.from([0, 2]), [0, 1, 2])).toEqual([0, 2])
  })
  it('is empty when either side is', () => {
    expect(intersectSorted([], [1])).toEqual([])
    expect(intersectSorted([1], [])).toEqual([])
  })
})
