/**
 * @module Transitive reach worked out by hand on two small link graphs: a source with two direct
 * destinations that land in different groups, where only one of them leads further.
 */
import { expect, it } from 'vitest'
import { policyReachGraph, reachFigures } from '../../src/analyze/index.js'
import { labelSet, type PolicySet, type Rule } from '../../src/core/index.js'
import { inventoryOf, workload } from '../helpers/workloads.js'

const NAMES = ['A', 'B', 'C', 'D', 'X'] as const
const inventory = inventoryOf(...NAMES.map((n, i) => workload(n, `10.0.0.${i + 1}`)))

const link = ([from, to]: readonly [string, string], i: number): Rule => ({
  id: `l${i}`,
  action: 'allow',
  from: [{ kind: 'workload', name: from, global: true }],
  to: [{ kind: 'workload', name: to, global: true }],
  services: [{ protocol: 'any' }],
  emergency: false,
})

const CASES: readonly (readonly [string, readonly (readonly [string, string])[]])[] = [
  // X also reaches B, so B and C are different destination groups; only C leads on (to D)
  [
    'A→B, A→C, C→D, X→B',
    [
      ['A', 'B'],
      ['A', 'C'],
      ['C', 'D'],
      ['X', 'B'],
    ],
  ],
  [
    'A→C, A→B, B→D, X→C',
    [
      ['A', 'C'],
      ['A', 'B'],
      ['B', 'D'],
      ['X', 'C'],
    ],
  ],
]

for (const [name, links] of CASES) {
  it(`${name}: A reaches 3 workloads (2 directly), X 1, D none`, () => {
    const policySet: PolicySet = {
      policies: [
        { name: 'links', owner: 't', scope: labelSet(), rules: links.map(link), file: 'l.yaml' },
      ],
      enforcement: [],
    }
    const g = policyReachGraph(inventory, policySet, 0)
    const f = reachFigures(g)
    const of = (w: string): [number | undefined, number | undefined] => {
      const node = g.nodeOf[NAMES.indexOf(w as (typeof NAMES)[number])] as number
      return [f.direct[node], f.transitive[node]]
    }
    // by hand: A → {B, C} directly, and D through the one of them that links on
    expect(of('A')).toEqual([2, 3])
    // X's target: B has no way on in the first case, C none in the second
    expect(of('X')).toEqual([1, 1])
    expect(of('D')).toEqual([0, 0])
  })
}
