/**
 * @module The `kubernetes` compiler: Bulkhead rules to NetworkPolicy (networking.k8s.io/v1), with
 * deny rules as AdminNetworkPolicy (policy.networking.k8s.io/v1alpha1) when asked.
 *
 * How the output reproduces DESIGN.md rule 1 (allowed iff some allow rule and no deny rule):
 *
 * - Every namespace holding a compiled pod gets `bulkhead-default-deny` (empty podSelector,
 *   policyTypes Ingress and Egress, no rules): every pod is isolated in both directions, so
 *   nothing is allowed by default.
 * - Each live allow rule gives, per protected workload group (a `to` selector and a namespace),
 *   an ingress NetworkPolicy admitting the `from` peers on the rule's ports, and per `from` group
 *   an egress NetworkPolicy towards the `to` peers. Between two pods the cluster allows the
 *   intersection of the source's egress and the destination's ingress, which are both the union
 *   of the allow rules matching the pair; towards an address range only one side is checked.
 * - A label selector (ANDed with the policy scope unless `scope: global`) becomes a peer
 *   `namespaceSelector` (the `namespace` label as `kubernetes.io/metadata.name`, every namespace
 *   when absent) plus `podSelector` (the other labels and expressions). A `workload` selector,
 *   and the pods whose addresses lie in a `cidr` selector (ipBlock never matches pods in
 *   np-guard's reading), become their namespace plus their full label set; when that selector
 *   would also take other pods the rule is `compile/not-expressible`. `cidr` is an ipBlock with
 *   `except`; a named external its block, with the more specific named externals inside it as
 *   `except`; `any` a rule without `from`/`to`.
 * - Deny rules: `compile/unsupported-by-target` (capability `deny-rules`) unless
 *   `denyWith: 'anp'`: then each becomes one AdminNetworkPolicy per `from` group with one
 *   `Deny` egress rule to the `to` peers (pods, and `networks` for CIDRs). ANP rules are
 *   evaluated before NetworkPolicy, so a Deny beats every allow. Priorities start at
 *   {@link DEFAULT_ANP_PRIORITY} (10) and go up by one per object in policy/rule order, so that
 *   cluster administrators keep 0–9 for their own higher-precedence policies; the set must fit
 *   below 1000. Deny rules whose source holds non-pod endpoints (CIDR ranges, externals, `any`)
 *   would need ANP ingress `networks`, absent in v1alpha1: `compile/not-expressible`.
 *
 * Workloads must be Kubernetes pods: a `namespace` label (set by the Kubernetes inventory
 * source), else `defaultNamespace`; other workloads are left out with `compile/not-a-pod`.
 * Pod labels in the cluster are the workload's labels without `namespace`. Every object carries
 * labels `bulkhead.dev/policy` and `bulkhead.dev/rule` (sanitised to label values) and the exact
 * names in annotation `bulkhead.dev/rule-ref`.
 * @remarks Semantics: DESIGN.md "Policy language v1"; Kubernetes NetworkPolicy reference
 * (https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/);
 * AdminNetworkPolicy API (https://network-policy-api.sigs.k8s.io/reference/spec/).
 */
import {
  BulkheadError,
  checkKubernetesLabelValue,
  cidrCovers,
  cidrContains,
  formatRuleRef,
  formatService,
  parseIp,
  type Cidr,
  type Diagnostic,
  type Inventory,
  type LabelExpression,
  type LabelSet,
  type Policy,
  type PolicySet,
  type Rule,
  type Selector,
  type Service,
  type Workload,
} from '../../core/index.js'
import { addressHoldsAt, isLive } from '../../policy/evaluate.js'
import {
  assertExpressible,
  type CompileOptions,
  type CompileResult,
  type Compiler,
} from '../target.js'
import { KUBERNETES_ANP_CAPABILITIES, KUBERNETES_CAPABILITIES } from './capabilities.js'
import { renderArtefacts } from './render.js'

