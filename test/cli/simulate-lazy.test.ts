/**
 * `simulate` writes its document from the Simulator's denied-edge columns (`simulateOutputOf`,
 * `Simulator.deniedEdges`, `lazyArray`) instead of an object per edge: the same bytes in every
 * format as the document with its denied edges as a plain array, and the same edges, in the
 * report's order, as `report()` lists.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Flow, FlowDirection } from '../../src/core/index.js'
import {
  simulateOutput,
  simulateOutputOf,
  simulatePieces,
  type SimulateOutput,
} from '../../src/cli/commands/simulate.js'
import { jsonLines, lazyArray, yamlChunks } from '../../src/cli/output.js'
import { PolicyIndex } from '../../src/policy/policy-index.js'
import { Simulator, type DeniedEdge } from '../../src/policy/simulate.js'
import {
  groupTupleArb,
  inventoryArb,
  policySetArb,
  SEED,
  TIMES,
  tupleArb,
} from '../helpers/model.js'

const flowsArb: fc.Arbitrary<Flow[]> = fc.array(
  fc
    .tuple(
      fc.oneof({ weight: 4, arbitrary: tupleArb }, { weight: 1, arbitrary: groupTupleArb }),
      fc.constantFrom<FlowDirection>('client-to-server', 'server-to-client', 'unknown'),
      fc.constantFrom<Flow['observedAction']>('accept', 'reject'),
      fc.nat(3),
    )
    .map(([t, direction, observedAction, line]): Flow => ({
      src: t.src,
      dst: t.dst,
      srcPort: t.srcPort ?? 0,
      dstPort: t.dstPort,
      protocol: t.protocol,
      start: t.at,
      end: t.at + 1000,
      packets: 1,
      bytes: 60,
      observedAction,
      direction,
      source: { format: 'csv', file: `f${line % 2}.csv`, line: line + 2 },
    })),
  { minLength: 1, maxLength: 80 },
)

const FED = { from: 'files' as const, what: 'f0.csv f1.csv' }
const INPUT = { files: ['f0.csv', 'f1.csv'], format: 'auto' as const }

/** Every format's text of a document. */
function texts(o: SimulateOutput): string[] {
  return [
    [...jsonLines(o)].join(''),
    [...yamlChunks(o)].join(''),
    ...['text', 'md', 'csv'].map((f) => [...simulatePieces(o, f)].join('')),
  ]
}

/** The report's order (README "bulkhead simulate"): outcome, flows, names, protocol, port. */
const RANK = { blocked: 3, 'would-be-blocked': 2, unenforced: 1, 'already-rejected': 0 }
function inOrder(a: DeniedEdge, b: DeniedEdge): boolean {
  const c =
    RANK[b.outcome] - RANK[a.outcome] ||
    b.flows - a.flows ||
    (a.src.name < b.src.name ? -1 : a.src.name > b.src.name ? 1 : 0) ||
    (a.dst.name < b.dst.name ? -1 : a.dst.name > b.dst.name ? 1 : 0) ||
    a.protocol - b.protocol ||
    a.port - b.port
  return c <= 0
}

describe('simulate output from the denied-edge columns', () => {
  it('the same bytes in every format as the document with a plain array (fixed seed)', () => {
    let edges = 0
    fc.assert(
      fc.property(
        inventoryArb,
        policySetArb,
        flowsArb,
        fc.constantFrom(...TIMES),
        fc.boolean(),
        (inv, ps, flows, now, asEnforced) => {
          const index = PolicyIndex.build(inv, ps, now)
          const sim = new Simulator(index, inv, now, { asEnforced, policySet: ps })
          for (const f of flows) sim.add(f)
          const lazy = simulateOutputOf(sim, FED, INPUT)
          const report = sim.report()
          const plain: SimulateOutput = { ...lazy, denied: [...lazy.denied] }
          expect(Array.isArray(lazy.denied)).toBe(true)
          expect(lazy.denied.length).toBe(report.denied.length)
          expect(texts(lazy)).toEqual(texts(plain))
          expect(texts(simulateOutput(report, FED, INPUT))).toEqual(texts(plain))
          const list = sim.deniedEdges()
          expect(Array.from({ length: list.length }, (_, k) => list.at(k))).toEqual(report.denied)
          for (let k = 1; k < report.denied.length; k++)
            expect(
              inOrder(report.denied[k - 1] as DeniedEdge, report.denied[k] as DeniedEdge),
            ).toBe(true)
          edges += report.denied.length
        },
      ),
      { seed: SEED, numRuns: 150 },
    )
    expect(edges).toBeGreaterThan(500)
  })

  it('lazyArray reads as the array of its elements', () => {
    const made: number[] = []
    const a = lazyArray(3, (i) => {
      made.push(i)
      return { i, s: `e${i}` }
    })
    const plain = [0, 1, 2].map((i) => ({ i, s: `e${i}` }))
    expect(made).toEqual([]) // nothing made until read
    expect(Array.isArray(a)).toBe(true)
    expect(a.length).toBe(3)
    expect(a[3]).toBeUndefined()
    expect([...a]).toEqual(plain)
    expect(a.map((x) => x.i)).toEqual([0, 1, 2])
    expect(Object.keys(a)).toEqual(['0', '1', '2'])
    expect(JSON.stringify(a, null, 2)).toBe(JSON.stringify(plain, null, 2))
    expect([...jsonLines({ a })].join('')).toBe([...jsonLines({ a: plain })].join(''))
    expect([...yamlChunks({ a })].join('')).toBe([...yamlChunks({ a: plain })].join(''))
    expect(JSON.stringify(lazyArray(0, () => 1))).toBe('[]')
  })

  it('yamlChunks writes a lazy list below a key one element at a time (simulate -o yaml)', () => {
    // the list was mapped whole before its first piece: every element's object held at once
    let made = 0
    const denied = lazyArray(100_000, (i) => {
      made++
      return { i, edge: `w${i % 7} -> db tcp/5432` }
    })
    const pieces = yamlChunks({ flows: 3, denied })
    expect(pieces.next().value).toBe('flows: 3\n')
    expect(pieces.next().value).toBe('denied:\n  - i: 0\n    edge: w0 -> db tcp/5432\n')
    expect(pieces.next().value).toBe('  - i: 1\n    edge: w1 -> db tcp/5432\n')
    expect(made).toBeLessThanOrEqual(3)
    // and the same text as the plain list, whole
    const few = lazyArray(4, (i) => ({ i }))
    expect([...yamlChunks({ few, x: { a: 1, b: undefined } })].join('')).toBe(
      [...yamlChunks({ few: [0, 1, 2, 3].map((i) => ({ i })), x: { a: 1 } })].join(''),
    )
  })
})
