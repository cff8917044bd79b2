/**
 * @module `bulkhead k8s import`: a cluster's NetworkPolicies, AdminNetworkPolicies and
 * BaselineAdminNetworkPolicy turned into Bulkhead policies (and an inventory of its pods) with
 * the same connectivity, as {@link analyzeModel} computes it.
 *
 * How Kubernetes' two-sided decision becomes one global rule set (DESIGN.md semantics rule 1):
 *
 * - Per direction, the traffic a pod allows is a union of **terms** (subject pods, peer pods or
 *   peer addresses, ports): one per NetworkPolicy rule peer (its pods are isolated in that
 *   direction), one per AdminNetworkPolicy `Allow` rule peer, and one **open** term (any peer,
 *   any port) for the workloads no NetworkPolicy selects in that direction (they are not
 *   isolated).
 * - A pod → pod connection needs the source's egress and the destination's ingress, so each pair
 *   (egress term, ingress term) gives one allow rule: from = egress subject ∧ ingress peer, to =
 *   egress peer ∧ ingress subject, services = both port sets. Pairs whose ends match no workload
 *   are dropped. Pod → address needs only the egress term, address → pod only the ingress term.
 * - Deny beats allow in Bulkhead, while an ANP/BANP rule list is first-match. So deny rules are
 *   not copied from `Deny` rules: for each subject workload, direction and peer (a workload, or
 *   a block external) the ANPs' first-match order is run (as the analyser does), and the BANP's
 *   for workloads no NetworkPolicy isolates in that direction, on what the ANPs left or passed;
 *   what that denies becomes one deny rule per (subject workload, direction, services), to or
 *   from the peers by name. An `Allow` that precedes an overlapping `Deny` thus keeps its
 *   traffic, exactly. BANP `Allow` rules only shield traffic from later BANP `Deny` rules, which
 *   that computation already does, so they give no rule. A `Pass` gives no rule: its traffic
 *   falls to the NetworkPolicy terms, the open terms and the BANP denies. A later ANP `Allow`
 *   whose traffic overlaps what an earlier `Pass` took (for some subject workload and peer, in
 *   the same first-match run) would, as a term, admit passed traffic; so for those subject
 *   workloads the `Allow` gives no term but concrete ones: the services the run says it decides,
 *   per subject workload, to or from its peers by name (workloads, block externals), grouped by
 *   service set. Its term keeps the other subject workloads. Nothing is refused for rule order.
 * - A service set that is "everything except" some ports (a deny after a partial `Allow`) is
 *   written out with every other protocol 0–255 listed ({@link serviceList}).
 *
 * Selectors:
 *
 * - A pod selector is a label selector ANDed with `namespace: <ns>` (the label the Kubernetes
 *   inventory source gives every pod). A namespace selector is a label selector on the pods'
 *   **namespace labels**, which the imported inventory copies onto each workload under
 *   {@link namespaceLabelKey} (`team` → `ns.bulkhead.dev/team`, `example.com/team` →
 *   `example.com.ns.bulkhead.dev/team`); `kubernetes.io/metadata.name` is the `namespace` label.
 * - Addresses: ipBlock (with `except`) and ANP `networks` match cluster-external addresses only
 *   (as the analyser and np-guard read them). Bulkhead's `cidr` selector would also match pods, so
 *   every block boundary becomes a named external of the inventory (`block-10.0.0.0-8`, plus
 *   `block-0.0.0.0-0` and `block-::-0` so that every unmanaged address has one), and an ipBlock is
 *   the list of externals inside its `cidr` and not inside an `except`. An address resolves to the
 *   workload holding it first and to its longest-prefix external otherwise, so this is exact.
 * - Named ports are resolved per destination workload; when the workloads a rule reaches resolve
 *   one rule's ports to different numbers, the rule is split into one rule per port set, each to
 *   its workloads by name. `endPort` gives port ranges; a missing port every port of the protocol.
 * - A pod selector that uses the key `namespace` or a namespace-label key is a
 *   `k8s/not-importable` error (the import gives every workload those keys). Pods of one
 *   workload whose labels differ are judged by the workload's first pod, with a
 *   `k8s/conflicting-labels` warning (the analyser takes the union over the pods).
 *
 * Output: one policy per Kubernetes object (`np-<namespace>-<name>`, `anp-<name>`,
 * `banp-<name>`) plus `k8s-unisolated` for traffic that only open terms allow; empty scope;
 * owner from the annotation `bulkhead.dev/owner`, else `imported`; every rule's reason names the
 * object rules it comes from. Ingress/Route exposure (`{ingress-controller}`) is not imported.
 */
