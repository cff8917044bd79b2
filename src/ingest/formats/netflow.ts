/**
 * @module The `netflow` ByteParser: files of raw NetFlow v1 / v5 / v7 / v9 / IPFIX datagrams (UDP
 * payloads).
 *
 * A file holds one datagram or several concatenated back to back (as `nc -u -l > file` writes
 * them). Datagram boundaries, see {@link splitDatagrams}:
 * - v6 (not decoded: one `bad-version` datagram): 24 + 52 · count octets; v8 likewise, 28 +
 *   count · its aggregation scheme's record length ({@link V8_RECORD_LENGTHS});
 * - v1, v5, v7: header + count · record length octets (16 + 48 · count, 24 + 48 · count,
 *   24 + 52 · count; count from the header; netflow/fixed.ts), unless the bytes after that length
 *   start no datagram and a v1/v5/v7 header exported within the hour starts inside it: the
 *   datagram was cut short and ends there ({@link frameFixed});
 * - IPFIX: the header's length field (RFC 7011 §3.1), unless the header of the next message of
 *   the same observation domain, exported within the hour, starts inside it: the message was cut
 *   short (a capture's snap length) and ends there;
 * - v9 has no length field (RFC 3954 §5.1) and its `count` is unreliable across exporters, so the
 *   FlowSets are walked by their lengths until the next 16-bit word is a version number (5, 7, 9
 *   or 10) or another reserved FlowSet id (2–255, RFC 3954 §5.3), or a v1 header (whose version
 *   word 1 is also the options template FlowSet id: see {@link frame}), or the input ends.
 * Zero octets between datagrams are padding (PAN-OS pads v9 datagrams with zeros to a fixed
 * size; a v9 FlowSet id 0 of length 0 ends its datagram). Bytes that frame as no datagram (an
 * unknown version, an impossible length, a datagram cut short) are one bad datagram, counted, up
 * to the next offset where a datagram plausibly starts (its header and lengths fit, and it is
 * followed by the end, zero padding or another such start); reading goes on from there, so one
 * damaged datagram does not lose the rest of the file. Nothing inside the bad bytes is decoded.
 *
 * All datagrams of a file share one exporter key (the file name), so a file holding templates
 * and then data decodes completely; in a read of several files (`ctx.run`), data left without
 * a template at the end of its file may take one from another file of the read that the same
 * exporter process sent (netflow/run.ts). `source.record` is the datagram index, 0-based.
 * The events of one firewall connection (Cisco NSEL create, updates, teardown) are one flow,
 * given out at its teardown, or at the end of the file (netflow/events.ts).
 */
import type { Flow } from '../../core/flow.js'
import { NetflowDecoder, type DecodeProblem, type PairHalf } from '../netflow/decoder.js'
import { FirewallEventMerger } from '../netflow/events.js'
import { FIXED_LAYOUTS, fixedLength, MAX_FIXED_LENGTH, type FixedLayout } from '../netflow/fixed.js'
import {
  captureKind,
  CaptureReader,
  capturedPackets,
  type CapturedPacket,
} from '../netflow/pcap.js'
import {
  countFlowNotes,
  note,
  noteOnFlow,
  skip,
  type ByteParser,
  type ParseContext,
} from '../types.js'

/**
 * Largest datagram the splitter waits for before declaring it bad (a UDP payload is at most
 * 65,535 octets; a v7 header's count may announce 24 + 52·65535).
 */
const MAX_DATAGRAM = MAX_FIXED_LENGTH

/** The version words of the datagrams read: NetFlow v1, v5, v7, v9 and IPFIX (10). */
const VERSIONS: ReadonlySet<number> = new Set([...FIXED_LAYOUTS.keys(), 9, 10])

/** One datagram cut from a byte stream, or the unusable remainder of it. */
export interface SplitDatagram {
  readonly bytes: Uint8Array
  /** False when the bytes could not be framed as a datagram (the decoder reports why). */
  readonly framed: boolean
}

/**
 * Record length in octets of each NetFlow v8 aggregation scheme (1 AS, 2 protocol-port, 3 source
 * prefix, 4 destination prefix, 5 prefix, 6 destination-only, 7 source-destination, 8 full flow,
 * 9–14 their ToS variants), index = the scheme number in header octet 22. Source: flow-tools
 * `lib/ftlib.h`, `struct ftpdu_v8_1` … `ftpdu_v8_14` (Cisco's v8 export formats).
 */
