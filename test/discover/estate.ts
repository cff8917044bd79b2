/**
 * @module A synthetic estate for the discover tests: an inventory and AWS VPC v2 flow lines
 * (both halves of each connection, some only the reply half) over 2026-09-24 .. 2026-11-05 with
 * known edges and rhythms, from a fixed seed. The generator records what it put in.
 */

const DAY = 86_400_000
const HOUR = 3_600_000

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Window of the generated flows: [START, END). */
export const START = Date.UTC(2026, 8, 24)
export const END = Date.UTC(2026, 10, 5)

export const INVENTORY_YAML = `apiVersion: bulkhead.dev/v1
kind: Inventory
workloads:
  - { name: web-1, addresses: [10.1.1.10], labels: { app: shop, role: web } }
  - { name: web-2, addresses: [10.1.1.11], labels: { app: shop, role: web } }
  - { name: api-1, addresses: [10.1.2.10], labels: { app: shop, role: api } }
  - { name: db-1, addresses: [10.1.3.10], labels: { app: shop, role: db } }
  - { name: backup-1, addresses: [10.9.0.5], labels: { app: ops, role: backup } }
  - { name: batch-1, addresses: [10.1.4.10], labels: { app: finance, role: batch } }
  - { name: ledger-1, addresses: [10.1.5.10], labels: { app: finance, role: ledger } }
  - name: ci-runner-7
    addresses: [{ ip: 10.50.0.7, from: 2026-10-01T00:00:00Z, to: 2026-10-15T00:00:00Z }]
    labels: { app: ci, role: build }
  - name: ci-runner-8
    addresses: [{ ip: 10.50.0.7, from: 2026-10-15T00:00:00Z }]
    labels: { app: ci, role: build }
externals:
  - { name: bank-sftp, cidr: 198.51.100.0/24, labels: { role: partner } }
`

/** Where each address belongs at time t (the inventory above, by hand). */
function owner(ip: string, t: number): string {
  const fixed: Record<string, string> = {
    '10.1.1.10': 'web-1',
    '10.1.1.11': 'web-2',
    '10.1.2.10': 'api-1',
    '10.1.3.10': 'db-1',
    '10.9.0.5': 'backup-1',
    '10.1.4.10': 'batch-1',
    '10.1.5.10': 'ledger-1',
    '198.51.100.20': 'bank-sftp',
    '203.0.113.50': 'internet',
  }
  if (fixed[ip]) return fixed[ip]
  if (ip === '10.50.0.7') {
    if (t < Date.UTC(2026, 9, 1)) return '10.50.0.7' // held by a workload only later: an endpoint of its own
    return t < Date.UTC(2026, 9, 15) ? 'ci-runner-7' : 'ci-runner-8'
  }
  throw new Error(`no owner for ${ip}`)
}

/** What the generator put in for one edge. */
export interface ExpectedEdge {
  src: string
  dst: string
  protocol: number
  port: number
  flows: number
  packets: number
  bytes: number
  firstSeen: number
  lastSeen: number
  days: Set<number>
  /** Each flow's `[start, end)`, ms. */
  spans: { start: number; end: number }[]
  /** The rhythm the generator used; undefined for edges whose pattern the test leaves open. */
  pattern?: string
}

export interface Estate {
  readonly lines: string[]
  readonly edges: Map<string, ExpectedEdge>
}

export function edgeKey(src: string, dst: string, protocol: number, port: number): string {
  return `${src} -> ${dst} ${protocol}/${port}`
}

