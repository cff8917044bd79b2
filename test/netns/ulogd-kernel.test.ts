/**
 * @module ulogd2 (Debian's 2.0.8) against Bulkhead: ulogd's NFCT input reads the conntrack events
 * of namespace a (the client's, where the known traffic of traffic.ts passes: a TCP connection
 * over IPv4 and one over IPv6 with known payloads, a refused TCP connection, a UDP exchange, ICMP
 * and ICMPv6 echoes), with accounting and timestamps on (`nf_conntrack_acct`,
 * `nf_conntrack_timestamp`, per namespace) and an nftables `ct state` rule that makes conntrack
 * track. One ulogd, run in the foreground in a with a generated configuration, has four stacks:
 * NFCT → IP2BIN → IPFIX to a `bulkhead collect` on a's loopback over UDP, the same over TCP, NFCT →
 * XML (libnetfilter_conntrack's XML, as `conntrack -o xml` writes it) to a file, and NFCT → IP2STR
 * → PRINTFLOW → LOGEMU to a file. The table is flushed after the traffic, which ends every
 * connection (NFCT writes a connection when it is destroyed). The expected flows come from the
 * traffic (fixed ports, payloads, IP and transport header sizes), never from Bulkhead's output.
 *
 * Runs as root with `ip netns`, ulogd and python3; skips with the reason otherwise, unless
 * BULKHEAD_REQUIRE_NETNS=1 (CI), where a missing capability fails the suite. Namespaces are named
 * `<prefix>-…`, prefix `bhul` or BULKHEAD_NETNS_PREFIX; ulogd and the collectors are killed and
 * every namespace deleted in afterAll, also when a test failed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { cleanupLeftovers, createLab, type Lab } from './harness.js'
import { describeKernel } from './probe-check.js'
import {
  closed,
  collectArgv,
  collected,
  exporterSupport,
  expectWithin,
  runTraffic,
  SERVER_JS,
  sleep,
  waitFor,
  type Line,
  PLANNED,
} from './traffic.js'

const PREFIX = process.env['BULKHEAD_NETNS_PREFIX'] ?? 'bhul'
const REPO = fileURLToPath(new URL('../..', import.meta.url))
const PLUGINS = '/usr/lib/x86_64-linux-gnu/ulogd'

const A4 = '10.86.0.1'
const B4 = '10.86.0.2'
const A6 = 'fd00:86::1'
const B6 = 'fd00:86::2'
/** What ulogd 2.0.8's IPFIX writes for fd00:86::1 and ::2 alike: their first 4 octets fd 00 00 86. */
const V6_CUT = '253.0.0.134'
const UDP_PORT = 29_086
const TCP_PORT = 29_087

const support = ((): { ok: true } | { ok: false; reason: string } => {
  const s = exporterSupport(PREFIX, [
    ['ulogd', 'ulogd2'],
    ['conntrack', 'conntrack'],
  ])
  if (s.ok && !existsSync(path.join(PLUGINS, 'ulogd_output_IPFIX.so')))
    return { ok: false, reason: `no ${PLUGINS}/ulogd_output_IPFIX.so (Debian package ulogd2)` }
  return s
})()

/** a's ruleset: conntrack tracks once a ruleset uses it. */
const RULESET = `table inet bhul {
  chain out {
    type filter hook output priority 0;
    ct state new counter
  }
}
`

/**
 * ulogd's configuration: every stack's NFCT takes only connections from the lab's subnets (not
 * the IPFIX export's own on the loopback), its log at level 1 into `dir`.
 */
function config(dir: string): string {
  const plugins = [
    'inpflow_NFCT',
    'filter_IP2BIN',
    'filter_IP2STR',
    'filter_PRINTFLOW',
    'output_IPFIX',
    'output_XML',
    'output_LOGEMU',
  ]
  const filter = `accept_src_filter=${A4}/16,${A6}/64`
  return `[global]
logfile="${path.join(dir, 'ulogd.log')}"
loglevel=1
${plugins.map((p) => `plugin="${PLUGINS}/ulogd_${p}.so"`).join('\n')}
stack=ct1:NFCT,ip2bin1:IP2BIN,ipfixu:IPFIX
stack=ct2:NFCT,ip2bin2:IP2BIN,ipfixt:IPFIX
stack=ct3:NFCT,xml1:XML
stack=ct4:NFCT,ip2str1:IP2STR,print1:PRINTFLOW,emu1:LOGEMU
[ct1]
${filter}
[ct2]
${filter}
[ct3]
${filter}
[ct4]
${filter}
[ipfixu]
oid=86
host="127.0.0.1"
port=${String(UDP_PORT)}
proto="udp"
[ipfixt]
oid=87
host="127.0.0.1"
port=${String(TCP_PORT)}
proto="tcp"
[xml1]
directory="${path.join(dir, 'xml')}"
sync=1
[emu1]
file="${path.join(dir, 'emu.log')}"
sync=1
`
}

/** 40 datagrams of 10 octets from a, each from its own port (42000…42039), to b's UDP 9999. */
const FILLER_PY = String.raw`
import json, socket, sys
a, b = json.loads(sys.argv[1])
for i in range(40):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a, 42000 + i))
    s.sendto(b'f' * 10, (b, 9999))
    s.close()
`

