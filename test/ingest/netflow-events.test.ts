import { describe, expect, it } from 'vitest'
import type { Flow } from '../../src/core/flow.js'
import { netflowParser } from '../../src/ingest/formats/netflow.js'
import { FirewallEventMerger, type FirewallEvent } from '../../src/ingest/netflow/events.js'
import { flowNotesOf, newStats, noteOnFlow, type ParseContext } from '../../src/ingest/types.js'
import {
  concat,
  ip4,
  set,
  template,
  u16,
  u32,
  u64,
  u8,
  v9,
  type FieldSpec,
} from './netflow-builders.js'
import { collectOver } from './collect-helper.js'

const T0 = 1_700_000_000_000

function flow(over: Partial<Flow> = {}): Flow {
  return {
    src: '10.0.0.5',
    dst: '10.0.9.9',
    srcPort: 40000,
    dstPort: 443,
    protocol: 6,
    start: T0,
    end: T0,
    packets: 0,
    bytes: 0,
    observedAction: 'accept',
    direction: 'unknown',
    source: { format: 'netflow-v9', file: 'asa.dat', record: 0 },
    ...over,
  }
}

const ev = (kind: FirewallEvent['kind'], connection = 'asa/0/77'): FirewallEvent => ({
  kind,
  connection,
})

function merger(maxOpen?: number): { m: FirewallEventMerger; notes: string[] } {
  const notes: string[] = []
  return { m: new FirewallEventMerger((r) => notes.push(r), maxOpen), notes }
}

describe('FirewallEventMerger (Cisco NSEL events → one flow per connection)', () => {
  it('holds the updates sum at 2^53 - 1, a flow counter', () => {
    const M = Number.MAX_SAFE_INTEGER
    const { m } = merger()
    expect(m.add(flow({ bytes: M, packets: M - 1 }), ev('update'))).toEqual([])
    expect(m.add(flow({ bytes: 5, packets: 5 }), ev('update'))).toEqual([])
    expect(m.end().map((f) => [f.packets, f.bytes])).toEqual([[M, M]])
  })

  it('folds create, updates and teardown into one flow with the teardown total', () => {
    const { m, notes } = merger()
    expect(m.add(flow({ start: T0, end: T0 }), ev('create'))).toEqual([])
    expect(m.add(flow({ end: T0 + 60_000, bytes: 100, packets: 2 }), ev('update'))).toEqual([])
    expect(m.add(flow({ end: T0 + 120_000, bytes: 50, packets: 1 }), ev('update'))).toEqual([])
    const teardown = flow({
      end: T0 + 130_000,
      bytes: 180,
      packets: 4,
      direction: 'client-to-server',
      source: { format: 'netflow-v9', file: 'asa.dat', record: 9 },
    })
    expect(m.add(teardown, ev('teardown'))).toEqual([
      { ...teardown, start: T0, end: T0 + 130_000, bytes: 180, packets: 4 },
    ])
    expect(notes).toEqual(['merged-events', 'merged-events', 'merged-events'])
    expect(m.end()).toEqual([])
  })

  it('keeps the updates’ sum when the teardown carries no counters', () => {
    const { m } = merger()
    m.add(flow({ bytes: 100, packets: 2 }), ev('update'))
    m.add(flow({ bytes: 70, packets: 1 }), ev('update'))
    expect(m.add(flow(), ev('teardown'))).toMatchObject([{ bytes: 170, packets: 3 }])
  })

  it('drops an event arriving after its connection’s teardown (counted in the total)', () => {
    const { m, notes } = merger()
    expect(m.add(flow({ bytes: 500, packets: 5 }), ev('teardown'))).toHaveLength(1)
    // the "flow update (at teardown)" and a create sent in a later datagram
    expect(m.add(flow({ bytes: 40, packets: 1 }), ev('update'))).toEqual([])
    expect(m.add(flow(), ev('create'))).toEqual([])
    expect(notes).toEqual(['late-event', 'late-event'])
    expect(m.end()).toEqual([])
  })

  it('gives out connections still open at the end with the updates so far', () => {
    const { m, notes } = merger()
    m.add(flow({ start: T0 }), ev('create', 'a'))
    m.add(flow({ start: T0, end: T0 + 9, bytes: 10, packets: 1 }), ev('update', 'a'))
    m.add(flow({ srcPort: 40001, start: T0 + 5, end: T0 + 5 }), ev('create', 'b'))
    expect(m.end().map((f) => [f.srcPort, f.start, f.end, f.bytes, f.packets])).toEqual([
      [40000, T0, T0 + 9, 10, 1],
      [40001, T0 + 5, T0 + 5, 0, 0],
    ])
    expect(notes).toEqual(['merged-events', 'open-at-end', 'open-at-end'])
  })

  it('passes flows that are no events through, and keeps connections apart by key', () => {
    const { m } = merger()
    const plain = flow({ bytes: 1 })
    expect(m.add(plain, undefined)).toEqual([plain])
    m.add(flow({ bytes: 10 }), ev('update', 'x'))
    expect(m.add(flow({ bytes: 99 }), ev('teardown', 'y'))).toMatchObject([{ bytes: 99 }])
    expect(m.end()).toMatchObject([{ bytes: 10 }])
  })

  it('bounds the open connections: the least recently seen is given out first', () => {
    const { m, notes } = merger(2)
    m.add(flow({ srcPort: 1 }), ev('create', '1'))
    m.add(flow({ srcPort: 2 }), ev('create', '2'))
    m.add(flow({ srcPort: 1, bytes: 5 }), ev('update', '1')) // 1 seen again: 2 is the oldest
    expect(m.add(flow({ srcPort: 3 }), ev('create', '3'))).toMatchObject([{ srcPort: 2 }])
    expect(notes).toEqual(['merged-events', 'open-evicted'])
  })
})

