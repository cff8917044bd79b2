import { describe, it, expect } from 'vitest'
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { BulkheadError, normalizeIp } from '../../src/core/index.js'
import { HUBBLE_DEDUP_MAX_KEYS, hubbleParser } from '../../src/ingest/formats/hubble.js'
import { linesOf, runLines } from './text-helpers.js'
import { CORPUS_SKIP, corpusPath, corpusTitle } from '../helpers/corpora.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/flows/', import.meta.url))
const CORPUS = corpusPath('hubble/')

const run = (lines: readonly string[], file = 'h.json', strict = false) =>
  runLines(hubbleParser, lines, { file, strict })
const fixture = (name: string): string => readFileSync(FIXTURES + name, 'utf8')
const head = (text: string): Uint8Array => new TextEncoder().encode(text.slice(0, 65536))

/** A minimal jsonpb line. */
function line(
  over: Record<string, unknown> = {},
  l4: Record<string, unknown> = { TCP: { source_port: 1000, destination_port: 80 } },
): string {
  return JSON.stringify({
    flow: {
      time: '2024-01-01T00:00:00.000Z',
      verdict: 'FORWARDED',
      IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: 'IPv4' },
      l4,
      Type: 'L3_L4',
      is_reply: false,
      ...over,
    },
  })
}

describe('hubble: notes count only records given out', () => {
  it('a record of an IPv4 and an IPv6 end is skipped before its notes count', async () => {
    const mixed = line({
      time: undefined, // no-timestamp
      verdict: 'AUDIT', // audit
      IP: { source: '10.0.0.1', destination: '2001:db8::2' },
      source: { labels: ['k8s:bad key=x'] }, // dropped-label
    })
    const { flows, ctx } = await run([mixed, line()])
    expect(flows.map((f) => f.source.line)).toEqual([2])
    expect(ctx.stats.skipped).toEqual({ 'mixed-address-families': 1 })
    expect(ctx.stats.notes).toEqual({})
    expect(ctx.stats.examples[0]?.where).toBe('h.json:1')
  })
})

describe('hubble jsonpb fixture (hubble-jsonpb.json)', () => {
  it('maps flows, names, labels, reply marking, verdicts and notes', async () => {
    const { flows, ctx } = await run(linesOf(fixture('hubble-jsonpb.json')), 'hubble-jsonpb.json')
    expect(ctx.stats.skipped).toEqual({})
    expect(ctx.stats.notes).toEqual({
      'duplicate-observation': 1,
      l7: 1,
      audit: 1,
      'node-status': 1,
      'lost-events': 12, // the events Hubble lost (num_events_lost), not the line
    })
    expect(flows.map((f) => f.source.line)).toEqual([1, 3, 5, 6, 7, 8, 9, 10, 11, 12])
    expect(flows[0]).toEqual({
      src: '10.244.1.17',
      dst: '10.244.2.33',
      srcPort: 51234,
      dstPort: 7070,
      protocol: 6,
      start: Date.UTC(2024, 2, 5, 10, 0, 0, 100),
      end: Date.UTC(2024, 2, 5, 10, 0, 0, 100),
      packets: 0,
      bytes: 0,
      observedAction: 'accept',
      direction: 'client-to-server',
      source: { format: 'hubble', file: 'hubble-jsonpb.json', line: 1 },
      tcpFlags: 2,
      srcName: 'shop/frontend[Deployment]',
      dstName: 'shop/cartservice[Deployment]',
      srcLabels: { app: 'frontend', tier: 'web', namespace: 'shop' },
      dstLabels: { app: 'cartservice', namespace: 'shop' },
    })
    const byLine = new Map(flows.map((f) => [f.source.line, f]))
    expect(byLine.get(3)).toMatchObject({
      src: '10.244.2.33',
      direction: 'server-to-client',
      tcpFlags: 18,
    })
    expect(byLine.get(5)).toMatchObject({
      dstPort: 53,
      protocol: 17,
      dstName: 'kube-system/coredns-76f75df574-8k2vq',
      dstLabels: { 'k8s-app': 'kube-dns', namespace: 'kube-system' },
    })
    const drop = byLine.get(6)
    expect(drop).toMatchObject({
      src: '203.0.113.50',
      observedAction: 'reject',
      direction: 'unknown',
    })
    expect(drop?.srcName).toBeUndefined()
    expect(drop?.srcLabels).toBeUndefined()
    expect(byLine.get(7)).toMatchObject({
      protocol: 1,
      dstPort: 8,
      srcPort: 0,
      observedAction: 'accept',
    })
    expect(byLine.get(8)).toMatchObject({
      protocol: 58,
      src: 'fd00:10:244:2::33',
      dstPort: 129,
      srcPort: 0,
      direction: 'server-to-client',
    })
    expect(byLine.get(9)).toMatchObject({ protocol: 132, srcPort: 36412, dstPort: 38412 })
    expect(byLine.get(10)).toMatchObject({ observedAction: 'unknown' })
    // line 12: same 5-tuple as line 1 within 1 s, but DROPPED: not hidden by the forward
    expect(byLine.get(12)).toMatchObject({
      observedAction: 'reject',
      srcPort: 51234,
      dstPort: 7070,
    })
  })
})

