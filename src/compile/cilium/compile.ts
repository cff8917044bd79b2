/**
 * @module The `cilium` compiler: Bulkhead rules to CiliumNetworkPolicy (namespaced) and
 * CiliumClusterwideNetworkPolicy (cilium.io/v2).
 *
 * - Every namespace holding a compiled pod gets `bulkhead-default-deny`, a CiliumNetworkPolicy
 *   with an empty `endpointSelector` and one empty rule per direction (`ingress: [{}]`,
 *   `egress: [{}]`): selected endpoints allow nothing by default.
 * - Enforcement modes as for the kubernetes target: `observe` pods are selected by no default
 *   deny and no policy (a namespace of `observe` pods gets nothing; in a namespace with pods in
 *   several modes the default deny and the subjects name the other pods by their labels); a pod
 *   in `monitor` is `compile/unsupported-by-target` (`monitor-mode`), a workload that is no pod
 *   does not count.
 * - Each live rule gives, per protected group of its `to` side, an ingress policy, and per group
 *   of its `from` side an egress policy (allow rules: `ingress`/`egress`; deny rules:
 *   `ingressDeny`/`egressDeny`, which Cilium applies before any allow). A group pinned to one
 *   namespace becomes a CiliumNetworkPolicy in it; any other group (several or all namespaces,
 *   `any`) a CiliumClusterwideNetworkPolicy whose `endpointSelector` names the namespace, or,
 *   when the group pins none, holds `k8s:io.kubernetes.pod.namespace In [...]` the compiled
 *   namespaces (those holding compiled pods) it covers. Without that limit an `any` subject
 *   would be `endpointSelector: {}`, and a policy with an egress (ingress) section puts every
 *   endpoint it selects into default deny in that direction: kube-system, CoreDNS, namespaces
 *   Bulkhead does not know (s13/hR D3). One expression on the cluster-wide object keeps one
 *   object per rule and side, and limits subjects exactly as the kubernetes target does (one
 *   NetworkPolicy per compiled namespace).
 * - Peers: pod groups as `fromEndpoints`/`toEndpoints` selectors, the namespace as label
 *   `k8s:io.kubernetes.pod.namespace` (an `Exists` expression when the selector names no
 *   namespace, since a namespaced policy's endpoint selectors otherwise only take its own
 *   namespace); CIDR selectors and named externals as `fromCIDRSet`/`toCIDRSet` with `except`
 *   (CIDR rules do not take Cilium-managed pods, so pods inside a CIDR are added as endpoint
 *   selectors exactly as for the kubernetes target); named externals excepting the workload
 *   addresses inside them, and workloads that are not pods as their addresses, in the CIDR set
 *   too; `any` as entity `all`. One rule entry per peer kind, each with the same `toPorts`.
 * - Services: `toPorts` with `port`, `endPort` and protocol TCP/UDP/SCTP; `port: "0"` for every
 *   port of a protocol; ICMP and ICMPv6 as `icmps` (one field per type, family IPv4/IPv6) in a
 *   rule entry of their own ({@link ciliumL4}); neither for the `any` service.
 * - Node addresses: the model knows none (an external range to it), Cilium gives them the
 *   identities `host` and `remote-node`, which CIDR peers do not take, entity `all` does, and the
 *   local host reaches its pods whatever the policy: `compile/node-addresses` warns
 *   (`nodeAddressWarnings`).
 * Workloads and pod groups are resolved as by the kubernetes target ({@link PodGroupResolver}).
 * @remarks Semantics: DESIGN.md "Policy language v1"; Cilium policy language
 * (https://docs.cilium.io/en/stable/security/policy/language/, deny policies:
 * https://docs.cilium.io/en/stable/security/policy/language/#deny-policies). Checked by golden
 * files (no evaluator of Cilium in this project yet).
 */
import type { Diagnostic, Inventory, Policy, PolicySet, Rule, Service } from '../../core/index.js'
import { portZeroWarnings, writtenFromPort1 } from '../port-zero.js'
import { assertExpressible, planCompiler, type CompileResult, type Compiler } from '../target.js'
import {
  checkHosts,
  DEFAULT_DENY_NAME,
  dnsName,
  ipBlock,
  NAMESPACE_NAME_LABEL,
  objectMeta,
  objectNamer,
  pinnedGroup,
  PodGroupResolver,
  type K8sLabelSelector,
  type K8sObject,
  type PodGroup,
  type PodTargetOptions,
  type Side,
} from '../kubernetes/compile.js'
import { manifestArtefacts } from '../kubernetes/render.js'
import { CILIUM_CAPABILITIES } from './capabilities.js'
import { ciliumLabelFilter, type CiliumFilePrefix } from './identity-labels.js'

