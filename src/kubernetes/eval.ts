/**
 * @module `k8s eval`: the verdict on one connection (source, destination, protocol and port)
 * with the policies and rules that decided it, per direction.
 *
 * This is the plain reference evaluator: one service at a time, plain loops, no service-set
 * algebra. `test/kubernetes` checks that {@link analyze}'s sets agree with it.
 * @remarks Semantics: as src/kubernetes/connlist.ts (network-policy-api precedence: ANP by
 * priority, first matching rule; then NetworkPolicy; then BANP; then allow).
 */
import { formatIp, parseIp, type IpAddress } from '../core/index.js'
import type { AnpPort } from './anp.js'
import {
  anpPeerMatches,
  anpPodsMatch,
  familiesMeet,
  INGRESS_CONTROLLER_POD,
  netpolPeerMatches,
  primaryIsolated,
  selectingPolicies,
  type Peer,
} from './connlist.js'
import { INGRESS_CONTROLLER } from './ingress.js'
import type { K8sPod } from './manifests.js'
import type { K8sModel, K8sWorkload } from './model.js'
import type { NetpolPort } from './netpol.js'
import { networkLabel } from './udn.js'

/** One step of a decision: a rule that matched, or a layer's default. */
export interface DecisionStep {
  readonly layer:
    | 'AdminNetworkPolicy'
    | 'NetworkPolicy'
    | 'BaselineAdminNetworkPolicy'
    | 'default'
    /** OVN-Kubernetes primary networks keep the two pods apart (./udn.ts): denied, no policy asked. */
    | 'PrimaryNetwork'
    /** The two ends hold no address of one family (`status.podIPs`): denied, no policy asked. */
    | 'AddressFamily'
  /** `name` (ANP, BANP) or `namespace/name` (NetworkPolicy). */
  readonly policy?: string
  /** Rule name (ANP/BANP) or `ingress[i]`/`egress[i]` (NetworkPolicy). */
  readonly rule?: string
  readonly action: 'Allow' | 'Deny' | 'Pass'
  /** Why, in words: e.g. "no NetworkPolicy rule of ns/a, ns/b allows it". */
  readonly detail: string
}

/** The decision of one direction (egress at the source, ingress at the destination). */
export interface DirectionDecision {
  readonly direction: 'ingress' | 'egress'
  /** The pod the direction is judged at, `namespace/name`. */
  readonly pod: string
  readonly allowed: boolean
  /** Matching steps in evaluation order; the last one decided. */
  readonly steps: readonly DecisionStep[]
}

/**
 * One end of the evaluated connection. An address a pod holds is that pod: a `workload` whose
 * `pods` are that one pod, with the `address` it was named by.
 */
export type EvalEndpoint =
  | { readonly kind: 'workload'; readonly workload: K8sWorkload; readonly address?: string }
  | {
      readonly kind: 'ip'
      readonly ip: IpAddress
      readonly text: string
      /** Host-network pods (`namespace/name`) that send from this address too: it is their node's. */
      readonly hostNetworkPods?: readonly string[]
    }
  | { readonly kind: 'ingress-controller' }

/** The verdict on one connection. `egress`/`ingress` absent when that end is an address or the controller. */
export interface K8sVerdict {
  readonly src: string
  readonly dst: string
  readonly protocol: number
  readonly port: number
  readonly allowed: boolean
  /** The pods judged (the first pair allowing it, else the first pair). */
  readonly egress?: DirectionDecision
  readonly ingress?: DirectionDecision
  /** How an end given as an address was read: e.g. "fd00::1 is the address of pod a/web". */
  readonly notes?: readonly string[]
}

/**
 * Whether the destination pod has a container port named `name` that is `protocol`/`port`; an
 * address (`dst` undefined) has no named ports.
 */
function namedPortIs(
  dst: K8sPod | undefined,
  name: string,
  protocol: number,
  port: number,
): boolean {
  return (
    dst !== undefined &&
    dst.ports.some((c) => c.name === name && c.protocol === protocol && c.port === port)
  )
}

