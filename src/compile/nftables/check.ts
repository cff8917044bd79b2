/**
 * @module The nftables semantics checker: reads a ruleset file that {@link renderHost} wrote
 * (its header, sets, maps and chains) and runs the first packet of a connection through the
 * rendered base chain rule by rule, following `vmap` and `jump` into the class chains, the way
 * the kernel does. Used to test compiled text against the reference evaluator without a
 * kernel; the kernel harness (test/netns) checks the same files in real namespaces.
 * @remarks Only the subset of nftables syntax that the renderer emits is understood; any other
 * rule line is an error, so that a renderer change cannot be silently ignored here.
 * @see https://wiki.nftables.org/wiki-nftables/index.php/Jumping_to_chain (jump returns)
 */
import {
  cidrRange,
  decidedWithoutRules,
  parseCidr,
  parseIp,
  type EnforcementMode,
} from '../../core/index.js'

/** An inclusive range of one key field: an address or a number (protocol, port, ICMP type). */
interface Range {
  readonly lo: bigint
  readonly hi: bigint
}

/** The elements of one named set or map. */
export interface ParsedSet {
  /** Elements whose every field is a single value, by their fields joined with `|`. */
  readonly exact: ReadonlyMap<string, string | undefined>
  /** The other elements: a range per field, and the map data (`jump CHAIN`, `accept`). */
  readonly ranges: readonly { readonly key: readonly Range[]; readonly data?: string }[]
}

/** A parsed ruleset file. */
export interface ParsedRuleset {
  readonly host: string
  readonly mode: EnforcementMode
  readonly ingress: boolean
  readonly egress: boolean
  /** Named sets and maps by name. */
  readonly sets: ReadonlyMap<string, ParsedSet>
  /** Rule lines of every chain by name (comments and the `type ... hook` line left out). */
  readonly chains: ReadonlyMap<string, readonly string[]>
  /**
   * Whether the ruleset has time slices (`renderHostSlices`): its `mode` is then slice 0's,
   * and packets need their time ({@link CheckPacket.at}).
   */
  readonly sliced: boolean
}

function field(text: string): Range {
  if (!/[.:]/.test(text)) {
    const [a = '', b] = text.split('-')
    if (!/^\d+$/.test(a) || (b !== undefined && !/^\d+$/.test(b)))
      throw new Error(`bad number element "${text}"`)
    return { lo: BigInt(a), hi: BigInt(b ?? a) }
  }
  const dash = text.indexOf('-')
  if (dash > 0) {
    const lo = parseIp(text.slice(0, dash))
    const hi = parseIp(text.slice(dash + 1))
    if (!lo || !hi) throw new Error(`bad address range "${text}"`)
    return { lo: lo.value, hi: hi.value }
  }
  const c = parseCidr(text)
  if (typeof c === 'string') throw new Error(`bad address element "${text}"`)
  const { first, last } = cidrRange(c)
  return { lo: first, hi: last }
}

/**
 * Parses a ruleset written by the renderer.
 * @throws Error on text the renderer does not write.
 */
export function parseRuleset(text: string): ParsedRuleset {
  const header = (k: string): string => new RegExp(`^# ${k}: (.*)$`, 'm').exec(text)?.[1] ?? ''
  const direction = header('direction')
  const sets = new Map<
    string,
    { exact: Map<string, string | undefined>; ranges: { key: Range[]; data?: string }[] }
  >()
  const chains = new Map<string, string[]>()
  let set: string | undefined
  let chain: string | undefined
  let inElements = false
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    const open = /^(map|set|chain) (\S+) \{$/.exec(line)
    if (open) {
      const name = open[2] ?? ''
      if (open[1] === 'chain') {
        chain = name
        chains.set(name, [])
      } else {
        set = name
        sets.set(name, { exact: new Map(), ranges: [] })
      }
      continue
    }
    if (set !== undefined) {
      if (line === 'elements = {') inElements = true
      else if (line === '}') {
        if (inElements) inElements = false
        else set = undefined
      } else if (inElements) {
        const item = line.replace(/,$/, '')
        const colon = item.indexOf(' : ')
        const keyText = colon < 0 ? item : item.slice(0, colon)
        const data = colon < 0 ? undefined : item.slice(colon + 3)
        const key = keyText.split(' . ').map(field)
        const s = sets.get(set)
        if (key.every((r) => r.lo === r.hi)) s?.exact.set(key.map((r) => r.lo).join('|'), data)
        else s?.ranges.push({ key, ...(data !== undefined ? { data } : {}) })
      }
      continue
    }
    if (chain !== undefined) {
      if (line === '}') chain = undefined
      else if (line !== '' && !line.startsWith('#') && !line.startsWith('type '))
        chains.get(chain)?.push(line)
    }
  }
  return {
    host: header('host'),
    mode: header('mode') as EnforcementMode,
    ingress: direction === 'both' || direction === 'ingress',
    egress: direction === 'both' || direction === 'egress',
    sets,
    chains,
    sliced: /^# time slices: /m.test(text),
  }
}

