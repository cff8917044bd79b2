/**
 * @module A multicast group or the limited broadcast is never a packet's source, an unspecified
 * address never its destination (RFC 1112 §4, RFC 4291 §2.7, RFC 919 §7, RFC 1122 §3.2.1.3):
 * reading turns such a record around whatever its ports say, or skips it as `no-sender` when no
 * sender can have written it, on both read paths (objects, columns) and in the collector. Expected answers are worked out by hand from those rules.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { HALF_UNPAIRED, type Flow } from '../../src/core/index.js'
import { FlowColumns } from '../../src/ingest/columnar.js'
import { addressRole, groupEnds, withGroupEnds } from '../../src/ingest/direction.js'
import { readFlowBatches, readFlowColumns, type FileSummary } from '../../src/ingest/read.js'
import type { FlowFormat } from '../../src/ingest/types.js'
import { collectOver, T0 } from './collect-helper.js'
import {
  concat,
  ip4,
  ipfix,
  recV4,
  set,
  template,
  TPL_V4,
  u32,
  u64,
  u8,
  v9,
} from './netflow-builders.js'

const FLOWS = fileURLToPath(new URL('../fixtures/flows/', import.meta.url))
const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-group-ends-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('addressRole', () => {
  it('groups and the broadcast are sinks, the unspecified addresses origins, the rest hosts', () => {
    for (const a of [
      '224.0.0.0',
      '224.0.0.251',
      '239.255.255.250',
      '255.255.255.255',
      'ff02::fb',
      'ff05::c',
      'ffff::1',
    ])
      expect(addressRole(a), a).toBe('sink')
    for (const a of ['0.0.0.0', '::']) expect(addressRole(a), a).toBe('origin')
    for (const a of [
      '223.255.255.255',
      '240.0.0.0',
      '255.255.255.254',
      '22.1.2.3',
      '2.2.2.2',
      '25.5.5.5',
      '200.1.1.1',
      '10.0.0.1',
      '0.0.0.1',
      'fe80::1',
      'ff::1', // 0x00ff:...: not ff00::/8
      '2001:db8::1',
      '::1',
    ])
      expect(addressRole(a), a).toBe('host')
  })
})

describe('groupEnds', () => {
  const f = (src: string, dst: string, protocol = 17) => ({ src, dst, protocol })
  it('by hand: the sender first, else no sender', () => {
    expect(groupEnds(f('10.5.0.11', '10.5.0.12'))).toBe('unicast')
    expect(groupEnds(f('10.5.0.11', '224.0.0.251'))).toBe('as-is')
    expect(groupEnds(f('0.0.0.0', '255.255.255.255'))).toBe('as-is') // DHCP discover
    expect(groupEnds(f('::', 'ff02::1:ff00:11', 58))).toBe('as-is') // duplicate address probe
    expect(groupEnds(f('0.0.0.0', '10.5.0.1'))).toBe('as-is')
    expect(groupEnds(f('224.0.0.251', '10.5.0.11'))).toBe('swap')
    expect(groupEnds(f('255.255.255.255', '0.0.0.0'))).toBe('swap')
    expect(groupEnds(f('10.5.0.1', '0.0.0.0'))).toBe('swap')
    expect(groupEnds(f('ff02::fb', 'fe80::1'))).toBe('swap')
    expect(groupEnds(f('224.0.0.1', '239.2.2.2'))).toBe('no-sender')
    expect(groupEnds(f('255.255.255.255', '224.0.0.1'))).toBe('no-sender')
    expect(groupEnds(f('0.0.0.0', '0.0.0.0'))).toBe('no-sender')
    // ICMP: the type is its own direction's, so a turned-around record is no packet either
    expect(groupEnds(f('10.5.0.11', '224.0.0.1', 1))).toBe('as-is')
    expect(groupEnds(f('224.0.0.1', '10.5.0.11', 1))).toBe('no-sender')
    expect(groupEnds(f('ff02::1', 'fe80::1', 58))).toBe('no-sender')
  })

  it('withGroupEnds swaps ports with addresses and marks the sender client-to-server', () => {
    const base: Flow = {
      src: '239.1.1.1',
      dst: '10.5.0.11',
      srcPort: 5001,
      dstPort: 5000,
      protocol: 17,
      start: 0,
      end: 1,
      packets: 1,
      bytes: 100,
      observedAction: 'accept',
      direction: 'client-to-server',
      source: { format: 'csv', file: 'x.csv', line: 2 },
      dstName: 'kiosk-1',
    }
    expect(withGroupEnds(base)).toEqual({
      ...base,
      src: '10.5.0.11',
      dst: '239.1.1.1',
      srcPort: 5000,
      dstPort: 5001,
      srcName: 'kiosk-1',
      dstName: undefined,
    })
    const mdns = {
      ...base,
      src: '10.5.0.11',
      dst: '224.0.0.251',
      srcPort: 5353,
      dstPort: 5353,
      direction: 'unknown' as const,
    }
    expect(withGroupEnds(mdns)?.direction).toBe('client-to-server')
    expect(withGroupEnds({ ...base, dst: '224.0.0.2' })).toBeUndefined()
    const unicast = { ...base, src: '10.5.0.12', direction: 'unknown' as const }
    expect(withGroupEnds(unicast)).toBe(unicast)
  })
})

/** AWS VPC v2 records (read on both paths), each line's expected flow written by hand. */
const HEAD =
  'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status'
