/**
 * @module The fixed-layout NetFlow versions 1, 5 and 7 as one table: header length, record
 * length, most records, and the offsets of the fields Bulkhead reads. The decoder (decoder.ts)
 * reads records through it, the file framer and format detection (formats/netflow.ts) frame and
 * judge datagrams through it.
 *
 * Layouts (big-endian; every version starts `version` u16, `count` u16, `SysUptime` u32 ms,
 * `unix_secs` u32, `unix_nsecs` u32):
 * - v1: 16-octet header; records of 48 octets: srcaddr 0, dstaddr 4, nexthop 8, input 12,
 *   output 14, dPkts 16, dOctets 20, First 24, Last 28 (SysUptime ms), srcport 32, dstport 34,
 *   pad 36–37, prot 38, tos 39, tcp_flags 40, pad 41–47; at most 24 records.
 * - v5: 24-octet header (+ flow_sequence 16, engine_type 20, engine_id 21, sampling_interval
 *   22); records of 48 octets as v1's up to dstport, then pad1 36, tcp_flags 37, prot 38, tos 39,
 *   src_as 40, dst_as 42, src_mask 44, dst_mask 45, pad2 46–47; at most 30 records.
 * - v7 (Catalyst 5000 NFFC, Catalyst 6500 PFC "NDE"): 24-octet header (+ flow_sequence 16,
 *   reserved 20–23); records of 52 octets, v5's with `flags` at 36 (the flow mask in use),
 *   `flags` at 46–47 ("what flows are invalid") and router_sc 48–51 (the router the switch
 *   bypasses); at most 28 records.
 *
 * Sources: Cisco, "NetFlow Export Datagram Format", NetFlow Collection Engine 3.6 user guide
 * (https://www.cisco.com/c/en/us/td/docs/net_mgmt/netflow_collection_engine/3-6/user/guide/format.html);
 * nfdump `src/netflow/netflow_v1.c` (NETFLOW_V1_MAX_RECORDS 24) and `netflow_v5_v7.c`
 * (NETFLOW_V5_MAX_RECORDS 30, NETFLOW_V7_MAX_RECORDS 28; v7 read as v5 with 52-octet records);
 * pmacct `nfacctd.c` `process_v1_packet` / `process_v7_packet` (a datagram is read only when
 * header + count · record length is its length); Elastic filebeat `decoder/v1`, `decoder/v7`
 * (the same offsets); Wireshark `packet-netflow.c` (v1, v5 and v7 through one PDU dissector).
 *
 * v7 flow masks: "Depending on the current flow mask, some fields in the flow records might not
 * have values. When the PFC exports cached entries, unsupported fields are filled with a zero"
 * (Catalyst 6500 Series Switch Software Configuration Guide 8.7, "Configuring NDE", Table 16-4):
 * with the `destination` mask (the default when no access list asks for more) srcaddr, ports and
 * protocol are 0; with `destination-source`, ports and protocol; only `full` has them all;
 * tcp_flags is always 0. Byte 36 names the mask in use, but Cisco publishes no encoding of it (nor
 * of the flags at 46–47), and nfdump, pmacct and filebeat read neither: which fields the mask
 * left out shows as those zeros, and a protocol of 0 is read as "not exported" ({@link
 * FixedLayout.flowMask}).
 */

/** `flow.source.format` of the fixed-layout versions. Stable. */
export type FixedFormat = 'netflow-v1' | 'netflow-v5' | 'netflow-v7'

/** Octet offsets, in a record, of the fields Bulkhead reads (u32 unless noted). */
export interface FixedRecordOffsets {
  /** srcaddr, dstaddr: IPv4 addresses. */
  readonly src: number
  readonly dst: number
  /** dPkts, dOctets. */
  readonly packets: number
  readonly bytes: number
  /** First, Last: SysUptime in ms at the flow's first and last packet. */
  readonly first: number
  readonly last: number
  /** srcport, dstport: u16; ICMP carries type · 256 + code in dstport. */
  readonly srcPort: number
  readonly dstPort: number
  /** tcp_flags, prot: u8. */
  readonly tcpFlags: number
  readonly protocol: number
}

/** One fixed layout (module comment). */
export interface FixedLayout {
  readonly version: 1 | 5 | 7
  readonly format: FixedFormat
  /** Octets before the first record. */
  readonly headerLength: number
  /** Octets of each record. */
  readonly recordLength: number
  /**
   * Most records an exporter puts in one datagram (nfdump, pmacct). Detection and
   * resynchronisation require it; the decoder reads any count whose length is the datagram's.
   */
  readonly maxRecords: number
  /**
   * Header offset of `flow_sequence` (u32, the flows sent before this datagram's first), or
   * undefined (v1 has none).
   */
  readonly sequenceAt?: number
  /**
   * Header offset of a u16 telling the exporter's flow switching engines apart (v5 engine_type,
   * engine_id), whose sequence numbers count separately; undefined: one engine.
   */
  readonly engineAt?: number
  readonly record: FixedRecordOffsets
  /**
   * v7: fields outside the switch's flow mask are sent as 0, so a record with protocol 0 has no
   * protocol and no ports to give (module comment).
   */
  readonly flowMask: boolean
}

const V5_RECORD: FixedRecordOffsets = {
  src: 0,
  dst: 4,
  packets: 16,
  bytes: 20,
  first: 24,
  last: 28,
  srcPort: 32,
  dstPort: 34,
  tcpFlags: 37,
  protocol: 38,
}

/** The fixed layouts by version number. */
export const FIXED_LAYOUTS: ReadonlyMap<number, FixedLayout> = new Map<number, FixedLayout>([
  [
    1,
    {
      version: 1,
      format: 'netflow-v1',
      headerLength: 16,
      recordLength: 48,
      maxRecords: 24,
      record: { ...V5_RECORD, tcpFlags: 40 },
      flowMask: false,
    },
  ],
  [
    5,
    {
      version: 5,
      format: 'netflow-v5',
      headerLength: 24,
      recordLength: 48,
      maxRecords: 30,
      sequenceAt: 16,
      engineAt: 20,
      record: V5_RECORD,
      flowMask: false,
    },
  ],
  [
    7,
    {
      version: 7,
      format: 'netflow-v7',
      headerLength: 24,
      recordLength: 52,
      maxRecords: 28,
      sequenceAt: 16,
      record: V5_RECORD,
      flowMask: true,
    },
  ],
])

/** The `source.format` names of {@link FIXED_LAYOUTS}. */
export const FIXED_FORMATS: ReadonlySet<string> = new Set(
  [...FIXED_LAYOUTS.values()].map((l) => l.format),
)

/** Octets of a datagram of `layout` whose header says `count` records. */
export function fixedLength(layout: FixedLayout, count: number): number {
  return layout.headerLength + layout.recordLength * count
}

/** The longest datagram a fixed-layout header can announce (count 65 535), octets. */
export const MAX_FIXED_LENGTH = Math.max(
  ...[...FIXED_LAYOUTS.values()].map((l) => fixedLength(l, 0xffff)),
)
