/**
 * @module The `azure-nsg` compiler: Bulkhead rules to Azure network security groups (NSGs) on the
 * network interfaces (NICs) of the enforced workloads, with application security groups (ASGs)
 * for the groups rules name, as one Terraform JSON file ({@link renderAzureNsg}).
 *
 * - Workloads: those compiled (`hosts`, default all) in `enforce` mode that hold an address at
 *   `now` get an NSG; `observe` ones get nothing and join no ASG (rules name them by address);
 *   `monitor` is `compile/unsupported-by-target` (`monitor-mode`), as for cilium.
 * - One NSG per class of enforced workloads: workloads of one label set (identity) to whose
 *   addresses the same rules apply (inbound: the rule's `to` matches one of its addresses;
 *   outbound: its `from`) share one NSG, about one per identity; a rule is only in the NSGs it
 *   applies to, so each NSG stays under the 1000-rule limit longer than one NSG for every NIC
 *   would. Workloads of different label sets never share an NSG, even when the rules treat them
 *   alike today: which label sets the rules happen to treat alike changes with every edit, and an
 *   NSG that merged or split with it would be renamed (destroyed and created, with its NIC
 *   associations) though its own rules did not change.
 * - Each live rule gives, in every NSG it applies to, an `Inbound` rule (source: its `from`,
 *   destination: its `to` restricted to the NSG's workloads) and an `Outbound` one (source: its
 *   `from` restricted, destination: its `to`). A side is `*` when it holds `any`; otherwise one
 *   ASG per label or workload selector naming enforced workloads (members: those workloads'
 *   NICs), and the exact address set of the rest (CIDR blocks less `except`, named externals
 *   less the workload addresses in them, non-enforced workloads' addresses, read from the
 *   nftables {@link Universe}) as prefixes, one rule per family (Azure refuses rules mixing
 *   IPv4 and IPv6 prefixes), at most {@link ASGS_PER_RULE} ASGs per rule (several rules
 *   otherwise, since a side is ASGs or prefixes, never both).
 * - Services: `Tcp` / `Udp` with the port ranges, `Icmp` for every ICMP type (IPv4: the far side
 *   is given as IPv4 prefixes, since whether `Icmp` also matches ICMPv6 is not documented),
 *   `Esp` and `Ah` for `esp` and `ah` (`proto/50`, `proto/51`; capability `ipsec-protocols`;
 *   IPv4 and IPv6, as IPv6 names ESP and AH by the same numbers), `*` for the `any` service.
 * - Order (first match wins, lower priority first): the load-balancer probe rule (100, when
 *   {@link AzureNsgOptions.loadBalancerProbes}), every deny rule ({@link DENY_PRIORITIES},
 *   101–1000), every allow rule ({@link ALLOW_PRIORITIES}, 1001–4095), then `bh-deny-all-in` /
 *   `bh-deny-all-out` at 4096, which shadow the default rules (AllowVNetInBound,
 *   AllowInternetOutBound, ...): deny beats allow, nothing is allowed by default (DESIGN.md rule
 *   1). Among rules of one access the order does not matter. NSGs are stateful: replies need no
 *   rule (rule 3).
 * - ICMP errors (destination unreachable and its fragmentation needed, time exceeded, parameter
 *   problem, the ICMPv6 errors), which the model allows as related to the connection they quote,
 *   get no rule: Azure documents no relation of an ICMP error to a flow record (flow records are
 *   of the five-tuple) and a security rule names no ICMP type, so the only rule that would pass
 *   them, `Icmp`, would also pass echo requests and every other type. They meet `bh-deny-all`
 *   unless a policy rule allows `icmp` between the pair; `compile/icmp-errors-dropped` says so
 *   ({@link ICMP_ERRORS_DROPPED}), as the checker (check.ts) decides them by the rules.
 * - Identity across edits: a security rule's Azure name ({@link nsgRuleName}) and Terraform key
 *   come from its Bulkhead rule's policy, id and part (protocol, endpoint kinds), never from its
 *   priority, and its priority is a hash of its name within its band ({@link nsgPriorities}), so
 *   adding, removing or reordering rules leaves the others' names and keys alone and, but for a
 *   hash collision, their priorities: `terraform plan` shows the rules that changed, updated in
 *   place, rather than destroying and creating every rule after an insertion. This matters beyond
 *   the diff: azurerm applies each `azurerm_network_security_rule` by its own call, so rules that
 *   trade priorities in one apply can meet Azure's "Rules cannot have the same Priority and
 *   Direction" (`SecurityRuleConflict`) half way.
 * - Identity of NSGs and ASGs: an NSG is named after its members' label set
 *   (`bh-nsg.<key>.<value>…`, {@link nsgNames}), an ASG after its selector and scope, and its
 *   Terraform key is its name: adding or removing a workload or a rule renames only the NSGs
 *   whose own label set it splits or joins (a rule naming some workloads of a label set, by
 *   workload name or address, gives them an NSG of their own, named after its first workload as
 *   well; the label set's NSG with the fewest rules keeps the plain name: group-names.ts). A NIC
 *   association's key is the NSG's key and the workload's name, so it stays too. Renaming matters
 *   because azurerm forces a new NSG (and new associations) for a new name.
 * @remarks Semantics: DESIGN.md "Policy language v1", rules 1–5. Azure:
 * https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview (rules,
 * priorities, default rules, stateful flows, subnet then NIC inbound and NIC then subnet
 * outbound), https://learn.microsoft.com/azure/virtual-network/application-security-groups
 * (ASG members are NICs of one virtual network; a rule naming ASGs on both sides needs them in
 * one virtual network), limits:
 * https://learn.microsoft.com/azure/azure-resource-manager/management/azure-subscription-service-limits#azure-resource-manager-virtual-networking-limits
 * (5000 NSGs per region and subscription, 1000 rules per NSG, 4000 prefixes per NSG side, 10 ASGs per rule, 100 per NSG, 20 per NIC IP
 * configuration, 4000 IP configurations per ASG; not adjustable). Terraform azurerm v3/v4:
 * `azurerm_network_security_rule`, `azurerm_application_security_group`,
 * `azurerm_network_interface_security_group_association`,
 * `azurerm_network_interface_application_security_group_association`. Protocol values `Tcp`,
 * `Udp`, `Icmp`, `Esp`, `Ah`, `*`: the API's `SecurityRuleProtocol`
 * (https://learn.microsoft.com/python/api/azure-mgmt-network/azure.mgmt.network.models.securityruleprotocol)
 * and the provider's validation of `protocol` (hashicorp/terraform-provider-azurerm
 * internal/services/network/network_security_rule_resource.go: `StringInSlice` of Any, Tcp, Udp,
 * Icmp, Ah, Esp). Names and priorities: a security rule's name is unique in its NSG, 1–80
 * characters of `[A-Za-z0-9_.-]`, starting with a letter or digit and ending with one or `_`, and
 * Azure compares names case-insensitively
 * (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules);
 * priorities 100–4096, unique per NSG and direction, lower first, first match stops
 * (network-security-groups-overview above; an Inbound and an Outbound rule may share one:
 * hashicorp/terraform-provider-azurerm#27046); a rule taking a priority another still holds is
 * refused with `SecurityRuleConflict` (hashicorp/terraform-provider-azurerm#293, #19202, #11137);
 * NSG and ASG names: the same characters, 1–80, unique in the resource group (resource-name-rules
 * above); `azurerm_network_security_group.name` and the association's `network_security_group_id`
 * force a new resource (hashicorp/terraform-provider-azurerm website/docs/r/
 * network_security_group.html.markdown, network_interface_security_group_association.html.markdown);
 * the provider's standalone `azurerm_network_security_rule` must not be mixed with inline
 * `security_rule` blocks of `azurerm_network_security_group`
 * (https://registry.terraform.io/providers/hashicorp/azurerm/latest/docs/resources/network_security_group).
 */
