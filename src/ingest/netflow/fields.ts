/**
 * @module The IANA IPFIX information elements (and their NetFlow v9 twins) the decoder reads.
 *
 * NetFlow v9 field type numbers 1–127 are the same numbers as the IPFIX elements (RFC 3954 §8,
 * RFC 7012 §4: the IPFIX registry started from them), so one table serves both. Cisco ASA's
 * NetFlow v9 "NSEL" fields reuse the IPFIX numbers 148, 231–233, 298–299 and 323; older ASA releases
 * sent the firewall event as 40005 (NF_F_FW_EVENT_84), read only in NetFlow v9.
 *
 * Sources: IANA "IP Flow Information Export (IPFIX) Entities" registry; RFC 7011 §6 (encodings);
 * RFC 5103 (biflowDirection); Cisco "NetFlow Security Event Logging (NSEL)" implementation notes.
 */

/** IANA information element ids (enterprise 0). */
export const IE = {
  octetDeltaCount: 1,
  packetDeltaCount: 2,
  protocolIdentifier: 4,
  tcpControlBits: 6,
  sourceTransportPort: 7,
  sourceIPv4Address: 8,
  /** v9 INPUT_SNMP / IPFIX ingressInterface: the ifIndex a packet came in on (read for sampling only). */
  ingressInterface: 10,
  destinationTransportPort: 11,
  destinationIPv4Address: 12,
  flowEndSysUpTime: 21,
  flowStartSysUpTime: 22,
  postOctetDeltaCount: 23,
  postPacketDeltaCount: 24,
  sourceIPv6Address: 27,
  destinationIPv6Address: 28,
  icmpTypeCodeIPv4: 32,
  /** v9 SAMPLING_INTERVAL / IPFIX samplingInterval (deprecated): 1 packet in N. */
  samplingInterval: 34,
  /** v9 FLOW_SAMPLER_ID / IPFIX samplerId: which sampler of the exporter a record went through. */
  flowSamplerId: 48,
  /** v9 FLOW_SAMPLER_RANDOM_INTERVAL / IPFIX samplerRandomInterval: 1 packet in N, at random. */
  samplerRandomInterval: 50,
  ipVersion: 60,
  octetTotalCount: 85,
  packetTotalCount: 86,
  forwardingStatus: 89,
  icmpTypeCodeIPv6: 139,
  /** Cisco NSEL NF_F_CONN_ID: the firewall's connection id, the same in every event of it. */
  flowId: 148,
  flowStartSeconds: 150,
  flowEndSeconds: 151,
  flowStartMilliseconds: 152,
  flowEndMilliseconds: 153,
  flowStartMicroseconds: 154,
  flowEndMicroseconds: 155,
  flowStartNanoseconds: 156,
  flowEndNanoseconds: 157,
  flowStartDeltaMicroseconds: 158,
  flowEndDeltaMicroseconds: 159,
  systemInitTimeMilliseconds: 160,
  flowDurationMilliseconds: 161,
  flowDurationMicroseconds: 162,
  icmpTypeIPv4: 176,
  icmpCodeIPv4: 177,
  icmpTypeIPv6: 178,
  icmpCodeIPv6: 179,
  initiatorOctets: 231,
  responderOctets: 232,
  firewallEvent: 233,
  biflowDirection: 239,
  initiatorPackets: 298,
  responderPackets: 299,
  /** RFC 6313 structured data: one sub-template's records, or records of several sub-templates. */
  subTemplateList: 292,
  subTemplateMultiList: 293,
  /** PSAMP selectorId (RFC 5477), the successor of samplerId 48. */
  selectorId: 302,
  /** PSAMP count-based sampling (RFC 5477): N packets selected, then M skipped. */
  samplingPacketInterval: 305,
  samplingPacketSpace: 306,
  observationTimeMilliseconds: 323,
  /** Cisco ASA NetFlow v9 only (pre-8.4(5) NF_F_FW_EVENT); not an IANA element. */
  asaLegacyFirewallEvent: 40005,
} as const

/**
 * How an element is encoded (RFC 7011 §6.1):
 * - `unsigned`: big-endian unsigned integer; reduced-size encoding (RFC 7011 §6.2) allows any
 *   length from 1 to `maxLength` octets.
 * - `ipv4` (4 octets) and `ipv6` (16 octets): exact lengths.
 * - `seconds`: dateTimeSeconds, unsigned32 seconds since the Unix epoch, exactly 4 octets.
 * - `milliseconds`: dateTimeMilliseconds, unsigned64 ms since the Unix epoch, exactly 8 octets.
 * - `ntp`: dateTimeMicroseconds / dateTimeNanoseconds, the 64-bit NTP timestamp (seconds since
 *   1900-01-01 in the high 32 bits, binary fraction in the low 32 bits), exactly 8 octets.
 */
export type ElementEncoding = 'unsigned' | 'ipv4' | 'ipv6' | 'seconds' | 'milliseconds' | 'ntp'

