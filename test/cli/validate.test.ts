import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { cli } from '../helpers/cli.js'
import type { Command } from 'commander'
import { buildProgram } from '../../src/cli/main.js'

const tmp = mkdtempSync(join(tmpdir(), 'bulkhead-cli-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('bulkhead validate', () => {
  it('exits 0 on a good workspace and says what it loaded', async () => {
    const r = await cli('validate', '-w', 'test/fixtures/good', '--at', '2026-11-22T00:00:00Z')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^ok: 9 workloads, 2 externals, 1 policy, 10 rules/)
  })

  it('--at judges expiry; --now, its former name, still does, and giving both is a usage error', async () => {
    const expired = async (...time: string[]): Promise<number> => {
      const r = await cli('validate', '-w', 'test/fixtures/good', ...time, '-o', 'json')
      expect(r.code).toBe(0)
      const out = JSON.parse(r.stdout) as { diagnostics: { code: string }[] }
      return out.diagnostics.filter((d) => d.code === 'policy/expired-rule').length
    }
    // the fixture's rules expire on 2026-12-01T12:00Z and 2027-06-30
    expect(await expired('--at', '2026-11-22')).toBe(0)
    expect(await expired('--at', '2026-12-02')).toBe(1)
    expect(await expired('--now', '2026-12-02')).toBe(1)
    expect(await expired('--now', '2030-01-01')).toBe(2)
    const both = await cli(
      'validate',
      '-w',
      'test/fixtures/good',
      '--at',
      '2026-12-02',
      '--now',
      '2030-01-01',
    )
    expect(both.code).toBe(1)
    expect(both.stderr).toMatch(/^error cli\/usage: --now and --at both given/m)
    const help = await cli('validate', '--help')
    expect(help.stdout).toContain('--at <time>')
    expect(help.stdout).not.toContain('--now')
  })

  it('--strict fails on a warning (exit 1), and passes a workspace without any', async () => {
    // at 2026-12-02 one rule of the fixture has expired: a warning, which alone passes
    const args = ['validate', '-w', 'test/fixtures/good', '--at', '2026-12-02']
    const lax = await cli(...args)
    expect(lax.code).toBe(0)
    expect(lax.stdout).toMatch(/^ok: .*, 1 warning$/m)
    const strict = await cli(...args, '--strict')
    expect(strict.code).toBe(1)
    expect(strict.stderr).toMatch(/ warning policy\/expired-rule: /)
    expect(strict.stdout).toBe('1 warning, failed under --strict\n')
    const json = await cli(...args, '--strict', '-o', 'json')
    expect(json.code).toBe(1)
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      strict: true,
      errors: 0,
      warnings: 1,
    })
    const clean = await cli(
      'validate',
      '-w',
      'test/fixtures/good',
      '--at',
      '2026-11-22',
      '--strict',
    )
    expect(clean.code).toBe(0)
    expect(clean.stdout).toMatch(/^ok: 9 workloads, 2 externals, 1 policy, 10 rules\n$/)
    // errors stay errors
    const bad = await cli('validate', '-w', 'test/fixtures/multi-error', '--strict')
    expect(bad.code).toBe(1)
    expect(bad.stdout).toContain('10 errors')
  })

  it('prints every error with file:line:col and code, and exits 1', async () => {
    const r = await cli(
      'validate',
      '-w',
      'test/fixtures/multi-error',
      '--at',
      '2026-11-22T00:00:00Z',
    )
    expect(r.code).toBe(1)
    const lines = r.stderr.trim().split('\n')
    expect(lines.filter((l) => / error /.test(l))).toHaveLength(10)
    for (const l of lines)
      expect(l).toMatch(
        /^test\/fixtures\/multi-error\/\S+\.yaml:\d+:\d+ (error|warning) [a-z]+\/[a-z-]+: /,
      )
    expect(r.stderr).toContain(
      'test/fixtures/multi-error/policy/bad.yaml:12:9 error policy/duplicate-rule-id',
    )
    expect(r.stdout).toContain('10 errors')
  })

  it('-o json gives the diagnostics as data', async () => {
    const r = await cli('validate', '-w', 'test/fixtures/multi-error', '-o', 'json')
    expect(r.code).toBe(1)
    const out = JSON.parse(r.stdout) as {
      ok: boolean
      errors: number
      diagnostics: { code: string; location: { line: number } }[]
    }
    expect(out.ok).toBe(false)
    expect(out.errors).toBe(10)
    expect(out.diagnostics.map((d) => d.code)).toContain('policy/no-scoped-side')
  })

  it('a YAML syntax error is located and exits 1', async () => {
    const ws = join(tmp, 'syntax')
    expect((await cli('init', '-w', ws)).code).toBe(0)
    writeFileSync(
      join(ws, 'policy', 'shop.yaml'),
      'apiVersion: bulkhead.dev/v1\nkind: Policy\nmetadata: { name: x\n',
    )
    const r = await cli('validate', '-w', ws)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/shop\.yaml:\d+:\d+ error yaml\/syntax/)
  })
})

