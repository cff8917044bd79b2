/**
 * @module IPFIX messages carried over TCP and SCTP in a packet capture: TCP byte streams
 * reassembled per connection, SCTP DATA chunks per association (user messages fragmented over
 * several chunks put together again).
 *
 * TCP (RFC 7011 §10.4): the Exporting Process writes IPFIX Messages back to back on one
 * connection; the collector finds each Message's end by the Length field of its header (§3.1).
 * Segments are put in order per direction of a connection (source and destination address and
 * port) by sequence number (RFC 9293 §3.4, modulo 2^32): a segment seen again (a retransmission)
 * or its part already read is dropped (noted `tcp-duplicate`); a segment ahead of the next
 * expected octet is held until the hole before it fills. A hole that never fills — the capture
 * missed a segment — ends the stream's current reading: once more than
 * {@link MAX_HELD_OCTETS} octets wait behind it, or when the capture ends, the stream is
 * skipped as `tcp-gap` once, the Message cut by the hole is lost, and reading resumes at the
 * next held segment that starts with a Message header. A connection whose capture starts after
 * its SYN starts at its first segment that begins with a plausible Message header
 * ({@link messageHeader}); a connection whose first octets after the SYN are not one carries
 * something else (noted `capture-not-netflow`, per segment with data, like other payloads).
 * Bytes that stop framing as Messages (a version other than 10, a length below 16) are one
 * `bad-stream`, and reading resumes as after a gap.
 *
 * SCTP (RFC 7011 §10.3, RFC 9260 §3): each IPFIX Message (or NetFlow v9 export packet, as
 * Cisco's draft-djernaes-netflow-9-transport sends v9 over SCTP) is one SCTP user message; a DATA
 * chunk (type 0) with both the B and E flags carries a whole one, otherwise its fragments
 * (consecutive TSNs from B to E, §6.9) are put together. A chunk whose TSN was already read in its
 * association is a retransmission (`sctp-duplicate`, noted); fragments of a message that never
 * completes (at most {@link MAX_HELD_FRAGMENTS} held per association) are `sctp-fragment`. Other
 * chunk types (INIT, SACK, HEARTBEAT, I-DATA…) carry no flow data here and are skipped silently.
 *
 * Templates are scoped to the Transport Session (RFC 7011 §8: a Template ID is unique per
 * Transport Session and Observation Domain; over TCP and SCTP a Template lives as long as the
 * session): each message's `sender` names the session — `tcp SRC:PORT>DST:PORT` (with `#n` for
 * the n-th connection on the same addresses and ports, a SYN after data starting the next) or
 * `sctp SRC:PORT>DST:PORT#VTAG` (the verification tag tells associations apart; the addresses
 * are those of its first packet, and packets over other addresses of a multi-homed association
 * belong to it) — and the decoder keys templates by it.
 *
 * @see https://datatracker.ietf.org/doc/html/rfc7011 (§3.1 Message Header, §8 Template
 *   Management, §10.3 SCTP, §10.4 TCP)
 * @see https://datatracker.ietf.org/doc/html/rfc9293 (TCP header, sequence numbers)
 * @see https://datatracker.ietf.org/doc/html/rfc9260 (SCTP common header, DATA chunk)
 * @see https://datatracker.ietf.org/doc/html/draft-djernaes-netflow-9-transport-00 (NetFlow v9
 *   over SCTP)
 */

/** An IPFIX message read from a stream, or something counted about the stream. */
export type StreamEvent =
  | { readonly kind: 'message'; readonly bytes: Uint8Array; readonly sender: string }
  | {
      readonly kind: 'skip'
      /** `tcp-gap`, `bad-stream`, `sctp-fragment`: messages lost (see the module comment). */
      readonly reason: 'tcp-gap' | 'bad-stream' | 'sctp-fragment'
      readonly detail: string
    }
  | {
      readonly kind: 'note'
      /** `tcp-duplicate`, `sctp-duplicate`: data seen again; `not-netflow`: other payloads. */
      readonly reason: 'tcp-duplicate' | 'sctp-duplicate' | 'not-netflow'
      readonly detail: string
    }

/** Octets held behind a hole in one TCP stream before the hole is declared a gap (1 MiB). */
export const MAX_HELD_OCTETS = 1024 * 1024

/** Fragments of SCTP user messages held per association. */
export const MAX_HELD_FRAGMENTS = 4096

/** TCP connections and SCTP associations followed at once; the least recently seen ends first. */
export const MAX_STREAMS = 4096

/** TSNs remembered per SCTP association to recognise retransmitted chunks. */
const SEEN_TSNS = 4096

