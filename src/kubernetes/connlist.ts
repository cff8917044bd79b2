/**
 * @module Kubernetes connectivity analysis: every allowed directed connection between workloads,
 * external address ranges and the `{ingress-controller}`, under NetworkPolicy,
 * AdminNetworkPolicy and BaselineAdminNetworkPolicy; and its np-guard connlist rendering.
 *
 * Decision for traffic leaving pod S (egress) or entering pod D (ingress), per service
 * (network-policy-api "Precedence", Kubernetes NetworkPolicy):
 *
 * 1. AdminNetworkPolicies whose subject holds the pod, by priority (lower first), rules in
 *    order: the first rule whose peer matches the other end and whose ports hold the service
 *    decides — `Allow` (allowed, no other layer asked), `Deny` (denied), `Pass` (go to 2).
 * 2. NetworkPolicies of the pod's namespace selecting it with that policy type: if any, the
 *    service is allowed iff some rule of one of them allows it; none: go to 3.
 * 3. The BaselineAdminNetworkPolicy, rules in order, first match decides (`Allow`/`Deny`);
 *    no match: allowed.
 *
 * A connection pod → pod needs the source's egress and the destination's ingress; pod → address
 * only the egress, address → pod only the ingress. Workloads connect on the union over their
 * pods. Only ends of a common address family connect: a pod that holds no IPv4 address
 * (`status.podIPs`) has no connection with an IPv4 range or an IPv4-only pod (likewise IPv6); a
 * pod whose addresses the input does not give holds both families. Addresses are split into ranges at the edges of what every ipBlock admits (its `cidr`
 * minus its `except`s, a union of runs: np-guard's `ExceptCidrs` then `Split`, so two adjacent
 * excepts make one range, not two) and of every ANP `networks` block (IPv4 always; IPv6 when
 * some block of either direction is IPv6), one line per range (`0.0.0.0-9.255.255.255[External]`), as np-guard's
 * `DisjointIPBlocks` cuts and prints them; pods are matched by selectors
 * only, addresses by ipBlocks and networks only. As np-guard does, the split is per direction:
 * lines address → pod use the blocks of ingress rules, lines pod → address those of egress rules
 * (so a cluster whose egress rules name no block prints `0.0.0.0-255.255.255.255[External]` as
 * destination even when ingress rules split the sources).
 *
 * OVN-Kubernetes primary user-defined networks (./udn.ts): a pod of a primary UDN/CUDN and a pod
 * of another network never connect; inside one network, and between a pod and an address range
 * or the ingress controller, the layers above decide. Each connection records the primary network
 * of its workload end(s), and the txt format prints one section per network as np-guard does.
 */
import {
  cidrRange,
  familyBits,
  formatIp,
  hasErrors,
  labelSet,
  parseIp,
  ServiceSet,
  type Cidr,
  type Diagnostic,
  type IpFamily,
  type LabelSet,
} from '../core/index.js'
import { formatConnlist, type Connection, type ConnlistFormat } from '../policy/connlist.js'
import type { SourceFile } from '../core/yaml-source.js'
import type { AnpPeer, AnpPods } from './anp.js'
import { INGRESS_CONTROLLER, INGRESS_CONTROLLER_NAMESPACE } from './ingress.js'
import { NAMESPACE_NAME_LABEL, selects, type K8sPod } from './manifests.js'
import { anpPortsSet, loadModel, netpolPortsSet, type K8sModel, type K8sWorkload } from './model.js'
import type { IpBlock, NetpolPeer, NetworkPolicy } from './netpol.js'
import { networksIsolate, type PrimaryNetwork } from './udn.js'

export type { Connection } from '../policy/connlist.js'

/** A connection of the Kubernetes analysis, with the primary network it is analysed in. */
export interface K8sConnection extends Connection {
  /** The primary UDN/CUDN of its workload end(s); absent on the cluster's pod network. */
  readonly network?: PrimaryNetwork
}

/** An address range, inclusive, of one family. */
export interface ExternalRange {
  readonly family: IpFamily
  readonly first: bigint
  readonly last: bigint
  /** `first-last[External]`. */
  readonly name: string
}

