/**
 * @module The `aws-sg` compiler: what the policy set allows, as AWS VPC security groups in
 * Terraform JSON (`aws_security_group`, `aws_vpc_security_group_ingress_rule` /
 * `aws_vpc_security_group_egress_rule`, `aws_network_interface_sg_attachment`).
 *
 * Security groups are stateful and allow-only; the rules of every group on a network interface
 * are a union; inbound traffic is checked against the destination interface's groups, outbound
 * against the source's; a rule's peer is an IPv4 or IPv6 CIDR or a referenced group, which
 * matches the private addresses of the interfaces carrying it. So the target compiles **what
 * the policy set allows**, not the rules one by one (DESIGN.md rule 1: allows minus denies, as
 * {@link PolicyIndex.allowedServicesClasses} decides per pair of endpoint classes):
 *
 * - **Groups.** Every workload in `enforce` mode that holds an address at the compile instant
 *   (and is among `hosts`, when given) gets exactly one group; workloads whose addresses fall
 *   in the same endpoint classes (every rule treats them alike: same labels and policy blocks,
 *   as reachability groups them) share it. A group is named by its members' labels, never by
 *   the other groups ({@link securityGroupNames}): an edit renames only the groups of a label
 *   set it splits or joins, as azure-nsg names its NSGs (group-names.ts). A new name is a new
 *   group: `aws_security_group.name` forces a new resource, and AWS compares names without case.
 * - **Workloads** in `observe` mode (and enforced ones left out by `hosts`) get no group and
 *   are referred to by their addresses (`/32`, `/128`). `monitor` cannot be expressed: such a
 *   workload is `compile/unsupported-by-target` (`monitor-mode`), as for the cilium target.
 * - **Between two groups** H → G: G's ingress allows, per source address class of H, the union
 *   over G's classes of what the model allows, and H's egress, per destination class of G, the
 *   union over H's classes; when every class of a side gets the same set, one rule references
 *   the other group, otherwise one rule per address. A flow passes when both allow it (rule 5).
 * - **Address ranges** (the addresses no workload holds, cut by every CIDR selector, `except`
 *   and named external into regions of one endpoint class each) become CIDR rules with the
 *   region's allowed set; a region's block is split around a sub-block or workload address only
 *   when that one must not get the region's set (a deny, an `except`, a narrower rule), so an
 *   `any` rule with no deny is one `0.0.0.0/0` and one `::/0` rule.
 * - **ICMP errors and link control**, which the model allows whatever the rules
 *   (`decidedWithoutRules`), are allowed by each group from and to every address of its
 *   families: ICMP types 3, 4, 5, 11, 12, IGMP (protocol 2, `(ipv4-link-control)`) and ICMPv6
 *   types 1–4, 130–136, 143 (security groups take one ICMP type per rule, so the unassigned
 *   ICMPv6 error types 0 and 5–127 are not). IGMP from and to `0.0.0.0/0` holds the minimum
 *   rules AWS documents for Transit Gateway multicast (inbound protocol 2 from `0.0.0.0/32`, the
 *   queries; outbound to `224.0.0.2/32` and to the group, leaves and joins:
 *   https://docs.aws.amazon.com/vpc/latest/tgw/how-multicast-works.html, "Security groups"); it
 *   is no narrower because the model allows IGMP between any IPv4 addresses.
 * - **Direction** `ingress` (`egress`) filters only that side: the other gets one allow-all rule
 *   per family.
 * - **Compaction** (compact.ts, unless `compact: false`): per group and direction, rules that
 *   broader rules already allow go, neighbouring prefixes and touching port ranges merge, and a
 *   reference goes when CIDR rules hold all its members' addresses; exactly the same is allowed.
 *
 * Not expressible, `compile/not-expressible` (an error: a security group cannot do it, so
 * nothing is emitted): a workload whose addresses of one family the model treats differently
 * towards a peer whose own side does not filter (a group's rules apply to every address of the
 * interface, and ingress rules cannot match the destination address); two groups whose per-
 * address unions let through a pair the model denies; a partial port set of a protocol other
 * than TCP and UDP (AWS allows every port of such a protocol, whatever range is given).
 *
 * @remarks Semantics: DESIGN.md "Policy language v1" rules 1, 3, 5; security group rules and
 * referencing: https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html;
 * stateful tracking: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/security-group-connection-tracking.html;
 * protocols and ports: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpPermission.html
 * ("a protocol number other than tcp, udp, icmp, or icmpv6 allows traffic on all ports");
 * quotas: https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-security-groups;
 * group names (255 characters, "case-insensitive and must be unique within the VPC"):
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html.
 */
import {
  AddressRangeSet,
  ALL_ADDRESSES,
  BulkheadError,
  cidrContains,
  cidrCovers,
  hostCidr,
  formatIp,
  formatLabelSet,
  formatRuleRef,
  DECIDED_WITHOUT_RULES,
  ICMP_ERROR_TYPES,
  ICMP_OF_FAMILY,
  IGMP_PROTOCOL,
  IPV6_LINK_CONTROL_ICMP_TYPES,
  parseCidr,
  parseIp,
  ServiceSet,
  type Cidr,
  type Diagnostic,
  type EnforcementMode,
  type Inventory,
  type IpFamily,
  type LabelSet,
  type PolicySet,
  type Rule,
  type Workload,
} from '../../core/index.js'
import { heldAddresses } from '../../analyze/reachability.js'
import { PolicyIndex } from '../../policy/policy-index.js'
import {
  groupParts,
  labelIdentity,
  uniqueNames,
  type GroupToName,
  type NameRules,
} from '../group-names.js'
import { cloudGroupHolds, platformTrafficWarning } from '../platform-traffic.js'
import { checkHosts } from '../kubernetes/compile.js'
import { assertExpressible, planCompiler, type CompileOptions, type Compiler } from '../target.js'
import { hostMode } from '../nftables/compile.js'
import { AWS_SG_CAPABILITIES } from './capabilities.js'
import { compactGrants } from './compact.js'
import { awsRuleSpecs, awsText, ident, renderTerraform, AWS_SG_FILE } from './render.js'

