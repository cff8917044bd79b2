/**
 * @module NetworkPolicy (networking.k8s.io/v1): parsing with located validation, and the
 * services one policy rule allows towards a destination pod.
 *
 * @remarks Semantics: Kubernetes API reference, NetworkPolicy v1
 * (https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/) and
 * https://kubernetes.io/docs/concepts/services-networking/network-policies/:
 *
 * - `spec.podSelector` selects pods of the policy's namespace; `{}` (or missing) selects all.
 * - `policyTypes` missing: `Ingress`, plus `Egress` when `spec.egress` has at least one rule.
 * - A policy of a type isolates the selected pods in that direction; traffic is allowed when
 *   some rule of some policy selecting the pod allows it (rules are additive).
 * - `ingress`/`egress` missing or `[]` with the type present: nothing allowed by this policy.
 * - A rule's `from`/`to` missing or `[]`: every peer (every pod and every address). `ports`
 *   missing or `[]`: every port and protocol.
 * - A peer: `podSelector` alone — pods of the policy's namespace; `namespaceSelector` alone —
 *   every pod of the selected namespaces; both — the selected pods of the selected namespaces;
 *   `ipBlock` (alone) — addresses in `cidr` and not in any `except` (cluster-external
 *   addresses: pods are matched by selectors only, as np-guard does).
 * - A port: `protocol` TCP (default), UDP or SCTP; `port` a number, or a name resolved against
 *   the destination pod's container ports of that protocol; missing = every port of the
 *   protocol; `endPort` (numbered `port` only, `endPort >= port`) makes a range.
 */
import {
  cidrContains,
  cidrCovers,
  formatIp,
  parseCidr,
  parseIp,
  type Cidr,
  type Diagnostic,
} from '../core/index.js'
import { isMapping, type YamlDoc, type YamlPath } from '../core/yaml-source.js'
import {
  k8sProtocol,
  parseLabelSelector,
  objectMeta,
  SELECT_ALL,
  type KubernetesObject,
  type LabelSelector,
} from './manifests.js'

/** An IP block: addresses in `cidr` minus every `except` block. */
export interface IpBlock {
  readonly cidr: Cidr
  readonly except: readonly Cidr[]
}

/**
 * A NetworkPolicy peer. `namespaceSelector` undefined means "the policy's namespace";
 * `podSelector` undefined means every pod (of the selected namespaces).
 */
export type NetpolPeer =
  | {
      readonly kind: 'pods'
      readonly podSelector: LabelSelector
      readonly namespaceSelector: LabelSelector | undefined
    }
  | { readonly kind: 'ipBlock'; readonly block: IpBlock }

/** A port entry: `port` is a number, a container port name, or undefined (every port). */
export interface NetpolPort {
  readonly protocol: number
  readonly port: number | string | undefined
  readonly endPort: number | undefined
}

/** One ingress or egress rule. `peers`/`ports` `'all'` when missing or empty. */
export interface NetpolRule {
  /** 0-based index in `spec.ingress` / `spec.egress`. */
  readonly index: number
  readonly peers: readonly NetpolPeer[] | 'all'
  readonly ports: readonly NetpolPort[] | 'all'
}

/** A validated NetworkPolicy. `ingress`/`egress` undefined when the policy does not have that type. */
export interface NetworkPolicy {
  readonly name: string
  readonly namespace: string
  readonly podSelector: LabelSelector
  readonly ingress: readonly NetpolRule[] | undefined
  readonly egress: readonly NetpolRule[] | undefined
  readonly object: KubernetesObject
}

/**
 * How {@link parseK8sCidr} takes an IPv4 address written in IPv6 notation (IPv4-mapped,
 * `::ffff:10.0.0.0/104`): `'warn'` reads it as the API server reads a NetworkPolicy ipBlock (Go's
 * `net.ParseCIDR`: the IPv4 block `10.0.0.0/8`) with a `k8s/cidr-ipv4-mapped` warning; `'refuse'`
 * is the AdminNetworkPolicy `networks` CRD rule `self.contains(':') != self.contains('.')` ("IPv4
 * address embedded in IPv6 addresses are not supported"), a `k8s/bad-cidr` error.
 */
