/**
 * @module Differential tests of the columnar read path (src/ingest/columnar.ts, the AWS byte
 * reader, `readFlowColumns`) against the object path (`readFlowBatches`): same flows in the same
 * order, same file summaries (counts, skip examples, notes), on generated AWS VPC files (v2,
 * custom v5 orders, repeated headers, ECS names, IPv6, NODATA/SKIPDATA, malformed lines, gzip,
 * long lines, strict mode) and Zeek TSV (the Zeek byte reader against the line reader: `#fields`
 * orders and subsets, plain headers, other unset/empty markers and separators, other `#path`s,
 * IPv6, `-` and `(empty)` fields, damaged lines, gzip, strict mode, long lines, the real corpus
 * when present); and ColumnPairer against DirectionPairer.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { HALF_SETTLED, HALF_SWAPPED, HALF_UNPAIRED, type Flow } from '../../src/core/index.js'
import { ColumnPairer, countRowNotes, FlowColumns, StringTable } from '../../src/ingest/columnar.js'
import { DirectionPairer, orient } from '../../src/ingest/direction.js'
import {
  readFlowBatches,
  readFlowColumns,
  readRunOf,
  withSharedStrings,
  type FileSummary,
  type ReadOptions,
} from '../../src/ingest/read.js'
import { ZeekColumnReader } from '../../src/ingest/formats/zeek.js'
import { FLOW_NOTES, flowNotesOf, newStats } from '../../src/ingest/types.js'
import { writeZeekConnLog } from '../../bench/generate.js'
import { ofTwoFamilies } from '../helpers/families.js'
import { SEED } from '../helpers/model.js'
import { CORPUS_SKIP, corpusPath, corpusTitle } from '../helpers/corpora.js'

const ZEEK_CORPUS = corpusPath('zeek/')

const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-columnar-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let fileNo = 0

function write(content: string | Buffer, ext = '.log'): string {
  const f = path.join(dir, `f${++fileNo}${ext}`)
  writeFileSync(f, content)
  return f
}

interface Outcome {
  flows: Flow[]
  summaries: FileSummary[]
  error?: unknown
  columnBatches: number
}

async function run(file: string, opts: ReadOptions, columnar: boolean): Promise<Outcome> {
  const summaries: FileSummary[] = []
  const flows: Flow[] = []
  let columnBatches = 0
  try {
    if (columnar) {
      for await (const b of readFlowColumns([file], opts, summaries)) {
        if (b instanceof FlowColumns) {
          expect(b.n).toBeGreaterThan(0)
          columnBatches++
          flows.push(...b.toFlows())
        } else flows.push(...b)
      }
    } else for await (const b of readFlowBatches([file], opts, summaries)) flows.push(...b)
  } catch (error) {
    return { flows, summaries, error, columnBatches }
  }
  return { flows, summaries, columnBatches }
}

/** A Zeek TSV header with every counter column, for records that leave some unset. */
const HEADER_FULL = [
  '#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tconn_state\torig_pkts\torig_bytes\torig_ip_bytes\tresp_pkts\tresp_bytes\tresp_ip_bytes',
  '#types\ttime\taddr\tport\taddr\tport\tenum\tstring\tcount\tcount\tcount\tcount\tcount\tcount',
]

/** Both paths over `file`; asserts they agree and returns the object path's outcome. */
async function agree(file: string, opts: ReadOptions): Promise<Outcome> {
  const a = await run(file, opts, false)
  const b = await run(file, opts, true)
  expect(b.flows.length).toBe(a.flows.length)
  expect(b.flows).toStrictEqual(a.flows)
  expect(b.summaries).toStrictEqual(a.summaries)
  expect(String(b.error)).toBe(String(a.error))
  if (a.flows.length > 0) expect(b.columnBatches).toBeGreaterThan(0)
  return a
}

// ---------------------------------------------------------------------------------------------
// AWS VPC line generation

const V2 =
  'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status'
const V5 =
  'version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status flow-direction traffic-path'
const ECS =
  'version interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status flow-direction ecs-service-name ecs-task-id'
const LAYOUTS = [V2, V5, ECS] as const

interface Rec {
  src: string
  dst: string
  sp: string
  dp: string
  proto: string
  pk: string
  by: string
  start: number
  dur: number
  action: string
  status: string
  flags: string
  pktSrc: string
  flowDir: string
  svc: string
}

const T0 = 1_790_000_000
const addr = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.constantFrom(
      '10.0.0.1',
      '10.0.0.2',
      '10.0.1.17',
      '192.168.100.200',
      '151.101.200.13',
      '52.94.1.9',
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom('2001:db8::1', '2001:DB8:0:0::2', '::ffff:10.0.0.1', 'fe80::1%eth0'),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '010.0.0.1',
      '256.1.1.1',
      '1.2.3',
      '-',
      'x',
      '1.2.3.4.5',
      '10.0.0.1é',
      '1.2.3.04',
      '1.2.3.1000',
      '1..2.3',
      '.1.2.3',
      '1.2.3.',
      '1.2.3.255',
    ),
  },
)
const port = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom('443', '80', '22', '53', '5432', '8080', '0', '123') },
  { weight: 10, arbitrary: fc.integer({ min: 1024, max: 65535 }).map(String) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '-',
      '70000',
      '0443',
      'abc',
      '99999999999999999',
      '0000000000000000443',
    ),
  },
)
const counter = fc.oneof(
  { weight: 10, arbitrary: fc.nat(100000).map(String) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('-', '12345678901234567', '000000000000000005', '-5', '1e3'),
  },
)
const recArb: fc.Arbitrary<Rec> = fc.record({
  src: addr,
  dst: addr,
  sp: port,
  dp: port,
  proto: fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom('6', '17', '6', '1', '58', '50') },
    { weight: 1, arbitrary: fc.constantFrom('-', '300', 'tcp') },
  ),
  pk: counter,
  by: counter,
  start: fc.nat(300),
  dur: fc.oneof({ weight: 10, arbitrary: fc.nat(120) }, { weight: 1, arbitrary: fc.constant(-5) }),
  action: fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom('ACCEPT', 'REJECT') },
    { weight: 1, arbitrary: fc.constantFrom('-', 'accept', 'DROP') },
  ),
  status: fc.oneof(
    { weight: 12, arbitrary: fc.constant('OK') },
    { weight: 1, arbitrary: fc.constantFrom('NODATA', 'SKIPDATA', '-') },
  ),
  flags: fc.constantFrom('2', '18', '19', '3', '27', '0', '-', '4096', 'x', '16'),
  pktSrc: fc.oneof({ weight: 5, arbitrary: fc.constant('-') }, { weight: 1, arbitrary: addr }),
  flowDir: fc.constantFrom('ingress', 'egress', '-'),
  svc: fc.constantFrom('web', 'db', '-'),
})

/** A plain accepted TCP record for tests that set their own ends. */
const BASE_REC: Rec = {
  src: '10.0.0.1',
  dst: '10.0.0.2',
  sp: '40000',
  dp: '443',
  proto: '6',
  pk: '1',
  by: '100',
  start: 0,
  dur: 10,
  action: 'ACCEPT',
  status: 'OK',
  flags: '-',
  pktSrc: '-',
  flowDir: '-',
  svc: '-',
}

function render(r: Rec, layout: string, reply: boolean): string {
  const startNum = T0 + r.start
  const v: Record<string, string> = {
    version: '5',
    'account-id': '123456789010',
    'interface-id': 'eni-0abc',
    srcaddr: reply ? r.dst : r.src,
    dstaddr: reply ? r.src : r.dst,
    srcport: reply ? r.dp : r.sp,
    dstport: reply ? r.sp : r.dp,
    protocol: r.proto,
    packets: r.pk,
    bytes: r.by,
    start: String(startNum),
    end: String(startNum + r.dur),
    action: r.action,
    'log-status': r.status,
    'tcp-flags': reply ? (r.flags === '2' ? '18' : r.flags) : r.flags,
    'pkt-srcaddr': reply ? '-' : r.pktSrc,
    'pkt-dstaddr': '-',
    'flow-direction': r.flowDir,
    'ecs-service-name': r.svc,
    'ecs-task-id': 'task-1',
  }
  return layout
    .split(' ')
    .map((n) => v[n] ?? `${n}-1`)
    .join(' ')
}

