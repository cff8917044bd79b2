/**
 * @module Renders a {@link HostPlan} as an `nft -f` ruleset: one `table inet bulkhead`, deleted
 * and re-created in the same transaction (atomic replacement). Per own address the base chain
 * looks the peer up in identity sets, an exact (hash) peer map and an interval peer map; an
 * element jumps to the chain of the peer's service class, which accepts the class's services
 * (exact ports from a hash set, port ranges from an interval set). Then a mode-specific tail
 * (drop / record-and-accept / count only).
 *
 * Stable: the table, map, set and counter names are read by the agent and the tests
 * (`nft -j list set inet bulkhead wbb_in_v4`); do not rename them. Interval sets and
 * concatenations are used only where a range needs them: they are the slow case to load and to
 * look up (kernel `pipapo` sets), while hash sets load fast and cost O(1) per packet.
 * @see https://wiki.nftables.org/wiki-nftables/index.php/Verdict_Maps_(vmaps)
 * @see https://wiki.nftables.org/wiki-nftables/index.php/Sets (flags interval, dynamic, timeout)
 */
import {
  IPV6_LINK_CONTROL_ICMP_TYPES,
  familyBits,
  formatIp,
  formatLabelSet,
  type IpFamily,
} from '../../core/index.js'
import type { AddressRange, FamilyMaps, HostPlan, LocalPeers } from './compile.js'

/** The nftables table every ruleset lives in. Stable. */
export const NFT_TABLE = 'bulkhead'

/**
 * Name of a would-be-blocked set: `wbb_<in|out>_<v4|v6>` keyed
 * `saddr . daddr . l4proto . th dport` (port protocols), `wbb_<in|out>_<v4|v6>_noport` keyed
 * `saddr . daddr . l4proto` (every other protocol). Stable.
 */
export function wbbSetName(direction: 'in' | 'out', family: IpFamily, noport = false): string {
  return `wbb_${direction}_v${family}${noport ? '_noport' : ''}`
}

const PORT_PROTO_SET = '{ tcp, udp, dccp, sctp, udplite }'

/** `a`, `a/len` when the range is exactly a block, else `a-b`. */
export function rangeText(family: IpFamily, r: AddressRange): string {
  const lo = formatIp({ family, value: r.lo })
  if (r.lo === r.hi) return lo
  const size = r.hi - r.lo + 1n
  if ((size & (size - 1n)) === 0n && r.lo % size === 0n) {
    const host = size.toString(2).length - 1
    return `${lo}/${familyBits(family) - host}`
  }
  return `${lo}-${formatIp({ family, value: r.hi })}`
}

function numRange(r: { lo: number; hi: number }): string {
  return r.lo === r.hi ? `${r.lo}` : `${r.lo}-${r.hi}`
}

/**
 * Appends lines and line lists to `out` without spreading a list into call arguments (a set of
 * 100 000 elements would overflow the stack as arguments).
 */
function append(out: string[], ...parts: (string | readonly string[])[]): void {
  for (const p of parts) {
    if (typeof p === 'string') out.push(p)
    else for (const line of p) out.push(line)
  }
}

function elements(lines: readonly string[], indent: string): string[] {
  if (lines.length === 0) return []
  return [
    `${indent}elements = {`,
    ...lines.map((l, i) => `${indent}  ${l}${i < lines.length - 1 ? ',' : ''}`),
    `${indent}}`,
  ]
}

function addrType(family: IpFamily): string {
  return family === 4 ? 'ipv4_addr' : 'ipv6_addr'
}

function ipKeyword(family: IpFamily): string {
  return family === 4 ? 'ip' : 'ip6'
}

/** Name of the chain of service class `cls`: `<in|out>_v<4|6>_c<cls>`. Stable. */
export function classChainName(direction: 'in' | 'out', family: IpFamily, cls: number): string {
  return `${direction}_v${family}_c${cls}`
}

/**
 * Name of the peer map of own address number `local` (index into the host's sorted addresses of
 * that family): `<in|out>_v<4|6>_<local>_peers` (single addresses, hash) or `..._ranges`
 * (address ranges, `flags interval`); elements `PEER : jump <class chain>`. Stable.
 */
