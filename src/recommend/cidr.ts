/**
 * @module CIDR selectors for unmanaged endpoints: the `internet` selector (everything public) and
 * aggregation of unmanaged private ranges to covering prefixes bounded by `--max-prefix`.
 * @remarks Semantics: issue 5 item 3; private ranges are core `PRIVATE_RANGES`, multicast and
 * broadcast core `NON_UNICAST_RANGES`.
 */
import {
  ALL_ADDRESSES,
  cidrRange,
  familyBits,
  formatIp,
  hostCidr,
  parseCidr,
  parseIp,
  PRIVATE_RANGES,
  NON_UNICAST_RANGES,
  type Cidr,
  type IpFamily,
  type Selector,
} from '../core/index.js'

/**
 * The selectors meaning "the public internet": `0.0.0.0/0` and `::/0`, each minus the private
 * and special ranges of its family (RFC 1918, loopback, link-local, CGNAT, unique-local, ...), its
 * non-unicast ranges (core `NON_UNICAST_RANGES`: multicast `224.0.0.0/4`, the limited broadcast
 * `255.255.255.255/32`, `ff00::/8`), and
 * minus the given managed blocks that are public: workload host blocks and named externals' ranges
 * (the resolver's `internet` is every public address that is neither). Blocks already inside an
 * exception are left out (the broadcast lies in the reserved `240.0.0.0/4`, a private range);
 * the rest keep their order.
 */
export function internetSelectors(managed: readonly Cidr[] = []): Selector[] {
  const except = (f: IpFamily): Cidr[] =>
    uncovered(
      PRIVATE_RANGES.filter((c) => c.family === f),
      [...NON_UNICAST_RANGES, ...managed].filter((c) => c.family === f && c.prefix > 0),
    )
  return [
    { kind: 'cidr', cidr: ALL_ADDRESSES[4], except: except(4) },
    { kind: 'cidr', cidr: ALL_ADDRESSES[6], except: except(6) },
  ]
}

/**
 * `first` (one family), then each block of `rest` (the same family) that none of `first` and of
 * the blocks of `rest` kept before it covers, in order. A block is found covered by looking up
 * its base, cut to each prefix length that a kept block has, in a set per length: O(n × lengths)
 * for n blocks, where testing each against every kept block was O(n²) (20 000 workload host
 * blocks made every `internet` rule of `recommend` take seconds).
 */
function uncovered(first: readonly Cidr[], rest: readonly Cidr[]): Cidr[] {
  const out = [...first]
  const kept = new Map<number, Set<bigint>>()
  const bits = (c: Cidr): bigint => BigInt(familyBits(c.family) - c.prefix)
  const keep = (c: Cidr): void => {
    let set = kept.get(c.prefix)
    if (set === undefined) kept.set(c.prefix, (set = new Set()))
    set.add(c.base >> bits(c))
  }
  for (const c of first) keep(c)
  for (const c of rest) {
    let covered = false
    for (const [prefix, set] of kept) {
      if (prefix > c.prefix) continue
      if (set.has(c.base >> BigInt(familyBits(c.family) - prefix))) {
        covered = true
        break
      }
    }
    if (covered) continue
    out.push(c)
    keep(c)
  }
  return out
}

/**
 * Managed blocks (workload host blocks, named externals' ranges), indexed to find those strictly
 * inside a block by binary search over their first addresses ({@link blockSelector}).
 */
export class ManagedBlocks {
  /** Per family, the blocks with their position in `blocks`, sorted by base. */
  private readonly sorted: Record<IpFamily, { readonly c: Cidr; readonly at: number }[]>
  constructor(readonly blocks: readonly Cidr[]) {
    this.sorted = { 4: [], 6: [] }
    blocks.forEach((c, at) => this.sorted[c.family].push({ c, at }))
    for (const f of [4, 6] as const)
      this.sorted[f].sort((a, b) => (a.c.base < b.c.base ? -1 : a.c.base > b.c.base ? 1 : 0))
  }
  /** The blocks strictly inside `block` (a longer prefix, within it), in the order given. */
  inside(block: Cidr): Cidr[] {
    const list = this.sorted[block.family]
    const { first, last } = cidrRange(block)
    let lo = 0
    let hi = list.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((list[mid] as { c: Cidr }).c.base < first) lo = mid + 1
      else hi = mid
    }
    const found: { c: Cidr; at: number }[] = []
    for (let i = lo; i < list.length; i++) {
      const e = list[i] as { c: Cidr; at: number }
      if (e.c.base > last) break
      if (e.c.prefix > block.prefix) found.push(e)
    }
    return found.sort((a, b) => a.at - b.at).map((e) => e.c)
  }
}

