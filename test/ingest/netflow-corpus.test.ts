import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { Flow } from '../../src/core/flow.js'
import { splitDatagrams } from '../../src/ingest/formats/netflow.js'
import { NetflowDecoder, type DecodeProblem } from '../../src/ingest/netflow/decoder.js'
import { readFlows } from '../../src/ingest/read.js'
import { all } from '../helpers/store.js'
import { CORPUS_SKIP, corpusPath, corpusTitle } from '../helpers/corpora.js'

const DIR = corpusPath('netflow/')

async function* once(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b
}

/**
 * Feeds files, in order, through ONE decoder with ONE exporter key (as the exporter sent them),
 * splitting each file into datagrams.
 */
async function decodeFiles(files: string[]): Promise<{ flows: Flow[]; problems: DecodeProblem[] }> {
  const d = new NetflowDecoder()
  const flows: Flow[] = []
  const problems: DecodeProblem[] = []
  let record = 0
  for (const f of files) {
    for await (const dg of splitDatagrams(once(readFileSync(DIR + f)))) {
      const r = d.decode(dg.bytes, { exporter: 'exporter-1', file: f, record: record++ })
      flows.push(...r.flows)
      problems.push(...r.problems)
    }
  }
  problems.push(...d.flush().problems)
  return { flows, problems }
}

const count = (ps: DecodeProblem[], kind: 'skip' | 'note'): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const p of ps) if (p.kind === kind) out[p.reason] = (out[p.reason] ?? 0) + 1
  return out
}