export type Ipv4MappedBlocks = 'warn' | 'refuse'

/** The address part of a block is an IPv4-mapped IPv6 address (`::ffff:10.0.0.0`, `::ffff:a00:0`). */
function isIpv4Mapped(raw: string): boolean {
  const addr = raw.trim().split('/')[0] ?? ''
  return addr.includes(':') && parseIp(addr)?.family === 4
}

/**
 * An IPv4-mapped address with a prefix length under 96 (`::ffff:10.0.0.0/8`), which Bulkhead's
 * `parseCidr` refuses: Go's `net.ParseCIDR` masks the IPv6 address, so its block is IPv6 (`::/8`),
 * holding no IPv4 address. Undefined when `raw` is not of that shape.
 */
function shortMappedBlock(raw: string): Cidr | undefined {
  const [addr = '', len = ''] = raw.trim().split('/')
  const ip = parseIp(addr)
  if (!ip || ip.family !== 4 || !addr.includes(':') || !/^\d{1,2}$/.test(len)) return undefined
  const prefix = Number(len)
  if (prefix >= 96) return undefined
  const value = (0xffffn << 32n) | ip.value
  const mask = ((1n << BigInt(prefix)) - 1n) << BigInt(128 - prefix)
  const c = parseCidr(`${formatIp({ family: 6, value: value & mask })}/${prefix}`)
  return typeof c === 'string' ? undefined : c
}

/**
 * The prefix length as written, which is what Kubernetes compares (Go's `IPNet.Mask.Size()`): 104
 * for `::ffff:10.0.0.0/104` although the block read is `10.0.0.0/8`.
 */
function writtenPrefixLength(raw: string): number {
  return Number(raw.trim().split('/')[1])
}

/**
 * Parses a CIDR block as the API server and np-guard read it: host bits that are set are cleared
 * (`10.0.0.1/8` is `10.0.0.0/8`), with a `k8s/cidr-host-bits` warning. Kubernetes validates an
 * ipBlock with `ParseCIDRSloppy`, which accepts such blocks (the NetworkPolicy API reference long
 * gave `"192.168.1.1/24"` as a valid example); network-policy-api asks implementations to parse
 * ANP `networks` with Go's `net.ParseCIDR`, which masks them; np-guard reads both that way.
 * An IPv4-mapped IPv6 block is taken as `ipv4Mapped` says ({@link Ipv4MappedBlocks}): with a
 * prefix length of 96 or more it is the IPv4 block it maps (`::ffff:10.0.0.0/104` is
 * `10.0.0.0/8`), with less an IPv6 block (`::ffff:10.0.0.0/8` is `::/8`, with host bits set), as
 * Go reads both. A malformed block, or an address without a prefix length, is `k8s/bad-cidr`.
 * @returns the masked block, or undefined on `k8s/bad-cidr`.
 */
export function parseK8sCidr(
  doc: YamlDoc,
  path: YamlPath,
  raw: unknown,
  what: string,
  ipv4Mapped: Ipv4MappedBlocks = 'warn',
): Cidr | undefined {
  if (
    ipv4Mapped === 'refuse' &&
    typeof raw === 'string' &&
    raw.includes(':') &&
    raw.includes('.')
  ) {
    doc.report(
      'k8s/bad-cidr',
      `${what}: "${raw}" writes an IPv4 address in IPv6 notation, which the AdminNetworkPolicy CRD refuses ("IPv4 address embedded in IPv6 addresses are not supported"); write the IPv4 block`,
      path,
    )
    return undefined
  }
  let c =
    typeof raw === 'string' ? parseCidr(raw, true) : `${JSON.stringify(raw)} is not a CIDR block`
  if (typeof c === 'string' && typeof raw === 'string') c = shortMappedBlock(raw) ?? c
  if (typeof c === 'string') {
    doc.report('k8s/bad-cidr', `${what}: ${c}`, path)
    return undefined
  }
  if (typeof raw === 'string' && !raw.includes('/')) {
    doc.report('k8s/bad-cidr', `${what}: "${raw}" has no prefix length; write ${c.text}`, path)
    return undefined
  }
  if (typeof raw === 'string' && isIpv4Mapped(raw))
    doc.report(
      'k8s/cidr-ipv4-mapped',
      `${what}: "${raw.trim()}" is an IPv4-mapped IPv6 block, read as ${c.text} as the API server reads it (it warns that such a value "will be considered invalid in a future Kubernetes release", and refuses it under the StrictIPCIDRValidation feature gate); write ${c.text}`,
      path,
      { severity: 'warning' },
    )
  if (typeof raw === 'string' && typeof parseCidr(raw) === 'string')
    doc.report(
      'k8s/cidr-host-bits',
      `${what}: "${raw.trim()}" has host bits set; read as ${c.text}, as Kubernetes does`,
      path,
      { severity: 'warning' },
    )
  return c
}

