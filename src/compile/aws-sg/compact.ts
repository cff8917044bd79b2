/**
 * @module Compaction of one security group's grants: the fewest AWS rules found cheaply that
 * allow exactly what the grants allow.
 *
 * Per direction, the grants are taken apart into AWS rules (peer × one {@link AwsRuleSpec}), and:
 * - **CIDR rules, per family and spec** `s`: let `A(s)` be the addresses the rules of spec `s`
 *   name and `C(s)` those the rules of a strictly broader spec (`-1`, a wider port range, ICMP
 *   type -1) name. Any address set between `A(s) − C(s)` and `A(s) ∪ C(s)` allows the same with
 *   `s`, so spec `s` gets the fewest blocks holding the first within the second
 *   ({@link AddressRangeSet.coverWithin}): a rule another rule covers goes, neighbouring
 *   prefixes merge, and a range cut by a hole the broader rule fills is not cut.
 * - **Port ranges** of one protocol (TCP, UDP) and one peer that touch or overlap become one
 *   rule (an AWS rule takes one `from_port`–`to_port` range); then the CIDR step runs again,
 *   while the count falls.
 * - **Group references** go when CIDR rules of the same direction, each of a spec at least as
 *   broad, hold every address every member of the referenced group holds at the compile instant,
 *   of both families (a reference matches the members' IPv4 and IPv6 addresses). A reference
 *   never stands for addresses here, so nothing else is dropped because of it.
 *
 * Exact by construction: every (address, protocol, port) a dropped or narrowed rule allowed is
 * allowed by a kept rule of a broader spec (by induction on the strict order of specs), and
 * every one a widened rule adds was allowed already. The aws-sg conformance differential and a
 * property test (compaction on and off, through the checker) check it.
 * @remarks Semantics: security group rules are a union, each one protocol, one port range (TCP,
 * UDP) or ICMP type, and one CIDR or referenced group
 * (https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html); a reference
 * matches the private addresses of the interfaces carrying the group.
 */
import {
  AddressRangeSet,
  cidrRange,
  parseCidr,
  ServiceSet,
  type AddressInterval,
  type IpAddress,
  type IpFamily,
} from '../../core/index.js'
import { awsRuleSpecs, specServices, type AwsRuleSpec } from './render.js'
import type { SgGrant, SgPeer } from './compile.js'

/** One AWS rule under compaction. */
interface Item {
  readonly peer: SgPeer
  readonly spec: AwsRuleSpec
  readonly origin: ReadonlySet<string>
}

const specKey = (s: AwsRuleSpec): string => `${s.ip_protocol} ${s.from_port} ${s.to_port}`
const peerKey = (p: SgPeer): string => (p.kind === 'cidr' ? p.cidr : `sg:${p.group}`)

/** Memo shared by the steps of one call: the services of each spec, containment, CIDR blocks. */
class Specs {
  private readonly services = new Map<string, ServiceSet>()
  private readonly contains = new Map<string, boolean>()
  private readonly blocks = new Map<string, AddressRangeSet>()
  of(spec: AwsRuleSpec): ServiceSet {
    const k = specKey(spec)
    let s = this.services.get(k)
    if (s === undefined) {
      s = specServices(spec)
      this.services.set(k, s)
    }
    return s
  }
  /** `a` allows all `b` allows. */
  covers(a: AwsRuleSpec, b: AwsRuleSpec): boolean {
    if (a.ip_protocol === '-1') return true
    if (b.ip_protocol !== a.ip_protocol) return false
    const k = `${specKey(a)}|${specKey(b)}`
    let c = this.contains.get(k)
    if (c === undefined) {
      c = this.of(b).subtract(this.of(a)).isEmpty
      this.contains.set(k, c)
    }
    return c
  }
  /** The addresses of a CIDR peer's text. */
  addresses(cidr: string, family: IpFamily): AddressRangeSet {
    let set = this.blocks.get(cidr)
    if (set === undefined) {
      const c = parseCidr(cidr)
      if (typeof c === 'string') throw new Error(`not a CIDR block: ${c}`)
      set = AddressRangeSet.fromCidrs(family, [c])
      this.blocks.set(cidr, set)
    }
    return set
  }
}