const V8_RECORD_LENGTHS: readonly (number | undefined)[] = [
  undefined,
  28,
  28,
  32,
  32,
  40,
  32,
  40,
  44,
  32,
  32,
  32,
  32,
  40,
  40,
]

/**
 * Length of the datagram at the start of `b`, or `'wait'` when more bytes are needed, or
 * `'rest'` when it cannot be framed (the rest of the input is one bad datagram).
 */
function frame(b: Uint8Array, final: boolean): number | 'wait' | 'rest' {
  if (b.byteLength < 4) return final ? 'rest' : 'wait'
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
  const version = dv.getUint16(0)
  const layout = FIXED_LAYOUTS.get(version)
  if (layout !== undefined) return frameFixed(b, dv, layout, final)
  if (version === 6) {
    // NetFlow v6 (v5's 24-octet header, 52-octet records; not decoded): framed by its count so
    // that it is one `bad-version` datagram, not bytes resynchronised inside it (its count word
    // at offset 2 starts a plausible v1 header, and a made-up flow came out)
    const len = 24 + 52 * dv.getUint16(2)
    if (b.byteLength < len) return final ? 'rest' : 'wait'
    return len
  }
  if (version === 8) {
    // NetFlow v8 (router-based aggregation; not decoded): a 28-octet header whose octet 22 names
    // the aggregation scheme, then `count` records of that scheme's length. Framed so that it is
    // one `bad-version` datagram; an unknown scheme cannot be framed
    if (b.byteLength < 28) return final ? 'rest' : 'wait'
    const recordLength = V8_RECORD_LENGTHS[dv.getUint8(22)]
    if (recordLength === undefined) return 'rest'
    const len = 28 + recordLength * dv.getUint16(2)
    if (b.byteLength < len) return final ? 'rest' : 'wait'
    return len
  }
  if (version === 10) {
    const len = dv.getUint16(2)
    if (len < 16) return 'rest'
    if (b.byteLength < len) return final ? 'rest' : 'wait'
    // a message cut short (a capture's snap length) has the next one inside the length it
    // claims: a header of the same observation domain, exported within the hour, starts there,
    // and the cut one ends where it does
    const domain = dv.getUint32(12)
    const exported = dv.getUint32(4)
    for (let q = 20; q + 16 <= len; q++) {
      if (
        b[q] === 0 &&
        b[q + 1] === 10 &&
        dv.getUint16(q + 2) >= 16 &&
        dv.getUint32(q + 12) === domain &&
        Math.abs(dv.getUint32(q + 4) - exported) <= 3600
      )
        return q
    }
    return len
  }
  if (version === 9) {
    let p = 20
    for (;;) {
      if (p > b.byteLength) return final ? 'rest' : 'wait'
      if (p === b.byteLength) return final ? p : 'wait'
      if (b.byteLength - p < 4) return final ? b.byteLength : 'wait'
      const id = dv.getUint16(p)
      if (id !== 1 && VERSIONS.has(id)) return p
      if (id === 1) {
        // FlowSet id 1 (options template) or a v1 header: the v1 header when its "options
        // template" would not fit its own FlowSet length and it is a plausible v1 header
        const v1 = v1After(b, dv, p, final)
        if (v1 === 'wait') return 'wait'
        if (v1) return p
      }
      // FlowSet ids 2-255 are reserved (RFC 3954 §5.3): no FlowSet of this datagram starts
      // here, so it ends, and what follows is framed (or resynchronised) on its own
      if (id >= 2 && id <= 255) return p > 20 ? p : 'rest'
      const len = dv.getUint16(p + 2)
      // zero padding to a fixed datagram size (PAN-OS): the datagram ends here, and the
      // splitter skips the zeros up to the next version word
      if (id === 0 && len === 0) return p
      if (len < 4) return 'rest'
      p += len
    }
  }
  return 'rest'
}

/**
 * Whether the octets at `at` start zero padding or a datagram: a zero, then a zero or the low
 * octet of a version word.
 */
