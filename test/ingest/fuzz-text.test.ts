import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { BulkheadError } from '../../src/core/index.js'
import { awsVpcParser } from '../../src/ingest/formats/aws-vpc.js'
import { azureNsgParser, azureVnetParser } from '../../src/ingest/formats/azure.js'
import { gcpVpcParser } from '../../src/ingest/formats/gcp-vpc.js'
import { CSV_COLUMN_ALIASES, csvParser } from '../../src/ingest/formats/csv.js'
import { bulkheadJsonlParser, flowToJson } from '../../src/ingest/formats/bulkhead-jsonl.js'
import { goflow2Parser } from '../../src/ingest/formats/goflow2.js'
import { flowInvariantViolation, MAX_TIME_MS } from '../../src/ingest/fields.js'
import { syntheticFlow } from '../helpers/flows.js'
import { orient, pairDirections } from '../../src/ingest/direction.js'
import type { LineParser } from '../../src/ingest/types.js'
import { expectWithinWhole } from './azure-blobs.js'
import { fixtureText, runParser } from './text-helpers.js'
import { SEED } from '../helpers/model.js'
import { PROTOTYPE_NAMES, runs } from '../helpers/fuzz.js'

// fixtures of test/fixtures/flows, and the vendor-documentation samples of test/fixtures/vendor
const CASES: [LineParser, string[]][] = [
  [
    awsVpcParser,
    [
      'aws-v2.log',
      'aws-v5.log',
      'aws-v3-repeated-header.log',
      'aws-tgw.log',
      'aws-ecs.log',
      '../vendor/aws-v3-tcpflags.log',
      '../vendor/aws-v5.log',
    ],
  ],
  [azureNsgParser, ['azure-nsg-v2.json', '../vendor/azure-nsg-v2.json']],
  [azureVnetParser, ['azure-vnet-v4.json', '../vendor/azure-vnet-v4.json']],
  // one LogEntry per line, and the pretty-printed array `gcloud logging read --format=json` writes
  [gcpVpcParser, ['gcp.jsonl', '../vendor/gcp-vpc.jsonl', '../vendor/gcp-gcloud.json']],
  [csvParser, ['flows.csv']],
  // goflow2 -format=json: the v2 and v1 layouts, and the bad-record file
  [goflow2Parser, ['goflow2-v2.jsonl', 'goflow2-v1.jsonl', 'goflow2-bad.jsonl']],
]

/** Byte-level mutations: overwrite, delete or duplicate a few bytes. */
const mutation = fc.array(
  fc.record({
    kind: fc.constantFrom('set', 'del', 'dup'),
    at: fc.nat(),
    byte: fc.constantFrom(
      0x20,
      0x2c,
      0x22,
      0x0a,
      0x2d,
      0x3a,
      0x2e,
      0x30,
      0x39,
      0x7b,
      0x7d,
      0xff,
      0x00,
      0x41,
    ),
  }),
  { minLength: 1, maxLength: 6 },
)

function mutate(text: string, muts: { kind: string; at: number; byte: number }[]): string {
  let b = Buffer.from(text)
  for (const m of muts) {
    const i = b.length === 0 ? 0 : m.at % b.length
    if (m.kind === 'set') b[i] = m.byte
    else if (m.kind === 'del') b = Buffer.concat([b.subarray(0, i), b.subarray(i + 1)])
    else b = Buffer.concat([b.subarray(0, i), Buffer.from([m.byte]), b.subarray(i)])
  }
  return b.toString('utf8')
}

async function check(parser: LineParser, text: string, strict: boolean): Promise<void> {
  try {
    const { flows } = await runParser(parser, text, { strict })
    for (const f of flows) expect(flowInvariantViolation(f), JSON.stringify(f)).toBeUndefined()
    for (const f of flows) expect(flowInvariantViolation(orient(f))).toBeUndefined()
  } catch (e) {
    if (strict && e instanceof BulkheadError) return
    throw e
  }
}

