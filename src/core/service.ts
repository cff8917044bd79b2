/**
 * @module Services (protocol and port sets) and exact set algebra over them.
 *
 * Spelling (DESIGN.md "service"): `tcp/443`, `tcp/8000-8100`, `udp/53`, `sctp/3868`, `tcp`
 * (every TCP port), `icmp` (every ICMP type), `icmp/8` (echo request), `icmpv6`, `icmpv6/128`,
 * `esp`, `ah` and `gre` (IPsec ESP and AH, GRE: protocols without ports, named whole), a
 * protocol number `proto/N` (`proto/50` is `esp`; {@link formatService} writes the name), and
 * `any` (every protocol and port).
 *
 * For ICMP and ICMPv6 the "port" is the ICMP type (0–255), so `icmp/8` matches a flow whose
 * `dstPort` is 8; see {@link Flow}. For protocols without ports the port set is the full range.
 * @remarks Names: the keywords of IANA's "Assigned Internet Protocol Numbers" registry
 * (https://www.iana.org/assignments/protocol-numbers/protocol-numbers.xhtml: 47 GRE, 50 ESP,
 * 51 AH) in lower case, as `/etc/protocols` (protocols(5)), nftables (`meta l4proto esp`) and
 * iptables (`-p esp`) spell them.
 */
import type { IpFamily } from './ip.js'

/** IANA protocol numbers used by name. */
export const PROTOCOLS = {
  icmp: 1,
  tcp: 6,
  udp: 17,
  gre: 47,
  esp: 50,
  ah: 51,
  icmpv6: 58,
  sctp: 132,
} as const

/** Protocol names by number, for rendering (see {@link namesPorts} for which take ports). */
export const PROTOCOL_NAMES: Readonly<Record<number, string>> = {
  1: 'icmp',
  6: 'tcp',
  17: 'udp',
  47: 'gre',
  50: 'esp',
  51: 'ah',
  58: 'icmpv6',
  132: 'sctp',
}

/**
 * True when the policy language writes ports (or ICMP types) for the protocol: `tcp`, `udp`,
 * `sctp`, `icmp`, `icmpv6`. Other protocols are named whole: `esp`, `ah`, `gre`, `proto/N`.
 */
export function namesPorts(protocol: number): boolean {
  return PROTOCOL_NAMES[protocol] !== undefined && (hasPorts(protocol) || isIcmp(protocol))
}

/** True for protocols whose flows carry ports (TCP, UDP, SCTP, UDP-Lite, DCCP). */
export function hasPorts(protocol: number): boolean {
  return (
    protocol === 6 || protocol === 17 || protocol === 132 || protocol === 136 || protocol === 33
  )
}

/** True for ICMP and ICMPv6, whose "port" is the ICMP type. */
export function isIcmp(protocol: number): boolean {
  return protocol === 1 || protocol === 58
}

/** Largest value of the port (or ICMP type) dimension for a protocol. */
export function maxPort(protocol: number): number {
  return isIcmp(protocol) ? 255 : 65535
}

/** An inclusive range of integers, `lo <= hi`. */
export interface PortRange {
  readonly lo: number
  readonly hi: number
}

/**
 * A set of integers as sorted, disjoint, non-adjacent inclusive ranges. Immutable.
 */
export class IntervalSet {
  static readonly EMPTY = new IntervalSet([])

  private constructor(readonly ranges: readonly PortRange[]) {}

  /** Builds a normalised set from any ranges (overlapping or adjacent ranges are merged). */
  static of(ranges: Iterable<PortRange>): IntervalSet {
    const sorted = [...ranges]
      .filter((r) => r.lo <= r.hi)
      .sort((a, b) => a.lo - b.lo || a.hi - b.hi)
    const out: PortRange[] = []
    for (const r of sorted) {
      const last = out[out.length - 1]
      if (last && r.lo <= last.hi + 1) {
        if (r.hi > last.hi) out[out.length - 1] = { lo: last.lo, hi: r.hi }
      } else out.push({ lo: r.lo, hi: r.hi })
    }
    return new IntervalSet(out)
  }

  static range(lo: number, hi: number): IntervalSet {
    return IntervalSet.of([{ lo, hi }])
  }

  get isEmpty(): boolean {
    return this.ranges.length === 0
  }

  /** Number of integers in the set. */
  get size(): number {
    return this.ranges.reduce((n, r) => n + r.hi - r.lo + 1, 0)
  }

