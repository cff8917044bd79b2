import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, it, expect } from 'vitest'
import { BulkheadError, type Flow } from '../../src/core/index.js'
import { awsVpcParser, parseAwsFieldList } from '../../src/ingest/formats/aws-vpc.js'
import {
  readFlowColumns,
  readFlows,
  type FileSummary,
  type ReadOptions,
} from '../../src/ingest/read.js'
import { tempDir } from '../helpers/files.js'
import { fixture, fixtureText, runParser } from './text-helpers.js'

const tmp = tempDir('bulkhead-aws-vpc')

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

/** The flows and the summary of `file` read through the column reader (the CLI's path) as aws-vpc. */
async function readColumns(
  file: string,
  strict: boolean,
): Promise<{ flows: Flow[]; summary: FileSummary | undefined }> {
  const summaries: FileSummary[] = []
  const flows: Flow[] = []
  for await (const batch of readFlowColumns([file], { format: 'aws-vpc', strict }, summaries))
    flows.push(...(Array.isArray(batch) ? batch : batch.toFlows()))
  return { flows, summary: summaries[0] }
}

describe('aws-vpc parser', () => {
  it('reads default v2 records: ms times, IANA protocol, actions, NODATA/SKIPDATA as notes', async () => {
    const { flows, ctx } = await runParser(awsVpcParser, fixtureText('aws-v2.log'), {
      file: 'v2.log',
    })
    expect(flows).toHaveLength(5)
    expect(flows[0]).toEqual({
      src: '172.31.16.139',
      dst: '172.31.16.21',
      srcPort: 20641,
      dstPort: 22,
      protocol: 6,
      start: 1418530010000,
      end: 1418530070000,
      packets: 20,
      bytes: 4249,
      observedAction: 'accept',
      direction: 'unknown',
      source: { format: 'aws-vpc', file: 'v2.log', line: 1 },
    })
    expect(flows[2]?.observedAction).toBe('reject')
    expect(flows[3]).toMatchObject({ protocol: 1, srcPort: 0, dstPort: 0, source: { line: 6 } })
    expect(flows[4]).toMatchObject({ src: '2001:db8:1234:a100:8d6e:3477:df66:f105', dstPort: 22 })
    expect(ctx.stats.notes).toEqual({ nodata: 1, skipdata: 1 })
    expect(ctx.stats.skipped).toEqual({ 'bad-address': 1, 'field-count': 1 })
    expect(ctx.stats.examples.map((e) => e.where)).toEqual(['v2.log:8', 'v2.log:9'])
  })

  it('takes the field order of a v5 header and uses pkt-srcaddr/pkt-dstaddr as endpoints', async () => {
    const { flows } = await runParser(awsVpcParser, fixtureText('aws-v5.log'))
    expect(flows).toHaveLength(4)
    expect(flows[0]).toMatchObject({
      src: '10.20.33.164',
      dst: '10.40.2.236',
      srcPort: 39812,
      dstPort: 80,
      bytes: 1608,
      packets: 20,
      tcpFlags: 2,
    })
    expect(flows[1]).toMatchObject({ src: '10.40.2.236', dst: '10.20.33.164', tcpFlags: 18 })
    // pkt-* '-' → srcaddr/dstaddr
    expect(flows[2]).toMatchObject({ src: '10.40.1.175', dst: '10.40.2.237', dstPort: 5432 })
    expect(flows[3]).toMatchObject({ observedAction: 'reject', source: { line: 6 } })
  })

  it('a repeated header mid-file resets the field order', async () => {
    const { flows, ctx } = await runParser(awsVpcParser, fixtureText('aws-v3-repeated-header.log'))
    expect(ctx.stats.skipped).toEqual({})
    expect(flows.map((f) => [f.src, f.srcPort, f.dstPort, f.packets, f.bytes, f.start])).toEqual([
      ['10.0.1.5', 50123, 5432, 10, 800, 1700000000000],
      ['10.0.1.6', 51000, 443, 7, 900, 1700000100000],
    ])
  })

  it('Transit Gateway records have no action → unknown', async () => {
    const { flows } = await runParser(awsVpcParser, fixtureText('aws-tgw.log'))
    expect(flows).toHaveLength(1)
    expect(flows[0]).toMatchObject({
      src: '10.1.0.10',
      dst: '10.2.0.20',
      dstPort: 443,
      observedAction: 'unknown',
      tcpFlags: 2,
      packets: 12,
    })
  })

  it('ECS names go to the side flow-direction says, and nowhere without it', async () => {
    const { flows } = await runParser(awsVpcParser, fixtureText('aws-ecs.log'))
    expect(flows[0]?.srcName).toBe('checkout')
    expect(flows[0]?.dstName).toBeUndefined()
    expect(flows[1]?.dstName).toBe('a1b2c3d4e5f6')
    expect(flows[2]?.srcName).toBeUndefined()
    expect(flows[2]?.dstName).toBeUndefined()
  })

  it('takes --fields with ${...} wrappers when the file has no header', async () => {
    const fields =
      '${version} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${tcp-flags}'
    const { flows, ctx } = await runParser(
      awsVpcParser,
      '4 10.9.0.1 10.9.0.2 40000 443 6 3 180 1700000000 1700000001 ACCEPT OK 2\n',
      { fields },
    )
    expect(ctx.stats.skipped).toEqual({})
    expect(flows[0]).toMatchObject({ src: '10.9.0.1', dstPort: 443, tcpFlags: 2 })
    expect(parseAwsFieldList('version 10.0.0.1 srcaddr dstaddr')).toBeUndefined()
    expect(parseAwsFieldList('version srcport dstport')).toBeUndefined()
    const bad = await runParser(awsVpcParser, '', { fields: 'foo bar' })
    expect(bad.ctx.stats.skipped).toEqual({ 'bad-fields': 1 })
  })

  it('a header unlike --fields wins, noted header-overrides-fields, on both paths (s44 QA hostile F7)', async () => {
    // --fields swaps the addresses; the file's header says the real order
    const dir = mkdtempSync(join(tmpdir(), 'bulkhead-aws-fields-'))
    try {
      const file = join(dir, 'h.log')
      writeFileSync(
        file,
        'version srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n' +
          '2 10.9.0.1 10.9.0.2 40000 443 6 3 180 1700000000 1700000001 ACCEPT OK\n',
      )
      const fields =
        'version dstaddr srcaddr srcport dstport protocol packets bytes start end action log-status'
      for (const read of [readFlows, readFlowColumns]) {
        const summaries: FileSummary[] = []
        const flows: Flow[] = []
        for await (const b of read([file], { format: 'aws-vpc', strict: false, fields }, summaries))
          flows.push(...(Array.isArray(b) ? b : 'toFlows' in b ? b.toFlows() : [b]))
        expect(flows.map((f) => [f.src, f.dst])).toEqual([['10.9.0.1', '10.9.0.2']])
        expect(summaries[0]?.stats.notes['header-overrides-fields']).toBe(1)
      }
      // the same order as the header: nothing to say
      const same = await runParser(awsVpcParser, readFileSync(file, 'utf8'), {
        fields: fields.replace('dstaddr srcaddr', 'srcaddr dstaddr'),
      })
      expect(same.ctx.stats.notes['header-overrides-fields']).toBeUndefined()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('an unusable field list in strict mode is fatal at the whole file: line 0, column 0 (found by the fuzz campaign)', async () => {
    // the skip is at `file:0`; its location had column 1 on line 0, which means no line
    await expect(
      runParser(awsVpcParser, '', { fields: 'foo bar', strict: true }),
    ).rejects.toMatchObject({
      diagnostics: [
        { code: 'ingest/malformed-record', location: { file: 'test.log', line: 0, column: 0 } },
      ],
    })
  })

  it('reads past fields AWS added later (encryption-status) or it does not know, noting the unknown', async () => {
    // AWS VPC encryption controls: "create new flow logs with the encryption-status field"
    const header =
      'version srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status encryption-status future-field'
    const record =
      '5 10.0.0.71 52.95.128.179 34210 80 6 12 9450 1700000000 1700000060 ACCEPT OK 1 x'
    const text = `${header}\n${record}\n${record.replace(' 1 x', ' 0 y')}\n`
    expect(awsVpcParser.detect(enc(text))).toBeGreaterThanOrEqual(0.9)
    const { flows, ctx } = await runParser(awsVpcParser, text)
    expect(ctx.stats.skipped).toEqual({})
    expect(flows).toHaveLength(2)
    expect(flows[0]).toMatchObject({ src: '10.0.0.71', dstPort: 80, packets: 12, bytes: 9450 })
    expect(ctx.stats.notes).toEqual({ 'ignored-field:future-field': 1 })
    // the same through --fields, for a file without its header
    const given = await runParser(awsVpcParser, `${record}\n`, { fields: header })
    expect(given.flows).toHaveLength(1)
    expect(given.ctx.stats.notes).toEqual({ 'ignored-field:future-field': 1 })
  })

  it('a comma-separated line in a file is not an AWS header (a CSV is not taken for one)', () => {
    const csv = 'srcaddr,dstaddr,proto,port\n10.0.0.1,10.0.0.2,6,443\n'
    expect(awsVpcParser.detect(enc(csv))).toBe(0)
  })

  it('log-status other than OK, NODATA and SKIPDATA (a record cut short) is bad-log-status', async () => {
    const ok =
      '2 123456789010 eni-1 10.0.0.1 10.0.0.2 40000 443 6 1 60 1700000000 1700000060 ACCEPT'
    const { flows, ctx } = await runParser(awsVpcParser, `${ok} OK\n${ok} O\n${ok} -\n`)
    expect(flows).toHaveLength(1)
    expect(ctx.stats.skipped).toEqual({ 'bad-log-status': 2 })
    expect(ctx.stats.examples[0]?.where).toBe('test.log:2')
  })

  it('a record with no flow in a custom format without log-status is nodata-or-skipdata, not bad-address', async () => {
    // AWS writes its NODATA and SKIPDATA records in every format: without log-status they are
    // the record's other fields with every flow field '-'
    const header =
      'version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags'
    const flow =
      '3 vpc-1 subnet-1 i-1 eni-1 123456789010 IPv4 10.0.0.1 10.0.0.2 40000 443 10.0.0.1 10.0.0.2 6 60 1 1700000000 1700000060 ACCEPT 2'
    const none =
      '3 vpc-1 subnet-1 i-1 eni-1 123456789010 - - - - - - - - - - 1700000000 1700000060 - -'
    // a damaged record is still one: an address missing where the flow's other fields are there
    const damaged =
      '3 vpc-1 subnet-1 i-1 eni-1 123456789010 IPv4 - - 40000 443 - - 6 60 1 1700000000 1700000060 ACCEPT 2'
    const text = [header, flow, none, damaged].join('\n') + '\n'
    const { flows, ctx } = await runParser(awsVpcParser, text, { strict: false })
    expect(flows.map((f) => f.source.line)).toEqual([2])
    expect(ctx.stats.notes).toEqual({ 'nodata-or-skipdata': 1 })
    expect(ctx.stats.skipped).toEqual({ 'bad-address': 1 })
    expect(ctx.stats.examples[0]?.where).toBe('test.log:4')
    // the same through the column reader (the CLI's path) and in a Transit Gateway layout
    const tgw =
      'version resource-type account-id tgw-id tgw-attachment-id srcaddr dstaddr srcport dstport protocol packets bytes start end type\n' +
      '6 TransitGateway 123456789012 tgw-1 tgw-attach-1 - - - - - - - 1700000000 1700000060 -\n'
    const path = join(tmp, 'tgw-nodata.log')
    writeFileSync(path, tgw)
    const { flows: columns, summary } = await readColumns(path, true)
    expect(columns).toEqual([])
    expect(summary?.stats.notes).toEqual({ 'nodata-or-skipdata': 1 })
    expect(summary?.stats.skipped).toEqual({})
    // detection counts such records as read, as it counts NODATA
    expect(awsVpcParser.detect(enc([header, flow, none].join('\n') + '\n'))).toBe(0.95)
  })

  it('a version token that is no version (2-99) is bad-version, whatever the token count', async () => {
    const rest =
      '123456789010 eni-1 10.0.0.1 10.0.0.2 40000 443 6 1 60 1700000000 1700000060 ACCEPT OK'
    const lines = ['2', '5', '99', '0', '1', '100', 'v2', '-', '{"version":2,', '2.0'].map(
      (v) => `${v} ${rest}`,
    )
    const { flows, ctx } = await runParser(awsVpcParser, lines.join('\n') + '\n')
    expect(flows.map((f) => f.source.line)).toEqual([1, 2, 3])
    expect(ctx.stats.skipped).toEqual({ 'bad-version': 7 })
    expect(ctx.stats.examples[0]).toMatchObject({ where: 'test.log:4', reason: 'bad-version' })
    // a custom format's version is the highest among its fields: a v5 header, a 5 in the record
    const v5 = await runParser(
      awsVpcParser,
      'version srcaddr dstaddr srcport dstport protocol packets bytes start end action\n' +
        '5 10.0.0.1 10.0.0.2 40000 443 6 1 60 1700000000 1700000060 ACCEPT\n' +
        'x 10.0.0.1 10.0.0.2 40000 443 6 1 60 1700000000 1700000060 ACCEPT\n',
    )
    expect(v5.flows).toHaveLength(1)
    expect(v5.ctx.stats.skipped).toEqual({ 'bad-version': 1 })
  })

  it('a port written "-" (not computed) on TCP, UDP or SCTP is no-port; elsewhere it is 0', async () => {
    const r = (proto: number, sport: string, dport: string): string =>
      `2 123456789010 eni-1 10.0.0.1 10.0.0.2 ${sport} ${dport} ${String(proto)} 1 60 1700000000 1700000060 ACCEPT OK`
    const text = [
      r(6, '40000', '-'),
      r(17, '-', '53'),
      r(132, '-', '-'),
      r(1, '-', '-'),
      r(50, '-', '-'),
    ]
    const { flows, ctx } = await runParser(awsVpcParser, text.join('\n'))
    expect(ctx.stats.skipped).toEqual({ 'no-port': 3 })
    // counters that could not be computed are 0, and noted
    const dash = await runParser(
      awsVpcParser,
      '2 123456789010 eni-1 10.0.0.1 10.0.0.2 40000 443 6 - - 1700000000 1700000060 ACCEPT OK\n',
    )
    expect(dash.flows[0]).toMatchObject({ packets: 0, bytes: 0 })
    expect(dash.ctx.stats.notes).toEqual({ 'unknown-counters': 1 })
    expect(flows.map((f) => [f.protocol, f.srcPort, f.dstPort])).toEqual([
      [1, 0, 0],
      [50, 0, 0],
    ])
  })

  it('tolerates runs of spaces and tabs; rejects bad ports, protocols, times and actions by reason', async () => {
    const text = [
      '2  123456789010 eni-1 10.0.0.1 10.0.0.2 1 443 6 1 1 1 2 ACCEPT OK',
      '2 123456789010 eni-1 10.0.0.1 10.0.0.2 70000 443 6 1 1 1 2 ACCEPT OK',
      '2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 443 300 1 1 1 2 ACCEPT OK',
      '2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 443 6 1 1 9 2 ACCEPT OK',
      '2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 443 6 1 1 x 2 ACCEPT OK',
      '2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 443 6 1 -5 1 2 ACCEPT OK',
      '2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 443 6 1 1 1 2 MAYBE OK',
      '2 123456789010 eni-1 010.0.0.1 10.0.0.2 1 443 6 1 1 1 2 ACCEPT OK',
    ].join('\n')
    const { flows, ctx } = await runParser(awsVpcParser, text)
    expect(flows).toHaveLength(1)
    expect(ctx.stats.skipped).toEqual({
      'bad-port': 1,
      'bad-protocol': 1,
      'end-before-start': 1,
      'bad-time': 1,
      'bad-counter': 1,
      'bad-action': 1,
      'bad-address': 1,
    })
  })

  it('a record spanning more than an hour is window-too-long, read one by one and in columns (s32)', async () => {
    // AWS aggregates over at most 600 s; by hand: 3 600 s is kept, 3 601 s and a start typed
    // decades early (Elastic's sample: 1970 to 2025) are skipped with the span in the example
    const rec = (start: number, end: number): string =>
      `2 123456789010 eni-1 10.0.0.1 10.0.0.2 40000 443 6 1 64 ${String(start)} ${String(end)} ACCEPT OK`
    const lines = [rec(1700000000, 1700003600), rec(1700000000, 1700003601), rec(1, 1763900000)]
    const { flows, ctx } = await runParser(awsVpcParser, lines.join('\n'))
    expect(flows.map((f) => f.end - f.start)).toEqual([3_600_000])
    expect(ctx.stats.skipped).toEqual({ 'window-too-long': 2 })
    expect(ctx.stats.examples[0]).toMatchObject({
      reason: 'window-too-long',
      detail: expect.stringContaining('3601 s') as unknown,
    })
    const file = join(tmp, 'windows.log')
    writeFileSync(file, lines.join('\n') + '\n')
    const { flows: columns, summary } = await readColumns(file, false)
    expect(columns.map((f) => f.end - f.start)).toEqual([3_600_000])
    expect(summary?.stats.skipped).toEqual({ 'window-too-long': 2 })
  })

  it('strict mode throws ingest/malformed-record on the first bad record', async () => {
    const err = await runParser(awsVpcParser, fixtureText('aws-v2.log'), { strict: true }).catch(
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(BulkheadError)
    expect((err as BulkheadError).diagnostics[0]).toMatchObject({
      code: 'ingest/malformed-record',
      location: { line: 8 },
    })
  })

  it('detects v2, headed custom formats and TGW; not JSON or CSV', () => {
    expect(awsVpcParser.detect(enc(fixtureText('aws-v2.log')))).toBeGreaterThanOrEqual(0.5)
    expect(awsVpcParser.detect(enc(fixtureText('aws-v5.log')))).toBeGreaterThanOrEqual(0.5)
    expect(awsVpcParser.detect(enc(fixtureText('aws-tgw.log')))).toBeGreaterThanOrEqual(0.5)
    expect(awsVpcParser.detect(enc(fixtureText('aws-ecs.log')))).toBeGreaterThanOrEqual(0.5)
    expect(awsVpcParser.detect(enc(fixtureText('gcp.jsonl')))).toBe(0)
    expect(awsVpcParser.detect(enc(fixtureText('flows.csv')))).toBe(0)
  })

  it('through readFlows the two directions are paired and oriented client→server', async () => {
    const summaries: FileSummary[] = []
    const flows = []
    for await (const f of readFlows(
      [fixture('aws-v5.log')],
      { format: 'auto', strict: false },
      summaries,
    ))
      flows.push(f)
    expect(flows[0]).toMatchObject({
      src: '10.20.33.164',
      dst: '10.40.2.236',
      dstPort: 80,
      packets: 36,
      bytes: 3488,
      direction: 'client-to-server',
    })
    expect(summaries[0]?.stats.notes['paired-directions']).toBe(1)
    expect(summaries[0]?.stats.records).toBe(3)
    const unpaired = []
    for await (const f of readFlows(
      [fixture('aws-v5.log')],
      { format: 'aws-vpc', strict: false, pair: false },
      [],
    ))
      unpaired.push(f)
    expect(unpaired).toHaveLength(4)
  })
})

describe('--fields with --format auto (a custom format without a header line)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulkhead-aws-fields-'))
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })
  const file = join(dir, 'eni.log')
  writeFileSync(file, '2 eni-1 10.0.0.1 10.0.0.2 40000 443 6 1700000000 1700000060 ACCEPT\n')

  it('a file no format detects is read as aws-vpc in the given order', async () => {
    const summaries: FileSummary[] = []
    const flows = []
    for await (const f of readFlows(
      [file],
      {
        format: 'auto',
        strict: false,
        fields: 'version interface-id srcaddr dstaddr srcport dstport protocol start end action',
      },
      summaries,
    ))
      flows.push(f)
    expect(summaries[0]?.format).toBe('aws-vpc')
    expect(flows).toEqual([
      expect.objectContaining({ src: '10.0.0.1', dstPort: 443, start: 1_700_000_000_000 }),
    ])
  })

  it('without --fields the same file is ingest/unknown-format', async () => {
    const read = async (): Promise<void> => {
      for await (const _ of readFlows([file], { format: 'auto', strict: false }, []));
    }
    await expect(read()).rejects.toSatisfy(
      (e: unknown) =>
        e instanceof BulkheadError && e.diagnostics[0]?.code === 'ingest/unknown-format',
    )
  })
})

