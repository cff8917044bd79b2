/**
 * @module IPv4 and IPv6 addresses and CIDR blocks as exact integers.
 *
 * Parsing uses `ipaddr.js`; values are kept as `bigint` so that containment and range
 * arithmetic are exact for both families. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`,
 * RFC 4291 §2.5.5.2) are normalised to IPv4, as flow exporters mix both spellings.
 */
import ipaddr from 'ipaddr.js'

/** Address family: 4 or 6. */
export type IpFamily = 4 | 6

/** One address. `value` is the address as an unsigned integer (32 or 128 bits). */
export interface IpAddress {
  readonly family: IpFamily
  readonly value: bigint
}

/**
 * A CIDR block. `base` has all host bits zero; `prefix` is 0–32 (IPv4) or 0–128 (IPv6).
 * `text` is the canonical spelling, e.g. `10.0.0.0/8`, `2001:db8::/32`.
 */
export interface Cidr {
  readonly family: IpFamily
  readonly base: bigint
  readonly prefix: number
  readonly text: string
}

/** Bits in an address of the family. */
export function familyBits(family: IpFamily): number {
  return family === 4 ? 32 : 128
}

function fromParsed(addr: ipaddr.IPv4 | ipaddr.IPv6): IpAddress {
  if (addr.kind() === 'ipv6') {
    const v6 = addr as ipaddr.IPv6
    if (v6.isIPv4MappedAddress()) return fromParsed(v6.toIPv4Address())
    let value = 0n
    for (const part of v6.parts) value = (value << 16n) | BigInt(part)
    return { family: 6, value }
  }
  const [a = 0, b = 0, c = 0, d = 0] = (addr as ipaddr.IPv4).octets
  return { family: 4, value: BigInt(((a << 24) >>> 0) + (b << 16) + (c << 8) + d) }
}

/**
 * Parses an IPv4 (dotted quad only) or IPv6 address. IPv6 zone ids (`fe80::1%eth0`) are
 * dropped. Returns undefined on anything else; never throws.
 */
export function parseIp(text: string): IpAddress | undefined {
  const t = text.trim()
  if (t.includes(':')) {
    const noZone = t.replace(/%.*$/, '').replace(/^\[(.*)\]$/, '$1')
    if (!ipaddr.IPv6.isValid(noZone)) return undefined
    // an embedded dotted quad (`::ffff:a.b.c.d`, RFC 4291 §2.2 form 3) is read as a dotted quad
    // is alone: ipaddr.js takes `::ffff:010.0.0.1`, where `010.0.0.1` alone is refused
    const quad = noZone.slice(noZone.lastIndexOf(':') + 1)
    if (quad.includes('.') && !ipaddr.IPv4.isValidFourPartDecimal(quad)) return undefined
    // `::a.b.c.d` is IPv4-compatible (RFC 4291 §2.5.5.1), the IPv6 address ::a00:10a, not
    // IPv4-mapped; ipaddr.js (2.x) reads it as `::ffff:a.b.c.d`
    const compatible = /^::(\d{1,3}(?:\.\d{1,3}){3})$/.exec(noZone)?.[1]
    if (compatible !== undefined && ipaddr.IPv4.isValidFourPartDecimal(compatible))
      return { family: 6, value: fromParsed(ipaddr.IPv4.parse(compatible)).value }
    return fromParsed(ipaddr.IPv6.parse(noZone))
  }
  if (!ipaddr.IPv4.isValidFourPartDecimal(t)) return undefined
  return fromParsed(ipaddr.IPv4.parse(t))
}

/** Formats an address canonically: dotted quad, or RFC 5952 for IPv6. */
export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) {
    const v = Number(ip.value)
    return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`
  }
  const parts: number[] = []
  for (let i = 7; i >= 0; i--) parts.push(Number((ip.value >> BigInt(i * 16)) & 0xffffn))
  return new ipaddr.IPv6(parts).toRFC5952String()
}

/** One octet of a dotted quad as {@link formatIp} writes it: 0–255, no leading zero. */
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)'
/** A dotted quad already in canonical form, which is then its own canonical text. */
const CANONICAL_IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`)

/**
 * Canonical text of an address given as text, or undefined when it is not an address. A dotted
 * quad already written canonically (the usual inventory address) is returned as it is, without
 * parsing it into a number and writing it back.
 */
export function normalizeIp(text: string): string | undefined {
  if (CANONICAL_IPV4.test(text)) return text
  const ip = parseIp(text)
  return ip ? formatIp(ip) : undefined
}

