/**
 * @module AWS VPC Flow Logs and Transit Gateway flow logs (text, space-separated).
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html
 * @see https://docs.aws.amazon.com/vpc/latest/tgw/tgw-flow-logs.html
 */
import { hasPorts, type Flow, type ObservedAction } from '../../core/index.js'
import {
  ACTION_ACCEPT,
  ACTION_REJECT,
  ACTION_UNKNOWN,
  DIR_UNKNOWN,
  type FlowColumns,
  type StringTable,
} from '../columnar.js'
import { cloudWatchMessagesIn, startsJson } from '../cloudwatch.js'
import { parseAddress } from '../fields.js'
import { ColumnLineReader } from '../column-reader.js'
import {
  newStats,
  flowGiven,
  flowNote,
  note,
  skip,
  type LineParser,
  type LineReader,
  type ParseContext,
} from '../types.js'

/**
 * Largest `start`/`end`: 9999-12-31T23:59:59Z in Unix seconds (AWS writes seconds; a value in
 * milliseconds is past it and is `bad-time`, not a date 50 000 years ahead).
 */
const MAX_SECONDS = 253_402_300_799

/**
 * Longest window (`end − start`, seconds) of an AWS record. AWS aggregates a flow over at most
 * 10 minutes (Amazon VPC User Guide, "Flow log records", "Aggregation interval"), and each time
 * may lag its packet by up to 60 s; a record that spans longer (a start typed decades early) is
 * damaged and skipped as `window-too-long`. One hour leaves a margin of five intervals.
 */
export const AWS_MAX_WINDOW_S = 3600

/** The default (version 2) field order, used when there is no header and no `--fields`. */
export const AWS_DEFAULT_FIELDS: readonly string[] = [
  'version',
  'account-id',
  'interface-id',
  'srcaddr',
  'dstaddr',
  'srcport',
  'dstport',
  'protocol',
  'packets',
  'bytes',
  'start',
  'end',
  'action',
  'log-status',
]

/**
 * The Transit Gateway flow log default format: every version 2 to 6 field in the order of AWS's
 * table, which a record without a header line (CloudWatch Logs delivers none) is read in when it
 * has that many fields, version 6 and a `resource-type` of a transit gateway.
 * @see https://docs.aws.amazon.com/vpc/latest/tgw/tgw-flow-logs.html ("Default format")
 */
export const AWS_TGW_DEFAULT_FIELDS: readonly string[] = (
  'version resource-type account-id tgw-id tgw-attachment-id tgw-src-vpc-account-id ' +
  'tgw-dst-vpc-account-id tgw-src-vpc-id tgw-dst-vpc-id tgw-src-subnet-id tgw-dst-subnet-id ' +
  'tgw-src-eni tgw-dst-eni tgw-src-az-id tgw-dst-az-id tgw-pair-attachment-id srcaddr dstaddr ' +
  'srcport dstport protocol packets bytes start end log-status type packets-lost-no-route ' +
  'packets-lost-blackhole packets-lost-mtu-exceeded packets-lost-ttl-expired tcp-flags region ' +
  'flow-direction pkt-src-aws-service pkt-dst-aws-service'
).split(' ')

/**
 * Every field name AWS documents for VPC (v2–v5, ECS, VPC encryption controls) and Transit
 * Gateway flow logs. A header or `--fields` may name others (AWS adds fields over time): their
 * columns are read past, noted `ignored-field:<name>`.
 */
export const AWS_FIELD_NAMES: ReadonlySet<string> = new Set([
  ...AWS_DEFAULT_FIELDS,
  'encryption-status',
  'vpc-id',
  'subnet-id',
  'instance-id',
  'tcp-flags',
  'type',
  'pkt-srcaddr',
  'pkt-dstaddr',
  'region',
  'az-id',
  'sublocation-type',
  'sublocation-id',
  'pkt-src-aws-service',
  'pkt-dst-aws-service',
  'flow-direction',
  'traffic-path',
  'ecs-cluster-arn',
  'ecs-cluster-name',
  'ecs-container-instance-arn',
  'ecs-container-instance-id',
  'ecs-container-id',
  'ecs-second-container-id',
  'ecs-service-name',
  'ecs-task-definition-arn',
  'ecs-task-arn',
  'ecs-task-id',
  'reject-reason',
  'resource-type',
  'tgw-id',
  'tgw-attachment-id',
  'tgw-src-vpc-account-id',
  'tgw-dst-vpc-account-id',
  'tgw-src-vpc-id',
  'tgw-dst-vpc-id',
  'tgw-src-subnet-id',
  'tgw-dst-subnet-id',
  'tgw-src-eni',
  'tgw-dst-eni',
  'tgw-src-az-id',
  'tgw-dst-az-id',
  'tgw-pair-attachment-id',
  'packets-lost-no-route',
  'packets-lost-blackhole',
  'packets-lost-mtu-exceeded',
  'packets-lost-ttl-expired',
])

