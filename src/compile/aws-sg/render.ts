/**
 * @module Terraform JSON of an aws-sg plan: the file `bulkhead-aws-sg.tf.json`, for the AWS
 * provider v5 (resources `aws_security_group`, `aws_vpc_security_group_ingress_rule`,
 * `aws_vpc_security_group_egress_rule`, `aws_network_interface_sg_attachment`).
 *
 * What the inventory does not know is a variable the user sets: `vpc_id` (the VPC of the
 * groups) and `network_interface_ids` (a map from workload name to the IDs of its network
 * interfaces; every enforced workload must be a key). Each object carries the Bulkhead policy
 * rules it comes from: groups in `tags` (`bulkhead:labels`, `bulkhead:workloads`) and
 * `description`, rules in `tags` (`bulkhead:rules`) and `description`.
 * @remarks Terraform JSON syntax: https://developer.hashicorp.com/terraform/language/syntax/json
 * ("//" comment properties; `${...}` templates). Resources and arguments:
 * terraform-provider-aws website/docs/r/{security_group, vpc_security_group_ingress_rule,
 * vpc_security_group_egress_rule, network_interface_sg_attachment}.html.markdown
 * (`ip_protocol` "-1" takes no ports; `from_port`/`to_port` are the port range, or the ICMP type
 * and code, -1 for all). AWS ports for other protocol numbers:
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpPermission.html
 */
import { maxPort, ServiceSet } from '../../core/index.js'
import type { AwsSgPlan, SgGrant, SgPeer } from './compile.js'

/** The file the target writes. Stable. */
export const AWS_SG_FILE = 'bulkhead-aws-sg.tf.json'

/** Terraform variable names the user sets. Stable. */
export const AWS_SG_VARIABLES = { vpc: 'vpc_id', interfaces: 'network_interface_ids' } as const

/** The local mapping workload name → group ID. Stable: the checker reads it. */
export const AWS_SG_WORKLOAD_GROUPS = 'bulkhead_workload_security_group'

/** The protocol and ports of one AWS rule, as the provider's arguments. */
export interface AwsRuleSpec {
  /** `tcp`, `udp`, `icmp`, `icmpv6`, `-1` or an IANA number as text. */
  readonly ip_protocol: string
  readonly from_port?: number
  readonly to_port?: number
}

const NUMBERS: Readonly<Record<string, number>> = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58 }

/** What one AWS rule spec allows, as a service set. */
export function specServices(spec: AwsRuleSpec): ServiceSet {
  if (spec.ip_protocol === '-1') return ServiceSet.ANY
  const protocol = NUMBERS[spec.ip_protocol] ?? Number(spec.ip_protocol)
  if (protocol === 6 || protocol === 17)
    return ServiceSet.single({
      protocol,
      ports: { lo: spec.from_port ?? 0, hi: spec.to_port ?? 65535 },
    })
  if ((protocol === 1 || protocol === 58) && spec.from_port !== undefined && spec.from_port >= 0)
    return ServiceSet.single({ protocol, ports: { lo: spec.from_port, hi: spec.from_port } })
  return ServiceSet.single({ protocol, ports: { lo: 0, hi: maxPort(protocol) } })
}

const NAMED: Readonly<Record<number, string>> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6' }

/**
 * A service set as AWS rules: `-1` for every protocol; TCP/UDP port ranges; ICMP/ICMPv6 one
 * rule per type (code -1), or type -1 for all; other protocols whole (AWS allows every port
 * of them whatever range is given). Sorted by protocol, then port.
 * @returns the rules, or a text naming the protocol whose partial port set AWS cannot express.
 */
