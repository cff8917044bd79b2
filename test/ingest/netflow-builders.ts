/**
 * @module Builders of NetFlow v1 / v5 / v7 / v9 and IPFIX datagrams for tests (no binary fixtures).
 * Layouts: Cisco v1, v5 and v7 export formats (src/ingest/netflow/fixed.ts), RFC 3954 (v9),
 * RFC 7011 (IPFIX).
 */

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.byteLength
  }
  return out
}

/** Big-endian unsigned of `len` octets (value as number or bigint). */
export function uint(value: number | bigint, len: number): Uint8Array {
  const out = new Uint8Array(len)
  let v = BigInt(value)
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn)
    v >>= 8n
  }
  return out
}
export const u8 = (v: number): Uint8Array => uint(v, 1)
export const u16 = (v: number): Uint8Array => uint(v, 2)
export const u32 = (v: number): Uint8Array => uint(v, 4)
export const u64 = (v: number | bigint): Uint8Array => uint(v, 8)

/** Dotted quad → 4 octets. */
export function ip4(text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map(Number))
}

/** Full (uncompressed or `::`) IPv6 text → 16 octets. */
export function ip6(text: string): Uint8Array {
  const [head = '', tail] = text.split('::')
  const h = head ? head.split(':') : []
  const t = tail !== undefined && tail !== '' ? tail.split(':') : []
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t]
  return concat(...groups.map((g) => u16(parseInt(g, 16))))
}

/** IPFIX variable-length encoding (RFC 7011 §7) of `data`. */
export function varlen(data: Uint8Array): Uint8Array {
  return data.byteLength < 255
    ? concat(u8(data.byteLength), data)
    : concat(u8(255), u16(data.byteLength), data)
}

/** One v1 / v5 / v7 record's values. */
export interface V5Record {
  src: string
  dst: string
  srcPort: number
  dstPort: number
  protocol: number
  packets: number
  bytes: number
  /** sysUptime ms at the first / last packet. */
  first: number
  last: number
  tcpFlags?: number
  /** v7: the flow mask in use (byte 36), and router_sc (the router the switch bypasses). */
  flowMask?: number
  routerSc?: string
}

/** A v1 / v5 / v7 header's values; `count` overrides the header count. */
export interface FixedHeader {
  sysUptime: number
  secs: number
  nsecs?: number
  count?: number
  /** flow_sequence (v5, v7). */
  sequence?: number
  /** v5 engine type and id as one 16-bit word. */
  engine?: number
  /** v5 sampling_interval: mode in the top 2 bits, interval in the low 14. */
  sampling?: number
}

/** The octets common to v1, v5 and v7 records: addresses, next hop, interfaces, counters, times, ports. */
function fixedRecordHead(r: V5Record): Uint8Array {
  return concat(
    ip4(r.src),
    ip4(r.dst),
    ip4('0.0.0.0'), // next hop
    u16(0), // input
    u16(0), // output
    u32(r.packets),
    u32(r.bytes),
    u32(r.first),
    u32(r.last),
    u16(r.srcPort),
    u16(r.dstPort),
  )
}

/** The octets common to v1, v5 and v7 headers: version, count, SysUptime, unix_secs, unix_nsecs. */
function fixedHeaderHead(version: number, h: FixedHeader, records: number): Uint8Array {
  return concat(
    u16(version),
    u16(h.count ?? records),
    u32(h.sysUptime),
    u32(h.secs),
    u32(h.nsecs ?? 0),
  )
}

/** A v1 datagram (16-octet header, 48-octet records: pad, prot, tos, tcp_flags, 7 octets pad). */
export function v1(h: FixedHeader, records: V5Record[]): Uint8Array {
  const recs = records.map((r) =>
    concat(
      fixedRecordHead(r),
      u16(0), // pad1
      u8(r.protocol),
      u8(0), // tos
      u8(r.tcpFlags ?? 0),
      new Uint8Array(7), // pad2, reserved
    ),
  )
  return concat(fixedHeaderHead(1, h, records.length), ...recs)
}

/** v5 / v7 record octets 36–47 (flags or pad1, tcp_flags, prot, tos, AS numbers, masks, pad2). */
function v5RecordTail(r: V5Record, flags: number): Uint8Array {
  return concat(
    u8(flags), // v5 pad1, v7 flags (flow mask)
    u8(r.tcpFlags ?? 0),
    u8(r.protocol),
    u8(0), // tos
    u16(0), // src_as
    u16(0), // dst_as
    u8(0), // src_mask
    u8(0), // dst_mask
    u16(0), // v5 pad2, v7 flags
  )
}

/** A v5 datagram (24-octet header, 48-octet records). `count` overrides the header count. */
export function v5(h: FixedHeader, records: V5Record[]): Uint8Array {
  const header = concat(
    fixedHeaderHead(5, h, records.length),
    u32(h.sequence ?? 0),
    u16(h.engine ?? 0),
    u16(h.sampling ?? 0),
  )
  return concat(header, ...records.map((r) => concat(fixedRecordHead(r), v5RecordTail(r, 0))))
}

