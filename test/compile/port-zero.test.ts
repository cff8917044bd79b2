/**
 * Port 0 of TCP on the cluster targets (s31 hB): the model's `tcp` and `tcp/0-10` hold port 0,
 * `tcp/1-65535` does not. Expected answers by hand from the vendors' documents:
 * - NetworkPolicyPort: `port` and `endPort` take 1–65535; without `port` it "matches all port
 *   names and numbers" (port 0 too). AdminNetworkPolicy ports: 1–65535.
 * - Cilium PortProtocol: `port: "0"` is every port (a wildcard), so port 0 alone has no form.
 * - Calico v3 rule ports: 1–65535 (libcalico-go `validatePort`); no `ports` is every port.
 */
import { describe, expect, it } from 'vitest'
import type { Inventory, PolicySet, Rule, Service } from '../../src/core/index.js'
import {
  calicoAllows,
  calicoCompiler,
  ciliumAllows,
  ciliumCompiler,
  kubernetesAnpCompiler,
  planKubernetes,
  planObjects,
  PodGroupResolver,
  type CompiledPod,
  type K8sObject,
} from '../../src/compile/index.js'
import { planCalico } from '../../src/compile/calico/compile.js'
import { planCilium } from '../../src/compile/cilium/compile.js'
import { analyzeDocuments } from '../../src/kubernetes/index.js'
import { evaluate } from '../../src/policy/evaluate.js'
import { allObjects } from './k8s-differential.js'
import { cidr, enforced, lbl, NOW, pod, policy, rule, tcp } from './kubernetes-fixture.js'

const INV: Inventory = {
  workloads: [
    pod('shop', 'web', '10.244.1.10', { app: 'shop', role: 'web' }),
    pod('shop', 'api', '10.244.1.11', { app: 'shop', role: 'api' }),
  ],
  externals: [],
  labelRules: [],
}
const WEB = '10.244.1.10'
const API = '10.244.1.11'
const ANY: Service = { protocol: 'any' }
const allow = (id: string, services: Service[]): Rule =>
  rule(id, [lbl({ role: 'web' })], [lbl({ role: 'api' })], services)
const deny = (id: string, services: Service[]): Rule =>
  rule(id, [lbl({ role: 'web' })], [lbl({ role: 'api' })], services, 'deny')
const set = (...rules: Rule[]): PolicySet => enforced([policy('shop', { app: 'shop' }, rules)])

/** The model's verdict on web -> api tcp/`port`. */
function model(ps: PolicySet, port: number): boolean {
  const tuple = { src: WEB, dst: API, protocol: 6, dstPort: port, at: NOW.getTime() }
  return evaluate(INV, ps, tuple).decision === 'allowed'
}

function endpoints(): { web: CompiledPod; api: CompiledPod } {
  const pods = new PodGroupResolver(INV, { now: NOW }).pods
  const find = (ip: string): CompiledPod => {
    const p = pods.find((x) => x.workload.addresses[0]?.ip === ip)
    if (!p) throw new Error(ip)
    return p
  }
  return { web: find(WEB), api: find(API) }
}

/** What each cluster target's objects do with web -> api tcp/`port`, by its checker. */
function targets(ps: PolicySet, port: number): Record<string, boolean> {
  const { web, api } = endpoints()
  const src = { ip: WEB, pod: web }
  const dst = { ip: API, pod: api }
  const k8s = analyzeDocuments([
    ...planObjects(planKubernetes(INV, ps, { now: NOW, denyWith: 'anp' })),
    ...INV.workloads.map((w) => {
      const [ns, name] = w.name.replace('[Pod]', '').split('/')
      const labels = Object.fromEntries(Object.entries(w.labels).filter(([k]) => k !== 'namespace'))
      return {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: ns, labels },
        status: { podIP: w.addresses[0]?.ip },
      }
    }),
  ])
  const conn = k8s.connections.find((c) => c.src === 'shop/web[Pod]' && c.dst === 'shop/api[Pod]')
  const cilium: K8sObject[] = allObjects(planCilium(INV, ps, { now: NOW }))
  const calico: K8sObject[] = allObjects(planCalico(INV, ps, { now: NOW }))
  return {
    kubernetes: conn?.services.has(6, port) === true,
    cilium: ciliumAllows(cilium, src, dst, 6, port),
    calico: calicoAllows(calico, src, dst, 6, port),
  }
}