/** Default of {@link AwsSgOptions.rulesPerGroupQuota}: AWS's default quota (L-0EA8095F). */
export const AWS_SG_RULES_PER_GROUP = 60

/** Options of the aws-sg target: the common ones and the account's rule quota. */
export interface AwsSgOptions extends CompileOptions {
  /**
   * Inbound or outbound rules per security group the account allows (per direction, IPv4 and
   * IPv6 counted apart, a group reference counting for both). Default
   * {@link AWS_SG_RULES_PER_GROUP}. A group above it is a `compile/cloud-limit-exceeded` warning.
   */
  readonly rulesPerGroupQuota?: number
  /**
   * Compact each group's rules (see compact.ts): drop what a broader rule of the group already
   * allows, merge touching port ranges and neighbouring prefixes. Default true; false writes
   * every grant as planned, rule for rule (to compare, and for the tests that compare).
   */
  readonly compact?: boolean
}

/** One direction of a security group's rules. */
export type SgDirection = 'ingress' | 'egress'

/** The far end of a rule: an address block, or the interfaces carrying a group. */
export type SgPeer =
  | { readonly kind: 'cidr'; readonly family: IpFamily; readonly cidr: string }
  | { readonly kind: 'group'; readonly group: string }

/** What one group allows to or from one peer: one or more AWS rules once rendered. */
export interface SgGrant {
  readonly direction: SgDirection
  readonly peer: SgPeer
  readonly services: ServiceSet
  /**
   * Where it comes from: the live allow rules (`policy/id`) the model allows it by, or one of
   * `(icmp-errors)`, `(ipv6-link-control)`, `(ipv4-link-control)` (IGMP),
   * `(direction-not-filtered)`.
   */
  readonly origin: readonly string[]
}

/** One security group of the plan. */
export interface SecurityGroupPlan {
  /** Terraform resource name: `sg_` and the members' labels, stable across compiles ({@link securityGroupNames}). */
  readonly key: string
  /** The group's AWS name: `bulkhead-` and the members' labels ({@link securityGroupNames}). */
  readonly name: string
  /** The members' labels (`formatLabelSet`), empty for unlabelled workloads. */
  readonly labels: string
  /** The workloads whose interfaces carry it, sorted. */
  readonly workloads: readonly string[]
  readonly grants: readonly SgGrant[]
}

/** What {@link planAwsSg} returns. */
export interface AwsSgPlan {
  /** Sorted by key. */
  readonly groups: readonly SecurityGroupPlan[]
  /**
   * The services each origin of a grant allows (a live allow rule `policy/id`: its services;
   * `(icmp-errors)`, `(ipv4-link-control)`, `(ipv6-link-control)`: the messages they pass;
   * `(direction-not-filtered)`: every service), so that each AWS rule of a grant names only the
   * origins of its own protocol and ports (`bulkhead:rules`, `description`).
   */
  readonly originServices: ReadonlyMap<string, ServiceSet>
  readonly diagnostics: readonly Diagnostic[]
}

/** IGMP, IPv4 link control: the whole protocol (it has no ports). */
const IGMP: ServiceSet = ServiceSet.single({ protocol: IGMP_PROTOCOL, ports: { lo: 0, hi: 65535 } })

/**
 * The ICMPv4 error messages (`ICMP_ERROR_TYPES`), one type each. Security groups relate no ICMP
 * error to the connection it quotes: "by default, security groups do not allow any inbound ICMP
 * traffic", and path MTU discovery needs an inbound Destination Unreachable rule
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/network_mtu.html, "Path MTU Discovery"),
 * so every group gets rules for them (`(icmp-errors)`).
 */
const ICMP4_ERRORS: ServiceSet = ServiceSet.of(
  ICMP_ERROR_TYPES.map((t) => ({ protocol: 1, ports: { lo: t, hi: t } })),
)

/** What every group allows from and to every address of a family it holds (see the module). */
const HOUSEKEEPING: readonly { family: IpFamily; origin: string; services: ServiceSet }[] = [
  {
    family: 4,
    origin: '(icmp-errors)',
    services: ICMP4_ERRORS,
  },
  { family: 4, origin: '(ipv4-link-control)', services: IGMP },
  {
    family: 6,
    origin: '(icmp-errors)',
    services: ServiceSet.single({ protocol: 58, ports: { lo: 1, hi: 4 } }),
  },
  {
    family: 6,
    origin: '(ipv6-link-control)',
    services: ServiceSet.of(
      IPV6_LINK_CONTROL_ICMP_TYPES.map((t) => ({ protocol: 58, ports: { lo: t, hi: t } })),
    ),
  },
]

const FAMILIES: readonly IpFamily[] = [4, 6]
const other = (f: IpFamily): IpFamily => (f === 4 ? 6 : 4)

/** One held address of a workload, with its endpoint class. */
interface Held {
  readonly ip: string
  readonly family: IpFamily
  readonly value: bigint
  readonly cls: number
  readonly workload: Workload
  /** The group of its workload, when it gets one. */
  node?: Node
}

/** A group under construction. */
interface Node {
  key: string
  name: string
  labels: string
  /** The members' labels (an endpoint class holds one label set). */
  readonly labelSet: LabelSet
  readonly members: Workload[]
  readonly classes: Record<IpFamily, number[]>
  readonly held: Held[]
}

/** A block of the address tree: a CIDR cut, its sub-blocks and the workload addresses right in it. */
interface Block {
  readonly cidr: Cidr
  readonly children: Block[]
  readonly held: Held[]
  /** The addresses no sub-block or workload takes (may be empty). */
  region: AddressRangeSet
  /** The endpoint class of the region's addresses, when the region is not empty. */
  cls?: number
  /**
   * {@link held} by group and endpoint class, in the order of each pair's first address: every
   * address of one pair is given the same by a group ({@link SgPlanner} `given`), so it is asked
   * once per pair rather than once per address.
   */
  keyed?: readonly HeldKey[]
}

