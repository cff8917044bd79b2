/**
 * @module Renders a {@link HostPlan} (the nftables target's plan, reused unchanged) for hosts
 * without nftables: an `ipset restore` file of `hash:net` address groups and a `hash:ip,port,net`
 * service set per direction and family (kernel without `hash:net,port,net` support is fine), and one
 * `iptables-restore` / `ip6tables-restore` file per family whose chains `BULKHEAD-IN` and
 * `BULKHEAD-OUT` (jumped to from `INPUT` / `OUTPUT`) accept the planned (local address,
 * protocol, port) groups whose peer lies in the group's set, then drop (enforce), record in a
 * would-be-blocked ipset and accept (monitor), or only count (observe). On ingress the plan's
 * multicast and broadcast destinations (nftables `GroupPeers`) are locals too: a single group in
 * the service set, a range of groups by `-d BLOCK` or `-m iprange --dst-range`.
 *
 * Stable: the chain names and the set names below are read by the tests and by operators
 * (`ipset list -o save bh-wbb-in-v4`); do not rename them.
 * @see https://ipset.netfilter.org/ipset.man.html (hash:net, hash:ip,port,net, hash:ip,port,ip, restore, swap)
 * @see https://ipset.netfilter.org/iptables-extensions.man.html (set match, SET target, conntrack)
 */
import {
  IGMP_PROTOCOL,
  IPV6_EXTENSION_HEADERS,
  IPV6_LINK_CONTROL_ICMP_TYPES,
  familyBits,
  formatIp,
  rangeToCidrs,
  type IpFamily,
  type PortRange,
} from '../../core/index.js'
import { familyElements, type AddressRange, type HostPlan } from '../nftables/compile.js'

/** The chains every rules file owns. Stable. */
export const IPT_CHAINS = { in: 'BULKHEAD-IN', out: 'BULKHEAD-OUT' } as const

/**
 * Name of a would-be-blocked set (`hash:ip,port,ip` with a timeout, filled by the SET target
 * with `src,dst,dst`): `bh-wbb-<in|out>-v<4|6>`. Stable.
 */
export function wbbIpsetName(direction: 'in' | 'out', family: IpFamily): string {
  return `bh-wbb-${direction}-v${family}`
}

/** Name of the anti-lockout source set: `bh-mgmt-v<4|6>`. Stable. */
export function mgmtIpsetName(family: IpFamily): string {
  return `bh-mgmt-v${family}`
}

/** `maxelem` of every `hash:net` set: fixed, so that `create -exist` matches an existing set. */
export const IPSET_MAXELEM = 1 << 22

/** What one accept rule matches besides the peer set. */
export interface RuleMatch {
  /**
   * The host's own address (destination for ingress, source for egress), or the first address of
   * a group destination range (ingress, see nftables `GroupPeers`).
   */
  readonly local: bigint
  /** The last address of a group destination range of more than one address; absent otherwise. */
  readonly localLast?: bigint
  readonly kind: 'ports' | 'icmp' | 'proto'
  /** IANA protocol number. */
  readonly proto: number
  /** Destination port range (`ports`), one ICMP type (`icmp`, absent = every type), absent for `proto`. */
  readonly port?: PortRange
}

/** One accept rule: its match and the `hash:net` set of peers. */
export interface AcceptRule extends RuleMatch {
  readonly set: string
}

/**
 * One ipset: name, family, type and entries. `hash:net` sets hold peer blocks (the peers of
 * one accept rule, the management sources); the per-direction `hash:ip,port,net` service set
 * (`bh-<in|out>-v<4|6>-svc`) holds `LOCAL,PROTO:PORT,PEER` for single-port TCP/UDP/SCTP/UDP-Lite
 * services, matched by ONE rule whatever its size.
 */
export interface AddressGroup {
  readonly name: string
  readonly family: IpFamily
  readonly type: 'hash:net' | 'hash:ip,port,net'
  readonly entries: readonly string[]
}