/**
 * Whether `b` starts with a plausible IPFIX Message header: version 10, a length of 16 or more,
 * and, when the first Set header is there, a Set ID of 2 (template), 3 (options template) or
 * 256+ (data) whose length fits the Message (RFC 7011 §3.1, §3.3.2).
 */
export function messageHeader(b: Uint8Array): boolean {
  if (b.byteLength < 4 || b[0] !== 0 || b[1] !== 10) return false
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
  const len = dv.getUint16(2)
  if (len < 16) return false
  if (b.byteLength < 20 || len < 20) return true
  const id = dv.getUint16(16)
  const setLen = dv.getUint16(18)
  return (id === 2 || id === 3 || id >= 256) && setLen >= 4 && setLen <= len - 16
}

/**
 * Splits a byte stream of IPFIX Messages at their ends, found by the Length field of each header
 * (RFC 7011 §10.4.1: "the Collecting Process reads the Message Header … and then the number of
 * octets given by the Length field"). Shared by TCP streams read from a capture
 * ({@link TransportStreams}) and by live TCP connections (collector.ts).
 *
 * Memory: the chunks of at most one Message not complete yet, under 64 KiB, plus the last chunk
 * pushed. Joining is done once per Message (a stream written one octet at a time costs linear
 * time, not quadratic).
 */
export class MessageFramer {
  private chunks: Uint8Array[] = []
  private held = 0

  /** Octets held: a Message begun and not complete. */
  get buffered(): number {
    return this.held
  }

  /**
   * Reads `data`, which follows what was pushed before.
   * @returns the Messages it completes, in order, and, when the octets held stop framing (a
   *   version other than 10 or a length below 16), `bad` with those octets' first 4 (the header
   *   read) and how many were held; everything held is then dropped.
   */
  push(data: Uint8Array): {
    messages: Uint8Array[]
    bad?: { readonly header: Uint8Array; readonly octets: number }
  } {
    const messages: Uint8Array[] = []
    if (data.byteLength > 0) {
      this.chunks.push(data)
      this.held += data.byteLength
    }
    while (this.held >= 4) {
      const head = this.peek(4)
      const len = (head[2] ?? 0) * 256 + (head[3] ?? 0)
      if (head[0] !== 0 || head[1] !== 10 || len < 16) {
        const octets = this.held
        this.clear()
        return { messages, bad: { header: head, octets } }
      }
      if (this.held < len) break
      messages.push(this.take(len))
    }
    return { messages }
  }

  /** Drops what is held. */
  clear(): void {
    this.chunks = []
    this.held = 0
  }

  /** The first `n` octets held (n ≤ held), without taking them. */
  private peek(n: number): Uint8Array {
    const first = this.chunks[0]
    if (first !== undefined && first.byteLength >= n) return first.subarray(0, n)
    const joined = Buffer.concat(this.chunks)
    this.chunks = [joined]
    return joined.subarray(0, n)
  }

  /** Takes the first `n` octets held (n ≤ held). */
  private take(n: number): Uint8Array {
    const first = this.chunks[0]
    let out: Uint8Array
    if (first !== undefined && first.byteLength >= n) {
      out = first.subarray(0, n)
      if (first.byteLength === n) this.chunks.shift()
      else this.chunks[0] = first.subarray(n)
    } else {
      const joined = Buffer.concat(this.chunks)
      out = joined.subarray(0, n)
      this.chunks = joined.byteLength > n ? [joined.subarray(n)] : []
    }
    this.held -= n
    return out
  }
}

interface TcpStream {
  /** Next sequence number expected, once known (after a SYN, or a first segment read). */
  next: number | undefined
  /** `ipfix`: framing Messages; `resync`: waiting for a segment that starts with a header. */
  mode: 'ipfix' | 'resync' | 'other'
  /** Whether the stream's start was seen (a SYN): its first data decides `other`. */
  synSeen: boolean
  /** `resync`: the first octets of a header split over segments. */
  pending: Uint8Array
  /** `ipfix`: a Message not complete yet. */
  readonly framer: MessageFramer
  /** Segments ahead of {@link next}, by sequence number. */
  held: Map<number, Uint8Array>
  heldOctets: number
  /** Octets read (so that a SYN after data starts a new connection). */
  read: number
  session: string
}

interface SctpAssociation {
  seen: Set<number>
  /** Fragments by TSN: flags (B 2, E 1) and user data. */
  fragments: Map<number, { flags: number; data: Uint8Array }>
  session: string
}

