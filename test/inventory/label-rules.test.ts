import { describe, it, expect } from 'vitest'
import {
  labelSet,
  parseCidr,
  type Cidr,
  type LabelRule,
  type Workload,
} from '../../src/core/index.js'
import { applyLabelRules, labelRuleMatches } from '../../src/inventory/index.js'

const cidr = (t: string): Cidr => parseCidr(t) as Cidr
const wl = (name: string, ips: string[], labels: Record<string, string> = {}): Workload => ({
  name,
  addresses: ips.map((ip) => ({ ip })),
  labels: labelSet(labels),
})

describe('applyLabelRules', () => {
  const rules: LabelRule[] = [
    { match: { cidr: cidr('10.20.0.0/16') }, labels: labelSet({ env: 'prod', loc: 'eu' }) },
    { match: { name: '^db-' }, labels: labelSet({ role: 'db', env: 'staging' }) },
    { match: { labels: labelSet({ role: 'db' }) }, labels: labelSet({ tier: 'data' }) },
  ]

  it('explicit_labels_win_and_earlier_rules_win', () => {
    const [w] = applyLabelRules([wl('db-1', ['10.20.0.5'], { loc: 'us' })], rules)
    expect(w?.labels).toEqual({ env: 'prod', loc: 'us', role: 'db', tier: 'data' })
    expect(w?.labelOrigins).toEqual({
      env: 'label-rule:0',
      loc: 'explicit',
      role: 'label-rule:1',
      tier: 'label-rule:2',
    })
  })

  it('cidr_matches_when_any_address_is_inside', () => {
    const [w] = applyLabelRules([wl('h', ['192.0.2.1', '2001:db8::1', '10.20.9.9'])], rules)
    expect(w?.labels).toEqual({ env: 'prod', loc: 'eu' })
    const [v] = applyLabelRules([wl('h', ['192.0.2.1'])], rules)
    expect(v?.labels).toEqual({})
  })

  it('name_regex_is_unanchored_unless_written_so', () => {
    const r: LabelRule = { match: { name: 'cache' }, labels: labelSet({ role: 'cache' }) }
    expect(labelRuleMatches(r, wl('app-cache-2', []), {})).toBe(true)
    expect(labelRuleMatches(rules[1] as LabelRule, wl('old-db-1', []), {})).toBe(false)
  })

  it('match_fields_are_anded', () => {
    const r: LabelRule = {
      match: { cidr: cidr('10.0.0.0/8'), name: '^web' },
      labels: labelSet({ x: 'y' }),
    }
    expect(labelRuleMatches(r, wl('web-1', ['10.1.1.1']), {})).toBe(true)
    expect(labelRuleMatches(r, wl('web-1', ['11.1.1.1']), {})).toBe(false)
    expect(labelRuleMatches(r, wl('api-1', ['10.1.1.1']), {})).toBe(false)
  })

  it('keeps_origins_from_other_sources_and_does_not_mutate_input', () => {
    const input: Workload = {
      ...wl('db-2', ['10.20.1.1'], { app: 'x' }),
      labelOrigins: { app: 'source:aws' },
    }
    const [w] = applyLabelRules([input], rules)
    expect(w?.labelOrigins?.['app']).toBe('source:aws')
    expect(input.labels).toEqual({ app: 'x' })
  })
})
