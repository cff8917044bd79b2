import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { constants as zlibConstants, gunzipSync, gzipSync } from 'node:zlib'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, expect } from 'vitest'
import { azureNsgParser, azureVnetParser } from '../../src/ingest/formats/azure.js'
import { jsonErrorOffset } from '../../src/ingest/json-objects.js'
import { readFlows, type FileSummary } from '../../src/ingest/read.js'
import { readAsFile } from '../helpers/files.js'
import { BulkheadError } from '../../src/core/index.js'
import { expectWithinWhole, nsgBlob, recordsBefore, vnetBlob, type Layout } from './azure-blobs.js'
import { fixture, fixtureText, runParser } from './text-helpers.js'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

describe('azure-nsg parser (v2)', () => {
  it('reads tuples with decision, protocol, summed counters, record index', async () => {
    const { flows, ctx } = await runParser(azureNsgParser, fixtureText('azure-nsg-v2.json'), {
      file: 'nsg.json',
    })
    expect(flows).toHaveLength(6)
    expect(flows[0]).toEqual({
      src: '94.102.49.190',
      dst: '10.5.16.4',
      srcPort: 28746,
      dstPort: 443,
      protocol: 17,
      start: 1542110402000,
      end: 1542110402000,
      packets: 0,
      bytes: 0,
      observedAction: 'reject',
      direction: 'client-to-server',
      source: { format: 'azure-nsg', file: 'nsg.json', record: 0 },
    })
    // E with counters 1,66,1,66 → both directions summed; it ends no open connection, so it is
    // given out before the connections still open at the end of the file (records 2, 4, 5)
    expect(flows.map((f) => f.source.record)).toEqual([0, 1, 3, 2, 4, 5])
    expect(flows[2]).toMatchObject({
      dst: '13.67.143.117',
      packets: 2,
      bytes: 132,
      observedAction: 'accept',
      direction: 'client-to-server',
    })
    expect(flows[4]).toMatchObject({ packets: 54, bytes: 30986, source: { record: 4 } })
    expect(ctx.stats.skipped).toEqual({ 'bad-address': 1 })
    expect(ctx.stats.notes).toEqual({ 'open-at-end': 3 })
    expect(ctx.stats.examples[0]?.where).toBe('nsg.json#6')
  })

  it('every tuple names its flow as it began: client-to-server as written, never turned or paired', async () => {
    // record 5 is a C tuple from 13.67.143.118:443 (our fixture writes it so on purpose)
    const all = []
    for await (const f of readFlows(
      [fixture('azure-nsg-v2.json')],
      { format: 'azure-nsg', strict: false },
      [],
    ))
      all.push(f)
    expect(all).toHaveLength(6)
    expect(all.every((f) => f.direction === 'client-to-server')).toBe(true)
    expect(all.find((f) => f.source.record === 5)).toMatchObject({
      src: '13.67.143.118',
      srcPort: 443,
      dst: '10.5.16.4',
      dstPort: 59831,
    })
  })

  it('a denied inbound tuple from port 53 stays as the NSG logged it (Microsoft v1 sample)', async () => {
    const doc = JSON.stringify({
      records: [
        {
          properties: {
            Version: 1,
            flows: [
              {
                rule: 'DefaultRule_DenyAllInBound',
                flows: [
                  { mac: 'm', flowTuples: ['1487282481,198.51.100.194,10.1.0.4,53,1732,U,I,D'] },
                ],
              },
            ],
          },
        },
      ],
    })
    const dir = mkdtempSync(join(tmpdir(), 'bulkhead-azure-'))
    const path = join(dir, 'PT1H.json')
    writeFileSync(path, doc)
    const all = []
    try {
      for await (const f of readFlows([path], { format: 'auto', strict: false }, [])) all.push(f)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    expect(all).toEqual([
      expect.objectContaining({
        src: '198.51.100.194',
        srcPort: 53,
        dst: '10.1.0.4',
        dstPort: 1732,
        protocol: 17,
        observedAction: 'reject',
        direction: 'client-to-server',
      }),
    ])
  })

  it('a record nested as {"records": [...]} is read; a record without flows is counted', async () => {
    const rec = (t: string): unknown => ({
      properties: { Version: 1, flows: [{ rule: 'r', flows: [{ mac: 'm', flowTuples: [t] }] }] },
    })
    const doc = JSON.stringify({
      records: [
        rec('1487282421,42.119.146.95,10.1.0.4,51529,5358,T,I,D'),
        { records: [rec('1487282492,175.182.69.29,10.1.0.4,28918,5358,T,I,D')] },
        { time: '2017-02-16T22:00:32Z', category: 'NetworkSecurityGroupFlowEvent' },
      ],
    })
    const { flows, ctx } = await runParser(azureNsgParser, doc)
    expect(flows.map((f) => f.src)).toEqual(['42.119.146.95', '175.182.69.29'])
    expect(ctx.stats.skipped).toEqual({ 'bad-record': 1 })
  })

  it('a record of the other kind is bad-record that names the format reading it (s45 QA cloud F4)', async () => {
    const nsg = JSON.stringify({
      records: [
        {
          properties: {
            Version: 2,
            flows: [
              {
                rule: 'r',
                flows: [{ mac: 'm', flowTuples: ['1,10.0.0.1,10.0.0.2,1,2,T,O,A,B,,,,'] }],
              },
            ],
          },
        },
      ],
    })
    const vnet = JSON.stringify({
      records: [{ flowLogVersion: 4, flowRecords: { flows: [{ aclID: 'a', flowGroups: [] }] } }],
    })
    const asVnet = await runParser(azureVnetParser, nsg)
    expect(asVnet.ctx.stats.skipped).toEqual({ 'bad-record': 1 })
    expect(asVnet.ctx.stats.examples[0]?.text).toMatch(
      /^an NSG flow log record \(read it with --format azure-nsg\)/,
    )
    const asNsg = await runParser(azureNsgParser, vnet)
    expect(asNsg.ctx.stats.examples[0]?.text).toMatch(
      /^a VNet flow log record \(read it with --format azure-vnet\)/,
    )
    // a record of neither kind says nothing of the kind
    const neither = await runParser(azureNsgParser, JSON.stringify({ records: [{ time: 't' }] }))
    expect(neither.ctx.stats.examples[0]?.text).toBe('{"time":"t"}')
  })

  it("a nested copy of a record read before (Microsoft's NSG v1 sample) is read once (s45 QA cloud F3)", async () => {
    // learn.microsoft.com nsg-flow-logs-overview "Version 1": the records of 22:00 and 22:01,
    // then a record that is itself {records: [22:00, 22:01, 22:02]}
    const rec = (time: string, t: string): unknown => ({
      time,
      properties: { Version: 1, flows: [{ rule: 'r', flows: [{ mac: 'm', flowTuples: [t] }] }] },
    })
    const a = rec('2017-02-16T22:00:32Z', '1487282421,42.119.146.95,10.1.0.4,51529,5358,T,I,D')
    const b = rec('2017-02-16T22:01:32Z', '1487282492,175.182.69.29,10.1.0.4,28918,5358,T,I,D')
    const c = rec('2017-02-16T22:02:32Z', '1487282550,13.67.143.117,10.1.0.4,48000,443,T,I,A')
    const { flows, ctx } = await runParser(
      azureNsgParser,
      JSON.stringify({ records: [a, b, { records: [a, b, c] }] }),
    )
    expect(flows.map((f) => f.src)).toEqual(['42.119.146.95', '175.182.69.29', '13.67.143.117'])
    expect(ctx.stats.notes['duplicate-record']).toBe(2)
    // without nesting, records are read as they are, each (no record is compared)
    const flat = await runParser(azureNsgParser, JSON.stringify({ records: [a, a] }))
    expect(flat.flows).toHaveLength(2)
  })

  it('a rule, flow or flow group whose tuples are not an array is counted as bad-record, not dropped silently (s34)', async () => {
    // the documented shape holds arrays at every level (NSG properties.flows[].flows[].flowTuples[],
    // VNet flowRecords.flows[].flowGroups[].flowTuples[]); anything else gave 0 flows, nothing skipped
    const t = '1763632860123,10.0.0.4,203.0.113.10,50000,443,6,O,B,NX,0,0,0,0'
    const vnet = JSON.stringify({
      records: [
        {
          time: '2025-11-20T10:01:00Z',
          flowLogVersion: 4,
          macAddress: '00224871C205',
          flowRecords: {
            flows: [
              { aclID: 'a', flowGroups: [{ rule: 'r' }] },
              { aclID: 'b' },
              { aclID: 'c', flowGroups: [{ rule: 'r', flowTuples: t }] },
              { aclID: 'd', flowGroups: [{ rule: 'r', flowTuples: [t.replace(',B,', ',D,')] }] },
            ],
          },
        },
      ],
    })
    const v = await runParser(azureVnetParser, vnet)
    expect(v.ctx.stats.skipped).toEqual({ 'bad-record': 3 })
    expect(v.flows.map((f) => f.observedAction)).toEqual(['reject'])
    const nsg = JSON.stringify({
      records: [
        {
          properties: {
            Version: 2,
            flows: [
              { rule: 'r1' },
              {
                rule: 'r2',
                flows: [
                  { mac: 'm', flowTuples: '1487282421,42.119.146.95,10.1.0.4,51529,5358,T,I,D' },
                ],
              },
              {
                rule: 'r3',
                flows: [
                  { mac: 'm', flowTuples: ['1487282421,42.119.146.95,10.1.0.4,51529,5358,T,I,D'] },
                ],
              },
            ],
          },
        },
      ],
    })
    const n = await runParser(azureNsgParser, nsg)
    expect(n.ctx.stats.skipped).toEqual({ 'bad-record': 2 })
    expect(n.flows).toHaveLength(1)
    // an empty array at any level is no traffic, not damage
    const quiet = JSON.stringify({
      records: [
        {
          macAddress: 'm',
          flowRecords: {
            flows: [
              { aclID: 'a', flowGroups: [{ rule: 'r', flowTuples: [] }] },
              { aclID: 'b', flowGroups: [] },
            ],
          },
        },
      ],
    })
    expect((await runParser(azureVnetParser, quiet)).ctx.stats.skipped).toEqual({})
  })

  it("a bad-record example says which record and which entry of it: the file's N-th record, then keys and indexes", async () => {
    // worked out by hand: record 0 is whole; record 1 has no flowRecords; in record 2 the first
    // flow's first group has no flowTuples and the second flow has no flowGroups. Before, the
    // examples were numbered by the bad entries found so far: record-0, record-1, record-2
    const t = '1763632860123,10.0.0.4,203.0.113.10,50000,443,6,O,B,NX,0,0,0,0'
    const good = {
      macAddress: 'm',
      flowRecords: { flows: [{ flowGroups: [{ flowTuples: [t] }] }] },
    }
    const doc = JSON.stringify({
      records: [
        good,
        { time: '2025-11-20T10:01:00Z', macAddress: 'm' },
        {
          macAddress: 'm',
          flowRecords: { flows: [{ flowGroups: [{ rule: 'r' }] }, { aclID: 'b' }] },
        },
      ],
    })
    const { ctx } = await runParser(azureVnetParser, doc, { file: 'v.json' })
    expect(ctx.stats.skipped).toEqual({ 'bad-record': 3 })
    expect(ctx.stats.examples.map((e) => e.where)).toEqual([
      'v.json#record-1',
      'v.json#record-2/flowRecords/flows/0/flowGroups/0',
      'v.json#record-2/flowRecords/flows/1',
    ])
    const nsg = JSON.stringify({
      records: [{ properties: { Version: 2, flows: [{ rule: 'r1', flows: [] }, { rule: 'r2' }] } }],
    })
    const n = await runParser(azureNsgParser, nsg, { file: 'n.json' })
    expect(n.ctx.stats.examples.map((e) => e.where)).toEqual(['n.json#record-0/properties/flows/1'])
  })

  it('reads v1 tuples (8 fields, no counters) and skips bad JSON by reason', async () => {
    const v1 = JSON.stringify({
      records: [
        {
          properties: {
            Version: 1,
            flows: [
              {
                rule: 'r',
                flows: [
                  { mac: 'm', flowTuples: ['1487282421,42.119.146.95,10.1.0.4,51529,5358,T,I,D'] },
                ],
              },
            ],
          },
        },
      ],
    })
    const { flows, ctx } = await runParser(azureNsgParser, v1)
    expect(flows[0]).toMatchObject({
      src: '42.119.146.95',
      dstPort: 5358,
      protocol: 6,
      observedAction: 'reject',
      packets: 0,
    })
    // the counters are not logged, not zero (discover's figures say so)
    expect(ctx.stats.notes).toEqual({ 'counters-not-logged': 1 })
    expect(
      (await runParser(azureNsgParser, fixtureText('azure-nsg-v2.json'))).ctx.stats.notes,
    ).not.toHaveProperty('counters-not-logged')
    const bad = await runParser(azureNsgParser, '{"records": [}')
    expect(bad.flows).toEqual([])
    expect(bad.ctx.stats.skipped).toEqual({ 'bad-json': 1 })
  })

  it('a record of a schema version the reader does not know is read as the known one, noted', async () => {
    const nsg = fixtureText('azure-nsg-v2.json')
    const vnet = fixtureText('azure-vnet-v4.json')
    const versionNotes = (r: { ctx: { stats: { notes: Record<string, number> } } }) =>
      Object.entries(r.ctx.stats.notes).filter(([k]) => k.startsWith('unknown-version'))
    const known = await runParser(azureNsgParser, nsg)
    expect(versionNotes(known)).toEqual([])
    expect(versionNotes(await runParser(azureVnetParser, vnet))).toEqual([])
    const v3 = await runParser(azureNsgParser, nsg.replace(/"Version": ?2/, '"Version": 3'))
    expect(v3.flows).toEqual(known.flows)
    expect(versionNotes(v3)).toEqual([['unknown-version:3', 1]])
    const v5 = vnet.replace(/"flowLogVersion": ?4/, '"flowLogVersion": "5.0"')
    expect(versionNotes(await runParser(azureVnetParser, v5))).toEqual([
      ['unknown-version:"5.0"', 1],
    ])
  })

  it('detects NSG but not VNet documents', () => {
    expect(azureNsgParser.detect(enc(fixtureText('azure-nsg-v2.json')))).toBeGreaterThanOrEqual(0.5)
    expect(azureNsgParser.detect(enc(fixtureText('azure-vnet-v4.json')))).toBeLessThan(0.5)
  })
})

describe('Azure: one flow per connection from its B, C and E tuples', () => {
  /** An NSG v2 blob: one record (minute) per entry, each with tuples per NIC (mac). */
  const nsg = (records: Record<string, string[]>[]): string =>
    JSON.stringify({
      records: records.map((byMac) => ({
        properties: {
          Version: 2,
          flows: [
            {
              rule: 'DefaultRule_AllowInternetOutBound',
              flows: Object.entries(byMac).map(([mac, flowTuples]) => ({ mac, flowTuples })),
            },
          ],
        },
      })),
    })
  const t = (time: number, state: string, counters = ',,,', port = 50000, decision = 'A'): string =>
    `${String(time)},10.5.16.4,203.0.113.9,${String(port)},443,T,O,${decision},${state},${counters}`

  it('B, C, C, E over four minutes: one flow, first time to last, counters summed', async () => {
    const doc = nsg([
      { m1: [t(1700000000, 'B')] },
      { m1: [t(1700000060, 'C', '10,1000,8,9000')] },
      { m1: [t(1700000120, 'C', '1,100,1,900')] },
      { m1: [t(1700000180, 'E', '2,120,2,240')] },
    ])
    const { flows, ctx } = await runParser(azureNsgParser, doc, { file: 'b.json' })
    expect(flows).toEqual([
      {
        src: '10.5.16.4',
        dst: '203.0.113.9',
        srcPort: 50000,
        dstPort: 443,
        protocol: 6,
        start: 1700000000000,
        end: 1700000180000,
        packets: 24,
        bytes: 11360,
        observedAction: 'accept',
        direction: 'client-to-server',
        source: { format: 'azure-nsg', file: 'b.json', record: 0 },
      },
    ])
    expect(ctx.stats.notes).toEqual({ 'merged-tuples': 3 })
  })

  it('counters above 2^53 - 1: a tuple summing past it is a bad counter, a merged flow is held at it', async () => {
    const M = Number.MAX_SAFE_INTEGER
    const doc = nsg([
      { m1: [t(1700000000, 'E', `${String(M)},1,1,1`)] }, // packets M + 1
      { m1: [t(1700000000, 'E', `1,${String(M - 1)},0,1`, 50001)] }, // bytes M: kept
      { m1: [t(1700000000, 'B', ',,,', 50002)] },
      { m1: [t(1700000060, 'C', `${String(M)},${String(M)},0,0`, 50002)] },
      { m1: [t(1700000120, 'E', '2,3,0,0', 50002)] },
    ])
    const { flows, ctx } = await runParser(azureNsgParser, doc, { file: 'b.json' })
    expect(flows.map((f) => [f.srcPort, f.packets, f.bytes])).toEqual([
      [50001, 1, M],
      [50002, M, M],
    ])
    expect(ctx.stats.skipped).toEqual({ 'bad-counter': 1 })
  })

  it('the same tuple at two interfaces is two flows', async () => {
    const doc = nsg([
      { m1: [t(1700000000, 'B')], m2: [t(1700000000, 'B')] },
      { m1: [t(1700000060, 'E', '1,10,1,10')], m2: [t(1700000060, 'E', '2,20,2,20')] },
    ])
    const { flows } = await runParser(azureNsgParser, doc)
    expect(flows.map((f) => [f.start, f.end, f.bytes])).toEqual([
      [1700000000000, 1700000060000, 20],
      [1700000000000, 1700000060000, 40],
    ])
  })

  it('a B for a connection still open ends the earlier one (its E was not logged)', async () => {
    const doc = nsg([
      { m1: [t(1700000000, 'B'), t(1700000010, 'C', '1,1,1,1')] },
      { m1: [t(1700000100, 'B'), t(1700000130, 'E', '3,3,3,3')] },
    ])
    const { flows, ctx } = await runParser(azureNsgParser, doc)
    expect(flows.map((f) => [f.start, f.end, f.bytes, f.source.record])).toEqual([
      [1700000000000, 1700000010000, 2, 0],
      [1700000100000, 1700000130000, 6, 2],
    ])
    expect(ctx.stats.notes).toEqual({ 'merged-tuples': 2, 'end-missed': 1 })
  })

  it('a connection begun before the file (C first) and one not ended in it (no E)', async () => {
    const doc = nsg([
      { m1: [t(1700000000, 'C', '5,50,5,50'), t(1700000000, 'B', ',,,', 50001)] },
      { m1: [t(1700000060, 'E', '1,10,1,10'), t(1700000060, 'C', '2,20,2,20', 50001)] },
    ])
    const { flows, ctx } = await runParser(azureNsgParser, doc)
    expect(flows.map((f) => [f.srcPort, f.start, f.end, f.bytes])).toEqual([
      [50000, 1700000000000, 1700000060000, 120],
      [50001, 1700000000000, 1700000060000, 40],
    ])
    expect(ctx.stats.notes).toEqual({ 'merged-tuples': 2, 'open-at-end': 1 })
  })

  it('denied tuples of one tuple are each a flow: every one is an attempt', async () => {
    const doc = nsg([
      { m1: [t(1700000000, 'B', ',,,', 50000, 'D')] },
      { m1: [t(1700000060, 'B', ',,,', 50000, 'D')] },
    ])
    const { flows, ctx } = await runParser(azureNsgParser, doc)
    expect(flows.map((f) => [f.start, f.observedAction])).toEqual([
      [1700000000000, 'reject'],
      [1700000060000, 'reject'],
    ])
    expect(ctx.stats.notes).toEqual({})
  })

  it('an attempt the source let out and nothing answered (the destination NSG denied it) is rejected', async () => {
    // the source NIC's NSG allows the SYNs out (A, B, then E with 3 packets sent, none back);
    // the destination NIC's NSG denies them (its D tuple): both are one attempt that did not get through
    const doc = nsg([
      { src: [t(1700000000, 'B')], dst: [t(1700000000, 'B', ',,,', 50000, 'D')] },
      { src: [t(1700000021, 'E', '3,180,0,0')] },
    ])
    const { flows, ctx } = await runParser(azureNsgParser, doc)
    expect(flows.map((f) => [f.start, f.end, f.packets, f.observedAction])).toEqual([
      [1700000000000, 1700000000000, 0, 'reject'],
      [1700000000000, 1700000021000, 3, 'reject'],
    ])
    expect(ctx.stats.notes).toEqual({ 'merged-tuples': 1, 'unanswered-attempt': 1 })
  })

  it('what the tuples cannot tell stays accepted: no B in the file, no counters, UDP, not ended', async () => {
    const u = (time: number, state: string, counters: string, port: number): string =>
      `${String(time)},10.5.16.4,10.5.16.9,${String(port)},514,U,O,A,${state},${counters}`
    const doc = nsg([
      {
        m1: [
          t(1700000000, 'E', '3,180,0,0', 50000), // begun in an earlier blob
          t(1700000000, 'B', ',,,', 50001),
          t(1700000000, 'B', ',,,', 50002),
          u(1700000000, 'B', ',,,', 50003), // syslog: one way by design
          t(1700000000, 'B', ',,,', 50004),
        ],
      },
      {
        m1: [
          t(1700000060, 'E', '0,0,0,0', 50001), // nothing counted (uncounted inbound rules)
          t(1700000060, 'E', '3,180,1,60', 50002), // answered (a SYN-ACK or a RST)
          u(1700000060, 'E', '5,900,0,0', 50003),
          t(1700000060, 'C', '3,180,0,0', 50004), // open at the end of the blob
        ],
      },
    ])
    const { flows, ctx } = await runParser(azureNsgParser, doc)
    expect(flows.map((f) => [f.srcPort, f.observedAction])).toEqual([
      [50000, 'accept'],
      [50001, 'accept'],
      [50002, 'accept'],
      [50003, 'accept'],
      [50004, 'accept'],
    ])
    expect(ctx.stats.notes['unanswered-attempt']).toBeUndefined()
  })

  it('VNet: an unanswered attempt is rejected like the D tuple of the NIC that denied it', async () => {
    const rec = (mac: string, tuples: string[]): unknown => ({
      macAddress: mac,
      flowLogVersion: 4,
      flowRecords: { flows: [{ aclID: 'a', flowGroups: [{ rule: 'r', flowTuples: tuples }] }] },
    })
    const v = (ms: number, dir: string, state: string, counters: string): string =>
      `${String(ms)},10.30.1.11,10.30.2.11,41000,5432,6,${dir},${state},NX,${counters}`
    const doc = JSON.stringify({
      records: [
        rec('000D3A000001', [v(1790000000100, 'O', 'B', '0,0,0,0')]),
        rec('000D3A000002', [v(1790000000105, 'I', 'D', '0,0,0,0')]),
        rec('000D3A000001', [v(1790000021100, 'O', 'E', '3,180,0,0')]),
      ],
    })
    const { flows, ctx } = await runParser(azureVnetParser, doc)
    expect(flows.map((f) => [f.start, f.observedAction])).toEqual([
      [1790000000105, 'reject'],
      [1790000000100, 'reject'],
    ])
    expect(ctx.stats.notes).toEqual({ 'merged-tuples': 1, 'unanswered-attempt': 1 })
  })

  it('VNet: tuples are folded per macAddress record', async () => {
    const rec = (mac: string, tuples: string[]): unknown => ({
      macAddress: mac,
      flowLogVersion: 4,
      flowRecords: { flows: [{ aclID: 'a', flowGroups: [{ rule: 'r', flowTuples: tuples }] }] },
    })
    const v = (ms: number, state: string, counters: string): string =>
      `${String(ms)},10.0.0.6,192.0.2.180,23956,443,6,O,${state},NX,${counters}`
    const doc = JSON.stringify({
      records: [
        rec('00224871C205', [v(1663146003599, 'B', '0,0,0,0')]),
        rec('00224871C206', [v(1663146003599, 'B', '0,0,0,0')]),
        rec('00224871C205', [v(1663146063599, 'E', '3,767,2,1580')]),
      ],
    })
    const { flows, ctx } = await runParser(azureVnetParser, doc)
    expect(flows.map((f) => [f.start, f.end, f.packets, f.bytes])).toEqual([
      [1663146003599, 1663146063599, 5, 2347],
      [1663146003599, 1663146003599, 0, 0],
    ])
    expect(ctx.stats.notes).toEqual({ 'merged-tuples': 1, 'open-at-end': 1 })
  })
})

describe('azure-vnet parser (v4)', () => {
  it('reads epoch-ms tuples with IANA protocol, B/C/E accepted and D rejected', async () => {
    const { flows, ctx } = await runParser(azureVnetParser, fixtureText('azure-vnet-v4.json'), {
      file: 'v.json',
    })
    expect(ctx.stats.skipped).toEqual({})
    const rows = flows.map((f) => [
      f.start,
      f.end,
      f.protocol,
      f.observedAction,
      f.packets,
      f.bytes,
    ])
    expect(rows).toEqual([
      // B then E of one connection: one flow
      [1663146003599, 1663146003606, 6, 'accept', 5, 2347],
      [1663146004000, 1663146004000, 6, 'reject', 0, 0],
      // C tuples of connections still open at the end of the file
      [1663146003637, 1663146003637, 6, 'accept', 9, 3000],
      [1663146003640, 1663146003640, 17, 'accept', 2, 200],
    ])
    expect(flows[0]?.direction).toBe('client-to-server')
    expect(flows[3]).toMatchObject({ src: '2001:db8::6', dst: '2001:db8::99' })
  })

  // Microsoft's VNet flow logs overview, "Flow encryption": "the packet is dropped" for three
  it.each([
    ['NX_NOT_ACCEPTED', 'reject'],
    ['NX_SW_NOT_READY', 'reject'],
    ['NX_NOT_SUPPORTED', 'reject'],
    ['X', 'accept'],
    ['NX_HW_NOT_SUPPORTED', 'accept'],
    ['NX_LOCAL_DST', 'accept'],
    ['NX_FALLBACK', 'accept'],
  ])('encryption %s: the flow is %s', async (status, action) => {
    const text = fixtureText('azure-vnet-v4.json').replace(
      '1663146003637,10.0.0.6,203.0.113.17,22730,443,6,O,C,NX,',
      `1663146003637,10.0.0.6,203.0.113.17,22730,443,6,O,C,${status},`,
    )
    const { flows } = await runParser(azureVnetParser, text)
    expect(flows.find((f) => f.dst === '203.0.113.17')?.observedAction).toBe(action)
    expect(flows.find((f) => f.dst === '192.0.2.180')?.observedAction).toBe('accept')
  })

  it("a tuple time in seconds (Microsoft's bandwidth example) is read as seconds and noted", async () => {
    const text = fixtureText('azure-vnet-v4.json').replace('1663146003599,', '1663146003,')
    const { flows, ctx } = await runParser(azureVnetParser, text, { file: 'v.json' })
    // the B tuple in seconds, its E in milliseconds: one flow from the one to the other
    expect(flows[0]?.start).toBe(1663146003000)
    expect(flows[0]?.end).toBe(1663146003606)
    expect(ctx.stats.notes['time-in-seconds']).toBe(1)
  })

  it('a tuple skipped (bad address, mixed address families) is not noted time-in-seconds', async () => {
    const text = fixtureText('azure-vnet-v4.json')
      // times in seconds, and an IPv4 source with an IPv6 destination
      .replace('1663146003640,2001:db8::6,', '1663146003,10.0.0.6,')
      // times in seconds, and no address
      .replace('1663146004000,198.51.100.7,', '1663146004,198.51.100.999,')
    const { flows, ctx } = await runParser(azureVnetParser, text, { file: 'v.json' })
    // B + E of 192.0.2.180, and the C of 203.0.113.17 open at the end
    expect(flows.map((f) => f.dst)).toEqual(['192.0.2.180', '203.0.113.17'])
    expect(ctx.stats.skipped).toEqual({ 'mixed-address-families': 1, 'bad-address': 1 })
    expect(ctx.stats.notes).toEqual({ 'merged-tuples': 1, 'open-at-end': 1 })
    expect(ctx.stats.examples.map((e) => e.where)).toEqual(['v.json#3', 'v.json#4'])
  })

  it('detects VNet documents, not NSG ones', () => {
    expect(azureVnetParser.detect(enc(fixtureText('azure-vnet-v4.json')))).toBeGreaterThanOrEqual(
      0.5,
    )
    expect(azureVnetParser.detect(enc(fixtureText('azure-nsg-v2.json')))).toBe(0)
  })

  it('auto-detects and reads through readFlows', async () => {
    const s: FileSummary[] = []
    const all = []
    for await (const f of readFlows(
      [fixture('azure-vnet-v4.json')],
      { format: 'auto', strict: false },
      s,
    ))
      all.push(f)
    expect(s[0]?.format).toBe('azure-vnet')
    expect(all).toHaveLength(4)
  })
})

describe('Azure blobs as they arrive', () => {
  const tuple = (i: number): string =>
    `1542110377,10.0.0.4,13.67.143.118,${40000 + (i % 20000)},443,T,O,A,E,1,66,1,66`
  const doc = (n: number): string =>
    JSON.stringify({
      records: [
        {
          properties: {
            Version: 2,
            flows: [
              {
                rule: 'r',
                flows: [{ mac: 'm', flowTuples: Array.from({ length: n }, (_, i) => tuple(i)) }],
              },
            ],
          },
        },
      ],
    })
  const readFile = async (
    name: string,
    text: string | Buffer,
  ): Promise<{ n: number; s: FileSummary }> => {
    const { flows, summary } = await readAsFile(text, { name })
    return { n: flows.length, s: summary }
  }

  it('one compact document on a single line longer than 1 MiB is read whole', async () => {
    const text = doc(40_000)
    expect(text.length).toBeGreaterThan(2 * 1024 * 1024)
    const { n, s } = await readFile('PT1H.json', text)
    expect(n).toBe(40_000)
    expect(s.stats.skipped).toEqual({})
  })

  it('NUL bytes after the document (a preallocated blob) are not JSON and are ignored', async () => {
    const { n, s } = await readFile(
      'nul.json',
      Buffer.concat([Buffer.from(doc(3)), Buffer.alloc(4096)]),
    )
    expect(n).toBe(3)
    expect(s.stats.skipped).toEqual({})
  })

  it('a broken document is one bad-json record located at its line', async () => {
    const pretty = JSON.stringify(JSON.parse(doc(3)), null, 2).replace(
      '"Version": 2,',
      '"Version": 2,,',
    )
    const { n, s } = await readFile('broken.json', pretty)
    expect(n).toBe(0)
    expect(s.stats.skipped).toEqual({ 'bad-json': 1 })
    expect(s.stats.examples[0]?.where).toMatch(/broken\.json:\d+$/)
  })

  it('a broken document is located also when V8 names the token, not the position', async () => {
    // Microsoft's NSG v2 sample as its page prints it: a literal `...` for the records left out
    const lines = JSON.stringify(JSON.parse(doc(3)), null, 2).split('\n')
    lines.splice(lines.length - 3, 0, '    ,', '    ...')
    const { s } = await readFile('ellipsis.json', lines.join('\n'))
    const at = lines.indexOf('    ...') + 1
    expect(s.stats.examples[0]?.where).toMatch(new RegExp(`ellipsis\\.json:${String(at)}$`))
    expect(
      jsonErrorOffset(
        'Unexpected token \'x\', ..."8, 9, 10, x, 11, 12,"... is not valid JSON',
        '[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, x, 11, 12, 13]',
      ),
    ).toBe(32)
    expect(jsonErrorOffset('Unexpected end of JSON input', '{"a":')).toBe(5)
    expect(jsonErrorOffset('something else', '{')).toBeUndefined()
  })

  it('a record nested thousands deep is counted, not a crash', async () => {
    const deep = `${'{"a":'.repeat(6000)}{"x":1}${'}'.repeat(6000)}`
    const { ctx } = await runParser(azureNsgParser, `{"records":[${deep}]}`)
    expect(ctx.stats.skipped).toEqual({ 'bad-record': 1 })
  })

  it('NSG times in milliseconds (seconds expected) are bad-time, not year 50 000', async () => {
    const ms = doc(1).replace('1542110377,', '1542110377000,')
    const { ctx } = await runParser(azureNsgParser, ms)
    expect(ctx.stats.skipped).toEqual({ 'bad-time': 1 })
  })
})

describe('a blob cut short: the complete records before the cut are read', () => {
  const CASES = [
    ['azure-nsg', azureNsgParser, nsgBlob],
    ['azure-vnet', azureVnetParser, vnetBlob],
  ] as const
  const LAYOUTS: Layout[] = ['one-line', 'pretty', 'nested']

  for (const [format, parser, blobOf] of CASES)
    for (const layout of LAYOUTS)
      it(`${format}, ${layout}: cut at every offset, the flows are those of the records before the cut`, async () => {
        const blob = blobOf(5, layout)
        const whole = await runParser(parser, blob.text)
        expect(whole.ctx.stats.skipped).toEqual({})
        expect(whole.ctx.stats.notes['merged-tuples']).toBeGreaterThan(0)
        let cuts = 0
        for (let k = 0; k <= blob.text.length; k++) {
          const prefix = blob.text.slice(0, k)
          const got = await runParser(parser, prefix)
          if (prefix.trim() === '') {
            expect(got.flows).toEqual([])
            expect(got.ctx.stats.skipped).toEqual({})
            continue
          }
          if (prefix.trim() === blob.text.trim()) {
            expect(got.flows).toEqual(whole.flows)
            expect(got.ctx.stats.skipped).toEqual({})
            continue
          }
          cuts++
          // one skip, at the end of the text; the flows of exactly the records whole before it
          expect(got.ctx.stats.skipped, `cut at ${String(k)}`).toEqual({ truncated: 1 })
          const lines = prefix.trimEnd().split('\n')
          expect(got.ctx.stats.examples[0]?.where).toBe(
            `test.log:${String(lines.length)}:${String((lines.at(-1) ?? '').length + 1)}`,
          )
          const before = await runParser(parser, recordsBefore(blob, k))
          expect(got.flows, `cut at ${String(k)}`).toEqual(before.flows)
          expect(got.ctx.stats.notes).toEqual(before.ctx.stats.notes)
          // none made up: each is a flow of the whole blob, or a connection the cut shortened
          const shortened = expectWithinWhole(got.flows, whole.flows)
          expect(shortened).toBeLessThanOrEqual(got.ctx.stats.notes['open-at-end'] ?? 0)
        }
        expect(cuts).toBeGreaterThan(blob.text.length - 10)
      }, 120_000)

  it('the skip names the line, column and byte of the cut and what was kept; --strict makes it fatal', async () => {
    const blob = nsgBlob(5, 'pretty')
    // cut inside the fourth record, in a tuple string
    const r = blob.records[3]!
    const k = blob.text.indexOf('UserRule', r.start)
    const prefix = blob.text.slice(0, k)
    const { flows, ctx } = await runParser(azureNsgParser, prefix, { file: 'PT1H.json' })
    const line = prefix.split('\n').length
    const column = (prefix.split('\n').at(-1) ?? '').length + 1
    expect(ctx.stats.examples).toEqual([
      {
        where: `PT1H.json:${String(line)}:${String(column)}`,
        reason: 'truncated',
        text: `document cut short at byte ${String(k)} (line ${String(line)}, column ${String(column)}): the 3 records whole before the cut are read; the record from line ${String(blob.text.slice(0, r.start).split('\n').length)} on is dropped`,
      },
    ])
    expect(flows.length).toBeGreaterThan(0)
    const strict = runParser(azureNsgParser, prefix, { file: 'PT1H.json', strict: true })
    await expect(strict).rejects.toBeInstanceOf(BulkheadError)
    await expect(strict).rejects.toMatchObject({
      diagnostics: [
        {
          code: 'ingest/malformed-record',
          severity: 'fatal',
          location: { file: 'PT1H.json', line, column },
        },
      ],
    })
  })

  it('garbage that is not a cut stays bad-json: a broken record in the middle, text after a cut', async () => {
    const blob = nsgBlob(5, 'one-line')
    const r = blob.records[2]!
    const at = blob.text.indexOf('"systemId":', r.start) + '"systemId":'.length
    const broken = `${blob.text.slice(0, at)}!${blob.text.slice(at)}`
    const a = await runParser(azureNsgParser, broken)
    expect(a.ctx.stats.skipped).toEqual({ 'bad-json': 1 })
    expect(a.flows).toEqual([])
    // a cut copy followed by the start of another copy of the blob
    const twice = `${blob.text.slice(0, r.start + 100)}${blob.text}`
    expect((await runParser(azureNsgParser, twice)).ctx.stats.skipped).toEqual({ 'bad-json': 1 })
    expect((await runParser(azureNsgParser, '{"records": [}')).ctx.stats.skipped).toEqual({
      'bad-json': 1,
    })
    expect((await runParser(azureNsgParser, '{"records": [')).ctx.stats.skipped).toEqual({
      truncated: 1,
    })
  })

  it('a gzip blob cut short: the flows of the records before the cut, then ingest/truncated-input', async () => {
    for (const [parser, blob] of [
      [azureNsgParser, nsgBlob(20, 'pretty')],
      [azureVnetParser, vnetBlob(20, 'one-line')],
    ] as const) {
      const gz = gzipSync(blob.text)
      const cut = gz.subarray(0, Math.floor(gz.length / 2))
      // what a decoder makes of the bytes there are
      const text = gunzipSync(cut, { finishFlush: zlibConstants.Z_SYNC_FLUSH }).toString()
      expect(text.length).toBeGreaterThan(blob.records[2]!.end)
      const dir = mkdtempSync(join(tmpdir(), 'bulkhead-azure-gz-'))
      const file = join(dir, 'PT1H.json.gz')
      writeFileSync(file, cut)
      const flows = []
      const summaries: FileSummary[] = []
      let error: unknown
      try {
        for await (const f of readFlows([file], { format: 'auto', strict: false }, summaries))
          flows.push(f)
      } catch (e) {
        error = e
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
      expect(error).toMatchObject({ diagnostics: [{ code: 'ingest/truncated-input' }] })
      const before = await runParser(parser, recordsBefore(blob, text.length))
      expect(before.flows.length).toBeGreaterThan(0)
      expect(flows).toEqual(before.flows.map((f) => ({ ...f, source: { ...f.source, file } })))
      // the cut is the error, not a truncated skip as well
      expect(summaries[0]?.stats.skipped ?? {}).toEqual({})
    }
  })

  it('a cut file read from disk: its summary counts the cut and keeps the flows before it', async () => {
    const blob = vnetBlob(5, 'one-line')
    const k = blob.records[3]!.start + 50
    const { flows, summary } = await readAsFile(blob.text.slice(0, k), { name: 'PT1H.json' })
    const before = await runParser(azureVnetParser, recordsBefore(blob, k))
    expect(flows).toHaveLength(before.flows.length)
    expect(summary.stats.skipped).toEqual({ truncated: 1 })
    expect(summary.stats.examples[0]?.where).toMatch(/PT1H\.json:1:\d+$/)
  })
})
