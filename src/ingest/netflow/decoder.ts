/**
 * @module Pure NetFlow v1, v5, v7, NetFlow v9 and IPFIX datagram decoder: datagram + exporter
 * state → flows + problems. No I/O, no clock.
 *
 * Layouts: Cisco NetFlow v1, v5 and v7 export formats, read through one table of fixed layouts
 * (fixed.ts, which cites its sources); RFC 3954 (v9); RFC 7011 and RFC 7012 (IPFIX). Template
 * state lives in a {@link TemplateCache}; see templates.ts for the memory bounds.
 *
 * Problem reasons (stable kebab-case, counted by the caller through `skip()` / `note()`; a note
 * about one record's flow names that flow, {@link DecodeProblem.flow}, and rides on it):
 * - skips: `bad-length` (datagram or set length impossible; the rest of the datagram is dropped),
 *   `bad-version`, `bad-template`, `bad-field-length` (an element length that makes no sense,
 *   e.g. a 3-octet IPv4 address; the record is dropped), `bad-counter` (counter above 2^53-1),
 *   `bad-time`, `no-template` (data set whose template never arrived or was dropped from the
 *   hold queue), `no-protocol` (a v7 record whose protocol the switch's flow mask left out, see
 *   fixed.ts), `decoder-error` (a bug: never expected).
 * - notes: `options-record` (options data, not a flow), `sampling-rate:<N>` (a record of a sampled
 *   exporter: v5 header sampling_interval, v9/IPFIX options data or the record's own
 *   samplingInterval; counts are not scaled), `no-address` (data record without both
 *   addresses), `template-withdrawn`, `end-before-start` (end was before start; end set to start),
 *   `ends-after-export` (kept as read), `uptime-unwrapped` (IPFIX uptime and init time a whole
 *   number of 2^32 ms apart; v1–v9: a record's end uptime more than 2^31 ms above the header's
 *   SysUptime, read as before the 32-bit uptime wrapped; less above it is read as after the
 *   export), `time-from-export` (a record without any time element: its
 *   datagram's export time), `unknown-sub-template` (an RFC 6313 list of the record names a
 *   template not received before it: the list is not read), `exporter-evicted`,
 *   `template-evicted`; with `sequenceGaps`,
 *   `lost-datagrams` (v9) and `lost-records` (v5, v7, IPFIX), whose `count` is how many the header
 *   sequence numbers show missing, and `sequence-counts-own-records` (a datagram numbered the
 *   last one plus its own records, as ulogd 2.0.8's IPFIX numbers: nothing missing).
 * - A record that runs past the end of its set makes the whole set `bad-length`: the records
 *   read before it are dropped too (the set was not read as it was written).
 */
import { mixedFamilies } from '../direction.js'
import { isIcmpReply, type Flow, type FlowDirection, type ObservedAction } from '../../core/flow.js'
import { hasPorts } from '../../core/service.js'
import type { FirewallEvent } from './events.js'
import { MAX_TIME_MS } from '../fields.js'
import {
  FIXED_FORMATS,
  FIXED_LAYOUTS,
  fixedLength,
  type FixedFormat,
  type FixedLayout,
} from './fixed.js'
import {
  ELEMENT_SPECS,
  IE,
  NTP_UNIX_OFFSET_SECONDS,
  V9_ONLY_SPECS,
  VARIABLE_LENGTH,
  type ElementSpec,
} from './fields.js'
import {
  BOOT_DRIFT,
  BOOT_SLACK_MS,
  samplingFor,
  TemplateCache,
  type HeaderContext,
  type PendingSet,
  type Template,
  type TemplateField,
  type TemplateLimits,
} from './templates.js'

/** Who sent a datagram and where it sits in its input. */
export interface DatagramMeta {
  /**
   * Exporter key: the remote address for the collector, the file name for files. Templates are
   * kept per (exporter, source id / observation domain, template id).
   */
  readonly exporter: string
  /** `source.file` of emitted flows: the file name or `udp://<exporter>:<port>`. */
  readonly file: string
  /** Datagram index, 0-based: `source.record` of emitted flows. */
  readonly record: number
}

/** Something the decoder did not turn into a flow. `kind` tells whether it is an error. */
export interface DecodeProblem {
  readonly kind: 'skip' | 'note'
  /** Stable kebab-case reason, see the module comment. */
  readonly reason: string
  readonly file: string
  /** Datagram index of the offending data. */
  readonly record: number
  /** Human-readable detail for the skip example. */
  readonly detail: string
  /** How many this problem stands for, when more than one (`lost-records`, `lost-datagrams`). */
  readonly count?: number
  /**
   * For a note about one record's flow (`icmp-type-assumed-echo`, `sampling-rate:<N>`,
   * `end-before-start`, ...): that flow, one of the result's `flows`. Such a note rides on its
   * flow (ingest/types.ts `noteOnFlow`, `FLOW_NOTES`) and is counted when reading or the
   * collector gives the flow out, so a flow skipped later (`no-sender`, a merged event's late
   * twin) takes it with it. Absent: a note about the datagram, the exporter or a record not
   * given out (`options-record`, `no-address`, `lost-datagrams`, ...), counted at once.
   */
  readonly flow?: Flow
}

/**
 * What one call produced. Flows are in datagram order (held sets decode when their template
 * arrives). `events` names the firewall event of each flow that is one event of a connection
 * (see {@link FirewallEvent}); the other flows are not in it. `halves` gives, for each flow whose
 * record counts one direction of a connection, its exporter scope (see {@link pairScope}), so
 * that reading can pair it with the record of the other direction from the same exporter
 * (ingest/direction.ts `DirectionPairer`); a flow whose record counts both directions, or that
 * may not be paired, is not in it.
 */
export interface DecodeResult {
  readonly flows: Flow[]
  readonly problems: DecodeProblem[]
  readonly events: Map<Flow, FirewallEvent>
  readonly halves: Map<Flow, PairHalf>
}

/**
 * How a record of one direction may be paired ({@link DecodeResult.halves}): its exporter scope
 * ({@link pairScope}), and whether it is an ICMP record whose type the exporter did not give
 * (read as an echo request, noted `icmp-type-assumed-echo`), which pairs as AWS VPC's typeless
 * ICMP records do, by its addresses alone.
 */
export interface PairHalf {
  readonly scope: string
  readonly echoAssumed: boolean
  /**
   * The exporter scope as a key that does not name the file, when the input names the exporter
   * (see {@link crossFileExporter}; goflow2: its `type` and `sampler_address`): with it the store
   * pairs the record with the other direction's record of another file from the same exporter.
   * Undefined when only the file tells the exporter (a file of bare datagrams): such a record is
   * paired within its file only.
   */
  readonly exporter?: string
}

/** Source format names stored in `flow.source.format`. Stable. */
export type NetflowSourceFormat = FixedFormat | 'netflow-v9' | 'ipfix'

/** A record's values for the elements the decoder reads: numbers (−1 = above 2^53−1) or address text. */
type Values = Map<number, number | string>

/**
 * Elements of the flow's header that a tunnel's template gives twice, for the outer and then the
 * inner header (Huawei NetStream SRv6 / IPv4-in-IPv6, Cisco IOS XR IP-in-IPv6): the last
 * occurrence is kept, so that addresses, ports and protocol all come from the inner header (as
 * pmacct reads them). Every other element keeps its first occurrence.
 */
const INNER_LAST: ReadonlySet<number> = new Set([
  IE.protocolIdentifier,
  IE.tcpControlBits,
  IE.sourceTransportPort,
  IE.sourceIPv4Address,
  IE.destinationTransportPort,
  IE.destinationIPv4Address,
  IE.sourceIPv6Address,
  IE.destinationIPv6Address,
  IE.icmpTypeCodeIPv4,
  IE.ipVersion,
  IE.icmpTypeCodeIPv6,
  IE.icmpTypeIPv4,
  IE.icmpCodeIPv4,
  IE.icmpTypeIPv6,
  IE.icmpCodeIPv6,
])

/** Pseudo-element in {@link Values}: 4 or 6, the family of the last source address in the template. */
const LAST_PAIR = -1
/** Pseudo-element in {@link Values}: present when the template gives the protocol more than once. */
const TUNNEL = -2
/**
 * Pseudo-element in {@link Values}: the id of a template that an RFC 6313 list of the record
 * names and this exporter and domain have not sent (the list is not read).
 */
const UNKNOWN_SUB_TEMPLATE = -4
/**
 * Pseudo-element in {@link Values}: the interface (ifIndex) of a sampling options record's scope
 * or of a data record (ingressInterface 10), read only where a sampling rate is looked up.
 */
const INTERFACE = -5
/**
 * RFC 5103 §6.1: the reverse direction of a biflow record's element `id` is the element `id` of
 * this private enterprise number; kept in {@link Values} at `REVERSE + id`.
 */
const REVERSE_PEN = 29305
const REVERSE = 0x10000
/** The reverse elements read: octet and packet delta and total counts. */
const REVERSE_COUNTERS: ReadonlySet<number> = new Set([
  IE.octetDeltaCount,
  IE.packetDeltaCount,
  IE.octetTotalCount,
  IE.packetTotalCount,
])

/** The {@link Values} keys of {@link REVERSE_COUNTERS}: a record with any of them is a biflow. */
const REVERSE_COUNTER_KEYS: readonly number[] = [...REVERSE_COUNTERS].map((id) => REVERSE + id)
/** The reverse elements read besides {@link REVERSE_COUNTERS}: reverseTcpControlBits (softflowd -b). */
const REVERSE_OTHERS: ReadonlySet<number> = new Set([IE.tcpControlBits])

/**
 * VMware's private enterprise number: the vSphere Distributed Switch / NSX logical switch VXLAN
 * templates give the outer (tunnel endpoint) header in the IANA elements and the tenant's (the
 * virtual machine's) flow in these elements: tenantProtocol 880, tenantSourceIPv4 881,
 * tenantDestIPv4 882, tenantSourceIPv6 883, tenantDestIPv6 884, tenantSourcePort 886,
 * tenantDestPort 887 (VMware NSX-T "IPFIX" administration guide, element table; NSX for
 * vSphere 6.4 "IPFIX for Distributed Switch": "the IPv4 VXLAN template … inner source, and
 * destination IP/Port and protocol").
 * @see https://docs.vmware.com/en/VMware-NSX-T-Data-Center/3.2/administration/GUID-F7304386-EFAE-4479-9E3B-251519969D4C.html
 * @see https://docs.vmware.com/en/VMware-NSX-Data-Center-for-vSphere/6.4/com.vmware.nsx.admin.doc/GUID-40805D0E-8A97-4011-B85C-CBF37812DBB5.html
 */
const VMWARE_PEN = 6876
/** The VMware tenant elements read, with their IANA twin and encoding. */
const VMWARE_TENANT: ReadonlyMap<number, { readonly ie: number; readonly spec: ElementSpec }> =
  new Map([
    [880, { ie: IE.protocolIdentifier, spec: { encoding: 'unsigned', maxLength: 1 } }],
    [881, { ie: IE.sourceIPv4Address, spec: { encoding: 'ipv4', maxLength: 4 } }],
    [882, { ie: IE.destinationIPv4Address, spec: { encoding: 'ipv4', maxLength: 4 } }],
    [883, { ie: IE.sourceIPv6Address, spec: { encoding: 'ipv6', maxLength: 16 } }],
    [884, { ie: IE.destinationIPv6Address, spec: { encoding: 'ipv6', maxLength: 16 } }],
    [886, { ie: IE.sourceTransportPort, spec: { encoding: 'unsigned', maxLength: 2 } }],
    [887, { ie: IE.destinationTransportPort, spec: { encoding: 'unsigned', maxLength: 2 } }],
  ])
