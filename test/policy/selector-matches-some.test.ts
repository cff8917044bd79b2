import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import {
  labelSet,
  SelectorMembers,
  type LabelExpression,
  type Selector,
  type Workload,
} from '../../src/core/index.js'
import { selectorMatchesSomeWorkload } from '../../src/policy/index.js'
import { SEED } from '../helpers/model.js'

// few keys and values, so that selectors match some workloads and miss others
const key = fc.constantFrom('app', 'env', 'role', 'loc')
const value = fc.constantFrom('a', 'b', 'c')
const labels = fc.dictionary(key, value, { maxKeys: 4 }).map((o) => labelSet(o))
const workload = fc.record({ name: fc.constantFrom('w0', 'w1', 'w2', 'w3'), labels })
const expression: fc.Arbitrary<LabelExpression> = fc.record({
  key,
  operator: fc.constantFrom('In', 'NotIn', 'Exists', 'DoesNotExist'),
  values: fc.array(value, { maxLength: 2 }),
})
const selector: fc.Arbitrary<Selector> = fc.oneof(
  fc.record({
    kind: fc.constant('labels' as const),
    match: labels,
    expressions: fc.array(expression, { maxLength: 2 }),
    global: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('workload' as const),
    name: fc.constantFrom('w0', 'w1', 'w9'),
    global: fc.boolean(),
  }),
  fc.constant({ kind: 'any' as const }),
)

describe('selectorMatchesSomeWorkload through SelectorMembers', () => {
  it('selector_matches_some_workload_answers_the_same_by_index_as_by_scanning_every_workload', () => {
    let matched = 0
    let missed = 0
    fc.assert(
      fc.property(fc.array(workload, { maxLength: 30 }), selector, labels, (raw, sel, scope) => {
        const workloads: Workload[] = raw.map((w) => ({
          name: w.name,
          addresses: [],
          labels: w.labels,
          labelOrigins: {},
        }))
        const scanned = selectorMatchesSomeWorkload(sel, scope, workloads)
        const indexed = selectorMatchesSomeWorkload(sel, scope, new SelectorMembers(workloads))
        if (scanned) matched++
        else missed++
        expect(indexed).toBe(scanned)
      }),
      { seed: SEED, numRuns: 2_000 },
    )
    // both answers were exercised
    expect(matched).toBeGreaterThan(100)
    expect(missed).toBeGreaterThan(100)
  })
})
