/**
 * @module The nftables compiler: per host, the exact set of allowed (peer address, protocol,
 * port) per direction, as peer maps that send each peer to the chain of its service class,
 * then rendered as one ruleset file.
 *
 * How a host plan is built, for each address family:
 *
 * - The address space is cut into elementary intervals at every boundary that can change a
 *   selector's answer: each policy CIDR block and `except` block, each named external's block,
 *   and each workload address held at `now` (a single-address interval). Inside one interval
 *   every address resolves to the same entity kind and lies in the same blocks, so one
 *   representative address answers for all (`resolveEntity` (policy/evaluate.ts), {@link selectorMatches}).
 * - For each interval (and each address of the host) the live rules whose `from` and `to`
 *   match are found with the reference {@link selectorMatches}, once per endpoint class (entity
 *   part and longest rule CIDR block: {@link Universe.match}); the allowed services are the
 *   union of the matching allow rules' services minus the union of the matching deny rules'
 *   (DESIGN.md rule 1: deny beats allow, nothing allowed by default), exactly as
 *   {@link evaluate} decides each flow. The peers of an own address depend only on the rules
 *   its class matches, so they are found once per rule list, visiting only the intervals an
 *   allow rule of the list matches ({@link Universe.peerRuns}), and shared by every host
 *   address with that list: compile time grows with workloads, rules and the rulesets written,
 *   not with hosts × address space.
 * - Adjacent intervals with equal allowed services are merged into peer runs. Each distinct
 *   allowed service set is a class (one chain); a single-address run is an element of an exact
 *   (hash) map, a longer run an element of an interval map, and an identity all of whose
 *   addresses are single-address peers of one class may be matched through its identity set
 *   instead (at most {@link MAX_IDENTITY_RULES} per own address). Per-packet cost is a bounded
 *   number of lookups (exact and interval peer maps, identity sets, the class's port set),
 *   whatever the number of rules; intervals and concatenations, the costly case for nftables
 *   (kernel `pipapo` sets and userspace), are used only where a range needs them.
 * - A packet to a multicast group or the limited broadcast is judged as the flow from its
 *   sender to that address, at the sender's egress (the group is a peer like any other) and at
 *   the ingress of every host that receives it: each enforced host's ingress also looks up the
 *   group destinations some allow rule's `to` reaches ({@link FamilyMaps.groups}), with their
 *   allowed senders, so that the receivers accept what the model allows (an mDNS answer to
 *   `224.0.0.251`, a DHCP broadcast) and drop what it denies. The model names no receiver: which
 *   hosts joined a group is the network's business, so every enforced host accepts what may be
 *   sent to the group; connection protocols (TCP, SCTP, DCCP) aside, which no host sends to a
 *   group or accepts so addressed ({@link Universe.groupRuns}).
 * @remarks Semantics: DESIGN.md "Policy language v1" rules 1–5, "Enforcement and verification".
 */
import {
  BulkheadError,
  CidrTrie,
  NON_UNICAST_RANGES,
  cidrRange,
  familyBits,
  formatIp,
  formatLabelSet,
  formatRuleRef,
  formatService,
  IntervalSet,
  IPV6_EXTENSION_HEADERS,
  intersectSorted,
  parseCidr,
  parseIp,
  selectorMatches,
  ServiceSet,
  type Cidr,
  type Diagnostic,
  type EnforcementMode,
  type Endpoint,
  type Entity,
  type External,
  type Inventory,
  type IpAddress,
  type IpFamily,
  type LabelSet,
  type Policy,
  type PolicySet,
  type PortRange,
  type Rule,
  type Selector,
  type Workload,
} from '../../core/index.js'
import { addressHoldsAt, isLive, workloadEnforcement } from '../../policy/evaluate.js'
import {
  assertExpressible,
  DEFAULT_MAX_TIME_SLICES,
  laterChangeWarnings,
  timeSlices,
  type TimeSlicing,
  type Artefact,
  type CompileOptions,
  type CompileResult,
  type Compiler,
} from '../target.js'
import { NFTABLES_CAPABILITIES, PORT_PROTOCOLS } from './capabilities.js'
import { renderHost, renderHostSlices } from './render.js'

/** Options of the nftables target (`bulkhead compile --target nftables`). */
export interface NftablesOptions extends CompileOptions {
  /**
   * Accept tcp/22 from {@link managementCidrs} on every enforced or monitored host whatever the
   * policy says, so that a wrong policy cannot lock the operator out. Default true; each host
   * where it applies gets a `compile/anti-lockout` warning.
   */
  readonly antiLockout?: boolean
  /** Sources of the anti-lockout rule. Default {@link DEFAULT_MANAGEMENT_CIDRS}. */
  readonly managementCidrs?: readonly Cidr[]
  /** Seconds a would-be-blocked connection stays in the monitor set after its last packet. Default 3600. */
  readonly monitorTimeout?: number
  /**
   * Fewest addresses (of one family) an identity needs for its peers to be matched through its
   * identity set instead of one peer-map element per address. Default
   * {@link MIN_IDENTITY_ADDRESSES}; 1 uses identity sets wherever they qualify (tests do).
   */
  readonly identitySetMinAddresses?: number
  /**
   * Most time slices per ruleset (whole number ≥ 1; default {@link DEFAULT_MAX_TIME_SLICES}):
   * the ruleset switches by itself, on the kernel's clock, at the first `maxTimeSlices - 1`
   * instants after `now` at which a rule expires or a workload address starts or stops
   * ({@link planTimeSlices}); later ones are warnings. 1 compiles what holds at `now` alone.
   */
  readonly maxTimeSlices?: number
}

/** Default anti-lockout sources: RFC 1918 and RFC 4193 (unique local) ranges. */
export const DEFAULT_MANAGEMENT_CIDRS: readonly Cidr[] = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  'fc00::/7',
].map((t) => parseCidr(t) as Cidr)

/** An inclusive range of addresses of one family, as integers. */
export interface AddressRange {
  readonly lo: bigint
  readonly hi: bigint
}

/**
 * The services one class of peers may use, split by how nftables matches them: `ports` are
 * (protocol, destination port range) pairs of the port protocols ({@link PORT_PROTOCOLS},
 * matched with `meta l4proto . th dport`), `icmp` ICMP (IPv4) or ICMPv6 (IPv6) type ranges,
 * `proto` ranges of every other IANA protocol number (no ports: the model gives their flows
 * port 0). Each class is rendered as one chain that accepts exactly these services.
 */
