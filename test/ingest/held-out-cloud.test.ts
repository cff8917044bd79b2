/**
 * Held-out cloud flow log samples (session 30): records reproduced from public examples that the
 * vendor-formats tests do not hold, each expected flow worked out by hand from the format's
 * documentation, not from Bulkhead's output. Sources are cited per case; addresses are those of
 * the source (documentation ranges or the source's own anonymised ones).
 */
import { describe, expect, it } from 'vitest'
import type { Flow } from '../../src/core/flow.js'
import { flowInvariantViolation } from '../../src/ingest/fields.js'
import { readAsFile } from '../helpers/files.js'

/** The flow without `source`, for field-by-field comparison. */
function body(f: Flow | undefined): Omit<Flow, 'source'> {
  if (!f) throw new Error('missing flow')
  const { source: _s, ...rest } = f
  return rest
}

const ECS_HEADER = [
  'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start',
  'end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr',
  'region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service',
  'flow-direction traffic-path ecs-cluster-arn ecs-cluster-name ecs-container-instance-arn',
  'ecs-container-instance-id ecs-container-id ecs-second-container-id ecs-service-name',
  'ecs-task-definition-arn ecs-task-arn ecs-task-id reject-reason',
].join(' ')

/** An ECS record of the all-fields order; `pre` is the 14 default fields. */
const ecs = (pre: string, dir: string, service: string, reason = '-'): string =>
  `${pre} ${'- '.repeat(13)}${dir} - arn:aws:ecs:us-east-1:000000000000:cluster/c c ` +
  `arn:aws:ecs:us-east-1:000000000000:container-instance/c/i-1 i-1 574fc0af-908 - ${service} ` +
  `arn:aws:ecs:us-east-1:000000000000:task-definition/backend:3 ` +
  `arn:aws:ecs:us-east-1:000000000000:task/c/6adbd0d6-211 6adbd0d6-211 ${reason}`

