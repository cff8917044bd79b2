/**
 * Wireshark's `cflow` dissector (tshark) as an independent oracle for the NetFlow v5 / v9 / IPFIX
 * decoder, on the real exporters' files of `../shared/corpora/netflow`.
 *
 * Each capture (one exporter: its template files, then its data files) is split into datagrams
 * as our reader splits it ({@link splitDatagrams}), each datagram wrapped into UDP to port 2055
 * (v5, v9) or 4739 (IPFIX) from one exporter address in a libpcap file, and the file read with
 * `tshark -r FILE -d udp.port==2055,cflow -d udp.port==4739,cflow -T json --no-duplicate-keys -J
 * cflow`. The layer compared is {@link NetflowDecoder.decode}'s flows: one flow per data record,
 * before firewall events are merged (netflow/events.ts) and before a read's templates are shared
 * between files (netflow/run.ts). tshark's data records with both addresses are matched, in order,
 * with our flows of the same datagram (`source.record`); options records (no addresses) are not
 * flows. Compared: addresses, ports, protocol, packets, bytes, TCP flags (of TCP flows), and
 * start / end where tshark gives the times (absolute, or relative to the header's sysUptime).
 *
 * The IPFIX captures are also sent as one TCP connection and one SCTP association, and the
 * NetFlow v9 ones as one SCTP association ({@link streamFrames}, `-d tcp.port==4739,cflow -d sctp.port==4739,cflow -o
 * sctp.reassembly:TRUE`): each message cut over two segments or DATA chunks, which tshark and our
 * capture reader (netflow/streams.ts) put together before decoding; our reader must give back
 * exactly the messages sent, and their records must agree with tshark's as over UDP.
 *
 * Where our flow is not what tshark shows by design, the expected value is derived from tshark's
 * fields by a named rule ({@link EXCEPTIONS}); each use is counted and the counts are asserted,
 * so that a new kind of record shows up here. Needs tshark; without it the tests skip with the
 * reason, except under `BULKHEAD_REQUIRE_CAPTURE=1` (set by `.ci/run`), where it fails.
 *
 * @remarks tshark field names: `tshark -G fields` (Wireshark 4.0); which element fills which field:
 * Wireshark's epan/dissectors/packet-netflow.c (e.g. 139 icmpTypeCodeIPv6 → icmp_ipv6_type/code).
 * The ICMP type·256 + code convention in the destination port of v5 (and of v9 exporters that keep
 * it): Cisco NetFlow v5 export format; RFC 5103 §6.1 for YAF's reverse elements.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Flow } from '../../src/core/flow.js'
import { splitDatagrams } from '../../src/ingest/formats/netflow.js'
import { NetflowDecoder } from '../../src/ingest/netflow/decoder.js'
import { ether, ipv4, pcap, sctp, sctpData, SYN, tcp, udp } from './capture-builders.js'
import { CaptureReader } from '../../src/ingest/netflow/pcap.js'
import { CORPUS_SKIP, corpusPath } from '../helpers/corpora.js'

const DIR = corpusPath('netflow/')

/** Why tshark cannot be run here, or undefined when it can. */
function tsharkUnsupported(): string | undefined {
  const version = spawnSync('tshark', ['--version'], { encoding: 'utf8' })
  if (version.error || version.status !== 0) return 'tshark is not installed'
  return undefined
}

const unsupported = tsharkUnsupported()
if (unsupported !== undefined && process.env['BULKHEAD_REQUIRE_CAPTURE'] === '1')
  throw new Error(`tshark required (BULKHEAD_REQUIRE_CAPTURE=1): ${unsupported}`)
// with ../shared present, a missing netflow folder fails the tests (it does not skip them)
const skipReason = unsupported ?? CORPUS_SKIP

/**
 * One exporter's files in the order it sent them (templates first), and how often each named
 * difference ({@link EXCEPTIONS}) applies to its records. Every `.dat` file of the corpus is in
 * exactly one capture (checked below).
 */