export interface ServiceClass {
  readonly ports: readonly { readonly proto: number; readonly port: PortRange }[]
  readonly icmp: readonly PortRange[]
  readonly proto: readonly PortRange[]
}

/**
 * One allowed (source range, destination range, protocol, port) element, as the iptables
 * target consumes the plan ({@link familyElements}). For ingress `src` is the peer and `dst`
 * one of the host's addresses or a group destination range ({@link GroupPeers}), for egress the
 * reverse. `proto` is a range of IANA protocol
 * numbers; `port` the destination port range (`ports`) or ICMP type range (`icmp`), absent
 * for `proto`.
 */
export interface MapElement {
  readonly src: AddressRange
  readonly dst: AddressRange
  readonly proto: PortRange
  readonly port?: PortRange
}

/** One peer element: a peer address range and the class (index into {@link FamilyMaps.classes}) it is allowed. */
export interface PeerElement {
  readonly peer: AddressRange
  readonly cls: number
}

/**
 * The peers of one of the host's own addresses in one direction (ingress: sources that may
 * reach `local`; egress: destinations `local` may reach). Peers not listed are denied.
 * The three lists are disjoint and each address is in at most one element of them.
 */
export interface LocalPeers {
  readonly local: bigint
  /**
   * Identities (index into {@link HostPlan.identities}) all of whose addresses of this family
   * are peers of class `cls`: matched through the identity set `id_<n>_v<family>` instead of one
   * map element per address. At most {@link MAX_IDENTITY_RULES} per local address, so the
   * per-packet cost stays bounded whatever the number of rules.
   */
  readonly identities: readonly { readonly identity: number; readonly cls: number }[]
  /** Single-address peers (hash map, exact match). */
  readonly exact: readonly PeerElement[]
  /** Peer ranges of more than one address (interval map). */
  readonly ranges: readonly PeerElement[]
}

/**
 * The senders of one group destination of the host's ingress ({@link FamilyMaps.groups}): the
 * peers of {@link LocalPeers}, for packets whose destination lies in `dst` instead of being one
 * of the host's own addresses.
 */
export interface GroupPeers extends Omit<LocalPeers, 'local'> {
  /**
   * Multicast or limited broadcast destination addresses (inside core `NON_UNICAST_RANGES`)
   * whose allowed senders and services are the same: `224.0.0.251` alone for an mDNS rule.
   */
  readonly dst: AddressRange
}

/**
 * The verdict structure of one direction and family: per own address, the peers and their
 * class; per class, the services. A packet costs one lookup per structure (identity sets,
 * exact map, interval map, then the class's port set), whatever the number of rules.
 */
export interface FamilyMaps {
  readonly locals: readonly LocalPeers[]
  /**
   * Ingress only: the multicast and limited broadcast destinations some live allow rule's `to`
   * reaches, in address order, each with the senders the rules allow to it. Any host may receive
   * a group's packets, so every enforced host accepts them from those senders, as the model
   * allows the flow from the sender to the group (DESIGN.md rule 5: one global rule set, the
   * same answer at egress and ingress). Empty for egress, where a group is an ordinary peer.
   */
  readonly groups: readonly GroupPeers[]
  readonly classes: readonly ServiceClass[]
}

/** One identity's addresses at `now` (sets `id_<n>_v4` / `id_<n>_v6`). */
export interface IdentityAddresses {
  readonly labels: LabelSet
  readonly workloads: readonly string[]
  readonly v4: readonly bigint[]
  readonly v6: readonly bigint[]
}

/** Everything one host's ruleset says, before rendering. */
export interface HostPlan {
  readonly host: string
  readonly mode: EnforcementMode
  readonly ingress: boolean
  readonly egress: boolean
  /** The host's own addresses held at `now`. */
  readonly local: Readonly<Record<IpFamily, readonly bigint[]>>
  /** Per direction and family; empty in `observe` mode. */
  readonly maps: {
    readonly ingress: Readonly<Record<IpFamily, FamilyMaps>>
    readonly egress: Readonly<Record<IpFamily, FamilyMaps>>
  }
  /** Anti-lockout sources; empty when off or when the mode is `observe`. */
  readonly management: readonly Cidr[]
  readonly identities: readonly IdentityAddresses[]
  readonly monitorTimeout: number
  /** `now` as ISO-8601, printed in the header. */
  readonly compiledAt: string
}

/**
 * Most identity-set rules per own address and direction (see {@link LocalPeers.identities}):
 * a bound on per-packet cost. The largest qualifying identities are chosen.
 */
export const MAX_IDENTITY_RULES = 4
/** Default of {@link NftablesOptions.identitySetMinAddresses}: small identities stay in the peer maps, which read more plainly. */
export const MIN_IDENTITY_ADDRESSES = 8

const EMPTY_MAPS: FamilyMaps = { locals: [], groups: [], classes: [] }
const FAMILIES: readonly IpFamily[] = [4, 6]

/** A rule live at the compile instant, with its policy and its services as one set. */
export interface LiveRule {
  readonly policy: Policy
  readonly rule: Rule
  readonly services: ServiceSet
}

/** Which live rules' `from` and `to` an endpoint matches, as sorted index lists. */
export interface SideMatch {
  readonly from: readonly number[]
  readonly to: readonly number[]
}

/** An elementary interval of {@link Universe}: its addresses and the rules each side of which matches them. */
export interface Interval extends AddressRange, SideMatch {}

/**
 * The compile-wide state shared by every host: live rules, the elementary intervals of each
 * family with the rules each matches, and a cache of allowed services per rule list.
 */
const DOTTED_QUAD = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/

