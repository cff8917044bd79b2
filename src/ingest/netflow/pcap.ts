/**
 * @module The UDP payloads (and IPFIX over TCP and SCTP) of a packet capture (libpcap `.pcap` or `.pcapng`), for NetFlow /
 * IPFIX captured with `tcpdump -w` or Wireshark rather than written by a collector.
 *
 * Containers: libpcap (magic 0xa1b2c3d4 microsecond or 0xa1b23c4d nanosecond, either byte
 * order; 24-octet file header, then per packet a 16-octet record header and the captured
 * octets) and pcapng (blocks: Section Header 0x0a0d0d0a with the byte-order magic 0x1a2b3c4d,
 * Interface Description 1 naming each interface's link type, Enhanced Packet 6, Simple Packet 3,
 * the obsolete Packet block 2; other blocks skipped by their length).
 *
 * Link types (tcpdump.org "LINKTYPE_" values): 0 NULL and 108 LOOP (4-octet address family),
 * 1 Ethernet (with 802.1Q / 802.1ad / QinQ tags), 12, 14 and 101 raw IP, 113 Linux cooked
 * (SLL), 276 Linux cooked v2 (SLL2), 228 raw IPv4, 229 raw IPv6. IPv4 and IPv6 (hop-by-hop,
 * routing and destination options headers walked). Fragmented datagrams (IPv4 MF or offset,
 * an IPv6 fragment header; RFC 791, RFC 8200 §4.5) are reassembled from their fragments, in any
 * order; one whose fragments never all arrive (at most {@link MAX_HELD_DATAGRAMS} are held, the
 * oldest given up first) is skipped as `ip-fragment`.
 *
 * TCP (6) and SCTP (132) packets go to {@link TransportStreams}, which reads IPFIX messages from
 * their streams (RFC 7011 §10.3, §10.4).
 *
 * @see https://www.tcpdump.org/manpages/pcap-savefile.5.html
 * @see https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html (pcapng)
 * @see https://www.tcpdump.org/linktypes.html
 */
import { TransportStreams, type StreamEvent, type TransportSegment } from './streams.js'

/**
 * One NetFlow/IPFIX candidate of a capture — a UDP payload, or an IPFIX message read from a TCP
 * stream or SCTP association (netflow/streams.ts) — or a packet that gives none, or something
 * counted about a stream.
 */
export type CapturedPacket =
  | {
      readonly kind: 'message'
      readonly transport: 'udp' | 'tcp' | 'sctp'
      /**
       * The UDP payload (as captured: shorter than the UDP length when the snap length cut it),
       * or one whole IPFIX message of a stream.
       */
      readonly bytes: Uint8Array
      /**
       * UDP: `address:port` of the sender (the exporter), IPv6 in full hexadecimal groups.
       * TCP, SCTP: the Transport Session (`tcp SRC:PORT>DST:PORT`, `sctp …#VTAG`).
       */
      readonly sender: string
    }
  | {
      readonly kind: 'skip'
      /**
       * `ip-fragment` (a datagram whose fragments did not all arrive), `not-udp` (another
       * protocol than UDP, TCP and SCTP, or no IP), `bad-capture` (container damaged);
       * `tcp-gap`, `bad-stream`, `sctp-fragment` (netflow/streams.ts).
       */
      readonly reason: 'ip-fragment' | 'not-udp' | 'bad-capture' | StreamSkip
      readonly detail: string
    }
  | { readonly kind: 'note'; readonly reason: StreamNote; readonly detail: string }

type StreamSkip = Extract<StreamEvent, { kind: 'skip' }>['reason']
type StreamNote = Extract<StreamEvent, { kind: 'note' }>['reason']

const PCAP_MAGICS: ReadonlySet<number> = new Set([0xa1b2c3d4, 0xa1b23c4d])
const PCAPNG_SHB = 0x0a0d0d0a
const PCAPNG_BOM = 0x1a2b3c4d