/**
 * Compacts the grants of one group (see the module comment).
 * @param grants - the group's grants, one per direction and peer (any order).
 * @param membersOf - the addresses the members of a referenced group hold at the compile instant.
 * @returns grants, one per direction and peer, allowing exactly what `grants` allow, in the
 *   fewest AWS rules this finds; a grant whose services AWS cannot express is kept as it is.
 */
export function compactGrants(
  grants: readonly SgGrant[],
  membersOf: (group: string) => readonly IpAddress[],
): SgGrant[] {
  const specs = new Specs()
  const out: SgGrant[] = []
  for (const direction of ['ingress', 'egress'] as const) {
    let items: Item[] = []
    for (const g of grants) {
      if (g.direction !== direction) continue
      const rendered = awsRuleSpecs(g.services)
      if (typeof rendered === 'string') {
        out.push(g)
        continue
      }
      for (const spec of rendered) items.push({ peer: g.peer, spec, origin: new Set(g.origin) })
    }
    for (let round = 0; round < 4; round++) {
      const before = items.length
      items = mergePorts(coverCidrs(items, specs))
      if (items.length >= before) break
    }
    items = dropReferences(items, specs, membersOf)
    out.push(...regroup(direction, items))
  }
  return out
}

/** The CIDR step: per family and spec, the fewest blocks between A(s) − C(s) and A(s) ∪ C(s). */
function coverCidrs(items: readonly Item[], specs: Specs): Item[] {
  const out: Item[] = items.filter((i) => i.peer.kind === 'group')
  for (const family of [4, 6] as const) {
    const bySpec = new Map<
      string,
      { spec: AwsRuleSpec; parts: { set: AddressRangeSet; origin: ReadonlySet<string> }[] }
    >()
    for (const i of items) {
      if (i.peer.kind !== 'cidr' || i.peer.family !== family) continue
      const k = specKey(i.spec)
      const e = bySpec.get(k) ?? { spec: i.spec, parts: [] }
      e.parts.push({ set: specs.addresses(i.peer.cidr, family), origin: i.origin })
      bySpec.set(k, e)
    }
    const all = [...bySpec.values()].map((e) => ({
      spec: e.spec,
      parts: e.parts,
      set: AddressRangeSet.of(
        family,
        e.parts.flatMap((p) => p.set.ranges),
      ),
      touching: touchingParts(e.parts),
    }))
    for (const e of all) {
      const wider = all.filter((o) => o !== e && specs.covers(o.spec, e.spec))
      const broader = AddressRangeSet.of(
        family,
        wider.flatMap((o) => o.set.ranges),
      )
      const lower = e.set.minus(broader)
      for (const block of lower.coverWithin(broader.union(e.set))) {
        const blockSet = AddressRangeSet.fromCidrs(family, [block])
        const { first, last } = cidrRange(block)
        const origin = new Set<string>()
        for (const p of e.touching(first, last)) for (const o of p.origin) origin.add(o)
        if (!e.set.covers(blockSet))
          for (const o of wider)
            for (const p of o.touching(first, last)) for (const x of p.origin) origin.add(x)
        out.push({ peer: { kind: 'cidr', family, cidr: block.text }, spec: e.spec, origin })
      }
    }
  }
  return out
}

/**
 * The parts (each the addresses of one CIDR block) that share an address with the block
 * `first`–`last`, found without testing every part: CIDR blocks are nested or disjoint, so a part
 * meets the block when it starts inside it (a binary search over the parts by first address) or
 * holds its first address (a lookup per block size among the parts). Order is not kept.
 */
function touchingParts<P extends { readonly set: AddressRangeSet }>(
  parts: readonly P[],
): (first: bigint, last: bigint) => P[] {
  const byLo = parts
    .map((p) => ({ p, lo: (p.set.ranges[0] as AddressInterval).lo }))
    .sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0))
  const byBlock = new Map<string, P[]>()
  const sizes = new Set<bigint>()
  for (const p of parts) {
    const r = p.set.ranges[0] as AddressInterval
    const size = r.hi - r.lo + 1n
    sizes.add(size)
    const k = `${r.lo} ${size}`
    const list = byBlock.get(k)
    if (list) list.push(p)
    else byBlock.set(k, [p])
  }
  return (first, last) => {
    const out: P[] = []
    let lo = 0
    let hi = byLo.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((byLo[mid] as { lo: bigint }).lo < first) lo = mid + 1
      else hi = mid
    }
    for (let k = lo; k < byLo.length && (byLo[k] as { lo: bigint }).lo <= last; k++)
      out.push((byLo[k] as { p: P }).p)
    for (const size of sizes) {
      const base = first - (first % size)
      if (base < first) out.push(...(byBlock.get(`${base} ${size}`) ?? []))
    }
    return out
  }
}

