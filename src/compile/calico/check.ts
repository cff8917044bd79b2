/**
 * @module A small evaluator of the Calico policies this compiler emits, from Calico's documented
 * semantics, used to check the compiler against the model's verdicts.
 *
 * At one endpoint and direction: the policies that select the endpoint (namespaced ones in its
 * namespace, global ones with the label `projectcalico.org/namespace` added) and list the
 * direction in `types` (when absent, Calico's default: Egress for egress rules alone, both for
 * both, else Ingress); none → allowed (the default profile). Staged kinds
 * (StagedNetworkPolicy, StagedGlobalNetworkPolicy) only report what they would do and never
 * take part: this evaluator answers what is enforced. Otherwise the policies are taken
 * by ascending `order` (none: last), then name, and their rules in turn; the first rule that
 * matches with action Allow or Deny decides, Log goes on, Pass skips to the profiles (which
 * allow); no decision → denied (end of tier). A rule matches on `protocol`, `notProtocol`,
 * `ipVersion`, `icmp.type`, destination `ports`/`notPorts` and its entity rules (`nets`,
 * `notNets`, `selector` scoped to the policy's namespace in a NetworkPolicy unless a
 * `namespaceSelector` says otherwise, `namespaceSelector` alone: every pod of those
 * namespaces). A flow is allowed when the source pod's egress and the destination pod's
 * ingress both allow it (an address that is no pod is not checked). Selectors in the whole
 * syntax of Calico's selector table ({@link calicoSelectorMatches}). Fields it does not read
 * (tiers, named ports, service accounts, services, HTTP, `notSelector`, `notICMP`, ICMP `code`,
 * source ports) are refused with an error, never misread. Checked against the documents' own
 * examples in test/compile/calico-docs.test.ts.
 *
 * Node addresses ({@link CalicoNodes}, when the caller names them; the model and the compiler
 * know none) are matched by `nets` like any address, as the model takes them, except between a
 * pod and its own host: "Calico allows all connections from processes running on the host to
 * guest workloads on the host", whatever the policies, and a connection from a workload to its
 * local host is, after the workload's egress policy, what Felix's `defaultEndpointToHostAction`
 * makes of it (`Drop` by Felix's default, `Accept` as Calico's manifests and operator install
 * it). The compiler warns of this (`compile/node-addresses`).
 * @remarks https://docs.tigera.io/calico/latest/reference/resources/networkpolicy (rule
 * evaluation, `order`, `types`, Rule, EntityRule, selectors and their scopes, ports),
 * .../globalnetworkpolicy, .../tier; Felix `PolicyByOrder` (nil order last, ties by name);
 * Calico "Protect hosts"
 * (https://docs.tigera.io/calico/latest/network-policy/hosts/protect-hosts: default behaviour of
 * workload to host traffic; Felix `DefaultEndpointToHostAction`).
 */
import {
  cidrContains,
  decidedWithoutRules,
  parseCidr,
  parseIp,
  type Cidr,
  type LabelSet,
} from '../../core/index.js'
import type { CompiledPod, K8sObject } from '../kubernetes/compile.js'

/** One end of a flow: a pod (with its address) or an address no pod holds. */
export interface CheckEndpoint {
  readonly ip: string
  readonly pod?: CompiledPod
}

/**
 * The cluster's node addresses, for asking a cluster checker what its target does with them
 * (the model and the compilers know no node): `addresses` holds every node's addresses, `nodeOf`
 * the address of the node each pod runs on (by workload name; a pod not in it runs on no listed
 * node).
 */
export interface ClusterNodes {
  readonly addresses: ReadonlySet<string>
  readonly nodeOf: ReadonlyMap<string, string>
}

/**
 * {@link ClusterNodes} for the calico checker, with Felix's `defaultEndpointToHostAction`: what
 * becomes of traffic from a pod to its own host once the pod's egress policy allowed it. `Accept`
 * (when absent) is what Calico's manifests and operator set; `Drop` is Felix's own default.
 */
export interface CalicoNodes extends ClusterNodes {
  readonly endpointToHostAction?: 'Accept' | 'Drop'
}

/**
 * True when a Calico selector matches the labels: the whole syntax of Calico's selector table
 * (`all()`, `global()` (no labelled endpoint: false), `k == 'v'`, `k != 'v'`, `has(k)`,
 * `k in {...}`, `k not in {...}`, `contains`, `starts with`, `ends with`, `!`, `&&`, `||`,
 * parentheses; precedence `!` over `&&` over `||`). Values are quoted `'…'` or `"…"` (Calico's
 * tokenizer has no escape).
 * @throws Error for a selector that is not in that syntax.
 * @remarks https://docs.tigera.io/calico/latest/reference/resources/networkpolicy#selectors
 */