/** Pseudo-elements in {@link Values}: a VMware tenant element's value at `TENANT + its IANA twin`. */
const TENANT = 0x20000

/**
 * A VMware VXLAN record ({@link VMWARE_PEN}): when it carries a tenant address pair that is not
 * all zero, the flow is the tenant's — addresses, ports and protocol from the tenant elements
 * (ports left out when the tenant gives none), the outer header's dropped — and `TUNNEL` is set
 * (noted `inner-header`). Counters and times are the record's.
 */
function useTenantFlow(values: Values): void {
  const t = (ie: number): number | string | undefined => values.get(TENANT + ie)
  const pairs: [number, number, string][] = [
    [IE.sourceIPv4Address, IE.destinationIPv4Address, '0.0.0.0'],
    [IE.sourceIPv6Address, IE.destinationIPv6Address, '::'],
  ]
  const pair = pairs.find(([a, b, zero]) => {
    const src = t(a)
    const dst = t(b)
    return src !== undefined && dst !== undefined && !(src === zero && dst === zero)
  })
  if (pair === undefined) return
  for (const ie of [...INNER_LAST]) values.delete(ie)
  for (const [, { ie }] of VMWARE_TENANT) {
    const v = t(ie)
    if (v !== undefined && (ie === pair[0] || ie === pair[1] || typeof v === 'number'))
      values.set(ie, v)
  }
  values.set(LAST_PAIR, pair[0] === IE.sourceIPv4Address ? 4 : 6)
  values.set(TUNNEL, 1)
}

/**
 * CERT's private enterprise number (YAF, the NetSA flow meter): YAF sends a TCP flow's flags in
 * these elements, inside a subTemplateMultiList (RFC 6313) of each record, not in tcpControlBits:
 * initialTCPFlags 14 (the first packet's flags), unionTCPFlags 15 (the OR of every later
 * packet's), and in a biflow the reverse direction's as 14 and 15 with CERT's reverse bit 0x4000
 * (reverseInitialTCPFlags 16398, reverseUnionTCPFlags 16399). Kept in {@link Values} at
 * `CERT_FLAGS + id`. YAF's `yaf_tcp_t`; Wireshark's `v10_template_types_yaf`.
 * @see https://tools.netsa.cert.org/yaf/yaf.html (TCP flags, "reverse" elements)
 */
const CERT_PEN = 6871
const CERT_REVERSE = 0x4000
const INITIAL_TCP_FLAGS = 14
const UNION_TCP_FLAGS = 15
/** The CERT flag elements read. */
const CERT_TCP_FLAGS: ReadonlySet<number> = new Set([
  INITIAL_TCP_FLAGS,
  UNION_TCP_FLAGS,
  CERT_REVERSE + INITIAL_TCP_FLAGS,
  CERT_REVERSE + UNION_TCP_FLAGS,
])
const CERT_FLAGS = 0x40000
const TCP_SYN = 0x02
const TCP_RST = 0x04
const TCP_ACK = 0x10
/** How deep sub-template lists are searched for {@link CERT_TCP_FLAGS} (YAF puts them at 1). */
const SUB_TEMPLATE_DEPTH = 2

/**
 * Cisco's private enterprise number: IOS XE Performance Monitor / AVC "connection" records
 * (`match connection client ipv4 address`, `... server ipv4 address`, `... server transport port`)
 * key a flow by its client and server instead of its source and destination: connection client
 * IPv4 address 12236, server IPv4 address 12237, client transport port 12240, server transport
 * port 12241 (Wireshark epan/dissectors/packet-netflow.c, `v10_template_types_cisco`). "The client
 * is the device that triggered the session creation … the server is the device that replies to
 * the client" (Cisco IOS XE 17 System Management, "Metrics for Assurance Monitoring").
 * @see https://cisco.com/c/en/us/td/docs/routers/ios/config/17-x/syst-mgmt/b-system-management/m_mm-metrics-assurance-mon.html
 */
const CISCO_PEN = 9
/** The Cisco connection elements read, by id: their IANA twin, whose encoding they share. */
const CISCO_CONNECTION: ReadonlyMap<number, number> = new Map([
  [12236, IE.sourceIPv4Address],
  [12237, IE.destinationIPv4Address],
  [12240, IE.sourceTransportPort],
  [12241, IE.destinationTransportPort],
])
/** Pseudo-elements in {@link Values}: a Cisco connection element's value at `CONNECTION + its IANA twin`. */
const CONNECTION = 0x30000
/** Pseudo-element in {@link Values}: the flow's ends are a connection's client and server. */
const CLIENT_SERVER = -3

/**
 * A Cisco connection record ({@link CISCO_CONNECTION}) without an IANA address pair: the flow is
 * the client's to the server (its ports from the connection elements where given), marked
 * {@link CLIENT_SERVER}: client-to-server unless its biflowDirection (Cisco's "connection
 * initiator", 239) is 2, the server-side address initiated (as IOS XE writes OSPF hellos, a
 * multicast group as the client and responder counters only).
 */
function useConnectionFlow(values: Values): void {
  const c = (ie: number): number | string | undefined => values.get(CONNECTION + ie)
  const client = c(IE.sourceIPv4Address)
  const server = c(IE.destinationIPv4Address)
  if (client === undefined || server === undefined) return
  const has = (a: number, b: number): boolean => values.has(a) && values.has(b)
  if (has(IE.sourceIPv4Address, IE.destinationIPv4Address)) return
  if (has(IE.sourceIPv6Address, IE.destinationIPv6Address)) return
  for (const ie of CISCO_CONNECTION.values()) {
    const v = c(ie)
    if (v !== undefined) values.set(ie, v)
  }
  values.set(LAST_PAIR, 4)
  values.set(CLIENT_SERVER, 1)
}

type Out = DecodeResult

/** The versions whose headers carry sequence numbers (v1 has none). */
type SequencedVersion = FixedLayout['version'] | 9 | 10

/** The key of an exporter's sequence numbers: they count per version and domain. */
function sequenceKey(exporter: string, version: SequencedVersion, domain: number): string {
  return `${exporter}\u0000${String(version)}\u0000${String(domain)}`
}

function newOut(): Out {
  return { flows: [], problems: [], events: new Map(), halves: new Map() }
}

/** How uptime-relative times resolve. */
interface TimeBase {
  readonly exportMs: number
  /** v1/v5/v7/v9: sysUptime at export, ms. */
  readonly sysUptimeMs?: number
  /** IPFIX: systemInitTimeMilliseconds of the exporting process, if known. */
  readonly systemInitMs?: number
}

/** Bound of the exporters (`exporter/domain`) remembered to put ICMP types into destination ports. */
const MAX_ICMP_PORT_EXPORTERS = 10_000
/** Most (exporter, source id) boot times kept for restart detection; the map starts over beyond. */
const MAX_V9_BOOTS = 10_000
/** Most (exporter, version, domain) sequence numbers kept for gap detection; the map starts over beyond. */
const MAX_SEQUENCES = 10_000
/**
 * A sequence number at most this far behind the expected one is a late or repeated datagram
 * (UDP reorders): the expected number stays. Further behind, the exporter started counting again.
 */
const MAX_SEQUENCE_BEHIND = 1 << 20

/**
 * A stateful decoder for one input (one file, or one collector). Call {@link decode} for each
 * datagram in order and {@link flush} at the end.
 *
 * @example
 * ```ts
 * const d = new NetflowDecoder()
 * const { flows, problems } = d.decode(bytes, { exporter: '10.0.0.1', file: 'udp://10.0.0.1:2055', record: 0 })
 * ```
 */
export class NetflowDecoder {
  readonly cache: TemplateCache
  /** While true (inside {@link learnTemplates}), data sets of non-options templates are ignored. */
  private dataIgnored = false
  /** Held data sets whose template the current datagram brought, decoded at its end. */
  private readonly released: { t: Template; held: PendingSet; exporter: string }[] = []
  /** v9: the last boot time (ms) and export time per exporter and source id. */
  private readonly v9Boots = new Map<
    string,
    { boot: number; exportMs: number; uptime: number; sequence: number }
  >()
  private readonly onTemplate: ((t: Template, h: HeaderContext) => void) | undefined
  private readonly onSystemInit: ((ms: number, h: HeaderContext) => void) | undefined
  /**
   * With `sequenceGaps`, per `exporter\0version\0domain`: the sequence number the next datagram
   * should carry (`next`) and the one the last datagram carried (`last`).
   */
  private readonly nextSequence: Map<string, { next: number; last: number }> | undefined
  /**
   * Data records met in the IPFIX message being decoded (its sequence number counts them);
   * undefined when a set's count is unknown (held for its template, ignored, or misread).
   */
  private messageRecords: number | undefined = 0
  /**
   * The exporters (`exporter/domain`) whose ICMP records have put a type·256+code into the
   * destination port (a non-zero value), so that a 0 there from the same exporter is type 0 (echo
   * reply), not "no type" (see toFlow). At most {@link MAX_ICMP_PORT_EXPORTERS}.
   */
  private readonly icmpPortExporters = new Set<string>()

  /**
   * @param limits - memory bounds of the template cache (see templates.ts).
   * @param options.onTemplate - called with each template defined, and the header of the
   *   datagram that defined it.
   * @param options.onSystemInit - called with each IPFIX systemInitTimeMilliseconds learned from
   *   options data, and the header of its datagram.
   * @param options.sequenceGaps - report datagrams (v9, RFC 3954 §5.1) and records (v5, v7; IPFIX,
   *   RFC 7011 §3.1) that the header sequence numbers of an exporter and domain show missing, as
   *   `lost-datagrams` / `lost-records` notes with a `count`: for a live collector, where UDP
   *   loses datagrams (files are often excerpts, with gaps by design).
   */
  constructor(
    limits: Partial<TemplateLimits> = {},
    options: {
      readonly onTemplate?: (t: Template, h: HeaderContext) => void
      readonly onSystemInit?: (ms: number, h: HeaderContext) => void
      readonly sequenceGaps?: boolean
    } = {},
  ) {
    this.cache = new TemplateCache(limits)
    this.onTemplate = options.onTemplate
    this.onSystemInit = options.onSystemInit
    this.nextSequence = options.sequenceGaps === true ? new Map() : undefined
  }

  /**
   * {@link decode} that learns only from template sets and options data: the data sets of other
   * templates are neither decoded nor held. Used to take the templates of input whose flows are
   * not wanted.
   */
  learnTemplates(datagram: Uint8Array, meta: DatagramMeta): DecodeResult {
    this.dataIgnored = true
    try {
      return this.decode(datagram, meta)
    } finally {
      this.dataIgnored = false
    }
  }

  /**
   * Decodes a held data set (from `cache.drainPending()`) with a template found elsewhere, with
   * this decoder's state otherwise (the IPFIX system init times it learned; `systemInitMs`, found
   * elsewhere too, when it learned none for the set's domain). Flows and problems are the held
   * set's datagram's (`file`, `record`). Never throws.
   */
  decodeHeld(t: Template, held: PendingSet, exporter: string, systemInitMs?: number): DecodeResult {
    const out = newOut()
    const meta = { exporter, file: held.header.file, record: held.header.record }
    if (
      systemInitMs !== undefined &&
      this.cache.systemInit(exporter, held.header.domain) === undefined
    )
      this.cache.setSystemInit(exporter, held.header.domain, systemInitMs)
    try {
      this.decodeRecords(t, view(held.body), 0, held.body.byteLength, held.header, meta, out)
    } catch (err) {
      push(out, 'skip', 'decoder-error', meta, err instanceof Error ? err.message : String(err))
    }
    return out
  }