interface Capture {
  readonly files: readonly string[]
  readonly exceptions: Partial<Record<Exception, number>>
  /** The datagrams' header count differs from their records: see {@link DATAGRAM_EXCEPTIONS}. */
  readonly datagrams?: DatagramException
}

const CAPTURES: readonly Capture[] = [
  { files: ['netflow5.dat'], exceptions: {} },
  {
    files: ['netflow5_test_invalid01.dat'],
    exceptions: {},
    datagrams: 'v5-count-beyond-datagram',
  },
  { files: ['netflow5_test_juniper_mx80.dat'], exceptions: {} },
  { files: ['netflow9_test_0length_fields_tpl_data.dat'], exceptions: { 'egress-counters': 8 } },
  { files: ['netflow9_test_cisco_1941K9.dat'], exceptions: {} },
  {
    files: ['netflow9_test_cisco_asa_1_tpl.dat', 'netflow9_test_cisco_asa_1_data.dat'],
    exceptions: { 'icmp-type-code-in-ports': 14, 'end-from-observation-time': 14 },
  },
  {
    files: [
      'netflow9_test_fortigate_fortios_521_tpl.dat',
      'netflow9_test_fortigate_fortios_521_data256.dat',
      'netflow9_test_fortigate_fortios_521_data257.dat',
    ],
    exceptions: {},
  },
  {
    files: [
      'netflow9_test_fortigate_fortios_542_appid_tpl258-269.dat',
      'netflow9_test_fortigate_fortios_542_appid_data258_262.dat',
    ],
    exceptions: {},
  },
  { files: ['netflow9_test_invalid01.dat'], exceptions: {}, datagrams: 'v9-count-short' },
  { files: ['netflow9_test_juniper_srx_tplopt.dat'], exceptions: {} },
  { files: ['netflow9_test_macaddr_tpl.dat', 'netflow9_test_macaddr_data.dat'], exceptions: {} },
  // one host, two exporter processes told apart by their source ids (logstash's "multiple exporters")
  {
    files: [
      'netflow9_test_nprobe_tpl.dat',
      'netflow9_test_softflowd_tpl_data.dat',
      'netflow9_test_nprobe_data.dat',
    ],
    exceptions: { 'icmp-type-code-in-ports': 1, 'tshark-uptime-zero-as-epoch': 1 },
  },
  { files: ['netflow9_test_nprobe_dpi.dat'], exceptions: {} },
  {
    files: [
      'netflow9_test_ubnt_edgerouter_tpl.dat',
      'netflow9_test_ubnt_edgerouter_data1024.dat',
      'netflow9_test_ubnt_edgerouter_data1025.dat',
    ],
    exceptions: {},
  },
  { files: ['netflow9_test_valid01.dat'], exceptions: { 'icmp-type-code-in-ports': 1 } },
  { files: ['ipfix.dat'], exceptions: { 'tshark-uptime-zero-as-epoch': 2 } },
  {
    files: [
      'ipfix_test_mikrotik_tpl.dat',
      'ipfix_test_mikrotik_data258.dat',
      'ipfix_test_mikrotik_data259.dat',
    ],
    exceptions: {
      'ipfix-uptime-unanchored': 46,
      'icmp-type-code-in-ports': 2,
      'icmp-without-type': 2,
    },
  },
  { files: ['ipfix_test_netscaler_tpl.dat', 'ipfix_test_netscaler_data.dat'], exceptions: {} },
  {
    files: ['ipfix_test_openbsd_pflow_tpl.dat', 'ipfix_test_openbsd_pflow_data.dat'],
    exceptions: {},
  },
  {
    files: [
      'ipfix_test_yaf_tpls_option_tpl.dat',
      'ipfix_test_yaf_tpl45841.dat',
      'ipfix_test_yaf_data45841.dat',
      'ipfix_test_yaf_data45873.dat',
      'ipfix_test_yaf_data53248.dat',
    ],
    exceptions: { 'biflow-reverse-added': 4 },
  },
]