/** Sorts address values ascending (numeric typed-array sort for IPv4, which fits a double). */
function sortValues(family: IpFamily, values: Iterable<bigint>): bigint[] {
  if (family === 4) return [...Float64Array.from(values, Number).sort()].map((v) => BigInt(v))
  return [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

/**
 * The address space of one compile instant, cut into elementary intervals (see the module
 * comment): `rules` are the live rules in policy-set order, `intervals[family]` every interval
 * with the indices (into `rules`) of the rules whose `from` and whose `to` match its addresses.
 * Shared with the azure-nsg target, which reads each rule side's exact address set from it.
 */
export class Universe {
  readonly rules: LiveRule[] = []
  readonly intervals: Record<IpFamily, Interval[]> = { 4: [], 6: [] }
  private readonly allowedCache = new Map<string, { set: ServiceSet; key: string }>()
  /** Workload holding each address at `now`, per family, by address value. */
  private readonly workloadAt: Record<IpFamily, Map<bigint, Workload>> = {
    4: new Map(),
    6: new Map(),
  }
  private readonly parsed = new Map<string, IpAddress | undefined>()
  /** The live rules' CIDR blocks (selector blocks and their `except` blocks), numbered. */
  private readonly blocks = new CidrTrie<number>()
  /** Named externals by block, the first in inventory order for a block named twice. */
  private readonly externalBlocks = new CidrTrie<External>()
  /** Names some live rule's `workload` selector names. */
  private readonly namedWorkloads = new Set<string>()
  /** The entity part of each workload's endpoint class key ({@link Universe.classKey}). */
  private readonly workloadKey = new Map<Workload, string>()
  /** {@link SideMatch} per endpoint class key. */
  private readonly classMatch = new Map<string, SideMatch>()
  /** Per family and side, per live rule: the ascending indices of the intervals the side matches. */
  private readonly postings: Record<IpFamily, { from: number[][]; to: number[][] } | undefined> = {
    4: undefined,
    6: undefined,
  }
  /** Per family, a scratch mark per interval for {@link Universe.peerRuns} (a call's stamp). */
  private readonly marks: Record<IpFamily, Int32Array | undefined> = { 4: undefined, 6: undefined }
  private stamp = 0
  private readonly runCache = new Map<string, readonly PeerRun[]>()
  /** {@link Universe.groupDestinations} per family, once computed. */
  private readonly groups: Record<
    IpFamily,
    readonly { dst: AddressRange; to: readonly number[] }[] | undefined
  > = { 4: undefined, 6: undefined }

  constructor(
    readonly inventory: Inventory,
    policySet: PolicySet,
    readonly now: number,
  ) {
    for (const policy of policySet.policies) {
      for (const rule of policy.rules) {
        if (isLive(rule, now))
          this.rules.push({ policy, rule, services: ServiceSet.of(rule.services) })
      }
    }
    for (const { rule } of this.rules) {
      for (const s of [...rule.from, ...rule.to]) {
        if (s.kind === 'workload') this.namedWorkloads.add(s.name)
        if (s.kind !== 'cidr') continue
        for (const c of [s.cidr, ...s.except])
          if (this.blocks.get(c) === undefined) this.blocks.set(c, this.blocks.size)
      }
    }
    for (const x of inventory.externals)
      if (this.externalBlocks.get(x.cidr) === undefined) this.externalBlocks.set(x.cidr, x)
    // first workload (inventory order) holding an address wins, as in resolveEntity; keyed by
    // value, so that `2001:db8::0` in an inventory is found as `2001:db8::`
    for (const w of inventory.workloads) {
      for (const a of w.addresses) {
        if (!addressHoldsAt(a, now)) continue
        const ip = this.ip(a.ip)
        if (ip && !this.workloadAt[ip.family].has(ip.value))
          this.workloadAt[ip.family].set(ip.value, w)
      }
    }
    for (const family of FAMILIES) this.intervals[family] = this.buildIntervals(family)
  }

  /**
   * {@link parseIp}, memoised (inventories repeat addresses across hosts and identities), with
   * a fast path for plain dotted quads (the same ones {@link parseIp} accepts: no leading zeros).
   */
  ip(text: string): IpAddress | undefined {
    if (this.parsed.has(text)) return this.parsed.get(text)
    const q = DOTTED_QUAD.exec(text)
    let ip: IpAddress | undefined
    if (q) {
      const [a, b, c, d] = [q[1], q[2], q[3], q[4]].map(Number) as [number, number, number, number]
      if (a < 256 && b < 256 && c < 256 && d < 256)
        ip = { family: 4, value: BigInt(((a * 256 + b) * 256 + c) * 256 + d) }
    } else ip = parseIp(text)
    this.parsed.set(text, ip)
    return ip
  }

  /**
   * The entity of an address at `now`; same answer as `resolveEntity` (policy/evaluate.ts) (a workload holding
   * it, else the narrowest named external containing it, the first in inventory order for a
   * block named twice, else unmanaged), with a map for workloads and a trie for externals.
   */
  entity(ip: IpAddress): Entity {
    const w = this.workloadAt[ip.family].get(ip.value)
    if (w) return { kind: 'workload', workload: w }
    const x = this.externalBlocks.lookup(ip)?.value
    if (x) return { kind: 'external', name: x.name, named: true, external: x }
    return { kind: 'external', name: formatIp(ip), named: false }
  }

  /**
   * The endpoint class of `ep`: every endpoint of one class gets the same answer from every
   * live rule's selectors, so one {@link SideMatch} serves them all. The key is the entity part
   * (a workload's labels, and its name when a `workload` selector names it; a named external's
   * name; else unmanaged) and the longest live-rule CIDR block containing the address: blocks
   * are nested or disjoint, so that block fixes which blocks contain the address, and `cidr`
   * selectors ask nothing else; `any` asks nothing. As in PolicyIndex's endpoint classes.
   */
  private classKey(ep: Endpoint): string {
    const e = ep.entity
    let entity: string
    if (e.kind === 'workload') {
      const w = e.workload
      let k = this.workloadKey.get(w)
      if (k === undefined) {
        k = `w${JSON.stringify(w.labels)}${this.namedWorkloads.has(w.name) ? `\0${w.name}` : ''}`
        this.workloadKey.set(w, k)
      }
      entity = k
    } else entity = e.named ? `x${e.name}` : 'u'
    const block = this.blocks.lookup(ep.ip)
    return `${String(ep.ip.family)}|${block === undefined ? '-' : String(block.value)}|${entity}`
  }

  /**
   * Which live rules' `from` and `to` match `ep` ({@link selectorMatches}, the reference),
   * computed once per endpoint class ({@link Universe.classKey}) and shared: callers must not
   * change the lists.
   */
  match(ep: Endpoint): SideMatch {
    const key = this.classKey(ep)
    const hit = this.classMatch.get(key)
    if (hit) return hit
    const from: number[] = []
    const to: number[] = []
    this.rules.forEach((r, i) => {
      if (r.rule.from.some((s) => selectorMatches(s, ep, r.policy.scope))) from.push(i)
      if (r.rule.to.some((s) => selectorMatches(s, ep, r.policy.scope))) to.push(i)
    })
    const out = { from, to }
    this.classMatch.set(key, out)
    return out
  }

  endpoint(family: IpFamily, value: bigint): Endpoint {
    const ip = { family, value }
    return { ip, entity: this.entity(ip) }
  }

  private buildIntervals(family: IpFamily): Interval[] {
    const max = (1n << BigInt(familyBits(family))) - 1n
    const cuts = new Set<bigint>([0n])
    const addBlock = (c: Cidr): void => {
      if (c.family !== family) return
      const { first, last } = cidrRange(c)
      cuts.add(first)
      if (last < max) cuts.add(last + 1n)
    }
    for (const { rule } of this.rules) {
      for (const s of [...rule.from, ...rule.to]) {
        if (s.kind !== 'cidr') continue
        addBlock(s.cidr)
        for (const e of s.except) addBlock(e)
      }
    }
    for (const x of this.inventory.externals) addBlock(x.cidr)
    // every interval lies wholly inside or outside the groups and the broadcast (groupDestinations)
    for (const c of NON_UNICAST_RANGES) addBlock(c)
    for (const value of this.workloadAt[family].keys()) {
      cuts.add(value)
      if (value < max) cuts.add(value + 1n)
    }
    const sorted = sortValues(family, cuts)
    return sorted.map((lo, i) => {
      const next = sorted[i + 1]
      const hi = next === undefined ? max : next - 1n
      return { lo, hi, ...this.match(this.endpoint(family, lo)) }
    })
  }

  /**
   * The multicast and limited broadcast destinations of `family` that some live rule allows a
   * sender to reach: maximal runs of elementary intervals inside core `NON_UNICAST_RANGES` whose
   * senders and services are the same ({@link Universe.groupRuns} of their `to` rules), in
   * address order, each with the `to` rules of its first interval (ascending live rule indices).
   * Cached per family.
   */
  groupDestinations(family: IpFamily): readonly { dst: AddressRange; to: readonly number[] }[] {
    const known = this.groups[family]
    if (known) return known
    const inside = NON_UNICAST_RANGES.filter((c) => c.family === family).map(cidrRange)
    const out: { dst: AddressRange; to: readonly number[]; key: string }[] = []
    for (const iv of this.intervals[family]) {
      if (!inside.some((r) => r.first <= iv.lo && iv.hi <= r.last)) continue
      const runs = this.groupRuns(family, iv.to)
      if (runs.length === 0) continue
      const key = runs.map((r) => `${r.peer.lo}-${r.peer.hi}:${r.key}`).join(';')
      const last = out[out.length - 1]
      if (last && last.key === key && last.dst.hi + 1n === iv.lo)
        out[out.length - 1] = { ...last, dst: { lo: last.dst.lo, hi: iv.hi } }
      else out.push({ dst: { lo: iv.lo, hi: iv.hi }, to: iv.to, key })
    }
    const list = out.map(({ dst, to }) => ({ dst, to }))
    this.groups[family] = list
    return list
  }

  /**
   * The senders of a group destination whose `to` rules are `to`: {@link Universe.peerRuns} for
   * ingress, less the connection protocols TCP, SCTP and DCCP ({@link CONNECTION_PROTOCOLS}),
   * which never address a group or the broadcast (RFC 1122 §4.2.3.10; Linux refuses such a
   * `connect()` and discards such a segment after the firewall): accepting them at every
   * receiver would cost a lookup per sender of every rule to `any` or `0.0.0.0/0` on every host,
   * for packets that carry nothing. Runs left empty are dropped, equal neighbours merged.
   */
  groupRuns(family: IpFamily, to: readonly number[]): readonly PeerRun[] {
    const cacheKey = `${String(family)}g${to.join(',')}`
    const hit = this.runCache.get(cacheKey)
    if (hit) return hit
    const runs: PeerRun[] = []
    for (const r of this.peerRuns(family, true, to)) {
      const set = r.set.subtract(CONNECTION_PROTOCOLS)
      if (set.isEmpty) continue
      const key = set.toString()
      const last = runs[runs.length - 1]
      if (last && last.key === key && last.peer.hi + 1n === r.peer.lo)
        runs[runs.length - 1] = { ...last, peer: { lo: last.peer.lo, hi: r.peer.hi } }
      else runs.push({ peer: r.peer, key, set })
    }
    this.runCache.set(cacheKey, runs)
    return runs
  }

  /** The services allowed by the given live rules: union of allow services minus union of deny services. */
  allowed(ruleIdx: readonly number[]): { set: ServiceSet; key: string } {
    const cacheKey = ruleIdx.join(',')
    const hit = this.allowedCache.get(cacheKey)
    if (hit) return hit
    let allow = ServiceSet.EMPTY
    let deny = ServiceSet.EMPTY
    for (const i of ruleIdx) {
      const r = this.rules[i] as LiveRule
      if (r.rule.action === 'deny') deny = deny.union(r.services)
      else allow = allow.union(r.services)
    }
    const set = allow.subtract(deny)
    const out = { set, key: set.toString() }
    this.allowedCache.set(cacheKey, out)
    return out
  }

  /** Per live rule, the ascending indices of the intervals of `family` whose `from` (`to`) it is in. */
  private postingsOf(family: IpFamily): { from: number[][]; to: number[][] } {
    const known = this.postings[family]
    if (known) return known
    const out = {
      from: this.rules.map((): number[] => []),
      to: this.rules.map((): number[] => []),
    }
    this.intervals[family].forEach((iv, k) => {
      for (const i of iv.from) out.from[i]?.push(k)
      for (const i of iv.to) out.to[i]?.push(k)
    })
    this.postings[family] = out
    return out
  }

  /**
   * The ascending indices of the intervals of `family` whose `from` (`side` `'from'`) or `to`
   * list holds live rule `i`: the addresses that side of the rule matches, without visiting the
   * others. Shared: callers must not change it.
   */
  ruleIntervals(family: IpFamily, side: 'from' | 'to', i: number): readonly number[] {
    return this.postingsOf(family)[side][i] ?? []
  }

  /**
   * The peers of an own address whose matching rules are `own` (ascending live rule indices: the
   * rules whose `to` it matches for `ingress`, whose `from` for egress): the maximal runs of
   * elementary intervals with equal, non-empty allowed services, in address order. Each peer
   * interval is judged on `own` ∩ its other side ({@link Universe.allowed}); only intervals some
   * allow rule of `own` matches can allow anything, so only those are visited (through
   * per-rule postings): the cost follows the peers the rules allow, not the size of the address
   * space. Computed once per (family, direction, list) and shared: callers must not change it.
   */
  peerRuns(family: IpFamily, ingress: boolean, own: readonly number[]): readonly PeerRun[] {
    const cacheKey = `${String(family)}${ingress ? 'i' : 'e'}${own.join(',')}`
    const hit = this.runCache.get(cacheKey)
    if (hit) return hit
    const ivs = this.intervals[family]
    const post = this.postingsOf(family)[ingress ? 'from' : 'to']
    const marks = (this.marks[family] ??= new Int32Array(ivs.length))
    const stamp = ++this.stamp
    const visit: number[] = []
    for (const i of own) {
      if ((this.rules[i] as LiveRule).rule.action === 'deny') continue
      for (const k of post[i] ?? []) {
        if (marks[k] === stamp) continue
        marks[k] = stamp
        visit.push(k)
      }
    }
    const order = Int32Array.from(visit).sort()
    const runs: PeerRun[] = []
    let run: { lo: bigint; hi: bigint; key: string; set: ServiceSet } | undefined
    let last = -2
    const flush = (): void => {
      if (run && !run.set.isEmpty)
        runs.push({ peer: { lo: run.lo, hi: run.hi }, key: run.key, set: run.set })
    }
    for (const k of order) {
      const iv = ivs[k] as Interval
      const a = this.allowed(ingress ? intersectSorted(iv.from, own) : intersectSorted(own, iv.to))
      // an interval not visited allows nothing, so it ends a run as an unequal one would
      if (run && run.key === a.key && last + 1 === k) run.hi = iv.hi
      else {
        flush()
        run = { lo: iv.lo, hi: iv.hi, key: a.key, set: a.set }
      }
      last = k
    }
    flush()
    this.runCache.set(cacheKey, runs)
    return runs
  }
}

/**
 * TCP, SCTP and DCCP, every port: connection protocols, which no host sends to a multicast group
 * or the broadcast, nor accepts so addressed (see {@link Universe.groupRuns}).
 */
export const CONNECTION_PROTOCOLS: ServiceSet = ServiceSet.of(
  [6, 132, 33].map((protocol) => ({ protocol, ports: { lo: 0, hi: 65535 } })),
)

/** A run of peer addresses with the same allowed services ({@link Universe.peerRuns}). */
export interface PeerRun {
  readonly peer: AddressRange
  /** {@link ServiceSet.toString} of `set`: equal keys, equal sets. */
  readonly key: string
  readonly set: ServiceSet
}

/** The services of one allowed set, split as {@link ServiceClass} says. */
function serviceClass(family: IpFamily, set: ServiceSet): ServiceClass {
  const ports: { proto: number; port: PortRange }[] = []
  for (const p of PORT_PROTOCOLS)
    for (const r of set.ports(p).ranges) ports.push({ proto: p, port: r })
  const icmp = family === 4 ? 1 : 58
  const others: PortRange[] = []
  for (let p = 0; p <= 255; p++) {
    if (p === icmp || PORT_PROTOCOLS.includes(p)) continue
    if (set.has(p, 0)) others.push({ lo: p, hi: p })
  }
  return { ports, icmp: set.ports(icmp).ranges, proto: IntervalSet.of(others).ranges }
}

/**
 * The peers of one own address as {@link planDirection} lays them out, for one list of matching
 * rules: its peer runs ({@link Universe.peerRuns}), the identities chosen for identity-set rules
 * (each with the run that gives its class) and, by index into `runs`, the single-address runs
 * left in the exact map and the ranges, both in address order.
 */
interface PeerLayout {
  readonly runs: readonly PeerRun[]
  readonly identities: readonly { readonly identity: number; readonly run: number }[]
  readonly exact: readonly number[]
  readonly ranges: readonly number[]
}

/**
 * What the hosts of one compile instant share while they are planned: the identities, the
 * identities that may be matched through their set, by first address per family, and a
 * {@link PeerLayout} per (family, direction, rule list), so that hosts whose own addresses
 * match the same rules cost one layout, not one walk over the address space each.
 */
interface PlanContext {
  readonly u: Universe
  readonly ids: readonly IdentityAddresses[]
  readonly idsByFirst: Readonly<Record<IpFamily, ReadonlyMap<bigint, readonly number[]>>>
  readonly layouts: Map<string, PeerLayout>
  readonly classes: Map<string, ServiceClass>
}

function planContext(
  u: Universe,
  ids: readonly IdentityAddresses[],
  minIdentity: number,
): PlanContext {
  const idsByFirst: Record<IpFamily, Map<bigint, number[]>> = { 4: new Map(), 6: new Map() }
  ids.forEach((id, n) => {
    for (const family of FAMILIES) {
      const addrs = family === 4 ? id.v4 : id.v6
      const first = addrs[0]
      if (first === undefined || addrs.length < minIdentity) continue
      const list = idsByFirst[family].get(first)
      if (list) list.push(n)
      else idsByFirst[family].set(first, [n])
    }
  })
  return { u, ids, idsByFirst, layouts: new Map(), classes: new Map() }
}

/**
 * The {@link PeerLayout} of the rule list `own` (see {@link Universe.peerRuns}): up to
 * {@link MAX_IDENTITY_RULES} identities whose every address of the family is a single-address
 * peer of one service set, the largest first (ties: lower identity number), move from the exact
 * map to identity-set rules. `group`: the senders of a group destination whose `to` rules are
 * `own` ({@link Universe.groupRuns}).
 */
function peerLayout(
  ctx: PlanContext,
  family: IpFamily,
  ingress: boolean,
  own: readonly number[],
  group = false,
): PeerLayout {
  const cacheKey = `${String(family)}${group ? 'g' : ingress ? 'i' : 'e'}${own.join(',')}`
  const hit = ctx.layouts.get(cacheKey)
  if (hit) return hit
  const runs = group ? ctx.u.groupRuns(family, own) : ctx.u.peerRuns(family, ingress, own)
  const single = new Map<bigint, number>()
  runs.forEach((r, k) => {
    if (r.peer.lo === r.peer.hi) single.set(r.peer.lo, k)
  })
  const candidates: { identity: number; run: number; size: number }[] = []
  for (const [v, k] of single) {
    for (const n of ctx.idsByFirst[family].get(v) ?? []) {
      const id = ctx.ids[n] as IdentityAddresses
      const addrs = family === 4 ? id.v4 : id.v6
      const key = (runs[k] as PeerRun).key
      if (
        addrs.every((a) => {
          const j = single.get(a)
          return j !== undefined && (runs[j] as PeerRun).key === key
        })
      )
        candidates.push({ identity: n, run: k, size: addrs.length })
    }
  }
  candidates.sort((a, b) => b.size - a.size || a.identity - b.identity)
  const chosen = candidates.slice(0, MAX_IDENTITY_RULES).sort((a, b) => a.identity - b.identity)
  const taken = new Set<bigint>()
  for (const c of chosen) {
    const id = ctx.ids[c.identity] as IdentityAddresses
    for (const a of family === 4 ? id.v4 : id.v6) taken.add(a)
  }
  const exact: number[] = []
  const ranges: number[] = []
  runs.forEach((r, k) => {
    if (r.peer.lo !== r.peer.hi) ranges.push(k)
    else if (!taken.has(r.peer.lo)) exact.push(k)
  })
  const layout: PeerLayout = {
    runs,
    identities: chosen.map(({ identity, run }) => ({ identity, run })),
    exact,
    ranges,
  }
  ctx.layouts.set(cacheKey, layout)
  return layout
}

/**
 * Builds the peers and classes of one direction and family for the host addresses `local`.
 * Peers are the maximal runs of elementary intervals with equal allowed services (empty ones
 * left out); then, per local address, up to {@link MAX_IDENTITY_RULES} identities whose every
 * address is a single-address peer of one class move from the exact map to an identity-set rule
 * ({@link peerLayout}, shared by every own address that matches the same rules). Classes are
 * numbered per host in the order their first run appears, own addresses in ascending order, then
 * (ingress) the group destinations ({@link Universe.groupDestinations}), laid out the same way,
 * whatever the host's own addresses: a host receives group traffic of a family it has no
 * inventory address of (an IPv6 link-local address is enough).
 */
function planDirection(
  ctx: PlanContext,
  family: IpFamily,
  local: readonly bigint[],
  ingress: boolean,
): FamilyMaps {
  const { u } = ctx
  const classes: ServiceClass[] = []
  const classOf = new Map<string, number>()
  const locals: LocalPeers[] = []
  const peersOf = (layout: PeerLayout): Omit<LocalPeers, 'local'> => {
    const cls = layout.runs.map((r) => {
      let c = classOf.get(r.key)
      if (c === undefined) {
        c = classes.length
        const classKey = `${String(family)}${r.key}`
        let sc = ctx.classes.get(classKey)
        if (sc === undefined) {
          sc = serviceClass(family, r.set)
          ctx.classes.set(classKey, sc)
        }
        classes.push(sc)
        classOf.set(r.key, c)
      }
      return c
    })
    const element = (k: number): PeerElement => ({
      peer: (layout.runs[k] as PeerRun).peer,
      cls: cls[k] as number,
    })
    return {
      identities: layout.identities.map(({ identity, run }) => ({
        identity,
        cls: cls[run] as number,
      })),
      exact: layout.exact.map(element),
      ranges: layout.ranges.map(element),
    }
  }
  for (const l of local) {
    const lm = u.match(u.endpoint(family, l))
    locals.push({
      local: l,
      ...peersOf(peerLayout(ctx, family, ingress, ingress ? lm.to : lm.from)),
    })
  }
  const groups: GroupPeers[] = []
  if (ingress)
    for (const g of u.groupDestinations(family)) {
      const layout = peerLayout(ctx, family, true, g.to, true)
      if (layout.runs.length > 0) groups.push({ dst: g.dst, ...peersOf(layout) })
    }
  return { locals, groups, classes }
}

/**
 * The plan of one direction and family as flat element lists (one element per peer range,
 * own address (then group destination) and service range, peers in address order; identity-set
 * peers expanded to their addresses): the shape the iptables target renders from.
 */
export function familyElements(
  plan: HostPlan,
  direction: 'ingress' | 'egress',
  family: IpFamily,
): { ports: MapElement[]; icmp: MapElement[]; proto: MapElement[] } {
  const maps = plan.maps[direction][family]
  const out = { ports: [] as MapElement[], icmp: [] as MapElement[], proto: [] as MapElement[] }
  const icmpProto = family === 4 ? 1 : 58
  const owners = [
    ...maps.locals.map((l) => ({ ...l, here: { lo: l.local, hi: l.local } })),
    ...maps.groups.map((g) => ({ ...g, here: g.dst })),
  ]
  for (const l of owners) {
    const peers: PeerElement[] = [...l.exact, ...l.ranges]
    for (const { identity, cls } of l.identities) {
      const id = plan.identities[identity]
      for (const a of (family === 4 ? id?.v4 : id?.v6) ?? [])
        peers.push({ peer: { lo: a, hi: a }, cls })
    }
    peers.sort((a, b) => (a.peer.lo < b.peer.lo ? -1 : a.peer.lo > b.peer.lo ? 1 : 0))
    const here = l.here
    for (const { peer, cls } of peers) {
      const c = maps.classes[cls]
      if (!c) continue
      const [src, dst] = direction === 'ingress' ? [peer, here] : [here, peer]
      for (const p of c.ports)
        out.ports.push({ src, dst, proto: { lo: p.proto, hi: p.proto }, port: p.port })
      for (const t of c.icmp)
        out.icmp.push({ src, dst, proto: { lo: icmpProto, hi: icmpProto }, port: t })
      for (const r of c.proto) out.proto.push({ src, dst, proto: r })
    }
  }
  return out
}

/** A workload's addresses held at the universe's instant, per family, ascending, without duplicates. */
export function localAddresses(u: Universe, w: Workload): Record<IpFamily, bigint[]> {
  const now = u.now
  const out: Record<IpFamily, bigint[]> = { 4: [], 6: [] }
  for (const a of w.addresses) {
    if (!addressHoldsAt(a, now)) continue
    const ip = u.ip(a.ip)
    if (ip && !out[ip.family].includes(ip.value)) out[ip.family].push(ip.value)
  }
  for (const f of FAMILIES) out[f].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  return out
}

function identities(u: Universe): IdentityAddresses[] {
  const byId = new Map<
    string,
    { labels: LabelSet; workloads: string[]; v4: bigint[]; v6: bigint[] }
  >()
  for (const w of u.inventory.workloads) {
    const local = localAddresses(u, w)
    if (local[4].length + local[6].length === 0) continue
    const id = formatLabelSet(w.labels)
    const e = byId.get(id) ?? { labels: w.labels, workloads: [], v4: [], v6: [] }
    e.workloads.push(w.name)
    e.v4.push(...local[4])
    e.v6.push(...local[6])
    byId.set(id, e)
  }
  const cmp = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0)
  return [...byId.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, e]) => ({ ...e, v4: [...new Set(e.v4)].sort(cmp), v6: [...new Set(e.v6)].sort(cmp) }))
}