function netpolPortMatches(
  ports: readonly NetpolPort[] | 'all',
  dst: K8sPod | undefined,
  protocol: number,
  port: number,
): boolean {
  if (ports === 'all') return true
  return ports.some((p) => {
    if (p.protocol !== protocol) return false
    if (p.port === undefined) return true
    if (typeof p.port === 'number') return port >= p.port && port <= (p.endPort ?? p.port)
    return namedPortIs(dst, p.port, protocol, port)
  })
}

function anpPortMatches(
  ports: readonly AnpPort[] | 'all',
  dst: K8sPod | undefined,
  protocol: number,
  port: number,
): boolean {
  if (ports === 'all') return true
  return ports.some((p) => {
    if (p.kind === 'named') return namedPortIs(dst, p.name, protocol, port)
    if (p.protocol !== protocol) return false
    return p.kind === 'number' ? p.port === port : port >= p.start && port <= p.end
  })
}

/** Decides one direction for one service (see the module comment). */
export function decideDirection(
  model: K8sModel,
  subject: K8sPod,
  other: Peer,
  direction: 'ingress' | 'egress',
  protocol: number,
  port: number,
): DirectionDecision {
  const dst = direction === 'ingress' ? subject : other.kind === 'pod' ? other.pod : undefined
  const steps: DecisionStep[] = []
  const done = (allowed: boolean): DirectionDecision => ({
    direction,
    pod: `${subject.namespace}/${subject.name}`,
    allowed,
    steps,
  })
  anp: for (const ap of model.adminPolicies) {
    if (!anpPodsMatch(model, ap.subject, subject)) continue
    for (const r of ap[direction]) {
      if (!r.peers.some((p) => anpPeerMatches(model, p, other))) continue
      if (!anpPortMatches(r.ports, dst, protocol, port)) continue
      steps.push({
        layer: 'AdminNetworkPolicy',
        policy: ap.name,
        rule: r.name,
        action: r.action,
        detail: `priority ${String(ap.priority)}, ${direction}[${r.index}]`,
      })
      if (r.action === 'Allow') return done(true)
      if (r.action === 'Deny') return done(false)
      break anp
    }
  }
  const nps = selectingPolicies(model, subject, direction)
  if (nps.length > 0) {
    for (const np of nps) {
      for (const r of np[direction] ?? []) {
        if (r.peers !== 'all' && !r.peers.some((p) => netpolPeerMatches(model, np, p, other)))
          continue
        if (!netpolPortMatches(r.ports, dst, protocol, port)) continue
        steps.push({
          layer: 'NetworkPolicy',
          policy: `${np.namespace}/${np.name}`,
          rule: `${direction}[${r.index}]`,
          action: 'Allow',
          detail: 'a rule of a NetworkPolicy selecting the pod allows it',
        })
        return done(true)
      }
    }
    steps.push({
      layer: 'NetworkPolicy',
      action: 'Deny',
      detail: `the pod is isolated for ${direction} by ${nps.map((n) => `${n.namespace}/${n.name}`).join(', ')} and no rule of them allows it`,
    })
    return done(false)
  }
  const banp = model.baselinePolicy
  if (banp && anpPodsMatch(model, banp.subject, subject)) {
    for (const r of banp[direction]) {
      if (!r.peers.some((p) => anpPeerMatches(model, p, other))) continue
      if (!anpPortMatches(r.ports, dst, protocol, port)) continue
      steps.push({
        layer: 'BaselineAdminNetworkPolicy',
        policy: banp.name,
        rule: r.name,
        action: r.action,
        detail: `${direction}[${r.index}]`,
      })
      return done(r.action === 'Allow')
    }
  }
  steps.push({
    layer: 'default',
    action: 'Allow',
    detail: `no policy decides ${direction} for this pod: allowed by default`,
  })
  return done(true)
}