describe('hubble records as they arrive', () => {
  const flowLine =
    '{"flow":{"time":"2023-08-21T12:12:18.510Z","verdict":"DROPPED","IP":{"source":"10.244.1.60","destination":"10.244.1.5","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":44916,"destination_port":80,"flags":{"SYN":true}}},"source":{"namespace":"default","pod_name":"xwing"},"destination":{"namespace":"default","pod_name":"deathstar"},"is_reply":false},"node_name":"kind-worker","time":"2023-08-21T12:12:18.510Z"}'

  it('the flow exporter wrapper is detected whatever its field mask kept of the flow', () => {
    expect(hubbleParser.detect(head(`${flowLine}\n`))).toBeGreaterThan(0.9)
  })

  it('a pretty-printed record (jq, documentation) is one flow at the line it starts on', async () => {
    const pretty = JSON.stringify(JSON.parse(flowLine), null, 2)
    const text = `${pretty}\n${pretty}\n`
    expect(hubbleParser.detect(head(text))).toBeGreaterThan(0.9)
    const { flows, ctx } = await run(text.split('\n'))
    expect(ctx.stats.skipped).toEqual({})
    expect(flows.map((f) => [f.source.line, f.src, f.dst, f.observedAction])).toEqual([
      [1, '10.244.1.60', '10.244.1.5', 'reject'],
    ])
    expect(ctx.stats.notes['duplicate-observation']).toBe(1) // the same event twice
  })
})

