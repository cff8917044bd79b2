/**
 * @module What the nftables target can express: everything in policy language v1.
 * @remarks Deny rules become holes in the allow maps (the maps hold allow-minus-deny exactly);
 * CIDR `except` blocks, IPv6, port ranges, ICMP types and other protocols are elements of the
 * peer maps (address ranges) and of the class chains' sets (port and type ranges).
 * @see https://wiki.nftables.org/wiki-nftables/index.php/Concatenations
 */
import { ALL_CAPABILITIES, type Capability } from '../target.js'

/** The capabilities of the nftables target: all of {@link ALL_CAPABILITIES}. */
export const NFTABLES_CAPABILITIES: ReadonlySet<Capability> = new Set(ALL_CAPABILITIES)

/**
 * Protocols whose packets carry 16-bit ports at the start of the transport header, matched
 * with `th dport` (TCP 6, DCCP 33, UDP 17, SCTP 132, UDP-Lite 136).
 */
export const PORT_PROTOCOLS: readonly number[] = [6, 17, 33, 132, 136]
