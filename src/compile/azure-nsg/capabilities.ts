/**
 * @module What the `azure-nsg` target (Azure network security groups on network interfaces,
 * as Terraform JSON for the azurerm provider) can express.
 * @remarks Semantics: Azure network security groups
 * (https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview: protocols
 * TCP, UDP, ICMP, ESP, AH or Any; several prefixes and ports per rule; Allow or Deny by
 * priority, first match wins) and the azurerm provider's `azurerm_network_security_rule`
 * (protocol `Tcp`, `Udp`, `Icmp`, `Esp`, `Ah` or `*`: `StringInSlice` in
 * hashicorp/terraform-provider-azurerm internal/services/network/network_security_rule_resource.go).
 */
import { capabilitiesWithout, type Capability } from '../target.js'

/**
 * Deny rules (`Deny` at higher priority than every `Allow`), CIDR selectors and `except` blocks
 * (split into the prefixes that remain), named externals, workload and label selectors
 * (application security groups of the enforced workloads, addresses for the others), `any`
 * (`*`), port ranges and lists, `icmp` of every type (`Icmp`), ESP and AH (`Esp`, `Ah`:
 * `ipsec-protocols`), the `any` service (`*`) and IPv6 prefixes. Missing:
 * - `icmp-types`: a security rule matches no ICMP type, so `icmp/8` would widen to every type;
 * - `icmpv6`: the documented protocols name ICMP only, and the azurerm provider refuses the
 *   API's `Icmpv6` (hashicorp/terraform-provider-azurerm#30751);
 * - `sctp` and `other-protocols`: no protocol value for them. ESP (50) and AH (51) are the
 *   only protocol numbers beyond TCP, UDP and ICMP that a security rule names, so they are a
 *   capability of their own, `ipsec-protocols`, rather than a part of `other-protocols` (which a
 *   target has whole or not at all);
 * - `monitor-mode`: a security rule allows or denies; there is no audit-only action;
 * - `multicast-broadcast`: an Azure virtual network carries unicast only, multicast and
 *   broadcast packets are dropped
 *   (https://learn.microsoft.com/azure/virtual-network/virtual-networks-faq), so a rule to a
 *   group or to `255.255.255.255` would allow nothing that arrives.
 */
export const AZURE_NSG_CAPABILITIES: ReadonlySet<Capability> = capabilitiesWithout(
  'icmp-types',
  'icmpv6',
  'sctp',
  'other-protocols',
  'monitor-mode',
  'multicast-broadcast',
)
