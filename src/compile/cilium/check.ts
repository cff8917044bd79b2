/**
 * @module A small evaluator of the Cilium policies this compiler emits, from Cilium's documented
 * semantics, used to check the compiler against the model's verdicts.
 *
 * At one endpoint and direction: the policies selecting it (CiliumNetworkPolicy in its
 * namespace by `endpointSelector` over the pod labels; CiliumClusterwideNetworkPolicy over the
 * pod labels plus `k8s:io.kubernetes.pod.namespace`) that have the direction's allow or deny
 * field. None → allowed (no policy, no enforcement). Otherwise a matching deny rule denies
 * (deny beats allow), else a matching allow rule allows, else denied. A rule matches when one
 * of its peers does (`fromEndpoints`: a pod whose labels plus namespace label match, or an
 * address no pod holds when the selector matches the reserved identity `reserved:world`;
 * `fromCIDRSet`: an address no pod holds, in the CIDR and in no `except` — CIDR rules never take
 * Cilium-managed endpoints; `fromEntities: [all]`: anything; an empty rule: nothing) and its
 * `toPorts` (`port: "0"`: every port) or `icmps` (ICMP type as the port, family IPv4 for
 * protocol 1 and IPv6 for 58) take the service; with neither, every protocol and port. A flow
 * is allowed when the source pod's egress and the destination pod's ingress both allow it.
 *
 * Node addresses ({@link CiliumNodes}, when the caller names them; the model and the compiler know
 * none) are the reserved identities `host` (the pod's own node) and `remote-node`, not `world`:
 * no CIDR peer takes them ("CIDR rules do not apply to traffic where both sides of the connection
 * are either managed by Cilium or use an IP belonging to a node in the cluster (including host
 * networking pods)"; the default `--policy-cidr-match-mode`), entity `all` does, and an endpoint
 * selector does when it holds for their reserved label; and the local host reaches its pods
 * whatever the allow policies ("Kubernetes will automatically allow all communication from the
 * local host of all local endpoints", the default `--allow-localhost`), but not past a deny that
 * takes it (an `ingressDeny` with entity `all`: deny beats that allow, cilium/cilium#12716 and
 * #44590). The compiler warns of this (`compile/node-addresses`).
 * @remarks https://docs.cilium.io/en/stable/security/policy/language/ (layer 3 and 4 rules,
 * default allow/deny, deny policies; "Entities based": host, remote-node, world, all; "IP/CIDR
 * based" and "Selecting nodes with CIDR / ipBlock"; "Access to/from local host"),
 * .../policy/kubernetes/ (namespace label).
 */
import { cidrContains, parseCidr, parseIp, type Cidr } from '../../core/index.js'
import type { CheckEndpoint, ClusterNodes } from '../calico/check.js'
import {
  selects,
  type CompiledPod,
  type K8sLabelSelector,
  type K8sObject,
} from '../kubernetes/compile.js'
import { CILIUM_NAMESPACE_LABEL } from './compile.js'

const PROTO: Record<string, number> = { TCP: 6, UDP: 17, SCTP: 132 }

/**
 * The cluster's node addresses ({@link ClusterNodes}), for asking the checker what Cilium does
 * with them (see the module comment).
 */
export type CiliumNodes = ClusterNodes

/** The reserved identity of `peer` seen from `self`: `host`, `remote-node`, or undefined. */
function nodeIdentity(
  nodes: CiliumNodes | undefined,
  self: CompiledPod,
  peer: CheckEndpoint,
): 'host' | 'remote-node' | undefined {
  if (peer.pod || !nodes?.addresses.has(peer.ip)) return undefined
  return nodes.nodeOf.get(self.workload.name) === peer.ip ? 'host' : 'remote-node'
}

function inCidr(ip: string, text: string): boolean {
  const a = parseIp(ip)
  return !!a && cidrContains(parseCidr(text) as Cidr, a)
}

function peerMatches(
  r: Record<string, unknown>,
  pre: 'from' | 'to',
  peer: CheckEndpoint,
  node: 'host' | 'remote-node' | undefined,
): boolean {
  const entities = r[`${pre}Entities`] as string[] | undefined
  if (entities?.includes('all')) return true
  const eps = r[`${pre}Endpoints`] as K8sLabelSelector[] | undefined
  if (eps && peer.pod) {
    const labels = { ...peer.pod.labels, [CILIUM_NAMESPACE_LABEL]: peer.pod.namespace }
    if (eps.some((s) => selects(s, labels))) return true
  }
  // an address no pod holds is a reserved identity to Cilium (world, host, remote-node), with
  // no namespace label: an endpoint selector that does not require one takes it
  const reserved = `reserved:${node ?? 'world'}`
  if (eps && !peer.pod && eps.some((s) => selects(s, { [reserved]: '' }))) return true
  const cidrs = r[`${pre}CIDRSet`] as { cidr: string; except?: string[] }[] | undefined
  // CIDR peers never take a node address (default --policy-cidr-match-mode)
  if (cidrs && !peer.pod && node === undefined)
    return cidrs.some(
      (c) => inCidr(peer.ip, c.cidr) && !(c.except ?? []).some((e) => inCidr(peer.ip, e)),
    )
  return false
}