/** Byte-level damage to a line, so the slow path and its skip reasons are exercised. */
const damage = fc.constantFrom(
  (l: string) => l,
  (l: string) => l.replace(' ', '  '),
  (l: string) => l.replace(' ', '\t'),
  (l: string) => `${l}\r`,
  (l: string) => `${l} `,
  (l: string) => ` ${l}`,
  (l: string) => l.split(' ').slice(1).join(' '),
  (l: string) => `${l} extra`,
  (l: string) => l.replace('eni-0abc', 'eni-é\u00a0x'),
  (l: string) => l.replace('eni-0abc', 'eni-\ufffd\u0001'),
  () => '',
  () => 'garbage line',
)

interface Item {
  rec: Rec
  reply: boolean
  delay: number
  damage: (l: string) => string
}

const itemArb: fc.Arbitrary<Item> = fc.record({
  rec: recArb,
  reply: fc.boolean(),
  delay: fc.nat(6),
  damage: fc.oneof(
    { weight: 6, arbitrary: fc.constant((l: string) => l) },
    { weight: 1, arbitrary: damage },
  ),
})

/** A generated AWS file: segments, each optionally opened by a header line, then records (and replies). */
const awsFileArb: fc.Arbitrary<AwsFile> = fc.record({
  segments: fc.array(
    fc.record({
      header: fc.constantFrom<(string | undefined)[]>(
        undefined,
        V2,
        V5,
        ECS,
        `\${${V5.split(' ').join('} ${')}}`,
      ),
      items: fc.array(itemArb, { maxLength: 40 }),
    }),
    { minLength: 1, maxLength: 4 },
  ),
  finalNewline: fc.boolean(),
})

interface AwsFile {
  segments: { header: string | undefined; items: Item[] }[]
  finalNewline: boolean
}

function awsText(f: AwsFile): string {
  const lines: string[] = []
  let layout: string = V2
  for (const seg of f.segments) {
    if (seg.header !== undefined) {
      lines.push(seg.header)
      layout = LAYOUTS.find((l) => seg.header?.replace(/[${}]/g, '') === l) ?? layout
    }
    const later: [number, string][] = []
    seg.items.forEach((it, i) => {
      lines.push(it.damage(render(it.rec, layout, false)))
      if (it.reply) later.push([i + it.delay, render(it.rec, layout, true)])
      for (const [, l] of later.filter(([at]) => at === i)) lines.push(l)
    })
    for (const [at, l] of later) if (at >= seg.items.length) lines.push(l)
  }
  return lines.join('\n') + (f.finalNewline ? '\n' : '')
}