import { stringify } from 'yaml'
import {
  cidrCovers,
  diagnostic,
  expressionMatches,
  formatIp,
  labelsMatch,
  maxPort,
  labelSet,
  parseCidr,
  ServiceSet,
  type Cidr,
  type Diagnostic,
  type External,
  type Inventory,
  type LabelExpression,
  type Policy,
  type Rule,
  type Selector,
  type Service,
  type Workload,
} from '../core/index.js'
import type { SourceFile } from '../core/yaml-source.js'
import {
  DROPPED_POD_LABELS,
  dropRevisionLabels,
  kubernetesWorkloads,
} from '../inventory/sources/kubernetes.js'
import { renderPolicy } from '../policy/render.js'
import type { AdminPolicy, AnpPeer, AnpPods, AnpRule } from './anp.js'
import {
  anpPeerMatches,
  externalRanges,
  modelBlocks,
  namespaceLabels,
  rangeInCidr,
  selectingPolicies,
  type Peer,
} from './connlist.js'
import {
  kubernetesObjects,
  NAMESPACE_NAME_LABEL,
  type ContainerPort,
  type K8sPod,
  type KubernetesObject,
  type LabelSelector,
} from './manifests.js'
import { anpPortsSet, buildModel, netpolPortsSet, type K8sModel } from './model.js'
import type { PrimaryNetwork } from './udn.js'
import type { NetpolRule, NetworkPolicy } from './netpol.js'

/** The annotation whose value becomes the imported policy's owner. */
export const OWNER_ANNOTATION = 'bulkhead.dev/owner'

/** Owner of imported policies without {@link OWNER_ANNOTATION}. */
export const DEFAULT_OWNER = 'imported'

/** DNS suffix of the label keys that carry namespace labels on workloads. */
export const NAMESPACE_LABEL_DOMAIN = 'ns.bulkhead.dev'

/**
 * The workload label key that carries namespace label `key`: `kubernetes.io/metadata.name` →
 * `namespace`; `team` → `ns.bulkhead.dev/team`; `example.com/team` →
 * `example.com.ns.bulkhead.dev/team` (injective, and never a key pods use by accident).
 */
export function namespaceLabelKey(key: string): string {
  if (key === NAMESPACE_NAME_LABEL) return 'namespace'
  const i = key.indexOf('/')
  return i < 0
    ? `${NAMESPACE_LABEL_DOMAIN}/${key}`
    : `${key.slice(0, i)}.${NAMESPACE_LABEL_DOMAIN}/${key.slice(i + 1)}`
}

/** Options of {@link importModel}. */
export interface K8sImportOptions {
  /**
   * Workloads whose pods carry no IP (plain manifests) get one address from each of these blocks
   * (at most one block per family; consecutive addresses from each block's first address + 1,
   * skipping addresses pods hold), so that `bulkhead connlist` has something to judge. Such a pod
   * holds both families in `k8s connlist` (its families are unknown there), so it needs an IPv4
   * block, and an IPv6 block too when the policies name an IPv6 block (else `k8s connlist` models
   * no IPv6 range): a family missing is a `k8s/no-pod-address` warning, since its lines are then
   * missing from the workspace. Without blocks such workloads hold no address: the workspace
   * loads, and connlist, which judges addresses, shows no connection of theirs; the import warns
   * (`k8s/no-pod-address`).
   */
  readonly assignAddresses?: readonly Cidr[]
}

/** The result of an import: policies, the inventory, and every diagnostic. */
export interface K8sImport {
  readonly policies: readonly Policy[]
  readonly inventory: Inventory
  /** `k8s/not-importable` errors (the import must not be written), warnings. */
  readonly diagnostics: readonly Diagnostic[]
}

// ---------------------------------------------------------------------------------------------
// pod-side selectors

/** Pods by labels (Bulkhead workload labels), or a fixed set of workloads. */
type PodSel =
  | {
      readonly kind: 'labels'
      readonly match: Readonly<Record<string, string>>
      readonly exprs: readonly LabelExpression[]
    }
  | { readonly kind: 'names'; readonly names: ReadonlySet<string> }
  | { readonly kind: 'none' }

const ALL_PODS: PodSel = { kind: 'labels', match: {}, exprs: [] }

interface ImportWorkload {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  /** Its first pod, with the container ports of all its pods ({@link unionPorts}). */
  readonly pod: K8sPod
}

/**
 * The first pod of a workload holding the container ports of all its pods. A workload is one
 * entity in the imported workspace, and `k8s connlist` gives a workload the union of what its
 * pods are allowed, so a named port resolves to every number its pods give it (a Deployment caught
 * mid-rollout: `http` 8000 in the old pods, 8001 in the new). Where pods give one name different
 * numbers, a `k8s/conflicting-ports` warning says so.
 */
function unionPorts(name: string, pods: readonly K8sPod[], diags: Diagnostic[]): K8sPod {
  const first = pods[0] as K8sPod
  const ports = new Map<string, ContainerPort>()
  for (const p of pods)
    for (const c of p.ports) ports.set(`${c.name ?? ''} ${String(c.protocol)} ${String(c.port)}`, c)
  for (const p of pods.slice(1)) {
    const c = p.ports.find((x) =>
      first.ports.some(
        (f) =>
          f.name !== undefined &&
          f.name === x.name &&
          f.protocol === x.protocol &&
          f.port !== x.port,
      ),
    )
    if (c) {
      const f = first.ports.find((x) => x.name === c.name && x.protocol === c.protocol)
      diags.push(
        diagnostic(
          'k8s/conflicting-ports',
          `pods of ${name} give port "${String(c.name)}" different numbers (${String(f?.port)} in ${first.name}, ${String(c.port)} in ${p.name}); the import gives the workload both, as k8s connlist does`,
          p.location,
          { severity: 'warning' },
        ),
      )
      break
    }
  }
  return ports.size === first.ports.length ? first : { ...first, ports: [...ports.values()] }
}

