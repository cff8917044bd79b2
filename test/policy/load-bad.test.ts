import { describe, it, expect } from 'vitest'
import { hasErrors, type ErrorCode, type Severity } from '../../src/core/index.js'
import { defaultWorkspace, loadFromSources, type SourceFile } from '../../src/policy/index.js'
import { HOSTS, NOW, PAYMENTS, load, policy, pos } from './helpers.js'

interface Where {
  readonly file: SourceFile
  readonly needle: string
  readonly nth?: number
  readonly offset?: number
}
/**
 * An expected error: its code, at the `nth` occurrence of `needle` (plus `offset` columns) in
 * `file` (by default the case's first file), with severity `error` unless said, and the `related`
 * location if it has one.
 */
type Expected = readonly [
  code: ErrorCode,
  needle: string,
  more?: Partial<Where> & { readonly severity?: Severity; readonly related?: Where },
]
interface Case {
  readonly name: string
  readonly policy?: readonly SourceFile[]
  readonly inventory?: readonly SourceFile[]
  readonly expect: readonly Expected[]
}

const rule = (body: string, id = 'r1'): string => `  - id: ${id}\n${body}`
const ok = (extra = ''): string =>
  `    from: [{ role: web }]\n    to: [{ role: api }]\n    ports: [tcp/443]\n${extra}`
const inv = (text: string, path = 'inventory/zz.yaml'): SourceFile => ({
  path,
  text: `apiVersion: bulkhead.dev/v1\nkind: Inventory\n${text}`,
})