const rec = (src: string, dst: string, sp: number, dp: number, proto = 17, start = 1795000000) =>
  `2 123456789012 eni-1 ${src} ${dst} ${sp} ${dp} ${proto} 1 100 ${start} ${start + 60} ACCEPT OK`

describe('reading: both paths turn such records around or skip them', () => {
  const file = path.join(dir, 'groups.log')
  writeFileSync(
    file,
    [
      HEAD,
      // 5000 is a listed server port, 5001 not: the ports alone would make the group the source
      rec('10.5.0.11', '239.1.1.1', 5000, 5001, 17, 1795000000),
      // written the other way round (its ports look right): turned around
      rec('239.9.9.9', '10.5.0.12', 5001, 5000, 17, 1795001000),
      rec('10.5.0.11', '224.0.0.251', 5353, 5353, 17, 1795002000),
      rec('255.255.255.255', '0.0.0.0', 67, 68, 17, 1795003000),
      rec('224.0.0.1', '239.2.2.2', 1234, 1234, 17, 1795004000),
      rec('224.0.0.1', '10.5.0.11', 0, 0, 1, 1795005000),
      rec('10.5.0.11', '10.5.0.12', 40000, 443, 6, 1795006000),
      '',
    ].join('\n'),
  )
  const want = [
    ['10.5.0.11', 5000, '239.1.1.1', 5001, 2],
    ['10.5.0.12', 5000, '239.9.9.9', 5001, 3],
    ['10.5.0.11', 5353, '224.0.0.251', 5353, 4],
    ['0.0.0.0', 68, '255.255.255.255', 67, 5],
    ['10.5.0.11', 40000, '10.5.0.12', 443, 8],
  ]

  async function read(columnar: boolean): Promise<{ flows: Flow[]; summaries: FileSummary[] }> {
    const summaries: FileSummary[] = []
    const flows: Flow[] = []
    const opts = { format: 'auto' as const, strict: false }
    if (columnar) {
      for await (const b of readFlowColumns([file], opts, summaries))
        flows.push(...(b instanceof FlowColumns ? b.toFlows() : b))
    } else for await (const b of readFlowBatches([file], opts, summaries)) flows.push(...b)
    return { flows, summaries }
  }

  for (const columnar of [false, true]) {
    it(`${columnar ? 'columns' : 'objects'}: the sender first, client-to-server; no-sender skipped`, async () => {
      const { flows, summaries } = await read(columnar)
      expect(flows.map((f) => [f.src, f.srcPort, f.dst, f.dstPort, f.source.line])).toEqual(want)
      expect(flows.every((f) => f.direction === 'client-to-server')).toBe(true)
      const stats = summaries[0]?.stats
      expect(stats?.skipped).toEqual({ 'no-sender': 2 })
      expect(stats?.examples.map((e) => e.where)).toEqual([`${file}:6`, `${file}:7`])
      // line 2 (the ports' swap undone), lines 3 and 5
      expect(stats?.notes['group-source-swapped']).toBe(3)
    })
  }

  it('a row with a group end is no unpaired half: the store never pairs it across files', async () => {
    const halves: [string, number][] = []
    for await (const b of readFlowColumns([file], { format: 'auto', strict: false }, []))
      if (b instanceof FlowColumns)
        for (let r = 0; r < b.n; r++)
          halves.push([b.table.strings[b.dst[r] as number] as string, b.half[r] as number])
    // every record found no partner in the file; only the unicast one stays a half to pair
    expect(halves).toEqual([
      ['239.1.1.1', 0],
      ['239.9.9.9', 0],
      ['224.0.0.251', 0],
      ['255.255.255.255', 0],
      ['10.5.0.12', HALF_UNPAIRED],
    ])
  })

  it('--strict makes a no-sender record fatal, as any malformed record', async () => {
    const summaries: FileSummary[] = []
    const run = async () => {
      for await (const _ of readFlowBatches([file], { format: 'auto', strict: true }, summaries));
    }
    await expect(run()).rejects.toMatchObject({
      diagnostics: [expect.objectContaining({ code: 'ingest/malformed-record' })],
    })
  })
})