export function calicoSelectorMatches(selector: string, labels: LabelSet): boolean {
  const tokens = selector.match(/\s+|'[^']*'|"[^"]*"|&&|\|\||==|!=|[!(){},]|[A-Za-z0-9_./:-]+|./g)
  const toks = (tokens ?? []).filter((t) => !/^\s+$/.test(t))
  let i = 0
  const fail = (): never => {
    throw new Error(`selector not understood: ${selector}`)
  }
  const peek = (): string | undefined => toks[i]
  const take = (want?: string): string => {
    const t = toks[i]
    if (t === undefined || (want !== undefined && t !== want)) return fail()
    i++
    return t
  }
  const str = (): string => {
    const t = take()
    if (!/^'[^']*'$|^"[^"]*"$/.test(t)) fail()
    return t.slice(1, -1)
  }
  const has = (k: string): boolean => Object.hasOwn(labels, k)
  const primary = (): boolean => {
    const t = take()
    if (t === '(') {
      const v = or()
      take(')')
      return v
    }
    if ((t === 'all' || t === 'global' || t === 'has') && peek() === '(') {
      take('(')
      if (t === 'has') {
        const k = take()
        take(')')
        return has(k)
      }
      take(')')
      return t === 'all'
    }
    if (!/^[A-Za-z0-9_./:-]+$/.test(t)) fail()
    const v = has(t) ? labels[t] : undefined
    const op = take()
    if (op === '==') return v === str()
    if (op === '!=') return v !== str()
    if (op === 'contains') return v !== undefined && v.includes(str())
    if ((op === 'starts' || op === 'ends') && take('with') === 'with') {
      const x = str()
      return v !== undefined && (op === 'starts' ? v.startsWith(x) : v.endsWith(x))
    }
    const not = op === 'not'
    if (not) take('in')
    else if (op !== 'in') fail()
    take('{')
    const set: string[] = []
    while (peek() !== '}') {
      set.push(str())
      if (peek() === ',') take(',')
      else if (peek() !== '}') fail()
    }
    take('}')
    const inSet = v !== undefined && set.includes(v)
    return not ? !inSet : inSet
  }
  const unary = (): boolean => {
    if (peek() === '!') {
      take('!')
      return !unary()
    }
    return primary()
  }
  const and = (): boolean => {
    let v = unary()
    while (peek() === '&&') {
      take('&&')
      v = unary() && v
    }
    return v
  }
  function or(): boolean {
    let v = and()
    while (peek() === '||') {
      take('||')
      v = and() || v
    }
    return v
  }
  const v = or()
  if (i !== toks.length) fail()
  return v
}

const PROTO: Record<string, number> = { TCP: 6, UDP: 17, SCTP: 132, ICMP: 1, ICMPv6: 58 }

function inNets(ip: string, nets: readonly string[]): boolean {
  const addr = parseIp(ip)
  if (!addr) return false
  return nets.some((n) => cidrContains(parseCidr(n) as Cidr, addr))
}

/** The entity rule fields this checker reads; any other is refused. */
const ENTITY_FIELDS = new Set([
  'nets',
  'notNets',
  'selector',
  'namespaceSelector',
  'ports',
  'notPorts',
])
/** The rule fields this checker reads; any other is refused. */
const RULE_FIELDS = new Set([
  'action',
  'protocol',
  'notProtocol',
  'icmp',
  'ipVersion',
  'source',
  'destination',
  'metadata',
])

/**
 * Whether an entity rule takes the packet's address `peer` (`policyNs`: the namespace of a
 * NetworkPolicy, undefined for a global one). A `selector` or a `namespaceSelector` takes
 * workload endpoints only (pods here); a selector without `namespaceSelector` takes the policy's
 * namespace in a NetworkPolicy and every namespace in a global one, and a `namespaceSelector`
 * without `selector` every pod of the namespaces it selects (selector scopes, EntityRule).
 */
function entityMatches(
  e: Record<string, unknown>,
  peer: CheckEndpoint,
  policyNs: string | undefined,
): boolean {
  for (const k of Object.keys(e))
    if (!ENTITY_FIELDS.has(k)) throw new Error(`calico checker: entity field ${k} is not read`)
  const nets = e['nets'] as string[] | undefined
  const notNets = e['notNets'] as string[] | undefined
  if (nets && !inNets(peer.ip, nets)) return false
  if (notNets && inNets(peer.ip, notNets)) return false
  const sel = e['selector'] as string | undefined
  const nsSel = e['namespaceSelector'] as string | undefined
  if (sel === undefined && nsSel === undefined) return true
  if (!peer.pod) return false
  if (sel !== undefined && !calicoSelectorMatches(sel, peer.pod.labels)) return false
  if (nsSel !== undefined)
    return calicoSelectorMatches(nsSel, { 'projectcalico.org/name': peer.pod.namespace })
  return policyNs === undefined || peer.pod.namespace === policyNs
}