/** Parses a port number 1–65535; `k8s/bad-port` otherwise. */
export function parsePortNumber(
  doc: YamlDoc,
  path: YamlPath,
  raw: unknown,
  what: string,
): number | undefined {
  if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 1 && raw <= 65535) return raw
  doc.report(
    'k8s/bad-port',
    `${what}: port ${JSON.stringify(raw)} must be a whole number 1–65535`,
    path,
  )
  return undefined
}

/** Parses `TCP`/`UDP`/`SCTP` (missing: TCP); `k8s/unknown-protocol` otherwise. */
export function parseProtocol(
  doc: YamlDoc,
  path: YamlPath,
  raw: unknown,
  what: string,
): number | undefined {
  if (raw === undefined || raw === null) return 6
  const p = typeof raw === 'string' ? k8sProtocol(raw) : undefined
  if (p === undefined)
    doc.report(
      'k8s/unknown-protocol',
      `${what}: unknown protocol ${JSON.stringify(raw)}; use TCP, UDP or SCTP`,
      path,
    )
  return p
}

function parsePeer(
  doc: YamlDoc,
  path: YamlPath,
  raw: unknown,
  what: string,
): NetpolPeer | undefined {
  if (!isMapping(raw)) {
    doc.report('k8s/bad-policy', `${what}: a peer must be a mapping`, path)
    return undefined
  }
  const has = (k: string): boolean => raw[k] !== undefined && raw[k] !== null
  if (has('ipBlock')) {
    if (has('podSelector') || has('namespaceSelector')) {
      doc.report(
        'k8s/bad-policy',
        `${what}: ipBlock may not be combined with podSelector or namespaceSelector`,
        path,
      )
      return undefined
    }
    const ib = raw['ipBlock']
    if (!isMapping(ib)) {
      doc.report('k8s/bad-policy', `${what}: ipBlock must be a mapping with cidr`, [
        ...path,
        'ipBlock',
      ])
      return undefined
    }
    const cidr = parseK8sCidr(doc, [...path, 'ipBlock', 'cidr'], ib['cidr'], what)
    if (!cidr) return undefined
    const except: Cidr[] = []
    const ex = ib['except'] ?? []
    if (!Array.isArray(ex)) {
      doc.report('k8s/bad-policy', `${what}: except must be a sequence of CIDR blocks`, [
        ...path,
        'ipBlock',
        'except',
      ])
      return undefined
    }
    let ok = true as boolean
    ex.forEach((e, i) => {
      const p = [...path, 'ipBlock', 'except', i]
      const c = parseK8sCidr(doc, p, e, what)
      if (!c) ok = false
      // the API server's check (ValidateIPBlock): the except's first address is in the cidr and
      // its prefix length, as written, is longer; so an except equal to the cidr is refused, and
      // so is `10.1.0.0/16` in `::ffff:10.0.0.0/104` (16 < 104)
      else if (
        c.family !== cidr.family ||
        !cidrContains(cidr, { family: c.family, value: c.base }) ||
        writtenPrefixLength(String(ib['cidr'])) >= writtenPrefixLength(String(e))
      ) {
        doc.report(
          'k8s/except-outside-cidr',
          `${what}: except ${c.text} is not a strict subset of cidr ${cidr.text}${c.text === cidr.text ? ' (it is the whole block)' : cidrCovers(cidr, c) ? ` (the prefix lengths are compared as written: ${String(writtenPrefixLength(String(e)))} is not longer than ${String(writtenPrefixLength(String(ib['cidr'])))})` : ''}, as the API server requires`,
          p,
        )
        ok = false
      }
      // an IPv4-mapped except the API server lets through may hold the whole cidr (`::ffff:0.0.0.0/96`
      // in `0.0.0.0/1`): it removes the cidr
      else except.push(cidrCovers(cidr, c) ? c : cidr)
    })
    return ok ? { kind: 'ipBlock', block: { cidr, except } } : undefined
  }
  if (!has('podSelector') && !has('namespaceSelector')) {
    doc.report(
      'k8s/bad-policy',
      `${what}: a peer needs podSelector, namespaceSelector or ipBlock`,
      path,
    )
    return undefined
  }
  const ps = has('podSelector')
    ? parseLabelSelector(doc, [...path, 'podSelector'], raw['podSelector'], what)
    : SELECT_ALL
  const ns = has('namespaceSelector')
    ? parseLabelSelector(doc, [...path, 'namespaceSelector'], raw['namespaceSelector'], what)
    : undefined
  if (!ps || (has('namespaceSelector') && !ns)) return undefined
  return { kind: 'pods', podSelector: ps, namespaceSelector: ns }
}

