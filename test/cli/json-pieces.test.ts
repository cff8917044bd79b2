/**
 * @module JSON and YAML output in pieces (`jsonChunks`, `yamlChunks`, src/cli/output.ts): the
 * same text as `toJson(value)` (`JSON.stringify(value, null, 2)` with arrays of numbers on one
 * line) and `toYaml(value)`, never one string for a large document (V8 caps a string at about
 * 512 MiB: `discover -o json` of a 436 000-edge map failed with "Invalid string length").
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { jsonChunks, lazyArray, toJson, toYaml, yamlChunks } from '../../src/cli/output.js'
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

/** Values with arrays of numbers (integers, fractions, exponents, negative zero, NaN) in them. */
const numbersValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.array(fc.oneof(fc.integer(), fc.double(), fc.constantFrom(-0, 1e21, 5e-7, -1.5e-300))),
    fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 3 }), fc.constant(null))),
    fc.string({ maxLength: 6 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 4 }), tie('value'), { maxKeys: 4 }),
  ),
})).value

/**
 * toJson as it was written before 2026-11-25, the plain computation: `JSON.stringify(value, null,
 * 2)`, then each array of numbers (one a line) joined onto one line.
 */
function plainToJson(value: unknown): string | undefined {
  const num = String.raw`-?\d+(?:\.\d+)?(?:e[+-]\d+)?`
  const numberArray = new RegExp(String.raw`\[\n *${num}(?:,\n *${num})*\n *\]`, 'g')
  const text = JSON.stringify(value, null, 2) as string | undefined
  return text?.replace(numberArray, (a) => a.replace(/\n */g, '').replaceAll(',', ', '))
}

/** What else JSON.stringify reads: toJSON (given its key), boxed primitives, array proxies. */
const unusualValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(fc.integer(), fc.double(), fc.constantFrom(-0, NaN, Infinity, 1e21, 5e-7)),
    fc.constantFrom(null, true, undefined, Symbol('s'), 'x\n"y"', '\u2028', '\ud800'),
    fc.array(fc.oneof(fc.double(), fc.constant(-0)), { maxLength: 5 }),
    tie('value').map((v) => ({ toJSON: (key: string) => ({ key, v }) })),
    tie('value').map((v) => ({ toJSON: () => v })),
    fc.double().map((x) => Object(x) as object),
    fc.string({ maxLength: 3 }).map((x) => Object(x) as object),
    fc.array(tie('value'), { maxLength: 4 }).map((a) => lazyArray(a.length, (i) => a[i])),
    fc.array(fc.integer(), { maxLength: 4 }).map((a) => lazyArray(a.length, (i) => a[i])),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 4 }), tie('value'), { maxKeys: 4 }),
  ),
})).value

describe('toJson', () => {
  it('is the plain computation (JSON.stringify, number arrays joined onto one line) to the byte', () => {
    fc.assert(
      fc.property(fc.oneof(outputValue, numbersValue, unusualValue), (v) => {
        expect(toJson(v)).toBe(plainToJson(v))
      }),
      { seed: SEED, numRuns: 3000 },
    )
    const cycle: Record<string, unknown> = { a: [1] }
    cycle['b'] = { c: cycle }
    expect(() => toJson(cycle)).toThrow(TypeError)
  })

  it('parses to what JSON.stringify(value) parses to', () => {
    fc.assert(
      fc.property(fc.oneof(outputValue, numbersValue), (v) => {
        const text = toJson(v)
        const plain = JSON.stringify(v) as string | undefined
        if (plain === undefined) expect(text).toBeUndefined()
        else expect(JSON.parse(text ?? '') as unknown).toEqual(JSON.parse(plain) as unknown)
      }),
      { seed: SEED, numRuns: 1000 },
    )
  })

  it("an edge's time profile is one line each, and the document otherwise pretty-printed", () => {
    const edge = mapDoc(1).edges[0]
    expect(toJson(edge)).toBe(
      [
        '{',
        '  "src": "w0",',
        '  "dst": "w1",',
        '  "port": 0,',
        '  "profile": {',
        `    "hourOfWeek": [${new Array(168).fill(0).join(', ')}],`,
        `    "dayOfMonth": [${new Array(31).fill(1).join(', ')}]`,
        '  }',
        '}',
      ].join('\n'),
    )
    expect(toJson({ a: [1, null, 2], b: [], c: [[1, 2], ['x']] })).toBe(
      [
        '{',
        '  "a": [',
        '    1,',
        '    null,',
        '    2',
        '  ],',
        '  "b": [],',
        '  "c": [',
        '    [1, 2],',
        '    [',
        '      "x"',
        '    ]',
        '  ]',
        '}',
      ].join('\n'),
    )
    // a string that looks like a number array stays a string
    const tricky = { s: '[\n 1,\n 2\n]' }
    expect(JSON.parse(toJson(tricky) ?? '') as unknown).toEqual(tricky)
  })
})