const unknownField = policy(rule(ok('    colour: red\n')))
const missingPorts = policy(rule('    from: [{ role: web }]\n    to: [{ role: api }]\n'))
const missingOwner: SourceFile = {
  path: 'policy/case.yaml',
  text: 'apiVersion: bulkhead.dev/v1\nkind: Policy\nmetadata:\n  name: case\nrules: []\n',
}
const unknownKind: SourceFile = {
  path: 'policy/case.yaml',
  text: 'apiVersion: bulkhead.dev/v1\nkind: Polcy\nrules: []\n',
}
const badApi: SourceFile = {
  path: 'policy/case.yaml',
  text: 'apiVersion: bulkhead.dev/v2\nkind: Policy\nmetadata: { name: a, owner: b }\n',
}
const policyInInventory = {
  path: 'inventory/zz.yaml',
  text: missingOwner.text.replace('  name: case\n', '  name: case\n  owner: x\n'),
}
const dupKey = policy(rule(ok('    ports: [tcp/80]\n')))
const syntax = policy(
  rule('    from: [{ role: web }\n    to: [{ role: api }]\n    ports: [tcp/443]\n'),
)
const dupRule = policy(rule(ok()) + rule(ok(), 'r1'))
const dupName1 = policy(rule(ok()), 'same', 'policy/a.yaml')
const dupName2 = policy(rule(ok()), 'same', 'policy/b.yaml')
const cidrHostBits = policy(
  rule(
    '    from: [{ cidr: 10.0.0.1/8 }, { cidr: 10.0.0.0/33 }]\n    to: [{ role: api }]\n    ports: [tcp/443]\n',
  ),
)
const exceptOutside = policy(
  rule(
    '    from: [{ cidr: 10.0.0.0/8, except: [10.1.0.0/16, 192.168.0.0/16] }]\n    to: [{ role: api }]\n    ports: [tcp/443]\n',
  ),
)
const badPorts = policy(
  rule(
    '    from: [{ role: web }]\n    to: [{ role: api }]\n    ports: [tcp/70000, tcp/200-100, foo/1, 443, tcp/abc, icmp/300]\n',
  ),
)
const badExpires = policy(
  rule(ok('    expires: next-week\n')) +
    rule(ok('    expires: 2027-02-30\n'), 'r2') +
    rule(ok('    expires: 2027-01-01T10:00:00\n'), 'r3'),
)
const noScoped = policy(
  rule('    from: [{ cidr: 10.0.0.0/8 }]\n    to: [any]\n    ports: [tcp/443]\n') +
    rule(
      '    from: [{ role: web, scope: global }]\n    to: [{ role: api }, { external: bank-sftp }]\n    ports: [tcp/443]\n',
      'r2',
    ),
)
// hH held-out check: a rule whose unscoped side also had a selector error reported that error
// only, and its missing scoped side after the user had fixed it.
const noScopedWithSelectorErrors = policy(
  rule(
    '    from: [{ cidr: 10.0.0.0/8, except: [11.0.0.0/8] }]\n    to: [any]\n    ports: [tcp/1]\n',
  ) +
    rule('    from: [any]\n    to: [{ external: nowhere }]\n    ports: [tcp/2]\n', 'r2') +
    rule(
      '    from: [{ role: [a, b], scope: global }]\n    to: [{ cidr: 10.0.0.0/33 }]\n    ports: [tcp/3]\n',
      'r3',
    ),
)
const emergency = policy(rule(ok('    emergency: true\n')))
const emptyLists = policy(rule('    from: []\n    to: []\n    ports: []\n'))
const unknownNames = policy(
  rule('    from: [{ workload: nope }]\n    to: [{ external: nowhere }]\n    ports: [tcp/443]\n'),
)
const badSelectors = policy(
  rule(
    '    from: [{ cidr: 10.0.0.0/8, role: web }, everything]\n    to: [{ role: api, scope: local }, { role: [a, b] }]\n    ports: [tcp/443]\n',
  ) +
    rule(
      '    from: [{ workload: pay-web-1, external: bank-sftp }]\n    to: [{ except: [10.0.0.0/8] }, { any: false }]\n    ports: [tcp/443]\n',
      'r2',
    ),
)
const badExpressions = policy(
  rule(
    '    from: [{ matchExpressions: [{ key: role, operator: In }, { key: env, operator: Exists, values: [x] }, { key: app, operator: Foo, values: [a] }] }]\n    to: [{ role: api }]\n    ports: [tcp/443]\n',
  ),
)
const badSelectorLabel = policy(
  rule('    from: [{ -bad: x }]\n    to: [{ role: "a=b" }]\n    ports: [tcp/443]\n'),
)
const badEnforcement: SourceFile = {
  path: 'policy/enforcement.yaml',
  text: 'apiVersion: bulkhead.dev/v1\nkind: Enforcement\nmodes:\n  - { selector: { env: prod }, mode: block }\n  - { mode: enforce }\n  - { selector: { env: prod }, mode: enforce, extra: 1 }\n',
}
const dupWorkload = inv('workloads:\n  - name: pay-web-1\n    addresses: [10.99.0.1]\n')
const dupAddress = inv(
  'workloads:\n  - name: other\n    addresses: [10.20.1.10]\n  - name: other-2\n    addresses: [{ ip: 10.30.0.7, from: 2026-10-10T00:00:00Z }]\n',
)
const badAddress = inv('workloads:\n  - name: w1\n    addresses: [10.20.1.300, { ip: nope }, 7]\n')
const badInterval = inv(
  'workloads:\n  - name: w1\n    addresses:\n      - { ip: 10.99.0.1, from: 2026-10-15T00:00:00Z, to: 2026-10-01T00:00:00Z }\n      - { ip: 10.99.0.2, from: yesterday }\n',
)
const badLabels = inv(
  'workloads:\n  - name: w1\n    addresses: [10.99.0.1]\n    labels: { "-x": y, role: "a=b" }\n    tags: {}\n',
)
const badExternal = inv(
  'externals:\n  - { name: e1, cidr: 198.51.100.1/24 }\n  - { name: bank-sftp, cidr: 192.0.2.0/24 }\n',
)
const badLabelRule: SourceFile = {
  path: 'inventory/zz.yaml',
  text: 'apiVersion: bulkhead.dev/v1\nkind: LabelRules\nrules:\n  - { match: { name: "([" }, labels: { role: x } }\n  - { match: { host: x }, labels: { role: x } }\n',
}