/** Whether `head` starts a libpcap or pcapng capture file. */
export function captureKind(head: Uint8Array): 'pcap' | 'pcapng' | undefined {
  if (head.byteLength < 12) return undefined
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength)
  if (PCAP_MAGICS.has(dv.getUint32(0, false)) || PCAP_MAGICS.has(dv.getUint32(0, true)))
    return 'pcap'
  if (
    dv.getUint32(0, false) === PCAPNG_SHB &&
    (dv.getUint32(8, false) === PCAPNG_BOM || dv.getUint32(8, true) === PCAPNG_BOM)
  )
    return 'pcapng'
  return undefined
}

/**
 * Reads a capture pushed in chunks of any size (see the module comment); keeps at most one
 * packet record (block) plus one chunk. A container that breaks off (a record header or block
 * cut short, an impossible length) ends with one `bad-capture`, and nothing after it is read.
 */
export class CaptureReader {
  private buf: Uint8Array = new Uint8Array(0)
  private kind: 'pcap' | 'pcapng' | undefined
  private le = false
  /** libpcap: the file's link type; pcapng: each interface's, by interface id. */
  private readonly linkTypes: number[] = []
  private broken = false

  /** Adds `chunk`; returns the packets it completes. */
  push(chunk: Uint8Array): CapturedPacket[] {
    if (this.buf.byteLength === 0) this.buf = chunk
    else {
      const next = new Uint8Array(this.buf.byteLength + chunk.byteLength)
      next.set(this.buf, 0)
      next.set(chunk, this.buf.byteLength)
      this.buf = next
    }
    const out: CapturedPacket[] = []
    while (!this.broken) {
      const n = this.step(out)
      if (n === 0) break
      this.buf = this.buf.subarray(n)
    }
    return out
  }

  /**
   * Ends the input: octets left over are a record cut short (`bad-capture`), datagrams still
   * missing fragments are `ip-fragment`.
   */
  end(): CapturedPacket[] {
    const out: CapturedPacket[] = [...this.fragments.values()].map((f) => incomplete(f.src))
    this.fragments.clear()
    for (const s of this.streams.end()) out.push(fromStream(s))
    if (this.broken || this.buf.byteLength === 0) return out
    this.broken = true
    out.push(badCapture(`${this.buf.byteLength} octets of a record cut short at the end`))
    return out
  }

  /** Datagrams being reassembled, by {@link Fragment.key}, oldest first. */
  private readonly fragments = new Map<
    string,
    { src: string; dst: string; proto: number; parts: Fragment[]; total: number }
  >()

  /** TCP connections and SCTP associations being read. */
  private readonly streams = new TransportStreams()

  /**
   * Adds a packet to `out`; a fragment when it completes its datagram (RFC 815's holes); a TCP
   * or SCTP segment through {@link streams}.
   */
  private deliver(p: CapturedPacket | Fragment | Segment, out: CapturedPacket[]): void {
    if (p.kind === 'segment') {
      for (const e of this.streams.segment(p)) out.push(fromStream(e))
      return
    }
    if (p.kind !== 'fragment') {
      out.push(p)
      return
    }
    let d = this.fragments.get(p.key)
    if (d === undefined) {
      if (this.fragments.size >= MAX_HELD_DATAGRAMS) {
        const [oldest, held] = this.fragments.entries().next().value ?? []
        if (oldest !== undefined && held !== undefined) {
          this.fragments.delete(oldest)
          out.push(incomplete(held.src))
        }
      }
      d = { src: p.src, dst: p.dst, proto: -1, parts: [], total: -1 }
      this.fragments.set(p.key, d)
    }
    d.parts.push(p)
    if (p.offset === 0) d.proto = p.proto
    if (!p.more) d.total = p.offset + p.payload.byteLength
    if (d.total < 0 || d.proto < 0) return
    d.parts.sort((a, b) => a.offset - b.offset)
    let covered = 0
    for (const f of d.parts) {
      if (f.offset > covered) return
      covered = Math.max(covered, f.offset + f.payload.byteLength)
    }
    if (covered < d.total) return
    this.fragments.delete(p.key)
    const whole = new Uint8Array(d.total)
    for (const f of d.parts) whole.set(f.payload.subarray(0, d.total - f.offset), f.offset)
    this.deliver(transport(d.proto, whole, d.src, d.dst), out)
  }