/** The other end of a direction's decision: a pod, or an address range. */
export type Peer =
  | { readonly kind: 'pod'; readonly pod: K8sPod }
  | { readonly kind: 'range'; readonly range: ExternalRange }

/** Result of {@link analyze}. */
export interface Analysis {
  readonly model: K8sModel
  readonly workloads: readonly K8sWorkload[]
  readonly ranges: readonly ExternalRange[]
  /** Allowed connections with a non-empty service set, never an entity to itself, unsorted. */
  readonly connections: readonly K8sConnection[]
  readonly diagnostics: readonly Diagnostic[]
}

/** The pod standing for the ingress controller (no labels, in its own namespace). */
export const INGRESS_CONTROLLER_POD: K8sPod = {
  name: 'ingress-controller',
  namespace: INGRESS_CONTROLLER_NAMESPACE,
  labels: labelSet(),
  workload: INGRESS_CONTROLLER,
  ports: [],
  location: { file: '', line: 0, column: 0 },
}

const CONTROLLER_NS_LABELS = labelSet({ [NAMESPACE_NAME_LABEL]: INGRESS_CONTROLLER_NAMESPACE })

/** Labels of a namespace (only its name label when the input does not declare it). */
export function namespaceLabels(model: K8sModel, ns: string): LabelSet {
  if (ns === INGRESS_CONTROLLER_NAMESPACE) return CONTROLLER_NS_LABELS
  return model.namespaces.get(ns)?.labels ?? labelSet({ [NAMESPACE_NAME_LABEL]: ns })
}

/**
 * The address peers of one direction's rules: NetworkPolicy ipBlocks of ingress (`'ingress'`) or
 * egress rules, and for egress the `networks` blocks of AdminNetworkPolicy and
 * BaselineAdminNetworkPolicy rules (v1alpha1 has no ingress networks).
 */
function* addressPeers(
  model: K8sModel,
  direction: 'ingress' | 'egress',
): Generator<IpBlock | Cidr> {
  for (const np of model.networkPolicies) {
    for (const r of np[direction] ?? []) {
      if (r.peers === 'all') continue
      for (const p of r.peers) if (p.kind === 'ipBlock') yield p.block
    }
  }
  if (direction === 'egress') {
    for (const ap of [
      ...model.adminPolicies,
      ...(model.baselinePolicy ? [model.baselinePolicy] : []),
    ]) {
      for (const r of ap.egress) for (const p of r.peers) if (p.kind === 'networks') yield* p.blocks
    }
  }
}

/**
 * The CIDR blocks the policies of the model mention in one direction ({@link addressPeers}):
 * an ipBlock's `cidr` and `except`s, and ANP/BANP `networks` blocks.
 */
export function modelBlocks(model: K8sModel, direction: 'ingress' | 'egress'): Cidr[] {
  return [...addressPeers(model, direction)].flatMap((b) =>
    'except' in b ? [b.cidr, ...b.except] : [b],
  )
}

/** An inclusive address interval of one family (values as in `IpAddress`). */
export interface AddressInterval {
  readonly family: IpFamily
  readonly first: bigint
  readonly last: bigint
}

/**
 * What an ipBlock admits, `cidr` minus every `except`, as maximal runs of addresses, ascending
 * (none when the excepts cover the cidr). np-guard cuts the address space at the ends of these
 * runs (`IPBlock.ExceptCidrs(...).Split()` in `rulePeersReferencedIPBlocks`), not at each
 * `except`: excepts `10.0.0.0/9` and `10.128.0.0/9` give one edge at `11.0.0.0`, none at
 * `10.128.0.0`.
 */
export function ipBlockIntervals(b: IpBlock): AddressInterval[] {
  const { first, last } = cidrRange(b.cidr)
  const holes = b.except
    .filter((e) => e.family === b.cidr.family)
    .map(cidrRange)
    .sort((x, y) => (x.first < y.first ? -1 : x.first > y.first ? 1 : 0))
  const out: AddressInterval[] = []
  let cur = first
  for (const h of holes) {
    if (h.last < cur) continue
    if (h.first > last) break
    if (h.first > cur) out.push({ family: b.cidr.family, first: cur, last: h.first - 1n })
    if (h.last + 1n > cur) cur = h.last + 1n
  }
  if (cur <= last) out.push({ family: b.cidr.family, first: cur, last })
  return out
}