const CASES: readonly Case[] = [
  {
    name: 'unknown_field_in_rule',
    policy: [unknownField],
    expect: [['schema/unknown-field', 'colour']],
  },
  {
    name: 'missing_ports_points_at_the_rule',
    policy: [missingPorts],
    expect: [['schema/missing-field', 'id: r1']],
  },
  {
    name: 'missing_owner_points_at_metadata',
    policy: [missingOwner],
    expect: [['schema/missing-field', 'name: case']],
  },
  { name: 'unknown_kind', policy: [unknownKind], expect: [['schema/unknown-kind', 'Polcy']] },
  {
    name: 'wrong_api_version',
    policy: [badApi],
    expect: [['schema/invalid-value', 'bulkhead.dev/v2']],
  },
  {
    name: 'policy_in_an_inventory_file',
    inventory: [policyInInventory],
    expect: [['schema/unknown-kind', 'Policy']],
  },
  {
    name: 'duplicate_yaml_key',
    policy: [dupKey],
    expect: [['yaml/duplicate-key', 'ports', { nth: 1 }]],
  },
  {
    name: 'yaml_syntax_error',
    policy: [syntax],
    expect: [['yaml/syntax', '    to:', { offset: 4 }]],
  },
  {
    name: 'duplicate_rule_id_reports_both_locations',
    policy: [dupRule],
    expect: [
      ['policy/duplicate-rule-id', 'r1', { nth: 1, related: { file: dupRule, needle: 'r1' } }],
    ],
  },
  {
    name: 'duplicate_policy_name_across_files',
    policy: [dupName2, dupName1],
    expect: [
      ['policy/duplicate-policy-name', 'same', { related: { file: dupName1, needle: 'same' } }],
    ],
  },
  {
    name: 'cidr_with_host_bits_or_bad_prefix',
    policy: [cidrHostBits],
    expect: [
      ['policy/bad-cidr', '10.0.0.1/8'],
      ['policy/bad-cidr', '10.0.0.0/33'],
    ],
  },
  {
    name: 'except_outside_cidr',
    policy: [exceptOutside],
    expect: [['policy/except-outside-cidr', '192.168.0.0/16']],
  },
  {
    name: 'port_errors_each_at_their_item',
    policy: [badPorts],
    expect: [
      ['policy/port-out-of-range', 'tcp/70000'],
      ['policy/reversed-port-range', 'tcp/200-100'],
      ['policy/unknown-protocol', 'foo/1'],
      ['policy/bad-service', '443,'],
      ['policy/bad-service', 'tcp/abc'],
      ['policy/port-out-of-range', 'icmp/300'],
    ],
  },
  {
    name: 'expires_not_a_date',
    policy: [badExpires],
    expect: [
      ['policy/bad-expires', 'next-week'],
      ['policy/bad-expires', '2027-02-30'],
      ['policy/bad-expires', '2027-01-01T10:00:00'],
    ],
  },
  {
    name: 'rule_without_a_scoped_side',
    policy: [noScoped],
    expect: [
      ['policy/no-scoped-side', 'id: r1'],
      ['policy/no-scoped-side', 'id: r2'],
    ],
  },
  {
    name: 'rule_without_a_scoped_side_and_a_selector_error_reports_both',
    policy: [noScopedWithSelectorErrors],
    expect: [
      ['policy/except-outside-cidr', '11.0.0.0/8'],
      ['policy/no-scoped-side', 'id: r1'],
      ['policy/unknown-external', 'nowhere'],
      ['policy/no-scoped-side', 'id: r2'],
      ['policy/bad-selector', '[a, b]'],
      ['policy/bad-cidr', '10.0.0.0/33'],
      ['policy/no-scoped-side', 'id: r3'],
    ],
  },
  {
    name: 'emergency_without_expires',
    policy: [emergency],
    expect: [['policy/emergency-without-expires', 'true']],
  },
  {
    name: 'empty_lists_match_nothing',
    policy: [emptyLists],
    expect: [
      ['schema/invalid-value', 'from: []', { offset: 6 }],
      ['schema/invalid-value', 'to: []', { offset: 4 }],
      ['schema/invalid-value', 'ports: []', { offset: 7 }],
    ],
  },
  {
    name: 'unknown_workload_and_external',
    policy: [unknownNames],
    expect: [
      ['policy/unknown-workload', 'nope'],
      ['policy/unknown-external', 'nowhere'],
    ],
  },
  {
    name: 'bad_selectors',
    policy: [badSelectors],
    expect: [
      ['policy/bad-selector', 'role: web }'],
      ['policy/bad-selector', 'everything'],
      ['policy/bad-selector', 'local'],
      ['policy/bad-selector', '[a, b]'],
      ['policy/bad-selector', '{ workload: pay-web-1'],
      ['policy/bad-selector', 'except'],
      ['policy/bad-selector', 'false'],
    ],
  },
  {
    name: 'kubernetes_rules_for_match_expressions',
    policy: [badExpressions],
    expect: [
      ['policy/bad-selector', '{ key: role'],
      ['policy/bad-selector', '[x]'],
      ['schema/invalid-value', 'Foo'],
    ],
  },
  {
    name: 'bad_label_in_selector',
    policy: [badSelectorLabel],
    expect: [
      ['inventory/bad-label', '-bad'],
      ['inventory/bad-label', '"a=b"'],
    ],
  },
  {
    name: 'bad_enforcement_entries',
    policy: [badEnforcement],
    expect: [
      ['policy/bad-enforcement', 'block'],
      ['schema/missing-field', '{ mode: enforce }'],
      ['schema/unknown-field', 'extra'],
    ],
  },
  {
    name: 'duplicate_workload',
    inventory: [dupWorkload],
    expect: [
      [
        'inventory/duplicate-workload',
        'name: pay-web-1',
        { related: { file: HOSTS, needle: 'name: pay-web-1' } },
      ],
    ],
  },
  {
    name: 'duplicate_address_at_overlapping_times',
    inventory: [dupAddress],
    expect: [
      [
        'inventory/duplicate-address',
        '10.20.1.10',
        { related: { file: HOSTS, needle: '10.20.1.10' } },
      ],
      [
        'inventory/duplicate-address',
        '{ ip: 10.30.0.7',
        { related: { file: HOSTS, needle: '{ ip: 10.30.0.7' } },
      ],
    ],
  },
  {
    name: 'bad_addresses',
    inventory: [badAddress],
    expect: [
      ['inventory/bad-address', '10.20.1.300'],
      ['inventory/bad-address', 'nope'],
      ['inventory/bad-address', '7]'],
    ],
  },
  {
    name: 'bad_time_intervals',
    inventory: [badInterval],
    expect: [
      ['inventory/bad-time-interval', '{ ip: 10.99.0.1'],
      ['schema/invalid-value', 'yesterday'],
    ],
  },
  {
    name: 'bad_labels_and_unknown_workload_field',
    inventory: [badLabels],
    expect: [
      ['inventory/bad-label', '"-x"'],
      ['inventory/bad-label', '"a=b"'],
      ['schema/unknown-field', 'tags'],
    ],
  },
  {
    name: 'bad_external_cidr_and_duplicate_external',
    inventory: [badExternal],
    expect: [
      ['inventory/bad-address', '198.51.100.1/24'],
      [
        'inventory/duplicate-external',
        '{ name: bank-sftp',
        { related: { file: HOSTS, needle: '{ name: bank-sftp' } },
      ],
    ],
  },
  {
    name: 'bad_label_rules',
    inventory: [badLabelRule],
    expect: [
      ['inventory/bad-label-rule', '"(["'],
      ['schema/unknown-field', 'host'],
    ],
  },
]

