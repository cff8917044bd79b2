/**
 * @module A small evaluator of the Cilium policies this compiler emits, from Cilium's documented
 * semantics, used to check the compiler against the model's verdicts.
 *
 * At one endpoint and direction: the policies selecting it (CiliumNetworkPolicy in its
 * namespace by `endpointSelector` over the pod's identity labels, source `k8s`;
 * CiliumClusterwideNetworkPolicy over those plus `k8s:io.kubernetes.pod.namespace`; a selector key
 * without a source takes any source) that have rules in the direction (a non-empty allow or deny
 * list: an empty one "does not apply"; a `nodeSelector` policy selects nodes, no pod). None →
 * allowed (no policy, no enforcement). Otherwise a matching deny rule denies (deny beats allow);
 * else, when some of them enables default deny (`enableDefaultDeny`, true by default for a
 * direction with rules), a matching allow rule allows and nothing else does; when none does,
 * the flow passes. A rule matches when one of its peers does (`fromEndpoints`: an endpoint whose
 * identity labels match the selector, which names the policy's namespace, or in a clusterwide
 * policy requires one, unless it names the namespace or a reserved label itself, as Cilium's
 * `getEndpointSelector` makes it; so `{}` is every pod of the namespace, and an address no pod
 * holds is taken only by a selector on its reserved label (`reserved:world`);
 * `fromCIDR`/`fromCIDRSet`: an address no pod or node holds, in the CIDR and in no `except`;
 * `fromEntities`: `all` anything, `world` what is neither pod nor node, `cluster` pods and nodes,
 * `host`, `remote-node`), or when it has no peer field but has `toPorts` or `icmps` ("to any
 * layer 3 destination"; an empty rule, or an explicit empty list of entities or CIDRs, takes
 * nothing), and its `toPorts` (`port: "0"`: every port; no protocol or `ANY`: TCP, UDP and SCTP)
 * or `icmps` (ICMP type as the port, family IPv4 for protocol 1 and IPv6 for 58) take the service; with neither, every protocol and port. A flow
 * is allowed when the source pod's egress and the destination pod's ingress both allow it.
 * Fields it does not read (L7 `rules`, `toFQDNs`, `toServices`, `toRequires`, `toNodes`, named
 * ports, ICMP type names, other entities, `specs`, `cidrGroupRef`) are refused with an error,
 * never misread. Checked against the documents' own examples in test/compile/cilium-docs.test.ts.
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
 * .../policy/kubernetes/ (namespace label); the CRD fields `ingress`, `enableDefaultDeny`,
 * `PortProtocol.protocol`; cilium/cilium pkg/k8s/apis/cilium.io/utils/utils.go
 * (`getEndpointSelector`).
 */
import { cidrContains, parseCidr, parseIp, type Cidr } from '../../core/index.js'
import type { CheckEndpoint, ClusterNodes } from '../calico/check.js'
import { type CompiledPod, type K8sLabelSelector, type K8sObject } from '../kubernetes/compile.js'
import { CILIUM_NAMESPACE_LABEL } from './compile.js'

const PROTO: Record<string, number> = { TCP: 6, UDP: 17, SCTP: 132 }

/** The rule fields this checker reads; any other is refused (see {@link ciliumDirection}). */
const RULE_FIELDS = new Set([
  'fromEndpoints',
  'toEndpoints',
  'fromCIDR',
  'toCIDR',
  'fromCIDRSet',
  'toCIDRSet',
  'fromEntities',
  'toEntities',
  'toPorts',
  'icmps',
])

/** The policy spec fields this checker reads; any other is refused. */
const SPEC_FIELDS = new Set([
  'endpointSelector',
  'nodeSelector',
  'ingress',
  'egress',
  'ingressDeny',
  'egressDeny',
  'enableDefaultDeny',
  'description',
  'labels',
])

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

/**
 * The identity labels of an endpoint as Cilium's selectors see them, keyed `source:key`: a pod's
 * labels with source `k8s` and its namespace label ({@link CILIUM_NAMESPACE_LABEL}); an address no
 * pod holds, the reserved label of its identity (`reserved:world`, `reserved:host`,
 * `reserved:remote-node`).
 */
function identityLabels(
  peer: CheckEndpoint,
  node: 'host' | 'remote-node' | undefined,
): Map<string, string> {
  if (!peer.pod) return new Map([[`reserved:${node ?? 'world'}`, '']])
  const out = new Map(Object.entries(peer.pod.labels).map(([k, v]) => [`k8s:${k}`, v]))
  out.set(CILIUM_NAMESPACE_LABEL, peer.pod.namespace)
  return out
}

/**
 * Cilium's label selector over identity labels: a key `source:key` takes that source only, a key
 * without a source (or source `any`) takes the key from any source (`NewESFromK8sLabelSelector`).
 */