function parsePort(
  doc: YamlDoc,
  path: YamlPath,
  raw: unknown,
  what: string,
): NetpolPort | undefined {
  if (!isMapping(raw)) {
    doc.report('k8s/bad-policy', `${what}: a port entry must be a mapping`, path)
    return undefined
  }
  const protocol = parseProtocol(doc, [...path, 'protocol'], raw['protocol'], what)
  if (protocol === undefined) return undefined
  const p = raw['port']
  const e = raw['endPort']
  let port: number | string | undefined
  if (p === undefined || p === null) port = undefined
  else if (typeof p === 'string' && !/^\d+$/.test(p)) {
    if (!/^[a-z0-9](?:[-a-z0-9]{0,13}[a-z0-9])?$/.test(p) || !/[a-z]/.test(p) || p.includes('--')) {
      doc.report(
        'k8s/bad-port',
        `${what}: ${JSON.stringify(p)} is not a valid port name (IANA_SVC_NAME: at most 15 lowercase letters, digits and "-")`,
        [...path, 'port'],
      )
      return undefined
    }
    port = p
  } else {
    port = parsePortNumber(doc, [...path, 'port'], typeof p === 'string' ? Number(p) : p, what)
    if (port === undefined) return undefined
  }
  let endPort: number | undefined
  if (e !== undefined && e !== null) {
    if (typeof port !== 'number') {
      doc.report('k8s/bad-port', `${what}: endPort needs a numbered port`, [...path, 'endPort'])
      return undefined
    }
    endPort = parsePortNumber(doc, [...path, 'endPort'], e, what)
    if (endPort === undefined) return undefined
    if (endPort < port) {
      doc.report('k8s/bad-port', `${what}: endPort ${endPort} is less than port ${port}`, [
        ...path,
        'endPort',
      ])
      return undefined
    }
  }
  return { protocol, port, endPort }
}

