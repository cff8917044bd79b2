import { describe, it, expect } from 'vitest'
import { readAsFile } from '../helpers/files.js'
import { BulkheadError } from '../../src/core/index.js'
import { csvParser, splitCsv } from '../../src/ingest/formats/csv.js'
import { fixtureText, runParser } from './text-helpers.js'

describe('csv parser', () => {
  it('a protocol named like an Object.prototype property is a bad protocol (found by the fuzz campaign)', async () => {
    // PROTOCOL_NAMES['constructor'] is Object: the row was a flow of protocol Object
    const text =
      'src,dst,dst_port,protocol\n10.0.0.1,10.0.0.2,80,constructor\n10.0.0.1,10.0.0.2,80,tcp\n'
    const { flows, ctx } = await runParser(csvParser, text)
    expect(flows.map((f) => f.protocol)).toEqual([6])
    expect(ctx.stats.skipped).toEqual({ 'bad-protocol': 1 })
  })

  it('reads aliases, quoted fields, names and numbers, ISO / epoch s / epoch ms times', async () => {
    const { flows, ctx } = await runParser(csvParser, fixtureText('flows.csv'), { file: 'f.csv' })
    expect(ctx.stats.skipped).toEqual({ 'bad-port': 1 })
    expect(flows).toHaveLength(5)
    expect(flows[0]).toEqual({
      src: '10.0.0.1',
      dst: '10.0.0.2',
      srcPort: 51515,
      dstPort: 443,
      protocol: 6,
      start: Date.UTC(2024, 4, 1, 10, 0, 0),
      end: Date.UTC(2024, 4, 1, 10, 0, 30, 500),
      packets: 10,
      bytes: 2000,
      observedAction: 'accept',
      direction: 'unknown',
      source: { format: 'csv', file: 'f.csv', line: 2 },
    })
    expect(flows[1]).toMatchObject({
      start: 1714557600000,
      end: 1714557660000,
      observedAction: 'reject',
      protocol: 6,
    })
    expect(flows[2]).toMatchObject({ src: '2001:db8::1', protocol: 17, start: 1714557600000 })
    // +02:00 offset, empty end = start, multi-line quoted note: the record's first line
    expect(flows[3]).toMatchObject({
      start: Date.UTC(2024, 4, 1, 8),
      end: Date.UTC(2024, 4, 1, 8),
      observedAction: 'unknown',
      source: { line: 5 },
    })
    expect(flows[4]).toMatchObject({ protocol: 1, dstPort: 8, source: { line: 8 } })
  })

  it("reads Argus's binetflow columns: StartTime with slashes, Dur, TotPkts, TotBytes", async () => {
    // the header and a row of CTU-13's binetflow files (ra -c , output)
    const text = [
      'StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,TotBytes,SrcBytes,Label',
      '2011/08/10 09:46:59.607825,1.026539,tcp,94.44.127.113,1577,   ->,147.32.84.59,6881,S_RA,0,0,4,276,156,flow=Background',
      '2011/08/10 09:47:00.000000,bad,tcp,94.44.127.113,1578,   ->,147.32.84.59,6881,S_RA,0,0,4,276,156,flow=Background',
    ].join('\n')
    const { flows, ctx } = await runParser(csvParser, text)
    expect(flows[0]).toMatchObject({
      src: '94.44.127.113',
      dstPort: 6881,
      start: Date.UTC(2011, 7, 10, 9, 46, 59, 608),
      // 59.607825 s + 1.026539 s = 60.634364 s: rounded once, not 608 ms + 1027 ms
      end: Date.UTC(2011, 7, 10, 9, 47, 0, 634),
      packets: 4,
      bytes: 276,
    })
    expect(ctx.stats.skipped).toEqual({ 'bad-time': 1 })
  })

  it("reads Argus's ICMP rows: type and code from Sport (hex for ICMPv4), Dport not the type", async () => {
    // rows written for this test in the shape of CTU-13's binetflow files. Argus-clients 3.0.x
    // print an ICMPv4 Sport as the 16-bit word over the type byte then the code byte, read on a
    // little-endian host (code·256+type) as `0x%4.4x`, and Dport as the word over the ICMP id
    // (for a port unreachable the quoted datagram's port); ICMPv6 both in decimal
    const head =
      'StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,TotBytes,SrcBytes,Label'
    const row = (proto: string, src: string, sport: string, dst: string, dport: string): string =>
      `2011/08/10 10:01:02.000100,0.000000,${proto},${src},${sport},   ->,${dst},${dport},INT,0,,1,70,70,flow=Background`
    const text = [
      head,
      row('icmp', '192.0.2.10', '0x0303', '198.51.100.7', '0x9c40'), // port unreachable (3, 3)
      row('icmp', '192.0.2.10', '0x0008', '198.51.100.7', '0x2a1b'), // echo (8, 0), id 0x2a1b
      row('icmp', '192.0.2.10', '0x0103', '198.51.100.7', '0xc633'), // host unreachable (3, 1)
      row('icmp', '192.0.2.10', '0x000b', '198.51.100.7', '0x0000'), // time exceeded (11, 0)
      row('icmp', '192.0.2.10', '0x0000', '198.51.100.7', '0x0000'), // echo reply (0, 0)
      row('ipv6-icmp', '2001:db8::5', '135', '2001:db8::1', '0'), // neighbor solicitation
      row('ipv6-icmp', '2001:db8::5', '1025', '2001:db8::1', '17'), // unreachable (1, 4)
      // as Debian's argus-client 3.0.8.2 prints ICMPv6 (checked in test/netns/argus-kernel):
      // the type in Sport, the code in Dport (a port unreachable: 1 and 4)
      row('ipv6-icmp', '2001:db8::5', '1', '2001:db8::1', '4'),
      row('ipv6-icmp', '2001:db8::5', '128', '2001:db8::1', '0'), // echo request
      // hex for TCP/UDP, for ICMPv6, too many digits, not hex: refused
      row('tcp', '192.0.2.10', '0x0050', '198.51.100.7', '80'),
      row('udp', '192.0.2.10', '53', '198.51.100.7', '0x0035'),
      row('icmp', '2001:db8::5', '0x0080', '2001:db8::1', '0x0000'),
      row('icmp', '192.0.2.10', '0x10303', '198.51.100.7', '0x0000'),
      row('icmp', '192.0.2.10', '0x0303', '198.51.100.7', '0xzz'),
    ].join('\n')
    const { flows, ctx } = await runParser(csvParser, text)
    expect(flows.map((f) => [f.protocol, f.dstPort, f.srcPort, f.direction])).toEqual([
      [1, 3, 3, 'unknown'],
      [1, 8, 0, 'unknown'],
      [1, 3, 1, 'unknown'],
      [1, 11, 0, 'unknown'],
      [1, 0, 0, 'server-to-client'],
      [58, 135, 0, 'unknown'],
      [58, 1, 4, 'unknown'],
      [58, 1, 4, 'unknown'],
      [58, 128, 0, 'unknown'],
    ])
    expect(ctx.stats.skipped).toEqual({ 'bad-port': 5 })
  })

  it("reads an Argus TCP row's State as `ra -Z b` prints it: both directions' flags, a SYN answered by a reset a refusal", async () => {
    // rows as Debian's argus-client 3.0.8.2 printed them for connections made on a veth (test/
    // netns/argus-kernel): State is the source's flags `_` the destination's (7 and 8: ECE, CWR)
    const head =
      'StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,TotBytes,SrcBytes,Label'
    const row = (proto: string, sport: string, state: string, label = ''): string =>
      `2026/11/24 20:23:38.387930,0.000012,${proto},10.79.0.1,${sport},   ->,10.79.0.2,9,${state},0,0,2,128,74,${label}`
    const text = [
      head,
      row('tcp', '41003', 'S_RA'), // refused: SYN, answered RST+ACK
      row('tcp', '41001', 'FSPA_FSPA'), // a whole connection
      row('tcp', '41004', 'S_'), // unanswered
      row('tcp', '41005', 'SA_RA'), // no SYN without ACK from the source: not told refused
      row('tcp', '41006', 'S7_RA8'), // ECE and CWR
      row('tcp', '41007', 'RST'), // ra's state without -Z b: no flags
      row('udp', '41008', 'S_RA'), // not TCP: no flags
      row('tcp', '41009', 'S_RA', 'accept'), // an action the file gives is kept
    ].join('\n')
    const { flows, ctx } = await runParser(csvParser, text.replace(',Label', ',action'))
    expect(flows.map((f) => [f.srcPort, f.tcpFlags, f.observedAction])).toEqual([
      [41003, 0x16, 'reject'],
      [41001, 0x1b, 'unknown'],
      [41004, 0x02, 'unknown'],
      [41005, 0x16, 'unknown'],
      [41006, 0xd6, 'reject'],
      [41007, undefined, 'unknown'],
      [41008, undefined, 'unknown'],
      [41009, 0x16, 'accept'],
    ])
    expect(ctx.stats.notes).toMatchObject({ 'refused-by-reset': 2 })
  })

  it('hex ports outside an Argus header stay bad-port, ICMP too', async () => {
    const text = [
      'src_ip,dst_ip,src_port,dst_port,protocol',
      '192.0.2.10,198.51.100.7,0x0303,0x9c40,icmp',
      '192.0.2.10,198.51.100.7,0,771,icmp',
    ].join('\n')
    const { flows, ctx } = await runParser(csvParser, text)
    expect(flows.map((f) => [f.protocol, f.dstPort, f.srcPort])).toEqual([[1, 3, 3]])
    expect(ctx.stats.skipped).toEqual({ 'bad-port': 1 })
  })

  it("reads Argus's %y-%m-%d+%T.%f times; its ARP, LLDP and management (`man`) records are not-ip notes, not malformed", async () => {
    // modelled on the `ra -F ra.conf -L0 -c , -n -s +spkts,dpkts,load,pcr` output of Tenzir's
    // Argus guide (ra.conf: RA_TIME_FORMAT="%y-%m-%d+%T.%f"), https://docs.tenzir.com (argus)
    const text = [
      'StartTime,Flgs,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,TotPkts,TotBytes,State,SrcPkts,DstPkts',
      '24-03-05+10:00:03.914398, e        ,udp,192.168.7.1,626,   ->,224.0.0.1,626,1,75,INT,1,0',
      '24-03-05+10:00:20.093410, e        ,lldp,00:22:2d:81:db:10,0,   ->,01:80:c2:00:00:0e,0,1,118,INT,1,0',
      '24-03-05+10:00:21.486288, e        ,arp,192.168.7.102,,  who,192.168.7.1,,2,106,CON,1,1',
      // Argus's own management records (its start and stop reports, as Debian's 3.0.8.2 prints)
      '24-03-05+10:00:01.114814,          ,man,0,0,,0,0,0,0,STA,0,0',
      '99-12-31+23:59:59.000500, e        ,tcp,192.168.7.102,40000,   ->,192.168.7.1,22,3,180,CON,2,1',
    ].join('\n')
    const { flows, ctx } = await runParser(csvParser, text, { strict: true })
    expect(flows.map((f) => [f.protocol, f.dstPort, f.start, f.packets, f.bytes])).toEqual([
      [17, 626, Date.UTC(2024, 2, 5, 10, 0, 3, 914), 1, 75],
      // a two-digit year of 69–99 is 1969–1999 (POSIX strptime %y)
      [6, 22, Date.UTC(1999, 11, 31, 23, 59, 59, 1), 3, 180],
    ])
    expect(ctx.stats.skipped).toEqual({})
    expect(ctx.stats.notes).toMatchObject({ 'not-ip': 3 })
  })

  it('start + duration is rounded once whatever the spelling of the start (epoch s, µs, ISO)', async () => {
    const text = [
      'src_ip,dst_ip,dst_port,protocol,start,duration',
      '10.0.0.1,10.0.0.2,80,tcp,1800000000.100400,0.0023',
      '10.0.0.1,10.0.0.2,80,tcp,1800000000100400,0.0023',
      '10.0.0.1,10.0.0.2,80,tcp,2027-01-15T08:00:00.100400Z,0.0023',
      '10.0.0.1,10.0.0.2,80,tcp,2027-01-15T09:00:00.100400+01:00,0.0023',
      '10.0.0.1,10.0.0.2,80,tcp,1800000000.1,0.0023',
    ].join('\n')
    const { flows, ctx } = await runParser(csvParser, text)
    expect(ctx.stats.skipped).toEqual({})
    // .1004 s + .0023 s = .1027 s → 103 ms after the second (100 + round(2.3) = 102 was wrong)
    expect(flows.map((f) => f.end - f.start)).toEqual([3, 3, 3, 3, 2])
    expect(flows[2]?.end).toBe(Date.parse('2027-01-15T08:00:00.103Z'))
    expect(flows[3]?.end).toBe(Date.parse('2027-01-15T08:00:00.103Z'))
  })

  it('ICMP: the family decides icmp/icmpv6, type·256+code above 255, wrong-family numbers skipped', async () => {
    const text = [
      'src_ip,dst_ip,dst_port,protocol',
      '10.0.9.10,10.0.1.10,2048,icmp', // type 8 code 0 in one number
      '10.0.1.10,10.0.9.10,0,1', // echo reply
      '2001:db8::9,2001:db8::10,128,icmp', // the name `icmp` over IPv6: ICMPv6
      '2001:db8::9,2001:db8::10,8,1', // ICMPv4 over IPv6: no such packet
      '10.0.9.10,10.0.1.10,8,58', // ICMPv6 over IPv4
      '10.0.9.10,10.0.1.10,771,1', // type 3 code 3
    ].join('\n')
    const { flows, ctx } = await runParser(csvParser, text, { file: 'i.csv' })
    expect(flows.map((f) => [f.protocol, f.dstPort, f.srcPort, f.direction])).toEqual([
      [1, 8, 0, 'unknown'],
      [1, 0, 0, 'server-to-client'],
      [58, 128, 0, 'unknown'],
      [1, 3, 3, 'unknown'],
    ])
    expect(ctx.stats.skipped).toEqual({ 'bad-protocol': 2 })
  })

  it('splits RFC 4180 records', () => {
    expect(splitCsv('a,"b,c","d ""e""",')).toEqual(['a', 'b,c', 'd "e"', ''])
    expect(splitCsv('"open,quote')).toBeUndefined()
  })

  it('a header without a required column names it and the header names it takes', async () => {
    // an nProbe template without the protocol element: every other required column is there
    const noProto = 'IPV4_SRC_ADDR,IPV4_DST_ADDR,L4_SRC_PORT,L4_DST_PORT,IN_PKTS,IN_BYTES\n'
    const err = await runParser(csvParser, `\n${noProto}10.0.0.1,10.0.0.2,5000,80,1,60\n`, {
      file: 'np.csv',
      strict: true,
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BulkheadError)
    const d = (err as BulkheadError).diagnostics[0]
    expect(d).toMatchObject({
      code: 'ingest/malformed-record',
      location: { file: 'np.csv', line: 2, column: 1 },
    })
    // the missing role, with its header names; not the roles the header has
    expect(d?.message).toMatch(/\bno protocol column \(protocol, proto, [^)]*network_iana_number\)/)
    expect(d?.message).not.toMatch(/no (src_ip|dst_ip|dst_port) column/)
    // no destination address and no destination port (`;`-separated): both named, in one example
    const { ctx } = await runParser(csvParser, 'srcaddr;sport;proto\n10.0.0.1;5000;6\n', {
      file: 'd.csv',
    })
    expect(ctx.stats.skipped).toEqual({ 'no-header': 2 })
    const ex = ctx.stats.examples[0]
    expect(ex).toMatchObject({ where: 'd.csv:1', reason: 'no-header', text: 'srcaddr;sport;proto' })
    expect(ex?.detail).toMatch(
      /^no dst_ip column \(dst_ip, dstaddr, .*ipv6_dst_addr\); no dst_port column \(dst_port, /,
    )
  })

  it('needs a header with the required columns', async () => {
    const { flows, ctx } = await runParser(csvParser, 'a,b,c\n1,2,3\n')
    expect(flows).toEqual([])
    expect(ctx.stats.skipped['no-header']).toBe(2)
    expect(csvParser.detect(new TextEncoder().encode('src_ip,dst_ip,dst_port\n'))).toBe(0)
    // a JSON line whose keys, split at commas, name the columns is still no CSV header
    const json = '{"Bytes":1,"DstAddr":"10.0.0.2","DstPort":80,"Proto":6,"SrcAddr":"10.0.0.1"}\n'
    expect(csvParser.detect(new TextEncoder().encode(json))).toBe(0)
    expect(csvParser.detect(new TextEncoder().encode(' [' + json))).toBe(0)
    expect(
      csvParser.detect(new TextEncoder().encode('SRCADDR;DSTADDR;DSTPORT;PROTOCOL\n')),
    ).toBeGreaterThanOrEqual(0.5)
  })

  it('reads semicolon files, skips repeated headers, and counts field-count errors', async () => {
    const text =
      'srcaddr;dstaddr;dstport;protocol\n10.0.0.1;10.0.0.2;80;tcp\nsrcaddr;dstaddr;dstport;protocol\n10.0.0.1;10.0.0.2\n'
    const { flows, ctx } = await runParser(csvParser, text)
    expect(flows).toHaveLength(1)
    expect(ctx.stats.skipped).toEqual({ 'field-count': 1 })
  })
})

describe('csv without times', () => {
  it('takes the file time (its modification time), noted; from standard input 0, noted', async () => {
    const text = 'src_ip,dst_ip,dst_port,protocol\n10.0.0.1,10.0.0.2,443,tcp\n'
    const when = new Date('2026-02-01T12:00:00Z')
    const file = await readAsFile(text, { name: 'export.csv', format: 'csv', mtime: when })
    expect(file.flows[0]).toMatchObject({ start: when.getTime(), end: when.getTime() })
    expect(file.summary.stats.notes).toMatchObject({ 'time-from-file-mtime': 1 })
    const { flows, ctx } = await runParser(csvParser, text)
    expect(flows[0]).toMatchObject({ start: 0, end: 0 })
    // no packet or byte column either: 0 for them, noted
    expect(ctx.stats.notes).toEqual({ 'no-timestamp': 1, 'counters-not-logged': 1 })
  })

  it('notes counters-not-logged for a header without packet or byte columns, as the other readers', async () => {
    const head = 'src_ip,dst_ip,dst_port,protocol,start'
    const row = '10.0.0.1,10.0.0.2,443,tcp,2026-11-20T10:00:00Z'
    // no packets, no bytes; bytes only; packets only: each record noted, counters 0
    for (const [h, r, packets, bytes] of [
      [head, row, 0, 0],
      [`${head},bytes`, `${row},500`, 0, 500],
      [`${head},pkts`, `${row},7`, 7, 0],
    ] as const) {
      const { flows, ctx } = await runParser(csvParser, `${h}\n${r}\n${r}\n`)
      expect(flows.map((f) => [f.packets, f.bytes])).toEqual([
        [packets, bytes],
        [packets, bytes],
      ])
      expect(ctx.stats.notes).toEqual({ 'counters-not-logged': 2 })
    }
    // both given (the other direction's counters alone count too): no note
    for (const h of [`${head},packets,bytes`, `${head},opkt,obyt`]) {
      const { ctx } = await runParser(csvParser, `${h}\n${row},1,60\n`)
      expect(ctx.stats.notes).toEqual({})
    }
  })
})

describe('csv from nProbe / ntopng (NetFlow element names)', () => {
  // nProbe names its columns by NetFlow/IPFIX element (IPV4_SRC_ADDR, L4_DST_PORT, IN_BYTES
  // "src->dst", OUT_BYTES "dst->src", FIRST_SWITCHED…:
  // https://www.ntop.org/guides/nprobe/flow_information_elements.html); modelled on a public
  // test's nProbe CSV (`IPV4_SRC_ADDR,IPV4_DST_ADDR,IPV4_NEXT_HOP,INPUT_SNMP,OUTPUT_SNMP,IN_PKTS,
  // IN_BYTES,FIRST_SWITCHED,LAST_SWITCHED,L4_SRC_PORT,L4_DST_PORT,TCP_FLAGS,PROTOCOL,…`) and on the
  // NetFlow datasets nProbe produced (`FLOW_START_MILLISECONDS,FLOW_END_MILLISECONDS,IPV4_SRC_ADDR,
  // L4_SRC_PORT,IPV4_DST_ADDR,L4_DST_PORT,PROTOCOL,L7_PROTO,IN_BYTES,IN_PKTS,OUT_BYTES,OUT_PKTS,…`)
  it('reads the element-named columns: seconds or milliseconds, both directions counted', async () => {
    const nprobe = await runParser(
      csvParser,
      'IPV4_SRC_ADDR,IPV4_DST_ADDR,IPV4_NEXT_HOP,INPUT_SNMP,OUTPUT_SNMP,IN_PKTS,IN_BYTES,FIRST_SWITCHED,LAST_SWITCHED,L4_SRC_PORT,L4_DST_PORT,TCP_FLAGS,PROTOCOL\n' +
        '198.51.100.92,203.0.113.110,203.0.113.110,120,108,1,53,1185480240,1185480241,31632,53,0,17\n',
    )
    expect(nprobe.flows[0]).toMatchObject({
      src: '198.51.100.92',
      srcPort: 31632,
      dst: '203.0.113.110',
      dstPort: 53,
      protocol: 17,
      start: 1_185_480_240_000,
      end: 1_185_480_241_000,
      packets: 1,
      bytes: 53,
    })
    const dataset = await runParser(
      csvParser,
      'FLOW_START_MILLISECONDS,FLOW_END_MILLISECONDS,IPV4_SRC_ADDR,L4_SRC_PORT,IPV4_DST_ADDR,L4_DST_PORT,PROTOCOL,L7_PROTO,IN_BYTES,IN_PKTS,OUT_BYTES,OUT_PKTS,TCP_FLAGS\n' +
        '1424242190000,1424242191250,192.0.2.1,47439,192.0.2.16,80,6,7.0,1580,10,10168,12,27\n',
    )
    expect(dataset.flows[0]).toMatchObject({
      start: 1_424_242_190_000,
      end: 1_424_242_191_250,
      packets: 22,
      bytes: 11748,
      tcpFlags: 27,
    })
  })

  it('a total of both directions (TOTAL_BYTES) is not added to the other direction (OUT_BYTES), whichever column comes first', async () => {
    // nProbe's TOTAL_BYTES is IN_BYTES + OUT_BYTES (ntop's flow information elements); read
    // first, it was summed with OUT_BYTES: 1500 + 500 = 2000
    for (const head of [
      'TOTAL_BYTES,IPV4_SRC_ADDR,IPV4_DST_ADDR,L4_SRC_PORT,L4_DST_PORT,PROTOCOL,IN_BYTES,OUT_BYTES,IN_PKTS,OUT_PKTS',
      'IPV4_SRC_ADDR,IPV4_DST_ADDR,L4_SRC_PORT,L4_DST_PORT,PROTOCOL,IN_BYTES,OUT_BYTES,IN_PKTS,OUT_PKTS,TOTAL_BYTES',
    ]) {
      const cells: Record<string, string> = {
        TOTAL_BYTES: '1500',
        IPV4_SRC_ADDR: '10.0.0.1',
        IPV4_DST_ADDR: '10.0.0.2',
        L4_SRC_PORT: '40000',
        L4_DST_PORT: '443',
        PROTOCOL: '6',
        IN_BYTES: '1000',
        OUT_BYTES: '500',
        IN_PKTS: '10',
        OUT_PKTS: '5',
      }
      const row = head
        .split(',')
        .map((c) => cells[c] ?? '')
        .join(',')
      const { flows } = await runParser(csvParser, `${head}\n${row}\n`)
      expect(flows[0]).toMatchObject({ packets: 15, bytes: 1500 })
    }
  })

  it('takes the IPv6 columns where the IPv4 ones are empty (ntopng: one column pair per family)', async () => {
    const { flows, ctx } = await runParser(
      csvParser,
      'FIRST_SEEN,LAST_SEEN,PROTOCOL,IPV4_SRC_ADDR,IPV6_SRC_ADDR,IP_SRC_PORT,IPV4_DST_ADDR,IPV6_DST_ADDR,IP_DST_PORT,PACKETS,TOTAL_BYTES\n' +
        '1700000000,1700000005,6,10.0.0.1,,40000,10.0.0.2,,443,12,3400\n' +
        '1700000000,1700000005,17,0.0.0.0,2001:db8::1,40001,0.0.0.0,2001:db8::2,53,2,180\n',
    )
    expect(ctx.stats.skipped).toEqual({})
    expect(flows.map((f) => [f.src, f.srcPort, f.dst, f.dstPort, f.packets, f.bytes])).toEqual([
      ['10.0.0.1', 40000, '10.0.0.2', 443, 12, 3400],
      ['2001:db8::1', 40001, '2001:db8::2', 53, 2, 180],
    ])
    // IPv6 columns alone
    const v6 = await runParser(
      csvParser,
      'IPV6_SRC_ADDR|IPV6_DST_ADDR|L4_SRC_PORT|L4_DST_PORT|PROTOCOL\n2001:db8::1|2001:db8::2|40001|53|17\n',
    )
    expect(v6.flows[0]).toMatchObject({ src: '2001:db8::1', dst: '2001:db8::2', dstPort: 53 })
  })
})

describe("csv from pmacct's print plugin with nfacctd_stitching", () => {
  // TIMESTAMP_MIN / TIMESTAMP_MAX: "given an aggregation method, timestamp_min is the timestamp of
  // the first element contributing to a certain aggregate and timestamp_max is the timestamp of
  // the last element" (pmacct-commits, nfacctd_stitching; pmacct issue #155); header modelled on a
  // public consumer's `SRC_IP,DST_IP,SRC_PORT,DST_PORT,TCP_FLAGS,PROTOCOL,TOS,TIMESTAMP_MIN,
  // TIMESTAMP_MAX,PACKETS,BYTES` with timestamps_since_epoch
  it('reads TIMESTAMP_MIN / TIMESTAMP_MAX as start and end; as local time when printed without a zone', async () => {
    const head =
      'SRC_IP,DST_IP,SRC_PORT,DST_PORT,TCP_FLAGS,PROTOCOL,TOS,TIMESTAMP_MIN,TIMESTAMP_MAX,PACKETS,BYTES'
    const epoch = await runParser(
      csvParser,
      `${head}\n10.0.0.1,10.0.0.2,51515,443,27,6,0,1700000000.123456,1700000010.500000,10,2000\n`,
    )
    expect(epoch.flows[0]).toMatchObject({
      start: 1_700_000_000_123,
      end: 1_700_000_010_500,
      packets: 10,
      bytes: 2000,
      tcpFlags: 27,
    })
    expect(epoch.ctx.stats.notes).toEqual({})
    const local = await runParser(
      csvParser,
      `${head}\n10.0.0.1,10.0.0.2,51515,443,27,tcp,0,2023-11-14 22:13:20.123,2023-11-14 22:13:30.500,10,2000\n`,
    )
    expect(local.flows[0]).toMatchObject({ start: 1_700_000_000_123, end: 1_700_000_010_500 })
    expect(local.ctx.stats.notes).toEqual({ 'local-time-as-utc': 1 })
  })
})

describe('csv from an Elastic (ECS) export', () => {
  // Columns named by ECS fields, as a Kibana CSV report of flow events writes them; modelled on
  // the header `@timestamp,source.ip,destination.ip,source.port,destination.port,
  // network.transport,network.bytes,network.packets` of a public tool's ECS CSV fixture, and on
  // https://www.elastic.co/guide/en/ecs/current/ecs-network.html ("network.bytes: Total bytes
  // transferred in both directions. If source.bytes and destination.bytes are known,
  // network.bytes is their sum").
  it('reads network.transport, network.* counters and @timestamp; detected as csv', async () => {
    const text =
      '@timestamp,source.ip,destination.ip,source.port,destination.port,network.transport,network.bytes,network.packets\n' +
      '2026-08-03T12:00:00Z,10.0.1.1,10.1.0.2,10001,443,tcp,1500,3\n' +
      '2026-08-03T12:00:01.250Z,fd00::1,fd00::2,0,128,ipv6-icmp,208,2\n'
    expect(csvParser.detect(Buffer.from(text))).toBeGreaterThan(0)
    const { flows, ctx } = await runParser(csvParser, text)
    expect(ctx.stats.skipped).toEqual({})
    expect(
      flows.map((f) => [
        f.src,
        f.srcPort,
        f.dst,
        f.dstPort,
        f.protocol,
        f.start,
        f.packets,
        f.bytes,
      ]),
    ).toEqual([
      ['10.0.1.1', 10001, '10.1.0.2', 443, 6, Date.UTC(2026, 7, 3, 12), 3, 1500],
      ['fd00::1', 0, 'fd00::2', 128, 58, Date.UTC(2026, 7, 3, 12, 0, 1, 250), 2, 208],
    ])
  })

  it('takes event.start/event.end over @timestamp, and sums source.* and destination.* only without network.*', async () => {
    const head =
      '@timestamp,event.start,event.end,source.ip,source.port,destination.ip,destination.port,network.iana_number'
    const row =
      '2026-08-03T12:01:00Z,2026-08-03T12:00:00Z,2026-08-03T12:00:30Z,10.0.0.1,40000,10.0.0.2,53,17'
    const one = await runParser(
      csvParser,
      `${head},source.bytes,destination.bytes,source.packets,destination.packets\n${row},60,120,1,1\n`,
    )
    expect(one.flows[0]).toMatchObject({
      protocol: 17,
      start: Date.UTC(2026, 7, 3, 12),
      end: Date.UTC(2026, 7, 3, 12, 0, 30),
      packets: 2,
      bytes: 180,
    })
    // network.* already counts both directions: destination.* is not added to it again
    const both = await runParser(
      csvParser,
      `${head},source.bytes,destination.bytes,network.bytes,network.packets,destination.packets\n${row},60,120,180,2,1\n`,
    )
    expect(both.flows[0]).toMatchObject({ packets: 2, bytes: 180 })
  })
})