/**
 * The intervals whose edges cut one direction's address space in `k8s connlist`
 * ({@link addressPeers}): the runs of every NetworkPolicy ipBlock ({@link ipBlockIntervals}), and
 * every ANP/BANP `networks` block whole.
 */
export function modelIntervals(
  model: K8sModel,
  direction: 'ingress' | 'egress',
): AddressInterval[] {
  return [...addressPeers(model, direction)].flatMap((b) =>
    'except' in b ? ipBlockIntervals(b) : [{ family: b.family, ...cidrRange(b) }],
  )
}

/** The address space split at every block boundary (see the module comment). */
export function externalRanges(blocks: readonly Cidr[]): ExternalRange[] {
  return intervalRanges(blocks.map((b) => ({ family: b.family, ...cidrRange(b) })))
}

/**
 * The address space split at both ends of every interval: IPv4 always, IPv6 when `ipv6` (by
 * default, when some interval is IPv6).
 */
export function intervalRanges(
  intervals: readonly AddressInterval[],
  ipv6 = intervals.some((b) => b.family === 6),
): ExternalRange[] {
  const out: ExternalRange[] = []
  for (const family of [4, 6] as const) {
    if (family === 6 && !ipv6) continue
    const top = 1n << BigInt(familyBits(family))
    const points = new Set<bigint>([0n, top])
    for (const b of intervals) {
      if (b.family !== family) continue
      points.add(b.first)
      points.add(b.last + 1n)
    }
    const sorted = [...points].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    for (let i = 0; i + 1 < sorted.length; i++) {
      const first = sorted[i] as bigint
      const last = (sorted[i + 1] as bigint) - 1n
      out.push({
        family,
        first,
        last,
        name: `${formatIp({ family, value: first })}-${formatIp({ family, value: last })}[External]`,
      })
    }
  }
  return out
}

/** True when the whole range lies in the block (ranges never straddle a block boundary). */
export function rangeInCidr(
  range: { family: IpFamily; first: bigint; last: bigint },
  c: Cidr,
): boolean {
  if (range.family !== c.family) return false
  const { first, last } = cidrRange(c)
  return range.first >= first && range.last <= last
}

/**
 * True when the range lies in the ipBlock's cidr and meets none of its excepts. Ranges are cut
 * at the ends of what the block admits ({@link ipBlockIntervals}), so one that meets an except
 * lies wholly in the excepts, though perhaps in no single one of them.
 */
export function rangeInBlock(
  range: { family: IpFamily; first: bigint; last: bigint },
  b: IpBlock,
): boolean {
  return rangeInCidr(range, b.cidr) && !b.except.some((e) => rangeMeetsCidr(range, e))
}

/** True when the range and the block share an address. */
function rangeMeetsCidr(
  range: { family: IpFamily; first: bigint; last: bigint },
  c: Cidr,
): boolean {
  if (range.family !== c.family) return false
  const { first, last } = cidrRange(c)
  return range.first <= last && range.last >= first
}

/** Whether a NetworkPolicy peer matches the other end (a pod, or a range by ipBlock). */
export function netpolPeerMatches(
  model: K8sModel,
  np: NetworkPolicy,
  peer: NetpolPeer,
  other: Peer,
): boolean {
  if (peer.kind === 'ipBlock')
    return other.kind === 'range' && rangeInBlock(other.range, peer.block)
  if (other.kind !== 'pod') return false
  const pod = other.pod
  if (peer.namespaceSelector === undefined) {
    if (pod.namespace !== np.namespace) return false
  } else if (!selects(peer.namespaceSelector, namespaceLabels(model, pod.namespace))) return false
  return selects(peer.podSelector, pod.labels)
}