/** The iptables form of a host plan: address groups and accept rules per direction and family. */
export interface IptablesPlan {
  readonly plan: HostPlan
  readonly groups: readonly AddressGroup[]
  readonly rules: Readonly<Record<'in' | 'out', Readonly<Record<IpFamily, readonly AcceptRule[]>>>>
  /** Name of the `hash:ip,port,net` service set per direction and family, when it has entries. */
  readonly serviceSets: Readonly<
    Record<'in' | 'out', Readonly<Record<IpFamily, string | undefined>>>
  >
}

/** Protocols whose single ports go into the `hash:ip,port,net` service set (ipset's names). */
const IPSET_PORT_PROTO: Readonly<Record<number, string>> = {
  6: 'tcp',
  17: 'udp',
  132: 'sctp',
  136: 'udplite',
}

/**
 * Groups the plan's map elements by (local address, protocol, port). Single-port TCP, UDP, SCTP
 * and UDP-Lite groups become entries of the direction's `hash:ip,port,net` service set (one
 * hash lookup per packet however many rules); every other group (port ranges, DCCP, ICMP,
 * other protocols) gets one rule and its peers one `hash:net` set (`bh-<in|out>-v<4|6>-<n>`;
 * equal peer lists share a set).
 * `sfx` ends the names of the address groups except the management sets (a time slice's `-t<i>`).
 * IP protocol 0 cannot be written `-p 0` (iptables reads it as every protocol): on IPv4 it is
 * matched on the header's protocol byte with `-m u32` ({@link IP_PROTOCOL_U32}); on IPv6 it and
 * the other extension headers `-p` skips ({@link IPV6_EXTENSION_HEADERS}) are left out, as no
 * packet has them for upper-layer protocol.
 */
export function iptablesPlan(plan: HostPlan, sfx = ''): IptablesPlan {
  const groups: AddressGroup[] = []
  const rules = { in: { 4: [], 6: [] }, out: { 4: [], 6: [] } } as Record<
    'in' | 'out',
    Record<IpFamily, AcceptRule[]>
  >
  const serviceSets = {
    in: { 4: undefined, 6: undefined },
    out: { 4: undefined, 6: undefined },
  } as Record<'in' | 'out', Record<IpFamily, string | undefined>>
  if (plan.mode === 'observe') return { plan, groups, rules, serviceSets }
  for (const family of [4, 6] as const) {
    const cidrs = plan.management.filter((c) => c.family === family)
    if (cidrs.length > 0)
      groups.push({
        name: mgmtIpsetName(family),
        family,
        type: 'hash:net',
        entries: cidrs.map((c) => c.text),
      })
  }
  for (const dir of ['in', 'out'] as const) {
    for (const family of [4, 6] as const) {
      const elements = familyElements(plan, dir === 'in' ? 'ingress' : 'egress', family)
      const byMatch = new Map<string, { match: RuleMatch; peers: AddressRange[] }>()
      const add = (match: RuleMatch, peer: AddressRange): void => {
        const k = `${match.local}-${match.localLast ?? ''}|${match.kind}|${match.proto}|${match.port?.lo ?? ''}-${match.port?.hi ?? ''}`
        const g = byMatch.get(k) ?? { match, peers: [] }
        g.peers.push(peer)
        byMatch.set(k, g)
      }
      for (const kind of ['ports', 'icmp', 'proto'] as const) {
        for (const e of elements[kind]) {
          const local = dir === 'in' ? e.dst : e.src
          const peer = dir === 'in' ? e.src : e.dst
          // an own address, or a group destination range (matched whole with -d)
          const l =
            local.lo === local.hi ? { local: local.lo } : { local: local.lo, localLast: local.hi }
          if (kind === 'ports')
            add({ ...l, kind, proto: e.proto.lo, port: e.port ?? { lo: 0, hi: 65535 } }, peer)
          else if (kind === 'icmp') {
            const t = e.port ?? { lo: 0, hi: 255 }
            if (t.lo === 0 && t.hi === 255) add({ ...l, kind, proto: e.proto.lo }, peer)
            else
              for (let x = t.lo; x <= t.hi; x++)
                add({ ...l, kind, proto: e.proto.lo, port: { lo: x, hi: x } }, peer)
          } else {
            for (let p = e.proto.lo; p <= e.proto.hi; p++)
              if (family === 4 || !IPV6_EXTENSION_HEADERS.has(p))
                add({ ...l, kind, proto: p }, peer)
          }
        }
      }
      const setOf = new Map<string, string>()
      const svc: string[] = []
      for (const { match, peers } of byMatch.values()) {
        const cidrs = peers.flatMap((r) => rangeToCidrs(family, r))
        const pname = IPSET_PORT_PROTO[match.proto]
        if (
          match.kind === 'ports' &&
          pname !== undefined &&
          match.port?.lo === match.port?.hi &&
          match.localLast === undefined
        ) {
          const local = formatIp({ family, value: match.local })
          for (const c of cidrs) svc.push(`${local},${pname}:${match.port?.lo ?? 0},${c}`)
          continue
        }
        const key = cidrs.join(' ')
        let name = setOf.get(key)
        if (name === undefined) {
          name = `bh-${dir}-v${family}-${setOf.size}${sfx}`
          setOf.set(key, name)
          groups.push({ name, family, type: 'hash:net', entries: cidrs })
        }
        rules[dir][family].push({ ...match, set: name })
      }
      if (svc.length > 0) {
        const name = `bh-${dir}-v${family}-svc${sfx}`
        groups.push({ name, family, type: 'hash:ip,port,net', entries: svc })
        serviceSets[dir][family] = name
      }
    }
  }
  return { plan, groups, rules, serviceSets }
}

