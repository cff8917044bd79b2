/**
 * @module Scan detection in recommend: the answered probes of a port or host sweep get no rule
 * (`scan-like`, warning `recommend/scan-like`) unless `includeScans`, and many-port or many-host
 * traffic that comes back over days stays in the proposal. The two scans are those s33 hE saw
 * turned into rules (hE REPORT.md, judgement call 1).
 */
import { describe, it, expect } from 'vitest'
import type { FlowTuple, Inventory, PolicySet } from '../../src/core/index.js'
import type { Edge } from '../../src/discover/types.js'
import { evaluate } from '../../src/policy/evaluate.js'
import { findScans, recommend, type RecommendResult } from '../../src/recommend/index.js'
import { inventoryOf, workload } from '../helpers/workloads.js'
import { DAY, T0, edge, mapOf } from './helpers.js'

const TCP = 6
const MIN = 60_000
const HOUR = 60 * MIN
/** The intrusion hour: day 10 of the 20-day window, 14:00 UTC. */
const T = T0 + 10 * DAY + 14 * HOUR

const dbs = Array.from({ length: 12 }, (_, i) =>
  workload(`db-${i + 1}`, `10.0.2.${i + 1}`, { role: 'db', app: 'shop', env: 'prod' }),
)
const INV: Inventory = inventoryOf(
  workload('web-1', '10.0.1.1', { role: 'web', app: 'shop', env: 'prod' }),
  workload('mon-1', '10.0.9.1', { role: 'monitoring', app: 'ops', env: 'prod' }),
  workload('backup-1', '10.0.9.2', { role: 'backup', app: 'ops', env: 'prod' }),
  workload('batch-1', '10.0.9.3', { role: 'batch', app: 'ops', env: 'prod' }),
  workload('ftp-1', '10.0.9.4', { role: 'ftp', app: 'files', env: 'prod' }),
  workload('dc-1', '10.0.9.5', { role: 'dc', app: 'ad', env: 'prod' }),
  ...dbs,
)
const ADDR: Record<string, string> = {
  '10.50.0.0/24': '10.50.0.7',
  '10.10.200.0/24': '10.10.200.9',
}
const ipOf = (entity: string): string =>
  INV.workloads.find((w) => w.name === entity)?.addresses[0]?.ip ?? (ADDR[entity] as string)
const tuple = (src: string, dst: string, port: number): FlowTuple => ({
  src: ipOf(src),
  dst: ipOf(dst),
  protocol: TCP,
  dstPort: port,
  at: T,
})
const verdict = (r: RecommendResult, src: string, dst: string, port: number): string => {
  const set: PolicySet = { policies: r.policies, enforcement: [] }
  return evaluate(INV, set, tuple(src, dst, port)).decision
}

/** One probe: one flow of a second at `at`, refused when `rejected`. */
function probe(src: string, dst: string, port: number, at: number, rejected = false): Edge {
  return edge(src, dst, TCP, port, {
    flows: 1,
    packets: rejected ? 1 : 3,
    bytes: rejected ? 44 : 164,
    firstSeen: at,
    lastSeen: at + 1000,
    activeDays: 1,
    pattern: 'once',
    rejected: rejected ? 1 : 0,
  })
}

/** Traffic that comes back: `flows` flows from day 0 to day 19. */
function steady(src: string, dst: string, port: number, flows: number): Edge {
  return edge(src, dst, TCP, port, {
    flows,
    firstSeen: T0,
    lastSeen: T0 + 19 * DAY + HOUR,
    activeDays: 20,
    days: Array.from({ length: 20 }, (_, i) => T0 / DAY + i),
  })
}

const excludedAs = (r: RecommendResult, reason: string): string[] =>
  r.report.excluded
    .filter((x) => x.reason === reason)
    .map((x) => `${x.src} -> ${x.dst} ${x.service}`)
    .sort()
const scanWarnings = (r: RecommendResult): string[] =>
  r.report.diagnostics.filter((d) => d.code === 'recommend/scan-like').map((d) => d.message)
const services = (r: RecommendResult): string[] =>
  r.policies.flatMap((p) => p.rules.flatMap((x) => x.services.map((s) => JSON.stringify(s))))

