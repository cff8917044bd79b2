/**
 * The text exports of the flow tools network engineers run — nfdump `-o csv`, SiLK `rwcut`,
 * pmacct's print plugin — read by the CSV reader as the tools write them. Fixtures written by hand
 * from each tool's source (nfdump src/output/output_csv.c and bin/nf_common.c, pmacct
 * src/print_plugin.c) and manual (rwcut(1)); the expected flows computed by hand.
 */
import { describe, expect, it } from 'vitest'
import { csvParser, parseTcpFlags } from '../../src/ingest/formats/csv.js'
import { orientation } from '../../src/ingest/direction.js'
import { rankFormats } from '../../src/ingest/detect.js'
import { readAsFile } from '../helpers/files.js'
import { fixtureText, runParser } from './text-helpers.js'

const utc = Date.UTC
const enc = (t: string): Uint8Array => new TextEncoder().encode(t)

describe('nfdump -o csv', () => {
  it('1.6 to 1.7.4: ts/te local time, names, flags, opkt/obyt summed, the Summary block noted', async () => {
    const { flows, ctx } = await runParser(csvParser, fixtureText('nfdump-1.6.csv'), {
      file: 'n.csv',
    })
    expect(ctx.stats.skipped).toEqual({})
    expect(ctx.stats.notes).toEqual({ 'local-time-as-utc': 6, 'summary-block': 1 })
    expect(flows[0]).toEqual({
      src: '10.1.0.5',
      dst: '10.2.0.9',
      srcPort: 51514,
      dstPort: 443,
      protocol: 6,
      start: utc(2016, 8, 9, 9, 33, 30),
      end: utc(2016, 8, 9, 9, 33, 31),
      packets: 12,
      bytes: 2400,
      observedAction: 'unknown',
      direction: 'unknown',
      source: { format: 'csv', file: 'n.csv', line: 2 },
      tcpFlags: 0x1b, // .AP.SF: ACK 16 + PSH 8 + SYN 2 + FIN 1
    })
    expect(
      flows.map((f) => [f.protocol, f.srcPort, f.dstPort, f.packets, f.bytes, f.tcpFlags]),
    ).toEqual([
      [6, 51514, 443, 12, 2400, 0x1b],
      [6, 8080, 40000, 1, 60, 0x02], // ....S.
      [6, 40001, 5432, 3, 180, 0x12], // .A..S.
      [1, 0, 8, 1, 84, undefined], // ICMP: dp 2048 = type 8 · 256 + code 0
      [89, 0, 0, 2, 160, undefined], // OSPF by its IANA name
      [6, 51600, 22, 18, 4000, 0xda], // 1.6 prints ECE/CWR flags as hex; 10+8 packets, 1000+3000 bytes
    ])
    expect(flows[5]).toMatchObject({
      start: utc(2016, 8, 9, 9, 33, 40),
      end: utc(2016, 8, 9, 9, 34, 40),
    })
  })

  it('the flags are the OR over the record: only SYN without ACK tells the client', async () => {
    const { flows } = await runParser(csvParser, fixtureText('nfdump-1.6.csv'))
    // SYN alone from port 8080 to 40000: the sender is the client, whatever the ports say
    expect(orientation(flows[1]!)).toBe('as-is')
    // SYN+ACK without PSH is a client's record too (SYN, then ACKs): the ports decide
    expect(orientation(flows[2]!)).toBe('as-is')
  })

  it('1.7.5 and later: firstSeen with milliseconds, duration, protocol numbers, ICMP type.code', async () => {
    const { flows, ctx } = await runParser(csvParser, fixtureText('nfdump-1.7.5.csv'))
    expect(ctx.stats.skipped).toEqual({})
    expect(ctx.stats.notes).toEqual({ 'local-time-as-utc': 4 })
    expect(flows.map((f) => [f.src, f.protocol, f.srcPort, f.dstPort, f.start, f.end])).toEqual([
      ['10.1.0.5', 6, 51514, 443, utc(2024, 4, 1, 10, 0, 0, 250), utc(2024, 4, 1, 10, 0, 1, 750)],
      ['10.1.0.5', 1, 0, 8, utc(2024, 4, 1, 10, 0, 2), utc(2024, 4, 1, 10, 0, 2)],
      ['2001:db8::1', 58, 0, 128, utc(2024, 4, 1, 10, 0, 3), utc(2024, 4, 1, 10, 0, 3)],
      ['10.3.0.1', 17, 53211, 53, utc(2024, 4, 1, 10, 0, 4), utc(2024, 4, 1, 10, 0, 4, 250)],
    ])
  })

  it('1.7.5 and later, -o csv:%…: lastSeen, 8-letter flags, in and out counters', async () => {
    const { flows, ctx } = await runParser(csvParser, fixtureText('nfdump-1.7-csv-format.csv'))
    expect(ctx.stats.skipped).toEqual({})
    expect(flows.map((f) => [f.packets, f.bytes, f.tcpFlags, f.end - f.start])).toEqual([
      [22, 11400, 0x1b, 1500],
      [1, 60, 0x02, 0],
    ])
  })

  it('-o csv-fast: epoch milliseconds (UTC, not noted), 8-letter flags', async () => {
    const text = [
      'cnt,af,firstSeen,lastSeen,proto,srcAddr,srcPort,dstAddr,dstPort,srcAS,dstAS,input,output,flags,srcTos,packets,bytes',
      '1,2,1714557600250,1714557601750,6,10.1.0.5,51514,10.2.0.9,443,0,0,2,3,...AP.SF,0,12,2400',
    ].join('\n')
    const { flows, ctx } = await runParser(csvParser, text)
    expect(ctx.stats.notes).toEqual({})
    expect(flows[0]).toMatchObject({
      start: utc(2024, 4, 1, 10, 0, 0, 250),
      end: utc(2024, 4, 1, 10, 0, 1, 750),
      packets: 12,
      bytes: 2400,
      tcpFlags: 0x1b,
    })
  })

  it('bad rows: counted and skipped with their reason, --strict fatal', async () => {
    const text = [
      'firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,bytes,flows',
      '2024-05-01 10:00:00.000,0.000,6,10.1.0.5,51514,10.2.0.9,8.0,1,60,1', // type.code on TCP
      '2024-05-01 10:00:00.000,0.000,1,10.1.0.5,0,10.2.0.9,300.0,1,60,1', // type 300
      '2024-05-01 10:00:00.000,0.000,NOPE,10.1.0.5,0,10.2.0.9,80,1,60,1',
      '2024-05-01 25:00:00.000,0.000,6,10.1.0.5,1,10.2.0.9,80,1,60,1',
    ].join('\n')
    const { flows, ctx } = await runParser(csvParser, text)
    expect(flows).toEqual([])
    expect(ctx.stats.skipped).toEqual({ 'bad-port': 2, 'bad-protocol': 1, 'bad-time': 1 })
    await expect(runParser(csvParser, text, { strict: true })).rejects.toMatchObject({
      diagnostics: [
        expect.objectContaining({
          code: 'ingest/malformed-record',
          location: { file: 'test.log', line: 2, column: 1 },
        }),
      ],
    })
  })

  it('flags that do not read: the flow is kept without them, noted', async () => {
    const text = [
      'ts,te,td,sa,da,sp,dp,pr,flg,ipkt,ibyt',
      '2016-09-09 09:33:30,2016-09-09 09:33:30,0.000,10.1.0.5,10.2.0.9,1,80,TCP,garbage,1,60',
    ].join('\n')
    const { flows, ctx } = await runParser(csvParser, text)
    expect(flows).toHaveLength(1)
    expect(flows[0]?.tcpFlags).toBeUndefined()
    expect(ctx.stats.notes).toMatchObject({ 'unread-tcp-flags': 1 })
  })

  it('files joined with cat: the records after the next header are read again', async () => {
    const one = fixtureText('nfdump-1.6.csv')
    const { flows, ctx } = await runParser(csvParser, one + one)
    expect(flows).toHaveLength(12)
    expect(ctx.stats.notes['summary-block']).toBe(2)
    expect(ctx.stats.skipped).toEqual({})
  })
})

