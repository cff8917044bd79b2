/**
 * `FlowStore.groupFlows` against a plain model of its contract (StoredFlowGroup in
 * src/store/store.ts): random stored flows (IPv4 and IPv6, TCP, UDP, ICMP, ICMPv6, every direction
 * and action, flows with no real time, three UTC days), random windows, example counts and
 * split choices; fast-check with the suite's fixed seed.
 */
import { describe, expect, it, vi } from 'vitest'
import fc from 'fast-check'
import { NO_TIME_MS, type Flow, type FlowDirection } from '../../src/core/index.js'
import type { StoredFlowGroup } from '../../src/store/index.js'
import { withStore } from '../helpers/store.js'
import { SEED } from '../helpers/model.js'

const DAY = 86_400_000
/** 23:00 UTC: flows of the next hours fall on the next UTC day. */
const T = Date.UTC(2026, 9, 20, 23)

const SRCS = ['10.1.0.1', '10.1.0.2', '2001:db8::1']
const DSTS = ['10.2.0.1', '2001:db8::2']
const DIRECTIONS: readonly FlowDirection[] = ['client-to-server', 'server-to-client', 'unknown']

/** An accepted client-to-server TCP flow from 10.1.0.1 to 10.2.0.1 of 1 ms. */
function tcpFlow(start: number, source: Flow['source'], srcPort = 40000, dstPort = 443): Flow {
  return {
    src: '10.1.0.1',
    dst: '10.2.0.1',
    srcPort,
    dstPort,
    protocol: 6,
    start,
    end: start + 1,
    packets: 1,
    bytes: 60,
    observedAction: 'accept',
    direction: 'client-to-server',
    source,
  }
}

/** A group as the model and the test compare it (no ids: they are the store's own). */
type Group = Omit<StoredFlowGroup, 'srcId' | 'dstId'>

/** The service ports a group keeps (StoredFlowGroup: a reply's source port, else the destination port). */
function ports(f: Flow): { srcPort: number; dstPort: number } {
  const reply = f.direction === 'server-to-client' && f.protocol !== 1 && f.protocol !== 58
  return reply ? { srcPort: f.srcPort, dstPort: 0 } : { srcPort: 0, dstPort: f.dstPort }
}

function example(f: Flow): Group['examples'][number] {
  return { source: f.source, start: f.start }
}

/** The examples' order: start, then file, line and record (absent first). */
function byExampleOrder(a: Flow, b: Flow): number {
  return (
    a.start - b.start ||
    (a.source.file < b.source.file ? -1 : a.source.file > b.source.file ? 1 : 0) ||
    (a.source.line ?? -1) - (b.source.line ?? -1) ||
    (a.source.record ?? -1) - (b.source.record ?? -1)
  )
}

/** The model: the groups of `flows` in `window`, `examples` each, unsplit. */
function model(
  flows: readonly Flow[],
  window: { since?: number; until?: number },
  examples: number,
) {
  const bounded = window.since !== undefined || window.until !== undefined
  const groups = new Map<string, Flow[]>()
  for (const f of flows) {
    if (bounded && f.start === NO_TIME_MS) continue
    if (window.since !== undefined && f.start < window.since) continue
    if (window.until !== undefined && f.start >= window.until) continue
    const key = groupKey({
      src: f.src,
      dst: f.dst,
      protocol: f.protocol,
      direction: f.direction,
      ...ports(f),
      first: f.start,
      rejected: f.observedAction === 'reject',
    })
    groups.set(key, [...(groups.get(key) ?? []), f])
  }
  return [...groups.values()].map((members) => {
    const sorted = [...members].sort(byExampleOrder)
    const f = sorted[0] as Flow
    const first = Math.min(...members.map((m) => m.start))
    return {
      members: sorted,
      group: {
        src: f.src,
        dst: f.dst,
        ...ports(f),
        protocol: f.protocol,
        direction: f.direction,
        rejected: f.observedAction === 'reject',
        count: members.length,
        first,
        lastStart: Math.max(...members.map((m) => m.start)),
        last: Math.max(...members.map((m) => m.end)),
        at: first,
        examples: sorted.slice(0, examples).map(example),
      } satisfies Group,
    }
  })
}