function paddingOrVersion(b: Uint8Array, at: number): boolean {
  const next = b[at + 1]
  return b[at] === 0 && next !== undefined && (next === 0 || VERSIONS.has(next))
}

/**
 * {@link frame} for a v1/v5/v7 datagram: the length its count announces when the input ends
 * there or zero padding or a version word follows (the count agrees with the bytes). Otherwise
 * the datagram may have been cut short (a capture's snap length): when a plausible v1/v5/v7
 * header ({@link fixedHeaderPlausible}) exported within the hour of this one starts inside the
 * announced length, the datagram ends there. Else the announced length when the bytes are all
 * there (what follows is resynchronised), `'rest'` when the input ends first.
 */
function frameFixed(
  b: Uint8Array,
  dv: DataView,
  layout: FixedLayout,
  final: boolean,
): number | 'wait' | 'rest' {
  const len = fixedLength(layout, dv.getUint16(2))
  if (b.byteLength >= len + 2 || (final && b.byteLength >= len)) {
    if (b.byteLength === len || paddingOrVersion(b, len)) return len
  } else if (!final) return 'wait'
  const end = Math.min(len, b.byteLength)
  const exported = b.byteLength >= 12 ? dv.getUint32(8) : 0
  for (let q = layout.headerLength; q + 16 <= end; q++) {
    const other = b[q] === 0 ? FIXED_LAYOUTS.get(b[q + 1] ?? 0) : undefined
    if (
      other !== undefined &&
      fixedHeaderPlausible(dv, q, other) &&
      Math.abs(dv.getUint32(q + 8) - exported) <= 3600
    )
      return q
  }
  return b.byteLength >= len ? len : 'rest'
}

/**
 * Cuts a stream of byte chunks into datagrams (rules in the module comment). Buffers at most one
 * datagram plus one chunk.
 */
export async function* splitDatagrams(
  chunks: AsyncIterable<Uint8Array>,
): AsyncGenerator<SplitDatagram> {
  let buf: Uint8Array = new Uint8Array(0)
  const drain = function* (final: boolean): Generator<SplitDatagram> {
    while (buf.byteLength > 0) {
      if (buf[0] === 0) {
        // zeros between datagrams (padded datagrams, fixed-size capture slots) are no version
        // word: skip them to the zero octet that starts the next one
        const q = buf.findIndex((x) => x !== 0)
        if (q === -1) {
          buf = final ? new Uint8Array(0) : buf.subarray(buf.byteLength - 1)
          return
        }
        buf = buf.subarray(q - 1)
      }
      const f = frame(buf, final)
      // a datagram that never completes (its lengths were read from damaged bytes) is as bad
      // as one that cannot be framed
      if (f === 'wait' && buf.byteLength <= MAX_DATAGRAM) return
      if (f === 'wait' || f === 'rest') {
        // bytes that do not frame (a datagram cut short, garbage): one bad datagram up to the
        // next offset where a datagram plausibly starts, and reading goes on from there
        const q = resync(buf)
        if (q > 0) {
          yield { bytes: buf.subarray(0, q), framed: false }
          buf = buf.subarray(q)
          continue
        }
        if (!final && buf.byteLength <= MAX_DATAGRAM) return // a header may still come
        yield { bytes: buf, framed: false }
        buf = new Uint8Array(0)
        return
      }
      yield { bytes: buf.subarray(0, f), framed: true }
      buf = buf.subarray(f)
    }
  }
  for await (const chunk of chunks) {
    if (buf.byteLength === 0) buf = chunk
    else {
      const next = new Uint8Array(buf.byteLength + chunk.byteLength)
      next.set(buf, 0)
      next.set(chunk, buf.byteLength)
      buf = next
    }
    yield* drain(false)
  }
  yield* drain(true)
}

/**
 * Whether a NetFlow v1 header, rather than a v9 options template FlowSet (also id 1), starts at
 * `p` inside a v9 datagram: read as a FlowSet, its options template (template id, scope length,
 * option length: 6 octets after the FlowSet header, RFC 3954 §6.1) would run past the FlowSet
 * length (a v1 header's count, at most 24, against `unix_secs`'s high half as option length),
 * and as a v1 header its count and `unix_nsecs` are plausible ({@link fixedHeaderPlausible}).
 * `'wait'` while the 16 octets of a v1 header are not all there.
 */
