/**
 * @module The `calico` compiler: Bulkhead rules to Calico policies (projectcalico.org/v3):
 * NetworkPolicy (namespaced) and GlobalNetworkPolicy, or StagedNetworkPolicy /
 * StagedGlobalNetworkPolicy for the pods in monitor mode.
 *
 * - Calico evaluates the policies selecting an endpoint by ascending `order`; the first rule
 *   whose action is Allow or Deny decides; when policies select the endpoint and none decides,
 *   the traffic is denied at the end of the tier. Deny rules therefore go into policies of
 *   order {@link DENY_ORDER} (100), allow rules into order {@link ALLOW_ORDER} (1000), and every
 *   namespace holding a compiled pod gets `bulkhead-default-deny` (order
 *   {@link DEFAULT_DENY_ORDER}, `selector: all()`, both types, no rules) so that every pod is
 *   selected, and nothing is allowed by default (DESIGN.md rule 1; `observe` pods excepted, see
 *   the modes below).
 * - Each live rule gives, per protected group of its `to` side, an ingress policy, and per group
 *   of its `from` side an egress policy. A group pinned to one namespace becomes a namespaced
 *   policy in it; any other group a global one, its namespace as label
 *   `projectcalico.org/namespace` in the selector: `== 'name'` when the group pins one, else
 *   `in {...}` the compiled namespaces (those holding compiled pods) the group covers. Without
 *   that limit an `any` subject would be `selector: all()`, which takes every workload endpoint
 *   of the cluster and every host endpoint, and a policy selecting an endpoint denies at the end
 *   of the tier what it does not allow (s13/hR D3). Host endpoints carry no namespace label, so
 *   the `in` term also keeps them out. This limits subjects as the kubernetes target does.
 *   The pods inside a `cidr` selector of the subject side are subjects with the block as their
 *   own address (`source.nets` of the egress rules, `destination.nets` of the ingress rules), so
 *   that a dual-stack pod is a subject only for its address inside the block.
 * - Peers: pod groups as `selector` plus `namespaceSelector` (over `projectcalico.org/name`,
 *   `all()` for every namespace); CIDR selectors as `nets`/`notNets` (Calico nets match pod
 *   addresses too, exactly as Bulkhead CIDR selectors do); a named external as its block with
 *   the more specific named externals and the workload addresses inside it as `notNets`;
 *   workloads that are not pods as their addresses; blocks without `notNets` share one `nets`
 *   list per address family (Calico refuses a rule holding IPv4 and IPv6 CIDRs, and a rule whose
 *   source and destination nets are of two families is left out: no packet matches it); `any`
 *   as an empty source/destination. One Calico rule per (peer, protocol). Lists are
 *   cut at the CRD's `maxItems` ({@link CALICO_NETS_MAX} nets, {@link CALICO_PORTS_MAX} ports:
 *   one Calico rule per part; {@link calicoNets} for a block with more excepts than notNets take).
 * - Services: `protocol` TCP, UDP, SCTP with `ports` (`443`, `"8000:8100"`), ICMP/ICMPv6 with
 *   `icmp.type` (one type, or every type), other protocols by number, `any` as a rule without
 *   protocol.
 * - Enforcement modes, per subject (as for the kubernetes target): a policy whose subjects are
 *   `monitor` pods is emitted in its Staged kind (Calico reports what it would have done without
 *   enforcing), one whose subjects are `enforce` pods in its plain kind, and `observe` pods are
 *   selected by no policy at all (a namespace of `observe` pods gets nothing). A namespace whose
 *   compiled pods are all in one mode gets one default deny in that mode; in a namespace with
 *   pods in several modes, the default deny and each rule's subjects are split by the pods'
 *   label sets, one object per label set and mode (`compile/not-expressible` when one label set
 *   would take pods of two modes).
 * @remarks Semantics: DESIGN.md "Policy language v1"; Calico resource reference
 * (https://docs.tigera.io/calico/latest/reference/resources/networkpolicy,
 * .../globalnetworkpolicy, .../stagednetworkpolicy; selector syntax: .../networkpolicy#selectors).
 * Checked by golden files and by the evaluator of the emitted policies in ./check.ts against the
 * model on random estates (test/compile/calico.test.ts).
 */