/** Deliberate differences of whole datagrams, named in {@link Capture.datagrams}. */
const DATAGRAM_EXCEPTIONS = {
  'v5-count-beyond-datagram':
    'a v5 header whose count (55582) is more records than a v5 datagram holds (30) and than its length carries: we refuse the datagram (skip bad-length, as logstash-codec-netflow does); tshark reads the records that fit. Its records are not compared and we must give no flow',
  'v9-count-short':
    'a v9 header count (2) below the records the datagram carries (6): tshark stops at the count, we walk the FlowSets by their lengths (RFC 3954 §5.1 count is unreliable across exporters). tshark is given the datagram with its count set to 65535, so that it reads every FlowSet too',
} as const
type DatagramException = keyof typeof DATAGRAM_EXCEPTIONS

/**
 * Deliberate differences between our flow and tshark's record: the expected value is derived
 * from tshark's fields by the rule named here, and not read as tshark shows it.
 */
const EXCEPTIONS = {
  'icmp-type-code-in-ports':
    'an ICMP flow carries its type in dstPort and its code in srcPort (DESIGN.md service icmp/8): from the ICMP type/code elements, else the destination port read as type·256 + code (the v5 convention tshark shows raw)',
  'icmp-without-type':
    'a v9/IPFIX ICMP record with no type element and destination port 0: we take an echo request, or type 0 from an exporter seen to put types in the port (decoder.ts); tshark has no type to compare',
  'biflow-reverse-added':
    'RFC 5103 biflow record (YAF, PEN 29305 reverse elements, which tshark shows under the same field name): we add the reverse counters to the forward ones',
  'egress-counters':
    "v9 IN_BYTES / IN_PKTS both 0 and OUT_BYTES / OUT_PKTS (23/24) present: the egress counters are the flow's (RFC 3954 §8)",
  'ipfix-uptime-unanchored':
    "IPFIX flowStart/EndSysUpTime without systemInitTimeMilliseconds: we anchor the set's latest end at the export time (decoder.ts); only the duration is compared",
  'tshark-uptime-zero-as-epoch':
    'tshark shows an IPFIX flowStartSysUpTime of 0 as the absolute time 1970-01-01 (abstimestart); it is uptime 0',
  'end-from-observation-time':
    'a record with a start and no end element (Cisco ASA NSEL): the end is observationTimeMilliseconds (323)',
} as const
type Exception = keyof typeof EXCEPTIONS

/** tshark's fields of one record or header, flattened (`*_tree` subtrees merged), every value kept. */
type Fields = Map<string, string[]>

function flatten(o: Record<string, unknown>, into: Fields = new Map()): Fields {
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'string') into.set(k, [...(into.get(k) ?? []), v])
    else if (Array.isArray(v)) {
      for (const x of v)
        if (typeof x === 'string') into.set(k, [...(into.get(k) ?? []), x])
        else if (k.endsWith('_tree') && typeof x === 'object' && x !== null)
          flatten(x as Record<string, unknown>, into)
    } else if (k.endsWith('_tree') && typeof v === 'object' && v !== null)
      flatten(v as Record<string, unknown>, into)
  }
  return into
}

/** One datagram as tshark read it: its header fields and its records, in order. */
interface TsharkDatagram {
  header: Fields
  records: Fields[]
}

/** Records are the `Flow N` (v9, IPFIX) and `pdu i/n` (v5) subtrees, anywhere under the layer. */
function walk(o: Record<string, unknown>, d: TsharkDatagram, top: boolean): void {
  for (const [k, v] of Object.entries(o)) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) continue
    const sub = v as Record<string, unknown>
    if (/^(Flow \d+|pdu \d+\/\d+)$/.test(k)) d.records.push(flatten(sub))
    else if (top && k.endsWith('_tree')) flatten({ [k]: sub }, d.header)
    else walk(sub, d, false)
  }
}