import {
  AddressRangeSet,
  cidrContains,
  parseIp,
  formatLabelSet,
  formatRuleRef,
  selectorKey,
  ServiceSet,
  type Diagnostic,
  type Inventory,
  type IpFamily,
  type LabelSet,
  type PolicySet,
  type RuleRef,
  type Selector,
  type Service,
  type Workload,
  SelectorMembers,
} from '../../core/index.js'
import {
  fnv1a,
  groupParts,
  hashTag,
  labelIdentity,
  uniqueNames,
  type GroupToName,
  type NameCandidate,
  type NameRules,
} from '../group-names.js'
import { checkHosts } from '../kubernetes/compile.js'
import { hostMode, localAddresses, Universe } from '../nftables/compile.js'
import { cloudGroupHolds, platformTrafficWarning } from '../platform-traffic.js'
import { assertExpressible, planCompiler, type CompileOptions, type Compiler } from '../target.js'
import { AZURE_NSG_CAPABILITIES } from './capabilities.js'
import { renderAzureNsg } from './render.js'

/** Options of the azure-nsg target. */
export interface AzureNsgOptions extends CompileOptions {
  /**
   * Allow the Azure load balancer's health probes (service tag `AzureLoadBalancer`, from
   * 168.63.129.16) into every NSG at priority 100, whatever the policy says: the deny-all at
   * 4096 shadows Azure's default AllowAzureLoadBalancerInBound, and a backend whose probes fail
   * is taken out of its load balancer. Default true; a `compile/load-balancer-probes` warning
   * says so.
   */
  readonly loadBalancerProbes?: boolean
}

/**
 * Why an NSG drops ICMP error messages that the model allows as related to their connection
 * (`compile/icmp-errors-dropped`): Azure documents an NSG's state as flow records of the
 * five-tuple (source, source port, destination, destination port, protocol), whose responses
 * pass, and nothing that relates an ICMP error quoting a packet of a flow to that flow; its
 * protocol `Any` "encompasses TCP, UDP, and ICMP", so an error is an ICMP packet the rules judge.
 * A security rule names no ICMP type, and allowing every ICMP type for the errors' sake would
 * widen the policy (echo requests and the rest), which this target never does.
 * @see https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview
 */
export const ICMP_ERRORS_DROPPED =
  'Azure relates no ICMP error to a flow (NSG flow records are five-tuples) and a security rule names no ICMP type, so no rule passes the errors alone; Bulkhead writes none (Icmp would allow every type), and the model allows them as related'

/** The Terraform JSON file the target writes, relative to the output folder. */
export const AZURE_NSG_FILE = 'bulkhead-azure-nsg.tf.json'

/** Azure limits (networking, Resource Manager), none adjustable: see the module comment. */
export const AZURE_LIMITS = {
  nsgsPerRegion: 5000,
  rulesPerNsg: 1000,
  prefixesPerNsgSide: 4000,
  asgsPerRule: 10,
  asgsPerNsg: 100,
  asgsPerNic: 20,
  ipConfigurationsPerAsg: 4000,
} as const
/** Most ASGs one security rule may name on one side. */
export const ASGS_PER_RULE = AZURE_LIMITS.asgsPerRule
/** Priority of the deny-all rules, the last one Azure lets a rule have. */
export const DENY_ALL_PRIORITY = 4096
/** The first priority Bulkhead uses: the load-balancer probe rule's. */
export const FIRST_PRIORITY = 100
/**
 * The priorities of the security rules of deny rules (inclusive), below every allow rule's: each
 * has a home slot from a hash of its name (see {@link nsgPriorities}).
 */
export const DENY_PRIORITIES = { lo: 101, hi: 1000 } as const
/** The priorities of the security rules of allow rules (inclusive), after every deny rule's. */
export const ALLOW_PRIORITIES = { lo: 1001, hi: 4095 } as const
/** Address of the Azure load balancer's health probes (service tag `AzureLoadBalancer`). */
export const AZURE_LOAD_BALANCER_IP = '168.63.129.16'

