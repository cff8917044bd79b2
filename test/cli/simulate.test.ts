/**
 * `bulkhead simulate` end to end on test/fixtures/simulate-estate (the eval estate plus a
 * workload holding an address for four hours) and its flows.csv, from files and from the store.
 * Expected outcomes were worked out by hand from the YAML; see the comments.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SimulateOutput } from '../../src/cli/commands/simulate.js'
import { cli } from '../helpers/cli.js'

const W = 'test/fixtures/simulate-estate'
const FLOWS = `${W}/flows.csv`
const AT = '2026-10-25T00:00:00Z' // month-end-export (expires 2026-10-31) is live

/** `simulate -o json` at AT on workspace `ws`, parsed. */
async function jsonIn(
  ws: string,
  ...args: string[]
): Promise<{ code: number; out: SimulateOutput; stderr: string }> {
  const r = await cli('simulate', '-w', ws, '--at', AT, '-o', 'json', ...args)
  return { code: r.code, out: JSON.parse(r.stdout) as SimulateOutput, stderr: r.stderr }
}

/** `simulate -o json` at AT on the estate. */
const json = (...args: string[]): ReturnType<typeof jsonIn> => jsonIn(W, ...args)

const edge = (o: SimulateOutput): string[] =>
  o.denied.map(
    (e) =>
      `${e.outcome} ${e.src.name} -> ${e.dst.name} ${e.service} x${e.flows} by ${e.deniedBy.join(',')}`,
  )

/** The hand-worked denied edges of flows.csv at AT. */
const EDGES_AT = [
  // pay-db-1 is enforced: the web tier may not reach it (only api-to-db allows tcp/5432)
  'blocked pay-web-1 -> pay-db-1 tcp/5432 x2 by default-deny',
  // 10.50.0.7 is ci-runner-7 (env dev) until Oct 15, unmanaged after, and office-to-web excepts
  // 10.50/16. 10.70.0.9 is unmanaged outside 10:00–14:00 on Oct 20 (office-to-web allows it),
  // and tmp-worker (env dev) inside: no-dev-to-prod denies it.
  // 10.50.0.7 is ci-runner-7's only for a time: outside it, an endpoint of its own
  'would-be-blocked 10.50.0.7 -> pay-web-1 tcp/443 x1 by default-deny',
  'would-be-blocked ci-runner-7 -> pay-web-1 tcp/443 x1 by payments-prod/no-dev-to-prod',
  'would-be-blocked pay-api-dev-1 -> pay-api-1 tcp/443 x1 by payments-prod/no-dev-to-prod',
  'would-be-blocked pay-web-1 -> pay-api-1 gre x1 by default-deny',
  'would-be-blocked tmp-worker -> pay-web-1 tcp/443 x1 by payments-prod/no-dev-to-prod',
  // neither side enforces: monitor-1 (ops) and shop-api-1 (shop) match no Enforcement entry
  'unenforced internet -> bank-sftp tcp/443 x1 by default-deny',
  'unenforced monitor-1 -> shop-api-1 tcp/9100 x1 by default-deny',
]

