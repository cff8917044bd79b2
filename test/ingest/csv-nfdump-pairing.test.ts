/**
 * nfdump's own CSV (`nfdump -o csv`) prints one row per NetFlow record, one direction of a
 * connection: reading pairs the two rows of a connection per exporter (the `ra` and `exid`
 * columns, else the file) as it pairs the NetFlow records themselves (netflow/pairing.ts), and the
 * store keeps a file's pairs and pairs nothing across files. Rows written by hand in nfdump
 * 1.7.1's `-o csv` layout (as test/fixtures/flows/nfdump-1.6.csv, whose header 1.6 to 1.7.4
 * share) and 1.7.5's; the expected flows worked out by hand from the pairing rules (README
 * "Format `csv`").
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Flow } from '../../src/core/index.js'
import { readAsFile } from '../helpers/files.js'
import { ingestEach, storedHalves } from '../helpers/store.js'

const HEADER =
  'ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr'
const MIDDLE =
  '0,0,0,0,0,0,0,0,0.0.0.0,0.0.0.0,0,0,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,    0.000,    0.000,    0.000'

interface Row {
  ts: string
  te: string
  sa: string
  da: string
  sp: number
  dp: number | string
  pr: string
  flg: string
  ipkt: number
  ibyt: number
  opkt?: number
  obyt?: number
  ra?: string
  exid?: number
}

/** One row of `nfdump -o csv` (1.6 to 1.7.4), of router `ra` (192.0.2.1) and exporter id `exid` (1). */
function row(r: Row): string {
  return [
    `2024-05-01 ${r.ts}`,
    `2024-05-01 ${r.te}`,
    '0.000',
    r.sa,
    r.da,
    r.sp,
    r.dp,
    r.pr,
    r.flg,
    '0,0',
    r.ipkt,
    r.ibyt,
    r.opkt ?? 0,
    r.obyt ?? 0,
    MIDDLE,
    r.ra ?? '192.0.2.1',
    '0/0',
    r.exid ?? 1,
    `2024-05-01 ${r.te}.512`,
  ].join(',')
}

const csv = (rows: readonly string[]): string => `${[HEADER, ...rows].join('\n')}\n`

const t = (hms: string): number => Date.parse(`2024-05-01T${hms}Z`)

/** The fields compared. */
const seen = (f: Flow): unknown[] => [
  `${f.src}:${String(f.srcPort)}`,
  `${f.dst}:${String(f.dstPort)}`,
  f.protocol,
  f.start,
  f.end,
  f.packets,
  f.bytes,
  f.direction,
  f.observedAction,
  f.tcpFlags,
]

// a TCP connection: the client's record, then the server's
const CLIENT_ROW: Row = {
  ts: '10:00:00',
  te: '10:00:02',
  sa: '10.1.0.5',
  da: '10.2.0.9',
  sp: 51514,
  dp: 443,
  pr: 'TCP',
  flg: '...AP.SF',
  ipkt: 12,
  ibyt: 2400,
}
const CLIENT = row(CLIENT_ROW)
const SERVER = row({
  ts: '10:00:00',
  te: '10:00:03',
  sa: '10.2.0.9',
  da: '10.1.0.5',
  sp: 443,
  dp: 51514,
  pr: 'TCP',
  flg: '...AP.SF',
  ipkt: 10,
  ibyt: 9000,
})
// a refused connection: the SYN, and the closed port's RST-ACK
const SYN = row({
  ts: '10:00:05',
  te: '10:00:05',
  sa: '10.1.0.5',
  da: '10.2.0.9',
  sp: 40100,
  dp: 8443,
  pr: 'TCP',
  flg: '......S.',
  ipkt: 1,
  ibyt: 60,
})
const RST = row({
  ts: '10:00:05',
  te: '10:00:05',
  sa: '10.2.0.9',
  da: '10.1.0.5',
  sp: 8443,
  dp: 40100,
  pr: 'TCP',
  flg: '...A.R..',
  ipkt: 1,
  ibyt: 40,
})
// an ICMP echo: request and reply (type.code in dp)
const ECHO = row({
  ts: '10:00:06',
  te: '10:00:06',
  sa: '10.1.0.5',
  da: '10.2.0.9',
  sp: 0,
  dp: '8.0',
  pr: 'ICMP',
  flg: '........',
  ipkt: 1,
  ibyt: 84,
})
const ECHO_REPLY = row({
  ts: '10:00:06',
  te: '10:00:06',
  sa: '10.2.0.9',
  da: '10.1.0.5',
  sp: 0,
  dp: '0.0',
  pr: 'ICMP',
  flg: '........',
  ipkt: 1,
  ibyt: 84,
})
/** A DNS query and its answer, the answer from router `ra` with exporter id `exid`. */
const dns = (ra: string, exid: number): string[] => [
  row({
    ts: '10:00:07',
    te: '10:00:07',
    sa: '10.3.0.1',
    da: '10.3.0.53',
    sp: 53211,
    dp: 53,
    pr: 'UDP',
    flg: '........',
    ipkt: 1,
    ibyt: 70,
  }),
  row({
    ts: '10:00:07',
    te: '10:00:07',
    sa: '10.3.0.53',
    da: '10.3.0.1',
    sp: 53,
    dp: 53211,
    pr: 'UDP',
    flg: '........',
    ipkt: 1,
    ibyt: 120,
    ra,
    exid,
  }),
]

