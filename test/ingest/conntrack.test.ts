import { describe, it, expect } from 'vitest'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { BulkheadError } from '../../src/core/index.js'
import { conntrackParser } from '../../src/ingest/formats/conntrack.js'
import { MAX_OPEN_CONNECTIONS } from '../../src/ingest/types.js'
import { readAsFile } from '../helpers/files.js'
import { hubbleParser as hubbleParserForDetect } from '../../src/ingest/formats/hubble.js'
import { zeekParser as zeekParserForDetect } from '../../src/ingest/formats/zeek.js'
import { linesOf, runLines } from './text-helpers.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/flows/', import.meta.url))

const run = (lines: readonly string[], file = 'ct.txt', strict = false) =>
  runLines(conntrackParser, lines, { file, strict })
const fixture = (name: string): string => readFileSync(FIXTURES + name, 'utf8')
const head = (text: string): Uint8Array => new TextEncoder().encode(text.slice(0, 65536))

describe('conntrack: notes count only records given out', () => {
  it('a record skipped for its address families or its end time is not noted', async () => {
    const lines = [
      // an IPv4 and an IPv6 end: skipped, not noted counters-not-logged / no-timestamp
      'tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=2001:db8::1 sport=40000 dport=80 src=2001:db8::1 dst=10.0.0.1 sport=80 dport=40000 [ASSURED] mark=0 use=1',
      // the start (local time, noted local-time-as-utc) + 60 s ends after 9999: bad-timestamp
      'tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=80 src=10.0.0.2 dst=10.0.0.1 sport=80 dport=40000 [ASSURED] mark=0 use=1 [start=Fri Dec 31 23:59:50 9999] delta-time=60',
      // an unanswered attempt (noted unanswered-attempt) of mixed families, as an event
      '[1700000000.000000]\t[DESTROY] tcp      6 src=10.0.0.1 dst=2001:db8::1 sport=40001 dport=80 packets=1 bytes=60 [UNREPLIED] src=2001:db8::1 dst=10.0.0.1 sport=80 dport=40001 packets=0 bytes=0',
      // a flow: no counters, no time (standard input): both noted
      'tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=40002 dport=80 src=10.0.0.2 dst=10.0.0.1 sport=80 dport=40002 [ASSURED] mark=0 use=1',
    ]
    const { flows, ctx } = await run(lines)
    expect(flows.map((f) => f.srcPort)).toEqual([40002])
    expect(ctx.stats.skipped).toEqual({ 'mixed-address-families': 2, 'bad-timestamp': 1 })
    expect(ctx.stats.notes).toEqual({ 'counters-not-logged': 1, 'no-timestamp': 1 })
    expect(ctx.stats.examples.map((e) => e.where)).toEqual(['ct.txt:1', 'ct.txt:2', 'ct.txt:3'])
  })
})

describe('conntrack -L (conntrack-list.txt)', () => {
  it('maps tuples, DNAT, counters, ICMP and UNREPLIED', async () => {
    const { flows, ctx } = await run(linesOf(fixture('conntrack-list.txt')), 'conntrack-list.txt')
    expect(ctx.stats.skipped).toEqual({})
    expect(flows).toHaveLength(7)
    // Service 10.96.0.10:53 DNATed to the CoreDNS pod
    expect(flows[0]).toEqual({
      src: '10.244.1.17',
      dst: '10.244.3.5',
      srcPort: 51234,
      dstPort: 53,
      protocol: 6,
      start: 0,
      end: 0,
      packets: 9,
      bytes: 1020,
      observedAction: 'accept',
      direction: 'client-to-server',
      source: { format: 'conntrack', file: 'conntrack-list.txt', line: 1 },
    })
    // Service port 80 → backend pod port 8080
    expect(flows[1]).toMatchObject({ dst: '10.244.2.33', dstPort: 8080, packets: 22, bytes: 10800 })
    expect(flows[2]).toMatchObject({
      protocol: 17,
      dst: '10.244.3.5',
      dstPort: 53,
      observedAction: 'unknown',
      packets: 1,
      bytes: 76,
    })
    expect(flows[3]).toMatchObject({
      protocol: 1,
      dstPort: 8,
      srcPort: 0,
      dst: '10.20.2.21',
      packets: 2,
      bytes: 168,
    })
    expect(flows[4]).toMatchObject({
      protocol: 58,
      src: '2001:db8:0:1::11',
      dstPort: 128,
      srcPort: 0,
    })
    expect(flows[5]).toMatchObject({
      protocol: 6,
      dst: '2001:db8:0:2::21',
      dstPort: 22,
      packets: 0,
      bytes: 0,
    })
    expect(flows[6]).toMatchObject({ protocol: 47, srcPort: 0, dstPort: 0, dst: '192.0.2.2' })
    // lines 6 and 7 print no packets=/bytes= (nf_conntrack_acct off): 0, noted
    expect(ctx.stats.notes).toEqual({
      dnat: 2,
      'no-timestamp': 7,
      'summary-line': 1,
      'counters-not-logged': 2,
    })
  })
})

describe('conntrack -o extended / /proc/net/nf_conntrack (conntrack-extended.txt)', () => {
  it('skips the layer-3 columns', async () => {
    const { flows, ctx } = await run(linesOf(fixture('conntrack-extended.txt')))
    expect(ctx.stats.skipped).toEqual({})
    expect(flows).toHaveLength(4)
    expect(flows[0]).toMatchObject({
      src: '10.20.1.11',
      dst: '10.20.3.5',
      dstPort: 22,
      protocol: 6,
      observedAction: 'unknown',
    })
    expect(flows[1]).toMatchObject({
      src: '2001:db8::30:7',
      dst: '2001:db8::53',
      protocol: 17,
      dstPort: 53,
      observedAction: 'accept',
    })
    expect(flows[2]).toMatchObject({ dstPort: 5432, packets: 26, bytes: 10956, start: 0, end: 0 })
    expect(flows[3]).toMatchObject({
      protocol: 1,
      dstPort: 8,
      dst: '10.20.9.9',
      observedAction: 'unknown',
    })
  })
})

