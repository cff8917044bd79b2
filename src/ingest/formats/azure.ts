/**
 * @module Azure NSG flow logs (version 1 and 2) and VNet flow logs (flowLogVersion 4).
 * @see https://learn.microsoft.com/azure/network-watcher/nsg-flow-logs-overview#log-format
 * @see https://learn.microsoft.com/azure/network-watcher/vnet-flow-logs-overview#log-format
 * @see https://learn.microsoft.com/azure/network-watcher/nsg-flow-logs-tutorial (the tuple fields:
 *   "the source IP address that the flow originated from")
 * @see https://learn.microsoft.com/azure/network-watcher/nsg-flow-logs-overview#how-nsg-flow-logs-work
 *   ("Deny rules are terminating. The network security group that's denying the traffic logs it")
 */
import {
  addCounters,
  BulkheadError,
  isCounter,
  type Flow,
  type ObservedAction,
} from '../../core/index.js'
import { parseAddress, parseCounter, parsePort, parseProtocolNumber, parseUint } from '../fields.js'
import { mixedFamilies } from '../direction.js'
import { cutJsonRecords, jsonErrorOffset, type CutJson } from '../json-objects.js'
import { CutInputError } from '../lines.js'
import {
  flowGiven,
  flowNote,
  note,
  skip,
  withNotesOf,
  type LineParser,
  type ParseContext,
} from '../types.js'

/**
 * Largest JSON document read, in UTF-16 code units (≈ bytes for ASCII JSON). Azure writes one
 * blob per resource per hour, so files are megabytes; a larger one is skipped as
 * `document-too-large` rather than exhausting memory.
 */
export const AZURE_MAX_DOCUMENT = 512 * 1024 * 1024

/**
 * VNet flow log encryption statuses whose packets are dropped, whatever the tuple's state says
 * (Microsoft's VNet flow logs overview, "Flow encryption"): `NX_NOT_ACCEPTED` ("If traffic
 * encryption fails, the packet is dropped"), `NX_SW_NOT_READY` ("In all these scenarios, the
 * packet is dropped") and `NX_NOT_SUPPORTED` ("In this case, the packet is dropped"). The others
 * (`X`, `NX`, `NX_HW_NOT_SUPPORTED`, `NX_LOCAL_DST`, `NX_FALLBACK`) pass the packet.
 */
const DROPPING_ENCRYPTION: ReadonlySet<string> = new Set([
  'NX_NOT_ACCEPTED',
  'NX_SW_NOT_READY',
  'NX_NOT_SUPPORTED',
])

/** Largest tuple time: 9999-12-31T23:59:59Z in Unix seconds. */
const MAX_SECONDS = 253_402_300_799

type Kind = 'nsg' | 'vnet'

function headText(head: Uint8Array): string {
  return Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('utf8')
}