describe('text parsers under fuzzing (fixed seed)', () => {
  for (const [parser, files] of CASES) {
    it(`${parser.format}: byte mutations of the fixtures never throw and emit only valid flows`, async () => {
      for (const file of files) {
        const text = fixtureText(file)
        await fc.assert(
          fc.asyncProperty(mutation, fc.boolean(), async (muts, strict) =>
            check(parser, mutate(text, muts), strict),
          ),
          { seed: SEED, numRuns: runs(60) },
        )
      }
    })
  }

  it('bulkhead-jsonl: byte mutations of written flows never throw and emit only valid flows', async () => {
    const text = Array.from({ length: 8 }, (_, i) =>
      JSON.stringify(flowToJson(syntheticFlow(i, i % 3 === 0 ? { tcpFlags: 18 } : {}))),
    ).join('\n')
    await fc.assert(
      fc.asyncProperty(mutation, fc.boolean(), async (muts, strict) =>
        check(bulkheadJsonlParser, mutate(text, muts), strict),
      ),
      { seed: SEED, numRuns: runs(60) },
    )
  })

  it('azure: fixtures cut at any offset give flows of the whole blob only, and one truncated at most', async () => {
    for (const [parser, files] of CASES.filter(([p]) => p.format.startsWith('azure'))) {
      for (const file of files) {
        const text = fixtureText(file)
        const whole = await runParser(parser, text)
        await fc.assert(
          fc.asyncProperty(fc.nat(), fc.boolean(), async (at, strict) => {
            const cut = text.slice(0, at % (text.length + 1))
            await check(parser, cut, strict)
            if (strict) return
            const { flows, ctx } = await runParser(parser, cut)
            expectWithinWhole(flows, whole.flows)
            for (const [reason, n] of Object.entries(ctx.stats.skipped))
              if (reason === 'truncated') expect(n).toBe(1)
              else expect(n).toBeLessThanOrEqual(whole.ctx.stats.skipped[reason] ?? 0)
          }),
          { seed: SEED, numRuns: runs(200) },
        )
      }
    }
  })

  const token = fc.oneof(
    fc.constantFrom(
      '-',
      '',
      '0',
      '65536',
      '-1',
      '1e5',
      '999999999999999999',
      'ACCEPT',
      'REJECT',
      'NODATA',
      'OK',
      '::1',
      '10.0.0.1',
      '1.2.3.256',
      'tcp',
      'T',
      'U',
      'B',
      'D',
    ),
    fc.nat({ max: 70000 }).map(String),
    fc.ipV4(),
    fc.ipV6(),
    fc.string({ maxLength: 6 }),
    fc.constantFrom(...PROTOTYPE_NAMES),
  )

  it('aws-vpc: generated records of 14 tokens', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(token, { minLength: 12, maxLength: 16 }), { maxLength: 20 }),
        async (rows) => check(awsVpcParser, rows.map((r) => r.join(' ')).join('\n'), false),
      ),
      { seed: SEED, numRuns: runs(150) },
    )
  })

  it('azure: generated tuples inside valid documents', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(token, { minLength: 8, maxLength: 13 }), { maxLength: 20 }),
        async (rows) => {
          const tuples = rows.map((r) => r.join(','))
          await check(
            azureNsgParser,
            JSON.stringify({
              records: [
                { properties: { flows: [{ rule: 'r', flows: [{ flowTuples: tuples }] }] } },
              ],
            }),
            false,
          )
          await check(
            azureVnetParser,
            JSON.stringify({
              records: [{ flowRecords: { flows: [{ flowGroups: [{ flowTuples: tuples }] }] } }],
            }),
            false,
          )
        },
      ),
      { seed: SEED, numRuns: runs(100) },
    )
  })

  it('gcp and csv: generated values', async () => {
    const val = fc.oneof(token, fc.integer(), fc.constant(null), fc.double())
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(val, val, val, val, val, val, val), { maxLength: 15 }),
        async (rows) => {
          const g = rows.map(([a, b, c, d, e, f, h]) =>
            JSON.stringify({
              jsonPayload: {
                connection: { src_ip: a, dest_ip: b, src_port: c, dest_port: d, protocol: e },
                start_time: f,
                end_time: h,
                bytes_sent: c,
                packets_sent: d,
              },
            }),
          )
          await check(gcpVpcParser, g.join('\n'), false)
          const csv = [
            'src_ip,dst_ip,dst_port,protocol,start,end,bytes',
            ...rows.map((r) => r.map((x) => String(x)).join(',')),
          ]
          await check(csvParser, csv.join('\n'), false)
        },
      ),
      { seed: SEED, numRuns: runs(100) },
    )
  })

  it('csv: any columns under any of their names, in any order, near-valid values', async () => {
    const wrong = fc.oneof(
      fc.constantFrom('', '-', 'x', '-1', '65536', '1e400', '"', '""', 'NaN'),
      fc.constantFrom(...PROTOTYPE_NAMES),
    )
    const valueOf: Record<string, fc.Arbitrary<string>> = {
      src_ip: fc.oneof(fc.ipV4(), fc.ipV6()),
      dst_ip: fc.oneof(fc.ipV4(), fc.ipV6()),
      src_port: fc.nat({ max: 65535 }).map(String),
      dst_port: fc.nat({ max: 65535 }).map(String),
      protocol: fc.constantFrom('tcp', 'UDP', '6', '17', 'icmp', '1', '58', 'gre', 'sctp'),
      start: fc.oneof(
        fc.integer({ min: 1_600_000_000, max: 1_900_000_000 }).map(String),
        fc
          .date({ min: new Date(0), max: new Date('2100-01-01'), noInvalidDate: true })
          .map((d) => d.toISOString()),
      ),
      end: fc.integer({ min: 1_600_000_000, max: 1_900_000_000 }).map(String),
      duration: fc.double({ min: 0, max: 1e6, noNaN: true }).map(String),
      packets: fc.nat().map(String),
      bytes: fc.nat().map(String),
      out_packets: fc.nat().map(String),
      out_bytes: fc.nat().map(String),
      tcp_flags: fc.constantFrom('.AP.SF', '...AP.SF', '  0xda', 'FS PA   ', '27', '', 'x'),
      action: fc.constantFrom('accept', 'REJECT', 'deny', 'allow', 'drop', '-'),
    }
    type Column = keyof typeof CSV_COLUMN_ALIASES
    const all = Object.keys(CSV_COLUMN_ALIASES) as Column[]
    const required: Column[] = ['src_ip', 'dst_ip', 'dst_port', 'protocol']
    // most headers have the four required columns, anywhere among the others
    const columns = fc
      .tuple(fc.shuffledSubarray(all, { minLength: 1 }), fc.nat(9))
      .chain(([some, k]) => {
        const cols = k === 0 ? some : [...new Set([...some, ...required])]
        return fc.shuffledSubarray(cols, { minLength: cols.length, maxLength: cols.length })
      })
      .chain((cols) =>
        fc.tuple(
          fc.tuple(...cols.map((c) => fc.constantFrom(...CSV_COLUMN_ALIASES[c]))),
          fc.array(
            fc.tuple(
              ...cols.map((c) =>
                fc.oneof(
                  { arbitrary: valueOf[c] ?? wrong, weight: 25 },
                  { arbitrary: wrong, weight: 1 },
                ),
              ),
            ),
            { maxLength: 10 },
          ),
        ),
      )
    let emitted = 0
    await fc.assert(
      fc.asyncProperty(
        columns,
        fc.boolean(),
        // the delimiters a header may choose, `|` padded as SiLK's rwcut pads it
        fc.constantFrom(',', ';', '\t', '|', ' | '),
        async ([header, rows], strict, delim) => {
          const text = [header.join(delim), ...rows.map((r) => r.join(delim))].join('\n')
          await check(csvParser, text, strict)
          if (!strict) emitted += (await runParser(csvParser, text)).flows.length
        },
      ),
      { seed: SEED, numRuns: runs(100) },
    )
    expect(emitted).toBeGreaterThan(50) // the rows reach the emitting paths, not only the skips
  })

  it('pairDirections keeps the invariants and conserves bytes', async () => {
    const flows = (
      await runParser(awsVpcParser, fixtureText('aws-v5.log') + fixtureText('aws-v2.log'))
    ).flows
    async function* gen() {
      yield* flows
    }
    const out = []
    for await (const f of pairDirections(gen(), { window: 2 })) out.push(f)
    for (const f of out) expect(flowInvariantViolation(f)).toBeUndefined()
    expect(out.reduce((a, f) => a + f.bytes, 0)).toBe(flows.reduce((a, f) => a + f.bytes, 0))
  })
})

