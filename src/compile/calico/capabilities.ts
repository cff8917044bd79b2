/**
 * @module What the `calico` target (projectcalico.org/v3 NetworkPolicy, GlobalNetworkPolicy and
 * their Staged kinds) can express: everything in policy language v1.
 * @see https://docs.tigera.io/calico/latest/reference/resources/globalnetworkpolicy
 */
import { ALL_CAPABILITIES, type Capability } from '../target.js'

/**
 * Every capability: deny rules are `Deny` actions in lower-`order` policies, CIDR selectors are
 * `nets`/`notNets` (which match pod addresses too, as Bulkhead's do), ICMP has `icmp.type`, other
 * protocols are protocol numbers, monitor mode emits StagedNetworkPolicy /
 * StagedGlobalNetworkPolicy.
 */
export const CALICO_CAPABILITIES: ReadonlySet<Capability> = new Set<Capability>(ALL_CAPABILITIES)