function portsMatch(r: Record<string, unknown>, protocol: number, port: number): boolean {
  const tp = r['toPorts'] as
    { ports: { port: string; endPort?: number; protocol: string }[] }[] | undefined
  const icmps = r['icmps'] as { fields: { family?: string; type: number }[] }[] | undefined
  if (!tp && !icmps) return true
  if (icmps && (protocol === 1 || protocol === 58)) {
    const family = protocol === 1 ? 'IPv4' : 'IPv6'
    // family defaults to IPv4 (Cilium ICMPField)
    if (icmps.some((i) => i.fields.some((f) => (f.family ?? 'IPv4') === family && f.type === port)))
      return true
  }
  if (!tp) return false
  return tp.some((t) =>
    t.ports.some((p) => {
      if (PROTO[p.protocol] !== protocol) return false
      const lo = Number(p.port)
      if (lo === 0) return true
      return port >= lo && port <= (p.endPort ?? lo)
    }),
  )
}

/**
 * The decision at one pod and direction, `peer` the far end; `nodes` names the node addresses
 * (see {@link CiliumNodes}; without it every address no pod holds is `world`).
 */
export function ciliumDirection(
  objects: readonly K8sObject[],
  self: CompiledPod,
  peer: CheckEndpoint,
  dir: 'ingress' | 'egress',
  protocol: number,
  port: number,
  nodes?: CiliumNodes,
): boolean {
  const node = nodeIdentity(nodes, self, peer)
  // the local host reaches its pods whatever the allow policies (default --allow-localhost), but
  // a deny that takes it (entity all) still drops it: deny beats the allow-localhost rule
  // (cilium/cilium#12716, #44590)
  const localHost = dir === 'ingress' && node === 'host'
  const denyField = `${dir}Deny`
  const applying = objects.filter((o) => {
    const spec = o['spec'] as Record<string, unknown>
    if (spec[dir] === undefined && spec[denyField] === undefined) return false
    const sel = spec['endpointSelector'] as K8sLabelSelector
    if (o['kind'] === 'CiliumClusterwideNetworkPolicy')
      return selects(sel, { ...self.labels, [CILIUM_NAMESPACE_LABEL]: self.namespace })
    return (
      (o['metadata'] as { namespace?: string }).namespace === self.namespace &&
      selects(sel, self.labels)
    )
  })
  if (applying.length === 0) return true
  const pre = dir === 'ingress' ? 'from' : 'to'
  const rules = (field: string): Record<string, unknown>[] =>
    applying.flatMap(
      (o) => ((o['spec'] as Record<string, unknown>)[field] ?? []) as Record<string, unknown>[],
    )
  const hit = (r: Record<string, unknown>): boolean =>
    peerMatches(r, pre, peer, node) && portsMatch(r, protocol, port)
  if (rules(denyField).some(hit)) return false
  return localHost || rules(dir).some(hit)
}

/**
 * ICMP types Cilium's connection tracking relates to the connection between the same two
 * endpoints, which then passes whatever the policies say (`TUPLE_F_RELATED` in
 * bpf/lib/conntrack.h): destination unreachable, time exceeded, parameter problem (ICMPv4 3, 11,
 * 12; ICMPv6 1, 3, 4) and ICMPv6 packet too big (2). Other types open connections of their own.
 */
const CILIUM_RELATED: Readonly<Record<number, readonly number[]>> = {
  1: [3, 11, 12],
  58: [1, 2, 3, 4],
}

/**
 * Whether the Cilium objects allow a flow from `src` to `dst` on protocol/port (see the module
 * comment); an ICMP error message Cilium relates to a connection ({@link CILIUM_RELATED}, between
 * addresses of its family) passes, as the model's `related` verdicts assume that connection.
 * `nodes`: the node addresses, when asked about them ({@link CiliumNodes}).
 */
export function ciliumAllows(
  objects: readonly K8sObject[],
  src: CheckEndpoint,
  dst: CheckEndpoint,
  protocol: number,
  port: number,
  nodes?: CiliumNodes,
): boolean {
  const family = protocol === 1 ? 4 : 6
  if (
    CILIUM_RELATED[protocol]?.includes(port) === true &&
    parseIp(src.ip)?.family === family &&
    parseIp(dst.ip)?.family === family
  )
    return true
  if (src.pod && !ciliumDirection(objects, src.pod, dst, 'egress', protocol, port, nodes))
    return false
  if (dst.pod && !ciliumDirection(objects, dst.pod, src, 'ingress', protocol, port, nodes))
    return false
  return true
}