  /** Reads one header or record from the buffer; returns the octets used, 0 to wait for more. */
  private step(out: CapturedPacket[]): number {
    const b = this.buf
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
    if (this.kind === undefined) {
      if (b.byteLength < 24) return 0
      this.kind = captureKind(b)
      if (this.kind === 'pcap') {
        this.le = PCAP_MAGICS.has(dv.getUint32(0, true))
        this.linkTypes.push(dv.getUint32(20, this.le) & 0x0fffffff)
        return 24
      }
      if (this.kind === undefined) return this.fail(out, 'not a pcap or pcapng file')
      // pcapng: the section header block is read as any block below
    }
    if (this.kind === 'pcap') {
      if (b.byteLength < 16) return 0
      const incl = dv.getUint32(8, this.le)
      if (incl > MAX_RECORD) return this.fail(out, `a packet record of ${incl} octets`)
      if (b.byteLength < 16 + incl) return 0
      this.deliver(linkPacket(this.linkTypes[0] ?? -1, b.slice(16, 16 + incl)), out)
      return 16 + incl
    }
    if (b.byteLength < 12) return 0
    const type = dv.getUint32(0, this.le)
    if (type === PCAPNG_SHB) {
      this.le = dv.getUint32(8, true) === PCAPNG_BOM
      this.linkTypes.length = 0
    }
    const total = dv.getUint32(4, this.le)
    if (total < 12 || total % 4 !== 0 || total > MAX_RECORD)
      return this.fail(out, `a block of ${total} octets`)
    if (b.byteLength < total) return 0
    const le = this.le
    if (type === 1 && total >= 20) this.linkTypes.push(dv.getUint16(8, le))
    else if ((type === 6 || type === 2) && total >= 32) {
      // enhanced packet (interface id: 32 bits) or obsolete packet block (16 bits)
      const link = this.linkTypes[type === 6 ? dv.getUint32(8, le) : dv.getUint16(8, le)]
      const len = dv.getUint32(20, le)
      if (link === undefined || 28 + len > total - 4)
        out.push(badCapture(`a packet block of ${len} octets or before its interface`))
      else this.deliver(linkPacket(link, b.slice(28, 28 + len)), out)
    } else if (type === 3 && total >= 16) {
      const link = this.linkTypes[0]
      const len = Math.min(dv.getUint32(8, le), total - 16)
      if (link === undefined) out.push(badCapture('a simple packet block before any interface'))
      else this.deliver(linkPacket(link, b.slice(12, 12 + len)), out)
    }
    return total
  }

  private fail(out: CapturedPacket[], detail: string): number {
    this.broken = true
    out.push(badCapture(detail))
    return 0
  }
}

/** A TCP or SCTP packet's IP payload, for {@link TransportStreams}. */
interface Segment extends TransportSegment {
  readonly kind: 'segment'
}

function fromStream(e: StreamEvent): CapturedPacket {
  return e.kind === 'message' ? { ...e, transport: e.sender.startsWith('tcp') ? 'tcp' : 'sctp' } : e
}

/** The upper-layer packet `b` of IP protocol `proto`: UDP, TCP or SCTP, else not read. */
function transport(
  proto: number,
  b: Uint8Array,
  src: string,
  dst: string,
): CapturedPacket | Segment {
  if (proto === 17) return udp(b, src)
  if (proto === 6 || proto === 132) return { kind: 'segment', proto, src, dst, bytes: b }
  return notUdp(`IP protocol ${proto}`)
}