/** Column indexes of the fields the parser uses; -1 when absent. */
interface Layout {
  readonly n: number
  readonly version: number
  readonly src: number
  readonly dst: number
  readonly srcPort: number
  readonly dstPort: number
  readonly protocol: number
  readonly packets: number
  readonly bytes: number
  readonly start: number
  readonly end: number
  readonly action: number
  readonly logStatus: number
  readonly tcpFlags: number
  readonly pktSrc: number
  readonly pktDst: number
  readonly flowDirection: number
  readonly ecsService: number
  readonly ecsTask: number
  /** Columns of the Transit Gateway `packets-lost-*` counters present (none in VPC layouts). */
  readonly lost: readonly number[]
}

/**
 * The Transit Gateway counters of packets the gateway dropped: for want of a route, to a
 * blackhole route, for exceeding the MTU, for an expired TTL ("Transit Gateway Flow Log
 * records", available fields).
 */
const PACKETS_LOST_FIELDS = [
  'packets-lost-no-route',
  'packets-lost-blackhole',
  'packets-lost-mtu-exceeded',
  'packets-lost-ttl-expired',
]

function layoutOf(names: readonly string[]): Layout {
  const at = (n: string): number => names.indexOf(n)
  return {
    n: names.length,
    version: at('version'),
    src: at('srcaddr'),
    dst: at('dstaddr'),
    srcPort: at('srcport'),
    dstPort: at('dstport'),
    protocol: at('protocol'),
    packets: at('packets'),
    bytes: at('bytes'),
    start: at('start'),
    end: at('end'),
    action: at('action'),
    logStatus: at('log-status'),
    tcpFlags: at('tcp-flags'),
    pktSrc: at('pkt-srcaddr'),
    pktDst: at('pkt-dstaddr'),
    flowDirection: at('flow-direction'),
    ecsService: at('ecs-service-name'),
    ecsTask: at('ecs-task-id'),
    lost: PACKETS_LOST_FIELDS.map(at).filter((i) => i >= 0),
  }
}

/** A field name as AWS spells them: lower-case letters, digits and `-`, starting with a letter. */
const FIELD_NAME = /^[a-z][a-z0-9-]*$/

/**
 * Field names from a `--fields` value or a header line: names separated by spaces (and, in
 * `--fields` only, commas), each optionally wrapped as AWS writes its format string
 * (`${srcaddr}`); `_` is read as `-` (Athena / CloudWatch column spelling). Names AWS has added
 * since {@link AWS_FIELD_NAMES} was written are allowed (their columns are read past).
 * @returns undefined unless every name has the shape of a field name and `srcaddr` and
 *   `dstaddr` are both present (so no record line is taken for a header).
 */
export function parseAwsFieldList(text: string, separators = /[\s,]+/): string[] | undefined {
  const names = text
    .trim()
    .split(separators)
    .filter((t) => t !== '')
    .map((t) =>
      t
        .replace(/^\$\{(.*)\}$/, '$1')
        .replace(/_/g, '-')
        .toLowerCase(),
    )
  if (names.length === 0 || !names.every((n) => FIELD_NAME.test(n))) return undefined
  if (!names.includes('srcaddr') || !names.includes('dstaddr')) return undefined
  return names
}

/** Notes the names of `names` that AWS_FIELD_NAMES does not know (`ignored-field:<name>`). */
function noteIgnoredFields(ctx: ParseContext, names: readonly string[]): void {
  for (const n of names) if (!AWS_FIELD_NAMES.has(n)) note(ctx, `ignored-field:${n}`)
}

const DEFAULT_LAYOUT = layoutOf(AWS_DEFAULT_FIELDS)
const TGW_DEFAULT_LAYOUT = layoutOf(AWS_TGW_DEFAULT_FIELDS)

function isHeaderCandidate(line: string): boolean {
  const c = line.charCodeAt(0)
  // header lines start with a field name: a lower-case letter or `$`
  return (c >= 97 && c <= 122) || c === 36
}

/** Token start offsets of the current line (the end of token i is `starts[i + 1] - 1`). */
const MAX_TOKENS = 128
const starts = new Int32Array(MAX_TOKENS + 1)

/**
 * Splits `line` on single spaces into {@link starts}; returns the token count, or -1 when a token
 * is empty (double or edge spaces, tabs) or there are more than {@link MAX_TOKENS}.
 */
function tokenize(line: string): number {
  const n = line.length
  let k = 0
  let pos = 0
  for (;;) {
    const sp = line.indexOf(' ', pos)
    if (sp < 0) break
    if (sp === pos || k >= MAX_TOKENS - 1) return -1
    starts[k++] = pos
    pos = sp + 1
  }
  if (pos >= n) return -1
  starts[k++] = pos
  starts[k] = n + 1
  return line.indexOf('\t') < 0 ? k : -1
}

/**
 * Largest `version` read as one: AWS numbers the versions that added fields 2, 3, 4, 5 (VPC) and
 * 6 (Transit Gateway); a record's `version` is 2 in the default format, and in a custom one the
 * highest version among its fields (Amazon VPC user guide, "Flow log records", available
 * fields). Room is left for versions AWS adds.
 */
const MAX_VERSION = 99

/**
 * True when `v` (a decimal read with {@link MAX_VERSION} as its maximum, negative when not one)
 * is a version AWS can write: 2 … {@link MAX_VERSION}.
 */
function plausibleVersion(v: number): boolean {
  return v >= 2
}