export function peerMapName(
  direction: 'in' | 'out',
  family: IpFamily,
  local: number,
  shape: 'peers' | 'ranges',
): string {
  return `${direction}_v${family}_${local}_${shape}`
}

/**
 * Name of the sender map of group destination number `group` (index into
 * {@link FamilyMaps.groups}) of the ingress: `in_v<4|6>_g<group>_peers` (single addresses) or
 * `..._ranges`, elements as in {@link peerMapName}. Stable.
 */
export function groupMapName(family: IpFamily, group: number, shape: 'peers' | 'ranges'): string {
  return `in_v${family}_g${group}_${shape}`
}

/**
 * Declarations of the class chains and their port sets (ports: exact hash set and interval set).
 * `sfx` ends every name (the time slice's `_t<i>`; empty without slices).
 */
function renderClasses(
  direction: 'in' | 'out',
  family: IpFamily,
  maps: FamilyMaps,
  sfx: string,
): string[] {
  const out: string[] = []
  maps.classes.forEach((c, k) => {
    const chain = classChainName(direction, family, k)
    const exact = c.ports.filter((p) => p.port.lo === p.port.hi)
    const ranged = c.ports.filter((p) => p.port.lo !== p.port.hi)
    const body: string[] = []
    for (const [suffix, list, interval] of [
      ['ports', exact, false],
      ['port_ranges', ranged, true],
    ] as const) {
      if (list.length === 0) continue
      append(
        out,
        `  set ${chain}_${suffix}${sfx} {`,
        '    type inet_proto . inet_service',
        ...(interval ? ['    flags interval'] : []),
        elements(
          list.map((p) => `${p.proto} . ${numRange(p.port)}`),
          '    ',
        ),
        '  }',
      )
      body.push(
        `    meta l4proto ${PORT_PROTO_SET} meta l4proto . th dport @${chain}_${suffix}${sfx} accept`,
      )
    }
    if (c.icmp.length > 0)
      body.push(
        `    ${family === 4 ? 'icmp' : 'icmpv6'} type { ${c.icmp.map(numRange).join(', ')} } accept`,
      )
    if (c.proto.length > 0)
      body.push(`    meta l4proto { ${c.proto.map(numRange).join(', ')} } accept`)
    out.push(`  chain ${chain}${sfx} {`, ...body, '  }')
  })
  return out
}

/**
 * Declarations of the peer maps of every own address, then of every group destination (`sfx` as
 * for {@link renderClasses}).
 */
function renderPeerMaps(
  direction: 'in' | 'out',
  family: IpFamily,
  maps: FamilyMaps,
  sfx: string,
): string[] {
  const out: string[] = []
  const owners = [
    ...maps.locals.map((l, i) => ({
      l,
      name: (sh: Shape) => peerMapName(direction, family, i, sh),
    })),
    ...maps.groups.map((l, k) => ({ l, name: (sh: Shape) => groupMapName(family, k, sh) })),
  ]
  owners.forEach(({ l, name }) => {
    for (const shape of ['peers', 'ranges'] as const) {
      const list = shape === 'peers' ? l.exact : l.ranges
      if (list.length === 0) continue
      append(
        out,
        `  map ${name(shape)}${sfx} {`,
        `    type ${addrType(family)} : verdict`,
        ...(shape === 'ranges' ? ['    flags interval'] : []),
        elements(
          list.map(
            (e) =>
              `${rangeText(family, e.peer)} : jump ${classChainName(direction, family, e.cls)}${sfx}`,
          ),
          '    ',
        ),
        '  }',
      )
    }
  })
  return out
}

type Shape = 'peers' | 'ranges'

/** Per family, the identities (index into the list) holding each address. */
type IdentitiesByAddress = Readonly<Record<IpFamily, ReadonlyMap<bigint, readonly number[]>>>

/** {@link identitiesByAddress} per identity list: every host of a compile shares one list. */
const byAddressCache = new WeakMap<HostPlan['identities'], IdentitiesByAddress>()