/** Most datagrams held for their missing fragments at once. */
const MAX_HELD_DATAGRAMS = 1024

/** One fragment of an IP datagram, to reassemble (see {@link CaptureReader}). */
interface Fragment {
  readonly kind: 'fragment'
  /** Source, destination, identification (and IPv4 protocol): the datagram's fragments share it. */
  readonly key: string
  readonly src: string
  readonly dst: string
  /** Octets from the start of the datagram's payload. */
  readonly offset: number
  readonly more: boolean
  /** The upper-layer protocol (meaningful in the first fragment, offset 0). */
  readonly proto: number
  readonly payload: Uint8Array
}

function incomplete(src: string): CapturedPacket {
  return { kind: 'skip', reason: 'ip-fragment', detail: `a datagram from ${src} missing fragments` }
}

/** Largest packet record or block accepted (64 MiB): beyond it the container is damaged. */
const MAX_RECORD = 0x4000000

/** The packets of the capture whose bytes `chunks` are, through a {@link CaptureReader}. */
export async function* capturedPackets(
  chunks: AsyncIterable<Uint8Array>,
): AsyncGenerator<CapturedPacket> {
  const reader = new CaptureReader()
  for await (const c of chunks) yield* reader.push(c)
  yield* reader.end()
}

function badCapture(detail: string): CapturedPacket {
  return { kind: 'skip', reason: 'bad-capture', detail }
}

function notUdp(detail: string): CapturedPacket {
  return { kind: 'skip', reason: 'not-udp', detail }
}

/** The UDP payload of one captured frame of link type `link`. */
function linkPacket(link: number, f: Uint8Array): CapturedPacket | Fragment | Segment {
  const dv = new DataView(f.buffer, f.byteOffset, f.byteLength)
  switch (link) {
    case 0: // NULL: address family in the capturing host's byte order
    case 108: {
      // LOOP: in network order
      if (f.byteLength < 4) return notUdp('a loopback frame cut short')
      const family = link === 108 ? dv.getUint32(0, false) : familyOf(dv)
      if (family === 2) return ipPacket(f.subarray(4), 4)
      if (family === 24 || family === 28 || family === 30 || family === 10)
        return ipPacket(f.subarray(4), 6)
      return notUdp(`loopback address family ${family}`)
    }
    case 1: {
      let p = 12
      for (;;) {
        if (f.byteLength < p + 2) return notUdp('an Ethernet frame cut short')
        const type = dv.getUint16(p)
        if (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
          p += 4
          continue
        }
        return etherType(type, f.subarray(p + 2))
      }
    }
    case 12:
    case 14:
    case 101:
      return ipPacket(f, undefined)
    case 228:
      return ipPacket(f, 4)
    case 229:
      return ipPacket(f, 6)
    case 113:
      if (f.byteLength < 16) return notUdp('a Linux cooked frame cut short')
      return etherType(dv.getUint16(14), f.subarray(16))
    case 276:
      if (f.byteLength < 20) return notUdp('a Linux cooked v2 frame cut short')
      return etherType(dv.getUint16(0), f.subarray(20))
    default:
      return notUdp(`link type ${link}`)
  }
}

/** The NULL link type's family, written in the capturing host's byte order (either). */
function familyOf(dv: DataView): number {
  const le = dv.getUint32(0, true)
  return le < 0x10000 ? le : dv.getUint32(0, false)
}

function etherType(type: number, payload: Uint8Array): CapturedPacket | Fragment | Segment {
  if (type === 0x0800) return ipPacket(payload, 4)
  if (type === 0x86dd) return ipPacket(payload, 6)
  return notUdp(`EtherType 0x${type.toString(16).padStart(4, '0')}`)
}

