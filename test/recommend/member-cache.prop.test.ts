/**
 * `memberCache` (src/recommend/recommend.ts), which finds the workloads of a rule side through
 * the label and name index of `SelectorMembers`, against the plain filter it replaced (every
 * workload tested with `selectsWorkload`): random inventories (workloads missing label keys,
 * repeated label sets, names sharing prefixes), random selector lists (label selectors with
 * `matchLabels`, In / NotIn / Exists / DoesNotExist expressions, keys no workload has, `{}`,
 * `global`; workload selectors, also of absent names; `any`, CIDR and external selectors) and
 * scopes, several queries per cache, each asked twice; fast-check with the suite's fixed seed.
 * The member lists must be equal, order included.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  parseCidr,
  type Cidr,
  type Inventory,
  type LabelExpression,
  type LabelSet,
  type Selector,
  type Workload,
} from '../../src/core/index.js'
import { memberCache, selectsWorkload } from '../../src/recommend/recommend.js'
import { SEED } from '../helpers/model.js'

const NAMES = ['w1', 'w10', 'w2', 'web-1', 'db-1', 'a', 'b', 'c', 'd', 'e', 'f', 'g']
const KEYS = ['app', 'env', 'role']
const VALUES = ['x', 'y', 'z']

/** Labels over KEYS, each key absent or one of VALUES. */
const labelsArb: fc.Arbitrary<LabelSet> = fc
  .tuple(...KEYS.map(() => fc.constantFrom(undefined, ...VALUES)))
  .map((vs) => {
    const out: Record<string, string> = {}
    KEYS.forEach((k, i) => {
      const v = vs[i]
      if (v !== undefined) out[k] = v
    })
    return out
  })

const inventoryArb: fc.Arbitrary<Inventory> = fc
  .shuffledSubarray(NAMES, { minLength: 0, maxLength: NAMES.length })
  .chain((names) =>
    fc.tuple(
      ...names.map((name, i) =>
        labelsArb.map((labels): Workload => ({
          name,
          labels,
          addresses: [{ ip: `10.0.0.${String(i + 1)}` }],
        })),
      ),
    ),
  )
  .map((workloads) => ({ workloads, externals: [], labelRules: [] }))

const expressionArb: fc.Arbitrary<LabelExpression> = fc
  .tuple(
    fc.constantFrom(...KEYS, 'owner'),
    fc.constantFrom('In', 'NotIn', 'Exists', 'DoesNotExist'),
    fc.uniqueArray(fc.constantFrom(...VALUES), { minLength: 1, maxLength: 2 }),
  )
  .map(([key, operator, values]) => ({
    key,
    operator,
    values: operator === 'In' || operator === 'NotIn' ? values : [],
  }))

const selectorArb: fc.Arbitrary<Selector> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.oneof(fc.constant({}), labelsArb, fc.constant({ owner: 'x' })),
        fc.array(expressionArb, { maxLength: 2 }),
        fc.boolean(),
      )
      .map(([match, expressions, global]) => ({
        kind: 'labels' as const,
        match,
        expressions,
        global,
      })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...NAMES, 'nobody'), fc.boolean())
      .map(([name, global]) => ({ kind: 'workload' as const, name, global })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'any' as const }) },
  {
    weight: 1,
    arbitrary: fc.constant({
      kind: 'cidr' as const,
      cidr: parseCidr('10.0.0.0/8') as Cidr,
      except: [],
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'external' as const, name: 'partner' }) },
)

const queryArb = fc.tuple(
  fc.array(selectorArb, { minLength: 0, maxLength: 3 }),
  fc.oneof(fc.constant({}), labelsArb),
)

describe('memberCache', () => {
  it('equals the plain filter over every workload, order included', () => {
    fc.assert(
      fc.property(
        inventoryArb,
        fc.array(queryArb, { minLength: 1, maxLength: 8 }),
        (inventory, queries) => {
          const selected = memberCache(inventory)
          // each query twice: the second answer comes from the caches
          for (const [sels, scope] of [...queries, ...queries]) {
            const expected = inventory.workloads.filter((w) =>
              sels.some((s) => selectsWorkload(s, w, scope)),
            )
            expect(selected(sels, scope).map((w) => w.name)).toEqual(expected.map((w) => w.name))
          }
        },
      ),
      { seed: SEED, numRuns: 400 },
    )
  })
})