describe('notes ride on the flow: a no-sender skip after pairing drops them', () => {
  // AWS VPC records whose counters are `-`: each is noted `unknown-counters` as it is read.
  // Lines 2 and 3 are the two directions of one group-to-group connection (the ends exchanged,
  // 30 s apart): paired into one flow, which no sender can have written (224.0.0.1 and
  // 239.2.2.2 are both groups), so that flow is skipped as `no-sender` after pairing, with the
  // notes of both its records. Line 4 (group to group) is skipped alone. Lines 5 and 6 pair into
  // one kept flow, which carries both records' notes (each record's once). Line 7 is kept alone.
  // By hand: flows 2, no-sender 2, unknown-counters 2 + 1 = 3; paired-directions 1: a note about
  // the flow given out, as the others (the skipped pair is not counted).
  const file = path.join(dir, 'noted-groups.log')
  const r = (src: string, dst: string, sp: number, dp: number, start: number) =>
    `2 123456789012 eni-1 ${src} ${dst} ${String(sp)} ${String(dp)} 17 - - ${String(start)} ${String(start + 60)} ACCEPT OK`
  writeFileSync(
    file,
    [
      HEAD,
      r('224.0.0.1', '239.2.2.2', 1234, 1234, 1795000000),
      r('239.2.2.2', '224.0.0.1', 1234, 1234, 1795000030),
      r('224.0.0.9', '239.9.9.9', 5000, 5000, 1795000100),
      r('10.5.0.11', '10.5.0.12', 40000, 53, 1795000200),
      r('10.5.0.12', '10.5.0.11', 53, 40000, 1795000210),
      r('10.5.0.11', '10.5.0.13', 40001, 53, 1795000300),
      '',
    ].join('\n'),
  )
  for (const columnar of [false, true]) {
    it(`${columnar ? 'columns' : 'objects'}: the skipped flows' notes are not counted`, async () => {
      const summaries: FileSummary[] = []
      let flows = 0
      const opts = { format: 'auto' as const, strict: false }
      if (columnar) {
        for await (const b of readFlowColumns([file], opts, summaries))
          flows += b instanceof FlowColumns ? b.n : b.length
      } else for await (const b of readFlowBatches([file], opts, summaries)) flows += b.length
      const stats = summaries[0]?.stats
      expect(flows).toBe(2)
      expect(stats?.skipped).toEqual({ 'no-sender': 2 })
      expect(stats?.notes).toEqual({ 'unknown-counters': 3, 'paired-directions': 1 })
    })
  }
})