describe('conntrack -E -o timestamp (conntrack-events.txt)', () => {
  it('one flow per connection: its events merged, given out at [DESTROY] or at the end', async () => {
    const { flows, ctx } = await run(linesOf(fixture('conntrack-events.txt')))
    expect(ctx.stats.skipped).toEqual({})
    // lines 1-4 are one connection (NEW, UPDATE, UPDATE, DESTROY); 7 is a DESTROY alone; 5 and
    // 6 have no DESTROY before the end
    expect(flows.map((f) => f.source.line)).toEqual([4, 7, 5, 6])
    expect(flows[0]).toMatchObject({
      start: 1709632800123, // the NEW event, before the DESTROY's delta-time start
      end: 1709632830500,
      dst: '10.244.2.33',
      dstPort: 8080,
      packets: 18,
      bytes: 7600,
      observedAction: 'accept',
    })
    expect(flows[1]).toMatchObject({
      start: Date.UTC(2024, 2, 5, 10, 1, 38),
      end: Date.UTC(2024, 2, 5, 10, 1, 40),
      packets: 2,
      bytes: 183,
    })
    expect(flows[2]).toMatchObject({
      protocol: 1,
      dstPort: 8,
      start: 1709632831000,
      observedAction: 'unknown', // NEW only: never answered in the capture
    })
    expect(flows[3]).toMatchObject({ protocol: 58, dstPort: 128, src: '2001:db8:0:1::11' })
    // line 7's [start=]/[stop=] are not used: its epoch stamp says when, in UTC
    // the two connections open at the end had no [DESTROY], the only event that prints counters
    expect(ctx.stats.notes).toEqual({
      dnat: 4,
      'merged-events': 3,
      'open-at-end': 2,
      'counters-not-logged': 2,
    })
  })

  it('the epoch stamp (UTC) wins over [start=]/[stop=] (local time, here UTC-5)', async () => {
    const destroy =
      '[1793577650.500000]\t[DESTROY] ipv4     2 tcp      6 src=10.9.2.2 dst=10.9.2.3 sport=40000 dport=443 packets=10 bytes=1000 src=10.9.2.3 dst=10.9.2.2 sport=443 dport=40000 packets=8 bytes=9000 [ASSURED] mark=0 delta-time=60 [start=Sun Nov  1 18:59:50 2026] [stop=Sun Nov  1 19:00:50 2026] use=1'
    const created =
      '[1793577590.123456]\t    [NEW] ipv4     2 tcp      6 120 SYN_SENT src=10.9.2.2 dst=10.9.2.3 sport=40000 dport=443 [UNREPLIED] src=10.9.2.3 dst=10.9.2.2 sport=443 dport=40000 mark=0 use=1'
    const alone = await run([destroy])
    expect(alone.flows[0]).toMatchObject({ start: 1793577590500, end: 1793577650500 })
    // without delta-time, the span of [start=]/[stop=] gives the age
    const noDelta = await run([destroy.replace(' delta-time=60', '')])
    expect(noDelta.flows[0]).toMatchObject({ start: 1793577590500, end: 1793577650500 })
    expect(noDelta.ctx.stats.notes).toEqual({})
    // merged with its NEW event: one 60-second connection, not five hours
    const merged = await run([created, destroy])
    expect(merged.flows).toHaveLength(1)
    expect(merged.flows[0]).toMatchObject({ start: 1793577590123, end: 1793577650500 })
    // no epoch stamp: [start=]/[stop=] are all there is, read as UTC and noted
    const local = await run([destroy.replace('[1793577650.500000]\t', '')])
    expect(local.flows[0]).toMatchObject({
      start: Date.UTC(2026, 10, 1, 18, 59, 50),
      end: Date.UTC(2026, 10, 1, 19, 0, 50),
    })
    expect(local.ctx.stats.notes).toEqual({ 'local-time-as-utc': 1 })
  })

  it('a TCP attempt refused by a reset, or ended never answered, is rejected (as Zeek REJ, S0); a listing or UDP stays unknown', async () => {
    // real `conntrack -E -o timestamp,extended` lines (Linux 6.18, nf_conntrack_acct=1): the
    // kernel ends a connection whose only reply is a RST before marking it replied, so its
    // DESTROY is [UNREPLIED] with the RST counted in the reply tuple
    const { flows, ctx } = await run([
      '[1795435703.749384]\t    [NEW] ipv4     2 tcp      6 8 SYN_SENT src=10.50.2.11 dst=10.50.4.11 sport=48696 dport=3306 [UNREPLIED] src=10.50.4.11 dst=10.50.2.11 sport=3306 dport=48696',
      '[1795435703.749389]\t[DESTROY] ipv4     2 tcp      6 8 CLOSE src=10.50.2.11 dst=10.50.4.11 sport=48696 dport=3306 packets=1 bytes=60 [UNREPLIED] src=10.50.4.11 dst=10.50.2.11 sport=3306 dport=48696 packets=1 bytes=40 delta-time=0',
      // dropped silently by the destination's firewall: SYNs only, nothing came back
      '[1795435741.586179]\t    [NEW] ipv6     10 tcp      6 8 SYN_SENT src=fd00:50::2:12 dst=fd00:50::4:12 sport=33866 dport=3306 [UNREPLIED] src=fd00:50::4:12 dst=fd00:50::2:12 sport=3306 dport=33866',
      '[1795435749.880441]\t[DESTROY] ipv6     10 tcp      6 SYN_SENT src=fd00:50::2:12 dst=fd00:50::4:12 sport=33866 dport=3306 packets=1 bytes=80 [UNREPLIED] src=fd00:50::4:12 dst=fd00:50::2:12 sport=3306 dport=33866 packets=0 bytes=0 delta-time=8',
      // UDP to a closed port: the ICMP port unreachable is not counted in the tuple
      '[1795435703.632271]\t    [NEW] ipv4     2 udp      17 4 src=10.50.1.11 dst=10.50.6.11 sport=51501 dport=5353 [UNREPLIED] src=10.50.6.11 dst=10.50.1.11 sport=5353 dport=51501',
      '[1795435711.640000]\t[DESTROY] ipv4     2 udp      17 src=10.50.1.11 dst=10.50.6.11 sport=51501 dport=5353 packets=1 bytes=29 [UNREPLIED] src=10.50.6.11 dst=10.50.1.11 sport=5353 dport=51501 packets=0 bytes=0 delta-time=8',
      // the client itself reset before any answer: original-direction packets only
      'ipv4 2 tcp 6 9 CLOSE src=10.50.2.11 dst=10.50.4.11 sport=40000 dport=3306 packets=2 bytes=100 [UNREPLIED] src=10.50.4.11 dst=10.50.2.11 sport=3306 dport=40000 packets=0 bytes=0 mark=0 use=1',
    ])
    expect(flows.map((f) => [f.dstPort, f.protocol, f.observedAction])).toEqual([
      [3306, 6, 'reject'],
      [3306, 6, 'reject'],
      [5353, 17, 'unknown'],
      [3306, 6, 'unknown'],
    ])
    expect(flows[0]).toMatchObject({ src: '10.50.2.11', dst: '10.50.4.11', packets: 2, bytes: 100 })
    expect(ctx.stats.notes['refused-by-reset']).toBe(1)
    expect(ctx.stats.notes['unanswered-attempt']).toBe(1)
  })

  it('without nf_conntrack_acct a TCP connection still unreplied in CLOSE was refused by a reset: events, a listing, xml', async () => {
    // after `conntrack -E -o timestamp` on Linux 6.18 with accounting off: no [UPDATE]; the
    // DESTROY prints CLOSE (the RST's state) and SYN_SENT's timeout, with no counters
    const flow = (sport: number, port: number): string =>
      `src=10.61.0.1 dst=10.61.0.2 sport=${String(sport)} dport=${String(port)}`
    const back = (sport: number, port: number): string =>
      `src=10.61.0.2 dst=10.61.0.1 sport=${String(port)} dport=${String(sport)}`
    const events = await run([
      `[1795000000.100000]\t    [NEW] tcp      6 120 SYN_SENT ${flow(45001, 23)} [UNREPLIED] ${back(45001, 23)}`,
      `[1795000000.100040]\t[DESTROY] tcp      6 120 CLOSE ${flow(45001, 23)} [UNREPLIED] ${back(45001, 23)}`,
      // an attempt that timed out: SYN_SENT to the end, unknown as before
      `[1795000001.000000]\t    [NEW] tcp      6 120 SYN_SENT ${flow(45002, 24)} [UNREPLIED] ${back(45002, 24)}`,
      `[1795000121.000000]\t[DESTROY] tcp      6 SYN_SENT ${flow(45002, 24)} [UNREPLIED] ${back(45002, 24)}`,
      // an unreplied CLOSE in an [UPDATE] alone (a connection whose DESTROY was not captured)
      `[1795000002.000000]\t    [NEW] tcp      6 120 SYN_SENT ${flow(45003, 25)} [UNREPLIED] ${back(45003, 25)}`,
      `[1795000002.000100]\t [UPDATE] tcp      6 10 CLOSE ${flow(45003, 25)} [UNREPLIED] ${back(45003, 25)}`,
      // UDP has no state word: unknown as before
      `[1795000003.000000]\t    [NEW] udp      17 30 ${flow(45004, 53)} [UNREPLIED] ${back(45004, 53)}`,
      `[1795000033.000000]\t[DESTROY] udp      17 ${flow(45004, 53)} [UNREPLIED] ${back(45004, 53)}`,
    ])
    expect(events.flows.map((f) => [f.dstPort, f.observedAction, f.packets])).toEqual([
      [23, 'reject', 0],
      [24, 'unknown', 0],
      [53, 'unknown', 0],
      [25, 'reject', 0],
    ])
    expect(events.ctx.stats.notes['refused-by-reset']).toBe(2)
    expect(events.ctx.stats.notes['unanswered-attempt']).toBeUndefined()

    // a listing (`conntrack -L`, /proc/net/nf_conntrack) caught in the instant before deletion
    const listing = await run([
      `tcp      6 9 CLOSE ${flow(45005, 26)} [UNREPLIED] ${back(45005, 26)} mark=0 use=1`,
      `ipv4     2 tcp      6 9 CLOSE ${flow(45006, 27)} [UNREPLIED] ${back(45006, 27)} mark=0 zone=0 use=2`,
      // still waiting for an answer: unknown as before
      `tcp      6 118 SYN_SENT ${flow(45007, 28)} [UNREPLIED] ${back(45007, 28)} mark=0 use=1`,
      // answered, then reset: CLOSE but replied, accepted as before
      `tcp      6 9 CLOSE ${flow(45008, 29)} ${back(45008, 29)} mark=0 use=1`,
      // with counters the reply tuple tells: nothing came back, the reset was the client's own
      `tcp      6 9 CLOSE ${flow(45009, 30)} packets=2 bytes=80 [UNREPLIED] ${back(45009, 30)} packets=0 bytes=0 mark=0 use=1`,
    ])
    expect(listing.flows.map((f) => [f.dstPort, f.observedAction])).toEqual([
      [26, 'reject'],
      [27, 'reject'],
      [28, 'unknown'],
      [29, 'accept'],
      [30, 'unknown'],
    ])
    expect(listing.ctx.stats.notes['refused-by-reset']).toBe(2)

    // `conntrack -E -o xml` with accounting off, as the kernel printed it
    const meta = (dir: string, a: string, b: string, sp: number, dp: number): string =>
      `<meta direction="${dir}"><layer3 protonum="2" protoname="ipv4"><src>${a}</src><dst>${b}</dst></layer3><layer4 protonum="6" protoname="tcp"><sport>${String(sp)}</sport><dport>${String(dp)}</dport></layer4></meta>`
    const xmlFlow = (type: string, state: string): string =>
      `<flow type="${type}">${meta('original', '10.61.0.1', '10.61.0.2', 45010, 31)}${meta('reply', '10.61.0.2', '10.61.0.1', 31, 45010)}<meta direction="independent"><state>${state}</state><timeout>120</timeout><id>605291262</id><unreplied/></meta></flow>`
    const xml = await run(
      [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<conntrack>',
        xmlFlow('new', 'SYN_SENT'),
        xmlFlow('destroy', 'CLOSE'),
        '</conntrack>',
      ],
      'ct.xml',
    )
    expect(xml.ctx.stats.skipped).toEqual({})
    expect(xml.flows.map((f) => [f.dstPort, f.observedAction])).toEqual([[31, 'reject']])
    expect(xml.ctx.stats.notes['refused-by-reset']).toBe(1)
    // the new event alone (SYN_SENT, open at the end) stays unknown
    const open = await run(['<conntrack>', xmlFlow('new', 'SYN_SENT'), '</conntrack>'], 'ct.xml')
    expect(open.flows.map((f) => f.observedAction)).toEqual(['unknown'])
  })

  it('an unanswered DESTROY with more than a SYN and its retries sent, or no counters, stays unknown', async () => {
    const destroy = (counters: string, reply: string): string =>
      `[1795435749.880441]\t[DESTROY] ipv4     2 tcp      6 SYN_SENT src=10.50.2.11 dst=10.50.4.11 sport=33866 dport=3306 ${counters}[UNREPLIED] src=10.50.4.11 dst=10.50.2.11 sport=3306 dport=33866 ${reply}delta-time=8`
    const { flows } = await run([
      // replies that took another path: the client sent data
      destroy('packets=40 bytes=52000 ', 'packets=0 bytes=0 '),
      // nf_conntrack_acct off: nothing counted at all
      destroy('', ''),
      // seven SYNs: the attempt and its six retries
      destroy('packets=7 bytes=420 ', 'packets=0 bytes=0 '),
    ])
    expect(flows.map((f) => f.observedAction)).toEqual(['unknown', 'unknown', 'reject'])
  })

  it('an old kernel`s DESTROY, which printed no status, is unanswered when its reply tuple counted nothing', async () => {
    // after the `conntrack -E -o timestamp` lines of a 2008 NAT gateway (Net::Netfilter::NetFlow's
    // ConntrackFormat.pm): Linux 2.6 put no status in a destroy event, so the answered TCP
    // connection's DESTROY has no [ASSURED] and the unanswered ping's no [UNREPLIED]
    const { flows, ctx } = await run([
      '[1229102644.806690]\t    [NEW] icmp     1 30 src=10.16.207.250 dst=18.7.22.83 type=8 code=0 id=1035 [UNREPLIED] src=18.7.22.83 dst=192.76.7.254 type=0 code=0 id=0',
      '[1229102644.906091]\t[DESTROY] icmp     1 src=10.16.207.250 dst=18.7.22.83 type=8 code=0 id=1035 packets=1 bytes=84 src=18.7.22.83 dst=192.76.7.254 type=0 code=0 id=0 packets=0 bytes=0',
      '[1229102649.886279]\t    [NEW] tcp      6 120 SYN_SENT src=10.16.207.250 dst=74.125.79.104 sport=50140 dport=80 [UNREPLIED] src=74.125.79.104 dst=192.76.7.253 sport=80 dport=61284',
      '[1229102719.964446]\t[DESTROY] tcp      6 src=10.16.207.250 dst=74.125.79.104 sport=50140 dport=80 packets=7 bytes=2006 src=74.125.79.104 dst=192.76.7.253 sport=80 dport=61284 packets=7 bytes=4083',
      // an unanswered SYN and its retries, so printed
      '[1229102730.000000]\t[DESTROY] tcp      6 src=10.16.207.250 dst=74.125.79.105 sport=50141 dport=80 packets=3 bytes=180 src=74.125.79.105 dst=192.76.7.253 sport=80 dport=61285 packets=0 bytes=0',
    ])
    expect(ctx.stats.skipped).toEqual({})
    expect(flows.map((f) => [f.protocol, f.dstPort, f.packets, f.observedAction])).toEqual([
      [1, 8, 1, 'unknown'],
      [6, 80, 14, 'accept'],
      [6, 80, 3, 'reject'],
    ])
    expect(flows[0]).toMatchObject({ start: 1_229_102_644_807, end: 1_229_102_644_906 })
    expect(ctx.stats.notes['unanswered-attempt']).toBe(1)
  })

  it('a NEW for a tuple still open ends the earlier connection; listings stay one flow a line', async () => {
    const ev = (e: string, t: number, extra = ''): string =>
      `[${String(t)}.000000] [${e}] udp 17 30 src=10.0.0.1 dst=10.0.0.53 sport=5000 dport=53 ${extra}src=10.0.0.53 dst=10.0.0.1 sport=53 dport=5000`
    const { flows, ctx } = await run([
      ev('NEW', 1000, '[UNREPLIED] '),
      ev('NEW', 2000, '[UNREPLIED] '),
      ev('UPDATE', 2001),
      ev('DESTROY', 2030),
      'udp 17 30 src=10.0.0.1 dst=10.0.0.53 sport=5000 dport=53 src=10.0.0.53 dst=10.0.0.1 sport=53 dport=5000',
      'udp 17 30 src=10.0.0.1 dst=10.0.0.53 sport=5000 dport=53 src=10.0.0.53 dst=10.0.0.1 sport=53 dport=5000',
    ])
    expect(flows.map((f) => [f.source.line, f.start, f.end, f.observedAction])).toEqual([
      [1, 1_000_000, 1_000_000, 'unknown'],
      [4, 2_000_000, 2_030_000, 'accept'],
      [5, 0, 0, 'accept'],
      [6, 0, 0, 'accept'],
    ])
    expect(ctx.stats.notes).toMatchObject({ 'merged-events': 2, 'destroy-missed': 1 })
    expect(ctx.stats.notes['open-at-end']).toBeUndefined()
  })

  it('events of one connection whose addresses are spelt differently are one flow (s44 QA ipv6 F2)', async () => {
    const tail = 'src=2001:db8:2::20 dst=2001:db8:1::10 sport=5432 dport=40000'
    const { flows, ctx } = await run([
      `[1790000000.000000] [NEW] tcp 6 120 SYN_SENT src=2001:DB8:1::10 dst=2001:db8:2::20 sport=40000 dport=5432 [UNREPLIED] ${tail}`,
      `[1790000000.500000] [UPDATE] tcp 6 60 SYN_RECV src=2001:db8:1:0::10 dst=2001:db8:2::0:20 sport=40000 dport=5432 ${tail}`,
      `[1790000001.000000] [DESTROY] tcp 6 src=2001:db8:1::10 dst=2001:db8:2::20 sport=40000 dport=5432 packets=5 bytes=420 ${tail} packets=4 bytes=600 [ASSURED]`,
    ])
    expect(flows.map((f) => [f.src, f.dst, f.start, f.end, f.packets, f.bytes])).toEqual([
      ['2001:db8:1::10', '2001:db8:2::20', 1_790_000_000_000, 1_790_000_001_000, 9, 1020],
    ])
    expect(ctx.stats.notes).toMatchObject({ 'merged-events': 2 })
  })

  it(`holds at most ${String(MAX_OPEN_CONNECTIONS)} open connections, the least recently seen given out first`, async () => {
    const n = MAX_OPEN_CONNECTIONS + 2
    const lines = Array.from({ length: n }, (_, i) => {
      const a = `10.${String((i >> 16) & 255)}.${String((i >> 8) & 255)}.${String(i & 255)}`
      return `[NEW] udp 17 30 src=${a} dst=10.255.0.53 sport=5000 dport=53 [UNREPLIED] src=10.255.0.53 dst=${a} sport=53 dport=5000`
    })
    const { flows, ctx } = await run(lines)
    expect(flows).toHaveLength(n)
    expect(flows.slice(0, 2).map((f) => f.source.line)).toEqual([1, 2])
    expect(ctx.stats.notes).toMatchObject({
      'open-evicted': 2,
      'open-at-end': MAX_OPEN_CONNECTIONS,
    })
  }, 30_000)

  it('the line a killed capture cut short is skipped, not read as a whole connection', async () => {
    const full =
      'ipv4 2 tcp 6 431999 ESTABLISHED src=10.10.0.2 dst=203.0.113.9 sport=40000 dport=443 packets=5 bytes=300 src=203.0.113.9 dst=198.51.100.2 sport=443 dport=40000 packets=4 bytes=500 [ASSURED] mark=0 use=1'
    const { flows, ctx } = await run([
      full,
      full.slice(0, full.indexOf(' src=203')),
      full.slice(0, full.indexOf(' dport=40000')),
      'ipv4 2 udp 17 29 src=10.0.0.1 dst=8.8.8.8 sport=5000 dport=53 packets=1 bytes=60 [UNREPLIED]',
    ])
    expect(flows).toHaveLength(1)
    expect(ctx.stats.skipped).toEqual({ 'missing-reply-tuple': 3 })
  })

  it('vendor flags holding blanks, and bare words after the tuples, are ignored (Keenetic)', async () => {
    const { flows, ctx } = await run([
      'ipv4 2 tcp 6 1174 ESTABLISHED src=192.168.77.5 dst=8.8.8.8 sport=44836 dport=443 packets=1555 bytes=403810 src=8.8.8.8 dst=100.64.0.7 sport=443 dport=44836 packets=2098 bytes=284515 [ASSURED] [FASTNAT] [RTCACHE o33/r37] mark=0 nmark=256 sc=0 ifw=37 ifl=33 mac=00:00:5e:00:53:01 slan attrs= use=2',
      'ipv4 2 tcp 6 94 SYN_SENT src=172.16.9.2 dst=1.1.1.1 sport=51447 dport=443 packets=1 bytes=60 [UNREPLIED] src=1.1.1.1 dst=172.16.9.2 sport=443 dport=51447 packets=0 bytes=0 [FASTNAT] mark=0 nmark=0 sc=0 nomac swan no_if attrs= use=3',
      // a bare word before the tuples is still not conntrack
      'ipv4 2 tcp 6 94 SYN_SENT slan src=172.16.9.2 dst=1.1.1.1 sport=51447 dport=443 src=1.1.1.1 dst=172.16.9.2 sport=443 dport=51447',
    ])
    expect(flows.map((f) => [f.src, f.bytes, f.observedAction])).toEqual([
      ['192.168.77.5', 688325, 'accept'],
      ['172.16.9.2', 60, 'unknown'],
    ])
    expect(ctx.stats.skipped).toEqual({ 'bad-token': 1 })
  })
})

