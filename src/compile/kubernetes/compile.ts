/**
 * @module The `kubernetes` compiler: Bulkhead rules to NetworkPolicy (networking.k8s.io/v1), with
 * deny rules as AdminNetworkPolicy (policy.networking.k8s.io/v1alpha1) when asked.
 *
 * How the output reproduces DESIGN.md rule 1 (allowed iff some allow rule and no deny rule):
 *
 * - Every namespace holding a compiled enforced pod gets `bulkhead-default-deny` (empty
 *   podSelector, policyTypes Ingress and Egress, no rules): every pod is isolated in both
 *   directions, so nothing is allowed by default (see the modes below for `observe` pods).
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
 *   would also take other pods the rule is `compile/not-expressible` (and when a dual-stack
 *   pod's other address would be admitted where the model decides otherwise:
 *   {@link PodGroupResolver.checkStrays}). `cidr` is an ipBlock with `except`; a named external
 *   its block, excepting the more specific named externals inside it and the addresses workloads
 *   hold in it; `any` a rule without `from`/`to`. Workloads that are not pods, matched by a label
 *   or `workload` selector, are ipBlocks of their addresses. Pods a label selector matches only
 *   through labels from label rules (not on the pod) are added by their own labels.
 * - Deny rules: `compile/unsupported-by-target` (capability `deny-rules`) unless
 *   `denyWith: 'anp'`: then each becomes one AdminNetworkPolicy per `from` group with one
 *   `Deny` egress rule to the `to` peers (pods, and `networks` for address blocks: a block
 *   with excepts as the CIDRs covering the rest, {@link blockCidrs}). A subject naming no
 *   namespace is limited to the compiled namespaces it covers ({@link subjectNamespaces}). ANP rules are
 *   evaluated before NetworkPolicy, so a Deny beats every allow. Priorities start at
 *   {@link DEFAULT_ANP_PRIORITY} (10) and go up by one per object in policy/rule order, so that
 *   cluster administrators keep 0–9 for their own higher-precedence policies; the set must fit
 *   below 1000. Deny rules whose source holds non-pod endpoints (CIDR ranges, externals,
 *   workloads that are not pods, `any`) would need ANP ingress `networks`, absent in v1alpha1:
 *   `compile/not-expressible`.
 *
 * Enforcement modes (DESIGN.md rule 5; the same for the cilium and calico targets, by
 * {@link PodGroupResolver.subjectsByMode}): each pod's mode comes from the Enforcement entries.
 * `observe` pods are not isolated: no default deny and no policy selects them as its subject
 * (they stay peers of other pods' policies). A namespace whose compiled pods are all in one mode
 * is handled whole (`bulkhead-default-deny` with an empty podSelector, or nothing when
 * `observe`); in a namespace with pods in several modes, the default deny and each rule's
 * subjects name the pods that are not `observe` by their labels, one object per label set
 * (`compile/not-expressible` when such a selector would also take a pod of another mode). A deny
 * rule from `observe` pods becomes an AdminNetworkPolicy limited to the enforced pods of its `to`
 * side (the stronger mode of the two ends applies). NetworkPolicy has no monitor mode: a pod in
 * `monitor` is `compile/unsupported-by-target` (capability `monitor-mode`); the modes of
 * workloads that are not pods do not matter here.
 *
 * Pods are the workloads with a `namespace` label (set by the Kubernetes inventory source), else
 * all workloads when `defaultNamespace` is given; nothing is installed for the others
 * (`compile/not-a-pod`). Pod labels in the cluster are the workload's labels without `namespace`
 * and without those from label rules (`labelOrigins`). Every object carries
 * labels `bulkhead.dev/policy` and `bulkhead.dev/rule` (sanitised to label values) and the exact
 * names in annotation `bulkhead.dev/rule-ref`.
 * @remarks Semantics: DESIGN.md "Policy language v1"; Kubernetes NetworkPolicy reference
 * (https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/);
 * AdminNetworkPolicy API (https://network-policy-api.sigs.k8s.io/reference/spec/).
 */
import {
  AddressRangeSet,
  addressesLeft,
  BulkheadError,
  checkKubernetesLabelKey,
  checkKubernetesLabelValue,
  checkKubernetesNamespace,
  cidrCovers,
  cidrContains,
  familyBits,
  formatIp,
  formatRuleRef,
  formatService,
  hostCidr,
  parseCidr,
  parseIp,
  rangeToCidrs,
  selectorKey,
  type Cidr,
  type Diagnostic,
  type External,
  type EnforcementMode,
  type Inventory,
  type IpAddress,
  type LabelExpression,
  type LabelSet,
  type Policy,
  type PolicySet,
  type Rule,
  type Selector,
  ServiceSet,
  type Service,
  type Workload,
  SelectorMembers,
  type WorkloadSelector,
} from '../../core/index.js'
import { addressHoldsAt, isLive } from '../../policy/evaluate.js'
import { PolicyIndex } from '../../policy/policy-index.js'
import { portZeroWarnings, writtenFromPort1 } from '../port-zero.js'
import {
  assertExpressible,
  planCompiler,
  type CompileOptions,
  type CompileResult,
  type Compiler,
  type TargetName,
} from '../target.js'
import { calicoEndpointKey } from '../calico/endpoint-labels.js'
import {
  ciliumEndpointKey,
  ciliumIdentityKey,
  ciliumLabelFilter,
  type CiliumLabelFilter,
} from '../cilium/identity-labels.js'
import { hostMode } from '../nftables/compile.js'
import { KUBERNETES_ANP_CAPABILITIES, KUBERNETES_CAPABILITIES } from './capabilities.js'
import { renderArtefacts } from './render.js'

/**
 * Options of every Kubernetes-style target (kubernetes, cilium, calico): the common ones, and
 * the namespace of workloads that have none.
 */
export interface PodTargetOptions extends CompileOptions {
  /**
   * Namespace of workloads without a `namespace` label (inventories not read from Kubernetes).
   * Default: none, and such workloads are left out with `compile/not-a-pod`.
   */
  readonly defaultNamespace?: string
}

/** Options of the kubernetes target (`bulkhead compile --target kubernetes`). */
export interface KubernetesOptions extends PodTargetOptions {
  /** `'anp'`: deny rules become AdminNetworkPolicy objects (`--deny-with anp`). Default: none. */
  readonly denyWith?: 'anp'
  /** Priority of the first AdminNetworkPolicy (0–1000). Default {@link DEFAULT_ANP_PRIORITY}. */
  readonly anpPriority?: number
}

/** Priority of the first AdminNetworkPolicy: 0–9 stay free for the cluster administrators. */
export const DEFAULT_ANP_PRIORITY = 10
/** Highest ANP priority the v1alpha1 API accepts. */
export const MAX_ANP_PRIORITY = 1000
/** Most CIDRs one AdminNetworkPolicy `networks` peer takes (the v1alpha1 CRD's `maxItems`). */
export const ANP_NETWORKS_MAX = 25
/** Most peers one AdminNetworkPolicy rule's `to` takes (the v1alpha1 CRD's `maxItems`). */
export const ANP_PEERS_MAX = 100
/**
 * Most ports one AdminNetworkPolicy rule takes (the v1alpha1 CRD's `maxItems`); a deny rule with
 * more becomes several egress rules of one object, each with the same peers.
 */