// hE's scan A: 14 ports of db-1 probed from the /24 a scanner shares with a laptop, 3 s apart;
// 12 refused, 22 and 5432 answered. The laptop's web traffic is a dependency.
const SCAN_A_PORTS = [21, 22, 23, 25, 80, 110, 139, 443, 445, 3306, 3389, 5432, 6379, 8080]
const SCAN_A = SCAN_A_PORTS.map((p, i) =>
  probe('10.50.0.0/24', 'db-1', p, T + i * 3000, p !== 22 && p !== 5432),
)
const LAPTOP = steady('10.50.0.0/24', 'web-1', 443, 400)
// hE's scan B: a sequential sweep of 9000–9011 on web-1, every probe recorded as accepted (a
// security group that lets the ports in logs ACCEPT whether or not the host answers)
const SCAN_B = Array.from({ length: 12 }, (_, i) =>
  probe('10.10.200.0/24', 'web-1', 9000 + i, T + i * 1000),
)

describe('recommend: vertical scans get no rule', () => {
  const r = recommend(mapOf(INV, [...SCAN_A, LAPTOP, ...SCAN_B]), INV)

  it('hE scan A: the 2 answered ports among 14 probes are excluded as scan-like', () => {
    expect(excludedAs(r, 'scan-like')).toEqual(
      expect.arrayContaining(['10.50.0.0/24 -> db-1 tcp/22', '10.50.0.0/24 -> db-1 tcp/5432']),
    )
    expect(excludedAs(r, 'rejected')).toHaveLength(12)
    expect(verdict(r, '10.50.0.0/24', 'db-1', 22)).toBe('denied')
    expect(verdict(r, '10.50.0.0/24', 'db-1', 5432)).toBe('denied')
    // the laptop's traffic from the same /24 keeps its rule
    expect(verdict(r, '10.50.0.0/24', 'web-1', 443)).toBe('allowed')
  })

  it('hE scan B: a sequential 12-port accepted sweep gets no rule and no port range', () => {
    expect(excludedAs(r, 'scan-like').filter((x) => x.includes('web-1'))).toHaveLength(12)
    for (let p = 9000; p <= 9011; p++)
      expect(verdict(r, '10.10.200.0/24', 'web-1', p)).toBe('denied')
    expect(r.report.diagnostics.map((d) => d.code)).not.toContain('recommend/port-range')
    expect(r.report.totals.rules).toBe(1) // the laptop's
  })

  it('warns once per scan, naming source, destination, protocol, ports, accepted and duration', () => {
    const w = scanWarnings(r)
    expect(w).toHaveLength(2)
    expect(w).toContainEqual(
      expect.stringMatching(
        /^vertical scan 10\.50\.0\.0\/24 -> db-1 tcp: 14 ports probed in 40 s .*12 refused.*2 accepted \(tcp\/22, tcp\/5432\)/,
      ),
    )
    expect(w).toContainEqual(
      expect.stringMatching(
        /^vertical scan 10\.10\.200\.0\/24 -> web-1 tcp: 12 ports probed in 12 s .*\(0 refused\), 12 accepted \(tcp\/9000, tcp\/9001, tcp\/9002, tcp\/9003, tcp\/9004, \.\.\.\)/,
      ),
    )
    expect(r.report.diagnostics).toContainEqual(
      expect.objectContaining({ code: 'recommend/scan-like', severity: 'warning' }),
    )
    // not covered: coverage counts the laptop's 400 flows of 400 + 14 + 12
    expect(r.report.totals.coveredFlows).toBe(400)
  })
})

describe('recommend --merge and a scan the existing policy already allows', () => {
  it('is already allowed (covered), not scan-like', () => {
    const map = mapOf(INV, [...SCAN_A, LAPTOP])
    const existing = recommend(map, INV, { includeScans: true })
    const r = recommend(map, INV, { existing: { policies: existing.policies, enforcement: [] } })
    expect(excludedAs(r, 'scan-like')).toEqual([])
    expect(excludedAs(r, 'already-allowed')).toEqual([
      '10.50.0.0/24 -> db-1 tcp/22',
      '10.50.0.0/24 -> db-1 tcp/5432',
      '10.50.0.0/24 -> web-1 tcp/443',
    ])
    expect(r.report.totals.coveredFlows).toBe(402)
    expect(scanWarnings(r)).toEqual([])
  })
})

