/**
 * `bulkhead lint` end to end on test/fixtures/lint-estate (one finding of each kind, worked out by
 * hand from the YAML), the SARIF writer, and exit codes.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LintOutput } from '../../src/cli/commands/lint.js'
import { toSarif } from '../../src/cli/render/sarif.js'
import { cli } from '../helpers/cli.js'

const W = 'test/fixtures/lint-estate'
const FILE = `${W}/policy/shop.yaml`
const AT = '2026-11-01T00:00:00Z'

async function lintJson(...args: string[]): Promise<{ code: number; out: LintOutput }> {
  const r = await cli('lint', '-w', W, '--at', AT, '-o', 'json', ...args)
  return { code: r.code, out: JSON.parse(r.stdout) as LintOutput }
}

const brief = (o: LintOutput): string[] =>
  o.findings.map((f) => `${f.location} ${f.severity} ${f.code} ${f.rule}`)

describe('bulkhead lint', () => {
  it('reports each finding with code, severity and location, and exits 2 on errors', async () => {
    const { code, out } = await lintJson()
    expect(code).toBe(2)
    expect(brief(out)).toEqual([
      // the two are the same rule: only the later is reported, so that removing it is safe
      `${FILE}:13:5 warning lint/redundant shop-prod/web-to-api-again`,
      `${FILE}:18:5 error lint/no-reason shop-prod/api-to-db`,
      `${FILE}:22:5 error lint/shadowed shop-prod/web-to-db`,
      `${FILE}:27:5 warning lint/broad-port shop-prod/everyone-to-web`,
      `${FILE}:28:12 warning lint/broad-source shop-prod/everyone-to-web`,
      `${FILE}:33:12 warning lint/broad-cidr shop-prod/office`,
      // everyone-to-web (any -> web, every TCP port) covers it
      `${FILE}:37:5 warning lint/redundant shop-prod/prod-scrape`,
      `${FILE}:38:12 warning lint/whole-environment shop-prod/prod-scrape`,
      `${FILE}:42:5 error lint/expired shop-prod/old-export`,
      `${FILE}:48:5 warning lint/emergency shop-prod/hotfix`,
      `${FILE}:48:5 warning lint/expiring shop-prod/hotfix`,
      `${FILE}:55:5 error lint/matches-nothing shop-prod/ghost`,
    ])
    expect(out).toMatchObject({ errors: 4, warnings: 8, flows: null })
    expect(out.findings.find((f) => f.code === 'lint/shadowed')?.related).toEqual([`${FILE}:60:5`])
  })

  it('--expiring-days moves the horizon', async () => {
    const { out } = await lintJson('--expiring-days', '5')
    expect(out.findings.some((f) => f.code === 'lint/expiring')).toBe(false)
  })

  it('reports unused rules when flows are given', async () => {
    const { out } = await lintJson('--flows', `${W}/flows.csv`)
    expect(out.flows).toEqual({
      from: 'files',
      what: `${W}/flows.csv`,
      count: 3,
      skipped: {},
      failed: [],
    })
    expect(out.findings.filter((f) => f.code === 'lint/unused').map((f) => f.rule)).toEqual([
      'shop-prod/web-to-api-again',
      'shop-prod/web-to-db',
      'shop-prod/office',
      'shop-prod/prod-scrape',
      'shop-prod/hotfix',
      'shop-prod/ghost',
      'shop-prod/no-web-to-db',
    ])
  })

  it('malformed records of --flows files are reported, and fatal with --strict', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-lint-flows-'))
    try {
      const flows = path.join(dir, 'flows.csv')
      const good = readFileSync(`${W}/flows.csv`, 'utf8').trimEnd()
      writeFileSync(
        flows,
        `${good}\n10.0.0.1,not-an-address,1,2,tcp,2026-10-20T10:00:00Z,2026-10-20T10:00:01Z,1,1,accept\n`,
      )
      const { out } = await lintJson('--flows', flows)
      expect(out.flows).toMatchObject({ count: 3, skipped: { 'bad-address': 1 } })
      const text = await cli('lint', '-w', W, '--at', AT, '--flows', flows)
      expect(text.stderr).toMatch(/skipped 1 malformed record.*bad-address 1/s)
      const strict = await cli('lint', '-w', W, '--at', AT, '--flows', flows, '--strict')
      expect(strict.code).toBe(1)
      expect(strict.stderr).toContain('ingest/malformed-record')
      const sim = await cli('simulate', '-w', W, '--at', AT, '--flows', flows, '--strict')
      expect(sim.code).toBe(1)
      expect(sim.stderr).toContain('ingest/malformed-record')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('text output is file:line:col severity code: message, with a summary', async () => {
    const r = await cli('lint', '-w', W, '--at', AT)
    expect(r.code).toBe(2)
    expect(r.stdout).toContain(
      `${FILE}:22:5 error lint/shadowed: rule shop-prod/web-to-db never allows anything`,
    )
    expect(r.stdout).toMatch(/4 errors, 8 warnings; unused rules not checked/)
  })

  it('--no-flows: the summary says unused rules were not checked because it was asked', async () => {
    const r = await cli('lint', '-w', W, '--at', AT, '--no-flows')
    expect(r.stdout).toMatch(/4 errors, 8 warnings; unused rules not checked \(--no-flows\)$/m)
    expect(r.stdout).not.toContain('ingest into the store')
  })

  it('-o sarif writes SARIF 2.1.0 with rule descriptions and physical locations', async () => {
    const r = await cli('lint', '-w', W, '--at', AT, '-o', 'sarif')
    expect(r.code).toBe(2)
    const log = JSON.parse(r.stdout) as {
      version: string
      runs: {
        tool: {
          driver: { name: string; rules: { id: string; shortDescription?: { text: string } }[] }
        }
        results: {
          ruleId: string
          ruleIndex: number
          level: string
          locations?: {
            physicalLocation: {
              artifactLocation: { uri: string }
              region?: { startLine: number; startColumn: number }
            }
          }[]
        }[]
      }[]
    }
    expect(log.version).toBe('2.1.0')
    const run = log.runs[0]!
    expect(run.tool.driver.name).toBe('bulkhead')
    expect(run.results).toHaveLength(12)
    const shadowed = run.results.find((x) => x.ruleId === 'lint/shadowed')!
    expect(shadowed.level).toBe('error')
    expect(shadowed.locations?.[0]?.physicalLocation).toEqual({
      artifactLocation: { uri: FILE },
      region: { startLine: 22, startColumn: 5 },
    })
    for (const res of run.results) expect(run.tool.driver.rules[res.ruleIndex]?.id).toBe(res.ruleId)
    expect(
      run.tool.driver.rules.find((x) => x.id === 'lint/expired')?.shortDescription?.text,
    ).toMatch(/expired/)
  })

  it('-o sarif: every result has its own fingerprint, kept when lines move and messages change', async () => {
    const fingerprints = async (ws: string, at: string): Promise<Map<string, string>> => {
      const r = await cli('lint', '-w', ws, '--at', at, '-o', 'sarif')
      const log = JSON.parse(r.stdout) as {
        runs: {
          results: {
            ruleId: string
            message: { text: string }
            partialFingerprints?: Record<string, string>
          }[]
        }[]
      }
      const out = new Map<string, string>()
      for (const res of log.runs[0]!.results) {
        const fp = res.partialFingerprints?.['bulkheadFindingKey/v1']
        expect(fp, res.message.text).toMatch(/^[0-9a-f]{32}$/)
        out.set(fp!, `${res.ruleId} ${res.message.text}`)
      }
      expect(out.size).toBe(log.runs[0]!.results.length)
      return out
    }
    const before = await fingerprints(W, AT)
    expect(before.size).toBe(12)
    // the same policy three lines further down, judged a day later: the hotfix rule's
    // `lint/expiring` message goes from "in 10 days" to "in 9 days"; no alert is new or gone
    const ws = mkdtempSync(path.join(tmpdir(), 'bulkhead-lint-fp-'))
    try {
      cpSync(W, ws, { recursive: true })
      const file = path.join(ws, 'policy/shop.yaml')
      writeFileSync(file, `# moved\n# down\n# three lines\n${readFileSync(file, 'utf8')}`)
      const after = await fingerprints(ws, '2026-11-02T00:00:00Z')
      expect([...after.keys()].sort()).toEqual([...before.keys()].sort())
      const expiring = [...after].find(([, text]) => text.startsWith('lint/expiring'))!
      expect(before.get(expiring[0])).toMatch(/in 10 days/)
      expect(expiring[1]).toMatch(/in 9 days/)
    } finally {
      rmSync(ws, { recursive: true, force: true })
    }
  })

  it('a clean policy exits 0', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-lint-clean-'))
    try {
      cpSync(W, dir, { recursive: true })
      const r = await cli('lint', '-w', dir, '--at', AT, '--no-flows', '-o', 'json')
      expect(r.code).toBe(2) // the fixture has errors; now remove the erring rules
      const file = path.join(dir, 'policy/shop.yaml')
      const text = readFileSync(file, 'utf8')
      const keep = text
        .split('\n  - id: ')
        .filter((chunk, i) => i === 0 || /^(web-to-api|everyone-to-web|no-web-to-db)\n/.test(chunk))
      writeFileSync(file, keep.join('\n  - id: '))
      const ok = await cli('lint', '-w', dir, '--at', AT, '--no-flows', '-o', 'json')
      expect(ok.code).toBe(0)
      expect((JSON.parse(ok.stdout) as LintOutput).errors).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('bad usage exits 1', async () => {
    expect((await cli('lint', '-w', W, '-o', 'xml')).code).toBe(1)
    expect((await cli('lint', '-w', W, '--expiring-days', 'soon')).code).toBe(1)
    // Number() reads "" and blanks as 0 and hexadecimal: each was taken as a horizon
    for (const days of ['', ' ', '0x10', '1e3', '-1', 'Infinity']) {
      const r = await cli('lint', '-w', W, '--expiring-days', days)
      expect(r.code, days).toBe(1)
      expect(r.stderr, days).toContain('cli/usage')
    }
  })
})

describe('lint from the store', () => {
  let dir = ''
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-lint-'))
    cpSync(W, dir, { recursive: true })
    expect((await cli('ingest', '-w', dir, path.join(dir, 'flows.csv'))).code).toBe(0)
  })
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  it('uses the workspace store for rule hits when it exists', async () => {
    const r = await cli('lint', '-w', dir, '--at', AT, '-o', 'json')
    const out = JSON.parse(r.stdout) as LintOutput
    expect(out.flows?.from).toBe('store')
    expect(out.flows?.count).toBe(3)
    expect(out.findings.filter((f) => f.code === 'lint/unused')).toHaveLength(7)
    const none = JSON.parse(
      (await cli('lint', '-w', dir, '--at', AT, '--no-flows', '-o', 'json')).stdout,
    ) as LintOutput
    expect(none.flows).toBeNull()
  })

  it('a window or a file that holds no flow checks no rule for use, and says so', async () => {
    // judged over nothing, every rule would read unused, those the stored flows use too
    const empty = path.join(dir, 'empty.csv')
    writeFileSync(
      empty,
      'src_ip,dst_ip,src_port,dst_port,protocol,start,end,packets,bytes,action\n',
    )
    for (const args of [
      ['--since', '2027-01-01T00:00:00Z'],
      ['--flows', empty],
    ]) {
      const r = await cli('lint', '-w', dir, '--at', AT, '-o', 'json', ...args)
      const out = JSON.parse(r.stdout) as LintOutput
      expect(out.flows?.count, args.join(' ')).toBe(0)
      expect(out.findings.filter((f) => f.code === 'lint/unused')).toEqual([])
      expect(r.stderr).toContain('simulate/no-flows')
      const text = await cli('lint', '-w', dir, '--at', AT, ...args)
      expect(text.stdout).toContain('unused rules not checked: no flows were judged')
    }
  })
})

describe('toSarif', () => {
  it('makes paths relative to baseDir, keeps others as file URIs, omits unknown regions', () => {
    const log = toSarif(
      [
        {
          ruleId: 'x/a',
          level: 'warning',
          message: 'm1',
          location: { file: '/repo/policy/a b.yaml', line: 3, column: 7 },
        },
        {
          ruleId: 'x/b',
          level: 'note',
          message: 'm2',
          location: { file: '/elsewhere/c.yaml', line: 0, column: 0 },
        },
        { ruleId: 'x/a', level: 'error', message: 'm3' },
        {
          ruleId: 'x/a',
          level: 'warning',
          message: 'm4',
          location: { file: '/repo/..dots/p.yaml', line: 1, column: 1 },
        },
      ],
      {
        name: 't',
        version: '1.2.3',
        baseDir: '/repo',
        rules: { 'x/z': { description: 'unused id' } },
      },
    )
    const run = log.runs[0]!
    expect(run.tool.driver.rules.map((r) => r['id'])).toEqual(['x/a', 'x/b', 'x/z'])
    expect(run.results[0]).toMatchObject({
      ruleId: 'x/a',
      ruleIndex: 0,
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: 'policy/a%20b.yaml' },
            region: { startLine: 3, startColumn: 7 },
          },
        },
      ],
    })
    expect(run.results[1]).toMatchObject({
      ruleIndex: 1,
      locations: [{ physicalLocation: { artifactLocation: { uri: 'file:///elsewhere/c.yaml' } } }],
    })
    expect(run.results[1]?.['locations']).not.toHaveProperty('0.physicalLocation.region')
    expect(run.results[2]).not.toHaveProperty('locations')
    // a folder whose name starts with `..` is inside baseDir, not outside it
    expect(run.results[3]).toMatchObject({
      locations: [{ physicalLocation: { artifactLocation: { uri: '..dots/p.yaml' } } }],
    })
  })
})