export const ANP_PORTS_MAX = 100
/**
 * Most egress (or ingress) rules one AdminNetworkPolicy takes (the v1alpha1 CRD's `maxItems` of
 * `spec.egress`): with {@link ANP_PORTS_MAX}, a deny rule takes at most 10 000 ports and port
 * ranges; more is `compile/not-expressible`.
 */
export const ANP_RULES_MAX = 100
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
  /**
   * Addresses outside the side's `cidr` selectors held by pods its groups take for them (see
   * {@link PodGroupResolver.checkStrays}).
   */
  readonly strays: readonly { pod: CompiledPod; ip: IpAddress }[]
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

/**
 * The namespace selector of a group as a subject: `g.ns`, plus `kubernetes.io/metadata.name In`
 * the compiled namespaces the group covers when it pins none, so that a cluster-scoped subject
 * takes no pod of a namespace the inventory does not hold (kube-system, say), as the cilium and
 * calico subjects do (s13/hR D3).
 */
export function subjectNamespaces(g: PodGroup): K8sLabelSelector {
  if (g.ns.matchLabels?.[NAMESPACE_NAME_LABEL] !== undefined) return g.ns
  return {
    ...g.ns,
    matchExpressions: [
      ...(g.ns.matchExpressions ?? []),
      { key: NAMESPACE_NAME_LABEL, operator: 'In', values: [...g.namespaces].sort() },
    ],
  }
}

/** The pods of one namespace that `pods` selects, as a {@link PodGroup}. */
export function pinnedGroup(ns: string, pods: K8sLabelSelector = {}): PodGroup {
  return { ns: { matchLabels: { [NAMESPACE_NAME_LABEL]: ns } }, namespaces: [ns], pods }
}

/**
 * A namer of objects: each call returns `base` (cut to 240 characters, without the `-` a cut may
 * leave at its end: a name ends alphanumeric, as DNS-1123 subdomains do) the first time it is
 * given in namespace `ns` (`''` for cluster-scoped objects), then `base-2`, `base-3`, … so that
 * names stay unique per namespace.
 */
export function objectNamer(): (ns: string, base: string) => string {
  const used = new Set<string>()
  // per namespace and stem, the first candidate not yet known to be taken (1: the stem itself,
  // i ≥ 2: `stem-i`); names are only ever added, so the ones before it stay taken and a stem
  // given k times costs k probes in all rather than k²/2
  const next = new Map<string, number>()
  return (ns, base) => {
    const stem = base.slice(0, 240).replace(/-+$/, '') || 'x'
    const key = `${ns}/${stem}`
    const candidate = (i: number): string => (i === 1 ? stem : `${stem}-${i}`)
    let i = next.get(key) ?? 1
    while (used.has(`${ns}/${candidate(i)}`)) i++
    const name = candidate(i)
    used.add(`${ns}/${name}`)
    next.set(key, i + 1)
    return name
  }
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

/**
 * The namespace of `w` when it is a Kubernetes pod to the compilers: its `namespace` label, which
 * the Kubernetes inventory source sets on every pod (`namespace/name[Kind]` workloads), else
 * `defaultNamespace` (`KubernetesOptions.defaultNamespace`: every workload is a pod); undefined
 * when `w` is not a pod (a VM or host from a YAML, CSV or AWS inventory). The kubernetes, cilium
 * and calico targets install policy for pods only; `compile --target nftables|iptables` leaves
 * them out unless named with `--host` (they have no host of their own to load a ruleset on).
 */
export function podNamespace(w: Workload, defaultNamespace?: string): string | undefined {
  return w.labels['namespace'] ?? defaultNamespace
}

/**
 * Why `target`'s selectors do not read the pod label `key` as the pod carries it: the target sets
 * that label on endpoints itself, overwrites it, drops it or adds labels under its prefix
 * (calico: {@link calicoEndpointKey}; cilium: {@link ciliumEndpointKey}); undefined when they do,
 * and always on `kubernetes` (the API server sets `kubernetes.io/metadata.name` on namespaces, not
 * on pods, and changes no pod label).
 */
export function targetEndpointKey(target: TargetName, key: string): string | undefined {
  if (target === 'calico') return calicoEndpointKey(key)
  if (target === 'cilium') return ciliumEndpointKey(key)
  return undefined
}

/**
 * The labels a workload's pod carries in the cluster, as the target's selectors read them: its
 * labels without `namespace`, without those a label rule gave it (`labelOrigins`
 * `label-rule:N`), which only the inventory knows, and without the keys the target sets or
 * drops itself ({@link targetEndpointKey}); for `cilium`, also without the keys its label filter
 * leaves out of endpoint identities ({@link ciliumIdentityKey}), which its selectors cannot see.
 */
function clusterLabels(
  w: Workload,
  target: TargetName,
  identity: CiliumLabelFilter | undefined,
): LabelSet {
  const out: Record<string, string> = {}
  for (const k of Object.keys(w.labels)) {
    if (k === 'namespace' || w.labelOrigins?.[k]?.startsWith('label-rule:')) continue
    if (targetEndpointKey(target, k) !== undefined) continue
    // Cilium selectors see identity labels only
    if (identity !== undefined && !ciliumIdentityKey(k, identity)) continue
    out[k] = w.labels[k] ?? ''
  }
  return out
}

/** A label set as text, whatever the order of its keys: equal sets, equal keys. */
function labelKey(labels: LabelSet): string {
  return JSON.stringify(
    Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]]),
  )
}

/** Addresses in order: IPv4 before IPv6, then by value. */
function compareIp(a: IpAddress, b: IpAddress): number {
  return a.family - b.family || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0)
}

/**
 * What a label or workload selector takes with its policy's scope, as the model matches it
 * ({@link PodGroupResolver} `selectorModel`): the addresses of the workloads that are not pods,
 * and the pods, both in inventory order.
 */
interface SelectorModel {
  readonly nonPodAddresses: readonly IpAddress[]
  readonly modelPods: readonly CompiledPod[]
  readonly modelSet: ReadonlySet<Workload>
}

/**
 * Resolves rule sides to pod groups and address blocks over the workloads of an inventory (see
 * the module comment); shared by the kubernetes, cilium and calico targets. Workloads that are not
 * pods get nothing installed and are matched by the addresses they hold at the compile instant.
 * Constructing it records `compile/not-a-pod` warnings in {@link PodGroupResolver.diagnostics},
 * and throws BulkheadError `compile/not-expressible` naming a pod whose namespace is no Kubernetes
 * namespace name ({@link checkKubernetesNamespace}).
 */