describe('aws-vpc times', () => {
  it('milliseconds where seconds belong are bad-time, not a date 50 000 years ahead', async () => {
    const { flows, ctx } = await runParser(
      awsVpcParser,
      '2 123456789010 eni-1 10.0.0.1 10.0.0.2 40000 443 6 1 60 1418530010000 1418530070000 ACCEPT OK\n',
    )
    expect(flows).toEqual([])
    expect(ctx.stats.skipped).toEqual({ 'bad-time': 1 })
  })
})

describe('aws-vpc detection', () => {
  it('a header of AWS fields says aws-vpc even when most records are bad: they are counted', () => {
    const text = [
      'version srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
      ...Array.from({ length: 10 }, () => '3 10.0.0.1 not-an-address 1 2 6 1 1 1 2 ACCEPT OK'),
      '3 10.0.0.1 10.0.0.2 40000 443 6 1 60 1418530010 1418530070 ACCEPT OK',
    ].join('\n')
    expect(awsVpcParser.detect(new TextEncoder().encode(`${text}\n`))).toBeGreaterThanOrEqual(0.5)
  })
})

describe('a connection whose later windows have no TCP flags nor telling ports', () => {
  // A NAT gateway's public leg (source port 4500, also the IPsec NAT-T port, to 443) logged in
  // two 1-minute aggregation windows of a custom v5 format: the handshake (SYN, SYN-ACK) is in
  // the first window only; in the second the reply's record comes first, as AWS may write them.
  const dir = mkdtempSync(join(tmpdir(), 'bulkhead-aws-memory-'))
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })
  const file = join(dir, 'nat.log')
  const rec = (
    src: string,
    dst: string,
    sp: number,
    dp: number,
    t: number,
    flags: number,
  ): string =>
    `5 eni-0nat ${src} ${dst} ${String(sp)} ${String(dp)} 6 4 400 ${String(t)} ${String(t + 50)} ACCEPT OK ${String(flags)}`
  const NAT = '10.0.0.16'
  const PSP = '203.0.113.40'
  writeFileSync(
    file,
    [
      'version interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags',
      rec(NAT, PSP, 4500, 443, 1790000000, 2),
      rec(PSP, NAT, 443, 4500, 1790000000, 18),
      rec(PSP, NAT, 443, 4500, 1790000060, 0),
      rec(NAT, PSP, 4500, 443, 1790000060, 1),
    ].join('\n') + '\n',
  )

  /** The flows of `file` read as objects and as columns (the two paths must agree). */
  const bothPaths = async (options: ReadOptions): Promise<Flow[][]> => {
    const objects: Flow[] = []
    for await (const f of readFlows([file], options, [])) objects.push(f)
    const columns: Flow[] = []
    for await (const batch of readFlowColumns([file], options, []))
      columns.push(...(Array.isArray(batch) ? batch : batch.toFlows()))
    return [objects, columns]
  }

  it('takes the direction its handshake settled, on the object and the columnar path', async () => {
    for (const flows of await bothPaths({ format: 'auto', strict: false })) {
      expect(flows.map((f) => [f.src, f.srcPort, f.dst, f.dstPort, f.direction])).toEqual([
        [NAT, 4500, PSP, 443, 'client-to-server'],
        [NAT, 4500, PSP, 443, 'client-to-server'],
      ])
    }
  })

  it("gives the later window's pair the client's record as its source, not the first read", async () => {
    // line 4 is the reply's record (read first in its window), line 5 the client's
    for (const flows of await bothPaths({ format: 'auto', strict: false }))
      expect(flows.map((f) => [f.source.line, f.packets, f.start])).toEqual([
        [2, 8, 1790000000_000],
        [5, 8, 1790000060_000],
      ])
  })

  it('carries the handshake to the later records with --no-pair too, on both paths', async () => {
    for (const flows of await bothPaths({ format: 'auto', strict: false, pair: false })) {
      expect(
        flows.map((f) => [f.source.line, f.src, f.srcPort, f.dst, f.dstPort, f.direction]),
      ).toEqual([
        // the SYN and the SYN-ACK tell on their own, each turned client to server
        [2, NAT, 4500, PSP, 443, 'client-to-server'],
        [3, NAT, 4500, PSP, 443, 'client-to-server'],
        // no flags, ports that cannot tell: the handshake of line 2 settles both
        [4, NAT, 4500, PSP, 443, 'client-to-server'],
        [5, NAT, 4500, PSP, 443, 'client-to-server'],
      ])
    }
  })
})

