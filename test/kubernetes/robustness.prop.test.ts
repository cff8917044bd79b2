import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { analyze, analyzeDocuments } from '../../src/kubernetes/index.js'
import { SEED } from '../helpers/model.js'
import { junkValues, runs } from '../helpers/fuzz.js'

const KINDS = [
  'NetworkPolicy',
  'AdminNetworkPolicy',
  'BaselineAdminNetworkPolicy',
  'Pod',
  'Deployment',
  'CronJob',
  'Namespace',
  'Service',
  'Ingress',
  'Route',
  'List',
]

/** Values shaped like Kubernetes fields, often wrong. */
const junk: fc.Arbitrary<unknown> = junkValues(
  [
    null,
    '',
    'TCP',
    'Pass',
    '10.0.0.0/8',
    '10.0.0.300/8',
    'http',
    80,
    -1,
    70000,
    {},
    [],
    'constructor',
  ],
  [
    'podSelector',
    'namespaceSelector',
    'ipBlock',
    'cidr',
    'except',
    'ingress',
    'egress',
    'from',
    'to',
    'ports',
    'port',
    'endPort',
    'protocol',
    'matchLabels',
    'matchExpressions',
    'key',
    'operator',
    'values',
    'priority',
    'subject',
    'namespaces',
    'pods',
    'networks',
    'action',
    'name',
    'portNumber',
    'namedPort',
    'portRange',
    'start',
    'end',
    'policyTypes',
    'containers',
    'items',
    'rules',
    'constructor',
    '__proto__',
    'toString',
  ],
)

describe('bad input never crashes the analysis', () => {
  it('random documents give diagnostics, not exceptions', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            kind: fc.constantFrom(...KINDS),
            name: fc.option(fc.constantFrom('a', 'default', ''), { nil: undefined }),
            spec: junk,
            items: junk,
          }),
          { maxLength: 5 },
        ),
        (docs) => {
          const objs = docs.map((d) => ({
            apiVersion: 'v1',
            kind: d.kind,
            metadata: d.name === undefined ? {} : { name: d.name, namespace: 'ns' },
            spec: d.spec,
            ...(d.kind === 'List' ? { items: d.items } : {}),
          }))
          const a = analyzeDocuments(objs)
          for (const x of a.diagnostics) expect(x.code).toMatch(/^[a-z0-9]+\/[a-z0-9-]+$/)
        },
      ),
      { seed: SEED, numRuns: runs(300) },
    )
  })

  it('YAML syntax errors and non-objects are diagnostics', () => {
    const a = analyze([
      { path: 'bad.yaml', text: 'kind: [unclosed\n' },
      { path: 'scalar.yaml', text: '42\n' },
      { path: 'seq.json', text: '[1, 2]' },
    ])
    expect(a.diagnostics.map((d) => d.code)).toContain('yaml/syntax')
    expect(a.diagnostics.filter((d) => d.code === 'k8s/not-kubernetes')).toHaveLength(2)
    expect(a.connections).toEqual([])
  })
})
