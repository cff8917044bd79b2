/**
 * @module Pairing the two one-direction records of a NetFlow/IPFIX connection per exporter, for
 * reading (read.ts) and the collector (collector.ts) alike.
 *
 * A NetFlow v1/v5/v7/v9 or IPFIX record counts the packets of one direction of a connection
 * (RFC 3954 §2 "Flow": "a unidirectional stream of packets"; RFC 7011 §2), so a connection is two
 * records, as in AWS VPC flow logs; nfdump merges them with `-B` ("bidirectional flows"). Here
 * they are merged by the pairer AWS and GCP use (direction.ts `DirectionPairer`: the ends
 * exchanged, the same protocol and action, intervals at most 60 s apart, counters summed, the
 * client from either record's evidence), but only within one exporter scope (decoder.ts
 * `PairHalf.scope`), so two exporters' records are never merged. ICMP records that carry their
 * type pair an echo request with its reply (`icmpTypes`); those whose type the exporter did not
 * give pair by their addresses, through a second pairer that sees them as AWS's typeless records
 * (ports `0 0`), and are read as echo requests after it, their direction `unknown` (a
 * pair's client is not known: either end may have pinged).
 */
import {
  HALF_ECHO_ASSUMED,
  HALF_ICMP_TYPED,
  HALF_SWAPPED,
  type Flow,
  type FlowHalf,
} from '../../core/flow.js'
import { DirectionPairer, HandshakeCarry, orient } from '../direction.js'
import type { PairHalf } from './decoder.js'

/** The flow oriented where its direction is unknown (what reading does to every unpaired flow). */
function oriented(f: Flow): Flow {
  return f.direction === 'unknown' ? orient(f) : f
}

/** A typeless ICMP record as AWS writes one (ports `0 0`, no direction), for the second pairer. */
function typeless(f: Flow): Flow {
  return { ...f, srcPort: 0, dstPort: 0, direction: 'unknown' }
}

/** A flow of the typeless pairer read as an echo request (ICMP 8, ICMPv6 128), direction kept. */
function asEcho(f: Flow): Flow {
  return { ...f, dstPort: f.protocol === 58 ? 128 : 8 }
}

/**
 * Pairs the records of one input (a file, or a collector's run) per exporter. Every record goes
 * through {@link ExporterPairer.push} with its {@link PairHalf} (undefined: a record that counts
 * both directions, given out at once, oriented); the flows given out are final (oriented where
 * the evidence allows). Bounded as `DirectionPairer`: at most 10 000 records held per pairer.
 */
export class ExporterPairer {
  private readonly typed = new DirectionPairer({ icmpTypes: true, origins: true })
  private readonly untyped = new DirectionPairer({ origins: true })
  private readonly held: Flow[] = []
  private readonly pair: boolean
  /** Without pairing: the handshake carry-over of the pairers, per exporter scope. */
  private readonly carry = new HandshakeCarry()
  /** The exporter key ({@link PairHalf.exporter}) of each record pushed that has one. */
  private readonly exporters = new WeakMap<Flow, string>()
  /** The unpaired halves given out, with their marks ({@link ExporterPairer.halfOf}). */
  private readonly marks = new WeakMap<Flow, FlowHalf>()

  /**
   * @param opts.pair - false: pair nothing (`--no-pair`), give every record out at once,
   *   oriented (a handshake's direction carried to its connection's later records, direction.ts
   *   `HandshakeCarry`), except that a typeless ICMP record stays an echo request of unknown direction.
   *   Default true.
   */
  constructor(opts: { pair?: boolean } = {}) {
    this.pair = opts.pair ?? true
  }

  /** Pairs merged so far. */
  get paired(): number {
    return this.typed.paired + this.untyped.paired
  }

  /** Accepted records read rejected because the other end of the same exporter rejected them. */
  get rejectedAtOtherEnd(): number {
    return this.typed.rejectedAtOtherEnd + this.untyped.rejectedAtOtherEnd
  }

  /**
   * Takes one record; appends to `out` the flows that are ready.
   * @param at - arrival time, ms, for {@link ExporterPairer.expire} (the collector); default 0.
   */
  push(f: Flow, half: PairHalf | undefined, out: Flow[], at = 0): void {
    if (!this.pair) out.push(half?.echoAssumed === true ? f : this.carry.orient(f, half?.scope))
    else if (half === undefined) out.push(oriented(f))
    else if (half.echoAssumed) {
      const t = typeless(f)
      if (half.exporter !== undefined) this.exporters.set(t, half.exporter)
      this.untyped.push(t, this.held, half.scope, at)
      this.drain(out)
    } else {
      if (half.exporter !== undefined) this.exporters.set(f, half.exporter)
      this.typed.push(f, this.held, half.scope, at)
      this.give(out)
    }
  }

  /**
   * The unpaired-half mark and exporter of a flow this pairer gave out: a record of one direction
   * that found no partner, whose exporter is known beyond its file ({@link PairHalf.exporter}),
   * so that the store may pair it with a record of another file (store `pairHalves`); an ICMP
   * record that carries its type is marked `HALF_ICMP_TYPED` too (the store pairs it with its
   * request or reply, as the typed pairer does). Undefined for every other flow.
   */
  halfOf(f: Flow): FlowHalf | undefined {
    return this.marks.get(f)
  }

  /** Gives out the typed pairer's output, oriented, marking its unpaired halves. */
  private give(out: Flow[]): void {
    for (const g of this.held) {
      const o = oriented(g)
      // ICMP here carries its type (typeless records go to the other pairer)
      this.mark(this.typed, g, o, g.protocol === 1 || g.protocol === 58 ? HALF_ICMP_TYPED : 0)
      out.push(o)
    }
    this.held.length = 0
  }

  /**
   * Marks `o` (given out for `g`, which `pairer` emitted) an unpaired half when `g` is one and its
   * record has an exporter key; `HALF_SWAPPED` says whether `o` is the record turned round.
   */
  private mark(pairer: DirectionPairer, g: Flow, o: Flow, extra: number): void {
    let half = pairer.halfOf(g)
    if (half === 0) return
    const record = pairer.recordOf(g)
    const exporter = record === undefined ? undefined : this.exporters.get(record)
    if (exporter === undefined) return
    if (o.src !== g.src || o.srcPort !== g.srcPort) half ^= HALF_SWAPPED
    this.marks.set(o, { half: half | extra, exporter })
  }

  /** Gives out, unpaired, the records pushed with an `at` before `before` (`DirectionPairer.expire`). */
  expire(before: number, out: Flow[]): void {
    this.typed.expire(before, this.held)
    this.give(out)
    this.untyped.expire(before, this.held)
    this.drain(out)
  }

  /** Gives out every record still held. */
  flush(out: Flow[]): void {
    this.typed.flush(this.held)
    this.give(out)
    this.untyped.flush(this.held)
    this.drain(out)
  }

  /** The typeless pairer's output, read as echo requests. */
  private drain(out: Flow[]): void {
    for (const g of this.held) {
      const o = asEcho(g)
      // its record's ports were 0 and 0 (the store looks for the other half so)
      this.mark(this.untyped, g, o, HALF_ECHO_ASSUMED)
      out.push(o)
    }
    this.held.length = 0
  }
}