describe('bulkhead init', () => {
  it('writes a skeleton that validates, and refuses to overwrite without --force', async () => {
    const ws = join(tmp, 'fresh')
    const a = await cli('init', '-w', ws)
    expect(a.code).toBe(0)
    const v = await cli('validate', '-w', ws)
    expect(v.stderr).toBe('')
    expect(v.code).toBe(0)
    const again = await cli('init', '-w', ws)
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('--force')
    expect((await cli('init', '-w', ws, '--force')).code).toBe(0)
  })
})

describe('bulkhead --help and --version', () => {
  it('help lists the verbs with examples; version prints the package version', async () => {
    const h = await cli('--help')
    expect(h.code).toBe(0)
    for (const verb of ['init', 'validate', 'eval']) expect(h.stdout).toContain(verb)
    expect(h.stdout).toContain('Examples:')
    const v = await cli('--version')
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/)
  })
  it('every verb and sub-verb has examples in its --help', async () => {
    const paths: string[][] = []
    const walk = (cmd: Command, at: string[]): void => {
      for (const sub of cmd.commands) {
        paths.push([...at, sub.name()])
        walk(sub, [...at, sub.name()])
      }
    }
    walk(await buildProgram(), [])
    expect(paths).toContainEqual(['k8s', 'connlist'])
    for (const p of paths) {
      const h = await cli(...p, '--help')
      expect(h.code, p.join(' ')).toBe(0)
      expect(h.stdout, p.join(' ')).toContain('Examples:')
      // the workspace leads the options a verb shares with the others (it was after the window)
      const since = h.stdout.indexOf('--since')
      const workspace = h.stdout.indexOf('-w, --workspace')
      if (since >= 0) expect(workspace, p.join(' ')).toBeGreaterThanOrEqual(0)
      if (since >= 0) expect(workspace, p.join(' ')).toBeLessThan(since)
    }
  })
  it('an unknown verb exits 1', async () => {
    expect((await cli('frobnicate')).code).toBe(1)
    // a sub-verb's bad option is exit 1 from run(), not a process.exit inside commander
    expect((await cli('k8s', 'connlist', '--bogus')).code).toBe(1)
    expect((await cli('inventory', 'suggest-labels', '--bogus')).code).toBe(1)
  })
})

describe('an inventory that cannot be read (s44 QA hostile F4)', () => {
  // the policy was judged against the empty inventory: 15 warnings and a false unknown-external
  it('gives its read error only, no echo of what is missing', async () => {
    const ws = join(tmp, 'unread-inventory')
    cpSync('test/fixtures/good', ws, { recursive: true })
    const yaml = join(ws, 'bulkhead.yaml')
    writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('[inventory/]', '[missing.yaml]'))
    const r = await cli('validate', '-w', ws, '-o', 'json')
    expect(r.code).toBe(1)
    const doc = JSON.parse(r.stdout) as { diagnostics: { code: string }[] }
    expect(doc.diagnostics.map((d) => d.code)).toEqual(['io/not-found'])
  })
})