describe('port 0 on the cluster targets', () => {
  it('an allow of tcp/1-65535 lets no port 0 through (NetworkPolicy without port, Cilium port "0" and Calico without ports are every port)', () => {
    const ps = set(allow('high', [tcp(1, 65535)]))
    expect(model(ps, 0)).toBe(false)
    expect(model(ps, 1)).toBe(true)
    expect(targets(ps, 0)).toEqual({ kubernetes: false, cilium: false, calico: false })
    expect(targets(ps, 1)).toEqual({ kubernetes: true, cilium: true, calico: true })
    expect(targets(ps, 65535)).toEqual({ kubernetes: true, cilium: true, calico: true })
  })

  it('an allow of tcp lets port 0 through on every cluster target, as the model does', () => {
    const ps = set(allow('all-tcp', [tcp(0, 65535)]))
    expect(model(ps, 0)).toBe(true)
    expect(targets(ps, 0)).toEqual({ kubernetes: true, cilium: true, calico: true })
  })

  it('an allow of tcp/0-10 is written from port 1 on every cluster target: port 0 is dropped where the model allows it', () => {
    const ps = set(allow('low', [tcp(0, 10)]))
    expect(model(ps, 0)).toBe(true)
    expect(targets(ps, 0)).toEqual({ kubernetes: false, cilium: false, calico: false })
    expect(targets(ps, 1)).toEqual({ kubernetes: true, cilium: true, calico: true })
  })

  it('kubernetes --deny-with anp warns compile/port-zero-passes where a deny from port 0 is written from 1 and an allow lets port 0 through', () => {
    const ps = set(allow('web-to-api', [ANY]), deny('no-low', [tcp(0, 1023)]))
    expect(model(ps, 0)).toBe(false)
    // the warning is true: the analyser lets port 0 through the written objects
    expect(targets(ps, 0).kubernetes).toBe(true)
    expect(targets(ps, 1).kubernetes).toBe(false)
    const diags = kubernetesAnpCompiler.compile(INV, ps, { now: NOW }).diagnostics
    expect(diags).toContainEqual(
      expect.objectContaining({
        code: 'compile/port-zero-passes',
        severity: 'warning',
        message: expect.stringMatching(/rule shop\/no-low denies tcp\/0-1023.*shop\/web-to-api/),
      }),
    )
    expect(diags.filter((d) => d.code === 'compile/port-zero-passes')).toHaveLength(1)
  })

  it('no compile/port-zero-passes where port 0 is stopped anyway: no allow holding it, a deny of any, a deny from port 1', () => {
    const quiet = [
      set(allow('web-to-api', [tcp(443)]), deny('no-low', [tcp(0, 1023)])),
      set(allow('web-to-api', [tcp(0, 10)]), deny('no-low', [tcp(0, 1023)])),
      set(allow('web-to-api', [ANY]), deny('no-all', [ANY])),
      set(allow('web-to-api', [ANY]), deny('no-low', [tcp(1, 1023)])),
    ]
    for (const ps of quiet) {
      expect(model(ps, 0)).toBe(targets(ps, 0).kubernetes)
      expect(kubernetesAnpCompiler.compile(INV, ps, { now: NOW }).diagnostics).not.toContainEqual(
        expect.objectContaining({ code: 'compile/port-zero-passes' }),
      )
    }
  })

  it('cilium and calico warn compile/port-zero-passes for a deny of tcp/0-10 under an allow of tcp, not for a deny of tcp (port "0", no ports)', () => {
    const lossy = set(allow('all-tcp', [tcp(0, 65535)]), deny('no-low', [tcp(0, 10)]))
    const whole = set(allow('all-tcp', [tcp(0, 65535)]), deny('no-tcp', [tcp(0, 65535)]))
    expect(model(lossy, 0)).toBe(false)
    expect(model(whole, 0)).toBe(false)
    for (const [name, c] of [
      ['cilium', ciliumCompiler],
      ['calico', calicoCompiler],
    ] as const) {
      // the warning is true: the checker lets port 0 through the written objects
      expect(targets(lossy, 0)[name], name).toBe(true)
      expect(c.compile(INV, lossy, { now: NOW }).diagnostics, name).toContainEqual(
        expect.objectContaining({
          code: 'compile/port-zero-passes',
          message: expect.stringContaining('rule shop/no-low denies tcp/0-10'),
        }),
      )
      expect(targets(whole, 0)[name], name).toBe(false)
      expect(c.compile(INV, whole, { now: NOW }).diagnostics, name).not.toContainEqual(
        expect.objectContaining({ code: 'compile/port-zero-passes' }),
      )
    }
  })
})

describe('compile/port-zero-passes: addresses of a CIDR side that no workload holds (s31 hH)', () => {
  // by hand: the deny takes web -> 192.0.2.5 tcp/0 (inside 0.0.0.0/0, outside 10.0.0.0/8, port 0
  // in 0-1023), so the model denies it; cilium and calico write the deny from port 1 and the
  // allow of `any` to 192.0.2.0/24 as every port, so their objects pass it. No workload holds
  // an address of 192.0.2.0/24 and the deny's block starts at 0.0.0.0, outside the allow's:
  // the pair is found only by an address of the allow's block
  const toOutside = (id: string, block: string, services: Service[], action?: 'deny'): Rule =>
    rule(
      id,
      [lbl({ role: 'web' })],
      [
        {
          kind: 'cidr',
          cidr: cidr(block),
          except: block === '0.0.0.0/0' ? [cidr('10.0.0.0/8')] : [],
        },
      ],
      services,
      action,
    )
  const ps = set(
    toOutside('web-to-docs', '192.0.2.0/24', [ANY]),
    toOutside('no-low-out', '0.0.0.0/0', [tcp(0, 1023)], 'deny'),
  )
  it('cilium and calico warn where the leak is to an unmanaged address of the allow block only', () => {
    const tuple = { src: WEB, dst: '192.0.2.5', protocol: 6, dstPort: 0, at: NOW.getTime() }
    expect(evaluate(INV, ps, tuple).decision).toBe('denied')
    const { web } = endpoints()
    for (const [name, c, objects, allows] of [
      ['cilium', ciliumCompiler, allObjects(planCilium(INV, ps, { now: NOW })), ciliumAllows],
      ['calico', calicoCompiler, allObjects(planCalico(INV, ps, { now: NOW })), calicoAllows],
    ] as const) {
      // the leak: the checker passes port 0, not port 1
      expect(allows(objects, { ip: WEB, pod: web }, { ip: '192.0.2.5' }, 6, 0), name).toBe(true)
      expect(allows(objects, { ip: WEB, pod: web }, { ip: '192.0.2.5' }, 6, 1), name).toBe(false)
      expect(c.compile(INV, ps, { now: NOW }).diagnostics, name).toContainEqual(
        expect.objectContaining({
          code: 'compile/port-zero-passes',
          message: expect.stringContaining('rule shop/no-low-out denies tcp/0-1023'),
        }),
      )
    }
  })
})
