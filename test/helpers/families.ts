/**
 * @module The IP version of an address text, worked out apart from Bulkhead's own address
 * reading (node:net and the WHATWG URL parser), for tests that check which records reading must
 * skip as `mixed-address-families`.
 */
import { isIPv4, isIPv6 } from 'node:net'

/**
 * 4 or 6 for an IPv4 or IPv6 address text, an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, RFC
 * 4291 §2.5.5.2) counting as 4, a zone id (`fe80::1%eth0`, RFC 4007 §11) left out; undefined for
 * anything else.
 */
export function ipFamily(text: string): 4 | 6 | undefined {
  if (isIPv4(text)) return 4
  const bare = text.replace(/%[^%]+$/, '')
  if (!isIPv6(bare)) return undefined
  // the URL parser writes an IPv6 host compressed, in lower case, its last 32 bits in hex
  const host = new URL(`http://[${bare}]/`).hostname
  return /^\[::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}\]$/.test(host) ? 4 : 6
}

/** True when both texts are addresses and of different IP versions ({@link ipFamily}). */
export function ofTwoFamilies(a: string, b: string): boolean {
  const x = ipFamily(a)
  const y = ipFamily(b)
  return x !== undefined && y !== undefined && x !== y
}