function tshark(file: string): TsharkDatagram[] {
  const r = spawnSync(
    'tshark',
    [
      '-n',
      '-r',
      file,
      '-d',
      'udp.port==2055,cflow',
      '-d',
      'udp.port==4739,cflow',
      '-d',
      'tcp.port==4739,cflow',
      '-d',
      'sctp.port==4739,cflow',
      '-o',
      'sctp.reassembly:TRUE',
      '-T',
      'json',
      '--no-duplicate-keys',
      '-J',
      'cflow',
    ],
    { encoding: 'utf8', maxBuffer: 256 << 20, env: { ...process.env, TZ: 'UTC' } },
  )
  if (r.status !== 0) throw new Error(`tshark exited ${String(r.status)}: ${r.stderr}`)
  const packets = JSON.parse(r.stdout) as { _source: { layers: { cflow?: unknown } } }[]
  return packets.map((p) => {
    const d: TsharkDatagram = { header: new Map(), records: [] }
    const layer = p._source.layers.cflow
    if (typeof layer === 'object' && layer !== null && !Array.isArray(layer)) {
      const o = layer as Record<string, unknown>
      flatten(
        Object.fromEntries(Object.entries(o).filter(([, v]) => typeof v === 'string')),
        d.header,
      )
      walk(o, d, true)
    }
    return d
  })
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** tshark's absolute time (`Oct  9, 2015 09:47:47.569000000 UTC`, TZ=UTC) → ms, fraction truncated. */
function absMs(text: string): number {
  const m = /^(\w{3}) +(\d+), (\d{4}) (\d\d):(\d\d):(\d\d)(?:\.(\d+))? UTC$/.exec(text)
  if (!m) throw new Error(`tshark time not understood: ${text}`)
  const [, mon = '', day = '', year = '', h = '', mi = '', s = '', frac = ''] = m
  // rounded to the millisecond, as our reader rounds the NTP-format (microsecond and nanosecond)
  // elements; the seconds and milliseconds elements have no digits beyond
  return (
    Date.UTC(+year, MONTHS.indexOf(mon), +day, +h, +mi, +s) +
    Math.round(Number(`0.${frac || '0'}`) * 1000)
  )
}

/** tshark's relative time in seconds (`4294967.295000000`) → integer ms. */
function relMs(text: string): number {
  const [s = '0', frac = ''] = text.split('.')
  return Number(s) * 1000 + Number((frac + '000').slice(0, 3))
}

const first = (f: Fields, k: string): string | undefined => f.get(k)?.[0]
const int = (f: Fields, k: string): number | undefined => {
  const v = first(f, k)
  return v === undefined ? undefined : Number(v)
}
/** Sum of every value of a counter field (a biflow's forward and reverse), or undefined. */
function sum(f: Fields, k: string): number | undefined {
  const vs = f.get(k)
  return vs === undefined ? undefined : vs.reduce((a, v) => a + Number(v), 0)
}

/** What our flow should hold for tshark's record; undefined fields are not compared. */
interface Expected {
  src: string
  dst: string
  srcPort?: number
  dstPort?: number
  protocol?: number
  packets: number
  bytes: number
  tcpFlags?: number
  start?: number
  end?: number
  duration?: number
}

/** The capture's state tshark's records are read with: an IPFIX systemInitTimeMilliseconds. */
interface State {
  systemInitMs?: number
}

function expected(rec: Fields, header: Fields, state: State, used: Exception[]): Expected {
  const version = int(header, 'cflow.version') ?? 0
  const e: Expected = {
    src: first(rec, 'cflow.srcaddr') ?? first(rec, 'cflow.srcaddrv6') ?? '',
    dst: first(rec, 'cflow.dstaddr') ?? first(rec, 'cflow.dstaddrv6') ?? '',
    packets: 0,
    bytes: 0,
  }
  const protocol = int(rec, 'cflow.protocol')
  if (protocol !== undefined) e.protocol = protocol
  const sp = int(rec, 'cflow.srcport')
  const dp = int(rec, 'cflow.dstport')
  if (protocol === 1 || protocol === 58) {
    used.push('icmp-type-code-in-ports')
    const v = protocol === 1 ? 'ipv4' : 'ipv6'
    const type = int(rec, `cflow.icmp_${v}_type`)
    // element 32 (ICMP_TYPE, type·256 + code), which v9 exporters also send for ICMPv6; tshark
    // shows element 139 as the IPv6 type and code fields
    const tc = first(rec, 'cflow.icmp_type_code_ipv4')
    if (type !== undefined) {
      e.dstPort = type
      e.srcPort = int(rec, `cflow.icmp_${v}_code`) ?? 0
    } else if (tc !== undefined) {
      e.dstPort = Number(tc) >> 8
      e.srcPort = Number(tc) & 0xff
    } else if (dp !== undefined && (version < 9 || dp !== 0)) {
      e.dstPort = dp >> 8
      e.srcPort = dp & 0xff
    } else used.push('icmp-without-type')
  } else {
    e.srcPort = sp ?? 0
    e.dstPort = dp ?? 0
  }

  // counters: delta (1/2), else total (85/86), else initiator + responder
  const pick = (names: readonly string[], pair: readonly [string, string]): number | undefined => {
    for (const n of names) {
      const vs = rec.get(n)
      if (vs !== undefined) {
        if (vs.length > 1) used.push('biflow-reverse-added')
        return sum(rec, n)
      }
    }
    const a = sum(rec, pair[0])
    const b = sum(rec, pair[1])
    return a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0)
  }
  let bytes = pick(
    ['cflow.octets', 'cflow.permanent_octets'],
    ['cflow.initiator_octets', 'cflow.responder_octets'],
  )
  let packets = pick(
    ['cflow.packets', 'cflow.permanent_packets'],
    ['cflow.initiator_packets', 'cflow.responder_packets'],
  )
  const outBytes = int(rec, 'cflow.post_octets')
  const outPackets = int(rec, 'cflow.post_packets')
  if (!bytes && !packets && (outBytes !== undefined || outPackets !== undefined)) {
    used.push('egress-counters')
    bytes = outBytes
    packets = outPackets
  }
  e.bytes = bytes ?? 0
  e.packets = packets ?? 0
  // TCP flags: ours only on TCP flows
  const flags = first(rec, 'cflow.tcpflags')
  if (protocol === 6 && flags !== undefined) e.tcpFlags = Number(flags)

  // times: absolute elements, else relative to the v5/v9 header's sysUptime
  let absStart = first(rec, 'cflow.abstimestart')
  const absEnd = first(rec, 'cflow.abstimeend')
  let upStart = first(rec, 'cflow.timestart')
  const upEnd = first(rec, 'cflow.timeend')
  if (absStart !== undefined && absMs(absStart) === 0 && upEnd !== undefined) {
    used.push('tshark-uptime-zero-as-epoch')
    absStart = undefined
    upStart = '0'
  }
  if (absStart !== undefined) e.start = absMs(absStart)
  if (absEnd !== undefined) e.end = absMs(absEnd)
  const sysUptime = first(header, 'cflow.sysuptime')
  const unixSecs = int(header, 'cflow.unix_secs')
  if (sysUptime !== undefined && unixSecs !== undefined) {
    const exportMs = unixSecs * 1000 + Math.floor((int(header, 'cflow.unix_nsecs') ?? 0) / 1e6)
    const at = (up: string): number => exportMs - ((relMs(sysUptime) - relMs(up)) | 0)
    if (upStart !== undefined && e.start === undefined) e.start = at(upStart)
    if (upEnd !== undefined && e.end === undefined) e.end = at(upEnd)
  } else if (upStart !== undefined || upEnd !== undefined) {
    if (state.systemInitMs !== undefined) {
      if (upStart !== undefined) e.start = state.systemInitMs + relMs(upStart)
      if (upEnd !== undefined) e.end = state.systemInitMs + relMs(upEnd)
    } else if (upStart !== undefined && upEnd !== undefined) {
      used.push('ipfix-uptime-unanchored')
      e.duration = relMs(upEnd) - relMs(upStart)
    }
  }
  const observed = first(rec, 'cflow.observation_time_milliseconds')
  if (e.start !== undefined && e.end === undefined && observed !== undefined) {
    used.push('end-from-observation-time')
    e.end = absMs(observed)
  }
  return e
}