function identitiesByAddress(ids: HostPlan['identities']): IdentitiesByAddress {
  const known = byAddressCache.get(ids)
  if (known) return known
  const out: Record<IpFamily, Map<bigint, number[]>> = { 4: new Map(), 6: new Map() }
  ids.forEach((id, n) => {
    for (const family of [4, 6] as const) {
      for (const v of family === 4 ? id.v4 : id.v6) {
        const list = out[family].get(v)
        if (list === undefined) out[family].set(v, [n])
        else if (list[list.length - 1] !== n) list.push(n)
      }
    }
  })
  byAddressCache.set(ids, out)
  return out
}

/**
 * The identities whose sets a host's file carries, ascending: those its lookups use, those with
 * an address among its single-address peers, and its own. Not the whole inventory: a host's file
 * grows with its peers, not with the estate (a 100 000-workload inventory would otherwise put
 * every address into every host's kernel); found through an address index, so the time it
 * takes grows with the host's peers too.
 */
function hostIdentities(plan: HostPlan): number[] {
  const known = hostIdentitiesCache.get(plan.maps)
  if (known?.identities === plan.identities && known.local === plan.local) return known.shown
  const index = identitiesByAddress(plan.identities)
  const out = new Set<number>()
  const holding = (family: IpFamily, v: bigint): void => {
    for (const n of index[family].get(v) ?? []) out.add(n)
  }
  for (const family of [4, 6] as const) for (const v of plan.local[family]) holding(family, v)
  for (const dir of ['ingress', 'egress'] as const)
    for (const family of [4, 6] as const)
      for (const l of [...plan.maps[dir][family].locals, ...plan.maps[dir][family].groups]) {
        for (const id of l.identities) out.add(id.identity)
        for (const e of l.exact) holding(family, e.peer.lo)
      }
  const shown = [...out].sort((a, b) => a - b)
  hostIdentitiesCache.set(plan.maps, { identities: plan.identities, local: plan.local, shown })
  return shown
}

/**
 * {@link hostIdentities} by the plan's maps (a plan is rendered more than once: to compare time
 * slices, then as the file), with the identities and own addresses it was computed from.
 */
const hostIdentitiesCache = new WeakMap<
  HostPlan['maps'],
  { identities: HostPlan['identities']; local: HostPlan['local']; shown: number[] }
>()

/**
 * Lookup lines of one direction and family in the base chain, in entry order: per entry (an own
 * address, or a group destination of the ingress), its identity sets, then its exact-peer map,
 * then its range map, each line the entry's match head followed by the lookup on it.
 *
 * @param entries - the family's `locals` or `groups` ({@link FamilyMaps}).
 * @param match - the match head of an entry, without indent: the packet's own side, then the
 *   peer field the lookups key on (`ip daddr 10.0.0.1 ip saddr` for an own address at ingress).
 * @param mapName - the name of entry `i`'s `peers` or `ranges` map, before `sfx`.
 */
function renderLookups<E extends Omit<LocalPeers, 'local'>>(
  direction: 'in' | 'out',
  family: IpFamily,
  entries: readonly E[],
  sfx: string,
  match: (entry: E) => string,
  mapName: (i: number, shape: 'peers' | 'ranges') => string,
): string[] {
  const out: string[] = []
  entries.forEach((e, i) => {
    const head = `    ${match(e)}`
    for (const id of e.identities)
      out.push(
        `${head} @id_${id.identity}_v${family}${sfx} jump ${classChainName(direction, family, id.cls)}${sfx}`,
      )
    if (e.exact.length > 0) out.push(`${head} vmap @${mapName(i, 'peers')}${sfx}`)
    if (e.ranges.length > 0) out.push(`${head} vmap @${mapName(i, 'ranges')}${sfx}`)
  })
  return out
}

/**
 * The rules of a host's filter chain for one direction (after its `type ... hook` line): in
 * `observe` a counter alone; else loopback, `ct state`, link control (ICMPv6 neighbour and
 * multicast listener discovery, IGMP), invalid, anti-lockout,
 * the peer lookups and the mode's tail (drop, or record and accept). `sfx` ends the names of the
 * sets, maps and chains the lookups use (the time slice's `_t<i>`); counters and the
 * would-be-blocked and management sets are shared by every slice and keep their names.
 */
