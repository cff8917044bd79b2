/**
 * The parse cache's promise (src/policy/parse-cache.ts): a YAML file read from the documents
 * `parsedYamlOf` gives (values and node offsets) reads exactly as the file parsed by the `yaml`
 * package: the same values, and the same location for every path a diagnostic may name (existing
 * or not, value or key), the same source text of every number and boolean.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import {
  parsedYamlOf,
  parseYamlFile,
  type SourceFile,
  type YamlDoc,
  type YamlPath,
} from '../../src/core/yaml-source.js'
import type { Diagnostic } from '../../src/core/index.js'
import { SEED } from '../helpers/model.js'

/** Every path into `value`, and after each a few that do not exist. */
function pathsOf(value: unknown, at: YamlPath = [], out: YamlPath[] = []): YamlPath[] {
  out.push(at, [...at, 'missing'], [...at, 7])
  if (Array.isArray(value)) value.forEach((v, i) => pathsOf(v, [...at, i], out))
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      pathsOf(v, [...at, k], out)
      // a key that reads as a number, named by a number
      if (/^\d+$/.test(k)) out.push([...at, Number(k)])
    }
  return out
}

/** What a reader of `docs` sees: values, locations of every path (value and key), number sources. */
function seen(docs: readonly YamlDoc[]): unknown[] {
  return docs.map((d) => ({
    index: d.index,
    value: d.value,
    at: pathsOf(d.value).map((p) => [p, d.loc(p), d.loc(p, 'key'), sourceOf(d, p)]),
  }))
}

function sourceOf(d: YamlDoc, p: YamlPath): string | undefined {
  let v: unknown = d.value
  for (const seg of p) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, seg)) return undefined
    v = (v as Record<string | number, unknown>)[seg]
  }
  return typeof v === 'number' || typeof v === 'boolean' ? d.labelText(v, p) : undefined
}

function bothWays(text: string): { direct: unknown[]; cached: unknown[] } | undefined {
  const file: SourceFile = { path: 'f.yaml', text }
  const parsed = parsedYamlOf(file)
  if (parsed === undefined) return undefined
  const sinkA: Diagnostic[] = []
  const sinkB: Diagnostic[] = []
  // the documents go through JSON, as the cache keeps them
  const kept = JSON.parse(JSON.stringify(parsed)) as typeof parsed
  const direct = seen(parseYamlFile(file, sinkA))
  const cached = seen(parseYamlFile({ ...file, parsed: kept }, sinkB))
  expect(sinkA).toEqual([])
  expect(sinkB).toEqual([])
  return { direct, cached }
}

const key = fc.oneof(
  fc.constantFrom(
    'a',
    'name',
    'labels',
    'role',
    '0',
    '12',
    'with space',
    'x: y',
    '__proto__',
    'null',
    'true',
  ),
  fc.string({ maxLength: 6 }),
)
const scalar = fc.oneof(
  fc.constantFrom('', 'x', '1.10', 'yes', 'null', '- a', '#c', 'a: b', 'multi\nline', ' lead'),
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0)),
  fc.boolean(),
  fc.constant(null),
)
const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('tree'), { maxLength: 4 }),
    fc.dictionary(key, tie('tree'), { maxKeys: 4 }),
  ),
}))

/** Ways `yaml.stringify` writes the same value. */
const style = fc.record({
  indent: fc.constantFrom(2, 4),
  flow: fc.boolean(),
  quote: fc.constantFrom('PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE'),
})

describe('parse cache: documents read from parsedYamlOf equal the parsed file', () => {
  it('values, every location and every number source, for generated files (fast-check)', () => {
    let compared = 0
    fc.assert(
      fc.property(fc.array(tree, { minLength: 1, maxLength: 3 }), style, (docs, st) => {
        const text = docs
          .map((d) =>
            stringify(d, {
              indent: st.indent,
              collectionStyle: st.flow ? 'flow' : 'block',
              defaultStringType: st.quote as 'PLAIN',
            }),
          )
          .join('---\n# between documents\n')
        const r = bothWays(text)
        if (r === undefined) return
        compared++
        expect(r.cached).toEqual(r.direct)
      }),
      { seed: SEED, numRuns: 300 },
    )
    // most generated files are cached: the property compares something
    expect(compared).toBeGreaterThan(200)
  })

  it('hand-written shapes: keys without values, number and boolean sources, block scalars, comments, empty documents', () => {
    const text = [
      '# an inventory',
      'apiVersion: bulkhead.dev/v1',
      'kind: Inventory',
      'workloads:',
      '  - name: w0   # first',
      '    addresses: [10.0.0.1, "2001:db8::1"]',
      '    labels: { tier: 1, version: 1.10, on: true, off: False, hex: 0x1F, exp: 1e3 }',
      '  - name: w1',
      '    addresses:',
      '      - ip: 10.0.0.2',
      '        from: 2026-10-01T00:00:00Z',
      '    labels:',
      '      empty:',
      '      tilde: ~',
      '      text: |',
      '        two',
      '        lines',
      '      folded: >-',
      '        folded',
      '        text',
      '  - {}',
      '  - []',
      '---',
      '# only a comment',
      '---',
      '"quoted key": 1',
      "'single': two",
      '? complex',
      ': value',
      '...',
      '---',
      '- top',
      '- level',
      '',
    ].join('\n')
    const r = bothWays(text)
    expect(r).toBeDefined()
    expect(r?.cached).toEqual(r?.direct)
    // the empty document keeps its place: the next ones are documents 2 and 3
    expect((r?.direct as { index: number }[]).map((d) => d.index)).toEqual([0, 2, 3])
  })

  it('is not given for what the offsets cannot follow or JSON cannot carry, nor for a file with errors', () => {
    const none = [
      'a: &x { b: 1 }\nc: *x\n', // an alias
      'base: &b { r: 1 }\nd:\n  <<: *b\n  s: 2\n', // a merge key
      'a: .nan\n',
      'a: -.inf\n',
      'a: -0\n',
      '[a, b]: 1\n', // a key that is not a scalar
      '1: a\n"1": b\n', // two keys with the same text
      'a: [1\n', // a syntax error
      'a: 1\na: 2\n', // a repeated key
      '{"json": true}\n', // read as JSON, fast already
    ]
    for (const text of none) expect(parsedYamlOf({ path: 'f.yaml', text }), text).toBeUndefined()
    expect(parsedYamlOf({ path: 'f.yaml', text: 'a: 0\n' })).toBeDefined()
  })
})
