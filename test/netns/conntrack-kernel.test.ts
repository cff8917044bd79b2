/**
 * @module The kernel's own conntrack table read by `bulkhead flows`: conntrack-tools' `conntrack`
 * watches namespace a (the client's, where the known traffic of traffic.ts passes: a TCP
 * connection over IPv4 and one over IPv6 with known payloads, a refused TCP connection, a UDP
 * exchange, ICMP and ICMPv6 echoes) with accounting and timestamps on (`nf_conntrack_acct`,
 * `nf_conntrack_timestamp`, both per namespace) and an nftables ruleset that makes it track.
 * The traffic runs twice: to b's own addresses, then to virtual addresses that a's output path
 * DNATs to b (`dnat to`, the TCP ports swapped as well, 8080 ↔ 8081), so that only the reply
 * tuple names the real server. A third run goes to b with accounting off (`nf_conntrack_acct=0`,
 * the kernel's default), where nothing is counted and only the TCP state (`CLOSE`, `[UNREPLIED]`)
 * says that a reset refused a connection. Each run is captured as events (`-E -o timestamp`, `-E -o
 * xml,ktimestamp`) and as listings (`-L -o extended,ktimestamp`, `-L -f ipv6`,
 * `/proc/net/nf_conntrack`), the table then flushed (which ends every connection with a
 * `[DESTROY]`). The expected flows come from the traffic (fixed ports, payloads, IP and
 * transport header sizes), never from Bulkhead's output.
 * Runs as root with `ip netns` and `conntrack`; skips with the reason otherwise, unless
 * BULKHEAD_REQUIRE_NETNS=1 (CI), where a missing capability fails the suite. Namespaces are
 * named `<prefix>-…`, prefix `bhct` or BULKHEAD_NETNS_PREFIX.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { cleanupLeftovers, createLab, type Lab } from './harness.js'
import { describeKernel } from './probe-check.js'
import {
  closed,
  exporterSupport,
  expectWithin,
  runTraffic,
  SERVER_JS,
  sleep,
  waitFor,
  type Line,
  PLANNED,
} from './traffic.js'

const PREFIX = process.env['BULKHEAD_NETNS_PREFIX'] ?? 'bhct'
const REPO = fileURLToPath(new URL('../..', import.meta.url))

const A4 = '10.83.0.1'
const B4 = '10.83.0.2'
const A6 = 'fd00:83::1'
const B6 = 'fd00:83::2'
/** The virtual addresses a's output path DNATs to b (same subnets: no route needed). */
const V4 = '10.83.9.9'
const V6 = 'fd00:83::99'

/**
 * Namespace a's ruleset: a `ct state` rule (conntrack tracks once a ruleset uses it) and the
 * DNAT of the virtual addresses to b, TCP 8080 ↔ 8081 swapped so that the port changes too.
 */
const RULESET = `table inet bhct {
  chain out {
    type filter hook output priority 0;
    ct state new counter
  }
  chain nat {
    type nat hook output priority -100;
    ip daddr ${V4} tcp dport 8080 dnat ip to ${B4}:8081
    ip daddr ${V4} dnat ip to ${B4}
    ip6 daddr ${V6} tcp dport 8081 dnat ip6 to [${B6}]:8080
    ip6 daddr ${V6} dnat ip6 to ${B6}
  }
}
`

const support = exporterSupport(PREFIX, [['conntrack', 'conntrack']])

/**
 * One run of the traffic: to b itself, or to the virtual addresses DNATed to b, or to b itself
 * with accounting off in a.
 */
type Run = 'direct' | 'dnat' | 'noacct'

/** What the client got in each run (the DNAT run's TCP connections reach the other port). */
const PLANNED_BY_RUN: Record<Run, Readonly<Record<string, unknown>>> = {
  direct: PLANNED,
  dnat: { ...PLANNED, tcp4: 2000, tcp6: 5000 },
  noacct: PLANNED,
}

/** The fields of a known flow that are exact, and the bounds of a TCP connection's octets. */
interface Known {
  src: string
  srcPort: number
  dst: string
  dstPort: number
  protocol: number
  observedAction: string
  packets?: number
  bytes?: number
  /**
   * TCP: payload both ways (1000 + 5000 or 2000 out and back; 300 + 2000 or 5000) and IP header
   * size; packets ≥ 7, octets payload + packets × (ip + 20..40).
   */
  tcp?: { payload: number; ip: number }
}