describe('goflow2 nanosecond times under fuzzing (fixed seed)', () => {
  // goflow2's uint64 Unix nanoseconds (pb/flow.proto 110–112), above 2^53: each must read as
  // ns ÷ 10^6 rounded down, computed here in bigint, whatever the line's layout: v2 or v1.3+ keys,
  // a JSON number or a decimal string, spaces around the colon, keys in any order, a longer key
  // that starts with the same name, and a time after 9999-12-31 skipped as bad-time
  const MAX_NS = (BigInt(MAX_TIME_MS) + 2n) * 1_000_000n
  const ns = fc.oneof(
    fc.bigInt({ min: 1n, max: MAX_NS }),
    // near today, where JSON numbers lose their last digits, and near millisecond boundaries
    fc
      .tuple(
        fc.bigInt({ min: 1_600_000_000_000n, max: 1_800_000_000_000n }),
        fc.constantFrom(0n, 1n, 999_999n, 500_000n),
      )
      .map(([ms, extra]) => ms * 1_000_000n + extra),
  )
  it('a flow start and end in ns read exactly to the millisecond, or bad-time', async () => {
    await fc.assert(
      fc.asyncProperty(
        ns,
        fc.bigInt({ min: 0n, max: 10n ** 13n }),
        fc.boolean(),
        fc.array(fc.constantFrom('number', 'string'), { minLength: 2, maxLength: 2 }),
        fc.constantFrom(':', ': ', ' : ', ':\t'),
        fc.boolean(),
        async (start, length, v1, forms, colon, reversed) => {
          const end = start + length
          const [kStart, kEnd] = v1
            ? ['TimeFlowStartNs', 'TimeFlowEndNs']
            : ['time_flow_start_ns', 'time_flow_end_ns']
          const value = (n: bigint, form: string | undefined): string =>
            form === 'string' ? `"${n}"` : String(n)
          const keys = [
            `"${kStart}"${colon}${value(start, forms[0])}`,
            `"${kEnd}"${colon}${value(end, forms[1])}`,
            `"${kStart}_x"${colon}${String(start + 1_000_000n)}`,
            v1
              ? '"Type":"NETFLOW_V9","SamplerAddress":"192.0.2.1","SrcAddr":"10.0.0.8","DstAddr":"10.0.4.4","Etype":2048,"Proto":6,"SrcPort":45000,"DstPort":5432,"Bytes":300,"Packets":3'
              : '"type":"IPFIX","sampler_address":"192.0.2.1","src_addr":"10.0.0.5","dst_addr":"10.0.1.9","etype":"IPv4","proto":"TCP","src_port":51000,"dst_port":443,"bytes":1200,"packets":10',
          ]
          if (reversed) keys.reverse()
          const { flows, ctx } = await runParser(goflow2Parser, `{${keys.join(',')}}\n`, {})
          const startMs = start / 1_000_000n
          const endMs = end / 1_000_000n
          if (endMs > BigInt(MAX_TIME_MS)) {
            expect(flows).toEqual([])
            expect(ctx.stats.skipped).toEqual({ 'bad-time': 1 })
          } else {
            expect(ctx.stats.skipped).toEqual({})
            expect(flows.map((f) => [f.start, f.end])).toEqual([[Number(startMs), Number(endMs)]])
          }
        },
      ),
      { seed: SEED, numRuns: runs(300) },
    )
  })
})