describe('AWS VPC Flow Logs, held-out samples', () => {
  // elastic/integrations packages/aws/data_stream/vpcflow/_dev/test/pipeline/test-ecs-samples.log
  // and test-v8-samples.log (headerless there; here with the S3 header of AWS's available-fields
  // order, https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html)
  it('ECS all-fields order with reject-reason: names by flow-direction, NODATA/SKIPDATA with an action', async () => {
    const text = [
      ECS_HEADER,
      ecs(
        '3 000000000000 - 81.2.69.142 89.160.20.112 27556 80 17 97 48448 1755678664 1755678675 REJECT OK',
        'egress',
        'backend-service',
      ),
      ecs(
        '3 000000000000 - 81.2.69.192 81.2.69.144 14797 8080 6 35 28455 1755678694 1755678736 ACCEPT OK',
        'ingress',
        'backend-service',
        'BPA',
      ),
      ecs(
        '3 000000000000 - 175.16.199.0 67.43.156.0 63715 3306 6 6 1515 1755678634 1755678662 ACCEPT NODATA',
        'egress',
        'orders-service',
      ),
      ecs(
        '3 000000000000 - 216.160.83.56 89.160.20.128 29034 80 17 65 21349 1755678649 1755678705 ACCEPT SKIPDATA',
        'ingress',
        'frontend-service',
      ),
    ].join('\n')
    const { flows, summary } = await readAsFile(text + '\n')
    expect(summary.format).toBe('aws-vpc')
    expect(summary.stats.skipped).toEqual({})
    expect(summary.stats.notes).toEqual({ nodata: 1, skipdata: 1 })
    for (const f of flows) expect(flowInvariantViolation(f)).toBeUndefined()
    const byPort = new Map(flows.map((f) => [f.dstPort, f]))
    expect(body(byPort.get(80))).toEqual({
      src: '81.2.69.142',
      srcPort: 27556,
      dst: '89.160.20.112',
      dstPort: 80,
      protocol: 17,
      start: 1755678664_000,
      end: 1755678675_000,
      packets: 97,
      bytes: 48448,
      observedAction: 'reject',
      direction: 'client-to-server',
      srcName: 'backend-service', // egress: the task's interface is the source
    })
    expect(body(byPort.get(8080))).toMatchObject({
      src: '81.2.69.192',
      dst: '81.2.69.144',
      protocol: 6,
      packets: 35,
      bytes: 28455,
      observedAction: 'accept',
      dstName: 'backend-service', // ingress: the destination
    })
    expect(flows).toHaveLength(2)
  })

  // https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-records-examples.html, "Traffic
  // through a transit gateway": no start/end, no packets/bytes; pkt-* give the real ends at the
  // gateway's interfaces, whose srcaddr/dstaddr are the gateway's own
  it('traffic through a transit gateway: pkt-* ends, file time, counters not logged, paired', async () => {
    const P = '3 eni-%s 123456789010 vpc-abcdefab012345678 subnet-22222222bbbbbbbbb'
    const line = (eni: string, rest: string): string => `${P.replace('%s', eni)} ${rest}`
    const text = [
      'version interface-id account-id vpc-id subnet-id instance-id srcaddr dstaddr srcport dstport protocol tcp-flags type pkt-srcaddr pkt-dstaddr action log-status',
      line(
        '33333333333333333',
        'i-01234567890123456 10.20.33.164 10.40.2.236 39812 80 6 3 IPv4 10.20.33.164 10.40.2.236 ACCEPT OK',
      ),
      line(
        '33333333333333333',
        'i-01234567890123456 10.40.2.236 10.20.33.164 80 39812 6 19 IPv4 10.40.2.236 10.20.33.164 ACCEPT OK',
      ),
      line(
        '11111111111111111',
        '- 10.40.1.175 10.40.2.236 39812 80 6 3 IPv4 10.20.33.164 10.40.2.236 ACCEPT OK',
      ),
      line(
        '22222222222222222',
        '- 10.40.2.236 10.40.2.31 80 39812 6 19 IPv4 10.40.2.236 10.20.33.164 ACCEPT OK',
      ),
    ].join('\n')
    const mtime = new Date('2026-01-01T01:05:00Z')
    const { flows, summary } = await readAsFile(text + '\n', { mtime })
    expect(summary.stats.skipped).toEqual({})
    expect(summary.stats.notes).toEqual({
      'counters-not-logged': 4,
      'time-from-file-mtime': 4,
      'paired-directions': 2,
    })
    expect(flows).toHaveLength(2)
    for (const f of flows)
      expect(body(f)).toEqual({
        src: '10.20.33.164',
        srcPort: 39812,
        dst: '10.40.2.236',
        dstPort: 80,
        protocol: 6,
        start: mtime.getTime(),
        end: mtime.getTime(),
        packets: 0,
        bytes: 0,
        observedAction: 'accept',
        direction: 'client-to-server',
        tcpFlags: 19, // SYN|FIN (3) ORed with SYN|ACK|FIN (19)
      })
  })
})