describe('conntrack malformed lines', () => {
  const cases: [string, string, string][] = [
    ['free text', 'hello world', 'bad-protocol'],
    ['no dst', 'tcp 6 10 ESTABLISHED src=10.0.0.1', 'missing-tuple'],
    [
      'bad address',
      'tcp 6 10 ESTABLISHED src=10.0.0.300 dst=10.0.0.2 sport=1 dport=2',
      'bad-address',
    ],
    ['port out of range', 'udp 17 10 src=10.0.0.1 dst=10.0.0.2 sport=70000 dport=53', 'bad-port'],
    ['tcp without ports', 'tcp 6 10 ESTABLISHED src=10.0.0.1 dst=10.0.0.2', 'missing-port'],
    [
      'bad counter',
      'udp 17 10 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=53 packets=x bytes=1 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1',
      'bad-counter',
    ],
    [
      'a byte sum above 2^53 - 1 (each 64-bit counter valid)',
      'udp 17 10 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=53 packets=1 bytes=9007199254740991 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1 packets=1 bytes=1',
      'bad-counter',
    ],
    [
      'a 64-bit counter above 2^53 - 1',
      'udp 17 10 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=53 packets=18446744073709551615 bytes=1 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1',
      'bad-counter',
    ],
    [
      'bad start',
      'udp 17 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=53 [start=soon]',
      'bad-timestamp',
    ],
    [
      'three tuples',
      'udp 17 1 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1 src=1.1.1.1',
      'too-many-tuples',
    ],
    ['icmp without type', 'icmp 1 10 src=10.0.0.1 dst=10.0.0.2 code=0 id=1', 'bad-icmp-type'],
  ]
  for (const [name, text, reason] of cases) {
    it(`skips ${name} as ${reason}`, async () => {
      const { flows, ctx } = await run([text])
      expect(flows).toHaveLength(0)
      expect(ctx.stats.skipped).toEqual({ [reason]: 1 })
      expect(ctx.stats.examples[0]).toMatchObject({ where: 'ct.txt:1', reason })
    })
  }

  it('throws BulkheadError in strict mode', async () => {
    const err = await run(['hello world'], 'ct.txt', true).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BulkheadError)
    expect((err as BulkheadError).diagnostics[0]).toMatchObject({
      code: 'ingest/malformed-record',
      location: { file: 'ct.txt', line: 1 },
    })
  })
})