/** Turns a workload name into a file name: characters outside `[A-Za-z0-9._-]` become `_`. */
export function hostFileName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_')
  return `${safe === '' ? '_' : safe}.nft`
}

/**
 * Plans every selected host at `options.now`, as if nothing changed afterwards: every later
 * change is a warning ({@link laterChangeWarnings}). {@link planTimeSlices} follows them instead.
 * @throws BulkheadError `compile/unknown-host` for a name in `options.hosts` that no workload has.
 * @throws UnsupportedByTargetError never for nftables (it expresses every capability).
 */
export function planHosts(
  inventory: Inventory,
  policySet: PolicySet,
  options: NftablesOptions,
): { plans: HostPlan[]; diagnostics: Diagnostic[] } {
  const { plans, diagnostics } = planHostsAt(inventory, policySet, options)
  return {
    plans,
    diagnostics: [...diagnostics, ...laterChangeWarnings(inventory, policySet, options.now)],
  }
}

/** One time slice of {@link planTimeSlices}: its start (ms) and the plan of every selected host then. */
export interface PlannedSlice {
  readonly start: number
  /** In the order of {@link planHosts}'s plans, the same hosts in every slice. */
  readonly plans: readonly HostPlan[]
}

/**
 * Plans every selected host once per time slice ({@link timeSlices}): slice 0 at `options.now`,
 * each later slice at its start, so that the rendered ruleset can pick the slice by the
 * packet's time. Warnings: those of slice 0, the hosts that hold no address (or mix modes) in a
 * later slice, and the later changes beyond the last slice ({@link laterChangeWarnings}).
 * @param latest - the last instant (ms) the target can dispatch on (see {@link timeSlices}).
 * @throws as {@link planHosts}.
 */