function andSel(a: PodSel, b: PodSel, wl: readonly ImportWorkload[]): PodSel {
  if (a.kind === 'none' || b.kind === 'none') return { kind: 'none' }
  if (a.kind === 'names' || b.kind === 'names') {
    const names = a.kind === 'names' ? a : (b as { names: ReadonlySet<string> })
    const other = a.kind === 'names' ? b : a
    // a label selector whose workloads all lie in the set says the same, more readably
    if (
      other.kind === 'labels' &&
      wl.every((w) => !selMatches(other, w) || names.names.has(w.name))
    )
      return other
    return {
      kind: 'names',
      names: new Set(
        wl.filter((w) => names.names.has(w.name) && selMatches(other, w)).map((w) => w.name),
      ),
    }
  }
  const match: Record<string, string> = { ...a.match }
  for (const [k, v] of Object.entries(b.match)) {
    if (match[k] !== undefined && match[k] !== v) return { kind: 'none' }
    match[k] = v
  }
  return { kind: 'labels', match, exprs: [...a.exprs, ...b.exprs] }
}

function selMatches(s: PodSel, w: ImportWorkload): boolean {
  if (s.kind === 'none') return false
  if (s.kind === 'names') return s.names.has(w.name)
  return labelsMatch(s.match, w.labels) && s.exprs.every((e) => expressionMatches(e, w.labels))
}

// ---------------------------------------------------------------------------------------------
// terms

type PortsOf = (dst: K8sPod | undefined) => ServiceSet

/** One box of a direction's allowance (or of a deny). Exactly one of `pods`/`externals` is set. */
interface Term {
  readonly direction: 'ingress' | 'egress'
  readonly subject: PodSel
  readonly pods: PodSel | undefined
  readonly externals: readonly string[] | undefined
  readonly ports: PortsOf
  /** Policy name the rules of this term go to; undefined for the open term. */
  readonly policy: string | undefined
  /** `NetworkPolicy ns/name ingress rule 0`. */
  readonly origin: string
}

const ANY_PORTS: PortsOf = () => ServiceSet.ANY

function sanitize(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '-')
}

/**
 * Imports a loaded model (see the module comment).
 * @param model - from {@link buildModel}; its invalid objects were left out (callers refuse to
 * import when the model's own diagnostics hold an error, as {@link importManifests} reports them).
 * @param inventoryWorkloads - the Kubernetes inventory source's workloads, for pod addresses by
 * workload name (`namespace/name[Kind]`, as the analyser names them).
 * @returns policies (empty scope, sorted by name, `file` = `<name>.yaml`), the inventory
 * (workloads: first pod's labels minus controller hash labels and a DeploymentConfig's
 * per-revision `deployment` label, `namespace`, namespace labels
 * under {@link namespaceLabelKey}; externals: one per block), and `k8s/not-importable` errors /
 * `k8s/conflicting-labels` warnings. Pure.
 */
