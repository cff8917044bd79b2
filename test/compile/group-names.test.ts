/**
 * @module Tests of the naming mechanism of the cloud targets' groups (src/compile/group-names.ts):
 * which group of a split label set keeps the plain name, and unique names that depend on their
 * own identity only (readable, else cut and hashed; numbered only for one 32-bit hash).
 */
import { describe, expect, it } from 'vitest'
import {
  fnv1a,
  groupParts,
  hashTag,
  uniqueNames,
  type NameRules,
} from '../../src/compile/group-names.js'
import { labelSet } from '../../src/core/index.js'

const RULES: NameRules = {
  max: 20,
  separator: '.',
  fold: (n) => n.toLowerCase(),
  cut: (text, n) => text.slice(0, n),
}

describe('groupParts', () => {
  const web = labelSet({ role: 'web' })
  it('the fewest rules, then the most members, then the first member keeps the plain name', () => {
    expect(
      groupParts([
        { labels: web, members: ['a'], rules: 2 },
        { labels: web, members: ['b'], rules: 1 },
        { labels: labelSet({ role: 'db' }), members: ['c'], rules: 9 },
      ]),
    ).toEqual(['a', undefined, undefined])
    expect(
      groupParts([
        { labels: web, members: ['a'], rules: 1 },
        { labels: web, members: ['b', 'c'], rules: 1 },
      ]),
    ).toEqual(['a', undefined])
    expect(
      groupParts([
        { labels: web, members: ['b'], rules: 1 },
        { labels: web, members: ['a'], rules: 1 },
      ]),
    ).toEqual(['b', undefined])
  })
})

describe('uniqueNames', () => {
  it('readable when it fits; cut and hashed when not; the same alone as among others', () => {
    const items = [
      { identity: 'x', readable: 'bh-x', lossy: 'bh-x' },
      { identity: 'long', readable: 'bh-' + 'y'.repeat(30), lossy: 'bh-' + 'y'.repeat(30) },
      { identity: 'bad', readable: undefined, lossy: 'bh-b_d' },
    ]
    const names = uniqueNames(items, RULES)
    expect(names).toEqual(['bh-x', `bh-yyyyyyyy.${hashTag('long')}`, `bh-b_d.${hashTag('bad')}`])
    for (const n of names) expect(n.length).toBeLessThanOrEqual(RULES.max)
    items.forEach((it, i) => expect(uniqueNames([it], RULES)).toEqual([names[i]]))
  })

  it('names that fold alike: the first identity keeps the readable one, the others are hashed', () => {
    const names = uniqueNames(
      [
        { identity: 'b', readable: 'bh-A', lossy: 'bh-A' },
        { identity: 'a', readable: 'bh-a', lossy: 'bh-a' },
      ],
      RULES,
    )
    expect(names).toEqual([`bh-A.${hashTag('b')}`, 'bh-a'])
  })

  it('two identities of one 32-bit hash are numbered apart in identity order', () => {
    // found by search: FNV-1a collides on these two
    expect(fnv1a('g115728')).toBe(fnv1a('g2169004'))
    const names = uniqueNames(
      [
        { identity: 'g2169004', readable: undefined, lossy: 'bh-g' },
        { identity: 'g115728', readable: undefined, lossy: 'bh-g' },
      ],
      RULES,
    )
    expect(names).toEqual([`bh-g.${hashTag('g115728')}-2`, `bh-g.${hashTag('g115728')}`])
    expect(new Set(names).size).toBe(2)
  })
})