function parseRules(
  doc: YamlDoc,
  path: YamlPath,
  raw: unknown,
  peerKey: 'from' | 'to',
  what: string,
): NetpolRule[] | undefined {
  if (raw === undefined || raw === null) return []
  if (!Array.isArray(raw)) {
    doc.report('k8s/bad-policy', `${what}: must be a sequence of rules`, path)
    return undefined
  }
  const out: NetpolRule[] = []
  let ok = true as boolean
  raw.forEach((r, index) => {
    const rp = [...path, index]
    if (r === null) r = {}
    if (!isMapping(r)) {
      doc.report('k8s/bad-policy', `${what}: a rule must be a mapping`, rp)
      ok = false
      return
    }
    const peersRaw = r[peerKey]
    const portsRaw = r['ports']
    let peers: NetpolPeer[] | 'all' = 'all'
    if (Array.isArray(peersRaw) && peersRaw.length > 0) {
      const ps = peersRaw.map((p, i) => parsePeer(doc, [...rp, peerKey, i], p, what))
      if (ps.some((p) => p === undefined)) ok = false
      peers = ps.filter((p): p is NetpolPeer => p !== undefined)
    } else if (peersRaw !== undefined && peersRaw !== null && !Array.isArray(peersRaw)) {
      doc.report('k8s/bad-policy', `${what}: "${peerKey}" must be a sequence of peers`, [
        ...rp,
        peerKey,
      ])
      ok = false
    }
    let ports: NetpolPort[] | 'all' = 'all'
    if (Array.isArray(portsRaw) && portsRaw.length > 0) {
      const ps = portsRaw.map((p, i) => parsePort(doc, [...rp, 'ports', i], p, what))
      if (ps.some((p) => p === undefined)) ok = false
      ports = ps.filter((p): p is NetpolPort => p !== undefined)
    } else if (portsRaw !== undefined && portsRaw !== null && !Array.isArray(portsRaw)) {
      doc.report('k8s/bad-policy', `${what}: "ports" must be a sequence`, [...rp, 'ports'])
      ok = false
    }
    out.push({ index, peers, ports })
  })
  return ok ? out : undefined
}

/**
 * Parses and validates one NetworkPolicy object. Every problem is a located diagnostic naming
 * the policy (`NetworkPolicy ns/name: ...`), codes `k8s/bad-policy`, `k8s/bad-selector`,
 * `k8s/bad-cidr`, `k8s/except-outside-cidr`, `k8s/unknown-protocol`, `k8s/bad-port`.
 * @returns the policy, or undefined when it has any error (a policy is never half-read).
 */
export function parseNetworkPolicy(
  obj: KubernetesObject,
  sink: Diagnostic[],
): NetworkPolicy | undefined {
  const doc = obj.doc
  const before = sink.length
  const { name, namespace } = objectMeta(obj)
  const p = (rel: YamlPath): YamlPath => [...obj.path, ...rel]
  if (name === undefined) {
    doc.report('k8s/bad-policy', 'NetworkPolicy without metadata.name', p(['metadata']))
    return undefined
  }
  const what = `NetworkPolicy ${namespace}/${name}`
  const spec = obj.value['spec']
  if (spec !== undefined && spec !== null && !isMapping(spec)) {
    doc.report('k8s/bad-policy', `${what}: spec must be a mapping`, p(['spec']))
    return undefined
  }
  const s = isMapping(spec) ? spec : {}
  const psRaw = s['podSelector']
  const podSelector =
    psRaw === undefined || psRaw === null
      ? SELECT_ALL
      : parseLabelSelector(doc, p(['spec', 'podSelector']), psRaw, what)
  const ingressRules = parseRules(doc, p(['spec', 'ingress']), s['ingress'], 'from', what)
  const egressRules = parseRules(doc, p(['spec', 'egress']), s['egress'], 'to', what)
  let types: string[]
  const ptRaw = s['policyTypes']
  if (ptRaw === undefined || ptRaw === null || (Array.isArray(ptRaw) && ptRaw.length === 0)) {
    types = ['Ingress', ...(Array.isArray(s['egress']) && s['egress'].length > 0 ? ['Egress'] : [])]
  } else if (!Array.isArray(ptRaw) || ptRaw.some((t) => t !== 'Ingress' && t !== 'Egress')) {
    doc.report(
      'k8s/bad-policy',
      `${what}: policyTypes may hold only Ingress and Egress`,
      p(['spec', 'policyTypes']),
    )
    return undefined
  } else types = ptRaw as string[]
  if (!podSelector || !ingressRules || !egressRules || sink.length > before) {
    // any error above (warnings are not produced here)
    if (sink.slice(before).some((d) => d.severity !== 'warning')) return undefined
  }
  if (!podSelector || !ingressRules || !egressRules) return undefined
  return {
    name,
    namespace,
    podSelector,
    ingress: types.includes('Ingress') ? ingressRules : undefined,
    egress: types.includes('Egress') ? egressRules : undefined,
    object: obj,
  }
}