/**
 * The known connections of a run as the client's conntrack holds them: the real server (the
 * reply tuple's source) and its port; both directions counted, at IP level; ICMP's code (0) as
 * the source port and type as the destination port; one connection for the 3 (2) echoes of
 * one pinger (one ICMP id).
 */
function known(run: Run): Known[] {
  const swap = run === 'dnat'
  const flow = (
    src: string,
    ends: [srcPort: number, dst: string, dstPort: number, protocol: number],
    counted: Pick<Known, 'packets' | 'bytes' | 'tcp'>,
    observedAction = 'accept',
  ): Known => {
    const [srcPort, dst, dstPort, protocol] = ends
    return { src, srcPort, dst, dstPort, protocol, observedAction, ...counted }
  }
  return [
    flow(A4, [41001, B4, swap ? 8081 : 8080, 6], { tcp: { payload: swap ? 3000 : 6000, ip: 20 } }),
    flow(A6, [41002, B6, swap ? 8080 : 8081, 6], { tcp: { payload: swap ? 5300 : 2300, ip: 40 } }),
    // the SYN (20 IP + 40 TCP with Linux's options) and the RST-ACK (20 + 20): refused; the
    // kernel ends the connection at once, so only the events hold it
    flow(A4, [41003, B4, 9, 6], { packets: 2, bytes: 100 }, 'reject'),
    // 3 × (100 + 28) out, 3 × (50 + 28) back
    flow(A4, [40001, B4, 5300, 17], { packets: 6, bytes: 618 }),
    // 3 echoes and replies of 56 + 8 + 20 octets; 2 of 56 + 8 + 40
    flow(A4, [0, B4, 8, 1], { packets: 6, bytes: 504 }),
    flow(A6, [0, B6, 128, 58], { packets: 4, bytes: 416 }),
  ]
}

/** Asserts that `flows` are exactly the `want` connections, field by field. */
function expectKnown(flows: readonly Line[], want: readonly Known[], where: string): void {
  const key = (f: { protocol: number; srcPort: number; src: string }): string =>
    `${String(f.protocol)} ${f.src} ${String(f.srcPort)}`
  expect(flows.map(key).sort(), where).toEqual(want.map(key).sort())
  for (const w of want) {
    const f = flows.find((x) => key(x) === key(w))
    if (f === undefined) throw new Error(`${where}: no flow ${key(w)}`)
    const { tcp, ...exact } = w
    expect(f, `${where}: ${key(w)}`).toMatchObject({ ...exact, direction: 'client-to-server' })
    if (tcp !== undefined) {
      // SYN, SYN-ACK, ACK, data each way, FIN each way, ACKs
      expect(f.packets, `${where}: ${key(w)}`).toBeGreaterThanOrEqual(7)
      expect(f.bytes).toBeGreaterThanOrEqual(tcp.payload + f.packets * (tcp.ip + 20))
      expect(f.bytes).toBeLessThanOrEqual(tcp.payload + f.packets * (tcp.ip + 40))
    }
  }
}