/** The label Cilium gives every endpoint with its pod's namespace. */
export const CILIUM_NAMESPACE_LABEL = 'k8s:io.kubernetes.pod.namespace'

/** Options of the cilium target: those of every Kubernetes-style target, and its label filter. */
export interface CiliumOptions extends PodTargetOptions {
  /**
   * The prefixes the cluster's Cilium agents are started with (`--labels`, Cilium's syntax
   * `[source:][!]regexp`), added to Cilium's default label filter as the agent adds them: which
   * pod labels are identity labels, the only ones Cilium's selectors see
   * ({@link ciliumLabelFilter}; `compile --cilium-labels` on the command line). Default none: the
   * default filter (or {@link CiliumOptions.labelPrefixFile}'s), which these add to.
   * @throws Error from `compile` for a prefix Cilium refuses or JavaScript cannot compile, and for
   *   a filter that leaves the namespace label out of identities.
   */
  readonly labelPrefixes?: readonly string[]
  /**
   * The prefixes of the label prefix file the cluster's Cilium agents are started with
   * (`--label-prefix-file`, read with `parseCiliumLabelPrefixFile`; `compile
   * --cilium-label-prefix-file` on the command line): they replace Cilium's default list, and
   * {@link CiliumOptions.labelPrefixes} are added to them ({@link ciliumLabelFilter}). Default:
   * no file, the default list.
   */
  readonly labelPrefixFile?: readonly CiliumFilePrefix[]
}

/**
 * A pod group as a Cilium endpoint selector: the pod labels and expressions, the namespace as
 * label {@link CILIUM_NAMESPACE_LABEL} (its name when the group pins one, as a peer and as a
 * cluster-wide subject alike, s13/hR D7), and the group's namespace expressions on that label.
 * When the group pins no namespace, a peer (`peer` true) adds `Exists` on the namespace label
 * unless an `In` expression requires it already (cilium/cilium
 * `pkg/k8s/apis/cilium.io/utils/utils.go` `getEndpointSelector` adds no namespace requirement to
 * a selector naming the namespace key, and `NotIn` holds for the reserved identities: world,
 * host),
 * and a subject adds `In` the compiled namespaces it covers (`g.namespaces`), so that a
 * cluster-wide policy selects no endpoint outside them (s13/hR D3).
 */
export function endpointSelector(g: PodGroup, peer: boolean): K8sLabelSelector {
  const out: K8sLabelSelector = {}
  const ml: Record<string, string> = { ...(g.pods.matchLabels ?? {}) }
  const nsName = g.ns.matchLabels?.[NAMESPACE_NAME_LABEL]
  if (nsName !== undefined) ml[CILIUM_NAMESPACE_LABEL] = nsName
  const me = [
    ...(g.pods.matchExpressions ?? []),
    ...(g.ns.matchExpressions ?? []).map((e) => ({ ...e, key: CILIUM_NAMESPACE_LABEL })),
  ]
  if (!peer && nsName === undefined)
    me.push({ key: CILIUM_NAMESPACE_LABEL, operator: 'In', values: [...g.namespaces].sort() })
  else if (
    peer &&
    nsName === undefined &&
    !(g.ns.matchExpressions ?? []).some((e) => e.operator === 'In')
  )
    // a peer naming its namespaces by `NotIn` alone also takes every endpoint without the label:
    // the reserved identities (world, host, remote-node…), which Cilium's getEndpointSelector does
    // not limit once the selector names the namespace key
    me.push({ key: CILIUM_NAMESPACE_LABEL, operator: 'Exists' })
  if (Object.keys(ml).length > 0) out.matchLabels = Object.fromEntries(Object.entries(ml).sort())
  if (me.length > 0) out.matchExpressions = me
  return out
}

/** Largest `fields` list of one Cilium `ICMPRule` (the CRD's `maxItems`). */
export const CILIUM_ICMP_FIELDS_MAX = 40

/** Largest `ports` list of one Cilium `PortRule` (the CRD's `maxItems`). */
export const CILIUM_PORTS_MAX = 40

