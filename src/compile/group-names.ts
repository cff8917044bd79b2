/**
 * @module Stable names for the groups the cloud targets make (aws-sg security groups, azure-nsg
 * network security groups and application security groups): a group is named after what it
 * protects (its members' label set; the selector, for an ASG), never after its rank, its first
 * member or the other groups, so that a policy or inventory edit leaves the names, and so the
 * Terraform keys, of the groups it does not touch as they were.
 *
 * Why it matters: a cloud group's name cannot be changed in place (azurerm
 * `azurerm_network_security_group.name` and `azurerm_application_security_group.name`, AWS
 * `aws_security_group.name`: "Changing this forces a new resource to be created"), and a new
 * Terraform key is a destroy and a create too; both take the group's associations with them
 * (`azurerm_network_interface_security_group_association` forces a new resource when its
 * `network_security_group_id` changes), so a renamed group leaves its workloads' interfaces
 * without it for a moment.
 *
 * The mechanism, shared by the targets:
 * - {@link groupParts}: when the rules split the workloads of one label set into several groups
 *   (a rule naming a workload, a CIDR block holding some of them), the group with the fewest
 *   rules (the label set's own, before the rules that pick workloads out), then the most
 *   members, then the first member name, keeps the label set's name; each other is named after
 *   its first workload as well.
 * - {@link uniqueNames}: the readable name when there is one and it fits, otherwise the readable
 *   text cut to fit and 8 hex digits of {@link fnv1a} of the exact identity. A target whose
 *   readable names are one-to-one (azure-nsg NSGs) is thereby stable whatever the edit; one whose
 *   readable names can meet (compared as the target compares them, e.g. without case: aws-sg
 *   labels, Azure ASG selectors with characters Azure does not take) keeps the readable name for
 *   the first identity in sorted order and hashes the others, so a new group reading like an
 *   old one renames the old one only when its identity sorts first. Two identities of one 32-bit
 *   hash are numbered `-2` in identity order.
 * @remarks Name rules: https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules
 * (NSG and ASG: 1–80 characters, alphanumerics, `_`, `.`, `-`, starting with an alphanumeric and
 * ending with one or `_`; unique in the resource group; Azure compares names without case), the
 * same restated at https://azure.github.io/PSRule.Rules.Azure/en/rules/Azure.NSG.Naming and
 * https://azure.github.io/PSRule.Rules.Azure/en/rules/Azure.ASG.Name; azurerm
 * (hashicorp/terraform-provider-azurerm website/docs/r/network_security_group.html.markdown,
 * network_interface_security_group_association.html.markdown: `name`, `network_security_group_id`
 * force a new resource); AWS security group names: up to 255 characters of a-z, A-Z, 0-9, spaces
 * and `._-:/()#,@[]+=&;{}!$*`, "case-insensitive and must be unique within the VPC"
 * (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html).
 */
import type { LabelSet } from '../core/index.js'

/**
 * 32-bit FNV-1a of the UTF-16 code units of `text`: stable across runs, platforms and versions.
 * Stable: it names groups and rules and places NSG priorities; do not change.
 */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

/** 8 lower-case hex digits of {@link fnv1a} of `identity`. */
export function hashTag(identity: string): string {
  return fnv1a(identity).toString(16).padStart(8, '0')
}

/** The exact identity of a label set (and part), as hashes read it: JSON of the sorted pairs. */
export function labelIdentity(labels: LabelSet, part?: string): string {
  const pairs = Object.keys(labels)
    .sort()
    .map((k) => [k, labels[k] ?? ''])
  return JSON.stringify(part === undefined ? pairs : [pairs, part])
}

/** One group of workloads to name (see {@link groupParts}). */
export interface GroupToName {
  /** The members' label set (every member has it). */
  readonly labels: LabelSet
  /** Workload names, sorted (at least one). */
  readonly members: readonly string[]
  /** How many rules (or rule lists) apply to the group: the fewest keeps the plain name. */
  readonly rules: number
}

/**
 * Which groups of one label set keep its plain name: per group, `undefined` for the one that
 * does (one per label set) and the name of its first workload for each other (see the module
 * comment). Only the groups of the same label set matter, so adding or removing a group of
 * another label set changes no part.
 */
export function groupParts(groups: readonly GroupToName[]): (string | undefined)[] {
  const main = new Map<string, number>()
  groups.forEach((g, i) => {
    const id = labelIdentity(g.labels)
    const j = main.get(id)
    if (j === undefined || before(g, groups[j] as GroupToName)) main.set(id, i)
  })
  return groups.map((g, i) =>
    main.get(labelIdentity(g.labels)) === i ? undefined : (g.members[0] ?? ''),
  )
}

function before(a: GroupToName, b: GroupToName): boolean {
  if (a.rules !== b.rules) return a.rules < b.rules
  if (a.members.length !== b.members.length) return a.members.length > b.members.length
  return (a.members[0] ?? '') < (b.members[0] ?? '')
}

/** A name to make unique (see {@link uniqueNames}). */
export interface NameCandidate {
  /** The exact identity: equal for one group only. */
  readonly identity: string
  /** The name as it should read, or undefined when the target cannot take it one-to-one. */
  readonly readable: string | undefined
  /** The readable text in the target's characters (may be lossy), cut and hashed when needed. */
  readonly lossy: string
}

/** How a target takes names (see {@link uniqueNames}). */
export interface NameRules {
  /** Most characters. */
  readonly max: number
  /** Between the cut text and the hash: `.` or `_`. */
  readonly separator: string
  /** What the target compares: e.g. lower case for Azure. */
  readonly fold: (name: string) => string
  /** Cuts lossy text to at most `n` characters that may precede the separator. */
  readonly cut: (text: string, n: number) => string
}

/**
 * Unique names, one per candidate, in order: each the readable name when there is one, it fits
 * in `rules.max` and no identity sorting before it has a name folding to the same; else its
 * lossy text cut to fit, the separator and {@link hashTag} of its identity; a name still taken
 * (two identities of one 32-bit hash) is numbered `-2`, `-3`… in identity order. A name depends
 * only on its own candidate, except when another's name meets it.
 * @param items - distinct identities.
 * @throws never.
 */
export function uniqueNames(items: readonly NameCandidate[], rules: NameRules): string[] {
  const hashed = (it: NameCandidate): string =>
    `${rules.cut(it.lossy, rules.max - rules.separator.length - 8)}${rules.separator}${hashTag(it.identity)}`
  const first = items.map((it) =>
    it.readable !== undefined && it.readable.length <= rules.max ? it.readable : hashed(it),
  )
  const order = items
    .map((_, i) => i)
    .sort((a, b) => {
      const x = (items[a] as NameCandidate).identity
      const y = (items[b] as NameCandidate).identity
      return x < y ? -1 : x > y ? 1 : a - b
    })
  // a readable name that another identity's name also folds to: the first identity keeps it
  const owner = new Map<string, string>()
  for (const i of order) {
    const k = rules.fold(first[i] as string)
    if (!owner.has(k)) owner.set(k, (items[i] as NameCandidate).identity)
  }
  const second = first.map((n, i) => {
    const it = items[i] as NameCandidate
    return owner.get(rules.fold(n)) === it.identity ? n : hashed(it)
  })
  const used = new Set<string>()
  const out = [...second]
  for (const i of order) {
    const base = second[i] as string
    let name = base
    for (let k = 2; used.has(rules.fold(name)); k++)
      name = `${rules.cut(base, rules.max - String(k).length - 1)}-${k}`
    used.add(rules.fold(name))
    out[i] = name
  }
  return out
}