describe('a connection the destination security group refused, logged at both interfaces', () => {
  // The client's interface logs the SYNs its groups let out ACCEPT; the server's logs the same
  // SYNs REJECT (AWS "Flow log records": REJECT, "the traffic was not allowed by the security
  // groups or network ACLs"). No reply is logged: nothing answered.
  const dir = mkdtempSync(join(tmpdir(), 'bulkhead-aws-refused-'))
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })
  const file = join(dir, 'refused.log')
  const rec = (eni: string, action: string): string =>
    `2 123456789012 ${eni} 10.0.1.7 10.0.2.9 49152 5432 6 3 180 1790000000 1790000060 ${action} OK`
  writeFileSync(
    file,
    [
      rec('eni-0client', 'ACCEPT'),
      rec('eni-0server', 'REJECT'),
      // an accepted connection on another port stays accepted
      '2 123456789012 eni-0client 10.0.1.7 10.0.2.9 49153 443 6 5 500 1790000000 1790000060 ACCEPT OK',
      '2 123456789012 eni-0client 10.0.2.9 10.0.1.7 443 49153 6 4 900 1790000000 1790000060 ACCEPT OK',
    ].join('\n') + '\n',
  )

  it('is read rejected at both, noted rejected-at-other-end, on the object and the columnar path', async () => {
    const objects = []
    const summaries: FileSummary[] = []
    for await (const f of readFlows([file], { format: 'auto', strict: false }, summaries))
      objects.push(f)
    const columns = []
    const columnSummaries: FileSummary[] = []
    for await (const batch of readFlowColumns(
      [file],
      { format: 'auto', strict: false },
      columnSummaries,
    ))
      columns.push(...(Array.isArray(batch) ? batch : batch.toFlows()))
    for (const flows of [objects, columns]) {
      expect(flows.map((f) => [f.dstPort, f.observedAction]).sort()).toEqual([
        [443, 'accept'],
        [5432, 'reject'],
        [5432, 'reject'],
      ])
    }
    for (const s of [summaries, columnSummaries])
      expect(s[0]?.stats.notes).toMatchObject({
        'rejected-at-other-end': 1,
        'paired-directions': 1,
      })
  })
})

