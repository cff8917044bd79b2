/**
 * @module Differential check shared by the cilium and calico tests: compiles random
 * Kubernetes-like estates and compares a target's evaluator with the model's verdict on every
 * (source, destination, service) between pod addresses and a few outside addresses.
 */
import fc from 'fast-check'
import { expect } from 'vitest'
import {
  BulkheadError,
  labelSet,
  type EnforcementMode,
  type Inventory,
  type PolicySet,
} from '../../src/core/index.js'
import {
  PodGroupResolver,
  type CheckEndpoint,
  type CompiledPod,
  type Compiler,
  type K8sObject,
} from '../../src/compile/index.js'
import { evaluate } from '../../src/policy/evaluate.js'
import {
  cidr,
  enforced,
  enforcementArb,
  estateArb,
  NOW,
  SHOP,
  SHOP_POLICIES,
  VMS,
} from './kubernetes-fixture.js'
import { SEED } from '../helpers/model.js'

/** A compiled Kubernetes-like object as the tests read it (kind, metadata with labels, spec). */
export type Obj = {
  kind: string
  metadata: { name: string; namespace?: string; labels: Record<string, string> }
  spec: Record<string, unknown>
}

/**
 * Compiles the shared fixture ({@link SHOP}, {@link SHOP_POLICIES}) with `compiler` and checks
 * the artefacts: one per namespace (`ops`, `pay`, `shop`, in that order) named
 * `<namespace>.<namespaced>`, then `cluster.<clusterwide>`; each equal to its golden file
 * `test/golden/compile/<golden>.<path>` (refresh with `npm run test:update`).
 */
export async function expectGoldenFiles(
  compiler: Compiler,
  golden: string,
  [namespaced, clusterwide]: readonly [string, string],
): Promise<void> {
  const r = compiler.compile(SHOP, SHOP_POLICIES, { now: NOW })
  expect(r.artefacts.map((a) => a.path)).toEqual([
    ...['ops', 'pay', 'shop'].map((ns) => `${ns}.${namespaced}`),
    `cluster.${clusterwide}`,
  ])
  for (const a of r.artefacts)
    await expect(a.content).toMatchFileSnapshot(`../golden/compile/${golden}.${a.path}`)
}

/**
 * Every object of a calico or cilium plan: the namespaced ones (namespace by namespace), then the
 * cluster-wide ones (calico `global`, cilium `clusterwide`).
 */
export function allObjects(plan: {
  readonly objects: ReadonlyMap<string, readonly K8sObject[]>
  readonly global?: readonly K8sObject[]
  readonly clusterwide?: readonly K8sObject[]
}): K8sObject[] {
  return [...[...plan.objects.values()].flat(), ...(plan.global ?? plan.clusterwide ?? [])]
}

/**
 * Turns a function listing a target's compiled objects into the `plan` {@link runDifferential}
 * takes: those objects, and the pods as {@link PodGroupResolver} groups them at {@link NOW}.
 */
export const withPods =
  (objects: (inv: Inventory, ps: PolicySet) => K8sObject[]) =>
  (inv: Inventory, ps: PolicySet): { objects: K8sObject[]; pods: readonly CompiledPod[] } => ({
    objects: objects(inv, ps),
    pods: new PodGroupResolver(inv, { now: NOW }).pods,
  })

/** Outside addresses: in and out of the CIDRs the estates use, and in the named external. */
export const OUTSIDE = ['192.0.2.5', '203.0.113.7', '8.8.8.8', '10.9.9.9'] as const

/** Services of the grid, as [protocol, destination port]. */
export const SERVICES: readonly (readonly [number, number])[] = [
  [6, 80],
  [6, 443],
  [6, 8050],
  [17, 53],
  [132, 9000],
  [1, 8],
  // ICMP errors (destination unreachable, time exceeded): allowed by the model as related, by
  // the clusters' connection tracking likewise
  [1, 3],
  [1, 11],
]

/**
 * Runs the property: `plan` compiles (throwing `compile/not-expressible` to skip an estate),
 * `allows` decides a flow from the compiled objects. Every workload is enforced, unless `modes`
 * is given: then the estates get random Enforcement lists in those modes, and a flow must pass
 * the compiled objects exactly when the model does not block it (DESIGN.md rule 5: only
 * `enforce` blocks; `monitor` reports, `observe` installs nothing). Returns the counts.
 */
export function runDifferential(
  plan: (inv: Inventory, ps: PolicySet) => { objects: K8sObject[]; pods: readonly CompiledPod[] },
  allows: (
    objects: K8sObject[],
    src: CheckEndpoint,
    dst: CheckEndpoint,
    p: number,
    port: number,
  ) => boolean,
  numRuns = 100,
  modes?: readonly EnforcementMode[],
): { verified: number; refused: number; allowed: number; denied: number } {
  const counts = { verified: 0, refused: 0, allowed: 0, denied: 0 }
  fc.assert(
    fc.property(
      // without modes, the same draws as before modes were added
      modes ? fc.tuple(estateArb, enforcementArb(modes)) : estateArb.map((e) => [e, []] as const),
      ([{ workloads, policies }, enforcement]) => {
        const inventory: Inventory = {
          workloads,
          externals: [{ name: 'partner', cidr: cidr('203.0.113.0/24'), labels: labelSet() }],
          labelRules: [],
        }
        // the VMs' own modes are their hosts' business (nftables, iptables): only the pods'
        // modes decide what the cluster's objects must block
        const vmsObserved = VMS.map((w) => ({
          selector: { kind: 'workload' as const, name: w.name, global: true },
          mode: 'observe' as const,
        }))
        const ps = modes
          ? { policies, enforcement: [...vmsObserved, ...enforcement] }
          : enforced(policies)
        let compiled: ReturnType<typeof plan>
        try {
          compiled = plan(inventory, ps)
        } catch (e) {
          if (
            e instanceof BulkheadError &&
            e.diagnostics.every((d) => d.code === 'compile/not-expressible')
          ) {
            counts.refused++
            return
          }
          throw e
        }
        counts.verified++
        const byIp = new Map<string, CompiledPod>()
        for (const p of compiled.pods) for (const a of p.workload.addresses) byIp.set(a.ip, p)
        const ends: CheckEndpoint[] = [
          ...[...byIp].map(([ip, pod]) => ({ ip, pod })),
          ...[...OUTSIDE, ...VMS.flatMap((w) => w.addresses.map((a) => a.ip))].map((ip) => ({
            ip,
          })),
        ]
        for (const s of ends)
          for (const d of ends) {
            if (s === d || (!s.pod && !d.pod) || s.ip.includes(':') !== d.ip.includes(':')) continue
            for (const [protocol, port] of SERVICES) {
              const v = evaluate(inventory, ps, {
                src: s.ip,
                dst: d.ip,
                protocol,
                dstPort: port,
                at: NOW.getTime(),
              })
              const want = modes ? v.outcome !== 'blocked' : v.decision === 'allowed'
              const got = allows(compiled.objects, s, d, protocol, port)
              if (got) counts.allowed++
              else counts.denied++
              expect(got, `${s.ip} -> ${d.ip} ${protocol}/${port}`).toBe(want)
            }
          }
      },
    ),
    { seed: SEED, numRuns, endOnFailure: true },
  )
  return counts
}
