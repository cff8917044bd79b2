/**
 * AWS VPC flow log records inside CloudWatch Logs JSON: `aws logs get-log-events` output, a bare
 * array of events, and subscription-filter payloads as Firehose writes them to S3.
 * Shapes: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html and
 * the AWS CLI `logs get-log-events` reference; records from the VPC flow log record examples.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { constants as zlibConstants, gunzipSync, gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import type { Flow } from '../../src/core/flow.js'
import { cloudWatchLines } from '../../src/ingest/cloudwatch.js'
import { readFlows, type FileSummary } from '../../src/ingest/read.js'
import { tempDir } from '../helpers/files.js'
import { readOne } from '../helpers/flows.js'
import { all } from '../helpers/store.js'

const ACCEPT =
  '2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK'
const REJECT =
  '2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK'
const NODATA = '2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA'

const dir = tempDir('bulkhead-cwl')
let n = 0

async function read(
  content: string | Uint8Array,
  opts: Parameters<typeof readOne>[1] = {},
): Promise<{ flows: Flow[]; summary: FileSummary }> {
  const file = join(dir, `events-${n++}.json`)
  writeFileSync(file, content)
  return readOne(file, opts)
}

const event = (message: string, i: number) => ({
  timestamp: 1418530070000 + i,
  message,
  ingestionTime: 1418530100000,
})

describe('AWS VPC flow logs in CloudWatch Logs JSON', () => {
  it('reads `aws logs get-log-events` output (pretty-printed): each event message is a record', async () => {
    const doc = {
      events: [ACCEPT, NODATA, REJECT].map(event),
      nextForwardToken: 'f/00000000000000000000000000000000000000000000000000000003',
      nextBackwardToken: 'b/00000000000000000000000000000000000000000000000000000001',
    }
    const { flows, summary } = await read(JSON.stringify(doc, null, 4))
    expect(summary.format).toBe('aws-vpc')
    expect(summary.stats.skipped).toEqual({})
    expect(summary.stats.notes).toMatchObject({ nodata: 1 })
    expect(flows).toEqual([
      expect.objectContaining({
        src: '172.31.16.139',
        srcPort: 20641,
        dst: '172.31.16.21',
        dstPort: 22,
        protocol: 6,
        packets: 20,
        bytes: 4249,
        start: Date.parse('2014-12-14T04:06:50Z'),
        end: Date.parse('2014-12-14T04:07:50Z'),
        observedAction: 'accept',
      }),
      expect.objectContaining({ src: '172.31.9.69', dstPort: 3389, observedAction: 'reject' }),
    ])
  })

  it('reads a bare array of events (`--query events`)', async () => {
    const { flows, summary } = await read(JSON.stringify([ACCEPT, REJECT].map(event)))
    expect(summary.format).toBe('aws-vpc')
    expect(flows.map((f) => f.dstPort)).toEqual([22, 3389])
  })

  it('reads subscription payloads back to back (Firehose to S3, gzip), control messages noted', async () => {
    const payload = (messageType: string, messages: string[]) =>
      JSON.stringify({
        messageType,
        owner: messageType === 'DATA_MESSAGE' ? '123456789010' : 'CloudwatchLogs',
        logGroup: 'vpc-flow-logs',
        logStream: 'eni-1235b8ca123456789-all',
        subscriptionFilters: ['to-firehose'],
        logEvents: messages.map((m, i) => ({
          id: `3619${i}`,
          timestamp: 1418530070000,
          message: m,
        })),
      })
    const body =
      payload('CONTROL_MESSAGE', [
        'CWL CONTROL MESSAGE: Checking health of destination Firehose.',
      ]) +
      payload('DATA_MESSAGE', [ACCEPT]) +
      payload('DATA_MESSAGE', [REJECT])
    const { flows, summary } = await read(gzipSync(body))
    expect(summary.format).toBe('aws-vpc')
    expect(summary.stats.notes).toMatchObject({ 'cloudwatch-control-message': 1 })
    expect(summary.stats.skipped).toEqual({})
    expect(flows.map((f) => f.dstPort)).toEqual([22, 3389])
  })

  it('a custom format in CloudWatch (no header line) takes its field order from --fields', async () => {
    const fields =
      'version srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status flow-direction'
    const custom = '5 10.0.1.5 10.0.2.9 41532 5432 6 10 5000 1620000000 1620000060 ACCEPT OK egress'
    const { flows } = await read(JSON.stringify({ events: [event(custom, 0)] }, null, 2), {
      fields,
    })
    expect(flows).toEqual([
      expect.objectContaining({ src: '10.0.1.5', dst: '10.0.2.9', dstPort: 5432 }),
    ])
  })

  it('a broken object is one bad-json; the objects around it are read', async () => {
    const good = JSON.stringify({ logEvents: [{ id: '1', timestamp: 1, message: ACCEPT }] })
    const { flows, summary } = await read(`${good}\n{"logEvents": [}\n${good}\n`)
    expect(summary.stats.skipped).toEqual({ 'bad-json': 1 })
    expect(summary.stats.examples[0]?.where).toMatch(/\.json:2$/)
    expect(flows).toHaveLength(2)
  })

  it('an export cut short keeps the events whole before the cut, one truncated skip; a gzip cut then fails', async () => {
    // `aws logs filter-log-events > out.json` interrupted, a copy cut short: each whole event
    // before the cut is a record (before, the whole object was one bad-json)
    const events = Array.from({ length: 40 }, (_, i) =>
      event(ACCEPT.replace(' 20641 ', ` ${String(20000 + i)} `), i),
    )
    const text = JSON.stringify({ events, nextForwardToken: 'f/1' })
    const ends = events.map((e) => text.indexOf(JSON.stringify(e)) + JSON.stringify(e).length)
    const whole = (k: number): number => ends.filter((end) => end <= k).length
    for (const k of [ends[0]! - 3, ends[0]!, ends[9]! + 7, ends[39]! - 1, text.length - 5]) {
      const { flows, summary } = await read(text.slice(0, k))
      expect(flows.length, `cut at ${String(k)}`).toBe(whole(k))
      expect(summary.stats.skipped).toEqual({ truncated: 1 })
    }
    const gz = gzipSync(text)
    const cut = gz.subarray(0, Math.floor(gz.length * 0.6))
    const decoded = gunzipSync(cut, { finishFlush: zlibConstants.Z_SYNC_FLUSH }).toString()
    const file = join(dir, 'cut.json.gz')
    writeFileSync(file, cut)
    const flows: Flow[] = []
    let error: unknown
    try {
      for await (const f of readFlows([file], { format: 'auto', strict: false }, [])) flows.push(f)
    } catch (e) {
      error = e
    }
    expect(error).toMatchObject({ diagnostics: [{ code: 'ingest/truncated-input' }] })
    expect(flows.length).toBe(whole(decoded.length))
    expect(flows.length).toBeGreaterThan(0)
  })

  it('an object or event without a message (a Lambda event, a Logs Insights result) is skipped as no-message, not dropped silently (s34)', async () => {
    // A Lambda subscription receives the payload base64-gzipped under `awslogs.data`;
    // `aws logs get-query-results` prints `results` of `{field, value}` cells. Neither holds a
    // `message`: read as aws-vpc they gave 0 flows, nothing skipped, exit 0.
    const lambda = JSON.stringify({
      awslogs: { data: 'H4sIAAAAAAAA/6tWKkktLlGyUlAqS8wpTVWqBQBmBdBXEgAAAA==' },
    })
    const insights = JSON.stringify({
      results: [
        [
          { field: '@timestamp', value: '2014-12-14 04:07:50.000' },
          { field: '@message', value: ACCEPT },
        ],
      ],
      status: 'Complete',
    })
    const partial = JSON.stringify({
      logEvents: [
        { id: '1', timestamp: 1418530070000 },
        { id: '2', timestamp: 1, message: REJECT },
      ],
    })
    const { flows, summary } = await read(`${lambda}\n${insights}\n${partial}\n`, {
      format: 'aws-vpc',
    })
    expect(summary.stats.skipped).toEqual({ 'no-message': 3 })
    expect(flows.map((f) => f.dstPort)).toEqual([3389])
    // each example at the line its object starts on
    expect(summary.stats.examples.map((e) => e.where.replace(/^.*:/, ''))).toEqual(['1', '2', '3'])
    // an output with no events at all is empty, not malformed
    const empty = await read(JSON.stringify({ events: [], nextForwardToken: 'f/1' }), {
      format: 'aws-vpc',
    })
    expect(empty.summary.stats.skipped).toEqual({})
    expect(empty.flows).toEqual([])
  })

  it('objects and strings cut across chunks, escapes inside messages', async () => {
    const text = JSON.stringify({ events: [event(ACCEPT, 0), event('a "quoted" {brace} ]', 1)] })
    const chunks = async function* () {
      for (let i = 0; i < text.length; i += 7) yield Buffer.from(text.slice(i, i + 7))
    }
    const out = Buffer.concat(await all(cloudWatchLines(chunks(), () => undefined))).toString()
    expect(out).toBe(`${ACCEPT}\na "quoted" {brace} ]\n`)
  })
})