const flowArb = (i: number): fc.Arbitrary<Flow> =>
  fc
    .record({
      src: fc.constantFrom(...SRCS),
      dst: fc.constantFrom(...DSTS),
      protocol: fc.constantFrom(6, 17, 1, 58),
      srcPort: fc.constantFrom(0, 443, 40000, 40001),
      dstPort: fc.constantFrom(0, 443, 2048, 40000),
      direction: fc.constantFrom(...DIRECTIONS),
      // no real time, or within 4 hours from 23:00 (two UTC days), or a day later; often equal
      // (the examples' order then goes by file, line and record)
      start: fc.oneof(
        fc.constant(NO_TIME_MS),
        fc.constantFrom(T, T + 3_600_000, T + DAY),
        fc.integer({ min: 0, max: 4 * 3_600_000 }).map((d) => T + d),
        fc.integer({ min: 0, max: 3_600_000 }).map((d) => T + DAY + d),
      ),
      duration: fc.integer({ min: 0, max: 60_000 }),
      observedAction: fc.constantFrom('accept' as const, 'reject' as const, 'unknown' as const),
      file: fc.constantFrom('a.log', 'b.log'),
      byRecord: fc.boolean(),
    })
    .map((r) => ({
      src: r.src,
      dst: r.dst,
      srcPort: r.srcPort,
      dstPort: r.dstPort,
      protocol: r.protocol,
      start: r.start,
      end: r.start === NO_TIME_MS ? NO_TIME_MS : r.start + r.duration,
      packets: 1,
      bytes: 60,
      observedAction: r.observedAction,
      direction: r.direction,
      // line (or record) i + 1: unique within a file, so the examples' order is total
      source: r.byRecord
        ? { format: 'netflow', file: r.file, record: i + 1 }
        : { format: 'aws-vpc', file: r.file, line: i + 1 },
    }))

const caseArb = fc.record({
  flows: fc
    .integer({ min: 1, max: 60 })
    .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => flowArb(i)))),
  since: fc.option(
    fc.integer({ min: -1, max: 3 }).map((h) => T + h * 3_600_000),
    { nil: undefined },
  ),
  until: fc.option(
    fc.integer({ min: 1, max: 30 }).map((h) => T + h * 3_600_000),
    { nil: undefined },
  ),
  examples: fc.integer({ min: 1, max: 3 }),
  splitSrc: fc.subarray(SRCS),
})

/** The grouping key of a group, or of a flow (`first`: its start). */
function groupKey(
  g: Pick<
    Group,
    'src' | 'dst' | 'protocol' | 'direction' | 'srcPort' | 'dstPort' | 'first' | 'rejected'
  >,
): string {
  return JSON.stringify([
    g.src,
    g.dst,
    g.protocol,
    g.direction,
    g.srcPort,
    g.dstPort,
    Math.floor(g.first / DAY),
    g.first === NO_TIME_MS,
    g.rejected,
  ])
}

function sortKey(g: Group): string {
  return JSON.stringify([
    groupKey(g),
    g.count,
    g.first,
    g.lastStart,
    g.last,
    g.examples.map((e) => [e.start, e.source.file, e.source.line, e.source.record]),
  ])
}