describe('recommend: horizontal scans get no rule', () => {
  // web-1, compromised, sweeps the 12 databases for SSH in 22 s; db-3 and db-7 answer
  const sweep = dbs.map((d, i) => probe('web-1', d.name, 22, T + i * 2000, i !== 2 && i !== 6))
  const r = recommend(mapOf(INV, [...sweep, steady('web-1', 'db-1', 5432, 900)]), INV)

  it('the answered destinations are excluded, the rest rejected, the real dependency kept', () => {
    expect(excludedAs(r, 'scan-like')).toEqual(['web-1 -> db-3 tcp/22', 'web-1 -> db-7 tcp/22'])
    expect(excludedAs(r, 'rejected')).toHaveLength(10)
    expect(verdict(r, 'web-1', 'db-3', 22)).toBe('denied')
    expect(verdict(r, 'web-1', 'db-1', 5432)).toBe('allowed')
    expect(scanWarnings(r)).toEqual([
      expect.stringMatching(
        /^horizontal scan web-1 -> 12 destinations \(db-1, db-10, db-11, \.\.\.\) tcp\/22: probed in 23 s .*2 accepted \(db-3, db-7\)/,
      ),
    ])
  })
})

describe('recommend: a ping sweep is a horizontal scan of ICMP echo', () => {
  it('the echo requests the hosts answered get no rule', () => {
    const sweep = dbs.map((d, i) =>
      edge('web-1', d.name, 1, 8, { flows: 1, firstSeen: T + i * 500, lastSeen: T + i * 500 + 1 }),
    )
    const r = recommend(mapOf(INV, sweep), INV)
    expect(excludedAs(r, 'scan-like')).toHaveLength(12)
    expect(r.policies).toEqual([])
    expect(scanWarnings(r)).toEqual([
      expect.stringMatching(/^horizontal scan web-1 -> 12 destinations .* icmp\/8: probed in 6 s/),
    ])
  })
})

describe('recommend: the thresholds', () => {
  const ports = (n: number, gap: number): Edge[] =>
    Array.from({ length: n }, (_, i) => probe('10.50.0.0/24', 'web-1', 9000 + i, T + i * gap))

  it('10 ports within 10 minutes are a scan; 9 are not', () => {
    expect(excludedAs(recommend(mapOf(INV, ports(10, 1000)), INV), 'scan-like')).toHaveLength(10)
    expect(excludedAs(recommend(mapOf(INV, ports(9, 1000)), INV), 'scan-like')).toEqual([])
  })

  it('10 ports whose first probes span more than 10 minutes are not', () => {
    // 9 gaps of 67 s: 10 min 3 s from the first to the last
    expect(excludedAs(recommend(mapOf(INV, ports(10, 67_000)), INV), 'scan-like')).toEqual([])
    // 9 gaps of 66 s: 9 min 54 s
    expect(excludedAs(recommend(mapOf(INV, ports(10, 66_000)), INV), 'scan-like')).toHaveLength(10)
  })

  it('an edge of 4 flows, or one seen again more than 10 minutes later, is no probe', () => {
    const e = ports(10, 1000)
    const four = e.map((x, i) => (i === 0 ? { ...x, flows: 4 } : x))
    const later = e.map((x, i) => (i === 0 ? { ...x, lastSeen: x.firstSeen + 11 * MIN } : x))
    expect(excludedAs(recommend(mapOf(INV, four), INV), 'scan-like')).toEqual([])
    expect(excludedAs(recommend(mapOf(INV, later), INV), 'scan-like')).toEqual([])
  })
})