describe('rejected-at-other-end rides on the flow as paired-directions does', () => {
  // AWS VPC: lines 2 and 3 are one direction of a group-to-group connection, ACCEPT then REJECT
  // 5 s later (the same source and port as written): the accept is read rejected, settled by the
  // refusal at the other end (README "Direction"). No sender can have written either: both are
  // skipped no-sender, the settled one with its note. Lines 4 and 5 are the same between two
  // hosts: kept, the accept read rejected. By hand: flows 2, no-sender 2, rejected-at-other-end 1.
  const file = path.join(dir, 'settled-groups.log')
  const r = (src: string, dst: string, sp: number, dp: number, start: number, action: string) =>
    `2 123456789012 eni-1 ${src} ${dst} ${String(sp)} ${String(dp)} 6 1 60 ${String(start)} ${String(start + 60)} ${action} OK`
  writeFileSync(
    file,
    [
      HEAD,
      r('224.0.0.1', '239.2.2.2', 1234, 1234, 1795000000, 'ACCEPT'),
      r('224.0.0.1', '239.2.2.2', 1234, 1234, 1795000005, 'REJECT'),
      r('10.5.0.11', '10.5.0.12', 40000, 443, 1795000100, 'ACCEPT'),
      r('10.5.0.11', '10.5.0.12', 40000, 443, 1795000105, 'REJECT'),
      '',
    ].join('\n'),
  )
  for (const columnar of [false, true]) {
    it(`${columnar ? 'columns' : 'objects'}: the skipped settled record is not counted`, async () => {
      const summaries: FileSummary[] = []
      const flows: Flow[] = []
      const opts = { format: 'auto' as const, strict: false }
      if (columnar) {
        for await (const b of readFlowColumns([file], opts, summaries))
          flows.push(...(b instanceof FlowColumns ? b.toFlows() : b))
      } else for await (const b of readFlowBatches([file], opts, summaries)) flows.push(...b)
      expect(flows.map((f) => [f.src, f.observedAction])).toEqual([
        ['10.5.0.11', 'reject'],
        ['10.5.0.11', 'reject'],
      ])
      const stats = summaries[0]?.stats
      expect(stats?.skipped).toEqual({ 'no-sender': 2 })
      expect(stats?.notes).toEqual({ 'rejected-at-other-end': 1 })
    })
  }
})

describe('the readers that hold flows back: their flow notes ride on the flow too', () => {
  // Each file holds one record no sender can have written, with notes about its flow; by hand
  // (README "Skip reasons and notes"): skipped `no-sender` after its reader gave it out, and its
  // notes with it.
  const cases: [string, string, string][] = [
    // conntrack listing, no counters, no time: counters-not-logged, time-from-file-mtime
    [
      'conntrack',
      'ct.txt',
      'udp      17 29 src=0.0.0.0 dst=0.0.0.0 sport=68 dport=67 [UNREPLIED] src=0.0.0.0 dst=0.0.0.0 sport=67 dport=68 mark=0 use=1\n',
    ],
    // Hubble, no time, verdict AUDIT: no-timestamp, audit
    [
      'hubble',
      'hubble.json',
      `${JSON.stringify({
        flow: {
          IP: { source: '224.0.0.1', destination: '239.1.1.1', ipVersion: 'IPv4' },
          l4: { UDP: { source_port: 1234, destination_port: 1234 } },
          verdict: 'AUDIT',
        },
      })}\n`,
    ],
    // Azure VNet, a time in seconds: time-in-seconds
    [
      'azure-vnet',
      'vnet.json',
      JSON.stringify({
        records: [
          {
            macAddress: '000D3A000001',
            flowLogVersion: 4,
            flowRecords: {
              flows: [
                {
                  aclID: 'a',
                  flowGroups: [
                    {
                      rule: 'r',
                      flowTuples: ['1790000000,224.0.0.1,239.1.1.1,1234,1234,17,O,D,NX,0,0,0,0'],
                    },
                  ],
                },
              ],
            },
          },
        ],
      }),
    ],
  ]
  for (const [format, name, text] of cases) {
    it(`${format}: no-sender, and no notes`, async () => {
      const file = path.join(dir, name)
      writeFileSync(file, text)
      const summaries: FileSummary[] = []
      let flows = 0
      const opts = { format: format as FlowFormat, strict: false }
      for await (const b of readFlowBatches([file], opts, summaries)) flows += b.length
      expect(flows).toBe(0)
      expect(summaries[0]?.stats.skipped).toEqual({ 'no-sender': 1 })
      expect(summaries[0]?.stats.notes).toEqual({})
    })
  }
})