/** One segment of a TCP or SCTP packet (the IP payload) with its addresses. */
export interface TransportSegment {
  readonly proto: 6 | 132
  /** Addresses as the capture reader prints them (IPv6 in full groups, in brackets). */
  readonly src: string
  readonly dst: string
  /** The TCP or SCTP header and what follows. */
  readonly bytes: Uint8Array
}

/**
 * Follows the TCP connections and SCTP associations of one capture (see the module comment);
 * memory: at most {@link MAX_STREAMS} streams, each with one Message pending and at most
 * {@link MAX_HELD_OCTETS} octets (TCP) or {@link MAX_HELD_FRAGMENTS} fragments (SCTP) held.
 */
export class TransportStreams {
  private readonly tcp = new Map<string, TcpStream>()
  private readonly sctp = new Map<string, SctpAssociation>()
  /** Connections seen per TCP address and port pair, for `#n`. */
  private readonly generations = new Map<string, number>()

  /** Reads one segment; returns the messages it completes and what it counts. */
  segment(s: TransportSegment): StreamEvent[] {
    return s.proto === 6 ? this.tcpSegment(s) : this.sctpPacket(s)
  }

  /** Ends the capture: what is still held or pending is lost (`tcp-gap`, `sctp-fragment`). */
  end(): StreamEvent[] {
    const out: StreamEvent[] = []
    for (const st of this.tcp.values()) this.closeTcp(st, out)
    for (const a of this.sctp.values()) closeSctp(a, out)
    this.tcp.clear()
    this.sctp.clear()
    return out
  }

  private tcpSegment(s: TransportSegment): StreamEvent[] {
    const b = s.bytes
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
    const offset = ((b[12] ?? 0) >> 4) * 4
    if (b.byteLength < 20 || offset < 20 || offset > b.byteLength)
      return [{ kind: 'note', reason: 'not-netflow', detail: 'a TCP header cut short' }]
    const flags = b[13] ?? 0
    const syn = (flags & 0x02) !== 0
    const key = `${s.src}:${dv.getUint16(0)}>${s.dst}:${dv.getUint16(2)}`
    let seq = dv.getUint32(4)
    let data = b.subarray(offset)
    const out: StreamEvent[] = []
    let st = this.tcp.get(key)
    if (
      syn &&
      st !== undefined &&
      (st.read > 0 || st.pending.byteLength > 0 || st.framer.buffered > 0)
    ) {
      // a new connection on the same addresses and ports: a new Transport Session
      this.closeTcp(st, out)
      this.tcp.delete(key)
      st = undefined
    }
    if (st === undefined) {
      if (!syn && data.byteLength === 0) return out
      const n = (this.generations.get(key) ?? 0) + 1
      this.generations.delete(key) // re-inserted last: the oldest pair is forgotten first
      this.generations.set(key, n)
      if (this.generations.size > 16 * MAX_STREAMS) {
        const oldest = this.generations.keys().next().value
        if (oldest !== undefined) this.generations.delete(oldest)
      }
      st = {
        next: undefined,
        mode: 'resync',
        synSeen: false,
        pending: new Uint8Array(0),
        framer: new MessageFramer(),
        held: new Map(),
        heldOctets: 0,
        read: 0,
        session: `tcp ${key}${n > 1 ? `#${String(n)}` : ''}`,
      }
      this.evictTcp(out)
    } else this.tcp.delete(key) // re-inserted last: most recently seen
    this.tcp.set(key, st)
    if (syn) {
      st.synSeen = true
      st.next = (seq + 1) >>> 0
      seq = st.next
    }
    if (data.byteLength === 0) return out
    if (st.mode === 'other') {
      out.push({ kind: 'note', reason: 'not-netflow', detail: `a TCP segment of ${key}` })
      return out
    }
    if (st.next === undefined) st.next = seq
    const behind = (st.next - seq) >>> 0
    if (behind !== 0 && behind < 2 ** 31) {
      // starts before the next expected octet: a retransmission, or one overlapping the end
      if (behind >= data.byteLength) {
        out.push(again(st, key))
        return out
      }
      data = data.subarray(behind)
      seq = st.next
    }
    if (seq !== st.next && st.mode === 'resync' && !(st.synSeen && st.read === 0)) {
      // no position to wait for (a capture started mid-stream, or after a gap): a segment that
      // starts a Message starts the reading there; others are dropped, never held
      if (!messageHeader(data)) {
        if (st.read === 0)
          out.push({ kind: 'note', reason: 'not-netflow', detail: `a TCP segment of ${key}` })
        return out
      }
      st.held.clear()
      st.heldOctets = 0
      st.pending = new Uint8Array(0)
      st.framer.clear()
      st.next = seq
    }
    if (seq !== st.next) {
      const had = st.held.get(seq)
      if (had !== undefined && had.byteLength >= data.byteLength) {
        out.push(again(st, key))
        return out
      }
      st.held.set(seq, data)
      st.heldOctets += data.byteLength - (had?.byteLength ?? 0)
      if (st.heldOctets > MAX_HELD_OCTETS) this.gap(st, out)
      return out
    }
    this.accept(st, data, out)
    this.drainHeld(st, out)
    return out
  }