function v1After(b: Uint8Array, dv: DataView, p: number, final: boolean): boolean | 'wait' {
  if (b.byteLength - p < 16) return final ? false : 'wait'
  const setLength = dv.getUint16(p + 2)
  if (10 + dv.getUint16(p + 6) + dv.getUint16(p + 8) <= setLength) return false
  return V1 !== undefined && fixedHeaderPlausible(dv, p, V1)
}

const V1 = FIXED_LAYOUTS.get(1)

/** Bytes a resynchronisation looks at for a plausible header (a whole v9/IPFIX datagram's worth). */
const RESYNC_HEAD = 65_536

/**
 * The first offset after the start of `b` where a NetFlow/IPFIX datagram plausibly starts (the
 * version word and the lengths after it fit, as {@link detectNetflow} judges a file's start), or
 * -1. Scans at most {@link MAX_DATAGRAM} octets.
 */
function resync(b: Uint8Array): number {
  const limit = Math.min(b.byteLength - 16, MAX_DATAGRAM)
  for (let q = 1; q <= limit; q++) {
    if (b[q] !== 0) continue
    if (!VERSIONS.has(b[q + 1] ?? 0)) continue
    if (detectDatagram(b.subarray(q, q + RESYNC_HEAD)) < 0.9) continue
    // and it frames, followed by the end of the bytes, zero padding or another such start: a
    // header's worth of record bytes that happens to look like one is not taken
    const len = frame(b.subarray(q), true)
    if (typeof len !== 'number') continue
    const next = q + len
    if (
      next === b.byteLength ||
      b.subarray(next, next + 64).every((x) => x === 0) ||
      detectDatagram(b.subarray(next, next + RESYNC_HEAD)) >= 0.9
    )
      return q
  }
  return -1
}

/**
 * Whether the fixed-layout header at `p` is plausible: a count of 1 to the layout's most records,
 * and `unix_nsecs` (residual nanoseconds) below 10^9. Needs 16 octets at `p`.
 */
function fixedHeaderPlausible(dv: DataView, p: number, layout: FixedLayout): boolean {
  const count = dv.getUint16(p + 2)
  return count >= 1 && count <= layout.maxRecords && dv.getUint32(p + 12) < 1e9
}

/**
 * Confidence that `head` starts with a NetFlow v1/v5/v7 datagram of `layout`. The count must fit
 * the datagram's length, the strong signal of a fixed layout: 0.9 when the header is plausible
 * ({@link fixedHeaderPlausible}) and the datagram it announces ends where `head` ends, or is
 * followed by zero padding or a version word; 0.5 when something else follows (a file of
 * one datagram and trailing bytes); 0.3 when `head` is shorter than the datagram; else 0.
 */
function fixedConfidence(head: Uint8Array, dv: DataView, layout: FixedLayout): number {
  if (!fixedHeaderPlausible(dv, 0, layout)) return 0
  const len = fixedLength(layout, dv.getUint16(2))
  if (head.byteLength < len) return 0.3
  return head.byteLength === len || paddingOrVersion(head, len) ? 0.9 : 0.5
}

/**
 * Confidence that `head` starts with NetFlow/IPFIX: a datagram ({@link detectDatagram}), or a
 * packet capture (libpcap or pcapng): 0.95 when a NetFlow/IPFIX payload is among the packets of
 * `head`, else 0.6 — a capture is recognised by its magic number alone (no other format starts
 * so, and only this parser reads captures), since its first 64 KiB may hold other traffic
 * only; reading the whole capture finds the NetFlow/IPFIX in it, or says there is none
 * (`no-netflow-in-capture`).
 */
export function detectNetflow(head: Uint8Array): number {
  if (captureKind(head) === undefined) return detectDatagram(head)
  for (const p of new CaptureReader().push(head)) {
    if (p.kind !== 'message') continue
    if (p.transport !== 'udp') return 0.95
    if (p.bytes[0] === 0 && VERSIONS.has(p.bytes[1] ?? -1) && detectDatagram(p.bytes) >= 0.5)
      return 0.95
  }
  return CAPTURE_CONFIDENCE
}

