/**
 * @module AdminNetworkPolicy and BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1):
 * parsing with located validation.
 *
 * @remarks Semantics: network-policy-api v1alpha1 (https://network-policy-api.sigs.k8s.io/api-overview/,
 * reference https://network-policy-api.sigs.k8s.io/reference/spec/):
 *
 * - ANP `spec.priority` 0–1000, lower is evaluated first; BANP is one cluster object named `default`.
 * - `spec.subject`: exactly one of `namespaces` (a namespace selector: every pod of the selected
 *   namespaces) or `pods` (`namespaceSelector` and `podSelector`; a missing one is `{}`, as the
 *   Go types of the API read it, and as np-guard accepts it).
 * - Rules (`ingress` with `from`, `egress` with `to`, at most 100 each) are evaluated in order;
 *   the first rule matching the traffic decides: `Allow`, `Deny`, or (ANP only) `Pass` — skip the
 *   remaining ANPs and let NetworkPolicy decide. A rule needs 1–100 peers: `namespaces`, `pods`,
 *   and for egress `networks` (CIDR blocks; cluster-external addresses here, as np-guard has no
 *   pod addresses) and `nodes` (a node selector). Node addresses are not in the manifests, so a
 *   `nodes` peer is ignored with a `k8s/unsupported-field` warning, as np-guard ignores it
 *   (its `WarnUnsupportedNodesField`): the rule keeps its other peers, and a rule whose peers are
 *   all `nodes` matches nothing here. An ANP egress rule may also name `domainNames` (experimental,
 *   Allow rules only); which addresses a name resolves to is not in the manifests either, so it is
 *   ignored in the same way (a `Deny` or `Pass` rule with one is `k8s/bad-policy`).
 * - `ports` missing: every port and protocol; otherwise 1–100 entries, each exactly one of
 *   `portNumber {protocol (default TCP), port}`, `namedPort` (resolved against the destination
 *   pod's container ports, of any protocol) or `portRange {protocol, start, end}`, `start <= end`.
 */
import type { Cidr, Diagnostic } from '../core/index.js'
import { isMapping, type YamlDoc, type YamlPath } from '../core/yaml-source.js'
import {
  objectMeta,
  parseLabelSelector,
  SELECT_ALL,
  type KubernetesObject,
  type LabelSelector,
} from './manifests.js'
import { parseK8sCidr, parsePortNumber, parseProtocol } from './netpol.js'

/** What a matching rule does. `Pass` exists only in AdminNetworkPolicy. */
export type AnpAction = 'Allow' | 'Deny' | 'Pass'

/** The pods a policy applies to, or a pod peer: namespaces only, or pods in namespaces. */
export type AnpPods =
  | { readonly kind: 'namespaces'; readonly namespaces: LabelSelector }
  | {
      readonly kind: 'pods'
      readonly namespaceSelector: LabelSelector
      readonly podSelector: LabelSelector
    }

/** A rule peer. */
export type AnpPeer = AnpPods | { readonly kind: 'networks'; readonly blocks: readonly Cidr[] }

/** One port entry. */
export type AnpPort =
  | { readonly kind: 'number'; readonly protocol: number; readonly port: number }
  | { readonly kind: 'named'; readonly name: string }
  | {
      readonly kind: 'range'
      readonly protocol: number
      readonly start: number
      readonly end: number
    }

/** One rule. `ports` is `'all'` when missing. */
export interface AnpRule {
  readonly name: string
  /** 0-based index in `spec.ingress` / `spec.egress`. */
  readonly index: number
  readonly action: AnpAction
  readonly peers: readonly AnpPeer[]
  readonly ports: readonly AnpPort[] | 'all'
}

/** A validated AdminNetworkPolicy or BaselineAdminNetworkPolicy. */
export interface AdminPolicy {
  readonly kind: 'AdminNetworkPolicy' | 'BaselineAdminNetworkPolicy'
  readonly name: string
  /** 0–1000 for an ANP; undefined for the BANP. */
  readonly priority: number | undefined
  readonly subject: AnpPods
  readonly ingress: readonly AnpRule[]
  readonly egress: readonly AnpRule[]
  readonly object: KubernetesObject
}

/**
 * The v1alpha1 `DomainName` pattern (an exact name, or `*.` and a name), with the CRD's `A-z`
 * ranges read as meant (`A-Z`).
 */
