/**
 * GCP (`gcloud compute instances list --format=json` and the API's list shapes) and Azure
 * (`az vm list --show-details -o json`) inventory sources: names, addresses, labels, tags, and
 * what is left out, worked out by hand from the JSON below.
 */
import { describe, expect, it } from 'vitest'
import type { Diagnostic, Workload } from '../../src/core/index.js'
import { loadFromSources } from '../../src/policy/load.js'
import { defaultWorkspace } from '../../src/policy/workspace.js'

const load = (path: string, value: unknown, ...more: { path: string; text: string }[]) =>
  loadFromSources(
    defaultWorkspace('.'),
    [{ path, text: JSON.stringify(value, null, 2) }, ...more],
    [],
    new Date(0),
  )
const brief = (w: Workload) => ({
  name: w.name,
  addresses: w.addresses.map((a) => a.ip),
  labels: { ...w.labels },
})
const codes = (ds: readonly Diagnostic[]) =>
  ds.map((d) => `${d.severity} ${d.code} ${d.location?.file}:${d.location?.line}`)

const PROJECT = 'https://www.googleapis.com/compute/v1/projects/shop-prod'
const gce = (name: string, nic: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  kind: 'compute#instance',
  id: '4815162342',
  name,
  zone: `${PROJECT}/zones/europe-west1-b`,
  status: 'RUNNING',
  networkInterfaces: [
    {
      kind: 'compute#networkInterface',
      name: 'nic0',
      network: `${PROJECT}/global/networks/shop-vpc`,
      subnetwork: `${PROJECT}/regions/europe-west1/subnetworks/web`,
      accessConfigs: [{ kind: 'compute#accessConfig', natIP: '34.76.1.2', type: 'ONE_TO_ONE_NAT' }],
      ...nic,
    },
  ],
  ...extra,
})

describe('GCP Compute Engine inventory', () => {
  it('gcloud compute instances list: internal addresses, labels, network tags, network and zone', () => {
    const r = load('gce.json', [
      gce(
        'web-1',
        {
          networkIP: '10.132.0.2',
          ipv6Address: 'fd20:a:b:0:0:0:0:2',
          aliasIpRanges: [
            { ipCidrRange: '10.132.0.50/32' },
            { ipCidrRange: '10.4.0.0/24', subnetworkRangeName: 'pods' },
          ],
        },
        {
          labels: { app: 'shop', env: 'prod', role: 'web' },
          tags: { items: ['http-server', 'web'], fingerprint: 'abc=' },
        },
      ),
      // stopped: keeps its internal address, so it stays; an IPv6 /32 alias is a range, not fd20::
      gce(
        'db-1',
        { networkIP: '10.132.0.3', aliasIpRanges: [{ ipCidrRange: 'fd20::/32' }] },
        { status: 'TERMINATED', labels: { role: 'db' } },
      ),
    ])
    expect(codes(r.diagnostics)).toEqual([])
    expect(r.inventory.workloads.map(brief)).toEqual([
      {
        name: 'db-1',
        addresses: ['10.132.0.3'],
        labels: { 'gcp/network': 'shop-vpc', 'gcp/zone': 'europe-west1-b', role: 'db' },
      },
      {
        name: 'web-1',
        // the /32 alias is the instance's; the /24 pod range and the NAT address are not
        addresses: ['10.132.0.2', 'fd20:a:b::2', '10.132.0.50'],
        labels: {
          app: 'shop',
          env: 'prod',
          'gcp-tag/http-server': 'true',
          'gcp-tag/web': 'true',
          'gcp/network': 'shop-vpc',
          'gcp/zone': 'europe-west1-b',
          role: 'web',
        },
      },
    ])
    const web = r.inventory.workloads.find((w) => w.name === 'web-1')
    expect(web?.labelOrigins).toMatchObject({ app: 'source:gcp', 'gcp-tag/web': 'source:gcp' })
    expect(web?.tags).toEqual({ app: 'shop', env: 'prod', role: 'web' })
  })

  it('reads one instance, an instances.list and an aggregatedList alike', () => {
    const one = gce('a', { networkIP: '10.0.0.1' })
    const list = { kind: 'compute#instanceList', items: [gce('b', { networkIP: '10.0.0.2' })] }
    const agg = {
      kind: 'compute#instanceAggregatedList',
      items: {
        'zones/europe-west1-b': { instances: [gce('c', { networkIP: '10.0.0.3' })] },
        'zones/us-east1-c': { warning: { code: 'NO_RESULTS_ON_PAGE' } },
      },
    }
    const r = loadFromSources(
      defaultWorkspace('.'),
      [
        { path: 'one.json', text: JSON.stringify(one) },
        { path: 'list.json', text: JSON.stringify(list) },
        { path: 'agg.json', text: JSON.stringify(agg) },
      ],
      [],
      new Date(0),
    )
    expect(codes(r.diagnostics)).toEqual([])
    expect(r.inventory.workloads.map((w) => `${w.name} ${w.addresses[0]?.ip}`)).toEqual([
      'a 10.0.0.1',
      'b 10.0.0.2',
      'c 10.0.0.3',
    ])
  })

  it('a bad address, a missing name and an instance with no address are reported where they are', () => {
    const r = load('gce.json', [
      gce('bad', { networkIP: '10.0.0.300' }),
      { ...gce('x', { networkIP: '10.0.0.4' }), name: undefined },
      gce('none', { networkIP: undefined }),
      gce('ok', { networkIP: '10.0.0.5' }),
    ])
    expect(codes(r.diagnostics)).toEqual([
      // (lines of the JSON as load() writes it) networkIP of the first instance, line 21; the
      // instance without a name, from line 25; the one with no address, from line 47
      'error inventory/bad-address gce.json:21',
      'error schema/missing-field gce.json:25',
      'warning inventory/no-address gce.json:47',
    ])
  })

  it('an AWS describe-instances file and a gcloud file load side by side', () => {
    const r = load('gce.json', [gce('g', { networkIP: '10.0.0.7' })], {
      path: 'ec2.json',
      text: JSON.stringify({
        Reservations: [{ Instances: [{ InstanceId: 'i-1', PrivateIpAddress: '10.1.0.7' }] }],
      }),
    })
    expect(codes(r.diagnostics)).toEqual([])
    expect(r.inventory.workloads.map((w) => w.name)).toEqual(['i-1', 'g'])
  })
})

