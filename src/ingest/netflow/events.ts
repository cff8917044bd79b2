/**
 * @module One flow per firewall connection from Cisco NSEL's event records.
 *
 * A Cisco ASA / Firepower (NetFlow Secure Event Logging) exports events, not flows: a
 * flow-create (event 1) without counters, flow-updates (event 5) whose counters are the octets
 * and packets "since the last timer interval", and a flow-teardown (event 2) whose counters are
 * the connection's totals, as in the teardown syslog message it replaces (Cisco "ASA NetFlow
 * Implementation Guide": NF_F_FW_EVENT, "Flow Update (at timer) and Flow Update (at teardown)
 * Events"; nfdump issue #116 and ntopng issue #1359 show the same on live ASAs). Read one record a
 * flow, a connection counted 2 or more times and its octets twice. Every event of a connection
 * carries the firewall's connection id (NF_F_CONN_ID, IPFIX flowId 148), which makes the merge
 * exact rather than guessed from times.
 *
 * {@link FirewallEventMerger} folds the events of one connection into one flow, given out at the
 * teardown: from the earliest event's start to the latest event's end, with the teardown's
 * counters (or the sum of the updates', whichever is larger: a teardown template without
 * counters must not zero them). Events are expected out of order ("the packet containing a flow
 * teardown event may reach the collector before the packet containing a flow creation event"):
 * an event of a connection already given out adds nothing the teardown did not count, so it is
 * dropped and noted `late-event`. Notes: `merged-events`, `open-at-end` (no teardown by the end
 * of the input: the creation, updates and their counters so far), `open-evicted` (more than
 * {@link MAX_OPEN_CONNECTIONS} open at once: the least recently seen is given out).
 */
import { addCounters, type Flow } from '../../core/flow.js'
import { MAX_OPEN_CONNECTIONS, withNotesOf } from '../types.js'

/** One event of a firewall connection, as the decoder reads it from an NSEL record. */
export interface FirewallEvent {
  /** NF_F_FW_EVENT 1 (flow created), 5 (flow update), 2 (flow deleted, the teardown). */
  readonly kind: 'create' | 'update' | 'teardown'
  /**
   * The connection: exporter, observation domain, NF_F_CONN_ID and the 5-tuple, so that an id
   * reused after a reload names another connection.
   */
  readonly connection: string
}

/** Connections given out and remembered, so that their late events are recognised. */
const MAX_CLOSED_CONNECTIONS = MAX_OPEN_CONNECTIONS

interface Held {
  flow: Flow
  /** Octets and packets of the updates (deltas). */
  bytes: number
  packets: number
}

/** Folds the events of each firewall connection into one flow; see the module comment. */
export class FirewallEventMerger {
  private readonly open = new Map<string, Held>()
  private readonly closed = new Set<string>()

  constructor(
    /** Called with a note reason for every event folded, dropped or given out early. */
    private readonly note: (reason: string) => void,
    private readonly maxOpen = MAX_OPEN_CONNECTIONS,
  ) {}

  /**
   * Takes one decoded flow and its event (`undefined`: not an event of a connection) and returns
   * the flows ready to give out, in order: `[flow]` for a flow that is no event, the merged
   * connection at its teardown, an evicted connection, or nothing while the connection is open.
   */
  add(flow: Flow, event: FirewallEvent | undefined): Flow[] {
    if (event === undefined) return [flow]
    const key = event.connection
    if (this.closed.has(key)) {
      this.note('late-event')
      return []
    }
    const held = this.open.get(key)
    this.open.delete(key) // re-inserted last: the map stays in order of last event
    if (held !== undefined) this.note('merged-events')
    const delta = event.kind === 'update'
    const next: Held =
      held === undefined
        ? { flow, bytes: delta ? flow.bytes : 0, packets: delta ? flow.packets : 0 }
        : {
            flow: fold(held.flow, flow),
            bytes: delta ? addCounters(held.bytes, flow.bytes) : held.bytes,
            packets: delta ? addCounters(held.packets, flow.packets) : held.packets,
          }
    if (event.kind === 'teardown') {
      this.close(key)
      return [
        {
          ...next.flow,
          bytes: Math.max(flow.bytes, next.bytes),
          packets: Math.max(flow.packets, next.packets),
        },
      ]
    }
    this.open.set(key, next)
    if (this.open.size <= this.maxOpen) return []
    const [oldest] = this.open
    if (oldest === undefined) return []
    // its later events, if any, start a connection of their own (as conntrack's do)
    this.open.delete(oldest[0])
    this.note('open-evicted')
    return [given(oldest[1])]
  }

  /** Ends the input: the connections still open, each noted `open-at-end`. */
  end(): Flow[] {
    const out: Flow[] = []
    for (const held of this.open.values()) {
      this.note('open-at-end')
      out.push(given(held))
    }
    this.open.clear()
    return out
  }

  private close(key: string): void {
    this.closed.add(key)
    if (this.closed.size > MAX_CLOSED_CONNECTIONS) {
      const [first] = this.closed
      if (first !== undefined) this.closed.delete(first)
    }
  }
}

/**
 * `later`'s fields over the earlier events' span; a known direction wins over `unknown`. It
 * carries the notes of every event folded in (types.ts `withNotesOf`).
 */
function fold(earlier: Flow, later: Flow): Flow {
  const out: Flow = {
    ...later,
    start: Math.min(earlier.start, later.start),
    end: Math.max(earlier.end, later.end),
    direction: later.direction === 'unknown' ? earlier.direction : later.direction,
  }
  return withNotesOf(out, earlier, later)
}

/** An open connection given out: the updates' counters (a creation has none). */
function given(held: Held): Flow {
  return { ...held.flow, bytes: held.bytes, packets: held.packets }
}