describe('recommend: many-port and many-host traffic that comes back stays', () => {
  it('RPC dynamic ports, each used again over days, with the endpoint mapper', () => {
    const dynamic = Array.from({ length: 40 }, (_, i) => steady('web-1', 'dc-1', 49152 + i * 3, 3))
    // three flows each, but days apart: no probe
    const spread = dynamic.map((e, i) => ({ ...e, firstSeen: T0 + (i % 5) * DAY }))
    const r = recommend(mapOf(INV, [steady('web-1', 'dc-1', 135, 500), ...spread]), INV)
    expect(r.report.excluded).toEqual([])
    expect(scanWarnings(r)).toEqual([])
    for (const e of spread) expect(verdict(r, 'web-1', 'dc-1', e.dstPort)).toBe('allowed')
  })

  // a nightly job fetches 12 files over passive FTP in 2 minutes: each data connection goes to a
  // new port of the server's passive range, used once in the window
  const ftpDays = (control: boolean): Edge[] => [
    ...(control ? [steady('batch-1', 'ftp-1', 21, 20)] : []),
    ...Array.from({ length: 20 }, (_, day) =>
      Array.from({ length: 12 }, (_, f) =>
        probe('batch-1', 'ftp-1', 50000 + day * 40 + f * 3, T0 + day * DAY + 2 * HOUR + f * 10_000),
      ),
    ).flat(),
  ]

  it('passive FTP data ports used once each, beside the FTP control connection', () => {
    const r = recommend(mapOf(INV, ftpDays(true)), INV)
    expect(r.report.excluded).toEqual([])
    expect(scanWarnings(r)).toEqual([])
    expect(verdict(r, 'batch-1', 'ftp-1', 50000 + 7 * 40 + 3)).toBe('allowed')
  })

  it('(the same one-off high ports with no control connection read as daily sweeps)', () => {
    const r = recommend(mapOf(INV, ftpDays(false)), INV)
    expect(excludedAs(r, 'scan-like')).toHaveLength(240)
  })

  it('a monitoring system checking 15 ports of a host and one port of 12 hosts every 5 minutes for weeks', () => {
    const checks = 21 * 288 // 5-minute checks over 21 days
    const edges = [
      ...Array.from({ length: 15 }, (_, i) => steady('mon-1', 'db-1', 9100 + i * 50, checks)),
      ...dbs.map((d) => steady('mon-1', d.name, 9187, checks)),
    ]
    const r = recommend(mapOf(INV, edges), INV)
    expect(r.report.excluded).toEqual([])
    expect(scanWarnings(r)).toEqual([])
  })

  it('a backup touching 12 hosts nightly', () => {
    const r = recommend(
      mapOf(
        INV,
        dbs.map((d) => steady('backup-1', d.name, 9102, 20)),
      ),
      INV,
    )
    expect(r.report.excluded).toEqual([])
    expect(scanWarnings(r)).toEqual([])
    for (const d of dbs) expect(verdict(r, 'backup-1', d.name, 9102)).toBe('allowed')
  })
})

describe('recommend --include-scans', () => {
  // the sweep of 9000–9011 beside traffic of the same source on ports around it, which alone
  // (9 ports, gaps ≤ 32) would merge into one range 8980–9040 with the sweep
  const around = [8980, 8985, 8990, 8995, 9020, 9025, 9030, 9035, 9040].map((p) =>
    steady('10.10.200.0/24', 'web-1', p, 50),
  )
  const r = recommend(mapOf(INV, [...SCAN_B, ...around]), INV, { includeScans: true })

  it('keeps the scan ports, each its own rule flagged scan-like, never merged into a range', () => {
    expect(r.report.excluded).toEqual([])
    for (let p = 9000; p <= 9011; p++) {
      expect(verdict(r, '10.10.200.0/24', 'web-1', p)).toBe('allowed')
      expect(services(r)).toContain(JSON.stringify({ protocol: TCP, ports: { lo: p, hi: p } }))
    }
    const flagged = r.report.rules.filter((x) => x.flags.includes('scan-like'))
    expect(flagged).toHaveLength(12)
    // no rule covers a scan port and another port
    for (const s of r.policies.flatMap((p) => p.rules.flatMap((x) => x.services)))
      if ('ports' in s && s.ports.lo !== s.ports.hi)
        expect(s.ports.hi < 9000 || s.ports.lo > 9011).toBe(true)
    expect(scanWarnings(r)).toEqual([expect.stringMatching(/kept by --include-scans/)])
  })

  it('(without the scan, the ports around it still merge as before)', () => {
    const alone = recommend(mapOf(INV, around), INV, { includeScans: true })
    expect(alone.report.diagnostics.map((d) => d.code)).toContain('recommend/port-range')
  })
})

describe('findScans', () => {
  it('joins overlapping windows into one scan, and keeps two bursts apart', () => {
    const a = Array.from({ length: 12 }, (_, i) => probe('web-1', 'db-1', 1000 + i, T + i * MIN))
    const b = Array.from({ length: 10 }, (_, i) =>
      probe('web-1', 'db-1', 2000 + i, T + DAY + i * 1000),
    )
    const scans = findScans([...a, ...b])
    expect(scans.map((s) => [s.kind, s.ports.length, s.end - s.start])).toEqual([
      ['vertical', 12, 11 * MIN + 1000],
      ['vertical', 10, 9 * 1000 + 1000],
    ])
  })
})