/**
 * One time slice of a host's iptables form: its start (ms since epoch, UTC) and the plan in
 * force from then on (group names ending in `-t<i>`, see {@link iptablesPlan}).
 */
export interface IptablesSlice {
  readonly start: number
  readonly ip: IptablesPlan
}

/** A host's iptables form: one plan (no time slices), or its time slices in ascending order. */
export type IptablesHost = IptablesPlan | readonly IptablesSlice[]

function slicesOf(x: IptablesHost): readonly IptablesSlice[] {
  return 'plan' in x ? [{ start: Date.parse(x.plan.compiledAt), ip: x }] : x
}

const seconds = (t: number): number => Math.ceil(t / 1000)

/** `-m time` dates: UTC (iptables' default, without `--kerneltz`), whole seconds. */
const utcDate = (s: number): string => new Date(s * 1000).toISOString().slice(0, 19)

function addresses(plan: HostPlan): string {
  return (
    [
      ...plan.local[4].map((v) => formatIp({ family: 4, value: v })),
      ...plan.local[6].map((v) => formatIp({ family: 6, value: v })),
    ].join(', ') || '(none)'
  )
}

function header(x: IptablesHost, what: string): string[] {
  const slices = slicesOf(x)
  const plan = (slices[0] as IptablesSlice).ip.plan
  const out = [
    `# Generated by \`bulkhead compile --target iptables\` (${what}); do not edit by hand.`,
    `# host: ${plan.host.replace(/[\r\n]/g, ' ')}`,
    `# mode: ${plan.mode}`,
    `# direction: ${plan.ingress && plan.egress ? 'both' : plan.ingress ? 'ingress' : 'egress'}`,
    `# compiled at: ${plan.compiledAt}`,
    `# addresses: ${addresses(plan)}`,
  ]
  if (slices.length > 1) {
    out.push(
      `# time slices: ${slices.length}, chosen by the packet's time (-m time, UTC, whole seconds)`,
    )
    slices.forEach((s, i) => {
      const from = i === 0 ? '' : `from ${utcDate(seconds(s.start))}Z `
      const next = slices[i + 1]
      const until = next === undefined ? '' : `until ${utcDate(seconds(next.start))}Z `
      out.push(
        `# slice t${i}: ${from}${until}mode ${s.ip.plan.mode}; addresses ${addresses(s.ip.plan)}`,
      )
    })
  }
  return out
}