export class PodGroupResolver {
  readonly diagnostics: Diagnostic[] = []
  readonly pods: CompiledPod[] = []
  /** Workloads that are not pods: peers by address only. */
  readonly nonPods: Workload[] = []
  readonly namespaces: string[]
  private readonly at: number
  /** {@link externalExcept} per named external, computed on first use. */
  private readonly excepts = new Map<string, Cidr[]>()
  /** Built on first need by {@link checkStrays}. */
  private index: PolicyIndex | undefined
  /** Each compiled pod's mode, once {@link readModes} has run (until then: `enforce`). */
  private readonly modeOfPod = new Map<CompiledPod, EnforcementMode>()
  /** Each compiled pod's position in {@link pods} (inventory order). */
  private readonly podOrder = new Map<CompiledPod, number>()
  /** Each compiled pod by its workload. */
  private readonly podOfWorkload = new Map<Workload, CompiledPod>()
  /**
   * Per namespace, its compiled pods grouped by cluster labels, in the order of each label set's
   * first pod (each group's pods in inventory order): what a pod selector takes in a namespace is
   * decided once per label set, not once per pod.
   */
  private readonly labelClasses = new Map<string, { labels: LabelSet; pods: CompiledPod[] }[]>()
  /** {@link labelClasses} by namespace and {@link labelKey}, while they are built. */
  private readonly labelClassOf = new Map<string, { labels: LabelSet; pods: CompiledPod[] }>()
  /**
   * Per namespace, its pods' (cluster labels, mode) pairs in the order of each pair's first pod,
   * with that pod; built on first use after {@link readModes}.
   */
  private readonly modeClasses = new Map<
    string,
    { labels: LabelSet; mode: EnforcementMode; first: CompiledPod }[]
  >()
  /** Per namespace, the modes of its compiled pods; built on first use after {@link readModes}. */
  private readonly modesOfNs = new Map<string, Set<EnforcementMode>>()
  /** The namespaces of {@link namespaces}, for lookups. */
  private readonly namespaceSet: ReadonlySet<string>
  /** The workloads (inventory order) a label or workload selector takes. */
  private readonly members: SelectorMembers
  /** {@link liveAddresses} per workload. */
  private readonly live = new Map<Workload, IpAddress[]>()
  /** Every live address of a compiled pod, by family and value ({@link podsWithin}). */
  private podAddresses: { ip: IpAddress; pod: CompiledPod }[] | undefined
  /** What a label or workload selector (with its scope) takes ({@link selectorModel}). */
  private readonly models = new Map<string, SelectorModel>()
  /** The cilium target's label filter; undefined for the other targets. */
  private readonly identity: CiliumLabelFilter | undefined
  /** {@link firstOtherMode} per namespace, narrowed pod selector and mode. */
  private readonly otherModes = new Map<string, CompiledPod | undefined>()

  constructor(
    readonly inventory: Inventory,
    readonly options: PodTargetOptions,
    /** The target named in `compile/not-expressible` errors. */
    readonly target: TargetName = 'kubernetes',
    /**
     * The cilium target's label filter (which pod labels are identity labels); default Cilium's
     * default filter. Ignored by the other targets.
     */
    identityFilter?: CiliumLabelFilter,
  ) {
    this.identity = target === 'cilium' ? (identityFilter ?? ciliumLabelFilter()) : undefined
    this.at = options.now.getTime()
    for (const w of inventory.workloads) {
      const ns = podNamespace(w, options.defaultNamespace)
      if (ns === undefined) {
        this.nonPods.push(w)
        this.diagnostics.push({
          code: 'compile/not-a-pod',
          severity: 'warning',
          message: `workload "${w.name}" is not a Kubernetes pod (no namespace label): nothing is installed for it, and rules match it by its addresses`,
          ...(w.location ? { location: w.location } : {}),
        })
        continue
      }
      const badNs = checkKubernetesNamespace(ns)
      if (badNs !== undefined)
        throw new BulkheadError([
          {
            code: 'compile/not-expressible',
            severity: 'error',
            message: `pod "${w.name}": its namespace ${badNs}; target ${target} cannot express it`,
            ...(w.location ? { location: w.location } : {}),
          },
        ])
      const pod = { workload: w, namespace: ns, labels: clusterLabels(w, target, this.identity) }
      this.podOrder.set(pod, this.pods.length)
      this.podOfWorkload.set(w, pod)
      this.pods.push(pod)
      const classKey = `${ns}\u0000${labelKey(pod.labels)}`
      const same = this.labelClassOf.get(classKey)
      if (same) same.pods.push(pod)
      else {
        const c = { labels: pod.labels, pods: [pod] }
        this.labelClassOf.set(classKey, c)
        const classes = this.labelClasses.get(ns)
        if (classes) classes.push(c)
        else this.labelClasses.set(ns, [c])
      }
    }
    this.members = new SelectorMembers(inventory.workloads)
    this.namespaces = [...new Set(this.pods.map((p) => p.namespace))].sort()
    this.namespaceSet = new Set(this.namespaces)
  }

  /**
   * Reads each compiled pod's enforcement mode from the policy set's Enforcement entries (first
   * match, unmatched `observe`; DESIGN.md rule 5): the workload's one mode, the strongest mode of
   * the addresses it holds at `now` (`workloadEnforcement`, as the model and the host targets
   * take it); a pod whose addresses are in different
   * modes gets a `compile/mixed-mode` warning. Call before {@link subjectsByMode}.
   */
  readModes(policySet: PolicySet): void {
    for (const p of this.pods) {
      const { mode, mixed } = hostMode(policySet, p.workload, this.at)
      if (mixed) this.diagnostics.push(mixed)
      this.modeOfPod.set(p, mode)
    }
    this.modeClasses.clear()
    this.modesOfNs.clear()
  }

  /** A compiled pod's enforcement mode ({@link readModes}). */
  modeOf(p: CompiledPod): EnforcementMode {
    return this.modeOfPod.get(p) ?? 'enforce'
  }

  /** The modes of the compiled pods in the given namespaces (default: all). */
  modes(namespaces: readonly string[] = this.namespaces): Set<EnforcementMode> {
    const out = new Set<EnforcementMode>()
    for (const ns of new Set(namespaces)) for (const m of this.nsModes(ns)) out.add(m)
    return out
  }

  /** The modes of the compiled pods of one namespace (cached: do not change it). */
  private nsModes(ns: string): ReadonlySet<EnforcementMode> {
    let known = this.modesOfNs.get(ns)
    if (known === undefined) {
      known = new Set()
      for (const c of this.labelClasses.get(ns) ?? [])
        for (const p of c.pods) known.add(this.modeOf(p))
      this.modesOfNs.set(ns, known)
    }
    return known
  }

  /** {@link modeClasses} of one namespace. */
  private nsModeClasses(
    ns: string,
  ): readonly { labels: LabelSet; mode: EnforcementMode; first: CompiledPod }[] {
    let known = this.modeClasses.get(ns)
    if (known === undefined) {
      const pods = (this.labelClasses.get(ns) ?? [])
        .flatMap((c) => c.pods)
        .sort((a, b) => this.order(a) - this.order(b))
      const seen = new Set<string>()
      known = []
      for (const p of pods) {
        const mode = this.modeOf(p)
        const key = `${mode}\u0000${labelKey(p.labels)}`
        if (seen.has(key)) continue
        seen.add(key)
        known.push({ labels: p.labels, mode, first: p })
      }
      this.modeClasses.set(ns, known)
    }
    return known
  }