describe('SiLK rwcut', () => {
  it('default output: | with padded columns and a final delimiter, UTC times, letter flags', async () => {
    const { flows, ctx } = await runParser(csvParser, fixtureText('silk-rwcut.txt'))
    expect(ctx.stats.skipped).toEqual({})
    expect(ctx.stats.notes).toEqual({})
    expect(
      flows.map((f) => [f.src, f.dst, f.srcPort, f.dstPort, f.protocol, f.packets, f.bytes]),
    ).toEqual([
      ['10.1.0.5', '10.2.0.9', 51514, 443, 6, 12, 2400],
      ['10.1.0.5', '10.2.0.9', 0, 8, 1, 1, 84], // dPort 2048: ICMP type 8, code 0
      ['10.3.0.1', '10.3.0.53', 53211, 53, 17, 2, 190],
      ['10.3.0.7', '10.4.0.2', 8080, 40000, 6, 1, 60],
    ])
    expect(flows[0]).toMatchObject({
      start: utc(2009, 1, 12, 0, 0, 0, 123),
      end: utc(2009, 1, 12, 0, 0, 1, 353),
      tcpFlags: 0x1b, // FS PA
    })
    expect(flows[3]?.tcpFlags).toBe(0x02)
    expect(flows[1]?.tcpFlags).toBeUndefined()
  })

  it('--delimited: no padding, no final delimiter; ICMPv6 in dPort', async () => {
    const { flows, ctx } = await runParser(csvParser, fixtureText('silk-rwcut-delimited.txt'))
    expect(ctx.stats.skipped).toEqual({})
    expect(flows.map((f) => [f.src, f.protocol, f.srcPort, f.dstPort, f.tcpFlags])).toEqual([
      ['10.1.0.5', 6, 51514, 443, 0x1b],
      ['2001:db8::1', 58, 0, 128, undefined],
    ])
  })

  it('--no-columns: no padding, the final delimiter kept', async () => {
    const text = [
      'sIP|dIP|sPort|dPort|pro|packets|bytes|flags|sTime|duration|eTime|sen|',
      '10.1.0.5|10.2.0.9|51514|443|6|12|2400|FSPA|2009/02/12T00:00:00.123|1.230|2009/02/12T00:00:01.353|S0|',
      '10.1.0.5|10.2.0.9|51514|443|6|12|2400|FSPA|2009/02/12T00:00:00.123|1.230|2009/02/12T00:00:01.353|',
    ].join('\n')
    const { flows, ctx } = await runParser(csvParser, text)
    expect(flows).toHaveLength(1)
    expect(ctx.stats.skipped).toEqual({ 'field-count': 1 })
  })
})