/** A Cisco ASA-like NSEL template: conn id, 5-tuple, event, event time, start, fwd/rev octets. */
const NSEL: readonly FieldSpec[] = [
  [148, 4],
  [8, 4],
  [7, 2],
  [12, 4],
  [11, 2],
  [4, 1],
  [233, 1],
  [323, 8],
  [152, 8],
  [231, 4],
  [232, 4],
]

function nsel(r: {
  conn: number
  event: number
  at: number
  start?: number
  fwd?: number
  rev?: number
  sp?: number
}): Uint8Array {
  return concat(
    u32(r.conn),
    ip4('10.1.1.10'),
    u16(r.sp ?? 51000),
    ip4('10.2.2.20'),
    u16(1433),
    u8(6),
    u8(r.event),
    u64(r.at),
    u64(r.start ?? T0),
    u32(r.fwd ?? 0),
    u32(r.rev ?? 0),
  )
}

const H = { sysUptime: 1000, secs: T0 / 1000 + 600, sourceId: 0 }
const TEMPLATE = template(0, 263, NSEL)

async function parse(bytes: Uint8Array): Promise<{ flows: Flow[]; ctx: ParseContext }> {
  const ctx: ParseContext = { file: 'asa.dat', strict: false, stats: newStats() }
  const flows: Flow[] = []
  async function* one(): AsyncGenerator<Uint8Array> {
    yield bytes
  }
  for await (const f of netflowParser.parse(one(), ctx)) flows.push(f)
  return { flows, ctx }
}