  /**
   * Decodes one datagram (the UDP payload). Never throws: problems are returned, and an
   * unexpected internal error becomes a `decoder-error` skip.
   */
  decode(datagram: Uint8Array, meta: DatagramMeta): DecodeResult {
    const out = newOut()
    const ev = { ...this.cache.evicted }
    try {
      this.decodeInto(datagram, meta, out)
    } catch (err) {
      push(out, 'skip', 'decoder-error', meta, err instanceof Error ? err.message : String(err))
    }
    // held data whose template this datagram brought (also when the rest of it failed)
    for (const { t, held, exporter } of this.released.splice(0)) {
      const m = { exporter, file: held.header.file, record: held.header.record }
      try {
        this.decodeRecords(t, view(held.body), 0, held.body.byteLength, held.header, m, out)
      } catch (err) {
        push(out, 'skip', 'decoder-error', m, err instanceof Error ? err.message : String(err))
      }
    }
    const now = this.cache.evicted
    for (let i = ev.exporters; i < now.exporters; i++)
      push(out, 'note', 'exporter-evicted', meta, '')
    for (let i = ev.templates; i < now.templates; i++)
      push(out, 'note', 'template-evicted', meta, '')
    for (let i = ev.pendingSets; i < now.pendingSets; i++) {
      push(out, 'skip', 'no-template', meta, 'held data set dropped with its exporter')
    }
    return out
  }

  /** Ends the input: every data set still held counts as `no-template`. */
  flush(): DecodeResult {
    const out = newOut()
    for (const p of this.cache.drainPending()) noTemplate(out, p)
    return out
  }

  private decodeInto(buf: Uint8Array, meta: DatagramMeta, out: Out): void {
    if (buf.byteLength < 4) {
      push(
        out,
        'skip',
        'bad-length',
        meta,
        `datagram of ${buf.byteLength} octets is shorter than any header`,
      )
      return
    }
    const dv = view(buf)
    const version = dv.getUint16(0)
    const layout = FIXED_LAYOUTS.get(version)
    if (layout !== undefined) this.decodeFixed(layout, buf, dv, meta, out)
    else if (version === 9) this.decodeV9(buf, dv, meta, out)
    else if (version === 10) this.decodeIpfix(buf, dv, meta, out)
    else
      push(
        out,
        'skip',
        'bad-version',
        meta,
        `version ${version} is not NetFlow v1, v5, v7, v9 or IPFIX (10)`,
      )
  }

  /**
   * A NetFlow v1, v5 or v7 datagram ({@link FixedLayout}): exactly its header and `count`
   * records, else one `bad-length` skip and nothing from it. Times from `SysUptime` and
   * `unix_secs`/`unix_nsecs` ({@link fromUptime}); a v7 record without a protocol (its flow mask)
   * is skipped as `no-protocol`.
   */
  private decodeFixed(
    layout: FixedLayout,
    buf: Uint8Array,
    dv: DataView,
    meta: DatagramMeta,
    out: Out,
  ): void {
    const count = dv.getUint16(2)
    const want = fixedLength(layout, count)
    if (buf.byteLength !== want) {
      push(
        out,
        'skip',
        'bad-length',
        meta,
        `v${layout.version} count ${count} needs ${want} octets, datagram has ${buf.byteLength}`,
      )
      return
    }
    const base: TimeBase = {
      sysUptimeMs: dv.getUint32(4),
      exportMs: dv.getUint32(8) * 1000 + Math.floor(dv.getUint32(12) / 1e6),
    }
    const r = layout.record
    // v5 sampling_interval: mode in the top 2 bits, 1 packet in N in the low 14 (as nfdump and
    // pmacct read it); counts are the sampled packets': said, not scaled
    const sampling = layout.version === 5 ? dv.getUint16(22) & 0x3fff : 0
    for (let i = 0; i < count; i++) {
      const o = layout.headerLength + layout.recordLength * i
      const protocol = dv.getUint8(o + r.protocol)
      if (protocol === 0 && layout.flowMask) {
        push(
          out,
          'skip',
          'no-protocol',
          meta,
          `v${layout.version} record ${ipv4(dv, o + r.src)} -> ${ipv4(dv, o + r.dst)} has no protocol or ports: ` +
            'the switch exports with a destination or destination-source flow mask ' +
            '(the full mask exports them: CatOS `set mls flow full`, IOS `mls flow ip full`)',
        )
        continue
      }
      const v: Values = new Map<number, number | string>([
        [IE.sourceIPv4Address, ipv4(dv, o + r.src)],
        [IE.destinationIPv4Address, ipv4(dv, o + r.dst)],
        [IE.packetDeltaCount, dv.getUint32(o + r.packets)],
        [IE.octetDeltaCount, dv.getUint32(o + r.bytes)],
        [IE.flowStartSysUpTime, dv.getUint32(o + r.first)],
        [IE.flowEndSysUpTime, dv.getUint32(o + r.last)],
        [IE.sourceTransportPort, dv.getUint16(o + r.srcPort)],
        [IE.destinationTransportPort, dv.getUint16(o + r.dstPort)],
        [IE.tcpControlBits, dv.getUint8(o + r.tcpFlags)],
        [IE.protocolIdentifier, protocol],
      ])
      const emitted = out.flows.length
      toFlow(v, base, layout.format, meta, '', out, this.icmpPortExporters)
      const flow = out.flows.length > emitted ? out.flows[emitted] : undefined
      if (sampling > 1 && flow !== undefined)
        pushFlowNote(out, `sampling-rate:${String(sampling)}`, meta, flow)
    }
    // flow_sequence counts flows; v5's engine type and id name the flow switching engine
    if (layout.sequenceAt !== undefined) {
      const engine = layout.engineAt === undefined ? 0 : dv.getUint16(layout.engineAt)
      this.checkSequence(meta, layout.version, engine, dv.getUint32(layout.sequenceAt), count, out)
    }
  }

  private decodeV9(buf: Uint8Array, dv: DataView, meta: DatagramMeta, out: Out): void {
    if (buf.byteLength < 20) {
      push(
        out,
        'skip',
        'bad-length',
        meta,
        `v9 datagram of ${buf.byteLength} octets is shorter than its 20-octet header`,
      )
      return
    }
    const header: HeaderContext = {
      version: 9,
      sysUptimeMs: dv.getUint32(4),
      exportMs: dv.getUint32(8) * 1000,
      domain: dv.getUint32(16),
      sequence: dv.getUint32(12),
      record: meta.record,
      file: meta.file,
    }
    this.forgetTemplatesOnRestart(header, meta, out)
    this.walkSets(buf, dv, 20, buf.byteLength, header, meta, out)
    this.checkSequence(meta, 9, header.domain, header.sequence, 1, out)
  }

  /**
   * A v9 exporter that restarted (its boot time, `unix_secs` − `sysUptime`, moved by more than
   * {@link BOOT_SLACK_MS} plus {@link BOOT_DRIFT} of the time between the datagrams, and not by
   * a whole wrap of the 32-bit uptime; and its uptime or its sequence number went back) may reuse
   * its template IDs for other layouts (RFC 3954 §5.1 scopes templates to one exporter process):
   * its templates of that source id are dropped, noted `exporter-restarted`, so that its data
   * waits for the new templates instead of being read with the old ones. A boot time that moved
   * while the uptime ("time in milliseconds since this device was first booted") and the
   * sequence number ("MUST be cumulative") both ran on is the wall clock stepped (NTP), not a
   * restart: the templates stay.
   */
  private forgetTemplatesOnRestart(h: HeaderContext, meta: DatagramMeta, out: Out): void {
    const key = `${meta.exporter}\u0000${String(h.domain)}`
    const uptime = h.sysUptimeMs ?? 0
    const boot = h.exportMs - uptime
    const sequence = h.sequence
    const last = this.v9Boots.get(key)
    if (this.v9Boots.size >= MAX_V9_BOOTS) this.v9Boots.clear()
    this.v9Boots.set(key, { boot, exportMs: h.exportMs, uptime, sequence })
    if (last === undefined) return
    const slack = BOOT_SLACK_MS + Math.abs(h.exportMs - last.exportMs) * BOOT_DRIFT
    const moved = boot - last.boot
    const wraps = Math.round(moved / 2 ** 32)
    if (Math.abs(moved) <= slack || (wraps !== 0 && Math.abs(moved - wraps * 2 ** 32) <= slack))
      return
    // the same process under a stepped wall clock: uptime and sequence ran on (modulo 2^32)
    const ranOn = (now: number, before: number): boolean => (now - before) >>> 0 < 2 ** 31
    if (uptime >= last.uptime && ranOn(sequence, last.sequence)) return
    const dropped =
      this.cache.withdrawAll(meta.exporter, h.domain, false, true) +
      this.cache.withdrawAll(meta.exporter, h.domain, true, true)
    this.nextSequence?.delete(sequenceKey(meta.exporter, 9, h.domain)) // it counts from 0 again
    push(
      out,
      'note',
      'exporter-restarted',
      meta,
      `boot time moved by ${String(Math.round(moved / 1000))} s: ${String(dropped)} templates dropped`,
    )
  }

  private decodeIpfix(buf: Uint8Array, dv: DataView, meta: DatagramMeta, out: Out): void {
    if (buf.byteLength < 16) {
      push(
        out,
        'skip',
        'bad-length',
        meta,
        `IPFIX message of ${buf.byteLength} octets is shorter than its 16-octet header`,
      )
      return
    }
    const length = dv.getUint16(2)
    if (length < 16 || length > buf.byteLength) {
      push(
        out,
        'skip',
        'bad-length',
        meta,
        `IPFIX length ${length} but ${buf.byteLength} octets received`,
      )
      return
    }
    const header: HeaderContext = {
      version: 10,
      exportMs: dv.getUint32(4) * 1000,
      domain: dv.getUint32(12),
      sequence: dv.getUint32(8),
      record: meta.record,
      file: meta.file,
    }
    this.messageRecords = 0
    const before = out.problems.length
    this.walkSets(buf, dv, 16, length, header, meta, out)
    // a set length that made the walk stop leaves the message's record count unknown
    const cut = out.problems.slice(before).some((p) => p.reason === 'bad-length')
    const records = cut ? undefined : this.messageRecords
    this.checkSequence(meta, 10, header.domain, header.sequence, records, out)
    if (length < buf.byteLength) this.afterIpfixMessage(buf.subarray(length), meta, out)
  }

  /**
   * The octets of a datagram after its IPFIX message's Length (one message a datagram, RFC 7011
   * §10.3.3, but a sender may pack more): another message is decoded as `flows` decodes it in a
   * file; zero padding is ignored (as after a v9 datagram); anything else is one `bad-length`.
   */
  private afterIpfixMessage(rest: Uint8Array, meta: DatagramMeta, out: Out): void {
    if (rest.every((b) => b === 0)) return
    const dv = view(rest)
    if (rest.byteLength >= 16 && dv.getUint16(0) === 10) {
      this.decodeIpfix(rest, dv, meta, out)
      return
    }
    push(
      out,
      'skip',
      'bad-length',
      meta,
      `${String(rest.byteLength)} octets after the IPFIX message's length, no message`,
    )
  }

