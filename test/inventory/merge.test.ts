import { describe, expect, it } from 'vitest'
import type { Diagnostic } from '../../src/core/index.js'
import { loadFromSources, type SourceFile } from '../../src/policy/load.js'
import { defaultWorkspace } from '../../src/policy/workspace.js'

const load = (files: SourceFile[]) => loadFromSources(defaultWorkspace('.'), files, [], new Date(0))
const at = (l: { file: string; line: number; column: number } | undefined) =>
  `${l?.file}:${l?.line}:${l?.column}`

const HOSTS = `apiVersion: bulkhead.dev/v1
kind: Inventory
workloads:
  - name: web-1
    addresses: [10.0.0.1]
    labels: { role: web, env: prod }
`
const POD = (ip: string, extra = '') => `{
  "apiVersion": "v1", "kind": "Pod",
  "metadata": { "name": "api", "namespace": "shop"${extra} },
  "status": { "podIP": "${ip}" }
}
`

describe('merging inventory sources', () => {
  it('joins a workload named in YAML and CSV: addresses and labels, each label with its origin', () => {
    const r = load([
      { path: 'a.yaml', text: HOSTS },
      { path: 'b.csv', text: 'name,addresses,labels\nweb-1,10.0.0.1;10.0.0.2,app=shop;env=prod\n' },
    ])
    expect(r.diagnostics).toEqual([])
    expect(r.inventory.workloads).toHaveLength(1)
    const w = r.inventory.workloads[0]
    expect(w?.addresses.map((a) => a.ip)).toEqual(['10.0.0.1', '10.0.0.2'])
    expect(w?.labels).toEqual({ app: 'shop', env: 'prod', role: 'web' })
    expect(w?.labelOrigins).toEqual({ app: 'source:csv', env: 'explicit', role: 'explicit' })
    expect(at(w?.location)).toBe('a.yaml:4:5')
  })

  it.each<[string, SourceFile[], [string, string, string, string[]][]]>([
    [
      'conflicting labels across sources',
      [
        { path: 'a.yaml', text: HOSTS },
        { path: 'b.csv', text: 'name,addresses,labels\nweb-1,10.0.0.1,env=dev\n' },
      ],
      [['error', 'inventory/conflicting-labels', 'b.csv:2:1', ['a.yaml:4:5']]],
    ],
    [
      'an address held by two workloads from different sources',
      [
        { path: 'a.yaml', text: HOSTS },
        { path: 'k.json', text: POD('10.0.0.1') },
      ],
      [['error', 'inventory/duplicate-address', 'k.json:4:24', ['a.yaml:5:17']]],
    ],
    [
      'an address held by a CSV and an AWS workload',
      [
        { path: 'b.csv', text: 'name,addresses\nweb-1,10.0.0.9\n' },
        {
          path: 'e.json',
          text: '{"Reservations": [{"Instances": [\n  {"InstanceId": "i-1", "PrivateIpAddress": "10.0.0.9"}\n]}]}',
        },
      ],
      [['error', 'inventory/duplicate-address', 'e.json:2:45', ['b.csv:2:7']]],
    ],
    [
      'an unknown owner (a warning; the rest loads)',
      [
        {
          path: 'k.json',
          text: POD(
            '10.0.0.5',
            ', "ownerReferences": [{"kind": "ReplicaSet", "name": "api-1", "controller": true}]',
          ),
        },
      ],
      [['warning', 'inventory/unknown-owner', 'k.json:3:72', []]],
    ],
    [
      'a malformed JSON dump',
      [{ path: 'k.json', text: '{\n  "apiVersion": "v1",\n  "kind" "List"\n}\n' }],
      [['error', 'yaml/syntax', 'k.json:3:10', []]],
    ],
    [
      'a Kubernetes YAML dump with a bad indentation',
      [
        {
          path: 'k.yaml',
          text: 'apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n metadata: {}\n',
        },
      ],
      [['error', 'yaml/syntax', 'k.yaml:5:1', []]],
    ],
  ])('%s', (_name, files, expected) => {
    const r = load(files)
    expect(
      r.diagnostics.map((d: Diagnostic) => [
        d.severity,
        d.code,
        at(d.location),
        (d.related ?? []).map(at),
      ]),
    ).toEqual(expected)
    if (expected.some(([sev]) => sev === 'error')) expect(r.inventory.workloads).toEqual([])
    else expect(r.inventory.workloads.length).toBeGreaterThan(0)
  })

  it("gives an EKS node's secondary addresses to the pods that hold them (s11/hO D3)", () => {
    // the VPC CNI assigns pod addresses to the node's interfaces as secondary private IPs
    const node = (primaryOfEni2: boolean) => `{"Reservations": [{"Instances": [{
  "InstanceId": "i-node", "PrivateIpAddress": "10.0.1.10",
  "Tags": [{"Key": "Name", "Value": "node-a"}],
  "NetworkInterfaces": [{"PrivateIpAddresses": [
    {"Primary": true, "PrivateIpAddress": "10.0.1.10"},
    {"Primary": false, "PrivateIpAddress": "10.0.0.7"},
    {"Primary": false, "PrivateIpAddress": "10.0.1.21"}
  ]}, {"PrivateIpAddresses": [
    {"Primary": ${primaryOfEni2}, "PrivateIpAddress": "10.0.0.8"}
  ]}]
}]}]}`
    const r = load([
      { path: 'k.json', text: POD('10.0.0.7') },
      { path: 'p.json', text: POD('10.0.0.8').replace('"api"', '"db"') },
      { path: 'e.json', text: node(false) },
    ])
    expect(r.diagnostics).toEqual([])
    const ips = Object.fromEntries(
      r.inventory.workloads.map((w) => [w.name, w.addresses.map((a) => a.ip)]),
    )
    // a secondary address no pod holds stays the node's
    expect(ips).toEqual({
      'node-a': ['10.0.1.10', '10.0.1.21'],
      'shop/api[Pod]': ['10.0.0.7'],
      'shop/db[Pod]': ['10.0.0.8'],
    })
    // an interface's primary address is the instance's own: a pod holding it still clashes
    const clash = load([
      { path: 'p.json', text: POD('10.0.0.8').replace('"api"', '"db"') },
      { path: 'e.json', text: node(true) },
    ])
    expect(clash.diagnostics.map((d) => d.code)).toEqual(['inventory/duplicate-address'])
  })

  it('documents of other Kubernetes kinds are ignored; a misspelt Bulkhead apiVersion is still an error', () => {
    const ok = load([
      { path: 's.yaml', text: 'apiVersion: v1\nkind: Service\nmetadata: { name: x }\n' },
    ])
    expect(ok.diagnostics).toEqual([])
    const bad = load([
      { path: 's.yaml', text: 'apiVersion: bulkhead.dev/v2\nkind: Inventory\nworkloads: []\n' },
    ])
    expect(bad.diagnostics.map((d) => d.code)).toEqual(['schema/invalid-value'])
  })
})

