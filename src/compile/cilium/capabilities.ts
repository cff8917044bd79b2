/**
 * @module What the `cilium` target (CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy) can
 * express. @see https://docs.cilium.io/en/stable/security/policy/language/
 */
import type { Capability } from '../target.js'
import { KUBERNETES_CAPABILITIES } from '../kubernetes/capabilities.js'

/**
 * The kubernetes capabilities plus `deny-rules` (`ingressDeny` / `egressDeny`, which take
 * precedence over allow rules) and `icmp`, `icmp-types`, `icmpv6` (`icmps` rules with ICMP/ICMPv6 types). Missing:
 * `other-protocols` (Cilium's L4 rules name TCP, UDP, SCTP and ICMP only), `monitor-mode`
 * (Cilium's audit mode is per endpoint or agent, not per policy).
 */
export const CILIUM_CAPABILITIES: ReadonlySet<Capability> = new Set<Capability>([
  ...KUBERNETES_CAPABILITIES,
  'deny-rules',
  'icmp',
  'icmp-types',
  'icmpv6',
])