/** Encoding and the longest allowed length (octets) of one element the decoder reads. */
export interface ElementSpec {
  readonly encoding: ElementEncoding
  readonly maxLength: number
}

const u = (maxLength: number): ElementSpec => ({ encoding: 'unsigned', maxLength })

/**
 * The elements the decoder reads, by id. Any other element is carried over opaquely (skipped by
 * its length). Lengths outside the spec make the record undecodable (`bad-field-length`).
 */
export const ELEMENT_SPECS: ReadonlyMap<number, ElementSpec> = new Map<number, ElementSpec>([
  [IE.octetDeltaCount, u(8)],
  [IE.packetDeltaCount, u(8)],
  [IE.protocolIdentifier, u(1)],
  // unsigned16 since RFC 7125; NetFlow v9 and older IPFIX exporters send 1 octet
  [IE.tcpControlBits, u(2)],
  [IE.sourceTransportPort, u(2)],
  [IE.sourceIPv4Address, { encoding: 'ipv4', maxLength: 4 }],
  [IE.destinationTransportPort, u(2)],
  [IE.destinationIPv4Address, { encoding: 'ipv4', maxLength: 4 }],
  [IE.flowEndSysUpTime, u(4)],
  [IE.flowStartSysUpTime, u(4)],
  // v9 OUT_BYTES / OUT_PKTS; read only when no other counter is present. The elements below
  // that are narrower in the registry accept up to 8 octets, so that an exporter's odd length
  // does not make a record undecodable that decoded before they were read.
  [IE.postOctetDeltaCount, u(8)],
  [IE.postPacketDeltaCount, u(8)],
  [IE.sourceIPv6Address, { encoding: 'ipv6', maxLength: 16 }],
  [IE.destinationIPv6Address, { encoding: 'ipv6', maxLength: 16 }],
  [IE.icmpTypeCodeIPv4, u(2)],
  // sampling (options data, some data records): counts are of the sampled packets only. Up to
  // 8 octets each, so that an exporter's odd length never makes a record undecodable
  [IE.samplingInterval, u(8)],
  [IE.flowSamplerId, u(8)],
  [IE.samplerRandomInterval, u(8)],
  [IE.selectorId, u(8)],
  [IE.samplingPacketInterval, u(8)],
  [IE.samplingPacketSpace, u(8)],
  [IE.ipVersion, u(8)],
  [IE.octetTotalCount, u(8)],
  [IE.packetTotalCount, u(8)],
  // unsigned32 since RFC 7270; v9 exporters send 1 octet. Status is in bits 7-6 of the last octet.
  [IE.forwardingStatus, u(4)],
  [IE.icmpTypeCodeIPv6, u(2)],
  [IE.flowId, u(8)],
  [IE.flowStartSeconds, { encoding: 'seconds', maxLength: 4 }],
  [IE.flowEndSeconds, { encoding: 'seconds', maxLength: 4 }],
  [IE.flowStartMilliseconds, { encoding: 'milliseconds', maxLength: 8 }],
  [IE.flowEndMilliseconds, { encoding: 'milliseconds', maxLength: 8 }],
  [IE.flowStartMicroseconds, { encoding: 'ntp', maxLength: 8 }],
  [IE.flowEndMicroseconds, { encoding: 'ntp', maxLength: 8 }],
  [IE.flowStartNanoseconds, { encoding: 'ntp', maxLength: 8 }],
  [IE.flowEndNanoseconds, { encoding: 'ntp', maxLength: 8 }],
  [IE.systemInitTimeMilliseconds, { encoding: 'milliseconds', maxLength: 8 }],
  [IE.flowStartDeltaMicroseconds, u(8)],
  [IE.flowEndDeltaMicroseconds, u(8)],
  [IE.flowDurationMilliseconds, u(8)],
  [IE.flowDurationMicroseconds, u(8)],
  [IE.icmpTypeIPv4, u(1)],
  [IE.icmpCodeIPv4, u(1)],
  [IE.icmpTypeIPv6, u(1)],
  [IE.icmpCodeIPv6, u(1)],
  [IE.initiatorOctets, u(8)],
  [IE.responderOctets, u(8)],
  [IE.firewallEvent, u(1)],
  [IE.biflowDirection, u(1)],
  [IE.initiatorPackets, u(8)],
  [IE.responderPackets, u(8)],
  [IE.observationTimeMilliseconds, { encoding: 'milliseconds', maxLength: 8 }],
])

/** NetFlow v9-only elements (numbers above the IANA range that Cisco assigned). */
export const V9_ONLY_SPECS: ReadonlyMap<number, ElementSpec> = new Map<number, ElementSpec>([
  [IE.asaLegacyFirewallEvent, u(1)],
])

/** Seconds from the NTP era origin (1900-01-01) to the Unix epoch (RFC 5905). */
export const NTP_UNIX_OFFSET_SECONDS = 2_208_988_800

/** Variable-length marker in a template field length (RFC 7011 §7). IPFIX only. */
export const VARIABLE_LENGTH = 65535