/** Non-negative decimal in `line[a, b)`, at most `max`; -1 for `-`; -2 when malformed. */
function uintAt(line: string, i: number, max: number): number {
  if (i < 0) return -1
  const a = starts[i] as number
  const b = (starts[i + 1] as number) - 1
  if (b - a === 1 && line.charCodeAt(a) === 45) return -1
  if (b <= a || b - a > 16) return -2
  let v = 0
  for (let j = a; j < b; j++) {
    const d = line.charCodeAt(j) - 48
    if (d < 0 || d > 9) return -2
    v = v * 10 + d
  }
  return v <= max ? v : -2
}

/** The text of token `i` (`-` when the field is absent from the layout). */
function tokenAt(line: string, i: number): string {
  if (i < 0) return '-'
  return line.slice(starts[i], (starts[i + 1] as number) - 1)
}

/**
 * True when a Transit Gateway record's `packets-lost-*` counters (summed: `lost`) account for
 * all of its `packets` (-1 when not given): the gateway delivered none of the flow. AWS does
 * not say whether `packets` counts the lost ones; either way a flow delivered in none has
 * `lost` > 0 and `lost` ≥ `packets`.
 */
function allLost(lost: number, packets: number): boolean {
  return lost > 0 && lost >= packets
}

/**
 * True when the flow fields of a record are all `-`: both ends (`ps`, `pd`: the columns read as
 * source and destination), `protocol` and `action` where the layout has them, as in AWS's
 * NODATA and SKIPDATA records ("Flow log record examples": `- - - - - - -` and action `-`).
 * A format without `log-status` tells such a record only so.
 */
function noFlowFields(line: string, L: Layout, ps: number, pd: number): boolean {
  return (
    tokenIs(line, ps, '-') &&
    tokenIs(line, pd, '-') &&
    (L.protocol < 0 || tokenIs(line, L.protocol, '-')) &&
    (L.action < 0 || tokenIs(line, L.action, '-'))
  )
}

/**
 * The tokens before the record in `line` (its `n` tokens just read by {@link tokenize}) when the
 * record has `fields` tokens: 0 for none, 1 after an event time ({@link EVENT_TIME}: CloudWatch
 * Logs' export to S3 and `aws logs tail --format short` write `<time> <message>`), 2 after an event
 * time and a log stream (`aws logs tail`'s `detailed` and `json` formats `<time> <stream>
 * <message>`, {@link TAIL_TIME}); -1 when the count fits none of them.
 */
function tokensBefore(line: string, n: number, fields: number): number {
  if (n === fields) return 0
  if (n === fields + 1 && EVENT_TIME.test(line)) return 1
  if (n === fields + 2 && TAIL_TIME.test(line)) return 2
  return -1
}

/**
 * The default layout of a record in a file without a header line, `line` with its `n` tokens just
 * read by {@link tokenize}, after what CloudWatch Logs puts before it ({@link tokensBefore}): the
 * Transit Gateway default ({@link AWS_TGW_DEFAULT_FIELDS}: that many tokens, version 6, and a
 * `resource-type` of `TransitGateway` or `TransitGatewayAttachment`) or the VPC default (14
 * tokens); undefined for neither.
 */
function headerlessLayout(line: string, n: number): Layout | undefined {
  const k = tokensBefore(line, n, TGW_DEFAULT_LAYOUT.n)
  if (
    k >= 0 &&
    tokenIs(line, k, '6') &&
    (tokenIs(line, k + 1, 'TransitGateway') || tokenIs(line, k + 1, 'TransitGatewayAttachment'))
  )
    return TGW_DEFAULT_LAYOUT
  return tokensBefore(line, n, DEFAULT_LAYOUT.n) >= 0 ? DEFAULT_LAYOUT : undefined
}

/** True when token `i` is exactly `text`. */
function tokenIs(line: string, i: number, text: string): boolean {
  if (i < 0) return false
  const a = starts[i] as number
  const b = (starts[i + 1] as number) - 1
  return b - a === text.length && line.startsWith(text, a)
}

/**
 * The event time CloudWatch Logs puts before each message of a log group's events: when it exports
 * the group to S3 (`2019-08-26T19:49:00.000Z 2 123456789010 eni-… ACCEPT OK`), and as
 * `aws logs tail` (AWS CLI v2) prints them: `--format short` writes the UTC time without a zone
 * (`2026-03-02T10:00:55 2 …`), `--format detailed` (the default) and `json` the time with its
 * offset and then the log stream's name (`2026-03-02T10:00:55.123000+00:00 eni-0a1b-all 2 …`).
 * The record follows; its own `start` and `end` are its times.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/S3Export.html
 * @see https://docs.aws.amazon.com/cli/latest/reference/logs/tail.html
 */
const EVENT_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})? /
/** {@link EVENT_TIME} as `aws logs tail --format detailed` writes it: with an offset. */
const TAIL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?[+-]\d{2}:\d{2} /

/**
 * The per-line state machine of the AWS parser: the current field order (reset by a header
 * line). Synchronous, so it can be measured and reused without the async plumbing.
 */