describe('FlowStore.groupFlows', () => {
  it('gives_the_groups_of_its_contract_and_splits_the_chosen_ones_into_their_flows', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const window = {
          ...(c.since !== undefined ? { since: c.since } : {}),
          ...(c.until !== undefined ? { until: c.until } : {}),
        }
        const expected = model(c.flows, window, c.examples)
        const split = (g: { src: string; count: number }): boolean =>
          c.splitSrc.includes(g.src) && g.count > 1
        const wanted: Group[] = []
        for (const { group, members } of expected)
          if (!split(group)) wanted.push(group)
          else
            for (const f of members)
              wanted.push({
                ...group,
                count: 1,
                first: f.start,
                lastStart: f.start,
                last: f.end,
                at: f.start,
                examples: [example(f)],
              })
        const given: Group[] = []
        const ids = new Map<string, number>()
        const result = await withStore(async (s) => {
          await s.appendFlows(c.flows)
          const r = await s.groupFlows(window, { examples: c.examples, split }, (g) => {
            const { srcId, dstId, ...rest } = g
            // equal ids, equal addresses
            for (const [id, ip] of [
              [srcId, g.src],
              [dstId, g.dst],
            ] as const)
              expect(ids.get(ip) ?? ids.set(ip, id).get(ip)).toBe(id)
            given.push(rest)
          })
          return r
        })
        const splitGroups = expected.filter((e) => split(e.group)).length
        expect(result).toEqual({ groups: expected.length, split: splitGroups })
        expect([...given].sort((a, b) => sortKey(a).localeCompare(sortKey(b)))).toEqual(
          wanted.sort((a, b) => sortKey(a).localeCompare(sortKey(b))),
        )
        // the split groups' flows come after every unsplit group
        const splitKeys = new Set(
          expected.filter((e) => split(e.group)).map((e) => groupKey(e.group)),
        )
        const isSplit = given.map((g) => splitKeys.has(groupKey(g)))
        const firstSplit = isSplit.indexOf(true)
        if (firstSplit >= 0) expect(isSplit.slice(firstSplit).every(Boolean)).toBe(true)
      }),
      // each run opens a store: no shrinking (bounded time), the first counterexample is printed
      { seed: SEED, numRuns: 40, endOnFailure: true },
    )
  })

  it('orders_examples_by_start_then_file_line_and_record', async () => {
    // one group: equal starts, so file, then line, then record decide
    const at = (source: Flow['source'], start = T): Flow => tcpFlow(start, source)
    const flows = [
      at({ format: 'aws-vpc', file: 'b.log', line: 1 }),
      at({ format: 'aws-vpc', file: 'a.log', line: 9 }),
      at({ format: 'netflow', file: 'a.log', record: 3 }),
      at({ format: 'aws-vpc', file: 'a.log', line: 2 }),
      at({ format: 'aws-vpc', file: 'a.log', line: 1 }, T - 1),
    ]
    const given: StoredFlowGroup[] = []
    await withStore(async (s) => {
      await s.appendFlows(flows)
      await s.groupFlows({}, { examples: 4 }, (g) => given.push(g))
    })
    expect(given).toHaveLength(1)
    expect(given[0]?.examples.map((e) => e.source)).toEqual([
      { format: 'aws-vpc', file: 'a.log', line: 1 },
      { format: 'netflow', file: 'a.log', record: 3 },
      { format: 'aws-vpc', file: 'a.log', line: 2 },
      { format: 'aws-vpc', file: 'a.log', line: 9 },
    ])
  })

  it('splits_a_group_into_its_own_flows_not_those_of_the_same_tuple_on_other_days', async () => {
    const at = (start: number, line: number): Flow =>
      tcpFlow(start, { format: 'aws-vpc', file: 'a.log', line }, 40000 + line)
    // two flows on 20 October (one group), two on the 21st and one with no real time
    const flows = [at(T - 3_600_000, 1), at(T, 2), at(T + DAY, 3), at(T + DAY + 5, 4), at(0, 5)]
    const given: Group[] = []
    await withStore(async (s) => {
      await s.appendFlows(flows)
      const r = await s.groupFlows(
        {},
        { examples: 1, split: (g) => g.first === T - 3_600_000 },
        ({ srcId: _s, dstId: _d, ...g }) => given.push(g),
      )
      expect(r).toEqual({ groups: 3, split: 1 })
    })
    const seen = given.map((g) => [g.count, g.first, g.examples.map((e) => e.source.line)])
    // the unsplit groups in no set order, then the split group's flows in start order
    const byFirst = (x: unknown[], y: unknown[]): number => Number(x[1]) - Number(y[1])
    expect(seen.slice(0, 2).sort(byFirst)).toEqual([
      [1, 0, [5]],
      [2, T + DAY, [3]],
    ])
    expect(seen.slice(2)).toEqual([
      [1, T - 3_600_000, [1]],
      [1, T, [2]],
    ])
  })

  it('reads_the_flows_of_every_split_group_in_one_query', async () => {
    // one query per group read the whole store once per group: 190 s for 11 060 groups over a
    // million stored flows
    const flows = Array.from({ length: 80 }, (_, i) =>
      tcpFlow(
        T + (i % 2) * 60_000,
        { format: 'aws-vpc', file: 'a.log', line: i + 1 },
        40000,
        8000 + (i >> 1),
      ),
    )
    await withStore(async (s) => {
      await s.appendFlows(flows)
      const queries = vi.spyOn(s, 'queryColumnBatches')
      let given = 0
      const r = await s.groupFlows({}, { examples: 1, split: () => true }, () => given++)
      expect(r).toEqual({ groups: 40, split: 40 })
      expect(given).toBe(80)
      // the grouping query and one for the rows of the 40 split groups
      expect(queries).toHaveBeenCalledTimes(2)
    })
  })

  it('refuses_fewer_than_one_example', async () => {
    await withStore(async (s) => {
      await expect(s.groupFlows({}, { examples: 0 }, () => undefined)).rejects.toThrow(RangeError)
    })
  })
})
