/**
 * @module Renders a {@link HostPlan} as an `nft -f` ruleset: one `table inet bulkhead`, deleted
 * and re-created in the same transaction (atomic replacement), with interval verdict maps keyed
 * by concatenations, and a mode-specific tail (drop / record-and-accept / count only).
 *
 * Stable: the table, map, set and counter names are read by the agent and the tests
 * (`nft -j list set inet bulkhead wbb_in_v4`); do not rename them.
 * @see https://wiki.nftables.org/wiki-nftables/index.php/Verdict_Maps_(vmaps)
 * @see https://wiki.nftables.org/wiki-nftables/index.php/Sets (flags interval, dynamic, timeout)
 */
import { familyBits, formatIp, formatLabelSet, type IpFamily } from '../../core/index.js'
import type { AddressRange, FamilyMaps, HostPlan, MapElement } from './compile.js'
import { IPV6_LINK_CONTROL_ICMP_TYPES } from '../target.js'

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

function elementText(family: IpFamily, e: MapElement, kind: keyof FamilyMaps): string {
  const parts = [rangeText(family, e.src), rangeText(family, e.dst)]
  if (kind === 'ports') parts.push(numRange(e.proto), numRange(e.port ?? { lo: 0, hi: 65535 }))
  else if (kind === 'icmp') parts.push(numRange(e.port ?? { lo: 0, hi: 255 }))
  else parts.push(numRange(e.proto))
  return `${parts.join(' . ')} : accept`
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

/** Name of a verdict map: `<in|out>_<ports|icmp|proto>_<v4|v6>`. Stable. */
export function mapName(direction: 'in' | 'out', kind: keyof FamilyMaps, family: IpFamily): string {
  return `${direction}_${kind}_v${family}`
}

function renderMaps(direction: 'in' | 'out', family: IpFamily, maps: FamilyMaps): string[] {
  const a = addrType(family)
  const keyType: Record<keyof FamilyMaps, string> = {
    ports: `${a} . ${a} . inet_proto . inet_service`,
    icmp: `${a} . ${a} . ${family === 4 ? 'icmp_type' : 'icmpv6_type'}`,
    proto: `${a} . ${a} . inet_proto`,
  }
  const out: string[] = []
  for (const kind of ['ports', 'icmp', 'proto'] as const) {
    out.push(
      `  map ${mapName(direction, kind, family)} {`,
      `    type ${keyType[kind]} : verdict`,
      '    flags interval',
      ...elements(
        maps[kind].map((e) => elementText(family, e, kind)),
        '    ',
      ),
      '  }',
    )
  }
  return out
}

function renderChain(plan: HostPlan, direction: 'in' | 'out'): string[] {
  const hook = direction === 'in' ? 'input' : 'output'
  const lo = direction === 'in' ? 'iif "lo" accept' : 'oif "lo" accept'
  const lines = [
    `  chain ${hook} {`,
    `    type filter hook ${hook} priority filter; policy accept;`,
  ]
  if (plan.mode === 'observe') {
    lines.push(`    counter name seen_${direction}`, '  }')
    return lines
  }
  lines.push(
    `    ${lo}`,
    '    ct state established,related accept',
    '    # IPv6 multicast listener and neighbour discovery, without which no IPv6 traffic flows',
    `    icmpv6 type { ${IPV6_LINK_CONTROL_ICMP_TYPES.join(', ')} } accept`,
    plan.mode === 'enforce'
      ? '    ct state invalid counter name invalid_' + direction + ' drop'
      : `    ct state invalid counter name invalid_${direction}`,
  )
  if (direction === 'in' && plan.management.length > 0) {
    lines.push('    # anti-lockout: management sources may always reach tcp/22')
    if (plan.management.some((c) => c.family === 4))
      lines.push('    ip saddr @mgmt_v4 tcp dport 22 accept')
    if (plan.management.some((c) => c.family === 6))
      lines.push('    ip6 saddr @mgmt_v6 tcp dport 22 accept')
  }
  lines.push(
    `    meta l4proto ${PORT_PROTO_SET} ip saddr . ip daddr . meta l4proto . th dport vmap @${mapName(direction, 'ports', 4)}`,
    `    meta l4proto ${PORT_PROTO_SET} ip6 saddr . ip6 daddr . meta l4proto . th dport vmap @${mapName(direction, 'ports', 6)}`,
    `    ip saddr . ip daddr . icmp type vmap @${mapName(direction, 'icmp', 4)}`,
    `    ip6 saddr . ip6 daddr . icmpv6 type vmap @${mapName(direction, 'icmp', 6)}`,
    `    ip saddr . ip daddr . meta l4proto vmap @${mapName(direction, 'proto', 4)}`,
    `    ip6 saddr . ip6 daddr . meta l4proto vmap @${mapName(direction, 'proto', 6)}`,
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
  lines.push('  }')
  return lines
}

function quote(s: string): string {
  return `"${s.replace(/["\\]/g, '_').slice(0, 120)}"`
}

/**
 * The ruleset text of one host. Load with `nft -c -f FILE` (check) then `nft -f FILE`: the
 * first two lines make sure the table exists and delete it, so that the whole file replaces
 * the previous ruleset in one transaction, or changes nothing when it fails.
 */
export function renderHost(plan: HostPlan): string {
  const dirs: ('in' | 'out')[] = []
  if (plan.ingress) dirs.push('in')
  if (plan.egress) dirs.push('out')
  const out: string[] = [
    '#!/usr/sbin/nft -f',
    '# Generated by `bulkhead compile --target nftables`; do not edit by hand.',
    `# host: ${plan.host.replace(/[\r\n]/g, ' ')}`,
    `# mode: ${plan.mode}`,
    `# direction: ${plan.ingress && plan.egress ? 'both' : plan.ingress ? 'ingress' : 'egress'}`,
    `# compiled at: ${plan.compiledAt}`,
    `# addresses: ${[...plan.local[4].map((v) => formatIp({ family: 4, value: v })), ...plan.local[6].map((v) => formatIp({ family: 6, value: v }))].join(', ') || '(none)'}`,
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
    plan.identities.forEach((id, n) => {
      for (const family of [4, 6] as const) {
        const addrs = family === 4 ? id.v4 : id.v6
        if (addrs.length === 0) continue
        out.push(
          `  set id_${n}_v${family} {`,
          `    type ${addrType(family)}`,
          `    comment ${quote(`identity {${formatLabelSet(id.labels)}}: ${id.workloads.join(' ')}`)}`,
          ...elements(
            addrs.map((v) => formatIp({ family, value: v })),
            '    ',
          ),
          '  }',
        )
      }
    })
    for (const family of [4, 6] as const) {
      const cidrs = plan.management.filter((c) => c.family === family)
      if (cidrs.length === 0) continue
      out.push(
        `  set mgmt_v${family} {`,
        `    type ${addrType(family)}`,
        '    flags interval',
        ...elements(
          cidrs.map((c) => c.text),
          '    ',
        ),
        '  }',
      )
    }
    for (const dir of dirs) {
      const maps = dir === 'in' ? plan.maps.ingress : plan.maps.egress
      for (const family of [4, 6] as const) out.push(...renderMaps(dir, family, maps[family]))
      if (plan.mode === 'monitor') {
        for (const family of [4, 6] as const) {
          const a = addrType(family)
          for (const noport of [false, true]) {
            out.push(
              `  set ${wbbSetName(dir, family, noport)} {`,
              `    type ${a} . ${a} . inet_proto${noport ? '' : ' . inet_service'}`,
              '    flags dynamic,timeout',
              `    timeout ${plan.monitorTimeout}s`,
              '    size 65535',
              '    counter',
              '  }',
            )
          }
        }
      }
    }
  }
  for (const dir of dirs) out.push(...renderChain(plan, dir))
  out.push('}', '')
  return out.join('\n')
}