function chainRules(plan: HostPlan, direction: 'in' | 'out', sfx: string): string[] {
  const lo = direction === 'in' ? 'iif "lo" accept' : 'oif "lo" accept'
  if (plan.mode === 'observe') return [`    counter name seen_${direction}`]
  const lines = [
    `    ${lo}`,
    '    ct state established,related accept',
    '    # link control: IPv6 multicast listener and neighbour discovery, without which no IPv6',
    '    # traffic flows, and IGMP, without which an IPv4 host gets no multicast group',
    `    icmpv6 type { ${IPV6_LINK_CONTROL_ICMP_TYPES.join(', ')} } accept`,
    '    ip protocol igmp accept',
    plan.mode === 'enforce'
      ? '    ct state invalid counter name invalid_' + direction + ' drop'
      : `    ct state invalid counter name invalid_${direction}`,
  ]
  if (direction === 'in' && plan.management.length > 0) {
    lines.push('    # anti-lockout: management sources may always reach tcp/22')
    if (plan.management.some((c) => c.family === 4))
      lines.push('    ip saddr @mgmt_v4 tcp dport 22 accept')
    if (plan.management.some((c) => c.family === 6))
      lines.push('    ip6 saddr @mgmt_v6 tcp dport 22 accept')
  }
  const maps = direction === 'in' ? plan.maps.ingress : plan.maps.egress
  const [own, peer] = direction === 'in' ? ['daddr', 'saddr'] : ['saddr', 'daddr']
  const lookups = ([4, 6] as const).flatMap((family) => {
    const ipk = ipKeyword(family)
    return renderLookups(
      direction,
      family,
      maps[family].locals,
      sfx,
      (l) => `${ipk} ${own} ${formatIp({ family, value: l.local })} ${ipk} ${peer}`,
      (i, shape) => peerMapName(direction, family, i, shape),
    )
  })
  if (lookups.length > 0)
    lines.push('    # allowed peers jump to the chain of their service class', ...lookups)
  // a group's lookups key on the packet's destination then its source (groups are ingress only)
  const groups = ([4, 6] as const).flatMap((family) => {
    const ipk = ipKeyword(family)
    return renderLookups(
      direction,
      family,
      maps[family].groups,
      sfx,
      (g) => `${ipk} daddr ${rangeText(family, g.dst)} ${ipk} saddr`,
      (k, shape) => groupMapName(family, k, shape),
    )
  })
  if (groups.length > 0)
    lines.push(
      '    # senders to multicast groups and the broadcast, which any host may receive',
      ...groups,
    )
  if (plan.mode === 'enforce') {
    lines.push(`    counter name blocked_${direction} drop`)
  } else {
    lines.push(
      '    # monitor: record the would-be-blocked connection, then accept it',
      `    meta l4proto ${PORT_PROTO_SET} update @${wbbSetName(direction, 4)} { ip saddr . ip daddr . meta l4proto . th dport }`,
      `    meta l4proto ${PORT_PROTO_SET} update @${wbbSetName(direction, 6)} { ip6 saddr . ip6 daddr . meta l4proto . th dport }`,
      `    meta l4proto != ${PORT_PROTO_SET} update @${wbbSetName(direction, 4, true)} { ip saddr . ip daddr . meta l4proto }`,
      `    meta l4proto != ${PORT_PROTO_SET} update @${wbbSetName(direction, 6, true)} { ip6 saddr . ip6 daddr . meta l4proto }`,
      `    counter name would_block_${direction} accept`,
    )
  }
  return lines
}

/** The base chain `input` (`in`) or `output` (`out`) with its hook line, around `rules`. */
function baseChain(direction: 'in' | 'out', rules: readonly string[]): string[] {
  const hook = direction === 'in' ? 'input' : 'output'
  return [
    `  chain ${hook} {`,
    `    type filter hook ${hook} priority filter; policy accept;`,
    ...rules,
    '  }',
  ]
}

