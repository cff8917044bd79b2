import { describe, it, expect, beforeAll } from 'vitest'
import path from 'node:path'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { hasErrors, parseCidr, type Cidr, type Rule } from '../../src/core/index.js'
import { loadWorkspace, type LoadResult } from '../../src/policy/index.js'

const ROOT = 'test/fixtures/good'
const NOW = new Date('2026-11-22T00:00:00Z')
const cidr = (t: string): Cidr => parseCidr(t) as Cidr

describe('good workspace fixture', () => {
  let r: LoadResult
  beforeAll(async () => {
    r = await loadWorkspace(ROOT, NOW)
  })
  const rule = (id: string): Rule => {
    const found = r.policySet.policies[0]?.rules.find((x) => x.id === id)
    if (!found) throw new Error(`no rule ${id}`)
    return found
  }

  it('loads_with_no_diagnostics_at_all', () => {
    expect(r.diagnostics).toEqual([])
    expect(hasErrors(r.diagnostics)).toBe(false)
  })

  it('reads_bulkhead_yaml_with_paths_resolved_against_the_root', () => {
    const abs = path.resolve(ROOT)
    expect(r.workspace).toEqual({
      root: abs,
      inventory: [path.join(abs, 'inventory')],
      policy: path.join(abs, 'policy'),
      store: path.join(abs, '.bulkhead/store.duckdb'),
      sources: [{ path: path.join(abs, 'flows/*.log.gz'), format: 'aws-vpc' }],
      named: { inventory: true, policy: true },
    })
  })

  it('canonicalises_addresses_and_keeps_time_intervals', () => {
    const byName = new Map(r.inventory.workloads.map((w) => [w.name, w]))
    expect(r.inventory.workloads).toHaveLength(9)
    expect(byName.get('pay-api-1')?.addresses.map((a) => a.ip)).toEqual([
      '10.20.1.11',
      '2001:db8::11',
    ])
    const ci = byName.get('ci-runner-7')?.addresses
    expect(ci?.map(({ ip, from, to }) => ({ ip, from, to }))).toEqual([
      { ip: '10.30.0.7', from: Date.UTC(2026, 9, 1), to: Date.UTC(2026, 9, 15) },
    ])
    const dev = byName.get('dev-web-1')?.addresses[1]
    expect(dev?.ip).toBe('10.30.0.7')
    expect(dev?.from).toBe(Date.UTC(2026, 9, 15))
    expect(dev && 'to' in dev).toBe(false)
    expect(dev?.location).toEqual({
      file: 'test/fixtures/good/inventory/hosts.yaml',
      line: 32,
      column: 9,
    })
  })

  it('applies_label_rules_with_origins_explicit_labels_winning', () => {
    const byName = new Map(r.inventory.workloads.map((w) => [w.name, w]))
    const db = byName.get('db-pay-1')
    expect(db?.labels).toEqual({ app: 'payments', env: 'prod', loc: 'eu-west-1', role: 'db' })
    expect(db?.labelOrigins).toEqual({
      app: 'explicit',
      env: 'label-rule:0',
      loc: 'label-rule:0',
      role: 'label-rule:1',
    })
    // ci-runner-7 sets env: dev explicitly; rule 2 only adds loc
    const ci = byName.get('ci-runner-7')
    expect(ci?.labels).toEqual({ app: 'ci', env: 'dev', loc: 'eu-west-1', role: 'build' })
    expect(ci?.labelOrigins).toEqual({
      app: 'explicit',
      env: 'explicit',
      loc: 'label-rule:2',
      role: 'explicit',
    })
    // shop-web-1 is in no rule's range
    expect(byName.get('shop-web-1')?.labelOrigins).toEqual({
      app: 'explicit',
      env: 'explicit',
      role: 'explicit',
    })
    expect(r.inventory.labelRules.map((l) => l.match)).toEqual([
      { cidr: cidr('10.20.0.0/16') },
      { name: '^db-' },
      { cidr: cidr('10.30.0.0/16') },
    ])
  })

  it('reads_externals', () => {
    expect(
      r.inventory.externals.map(({ name, cidr: c, labels }) => ({ name, cidr: c, labels })),
    ).toEqual([
      { name: 'bank-sftp', cidr: cidr('198.51.100.0/24'), labels: { role: 'partner' } },
      { name: 'office-vpn', cidr: cidr('203.0.113.0/24'), labels: {} },
    ])
  })

  it('reads_the_policy_metadata_scope_and_rule_order', () => {
    expect(r.policySet.policies).toHaveLength(1)
    const p = r.policySet.policies[0]
    expect(p?.name).toBe('payments-prod')
    expect(p?.owner).toBe('team-payments')
    expect(p?.description).toBe('Production payments service')
    expect(p?.scope).toEqual({ app: 'payments', env: 'prod' })
    expect(p?.file).toBe('test/fixtures/good/policy/payments.yaml')
    expect(p?.location).toEqual({
      file: 'test/fixtures/good/policy/payments.yaml',
      line: 1,
      column: 1,
    })
    expect(p?.rules.map((x) => x.id)).toEqual([
      'web-to-api',
      'api-to-db',
      'batch-to-db',
      'shop-to-web',
      'internal-to-web',
      'metrics-scrape',
      'dns',
      'month-end-export',
      'oncall-debug',
      'no-dev-to-prod',
    ])
  })

  it('parses_selectors_of_every_kind', () => {
    const w = rule('web-to-api')
    expect(w.from).toEqual([
      {
        kind: 'labels',
        match: { role: 'web' },
        expressions: [],
        global: false,
        location: { file: 'test/fixtures/good/policy/payments.yaml', line: 10, column: 12 },
      },
    ])
    expect(rule('batch-to-db').from[0]).toMatchObject({
      kind: 'labels',
      match: {},
      expressions: [{ key: 'role', operator: 'In', values: ['batch'] }],
      global: false,
    })
    expect(rule('shop-to-web').from[0]).toMatchObject({
      kind: 'labels',
      match: { app: 'shop', env: 'prod' },
      global: true,
    })
    expect(rule('internal-to-web').from[0]).toMatchObject({
      kind: 'cidr',
      cidr: cidr('10.0.0.0/8'),
      except: [cidr('10.30.0.0/16')],
    })
    expect(rule('month-end-export').to[0]).toMatchObject({ kind: 'external', name: 'bank-sftp' })
    expect(rule('oncall-debug').from[0]).toMatchObject({
      kind: 'workload',
      name: 'mon-1',
      global: true,
    })
    expect(rule('oncall-debug').to[0]).toMatchObject({
      kind: 'workload',
      name: 'pay-api-1',
      global: false,
    })
    expect(rule('no-dev-to-prod').to[0]).toMatchObject({
      kind: 'labels',
      match: {},
      expressions: [],
      global: false,
    })
    expect(rule('metrics-scrape').to).toHaveLength(2)
  })

  it('parses_services_actions_and_defaults', () => {
    expect(rule('web-to-api').services).toEqual([{ protocol: 6, ports: { lo: 443, hi: 443 } }])
    expect(rule('metrics-scrape').services).toEqual([
      { protocol: 6, ports: { lo: 9100, hi: 9110 } },
    ])
    expect(rule('dns').services).toEqual([
      { protocol: 17, ports: { lo: 53, hi: 53 } },
      { protocol: 6, ports: { lo: 53, hi: 53 } },
    ])
    expect(rule('no-dev-to-prod').services).toEqual([{ protocol: 'any' }])
    expect(rule('no-dev-to-prod').action).toBe('deny')
    expect(rule('web-to-api').action).toBe('allow')
    expect(rule('web-to-api').emergency).toBe(false)
    expect(rule('web-to-api').evidence).toEqual({
      flows: 18234,
      firstSeen: '2026-10-01T00:00:00Z',
      lastSeen: '2026-11-20T23:59:00Z',
    })
    expect(rule('web-to-api').reason).toBe('Checkout calls the payments API')
  })

  it('turns_expiry_into_an_instant', () => {
    // a date alone is valid through that UTC day
    expect(rule('month-end-export').expires).toBe(Date.UTC(2027, 6, 1))
    expect(rule('oncall-debug').expires).toBe(Date.UTC(2026, 11, 1, 12))
    expect(rule('oncall-debug').emergency).toBe(true)
    expect(rule('oncall-debug').owner).toBe('sre-oncall')
    expect(rule('web-to-api').expires).toBeUndefined()
  })

  it('keeps_enforcement_entries_in_file_order', () => {
    expect(r.policySet.enforcement.map((e) => [e.selector.kind, e.mode])).toEqual([
      ['labels', 'enforce'],
      ['labels', 'monitor'],
      ['workload', 'observe'],
    ])
    expect(r.policySet.enforcement[2]?.location).toEqual({
      file: 'test/fixtures/good/policy/enforcement.yaml',
      line: 6,
      column: 5,
    })
  })

  it('warns_about_the_expiring_rules_once_now_is_past', async () => {
    const later = await loadWorkspace(ROOT, new Date('2026-12-02T00:00:00Z'))
    expect(hasErrors(later.diagnostics)).toBe(false)
    expect(later.diagnostics.map((d) => [d.code, d.severity, d.location?.line])).toEqual([
      ['policy/expired-rule', 'warning', 58],
    ])
    expect(later.policySet.policies).toHaveLength(1)
  })
})