/** Options of the kubernetes target (`bulkhead compile --target kubernetes`). */
export interface KubernetesOptions extends CompileOptions {
  /** `'anp'`: deny rules become AdminNetworkPolicy objects (`--deny-with anp`). Default: none. */
  readonly denyWith?: 'anp'
  /** Priority of the first AdminNetworkPolicy (0–1000). Default {@link DEFAULT_ANP_PRIORITY}. */
  readonly anpPriority?: number
  /**
   * Namespace of workloads without a `namespace` label (inventories not read from Kubernetes).
   * Default: none, and such workloads are left out with `compile/not-a-pod`.
   */
  readonly defaultNamespace?: string
}

/** Priority of the first AdminNetworkPolicy: 0–9 stay free for the cluster administrators. */
export const DEFAULT_ANP_PRIORITY = 10
/** Highest ANP priority the v1alpha1 API accepts. */
export const MAX_ANP_PRIORITY = 1000
/** Label key naming the Bulkhead policy of an object. */
export const POLICY_LABEL = 'bulkhead.dev/policy'
/** Label key naming the Bulkhead rule of an object. */
export const RULE_LABEL = 'bulkhead.dev/rule'
/** Annotation with the exact `policy/rule` reference. */
export const RULE_REF_ANNOTATION = 'bulkhead.dev/rule-ref'
/** Namespace label every namespace carries (Kubernetes ≥ 1.21). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name'
/** Name of the per-namespace default-deny NetworkPolicy. */
export const DEFAULT_DENY_NAME = 'bulkhead-default-deny'

/** A Kubernetes object as plain JSON data (apiVersion, kind, metadata, spec). */
export type K8sObject = Record<string, unknown>

/** A Kubernetes label selector as JSON (`matchLabels`, `matchExpressions`). */
export interface K8sLabelSelector {
  matchLabels?: Record<string, string>
  matchExpressions?: { key: string; operator: string; values?: string[] }[]
}

/** One compiled pod: its workload, namespace and the labels it carries in the cluster. */
export interface CompiledPod {
  readonly workload: Workload
  readonly namespace: string
  readonly labels: LabelSet
}

/** The output of {@link planKubernetes}: objects by namespace, ANPs, warnings. */
export interface KubernetesPlan {
  /** NetworkPolicies per namespace, namespaces sorted; default-deny first. */
  readonly namespaces: ReadonlyMap<string, readonly K8sObject[]>
  readonly adminPolicies: readonly K8sObject[]
  readonly pods: readonly CompiledPod[]
  readonly diagnostics: readonly Diagnostic[]
}

/**
 * A group of pods: a selector over namespace labels (`kubernetes.io/metadata.name`) and a pod
 * label selector (the cluster's pod labels, without `namespace`).
 */
export interface PodGroup {
  readonly ns: K8sLabelSelector
  /** The namespaces of compiled pods the group covers. */
  readonly namespaces: readonly string[]
  readonly pods: K8sLabelSelector
}

/** What one side of a rule becomes: pod groups, address blocks, and `all` for the `any` peer. */
export interface Side {
  readonly groups: PodGroup[]
  readonly blocks: { cidr: Cidr; except: Cidr[] }[]
  readonly all: boolean
}

/** Label values: at most 63 of `[A-Za-z0-9._-]`, starting and ending alphanumeric. */
export function labelValue(text: string): string {
  const v = text
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+/, '')
    .replace(/[^A-Za-z0-9]+$/, '')
  return v
}

/** DNS-1123 subdomain name part: lower case, `[a-z0-9-]`, trimmed. */
export function dnsName(text: string): string {
  const v = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
  return v === '' ? 'x' : v
}

function sel(match: Record<string, string>, exprs: LabelExpression[]): K8sLabelSelector {
  const out: K8sLabelSelector = {}
  const keys = Object.keys(match).sort()
  if (keys.length > 0) out.matchLabels = Object.fromEntries(keys.map((k) => [k, match[k] ?? '']))
  if (exprs.length > 0)
    out.matchExpressions = exprs.map((e) =>
      e.operator === 'Exists' || e.operator === 'DoesNotExist'
        ? { key: e.key, operator: e.operator }
        : { key: e.key, operator: e.operator, values: [...e.values].sort() },
    )
  return out
}