/**
 * The layer-4 part of a rule's services, as Cilium rule entries take it: `toPorts` for TCP, UDP
 * and SCTP, and `icmps` for ICMP (family `IPv4`) and ICMPv6 (family `IPv6`), one field per ICMP
 * type of the service's range, at most {@link CILIUM_ICMP_FIELDS_MAX} fields per `ICMPRule`, and
 * at most {@link CILIUM_PORTS_MAX} ports per `PortRule` (more ports: several `PortRule`s, which
 * Cilium ORs; the API server refuses a longer list).
 * Cilium refuses a rule entry with both `toPorts` and `icmps`, so each is its own entry (a
 * list of one or two parts). `undefined` means every port and protocol (the `any` service: an
 * entry without either field). A service with no part here (other protocols) is refused
 * earlier by `assertExpressible`.
 * @see https://docs.cilium.io/en/stable/security/policy/language/#icmp-icmpv6
 */
export function ciliumL4(
  services: readonly Service[],
): { toPorts?: Record<string, unknown>[]; icmps?: Record<string, unknown>[] }[] | undefined {
  const names: Record<number, string> = { 6: 'TCP', 17: 'UDP', 132: 'SCTP' }
  const ports: Record<string, unknown>[] = []
  const fields: { family: string; type: number }[] = []
  for (const s of services) {
    if (s.protocol === 'any') return undefined
    if (s.protocol === 1 || s.protocol === 58) {
      const family = s.protocol === 1 ? 'IPv4' : 'IPv6'
      for (let t = s.ports.lo; t <= Math.min(s.ports.hi, 255); t++) fields.push({ family, type: t })
      continue
    }
    const protocol = names[s.protocol]
    if (protocol === undefined) continue // refused by assertExpressible
    // port "0" is every port, so only the whole protocol (0–65535) is written so; a range from 0
    // is written from 1 (port 0 has no form of its own: see compile/port-zero-passes), and
    // tcp/1-65535 as 1–65535 (before 2026-11-24 it was port "0", which let port 0 through)
    const lo = Math.max(1, s.ports.lo)
    const hi = s.ports.hi
    if (s.ports.lo === 0 && hi === 65535) ports.push({ port: '0', protocol })
    else if (lo === hi) ports.push({ port: String(lo), protocol })
    else ports.push({ port: String(lo), endPort: hi, protocol })
  }
  const out: { toPorts?: Record<string, unknown>[]; icmps?: Record<string, unknown>[] }[] = []
  if (ports.length > 0) {
    const toPorts: Record<string, unknown>[] = []
    for (let i = 0; i < ports.length; i += CILIUM_PORTS_MAX)
      toPorts.push({ ports: ports.slice(i, i + CILIUM_PORTS_MAX) })
    out.push({ toPorts })
  }
  if (fields.length > 0) {
    const icmps: Record<string, unknown>[] = []
    for (let i = 0; i < fields.length; i += CILIUM_ICMP_FIELDS_MAX)
      icmps.push({ fields: fields.slice(i, i + CILIUM_ICMP_FIELDS_MAX) })
    out.push({ icmps })
  }
  return out
}

/** Cilium `toPorts` of a rule's TCP/UDP/SCTP services; undefined means every port and protocol. */
export function ciliumPorts(services: readonly Service[]): Record<string, unknown>[] | undefined {
  const l4 = ciliumL4(services)
  if (l4 === undefined) return undefined
  return l4.find((p) => p.toPorts)?.toPorts ?? [{ ports: [] }]
}

function peerRules(
  side: Side,
  dir: 'from' | 'to',
  l4: ReturnType<typeof ciliumL4>,
): Record<string, unknown>[] {
  // one entry per peer kind and per layer-4 part (toPorts and icmps may not share an entry)
  const parts: Record<string, unknown>[] = l4 === undefined ? [{}] : l4
  const out: Record<string, unknown>[] = []
  const add = (peer: Record<string, unknown>): void => {
    for (const p of parts) out.push({ ...peer, ...p })
  }
  if (side.all) {
    add({ [`${dir}Entities`]: ['all'] })
    return out
  }
  const eps = side.groups
    .filter((g) => g.namespaces.length > 0)
    .map((g) => endpointSelector(g, true))
  if (eps.length > 0) add({ [`${dir}Endpoints`]: eps })
  if (side.blocks.length > 0) add({ [`${dir}CIDRSet`]: side.blocks.map(ipBlock) })
  return out
}

