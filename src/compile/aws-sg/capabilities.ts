/**
 * @module What the `aws-sg` target (AWS VPC security groups, as Terraform JSON) can express.
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html
 */
import { capabilitiesWithout, type Capability } from '../target.js'

/**
 * Every capability but `monitor-mode`, `sctp` and `multicast-broadcast`. Security groups are allow-only, so the target compiles
 * what the policy set allows between groups of workloads (allows minus denies, as the model
 * decides) rather than rule by rule: `deny-rules` and `cidr-except` are expressed by
 * subtraction (address ranges are split where a deny or an `except` cuts them).
 * `other-protocols` and `any-service` become `ip_protocol` numbers and `-1`. Missing:
 * `monitor-mode` (a security group allows or drops; it cannot accept and report, and VPC flow
 * logs record the group's verdict, not the policy's), so a workload in `monitor` mode is
 * `compile/unsupported-by-target`, as for the cilium target. `sctp`: a security group rule for
 * a protocol other than TCP, UDP, ICMP and ICMPv6 allows every port whatever range it gives
 * (API `IpPermission`), so a rule naming SCTP ports is refused; an allowed set that only the
 * subtraction makes partial (`any` less a denied SCTP port) is `compile/not-expressible`.
 * `multicast-broadcast` is missing too: the model judges a packet to a group as the flow from its
 * sender to the group, at the sender's egress and at every receiver's ingress (nftables target).
 * A VPC carries no broadcast and no link-local group (224.0.0.0/24, ff02::/16), so such rules
 * would allow nothing that arrives; and a Transit Gateway multicast domain's receivers admit a
 * group's packets by an inbound rule from the sender, which names no destination and so would
 * also admit the sender's unicast packets on that port to them: more than the policy allows.
 * @see https://docs.aws.amazon.com/vpc/latest/tgw/how-multicast-works.html
 */
export const AWS_SG_CAPABILITIES: ReadonlySet<Capability> = capabilitiesWithout(
  'monitor-mode',
  'sctp',
  'multicast-broadcast',
)
