/**
 * @module What the `calico` target (projectcalico.org/v3 NetworkPolicy, GlobalNetworkPolicy and
 * their Staged kinds) can express: everything in policy language v1 but rules to multicast
 * groups and the broadcast.
 * @see https://docs.tigera.io/calico/latest/reference/resources/globalnetworkpolicy
 */
import { capabilitiesWithout, type Capability } from '../target.js'

/**
 * Every capability but `multicast-broadcast` (Calico's pod networking routes unicast only: a
 * rule to a multicast group or the broadcast would be compiled into `nets` that no packet
 * matches): deny rules are `Deny` actions in lower-`order` policies, CIDR selectors are
 * `nets`/`notNets` (which match pod addresses too, as Bulkhead's do), ICMP has `icmp.type`, other
 * protocols are protocol numbers, monitor mode emits StagedNetworkPolicy /
 * StagedGlobalNetworkPolicy.
 */
export const CALICO_CAPABILITIES: ReadonlySet<Capability> =
  capabilitiesWithout('multicast-broadcast')