/** Kubernetes label-selector semantics over a label set. */
export function selects(s: K8sLabelSelector, labels: LabelSet): boolean {
  for (const [k, v] of Object.entries(s.matchLabels ?? {})) if (labels[k] !== v) return false
  for (const e of s.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key)
    const v = labels[e.key]
    const vals = e.values ?? []
    if (e.operator === 'In' && !(has && vals.includes(v ?? ''))) return false
    if (e.operator === 'NotIn' && has && vals.includes(v ?? '')) return false
    if (e.operator === 'Exists' && !has) return false
    if (e.operator === 'DoesNotExist' && has) return false
  }
  return true
}

function withoutNamespace(labels: LabelSet): LabelSet {
  const out: Record<string, string> = {}
  for (const k of Object.keys(labels)) if (k !== 'namespace') out[k] = labels[k] ?? ''
  return out
}

/**
 * Resolves rule sides to pod groups and address blocks over the pods of an inventory (see the
 * module comment); shared by the kubernetes, cilium and calico targets. Constructing it records
 * `compile/not-a-pod` warnings in {@link PodGroupResolver.diagnostics}.
 */
export class PodGroupResolver {
  readonly diagnostics: Diagnostic[] = []
  readonly pods: CompiledPod[] = []
  readonly namespaces: string[]
  private readonly at: number

  constructor(
    readonly inventory: Inventory,
    readonly options: KubernetesOptions,
  ) {
    this.at = options.now.getTime()
    for (const w of inventory.workloads) {
      const ns = w.labels['namespace'] ?? options.defaultNamespace
      if (ns === undefined) {
        this.diagnostics.push({
          code: 'compile/not-a-pod',
          severity: 'warning',
          message: `workload "${w.name}" is not a Kubernetes pod (no namespace label); target kubernetes leaves it out`,
          ...(w.location ? { location: w.location } : {}),
        })
        continue
      }
      this.pods.push({ workload: w, namespace: ns, labels: withoutNamespace(w.labels) })
    }
    this.namespaces = [...new Set(this.pods.map((p) => p.namespace))].sort()
  }

  private nsNamesOf(ns: K8sLabelSelector): string[] {
    return this.namespaces.filter((n) => selects(ns, { [NAMESPACE_NAME_LABEL]: n }))
  }

  /** Pods a group takes in the cluster. */
  private podsOf(g: PodGroup): CompiledPod[] {
    return this.pods.filter((p) => g.namespaces.includes(p.namespace) && selects(g.pods, p.labels))
  }

  /**
   * Whether `rule` is compiled: false for a rule expired at the compile instant (rule 4; a
   * `compile/expired-rule` warning is added to {@link diagnostics}).
   * @throws BulkheadError `compile/not-expressible` for a TCP/UDP/SCTP service of port 0 alone:
   *   NetworkPolicy, Cilium and Calico write ports 1–65535, and an empty port list would mean
   *   every port (s13/hR D9).
   */
  compiles(policy: Policy, rule: Rule): boolean {
    if (!isLive(rule, this.at)) {
      this.diagnostics.push(expiredWarning(policy, rule))
      return false
    }
    for (const s of rule.services) {
      if (s.protocol !== 'any' && [6, 17, 132].includes(s.protocol) && s.ports.hi < 1)
        this.fail(
          policy,
          rule,
          `${formatService(s)} names port 0, which has no form (ports are 1–65535)`,
        )
    }
    return true
  }

  /** @throws BulkheadError `compile/not-expressible` naming the rule. */
  fail(policy: Policy, rule: Rule, why: string): never {
    throw new BulkheadError([
      {
        code: 'compile/not-expressible',
        severity: 'error',
        message: `rule ${formatRuleRef({ policy: policy.name, id: rule.id })}: ${why}; target kubernetes cannot express it`,
        ...(rule.location
          ? { location: rule.location }
          : policy.location
            ? { location: policy.location }
            : {}),
      },
    ])
  }