const CONNECTION = [
  '10.1.0.5:51514',
  '10.2.0.9:443',
  6,
  t('10:00:00'),
  t('10:00:03'),
  22,
  11400,
  'client-to-server',
  'unknown',
  0x1b,
]
const REFUSED = [
  '10.1.0.5:40100',
  '10.2.0.9:8443',
  6,
  t('10:00:05'),
  t('10:00:05'),
  2,
  100,
  'client-to-server',
  'reject',
  0x16,
]

describe('nfdump -o csv: the two rows of a connection are one flow, as their NetFlow records', () => {
  it('a TCP connection, a refusal (SYN, RST-ACK: reject), an ICMP echo', async () => {
    const { flows, summary } = await readAsFile(csv([CLIENT, SYN, ECHO, SERVER, RST, ECHO_REPLY]), {
      name: 'nf.csv',
    })
    expect(flows.map(seen)).toEqual([
      CONNECTION,
      REFUSED,
      [
        '10.1.0.5:0',
        '10.2.0.9:8',
        1,
        t('10:00:06'),
        t('10:00:06'),
        2,
        168,
        'client-to-server',
        'unknown',
        undefined,
      ],
    ])
    expect(summary.stats.notes).toMatchObject({ 'paired-directions': 3, 'refused-by-reset': 1 })
  })

  it('rows of two exporters (another router, or another exporter id of one) are not paired', async () => {
    for (const [ra, exid] of [
      ['192.0.2.2', 2],
      ['192.0.2.1', 2],
    ] as const) {
      const { flows, summary } = await readAsFile(csv(dns(ra, exid)), { name: 'nf.csv' })
      expect(flows.map((f) => [f.src, f.srcPort, f.dst, f.dstPort, f.bytes])).toEqual([
        ['10.3.0.1', 53211, '10.3.0.53', 53, 70],
        // the answer turned round to its client by the ports, as any unpaired record
        ['10.3.0.1', 53211, '10.3.0.53', 53, 120],
      ])
      expect(summary.stats.notes['paired-directions']).toBeUndefined()
    }
    // the same exporter: one flow
    const { flows } = await readAsFile(csv(dns('192.0.2.1', 1)), { name: 'nf.csv' })
    expect(flows.map((f) => [f.src, f.srcPort, f.packets, f.bytes])).toEqual([
      ['10.3.0.1', 53211, 2, 190],
    ])
  })

  it('nfdump -B rows (both directions in ipkt/ibyt and opkt/obyt) are not paired again', async () => {
    // a connection -B joined, and its reverse joined too (two nfcapd files' records of it)
    const joined = row({ ...CLIENT_ROW, te: '10:00:03', opkt: 10, obyt: 9000 })
    const reverse = row({
      ts: '10:00:04',
      te: '10:00:05',
      sa: '10.2.0.9',
      da: '10.1.0.5',
      sp: 443,
      dp: 51514,
      pr: 'TCP',
      flg: '...A...F',
      ipkt: 1,
      ibyt: 40,
      opkt: 1,
      obyt: 40,
    })
    const { flows, summary } = await readAsFile(csv([joined, reverse]), { name: 'b.csv' })
    expect(flows.map((f) => [f.src, f.srcPort, f.packets, f.bytes])).toEqual([
      ['10.1.0.5', 51514, 22, 11400],
      ['10.1.0.5', 51514, 2, 80],
    ])
    expect(summary.stats.notes['paired-directions']).toBeUndefined()
  })

  it('nfdump 1.7.5 (no exporter column): the rows of the file pair', async () => {
    const text = [
      'firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,bytes,flows',
      '2024-05-01 10:00:00.250,1.500,6,10.1.0.5,51514,10.2.0.9,443,12,2400,1',
      '2024-05-01 10:00:00.300,1.500,6,10.2.0.9,443,10.1.0.5,51514,10,9000,1',
    ].join('\n')
    const { flows } = await readAsFile(text, { name: 'n.csv' })
    expect(flows.map((f) => [f.src, f.srcPort, f.dstPort, f.packets, f.bytes, f.end])).toEqual([
      ['10.1.0.5', 51514, 443, 22, 11400, Date.parse('2024-05-01T10:00:01.800Z')],
    ])
  })

  it('--no-pair, a generic CSV and one with a direction column are read a row a flow, as before', async () => {
    const nopair = await readAsFile(csv([CLIENT, SERVER]), { name: 'nf.csv', pair: false })
    expect(nopair.flows).toHaveLength(2)
    const generic = [
      'src_ip,dst_ip,src_port,dst_port,protocol,start,end,packets,bytes',
      '10.1.0.5,10.2.0.9,51514,443,6,2024-05-01T10:00:00Z,2024-05-01T10:00:02Z,12,2400',
      '10.2.0.9,10.1.0.5,443,51514,6,2024-05-01T10:00:00Z,2024-05-01T10:00:03Z,10,9000',
    ].join('\n')
    expect((await readAsFile(generic, { name: 'g.csv' })).flows).toHaveLength(2)
    const directed = [
      'firstSeen,lastSeen,srcAddr,dstAddr,srcPort,dstPort,proto,inPackets,inBytes,direction',
      '2024-05-01 10:00:00,2024-05-01 10:00:02,10.1.0.5,10.2.0.9,51514,443,6,12,2400,unknown',
      '2024-05-01 10:00:00,2024-05-01 10:00:03,10.2.0.9,10.1.0.5,443,51514,6,10,9000,unknown',
    ].join('\n')
    expect((await readAsFile(directed, { name: 'd.csv' })).flows).toHaveLength(2)
  })
})

