/**
 * @module What the iptables target can express: everything in policy language v1, like
 * nftables, because it renders the same host plan (allow-minus-deny per peer interval).
 * @remarks Deny rules are holes in the ipset address groups; CIDR `except` blocks and arbitrary
 * address ranges become lists of `hash:net` blocks; single ports are `hash:ip,port,net`
 * entries; port ranges are `--dport lo:hi`; ICMP types
 * `--icmp-type` (IPv4 type 255, which that match reads as every type, by a `u32` match on the
 * type byte); other protocols `-p N`. One exception, documented in {@link renderRules}:
 * IP protocol number 0 cannot be matched (`-p 0` means every protocol in iptables).
 * @see https://ipset.netfilter.org/ipset.man.html
 */
import { ALL_CAPABILITIES, type Capability } from '../target.js'

/** The capabilities of the iptables target: all of {@link ALL_CAPABILITIES}. */
export const IPTABLES_CAPABILITIES: ReadonlySet<Capability> = new Set(ALL_CAPABILITIES)