export function importModel(
  model: K8sModel,
  inventoryWorkloads: readonly Workload[],
  options: K8sImportOptions = {},
): K8sImport {
  const diags: Diagnostic[] = []
  const notImportable = (obj: KubernetesObject, message: string): void => {
    diags.push(diagnostic('k8s/not-importable', message, obj.doc.loc(obj.path)))
  }

  // ---- workloads and their labels
  const addrByName = new Map(inventoryWorkloads.map((w) => [w.name, w.addresses]))
  const wl: ImportWorkload[] = model.workloads.map((w) => {
    const first = w.pods[0] as K8sPod
    const pod = unionPorts(w.name, w.pods, diags)
    const odd = w.pods.find((p) => JSON.stringify(p.labels) !== JSON.stringify(first.labels))
    if (odd)
      diags.push(
        diagnostic(
          'k8s/conflicting-labels',
          `pods of ${w.name} have different labels (${first.name} and ${odd.name}); the import judges the workload by ${first.name}`,
          odd.location,
          { severity: 'warning' },
        ),
      )
    const labels: Record<string, string> = {}
    for (const [k, v] of Object.entries(dropRevisionLabels(w.name, pod.labels)))
      if (!DROPPED_POD_LABELS.includes(k)) labels[k] = v
    for (const [k, v] of Object.entries(namespaceLabels(model, w.namespace)))
      labels[namespaceLabelKey(k)] = v
    labels['namespace'] = w.namespace
    return { name: w.name, labels, pod }
  })
  const used = new Set<string>()
  for (const w of inventoryWorkloads) for (const a of w.addresses) used.add(a.ip)
  const assign = options.assignAddresses ?? []
  const next = assign.map((b) => ({ family: b.family, value: b.base + 1n }))
  // k8s connlist models IPv4, and IPv6 when a policy names an IPv6 block
  const ipv6Block = [...modelBlocks(model, 'ingress'), ...modelBlocks(model, 'egress')].find(
    (c) => c.family === 6,
  )
  /** workloads given addresses that lack a family k8s connlist gives them, with that family */
  const short: { w: ImportWorkload; missing: (4 | 6)[] }[] = []
  const workloads: Workload[] = wl.map((w, i) => {
    let addresses = addrByName.get(w.name) ?? []
    if (addresses.length === 0 && next.length > 0) {
      // the families k8s connlist gives the workload: those its pods hold (a host-network
      // pod's node's, which the inventory does not give), both when a pod's are unknown
      const pods = model.workloads[i]?.pods ?? []
      const families = new Set<number>(
        pods.every((p) => p.addresses !== undefined)
          ? pods.flatMap((p) => (p.addresses ?? []).map((a) => a.family))
          : [4, 6],
      )
      addresses = next
        .filter((n) => families.has(n.family))
        .map((n) => {
          let ip = formatIp(n)
          while (used.has(ip)) ip = formatIp({ family: n.family, value: ++n.value })
          used.add(ip)
          n.value++
          return { ip }
        })
      const missing = ([4, 6] as const).filter(
        (f) => families.has(f) && (f === 4 || ipv6Block) && !next.some((n) => n.family === f),
      )
      if (missing.length > 0) short.push({ w, missing })
    }
    return { name: w.name, addresses, labels: labelSet(w.labels) }
  })
  const firstShort = short[0]
  if (firstShort) {
    const fams = [...new Set(short.flatMap((x) => x.missing))].sort()
    const missingText = fams.map((f) => `IPv${String(f)}`).join('/')
    diags.push(
      diagnostic(
        'k8s/no-pod-address',
        `${short.length} workloads given addresses by --assign-addresses hold no ${missingText} address, while k8s connlist gives them that family (their pods' addresses are not in the manifests: both families${ipv6Block ? `, and a policy names the IPv6 block ${ipv6Block.text}` : ''}), e.g. ${firstShort.w.name}: their ${missingText} lines are missing from the workspace's connlist`,
        firstShort.w.pod.location,
        {
          severity: 'warning',
          hint: `give a block of each family: --assign-addresses ${[...assign.map((b) => b.text), ...fams.map((f) => (f === 4 ? '10.244.0.0/16' : 'fd00:10:244::/64'))].join(',')}`,
        },
      ),
    )
  }
  const unaddressed = wl.filter((_, i) => workloads[i]?.addresses.length === 0)
  const first = unaddressed[0]
  if (first)
    diags.push(
      diagnostic(
        'k8s/no-pod-address',
        `${unaddressed.length} of ${wl.length} workloads have no pod IP (plain manifests), e.g. ${first.name}: the workspace's connlist, simulate and compile judge addresses and will show no connection of theirs`,
        first.pod.location,
        {
          severity: 'warning',
          hint: 'import a `kubectl get pods -o yaml` dump, or pass --assign-addresses CIDR',
        },
      ),
    )

  // ---- externals: every block boundary, plus the whole of both families
  const blockMap = new Map<string, Cidr>()
  for (const c of [
    ...modelBlocks(model, 'ingress'),
    ...modelBlocks(model, 'egress'),
    parseCidr('0.0.0.0/0') as Cidr,
    parseCidr('::/0') as Cidr,
  ])
    blockMap.set(c.text, c)
  const externals: External[] = [...blockMap.values()].map((c) => ({
    name: `block-${c.text.replace('/', '-')}`,
    cidr: c,
    labels: labelSet(),
  }))
  const extIn = (cidr: Cidr, except: readonly Cidr[]): string[] =>
    externals
      .filter((e) => cidrCovers(cidr, e.cidr) && !except.some((x) => cidrCovers(x, e.cidr)))
      .map((e) => e.name)
  const allExternals = externals.map((e) => e.name)

  // ---- selector translation
  const knownKeys = new Set(wl.flatMap((w) => Object.keys(w.labels)))
  const badPodKey = (k: string): boolean =>
    k === 'namespace' ||
    k.startsWith(`${NAMESPACE_LABEL_DOMAIN}/`) ||
    k.includes(`.${NAMESPACE_LABEL_DOMAIN}/`)
  const podSel = (s: LabelSelector, obj: KubernetesObject, what: string): PodSel => {
    const keys = [...Object.keys(s.matchLabels), ...s.expressions.map((e) => e.key)]
    const bad = keys.find(badPodKey)
    if (bad !== undefined) {
      notImportable(
        obj,
        `${what}: the pod selector uses the label key "${bad}", which the import gives every workload for its namespace`,
      )
      return { kind: 'none' }
    }
    return { kind: 'labels', match: { ...s.matchLabels }, exprs: s.expressions }
  }
  const nsSel = (s: LabelSelector): PodSel => ({
    kind: 'labels',
    match: Object.fromEntries(
      Object.entries(s.matchLabels).map(([k, v]) => [namespaceLabelKey(k), v]),
    ),
    exprs: s.expressions.map((e) => ({ ...e, key: namespaceLabelKey(e.key) })),
  })
  const inNs = (ns: string): PodSel => ({ kind: 'labels', match: { namespace: ns }, exprs: [] })
  const anpPods = (p: AnpPods, obj: KubernetesObject, what: string): PodSel =>
    p.kind === 'namespaces'
      ? nsSel(p.namespaces)
      : andSel(nsSel(p.namespaceSelector), podSel(p.podSelector, obj, what), wl)

  const terms: Term[] = []

  // ---- NetworkPolicy terms
  const npName = (np: NetworkPolicy): string => sanitize(`np-${np.namespace}-${np.name}`)
  for (const np of model.networkPolicies) {
    const what = `NetworkPolicy ${np.namespace}/${np.name}`
    const subject = andSel(inNs(np.namespace), podSel(np.podSelector, np.object, what), wl)
    for (const direction of ['ingress', 'egress'] as const) {
      const rules: readonly NetpolRule[] = np[direction] ?? []
      for (const r of rules) {
        const ports: PortsOf = (dst) => netpolPortsSet(r.ports, dst)
        const base = {
          direction,
          subject,
          ports,
          policy: npName(np),
          origin: `${what} ${direction} rule ${r.index}`,
        }
        if (r.peers === 'all') {
          terms.push({ ...base, pods: ALL_PODS, externals: undefined })
          terms.push({ ...base, pods: undefined, externals: allExternals })
          continue
        }
        for (const p of r.peers) {
          if (p.kind === 'ipBlock')
            terms.push({ ...base, pods: undefined, externals: extIn(p.block.cidr, p.block.except) })
          else {
            const ps = podSel(p.podSelector, np.object, what)
            const pods =
              p.namespaceSelector === undefined
                ? andSel(inNs(np.namespace), ps, wl)
                : andSel(nsSel(p.namespaceSelector), ps, wl)
            terms.push({ ...base, pods, externals: undefined })
          }
        }
      }
    }
  }

  // ---- open terms: workloads no NetworkPolicy isolates in a direction
  const isolated = (w: ImportWorkload, d: 'ingress' | 'egress'): boolean =>
    selectingPolicies(model, w.pod, d).length > 0
  for (const direction of ['ingress', 'egress'] as const) {
    const open: PodSel = {
      kind: 'names',
      names: new Set(wl.filter((w) => !isolated(w, direction)).map((w) => w.name)),
    }
    const base = { direction, subject: open, ports: ANY_PORTS, policy: undefined }
    const origin = `no NetworkPolicy isolates these pods for ${direction}`
    terms.push({ ...base, pods: ALL_PODS, externals: undefined, origin })
    terms.push({ ...base, pods: undefined, externals: allExternals, origin })
  }

  // ---- AdminNetworkPolicy and BaselineAdminNetworkPolicy
  const admins: AdminPolicy[] = [
    ...model.adminPolicies,
    ...(model.baselinePolicy ? [model.baselinePolicy] : []),
  ]
  const apName = (ap: AdminPolicy): string =>
    sanitize(`${ap.kind === 'AdminNetworkPolicy' ? 'anp' : 'banp'}-${ap.name}`)
  const peerSel = (p: AnpPeer, ap: AdminPolicy, what: string): Pick<Term, 'pods' | 'externals'> =>
    p.kind === 'networks'
      ? {
          pods: undefined,
          externals: [...new Set(p.blocks.flatMap((b) => extIn(b, [])))],
        }
      : { pods: anpPods(p, ap.object, what), externals: undefined }
  // Deny: what the first-match order of the ANPs (and of the BANP, for pods no NetworkPolicy
  // isolates) actually denies, per subject workload and peer (a workload, or a block external)
  const atoms = externalRanges([...blockMap.values()])
  const repOf = new Map<string, Peer>()
  for (const range of atoms) {
    let best: External | undefined
    for (const e of externals)
      if (rangeInCidr(range, e.cidr) && (!best || e.cidr.prefix > best.cidr.prefix)) best = e
    if (best && !repOf.has(best.name)) repOf.set(best.name, { kind: 'range', range })
  }
  const concreteDenies: {
    direction: 'ingress' | 'egress'
    w: ImportWorkload
    peer: Selector
    services: ServiceSet
    sources: Set<string>
  }[] = []
  // per ANP Allow rule and subject workload: what the rule decides, per peer; and the rules that
  // would admit traffic an earlier Pass gave to NetworkPolicy/BANP (their subject workloads)
  type AllowPiece = { peer: Selector; pod: ImportWorkload | undefined; services: ServiceSet }
  const allowPieces = new Map<AnpRule, Map<string, AllowPiece[]>>()
  const passShadowed = new Map<AnpRule, Map<string, string>>()
  for (const direction of ['ingress', 'egress'] as const) {
    for (const w of wl) {
      const anps = model.adminPolicies.filter((ap) => anpSubjectHolds(model, ap, w.pod))
      const banp = model.baselinePolicy
      const useBanp =
        banp !== undefined && !isolated(w, direction) && anpSubjectHolds(model, banp, w.pod)
      if (anps.length === 0 && !useBanp) continue
      const others: [Selector, Peer, ImportWorkload | undefined][] = [
        ...wl
          .filter((o) => o !== w)
          .map((o): [Selector, Peer, ImportWorkload] => [
            { kind: 'workload', name: o.name, global: false },
            { kind: 'pod', pod: o.pod },
            o,
          ]),
        ...[...repOf].map(([name, peer]): [Selector, Peer, undefined] => [
          { kind: 'external', name },
          peer,
          undefined,
        ]),
      ]
      for (const [sel, o, ow] of others) {
        const dst = direction === 'ingress' ? w.pod : o.kind === 'pod' ? o.pod : undefined
        let undecided = ServiceSet.ANY
        let denied = ServiceSet.EMPTY
        let passed = ServiceSet.EMPTY
        let passer = ''
        const sources = new Set<string>()
        for (const ap of anps)
          for (const r of ap[direction]) {
            if (!r.peers.some((p) => anpPeerMatches(model, p, o))) continue
            const m = anpPortsSet(r.ports, dst)
            const x = m.intersect(undecided)
            if (r.action === 'Allow') {
              // an Allow term would admit all of m: the passed part of it must not be admitted
              if (!m.intersect(passed).isEmpty) {
                const byW = passShadowed.get(r) ?? new Map<string, string>()
                if (!byW.has(w.name)) byW.set(w.name, passer)
                passShadowed.set(r, byW)
              }
              if (!x.isEmpty) {
                const byW = allowPieces.get(r) ?? new Map<string, AllowPiece[]>()
                const list = byW.get(w.name) ?? []
                list.push({ peer: sel, pod: ow, services: x })
                byW.set(w.name, list)
                allowPieces.set(r, byW)
              }
            }
            if (x.isEmpty) continue
            if (r.action === 'Deny') {
              denied = denied.union(x)
              sources.add(apName(ap))
            } else if (r.action === 'Pass') {
              passed = passed.union(x)
              if (passer === '') passer = `${ap.kind} ${ap.name} rule "${r.name}"`
            }
            undecided = undecided.subtract(x)
          }
        if (useBanp) {
          let rest = undecided.union(passed)
          for (const r of banp[direction]) {
            if (!r.peers.some((p) => anpPeerMatches(model, p, o))) continue
            const x = anpPortsSet(r.ports, dst).intersect(rest)
            if (x.isEmpty) continue
            if (r.action === 'Deny') {
              denied = denied.union(x)
              sources.add(apName(banp))
            }
            rest = rest.subtract(x)
          }
        }
        if (!denied.isEmpty)
          concreteDenies.push({ direction, w, peer: sel, services: denied, sources })
      }
    }
  }
  for (const ap of admins) {
    const what = `${ap.kind} ${ap.name}`
    const isBanp = ap.kind === 'BaselineAdminNetworkPolicy'
    for (const direction of ['ingress', 'egress'] as const) {
      let subject = anpPods(ap.subject, ap.object, what)
      if (isBanp)
        subject = andSel(
          subject,
          {
            kind: 'names',
            names: new Set(wl.filter((w) => !isolated(w, direction)).map((w) => w.name)),
          },
          wl,
        )
      for (const r of ap[direction]) {
        if (r.action !== 'Allow' || isBanp) continue
        const ports: PortsOf = (dst) => anpPortsSet(r.ports, dst)
        const origin = `${what} ${direction} rule "${r.name}" (${r.action})`
        // subject workloads for which an earlier Pass overlaps this rule get concrete terms
        const shadowed = passShadowed.get(r) ?? new Map<string, string>()
        const ruleSubject =
          shadowed.size === 0
            ? subject
            : andSel(
                subject,
                {
                  kind: 'names',
                  names: new Set(wl.filter((w) => !shadowed.has(w.name)).map((w) => w.name)),
                },
                wl,
              )
        for (const p of r.peers)
          terms.push({
            direction,
            subject: ruleSubject,
            ports,
            policy: apName(ap),
            origin,
            ...peerSel(p, ap, what),
          })
        for (const [wName, passer] of shadowed) {
          const groups = new Map<string, { set: ServiceSet; pods: string[]; exts: string[] }>()
          for (const piece of allowPieces.get(r)?.get(wName) ?? []) {
            const key = `${piece.pod ? 'pod' : 'ext'} ${piece.services.toString()}`
            const g = groups.get(key) ?? { set: piece.services, pods: [], exts: [] }
            if (piece.pod) g.pods.push(piece.pod.name)
            else if (piece.peer.kind === 'external') g.exts.push(piece.peer.name)
            groups.set(key, g)
          }
          const base = {
            direction,
            subject: { kind: 'names', names: new Set([wName]) } as const,
            policy: apName(ap),
            origin: `${origin} for ${wName}, less what ${passer} (Pass) gave to NetworkPolicy/BANP`,
          }
          for (const g of groups.values()) {
            const set = g.set
            terms.push(
              g.pods.length > 0
                ? {
                    ...base,
                    ports: () => set,
                    pods: { kind: 'names', names: new Set(g.pods) },
                    externals: undefined,
                  }
                : { ...base, ports: () => set, pods: undefined, externals: g.exts },
            )
          }
        }
      }
    }
  }

  // ---- rules
  const byPolicy = new Map<
    string,
    { rules: Rule[]; obj: KubernetesObject | undefined; description: string }
  >()
  const objOf = new Map<string, { obj: KubernetesObject; description: string }>()
  for (const np of model.networkPolicies)
    objOf.set(npName(np), {
      obj: np.object,
      description: `Imported from NetworkPolicy ${np.namespace}/${np.name}`,
    })
  for (const ap of admins)
    objOf.set(apName(ap), { obj: ap.object, description: `Imported from ${ap.kind} ${ap.name}` })
  const addRule = (
    policy: string,
    action: 'allow' | 'deny',
    from: readonly Selector[],
    to: readonly Selector[],
    services: readonly Service[],
    reason: string,
  ): void => {
    let p = byPolicy.get(policy)
    if (!p) {
      const o = objOf.get(policy)
      p = {
        rules: [],
        obj: o?.obj,
        description:
          o?.description ??
          (policy === 'admin-denies'
            ? 'Imported: what several AdminNetworkPolicies together deny'
            : 'Imported: traffic of pods that no NetworkPolicy isolates'),
      }
      byPolicy.set(policy, p)
    }
    p.rules.push({
      id: `${action === 'deny' ? 'deny' : 'allow'}-${p.rules.length + 1}`,
      action,
      from,
      to,
      services,
      reason,
      emergency: false,
    })
  }
  const toSelectors = (s: PodSel): Selector[] => {
    const matched = wl.filter((w) => selMatches(s, w))
    if (matched.length === 0 || s.kind === 'none') return []
    if (s.kind === 'names')
      return matched.map((w) => ({ kind: 'workload', name: w.name, global: false }))
    // expressions that hold for every workload because no workload carries the key are left out
    const exprs = s.exprs.filter(
      (e) => knownKeys.has(e.key) || (e.operator !== 'NotIn' && e.operator !== 'DoesNotExist'),
    )
    return [{ kind: 'labels', match: labelSet(s.match), expressions: exprs, global: false }]
  }
  const extSelectors = (names: readonly string[]): Selector[] =>
    names.map((name) => ({ kind: 'external', name }))
  /** Emits rules towards pods `to`, split by the services each destination workload gets. */
  const towardsPods = (
    policy: string,
    action: 'allow' | 'deny',
    from: readonly Selector[],
    to: PodSel,
    services: PortsOf,
    reason: string,
  ): void => {
    if (from.length === 0) return
    const dsts = wl.filter((w) => selMatches(to, w))
    const groups = new Map<string, { set: ServiceSet; names: string[] }>()
    for (const d of dsts) {
      const set = services(d.pod)
      if (set.isEmpty) continue
      const key = set.toString()
      const g = groups.get(key)
      if (g) g.names.push(d.name)
      else groups.set(key, { set, names: [d.name] })
    }
    for (const g of groups.values()) {
      const sel: PodSel =
        groups.size === 1 && g.names.length === dsts.length
          ? to
          : { kind: 'names', names: new Set(g.names) }
      const toSel = toSelectors(sel)
      if (toSel.length > 0) addRule(policy, action, from, toSel, serviceList(g.set), reason)
    }
  }

  const egress = terms.filter((t) => t.direction === 'egress')
  const ingress = terms.filter((t) => t.direction === 'ingress')
  for (const i of ingress) {
    if (i.pods !== undefined) {
      for (const e of egress) {
        if (e.pods === undefined) continue
        const from = toSelectors(andSel(e.subject, i.pods, wl))
        const to = andSel(e.pods, i.subject, wl)
        const policy = i.policy ?? e.policy ?? 'k8s-unisolated'
        towardsPods(
          policy,
          'allow',
          from,
          to,
          (d) => e.ports(d).intersect(i.ports(d)),
          `${i.origin}; ${e.origin}`,
        )
      }
    } else if (i.externals && i.externals.length > 0) {
      const policy = i.policy ?? 'k8s-unisolated'
      towardsPods(policy, 'allow', extSelectors(i.externals), i.subject, i.ports, i.origin)
    }
  }
  for (const e of egress) {
    if (!e.externals || e.externals.length === 0) continue
    const from = toSelectors(e.subject)
    const set = e.ports(undefined)
    if (from.length > 0 && !set.isEmpty)
      addRule(
        e.policy ?? 'k8s-unisolated',
        'allow',
        from,
        extSelectors(e.externals),
        serviceList(set),
        e.origin,
      )
  }
  // deny rules: per (direction, subject workload, services), the peers it applies to
  const denyGroups = new Map<string, (typeof concreteDenies)[number][]>()
  for (const d of concreteDenies) {
    const k = JSON.stringify([d.direction, d.w.name, d.services.toString()])
    const g = denyGroups.get(k)
    if (g) g.push(d)
    else denyGroups.set(k, [d])
  }
  for (const g of denyGroups.values()) {
    const first = g[0] as (typeof concreteDenies)[number]
    const sources = new Set(g.flatMap((d) => [...d.sources]))
    const policy = sources.size === 1 ? ([...sources][0] as string) : 'admin-denies'
    const subject: Selector = { kind: 'workload', name: first.w.name, global: false }
    const peersSel = g.map((d) => d.peer)
    const reason = `what ${[...sources].sort().join(', ')} deny for ${first.direction} of ${first.w.name} (first-match order applied)`
    if (first.direction === 'egress')
      addRule(policy, 'deny', [subject], peersSel, serviceList(first.services), reason)
    else addRule(policy, 'deny', peersSel, [subject], serviceList(first.services), reason)
  }

  const policies: Policy[] = [...byPolicy.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, p]) => {
      const ann = p.obj ? annotation(p.obj, OWNER_ANNOTATION) : undefined
      return {
        name,
        owner: ann ?? DEFAULT_OWNER,
        description: p.description,
        scope: labelSet(),
        rules: p.rules,
        file: `${name}.yaml`,
      }
    })
  return {
    policies,
    inventory: { workloads, externals, labelRules: [] },
    diagnostics: diags,
  }
}

