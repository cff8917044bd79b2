/**
 * @module `windowWhere` (src/store/store.ts): the one time-window clause that the store's reads,
 * its grouping and discover's queries share.
 */
import { describe, expect, it } from 'vitest'
import { windowWhere } from '../../src/store/index.js'

describe('windowWhere', () => {
  it('no bound: no clause', () => {
    expect(windowWhere({}, 'start_ms')).toEqual({ where: '', params: [] })
  })

  it('half-open on the column given, bounds rounded up to a whole millisecond', () => {
    expect(windowWhere({ since: 10.2, until: 20 }, 'fr.start_ms')).toEqual({
      where: 'WHERE fr.start_ms >= ? AND fr.start_ms < ? AND fr.start_ms <> 0',
      params: [11, 20],
    })
  })

  it('leaves out flows with no real time (start 0) under any bound', () => {
    expect(windowWhere({ until: 5 }, 'start_ms')).toEqual({
      where: 'WHERE start_ms < ? AND start_ms <> 0',
      params: [5],
    })
  })
})