describe('Azure VNet flow logs, held-out sample', () => {
  // elastic/integrations packages/azure_network_watcher_vnet/_dev/deploy/docker/sample_logs/
  // testdata.log: the whole record of Microsoft's vnet-flow-logs-overview sample (its real
  // addresses), two ACLs; B and E of one connection in the same millisecond
  it('5 connections from B/E pairs (counters of E summed both ways) and 9 denied tuples', async () => {
    const allowed = [
      '1663146003599,10.0.0.6,52.239.184.180,23956,443,6,O,B,NX,0,0,0,0',
      '1663146003606,10.0.0.6,52.239.184.180,23956,443,6,O,E,NX,3,767,2,1580',
      '1663146003637,10.0.0.6,40.74.146.17,22730,443,6,O,B,NX,0,0,0,0',
      '1663146003640,10.0.0.6,40.74.146.17,22730,443,6,O,E,NX,3,705,4,4569',
      '1663146004251,10.0.0.6,40.74.146.17,22732,443,6,O,B,NX,0,0,0,0',
      '1663146004251,10.0.0.6,40.74.146.17,22732,443,6,O,E,NX,3,705,4,4569',
      '1663146004622,10.0.0.6,40.74.146.17,22734,443,6,O,B,NX,0,0,0,0',
      '1663146004622,10.0.0.6,40.74.146.17,22734,443,6,O,E,NX,2,134,1,108',
      '1663146017343,10.0.0.6,104.16.218.84,36776,443,6,O,B,NX,0,0,0,0',
      '1663146022793,10.0.0.6,104.16.218.84,36776,443,6,O,E,NX,22,2217,33,32466',
    ]
    const denied = [
      '1663145998065,101.33.218.153,10.0.0.6,55188,22,6,I,D,NX,0,0,0,0',
      '1663146005503,192.241.200.164,10.0.0.6,35276,119,6,I,D,NX,0,0,0,0',
    ]
    const internet = [
      '1663145989563,20.106.221.10,10.0.0.6,50557,44357,6,I,D,NX,0,0,0,0',
      '1663145989679,20.55.117.81,10.0.0.6,62797,35945,6,I,D,NX,0,0,0,0',
      '1663145989709,20.55.113.5,10.0.0.6,51961,65515,6,I,D,NX,0,0,0,0',
      '1663145990049,13.65.224.51,10.0.0.6,40497,40129,6,I,D,NX,0,0,0,0',
      '1663145990145,20.55.117.81,10.0.0.6,62797,30472,6,I,D,NX,0,0,0,0',
      '1663145990175,20.55.113.5,10.0.0.6,51961,28184,6,I,D,NX,0,0,0,0',
      '1663146015545,20.106.221.10,10.0.0.6,50557,31244,6,I,D,NX,0,0,0,0',
    ]
    const doc = {
      records: [
        {
          time: '2022-09-14T09:00:52.5625085Z',
          flowLogVersion: 4,
          flowLogGUID: 'abcdef01-2345-6789-0abc-def012345678',
          macAddress: '00224871C205',
          category: 'FlowLogFlowEvent',
          flowLogResourceID:
            '/SUBSCRIPTIONS/0/RESOURCEGROUPS/NETWORKWATCHERRG/FLOWLOGS/VNETFLOWLOG',
          targetResourceID: '/subscriptions/0/virtualNetworks/myVNet',
          operationName: 'FlowLogFlowEvent',
          flowRecords: {
            flows: [
              {
                aclID: '00000000-1234-abcd-ef00-c1c2c3c4c5c6',
                flowGroups: [{ rule: 'DefaultRule_AllowInternetOutBound', flowTuples: allowed }],
              },
              {
                aclID: '01020304-abcd-ef00-1234-102030405060',
                flowGroups: [
                  { rule: 'BlockHighRiskTCPPortsFromInternet', flowTuples: denied },
                  { rule: 'Internet', flowTuples: internet },
                ],
              },
            ],
          },
        },
      ],
    }
    const { flows, summary } = await readAsFile(JSON.stringify(doc), { name: 'PT1H.json' })
    expect(summary.format).toBe('azure-vnet')
    expect(summary.stats.skipped).toEqual({})
    expect(summary.stats.notes).toEqual({ 'merged-tuples': 5 })
    expect(flows).toHaveLength(14)
    const accepted = flows.filter((f) => f.observedAction === 'accept').map(body)
    const conn = (
      dst: string,
      srcPort: number,
      start: number,
      end: number,
      packets: number,
      bytes: number,
    ): Omit<Flow, 'source'> => ({
      src: '10.0.0.6',
      srcPort,
      dst,
      dstPort: 443,
      protocol: 6,
      start,
      end,
      packets,
      bytes,
      observedAction: 'accept',
      direction: 'client-to-server',
    })
    expect(accepted).toEqual([
      conn('52.239.184.180', 23956, 1663146003599, 1663146003606, 5, 2347),
      conn('40.74.146.17', 22730, 1663146003637, 1663146003640, 7, 5274),
      conn('40.74.146.17', 22732, 1663146004251, 1663146004251, 7, 5274),
      conn('40.74.146.17', 22734, 1663146004622, 1663146004622, 3, 242),
      conn('104.16.218.84', 36776, 1663146017343, 1663146022793, 55, 34683),
    ])
    const rejected = flows.filter((f) => f.observedAction === 'reject')
    expect(rejected).toHaveLength(9)
    for (const f of rejected)
      expect(f).toMatchObject({
        dst: '10.0.0.6',
        packets: 0,
        bytes: 0,
        direction: 'client-to-server',
      })
    expect(rejected.map((f) => f.start).sort()).toEqual(
      [...denied, ...internet].map((t) => Number(t.split(',')[0])).sort(),
    )
  })
})