  /** Reads `data`, which starts at the next expected octet. */
  private accept(st: TcpStream, data: Uint8Array, out: StreamEvent[]): void {
    st.next = ((st.next ?? 0) + data.byteLength) >>> 0
    if (st.mode === 'resync') {
      // a header split over segments: wait for its first 4 octets before judging it
      const start = st.pending.byteLength > 0 ? Buffer.concat([st.pending, data]) : data
      if (start.byteLength < 4 && start[0] === 0 && (start.byteLength < 2 || start[1] === 10)) {
        st.pending = start
        return
      }
      data = start
      if (!messageHeader(data)) {
        st.pending = new Uint8Array(0)
        // the first data after a SYN decides what the connection carries; otherwise, wait for a
        // segment that starts a Message (a capture started mid-stream, or after a gap)
        if (st.synSeen && st.read === 0) st.mode = 'other'
        if (st.read === 0)
          out.push({
            kind: 'note',
            reason: 'not-netflow',
            detail: `a TCP segment of ${st.session}`,
          })
        return
      }
      st.mode = 'ipfix'
      st.pending = new Uint8Array(0)
    }
    if (st.mode !== 'ipfix') return
    st.read += data.byteLength
    const r = st.framer.push(data)
    for (const bytes of r.messages) out.push({ kind: 'message', bytes, sender: st.session })
    if (r.bad) {
      out.push({
        kind: 'skip',
        reason: 'bad-stream',
        detail: `${st.session}: ${String(r.bad.octets)} octets that start no IPFIX message`,
      })
      st.mode = 'resync'
    }
  }

  /** Reads the held segments that the next expected octet reaches. */
  private drainHeld(st: TcpStream, out: StreamEvent[]): void {
    for (let progress = true; progress && st.held.size > 0;) {
      progress = false
      for (const [seq, data] of st.held) {
        const behind = ((st.next ?? 0) - seq) >>> 0
        if (behind >= 2 ** 31) continue // still ahead
        st.held.delete(seq)
        st.heldOctets -= data.byteLength
        if (behind < data.byteLength) this.accept(st, data.subarray(behind), out)
        progress = true
      }
    }
  }

  /**
   * The hole before the held segments will not fill: the Message it cuts is lost (`tcp-gap`);
   * reading goes on from the first held segment, which must start a Message.
   */
  private gap(st: TcpStream, out: StreamEvent[]): void {
    const first = [...st.held.keys()].sort(
      (a, b) => ((a - (st.next ?? 0)) >>> 0) - ((b - (st.next ?? 0)) >>> 0),
    )[0]
    // a stream not read as IPFIX yet loses nothing known
    if (st.read > 0)
      out.push({
        kind: 'skip',
        reason: 'tcp-gap',
        detail: `${st.session}: ${String(((first ?? 0) - (st.next ?? 0)) >>> 0)} octets missing after sequence number ${String(st.next)}`,
      })
    st.pending = new Uint8Array(0)
    st.framer.clear()
    if (st.mode === 'ipfix') st.mode = 'resync'
    st.next = first
    this.drainHeld(st, out)
  }

  /** Ends a stream: held segments and a Message begun are lost. */
  private closeTcp(st: TcpStream, out: StreamEvent[]): void {
    while (st.held.size > 0) this.gap(st, out)
    if (st.mode === 'ipfix' && st.framer.buffered > 0)
      out.push({
        kind: 'skip',
        reason: 'tcp-gap',
        detail: `${st.session}: a message cut short by the end of the capture (${String(st.framer.buffered)} octets)`,
      })
    st.pending = new Uint8Array(0)
    st.framer.clear()
  }

  private evictTcp(out: StreamEvent[]): void {
    if (this.tcp.size < MAX_STREAMS) return
    const [key, oldest] = this.tcp.entries().next().value ?? []
    if (key === undefined || oldest === undefined) return
    this.closeTcp(oldest, out)
    this.tcp.delete(key)
  }

