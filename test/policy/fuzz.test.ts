import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { hasErrors } from '../../src/core/index.js'
import { defaultWorkspace, loadFromSources } from '../../src/policy/index.js'
import { HOSTS, NOW, PAYMENTS } from './helpers.js'
import { SEED } from '../helpers/model.js'

/** Characters that matter to YAML, to selectors and to the parsers, plus some that do not. */
const CHARS = [
  ':',
  '-',
  ' ',
  '\n',
  '\t',
  '[',
  ']',
  '{',
  '}',
  ',',
  '"',
  "'",
  '&',
  '*',
  '!',
  '#',
  '%',
  '|',
  '>',
  '?',
  '@',
  '`',
  '/',
  '.',
  '0',
  '9',
  'a',
  'Z',
  '\u0000',
  '\u00e9',
  '\u{1F600}',
  '\r',
]
const mutation = fc.record({
  kind: fc.constantFrom('insert', 'delete', 'replace', 'duplicate-line', 'delete-line'),
  at: fc.nat(),
  ch: fc.oneof(fc.constantFrom(...CHARS), fc.string({ minLength: 1, maxLength: 3 })),
})

function mutate(text: string, ms: readonly { kind: string; at: number; ch: string }[]): string {
  let t = text
  for (const m of ms) {
    const i = m.at % (t.length + 1)
    if (m.kind === 'insert') t = t.slice(0, i) + m.ch + t.slice(i)
    else if (m.kind === 'delete') t = t.slice(0, i) + t.slice(i + 1)
    else if (m.kind === 'replace') t = t.slice(0, i) + m.ch + t.slice(i + 1)
    else {
      const lines = t.split('\n')
      const j = m.at % lines.length
      if (m.kind === 'duplicate-line') lines.splice(j, 0, lines[j] ?? '')
      else lines.splice(j, 1)
      t = lines.join('\n')
    }
  }
  return t
}

describe('fuzz: mutated policy and inventory files', () => {
  it('never_throw_and_never_half_load', () => {
    fc.assert(
      fc.property(
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        (ms, inInventory) => {
          const policy = inInventory ? PAYMENTS : { ...PAYMENTS, text: mutate(PAYMENTS.text, ms) }
          const hosts = inInventory ? { ...HOSTS, text: mutate(HOSTS.text, ms) } : HOSTS
          const r = loadFromSources(defaultWorkspace('.'), [hosts], [policy], NOW)
          for (const d of r.diagnostics) {
            expect(d.location?.line ?? 1).toBeGreaterThanOrEqual(1)
            expect(d.location?.column ?? 1).toBeGreaterThanOrEqual(1)
          }
          if (hasErrors(r.diagnostics)) {
            expect(r.policySet.policies).toEqual([])
            expect(r.inventory.workloads).toEqual([])
          } else {
            expect(r.policySet.policies.length).toBeLessThanOrEqual(1)
          }
        },
      ),
      { seed: SEED, numRuns: 300 },
    )
  })
})
