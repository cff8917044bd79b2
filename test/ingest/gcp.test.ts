import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, expect } from 'vitest'
import { readFlows, type FileSummary } from '../../src/ingest/read.js'
import { readAsFile } from '../helpers/files.js'
import { gcpVpcParser } from '../../src/ingest/formats/gcp-vpc.js'
import { fixtureText, runParser } from './text-helpers.js'

describe('gcp-vpc parser', () => {
  it('reads LogEntry and bare payload lines; drops the second report of a connection', async () => {
    const { flows, ctx } = await runParser(gcpVpcParser, fixtureText('gcp.jsonl'), {
      file: 'g.jsonl',
    })
    expect(flows).toHaveLength(4)
    expect(flows[0]).toEqual({
      src: '10.128.0.2',
      dst: '10.128.0.5',
      srcPort: 43210,
      dstPort: 5432,
      protocol: 6,
      start: Date.UTC(2024, 2, 1, 10, 0, 0, 0),
      end: Date.UTC(2024, 2, 1, 10, 0, 5, 123),
      packets: 12,
      bytes: 1640,
      observedAction: 'accept',
      direction: 'unknown',
      source: { format: 'gcp-vpc', file: 'g.jsonl', line: 1 },
      srcName: 'api-1',
      dstName: 'db-1',
    })
    expect(ctx.stats.notes).toEqual({ 'duplicate-report': 1 })
    // the reply direction is a different connection key: kept
    expect(flows[1]).toMatchObject({
      src: '10.128.0.5',
      srcPort: 5432,
      bytes: 800,
      source: { line: 3 },
    })
    expect(flows[2]).toMatchObject({ src: '2600:1900:4000::a', srcName: 'frontend-7d9f' })
    expect(flows[3]).toMatchObject({ protocol: 1, srcPort: 0, dstPort: 0 })
    expect(ctx.stats.skipped).toEqual({ 'bad-port': 1, 'bad-json': 1 })
  })

  it('detects LogEntry lines, not AWS text', () => {
    const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
    expect(gcpVpcParser.detect(enc(fixtureText('gcp.jsonl')))).toBeGreaterThanOrEqual(0.5)
    expect(gcpVpcParser.detect(enc(fixtureText('aws-v2.log')))).toBe(0)
  })

  it('missing times or connection are skipped by reason', async () => {
    const text = [
      '{"jsonPayload":{"connection":{"src_ip":"10.0.0.1","dest_ip":"10.0.0.2","protocol":6}}}',
      '{"jsonPayload":{}}',
      '[1,2]',
    ].join('\n')
    const { flows, ctx } = await runParser(gcpVpcParser, text)
    expect(flows).toEqual([])
    expect(ctx.stats.skipped).toEqual({ 'bad-time': 1, 'no-connection': 2 })
  })

  it('a record whose end_time is more than an hour after its start_time is window-too-long (s32)', async () => {
    // GCP aggregates over at most 15 minutes; by hand: one hour is kept, an hour and a second not
    const rec = (end: string): string =>
      JSON.stringify({
        jsonPayload: {
          connection: {
            src_ip: '10.0.0.1',
            src_port: 40000,
            dest_ip: '10.0.0.2',
            dest_port: 443,
            protocol: 6,
          },
          start_time: '2026-01-01T00:00:00Z',
          end_time: end,
          bytes_sent: '64',
          packets_sent: '1',
          reporter: 'SRC',
        },
      })
    const { flows, ctx } = await runParser(
      gcpVpcParser,
      [rec('2026-01-01T01:00:00Z'), rec('2026-01-01T01:00:01Z')].join('\n'),
    )
    expect(flows.map((f) => f.end - f.start)).toEqual([3_600_000])
    expect(ctx.stats.skipped).toEqual({ 'window-too-long': 1 })
  })
})