describe('ingest of nfdump -o csv', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-nfdump-csv-'))
  afterAll(() => {
    rmSync(root, { recursive: true, force: true })
  })

  it("stores a file's pairs as flows does; the rows of two files are not paired", async () => {
    const one = path.join(root, 'one.csv')
    writeFileSync(one, csv([CLIENT, SYN, SERVER, RST]))
    const store = path.join(root, 'one.duckdb')
    const notes = await ingestEach(store, [one], 'csv')
    expect(notes).toMatchObject({ 'paired-directions': 2, 'refused-by-reset': 1 })
    const rows = await storedHalves(store)
    expect(rows.map((r) => [r.src, r.sp, r.dst, r.dp, r.bytes, r.action, r.half])).toEqual([
      ['10.1.0.5', 40100, '10.2.0.9', 8443, 100, 'reject', 0],
      ['10.1.0.5', 51514, '10.2.0.9', 443, 11400, 'unknown', 0],
    ])
    // a connection's rows in two files (nfcapd's rotation): no exporter names them beyond the
    // file (`exid` numbers a file's exporters), so they stay two flows, no half marked
    const a = path.join(root, 'a.csv')
    const b = path.join(root, 'b.csv')
    writeFileSync(a, csv([CLIENT]))
    writeFileSync(b, csv([SERVER]))
    const split = path.join(root, 'split.duckdb')
    await ingestEach(split, [a, b], 'csv')
    expect((await storedHalves(split)).map((r) => [r.src, r.sp, r.bytes, r.half])).toEqual([
      ['10.1.0.5', 51514, 2400, 0],
      ['10.1.0.5', 51514, 9000, 0],
    ])
  })
})
