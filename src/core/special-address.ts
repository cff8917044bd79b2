/**
 * @module Addresses that name no unicast host: multicast groups, the IPv4 limited broadcast and
 * the unspecified address, with the well-known protocols that use them.
 * @remarks Semantics: IPv4 multicast 224.0.0.0/4 (RFC 5771), IPv6 multicast ff00::/8
 * (RFC 4291 §2.7), limited broadcast 255.255.255.255 (RFC 919, RFC 1812 §4.2.3.1), unspecified
 * 0.0.0.0 (RFC 1122 §3.2.1.3, a DHCP client before it has an address, RFC 2131 §4.1) and `::`
 * (RFC 4291 §2.5.2). Group names from the IANA multicast registries
 * (https://www.iana.org/assignments/multicast-addresses,
 * https://www.iana.org/assignments/ipv6-multicast-addresses).
 */
import { AddressRangeSet } from './address-set.js'
import { cidrContains, formatIp, parseCidr, parseIp, type Cidr, type IpAddress } from './ip.js'

/**
 * The non-unicast ranges: IPv4 multicast `224.0.0.0/4`, the IPv4 limited broadcast
 * `255.255.255.255/32` and IPv6 multicast `ff00::/8`. No address in them is a host on the
 * internet: the resolver gives each address its own entity, never `internet`, and the
 * `internet` selector of `recommend` leaves them out.
 */
export const NON_UNICAST_RANGES: readonly Cidr[] = [
  '224.0.0.0/4',
  '255.255.255.255/32',
  'ff00::/8',
].map((t) => parseCidr(t) as Cidr)

/** What a {@link SpecialAddress} is. */
export type SpecialAddressKind = 'multicast' | 'broadcast' | 'unspecified'

/** An address that names no unicast host, see {@link specialAddress}. */
export interface SpecialAddress {
  readonly kind: SpecialAddressKind
  /**
   * Who uses it, for reasons and reports: the protocol of a well-known group (`mDNS`, `SSDP`,
   * `LLMNR`, `all hosts`, ...), else the multicast block it lies in (`IPv4 local network control
   * block`, `IPv4 organization-local scope`, `IPv4 administratively scoped`, `IPv6 solicited-node`,
   * else `IPv4` or `IPv6`), `limited broadcast` or `unspecified`.
   */
  readonly use: string
  /** True when `use` names the group's protocol (an IANA-registered group), not only its block. */
  readonly wellKnown: boolean
}

/** Well-known groups by canonical address (IANA registries). */
const WELL_KNOWN: ReadonlyMap<string, string> = new Map([
  ['224.0.0.1', 'all hosts'],
  ['224.0.0.2', 'all routers'],
  ['224.0.0.5', 'OSPF all routers'],
  ['224.0.0.6', 'OSPF designated routers'],
  ['224.0.0.9', 'RIPv2'],
  ['224.0.0.10', 'EIGRP'],
  ['224.0.0.13', 'PIM'],
  ['224.0.0.18', 'VRRP'],
  ['224.0.0.22', 'IGMPv3 reports'],
  ['224.0.0.102', 'HSRPv2/GLBP'],
  ['224.0.0.251', 'mDNS'],
  ['224.0.0.252', 'LLMNR'],
  ['224.0.1.1', 'NTP'],
  ['239.255.255.250', 'SSDP'],
  ['239.255.255.253', 'SLP'],
  ['ff02::1', 'all nodes'],
  ['ff02::2', 'all routers'],
  ['ff02::5', 'OSPFv3 all routers'],
  ['ff02::6', 'OSPFv3 designated routers'],
  ['ff02::9', 'RIPng'],
  ['ff02::a', 'EIGRP'],
  ['ff02::d', 'PIM'],
  ['ff02::12', 'VRRP'],
  ['ff02::16', 'MLDv2 reports'],
  ['ff02::1:2', 'DHCPv6 relay agents and servers'],
  ['ff02::1:3', 'LLMNR'],
  ['ff05::1:3', 'DHCPv6 servers'],
])

/** IANA's variable-scope IPv6 groups, `ff0X::<id>`: the same protocol in every scope X. */
const VARIABLE_SCOPE: ReadonlyMap<bigint, string> = new Map([
  [0xfbn, 'mDNS'],
  [0xcn, 'SSDP'],
  [0x101n, 'NTP'],
])

const IPV4_LOCAL_CONTROL = parseCidr('224.0.0.0/24') as Cidr
const IPV4_ORGANIZATION_LOCAL = parseCidr('239.255.0.0/16') as Cidr
const IPV4_ADMIN_SCOPED = parseCidr('239.0.0.0/8') as Cidr
const IPV6_SOLICITED_NODE = parseCidr('ff02::1:ff00:0/104') as Cidr
const [IPV4_MULTICAST, BROADCAST, IPV6_MULTICAST] = NON_UNICAST_RANGES as [Cidr, Cidr, Cidr]
/** The scope nibble of an IPv6 multicast address (RFC 4291 §2.7, bits 12–15). */
const SCOPE_MASK = 0xfn << 112n
/** The `ff0` prefix (flags 0: a permanent, IANA-assigned group) of bits 0–11. */
const PERMANENT_MASK = 0xfffn << 116n
const PERMANENT = 0xff0n << 116n