describe('bulkhead simulate --flows', () => {
  it('reports outcomes, denied edges, hits, unused and expired rules', async () => {
    const { code, out } = await json('--flows', FLOWS)
    expect(code).toBe(0)
    expect(out.flows).toBe(14)
    expect(out.readSkipped).toEqual({ 'bad-port': 1 })
    expect(out.outcomes).toEqual({ allowed: 5, blocked: 2, 'would-be-blocked': 5, unenforced: 2 })
    expect(out.wouldBlockIfEnforced).toBe(8) // internet -> bank-sftp has no enforcement point
    expect(out.unknownDirection).toBe(1) // GRE has no ports to orient by
    expect([...edge(out)].sort()).toEqual([...EDGES_AT].sort())
    expect(out.denied[0]?.examples.map((x) => x.where)).toEqual([`${FLOWS}:4`, `${FLOWS}:5`])
    const hits = Object.fromEntries(out.rules.map((r) => [r.rule, r.hits]))
    expect(hits).toMatchObject({
      'payments-prod/web-to-api': 2,
      'payments-prod/month-end-export': 1,
      'payments-prod/office-to-web': 2,
      'payments-prod/no-dev-to-prod': 3,
    })
    expect(out.unused).toEqual([
      'payments-prod/api-to-db',
      'payments-prod/shop-to-api',
      'payments-prod/ping-web',
      'payments-prod/monitoring',
    ])
    expect(out.expired).toEqual([])
  })

  it('judges expiry at --at: after 2026-10-31 month-end-export is expired and its flow denied', async () => {
    const { out } = await json('--flows', FLOWS, '--at', '2026-11-02T00:00:00Z')
    expect(out.expired).toEqual(['payments-prod/month-end-export'])
    expect(edge(out)).toContain(
      'would-be-blocked pay-batch-1 -> bank-sftp tcp/22 x1 by default-deny',
    )
    expect(out.rules.find((r) => r.rule === 'payments-prod/month-end-export')).toMatchObject({
      hits: 0,
      expired: true,
    })
  })

  it('--as-enforced reports every denied flow at a workload as blocked', async () => {
    const { out } = await json('--flows', FLOWS, '--as-enforced')
    expect(out.outcomes).toEqual({ allowed: 5, blocked: 8, 'would-be-blocked': 0, unenforced: 1 })
  })

  it('--fail-on-block exits 2 when something would be blocked, 0 when nothing is denied', async () => {
    expect(
      (await cli('simulate', '-w', W, '--at', AT, '--flows', FLOWS, '--fail-on-block')).code,
    ).toBe(2)
    const allowedOnly = path.join(W, 'flows-allowed.csv')
    const r = await cli(
      'simulate',
      '-w',
      W,
      '--at',
      AT,
      '--flows',
      allowedOnly,
      '--fail-on-block',
      '-o',
      'json',
    )
    expect(r.code).toBe(0)
    expect((JSON.parse(r.stdout) as SimulateOutput).outcomes.allowed).toBe(2)
  })

  it('--policy judges another policy folder against the same inventory', async () => {
    const { out } = await json('--flows', FLOWS, '--policy', 'test/fixtures/simulate-policy-alt')
    expect(edge(out).some((e) => e.includes('pay-web-1 -> pay-db-1'))).toBe(false)
    expect(out.rules.find((r) => r.rule === 'payments-prod/web-to-db')?.hits).toBe(2)
  })

  it('renders text, md and csv', async () => {
    const text = await cli('simulate', '-w', W, '--at', AT, '--flows', FLOWS)
    expect(text.stdout).toContain(
      'outcomes: allowed 5, blocked 2, would-be-blocked 5, unenforced 2',
    )
    expect(text.stdout).toMatch(/BLOCKED\s+pay-web-1 -> pay-db-1 tcp\/5432/)
    expect(text.stdout).toContain('unused rules (4):')
    const md = await cli('simulate', '-w', W, '--at', AT, '--flows', FLOWS, '-o', 'md')
    expect(md.stdout).toContain('| blocked | pay-web-1 | pay-db-1 | tcp/5432 | 2 |')
    const csv = await cli('simulate', '-w', W, '--at', AT, '--flows', FLOWS, '-o', 'csv')
    const rows = csv.stdout.trimEnd().split('\r\n')
    expect(rows[0]).toBe(
      'outcome,src,src_kind,dst,dst_kind,service,flows,blocked,would_be_blocked,unenforced,already_rejected,first_seen,last_seen,denied_by,examples',
    )
    expect(rows).toHaveLength(1 + EDGES_AT.length)
    expect(rows[1]).toMatch(/^blocked,pay-web-1,workload,pay-db-1,workload,tcp\/5432,2,2,0,0,/)
    // a list cell holds one item a line (quoted), so that blanks in a rule id or a path stay
    expect(rows[1]).toMatch(/,"?[^,]*:\d+\n[^,]*:\d+"$/)
  })

  it('bad usage exits 1', async () => {
    expect((await cli('simulate', '-w', W, '--flows', FLOWS, '-o', 'xml')).code).toBe(1)
    expect((await cli('simulate', '-w', W, '--flows', FLOWS, '--since', '2026-10-01')).code).toBe(1)
    expect((await cli('simulate', '-w', W, '--flows', 'no/such/file.csv')).code).toBe(1)
  })
})

