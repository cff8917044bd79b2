/**
 * @module `bulkhead compile --target azure-nsg`: the Terraform file written, the `-o json`
 * summary, `--no-load-balancer-probes`, the help example, and a rule the target refuses.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { cli, compileCli } from '../helpers/cli.js'

const WS = fileURLToPath(new URL('../fixtures/compile-azure-nsg/', import.meta.url))
const TMP = mkdtempSync(path.join(tmpdir(), 'bulkhead-compile-azure-'))
const NOW = '2026-11-22T12:00:00Z'

/** `bulkhead compile --target azure-nsg --out OUT -w WS --at NOW ...extra`. */
const compileAzure = (out: string, ws: string, ...extra: string[]) =>
  compileCli('azure-nsg', out, ws, NOW, ...extra)

describe('bulkhead compile --target azure-nsg', () => {
  afterAll(() => rmSync(TMP, { recursive: true, force: true }))

  it('writes one Terraform JSON file; -o json sums it up with the warnings', async () => {
    const out = path.join(TMP, 'all')
    const r = await compileAzure(out, WS, '-o', 'json')
    expect(r.code).toBe(0)
    expect(readdirSync(out)).toEqual(['bulkhead-azure-nsg.tf.json'])
    const summary = JSON.parse(r.stdout) as {
      target: string
      artefacts: { path: string; bytes: number }[]
      diagnostics: { code: string }[]
      recompileAt?: string
    }
    expect(summary.target).toBe('azure-nsg')
    expect(summary.artefacts.map((a) => a.path)).toEqual(['bulkhead-azure-nsg.tf.json'])
    expect(summary.diagnostics.map((d) => d.code).sort()).toEqual([
      'compile/expires-later',
      'compile/icmp-errors-dropped',
      'compile/load-balancer-probes',
    ])
    expect(summary.recompileAt).toBe('2027-01-01T00:00:00.000Z')
    const tf = JSON.parse(readFileSync(path.join(out, 'bulkhead-azure-nsg.tf.json'), 'utf8')) as {
      resource: Record<string, Record<string, { source_address_prefix?: string }>>
    }
    const rules = Object.values(tf.resource['azurerm_network_security_rule'] ?? {})
    expect(rules.some((x) => x.source_address_prefix === 'AzureLoadBalancer')).toBe(true)
  })

  it('--no-load-balancer-probes leaves the probe rule out', async () => {
    const out = path.join(TMP, 'noprobes')
    const r = await compileAzure(out, WS, '--no-load-balancer-probes')
    expect(r.code).toBe(0)
    expect(r.stderr).not.toContain('compile/load-balancer-probes')
    expect(readFileSync(path.join(out, 'bulkhead-azure-nsg.tf.json'), 'utf8')).not.toContain(
      'AzureLoadBalancer',
    )
  })

  it('a rule the target cannot express is exit 1 naming the rule and capability', async () => {
    const ws = path.join(TMP, 'ws-ping')
    cpSync(WS, ws, { recursive: true })
    writeFileSync(
      path.join(ws, 'policy', 'ping.yaml'),
      [
        'apiVersion: bulkhead.dev/v1',
        'kind: Policy',
        'metadata: { name: ops, owner: team-ops }',
        'scope: { app: payments, env: prod }',
        'rules:',
        '  - { id: echo, from: [any], to: [{}], ports: [icmp/8], reason: ping only }',
        '',
      ].join('\n'),
    )
    const r = await compileAzure(path.join(TMP, 'ping'), ws)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('compile/unsupported-by-target')
    expect(r.stderr).toContain('ops/echo')
    expect(r.stderr).toContain('icmp-types')
  })

  it('--help shows an azure-nsg example', async () => {
    const r = await cli('compile', '--help')
    expect(r.stdout).toContain('bulkhead compile --target azure-nsg --out build/azure')
    expect(r.stdout).toContain('--no-load-balancer-probes')
    expect(r.stdout).toContain('never their priority')
    expect(r.stdout).toContain('never their first workload')
  })
})