function quote(s: string): string {
  return `"${s.replace(/["\\]/g, '_').slice(0, 120)}"`
}

/** The comment lines that open a host's ruleset. */
function headerLines(plan: HostPlan): string[] {
  return [
    '#!/usr/sbin/nft -f',
    '# Generated by `bulkhead compile --target nftables`; do not edit by hand.',
    `# host: ${plan.host.replace(/[\r\n]/g, ' ')}`,
    `# mode: ${plan.mode}`,
    `# direction: ${plan.ingress && plan.egress ? 'both' : plan.ingress ? 'ingress' : 'egress'}`,
    `# compiled at: ${plan.compiledAt}`,
    `# addresses: ${addressList(plan)}`,
  ]
}

function addressList(plan: HostPlan): string {
  return (
    [
      ...plan.local[4].map((v) => formatIp({ family: 4, value: v })),
      ...plan.local[6].map((v) => formatIp({ family: 6, value: v })),
    ].join(', ') || '(none)'
  )
}

function directions(plan: HostPlan): ('in' | 'out')[] {
  const dirs: ('in' | 'out')[] = []
  if (plan.ingress) dirs.push('in')
  if (plan.egress) dirs.push('out')
  return dirs
}

/**
 * The declarations of identity `n`'s sets, by identity and `n` + `sfx`: every host of a compile
 * that carries an identity carries the same text, so it is formatted once.
 */
const identitySetCache = new WeakMap<HostPlan['identities'][number], Map<string, string[]>>()

/** The identity sets a host's file carries (see {@link hostIdentities}), names ending in `sfx`. */
function renderIdentitySets(plan: HostPlan, sfx: string): string[] {
  const out: string[] = []
  for (const n of hostIdentities(plan)) {
    const id = plan.identities[n]
    if (id === undefined) continue
    let byName = identitySetCache.get(id)
    if (byName === undefined) {
      byName = new Map<string, string[]>()
      identitySetCache.set(id, byName)
    }
    const key = `${String(n)}${sfx}`
    let lines = byName.get(key)
    if (lines === undefined) {
      lines = []
      for (const family of [4, 6] as const) {
        const addrs = family === 4 ? id.v4 : id.v6
        if (addrs.length === 0) continue
        append(
          lines,
          `  set id_${n}_v${family}${sfx} {`,
          `    type ${addrType(family)}`,
          `    comment ${quote(`identity {${formatLabelSet(id.labels)}}: ${id.workloads.join(' ')}`)}`,
          elements(
            addrs.map((v) => formatIp({ family, value: v })),
            '    ',
          ),
          '  }',
        )
      }
      byName.set(key, lines)
    }
    append(out, lines)
  }
  return out
}

/** The anti-lockout source sets `mgmt_v4` / `mgmt_v6`. */
function renderManagement(management: HostPlan['management']): string[] {
  const out: string[] = []
  for (const family of [4, 6] as const) {
    const cidrs = management.filter((c) => c.family === family)
    if (cidrs.length === 0) continue
    append(
      out,
      `  set mgmt_v${family} {`,
      `    type ${addrType(family)}`,
      '    flags interval',
      elements(
        cidrs.map((c) => c.text),
        '    ',
      ),
      '  }',
    )
  }
  return out
}

/** The would-be-blocked sets of one direction (monitor mode). */
function renderWbbSets(dir: 'in' | 'out', monitorTimeout: number): string[] {
  const out: string[] = []
  for (const family of [4, 6] as const) {
    const a = addrType(family)
    for (const noport of [false, true]) {
      out.push(
        `  set ${wbbSetName(dir, family, noport)} {`,
        `    type ${a} . ${a} . inet_proto${noport ? '' : ' . inet_service'}`,
        '    flags dynamic,timeout',
        `    timeout ${monitorTimeout}s`,
        '    size 65535',
        '    counter',
        '  }',
      )
    }
  }
  return out
}

