import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { Diagnostic } from '../../src/core/index.js'
import { sanitizeTagKey, sanitizeTagValue } from '../../src/inventory/index.js'
import { loadFromSources } from '../../src/policy/load.js'
import { defaultWorkspace } from '../../src/policy/workspace.js'

const FIXTURE = fileURLToPath(
  new URL('../fixtures/inventory-mixed/inventory/ec2.json', import.meta.url),
)
const load = (text: string, path = 'ec2.json') =>
  loadFromSources(defaultWorkspace('.'), [{ path, text }], [], new Date(0))
const at = (d: Diagnostic) =>
  `${d.severity} ${d.code} ${d.location?.file}:${d.location?.line}:${d.location?.column}`

type Inst = Record<string, unknown>
const dump = (...instances: Inst[]) =>
  JSON.stringify({ Reservations: [{ Instances: instances }] }, null, 2)
const inst = (
  id: string,
  ip: string,
  tags: Record<string, string> = {},
  extra: Inst = {},
): Inst => ({
  InstanceId: id,
  PrivateIpAddress: ip,
  State: { Name: 'running' },
  Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
  ...extra,
})

describe('AWS describe-instances inventory', () => {
  it('takes every private IPv4 and IPv6 address, the Name tag as name, tags as labels, the VPC as aws/vpc-id', () => {
    const r = load(readFileSync(FIXTURE, 'utf8'))
    expect(r.diagnostics).toEqual([])
    const [w] = r.inventory.workloads
    expect(w?.name).toBe('bastion')
    expect(w?.addresses.map((a) => a.ip)).toEqual(['10.50.0.10', '10.50.0.11', '2600:1f18::10'])
    expect(w?.labels).toEqual({
      'aws-cloudformation-stack-name': 'edge',
      'aws/vpc-id': 'vpc-1',
      env: 'prod',
    })
    // the raw tag key stays visible where the key had to be changed
    expect(w?.labelOrigins).toEqual({
      'aws-cloudformation-stack-name': 'source:aws:tag:aws:cloudformation:stack-name',
      'aws/vpc-id': 'source:aws',
      env: 'source:aws',
    })
    expect(w?.location).toMatchObject({ line: 5, column: 9 })
  })

  it("does not read prefix delegation's Ipv4Prefixes/Ipv6Prefixes as the instance's addresses", () => {
    // an EKS node with prefix delegation: each interface holds /28 IPv4 (and /80 IPv6) prefixes
    // whose addresses the VPC CNI gives to pods (InstanceNetworkInterface Ipv4Prefixes[].Ipv4Prefix,
    // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_InstanceIpv4Prefix.html); the
    // pods' addresses come from a pod dump, so the node keeps only its own (README: AWS)
    const node = inst(
      'i-0node',
      '192.168.10.5',
      { Name: 'node' },
      {
        NetworkInterfaces: [
          {
            PrivateIpAddresses: [{ PrivateIpAddress: '192.168.10.5', Primary: true }],
            Ipv4Prefixes: [{ Ipv4Prefix: '192.168.10.16/28' }],
            Ipv6Prefixes: [{ Ipv6Prefix: '2600:1f18:0:1::/80' }],
          },
        ],
      },
    )
    const r = load(dump(node))
    expect(r.diagnostics).toEqual([])
    expect(r.inventory.workloads.map((w) => [w.name, w.addresses.map((a) => a.ip)])).toEqual([
      ['node', ['192.168.10.5']],
    ])
  })

  it('names an untagged instance by its id, and joins instances sharing a Name', () => {
    const r = load(
      dump(
        inst('i-1', '10.0.0.1'),
        inst('i-2', '10.0.0.2', {
          Name: 'web',
          role: 'web',
          'aws:autoscaling:groupName': 'web-asg',
        }),
        inst('i-3', '10.0.0.3', {
          Name: 'web',
          role: 'web',
          'aws:autoscaling:groupName': 'web-asg',
        }),
      ),
    )
    expect(r.diagnostics).toEqual([])
    expect(
      r.inventory.workloads.map((w) => [w.name, w.addresses.map((a) => a.ip), w.labels]),
    ).toEqual([
      ['i-1', ['10.0.0.1'], {}],
      ['web', ['10.0.0.2', '10.0.0.3'], { 'aws-autoscaling-groupName': 'web-asg', role: 'web' }],
    ])
  })

  it('drops tags on which same-named instances disagree, with a warning at the first', () => {
    const r = load(
      dump(
        inst('i-2', '10.0.0.2', { Name: 'web', v: '1', role: 'web' }),
        inst('i-3', '10.0.0.3', { Name: 'web', v: '2', role: 'web' }),
      ),
    )
    expect(r.diagnostics.map(at)).toEqual(['warning inventory/conflicting-labels ec2.json:5:9'])
    expect(r.diagnostics[0]?.related).toEqual([{ file: 'ec2.json', line: 26, column: 9 }])
    expect(r.inventory.workloads[0]?.labels).toEqual({ role: 'web' })
  })

  it('skips terminated instances and instances without a private address, with a warning', () => {
    const r = load(
      dump(
        inst('i-1', '10.0.0.1', {}, { State: { Name: 'terminated' } }),
        { InstanceId: 'i-2', State: { Name: 'pending' } },
        inst('i-3', '10.0.0.3'),
      ),
    )
    expect(r.diagnostics.map((d) => `${d.severity} ${d.code}`)).toEqual([
      'warning inventory/no-address',
      'warning inventory/no-address',
    ])
    expect(r.inventory.workloads.map((w) => w.name)).toEqual(['i-3'])
  })

  it.each([
    [
      'bad private IP',
      dump(inst('i-1', '10.0.0.256')),
      ['error inventory/bad-address ec2.json:7:31'],
    ],
    [
      'no id and no name',
      dump({ PrivateIpAddress: '10.0.0.1' }),
      ['error schema/missing-field ec2.json:5:9'],
    ],
    [
      'Reservations not a sequence',
      '{ "Reservations": 3 }',
      ['error schema/invalid-value ec2.json:1:19'],
    ],
    [
      'malformed JSON',
      '{ "Reservations": [\n  { "Instances": [] }\n}\n',
      // the second error of line 3 (3:2) is counted in the first's message
      ['error yaml/syntax ec2.json:3:1'],
    ],
    [
      'a tag that is not text',
      dump(inst('i-1', '10.0.0.1', {}, { Tags: [{ Key: 'n', Value: 3 }] })),
      ['error schema/invalid-value ec2.json:12:13'],
    ],
  ])('%s is a located error and nothing is loaded', (_n, text, expected) => {
    const r = load(text)
    expect(r.diagnostics.map(at)).toEqual(expected)
    expect(r.inventory.workloads).toEqual([])
  })

  it("a tag named as a label the source sets (aws/vpc-id) is left out with a warning: VpcId's value stays", () => {
    const r = load(
      dump(inst('i-01', '10.40.0.10', { 'aws/vpc-id': 'vpc-legacy' }, { VpcId: 'vpc-9' })),
    )
    expect(r.inventory.workloads[0]?.labels).toEqual({ 'aws/vpc-id': 'vpc-9' })
    expect(r.diagnostics.map((d) => [d.code, d.severity])).toEqual([
      ['inventory/bad-label', 'warning'],
    ])
    expect(r.diagnostics[0]?.message).toContain('that the aws source sets itself')
  })

  it('of two tags giving one label key, the one written as a label key keeps it, whatever their order', () => {
    const labels = (tags: Record<string, string>) => {
      const r = load(dump(inst('i-01', '10.40.0.10', tags)))
      expect(r.diagnostics.map((d) => d.code)).toEqual(['inventory/bad-label'])
      return r.inventory.workloads[0]?.labels
    }
    expect(labels({ 'Team Name': 'core', 'Team-Name': 'edge' })).toEqual({ 'Team-Name': 'edge' })
    expect(labels({ 'Team-Name': 'edge', 'Team Name': 'core' })).toEqual({ 'Team-Name': 'edge' })
  })

  it('sanitises tag keys and values into valid labels', () => {
    expect(sanitizeTagKey('team')).toBe('team')
    expect(sanitizeTagKey('example.com/team')).toBe('example.com/team')
    expect(sanitizeTagKey('aws:ec2launchtemplate:id')).toBe('aws-ec2launchtemplate-id')
    expect(sanitizeTagKey('Cost Center')).toBe('Cost-Center')
    expect(sanitizeTagKey(':::')).toBeUndefined()
    expect(sanitizeTagKey('x'.repeat(80))).toHaveLength(63)
    expect(sanitizeTagValue('a=b,c')).toBe('a-b-c')
    expect(sanitizeTagValue('plain value: ok')).toBe('plain value: ok')
  })
})