/**
 * The address groups of every slice, each group equal to an earlier one (same name before its
 * `-t<i>`, type, family and entries) given once: the groups to load, and per slice the
 * names its rules must use instead.
 */
function sharedGroups(x: IptablesHost): SharedGroups {
  const known = sharedGroupsCache.get(x)
  if (known) return known
  const groups: AddressGroup[] = []
  const names = new Set<string>()
  const seen = new Map<string, string>()
  const rename = slicesOf(x).map(({ ip }) => {
    const r = new Map<string, string>()
    for (const g of ip.groups) {
      const key = groupKey(g)
      const earlier = seen.get(key)
      if (earlier !== undefined) r.set(g.name, earlier)
      else if (!names.has(g.name)) {
        seen.set(key, g.name)
        names.add(g.name)
        groups.push(g)
      }
    }
    return r
  })
  const out = { groups, rename }
  sharedGroupsCache.set(x, out)
  return out
}

/** What {@link sharedGroups} finds: the groups to load, and per slice the renamed groups. */
interface SharedGroups {
  readonly groups: readonly AddressGroup[]
  readonly rename: readonly ReadonlyMap<string, string>[]
}

/** {@link sharedGroups} per host form: its ipset, both rules files and apply script use it. */
const sharedGroupsCache = new WeakMap<IptablesHost, SharedGroups>()

/** What makes two groups of different slices one: name before `-t<i>`, type, family, entries. */
function groupKey(g: AddressGroup): string {
  return [g.name.replace(/-t\d+$/, ''), g.type, g.family, ...g.entries].join(' ')
}

/** The would-be-blocked sets of every slice, once each. */
function wbbOfSlices(slices: readonly IptablesSlice[]): { name: string; family: IpFamily }[] {
  const out = new Map<string, { name: string; family: IpFamily }>()
  for (const s of slices) for (const w of wbbSets(s.ip.plan)) out.set(w.name, w)
  return [...out.values()]
}

const inet = (f: IpFamily): string => (f === 4 ? 'inet' : 'inet6')

/**
 * The `ipset restore` file of one host. Every `hash:net` set is replaced atomically: it is
 * created if missing, a `<name>.n` set is filled, the two are swapped (rules that reference the
 * set see the new contents at once) and the old contents destroyed. The would-be-blocked sets
 * (monitor mode) are created if missing and keep their entries. Load it before the rules files:
 * `ipset restore -file HOST.ipset`. With time slices, the sets of every slice (each set equal to
 * an earlier slice's given once).
 */
export function renderIpset(x: IptablesHost): string {
  const slices = slicesOf(x)
  const plan = (slices[0] as IptablesSlice).ip.plan
  const out = header(x, 'ipset restore')
  for (const g of sharedGroups(x).groups) {
    const spec = `${g.type} family ${inet(g.family)} maxelem ${IPSET_MAXELEM}`
    const tmp = `${g.name}.n`
    out.push(`create ${g.name} ${spec} -exist`, `create ${tmp} ${spec} -exist`, `flush ${tmp}`)
    for (const c of g.entries) out.push(`add ${tmp} ${c}`)
    out.push(`swap ${tmp} ${g.name}`, `destroy ${tmp}`)
  }
  for (const { name, family } of wbbOfSlices(slices))
    out.push(
      `create ${name} hash:ip,port,ip family ${inet(family)} timeout ${plan.monitorTimeout} maxelem 65536 -exist`,
    )
  out.push('')
  return out.join('\n')
}