/**
 * A CIDR selector for an unmanaged block, minus the managed blocks (workload host blocks, named
 * externals) strictly inside it, so that a block rule never reaches a workload or a named external
 * whose addresses the block happens to contain.
 */
export function blockSelector(
  block: Cidr,
  managed: readonly Cidr[] | ManagedBlocks = [],
): Selector {
  const index = managed instanceof ManagedBlocks ? managed : new ManagedBlocks(managed)
  return { kind: 'cidr', cidr: block, except: index.inside(block) }
}

/** Host blocks (`/32`, `/128`) of every address of the workloads, deduplicated, sorted by text. */
export function hostBlocks(addresses: Iterable<string>): Cidr[] {
  const out = new Map<string, Cidr>()
  for (const a of addresses) {
    const c = entityCidr(a)
    if (c && !a.includes('/')) out.set(c.text, c)
  }
  return [...out.values()].sort(
    (a, b) => a.family - b.family || (a.base < b.base ? -1 : a.base > b.base ? 1 : 0),
  )
}

/**
 * Reads an unmanaged entity name as a block: `10.9.3.0/24` → that block, `203.0.113.5` → a
 * host block (`/32` or `/128`). Returns undefined for names that are neither (e.g. `internet`).
 */
export function entityCidr(name: string): Cidr | undefined {
  if (name.includes('/')) {
    const c = parseCidr(name, true)
    return typeof c === 'string' ? undefined : c
  }
  const ip = parseIp(name)
  return ip && hostCidr(ip)
}

/** The smallest single block containing both blocks (same family). */
function covering(a: Cidr, b: Cidr): Cidr {
  const bits = familyBits(a.family)
  let prefix = Math.min(a.prefix, b.prefix)
  const maskOf = (p: number): bigint => ((1n << BigInt(p)) - 1n) << BigInt(bits - p)
  while (prefix > 0 && (a.base & maskOf(prefix)) !== (b.base & maskOf(prefix))) prefix--
  const base = a.base & maskOf(prefix)
  return {
    family: a.family,
    base,
    prefix,
    text: `${formatIp({ family: a.family, value: base })}/${prefix}`,
  }
}

/** Truncates a block to `prefix` bits (widens it) when it is longer. */
function truncate(c: Cidr, prefix: number): Cidr {
  if (c.prefix <= prefix) return c
  const bits = familyBits(c.family)
  const m = ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix)
  const base = c.base & m
  return {
    family: c.family,
    base,
    prefix,
    text: `${formatIp({ family: c.family, value: base })}/${prefix}`,
  }
}

/**
 * Aggregates blocks: blocks that fall into the same `maxPrefix` block (IPv4; IPv6 uses
 * `maxPrefix6`) are replaced by the smallest single block covering them all, which is never wider
 * than that bound; blocks already wider than the bound are kept as they are. Deterministic.
 *
 * @param blocks - any blocks, any family, duplicates allowed.
 * @param maxPrefix - IPv4 bound, 0–32 (default /24, issue 5 item 3).
 * @param maxPrefix6 - IPv6 bound, 0–128 (default /64).
 * @returns a map from each input block's text to the block that covers it.
 */
export function aggregateBlocks(
  blocks: readonly Cidr[],
  maxPrefix = 24,
  maxPrefix6 = 64,
): Map<string, Cidr> {
  const buckets = new Map<string, Cidr[]>()
  for (const b of blocks) {
    const bound = b.family === 4 ? maxPrefix : maxPrefix6
    const key = b.prefix <= bound ? `keep ${b.text}` : truncate(b, bound).text
    const list = buckets.get(key) ?? []
    if (!list.some((x) => x.text === b.text)) list.push(b)
    buckets.set(key, list)
  }
  const out = new Map<string, Cidr>()
  for (const list of buckets.values()) {
    let cover = list[0] as Cidr
    for (const b of list.slice(1)) cover = covering(cover, b)
    for (const b of list) out.set(b.text, cover)
  }
  return out
}
