import { describe, expect, it } from 'vitest'
import { labelSet, type Diagnostic, type LabelRule, type Workload } from '../../src/core/index.js'
import { labelRuleMatches, tagsMatch } from '../../src/inventory/index.js'
import { loadFromSources, type SourceFile } from '../../src/policy/load.js'
import { defaultWorkspace } from '../../src/policy/workspace.js'
import { pos } from '../policy/helpers.js'

const load = (...files: SourceFile[]) =>
  loadFromSources(defaultWorkspace('.'), files, [], new Date(0))

/** A running EC2 instance as `aws ec2 describe-instances` lists it, its tags in this order. */
const instance = (id: string, ip: string, tags: Record<string, string>) => ({
  InstanceId: id,
  PrivateIpAddress: ip,
  State: { Name: 'running' },
  Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
})

const ec2: SourceFile = {
  path: 'inventory/ec2.json',
  text: JSON.stringify(
    {
      Reservations: [
        {
          Instances: [
            instance('i-1', '10.0.0.1', {
              Name: 'pay-api',
              Team: 'payments',
              'aws:autoscaling:groupName': 'pay-api-asg',
              Backup: '',
            }),
            instance('i-2', '10.0.0.2', {
              Name: 'pay-api',
              Team: 'payments',
              'aws:autoscaling:groupName': 'pay-api-asg',
              Backup: '',
              Patch: 'tuesday',
            }),
            instance('i-3', '10.0.0.3', { Name: 'shop-web', team: 'payments' }),
          ],
        },
      ],
    },
    null,
    2,
  ),
}

const rules = (body: string): SourceFile => ({
  path: 'inventory/rules.yaml',
  text: `apiVersion: bulkhead.dev/v1\nkind: LabelRules\nrules:\n${body}`,
})

const wl = (tags?: Record<string, string>): Workload => ({
  name: 'w',
  addresses: [],
  labels: labelSet(),
  ...(tags ? { tags } : {}),
})

describe('tagsMatch', () => {
  it('needs_every_pair_exactly_and_star_means_any_value', () => {
    const tags = { Team: 'payments', Backup: '' }
    expect(tagsMatch({ Team: 'payments' }, tags)).toBe(true)
    expect(tagsMatch({ Team: 'payments', Backup: '' }, tags)).toBe(true)
    expect(tagsMatch({ Team: 'Payments' }, tags)).toBe(false)
    expect(tagsMatch({ team: 'payments' }, tags)).toBe(false)
    expect(tagsMatch({ Backup: '*' }, tags)).toBe(true)
    expect(tagsMatch({ Owner: '*' }, tags)).toBe(false)
    expect(tagsMatch({ Team: 'payments', Owner: '*' }, tags)).toBe(false)
    expect(tagsMatch({}, tags)).toBe(true)
  })

  it('a_workload_without_tags_matches_no_tag_rule', () => {
    const rule: LabelRule = { match: { tag: { Team: '*' } }, labels: labelSet({ app: 'x' }) }
    expect(labelRuleMatches(rule, wl(), {})).toBe(false)
    expect(labelRuleMatches(rule, wl({}), {})).toBe(false)
    expect(labelRuleMatches(rule, wl({ Team: 'a' }), {})).toBe(true)
  })
})

