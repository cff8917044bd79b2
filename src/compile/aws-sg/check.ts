/**
 * @module A small evaluator of the security groups the aws-sg compiler emits, read back from
 * the Terraform JSON (never from the compiler's state), used to check the compiler against the
 * model's verdicts.
 *
 * Semantics, as AWS documents them: a workload's interfaces carry the group the local
 * `bulkhead_workload_security_group` maps it to, and nothing else (the README asks the user to
 * remove other groups). A new flow from S to D leaves S when some outbound rule of S's group
 * matches it (D's address in `cidr_ipv4` / `cidr_ipv6`, or D carrying the
 * `referenced_security_group_id` group) and enters D when some inbound rule of D's group
 * matches it likewise for S; a side without a group does not filter here. A referenced group
 * matches its members' private addresses only, not a public IPv4 or Elastic IP the inventory
 * lists for them (`cloudGroupHolds`, ../platform-traffic.ts). Rules only allow; several rules are a union.
 * `ip_protocol` `-1` matches every protocol; `tcp` / `udp` (or `6` / `17`) the port range
 * `from_port`–`to_port`; `icmp` / `icmpv6` (or `1` / `58`) the type `from_port` (-1: every type;
 * codes are not in flow records, and the compiler only emits code -1); another number every port
 * of that protocol. A flow from or to an IPv4 link-local address (`169.254.0.0/16`: instance
 * metadata, Time Sync, the Amazon DNS at 169.254.169.253) is allowed whatever the rules: "Amazon
 * security groups and network ACLs don't filter traffic to or from link-local addresses
 * (169.254.0.0/16) or AWS-reserved IPv4 addresses" (VPC User Guide, "Internetwork traffic
 * privacy"; the reserved first four addresses of a subnet depend on subnets the file does not
 * know, and are not modelled). Replies of an allowed flow are allowed (connection tracking) and are not asked here.
 * A flow between two addresses of one workload never leaves the instance: undefined, as is a
 * flow between two workloads without a group.
 * @remarks https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html (allow
 * rules, union of groups, referencing by private addresses);
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/security-group-connection-tracking.html;
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpPermission.html;
 * https://docs.aws.amazon.com/vpc/latest/userguide/VPC_Security.html (link-local not filtered).
 */
import {
  cidrContains,
  parseCidr,
  parseIp,
  type FlowTuple,
  type Inventory,
  type Workload,
} from '../../core/index.js'
import { holdsAddress } from '../../policy/evaluate.js'
import type { CompileResult } from '../target.js'
import { cloudGroupHolds } from '../platform-traffic.js'
import { AWS_LINK_LOCAL } from './compile.js'
import { AWS_SG_FILE, AWS_SG_WORKLOAD_GROUPS } from './render.js'

/** One rule as read from the file. */
interface ReadRule {
  readonly protocol: string
  readonly from?: number
  readonly to?: number
  readonly cidr?: string
  readonly group?: string
}

/** The file, read: each workload's group, and each group's rules per direction. */
export interface ReadSecurityGroups {
  readonly workloadGroup: ReadonlyMap<string, string>
  readonly rules: ReadonlyMap<string, { ingress: ReadRule[]; egress: ReadRule[] }>
}

const GROUP_REF = /^\$\{aws_security_group\.([A-Za-z0-9_-]+)\.id\}$/

function groupOf(text: unknown): string | undefined {
  return typeof text === 'string' ? GROUP_REF.exec(text)?.[1] : undefined
}

/**
 * Reads the security groups of the aws-sg Terraform JSON.
 * @throws SyntaxError when `content` is not JSON; Error when a rule names no known group.
 */