describe('netflow files: NSEL events of one connection', () => {
  it('one flow per connection: create, update, teardown in two datagrams; a denial apart', async () => {
    const file = concat(
      v9(
        H,
        TEMPLATE,
        set(
          263,
          concat(
            nsel({ conn: 77, event: 1, at: T0 }),
            nsel({ conn: 77, event: 5, at: T0 + 60_000, fwd: 1000, rev: 4000 }),
            // a denied attempt: no connection (id 0), a flow of its own
            nsel({ conn: 0, event: 3, at: T0 + 61_000, sp: 51001 }),
          ),
        ),
      ),
      v9(
        H,
        set(
          263,
          concat(
            // the teardown carries the totals; the last update after it adds nothing
            nsel({ conn: 77, event: 2, at: T0 + 90_000, fwd: 1500, rev: 6000 }),
            nsel({ conn: 77, event: 5, at: T0 + 90_000, fwd: 500, rev: 2000 }),
            // another connection on the same ports later: another id, another flow
            nsel({ conn: 78, event: 2, at: T0 + 95_000, start: T0 + 94_000, fwd: 10, rev: 20 }),
          ),
        ),
      ),
    )
    const { flows, ctx } = await parse(file)
    expect(
      flows.map((f) => [f.srcPort, f.start - T0, f.end - T0, f.bytes, f.observedAction]),
    ).toEqual([
      [51001, 0, 61_000, 0, 'reject'],
      [51000, 0, 90_000, 7500, 'accept'],
      [51000, 94_000, 95_000, 30, 'accept'],
    ])
    expect(flows[1]).toMatchObject({
      src: '10.1.1.10',
      dst: '10.2.2.20',
      dstPort: 1433,
      direction: 'client-to-server',
      source: { record: 1 },
    })
    expect(ctx.stats.records).toBe(3)
    expect(ctx.stats.notes).toEqual({ 'merged-events': 2, 'late-event': 1 })
  })

  it('a connection without its teardown is given out at the end of the file', async () => {
    const file = v9(
      H,
      TEMPLATE,
      set(
        263,
        concat(
          nsel({ conn: 5, event: 1, at: T0 }),
          nsel({ conn: 5, event: 5, at: T0 + 60_000, fwd: 30, rev: 70 }),
        ),
      ),
    )
    const { flows, ctx } = await parse(file)
    expect(flows.map((f) => [f.start - T0, f.end - T0, f.bytes])).toEqual([[0, 60_000, 100]])
    expect(ctx.stats.notes).toEqual({ 'merged-events': 1, 'open-at-end': 1 })
  })

  it('the collector merges them too, and gives open connections out when it closes', async () => {
    // one flow comes at the teardown; the connection still open comes when the collector closes
    const { flows, collector: c } = await collectOver(
      [
        v9(
          H,
          TEMPLATE,
          set(
            263,
            concat(
              nsel({ conn: 9, event: 1, at: T0 }),
              nsel({ conn: 9, event: 2, at: T0 + 5000, fwd: 1, rev: 2 }),
              nsel({ conn: 10, event: 1, at: T0 + 6000, start: T0 + 6000, sp: 52000 }),
            ),
          ),
        ),
      ],
      1,
    )
    expect(flows.map((f) => [f.srcPort, f.start - T0, f.end - T0, f.bytes])).toEqual([
      [51000, 0, 5000, 3],
      [52000, 6000, 6000, 0],
    ])
    expect(c.stats.notes).toEqual({ 'merged-events': 1, 'open-at-end': 1 })
  })
})

describe('the notes of the events folded ride on the connection', () => {
  it('the merged flow carries each event’s record notes once; a late event takes its own away', () => {
    const m = new FirewallEventMerger(() => undefined)
    const create = flow()
    noteOnFlow(create, 'time-from-export')
    const teardown = flow({ end: T0 + 10, packets: 3, bytes: 300 })
    noteOnFlow(teardown, 'end-before-start')
    expect(m.add(create, ev('create'))).toEqual([])
    const [merged] = m.add(teardown, ev('teardown'))
    expect(merged && flowNotesOf(merged)).toEqual(['time-from-export', 'end-before-start'])
    const late = flow()
    noteOnFlow(late, 'sampling-rate:10')
    expect(m.add(late, ev('update'))).toEqual([])
  })
})
