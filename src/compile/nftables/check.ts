/**
 * @module The nftables semantics checker: reads a ruleset file that {@link renderHost} wrote
 * (its header, management sets and verdict-map elements) and decides a packet the way the
 * rendered chains do. Used to test compiled text against the reference evaluator without a
 * kernel; the kernel harness (test/netns) checks the same files in real namespaces.
 * @remarks Only the subset of nftables syntax that the renderer emits is understood.
 */
import {
  parseCidr,
  parseIp,
  cidrRange,
  type EnforcementMode,
  type IpAddress,
  type IpFamily,
} from '../../core/index.js'
import { PORT_PROTOCOLS } from './capabilities.js'
import { IPV6_LINK_CONTROL_ICMP_TYPES } from '../target.js'

interface Range {
  readonly lo: bigint
  readonly hi: bigint
}

interface Elem {
  readonly src: Range
  readonly dst: Range
  readonly a: { lo: number; hi: number }
  readonly b?: { lo: number; hi: number }
}

/** A parsed ruleset file. */
export interface ParsedRuleset {
  readonly host: string
  readonly mode: EnforcementMode
  readonly ingress: boolean
  readonly egress: boolean
  /** Elements of each verdict map, by map name (`in_ports_v4`, ...). */
  readonly maps: ReadonlyMap<string, readonly Elem[]>
  /** Anti-lockout source ranges by family. */
  readonly management: Readonly<Record<IpFamily, readonly Range[]>>
}

function addrRange(text: string): { family: IpFamily; range: Range } {
  const dash = text.indexOf('-')
  if (dash > 0) {
    const lo = parseIp(text.slice(0, dash)) as IpAddress
    const hi = parseIp(text.slice(dash + 1)) as IpAddress
    return { family: lo.family, range: { lo: lo.value, hi: hi.value } }
  }
  const c = parseCidr(text)
  if (typeof c === 'string') throw new Error(`bad address element "${text}"`)
  const { first, last } = cidrRange(c)
  return { family: c.family, range: { lo: first, hi: last } }
}

function numRange(text: string): { lo: number; hi: number } {
  const [a = '', b] = text.split('-')
  return { lo: Number(a), hi: Number(b ?? a) }
}

/**
 * Parses a ruleset written by the renderer.
 * @throws Error on text the renderer does not write.
 */
export function parseRuleset(text: string): ParsedRuleset {
  const header = (k: string): string => new RegExp(`^# ${k}: (.*)$`, 'm').exec(text)?.[1] ?? ''
  const direction = header('direction')
  const maps = new Map<string, Elem[]>()
  const management: Record<IpFamily, Range[]> = { 4: [], 6: [] }
  let current: string | undefined
  let inElements = false
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    const open = /^(map|set) (\S+) \{$/.exec(line)
    if (open) {
      current = open[2]
      if (open[1] === 'map') maps.set(current ?? '', [])
      continue
    }
    if (line === 'elements = {') {
      inElements = true
      continue
    }
    if (inElements && line === '}') {
      inElements = false
      continue
    }
    if (!inElements || current === undefined) continue
    const item = line.replace(/,$/, '')
    if (current.startsWith('mgmt_')) {
      const r = addrRange(item)
      management[r.family].push(r.range)
      continue
    }
    const list = maps.get(current)
    if (!list) continue
    const parts = item.replace(/ : accept$/, '').split(' . ')
    const src = addrRange(parts[0] ?? '').range
    const dst = addrRange(parts[1] ?? '').range
    const rest = parts.slice(2).map(numRange)
    list.push({ src, dst, a: rest[0] ?? { lo: 0, hi: 0 }, ...(rest[1] ? { b: rest[1] } : {}) })
  }
  return {
    host: header('host'),
    mode: header('mode') as EnforcementMode,
    ingress: direction === 'both' || direction === 'ingress',
    egress: direction === 'both' || direction === 'egress',
    maps,
    management,
  }
}

const inRange = (r: Range, v: bigint): boolean => r.lo <= v && v <= r.hi
const inNum = (r: { lo: number; hi: number }, v: number): boolean => r.lo <= v && v <= r.hi

/** A packet that opens a connection: addresses as text, IANA protocol, destination port or ICMP type. */
export interface CheckPacket {
  readonly src: string
  readonly dst: string
  readonly protocol: number
  readonly dstPort: number
}

/**
 * What the host's `input` (ingress) or `output` (egress) chain does with the first packet of a
 * connection: `accept` (allowed, or the chain is absent, or the mode is `observe`), `drop`
 * (enforce and not allowed), or `record` (monitor and not allowed: added to the would-be-blocked
 * set, then accepted). Replies (`ct state established`) are always accepted and not modelled.
 */
export function decidePacket(
  rs: ParsedRuleset,
  direction: 'ingress' | 'egress',
  p: CheckPacket,
): 'accept' | 'drop' | 'record' {
  if (direction === 'ingress' ? !rs.ingress : !rs.egress) return 'accept'
  if (rs.mode === 'observe') return 'accept'
  const s = parseIp(p.src)
  const d = parseIp(p.dst)
  if (!s || !d || s.family !== d.family) return rs.mode === 'enforce' ? 'drop' : 'record'
  const fam = s.family
  const miss = rs.mode === 'enforce' ? ('drop' as const) : ('record' as const)
  // fixed rules: IPv6 multicast listener and neighbour discovery, anti-lockout
  if (fam === 6 && p.protocol === 58 && IPV6_LINK_CONTROL_ICMP_TYPES.includes(p.dstPort))
    return 'accept'
  if (
    direction === 'ingress' &&
    p.protocol === 6 &&
    p.dstPort === 22 &&
    rs.management[fam].some((r) => inRange(r, s.value))
  ) {
    return 'accept'
  }
  const dir = direction === 'ingress' ? 'in' : 'out'
  const icmp = fam === 4 ? 1 : 58
  const kind = PORT_PROTOCOLS.includes(p.protocol)
    ? 'ports'
    : p.protocol === icmp
      ? 'icmp'
      : 'proto'
  const elems = rs.maps.get(`${dir}_${kind}_v${fam}`) ?? []
  const hit = elems.some((e) => {
    if (!inRange(e.src, s.value) || !inRange(e.dst, d.value)) return false
    if (kind === 'ports')
      return inNum(e.a, p.protocol) && e.b !== undefined && inNum(e.b, p.dstPort)
    if (kind === 'icmp') return inNum(e.a, p.dstPort)
    return inNum(e.a, p.protocol)
  })
  return hit ? 'accept' : miss
}
