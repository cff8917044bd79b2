import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stringify } from 'yaml'
import { hasErrors, maxPort, type Diagnostic } from '../../src/core/index.js'
import {
  defaultWorkspace,
  loadFromSources,
  parseWorkspaceFile,
  type SourceFile,
} from '../../src/policy/index.js'
import { HOSTS, NOW, PAYMENTS } from './helpers.js'
import { SEED } from '../helpers/model.js'
import {
  editText,
  expectLocatedInside,
  junkValues,
  PROTOTYPE_NAMES,
  runs,
  textEdit,
  type TextEdit,
} from '../helpers/fuzz.js'

/** Characters that matter to YAML, to selectors and to the parsers, plus some that do not. */
const CHARS = [
  ':',
  '-',
  ' ',
  '\n',
  '\t',
  '[',
  ']',
  '{',
  '}',
  ',',
  '"',
  "'",
  '&',
  '*',
  '!',
  '#',
  '%',
  '|',
  '>',
  '?',
  '@',
  '`',
  '/',
  '.',
  '0',
  '9',
  'a',
  'Z',
  '\u0000',
  '\u00e9',
  '\u{1F600}',
  '\r',
]
/** Words of the file formats; a `word` mutation swaps one for another (or for any text). */
const WORDS = ['tcp', 'udp', 'icmp', 'any', 'allow', 'deny', 'enforce', 'monitor', 'observe']
const WORD_RE = new RegExp(`\\b(${WORDS.join('|')}|global|In|NotIn|Exists|DoesNotExist)\\b`, 'g')
const mutation = textEdit(
  fc.oneof(
    fc.constantFrom(...CHARS),
    fc.string({ minLength: 1, maxLength: 3 }),
    fc.constantFrom(...PROTOTYPE_NAMES),
    fc.constantFrom(...WORDS),
  ),
)

const mutate = (text: string, ms: readonly TextEdit[]): string => editText(text, ms, WORD_RE)

describe('fuzz: mutated policy and inventory files', () => {
  it('never_throw_and_never_half_load', () => {
    fc.assert(
      fc.property(
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        (ms, inInventory) => {
          const policy = inInventory ? PAYMENTS : { ...PAYMENTS, text: mutate(PAYMENTS.text, ms) }
          const hosts = inInventory ? { ...HOSTS, text: mutate(HOSTS.text, ms) } : HOSTS
          const r = loadFromSources(defaultWorkspace('.'), [hosts], [policy], NOW)
          for (const d of r.diagnostics) {
            expect(d.location?.line ?? 1).toBeGreaterThanOrEqual(1)
            expect(d.location?.column ?? 1).toBeGreaterThanOrEqual(1)
          }
          if (hasErrors(r.diagnostics)) {
            expect(r.policySet.policies).toEqual([])
            expect(r.inventory.workloads).toEqual([])
          } else {
            expect(r.policySet.policies.length).toBeLessThanOrEqual(1)
          }
        },
      ),
      { seed: SEED, numRuns: runs(100) },
    )
  })
})

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url))

/** The files of a fixture folder, paths relative to it, sorted. */
function filesUnder(folder: string): SourceFile[] {
  const root = join(FIXTURES, folder)
  const out: SourceFile[] = []
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name)
      if (statSync(p).isDirectory()) walk(p)
      else out.push({ path: relative(root, p), text: readFileSync(p, 'utf8') })
    }
  }
  walk(root)
  return out
}

/**
 * Workspaces of the fixtures, each with every kind of input a user hands the loader: inventory
 * YAML with label rules, CSV, `kubectl get -o json` and AWS `describe-instances` dumps, Kubernetes
 * manifests, policy and enforcement YAML.
 */
const ESTATES: { inventory: SourceFile[]; policy: SourceFile[] }[] = [
  'good',
  'inventory-mixed',
  'inventory-conflict',
  'multi-error',
  'lint-estate',
  'eval-estate',
  'diff-estate',
].map((name) => {
  const files = filesUnder(name)
  return {
    inventory: files.filter((f) => f.path.startsWith('inventory/')),
    policy: files.filter((f) => f.path.startsWith('policy/')),
  }
})
// Kubernetes manifests as an inventory source, beside the good estate's policy
ESTATES.push({
  inventory: [{ path: 'inventory/manifests.yaml', text: filesUnder('k8s-import')[0]?.text ?? '' }],
  policy: (ESTATES[0]?.policy ?? []).filter((f) => f.path.includes('enforcement')),
})

function expectWholeOrNothing(
  r: ReturnType<typeof loadFromSources>,
  files: readonly SourceFile[],
): void {
  expectLocatedInside(r.diagnostics, files)
  if (hasErrors(r.diagnostics)) {
    expect(r.policySet.policies).toEqual([])
    expect(r.inventory.workloads).toEqual([])
    expect(r.inventory.externals).toEqual([])
    expect(r.policySet.enforcement).toEqual([])
    return
  }
  // what loads is valid: services on IANA protocols with ports in range, enforcement modes
  for (const p of r.policySet.policies)
    for (const rule of p.rules)
      for (const s of rule.services) {
        if (s.protocol === 'any') continue
        expect(Number.isInteger(s.protocol) && s.protocol >= 0 && s.protocol <= 255).toBe(true)
        expect(
          0 <= s.ports.lo && s.ports.lo <= s.ports.hi && s.ports.hi <= maxPort(s.protocol),
        ).toBe(true)
      }
  for (const e of r.policySet.enforcement)
    expect(['observe', 'monitor', 'enforce']).toContain(e.mode)
}

