import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import {
  labelSet,
  type LabelExpression,
  type Selector,
  type Workload,
} from '../../src/core/index.js'
import { selectorMatchesSomeWorkload, WorkloadsByLabel } from '../../src/policy/index.js'
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

describe('WorkloadsByLabel', () => {
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
        const indexed = selectorMatchesSomeWorkload(sel, scope, new WorkloadsByLabel(workloads))
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

  it('candidates_are_the_workloads_of_the_rarest_pair_or_all_when_there_is_no_pair', () => {
    const w = (name: string, l: Record<string, string>): Workload => ({
      name,
      addresses: [],
      labels: labelSet(l),
      labelOrigins: {},
    })
    const all = [
      w('a', { env: 'prod', role: 'db' }),
      w('b', { env: 'prod', role: 'web' }),
      w('c', { env: 'dev', role: 'web' }),
    ]
    const index = new WorkloadsByLabel(all)
    expect(index.candidates(labelSet({}))).toBe(all)
    expect(
      index.candidates(labelSet({ env: 'prod' }), labelSet({ role: 'db' })).map((x) => x.name),
    ).toEqual(['a'])
    expect(index.candidates(labelSet({ env: 'test' }))).toEqual([])
    expect(index.named('b').map((x) => x.name)).toEqual(['b'])
    expect(index.named('z')).toEqual([])
  })
})
