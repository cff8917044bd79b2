/**
 * DeniedEdgeTable (src/policy/denied-edges.ts) against a plain model: one object per edge with a
 * SeenRange, a Set of rules and a sorted array of examples, as `Simulator` kept denied edges
 * before they became columns. Random operations (fixed seed), small key and place ranges so that
 * edges, ties of example places and mixed kinds recur; plus growth past a page and the hash
 * table's resizes.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SeenRange, type FlowSource } from '../../src/core/index.js'
import { DeniedEdgeTable, type CountKind, type ExampleRow } from '../../src/policy/denied-edges.js'
import { SEED } from '../helpers/model.js'

interface Op {
  readonly src: number
  readonly dst: number
  readonly service: number
  readonly kind: CountKind
  readonly n: number
  readonly first: number
  readonly last: number
  readonly rule: number
  readonly examples: readonly {
    readonly source: FlowSource
    readonly start: number
    readonly src: string
    readonly dst: string
  }[]
}

/** An example as the model keeps it (simulate's FlowExample). */
type ModelExample = ExampleRow

interface ModelEdge {
  readonly key: readonly [number, number, number]
  readonly counts: [number, number, number, number]
  readonly seen: SeenRange
  readonly rules: number[]
  readonly examples: ModelExample[]
}

/** The order `Simulator` documents: start, file, line, record (absent first). */
function exampleOrder(a: ModelExample, b: ModelExample): number {
  return (
    a.start - b.start ||
    (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
    (a.line ?? -1) - (b.line ?? -1) ||
    (a.record ?? -1) - (b.record ?? -1)
  )
}

/** The model: what Simulator did before the table, one object per edge. */
function model(ops: readonly Op[], max: number): ModelEdge[] {
  const edges = new Map<string, ModelEdge>()
  for (const op of ops) {
    const k = `${op.src},${op.dst},${op.service}`
    let e = edges.get(k)
    if (e === undefined) {
      e = {
        key: [op.src, op.dst, op.service],
        counts: [0, 0, 0, 0],
        seen: new SeenRange(),
        rules: [op.rule],
        examples: [],
      }
      edges.set(k, e)
    }
    e.counts[op.kind] += op.n
    e.seen.add(op.first, op.last, op.n)
    if (!e.rules.includes(op.rule)) e.rules.push(op.rule)
    for (const x of max > 0 ? op.examples : []) {
      const cand: ModelExample = {
        file: x.source.file,
        ...(x.source.line !== undefined ? { line: x.source.line } : {}),
        ...(x.source.record !== undefined ? { record: x.source.record } : {}),
        format: x.source.format,
        src: x.src,
        dst: x.dst,
        start: x.start,
      }
      const ex = e.examples
      const last = ex[ex.length - 1]
      if (ex.length >= max && last !== undefined && exampleOrder(cand, last) >= 0) continue
      let i = ex.length
      while (i > 0 && exampleOrder(ex[i - 1] as ModelExample, cand) > 0) i--
      ex.splice(i, 0, cand)
      if (ex.length > max) ex.pop()
    }
  }
  return [...edges.values()]
}

const sourceArb: fc.Arbitrary<FlowSource> = fc.record(
  {
    format: fc.constantFrom('csv', 'aws-vpc'),
    file: fc.constantFrom('a.csv', 'b.csv', 'c.log'),
    line: fc.integer({ min: 1, max: 4 }),
    record: fc.integer({ min: 0, max: 3 }),
  },
  { requiredKeys: ['format', 'file'] },
)

const opArb: fc.Arbitrary<Op> = fc.record({
  src: fc.integer({ min: 0, max: 3 }),
  dst: fc.integer({ min: 0, max: 3 }),
  service: fc.constantFrom(6 * 65_536 + 443, 17 * 65_536 + 53, 255 * 65_536 + 65_535, 0),
  kind: fc.constantFrom<CountKind>(0, 1, 2, 3),
  n: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constant(2 ** 40)),
  // 0 is no real time (core NO_TIME_MS)
  first: fc.constantFrom(0, 1000, 2000, 3000),
  last: fc.constantFrom(1500, 2500, 4000),
  rule: fc.integer({ min: -1, max: 2 }),
  examples: fc.array(
    fc.record({
      source: sourceArb,
      start: fc.constantFrom(0, 1000, 2000),
      src: fc.constantFrom('10.0.0.1', '2001:db8::1'),
      dst: fc.constantFrom('10.0.0.2', '198.51.100.7'),
    }),
    { maxLength: 3 },
  ),
})

function tableOf(ops: readonly Op[], max: number): DeniedEdgeTable {
  const t = new DeniedEdgeTable(max)
  for (const op of ops) {
    const e = t.edge(op.src, op.dst, op.service, op.kind, op.rule)
    t.addFlows(e, op.kind, op.n)
    t.addSeen(e, op.first, op.last, op.n)
    t.addDeniedBy(e, op.rule)
    for (const x of op.examples) t.addExample(e, x.source, x.start, x.src, x.dst)
  }
  return t
}

describe('DeniedEdgeTable ≡ one object per edge (differential, fixed seed)', () => {
  it('same edges in the same order, counts, first/last seen, rules and examples', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 80 }),
        fc.constantFrom(0, 1, 2, 3, 5),
        (ops, max) => {
          const want = model(ops, max)
          const t = tableOf(ops, max)
          expect(t.size).toBe(want.length)
          for (const [e, m] of want.entries()) {
            expect([t.src(e), t.dst(e), t.service(e)]).toEqual(m.key)
            expect(t.counts(e)).toEqual(m.counts)
            const span = m.seen.span()
            const seen = t.seen(e)
            expect(
              seen.first <= seen.last ? { first: seen.first, last: seen.last } : undefined,
            ).toEqual(span)
            expect(seen.untimed).toBe(m.seen.untimed)
            expect(t.rules(e)[0]).toBe(m.rules[0])
            expect([...t.rules(e)].sort()).toEqual([...m.rules].sort())
            expect(t.examples(e)).toStrictEqual(m.examples)
          }
        },
      ),
      { seed: SEED, numRuns: 500 },
    )
  })

  it('finds every edge again across pages and resizes of its hash table', () => {
    const t = new DeniedEdgeTable(1)
    const keys: [number, number, number][] = []
    for (let i = 0; i < 20_000; i++) keys.push([i % 97, (i * 7919) % 20_011, (i % 3) * 65_536 + i])
    for (const [i, [s, d, v]] of keys.entries()) {
      expect(t.edge(s, d, v, 0, -1)).toBe(i)
      t.addFlows(i, 0, 1)
    }
    expect(t.size).toBe(keys.length)
    for (const [i, [s, d, v]] of keys.entries()) expect(t.edge(s, d, v, 1, 0)).toBe(i)
    expect(t.size).toBe(keys.length)
    expect(t.counts(12_345)).toEqual([1, 0, 0, 0])
    expect(t.src(19_999)).toBe(19_999 % 97)
  })
})