/**
 * The host node's virtual addresses (DHCP, DNS, IMDS, health monitoring), which NSGs do not filter
 * for the VM reaching them: "By default, these services aren't subject to the configured network
 * security groups unless targeted by service tags specific to each service"
 * (https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview, "Azure
 * platform considerations"). Load-balancer probes from 168.63.129.16 into a NIC are subject to
 * them (AllowAzureLoadBalancerInBound). Stable: the checker reads it.
 */
export const AZURE_HOST_NODE_IPS: readonly string[] = [AZURE_LOAD_BALANCER_IP, '169.254.169.254']

/** One side of a security rule as Azure takes it. */
export type NsgEndpoint =
  | { readonly kind: 'any' }
  | { readonly kind: 'tag'; readonly tag: 'AzureLoadBalancer' }
  /** ASGs by their group (see {@link AsgPlan.group}), at most {@link ASGS_PER_RULE}. */
  | { readonly kind: 'asgs'; readonly asgs: readonly string[] }
  /** CIDR prefixes of one family, ascending. */
  | { readonly kind: 'prefixes'; readonly family: IpFamily; readonly prefixes: readonly string[] }

/** NSG protocol values this target uses (every value the API and azurerm take). */
export type NsgProtocol = 'Tcp' | 'Udp' | 'Icmp' | 'Esp' | 'Ah' | '*'

/** One security rule of an NSG. */
export interface NsgRulePlan {
  /** Azure name, unique in the NSG, at most 80 characters. */
  readonly name: string
  /** 100–4096, unique per NSG and direction. */
  readonly priority: number
  readonly direction: 'Inbound' | 'Outbound'
  readonly access: 'Allow' | 'Deny'
  readonly protocol: NsgProtocol
  /** Destination ports: `['*']`, or ports and `lo-hi` ranges. */
  readonly ports: readonly string[]
  readonly source: NsgEndpoint
  readonly destination: NsgEndpoint
  /** At most 140 characters: the Bulkhead rule it comes from. */
  readonly description: string
  /** The Bulkhead rule, absent for the deny-all and load-balancer rules. */
  readonly rule?: RuleRef
}

/** One NSG: the workloads (NICs) it is associated with and its rules by direction and priority. */
export interface NsgPlan {
  /** Terraform resource name: the name, characters outside `[A-Za-z0-9_-]` as `_` (see {@link nsgNames}). */
  readonly key: string
  /** Azure name, from the members' labels, never from the other NSGs (see {@link nsgNames}). */
  readonly name: string
  /** The members' label set (`formatLabelSet`; every member has it). */
  readonly labels: string
  /** Workload names, sorted. */
  readonly members: readonly string[]
  readonly rules: readonly NsgRulePlan[]
}

/** One ASG: a label or workload selector (with its policy's scope) and the enforced workloads it names. */
export interface AsgPlan {
  /** Terraform resource name. */
  readonly key: string
  /** Azure name. */
  readonly name: string
  /** The selector, as {@link selectorKey} prints it, with the policy scope it is ANDed with. */
  readonly group: string
  /** Workload names (their NICs join the ASG), sorted. */
  readonly members: readonly string[]
  /** The rules naming the group. */
  readonly rules: readonly RuleRef[]
}

/** Everything the Terraform file says, before rendering. */
export interface AzureNsgPlan {
  readonly nsgs: readonly NsgPlan[]
  readonly asgs: readonly AsgPlan[]
  readonly diagnostics: readonly Diagnostic[]
}

/** A rule side: `*`, or ASGs plus the exact address ranges they do not cover. */
interface SideParts {
  readonly any: boolean
  readonly asgs: readonly string[]
  readonly ranges: Readonly<Record<IpFamily, AddressRangeSet>>
}

const FAMILIES: readonly IpFamily[] = [4, 6]

/** An Azure resource name: `[A-Za-z0-9_.-]`, at most `max` characters, ending in a word character. */
export function azureName(text: string, max = 80): string {
  const safe = text.replace(/[^A-Za-z0-9_.-]+/g, '-').slice(0, max)
  return safe.replace(/[.-]+$/, '') || '_'
}

/** A policy name or rule id that goes into a rule name as it is: lower-case words and `-`. */
const CLEAN_PART = /^[a-z0-9]+(?:-[a-z0-9]+)*$/

/**
 * The Azure name of a security rule, from the Bulkhead rule's identity only (never its priority),
 * so that editing other rules never renames it: `bh-<in|out>.<policy>.<rule id>.<part>`, `part`
 * naming which of the rule's security rules it is (`tcp.asg-asg`: protocol, then the source and
 * destination kinds, see {@link NsgRulePlan.name}). When the policy name or rule id holds other
 * characters than lower-case letters, digits and inner `-` (Azure names are case-insensitive and
 * take `[A-Za-z0-9_.-]` only), or the name would pass 80 characters, the policy and id are cut to
 * fit and the name ends in `.<part>.<hash>`, 8 hex digits of a hash of the exact identity: names
 * stay unique within an NSG (two identities never clean to one name) and at most 80 characters.
 * Two identities of one 32-bit hash (searched for, they exist) would share a name: the planner
 * numbers the second (`-2`) in the NSG.
 */
export function nsgRuleName(
  direction: 'in' | 'out',
  policy: string,
  id: string,
  part: string,
): string {
  const text = `bh-${direction}.${policy}.${id}.${part}`
  if (CLEAN_PART.test(policy) && CLEAN_PART.test(id) && text.length <= 80) return text
  const tag = hashTag(`${direction}\u0000${policy}\u0000${id}\u0000${part}`)
  return `${azureName(`bh-${direction}.${policy}.${id}`, 80 - part.length - 10)}.${part}.${tag}`
}

/** Azure's rules for NSG and ASG names: 80 characters, compared without case (group-names.ts). */
const AZURE_NAME_RULES: NameRules = {
  max: 80,
  separator: '.',
  fold: (n) => n.toLowerCase(),
  cut: (text, n) => azureName(text, n),
}

