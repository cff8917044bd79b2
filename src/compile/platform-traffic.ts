/**
 * @module What the clouds' firewalls see of addresses, shared by the aws-sg and azure-nsg
 * targets and their checkers: which addresses a security group reference or an application
 * security group holds ({@link cloudGroupHolds}), and policy rules that speak of platform
 * addresses a target's firewall never filters (AWS link-local 169.254.0.0/16; Azure's host node
 * addresses 168.63.129.16 and 169.254.169.254): what such a rule says of them is not enforced,
 * and the compile says so (`compile/platform-traffic-unfiltered`).
 */
import {
  formatRuleRef,
  isPrivateIp,
  type Cidr,
  type IpAddress,
  type Diagnostic,
  type Inventory,
  type PolicySet,
} from '../core/index.js'

/**
 * Whether a cloud group of interfaces holds `ip` when it is an address of a member: an AWS
 * security group reference, an Azure application security group. Both match the members'
 * private interface addresses only: AWS, "the private IP addresses of the network interfaces
 * that are associated with the source security group (and not the public IP or Elastic IP
 * addresses)" (https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html,
 * "Security group referencing"); Azure, "Network security groups process traffic after Azure
 * translates public IP addresses to private IP addresses for inbound traffic. They process
 * traffic before translating private IP addresses to public IP addresses for outbound traffic"
 * (https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview). So a
 * packet carrying a member's public IPv4 or Elastic IP (an inventory may list it beside the
 * private one) meets the other group with an address no reference holds. Private means
 * {@link isPrivateIp} (RFC 1918, CGNAT, ...); IPv6 addresses are taken as held (neither cloud
 * translates IPv6, and a VNet's or VPC's IPv6 space is often global). A network numbered from
 * public IPv4 space makes this false for its private addresses: the compilers then add host
 * rules the reference already holds, which allow nothing more. Stable: the checkers read groups
 * through it.
 */
export function cloudGroupHolds(ip: IpAddress): boolean {
  return ip.family === 6 || isPrivateIp(ip)
}

/**
 * The `compile/platform-traffic-unfiltered` warning, when some policy rule has a `cidr`
 * selector or a named external whose block `names` holds (the rules are listed as
 * `policy/rule`); none otherwise.
 * @param names - true for a block that names the platform addresses (e.g. one inside
 *   169.254.0.0/16); a block as wide as `0.0.0.0/0` should not count, or every internet rule
 *   would warn.
 * @param what - the text after the rule list, saying which addresses pass and what to do.
 */
export function platformTrafficWarning(
  policySet: PolicySet,
  inventory: Inventory,
  names: (c: Cidr) => boolean,
  what: string,
): Diagnostic[] {
  const rules = policySet.policies.flatMap((p) =>
    p.rules
      .filter((r) =>
        [...r.from, ...r.to].some(
          (sel) =>
            (sel.kind === 'cidr' && names(sel.cidr)) ||
            (sel.kind === 'external' &&
              inventory.externals.some((x) => x.name === sel.name && names(x.cidr))),
        ),
      )
      .map((r) => formatRuleRef({ policy: p.name, id: r.id })),
  )
  if (rules.length === 0) return []
  return [
    {
      code: 'compile/platform-traffic-unfiltered',
      severity: 'warning',
      message: `${rules.join(', ')}: ${what}`,
    },
  ]
}
