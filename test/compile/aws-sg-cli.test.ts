/**
 * @module `bulkhead compile --target aws-sg`: the Terraform JSON written, the `-o json` summary,
 * `--sg-rule-quota`, and monitor mode refused.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import type { CompileOutput } from '../../src/cli/commands/compile.js'
import { AWS_SG_FILE } from '../../src/compile/index.js'
import { compileCli } from '../helpers/cli.js'

const WS = fileURLToPath(new URL('../fixtures/compile-aws-sg/', import.meta.url))
const MONITOR_WS = fileURLToPath(new URL('../fixtures/compile-nftables/', import.meta.url))
const TMP = mkdtempSync(path.join(tmpdir(), 'bulkhead-compile-aws-'))
const NOW = '2026-11-22T12:00:00Z'

/** `bulkhead compile --target aws-sg --out OUT -w WS --at NOW ...extra`. */
const compileAws = (out: string, ws: string, ...extra: string[]) =>
  compileCli('aws-sg', out, ws, NOW, ...extra)

describe('bulkhead compile --target aws-sg', () => {
  afterAll(() => rmSync(TMP, { recursive: true, force: true }))

  it('writes the Terraform JSON and summarises it with -o json', async () => {
    const out = path.join(TMP, 'ok')
    const r = await compileAws(out, WS, '-o', 'json')
    expect(r.stderr).not.toContain(' error ')
    expect(r.code).toBe(0)
    const summary = JSON.parse(r.stdout) as CompileOutput
    expect(summary.target).toBe('aws-sg')
    expect(summary.artefacts.map((a) => a.path)).toEqual([AWS_SG_FILE])
    expect(summary.diagnostics).toEqual([])
    const doc = JSON.parse(readFileSync(path.join(out, AWS_SG_FILE), 'utf8')) as {
      resource: Record<string, Record<string, unknown>>
    }
    expect(Object.keys(doc.resource['aws_security_group'] ?? {})).toHaveLength(3)
  })

  it('--sg-rule-quota lowers the quota the warning checks', async () => {
    const out = path.join(TMP, 'quota')
    const r = await compileAws(out, WS, '--sg-rule-quota', '10')
    expect(r.code).toBe(0)
    expect(r.stderr).toContain('compile/cloud-limit-exceeded')
    expect(r.stdout).toContain('1 file written for target aws-sg')
  })

  it('refuses workloads in monitor mode, writing nothing', async () => {
    const out = path.join(TMP, 'monitor')
    const r = await compileAws(out, MONITOR_WS)
    expect(r.code).toBe(1)
    // located at the Enforcement entry that gives monitor mode
    expect(r.stderr).toContain(
      `${path.join('policy', 'enforcement.yaml')}:5:5 error compile/unsupported-by-target`,
    )
    expect(existsSync(out)).toBe(false)
  })
})