import { portZeroWarnings, writtenFromPort1 } from '../port-zero.js'
import {
  type Cidr,
  type Diagnostic,
  type EnforcementMode,
  type Inventory,
  type Policy,
  type PolicySet,
  type Rule,
  type Selector,
  type Service,
} from '../../core/index.js'
import { assertExpressible, planCompiler, type CompileResult, type Compiler } from '../target.js'
import {
  blockCidrs,
  checkHosts,
  DEFAULT_DENY_NAME,
  dnsName,
  NAMESPACE_NAME_LABEL,
  objectMeta,
  objectNamer,
  pinnedGroup,
  PodGroupResolver,
  type K8sLabelSelector,
  type K8sObject,
  type PodTargetOptions,
  type Side,
} from '../kubernetes/compile.js'
import { manifestArtefacts } from '../kubernetes/render.js'
import { CALICO_CAPABILITIES } from './capabilities.js'

/** Order of the policies holding deny rules (evaluated first). */
export const DENY_ORDER = 100
/** Order of the policies holding allow rules. */
export const ALLOW_ORDER = 1000
/** Order of the per-namespace default-deny policies (no rules: selection only). */
export const DEFAULT_DENY_ORDER = 10000

/** Options of the calico target: those of every Kubernetes-style target. */
export type CalicoOptions = PodTargetOptions

/**
 * A Calico string literal of `v`. Calico's selector tokenizer has no escape: a literal runs from
 * its quote to the next quote of the same kind (libcalico-go `selector/tokenizer`), so a value
 * holding `'` is written in `"`, and one holding both has no literal.
 * @throws Error for a value holding both quote characters (the cluster targets refuse such values
 *   earlier: they are no Kubernetes label values).
 */
function q(v: string): string {
  if (!v.includes("'")) return `'${v}'`
  if (!v.includes('"')) return `"${v}"`
  throw new Error(`label value ${JSON.stringify(v)} holds both quote characters: no Calico literal`)
}

/**
 * A label selector in Calico's selector syntax (`all()` when empty), meaning what the
 * Kubernetes selector means: `==` and `in` need the label, `not in` and `!has()` hold without
 * it. Keys are written as they are (Kubernetes keys are Calico label names); values quoted by
 * {@link q}.
 * @throws Error for a value holding both `'` and `"`.
 */
export function calicoSelector(s: K8sLabelSelector, rename: Record<string, string> = {}): string {
  const key = (k: string): string => rename[k] ?? k
  const parts: string[] = []
  for (const [k, v] of Object.entries(s.matchLabels ?? {})) parts.push(`${key(k)} == ${q(v)}`)
  for (const e of s.matchExpressions ?? []) {
    const vals = `{${(e.values ?? []).map(q).join(', ')}}`
    if (e.operator === 'In') parts.push(`${key(e.key)} in ${vals}`)
    else if (e.operator === 'NotIn') parts.push(`${key(e.key)} not in ${vals}`)
    else if (e.operator === 'Exists') parts.push(`has(${key(e.key)})`)
    else parts.push(`!has(${key(e.key)})`)
  }
  return parts.length === 0 ? 'all()' : parts.join(' && ')
}

/** Largest `ingress` (or `egress`) list of one Calico policy (the CRD's `maxItems`). */
export const CALICO_RULES_MAX = 1024

/** Largest `nets` (and `notNets`) list of one Calico EntityRule (the CRD's `maxItems`). */
export const CALICO_NETS_MAX = 256

/**
 * Entity rules (`nets`/`notNets` parts) matching the addresses of `cidr` less `except`: one with
 * `nets: [cidr]` and `notNets: except` when the excepts fit in {@link CALICO_NETS_MAX}, else the
 * CIDRs that cover the block less its excepts as `nets`, at most {@link CALICO_NETS_MAX} per
 * entity rule (a list of entity rules is ORed: one Calico rule each).
 */
export function calicoNets(cidr: Cidr, except: readonly Cidr[]): Record<string, string[]>[] {
  if (except.length === 0) return [{ nets: [cidr.text] }]
  if (except.length <= CALICO_NETS_MAX)
    return [{ nets: [cidr.text], notNets: except.map((c) => c.text) }]
  const nets = blockCidrs(cidr, except)
  const out: Record<string, string[]>[] = []
  for (let i = 0; i < nets.length; i += CALICO_NETS_MAX)
    out.push({ nets: nets.slice(i, i + CALICO_NETS_MAX) })
  return out
}