/** One capture's comparison. */
interface Outcome {
  datagrams: number
  /** Records of tshark's matched with a flow of ours and compared field by field. */
  compared: number
  agreed: number
  /** Of the compared, those whose start and end (or duration) were compared. */
  timed: number
  /** tshark's records of datagrams a {@link DATAGRAM_EXCEPTIONS} rule leaves out. */
  notCompared: number
  differences: string[]
  exceptions: Partial<Record<Exception, number>>
}

async function* once(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b
}

const work = mkdtempSync(join(tmpdir(), 'bulkhead-tshark-'))
afterAll(() => {
  rmSync(work, { recursive: true, force: true })
})

/**
 * Whether `capture` is also compared over `transport`: IPFIX over TCP and SCTP, NetFlow v9 over
 * SCTP (a v9 stream over TCP has no length to frame it), without a datagram exception.
 */
function streamed(capture: Capture, transport: 'tcp' | 'sctp'): boolean {
  if (capture.datagrams !== undefined) return false
  const prefixes = transport === 'tcp' ? ['ipfix'] : ['ipfix', 'netflow9']
  return capture.files.every((f) => prefixes.some((p) => f.startsWith(p)))
}

const equal = (a: Uint8Array, b: Uint8Array | undefined): boolean =>
  b !== undefined && Buffer.from(a).equals(Buffer.from(b))

