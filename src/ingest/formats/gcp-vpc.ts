/**
 * @module GCP VPC Flow Logs: Cloud Logging `LogEntry` JSON (lines, pretty-printed, or an array; or
 * bare `jsonPayload` objects).
 * @see https://cloud.google.com/vpc/docs/about-flow-logs-records
 */
import type { Flow } from '../../core/index.js'
import { parseAddress, parseIsoTime, parseProtocolNumber } from '../fields.js'
import { GcpReports } from '../gcp-reports.js'
import { flowGiven, flowNote, note, skip, type LineParser, type ParseContext } from '../types.js'
import { JsonObjectSplitter, type RawRecord } from '../json-objects.js'

/** Largest JSON record read (one LogEntry, in UTF-16 code units); larger ones are skipped as `record-too-large`. */
export const GCP_MAX_RECORD = 1024 * 1024

/**
 * Longest window (`end_time − start_time`, ms) of a VPC Flow Logs record: GCP aggregates over at
 * most 15 minutes (`aggregationInterval` `INTERVAL_15_MIN`; `start_time`/`end_time` are the first
 * and last packet observed in the interval, "Record format"); a record that spans longer is
 * damaged and skipped as `window-too-long`. One hour leaves a margin of three intervals.
 */
export const GCP_MAX_WINDOW_MS = 3_600_000

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined
}

/** A JSON number or decimal string as a non-negative integer; absent → `fallback`. */
function int(v: unknown, max: number, fallback: number | undefined): number | undefined {
  if (v === undefined || v === null) return fallback
  const n =
    typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,16}$/.test(v) ? Number(v) : NaN
  return Number.isInteger(n) && n >= 0 && n <= max ? n : undefined
}

/**
 * The name of one end: its GKE pod, else its VM, else the Google service it is
 * (`*_google_service.service_name`, e.g. `storage.googleapis.com`).
 */
function nameOf(instance: unknown, gke: unknown, google: unknown): string | undefined {
  const pod = obj(obj(gke)?.['pod'])
  return (
    str(pod?.['pod_name']) ?? str(obj(instance)?.['vm_name']) ?? str(obj(google)?.['service_name'])
  )
}

/**
 * The flow payload of a line: `jsonPayload` of a LogEntry (`json_payload` in a row of Cloud
 * Logging's Log Analytics view, queried through its linked BigQuery dataset), or the object
 * itself when it has `connection`.
 */
function payloadOf(v: unknown): Record<string, unknown> | undefined {
  const o = obj(v)
  if (!o) return undefined
  const p = obj(o['jsonPayload']) ?? obj(o['json_payload'])
  if (p) return p
  return obj(o['connection']) ? o : undefined
}

/** A payload of Firewall Rules Logging, not of VPC Flow Logs: it has `rule_details`. */
function isFirewallRecord(p: Record<string, unknown>): boolean {
  return obj(p['rule_details']) !== undefined && p['reporter'] === undefined
}

