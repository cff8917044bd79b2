/**
 * @module What the `kubernetes` target (NetworkPolicy, optionally AdminNetworkPolicy) can express.
 * @remarks Semantics: Kubernetes NetworkPolicy (networking.k8s.io/v1,
 * https://kubernetes.io/docs/concepts/services-networking/network-policies/) and
 * AdminNetworkPolicy (policy.networking.k8s.io/v1alpha1, https://network-policy-api.sigs.k8s.io/).
 */
import { capabilitiesWithout, type Capability } from '../target.js'

/**
 * Capabilities of plain NetworkPolicy output. Missing: `deny-rules` (NetworkPolicy only allows;
 * `denyWith: 'anp'` adds it), `icmp`, `icmp-types`, `icmpv6`, `ipsec-protocols` and `other-protocols` (ports name TCP, UDP or SCTP only),
 * `monitor-mode` (NetworkPolicy has no audit-only mode), `multicast-broadcast`: an `ipBlock` is
 * meant for cluster-external unicast addresses ("These should be cluster-external IPs"), pod
 * networks of most CNIs carry no multicast or broadcast, and where one does (OVN-Kubernetes, by
 * namespace annotation) it is not NetworkPolicy's `ipBlock` that admits a group, so a rule to
 * `224.0.0.251/32` would be compiled into nothing that works. `any-service` is expressed as a rule
 * without `ports`, which allows every protocol the CNI forwards (np-guard's "All Connections").
 */
export const KUBERNETES_CAPABILITIES: ReadonlySet<Capability> = capabilitiesWithout(
  'deny-rules',
  'icmp',
  'icmp-types',
  'icmpv6',
  'ipsec-protocols',
  'other-protocols',
  'monitor-mode',
  'multicast-broadcast',
)

/** {@link KUBERNETES_CAPABILITIES} plus `deny-rules` (deny rules become AdminNetworkPolicy). */
export const KUBERNETES_ANP_CAPABILITIES: ReadonlySet<Capability> = new Set<Capability>([
  ...KUBERNETES_CAPABILITIES,
  'deny-rules',
])
