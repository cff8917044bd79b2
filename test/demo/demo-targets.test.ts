/**
 * @module The demo's per-target compile step (src/cli/commands/demo-targets.ts): each target gets
 * the rules that select its workloads, a rule or mode it cannot express is listed (never dropped
 * silently) and stops only that target.
 */
import { describe, expect, it } from 'vitest'
import { labelSet, type EnforcementMode, type PolicySet, type Rule } from '../../src/core/index.js'
import { compileDemoTargets, policyFor } from '../../src/cli/commands/demo-targets.js'
import { inventoryOf, workload } from '../helpers/workloads.js'

const lbl = (m: Record<string, string>) => ({
  kind: 'labels' as const,
  match: labelSet(m),
  expressions: [],
  global: false,
})
const AT = Date.UTC(2026, 10, 1)

/** Two VMs (web, db) and two pods in namespace shop (front, cart). */
const estate = inventoryOf(
  workload('vm-web', '10.1.0.1', { role: 'web' }),
  workload('vm-db', '10.1.0.2', { role: 'db' }),
  workload('shop/front[Deployment]', '10.244.0.1', { role: 'front', namespace: 'shop' }),
  workload('shop/cart[Deployment]', '10.244.0.2', { role: 'cart', namespace: 'shop' }),
)

const rule = (id: string, from: string, to: string, protocol = 6, port = 443): Rule => ({
  id,
  action: 'allow',
  emergency: false,
  from: [lbl({ role: from })],
  to: [lbl({ role: to })],
  services: [{ protocol, ports: { lo: port, hi: port } }],
})

const policySet = (rules: Rule[], podMode: EnforcementMode = 'enforce'): PolicySet => ({
  policies: [{ name: 'p', owner: 'o', scope: labelSet(), file: 'p.yaml', rules }],
  enforcement: [
    { selector: lbl({ namespace: 'shop' }), mode: podMode },
    { selector: { kind: 'any' }, mode: 'monitor' },
  ],
})

describe('demo compile targets', () => {
  it('policyFor keeps the rules that select a workload of the target, counts the others', () => {
    const set = policySet([rule('w2d', 'web', 'db'), rule('f2c', 'front', 'cart')])
    const pods = estate.workloads.filter((w) => w.labels['namespace'] !== undefined)
    const part = policyFor(set, pods, AT)
    expect(part.policySet.policies.flatMap((p) => p.rules.map((r) => r.id))).toEqual(['f2c'])
    expect(part).toMatchObject({ rules: 1, otherRules: 1 })
    expect(part.policySet.enforcement).toEqual([])
  })

  it('VM rules go to nftables, pod rules to kubernetes and cilium, monitor stays on the VMs', () => {
    const out = compileDemoTargets(
      estate,
      policySet([rule('w2d', 'web', 'db'), rule('f2c', 'front', 'cart')]),
      AT,
    )
    const [nft, k8s, cilium] = out.map((o) => o.result)
    expect(out.map((o) => o.result.target)).toEqual(['nftables', 'kubernetes', 'cilium'])
    expect(nft?.workloads).toEqual(['vm-db', 'vm-web'])
    expect([...(nft?.artefacts ?? [])].sort()).toEqual(['vm-db.nft', 'vm-web.nft'])
    expect(k8s?.workloads).toEqual(['shop/cart[Deployment]', 'shop/front[Deployment]'])
    expect(k8s?.artefacts).toEqual(['shop.networkpolicies.yaml'])
    expect(cilium?.artefacts).toContain('shop.ciliumnetworkpolicies.yaml')
    for (const r of [nft, k8s, cilium]) expect(r?.notExpressed).toEqual([])
    const yaml = out[1]?.files[0]?.content ?? ''
    expect(yaml).toContain('bulkhead.dev/rule-ref: p/f2c')
    expect(yaml).not.toContain('p/w2d')
  })

  it('a pod rule the cluster cannot express (ICMP) is listed and that target writes nothing', () => {
    const out = compileDemoTargets(
      estate,
      policySet([rule('w2d', 'web', 'db'), rule('ping', 'front', 'cart', 1, 8)]),
      AT,
    )
    const k8s = out[1]?.result
    expect(k8s?.artefacts).toEqual([])
    expect(out[1]?.files).toEqual([])
    // icmp/8 needs icmp and, for its type, icmp-types: NetworkPolicy has neither
    expect(k8s?.notExpressed).toEqual([
      expect.objectContaining({ what: 'p/ping', code: 'compile/unsupported-by-target' }),
      expect.objectContaining({ what: 'p/ping', code: 'compile/unsupported-by-target' }),
    ])
    // the VMs are not affected
    expect(out[0]?.result.artefacts).toHaveLength(2)
  })

  it('pods in monitor mode cannot be expressed by NetworkPolicy or Cilium; observe pods are left out', () => {
    const monitor = compileDemoTargets(
      estate,
      policySet([rule('f2c', 'front', 'cart')], 'monitor'),
      AT,
    )
    for (const o of monitor.slice(1)) {
      expect(o.result.artefacts).toEqual([])
      expect(o.result.notExpressed.map((n) => n.what)).toEqual([
        'shop/cart[Deployment]',
        'shop/front[Deployment]',
      ])
    }
    const observe = compileDemoTargets(
      estate,
      policySet([rule('f2c', 'front', 'cart')], 'observe'),
      AT,
    )
    expect(observe[1]?.result.workloads).toEqual([])
    expect(observe[1]?.result.leftOut.map((l) => l.workload)).toEqual([
      'shop/cart[Deployment]',
      'shop/front[Deployment]',
    ])
  })
})