export class AwsLineReader implements LineReader {
  layout: Layout = DEFAULT_LAYOUT
  /** The names of `ctx.fields` (`--fields`), space-joined; undefined without it. */
  private readonly given: string | undefined
  constructor(readonly ctx: ParseContext) {
    if (ctx.fields !== undefined) {
      const names = parseAwsFieldList(ctx.fields)
      if (names) {
        this.layout = layoutOf(names)
        this.given = names.join(' ')
        noteIgnoredFields(ctx, names)
      } else skip(ctx, 'bad-fields', `${ctx.file}:0`, ctx.fields)
    }
  }

  /**
   * Where the record of `line` starts (its `n` tokens just read by {@link tokenize}), after what
   * CloudWatch Logs puts before it ({@link tokensBefore}), else 0.
   */
  private recordStart(line: string, n: number): number {
    const k = tokensBefore(line, n, this.layout.n)
    return k > 0 ? (starts[k] as number) : 0
  }

  /** One line (1-based `lineNo`) → a flow, or undefined (header, blank, note or skip recorded in ctx). */
  line(raw: string, lineNo: number): Flow | undefined {
    const ctx = this.ctx
    const file = ctx.file
    if (raw.length === 0) return undefined
    // a byte order mark before the first line (some editors and exporters write one)
    let line = lineNo === 1 && raw.startsWith('\uFEFF') ? raw.slice(1) : raw
    if (isHeaderCandidate(line)) {
      // S3 delivery writes the header with spaces, as the records
      const names = parseAwsFieldList(line, /\s+/)
      if (names) {
        this.layout = layoutOf(names)
        noteIgnoredFields(ctx, names)
        // the file says its own order: `--fields` holds only until a header says otherwise
        if (this.given !== undefined && this.given !== names.join(' '))
          note(ctx, 'header-overrides-fields')
        return undefined
      }
    }
    let n = tokenize(line)
    let at = this.recordStart(line, n)
    if (at > 0) {
      line = line.slice(at)
      n = tokenize(line)
    }
    if (n !== this.layout.n) {
      // tolerate runs of spaces or tabs: normalise and tokenize again
      line = line.trim().split(/\s+/).join(' ')
      n = tokenize(line)
      // no header line nor --fields: each record in the default it is in, a Transit Gateway
      // record in its own (36 fields) as a VPC one (14), whatever the records before it
      if (
        this.given === undefined &&
        (this.layout === DEFAULT_LAYOUT || this.layout === TGW_DEFAULT_LAYOUT)
      ) {
        const L = headerlessLayout(line, n)
        if (L !== undefined && L !== this.layout) {
          this.layout = L
          if (L === TGW_DEFAULT_LAYOUT) note(ctx, 'tgw-default-fields')
        }
      }
      at = this.recordStart(line, n)
      if (at > 0) {
        line = line.slice(at)
        n = tokenize(line)
      }
      if (n !== this.layout.n) {
        skip(ctx, 'field-count', `${file}:${lineNo}`, raw)
        return undefined
      }
    }
    const L = this.layout
    if (L.version >= 0 && !plausibleVersion(uintAt(line, L.version, MAX_VERSION))) {
      // a line of something else that happens to have the layout's token count
      skip(ctx, 'bad-version', `${file}:${lineNo}`, raw)
      return undefined
    }
    if (L.logStatus >= 0 && !tokenIs(line, L.logStatus, 'OK')) {
      if (tokenIs(line, L.logStatus, 'NODATA')) {
        note(ctx, 'nodata')
        return undefined
      }
      if (tokenIs(line, L.logStatus, 'SKIPDATA')) {
        note(ctx, 'skipdata')
        return undefined
      }
      // AWS writes only these three: anything else is a damaged record (often the last line of
      // a file cut while copied, `… ACCEPT O`)
      skip(ctx, 'bad-log-status', `${file}:${lineNo}`, raw)
      return undefined
    }
    const ps = L.pktSrc >= 0 && !tokenIs(line, L.pktSrc, '-') ? L.pktSrc : L.src
    const pd = L.pktDst >= 0 && !tokenIs(line, L.pktDst, '-') ? L.pktDst : L.dst
    if (L.logStatus < 0 && noFlowFields(line, L, ps, pd)) {
      // a NODATA or SKIPDATA record of a format that does not log which (AWS writes them in
      // every format): no flow, and no damage either
      note(ctx, 'nodata-or-skipdata')
      return undefined
    }
    const src = parseAddress(tokenAt(line, ps))
    const dst = parseAddress(tokenAt(line, pd))
    if (src === undefined || dst === undefined) {
      skip(ctx, 'bad-address', `${file}:${lineNo}`, raw)
      return undefined
    }
    const srcPort = uintAt(line, L.srcPort, 65535)
    const dstPort = uintAt(line, L.dstPort, 65535)
    if (srcPort === -2 || dstPort === -2) {
      skip(ctx, 'bad-port', `${file}:${lineNo}`, raw)
      return undefined
    }
    const protocol = uintAt(line, L.protocol, 255)
    if (protocol < 0) {
      // a format without the field cannot give a flow its service
      skip(ctx, L.protocol < 0 ? 'no-protocol' : 'bad-protocol', `${file}:${lineNo}`, raw)
      return undefined
    }
    if (
      ((srcPort === -1 && L.srcPort >= 0) || (dstPort === -1 && L.dstPort >= 0)) &&
      hasPorts(protocol)
    ) {
      // "-" is a value AWS "could not compute": a TCP flow without its port has no service
      skip(ctx, 'no-port', `${file}:${lineNo}`, raw)
      return undefined
    }
    const packets = uintAt(line, L.packets, Number.MAX_SAFE_INTEGER)
    const bytes = uintAt(line, L.bytes, Number.MAX_SAFE_INTEGER)
    if (packets === -2 || bytes === -2) {
      skip(ctx, 'bad-counter', `${file}:${lineNo}`, raw)
      return undefined
    }
    // "-": the counters could not be computed; a format without them never has them. Either
    // way the flow is kept with 0, and that is said
    if (L.packets < 0 || L.bytes < 0) flowNote(ctx, 'counters-not-logged')
    else if (packets === -1 || bytes === -1) flowNote(ctx, 'unknown-counters')
    // packets a Transit Gateway dropped ("-": none counted)
    let lost = 0
    for (const i of L.lost) {
      const v = uintAt(line, i, Number.MAX_SAFE_INTEGER)
      if (v === -2) {
        skip(ctx, 'bad-counter', `${file}:${lineNo}`, raw)
        return undefined
      }
      if (v > 0) lost += v
    }
    let startMs: number
    let endMs: number
    if (L.start < 0 && L.end < 0) {
      // a custom format without times: the file's time (name or mtime), noted as such
      const t = ctx.fileTime
      if (t === undefined) {
        skip(ctx, 'no-time', `${file}:${lineNo}`, raw)
        return undefined
      }
      flowNote(ctx, t.from === 'name' ? 'time-from-file-name' : 'time-from-file-mtime')
      startMs = endMs = t.ms
    } else {
      // one of the two alone stands for both
      const s = uintAt(line, L.start < 0 ? L.end : L.start, MAX_SECONDS)
      const e = uintAt(line, L.end < 0 ? L.start : L.end, MAX_SECONDS)
      if (s < 0 || e < 0) {
        skip(ctx, 'bad-time', `${file}:${lineNo}`, raw)
        return undefined
      }
      if (e < s) {
        skip(ctx, 'end-before-start', `${file}:${lineNo}`, raw)
        return undefined
      }
      if (e - s > AWS_MAX_WINDOW_S) {
        skip(
          ctx,
          'window-too-long',
          `${file}:${lineNo}`,
          raw,
          undefined,
          `start to end is ${String(e - s)} s, where AWS aggregates over at most 600 s (read up to ${String(AWS_MAX_WINDOW_S)} s)`,
        )
        return undefined
      }
      startMs = s * 1000
      endMs = e * 1000
    }
    let observedAction: ObservedAction
    if (tokenIs(line, L.action, 'ACCEPT')) observedAction = 'accept'
    else if (tokenIs(line, L.action, 'REJECT')) observedAction = 'reject'
    else if (L.action < 0 || tokenIs(line, L.action, '-')) observedAction = 'unknown'
    else {
      skip(ctx, 'bad-action', `${file}:${lineNo}`, raw)
      return undefined
    }
    if (allLost(lost, packets) && observedAction !== 'reject') {
      // every packet the Transit Gateway saw of the flow it dropped (a blackhole route, no
      // route): the attempt did not get through, as a security group's REJECT
      observedAction = 'reject'
      flowNote(ctx, 'lost-at-transit-gateway')
    }
    let flow: Flow = {
      src,
      dst,
      srcPort: srcPort < 0 ? 0 : srcPort,
      dstPort: dstPort < 0 ? 0 : dstPort,
      protocol,
      start: startMs,
      end: endMs,
      packets: packets < 0 ? 0 : packets,
      bytes: bytes < 0 ? 0 : bytes,
      observedAction,
      direction: 'unknown',
      source: { format: 'aws-vpc', file, line: lineNo },
    }
    if (L.tcpFlags >= 0) {
      const f = uintAt(line, L.tcpFlags, 0xfff)
      if (f >= 0) flow = { ...flow, tcpFlags: f }
    }
    if (L.flowDirection >= 0 && (L.ecsService >= 0 || L.ecsTask >= 0)) {
      const svc = tokenAt(line, L.ecsService)
      const name = svc !== '-' ? svc : tokenAt(line, L.ecsTask)
      if (name !== '-') {
        if (tokenIs(line, L.flowDirection, 'egress')) flow = { ...flow, srcName: name }
        else if (tokenIs(line, L.flowDirection, 'ingress')) flow = { ...flow, dstName: name }
      }
    }
    return flow
  }
}