/** Generates the estate's flow lines (sorted by start) and the expected edges. */
export function generateEstate(seed = 7): Estate {
  const rand = rng(seed)
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1))
  const records: { start: number; line: string }[] = []
  const edges = new Map<string, ExpectedEdge>()
  let eph = 33000
  const conn = (
    c: string,
    s: string,
    protocol: number,
    port: number,
    start: number,
    pattern: string | undefined,
    replyOnly = false,
  ): void => {
    const dur = int(1, 50) * 1000
    const end = start + dur
    const sport = eph++
    if (eph > 60000) eph = 33000
    const pk1 = int(1, 20)
    const by1 = pk1 * int(60, 1400)
    const pk2 = int(1, 20)
    const by2 = pk2 * int(60, 1400)
    const s0 = Math.floor(start / 1000)
    const s1 = Math.floor(end / 1000)
    const p = String(protocol)
    if (!replyOnly)
      records.push({
        start,
        line: `2 123456789012 eni-0a1 ${c} ${s} ${sport} ${port} ${p} ${pk1} ${by1} ${s0} ${s1} ACCEPT OK`,
      })
    records.push({
      start: start + 1,
      line: `2 123456789012 eni-0b2 ${s} ${c} ${port} ${sport} ${p} ${pk2} ${by2} ${s0} ${s1} ACCEPT OK`,
    })
    const src = owner(c, s0 * 1000)
    const dst = owner(s, s0 * 1000)
    const key = edgeKey(src, dst, protocol, port)
    const e = edges.get(key) ?? {
      src,
      dst,
      protocol,
      port,
      flows: 0,
      packets: 0,
      bytes: 0,
      firstSeen: Infinity,
      lastSeen: -Infinity,
      days: new Set<number>(),
      spans: [],
      ...(pattern !== undefined ? { pattern } : {}),
    }
    e.flows++
    e.packets += replyOnly ? pk2 : pk1 + pk2
    e.bytes += replyOnly ? by2 : by1 + by2
    e.firstSeen = Math.min(e.firstSeen, s0 * 1000)
    e.lastSeen = Math.max(e.lastSeen, s1 * 1000)
    e.days.add(Math.floor((s0 * 1000) / DAY))
    e.spans.push({ start: s0 * 1000, end: s1 * 1000 })
    edges.set(key, e)
  }

  for (let d = START; d < END; d += DAY) {
    const date = new Date(d)
    const weekday = (date.getUTCDay() + 6) % 7 // 0 = Monday
    // business-hours web tier: web-1/web-2 -> api-1 tcp/8080, weekdays 09:00-17:00
    if (weekday < 5)
      for (let h = 9; h < 17; h++)
        for (const web of ['10.1.1.10', '10.1.1.11'])
          for (let k = int(1, 3); k > 0; k--)
            conn(web, '10.1.2.10', 6, 8080, d + h * HOUR + int(0, 3_500) * 1000, 'business-hours')
    // continuous: api-1 -> db-1 tcp/5432 every hour; every 5th connection logged reply-only
    for (let h = 0; h < 24; h++)
      conn(
        '10.1.2.10',
        '10.1.3.10',
        6,
        5432,
        d + h * HOUR + int(0, 3_500) * 1000,
        'continuous',
        h % 5 === 0,
      )
    // nightly backup: db-1 -> backup-1 tcp/22 at 02:xx
    conn('10.1.3.10', '10.9.0.5', 6, 22, d + 2 * HOUR + int(0, 1_800) * 1000, 'nightly')
    // weekly: ledger-1 -> backup-1 tcp/873 on Sundays at 04:xx
    if (weekday === 6)
      conn('10.1.5.10', '10.9.0.5', 6, 873, d + 4 * HOUR + int(0, 1_800) * 1000, 'weekly')
    // month-end: batch-1 -> ledger-1 tcp/1433 and batch-1 -> bank-sftp tcp/22 on the last day of each month, 22:00-23:00
    const tomorrow = new Date(d + DAY)
    if (tomorrow.getUTCDate() === 1) {
      for (let k = 0; k < 6; k++) {
        conn('10.1.4.10', '10.1.5.10', 6, 1433, d + 22 * HOUR + k * 600_000, 'month-end')
        conn('10.1.4.10', '198.51.100.20', 6, 22, d + 22 * HOUR + k * 600_000 + 1000, 'month-end')
      }
    }
    // a reused IP: 10.50.0.7 -> api-1 tcp/8080 daily at 12:xx (unmanaged, then ci-runner-7, then ci-runner-8)
    conn('10.50.0.7', '10.1.2.10', 6, 8080, d + 12 * HOUR + int(0, 1_800) * 1000, undefined)
  }
  // once: api-1 -> an internet address tcp/443, a single flow
  conn('10.1.2.10', '203.0.113.50', 6, 443, Date.UTC(2026, 9, 20, 10, 15), 'once')
  records.sort((a, b) => a.start - b.start)
  return { lines: records.map((r) => r.line), edges }
}
