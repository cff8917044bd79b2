/**
 * SARIF for GitHub code scanning from a workspace in a subfolder of a git repository: code
 * scanning reads a relative `artifactLocation.uri` from the repository root, so every location
 * (lint findings, diff findings, the failure log of a run whose OLD revision does not load) must
 * be a repository path, wherever the command ran and however the workspace and revisions were
 * named (`-w` absolute, `REV:./policy`). And every rule carries the descriptions GitHub documents
 * as required (shortDescription, fullDescription, help).
 */
import { gitIn } from '../helpers/process.js'
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toSarif } from '../../src/cli/render/sarif.js'
import { cli } from '../helpers/cli.js'

const W = 'test/fixtures/diff-estate'
const AT = '2026-11-01T00:00:00Z'

interface Log {
  runs: {
    tool: { driver: { rules: Record<string, { text: string } | string>[] } }
    results: {
      message: { text: string }
      locations: { physicalLocation: { artifactLocation: { uri: string }; region?: unknown } }[]
      relatedLocations?: { physicalLocation: { artifactLocation: { uri: string } } }[]
    }[]
  }[]
}

const uris = (log: Log): string[] => [
  ...new Set(
    log.runs[0]!.results.flatMap((r) => [
      ...r.locations.map((l) => l.physicalLocation.artifactLocation.uri),
      ...(r.relatedLocations ?? []).map((l) => l.physicalLocation.artifactLocation.uri),
    ]),
  ),
]

describe('SARIF locations are repository paths', () => {
  let repo: string
  const git = (...args: string[]): void => {
    gitIn(repo)(...args)
  }
  beforeAll(() => {
    // the workspace is the folder net/ of the repository; the tests run from elsewhere
    repo = mkdtempSync(path.join(tmpdir(), 'bulkhead-sarif-paths-'))
    git('init', '-q')
    cpSync(`${W}/bulkhead.yaml`, path.join(repo, 'net/bulkhead.yaml'))
    cpSync(`${W}/inventory`, path.join(repo, 'net/inventory'), { recursive: true })
    cpSync(`${W}/policy-old`, path.join(repo, 'net/policy'), { recursive: true })
    git('add', '.')
    git('commit', '-q', '-m', 'old')
    rmSync(path.join(repo, 'net/policy'), { recursive: true })
    cpSync(`${W}/policy`, path.join(repo, 'net/policy'), { recursive: true })
    git('add', '-A')
    git('commit', '-q', '-m', 'new')
    // a third commit breaks the policy file, a fourth repairs it: diffing the fourth against
    // the third stops on the OLD revision's error
    writeFileSync(path.join(repo, 'net/policy/shop.yaml'), 'rules: [\n')
    git('commit', '-q', '-am', 'broken')
    git('checkout', '-q', 'HEAD~1', '--', 'net/policy/shop.yaml')
    git('commit', '-q', '-am', 'repaired')
  })
  afterAll(() => {
    if (repo) rmSync(repo, { recursive: true, force: true })
  })

  it('lint -w ABSOLUTE run outside the repository: net/policy/…, not file:// or ../', async () => {
    const r = await cli('lint', '-w', path.join(repo, 'net'), '--at', AT, '-o', 'sarif')
    expect([0, 2]).toContain(r.code) // findings or not: the log is written
    const found = uris(JSON.parse(r.stdout) as Log)
    expect(found.length).toBeGreaterThan(0)
    expect(found.every((u) => u.startsWith('net/policy/'))).toBe(true)
  })

  it('lint --policy REV:path: net/policy/… at the lines of that revision, not HEAD~3:…', async () => {
    const ws = path.join(repo, 'net')
    for (const spec of ['HEAD~3:./policy', 'HEAD~3:net/policy']) {
      const r = await cli(
        'lint',
        '-w',
        ws,
        '--policy',
        spec,
        '--at',
        AT,
        '--no-flows',
        '-o',
        'sarif',
      )
      expect([0, 2]).toContain(r.code)
      const log = JSON.parse(r.stdout) as Log
      const found = uris(log)
      expect(found.length).toBeGreaterThan(0)
      expect(found.every((u) => u.startsWith('net/policy/'))).toBe(true)
      // the revision linted is the one the lines are of: they are kept, as diff keeps NEW's
      expect(log.runs[0]!.results.every((x) => x.locations[0]!.physicalLocation.region)).toBe(true)
    }
  })

  it('diff REV:./policy NEW-folder: OLD and NEW places are both net/policy/…', async () => {
    const ws = path.join(repo, 'net')
    const r = await cli(
      'diff',
      'HEAD~3:./policy',
      path.join(ws, 'policy'),
      '-w',
      ws,
      '--at',
      AT,
      '--no-flows',
      '-o',
      'sarif',
    )
    expect(r.code).toBe(0)
    const found = uris(JSON.parse(r.stdout) as Log)
    expect(found).toEqual(['net/policy/shop.yaml'])
  })

  it('diff whose OLD revision does not load: the failure log names repository files', async () => {
    const ws = path.join(repo, 'net')
    const r = await cli(
      'diff',
      'HEAD~1:./policy',
      'HEAD:./policy',
      '-w',
      ws,
      '--at',
      AT,
      '-o',
      'sarif',
    )
    expect(r.code).toBe(1)
    const log = JSON.parse(r.stdout) as Log
    expect(uris(log)).toEqual(['net/policy/shop.yaml'])
    const res = log.runs[0]!.results[0]!
    // at the file, not at a line of the working tree, and the message says where it was
    expect(res.locations[0]!.physicalLocation.region).toBeUndefined()
    expect(res.message.text).toMatch(/\(at HEAD~1:\.\/policy\/shop\.yaml:\d+:\d+\)$/)
  })
})

describe('SARIF rules carry the descriptions code scanning requires', () => {
  it('shortDescription, fullDescription and help text for described and undescribed ids', () => {
    const log = toSarif(
      [
        { ruleId: 'lint/expired', level: 'error', message: 'm' },
        { ruleId: 'yaml/syntax', level: 'error', message: 'm' },
      ],
      {
        name: 'bulkhead',
        version: '0',
        rules: { 'lint/expired': { description: 'A rule is past its expiry.' } },
      },
    )
    const rules = log.runs[0]!.tool.driver.rules as {
      id: string
      shortDescription?: { text: string }
      fullDescription?: { text: string }
      help?: { text: string }
    }[]
    expect(rules.map((r) => r.id)).toEqual(['lint/expired', 'yaml/syntax'])
    for (const r of rules) {
      expect(r.shortDescription?.text).toBeTruthy()
      expect(r.fullDescription?.text).toBeTruthy()
      expect(r.help?.text).toBeTruthy()
    }
    expect(rules[0]!.fullDescription?.text).toBe('A rule is past its expiry.')
  })
})