/**
 * Parses AWS VPC / Transit Gateway flow log records.
 *
 * - Field order: default v2 (14 fields) unless a header line (S3 exports start every file with
 *   one; concatenated exports repeat it, and a repeated header resets the order) or
 *   `ctx.fields` (`--fields "version srcaddr ..."`, `${...}` wrappers allowed) says otherwise.
 * - `-` is no value ("not applicable or could not be computed"): counters 0 (noted
 *   `unknown-counters`; a custom format without `packets` or `bytes`: 0, noted
 *   `counters-not-logged`), action `unknown` (TGW records have no `action`), ports 0 for protocols
 *   without ports; a TCP, UDP, DCCP, SCTP or UDP-Lite record with a `-` port is skipped as
 *   `no-port` (its service is unknown).
 * - `log-status` NODATA / SKIPDATA → `note('nodata' | 'skipdata')`, no flow; any other value but
 *   `OK` is `bad-log-status`. In a format without `log-status`, a record whose ends (and
 *   `protocol` and `action`, where logged) are all `-` is one of those two →
 *   `note('nodata-or-skipdata')`, no flow.
 * - Field names AWS_FIELD_NAMES does not know are read past, noted `ignored-field:<name>`.
 * - Transit Gateway `packets-lost-*` (no route, blackhole, MTU exceeded, TTL expired): a record
 *   whose lost packets account for all its `packets` is `reject` (noted
 *   `lost-at-transit-gateway`): the gateway delivered none of it. A malformed count is
 *   `bad-counter`; `-` counts none.
 * - `pkt-srcaddr` / `pkt-dstaddr`, when present and not `-`, are the real endpoints behind NAT
 *   or a load balancer, and are used as `src` / `dst`.
 * - `start` / `end` Unix seconds → ms (a format with only one of them: it stands for both; with
 *   neither: `ctx.fileTime` for both, noted `time-from-file-name` / `time-from-file-mtime`, or
 *   skipped as `no-time` when there is none); protocol IANA number; `tcp-flags` kept in `tcpFlags`.
 * - ECS: `ecs-service-name` (else `ecs-task-id`) names the side that owns the interface, which
 *   only `flow-direction` tells: `egress` → `srcName`, `ingress` → `dstName`; otherwise unused.
 * - `direction` is `unknown`: reading orients and pairs the two halves (`direction.ts`).
 *
 * - `version`, when the layout has it, must be a plausible version (a decimal 2–99: 2 in the
 *   default format, the highest version among the fields in a custom one), else the line is
 *   not a record of the layout (`bad-version`), however many tokens it has.
 *
 * Skip reasons: `field-count`, `bad-version`, `bad-log-status`, `bad-address`, `bad-port`, `no-port`,
 * `bad-protocol`, `no-protocol` (the format has no `protocol` field), `bad-counter`, `bad-time`,
 * `no-time`, `end-before-start`, `window-too-long` (longer than {@link AWS_MAX_WINDOW_S}), `bad-action`, `bad-fields` (unusable `--fields`).
 */