  /** Groups standing for exactly the given pods, one per pod identity; fails when a group takes more. */
  private exactGroups(policy: Policy, rule: Rule, pods: CompiledPod[], what: string): PodGroup[] {
    const out = new Map<string, PodGroup>()
    for (const p of pods) {
      const g: PodGroup = {
        ns: { matchLabels: { [NAMESPACE_NAME_LABEL]: p.namespace } },
        namespaces: [p.namespace],
        pods: sel({ ...p.labels }, []),
      }
      const extra = this.podsOf(g).filter((q) => !pods.includes(q))
      if (extra.length > 0)
        this.fail(
          policy,
          rule,
          `${what} takes pod ${p.workload.name} but not ${extra[0]?.workload.name ?? ''}, which has the same namespace and labels`,
        )
      out.set(JSON.stringify([p.namespace, p.labels]), g)
    }
    return [...out.values()]
  }

  private holds(p: CompiledPod, c: Cidr, except: readonly Cidr[]): boolean {
    return p.workload.addresses.some((a) => {
      if (!addressHoldsAt(a, this.at)) return false
      const ip = parseIp(a.ip)
      return !!ip && cidrContains(c, ip) && !except.some((e) => cidrContains(e, ip))
    })
  }

  /**
   * The pods, ranges and `all` a rule side stands for.
   * @throws BulkheadError `compile/not-expressible` when a pod group would take other pods.
   */
  side(policy: Policy, rule: Rule, selectors: readonly Selector[]): Side {
    const groups: PodGroup[] = []
    const blocks: { cidr: Cidr; except: Cidr[] }[] = []
    let all = false
    for (const s of selectors) {
      switch (s.kind) {
        case 'any':
          all = true
          break
        case 'labels': {
          const match: Record<string, string> = { ...s.match }
          let none = false
          if (!s.global) {
            for (const [k, v] of Object.entries(policy.scope)) {
              if (match[k] !== undefined && match[k] !== v) none = true
              match[k] = v
            }
          }
          const nsExprs: LabelExpression[] = []
          const podExprs: LabelExpression[] = []
          for (const e of s.expressions) {
            if (e.key !== 'namespace') podExprs.push(e)
            else if (e.operator === 'DoesNotExist') none = true
            else if (e.operator !== 'Exists') nsExprs.push({ ...e, key: NAMESPACE_NAME_LABEL })
          }
          if (none) break
          const nsMatch: Record<string, string> = {}
          if (match['namespace'] !== undefined) nsMatch[NAMESPACE_NAME_LABEL] = match['namespace']
          delete match['namespace']
          const ns = sel(nsMatch, nsExprs)
          groups.push({ ns, namespaces: this.nsNamesOf(ns), pods: sel(match, podExprs) })
          break
        }
        case 'workload': {
          const p = this.pods.find((q) => q.workload.name === s.name)
          if (!p) break
          if (
            !s.global &&
            !Object.entries(policy.scope).every(([k, v]) => p.workload.labels[k] === v)
          )
            break
          groups.push(...this.exactGroups(policy, rule, [p], `selector "workload ${s.name}"`))
          break
        }
        case 'cidr': {
          blocks.push({ cidr: s.cidr, except: [...s.except] })
          const inside = this.pods.filter((p) => this.holds(p, s.cidr, s.except))
          if (inside.length > 0)
            groups.push(...this.exactGroups(policy, rule, inside, `selector "cidr ${s.cidr.text}"`))
          break
        }
        case 'external': {
          const x = this.inventory.externals.find((e) => e.name === s.name)
          if (!x) break
          // addresses of a more specific named external inside this one are that external's
          const except = this.inventory.externals
            .filter(
              (o) =>
                o.name !== x.name && cidrCovers(x.cidr, o.cidr) && o.cidr.prefix > x.cidr.prefix,
            )
            .map((o) => o.cidr)
          blocks.push({ cidr: x.cidr, except })
          break
        }
      }
    }
    for (const g of groups) {
      for (const selector of [g.ns, g.pods]) {
        const problem = invalidLabelValue(selector)
        if (problem !== undefined) this.fail(policy, rule, `its pods are selected by ${problem}`)
      }
    }
    return { groups, blocks, all }
  }
}