describe('label values written as YAML or JSON numbers and booleans', () => {
  it('are the text as written, in inventory labels and in policy selectors (1.10 is not 1.1)', () => {
    const inventory = `apiVersion: bulkhead.dev/v1
kind: Inventory
workloads:
  - name: a
    addresses: [10.0.0.1]
    labels: { version: 1.10, tier: 1, canary: true, build: 010, app: x }
`
    const json = JSON.stringify({
      apiVersion: 'bulkhead.dev/v1',
      kind: 'Inventory',
      workloads: [{ name: 'b', addresses: ['10.0.0.2'], labels: { version: 1 } }],
    }).replace('"version":1', '"version":1.10')
    const policy = `apiVersion: bulkhead.dev/v1
kind: Policy
metadata: { name: p, owner: o }
scope: { app: x }
rules:
  - id: r
    from: [{ version: 1.10 }]
    to: [{ tier: 1 }]
    ports: [tcp/443]
    reason: test
`
    const r = loadFromSources(
      defaultWorkspace('.'),
      [
        { path: 'i.yaml', text: inventory },
        { path: 'j.json', text: json },
      ],
      [{ path: 'p.yaml', text: policy }],
      new Date(0),
    )
    expect(r.diagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
    expect(r.inventory.workloads.map((w) => w.labels)).toEqual([
      { app: 'x', build: '010', canary: 'true', tier: '1', version: '1.10' },
      { version: '1.10' },
    ])
    const rule = r.policySet.policies[0]?.rules[0]
    expect(rule?.from[0]).toMatchObject({ kind: 'labels', match: { version: '1.10' } })
    expect(rule?.to[0]).toMatchObject({ kind: 'labels', match: { tier: '1' } })
  })
})
