/**
 * `bulkhead compile` text summary: a cluster target's file has no host and no mode to print,
 * files are counted as files and hosts as hosts; an unknown target names every target.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { renderCompileText, type CompileOutput } from '../../src/cli/commands/compile.js'
import { cli } from '../helpers/cli.js'

const TMP = mkdtempSync(path.join(tmpdir(), 'bulkhead-compile-text-'))
afterAll(() => rmSync(TMP, { recursive: true, force: true }))

const output = (target: string, artefacts: CompileOutput['artefacts']): CompileOutput => ({
  target,
  out: 'out',
  artefacts,
  diagnostics: [],
})

describe('compile text summary', () => {
  it('a cluster file prints its size only; the count says files, not rulesets', () => {
    const text = renderCompileText(
      output('kubernetes', [{ path: 'shop.networkpolicies.yaml', bytes: 120 }]),
      'out',
    )
    expect(text).toBe(
      `${path.join('out', 'shop.networkpolicies.yaml')}  (120 bytes)\n1 file written for target kubernetes\n`,
    )
  })

  it('the four iptables files of one host are 4 files for 1 host', () => {
    const files = ['db-1.ipset', 'db-1.rules.v4', 'db-1.rules.v6', 'db-1.apply.sh']
    const text = renderCompileText(
      output(
        'iptables',
        files.map((f) => ({ path: f, host: 'db-1', mode: 'enforce', bytes: 10 })),
      ),
      'out',
    )
    expect(text.split('\n')[0]).toBe(`${path.join('out', 'db-1.ipset')}  db-1 (enforce, 10 bytes)`)
    expect(text).toContain('4 files for 1 host written for target iptables\n')
  })

  it('an unknown target is a usage error whose hint names every target', async () => {
    const r = await cli(
      'compile',
      '--target',
      'pf',
      '--out',
      TMP,
      '-w',
      'test/fixtures/compile-nftables',
    )
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('cli/usage')
    for (const t of [
      'nftables',
      'iptables',
      'kubernetes',
      'cilium',
      'calico',
      'aws-sg',
      'azure-nsg',
    ])
      expect(r.stderr).toContain(t)
  })
})
