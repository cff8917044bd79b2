/**
 * @module JSON and YAML output in pieces (`jsonChunks`, `yamlChunks`, src/cli/output.ts): the
 * same text as `JSON.stringify(value, null, 2)` and `toYaml(value)`, never one string for a
 * large document (V8 caps a string at about 512 MiB: `discover -o json` of a 436 000-edge map
 * failed with "Invalid string length").
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { jsonChunks, toYaml, yamlChunks } from '../../src/cli/output.js'
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

/** A dependency map's shape: a few scalars and one long array of edges. */
function mapDoc(edges: number) {
  const edge = (i: number) => ({
    src: `w${i}`,
    dst: `w${i + 1}`,
    port: i % 65536,
    profile: {
      hourOfWeek: new Array<number>(168).fill(i),
      dayOfMonth: new Array<number>(31).fill(1),
    },
  })
  return { window: null, timeZone: 'UTC', edges: Array.from({ length: edges }, (_, i) => edge(i)) }
}

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
    const doc = mapDoc(20_000)
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

describe('yamlChunks', () => {
  it('joined, is toYaml(value): top-level arrays, objects and scalars', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.array(outputValue), fc.dictionary(fc.string(), outputValue), outputValue),
        (v) => {
          expect([...yamlChunks(v)].join('')).toBe(toYaml(v))
        },
      ),
      { seed: SEED, numRuns: 500 },
    )
  })

  it('long strings fold where they fold in the whole document, at every depth', () => {
    const words = fc.array(fc.constantFrom('lorem', 'ipsum', 'a', 'dolor-sit', ' ', '#', ': '), {
      minLength: 20,
      maxLength: 60,
    })
    fc.assert(
      fc.property(words, words, (a, b) => {
        const edge = { reason: b.join(' '), deep: { why: a.join(' '), what: [b.join(' ')] } }
        const doc = {
          note: a.join(' '),
          edges: [edge, edge, { ...edge, reason: a.join(' ') }],
          byRule: { first: edge, second: { why: b.join(' ') } },
        }
        expect([...yamlChunks(doc)].join('')).toBe(toYaml(doc))
      }),
      { seed: SEED, numRuns: 100 },
    )
  })

  it('a key the yaml package writes as "? key" is written whole, still the same text', () => {
    const doc = { ['k'.repeat(1100)]: [1, 2, 3], edges: [{ a: 1 }, { a: 2 }] }
    expect([...yamlChunks(doc)].join('')).toBe(toYaml(doc))
  })

  it("a map's edges are pieces of their own: no piece grows with the number of edges", () => {
    const doc = mapDoc(2_000)
    const pieces = [...yamlChunks(doc)]
    expect(pieces.join('')).toBe(toYaml(doc))
    expect(pieces.length).toBe(2 + 2_000)
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan(4096)
  })
})