/** A v7 datagram (24-octet header with 4 reserved octets, 52-octet records ending in router_sc). */
export function v7(h: FixedHeader, records: V5Record[]): Uint8Array {
  const header = concat(fixedHeaderHead(7, h, records.length), u32(h.sequence ?? 0), u32(0))
  return concat(
    header,
    ...records.map((r) =>
      concat(fixedRecordHead(r), v5RecordTail(r, r.flowMask ?? 0), ip4(r.routerSc ?? '0.0.0.0')),
    ),
  )
}

/** A field specifier: [id, length] or with an enterprise number (IPFIX). */
export type FieldSpec =
  readonly [id: number, length: number] | readonly [id: number, length: number, enterprise: number]

/** A set / FlowSet with its 4-octet header; `length` overrides the header length. */
export function set(id: number, body: Uint8Array, length?: number): Uint8Array {
  return concat(u16(id), u16(length ?? body.byteLength + 4), body)
}

/** The body of a v9 template FlowSet (id 0) or IPFIX template set (id 2). */
export function templateRecords(
  templates: { id: number; fields: readonly FieldSpec[] }[],
): Uint8Array {
  return concat(
    ...templates.map((t) =>
      concat(
        u16(t.id),
        u16(t.fields.length),
        ...t.fields.map(([id, len, ent]) =>
          ent === undefined
            ? concat(u16(id), u16(len))
            : concat(u16(id | 0x8000), u16(len), u32(ent)),
        ),
      ),
    ),
  )
}

/**
 * A template set holding one template `id`: set id 0 is a v9 template FlowSet, 2 an IPFIX
 * template set. `fields` are {@link FieldSpec}s, or the same as words `id:length` or
 * `id:length:enterprise`, e.g. `'8:4 12:4 4:1'` (source and destination IPv4, protocol).
 */
export function template(
  setId: 0 | 2,
  id: number,
  fields: string | readonly FieldSpec[],
): Uint8Array {
  const specs =
    typeof fields === 'string'
      ? fields
          .trim()
          .split(/\s+/)
          .map((w) => w.split(':').map(Number) as unknown as FieldSpec)
      : fields
  return set(setId, templateRecords([{ id, fields: specs }]))
}

/** A v9 options template FlowSet (id 1): scope and option fields as [type, length]. */
export function v9OptionsTemplate(
  id: number,
  scope: readonly FieldSpec[],
  options: readonly FieldSpec[],
): Uint8Array {
  const f = (xs: readonly FieldSpec[]): Uint8Array =>
    concat(...xs.map(([t, l]) => concat(u16(t), u16(l))))
  return set(
    1,
    concat(u16(id), u16(scope.length * 4), u16(options.length * 4), f(scope), f(options)),
  )
}

/** An IPFIX options template set (id 3). */
export function ipfixOptionsTemplate(
  id: number,
  scopeCount: number,
  fields: readonly FieldSpec[],
): Uint8Array {
  return set(
    3,
    concat(
      u16(id),
      u16(fields.length),
      u16(scopeCount),
      templateRecords([{ id: 0, fields }]).subarray(4),
    ),
  )
}

/** A v9 packet: 20-octet header then FlowSets. `count` defaults to the number of sets. */
export function v9(
  h: { sysUptime: number; secs: number; sourceId?: number; sequence?: number; count?: number },
  ...sets: Uint8Array[]
): Uint8Array {
  return concat(
    u16(9),
    u16(h.count ?? sets.length),
    u32(h.sysUptime),
    u32(h.secs),
    u32(h.sequence ?? 0),
    u32(h.sourceId ?? 0),
    ...sets,
  )
}

/** An IPFIX message: 16-octet header then sets; `length` overrides the header length. */
export function ipfix(
  h: { exportTime: number; domain?: number; sequence?: number; length?: number },
  ...sets: Uint8Array[]
): Uint8Array {
  const body = concat(...sets)
  return concat(
    u16(10),
    u16(h.length ?? body.byteLength + 16),
    u32(h.exportTime),
    u32(h.sequence ?? 0),
    u32(h.domain ?? 0),
    body,
  )
}

/** A common IPv4 5-tuple template: src, dst, sport, dport, proto, packets(4), octets(8), start/end ms. */
export const TPL_V4: readonly FieldSpec[] = [
  [8, 4],
  [12, 4],
  [7, 2],
  [11, 2],
  [4, 1],
  [2, 4],
  [1, 8],
  [152, 8],
  [153, 8],
]

/** One record for {@link TPL_V4}. */
export function recV4(r: {
  src: string
  dst: string
  sp: number
  dp: number
  proto: number
  pkts: number
  bytes: number
  start: number
  end: number
}): Uint8Array {
  return concat(
    ip4(r.src),
    ip4(r.dst),
    u16(r.sp),
    u16(r.dp),
    u8(r.proto),
    u32(r.pkts),
    u64(r.bytes),
    u64(r.start),
    u64(r.end),
  )
}

/**
 * A {@link TPL_V4} record of a TCP flow `src`:40000 → `dst`:`dp`, 3 packets, 180 octets, from
 * `t0` (seconds) for 500 ms.
 */
export function tcpRecV4(src: string, dst: string, dp: number, t0: number): Uint8Array {
  return recV4({
    src,
    dst,
    sp: 40000,
    dp,
    proto: 6,
    pkts: 3,
    bytes: 180,
    start: t0 * 1000,
    end: t0 * 1000 + 500,
  })
}