describe('gcp-vpc exports as one compact line', () => {
  it('a JSON array of LogEntry objects on one line longer than 1 MiB is read whole', async () => {
    const entry = (i: number): unknown => ({
      jsonPayload: {
        connection: {
          src_ip: '10.0.0.1',
          src_port: 40000 + (i % 20000),
          dest_ip: '10.0.0.2',
          dest_port: 443,
          protocol: 6,
        },
        start_time: '2026-01-01T00:00:00Z',
        end_time: '2026-01-01T00:00:05Z',
        bytes_sent: '100',
        packets_sent: '1',
        reporter: 'SRC',
      },
    })
    const line = JSON.stringify(Array.from({ length: 8000 }, (_, i) => entry(i)))
    expect(line.length).toBeGreaterThan(1024 * 1024)
    const { flows, summary } = await readAsFile(line, { name: 'export.json' })
    expect(summary.format).toBe('gcp-vpc')
    expect(summary.stats.skipped).toEqual({})
    expect(flows).toHaveLength(8000)
  })
})

describe('gcp-vpc directions and dropped traffic', () => {
  const entry = (over: Record<string, unknown>, connection: Record<string, unknown>): string =>
    JSON.stringify({
      jsonPayload: {
        connection: { protocol: 6, ...connection },
        start_time: '2026-01-01T00:00:00Z',
        end_time: '2026-01-01T00:00:05Z',
        reporter: 'SRC',
        ...over,
      },
    })

  it('the two directions of a connection (bytes_sent counts one way) are one flow', async () => {
    // kibana:5601 and its client, each reported as SRC by its own VM (as Elastic's test events)
    const text = [
      entry(
        { bytes_sent: '1784', packets_sent: '8' },
        { src_ip: '10.0.0.5', src_port: 5601, dest_ip: '192.0.2.117', dest_port: 50646 },
      ),
      entry(
        { bytes_sent: '1464', packets_sent: '6' },
        { src_ip: '192.0.2.117', src_port: 50646, dest_ip: '10.0.0.5', dest_port: 5601 },
      ),
    ].join('\n')
    const { flows, summary } = await readAsFile(text, { name: 'vpc.json' })
    expect(flows).toEqual([
      expect.objectContaining({
        src: '192.0.2.117',
        dst: '10.0.0.5',
        dstPort: 5601,
        bytes: 3248,
        packets: 14,
        direction: 'client-to-server',
      }),
    ])
    expect(summary.stats.notes).toMatchObject({ 'paired-directions': 1 })
  })

  it('disposition DROPPED (flow logs of dropped traffic) is reject; without it, accept', async () => {
    const { flows, ctx } = await runParser(
      gcpVpcParser,
      [
        entry(
          { disposition: 'DROPPED' },
          { src_ip: '10.0.0.9', src_port: 40000, dest_ip: '10.0.0.5', dest_port: 22 },
        ),
        entry(
          { bytes_sent: '10', packets_sent: '1' },
          { src_ip: '10.0.0.8', src_port: 40001, dest_ip: '10.0.0.5', dest_port: 443 },
        ),
      ].join('\n'),
    )
    expect(ctx.stats.skipped).toEqual({})
    expect(flows.map((f) => [f.dstPort, f.observedAction, f.bytes])).toEqual([
      [22, 'reject', 0],
      [443, 'accept', 10],
    ])
  })

  it('reads a row of the Log Analytics view (json_payload), as its linked BigQuery dataset gives it', async () => {
    const row = {
      timestamp: '2019-06-14 03:50:10.845445 UTC',
      log_id: 'compute.googleapis.com/vpc_flows',
      json_payload: {
        bytes_sent: '1784',
        packets_sent: '7',
        reporter: 'SRC',
        start_time: '2019-06-14T03:40:36.895188084Z',
        end_time: '2019-06-14T03:40:37.048196137Z',
        connection: {
          src_ip: '10.87.40.76',
          src_port: 5601,
          dest_ip: '192.0.2.117',
          dest_port: 50646,
          protocol: 6,
        },
      },
    }
    const text = JSON.stringify(row)
    expect(gcpVpcParser.detect(new TextEncoder().encode(text))).toBeGreaterThanOrEqual(0.9)
    const { flows, ctx } = await runParser(gcpVpcParser, text)
    expect(ctx.stats.skipped).toEqual({})
    expect(flows[0]).toMatchObject({ src: '10.87.40.76', dstPort: 50646, packets: 7, bytes: 1784 })
  })
})

