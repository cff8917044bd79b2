/**
 * @module The nftables compiler: per host, the exact set of allowed (peer address, protocol,
 * port) per direction as interval elements of verdict maps, then rendered as one ruleset file.
 *
 * How a host plan is built, for each address family:
 *
 * - The address space is cut into elementary intervals at every boundary that can change a
 *   selector's answer: each policy CIDR block and `except` block, each named external's block,
 *   and each workload address held at `now` (a single-address interval). Inside one interval
 *   every address resolves to the same entity kind and lies in the same blocks, so one
 *   representative address answers for all ({@link resolveEntity}, {@link selectorMatches}).
 * - For each interval (and each address of the host) the live rules whose `from` and `to`
 *   match are found with the reference {@link selectorMatches}; the allowed services are the
 *   union of the matching allow rules' services minus the union of the matching deny rules'
 *   (DESIGN.md rule 1: deny beats allow, nothing allowed by default), exactly as
 *   {@link evaluate} decides each flow.
 * - Adjacent intervals with equal allowed services are merged; each (interval, service range)
 *   becomes one map element. Per-packet cost is one map lookup whatever the number of rules.
 * @remarks Semantics: DESIGN.md "Policy language v1" rules 1–5, "Enforcement and verification".
 */
import {
  BulkheadError,
  cidrRange,
  familyBits,
  formatIp,
  formatLabelSet,
  formatRuleRef,
  IntervalSet,
  normalizeIp,
  parseCidr,
  parseIp,
  selectorMatches,
  ServiceSet,
  type Cidr,
  type Diagnostic,
  type EnforcementMode,
  type Endpoint,
  type Entity,
  type Inventory,
  type IpFamily,
  type LabelSet,
  type Policy,
  type PolicySet,
  type PortRange,
  type Rule,
  type Workload,
} from '../../core/index.js'
import { addressHoldsAt, enforcementModeOf, isLive, resolveEntity } from '../../policy/evaluate.js'
import {
  assertExpressible,
  type Artefact,
  type CompileOptions,
  type CompileResult,
  type Compiler,
} from '../target.js'
import { NFTABLES_CAPABILITIES, PORT_PROTOCOLS } from './capabilities.js'
import { renderHost } from './render.js'

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
 * One verdict-map element (always `: accept`). `src` and `dst` are address ranges: for
 * ingress `src` is the peer and `dst` one of the host's addresses, for egress the reverse.
 * `proto` is a range of IANA protocol numbers; `port` the destination port range (`ports`
 * map) or ICMP type range (`icmp` map), absent in the `proto` map.
 */
export interface MapElement {
  readonly src: AddressRange
  readonly dst: AddressRange
  readonly proto: PortRange
  readonly port?: PortRange
}

/**
 * The three verdict maps of one direction and family: `ports` keyed
 * `saddr . daddr . l4proto . th dport` (TCP, UDP, SCTP, DCCP, UDP-Lite), `icmp` keyed
 * `saddr . daddr . icmp(v6) type`, `proto` keyed `saddr . daddr . l4proto` (every other
 * protocol, which has no ports: the model gives its flows port 0).
 */
export interface FamilyMaps {
  readonly ports: readonly MapElement[]
  readonly icmp: readonly MapElement[]
  readonly proto: readonly MapElement[]
}

/** One identity's addresses at `now` (informational sets `id_<n>_v4` / `id_<n>_v6`). */
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

const EMPTY_MAPS: FamilyMaps = { ports: [], icmp: [], proto: [] }
const FAMILIES: readonly IpFamily[] = [4, 6]

interface LiveRule {
  readonly policy: Policy
  readonly rule: Rule
  readonly services: ServiceSet
}

/** Which live rules' `from` and `to` an endpoint matches, as sorted index lists. */
interface SideMatch {
  readonly from: readonly number[]
  readonly to: readonly number[]
}

interface Interval extends AddressRange, SideMatch {}

function intersectSorted(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = []
  let i = 0
  let j = 0
  while (i < a.length && j < b.length) {
    const x = a[i] as number
    const y = b[j] as number
    if (x === y) {
      out.push(x)
      i++
      j++
    } else if (x < y) i++
    else j++
  }
  return out
}