  /**
   * With `sequenceGaps`: notes the datagrams (v9) or records (v5, v7, IPFIX) missing between the
   * sequence number expected from an exporter and domain and the one `sequence` carries, then
   * expects `sequence + count` (modulo 2^32; nothing when `count` is unknown).
   *
   * A record-counting exporter whose number is the last one plus this datagram's own records
   * (ulogd 2.0.8's IPFIX output adds a message's records before writing it, where RFC 7011 §3.1
   * counts those sent before; Open vSwitch's NetFlow v5 carries its last record's number, where
   * Cisco's v5 carries the first's) loses nothing: noted `sequence-counts-own-records`, not
   * `lost-records` (a number behind the expected one would otherwise be taken for a late datagram
   * and every later one judged against it). Such numbers differ from the RFC's only where two
   * datagrams in a row hold different numbers of records.
   */
  private checkSequence(
    meta: DatagramMeta,
    version: SequencedVersion,
    domain: number,
    sequence: number,
    count: number | undefined,
    out: Out,
  ): void {
    const next = this.nextSequence
    if (next === undefined) return
    const key = sequenceKey(meta.exporter, version, domain)
    const seen = next.get(key)
    if (seen !== undefined && sequence !== seen.next) {
      const ahead = (sequence - seen.next) >>> 0
      if (version !== 9 && count !== undefined && sequence === (seen.last + count) >>> 0) {
        out.problems.push({
          kind: 'note',
          reason: 'sequence-counts-own-records',
          file: meta.file,
          record: meta.record,
          detail: `sequence ${String(sequence)}: the last one (${String(seen.last)}) plus this datagram's ${String(count)} records, not the expected ${String(seen.next)}`,
        })
      } else if (ahead < 2 ** 31) {
        const what = version === 9 ? 'datagrams' : 'records'
        out.problems.push({
          kind: 'note',
          reason: `lost-${what}`,
          file: meta.file,
          record: meta.record,
          detail: `sequence ${String(sequence)}, expected ${String(seen.next)}: ${String(ahead)} ${what} missing`,
          count: ahead,
        })
      } else if (2 ** 32 - ahead <= MAX_SEQUENCE_BEHIND) return // late or repeated
    }
    if (count === undefined) next.delete(key)
    else {
      if (next.size >= MAX_SEQUENCES && !next.has(key)) next.clear()
      next.set(key, { next: (sequence + count) >>> 0, last: sequence })
    }
  }

  /** Walks the (flow)sets of a v9 packet or IPFIX message in [start, end). */
  private walkSets(
    buf: Uint8Array,
    dv: DataView,
    start: number,
    end: number,
    h: HeaderContext,
    meta: DatagramMeta,
    out: Out,
  ): void {
    const v9 = h.version === 9
    let p = start
    while (p < end) {
      if (end - p < 4) {
        // trailing octets shorter than a set header: padding when zero, else garbage
        if (!allZero(buf, p, end))
          push(out, 'skip', 'bad-length', meta, `${end - p} stray octets after the last set`)
        return
      }
      const id = dv.getUint16(p)
      const len = dv.getUint16(p + 2)
      if (len < 4) {
        if (id === 0 && len === 0 && allZero(buf, p, end)) return // zero padding at the end of a v9 packet
        push(
          out,
          'skip',
          'bad-length',
          meta,
          `set ${id} has length ${len} (< 4); rest of the datagram dropped`,
        )
        return
      }
      if (p + len > end) {
        push(
          out,
          'skip',
          'bad-length',
          meta,
          `set ${id} of length ${len} runs past the datagram end (${end - p} octets left)`,
        )
        return
      }
      const bs = p + 4
      const be = p + len
      if (v9 ? id === 0 : id === 2) this.templateSet(dv, bs, be, h, false, meta, out)
      else if (v9 ? id === 1 : id === 3) this.templateSet(dv, bs, be, h, true, meta, out)
      else if (id >= 256) this.dataSet(buf, bs, be, id, h, meta, out)
      else push(out, 'skip', 'bad-template', meta, `reserved set id ${id}`)
      p = be
    }
  }

  private templateSet(
    dv: DataView,
    start: number,
    end: number,
    h: HeaderContext,
    options: boolean,
    meta: DatagramMeta,
    out: Out,
  ): void {
    const v9 = h.version === 9
    const hdr = options ? 6 : 4
    let p = start
    while (end - p >= 4) {
      const tid = dv.getUint16(p)
      const second = dv.getUint16(p + 2)
      if (tid === 0 && second === 0) return // padding
      if (!v9 && second === 0) {
        // RFC 7011 §8.1: a withdrawal is the template id and a field count of 0, four octets in
        // an options template set too; template id 2 / 3 withdraws all (options) templates
        p += 4
        this.withdraw(tid, h, meta, out)
        continue
      }
      if (end - p < hdr) return // padding
      let fields: TemplateField[] | undefined
      let scopeCount = 0
      if (v9 && options) {
        // RFC 3954 §6.1: template id, option scope length (octets), option length (octets)
        const scopeLen = second
        const optLen = dv.getUint16(p + 4)
        p += 6
        if (tid < 256 || scopeLen % 4 !== 0 || optLen % 4 !== 0) {
          push(
            out,
            'skip',
            'bad-template',
            meta,
            `v9 options template ${tid}: scope length ${scopeLen}, option length ${optLen}`,
          )
          return
        }
        if (scopeLen + optLen > end - p) {
          push(out, 'skip', 'bad-length', meta, `v9 options template ${tid} runs past its flowset`)
          return
        }
        scopeCount = scopeLen / 4
        fields = []
        for (let i = 0; i < (scopeLen + optLen) / 4; i++, p += 4) {
          fields.push({
            id: dv.getUint16(p),
            length: dv.getUint16(p + 2),
            enterprise: i < scopeCount ? -1 : 0,
          })
        }
      } else {
        const fieldCount = second
        if (options) scopeCount = dv.getUint16(p + 4)
        p += hdr
        if (tid < 256) {
          push(out, 'skip', 'bad-template', meta, `template id ${tid} is reserved (< 256)`)
          return
        }
        if (fieldCount === 0) {
          push(out, 'skip', 'bad-template', meta, `template ${tid} has no fields`)
          continue
        }
        if (scopeCount > fieldCount) {
          push(
            out,
            'skip',
            'bad-template',
            meta,
            `options template ${tid}: scope count ${scopeCount} > field count ${fieldCount}`,
          )
          return
        }
        if (fieldCount * 4 > end - p) {
          push(
            out,
            'skip',
            'bad-length',
            meta,
            `template ${tid} with ${fieldCount} fields runs past its set`,
          )
          return
        }
        fields = []
        for (let i = 0; i < fieldCount; i++) {
          if (end - p < 4) break
          const raw = dv.getUint16(p)
          const length = dv.getUint16(p + 2)
          p += 4
          let enterprise = 0
          if (!v9 && raw & 0x8000) {
            if (end - p < 4) break
            enterprise = dv.getUint32(p)
            p += 4
          }
          fields.push({ id: v9 ? raw : raw & 0x7fff, length, enterprise })
        }
        if (fields.length !== fieldCount) {
          push(out, 'skip', 'bad-length', meta, `template ${tid} runs past its set`)
          return
        }
      }
      if (fields.length === 0) {
        push(out, 'skip', 'bad-template', meta, `template ${tid} has no fields`)
        continue
      }
      const t = makeTemplate(tid, h.domain, fields, options, v9)
      this.cache.put(meta.exporter, t)
      this.onTemplate?.(t, h)
      // decoded once the whole datagram is read: options data after the template in the same
      // datagram (systemInitTimeMilliseconds) apply to them as to the datagram's own data
      for (const held of this.cache.takePending(meta.exporter, h.domain, tid))
        this.released.push({ t, held, exporter: meta.exporter })
    }
  }

  /**
   * An IPFIX template withdrawal (RFC 7011 §8.1): template `tid`, or every data (2) or options (3)
   * template of the domain. Data sets held for a withdrawn template were sent in the definition
   * it had before, which never arrived: they count `no-template` now rather than be decoded with
   * the next definition of the id (for 2 and 3, every held set of the domain).
   */
  private withdraw(tid: number, h: HeaderContext, meta: DatagramMeta, out: Out): void {
    const all = tid === 2 || tid === 3
    if (all) this.cache.withdrawAll(meta.exporter, h.domain, tid === 3)
    else this.cache.withdraw(meta.exporter, h.domain, tid)
    push(out, 'note', 'template-withdrawn', meta, `template ${tid}`)
    for (const held of this.cache.takePending(meta.exporter, h.domain, all ? undefined : tid)) {
      out.problems.push({
        ...noTemplateProblem(held),
        detail: `data set ${held.templateId} (domain ${h.domain}) held until its template was withdrawn`,
      })
    }
  }

  private dataSet(
    buf: Uint8Array,
    start: number,
    end: number,
    tid: number,
    h: HeaderContext,
    meta: DatagramMeta,
    out: Out,
  ): void {
    const t = this.cache.get(meta.exporter, h.domain, tid)
    if (this.dataIgnored && t?.options !== true) {
      this.messageRecords = undefined
      return
    }
    if (t) {
      this.decodeRecords(t, view(buf), start, end, h, meta, out)
      return
    }
    const held: PendingSet = { templateId: tid, body: buf.slice(start, end), header: h }
    this.messageRecords = undefined // how many records the set holds is unknown
    if (this.cache.isWithdrawn(meta.exporter, h.domain, tid)) {
      // RFC 7011 §8.1: no data for a withdrawn template; it was laid out for the definition that
      // is gone, and the next one may lay it out otherwise: not held for it
      out.problems.push({
        ...noTemplateProblem(held),
        detail: `data set ${tid} (domain ${h.domain}) after its template was withdrawn`,
      })
      return
    }
    for (const dropped of this.cache.hold(meta.exporter, held)) noTemplate(out, dropped)
  }