  private order(p: CompiledPod): number {
    return this.podOrder.get(p) ?? -1
  }

  /**
   * A subject group (the pods a policy object applies to and isolates) split by enforcement
   * mode, without the `observe` parts (observe installs nothing, DESIGN.md rule 5):
   *
   * - when every namespace the group covers has its compiled pods all in one mode, and that mode
   *   is the same for all of them, the group itself in that mode (pods of those namespaces that
   *   the inventory does not know are taken as the namespace's mode);
   * - else, per namespace: a namespace whose compiled pods are all in one mode gives the group
   *   pinned to it, in that mode; a namespace with pods in several modes gives, per compiled pod
   *   of the group that is not `observe`, the group narrowed to that pod's namespace and labels,
   *   in its mode (pods the inventory does not know, there, are left unisolated).
   *
   * Call {@link readModes} first. Pass the rule for a rule's subject; none for a namespace's
   * default deny (`group` = the namespace, every pod). `keepObserve` keeps the `observe` parts
   * too (the kubernetes target's AdminNetworkPolicy denies from observe pods to enforced ones).
   * @throws BulkheadError `compile/not-expressible` when a narrowed group also takes a compiled
   *   pod of another mode (same namespace, a superset of the labels).
   */
  subjectsByMode(
    group: PodGroup,
    at?: { policy: Policy; rule: Rule },
    keepObserve = false,
  ): { mode: EnforcementMode; group: PodGroup }[] {
    const nsModes = group.namespaces.map((ns) => this.nsModes(ns))
    const first = nsModes[0]
    if (
      first?.size === 1 &&
      nsModes.every((m) => m.size === 1 && m.has([...first][0] ?? 'observe'))
    ) {
      const mode = [...first][0] ?? 'observe'
      return mode === 'observe' && !keepObserve ? [] : [{ mode, group }]
    }
    const out: { mode: EnforcementMode; group: PodGroup }[] = []
    for (const ns of group.namespaces) {
      const pinned = pinnedGroup(ns, group.pods)
      const modes = this.nsModes(ns)
      if (modes.size === 1) {
        const mode = [...modes][0] ?? 'observe'
        if (mode !== 'observe' || keepObserve) out.push({ mode, group: pinned })
        continue
      }
      const byIdentity = new Map<string, { mode: EnforcementMode; group: PodGroup }>()
      // once per (labels, mode) of the namespace's pods, in the order of their first pods: every
      // pod of one pair gives the same narrowed group and the same answer, and the first pod of
      // the first pair that fails is the first pod that fails
      for (const { labels, mode, first: p } of this.nsModeClasses(ns)) {
        if (!selects(pinned.pods, labels)) continue
        if (mode === 'observe' && !keepObserve) continue
        const narrowed: PodGroup = {
          ...pinned,
          pods: {
            ...sel({ ...(group.pods.matchLabels ?? {}), ...p.labels }, []),
            ...(group.pods.matchExpressions
              ? { matchExpressions: group.pods.matchExpressions }
              : {}),
          },
        }
        const other = this.firstOtherMode(narrowed, mode)
        if (other !== undefined) {
          const why = `pods ${p.workload.name} (${mode}) and ${other.workload.name} (${this.modeOf(other)}) of namespace ${ns} need different enforcement modes, and no label selector takes the first without the second`
          if (at) this.fail(at.policy, at.rule, why)
          throw new BulkheadError([
            {
              code: 'compile/not-expressible',
              severity: 'error',
              message: `${why}, so the default deny of namespace ${ns} cannot be expressed`,
              ...(p.workload.location ? { location: p.workload.location } : {}),
            },
          ])
        }
        byIdentity.set(JSON.stringify([mode, narrowed.pods]), { mode, group: narrowed })
      }
      for (const g of byIdentity.values()) out.push(g)
    }
    return out
  }

  /**
   * The first pod (inventory order) of a one-namespace group `g` whose mode is not `mode`, or
   * undefined; once per namespace, pod selector and mode.
   */
  private firstOtherMode(g: PodGroup, mode: EnforcementMode): CompiledPod | undefined {
    const key = JSON.stringify([g.namespaces, g.pods, mode])
    if (this.otherModes.has(key)) return this.otherModes.get(key)
    let found: CompiledPod | undefined
    for (const ns of g.namespaces)
      for (const c of this.nsModeClasses(ns))
        if (
          c.mode !== mode &&
          selects(g.pods, c.labels) &&
          (found === undefined || this.order(c.first) < this.order(found))
        )
          found = c.first
    this.otherModes.set(key, found)
    return found
  }

  private nsNamesOf(ns: K8sLabelSelector): string[] {
    // a selector of `matchLabels` alone (the usual case) takes one namespace by its name label,
    // or every namespace when empty, and nothing when it asks for another label
    if (ns.matchExpressions === undefined) {
      const keys = Object.keys(ns.matchLabels ?? {})
      if (keys.length === 0) return [...this.namespaces]
      const name = ns.matchLabels?.[NAMESPACE_NAME_LABEL]
      if (keys.length === 1 && name !== undefined) return this.namespaceSet.has(name) ? [name] : []
      return []
    }
    return this.namespaces.filter((n) => selects(ns, { [NAMESPACE_NAME_LABEL]: n }))
  }

  /** Pods a group takes in the cluster, in inventory order. */
  private podsOf(g: PodGroup): CompiledPod[] {
    const out: CompiledPod[] = []
    let classes = 0
    for (const ns of new Set(g.namespaces))
      for (const c of this.labelClasses.get(ns) ?? [])
        if (selects(g.pods, c.labels)) {
          out.push(...c.pods)
          classes++
        }
    return classes > 1 ? out.sort((a, b) => this.order(a) - this.order(b)) : out
  }

  /** The addresses a workload holds at the compile instant (cached: do not change the list). */
  private liveAddresses(w: Workload): IpAddress[] {
    let known = this.live.get(w)
    if (known === undefined) {
      known = w.addresses.flatMap((a) => {
        const ip = addressHoldsAt(a, this.at) ? parseIp(a.ip) : undefined
        return ip ? [ip] : []
      })
      this.live.set(w, known)
    }
    return known
  }

