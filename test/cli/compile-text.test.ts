/**
 * `bulkhead compile` text summary: a cluster target's file has no host and no mode to print,
 * files are counted as files and hosts as hosts; an unknown target names every target.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  podsSkipped,
  renderCompileText,
  type CompileOutput,
} from '../../src/cli/commands/compile.js'
import type { Inventory } from '../../src/core/index.js'
import { cli, compileCli } from '../helpers/cli.js'

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

describe('host targets and Kubernetes pods', () => {
  const WS = 'test/fixtures/inventory-mixed'
  const NOW = '2026-11-22T00:00:00Z'
  const PODS = ['shop/cart[Deployment]', 'shop/debug[Pod]']

  it.each(['nftables', 'iptables'])(
    '%s leaves the pods out with compile/pod-skipped; --host writes one',
    async (target) => {
      const r = await compileCli(target, path.join(TMP, target), WS, NOW, '-o', 'json')
      expect(r.code, r.stderr).toBe(0)
      const out = JSON.parse(r.stdout) as CompileOutput
      const hosts = new Set(out.artefacts.map((a) => a.host))
      expect(hosts).toEqual(
        new Set(['pay-api-1', 'pay-api-2', 'bastion', 'ci-runner-7', 'batch, nightly']),
      )
      expect(out.diagnostics).toContainEqual(
        expect.objectContaining({ code: 'compile/pod-skipped', severity: 'warning' }),
      )
      const one = await compileCli(
        target,
        path.join(TMP, `${target}-pod`),
        WS,
        NOW,
        '--host',
        PODS[1] ?? '',
        '-o',
        'json',
      )
      expect(one.code, one.stderr).toBe(0)
      const pod = JSON.parse(one.stdout) as CompileOutput
      expect(new Set(pod.artefacts.map((a) => a.host))).toEqual(new Set([PODS[1]]))
      expect(pod.diagnostics.map((d) => d.code)).not.toContain('compile/pod-skipped')
    },
  )

  it('podsSkipped names the pods in its warning, and gives none without pods', () => {
    const w = (name: string, labels: Record<string, string>) => ({ name, addresses: [], labels })
    const inventory = {
      workloads: [w('db-1', { role: 'db' }), w('shop/web[Deployment]', { namespace: 'shop' })],
      externals: [],
    } as unknown as Inventory
    expect(podsSkipped(inventory)).toMatchObject({
      hosts: ['db-1'],
      diagnostic: { code: 'compile/pod-skipped' },
    })
    expect(podsSkipped({ ...inventory, workloads: inventory.workloads.slice(0, 1) })).toEqual({
      hosts: ['db-1'],
    })
  })
})

describe('--out inside a folder the workspace reads (s44 QA hostile F1)', () => {
  // artefacts written into policy/ made every later command fail to load the workspace
  const WS = path.join(TMP, 'ws-out')
  cpSync('test/fixtures/compile-kubernetes', WS, { recursive: true })
  const NOW = '2026-11-22T00:00:00Z'

  it.each([
    ['policy', path.join(WS, 'policy')],
    ['policy', path.join(WS, 'policy', 'k8s')],
    ['inventory', path.join(WS, 'inventory')],
  ])('is refused for the %s folder (%s), nothing written', async (what, out) => {
    const before = readdirSync(path.join(WS, what)).sort()
    const r = await compileCli('cilium', out, WS, NOW)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('cli/usage')
    expect(r.stderr).toContain(`the workspace's ${what} folder`)
    expect(readdirSync(path.join(WS, what)).sort()).toEqual(before)
    expect((await cli('validate', '-w', WS)).code).toBe(0)
  })

  it('is refused through a symbolic link to the policy folder (s44 QA retest F2)', async () => {
    symlinkSync(path.join(WS, 'policy'), path.join(WS, 'pol-link'))
    mkdirSync(path.join(WS, 'via'))
    symlinkSync(path.join(WS, 'policy'), path.join(WS, 'via', 'lnk'))
    const before = readdirSync(path.join(WS, 'policy')).sort()
    for (const out of [path.join(WS, 'pol-link'), path.join(WS, 'via', 'lnk', 'k8s')]) {
      const r = await compileCli('cilium', out, WS, NOW)
      expect(r.code, out).toBe(1)
      expect(r.stderr).toContain("the workspace's policy folder")
    }
    expect(readdirSync(path.join(WS, 'policy')).sort()).toEqual(before)
  })

  it('is taken beside them, in the workspace', async () => {
    const r = await compileCli('cilium', path.join(WS, 'build'), WS, NOW)
    expect(r.code, r.stderr).toBe(0)
  })
})
