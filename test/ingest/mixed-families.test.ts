/**
 * @module No packet has an IPv4 address at one end and an IPv6 address at the other (RFC 791
 * §3.1, RFC 8200 §3), and IPv4-mapped addresses (`::ffff:a.b.c.d`) are read as IPv4: reading
 * skips a record with one of each as `mixed-address-families`, at its file and line (or record),
 * in every format, on both read paths (objects, columns) alike, and `--strict` stops at it.
 * Expected answers are worked out by hand: the records kept, and where the skips are.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { BulkheadError, type Flow } from '../../src/core/index.js'
import { FlowColumns } from '../../src/ingest/columnar.js'
import { mixedFamilies } from '../../src/ingest/direction.js'
import {
  formatRunSummary,
  readFlowBatches,
  readFlowColumns,
  summarize,
  type FileSummary,
  type ReadOptions,
} from '../../src/ingest/read.js'
import type { FlowFormat } from '../../src/ingest/types.js'
import { readAsFile } from '../helpers/files.js'

const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-mixed-families-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const FLOWS = fileURLToPath(new URL('../fixtures/flows/', import.meta.url))

let fileNo = 0
function write(name: string, text: string): string {
  const f = path.join(dir, `${String(++fileNo)}-${name}`)
  writeFileSync(f, text)
  return f
}

interface Outcome {
  flows: Flow[]
  summaries: FileSummary[]
  error?: unknown
}

async function run(file: string, opts: ReadOptions, columnar: boolean): Promise<Outcome> {
  const summaries: FileSummary[] = []
  const flows: Flow[] = []
  try {
    if (columnar) {
      for await (const b of readFlowColumns([file], opts, summaries))
        flows.push(...(b instanceof FlowColumns ? b.toFlows() : b))
    } else for await (const b of readFlowBatches([file], opts, summaries)) flows.push(...b)
  } catch (error) {
    return { flows, summaries, error }
  }
  return { flows, summaries }
}

/** Both read paths over `file`, which must agree; the object path's outcome. */
async function read(file: string, format: FlowFormat | 'auto', strict = false): Promise<Outcome> {
  const opts = { format, strict }
  const a = await run(file, opts, false)
  const b = await run(file, opts, true)
  expect(b.flows).toStrictEqual(a.flows)
  expect(b.summaries).toStrictEqual(a.summaries)
  expect(String(b.error)).toBe(String(a.error))
  return a
}

const ends = (fs: readonly Flow[]): [string, string, number | undefined][] =>
  fs.map((f) => [f.src, f.dst, f.source.line ?? f.source.record])

describe('mixedFamilies', () => {
  it('tells an IPv4 end from an IPv6 end in canonical text', () => {
    expect(mixedFamilies('10.0.0.1', '2001:db8::1')).toBe(true)
    expect(mixedFamilies('fd00::1', '10.0.0.1')).toBe(true)
    expect(mixedFamilies('::', '0.0.0.0')).toBe(true)
    expect(mixedFamilies('10.0.0.1', '10.0.0.2')).toBe(false)
    expect(mixedFamilies('2001:db8::1', 'fe80::1')).toBe(false)
    expect(mixedFamilies('::', 'ff02::1')).toBe(false)
  })
})