/** The address family (4 or 6) of a CIDR in text form. */
const netFamily = (text: string): 4 | 6 => (text.includes(':') ? 6 : 4)

/**
 * The families of the `nets`/`notNets` of Calico entity rules. Calico's validator refuses a rule
 * holding IPv4 and IPv6 CIDRs across its source and destination (libcalico-go
 * `validateRule`: "rule contains both IPv4 and IPv6 CIDRs"), and no packet could match one.
 */
function sameFamily(...ends: readonly Record<string, unknown>[]): boolean {
  const families = new Set(
    ends.flatMap((e) =>
      ['nets', 'notNets'].flatMap((f) => ((e[f] as string[] | undefined) ?? []).map(netFamily)),
    ),
  )
  return families.size <= 1
}

/** Largest `ports` list of one Calico EntityRule (the CRD's `maxItems`). */
export const CALICO_PORTS_MAX = 50

/**
 * Calico rule fragments (protocol, ports, icmp) of a rule's services; `[{}]` for `any`. A
 * protocol's ports are split over several fragments of at most {@link CALICO_PORTS_MAX} (the
 * API server refuses a longer list); each fragment becomes its own Calico rule.
 */
export function calicoServices(services: readonly Service[]): {
  proto: Record<string, unknown>
  ports?: (number | string)[]
}[] {
  const names: Record<number, string> = {
    1: 'ICMP',
    6: 'TCP',
    17: 'UDP',
    58: 'ICMPv6',
    132: 'SCTP',
  }
  if (services.some((s) => s.protocol === 'any')) return [{ proto: {} }]
  const out: { proto: Record<string, unknown>; ports?: (number | string)[] }[] = []
  const byProto = new Map<number, (number | string)[] | undefined>()
  for (const s of services) {
    if (s.protocol === 'any') continue
    const p = s.protocol
    if (p === 1 || p === 58) {
      const all = s.ports.lo === 0 && s.ports.hi === 255
      const types = all
        ? [undefined]
        : Array.from({ length: s.ports.hi - s.ports.lo + 1 }, (_, i) => s.ports.lo + i)
      for (const t of types)
        out.push({
          proto: { protocol: names[p], ...(t === undefined ? {} : { icmp: { type: t } }) },
        })
      continue
    }
    if (p !== 6 && p !== 17 && p !== 132) {
      out.push({ proto: { protocol: names[p] ?? p } })
      continue
    }
    // Calico rule ports take 1–65535 (libcalico-go v3 validatePort: "port number must be between
    // 1 and 65535"), and no `ports` is every port, port 0 too: so only the whole protocol
    // (0–65535) is written without ports; a range from 0 is written from 1 (see
    // compile/port-zero-passes), and tcp/1-65535 as "1:65535" (before 2026-11-24 without ports,
    // which let port 0 through)
    const lo = Math.max(1, s.ports.lo)
    const hi = s.ports.hi
    if (byProto.has(p) && byProto.get(p) === undefined) continue
    if (s.ports.lo === 0 && hi === 65535) byProto.set(p, undefined)
    else byProto.set(p, [...(byProto.get(p) ?? []), lo === hi ? lo : `${lo}:${hi}`])
  }
  for (const [p, ports] of byProto)
    if (ports === undefined) out.push({ proto: { protocol: names[p] } })
    else
      for (let i = 0; i < ports.length; i += CALICO_PORTS_MAX)
        out.push({ proto: { protocol: names[p] }, ports: ports.slice(i, i + CALICO_PORTS_MAX) })
  return out
}

/**
 * Builds the Calico objects, per namespace and global.
 * @throws BulkheadError `compile/not-expressible` (see {@link PodGroupResolver}), `compile/unknown-host`.
 */