describe('hubble: forwarded at the source node, dropped at the destination node', () => {
  // A SYN from prometheus (node-c) to catalogue-db (node-b) as Hubble Relay prints it: the source
  // node forwards it into the tunnel (TO_OVERLAY, FORWARDED), the destination node's ingress
  // policy drops it (a policy-verdict and a drop event, DROPPED, no is_reply).
  const syn = { TCP: { source_port: 43573, destination_port: 9104, flags: { SYN: true } } }
  const ip = { source: '10.244.3.30', destination: '10.244.2.12', ipVersion: 'IPv4' }
  const at = (ms: number): string => new Date(Date.UTC(2026, 10, 3, 0, 2, 28) + ms).toISOString()
  const forwarded = (ms: number, point = 'TO_OVERLAY'): string =>
    line({ time: at(ms), IP: ip, node_name: 'node-c', trace_observation_point: point }, syn)
  const dropped = (ms: number, eventType: number): string => {
    const o = JSON.parse(line({ time: at(ms), IP: ip, node_name: 'node-b' }, syn)) as {
      flow: Record<string, unknown>
    }
    delete o.flow['is_reply']
    Object.assign(o.flow, {
      verdict: 'DROPPED',
      event_type: { type: eventType },
      traffic_direction: 'INGRESS',
      ...(eventType === 1 ? { drop_reason: 133, drop_reason_desc: 'POLICY_DENIED' } : {}),
    })
    return JSON.stringify(o)
  }

  it('the forwarded record of a dropped packet is not a flow: the attempt is rejected only', async () => {
    const { flows, ctx } = await run([forwarded(0), dropped(0.5, 5), dropped(0.5, 1)])
    expect(flows.map((f) => [f.source.line, f.observedAction])).toEqual([[2, 'reject']])
    expect(ctx.stats.notes['forwarded-then-dropped']).toBe(1)
    // the client's retransmission 1 s and 3 s later, dropped again: still no accepted flow
    const retries = await run([
      forwarded(0),
      dropped(0.5, 1),
      forwarded(1000),
      dropped(1000.5, 1),
      forwarded(3000),
      dropped(3000.5, 1),
    ])
    expect(retries.flows.every((f) => f.observedAction === 'reject')).toBe(true)
    expect(retries.ctx.stats.notes['forwarded-then-dropped']).toBe(3)
  })

  it('numeric observation points (TO_STACK = 3) are transit points too', async () => {
    const o = JSON.parse(forwarded(0)) as { flow: Record<string, unknown> }
    o.flow['trace_observation_point'] = 3
    const { flows } = await run([JSON.stringify(o), dropped(0.4, 1)])
    expect(flows.map((f) => f.observedAction)).toEqual(['reject'])
  })

  it("the source endpoint's egress policy verdict (event type 5, EGRESS, allowed) is a transit record", async () => {
    // `policy-verdict:L3-L4 EGRESS ALLOWED` on node-c: no observation point (not a trace event);
    // the packet then crosses to node-b, whose ingress policy drops it
    const verdict = (direction: string | number): string => {
      const o = JSON.parse(line({ time: at(0), IP: ip, node_name: 'node-c' }, syn)) as {
        flow: Record<string, unknown>
      }
      Object.assign(o.flow, {
        event_type: { type: 5 },
        traffic_direction: direction,
        policy_match_type: 1,
      })
      return JSON.stringify(o)
    }
    for (const direction of ['EGRESS', 2]) {
      const { flows, ctx } = await run([verdict(direction), dropped(0.5, 1)])
      expect(
        flows.map((f) => [f.source.line, f.observedAction]),
        String(direction),
      ).toEqual([[2, 'reject']])
      expect(ctx.stats.notes['forwarded-then-dropped']).toBe(1)
    }
    // the destination's ingress verdict allowed it: delivered, a drop later does not take it back
    const ingress = await run([verdict('INGRESS'), dropped(0.5, 1)])
    expect(ingress.flows.map((f) => f.observedAction)).toEqual(['accept', 'reject'])
  })

  it('a delivered packet, a drop outside the window and TO_ENDPOINT forwards stay flows, in file order', async () => {
    const other = line({ time: at(0.2), node_name: 'node-a' }) // another connection, queued behind
    const delivered = await run([forwarded(0), other, forwarded(0.3, 'TO_ENDPOINT')])
    expect(delivered.flows.map((f) => [f.source.line, f.observedAction])).toEqual([
      [1, 'accept'],
      [2, 'accept'],
    ])
    expect(delivered.ctx.stats.notes['duplicate-observation']).toBe(1)
    expect(delivered.ctx.stats.notes['forwarded-then-dropped']).toBeUndefined()
    const late = await run([forwarded(0), dropped(5000, 1)])
    expect(late.flows.map((f) => f.observedAction)).toEqual(['accept', 'reject'])
    // a drop at the destination endpoint's node does not take back a delivered packet
    const endpoint = await run([forwarded(0, 'TO_ENDPOINT'), dropped(0.5, 1)])
    expect(endpoint.flows.map((f) => f.observedAction)).toEqual(['accept', 'reject'])
  })
})