function mask(family: IpFamily, prefix: number): bigint {
  const bits = BigInt(familyBits(family))
  const host = bits - BigInt(prefix)
  return ((1n << bits) - 1n) ^ ((1n << host) - 1n)
}

/**
 * Parses `a.b.c.d/n` or `x::/n`; a bare address is a host prefix (/32 or /128).
 * Host bits must be zero unless `allowHostBits` (then they are cleared).
 * Returns a reason string on error.
 */
export function parseCidr(text: string, allowHostBits = false): Cidr | string {
  const t = text.trim()
  const slash = t.indexOf('/')
  const addrText = slash < 0 ? t : t.slice(0, slash)
  const ip = parseIp(addrText)
  if (!ip) return `"${text}" is not an IPv4 or IPv6 CIDR block`
  const bits = familyBits(ip.family)
  // an IPv4-mapped IPv6 block (::ffff:a.b.c.d, RFC 4291 §2.5.5.2) is the IPv4 block it maps,
  // its prefix counted in IPv6 bits: ::ffff:10.0.0.0/104 is 10.0.0.0/8
  const mapped = ip.family === 4 && addrText.includes(':')
  let prefix = bits
  if (slash >= 0) {
    const p = t.slice(slash + 1)
    if (mapped) {
      if (!/^\d{1,3}$/.test(p) || Number(p) < 96 || Number(p) > 128)
        return `"${text}" is IPv4-mapped: its prefix length must be 96–128 (96 + the IPv4 prefix length), or write the IPv4 block (${formatIp(ip)}/N)`
      prefix = Number(p) - 96
    } else {
      if (!/^\d{1,3}$/.test(p) || Number(p) > bits)
        return `"${text}": prefix length must be 0–${bits}`
      prefix = Number(p)
    }
  }
  const m = mask(ip.family, prefix)
  const base = ip.value & m
  if (base !== ip.value && !allowHostBits) {
    return `"${text}" has host bits set; did you mean ${formatIp({ family: ip.family, value: base })}/${prefix}?`
  }
  return {
    family: ip.family,
    base,
    prefix,
    text: `${formatIp({ family: ip.family, value: base })}/${prefix}`,
  }
}

/** The host block of one address: `/32` for IPv4, `/128` for IPv6. */
export function hostCidr(ip: IpAddress): Cidr {
  const prefix = familyBits(ip.family)
  return { family: ip.family, base: ip.value, prefix, text: `${formatIp(ip)}/${prefix}` }
}

/** True when `ip` lies inside `cidr` (same family and same network bits). */
export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  if (cidr.family !== ip.family) return false
  return (ip.value & mask(cidr.family, cidr.prefix)) === cidr.base
}

/** True when every address of `inner` lies inside `outer`. */
export function cidrCovers(outer: Cidr, inner: Cidr): boolean {
  return (
    outer.family === inner.family &&
    outer.prefix <= inner.prefix &&
    cidrContains(outer, { family: inner.family, value: inner.base })
  )
}

/** The first and last address of a block, inclusive. */
export function cidrRange(cidr: Cidr): { first: bigint; last: bigint } {
  const host = BigInt(familyBits(cidr.family) - cidr.prefix)
  return { first: cidr.base, last: cidr.base + (1n << host) - 1n }
}

/** The whole address space of each family: `0.0.0.0/0` and `::/0`. */
export const ALL_ADDRESSES: Readonly<Record<IpFamily, Cidr>> = {
  4: { family: 4, base: 0n, prefix: 0, text: '0.0.0.0/0' },
  6: { family: 6, base: 0n, prefix: 0, text: '::/0' },
}

/**
 * The pieces `block` falls into when cut at the edges of every block of `cuts` (those of another
 * family are ignored): inclusive address ranges (values as in {@link IpAddress}), ascending,
 * covering `block` exactly, at most 2·|cuts| + 1 of them. The addresses of one piece lie inside
 * or outside each cut alike, so one address stands for its piece wherever only CIDR membership
 * decides (np-guard splits ipBlocks the same way).
 */
export function addressPieces(
  block: Cidr,
  cuts: Iterable<Cidr>,
): { readonly first: bigint; readonly last: bigint }[] {
  const { first, last } = cidrRange(block)
  const points = new Set<bigint>([first, last + 1n])
  for (const c of cuts) {
    if (c.family !== block.family) continue
    const r = cidrRange(c)
    for (const p of [r.first, r.last + 1n]) if (p > first && p <= last) points.add(p)
  }
  const sorted = [...points].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  return sorted.slice(0, -1).map((p, i) => ({ first: p, last: (sorted[i + 1] as bigint) - 1n }))
}

