/**
 * @module Renders an {@link AzureNsgPlan} as Terraform JSON configuration
 * (https://developer.hashicorp.com/terraform/language/syntax/json) for the azurerm provider
 * (v3 and v4 take the same arguments for these resources).
 *
 * What the inventory does not know is a variable: `resource_group_name`, `location`, and
 * `network_interface_ids`, a map from workload name to the resource id of its network interface.
 * Resources: `azurerm_application_security_group` per ASG,
 * `azurerm_network_interface_application_security_group_association` per (NIC, ASG),
 * `azurerm_network_security_group` per NSG with one `azurerm_network_security_rule` per rule
 * (standalone rules, so none may be written inline), and
 * `azurerm_network_interface_security_group_association` per (NIC, NSG). Every object says where
 * it comes from: tags `managed-by`, `bulkhead-group` / `bulkhead-rules` (ASGs), `bulkhead-labels` /
 * `bulkhead-workloads` (NSGs)
 * (Azure tag values hold at most 256 characters: longer lists end in `…`), and each rule's
 * `description` names the Bulkhead rule. Keys are sorted at every level, so the file is
 * deterministic.
 * @see https://registry.terraform.io/providers/hashicorp/azurerm/latest/docs/resources/network_security_rule
 */
import type { AsgPlan, AzureNsgPlan, NsgEndpoint, NsgPlan } from './compile.js'

/** The variable of the NIC ids; the checker reads `${var.network_interface_ids["<workload>"]}` back. */
export const NIC_VARIABLE = 'network_interface_ids'

/** Terraform JSON string of an HCL string literal inside `${…}`: `\` and `"` escaped, templates off. */
function hclQuoted(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$\{/g, '$${').replace(/%\{/g, '%%{')}"`
}

/** The NIC id of a workload, as a Terraform expression. */
export function nicRef(workload: string): string {
  return `\${var.${NIC_VARIABLE}[${hclQuoted(workload)}]}`
}

/** A literal Terraform JSON string: `${` and `%{` escaped so that they are not templates. */
function literal(text: string): string {
  return text.replace(/\$\{/g, '$${').replace(/%\{/g, '%%{')
}

function tagValue(items: readonly string[]): string {
  const all = items.join(' ')
  return literal(all.length <= 256 ? all : `${all.slice(0, 255)}…`)
}

/**
 * Terraform names of a group's associations, one per member, from the member's name (so that a
 * member joining or leaving does not rename the others'): `<group>__<workload>`, characters
 * outside `[A-Za-z0-9_-]` as `_`, a clash numbered.
 */
function memberKeys(group: string, members: readonly string[]): [string, string][] {
  const used = new Set<string>()
  return members.map((m) => {
    const base = `${group}__${m.replace(/[^A-Za-z0-9_-]/g, '_')}`
    let key = base
    for (let n = 2; used.has(key); n++) key = `${base}_${n}`
    used.add(key)
    return [key, m]
  })
}

/**
 * The Terraform name of a security rule: `<nsg key>__<rule name>`, characters outside
 * `[A-Za-z0-9_-]` as `_`. Like the rule's Azure name it comes from the Bulkhead rule's identity and
 * never from its priority, so editing other rules neither renames nor re-keys it (Terraform plans
 * an update in place, not a destroy and create). Rule names are unique in their NSG and the
 * generated ones hold no `_` before their hash, so a clash (numbered) cannot happen in practice.
 */
function ruleKey(nsg: string, name: string, taken: Readonly<Record<string, unknown>>): string {
  const base = `${nsg}__${name.replace(/[^A-Za-z0-9_-]/g, '_')}`
  let key = base
  for (let n = 2; Object.hasOwn(taken, key); n++) key = `${base}_${n}`
  return key
}

/** Sorts object keys at every level (arrays keep their order). */
function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted)
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
    )
  return v
}

function endpointArgs(
  side: 'source' | 'destination',
  e: NsgEndpoint,
  asgKey: ReadonlyMap<string, string>,
): Record<string, unknown> {
  switch (e.kind) {
    case 'any':
      return { [`${side}_address_prefix`]: '*' }
    case 'tag':
      return { [`${side}_address_prefix`]: e.tag }
    case 'asgs':
      return {
        [`${side}_application_security_group_ids`]: e.asgs.map(
          (g) => `\${azurerm_application_security_group.${asgKey.get(g) ?? g}.id}`,
        ),
      }
    case 'prefixes':
      return e.prefixes.length === 1
        ? { [`${side}_address_prefix`]: e.prefixes[0] }
        : { [`${side}_address_prefixes`]: e.prefixes }
  }
}