describe('conntrack detect', () => {
  it('recognises its fixtures and rejects the others', () => {
    for (const f of ['conntrack-list.txt', 'conntrack-events.txt', 'conntrack-extended.txt'])
      expect(conntrackParser.detect(head(fixture(f))), f).toBeGreaterThan(0.5)
    for (const f of [
      'zeek-conn.log',
      'zeek-conn.json',
      'zeek-btest-columns.log',
      'hubble-jsonpb.json',
      'hubble-json-legacy.json',
    ]) {
      expect(conntrackParser.detect(head(fixture(f))), f).toBe(0)
    }
  })
})

describe('zeek, hubble and conntrack detect return 0 for the other formats', () => {
  const OTHERS: Record<string, string> = {
    'aws-vpc':
      'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK\n',
    'azure-nsg':
      '{"records":[{"time":"2024-03-05T10:00:00Z","properties":{"Version":2,"flows":[{"rule":"DefaultRule_AllowInternetOutBound","flows":[{"mac":"000D3AF87856","flowTuples":["1709632800,10.0.0.4,13.67.143.118,44931,443,T,O,A,B,,,,"]}]}]}}]}\n',
    'gcp-vpc':
      '{"insertId":"abc","jsonPayload":{"connection":{"src_ip":"10.128.0.2","src_port":22,"dest_ip":"35.235.241.16","dest_port":51234,"protocol":6},"reporter":"SRC","bytes_sent":"1200","packets_sent":"10","start_time":"2024-03-05T10:00:00Z","end_time":"2024-03-05T10:00:05Z"},"logName":"projects/p/logs/compute.googleapis.com%2Fvpc_flows"}\n',
    csv: 'src_ip,dst_ip,src_port,dst_port,protocol,start,end,packets,bytes,action\n10.0.0.1,10.0.0.2,40000,443,tcp,2024-03-05T10:00:00Z,2024-03-05T10:00:01Z,10,1000,accept\n',
  }
  const parsers = {
    zeek: zeekParserForDetect,
    hubble: hubbleParserForDetect,
    conntrack: conntrackParser,
  }
  for (const [format, text] of Object.entries(OTHERS)) {
    it(format, () => {
      for (const [name, p] of Object.entries(parsers))
        expect(p.detect(head(text)), `${name} on ${format}`).toBe(0)
    })
  }
})