/**
 * A service set as a list of services. `ServiceSet.toServices` lists only the protocols named
 * explicitly; a set that holds every other protocol too (a deny that is "everything except what
 * an earlier Allow took") is listed with each other protocol 0–255 whole, so nothing is lost.
 */
export function serviceList(set: ServiceSet): Service[] {
  if (set.isAny || !set.rest) return set.toServices()
  const out = set.toServices()
  for (let p = 0; p <= 255; p++)
    if (!set.byProtocol.has(p)) out.push({ protocol: p, ports: { lo: 0, hi: maxPort(p) } })
  return out.sort((a, b) => (a.protocol as number) - (b.protocol as number))
}

function anpSubjectHolds(model: K8sModel, ap: AdminPolicy, pod: K8sPod): boolean {
  return anpPeerMatches(model, ap.subject, { kind: 'pod', pod })
}

function annotation(obj: KubernetesObject, key: string): string | undefined {
  const meta = obj.value['metadata']
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return undefined
  const ann = (meta as Record<string, unknown>)['annotations']
  if (ann === null || typeof ann !== 'object' || Array.isArray(ann)) return undefined
  const v = (ann as Record<string, unknown>)[key]
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined
}

/**
 * Reads manifest files and imports them: {@link importModel} over the model the analyser builds,
 * with pod addresses from the Kubernetes inventory source (`status.podIPs`).
 * @returns the import; its diagnostics include the manifests' own (an invalid policy is an error
 * and the import must not be written, as `k8s connlist` refuses to report).
 */
