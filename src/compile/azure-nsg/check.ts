/**
 * @module An evaluator of Azure network security groups, reading the Terraform JSON the
 * azure-nsg target emits (never its plan), used to check the compiler against the model.
 *
 * A flow from address S to address D: S and D resolve to workloads as the inventory says at the
 * flow's time (the first workload holding the address); a workload's NIC is the
 * `network_interface_id` `${var.network_interface_ids["<workload>"]}` of the associations. When
 * S's NIC has an NSG, its `Outbound` rules decide; then, when D's NIC has one, its `Inbound` rules
 * (traffic leaving a NIC is filtered there, traffic arriving at a NIC there: both must allow).
 * In one NSG and direction the rules are visited by ascending priority, Azure's default rules
 * last (65000 AllowVNetInBound / AllowVnetOutBound, 65001 AllowAzureLoadBalancerInBound /
 * AllowInternetOutBound, 65500 DenyAllInBound / DenyAllOutBound); the first whose protocol,
 * destination port, source and destination match decides (Allow or Deny). An address matches
 * `*`; a CIDR prefix containing it; an ASG when its NIC is associated with that ASG and the
 * address is one an IP configuration holds, not a public IPv4 (`cloudGroupHolds`, ../platform-traffic.ts); the tag
 * `AzureLoadBalancer` when it is 168.63.129.16; the tags `VirtualNetwork` and `Internet` always
 * (the evaluator knows no virtual network address space: their union, which the default rules
 * allow, is taken as every address). Protocol `Tcp` is 6, `Udp` 17, `Esp` 50, `Ah` 51, `*` any;
 * `Icmp` is read as both ICMP (1) and ICMPv6 (58), the wider reading, since the documentation
 * does not say. Ports bind TCP and UDP; other protocols match any port list. Stateful: a reply
 * to an allowed flow passes (the evaluator is asked about flows, not replies). Link control
 * ({@link decidedWithoutRules} `link-control`: IPv6 neighbour and multicast listener discovery,
 * IGMP) is taken as passing, as the model assumes (a virtual network carries no multicast and no
 * IGMP, so no NSG rule is written for it). ICMP error messages (`related` to the model:
 * destination unreachable, fragmentation needed, time exceeded, ICMPv6 packet too big…) are
 * judged by the rules like any ICMP packet: Azure documents its state as flow records of the
 * five-tuple and the responses of an allowed flow on it, never an ICMP error quoting that flow,
 * and its protocol `Any` "encompasses TCP, UDP, and ICMP"; so an error meets `bh-deny-all` unless
 * an `Icmp` (or `*`) rule allows the pair. The compiler says so (`compile/icmp-errors-dropped`):
 * the model allows them whatever the rules, this target does not.
 * A flow to the host node's virtual addresses ({@link AZURE_HOST_NODE_IPS}: 168.63.129.16 and
 * 169.254.169.254, DHCP, DNS, IMDS, health monitoring) is allowed whatever the rules: "By
 * default, these services aren't subject to the configured network security groups unless
 * targeted by service tags specific to each service" (overview, "Azure platform
 * considerations"); a flow *from* 168.63.129.16 (load-balancer probes) is judged by the rules.
 * Neither NIC with an NSG: undefined (nothing decides).
 * @remarks https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview
 * (security rules applied on the five-tuple, stateful by flow records of it; default security
 * rules, where protocol `Any` "encompasses TCP, UDP, and ICMP"),
 * https://learn.microsoft.com/azure/virtual-network/network-security-group-how-it-works
 * (inbound: subnet NSG then NIC NSG; outbound: NIC then subnet),
 * https://learn.microsoft.com/azure/virtual-network/application-security-groups. The virtual
 * network itself carries only TCP, UDP, ICMP, ESP and AH
 * (https://learn.microsoft.com/azure/virtual-network/virtual-networks-faq): this evaluator decides
 * by the NSGs alone, as the model does for every protocol.
 */
import {
  cidrContains,
  decidedWithoutRules,
  parseCidr,
  parseIp,
  type FlowTuple,
  type Inventory,
} from '../../core/index.js'
import { resolveEntity } from '../../policy/evaluate.js'
import { cloudGroupHolds } from '../platform-traffic.js'
import { AZURE_HOST_NODE_IPS, AZURE_LOAD_BALANCER_IP } from './compile.js'

/** One security rule as read back from the Terraform JSON. */
interface ReadRule {
  readonly priority: number
  readonly direction: 'Inbound' | 'Outbound'
  readonly access: 'Allow' | 'Deny'
  readonly protocol: string
  readonly ports: readonly string[]
  readonly source: ReadEndpoint
  readonly destination: ReadEndpoint
}