/** Whether an ANP subject (or a namespaces/pods peer) holds the pod. */
export function anpPodsMatch(model: K8sModel, s: AnpPods, pod: K8sPod): boolean {
  const nsLabels = namespaceLabels(model, pod.namespace)
  if (s.kind === 'namespaces') return selects(s.namespaces, nsLabels)
  return selects(s.namespaceSelector, nsLabels) && selects(s.podSelector, pod.labels)
}

/** Whether an ANP/BANP peer matches the other end. */
export function anpPeerMatches(model: K8sModel, peer: AnpPeer, other: Peer): boolean {
  if (peer.kind === 'networks')
    return other.kind === 'range' && peer.blocks.some((b) => rangeInCidr(other.range, b))
  return other.kind === 'pod' && anpPodsMatch(model, peer, other.pod)
}

/** NetworkPolicies selecting `pod` with the direction's policy type. */
export function selectingPolicies(
  model: K8sModel,
  pod: K8sPod,
  direction: 'ingress' | 'egress',
): NetworkPolicy[] {
  return model.networkPolicies.filter(
    (np) =>
      np[direction] !== undefined &&
      np.namespace === pod.namespace &&
      selects(np.podSelector, pod.labels),
  )
}

/**
 * The address of the node a pod runs on, when the caller knows it (manifests carry no node
 * addresses: the analysis, as np-guard's, leaves it out).
 */
export type PodNode = (pod: K8sPod) => string | undefined

/** Whether `range` is the one address `ip` (text). */
function rangeIsAddress(range: ExternalRange, ip: string): boolean {
  const a = parseIp(ip)
  return !!a && a.family === range.family && range.first === a.value && range.last === a.value
}

/**
 * The services allowed in one direction at `subject` (the source for egress, the destination
 * for ingress) with `other` the far end, by the three layers of the module comment. Named
 * ports resolve against the destination pod (`subject` for ingress, `other` for egress).
 * `nodeOf`, when given, names each pod's node address: ingress from it is allowed whatever the
 * policies (NetworkPolicySpec.ingress: "OR if the traffic source is the pod's local node";
 * AdminNetworkPolicy and BaselineAdminNetworkPolicy ingress peers are pods and namespaces, which
 * take no node address).
 */
export function directionAllows(
  model: K8sModel,
  subject: K8sPod,
  other: Peer,
  direction: 'ingress' | 'egress',
  nodeOf?: PodNode,
): ServiceSet {
  if (direction === 'ingress' && other.kind === 'range' && nodeOf) {
    const node = nodeOf(subject)
    if (node !== undefined && rangeIsAddress(other.range, node)) return ServiceSet.ANY
  }
  const dst = direction === 'ingress' ? subject : other.kind === 'pod' ? other.pod : undefined
  let undecided = ServiceSet.ANY
  let allowed = ServiceSet.EMPTY
  let passed = ServiceSet.EMPTY
  for (const ap of model.adminPolicies) {
    if (undecided.isEmpty) break
    if (!anpPodsMatch(model, ap.subject, subject)) continue
    for (const r of ap[direction]) {
      if (!r.peers.some((p) => anpPeerMatches(model, p, other))) continue
      const s = anpPortsSet(r.ports, dst).intersect(undecided)
      if (s.isEmpty) continue
      if (r.action === 'Allow') allowed = allowed.union(s)
      else if (r.action === 'Pass') passed = passed.union(s)
      undecided = undecided.subtract(s)
    }
  }
  let rest = undecided.union(passed)
  if (rest.isEmpty) return allowed
  const nps = selectingPolicies(model, subject, direction)
  if (nps.length > 0) {
    let npAllowed = ServiceSet.EMPTY
    for (const np of nps) {
      for (const r of np[direction] ?? []) {
        if (r.peers !== 'all' && !r.peers.some((p) => netpolPeerMatches(model, np, p, other)))
          continue
        npAllowed = npAllowed.union(netpolPortsSet(r.ports, dst))
      }
    }
    return allowed.union(rest.intersect(npAllowed))
  }
  const banp = model.baselinePolicy
  if (banp && anpPodsMatch(model, banp.subject, subject)) {
    for (const r of banp[direction]) {
      if (rest.isEmpty) break
      if (!r.peers.some((p) => anpPeerMatches(model, p, other))) continue
      const s = anpPortsSet(r.ports, dst).intersect(rest)
      if (r.action === 'Allow') allowed = allowed.union(s)
      rest = rest.subtract(s)
    }
  }
  return allowed.union(rest)
}