/** The held addresses of a block with one group (or none) and one endpoint class. */
interface HeldKey {
  readonly node: Node | undefined
  readonly cls: number
  /** In the block's order; the first is the one named in errors. */
  readonly held: readonly Held[]
}

/** How two groups see each other (see the module comment), per ordered pair. */
interface PairPlan {
  /** Ingress at the destination: per source class, and one set for a group reference. */
  readonly inOf: Map<number, ServiceSet>
  readonly inRef: ServiceSet | undefined
  /** Egress at the source: per destination class, and one set for a group reference. */
  readonly outOf: Map<number, ServiceSet>
  readonly outRef: ServiceSet | undefined
  /** Families both groups hold. */
  readonly families: readonly IpFamily[]
}

/** The groups on the far side of a group's rules in one direction ({@link SgPlanner} `partners`). */
interface Partners {
  /** In the planner's group order. */
  readonly list: readonly Node[]
  readonly set: ReadonlySet<Node>
}

/** Live allow rules by group and groups by live allow rule, per side ({@link SgPlanner} `partners`). */
interface PartnerIndex {
  /** Per group: the allow rules whose `from` (`to`) matches one of its classes. */
  readonly allowFrom: Map<Node, readonly number[]>
  readonly allowTo: Map<Node, readonly number[]>
  /** Per allow rule: the groups of {@link allowFrom} (`to`: {@link allowTo}) holding it, in group order. */
  readonly sourcesOf: Map<number, Node[]>
  readonly targetsOf: Map<number, Node[]>
  /** A group's position in the planner's (sorted) group list. */
  readonly position: Map<Node, number>
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key)
  if (list) list.push(value)
  else map.set(key, [value])
}

/** AWS security group names: 255 characters, compared without case (group-names.ts). */
const SG_NAME_RULES: NameRules = {
  max: 255,
  separator: '.',
  fold: (n) => n.toLowerCase(),
  cut: (text, n) => text.slice(0, n),
}

/** Terraform resource names of security groups (`sg_` and {@link ident} text, case-sensitive). */
const SG_KEY_RULES: NameRules = { ...SG_NAME_RULES, max: 200, separator: '_', fold: (n) => n }

/**
 * The AWS names and Terraform keys of security groups, in order, each from its own label set:
 * `bulkhead-<labels>` (`formatLabelSet`, `unlabelled` for none) and `sg_<labels>` ({@link ident}:
 * lower case, other characters as `_`), so that groups coming and going rename no other. When the
 * rules split the workloads of one label set into several groups (a workload selector, a policy
 * block holding some of them), the group with the fewest rules keeps the plain name and each
 * other adds its first workload (`bulkhead-<labels>@<workload>`, `sg_<labels>_<workload>`:
 * {@link groupParts}). A name with characters AWS does not take, or over 255 characters, is cut
 * and ends in `.` and 8 hex digits of a hash of the exact labels; a name or key another group's
 * also reads as (AWS compares names without case, and {@link ident} is lossy: `a-b` and `a_b`)
 * stays with the group whose labels sort first, the others hashed ({@link uniqueNames}).
 */
export function securityGroupNames(
  groups: readonly GroupToName[],
): { name: string; key: string }[] {
  const parts = groupParts(groups)
  const ids = groups.map((g, i) => labelIdentity(g.labels, parts[i]))
  const bases = groups.map((g) => formatLabelSet(g.labels) || 'unlabelled')
  const names = uniqueNames(
    groups.map((_, i) => {
      const part = parts[i]
      const text = `bulkhead-${bases[i] as string}${part === undefined ? '' : `@${part}`}`
      return {
        identity: ids[i] as string,
        readable: awsText(text) === text ? text : undefined,
        lossy: awsText(text),
      }
    }),
    SG_NAME_RULES,
  )
  const keys = uniqueNames(
    groups.map((_, i) => {
      const part = parts[i]
      const text = `sg_${ident(bases[i] as string)}${part === undefined ? '' : `_${ident(part)}`}`
      return { identity: ids[i] as string, readable: text, lossy: text }
    }),
    SG_KEY_RULES,
  )
  return names.map((name, i) => ({ name, key: keys[i] as string }))
}

function notExpressible(message: string, hint: string): BulkheadError {
  return new BulkheadError([{ code: 'compile/not-expressible', severity: 'error', message, hint }])
}

/** The addresses of one block. */
const blockSet = (c: Cidr): AddressRangeSet => AddressRangeSet.fromCidrs(c.family, [c])

/**
 * Plans the security groups (see the module comment).
 * @throws UnsupportedByTargetError for a workload in `monitor` mode.
 * @throws BulkheadError `compile/not-expressible` (see the module comment), `compile/unknown-host`.
 */
export function planAwsSg(
  inventory: Inventory,
  policySet: PolicySet,
  options: AwsSgOptions,
): AwsSgPlan {
  return new SgPlanner(inventory, policySet, options).plan()
}

class SgPlanner {
  private readonly at: number
  private readonly index: PolicyIndex
  private readonly diagnostics: Diagnostic[] = []
  private readonly nodes: Node[] = []
  private readonly heldAll: Held[] = []
  private readonly rules = new Map<string, Rule>()
  private readonly pairs = new Map<string, PairPlan>()
  /** {@link partners} per group and direction, and the groups' allow-rule index it reads. */
  private readonly partnerMemo = new Map<Node, Partial<Record<SgDirection, Partners>>>()
  private partnerIndex: PartnerIndex | undefined
  private readonly ingress: boolean
  private readonly egress: boolean

  constructor(
    private readonly inventory: Inventory,
    private readonly policySet: PolicySet,
    private readonly options: AwsSgOptions,
  ) {
    this.at = options.now.getTime()
    const direction = options.direction ?? 'both'
    this.ingress = direction !== 'egress'
    this.egress = direction !== 'ingress'
    this.index = PolicyIndex.build(inventory, policySet, this.at)
    for (const p of policySet.policies)
      for (const r of p.rules) this.rules.set(formatRuleRef({ policy: p.name, id: r.id }), r)
  }