/** The would-be-blocked sets of a host: monitor mode only, per compiled direction and family. */
function wbbSets(plan: HostPlan): { name: string; family: IpFamily }[] {
  if (plan.mode !== 'monitor') return []
  return (['in', 'out'] as const)
    .filter((dir) => (dir === 'in' ? plan.ingress : plan.egress))
    .flatMap((dir) =>
      ([4, 6] as const).map((family) => ({ name: wbbIpsetName(dir, family), family })),
    )
}

const PROTO_NAME: Readonly<Record<number, string>> = {
  6: 'tcp',
  17: 'udp',
  33: 'dccp',
  132: 'sctp',
}

function portText(r: PortRange): string {
  return r.lo === r.hi ? `${r.lo}` : `${r.lo}:${r.hi}`
}

/** The IPv4 ICMP type that `--icmp-type` reads as every type (iptables prints it `any`). */
export const ICMP_ANY_TYPE = 255

/**
 * A u32 match location (iptables-extensions(8), u32) for the first byte of the IPv4 payload: the
 * header length (IHL × 4, bits 24–27 of word 0) is skipped with `@`, then the type is the top byte.
 */
export const ICMP_TYPE_U32 = '0>>22&0x3C@0>>24'

/**
 * A u32 match location for the IPv4 header's protocol byte (byte 9: the low byte of the word at
 * byte 6), so that `${IP_PROTOCOL_U32}=0` matches IP protocol 0 alone, which `-p 0` cannot
 * (iptables reads it as every protocol). Stable: read by the iptables checker.
 * @see https://ipset.netfilter.org/iptables-extensions.man.html (u32)
 */
export const IP_PROTOCOL_U32 = '6&0xFF'

/** The match part of one accept rule (without chain, local address and set). */
function matchText(family: IpFamily, r: RuleMatch): string {
  if (r.kind === 'ports') {
    const port = r.port ?? { lo: 0, hi: 65535 }
    const name = PROTO_NAME[r.proto]
    if (name !== undefined) return `-p ${name} -m ${name} --dport ${portText(port)}`
    return `-p ${r.proto} -m multiport --dports ${portText(port)}`
  }
  if (r.kind === 'icmp') {
    const p = family === 4 ? '-p icmp' : '-p ipv6-icmp'
    if (r.port === undefined) return p
    if (family === 6) return `${p} -m icmp6 --icmpv6-type ${r.port.lo}`
    // the kernel's IPv4 icmp match reads type 255 as "any type" (xt_tcpudp.c, earlier
    // ip_tables.c: `test_type == 0xFF ||`): type 255 alone is matched on the header's first byte
    if (r.port.lo === ICMP_ANY_TYPE) return `${p} -m u32 --u32 "${ICMP_TYPE_U32}=${ICMP_ANY_TYPE}"`
    return `${p} -m icmp --icmp-type ${r.port.lo}`
  }
  if (r.proto === 0) return `-m u32 --u32 "${IP_PROTOCOL_U32}=0"`
  return `-p ${r.proto}`
}

/**
 * The `iptables-restore --noflush` (family 4) or `ip6tables-restore --noflush` (family 6) file
 * of one host. It replaces the contents of the chains `BULKHEAD-IN` and `BULKHEAD-OUT` in one
 * commit (atomic) and leaves the rest of the `filter` table alone (other tools' chains and rules,
 * Docker's say); `INPUT` and `OUTPUT` jump to them through the hooks of {@link renderApplyScript}.
 * The chains accept loopback, `ESTABLISHED,RELATED`, link control (IPv6 neighbour and
 * multicast listener discovery; IGMP, `-p 2`), the anti-lockout sources on tcp/22, single-port services through ONE rule on the
 * direction's `hash:ip,port,net` service set (`--match-set bh-in-v4-svc dst,dst,src` ingress,
 * `src,dst,dst` egress), and the other groups one rule each
 * (`-d LOCAL ... -m set --match-set SET src -j ACCEPT` ingress, `-s LOCAL ... dst` egress), then
 * `DROP` (enforce; INVALID dropped first), or `SET --add-set bh-wbb-… src,dst,dst --exist` and
 * `ACCEPT` (monitor), or count only (observe). Load after the ipset file:
 * `iptables-restore --noflush --test FILE && iptables-restore --noflush FILE`.
 * IP protocol 0 is matched with `-m u32` on IPv4 (see {@link iptablesPlan}).
 */