/**
 * What an address is when it names no unicast host: a multicast group (IPv4 `224.0.0.0/4`,
 * IPv6 `ff00::/8`), the IPv4 limited broadcast `255.255.255.255`, or the unspecified address
 * `0.0.0.0` / `::` (the source of a DHCP discover or a duplicate address detection probe).
 * Undefined for every other address (unicast, including private and link-local ones). A subnet's
 * directed broadcast (`10.1.2.255` of `10.1.2.0/24`) depends on the prefix length, which an
 * address alone does not say: it is a unicast address here.
 * @param ip - either family; an IPv4-mapped address is IPv4 already (`parseIp`).
 */
export function specialAddress(ip: IpAddress): SpecialAddress | undefined {
  if (ip.value === 0n) return { kind: 'unspecified', use: 'unspecified', wellKnown: false }
  if (cidrContains(BROADCAST, ip))
    return { kind: 'broadcast', use: 'limited broadcast', wellKnown: false }
  const multicast = (use: string, wellKnown = false): SpecialAddress => ({
    kind: 'multicast',
    use,
    wellKnown,
  })
  if (cidrContains(IPV4_MULTICAST, ip)) {
    const known = WELL_KNOWN.get(formatIp(ip))
    if (known !== undefined) return multicast(known, true)
    if (cidrContains(IPV4_LOCAL_CONTROL, ip)) return multicast('IPv4 local network control block')
    if (cidrContains(IPV4_ORGANIZATION_LOCAL, ip)) return multicast('IPv4 organization-local scope')
    if (cidrContains(IPV4_ADMIN_SCOPED, ip)) return multicast('IPv4 administratively scoped')
    return multicast('IPv4')
  }
  if (cidrContains(IPV6_MULTICAST, ip)) {
    const known = WELL_KNOWN.get(formatIp(ip))
    if (known !== undefined) return multicast(known, true)
    if ((ip.value & PERMANENT_MASK) === PERMANENT) {
      const variable = VARIABLE_SCOPE.get(ip.value & ~PERMANENT_MASK & ~SCOPE_MASK)
      if (variable !== undefined) return multicast(variable, true)
    }
    if (cidrContains(IPV6_SOLICITED_NODE, ip)) return multicast('IPv6 solicited-node')
    return multicast('IPv6')
  }
  return undefined
}

/**
 * True when `ip` is a multicast group or the IPv4 limited broadcast ({@link specialAddress} kind
 * `multicast` or `broadcast`: `224.0.0.0/4`, `ff00::/8`, `255.255.255.255`): a destination that
 * names no one receiver. False for the unspecified address and every unicast one.
 */
export function isGroupAddress(ip: IpAddress): boolean {
  const s = specialAddress(ip)
  return s !== undefined && s.kind !== 'unspecified'
}

/**
 * {@link specialAddress} of an address written as text (any spelling `parseIp` reads);
 * undefined when the text is no address or a unicast one.
 */
export function specialAddressOf(text: string): SpecialAddress | undefined {
  const ip = parseIp(text)
  return ip ? specialAddress(ip) : undefined
}

/** True when `cidr` lies wholly inside one of {@link NON_UNICAST_RANGES}: it names only groups or the broadcast. */
export function isNonUnicastBlock(cidr: Cidr): boolean {
  return NON_UNICAST_RANGES.some(
    (r) =>
      r.family === cidr.family &&
      r.prefix <= cidr.prefix &&
      cidrContains(r, { family: cidr.family, value: cidr.base }),
  )
}

/**
 * True when `set` is not empty and every address in it is a multicast group or the limited
 * broadcast (inside {@link NON_UNICAST_RANGES}): what a selector whose addresses are `set` names
 * is group or broadcast traffic only. `224.0.0.0/3 except 240.0.0.0/4` is; `0.0.0.0/0` is not.
 */
export function isNonUnicastSet(set: AddressRangeSet): boolean {
  return !set.isEmpty && AddressRangeSet.fromCidrs(set.family, NON_UNICAST_RANGES).covers(set)
}

/**
 * A phrase for reasons and reports: `mDNS multicast group`, `IPv4 multicast group`, `IPv4 limited
 * broadcast`, `unspecified address`.
 */
export function describeSpecialAddress(s: SpecialAddress): string {
  switch (s.kind) {
    case 'multicast':
      return `${s.use} multicast group`
    case 'broadcast':
      return `IPv4 ${s.use}`
    case 'unspecified':
      return 'unspecified address'
  }
}