describe('a record read without a line number is named by its record', () => {
  // an Azure VNet flow tuple is record 1 (0-based) of its blob, which is one line: its skip was
  // at `file:1`, which --strict turned into line 1, column 1
  it('no-sender at file#tuple; --strict gives no line', async () => {
    const vnet = JSON.parse(readFileSync(path.join(FLOWS, 'azure-vnet-v4.json'), 'utf8')) as {
      records: { flowRecords: { flows: { flowGroups: { flowTuples: string[] }[] }[] } }[]
    }
    ;(vnet.records[0]?.flowRecords.flows[0]?.flowGroups[0] as { flowTuples: string[] }).flowTuples =
      [
        '1663146004000,198.51.100.7,10.0.0.6,51000,22,6,I,D,NX,0,0,0,0',
        '1663146004000,224.0.0.7,239.0.0.6,51000,22,6,I,D,NX,0,0,0,0',
      ]
    const file = path.join(dir, 'vnet-group.json')
    writeFileSync(file, JSON.stringify(vnet))
    const summaries: FileSummary[] = []
    for await (const _ of readFlowBatches(
      [file],
      { format: 'azure-vnet', strict: false },
      summaries,
    ));
    expect(summaries[0]?.stats.examples.map((e) => [e.where, e.reason])).toEqual([
      [`${file}#1`, 'no-sender'],
    ])
    const strict = async () => {
      for await (const _ of readFlowBatches([file], { format: 'azure-vnet', strict: true }, []));
    }
    await expect(strict()).rejects.toMatchObject({
      diagnostics: [
        expect.objectContaining({
          code: 'ingest/malformed-record',
          location: { file: `${file}#1`, line: 0, column: 0 },
        }),
      ],
    })
  })
})

describe('the collector: the same rule on flows received live', () => {
  it('turns a group-source record around and skips one with no sender', async () => {
    const H9 = { sysUptime: 1, secs: 1_700_000_000, sourceId: 4 }
    const r = (src: string, dst: string, sp: number, dp: number) =>
      recV4({ src, dst, sp, dp, proto: 17, pkts: 1, bytes: 100, start: T0, end: T0 + 50 })
    const { flows, collector } = await collectOver(
      [
        v9(
          H9,
          template(0, 256, TPL_V4),
          set(
            256,
            concat(
              r('239.1.1.1', '10.9.0.1', 5001, 5000), // written the other way round
              r('224.0.0.1', '239.2.2.2', 1234, 1234), // no sender
              r('10.9.0.2', '224.0.0.251', 5353, 5353),
            ),
          ),
        ),
      ],
      2,
    )
    expect(flows.map((f) => [f.src, f.srcPort, f.dst, f.dstPort, f.direction])).toEqual([
      ['10.9.0.1', 5000, '239.1.1.1', 5001, 'client-to-server'],
      ['10.9.0.2', 5353, '224.0.0.251', 5353, 'client-to-server'],
    ])
    expect(collector.stats.skipped).toEqual({ 'no-sender': 1 })
    expect(collector.stats.notes['group-source-swapped']).toBe(1)
  }, 5000)
})