describe('conntrack output as real tools write it', () => {
  // conntrack-tools src/conntrack.c prints `[%-8ld.%-6ld]`: microseconds as an integer, padded
  const short = [
    '[1712662404.88094 ]\t [UPDATE] tcp      6 60 SYN_RECV src=192.168.7.101 dst=157.240.251.61 sport=52717 dport=5222 src=157.240.251.61 dst=87.138.198.79 sport=5222 dport=26886 mark=25165825',
    '[1712662404.5     ]\t [UPDATE] tcp      6 60 SYN_RECV src=192.168.7.101 dst=157.240.251.61 sport=52718 dport=5222 src=157.240.251.61 dst=87.138.198.79 sport=5222 dport=26887 mark=25165825',
  ]

  it('a timestamp with fewer than six microsecond digits is microseconds, and is read', async () => {
    const { flows, ctx } = await run(short)
    expect(ctx.stats.skipped).toEqual({})
    expect(flows.map((f) => f.start)).toEqual([1_712_662_404_088, 1_712_662_404_000])
    expect(conntrackParser.detect(head(`${short.join('\n')}\n`))).toBeGreaterThan(0.5)
  })

  it('the epoch stamp is rounded to the ms once, half up: 0.5005 s is 501 ms, not 500', async () => {
    const line = (stamp: string, sport: number): string =>
      `[${stamp}]\t [UPDATE] tcp      6 60 SYN_RECV src=192.168.7.101 dst=157.240.251.61 sport=${String(sport)} dport=5222 src=157.240.251.61 dst=87.138.198.79 sport=5222 dport=${String(sport)}`
    const { flows, ctx } = await run([
      // more than six digits: a decimal fraction (Number('0.5005') * 1000 is 500.4999…)
      line('1712662404.5005000', 50001),
      line('1712662404.0015000', 50002),
      line('1712662404.123456789', 50003),
      // six digits: microseconds (`%-6ld`), half up; 999500 µs is the next second
      line('1712662404.500500', 50004),
      line('1712662404.999500', 50005),
      line('1712662404.000499', 50006),
    ])
    expect(ctx.stats.skipped).toEqual({})
    expect(flows.map((f) => f.start - 1_712_662_404_000)).toEqual([501, 2, 123, 501, 1000, 0])
  })

  it('the closing summary after an echoed ^C is a note, not a malformed record', async () => {
    const { ctx } = await run([
      '[DESTROY] udp      17 src=192.168.88.62 dst=172.26.38.1 sport=52725 dport=53 packets=1 bytes=86 [UNREPLIED] src=172.26.38.1 dst=192.168.88.62 sport=53 dport=52725 packets=0 bytes=0 mark=256',
      '^Cconntrack v1.4.5 (conntrack-tools): 18 flow events have been shown.',
    ])
    expect(ctx.stats.skipped).toEqual({})
    expect(ctx.stats.notes).toMatchObject({ 'summary-line': 1 })
  })

  it('a listing without times takes the file modification time (when it was written)', async () => {
    const when = new Date('2026-05-01T08:00:00Z')
    const { flows, summary } = await readAsFile(
      'tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=443 src=10.0.0.2 dst=10.0.0.1 sport=443 dport=40000 [ASSURED] mark=0 use=1\n',
      { name: 'ct.txt', mtime: when },
    )
    expect(flows[0]).toMatchObject({ start: when.getTime(), end: when.getTime() })
    expect(summary.stats.notes).toEqual({ 'time-from-file-mtime': 1, 'counters-not-logged': 1 })
  })
})