export function planTimeSlices(
  inventory: Inventory,
  policySet: PolicySet,
  options: NftablesOptions,
  latest?: number,
): { slices: PlannedSlice[]; slicing: TimeSlicing; diagnostics: Diagnostic[] } {
  const max = options.maxTimeSlices ?? DEFAULT_MAX_TIME_SLICES
  const slicing = timeSlices(inventory, policySet, options.now, max, latest)
  const first = planHostsAt(inventory, policySet, options)
  const diagnostics = [...first.diagnostics]
  const seen = new Set(diagnostics.map((d) => `${d.code} ${d.message}`))
  const slices: PlannedSlice[] = [{ start: options.now.getTime(), plans: first.plans }]
  for (const start of slicing.starts) {
    const later = planHostsAt(inventory, policySet, { ...options, now: new Date(start) })
    slices.push({ start, plans: later.plans })
    for (const d of later.diagnostics) {
      const key = `${d.code} ${d.message}`
      if (d.code !== 'compile/host-without-address' && d.code !== 'compile/mixed-mode') continue
      if (!seen.has(key)) diagnostics.push(d)
      seen.add(key)
    }
  }
  diagnostics.push(...laterChangeWarnings(inventory, policySet, options.now, slicing))
  return { slices, slicing, diagnostics }
}

