/**
 * @module Time-aware resolution of flow endpoints: IP address + time → entity (a workload, a
 * named external range, or an unmanaged range such as `10.9.3.0/24` or `internet`).
 * @remarks Semantics: DESIGN.md "entity" and issue 4 item 2. For workloads and named externals
 * the answer equals the reference `resolveEntity` of `src/policy/evaluate.ts` (tested against it);
 * this class is the fast path: a hash map per exact address and a CIDR trie for ranges.
 */
import {
  CidrTrie,
  formatIp,
  parseIp,
  PRIVATE_RANGES,
  specialAddress,
  type Entity,
  type Inventory,
} from '../core/index.js'

/** Options of {@link Resolver}. */
export interface ResolverOptions {
  /**
   * Prefix length (0–32) to which unmanaged private IPv4 addresses are grouped: with 24,
   * `10.9.3.17` is the entity `10.9.3.0/24`. Default 24. "Private" is core `PRIVATE_RANGES`
   * (RFC 1918, loopback, link-local, CGNAT RFC 6598, unique-local, ...).
   */
  readonly privateGrouping?: number
  /** The same for IPv6 (0–128). Default 64. */
  readonly privateGrouping6?: number
  /**
   * When true, each unmanaged public address is its own entity named by the address; default
   * false: every unmanaged public address is the one entity `internet`.
   */
  readonly keepPublicIps?: boolean
}

/** Counts of what {@link Resolver.resolve} answered, since construction. */
export interface ResolverStats {
  readonly workload: number
  readonly external: number
  readonly unmanaged: number
  /** Addresses that did not parse; each resolved to an unmanaged entity named by its text. */
  readonly unparseable: number
}

/** The name of the entity every unmanaged public address is, unless `keepPublicIps`. */
export const INTERNET = 'internet'

interface Holding {
  readonly from: number
  readonly to: number
  readonly order: number
  readonly entity: Entity
}

/** The fallback answer for an address text; `alias` when the text is a non-canonical spelling of a workload address. */
interface Classified {
  readonly kind: 'external' | 'unmanaged' | 'unparseable'
  readonly entity: Entity
  readonly alias?: readonly Holding[]
}

/** Address texts whose fallback answer is cached; the cache is emptied when it reaches this size. */
const CACHE_MAX = 1 << 20

function holderAt(list: readonly Holding[], at: number): Entity | undefined {
  for (const h of list) if (h.from <= at && at < h.to) return h.entity
  return undefined
}

function checkPrefix(name: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v < 0 || v > max)
    throw new RangeError(`${name} must be an integer 0–${max}, got ${v}`)
  return v
}

/**
 * Resolves addresses to entities at a time. Build once per inventory; `resolve` costs one hash
 * lookup (plus a scan of that address's few time intervals) for a workload address, and at most
 * 32/128 trie steps otherwise.
 */
export class Resolver {
  private readonly byIp = new Map<string, Holding[]>()
  private readonly externals = new CidrTrie<Entity>()
  private readonly private = new CidrTrie<true>()
  private readonly unmanaged = new Map<string, Entity>()
  private readonly cache = new Map<string, Classified>()
  private readonly v4: number
  private readonly v6: number
  private readonly keepPublic: boolean
  private counts = { workload: 0, external: 0, unmanaged: 0, unparseable: 0 }

  /**
   * @param inventory - workloads (addresses as canonical text) and named externals.
   * @param options - grouping of unmanaged addresses.
   * @throws RangeError when a grouping prefix is out of range.
   */
  constructor(inventory: Inventory, options: ResolverOptions = {}) {
    this.v4 = checkPrefix('privateGrouping', options.privateGrouping ?? 24, 32)
    this.v6 = checkPrefix('privateGrouping6', options.privateGrouping6 ?? 64, 128)
    this.keepPublic = options.keepPublicIps ?? false
    inventory.workloads.forEach((workload, order) => {
      const entity: Entity = Object.freeze({ kind: 'workload' as const, workload })
      for (const a of workload.addresses) {
        const list = this.byIp.get(a.ip) ?? []
        list.push({ from: a.from ?? -Infinity, to: a.to ?? Infinity, order, entity })
        this.byIp.set(a.ip, list)
      }
    })
    // the first workload in inventory order wins on overlap, as in resolveEntity
    for (const list of this.byIp.values()) list.sort((x, y) => x.order - y.order)
    // the first external of a block wins, as in resolveEntity (strictly longer prefixes replace)
    for (const x of inventory.externals) {
      if (this.externals.get(x.cidr) === undefined)
        this.externals.set(
          x.cidr,
          Object.freeze({ kind: 'external' as const, name: x.name, named: true, external: x }),
        )
    }
    for (const c of PRIVATE_RANGES) this.private.set(c, true)
  }