describe('hubble: a record without a reply flag repeats one with it (s45 QA zhv F1)', () => {
  // Cilium sets no is_reply where the trace reason is unknown (at TO_OVERLAY in the corpus's
  // kind/VXLAN captures: cilium pkg/hubble/parser/threefour/parser.go `decodeIsReply`); one SYN
  // seen there on the source node and at TO_ENDPOINT (is_reply false) on the destination node
  const at = (ms: number): string => new Date(Date.UTC(2021, 10, 10, 10, 40, 58) + ms).toISOString()
  const seen = (ms: number, point: string, reply?: boolean): string => {
    const o = JSON.parse(line({ time: at(ms), trace_observation_point: point })) as {
      flow: Record<string, unknown>
    }
    if (reply === undefined) delete o.flow['is_reply']
    else o.flow['is_reply'] = reply
    return JSON.stringify(o)
  }

  it('is one flow whichever point comes first; a flag of its own keeps a reply apart', async () => {
    for (const [lines, first] of [
      [[seen(0, 'TO_OVERLAY'), seen(0.4, 'TO_ENDPOINT', false)], 1],
      [[seen(0, 'TO_STACK'), seen(0.4, 'TO_ENDPOINT', false)], 1],
      [[seen(0, 'TO_ENDPOINT', false), seen(0.4, 'TO_OVERLAY')], 1],
      [[seen(0, 'TO_OVERLAY'), seen(0.4, 'TO_ENDPOINT', true)], 1],
    ] as const) {
      const { flows, ctx } = await run(lines)
      expect(
        flows.map((f) => f.source.line),
        lines.join('\n'),
      ).toEqual([first])
      expect(ctx.stats.notes['duplicate-observation']).toBe(1)
    }
    // two flagged records of one tuple, a request and a reply, stay two
    const both = await run([seen(0, 'TO_ENDPOINT', false), seen(0.4, 'TO_ENDPOINT', true)])
    expect(both.flows.map((f) => f.direction)).toEqual(['client-to-server', 'server-to-client'])
  })

  it('the flow takes the direction the flag says, and a record without one repeats one flag only (s45 QA retest F4)', async () => {
    // the usual order: the source node's TO_OVERLAY (no flag) before the destination's TO_ENDPOINT
    for (const reply of [false, true]) {
      const { flows } = await run([seen(0, 'TO_OVERLAY'), seen(0.4, 'TO_ENDPOINT', reply)])
      expect(flows.map((f) => f.direction)).toEqual([
        reply ? 'server-to-client' : 'client-to-server',
      ])
    }
    // none, false and true within the window, in every order: the request and the reply, two
    // flows, whether the record without a flag is held at a transit point or not (given out at
    // once where it is read first, it keeps no direction: its ports orient it later)
    const records = (point: string): [string, string, string] => [
      seen(0, point),
      seen(0.2, 'TO_ENDPOINT', false),
      seen(0.4, 'TO_ENDPOINT', true),
    ]
    for (const point of ['TO_OVERLAY', 'TO_ENDPOINT']) {
      const [none, request, reply] = records(point)
      for (const order of [
        [none, request, reply],
        [none, reply, request],
        [request, none, reply],
        [reply, none, request],
        [request, reply, none],
        [reply, request, none],
      ]) {
        const { flows } = await run(order)
        const directions = flows.map((f) => f.direction).sort()
        const held = point === 'TO_OVERLAY' || order[0] !== none
        // not held: the first flagged record after it is its repeat, the second a flow
        const second =
          order.indexOf(request) > order.indexOf(reply) ? 'client-to-server' : 'server-to-client'
        expect(directions, `${point} ${order.join('\n')}`).toEqual(
          held ? ['client-to-server', 'server-to-client'] : [second, 'unknown'],
        )
      }
    }
  })
})

describe('hubble legacy -o json (hubble-json-legacy.json)', () => {
  it('reads the flow at top level and the old `reply` field', async () => {
    const { flows } = await run(linesOf(fixture('hubble-json-legacy.json')))
    expect(flows).toHaveLength(2)
    expect(flows[0]).toMatchObject({
      src: '10.0.0.12',
      srcPort: 8080,
      direction: 'server-to-client',
      start: Date.UTC(2020, 4, 12, 8, 15, 30, 123),
      srcName: 'default/reviews-v1-5c7d8b8b7d-abcde',
      srcLabels: { app: 'reviews', version: 'v1', namespace: 'default' },
      tcpFlags: 24,
    })
    expect(flows[1]).toMatchObject({ direction: 'unknown', dstPort: 8080 })
  })
})