  plan(): AwsSgPlan {
    this.readWorkloads()
    const groups = this.nodes.map((g) => ({
      key: g.key,
      name: g.name,
      labels: g.labels,
      workloads: g.members.map((w) => w.name).sort(),
      grants: this.grantsOf(g),
    }))
    for (const g of groups)
      for (const grant of g.grants) {
        const specs = awsRuleSpecs(grant.services)
        if (typeof specs === 'string')
          throw notExpressible(
            `security group ${g.name}: the policy allows ${specs} ${grant.direction === 'ingress' ? 'from' : 'to'} ${peerText(grant.peer)} (rules ${grant.origin.join(', ')}), but a security group rule for a protocol other than TCP, UDP, ICMP and ICMPv6 allows every port`,
            'allow every port of that protocol, or none',
          )
      }
    return { groups, originServices: this.originServices(), diagnostics: this.diagnostics }
  }

  /** {@link AwsSgPlan.originServices}. */
  private originServices(): Map<string, ServiceSet> {
    const out = new Map<string, ServiceSet>([['(direction-not-filtered)', ServiceSet.ANY]])
    for (const h of HOUSEKEEPING)
      out.set(h.origin, (out.get(h.origin) ?? ServiceSet.EMPTY).union(h.services))
    for (const [ref, r] of this.rules)
      if (r.action === 'allow') out.set(ref, ServiceSet.of(r.services))
    return out
  }

  /** Modes, groups and held addresses of every workload. */
  private readWorkloads(): void {
    const { hosts } = this.options
    if (hosts !== undefined) checkHosts(this.inventory, hosts)
    const held = heldAddresses(this.inventory, this.at)
    const modes = new Set<EnforcementMode>()
    const byKey = new Map<string, Node>()
    this.inventory.workloads.forEach((w, i) => {
      const mine: Held[] = []
      for (const ip of held[i] ?? []) {
        const parsed = parseIp(ip)
        if (!parsed) continue
        const cls = this.index.endpointClass(ip, this.at)
        mine.push({ ip, family: parsed.family, value: parsed.value, cls, workload: w })
      }
      this.heldAll.push(...mine)
      // the workload's one mode, as the model gives it; `each`: its addresses' own modes
      const { mode, mixed } = hostMode(this.policySet, w, this.at)
      const compiled = hosts === undefined || hosts.includes(w.name)
      if (compiled) modes.add(mode)
      if (mixed) this.diagnostics.push(mixed)
      if (!compiled || mode !== 'enforce') return
      if (mine.length === 0) {
        this.diagnostics.push({
          code: 'compile/host-without-address',
          severity: 'warning',
          message: `workload "${w.name}" is enforced but holds no address at the compile instant: it gets no security group`,
          hint: 'give it an address in the inventory, or compile --at a time it holds one',
          ...(w.location ? { location: w.location } : {}),
        })
        return
      }
      const classes: Record<IpFamily, number[]> = { 4: [], 6: [] }
      for (const h of mine) if (!classes[h.family].includes(h.cls)) classes[h.family].push(h.cls)
      classes[4].sort((a, b) => a - b)
      classes[6].sort((a, b) => a - b)
      const key = JSON.stringify(classes)
      let node = byKey.get(key)
      if (node === undefined) {
        const labels = formatLabelSet(w.labels)
        node = { key: '', name: '', labels, labelSet: w.labels, members: [], classes, held: [] }
        byKey.set(key, node)
        this.nodes.push(node)
      }
      node.members.push(w)
      for (const h of mine) {
        h.node = node
        node.held.push(h)
      }
    })
    assertExpressible(
      'aws-sg',
      AWS_SG_CAPABILITIES,
      this.inventory,
      this.policySet,
      this.options.now,
      modes,
    )
    // readable, unique and stable names: the labels, and a workload for a label set's other parts
    const named = securityGroupNames(
      this.nodes.map((n) => {
        const rules = new Set<number>()
        for (const f of FAMILIES)
          for (const c of n.classes[f]) {
            const { from, to } = this.index.classRules(c)
            for (const i of from) rules.add(i)
            for (const i of to) rules.add(-1 - i)
          }
        return {
          labels: n.labelSet,
          members: n.members.map((w) => w.name).sort(),
          rules: rules.size,
        }
      }),
    )
    this.nodes.forEach((n, i) => {
      const { name, key } = named[i] as { name: string; key: string }
      n.name = name
      n.key = key
    })
    this.nodes.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  }

  /** What the model allows from class `src` to class `dst` (one family), rule-less ICMP left out. */
  private allowed(src: number, dst: number, family: IpFamily): ServiceSet {
    return this.index
      .allowedServicesClasses(src, dst)
      .subtract(ICMP_OF_FAMILY[other(family)])
      .subtract(DECIDED_WITHOUT_RULES[family])
  }

  /**
   * The one set group `g` allows to (`ingress`: from) a peer class that no group filters, on
   * `g`'s side; the same for every class of `g` in the peer's family, else not expressible.
   */
  private uniform(
    peer: number,
    family: IpFamily,
    g: Node,
    dir: SgDirection,
    what: string,
  ): ServiceSet {
    let set: ServiceSet | undefined
    let first = -1
    for (const c of g.classes[family]) {
      const s = dir === 'ingress' ? this.allowed(peer, c, family) : this.allowed(c, peer, family)
      if (set === undefined) {
        set = s
        first = c
      } else if (!set.equals(s)) {
        const [a, b] = [first, c].map((k) => g.held.find((h) => h.cls === k)?.ip ?? '?')
        const verb = dir === 'ingress' ? 'from' : 'to'
        throw notExpressible(
          `security group ${g.name}: the policy allows ${verb} ${what} ${set.toString() || 'nothing'} for ${a} but ${s.toString() || 'nothing'} for ${b}, two addresses of one interface; a security group's rules apply to every address of the interface`,
          'make the rules treat both addresses alike (a CIDR selector that takes both or neither), or enforce one of them elsewhere',
        )
      }
    }
    return set ?? ServiceSet.EMPTY
  }