/**
 * Whether two ends are kept apart by their primary networks: both pods (not the ingress
 * controller, which is outside every network, as address ranges are) on different networks.
 */
export function primaryIsolated(model: K8sModel, src: Peer, dst: Peer): boolean {
  if (src.kind !== 'pod' || dst.kind !== 'pod') return false
  if (src.pod === INGRESS_CONTROLLER_POD || dst.pod === INGRESS_CONTROLLER_POD) return false
  const nets = model.primaryNetworks
  return networksIsolate(nets.get(src.pod.namespace), nets.get(dst.pod.namespace))
}

/** Whether the pod may hold an address of `family`: it holds one, or its addresses are unknown. */
export function podHasFamily(pod: K8sPod, family: IpFamily): boolean {
  return pod.addresses === undefined || pod.addresses.some((a) => a.family === family)
}

/**
 * Whether the two ends share an address family, so that a packet can pass between them: a pod
 * and an address range when the pod holds an address of the range's family, two pods when they
 * hold addresses of one family. A pod whose addresses the input does not give (a manifest
 * without `status.podIPs`, a template, the ingress controller) holds both families.
 */
export function familiesMeet(src: Peer, dst: Peer): boolean {
  if (src.kind === 'pod' && dst.kind === 'pod')
    return ([4, 6] as const).some((f) => podHasFamily(src.pod, f) && podHasFamily(dst.pod, f))
  if (src.kind === 'pod' && dst.kind === 'range') return podHasFamily(src.pod, dst.range.family)
  if (src.kind === 'range' && dst.kind === 'pod') return podHasFamily(dst.pod, src.range.family)
  return src.kind === 'range' && dst.kind === 'range' && src.range.family === dst.range.family
}

/**
 * The services allowed from one end to the other (see the module comment); none between ends of
 * no common address family ({@link familiesMeet}); `nodeOf`: each pod's node address, when the
 * caller knows it ({@link directionAllows}).
 */
export function allowedBetween(
  model: K8sModel,
  src: Peer,
  dst: Peer,
  nodeOf?: PodNode,
): ServiceSet {
  if (src.kind === 'range' && dst.kind === 'range') return ServiceSet.EMPTY
  if (!familiesMeet(src, dst)) return ServiceSet.EMPTY
  if (primaryIsolated(model, src, dst)) return ServiceSet.EMPTY
  let set = ServiceSet.ANY
  if (src.kind === 'pod' && src.pod !== INGRESS_CONTROLLER_POD)
    set = directionAllows(model, src.pod, dst, 'egress', nodeOf)
  if (dst.kind === 'pod' && !set.isEmpty)
    set = set.intersect(directionAllows(model, dst.pod, src, 'ingress', nodeOf))
  return set
}

function podKey(p: K8sPod): string {
  const families = ([4, 6] as const).filter((f) => podHasFamily(p, f))
  return JSON.stringify([p.namespace, p.labels, p.ports, families])
}

