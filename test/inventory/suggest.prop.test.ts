import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Diagnostic } from '../../src/core/index.js'
import {
  applyLabelRules,
  emptyInventoryParts,
  readLabelRulesDocument,
  renderSuggestedLabelRules,
  suggestLabels,
  type LabelSuggestion,
} from '../../src/inventory/index.js'
import { parseYamlFile } from '../../src/core/yaml-source.js'
import { inventoryOf, mapOf, type E, type W } from './suggest-helpers.js'
import { SEED } from '../helpers/model.js'

const ROLES = ['a', 'b', 'c'] as const
const EXTERNALS = ['ext-0', 'ext-1', 'ext-2', 'internet', '10.9.0.0/24']

/**
 * A random estate: workloads w0..wn, each with a role or none (w0 always has role `a` and at
 * least one edge), and edges among workloads and a few externals/unmanaged ranges, each
 * (src, dst, protocol, port) at most once, as in a dependency map.
 */
const estate = fc
  .record({
    roles: fc.array(fc.option(fc.constantFrom(...ROLES), { nil: undefined }), {
      minLength: 1,
      maxLength: 10,
    }),
    edges: fc.array(
      fc.tuple(
        fc.nat(20),
        fc.nat(20),
        fc.constantFrom(6, 17),
        fc.constantFrom(22, 53, 80, 443, 5432),
      ),
      { minLength: 1, maxLength: 40 },
    ),
  })
  .map(({ roles, edges }) => {
    const ws: W[] = roles.map((r, i) =>
      i === 0
        ? { name: 'w0', labels: { role: 'a' } }
        : { name: `w${i}`, ...(r ? { labels: { role: r } } : {}) },
    )
    const pool = [...ws.map((w) => w.name), ...EXTERNALS]
    const seen = new Set<string>()
    const es: E[] = []
    const push = (e: E) => {
      const k = e.join('|')
      if (seen.has(k)) return
      seen.add(k)
      es.push(e)
    }
    edges.forEach(([s, d, p, port], i) => {
      // the first edge always involves w0
      const src = i === 0 ? 'w0' : (pool[s % pool.length] as string)
      push([src, pool[d % pool.length] as string, p, port])
    })
    return { ws, edges: es }
  })

/** Copies every edge of `of` to a new unlabelled workload `name` (a self-edge stays a self-edge). */
function clone(ws: readonly W[], edges: readonly E[], of: string, name: string) {
  const copied = edges
    .filter(([s, d]) => s === of || d === of)
    .map(([s, d, p, port]): E => [s === of ? name : s, d === of ? name : d, p, port])
  return { ws: [...ws, { name }], edges: [...edges, ...copied] }
}