  /** The live allow rules that allow part of `services` between one of the class pairs. */
  private origins(pairs: readonly (readonly [number, number])[], services: ServiceSet): string[] {
    const out = new Set<string>()
    for (const [s, d] of pairs) {
      const to = new Set(this.index.classRules(d).to)
      for (const i of this.index.classRules(s).from) {
        if (!to.has(i)) continue
        const r = this.index.ruleAt(i)
        if (r.action !== 'allow') continue
        const ref = formatRuleRef(r)
        const rule = this.rules.get(ref)
        if (rule && !ServiceSet.of(rule.services).intersect(services).isEmpty) out.add(ref)
      }
    }
    return [...out].sort()
  }

  /** How `src` and `dst` see each other; checks the pair is exact (see the module comment). */
  private pair(src: Node, dst: Node): PairPlan {
    const memoKey = `${src.key} ${dst.key}`
    const known = this.pairs.get(memoKey)
    if (known) return known
    const families = FAMILIES.filter((f) => src.classes[f].length > 0 && dst.classes[f].length > 0)
    // what the model allows per class pair, asked once here for the three uses below
    const memo = new Map<string, ServiceSet>()
    const allowed = (cs: number, cd: number, f: IpFamily): ServiceSet => {
      const k = `${cs} ${cd} ${f}`
      let a = memo.get(k)
      if (a === undefined) {
        a = this.allowed(cs, cd, f)
        memo.set(k, a)
      }
      return a
    }
    const inOf = new Map<number, ServiceSet>()
    const outOf = new Map<number, ServiceSet>()
    for (const f of families) {
      for (const cs of src.classes[f]) {
        let u = ServiceSet.EMPTY
        for (const cd of dst.classes[f]) u = u.union(allowed(cs, cd, f))
        inOf.set(cs, u)
      }
      for (const cd of dst.classes[f]) {
        let u = ServiceSet.EMPTY
        for (const cs of src.classes[f]) u = u.union(allowed(cs, cd, f))
        outOf.set(cd, u)
      }
    }
    // one set for every class (each compared without the other family's ICMP): a reference
    const refOf = (sets: Map<number, ServiceSet>, n: Node): ServiceSet | undefined => {
      let all = ServiceSet.EMPTY
      for (const s of sets.values()) all = all.union(s)
      for (const f of families)
        for (const c of n.classes[f])
          if (!all.subtract(ICMP_OF_FAMILY[other(f)]).equals(sets.get(c) ?? ServiceSet.EMPTY))
            return undefined
      return all
    }
    const plan: PairPlan = {
      inOf,
      inRef: refOf(inOf, src),
      outOf,
      outRef: refOf(outOf, dst),
      families,
    }
    // a flow passes the source's egress and the destination's ingress: their sets per address
    // must meet in exactly what the model allows (two addresses of one workload never meet a
    // security group, so a one-workload group is not checked against itself)
    const selfOnly = src === dst && src.members.length === 1
    for (const f of selfOnly ? [] : families)
      for (const cs of src.classes[f])
        for (const cd of dst.classes[f]) {
          const e = this.egress ? (outOf.get(cd) ?? ServiceSet.EMPTY) : ServiceSet.ANY
          const i = this.ingress ? (inOf.get(cs) ?? ServiceSet.EMPTY) : ServiceSet.ANY
          const want = allowed(cs, cd, f)
          if (
            !e
              .intersect(i)
              .subtract(DECIDED_WITHOUT_RULES[f])
              .subtract(ICMP_OF_FAMILY[other(f)])
              .equals(want)
          ) {
            const a = src.held.find((h) => h.cls === cs)?.ip ?? '?'
            const b = dst.held.find((h) => h.cls === cd)?.ip ?? '?'
            throw notExpressible(
              `security groups ${src.name} -> ${dst.name}: the policy allows ${a} -> ${b} ${want.toString() || 'nothing'}, but the egress of ${src.name} and the ingress of ${dst.name}, which apply to every address of their interfaces, would let through ${e.intersect(i).toString()}`,
              'make the rules treat all addresses of each workload alike (a CIDR selector that takes all of them or none)',
            )
          }
        }
    this.pairs.set(memoKey, plan)
    return plan
  }

  /** Every grant of group `g`, sorted (see the module comment). */
  private grantsOf(g: Node): SgGrant[] {
    const grants: SgGrant[] = []
    for (const dir of ['ingress', 'egress'] as const) {
      const filtered = dir === 'ingress' ? this.ingress : this.egress
      const families = FAMILIES.filter((f) => g.classes[f].length > 0)
      if (!filtered) {
        for (const f of FAMILIES)
          grants.push({
            direction: dir,
            peer: { kind: 'cidr', family: f, cidr: ALL_ADDRESSES[f].text },
            services: ServiceSet.ANY,
            origin: ['(direction-not-filtered)'],
          })
        continue
      }
      for (const h of HOUSEKEEPING)
        if (families.includes(h.family))
          grants.push({
            direction: dir,
            peer: { kind: 'cidr', family: h.family, cidr: ALL_ADDRESSES[h.family].text },
            services: h.services,
            origin: [h.origin],
          })
      grants.push(...this.groupGrants(g, dir), ...this.addressGrants(g, dir))
    }
    const merged = mergeGrants(grants)
    if (this.options.compact === false) return merged
    const members = new Map(this.nodes.map((n) => [n.key, n.held]))
    return mergeGrants(compactGrants(merged, (group) => members.get(group) ?? []))
  }