/**
 * A packet that opens a connection, or an ICMP error message about one: addresses as text, IANA
 * protocol, destination port or ICMP type.
 */
export interface CheckPacket {
  readonly src: string
  readonly dst: string
  readonly protocol: number
  readonly dstPort: number
  /**
   * When the packet passes, ms since the epoch (UTC), as the kernel's real-time clock reads it
   * (`meta time`, `-m time`): needed by rulesets with time slices, ignored by the others.
   */
  readonly at?: number
}

const PROTO_NAMES: Readonly<Record<string, number>> = {
  icmp: 1,
  tcp: 6,
  udp: 17,
  dccp: 33,
  'ipv6-icmp': 58,
  sctp: 132,
  udplite: 136,
}

/** `{ 6, tcp, 130-136 }` → whether `v` is in it. */
function inList(list: string, v: number): boolean {
  return list
    .split(',')
    .map((t) => t.trim())
    .some((t) => {
      const named = PROTO_NAMES[t]
      if (named !== undefined) return named === v
      const r = field(t)
      return r.lo <= BigInt(v) && BigInt(v) <= r.hi
    })
}

/** The data of the element of `set` that holds `key`, `null` when none does. */
function lookup(
  rs: ParsedRuleset,
  name: string,
  key: readonly bigint[],
): string | undefined | null {
  const s = rs.sets.get(name)
  if (!s) throw new Error(`no set or map named ${name}`)
  const k = key.join('|')
  if (s.exact.has(k)) return s.exact.get(k)
  const hit = s.ranges.find((e) =>
    e.key.every((r, i) => r.lo <= (key[i] ?? -1n) && (key[i] ?? -1n) <= r.hi),
  )
  return hit ? hit.data : null
}

interface Packet {
  readonly family: 4 | 6
  readonly saddr: bigint
  readonly daddr: bigint
  readonly protocol: number
  readonly dstPort: number
  readonly at?: number
}

type Outcome = 'accept' | 'drop' | 'record' | 'continue'

const TIME_JUMP = /^(?:meta time >= (\d+) )?(?:meta time < (\d+) )?jump (\S+)$/

const ADDR_LOOKUP =
  /^(ip6?) (saddr|daddr) (\S+) (ip6?) (saddr|daddr) (?:vmap @(\S+)|@(\S+) jump (\S+))$/

/**
 * Runs `p` through the rule lines of `chain` in order. Returns `continue` when no rule ends
 * the chain (the caller then goes on after its `jump`, or applies the base chain's policy).
 */