describe('bulkhead simulate from the store', () => {
  let dir = ''
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-simulate-'))
    cpSync(W, dir, { recursive: true })
    const r = await cli('ingest', '-w', dir, path.join(dir, 'flows.csv'))
    expect(r.code).toBe(0)
  })
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  it('gives the same verdicts as the files, judging distinct tuples only', async () => {
    const r = await cli('simulate', '-w', dir, '--at', AT, '-o', 'json')
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout) as SimulateOutput
    expect(out.source.from).toBe('store')
    expect(out.flows).toBe(14)
    expect(out.outcomes).toEqual({ allowed: 5, blocked: 2, 'would-be-blocked': 5, unenforced: 2 })
    expect([...edge(out)].sort()).toEqual([...EDGES_AT].sort())
    // web-1 -> api-1 tcp/443 twice on one day: one group. 10.70.0.9 -> web-1: one group split into
    // its three rows because tmp-worker holds the address only 10:00–14:00 that day.
    expect(out.evaluated).toBe(13)
  })

  it('--since/--until select stored flows by start', async () => {
    const r = await cli(
      'simulate',
      '-w',
      dir,
      '--at',
      AT,
      '--since',
      '2026-10-21',
      '--until',
      '2026-10-22',
      '-o',
      'json',
    )
    const out = JSON.parse(r.stdout) as SimulateOutput
    expect(out.flows).toBe(1)
    expect(edge(out)).toEqual(['blocked pay-web-1 -> pay-db-1 tcp/5432 x1 by default-deny'])
    // an empty window would select nothing and pass --fail-on-block: a usage error
    const empty = await cli(
      'simulate',
      '-w',
      dir,
      '--since',
      '2026-10-22',
      '--until',
      '2026-10-21',
      '--fail-on-block',
    )
    expect(empty.code).toBe(1)
    expect(empty.stderr).toContain('--until must be after --since')
    // a window after every flow judges nothing: a warning, not a silent pass
    const late = await cli('simulate', '-w', dir, '--since', '2030-01-01', '--fail-on-block')
    expect(late.code).toBe(0)
    expect(late.stderr).toContain('warning simulate/no-flows')
  })

  it('no store and no --flows is an input error with a stable code', async () => {
    const r = await cli('simulate', '-w', W, '--at', AT)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('simulate/no-flows')
  })
})

/**
 * A copy of the estate in a temporary folder with `csv` written as `name` and ingested into its
 * store; removed after the describe block. Returns a getter of the folder.
 */
function estateWithStoredFlows(name: string, csv: string): () => string {
  let dir = ''
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-simulate-'))
    cpSync(W, dir, { recursive: true })
    writeFileSync(path.join(dir, name), `${csv}\n`)
    expect((await cli('ingest', '-w', dir, path.join(dir, name))).code).toBe(0)
  })
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })
  return () => dir
}

describe('ICMP echo replies are judged as the echo requests they answer (rule 3)', () => {
  // pay-api-1 pings pay-web-1 (rule ping-web: any → web icmp/8, icmpv6/128); the replies come back
  const pings = [
    'src_ip,dst_ip,src_port,dst_port,protocol,start,end,packets,bytes,action',
    '10.20.2.10,10.20.1.10,0,8,icmp,2026-10-20T10:00:00Z,2026-10-20T10:00:01Z,1,84,accept',
    '10.20.1.10,10.20.2.10,0,0,icmp,2026-10-20T10:00:00Z,2026-10-20T10:00:01Z,1,84,accept',
    '2001:db8:20::20,2001:db8:20::10,0,128,icmpv6,2026-10-20T10:00:00Z,2026-10-20T10:00:01Z,1,104,accept',
    '2001:db8:20::10,2001:db8:20::20,0,129,icmpv6,2026-10-20T10:00:00Z,2026-10-20T10:00:01Z,1,104,accept',
  ].join('\n')
  const workspace = estateWithStoredFlows('pings.csv', pings)

  it('from files and from the store: all four allowed, the replies as replies', async () => {
    for (const args of [['--flows', path.join(workspace(), 'pings.csv')], []]) {
      const { code, out, stderr } = await jsonIn(workspace(), ...args)
      expect(code, stderr).toBe(0)
      expect(out.outcomes, args.join(' ')).toEqual({
        allowed: 4,
        blocked: 0,
        'would-be-blocked': 0,
        unenforced: 0,
      })
      expect(out.replies).toBe(2)
    }
  })

  it('discover puts the replies on the edge of their requests: pay-api-1 → pay-web-1 icmp/8', async () => {
    const r = await cli('discover', '-w', workspace(), '-o', 'json')
    expect(r.code, r.stderr).toBe(0)
    const map = JSON.parse(r.stdout) as {
      edges: { src: string; dst: string; protocolNumber: number; port: number; flows: number }[]
    }
    const icmp = map.edges
      .filter((e) => e.protocolNumber === 1 || e.protocolNumber === 58)
      .map((e) => [e.src, e.dst, e.protocolNumber, e.port, e.flows])
    expect(icmp.sort()).toEqual(
      [
        ['pay-api-1', 'pay-web-1', 1, 8, 2],
        ['pay-api-1', 'pay-web-1', 58, 128, 2],
      ].sort(),
    )
  })
})