describe('hubble details', () => {
  it('an ICMP reply type without is_reply is the reply half; impossible times are refused', async () => {
    const { flows, ctx } = await run([
      line({ is_reply: undefined }, { ICMPv4: {} }), // type omitted: 0, echo reply
      line({ is_reply: undefined, time: '2024-01-01T00:00:01Z' }, { ICMPv4: { type: 8 } }),
      line(
        {
          is_reply: undefined,
          time: '2024-01-01T00:00:02Z',
          IP: { source: '2001:db8::1', destination: '2001:db8::2', ipVersion: 'IPv6' },
        },
        { ICMPv6: { type: 129 } },
      ),
      line({ time: '2028-02-30T00:00:00Z' }),
      line({ time: '2026-11-02T24:00:00Z' }),
      line(
        { time: '2026-11-01T23:59:59.9996Z' },
        { UDP: { source_port: 5, destination_port: 53 } },
      ),
    ])
    expect(flows.map((f) => f.direction)).toEqual([
      'server-to-client',
      'unknown',
      'server-to-client',
      'client-to-server',
    ])
    expect(ctx.stats.skipped).toEqual({ 'bad-timestamp': 2 })
    // rounded to the nearest ms, as the other readers round
    expect(flows[3]?.start).toBe(Date.UTC(2026, 10, 2))
  })

  it('workload without kind, numeric verdicts and types', async () => {
    const a = await run([
      line({
        source: {
          namespace: 'ns',
          workloads: [{ name: 'job-x' }],
          labels: ['k8s:app=x', 'container:team=blue', 'reserved:init'],
        },
      }),
    ])
    expect(a.flows[0]).toMatchObject({
      srcName: 'ns/job-x',
      srcLabels: { app: 'x', team: 'blue', namespace: 'ns' },
    })
    const b = await run([
      line({ verdict: 2 }),
      line({ verdict: 4, time: '2024-01-01T00:00:05Z' }),
      line({ Type: 2 }),
    ])
    expect(b.flows.map((f) => f.observedAction)).toEqual(['reject', 'accept'])
    expect(b.ctx.stats.notes).toEqual({ audit: 1, l7: 1 })
  })

  it('an L7 record is a flow when no L3/L4 record of its connection came before it', async () => {
    const alone = await run([
      line({ Type: 'L7' }, { UDP: { source_port: 5353, destination_port: 53 } }),
    ])
    expect(alone.flows).toEqual([expect.objectContaining({ protocol: 17, dstPort: 53 })])
    // after the L3/L4 record of the same connection (either way round) it is a note
    const counted = await run([
      line(
        { is_reply: true, IP: { source: '10.0.0.2', destination: '10.0.0.1' } },
        { TCP: { source_port: 80, destination_port: 1000 } },
      ),
      line({ Type: 'L7', time: '2024-01-01T00:00:09Z' }),
    ])
    expect(counted.flows).toHaveLength(1)
    expect(counted.ctx.stats.notes).toEqual({ l7: 1 })
  })

  it('notes non-IP and non-L4 flows and missing time', async () => {
    const { flows, ctx } = await run([
      JSON.stringify({
        flow: {
          time: '2024-01-01T00:00:00Z',
          ethernet: { source: 'aa:aa:aa:aa:aa:aa' },
          verdict: 'DROPPED',
          Type: 'L3_L4',
        },
      }),
      line({}, {}),
      line({ time: undefined }),
    ])
    expect(flows).toHaveLength(1)
    expect(flows[0]).toMatchObject({ start: 0, end: 0 })
    expect(ctx.stats.notes).toEqual({ 'no-ip-layer': 1, 'no-l4': 1, 'no-timestamp': 1 })
  })

  it("the exporter's records: aggregated ones noted, ones whose fieldMask left IP out named so (s32)", async () => {
    // by hand, after cilium pkg/hubble/exporter/testdata/scripts/aggregation.txtar: a record with
    // IP and l4 and `aggregate` counts is one flow noted `aggregated` (the repeat of it 1 s later
    // is a duplicate observation, not noted aggregated); one masked to source, destination and
    // verdict has neither IP nor Type: `ip-not-exported`, not the ARP note `no-ip-layer`
    const aggregated = line({ aggregate: { egress_flow_count: 7 }, traffic_direction: 'EGRESS' })
    const masked = JSON.stringify({
      flow: {
        verdict: 'FORWARDED',
        source: { namespace: 'default', pod_name: 'web-pod' },
        destination: { namespace: 'default', pod_name: 'db-pod' },
        aggregate: { unknown_direction_flow_count: 3 },
      },
      time: '2024-01-01T10:00:00Z',
    })
    const { flows, ctx } = await run([
      aggregated,
      line({ aggregate: { egress_flow_count: 2 }, time: '2024-01-01T00:00:01.000Z' }),
      masked,
    ])
    expect(flows).toHaveLength(1)
    expect(ctx.stats.notes).toEqual({
      aggregated: 1,
      'duplicate-observation': 1,
      'ip-not-exported': 1,
    })
  })

  it('bounds the de-duplication map', async () => {
    const distinct = (i: number): string =>
      line(
        { IP: { source: '10.0.0.1', destination: '10.0.0.2' } },
        { TCP: { source_port: i % 60000, destination_port: 1 + Math.floor(i / 60000) } },
      )
    const lines: string[] = []
    for (let i = 0; i <= HUBBLE_DEDUP_MAX_KEYS; i++) lines.push(distinct(i))
    lines.push(distinct(0)) // evicted: emitted again
    lines.push(distinct(HUBBLE_DEDUP_MAX_KEYS)) // still remembered: duplicate
    const { ctx } = await run(lines)
    expect(ctx.stats.records).toBe(HUBBLE_DEDUP_MAX_KEYS + 2)
    expect(ctx.stats.notes['duplicate-observation']).toBe(1)
  })

  const bad: [string, string, string][] = [
    ['not JSON', '{"flow":', 'bad-json'],
    ['an array', '[1,2]', 'bad-json'],
    ['an unrelated object', '{"hello":"world"}', 'not-a-flow'],
    [
      'a bad address',
      line({ IP: { source: '10.0.0.999', destination: '10.0.0.2' } }),
      'bad-address',
    ],
    [
      'a port out of range',
      line({}, { UDP: { source_port: 70000, destination_port: 53 } }),
      'bad-port',
    ],
    ['a bad time', line({ time: 'yesterday' }), 'bad-timestamp'],
  ]
  for (const [name, text, reason] of bad) {
    it(`skips ${name} as ${reason}`, async () => {
      const { flows, ctx } = await run([text])
      expect(flows).toHaveLength(0)
      expect(ctx.stats.skipped).toEqual({ [reason]: 1 })
    })
  }

  it('throws BulkheadError in strict mode', async () => {
    const err = await run(['{"flow":'], 'h.json', true).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BulkheadError)
    expect((err as BulkheadError).diagnostics[0]?.code).toBe('ingest/malformed-record')
  })

  it('detects its fixtures and rejects the others', () => {
    for (const f of ['hubble-jsonpb.json', 'hubble-json-legacy.json'])
      expect(hubbleParser.detect(head(fixture(f))), f).toBeGreaterThan(0.5)
    for (const f of [
      'zeek-conn.log',
      'zeek-conn.json',
      'zeek-btest-columns.log',
      'conntrack-list.txt',
      'conntrack-events.txt',
      'conntrack-extended.txt',
    ]) {
      expect(hubbleParser.detect(head(fixture(f))), f).toBe(0)
    }
  })
})