  /**
   * The compiled pods holding an address in `cidr` less its `except` blocks, in inventory order:
   * a binary search per range of that set into every pod address sorted by family and value, so
   * the cost follows the pods inside rather than every pod (`0.0.0.0/0` except `10.0.0.0/8`
   * skips the pods of 10.0.0.0/8 whole).
   */
  private podsWithin(cidr: Cidr, except: readonly Cidr[]): CompiledPod[] {
    const all = (this.podAddresses ??= this.pods
      .flatMap((pod) => this.liveAddresses(pod.workload).map((ip) => ({ ip, pod })))
      .sort((a, b) => compareIp(a.ip, b.ip)))
    const family = cidr.family
    const inside = new Set<CompiledPod>()
    const ranges = AddressRangeSet.fromCidrs(family, [cidr]).minus(
      AddressRangeSet.fromCidrs(family, except),
    ).ranges
    for (const { lo: first, hi: last } of ranges) {
      let lo = 0
      let hi = all.length
      while (lo < hi) {
        const mid = (lo + hi) >> 1
        const e = all[mid] as { ip: IpAddress }
        if (compareIp(e.ip, { family, value: first }) < 0) lo = mid + 1
        else hi = mid
      }
      for (let k = lo; k < all.length; k++) {
        const { ip, pod } = all[k] as { ip: IpAddress; pod: CompiledPod }
        if (ip.family !== family || ip.value > last) break
        inside.add(pod)
      }
    }
    return [...inside].sort((a, b) => this.order(a) - this.order(b))
  }

  /**
   * What a label or workload selector takes with its policy's scope (see {@link workloadSide}),
   * computed once per selector and scope ({@link SelectorMembers}).
   */
  private selectorModel(policy: Policy, s: WorkloadSelector): SelectorModel {
    const key = JSON.stringify([selectorKey(s), s.global ? {} : policy.scope])
    const known = this.models.get(key)
    if (known) return known
    const model = this.members.of(s, policy.scope)
    const modelSet = new Set(model)
    const out: SelectorModel = {
      nonPodAddresses: model
        .filter((w) => !this.podOfWorkload.has(w))
        .flatMap((w) => this.liveAddresses(w)),
      modelPods: model.flatMap((w) => {
        const p = this.podOfWorkload.get(w)
        return p ? [p] : []
      }),
      modelSet,
    }
    this.models.set(key, out)
    return out
  }

  /**
   * Whether `rule` is compiled: false for a rule expired at the compile instant (rule 4; a
   * `compile/expired-rule` warning is added to {@link diagnostics}).
   * @throws BulkheadError `compile/not-expressible` for a TCP/UDP/SCTP service of port 0 alone:
   *   NetworkPolicy and Calico (v3 `validatePort`) take ports 1–65535, Cilium's `port: "0"` is
   *   every port, and an empty port list would mean every port (s13/hR D9); also for IP protocol 0 (`proto/0`), which Calico's `protocol`
   *   (a name or 1–255) cannot write and NetworkPolicy and Cilium (names only) refuse earlier as
   *   `other-protocols` (s13/hR D10).
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
      if (s.protocol === 0)
        this.fail(
          policy,
          rule,
          `proto/0 names IP protocol 0, which has no form (protocols are 1–255)`,
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
        message: `rule ${formatRuleRef({ policy: policy.name, id: rule.id })}: ${why}; target ${this.target} cannot express it`,
        ...(rule.location
          ? { location: rule.location }
          : policy.location
            ? { location: policy.location }
            : {}),
      },
    ])
  }

  /** Groups standing for exactly the given pods, one per pod identity; fails when a group takes more. */
  private exactGroups(
    policy: Policy,
    rule: Rule,
    pods: readonly CompiledPod[],
    what: string,
  ): PodGroup[] {
    const out = new Map<string, PodGroup>()
    const given = new Set(pods)
    for (const p of pods) {
      const key = JSON.stringify([p.namespace, p.labels])
      // a pod of a namespace and label set already seen gives the same group and answer
      if (out.has(key)) continue
      const g = pinnedGroup(p.namespace, sel({ ...p.labels }, []))
      const extra = this.podsOf(g).filter((q) => !given.has(q))
      if (extra.length > 0)
        this.fail(
          policy,
          rule,
          `${what} takes pod ${p.workload.name} but not ${extra[0]?.workload.name ?? ''}, which has the same namespace and labels in the cluster`,
        )
      out.set(key, g)
    }
    return [...out.values()]
  }

  /**
   * The pod group of a label selector (scope ANDed in unless global), or undefined when the
   * selector contradicts the scope or requires that `namespace` be absent (no pod matches).
   */
  private labelGroup(
    policy: Policy,
    s: Extract<Selector, { kind: 'labels' }>,
  ): PodGroup | undefined {
    const match: Record<string, string> = { ...s.match }
    if (!s.global) {
      for (const [k, v] of Object.entries(policy.scope)) {
        if (match[k] !== undefined && match[k] !== v) return undefined
        match[k] = v
      }
    }
    const nsExprs: LabelExpression[] = []
    const podExprs: LabelExpression[] = []
    for (const e of s.expressions) {
      if (e.key !== 'namespace') podExprs.push(e)
      else if (e.operator === 'DoesNotExist') return undefined
      else if (e.operator !== 'Exists') nsExprs.push({ ...e, key: NAMESPACE_NAME_LABEL })
    }
    const nsMatch: Record<string, string> = {}
    if (match['namespace'] !== undefined) nsMatch[NAMESPACE_NAME_LABEL] = match['namespace']
    delete match['namespace']
    const ns = sel(nsMatch, nsExprs)
    return { ns, namespaces: this.nsNamesOf(ns), pods: sel(match, podExprs) }
  }

  /**
   * True when the target cannot match a pod with `g`'s pod selector however the pods are
   * labelled: on `cilium`, a label it requires (`matchLabels`, `In`, `Exists`) has a key Cilium
   * leaves out of endpoint identities ({@link ciliumIdentityKey}).
   */
  private seesNoPod(g: PodGroup): boolean {
    const identity = this.identity
    if (identity === undefined) return false
    const required = [
      ...Object.keys(g.pods.matchLabels ?? {}),
      ...(g.pods.matchExpressions ?? [])
        .filter((e) => e.operator === 'In' || e.operator === 'Exists')
        .map((e) => e.key),
    ]
    return required.some((k) => !ciliumIdentityKey(k, identity))
  }

  /**
   * True when `g`'s pod selector names a key the target sets or drops on endpoints itself
   * ({@link targetEndpointKey}), whatever the operator: on the target it would read the target's
   * value (the namespace, `k8s`, a service account, namespace labels), not the pod's label.
   */
  private readsTargetLabel(g: PodGroup): boolean {
    return [
      ...Object.keys(g.pods.matchLabels ?? {}),
      ...(g.pods.matchExpressions ?? []).map((e) => e.key),
    ].some((k) => targetEndpointKey(this.target, k) !== undefined)
  }