function ciliumSelects(s: K8sLabelSelector, labels: ReadonlyMap<string, string>): boolean {
  const lookup = (key: string): string | undefined => {
    const i = key.indexOf(':')
    const source = i < 0 ? 'any' : key.slice(0, i)
    if (source !== 'any') return labels.get(key)
    const name = key.slice(i + 1)
    for (const [k, v] of labels) if (k.slice(k.indexOf(':') + 1) === name) return v
    return undefined
  }
  for (const [k, v] of Object.entries(s.matchLabels ?? {})) if (lookup(k) !== v) return false
  for (const e of s.matchExpressions ?? []) {
    const v = lookup(e.key)
    const vals = e.values ?? []
    if (e.operator === 'In' && !(v !== undefined && vals.includes(v))) return false
    if (e.operator === 'NotIn' && v !== undefined && vals.includes(v)) return false
    if (e.operator === 'Exists' && v === undefined) return false
    if (e.operator === 'DoesNotExist' && v !== undefined) return false
  }
  return true
}

const NAMESPACE_KEYS = new Set([
  CILIUM_NAMESPACE_LABEL,
  'any:io.kubernetes.pod.namespace',
  'io.kubernetes.pod.namespace',
])

/**
 * A peer endpoint selector as Cilium applies it (`getEndpointSelector`): one naming neither the
 * namespace label nor a reserved label is limited to the policy's namespace (a namespaced policy)
 * or to endpoints that have a namespace (a clusterwide one, `policyNs` undefined), so `{}` is
 * every pod of the namespace, never the world or a node.
 */
function peerSelector(s: K8sLabelSelector, policyNs: string | undefined): K8sLabelSelector {
  const keys = [
    ...Object.keys(s.matchLabels ?? {}),
    ...(s.matchExpressions ?? []).map((e) => e.key),
  ]
  if (keys.some((k) => k.startsWith('reserved:') || NAMESPACE_KEYS.has(k))) return s
  if (policyNs === undefined)
    return {
      ...s,
      matchExpressions: [
        ...(s.matchExpressions ?? []),
        { key: CILIUM_NAMESPACE_LABEL, operator: 'Exists' },
      ],
    }
  return { ...s, matchLabels: { ...s.matchLabels, [CILIUM_NAMESPACE_LABEL]: policyNs } }
}

/**
 * Entities (policy language, "Entities based"): `world` is outside the cluster (no pod, no node),
 * `cluster` every endpoint and node, `host` the pod's own node, `remote-node` the others, `all`
 * everything. Others (`kube-apiserver`, `ingress`, `health`, `init`, `unmanaged`) are refused.
 */
function entityMatches(
  entity: string,
  peer: CheckEndpoint,
  node: 'host' | 'remote-node' | undefined,
): boolean {
  switch (entity) {
    case 'all':
      return true
    case 'world':
      return !peer.pod && node === undefined
    case 'cluster':
      return !!peer.pod || node !== undefined
    case 'host':
    case 'remote-node':
      return node === entity
    default:
      throw new Error(`cilium checker: entity ${entity} is not read`)
  }
}

const nonEmpty = (x: unknown): x is unknown[] => Array.isArray(x) && x.length > 0

function peerMatches(
  r: Record<string, unknown>,
  pre: 'from' | 'to',
  peer: CheckEndpoint,
  node: 'host' | 'remote-node' | undefined,
  policyNs: string | undefined,
): boolean {
  for (const k of Object.keys(r))
    if (!RULE_FIELDS.has(k)) throw new Error(`cilium checker: rule field ${k} is not read`)
  const entities = r[`${pre}Entities`]
  const eps = r[`${pre}Endpoints`]
  const cidrs = r[`${pre}CIDR`]
  const cidrSets = r[`${pre}CIDRSet`]
  // an empty list of entities or CIDRs selects no identity (cilium/cilium#29608,
  // `SetAggregatedSelectors`); a rule with layer 4 fields and no layer 3 peer takes "any layer 3
  // destination" (layer4.rst; `mergeIngress`: the wildcard selector), one with neither (`{}`)
  // takes nothing (no L3-only entry without a selector)
  if ([entities, cidrs, cidrSets].some((x) => Array.isArray(x) && x.length === 0)) return false
  if (![entities, eps, cidrs, cidrSets].some(nonEmpty))
    return nonEmpty(r['toPorts']) || nonEmpty(r['icmps'])
  if (nonEmpty(entities) && (entities as string[]).some((e) => entityMatches(e, peer, node)))
    return true
  const labels = identityLabels(peer, node)
  if (
    nonEmpty(eps) &&
    (eps as K8sLabelSelector[]).some((s) => ciliumSelects(peerSelector(s, policyNs), labels))
  )
    return true
  // CIDR peers never take a pod or a node address (default --policy-cidr-match-mode)
  if (peer.pod || node !== undefined) return false
  const sets = [
    ...((nonEmpty(cidrs) ? cidrs : []) as string[]).map((cidr) => ({ cidr, except: [] })),
    ...((nonEmpty(cidrSets) ? cidrSets : []) as { cidr?: string; except?: string[] }[]),
  ]
  return sets.some((c) => {
    if (c.cidr === undefined) throw new Error('cilium checker: cidrGroupRef is not read')
    return inCidr(peer.ip, c.cidr) && !(c.except ?? []).some((e) => inCidr(peer.ip, e))
  })
}