export function renderRules(x: IptablesHost, family: IpFamily): string {
  const slices = slicesOf(x)
  const { plan } = (slices[0] as IptablesSlice).ip
  const dirs: ('in' | 'out')[] = []
  if (plan.ingress) dirs.push('in')
  if (plan.egress) dirs.push('out')
  const out = header(x, family === 4 ? 'iptables-restore' : 'ip6tables-restore')
  // Both chains are declared whatever the direction: under --noflush a declared chain is created
  // or emptied, so a direction compiled before and not now is left empty (it returns).
  out.push('*filter', `:${IPT_CHAINS.in} - [0:0]`, `:${IPT_CHAINS.out} - [0:0]`)
  const { rename } = sharedGroups(x)
  for (const d of dirs) {
    const chain = `-A ${IPT_CHAINS[d]}`
    // consecutive slices with the same rules are one time window
    const runs: { from: number; lines: string[] }[] = []
    slices.forEach((s, i) => {
      const lines = chainRules(s.ip, family, d, rename[i] ?? new Map<string, string>())
      const last = runs[runs.length - 1]
      if (last && last.lines.join('\n') === lines.join('\n')) return
      runs.push({ from: i, lines })
    })
    runs.forEach((r, k) => {
      const next = runs[k + 1]
      const lo = k === 0 ? undefined : seconds((slices[r.from] as IptablesSlice).start)
      const hi =
        next === undefined ? undefined : seconds((slices[next.from] as IptablesSlice).start)
      // --datestart and --datestop are inclusive whole seconds of the kernel's real-time clock
      const when =
        lo === undefined && hi === undefined
          ? ''
          : ` -m time${lo === undefined ? '' : ` --datestart ${utcDate(lo)}`}${hi === undefined ? '' : ` --datestop ${utcDate(hi - 1)}`}`
      for (const line of r.lines) out.push(`${chain}${when} ${line}`)
    })
  }
  out.push('COMMIT', '')
  return out.join('\n')
}

/** The rules of one slice's chain for direction `d`, without `-A CHAIN`; set names through `rename`. */
function chainRules(
  ip: IptablesPlan,
  family: IpFamily,
  d: 'in' | 'out',
  rename: ReadonlyMap<string, string>,
): string[] {
  const { plan } = ip
  const set = (name: string): string => rename.get(name) ?? name
  if (plan.mode === 'observe') return ['-m comment --comment "observe: count only"']
  const out = [
    `${d === 'in' ? '-i' : '-o'} lo -j ACCEPT`,
    '-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
    plan.mode === 'enforce'
      ? '-m conntrack --ctstate INVALID -j DROP'
      : '-m conntrack --ctstate INVALID',
  ]
  // link control: IPv6 multicast listener and neighbour discovery; IGMP for IPv4, as its number
  // (iptables reads a name other than its built-in ones through /etc/protocols, which a minimal
  // host may lack; the other portless protocols are written so too)
  if (family === 6) {
    for (const t of IPV6_LINK_CONTROL_ICMP_TYPES)
      out.push(`-p ipv6-icmp -m icmp6 --icmpv6-type ${t} -j ACCEPT`)
  } else out.push(`-p ${IGMP_PROTOCOL} -j ACCEPT`)
  if (d === 'in' && plan.management.some((c) => c.family === family))
    out.push(`-p tcp -m tcp --dport 22 -m set --match-set ${mgmtIpsetName(family)} src -j ACCEPT`)
  const svc = ip.serviceSets[d][family]
  if (svc !== undefined)
    out.push(
      `-m set --match-set ${set(svc)} ${d === 'in' ? 'dst,dst,src' : 'src,dst,dst'} -j ACCEPT`,
    )
  const bits = familyBits(family)
  for (const r of ip.rules[d][family]) {
    // a group destination range: one block (`-d 224.0.0.0/4`), else `-m iprange` (ingress only)
    const blocks =
      r.localLast === undefined ? [] : rangeToCidrs(family, { lo: r.local, hi: r.localLast })
    const local =
      r.localLast === undefined
        ? `${d === 'in' ? '-d' : '-s'} ${formatIp({ family, value: r.local })}/${bits}`
        : blocks.length === 1
          ? `-d ${blocks[0] ?? ''}`
          : `-m iprange --dst-range ${formatIp({ family, value: r.local })}-${formatIp({ family, value: r.localLast })}`
    out.push(
      `${local} ${matchText(family, r)} -m set --match-set ${set(r.set)} ${d === 'in' ? 'src' : 'dst'} -j ACCEPT`,
    )
  }
  if (plan.mode === 'enforce') out.push('-j DROP')
  else out.push(`-j SET --add-set ${wbbIpsetName(d, family)} src,dst,dst --exist`, '-j ACCEPT')
  return out
}