function runChain(rs: ParsedRuleset, chain: string, p: Packet, depth = 0): Outcome {
  if (depth > 4) throw new Error(`jump depth exceeded at ${chain}`)
  const rules = rs.chains.get(chain)
  if (!rules) throw new Error(`no chain named ${chain}`)
  const ipk = p.family === 4 ? 'ip' : 'ip6'
  const hasPorts = (list: string): boolean => inList(list, p.protocol)
  let recorded = false
  for (const rule of rules) {
    let m: RegExpExecArray | null
    if (/^[io]if "lo" accept$/.test(rule)) continue // not loopback
    if (rule === 'ct state established,related accept') {
      // an ICMP error reports on a connection: conntrack marks it related (the evaluators assume
      // the connection is one the host let through, as `related` verdicts do)
      if (decidedWithoutRules(p.protocol, p.dstPort, p.family, p.family) === 'related')
        return 'accept'
      continue // else the first packet of a new, valid connection
    }
    if (/^ct state invalid counter name \S+( drop)?$/.test(rule)) continue
    if (/^counter name \S+$/.test(rule)) continue
    if ((m = /^(icmpv6|icmp) type \{ ([^}]*) \} accept$/.exec(rule))) {
      const proto = m[1] === 'icmp' ? 1 : 58
      if (
        p.family === (proto === 1 ? 4 : 6) &&
        p.protocol === proto &&
        inList(m[2] ?? '', p.dstPort)
      )
        return 'accept'
      continue
    }
    if (rule === 'ip protocol igmp accept') {
      // link control (IGMP): IPv4 packets of protocol 2, whatever their type
      if (p.family === 4 && p.protocol === 2) return 'accept'
      continue
    }
    if ((m = /^(ip6?) saddr @(\S+) tcp dport 22 accept$/.exec(rule))) {
      if (
        m[1] === ipk &&
        p.protocol === 6 &&
        p.dstPort === 22 &&
        lookup(rs, m[2] ?? '', [p.saddr]) !== null
      )
        return 'accept'
      continue
    }
    if ((m = TIME_JUMP.exec(rule))) {
      // `meta time` is the real-time clock in ns; the bounds are whole seconds
      if (m[1] !== undefined || m[2] !== undefined) {
        if (p.at === undefined) throw new Error(`packet without time at ${chain}: ${rule}`)
        if (m[1] !== undefined && p.at < Number(m[1]) * 1000) continue
        if (m[2] !== undefined && p.at >= Number(m[2]) * 1000) continue
      }
      const r = runChain(rs, m[3] ?? '', p, depth + 1)
      if (r !== 'continue') return r
      continue
    }
    if ((m = ADDR_LOOKUP.exec(rule))) {
      if (m[1] !== ipk || m[4] !== ipk) continue
      const own = field(m[3] ?? '')
      const ownValue = m[2] === 'saddr' ? p.saddr : p.daddr
      if (ownValue < own.lo || ownValue > own.hi) continue
      const peer = m[5] === 'saddr' ? p.saddr : p.daddr
      let verdict: string | undefined | null
      if (m[6] !== undefined) verdict = lookup(rs, m[6], [peer])
      else verdict = lookup(rs, m[7] ?? '', [peer]) !== null ? `jump ${m[8] ?? ''}` : null
      if (verdict === null) continue
      if (verdict === 'accept') return 'accept'
      const jump = /^jump (\S+)$/.exec(verdict ?? '')
      if (!jump) throw new Error(`unsupported verdict "${verdict}" in ${chain}`)
      const r = runChain(rs, jump[1] ?? '', p, depth + 1)
      if (r !== 'continue') return r
      continue
    }
    if ((m = /^meta l4proto \{ ([^}]*) \} meta l4proto \. th dport @(\S+) accept$/.exec(rule))) {
      if (
        hasPorts(m[1] ?? '') &&
        lookup(rs, m[2] ?? '', [BigInt(p.protocol), BigInt(p.dstPort)]) !== null
      )
        return 'accept'
      continue
    }
    if ((m = /^meta l4proto \{ ([^}]*) \} accept$/.exec(rule))) {
      if (inList(m[1] ?? '', p.protocol)) return 'accept'
      continue
    }
    if ((m = /^meta l4proto (!= )?\{ ([^}]*) \} update @\S+ \{ (ip6?) saddr /.exec(rule))) {
      if (m[3] === ipk && inList(m[2] ?? '', p.protocol) !== (m[1] !== undefined)) recorded = true
      continue
    }
    if ((m = /^counter name \S+ (drop|accept)$/.exec(rule))) {
      if (m[1] === 'drop') return 'drop'
      return recorded ? 'record' : 'accept'
    }
    throw new Error(`unsupported rule in chain ${chain}: ${rule}`)
  }
  return 'continue'
}

/**
 * What the host's `input` (ingress) or `output` (egress) chain does with the first packet of a
 * connection: `accept` (allowed, or the chain is absent, or the mode is `observe`), `drop`
 * (enforce and not allowed), or `record` (monitor and not allowed: added to the would-be-blocked
 * set, then accepted). Replies (`ct state established`) are always accepted and not modelled.
 * Addresses of different families never reach a rule (the packet is dropped or recorded).
 * @throws Error when the ruleset holds a rule this checker does not understand.
 */
export function decidePacket(
  rs: ParsedRuleset,
  direction: 'ingress' | 'egress',
  p: CheckPacket,
): 'accept' | 'drop' | 'record' {
  if (direction === 'ingress' ? !rs.ingress : !rs.egress) return 'accept'
  if (rs.mode === 'observe' && !rs.sliced) return 'accept'
  const s = parseIp(p.src)
  const d = parseIp(p.dst)
  if (!s || !d || s.family !== d.family) return rs.mode === 'enforce' ? 'drop' : 'record'
  const packet: Packet = {
    family: s.family,
    saddr: s.value,
    daddr: d.value,
    protocol: p.protocol,
    dstPort: p.dstPort,
    ...(p.at !== undefined ? { at: p.at } : {}),
  }
  const r = runChain(rs, direction === 'ingress' ? 'input' : 'output', packet)
  return r === 'continue' ? 'accept' : r
}
