/**
 * @module GCP VPC Flow Logs: Cloud Logging `LogEntry` JSON lines (or bare `jsonPayload` objects).
 * @see https://cloud.google.com/vpc/docs/about-flow-logs-records
 */
import type { Flow } from '../../core/index.js'
import { parseAddress, parseIsoTime, parseProtocolNumber } from '../fields.js'
import { note, skip, type LineParser, type ParseContext } from '../types.js'

/** How many report keys are remembered to drop the second report of a connection. */
export const GCP_DEDUP_WINDOW = 100_000

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

function nameOf(instance: unknown, gke: unknown): string | undefined {
  const pod = obj(obj(gke)?.['pod'])
  return str(pod?.['pod_name']) ?? str(obj(instance)?.['vm_name'])
}

/** The flow payload of a line: `jsonPayload` of a LogEntry, or the object itself when it has `connection`. */
function payloadOf(v: unknown): Record<string, unknown> | undefined {
  const o = obj(v)
  if (!o) return undefined
  const p = obj(o['jsonPayload'])
  if (p) return p
  return obj(o['connection']) ? o : undefined
}

class Dedup {
  private readonly seen = new Set<string>()
  /** True when `key` was seen (within the window); remembers it otherwise. */
  check(key: string): boolean {
    if (this.seen.has(key)) return true
    this.seen.add(key)
    if (this.seen.size > GCP_DEDUP_WINDOW) {
      const oldest = this.seen.values().next().value
      if (oldest !== undefined) this.seen.delete(oldest)
    }
    return false
  }
}

function parseLine(
  line: string,
  lineNo: number,
  ctx: ParseContext,
  dedup: Dedup,
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
  const bytes = int(p['bytes_sent'], Number.MAX_SAFE_INTEGER, 0)
  const packets = int(p['packets_sent'], Number.MAX_SAFE_INTEGER, 0)
  if (bytes === undefined || packets === undefined) {
    skip(ctx, 'bad-counter', where, line)
    return undefined
  }
  if (dedup.check(`${protocol}|${src}|${srcPort}|${dst}|${dstPort}|${startText}`)) {
    note(ctx, 'duplicate-report')
    return undefined
  }
  const srcName = nameOf(p['src_instance'], p['src_gke_details'])
  const dstName = nameOf(p['dest_instance'], p['dest_gke_details'])
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
    observedAction: 'accept',
    direction: 'unknown',
    source: { format: 'gcp-vpc', file: ctx.file, line: lineNo },
    ...(srcName !== undefined ? { srcName } : {}),
    ...(dstName !== undefined ? { dstName } : {}),
  }
}

/**
 * GCP VPC Flow Logs, one JSON object per line: a Cloud Logging `LogEntry` with the flow in
 * `jsonPayload`, or the bare payload object.
 *
 * - `connection{src_ip, src_port, dest_ip, dest_port, protocol}` → the 5-tuple (ports absent → 0);
 *   `start_time` / `end_time` RFC 3339 → ms; `bytes_sent` / `packets_sent` (int64 as strings) → counters.
 * - Only accepted traffic is logged: `observedAction` is `accept`.
 * - The same connection is reported by both VMs (`reporter` SRC and DEST): the second report with
 *   the same 5-tuple and `start_time` (among the last {@link GCP_DEDUP_WINDOW} keys) is dropped
 *   with `note('duplicate-report')`; its byte counts are not added.
 * - Names: `src_gke_details.pod.pod_name`, else `src_instance.vm_name` → `srcName` (and `dest_*` → `dstName`).
 * - `direction` is `unknown`; reading orients by ports.
 *
 * Skip reasons: `bad-json`, `no-connection`, `bad-address`, `bad-port`, `bad-protocol`,
 * `bad-time`, `end-before-start`, `bad-counter`.
 */
export const gcpVpcParser: LineParser = {
  format: 'gcp-vpc',
  kind: 'lines',
  detect(head: Uint8Array): number {
    const t = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('utf8')
    if (!/^\s*\{/.test(t)) return 0
    if (t.includes('"connection"') && t.includes('"src_ip"') && t.includes('"dest_ip"')) {
      return t.includes('vpc_flows') || t.includes('"reporter"') || t.includes('"bytes_sent"')
        ? 0.95
        : 0.7
    }
    return 0
  },
  async *parse(lines: AsyncIterable<string>, ctx: ParseContext): AsyncIterable<Flow> {
    const dedup = new Dedup()
    let lineNo = 0
    for await (const line of lines) {
      lineNo++
      if (line.trim() === '') continue
      const f = parseLine(line, lineNo, ctx, dedup)
      if (f) yield f
    }
  },
}