describe('the columnar read path equals the object path (fast-check, fixed seed)', () => {
  it('generated AWS VPC files: v2, custom v5 and ECS orders, repeated headers, IPv6, NODATA, damage', async () => {
    await fc.assert(
      fc.asyncProperty(awsFileArb, async (f) => {
        const file = write(awsText(f))
        await agree(file, { format: 'aws-vpc', strict: false })
        await agree(file, { format: 'aws-vpc', strict: false, pair: false })
      }),
      { seed: SEED, numRuns: 120 },
    )
  }, 120_000)

  it('many records of few connections, either direction, in any order (pairing within runs): as the object path pairs them', async () => {
    // two connections, each logged at two interfaces and over several windows: every held record
    // has a run, and a reply may pair with a record of it rather than the latest
    const conns: Rec[] = [
      { ...BASE_REC, src: '10.0.0.1', dst: '10.0.0.2', sp: '40000', dp: '443' },
      { ...BASE_REC, src: '10.0.1.17', dst: '10.0.0.2', sp: '40001', dp: '5432' },
    ]
    const recordArb = fc.record({
      conn: fc.integer({ min: 0, max: conns.length - 1 }),
      reply: fc.boolean(),
      start: fc.nat(240),
      dur: fc.nat(90),
      action: fc.oneof(
        { weight: 6, arbitrary: fc.constant('ACCEPT') },
        { weight: 1, arbitrary: fc.constant('REJECT') },
        { weight: 1, arbitrary: fc.constant('-') }, // read `unknown`
      ),
      flags: fc.constantFrom('2', '18', '19', '3', '16', '-'),
    })
    let merges = 0
    await fc.assert(
      fc.asyncProperty(fc.array(recordArb, { minLength: 2, maxLength: 30 }), async (recs) => {
        const lines = recs.map((r) =>
          render({ ...(conns[r.conn] as Rec), ...r, pk: '3', by: '300' }, V2, r.reply),
        )
        const file = write(lines.join('\n') + '\n')
        const a = await agree(file, { format: 'aws-vpc', strict: false })
        merges += a.summaries[0]?.stats.notes['paired-directions'] ?? 0
      }),
      { seed: SEED, numRuns: 150 },
    )
    expect(merges).toBeGreaterThan(150)
  }, 120_000)

  it('AWS tokens at the edge of what the byte reader splits and reads: as the line reader reads them', async () => {
    const v2 =
      '2 123456789010 eni-0abc 10.0.0.5 10.0.0.80 40000 80 6 3 200 1800000000 1800000060 ACCEPT OK'
    const v5 = V5.split(' ')
      .map((n) => {
        const known: Record<string, string> = {
          version: '5',
          srcaddr: '10.0.1.5',
          dstaddr: '10.0.1.80',
          srcport: '40001',
          dstport: '443',
          'pkt-srcaddr': '-',
          'pkt-dstaddr': '-',
          protocol: '6',
          bytes: '300',
          packets: '4',
          start: '1800000000',
          end: '1800000030',
          action: 'ACCEPT',
          'tcp-flags': '19',
          'log-status': 'OK',
        }
        return known[n] ?? `${n}-1`
      })
      .join(' ')
    const edit = (line: string, over: Record<number, string>): string =>
      line
        .split(' ')
        .map((v, i) => over[i] ?? v)
        .join(' ')
    const flagsAt = V5.split(' ').indexOf('tcp-flags')
    const rows = [
      v2,
      edit(v2, { 1: '1234\u00015678' }), // a control character in a token the split passes over
      edit(v2, { 2: 'eni-\u000b' }),
      edit(v2, { 2: 'eni-\u00e9\u00a0x' }),
      edit(v2, { 8: '3\u00002' }), // and in one it reads
      edit(v2, { 3: '10.0.0.5\u0001' }),
      edit(v2, { 8: '-' }),
      edit(v2, { 5: '-' }),
      edit(v2, { 8: '123456789012345' }), // 15 digits
      edit(v2, { 8: '1234567890123456' }), // 16
      edit(v2, { 9: '9007199254740993' }), // beyond 2^53
      edit(v2, { 8: '1e3' }),
      edit(v2, { 8: '+3' }),
      edit(v2, { 8: '3-' }),
      edit(v2, { 6: '65536' }),
      edit(v2, { 7: '256' }),
      edit(v2, { 3: '010.0.0.5' }),
      edit(v2, { 3: '10.0.0.256' }),
      edit(v2, { 3: '10.0.0' }),
      edit(v2, { 4: '10.0.0.1234' }),
      edit(v2, { 4: '10..0.1' }),
      edit(v2, { 4: '10.0.0.1.' }),
      edit(v2, { 10: '1800000061' }), // ends before it starts
      edit(v2, { 12: 'ACCEPTED' }),
      edit(v2, { 13: 'OKAY' }),
      edit(v2, { 0: '02' }),
      `${v2} `,
      `${v2}\t`,
      `${v2}\u0001`,
      V5,
      v5,
      edit(v5, { [flagsAt]: 'x' }), // not a number, short: read as no flags
      edit(v5, { [flagsAt]: 'xxxxxxxxxxxxxxxx' }), // 16 characters
      edit(v5, { [flagsAt]: '4096' }),
      edit(v5, { [flagsAt]: '-' }),
    ]
    const out = await agree(write(`${rows.join('\n')}\n`), { format: 'aws-vpc', strict: false })
    expect(out.flows.length).toBeGreaterThan(5)
  })

  it('a record whose version is none (0, 100, "-", text) is bad-version on both paths', async () => {
    const rest =
      '123456789010 eni-1 10.0.0.1 10.0.0.2 40000 443 6 1 60 1700000000 1700000060 ACCEPT OK'
    const file = write(
      ['2', '0', '100', '-', 'x', '05', '1'].map((v) => `${v} ${rest}`).join('\n') + '\n',
    )
    const { flows, summaries } = await agree(file, {
      format: 'aws-vpc',
      strict: false,
      pair: false,
    })
    expect(flows.map((f) => f.source.line)).toEqual([1, 6])
    expect(summaries[0]?.stats.skipped).toEqual({ 'bad-version': 5 })
  })

  it('ICMP records without a type (ports 0 0) are read as echo requests on both paths', async () => {
    // AWS "Flow log record examples": a ping and its response, both written with ports 0 0
    const file = write(
      [
        '2 123456789010 eni-1 203.0.113.12 172.31.16.139 0 0 1 4 336 1432917027 1432917142 ACCEPT OK',
        '2 123456789010 eni-1 172.31.16.139 203.0.113.12 0 0 1 4 336 1432917094 1432917142 ACCEPT OK',
        '2 123456789010 eni-1 2001:db8::1 2001:db8::2 0 0 58 1 104 1432917027 1432917142 ACCEPT OK',
        '2 123456789010 eni-1 10.0.0.1 10.0.0.2 0 0 50 1 104 1432917027 1432917142 ACCEPT OK',
      ].join('\n'),
    )
    for (const pair of [true, false]) {
      const { flows, summaries } = await agree(file, { format: 'aws-vpc', strict: false, pair })
      expect(flows.map((f) => [f.src, f.protocol, f.dstPort, f.direction])).toEqual(
        pair
          ? [
              ['203.0.113.12', 1, 8, 'unknown'],
              ['2001:db8::1', 58, 128, 'unknown'],
              ['10.0.0.1', 50, 0, 'unknown'],
            ]
          : [
              ['203.0.113.12', 1, 8, 'unknown'],
              ['172.31.16.139', 1, 8, 'unknown'],
              ['2001:db8::1', 58, 128, 'unknown'],
              ['10.0.0.1', 50, 0, 'unknown'],
            ],
      )
      expect(summaries[0]?.stats.notes['icmp-type-assumed-echo']).toBe(pair ? 2 : 3)
    }
  })

  it('a custom format without packets or bytes: counters 0, noted counters-not-logged on both paths', async () => {
    const file = write(
      [
        'version srcaddr dstaddr srcport dstport protocol packets start end action log-status',
        '3 10.0.0.1 10.0.0.2 40000 443 6 5 1700000000 1700000060 ACCEPT OK',
        '3 10.0.0.3 10.0.0.2 40001 443 6 - 1700000000 1700000060 ACCEPT OK',
      ].join('\n') + '\n',
    )
    const { flows, summaries } = await agree(file, { format: 'aws-vpc', strict: false })
    expect(flows.map((f) => [f.packets, f.bytes])).toEqual([
      [5, 0],
      [0, 0],
    ])
    expect(summaries[0]?.stats.notes).toEqual({ 'counters-not-logged': 2 })
  })

  it('the same files gzipped, and read with format auto', async () => {
    await fc.assert(
      fc.asyncProperty(awsFileArb, async (f) => {
        const text = awsText(f)
        const gz = write(gzipSync(text), '.log.gz')
        await agree(gz, { format: 'aws-vpc', strict: false })
        const plain = write(text)
        await agree(plain, { format: 'auto', strict: false })
      }),
      { seed: SEED, numRuns: 30 },
    )
  }, 120_000)

  it('--fields for a file without a header', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(itemArb, { maxLength: 30 }), async (items) => {
        const text = items.map((it) => it.damage(render(it.rec, V5, it.reply))).join('\n')
        const file = write(text)
        await agree(file, { format: 'aws-vpc', strict: false, fields: V5 })
      }),
      { seed: SEED, numRuns: 30 },
    )
  }, 60_000)

  it('strict mode: the same flows before the same error', async () => {
    await fc.assert(
      fc.asyncProperty(awsFileArb, async (f) => {
        const file = write(awsText(f))
        await agree(file, { format: 'aws-vpc', strict: true })
      }),
      { seed: SEED, numRuns: 40 },
    )
  }, 60_000)

  it('long lines (a small maxLineBytes): same skips, in the same order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(itemArb, fc.nat(300)), { minLength: 1, maxLength: 60 }),
        async (items) => {
          const text = items
            .map(([it, pad]) =>
              it.damage(render(it.rec, V2, it.reply)).replace('eni-0abc', `eni-${'a'.repeat(pad)}`),
            )
            .join('\n')
          const file = write(text)
          await agree(file, { format: 'aws-vpc', strict: false, maxLineBytes: 200 })
        },
      ),
      { seed: SEED, numRuns: 40 },
    )
  }, 60_000)

  it('a file large enough for many read chunks and several column batches, pairs evicted', async () => {
    // 60 000 records, most with a reply: crosses the 10 000-record pairing window
    const lines = [V2]
    for (let i = 0; i < 60_000; i++) {
      const a = `10.0.${i % 200}.${1 + (i % 250)}`
      const b = `151.101.${i % 7}.${100 + (i % 150)}`
      const sp = 32768 + (i % 20000)
      const t = T0 + Math.floor(i / 10)
      lines.push(`2 123 eni-1 ${a} ${b} ${sp} 443 6 3 300 ${t} ${t + 60} ACCEPT OK`)
      if (i % 5 !== 0) {
        const j = i - (i % 3) * 4000
        const a2 = `10.0.${j % 200}.${1 + (j % 250)}`
        const b2 = `151.101.${j % 7}.${100 + (j % 150)}`
        lines.push(
          `2 123 eni-1 ${b2} ${a2} 443 ${32768 + (j % 20000)} 6 2 200 ${t} ${t + 60} ACCEPT OK`,
        )
      }
    }
    const out = await agree(write(lines.join('\n') + '\n'), { format: 'aws-vpc', strict: false })
    expect(out.summaries[0]?.stats.notes['paired-directions']).toBeGreaterThan(10_000)
  }, 60_000)

  it('Zeek ICMP whose first message was a reply (orig_p 0, resp_p 8): server-to-client on both paths', async () => {
    const header = [
      '#separator \\x09',
      '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tconn_state\torig_pkts\tresp_pkts',
      '#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tcount\tcount',
    ]
    const rows = [
      // capture started mid-ping: Zeek's orig is the pinged host, which sent the echo reply
      '1793577600.0\tC1\t10.0.1.10\t0\t10.0.9.10\t8\ticmp\tOTH\t3\t0',
      '1793577601.0\tC2\t2001:db8::10\t129\t2001:db8::9\t128\ticmp\tOTH\t1\t0',
      '1793577602.0\tC3\t10.0.9.10\t8\t10.0.1.10\t0\ticmp\tOTH\t1\t1',
    ]
    const out = await agree(write(`${[...header, ...rows].join('\n')}\n`), {
      format: 'zeek',
      strict: false,
    })
    expect(out.flows.map((f) => [f.src, f.dstPort, f.direction])).toEqual([
      ['10.0.1.10', 0, 'server-to-client'],
      ['2001:db8::10', 129, 'server-to-client'],
      ['10.0.9.10', 8, 'client-to-server'],
    ])
  })

  it("AWS halves: one half's TCP flags beat the other's ports whichever comes first (both paths)", async () => {
    const head =
      'version srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags flow-direction'
    const rst = '5 10.0.0.2 10.0.0.1 40000 53 6 1 40 1700000000 1700000060 ACCEPT OK 4 egress'
    const syn = '5 10.0.0.1 10.0.0.2 53 40000 6 1 44 1700000000 1700000060 ACCEPT OK 2 ingress'
    for (const lines of [
      [rst, syn],
      [syn, rst],
    ]) {
      const out = await agree(write(`${[head, ...lines].join('\n')}\n`), {
        format: 'aws-vpc',
        strict: false,
      })
      expect(out.flows.map((f) => [f.src, f.srcPort, f.dstPort, f.direction, f.packets])).toEqual([
        ['10.0.0.1', 53, 40000, 'client-to-server', 2],
      ])
    }
  })

  it('Zeek TCP attempts nobody answered are rejected unless payload went; UDP stays unknown (both paths)', async () => {
    const header = [
      '#separator \\x09',
      '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tconn_state\torig_bytes\tresp_bytes\torig_pkts\tresp_pkts',
      '#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tcount\tcount\tcount\tcount',
    ]
    const rows = [
      // three SYNs, no reply (history S): a firewall dropped them, or nothing is there
      '1793577600.0\tC1\t10.0.1.10\t40001\t10.0.9.10\t5432\ttcp\tS0\t0\t0\t3\t0',
      // SYN then FIN, no SYN-ACK; SYN then RST, no SYN-ACK; unset payload counts
      '1793577601.0\tC2\t10.0.1.10\t40002\t10.0.9.10\t5432\ttcp\tSH\t0\t0\t2\t0',
      '1793577602.0\tC3\t10.0.1.10\t40003\t10.0.9.10\t5432\ttcp\tRSTOS0\t-\t-\t2\t0',
      // the originator sent payload: the handshake happened where the capture could not see it
      '1793577603.0\tC4\t10.0.1.10\t40004\t10.0.9.10\t5432\ttcp\tS0\t512\t0\t6\t0',
      // one-way UDP (syslog) twice: nothing to conclude
      '1793577604.0\tC5\t10.0.1.10\t40005\t10.0.9.20\t514\tudp\tS0\t120\t0\t1\t0',
      '1793577605.0\tC6\t10.0.1.10\t40006\t10.0.9.20\t514\tudp\tS0\t0\t0\t1\t0',
      // the responder sent a packet (history Fa, as in Zeek's core.tunnels.teredo baseline: the
      // tail of a connection whose start the capture missed): answered, no attempt; likewise RSTOS0
      '1793577606.0\tC7\t10.0.1.10\t40007\t10.0.9.10\t80\ttcp\tSH\t0\t0\t1\t1',
      '1793577607.0\tC8\t10.0.1.10\t40008\t10.0.9.10\t80\ttcp\tRSTOS0\t0\t0\t1\t2',
    ]
    const out = await agree(write(`${[...header, ...rows].join('\n')}\n`), {
      format: 'zeek',
      strict: false,
    })
    expect(out.flows.map((f) => f.observedAction)).toEqual([
      'reject',
      'reject',
      'reject',
      'unknown',
      'unknown',
      'unknown',
      'unknown',
      'unknown',
    ])
    expect(out.summaries[0]?.stats.notes['unanswered-attempt']).toBe(6)
  })

  it('Zeek TSV without packet or byte columns (a zeek-cut subset): 0, noted counters-not-logged on both paths', async () => {
    const header = [
      '#separator \\x09',
      '#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tconn_state\tduration\torig_pkts\tresp_pkts',
      '#types\ttime\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount',
    ]
    // `zeek-cut -c ts id.orig_h … orig_pkts resp_pkts`: packets logged, bytes not
    const rows = ['1258531221.486539\t192.168.1.102\t68\t192.168.1.1\t67\tudp\tSF\t0.163820\t1\t1']
    const noBytes = await agree(write(`${[...header, ...rows].join('\n')}\n`), {
      format: 'zeek',
      strict: false,
    })
    expect(noBytes.flows.map((f) => [f.packets, f.bytes])).toEqual([[2, 0]])
    expect(noBytes.summaries[0]?.stats.notes['counters-not-logged']).toBe(1)
    // no counter column at all; and a full record whose byte counts are all unset (`-`)
    const bare = [
      '#separator \\x09',
      '#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tconn_state',
      '#types\ttime\taddr\tport\taddr\tport\tenum\tstring',
      '1258531221.486539\t192.168.1.102\t68\t192.168.1.1\t67\tudp\tSF',
      ...HEADER_FULL,
      '1258531222.0\t10.0.0.1\t40000\t10.0.0.2\t443\ttcp\tSF\t4\t-\t-\t3\t-\t-',
      '1258531223.0\t10.0.0.1\t40001\t10.0.0.2\t443\ttcp\tSF\t4\t100\t300\t3\t60\t400',
    ]
    const out = await agree(write(`${bare.join('\n')}\n`), { format: 'zeek', strict: false })
    expect(out.flows.map((f) => [f.packets, f.bytes])).toEqual([
      [0, 0],
      [7, 0],
      [7, 700],
    ])
    expect(out.summaries[0]?.stats.notes['counters-not-logged']).toBe(2)
  })

  it('Zeek TSV end is ts + duration rounded once, on both paths', async () => {
    const header = [
      '#separator \\x09',
      '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\tconn_state',
      '#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tinterval\tstring',
    ]
    const rows = ['1800000000.100400\tC1\t10.0.0.5\t40000\t10.0.0.80\t80\ttcp\t0.002300\tSF']
    const out = await agree(write(`${[...header, ...rows].join('\n')}\n`), {
      format: 'zeek',
      strict: false,
    })
    expect(out.flows.map((f) => [f.start, f.end])).toEqual([[1800000000100, 1800000000103]])
  })

  it('Zeek TSV end past year 9999 is bad-duration on both paths, not clamped (s44 QA hostile F9)', async () => {
    const header = [
      '#separator \\x09',
      '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\tconn_state',
      '#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tinterval\tstring',
    ]
    const row = (d: string): string =>
      `1800000000.100400\tC1\t10.0.0.5\t40000\t10.0.0.80\t80\ttcp\t${d}\tSF`
    // 1e15 s (the exponent form), the same in digits (the byte reader's), and one that ends in 9999
    const rows = [row('1e15'), row('1000000000000000.0'), row('250000000000.0'), row('1.0')]
    const out = await agree(write(`${[...header, ...rows].join('\n')}\n`), {
      format: 'zeek',
      strict: false,
    })
    expect(out.flows.map((f) => [f.source.line, f.end])).toEqual([
      [6, 251800000000100],
      [7, 1800000001100],
    ])
    expect(out.summaries[0]?.stats.skipped).toEqual({ 'bad-duration': 2 })
  })

  it('Zeek TSV tokens at the edge of what the byte reader splits and reads: as the line reader reads them', async () => {
    const header = [
      '#separator \\x09',
      '#unset_field\t-',
      '#empty_field\t(empty)',
      '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\torig_bytes\tresp_bytes\tconn_state\torig_pkts\tresp_pkts',
      '#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tinterval\tcount\tcount\tstring\tcount\tcount',
    ]
    const plain = '1800000000.100400 C1 10.0.0.5 40000 10.0.0.80 80 tcp 0.002300 100 200 SF 3 4'
    const row = (over: Record<number, string>): string =>
      plain
        .split(' ')
        .map((v, i) => over[i] ?? v)
        .join('\t')
    const rows = [
      row({}),
      row({ 1: 'C\u0001x' }), // a control character in a column the split passes over
      row({ 1: 'C\u000bx' }),
      row({ 8: '1\u00002' }), // and in one it reads
      row({ 0: '1800000000.' }),
      row({ 0: '.5' }),
      row({ 0: '1800000000.1.2' }),
      row({ 0: '18000000001004001' }), // 17 digits
      row({ 7: '9999999999999999' }), // 16 digits beyond 2^53
      row({ 7: '1234.567890123456' }),
      row({ 7: '1234.5678901234567' }),
      row({ 7: '(empty)' }),
      row({ 7: '-' }),
      row({ 2: '010.0.0.5' }),
      row({ 2: '10.0.0.256' }),
      row({ 2: '10.0.0' }),
      row({ 4: '10.0.0.1234' }),
      row({ 8: '123456789012345' }), // 15 digits
      row({ 8: '1234567890123456' }), // 16
      row({ 8: '1e3' }),
      row({ 8: '' }),
      row({ 9: '-' }),
      row({ 12: '4\u0001' }),
      `${row({})}\t`,
    ]
    const out = await agree(write(`${[...header, ...rows].join('\n')}\n`), {
      format: 'zeek',
      strict: false,
    })
    expect(out.flows.length).toBeGreaterThan(5)
  })

  it('Zeek TSV whose unset or empty marker is a proto or conn_state word: as the line reader reads it', async () => {
    // the byte reader looks for `tcp` and the states before the markers; markers spelled as
    // those words send the section to the line reader, which reads them as unset or empty
    const section = (unset: string, empty: string): string[] => [
      '#separator \\x09',
      `#unset_field\t${unset}`,
      `#empty_field\t${empty}`,
      '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tconn_state\torig_pkts\tresp_pkts',
      '#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tcount\tcount',
      '1800000000.1\tC1\t10.0.0.5\t40000\t10.0.0.80\t80\ttcp\tSF\t3\t4',
      '1800000000.2\tC2\t10.0.0.5\t40001\t10.0.0.80\t53\tudp\tS0\t1\t0',
      '1800000000.3\tC3\t10.0.0.5\t40002\t10.0.0.80\t80\ttcp\tREJ\t1\t1',
    ]
    const text = [
      ...section('-', 'SF'),
      ...section('tcp', '(empty)'),
      ...section('S0', 'udp'),
      ...section('-', '(empty)'),
    ].join('\n')
    const out = await agree(write(`${text}\n`), { format: 'zeek', strict: false })
    // the last section's three records are read whatever the markers of the others
    expect(out.flows.length).toBeGreaterThanOrEqual(3)
  })

  it('Zeek TSV conn.log, with damaged lines', async () => {
    const file = path.join(dir, 'conn.log')
    writeZeekConnLog(file, 3000, 7)
    const lines = readFileSync(file, 'utf8').split('\n')
    lines.splice(100, 0, 'not\ta\tzeek\tline', '')
    lines.splice(2000, 1, (lines[2000] ?? '').replace(/\t/g, ' '))
    const out = await agree(write(lines.join('\n')), { format: 'zeek', strict: false })
    expect(out.flows.length).toBeGreaterThan(2900)
    await agree(write(gzipSync(lines.join('\n')), '.gz'), { format: 'auto', strict: false })
  }, 60_000)
})