describe('suggestLabels properties', () => {
  it('a_workload_whose_signature_equals_a_member_s_is_proposed_that_role_with_score_1', () => {
    fc.assert(
      fc.property(estate, fc.nat(9), ({ ws, edges }, pick) => {
        const labelled = ws.filter(
          (w) =>
            w.labels?.['role'] !== undefined &&
            edges.some(([s, d]) => s === w.name || d === w.name),
        )
        const m = labelled[pick % labelled.length] as W
        const role = m.labels?.['role'] as string
        const e = clone(ws, edges, m.name, 'clone')
        const s = suggestLabels(mapOf(e.ws, e.edges), inventoryOf(e.ws)).find(
          (x) => x.workload === 'clone',
        )
        expect(s?.score).toBe(1)
        // another role may tie at 1 (a member with the same signature): then it is listed
        const withRole = s?.value === role ? s : s?.alternatives.find((a) => a.value === role)
        expect(withRole?.score).toBe(1)
        if (s?.value === role) expect(s.members).toContain(m.name)
      }),
      { seed: SEED, numRuns: 300 },
    )
  })

  it('an_unlabelled_workload_with_no_overlap_gets_nothing', () => {
    fc.assert(
      fc.property(estate, fc.integer({ min: 1, max: 4 }), ({ ws, edges }, n) => {
        // loner talks only to peers nobody else talks to: fresh externals and a fresh workload
        const lonerEdges: E[] = Array.from({ length: n }, (_, i): E => [
          'loner',
          `ext-fresh-${i}`,
          6,
          443,
        ])
        lonerEdges.push(['loner', 'ghost', 6, 8080], ['ghost', 'loner', 6, 9090])
        const all = [...ws, { name: 'loner' }, { name: 'ghost' }]
        const s = suggestLabels(mapOf(all, [...edges, ...lonerEdges]), inventoryOf(all), {
          minScore: Number.MIN_VALUE,
        })
        expect(s.map((x) => x.workload)).not.toContain('loner')
        expect(s.map((x) => x.workload)).not.toContain('ghost')
      }),
      { seed: SEED, numRuns: 300 },
    )
  })

  it('every_suggestion_is_consistent_and_independent_of_input_order', () => {
    fc.assert(
      fc.property(
        estate,
        fc.constantFrom(0.1, 0.34, 0.6, 1),
        fc.nat(),
        ({ ws, edges }, minScore, rot) => {
          const inv = inventoryOf(ws)
          const s = suggestLabels(mapOf(ws, edges), inv, { minScore })
          for (const x of s) {
            expect(x.score).toBe(x.shared / x.total)
            expect(x.score).toBeGreaterThanOrEqual(minScore)
            expect(x.score).toBeLessThanOrEqual(1)
            expect(x.shared).toBeGreaterThan(0)
            const w = inv.workloads.find((v) => v.name === x.workload)
            expect(w?.labels['role']).toBeUndefined()
            for (const m of x.members)
              expect(inv.workloads.find((v) => v.name === m)?.labels['role']).toBe(x.value)
            for (const a of x.alternatives) {
              expect(a.value).not.toBe(x.value)
              expect(a.score).toBeGreaterThanOrEqual(minScore)
              expect(a.score).toBeLessThanOrEqual(x.score)
            }
          }
          // the same estate with entities and edges in another order
          const k = rot % Math.max(1, edges.length)
          const turned = [...edges.slice(k), ...edges.slice(0, k)].reverse()
          const again = suggestLabels(mapOf([...ws].reverse(), turned), inv, { minScore })
          expect(again).toEqual(s)
        },
      ),
      { seed: SEED, numRuns: 300 },
    )
  })

  it('rendered_rules_load_back_and_match_exactly_the_named_workloads', () => {
    const suggestion = (workload: string, value: string): LabelSuggestion => ({
      workload,
      key: 'role',
      value,
      score: 1,
      shared: 1,
      total: 1,
      members: ['m'],
      reason: 'shares 1 of 1 peers/ports with role=x (m)',
      onlyWorkload: [],
      onlyMember: [],
      alternatives: [],
    })
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }), {
          minLength: 2,
          maxLength: 8,
        }),
        fc.constantFrom<'workload' | 'role'>('workload', 'role'),
        (names, group) => {
          // the first half is suggested; every name is a workload
          const picked = names.slice(0, Math.ceil(names.length / 2))
          const text = renderSuggestedLabelRules(
            picked.map((n, i) => suggestion(n, i % 2 === 0 ? 'a' : 'b')),
            { group },
          )
          const sink: Diagnostic[] = []
          const parts = emptyInventoryParts()
          for (const d of parseYamlFile({ path: 's.yaml', text }, sink))
            readLabelRulesDocument(d, parts)
          expect(sink).toEqual([])
          const inv = inventoryOf(names.map((name) => ({ name })))
          const got = applyLabelRules(inv.workloads, parts.labelRules).map((w) => w.labels['role'])
          expect(got).toEqual(
            names.map((n) => {
              const i = picked.indexOf(n)
              return i < 0 ? undefined : i % 2 === 0 ? 'a' : 'b'
            }),
          )
        },
      ),
      { seed: SEED, numRuns: 100 },
    )
  })
})