/**
 * Why the API server would refuse a label selector's values (Bulkhead label values are looser
 * than Kubernetes': AWS tags carry spaces), or undefined when it would take them.
 */
function invalidLabelValue(s: K8sLabelSelector): string | undefined {
  const values = [
    ...Object.values(s.matchLabels ?? {}),
    ...(s.matchExpressions ?? []).flatMap((e) => e.values ?? []),
  ]
  for (const v of values) {
    const problem = checkKubernetesLabelValue(v)
    if (problem !== undefined) return problem
  }
  return undefined
}

/** @throws BulkheadError `compile/unknown-host` for each host name no workload has. */
export function checkHosts(inventory: Inventory, hosts: readonly string[]): void {
  const unknown = hosts.filter((h) => !inventory.workloads.some((w) => w.name === h))
  if (unknown.length > 0)
    throw new BulkheadError(
      unknown.map((h) => ({
        code: 'compile/unknown-host' as const,
        severity: 'error' as const,
        message: `no workload named "${h}" in the inventory`,
      })),
    )
}

/** The `compile/expired-rule-omitted` warning of a rule (DESIGN.md rule 4). */
export function expiredWarning(policy: Policy, rule: Rule): Diagnostic {
  return {
    code: 'compile/expired-rule-omitted',
    severity: 'warning',
    message: `rule ${formatRuleRef({ policy: policy.name, id: rule.id })} expired at ${new Date(rule.expires ?? 0).toISOString()} and is left out`,
    ...(rule.location ? { location: rule.location } : {}),
  }
}

/** NetworkPolicy `ports` of a rule's services; undefined means every port and protocol. */
export function netpolPorts(services: readonly Service[]): Record<string, unknown>[] | undefined {
  const out: Record<string, unknown>[] = []
  const names: Record<number, string> = { 6: 'TCP', 17: 'UDP', 132: 'SCTP' }
  for (const s of services) {
    if (s.protocol === 'any') return undefined
    const protocol = names[s.protocol]
    if (protocol === undefined) continue // refused earlier by assertExpressible
    const lo = Math.max(1, s.ports.lo)
    const hi = s.ports.hi
    if (hi < 1) continue
    if (lo === 1 && hi === 65535) out.push({ protocol })
    else if (lo === hi) out.push({ protocol, port: lo })
    else out.push({ protocol, port: lo, endPort: hi })
  }
  return out
}

function anpPorts(services: readonly Service[]): Record<string, unknown>[] | undefined {
  const np = netpolPorts(services)
  if (np === undefined) return undefined
  return np.map((p) => {
    const protocol = p['protocol'] as string
    if (p['port'] === undefined) return { portRange: { protocol, start: 1, end: 65535 } }
    if (p['endPort'] === undefined) return { portNumber: { protocol, port: p['port'] } }
    return { portRange: { protocol, start: p['port'], end: p['endPort'] } }
  })
}

/**
 * Object metadata with the Bulkhead labels (`bulkhead.dev/policy`, `bulkhead.dev/rule`, sanitised
 * by {@link labelValue}) and the exact `policy/rule` annotation; `namespace` for namespaced kinds.
 */
export function objectMeta(
  name: string,
  policy: string,
  rule: string,
  namespace?: string,
): Record<string, unknown> {
  return {
    name,
    ...(namespace !== undefined ? { namespace } : {}),
    labels: {
      'app.kubernetes.io/managed-by': 'bulkhead',
      [POLICY_LABEL]: labelValue(policy),
      [RULE_LABEL]: labelValue(rule),
    },
    annotations: { [RULE_REF_ANNOTATION]: `${policy}/${rule}` },
  }
}