// ---------------------------------------------------------------------------------------------
// Zeek TSV generation: what the byte reader reads itself and what it hands to the line reader

const ZEEK_FIELDS = [
  'ts',
  'uid',
  'id.orig_h',
  'id.orig_p',
  'id.resp_h',
  'id.resp_p',
  'proto',
  'service',
  'duration',
  'orig_bytes',
  'resp_bytes',
  'conn_state',
  'local_orig',
  'missed_bytes',
  'history',
  'orig_pkts',
  'orig_ip_bytes',
  'resp_pkts',
  'resp_ip_bytes',
  'tunnel_parents',
  'ip_proto',
] as const
type ZeekField = (typeof ZEEK_FIELDS)[number]

const zAddr = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.constantFrom(
      '10.0.0.1',
      '10.0.0.2',
      '192.168.100.200',
      '151.101.200.13',
      '0.0.0.0',
    ),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '2001:db8::1',
      '2001:DB8:0:0::2',
      'fe80::a00:27ff:fe2c:1',
      '::ffff:10.0.0.1',
      '::',
      '::1',
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '010.0.0.1',
      '256.1.1.1',
      '1.2.3',
      '-',
      '(empty)',
      'x',
      'fe80::1%eth0',
      '2001:db8::g',
      ':::',
      '10.0.0.1é',
    ),
  },
)
const zPort = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom('443', '80', '22', '53', '0', '8', '3', '128', '135') },
  { weight: 6, arbitrary: fc.integer({ min: 1024, max: 65535 }).map(String) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '-',
      '(empty)',
      '',
      '65536',
      '0443',
      '256',
      'abc',
      '1234567890123456',
    ),
  },
)
const zCount = fc.oneof(
  { weight: 40, arbitrary: fc.nat(1_000_000).map(String) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '-',
      '(empty)',
      '',
      '999999999999999',
      '1234567890123456',
      '12345678901234567890',
      '-5',
      '1e3',
      '007',
    ),
  },
)
const zSeconds = fc.oneof(
  {
    weight: 10,
    arbitrary: fc
      .tuple(fc.integer({ min: 1_300_000_000, max: 1_900_000_000 }), fc.nat(999_999))
      .map(([s, us]) => `${s}.${String(us).padStart(6, '0')}`),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'XXXXXXXXXX.XXXXXX',
      'XXXXXXXXXX',
      '-',
      '(empty)',
      '1790000000',
      '1790000000.1235',
      '1790000000.0005',
      '0.0005',
      '253402300799.9994',
      '253402300799.9996',
      '253402300800',
      '1.5e9',
      '1790000000.',
      '.5',
      '1.2.3',
      '12345678901234567.5',
      'X.',
      'now',
    ),
  },
)
const zDuration = fc.oneof(
  { weight: 10, arbitrary: fc.nat(10_000_000).map((n) => (n / 1e6).toFixed(6)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('-', '(empty)', '0', '3.5', '1e2', '-1', '0.0004999', '1.', 'x'),
  },
)

interface ZRec {
  ts: string
  src: string
  dst: string
  sp: string
  dp: string
  proto: string
  ipProto: string
  dur: string
  ob: string
  rb: string
  op: string
  rp: string
  oib: string
  rib: string
  state: string
  tunnel: string
}

const zRecArb: fc.Arbitrary<ZRec> = fc.record({
  ts: zSeconds,
  src: zAddr,
  dst: zAddr,
  sp: zPort,
  dp: zPort,
  proto: fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom('tcp', 'udp', 'icmp') },
    { weight: 1, arbitrary: fc.constantFrom('TCP', 'unknown_transport', '-', '(empty)', 'sctp') },
  ),
  ipProto: fc.oneof(
    { weight: 6, arbitrary: fc.constant('-') },
    { weight: 2, arbitrary: fc.constantFrom('6', '17', '1', '58', '132', '47') },
    { weight: 1, arbitrary: fc.constantFrom('300', '(empty)', 'x') },
  ),
  dur: zDuration,
  ob: zCount,
  rb: zCount,
  op: zCount,
  rp: zCount,
  oib: zCount,
  rib: zCount,
  state: fc.oneof(
    {
      weight: 10,
      arbitrary: fc.constantFrom(
        'SF',
        'S0',
        'S1',
        'S2',
        'S3',
        'REJ',
        'RSTO',
        'RSTR',
        'RSTOS0',
        'RSTRH',
        'SH',
        'SHR',
        'OTH',
      ),
    },
    { weight: 1, arbitrary: fc.constantFrom('-', '(empty)', 'sf', 'oth', 'XYZ', '') },
  ),
  tunnel: fc.oneof(
    { weight: 8, arbitrary: fc.constant('(empty)') },
    { weight: 1, arbitrary: fc.constantFrom('-', 'CHhAvVGS1DHFjwGM9', 'Ca,Cb', '') },
  ),
})