/**
 * The time slices of host `h` (its index in each slice's `plans`) in which its plan changes:
 * consecutive slices whose plans render the same ruleset (the instant they were compiled at
 * aside) are one. A host that no later change touches so has one slice and compiles exactly as
 * without time, and adding an expiry to one rule rewrites only the rulesets it changes.
 * @returns per kept slice its start (ms), the host's plan and `text`, {@link renderHost} of the
 *   plan (the host's whole ruleset when it has one slice).
 */
export function hostSlices(
  slices: readonly PlannedSlice[],
  h: number,
): { start: number; plan: HostPlan; text: string }[] {
  const out: { start: number; plan: HostPlan; text: string }[] = []
  let last: string | undefined
  for (const s of slices) {
    const plan = s.plans[h] as HostPlan
    const text = renderHost(plan)
    // the header's `# compiled at:` line aside (the first line so starting: the lines above it
    // hold no line break)
    const compared = text.replace(`\n# compiled at: ${plan.compiledAt}\n`, '\n# compiled at: \n')
    if (compared === last) continue
    last = compared
    out.push({ start: s.start, plan, text })
  }
  return out
}

/**
 * The enforcement mode of a host at `now` (ms): the workload's one mode, as the model gives it
 * (`workloadEnforcement` in policy/evaluate.ts: the strongest, enforce > monitor > observe, of
 * the modes of the addresses it holds at `now`; with no address, the mode of the workload
 * itself). `mixed` is the `compile/mixed-mode` warning (at the workload) when its addresses' own
 * modes differ. Every compiler takes the host's mode from here.
 */