describe('AWS describe-instances --query output', () => {
  // `--query 'Reservations[].Instances[]'` and `--query "Reservations[*].Instances[*]"` print the
  // instances alone, as scripts commonly save them (e.g. the AWS CLI user guide, "Filtering
  // output": https://docs.aws.amazon.com/cli/latest/userguide/cli-usage-filter.html; the AWS CLI
  // examples, https://github.com/aws/aws-cli/blob/develop/awscli/examples/ec2/describe-instances.rst,
  // Example 5). Before, both were "a document must be a mapping with apiVersion and kind".
  const a = inst('i-0aaa', '10.0.0.157', { Name: 'web', env: 'prod' }, { VpcId: 'vpc-1' })
  const b = inst('i-0bbb', '10.0.1.20', {}, { VpcId: 'vpc-1' })
  const expected = [
    ['i-0bbb', ['10.0.1.20'], { 'aws/vpc-id': 'vpc-1' }],
    ['web', ['10.0.0.157'], { 'aws/vpc-id': 'vpc-1', env: 'prod' }],
  ]
  const summary = (text: string) => {
    const r = load(text)
    expect(r.diagnostics.map(at)).toEqual([])
    return r.inventory.workloads.map((w) => [w.name, w.addresses.map((x) => x.ip), w.labels])
  }

  it("reads the flat sequence of 'Reservations[].Instances[]' as describe-instances", () => {
    expect(summary(JSON.stringify([a, b], null, 2))).toEqual(expected)
    expect(summary(JSON.stringify([a, b], null, 2))).toEqual(summary(dump(a, b)))
  })

  it("reads the sequence per reservation of 'Reservations[*].Instances[*]'", () => {
    expect(summary(JSON.stringify([[a], [b]], null, 2))).toEqual(expected)
  })

  it('locates an element that is not an instance', () => {
    const r = load(JSON.stringify([a, { ImageId: 'ami-1' }], null, 2))
    expect(r.diagnostics.map(at)).toEqual(['error schema/invalid-value ec2.json:20:3'])
  })

  it('an empty sequence (no instances in the region) gives no workload and no error', () => {
    // what `--query 'Reservations[].Instances[]'`, `az vm list` and `gcloud compute instances
    // list --format=json` print when there are none
    const r = load('[]\n')
    expect(r.diagnostics.map(at)).toEqual([])
    expect(r.inventory.workloads).toEqual([])
  })
})