describe('fuzz: every workspace input', () => {
  it('mutations of any inventory, label-rules, CSV, Kubernetes, AWS, policy or enforcement file', () => {
    let loaded = 0
    fc.assert(
      fc.property(
        fc.nat(),
        fc.nat(),
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        (estate, which, ms) => {
          const e = ESTATES[estate % ESTATES.length] ?? { inventory: [], policy: [] }
          const all = [...e.inventory, ...e.policy]
          const k = which % all.length
          const files = all.map((f, i) => (i === k ? { ...f, text: mutate(f.text, ms) } : f))
          const inventory = files.slice(0, e.inventory.length)
          const policy = files.slice(e.inventory.length)
          const r = loadFromSources(defaultWorkspace('.'), inventory, policy, NOW)
          expectWholeOrNothing(r, files)
          if (!hasErrors(r.diagnostics)) loaded++
        },
      ),
      { seed: SEED, numRuns: runs(100) },
    )
    expect(loaded).toBeGreaterThan(0)
  })

  /** Values of every shape, often wrong, for the fields of the documents. */
  const junk: fc.Arbitrary<unknown> = junkValues(
    [
      null,
      '',
      'x',
      '10.0.0.1',
      '10.0.0.0/8',
      '10.0.0.300',
      '2001:db8::1',
      'fe80::1%eth0',
      '::ffff:10.0.0.1',
      'tcp/443',
      'tcp/70000',
      'icmp/8',
      'any',
      '^db-',
      '(',
      '2026-10-01T00:00:00Z',
      '2026-13-45',
      'enforce',
      ...PROTOTYPE_NAMES,
      0,
      -1,
      Number.POSITIVE_INFINITY,
      true,
      {},
      [],
    ],
    [
      'name',
      'addresses',
      'ip',
      'from',
      'to',
      'labels',
      'match',
      'cidr',
      'except',
      'tags',
      'tag',
      'selector',
      'mode',
      'ports',
      'id',
      'action',
      'role',
      'env',
      'scope',
      'workload',
      'external',
      'expires',
      'constructor',
      '__proto__',
      'toString',
    ],
  )

  it('generated values in the fields of inventory, label-rules, AWS, CSV, policy and enforcement documents', () => {
    fc.assert(
      fc.property(
        fc.array(junk, { minLength: 6, maxLength: 6 }),
        fc.array(
          fc.array(
            fc.oneof(
              junk.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))),
              fc.constantFrom('a;b', 'k=v', '"', ','),
            ),
            {
              minLength: 0,
              maxLength: 4,
            },
          ),
          { maxLength: 4 },
        ),
        ([workloads, externals, rules, instances, policyRules, modes], rows) => {
          const inventory: SourceFile[] = [
            {
              path: 'inventory/hosts.yaml',
              text: stringify({
                apiVersion: 'bulkhead.dev/v1',
                kind: 'Inventory',
                workloads,
                externals,
              }),
            },
            {
              path: 'inventory/rules.yaml',
              text: stringify({ apiVersion: 'bulkhead.dev/v1', kind: 'LabelRules', rules }),
            },
            {
              path: 'inventory/ec2.json',
              text: JSON.stringify({ Reservations: [{ Instances: instances }] }),
            },
            {
              path: 'inventory/extra.csv',
              text: ['name,addresses,labels', ...rows.map((r) => r.join(','))].join('\n'),
            },
          ]
          const policy: SourceFile[] = [
            {
              path: 'policy/p.yaml',
              text: stringify({
                apiVersion: 'bulkhead.dev/v1',
                kind: 'Policy',
                metadata: { name: 'p', owner: 'o' },
                rules: policyRules,
              }),
            },
            {
              path: 'policy/enforcement.yaml',
              text: stringify({ apiVersion: 'bulkhead.dev/v1', kind: 'Enforcement', modes }),
            },
          ]
          const r = loadFromSources(defaultWorkspace('.'), inventory, policy, NOW)
          expectWholeOrNothing(r, [...inventory, ...policy])
        },
      ),
      { seed: SEED, numRuns: runs(60) },
    )
  })

  it('mutations of the workspace file keep the defaults and say why', () => {
    const files = ['good', 'inventory-mixed', 'diff-estate'].map(
      (name) => filesUnder(name).find((f) => f.path === 'bulkhead.yaml') as SourceFile,
    )
    fc.assert(
      fc.property(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 6 }), (which, ms) => {
        const f = files[which % files.length] as SourceFile
        const file = { ...f, text: mutate(f.text, ms) }
        const sink: Diagnostic[] = []
        const w = parseWorkspaceFile('/ws', file, sink)
        expectLocatedInside(sink, [file])
        if (hasErrors(sink)) expect(w).toEqual(defaultWorkspace('/ws'))
      }),
      { seed: SEED, numRuns: runs(200) },
    )
  })
})
