/**
 * @module Every SARIF log Bulkhead writes (`lint -o sarif`, `diff -o sarif`, the log of a run
 * that stopped on an input error) checked against what its consumers read, not against
 * Bulkhead's own reader: the OASIS SARIF 2.1.0 JSON schema (`test/fixtures/schemas/
 * sarif-schema-2.1.0.json`, PROVENANCE.md there), validated with ajv; then the rules GitHub
 * code scanning applies on upload beyond the schema ("SARIF support for code scanning", and the
 * upload errors its users report):
 * - every result has at least one location, with a non-empty `artifactLocation.uri`: a result
 *   without one makes code scanning reject the whole file ("locationFromSarifResult: expected
 *   at least one location", github/codeql-action#1738, #2459);
 * - the uri of a file in the repository is relative to the repository root (no scheme, no
 *   `..`); a `region` has `startLine` ≥ 1;
 * - `message.text` non-empty; `ruleId` names a rule of `tool.driver.rules` and `ruleIndex` is
 *   its index; every rule has non-empty `shortDescription`, `fullDescription` and `help` text;
 * - `partialFingerprints` on every `lint` and `diff` result (code scanning tracks alerts by it);
 * - upload limits: at most 20 runs per file and 25 000 results per run (over either the upload
 *   is rejected; of the results, code scanning keeps the 5 000 most severe).
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import Ajv from 'ajv'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli } from '../helpers/cli.js'
import { gitIn } from '../helpers/process.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const fixtures = path.join(here, '..', 'fixtures')
const AT = '2026-11-01T00:00:00Z'
const schema = JSON.parse(
  readFileSync(path.join(fixtures, 'schemas', 'sarif-schema-2.1.0.json'), 'utf8'),
) as { $id: string; properties: { version: { enum: string[] } } }

const ajv = new Ajv({ allErrors: true })
const validate = ajv.compile(schema)

interface Loc {
  physicalLocation?: {
    artifactLocation?: { uri?: string }
    region?: { startLine?: number }
  }
}
interface Log {
  runs: {
    tool: {
      driver: {
        rules: {
          id: string
          shortDescription?: { text?: string }
          fullDescription?: { text?: string }
          help?: { text?: string }
        }[]
      }
    }
    results: {
      ruleId?: string
      ruleIndex?: number
      level?: string
      message: { text?: string }
      locations?: Loc[]
      relatedLocations?: Loc[]
      partialFingerprints?: Record<string, string>
    }[]
  }[]
}

/** The code scanning rules above that `log` breaks, as readable strings (empty: none). */
function codeScanningProblems(log: Log, opts: { fingerprints: boolean }): string[] {
  const problems: string[] = []
  if (log.runs.length > 20) problems.push(`${String(log.runs.length)} runs (limit 20)`)
  for (const run of log.runs) {
    if (run.results.length > 25_000)
      problems.push(`${String(run.results.length)} results in a run (limit 25000)`)
    const rules = run.tool.driver.rules
    for (const rule of rules) {
      for (const k of ['shortDescription', 'fullDescription', 'help'] as const)
        if (!rule[k]?.text) problems.push(`rule ${rule.id}: no ${k}.text`)
    }
    run.results.forEach((r, i) => {
      const at = `result ${String(i)} (${r.ruleId ?? '?'})`
      if (!r.message.text) problems.push(`${at}: empty message`)
      if (r.ruleId === undefined || rules[r.ruleIndex ?? -1]?.id !== r.ruleId)
        problems.push(`${at}: ruleIndex does not name its rule`)
      if (!r.locations || r.locations.length === 0) problems.push(`${at}: no location`)
      for (const l of [...(r.locations ?? []), ...(r.relatedLocations ?? [])]) {
        const uri = l.physicalLocation?.artifactLocation?.uri
        if (!uri) problems.push(`${at}: location without artifactLocation.uri`)
        else if (/^[a-z][a-z0-9+.-]*:/i.test(uri) && !uri.startsWith('file:'))
          problems.push(`${at}: uri ${uri} has a scheme other than file`)
        else if (uri.startsWith('../') || uri.startsWith('/'))
          problems.push(`${at}: uri ${uri} is not relative to the repository root`)
        const region = l.physicalLocation?.region
        if (region && !((region.startLine ?? 0) >= 1)) problems.push(`${at}: region startLine < 1`)
      }
      if (opts.fingerprints && Object.keys(r.partialFingerprints ?? {}).length === 0)
        problems.push(`${at}: no partialFingerprints`)
    })
  }
  return problems
}