/** IPv6 extension headers walked to the upper-layer header: hop-by-hop, routing, destination. */
const IPV6_EXTENSIONS: ReadonlySet<number> = new Set([0, 43, 60])

function ipPacket(b: Uint8Array, version: 4 | 6 | undefined): CapturedPacket | Fragment | Segment {
  if (b.byteLength < 1) return notUdp('an IP packet cut short')
  const v = version ?? (b[0] ?? 0) >> 4
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
  if (v === 4) {
    if (b.byteLength < 20) return notUdp('an IPv4 header cut short')
    const ihl = ((b[0] ?? 0) & 0x0f) * 4
    const frag = dv.getUint16(6)
    const src = `${b[12] ?? 0}.${b[13] ?? 0}.${b[14] ?? 0}.${b[15] ?? 0}`
    const dst = b.subarray(16, 20).join('.')
    const total = dv.getUint16(2)
    if ((frag & 0x3fff) !== 0)
      return {
        kind: 'fragment',
        key: `${src}>${dst}/${dv.getUint16(4)}/${b[9] ?? 0}`,
        src,
        dst,
        offset: (frag & 0x1fff) * 8,
        more: (frag & 0x2000) !== 0,
        proto: b[9] ?? 0,
        payload: b.subarray(ihl, Math.max(ihl, Math.min(total, b.byteLength))),
      }
    const end = total >= ihl + 8 ? Math.min(total, b.byteLength) : b.byteLength
    return transport(b[9] ?? 0, b.subarray(ihl, end), src, dst)
  }
  if (v === 6) {
    if (b.byteLength < 40) return notUdp('an IPv6 header cut short')
    const groups: string[] = []
    for (let i = 0; i < 8; i++) groups.push(dv.getUint16(8 + 2 * i).toString(16))
    const src = `[${groups.join(':')}]`
    const dstGroups: string[] = []
    for (let i = 0; i < 8; i++) dstGroups.push(dv.getUint16(24 + 2 * i).toString(16))
    const dst = `[${dstGroups.join(':')}]`
    const payloadLength = dv.getUint16(4)
    const end = payloadLength > 0 ? Math.min(40 + payloadLength, b.byteLength) : b.byteLength
    let next = b[6] ?? 0
    let p = 40
    for (;;) {
      if (IPV6_EXTENSIONS.has(next)) {
        if (end < p + 8) return notUdp('an IPv6 extension header cut short')
        next = b[p] ?? 0
        p += ((b[p + 1] ?? 0) + 1) * 8
        continue
      }
      if (next === 44) {
        if (end < p + 8) return notUdp('an IPv6 fragment header cut short')
        // offset and M flag: an atomic fragment (both 0, RFC 6946) is a whole packet
        const word = dv.getUint16(p + 2)
        if ((word & 0xfff9) !== 0) {
          return {
            kind: 'fragment',
            key: `${src}>${dst}/${dv.getUint32(p + 4)}`,
            src,
            dst,
            offset: word & 0xfff8,
            more: (word & 1) !== 0,
            proto: b[p] ?? 0,
            payload: b.subarray(p + 8, Math.max(p + 8, end)),
          }
        }
        next = b[p] ?? 0
        p += 8
        continue
      }
      break
    }
    if (next !== 17 && next !== 6 && next !== 132) return notUdp(`IPv6 next header ${next}`)
    return transport(next, b.subarray(p, end), src, dst)
  }
  return notUdp(`IP version ${v}`)
}

function udp(u: Uint8Array, src: string): CapturedPacket {
  if (u.byteLength < 8) return notUdp('a UDP header cut short')
  const dv = new DataView(u.buffer, u.byteOffset, u.byteLength)
  const length = dv.getUint16(4)
  const end = length >= 8 ? Math.min(length, u.byteLength) : u.byteLength
  return {
    kind: 'message',
    transport: 'udp',
    bytes: u.subarray(8, end),
    sender: `${src}:${dv.getUint16(0)}`,
  }
}