  /**
   * The groups that can have an allowed connection with `g`: the sources of its ingress
   * (`dir` `ingress`) or the destinations of its egress, in {@link nodes} order, and as a set.
   *
   * Only these pairs are planned ({@link pair}); every other pair gets nothing, which is what
   * {@link pair} would answer. Proof: {@link pair}'s sets are unions of `allowed(cs, cd, f)` over
   * the class pairs of the two groups, and `allowed` is a subset of
   * {@link PolicyIndex.allowedServicesClasses}, whose services are the cells of the decision
   * table of the rules in `classRules(cs).from ∩ classRules(cd).to` coded "allowed by rule i";
   * such a cell needs an allow rule `i` in that intersection, and deny rules only turn allowed
   * cells into denied ones (deny beats allow, DESIGN.md rule 1), never the reverse. So when no
   * allow rule matches a class of the source group in `from` and a class of the destination group
   * in `to` (the index below, built from the same `classRules`), `allowed` is empty for every
   * class pair: `inOf`/`outOf` hold only empty sets, `inRef`/`outRef` are empty (so
   * {@link groupGrants} writes nothing and {@link given} answers empty), and the exactness check
   * compares empty with empty (at least one direction is filtered), so it cannot throw. The pairs
   * left are visited in the order the loop over every group visited them, so the first
   * `compile/not-expressible` raised is the same one.
   */
  private partners(g: Node, dir: SgDirection): Partners {
    let memo = this.partnerMemo.get(g)
    if (memo === undefined) {
      memo = {}
      this.partnerMemo.set(g, memo)
    }
    const known = memo[dir]
    if (known) return known
    const idx = (this.partnerIndex ??= this.buildPartnerIndex())
    const rules = (dir === 'ingress' ? idx.allowTo : idx.allowFrom).get(g) ?? []
    const by = dir === 'ingress' ? idx.sourcesOf : idx.targetsOf
    const set = new Set<Node>()
    for (const i of rules) for (const h of by.get(i) ?? []) set.add(h)
    const list = [...set].sort((a, b) => (idx.position.get(a) ?? 0) - (idx.position.get(b) ?? 0))
    const out = { list, set }
    memo[dir] = out
    return out
  }

  /** Each group's live allow rules matching one of its classes in `from` (`to`), and their inverse. */
  private buildPartnerIndex(): PartnerIndex {
    const isAllow = new Map<number, boolean>()
    const allow = (i: number): boolean => {
      let a = isAllow.get(i)
      if (a === undefined) {
        a = this.index.ruleAt(i).action === 'allow'
        isAllow.set(i, a)
      }
      return a
    }
    const idx: PartnerIndex = {
      allowFrom: new Map(),
      allowTo: new Map(),
      sourcesOf: new Map(),
      targetsOf: new Map(),
      position: new Map(),
    }
    this.nodes.forEach((n, k) => {
      idx.position.set(n, k)
      const from = new Set<number>()
      const to = new Set<number>()
      for (const f of FAMILIES)
        for (const c of n.classes[f]) {
          const r = this.index.classRules(c)
          for (const i of r.from) if (allow(i)) from.add(i)
          for (const i of r.to) if (allow(i)) to.add(i)
        }
      idx.allowFrom.set(n, [...from])
      idx.allowTo.set(n, [...to])
      for (const i of from) push(idx.sourcesOf, i, n)
      for (const i of to) push(idx.targetsOf, i, n)
    })
    return idx
  }

  /** Grants of `g` towards every group that can have an allowed connection with it ({@link partners}). */
  private groupGrants(g: Node, dir: SgDirection): SgGrant[] {
    const out: SgGrant[] = []
    for (const h of this.partners(g, dir).list) {
      const p = dir === 'ingress' ? this.pair(h, g) : this.pair(g, h)
      const far = h
      const sets = dir === 'ingress' ? p.inOf : p.outOf
      const ref = dir === 'ingress' ? p.inRef : p.outRef
      const pairsOf = (c: number): [number, number][] =>
        p.families.flatMap((f) =>
          g.classes[f].map((mine): [number, number] => (dir === 'ingress' ? [c, mine] : [mine, c])),
        )
      if (ref !== undefined) {
        if (ref.isEmpty) continue
        const classes = p.families.flatMap((f) => far.classes[f])
        out.push({
          direction: dir,
          peer: { kind: 'group', group: far.key },
          services: simplest(ref, this.harmlessForReference(p.families)),
          origin: this.origins(classes.flatMap(pairsOf), ref),
        })
      }
      // each held address its own rule, but those the reference holds; a member's public IPv4
      // is no private address of its interface, so the reference does not hold it
      // (cloudGroupHolds)
      for (const a of far.held) {
        if (ref !== undefined && cloudGroupHolds(a)) continue
        const s = sets.get(a.cls)
        if (s === undefined || s.isEmpty) continue
        out.push({
          direction: dir,
          peer: { kind: 'cidr', family: a.family, cidr: hostText(a) },
          services: simplest(s, harmlessFor(a.family)),
          origin: this.origins(pairsOf(a.cls), s),
        })
      }
    }
    return out
  }

  /** What a reference may also allow without changing a verdict (families not in play, rule-less ICMP). */
  private harmlessForReference(families: readonly IpFamily[]): ServiceSet {
    let h = DECIDED_WITHOUT_RULES[4].union(DECIDED_WITHOUT_RULES[6])
    for (const f of FAMILIES) if (!families.includes(f)) h = h.union(ICMP_OF_FAMILY[f])
    return h
  }

  /**
   * What `g` gives (`dir`) an address anyway: a grouped workload's address what the pair
   * grants it, another workload's address its uniform set.
   */
  private given(g: Node, dir: SgDirection, a: Held): ServiceSet {
    if (a.node) {
      if (!this.partners(g, dir).set.has(a.node)) return ServiceSet.EMPTY // see partners()
      const p = dir === 'ingress' ? this.pair(a.node, g) : this.pair(g, a.node)
      if (!p.families.includes(a.family)) return ServiceSet.EMPTY
      const ref = dir === 'ingress' ? p.inRef : p.outRef
      if (ref !== undefined) return ref.subtract(ICMP_OF_FAMILY[other(a.family)])
      return (dir === 'ingress' ? p.inOf : p.outOf).get(a.cls) ?? ServiceSet.EMPTY
    }
    return this.uniform(a.cls, a.family, g, dir, `workload ${a.workload.name} (${a.ip})`)
  }