export function awsRuleSpecs(set: ServiceSet): AwsRuleSpec[] | string {
  if (set.isAny) return [{ ip_protocol: '-1' }]
  const protocols = set.rest
    ? Array.from({ length: 256 }, (_, p) => p)
    : [...set.byProtocol.keys()].sort((a, b) => a - b)
  const out: AwsRuleSpec[] = []
  for (const p of protocols) {
    const ports = set.ports(p)
    if (ports.isEmpty) continue
    const name = NAMED[p]
    const whole = ports.size === maxPort(p) + 1
    if (p === 6 || p === 17) {
      for (const r of ports.ranges)
        out.push({ ip_protocol: name as string, from_port: r.lo, to_port: r.hi })
    } else if (p === 1 || p === 58) {
      if (whole) out.push({ ip_protocol: name as string, from_port: -1, to_port: -1 })
      else
        for (const r of ports.ranges)
          for (let t = r.lo; t <= r.hi; t++)
            out.push({ ip_protocol: name as string, from_port: t, to_port: -1 })
    } else if (whole) out.push({ ip_protocol: String(p) })
    else return `protocol ${p} ports ${ports.toString()}`
  }
  return out
}

/** Short text of a rule spec for names: `tcp_443`, `tcp_8000_8100`, `icmp_8`, `all`. */
function specText(s: AwsRuleSpec): string {
  if (s.ip_protocol === '-1') return 'all'
  const name = /^\d+$/.test(s.ip_protocol) ? `proto${s.ip_protocol}` : s.ip_protocol
  if (s.from_port === undefined) return name
  if (s.from_port === -1) return `${name}_all`
  if (s.to_port === undefined || s.to_port === -1 || s.to_port === s.from_port)
    return `${name}_${s.from_port}`
  return `${name}_${s.from_port}_${s.to_port}`
}

/**
 * Text as AWS takes it in a VPC security group's name and descriptions (a-z, A-Z, 0-9, spaces
 * and `._-:/()#,@[]+=&;{}!$*`): other characters become `_`.
 */