function peersOf(e: EvalEndpoint): Peer[] {
  if (e.kind === 'workload') return e.workload.pods.map((pod) => ({ kind: 'pod', pod }))
  if (e.kind === 'ingress-controller') return [{ kind: 'pod', pod: INGRESS_CONTROLLER_POD }]
  return [
    {
      kind: 'range',
      range: { family: e.ip.family, first: e.ip.value, last: e.ip.value, name: e.text },
    },
  ]
}

/** One end's address families, in words: `pod a/web holds IPv6 only (fd00::1)`, `8.8.8.8 is IPv4`. */
function familiesText(p: Peer): string {
  if (p.kind === 'range') return `${p.range.name} is IPv${String(p.range.family)}`
  const held = p.pod.addresses ?? []
  const families = [...new Set(held.map((a) => `IPv${String(a.family)}`))].join(' and ')
  return `pod ${p.pod.namespace}/${p.pod.name} holds ${families} only (${held.map(formatIp).join(', ')})`
}

/**
 * The decision of a pair of ends with no common address family (one is a pod: two ranges never
 * get here): denied at the source's egress when it is a pod, else at the destination's ingress.
 */
function familyDenied(
  s: Peer,
  d: Peer,
): { egress: DirectionDecision } | { ingress: DirectionDecision } {
  const at = s.kind === 'pod' ? s.pod : d.kind === 'pod' ? d.pod : undefined
  const step: DecisionStep = {
    layer: 'AddressFamily',
    action: 'Deny',
    detail: `${familiesText(s)}, ${familiesText(d)}: no address family in common`,
  }
  const decision = (direction: 'egress' | 'ingress'): DirectionDecision => ({
    direction,
    pod: at ? `${at.namespace}/${at.name}` : '',
    allowed: false,
    steps: [step],
  })
  return s.kind === 'pod' ? { egress: decision('egress') } : { ingress: decision('ingress') }
}

function nameOf(e: EvalEndpoint): string {
  return e.kind === 'workload' ? e.workload.name : e.kind === 'ip' ? e.text : INGRESS_CONTROLLER
}

/**
 * The verdict on `src → dst` for one protocol (6, 17, 132) and port. A workload is allowed when
 * some pair of its pods is; the decisions shown are those of that pair (else of the first pair).
 * Two addresses never connect (`allowed: false`, no decisions); nor do ends with no common address
 * family (an `AddressFamily` step, see `familiesMeet` in ./connlist.ts).
 */
export function evaluateK8s(
  model: K8sModel,
  src: EvalEndpoint,
  dst: EvalEndpoint,
  protocol: number,
  port: number,
): K8sVerdict {
  const notes = [src, dst].flatMap((e) =>
    e.kind === 'workload' && e.address !== undefined
      ? [
          `${e.address} is the address of pod ${e.workload.pods.map((p) => `${p.namespace}/${p.name}`).join(', ')}: judged as that pod (ipBlocks and networks match only addresses outside the cluster's pods)`,
        ]
      : e.kind === 'ip' && e.hostNetworkPods !== undefined
        ? [
            `${e.text} is a node's address, which its host-network ${e.hostNetworkPods.length === 1 ? 'pod' : 'pods'} ${e.hostNetworkPods.join(', ')} ${e.hostNetworkPods.length === 1 ? 'sends' : 'send'} from too: judged as the node's own traffic, an address outside the cluster's pods (ipBlocks and networks match it); name the pod (namespace/pod) to judge its traffic as k8s connlist lists it (policies apply to host-network pods as to others here, as np-guard reads them; Kubernetes leaves that undefined, and most network plugins treat their traffic as the node's)`,
          ]
        : [],
  )
  const base = {
    src: nameOf(src),
    dst: nameOf(dst),
    protocol,
    port,
    ...(notes.length > 0 ? { notes } : {}),
  }
  let first: K8sVerdict | undefined
  for (const s of peersOf(src)) {
    for (const d of peersOf(dst)) {
      if (s.kind === 'range' && d.kind === 'range') return { ...base, allowed: false }
      if (!familiesMeet(s, d)) {
        first ??= { ...base, allowed: false, ...familyDenied(s, d) }
        continue
      }
      if (s.kind === 'pod' && d.kind === 'pod' && primaryIsolated(model, s, d)) {
        const nets = model.primaryNetworks
        const detail = `${s.pod.namespace}/${s.pod.name} is on ${networkLabel(nets.get(s.pod.namespace))}, ${d.pod.namespace}/${d.pod.name} on ${networkLabel(nets.get(d.pod.namespace))}: isolated`
        first ??= {
          ...base,
          allowed: false,
          egress: {
            direction: 'egress',
            pod: `${s.pod.namespace}/${s.pod.name}`,
            allowed: false,
            steps: [{ layer: 'PrimaryNetwork', action: 'Deny', detail }],
          },
        }
        continue
      }
      const egress =
        s.kind === 'pod' && src.kind !== 'ingress-controller'
          ? decideDirection(model, s.pod, d, 'egress', protocol, port)
          : undefined
      const ingress =
        d.kind === 'pod' ? decideDirection(model, d.pod, s, 'ingress', protocol, port) : undefined
      const allowed = (egress?.allowed ?? true) && (ingress?.allowed ?? true)
      const v: K8sVerdict = {
        ...base,
        allowed,
        ...(egress ? { egress } : {}),
        ...(ingress ? { ingress } : {}),
      }
      if (allowed) return v
      first ??= v
    }
  }
  return first ?? { ...base, allowed: false }
}