export function hostMode(
  policySet: PolicySet,
  w: Workload,
  now: number,
): { mode: EnforcementMode; mixed?: Diagnostic } {
  const { mode, addresses } = workloadEnforcement(policySet, w, now)
  const modes = new Set(addresses.map((a) => a.mode))
  if (modes.size <= 1) return { mode }
  return {
    mode,
    mixed: {
      code: 'compile/mixed-mode',
      severity: 'warning',
      message: `workload "${w.name}" has addresses in different enforcement modes (${[...modes].sort().join(', ')}); it is compiled in the strongest, ${mode}, as the model judges it`,
      ...(w.location ? { location: w.location } : {}),
    },
  }
}

/**
 * `compile/ipv6-extension-header` warnings, one per live rule naming a protocol that is an IPv6
 * extension header ({@link IPV6_EXTENSION_HEADERS}: `ah`, `proto/0`, `proto/43`, `proto/44`,
 * `proto/60`): on an IPv6 host the kernel skips such a header to the protocol it carries before
 * the ruleset's protocol match (`meta l4proto`, `-p`), so the rule matches no IPv6 packet, and
 * the packet meets the rules of the carried protocol, where the model judges it by the header's
 * number. `any` is not named: it takes the carried protocol too; nor is a rule with a side of IPv4
 * blocks only. Only called when a compiled host holds an IPv6 address.
 */