const DOMAIN_NAME =
  /^(\*\.)?([a-zA-Z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.)+[a-zA-Z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.?$/

/** Largest ANP priority the v1alpha1 CRD accepts. */
export const MAX_PRIORITY = 1000

function present(o: Record<string, unknown>, k: string): boolean {
  return o[k] !== undefined && o[k] !== null
}

/**
 * Parses a subject or a rule peer; `'ignored'` for a valid `nodes` or (with `allowDomainNames`)
 * `domainNames` peer, undefined on error.
 */
function parsePods(
  doc: YamlDoc,
  path: YamlPath,
  raw: unknown,
  what: string,
  allowNetworks: boolean,
  allowDomainNames = false,
): AnpPeer | 'ignored' | undefined {
  if (!isMapping(raw)) {
    doc.report(
      'k8s/bad-policy',
      `${what}: must be a mapping with namespaces or pods${allowNetworks ? ' or networks' : ''}`,
      path,
    )
    return undefined
  }
  const kinds = [
    'namespaces',
    'pods',
    ...(allowNetworks ? ['networks', 'nodes'] : []),
    ...(allowDomainNames ? ['domainNames'] : []),
  ]
  const keys = kinds.filter((k) => present(raw, k))
  const unknown = Object.keys(raw).filter((k) => !kinds.includes(k) && present(raw, k))
  if (keys.length !== 1 || unknown.length > 0) {
    doc.report(
      'k8s/bad-policy',
      `${what}: exactly one of ${kinds.join(', ')} must be set (found ${[...keys, ...unknown].join(', ') || 'none'})`,
      path,
    )
    return undefined
  }
  const k = keys[0] as string
  if (k === 'namespaces') {
    const s = parseLabelSelector(doc, [...path, 'namespaces'], raw['namespaces'], what)
    return s ? { kind: 'namespaces', namespaces: s } : undefined
  }
  if (k === 'pods') {
    const p = raw['pods']
    if (!isMapping(p)) {
      doc.report(
        'k8s/bad-policy',
        `${what}: pods must be a mapping with namespaceSelector and podSelector`,
        [...path, 'pods'],
      )
      return undefined
    }
    // a missing selector is the empty one (every namespace / every pod), as the Go types read it
    const ns = present(p, 'namespaceSelector')
      ? parseLabelSelector(
          doc,
          [...path, 'pods', 'namespaceSelector'],
          p['namespaceSelector'],
          what,
        )
      : SELECT_ALL
    const ps = present(p, 'podSelector')
      ? parseLabelSelector(doc, [...path, 'pods', 'podSelector'], p['podSelector'], what)
      : SELECT_ALL
    return ns && ps ? { kind: 'pods', namespaceSelector: ns, podSelector: ps } : undefined
  }
  if (k === 'domainNames') {
    const names: unknown = raw['domainNames']
    let problem: string | undefined
    if (!Array.isArray(names) || names.length === 0 || names.length > 25)
      problem = 'must be a sequence of 1–25 domain names'
    else {
      const bad = (names as unknown[]).find((n) => typeof n !== 'string' || !DOMAIN_NAME.test(n))
      if (bad !== undefined)
        problem = `entry ${JSON.stringify(bad)} is no domain name (example.com, *.example.com)`
    }
    if (problem !== undefined) {
      doc.report('k8s/bad-policy', `${what}: domainNames ${problem}`, [...path, 'domainNames'])
      return undefined
    }
    doc.report(
      'k8s/unsupported-field',
      `${what}: domainNames peer ignored (which addresses a name resolves to is not in the manifests): the rule allows nothing to those names here`,
      [...path, 'domainNames'],
      { severity: 'warning' },
    )
    return 'ignored'
  }
  if (k === 'nodes') {
    if (!parseLabelSelector(doc, [...path, 'nodes'], raw['nodes'], what)) return undefined
    doc.report(
      'k8s/unsupported-field',
      `${what}: nodes peer ignored (node addresses are not in the manifests), as np-guard ignores it`,
      [...path, 'nodes'],
      { severity: 'warning' },
    )
    return 'ignored'
  }
  const nets = raw['networks']
  if (!Array.isArray(nets) || nets.length === 0 || nets.length > 25) {
    doc.report('k8s/bad-policy', `${what}: networks must be a sequence of 1–25 CIDR blocks`, [
      ...path,
      'networks',
    ])
    return undefined
  }
  const blocks = nets.map((n, i) => parseK8sCidr(doc, [...path, 'networks', i], n, what, 'refuse'))
  if (blocks.some((b) => b === undefined)) return undefined
  return { kind: 'networks', blocks: blocks as Cidr[] }
}

function parsePorts(
  doc: YamlDoc,
  path: YamlPath,
  raw: unknown,
  what: string,
): AnpPort[] | 'all' | undefined {
  if (raw === undefined || raw === null) return 'all'
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > 100) {
    doc.report('k8s/bad-policy', `${what}: ports must be a sequence of 1–100 entries`, path)
    return undefined
  }
  const out: AnpPort[] = []
  let ok = true as boolean
  raw.forEach((e, i) => {
    const p = [...path, i]
    const keys = isMapping(e)
      ? ['portNumber', 'namedPort', 'portRange'].filter((k) => present(e, k))
      : []
    if (!isMapping(e) || keys.length !== 1) {
      doc.report(
        'k8s/bad-port',
        `${what}: a port entry needs exactly one of portNumber, namedPort, portRange`,
        p,
      )
      ok = false
      return
    }
    if (keys[0] === 'namedPort') {
      const n = e['namedPort']
      if (typeof n !== 'string' || n === '') {
        doc.report('k8s/bad-port', `${what}: namedPort must be a port name`, [...p, 'namedPort'])
        ok = false
      } else out.push({ kind: 'named', name: n })
      return
    }
    const key = keys[0] as string
    const v = e[key]
    if (!isMapping(v)) {
      doc.report('k8s/bad-port', `${what}: ${key} must be a mapping`, [...p, key])
      ok = false
      return
    }
    const protocol = parseProtocol(doc, [...p, key, 'protocol'], v['protocol'], what)
    if (key === 'portNumber') {
      const port = parsePortNumber(doc, [...p, key, 'port'], v['port'], what)
      if (protocol === undefined || port === undefined) ok = false
      else out.push({ kind: 'number', protocol, port })
      return
    }
    const start = parsePortNumber(doc, [...p, key, 'start'], v['start'], what)
    const end = parsePortNumber(doc, [...p, key, 'end'], v['end'], what)
    if (protocol === undefined || start === undefined || end === undefined) {
      ok = false
      return
    }
    if (start > end) {
      doc.report('k8s/bad-port', `${what}: portRange start ${start} is greater than end ${end}`, [
        ...p,
        key,
      ])
      ok = false
      return
    }
    out.push({ kind: 'range', protocol, start, end })
  })
  return ok ? out : undefined
}

function parseRules(
  doc: YamlDoc,
  path: YamlPath,
  raw: unknown,
  direction: 'ingress' | 'egress',
  baseline: boolean,
  what: string,
): AnpRule[] | undefined {
  if (raw === undefined || raw === null) return []
  if (!Array.isArray(raw) || raw.length > 100) {
    doc.report(
      'k8s/bad-policy',
      `${what}: ${direction} must be a sequence of at most 100 rules`,
      path,
    )
    return undefined
  }
  const peerKey = direction === 'ingress' ? 'from' : 'to'
  const out: AnpRule[] = []
  let ok = true as boolean
  raw.forEach((r, index) => {
    const rp = [...path, index]
    if (!isMapping(r)) {
      doc.report('k8s/bad-policy', `${what}: a rule must be a mapping`, rp)
      ok = false
      return
    }
    const name = typeof r['name'] === 'string' ? r['name'] : `${direction}[${index}]`
    const rwhat = `${what} rule ${JSON.stringify(name)}`
    const action = r['action']
    const actions = baseline ? ['Allow', 'Deny'] : ['Allow', 'Deny', 'Pass']
    if (typeof action !== 'string' || !actions.includes(action)) {
      doc.report('k8s/bad-policy', `${rwhat}: action must be one of ${actions.join(', ')}`, [
        ...rp,
        'action',
      ])
      ok = false
    }
    const peersRaw = r[peerKey]
    let peers: AnpPeer[] = []
    if (!Array.isArray(peersRaw) || peersRaw.length === 0 || peersRaw.length > 100) {
      doc.report(
        'k8s/bad-policy',
        `${rwhat}: "${peerKey}" must list 1–100 peers`,
        Array.isArray(peersRaw) ? [...rp, peerKey] : rp,
      )
      ok = false
    } else {
      const domains = !baseline && direction === 'egress'
      const ps = peersRaw.map((p, i) =>
        parsePods(doc, [...rp, peerKey, i], p, rwhat, direction === 'egress', domains),
      )
      // "DomainNames is only supported for ALLOW rules" (v1alpha1 AdminNetworkPolicyEgressPeer)
      const d = peersRaw.findIndex((p) => isMapping(p) && present(p, 'domainNames'))
      if (domains && d >= 0 && typeof action === 'string' && action !== 'Allow') {
        doc.report(
          'k8s/bad-policy',
          `${rwhat}: a domainNames peer is only supported in Allow rules, not ${action}`,
          [...rp, peerKey, d, 'domainNames'],
        )
        ok = false
      }
      if (ps.some((p) => p === undefined)) ok = false
      peers = ps.filter((p): p is AnpPeer => p !== undefined && p !== 'ignored')
    }
    const ports = parsePorts(doc, [...rp, 'ports'], r['ports'], rwhat)
    if (ports === undefined) ok = false
    // the CRD's rule on egress rules (ANP and BANP, v1alpha1; networks and nodes exist only in its
    // experimental channel, which carries the rule): "!(self.to.exists(peer, has(peer.networks) ||
    // has(peer.nodes) || has(peer.domainNames)) && has(self.ports) && self.ports.exists(port,
    // has(port.namedPort)))"
    if (direction === 'egress' && Array.isArray(peersRaw) && Array.isArray(r['ports'])) {
      const addressPeer = peersRaw.findIndex(
        (p) => isMapping(p) && ['networks', 'nodes', 'domainNames'].some((k) => present(p, k)),
      )
      const named = (r['ports'] as unknown[]).findIndex(
        (e) => isMapping(e) && present(e, 'namedPort'),
      )
      const peer = peersRaw[addressPeer] as Record<string, unknown> | undefined
      const kind = ['networks', 'nodes', 'domainNames'].find((k) => peer && present(peer, k))
      if (peer && kind !== undefined && named >= 0) {
        // a warning, not an error: the rule is analysed as np-guard analyses it (its case
        // anp_test_named_ports_multiple_peers has one), the named port matching no address
        doc.report(
          'k8s/named-port-address-peer',
          `${rwhat}: a ${kind} peer with a namedPort, which its CRD refuses ("networks/nodes/domainNames peer cannot be set with namedPorts since there are no namedPorts for networks/nodes/domainNames"); analysed as np-guard does: the named port matches no address`,
          [...rp, 'ports', named, 'namedPort'],
          {
            severity: 'warning',
            related: [doc.loc([...rp, peerKey, addressPeer, kind])],
            hint: 'name the port by number, or put the address peer in a rule of its own',
          },
        )
      }
    }
    if (ok)
      out.push({
        name,
        index,
        action: action as AnpAction,
        peers,
        ports: ports as AnpPort[] | 'all',
      })
  })
  return ok ? out : undefined
}

/**
 * Parses and validates an AdminNetworkPolicy or BaselineAdminNetworkPolicy. Problems are located
 * diagnostics naming the policy: `k8s/priority-out-of-range`, `k8s/bad-policy` (subject, rules,
 * actions; a BANP not named `default`), `k8s/bad-selector`, `k8s/bad-cidr`, `k8s/bad-port`,
 * `k8s/unknown-protocol`; a `nodes` or `domainNames` peer is a `k8s/unsupported-field` warning
 * and is ignored.
 * @returns the policy, or undefined when it has any error.
 */
export function parseAdminPolicy(
  obj: KubernetesObject,
  sink: Diagnostic[],
): AdminPolicy | undefined {
  const doc = obj.doc
  const before = sink.length
  const kind = obj.value['kind'] as AdminPolicy['kind']
  const baseline = kind === 'BaselineAdminNetworkPolicy'
  const p = (rel: YamlPath): YamlPath => [...obj.path, ...rel]
  const { name } = objectMeta(obj)
  if (name === undefined) {
    doc.report('k8s/bad-policy', `${kind} without metadata.name`, p(['metadata']))
    return undefined
  }
  const what = `${kind} ${name}`
  if (baseline && name !== 'default') {
    doc.report(
      'k8s/bad-policy',
      `${what}: a BaselineAdminNetworkPolicy must be named "default"`,
      p(['metadata', 'name']),
    )
  }
  const spec = obj.value['spec']
  if (!isMapping(spec)) {
    doc.report('k8s/bad-policy', `${what}: missing spec`, p(baseline ? [] : ['spec']))
    return undefined
  }
  let priority: number | undefined
  if (!baseline) {
    const pr = spec['priority']
    if (typeof pr !== 'number' || !Number.isInteger(pr) || pr < 0 || pr > MAX_PRIORITY) {
      doc.report(
        'k8s/priority-out-of-range',
        `${what}: priority ${JSON.stringify(pr ?? null)} must be a whole number 0–${MAX_PRIORITY}`,
        present(spec, 'priority') ? p(['spec', 'priority']) : p(['spec']),
      )
    } else priority = pr
  }
  const subject = present(spec, 'subject')
    ? (parsePods(doc, p(['spec', 'subject']), spec['subject'], `${what} subject`, false) as
        AnpPods | undefined)
    : (doc.report('k8s/bad-policy', `${what}: missing spec.subject`, p(['spec'])), undefined)
  const ingress = parseRules(
    doc,
    p(['spec', 'ingress']),
    spec['ingress'],
    'ingress',
    baseline,
    what,
  )
  const egress = parseRules(doc, p(['spec', 'egress']), spec['egress'], 'egress', baseline, what)
  if (sink.slice(before).some((d) => d.severity !== 'warning')) return undefined
  if (!subject || !ingress || !egress) return undefined
  return { kind, name, priority, subject, ingress, egress, object: obj }
}