  private sctpPacket(s: TransportSegment): StreamEvent[] {
    const b = s.bytes
    const out: StreamEvent[] = []
    if (b.byteLength < 12) return out
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
    // ports and verification tag, not addresses: a multi-homed association (RFC 9260 §6.4) may
    // send over another address pair and is still the same Transport Session
    const key = `${dv.getUint16(0)}>${dv.getUint16(2)}#${dv.getUint32(4).toString(16)}`
    for (let p = 12; p + 4 <= b.byteLength;) {
      const type = b[p] ?? 0
      const flags = b[p + 1] ?? 0
      const len = dv.getUint16(p + 2)
      if (len < 4 || p + len > b.byteLength) break
      if (type === 0 && len >= 16) {
        const tsn = dv.getUint32(p + 4)
        let a = this.sctp.get(key)
        if (a === undefined) {
          if (this.sctp.size >= MAX_STREAMS) {
            const [k, oldest] = this.sctp.entries().next().value ?? []
            if (k !== undefined && oldest !== undefined) {
              closeSctp(oldest, out)
              this.sctp.delete(k)
            }
          }
          const session = `sctp ${s.src}:${String(dv.getUint16(0))}>${s.dst}:${String(dv.getUint16(2))}#${dv.getUint32(4).toString(16)}`
          a = { seen: new Set(), fragments: new Map(), session }
          this.sctp.set(key, a)
        }
        if (a.seen.has(tsn)) {
          out.push({
            kind: 'note',
            reason: 'sctp-duplicate',
            detail: `TSN ${String(tsn)} of ${key}`,
          })
        } else {
          a.seen.add(tsn)
          if (a.seen.size > SEEN_TSNS) {
            const oldest = a.seen.values().next().value
            if (oldest !== undefined) a.seen.delete(oldest)
          }
          this.sctpData(a, tsn, flags & 3, b.subarray(p + 16, p + len), out)
        }
      }
      p += len + ((4 - (len % 4)) % 4)
    }
    return out
  }

  /** One DATA chunk's user data: a whole message (B and E), or a fragment to put together. */
  private sctpData(
    a: SctpAssociation,
    tsn: number,
    flags: number,
    data: Uint8Array,
    out: StreamEvent[],
  ): void {
    if (flags === 3) {
      deliverSctp(a, data, out)
      return
    }
    if (a.fragments.size >= MAX_HELD_FRAGMENTS) {
      const oldest = a.fragments.keys().next().value
      if (oldest !== undefined) a.fragments.delete(oldest)
      out.push({
        kind: 'skip',
        reason: 'sctp-fragment',
        detail: `${a.session}: more than ${String(MAX_HELD_FRAGMENTS)} fragments held`,
      })
    }
    a.fragments.set(tsn, { flags, data })
    // walk back to the B fragment, then forward to the E one; all TSNs between must be there
    let begin = tsn
    for (let f = a.fragments.get(begin); f !== undefined && (f.flags & 2) === 0;) {
      begin = (begin - 1) >>> 0
      f = a.fragments.get(begin)
      if (f === undefined) return
    }
    const parts: Uint8Array[] = []
    for (let t = begin; ; t = (t + 1) >>> 0) {
      const f = a.fragments.get(t)
      if (f === undefined) return
      parts.push(f.data)
      if ((f.flags & 1) !== 0) {
        for (let u = begin; ; u = (u + 1) >>> 0) {
          a.fragments.delete(u)
          if (u === t) break
        }
        deliverSctp(a, Buffer.concat(parts), out)
        return
      }
    }
  }
}

/** A segment seen again: a retransmission of IPFIX, or of a stream not read as IPFIX. */
function again(st: TcpStream, key: string): StreamEvent {
  return st.read > 0
    ? { kind: 'note', reason: 'tcp-duplicate', detail: `a segment of ${key}` }
    : { kind: 'note', reason: 'not-netflow', detail: `a TCP segment of ${key}` }
}

function deliverSctp(a: SctpAssociation, data: Uint8Array, out: StreamEvent[]): void {
  // NetFlow v9 may be exported over SCTP too (draft-djernaes-netflow-9-transport), one export
  // packet per message
  const v9 = data.byteLength >= 20 && data[0] === 0 && data[1] === 9
  if (v9 || messageHeader(data)) out.push({ kind: 'message', bytes: data, sender: a.session })
  else out.push({ kind: 'note', reason: 'not-netflow', detail: `an SCTP message of ${a.session}` })
}

function closeSctp(a: SctpAssociation, out: StreamEvent[]): void {
  const begun = [...a.fragments.values()].filter((f) => (f.flags & 2) !== 0).length
  if (a.fragments.size > 0)
    out.push({
      kind: 'skip',
      reason: 'sctp-fragment',
      detail: `${a.session}: ${String(Math.max(1, begun))} message(s) missing fragments`,
    })
  a.fragments.clear()
}