  /**
   * The pod groups and host addresses of a label or workload selector: the workloads the model
   * matches (DESIGN.md rule 2, over the inventory's labels), pods as groups and the others by
   * address. A label selector stays a selector (it also takes pods created later); pods it
   * misses in the cluster (labels from label rules are not on the pod) are added one identity
   * at a time.
   * @throws BulkheadError `compile/not-expressible` when the selector would take a pod in the
   * cluster that the model does not match, or an added group would take more pods.
   */
  private workloadSide(
    policy: Policy,
    rule: Rule,
    s: Extract<Selector, { kind: 'labels' | 'workload' }>,
    out: { groups: PodGroup[]; blocks: { cidr: Cidr; except: Cidr[] }[] },
  ): void {
    const { nonPodAddresses, modelPods, modelSet: model } = this.selectorModel(policy, s)
    for (const ip of nonPodAddresses) out.blocks.push({ cidr: hostCidr(ip), except: [] })
    const what = `selector "${selectorKey(s)}"`
    let missing = modelPods
    // no group for a selector no pod can match in the cluster (`namespace DoesNotExist`); pods
    // the model matches all the same (a namespace from the defaultNamespace option) go one by one
    const labelGroup = s.kind === 'labels' ? this.labelGroup(policy, s) : undefined
    // nor for one the target would read otherwise (a key it sets or drops itself): the pods the
    // model matches go one by one, by the labels the target reads
    const g =
      labelGroup && (this.seesNoPod(labelGroup) || this.readsTargetLabel(labelGroup))
        ? undefined
        : labelGroup
    if (g !== undefined) {
      out.groups.push(g)
      const cluster = this.podsOf(g)
      const extra = cluster.find((p) => !model.has(p.workload))
      if (extra !== undefined)
        this.fail(
          policy,
          rule,
          `${what} takes pod ${extra.workload.name} in the cluster but not in the inventory, where its labels differ (labels from label rules${this.target === 'cilium' ? ', labels Cilium leaves out of endpoint identities' : ''}, or a namespace from the defaultNamespace option)`,
        )
      const inCluster = new Set(cluster)
      missing = modelPods.filter((p) => !inCluster.has(p))
    }
    out.groups.push(...this.exactGroups(policy, rule, missing, what))
  }

  /**
   * The pods, ranges and `all` a rule side stands for.
   * @throws BulkheadError `compile/not-expressible` when a pod group would take other pods, or
   * a pod inside a `cidr` selector also holds addresses outside it.
   */
  side(policy: Policy, rule: Rule, selectors: readonly Selector[]): Side {
    const out = {
      groups: [] as PodGroup[],
      blocks: [] as { cidr: Cidr; except: Cidr[] }[],
      strays: [] as { pod: CompiledPod; ip: IpAddress }[],
    }
    let all = false
    for (const s of selectors) {
      switch (s.kind) {
        case 'any':
          all = true
          break
        case 'labels':
        case 'workload':
          this.workloadSide(policy, rule, s, out)
          break
        case 'cidr': {
          out.blocks.push({ cidr: s.cidr, except: [...s.except] })
          const within = (ip: IpAddress): boolean =>
            cidrContains(s.cidr, ip) && !s.except.some((e) => cidrContains(e, ip))
          const inside = this.podsWithin(s.cidr, s.except)
          for (const p of inside)
            for (const ip of this.liveAddresses(p.workload))
              if (!within(ip)) out.strays.push({ pod: p, ip })
          if (inside.length > 0)
            out.groups.push(
              ...this.exactGroups(policy, rule, inside, `selector "cidr ${s.cidr.text}"`),
            )
          break
        }
        case 'external': {
          const x = this.inventory.externals.find((e) => e.name === s.name)
          if (x) out.blocks.push({ cidr: x.cidr, except: this.externalExcept(x) })
          break
        }
      }
    }
    for (const g of out.groups) {
      for (const selector of [g.ns, g.pods]) {
        const problem = invalidLabels(selector)
        if (problem !== undefined) this.fail(policy, rule, `its pods are selected by ${problem}`)
      }
    }
    const seen = new Set<string>()
    const blocks = out.blocks.filter((b) => {
      const key = [b.cidr.text, ...b.except.map((e) => e.text)].join(' ')
      return !seen.has(key) && (seen.add(key), true)
    })
    return { groups: out.groups, blocks, all, strays: out.strays }
  }

  /**
   * Checks what the pod groups standing for pods inside `cidr` selectors take beyond the block:
   * the pods' other addresses (a dual-stack pod inside an IPv4 block is selected on IPv6 too).
   * That is harmless only where the model decides that traffic as the rule does: every service
   * of an allow rule already allowed, none of a deny rule's, between the stray address and each
   * address of its family on the rule's other side (s13/hR D6).
   * @throws BulkheadError `compile/not-expressible` naming the pod and address otherwise, or when
   * the other side holds address ranges or `any` of that family.
   */
  checkStrays(policySet: PolicySet, policy: Policy, rule: Rule, from: Side, to: Side): void {
    const services = ServiceSet.of(rule.services)
    for (const [side, other] of [
      [from, to],
      [to, from],
    ] as const) {
      for (const { pod, ip } of side.strays) {
        const why = `pod ${pod.workload.name} lies in a cidr selector of the rule but also holds ${formatIp(ip)}, which its pod selector takes too`
        const ranges = other.blocks.filter(
          (b) =>
            b.cidr.family === ip.family &&
            (b.cidr.prefix < familyBits(b.cidr.family) || b.except.length > 0),
        )
        if (other.all || ranges.length > 0) this.fail(policy, rule, why)
        const peers = [
          ...other.groups
            .flatMap((g) => this.podsOf(g))
            .flatMap((p) => this.liveAddresses(p.workload)),
          ...other.blocks.map((b) => ({ family: b.cidr.family, value: b.cidr.base })),
        ].filter((a) => a.family === ip.family)
        this.index ??= PolicyIndex.build(this.inventory, policySet, this.at)
        for (const peer of peers) {
          const [src, dst] = side === from ? [ip, peer] : [peer, ip]
          const allowed = this.index.allowedServices(formatIp(src), formatIp(dst), this.at)
          const decidedAlike =
            rule.action === 'allow'
              ? services.subtract(allowed).isEmpty
              : services.intersect(allowed).isEmpty
          if (!decidedAlike)
            this.fail(
              policy,
              rule,
              `${why}, and the model decides ${formatIp(src)} -> ${formatIp(dst)} otherwise`,
            )
        }
      }
    }
  }

  /**
   * What a named external's block excepts: the more specific named externals inside it, and the
   * addresses workloads (pods or not) hold in it at the compile instant, which are theirs (an
   * address belongs to the workload holding it, else the narrowest named external: README
   * "Entities"), merged into the fewest blocks.
   */
  private externalExcept(x: External): Cidr[] {
    const known = this.excepts.get(x.name)
    if (known) return known
    const except = this.computeExternalExcept(x)
    this.excepts.set(x.name, except)
    return except
  }

  private computeExternalExcept(x: External): Cidr[] {
    const narrower = this.inventory.externals
      .filter(
        (o) => o.name !== x.name && cidrCovers(x.cidr, o.cidr) && o.cidr.prefix > x.cidr.prefix,
      )
      .map((o) => o.cidr)
    const held = [
      ...new Set(
        this.inventory.workloads
          .flatMap((w) => this.liveAddresses(w))
          .filter((ip) => cidrContains(x.cidr, ip) && !narrower.some((n) => cidrContains(n, ip)))
          .map((ip) => ip.value),
      ),
    ].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    const runs: { lo: bigint; hi: bigint }[] = []
    for (const v of held) {
      const last = runs[runs.length - 1]
      if (last && last.hi + 1n === v) last.hi = v
      else runs.push({ lo: v, hi: v })
    }
    const merged = runs
      .flatMap((r) => rangeToCidrs(x.cidr.family, r))
      .map((t) => parseCidr(t) as Cidr)
    return [...narrower, ...merged]
  }
}