/**
 * The counters of the known connections, both directions in one at IP level (conntrack's): the
 * echoes' 3 × 2 packets of 84 octets and 2 × 2 of 104, UDP's 3 × 128 + 3 × 78, the refused
 * connection's SYN (60) and RST (40); the whole TCP connections at least 7 packets, their payload
 * (1000 + 5000, 300 + 2000) and per packet an IP header (20, 40) and a TCP one of 20–40 octets.
 */
function expectCounted(flows: readonly Line[]): void {
  expect(
    flows.filter((f) => f.protocol !== 6 || f.srcPort === 41003).map((f) => [f.packets, f.bytes]),
  ).toEqual([
    [6, 504],
    [4, 416],
    [6, 618],
    [2, 100],
  ])
  for (const [port, payload, ip] of [
    [41001, 6000, 20],
    [41002, 2300, 40],
  ] as const) {
    const f = flows.find((x) => x.srcPort === port)
    if (f === undefined) throw new Error(`no flow from ${String(port)}`)
    expect(f.packets).toBeGreaterThanOrEqual(7)
    expect(f.bytes).toBeGreaterThanOrEqual(payload + f.packets * (ip + 20))
    expect(f.bytes).toBeLessThanOrEqual(payload + f.packets * (ip + 40))
  }
}

