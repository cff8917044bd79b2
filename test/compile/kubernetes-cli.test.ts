/**
 * @module `bulkhead compile --target kubernetes`: files written, the deny-rule error and
 * `--deny-with anp`, and the round trip `k8s connlist (output + pods)` = `connlist`.
 */
import { copyFileSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { cli } from '../helpers/cli.js'
import { tempDir } from '../helpers/files.js'

const WS = fileURLToPath(new URL('../fixtures/compile-kubernetes/', import.meta.url))
const TMP = tempDir('bulkhead-compile-k8s')
const NOW = '2026-11-22T12:00:00Z'

describe('bulkhead compile --target kubernetes', () => {
  it('refuses a deny rule without --deny-with anp, naming the rule', async () => {
    const r = await cli(
      'compile',
      '--target',
      'kubernetes',
      '--out',
      path.join(TMP, 'no'),
      '-w',
      WS,
      '--at',
      NOW,
    )
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('compile/unsupported-by-target')
    expect(r.stderr).toContain('shop/no-dev')
  })

  it('--deny-with is for the kubernetes target only', async () => {
    const r = await cli(
      'compile',
      '--target',
      'nftables',
      '--out',
      path.join(TMP, 'x'),
      '-w',
      WS,
      '--deny-with',
      'anp',
    )
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('--deny-with')
  })

  it('writes one file per namespace and the ANPs; k8s connlist of them equals connlist', async () => {
    const out = path.join(TMP, 'anp')
    const r = await cli(
      'compile',
      '--target',
      'kubernetes',
      '--out',
      out,
      '-w',
      WS,
      '--at',
      NOW,
      '--deny-with',
      'anp',
    )
    expect(r.code).toBe(0)
    expect(readdirSync(out).sort()).toEqual([
      'cluster.adminnetworkpolicies.yaml',
      'ops.networkpolicies.yaml',
      'shop.networkpolicies.yaml',
    ])
    expect(readFileSync(path.join(out, 'cluster.adminnetworkpolicies.yaml'), 'utf8')).toContain(
      'action: Deny',
    )
    copyFileSync(path.join(WS, 'inventory/pods.yaml'), path.join(out, 'pods.yaml'))
    const k8s = await cli('k8s', 'connlist', out)
    const model = await cli('connlist', '-w', WS)
    expect(k8s.code).toBe(0)
    expect(model.code).toBe(0)
    expect(k8s.stdout).toContain('shop/web[Pod] => shop/api[Pod] : TCP 8000-8100')
    expect(k8s.stdout).toBe(model.stdout)
  })
})

describe('bulkhead compile --target cilium | calico', () => {
  it('writes the namespaced and cluster-wide files', async () => {
    for (const [target, files] of [
      [
        'cilium',
        [
          'cluster.ciliumclusterwidenetworkpolicies.yaml',
          'ops.ciliumnetworkpolicies.yaml',
          'shop.ciliumnetworkpolicies.yaml',
        ],
      ],
      ['calico', ['cluster.globalnetworkpolicies.yaml', 'ops.calico.yaml', 'shop.calico.yaml']],
    ] as const) {
      const out = path.join(TMP, target)
      const r = await cli('compile', '--target', target, '--out', out, '-w', WS, '--at', NOW)
      expect(r.code, r.stderr).toBe(0)
      expect(readdirSync(out).sort()).toEqual([...files])
    }
  })
})