  /** Grants of `g` towards address ranges and workloads without a group. */
  private addressGrants(g: Node, dir: SgDirection): SgGrant[] {
    const out: SgGrant[] = []
    for (const f of FAMILIES) {
      if (g.classes[f].length === 0) continue
      const root = this.tree(f)
      const regions = new Map<Block, ServiceSet | undefined>()
      const regionSet = (b: Block): ServiceSet | undefined => {
        if (regions.has(b)) return regions.get(b)
        const set =
          b.cls === undefined
            ? undefined
            : this.uniform(
                b.cls,
                f,
                g,
                dir,
                `the addresses of ${b.cidr.text} no narrower block or workload takes`,
              )
        regions.set(b, set)
        return set
      }
      // what `g` gives each (group, class) of held addresses, asked at its first address
      const givenOf = new Map<HeldKey, ServiceSet>()
      const given = (k: HeldKey): ServiceSet => {
        let set = givenOf.get(k)
        if (set === undefined) {
          set = this.given(g, dir, k.held[0] as Held)
          givenOf.set(k, set)
        }
        return set
      }
      const need = new Map<Block, ServiceSet>()
      const needOf = (b: Block): ServiceSet => {
        let n = regionSet(b) ?? ServiceSet.ANY
        for (const c of b.children) n = n.intersect(needOf(c))
        for (const k of b.keyed ?? []) n = n.intersect(given(k))
        need.set(b, n)
        return n
      }
      needOf(root)
      const pairsWith = (c: number): [number, number][] =>
        g.classes[f].map((mine) => (dir === 'ingress' ? [c, mine] : [mine, c]))
      const visit = (b: Block, covered: ServiceSet): void => {
        const s = regionSet(b)
        const emit = s !== undefined && !s.subtract(covered).isEmpty
        const cut = (n: ServiceSet): boolean => emit && !s.subtract(n).isEmpty
        const holes: Cidr[] = []
        for (const c of b.children) {
          const isCut = cut(need.get(c) ?? ServiceSet.EMPTY)
          if (isCut) holes.push(c.cidr)
          visit(c, emit && !isCut ? covered.union(s) : covered)
        }
        for (const k of b.keyed ?? []) {
          const set = given(k)
          const isCut = cut(set)
          if (isCut) for (const a of k.held) holes.push(hostCidr(a))
          if (k.node) continue // the group grants
          const cov = emit && !isCut ? covered.union(s) : covered
          if (set.subtract(cov).isEmpty) continue
          const services = simplest(set, harmlessFor(f))
          const origin = this.origins(pairsWith(k.cls), set)
          for (const a of k.held)
            out.push({
              direction: dir,
              peer: { kind: 'cidr', family: f, cidr: hostText(a) },
              services,
              origin,
            })
        }
        if (!emit) return
        const origin = this.origins(pairsWith(b.cls as number), s)
        for (const cidr of blockSet(b.cidr).minus(AddressRangeSet.fromCidrs(f, holes)).toCidrs())
          out.push({
            direction: dir,
            peer: { kind: 'cidr', family: f, cidr },
            services: simplest(s, harmlessFor(f)),
            origin,
          })
      }
      visit(root, ServiceSet.EMPTY)
    }
    return out
  }

  private readonly trees = new Map<IpFamily, Block>()

  /**
   * The address tree of one family: `/0`, every policy block (CIDR selectors and their
   * `except`, in rules and Enforcement entries) and every named external, nested; each
   * workload address in the narrowest block holding it; each block's region and its class.
   */
  private tree(family: IpFamily): Block {
    const known = this.trees.get(family)
    if (known) return known
    const cuts = new Map<string, Cidr>()
    const add = (c: Cidr): void => {
      if (c.family === family) cuts.set(c.text, c)
    }
    const sels = [
      ...this.policySet.policies.flatMap((p) => p.rules.flatMap((r) => [...r.from, ...r.to])),
      ...this.policySet.enforcement.map((e) => e.selector),
    ]
    for (const s of sels) if (s.kind === 'cidr') for (const c of [s.cidr, ...s.except]) add(c)
    for (const x of this.inventory.externals) add(x.cidr)
    const root: Block = {
      cidr: ALL_ADDRESSES[family],
      children: [],
      held: [],
      region: AddressRangeSet.empty(family),
    }
    const deepest = (ip: { family: IpFamily; value: bigint }): Block => {
      let b = root
      for (;;) {
        const next = b.children.find((c) => cidrContains(c.cidr, ip))
        if (!next) return b
        b = next
      }
    }
    const sorted = [...cuts.values()]
      .filter((c) => c.prefix > 0)
      .sort((a, b) => a.prefix - b.prefix || (a.base < b.base ? -1 : 1))
    for (const c of sorted)
      deepest({ family, value: c.base }).children.push({
        cidr: c,
        children: [],
        held: [],
        region: AddressRangeSet.empty(family),
      })
    for (const h of this.heldAll) if (h.family === family) deepest(h).held.push(h)
    const fill = (b: Block): void => {
      b.region = blockSet(b.cidr).minus(
        AddressRangeSet.fromCidrs(family, [
          ...b.children.map((c) => c.cidr),
          ...b.held.map(hostCidr),
        ]),
      )
      const first = b.region.ranges[0]
      if (first) b.cls = this.index.endpointClass(formatIp({ family, value: first.lo }), this.at)
      const keyed = new Map<string, { node: Node | undefined; cls: number; held: Held[] }>()
      for (const h of b.held) {
        const k = `${h.node?.key ?? '\u0000'} ${h.cls}`
        const e = keyed.get(k)
        if (e) e.held.push(h)
        else keyed.set(k, { node: h.node, cls: h.cls, held: [h] })
      }
      b.keyed = [...keyed.values()]
      b.children.forEach(fill)
    }
    fill(root)
    this.trees.set(family, root)
    return root
  }
}