describe('jsonChunks', () => {
  it('joined, is toJson(value) at every depth of taking apart', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(fc.oneof(outputValue, numbersValue)),
          fc.dictionary(fc.string(), fc.oneof(outputValue, numbersValue)),
        ),
        fc.integer({ min: 0, max: 4 }),
        (v, levels) => {
          expect([...jsonChunks(v, levels)].join('')).toBe(toJson(v))
        },
      ),
      { seed: SEED, numRuns: 500 },
    )
  })

  it('a boxed primitive, or a toJSON value, is written as JSON writes it, at the top and as an element', () => {
    const values: unknown[] = [
      new Number(5),
      new String('x'),
      new Boolean(false),
      [new Number(1), new Number(2)],
      { a: new String('y'), b: [new Boolean(true)] },
      [{ toJSON: () => 3 }, 4],
      { c: [{ toJSON: () => 'z' }, 1] },
    ]
    for (const v of values) {
      expect([...jsonChunks(v)].join('')).toBe(toJson(v))
      expect(JSON.parse([...jsonChunks(v)].join(''))).toEqual(JSON.parse(JSON.stringify(v)))
      expect([...yamlChunks(v)].join('')).toBe(toYaml(v))
    }
    expect([...jsonChunks(new Number(5))].join('')).toBe('5')
  })

  it("a map's edges are pieces of their own: no piece grows with the number of edges", () => {
    const doc = mapDoc(20_000)
    let longest = 0
    let text = ''
    for (const p of jsonChunks(doc)) {
      longest = Math.max(longest, p.length)
      text += p
    }
    expect(text).toBe(toJson(doc))
    expect(JSON.parse(text) as unknown).toEqual(doc)
    // one edge is about 800 bytes (2.5 KB with a profile number a line); the document 16 MB
    expect(longest).toBeLessThan(2048)
    expect(text.length).toBeGreaterThan(20_000 * 500)
    expect(text.split('\n').length).toBe(6 + 20_000 * 9)
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

  it('parses to what JSON.stringify(value) parses to, arrays of numbers included', () => {
    fc.assert(
      fc.property(fc.oneof(outputValue, numbersValue), (v) => {
        const plain = JSON.stringify(v) as string | undefined
        expect(parseYaml(toYaml(v)) as unknown).toEqual(
          plain === undefined ? null : (JSON.parse(plain) as unknown),
        )
        expect([...yamlChunks(v)].join('')).toBe(toYaml(v))
      }),
      { seed: SEED, numRuns: 1000 },
    )
  })

  it("an edge's time profile is one line each, however long; the rest as before", () => {
    const edge = mapDoc(1).edges[0]
    expect(toYaml(edge)).toBe(
      [
        'src: w0',
        'dst: w1',
        'port: 0',
        'profile:',
        `  hourOfWeek: [${new Array(168).fill(0).join(', ')}]`,
        `  dayOfMonth: [${new Array(31).fill(1).join(', ')}]`,
        '',
      ].join('\n'),
    )
    // only arrays of numbers alone: with null or a string, or empty, one item a line as before
    const long = 'lorem ipsum '.repeat(10).trim()
    const doc = { a: [1, null, 2], b: [], c: [[1, 2.5, -3e-7], ['x']], d: [1e21], s: long, n: 7 }
    expect(toYaml(doc)).toBe(
      [
        'a:',
        '  - 1',
        '  - null',
        '  - 2',
        'b: []',
        'c:',
        '  - [1, 2.5, -3e-7]',
        '  - - x',
        'd: [1e+21]',
        `s: lorem ipsum lorem ipsum lorem ipsum lorem ipsum lorem ipsum lorem ipsum lorem`,
        '  ipsum lorem ipsum lorem ipsum lorem ipsum',
        'n: 7',
        '',
      ].join('\n'),
    )
    expect(parseYaml(toYaml(doc)) as unknown).toEqual(doc)
    expect([...yamlChunks([3, 1])]).toEqual(['[3, 1]\n'])
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