describe('AWS raw tags and LabelRules match.tag', () => {
  it('aws_workloads_carry_raw_tags_they_agree_on', () => {
    const r = load(ec2)
    // Patch is a label too, and the two instances disagree on it
    expect(r.diagnostics.map((d) => `${d.severity} ${d.code}`)).toEqual([
      'warning inventory/conflicting-labels',
    ])
    const api = r.inventory.workloads.find((w) => w.name === 'pay-api')
    // Patch is on one instance only: dropped from tags, as from labels
    expect(api?.tags).toEqual({
      Backup: '',
      Name: 'pay-api',
      Team: 'payments',
      'aws:autoscaling:groupName': 'pay-api-asg',
    })
  })

  it('match_tag_labels_by_raw_key_and_value_and_star', () => {
    const r = load(
      ec2,
      rules(
        '  - match: { tag: { Team: payments } }\n    labels: { app: payments }\n' +
          '  - match: { tag: { "aws:autoscaling:groupName": "*" } }\n    labels: { scaling: asg }\n' +
          '  - match: { tag: { Backup: "*", Team: payments }, name: "^pay-" }\n    labels: { backup: "yes" }\n',
      ),
    )
    expect(r.diagnostics.map((d) => d.code)).toEqual(['inventory/conflicting-labels'])
    const by = (n: string) => r.inventory.workloads.find((w) => w.name === n)
    expect(by('pay-api')?.labels).toMatchObject({ app: 'payments', scaling: 'asg', backup: 'yes' })
    expect(by('pay-api')?.labelOrigins).toMatchObject({
      app: 'label-rule:0',
      scaling: 'label-rule:1',
      backup: 'label-rule:2',
    })
    // keys are case-sensitive: "team" is not "Team"
    expect(by('shop-web')?.labels).not.toHaveProperty('app')
    expect(by('shop-web')?.labels).not.toHaveProperty('scaling')
    expect(r.inventory.labelRules[0]?.match).toEqual({ tag: { Team: 'payments' } })
  })

  it('azure_tags_and_gcp_labels_are_raw_tags_too_gcp_network_tags_are_not', () => {
    const azure: SourceFile = {
      path: 'inventory/vms.json',
      text: JSON.stringify([
        {
          id: '/subscriptions/0/resourceGroups/fin-rg/providers/Microsoft.Compute/virtualMachines/az-1',
          name: 'az-1',
          type: 'Microsoft.Compute/virtualMachines',
          resourceGroup: 'fin-rg',
          location: 'northeurope',
          privateIps: '10.50.0.4',
          tags: { 'Cost Center': '4711' },
        },
      ]),
    }
    const gcp: SourceFile = {
      path: 'inventory/gce.json',
      text: JSON.stringify([
        {
          kind: 'compute#instance',
          name: 'gce-1',
          zone: 'https://www.googleapis.com/compute/v1/projects/p/zones/europe-west1-b',
          labels: { 'cost-center': '4711' },
          tags: { items: ['http-server'] },
          networkInterfaces: [{ networkIP: '10.132.0.5' }],
        },
      ]),
    }
    const r = load(
      azure,
      gcp,
      rules(
        '  - match: { tag: { "Cost Center": "4711" } }\n    labels: { tier: azure }\n' +
          '  - match: { tag: { cost-center: "4711" } }\n    labels: { tier: gcp }\n' +
          '  - match: { tag: { http-server: "*" } }\n    labels: { web: "yes" }\n',
      ),
    )
    expect(r.diagnostics).toEqual([])
    const by = (n: string) => r.inventory.workloads.find((w) => w.name === n)
    expect(by('az-1')?.labelOrigins).toMatchObject({ tier: 'label-rule:0' })
    expect(by('gce-1')?.labelOrigins).toMatchObject({ tier: 'label-rule:1' })
    expect(by('gce-1')?.labels).not.toHaveProperty('web')
  })

  it('yaml_workloads_have_no_tags_so_tag_rules_skip_them', () => {
    const inv: SourceFile = {
      path: 'inventory/hosts.yaml',
      text: 'apiVersion: bulkhead.dev/v1\nkind: Inventory\nworkloads:\n  - { name: h1, addresses: [10.1.0.1], labels: { Team: payments } }\n',
    }
    const r = load(inv, rules('  - match: { tag: { Team: payments } }\n    labels: { app: p }\n'))
    expect(r.diagnostics).toEqual([])
    expect(r.inventory.workloads[0]?.tags).toBeUndefined()
    expect(r.inventory.workloads[0]?.labels).toEqual({ Team: 'payments' })
  })

  it('a_workload_merged_from_yaml_and_aws_keeps_the_aws_tags', () => {
    const inv: SourceFile = {
      path: 'inventory/hosts.yaml',
      text: 'apiVersion: bulkhead.dev/v1\nkind: Inventory\nworkloads:\n  - { name: shop-web, addresses: [10.0.0.3], labels: { env: prod } }\n',
    }
    const r = load(
      inv,
      ec2,
      rules('  - match: { tag: { team: payments } }\n    labels: { app: shop }\n'),
    )
    expect(r.diagnostics.map((d) => d.code)).toEqual(['inventory/conflicting-labels'])
    const w = r.inventory.workloads.find((x) => x.name === 'shop-web')
    expect(w?.tags).toEqual({ Name: 'shop-web', team: 'payments' })
    expect(w?.labels).toMatchObject({ env: 'prod', app: 'shop' })
  })
})

describe('bad match.tag: located inventory/bad-label-rule, rule left out', () => {
  const at = (d: Diagnostic) => ({ code: d.code, location: d.location })
  const cases: { name: string; body: string; needle: string }[] = [
    {
      name: 'not_a_mapping',
      body: '  - { match: { tag: Team }, labels: { a: b } }\n',
      needle: 'Team',
    },
    {
      name: 'a_list',
      body: '  - { match: { tag: [Team] }, labels: { a: b } }\n',
      needle: '[Team]',
    },
    {
      name: 'empty_mapping',
      body: '  - { match: { tag: {} }, labels: { a: b } }\n',
      needle: '{} }',
    },
    { name: 'null', body: '  - { match: { tag: null }, labels: { a: b } }\n', needle: 'tag: null' },
    {
      name: 'number_value',
      body: '  - { match: { tag: { Cost: 42 } }, labels: { a: b } }\n',
      needle: '42',
    },
    {
      name: 'empty_value',
      body: '  - { match: { tag: { Cost: } }, labels: { a: b } }\n',
      needle: 'Cost',
    },
    {
      name: 'empty_key',
      body: '  - { match: { tag: { "": x } }, labels: { a: b } }\n',
      needle: '""',
    },
    {
      name: 'key_too_long',
      body: `  - { match: { tag: { ${'k'.repeat(129)}: x } }, labels: { a: b } }\n`,
      needle: 'kkk',
    },
    {
      name: 'value_too_long',
      body: `  - { match: { tag: { K: ${'v'.repeat(257)} } }, labels: { a: b } }\n`,
      needle: 'vvv',
    },
  ]
  for (const c of cases) {
    it(c.name, () => {
      const file = rules(c.body)
      const r = load(file)
      expect(r.diagnostics.map(at)).toEqual([
        { code: 'inventory/bad-label-rule', location: pos(file, c.needle) },
      ])
      expect(r.inventory.labelRules).toEqual([])
    })
  }

  it('every_bad_pair_is_reported_and_other_rules_still_checked', () => {
    const file = rules(
      '  - { match: { tag: { A: 1, B: true, C: ok } }, labels: { a: b } }\n' +
        '  - { match: { tag: { D: x }, cidr: 10.0.0.1/8 }, labels: { a: b } }\n',
    )
    const r = load(file)
    expect(r.diagnostics.map(at)).toEqual([
      { code: 'inventory/bad-label-rule', location: pos(file, '1,') },
      { code: 'inventory/bad-label-rule', location: pos(file, 'true') },
      { code: 'inventory/bad-address', location: pos(file, '10.0.0.1/8') },
    ])
  })
})