  private decodeRecords(
    t: Template,
    dv: DataView,
    start: number,
    end: number,
    h: HeaderContext,
    meta: DatagramMeta,
    out: Out,
  ): void {
    if (t.minRecordLength === 0) {
      this.messageRecords = undefined
      push(out, 'skip', 'bad-template', meta, `template ${t.id} has only zero-length fields`)
      return
    }
    const v9 = h.version === 9
    const format: NetflowSourceFormat = v9 ? 'netflow-v9' : 'ipfix'
    // IPFIX uptime-relative times without a known system init time: estimated from this set
    const estimatedInit =
      !v9 && !t.options && this.cache.systemInit(meta.exporter, h.domain) === undefined
        ? estimateSystemInit(t, dv, start, end, h.exportMs)
        : undefined
    // a record running past the end of its set means the set was not read as it was written
    // (a bad variable-length encoding, a wrong template): none of its records is trusted, so
    // the set's flows are kept apart and dropped with it
    const setOut = newOut()
    // sampling, looked up once per set: the rates the exporter's options data announced, and
    // whether this template's records can state their own (most carry neither)
    const rates = t.options ? undefined : this.cache.samplingRates(meta.exporter)
    const ownRate = !t.options && statesSampling(t)
    const drop = (): void => {
      this.messageRecords = undefined // misread: its record count is unknown
      out.problems.push(...setOut.problems)
      const n = setOut.flows.length
      push(
        out,
        'skip',
        'bad-length',
        meta,
        `a record of template ${t.id} runs past the end of its set` +
          (n > 0 ? `; the set's ${n} records read before it are dropped too` : ''),
      )
    }
    let p = start
    while (end - p >= t.minRecordLength) {
      if (this.messageRecords !== undefined) this.messageRecords++
      const values: Values = new Map()
      let bad: string | undefined
      let protocols = 0
      for (const f of t.fields) {
        const span = fieldSpan(dv, p, end, f.length)
        if (span === undefined) return drop()
        const len = span.len
        p = span.at
        const spec = f.enterprise === 0 ? specFor(f.id, v9) : undefined
        if (spec && len > 0 && (!values.has(f.id) || INNER_LAST.has(f.id))) {
          if (!lengthFits(spec, len)) {
            // (an inner header's element of an odd length is left out, as any repeat was)
            if (!t.options && !values.has(f.id)) bad ??= `element ${f.id} of ${len} octets`
          } else {
            values.set(f.id, readValue(dv, p, len, spec))
            if (f.id === IE.sourceIPv4Address || f.id === IE.sourceIPv6Address)
              values.set(LAST_PAIR, f.id === IE.sourceIPv4Address ? 4 : 6)
            else if (f.id === IE.protocolIdentifier) protocols++
          }
        } else if (
          (t.options || rates !== undefined) &&
          len > 0 &&
          len <= 8 &&
          (f.enterprise === 0 ? f.id === IE.ingressInterface : f.enterprise === -1 && f.id === 2)
        )
          // the interface a sampling rate is announced for (IPFIX ingressInterface, v9 scope 2
          // Interface) or a record came in on: read only when sampling is to be looked up
          values.set(INTERFACE, readUnsigned(dv, p, len))
        else if (
          f.enterprise === REVERSE_PEN &&
          (REVERSE_COUNTERS.has(f.id) || REVERSE_OTHERS.has(f.id)) &&
          len > 0 &&
          len <= 8
        )
          values.set(REVERSE + f.id, readUnsigned(dv, p, len))
        else if (f.enterprise === VMWARE_PEN && len > 0) {
          const tenant = VMWARE_TENANT.get(f.id)
          if (tenant && lengthFits(tenant.spec, len))
            values.set(TENANT + tenant.ie, readValue(dv, p, len, tenant.spec))
        } else if (f.enterprise === CISCO_PEN && len > 0) {
          const ie = CISCO_CONNECTION.get(f.id)
          const twin = ie === undefined ? undefined : ELEMENT_SPECS.get(ie)
          if (ie !== undefined && twin && lengthFits(twin, len) && !values.has(CONNECTION + ie))
            values.set(CONNECTION + ie, readValue(dv, p, len, twin))
        } else if (f.enterprise === CERT_PEN || isSubTemplateList(f)) {
          this.readCertFlags(f, dv, p, len, meta.exporter, h.domain, values, SUB_TEMPLATE_DEPTH)
        }
        p += len
      }
      if (protocols > 1) values.set(TUNNEL, 1)
      const unknownSub = values.get(UNKNOWN_SUB_TEMPLATE)
      useTenantFlow(values)
      useConnectionFlow(values)
      if (t.options) {
        const init = values.get(IE.systemInitTimeMilliseconds)
        if (!v9 && typeof init === 'number' && init > 0 && init <= MAX_TIME_MS) {
          this.cache.setSystemInit(meta.exporter, h.domain, init)
          this.onSystemInit?.(init, h)
        }
        const rate = samplingRate(values)
        if (rate !== undefined) {
          const sampler = samplerOf(values)
          const iface = num(values, INTERFACE)
          const scope =
            sampler !== undefined
              ? `s${String(sampler)}`
              : iface !== undefined
                ? `i${String(iface)}`
                : '-1'
          this.cache.setSampling(meta.exporter, h.domain, scope, rate)
        }
        push(setOut, 'note', 'options-record', meta, '')
        continue
      }
      if (t.invalid !== undefined || bad !== undefined) {
        push(
          setOut,
          'skip',
          'bad-field-length',
          meta,
          `template ${t.id}: ${t.invalid ?? bad ?? ''}`,
        )
        continue
      }
      const base: TimeBase = v9
        ? { exportMs: h.exportMs, sysUptimeMs: h.sysUptimeMs ?? 0 }
        : systemInitBase(
            h.exportMs,
            values,
            this.cache.systemInit(meta.exporter, h.domain) ?? estimatedInit,
          )
      const emitted = setOut.flows.length
      toFlow(
        values,
        base,
        format,
        meta,
        `${meta.exporter}/${h.domain}`,
        setOut,
        this.icmpPortExporters,
      )
      // counts of a sampled exporter are the sampled packets' only: said, not scaled
      const rate =
        (ownRate ? samplingRate(values) : undefined) ??
        (rates === undefined
          ? undefined
          : samplingFor(rates, h.domain, samplerOf(values), num(values, INTERFACE)))
      const flow = setOut.flows.length > emitted ? setOut.flows[emitted] : undefined
      // notes about the record's flow, made once it is given (a record skipped is not noted)
      if (unknownSub !== undefined && flow !== undefined)
        pushFlowNote(
          setOut,
          'unknown-sub-template',
          meta,
          flow,
          `template ${t.id}: a list names template ${String(unknownSub)}, not received before the record; the list is not read (YAF's TCP flags lost: direction from ports)`,
        )
      if (rate !== undefined && rate > 1 && flow !== undefined)
        pushFlowNote(setOut, `sampling-rate:${String(rate)}`, meta, flow)
    }
    // fewer octets than one record left: padding (RFC 7011 §3.3.1, RFC 3954 §5.3). Up to 3
    // octets align the next set and may hold anything (Mikrotik sends 2 non-zero octets);
    // more should be zero, else they are the start of a record cut short (those before are whole)
    if (end - p > 3 && !allZero(new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength), p, end)) {
      push(
        setOut,
        'skip',
        'bad-length',
        meta,
        `${end - p} octets after the last record of template ${t.id} are not padding (a record cut short)`,
      )
    }
    out.flows.push(...setOut.flows)
    out.problems.push(...setOut.problems)
    for (const [f, e] of setOut.events) out.events.set(f, e)
    for (const [f, h] of setOut.halves) out.halves.set(f, h)
  }

  /**
   * Reads YAF's TCP flags ({@link CERT_TCP_FLAGS}) from field `f` of `len` octets at `p`: the
   * element itself (1 octet), or the records of an RFC 6313 subTemplateList (292: semantic
   * octet, template id, records) or subTemplateMultiList (293: semantic octet, then entries of
   * template id, entry length counting its 4-octet header, records) of this exporter and domain's
   * templates, `depth` lists deep. Flags met more than once are ORed. A list that does not parse
   * (an unknown template, an entry running past the list) gives what was read before it: the
   * flags only add evidence, and the record's own fields are read whatever the list holds. A
   * template id no template of this exporter and domain has is kept in `values` at
   * {@link UNKNOWN_SUB_TEMPLATE}, for the caller to note.
   */
  private readCertFlags(
    f: TemplateField,
    dv: DataView,
    p: number,
    len: number,
    exporter: string,
    domain: number,
    values: Values,
    depth: number,
  ): void {
    if (f.enterprise === CERT_PEN) {
      if (len === 1 && CERT_TCP_FLAGS.has(f.id)) {
        const prior = values.get(CERT_FLAGS + f.id)
        values.set(CERT_FLAGS + f.id, (typeof prior === 'number' ? prior : 0) | dv.getUint8(p))
      }
      return
    }
    if (depth === 0 || len < 3) return
    const end = p + len
    let q = p + 1 // the semantic octet
    const entries: [tid: number, from: number, to: number][] = []
    if (f.id === IE.subTemplateList) entries.push([dv.getUint16(q), q + 2, end])
    else
      while (end - q >= 4) {
        const n = dv.getUint16(q + 2)
        if (n < 4 || n > end - q) break
        entries.push([dv.getUint16(q), q + 4, q + n])
        q += n
      }
    for (const [tid, from, to] of entries) {
      const t = this.cache.get(exporter, domain, tid)
      if (t === undefined) values.set(UNKNOWN_SUB_TEMPLATE, tid)
      if (t === undefined || t.options || t.minRecordLength === 0) continue
      let r = from
      while (to - r >= t.minRecordLength) {
        for (const sf of t.fields) {
          const span = fieldSpan(dv, r, to, sf.length)
          if (span === undefined) return
          this.readCertFlags(sf, dv, span.at, span.len, exporter, domain, values, depth - 1)
          r = span.at + span.len
        }
      }
    }
  }
}

/** True for an IANA structured-data list field (RFC 6313) whose records can hold YAF's flags. */
function isSubTemplateList(f: TemplateField): boolean {
  return f.enterprise === 0 && (f.id === IE.subTemplateList || f.id === IE.subTemplateMultiList)
}

/**
 * Where the value of a field declared `declared` octets long starts at `p`, and its length: a
 * variable-length field (RFC 7011 §7; v9 too, see makeTemplate) starts with a 1-octet length,
 * or 255 then a 2-octet length. Undefined when the field runs past `end`.
 */
function fieldSpan(
  dv: DataView,
  p: number,
  end: number,
  declared: number,
): { len: number; at: number } | undefined {
  let at = p
  let len = declared
  if (len === VARIABLE_LENGTH) {
    if (end - at < 1) return undefined
    len = dv.getUint8(at)
    at += 1
    if (len === 255) {
      if (end - at < 2) return undefined
      len = dv.getUint16(at)
      at += 2
    }
  }
  return len > end - at ? undefined : { len, at }
}

/**
 * For an IPFIX data set whose exporter's systemInitTimeMilliseconds is unknown: the init time
 * that puts the latest flowEndSysUpTime (21) of the set's records at the export time — the
 * exporter's uptime at export is at least every flow's end, so this keeps the flows' times
 * relative to each other and ends none after the export. Only for templates of fixed-length
 * fields without their own systemInitTimeMilliseconds (160); undefined otherwise.
 */
function estimateSystemInit(
  t: Template,
  dv: DataView,
  start: number,
  end: number,
  exportMs: number,
): number | undefined {
  let at = -1
  let len = 0
  let recordLength = 0
  for (const f of t.fields) {
    if (f.length === VARIABLE_LENGTH) return undefined
    if (f.enterprise === 0 && f.id === IE.systemInitTimeMilliseconds) return undefined
    if (
      f.enterprise === 0 &&
      f.id === IE.flowEndSysUpTime &&
      at < 0 &&
      f.length >= 1 &&
      f.length <= 4
    ) {
      at = recordLength
      len = f.length
    }
    recordLength += f.length
  }
  if (at < 0 || recordLength === 0) return undefined
  let latest = -1
  for (let p = start; end - p >= recordLength; p += recordLength) {
    latest = Math.max(latest, readUnsigned(dv, p + at, len))
  }
  return latest < 0 ? undefined : exportMs - latest
}

function systemInitBase(exportMs: number, values: Values, learned: number | undefined): TimeBase {
  const own = values.get(IE.systemInitTimeMilliseconds)
  const init = typeof own === 'number' && own > 0 ? own : learned
  return init === undefined ? { exportMs } : { exportMs, systemInitMs: init }
}

/** The `no-template` skip of a data set whose template never came. */
export function noTemplateProblem(p: PendingSet): DecodeProblem {
  return {
    kind: 'skip',
    reason: 'no-template',
    file: p.header.file,
    record: p.header.record,
    detail: `data set ${p.templateId} (domain ${p.header.domain}) without a template`,
  }
}