/** Terraform resource names (`[A-Za-z0-9_-]`, case-sensitive), from Azure names. */
const TERRAFORM_KEY_RULES: NameRules = {
  max: 200,
  separator: '_',
  fold: (n) => n,
  cut: (text, n) => text.slice(0, n),
}

/** The Terraform resource name of an Azure name: characters outside `[A-Za-z0-9_-]` as `_`. */
function terraformKey(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_')
}

/** `bh-nsg.<key>.<value>…` (`unlabelled` for no label) and `_<part>`, whatever the characters. */
function nsgText(labels: LabelSet, part: string | undefined): string {
  const keys = Object.keys(labels).sort()
  const body =
    keys.length === 0 ? 'unlabelled' : keys.map((k) => `${k}.${labels[k] ?? ''}`).join('.')
  return `bh-nsg.${body}${part === undefined ? '' : `_${part}`}`
}

/**
 * The Azure name an NSG reads as, from its members' label set and, when the rules split that
 * label set's workloads into several NSGs, the first workload of a part that does not keep the
 * plain name (see {@link groupParts}): `bh-nsg.<key>.<value>.<key>.<value>…` (keys sorted;
 * `bh-nsg.unlabelled` for none), then `_<workload>` for a part, e.g.
 * `bh-nsg.app.payments.env.prod.role.api`. Undefined when a key, value or the workload holds
 * other characters than lower-case letters, digits and inner `-` (Azure compares names without
 * case and takes `[A-Za-z0-9_.-]` only: the name would not say which labels it is): the planner
 * then cuts the text and ends it in a hash of the exact identity ({@link nsgNames}).
 */
export function nsgReadableName(labels: LabelSet, part?: string): string | undefined {
  const clean = Object.entries(labels).every(([k, v]) => CLEAN_PART.test(k) && CLEAN_PART.test(v))
  if (!clean || (part !== undefined && !CLEAN_PART.test(part))) return undefined
  return nsgText(labels, part)
}

/**
 * The Azure names and Terraform keys of NSGs, in order: each from its own label set (and part),
 * so adding, removing or changing other NSGs renames none (see group-names.ts for the one
 * exception, two identities of one hash, and {@link groupParts} for label sets the rules split).
 * A name is {@link nsgReadableName} when there is one and it fits in 80 characters, otherwise the
 * text cut to fit and `.<8 hex digits>` of a hash of the exact labels and part; unique without
 * case. The key is the name, characters outside `[A-Za-z0-9_-]` as `_` (unique: hashed when two
 * names would meet).
 */
export function nsgNames(groups: readonly GroupToName[]): { name: string; key: string }[] {
  const parts = groupParts(groups)
  const ids = groups.map((g, i) => labelIdentity(g.labels, parts[i]))
  return azureNamesAndKeys(
    groups.map((g, i) => ({
      identity: ids[i] as string,
      readable: nsgReadableName(g.labels, parts[i]),
      lossy: nsgText(g.labels, parts[i]),
    })),
  )
}

/**
 * Unique Azure names ({@link uniqueNames} under Azure's rules) and, from them, unique Terraform
 * keys (characters outside `[A-Za-z0-9_-]` as `_`, hashed when two names would meet).
 */
function azureNamesAndKeys(items: readonly NameCandidate[]): { name: string; key: string }[] {
  const names = uniqueNames(items, AZURE_NAME_RULES)
  const keys = uniqueNames(
    names.map((n, i) => ({
      identity: (items[i] as NameCandidate).identity,
      readable: terraformKey(n),
      lossy: terraformKey(n),
    })),
    TERRAFORM_KEY_RULES,
  )
  return names.map((name, i) => ({ name, key: keys[i] as string }))
}

/**
 * Priorities for security rules of one NSG, direction and access, in `band` (inclusive), in the
 * order of `names`; undefined when the band has fewer slots than names. Each rule's home slot is a
 * hash of its name; rules taken by home slot then name each get the first free slot from their
 * home on (linear probing, wrapping round the band). A rule therefore keeps its priority when
 * others are added or removed, unless one of them lands in the run of taken slots it was pushed
 * along (a hash collision: about one chance in `band size / rules`); which of the rules is
 * first among equal-access rules does not matter, since they all allow (or all deny).
 */
export function nsgPriorities(
  names: readonly string[],
  band: { readonly lo: number; readonly hi: number },
): number[] | undefined {
  const size = band.hi - band.lo + 1
  if (names.length > size) return undefined
  const home = names.map((n) => fnv1a(n) % size)
  const order = names
    .map((_, i) => i)
    .sort((a, b) => (home[a] as number) - (home[b] as number) || cmp(names[a], names[b]))
  const taken = new Set<number>()
  const out: number[] = new Array<number>(names.length)
  for (const i of order) {
    let slot = home[i] as number
    while (taken.has(slot)) slot = (slot + 1) % size
    taken.add(slot)
    out[i] = band.lo + slot
  }
  return out
}

function cmp(a: string | undefined, b: string | undefined): number {
  return (a ?? '') < (b ?? '') ? -1 : (a ?? '') > (b ?? '') ? 1 : 0
}

/** The security-rule protocols and destination ports of a rule's services. */
export function nsgProtocols(
  services: readonly Service[],
): { protocol: NsgProtocol; ports: string[] }[] {
  const set = ServiceSet.of(services)
  if (set.rest) return [{ protocol: '*', ports: ['*'] }]
  const out: { protocol: NsgProtocol; ports: string[] }[] = []
  for (const [proto, protocol] of [
    [6, 'Tcp'],
    [17, 'Udp'],
  ] as const) {
    const ranges = set.ports(proto).ranges
    if (ranges.length === 0) continue
    const ports = ranges.map((r) =>
      r.lo === 0 && r.hi === 65535 ? '*' : r.lo === r.hi ? String(r.lo) : `${r.lo}-${r.hi}`,
    )
    out.push({ protocol, ports: ports.includes('*') ? ['*'] : ports })
  }
  // every ICMP type (icmp-types is not a capability of this target)
  if (!set.ports(1).isEmpty) out.push({ protocol: 'Icmp', ports: ['*'] })
  // ESP and AH carry no ports: the rule's services name them whole (`esp`, `ah`)
  if (!set.ports(50).isEmpty) out.push({ protocol: 'Esp', ports: ['*'] })
  if (!set.ports(51).isEmpty) out.push({ protocol: 'Ah', ports: ['*'] })
  return out
}