/** Analyses a model: see the module comment. Pure. */
export function analyzeModel(model: K8sModel, diagnostics: readonly Diagnostic[] = []): Analysis {
  const inIntervals = modelIntervals(model, 'ingress')
  const outIntervals = modelIntervals(model, 'egress')
  // IPv6 is modelled in both directions once a block of either names it: an IPv6 block in egress
  // rules only must not hide the IPv6 sources that reach pods no ingress rule isolates
  const ipv6 = [...inIntervals, ...outIntervals].some((b) => b.family === 6)
  const inRanges = intervalRanges(inIntervals, ipv6)
  const outRanges = intervalRanges(outIntervals, ipv6)
  const ranges = [...inRanges, ...outRanges.filter((r) => !inRanges.some((x) => x.name === r.name))]
  // pods with the same namespace, labels, ports and address families are judged alike: one
  // representative each
  const wl = model.workloads.map((w) => {
    const seen = new Map<string, K8sPod>()
    for (const p of w.pods) if (!seen.has(podKey(p))) seen.set(podKey(p), p)
    return { w, reps: [...seen.values()] }
  })
  const cache = new Map<string, ServiceSet>()
  const pair = (a: K8sPod, b: K8sPod): ServiceSet => {
    const k = `${podKey(a)}\u0000${podKey(b)}`
    let s = cache.get(k)
    if (!s) {
      s = allowedBetween(model, { kind: 'pod', pod: a }, { kind: 'pod', pod: b })
      cache.set(k, s)
    }
    return s
  }
  const connections: K8sConnection[] = []
  const push = (src: string, dst: string, services: ServiceSet, namespace: string): void => {
    if (services.isEmpty) return
    const network = model.primaryNetworks.get(namespace)
    connections.push(network ? { src, dst, services, network } : { src, dst, services })
  }
  for (const s of wl) {
    for (const d of wl) {
      if (s === d) continue
      let set = ServiceSet.EMPTY
      for (const a of s.reps) for (const b of d.reps) set = set.union(pair(a, b))
      push(s.w.name, d.w.name, set, s.w.namespace)
    }
    for (const r of outRanges) {
      let out = ServiceSet.EMPTY
      for (const a of s.reps)
        out = out.union(allowedBetween(model, { kind: 'pod', pod: a }, { kind: 'range', range: r }))
      push(s.w.name, r.name, out, s.w.namespace)
    }
    for (const r of inRanges) {
      let into = ServiceSet.EMPTY
      for (const a of s.reps)
        into = into.union(
          allowedBetween(model, { kind: 'range', range: r }, { kind: 'pod', pod: a }),
        )
      push(r.name, s.w.name, into, s.w.namespace)
    }
  }
  // the ingress controller reaches what Ingress/Route objects expose, as the policies allow
  const byWorkload = new Map<string, ServiceSet>()
  const nsOf = new Map<string, string>()
  for (const e of model.exposures) {
    nsOf.set(e.workload, e.pod.namespace)
    const allowed = allowedBetween(
      model,
      { kind: 'pod', pod: INGRESS_CONTROLLER_POD },
      { kind: 'pod', pod: e.pod },
    ).intersect(e.services)
    byWorkload.set(e.workload, (byWorkload.get(e.workload) ?? ServiceSet.EMPTY).union(allowed))
  }
  for (const [w, set] of byWorkload) push(INGRESS_CONTROLLER, w, set, nsOf.get(w) ?? '')
  return { model, workloads: model.workloads, ranges, connections, diagnostics }
}

/**
 * The connections np-guard's netpol-analyzer lists: all but those to or from an IPv6 address
 * range. np-guard does not analyse IPv6 blocks (it warns "IPv6 addresses are not supported" and
 * skips them: `rulePeersReferencedIPBlocks` in pkg/netpol/eval/internal/k8s), so its output has
 * IPv4 ranges only; workload lines do not depend on blocks of either family.
 * @returns the connections kept, and how many of IPv6 ranges were left out.
 */
export function npGuardConnections(a: Analysis): {
  connections: K8sConnection[]
  ipv6LeftOut: number
} {
  const v6 = new Set(a.ranges.filter((r) => r.family === 6).map((r) => r.name))
  const connections = a.connections.filter((c) => !v6.has(c.src) && !v6.has(c.dst))
  return { connections, ipv6LeftOut: a.connections.length - connections.length }
}

/**
 * Loads manifests and analyses them: `analyze(files) → {workloads, connections, diagnostics}`.
 * When the diagnostics hold an error (an invalid policy, bad YAML) the connections leave the bad
 * objects out and must not be reported as the cluster's connectivity; callers check
 * {@link hasErrors}.
 */
export function analyze(files: readonly SourceFile[]): Analysis {
  const { model, diagnostics } = loadModel(files)
  return analyzeModel(model, diagnostics)
}

/**
 * {@link analyze} over Kubernetes objects given as plain data (e.g. what a compiler emits):
 * each object is read as its own JSON document, named `<source>#<index>` in diagnostics.
 */