describe('NetFlow/IPFIX: a record noted, then skipped no-sender, takes its notes with it', () => {
  // By hand (README "Skip reasons and notes"): a v9 packet (template TPL_V4) whose records each
  // end 50 ms before they start (noted end-before-start, end set to start) and an IPFIX message
  // whose ICMP records carry no type (noted icmp-type-assumed-echo, RFC 7011 template without
  // icmpTypeCode). Records A (224.0.0.1 -> 239.1.1.1) and B (its other direction, 10 s later) are
  // one group-to-group connection: paired, or not, no sender can have written them. C is a
  // unicast UDP record, kept. D (ICMP 224.0.0.1 -> 239.1.1.1) has no sender; E (ICMP 10.9.0.1 ->
  // 10.9.0.2) is kept. Kept: C and E, one note each; A, B and D take theirs with them.
  const H9 = { sysUptime: 1, secs: T0 / 1000, sourceId: 4 }
  const udp = (src: string, dst: string, sp: number, dp: number, at: number) =>
    recV4({ src, dst, sp, dp, proto: 17, pkts: 1, bytes: 100, start: at + 50, end: at })
  const icmp = (src: string, dst: string) =>
    concat(ip4(src), ip4(dst), u8(1), u32(1), u64(84), u64(T0))
  const datagrams = [
    v9(
      H9,
      template(0, 256, TPL_V4),
      set(
        256,
        concat(
          udp('224.0.0.1', '239.1.1.1', 1234, 1234, T0 - 20_000), // A
          udp('239.1.1.1', '224.0.0.1', 1234, 1234, T0 - 10_000), // B
          udp('10.9.0.1', '10.9.0.2', 40000, 53, T0 - 5_000), // C
        ),
      ),
    ),
    ipfix(
      { exportTime: T0 / 1000 },
      template(2, 700, '8:4 12:4 4:1 2:4 1:8 152:8'),
      set(700, concat(icmp('224.0.0.1', '239.1.1.1'), icmp('10.9.0.1', '10.9.0.2'))), // D, E
    ),
  ]
  const file = path.join(dir, 'noted-groups.nf')
  writeFileSync(file, concat(...datagrams))
  const kept = { 'end-before-start': 1, 'icmp-type-assumed-echo': 1 }

  for (const columnar of [false, true])
    for (const pair of [true, false])
      it(`files, ${columnar ? 'columns' : 'objects'}, ${pair ? 'paired' : '--no-pair'}: only the kept flows' notes`, async () => {
        const summaries: FileSummary[] = []
        const flows: Flow[] = []
        const opts = { format: 'netflow' as const, strict: false, pair }
        if (columnar) {
          for await (const b of readFlowColumns([file], opts, summaries))
            flows.push(...(b instanceof FlowColumns ? b.toFlows() : b))
        } else for await (const b of readFlowBatches([file], opts, summaries)) flows.push(...b)
        expect(flows.map((f) => [f.src, f.dst]).sort()).toEqual([
          ['10.9.0.1', '10.9.0.2'],
          ['10.9.0.1', '10.9.0.2'],
        ])
        const stats = summaries[0]?.stats
        expect(stats?.skipped).toEqual({ 'no-sender': pair ? 2 : 3 })
        // the one pair made (A with B) is skipped: no flow given out is a pair
        expect(stats?.notes).toEqual(kept)
      })

  for (const pair of [false, true])
    it(`the collector, ${pair ? 'paired' : '--no-pair'}: only the kept flows' notes`, async () => {
      const { flows, collector } = await collectOver(datagrams, 2, { pair, pairHoldMs: 50 })
      expect(flows.map((f) => [f.src, f.dst])).toEqual([
        ['10.9.0.1', '10.9.0.2'],
        ['10.9.0.1', '10.9.0.2'],
      ])
      expect(collector.stats.skipped).toEqual({ 'no-sender': pair ? 2 : 3 })
      expect(collector.stats.notes).toEqual(kept)
    }, 5000)
})
