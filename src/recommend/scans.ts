/**
 * @module Scan detection for recommendations: edges that look like reconnaissance (a port sweep
 * of one destination, or one port probed across many destinations) rather than a dependency, so
 * that least privilege does not learn from them. Pure.
 * @remarks Semantics: a probe is a short, one-off edge; a scan is many probes in one burst. The
 * accepted (answered) probes are what must not become rules; the rejected ones are what show the
 * scan, so both are counted. Thresholds are Bulkhead's own judgement, given below with reasons.
 */
import { hasPorts, hasRealTime } from '../core/index.js'
import type { Edge } from '../discover/types.js'
import { HIGH_PORT_LOW } from './ports.js'

/**
 * Most flows a probe edge has. A scanner tries each port or host once (nmap retransmits an
 * unanswered probe once; a connect scan that gets an answer opens one connection, a version probe
 * a second): 1–3 flows. A dependency that is used at all is used more often over a window.
 */
export const PROBE_MAX_FLOWS = 3

/**
 * Longest span of a probe edge, `lastSeen − firstSeen`, ms: 10 minutes. A probe's flows are
 * seconds long, but an AWS VPC flow log record covers its aggregation interval (up to
 * 10 minutes), so one probe can be recorded as a flow that long. An edge seen again later
 * (another day, another hour) is traffic that comes back, not a probe.
 */
export const PROBE_MAX_SPAN_MS = 10 * 60_000

/**
 * Fewest distinct destination ports a vertical scan probes (one source, one destination, one
 * protocol). Services that answer on many ports at once (an RPC endpoint mapper's dynamic ports,
 * passive FTP data ports) are used again over days, so their edges are not probes; 10 leaves
 * room for a client opening a handful of new ports in one session, while nmap's quickest scan
 * (`-F`) tries 100.
 */
export const SCAN_MIN_PORTS = 10

/**
 * Fewest distinct destination entities a horizontal scan probes (one source, one protocol, one
 * port): a sweep of a subnet for SSH, SMB or a database port. Jobs that touch many hosts
 * (backups, configuration pushes, monitoring) come back every night or every few minutes, so
 * their edges are not probes.
 */
export const SCAN_MIN_TARGETS = 10

/**
 * The burst a scan's probes start in, ms: 10 minutes. The probes' `firstSeen` must fall within
 * one such window (nmap's default timing probes 1 000 ports in seconds; a slow scan spread over
 * hours is not caught, and its probes stay visible as `once` rules).
 */
export const SCAN_WINDOW_MS = 10 * 60_000

/**
 * Ports on which a client asks a server for a dynamic port and then connects to it: FTP control
 * (21, passive data ports follow), the DCE/MS RPC endpoint mapper (135) and the ONC RPC
 * portmapper (111). When a source has regular (non-probe) traffic to one of them on a
 * destination, its one-off high ports (≥ 1024) to that destination are the negotiated data
 * ports, each used once, and are not counted as a vertical scan.
 */
export const NEGOTIATING_PORTS: ReadonlySet<number> = new Set([21, 111, 135])

/** One detected scan. */
export interface Scan {
  /** `vertical`: many ports of one destination; `horizontal`: one port of many destinations. */
  readonly kind: 'vertical' | 'horizontal'
  /** Source entity id. */
  readonly src: string
  /** Destination entity ids, sorted (one for a vertical scan). */
  readonly dsts: readonly string[]
  readonly protocol: number
  /** Destination ports, ascending (one for a horizontal scan). */
  readonly ports: readonly number[]
  /** The scan's probe edges, accepted and rejected, in `firstSeen` order. */
  readonly edges: readonly Edge[]
  /** ms since the epoch, UTC: the earliest `firstSeen` and the latest `lastSeen` of its edges. */
  readonly start: number
  readonly end: number
}

/**
 * True when an edge is a probe: 1 to {@link PROBE_MAX_FLOWS} flows, with a real time, seen over
 * at most {@link PROBE_MAX_SPAN_MS}.
 */
export function isProbe(edge: Edge): boolean {
  return (
    edge.flows > 0 &&
    edge.flows <= PROBE_MAX_FLOWS &&
    hasRealTime(edge.firstSeen) &&
    edge.lastSeen - edge.firstSeen <= PROBE_MAX_SPAN_MS
  )
}