/**
 * The compile-wide state shared by every host: live rules, the elementary intervals of each
 * family with the rules each matches, and a cache of allowed services per rule list.
 */
class Universe {
  readonly rules: LiveRule[] = []
  readonly intervals: Record<IpFamily, Interval[]> = { 4: [], 6: [] }
  private readonly allowedCache = new Map<string, { set: ServiceSet; key: string }>()
  private readonly workloadAt = new Map<string, Workload>()

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
    // first workload (inventory order) holding an address wins, as in resolveEntity; keyed by
    // canonical text, so that `2001:db8::0` in an inventory is found as `2001:db8::`
    for (const w of inventory.workloads) {
      for (const a of w.addresses) {
        const ip = normalizeIp(a.ip) ?? a.ip
        if (addressHoldsAt(a, now) && !this.workloadAt.has(ip)) this.workloadAt.set(ip, w)
      }
    }
    for (const family of FAMILIES) this.intervals[family] = this.buildIntervals(family)
  }

  /** The entity of an address at `now`; same answer as {@link resolveEntity}, with a map for workloads. */
  entity(ipText: string): Entity {
    const w = this.workloadAt.get(ipText)
    return w
      ? { kind: 'workload', workload: w }
      : resolveEntity({ ...this.inventory, workloads: [] }, ipText, this.now)
  }

  match(ep: Endpoint): SideMatch {
    const from: number[] = []
    const to: number[] = []
    this.rules.forEach((r, i) => {
      if (r.rule.from.some((s) => selectorMatches(s, ep, r.policy.scope))) from.push(i)
      if (r.rule.to.some((s) => selectorMatches(s, ep, r.policy.scope))) to.push(i)
    })
    return { from, to }
  }

  endpoint(family: IpFamily, value: bigint): Endpoint {
    const ip = { family, value }
    return { ip, entity: this.entity(formatIp(ip)) }
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
    for (const ipText of this.workloadAt.keys()) {
      const ip = parseIp(ipText)
      if (ip?.family !== family) continue
      cuts.add(ip.value)
      if (ip.value < max) cuts.add(ip.value + 1n)
    }
    const sorted = [...cuts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    return sorted.map((lo, i) => {
      const next = sorted[i + 1]
      const hi = next === undefined ? max : next - 1n
      return { lo, hi, ...this.match(this.endpoint(family, lo)) }
    })
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
}

/** Adds the elements of one allowed service set between `src` and `dst` to `maps`. */
function addElements(
  maps: { ports: MapElement[]; icmp: MapElement[]; proto: MapElement[] },
  family: IpFamily,
  src: AddressRange,
  dst: AddressRange,
  set: ServiceSet,
): void {
  if (set.isEmpty) return
  for (const p of PORT_PROTOCOLS) {
    for (const r of set.ports(p).ranges)
      maps.ports.push({ src, dst, proto: { lo: p, hi: p }, port: r })
  }
  const icmp = family === 4 ? 1 : 58
  for (const r of set.ports(icmp).ranges)
    maps.icmp.push({ src, dst, proto: { lo: icmp, hi: icmp }, port: r })
  const others: PortRange[] = []
  for (let p = 0; p <= 255; p++) {
    if (p === icmp || PORT_PROTOCOLS.includes(p)) continue
    if (set.has(p, 0)) others.push({ lo: p, hi: p })
  }
  for (const r of IntervalSet.of(others).ranges) maps.proto.push({ src, dst, proto: r })
}

/** Builds the maps of one direction and family for the host addresses `local`. */
function planDirection(
  u: Universe,
  family: IpFamily,
  local: readonly bigint[],
  ingress: boolean,
): FamilyMaps {
  const maps = { ports: [] as MapElement[], icmp: [] as MapElement[], proto: [] as MapElement[] }
  for (const l of local) {
    const lm = u.match(u.endpoint(family, l))
    const here = { lo: l, hi: l }
    let run: { lo: bigint; hi: bigint; key: string; set: ServiceSet } | undefined
    const flush = (): void => {
      if (!run) return
      const peer = { lo: run.lo, hi: run.hi }
      if (ingress) addElements(maps, family, peer, here, run.set)
      else addElements(maps, family, here, peer, run.set)
    }
    for (const iv of u.intervals[family]) {
      const rules = ingress ? intersectSorted(iv.from, lm.to) : intersectSorted(lm.from, iv.to)
      const a = u.allowed(rules)
      if (run && run.key === a.key && run.hi + 1n === iv.lo) run.hi = iv.hi
      else {
        flush()
        run = { lo: iv.lo, hi: iv.hi, key: a.key, set: a.set }
      }
    }
    flush()
  }
  return maps
}

function localAddresses(w: Workload, now: number): Record<IpFamily, bigint[]> {
  const out: Record<IpFamily, bigint[]> = { 4: [], 6: [] }
  for (const a of w.addresses) {
    if (!addressHoldsAt(a, now)) continue
    const ip = parseIp(a.ip)
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
    const local = localAddresses(w, u.now)
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
 * Plans every selected host.
 * @throws BulkheadError `compile/unknown-host` for a name in `options.hosts` that no workload has.
 * @throws UnsupportedByTargetError never for nftables (it expresses every capability).
 */
export function planHosts(
  inventory: Inventory,
  policySet: PolicySet,
  options: NftablesOptions,
): { plans: HostPlan[]; diagnostics: Diagnostic[] } {
  const now = options.now.getTime()
  assertExpressible('nftables', NFTABLES_CAPABILITIES, policySet, options.now)
  const diagnostics: Diagnostic[] = []
  let hosts: Workload[]
  if (options.hosts === undefined) hosts = [...inventory.workloads]
  else {
    const unknown = options.hosts.filter((h) => !inventory.workloads.some((w) => w.name === h))
    if (unknown.length > 0) {
      throw new BulkheadError(
        unknown.map((h) => ({
          code: 'compile/unknown-host' as const,
          severity: 'error' as const,
          message: `no workload named "${h}" in the inventory`,
        })),
      )
    }
    hosts = inventory.workloads.filter((w) => options.hosts?.includes(w.name))
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
  const plans: HostPlan[] = []
  for (const w of hosts) {
    const local = localAddresses(w, now)
    const all = [
      ...local[4].map((v) => ({ family: 4 as const, value: v })),
      ...local[6].map((v) => ({ family: 6 as const, value: v })),
    ]
    if (all.length === 0) {
      diagnostics.push({
        code: 'compile/host-without-address',
        severity: 'warning',
        message: `workload "${w.name}" holds no address at ${options.now.toISOString()}; its ruleset matches no traffic of its own`,
        ...(w.location ? { location: w.location } : {}),
      })
    }
    const modes = all.map((ip) =>
      enforcementModeOf(policySet, { ip, entity: u.entity(formatIp(ip)) }),
    )
    const rank = { observe: 0, monitor: 1, enforce: 2 }
    const mode = modes.reduce<EnforcementMode>(
      (m, x) => (rank[x] > rank[m] ? x : m),
      modes[0] ??
        enforcementModeOf(policySet, {
          ip: { family: 4, value: 0n },
          entity: { kind: 'workload', workload: w },
        }),
    )
    if (new Set(modes).size > 1) {
      diagnostics.push({
        code: 'compile/mixed-mode',
        severity: 'warning',
        message: `workload "${w.name}" has addresses in different enforcement modes (${[...new Set(modes)].join(', ')}); its ruleset uses the strongest, ${mode}`,
      })
    }
    const ingress = direction !== 'egress'
    const egress = direction !== 'ingress'
    const active = mode !== 'observe'
    const maps = {
      ingress: {
        4: active && ingress ? planDirection(u, 4, local[4], true) : EMPTY_MAPS,
        6: active && ingress ? planDirection(u, 6, local[6], true) : EMPTY_MAPS,
      },
      egress: {
        4: active && egress ? planDirection(u, 4, local[4], false) : EMPTY_MAPS,
        6: active && egress ? planDirection(u, 6, local[6], false) : EMPTY_MAPS,
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
    const { plans, diagnostics } = planHosts(inventory, policySet, options)
    const used = new Set<string>()
    const artefacts: Artefact[] = plans.map((plan) => {
      let path = hostFileName(plan.host)
      for (let n = 2; used.has(path); n++) path = hostFileName(`${plan.host}~${n}`)
      used.add(path)
      return { path, content: renderHost(plan), host: plan.host, mode: plan.mode }
    })
    return { artefacts, diagnostics }
  },
}