/** A label or workload selector with its policy's scope, as the key of its ASG. */
function groupText(sel: Selector, scope: LabelSet): string {
  const scoped = (sel.kind === 'labels' || sel.kind === 'workload') && !sel.global
  const pairs = Object.keys(scope).map((k) => `${k}=${scope[k] ?? ''}`)
  return scoped && pairs.length > 0
    ? `${selectorKey(sel)} in scope {${pairs.join(',')}}`
    : selectorKey(sel)
}

/** Builds NSGs and ASGs; see the module comment. */
class Planner {
  readonly u: Universe
  readonly diagnostics: Diagnostic[] = []
  /** Enforced workloads with an NSG, by name, with their addresses held at `now`. */
  readonly enforced = new Map<string, { w: Workload; local: Record<IpFamily, bigint[]> }>()
  private readonly asgs = new Map<
    string,
    { group: string; members: string[]; rules: Map<string, RuleRef> }
  >()
  private readonly sides = new Map<string, SideParts>()
  /** The enforced workloads (inventory order) a label or workload selector takes. */
  private readonly members: SelectorMembers
  /** Per enforced workload's name, the ASGs (groups) it is a member of. */
  readonly memberGroups = new Map<string, Set<string>>()
  /** Per ASG group, the live rules whose `from` / `to` side names it. */
  readonly groupRules = new Map<string, { from: number[]; to: number[] }>()
  /** The live rules whose `from` / `to` side holds `any`. */
  readonly anyRules: { from: number[]; to: number[] } = { from: [], to: [] }

  constructor(
    readonly inventory: Inventory,
    readonly policySet: PolicySet,
    readonly options: AzureNsgOptions,
  ) {
    this.u = new Universe(inventory, policySet, options.now.getTime())
    const compiled =
      options.hosts === undefined
        ? inventory.workloads
        : inventory.workloads.filter((w) => options.hosts?.includes(w.name))
    const modes = new Set<'observe' | 'monitor' | 'enforce'>()
    for (const w of compiled) {
      const local = localAddresses(this.u, w)
      const all = FAMILIES.flatMap((family) => local[family].map((value) => ({ family, value })))
      const { mode, mixed } = hostMode(policySet, w, this.u.now)
      modes.add(mode)
      if (mixed) this.diagnostics.push(mixed)
      if (mode !== 'enforce') continue
      if (all.length === 0) {
        this.diagnostics.push({
          code: 'compile/host-without-address',
          severity: 'warning',
          message: `workload "${w.name}" holds no address at ${options.now.toISOString()}; it gets no NSG`,
          hint: 'give it an address in the inventory, or compile --at a time it holds one',
          ...(w.location ? { location: w.location } : {}),
        })
        continue
      }
      this.enforced.set(w.name, { w, local })
    }
    this.members = new SelectorMembers([...this.enforced.values()].map(({ w }) => w))
    assertExpressible('azure-nsg', AZURE_NSG_CAPABILITIES, inventory, policySet, options.now, modes)
  }

  /** The parts of side `dir` of live rule `i` (cached). */
  side(i: number, dir: 'from' | 'to'): SideParts {
    const cacheKey = `${i} ${dir}`
    const hit = this.sides.get(cacheKey)
    if (hit) return hit
    const { policy, rule } = this.u.rules[i] as Universe['rules'][number]
    const sels = dir === 'from' ? rule.from : rule.to
    let parts: SideParts
    if (sels.some((s) => s.kind === 'any')) {
      parts = {
        any: true,
        asgs: [],
        ranges: { 4: AddressRangeSet.all(4), 6: AddressRangeSet.all(6) },
      }
      this.anyRules[dir].push(i)
    } else {
      const asgs = new Set<string>()
      const covered: Record<IpFamily, Set<bigint>> = { 4: new Set(), 6: new Set() }
      for (const sel of sels) {
        if (sel.kind !== 'labels' && sel.kind !== 'workload') continue
        const members = this.members
          .of(sel, policy.scope)
          .map(
            (w) => this.enforced.get(w.name) as { w: Workload; local: Record<IpFamily, bigint[]> },
          )
        if (members.length === 0) continue
        const group = groupText(sel, policy.scope)
        let asg = this.asgs.get(group)
        if (asg === undefined) {
          asg = {
            group,
            members: members.map(({ w }) => w.name).sort(),
            rules: new Map<string, RuleRef>(),
          }
          for (const m of asg.members) {
            const groups = this.memberGroups.get(m)
            if (groups) groups.add(group)
            else this.memberGroups.set(m, new Set([group]))
          }
        }
        asg.rules.set(formatRuleRef({ policy: policy.name, id: rule.id }), {
          policy: policy.name,
          id: rule.id,
        })
        this.asgs.set(group, asg)
        if (!asgs.has(group)) {
          const rules = this.groupRules.get(group) ?? { from: [], to: [] }
          rules[dir].push(i)
          this.groupRules.set(group, rules)
        }
        asgs.add(group)
        // the ASG stands for its members' private addresses only (cloudGroupHolds): a public IPv4
        // stays a prefix of the side
        for (const { local } of members)
          for (const f of FAMILIES)
            for (const v of local[f])
              if (cloudGroupHolds({ family: f, value: v })) covered[f].add(v)
      }
      // the intervals this side matches, through the universe's per-rule postings (ascending)
      const inSide = (f: IpFamily): AddressRangeSet => {
        const ivs = this.u.intervals[f]
        const mine: { lo: bigint; hi: bigint }[] = []
        for (const k of this.u.ruleIntervals(f, dir, i)) {
          const iv = ivs[k] as { lo: bigint; hi: bigint }
          if (!(iv.lo === iv.hi && covered[f].has(iv.lo))) mine.push(iv)
        }
        return AddressRangeSet.of(f, mine)
      }
      const ranges = { 4: inSide(4), 6: inSide(6) }
      parts = { any: false, asgs: [...asgs].sort(), ranges }
    }
    this.sides.set(cacheKey, parts)
    return parts
  }