export function planCalico(
  inventory: Inventory,
  policySet: PolicySet,
  options: CalicoOptions,
): {
  objects: Map<string, K8sObject[]>
  global: K8sObject[]
  diagnostics: CompileResult['diagnostics']
} {
  assertExpressible('calico', CALICO_CAPABILITIES, inventory, policySet, options.now)
  const r = new PodGroupResolver(inventory, options, 'calico')
  r.readModes(policySet)
  if (options.hosts !== undefined) checkHosts(inventory, options.hosts)
  const nsKind = (mode: EnforcementMode): string =>
    mode === 'monitor' ? 'StagedNetworkPolicy' : 'NetworkPolicy'
  const globalKind = (mode: EnforcementMode): string =>
    mode === 'monitor' ? 'StagedGlobalNetworkPolicy' : 'GlobalNetworkPolicy'
  const direction = options.direction ?? 'both'
  const ingress = direction !== 'egress'
  const egress = direction !== 'ingress'
  const types = [...(ingress ? ['Ingress'] : []), ...(egress ? ['Egress'] : [])]
  const unique = objectNamer()
  const objects = new Map<string, K8sObject[]>()
  for (const ns of r.namespaces) {
    objects.set(
      ns,
      r.subjectsByMode(pinnedGroup(ns)).map((part) => ({
        apiVersion: 'projectcalico.org/v3',
        kind: nsKind(part.mode),
        metadata: objectMeta(unique(ns, DEFAULT_DENY_NAME), 'bulkhead', 'default-deny', ns),
        spec: { order: DEFAULT_DENY_ORDER, selector: calicoSelector(part.group.pods), types },
      })),
    )
  }
  const global: K8sObject[] = []
  /**
   * Calico entity rules (source or destination) of a peer side (`sels`, with `side` its
   * {@link plainSide}); `[{}]` for any. Pod groups as
   * selectors; address blocks (workloads that are not pods, named externals) as `nets` with
   * `notNets`; CIDR selectors as their own `nets`, since Calico nets take pod addresses too.
   */
  const peers = (sels: readonly Selector[], side: Side) => {
    if (side.all) return [{}]
    const out: Record<string, unknown>[] = []
    for (const g of side.groups) {
      if (g.namespaces.length === 0) continue
      out.push({
        selector: calicoSelector(g.pods),
        namespaceSelector: calicoSelector(g.ns, {
          [NAMESPACE_NAME_LABEL]: 'projectcalico.org/name',
        }),
      })
    }
    const blocks = [
      ...side.blocks,
      ...sels.flatMap((s) => (s.kind === 'cidr' ? [{ cidr: s.cidr, except: [...s.except] }] : [])),
    ]
    // blocks without except share `nets` lists (of at most CALICO_NETS_MAX); each other block is
    // its own entity rule (or several: calicoNets)
    // and one family each: Calico refuses a rule holding IPv4 and IPv6 CIDRs
    const plain = [...new Set(blocks.filter((b) => b.except.length === 0).map((b) => b.cidr.text))]
    for (const family of [4, 6])
      for (let i = 0, nets = plain.filter((t) => netFamily(t) === family); i < nets.length;)
        out.push({ nets: nets.slice(i, (i += CALICO_NETS_MAX)) })
    for (const b of blocks) if (b.except.length > 0) out.push(...calicoNets(b.cidr, b.except))
    return out
  }
  /**
   * A rule side without its `cidr` selectors (with them when it holds `any`, which takes every
   * pod anyway): the pod groups and blocks its label, workload and external selectors stand for.
   * Resolved once per rule side, for its peers and its subjects.
   */
  const plainSide = (policy: Policy, rule: Rule, sels: readonly Selector[]): Side =>
    r.side(
      policy,
      rule,
      sels.some((s) => s.kind === 'any') ? sels : sels.filter((s) => s.kind !== 'cidr'),
    )
  /**
   * The subjects of a rule side: its {@link plainSide}, and each `cidr` selector as the pods
   * inside it with the block as the subject's own address (`own`, the rule's `nets`/`notNets` on
   * the subject's end: an egress rule's `source`, an ingress rule's `destination`). Calico
   * matches rules on packet addresses, so a dual-stack pod inside an IPv4 block is a subject for
   * that address only, as in the model.
   */
  const subjects = (
    policy: Policy,
    rule: Rule,
    sels: readonly Selector[],
    plain: Side,
  ): { side: Side; own: Record<string, string[]>[] }[] => {
    const out: { side: Side; own: Record<string, string[]>[] }[] = [{ side: plain, own: [{}] }]
    if (plain.all) return out
    for (const s of sels)
      if (s.kind === 'cidr')
        out.push({ side: r.side(policy, rule, [s]), own: calicoNets(s.cidr, s.except) })
    return out
  }
  const emit = (
    subject: Side,
    base: string,
    policy: Policy,
    rule: Rule,
    order: number,
    type: 'Ingress' | 'Egress',
    rules: Record<string, unknown>[],
  ): boolean => {
    if (rules.length === 0) return false
    if (rules.length > CALICO_RULES_MAX)
      r.fail(
        policy,
        rule,
        `it needs ${rules.length} Calico rules in one policy, more than ${CALICO_RULES_MAX}`,
      )
    const field = type === 'Ingress' ? 'ingress' : 'egress'
    const groups = subject.all ? [{ ns: {}, namespaces: r.namespaces, pods: {} }] : subject.groups
    const parts = groups
      .filter((g) => g.namespaces.length > 0)
      .flatMap((g) => r.subjectsByMode(g, { policy, rule }))
    for (const { mode, group: g } of parts) {
      const pinned = g.ns.matchLabels?.[NAMESPACE_NAME_LABEL]
      if (pinned !== undefined && !g.ns.matchExpressions && objects.has(pinned)) {
        objects.get(pinned)?.push({
          apiVersion: 'projectcalico.org/v3',
          kind: nsKind(mode),
          metadata: objectMeta(unique(pinned, base), policy.name, rule.id, pinned),
          spec: { order, selector: calicoSelector(g.pods), types: [type], [field]: rules },
        })
      } else {
        // a subject pinning no namespace is limited to the compiled namespaces it covers
        // (s13/hR D3): `all()` would also take every other namespace and the host endpoints
        const nsPart =
          g.ns.matchLabels?.[NAMESPACE_NAME_LABEL] === undefined
            ? calicoSelector({
                matchExpressions: [
                  {
                    key: 'projectcalico.org/namespace',
                    operator: 'In',
                    values: [...g.namespaces].sort(),
                  },
                  ...(g.ns.matchExpressions ?? []).map((e) => ({
                    ...e,
                    key: 'projectcalico.org/namespace',
                  })),
                ],
              })
            : calicoSelector(g.ns, { [NAMESPACE_NAME_LABEL]: 'projectcalico.org/namespace' })
        const podPart = calicoSelector(g.pods)
        const selector =
          nsPart === 'all()' ? podPart : podPart === 'all()' ? nsPart : `${nsPart} && ${podPart}`
        global.push({
          apiVersion: 'projectcalico.org/v3',
          kind: globalKind(mode),
          metadata: objectMeta(unique('', base), policy.name, rule.id),
          spec: { order, selector, types: [type], [field]: rules },
        })
      }
    }
    // whether an object of an enforcing kind (not Staged: monitor) was written
    return parts.some(({ mode }) => mode !== 'monitor')
  }
  /** The first allow rule whose enforced egress objects hold an address peer (`nets` or any). */
  let toHost: string | undefined
  for (const policy of policySet.policies) {
    for (const rule of policy.rules) {
      if (!r.compiles(policy, rule)) continue
      if (
        rule.services.some(
          (s) => (s.protocol === 1 || s.protocol === 58) && s.ports.hi === 255 && s.ports.lo > 0,
        )
      )
        r.fail(
          policy,
          rule,
          'Calico matches ICMP and ICMPv6 types 0-254 only (type 255 is reserved), and the rule names type 255 but not every type',
        )
      const action = rule.action === 'deny' ? 'Deny' : 'Allow'
      const order = rule.action === 'deny' ? DENY_ORDER : ALLOW_ORDER
      const services = calicoServices(rule.services)
      const base = `bh-${dnsName(policy.name)}-${dnsName(rule.id)}`
      const fromSide = plainSide(policy, rule, rule.from)
      const toSide = plainSide(policy, rule, rule.to)
      /**
       * The Calico rules between source and destination entity rules: one per (source,
       * destination, service), sources outermost, the service's ports on the destination; an
       * empty entity rule (any) is left out.
       */
      const entityRules = (
        sources: readonly Record<string, unknown>[],
        destinations: readonly Record<string, unknown>[],
      ): Record<string, unknown>[] =>
        sources.flatMap((source) =>
          destinations.flatMap((dest) =>
            // nets of two families on the two ends match no packet, and Calico refuses the rule
            sameFamily(source, dest)
              ? services.map((s) => {
                  const destination = { ...dest, ...(s.ports ? { ports: s.ports } : {}) }
                  return {
                    action,
                    ...s.proto,
                    ...(Object.keys(source).length > 0 ? { source } : {}),
                    ...(Object.keys(destination).length > 0 ? { destination } : {}),
                  }
                })
              : [],
          ),
        )
      if (ingress) {
        const sources = peers(rule.from, fromSide)
        for (const { side, own } of subjects(policy, rule, rule.to, toSide))
          emit(side, `${base}-in`, policy, rule, order, 'Ingress', entityRules(sources, own))
      }
      if (egress) {
        const destinations = peers(rule.to, toSide)
        let enforced = false
        for (const { side, own } of subjects(policy, rule, rule.from, fromSide))
          enforced =
            emit(
              side,
              `${base}-eg`,
              policy,
              rule,
              order,
              'Egress',
              entityRules(own, destinations),
            ) || enforced
        // an enforced allow towards addresses (blocks, any) may take a pod's own host
        if (
          toHost === undefined &&
          rule.action === 'allow' &&
          enforced &&
          destinations.some((d) => d['selector'] === undefined)
        )
          toHost = `${policy.name}/${rule.id}`
      }
    }
  }
  // pods isolated for ingress by an enforcing object (Staged kinds block nothing)
  const podIngress = [...[...objects.values()].flat(), ...global].some(
    (o) =>
      !(o['kind'] as string).startsWith('Staged') &&
      (o['spec'] as { types: string[] }).types.includes('Ingress'),
  )
  return {
    objects,
    global,
    diagnostics: [
      ...r.diagnostics,
      ...calicoNodeAddressWarnings(podIngress, toHost),
      // a deny from port 0 but not of the whole protocol is written from 1, and allows without
      // ports (any, a whole protocol) let port 0 through
      ...portZeroWarnings(
        inventory,
        policySet,
        options.now.getTime(),
        (rule) => writtenFromPort1(rule.services, true),
        'calico',
        'Calico rule ports are 1–65535 and a rule without ports takes every port',
      ),
    ],
  }
}