describe('aws-vpc: a run of records of one direction, accepted at the source and refused at the destination', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulkhead-aws-run-'))
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })
  // 10.0.1.7:49152 → 10.0.2.9:5432, each record 1 s long, `at` s after 1790000000; bytes tell
  // the records apart
  const rec = (eni: string, at: number, bytes: number, action: string): string =>
    `2 123456789012 ${eni} 10.0.1.7 10.0.2.9 49152 5432 6 1 ${String(bytes)} ${String(1790000000 + at)} ${String(1790000001 + at)} ${action} OK`
  const A0 = rec('eni-0client', 0, 64, 'ACCEPT')
  const A1 = rec('eni-0client', 1, 65, 'ACCEPT')
  const R2 = rec('eni-0server', 2, 66, 'REJECT')

  async function read(lines: readonly string[]): Promise<{
    objects: [number, string][]
    columns: [number, string][]
    notes: (Record<string, number> | undefined)[]
  }> {
    const file = join(dir, `run-${String(lines.length)}-${lines.map((l) => l.length).join('')}.log`)
    writeFileSync(file, lines.join('\n') + '\n')
    const summaries: FileSummary[] = []
    const objects: [number, string][] = []
    for await (const f of readFlows([file], { format: 'auto', strict: false }, summaries))
      objects.push([f.bytes, f.observedAction])
    const columnSummaries: FileSummary[] = []
    const columns: [number, string][] = []
    for await (const batch of readFlowColumns(
      [file],
      { format: 'auto', strict: false },
      columnSummaries,
    ))
      for (const f of Array.isArray(batch) ? batch : batch.toFlows())
        columns.push([f.bytes, f.observedAction])
    const sort = (a: [number, string][]): [number, string][] => a.sort((x, y) => x[0] - y[0])
    return {
      objects: sort(objects),
      columns: sort(columns),
      notes: [summaries[0]?.stats.notes, columnSummaries[0]?.stats.notes],
    }
  }

  // By hand: every accept is within 60 s of the reject (the store's rule, settleBothEnds), so all
  // three are `reject`, two of them settled, whatever the order, as the store settles them when
  // the three are ingested as three files (store settleBothEnds).
  for (const [name, lines] of [
    ['accept, accept, reject', [A0, A1, R2]],
    ['reject, accept, accept', [R2, A0, A1]],
    ['accept, reject, accept', [A0, R2, A1]],
  ] as const) {
    it(`${name}: all three rejected, on the object and the columnar path`, async () => {
      const r = await read(lines)
      const all: [number, string][] = [
        [64, 'reject'],
        [65, 'reject'],
        [66, 'reject'],
      ]
      expect(r.objects).toEqual(all)
      expect(r.columns).toEqual(all)
      for (const n of r.notes) expect(n?.['rejected-at-other-end']).toBe(2)
    })
  }

  it('an accept near only a settled accept, not near the reject, stays accepted', async () => {
    // R at 0–1 s; A at 50–51 s (49 s after R: near); A at 100–101 s: 99 s after R ends (not
    // near R), 49 s after the settled accept (which is no refusal): stays `accept`
    const r = await read([
      rec('eni-0server', 0, 64, 'REJECT'),
      rec('eni-0client', 50, 65, 'ACCEPT'),
      rec('eni-0client', 100, 66, 'ACCEPT'),
    ])
    const want: [number, string][] = [
      [64, 'reject'],
      [65, 'reject'],
      [66, 'accept'],
    ]
    expect(r.objects).toEqual(want)
    expect(r.columns).toEqual(want)
    for (const n of r.notes) expect(n?.['rejected-at-other-end']).toBe(1)
  })

  it('more accepts than a run holds: each near the reject is still rejected', async () => {
    // ten accepts, 1 s apart (0–9 s), then the reject at 10 s: every accept is within 60 s of
    // it, but a run holds PAIR_RUN (8) records behind the latest, 9 in all: the tenth accept
    // released the first unpaired, as `accept`, before the reject came (the bound; the store
    // settles it when the rows are ingested)
    const lines = Array.from({ length: 10 }, (_, i) => rec('eni-0client', i, 100 + i, 'ACCEPT'))
    lines.push(rec('eni-0server', 10, 200, 'REJECT'))
    const r = await read(lines)
    const want: [number, string][] = [
      ...Array.from({ length: 10 }, (_, i): [number, string] => [
        100 + i,
        i === 0 ? 'accept' : 'reject',
      ]),
      [200, 'reject'],
    ]
    expect(r.objects).toEqual(want)
    expect(r.columns).toEqual(want)
  })
})