function portsMatch(r: Record<string, unknown>, protocol: number, port: number): boolean {
  const tp = r['toPorts'] as
    { ports?: { port?: string; endPort?: number; protocol?: string }[] }[] | undefined
  const icmps = r['icmps'] as { fields: { family?: string; type: number | string }[] }[] | undefined
  if (!nonEmpty(tp) && !nonEmpty(icmps)) return true
  if (icmps && (protocol === 1 || protocol === 58)) {
    const family = protocol === 1 ? 'IPv4' : 'IPv6'
    // family defaults to IPv4 (Cilium ICMPField)
    if (
      icmps.some((i) =>
        i.fields.some((f) => {
          if (typeof f.type !== 'number')
            throw new Error(`cilium checker: ICMP type name ${f.type} is not read`)
          return (f.family ?? 'IPv4') === family && f.type === port
        }),
      )
    )
      return true
  }
  if (!tp) return false
  return tp.some((t) => {
    for (const k of Object.keys(t))
      if (k !== 'ports') throw new Error(`cilium checker: toPorts field ${k} is not read`)
    return (t.ports ?? []).some((p) => {
      // "Protocol is the L4 protocol. If omitted or empty, any protocol matches" (TCP, UDP,
      // SCTP: "Matching on ICMP is not supported")
      const any = p.protocol === undefined || p.protocol === '' || p.protocol === 'ANY'
      if (any ? ![6, 17, 132].includes(protocol) : PROTO[p.protocol ?? ''] !== protocol)
        return false
      if (p.port === undefined || !/^\d+$/.test(p.port))
        throw new Error(`cilium checker: port ${String(p.port)} is not read (named ports)`)
      const lo = Number(p.port)
      if (lo === 0) return true
      return port >= lo && port <= (p.endPort ?? lo)
    })
  })
}

/**
 * The decision at one pod and direction, `peer` the far end; `nodes` names the node addresses
 * (see {@link CiliumNodes}; without it every address no pod holds is `world`).
 * @throws Error for a field or value this checker does not read (a rule field other than the
 *   endpoint, CIDR, entity, port and ICMP ones; entities other than `all`, `world`, `cluster`,
 *   `host`, `remote-node`; named ports; ICMP type names; `specs`; `cidrGroupRef`), rather than
 *   misread it.
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
  const selfLabels = identityLabels({ ip: '', pod: self }, undefined)
  // a policy applies in a direction when it selects the pod and has rules there: an empty or
  // absent list "does not apply" (CRD); a policy with `nodeSelector` selects nodes, not pods
  const applying = objects.filter((o) => {
    const spec = o['spec'] as Record<string, unknown>
    for (const k of Object.keys(spec))
      if (!SPEC_FIELDS.has(k)) throw new Error(`cilium checker: spec field ${k} is not read`)
    // `enableDefaultDeny: true` on a direction without rules isolates it on some Cilium
    // versions and not on others (cilium/cilium#35558, #45716): not read
    const edd = spec['enableDefaultDeny'] as Record<string, boolean> | undefined
    if (edd?.[dir] === true && !nonEmpty(spec[dir]) && !nonEmpty(spec[denyField]))
      throw new Error(`cilium checker: enableDefaultDeny.${dir} without ${dir} rules is not read`)
    if (!nonEmpty(spec[dir]) && !nonEmpty(spec[denyField])) return false
    const sel = spec['endpointSelector'] as K8sLabelSelector | undefined
    if (sel === undefined) return false
    if (o['kind'] === 'CiliumClusterwideNetworkPolicy') return ciliumSelects(sel, selfLabels)
    return (
      (o['metadata'] as { namespace?: string }).namespace === self.namespace &&
      ciliumSelects(sel, selfLabels)
    )
  })
  if (applying.length === 0) return true
  const pre = dir === 'ingress' ? 'from' : 'to'
  const hits = (field: string): boolean =>
    applying.some((o) => {
      const ns =
        o['kind'] === 'CiliumClusterwideNetworkPolicy'
          ? undefined
          : (o['metadata'] as { namespace?: string }).namespace
      const rules = ((o['spec'] as Record<string, unknown>)[field] ?? []) as Record<
        string,
        unknown
      >[]
      return rules.some((r) => peerMatches(r, pre, peer, node, ns) && portsMatch(r, protocol, port))
    })
  if (hits(denyField)) return false
  // "EnableDefaultDeny ... If not specified, the default is true for each traffic direction
  // that has rules"; with no policy asking for it, what no deny drops passes
  const defaultDeny = applying.some(
    (o) =>
      (o['spec'] as { enableDefaultDeny?: Record<string, boolean> }).enableDefaultDeny?.[dir] !==
      false,
  )
  if (!defaultDeny) return true
  return localHost || hits(dir)
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