function noTemplate(out: Out, p: PendingSet): void {
  out.problems.push(noTemplateProblem(p))
}

function push(
  out: Out,
  kind: 'skip' | 'note',
  reason: string,
  meta: DatagramMeta,
  detail: string,
): void {
  out.problems.push({ kind, reason, file: meta.file, record: meta.record, detail })
}

/** The notes {@link toFlow} makes about the flow of a record ({@link DecodeProblem.flow}). */
type RecordNote =
  | 'inner-header'
  | 'icmp-type-assumed-echo'
  | 'uptime-unwrapped'
  | 'time-from-export'
  | 'ends-after-export'
  | 'end-before-start'
  | 'refused-by-reset'

/** A note about `flow`, the flow of the record being read ({@link DecodeProblem.flow}). */
function pushFlowNote(out: Out, reason: string, meta: DatagramMeta, flow: Flow, detail = ''): void {
  out.problems.push({ kind: 'note', reason, file: meta.file, record: meta.record, detail, flow })
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength)
}

function allZero(b: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (b[i] !== 0) return false
  return true
}

function specFor(id: number, v9: boolean): ElementSpec | undefined {
  return ELEMENT_SPECS.get(id) ?? (v9 ? V9_ONLY_SPECS.get(id) : undefined)
}

function lengthFits(spec: ElementSpec, len: number): boolean {
  switch (spec.encoding) {
    case 'unsigned':
      return len >= 1 && len <= spec.maxLength
    case 'ipv4':
      return len === 4
    case 'ipv6':
      return len === 16
    case 'seconds':
      return len === 4
    case 'milliseconds':
    case 'ntp':
      return len === 8
  }
}

function makeTemplate(
  id: number,
  domain: number,
  fields: TemplateField[],
  options: boolean,
  v9: boolean,
): Template {
  let min = 0
  let invalid: string | undefined
  for (const f of fields) {
    // RFC 3954 has no variable-length fields, but v9 exporters (H3C/HPE NetStream) send
    // IPFIX's 65535 marker and encoding; no fixed field can be that long in a UDP datagram
    if (f.length === VARIABLE_LENGTH) min += 1
    else min += f.length
    const spec = f.enterprise === 0 ? specFor(f.id, v9) : undefined
    if (
      !options &&
      spec &&
      f.length !== 0 &&
      f.length !== VARIABLE_LENGTH &&
      !lengthFits(spec, f.length)
    ) {
      invalid ??= `element ${f.id} declared with ${f.length} octets`
    }
  }
  return invalid === undefined
    ? { id, domain, fields, options, minRecordLength: min }
    : { id, domain, fields, options, minRecordLength: min, invalid }
}

/** Big-endian unsigned of 1–8 octets; −1 when above Number.MAX_SAFE_INTEGER. */
function readUnsigned(dv: DataView, p: number, len: number): number {
  if (len <= 6) {
    let v = 0
    for (let i = 0; i < len; i++) v = v * 256 + dv.getUint8(p + i)
    return v
  }
  let v = 0n
  for (let i = 0; i < len; i++) v = (v << 8n) | BigInt(dv.getUint8(p + i))
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(v)
}

function readValue(dv: DataView, p: number, len: number, spec: ElementSpec): number | string {
  switch (spec.encoding) {
    case 'unsigned':
      return readUnsigned(dv, p, len)
    case 'ipv4':
      return ipv4(dv, p)
    case 'ipv6':
      return ipv6(dv, p)
    case 'seconds':
      return dv.getUint32(p) * 1000
    case 'milliseconds':
      return readUnsigned(dv, p, 8)
    case 'ntp': {
      // RFC 7011 §6.1.9/§6.1.10: NTP seconds since 1900 + 32-bit binary fraction. The seconds
      // wrap on 2036-02-07 (NTP era 1): with the top bit clear they are of era 1, as SNTP reads
      // them (RFC 4330 §3); all zero is no time. The fraction is rounded to the millisecond, as
      // every reader rounds finer times: a binary fraction holds no exact millisecond, and an
      // exporter's (§6.1.9: its low 11 bits zero for microseconds) lies just below it
      const raw = dv.getUint32(p)
      const frac = dv.getUint32(p + 4)
      if (raw === 0 && frac === 0) return -1
      const secs = raw + (raw < 2 ** 31 ? 2 ** 32 : 0) - NTP_UNIX_OFFSET_SECONDS
      return secs < 0 ? -1 : secs * 1000 + Math.round((frac * 1000) / 2 ** 32)
    }
  }
}

function ipv4(dv: DataView, p: number): string {
  return `${dv.getUint8(p)}.${dv.getUint8(p + 1)}.${dv.getUint8(p + 2)}.${dv.getUint8(p + 3)}`
}

