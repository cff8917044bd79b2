/**
 * @module Port handling for recommendations: dynamic port ranges (RPC, passive FTP) proposed as
 * one range, and ephemeral-port noise from misdetected flow direction.
 * @remarks Semantics: issue 5 item 4. Ephemeral ports: IANA 49152–65535 (RFC 6335 §6) and
 * Linux' default 32768–60999; the lower bound of both, 32768, is used.
 */
import { hasPorts } from '../core/index.js'
import type { Edge } from '../discover/types.js'

/** Lowest port treated as ephemeral when looking for misdetected direction. */
export const EPHEMERAL_LOW = 32768
/** Ports at or above this are "high" for range detection (registered and dynamic ports). */
export const HIGH_PORT_LOW = 1024

/** Options of {@link groupPorts}. */
export interface PortRangeOptions {
  /** Fewest distinct high ports a cluster needs to become a range. Default 8. */
  readonly minPorts?: number
  /** Largest gap between neighbouring observed ports inside one cluster. Default 32. */
  readonly maxGap?: number
}

/**
 * Ports {@link groupPorts} keeps single and never inside a range: a cluster ends before each of
 * them and starts again after it (recommend: the ports of a scan kept with `--include-scans`).
 */
export type PortBarriers = ReadonlySet<number>

/** One group of observed ports: a single port, or a proposed range with the ports seen in it. */
export interface PortGroup {
  readonly lo: number
  readonly hi: number
  /** Observed ports inside `[lo, hi]`, ascending. */
  readonly observed: readonly number[]
  /** True when several observed ports were merged into one range (warn the user). */
  readonly range: boolean
}

/**
 * Groups the observed destination ports of one (source, destination, protocol): high ports
 * (≥ 1024) whose neighbours are at most `maxGap` apart form clusters, and a cluster with at least
 * `minPorts` ports becomes one range `[first, last]`. Every other port stays single. Protocols
 * without ports (ICMP types, GRE) are never ranged. A port in `barriers` stays single, and no
 * range reaches over it.
 * @param ports - observed ports, any order, duplicates allowed.
 * @returns groups ascending by `lo`; every input port is in exactly one group.
 */
export function groupPorts(
  protocol: number,
  ports: Iterable<number>,
  options: PortRangeOptions = {},
  barriers: PortBarriers = new Set(),
): PortGroup[] {
  const minPorts = options.minPorts ?? 8
  const maxGap = options.maxGap ?? 32
  const sorted = [...new Set(ports)].sort((a, b) => a - b)
  const single = (p: number): PortGroup => ({ lo: p, hi: p, observed: [p], range: false })
  if (!hasPorts(protocol)) return sorted.map(single)
  const out: PortGroup[] = []
  let cluster: number[] = []
  const flush = (): void => {
    if (cluster.length >= minPorts) {
      out.push({
        lo: cluster[0] as number,
        hi: cluster[cluster.length - 1] as number,
        observed: cluster,
        range: true,
      })
    } else out.push(...cluster.map(single))
    cluster = []
  }
  for (const p of sorted) {
    if (p < HIGH_PORT_LOW) {
      out.push(single(p))
      continue
    }
    if (barriers.has(p)) {
      flush()
      out.push(single(p))
      continue
    }
    const last = cluster[cluster.length - 1]
    if (last !== undefined && p - last > maxGap) flush()
    cluster.push(p)
  }
  flush()
  return out.sort((a, b) => a.lo - b.lo)
}

/**
 * True when an edge looks like the reply half of a connection recorded in the wrong direction:
 * its destination port is ephemeral (≥ 32768), none of its flows had a recorded direction
 * (`unknownDirection === flows`: a flow whose source named the client, as Zeek does, is no
 * reply), and the map holds the reverse edge (destination → source, same protocol) on a
 * non-ephemeral port, which is the real connection. Such an edge needs no rule: replies of the
 * allowed reverse connection are allowed (DESIGN.md semantics rule 3).
 * @param reverse - (src, dst, protocol) → destination ports of the map's edges.
 */
export function isEphemeralNoise(
  edge: Edge,
  reverse: ReadonlyMap<string, readonly number[]>,
): boolean {
  if (
    !hasPorts(edge.protocol) ||
    edge.dstPort < EPHEMERAL_LOW ||
    edge.unknownDirection <= 0 ||
    edge.unknownDirection < edge.flows
  ) {
    return false
  }
  const back = reverse.get(endpointsKey(edge.dst, edge.src, edge.protocol)) ?? []
  return back.some((p) => p < EPHEMERAL_LOW)
}

/** Key of (src, dst, protocol) for {@link isEphemeralNoise}'s index. */
export function endpointsKey(src: string, dst: string, protocol: number): string {
  return `${src}\u0000${dst}\u0000${protocol}`
}

/** Builds the index {@link isEphemeralNoise} reads: (src, dst, protocol) → destination ports. */
export function portsByEndpoints(edges: readonly Edge[]): Map<string, number[]> {
  const out = new Map<string, number[]>()
  for (const e of edges) {
    const k = endpointsKey(e.src, e.dst, e.protocol)
    const list = out.get(k) ?? []
    list.push(e.dstPort)
    out.set(k, list)
  }
  return out
}