function check(stdout: string, opts: { fingerprints: boolean }): Log {
  const log = JSON.parse(stdout) as Log
  const ok = validate(log)
  expect(ok ? [] : ajv.errorsText(validate.errors, { separator: '\n' }).split('\n')).toEqual([])
  expect(codeScanningProblems(log, opts)).toEqual([])
  return log
}

let root: string
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'bulkhead-sarif-schema-'))
})
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

describe('SARIF against the OASIS schema and code scanning rules', () => {
  it('the stored schema is the OASIS SARIF 2.1.0 schema', () => {
    expect(schema.$id).toBe(
      'https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json',
    )
    expect(schema.properties.version.enum).toEqual(['2.1.0'])
    // and it rejects what it should: a result without a message, a line 0
    expect(validate({ version: '2.1.0', runs: [{ tool: { driver: { name: 'x' } } }] })).toBe(true)
    expect(
      validate({
        version: '2.1.0',
        runs: [{ tool: { driver: { name: 'x' } }, results: [{ ruleId: 'a' }] }],
      }),
    ).toBe(false)
    expect(
      validate({
        version: '2.1.0',
        runs: [
          {
            tool: { driver: { name: 'x' } },
            results: [
              {
                message: { text: 'm' },
                locations: [
                  {
                    physicalLocation: { artifactLocation: { uri: 'a' }, region: { startLine: 0 } },
                  },
                ],
              },
            ],
          },
        ],
      }),
    ).toBe(false)
  })

  it('lint -o sarif, with and without flows', async () => {
    const ws = path.join(fixtures, 'lint-estate')
    const a = await cli('lint', '-w', ws, '--at', AT, '-o', 'sarif')
    expect(a.code).toBe(2)
    expect(check(a.stdout, { fingerprints: true }).runs[0]!.results.length).toBeGreaterThan(5)
    const flows = path.join(fixtures, 'simulate-estate', 'flows.csv')
    const b = await cli('lint', '-w', ws, '--at', AT, '--flows', flows, '-o', 'sarif')
    expect(b.code).toBe(2)
    check(b.stdout, { fingerprints: true })
  })

  it('diff -o sarif: rules, connections, flows, Enforcement entries', async () => {
    const ws = path.join(fixtures, 'diff-estate')
    const flows = path.join(ws, 'flows.csv')
    for (const [oldDir, newDir] of [
      ['policy-old', 'policy'],
      ['policy', 'policy-enforce'],
    ] as const) {
      const r = await cli(
        'diff',
        path.join(ws, oldDir),
        path.join(ws, newDir),
        '-w',
        ws,
        '--flows',
        flows,
        '--at',
        AT,
        '-o',
        'sarif',
      )
      expect(r.code).toBe(0)
      expect(check(r.stdout, { fingerprints: true }).runs[0]!.results.length).toBeGreaterThan(0)
    }
  })

  it('diff -o sarif with OLD a git revision (places at a file without a line)', async () => {
    const repo = path.join(root, 'repo')
    mkdirSync(repo)
    const git = gitIn(repo)
    git('init', '-q')
    const ws = path.join(fixtures, 'diff-estate')
    cpSync(path.join(ws, 'bulkhead.yaml'), path.join(repo, 'bulkhead.yaml'))
    cpSync(path.join(ws, 'inventory'), path.join(repo, 'inventory'), { recursive: true })
    cpSync(path.join(ws, 'policy-old'), path.join(repo, 'policy'), { recursive: true })
    git('add', 'bulkhead.yaml', 'inventory', 'policy')
    git('commit', '-q', '-m', 'old')
    rmSync(path.join(repo, 'policy'), { recursive: true })
    cpSync(path.join(ws, 'policy'), path.join(repo, 'policy'), { recursive: true })
    const r = await cli(
      'diff',
      'HEAD:./policy',
      path.join(repo, 'policy'),
      '-w',
      repo,
      '--no-flows',
      '--at',
      AT,
      '-o',
      'sarif',
    )
    expect(r.code).toBe(0)
    check(r.stdout, { fingerprints: true })
  })

  it('the log of a failed run: policy errors, a missing workspace, a usage error', async () => {
    const broken = path.join(fixtures, 'multi-error')
    const runs = [
      ['lint', '-w', broken, '-o', 'sarif'],
      [
        'diff',
        path.join(broken, 'policy'),
        path.join(fixtures, 'diff-estate', 'policy'),
        '-w',
        path.join(fixtures, 'diff-estate'),
        '-o',
        'sarif',
      ],
      ['lint', '-w', path.join(root, 'no-such-workspace'), '-o', 'sarif'],
      // a diagnostic with no place of its own (a bad --at): code scanning still needs a location
      ['lint', '-w', path.join(fixtures, 'lint-estate'), '--at', 'not-a-time', '-o', 'sarif'],
      [
        'diff',
        path.join(fixtures, 'diff-estate', 'policy'),
        path.join(fixtures, 'diff-estate', 'policy'),
        '-w',
        path.join(fixtures, 'diff-estate'),
        '--at',
        'bad',
        '-o',
        'sarif',
      ],
    ]
    for (const args of runs) {
      const r = await cli(...args)
      expect(r.code, args.join(' ')).toBe(1)
      // a failed run's diagnostics carry no finding key: code scanning's uploader computes
      // fingerprints from the file's lines where it can
      check(r.stdout, { fingerprints: false })
    }
  })

  it('diff -o sarif of a change that opens more than 25 000 connections stays under the limit', async () => {
    // 170 workloads in one scope, a mesh rule: 170·169 = 28 730 connections added
    const ws = path.join(root, 'big')
    mkdirSync(path.join(ws, 'inventory'), { recursive: true })
    mkdirSync(path.join(ws, 'policy'))
    mkdirSync(path.join(ws, 'policy-old'))
    writeFileSync(
      path.join(ws, 'bulkhead.yaml'),
      'apiVersion: bulkhead.dev/v1\nkind: Workspace\ninventory: [inventory/]\npolicy: policy/\n',
    )
    const workloads = Array.from(
      { length: 170 },
      (_, i) =>
        `  - { name: app-${String(i)}, addresses: [10.5.0.${String(i + 1)}], labels: { app: big } }\n`,
    ).join('')
    writeFileSync(
      path.join(ws, 'inventory', 'estate.yaml'),
      `apiVersion: bulkhead.dev/v1\nkind: Inventory\nworkloads:\n${workloads}`,
    )
    writeFileSync(
      path.join(ws, 'policy', 'big.yaml'),
      `apiVersion: bulkhead.dev/v1
kind: Policy
metadata: { name: big, owner: team-big }
scope: { app: big }
rules:
  - { id: mesh, from: [{}], to: [{}], ports: [tcp/443], reason: every workload talks }
`,
    )
    const r = await cli(
      'diff',
      path.join(ws, 'policy-old'),
      path.join(ws, 'policy'),
      '-w',
      ws,
      '--no-flows',
      '--at',
      AT,
      '-o',
      'sarif',
    )
    expect(r.code).toBe(0)
    const log = check(r.stdout, { fingerprints: true })
    const results = log.runs[0]!.results
    // the rule added (a note like the connections) is kept; the run says how many were left out
    expect(results.length).toBe(25_000)
    expect(results.some((x) => x.ruleId === 'diff/rule-added')).toBe(true)
    expect(results.at(-1)!.message.text).toMatch(
      /^3732 more findings left out \(0 errors, 0 warnings, 3732 notes\)/,
    )
  }, 60_000)
})