describe('reading: a record with an IPv4 and an IPv6 end is skipped (AWS: noted), on both paths', () => {
  const AWS = [
    '2 123456789010 eni-1 2001:db8::1 10.0.0.2 40000 443 6 1 60 1700000000 1700000060 ACCEPT OK',
    '2 123456789010 eni-1 10.0.0.1 10.0.0.2 40001 443 6 1 60 1700000000 1700000060 ACCEPT OK',
    '2 123456789010 eni-1 10.0.0.3 fd00::2 40002 443 6 1 60 1700000000 1700000060 ACCEPT OK',
    '2 123456789010 eni-1 ::ffff:10.0.0.4 10.0.0.2 40003 443 6 1 60 1700000000 1700000060 ACCEPT OK',
    // a bad port comes first: the record is skipped for it, as before
    '2 123456789010 eni-1 2001:db8::1 10.0.0.2 40004 99999 6 1 60 1700000000 1700000060 ACCEPT OK',
    '',
  ].join('\n')

  it('AWS VPC: kept and noted, as AWS writes the interface address for an IPv6 packet end', async () => {
    // AWS ("Flow log limitations"): without pkt-srcaddr/pkt-dstaddr, an end that is none of the
    // interface's addresses is written as the interface's primary private IPv4 address, so an
    // IPv6 packet forwarded by the interface gives lines 1 and 3. By hand: every line but the
    // bad port is a flow (line 4's mapped source read as IPv4), lines 1 and 3 noted, line 5
    // skipped for its port; --strict stops at line 5 only
    const file = write('aws.log', AWS)
    for (const strict of [false, true]) {
      const { flows, summaries, error } = await read(file, 'aws-vpc', strict)
      expect(ends(flows)).toEqual([
        ['2001:db8::1', '10.0.0.2', 1],
        ['10.0.0.1', '10.0.0.2', 2],
        ['10.0.0.3', 'fd00::2', 3],
        ['10.0.0.4', '10.0.0.2', 4],
      ])
      if (strict) {
        expect((error as BulkheadError).diagnostics[0]?.message).toMatch(/^bad-port/)
        continue
      }
      const stats = summaries[0]?.stats
      expect(stats?.skipped).toEqual({ 'bad-port': 1 })
      expect(stats?.notes['interface-address-stand-in']).toBe(2)
    }
  })

  it('Zeek TSV: the byte reader (IPv4, IPv6, IPv4-mapped) and the line reader agree', async () => {
    const row = (uid: string, o: string, op: number, r: string) =>
      ['1709632800.5', uid, o, String(op), r, '5432', 'tcp', '1.0', 'SF'].join('\t')
    const file = write(
      'conn.log',
      [
        '#separator \\x09',
        '#unset_field\t-',
        '#empty_field\t(empty)',
        '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\tconn_state',
        row('C1', '2001:db8::11', 49152, '10.20.2.21'),
        row('C2', '10.20.1.11', 49153, '10.20.2.21'),
        row('C3', '10.20.1.11', 49154, 'fd00::21'),
        row('C4', '::ffff:10.20.1.12', 49155, '10.20.2.21'),
        row('C5', '2001:db8::11', 49156, '2001:db8::21'),
        row('C6', '::ffff:10.20.1.12', 49157, 'fd00::21'),
        '',
      ].join('\n'),
    )
    const { flows, summaries } = await read(file, 'zeek')
    expect(ends(flows)).toEqual([
      ['10.20.1.11', '10.20.2.21', 6],
      ['10.20.1.12', '10.20.2.21', 8],
      ['2001:db8::11', '2001:db8::21', 9],
    ])
    const stats = summaries[0]?.stats
    expect(stats?.skipped).toEqual({ 'mixed-address-families': 3 })
    expect(stats?.examples.map((e) => e.where)).toEqual([`${file}:5`, `${file}:7`, `${file}:10`])
  })

  it('Zeek TSV: mapped addresses in hex and upper case, IPv4-compatible ones, ICMP (s29 review)', async () => {
    const row = (uid: string, o: string, op: number, r: string, rp: number, proto: string) =>
      ['1709632800.5', uid, o, String(op), r, String(rp), proto, '1.0', 'SF'].join('\t')
    const file = write(
      'conn-hex.log',
      [
        '#separator \\x09',
        '#unset_field\t-',
        '#empty_field\t(empty)',
        '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\tconn_state',
        // by hand: ::FFFF:a14:10c is 10.20.1.12 mapped (RFC 4291 §2.5.5.2): IPv4 → kept (line 5),
        // and with an IPv6 end mixed (6); ::10.20.1.12 is IPv4-compatible, an IPv6 address (RFC
        // 4291 §2.5.5.1): mixed with an IPv4 end (7), kept with an IPv6 end (8); a mapped ICMP
        // source to an IPv4 address is ICMP, protocol 1 (9); IPv6 to a mapped end is mixed (10)
        row('C1', '::FFFF:a14:10c', 49152, '10.20.2.21', 5432, 'tcp'),
        row('C2', '::FFFF:a14:10c', 49153, 'fd00::21', 5432, 'tcp'),
        row('C3', '::10.20.1.12', 49154, '10.20.2.21', 5432, 'tcp'),
        row('C4', '::10.20.1.12', 49155, 'fd00::21', 5432, 'tcp'),
        row('C5', '::ffff:10.20.1.12', 8, '10.20.2.21', 0, 'icmp'),
        row('C6', '2001:db8::11', 8, '::ffff:10.20.2.21', 0, 'icmp'),
        '',
      ].join('\n'),
    )
    const { flows, summaries } = await read(file, 'zeek')
    expect(flows.map((f) => [f.source.line, f.src.includes(':'), f.protocol])).toEqual([
      [5, false, 6],
      [8, true, 6],
      [9, false, 1],
    ])
    expect(flows[0]?.src).toBe('10.20.1.12')
    const stats = summaries[0]?.stats
    expect(stats?.skipped).toEqual({ 'mixed-address-families': 3 })
    expect(stats?.examples.map((e) => e.where)).toEqual([`${file}:6`, `${file}:7`, `${file}:10`])
  })

  it('CSV', async () => {
    const file = write(
      'flows.csv',
      [
        'src_ip,dst_ip,src_port,dst_port,protocol,start',
        '::ffff:10.0.0.1,10.0.0.2,40000,80,tcp,2026-10-01T00:00:00Z',
        '2001:db8::1,10.0.0.2,40011,9001,tcp,2026-10-01T00:00:00Z',
        '10.0.1.10,fd00::20,40012,443,6,2026-10-01T00:00:00Z',
        '',
      ].join('\n'),
    )
    const { flows, summaries } = await read(file, 'auto')
    expect(ends(flows)).toEqual([['10.0.0.1', '10.0.0.2', 2]])
    expect(summaries[0]?.stats.skipped).toEqual({ 'mixed-address-families': 2 })
    expect(summaries[0]?.stats.examples.map((e) => e.where)).toEqual([`${file}:3`, `${file}:4`])
  })

  /** The first line of a fixture, as it is and with `from` replaced by `to`. */
  function firstLine(fixture: string, from: string, to: string): [string, string] {
    const line = readFileSync(FLOWS + fixture, 'utf8').split('\n')[0] as string
    expect(line).toContain(from)
    return [line, line.replace(from, to)]
  }

  // one record of each JSON-lines format: kept as it is, skipped with one IPv6 end
  const ONE_LINE: [string, FlowFormat, string, string, string][] = [
    ['Zeek JSON', 'zeek', 'zeek-conn.json', '"id.orig_h":"10.30.0.7"', '"id.orig_h":"2001:db8::7"'],
    ['Hubble', 'hubble', 'hubble-jsonpb.json', '"source":"10.244.1.17"', '"source":"2001:db8::17"'],
    ['GCP VPC', 'gcp-vpc', 'gcp.jsonl', '"src_ip":"10.128.0.2"', '"src_ip":"2001:db8::2"'],
    ['conntrack', 'conntrack', 'conntrack-list.txt', 'src=10.244.1.17', 'src=2001:db8::17'],
  ]
  for (const [name, format, fixture, from, to] of ONE_LINE) {
    it(name, async () => {
      const [good, bad] = firstLine(fixture, from, to)
      const kept = await read(write(`good-${fixture}`, good + '\n'), format)
      expect(kept.flows).toHaveLength(1)
      expect(kept.summaries[0]?.stats.skipped).toEqual({})
      const file = write(fixture, bad + '\n')
      const { flows, summaries } = await read(file, format)
      expect(flows).toEqual([])
      expect(summaries[0]?.stats.skipped).toEqual({ 'mixed-address-families': 1 })
      expect(summaries[0]?.stats.examples[0]?.where).toBe(`${file}:1`)
    })
  }

  it('goflow2: its etype names one version for both addresses (etype-mismatch, as before)', async () => {
    const [, bad] = firstLine(
      'goflow2-v2.jsonl',
      '"src_addr":"10.0.0.5"',
      '"src_addr":"2001:db8::5"',
    )
    const { flows, summaries } = await read(write('goflow2.jsonl', bad + '\n'), 'goflow2')
    expect(flows).toEqual([])
    expect(summaries[0]?.stats.skipped).toEqual({ 'etype-mismatch': 1 })
  })

  it('Azure NSG and VNet flow tuples: skipped at file#tuple', async () => {
    // NSG v2: denied attempts (state B, no counters); VNet v4: a denied attempt (state D)
    const nsg = JSON.parse(readFileSync(FLOWS + 'azure-nsg-v2.json', 'utf8')) as {
      records: { properties: { flows: { flows: { flowTuples: string[] }[] }[] } }[]
    }
    const nsgRecord = nsg.records[0] as (typeof nsg.records)[0]
    nsg.records = [nsgRecord]
    nsgRecord.properties.flows = nsgRecord.properties.flows.slice(0, 1)
    ;(nsgRecord.properties.flows[0]?.flows[0] as { flowTuples: string[] }).flowTuples = [
      '1542110402,2001:db8::5,10.5.16.4,28746,443,U,I,D,B,,,,',
      '1542110424,176.119.4.10,10.5.16.4,56509,59336,T,I,D,B,,,,',
    ]
    const vnet = JSON.parse(readFileSync(FLOWS + 'azure-vnet-v4.json', 'utf8')) as {
      records: { flowRecords: { flows: { flowGroups: { flowTuples: string[] }[] }[] } }[]
    }
    ;(vnet.records[0]?.flowRecords.flows[0]?.flowGroups[0] as { flowTuples: string[] }).flowTuples =
      [
        '1663146004000,198.51.100.7,10.0.0.6,51000,22,6,I,D,NX,0,0,0,0',
        '1663146004000,198.51.100.7,fd00::6,51000,22,6,I,D,NX,0,0,0,0',
      ]
    for (const [doc, format, expected, at] of [
      [nsg, 'azure-nsg', [['176.119.4.10', '10.5.16.4', 1]], 0],
      [vnet, 'azure-vnet', [['198.51.100.7', '10.0.0.6', 0]], 1],
    ] as const) {
      const file = write(`${format}.json`, JSON.stringify(doc))
      const { flows, summaries } = await read(file, format)
      expect(ends(flows)).toEqual(expected)
      expect(summaries[0]?.stats.skipped).toEqual({ 'mixed-address-families': 1 })
      expect(summaries[0]?.stats.examples[0]?.where).toBe(`${file}#${String(at)}`)
    }
  })

  it('the run summary names the reason and the place', async () => {
    const file = write(
      'flows.csv',
      [
        'src_ip,dst_ip,src_port,dst_port,protocol,start',
        '2001:db8::1,10.0.0.2,40000,443,6,2026-10-01T00:00:00Z',
        '10.0.0.3,fd00::2,40002,443,6,2026-10-01T00:00:00Z',
        '',
      ].join('\n'),
    )
    const { summaries } = await read(file, 'csv')
    const text = formatRunSummary(summarize(summaries, 1))
    expect(text).toContain('mixed-address-families 2')
    expect(text).toContain(`  ${file}:2 mixed-address-families: 2001:db8::1 -> 10.0.0.2:`)
  })
})

describe('the first skipped records of a file are listed in line order (s32)', () => {
  it('a no-sender skip, decided after pairing, comes before a later line skipped as it was read', async () => {
    // by hand: line 3 (224.0.0.1 -> 239.1.1.1) is no-sender, line 4 (an IPv4 and an IPv6 end)
    // mixed-address-families; reading decides line 4's skip first (no-sender waits for pairing)
    const text = [
      '#separator \\x09',
      '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\torig_bytes\tresp_bytes\tconn_state\torig_pkts\tresp_pkts',
      '1700000000.0\tC1\t224.0.0.1\t5000\t239.1.1.1\t5000\tudp\t1.0\t10\t0\tS0\t1\t0',
      '1700000001.0\tC2\t10.0.0.1\t5000\t2001:db8::1\t53\tudp\t1.0\t10\t0\tS0\t1\t0',
      '',
    ].join('\n')
    const { summary } = await readAsFile(text, { name: 'order.log', format: 'zeek' })
    expect(summary.stats.examples.map((e) => [e.where.replace(/^.*\//, ''), e.reason])).toEqual([
      ['order.log:3', 'no-sender'],
      ['order.log:4', 'mixed-address-families'],
    ])
  })
})