/**
 * The addresses of `block` outside every block of `except` (those of another family are ignored):
 * the pieces of {@link addressPieces} that lie in no except block, ascending; empty when the
 * excepts cover the whole block. The addresses a CIDR selector with `except` matches (DESIGN.md
 * "selector"; Kubernetes `IPBlock{CIDR, Except}`).
 */
export function addressesLeft(
  block: Cidr,
  except: readonly Cidr[],
): { readonly first: bigint; readonly last: bigint }[] {
  if (except.length === 0) return [cidrRange(block)]
  return addressPieces(block, except).filter(
    (p) => !except.some((e) => cidrContains(e, { family: block.family, value: p.first })),
  )
}

/**
 * Splits an inclusive address range (values as in {@link IpAddress}) into the fewest CIDR blocks,
 * in ascending order, as text, none shorter than `/minPrefix`.
 * @param minPrefix - the shortest prefix to write, 0 or 1 (default 1: ipset `hash:net` cannot
 *   store a zero prefix, so by default `0.0.0.0/0` becomes two /1 blocks; the cloud targets pass
 *   0 and get one `0.0.0.0/0`).
 */
export function rangeToCidrs(
  family: IpFamily,
  r: { readonly lo: bigint; readonly hi: bigint },
  minPrefix: 0 | 1 = 1,
): string[] {
  const bits = familyBits(family)
  const out: string[] = []
  let lo = r.lo
  while (lo <= r.hi) {
    let size = 1n
    let host = 0
    // grow while aligned, inside the range, and no shorter than /minPrefix
    while (
      bits - (host + 1) >= minPrefix &&
      lo % (size * 2n) === 0n &&
      lo + size * 2n - 1n <= r.hi
    ) {
      size *= 2n
      host++
    }
    out.push(`${formatIp({ family, value: lo })}/${bits - host}`)
    lo += size
  }
  return out
}

/**
 * True for addresses that are not on the public internet: RFC 1918, loopback, link-local,
 * carrier-grade NAT (RFC 6598), IPv6 unique-local (RFC 4193) and link-local, unspecified, and
 * the other special-purpose blocks that are not globally reachable (RFC 6890) and are not for
 * documentation; see {@link PRIVATE_RANGES}.
 */
export function isPrivateIp(ip: IpAddress): boolean {
  return PRIVATE_RANGES.some((c) => cidrContains(c, ip))
}

/**
 * Private and special ranges, see {@link isPrivateIp}: the blocks whose unmanaged addresses are
 * grouped per prefix (resolver `privateGrouping`) and that the `internet` is not. Besides private
 * use, loopback, link-local and CGNAT, the IANA special-purpose registries' (RFC 6890) blocks
 * marked not globally reachable: "this network" `0.0.0.0/8` (RFC 1122 §3.2.1.3), IETF protocol
 * assignments `192.0.0.0/24` (RFC 6890 §2.2.2: DS-Lite, 464XLAT, the dummy address 192.0.0.8;
 * its PCP and TURN anycast addresses .9 and .10 are services of the access network, not
 * internet hosts), benchmarking `198.18.0.0/15` (RFC 2544) and reserved class E `240.0.0.0/4`
 * (RFC 1112 §4; used as internal address space by some clouds); IPv6 local-use translation
 * `64:ff9b:1::/48` (RFC 8215), discard-only `100::/64` (RFC 6666) and benchmarking
 * `2001:2::/48` (RFC 5180). Not the documentation blocks (`192.0.2.0/24`, `198.51.100.0/24`,
 * `203.0.113.0/24`, `2001:db8::/32`; RFC 5737, RFC 3849): no real traffic carries them, and
 * examples use them for public hosts and partners (DESIGN.md's bank), so they stay `internet`
 * unless named. Multicast and the limited broadcast are `NON_UNICAST_RANGES`
 * (special-address.ts); the limited broadcast lies inside `240.0.0.0/4`, and is checked first.
 */
export const PRIVATE_RANGES: readonly Cidr[] = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '100.64.0.0/10',
  '0.0.0.0/8',
  '192.0.0.0/24',
  '198.18.0.0/15',
  '240.0.0.0/4',
  'fc00::/7',
  'fe80::/10',
  '::1/128',
  '::/128',
  '64:ff9b:1::/48',
  '100::/64',
  '2001:2::/48',
].map((t) => parseCidr(t) as Cidr)
