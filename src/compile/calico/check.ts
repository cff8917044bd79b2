/**
 * @module A small evaluator of the Calico policies this compiler emits, from Calico's documented
 * semantics, used to check the compiler against the model's verdicts.
 *
 * At one endpoint and direction: the policies that select the endpoint (namespaced ones in its
 * namespace, global ones with the label `projectcalico.org/namespace` added) and list the
 * direction in `types`; none → allowed (the default profile). Staged kinds
 * (StagedNetworkPolicy, StagedGlobalNetworkPolicy) only report what they would do and never
 * take part: this evaluator answers what is enforced. Otherwise the policies are taken
 * by ascending `order` (then name) and their rules in turn; the first rule that matches with
 * action Allow or Deny decides; no match → denied (end of tier). A flow is allowed when the
 * source pod's egress and the destination pod's ingress both allow it (an address that is no
 * pod is not checked). Only the subset of the selector syntax that {@link calicoSelector} emits
 * is understood.
 *
 * Node addresses ({@link CalicoNodes}, when the caller names them; the model and the compiler
 * know none) are matched by `nets` like any address, as the model takes them, except between a
 * pod and its own host: "Calico allows all connections from processes running on the host to
 * guest workloads on the host", whatever the policies, and a connection from a workload to its
 * local host is, after the workload's egress policy, what Felix's `defaultEndpointToHostAction`
 * makes of it (`Drop` by Felix's default, `Accept` as Calico's manifests and operator install
 * it). The compiler warns of this (`compile/node-addresses`).
 * @remarks https://docs.tigera.io/calico/latest/reference/resources/networkpolicy (rule
 * evaluation, `order`, selectors, `nets`/`notNets`), .../globalnetworkpolicy; Calico "Protect
 * hosts" (https://docs.tigera.io/calico/latest/network-policy/hosts/protect-hosts: default
 * behaviour of workload to host traffic; Felix `DefaultEndpointToHostAction`).
 */
import {
  cidrContains,
  decidedWithoutRules,
  parseCidr,
  parseIp,
  type Cidr,
  type LabelSet,
} from '../../core/index.js'
import type { CompiledPod, K8sObject } from '../kubernetes/compile.js'

/** One end of a flow: a pod (with its address) or an address no pod holds. */
export interface CheckEndpoint {
  readonly ip: string
  readonly pod?: CompiledPod
}

/**
 * The cluster's node addresses, for asking a cluster checker what its target does with them
 * (the model and the compilers know no node): `addresses` holds every node's addresses, `nodeOf`
 * the address of the node each pod runs on (by workload name; a pod not in it runs on no listed
 * node).
 */
export interface ClusterNodes {
  readonly addresses: ReadonlySet<string>
  readonly nodeOf: ReadonlyMap<string, string>
}

/**
 * {@link ClusterNodes} for the calico checker, with Felix's `defaultEndpointToHostAction`: what
 * becomes of traffic from a pod to its own host once the pod's egress policy allowed it. `Accept`
 * (when absent) is what Calico's manifests and operator set; `Drop` is Felix's own default.
 */
export interface CalicoNodes extends ClusterNodes {
  readonly endpointToHostAction?: 'Accept' | 'Drop'
}

/**
 * True when a selector in the syntax {@link calicoSelector} emits matches the labels. Values are
 * quoted `'…'`, or `"…"` when they hold a `'` (Calico's tokenizer has no escape).
 */
export function calicoSelectorMatches(selector: string, labels: LabelSet): boolean {
  if (selector === 'all()') return true
  return selector.split(' && ').every((term) => {
    let m = /^!has\((.+)\)$/.exec(term)
    if (m) return !Object.hasOwn(labels, m[1] ?? '')
    m = /^has\((.+)\)$/.exec(term)
    if (m) return Object.hasOwn(labels, m[1] ?? '')
    m = /^(\S+) == (?:'([^']*)'|"([^"]*)")$/.exec(term)
    if (m) return labels[m[1] ?? ''] === (m[2] ?? m[3])
    m = /^(\S+) (not in|in) \{(.*)\}$/.exec(term)
    if (m) {
      const vals = (m[3] ?? '').split(', ').map((v) => v.replace(/^'(.*)'$|^"(.*)"$/, '$1$2'))
      const has = Object.hasOwn(labels, m[1] ?? '')
      const inSet = has && vals.includes(labels[m[1] ?? ''] ?? '')
      return m[2] === 'in' ? inSet : !inSet
    }
    throw new Error(`selector term not understood: ${term}`)
  })
}

const PROTO: Record<string, number> = { TCP: 6, UDP: 17, SCTP: 132, ICMP: 1, ICMPv6: 58 }

function inNets(ip: string, nets: readonly string[]): boolean {
  const addr = parseIp(ip)
  if (!addr) return false
  return nets.some((n) => cidrContains(parseCidr(n) as Cidr, addr))
}

function entityMatches(e: Record<string, unknown>, peer: CheckEndpoint): boolean {
  const nets = e['nets'] as string[] | undefined
  const notNets = e['notNets'] as string[] | undefined
  if (nets && !inNets(peer.ip, nets)) return false
  if (notNets && inNets(peer.ip, notNets)) return false
  const sel = e['selector'] as string | undefined
  if (sel !== undefined) {
    if (!peer.pod) return false
    if (!calicoSelectorMatches(sel, peer.pod.labels)) return false
    const nsSel = e['namespaceSelector'] as string | undefined
    if (
      nsSel !== undefined &&
      !calicoSelectorMatches(nsSel, { 'projectcalico.org/name': peer.pod.namespace })
    )
      return false
  }
  return true
}