/**
 * Why the API server would refuse a label selector's keys or values (Bulkhead label values are
 * looser than Kubernetes': AWS tags carry spaces; so are key prefixes: `a..b/role`), or
 * undefined when it would take them. No pod in a cluster carries such a label either.
 */
function invalidLabels(s: K8sLabelSelector): string | undefined {
  for (const k of [
    ...Object.keys(s.matchLabels ?? {}),
    ...(s.matchExpressions ?? []).map((e) => e.key),
  ]) {
    const problem = checkKubernetesLabelKey(k)
    if (problem !== undefined) return problem
  }
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

/**
 * The fewest CIDR blocks (as text, ascending) covering `block` without its `except` blocks, for
 * peers that take no except (AdminNetworkPolicy `networks`).
 */
export function blockCidrs(block: Cidr, except: readonly Cidr[]): string[] {
  if (except.length === 0) return [block.text]
  return addressesLeft(block, except).flatMap((p) =>
    rangeToCidrs(block.family, { lo: p.first, hi: p.last }),
  )
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
        hint: '--host takes a workload name as bulkhead inventory lists it',
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

/**
 * NetworkPolicy `ports` of a rule's services; undefined means every port and protocol.
 * A whole protocol (`tcp`, ports 0–65535) is `{protocol}` without `port`, which "matches all port
 * names and numbers" (NetworkPolicyPort), port 0 included; any other range is written with
 * `port` and `endPort`, which take 1–65535, so a range from 0 is written from 1 (port 0 is left
 * out: see `compile/port-zero-passes` for denies) and `tcp/1-65535` is `port: 1, endPort: 65535`,
 * not every port (before 2026-11-24 it was `{protocol}`, which let port 0 through).
 */
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
    if (s.ports.lo === 0 && hi === 65535) out.push({ protocol })
    else if (lo === hi) out.push({ protocol, port: lo })
    else out.push({ protocol, port: lo, endPort: hi })
  }
  return out
}

/** `list` cut into consecutive slices of at most `size` items. */
function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size))
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

/**
 * An address block as a NetworkPolicy `ipBlock`: `cidr`, and `except` when it has any (the
 * same shape as Cilium's `CIDRRule` in `fromCIDRSet`/`toCIDRSet`).
 * @see https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/#NetworkPolicySpec
 */
export function ipBlock(b: Side['blocks'][number]): { cidr: string; except?: string[] } {
  return {
    cidr: b.cidr.text,
    ...(b.except.length > 0 ? { except: b.except.map((e) => e.text) } : {}),
  }
}

function netpolPeers(g: Side): Record<string, unknown>[] {
  const peers: Record<string, unknown>[] = []
  for (const gr of g.groups) {
    if (gr.namespaces.length === 0) continue
    peers.push({ namespaceSelector: gr.ns, podSelector: gr.pods })
  }
  // a block one of whose excepts covers it matches nothing; the API server refuses an except
  // that is not strictly inside the cidr, so such a block is left out rather than written
  for (const b of g.blocks)
    if (!b.except.some((e) => cidrCovers(e, b.cidr))) peers.push({ ipBlock: ipBlock(b) })
  return peers
}

/**
 * Builds the NetworkPolicy (and AdminNetworkPolicy) objects of a policy set.
 * @throws UnsupportedByTargetError for a live rule needing a missing capability (deny rules
 * without `denyWith: 'anp'`, ICMP, other protocols), or a compiled pod in monitor mode.
 * @throws BulkheadError `compile/not-expressible` for a rule whose pods no selector can single
 * out, or a deny rule from non-pod endpoints; `compile/unknown-host` for an unknown host name.
 */