/**
 * The `compile/node-addresses` warning of the calico target. Calico rules match node addresses
 * by `nets` as the model takes them (an external range: the model knows no node), but between a
 * pod and its own host: "Calico allows all connections from processes running on the host to
 * guest workloads on the host" whatever the policy (health checks), and blocks "all connections
 * from a workload to its local host (after traffic passes any egress policy applied to the
 * workload)" when Felix's `defaultEndpointToHostAction` is `Drop`, its own default (Calico's
 * manifests and operator set `Accept`; `Return` hands them to the host's INPUT rules). Given when
 * enforced pod ingress is compiled (`ingress`), and names the endpoint-to-host action when an
 * enforced allow rule (`toHost`, the first) lets pods reach addresses.
 * @remarks Calico "Protect hosts": https://docs.tigera.io/calico/latest/network-policy/hosts/protect-hosts
 * (projectcalico/calico `security/protect-hosts.md`).
 */
function calicoNodeAddressWarnings(ingress: boolean, toHost: string | undefined): Diagnostic[] {
  const parts: string[] = []
  if (ingress)
    parts.push(
      'each host reaches the pods it runs whatever the policy (Calico allows connections from processes on the host to its workloads, for health checks)',
    )
  if (toHost !== undefined)
    parts.push(
      `a pod's connections to its own host that the policy allows (${toHost} and any other rule towards addresses) are then dropped when Felix's defaultEndpointToHostAction is Drop (Felix's own default; Calico's manifests and operator set Accept, which passes them)`,
    )
  if (parts.length === 0) return []
  return [
    {
      code: 'compile/node-addresses',
      severity: 'warning',
      message: `Calico decides node addresses otherwise than the model, which knows no node: ${parts.join('; ')}`,
    },
  ]
}

/** File of the global policies, relative to the output folder. */
export const CALICO_GLOBAL_FILE = 'cluster.globalnetworkpolicies.yaml'

/**
 * The calico target: `<namespace>.calico.yaml` per namespace and {@link CALICO_GLOBAL_FILE}
 * (multi-document YAML; apply with `calicoctl apply -f` or, with the Calico API server,
 * `kubectl apply -f`).
 */
export const calicoCompiler: Compiler<CalicoOptions> = planCompiler(
  'calico',
  CALICO_CAPABILITIES,
  planCalico,
  (plan) =>
    manifestArtefacts(
      'calico',
      plan.objects,
      'calico.yaml',
      CALICO_GLOBAL_FILE,
      plan.global,
      'networkpolicies.projectcalico.org,stagednetworkpolicies.projectcalico.org',
    ),
)