/**
 * Finds scans among the map's edges. A vertical scan: one (source, destination, protocol with
 * ports) with probe edges on at least {@link SCAN_MIN_PORTS} distinct ports whose `firstSeen` lie
 * within one {@link SCAN_WINDOW_MS}. A horizontal scan: one (source, protocol, port) with probe
 * edges to at least {@link SCAN_MIN_TARGETS} distinct destinations within one window. Every probe
 * of some such window belongs to the scan; windows that overlap make one scan. Probes are counted
 * whether accepted or rejected. High-port probes of a source to a destination it reaches
 * regularly on a {@link NEGOTIATING_PORTS} port are not counted for vertical scans.
 * @param edges - the map's edges, any order. The caller leaves out edges that are not attempts
 *   (replies recorded the wrong way round).
 * @returns scans ordered by start, then source; an edge may be in a vertical and a horizontal scan.
 */
export function findScans(edges: readonly Edge[]): Scan[] {
  const negotiated = new Set<string>()
  for (const e of edges)
    if (e.protocol === 6 && NEGOTIATING_PORTS.has(e.dstPort) && !isProbe(e))
      negotiated.add(pairKey(e.src, e.dst))
  const vertical = new Map<string, Edge[]>()
  const horizontal = new Map<string, Edge[]>()
  for (const e of edges) {
    if (!isProbe(e)) continue
    push(horizontal, `${e.src}\u0000${e.protocol}\u0000${e.dstPort}`, e)
    if (!hasPorts(e.protocol)) continue
    if (e.dstPort >= HIGH_PORT_LOW && negotiated.has(pairKey(e.src, e.dst))) continue
    push(vertical, `${pairKey(e.src, e.dst)}\u0000${e.protocol}`, e)
  }
  const scans: Scan[] = []
  // in a group, every edge has its own port (vertical) or destination (horizontal): the edge key
  for (const list of vertical.values()) scans.push(...bursts('vertical', list, SCAN_MIN_PORTS))
  for (const list of horizontal.values())
    scans.push(...bursts('horizontal', list, SCAN_MIN_TARGETS))
  return scans.sort((a, b) => a.start - b.start || (a.src < b.src ? -1 : a.src > b.src ? 1 : 0))
}

function pairKey(src: string, dst: string): string {
  return `${src}\u0000${dst}`
}

function push(m: Map<string, Edge[]>, key: string, e: Edge): void {
  const list = m.get(key)
  if (list) list.push(e)
  else m.set(key, [e])
}

/**
 * The scans of one group of probes (distinct ports or destinations): the probes of every window
 * of {@link SCAN_WINDOW_MS} (from one probe's `firstSeen`, inclusive) holding at least `min`
 * of them, overlapping windows joined.
 */
function bursts(kind: Scan['kind'], group: readonly Edge[], min: number): Scan[] {
  if (group.length < min) return []
  const list = [...group].sort((a, b) => a.firstSeen - b.firstSeen)
  const member = new Array<boolean>(list.length).fill(false)
  let hi = 0
  for (let lo = 0; lo < list.length; lo++) {
    const start = (list[lo] as Edge).firstSeen
    while (hi < list.length && (list[hi] as Edge).firstSeen - start <= SCAN_WINDOW_MS) hi++
    if (hi - lo >= min) for (let i = lo; i < hi; i++) member[i] = true
  }
  const out: Scan[] = []
  let run: Edge[] = []
  let runEnd = -Infinity // the last window's end, to join overlapping windows
  const flush = (): void => {
    if (run.length > 0) out.push(scanOf(kind, run))
    run = []
  }
  list.forEach((e, i) => {
    if (!member[i]) return
    if (e.firstSeen > runEnd) flush()
    run.push(e)
    runEnd = Math.max(runEnd, e.firstSeen + SCAN_WINDOW_MS)
  })
  flush()
  return out
}

function scanOf(kind: Scan['kind'], edges: readonly Edge[]): Scan {
  const first = edges[0] as Edge
  return {
    kind,
    src: first.src,
    dsts: [...new Set(edges.map((e) => e.dst))].sort(),
    protocol: first.protocol,
    ports: [...new Set(edges.map((e) => e.dstPort))].sort((a, b) => a - b),
    edges,
    // reduce, not Math.min(...): a sweep of every port is 65 536 edges, too many arguments
    start: edges.reduce((t, e) => Math.min(t, e.firstSeen), Infinity),
    end: edges.reduce((t, e) => Math.max(t, e.lastSeen), -Infinity),
  }
}