describe.skipIf(CORPUS_SKIP !== undefined)(corpusTitle('NetFlow / IPFIX corpus'), () => {
  it('netflow5.dat: the first datagram holds 10.0.2.2:54435 -> 10.0.2.15:22 and its reverse (PROVENANCE.md)', async () => {
    const { flows, problems } = await decodeFiles(['netflow5.dat'])
    expect(count(problems, 'skip')).toEqual({})
    expect(flows[0]).toMatchObject({
      src: '10.0.2.2',
      dst: '10.0.2.15',
      srcPort: 54435,
      dstPort: 22,
      protocol: 6,
      packets: 5,
      bytes: 230,
      tcpFlags: 0x10,
    })
    expect(flows[1]).toMatchObject({
      src: '10.0.2.15',
      dst: '10.0.2.2',
      srcPort: 22,
      dstPort: 54435,
      protocol: 6,
      packets: 4,
      bytes: 304,
      tcpFlags: 0x18,
    })
    // header: sysUptime 3381 ms, unix 1430591888 s + 280328000 ns; first = 0xffffffff (1 ms before
    // boot, wrapped), last = 2577 → start = export - 3382 ms, end = export - 804 ms
    const exportMs = 1_430_591_888_280
    expect(flows[0]).toMatchObject({ start: exportMs - 3382, end: exportMs - 804 })
    // the file is several v5 datagrams captured back to back (nc -k): all frame and decode
    expect(new Set(flows.map((f) => f.source.record)).size).toBeGreaterThan(1)
  })

  it('Cisco ASA (NetFlow v9, NSEL): ICMP echo, firewall event, octetTotalCount, event time', async () => {
    const { flows, problems } = await decodeFiles([
      'netflow9_test_cisco_asa_1_tpl.dat',
      'netflow9_test_cisco_asa_1_data.dat',
    ])
    expect(count(problems, 'skip')).toEqual({})
    expect(flows).toHaveLength(14)
    // logstash-codec-netflow spec: conn 8501, 192.168.23.22 -> 164.164.37.11 icmp type 8 code 0,
    // in_permanent_bytes 56, fw_event 2 (deleted), flow_start_msec 1444384068169, event_time_msec 1444384070179
    expect(flows[1]).toEqual({
      src: '192.168.23.22',
      dst: '164.164.37.11',
      srcPort: 0,
      dstPort: 8,
      protocol: 1,
      start: 1_444_384_068_169,
      end: 1_444_384_070_179,
      packets: 0,
      bytes: 56,
      observedAction: 'accept',
      direction: 'unknown',
      source: { format: 'netflow-v9', file: 'netflow9_test_cisco_asa_1_data.dat', record: 1 },
    })
  })

  it('Fortigate FortiOS 5.2.1 (NetFlow v9): options data then one flow', async () => {
    const { flows, problems } = await decodeFiles([
      'netflow9_test_fortigate_fortios_521_tpl.dat',
      'netflow9_test_fortigate_fortios_521_data256.dat',
      'netflow9_test_fortigate_fortios_521_data257.dat',
    ])
    expect(count(problems, 'skip')).toEqual({})
    // its FIRST/LAST_SWITCHED are 7 days past the datagram's sysUptime: kept as read, noted
    expect(count(problems, 'note')).toEqual({ 'options-record': 1, 'ends-after-export': 1 })
    expect(flows).toHaveLength(1)
    // spec: 192.168.99.7:61910 -> 31.13.87.36:443 tcp, in_pkts 3, in_bytes 152
    expect(flows[0]).toMatchObject({
      src: '192.168.99.7',
      dst: '31.13.87.36',
      srcPort: 61910,
      dstPort: 443,
      protocol: 6,
      packets: 3,
      bytes: 152,
    })
    // FIRST/LAST_SWITCHED lie 9 s apart (the spec's first/last_switched differ by 9 s too)
    expect((flows[0]?.end ?? 0) - (flows[0]?.start ?? 0)).toBe(9000)
  })

  it('OpenBSD pflow (IPFIX): 26 flows, the last 192.168.0.1:80 -> 192.168.0.17:64026', async () => {
    const { flows, problems } = await decodeFiles([
      'ipfix_test_openbsd_pflow_tpl.dat',
      'ipfix_test_openbsd_pflow_data.dat',
    ])
    expect(problems).toEqual([])
    expect(flows).toHaveLength(26)
    expect(flows[25]).toMatchObject({
      src: '192.168.0.1',
      dst: '192.168.0.17',
      srcPort: 80,
      dstPort: 64026,
      protocol: 6,
      packets: 8,
      bytes: 6425,
      start: Date.parse('2016-07-21T13:29:59.000Z'),
      end: Date.parse('2016-07-21T13:30:01.000Z'),
    })
  })

  it('Mikrotik RouterOS (IPFIX): 46 flows, IPv4 and IPv6', async () => {
    const { flows, problems } = await decodeFiles([
      'ipfix_test_mikrotik_tpl.dat',
      'ipfix_test_mikrotik_data258.dat',
      'ipfix_test_mikrotik_data259.dat',
    ])
    // RouterOS exports no ICMP type element and writes 0 into the ports: a ping and its reply are
    // two flows read as echo requests, direction unknown, and said so
    expect(problems.map((p) => [p.kind, p.reason])).toEqual([
      ['note', 'icmp-type-assumed-echo'],
      ['note', 'icmp-type-assumed-echo'],
    ])
    expect(
      flows.filter((f) => f.protocol === 1).map((f) => [f.srcPort, f.dstPort, f.direction]),
    ).toEqual([
      [0, 8, 'unknown'],
      [0, 8, 'unknown'],
    ])
    expect(flows).toHaveLength(46)
    expect(flows[0]).toMatchObject({
      src: '10.10.8.197',
      dst: '192.168.128.17',
      srcPort: 123,
      dstPort: 123,
      protocol: 17,
      packets: 2,
      bytes: 152,
    })
    expect(flows[45]).toMatchObject({
      src: 'fe80::ff:fe00:1201',
      dst: 'fe80::ff:fe00:1201',
      srcPort: 5678,
      dstPort: 5678,
      protocol: 17,
      packets: 2,
      bytes: 370,
    })
    // flowStart/EndSysUpTime, no systemInitTimeMilliseconds: the latest end of each data set is
    // the export time (2017-07-19T16:18:08Z), the others keep their distance to it (flow 0 ended
    // 1.58 s before the set's last flow); start = end here, as the uptimes are equal
    const exportMs = Date.parse('2017-07-19T16:18:08Z')
    const ofSet = (record: number): Flow[] => flows.filter((f) => f.source.record === record)
    for (const record of new Set(flows.map((f) => f.source.record)))
      expect(Math.max(...ofSet(record ?? 0).map((f) => f.end)), `datagram ${record}`).toBe(exportMs)
    expect(flows[0]).toMatchObject({ start: exportMs - 1580, end: exportMs - 1580 })
  })

  it('YAF (IPFIX): option templates, enterprise elements, biflows; options data noted', async () => {
    const { flows, problems } = await decodeFiles([
      'ipfix_test_yaf_tpls_option_tpl.dat',
      'ipfix_test_yaf_tpl45841.dat',
      'ipfix_test_yaf_data45841.dat',
      'ipfix_test_yaf_data45873.dat',
      'ipfix_test_yaf_data53248.dat',
    ])
    expect(count(problems, 'skip')).toEqual({})
    expect(count(problems, 'note')).toEqual({ 'options-record': 1 })
    expect(flows).toHaveLength(2)
    expect(flows[0]).toMatchObject({
      src: '172.16.32.201',
      dst: '172.16.32.100',
      srcPort: 46086,
      dstPort: 53,
      protocol: 17,
      // a biflow: YAF's reverse counters (RFC 5103, PEN 29305: octet/packetTotalCount) add the
      // response's 2 packets and 200 octets to the query's 2 and 132
      packets: 4,
      bytes: 332,
      start: Date.parse('2016-12-25T12:58:35.818Z'),
      end: Date.parse('2016-12-25T12:58:35.819Z'),
    })
    expect(flows[1]).toMatchObject({
      src: '172.16.32.100',
      dst: '172.16.32.215',
      srcPort: 63499,
      dstPort: 9997,
      protocol: 6,
      packets: 6, // 4 forward (172 octets) + 2 reverse (92)
      bytes: 264,
      start: Date.parse('2016-12-25T12:58:33.345Z'),
      end: Date.parse('2016-12-25T12:58:34.347Z'),
    })
  })

  it('Juniper MX80 (v5, inline J-Flow sampling 1 in 1000): every record noted sampling-rate:1000, counts as sent', async () => {
    const { flows, problems } = await decodeFiles(['netflow5_test_juniper_mx80.dat'])
    expect(flows).toHaveLength(29)
    expect(count(problems, 'note')).toEqual({ 'sampling-rate:1000': 29 })
  })

  it('Netscaler (IPFIX): variable-length fields, microsecond timestamps', async () => {
    const { flows, problems } = await decodeFiles([
      'ipfix_test_netscaler_tpl.dat',
      'ipfix_test_netscaler_data.dat',
    ])
    expect(flows).toHaveLength(3)
    expect(flows[2]).toMatchObject({
      src: '192.168.0.1',
      dst: '10.0.0.1',
      srcPort: 51053,
      dstPort: 443,
      protocol: 6,
      packets: 2,
      bytes: 1541,
      tcpFlags: 24,
    })
    expect(flows[2]?.start).toBe(Date.parse('2016-11-11T12:09:19.000Z'))
    // one set uses a template the capture does not include
    expect(count(problems, 'skip')).toEqual({ 'no-template': 1 })
  })

  it('softflowd IPFIX: systemInitTimeMilliseconds from options data anchors flowStart/EndSysUpTime', async () => {
    const { flows, problems } = await decodeFiles(['ipfix.dat'])
    expect(count(problems, 'note')).toEqual({ 'options-record': 1 })
    // two IPFIX messages back to back (484 + 304 octets); the spec's 6 flows are the first message's
    expect(flows.filter((f) => f.source.record === 0)).toHaveLength(6)
    expect(flows).toHaveLength(12)
    // spec: systemInitTimeMilliseconds 1431516013506; flowStartSysUpTime 0, flowEndSysUpTime 12726
    expect(flows[0]).toMatchObject({
      src: '192.168.253.1',
      dst: '192.168.253.128',
      srcPort: 60560,
      dstPort: 22,
      bytes: 260,
      packets: 5,
      tcpFlags: 16,
    })
    expect(flows[0]).toMatchObject({ start: 1_431_516_013_506, end: 1_431_516_013_506 + 12_726 })
  })

  it('Ubiquiti EdgeRouter and nProbe/softflowd sharing a decoder', async () => {
    const ubnt = await decodeFiles([
      'netflow9_test_ubnt_edgerouter_tpl.dat',
      'netflow9_test_ubnt_edgerouter_data1024.dat',
      'netflow9_test_ubnt_edgerouter_data1025.dat',
    ])
    expect(ubnt.flows).toHaveLength(16)
    expect(ubnt.flows[0]?.src).toBe('10.1.0.135')
    expect(ubnt.flows[15]).toMatchObject({
      src: '192.168.1.102',
      dst: '10.2.0.95',
      srcPort: 47690,
      dstPort: 443,
      protocol: 6,
      packets: 21,
      bytes: 3668,
      tcpFlags: 27,
    })
    // different source ids keep nProbe's templates apart from softflowd's (logstash "multiple exporters")
    const multi = await decodeFiles([
      'netflow9_test_nprobe_tpl.dat',
      'netflow9_test_softflowd_tpl_data.dat',
      'netflow9_test_nprobe_data.dat',
    ])
    expect(multi.flows).toHaveLength(8)
    expect(multi.flows[0]).toMatchObject({
      src: '172.16.32.100',
      dst: '172.16.32.248',
      srcPort: 123,
      dstPort: 123,
      protocol: 17,
      bytes: 76,
      packets: 1,
    })
    expect(multi.flows[7]).toMatchObject({
      src: '172.16.32.201',
      dst: '172.16.32.1',
      srcPort: 22,
      dstPort: 65058,
      bytes: 200,
      packets: 2,
    })
  })

  it('every corpus file decodes without an exception, alone and all through one state', async () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.dat'))
    expect(files.length).toBeGreaterThan(30)
    for (const f of files) {
      const { problems } = await decodeFiles([f])
      expect(count(problems, 'skip')['decoder-error'], f).toBeUndefined()
    }
    const all = await decodeFiles(files.sort())
    expect(count(all.problems, 'skip')['decoder-error']).toBeUndefined()
    expect(all.flows.length).toBeGreaterThan(200)
  })

  it('all files in one read, in name order (data before its template): each data file gives what its capture gives', async () => {
    const captures = [
      ['netflow9_test_cisco_asa_1_tpl.dat', 'netflow9_test_cisco_asa_1_data.dat'],
      [
        'netflow9_test_fortigate_fortios_521_tpl.dat',
        'netflow9_test_fortigate_fortios_521_data256.dat',
        'netflow9_test_fortigate_fortios_521_data257.dat',
      ],
      [
        'netflow9_test_fortigate_fortios_542_appid_tpl258-269.dat',
        'netflow9_test_fortigate_fortios_542_appid_data258_262.dat',
      ],
      ['ipfix_test_openbsd_pflow_tpl.dat', 'ipfix_test_openbsd_pflow_data.dat'],
      [
        'ipfix_test_mikrotik_tpl.dat',
        'ipfix_test_mikrotik_data258.dat',
        'ipfix_test_mikrotik_data259.dat',
      ],
      [
        'ipfix_test_yaf_tpls_option_tpl.dat',
        'ipfix_test_yaf_tpl45841.dat',
        'ipfix_test_yaf_data45841.dat',
        'ipfix_test_yaf_data45873.dat',
      ],
      ['ipfix_test_netscaler_tpl.dat', 'ipfix_test_netscaler_data.dat'],
      [
        'netflow9_test_ubnt_edgerouter_tpl.dat',
        'netflow9_test_ubnt_edgerouter_data1024.dat',
        'netflow9_test_ubnt_edgerouter_data1025.dat',
      ],
      ['netflow9_test_nprobe_tpl.dat', 'netflow9_test_nprobe_data.dat'],
      ['netflow9_test_macaddr_tpl.dat', 'netflow9_test_macaddr_data.dat'],
    ]
    const read = async (files: string[]): Promise<Flow[]> =>
      all(
        readFlows(
          files.map((f) => DIR + f),
          // the decoder's records: pairing the two directions is a later stage
          { format: 'netflow', strict: false, pair: false },
          [],
        ),
      )
    const line = (f: Flow): string => JSON.stringify(f)
    const everything = await read(
      readdirSync(DIR)
        .filter((f) => f.endsWith('.dat'))
        .sort(),
    )
    let decoded = 0
    for (const capture of captures) {
      const alone = await read(capture)
      for (const f of capture.slice(1)) {
        const want = alone.filter((x) => x.source.file === DIR + f).map(line)
        const got = everything.filter((x) => x.source.file === DIR + f).map(line)
        expect(got.sort(), f).toEqual(want.sort())
        decoded += want.length
      }
    }
    // the data files of these captures (none holds a template of its own) decode to 155 flows
    expect(decoded).toBe(155)
  })

  it('netflow5_test_invalid01 is skipped and counted; netflow9_test_invalid01 (misaligned options FlowSet) still decodes', async () => {
    const v5bad = await decodeFiles(['netflow5_test_invalid01.dat'])
    expect(v5bad.flows).toEqual([])
    expect(count(v5bad.problems, 'skip')).toEqual({ 'bad-length': 1 })
    // a 22-octet options FlowSet (RFC 3954 §5.3 padding is only SHOULD); everything else is well-formed
    const v9odd = await decodeFiles(['netflow9_test_invalid01.dat'])
    expect(count(v9odd.problems, 'skip')).toEqual({})
    expect(v9odd.flows.map((f) => `${f.src}:${f.srcPort} -> ${f.dst}:${f.dstPort}`)).toEqual([
      '2001:44b8:1118:7200::10:123 -> 2001:44b8:4030:cd91:8075:bae:d39d:2621:123',
      '192.168.0.1:53 -> 192.168.0.105:55575',
    ])
  })
})