  /**
   * The side restricted to the NSG's workloads `members`: their ASGs and their addresses in it.
   * `groups`: the ASGs with a member among `members` ({@link memberGroups}).
   */
  nicSide(parts: SideParts, members: ReadonlySet<string>, groups: ReadonlySet<string>): SideParts {
    if (parts.any) return parts
    const asgs = parts.asgs.filter((k) => groups.has(k))
    const mine = (f: IpFamily): AddressRangeSet =>
      AddressRangeSet.of(
        f,
        [...members].flatMap((m) =>
          (this.enforced.get(m)?.local[f] ?? [])
            .filter((v) => parts.ranges[f].has(v))
            .map((v) => ({ lo: v, hi: v })),
        ),
      )
    return { any: false, asgs, ranges: { 4: mine(4), 6: mine(6) } }
  }

  /** The side as IPv4 prefixes only (for `Icmp`): ASG members by their IPv4 addresses, `*` as 0.0.0.0/0. */
  ipv4Only(parts: SideParts): SideParts {
    const extra: { lo: bigint; hi: bigint }[] = []
    for (const k of parts.asgs)
      for (const m of this.asgs.get(k)?.members ?? [])
        for (const v of this.enforced.get(m)?.local[4] ?? []) extra.push({ lo: v, hi: v })
    return {
      any: false,
      asgs: [],
      ranges: {
        4: parts.ranges[4].union(AddressRangeSet.of(4, extra)),
        6: AddressRangeSet.empty(6),
      },
    }
  }

  /**
   * The security-rule endpoints a side becomes: `*`, ASG chunks, prefixes per family; each with
   * the word that names it in rule names (`any`, `asg`, `asg2`…, `v4`, `v6`).
   */
  endpoints(parts: SideParts): { endpoint: NsgEndpoint; word: string }[] {
    if (parts.any) return [{ endpoint: { kind: 'any' }, word: 'any' }]
    const out: { endpoint: NsgEndpoint; word: string }[] = []
    for (let k = 0; k < parts.asgs.length; k += ASGS_PER_RULE)
      out.push({
        endpoint: { kind: 'asgs', asgs: parts.asgs.slice(k, k + ASGS_PER_RULE) },
        word: k === 0 ? 'asg' : `asg${k / ASGS_PER_RULE + 1}`,
      })
    for (const f of FAMILIES) {
      const prefixes = parts.ranges[f].toCidrs()
      if (prefixes.length > 0)
        out.push({ endpoint: { kind: 'prefixes', family: f, prefixes }, word: `v${f}` })
    }
    return out
  }

  /**
   * The ASGs that some rule names, with their Terraform and Azure names: `bh-` and the selector
   * with its scope (`bh-role-web-in-app-payments-env-prod`), from the group alone, so other
   * groups coming or going rename none; cut and ended in a hash of the exact group when longer
   * than 80 characters, or when a group sorting before it reads the same (characters Azure does
   * not take become `-`, case does not count), with {@link uniqueNames} as for NSGs.
   */
  asgPlans(): AsgPlan[] {
    const asgs = [...this.asgs.values()].sort((a, b) =>
      a.group < b.group ? -1 : a.group > b.group ? 1 : 0,
    )
    const named = azureNamesAndKeys(
      asgs.map((a) => {
        const text = `bh-${a.group.replace('{}', 'all').replace(' in scope ', '-in-')}`
        const lossy = azureName(text.replace(/[{}]/g, ''), Infinity)
        return { identity: a.group, readable: lossy, lossy }
      }),
    )
    return asgs.map((a, i) => ({
      ...(named[i] as { name: string; key: string }),
      group: a.group,
      members: a.members,
      rules: [...a.rules.values()],
    }))
  }
}

function familyOf(e: NsgEndpoint): IpFamily | undefined {
  return e.kind === 'prefixes' ? e.family : e.kind === 'tag' ? 4 : undefined
}

/**
 * Plans the NSGs and ASGs at `options.now` (see the module comment).
 * @throws UnsupportedByTargetError for a live rule needing `icmp-types`, `icmpv6`, `sctp`,
 *   `other-protocols` (a protocol number other than 50 and 51), or a compiled workload in
 *   `monitor` mode.
 * @throws BulkheadError `compile/unknown-host`.
 */