function detectAzure(head: Uint8Array, kind: Kind): number {
  const t = headText(head)
  if (!/^\s*[[{]/.test(t)) return 0
  const hasTuples = t.includes('"flowTuples"')
  if (kind === 'vnet') {
    if (t.includes('"flowRecords"') || /"flowLogVersion"\s*:\s*4/.test(t))
      return hasTuples || t.includes('"flowGroups"') ? 0.95 : 0.7
    return 0
  }
  if (t.includes('"flowRecords"')) return 0
  if (t.includes('NetworkSecurityGroupFlowEvent')) return 0.95
  return hasTuples && t.includes('"records"') ? 0.8 : 0
}

/** A record of a document, with the nesting of the `records` array it is in (0: the document's). */
interface RecordAt {
  readonly record: unknown
  readonly depth: number
}

/** A document read: its records, and where it was cut when it was (the records before it). */
interface Blob {
  readonly records: readonly RecordAt[]
  /** Set when the document was cut short: the skip to report once its flows are out. */
  readonly cut?: { readonly where: string; readonly text: string }
}

/** Line (1-based) and column (1-based, UTF-16 units) of the offset `at` of `text`. */
function lineColumn(text: string, at: number): { line: number; column: number } {
  let line = 1
  let from = 0
  for (let i = text.indexOf('\n'); i >= 0 && i < at; i = text.indexOf('\n', i + 1)) {
    line++
    from = i + 1
  }
  return { line, column: at - from + 1 }
}

/**
 * Reads a blob's document: its records (see the module's parsers), or undefined when the file
 * holds none. A gzip file cut short (`ingest/truncated-input` from the line reader) is read as
 * the document its decompressed bytes hold, cut short where they end, and the error is returned
 * in `cut` to be thrown once the flows of the records before the cut are out, as every other
 * reader gives out the records before a gzip cut.
 */
async function readDocument(
  lines: AsyncIterable<string>,
  ctx: ParseContext,
): Promise<{ blob?: Blob; cut?: BulkheadError }> {
  const parts: string[] = []
  let size = 0
  let tooLarge = false
  let cut: BulkheadError | undefined
  try {
    for await (const l of lines) {
      if (tooLarge) continue
      size += l.length + 1
      if (size > AZURE_MAX_DOCUMENT) {
        tooLarge = true
        parts.length = 0
        continue
      }
      parts.push(l)
    }
  } catch (err) {
    if (!(err instanceof BulkheadError && err.diagnostics[0]?.code === 'ingest/truncated-input'))
      throw err
    cut = err
    // the line the cut fell in (a blob written on one line is all in it)
    if (err instanceof CutInputError && !tooLarge) {
      size += err.tail.length
      if (size > AZURE_MAX_DOCUMENT) tooLarge = true
      else parts.push(err.tail)
    }
  }
  const blob = tooLarge ? undefined : parseDocument(parts, ctx)
  if (tooLarge) {
    skip(
      ctx,
      'document-too-large',
      `${ctx.file}#0`,
      `document larger than ${AZURE_MAX_DOCUMENT} characters`,
    )
  }
  return { ...(blob !== undefined ? { blob } : {}), ...(cut !== undefined ? { cut } : {}) }
}

/** The records of a document read as `parts` (its lines). */
function parseDocument(parts: readonly string[], ctx: ParseContext): Blob | undefined {
  // a UTF-8 byte order mark (files saved by Windows tools) is not JSON, nor are the NUL bytes
  // a preallocated file keeps after its end
  const text = trimEnd(parts.join('\n').replace(/^\uFEFF/, ''))
  if (text.trim() === '') return undefined
  // one document, or several back to back (blobs joined with `cat`): each whole document's
  // records are read, and what follows the last one is read as a document cut short or is one
  // `bad-json`
  const records: RecordAt[] = []
  let from = 0
  let documents = 0
  const add = (doc: unknown): void => {
    documents++
    for (const record of recordsOf(doc)) records.push({ record, depth: 0 })
  }
  for (;;) {
    const part = from === 0 ? text : text.slice(from)
    try {
      add(JSON.parse(part) as unknown)
      break
    } catch (err) {
      const message = (err as Error).message
      const next = nextDocumentAt(message, part)
      if (next !== undefined) {
        add(JSON.parse(part.slice(0, next)) as unknown)
        from += next
        continue
      }
      const cut = cutJsonRecords(part, MAX_NESTING)
      if (cut !== undefined) {
        const salvaged = salvage(text, from, cut, ctx)
        for (const r of salvaged.records) records.push(r)
        noteDocuments(ctx, documents + 1)
        return { records, ...(salvaged.cut !== undefined ? { cut: salvaged.cut } : {}) }
      }
      const at = jsonErrorOffset(message, part)
      const line = at === undefined ? 0 : text.slice(0, from + at).split('\n').length
      skip(
        ctx,
        'bad-json',
        line > 0 ? `${ctx.file}:${line}` : ctx.file,
        `${message}: ${part.slice(0, 120)}`,
      )
      noteDocuments(ctx, documents)
      return documents > 0 ? { records } : undefined
    }
  }
  noteDocuments(ctx, documents)
  return { records }
}

/**
 * Where the next document starts when `part` is a whole JSON document followed by more text:
 * V8's `JSON.parse` reports the first non-white-space character after a complete value as
 * "Unexpected non-whitespace character after JSON at position N". Undefined otherwise.
 */
function nextDocumentAt(message: string, part: string): number | undefined {
  if (!message.includes('after JSON')) return undefined
  const at = jsonErrorOffset(message, part)
  return at !== undefined && at > 0 && at < part.length ? at : undefined
}

/** Notes the documents after the first of a file of several (`concatenated-documents`). */
function noteDocuments(ctx: ParseContext, documents: number): void {
  if (documents > 1) note(ctx, 'concatenated-documents', documents - 1)
}

/**
 * The records complete before the cut of a document cut short ({@link cutJsonRecords} of
 * `text` from offset `from`, where the last document of the file starts), and the `truncated`
 * skip to report: at the line and column where the text ends, with its byte offset (UTF-8, as
 * read: a byte order mark left out, a CR LF line end one byte).
 */
function salvage(text: string, from: number, cut: CutJson, ctx: ParseContext): Blob {
  const end = lineColumn(text, text.length)
  const records = cut.records.map((r) => ({
    record: JSON.parse(text.slice(from + r.start, from + r.end)) as unknown,
    depth: r.depth,
  }))
  const dropped =
    cut.cutRecordAt === undefined
      ? 'no record was cut'
      : `the record from line ${String(lineColumn(text, from + cut.cutRecordAt).line)} on is dropped`
  return {
    records,
    cut: {
      where: `${ctx.file}:${String(end.line)}:${String(end.column)}`,
      text: `document cut short at byte ${String(Buffer.byteLength(text))} (line ${String(end.line)}, column ${String(end.column)}): the ${String(records.length)} records whole before the cut are read; ${dropped}`,
    },
  }
}

/** `text` without trailing white space and NUL characters. */
function trimEnd(text: string): string {
  let end = text.length
  while (end > 0) {
    const c = text.charCodeAt(end - 1)
    if (c !== 0 && c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break
    end--
  }
  return text.slice(0, end)
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : ''
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : []
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {}
}

/** The records of a document: `{records: [...]}`, a bare array of records, or one record. */
function recordsOf(doc: unknown): unknown[] {
  if (Array.isArray(doc)) return doc
  const o = obj(doc)
  if (Array.isArray(o['records'])) return o['records']
  return [doc]
}

/** Deepest `{records: [...]}` nesting read (Microsoft's own v1 sample nests one by mistake). */
const MAX_NESTING = 4

/** A tuple as found in the document, with the network interface it was logged at. */
interface FoundTuple {
  /** The tuple string, or whatever else the array held (a `bad-tuple`). */
  readonly tuple: unknown
  /** The interface's MAC address as written (NSG: `flows[].flows[].mac`; VNet: `macAddress`), or ''. */
  readonly nic: string
}

/** Where {@link recordTuples} reports what it cannot read or does not know. */
interface Reporter {
  /**
   * An entry without the array its tuples are in: `at` is where it is; `otherKind` when it is a
   * record of the other kind (an NSG flow log record read as a VNet one, or the reverse).
   */
  empty(entry: unknown, at: string, otherKind?: boolean): void
  /** A record of a schema version the reader does not know (read as the known one): its value. */
  unknownVersion(version: unknown): void
  /** A record the same, in its JSON, as one read before in its document: not read again. */
  duplicate(): void
}

/**
 * Schema versions read: NSG flow logs `properties.Version` 1 and 2, VNet flow logs
 * `flowLogVersion` 4 (Microsoft's flow log overviews). A record of another version is read as
 * the known layout (a tuple of another field count is still `field-count`) and noted
 * `unknown-version:V` (V its JSON, one per record), so a change of layout does not go unseen.
 */
const KNOWN_VERSIONS: Readonly<Record<Kind, readonly unknown[]>> = { nsg: [1, 2], vnet: [4] }

/**
 * The tuples of one record in document order, for either kind. A record that is itself
 * `{records: [...]}` (at `depth` < {@link MAX_NESTING}) is read as those records; a record
 * without its `flows` array, and a rule, flow or flow group below it whose `flows`, `flowGroups`
 * or `flowTuples` is missing or no array, is reported through `report.empty` with where it is: `at`
 * (`record-N`, the file's N-th record from 0) and the keys and indexes down to it
 * (`record-0/flowRecords/flows/1`). An empty array is no traffic, not damage. A version outside
 * {@link KNOWN_VERSIONS} goes to `report.unknownVersion`.
 */
function* recordTuples(
  rec: unknown,
  kind: Kind,
  report: Reporter,
  depth: number,
  at: string,
  seen: Set<string> | undefined,
): Generator<FoundTuple> {
  const r = obj(rec)
  if (Array.isArray(r['records']) && depth < MAX_NESTING) {
    let k = 0
    for (const inner of r['records'])
      yield* recordTuples(inner, kind, report, depth + 1, `${at}/records/${String(k++)}`, seen)
    return
  }
  if (seen !== undefined) {
    const json = JSON.stringify(rec)
    if (seen.has(json)) {
      report.duplicate()
      return
    }
    seen.add(json)
  }
  const shaped =
    kind === 'nsg'
      ? Array.isArray(obj(r['properties'])['flows'])
      : Array.isArray(obj(r['flowRecords'])['flows'])
  if (!shaped) {
    // the other kind's record (a VNet flow log read with --format azure-nsg, or the reverse)
    const other =
      kind === 'nsg'
        ? Array.isArray(obj(r['flowRecords'])['flows'])
        : Array.isArray(obj(r['properties'])['flows'])
    report.empty(rec, at, other)
    return
  }
  const version = kind === 'nsg' ? obj(r['properties'])['Version'] : r['flowLogVersion']
  if (version !== undefined && !KNOWN_VERSIONS[kind].includes(version))
    report.unknownVersion(version)
  // a level below the record that is missing or no array (a rule without `flows`, a flow
  // group whose `flowTuples` is a string) holds tuples that cannot be read: counted, not dropped
  const kids = (parent: unknown, where: string, key: string): unknown[] => {
    const v = obj(parent)[key]
    if (Array.isArray(v)) return v
    report.empty(parent, where)
    return []
  }
  if (kind === 'nsg') {
    let i = 0
    for (const ruleFlows of asArray(obj(r['properties'])['flows'])) {
      const ruleAt = `${at}/properties/flows/${String(i++)}`
      let j = 0
      for (const macFlows of kids(ruleFlows, ruleAt, 'flows')) {
        const nic = text(obj(macFlows)['mac'])
        for (const tuple of kids(macFlows, `${ruleAt}/flows/${String(j++)}`, 'flowTuples'))
          yield { tuple, nic }
      }
    }
  } else {
    const nic = text(r['macAddress'])
    let i = 0
    for (const f of asArray(obj(r['flowRecords'])['flows'])) {
      const flowAt = `${at}/flowRecords/flows/${String(i++)}`
      let j = 0
      for (const g of kids(f, flowAt, 'flowGroups')) {
        for (const tuple of kids(g, `${flowAt}/flowGroups/${String(j++)}`, 'flowTuples'))
          yield { tuple, nic }
      }
    }
  }
}

/**
 * The tuples of a document's records in document order ({@link recordTuples}). In a document that
 * nests `{records: [...]}` in a record (Microsoft's own NSG v1 sample does, repeating in it
 * the two records before it), a record the same as one before is read once.
 */
function* blobTuples(blob: Blob, kind: Kind, report: Reporter): Generator<FoundTuple> {
  let n = 0
  const nests = blob.records.some(({ record }) => Array.isArray(obj(record)['records']))
  const seen = nests ? new Set<string>() : undefined
  for (const { record, depth } of blob.records)
    yield* recordTuples(record, kind, report, depth, `record-${String(n++)}`, seen)
}

/** A tuple read: its flow, and its flow state (`B`, `C`, `E`, VNet `D`, or '' in NSG v1). */
interface TupleRead {
  readonly flow: Flow
  readonly state: string
  /** Packets sent from the source to the destination since the last update (0 when not given). */
  readonly sent: number
  /** Packets sent from the destination to the source since the last update (0 when not given). */
  readonly received: number
}

function parseTuple(
  t: string,
  kind: Kind,
  index: number,
  ctx: ParseContext,
): TupleRead | undefined {
  const where = `${ctx.file}#${index}`
  const p = t.split(',')
  // NSG v1: 8 fields; NSG v2: 13; VNet v4: 13
  if (kind === 'nsg' ? p.length !== 8 && p.length !== 13 : p.length !== 13) {
    skip(ctx, 'field-count', where, t)
    return undefined
  }
  const f = (i: number): string => (p[i] ?? '').trim()
  const raw = parseUint(f(0))
  // NSG: Unix seconds, VNet: Unix milliseconds, at most 9999-12-31. A VNet time below 10^11
  // (March 1973 in milliseconds, long before VNet flow logs) is seconds — Microsoft's own
  // bandwidth example writes them — and read as such, noted
  if (raw === undefined || raw > (kind === 'nsg' ? MAX_SECONDS : MAX_SECONDS * 1000 + 999)) {
    skip(ctx, 'bad-time', where, t)
    return undefined
  }
  const seconds = kind === 'vnet' && raw < 1e11
  const ts = seconds ? raw * 1000 : raw
  const src = parseAddress(f(1))
  const dst = parseAddress(f(2))
  if (src === undefined || dst === undefined) {
    skip(ctx, 'bad-address', where, t)
    return undefined
  }
  // skipped here, as reading would skip its flow (direction.ts `checkAddressFamilies`), before
  // it is folded with other tuples and noted
  if (mixedFamilies(src, dst)) {
    skip(ctx, 'mixed-address-families', where, t)
    return undefined
  }
  const srcPort = parsePort(f(3))
  const dstPort = parsePort(f(4))
  if (srcPort === undefined || dstPort === undefined) {
    skip(ctx, 'bad-port', where, t)
    return undefined
  }
  let protocol: number | undefined
  let action: ObservedAction
  let state: string
  if (kind === 'nsg') {
    const pr = f(5)
    protocol = pr === 'T' ? 6 : pr === 'U' ? 17 : undefined
    const dec = f(7)
    action = dec === 'A' ? 'accept' : dec === 'D' ? 'reject' : 'unknown'
    if (action === 'unknown') {
      skip(ctx, 'bad-decision', where, t)
      return undefined
    }
    state = p.length === 13 ? f(8) : ''
  } else {
    protocol = parseProtocolNumber(f(5))
    state = f(7)
    action = state === 'D' || DROPPING_ENCRYPTION.has(f(8)) ? 'reject' : 'accept'
  }
  if (protocol === undefined) {
    skip(ctx, 'bad-protocol', where, t)
    return undefined
  }
  if (
    state !== '' &&
    state !== 'B' &&
    state !== 'C' &&
    state !== 'E' &&
    !(kind === 'vnet' && state === 'D')
  ) {
    skip(ctx, 'bad-state', where, t)
    return undefined
  }
  let packets = 0
  let bytes = 0
  let sent = 0
  let received = 0
  if (p.length === 13) {
    const c = [f(9), f(10), f(11), f(12)].map(parseCounter)
    if (c.some((x) => x === undefined)) {
      skip(ctx, 'bad-counter', where, t)
      return undefined
    }
    const [p1 = 0, b1 = 0, p2 = 0, b2 = 0] = c as number[]
    packets = p1 + p2
    bytes = b1 + b2
    sent = p1
    received = p2
    if (!isCounter(packets) || !isCounter(bytes)) {
      skip(ctx, 'bad-counter', where, t)
      return undefined
    }
  }
  // a note about the tuple's flow rides on it (types.ts `flowGiven`)
  if (seconds) flowNote(ctx, 'time-in-seconds')
  // NSG v1 tuples carry no counters: 0, noted as every reader notes counters it was not given
  if (p.length !== 13) flowNote(ctx, 'counters-not-logged')
  const ms = kind === 'nsg' ? ts * 1000 : ts
  const flow: Flow = {
    src,
    dst,
    srcPort,
    dstPort,
    protocol,
    start: ms,
    end: ms,
    packets,
    bytes,
    observedAction: action,
    // the tuple names the flow as it began: source = the side that opened it
    direction: 'client-to-server',
    source: { format: kind === 'nsg' ? 'azure-nsg' : 'azure-vnet', file: ctx.file, record: index },
  }
  return { flow: flowGiven(ctx.stats, flow), state, sent, received }
}

/**
 * A connection being folded: its flow so far, whether its `B` tuple is in this file, and the
 * packets each way its tuples counted.
 */
interface Held {
  readonly flow: Flow
  readonly begun: boolean
  readonly sent: number
  readonly received: number
}

/**
 * The flow of a connection whose `E` tuple has come: rejected, noted `unanswered-attempt`, when
 * it is a TCP connection begun in this file (its `B` tuple seen) that sent packets and got none
 * back. A TCP connection that opened got at least the SYN-ACK back, so zero packets "sent from
 * the destination to the source" over the whole connection (Microsoft's flow log schemas) is a
 * handshake never answered: the destination's NSG denied it (deny rules are terminating and
 * the NSG that denied it logs it: the source's NSG logs the allowed outbound attempt), or
 * nothing was there. It did not get through, so it is read as the attempt it was, like the
 * destination's `D` tuple of the same attempt. Without its `B` (a connection begun in an earlier
 * blob) or with no packets counted at all (NSG v1, the uncounted inbound flows of non-default
 * NSG rules) nothing is concluded.
 */
function ended(held: Held, ctx: ParseContext): Flow {
  if (held.flow.protocol === 6 && held.begun && held.sent > 0 && held.received === 0) {
    flowNote(ctx, 'unanswered-attempt')
    return flowGiven(ctx.stats, { ...held.flow, observedAction: 'reject' })
  }
  return held.flow
}

/**
 * One step of folding the tuples of a connection into one flow. Azure logs an accepted
 * connection as a `B` (begin) tuple without counters, `C` (continuing) tuples and an `E` (end)
 * tuple, each with the packets and bytes sent "since the last update" (Microsoft's NSG and VNet
 * flow log schemas), so one flow spans the first tuple's time to the last one's, with the
 * counters summed. `open` holds the connections begun and not yet ended, keyed by interface and
 * the tuple as written.
 *
 * - `B` opens a connection; a `B` for a connection still open ends the earlier one first (its
 *   `E` was not logged; noted `end-missed`).
 * - `C` adds to the open connection, or opens one (the connection began before this file).
 * - `E` adds and gives the connection out, or is a flow of its own when none is open; a TCP
 *   connection begun in this file that got no packet back is given out rejected ({@link ended}).
 * - A connection open at the end of the file is given out as it stands (accepted).
 * - A denied tuple, and a tuple without a state (NSG v1), is a flow of its own.
 *
 * Tuples folded into an earlier one are noted `merged-tuples`.
 * @returns the flows complete after this tuple, in the order they ended.
 */
function foldTuple(
  open: Map<string, Held>,
  read: TupleRead,
  nic: string,
  ctx: ParseContext,
): Flow[] {
  const { flow, state, sent, received } = read
  if (flow.observedAction !== 'accept' || (state !== 'B' && state !== 'C' && state !== 'E'))
    return [flow]
  const key = `${nic}|${String(flow.protocol)}|${flow.src}|${String(flow.srcPort)}|${flow.dst}|${String(flow.dstPort)}`
  const held = open.get(key)
  if (state === 'B' || held === undefined) {
    if (state === 'E') return [flow]
    open.delete(key)
    open.set(key, { flow, begun: state === 'B', sent, received })
    if (held === undefined) return []
    note(ctx, 'end-missed')
    return [held.flow]
  }
  note(ctx, 'merged-tuples')
  const merged: Held = {
    // the notes of every tuple folded in (types.ts `withNotesOf`)
    flow: withNotesOf(
      {
        ...held.flow,
        start: Math.min(held.flow.start, flow.start),
        end: Math.max(held.flow.end, flow.end),
        packets: addCounters(held.flow.packets, flow.packets),
        bytes: addCounters(held.flow.bytes, flow.bytes),
      },
      held.flow,
      flow,
    ),
    begun: held.begun,
    sent: addCounters(held.sent, sent),
    received: addCounters(held.received, received),
  }
  if (state === 'E') {
    open.delete(key)
    return [ended(merged, ctx)]
  }
  open.set(key, merged)
  return []
}

function makeParser(kind: Kind): LineParser {
  return {
    format: kind === 'nsg' ? 'azure-nsg' : 'azure-vnet',
    kind: 'lines',
    // a blob may be one JSON document on a single line
    maxLineBytes: AZURE_MAX_DOCUMENT,
    detect: (head) => detectAzure(head, kind),
    async *parse(lines, ctx) {
      const { blob, cut } = await readDocument(lines, ctx)
      if (blob !== undefined) yield* blobFlows(blob, kind, ctx, cut === undefined)
      // a gzip file cut short: the flows of the records before the cut are out
      if (cut !== undefined) throw cut
    },
  }
}

/**
 * The flows of a blob's records, in tuple order, then those of connections still open at its end;
 * then the blob's `truncated` skip when it was cut short and `reportCut`.
 */
function* blobFlows(blob: Blob, kind: Kind, ctx: ParseContext, reportCut: boolean): Iterable<Flow> {
  let index = 0
  const report: Reporter = {
    empty: (entry, at, otherKind) => {
      // a record of the other kind says so first, with the format that reads it
      const said =
        otherKind === true
          ? kind === 'nsg'
            ? 'a VNet flow log record (read it with --format azure-vnet): '
            : 'an NSG flow log record (read it with --format azure-nsg): '
          : ''
      skip(ctx, 'bad-record', `${ctx.file}#${at}`, said + jsonText(entry))
    },
    unknownVersion: (version) => {
      note(ctx, `unknown-version:${JSON.stringify(version).slice(0, 40)}`)
    },
    duplicate: () => {
      note(ctx, 'duplicate-record')
    },
  }
  const open = new Map<string, Held>()
  for (const { tuple, nic } of blobTuples(blob, kind, report)) {
    const i = index++
    if (typeof tuple !== 'string') {
      skip(ctx, 'bad-tuple', `${ctx.file}#${i}`, jsonText(tuple))
      continue
    }
    const read = parseTuple(tuple, kind, i, ctx)
    if (read) yield* foldTuple(open, read, nic, ctx)
  }
  // connections the file does not see end (an hourly blob cuts long ones; the next blob
  // continues them with C tuples)
  if (open.size > 0) note(ctx, 'open-at-end', open.size)
  for (const held of open.values()) yield held.flow
  // a document cut short: its complete records are out; the cut is one skip (fatal in strict)
  if (blob.cut !== undefined && reportCut) skip(ctx, 'truncated', blob.cut.where, blob.cut.text)
}

/**
 * Azure NSG flow logs v1/v2: JSON `{"records":[...]}`, tuples in
 * `properties.flows[].flows[].flowTuples[]` as
 * `unixSeconds,src,dst,srcPort,dstPort,T|U,I|O,A|D,B|C|E,pktsS2D,bytesS2D,pktsD2S,bytesD2S`
 * (v1: the first 8 fields only).
 *
 * - One file is one JSON document (or several back to back, below), read whole (Azure writes
 *   one blob per NSG per hour, so a few MB); at most {@link AZURE_MAX_DOCUMENT}.
 * - `A`/`D` → accept/reject; `T`/`U` → 6/17; counters are empty on `B` → 0; packets and bytes
 *   are the sum of both directions' counters.
 * - One flow per accepted connection: its `B`, `C` and `E` tuples (same interface, same tuple as
 *   written) are folded into one flow from the first tuple's time to the last one's, counters
 *   summed ({@link foldTuple}); `source.record` is the 0-based index of its first tuple in the
 *   file. A connection the file does not see end is given out at the end of the file (noted
 *   `open-at-end`; the next hour's blob continues it). A denied tuple, and a v1 tuple, is one
 *   flow with `start = end` = its time.
 * - An attempt the source's NSG let out and nothing answered: a TCP connection whose `B` and `E`
 *   are in the file and whose tuples count packets sent and none received is `reject` (noted
 *   `unanswered-attempt`), as the destination's `D` tuple of it is: when the destination's NSG
 *   denies a connection, the source's NSG (which allowed it out) logs `A`, `B`, then `E` with
 *   no packet received, so without this the attempt would read as a dependency that worked.
 * - Direction: a tuple names its flow as the flow began — "the source IP address that the flow
 *   originated from", with both directions' counters in one tuple — so every flow is
 *   `client-to-server` as written, and tuples are never turned or paired with the reverse
 *   direction. The `I`/`O` field is the NSG's view (into or out of the interface), not
 *   client/server. The outer `rule` name is not kept.
 * - A record that is itself `{"records": [...]}` is read as those records (Microsoft's own v1
 *   sample nests one); a record with no `flows` is skipped as `bad-record`.
 * - A document cut short (a blob downloaded while Azure was still writing it, a failed copy:
 *   every token valid JSON up to the end, the end inside the document; json-objects
 *   `cutJsonRecords`) is read as the records whole before the cut, and the cut is one
 *   `truncated` skip at the line and column where the text ends (its example gives the byte
 *   offset and the line where the cut record began), after their flows; `--strict` makes it
 *   fatal. The record the cut falls in is dropped whole, complete tuples and all: a tuple string
 *   closed by its quote is whole text, but what it means depends on its record (the `mac` of
 *   its interface, which folds B/C/E tuples, may follow the tuples in the record, and an NSG
 *   record is one minute of the blob). A connection whose later tuples the cut took is given
 *   out up to its last tuple before the cut, as at the end of an hourly blob (`open-at-end`).
 *   Text that no continuation makes JSON (a broken record in the middle, another copy after
 *   the cut) stays one `bad-json`. A gzip file cut short is read so too, up to the end of what
 *   it decompresses to, and then fails as every reader does on a gzip cut
 *   (`ingest/truncated-input`, which names the cut), without a `truncated` skip of its own.
 * - Several documents back to back (hourly blobs joined with `cat`) are each read, their records
 *   in file order as one blob's (noted `concatenated-documents`, one per document after the
 *   first); text after a whole document that is no document (a line pasted after it) is one
 *   `bad-json` at its line, and the documents before it are read.
 *
 * Skip reasons: `bad-json`, `truncated`, `document-too-large`, `bad-record`, `bad-tuple`,
 * `field-count`, `bad-time`, `bad-address`, `mixed-address-families` (an IPv4 and an IPv6 end),
 * `bad-port`, `bad-protocol`, `bad-decision`, `bad-state`, `bad-counter`.
 */
export const azureNsgParser: LineParser = makeParser('nsg')

/**
 * Azure VNet flow logs (flowLogVersion 4): tuples in `flowRecords.flows[].flowGroups[].flowTuples[]`
 * as `epochMillis,src,dst,srcPort,dstPort,ianaProtocol,I|O,B|C|E|D,encryption,pktsS2D,bytesS2D,pktsD2S,bytesD2S`.
 * State `D` (denied), or an encryption status whose packets are dropped (`NX_NOT_ACCEPTED`,
 * `NX_SW_NOT_READY`, `NX_NOT_SUPPORTED`) → `reject`, else `accept`. Otherwise as
 * {@link azureNsgParser} (whole document in memory, one flow per accepted connection from its
 * `B`/`C`/`E` tuples of one `macAddress`, `source.record` = index of its first tuple,
 * `client-to-server` as written, a document cut short read up to its last whole record and
 * counted `truncated`, a gzip file cut short likewise, then `ingest/truncated-input`).
 */
export const azureVnetParser: LineParser = makeParser('vnet')

/**
 * JSON text of a value for a skip example, or `String(value)` for what JSON cannot write
 * (`undefined`, functions), or a placeholder for what is too deeply nested to write.
 */
function jsonText(value: unknown): string {
  let text: string | undefined
  try {
    text = JSON.stringify(value)
  } catch {
    return '(too deeply nested to show)'
  }
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- typed string, yet undefined for `undefined`
  return text ?? String(value)
}