const vm = (name: string, extra: Record<string, unknown> = {}) => ({
  id: `/subscriptions/0000/resourceGroups/SHOP-PROD/providers/Microsoft.Compute/virtualMachines/${name}`,
  name,
  type: 'Microsoft.Compute/virtualMachines',
  location: 'westeurope',
  resourceGroup: 'SHOP-PROD',
  powerState: 'VM running',
  privateIps: '10.1.0.4',
  publicIps: '20.50.1.2',
  tags: null,
  ...extra,
})

describe('Azure virtual machine inventory', () => {
  it('az vm list -d: private addresses, tags as labels (sanitised), resource group and location', () => {
    const r = load('vms.json', [
      vm('web-1', {
        privateIps: '10.1.0.4,10.1.1.4,fd00:db8::4',
        tags: { app: 'shop', 'cost center': 'A=1', env: 'prod' },
      }),
      vm('db-1', { privateIps: '10.1.2.5', tags: { role: 'db' } }),
    ])
    expect(codes(r.diagnostics)).toEqual([])
    expect(r.inventory.workloads.map(brief)).toEqual([
      {
        name: 'db-1',
        addresses: ['10.1.2.5'],
        labels: { 'azure/location': 'westeurope', 'azure/resource-group': 'shop-prod', role: 'db' },
      },
      {
        name: 'web-1',
        addresses: ['10.1.0.4', '10.1.1.4', 'fd00:db8::4'],
        labels: {
          app: 'shop',
          'azure/location': 'westeurope',
          'azure/resource-group': 'shop-prod',
          'cost-center': 'A-1',
          env: 'prod',
        },
      },
    ])
    const web = r.inventory.workloads.find((w) => w.name === 'web-1')
    expect(web?.labelOrigins?.['cost-center']).toBe('source:azure:tag:cost center')
    expect(web?.tags).toEqual({ app: 'shop', 'cost center': 'A=1', env: 'prod' })
  })

  it('without --show-details a machine has no privateIps: a warning that names the flag', () => {
    const r = load('vms.json', [vm('a', { privateIps: undefined }), vm('b')])
    expect(codes(r.diagnostics)).toEqual(['warning inventory/no-address vms.json:2'])
    expect(r.diagnostics[0]?.message).toContain('--show-details')
    expect(r.inventory.workloads.map((w) => w.name)).toEqual(['b'])
  })
})