function zValue(r: ZRec, name: ZeekField, i: number): string {
  switch (name) {
    case 'ts':
      return r.ts
    case 'uid':
      return `C${i.toString(36)}x`
    case 'id.orig_h':
      return r.src
    case 'id.orig_p':
      return r.sp
    case 'id.resp_h':
      return r.dst
    case 'id.resp_p':
      return r.dp
    case 'proto':
      return r.proto
    case 'service':
      return i % 3 === 0 ? 'ssl' : '-'
    case 'duration':
      return r.dur
    case 'orig_bytes':
      return r.ob
    case 'resp_bytes':
      return r.rb
    case 'conn_state':
      return r.state
    case 'local_orig':
      return 'T'
    case 'missed_bytes':
      return '0'
    case 'history':
      return 'ShADadFf'
    case 'orig_pkts':
      return r.op
    case 'orig_ip_bytes':
      return r.oib
    case 'resp_pkts':
      return r.rp
    case 'resp_ip_bytes':
      return r.rib
    case 'tunnel_parents':
      return r.tunnel
    case 'ip_proto':
      return r.ipProto
  }
}

/** Byte-level damage to a Zeek TSV line. */
const zDamage = fc.constantFrom(
  (l: string) => l.replace('\t', '\t\t'),
  (l: string) => l.replace('\t', ' '),
  (l: string) => l.replace(/\t/g, ' '),
  (l: string) => `${l}\r`,
  (l: string) => `${l}\t`,
  (l: string) => `\t${l}`,
  (l: string) => l.split('\t').slice(1).join('\t'),
  (l: string) => l.replace(/\tT\t/, '\tTé\u00a0\ufffd\u0001\t'),
  (l: string) => `#${l}`,
  (l: string) => `{${l}`,
  () => '',
  () => '\t\t \t',
  () => 'not\ta\tzeek\tline',
  () => '## banner',
)