  has(n: number): boolean {
    // binary search: ranges are sorted and disjoint
    let lo = 0
    let hi = this.ranges.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const r = this.ranges[mid] as PortRange
      if (n < r.lo) hi = mid - 1
      else if (n > r.hi) lo = mid + 1
      else return true
    }
    return false
  }

  union(other: IntervalSet): IntervalSet {
    return IntervalSet.of([...this.ranges, ...other.ranges])
  }

  intersect(other: IntervalSet): IntervalSet {
    const out: PortRange[] = []
    let i = 0
    let j = 0
    while (i < this.ranges.length && j < other.ranges.length) {
      const a = this.ranges[i] as PortRange
      const b = other.ranges[j] as PortRange
      const lo = Math.max(a.lo, b.lo)
      const hi = Math.min(a.hi, b.hi)
      if (lo <= hi) out.push({ lo, hi })
      if (a.hi < b.hi) i++
      else j++
    }
    return new IntervalSet(out)
  }

  subtract(other: IntervalSet): IntervalSet {
    const out: PortRange[] = []
    for (const a of this.ranges) {
      let lo = a.lo
      for (const b of other.ranges) {
        if (b.hi < lo || b.lo > a.hi) continue
        if (b.lo > lo) out.push({ lo, hi: b.lo - 1 })
        lo = Math.max(lo, b.hi + 1)
        if (lo > a.hi) break
      }
      if (lo <= a.hi) out.push({ lo, hi: a.hi })
    }
    return new IntervalSet(out)
  }

  equals(other: IntervalSet): boolean {
    if (this.ranges.length !== other.ranges.length) return false
    return this.ranges.every((r, i) => {
      const o = other.ranges[i] as PortRange
      return r.lo === o.lo && r.hi === o.hi
    })
  }

  /** `80,443,8000-8100` */
  toString(): string {
    return this.ranges.map((r) => (r.lo === r.hi ? `${r.lo}` : `${r.lo}-${r.hi}`)).join(',')
  }
}

/**
 * One service: a protocol (IANA number) or `any`, and a port (or ICMP type) range.
 * `{protocol: 'any'}` is every protocol and every port.
 */
export type Service =
  { readonly protocol: 'any' } | { readonly protocol: number; readonly ports: PortRange }

/**
 * The IPv6 extension headers the kernel skips to reach the upper-layer protocol (RFC 8200 §4;
 * `ipv6_find_hdr`, which ip6tables' `-p` and nftables' `meta l4proto` use): Hop-by-Hop Options 0,
 * Routing 43, Fragment 44, Authentication Header 51 (RFC 4302), Destination Options 60. A host
 * firewall rule for one of these protocols matches no IPv6 packet: the packet is judged by the
 * protocol it carries.
 */
export const IPV6_EXTENSION_HEADERS: ReadonlySet<number> = new Set([0, 43, 44, 51, 60])