function extensionHeaderWarnings(policySet: PolicySet, now: number): Diagnostic[] {
  const out: Diagnostic[] = []
  for (const policy of policySet.policies)
    for (const rule of policy.rules) {
      if (!isLive(rule, now)) continue
      // a side of IPv4 blocks only never meets an IPv6 packet
      const v4Only = (side: readonly Selector[]) =>
        side.length > 0 && side.every((x) => x.kind === 'cidr' && x.cidr.family === 4)
      if (v4Only(rule.from) || v4Only(rule.to)) continue
      const named = rule.services.filter(
        (s) => s.protocol !== 'any' && IPV6_EXTENSION_HEADERS.has(s.protocol),
      )
      if (named.length === 0) continue
      out.push({
        code: 'compile/ipv6-extension-header',
        severity: 'warning',
        message: `rule ${formatRuleRef({ policy: policy.name, id: rule.id })} ${rule.action === 'deny' ? 'denies' : 'allows'} ${named.map(formatService).join(', ')}, an IPv6 extension header that the kernel skips to reach the protocol it carries: on IPv6 the rule matches no packet, and such a packet is judged by the rules of the carried protocol (on IPv4 it is matched as written)`,
        hint:
          rule.action === 'deny'
            ? 'deny the carried protocol too for IPv6 traffic, or keep the rule to IPv4 peers'
            : 'allow the carried protocol too for IPv6 traffic (e.g. esp, tcp/500), or keep the rule to IPv4 peers',
        ...(rule.location ? { location: rule.location } : {}),
      })
    }
  return out
}

/** {@link planHosts} without the warnings about later changes. */
function planHostsAt(
  inventory: Inventory,
  policySet: PolicySet,
  options: NftablesOptions,
): { plans: HostPlan[]; diagnostics: Diagnostic[] } {
  const now = options.now.getTime()
  assertExpressible('nftables', NFTABLES_CAPABILITIES, inventory, policySet, options.now)
  const diagnostics: Diagnostic[] = []
  let hosts: Workload[]
  if (options.hosts === undefined) hosts = [...inventory.workloads]
  else {
    const names = new Set(inventory.workloads.map((w) => w.name))
    const unknown = options.hosts.filter((h) => !names.has(h))
    if (unknown.length > 0) {
      throw new BulkheadError(
        unknown.map((h) => ({
          code: 'compile/unknown-host' as const,
          severity: 'error' as const,
          message: `no workload named "${h}" in the inventory`,
          hint: '--host takes a workload name as bulkhead inventory lists it',
        })),
      )
    }
    const wanted = new Set(options.hosts)
    hosts = inventory.workloads.filter((w) => wanted.has(w.name))
  }
  for (const policy of policySet.policies) {
    for (const rule of policy.rules) {
      if (isLive(rule, now)) continue
      diagnostics.push({
        code: 'compile/expired-rule-omitted',
        severity: 'warning',
        message: `rule ${formatRuleRef({ policy: policy.name, id: rule.id })} expired at ${new Date(rule.expires ?? 0).toISOString()} and is left out`,
        ...(rule.location ? { location: rule.location } : {}),
      })
    }
  }
  const u = new Universe(inventory, policySet, now)
  const direction = options.direction ?? 'both'
  const antiLockout = options.antiLockout ?? true
  const management = options.managementCidrs ?? DEFAULT_MANAGEMENT_CIDRS
  const ids = identities(u)
  const minIdentity = options.identitySetMinAddresses ?? MIN_IDENTITY_ADDRESSES
  const ctx = planContext(u, ids, minIdentity)
  const plans: HostPlan[] = []
  for (const w of hosts) {
    const local = localAddresses(u, w)
    const all = [
      ...local[4].map((v) => ({ family: 4 as const, value: v })),
      ...local[6].map((v) => ({ family: 6 as const, value: v })),
    ]
    if (all.length === 0) {
      diagnostics.push({
        code: 'compile/host-without-address',
        severity: 'warning',
        message: `workload "${w.name}" holds no address at ${options.now.toISOString()}; its ruleset matches no traffic of its own`,
        hint: 'give it an address in the inventory, or compile --at a time it holds one',
        ...(w.location ? { location: w.location } : {}),
      })
    }
    const { mode, mixed } = hostMode(policySet, w, now)
    if (mixed) diagnostics.push(mixed)
    const ingress = direction !== 'egress'
    const egress = direction !== 'ingress'
    const active = mode !== 'observe'
    const maps = {
      ingress: {
        4: active && ingress ? planDirection(ctx, 4, local[4], true) : EMPTY_MAPS,
        6: active && ingress ? planDirection(ctx, 6, local[6], true) : EMPTY_MAPS,
      },
      egress: {
        4: active && egress ? planDirection(ctx, 4, local[4], false) : EMPTY_MAPS,
        6: active && egress ? planDirection(ctx, 6, local[6], false) : EMPTY_MAPS,
      },
    }
    const mgmt = active && ingress && antiLockout ? [...management] : []
    if (mgmt.length > 0) {
      diagnostics.push({
        code: 'compile/anti-lockout',
        severity: 'warning',
        message: `workload "${w.name}" (${mode}): tcp/22 from ${mgmt.map((c) => c.text).join(', ')} is accepted whatever the policy says (anti-lockout; --no-anti-lockout turns it off)`,
      })
    }
    plans.push({
      host: w.name,
      mode,
      ingress,
      egress,
      local,
      maps,
      management: mgmt,
      identities: ids,
      monitorTimeout: options.monitorTimeout ?? 3600,
      compiledAt: options.now.toISOString(),
    })
  }
  if (plans.some((p) => p.local[6].length > 0))
    diagnostics.push(...extensionHeaderWarnings(policySet, now))
  return { plans, diagnostics }
}

/**
 * The nftables target: one `<workload name>.nft` file per host (see {@link hostFileName}),
 * each replacing `table inet bulkhead` atomically when loaded with `nft -f`.
 * @see https://wiki.nftables.org/wiki-nftables/index.php/Atomic_rule_replacement
 */
export const nftablesCompiler: Compiler<NftablesOptions> = {
  target: 'nftables',
  capabilities: NFTABLES_CAPABILITIES,
  compile(inventory: Inventory, policySet: PolicySet, options: NftablesOptions): CompileResult {
    const { slices, slicing, diagnostics } = planTimeSlices(inventory, policySet, options)
    const used = new Set<string>()
    const first = slices[0]?.plans ?? []
    const artefacts: Artefact[] = first.map((plan, h) => {
      let path = hostFileName(plan.host)
      for (let n = 2; used.has(path); n++) path = hostFileName(`${plan.host}~${n}`)
      used.add(path)
      const own = hostSlices(slices, h)
      const content = own.length === 1 ? (own[0] as { text: string }).text : renderHostSlices(own)
      options.onProgress?.(h + 1, first.length)
      return { path, content, host: plan.host, mode: plan.mode }
    })
    return { artefacts, diagnostics, timeSlicing: slicing }
  },
}