interface ZSegment {
  /** How the section opens: full `#` header, a plain column header, a `#` header with other markers, or nothing. */
  head: 'fields' | 'plain' | 'markers' | 'other-path' | 'separator' | 'none'
  columns: ZeekField[]
  items: { rec: ZRec; damage: ((l: string) => string) | undefined }[]
}

const zColumnsArb: fc.Arbitrary<ZeekField[]> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<ZeekField[]>([...ZEEK_FIELDS]) },
  { weight: 2, arbitrary: fc.shuffledSubarray<ZeekField>([...ZEEK_FIELDS], { minLength: 1 }) },
  {
    // every column the reader needs, in another order
    weight: 2,
    arbitrary: fc
      .shuffledSubarray<ZeekField>([...ZEEK_FIELDS], { minLength: 0 })
      .map((c) => [...new Set<ZeekField>([...c, 'id.orig_h', 'id.resp_h', 'proto', 'id.resp_p'])]),
  },
)

const zSegmentArb: fc.Arbitrary<ZSegment> = fc.record({
  head: fc.oneof(
    { weight: 8, arbitrary: fc.constant<ZSegment['head']>('fields') },
    {
      weight: 1,
      arbitrary: fc.constantFrom<ZSegment['head']>(
        'plain',
        'markers',
        'other-path',
        'separator',
        'none',
      ),
    },
  ),
  columns: zColumnsArb,
  items: fc.array(
    fc.record({
      rec: zRecArb,
      damage: fc.oneof(
        { weight: 8, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: zDamage },
      ),
    }),
    { maxLength: 40 },
  ),
})

/** A Zeek TSV file from segments; `banner` puts BTest `##` lines first. */
function zeekText(segs: readonly ZSegment[], banner: boolean, finalNewline: boolean): string {
  const lines: string[] = banner ? ['### BTest baseline data generated by btest-diff.', '##'] : []
  let markers = { unset: '-', empty: '(empty)', sep: '\t' }
  segs.forEach((seg, s) => {
    const cols = seg.columns
    if (seg.head === 'plain') {
      lines.push(cols.join('\t'))
      markers = { unset: '-', empty: '(empty)', sep: '\t' }
    } else if (seg.head !== 'none') {
      markers =
        seg.head === 'markers'
          ? { unset: '?', empty: 'EMPTY', sep: '\t' }
          : seg.head === 'separator'
            ? { unset: '-', empty: '(empty)', sep: ',' }
            : { unset: '-', empty: '(empty)', sep: '\t' }
      const sx = markers.sep === '\t' ? '\\x09' : '\\x2c'
      const sep = markers.sep
      lines.push(
        `#separator ${sx}`,
        `#set_separator${sep},`,
        `#empty_field${sep}${markers.empty}`,
        `#unset_field${sep}${markers.unset}`,
        `#path${sep}${seg.head === 'other-path' ? 'dns' : 'conn'}`,
        `#open${sep}2026-11-01-00-00-00`,
        `#fields${sep}${cols.join(sep)}`,
        `#types${sep}${cols.map(() => 'string').join(sep)}`,
      )
    }
    seg.items.forEach((it, i) => {
      const text = cols
        .map((c) => {
          const v = zValue(it.rec, c, s * 1000 + i)
          return v === '-' ? markers.unset : v === '(empty)' ? markers.empty : v
        })
        .join(markers.sep)
      lines.push(it.damage ? it.damage(text) : text)
      // a repeated header now and then
      if (i === 7 && seg.head === 'plain') lines.push(cols.join('\t'))
    })
    if (seg.head !== 'plain' && seg.head !== 'none') lines.push('#close\t2026-11-02-00-00-00')
  })
  return lines.join('\n') + (finalNewline ? '\n' : '')
}

const zeekFileArb = fc.record({
  segments: fc.array(zSegmentArb, { minLength: 1, maxLength: 3 }),
  banner: fc.boolean(),
  finalNewline: fc.boolean(),
})

/**
 * Reads `bytes` (whole lines, as one block) with a {@link ZeekColumnReader}: rows it read from
 * bytes itself (`fast`), lines it handed to its line reader (`handed`) and the flows those gave.
 */
function byteSplit(bytes: Buffer): {
  fast: number
  handed: number
  handedFlows: number
  out: FlowColumns
  stats: ReturnType<typeof newStats>
} {
  const table = new StringTable()
  const stats = newStats()
  const reader = new ZeekColumnReader({ file: 'c.log', strict: false, stats }, table, 1 << 20)
  let handed = 0
  let handedFlows = 0
  const line = reader.lines.line.bind(reader.lines)
  reader.lines.line = (raw, n) => {
    handed++
    const f = line(raw, n)
    if (f !== undefined) handedFlows++
    return f
  }
  const out = new FlowColumns('zeek', 'c.log', table, 16)
  const end = bytes.lastIndexOf(10) + 1
  const last = reader.block(bytes.subarray(0, end), 0, out)
  if (end < bytes.length) reader.text(bytes.toString('utf8', end), last + 1, out)
  // the rows' notes count when reading gives them out (read.ts), as here
  countRowNotes(stats, out)
  return { fast: out.n - handedFlows, handed, handedFlows, out, stats }
}

describe('Zeek TSV: the byte reader equals the line reader (fast-check, fixed seed)', () => {
  it('generated files: #fields orders and subsets, plain headers, markers, IPv6, `-` fields, damage', async () => {
    let flows = 0
    let mixed = 0
    const split = { fast: 0, handed: 0, handedFlows: 0 }
    await fc.assert(
      fc.asyncProperty(zeekFileArb, async (f) => {
        const file = write(zeekText(f.segments, f.banner, f.finalNewline))
        const out = await agree(file, { format: 'zeek', strict: false })
        flows += out.flows.length
        // only records with an IPv4 and an IPv6 end (worked out apart from the reader) are
        // skipped as mixed-address-families, some of them first for another reason
        const skipped = out.summaries[0]?.stats.skipped['mixed-address-families'] ?? 0
        const twoFamilies = f.segments
          .flatMap((seg) => seg.items)
          .filter((it) => ofTwoFamilies(it.rec.src, it.rec.dst)).length
        expect(skipped).toBeLessThanOrEqual(twoFamilies)
        mixed += skipped
        const b = byteSplit(readFileSync(file))
        split.fast += b.fast
        split.handed += b.handed
        split.handedFlows += b.handedFlows
      }),
      { seed: SEED, numRuns: 150 },
    )
    // the generator makes mostly good records: the comparison is not over empty outputs
    // both sides of the byte reader are exercised: rows it read itself, and lines it handed over.
    // About a third of the generated records have an IPv4 and an IPv6 end (zAddr draws each end
    // alone), which are skipped, and the byte reader hands their lines to the line reader: with
    // the fixed seed 345 flows, 127 such skips, 195 rows read from bytes
    expect(flows).toBeGreaterThan(300)
    expect(mixed).toBeGreaterThan(50)
    expect(split.fast).toBeGreaterThan(150)
    expect(split.handedFlows).toBeGreaterThan(50)
    expect(split.handed).toBeGreaterThan(1000)
  }, 120_000)

  it('the same files gzipped and read with format auto, and in strict mode', async () => {
    await fc.assert(
      fc.asyncProperty(zeekFileArb, async (f) => {
        const text = zeekText(f.segments, f.banner, f.finalNewline)
        await agree(write(gzipSync(text), '.log.gz'), { format: 'auto', strict: false })
        await agree(write(text), { format: 'zeek', strict: true })
      }),
      { seed: SEED, numRuns: 40 },
    )
  }, 120_000)

  it('long lines (a small maxLineBytes): same skips, in the same order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(zRecArb, fc.nat(200)), { minLength: 1, maxLength: 60 }),
        async (items) => {
          const seg: ZSegment = { head: 'fields', columns: [...ZEEK_FIELDS], items: [] }
          const head = zeekText([seg], false, true)
          const body = items.map(([rec, pad], i) =>
            ZEEK_FIELDS.map((c) =>
              c === 'history' ? `Sh${'é'.repeat(pad % 7)}${'a'.repeat(pad)}` : zValue(rec, c, i),
            ).join('\t'),
          )
          const file = write(head + body.join('\n'))
          await agree(file, { format: 'zeek', strict: false, maxLineBytes: 300 })
        },
      ),
      { seed: SEED, numRuns: 40 },
    )
  }, 60_000)

  it('reads the data lines of a plain conn.log from bytes: the line reader sees only the header lines', () => {
    const text = zeekText(
      [
        {
          head: 'fields',
          columns: [...ZEEK_FIELDS],
          items: Array.from({ length: 500 }, (_, i) => ({
            rec: {
              ts: `${1_790_000_000 + i}.${String(i * 1237).padStart(6, '0')}`,
              src: i % 5 === 0 ? '2001:db8::1' : `10.0.${i % 7}.${i % 250}`,
              // an IPv6 source with an IPv6 destination: one of each is skipped (line reader)
              dst: i % 5 === 0 ? '2001:db8::d' : '151.101.200.13',
              sp: i % 9 === 0 ? '8' : String(40_000 + i),
              dp: i % 9 === 0 ? '0' : '443',
              proto: i % 9 === 0 ? 'icmp' : i % 2 === 0 ? 'tcp' : 'udp',
              ipProto: '-',
              dur: (i / 1000).toFixed(6),
              ob: String(i),
              rb: '-',
              op: String(i % 10),
              rp: '(empty)',
              oib: String(i * 40),
              rib: '0',
              state: ['SF', 'S0', 'REJ', 'OTH', 'RSTO', '-'][i % 6] as string,
              tunnel: i % 11 === 0 ? 'CabC' : '(empty)',
            },
            damage: undefined,
          })),
        },
      ],
      true,
      true,
    )
    const { handed, out, stats } = byteSplit(Buffer.from(text))
    // 2 banner lines, 8 header lines, #close
    expect(handed).toBe(11)
    expect(out.n).toBe(500)
    expect(stats.records).toBe(500)
    expect(stats.notes['unanswered-attempt']).toBe(84)
    expect(stats.notes['tunnelled']).toBe(46)
    // spot checks against the record as written
    const f = out.flowAt(9) // icmp echo request: type 8 → dstPort, code 0
    expect(f).toMatchObject({
      src: '10.0.2.9',
      dst: '151.101.200.13',
      protocol: 1,
      srcPort: 0,
      dstPort: 8,
    })
    expect(f.start).toBe(1_790_000_009_011)
    const g = out.flowAt(10) // IPv6 source, tcp
    expect(g).toMatchObject({ src: '2001:db8::1', protocol: 6, srcPort: 40_010, dstPort: 443 })
    expect(g).toMatchObject({ packets: 0, bytes: 400 + 0, observedAction: 'accept' })
    expect(out.flowAt(3).direction).toBe('unknown') // OTH
  })
})