/**
 * Builds the Cilium objects: per namespace (namespaced policies, default-deny first) and
 * cluster-wide.
 * @throws UnsupportedByTargetError for other protocols (not TCP/UDP/SCTP/ICMP/ICMPv6) or a
 *   compiled pod in monitor mode.
 * @throws BulkheadError `compile/not-expressible` (see {@link PodGroupResolver}), `compile/unknown-host`.
 */
export function planCilium(
  inventory: Inventory,
  policySet: PolicySet,
  options: CiliumOptions,
): {
  objects: Map<string, K8sObject[]>
  clusterwide: K8sObject[]
  diagnostics: CompileResult['diagnostics']
} {
  const r = new PodGroupResolver(
    inventory,
    options,
    'cilium',
    ciliumLabelFilter(options.labelPrefixes, options.labelPrefixFile),
  )
  r.readModes(policySet)
  assertExpressible('cilium', CILIUM_CAPABILITIES, inventory, policySet, options.now, r.modes())
  if (options.hosts !== undefined) checkHosts(inventory, options.hosts)
  const direction = options.direction ?? 'both'
  const ingress = direction !== 'egress'
  const egress = direction !== 'ingress'
  const unique = objectNamer()
  const objects = new Map<string, K8sObject[]>()
  for (const ns of r.namespaces) {
    objects.set(
      ns,
      r.subjectsByMode(pinnedGroup(ns)).map((part) => ({
        apiVersion: 'cilium.io/v2',
        kind: 'CiliumNetworkPolicy',
        metadata: objectMeta(unique(ns, DEFAULT_DENY_NAME), 'bulkhead', 'default-deny', ns),
        spec: {
          endpointSelector: part.group.pods,
          ...(ingress ? { ingress: [{}] } : {}),
          ...(egress ? { egress: [{}] } : {}),
        },
      })),
    )
  }
  const clusterwide: K8sObject[] = []
  /** Writes a rule's objects for one direction; true when it wrote any. */
  const emit = (
    subject: Side,
    base: string,
    policy: Policy,
    rule: Rule,
    field: string,
    rules: Record<string, unknown>[],
  ): boolean => {
    if (rules.length === 0) return false
    const groups: PodGroup[] = (
      subject.all
        ? [{ ns: {}, namespaces: r.namespaces, pods: {} }]
        : subject.groups.filter((g) => g.namespaces.length > 0)
    ).flatMap((g) => r.subjectsByMode(g, { policy, rule }).map((part) => part.group))
    for (const g of groups) {
      const pinned = g.ns.matchLabels?.[NAMESPACE_NAME_LABEL]
      if (pinned !== undefined && !g.ns.matchExpressions && objects.has(pinned)) {
        objects.get(pinned)?.push({
          apiVersion: 'cilium.io/v2',
          kind: 'CiliumNetworkPolicy',
          metadata: objectMeta(unique(pinned, base), policy.name, rule.id, pinned),
          spec: { endpointSelector: g.pods, [field]: rules },
        })
      } else {
        clusterwide.push({
          apiVersion: 'cilium.io/v2',
          kind: 'CiliumClusterwideNetworkPolicy',
          metadata: objectMeta(unique('', base), policy.name, rule.id),
          spec: { endpointSelector: endpointSelector(g, false), [field]: rules },
        })
      }
    }
    return groups.length > 0
  }
  /** Rules whose objects hold a CIDR peer (`fromCIDRSet`/`toCIDRSet`), in policy-set order. */
  const cidrRules: { policy: Policy; rule: Rule }[] = []
  const cidrPeers = (side: Side): boolean => !side.all && side.blocks.length > 0
  for (const policy of policySet.policies) {
    for (const rule of policy.rules) {
      if (!r.compiles(policy, rule)) continue
      const from = r.side(policy, rule, rule.from)
      const to = r.side(policy, rule, rule.to)
      r.checkStrays(policySet, policy, rule, from, to)
      const l4 = ciliumL4(rule.services)
      const deny = rule.action === 'deny'
      const base = `bh-${dnsName(policy.name)}-${dnsName(rule.id)}`
      const wroteIn =
        ingress &&
        emit(
          to,
          `${base}-in`,
          policy,
          rule,
          deny ? 'ingressDeny' : 'ingress',
          peerRules(from, 'from', l4),
        )
      const wroteOut =
        egress &&
        emit(
          from,
          `${base}-eg`,
          policy,
          rule,
          deny ? 'egressDeny' : 'egress',
          peerRules(to, 'to', l4),
        )
      // the rule's CIDR peers reach Cilium only through objects written
      if ((wroteIn && cidrPeers(from)) || (wroteOut && cidrPeers(to)))
        cidrRules.push({ policy, rule })
    }
  }
  const podIngress = ingress && [...objects.values()].some((list) => list.length > 0)
  return {
    objects,
    clusterwide,
    diagnostics: [
      ...r.diagnostics,
      ...nodeAddressWarnings(cidrRules, podIngress),
      // a deny from port 0 but not of the whole protocol is written from 1 (port "0" is every
      // port), and allows of the whole protocol (port "0") or of any service let port 0 through
      ...portZeroWarnings(
        inventory,
        policySet,
        options.now.getTime(),
        (rule) => writtenFromPort1(rule.services, true),
        'cilium',
        'a port "0" means every port, so port 0 has no form of its own',
      ),
    ],
  }
}