  /** What `resolve` has answered so far, by kind. */
  stats(): ResolverStats {
    return { ...this.counts }
  }

  /**
   * The entity an address is at time `at` (ms since the epoch): the workload holding it then
   * (time-aware: `from <= at < to`, so a reused IP maps to the right workload), else the named
   * external with the longest prefix, else an unmanaged range: an address some workload holds at
   * another time by itself (its canonical text), a multicast group (`224.0.0.0/4`, `ff00::/8`),
   * the limited broadcast `255.255.255.255` or an unspecified address (`0.0.0.0`, `::`) by itself
   * too (core `specialAddress`; never `internet`, never grouped), other private addresses grouped to
   * `privateGrouping` (e.g. `10.9.3.0/24`; IPv6 `fd00:1:2:3::/64`), public ones `internet` (or
   * the canonical address itself with `keepPublicIps`). Never throws; an unparseable address is
   * an unmanaged entity named by the text as given, and counted in {@link stats}. Entities are
   * frozen and shared between calls (the same object for the same workload, external or range);
   * the time-independent part of the answer is cached per address text (at most 2^20 entries).
   * @param ip - address text; need not be canonical (`::ffff:10.0.0.1`, `2001:DB8::1` work).
   */
  resolve(ip: string, at: number): Entity {
    const direct = this.byIp.get(ip)
    if (direct !== undefined) {
      const w = holderAt(direct, at)
      if (w) {
        this.counts.workload++
        return w
      }
    }
    let c = this.cache.get(ip)
    if (c === undefined) {
      c = this.classify(ip)
      if (this.cache.size >= CACHE_MAX) this.cache.clear()
      this.cache.set(ip, c)
    }
    if (c.alias !== undefined) {
      const w = holderAt(c.alias, at)
      if (w) {
        this.counts.workload++
        return w
      }
    }
    this.counts[c.kind]++
    return c.entity
  }

  /** What an address is when no workload holds it (independent of time), cached per text. */
  private classify(ip: string): Classified {
    const addr = parseIp(ip)
    if (addr === undefined) return { kind: 'unparseable', entity: this.range(ip) }
    const canonical = formatIp(addr)
    const alias = canonical !== ip ? this.byIp.get(canonical) : undefined
    const withAlias = (c: Classified): Classified => (alias ? { ...c, alias } : c)
    const x = this.externals.lookup(addr)
    if (x) return withAlias({ kind: 'external', entity: x.value })
    // an address a workload holds only for a time is, the rest of the time, an unmanaged
    // endpoint of its own: not grouped with its neighbours, so that the dependency map (and a
    // rule proposed from it) never mixes its flows with theirs
    if (this.byIp.has(canonical))
      return withAlias({ kind: 'unmanaged', entity: this.range(canonical) })
    // a multicast group, the limited broadcast or the unspecified address is no host of the
    // internet nor of a private subnet: each is an entity of its own, named by the address, so
    // that a rule proposed for mDNS names 224.0.0.251, not every public address
    if (specialAddress(addr) !== undefined)
      return withAlias({ kind: 'unmanaged', entity: this.range(canonical) })
    if (this.private.lookup(addr)) {
      const prefix = addr.family === 4 ? this.v4 : this.v6
      const host = BigInt((addr.family === 4 ? 32 : 128) - prefix)
      const base = (addr.value >> host) << host
      const name = `${formatIp({ family: addr.family, value: base })}/${prefix}`
      return withAlias({ kind: 'unmanaged', entity: this.range(name) })
    }
    return withAlias({
      kind: 'unmanaged',
      entity: this.range(this.keepPublic ? canonical : INTERNET),
    })
  }

  private range(name: string): Entity {
    let e = this.unmanaged.get(name)
    if (!e) {
      e = Object.freeze({ kind: 'external' as const, name, named: false })
      this.unmanaged.set(name, e)
    }
    return e
  }
}