describe('loadWorkspace edges', () => {
  it('missing_folder_is_a_diagnostic_not_a_throw', async () => {
    const r = await loadWorkspace('test/fixtures/does-not-exist', NOW)
    expect(r.diagnostics.map((d) => d.code)).toEqual(['io/not-found'])
    expect(r.policySet.policies).toEqual([])
  })

  it('bulkhead_yaml_syntax_error_is_a_diagnostic', async () => {
    const r = await loadWorkspace('test/fixtures/bad-workspace-yaml', NOW)
    expect(r.diagnostics).toContainEqual(
      expect.objectContaining({
        code: 'yaml/syntax',
        location: { file: 'test/fixtures/bad-workspace-yaml/bulkhead.yaml', line: 5, column: 1 },
      }),
    )
    expect(hasErrors(r.diagnostics)).toBe(true)
    expect(r.inventory.workloads).toEqual([])
  })

  it('a_missing_folder_bulkhead_yaml_names_is_not_found_even_the_default_one', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-named-'))
    try {
      mkdirSync(path.join(dir, 'inventory'))
      const header = 'apiVersion: bulkhead.dev/v1\nkind: Workspace\n'
      // as `bulkhead init` writes it: policy/ named, and the folder renamed or not committed
      writeFileSync(
        path.join(dir, 'bulkhead.yaml'),
        `${header}inventory: [inventory/]\npolicy: policy/\n`,
      )
      const named = await loadWorkspace(dir, NOW)
      expect(named.diagnostics.map((d) => [d.code, d.message])).toEqual([
        ['io/not-found', expect.stringContaining('policy') as string],
      ])
      expect(hasErrors(named.diagnostics)).toBe(true)
      // not named: the default may be missing (no policies yet)
      writeFileSync(path.join(dir, 'bulkhead.yaml'), header)
      expect((await loadWorkspace(dir, NOW)).diagnostics).toEqual([])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('explicitly_named_missing_inventory_is_not_found', async () => {
    const r = await loadWorkspace('test/fixtures/missing-inventory', NOW)
    expect(r.diagnostics).toContainEqual(
      expect.objectContaining({
        code: 'io/not-found',
        // at the path bulkhead.yaml names, `inventory: [hosts/]` (it said 0:0, the whole file)
        location: { file: 'test/fixtures/missing-inventory/bulkhead.yaml', line: 3, column: 13 },
      }),
    )
  })
})