/** Whether a port list (numbers, `"lo:hi"` strings) holds `port`; named ports are refused. */
function inPorts(ports: readonly (number | string)[], port: number): boolean {
  return ports.some((x) => {
    if (typeof x === 'number') return x === port
    const m = /^(\d+)(?::(\d+))?$/.exec(x)
    if (!m) throw new Error(`calico checker: named port ${x} is not read`)
    return port >= Number(m[1]) && port <= Number(m[2] ?? m[1])
  })
}

function ruleMatches(
  r: Record<string, unknown>,
  src: CheckEndpoint,
  dst: CheckEndpoint,
  protocol: number,
  port: number,
  policyNs: string | undefined,
): boolean {
  for (const k of Object.keys(r))
    if (!RULE_FIELDS.has(k)) throw new Error(`calico checker: rule field ${k} is not read`)
  const icmp = r['icmp'] as { type?: number; code?: number } | undefined
  if (icmp?.code !== undefined) throw new Error('calico checker: icmp code is not read')
  const num = (p: unknown): number | undefined =>
    typeof p === 'number' ? p : (PROTO[p as string] ?? Number(p))
  const p = r['protocol']
  if (p !== undefined && num(p) !== protocol) return false
  const np = r['notProtocol']
  if (np !== undefined && num(np) === protocol) return false
  const v = r['ipVersion']
  if (v !== undefined && parseIp(src.ip)?.family !== v) return false
  if (icmp?.type !== undefined && icmp.type !== port) return false
  const dest = (r['destination'] ?? {}) as Record<string, unknown>
  const ports = dest['ports'] as (number | string)[] | undefined
  if (ports && !inPorts(ports, port)) return false
  const notPorts = dest['notPorts'] as (number | string)[] | undefined
  if (notPorts && inPorts(notPorts, port)) return false
  // both entity fields match the packet, whichever end the policy's endpoint is; the flows here
  // carry no source port
  const source = r['source'] as Record<string, unknown> | undefined
  if (source?.['ports'] !== undefined || source?.['notPorts'] !== undefined)
    throw new Error('calico checker: source ports are not read')
  if (source !== undefined && !entityMatches(source, src, policyNs)) return false
  return entityMatches(dest, dst, policyNs)
}

/**
 * The decision at one pod endpoint and direction: `self` the pod's end of the flow (the source
 * for `egress`), `peer` the far end. `nodes`, when given, names the node addresses: ingress
 * from the pod's own host passes whatever the policies, and egress to it that the policies allow
 * then meets `endpointToHostAction` (see the module comment).
 */
export function calicoDirection(
  objects: readonly K8sObject[],
  self: CheckEndpoint & { readonly pod: CompiledPod },
  peer: CheckEndpoint,
  dir: 'ingress' | 'egress',
  protocol: number,
  port: number,
  nodes?: CalicoNodes,
): boolean {
  const ownHost =
    !peer.pod &&
    nodes !== undefined &&
    nodes.addresses.has(peer.ip) &&
    nodes.nodeOf.get(self.pod.workload.name) === peer.ip
  // "Calico allows all connections from processes running on the host to guest workloads on the host"
  if (ownHost && dir === 'ingress') return true
  const allowed = policiesAllow(objects, self, peer, dir, protocol, port)
  // workload to its own host: after the egress policy, Felix's defaultEndpointToHostAction
  if (ownHost && allowed) return (nodes.endpointToHostAction ?? 'Accept') === 'Accept'
  return allowed
}

/** The policy spec fields this checker reads; any other is refused. */
const SPEC_FIELDS = new Set([
  'order',
  'selector',
  'types',
  'ingress',
  'egress',
  'tier',
  'performanceHints',
])

/**
 * A policy's `types`: as written, or Calico's default: Egress when it has egress rules and no
 * ingress rules, both when it has both, else Ingress (NetworkPolicy spec, `types`).
 */
function policyTypes(spec: Record<string, unknown>): readonly string[] {
  const t = spec['types'] as string[] | undefined
  if (t !== undefined) return t
  const ing = nonEmpty(spec['ingress'])
  const eg = nonEmpty(spec['egress'])
  return eg ? (ing ? ['Ingress', 'Egress'] : ['Egress']) : ['Ingress']
}