/** A v9 datagram with its header count set to 65535 (for `v9-count-short`). */
function countToEnd(d: Uint8Array): Uint8Array {
  const copy = d.slice()
  if (copy[0] === 0 && copy[1] === 9) copy.set([0xff, 0xff], 2)
  return copy
}

/**
 * `messages` from port 50000 to 4739 over one TCP connection (RFC 7011 §10.4: back to back; its
 * SYN, then each message in two segments cut at an odd place, the sequence numbers wrapping past
 * 2^32) or one SCTP association (§10.3: each message a user message in two DATA chunks, first
 * and last fragment, in packets of their own): both sides put each message together first.
 */
function streamFrames(transport: 'tcp' | 'sctp', messages: readonly Uint8Array[]): Uint8Array[] {
  const isn = 0xffffff00
  const frame = (seq: number, payload: Uint8Array, flags?: number) =>
    ether(0x0800, ipv4('192.0.2.1', '192.0.2.9', 6, tcp(50000, 4739, seq, payload, flags)))
  const chunk = (tsn: number, payload: Uint8Array, flags: number) =>
    ether(
      0x0800,
      ipv4('192.0.2.1', '192.0.2.9', 132, sctp(50000, 4739, 7, [sctpData(tsn, payload, flags)])),
    )
  const frames = transport === 'tcp' ? [frame(isn, new Uint8Array(0), SYN)] : []
  let seq = isn + 1
  messages.forEach((m, i) => {
    const cut = Math.min(m.byteLength - 1, 3 + ((i * 7) % 29))
    if (transport === 'tcp')
      frames.push(frame(seq, m.subarray(0, cut)), frame(seq + cut, m.subarray(cut)))
    else frames.push(chunk(2 * i, m.subarray(0, cut), 2), chunk(2 * i + 1, m.subarray(cut), 1))
    seq += m.byteLength
  })
  return frames
}