describe('conntrack without nf_conntrack_acct: counters not logged', () => {
  // Modelled on flowtable-offloaded entries, which print no timeout and, with accounting off (the
  // default), no counters: Linux Documentation/networking/nf_flowtable.rst ("You can identify
  // offloaded flows through the [OFFLOAD] tag", `tcp 6 src=… [OFFLOAD] mark=0 use=2`), the
  // netfilter-devel [HW_OFFLOAD] patch's /proc/net/nf_conntrack line (`[HW_OFFLOAD] mark=0
  // zone=0 use=3`), and a flowtable bug report's `conntrack -E` (events print counters only in
  // [DESTROY]). Their 0 packets and bytes were given with no note, unlike the other readers'.
  it('notes counters-not-logged for each line or connection that printed no packets=/bytes=', async () => {
    const { flows, ctx } = await run([
      'tcp      6 src=10.1.0.2 dst=192.0.2.20 sport=52728 dport=5201 src=192.0.2.20 dst=10.1.0.1 sport=5201 dport=52728 [OFFLOAD] mark=0 use=2',
      'ipv4     2 tcp      6 src=10.1.0.3 dst=10.1.0.4 sport=34018 dport=33396 packets=39 bytes=2641 src=10.1.0.4 dst=10.1.0.3 sport=33396 dport=34018 packets=4 bytes=218 [HW_OFFLOAD] mark=0 secctx=system_u:object_r:unlabeled_t:s0 zone=0 use=3',
      'udp      17 src=198.51.100.7 dst=192.168.0.254 sport=51820 dport=51820 src=192.168.1.240 dst=198.51.100.7 sport=51820 dport=51820 [OFFLOAD] mark=0 zone=1 use=2',
    ])
    expect(
      flows.map((f) => [f.src, f.dst, f.dstPort, f.packets, f.bytes, f.observedAction]),
    ).toEqual([
      ['10.1.0.2', '192.0.2.20', 5201, 0, 0, 'accept'],
      ['10.1.0.3', '10.1.0.4', 33396, 43, 2859, 'accept'],
      ['198.51.100.7', '192.168.1.240', 51820, 0, 0, 'accept'],
    ])
    expect(ctx.stats.notes).toMatchObject({ 'counters-not-logged': 2 })

    const events = await run([
      '[NEW] tcp      6 120 SYN_SENT src=192.168.6.55 dst=192.168.10.22 sport=55582 dport=22 [UNREPLIED] src=192.168.10.22 dst=192.168.6.55 sport=22 dport=55582 mark=16777216',
      '[UPDATE] tcp      6 86400 ESTABLISHED src=192.168.6.55 dst=192.168.10.22 sport=55582 dport=22 src=192.168.10.22 dst=192.168.6.55 sport=22 dport=55582 [OFFLOAD] mark=16777216',
      '[NEW] tcp      6 120 SYN_SENT src=192.168.6.55 dst=192.168.10.22 sport=54941 dport=22 [UNREPLIED] src=192.168.10.22 dst=192.168.6.55 sport=22 dport=54941 mark=16777216',
      '[DESTROY] tcp      6 ESTABLISHED src=192.168.6.55 dst=192.168.10.22 sport=54941 dport=22 packets=133 bytes=13033 src=192.168.10.22 dst=192.168.6.55 sport=22 dport=54941 packets=95 bytes=15004 [ASSURED] mark=16777216 delta-time=1036',
    ])
    // 54941 ended with its counters; 55582 was still open, its events never print any
    expect(events.flows.map((f) => [f.srcPort, f.packets, f.bytes])).toEqual([
      [54941, 228, 28037],
      [55582, 0, 0],
    ])
    expect(events.ctx.stats.notes).toMatchObject({ 'counters-not-logged': 1, 'open-at-end': 1 })
  })
})

