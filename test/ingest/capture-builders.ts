/**
 * @module Builders of packet captures for tests (no binary fixtures): IPv4 / IPv6 headers, UDP,
 * TCP segments, SCTP packets and DATA chunks, Ethernet II frames and little-endian libpcap files.
 * Layouts: RFC 791 (IPv4), RFC 8200 (IPv6), RFC 768 (UDP), RFC 9293 (TCP), RFC 9260 (SCTP),
 * IEEE 802.3 / 802.1Q, tcpdump.org
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

/** TCP flags (RFC 9293 §3.1). */
export const SYN = 0x02
export const ACK = 0x10
export const PSH = 0x08
export const FIN = 0x01

/** A TCP segment (20-octet header, no options, checksum 0) with sequence number `seq`. */
export function tcp(
  sport: number,
  dport: number,
  seq: number,
  payload: Uint8Array,
  flags = PSH | ACK,
): Uint8Array {
  return concat(
    u16(sport),
    u16(dport),
    u32(seq >>> 0),
    u32(0),
    u8(5 << 4),
    u8(flags),
    u16(65535),
    u16(0),
    u16(0),
    payload,
  )
}

/**
 * An SCTP DATA chunk (RFC 9260 §3.3.1) of user data `payload`, TSN `tsn`; `flags` 3 (B and E) is
 * a whole message, 2 its first fragment, 0 a middle one, 1 its last. Padded to 4 octets.
 */
export function sctpData(tsn: number, payload: Uint8Array, flags = 3, stream = 0): Uint8Array {
  const len = 16 + payload.byteLength
  return concat(
    u8(0),
    u8(flags),
    u16(len),
    u32(tsn >>> 0),
    u16(stream),
    u16(0),
    u32(0),
    payload,
    new Uint8Array((4 - (len % 4)) % 4),
  )
}

/** An SCTP packet: the common header (checksum 0) and `chunks` (RFC 9260 §3.1). */
export function sctp(sport: number, dport: number, vtag: number, chunks: Uint8Array[]): Uint8Array {
  return concat(u16(sport), u16(dport), u32(vtag), u32(0), ...chunks)
}