describe('gcp-vpc reports of the same traffic in two files', () => {
  it('the SRC and DEST reports are one flow when a sink put them in different shards', async () => {
    const report = (reporter: string, start: string, end: string, bytes: string): string =>
      JSON.stringify({
        jsonPayload: {
          connection: {
            src_ip: '10.0.0.8',
            src_port: 40001,
            dest_ip: '10.0.0.5',
            dest_port: 443,
            protocol: 6,
          },
          start_time: start,
          end_time: end,
          bytes_sent: bytes,
          packets_sent: '1',
          reporter,
        },
      })
    const dir = mkdtempSync(join(tmpdir(), 'bulkhead-gcp-shards-'))
    try {
      const s0 = join(dir, '00:00:00_00:59:59_S0.json')
      const s1 = join(dir, '00:00:00_00:59:59_S1.json')
      writeFileSync(
        s0,
        `${report('SRC', '2026-01-01T00:00:00Z', '2026-01-01T00:00:05Z', '1000')}\n`,
      )
      writeFileSync(
        s1,
        `${report('DEST', '2026-01-01T00:00:01Z', '2026-01-01T00:00:06Z', '990')}\n`,
      )
      const summaries: FileSummary[] = []
      const flows = []
      for await (const f of readFlows([s0, s1], { format: 'auto', strict: false }, summaries))
        flows.push(f)
      expect(flows.map((f) => [f.bytes, f.source.file])).toEqual([[1000, s0]])
      expect(summaries[1]?.stats.notes).toEqual({ 'duplicate-report': 1 })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('gcp-vpc names', () => {
  it('an end that is a Google service is named by its service_name', async () => {
    const { flows } = await runParser(
      gcpVpcParser,
      JSON.stringify({
        jsonPayload: {
          connection: {
            src_ip: '10.0.0.8',
            src_port: 40001,
            dest_ip: '142.250.1.128',
            dest_port: 443,
            protocol: 6,
          },
          start_time: '2026-01-01T00:00:00Z',
          end_time: '2026-01-01T00:00:05Z',
          bytes_sent: '10',
          packets_sent: '1',
          reporter: 'SRC',
          src_instance: { vm_name: 'app-1' },
          dest_google_service: {
            type: 'GOOGLE_API',
            service_name: 'storage.googleapis.com',
            connectivity: 'PUBLIC_IP',
          },
        },
      }),
    )
    expect(flows[0]).toMatchObject({ srcName: 'app-1', dstName: 'storage.googleapis.com' })
  })
})

describe('gcp-vpc and Firewall Rules Logging', () => {
  // a connection record of Firewall Rules Logging (cloud.google.com/firewall/docs/vpc-log-format):
  // `connection` as in VPC Flow Logs, `disposition`, `rule_details`, `instance`; no times of its
  // own (the LogEntry's `timestamp`), no counters
  // the attempt both logs describe: shop-web-2 probing a crm database
  const ATTEMPT = {
    src_ip: '10.10.0.12',
    src_port: 40001,
    dest_ip: '10.20.0.31',
    dest_port: 3306,
    protocol: 6,
  }
  const firewall = (disposition: string): string =>
    JSON.stringify({
      insertId: 'abc',
      jsonPayload: {
        connection: ATTEMPT,
        disposition,
        rule_details: {
          reference: 'network:shared-vpc/firewall:deny-all-ingress',
          priority: 65000,
          action: disposition === 'DENIED' ? 'DENY' : 'ALLOW',
          direction: 'INGRESS',
          ip_port_info: [{ ip_protocol: 'ALL' }],
        },
        instance: {
          project_id: 'apps',
          region: 'us-central1',
          vm_name: 'crm-db-1',
          zone: 'us-central1-a',
        },
        remote_instance: { project_id: 'apps', vm_name: 'shop-web-2' },
      },
      logName: 'projects/apps/logs/compute.googleapis.com%2Ffirewall',
      resource: { type: 'gce_subnetwork' },
      timestamp: '2026-11-01T03:02:00.374Z',
    })
  const flowRecord = JSON.stringify({
    jsonPayload: {
      connection: {
        src_ip: '10.0.0.8',
        src_port: 40001,
        dest_ip: '10.0.0.5',
        dest_port: 443,
        protocol: 6,
      },
      start_time: '2026-11-01T03:00:00Z',
      end_time: '2026-11-01T03:00:01Z',
      bytes_sent: '100',
      packets_sent: '2',
      reporter: 'SRC',
    },
    logName: 'projects/host/logs/compute.googleapis.com%2Fvpc_flows',
  })

  it('a file of firewall rule logs is read: DENIED attempts as rejected flows at the entry time, ALLOWED noted', async () => {
    const text = `${firewall('DENIED')}\n${firewall('ALLOWED')}\n`
    expect(gcpVpcParser.detect(new TextEncoder().encode(text))).toBeGreaterThan(0.9)
    const { flows, ctx } = await runParser(gcpVpcParser, text)
    expect(flows).toEqual([
      {
        src: '10.10.0.12',
        dst: '10.20.0.31',
        srcPort: 40001,
        dstPort: 3306,
        protocol: 6,
        start: Date.parse('2026-11-01T03:02:00.374Z'),
        end: Date.parse('2026-11-01T03:02:00.374Z'),
        packets: 0,
        bytes: 0,
        observedAction: 'reject',
        direction: 'client-to-server',
        dstName: 'crm-db-1',
        source: { format: 'gcp-vpc', file: expect.any(String) as string, line: 1 },
      },
    ])
    expect(ctx.stats.skipped).toEqual({})
    expect(ctx.stats.notes).toEqual({ 'firewall-denied': 1, 'firewall-allowed': 1 })
  })

  it('the source report of an attempt the destination firewall denied is read rejected with it', async () => {
    // VPC Flow Logs sample egress before the firewall: the source VM reports the attempt
    const report = JSON.stringify({
      jsonPayload: {
        connection: ATTEMPT,
        start_time: '2026-11-01T03:01:55Z',
        end_time: '2026-11-01T03:02:01Z',
        bytes_sent: '180',
        packets_sent: '3',
        reporter: 'SRC',
      },
      logName: 'projects/apps/logs/compute.googleapis.com%2Fvpc_flows',
    })
    const { flows, summary } = await readAsFile([report, firewall('DENIED')].join('\n') + '\n', {
      name: 'shard.json',
    })
    expect(flows.map((f) => [f.dstPort, f.observedAction])).toEqual([
      [3306, 'reject'],
      [3306, 'reject'],
    ])
    expect(summary.stats.notes).toMatchObject({
      'firewall-denied': 1,
      'rejected-at-other-end': 1,
    })
  })

  it('firewall records among flow records (a query on gce_subnetwork) are read beside them, not malformed', async () => {
    const text = [flowRecord, firewall('DENIED'), firewall('ALLOWED')].join('\n')
    const { flows, ctx } = await runParser(gcpVpcParser, text)
    expect(flows.map((f) => [f.src, f.dst, f.observedAction])).toEqual([
      ['10.0.0.8', '10.0.0.5', 'accept'],
      ['10.10.0.12', '10.20.0.31', 'reject'],
    ])
    expect(ctx.stats.skipped).toEqual({})
    expect(ctx.stats.notes).toEqual({ 'firewall-denied': 1, 'firewall-allowed': 1 })
  })
})