/** RFC 5952 text of 16 octets; IPv4-mapped addresses (::ffff:a.b.c.d) are written as IPv4. */
function ipv6(dv: DataView, p: number): string {
  const g: number[] = []
  for (let i = 0; i < 8; i++) g.push(dv.getUint16(p + 2 * i))
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff)
    return ipv4(dv, p + 12)
  // longest run of ≥ 2 zero groups, first one on ties
  let bestStart = -1
  let bestLen = 0
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i
      bestLen = j - i
    }
    i = j
  }
  const hex = (a: number, b: number): string =>
    g
      .slice(a, b)
      .map((x) => x.toString(16))
      .join(':')
  if (bestStart < 0) return hex(0, 8)
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`
}

function num(v: Values, id: number): number | undefined {
  const x = v.get(id)
  return typeof x === 'number' ? x : undefined
}

function str(v: Values, id: number): string | undefined {
  const x = v.get(id)
  return typeof x === 'string' ? x : undefined
}

/** First defined of the ids; a pair sum when neither single id is present. */
function counter(
  v: Values,
  single: readonly number[],
  pair: readonly [number, number],
): number | undefined {
  for (const id of single) {
    const x = num(v, id)
    if (x !== undefined) return x
  }
  const a = num(v, pair[0])
  const b = num(v, pair[1])
  if (a === undefined && b === undefined) return undefined
  if (a === -1 || b === -1) return -1
  return (a ?? 0) + (b ?? 0)
}

/** A counter plus another that may be absent; −1 (above 2^53 − 1) when either is or the sum is. */
function addCounts(a: number, b: number | undefined): number {
  if (b === undefined) return a
  if (a < 0 || b < 0 || a + b > Number.MAX_SAFE_INTEGER) return -1
  return a + b
}

/**
 * The protocol of a record without protocolIdentifier (4): ICMP for its address family (1, or 58
 * for IPv6) when it carries an ICMP type element (32/139/176–179) and no transport port (softflowd
 * writes ICMP flows with such templates), else 0.
 */
function impliedIcmp(v: Values, dst: string): number {
  if (v.has(IE.sourceTransportPort) || v.has(IE.destinationTransportPort)) return 0
  const icmp = [
    IE.icmpTypeCodeIPv4,
    IE.icmpTypeCodeIPv6,
    IE.icmpTypeIPv4,
    IE.icmpCodeIPv4,
    IE.icmpTypeIPv6,
    IE.icmpCodeIPv6,
  ].some((id) => v.has(id))
  if (!icmp) return 0
  return dst.includes(':') ? 58 : 1
}

/**
 * The sampling rate (1 packet in N) a record states: samplingInterval 34, samplerRandomInterval
 * 50, or PSAMP count-based (305 selected, 306 skipped: N = (305 + 306) / 305 when whole).
 * 1 when it states no sampling (N of 0 or 1, nothing skipped), so that a record's own statement
 * and an options record that sets a sampler back to 1 in 1 win over a rate announced before;
 * undefined when it states none.
 */
function samplingRate(v: Values): number | undefined {
  const n = num(v, IE.samplingInterval) ?? num(v, IE.samplerRandomInterval)
  if (n !== undefined) return n > 1 && Number.isSafeInteger(n) ? n : 1
  const taken = num(v, IE.samplingPacketInterval)
  const skipped = num(v, IE.samplingPacketSpace)
  if (taken === undefined || skipped === undefined || taken <= 0 || skipped < 0) return undefined
  const rate = (taken + skipped) / taken
  return Number.isSafeInteger(rate) ? rate : undefined
}

/** The IANA elements by which a record states its own sampling rate ({@link samplingRate}). */
const RATE_ELEMENTS: ReadonlySet<number> = new Set([
  IE.samplingInterval,
  IE.samplerRandomInterval,
  IE.samplingPacketInterval,
  IE.samplingPacketSpace,
])

/** Whether the records of `t` can state their own sampling rate (an element of {@link RATE_ELEMENTS}). */
function statesSampling(t: Template): boolean {
  let s = STATES_SAMPLING.get(t)
  if (s === undefined) {
    s = t.fields.some((f) => f.enterprise === 0 && RATE_ELEMENTS.has(f.id))
    STATES_SAMPLING.set(t, s)
  }
  return s
}
const STATES_SAMPLING = new WeakMap<Template, boolean>()

/** The sampler a record names: samplerId 48, else selectorId 302. */
function samplerOf(v: Values): number | undefined {
  return num(v, IE.flowSamplerId) ?? num(v, IE.selectorId)
}

/** 2^32: flowStart/EndSysUpTime are 32-bit milliseconds and wrap every 49.7 days. */
const UPTIME_WRAP = 2 ** 32

/** How far after its export a flow may end (clock steps, rounding), ms. */
const AFTER_EXPORT_SLACK_MS = 60_000

/** Absolute ms from uptime-relative ms. */
function fromUptime(base: TimeBase, up: number): number | undefined {
  if (base.sysUptimeMs !== undefined) {
    // signed 32-bit age copes with sysUptime wrap-around (every 49.7 days)
    const age = (base.sysUptimeMs - up) | 0
    return base.exportMs - age
  }
  if (base.systemInitMs !== undefined) {
    // the uptime field wraps: of up + k·2^32, the latest that does not end after the export
    // (an exporter up for more than 49.7 days, or one that reports its init time wrapped)
    const now = base.exportMs - base.systemInitMs
    const k = Math.floor((now + AFTER_EXPORT_SLACK_MS - up) / UPTIME_WRAP)
    return base.systemInitMs + up + k * UPTIME_WRAP
  }
  return undefined
}

function firstTime(v: Values, ids: readonly number[]): number | undefined {
  for (const id of ids) {
    const x = num(v, id)
    if (x !== undefined) return x
  }
  return undefined
}

const START_IDS = [
  IE.flowStartMilliseconds,
  IE.flowStartMicroseconds,
  IE.flowStartNanoseconds,
  IE.flowStartSeconds,
] as const
const END_IDS = [
  IE.flowEndMilliseconds,
  IE.flowEndMicroseconds,
  IE.flowEndNanoseconds,
  IE.flowEndSeconds,
] as const

/**
 * Maps one record's values to a flow (or a problem). Rules, in order of preference:
 * - addresses: IPv4 pair (8/12), else IPv6 pair (27/28); with both pairs (dual-stack templates)
 *   the IPv6 pair when ipVersion (60) is 6, or, without ipVersion, when the IPv4 pair is
 *   0.0.0.0 → 0.0.0.0 and the IPv6 pair is not all zero; neither pair → note `no-address`.
 *   A tunnel's template gives the outer header's elements and then the inner's (the protocol
 *   twice, or two used pairs without ipVersion): the flow is the inner header's, addresses,
 *   ports and protocol alike ({@link INNER_LAST}; the later pair), noted `inner-header`.
 *   A VMware VXLAN record's tenant elements are its inner header likewise ({@link useTenantFlow}).
 * - protocol: 4; absent, ICMP (1, or 58 over IPv6) when the record has an ICMP type element and
 *   no transport port, else 0.
 * - ports: 7/11; for ICMP (1) / ICMPv6 (58) `dstPort` = type and `srcPort` = code from
 *   icmpType/Code (176–179), else icmpTypeCode (32/139, type = value >> 8), else the
 *   destination port read as type·256 + code (in v9/IPFIX a 0 there only when `exporterKey` is
 *   in `icmpPortExporters`, which a non-zero one adds to; in v1/v5/v7 a source port of 1–255
 *   with a destination port below 256 is fprobe's type and code); else no type: an echo request (8 /
 *   128), noted `icmp-type-assumed-echo`; protocols without ports get 0/0.
 * - bytes: 1, else 85, else 231 + 232; packets: 2, else 86, else 298 + 299; when those are absent
 *   or 0 (both), 23 / 24 (v9 OUT_BYTES / OUT_PKTS, an egress flow's counters); plus the RFC 5103
 *   reverse octets / packets (PEN 29305, element 1 or 85 / 2 or 86) of a biflow record; absent → 0.
 *   A biflow that counts reverse packets only is read as the reverse direction's record: source
 *   and destination (and, but for ICMP, ports) exchanged, its reverse flags its flags; one that
 *   counts one direction only may be paired as a one-direction record.
 * - tcpFlags: tcpControlBits ORed with a biflow's reverseTcpControlBits (PEN 29305, 6), else
 *   YAF's CERT flags ORed.
 * - times: absolute start/end elements (152/154/156/150, 153/155/157/151), else the export time
 *   minus flowStart/EndDeltaMicroseconds (158/159), else sysUptime-relative
 *   (22/21; IPFIX needs systemInitTimeMilliseconds from the record or options data, and the
 *   32-bit uptime is unwrapped so that the flow does not end after the export; without it, the
 *   latest end in the data set is taken as the export time and the others keep their distance to
 *   it — for templates of fixed-length fields — else end is the export time and start end minus
 *   the uptime difference); a missing end is
 *   start plus flowDurationMilliseconds/Microseconds (161/162), and a missing start end minus it,
 *   else the end is observationTimeMilliseconds (323), else start; both missing → the export
 *   time, noted `time-from-export`.
 * - observedAction: firewallEvent 233 (v9 also 40005): 3 denied → reject, 1 created / 2 deleted /
 *   5 updated → accept; else forwardingStatus 89 bits 7-6: 01 forwarded → accept, 10 dropped →
 *   reject; else unknown.
 * - events: a record with firewallEvent 1 / 2 / 5 and a non-zero flowId 148 (Cisco NSEL's
 *   NF_F_CONN_ID) is one event of a connection: `events` names it (netflow/events.ts merges them).
 * - direction: biflowDirection 239: 1 initiator → client-to-server, 2 reverseInitiator →
 *   server-to-client; else initiator/responder counters (231/232/298/299: the source is the
 *   initiator, as Cisco NSEL reports) → client-to-server; else an ICMP reply type (echo reply,
 *   ...) the record carries → server-to-client (a record without the type element says
 *   nothing); else YAF's first packet (SYN → client-to-server, SYN+ACK → server-to-client),
 *   else a biflow's forward (client-to-server) or reverse (server-to-client) flags holding SYN
 *   without ACK; else unknown. A turned biflow's biflowDirection 1 / 2 are exchanged.
 * - refused: no action recorded, the client's SYN without ACK (YAF's first packet, or the
 *   forward flags) and the reverse direction's RST without SYN (its first packet, or its flags)
 *   → reject, noted `refused-by-reset`.
 */
function toFlow(
  v: Values,
  base: TimeBase,
  format: NetflowSourceFormat,
  meta: DatagramMeta,
  exporterKey: string,
  out: Out,
  icmpPortExporters: Set<string>,
): void {
  let src = str(v, IE.sourceIPv4Address)
  let dst = str(v, IE.destinationIPv4Address)
  const src6 = str(v, IE.sourceIPv6Address)
  const dst6 = str(v, IE.destinationIPv6Address)
  // a tunnel's record: the outer and then the inner header's elements (the protocol given twice,
  // or, below, two address pairs in use), as Huawei SRv6 and IOS XR IP-in-IPv6 templates give
  // them; the flow is the inner one, all of it (INNER_LAST)
  let tunnel = v.has(TUNNEL)
  if (src6 !== undefined && dst6 !== undefined) {
    // dual-stack templates (nProbe `%IPV4_SRC_ADDR ... %IPV6_SRC_ADDR ...`) carry both pairs and
    // zero the family the flow is not: ipVersion says which, else the all-zero pair is unused
    // in a tunnel's template an ipVersion names the outer header
    const version = tunnel ? undefined : num(v, IE.ipVersion)
    const v4Unused =
      src === undefined || dst === undefined || (src === '0.0.0.0' && dst === '0.0.0.0')
    const v6Unused = src6 === '::' && dst6 === '::'
    // both used and no ipVersion: a tunnel's outer and inner pairs, and the pair later in the
    // template is the inner one (as its ports and protocol are)
    const inner = !v4Unused && !v6Unused && version === undefined ? num(v, LAST_PAIR) : undefined
    if (inner !== undefined) tunnel = true
    if (
      inner === 6 ||
      (inner === undefined && (version === 6 || (version !== 4 && v4Unused && !v6Unused)))
    ) {
      src = src6
      dst = dst6
    }
  }
  if (src === undefined || dst === undefined) {
    // no whole pair of one family: one end in an IPv4 element, the other in an IPv6 one (an
    // IPv4-mapped address is IPv4 text already, `ipv6`), read as other formats read them
    const eitherSrc = src ?? src6
    const eitherDst = dst ?? dst6
    if (eitherSrc === undefined || eitherDst === undefined) {
      push(out, 'note', 'no-address', meta, '')
      return
    }
    if (mixedFamilies(eitherSrc, eitherDst)) {
      push(
        out,
        'skip',
        'mixed-address-families',
        meta,
        `${eitherSrc} -> ${eitherDst}: an IPv4 and an IPv6 address are never the two ends of one packet`,
      )
      return
    }
    src = eitherSrc
    dst = eitherDst
  }
  const protocol = num(v, IE.protocolIdentifier) ?? impliedIcmp(v, dst)
  let srcPort = num(v, IE.sourceTransportPort) ?? 0
  let dstPort = num(v, IE.destinationTransportPort) ?? 0
  // true when the record carries the ICMP message type (an element, or v1/v5/v7's destination port)
  let icmpTyped = false
  if (protocol === 1 || protocol === 58) {
    const [tId, cId] =
      protocol === 1 ? [IE.icmpTypeIPv4, IE.icmpCodeIPv4] : [IE.icmpTypeIPv6, IE.icmpCodeIPv6]
    const type = num(v, tId)
    if (type !== undefined) {
      dstPort = type
      srcPort = num(v, cId) ?? 0
      icmpTyped = true
    } else {
      let tc =
        protocol === 1
          ? (num(v, IE.icmpTypeCodeIPv4) ?? num(v, IE.icmpTypeCodeIPv6))
          : (num(v, IE.icmpTypeCodeIPv6) ?? num(v, IE.icmpTypeCodeIPv4))
      // type·256+code in the destination port is the convention of NetFlow v1, v5 and v7, which
      // some v9/IPFIX exporters keep (Cisco) and others do not, writing 0 (MikroTik; nfdump#346,
      // pmacct#924). So in v9/IPFIX a 0 there is type 0 (echo reply) only from an exporter seen
      // to put types in it
      if (tc === undefined && v.has(IE.destinationTransportPort)) {
        const fixed = FIXED_FORMATS.has(format)
        if (fixed || dstPort !== 0 || icmpPortExporters.has(exporterKey)) tc = dstPort
        // fprobe (v1/v5/v7) writes the type in the source port and the code in the destination
        // port (an echo request: 8 and 0), where Cisco writes type·256+code in the destination
        // port and 0 in the source port; nfdump reads fprobe's the same way
        if (fixed && srcPort > 0 && srcPort < 256 && dstPort < 256) tc = srcPort * 256 + dstPort
        if (!fixed && dstPort !== 0 && icmpPortExporters.size < MAX_ICMP_PORT_EXPORTERS)
          icmpPortExporters.add(exporterKey)
      }
      if (tc !== undefined) {
        icmpTyped = true
        dstPort = tc >> 8
        srcPort = tc & 0xff
      } else {
        // no type: an echo request, as for the other formats without one (AWS, GCP), direction
        // unknown, and said so
        dstPort = protocol === 1 ? 8 : 128
        srcPort = 0
      }
    }
  } else if (!hasPorts(protocol)) {
    srcPort = 0
    dstPort = 0
  }
  let bytes = counter(
    v,
    [IE.octetDeltaCount, IE.octetTotalCount],
    [IE.initiatorOctets, IE.responderOctets],
  )
  let packets = counter(
    v,
    [IE.packetDeltaCount, IE.packetTotalCount],
    [IE.initiatorPackets, IE.responderPackets],
  )
  // v9 OUT_BYTES / OUT_PKTS (23/24) count an egress flow (RFC 3954 §8), whose IN_* may be sent
  // as 0; beside IN_* counts they are nProbe's reverse direction, left out
  const outBytes = num(v, IE.postOctetDeltaCount)
  const outPackets = num(v, IE.postPacketDeltaCount)
  if (!bytes && !packets && (outBytes !== undefined || outPackets !== undefined)) {
    bytes = outBytes
    packets = outPackets
  }
  // RFC 5103 biflow records (YAF, softflowd -b): the forward direction is the record's source to
  // its destination, the reverse direction the destination to the source (RFC 5103 §2). The
  // reverse direction's counters are added, so that the flow counts both directions as a NSEL
  // record's initiator + responder counters do
  const reverseBytes = num(v, REVERSE + IE.octetDeltaCount) ?? num(v, REVERSE + IE.octetTotalCount)
  const reversePackets =
    num(v, REVERSE + IE.packetDeltaCount) ?? num(v, REVERSE + IE.packetTotalCount)
  const biflow = REVERSE_COUNTER_KEYS.some((k) => v.has(k))
  // a biflow that counts no packet of its forward direction describes only packets from its
  // destination to its source (softflowd -b keys an ICMP echo reply apart from its request, so
  // the reply's biflow counts only reverse packets): it is read as that direction's record, its
  // ends turned (an ICMP type and code stay where they are: they are the reply's)
  const reverseOnly = biflow && !bytes && !packets && (!!reverseBytes || !!reversePackets)
  // a biflow whose one direction counts nothing is a record of the other direction, which reading
  // may pair as any one-direction record (below)
  const oneWay = biflow && (reverseOnly || (!reverseBytes && !reversePackets))
  if (reverseOnly) {
    ;[src, dst] = [dst, src]
    if (protocol !== 1 && protocol !== 58) [srcPort, dstPort] = [dstPort, srcPort]
  }
  bytes = addCounts(bytes ?? 0, reverseBytes)
  packets = addCounts(packets ?? 0, reversePackets)
  if (bytes < 0 || packets < 0) {
    push(out, 'skip', 'bad-counter', meta, `${src} -> ${dst}: counter above 2^53-1`)
    return
  }

  let start = firstTime(v, START_IDS)
  let end = firstTime(v, END_IDS)
  // RFC 7011 §6 / IANA 158–159: microseconds before the message's export time
  const startDelta = num(v, IE.flowStartDeltaMicroseconds)
  const endDelta = num(v, IE.flowEndDeltaMicroseconds)
  if (start === undefined && startDelta !== undefined && startDelta >= 0)
    start = base.exportMs - Math.round(startDelta / 1000)
  if (end === undefined && endDelta !== undefined && endDelta >= 0)
    end = base.exportMs - Math.round(endDelta / 1000)
  const upStart = num(v, IE.flowStartSysUpTime)
  const upEnd = num(v, IE.flowEndSysUpTime)
  let unwrapped = false
  let fromExport = false
  if (base.sysUptimeMs !== undefined || base.systemInitMs !== undefined) {
    if (start === undefined && upStart !== undefined) start = fromUptime(base, upStart)
    if (end === undefined && upEnd !== undefined) {
      end = fromUptime(base, upEnd)
      // the exporter's init time and uptimes disagree by whole wraps (IPFIX), or the record's
      // end uptime lies past the header's and is read as before its 32-bit wrap (v1–v9): say so
      if (
        base.sysUptimeMs !== undefined
          ? upEnd > base.sysUptimeMs && ((base.sysUptimeMs - upEnd) | 0) >= 0
          : base.systemInitMs !== undefined && end !== base.systemInitMs + upEnd
      )
        unwrapped = true
    }
  } else if (start === undefined && end === undefined && upEnd !== undefined) {
    // IPFIX without systemInitTimeMilliseconds: anchor the end at the export time
    end = base.exportMs
    if (upStart !== undefined) start = end - Math.max(0, upEnd - upStart)
  }
  if ((end === undefined) !== (start === undefined)) {
    // IANA 161–162: flowDurationMilliseconds / flowDurationMicroseconds, "the difference in time
    // between the first observed packet of this Flow and the last": the missing end from the
    // start, or the missing start from the end
    const ms = num(v, IE.flowDurationMilliseconds)
    const us = num(v, IE.flowDurationMicroseconds)
    const duration =
      ms !== undefined && ms >= 0
        ? ms
        : us !== undefined && us >= 0
          ? Math.round(us / 1000)
          : undefined
    if (duration !== undefined) {
      if (start !== undefined) end = start + duration
      else if (end !== undefined) start = end - duration
    }
  }
  end ??= num(v, IE.observationTimeMilliseconds)
  if (start === undefined && end === undefined) {
    // a record without any time element (a time-less template): the datagram's export time
    fromExport = true
    start = base.exportMs
  }
  if (start === undefined) start = end ?? base.exportMs
  if (end === undefined || end < 0) end = start
  if (!validTime(start) || !validTime(end)) {
    push(out, 'skip', 'bad-time', meta, `${src} -> ${dst}: start ${start}, end ${end}`)
    return
  }
  // noted after the checks that skip the record (bad-counter, bad-time): a note describes a flow
  // given out
  // (each rides on the flow: pushed with it below, DecodeProblem.flow)
  const notes: RecordNote[] = []
  if (tunnel) notes.push('inner-header')
  // no type: an echo request, direction unknown, and said so
  if ((protocol === 1 || protocol === 58) && !icmpTyped) notes.push('icmp-type-assumed-echo')
  if (unwrapped) notes.push('uptime-unwrapped')
  if (fromExport) notes.push('time-from-export')
  // kept as read, but a flow cannot end after the datagram that reports it: the exporter's
  // clock or uptime is off (a sysUptime of 0, a wall clock set back)
  if (end > base.exportMs + AFTER_EXPORT_SLACK_MS) notes.push('ends-after-export')
  if (end < start) {
    notes.push('end-before-start')
    end = start
  }

  let observedAction: ObservedAction = 'unknown'
  const fw = num(v, IE.firewallEvent) ?? num(v, IE.asaLegacyFirewallEvent)
  if (fw === 3) observedAction = 'reject'
  else if (fw === 1 || fw === 2 || fw === 5) observedAction = 'accept'
  else {
    const fs = num(v, IE.forwardingStatus)
    if (fs !== undefined) {
      const status = (fs & 0xff) >> 6
      if (status === 1) observedAction = 'accept'
      else if (status === 2) observedAction = 'reject'
    }
  }
  // YAF: the first packet's flags name the client (SYN) or the server (SYN+ACK) of a TCP flow;
  // a biflow whose reverse direction opened with a reset was refused, as Zeek's REJ
  const certFlag = (id: number): number | undefined =>
    protocol === 6 ? num(v, CERT_FLAGS + id) : undefined
  const initial = certFlag(INITIAL_TCP_FLAGS)
  const reverseInitial = certFlag(CERT_REVERSE + INITIAL_TCP_FLAGS)
  // a biflow's tcpControlBits and reverseTcpControlBits (softflowd -b), each the OR of one
  // direction's flags; a turned record's (reverseOnly) are its reverse direction's
  let forwardBits = protocol === 6 ? num(v, IE.tcpControlBits) : undefined
  let reverseBits = protocol === 6 && biflow ? num(v, REVERSE + IE.tcpControlBits) : undefined
  if (reverseOnly) [forwardBits, reverseBits] = [reverseBits, forwardBits]
  // SYN without ACK is sent only by a client (a server's SYN carries ACK), as direction.ts reads
  // one-direction records
  const synOnly = (f: number | undefined): boolean =>
    f !== undefined && (f & (TCP_SYN | TCP_ACK)) === TCP_SYN
  let opened: FlowDirection | undefined =
    initial === undefined || (initial & TCP_SYN) === 0
      ? undefined
      : (initial & TCP_ACK) === 0
        ? 'client-to-server'
        : 'server-to-client'
  if (opened === undefined && reverseBits !== undefined)
    opened = synOnly(forwardBits)
      ? 'client-to-server'
      : synOnly(reverseBits)
        ? 'server-to-client'
        : undefined
  // the server's direction reset without a SYN: a closed port's answer (RFC 9293 §3.10.7.1), the
  // rule direction.ts `refusedByReset` applies to two one-direction records, here on one biflow
  // (YAF's first reverse packet, or the reverse direction's ORed flags)
  const serverBits = reverseInitial ?? reverseBits
  if (
    observedAction === 'unknown' &&
    opened === 'client-to-server' &&
    (reverseInitial !== undefined || synOnly(forwardBits)) &&
    serverBits !== undefined &&
    (serverBits & TCP_RST) !== 0 &&
    (serverBits & TCP_SYN) === 0
  ) {
    observedAction = 'reject'
    notes.push('refused-by-reset')
  }
  const bd = num(v, IE.biflowDirection)
  // initiator/responder counters (IANA 231/232/298/299, Cisco NSEL) describe the record's source
  // as the initiator: "the device which triggered the session creation"
  const initiated = INITIATOR_IDS.some((id) => v.has(id))
  // a Cisco connection record names its client and server: client-to-server unless its
  // biflowDirection ("connection initiator") says the server-side address initiated (2)
  const clientServer = v.has(CLIENT_SERVER) && bd !== 2
  // a turned record's biflowDirection names its source as it was sent, now the destination
  const initiator = reverseOnly ? (bd === 1 ? 2 : bd === 2 ? 1 : bd) : bd
  const direction: FlowDirection =
    clientServer || initiator === 1 || (bd === undefined && initiated)
      ? 'client-to-server'
      : initiator === 2 || (icmpTyped && isIcmpReply(protocol, dstPort))
        ? 'server-to-client'
        : (opened ?? 'unknown')
  // tcpControlBits (ORed with a biflow's reverseTcpControlBits, as the flags of two paired
  // records are), else YAF's flags ORed (CERT_TCP_FLAGS)
  let flags =
    forwardBits === undefined && reverseBits === undefined
      ? undefined
      : (forwardBits ?? 0) | (reverseBits ?? 0)
  if (protocol === 6 && flags === undefined)
    for (const id of CERT_TCP_FLAGS) {
      const f = certFlag(id)
      if (f !== undefined) flags = (flags ?? 0) | f
    }

  const flow: Flow = {
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
    direction,
    source: { format, file: meta.file, record: meta.record },
    ...(flags !== undefined ? { tcpFlags: flags } : {}),
  }
  out.flows.push(flow)
  for (const n of notes) pushFlowNote(out, n, meta, flow)
  // a record of one direction, which reading may pair with the other direction's record: not one
  // whose counters or elements cover the whole connection (RFC 5103 reverse counters, initiator /
  // responder counters, a Cisco connection record, a biflowDirection, a firewall event)
  const twoWay =
    initiated || bd !== undefined || fw !== undefined || v.has(CLIENT_SERVER) || (biflow && !oneWay)
  if (!twoWay) {
    const exporter = crossFileExporter(format, meta, exporterKey)
    out.halves.set(flow, {
      scope: pairScope(format, meta.exporter, exporterKey),
      echoAssumed: (protocol === 1 || protocol === 58) && !icmpTyped,
      ...(exporter !== undefined ? { exporter } : {}),
    })
  }
  // NSEL: the events of one connection carry its id (NF_F_CONN_ID = flowId 148; 0 on denied
  // flows, which have no connection)
  const kind = fw === 1 ? 'create' : fw === 2 ? 'teardown' : fw === 5 ? 'update' : undefined
  const id = num(v, IE.flowId)
  if (kind !== undefined && id !== undefined && id > 0 && exporterKey !== '') {
    const connection = `${exporterKey}/${id}/${protocol}/${src}/${srcPort}/${dst}/${dstPort}`
    out.events.set(flow, { kind, connection })
  }
}

/**
 * The exporter scope within which two records of one connection's directions may be paired
 * ({@link DecodeResult.halves}): the source format and the exporter (the file, or the sending
 * address and port in a capture or the collector), plus the v9 source id / IPFIX observation
 * domain (`exporterKey`, `exporter/domain`); NetFlow v1/v5/v7 have no domain, and a v5 header's
 * engine type and id are left out, since one router's line cards (engines) may each see one
 * direction of a connection.
 */
export function pairScope(
  format: NetflowSourceFormat,
  exporter: string,
  exporterKey: string,
): string {
  return `${format}\u0000${exporterKey === '' ? exporter : exporterKey}`
}

/**
 * {@link pairScope} without the file, for pairing across files ({@link PairHalf.exporter}): the
 * source format, the sender (a capture's `address:port` of the exporter for UDP, its Transport
 * Session for TCP and SCTP: formats/netflow.ts gives `meta.exporter` as `<file> <sender>`) and the
 * v9 source id / IPFIX observation domain. Undefined when the exporter is only the file (a file of
 * bare datagrams: two files may be two exporters, whose records must never pair) or the collector's
 * address (the collector pairs what it receives).
 */
export function crossFileExporter(
  format: NetflowSourceFormat,
  meta: DatagramMeta,
  exporterKey: string,
): string | undefined {
  const prefix = `${meta.file} `
  if (!meta.exporter.startsWith(prefix) || meta.exporter.length === prefix.length) return undefined
  return `${format}\u0000${(exporterKey === '' ? meta.exporter : exporterKey).slice(prefix.length)}`
}

/** Counters that name the record's source the initiator of its session. */
const INITIATOR_IDS = [
  IE.initiatorOctets,
  IE.responderOctets,
  IE.initiatorPackets,
  IE.responderPackets,
] as const

function validTime(t: number): boolean {
  return Number.isInteger(t) && t >= 0 && t <= MAX_TIME_MS
}