describeKernel('ulogd2 (NFCT → IPFIX over UDP and TCP, XML, LOGEMU) → bulkhead', support, () => {
  let lab: Lab | undefined
  let dir = ''
  const children: ChildProcess[] = []
  let client: Record<string, unknown> = {}
  let span = { t0: 0, t1: 0 }
  const got = new Map<'udp' | 'tcp', { flows: Line[]; stderr: string }>()

  beforeAll(async () => {
    cleanupLeftovers(PREFIX)
    dir = mkdtempSync(path.join(tmpdir(), `${PREFIX}-`))
    mkdirSync(path.join(dir, 'xml'))
    writeFileSync(path.join(dir, 'ulogd.conf'), config(dir))
    lab = await createLab(PREFIX, [
      { name: 'a', addresses: [A4, A6] },
      { name: 'b', addresses: [B4, B6] },
    ])
    const nsA = lab.ns.get('a') ?? ''
    await lab.apply('a', RULESET)
    await lab.exec('a', [
      'sysctl',
      '-w',
      'net.netfilter.nf_conntrack_acct=1',
      'net.netfilter.nf_conntrack_timestamp=1',
    ])
    const inA = (argv: string[], cwd?: string): ChildProcess => {
      const c = spawn('ip', ['netns', 'exec', nsA, ...argv], {
        cwd,
        stdio: ['pipe', 'pipe', 'pipe'],
      })
      children.push(c)
      return c
    }
    const collect = (listen: string) => {
      const c = inA(collectArgv(listen, 40), REPO)
      return { c, done: collected(c) }
    }
    const udp = collect(`udp://127.0.0.1:${String(UDP_PORT)}`)
    const tcp = collect(`tcp://127.0.0.1:${String(TCP_PORT)}`)
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
    await Promise.all([
      waitFor(udp.c, 'stderr', /listening on/, 10_000),
      waitFor(tcp.c, 'stderr', /listening on/, 10_000),
      waitFor(server, 'stdout', /ready/, 5000),
    ])
    const ulogd = inA(['env', 'TZ=UTC', 'ulogd', '-c', path.join(dir, 'ulogd.conf')])
    let ulogdOut = ''
    ulogd.stdout?.on('data', (d: Buffer) => (ulogdOut += d.toString()))
    ulogd.stderr?.on('data', (d: Buffer) => (ulogdOut += d.toString()))
    // ulogd logs the end of its start-up to its log file
    for (let i = 0; !readLog(dir).includes('entering main loop'); i++) {
      if (i >= 50) throw new Error(`ulogd did not start: ${ulogdOut} ${readLog(dir)}`)
      await sleep(100)
    }
    await sleep(300)
    const t0 = Date.now()
    client = await runTraffic(lab, B4, B6)
    await sleep(200)
    // every connection ends now: NFCT writes each at its DESTROY event
    await lab.exec('a', ['conntrack', '-F'])
    const t1 = Date.now()
    span = { t0, t1 }
    await sleep(1500)
    // ulogd 2.0.8's IPFIX sends a message when the next record does not fit (MTU 512: 13 records)
    // and once from its 1-s timer: the connections of FILLER_PY push the known ones out
    await lab.exec('a', ['python3', '-c', FILLER_PY, JSON.stringify([A4, B4])])
    await lab.exec('a', ['conntrack', '-F'])
    await sleep(1500)
    ulogd.kill('SIGTERM')
    await closed(ulogd, 5000, 'ulogd')
    await sleep(500)
    for (const c of [udp.c, tcp.c]) c.kill('SIGTERM')
    got.set('udp', await udp.done)
    got.set('tcp', await tcp.done)
    server.kill('SIGTERM')
  }, 60_000)

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL')
    await lab?.destroy()
    if (dir !== '') rmSync(dir, { recursive: true, force: true })
    cleanupLeftovers(PREFIX)
  })

  /** `bulkhead flows FILE -o jsonl`: its exit status, the flows and what it wrote on stderr. */
  const read = (file: string): { status: number | null; flows: Line[]; stderr: string } => {
    const out = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'flows', file, '-o', 'jsonl'],
      { cwd: REPO, encoding: 'utf8', timeout: 20_000 },
    )
    const flows = out.stdout
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Line)
    return { status: out.status, flows, stderr: out.stderr }
  }
  /** The known connections: every flow but the fillers' (to UDP 9999). */
  const known = (flows: readonly Line[]): Line[] => flows.filter((f) => f.dstPort !== 9999)
  /** The fields that are exact, by source port. */
  const exact = (f: Line) => [f.src, f.srcPort, f.dst, f.dstPort, f.protocol, f.direction]

  it('the traffic went as planned', () => {
    expect(client).toEqual(PLANNED)
  })

  for (const proto of ['udp', 'tcp'] as const) {
    it(`IPFIX over ${proto.toUpperCase()}: one flow per connection, both directions counted, IPv6 addresses cut to their first 32 bits by ulogd`, () => {
      const out = got.get(proto)
      if (out === undefined) throw new Error('no flows collected')
      const flows = known(out.flows).sort(
        (x, y) => x.srcPort - y.srcPort || x.protocol - y.protocol,
      )
      // ulogd 2.0.8's template has IPv4 addresses only and writes the first 4 octets of an IPv6
      // one (fd00:86:: → 253.0.0.134); ICMP has no type or code (its ports are 0), read as an echo
      // request whose direction is unknown; no TCP flags or state: nothing is refused
      expect(flows.map(exact)).toEqual([
        [A4, 0, B4, 8, 1, 'unknown'],
        [V6_CUT, 0, V6_CUT, 128, 58, 'unknown'],
        [A4, 40001, B4, 5300, 17, 'client-to-server'],
        [A4, 41001, B4, 8080, 6, 'client-to-server'],
        [V6_CUT, 41002, V6_CUT, 8081, 6, 'client-to-server'],
        [A4, 41003, B4, 9, 6, 'client-to-server'],
      ])
      expect(flows.map((f) => f.observedAction)).toEqual(flows.map(() => 'unknown'))
      // packets and octets of both directions in one
      expectCounted(flows)
      // flowStartSeconds / flowEndSeconds: whole seconds
      expectWithin(flows, span.t0, span.t1)
      expect(out.stderr).toMatch(/icmp-type-assumed-echo=2\b/)
      // ulogd numbers a message with its own records counted in: nothing is missing
      expect(out.stderr).not.toMatch(/missing/)
    })
  }

  it("XML (libnetfilter_conntrack's, as conntrack -o xml): every field, the refusal from the CLOSE state", () => {
    const files = readdirSync(path.join(dir, 'xml'))
    expect(files).toHaveLength(1)
    const { status, flows: all, stderr } = read(path.join(dir, 'xml', files[0] ?? ''))
    expect(status, stderr).toBe(0)
    const flows = known(all).sort((x, y) => x.srcPort - y.srcPort || x.protocol - y.protocol)
    expect(flows.map(exact)).toEqual([
      [A4, 0, B4, 8, 1, 'client-to-server'],
      [A6, 0, B6, 128, 58, 'client-to-server'],
      [A4, 40001, B4, 5300, 17, 'client-to-server'],
      [A4, 41001, B4, 8080, 6, 'client-to-server'],
      [A6, 41002, B6, 8081, 6, 'client-to-server'],
      [A4, 41003, B4, 9, 6, 'client-to-server'],
    ])
    expect(flows.map((f) => f.observedAction)).toEqual([
      'accept',
      'accept',
      'accept',
      'accept',
      'accept',
      'reject',
    ])
    expectCounted(flows)
    // <when> (the event's local time, UTC here: TZ=UTC) less <deltatime> (seconds)
    expectWithin(flows, span.t0, span.t1)
    expect(stderr).toMatch(/refused-by-reset 1\b/)
    expect(stderr).toMatch(/icmp-type-assumed-echo 2\b/)
  })

  it('LOGEMU with PRINTFLOW: a text that Bulkhead does not read (ingest/unknown-format)', () => {
    const { status, flows, stderr } = read(path.join(dir, 'emu.log'))
    expect(readFileSync(path.join(dir, 'emu.log'), 'utf8')).toMatch(
      /\[DESTROY\] ORIG: SRC=10\.86\.0\.1 DST=10\.86\.0\.2 PROTO=TCP SPT=41003 DPT=9 PKTS=1 BYTES=60 , REPLY: /,
    )
    expect([status, flows]).toEqual([1, []])
    expect(stderr).toMatch(/ingest\/unknown-format/)
  })
})

function readLog(dir: string): string {
  try {
    return readFileSync(path.join(dir, 'ulogd.log'), 'utf8')
  } catch {
    return ''
  }
}