export const awsVpcParser: LineParser = {
  format: 'aws-vpc',
  kind: 'lines',
  detect(head: Uint8Array): number {
    // run the parser itself over the first lines: the share of lines it reads is the confidence
    const text = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('utf8')
    // CloudWatch Logs JSON (cloudwatch.ts): the records are the events' messages
    const json = startsJson(head)
    const lines = json ? cloudWatchMessagesIn(text).slice(0, 50) : text.split('\n', 51)
    if (!json && (lines.length > 50 || !text.endsWith('\n'))) lines.pop()
    // (a format without times reads with any file time)
    const ctx: ParseContext = {
      file: '(detect)',
      strict: false,
      stats: newStats(),
      fileTime: { ms: 0, from: 'mtime' },
    }
    const reader = new AwsLineReader(ctx)
    let good = 0
    let seen = 0
    let header = false
    for (let i = 0; i < lines.length; i++) {
      const line = (lines[i] ?? '').replace(/\r$/, '')
      if (line.trim() === '') continue
      seen++
      const before = reader.layout
      if (reader.line(line, i + 1) !== undefined) good++
      else if (reader.layout !== before) {
        header = true
        good++
      }
    }
    good +=
      (ctx.stats.notes.nodata ?? 0) +
      (ctx.stats.notes.skipdata ?? 0) +
      (ctx.stats.notes['nodata-or-skipdata'] ?? 0)
    if (seen === 0) return 0
    const frac = good / seen
    if (frac >= 0.8) return 0.95
    // a header line naming only AWS flow log fields (with srcaddr and dstaddr) says what the
    // file is even when its records are bad: read it, and count the bad records by reason
    if (header) return 0.7
    return frac >= 0.5 ? 0.6 : 0
  },
  reader(ctx: ParseContext): AwsLineReader {
    return new AwsLineReader(ctx)
  },
  async *parse(lines: AsyncIterable<string>, ctx: ParseContext): AsyncIterable<Flow> {
    const reader = new AwsLineReader(ctx)
    let lineNo = 0
    for await (const raw of lines) {
      const flow = flowGiven(ctx.stats, reader.line(raw, ++lineNo))
      if (flow !== undefined) yield flow
    }
  },
}

/** Token starts of the current line in {@link AwsColumnReader} (byte offsets; end of token i is `bstarts[i + 1] - 1`). */
const bstarts = new Int32Array(MAX_TOKENS + 1)

/**
 * What the single pass of {@link AwsColumnReader} computes for each token of the current line,
 * by the token's role ({@link rolesOf}): a decimal (`-1` for `-`, `-2` when not all digits,
 * `-3` when longer than 15 characters: the line reader decides those), or a canonical dotted
 * quad as a uint32 (first octet most significant; `-1` for anything else). Other tokens: unused.
 */