/**
 * The IPv4 block security groups never filter: "Amazon security groups and network ACLs don't
 * filter traffic to or from link-local addresses (169.254.0.0/16)"
 * (https://docs.aws.amazon.com/vpc/latest/userguide/VPC_Security.html): instance metadata
 * (169.254.169.254), Time Sync (169.254.169.123), the Amazon DNS (169.254.169.253). Stable.
 */
export const AWS_UNFILTERED_IPV4 = '169.254.0.0/16'

/** A held address as a host block. */
function hostText(a: Held): string {
  return `${a.ip}/${a.family === 4 ? 32 : 128}`
}

/** What a rule of one family may also allow without changing a verdict. */
function harmlessFor(family: IpFamily): ServiceSet {
  return ICMP_OF_FAMILY[other(family)].union(DECIDED_WITHOUT_RULES[family])
}

/** `exact` or `exact ∪ harmless`, whichever renders to fewer AWS rules. */
function simplest(exact: ServiceSet, harmless: ServiceSet): ServiceSet {
  const wide = exact.union(harmless)
  const count = (s: ServiceSet): number => {
    const specs = awsRuleSpecs(s)
    return typeof specs === 'string' ? Number.POSITIVE_INFINITY : specs.length
  }
  return count(wide) < count(exact) ? wide : exact
}

/** Peer text for sorting and merging. */
export function peerText(p: SgPeer): string {
  return p.kind === 'cidr' ? p.cidr : `sg:${p.group}`
}

/** Grants with one peer and direction merged (services and origins united), sorted. */
function mergeGrants(grants: readonly SgGrant[]): SgGrant[] {
  const by = new Map<string, SgGrant>()
  for (const g of grants) {
    const k = `${g.direction} ${peerText(g.peer)}`
    const prev = by.get(k)
    by.set(
      k,
      prev
        ? {
            ...prev,
            services: prev.services.union(g.services),
            origin: [...new Set([...prev.origin, ...g.origin])].sort(),
          }
        : g,
    )
  }
  return [...by.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, g]) => g)
}

/**
 * `compile/platform-traffic-unfiltered`, when a policy rule names addresses inside
 * {@link AWS_UNFILTERED_IPV4} (a `cidr` selector or named external there) and some group has a
 * member with an IPv4 address: security groups do not filter that traffic, so what such a rule
 * says of it (a deny of instance metadata, say) is not enforced. The default deny of the rest of
 * link-local is not enforced either; it is said only where the policy speaks of link-local.
 */
export function linkLocalWarning(
  plan: AwsSgPlan,
  inventory: Inventory,
  policySet: PolicySet,
): Diagnostic[] {
  const members = new Set(plan.groups.flatMap((g) => g.workloads))
  const v4 = inventory.workloads.filter(
    (w) => members.has(w.name) && w.addresses.some((a) => parseIp(a.ip)?.family === 4),
  )
  if (v4.length === 0) return []
  return platformTrafficWarning(
    policySet,
    inventory,
    (c) => c.family === 4 && cidrCovers(AWS_LINK_LOCAL, c),
    `security groups do not filter traffic to or from link-local ${AWS_UNFILTERED_IPV4} (instance metadata 169.254.169.254, Time Sync 169.254.169.123, Amazon DNS 169.254.169.253), so ${String(v4.length)} enforced workload(s) reach it whatever these rules say; restrict instance metadata on the instance (IMDSv2 hop limit, a host firewall)`,
  )
}

/** {@link AWS_UNFILTERED_IPV4} as a block. */
export const AWS_LINK_LOCAL = parseCidr(AWS_UNFILTERED_IPV4) as Cidr

/**
 * Counts the rules each group has per direction and family after rendering, and warns
 * (`compile/cloud-limit-exceeded`) for each above `quota` (a group reference counts for IPv4 and
 * IPv6, as AWS counts it).
 */
export function quotaWarnings(plan: AwsSgPlan, quota: number): Diagnostic[] {
  const out: Diagnostic[] = []
  for (const g of plan.groups) {
    for (const dir of ['ingress', 'egress'] as const) {
      const count: Record<IpFamily, number> = { 4: 0, 6: 0 }
      for (const grant of g.grants) {
        if (grant.direction !== dir) continue
        const specs = awsRuleSpecs(grant.services)
        const n = typeof specs === 'string' ? 0 : specs.length
        if (grant.peer.kind === 'group') {
          count[4] += n
          count[6] += n
        } else count[grant.peer.family] += n
      }
      for (const f of FAMILIES)
        if (count[f] > quota)
          out.push({
            code: 'compile/cloud-limit-exceeded',
            severity: 'warning',
            message: `security group ${g.name} has ${count[f]} ${dir === 'ingress' ? 'inbound' : 'outbound'} IPv${f} rules; the quota is ${quota} (inbound or outbound rules per security group, IPv4 and IPv6 counted apart): terraform apply fails with RulesPerSecurityGroupLimitExceeded`,
            hint: `request an increase of quota L-0EA8095F (rules per group × groups per interface may not exceed 1000) and compile with --sg-rule-quota, or use fewer address ranges, port ranges and denies that cut them`,
          })
    }
  }
  return out
}

/**
 * The aws-sg target: one file, {@link AWS_SG_FILE}, Terraform JSON for the AWS provider v5
 * (see render.ts), with `compile/cloud-limit-exceeded`, `compile/mixed-mode`,
 * `compile/host-without-address` and the later-change warnings.
 */
export const awsSgCompiler: Compiler<AwsSgOptions> = planCompiler(
  'aws-sg',
  AWS_SG_CAPABILITIES,
  (inventory, policySet, options: AwsSgOptions) => {
    const plan = planAwsSg(inventory, policySet, options)
    const quota = options.rulesPerGroupQuota ?? AWS_SG_RULES_PER_GROUP
    return {
      ...plan,
      diagnostics: [
        ...plan.diagnostics,
        ...quotaWarnings(plan, quota),
        ...linkLocalWarning(plan, inventory, policySet),
      ],
    }
  },
  (plan, options) => [{ path: AWS_SG_FILE, content: renderTerraform(plan, options.now) }],
)
