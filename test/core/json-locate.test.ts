/**
 * A JSON file is read with JSON.parse and located with JsonLocator (src/core/json-locate.ts).
 * Checked against the `yaml` package on the same documents: every path of random JSON values,
 * printed compact, indented and tab-indented, is located where the YAML parser locates it (the
 * same text behind a comment line, which sends it down the YAML path), and a repeated key is
 * `yaml/duplicate-key` at the repetition either way.
 */
import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import * as yaml from 'yaml'
import { jsonRepeatedKey } from '../../src/core/json-locate.js'
import type { Diagnostic } from '../../src/core/index.js'
import { parseYamlFile, type YamlPath } from '../../src/policy/index.js'
import { SEED } from '../helpers/model.js'

// count the YAML parser's whole-document parses, to show which path a file took
vi.mock('yaml', async (importOriginal) => {
  const real = await importOriginal<typeof import('yaml')>()
  return { ...real, parseAllDocuments: vi.fn(real.parseAllDocuments) }
})

/** Every path into `v`, containers and leaves, in document order. */
function pathsOf(v: unknown, prefix: YamlPath = []): YamlPath[] {
  const out: YamlPath[] = [prefix]
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...pathsOf(x, [...prefix, i])))
  else if (v !== null && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) out.push(...pathsOf(x, [...prefix, k]))
  return out
}

const containerArb = fc.oneof(
  fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
)

describe('JSON files: JSON.parse and JsonLocator ≡ the YAML parser', () => {
  it('the same value and the same location for every path, value and key', () => {
    fc.assert(
      fc.property(containerArb, fc.constantFrom(undefined, 2, '\t'), (v, indent) => {
        const text = JSON.stringify(v, null, indent)
        const sink: Diagnostic[] = []
        const [json] = parseYamlFile({ path: 'f.json', text }, sink)
        const [yaml] = parseYamlFile({ path: 'f.json', text: `# via YAML\n${text}` }, sink)
        expect(sink).toEqual([])
        if (json === undefined || yaml === undefined) throw new Error('no document')
        expect(json.value).toEqual(yaml.value)
        for (const p of pathsOf(v).concat([['missing'], [0, 'missing']])) {
          for (const target of ['value', 'key'] as const) {
            const a = json.loc(p, target)
            const b = yaml.loc(p, target)
            expect({ p, target, line: a.line + 1, column: a.column }).toEqual({
              p,
              target,
              line: b.line,
              column: b.column,
            })
          }
        }
      }),
      { seed: SEED, numRuns: 300 },
    )
  })

  it('a repeated key is yaml/duplicate-key at the repetition, and the document is left out', () => {
    const text = '{\n  "kind": "List",\n  "items": [{ "a": 1, "b": 2, "a": 3 }]\n}\n'
    const sink: Diagnostic[] = []
    expect(parseYamlFile({ path: 'p.json', text }, sink)).toEqual([])
    expect(sink).toMatchObject([
      { code: 'yaml/duplicate-key', location: { file: 'p.json', line: 3, column: 31 } },
    ])
    const viaYaml: Diagnostic[] = []
    parseYamlFile({ path: 'p.json', text: `#\n${text}` }, viaYaml)
    expect(viaYaml).toMatchObject([{ code: 'yaml/duplicate-key', location: { line: 4 } }])
    // the same message and hint either way (s44 QA retest F13)
    for (const d of [sink[0], viaYaml[0]]) {
      expect(d?.message).toBe('Map keys must be unique ("a" is repeated)')
      expect(d?.hint).toBe('keep one of them')
    }
  })

  it('finds no repeated key where there is none, and finds one inserted anywhere', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 2 }), {
          minKeys: 1,
          maxKeys: 5,
        }),
        (obj) => {
          const text = JSON.stringify(obj)
          expect(jsonRepeatedKey(text)).toBeUndefined()
          const key = Object.keys(obj)[0] as string
          const repeated = `${text.slice(0, -1)},${JSON.stringify(key)}:null}`
          expect(jsonRepeatedKey(repeated)).toEqual({ key, offset: text.length })
          // strings that look like keys inside values are not keys
          expect(jsonRepeatedKey(JSON.stringify([text, repeated]))).toBeUndefined()
        },
      ),
      { seed: SEED, numRuns: 300 },
    )
  })

  it('a JSON file does not go through the YAML parser (its node tree of a 143 MB pod list took > 4 GB)', () => {
    const parses = vi.mocked(yaml.parseAllDocuments)
    parses.mockClear()
    const items = Array.from({ length: 2000 }, (_, i) => ({ metadata: { name: `p${i}` } }))
    const text = JSON.stringify({ kind: 'List', items }, null, 2)
    const sink: Diagnostic[] = []
    const [d] = parseYamlFile({ path: 'pods.json', text }, sink)
    expect(parses).not.toHaveBeenCalled()
    expect(d?.loc(['items', 1999, 'metadata', 'name'])).toEqual({
      file: 'pods.json',
      line: 4 + 1999 * 5 + 2,
      column: 17,
    })
    parseYamlFile({ path: 'pods.yaml', text: `# YAML\n${text}` }, sink)
    expect(parses).toHaveBeenCalledTimes(1)
  })

  it('a byte-order mark and white space before the document are taken, as YAML takes them', () => {
    const sink: Diagnostic[] = []
    const [d] = parseYamlFile({ path: 'b.json', text: '\uFEFF\n  {"a": {"b": null}}' }, sink)
    expect(sink).toEqual([])
    expect(d?.value).toEqual({ a: { b: null } })
    // a null value is located at its key
    expect(d?.loc(['a', 'b'])).toEqual({ file: 'b.json', line: 2, column: 10 })
  })
})