describe('pmacct print plugin (print_output: csv)', () => {
  it('upper-case headers, protocol names, numeric TCP_FLAGS, local TIMESTAMP_START/END', async () => {
    const { flows, ctx } = await runParser(csvParser, fixtureText('pmacct-print.csv'))
    expect(ctx.stats.skipped).toEqual({})
    expect(ctx.stats.notes).toEqual({ 'local-time-as-utc': 4 })
    expect(
      flows.map((f) => [f.src, f.dstPort, f.protocol, f.tcpFlags, f.start, f.end, f.bytes]),
    ).toEqual([
      [
        '10.1.0.5',
        443,
        6,
        27,
        utc(2024, 4, 1, 10, 0, 0, 250),
        utc(2024, 4, 1, 10, 0, 1, 750),
        2400,
      ],
      [
        '10.2.0.9',
        51514,
        6,
        26,
        utc(2024, 4, 1, 10, 0, 0, 251),
        utc(2024, 4, 1, 10, 0, 1, 749),
        9000,
      ],
      [
        '10.3.0.1',
        53,
        17,
        undefined,
        utc(2024, 4, 1, 10, 0, 4),
        utc(2024, 4, 1, 10, 0, 4, 250),
        190,
      ],
      // TIMESTAMP_END 0000-00-00 00:00:00: no end, the start stands for it
      ['10.9.0.1', 0, 89, undefined, utc(2024, 4, 1, 10, 0, 6), utc(2024, 4, 1, 10, 0, 6), 160],
    ])
  })

  it('the default primitives, without times: the file time, noted', async () => {
    const text =
      'SRC_IP,DST_IP,SRC_PORT,DST_PORT,PROTOCOL,PACKETS,BYTES\n10.1.0.5,10.2.0.9,51514,443,tcp,3,180\n'
    const { flows, ctx } = await runParser(csvParser, text)
    expect(flows).toHaveLength(1)
    expect(ctx.stats.notes).toEqual({ 'no-timestamp': 1 })
  })
})

