/**
 * @module Bulkhead's own flow lines: written ({@link flowToJson}: what `bulkhead flows -o jsonl`
 * and `bulkhead collect` print) and read back, so that collected flows reach the store
 * (`bulkhead collect > f.jsonl`, then `bulkhead ingest f.jsonl`).
 */
import type { Flow, FlowDirection, ObservedAction } from '../../core/index.js'
import { parseAddress, parseIsoTime } from '../fields.js'
import { firstJsonObject, jsonRecord, skip, type LineParser, type ParseContext } from '../types.js'

/** The keys of a line that {@link parseLine} needs; the others are optional. */
const REQUIRED = [
  'src',
  'dst',
  'srcPort',
  'dstPort',
  'protocol',
  'start',
  'end',
  'packets',
  'bytes',
  'observedAction',
  'direction',
] as const

const ACTIONS: ReadonlySet<string> = new Set<ObservedAction>(['accept', 'reject', 'unknown'])
const DIRECTIONS: ReadonlySet<string> = new Set<FlowDirection>([
  'client-to-server',
  'server-to-client',
  'unknown',
])

/**
 * A flow as a line of this format prints it (`flows -o jsonl`, `collect`): the {@link Flow} fields with `start`/`end` as ISO-8601 UTC strings
 * (`2014-12-14T04:06:50.000Z`); optional fields only when set.
 */
export function flowToJson(f: Flow): Record<string, unknown> {
  return {
    src: f.src,
    srcPort: f.srcPort,
    dst: f.dst,
    dstPort: f.dstPort,
    protocol: f.protocol,
    start: new Date(f.start).toISOString(),
    end: new Date(f.end).toISOString(),
    packets: f.packets,
    bytes: f.bytes,
    observedAction: f.observedAction,
    direction: f.direction,
    ...(f.tcpFlags !== undefined ? { tcpFlags: f.tcpFlags } : {}),
    ...(f.srcName !== undefined ? { srcName: f.srcName } : {}),
    ...(f.dstName !== undefined ? { dstName: f.dstName } : {}),
    ...(f.srcLabels !== undefined ? { srcLabels: f.srcLabels } : {}),
    ...(f.dstLabels !== undefined ? { dstLabels: f.dstLabels } : {}),
    source: f.source,
  }
}

function uint(v: unknown, max: number): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max ? v : undefined
}

/** A `{key: value}` object of strings (the labels a format gave), or undefined when not one. */
function labels(v: unknown): Readonly<Record<string, string>> | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined
  return Object.values(v).every((x) => typeof x === 'string')
    ? (v as Record<string, string>)
    : undefined
}

type OptionalFields = Pick<Flow, 'tcpFlags' | 'srcName' | 'dstName' | 'srcLabels' | 'dstLabels'>

/**
 * The optional fields of a line, those present only; undefined when one is not as
 * {@link flowToJson} writes it (TCP flags an integer 0–0xfff, names strings, labels objects of
 * strings).
 */
function optionalFields(o: Record<string, unknown>): OptionalFields | undefined {
  const name = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
  const readers = {
    tcpFlags: (v: unknown) => uint(v, 0xfff),
    srcName: name,
    dstName: name,
    srcLabels: labels,
    dstLabels: labels,
  }
  const out: Record<string, unknown> = {}
  for (const [key, read] of Object.entries(readers)) {
    if (o[key] === undefined) continue
    const v = read(o[key])
    if (v === undefined) return undefined
    out[key] = v
  }
  return out
}

function parseLine(line: string, lineNo: number, ctx: ParseContext): Flow | undefined {
  const where = `${ctx.file}:${lineNo}`
  const o = jsonRecord(line, ctx, where)
  if (o === undefined) return undefined
  const src = typeof o['src'] === 'string' ? parseAddress(o['src']) : undefined
  const dst = typeof o['dst'] === 'string' ? parseAddress(o['dst']) : undefined
  if (src === undefined || dst === undefined) {
    skip(ctx, 'bad-address', where, line)
    return undefined
  }
  const srcPort = uint(o['srcPort'], 65535)
  const dstPort = uint(o['dstPort'], 65535)
  if (srcPort === undefined || dstPort === undefined) {
    skip(ctx, 'bad-port', where, line)
    return undefined
  }
  const protocol = uint(o['protocol'], 255)
  if (protocol === undefined) {
    skip(ctx, 'bad-protocol', where, line)
    return undefined
  }
  const start = typeof o['start'] === 'string' ? parseIsoTime(o['start']) : undefined
  const end = typeof o['end'] === 'string' ? parseIsoTime(o['end']) : undefined
  if (start === undefined || end === undefined) {
    skip(ctx, 'bad-time', where, line)
    return undefined
  }
  if (end < start) {
    skip(ctx, 'end-before-start', where, line)
    return undefined
  }
  const packets = uint(o['packets'], Number.MAX_SAFE_INTEGER)
  const bytes = uint(o['bytes'], Number.MAX_SAFE_INTEGER)
  if (packets === undefined || bytes === undefined) {
    skip(ctx, 'bad-counter', where, line)
    return undefined
  }
  const action = o['observedAction']
  const direction = o['direction']
  const optional = optionalFields(o)
  if (
    typeof action !== 'string' ||
    !ACTIONS.has(action) ||
    typeof direction !== 'string' ||
    !DIRECTIONS.has(direction) ||
    optional === undefined
  ) {
    skip(ctx, 'bad-field', where, line)
    return undefined
  }
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
    observedAction: action as ObservedAction,
    direction: direction as FlowDirection,
    source: { format: 'bulkhead-jsonl', file: ctx.file, line: lineNo },
    ...optional,
  }
}

/**
 * Bulkhead's flow lines (`flows -o jsonl`, `collect`): one JSON object per line with the
 * {@link Flow} fields, `start`/`end` as ISO-8601 UTC. The flows are taken as written: their
 * direction and observed action were decided when they were first read. `source` becomes this
 * file and line (the line's own `source`, where it was first read, is not kept). Blank lines are
 * skipped silently.
 *
 * Skip reasons: `bad-json`, `bad-address`, `bad-port`, `bad-protocol`, `bad-time`,
 * `end-before-start`, `bad-counter`, `bad-field` (an observed action, direction, TCP flags, name
 * or labels not as `flows -o jsonl` writes them).
 */
export const bulkheadJsonlParser: LineParser = {
  format: 'bulkhead-jsonl',
  kind: 'lines',
  // the fields every line must have (parseLine); `source` is what `flows -o jsonl` adds, and a
  // line written by hand or by another program without it is read all the same
  detect(head: Uint8Array): number {
    const v = firstJsonObject(head)
    if (v === undefined || !REQUIRED.every((k) => k in v)) return 0
    const source = v['source']
    return typeof source === 'object' && source !== null && 'format' in source ? 0.98 : 0.95
  },
  async *parse(lines: AsyncIterable<string>, ctx: ParseContext): AsyncIterable<Flow> {
    let lineNo = 0
    for await (const raw of lines) {
      lineNo++
      const line = lineNo === 1 ? raw.replace(/^\uFEFF/, '') : raw
      if (line.trim() === '') continue
      const f = parseLine(line, lineNo, ctx)
      if (f) yield f
    }
  },
}
