import { describe, expect, it } from 'vitest'
import type { InventoryOutput } from '../../src/cli/commands/inventory.js'
import { cli } from '../helpers/cli.js'

const MIXED = 'test/fixtures/inventory-mixed'

describe('bulkhead inventory', () => {
  it('prints an aligned table of workloads, addresses with time bounds, labels and their origins', async () => {
    const r = await cli('inventory', '-w', MIXED)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const lines = r.stdout.split('\n')
    const header = lines[0] ?? ''
    expect(header).toMatch(/^WORKLOAD +ADDRESS +LABEL +FROM$/)
    // every column starts where its header starts
    const cols = ['ADDRESS', 'LABEL', 'FROM'].map((h) => header.indexOf(h))
    const row = (start: string) => lines.find((l) => l.startsWith(start)) ?? ''
    const cart = row('shop/cart[Deployment]')
    expect(cart.indexOf('10.244.1.5')).toBe(cols[0])
    expect(cart.indexOf('app=cart')).toBe(cols[1])
    expect(cart.indexOf('source kubernetes')).toBe(cols[2])
    expect(row('ci-runner-7')).toContain('10.30.0.7 [2026-10-01T00:00:00Z, 2026-10-15T00:00:00Z)')
    expect(row('pay-api-1')).toMatch(/app=payments +explicit$/)
    expect(r.stdout).toMatch(
      /env=prod +label rule 1 \(test\/fixtures\/inventory-mixed\/inventory\/hosts\.yaml:21:5\)/,
    )
    expect(r.stdout).toMatch(
      /aws-cloudformation-stack-name=edge +source aws \(tag "aws:cloudformation:stack-name"\)/,
    )
    expect(r.stdout).toMatch(/^bank-sftp +198\.51\.100\.0\/24 +role=partner$/m)
    expect(r.stdout.trimEnd().endsWith('7 workloads, 1 external')).toBe(true)
  })

  it('-o json gives workloads with every label origin, merged across sources', async () => {
    const r = await cli('inventory', '-w', MIXED, '-o', 'json')
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout) as InventoryOutput
    expect(out.workloads.map((w) => w.name)).toEqual([
      'pay-api-1',
      'bastion',
      'ci-runner-7',
      'pay-api-2',
      'batch, nightly',
      'shop/cart[Deployment]',
      'shop/debug[Pod]',
    ])
    const bastion = out.workloads.find((w) => w.name === 'bastion')
    expect(bastion?.addresses).toEqual([
      { ip: '10.50.0.10' },
      { ip: '10.50.0.11' },
      { ip: '2600:1f18::10' },
    ])
    expect(bastion?.labels).toContainEqual({ key: 'role', value: 'bastion', origin: 'explicit' })
    expect(bastion?.labels).toContainEqual({ key: 'env', value: 'prod', origin: 'source:aws' })
    const cart = out.workloads.find((w) => w.name === 'shop/cart[Deployment]')
    expect(cart?.labels).toContainEqual({
      key: 'env',
      value: 'dev',
      origin: 'label-rule:2', // the second rule, counted from 1 as the table shows it
      at: 'test/fixtures/inventory-mixed/inventory/hosts.yaml:22:5',
    })
    expect(out.workloads.find((w) => w.name === 'ci-runner-7')?.addresses).toEqual([
      { ip: '10.30.0.7', from: '2026-10-01T00:00:00Z', to: '2026-10-15T00:00:00Z' },
    ])
    expect(out.externals).toEqual([
      {
        name: 'bank-sftp',
        cidr: '198.51.100.0/24',
        labels: { role: 'partner' },
        location: 'test/fixtures/inventory-mixed/inventory/hosts.yaml:16:5',
      },
    ])
  })

  it('exits 1 on load errors, printing each with file:line:col and code', async () => {
    const r = await cli('inventory', '-w', 'test/fixtures/inventory-conflict')
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    const lines = r.stderr.trim().split('\n')
    expect(lines).toEqual([
      expect.stringMatching(
        /^test\/fixtures\/inventory-conflict\/inventory\/more\.csv:2:1 error inventory\/conflicting-labels: /,
      ),
      expect.stringMatching(
        /^test\/fixtures\/inventory-conflict\/inventory\/more\.csv:3:7 error inventory\/bad-address: /,
      ),
    ])
  })

  it('refuses an unknown output format', async () => {
    const r = await cli('inventory', '-w', MIXED, '-o', 'xml')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('cli/usage')
  })
})