export function planAzureNsg(
  inventory: Inventory,
  policySet: PolicySet,
  options: AzureNsgOptions,
): AzureNsgPlan {
  if (options.hosts !== undefined) checkHosts(inventory, options.hosts)
  const p = new Planner(inventory, policySet, options)
  const direction = options.direction ?? 'both'
  const dirs = (['Inbound', 'Outbound'] as const).filter((d) =>
    d === 'Inbound' ? direction !== 'egress' : direction !== 'ingress',
  )
  // classes: workloads of one label set with the same applicable rules per direction
  const classes = new Map<
    string,
    {
      labels: LabelSet
      members: string[]
      rules: number
      applies: Record<'Inbound' | 'Outbound', ReadonlySet<number>>
    }
  >()
  for (const [name, { w, local }] of p.enforced) {
    const applies = { Inbound: new Set<number>(), Outbound: new Set<number>() }
    for (const f of FAMILIES)
      for (const v of local[f]) {
        const m = p.u.match(p.u.endpoint(f, v))
        for (const i of m.to) applies.Inbound.add(i)
        for (const i of m.from) applies.Outbound.add(i)
      }
    const sig = dirs.map((d) => [...applies[d]].sort((a, b) => a - b).join(',')).join('|')
    const key = `${labelIdentity(w.labels)}|${sig}`
    const c = classes.get(key) ?? {
      labels: w.labels,
      members: [],
      rules: dirs.reduce((n, d) => n + applies[d].size, 0),
      applies,
    }
    c.members.push(name)
    classes.set(key, c)
  }
  const probes = options.loadBalancerProbes ?? true
  const nsgs: NsgPlan[] = []
  const fallbacks: Diagnostic[] = []
  const groups = [...classes.values()].map((c) => ({ ...c, members: c.members.sort() }))
  const named = nsgNames(groups)
  const ordered = groups
    .map((g, i) => ({ ...g, ...(named[i] as { name: string; key: string }) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  // every rule side once, in rule order, as the first NSG's loop did before NSGs skipped the
  // rules that cannot apply to them: ASGs, their members and their rules are recorded in it
  if (ordered.length > 0 && dirs.length > 0)
    p.u.rules.forEach((_, i) => {
      p.side(i, 'from')
      p.side(i, 'to')
    })
  for (const { members, labels, name, key, applies } of ordered) {
    const memberSet = new Set(members)
    const groups = new Set<string>()
    for (const m of members) for (const g of p.memberGroups.get(m) ?? []) groups.add(g)
    const rules: NsgRulePlan[] = []
    const ruleNames = new Set<string>()
    /** `name`, numbered when taken in this NSG (only for two identities of one 32-bit hash). */
    const unique = (name: string): string => {
      let out = name
      for (let n = 2; ruleNames.has(out.toLowerCase()); n++) out = `${azureName(name, 76)}-${n}`
      ruleNames.add(out.toLowerCase())
      return out
    }
    for (const d of dirs) {
      const short = d === 'Inbound' ? 'in' : 'out'
      if (d === 'Inbound' && probes)
        rules.push({
          name: `bh-${short}-azure-load-balancer-probes`,
          priority: FIRST_PRIORITY,
          direction: d,
          access: 'Allow',
          protocol: '*',
          ports: ['*'],
          source: { kind: 'tag', tag: 'AzureLoadBalancer' },
          destination: { kind: 'any' },
          description:
            'bulkhead Azure load balancer health probes (--no-load-balancer-probes drops this rule)',
        })
      const drafts: Record<'Deny' | 'Allow', Omit<NsgRulePlan, 'priority'>[]> = {
        Deny: [],
        Allow: [],
      }
      // only the rules whose NSG side can hold one of these workloads: `any`, a rule one of their
      // addresses matches (the class's rules), or one naming an ASG one of them is in; any other
      // rule's side restricted to them is empty
      const nicDir = d === 'Inbound' ? 'to' : 'from'
      const candidates = new Set<number>([...p.anyRules[nicDir], ...applies[d]])
      for (const g of groups) for (const i of p.groupRules.get(g)?.[nicDir] ?? []) candidates.add(i)
      for (const i of [...candidates].sort((a, b) => a - b)) {
        const { policy, rule } = p.u.rules[i] as Universe['rules'][number]
        const access = rule.action === 'deny' ? 'Deny' : 'Allow'
        const from = p.side(i, 'from')
        const to = p.side(i, 'to')
        const [nic, peer] = d === 'Inbound' ? [to, from] : [from, to]
        const own = p.nicSide(nic, memberSet, groups)
        if (!own.any && own.asgs.length === 0 && own.ranges[4].isEmpty && own.ranges[6].isEmpty)
          continue
        const ref = { policy: policy.name, id: rule.id }
        for (const { protocol, ports } of nsgProtocols(rule.services)) {
          const far = protocol === 'Icmp' ? p.ipv4Only(peer) : peer
          const [srcs, dsts] =
            d === 'Inbound'
              ? [p.endpoints(far), p.endpoints(own)]
              : [p.endpoints(own), p.endpoints(far)]
          for (const source of srcs)
            for (const destination of dsts) {
              const fs = familyOf(source.endpoint)
              const fd = familyOf(destination.endpoint)
              if (fs !== undefined && fd !== undefined && fs !== fd) continue
              const part = `${protocol === '*' ? 'any' : protocol.toLowerCase()}.${source.word}-${destination.word}`
              drafts[access].push({
                name: unique(nsgRuleName(short, policy.name, rule.id, part)),
                direction: d,
                access,
                protocol,
                ports,
                source: source.endpoint,
                destination: destination.endpoint,
                description: `bulkhead ${formatRuleRef(ref)} (${rule.action}, ${short}bound)`.slice(
                  0,
                  140,
                ),
                rule: ref,
              })
            }
        }
      }
      const deny = nsgPriorities(
        drafts.Deny.map((r) => r.name),
        DENY_PRIORITIES,
      )
      const allow = nsgPriorities(
        drafts.Allow.map((r) => r.name),
        ALLOW_PRIORITIES,
      )
      const inOrder = [...drafts.Deny, ...drafts.Allow]
      const priorities =
        deny && allow ? [...deny, ...allow] : inOrder.map((_, k) => DENY_PRIORITIES.lo + k)
      if (!deny || !allow)
        fallbacks.push({
          code: 'compile/priorities-in-order',
          severity: 'warning',
          message: `NSG ${name} has ${drafts.Deny.length} ${d} deny and ${drafts.Allow.length} allow security rules, more than the ${DENY_PRIORITIES.hi - DENY_PRIORITIES.lo + 1} and ${ALLOW_PRIORITIES.hi - ALLOW_PRIORITIES.lo + 1} priorities kept for each: they are numbered in order from ${DENY_PRIORITIES.lo}, so adding or removing a rule moves the priorities of the rules after it`,
        })
      // listed deny rules first, then allow rules, each in policy-set order (not by priority)
      rules.push(...inOrder.map((r, k) => ({ ...r, priority: priorities[k] as number })))
      rules.push({
        name: `bh-deny-all-${short}`,
        priority: DENY_ALL_PRIORITY,
        direction: d,
        access: 'Deny',
        protocol: '*',
        ports: ['*'],
        source: { kind: 'any' },
        destination: { kind: 'any' },
        description: 'bulkhead deny by default (DESIGN.md rule 1); shadows the Azure default rules',
      })
    }
    nsgs.push({ key, name, labels: formatLabelSet(labels), members, rules })
  }
  const asgs = p.asgPlans()
  const diagnostics = [...p.diagnostics, ...fallbacks, ...limitWarnings(nsgs, asgs, p)]
  if (nsgs.length > 0 && dirs.includes('Outbound'))
    diagnostics.push(
      ...platformTrafficWarning(
        policySet,
        inventory,
        (c) =>
          c.prefix >= 16 &&
          AZURE_HOST_NODE_IPS.some((ip) => {
            const a = parseIp(ip)
            return a !== undefined && cidrContains(c, a)
          }),
        `NSGs do not filter a VM's traffic to the host node addresses ${AZURE_HOST_NODE_IPS.join(' and ')} (DHCP, DNS, IMDS, health monitoring), so ${String(nsgs.length)} NSG(s) let their workloads reach them whatever these rules say; to block one, a rule must name its service tag (AzurePlatformDNS, AzurePlatformIMDS, AzurePlatformLKM), which Bulkhead does not write`,
      ),
    )
  if (nsgs.length > 0)
    diagnostics.push({
      code: 'compile/icmp-errors-dropped',
      severity: 'warning',
      message: `${nsgs.length} NSG(s) drop ICMP errors (destination unreachable, fragmentation needed for path MTU discovery, time exceeded, ICMPv6 packet too big) unless a rule allows icmp between the pair: ${ICMP_ERRORS_DROPPED}`,
    })
  if (probes && nsgs.length > 0 && dirs.includes('Inbound'))
    diagnostics.push({
      code: 'compile/load-balancer-probes',
      severity: 'warning',
      message: `Azure load balancer health probes (AzureLoadBalancer, ${AZURE_LOAD_BALANCER_IP}) are allowed into ${nsgs.length} NSG(s) at priority ${FIRST_PRIORITY}, whatever the policy says (--no-load-balancer-probes turns it off)`,
    })
  return { nsgs, asgs, diagnostics }
}

/** `compile/cloud-limit-exceeded` warnings: see {@link AZURE_LIMITS}. */
function limitWarnings(
  nsgs: readonly NsgPlan[],
  asgs: readonly AsgPlan[],
  p: Planner,
): Diagnostic[] {
  const out: Diagnostic[] = []
  const hint =
    'Azure refuses the deployment; this limit is not adjustable by a quota request (https://learn.microsoft.com/azure/azure-resource-manager/management/azure-subscription-service-limits#azure-resource-manager-virtual-networking-limits): '
  const warn = (message: string, what: string): void => {
    out.push({
      code: 'compile/cloud-limit-exceeded',
      severity: 'warning',
      message,
      hint: hint + what,
    })
  }
  if (nsgs.length > AZURE_LIMITS.nsgsPerRegion)
    warn(
      `${nsgs.length} NSGs (one per label set and class of workloads); Azure allows ${AZURE_LIMITS.nsgsPerRegion} per region and subscription, counting those already there`,
      'compile fewer workloads at a time (--host) into several subscriptions or regions, or give workloads that the rules treat alike the same labels',
    )
  for (const n of nsgs) {
    if (n.rules.length > AZURE_LIMITS.rulesPerNsg)
      warn(
        `NSG ${n.name} has ${n.rules.length} security rules; Azure allows ${AZURE_LIMITS.rulesPerNsg} per NSG`,
        'merge rules (fewer selectors, wider groups) or give the workloads of this NSG fewer rules',
      )
    const named = new Set(
      n.rules
        .flatMap((r) => [r.source, r.destination])
        .flatMap((e) => (e.kind === 'asgs' ? e.asgs : [])),
    )
    if (named.size > AZURE_LIMITS.asgsPerNsg)
      warn(
        `NSG ${n.name} names ${named.size} application security groups; Azure allows ${AZURE_LIMITS.asgsPerNsg} per NSG`,
        'name fewer label groups in the rules that apply to these workloads',
      )
    for (const side of ['source', 'destination'] as const) {
      const count = n.rules.reduce((s, r) => {
        const e = r[side]
        return s + (e.kind === 'prefixes' ? e.prefixes.length : 0)
      }, 0)
      if (count > AZURE_LIMITS.prefixesPerNsgSide)
        warn(
          `NSG ${n.name} lists ${count} ${side} address prefixes; Azure allows ${AZURE_LIMITS.prefixesPerNsgSide} per NSG`,
          'select workloads by labels (ASGs) rather than by address, or use wider CIDR blocks',
        )
    }
  }
  const perNic = new Map<string, number>()
  for (const a of asgs) {
    for (const m of a.members) perNic.set(m, (perNic.get(m) ?? 0) + 1)
    const configs = a.members.reduce((s, m) => {
      const local = p.enforced.get(m)?.local
      return s + (local ? local[4].length + local[6].length : 0)
    }, 0)
    if (configs > AZURE_LIMITS.ipConfigurationsPerAsg)
      warn(
        `ASG ${a.name} would hold ${configs} IP configurations; Azure allows ${AZURE_LIMITS.ipConfigurationsPerAsg} per ASG`,
        'split the group with a narrower selector',
      )
  }
  for (const [m, count] of [...perNic].sort()) {
    if (count > AZURE_LIMITS.asgsPerNic)
      warn(
        `workload "${m}" would join ${count} application security groups; Azure allows ${AZURE_LIMITS.asgsPerNic} per NIC IP configuration`,
        'use fewer distinct label selectors that match this workload',
      )
  }
  return out
}

/**
 * The azure-nsg target: one Terraform JSON file, {@link AZURE_NSG_FILE} (see
 * {@link renderAzureNsg}), for `terraform apply` in the output folder.
 */
export const azureNsgCompiler: Compiler<AzureNsgOptions> = planCompiler(
  'azure-nsg',
  AZURE_NSG_CAPABILITIES,
  planAzureNsg,
  (plan, options) => [{ path: AZURE_NSG_FILE, content: renderAzureNsg(plan, options.now) }],
)