export function planKubernetes(
  inventory: Inventory,
  policySet: PolicySet,
  options: KubernetesOptions,
): KubernetesPlan {
  const anp = options.denyWith === 'anp'
  const planner = new PodGroupResolver(inventory, options)
  planner.readModes(policySet)
  let namespaces = planner.namespaces
  if (options.hosts !== undefined) {
    checkHosts(inventory, options.hosts)
    const hostNs = new Set(
      planner.pods.filter((p) => options.hosts?.includes(p.workload.name)).map((p) => p.namespace),
    )
    namespaces = namespaces.filter((n) => hostNs.has(n))
  }
  assertExpressible(
    'kubernetes',
    anp ? KUBERNETES_ANP_CAPABILITIES : KUBERNETES_CAPABILITIES,
    inventory,
    policySet,
    options.now,
    planner.modes(namespaces),
  )
  const direction = options.direction ?? 'both'
  const ingress = direction !== 'egress'
  const egress = direction !== 'ingress'
  const types = [...(ingress ? ['Ingress'] : []), ...(egress ? ['Egress'] : [])]
  const uniqueName = objectNamer()
  const compiled = new Set(namespaces)
  const byNs = new Map<string, K8sObject[]>()
  for (const ns of namespaces) {
    byNs.set(
      ns,
      planner.subjectsByMode(pinnedGroup(ns)).map((part) => ({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: objectMeta(uniqueName(ns, DEFAULT_DENY_NAME), 'bulkhead', 'default-deny', ns),
        spec: { podSelector: part.group.pods, policyTypes: types },
      })),
    )
  }
  const admin: K8sObject[] = []
  let priority = options.anpPriority ?? DEFAULT_ANP_PRIORITY
  /** The enforced pods of a side, per compiled namespace (observe pods are not isolated). */
  const subjectGroups = (
    s: Side,
    policy: Policy,
    rule: Rule,
  ): { ns: string; pods: K8sLabelSelector }[] => {
    const out: { ns: string; pods: K8sLabelSelector }[] = []
    if (s.all) for (const ns of namespaces) out.push({ ns, pods: {} })
    else
      for (const g of s.groups)
        for (const ns of g.namespaces) if (compiled.has(ns)) out.push({ ns, pods: g.pods })
    return out.flatMap(({ ns, pods }) =>
      planner
        .subjectsByMode(pinnedGroup(ns, pods), { policy, rule })
        .map((part) => ({ ns, pods: part.group.pods })),
    )
  }
  for (const policy of policySet.policies) {
    for (const rule of policy.rules) {
      if (!planner.compiles(policy, rule)) continue
      const from = planner.side(policy, rule, rule.from)
      const to = planner.side(policy, rule, rule.to)
      planner.checkStrays(policySet, policy, rule, from, to)
      const base = `bh-${dnsName(policy.name)}-${dnsName(rule.id)}`
      if (rule.action === 'deny') {
        if (from.all || from.blocks.length > 0)
          planner.fail(
            policy,
            rule,
            'a deny rule from CIDR ranges, named externals, workloads that are not pods or any would need AdminNetworkPolicy ingress networks (absent in v1alpha1)',
          )
        const toPeers: Record<string, unknown>[] = []
        if (to.all) toPeers.push({ namespaces: {} }, { networks: ['0.0.0.0/0', '::/0'] })
        else {
          for (const g of to.groups)
            if (g.namespaces.length > 0)
              toPeers.push({ pods: { namespaceSelector: g.ns, podSelector: g.pods } })
          // networks have no except: a block minus its excepts as the CIDRs that cover the rest
          const networks = to.blocks.flatMap((b) => blockCidrs(b.cidr, b.except))
          for (let i = 0; i < networks.length; i += ANP_NETWORKS_MAX)
            toPeers.push({ networks: networks.slice(i, i + ANP_NETWORKS_MAX) })
          if (toPeers.length > ANP_PEERS_MAX)
            planner.fail(
              policy,
              rule,
              `its destinations need ${toPeers.length} AdminNetworkPolicy peers, more than ${ANP_PEERS_MAX}`,
            )
        }
        // from observe pods, only flows to enforced pods are blocked (the stronger mode applies,
        // DESIGN.md rule 5): there the deny takes only the enforced parts of the `to` side
        const enforcedPeers: Record<string, unknown>[] = []
        for (const g of to.all ? [{ ns: {}, namespaces, pods: {} }] : to.groups)
          for (const part of planner.subjectsByMode(g, { policy, rule }))
            enforcedPeers.push({
              pods: { namespaceSelector: part.group.ns, podSelector: part.group.pods },
            })
        const ports = anpPorts(rule.services)
        // the ports of one object's rules: split over its egress rules, 100 to a rule, 100 rules
        if (ports && ports.length > ANP_PORTS_MAX * ANP_RULES_MAX)
          planner.fail(
            policy,
            rule,
            `its services are ${ports.length} ports and port ranges: ${Math.ceil(ports.length / ANP_PORTS_MAX)} AdminNetworkPolicy egress rules of at most ${ANP_PORTS_MAX} ports, more than the ${ANP_RULES_MAX} rules an AdminNetworkPolicy takes`,
          )
        for (const part of from.groups.flatMap((g) =>
          g.namespaces.length === 0 ? [] : planner.subjectsByMode(g, { policy, rule }, true),
        )) {
          const g = part.group
          const peers = part.mode === 'observe' ? enforcedPeers : toPeers
          if (peers.length === 0) continue
          if (priority > MAX_ANP_PRIORITY)
            planner.fail(policy, rule, `AdminNetworkPolicy priority would pass ${MAX_ANP_PRIORITY}`)
          admin.push({
            apiVersion: 'policy.networking.k8s.io/v1alpha1',
            kind: 'AdminNetworkPolicy',
            // unique among the cluster-scoped objects: two rule ids may give one DNS name
            metadata: objectMeta(uniqueName('', base), policy.name, rule.id),
            spec: {
              priority: priority++,
              subject: { pods: { namespaceSelector: subjectNamespaces(g), podSelector: g.pods } },
              egress: (ports ? chunks(ports, ANP_PORTS_MAX) : [undefined]).map((part) => ({
                name: labelValue(rule.id) || 'deny',
                action: 'Deny',
                to: peers,
                ...(part ? { ports: part } : {}),
              })),
            },
          })
        }
        continue
      }
      const ports = netpolPorts(rule.services)
      const rulePorts = ports ? { ports } : {}
      /**
       * The NetworkPolicies of one direction: per enforced subject group of `subjects`, one
       * policy of `type` whose single rule takes `peerSide` as its peers (none when that side
       * resolves to no peer at all) on the rule's ports.
       */
      const directional = (type: 'Ingress' | 'Egress', peerSide: Side, subjects: Side): void => {
        const peers = netpolPeers(peerSide)
        if (!peerSide.all && peers.length === 0) return
        const [field, peerField, suffix] =
          type === 'Ingress' ? ['ingress', 'from', 'in'] : ['egress', 'to', 'eg']
        for (const s of subjectGroups(subjects, policy, rule)) {
          byNs.get(s.ns)?.push({
            apiVersion: 'networking.k8s.io/v1',
            kind: 'NetworkPolicy',
            metadata: objectMeta(uniqueName(s.ns, `${base}-${suffix}`), policy.name, rule.id, s.ns),
            spec: {
              podSelector: s.pods,
              policyTypes: [type],
              [field]: [{ ...(peerSide.all ? {} : { [peerField]: peers }), ...rulePorts }],
            },
          })
        }
      }
      if (ingress) directional('Ingress', from, to)
      if (egress) directional('Egress', to, from)
    }
  }
  const ingressIsolated = ingress && [...byNs.values()].some((list) => list.length > 0)
  return {
    namespaces: byNs,
    adminPolicies: admin,
    pods: planner.pods,
    diagnostics: [
      ...planner.diagnostics,
      ...(ingressIsolated ? [{ ...KUBERNETES_NODE_ADDRESSES_WARNING }] : []),
      ...(anp && admin.length > 0
        ? portZeroWarnings(
            inventory,
            policySet,
            options.now.getTime(),
            (r) => writtenFromPort1(r.services, r.action === 'allow'),
            'kubernetes --deny-with anp',
            'AdminNetworkPolicy ports are 1–65535',
          )
        : []),
    ],
  }
}

/**
 * The `compile/node-addresses` warning of the kubernetes target, given when the objects isolate
 * some pod for ingress: NetworkPolicy lets a pod's own node reach it whatever the policies
 * (NetworkPolicySpec.ingress: "Traffic is allowed to a pod if there are no NetworkPolicies
 * selecting the pod ... OR if the traffic source is the pod's local node, OR if the traffic
 * matches at least one ingress rule"; the concept page: "traffic to and from the node where a Pod
 * is running is always allowed, regardless of the IP address of the Pod or the node"), so that
 * kubelet probes work. The model knows no node (a node address is an address no workload holds:
 * an external range), so it decides that traffic by the rules, and neither NetworkPolicy (no
 * deny) nor AdminNetworkPolicy (ingress peers are pods and namespaces only) can refuse it. Other
 * nodes' addresses are what the model takes them for: `ipBlock` peers take them ("you can allow
 * traffic from a hostNetwork Pod using an ipBlock rule").
 * @remarks https://kubernetes.io/docs/concepts/services-networking/network-policies/,
 * https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/,
 * kubernetes-sigs/network-policy-api#314.
 */
const KUBERNETES_NODE_ADDRESSES_WARNING: Diagnostic = {
  code: 'compile/node-addresses',
  severity: 'warning',
  message:
    "NetworkPolicy decides node addresses otherwise than the model: each pod's own node reaches it whatever the policy (NetworkPolicy ingress always allows 'the pod's local node', for kubelet probes; some implementations also let a pod reach its own node), while the model, which knows no node, decides that traffic by the rules; neither NetworkPolicy nor AdminNetworkPolicy can deny it",
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
export const kubernetesCompiler: Compiler<KubernetesOptions> = planCompiler(
  'kubernetes',
  KUBERNETES_CAPABILITIES,
  planKubernetes,
  renderArtefacts,
)

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