/** How many rules a `compile/node-addresses` warning names before it counts the rest. */
const NODE_WARNING_RULES = 3

/**
 * The `compile/node-addresses` warning: Cilium decides traffic between pods and the cluster's
 * node addresses otherwise than the model, which knows no node (an address no workload holds is
 * an external range; host-network pods give no address). From Cilium's policy language
 * (Documentation/security/policy/language.rst): "CIDR rules do not apply to traffic where both
 * sides of the connection are either managed by Cilium or use an IP belonging to a node in the
 * cluster (including host networking pods)" (node addresses are the identities `host`, the local
 * node, and `remote-node`, unless the agents run with `--policy-cidr-match-mode=nodes`, which
 * lets CIDR selectors take the other nodes); entity `all`, which `any` compiles to, takes them;
 * and "Kubernetes will automatically allow all communication from the local host of all local
 * endpoints" unless `--allow-localhost=policy`. So a rule's `fromCIDRSet`/`toCIDRSet` neither
 * allows nor denies a node address inside its blocks (an allow drops it, a deny lets an `any`
 * allow through), and each node reaches its own pods whatever the allow rules (a deny from `any`,
 * entity `all`, still stops it: deny beats the allow-localhost rule). The compiler cannot
 * say which addresses are nodes, so it warns: once, naming the first
 * {@link NODE_WARNING_RULES} rules with CIDR peers (located at the first), and saying the local
 * host part when it compiles pod ingress.
 */
function nodeAddressWarnings(
  cidrRules: readonly { policy: Policy; rule: Rule }[],
  podIngress: boolean,
): Diagnostic[] {
  if (cidrRules.length === 0 && !podIngress) return []
  const parts: string[] = []
  if (cidrRules.length > 0) {
    const named = cidrRules
      .slice(0, NODE_WARNING_RULES)
      .map(({ policy, rule }) => `${policy.name}/${rule.id}`)
    const more = cidrRules.length - named.length
    parts.push(
      `the CIDR peers (fromCIDRSet/toCIDRSet) of ${named.join(', ')}${more > 0 ? ` and ${more} more rule(s)` : ''} match no node address (Cilium identities host and remote-node): a node address inside such a block is dropped where the rule allows it and let through by an \`any\` allow (entity all) where it denies it; --policy-cidr-match-mode=nodes on the agents makes CIDR peers take the other nodes' addresses`,
    )
  }
  if (podIngress)
    parts.push(
      'each node reaches its own pods whatever the allow rules (a deny from any still stops it) unless the agents run with --allow-localhost=policy',
    )
  const first = cidrRules[0]?.rule.location
  return [
    {
      code: 'compile/node-addresses',
      severity: 'warning',
      message: `Cilium decides node addresses otherwise than the model: ${parts.join('; ')}`,
      ...(first !== undefined ? { location: first } : {}),
    },
  ]
}

/** File of the cluster-wide policies, relative to the output folder. */
export const CILIUM_CLUSTERWIDE_FILE = 'cluster.ciliumclusterwidenetworkpolicies.yaml'

/**
 * The cilium target: `<namespace>.ciliumnetworkpolicies.yaml` per namespace and
 * {@link CILIUM_CLUSTERWIDE_FILE}, multi-document YAML for `kubectl apply -f`.
 */
export const ciliumCompiler: Compiler<CiliumOptions> = planCompiler(
  'cilium',
  CILIUM_CAPABILITIES,
  planCilium,
  (plan) =>
    manifestArtefacts(
      'cilium',
      plan.objects,
      'ciliumnetworkpolicies.yaml',
      CILIUM_CLUSTERWIDE_FILE,
      plan.clusterwide,
      'ciliumnetworkpolicies.cilium.io',
    ),
)