describe.skipIf(CORPUS_SKIP !== undefined)(corpusTitle('Zeek corpus through both paths'), () => {
  it('every real conn.log gives the same flows and summaries', async () => {
    const files = readdirSync(ZEEK_CORPUS).filter((f) => f.endsWith('.conn.log'))
    expect(files.length).toBeGreaterThan(0)
    for (const f of files) await agree(path.join(ZEEK_CORPUS, f), { format: 'zeek', strict: false })
  }, 120_000)
})

/** `flows` paired by DirectionPairer and by ColumnPairer, with the pair counts of each. */
function pairBothWays(
  flows: readonly Flow[],
  window: number,
): {
  objects: Flow[]
  columns: Flow[]
  pairedObjects: number
  pairedColumns: number
  rejectedObjects: number
  rejectedColumns: number
  /** The unpaired-half mark of each output flow (`DirectionPairer.halfOf`, `FlowColumns.half`). */
  halvesObjects: number[]
  halvesColumns: number[]
  /** The notes each output flow carries (types.ts `FLOW_NOTES`, `FlowColumns.notes`), none: []. */
  notesObjects: (readonly string[])[]
  notesColumns: (readonly string[])[]
} {
  const objects = new DirectionPairer({ window })
  const expected: Flow[] = []
  for (const f of flows) objects.push(f, expected)
  objects.flush(expected)
  const table = new StringTable()
  const inp = new FlowColumns('aws-vpc', 't.log', table, 16)
  for (const f of flows) inp.pushFlow(f)
  const out = new FlowColumns('aws-vpc', 't.log', table, 16)
  const pairer = new ColumnPairer('aws-vpc', 't.log', table, { window })
  for (let i = 0; i < inp.n; i++) pairer.push(inp, i, out)
  pairer.flush(out)
  // the flows compared without their notes, which are compared apart
  const bare = (f: Flow): Flow => {
    const g = { ...f }
    Reflect.deleteProperty(g, FLOW_NOTES)
    return g
  }
  return {
    objects: expected.map(bare),
    columns: out.toFlows(),
    notesObjects: expected.map((f) => flowNotesOf(f) ?? []),
    notesColumns: Array.from(out.notes.subarray(0, out.n), (c) => table.notesOf(c)),
    pairedObjects: objects.paired,
    pairedColumns: pairer.paired,
    rejectedObjects: objects.rejectedAtOtherEnd,
    rejectedColumns: pairer.rejectedAtOtherEnd,
    halvesObjects: expected.map((f) => objects.halfOf(f)),
    halvesColumns: Array.from(out.half.subarray(0, out.n)),
  }
}