function parseRecord(
  line: string,
  lineNo: number,
  ctx: ParseContext,
  dedup: GcpReports,
): Flow | undefined {
  const where = `${ctx.file}:${lineNo}`
  let v: unknown
  try {
    v = JSON.parse(line)
  } catch {
    skip(ctx, 'bad-json', where, line)
    return undefined
  }
  const p = payloadOf(v)
  // a Firewall Rules Logging record (`compute.googleapis.com/firewall`): an ALLOWED one is traffic
  // the flow logs report, a DENIED one an attempt they may not (see gcpVpcParser)
  const firewall = p !== undefined && isFirewallRecord(p)
  if (firewall && str(p['disposition'])?.toUpperCase() !== 'DENIED') {
    note(ctx, 'firewall-allowed')
    return undefined
  }
  const c = obj(p?.['connection'])
  if (!p || !c) {
    skip(ctx, 'no-connection', where, line)
    return undefined
  }
  const src = typeof c['src_ip'] === 'string' ? parseAddress(c['src_ip']) : undefined
  const dst = typeof c['dest_ip'] === 'string' ? parseAddress(c['dest_ip']) : undefined
  if (src === undefined || dst === undefined) {
    skip(ctx, 'bad-address', where, line)
    return undefined
  }
  const srcPort = int(c['src_port'], 65535, 0)
  const dstPort = int(c['dest_port'], 65535, 0)
  if (srcPort === undefined || dstPort === undefined) {
    skip(ctx, 'bad-port', where, line)
    return undefined
  }
  const protocol =
    typeof c['protocol'] === 'string'
      ? parseProtocolNumber(c['protocol'])
      : int(c['protocol'], 255, undefined)
  if (protocol === undefined) {
    skip(ctx, 'bad-protocol', where, line)
    return undefined
  }
  if (firewall)
    return firewallDenied(v, p, { src, dst, srcPort, dstPort, protocol }, where, line, lineNo, ctx)
  const startText = str(p['start_time'])
  const endText = str(p['end_time'])
  const start = startText !== undefined ? parseIsoTime(startText) : undefined
  const end = endText !== undefined ? parseIsoTime(endText) : start
  if (start === undefined || end === undefined) {
    skip(ctx, 'bad-time', where, line)
    return undefined
  }
  if (end < start) {
    skip(ctx, 'end-before-start', where, line)
    return undefined
  }
  if (end - start > GCP_MAX_WINDOW_MS) {
    const detail = `start_time to end_time is ${String((end - start) / 1000)} s, where GCP aggregates over at most 900 s (read up to ${String(GCP_MAX_WINDOW_MS / 1000)} s)`
    skip(ctx, 'window-too-long', where, line, undefined, detail)
    return undefined
  }
  const bytes = int(p['bytes_sent'], Number.MAX_SAFE_INTEGER, 0)
  const packets = int(p['packets_sent'], Number.MAX_SAFE_INTEGER, 0)
  if (bytes === undefined || packets === undefined) {
    skip(ctx, 'bad-counter', where, line)
    return undefined
  }
  const reporter = str(p['reporter'])
  const report = { reporter, start, end, startText: startText ?? '' }
  if (dedup.check(`${protocol}|${src}|${srcPort}|${dst}|${dstPort}`, report)) {
    note(ctx, 'duplicate-report')
    return undefined
  }
  const srcName = nameOf(p['src_instance'], p['src_gke_details'], p['src_google_service'])
  const dstName = nameOf(p['dest_instance'], p['dest_gke_details'], p['dest_google_service'])
  // flow logs of dropped traffic carry `disposition: DROPPED` (and no counters); without the
  // field, the record is of allowed traffic, as all records were before it existed
  const observedAction = str(p['disposition'])?.toUpperCase() === 'DROPPED' ? 'reject' : 'accept'
  return {
    src,
    dst,
    srcPort,
    dstPort,
    protocol,
    start,
    end,
    packets,
    bytes,
    observedAction,
    direction: 'unknown',
    source: { format: 'gcp-vpc', file: ctx.file, line: lineNo },
    ...(srcName !== undefined ? { srcName } : {}),
    ...(dstName !== undefined ? { dstName } : {}),
  }
}

/**
 * The flow of a DENIED Firewall Rules Logging record: the connection as it was attempted, at the
 * LogEntry's `timestamp` (the record has no times of its own; a bare payload has none: `bad-time`),
 * no counters, `reject`, noted `firewall-denied`; the VM the rule protects (`instance`) names its
 * end. Not de-duplicated with the flow reports.
 */
function firewallDenied(
  entry: unknown,
  p: Record<string, unknown>,
  tuple: Pick<Flow, 'src' | 'dst' | 'srcPort' | 'dstPort' | 'protocol'>,
  where: string,
  line: string,
  lineNo: number,
  ctx: ParseContext,
): Flow | undefined {
  const e = obj(entry)
  const stamp = str(e?.['timestamp']) ?? str(e?.['receiveTimestamp'])
  const time = stamp !== undefined ? parseIsoTime(stamp) : undefined
  if (time === undefined) {
    skip(ctx, 'bad-time', where, line)
    return undefined
  }
  flowNote(ctx, 'firewall-denied')
  const rule = obj(p['rule_details'])
  const vm = str(obj(p['instance'])?.['vm_name'])
  const ingress = str(rule?.['direction'])?.toUpperCase() !== 'EGRESS'
  return {
    ...tuple,
    start: time,
    end: time,
    packets: 0,
    bytes: 0,
    observedAction: 'reject',
    direction: 'client-to-server',
    source: { format: 'gcp-vpc', file: ctx.file, line: lineNo },
    ...(vm !== undefined ? (ingress ? { dstName: vm } : { srcName: vm }) : {}),
  }
}

/** Longest line of a GCP export, bytes: a whole compact JSON array may be one line. */
export const GCP_MAX_LINE = 256 * 1024 * 1024

