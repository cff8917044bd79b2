/**
 * @module The iptables semantics checker: reads the files {@link renderIpset} and
 * {@link renderRules} wrote for one host and decides the first packet of a connection the way
 * the kernel walks `BULKHEAD-IN` / `BULKHEAD-OUT`: rule by rule, first terminal target wins.
 * Used to test compiled text against the reference evaluator without a kernel; the kernel test
 * (test/netns/iptables-kernel.test.ts) checks the same files in real namespaces.
 * @remarks Only the subset of iptables-restore and ipset syntax the renderers emit is understood.
 * @see https://ipset.netfilter.org/iptables-extensions.man.html
 */
import {
  cidrRange,
  decidedWithoutRules,
  parseCidr,
  parseIp,
  type EnforcementMode,
} from '../../core/index.js'
import type { CheckPacket } from '../nftables/check.js'
import { ICMP_ANY_TYPE, ICMP_TYPE_U32, IP_PROTOCOL_U32, IPT_CHAINS } from './render.js'

interface Range {
  readonly lo: bigint
  readonly hi: bigint
}

/** One parsed rule of a Bulkhead chain: its matches and target (undefined = count only). */
interface ParsedRule {
  readonly iface?: string
  readonly src?: Range
  readonly dst?: Range
  readonly proto?: number
  readonly dport?: { lo: number; hi: number }
  readonly icmpType?: number
  readonly ctstate?: readonly string[]
  /** `--match-set NAME FLAGS`: one flag per set dimension (`src` / `dst`). */
  readonly set?: { name: string; flags: readonly ('src' | 'dst')[] }
  /**
   * `-m time --datestart/--datestop`: inclusive bounds in whole seconds since the epoch (UTC, as
   * iptables reads the dates without `--kerneltz`), compared with the kernel's real-time clock in
   * whole seconds (xt_time).
   */
  readonly time?: { readonly start?: number; readonly stop?: number }
  readonly target?: 'ACCEPT' | 'DROP' | 'SET'
}

/** One `hash:ip,port,net` entry: first block, protocol number, port, second block. */
interface SvcEntry {
  readonly a: Range
  readonly proto: number
  readonly port: number
  readonly b: Range
}

const IPSET_PROTO: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132, udplite: 136 }

function svcEntry(text: string): SvcEntry {
  const [a = '', pp = '', b = ''] = text.split(',')
  const [proto = '', port = ''] = pp.split(':')
  const p = IPSET_PROTO[proto]
  if (p === undefined) throw new Error(`bad service entry "${text}"`)
  return { a: block(a), proto: p, port: Number(port), b: block(b) }
}

/** The files of one host, parsed. */
export interface ParsedIptables {
  readonly host: string
  readonly mode: EnforcementMode
  /** `hash:net` sets of the ipset file, by name (after the swap: under their final names). */
  readonly sets: ReadonlyMap<string, readonly Range[]>
  /** `hash:ip,port,net` sets, by name. */
  readonly serviceSets: ReadonlyMap<string, readonly SvcEntry[]>
  /** Chain rules per family and chain name; a chain the file lacks is absent (no filtering). */
  readonly chains: Readonly<Record<4 | 6, ReadonlyMap<string, readonly ParsedRule[]>>>
}

function block(text: string): Range {
  const c = parseCidr(text)
  if (typeof c === 'string') throw new Error(`bad address "${text}"`)
  const { first, last } = cidrRange(c)
  return { lo: first, hi: last }
}

const PROTO: Readonly<Record<string, number>> = {
  tcp: 6,
  udp: 17,
  dccp: 33,
  sctp: 132,
  icmp: 1,
  'ipv6-icmp': 58,
}