/**
 * The ruleset text of one host. Load with `nft -c -f FILE` (check) then `nft -f FILE`: the
 * first two lines make sure the table exists and delete it, so that the whole file replaces
 * the previous ruleset in one transaction, or changes nothing when it fails.
 */
export function renderHost(plan: HostPlan): string {
  const dirs = directions(plan)
  const out: string[] = [
    ...headerLines(plan),
    `table inet ${NFT_TABLE}`,
    `delete table inet ${NFT_TABLE}`,
    `table inet ${NFT_TABLE} {`,
  ]
  for (const dir of dirs) {
    if (plan.mode === 'observe') out.push(`  counter seen_${dir} {}`)
    else {
      out.push(`  counter invalid_${dir} {}`)
      out.push(
        plan.mode === 'enforce' ? `  counter blocked_${dir} {}` : `  counter would_block_${dir} {}`,
      )
    }
  }
  if (plan.mode !== 'observe') {
    append(out, renderIdentitySets(plan, ''), renderManagement(plan.management))
    for (const dir of dirs) {
      const maps = dir === 'in' ? plan.maps.ingress : plan.maps.egress
      for (const family of [4, 6] as const) {
        append(out, renderClasses(dir, family, maps[family], ''))
        append(out, renderPeerMaps(dir, family, maps[family], ''))
      }
      if (plan.mode === 'monitor') append(out, renderWbbSets(dir, plan.monitorTimeout))
    }
  }
  for (const dir of dirs) append(out, baseChain(dir, chainRules(plan, dir, '')))
  out.push('}', '')
  return out.join('\n')
}

/** One time slice of a host: its start (ms since epoch, UTC) and the host's plan from then on. */
export interface SliceOfHost {
  readonly start: number
  readonly plan: HostPlan
}

/** Name of the chain of time slice `slice` in one direction: `input_t<slice>` / `output_t<slice>`. Stable. */
export function sliceChainName(direction: 'in' | 'out', slice: number): string {
  return `${direction === 'in' ? 'input' : 'output'}_t${slice}`
}

/**
 * Splits rendered declarations (`  set|map|chain NAME {` … `  }`) into their name, kind and
 * body lines.
 */