/**
 * GCP VPC Flow Logs: Cloud Logging `LogEntry` objects with the flow in `jsonPayload` (or bare
 * payload objects), one per line, pretty-printed, or in a top-level array (see
 * {@link JsonObjectSplitter}). `source.line` is the line the object starts on.
 *
 * - `connection{src_ip, src_port, dest_ip, dest_port, protocol}` → the 5-tuple (ports absent → 0);
 *   `start_time` / `end_time` RFC 3339 → ms; `bytes_sent` / `packets_sent` (int64 as strings) → counters.
 * - `observedAction`: `reject` for `disposition: DROPPED` (flow logs of dropped traffic, whose
 *   counters are not populated), else `accept` (without the field only allowed traffic is logged).
 * - One record per direction (`bytes_sent`/`packets_sent` count source → destination): reading
 *   pairs the two directions of a connection into one client→server flow, as for AWS.
 * - The same traffic is reported by both VMs (`reporter` SRC and DEST), each with its own
 *   sampling and interval: a report of the same 5-tuple from the other reporter whose interval
 *   overlaps a remembered one (within `GCP_DEDUP_SLACK_MS`), or with the same `start_time`,
 *   is dropped with `note('duplicate-report')` (see `GcpReports`, shared by the files of a read:
 *   the two reports may be in different files; the last `GCP_DEDUP_WINDOW`
 *   5-tuples are remembered); its byte counts are not added.
 * - Names: `src_gke_details.pod.pod_name`, else `src_instance.vm_name`, else
 *   `src_google_service.service_name` → `srcName` (and `dest_*` → `dstName`).
 * - `direction` is `unknown`; reading orients by ports.
 *
 * Firewall Rules Logging records (`compute.googleapis.com/firewall`, with `disposition` and
 * `rule_details`; in files of their own or among the flow records, as a sink on the
 * `gce_subnetwork` resource writes both): a DENIED one is the attempt the rule refused, a
 * `reject` flow at the entry's `timestamp` with no counters (note `firewall-denied`), oriented
 * as the connection was attempted. VPC Flow Logs sample egress before the firewall and ingress
 * after it, so an attempt the destination's rules denied is reported by its source only, as if
 * it went through: stored together, the two are one refusal (the store reads such a source
 * report `reject`, as for AWS: store `settleBothEnds`). An ALLOWED one is noted
 * `firewall-allowed` and not read: the flow logs report that traffic, with times and counters.
 * @see https://cloud.google.com/firewall/docs/firewall-rules-logging
 *
 * Skip reasons: `bad-json`, `record-too-large`, `no-connection`, `bad-address`, `bad-port`,
 * `bad-protocol`, `bad-time`, `end-before-start`, `window-too-long` (longer than
 * {@link GCP_MAX_WINDOW_MS}), `bad-counter`.
 */
export const gcpVpcParser: LineParser = {
  format: 'gcp-vpc',
  kind: 'lines',
  // `gcloud ... --format=json` piped through `jq -c` is one JSON array on a single line
  maxLineBytes: GCP_MAX_LINE,
  detect(head: Uint8Array): number {
    const t = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('utf8')
    if (!/^\uFEFF?\s*[[{]/.test(t)) return 0
    if (t.includes('"connection"') && t.includes('"src_ip"') && t.includes('"dest_ip"')) {
      return t.includes('vpc_flows') ||
        t.includes('"reporter"') ||
        t.includes('"bytes_sent"') ||
        t.includes('"rule_details"')
        ? 0.95
        : 0.7
    }
    return 0
  },
  async *parse(lines: AsyncIterable<string>, ctx: ParseContext): AsyncIterable<Flow> {
    // the other VM's report may be in another file of the read (sinks shard by hour)
    const dedup = ctx.run?.gcpReports ?? new GcpReports()
    const ready: RawRecord[] = []
    const splitter = new JsonObjectSplitter(
      GCP_MAX_RECORD,
      (r) => ready.push(r),
      (reason, line, text) => {
        skip(ctx, reason, `${ctx.file}:${line}`, text)
      },
    )
    let lineNo = 0
    for await (const raw of lines) {
      lineNo++
      splitter.line(lineNo === 1 ? raw.replace(/^\uFEFF/, '') : raw, lineNo)
      for (const r of ready) {
        const f = flowGiven(ctx.stats, parseRecord(r.text, r.line, ctx, dedup))
        if (f) yield f
      }
      ready.length = 0
    }
    splitter.end()
  },
}