describe('IPv6 link control is allowed whatever the rules, as the compiled host rules accept it', () => {
  // neighbour solicitation to the solicited-node group, the advertisement back, an MLDv2 report:
  // no rule allows them (pay-api-1 and pay-web-1 are monitored), yet every host target accepts
  // them. A router renumbering (icmpv6/138) is no link control: the rules judge it.
  const linkControl = [
    'src_ip,dst_ip,src_port,dst_port,protocol,start,end,packets,bytes,action',
    '2001:db8:20::20,ff02::1:ff00:10,0,135,icmpv6,2026-10-20T10:00:00Z,2026-10-20T10:00:00Z,1,72,accept',
    '2001:db8:20::10,2001:db8:20::20,0,136,icmpv6,2026-10-20T10:00:00Z,2026-10-20T10:00:00Z,1,72,accept',
    '2001:db8:20::20,ff02::16,0,143,icmpv6,2026-10-20T10:00:01Z,2026-10-20T10:00:01Z,1,76,accept',
    '2001:db8:20::10,2001:db8:20::20,0,138,icmpv6,2026-10-20T10:00:02Z,2026-10-20T10:00:02Z,1,120,accept',
  ].join('\n')
  const workspace = estateWithStoredFlows('nd.csv', linkControl)

  it('simulate counts them allowed (linkControl 3); only the renumbering is denied', async () => {
    const { code, out, stderr } = await jsonIn(workspace())
    expect(code, stderr).toBe(0)
    expect(out.outcomes).toEqual({ allowed: 3, blocked: 0, 'would-be-blocked': 1, unenforced: 0 })
    expect(out.linkControl).toBe(3)
    expect(edge(out)).toEqual([
      'would-be-blocked pay-web-1 -> pay-api-1 icmpv6/138 x1 by default-deny',
    ])
  })

  it('eval names link control as the reason; ICMPv6 from an IPv4-only workload is refused', async () => {
    const v6 = await cli(
      'eval',
      '-w',
      workspace(),
      '--at',
      AT,
      '-o',
      'json',
      'pay-api-dev-1 -> pay-api-1 icmpv6/135',
    )
    const ok = await cli(
      'eval',
      '-w',
      workspace(),
      '--at',
      AT,
      '-o',
      'json',
      '2001:db8:20::10 -> 2001:db8:20::20 icmpv6/135',
    )
    expect(ok.code, ok.stderr).toBe(0)
    expect(JSON.parse(ok.stdout)).toMatchObject({ decision: 'allowed', rule: null })
    expect((JSON.parse(ok.stdout) as { reason: string }).reason).toMatch(/link control/)
    // pay-api-dev-1 has only an IPv4 address: eval refuses ICMPv6 between IPv4 addresses
    expect(v6.code).toBe(1)
  })

  it('recommend proposes no rule for them', async () => {
    const r = await cli('recommend', '-w', workspace(), '-o', 'json')
    expect(r.code, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as {
      excluded: { src: string; dst: string; service: string; reason: string }[]
    }
    expect(
      out.excluded.filter((e) => e.reason === 'link-control').map((e) => `${e.src} ${e.service}`),
    ).toEqual(
      expect.arrayContaining([
        'pay-api-1 icmpv6/135',
        'pay-web-1 icmpv6/136',
        'pay-api-1 icmpv6/143',
      ]),
    )
  })
})

describe('IGMP is link control too: allowed whatever the rules between IPv4 addresses', () => {
  // pay-api-1 (10.20.2.10) sends an IGMPv3 report, pay-web-1 (10.20.1.10) an IGMPv2 leave, and a
  // querier without an address its general query: no rule names protocol 2 (both hosts are
  // monitored), yet every host target accepts IGMP as it does MLD. GRE between the two is no
  // link control: the rules judge it (no rule allows it: would-be-blocked).
  const igmp = [
    'src_ip,dst_ip,src_port,dst_port,protocol,start,end,packets,bytes,action',
    '10.20.2.10,224.0.0.22,0,0,igmp,2026-10-20T10:00:00Z,2026-10-20T10:00:00Z,1,40,accept',
    '10.20.1.10,224.0.0.2,0,0,igmp,2026-10-20T10:00:01Z,2026-10-20T10:00:01Z,1,32,accept',
    '0.0.0.0,224.0.0.1,0,0,igmp,2026-10-20T10:00:01Z,2026-10-20T10:00:01Z,1,36,accept',
    '10.20.1.10,10.20.2.10,0,0,gre,2026-10-20T10:00:02Z,2026-10-20T10:00:02Z,1,120,accept',
  ].join('\n')
  const workspace = estateWithStoredFlows('igmp.csv', igmp)

  it('simulate counts them allowed (linkControl 3); only GRE is denied', async () => {
    const { code, out, stderr } = await jsonIn(workspace())
    expect(code, stderr).toBe(0)
    expect(out.outcomes).toEqual({ allowed: 3, blocked: 0, 'would-be-blocked': 1, unenforced: 0 })
    expect(out.linkControl).toBe(3)
    expect(edge(out)).toEqual(['would-be-blocked pay-web-1 -> pay-api-1 gre x1 by default-deny'])
    const text = await cli('simulate', '-w', workspace(), '--at', AT)
    expect(text.stdout).toContain(
      'link control (IPv6 neighbour/multicast listener discovery, IGMP), allowed whatever the rules: 3',
    )
  })

  it('eval names link control as the reason, and by link-control', async () => {
    const r = await cli(
      'eval',
      '-w',
      workspace(),
      '--at',
      AT,
      '-o',
      'json',
      '10.20.2.10 -> 224.0.0.22 proto/2',
    )
    expect(r.code, r.stderr).toBe(0)
    const v = JSON.parse(r.stdout) as { decision: string; by: string; reason: string }
    expect(v).toMatchObject({ decision: 'allowed', by: 'link-control', rule: null })
    expect(v.reason).toMatch(/link control .*IGMP/)
  })

  it('recommend proposes no rule for them', async () => {
    const r = await cli('recommend', '-w', workspace(), '-o', 'json')
    expect(r.code, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as {
      excluded: { src: string; dst: string; service: string; reason: string }[]
    }
    expect(
      out.excluded.filter((e) => e.reason === 'link-control').map((e) => `${e.src} ${e.service}`),
    ).toEqual(expect.arrayContaining(['pay-api-1 proto/2', 'pay-web-1 proto/2']))
  })
})

describe('ICMP errors are allowed as part of the connection they report on (related)', () => {
  // No rule allows pay-api-1 → pay-web-1 (both monitored): a port unreachable (icmp/3), a time
  // exceeded (icmp/11) and an ICMPv6 packet too big (icmpv6/2) pass every host target as related
  // traffic. A type the rules judge (icmp/9, router advertisement) is denied, and
  // so is ICMP between addresses of the other family (icmpv6/1 between IPv4 addresses is no
  // ICMPv6 on the wire; only files carry such records).
  const errors = [
    'src_ip,dst_ip,src_port,dst_port,protocol,start,end,packets,bytes,action',
    '10.20.2.10,10.20.1.10,0,3,icmp,2026-10-20T10:00:00Z,2026-10-20T10:00:00Z,1,56,accept',
    '10.20.2.10,10.20.1.10,0,11,icmp,2026-10-20T10:00:01Z,2026-10-20T10:00:01Z,1,56,accept',
    '2001:db8:20::20,2001:db8:20::10,0,2,icmpv6,2026-10-20T10:00:02Z,2026-10-20T10:00:02Z,1,1280,accept',
    '10.20.2.10,10.20.1.10,0,9,icmp,2026-10-20T10:00:03Z,2026-10-20T10:00:03Z,1,56,accept',
  ].join('\n')
  const workspace = estateWithStoredFlows('errors.csv', errors)

  it('simulate counts them allowed (related 3); only the router advertisement is denied', async () => {
    const { code, out, stderr } = await jsonIn(workspace())
    expect(code, stderr).toBe(0)
    expect(out.outcomes).toEqual({ allowed: 3, blocked: 0, 'would-be-blocked': 1, unenforced: 0 })
    expect(out.related).toBe(3)
    expect(edge(out)).toEqual(['would-be-blocked pay-api-1 -> pay-web-1 icmp/9 x1 by default-deny'])
    const text = await cli('simulate', '-w', workspace(), '--at', AT)
    expect(text.stdout).toContain(
      'ICMP errors (unreachable, time exceeded, ...), allowed as part of the connection they report on: 3',
    )
  })

  it('eval names the relation as the reason', async () => {
    const r = await cli(
      'eval',
      '-w',
      workspace(),
      '--at',
      AT,
      '-o',
      'json',
      'pay-api-1 -> pay-web-1 icmp/3',
    )
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ decision: 'allowed', rule: null })
    expect((JSON.parse(r.stdout) as { reason: string }).reason).toMatch(/ICMP error message/)
  })

  it('recommend proposes no rule for them', async () => {
    const r = await cli('recommend', '-w', workspace(), '-o', 'json')
    expect(r.code, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as {
      excluded: { src: string; dst: string; service: string; reason: string }[]
    }
    expect(
      out.excluded
        .filter((e) => e.reason === 'related')
        .map((e) => `${e.src} ${e.dst} ${e.service}`)
        .sort(),
    ).toEqual([
      'pay-api-1 pay-web-1 icmp/11',
      'pay-api-1 pay-web-1 icmp/3',
      'pay-api-1 pay-web-1 icmpv6/2',
    ])
  })
})

describe('denied flows the observer had already rejected are counted apart', () => {
  // pay-web-1 -> pay-db-1 tcp/5432 is blocked (see EDGES_AT); pay-web-1 -> pay-api-1 tcp/443 is
  // allowed (web-to-api). The security group rejected two of the three tcp/5432 attempts.
  const header = 'src_ip,dst_ip,src_port,dst_port,protocol,start,end,packets,bytes,action'
  const row = (dst: string, sp: number, dp: number, minute: number, action: string): string =>
    `10.20.1.10,${dst},${String(sp)},${String(dp)},tcp,2026-10-20T11:${String(minute)}:00Z,2026-10-20T11:${String(minute)}:02Z,1,60,${action}`
  const rows = [
    row('10.20.3.10', 52001, 5432, 10, 'reject'),
    row('10.20.3.10', 52002, 5432, 11, 'reject'),
    row('10.20.3.10', 52003, 5432, 12, 'accept'),
    // an allowed flow stays allowed whatever the observer recorded
    row('10.20.2.10', 52004, 443, 13, 'reject'),
  ]
  let dir = ''
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-simulate-'))
    cpSync(W, dir, { recursive: true })
    writeFileSync(path.join(dir, 'r.csv'), `${[header, ...rows].join('\n')}\n`)
    writeFileSync(
      path.join(dir, 'all-rejected.csv'),
      `${[header, ...rows.slice(0, 2)].join('\n')}\n`,
    )
    expect((await cli('ingest', '-w', dir, path.join(dir, 'r.csv'))).code).toBe(0)
  })
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  it('from the store and from the files: out of outcomes and the gate, on the edge', async () => {
    for (const args of [[], ['--flows', path.join(dir, 'r.csv')]]) {
      const { code, out } = await jsonIn(dir, ...args)
      expect(code).toBe(0)
      expect(out.flows).toBe(4)
      expect(out.outcomes).toEqual({ allowed: 1, blocked: 1, 'would-be-blocked': 0, unenforced: 0 })
      expect(out.alreadyRejected).toBe(2)
      expect(out.wouldBlockIfEnforced).toBe(1)
      expect(out.denied).toHaveLength(1)
      expect(out.denied[0]).toMatchObject({ outcome: 'blocked', flows: 3, alreadyRejected: 2 })
    }
  })

  it('text and Markdown give the split of an edge whose flows meet different outcomes', async () => {
    // hH held-out check: the text read `BLOCKED pay-web-1 -> pay-db-1 tcp/5432  3 flows` where
    // one flow would be blocked and two had been rejected already; JSON and CSV had the split.
    const f = path.join(dir, 'r.csv')
    const text = await cli('simulate', '-w', dir, '--at', AT, '--flows', f)
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toMatch(
      /BLOCKED +pay-web-1 -> pay-db-1 tcp\/5432 {2}3 flows \(1 blocked, 2 already rejected where observed\) {2}/,
    )
    const md = await cli('simulate', '-w', dir, '--at', AT, '--flows', f, '-o', 'md')
    expect(md.stdout).toContain(
      '| blocked | pay-web-1 | pay-db-1 | tcp/5432 | 3 (1 blocked, 2 already rejected where observed) |',
    )
    // an edge whose flows all meet its outcome prints as before, without a split
    const all = await cli(
      'simulate',
      '-w',
      dir,
      '--at',
      AT,
      '--flows',
      path.join(dir, 'all-rejected.csv'),
    )
    expect(all.stdout).toMatch(/already rejected +pay-web-1 -> pay-db-1 tcp\/5432 {2}2 flows {2}/)
  })

  it('an edge whose every flow was rejected is already-rejected and passes --fail-on-block', async () => {
    const f = path.join(dir, 'all-rejected.csv')
    const { code, out } = await jsonIn(dir, '--flows', f, '--fail-on-block')
    expect(code).toBe(0)
    expect(out.denied.map((e) => [e.outcome, e.flows, e.alreadyRejected])).toEqual([
      ['already-rejected', 2, 2],
    ])
    const text = await cli('simulate', '-w', dir, '--at', AT, '--flows', f)
    expect(text.stdout).toContain('denied and already rejected where observed')
    expect(text.stdout).toMatch(/already rejected +pay-web-1 -> pay-db-1 tcp\/5432/)
  })
})