function parseRule(tokens: readonly string[]): ParsedRule {
  const r: { -readonly [K in keyof ParsedRule]?: ParsedRule[K] } = {}
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]
    const v = tokens[i + 1] ?? ''
    switch (t) {
      case '-i':
      case '-o':
        r.iface = v
        i++
        break
      case '-s':
        r.src = block(v)
        i++
        break
      case '-d':
        r.dst = block(v)
        i++
        break
      case '--dst-range': {
        const [lo, hi] = v.split('-').map(parseIp)
        if (!lo || !hi) throw new Error(`bad address range "${v}"`)
        r.dst = { lo: lo.value, hi: hi.value }
        i++
        break
      }
      case '-p':
        r.proto = PROTO[v] ?? Number(v)
        if (!Number.isInteger(r.proto)) throw new Error(`unknown protocol "${v}"`)
        // iptables(8): "The number zero is equivalent to all"
        if (r.proto === 0) delete r.proto
        i++
        break
      case '--dport':
      case '--dports': {
        const [a = '', b] = v.split(':')
        r.dport = { lo: Number(a), hi: Number(b ?? a) }
        i++
        break
      }
      case '--icmp-type': {
        // IPv4 only: type 255 (printed `any`) matches every type, as the kernel's icmp match does
        const type = v === 'any' ? ICMP_ANY_TYPE : Number(v.split('/')[0])
        if (type !== ICMP_ANY_TYPE) r.icmpType = type
        i++
        break
      }
      case '--icmpv6-type':
        r.icmpType = Number(v.split('/')[0])
        i++
        break
      case '--u32': {
        const m = /^"?(.*)=(\d+)"?$/.exec(v)
        if (m?.[1] === IP_PROTOCOL_U32) r.proto = Number(m[2])
        else if (m?.[1] === ICMP_TYPE_U32) r.icmpType = Number(m[2])
        else throw new Error(`unknown u32 match "${v}"`)
        i++
        break
      }
      case '--datestart':
      case '--datestop': {
        const at = Date.parse(`${v}Z`)
        if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(v) || Number.isNaN(at))
          throw new Error(`unsupported date "${v}"`)
        r.time = { ...r.time, [t === '--datestart' ? 'start' : 'stop']: at / 1000 }
        i++
        break
      }
      case '--ctstate':
        r.ctstate = v.split(',')
        i++
        break
      case '--match-set':
        r.set = {
          name: v,
          flags: (tokens[i + 2] ?? '').split(',').map((f) => (f === 'dst' ? 'dst' : 'src')),
        }
        i += 2
        break
      case '-j':
        if (v !== 'ACCEPT' && v !== 'DROP' && v !== 'SET') throw new Error(`unknown target "${v}"`)
        r.target = v
        i++
        break
      case '-m':
      case '--comment':
      case '--add-set':
        i++
        break
      default:
        // SET target arguments (`src,dst,dst`, `--exist`) and quoted comment words
        break
    }
  }
  return r
}

/**
 * Parses one host's three artefacts (any order; identified by their first line).
 * @throws Error on text the renderers do not write.
 */