describeKernel('conntrack (the kernel table: -E, -L, -o xml) → bulkhead flows', support, () => {
  let lab: Lab | undefined
  let dir = ''
  const children: ChildProcess[] = []
  const client: Partial<Record<Run, Record<string, unknown>>> = {}
  /** The traffic's span per run, ms: from before the first packet to after the flush. */
  const span: Partial<Record<Run, [number, number]>> = {}
  const acct: string[] = []

  /**
   * Runs `conntrack ...args` in a (TZ=UTC: its ctime() stamps are then UTC) into `file`, its
   * standard error after its output (`2>&1`: a listing's closing summary line).
   */
  const conntrack = (args: readonly string[], file: string): ChildProcess => {
    const c = spawn('ip', ['netns', 'exec', lab?.ns.get('a') ?? '', 'conntrack', ...args], {
      env: { ...process.env, TZ: 'UTC' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.push(c)
    let out = ''
    let err = ''
    c.stdout.on('data', (d: Buffer) => (out += d.toString()))
    c.stderr.on('data', (d: Buffer) => (err += d.toString()))
    c.on('close', () => writeFileSync(path.join(dir, file), out + err))
    return c
  }
  /** `conntrack ...args` in a, to its end (5 s at most), written to `file`. */
  const listOnce = (args: readonly string[], file: string): Promise<void> =>
    closed(conntrack(args, file), 5000, 'conntrack')

  /** One run: events watched, the traffic, the listings, the flush that ends every connection. */
  const capture = async (run: Run, b4: string, b6: string): Promise<void> => {
    if (lab === undefined) throw new Error('no lab')
    const events = [
      conntrack(['-E', '-o', 'timestamp'], `${run}-events.txt`),
      conntrack(['-E', '-o', 'xml,ktimestamp'], `${run}-events.xml`),
    ]
    // the event listeners subscribe at start and print nothing before the first event
    await sleep(1000)
    const t0 = Date.now()
    client[run] = await runTraffic(lab, b4, b6)
    await sleep(200)
    await listOnce(['-L', '-o', 'extended,ktimestamp'], `${run}-listing.txt`)
    await listOnce(['-L', '-f', 'ipv6'], `${run}-listing6.txt`)
    writeFileSync(
      path.join(dir, `${run}-proc.txt`),
      await lab.exec('a', ['cat', '/proc/net/nf_conntrack']),
    )
    await lab.exec('a', ['conntrack', '-F'])
    await sleep(500)
    for (const e of events) e.kill('SIGTERM')
    await Promise.all(events.map((e) => closed(e, 5000, 'conntrack')))
    span[run] = [t0, Date.now()]
  }

  beforeAll(async () => {
    cleanupLeftovers(PREFIX)
    dir = mkdtempSync(path.join(tmpdir(), `${PREFIX}-`))
    lab = await createLab(PREFIX, [
      { name: 'a', addresses: [A4, A6] },
      { name: 'b', addresses: [B4, B6] },
    ])
    await lab.apply('a', RULESET)
    // per namespace (the host's stay as they are); counters are kept from a connection's start
    await lab.exec('a', [
      'sysctl',
      '-w',
      'net.netfilter.nf_conntrack_acct=1',
      'net.netfilter.nf_conntrack_timestamp=1',
    ])
    acct.push(
      await lab.exec('a', [
        'sysctl',
        '-n',
        'net.netfilter.nf_conntrack_acct',
        'net.netfilter.nf_conntrack_timestamp',
      ]),
    )
    const server = spawn(
      'ip',
      [
        'netns',
        'exec',
        lab.ns.get('b') ?? '',
        process.execPath,
        '--input-type=module',
        '-e',
        SERVER_JS,
        JSON.stringify([B4, B6]),
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    )
    children.push(server)
    await waitFor(server, 'stdout', /ready/, 5000)
    await capture('direct', B4, B6)
    await capture('dnat', V4, V6)
    // off again, as the kernel has it by default: connections from now on count nothing
    await lab.exec('a', ['sysctl', '-w', 'net.netfilter.nf_conntrack_acct=0'])
    acct.push(await lab.exec('a', ['sysctl', '-n', 'net.netfilter.nf_conntrack_acct']))
    await capture('noacct', B4, B6)
    server.kill('SIGTERM')
  }, 90_000)

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL')
    await lab?.destroy()
    if (dir !== '') rmSync(dir, { recursive: true, force: true })
    cleanupLeftovers(PREFIX)
  })

  /** `bulkhead flows FILE -o jsonl`: the flows and what it wrote on stderr. */
  const read = (file: string): { flows: Line[]; stderr: string } => {
    const out = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'flows', path.join(dir, file), '-o', 'jsonl'],
      { cwd: REPO, encoding: 'utf8', timeout: 20_000 },
    )
    expect(out.status, out.stderr).toBe(0)
    const flows = out.stdout
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Line)
    return { flows, stderr: out.stderr }
  }

  it('the traffic went as planned, with accounting and timestamps on in a (accounting off for noacct)', () => {
    expect(acct).toEqual(['1\n1\n', '0\n'])
    expect(client).toEqual(PLANNED_BY_RUN)
  })

  for (const run of ['direct', 'dnat'] as const) {
    const dnat = run === 'dnat' ? ' (the real server from the reply tuple)' : ''

    it(`${run}: conntrack -E -o timestamp, one flow per connection, every field${dnat}`, () => {
      const { flows, stderr } = read(`${run}-events.txt`)
      expectKnown(flows, known(run), `${run} events`)
      const [t0, t1] = span[run] ?? [0, 0]
      expectWithin(flows, t0, t1)
      // the refused connection is one instant: its NEW and DESTROY a few µs apart as the kernel
      // sends them; `-o timestamp` is when conntrack read each event, 3 ms apart once in a full
      // test run at load 2-4 (session 37)
      const refused = flows.find((f) => f.srcPort === 41003)
      const lasted = Date.parse(refused?.end ?? '') - Date.parse(refused?.start ?? '')
      expect(lasted, `${refused?.start ?? '?'} – ${refused?.end ?? '?'}`).toBeGreaterThanOrEqual(0)
      expect(lasted).toBeLessThan(250)
      expect(stderr).toMatch(/refused-by-reset 1\b/)
      // every event line of a DNATed connection notes dnat
      if (run === 'dnat') expect(stderr).toMatch(/\bdnat \d+/)
      else expect(stderr).not.toMatch(/\bdnat\b/)
    })

    it(`${run}: conntrack -E -o xml,ktimestamp, the kernel's start and stop${dnat}`, () => {
      const { flows, stderr } = read(`${run}-events.xml`)
      // the XML printer writes no ICMP type: the echoes are read as echo requests, which they are
      expectKnown(flows, known(run), `${run} xml events`)
      const [t0, t1] = span[run] ?? [0, 0]
      expectWithin(flows, t0, t1)
      expect(stderr).toMatch(/icmp-type-assumed-echo \d+/)
      // only the destroy events have a <timestamp>; every connection has one (the flush)
      expect(stderr).not.toMatch(/skipped|time-from-file/)
    })

    it(`${run}: conntrack -L -o extended,ktimestamp, the connections still in the table${dnat}`, () => {
      const { flows, stderr } = read(`${run}-listing.txt`)
      // the refused connection ended before the listing; [start=] (UTC here) to the second
      expectKnown(
        flows,
        known(run).filter((k) => k.srcPort !== 41003),
        `${run} listing`,
      )
      const [t0, t1] = span[run] ?? [0, 0]
      expectWithin(flows, t0, t1)
      expect(stderr).toMatch(/summary-line 1\b/)
    })

    it(`${run}: /proc/net/nf_conntrack (IPv6 written in full), timed by the file${dnat}`, () => {
      const { flows } = read(`${run}-proc.txt`)
      expectKnown(
        flows,
        known(run).filter((k) => k.srcPort !== 41003),
        `${run} /proc/net/nf_conntrack`,
      )
      const [t0, t1] = span[run] ?? [0, 0]
      expectWithin(flows, t0, t1)
    })

    it(`${run}: conntrack -L -f ipv6, the IPv6 connections, timed by the file${dnat}`, () => {
      const { flows } = read(`${run}-listing6.txt`)
      expectKnown(
        flows,
        known(run).filter((k) => k.src === A6),
        `${run} ipv6 listing`,
      )
      const [t0, t1] = span[run] ?? [0, 0]
      expectWithin(flows, t0, t1)
    })
  }

  // accounting off: no counters anywhere; the refused connection's DESTROY prints CLOSE and
  // [UNREPLIED], which alone says that a reset refused it
  const uncounted = (): Known[] =>
    known('direct').map(({ packets: _p, bytes: _b, tcp: _t, ...exact }) => exact)

  for (const [file, what] of [
    ['noacct-events.txt', 'conntrack -E -o timestamp'],
    ['noacct-events.xml', 'conntrack -E -o xml,ktimestamp'],
  ] as const) {
    it(`noacct: ${what} without nf_conntrack_acct, the refused connection from its CLOSE state`, () => {
      const { flows, stderr } = read(file)
      expectKnown(flows, uncounted(), `noacct ${what}`)
      expect(flows.map((f) => [f.packets, f.bytes])).toEqual(flows.map(() => [0, 0]))
      const [t0, t1] = span.noacct ?? [0, 0]
      expectWithin(flows, t0, t1)
      expect(stderr).toMatch(/refused-by-reset 1\b/)
      expect(stderr).toMatch(/counters-not-logged 6\b/)
    })
  }
})
