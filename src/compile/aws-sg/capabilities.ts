/**
 * @module What the `aws-sg` target (AWS VPC security groups, as Terraform JSON) can express.
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html
 */
import { capabilitiesWithout, type Capability } from '../target.js'

/**
 * Every capability but `monitor-mode` and `sctp`. Security groups are allow-only, so the target compiles
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
 * `multicast-broadcast` is kept: a security group rule to a group's /32 is how members of a
 * Transit Gateway multicast domain are filtered; a VPC carries no broadcast and no link-local
 * group (224.0.0.0/24, ff02::/16) off the subnet, so such rules allow nothing that arrives.
 */
export const AWS_SG_CAPABILITIES: ReadonlySet<Capability> = capabilitiesWithout(
  'monitor-mode',
  'sctp',
)