describe('the exports, end to end: detected as csv, read the same with --format csv', () => {
  const fixtures = [
    ['nfdump-1.6.csv', 6],
    ['nfdump-1.7.5.csv', 4],
    ['nfdump-1.7-csv-format.csv', 2],
    ['silk-rwcut.txt', 4],
    ['silk-rwcut-delimited.txt', 2],
    ['pmacct-print.csv', 4],
  ] as const
  for (const [name, count] of fixtures) {
    it(name, async () => {
      const text = fixtureText(name)
      expect(rankFormats(enc(text))[0]).toEqual({ format: 'csv', confidence: 0.9 })
      const auto = await readAsFile(text, { name, format: 'auto' })
      const csv = await readAsFile(text, { name, format: 'csv' })
      expect(auto.flows).toHaveLength(count)
      // the same flows but for the temporary folder in source.file
      const lines = (fs: readonly { source: { line?: number } }[]) => fs.map((f) => f.source.line)
      expect(csv.flows.map((f) => ({ ...f, source: 0 }))).toEqual(
        auto.flows.map((f) => ({ ...f, source: 0 })),
      )
      expect(lines(csv.flows)).toEqual(lines(auto.flows))
    })
  }

  it('oriented client→server by the evidence a reader has (flags, then ports)', async () => {
    const { flows } = await readAsFile(fixtureText('nfdump-1.6.csv'), { name: 'n.csv' })
    const tcp = flows.filter((f) => f.protocol === 6)
    // (the row with both directions' counters, a biflow, is given out at once; the rows of one
    // direction wait for their other direction, as NetFlow records do: csv-nfdump-pairing.test.ts)
    expect(tcp.map((f) => [f.src, f.srcPort, f.dst, f.dstPort, f.direction])).toEqual([
      ['10.1.0.5', 51600, '10.2.0.9', 22, 'client-to-server'],
      ['10.1.0.5', 51514, '10.2.0.9', 443, 'client-to-server'],
      ['10.3.0.7', 8080, '10.4.0.2', 40000, 'client-to-server'],
      ['10.5.0.1', 40001, '10.6.0.1', 5432, 'client-to-server'],
    ])
  })
})

describe('parseTcpFlags', () => {
  it('reads the spellings of nfdump, SiLK and pmacct, and nothing else', () => {
    expect(parseTcpFlags('.AP.SF')).toBe(0x1b)
    expect(parseTcpFlags('CE.AP.SF')).toBe(0xdb)
    expect(parseTcpFlags('  0xc2')).toBe(0xc2)
    expect(parseTcpFlags('FS PA   ')).toBe(0x1b)
    expect(parseTcpFlags('18')).toBe(18)
    expect(parseTcpFlags('......')).toBe(0)
    expect(parseTcpFlags('ack')).toBeUndefined()
    expect(parseTcpFlags('99999')).toBeUndefined()
  })
})
