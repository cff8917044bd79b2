/**
 * Locations of YAML syntax errors (src/core/yaml-source.ts): regressions found by the fuzz
 * campaign (test/policy/fuzz.test.ts).
 */
import { describe, expect, it, vi } from 'vitest'
import type { Diagnostic } from '../../src/core/index.js'
import * as z from 'zod'
import { fieldName, parseYamlFile } from '../../src/core/yaml-source.js'

function syntaxErrors(text: string): Diagnostic[] {
  const sink: Diagnostic[] = []
  parseYamlFile({ path: 'f.yaml', text }, sink)
  return sink
}

describe('YAML syntax error locations', () => {
  it('an error after a multi-line plain scalar in an unexpected place points at its own line', () => {
    // `:-` then `s` on the next line is one plain scalar the parser does not expect; the `:`
    // after `s` is on line 3, column 2 (the yaml package's LineCounter misses that scalar's
    // newline and said 2:5, past the end of line 2)
    const diags = syntaxErrors(' :\n:-\ns:')
    expect(diags.map((d) => d.code)).toEqual(['yaml/syntax', 'yaml/syntax'])
    expect(diags.map((d) => d.location)).toEqual([
      { file: 'f.yaml', line: 2, column: 1 },
      { file: 'f.yaml', line: 3, column: 2 },
    ])
  })

  it('reports the first syntax error of each line, counting the rest of that line', () => {
    // an unquoted `[` in a flow map: the parser reports (almost) every token after it, on that
    // line and the next; one diagnostic per line is left, the first, where it was before
    const text = [
      'workloads:',
      '  - { name: web[Deployment], addresses: [10.0.0.1], labels: { app: web } }',
      '  - { name: api, addresses: [10.0.0.2], labels: { app: api } }',
      '',
    ].join('\n')
    const diags = syntaxErrors(text)
    expect(diags.length).toBeGreaterThan(0)
    expect(diags.every((d) => d.code === 'yaml/syntax')).toBe(true)
    const lines = diags.map((d) => d.location?.line)
    expect(new Set(lines).size).toBe(lines.length)
    // the first: `[` right after `web` (line 2, column 16), as the parser reports it
    expect(diags[0]?.location).toEqual({ file: 'f.yaml', line: 2, column: 16 })
    expect(diags[0]?.message).toMatch(
      /\(and \d+ more syntax errors on this line, most often caused/,
    )
  })
})

describe('YAML merge keys', () => {
  it('`<<: *anchor` merges the mapping, keys written beside it win', () => {
    // Kubernetes reads merge keys (go-yaml), so manifests use them (asialeaf/kube-httpserver
    // config/kube-httpserver.yaml: `labels: { <<: *labels, ... }`)
    const sink: Diagnostic[] = []
    const text = 'a: &x { app: web, tier: 1 }\nb:\n  <<: *x\n  tier: 2\n'
    const [doc] = parseYamlFile({ path: 'f.yaml', text }, sink)
    expect(sink).toEqual([])
    expect(doc?.value).toEqual({ a: { app: 'web', tier: 1 }, b: { app: 'web', tier: 2 } })
    // a merged key is located where the merge source writes it; a key written beside it, there
    expect(doc?.loc(['b', 'app'])).toEqual({ file: 'f.yaml', line: 1, column: 14 })
    expect(doc?.loc(['b', 'tier'])).toEqual({ file: 'f.yaml', line: 4, column: 9 })
  })

  it('a merged number label keeps its source text (1.10 is "1.10")', () => {
    const sink: Diagnostic[] = []
    const text = 'a: &x { version: 1.10 }\nb: { <<: [*x], tier: 1 }\n'
    const [doc] = parseYamlFile({ path: 'f.yaml', text }, sink)
    expect(sink).toEqual([])
    expect(doc?.labelText(1.1, ['b', 'version'])).toBe('1.10')
    expect(doc?.labelText(1, ['b', 'tier'])).toBe('1')
  })

  it('a merge source that is no mapping is yaml/syntax at that source', () => {
    expect(
      syntaxErrors('a:\n  <<: 5\n').map((d) => [d.code, d.location?.line, d.location?.column]),
    ).toEqual([['yaml/syntax', 2, 7]])
  })

  it('an alias bomb is refused at the alias where copies pass 100, quickly, without "ReferenceError"', () => {
    // billion laughs: each level repeats the one above 9 times (9^9 strings if expanded)
    const levels = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]']
    for (const [i, name] of ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].entries()) {
      const prev = String.fromCharCode(97 + i)
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`)
    }
    const started = Date.now()
    const diags = syntaxErrors(levels.join('\n') + '\n')
    expect(Date.now() - started).toBeLessThan(2000)
    expect(diags).toHaveLength(1)
    // the yaml package refuses the second *c (9 × 9 copies of a, then 2 × 81 > 100)
    expect(diags[0]).toMatchObject({
      code: 'yaml/syntax',
      location: { file: 'f.yaml', line: 4, column: 12 },
    })
    expect(diags[0]?.message).not.toMatch(/ReferenceError/)
  })

  it('an alias without its anchor is located at the alias, without "ReferenceError"', () => {
    const diags = syntaxErrors('a: 1\nb: {c: *nope}\n')
    expect(diags).toHaveLength(1)
    expect(diags[0]).toMatchObject({
      code: 'yaml/syntax',
      location: { file: 'f.yaml', line: 2, column: 8 },
    })
    expect(diags[0]?.message).toContain('*nope')
    expect(diags[0]?.message).not.toMatch(/ReferenceError/)
  })

  it('a document nested too deep for the parser says so, not "Maximum call stack size exceeded"', () => {
    const diags = syntaxErrors(`x: ${'['.repeat(2_000)}${']'.repeat(2_000)}\n`)
    expect(diags).toHaveLength(1)
    expect(diags[0]).toMatchObject({ code: 'yaml/syntax', location: { file: 'f.yaml', line: 1 } })
    expect(diags[0]?.message).toMatch(/nests too deep/)
    expect(diags[0]?.message).not.toMatch(/call stack/)
  })
})

describe('YAML keys and tags (s44 QA hostile F5, F6, F10)', () => {
  it('a repeated key is named, as in a JSON file, with a hint', () => {
    const sink = syntaxErrors('name: a\nlabels: { x: "1" }\nname: b\n')
    expect(sink).toEqual([
      expect.objectContaining({
        code: 'yaml/duplicate-key',
        message: 'Map keys must be unique ("name" is repeated)',
        location: { file: 'f.yaml', line: 3, column: 1 },
        hint: 'keep one of them',
      }),
    ])
  })

  it('an unknown tag is a warning at the tag, the value read as written', () => {
    const sink: Diagnostic[] = []
    const docs = parseYamlFile({ path: 'f.yaml', text: 'a: !foo bar\nb: !!js/function x\n' }, sink)
    expect(docs[0]?.value).toEqual({ a: 'bar', b: 'x' })
    expect(sink.map((d) => [d.code, d.severity, d.location?.line, d.location?.column])).toEqual([
      ['yaml/unknown-tag', 'warning', 1, 4],
      ['yaml/unknown-tag', 'warning', 2, 4],
    ])
    expect(sink.map((d) => d.message)).toEqual([
      'unknown tag !foo: the value is read as if untagged',
      'unknown tag !!js/function: the value is read as if untagged',
    ])
  })

  it('YAML 1.1 tags (!!omap, !!set, !!binary, !!timestamp) are unknown tags, read as untagged (s44 QA retest F1)', () => {
    // !!omap of a selector was an empty mapping: every workload in scope
    const sink: Diagnostic[] = []
    const text =
      'a: !!omap [ {role: web} ]\nb: !!binary aGk=\nc: !!timestamp 2020-01-01\nd: !!str 5\n'
    const docs = parseYamlFile({ path: 'f.yaml', text }, sink)
    expect(docs[0]?.value).toEqual({ a: [{ role: 'web' }], b: 'aGk=', c: '2020-01-01', d: '5' })
    expect(sink.map((d) => [d.code, d.location?.line])).toEqual([
      ['yaml/unknown-tag', 1],
      ['yaml/unknown-tag', 2],
      ['yaml/unknown-tag', 3],
    ])
  })

  it('a key that is a list prints no process warning of the yaml package', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined)
    try {
      syntaxErrors('labels: { ? [a, b] : c }\n')
      expect(warn).not.toHaveBeenCalled()
    } finally {
      warn.mockRestore()
    }
  })
})

describe('schema messages name the field as the file shows it', () => {
  it('a list item is named by its list and index, not by the bare index', () => {
    const sink: Diagnostic[] = []
    const [doc] = parseYamlFile({ path: 'f.yaml', text: 'values: [a, { b: 1 }]\n' }, sink)
    doc!.check(z.object({ values: z.array(z.string()) }), doc!.value, [])
    expect(sink).toHaveLength(1)
    expect(sink[0]).toMatchObject({
      code: 'schema/invalid-value',
      location: { file: 'f.yaml', line: 1, column: 13 },
    })
    expect(sink[0]!.message).toMatch(/^"values\[1\]": /)
    expect([fieldName(['rules', 2]), fieldName([]), fieldName(['a', 0, 'b', 1, 2])]).toEqual([
      'rules[2]',
      'document',
      'b[1][2]',
    ])
  })
})