function declarations(lines: readonly string[]): { kind: string; name: string; body: string[] }[] {
  const out: { kind: string; name: string; body: string[] }[] = []
  let cur: { kind: string; name: string; body: string[] } | undefined
  for (const line of lines) {
    const open = /^ {2}(set|map|chain) (\S+) \{$/.exec(line)
    if (!cur && open) cur = { kind: open[1] ?? '', name: open[2] ?? '', body: [] }
    else if (cur && line === '  }') {
      out.push(cur)
      cur = undefined
    } else cur?.body.push(line)
  }
  return out
}

const seconds = (t: number): number => Math.ceil(t / 1000)

/**
 * The ruleset of one host whose verdicts change with time: one set of sets, maps and chains per
 * time slice (names ending in `_t<i>`; a declaration equal to one of an earlier slice, same
 * base name and same contents, is not repeated and the later slice uses the earlier one), and
 * base chains that jump to the chain of the slice the packet's time falls in
 * (`meta time >= START meta time < END jump input_t<i>`, times in whole seconds since the
 * epoch, which nft reads as UTC whatever the machine's time zone). Slice 0 also takes the times
 * before its compile instant. Counters and the would-be-blocked and management sets are shared
 * by all slices, so a monitored flow is recorded in the same set whatever the slice. Loaded as
 * {@link renderHost}'s output is, in one transaction.
 * @param slices - at least two, ascending by start; the same host in each. The header's mode and
 *   addresses are those of slice 0; each slice's are in a comment line.
 * @see https://wiki.nftables.org/wiki-nftables/index.php/Matching_packet_metainformation (meta time)
 */
export function renderHostSlices(slices: readonly SliceOfHost[]): string {
  const first = slices[0]?.plan
  if (!first) throw new Error('renderHostSlices: no slice')
  const dirs = directions(first)
  const iso = (t: number): string => new Date(t).toISOString()
  const out: string[] = [
    ...headerLines(first),
    `# time slices: ${slices.length}, chosen by the packet's time (meta time, seconds since the epoch, UTC)`,
    ...slices.map((s, i) => {
      const next = slices[i + 1]?.start
      const span = `${i === 0 ? 'until' : `from ${iso(seconds(s.start) * 1000)}`}${next === undefined ? '' : `${i === 0 ? '' : ' until'} ${iso(seconds(next) * 1000)}`}`
      return `# slice t${i}: ${span}: mode ${s.plan.mode}; addresses ${addressList(s.plan)}`
    }),
    `table inet ${NFT_TABLE}`,
    `delete table inet ${NFT_TABLE}`,
    `table inet ${NFT_TABLE} {`,
  ]
  const modes = new Set(slices.map((s) => s.plan.mode))
  for (const dir of dirs) {
    if (modes.has('observe')) out.push(`  counter seen_${dir} {}`)
    if (modes.has('enforce') || modes.has('monitor')) out.push(`  counter invalid_${dir} {}`)
    if (modes.has('enforce')) out.push(`  counter blocked_${dir} {}`)
    if (modes.has('monitor')) out.push(`  counter would_block_${dir} {}`)
  }
  append(
    out,
    renderManagement(slices.find((s) => s.plan.management.length > 0)?.plan.management ?? []),
  )
  if (modes.has('monitor'))
    for (const dir of dirs) append(out, renderWbbSets(dir, first.monitorTimeout))
  // per slice, in dependency order (sets, class chains, peer maps, the slice's chains): an
  // earlier slice's equal declaration is reused, and the names that refer to it are rewritten
  const seen = new Map<string, string>()
  const chainOf: Record<'in' | 'out', string[]> = { in: [], out: [] }
  slices.forEach(({ plan }, i) => {
    const sfx = `_t${i}`
    const lines: string[] = []
    if (plan.mode !== 'observe') {
      append(lines, renderIdentitySets(plan, sfx))
      for (const dir of dirs) {
        const maps = dir === 'in' ? plan.maps.ingress : plan.maps.egress
        for (const family of [4, 6] as const) {
          append(lines, renderClasses(dir, family, maps[family], sfx))
          append(lines, renderPeerMaps(dir, family, maps[family], sfx))
        }
      }
    }
    for (const dir of dirs)
      append(lines, [`  chain ${sliceChainName(dir, i)} {`, ...chainRules(plan, dir, sfx), '  }'])
    const rename = new Map<string, string>()
    const own = new RegExp(`\\b[A-Za-z0-9_]+${sfx}\\b`, 'g')
    for (const d of declarations(lines)) {
      const body = d.body.map((l) => l.replace(own, (m) => rename.get(m) ?? m))
      const key = `${d.kind} ${d.name.slice(0, -sfx.length)}\n${body.join('\n')}`
      const earlier = seen.get(key)
      if (earlier !== undefined) rename.set(d.name, earlier)
      else {
        seen.set(key, d.name)
        append(out, `  ${d.kind} ${d.name} {`, body, '  }')
      }
    }
    for (const dir of dirs) {
      const name = sliceChainName(dir, i)
      chainOf[dir].push(rename.get(name) ?? name)
    }
  })
  for (const dir of dirs) {
    // consecutive slices that share their chain are one time range
    const runs: { from: number; chain: string }[] = []
    chainOf[dir].forEach((chain, i) => {
      if (runs[runs.length - 1]?.chain !== chain) runs.push({ from: i, chain })
    })
    const rules = runs.map((r, k) => {
      const lo = k === 0 ? undefined : seconds((slices[r.from] as SliceOfHost).start)
      const next = runs[k + 1]
      const hi = next === undefined ? undefined : seconds((slices[next.from] as SliceOfHost).start)
      const when = [
        ...(lo === undefined ? [] : [`meta time >= ${lo}`]),
        ...(hi === undefined ? [] : [`meta time < ${hi}`]),
      ]
      return `    ${[...when, `jump ${r.chain}`].join(' ')}`
    })
    append(out, baseChain(dir, ['    # the rules of the time slice the packet falls in', ...rules]))
  }
  out.push('}', '')
  return out.join('\n')
}