/** The IPFIX messages our capture reader takes from a TCP or SCTP capture (netflow/streams.ts). */
function messagesOf(capture: Uint8Array): Uint8Array[] {
  const reader = new CaptureReader()
  return [...reader.push(capture), ...reader.end()].flatMap((p) =>
    p.kind === 'message' ? [p.bytes] : [],
  )
}

/**
 * Compares tshark's and our reading of one capture: its datagrams sent over UDP, or (IPFIX only)
 * its messages over one TCP connection or SCTP association ({@link streamFrames}).
 */
async function compare(
  capture: Capture,
  transport: 'udp' | 'tcp' | 'sctp' = 'udp',
): Promise<Outcome> {
  const { files } = capture
  let datagrams: Uint8Array[] = []
  for (const f of files)
    for await (const d of splitDatagrams(once(readFileSync(join(DIR, f))))) datagrams.push(d.bytes)
  const frames =
    transport !== 'udp'
      ? streamFrames(transport, datagrams)
      : datagrams.map((d) => {
          const port = d[0] === 0 && d[1] === 10 ? 4739 : 2055
          const payload = capture.datagrams === 'v9-count-short' ? countToEnd(d) : d
          return ether(0x0800, ipv4('192.0.2.1', '192.0.2.9', 17, udp(50000, port, payload)))
        })
  const file = join(work, `${files[0] ?? 'capture'}.${transport}.pcap`)
  const bytes = pcap(1, frames)
  writeFileSync(file, bytes)
  // over TCP and SCTP, a message is shown in the packet that completes it; the others show none
  const theirs = tshark(file).filter((d) => transport === 'udp' || d.header.size > 0)
  if (transport !== 'udp') {
    const read = messagesOf(bytes)
    if (read.length !== datagrams.length || read.some((m, i) => !equal(m, datagrams[i])))
      throw new Error(
        `${String(read.length)} messages read from the stream of ${String(datagrams.length)}`,
      )
    datagrams = read
  }

  // the layer compared: the decoder's flows, one per data record, before events are merged
  const decoder = new NetflowDecoder()
  const ours: Flow[] = []
  datagrams.forEach((d, record) => {
    ours.push(...decoder.decode(d, { exporter: 'exporter-1', file: files[0] ?? '', record }).flows)
  })
  ours.push(...decoder.flush().flows)

  const out: Outcome = {
    datagrams: datagrams.length,
    compared: 0,
    agreed: 0,
    timed: 0,
    notCompared: 0,
    differences: [],
    exceptions: {},
  }
  if (theirs.length !== datagrams.length)
    out.differences.push(`${datagrams.length} datagrams, tshark read ${theirs.length} packets`)
  const state: State = {}
  theirs.forEach((dg, record) => {
    for (const r of dg.records) {
      const init = first(r, 'cflow.sys_init_time')
      if (init !== undefined) state.systemInitMs = absMs(init)
    }
    const records = dg.records.filter(
      (r) =>
        (r.has('cflow.srcaddr') || r.has('cflow.srcaddrv6')) &&
        (r.has('cflow.dstaddr') || r.has('cflow.dstaddrv6')),
    )
    const mine = ours.filter((f) => f.source.record === record)
    if (capture.datagrams === 'v5-count-beyond-datagram') {
      if (mine.length > 0)
        out.differences.push(`datagram ${record}: ${mine.length} flows, want none`)
      out.notCompared += records.length
      return
    }
    if (mine.length !== records.length)
      out.differences.push(
        `datagram ${record}: ${mine.length} flows, tshark ${records.length} records`,
      )
    records.forEach((r, i) => {
      const flow = mine[i]
      if (flow === undefined) return
      const used: Exception[] = []
      const want = expected(r, dg.header, state, used)
      for (const x of used) out.exceptions[x] = (out.exceptions[x] ?? 0) + 1
      const got: Record<string, unknown> = {
        src: flow.src,
        dst: flow.dst,
        srcPort: flow.srcPort,
        dstPort: flow.dstPort,
        protocol: flow.protocol,
        packets: flow.packets,
        bytes: flow.bytes,
        tcpFlags: flow.tcpFlags,
        start: flow.start,
        end: flow.end,
        duration: flow.end - flow.start,
      }
      out.compared++
      if ((want.start !== undefined && want.end !== undefined) || want.duration !== undefined)
        out.timed++
      const diffs = Object.entries(want)
        .filter(([k, v]) => v !== undefined && got[k] !== v)
        .map(([k, v]) => `${k}: ours ${String(got[k])}, tshark ${String(v)}`)
      if (diffs.length === 0) out.agreed++
      else out.differences.push(`datagram ${record} record ${i}: ${diffs.join('; ')}`)
    })
  })
  return out
}

