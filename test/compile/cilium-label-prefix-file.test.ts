/**
 * The cilium target with the agents' `--label-prefix-file` (`CiliumOptions.labelPrefixFile`,
 * `compile --cilium-label-prefix-file`). Expected answers worked out by hand from cilium/cilium
 * `pkg/labelsfilter/filter.go` (commits 0b22469da6e3659b027ab2827de9f346c4db95cd and
 * 82241fa527b37e29471cae1058b8addd6e113e2c alike):
 * - `readLabelPrefixCfgFrom` decodes the file with Go's `encoding/json` into
 *   `{Version int "version"; LabelPrefixes []*LabelPrefix "valid-prefixes"}`, `LabelPrefix`
 *   being `{Ignore bool "invert"; Prefix string "prefix"; Source string "source"}`; version must
 *   be 1, each prefix and source non-empty; one non-inverted prefix sets `whitelist`.
 * - No regular expression is compiled for the file's prefixes (`expr` stays nil), so
 *   `LabelPrefix.matches` falls back to `strings.HasPrefix(key, prefix)`, length `len(prefix)`.
 * - `ParseLabelPrefixCfg` takes the file's list instead of `defaultLabelPrefixCfg()` and appends
 *   the `--labels` prefixes to it (one include among them sets `whitelist` too).
 * - `filterLabels`: kept iff `(!whitelist && ignored == 0) || included > ignored`, `included` the
 *   longest include match and `ignored` the shortest ignore match.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import {
  ciliumAllows,
  ciliumIdentityKey,
  ciliumLabelFilter,
  parseCiliumLabelPrefixFile,
  planCilium,
  PodGroupResolver,
  type CiliumFilePrefix,
  type K8sObject,
} from '../../src/compile/index.js'
import type { Inventory } from '../../src/core/index.js'
import { evaluate } from '../../src/policy/evaluate.js'
import { cli } from '../helpers/cli.js'
import { allObjects } from './k8s-differential.js'
import { enforced, lbl, NOW, pod, policy, rule, tcp } from './kubernetes-fixture.js'

const NS = 'io.kubernetes.pod.namespace'
const k8s = (prefix: string, invert = false): CiliumFilePrefix => ({
  source: 'k8s',
  prefix,
  invert,
})

describe('parseCiliumLabelPrefixFile: as readLabelPrefixCfgFrom decodes the file', () => {
  it('a valid file: the prefixes in order, invert read, other fields ignored', () => {
    const text = `{
  "version": 1,
  "comment": "ignored by Go's decoder",
  "valid-prefixes": [
    {"source": "k8s", "prefix": "io.kubernetes.pod.namespace"},
    {"source": "k8s", "prefix": "team", "invert": true},
    {"source": "reserved", "prefix": ".*", "invert": null}
  ]
}`
    expect(parseCiliumLabelPrefixFile(text, 'f.json')).toEqual({
      prefixes: [k8s(NS), k8s('team', true), { source: 'reserved', prefix: '.*', invert: false }],
      diagnostics: [],
    })
  })

  it.each([
    ['valid-prefixes null or absent', '{"version": 1, "valid-prefixes": null}', []],
    ['valid-prefixes absent', '{"version": 1}', []],
  ])('%s: read as Cilium reads it', (_what, text, prefixes) => {
    expect(parseCiliumLabelPrefixFile(text, 'f.json')).toEqual({ prefixes, diagnostics: [] })
  })

  it.each([
    ['not JSON', '{"version": 1', 'yaml/syntax', 1, 14],
    ['bad JSON on line 3', '{\n  "version": 1,\n  "valid-prefixes": [\n', 'yaml/syntax', 4, 1],
    ['text after the object', '{"version": 1, "valid-prefixes": []} x', 'yaml/syntax', 1, 38],
    ['version 2', '{\n  "version": 2,\n  "valid-prefixes": []\n}', 'schema/invalid-value', 2, 14],
    // no version: at the object that lacks it
    ['no version', '{"valid-prefixes": []}', 'schema/invalid-value', 1, 1],
    ['version as a string', '{"version": "1"}', 'schema/invalid-value', 1, 13],
    ['not an object', '[]', 'schema/invalid-value', 1, 1],
    ['an empty file', '', 'schema/invalid-value', 1, 1],
    [
      'valid-prefixes not a list',
      '{"version": 1, "valid-prefixes": {}}',
      'schema/invalid-value',
      1,
      34,
    ],
    [
      'no prefix',
      '{"version": 1,\n "valid-prefixes": [\n  {"source": "k8s"}\n ]}',
      'schema/missing-field',
      3,
      3,
    ],
    [
      'no source',
      '{"version": 1, "valid-prefixes": [{"prefix": "app"}]}',
      'schema/missing-field',
      1,
      35,
    ],
    [
      'an empty source',
      '{"version": 1, "valid-prefixes": [{"prefix": "app", "source": ""}]}',
      'schema/invalid-value',
      1,
      63,
    ],
    [
      'invert as a string',
      '{"version": 1, "valid-prefixes": [{"prefix": "a", "source": "k8s", "invert": "yes"}]}',
      'schema/invalid-value',
      1,
      78,
    ],
    // Go decodes null into a nil *LabelPrefix, which the agent dereferences
    ['a null prefix', '{"version": 1, "valid-prefixes": [null]}', 'schema/missing-field', 1, 35],
    ['version twice', '{"version": 1, "version": 1}', 'yaml/duplicate-key', 1, 16],
  ])('%s: %j → %s at %i:%i', (_what, text, code, line, column) => {
    const r = parseCiliumLabelPrefixFile(text, 'f.json')
    expect(r.prefixes).toBeUndefined()
    expect(r.diagnostics[0]).toMatchObject({ code, location: { file: 'f.json', line, column } })
    for (const d of r.diagnostics) expect(d.hint).toContain('"valid-prefixes"')
  })

  it('every problem at once', () => {
    const r = parseCiliumLabelPrefixFile(
      '{"version": 3, "valid-prefixes": [{"source": "k8s"}, {"prefix": "a"}]}',
      'f.json',
    )
    expect(r.diagnostics.map((d) => d.code)).toEqual([
      'schema/invalid-value',
      'schema/missing-field',
      'schema/missing-field',
    ])
  })
})

describe('ciliumLabelFilter with a label prefix file: the identity keys, by hand', () => {
  const keys = ['app', 'role', 'team', 'app.kubernetes.io/name', 'kubernetes.io/os', NS]
  const kept = (labels: readonly string[], file: readonly CiliumFilePrefix[]): string[] => {
    const f = ciliumLabelFilter(labels, file)
    return keys.filter((k) => ciliumIdentityKey(k, f))
  }

  it.each([
    // includes ns, role; ignore team. whitelist: only keys an include matches. The default list
    // is gone: app.kubernetes.io/name (a default include) is dropped
    [
      'the file replaces the default list',
      [],
      [k8s(NS), k8s('role'), k8s('team', true)],
      ['role', NS],
    ],
    // --labels k8s:app (regexp "app", length 3) is appended: app and app.kubernetes.io/name kept
    [
      '--labels are appended to it',
      ['k8s:app'],
      [k8s(NS), k8s('role'), k8s('team', true)],
      ['app', 'role', 'app.kubernetes.io/name', NS],
    ],
    // a file prefix is text, not a regexp: "r.le" does not match role (as --labels it would)
    ['a file prefix is plain text', [], [k8s(NS), k8s('r.le')], [NS]],
    ['the same as --labels is a regexp', ['k8s:r.le'], [k8s(NS)], ['role', NS]],
    // "!team" in the file is an include of the text "!team", not an ignore
    ['a leading ! is a character', [], [k8s(NS), k8s('!team')], [NS]],
    // only inverted prefixes: no whitelist; everything but team kept, kubernetes.io/os too
    [
      'only ignore prefixes',
      [],
      [k8s('team', true)],
      ['app', 'role', 'app.kubernetes.io/name', 'kubernetes.io/os', NS],
    ],
    // ignore app (3) against include app.kubernetes.io (17): the longer include wins
    [
      'a longer include beats a shorter ignore',
      [],
      [k8s(NS), k8s('app.kubernetes.io'), k8s('app', true)],
      ['app.kubernetes.io/name', NS],
    ],
    // source "any" is not special in filter.go: it is not k8s, so it matches no pod label
    [
      'source any matches no pod label',
      [],
      [k8s(NS), { source: 'any', prefix: 'role', invert: false }],
      [NS],
    ],
    // an empty list: no prefix, no whitelist: every key kept; --labels k8s:!team drops team
    ['an empty file', [], [], keys],
    [
      'an empty file and an ignore label',
      ['k8s:!team'],
      [],
      ['app', 'role', 'app.kubernetes.io/name', 'kubernetes.io/os', NS],
    ],
  ] as const)('%s', (_what, labels, file, expected) => {
    expect(kept(labels, file)).toEqual(expected)
  })

  it('a filter without the namespace label is refused (namespaced policies would select nothing)', () => {
    expect(() => ciliumLabelFilter([], [k8s('role')])).toThrow(/io\.kubernetes\.pod\.namespace/)
    // the empty file keeps it, until an include --labels prefix whitelists the others
    expect(() => ciliumLabelFilter(['k8s:app'], [])).toThrow(/io\.kubernetes\.pod\.namespace/)
    // --labels refusals apply with a file as without
    expect(() => ciliumLabelFilter(['k8s:a(?=b)'], [k8s(NS)])).toThrow(/Perl syntax/)
    expect(() => ciliumLabelFilter(['k8s:(a)\\1'], [k8s(NS)])).toThrow(/escape sequence/)
  })
})

describe('planCilium with labelPrefixFile: selectors name identity labels only', () => {
  const inv: Inventory = {
    workloads: [
      pod('a', 'web', '10.244.1.10', {
        app: 'web',
        role: 'frontend',
        team: 'x',
        'app.kubernetes.io/name': 'web',
      }),
      pod('a', 'db', '10.244.1.11', { app: 'db', role: 'backend', team: 'x' }),
    ],
    externals: [],
    labelRules: [],
  }
  const ps = enforced([
    policy('p', {}, [
      rule('fe-be', [lbl({ role: 'frontend' })], [lbl({ role: 'backend' })], [tcp(5432)]),
      rule('team', [lbl({ team: 'x' })], [lbl({ app: 'db' })], [tcp(5433)]),
    ]),
  ])
  const file = [k8s(NS), k8s('role'), k8s('team', true)]

  /** Every label key a selector of `objects` names. */
  const selectorKeys = (objects: readonly K8sObject[]): Set<string> => {
    const out = new Set<string>()
    const walk = (v: unknown, inSelector: boolean): void => {
      if (Array.isArray(v)) for (const x of v) walk(x, inSelector)
      else if (typeof v === 'object' && v !== null)
        for (const [k, x] of Object.entries(v)) {
          if (inSelector && k === 'matchLabels')
            for (const key of Object.keys(x as object)) out.add(key.replace(/^k8s:/, ''))
          if (inSelector && k === 'key' && typeof x === 'string') out.add(x.replace(/^k8s:/, ''))
          walk(x, inSelector || /selector|endpoints/i.test(k))
        }
    }
    walk(objects, false)
    return out
  }

  it('no selector names app, team or app.kubernetes.io/name, and Cilium allows what the model allows', () => {
    const objects = allObjects(planCilium(inv, ps, { now: NOW, labelPrefixFile: file }))
    const keys = selectorKeys(objects)
    for (const k of ['app', 'team', 'app.kubernetes.io/name']) expect(keys, k).not.toContain(k)
    expect(keys).toContain('role')
    const filter = ciliumLabelFilter([], file)
    const pods = new PodGroupResolver(inv, { now: NOW }, 'cilium', filter).pods
    // the endpoints carry their identity labels only (role), as Cilium's filter leaves them
    const ends = pods.map((p) => ({
      ip: p.workload.addresses[0]?.ip ?? '',
      pod: {
        ...p,
        labels: Object.fromEntries(
          Object.entries(p.workload.labels).filter(
            ([k]) => k !== 'namespace' && ciliumIdentityKey(k, filter),
          ),
        ),
      },
    }))
    expect(ends.map((e) => Object.keys(e.pod.labels))).toEqual([['role'], ['role']])
    for (const src of ends)
      for (const dst of ends)
        for (const port of [5432, 5433]) {
          if (src === dst) continue
          const tuple = { src: src.ip, dst: dst.ip, protocol: 6, dstPort: port, at: NOW.getTime() }
          expect(ciliumAllows(objects, src, dst, 6, port), `${src.ip} -> ${dst.ip} ${port}`).toBe(
            evaluate(inv, ps, tuple).decision === 'allowed',
          )
        }
  })

  it('with the default filter, app.kubernetes.io/name would be a selectable key (the file changes it)', () => {
    const f = ciliumLabelFilter()
    expect(ciliumIdentityKey('app.kubernetes.io/name', f)).toBe(true)
    expect(ciliumIdentityKey('app.kubernetes.io/name', ciliumLabelFilter([], file))).toBe(false)
  })
})