/**
 * Finds an endpoint by name: a workload (`ns/name[Kind]`, or `ns/name` when one workload of that
 * namespace and name exists), a pod (`ns/pod`: its workload with that pod only, so the verdict is
 * that pod's), an IPv4/IPv6 address (the pod that holds it, by `status.podIPs`, when one does;
 * else an address outside the cluster, also when host-network pods hold it: it is their node's,
 * and the endpoint names them), or `{ingress-controller}`.
 * @returns the endpoint, or a reason when nothing (or more than one workload) matches.
 */
export function findEndpoint(model: K8sModel, text: string): EvalEndpoint | string {
  if (text === INGRESS_CONTROLLER) return { kind: 'ingress-controller' }
  const ip = parseIp(text)
  if (ip) {
    // an address a pod holds is that pod (ipBlocks describe addresses outside the cluster's
    // pods); a host-network pod's is its node's, which the node itself sends from too
    const all = model.workloads.flatMap((w) =>
      w.pods
        .filter((p) => p.addresses?.some((a) => a.family === ip.family && a.value === ip.value))
        .map((p) => ({ w, p })),
    )
    const holders = all.filter((h) => h.p.hostNetwork !== true)
    const [one] = holders
    if (holders.length > 1)
      return `${text} is held by ${String(holders.length)} pods: ${holders.map((h) => `${h.p.namespace}/${h.p.name}`).join(', ')}; name the pod`
    if (one) return { kind: 'workload', workload: { ...one.w, pods: [one.p] }, address: text }
    const onHost = all.map((h) => `${h.p.namespace}/${h.p.name}`)
    return { kind: 'ip', ip, text, ...(onHost.length > 0 ? { hostNetworkPods: onHost } : {}) }
  }
  const exact = model.workloads.find((w) => w.name === text)
  if (exact) return { kind: 'workload', workload: exact }
  const byName = model.workloads.filter(
    (w) =>
      `${w.namespace}/${w.name.slice(w.name.indexOf('/') + 1, w.name.lastIndexOf('['))}` === text,
  )
  if (byName.length === 1) return { kind: 'workload', workload: byName[0] as K8sWorkload }
  if (byName.length > 1)
    return `"${text}" names ${byName.length} workloads: ${byName.map((w) => w.name).join(', ')}; give the kind`
  // a pod named: that pod alone is judged, under its workload's name (pods of one workload can
  // differ, e.g. in their named ports during a rollout)
  for (const w of model.workloads) {
    const pod = w.pods.find((p) => `${p.namespace}/${p.name}` === text)
    if (pod) return { kind: 'workload', workload: { ...w, pods: [pod] } }
  }
  return `no workload, pod or address "${text}"; workloads are named namespace/name[Kind]`
}