const bvals = new Float64Array(MAX_TOKENS)

/**
 * The role of a token in the single pass (see {@link rolesOf}): 0 only find its end,
 * {@link DECIMAL} read a decimal, {@link ADDRESS} read a dotted quad.
 */
const DECIMAL = 1
const ADDRESS = 2

/** The role of each token of a layout (0, {@link DECIMAL} or {@link ADDRESS}). */
function rolesOf(L: Layout): Uint8Array {
  const roles = new Uint8Array(L.n)
  for (const i of [L.src, L.dst, L.pktSrc, L.pktDst]) if (i >= 0) roles[i] = ADDRESS
  for (const i of [L.version, L.srcPort, L.dstPort, L.protocol, L.packets, L.bytes, L.start, L.end])
    if (i >= 0) roles[i] = DECIMAL
  if (L.tcpFlags >= 0) roles[L.tcpFlags] = DECIMAL
  for (const i of L.lost) roles[i] = DECIMAL
  return roles
}

/** The decimal of token `i` (see {@link bvals}) when at most `max`, else -2; -1 when `i < 0`. */
function decimal(i: number, max: number): number {
  if (i < 0) return -1
  const v = bvals[i] as number
  return v > max ? -2 : v
}

/** True when token `i` of `buf` is the ASCII word `w` (given as char codes). */
function wordIs(buf: Buffer, i: number, w: readonly number[]): boolean {
  const a = bstarts[i] as number
  if ((bstarts[i + 1] as number) - 1 - a !== w.length) return false
  for (let j = 0; j < w.length; j++) if (buf[a + j] !== w[j]) return false
  return true
}

const W_OK = [79, 75]
const W_ACCEPT = [65, 67, 67, 69, 80, 84]
const W_REJECT = [82, 69, 74, 69, 67, 84]

/**
 * One pass over the line `buf[a, e)`, where `buf[e]` is its LF (the blocks of `splitLineBlocks`
 * end with one): splits it on single spaces into {@link bstarts} and reads each token as its role
 * asks into {@link bvals}. False when the line does not have exactly `roles.length` non-empty
 * tokens, or holds a tab or another control character (the line reader decides such a line).
 * Each loop stops at the first byte ≤ 32 (a space, the LF, a control character), so no loop
 * needs a bound: the LF at `buf[e]` ends the last token.
 */
function scanLine(buf: Buffer, a: number, e: number, roles: Uint8Array): boolean {
  const nt = roles.length
  let j = a
  for (let k = 0; k < nt; k++) {
    const t = j
    bstarts[k] = t
    const role = roles[k] as number
    let c = buf[j] as number
    if (role === DECIMAL) {
      let v = 0
      let d = c - 48
      while (d >>> 0 <= 9) {
        v = v * 10 + d
        c = buf[++j] as number
        d = c - 48
      }
      if (c > 32) {
        // not all digits: `-` alone is no value; the line reader decides the rest
        do c = buf[++j] as number
        while (c > 32)
        const len = j - t
        bvals[k] = len > 15 ? -3 : len === 1 && buf[t] === 45 ? -1 : -2
      } else bvals[k] = j - t > 15 ? -3 : v
    } else if (role === ADDRESS) {
      // the canonical dotted quad, as column-reader.ts `ipv4At` reads it: no leading zeros,
      // octets 0-255
      let v = 0
      let octet = 0
      let nd = 0
      let first = 0
      let dots = 0
      let ok = true
      for (; c > 32; c = buf[++j] as number) {
        if (c === 46) {
          if (nd === 0 || octet > 255 || (nd > 1 && first === 0)) ok = false
          v = v * 256 + octet
          dots++
          nd = 0
          octet = 0
        } else {
          const d = c - 48
          if (d >>> 0 > 9 || nd === 3) ok = false
          else {
            if (nd === 0) first = d
            octet = octet * 10 + d
            nd++
          }
        }
      }
      bvals[k] =
        ok && dots === 3 && nd > 0 && octet <= 255 && (nd === 1 || first !== 0)
          ? v * 256 + octet
          : -1
    } else while (c > 32) c = buf[++j] as number
    if (j === t) return false
    if (c !== 32) {
      // the LF after the last token; a tab, another control character or too few tokens: not plain
      if (j !== e || k !== nt - 1) return false
      bstarts[nt] = e + 1
      return true
    }
    j++
  }
  return false
}

/**
 * The AWS parser reading bytes into columns: each line of a block is read straight from its
 * bytes when it has the plain shape (single-space separated, the layout's field count, `OK`
 * status, canonical IPv4 addresses, decimal fields, `ACCEPT`/`REJECT`/`-` action); every other
 * line (headers, NODATA/SKIPDATA, IPv6, malformed, CR endings, tabs, ECS layouts) goes to
 * {@link AwsLineReader} as text, so flows, skips, examples and notes are exactly the line
 * reader's. The rows are unpaired and undirected (`direction` unknown), as the line reader's.
 */
export class AwsColumnReader extends ColumnLineReader {
  /** The line reader behind the slow path; its `layout` is the current field order. */
  override readonly lines: AwsLineReader
  private layout: Layout | undefined
  /** The role of each token of `layout` ({@link rolesOf}). */
  private roles: Uint8Array = new Uint8Array(0)
  private fast = false