/** Confidence in a packet capture whose head shows no NetFlow/IPFIX (see {@link detectNetflow}). */
const CAPTURE_CONFIDENCE = 0.6

/**
 * Confidence that `head` starts with a NetFlow v1/v5/v7/v9 or IPFIX datagram: 0.9–0.95 when the
 * version word and the lengths that follow are plausible, 0 otherwise (text never starts with a
 * NUL octet, and every version word here does); for v1/v5/v7 see {@link fixedConfidence}.
 */
function detectDatagram(head: Uint8Array): number {
  if (head.byteLength < 16 || head[0] !== 0) return 0
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength)
  const version = dv.getUint16(0)
  const layout = FIXED_LAYOUTS.get(version)
  if (layout !== undefined) return fixedConfidence(head, dv, layout)
  if (version === 9) {
    if (head.byteLength < 24) return 0
    const id = dv.getUint16(20)
    const len = dv.getUint16(22)
    if (!(id <= 1 || id >= 256) || len < 4) return 0
    // the first FlowSet must fit, unless the head was cut at 64 KiB
    return 20 + len <= head.byteLength || head.byteLength >= 65536 ? 0.9 : 0
  }
  if (version === 10) {
    const len = dv.getUint16(2)
    if (len < 20 || head.byteLength < 20) return 0
    const id = dv.getUint16(16)
    const setLen = dv.getUint16(18)
    if (!(id === 2 || id === 3 || id >= 256) || setLen < 4 || setLen > len - 16) return 0
    return len <= head.byteLength ? 0.95 : 0.5
  }
  return 0
}

/**
 * A datagram of a file: as {@link splitDatagrams} cuts it from raw payloads, or a NetFlow/IPFIX
 * payload of a captured packet (UDP; an IPFIX message of a TCP stream or SCTP association) with
 * its `sender` (the exporter for UDP, the Transport Session for TCP and SCTP: templates are kept
 * per sender, RFC 7011 §8, §10.3.2, §10.4.2); or a captured packet that is not NetFlow/IPFIX,
 * or something counted about a stream (`note`).
 */
export type FileDatagram =
  | (SplitDatagram & { readonly sender?: string })
  | {
      readonly reason: Exclude<CapturedPacket, { kind: 'message' }>['reason'] | 'not-netflow'
      readonly detail: string
      /** Counted as a note, not a skip. */
      readonly note?: true
    }

/**
 * The datagrams of a file's bytes: the NetFlow/IPFIX payloads when it is a packet capture
 * (libpcap or pcapng, netflow/pcap.ts; a UDP payload that does not start with a NetFlow/IPFIX
 * version word is `not-netflow`), else {@link splitDatagrams}.
 */
export async function* fileDatagrams(
  chunks: AsyncIterable<Uint8Array>,
): AsyncGenerator<FileDatagram> {
  const it = chunks[Symbol.asyncIterator]()
  const first: Uint8Array[] = []
  let n = 0
  let done = false
  while (n < 12 && !done) {
    const r = await it.next()
    if (r.done === true) done = true
    else {
      first.push(r.value)
      n += r.value.byteLength
    }
  }
  const rest = async function* (): AsyncGenerator<Uint8Array> {
    yield* first
    if (done) return
    for (let r = await it.next(); r.done !== true; r = await it.next()) yield r.value
  }
  const head = first.length === 1 ? first[0] : Buffer.concat(first)
  if (head === undefined || captureKind(head) === undefined) {
    yield* splitDatagrams(rest())
    return
  }
  for await (const p of capturedPackets(rest())) {
    if (p.kind === 'skip') yield { reason: p.reason, detail: p.detail }
    else if (p.kind === 'note') yield { reason: p.reason, detail: p.detail, note: true }
    else if (p.transport !== 'udp' || (p.bytes[0] === 0 && VERSIONS.has(p.bytes[1] ?? -1)))
      yield { bytes: p.bytes, framed: true, sender: p.sender }
    else yield { reason: 'not-netflow', detail: `a UDP payload from ${p.sender}` }
  }
}