/**
 * The hooks from the built-in chains to Bulkhead's, as shell commands for `iptables` or
 * `ip6tables`: each inserted first in its chain unless it is there already (`-C`), so applying
 * again adds nothing. Run after the rules file, which creates the chains.
 */
export function hookCommands(tool: 'iptables' | 'ip6tables'): string[] {
  return [
    ['INPUT', IPT_CHAINS.in],
    ['OUTPUT', IPT_CHAINS.out],
  ].map(
    ([builtin, chain]) =>
      `${tool} -w -C ${builtin} -j ${chain} 2>/dev/null || ${tool} -w -I ${builtin} 1 -j ${chain}`,
  )
}

/**
 * `<base>.apply.sh`: applies one host's three files in order, as root, from the folder they are
 * in (`sh pay-db-1.apply.sh`): the ipset file, then each rules file checked (`--test`) and
 * loaded with `--noflush`, then the {@link hookCommands}, then `ipset destroy` of the `bh-*` sets
 * a previous ruleset made and this one no longer uses. Stops at the first failure (`set -e`);
 * every step replaces what it owns atomically, so a failed step leaves the previous ruleset.
 */
export function renderApplyScript(base: string, x: IptablesHost): string {
  const slices = slicesOf(x)
  const q = (f: string): string => `'${f.replace(/'/g, "'\\''")}'`
  const out = [
    '#!/bin/sh',
    ...header(x, 'apply script, as root: sh THIS-FILE'),
    'set -eu',
    'cd "$(dirname "$0")"',
    `ipset restore -file ${q(`${base}.ipset`)}`,
    `iptables-restore -w --noflush --test ${q(`${base}.rules.v4`)}`,
    `ip6tables-restore -w --noflush --test ${q(`${base}.rules.v6`)}`,
    `iptables-restore -w --noflush ${q(`${base}.rules.v4`)}`,
    `ip6tables-restore -w --noflush ${q(`${base}.rules.v6`)}`,
    ...hookCommands('iptables'),
    ...hookCommands('ip6tables'),
    '# Bulkhead sets (bh-*) that this ruleset no longer uses: no rule references them any more',
    `keep=' ${[...sharedGroups(x).groups.map((g) => g.name), ...wbbOfSlices(slices).map((w) => w.name)].join(' ')} '`,
    'for s in $(ipset list -n); do',
    '  case "$s" in bh-*) case "$keep" in *" $s "*) ;; *) ipset destroy "$s" || echo "kept $s: in use" >&2 ;; esac ;; esac',
    'done',
  ]
  return `${out.join('\n')}\n`
}