  constructor(
    ctx: ParseContext,
    private readonly table: StringTable,
    maxLineBytes: number,
  ) {
    super(ctx, maxLineBytes)
    this.lines = new AwsLineReader(ctx)
    this.sync()
  }

  protected sync(): void {
    const L = this.lines.layout
    if (L === this.layout) return
    this.layout = L
    this.roles = rolesOf(L)
    // ECS names need the slow path; so do layouts without the fields every row needs
    this.fast =
      !(L.flowDirection >= 0 && (L.ecsService >= 0 || L.ecsTask >= 0)) &&
      L.n <= MAX_TOKENS &&
      L.src >= 0 &&
      L.dst >= 0 &&
      L.protocol >= 0 &&
      L.packets >= 0 &&
      L.bytes >= 0 &&
      L.start >= 0 &&
      L.end >= 0
  }

  /** The plain-shape line `buf[a, e)`; false (nothing recorded) when it is not plain. */
  protected fastLine(buf: Buffer, a: number, e: number, lineNo: number, out: FlowColumns): boolean {
    if (!this.fast) return false
    const len = e - a
    if (len === 0 || len * 3 > this.maxLineBytes) return false
    const c0 = buf[a] as number
    if ((c0 >= 97 && c0 <= 122) || c0 === 36 || buf[e - 1] === 13) return false
    if (!scanLine(buf, a, e, this.roles)) return false
    const L = this.layout as Layout
    // a version that is none: the line reader skips it (bad-version)
    if (L.version >= 0 && !plausibleVersion(decimal(L.version, MAX_VERSION))) return false
    if (L.logStatus >= 0 && !wordIs(buf, L.logStatus, W_OK)) return false
    const ps = L.pktSrc >= 0 && !wordIs(buf, L.pktSrc, W_DASH) ? L.pktSrc : L.src
    const pd = L.pktDst >= 0 && !wordIs(buf, L.pktDst, W_DASH) ? L.pktDst : L.dst
    // both ends canonical IPv4, so never of two IP versions (an IPv6 line is the line reader's,
    // whose record column-reader.ts `text` skips as `mixed-address-families` when it is one)
    const src = bvals[ps] as number
    const dst = bvals[pd] as number
    if (src < 0 || dst < 0) return false
    const srcPort = decimal(L.srcPort, 65535)
    const dstPort = decimal(L.dstPort, 65535)
    if (srcPort < -1 || dstPort < -1) return false
    // "-" in a port of the layout: the line reader decides (no-port, or 0 without ports)
    if ((srcPort === -1 && L.srcPort >= 0) || (dstPort === -1 && L.dstPort >= 0)) return false
    const protocol = decimal(L.protocol, 255)
    if (protocol < 0) return false
    const packets = decimal(L.packets, Number.MAX_SAFE_INTEGER)
    const bytes = decimal(L.bytes, Number.MAX_SAFE_INTEGER)
    if (packets < -1 || bytes < -1) return false
    // "-" in a counter of the layout: the line reader notes it
    if ((packets === -1 && L.packets >= 0) || (bytes === -1 && L.bytes >= 0)) return false
    // Transit Gateway lost packets: a malformed count, or a flow the gateway delivered in none,
    // is the line reader's (bad-counter; reject, noted)
    let lost = 0
    for (const i of L.lost) {
      const v = decimal(i, Number.MAX_SAFE_INTEGER)
      if (v < -1) return false
      if (v > 0) lost += v
    }
    if (allLost(lost, packets)) return false
    const s = decimal(L.start, MAX_SECONDS)
    const t = decimal(L.end, MAX_SECONDS)
    if (s < 0 || t < s || t - s > AWS_MAX_WINDOW_S) return false
    let action: number
    if (L.action < 0) action = ACTION_UNKNOWN
    else if (wordIs(buf, L.action, W_ACCEPT)) action = ACTION_ACCEPT
    else if (wordIs(buf, L.action, W_REJECT)) action = ACTION_REJECT
    else if (wordIs(buf, L.action, W_DASH)) action = ACTION_UNKNOWN
    else return false
    let flags = -1
    if (L.tcpFlags >= 0) {
      flags = decimal(L.tcpFlags, 0xfff)
      if (flags === -3) return false
      if (flags < 0) flags = -1
    }
    out.reserve(1)
    const r = out.n++
    const table = this.table
    out.src[r] = table.ipv4(src)
    out.dst[r] = table.ipv4(dst)
    out.srcPort[r] = srcPort < 0 ? 0 : srcPort
    out.dstPort[r] = dstPort < 0 ? 0 : dstPort
    out.protocol[r] = protocol
    out.start[r] = s * 1000
    out.end[r] = t * 1000
    out.packets[r] = packets < 0 ? 0 : packets
    out.bytes[r] = bytes < 0 ? 0 : bytes
    out.action[r] = action
    out.direction[r] = DIR_UNKNOWN
    out.tcpFlags[r] = flags
    out.srcName[r] = -1
    out.dstName[r] = -1
    out.line[r] = lineNo
    out.notes[r] = -1
    return true
  }
}

const W_DASH = [45]