const where = (w: Where) => pos(w.file, w.needle, w.nth ?? 0, w.offset ?? 0)

describe('bad-path table: every error at its node, nothing half-loaded', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const r = load(c.policy ?? [], c.inventory ?? [])
      const file = (c.policy ?? c.inventory ?? [])[0] as SourceFile
      for (const [code, needle, more = {}] of c.expect) {
        expect(r.diagnostics).toContainEqual(
          expect.objectContaining({
            code,
            severity: more.severity ?? 'error',
            location: where({ file, needle, ...more }),
            ...(more.related ? { related: [where(more.related)] } : {}),
          }),
        )
      }
      // exactly the expected errors: no cascades, no duplicates
      const errors = r.diagnostics.filter((d) => d.severity !== 'warning').map((d) => d.code)
      expect(errors.sort()).toEqual(c.expect.map(([code]) => code).sort())
      expect(hasErrors(r.diagnostics)).toBe(true)
      expect(r.inventory).toEqual({ workloads: [], externals: [], labelRules: [] })
      expect(r.policySet).toEqual({ policies: [], enforcement: [] })
    })
  }
})

describe('warnings do not stop loading', () => {
  const nothing = policy(
    rule(
      '    from: [{ role: cache }, { tier: gold }]\n    to: [{ workload: shop-web-1 }, { matchExpressions: [{ key: zone, operator: DoesNotExist }] }]\n    ports: [tcp/443]\n',
    ),
  )
  const expired = policy(
    rule(ok('    expires: 2026-01-01\n')) +
      rule(
        '    from: [{ role: web }]\n    to: [{ cidr: 192.0.2.0/24 }, any, { external: office-vpn }]\n    ports: [tcp/443]\n',
        'r2',
      ),
  )
  const scopedNothing = policy(
    rule(
      '    from: [{ app: shop }]\n    to: [{ workload: dev-web-1, scope: global }]\n    ports: [tcp/443]\n',
    ),
  )

  it('a second policy in one file is loaded and warned about (DESIGN.md: one file, one policy)', () => {
    const enforcement =
      'apiVersion: bulkhead.dev/v1\nkind: Enforcement\nmodes:\n  - { selector: any, mode: observe }\n'
    const f: SourceFile = {
      path: 'policy/two.yaml',
      text: `${policy(rule(ok()), 'one').text}---\n${enforcement}---\n${policy(rule(ok()), 'two').text}---\n${policy(rule(ok()), 'three').text}`,
    }
    const r = load([f])
    expect(r.diagnostics.map((d) => [d.code, d.severity, ...lc(d.location)])).toEqual([
      ['policy/several-policies-in-file', 'warning', ...lc(pos(f, 'apiVersion', 2))],
      ['policy/several-policies-in-file', 'warning', ...lc(pos(f, 'apiVersion', 3))],
    ])
    expect(r.diagnostics[0]?.related).toEqual([pos(f, 'apiVersion')])
    expect(r.policySet.policies.map((p) => p.name)).toEqual(['one', 'three', 'two'])
    // a policy and an Enforcement document share a file without a word
    const g: SourceFile = {
      path: 'policy/g.yaml',
      text: `${policy(rule(ok())).text}---\n${enforcement}`,
    }
    expect(load([g]).diagnostics).toEqual([])
  })

  it('selector_matches_nothing_and_unknown_label_key', () => {
    const r = load([nothing])
    expect(
      r.diagnostics.map((d) => [d.code, d.severity, d.location?.line, d.location?.column]),
    ).toEqual([
      ['policy/selector-matches-nothing', 'warning', ...lc(pos(nothing, '{ role: cache'))],
      ['policy/selector-matches-nothing', 'warning', ...lc(pos(nothing, '{ tier'))],
      ['policy/unknown-label-key', 'warning', ...lc(pos(nothing, '{ tier'))],
      ['policy/selector-matches-nothing', 'warning', ...lc(pos(nothing, '{ workload: shop-web-1'))],
      ['policy/unknown-label-key', 'warning', ...lc(pos(nothing, '{ matchExpressions'))],
    ])
    expect(r.policySet.policies.map((p) => p.name)).toEqual(['case'])
    expect(r.inventory.workloads.length).toBeGreaterThan(0)
  })

  it('an Enforcement entry that can select no workload is warned about: an external, a cidr holding no workload address (hF, session 35)', () => {
    // an external names unmanaged addresses, which are always `observe`: the entry never applied
    // and nothing said so; a cidr entry is a workload's mode only through an address it holds
    const f: SourceFile = {
      path: 'policy/enforcement.yaml',
      text:
        'apiVersion: bulkhead.dev/v1\nkind: Enforcement\nmodes:\n' +
        '  - { selector: { external: office-vpn }, mode: enforce }\n' +
        '  - { selector: { cidr: 10.99.0.0/16 }, mode: enforce }\n' +
        '  - { selector: { cidr: 10.30.0.0/24 }, mode: monitor }\n' +
        '  - { selector: { cidr: "2001:db8::/64" }, mode: monitor }\n' +
        '  - { selector: any, mode: observe }\n',
    }
    const r = load([f])
    expect(r.diagnostics.map((d) => [d.code, d.severity, ...lc(d.location)])).toEqual([
      ['policy/selector-matches-nothing', 'warning', ...lc(pos(f, '{ external'))],
      ['policy/selector-matches-nothing', 'warning', ...lc(pos(f, '{ cidr: 10.99'))],
    ])
    expect(r.diagnostics[0]?.message).toContain('always observe')
    // the entries are still loaded: a warning, as for a label selector that matches nothing
    expect(r.policySet.enforcement.length).toBe(5)
  })

  it('a cidr selector whose except blocks cover its block matches nothing: a warning at the selector (hC, session 38)', () => {
    // lint called the rule lint/matches-nothing; validate said nothing
    const emptied = policy(
      rule(
        '    from: [{ role: web }]\n    to: [{ cidr: 192.0.2.0/24, except: [192.0.2.0/25, 192.0.2.128/25] }, { cidr: "2001:db8::/64", except: ["2001:db8::/64"] }, { cidr: 198.51.100.0/24, except: [198.51.100.0/25] }]\n    ports: [tcp/443]\n',
      ),
    )
    const r = load([emptied])
    expect(r.diagnostics.map((d) => [d.code, d.severity, ...lc(d.location)])).toEqual([
      ['policy/selector-matches-nothing', 'warning', ...lc(pos(emptied, '{ cidr: 192'))],
      ['policy/selector-matches-nothing', 'warning', ...lc(pos(emptied, '{ cidr: "2001'))],
    ])
    expect(r.diagnostics[0]?.message).toContain('except')
    expect(r.policySet.policies.map((p) => p.name)).toEqual(['case'])
  })

  it('scope_is_anded_into_label_selectors_but_not_global_ones', () => {
    const r = load([scopedNothing])
    // {app: shop} AND scope {app: payments, env: prod} is empty; the global workload selector is not
    expect(r.diagnostics.map((d) => [d.code, ...lc(d.location)])).toEqual([
      ['policy/selector-matches-nothing', ...lc(pos(scopedNothing, '{ app: shop'))],
    ])
  })

  it('expired_rule_is_a_warning_and_cidrs_are_not_warned', () => {
    const r = load([expired])
    expect(r.diagnostics.map((d) => [d.code, d.severity, ...lc(d.location)])).toEqual([
      ['policy/expired-rule', 'warning', ...lc(pos(expired, '2026-01-01'))],
    ])
    expect(r.policySet.policies[0]?.rules.map((x) => x.id)).toEqual(['r1', 'r2'])
  })

  it('scope_key_no_workload_carries', () => {
    const f: SourceFile = {
      path: 'policy/s.yaml',
      text: policy(rule(ok())).text.replace(
        'scope: { app: payments, env: prod }',
        'scope: { app: payments, tier: gold }',
      ),
    }
    const r = load([f])
    expect(r.diagnostics).toContainEqual(
      expect.objectContaining({
        code: 'policy/unknown-label-key',
        severity: 'warning',
        location: pos(f, 'tier'),
      }),
    )
    expect(hasErrors(r.diagnostics)).toBe(false)
  })

  it('a workload or external name with a control character is refused at it (s44 QA hostile F12)', () => {
    // a NUL went raw to the terminal and into nftables comments
    const inv: SourceFile = {
      path: 'inventory/cc.yaml',
      text:
        'apiVersion: bulkhead.dev/v1\nkind: Inventory\nworkloads:\n' +
        '  - { name: "api\\u0000x", addresses: [10.9.0.1] }\n' +
        '  - { name: "a\\tb", addresses: [10.9.0.2] }\n' +
        '  - { name: "nel\\x85x", addresses: [10.9.0.3] }\n' +
        '  - { name: "bidi\\u202ex", addresses: [10.9.0.4] }\n' +
        'externals:\n  - { name: "line\\nbreak", cidr: 192.0.2.0/24 }\n' +
        '  - { name: "fine name", cidr: 198.18.0.0/15 }\n',
    }
    const r = loadFromSources(defaultWorkspace('.'), [inv], [], NOW)
    expect(r.diagnostics.map((d) => [d.code, d.location?.line, d.location?.column])).toEqual([
      ['schema/invalid-value', 4, 13],
      ['schema/invalid-value', 5, 13],
      ['schema/invalid-value', 6, 13],
      ['schema/invalid-value', 7, 13],
      ['schema/invalid-value', 9, 13],
    ])
    // a CSV inventory's names likewise (s44 QA retest F9)
    const csv: SourceFile = {
      path: 'inventory/cc.csv',
      text: 'name,addresses,labels\n"esc\u001b[31mred",10.9.1.1,role=x\nfine,10.9.1.2,role=x\n',
    }
    const c = loadFromSources(defaultWorkspace('.'), [csv], [], NOW)
    expect(c.diagnostics.map((d) => [d.code, d.location?.file, d.location?.line])).toEqual([
      ['schema/invalid-value', 'inventory/cc.csv', 2],
    ])
  })

  it('an inventory with errors gives no label-key or matches-nothing warnings: they would judge selectors against what was left of it', () => {
    // hD (session 31): one broken line made validate add an unknown-label-key and a
    // selector-matches-nothing warning for every selector of every policy
    const broken: SourceFile = {
      path: 'inventory/broken.yaml',
      text: 'apiVersion: bulkhead.dev/v1\nkind: Inventory\nworkloads:\n  - name: web-1\n    addresses: [10.0.0.1\n',
    }
    const named = policy(
      rule(
        '    from: [{ workload: pay-web-1 }]\n    to: [{ role: api }]\n    ports: [tcp/443, tcp/70000]\n',
      ),
    )
    for (const inventory of [[broken], [HOSTS, broken]]) {
      const r = loadFromSources(defaultWorkspace('.'), inventory, [PAYMENTS, named], NOW)
      const codes = [...new Set(r.diagnostics.map((d) => d.code))]
      // the inventory's own error and the policy's errors; names are still checked (a name
      // error points at one selector): pay-web-1 was in no inventory that loaded
      expect(codes.filter((c) => c.startsWith('policy/')).sort()).toEqual(
        inventory.length === 1
          ? ['policy/port-out-of-range', 'policy/unknown-external', 'policy/unknown-workload']
          : ['policy/port-out-of-range'],
      )
      expect(codes.filter((c) => !c.startsWith('policy/')).length).toBeGreaterThan(0)
      expect(r.diagnostics.every((d) => d.severity !== 'warning')).toBe(true)
      expect(r.policySet.policies).toEqual([])
    }
    // with the inventory whole, the same selectors are warned about
    const r = loadFromSources(defaultWorkspace('.'), [], [PAYMENTS, named], NOW)
    const warned = r.diagnostics.filter((d) => d.severity === 'warning').map((d) => d.code)
    expect(new Set(warned)).toEqual(
      new Set(['policy/unknown-label-key', 'policy/selector-matches-nothing']),
    )
  })

  it('ip_reuse_at_disjoint_times_is_fine', () => {
    const reuse = inv(
      'workloads:\n  - name: later\n    addresses: [{ ip: 10.30.0.7, from: 2026-09-01T00:00:00Z, to: 2026-10-01T00:00:00Z }, { ip: "::ffff:10.20.1.10", to: 2020-01-01 }]\n',
    )
    const r = load([], [reuse])
    // 10.30.0.7 ends exactly when ci-runner-7 takes it (half-open): fine.
    // ::ffff:10.20.1.10 is 10.20.1.10 (held by pay-web-1 forever): that one overlaps
    expect(r.diagnostics.map((d) => [d.code, ...lc(d.location)])).toEqual([
      ['inventory/duplicate-address', ...lc(pos(reuse, '{ ip: "::ffff'))],
    ])
  })
})

function lc(l: { line: number; column: number } | undefined): [number, number] {
  return [l?.line ?? 0, l?.column ?? 0]
}