/** Parses a service; returns `{error, code}` describing the problem on failure. */
export function parseService(text: string):
  | Service
  | {
      error: string
      code:
        | 'policy/unknown-protocol'
        | 'policy/port-out-of-range'
        | 'policy/reversed-port-range'
        | 'policy/bad-service'
    } {
  const t = text.trim().toLowerCase()
  if (t === 'any' || t === '*') return { protocol: 'any' }
  const m = /^([a-z0-9]+)(?:\/(.*))?$/.exec(t)
  if (!m)
    return {
      error: `"${text}" is not a service; write e.g. tcp/443, tcp/8000-8100, udp/53, icmp/8 or any`,
      code: 'policy/bad-service',
    }
  const [, protoText = '', portText] = m
  let protocol: number
  let portPart = portText
  if (protoText === 'proto' || protoText === 'ip') {
    // proto/47 or proto/47:ports is not supported; proto/N means every port of protocol N
    if (portText === undefined || !/^\d{1,3}$/.test(portText) || Number(portText) > 255) {
      return {
        error: `"${text}": write proto/N with N an IANA protocol number 0–255`,
        code: 'policy/unknown-protocol',
      }
    }
    protocol = Number(portText)
    portPart = undefined
  } else if (Object.hasOwn(PROTOCOLS, protoText)) {
    protocol = PROTOCOLS[protoText as keyof typeof PROTOCOLS]
  } else {
    return {
      error: `unknown protocol "${protoText}" in "${text}"; use tcp, udp, sctp, icmp, icmpv6, esp, ah, gre, proto/N or any`,
      code: 'policy/unknown-protocol',
    }
  }
  const max = maxPort(protocol)
  if (portPart === undefined || portPart === '*' || portPart === 'any') {
    return { protocol, ports: { lo: 0, hi: max } }
  }
  // `tcp/` (a template whose port was empty) is no service: every port only when written so
  if (portPart.trim() === '')
    return {
      error: `"${text}": nothing after the slash; write ${protoText} for every ${isIcmp(protocol) ? 'type' : 'port'}, or ${protoText}/${isIcmp(protocol) ? '8' : '443'}`,
      code: 'policy/bad-service',
    }
  if (!namesPorts(protocol))
    return {
      error: `"${text}": ${protoText} has no ports; write ${protoText}`,
      code: 'policy/bad-service',
    }
  const r = /^(\d{1,6})(?:-(\d{1,6}))?$/.exec(portPart)
  const what = isIcmp(protocol) ? 'ICMP type' : 'port'
  if (!r)
    return {
      error: isIcmp(protocol)
        ? /^\d{1,3}\/\d{1,3}$/.test(portPart)
          ? `"${text}": ICMP codes are not matched; write the type alone, ${protoText}/${portPart.split('/')[0] ?? ''}`
          : `"${text}": the ICMP type must be a number 0–255 or a range lo-hi`
        : `"${text}": the port must be a number or a range lo-hi`,
      code: 'policy/bad-service',
    }
  const lo = Number(r[1])
  const hi = r[2] === undefined ? lo : Number(r[2])
  if (lo > max || hi > max)
    return { error: `"${text}": ${what} must be 0–${max}`, code: 'policy/port-out-of-range' }
  if (lo > hi)
    return {
      error: `"${text}": range ${lo}-${hi} is reversed; write ${hi}-${lo}`,
      code: 'policy/reversed-port-range',
    }
  return { protocol, ports: { lo, hi } }
}

/**
 * Formats a service in the spelling {@link parseService} reads: `parseService(formatService(s))`
 * is `s` for every service it reads. A protocol the language names whole (`esp`, `ah`, `gre`,
 * `proto/N`; see {@link namesPorts}) is written whole whatever its ports (a flow's, say).
 */
export function formatService(s: Service): string {
  if (s.protocol === 'any') return 'any'
  const name = PROTOCOL_NAMES[s.protocol]
  const full = s.ports.lo === 0 && s.ports.hi === maxPort(s.protocol)
  if (!name) return `proto/${s.protocol}`
  if (full || !namesPorts(s.protocol)) return name
  return s.ports.lo === s.ports.hi ? `${name}/${s.ports.lo}` : `${name}/${s.ports.lo}-${s.ports.hi}`
}

/** True when a flow with this protocol and destination port (ICMP type) is in the service. */
export function serviceMatches(s: Service, protocol: number, dstPort: number): boolean {
  if (s.protocol === 'any') return true
  return s.protocol === protocol && dstPort >= s.ports.lo && dstPort <= s.ports.hi
}

/**
 * A set of (protocol, port) pairs with exact union, intersection and subtraction.
 * Protocols 0–255 each carry an {@link IntervalSet}; `rest` covers every protocol not in `byProtocol`.
 */
/** Protocol numbers 0–255 (IANA "Assigned Internet Protocol Numbers"). */
const PROTOCOL_COUNT = 256

export class ServiceSet {
  static readonly EMPTY = new ServiceSet(new Map(), false)
  static readonly ANY = new ServiceSet(new Map(), true)

  private constructor(
    /** Protocols whose port set differs from what `rest` says. */
    readonly byProtocol: ReadonlyMap<number, IntervalSet>,
    /** Whether every protocol absent from `byProtocol` is wholly in the set. */
    readonly rest: boolean,
  ) {}

  static of(services: Iterable<Service>): ServiceSet {
    let set = ServiceSet.EMPTY
    for (const s of services) set = set.union(ServiceSet.single(s))
    return set
  }

  static single(s: Service): ServiceSet {
    if (s.protocol === 'any') return ServiceSet.ANY
    return new ServiceSet(new Map([[s.protocol, IntervalSet.range(s.ports.lo, s.ports.hi)]]), false)
  }

