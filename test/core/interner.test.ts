import { describe, expect, it } from 'vitest'
import { Interner } from '../../src/core/index.js'

describe('Interner', () => {
  it('gives ids dense from 0 in order of first sight, the same id for the same text', () => {
    const t = new Interner()
    expect(t.size).toBe(0)
    expect(['10.0.0.1', 'web', '10.0.0.1', '', 'web', '::1'].map((s) => t.id(s))).toEqual([
      0, 1, 0, 2, 1, 3,
    ])
    expect(t.size).toBe(4)
    expect(t.texts).toEqual(['10.0.0.1', 'web', '', '::1'])
  })

  it('text(id) is the text that got the id; an id it never gave is a RangeError', () => {
    const t = new Interner()
    t.id('a')
    t.id('b')
    expect(t.text(0)).toBe('a')
    expect(t.text(1)).toBe('b')
    for (const bad of [2, -1, 0.5, Number.NaN]) expect(() => t.text(bad)).toThrow(RangeError)
  })

  it('keeps one texts array for its life, grown in place', () => {
    const t = new Interner()
    const texts = t.texts
    t.id('x')
    expect(t.texts).toBe(texts)
    expect(texts).toEqual(['x'])
  })
})