interface ReadEndpoint {
  readonly prefixes: readonly string[]
  readonly asgs: readonly string[]
}

/** The NSGs, their rules, and the NIC associations of a Terraform JSON document. */
export interface AzureNsgState {
  /** NSG resource name → rules (both directions). */
  readonly rules: ReadonlyMap<string, ReadRule[]>
  /** Workload name → NSG resource name. */
  readonly nsgOf: ReadonlyMap<string, string>
  /** Workload name → ASG resource names its NIC joins. */
  readonly asgsOf: ReadonlyMap<string, ReadonlySet<string>>
}

const NIC = /^\$\{var\.network_interface_ids\["((?:[^"\\]|\\.)*)"\]\}$/
const REF = /^\$\{azurerm_[a-z_]+\.([A-Za-z0-9_-]+)\.(?:id|name)\}$/

function workloadOf(expr: unknown): string | undefined {
  const m = typeof expr === 'string' ? NIC.exec(expr) : null
  return m?.[1]?.replace(/\$\$\{/g, '${').replace(/\\(.)/g, '$1')
}

function refOf(expr: unknown): string | undefined {
  return (typeof expr === 'string' ? REF.exec(expr) : null)?.[1]
}

function endpoint(r: Record<string, unknown>, side: 'source' | 'destination'): ReadEndpoint {
  const one = r[`${side}_address_prefix`]
  const many = r[`${side}_address_prefixes`]
  const asgs = r[`${side}_application_security_group_ids`]
  return {
    prefixes: [
      ...(typeof one === 'string' ? [one] : []),
      ...((many as string[] | undefined) ?? []),
    ],
    asgs: ((asgs as string[] | undefined) ?? []).map((a) => refOf(a) ?? a),
  }
}

/**
 * Reads the NSG rules and associations of a Terraform JSON document.
 * @throws SyntaxError when `content` is not JSON.
 */
export function readAzureNsg(content: string): AzureNsgState {
  const doc = JSON.parse(content) as {
    resource?: Record<string, Record<string, Record<string, unknown>>>
  }
  const res = doc.resource ?? {}
  const rules = new Map<string, ReadRule[]>()
  for (const r of Object.values(res['azurerm_network_security_rule'] ?? {})) {
    const nsg = refOf(r['network_security_group_name']) ?? ''
    const one = r['destination_port_range']
    rules.set(nsg, [
      ...(rules.get(nsg) ?? []),
      {
        priority: Number(r['priority']),
        direction: r['direction'] as ReadRule['direction'],
        access: r['access'] as ReadRule['access'],
        protocol: String(r['protocol']),
        ports:
          typeof one === 'string'
            ? [one]
            : ((r['destination_port_ranges'] as string[] | undefined) ?? []),
        source: endpoint(r, 'source'),
        destination: endpoint(r, 'destination'),
      },
    ])
  }
  const nsgOf = new Map<string, string>()
  for (const a of Object.values(
    res['azurerm_network_interface_security_group_association'] ?? {},
  )) {
    const w = workloadOf(a['network_interface_id'])
    const n = refOf(a['network_security_group_id'])
    if (w !== undefined && n !== undefined) nsgOf.set(w, n)
  }
  const asgsOf = new Map<string, Set<string>>()
  for (const a of Object.values(
    res['azurerm_network_interface_application_security_group_association'] ?? {},
  )) {
    const w = workloadOf(a['network_interface_id'])
    const g = refOf(a['application_security_group_id'])
    if (w === undefined || g === undefined) continue
    asgsOf.set(w, (asgsOf.get(w) ?? new Set<string>()).add(g))
  }
  return { rules, nsgOf, asgsOf }
}

const PROTOCOLS: Readonly<Record<string, readonly number[]>> = {
  Tcp: [6],
  Udp: [17],
  Icmp: [1, 58],
  Esp: [50],
  Ah: [51],
}

/** Azure's default rules, after every custom rule (priorities 65000–65500). */
const DEFAULTS: Readonly<Record<'Inbound' | 'Outbound', readonly ReadRule[]>> = (() => {
  const r = (priority: number, access: 'Allow' | 'Deny', src: string, dst: string) => ({
    priority,
    access,
    protocol: '*',
    ports: ['*'],
    source: { prefixes: [src], asgs: [] },
    destination: { prefixes: [dst], asgs: [] },
  })
  return {
    Inbound: [
      { ...r(65000, 'Allow', 'VirtualNetwork', 'VirtualNetwork'), direction: 'Inbound' },
      { ...r(65001, 'Allow', 'AzureLoadBalancer', '*'), direction: 'Inbound' },
      { ...r(65500, 'Deny', '*', '*'), direction: 'Inbound' },
    ],
    Outbound: [
      { ...r(65000, 'Allow', 'VirtualNetwork', 'VirtualNetwork'), direction: 'Outbound' },
      { ...r(65001, 'Allow', '*', 'Internet'), direction: 'Outbound' },
      { ...r(65500, 'Deny', '*', '*'), direction: 'Outbound' },
    ],
  }
})()

function prefixMatches(prefix: string, ip: string): boolean {
  if (prefix === '*' || prefix === 'VirtualNetwork' || prefix === 'Internet') return true
  if (prefix === 'AzureLoadBalancer') return ip === AZURE_LOAD_BALANCER_IP
  const c = parseCidr(prefix, true)
  const a = parseIp(ip)
  return typeof c !== 'string' && !!a && cidrContains(c, a)
}

function endpointMatches(e: ReadEndpoint, ip: string, asgs: ReadonlySet<string>): boolean {
  if (e.prefixes.some((p) => prefixMatches(p, ip))) return true
  const a = parseIp(ip)
  return a !== undefined && cloudGroupHolds(a) && e.asgs.some((g) => asgs.has(g))
}

function portMatches(ports: readonly string[], protocol: number, port: number): boolean {
  if (protocol !== 6 && protocol !== 17) return true
  return ports.some((p) => {
    if (p === '*') return true
    const [lo, hi] = p.split('-').map(Number)
    return lo !== undefined && port >= lo && port <= (hi ?? lo)
  })
}

/** The first matching rule's access in one NSG and direction (defaults included). */
function decide(
  rules: readonly ReadRule[],
  direction: 'Inbound' | 'Outbound',
  src: { ip: string; asgs: ReadonlySet<string> },
  dst: { ip: string; asgs: ReadonlySet<string> },
  protocol: number,
  port: number,
): 'Allow' | 'Deny' {
  const ordered = [...rules.filter((r) => r.direction === direction), ...DEFAULTS[direction]].sort(
    (a, b) => a.priority - b.priority,
  )
  for (const r of ordered) {
    const numbers = Object.hasOwn(PROTOCOLS, r.protocol) ? PROTOCOLS[r.protocol] : undefined
    if (r.protocol !== '*' && !(numbers ?? []).includes(protocol)) continue
    if (!portMatches(r.ports, protocol, port)) continue
    if (!endpointMatches(r.source, src.ip, src.asgs)) continue
    if (!endpointMatches(r.destination, dst.ip, dst.asgs)) continue
    return r.access
  }
  return 'Deny'
}

/**
 * Decides a flow as Azure would from the emitted Terraform JSON (see the module comment):
 * `allowed`, `denied`, or undefined when neither end's NIC has an NSG.
 */
export function azureNsgDecide(
  state: AzureNsgState,
  inventory: Inventory,
  tuple: FlowTuple,
): 'allowed' | 'denied' | undefined {
  const end = (ip: string): { ip: string; nsg?: string; asgs: ReadonlySet<string> } => {
    const e = resolveEntity(inventory, ip, tuple.at)
    const name = e.kind === 'workload' ? e.workload.name : undefined
    const nsg = name === undefined ? undefined : state.nsgOf.get(name)
    return {
      ip,
      ...(nsg !== undefined ? { nsg } : {}),
      asgs: (name === undefined ? undefined : state.asgsOf.get(name)) ?? new Set(),
    }
  }
  const src = end(tuple.src)
  const dst = end(tuple.dst)
  if (src.nsg === undefined && dst.nsg === undefined) return undefined
  if (AZURE_HOST_NODE_IPS.includes(tuple.dst)) return 'allowed'
  const sa = parseIp(tuple.src)
  const da = parseIp(tuple.dst)
  if (
    sa &&
    da &&
    decidedWithoutRules(tuple.protocol, tuple.dstPort, sa.family, da.family) === 'link-control'
  )
    return 'allowed'
  for (const [at, direction] of [
    [src, 'Outbound'],
    [dst, 'Inbound'],
  ] as const) {
    if (at.nsg === undefined) continue
    const rules = state.rules.get(at.nsg) ?? []
    if (decide(rules, direction, src, dst, tuple.protocol, tuple.dstPort) === 'Deny')
      return 'denied'
  }
  return 'allowed'
}