describe('conntrack -o xml (libnetfilter_conntrack src/conntrack/snprintf_xml.c)', () => {
  /** One `<flow>` element as the XML printer writes it, on one line. */
  const xmlFlow = (o: {
    type?: string
    proto: [number, string]
    l3?: [number, string]
    orig: [string, string, string]
    reply: [string, string, string]
    counters?: [[number, number], [number, number]]
    independent: string
    /** After the metas (`<when>…</when>`). */
    after?: string
  }): string => {
    const [l3num, l3name] = o.l3 ?? [2, 'ipv4']
    const meta = (dir: string, [src, dst, l4]: [string, string, string], c?: [number, number]) =>
      `<meta direction="${dir}"><layer3 protonum="${String(l3num)}" protoname="${l3name}">` +
      `<src>${src}</src><dst>${dst}</dst></layer3>` +
      `<layer4 protonum="${String(o.proto[0])}" protoname="${o.proto[1]}">${l4}</layer4>` +
      (c
        ? `<counters><packets>${String(c[0])}</packets><bytes>${String(c[1])}</bytes></counters>`
        : '') +
      `</meta>`
    return (
      `<flow${o.type !== undefined ? ` type="${o.type}"` : ''}>` +
      meta('original', o.orig, o.counters?.[0]) +
      meta('reply', o.reply, o.counters?.[1]) +
      `<meta direction="independent">${o.independent}</meta>${o.after ?? ''}</flow>`
    )
  }
  /** One TCP connection 10.0.0.1:40000 -> 10.0.0.2:22. */
  const TCP_TUPLE = {
    proto: [6, 'tcp'] as [number, string],
    orig: ['10.0.0.1', '10.0.0.2', '<sport>40000</sport><dport>22</dport>'] as [
      string,
      string,
      string,
    ],
    reply: ['10.0.0.2', '10.0.0.1', '<sport>22</sport><dport>40000</dport>'] as [
      string,
      string,
      string,
    ],
  }
  const listing = [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<conntrack>',
    xmlFlow({
      proto: [6, 'tcp'],
      orig: ['10.244.1.17', '10.96.0.10', '<sport>51234</sport><dport>53</dport>'],
      reply: ['10.244.3.5', '10.244.1.17', '<sport>53</sport><dport>51234</dport>'],
      counters: [
        [5, 420],
        [4, 600],
      ],
      independent:
        '<state>ESTABLISHED</state><timeout>431999</timeout><mark>0</mark><use>1</use><id>3803213700</id><assured/>',
    }),
    xmlFlow({
      proto: [17, 'udp'],
      orig: ['10.0.0.5', '10.0.0.53', '<sport>40000</sport><dport>53</dport>'],
      reply: ['10.0.0.53', '10.0.0.5', '<sport>53</sport><dport>40000</dport>'],
      independent: '<timeout>29</timeout><mark>0</mark><use>1</use><unreplied/>',
    }),
    xmlFlow({
      proto: [58, 'icmpv6'],
      l3: [10, 'ipv6'],
      orig: ['2001:db8::1', '2001:db8::2', '<type>128</type><code>0</code><id>77</id>'],
      reply: ['2001:db8::2', '2001:db8::1', '<type>129</type><code>0</code><id>77</id>'],
      independent: '<timeout>29</timeout><use>1</use>',
    }),
    '</conntrack>',
  ]

  it('a listing: the flow elements are read as the text lines they stand for (DNAT, counters, UNREPLIED, ICMPv6)', async () => {
    expect(conntrackParser.detect(head(listing.join('\n') + '\n'))).toBe(0.9)
    const { flows, ctx } = await run(listing)
    expect(ctx.stats.skipped).toEqual({})
    expect(
      flows.map((f) => [
        f.src,
        f.srcPort,
        f.dst,
        f.dstPort,
        f.protocol,
        f.packets,
        f.bytes,
        f.observedAction,
      ]),
    ).toEqual([
      ['10.244.1.17', 51234, '10.244.3.5', 53, 6, 9, 1020, 'accept'],
      ['10.0.0.5', 40000, '10.0.0.53', 53, 17, 0, 0, 'unknown'],
      ['2001:db8::1', 0, '2001:db8::2', 128, 58, 0, 0, 'accept'],
    ])
    expect(flows.map((f) => f.source.line)).toEqual([3, 4, 5])
  })

  it('events (-E -o xml): new, update and destroy of one connection are one flow', async () => {
    const tuple = TCP_TUPLE
    const { flows, ctx } = await run([
      '<?xml version="1.0" encoding="utf-8"?>',
      '<conntrack>',
      xmlFlow({
        ...tuple,
        type: 'new',
        independent: '<state>SYN_SENT</state><timeout>120</timeout><unreplied/>',
      }),
      xmlFlow({
        ...tuple,
        type: 'update',
        independent: '<state>ESTABLISHED</state><timeout>432000</timeout><assured/>',
      }),
      xmlFlow({
        ...tuple,
        type: 'destroy',
        counters: [
          [12, 2000],
          [10, 4000],
        ],
        independent: '<assured/>',
      }),
      '</conntrack>',
    ])
    expect(ctx.stats.skipped).toEqual({})
    expect(ctx.stats.notes).toMatchObject({ 'merged-events': 2 })
    expect(flows).toEqual([
      expect.objectContaining({
        src: '10.0.0.1',
        dst: '10.0.0.2',
        dstPort: 22,
        packets: 22,
        bytes: 6000,
        observedAction: 'accept',
      }),
    ])
  })

  it('ICMP and ICMPv6 as the XML printer writes them, without type, code or id: echo requests, noted icmp-type-assumed-echo', async () => {
    // conntrack 1.4.7 / libnetfilter_conntrack (Debian 12), `conntrack -E -o xml,ktimestamp` of
    // three pings over IPv4 and two over IPv6 (test/netns/conntrack-kernel.test.ts): the
    // `<layer4>` of an ICMP tuple is empty, and ` [USERSPACE] portid=… progname=conntrack` follows
    // the element of a connection that `conntrack -F` ended
    const icmp = (l3: [number, string], proto: [number, string], a: string, b: string) => ({
      l3,
      proto,
      orig: [a, b, ''] as [string, string, string],
      reply: [b, a, ''] as [string, string, string],
    })
    const v4 = icmp([2, 'ipv4'], [1, 'icmp'], '10.77.0.1', '10.77.0.2')
    const v6 = icmp([10, 'ipv6'], [58, 'icmpv6'], 'fd00:77::1', 'fd00:77::2')
    const destroy = (n: number, start: string, stop: string) => ({
      type: 'destroy',
      counters: [
        [n, n * (n === 3 ? 84 : 104)],
        [n, n * (n === 3 ? 84 : 104)],
      ] as [[number, number], [number, number]],
      independent: `<timeout>29</timeout><timestamp><start>${start}</start><stop>${stop}</stop></timestamp><deltatime>0</deltatime>`,
    })
    const { flows, ctx } = await run([
      '<?xml version="1.0" encoding="utf-8"?>',
      '<conntrack>',
      xmlFlow({ ...v4, type: 'new', independent: '<timeout>30</timeout><unreplied/>' }),
      xmlFlow({ ...v4, type: 'update', independent: '<timeout>30</timeout>' }),
      xmlFlow({ ...v6, type: 'new', independent: '<timeout>30</timeout><unreplied/>' }),
      xmlFlow({ ...v6, type: 'update', independent: '<timeout>30</timeout>' }),
      xmlFlow({ ...v6, ...destroy(2, '1795553659393521137', '1795553659719934621') }) +
        ' [USERSPACE] portid=20920 progname=conntrack',
      xmlFlow({ ...v4, ...destroy(3, '1795553659393187970', '1795553659720155107') }) +
        ' [USERSPACE] portid=20920 progname=conntrack',
    ])
    expect(ctx.stats.skipped).toEqual({})
    expect(ctx.stats.notes).toMatchObject({ 'icmp-type-assumed-echo': 6 })
    // both directions' counters; the kernel's start and stop in ns, rounded to the ms
    const echo = { srcPort: 0, observedAction: 'accept', direction: 'client-to-server' }
    expect(flows).toMatchObject([
      { ...echo, src: 'fd00:77::1', dst: 'fd00:77::2', dstPort: 128, protocol: 58, packets: 4 },
      { ...echo, src: '10.77.0.1', dst: '10.77.0.2', dstPort: 8, protocol: 1, packets: 6 },
    ])
    expect(flows.map((f) => [f.bytes, f.start, f.end])).toEqual([
      [416, 1795553659394, 1795553659720],
      [504, 1795553659393, 1795553659720],
    ])
  })

  it('events timed by their [DESTROY] alone (-E -o xml,ktimestamp): the flow is not noted time-from-file-mtime', async () => {
    // the kernel gives `<timestamp>` in the destroy event only (conntrack 1.4.7 against Linux 6.x,
    // test/netns/conntrack-kernel.test.ts): the new and update events have no time, and took the
    // file's, but the flow's times are the kernel's start and stop; a connection whose events
    // have no time at all keeps the note
    const when = new Date('2026-05-01T08:00:00Z')
    const tuple = (src: string, dst: string, l4: string): [string, string, string] => [src, dst, l4]
    const other = {
      ...TCP_TUPLE,
      orig: tuple('10.0.0.1', '10.0.0.2', '<sport>40001</sport><dport>22</dport>'),
      reply: tuple('10.0.0.2', '10.0.0.1', '<sport>22</sport><dport>40001</dport>'),
    }
    const { flows, summary } = await readAsFile(
      [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<conntrack>',
        xmlFlow({ ...TCP_TUPLE, type: 'new', independent: '<state>SYN_SENT</state><unreplied/>' }),
        xmlFlow({ ...other, type: 'new', independent: '<state>SYN_SENT</state><unreplied/>' }),
        xmlFlow({
          ...TCP_TUPLE,
          type: 'update',
          independent: '<state>ESTABLISHED</state><assured/>',
        }),
        xmlFlow({
          ...TCP_TUPLE,
          type: 'destroy',
          counters: [
            [6, 1320],
            [4, 5216],
          ],
          independent:
            '<state>TIME_WAIT</state><assured/><timestamp><start>1795553657253600000</start><stop>1795553659719500000</stop></timestamp><deltatime>2</deltatime>',
        }),
        '',
      ].join('\n'),
      { name: 'ct.xml', mtime: when },
    )
    expect(flows.map((f) => [f.srcPort, f.start, f.end])).toEqual([
      [40000, 1795553657254, 1795553659720],
      [40001, when.getTime(), when.getTime()],
    ])
    // one note for the one event of the connection that had no time of its own
    expect(summary.stats.notes['time-from-file-mtime']).toBe(1)
  })

  describe('times (-o xml,ktimestamp: <timestamp>; -o xml,timestamp: <when>)', () => {
    const tcp = TCP_TUPLE
    const START_NS = '1700000000123456789'
    const when = (h: number, m: number, s: number): string =>
      `<when><hour>${String(h)}</hour><min>${String(m).padStart(2, '0')}</min><sec>${String(s).padStart(2, '0')}</sec><wday>3</wday><day>14</day><month>11</month><year>2023</year></when>`

    it('ktimestamp: start and stop are the kernel’s (ns, UTC); start only ends at start + deltatime', async () => {
      const { flows, ctx } = await run([
        xmlFlow({
          ...tcp,
          type: 'destroy',
          independent: `<assured/><timestamp><start>${START_NS}</start><stop>1700000090987654321</stop></timestamp><deltatime>90</deltatime>`,
        }),
      ])
      expect(ctx.stats.skipped).toEqual({})
      expect(flows).toEqual([
        expect.objectContaining({ start: 1_700_000_000_123, end: 1_700_000_090_988 }),
      ])
      expect(ctx.stats.notes).not.toHaveProperty('time-from-file-mtime')
      expect(ctx.stats.notes).not.toHaveProperty('no-timestamp')
      const listing = await run([
        '<?xml version="1.0" encoding="utf-8"?>',
        '<conntrack>',
        xmlFlow({
          ...tcp,
          independent: `<state>ESTABLISHED</state><timeout>300</timeout><assured/><timestamp><start>${START_NS}</start></timestamp><deltatime>42</deltatime>`,
        }),
        '</conntrack>',
      ])
      expect(listing.flows).toEqual([
        expect.objectContaining({ start: 1_700_000_000_123, end: 1_700_000_042_123 }),
      ])
      expect(listing.ctx.stats.notes).toEqual({ 'counters-not-logged': 1 })
    })

    it('ktimestamp: ns are rounded to the ms once, half up (not through a double, which holds 19 digits to 256 ns)', async () => {
      const { flows, ctx } = await run([
        xmlFlow({
          ...tcp,
          type: 'destroy',
          independent: `<timestamp><start>1712662404000499999</start><stop>1712662405000500000</stop></timestamp><deltatime>1</deltatime>`,
        }),
      ])
      expect(ctx.stats.skipped).toEqual({})
      expect(flows).toEqual([
        expect.objectContaining({ start: 1_712_662_404_000, end: 1_712_662_405_001 }),
      ])
    })

    it('timestamp (-E): <when> is the event time, local time read as UTC; events merge first to last', async () => {
      const { flows, ctx } = await run([
        xmlFlow({
          ...tcp,
          type: 'new',
          independent: '<state>SYN_SENT</state><timeout>120</timeout><unreplied/>',
          after: when(22, 13, 20),
        }),
        xmlFlow({
          ...tcp,
          type: 'destroy',
          independent: '<assured/>',
          after: when(22, 15, 5),
        }),
      ])
      expect(ctx.stats.skipped).toEqual({})
      expect(ctx.stats.notes).toMatchObject({ 'local-time-as-utc': 2, 'merged-events': 1 })
      expect(flows).toEqual([
        expect.objectContaining({
          start: Date.UTC(2023, 10, 14, 22, 13, 20),
          end: Date.UTC(2023, 10, 14, 22, 15, 5),
        }),
      ])
    })

    it('ktimestamp wins over <when>; a time element that is no time is bad-timestamp', async () => {
      const both = await run([
        xmlFlow({
          ...tcp,
          type: 'destroy',
          independent: `<timestamp><start>${START_NS}</start><stop>1700000001000000000</stop></timestamp>`,
          after: when(3, 0, 0),
        }),
      ])
      expect(both.flows).toEqual([
        expect.objectContaining({ start: 1_700_000_000_123, end: 1_700_000_001_000 }),
      ])
      expect(both.ctx.stats.notes).not.toHaveProperty('local-time-as-utc')
      const bad = await run([
        xmlFlow({ ...tcp, independent: '<timestamp><start>soon</start></timestamp>' }),
        xmlFlow({ ...tcp, independent: '<assured/>', after: when(25, 0, 0) }),
      ])
      expect(bad.flows).toEqual([])
      expect(bad.ctx.stats.skipped).toEqual({ 'bad-timestamp': 2 })
    })
  })
})
