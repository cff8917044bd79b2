/**
 * @module Real exporters against `bulkhead collect`: softflowd (NetFlow v9, then IPFIX), pmacct's
 * nfprobe plugin (pmacctd: v5, v9, then IPFIX) and fprobe (v1, v5, then v7), each in turn, watch
 * the veth of one network namespace and export to `bulkhead collect --listen 127.0.0.1:PORT` running in the same
 * namespace, while this test makes known traffic to a second namespace: a TCP connection over IPv4
 * and one over IPv6 with known payloads, a refused TCP connection, a UDP exchange and ICMP /
 * ICMPv6 echoes (python3 on a raw socket). The expected flows come from that traffic (fixed ports,
 * payload sizes, IP and transport header sizes), never from Bulkhead's output. softflowd captures
 * with libpcap without immediate mode, so on a quiet link it leaves packets in the capture ring
 * until a block fills: a burst of filler datagrams (to a port of their own, left out of the
 * checks) flushes them before `softflowctl expire-all` exports every flow; pmacctd and fprobe
 * export every flow they hold at SIGTERM (their timeouts set long, so nothing is exported before),
 * except in pmacctd's "rich" runs, which aggregate every primitive nfprobe exports (pmacct's own
 * enterprise elements in IPFIX), announce a sampling rate of 2 (pmacctd_ext_sampling_rate: the
 * capture is not thinned, so counts stay exact) and export each flow when its short timeout expires.
 * Runs as root with `ip netns` and each exporter; skips an exporter with the reason otherwise,
 * unless BULKHEAD_REQUIRE_NETNS=1 (CI), where a missing capability fails the suite. Namespaces are
 * named `<prefix>-…`, prefix `bhsflow` or BULKHEAD_NETNS_PREFIX.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { cleanupLeftovers, createLab, type Lab } from './harness.js'
import { describeKernel } from './probe-check.js'
import {
  expectRefused,
  expectTcp,
  expectWithin,
  exporterSupport,
  oneFrom,
  runClient,
  runTraffic,
  SERVER_JS,
  collectArgv,
  sleep,
  waitFor,
  type Line,
  PLANNED,
  expectEchoes,
} from './traffic.js'

const PREFIX = process.env['BULKHEAD_NETNS_PREFIX'] ?? 'bhsflow'
const REPO = fileURLToPath(new URL('../..', import.meta.url))

/** The exporters run: softflowd, pmacct's nfprobe plugin (pmacctd), fprobe. */
type Exporter =
  | { kind: 'softflowd'; version: 9 | 10 }
  | { kind: 'pmacct'; version: 5 | 9 | 10; rich?: true }
  | { kind: 'fprobe'; version: 1 | 5 | 7 }

/** Each exporter's binaries and Debian package. */
const BINARIES: Record<Exporter['kind'], { bins: string[]; pkg: string }> = {
  softflowd: { bins: ['softflowd', 'softflowctl'], pkg: 'softflowd' },
  pmacct: { bins: ['pmacctd'], pkg: 'pmacct' },
  fprobe: { bins: ['fprobe'], pkg: 'fprobe' },
}

const supportOf = (kind: Exporter['kind']): { ok: true } | { ok: false; reason: string } => {
  const { bins, pkg } = BINARIES[kind]
  return exporterSupport(
    PREFIX,
    bins.map((b) => [b, pkg] as const),
  )
}

const A4 = '10.78.0.1'
const B4 = '10.78.0.2'
const A6 = 'fd00:78::1'
const B6 = 'fd00:78::2'
const PORT = 29_055

/** The capture filter of every exporter: the traffic to and from b. */
const FILTER = `host ${B4} or host ${B6}`

/**
 * Runs one export: collect and the exporter in a, the server in b, the traffic, the filler
 * (softflowd: until it has processed the known packets, then expire-all; pmacct and fprobe:
 * once, then SIGTERM, on which both export every flow they hold); returns collect's flows.
 */