function ruleMatches(
  r: Record<string, unknown>,
  src: CheckEndpoint,
  dst: CheckEndpoint,
  protocol: number,
  port: number,
): boolean {
  const p = r['protocol']
  if (p !== undefined && (typeof p === 'number' ? p : PROTO[p as string]) !== protocol) return false
  const icmp = r['icmp'] as { type?: number } | undefined
  if (icmp?.type !== undefined && icmp.type !== port) return false
  const dest = (r['destination'] ?? {}) as Record<string, unknown>
  const ports = dest['ports'] as (number | string)[] | undefined
  if (ports) {
    const ok = ports.some((x) => {
      if (typeof x === 'number') return x === port
      const [lo, hi] = x.split(':').map(Number)
      return port >= (lo ?? 0) && port <= (hi ?? -1)
    })
    if (!ok) return false
  }
  // both entity fields match the packet, whichever end the policy's endpoint is
  const source = r['source'] as Record<string, unknown> | undefined
  if (source !== undefined && !entityMatches(source, src)) return false
  return entityMatches(dest, dst)
}

/**
 * The decision at one pod endpoint and direction: `self` the pod's end of the flow (the source
 * for `egress`), `peer` the far end. `nodes`, when given, names the node addresses: ingress
 * from the pod's own host passes whatever the policies, and egress to it that the policies allow
 * then meets `endpointToHostAction` (see the module comment).
 */
export function calicoDirection(
  objects: readonly K8sObject[],
  self: CheckEndpoint & { readonly pod: CompiledPod },
  peer: CheckEndpoint,
  dir: 'ingress' | 'egress',
  protocol: number,
  port: number,
  nodes?: CalicoNodes,
): boolean {
  const ownHost =
    !peer.pod &&
    nodes !== undefined &&
    nodes.addresses.has(peer.ip) &&
    nodes.nodeOf.get(self.pod.workload.name) === peer.ip
  // "Calico allows all connections from processes running on the host to guest workloads on the host"
  if (ownHost && dir === 'ingress') return true
  const allowed = policiesAllow(objects, self, peer, dir, protocol, port)
  // workload to its own host: after the egress policy, Felix's defaultEndpointToHostAction
  if (ownHost && allowed) return (nodes.endpointToHostAction ?? 'Accept') === 'Accept'
  return allowed
}

/** The policies' decision at one pod endpoint and direction ({@link calicoDirection}). */
function policiesAllow(
  objects: readonly K8sObject[],
  self: CheckEndpoint & { readonly pod: CompiledPod },
  peer: CheckEndpoint,
  dir: 'ingress' | 'egress',
  protocol: number,
  port: number,
): boolean {
  const type = dir === 'ingress' ? 'Ingress' : 'Egress'
  const applying = objects.filter((o) => {
    const spec = o['spec'] as Record<string, unknown>
    const meta = o['metadata'] as { namespace?: string }
    if (!(spec['types'] as string[]).includes(type)) return false
    const kind = o['kind'] as string
    if (kind.startsWith('Staged')) return false
    if (kind.endsWith('GlobalNetworkPolicy'))
      return calicoSelectorMatches(spec['selector'] as string, {
        ...self.pod.labels,
        'projectcalico.org/namespace': self.pod.namespace,
      })
    return (
      meta.namespace === self.pod.namespace &&
      calicoSelectorMatches(spec['selector'] as string, self.pod.labels)
    )
  })
  if (applying.length === 0) return true
  const key = (o: K8sObject): [number, string] => [
    (o['spec'] as { order: number }).order,
    (o['metadata'] as { name: string }).name,
  ]
  applying.sort((a, b) => {
    const [oa, na] = key(a)
    const [ob, nb] = key(b)
    return oa - ob || (na < nb ? -1 : na > nb ? 1 : 0)
  })
  for (const o of applying) {
    for (const r of ((o['spec'] as Record<string, unknown>)[dir] ?? []) as Record<
      string,
      unknown
    >[]) {
      const [src, dst] = dir === 'egress' ? [self, peer] : [peer, self]
      if (ruleMatches(r, src, dst, protocol, port)) return r['action'] === 'Allow'
    }
  }
  return false
}

/**
 * Whether the Calico objects allow a flow from `src` to `dst` on protocol/port (see the module
 * comment); `nodes`: the node addresses, when asked about them ({@link CalicoNodes}).
 */
export function calicoAllows(
  objects: readonly K8sObject[],
  src: CheckEndpoint,
  dst: CheckEndpoint,
  protocol: number,
  port: number,
  nodes?: CalicoNodes,
): boolean {
  // an ICMP error reports on a connection: Calico's dataplane (Linux conntrack) accepts it as
  // related before any policy, as the model's `related` verdicts assume that connection
  const s = parseIp(src.ip)
  const d = parseIp(dst.ip)
  if (s && d && decidedWithoutRules(protocol, port, s.family, d.family) === 'related') return true
  const { pod: srcPod } = src
  const { pod: dstPod } = dst
  if (
    srcPod &&
    !calicoDirection(objects, { ...src, pod: srcPod }, dst, 'egress', protocol, port, nodes)
  )
    return false
  if (
    dstPod &&
    !calicoDirection(objects, { ...dst, pod: dstPod }, src, 'ingress', protocol, port, nodes)
  )
    return false
  return true
}
