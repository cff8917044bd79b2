/**
 * @module Test helper for `k8s import`: imports manifests, writes the files, loads them as a
 * workspace and compares `bulkhead connlist` of the result with `k8s connlist` of the manifests,
 * through the np-guard view (as test/compile/kubernetes.test.ts compares compiled policies).
 */
import { parseCidr, type Cidr, type Diagnostic, type ServiceSet } from '../../src/core/index.js'
import type { SourceFile } from '../../src/core/yaml-source.js'
import {
  analyze,
  importManifests,
  INGRESS_CONTROLLER,
  npGuardView,
  renderImport,
  type K8sImport,
} from '../../src/kubernetes/index.js'
import { connlist, connlistEntities, formatConns } from '../../src/policy/connlist.js'
import { loadFromSources } from '../../src/policy/load.js'
import { defaultWorkspace } from '../../src/policy/workspace.js'

export const NOW = new Date(Date.UTC(2026, 10, 22, 12))
/** Addresses given to pods without an IP (outside every block the fixtures use). */
export const POD_BLOCK = parseCidr('100.64.0.0/10') as Cidr
/** IPv6 addresses given to pods without an IP (outside every block the fixtures use). */
export const POD_BLOCK6 = parseCidr('fd99::/64') as Cidr

type Ranges = { family: 4 | 6; first: bigint; last: bigint }[]

export interface ImportComparison {
  readonly imported: K8sImport
  readonly loadDiagnostics: readonly Diagnostic[]
  /** `src => dst` (range ends as `family:first-address`) → connection text, per side. */
  readonly model: Map<string, string>
  readonly k8s: Map<string, string>
  readonly files: Map<string, string>
}

/**
 * Imports `files`, renders and re-loads the result (so YAML rendering is checked too) and
 * builds the two comparable connection maps. Lines of `{ingress-controller}` are left out (not
 * imported); IPv6 pieces are left out when the analyser has no IPv6 range (as np-guard, it
 * models IPv6 only when a policy names an IPv6 block); pieces that are pod addresses are left
 * out (pods are matched by selectors, never by address, in the analyser).
 * @param assign - the import's `assignAddresses` blocks (default {@link POD_BLOCK} only).
 */
export function compareImport(
  files: readonly SourceFile[],
  assign: readonly Cidr[] = [POD_BLOCK],
): ImportComparison {
  const imported = importManifests(files, { assignAddresses: assign })
  const rendered = renderImport(imported)
  const inv: SourceFile[] = [
    { path: 'inventory/inventory.yaml', text: rendered.get('inventory.yaml') ?? '' },
  ]
  const pol: SourceFile[] = [...rendered]
    .filter(([p]) => p !== 'inventory.yaml')
    .map(([p, text]) => ({ path: `policy/${p}`, text }))
  const loaded = loadFromSources(defaultWorkspace('/ws'), inv, pol, NOW)
  const analysis = analyze(files)
  const modelConns = connlist(loaded.inventory, loaded.policySet, { now: NOW })
  const heldPoints = new Set<string>()
  for (const w of loaded.inventory.workloads)
    for (const a of w.addresses) {
      const c = parseCidr(a.ip.includes(':') ? `${a.ip}/128` : `${a.ip}/32`) as Cidr
      heldPoints.add(`${c.family}:${c.base}`)
    }
  const modelRanges = new Map<string, Ranges>()
  for (const e of connlistEntities(loaded.inventory, loaded.policySet, { now: NOW }))
    if (e.ranges) modelRanges.set(e.name, e.ranges as Ranges)
  const k8sRanges = new Map<string, Ranges>()
  for (const r of analysis.ranges) k8sRanges.set(r.name, [r])
  const v6 = analysis.ranges.some((r) => r.family === 6)
  const cuts = new Set<string>()
  for (const rs of [...modelRanges.values(), ...k8sRanges.values()])
    for (const r of rs) {
      cuts.add(`${r.family}:${r.first}`)
      cuts.add(`${r.family}:${r.last + 1n}`)
    }
  const points = [...cuts]
    .filter((c) => !heldPoints.has(c) && (v6 || !c.startsWith('6:')))
    .map((c) => {
      const [f, v] = c.split(':')
      return { key: c, family: Number(f) as 4 | 6, value: BigInt(v ?? '0') }
    })
  const build = (
    conns: readonly { src: string; dst: string; services: ServiceSet }[],
    ranges: Map<string, Ranges>,
  ): Map<string, string> => {
    const acc = new Map<string, ServiceSet>()
    const add = (k: string, s: ServiceSet): void => {
      const prev = acc.get(k)
      acc.set(k, prev ? prev.union(s) : s)
    }
    for (const c of conns) {
      if (c.src === INGRESS_CONTROLLER || c.dst === INGRESS_CONTROLLER) continue
      const sr = ranges.get(c.src)
      const dr = ranges.get(c.dst)
      if (sr && dr) continue
      if (!sr && !dr) add(`${c.src} => ${c.dst}`, c.services)
      for (const [rs, fmt] of [
        [sr, (p: string) => `${p} => ${c.dst}`],
        [dr, (p: string) => `${c.src} => ${p}`],
      ] as const) {
        if (!rs) continue
        for (const pt of points)
          if (rs.some((r) => r.family === pt.family && r.first <= pt.value && pt.value <= r.last))
            add(fmt(pt.key), c.services)
      }
    }
    const out = new Map<string, string>()
    for (const [k, s] of acc) {
      const v = npGuardView(s)
      if (!v.isEmpty) out.set(k, formatConns(v))
    }
    return out
  }
  return {
    imported,
    loadDiagnostics: loaded.diagnostics,
    model: build(modelConns, modelRanges),
    k8s: build(analysis.connections, k8sRanges),
    files: rendered,
  }
}

/** Sorted entries, for equality assertions with readable diffs. */
export const sorted = (m: Map<string, string>): [string, string][] => [...m.entries()].sort()