export function importManifests(
  files: readonly SourceFile[],
  options: K8sImportOptions = {},
): K8sImport {
  const sink: Diagnostic[] = []
  const objects = kubernetesObjects(files, sink)
  const model = buildModel(objects, sink)
  // the inventory source reports into its own documents; read the files again so that its
  // notes (pods without an address, ...) stay out of the import's diagnostics
  const inv = kubernetesWorkloads(kubernetesObjects(files, []))
  const result = importModel(model, inv, options)
  const udn: Diagnostic[] = []
  if (model.primaryNetworks.size > 0) {
    // the isolation of primary user-defined networks has no counterpart in Bulkhead's policies
    const net = [...model.primaryNetworks.values()][0] as PrimaryNetwork
    udn.push({
      code: 'k8s/not-importable',
      severity: 'error',
      message: `primary user-defined networks (${net.kind} ${net.resource}, ...) isolate their pods whatever the policies say; Bulkhead policies cannot express that isolation, so nothing is imported`,
    })
  }
  return { ...result, diagnostics: [...sink, ...udn, ...result.diagnostics] }
}

/**
 * The files of an import, path (relative to the output folder) → YAML text: `<policy>.yaml`
 * for each policy and `inventory.yaml` for the inventory (`kind: Inventory`: workloads with
 * their labels and addresses, and the block externals).
 */
export function renderImport(result: K8sImport): Map<string, string> {
  const out = new Map<string, string>()
  for (const p of result.policies) out.set(p.file, renderPolicy(p))
  const inv = {
    apiVersion: 'bulkhead.dev/v1',
    kind: 'Inventory',
    workloads: result.inventory.workloads.map((w) => ({
      name: w.name,
      addresses: w.addresses.map((a) => a.ip),
      labels: { ...w.labels },
    })),
    externals: result.inventory.externals.map((e) => ({ name: e.name, cidr: e.cidr.text })),
  }
  out.set(
    'inventory.yaml',
    `# Written by bulkhead k8s import: the pods of the manifests (namespace labels under\n# *${NAMESPACE_LABEL_DOMAIN}/) and one external per ipBlock boundary.\n${stringify(inv)}`,
  )
  return out
}
