/**
 * @module Azure flow-log blobs shaped as Azure writes them (NSG v2: one record per minute, VNet
 * v4: one per interval, each with the metadata fields of Microsoft's schema), with connections
 * whose B, C and E tuples fall into different records, in the layouts a blob is found in: one
 * line (as Azure writes it), pretty-printed (saved through `jq .`), and nested once in
 * `{"records": [...]}` (as Microsoft's own v1 sample). The offsets of each record are known, so a
 * test can tell which records a cut leaves whole.
 */
import { expect } from 'vitest'
import type { Flow } from '../../src/core/index.js'

export type Layout = 'one-line' | 'pretty' | 'nested'

/** A blob's text and the offsets `[start, end)` of its records (UTF-16 units; ASCII). */
export interface Blob {
  readonly text: string
  readonly records: readonly { readonly start: number; readonly end: number }[]
}

const T0 = Date.UTC(2026, 2, 2, 10) // 2026-03-02T10:00Z

/** NSG v2 records: `n` minutes, each with denied and accepted tuples; connections run 3 minutes. */
function nsgRecords(n: number): object[] {
  return Array.from({ length: n }, (_, m) => {
    const s = T0 / 1000 + m * 60
    const allowed: string[] = []
    // connection m begins now; m − 1 continues; m − 2 ends
    allowed.push(
      `${String(s + 1)},10.5.16.4,13.67.143.${String(100 + m)},${String(50000 + m)},443,T,O,A,B,,,,`,
    )
    if (m >= 1)
      allowed.push(
        `${String(s + 20)},10.5.16.4,13.67.143.${String(99 + m)},${String(49999 + m)},443,T,O,A,C,${String(m)},${String(100 * m)},${String(m)},${String(50 * m)}`,
      )
    if (m >= 2)
      allowed.push(
        `${String(s + 40)},10.5.16.4,13.67.143.${String(98 + m)},${String(49998 + m)},443,T,O,A,E,2,132,2,120`,
      )
    return {
      time: new Date((s + 59) * 1000).toISOString().replace('.000Z', '.3899262Z'),
      systemId: 'a0fca5ce-022c-47b1-9735-89943b42f2fa',
      macAddress: '000D3AF87856',
      category: 'NetworkSecurityGroupFlowEvent',
      resourceId:
        '/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/SHOP-RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/WEB-NSG',
      operationName: 'NetworkSecurityGroupFlowEvents',
      properties: {
        Version: 2,
        flows: [
          {
            rule: 'DefaultRule_DenyAllInBound',
            flows: [
              {
                mac: '000D3AF87856',
                flowTuples: [
                  `${String(s + 5)},94.102.49.${String(m + 1)},10.5.16.4,28746,22,T,I,D,B,,,,`,
                  `${String(s + 7)},176.119.4.10,10.5.16.4,56509,3389,T,I,D,B,,,,`,
                ],
              },
            ],
          },
          {
            rule: 'UserRule_allow-https-out',
            flows: [{ mac: '000D3AF87856', flowTuples: allowed }],
          },
        ],
      },
    }
  })
}

/** VNet v4 records: `n` intervals of 10 minutes, tuples in ms, one record per NIC and interval. */
function vnetRecords(n: number): object[] {
  return Array.from({ length: n }, (_, m) => {
    const t = T0 + m * 600_000
    const tuples = [
      `${String(t + 1000)},10.0.0.6,192.0.2.${String(10 + m)},${String(23000 + m)},443,6,O,B,NX,0,0,0,0`,
      `${String(t + 3000)},198.51.100.7,10.0.0.6,51000,22,6,I,D,NX,0,0,0,0`,
    ]
    if (m >= 1)
      tuples.push(
        `${String(t + 2000)},10.0.0.6,192.0.2.${String(9 + m)},${String(22999 + m)},443,6,O,C,NX,${String(m)},${String(300 * m)},1,80`,
      )
    if (m >= 2)
      tuples.push(
        `${String(t + 2500)},10.0.0.6,192.0.2.${String(8 + m)},${String(22998 + m)},443,6,O,E,NX,3,767,2,1580`,
      )
    return {
      time: new Date(t + 52_000).toISOString(),
      flowLogVersion: 4,
      flowLogGUID: '66aa66aa-bb77-cc88-dd99-00ee00ee00ee',
      macAddress: '112233445566',
      category: 'FlowLogFlowEvent',
      flowLogResourceID:
        '/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_EASTUS/FLOWLOGS/VNETFLOWLOG',
      targetResourceID:
        '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/shop/providers/Microsoft.Network/virtualNetworks/shop-vnet',
      operationName: 'FlowLogFlowEvent',
      flowRecords: {
        flows: [
          {
            aclID: '00aa00aa-bb11-cc22-dd33-44ee44ee44ee',
            flowGroups: [{ rule: 'DefaultRule_AllowInternetOutBound', flowTuples: tuples }],
          },
        ],
      },
    }
  })
}

/** `records` written as a blob in `layout`, with each record's offsets. */
function write(records: readonly object[], layout: Layout): Blob {
  const pretty = layout === 'pretty'
  const texts = records.map((r) =>
    pretty ? JSON.stringify(r, null, 2).replace(/\n/g, '\n    ') : JSON.stringify(r),
  )
  const [open, sep, close] =
    layout === 'pretty'
      ? ['{\n  "records": [\n    ', ',\n    ', '\n  ]\n}\n']
      : layout === 'nested'
        ? ['{"records":[{"records":[', ',', ']}]}']
        : ['{"records":[', ',', ']}']
  let text = open
  const offsets: { start: number; end: number }[] = []
  texts.forEach((t, i) => {
    if (i > 0) text += sep
    offsets.push({ start: text.length, end: text.length + t.length })
    text += t
  })
  return { text: text + close, records: offsets }
}

/** An NSG v2 blob of `n` records. */
export function nsgBlob(n: number, layout: Layout): Blob {
  return write(nsgRecords(n), layout)
}

/** A VNet v4 blob of `n` records. */
export function vnetBlob(n: number, layout: Layout): Blob {
  return write(vnetRecords(n), layout)
}

/** The blob of only the records of `blob` that end at or before `cut`, on one line. */
export function recordsBefore(blob: Blob, cut: number): string {
  const whole = blob.records.filter((r) => r.end <= cut)
  return `{"records":[${whole.map((r) => blob.text.slice(r.start, r.end)).join(',')}]}`
}

/**
 * Checks that every flow read from a cut blob is a flow of the whole blob, or — a connection
 * whose later tuples the cut took — the same connection (same first tuple, same start) up to
 * a tuple before the cut: no later end, no more packets or bytes. Returns how many were such
 * shortened connections.
 */
export function expectWithinWhole(cut: readonly Flow[], whole: readonly Flow[]): number {
  const byFirst = new Map(whole.map((f) => [f.source.record, f]))
  let shortened = 0
  for (const f of cut) {
    const g = byFirst.get(f.source.record)
    expect(g, JSON.stringify(f)).toBeDefined()
    if (g === undefined) continue
    if (JSON.stringify(f) === JSON.stringify(g)) continue
    shortened++
    const { end: _e, packets: _p, bytes: _b, ...fixed } = f
    const { end: _ge, packets: _gp, bytes: _gb, ...wholeFixed } = g
    expect(fixed).toEqual(wholeFixed)
    expect(f.end).toBeLessThanOrEqual(g.end)
    expect(f.packets).toBeLessThanOrEqual(g.packets)
    expect(f.bytes).toBeLessThanOrEqual(g.bytes)
  }
  return shortened
}