export function readSecurityGroups(content: string): ReadSecurityGroups {
  const doc = JSON.parse(content) as {
    locals?: Record<string, Record<string, string>>
    resource?: Record<string, Record<string, Record<string, unknown>>>
  }
  const workloadGroup = new Map<string, string>()
  for (const [w, ref] of Object.entries(doc.locals?.[AWS_SG_WORKLOAD_GROUPS] ?? {})) {
    const g = groupOf(ref)
    if (g !== undefined) workloadGroup.set(w, g)
  }
  const rules = new Map<string, { ingress: ReadRule[]; egress: ReadRule[] }>()
  for (const key of Object.keys(doc.resource?.['aws_security_group'] ?? {}))
    rules.set(key, { ingress: [], egress: [] })
  for (const dir of ['ingress', 'egress'] as const) {
    for (const r of Object.values(doc.resource?.[`aws_vpc_security_group_${dir}_rule`] ?? {})) {
      const g = groupOf(r['security_group_id'])
      const list = g === undefined ? undefined : rules.get(g)
      if (!list) throw new Error(`rule of unknown group ${String(r['security_group_id'])}`)
      const cidr = r['cidr_ipv4'] ?? r['cidr_ipv6']
      const ref = groupOf(r['referenced_security_group_id'])
      list[dir].push({
        protocol: String(r['ip_protocol']),
        ...(typeof r['from_port'] === 'number' ? { from: r['from_port'] } : {}),
        ...(typeof r['to_port'] === 'number' ? { to: r['to_port'] } : {}),
        ...(typeof cidr === 'string' ? { cidr } : {}),
        ...(ref !== undefined ? { group: ref } : {}),
      })
    }
  }
  return { workloadGroup, rules }
}

/** The names AWS gives protocols 1, 6, 17 and 58, which keep their ports (or types) as numbers too. */
const NAMED: Readonly<Record<string, string>> = {
  '1': 'icmp',
  '6': 'tcp',
  '17': 'udp',
  '58': 'icmpv6',
}

function serviceMatches(r: ReadRule, protocol: number, port: number): boolean {
  const name = NAMED[r.protocol] ?? r.protocol
  switch (name) {
    case '-1':
      return true
    case 'tcp':
    case 'udp':
      return (
        protocol === (name === 'tcp' ? 6 : 17) && port >= (r.from ?? 0) && port <= (r.to ?? 65535)
      )
    case 'icmp':
    case 'icmpv6':
      return (
        protocol === (name === 'icmp' ? 1 : 58) &&
        (r.from === undefined || r.from === -1 || r.from === port)
      )
    default:
      return protocol === Number(r.protocol)
  }
}

function peerMatches(r: ReadRule, ip: string, group: string | undefined): boolean {
  const a = parseIp(ip)
  if (r.group !== undefined) return group === r.group && a !== undefined && cloudGroupHolds(a)
  if (r.cidr === undefined) return false
  const c = parseCidr(r.cidr)
  return typeof c !== 'string' && a !== undefined && cidrContains(c, a)
}

const memo = new WeakMap<CompileResult, ReadSecurityGroups>()

/** The workload holding `ip` at `at`, as the model resolves it (the first in inventory order). */
function holder(inventory: Inventory, ip: string, at: number): Workload | undefined {
  return inventory.workloads.find((w) => holdsAddress(w, ip, at))
}

/**
 * Decides a new flow from the aws-sg artefact (see the module comment): `allowed`, `denied`,
 * or undefined when no security group of the file filters it.
 * @throws Error when the result holds no {@link AWS_SG_FILE}.
 */
export function awsSgDecide(
  result: CompileResult,
  inventory: Inventory,
  tuple: FlowTuple,
): 'allowed' | 'denied' | undefined {
  let read = memo.get(result)
  if (!read) {
    const file = result.artefacts.find((a) => a.path === AWS_SG_FILE)
    if (!file) throw new Error(`no ${AWS_SG_FILE} in the result`)
    read = readSecurityGroups(file.content)
    memo.set(result, read)
  }
  const sa = parseIp(tuple.src)
  const da = parseIp(tuple.dst)
  if ((sa && cidrContains(AWS_LINK_LOCAL, sa)) || (da && cidrContains(AWS_LINK_LOCAL, da)))
    return 'allowed'
  const src = holder(inventory, tuple.src, tuple.at)
  const dst = holder(inventory, tuple.dst, tuple.at)
  if (src !== undefined && src === dst) return undefined
  const sg = src ? read.workloadGroup.get(src.name) : undefined
  const dg = dst ? read.workloadGroup.get(dst.name) : undefined
  if (sg === undefined && dg === undefined) return undefined
  const passes = (group: string | undefined, dir: 'ingress' | 'egress'): boolean => {
    if (group === undefined) return true
    const [peerIp, peerGroup] = dir === 'egress' ? [tuple.dst, dg] : [tuple.src, sg]
    return (read.rules.get(group)?.[dir] ?? []).some(
      (r) => serviceMatches(r, tuple.protocol, tuple.dstPort) && peerMatches(r, peerIp, peerGroup),
    )
  }
  return passes(sg, 'egress') && passes(dg, 'ingress') ? 'allowed' : 'denied'
}