export function analyzeDocuments(docs: readonly unknown[], source = 'generated'): Analysis {
  return analyze(docs.map((d, i) => ({ path: `${source}#${i}`, text: JSON.stringify(d) })))
}

/** True when the analysis may be reported (no error among its diagnostics). */
export function analysisUsable(a: Analysis): boolean {
  return !hasErrors(a.diagnostics)
}

const NP_PROTOCOLS = [6, 17, 132] as const
const NP_PORTS = ServiceSet.of(
  NP_PROTOCOLS.map((protocol) => ({ protocol, ports: { lo: 1, hi: 65535 } })),
)

/**
 * A service set as np-guard shows it: only TCP, UDP and SCTP ports 1–65535 exist (the protocols a
 * Kubernetes policy can name); a set holding all of them is every connection (`ServiceSet.ANY`,
 * printed `All Connections`).
 */
export function npGuardView(s: ServiceSet): ServiceSet {
  const inter = s.intersect(NP_PORTS)
  return inter.equals(NP_PORTS) ? ServiceSet.ANY : inter
}

/** Output formats of `k8s connlist`. */
export type K8sConnlistFormat = ConnlistFormat | 'dot'

const SECTION = 'Permitted connectivity analyzed in'

/**
 * The txt rendering when some connection is in a primary network (np-guard
 * `writeFullConnlistTxtOutput`): the pod network's lines under `Permitted connectivity analyzed
 * in Pod network:` (header and lines only when it has some), then per UDN (by namespace) and per
 * CUDN (by name) an empty line, `Permitted connectivity analyzed in primary UDN <name>:` (or
 * `primary CUDN`) and its lines.
 */
function formatSections(view: readonly K8sConnection[]): string {
  const pod = view.filter((c) => !c.network)
  let out = pod.length > 0 ? `${SECTION} Pod network:\n${formatConnlist(pod, 'txt')}` : ''
  for (const kind of ['UDN', 'CUDN'] as const) {
    const names = [
      ...new Set(view.filter((c) => c.network?.kind === kind).map((c) => c.network?.name ?? '')),
    ].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    for (const name of names) {
      const lines = view.filter((c) => c.network?.kind === kind && c.network.name === name)
      out += `\n${SECTION} primary ${kind} ${name}:\n${formatConnlist(lines, 'txt')}`
    }
  }
  return out
}

/**
 * Renders the connections in np-guard's connlist formats (through {@link formatConnlist} for
 * txt/json/csv/md, so both connlists print alike), services shown by {@link npGuardView}.
 * txt: one plain sorted list, or, when some connection is in a primary user-defined network,
 * sections per network (see {@link formatSections}); json/csv/md: one list (UDN workloads are
 * told apart by their `ns[udn]/` names). `dot`: a digraph, one node per entity, one labelled edge
 * per connection.
 */
export function formatK8sConnlist(
  conns: readonly K8sConnection[],
  format: K8sConnlistFormat,
): string {
  const view = conns
    .map((c) => ({ ...c, services: npGuardView(c.services) }))
    .filter((c) => !c.services.isEmpty)
  if (format === 'txt' && view.some((c) => c.network)) return formatSections(view)
  if (format !== 'dot') return formatConnlist(view, format)
  const rows = formatConnlist(view, 'json')
  const parsed = JSON.parse(rows) as { src: string; dst: string; conn: string }[]
  const nodes = [...new Set(parsed.flatMap((r) => [r.src, r.dst]))].sort()
  const q = (s: string): string => JSON.stringify(s)
  const lines = ['digraph {']
  for (const n of nodes) {
    const shape = n.endsWith('[External]') ? 'box' : n === INGRESS_CONTROLLER ? 'oval' : 'ellipse'
    lines.push(`\t${q(n)} [label=${q(n)} shape=${shape}]`)
  }
  for (const r of parsed) lines.push(`\t${q(r.src)} -> ${q(r.dst)} [label=${q(r.conn)}]`)
  lines.push('}')
  return `${lines.join('\n')}\n`
}
