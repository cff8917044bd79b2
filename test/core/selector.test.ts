import { describe, expect, it } from 'vitest'
import {
  expressionMatches,
  labelSet,
  parseCidr,
  parseIp,
  selectorKey,
  selectorMatches,
  type Cidr,
  type Endpoint,
  type Selector,
} from '../../src/core/index.js'
import { workload } from '../helpers/workloads.js'

const web: Endpoint = {
  ip: parseIp('10.0.0.1')!,
  entity: {
    kind: 'workload',
    workload: workload('web-1', '10.0.0.1', { role: 'web', app: 'shop', env: 'prod' }),
  },
}
const ext: Endpoint = {
  ip: parseIp('198.51.100.7')!,
  entity: { kind: 'external', name: 'bank', named: true },
}
const raw: Endpoint = {
  ip: parseIp('10.0.0.9')!,
  entity: { kind: 'external', name: '10.0.0.9', named: false },
}
const L = (match: Record<string, string>, global = false): Selector => ({
  kind: 'labels',
  match: labelSet(match),
  expressions: [],
  global,
})

describe('Kubernetes label expressions', () => {
  const labels = labelSet({ role: 'web' })
  it.each([
    ['In', 'role', ['web', 'api'], true],
    ['In', 'role', ['api'], false],
    ['In', 'env', ['prod'], false],
    ['NotIn', 'role', ['api'], true],
    ['NotIn', 'role', ['web'], false],
    ['NotIn', 'env', ['prod'], true], // a missing key is not in any set
    ['Exists', 'role', [], true],
    ['Exists', 'env', [], false],
    ['DoesNotExist', 'env', [], true],
    ['DoesNotExist', 'role', [], false],
  ] as const)('%s %s %j → %s', (operator, key, values, expected) => {
    expect(expressionMatches({ key, operator, values }, labels)).toBe(expected)
  })
})

describe('selectorMatches', () => {
  it('ANDs a label selector with the scope unless global', () => {
    expect(selectorMatches(L({ role: 'web' }), web, labelSet({ app: 'shop' }))).toBe(true)
    expect(selectorMatches(L({ role: 'web' }), web, labelSet({ app: 'pay' }))).toBe(false)
    expect(selectorMatches(L({ role: 'web' }, true), web, labelSet({ app: 'pay' }))).toBe(true)
  })
  it('{} matches every workload in scope, and no unmanaged endpoint', () => {
    expect(selectorMatches(L({}), web, labelSet())).toBe(true)
    expect(selectorMatches(L({}), ext, labelSet())).toBe(false)
    expect(selectorMatches(L({}), raw, labelSet())).toBe(false)
  })
  it('CIDR selectors match any endpoint by address, minus except, and ignore scope', () => {
    const sel: Selector = {
      kind: 'cidr',
      cidr: parseCidr('10.0.0.0/24') as Cidr,
      except: [parseCidr('10.0.0.8/29') as Cidr],
    }
    expect(selectorMatches(sel, web, labelSet({ app: 'other' }))).toBe(true)
    expect(selectorMatches(sel, raw, labelSet())).toBe(false) // 10.0.0.9 is in the except block
  })
  it('named externals match by name only when named', () => {
    expect(selectorMatches({ kind: 'external', name: 'bank' }, ext, labelSet())).toBe(true)
    expect(selectorMatches({ kind: 'external', name: '10.0.0.9' }, raw, labelSet())).toBe(false)
  })
  it('workload selectors match by name, scoped', () => {
    expect(
      selectorMatches(
        { kind: 'workload', name: 'web-1', global: false },
        web,
        labelSet({ env: 'prod' }),
      ),
    ).toBe(true)
    expect(
      selectorMatches(
        { kind: 'workload', name: 'web-1', global: false },
        web,
        labelSet({ env: 'dev' }),
      ),
    ).toBe(false)
    expect(
      selectorMatches(
        { kind: 'workload', name: 'web-1', global: true },
        web,
        labelSet({ env: 'dev' }),
      ),
    ).toBe(true)
  })
  it('any matches everything', () => {
    for (const ep of [web, ext, raw])
      expect(selectorMatches({ kind: 'any' }, ep, labelSet({ x: 'y' }))).toBe(true)
  })
  it('selectorKey is canonical', () => {
    expect(selectorKey(L({ role: 'web', app: 'shop' }))).toBe('{app=shop,role=web}')
    expect(
      selectorKey({
        kind: 'labels',
        match: labelSet(),
        expressions: [{ key: 'env', operator: 'NotIn', values: ['prod', 'dev'] }],
        global: true,
      }),
    ).toBe('{env NotIn (dev,prod)} global')
  })
})