const RG = '${var.resource_group_name}'
const LOCATION = '${var.location}'

function asgResources(asgs: readonly AsgPlan[]): {
  groups: Record<string, unknown>
  joins: Record<string, unknown>
} {
  const groups: Record<string, unknown> = {}
  const joins: Record<string, unknown> = {}
  for (const a of asgs) {
    groups[a.key] = {
      name: a.name,
      resource_group_name: RG,
      location: LOCATION,
      tags: {
        'managed-by': 'bulkhead',
        'bulkhead-group': tagValue([a.group]),
        'bulkhead-rules': tagValue(a.rules.map((r) => `${r.policy}/${r.id}`)),
      },
    }
    memberKeys(a.key, a.members).forEach(([key, m]) => {
      joins[key] = {
        network_interface_id: nicRef(m),
        application_security_group_id: `\${azurerm_application_security_group.${a.key}.id}`,
      }
    })
  }
  return { groups, joins }
}

function nsgResources(
  nsgs: readonly NsgPlan[],
  asgKey: ReadonlyMap<string, string>,
): {
  groups: Record<string, unknown>
  rules: Record<string, unknown>
  joins: Record<string, unknown>
} {
  const groups: Record<string, unknown> = {}
  const rules: Record<string, unknown> = {}
  const joins: Record<string, unknown> = {}
  for (const n of nsgs) {
    groups[n.key] = {
      name: n.name,
      resource_group_name: RG,
      location: LOCATION,
      tags: {
        'managed-by': 'bulkhead',
        'bulkhead-labels': tagValue([n.labels]),
        'bulkhead-workloads': tagValue(n.members),
      },
    }
    for (const r of n.rules) {
      rules[ruleKey(n.key, r.name, rules)] = {
        name: r.name,
        resource_group_name: RG,
        network_security_group_name: `\${azurerm_network_security_group.${n.key}.name}`,
        priority: r.priority,
        direction: r.direction,
        access: r.access,
        protocol: r.protocol,
        source_port_range: '*',
        ...(r.ports.length === 1
          ? { destination_port_range: r.ports[0] }
          : { destination_port_ranges: r.ports }),
        ...endpointArgs('source', r.source, asgKey),
        ...endpointArgs('destination', r.destination, asgKey),
        description: literal(r.description),
      }
    }
    memberKeys(n.key, n.members).forEach(([key, m]) => {
      joins[key] = {
        network_interface_id: nicRef(m),
        network_security_group_id: `\${azurerm_network_security_group.${n.key}.id}`,
      }
    })
  }
  return { groups, rules, joins }
}

/**
 * The Terraform JSON text of a plan (2-space indent, keys sorted, final newline).
 * @param now - the compile instant, printed in the header comment (`//`).
 */
export function renderAzureNsg(plan: AzureNsgPlan, now: Date): string {
  const asg = asgResources(plan.asgs)
  const nsg = nsgResources(plan.nsgs, new Map(plan.asgs.map((a) => [a.group, a.key])))
  const resource: Record<string, Record<string, unknown>> = {}
  const put = (type: string, objects: Record<string, unknown>): void => {
    if (Object.keys(objects).length > 0) resource[type] = objects
  }
  put('azurerm_application_security_group', asg.groups)
  put('azurerm_network_interface_application_security_group_association', asg.joins)
  put('azurerm_network_security_group', nsg.groups)
  put('azurerm_network_security_rule', nsg.rules)
  put('azurerm_network_interface_security_group_association', nsg.joins)
  const doc = {
    '//': `Generated by bulkhead compile --target azure-nsg at ${now.toISOString()}. Do not edit: compile again.`,
    provider: { azurerm: { features: {} } },
    terraform: {
      required_providers: { azurerm: { source: 'hashicorp/azurerm', version: '>= 3.0, < 5.0' } },
    },
    variable: {
      resource_group_name: {
        type: 'string',
        description: 'Resource group of the NSGs and ASGs (the NICs may be elsewhere).',
      },
      location: { type: 'string', description: 'Azure region of the NSGs and ASGs.' },
      [NIC_VARIABLE]: {
        type: 'map(string)',
        description:
          'Network interface resource id of each enforced workload, keyed by workload name (every NIC in one virtual network when ASGs are used).',
      },
    },
    ...(Object.keys(resource).length > 0 ? { resource } : {}),
  }
  return `${JSON.stringify(sorted(doc), null, 2)}\n`
}
