/**
 * `bulkhead blast-radius --from/--to` with selectors written as policy files write them (YAML
 * flow style), on test/fixtures/blast-estate: the same sources as the short forms, the policy
 * loader's located errors for a bad one, and an error for a workload name the inventory lacks.
 */
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { BulkheadError } from '../../src/core/index.js'
import { parseWorkloadSelector } from '../../src/cli/commands/blast-radius.js'
import { cli } from '../helpers/cli.js'
import { inventoryOf, workload } from '../helpers/workloads.js'

const DIR = fileURLToPath(new URL('../fixtures/blast-estate/', import.meta.url))
const base = ['blast-radius', '-w', DIR, '--at', '2026-11-22', '--baseline', 'flat', '-o', 'json']

interface Out {
  sources: { workload: string; direct: number; paths: { to: string }[] }[]
}
async function sources(...flags: string[]): Promise<Out['sources']> {
  const r = await cli(...base, ...flags)
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  return (JSON.parse(r.stdout) as Out).sources
}
const names = (s: Out['sources']): string[] => s.map((x) => x.workload).sort()

describe('bulkhead blast-radius with YAML selectors', () => {
  it('matchExpressions pick the same sources as the short form', async () => {
    const web = await sources('--from', '{role: web}')
    expect(names(web)).toEqual(['web-1', 'web-2'])
    expect(web).toEqual(await sources('--from', 'role=web'))
    const notShop = await sources(
      '--from',
      '{matchExpressions: [{key: app, operator: NotIn, values: [shop]}]}',
    )
    expect(names(notShop)).toEqual(['admin-1'])
  })
  it('a CIDR selector with except, and --to as a selector', async () => {
    const s = await sources(
      '--from',
      '{cidr: 10.0.0.0/22, except: [10.0.1.12/32]}',
      '--to',
      '{role: api}',
    )
    expect(names(s)).toEqual(['api-1', 'db-1', 'edge-lb', 'web-1']) // 10.0.0.0-10.0.3.255 but web-2
    // under flat, every other source reaches the one crown jewel named by --to in one hop
    for (const x of s.filter((x) => x.workload !== 'api-1'))
      expect(x.paths.map((p) => p.to)).toEqual(['api-1'])
  })
  it('a bad YAML selector is the policy loader error, located in the flag', async () => {
    const r = await cli(...base, '--from', '{role: web, workload: web-1}')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/--from:1:\d+ error policy\/bad-selector/)
    const unknown = await cli(...base, '--to', '{workload: nosuch}')
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain('policy/unknown-workload')
  })
  it('a workload name the inventory does not hold is an error, not zero sources', async () => {
    expect(names(await sources('--from', 'web-1'))).toEqual(['web-1'])
    for (const flag of ['--from', '--to']) {
      const r = await cli(...base, flag, 'web-3')
      expect(r.code).toBe(1)
      expect(r.stderr).toContain('policy/unknown-workload')
    }
  })
})

describe('parseWorkloadSelector', () => {
  it('a Kubernetes workload name (with a /) is that workload, not a CIDR block', () => {
    const inv = inventoryOf(workload('shop/front-end[Deployment]', '10.244.1.5', { app: 'fe' }))
    expect(parseWorkloadSelector('shop/front-end[Deployment]', '--from', inv)).toEqual({
      kind: 'workload',
      name: 'shop/front-end[Deployment]',
      global: true,
    })
    // a block is still a block; cidr: always is one
    expect(parseWorkloadSelector('10.244.0.0/16', '--from', inv)).toMatchObject({ kind: 'cidr' })
    const code = (text: string): string | undefined => {
      try {
        parseWorkloadSelector(text, '--from', inv)
      } catch (e) {
        return e instanceof BulkheadError ? e.diagnostics[0]?.code : undefined
      }
      return undefined
    }
    expect(code('cidr:shop/front-end[Deployment]')).toBe('analyze/bad-selector')
    expect(code('shop/back-end[Deployment]')).toBe('analyze/bad-selector')
  })
})

describe('bulkhead blast-radius -o yaml', () => {
  it('holds what -o json holds, written by the CLI YAML writer (no anchors or aliases)', async () => {
    const json = await cli(...base)
    const yaml = await cli(...base.slice(0, -1), 'yaml')
    expect(yaml.code).toBe(0)
    expect(yaml.stdout).not.toMatch(/[&*]a\d/)
    const { parse } = await import('yaml')
    const at = (v: unknown): unknown => ({ ...(v as object), at: null })
    expect(at(parse(yaml.stdout))).toEqual(at(JSON.parse(json.stdout)))
  })
})