describe('bulkhead compile --cilium-label-prefix-file', () => {
  const WS = fileURLToPath(new URL('../fixtures/compile-kubernetes/', import.meta.url))
  const tmp = mkdtempSync(path.join(tmpdir(), 'bulkhead-lpf-'))
  afterAll(() => rmSync(tmp, { recursive: true, force: true }))
  const write = (name: string, text: string): string => {
    const f = path.join(tmp, name)
    writeFileSync(f, text)
    return f
  }
  const compile = (...args: string[]): ReturnType<typeof cli> =>
    cli(
      'compile',
      '--out',
      path.join(tmp, 'out'),
      '-w',
      WS,
      '--at',
      '2026-11-22T12:00:00Z',
      ...args,
    )

  it('--help shows the option and an example', async () => {
    const help = (await cli('compile', '--help')).stdout
    expect(help).toContain('--cilium-label-prefix-file <file>')
    expect(help).toMatch(
      /\$ bulkhead compile --target cilium .*--cilium-label-prefix-file \S+\.json/,
    )
  })

  it('compiles with a valid file, and the file decides the identity labels', async () => {
    // only an ignore prefix: no whitelist, every label of the fixture kept
    const all = write(
      'all.json',
      '{"version": 1, "valid-prefixes": [{"source": "k8s", "prefix": "team", "invert": true}]}',
    )
    const r = await compile('--target', 'cilium', '--cilium-label-prefix-file', all)
    expect(r.code, r.stderr).toBe(0)
    // only the namespace label: shop/web and shop/api become one identity, and a rule taking one
    // of them is not expressible (as Cilium would see them)
    const nsOnly = write(
      'ns.json',
      JSON.stringify({ version: 1, 'valid-prefixes': [{ source: 'k8s', prefix: NS }] }),
    )
    const n = await compile('--target', 'cilium', '--cilium-label-prefix-file', nsOnly)
    expect(n.code).toBe(1)
    expect(n.stderr).toContain('compile/not-expressible')
  })

  it('a bad file: its located diagnostic, exit 1, before the workspace', async () => {
    const f = write('bad.json', '{\n  "version": 2\n}\n')
    const r = await cli(
      'compile',
      '--out',
      tmp,
      '-w',
      path.join(tmp, 'none'),
      '--target',
      'cilium',
      '--cilium-label-prefix-file',
      f,
      '-o',
      'json',
    )
    expect(r.code).toBe(1)
    const doc = JSON.parse(r.stdout) as { diagnostics: { code: string; location?: object }[] }
    expect(doc.diagnostics).toEqual([
      expect.objectContaining({
        code: 'schema/invalid-value',
        location: { file: f, line: 2, column: 14 },
      }),
    ])
  })

  it('a missing file is io/not-found; another target is cli/usage; no namespace label is cli/usage', async () => {
    const missing = await compile(
      '--target',
      'cilium',
      '--cilium-label-prefix-file',
      path.join(tmp, 'nope.json'),
    )
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('io/not-found')
    const f = write(
      'role.json',
      '{"version": 1, "valid-prefixes": [{"source": "k8s", "prefix": "role"}]}',
    )
    const other = await compile('--target', 'calico', '--cilium-label-prefix-file', f)
    expect(other.code).toBe(1)
    expect(other.stderr).toContain('cli/usage')
    const noNs = await compile('--target', 'cilium', '--cilium-label-prefix-file', f)
    expect(noNs.code).toBe(1)
    expect(noNs.stderr).toContain('cli/usage')
    expect(noNs.stderr).toContain(NS)
  })
})