describe('ColumnPairer equals DirectionPairer', () => {
  const flowArb = fc.record({
    src: fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.3', '2001:db8::1'),
    dst: fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.3', '2001:db8::1'),
    srcPort: fc.constantFrom(0, 443, 22, 40000, 50000, 8080),
    dstPort: fc.constantFrom(0, 443, 22, 40000, 50000, 8080),
    protocol: fc.constantFrom(6, 17, 1, 58, 47),
    start: fc.nat(200_000),
    dur: fc.nat(100_000),
    packets: fc.nat(10),
    bytes: fc.nat(1000),
    observedAction: fc.constantFrom<'accept' | 'reject' | 'unknown'>('accept', 'reject', 'unknown'),
    direction: fc.constantFrom('unknown', 'unknown', 'client-to-server', 'server-to-client'),
    tcpFlags: fc.option(fc.constantFrom<number>(2, 18, 26, 16, 3), { nil: undefined }),
    // a reply's own flags (a closed port's RST+ACK, a bare RST), else the record's
    replyFlags: fc.option(fc.constantFrom<number>(20, 4, 22), { nil: undefined }),
    srcName: fc.option(fc.constantFrom('web', 'db'), { nil: undefined }),
    dstName: fc.option(fc.constantFrom('web', 'db'), { nil: undefined }),
  })

  it('same output, order, pair count and rejected-at-other-end count for any window (fixed seed)', () => {
    let pairedTotal = 0
    let rejectedTotal = 0
    let refusedTotal = 0
    const other = { accept: 'reject', reject: 'accept', unknown: 'unknown' } as const
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            flowArb,
            fc.constantFrom('reply', 'reply', 'twin', 'run', 'cut', 'none'),
            fc.nat(12),
          ),
          {
            maxLength: 60,
          },
        ),
        fc.integer({ min: 1, max: 8 }),
        (gen, window) => {
          // each record, and often a few records later its reply (ends swapped) or its twin
          // logged at the other end with the other action, or (a run) the same direction again
          // with the same action, then its twin (DirectionPairer's runs), or (a cut) the same
          // direction again, its reply, which pairs with it and leaves the run held, then the
          // first record's reply (odd delays) and its twin
          const order: [number, (typeof gen)[number][0]][] = []
          gen.forEach(([r, then, delay], i) => {
            order.push([i, r])
            if (then === 'reply')
              order.push([
                i + delay + 0.5,
                {
                  ...r,
                  src: r.dst,
                  dst: r.src,
                  srcPort: r.dstPort,
                  dstPort: r.srcPort,
                  tcpFlags: r.replyFlags ?? r.tcpFlags,
                },
              ])
            else if (then === 'twin')
              order.push([i + delay + 0.5, { ...r, observedAction: other[r.observedAction] }])
            else if (then === 'run') {
              order.push([i + delay / 2 + 0.25, { ...r, start: r.start + 10_000 * delay }])
              order.push([i + delay + 0.5, { ...r, observedAction: other[r.observedAction] }])
            } else if (then === 'cut') {
              const again = { ...r, start: r.start + 1000 }
              order.push([i + delay / 3 + 0.1, again])
              order.push([
                i + delay / 2 + 0.2,
                { ...again, src: r.dst, dst: r.src, srcPort: r.dstPort, dstPort: r.srcPort },
              ])
              // and with an odd delay the first record's reply, which pairs with nothing held
              if (delay % 2 === 1)
                order.push([
                  i + (3 * delay) / 4 + 0.3,
                  { ...r, src: r.dst, dst: r.src, srcPort: r.dstPort, dstPort: r.srcPort },
                ])
              order.push([i + delay + 0.5, { ...r, observedAction: other[r.observedAction] }])
            }
          })
          order.sort((a, b) => a[0] - b[0])
          const raw = order.map((o) => o[1])
          const flows: Flow[] = raw.map((r, i) => {
            const f: { -readonly [K in keyof Flow]: Flow[K] } = {
              src: r.src,
              dst: r.dst,
              srcPort: r.srcPort,
              dstPort: r.dstPort,
              protocol: r.protocol,
              start: r.start,
              end: r.start + r.dur,
              packets: r.packets,
              bytes: r.bytes,
              observedAction: r.observedAction,
              direction: r.direction,
              source: { format: 'aws-vpc', file: 't.log', line: i + 1 },
            }
            if (r.tcpFlags !== undefined) f.tcpFlags = r.tcpFlags
            if (r.srcName !== undefined) f.srcName = r.srcName
            if (r.dstName !== undefined) f.dstName = r.dstName
            return f
          })
          const both = pairBothWays(flows, window)
          // reading orients what pairing left without a direction once more (read.ts `finish`)
          expect(both.columns).toStrictEqual(
            both.objects.map((f) => (f.direction === 'unknown' ? orient(f) : f)),
          )
          expect(both.pairedColumns).toBe(both.pairedObjects)
          expect(both.rejectedColumns).toBe(both.rejectedObjects)
          // the pairs and settled records ride on the flows given out as notes, one each
          expect(both.notesColumns).toEqual(both.notesObjects)
          const count = (n: string): number =>
            both.notesObjects.flat().filter((x) => x === n).length
          expect(count('paired-directions')).toBe(both.pairedObjects)
          expect(count('rejected-at-other-end')).toBe(both.rejectedObjects)
          refusedTotal += count('refused-by-reset')
          // every record that found no partner is marked a half (HALF_UNPAIRED), a merged pair
          // is not, and a half marked HALF_SWAPPED turned round again is its record's ends
          expect(both.halvesColumns).toEqual(both.halvesObjects)
          expect(both.halvesObjects.filter((h) => h !== 0)).toHaveLength(
            flows.length - 2 * both.pairedObjects,
          )
          const ends = new Set(
            flows.map(
              (f) =>
                `${f.src}|${String(f.srcPort)}|${f.dst}|${String(f.dstPort)}|${String(f.source.line)}`,
            ),
          )
          both.objects.forEach((f, i) => {
            const h = both.halvesObjects[i] as number
            // HALF_SETTLED: a record read reject because the other end rejected it
            const u = HALF_UNPAIRED
            expect([
              0,
              u,
              u | HALF_SWAPPED,
              u | HALF_SETTLED,
              u | HALF_SWAPPED | HALF_SETTLED,
            ]).toContain(h)
            if (h === 0) return
            const swapped = (h & HALF_SWAPPED) !== 0
            const record = swapped
              ? `${f.dst}|${String(f.dstPort)}|${f.src}|${String(f.srcPort)}`
              : `${f.src}|${String(f.srcPort)}|${f.dst}|${String(f.dstPort)}`
            expect(ends.has(`${record}|${String(f.source.line)}`)).toBe(true)
          })
          pairedTotal += both.pairedObjects
          rejectedTotal += both.rejectedObjects
        },
      ),
      { seed: SEED, numRuns: 400 },
    )
    // the generator does make pairs: the property is not vacuous
    expect(pairedTotal).toBeGreaterThan(300)
    expect(rejectedTotal).toBeGreaterThan(150)
    // and refusals read from the flags of two halves no observer judged (direction.ts `merge`)
    expect(refusedTotal).toBeGreaterThan(0)
  })

  it('the counters of two paired halves are summed and held at 2^53 - 1 (a flow counter)', () => {
    const M = Number.MAX_SAFE_INTEGER
    const half = (src: string, dst: string, sp: number, dp: number, line: number): Flow => ({
      src,
      dst,
      srcPort: sp,
      dstPort: dp,
      protocol: 6,
      start: 1000,
      end: 2000,
      packets: M - 1,
      bytes: M,
      observedAction: 'accept',
      direction: 'unknown',
      source: { format: 'aws-vpc', file: 't.log', line },
    })
    const flows = [
      half('10.0.0.1', '10.0.0.2', 40000, 443, 1),
      half('10.0.0.2', '10.0.0.1', 443, 40000, 2),
    ]
    const both = pairBothWays(flows, 4)
    for (const got of [both.objects, both.columns]) {
      expect(got.map((f) => [f.packets, f.bytes])).toEqual([[M, M]])
    }
  })

  it('the files read with a run of shared strings have one string table: an address has one code in all', async () => {
    const v2 = `${V2}\n`
    const aws1 = write(
      v2 +
        '2 123456789012 eni-1 10.0.0.1 10.0.0.2 49152 443 6 10 840 1790000000 1790000060 ACCEPT OK\n' +
        '2 123456789012 eni-1 10.0.0.2 10.0.0.1 443 49152 6 8 620 1790000000 1790000060 ACCEPT OK\n',
    )
    const aws2 = write(
      v2 +
        '2 123456789012 eni-2 10.0.0.3 10.0.0.1 50000 443 6 4 300 1790000100 1790000160 REJECT OK\n' +
        '2 123456789012 eni-2 2001:db8::1 10.0.0.1 50001 443 6 4 300 1790000100 1790000160 ACCEPT OK\n',
    )
    const zeek = write(
      [
        ...HEADER_FULL,
        '1790000200.5\t10.0.0.1\t40000\t10.0.0.3\t53\tudp\tSF\t1\t40\t68\t1\t80\t108',
      ].join('\n') + '\n',
    )
    const files = [aws1, aws2, zeek]
    const objects: Flow[] = []
    const objectSummaries: FileSummary[] = []
    for await (const b of readFlowBatches(
      files,
      { format: 'auto', strict: false },
      objectSummaries,
    ))
      objects.push(...b)
    // one call a file, with one run, as `ingest` reads them: a table a file (`readRunOf`), or
    // one for all of them (`withSharedStrings`, a run of small files)
    const plain = readRunOf(files.map((file) => ({ file, format: 'auto' as const })))
    for (const run of [plain, withSharedStrings(plain)]) {
      const flows: Flow[] = []
      const summaries: FileSummary[] = []
      const tables = new Set<StringTable>()
      for (const file of files)
        for await (const b of readFlowColumns(
          [file],
          { format: 'auto', strict: false, run },
          summaries,
        )) {
          expect(b).toBeInstanceOf(FlowColumns)
          if (!(b instanceof FlowColumns)) continue
          tables.add(b.table)
          flows.push(...b.toFlows())
        }
      expect(flows).toStrictEqual(objects)
      expect(summaries).toStrictEqual(objectSummaries)
      if (run.strings === undefined) expect(tables.size).toBe(files.length)
      else {
        expect([...tables]).toStrictEqual([run.strings])
        expect(run.strings.strings.filter((t) => t === '10.0.0.1')).toHaveLength(1)
      }
    }
  })

  it('a string has one code whether it came as text or as an IPv4 number', () => {
    const t = new StringTable()
    const a = t.code('10.1.2.3')
    expect(t.ipv4(0x0a010203)).toBe(a)
    const b = t.ipv4(0xc0a80001)
    expect(t.code('192.168.0.1')).toBe(b)
    expect(t.strings[b]).toBe('192.168.0.1')
    // many addresses: the numeric map grows and keeps every code
    const codes = Array.from({ length: 20_000 }, (_, i) => t.ipv4((0x0b000000 + i * 7919) >>> 0))
    codes.forEach((c, i) => expect(t.ipv4((0x0b000000 + i * 7919) >>> 0)).toBe(c))
  })
})