describe.skipIf(skipReason !== undefined)(
  `NetFlow / IPFIX corpus against tshark's cflow dissector${skipReason !== undefined ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    it('every corpus file is in exactly one capture', () => {
      const listed = CAPTURES.flatMap((c) => c.files)
      expect(new Set(listed).size).toBe(listed.length)
      expect([...listed].sort()).toEqual(
        readdirSync(DIR)
          .filter((f) => f.endsWith('.dat'))
          .sort(),
      )
    })

    it('every named difference applies to some capture (none is stale)', () => {
      for (const [name, reason] of Object.entries(EXCEPTIONS))
        expect(
          CAPTURES.some((c) => (c.exceptions[name as Exception] ?? 0) > 0),
          `${name}: ${reason}`,
        ).toBe(true)
      for (const [name, reason] of Object.entries(DATAGRAM_EXCEPTIONS))
        expect(
          CAPTURES.some((c) => c.datagrams === name),
          `${name}: ${reason}`,
        ).toBe(true)
    })

    const table: string[] = []
    afterAll(() => {
      if (table.length > 0)
        console.log(
          `capture | datagrams | compared | agreed | timed | not compared | exceptions\n${table.join('\n')}`,
        )
    })

    // IPFIX over TCP and SCTP (RFC 7011 §10.4, §10.3), NetFlow v9 over SCTP: tshark's reassembly
    // and ours, then both decoders
    for (const transport of ['tcp', 'sctp'] as const)
      for (const capture of CAPTURES.filter((c) => streamed(c, transport)))
        it(`${capture.files.join(' + ')} over ${transport.toUpperCase()}: every data record decodes as tshark reads it`, async () => {
          const o = await compare(capture, transport)
          table.push(
            `${capture.files.join(' + ')} (${transport.toUpperCase()}) | ${o.datagrams} | ${o.compared} | ${o.agreed} | ${o.timed} | ${o.notCompared} | ${JSON.stringify(o.exceptions)}`,
          )
          expect(o.differences).toEqual([])
          expect(o.exceptions).toEqual(capture.exceptions)
          // every message was read back from the stream (compare() throws otherwise)
          expect(o.datagrams).toBeGreaterThan(0)
          expect(o.agreed).toBe(o.compared)
        })

    for (const capture of CAPTURES)
      it(`${capture.files.join(' + ')}: every data record decodes as tshark reads it`, async () => {
        const o = await compare(capture)
        table.push(
          `${capture.files.join(' + ')} | ${o.datagrams} | ${o.compared} | ${o.agreed} | ${o.timed} | ${o.notCompared} | ${JSON.stringify(o.exceptions)}`,
        )
        expect(o.differences).toEqual([])
        expect(o.exceptions).toEqual(capture.exceptions)
        if (capture.datagrams === 'v5-count-beyond-datagram')
          expect(o.notCompared).toBeGreaterThan(0)
        else expect(o.agreed).toBe(o.compared)
      })
  },
)