/** The port step: touching or overlapping TCP or UDP ranges of one peer become one rule. */
function mergePorts(items: readonly Item[]): Item[] {
  const out: Item[] = []
  const runs = new Map<string, Item[]>()
  for (const i of items) {
    const p = i.spec.ip_protocol
    if ((p !== 'tcp' && p !== 'udp') || i.spec.from_port === undefined) {
      out.push(i)
      continue
    }
    const k = `${peerKey(i.peer)} ${p}`
    runs.set(k, [...(runs.get(k) ?? []), i])
  }
  for (const run of runs.values()) {
    const sorted = [...run].sort((a, b) => (a.spec.from_port ?? 0) - (b.spec.from_port ?? 0))
    let cur: Item | undefined
    for (const i of sorted) {
      const lo = i.spec.from_port ?? 0
      const hi = i.spec.to_port ?? 65535
      if (cur && lo <= (cur.spec.to_port ?? 65535) + 1) {
        cur = {
          peer: cur.peer,
          spec: { ...cur.spec, to_port: Math.max(hi, cur.spec.to_port ?? 65535) },
          origin: new Set([...cur.origin, ...i.origin]),
        }
      } else {
        if (cur) out.push(cur)
        cur = i
      }
    }
    if (cur) out.push(cur)
  }
  return out
}

/** The reference step: a reference goes when CIDR rules of broader or equal specs hold its members. */
function dropReferences(
  items: readonly Item[],
  specs: Specs,
  membersOf: (group: string) => readonly IpAddress[],
): Item[] {
  // per family and group, the members' addresses; per family and spec, what the CIDR rules of
  // that spec or a broader one hold (the same for every reference of that spec)
  const mineOf = new Map<string, AddressRangeSet>()
  const heldOf = new Map<string, AddressRangeSet>()
  return items.filter((i) => {
    if (i.peer.kind !== 'group') return true
    const members = membersOf(i.peer.group)
    if (members.length === 0) return true
    for (const family of [4, 6] as const) {
      const mk = `${family} ${i.peer.group}`
      let mine = mineOf.get(mk)
      if (mine === undefined) {
        mine = AddressRangeSet.of(
          family,
          members.filter((m) => m.family === family).map((m) => ({ lo: m.value, hi: m.value })),
        )
        mineOf.set(mk, mine)
      }
      if (mine.isEmpty) continue
      const hk = `${family} ${specKey(i.spec)}`
      let held = heldOf.get(hk)
      if (held === undefined) {
        const ranges: AddressInterval[] = []
        for (const o of items)
          if (o.peer.kind === 'cidr' && o.peer.family === family && specs.covers(o.spec, i.spec))
            ranges.push(...specs.addresses(o.peer.cidr, family).ranges)
        held = AddressRangeSet.of(family, ranges)
        heldOf.set(hk, held)
      }
      if (!held.covers(mine)) return true
    }
    return false
  })
}

/** One grant per peer again, the services of its rules united, sorted by peer. */
function regroup(direction: SgGrant['direction'], items: readonly Item[]): SgGrant[] {
  const by = new Map<string, { peer: SgPeer; services: ServiceSet; origin: Set<string> }>()
  for (const i of items) {
    const k = peerKey(i.peer)
    const e = by.get(k) ?? { peer: i.peer, services: ServiceSet.EMPTY, origin: new Set<string>() }
    e.services = e.services.union(specServices(i.spec))
    for (const o of i.origin) e.origin.add(o)
    by.set(k, e)
  }
  return [...by.values()].map((e) => ({
    direction,
    peer: e.peer,
    services: e.services,
    origin: [...e.origin].sort(),
  }))
}
