/**
 * @module JSON output in pieces (`jsonChunks`, src/cli/output.ts): the same text as
 * `JSON.stringify(value, null, 2)`, never one string for a large document (V8 caps a string at
 * about 512 MiB: `discover -o json` of a 436 000-edge map failed with "Invalid string length").
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { jsonChunks } from '../../src/cli/output.js'
import { SEED } from '../helpers/model.js'

/** Values as command output holds them: JSON, plus what JSON.stringify leaves out or converts. */
const outputValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.jsonValue({ maxDepth: 2 }),
    fc.constant(undefined),
    fc.constant(() => 1),
    fc.date({ noInvalidDate: true }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 4 }), tie('value'), { maxKeys: 4 }),
  ),
})).value

describe('jsonChunks', () => {
  it('joined, is JSON.stringify(value, null, 2) at every depth of taking apart', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.array(outputValue), fc.dictionary(fc.string(), outputValue)),
        fc.integer({ min: 0, max: 4 }),
        (v, levels) => {
          expect([...jsonChunks(v, levels)].join('')).toBe(JSON.stringify(v, null, 2))
        },
      ),
      { seed: SEED, numRuns: 500 },
    )
  })

  it("a map's edges are pieces of their own: no piece grows with the number of edges", () => {
    const edge = (i: number) => ({
      src: `w${i}`,
      dst: `w${i + 1}`,
      port: i % 65536,
      profile: {
        hourOfWeek: new Array<number>(168).fill(i),
        dayOfMonth: new Array<number>(31).fill(1),
      },
    })
    const doc = {
      window: null,
      timeZone: 'UTC',
      edges: Array.from({ length: 20_000 }, (_, i) => edge(i)),
    }
    let longest = 0
    let text = ''
    for (const p of jsonChunks(doc)) {
      longest = Math.max(longest, p.length)
      text += p
    }
    expect(text).toBe(JSON.stringify(doc, null, 2))
    // one edge pretty-printed is about 2.5 KB; the document about 50 MB
    expect(longest).toBeLessThan(4096)
    expect(text.length).toBeGreaterThan(20_000 * 2000)
  })
})