describe.skipIf(CORPUS_SKIP !== undefined)(corpusTitle('hubble corpus: 4 real captures'), () => {
  const read = (f: string): string[] => linesOf(readFileSync(CORPUS + f, 'utf8'))

  it('parses every capture; every line is a flow, a note or a skip', async () => {
    const files = readdirSync(CORPUS).filter((f) => f.endsWith('.json'))
    expect(files).toHaveLength(4)
    for (const f of files) {
      const lines = read(f)
      const { flows, ctx } = await run(lines, f)
      const notes = ctx.stats.notes
      const accounted =
        ctx.stats.records +
        (notes['l7'] ?? 0) +
        (notes['duplicate-observation'] ?? 0) +
        Object.values(ctx.stats.skipped).reduce((a, b) => a + b, 0)
      expect(accounted, f).toBe(lines.filter((l) => l.trim() !== '').length)
      expect(ctx.stats.skipped, f).toEqual({})
      for (const fl of flows) {
        expect(normalizeIp(fl.src)).toBe(fl.src)
        expect(
          fl.srcLabels &&
            Object.keys(fl.srcLabels).some(
              (k) => k.startsWith('io.cilium') || k.startsWith('k8s:'),
            ),
        ).toBeFalsy()
      }
      expect(hubbleParser.detect(head(readFileSync(CORPUS + f, 'utf8'))), f).toBeGreaterThan(0.5)
    }
  })

  it('basic-sample-10-flows: reply from reviews pod to the host', async () => {
    const { flows } = await run(read('basic-sample-10-flows.json'))
    expect(flows).toHaveLength(10)
    expect(flows[0]).toMatchObject({
      src: '10.0.2.16',
      srcPort: 15020,
      dst: '10.0.2.1',
      dstPort: 42044,
      protocol: 6,
      direction: 'server-to-client',
      tcpFlags: 17,
      srcName: 'bookinfo/reviews-v1-545db77b95-s6jb8',
      srcLabels: {
        app: 'reviews',
        version: 'v1',
        'security.istio.io/tlsMode': 'istio',
        namespace: 'bookinfo',
      },
      // 13.136834446 s: rounded to the nearest ms, as every reader rounds
      start: Date.UTC(2021, 5, 16, 16, 52, 13, 137),
    })
    expect(flows[0]?.dstName).toBeUndefined() // reserved:host
    // second line: no `reply` key (old proto3 JSON omits false) → unknown
    expect(flows[1]).toMatchObject({
      src: '10.0.2.1',
      direction: 'unknown',
      dstName: 'bookinfo/reviews-v1-545db77b95-s6jb8',
    })
  })

  it('basic-sample-400-tcp-flows: productpage → reviews on 9080, L7 records of counted connections noted', async () => {
    const { flows, ctx } = await run(read('basic-sample-400-tcp-flows.json'))
    expect(flows[0]).toMatchObject({
      src: '10.244.0.177',
      srcPort: 35128,
      dst: '10.244.0.110',
      dstPort: 9080,
      direction: 'client-to-server',
      srcName: 'bookinfo/productpage-v1-6b746f74dc-9rcxx',
      dstName: 'bookinfo/reviews-v2-7bf8c9648f-r7bs2',
      dstLabels: expect.objectContaining({ app: 'reviews', version: 'v2' }),
    })
    // L7 records of connections the L3/L4 records count are notes; reviews → ratings:9080
    // (a kept-alive connection) is seen only at L7 within this capture, and is a flow
    expect(ctx.stats.notes['l7']).toBe(55)
    expect(flows).toContainEqual(
      expect.objectContaining({
        src: '10.244.0.110',
        srcPort: 40948,
        dst: '10.244.0.206',
        dstPort: 9080,
        direction: 'client-to-server',
      }),
    )
    expect(ctx.stats.notes['duplicate-observation']).toBeGreaterThan(0)
    expect(flows.some((f) => f.direction === 'server-to-client' && f.srcPort === 9080)).toBe(true)
  })

  it('basic-sample-400-udp-flows: DNS to coredns; 5-dns: only L7, read as flows', async () => {
    const udp = await run(read('basic-sample-400-udp-flows.json'))
    expect(udp.flows[0]).toMatchObject({
      protocol: 17,
      dstPort: 53,
      dstName: 'kube-system/coredns-558bd4d5db-w2m67',
      dstLabels: { 'k8s-app': 'kube-dns', namespace: 'kube-system' },
    })
    expect(udp.ctx.stats.notes['l7']).toBe(142)
    // L7 records only: the query and its answer, each seen at several observation points
    const dns = await run(read('basic-sample-5-dns-flows.json'))
    expect(dns.flows.map((f) => [f.src, f.srcPort, f.dst, f.dstPort, f.direction])).toEqual([
      ['10.156.2.2', 59102, '10.156.2.3', 53, 'client-to-server'],
      ['10.156.2.3', 53, '10.156.2.2', 59102, 'server-to-client'],
    ])
    expect(dns.ctx.stats.notes).toEqual({ 'duplicate-observation': 3 })
  })
})

describe('hubble flow exporter events (cilium api/v1/observer/observer.proto ExportEvent)', () => {
  const agent = JSON.stringify({
    agent_event: {
      type: 'ENDPOINT_CREATED',
      endpoint_update: { id: 1234, namespace: 'default', pod_name: 'web-1' },
    },
    node_name: 'kind-worker',
    time: '2024-01-01T00:00:00Z',
  })
  const debug = JSON.stringify({
    debug_event: { type: 'DBG_CAPTURE_DELIVERY', cpu: 1 },
    node_name: 'kind-worker',
    time: '2024-01-01T00:00:00Z',
  })

  it('agent_event and debug_event records are notes, not malformed records', async () => {
    const { flows, ctx } = await run([agent, line(), debug])
    expect(ctx.stats.skipped).toEqual({})
    expect(ctx.stats.notes).toMatchObject({ 'agent-event': 1, 'debug-event': 1 })
    expect(flows).toHaveLength(1)
  })

  it('an export that starts with agent events is detected by the flows after them', () => {
    expect(hubbleParser.detect(head([agent, agent, debug, line(), ''].join('\n')))).toBe(0.95)
  })
})
