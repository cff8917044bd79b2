import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { SourceFile } from '../../src/policy/index.js'
import { analyze, analyzeDocuments, type Analysis } from '../../src/kubernetes/index.js'
import { SEED } from '../helpers/model.js'
import {
  editText,
  expectLocatedInside,
  junkValues,
  PROTOTYPE_NAMES,
  runs,
  textEdit,
} from '../helpers/fuzz.js'
import { CORPUS_SKIP, corpusPath } from '../helpers/corpora.js'

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

/**
 * Every connection allows something, on IANA protocol numbers only: a protocol the manifests
 * got wrong is a diagnostic, never a service of its own.
 */
function expectRealConnections(connections: Analysis['connections']): void {
  for (const c of connections) {
    expect(c.services.isEmpty, `${c.src} => ${c.dst}`).toBe(false)
    for (const p of c.services.byProtocol.keys())
      expect(Number.isInteger(p) && p >= 0 && p <= 255, `${c.src} => ${c.dst}: ${String(p)}`).toBe(
        true,
      )
  }
}

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
          expectRealConnections(a.connections)
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

/** The YAML and JSON files under `dir` (recursively, sorted), at most `max`; at least one. */
function manifests(dir: string, max: number): SourceFile[] {
  const out: SourceFile[] = []
  const walk = (d: string): void => {
    const names = readdirSync(d).sort()
    for (const n of names) {
      const p = join(d, n)
      if (statSync(p).isDirectory()) walk(p)
      else if (/\.(ya?ml|json)$/.test(n) && out.length < max)
        out.push({ path: n, text: readFileSync(p, 'utf8') })
    }
  }
  walk(dir)
  if (out.length === 0) throw new Error(`no manifest under ${dir}`)
  return out
}

const here = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url))
const MANIFESTS = [
  ...manifests(here('../fixtures/k8s-basic'), 10),
  ...manifests(here('../fixtures/k8s-import'), 2),
  // the corpora are optional: none when ../shared is absent, a failure when a folder is missing
  ...(CORPUS_SKIP !== undefined ? [] : manifests(corpusPath('np-guard/tests'), 20)),
  ...(CORPUS_SKIP !== undefined
    ? []
    : manifests(corpusPath('online-boutique/network-policies'), 4)),
]

/** Text edits: a few characters YAML cares about, protocol and action words, any short text. */
const edit = textEdit(
  fc.oneof(
    fc.constantFrom(':', '-', ' ', '\n', '  ', '{', '}', '[', ']', '"', '#', '0', '/', '&a', '*a'),
    fc.constantFrom('TCP', 'UDP', 'SCTP', '10.0.0.0/8', '65536', '-1', 'Pass', 'Deny', 'Allow'),
    fc.constantFrom(...PROTOTYPE_NAMES),
    fc.string({ maxLength: 3 }),
  ),
  true,
)

/** A protocol or action word becomes the edit's text (TCP -> constructor, Allow -> Deny). */
const K8S_WORDS = /\b(TCP|UDP|SCTP|Allow|Deny|Pass)\b/g

describe('edited manifests never crash the analysis', () => {
  it('mutations of the fixture and corpus manifests: diagnostics with codes, located inside their file', () => {
    expect(MANIFESTS.length).toBeGreaterThan(5)
    fc.assert(
      fc.property(
        fc.nat(),
        fc.nat({ max: 3 }),
        fc.array(edit, { minLength: 1, maxLength: 5 }),
        (first, count, edits) => {
          // a few files read together, the first one edited
          const files = Array.from({ length: count + 1 }, (_, k) => {
            const f = MANIFESTS[(first + k * 7) % MANIFESTS.length] as SourceFile
            return {
              path: `${String(k)}-${f.path}`,
              text: k === 0 ? editText(f.text, edits, K8S_WORDS) : f.text,
            }
          })
          const a = analyze(files)
          expectLocatedInside(a.diagnostics, files)
          expectRealConnections(a.connections)
        },
      ),
      { seed: SEED, numRuns: runs(25) },
    )
  })
})