export function parseIptables(files: readonly string[]): ParsedIptables {
  const sets = new Map<string, Range[]>()
  const serviceSets = new Map<string, SvcEntry[]>()
  const chains: Record<4 | 6, Map<string, ParsedRule[]>> = { 4: new Map(), 6: new Map() }
  let host = ''
  let mode: EnforcementMode = 'observe'
  for (const text of files) {
    const first = text.split('\n', 1)[0] ?? ''
    host = /^# host: (.*)$/m.exec(text)?.[1] ?? host
    mode = (/^# mode: (.*)$/m.exec(text)?.[1] as EnforcementMode | undefined) ?? mode
    if (first.includes('(ipset restore)')) {
      const pending = new Map<string, (Range | SvcEntry)[]>()
      const svcNames = new Set<string>()
      for (const line of text.split('\n')) {
        const w = line.split(' ')
        if (w[0] === 'create' && (w[2] === 'hash:net' || w[2] === 'hash:ip,port,net')) {
          if (w[2] !== 'hash:net') svcNames.add(w[1] ?? '')
          if (!pending.has(w[1] ?? '')) pending.set(w[1] ?? '', [])
        } else if (w[0] === 'flush') pending.set(w[1] ?? '', [])
        else if (w[0] === 'add' && pending.has(w[1] ?? ''))
          pending
            .get(w[1] ?? '')
            ?.push(svcNames.has(w[1] ?? '') ? svcEntry(w[2] ?? '') : block(w[2] ?? ''))
        else if (w[0] === 'swap') {
          const a = pending.get(w[1] ?? '') ?? []
          const b = pending.get(w[2] ?? '') ?? []
          pending.set(w[1] ?? '', b)
          pending.set(w[2] ?? '', a)
        } else if (w[0] === 'destroy') pending.delete(w[1] ?? '')
      }
      for (const [k, v] of pending) {
        if (svcNames.has(k)) serviceSets.set(k, v as SvcEntry[])
        else sets.set(k, v as Range[])
      }
      continue
    }
    const family = first.includes('(ip6tables-restore)') ? 6 : 4
    for (const line of text.split('\n')) {
      const m = /^-A (\S+) (.*)$/.exec(line)
      if (!m || m[1] === 'INPUT' || m[1] === 'OUTPUT') continue
      const list = chains[family].get(m[1] ?? '') ?? []
      list.push(parseRule((m[2] ?? '').split(' ')))
      chains[family].set(m[1] ?? '', list)
    }
  }
  return { host, mode, sets, serviceSets, chains }
}

const inRange = (r: Range, v: bigint): boolean => r.lo <= v && v <= r.hi

/**
 * What the host's `BULKHEAD-IN` (ingress) or `BULKHEAD-OUT` (egress) chain does with the first
 * packet of a connection (conntrack state NEW, not on loopback), or an ICMP error message about
 * one (state RELATED): `accept` (an ACCEPT rule, the
 * chain absent, or the end of the chain), `drop` (a DROP rule), or `record` (the SET target
 * adds it to the would-be-blocked set, then a later rule accepts it). Same contract as the
 * nftables checker's `decidePacket`.
 */
export function decideIptables(
  rs: ParsedIptables,
  direction: 'ingress' | 'egress',
  p: CheckPacket,
): 'accept' | 'drop' | 'record' {
  const s = parseIp(p.src)
  const d = parseIp(p.dst)
  if (!s || !d || s.family !== d.family) throw new Error(`bad packet ${p.src} -> ${p.dst}`)
  const rules = rs.chains[s.family].get(direction === 'ingress' ? IPT_CHAINS.in : IPT_CHAINS.out)
  if (!rules) return 'accept'
  // an ICMP error reports on a connection: conntrack marks it RELATED (the evaluators assume the
  // connection is one the host let through, as `related` verdicts do); anything else is NEW
  const state =
    decidedWithoutRules(p.protocol, p.dstPort, s.family, d.family) === 'related' ? 'RELATED' : 'NEW'
  let recorded = false
  for (const r of rules) {
    if (r.iface !== undefined) continue // loopback only
    if (r.time) {
      if (p.at === undefined) throw new Error('packet without time for a rule with -m time')
      const stamp = Math.floor(p.at / 1000)
      if (r.time.start !== undefined && stamp < r.time.start) continue
      if (r.time.stop !== undefined && stamp > r.time.stop) continue
    }
    if (r.ctstate && !r.ctstate.includes(state)) continue
    if (r.src && !inRange(r.src, s.value)) continue
    if (r.dst && !inRange(r.dst, d.value)) continue
    if (r.proto !== undefined && r.proto !== p.protocol) continue
    if (r.dport && !(r.dport.lo <= p.dstPort && p.dstPort <= r.dport.hi)) continue
    if (r.icmpType !== undefined && r.icmpType !== p.dstPort) continue
    if (r.set) {
      const addr = (f: 'src' | 'dst' | undefined): bigint => (f === 'dst' ? d.value : s.value)
      const blocks = rs.sets.get(r.set.name)
      const svc = rs.serviceSets.get(r.set.name)
      if (blocks) {
        const v = addr(r.set.flags[0])
        if (!blocks.some((b) => inRange(b, v))) continue
      } else if (svc) {
        // dimensions: ip (flag 0), proto:port (flag 1: dst = destination port), net (flag 2)
        if (r.set.flags[1] !== 'dst') throw new Error(`unexpected flags on ${r.set.name}`)
        const a = addr(r.set.flags[0])
        const b = addr(r.set.flags[2])
        const hit = svc.some(
          (e) =>
            e.proto === p.protocol && e.port === p.dstPort && inRange(e.a, a) && inRange(e.b, b),
        )
        if (!hit) continue
      } else throw new Error(`rule references set ${r.set.name}, which the ipset file lacks`)
    }
    if (r.target === 'ACCEPT') return recorded ? 'record' : 'accept'
    if (r.target === 'DROP') return 'drop'
    if (r.target === 'SET') recorded = true
  }
  return recorded ? 'record' : 'accept'
}