export function awsText(text: string): string {
  return text.replace(/[^A-Za-z0-9 ._\-:/()#,@[\]+=&;{}!$*]/g, '_')
}

/** At most `max` characters: the list, cut with how many are left out. */
function fit(items: readonly string[], max: number, sep = ' '): string {
  let text = ''
  for (let i = 0; i < items.length; i++) {
    const next = text === '' ? (items[i] as string) : `${text}${sep}${items[i] as string}`
    const rest = items.length - i - 1
    const more = rest > 0 ? `${sep}+${rest} more` : ''
    if (next.length + more.length > max) return `${text}${sep}+${items.length - i} more`.trim()
    text = next
  }
  return text
}

/** Text as a Terraform identifier part: lower case, runs of other characters as `_`. */
export function ident(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
}

const ref = (key: string): string => `\${aws_security_group.${key}.id}`

function peerArgs(p: SgPeer): Record<string, string> {
  if (p.kind === 'group') return { referenced_security_group_id: ref(p.group) }
  return p.family === 4 ? { cidr_ipv4: p.cidr } : { cidr_ipv6: p.cidr }
}

function peerName(p: SgPeer): string {
  return p.kind === 'group' ? p.group : ident(p.cidr)
}

/**
 * The Terraform JSON text of a plan (2-space indented, keys in a fixed order, objects sorted
 * by resource name).
 * @param now - the compile instant, written in the header comment.
 * @throws never: a partial port set of another protocol was refused by the planner.
 */
export function renderTerraform(plan: AwsSgPlan, now: Date): string {
  const groups: Record<string, unknown> = {}
  const rules: Record<'ingress' | 'egress', Record<string, unknown>> = { ingress: {}, egress: {} }
  const workloadGroup: Record<string, string> = {}
  for (const g of plan.groups) {
    groups[g.key] = {
      name: awsText(g.name),
      description: awsText(
        fit([`Bulkhead: workloads labelled ${g.labels === '' ? '(none)' : g.labels}`], 255),
      ),
      vpc_id: `\${var.${AWS_SG_VARIABLES.vpc}}`,
      tags: {
        Name: g.name,
        'bulkhead:labels': fit([g.labels], 256),
        'bulkhead:workloads': fit(g.workloads, 256),
      },
    }
    for (const w of g.workloads) workloadGroup[w] = ref(g.key)
    for (const grant of g.grants)
      addRules(rules[grant.direction], g.key, grant, plan.originServices)
  }
  const enforced = Object.keys(workloadGroup).sort()
  const doc = {
    '//': `Generated by Bulkhead (bulkhead compile --target aws-sg) at ${now.toISOString()}: the security groups of the enforced workloads, allowing what the policy set allows. Set var.${AWS_SG_VARIABLES.vpc} and var.${AWS_SG_VARIABLES.interfaces}; the attached groups must be the only ones on those interfaces (README "compile --target aws-sg").`,
    terraform: {
      required_providers: { aws: { source: 'hashicorp/aws', version: '>= 5.0' } },
    },
    variable: {
      [AWS_SG_VARIABLES.vpc]: {
        type: 'string',
        description: 'ID of the VPC the enforced workloads run in',
      },
      [AWS_SG_VARIABLES.interfaces]: {
        type: 'map(list(string))',
        description:
          'Network interface IDs (eni-...) of each enforced workload, keyed by Bulkhead workload name',
        validation: {
          condition: `\${alltrue([for w in ${JSON.stringify(enforced)} : contains(keys(var.${AWS_SG_VARIABLES.interfaces}), w)])}`,
          error_message: `Every enforced workload needs its network interfaces: ${fit(enforced, 400, ', ')}.`,
        },
      },
    },
    locals: { [AWS_SG_WORKLOAD_GROUPS]: sortKeys(workloadGroup) },
    resource: {
      aws_security_group: sortKeys(groups),
      aws_vpc_security_group_ingress_rule: sortKeys(rules.ingress),
      aws_vpc_security_group_egress_rule: sortKeys(rules.egress),
      aws_network_interface_sg_attachment: {
        bulkhead: {
          for_each: `\${merge([for w, sg in local.${AWS_SG_WORKLOAD_GROUPS} : { for eni in var.${AWS_SG_VARIABLES.interfaces}[w] : format("%s/%s", w, eni) => { security_group_id = sg, network_interface_id = eni } }]...)}`,
          security_group_id: '${each.value.security_group_id}',
          network_interface_id: '${each.value.network_interface_id}',
        },
      },
    },
    output: {
      bulkhead_security_group_ids: {
        description:
          'The security group ID of each enforced workload, for vpc_security_group_ids of instances Terraform manages',
        value: `\${local.${AWS_SG_WORKLOAD_GROUPS}}`,
      },
    },
  }
  return JSON.stringify(doc, null, 2) + '\n'
}

function addRules(
  into: Record<string, unknown>,
  group: string,
  grant: SgGrant,
  originServices: ReadonlyMap<string, ServiceSet>,
): void {
  const specs = awsRuleSpecs(grant.services)
  if (typeof specs === 'string') return
  const dir = grant.direction === 'ingress' ? 'in' : 'out'
  const peer = grant.peer.kind === 'group' ? `sg ${grant.peer.group}` : grant.peer.cidr
  for (const s of specs) {
    const origin = ruleOrigin(grant.origin, specServices(s), originServices)
    const name = `${group}_${dir}_${specText(s)}_${peerName(grant.peer)}`
    into[name] = {
      security_group_id: ref(group),
      ip_protocol: s.ip_protocol,
      ...(s.from_port !== undefined ? { from_port: s.from_port } : {}),
      ...(s.to_port !== undefined ? { to_port: s.to_port } : {}),
      ...peerArgs(grant.peer),
      description: awsText(
        fit([`Bulkhead ${dir === 'in' ? 'from' : 'to'} ${peer}:`, ...origin], 255),
      ),
      tags: { 'bulkhead:rules': fit(origin, 256) },
    }
  }
}

/**
 * The origins of one AWS rule: those of its grant (one peer, every service) whose services meet
 * the rule's own, so that a `tcp/443` rule does not name the ICMP rule or the housekeeping that
 * gave the same peer other services. An origin of unknown services is kept; `(none)` when none is
 * left (never for a plan from {@link planAwsSg}: some origin allows each service it grants).
 */
function ruleOrigin(
  origin: readonly string[],
  services: ServiceSet,
  originServices: ReadonlyMap<string, ServiceSet>,
): readonly string[] {
  const mine = origin.filter((o) => {
    const s = originServices.get(o)
    return s === undefined || !s.intersect(services).isEmpty
  })
  return mine.length > 0 ? mine : ['(none)']
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}