function netpolPeers(g: Side): Record<string, unknown>[] {
  const peers: Record<string, unknown>[] = []
  for (const gr of g.groups) {
    if (gr.namespaces.length === 0) continue
    peers.push({ namespaceSelector: gr.ns, podSelector: gr.pods })
  }
  for (const b of g.blocks) {
    peers.push({
      ipBlock: {
        cidr: b.cidr.text,
        ...(b.except.length > 0 ? { except: b.except.map((e) => e.text) } : {}),
      },
    })
  }
  return peers
}

/**
 * Builds the NetworkPolicy (and AdminNetworkPolicy) objects of a policy set.
 * @throws UnsupportedByTargetError for a live rule needing a missing capability (deny rules
 * without `denyWith: 'anp'`, ICMP, other protocols, monitor mode).
 * @throws BulkheadError `compile/not-expressible` for a rule whose pods no selector can single
 * out, or a deny rule from non-pod endpoints; `compile/unknown-host` for an unknown host name.
 */
export function planKubernetes(
  inventory: Inventory,
  policySet: PolicySet,
  options: KubernetesOptions,
): KubernetesPlan {
  const anp = options.denyWith === 'anp'
  assertExpressible(
    'kubernetes',
    anp ? KUBERNETES_ANP_CAPABILITIES : KUBERNETES_CAPABILITIES,
    policySet,
    options.now,
  )
  const planner = new PodGroupResolver(inventory, options)
  let namespaces = planner.namespaces
  if (options.hosts !== undefined) {
    checkHosts(inventory, options.hosts)
    const hostNs = new Set(
      planner.pods.filter((p) => options.hosts?.includes(p.workload.name)).map((p) => p.namespace),
    )
    namespaces = namespaces.filter((n) => hostNs.has(n))
  }
  const direction = options.direction ?? 'both'
  const ingress = direction !== 'egress'
  const egress = direction !== 'ingress'
  const types = [...(ingress ? ['Ingress'] : []), ...(egress ? ['Egress'] : [])]
  const byNs = new Map<string, K8sObject[]>()
  for (const ns of namespaces) {
    byNs.set(ns, [
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: objectMeta(DEFAULT_DENY_NAME, 'bulkhead', 'default-deny', ns),
        spec: { podSelector: {}, policyTypes: types },
      },
    ])
  }
  const used = new Set<string>()
  const uniqueName = (ns: string, base: string): string => {
    const stem = base.slice(0, 240)
    let name = stem
    for (let i = 2; used.has(`${ns}/${name}`); i++) name = `${stem}-${i}`
    used.add(`${ns}/${name}`)
    return name
  }
  const admin: K8sObject[] = []
  let priority = options.anpPriority ?? DEFAULT_ANP_PRIORITY
  const subjectGroups = (s: Side): { ns: string; pods: K8sLabelSelector }[] => {
    const out: { ns: string; pods: K8sLabelSelector }[] = []
    if (s.all) for (const ns of namespaces) out.push({ ns, pods: {} })
    else
      for (const g of s.groups)
        for (const ns of g.namespaces) if (namespaces.includes(ns)) out.push({ ns, pods: g.pods })
    return out
  }
  for (const policy of policySet.policies) {
    for (const rule of policy.rules) {
      if (!planner.compiles(policy, rule)) continue
      const from = planner.side(policy, rule, rule.from)
      const to = planner.side(policy, rule, rule.to)
      const base = `bh-${dnsName(policy.name)}-${dnsName(rule.id)}`
      if (rule.action === 'deny') {
        if (from.all || from.blocks.length > 0)
          planner.fail(
            policy,
            rule,
            'a deny rule from CIDR ranges, named externals or any would need AdminNetworkPolicy ingress networks (absent in v1alpha1)',
          )
        const toPeers: Record<string, unknown>[] = []
        if (to.all) toPeers.push({ namespaces: {} }, { networks: ['0.0.0.0/0', '::/0'] })
        else {
          for (const g of to.groups)
            if (g.namespaces.length > 0)
              toPeers.push({ pods: { namespaceSelector: g.ns, podSelector: g.pods } })
          for (const b of to.blocks) {
            if (b.except.length > 0)
              planner.fail(policy, rule, 'AdminNetworkPolicy networks have no except')
            toPeers.push({ networks: [b.cidr.text] })
          }
        }
        if (toPeers.length === 0) continue
        const ports = anpPorts(rule.services)
        let n = 0
        for (const g of from.groups) {
          if (g.namespaces.length === 0) continue
          if (priority > MAX_ANP_PRIORITY)
            planner.fail(policy, rule, `AdminNetworkPolicy priority would pass ${MAX_ANP_PRIORITY}`)
          n++
          admin.push({
            apiVersion: 'policy.networking.k8s.io/v1alpha1',
            kind: 'AdminNetworkPolicy',
            metadata: objectMeta(n === 1 ? base : `${base}-${n}`, policy.name, rule.id),
            spec: {
              priority: priority++,
              subject: { pods: { namespaceSelector: g.ns, podSelector: g.pods } },
              egress: [
                {
                  name: labelValue(rule.id) || 'deny',
                  action: 'Deny',
                  to: toPeers,
                  ...(ports ? { ports } : {}),
                },
              ],
            },
          })
        }
        continue
      }
      const ports = netpolPorts(rule.services)
      const rulePorts = ports ? { ports } : {}
      if (ingress) {
        const peers = netpolPeers(from)
        if (from.all || peers.length > 0) {
          for (const s of subjectGroups(to)) {
            byNs.get(s.ns)?.push({
              apiVersion: 'networking.k8s.io/v1',
              kind: 'NetworkPolicy',
              metadata: objectMeta(uniqueName(s.ns, `${base}-in`), policy.name, rule.id, s.ns),
              spec: {
                podSelector: s.pods,
                policyTypes: ['Ingress'],
                ingress: [{ ...(from.all ? {} : { from: peers }), ...rulePorts }],
              },
            })
          }
        }
      }
      if (egress) {
        const peers = netpolPeers(to)
        if (to.all || peers.length > 0) {
          for (const s of subjectGroups(from)) {
            byNs.get(s.ns)?.push({
              apiVersion: 'networking.k8s.io/v1',
              kind: 'NetworkPolicy',
              metadata: objectMeta(uniqueName(s.ns, `${base}-eg`), policy.name, rule.id, s.ns),
              spec: {
                podSelector: s.pods,
                policyTypes: ['Egress'],
                egress: [{ ...(to.all ? {} : { to: peers }), ...rulePorts }],
              },
            })
          }
        }
      }
    }
  }
  return {
    namespaces: byNs,
    adminPolicies: admin,
    pods: planner.pods,
    diagnostics: planner.diagnostics,
  }
}