describe('aws-vpc: one connection logged at two interfaces or over two windows, in any record order (s45 QA cloud F1)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulkhead-aws-order-'))
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })
  const permutations = <T>(xs: readonly T[]): T[][] =>
    xs.length <= 1
      ? [[...xs]]
      : xs.flatMap((x, i) =>
          permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]),
        )

  /** The flows of `file` on the object path and on the columnar path ({@link readColumns}). */
  async function bothPaths(file: string): Promise<[Flow[], Flow[]]> {
    const objects: Flow[] = []
    for await (const f of readFlows([file], { format: 'aws-vpc', strict: false }, []))
      objects.push(f)
    return [objects, (await readColumns(file, false)).flows]
  }

  /** [packets, bytes, start s] of each flow read, sorted, on the object and the columnar path. */
  async function read(name: string, header: string, lines: readonly string[]): Promise<string[][]> {
    const file = join(dir, `${name}.log`)
    writeFileSync(file, [header, ...lines].join('\n') + '\n')
    return (await bothPaths(file)).map((flows) =>
      flows.map((f) => `${String(f.packets)}/${String(f.bytes)}@${String(f.start / 1000)}`).sort(),
    )
  }

  it('a TCP connection over two aggregation windows of one interface: never a half left alone', async () => {
    // AWS "Flow log record examples", "TCP flag sequence" (port 43418): the client's SYN and the
    // server's SYN-ACK in the first window, both FINs in the second; the windows 0 s apart
    const header =
      'version interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags'
    const rec = (c2s: boolean, packets: number, bytes: number, w: 1 | 2, flags: number): string =>
      `3 eni-1235b8ca ${c2s ? '52.213.180.42 10.0.0.62 43418 5001' : '10.0.0.62 52.213.180.42 5001 43418'} 6 ${String(packets)} ${String(bytes)} ${w === 1 ? '1566848875 1566848933' : '1566848933 1566849113'} ACCEPT OK ${String(flags)}`
    const [syn, synAck, serverFin, clientFin] = [
      rec(true, 70, 100701, 1, 2),
      rec(false, 12, 632, 1, 18),
      rec(false, 1219, 63388, 2, 1),
      rec(true, 15774, 23294588, 2, 1),
    ] as const
    const want = ['16993/23357976@1566848933', '82/101333@1566848875']
    // a record pairs with the held record of the other direction nearest in start time: the
    // first window's reply finds the client's SYN held behind its FIN (before 2026-11-25 it
    // paired with the FIN, and the SYN and the server's FIN were left as two flows)
    for (const order of [
      [syn, synAck, serverFin, clientFin],
      [syn, clientFin, synAck, serverFin],
      [clientFin, syn, serverFin, synAck],
    ])
      expect(
        await read(
          `windows-${String(order.indexOf(syn))}${String(order.indexOf(synAck))}`,
          header,
          order,
        ),
        order.join('\n'),
      ).toEqual([want, want])
    // in any order, two flows that hold every packet: a record that meets the other window's
    // half before its own (the SYN, then the server's FIN) pairs with it, as reading does not
    // look ahead (16 of the 24 orders give the windows' flows; before 2026-11-25 8 did, and 8
    // left two halves alone)
    for (const [n, order] of permutations([syn, synAck, serverFin, clientFin]).entries()) {
      const [objects, columns] = await read(`windows-any-${String(n)}`, header, order)
      expect(columns, order.join('\n')).toEqual(objects)
      expect(objects, order.join('\n')).toHaveLength(2)
      const packets = (objects ?? []).map((f) => Number(f.split('/')[0]))
      expect(packets[0]! + packets[1]!).toBe(82 + 16993)
    }
  })

  it("a later window's pair merged while the handshake's record is held takes its direction (s45 QA retest F2)", async () => {
    // ports 50000/50001 cannot tell; the client's SYN at eni-1 is read first but pairs last
    const header =
      'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags'
    const rec = (eni: string, c2s: boolean, packets: number, w: 0 | 1, flags: number): string =>
      `5 123 ${eni} ${c2s ? '10.0.0.1 10.0.0.2 50000 50001' : '10.0.0.2 10.0.0.1 50001 50000'} 6 ${String(packets)} ${String(packets * 100)} ${String(1700000000 + w * 60)} ${String(1700000010 + w * 60)} ACCEPT OK ${String(flags)}`
    const file = join(dir, 'handshake-held.log')
    writeFileSync(
      file,
      [
        header,
        rec('eni-1', true, 1, 0, 2),
        rec('eni-1', true, 2, 1, 0),
        rec('eni-2', true, 4, 0, 2),
        rec('eni-1', false, 8, 1, 0),
        rec('eni-2', false, 16, 0, 18),
        rec('eni-1', false, 32, 0, 18),
      ].join('\n') + '\n',
    )
    for (const flows of await bothPaths(file))
      expect(flows.map((f) => [f.src, f.packets, f.direction])).toEqual([
        ['10.0.0.1', 10, 'client-to-server'],
        ['10.0.0.1', 20, 'client-to-server'],
        ['10.0.0.1', 33, 'client-to-server'],
      ])
  })

  it('one connection at the client interface and at the server interface: two flows, whatever the order', async () => {
    // each interface logs both directions (AWS logs a connection at every interface it
    // crosses: README "One connection logged at several observation points"); the same times
    const header =
      'version interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags'
    const rec = (eni: string, c2s: boolean): string =>
      `5 ${eni} ${c2s ? '10.20.4.9 10.20.8.8 51234 5432' : '10.20.8.8 10.20.4.9 5432 51234'} 6 ${c2s ? '12 3400' : '10 9000'} 1700000000 1700000060 ACCEPT OK ${c2s ? '2' : '18'}`
    const lines = [
      rec('eni-0a', true),
      rec('eni-0a', false),
      rec('eni-0b', true),
      rec('eni-0b', false),
    ]
    const want = ['22/12400@1700000000', '22/12400@1700000000']
    for (const [n, order] of permutations(lines).entries())
      expect(await read(`enis-${String(n)}`, header, order), order.join('\n')).toEqual([want, want])
  })
})