describe('GCP VPC Flow Logs, held-out samples', () => {
  const entry = (p: Record<string, unknown>): string =>
    JSON.stringify({
      insertId: 'x',
      jsonPayload: p,
      logName: 'projects/my-sample-project/logs/compute.googleapis.com%2Fvpc_flows',
      resource: { type: 'gce_subnetwork' },
      timestamp: '2019-06-14T03:50:10.845445834Z',
    })
  const vm = (name: string): Record<string, string> => ({
    project_id: 'my-sample-project',
    region: 'us-east1',
    vm_name: name,
    zone: 'us-east1-b',
  })

  // elastic/integrations packages/gcp/data_stream/vpcflow/_dev/test/pipeline/test-vpcflow-event.json:
  // the two directions of one connection, each reported once by the VM (SRC for its replies,
  // DEST for the requests), with the same interval
  it('the reply reported by SRC and the request reported by DEST pair into one flow', async () => {
    const text = [
      entry({
        bytes_sent: '1784',
        connection: {
          dest_ip: '192.0.2.117',
          dest_port: 50646,
          protocol: 6,
          src_ip: '10.87.40.76',
          src_port: 5601,
        },
        end_time: '2019-06-14T03:40:37.048196137Z',
        packets_sent: '7',
        reporter: 'SRC',
        src_instance: vm('kibana'),
        start_time: '2019-06-14T03:40:36.895188084Z',
      }),
      entry({
        bytes_sent: '1464',
        connection: {
          dest_ip: '10.87.40.76',
          dest_port: 5601,
          protocol: 6,
          src_ip: '192.0.2.117',
          src_port: 50646,
        },
        dest_instance: vm('kibana'),
        end_time: '2019-06-14T03:40:37.048196137Z',
        packets_sent: '7',
        reporter: 'DEST',
        start_time: '2019-06-14T03:40:36.895188084Z',
      }),
    ].join('\n')
    const { flows, summary } = await readAsFile(text + '\n')
    expect(summary.format).toBe('gcp-vpc')
    expect(summary.stats.notes).toEqual({ 'paired-directions': 1 })
    expect(flows.map(body)).toEqual([
      {
        src: '192.0.2.117',
        srcPort: 50646,
        dst: '10.87.40.76',
        dstPort: 5601,
        protocol: 6,
        start: Date.parse('2019-06-14T03:40:36.895Z'),
        end: Date.parse('2019-06-14T03:40:37.048Z'),
        packets: 14,
        bytes: 3248,
        observedAction: 'accept',
        direction: 'client-to-server',
        dstName: 'kibana',
      },
    ])
  })

  // https://cloud.google.com/vpc/docs/about-flow-logs-records: "For gateways such as VLAN
  // attachments for Cloud Interconnect and Cloud VPN tunnels, the reporter can be SRC_GATEWAY or
  // DEST_GATEWAY": the gateway's report and the VM's of the same traffic are one flow
  it('a SRC_GATEWAY report and the DEST report of the same traffic count once', async () => {
    const conn = {
      dest_ip: '10.128.0.9',
      dest_port: 443,
      protocol: 6,
      src_ip: '192.168.10.5',
      src_port: 51000,
    }
    const text = [
      entry({
        bytes_sent: '840',
        connection: conn,
        end_time: '2024-05-01T10:01:00Z',
        packets_sent: '10',
        reporter: 'SRC_GATEWAY',
        start_time: '2024-05-01T10:00:00Z',
        dest_instance: vm('web'),
      }),
      entry({
        bytes_sent: '900',
        connection: conn,
        end_time: '2024-05-01T10:01:01Z',
        packets_sent: '11',
        reporter: 'DEST',
        start_time: '2024-05-01T10:00:01Z',
        dest_instance: vm('web'),
      }),
    ].join('\n')
    const { flows, summary } = await readAsFile(text + '\n')
    expect(summary.stats.notes).toEqual({ 'duplicate-report': 1 })
    expect(flows.map(body)).toEqual([
      {
        src: '192.168.10.5',
        srcPort: 51000,
        dst: '10.128.0.9',
        dstPort: 443,
        protocol: 6,
        start: Date.parse('2024-05-01T10:00:00Z'),
        end: Date.parse('2024-05-01T10:01:00Z'),
        packets: 10,
        bytes: 840,
        observedAction: 'accept',
        direction: 'client-to-server',
        dstName: 'web',
      },
    ])
  })
})