describe('examples from the store are those from the files', () => {
  // pay-web-1 -> pay-db-1 tcp/5432 is blocked (see EDGES_AT). b.csv holds one such flow and a.csv
  // five, the first at the same instant as b's: one group in the store (one day). Examples are
  // ordered by start, then file, line and record, whatever order the files were stored in.
  const header = 'src_ip,dst_ip,src_port,dst_port,protocol,start,end,packets,bytes,action'
  const flow = (port: number, minute: number): string =>
    `10.20.1.10,10.20.3.10,${port},5432,tcp,2026-10-20T11:${minute}:00Z,2026-10-20T11:${minute}:02Z,3,180,accept`
  let dir = ''
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-simulate-'))
    cpSync(W, dir, { recursive: true })
    writeFileSync(path.join(dir, 'b.csv'), `${header}\n${flow(52001, 10)}\n`)
    const a = [10, 11, 12, 13, 14].map((m, i) => flow(52002 + i, m))
    writeFileSync(path.join(dir, 'a.csv'), `${[header, ...a].join('\n')}\n`)
    for (const f of ['b.csv', 'a.csv'])
      expect((await cli('ingest', '-w', dir, path.join(dir, f))).code).toBe(0)
  })
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  const examples = async (n: number, ...args: string[]): Promise<string[]> => {
    const { code, out } = await jsonIn(dir, '--examples', String(n), ...args)
    expect(code).toBe(0)
    const e = out.denied.find((d) => d.service === 'tcp/5432')
    return (e?.examples ?? []).map((x) => path.basename(x.where))
  }

  it('one instant: a.csv:2 before b.csv:2, from the store and from the files in either order', async () => {
    const a = path.join(dir, 'a.csv')
    const b = path.join(dir, 'b.csv')
    expect(await examples(1)).toEqual(['a.csv:2'])
    expect(await examples(1, '--flows', b, a)).toEqual(['a.csv:2'])
    expect(await examples(1, '--flows', a, b)).toEqual(['a.csv:2'])
  })

  it('--examples above 3 gives as many from the store as from the files', async () => {
    const want = ['a.csv:2', 'b.csv:2', 'a.csv:3', 'a.csv:4', 'a.csv:5']
    expect(await examples(5)).toEqual(want)
    expect(await examples(5, '--flows', path.join(dir, 'a.csv'), path.join(dir, 'b.csv'))).toEqual(
      want,
    )
    const r = await cli('simulate', '-w', dir, '--examples', '1001')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('cli/usage')
  })
})