/**
 * Counts a decoder's problem in `ctx.stats` ({@link skip}, {@link note}); a note about a record's
 * flow (`DecodeProblem.flow`) goes onto that flow instead ({@link noteOnFlow}), to be counted when
 * the flow is given out. For files and the collector alike.
 */
export function reportProblem(ctx: ParseContext, p: DecodeProblem): void {
  if (p.flow !== undefined) noteOnFlow(p.flow, p.reason)
  else if (p.kind === 'note') note(ctx, p.reason, p.count)
  else skip(ctx, p.reason, `${p.file}#${p.record}`, p.detail)
}

/**
 * Parses a file of datagrams through one {@link NetflowDecoder} whose exporter key is `ctx.file`;
 * data still without a template at the end goes to `ctx.run.netflow` when there is one.
 * Emitted flows are counted in `ctx.stats.records`; problems go through {@link reportProblem}.
 */
async function* parseNetflow(
  chunks: AsyncIterable<Uint8Array>,
  ctx: ParseContext,
): AsyncGenerator<Flow> {
  const decoder = new NetflowDecoder()
  const connections = new FirewallEventMerger((reason) => note(ctx, reason))
  let record = 0
  /** Packets of a capture that are no NetFlow/IPFIX, and whether any was (a capture only). */
  let others = 0
  let netflowSeen = false
  for await (const d of fileDatagrams(chunks)) {
    if ('reason' in d) {
      const where = `${ctx.file}#${record++}`
      if (d.reason === 'not-udp' || d.reason === 'not-netflow') {
        others++
        note(ctx, `capture-${d.reason}`)
      } else if (d.note === true) note(ctx, d.reason)
      else {
        // a stream's loss is of NetFlow/IPFIX; a fragment or a damaged container may be anything
        netflowSeen ||=
          d.reason === 'tcp-gap' || d.reason === 'bad-stream' || d.reason === 'sctp-fragment'
        skip(ctx, d.reason, where, d.detail)
      }
      continue
    }
    netflowSeen = true
    const exporter = d.sender === undefined ? ctx.file : `${ctx.file} ${d.sender}`
    const meta = { exporter, file: ctx.file, record: record++ }
    const r = decoder.decode(d.bytes, meta)
    // an unframed remainder the decoder happened to accept still gets flagged
    if (!d.framed && r.problems.every((p) => p.kind !== 'skip')) {
      skip(
        ctx,
        'bad-length',
        `${ctx.file}#${meta.record}`,
        `${d.bytes.byteLength} trailing octets do not form a datagram`,
      )
    }
    for (const p of r.problems) reportProblem(ctx, p)
    for (const f of r.flows) yield* counted(connections.add(f, r.events.get(f)), r.halves)
  }
  if (!netflowSeen)
    skip(
      ctx,
      'no-netflow-in-capture',
      ctx.file,
      `no NetFlow/IPFIX in this capture: ${String(others)} packets of other traffic (NetFlow/IPFIX is read from UDP, TCP and SCTP payloads)`,
    )
  const run = ctx.run?.netflow
  const end = run ? await run.endFile(decoder, ctx.file) : decoder.flush()
  for (const p of end.problems) reportProblem(ctx, p)
  for (const f of end.flows) yield* counted(connections.add(f, end.events.get(f)), end.halves)
  yield* counted(connections.end())

  /**
   * `flows`, counted; each with its exporter scope in `ctx.halves` when `halves` gives one. Their
   * notes ride on them when reading carries notes (types.ts `ParseStats.notesRide`), else (the
   * parser run on its own, whose flows are final) they are counted here.
   */
  function* counted(flows: readonly Flow[], halves?: ReadonlyMap<Flow, PairHalf>): Generator<Flow> {
    for (const f of flows) {
      ctx.stats.records++
      if (ctx.stats.notesRide !== true) countFlowNotes(ctx.stats, f)
      const half = halves?.get(f)
      if (half !== undefined) ctx.halves?.set(f, half)
      yield f
    }
  }
}

/** The `netflow` parser (NetFlow v1, v5, v7, v9 and IPFIX datagram files). */
export const netflowParser: ByteParser = {
  format: 'netflow',
  kind: 'bytes',
  detect: detectNetflow,
  parse: parseNetflow,
}