async function exportOnce(
  lab: Lab,
  exporter: Exporter,
): Promise<{
  flows: Line[]
  t0: number
  t1: number
  client: Record<string, unknown>
  summary: string
}> {
  const version = exporter.version
  const nsA = lab.ns.get('a') ?? ''
  const nsB = lab.ns.get('b') ?? ''
  const dir = mkdtempSync(path.join(tmpdir(), `${PREFIX}-${exporter.kind}${String(version)}-`))
  const ctl = path.join(dir, 'ctl')
  const children: ChildProcess[] = []
  const inNs = (ns: string, argv: string[], cwd?: string): ChildProcess => {
    const c = spawn('ip', ['netns', 'exec', ns, ...argv], { cwd, stdio: ['pipe', 'pipe', 'pipe'] })
    children.push(c)
    return c
  }
  const softflowctl = async (cmd: string): Promise<string> =>
    lab.exec('a', ['softflowctl', '-c', ctl, cmd], 5000)
  try {
    const collect = inNs(nsA, collectArgv(PORT), REPO)
    let out = ''
    let summary = ''
    collect.stdout?.on('data', (d: Buffer) => (out += d.toString()))
    collect.stderr?.on('data', (d: Buffer) => (summary += d.toString()))
    const listening = waitFor(collect, 'stderr', /listening on/, 10_000)
    const receiver = `127.0.0.1:${String(PORT)}`
    let exporterStarted: Promise<void>
    let sf: ChildProcess
    if (exporter.kind === 'softflowd') {
      sf = inNs(nsA, [
        'softflowd',
        '-d',
        '-i',
        'eth0',
        '-v',
        String(version),
        '-B',
        '65536',
        '-c',
        ctl,
        '-p',
        path.join(dir, 'pid'),
        '-n',
        receiver,
        FILTER,
      ])
      exporterStarted = Promise.resolve()
    } else if (exporter.kind === 'pmacct') {
      const conf = path.join(dir, 'pmacctd.conf')
      const common = ['daemonize: false', 'pcap_interface: eth0', `pcap_filter: ${FILTER}`]
      if (exporter.rich) {
        // every primitive nfprobe exports beside the defaults (MACs, VLANs, masks, AS numbers,
        // interfaces, direction, and pmacct's own elements, PEN 43874: tag, tag2, and the label
        // as a variable-length field), and short timeouts: each flow is exported when it expires
        const map = path.join(dir, 'pretag.map')
        writeFileSync(map, `set_label=blue filter='${FILTER}'\n`)
        writeFileSync(
          conf,
          [
            ...common,
            `pre_tag_map: ${map}`,
            'plugins: nfprobe[bh]',
            `nfprobe_receiver[bh]: ${receiver}`,
            `nfprobe_version[bh]: ${String(version)}`,
            'nfprobe_timeouts[bh]: tcp=2:tcp.rst=2:tcp.fin=2:udp=2:icmp=2:general=2:maxlife=60:expint=1',
            'aggregate[bh]: src_mac, dst_mac, vlan, src_host, dst_host, src_port, dst_port, proto, tos, tcpflags, in_iface, out_iface, tag, tag2, label, src_as, dst_as, src_mask, dst_mask',
            'nfprobe_direction[bh]: in',
            'nfprobe_ifindex[bh]: 7',
            // the capture said to be sampled 1 in 2 (nothing is dropped): v5's header
            // sampling_interval, v9/IPFIX options data (flowSamplerId, samplerRandomInterval)
            'pmacctd_ext_sampling_rate: 2',
            '',
          ].join('\n'),
        )
      } else
        writeFileSync(
          conf,
          [
            ...common,
            'plugins: nfprobe',
            `nfprobe_receiver: ${receiver}`,
            `nfprobe_version: ${String(version)}`,
            // long timeouts: every flow is exported at the SIGTERM, whole
            'nfprobe_timeouts: tcp=60:tcp.rst=60:tcp.fin=60:udp=60:icmp=60:general=60:maxlife=120',
            '',
          ].join('\n'),
        )
      sf = inNs(nsA, ['pmacctd', '-f', conf])
      exporterStarted = waitFor(sf, 'stderr', /Exporting flows to/, 10_000)
    } else {
      // fprobe: -l 2 logs to stdout (block-buffered in a pipe, so not waited for) and stays in
      // the foreground; long idle (-d) and active (-e) timeouts, so that every flow is exported
      // at the SIGTERM ("Emitting flows cache")
      sf = inNs(nsA, [
        'fprobe',
        '-i',
        'eth0',
        '-f',
        FILTER,
        '-l',
        '2',
        '-d',
        '60',
        '-e',
        '120',
        '-n',
        String(version),
        receiver,
      ])
      exporterStarted = sleep(1000)
    }
    const server = inNs(nsB, [
      process.execPath,
      '--input-type=module',
      '-e',
      SERVER_JS,
      JSON.stringify([B4, B6]),
    ])
    await Promise.all([listening, exporterStarted, waitFor(server, 'stdout', /ready/, 5000)])
    // softflowd answers its control socket once it captures; pmacctd opens its capture just
    // after the line waited for
    if (exporter.kind === 'pmacct') await sleep(500)
    for (let i = 0; exporter.kind === 'softflowd'; i++) {
      const ok = await softflowctl('statistics').then(
        () => true,
        () => false,
      )
      if (ok) break
      if (i >= 30 || sf.exitCode !== null) throw new Error('softflowd did not start')
      await sleep(100)
    }
    const client = (what: string, n = 0): Promise<string> => runClient(lab, what, B4, B6, n)
    const t0 = Date.now()
    const result = await runTraffic(lab, B4, B6)
    const t1 = Date.now()
    if (exporter.kind === 'softflowd') {
      // flush the capture ring until softflowd has processed the known packets (about 35)
      for (let i = 0; ; i++) {
        await client('filler', 3000)
        const stats = await softflowctl('statistics')
        const processed = Number(/Packets processed: (\d+)/.exec(stats)?.[1] ?? 0)
        if (processed > 1000) break
        if (i >= 2) throw new Error(`softflowd processed ${String(processed)} packets:\n${stats}`)
      }
      await softflowctl('expire-all')
    } else if (!(exporter.kind === 'pmacct' && exporter.rich)) {
      await client('filler', 3000)
      await sleep(300)
      sf.kill('SIGTERM')
    }
    // the known flows (four over IPv4 only in v1, v5 and v7) are paired at once (both directions
    // in one export: nfprobe, like softflowd, keeps both in one flow and expires them together);
    // the filler waits; the rich pmacct run's flows come once they expire (2 s idle, checked
    // every second), so the wait is bounded at 15 s
    const want = version < 9 ? 4 : 6
    const known = (): number =>
      out
        .split('\n')
        .filter(
          (l) =>
            l.includes('"srcPort":4100') ||
            l.includes('"srcPort":40001') ||
            /"dstPort":(8,"protocol":1|128,"protocol":58),/.test(l),
        ).length
    for (let i = 0; known() < want && i < 150; i++) await sleep(100)
    collect.kill('SIGTERM')
    await new Promise((r) => collect.once('close', r))
    const flows = out
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Line)
    return { flows, t0, t1, client: result, summary }
  } finally {
    for (const c of children) c.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Each exporter's runs, one per version (NetFlow v1, v5, v7, v9; 10 is IPFIX). */
const PLAN: { title: string; kind: Exporter['kind']; versions: number[]; rich?: true }[] = [
  { title: 'softflowd (NetFlow v9, IPFIX)', kind: 'softflowd', versions: [9, 10] },
  { title: "pmacct's nfprobe (NetFlow v5, v9, IPFIX)", kind: 'pmacct', versions: [5, 9, 10] },
  {
    title: "pmacct's nfprobe with its own elements, sampled, on timeouts (NetFlow v5, v9, IPFIX)",
    kind: 'pmacct',
    versions: [5, 9, 10],
    rich: true,
  },
  { title: 'fprobe (NetFlow v1, v5, v7)', kind: 'fprobe', versions: [1, 5, 7] },
]
const RUNS = PLAN.map(({ title, kind, versions, rich }) => ({
  title,
  kind,
  exporters: versions.map((version) => ({ kind, version, ...(rich && { rich }) }) as Exporter),
}))

for (const run of RUNS)
  describeKernel(`${run.title} on a veth → bulkhead collect`, supportOf(run.kind), () => {
    let lab: Lab | undefined
    beforeAll(async () => {
      cleanupLeftovers(PREFIX)
      lab = await createLab(PREFIX, [
        { name: 'a', addresses: [A4, A6] },
        { name: 'b', addresses: [B4, B6] },
      ])
    }, 20_000)
    afterAll(async () => {
      await lab?.destroy()
      cleanupLeftovers(PREFIX)
    })

    for (const exporter of run.exporters) {
      const { version } = exporter
      const rich =
        exporter.kind === 'pmacct' && exporter.rich ? ' (own elements, sampled, timeouts)' : ''
      it(`${exporter.kind} NetFlow ${version === 10 ? 'IPFIX' : `v${String(version)}`}${rich}: every known connection is one client→server flow with its packets and octets`, async () => {
        if (lab === undefined) throw new Error('no lab')
        const { flows, t0, t1, client, summary } = await exportOnce(lab, exporter)
        // the traffic itself went as planned
        expect(client).toEqual(PLANNED)
        // every record came in the version asked for
        expect(new Set(flows.map((f) => f.source?.format))).toEqual(
          new Set([version === 10 ? 'ipfix' : `netflow-v${String(version)}`]),
        )
        const by = (srcPort: number): Line => oneFrom(flows, srcPort)
        // NetFlow v1, v5 and v7 carry IPv4 only: the IPv6 connection is not exported
        const v4Only = version < 9
        expect(flows.filter((x) => x.srcPort === 41002)).toHaveLength(v4Only ? 0 : 1)
        const tcp4 = by(41001)
        const tcp6 = v4Only ? undefined : by(41002)
        const refused = by(41003)
        const udp = by(40001)
        const all = [tcp4, ...(tcp6 ? [tcp6] : []), refused, udp]
        // ends, ports and protocol as the client made them; both directions in one flow
        expect(
          all.map((f) => [f.src, f.srcPort, f.dst, f.dstPort, f.protocol, f.direction]),
        ).toEqual([
          [A4, 41001, B4, 8080, 6, 'client-to-server'],
          ...(v4Only ? [] : [[A6, 41002, B6, 8081, 6, 'client-to-server']]),
          [A4, 41003, B4, 9, 6, 'client-to-server'],
          [A4, 40001, B4, 5300, 17, 'client-to-server'],
        ])
        // UDP: 3 × (100 + 8 + 20) out, 3 × (50 + 8 + 20) back
        expect([udp.packets, udp.bytes]).toEqual([6, 3 * 128 + 3 * 78])
        // TCP: payload plus per packet an IP header (20 / 40) and a TCP header of 20–40 octets
        expectTcp(tcp4, 1000 + 5000, 20)
        if (tcp6) expectTcp(tcp6, 300 + 2000, 40)
        // refused: the SYN (with options) and the RST+ACK, read reject
        expectRefused(all, refused, 20)
        // times within the traffic's span (the exporters stamp with the capture's clock; v1, v5
        // and v7 in uptime milliseconds against the header's clock, in whole seconds plus nanoseconds)
        // ICMP echo: one flow each, the request's, requests and replies (IPv6 not in v1/v5/v7)
        const echoes = expectEchoes(flows, { a4: A4, b4: B4, a6: A6, b6: B6 }, { v4Only })
        expectWithin([...all, ...echoes], t0, t1)
        if (rich) {
          // every record noted as sampled 1 in 2, counts as sent: each became a flow printed
          // or was paired into one
          const note = (key: string): number =>
            Number(new RegExp(`${key}=(\\d+)`).exec(summary)?.[1] ?? 0)
          expect(note('sampling-rate:2'), summary).toBe(flows.length + note('paired-directions'))
        }
      }, 30_000)
    }
  })