const nonEmpty = (x: unknown): boolean => Array.isArray(x) && x.length > 0

/**
 * The policies' decision at one pod endpoint and direction ({@link calicoDirection}): the
 * enforced policies selecting it for the direction, by ascending `order` (none: last, as Felix
 * sorts a nil order as infinity), then name; in each, the rules in turn: `Allow` and `Deny`
 * decide, `Log` goes on, `Pass` skips the remaining policies to the endpoint's profiles, which
 * allow (Calico's profile of a Kubernetes namespace); no decision → denied (end of tier).
 * @throws Error for a field this checker does not read (tiers other than `default`, a policy
 *   `namespaceSelector` or `serviceAccountSelector`, rule `http`, `notICMP`, ICMP `code`, entity
 *   `notSelector`, `serviceAccounts`, `services`, named ports, source ports).
 */
function policiesAllow(
  objects: readonly K8sObject[],
  self: CheckEndpoint & { readonly pod: CompiledPod },
  peer: CheckEndpoint,
  dir: 'ingress' | 'egress',
  protocol: number,
  port: number,
): boolean {
  const type = dir === 'ingress' ? 'Ingress' : 'Egress'
  const applying = objects.filter((o) => {
    const spec = o['spec'] as Record<string, unknown>
    const meta = o['metadata'] as { namespace?: string }
    const kind = o['kind'] as string
    if (kind.startsWith('Staged')) return false
    for (const k of Object.keys(spec))
      if (!SPEC_FIELDS.has(k)) throw new Error(`calico checker: spec field ${k} is not read`)
    if (spec['tier'] !== undefined && spec['tier'] !== 'default')
      throw new Error(`calico checker: tier ${JSON.stringify(spec['tier'])} is not read`)
    if (!policyTypes(spec).includes(type)) return false
    const selector = (spec['selector'] as string | undefined) ?? 'all()'
    if (kind.endsWith('GlobalNetworkPolicy'))
      return calicoSelectorMatches(selector, {
        ...self.pod.labels,
        'projectcalico.org/namespace': self.pod.namespace,
      })
    return meta.namespace === self.pod.namespace && calicoSelectorMatches(selector, self.pod.labels)
  })
  if (applying.length === 0) return true
  const key = (o: K8sObject): [number, string] => [
    (o['spec'] as { order?: number }).order ?? Infinity,
    (o['metadata'] as { name: string }).name,
  ]
  applying.sort((a, b) => {
    const [oa, na] = key(a)
    const [ob, nb] = key(b)
    return oa < ob ? -1 : oa > ob ? 1 : na < nb ? -1 : na > nb ? 1 : 0
  })
  const [src, dst] = dir === 'egress' ? [self, peer] : [peer, self]
  for (const o of applying) {
    const ns = (o['kind'] as string).endsWith('GlobalNetworkPolicy')
      ? undefined
      : (o['metadata'] as { namespace?: string }).namespace
    for (const r of ((o['spec'] as Record<string, unknown>)[dir] ?? []) as Record<
      string,
      unknown
    >[]) {
      if (!ruleMatches(r, src, dst, protocol, port, ns)) continue
      const action = r['action']
      if (action === 'Log') continue
      if (action === 'Allow' || action === 'Pass') return true
      if (action === 'Deny') return false
      throw new Error(`calico checker: action ${String(action)} is not read`)
    }
  }
  return false
}

/**
 * Whether the Calico objects allow a flow from `src` to `dst` on protocol/port (see the module
 * comment); `nodes`: the node addresses, when asked about them ({@link CalicoNodes}).
 */
export function calicoAllows(
  objects: readonly K8sObject[],
  src: CheckEndpoint,
  dst: CheckEndpoint,
  protocol: number,
  port: number,
  nodes?: CalicoNodes,
): boolean {
  // an ICMP error reports on a connection: Calico's dataplane (Linux conntrack) accepts it as
  // related before any policy, as the model's `related` verdicts assume that connection
  const s = parseIp(src.ip)
  const d = parseIp(dst.ip)
  if (s && d && decidedWithoutRules(protocol, port, s.family, d.family) === 'related') return true
  const { pod: srcPod } = src
  const { pod: dstPod } = dst
  if (
    srcPod &&
    !calicoDirection(objects, { ...src, pod: srcPod }, dst, 'egress', protocol, port, nodes)
  )
    return false
  if (
    dstPod &&
    !calicoDirection(objects, { ...dst, pod: dstPod }, src, 'ingress', protocol, port, nodes)
  )
    return false
  return true
}
