/**
 * @module Builders of packet captures for tests (no binary fixtures): IPv4 / IPv6 headers, UDP,
 * Ethernet II frames and little-endian libpcap files.
 * Layouts: RFC 791 (IPv4), RFC 8200 (IPv6), RFC 768 (UDP), IEEE 802.3 / 802.1Q, tcpdump.org
 * pcap-savefile(5) and linktypes.
 */
import { concat, ip4, ip6, u16, u32, u8 } from './netflow-builders.js'

/** An IPv4 header (no options) carrying `payload` as protocol `proto`; `frag` is flags+offset. */
export function ipv4(
  src: string,
  dst: string,
  proto: number,
  payload: Uint8Array,
  frag = 0x4000,
): Uint8Array {
  return concat(
    u8(0x45),
    u8(0),
    u16(20 + payload.byteLength),
    u16(1),
    u16(frag),
    u8(64),
    u8(proto),
    u16(0),
    ip4(src),
    ip4(dst),
    payload,
  )
}

/** An IPv6 header carrying `payload` after header `next`. */
export function ipv6(src: string, dst: string, next: number, payload: Uint8Array): Uint8Array {
  return concat(
    u32(0x60000000),
    u16(payload.byteLength),
    u8(next),
    u8(64),
    ip6(src),
    ip6(dst),
    payload,
  )
}

/** A UDP datagram (checksum 0). */
export function udp(sport: number, dport: number, payload: Uint8Array): Uint8Array {
  return concat(u16(sport), u16(dport), u16(8 + payload.byteLength), u16(0), payload)
}

/** An Ethernet II frame, with 802.1Q tags when `vlans` are given. */
export function ether(type: number, payload: Uint8Array, vlans: number[] = []): Uint8Array {
  return concat(
    new Uint8Array(12).fill(0x02),
    ...vlans.map((v) => concat(u16(0x8100), u16(v))),
    u16(type),
    payload,
  )
}

/** Little-endian unsigned 32 / 16 bits. */
export const le32 = (v: number): Uint8Array => u32(v).reverse()
export const le16 = (v: number): Uint8Array => u16(v).reverse()

/** A little-endian microsecond libpcap file of `frames` with link type `link`. */
export function pcap(link: number, frames: Uint8Array[]): Uint8Array {
  return concat(
    le32(0xa1b2c3d4),
    le16(2),
    le16(4),
    le32(0),
    le32(0),
    le32(65535),
    le32(link),
    ...frames.map((f, i) =>
      concat(le32(1_700_000_000 + i), le32(0), le32(f.byteLength), le32(f.byteLength), f),
    ),
  )
}