  /** The port set of one protocol. */
  ports(protocol: number): IntervalSet {
    return (
      this.byProtocol.get(protocol) ??
      (this.rest ? IntervalSet.range(0, maxPort(protocol)) : IntervalSet.EMPTY)
    )
  }

  has(protocol: number, port: number): boolean {
    const p = this.byProtocol.get(protocol)
    return p ? p.has(port) : this.rest
  }

  get isEmpty(): boolean {
    return !this.rest && [...this.byProtocol.values()].every((p) => p.isEmpty)
  }

  get isAny(): boolean {
    return (
      this.rest &&
      [...this.byProtocol.entries()].every(([proto, p]) =>
        p.equals(IntervalSet.range(0, maxPort(proto))),
      )
    )
  }

  private combine(
    other: ServiceSet,
    op: (a: IntervalSet, b: IntervalSet) => IntervalSet,
    rest: boolean,
  ): ServiceSet {
    const map = new Map<number, IntervalSet>()
    for (const proto of new Set([...this.byProtocol.keys(), ...other.byProtocol.keys()])) {
      const v = op(this.ports(proto), other.ports(proto))
      const restValue = rest ? IntervalSet.range(0, maxPort(proto)) : IntervalSet.EMPTY
      if (!v.equals(restValue)) map.set(proto, v)
    }
    return ServiceSet.normal(map, rest)
  }

  /**
   * The set of `byProtocol` and `rest`, with `rest` false whenever every protocol 0–255 is listed
   * (then it covers none, and a set that held "every other protocol" of no protocol would print
   * and count one: `any` less every protocol number but TCP less tcp/80 is `tcp/80` alone), and
   * {@link ANY} when each of them is whole.
   */
  private static normal(map: Map<number, IntervalSet>, rest: boolean): ServiceSet {
    if (map.size < PROTOCOL_COUNT) return new ServiceSet(map, rest)
    for (const [proto, v] of map) if (v.isEmpty) map.delete(proto)
    if (
      map.size === PROTOCOL_COUNT &&
      [...map].every(([proto, v]) => v.equals(IntervalSet.range(0, maxPort(proto))))
    )
      return ServiceSet.ANY
    return new ServiceSet(map, false)
  }

  union(other: ServiceSet): ServiceSet {
    return this.combine(other, (a, b) => a.union(b), this.rest || other.rest)
  }

  intersect(other: ServiceSet): ServiceSet {
    return this.combine(other, (a, b) => a.intersect(b), this.rest && other.rest)
  }

  subtract(other: ServiceSet): ServiceSet {
    return this.combine(other, (a, b) => a.subtract(b), this.rest && !other.rest)
  }

  equals(other: ServiceSet): boolean {
    return this.subtract(other).isEmpty && other.subtract(this).isEmpty
  }

  /**
   * The set as a list of services, sorted by protocol then port. A set that contains every
   * protocol is `[any]` when complete. Otherwise only the protocols the set names explicitly are
   * listed: the protocols it holds whole without naming them (its `rest`, shown as
   * `any-other-protocol` by `toString`) cannot be listed, so a caller that counts or renders the
   * services must check `rest` as well (a set `any` less ICMPv6 lists nothing).
   */
  toServices(): Service[] {
    if (this.isAny) return [{ protocol: 'any' }]
    const out: Service[] = []
    const protos = [...this.byProtocol.keys()].sort((a, b) => a - b)
    for (const proto of protos) {
      for (const r of this.ports(proto).ranges) out.push({ protocol: proto, ports: r })
    }
    return out
  }

  toString(): string {
    if (this.isAny) return 'any'
    const parts = this.toServices().map(formatService)
    return this.rest ? ['any-other-protocol', ...parts].join(',') : parts.join(',')
  }
}

/**
 * Every ICMP type of an address family as a service set: protocol 1 (ICMP) for IPv4, 58
 * (ICMPv6) for IPv6. Between addresses of one family the other's ICMP is no traffic anyone
 * sends, so per-family analyses (connlist, reachability) subtract it.
 */
export const ICMP_OF_FAMILY: Readonly<Record<IpFamily, ServiceSet>> = {
  4: ServiceSet.single({ protocol: 1, ports: { lo: 0, hi: 255 } }),
  6: ServiceSet.single({ protocol: 58, ports: { lo: 0, hi: 255 } }),
}