/** Every object of a plan, namespaces in order, then the AdminNetworkPolicies. */
export function planObjects(plan: KubernetesPlan): K8sObject[] {
  return [...[...plan.namespaces.values()].flat(), ...plan.adminPolicies]
}

/**
 * The kubernetes target: `<namespace>.networkpolicies.yaml` per namespace (NetworkPolicies,
 * multi-document YAML for `kubectl apply -f`) and `cluster.adminnetworkpolicies.yaml` when deny
 * rules became AdminNetworkPolicies.
 */
export const kubernetesCompiler: Compiler<KubernetesOptions> = {
  target: 'kubernetes',
  capabilities: KUBERNETES_CAPABILITIES,
  compile(inventory: Inventory, policySet: PolicySet, options: KubernetesOptions): CompileResult {
    const plan = planKubernetes(inventory, policySet, options)
    return { artefacts: renderArtefacts(plan), diagnostics: plan.diagnostics }
  },
}

/**
 * The kubernetes target with `denyWith: 'anp'` always on (`--deny-with anp`): declares
 * `deny-rules`, so that the conformance suite and callers can drive it like any target.
 */
export const kubernetesAnpCompiler: Compiler<KubernetesOptions> = {
  target: 'kubernetes',
  capabilities: KUBERNETES_ANP_CAPABILITIES,
  compile(inventory: Inventory, policySet: PolicySet, options: KubernetesOptions): CompileResult {
    return kubernetesCompiler.compile(inventory, policySet, { ...options, denyWith: 'anp' })
  },
}
