/**
 * @module `bulkhead compile --target nftables`: files written, summary formats, usage errors.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { cli } from '../helpers/cli.js'

const WS = fileURLToPath(new URL('../fixtures/compile-nftables/', import.meta.url))
const TMP = mkdtempSync(path.join(tmpdir(), 'bulkhead-compile-cli-'))
const NOW = '2026-11-22T12:00:00Z'

describe('bulkhead compile --target nftables', () => {
  afterAll(() => rmSync(TMP, { recursive: true, force: true }))

  it('writes one <workload>.nft per host and prints a summary', async () => {
    const out = path.join(TMP, 'all')
    const r = await cli(
      'compile',
      '--target',
      'nftables',
      '--out',
      out,
      '--all-hosts',
      '-w',
      WS,
      '--at',
      NOW,
    )
    expect(r.code).toBe(0)
    expect(readdirSync(out).sort()).toEqual([
      'dev-api-1.nft',
      'pay-api-1.nft',
      'pay-db-1.nft',
      'pay-web-1.nft',
    ])
    expect(r.stdout).toContain('4 files for 4 hosts written for target nftables')
    expect(r.stderr).toContain('warning compile/anti-lockout')
    const db = readFileSync(path.join(out, 'pay-db-1.nft'), 'utf8')
    expect(db).toContain('# mode: enforce')
    expect(db.split('\n').slice(7, 10)).toEqual([
      'table inet bulkhead',
      'delete table inet bulkhead',
      'table inet bulkhead {',
    ])
  })

  it('--host, --direction, --no-anti-lockout and -o json', async () => {
    const out = path.join(TMP, 'one')
    const r = await cli(
      'compile',
      '--target',
      'nftables',
      '--out',
      out,
      '--host',
      'pay-db-1',
      '--direction',
      'ingress',
      '--no-anti-lockout',
      '-w',
      WS,
      '--at',
      NOW,
      '-o',
      'json',
    )
    expect(r.code).toBe(0)
    const json = JSON.parse(r.stdout) as {
      artefacts: { path: string; host: string; mode: string; bytes: number }[]
      diagnostics: { code: string }[]
    }
    expect(json.artefacts.map((a) => [a.path, a.host, a.mode])).toEqual([
      ['pay-db-1.nft', 'pay-db-1', 'enforce'],
    ])
    expect(json.diagnostics.map((d) => d.code)).not.toContain('compile/anti-lockout')
    const text = readFileSync(path.join(out, 'pay-db-1.nft'), 'utf8')
    expect(text).not.toContain('chain output')
    expect(text).not.toContain('mgmt_')
  })

  it('-o json: a rule expiring after --at is a located warning and sets recompileAt with --max-time-slices 1 (s13/hR D8)', async () => {
    const compileAt = async (now: string, ...extra: string[]) =>
      cli(
        'compile',
        '--target',
        'nftables',
        '--out',
        path.join(TMP, 'later'),
        '--host',
        'pay-db-1',
        '-w',
        WS,
        '--at',
        now,
        '-o',
        'json',
        ...extra,
      )
    const r = await compileAt('2026-10-01T00:00:00Z', '--max-time-slices', '1')
    expect(r.code).toBe(0)
    const json = JSON.parse(r.stdout) as {
      diagnostics: { code: string; message: string; location?: { file: string; line: number } }[]
      recompileAt?: string
      switchesAt?: string[]
    }
    // payments.yaml rule old-export, `expires: 2026-10-31` (the whole day)
    expect(json.diagnostics).toContainEqual(
      expect.objectContaining({
        code: 'compile/expires-later',
        location: expect.objectContaining({
          file: expect.stringMatching(/payments\.yaml$/),
          line: 23,
        }),
        message: expect.stringContaining('--max-time-slices 1'),
      }),
    )
    expect(json.recompileAt).toBe('2026-11-01T00:00:00.000Z')
    expect(json.switchesAt).toBeUndefined()
    // by default the ruleset switches by itself: no warning, nothing to recompile for
    const sliced = JSON.parse((await compileAt('2026-10-01T00:00:00Z')).stdout) as typeof json
    expect(sliced.diagnostics.map((d) => d.code)).not.toContain('compile/expires-later')
    expect(sliced.switchesAt).toEqual(['2026-11-01T00:00:00.000Z'])
    expect(sliced.recompileAt).toBeUndefined()
    const text = readFileSync(path.join(TMP, 'later', 'pay-db-1.nft'), 'utf8')
    expect(text).toContain(`meta time >= ${Date.parse('2026-11-01T00:00:00Z') / 1000} jump`)
    // at NOW the rule has expired: left out, nothing left to recompile for
    const after = JSON.parse((await compileAt(NOW)).stdout) as typeof json
    expect(after.diagnostics.map((d) => d.code)).not.toContain('compile/expires-later')
    expect(after.recompileAt).toBeUndefined()
    expect(after.switchesAt).toBeUndefined()
    const bad = await compileAt(NOW, '--max-time-slices', '0')
    expect(bad.code).toBe(1)
  })

  it('--management-cidr sets the anti-lockout sources', async () => {
    const out = path.join(TMP, 'mgmt')
    const r = await cli(
      'compile',
      '--target',
      'nftables',
      '--out',
      out,
      '--host',
      'pay-db-1',
      '--management-cidr',
      '192.0.2.0/24',
      '-w',
      WS,
      '--at',
      NOW,
    )
    expect(r.code).toBe(0)
    expect(readFileSync(path.join(out, 'pay-db-1.nft'), 'utf8')).toMatch(
      /set mgmt_v4 \{[^}]*192\.0\.2\.0\/24\s*\}/,
    )
  })

  it.each([
    [['--target', 'bogus'], 'cli/usage'],
    [['--target', 'aws-sg', '--sg-rule-quota', '0'], 'cli/usage'],
    [['--target', 'nftables', '--direction', 'sideways'], 'cli/usage'],
    [['--target', 'nftables', '--management-cidr', '10.0.0.1/8'], 'cli/usage'],
    [['--target', 'nftables', '--host', 'nobody'], 'compile/unknown-host'],
    [['--target', 'nftables', '--host', 'pay-db-1', '--all-hosts'], 'cli/usage'],
  ])('%j is an input error (%s)', async (args, code) => {
    const out = path.join(TMP, 'bad')
    const r = await cli('compile', ...args, '--out', out, '-w', WS, '--at', NOW)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(code)
    expect(existsSync(out)).toBe(false)
  })
})
