/**
 * @module nfdump against `bulkhead collect` and `bulkhead flows`: tcpdump captures the known
 * traffic (traffic.ts) on the veth of namespace a, nfdump's `nfpcapd -r` makes nfcapd flows
 * of the capture, and `nfreplay` re-exports them as NetFlow v5 and v9, with nfdump's own
 * templates, to `bulkhead collect` in namespace a; `nfdump -o csv` of the same file is read by
 * `bulkhead flows`. The expected flows come from the capture itself (each connection's packets,
 * IP lengths, TCP flags and first and last packet times, truncated to the millisecond as nfpcapd
 * keeps them), never from Bulkhead, and every field of every known flow is compared exactly.
 * nfdump 1.7.1 (Debian 12) replays v5 and v9 only (`-v 10` is refused), so there is no IPFIX
 * case. Runs as root with `ip netns`, tcpdump and nfdump; skips with the reason otherwise,
 * unless BULKHEAD_REQUIRE_NETNS=1 (CI), where a missing capability fails the suite. Namespaces
 * are named `<prefix>-…`, prefix `bhnfdump` or BULKHEAD_NETNS_PREFIX.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { ingestFiles } from '../../src/cli/commands/ingest.js'
import { openDuckDbStore } from '../../src/store/index.js'
import { all } from '../helpers/store.js'
import { cleanupLeftovers, createLab, netnsSupport, type Lab } from './harness.js'
import { describeKernel } from './probe-check.js'
import {
  closed,
  collectArgv,
  runTraffic,
  SERVER_JS,
  sleep,
  waitFor,
  type Line,
  PLANNED,
} from './traffic.js'

const PREFIX = process.env['BULKHEAD_NETNS_PREFIX'] ?? 'bhnfdump'
const REPO = fileURLToPath(new URL('../..', import.meta.url))

/** Host a (client, capture, collector) and b (server) of the veth, and the known traffic (traffic.ts). */
const traffic = {
  A4: '10.74.0.1',
  B4: '10.74.0.2',
  A6: 'fd00:74::1',
  B6: 'fd00:74::2',
  sleep,
  waitFor,
  /** The server's argv (run it in namespace b; it prints `ready` once it listens). */
  get SERVER_ARGV(): readonly string[] {
    return [
      process.execPath,
      '--input-type=module',
      '-e',
      SERVER_JS,
      JSON.stringify([this.B4, this.B6]),
    ]
  },
  /** The known connections, then the ICMP echoes, from namespace a: what each got. */
  knownTraffic(lab: Lab): Promise<Record<string, unknown>> {
    return runTraffic(lab, this.B4, this.B6)
  },
  collectArgv,
  PLANNED,
}
const PORT = 29_056

const support = ((): { ok: true } | { ok: false; reason: string } => {
  const base = netnsSupport(PREFIX)
  if (!base.ok) return base
  if (spawnSync('python3', ['-c', 'import socket']).status !== 0)
    return { ok: false, reason: 'no python3 for the ICMP echoes' }
  for (const [bin, pkg] of [
    ['tcpdump', 'tcpdump'],
    ['nfpcapd', 'nfdump'],
    ['nfreplay', 'nfdump'],
    ['nfdump', 'nfdump'],
  ] as const)
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0)
      return { ok: false, reason: `no ${bin} binary (Debian package ${pkg})` }
  return { ok: true }
})()

/** One packet of the capture: what a flow is made of. */
interface Packet {
  us: number
  src: string
  dst: string
  protocol: number
  srcPort: number
  dstPort: number
  length: number
  flags: number
}

const hex = (b: Buffer): string => {
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16))
  // URL canonicalises an IPv6 address as RFC 5952 writes it
  return new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1)
}

/**
 * The IPv4/IPv6 packets of a libpcap capture of Ethernet frames (tcpdump's default): times in
 * microseconds, IP length (IPv6: payload + 40), ports (ICMP: code, type), TCP flags.
 */
function readPcap(file: string): Packet[] {
  const b = readFileSync(file)
  if (b.readUInt32LE(0) !== 0xa1b2c3d4 || b.readUInt32LE(20) !== 1)
    throw new Error('not a little-endian microsecond Ethernet capture')
  const out: Packet[] = []
  for (let o = 24; o + 16 <= b.length;) {
    const us = b.readUInt32LE(o) * 1e6 + b.readUInt32LE(o + 4)
    const len = b.readUInt32LE(o + 8)
    const f = b.subarray(o + 16, o + 16 + len)
    o += 16 + len
    const type = f.readUInt16BE(12)
    let src: string, dst: string, protocol: number, length: number, l4: number
    if (type === 0x0800) {
      src = [...f.subarray(26, 30)].join('.')
      dst = [...f.subarray(30, 34)].join('.')
      protocol = f[23] ?? 0
      length = f.readUInt16BE(16)
      l4 = 14 + ((f[14] ?? 0) & 15) * 4
    } else if (type === 0x86dd) {
      src = hex(f.subarray(22, 38))
      dst = hex(f.subarray(38, 54))
      protocol = f[20] ?? 0
      length = f.readUInt16BE(18) + 40
      l4 = 54
    } else continue
    const icmp = protocol === 1 || protocol === 58
    out.push({
      us,
      src,
      dst,
      protocol,
      srcPort: icmp ? (f[l4 + 1] ?? 0) : f.readUInt16BE(l4),
      dstPort: icmp ? (f[l4] ?? 0) : f.readUInt16BE(l4 + 2),
      length,
      flags: protocol === 6 ? (f[l4 + 13] ?? 0) : 0,
    })
  }
  return out
}

/** The fields compared: a flow line without its source. */
type Expected = Omit<Line, 'tcpFlags'> & { tcpFlags?: number }

const ms = (us: number): string => new Date(Math.floor(us / 1000)).toISOString()

/**
 * The packets of each known connection, both directions, the client's first (name, packets,
 * the expected observedAction); each ICMP echo, its request and its reply, is one, as nfpcapd
 * keeps them.
 */
function knownGroups(packets: readonly Packet[]): [string, Packet[], string][] {
  const known: [string, (p: Packet) => boolean, string][] = [
    ['tcp4', (p) => p.protocol === 6 && (p.srcPort === 41001 || p.dstPort === 41001), 'unknown'],
    ['tcp6', (p) => p.protocol === 6 && (p.srcPort === 41002 || p.dstPort === 41002), 'unknown'],
    ['refused', (p) => p.protocol === 6 && (p.srcPort === 41003 || p.dstPort === 41003), 'reject'],
    ['udp', (p) => p.protocol === 17 && (p.srcPort === 40001 || p.dstPort === 40001), 'unknown'],
  ]
  const groups: [string, Packet[], string][] = known.map(([name, match, action]) => [
    name,
    packets.filter(match),
    action,
  ])
  // nfpcapd keeps each echo (request and its reply) a flow of its own: the echoes went one
  // after the other, so each request is followed by its reply
  for (const [protocol, request] of [
    [1, 8],
    [58, 128],
  ] as const) {
    const ps = packets.filter((p) => p.protocol === protocol && p.dstPort <= 129)
    for (let i = 0; i < ps.length; i += 2) {
      const pair = ps.slice(i, i + 2)
      if (
        pair.length !== 2 ||
        pair[0]?.dstPort !== request ||
        pair[1]?.dstPort !== (protocol === 1 ? 0 : 129)
      )
        throw new Error(
          `echo ${String(i / 2)} of protocol ${String(protocol)} is no request and reply`,
        )
      groups.push([`echo ${String(protocol)}`, pair, 'unknown'])
    }
  }
  return groups
}

/** The flow of some packets, the first naming its source (times in ms, truncated). */
function flowOf(
  ps: readonly Packet[],
  observedAction: string,
  direction = 'client-to-server',
): Expected {
  const first = ps[0]
  if (first === undefined) throw new Error('no packet')
  return {
    src: first.src,
    srcPort: first.srcPort,
    dst: first.dst,
    dstPort: first.dstPort,
    protocol: first.protocol,
    start: ms(Math.min(...ps.map((p) => p.us))),
    end: ms(Math.max(...ps.map((p) => p.us))),
    packets: ps.length,
    bytes: ps.reduce((n, p) => n + p.length, 0),
    direction,
    observedAction,
    ...(first.protocol === 6 ? { tcpFlags: ps.reduce((f, p) => f | p.flags, 0) } : {}),
  }
}

/** The flow of each known connection, both directions in one (see {@link knownGroups}). */
const expectedFlows = (packets: readonly Packet[]): Expected[] =>
  knownGroups(packets).map(([, ps, action]) => flowOf(ps, action))

/** Flows in one order: by start, then source port and protocol. */
const sorted = (fs: readonly Expected[]): Expected[] =>
  [...fs].sort(
    (x, y) =>
      x.start.localeCompare(y.start) ||
      x.srcPort - y.srcPort ||
      x.protocol - y.protocol ||
      x.end.localeCompare(y.end) ||
      x.src.localeCompare(y.src) ||
      x.dstPort - y.dstPort,
  )

/** The flow line's compared fields (its `source` and any note left out). */
const fields = (f: Line): Expected => ({
  src: f.src,
  srcPort: f.srcPort,
  dst: f.dst,
  dstPort: f.dstPort,
  protocol: f.protocol,
  start: f.start,
  end: f.end,
  packets: f.packets,
  bytes: f.bytes,
  direction: f.direction,
  observedAction: f.observedAction,
  ...(f.tcpFlags === undefined ? {} : { tcpFlags: f.tcpFlags }),
})

const isKnown = (f: Expected): boolean =>
  [41001, 41002, 41003, 40001].includes(f.srcPort) ||
  [41001, 41002, 41003, 40001].includes(f.dstPort) ||
  f.protocol === 1 ||
  (f.protocol === 58 && [128, 129].includes(f.dstPort))

describeKernel('nfdump (nfpcapd → nfreplay v5 / v9, nfdump -o csv) → bulkhead', support, () => {
  let lab: Lab | undefined
  let dir = ''
  let nfcapd = ''
  let packets: Packet[] = []
  let client: Record<string, unknown> = {}
  const children: ChildProcess[] = []
  const inNs = (host: string, argv: string[], cwd?: string): ChildProcess => {
    const c = spawn('ip', ['netns', 'exec', lab?.ns.get(host) ?? '', ...argv], {
      cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    children.push(c)
    return c
  }

  beforeAll(async () => {
    cleanupLeftovers(PREFIX)
    dir = mkdtempSync(path.join(tmpdir(), `${PREFIX}-`))
    lab = await createLab(PREFIX, [
      { name: 'a', addresses: [traffic.A4, traffic.A6] },
      { name: 'b', addresses: [traffic.B4, traffic.B6] },
    ])
    const pcap = path.join(dir, 'traffic.pcap')
    const dump = inNs('a', [
      'tcpdump',
      '-i',
      'eth0',
      '-U',
      '--immediate-mode',
      '-w',
      pcap,
      `host ${traffic.B4} or host ${traffic.B6}`,
    ])
    const server = inNs('b', [...traffic.SERVER_ARGV])
    await Promise.all([
      traffic.waitFor(dump, 'stderr', /listening on/, 10_000),
      traffic.waitFor(server, 'stdout', /ready/, 5000),
    ])
    client = await traffic.knownTraffic(lab)
    await traffic.sleep(200)
    dump.kill('SIGTERM')
    await closed(dump, 5000)
    server.kill('SIGTERM')
    packets = readPcap(pcap)
    const flowDir = path.join(dir, 'nfcapd')
    spawnSync('mkdir', [flowDir])
    const made = spawnSync('nfpcapd', ['-r', pcap, '-w', flowDir], {
      encoding: 'utf8',
      timeout: 10_000,
    })
    const file = readdirSync(flowDir).find((n) => n.startsWith('nfcapd.'))
    if (made.status !== 0 || file === undefined)
      throw new Error(`nfpcapd failed: ${made.stderr}${made.stdout}`)
    nfcapd = path.join(flowDir, file)
  }, 40_000)

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL')
    await lab?.destroy()
    if (dir !== '') rmSync(dir, { recursive: true, force: true })
    cleanupLeftovers(PREFIX)
  })

  it('the traffic went as planned and the capture holds it', () => {
    expect(client).toEqual(traffic.PLANNED)
    // the expectations' own sanity: UDP 3 × (100 + 28) out, 3 × (50 + 28) back; ICMP echoes
    const want = expectedFlows(packets)
    expect(want.map((f) => [f.packets, f.bytes]).slice(3)).toEqual([
      [6, 3 * 128 + 3 * 78],
      ...Array<number[]>(3).fill([2, 2 * 84]),
      ...Array<number[]>(2).fill([2, 2 * 104]),
    ])
  })

  for (const version of [5, 9] as const)
    it(`nfreplay NetFlow v${String(version)}: every known flow exactly as captured`, async () => {
      if (lab === undefined) throw new Error('no lab')
      const collect = inNs('a', traffic.collectArgv(PORT), REPO)
      let out = ''
      let err = ''
      collect.stdout?.on('data', (d: Buffer) => (out += d.toString()))
      collect.stderr?.on('data', (d: Buffer) => (err += d.toString()))
      await traffic.waitFor(collect, 'stderr', /listening on/, 10_000)
      await lab.exec(
        'a',
        ['nfreplay', '-H', '127.0.0.1', '-p', String(PORT), '-v', String(version), '-r', nfcapd],
        10_000,
      )
      // the flows arrive in one or two datagrams; the collector prints the unpaired ones (none
      // expected) at its stop
      await traffic.sleep(1000)
      collect.kill('SIGTERM')
      await closed(collect, 10_000)
      const flows = out
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => fields(JSON.parse(l) as Line))
      // NetFlow v5 carries IPv4 only: nfreplay leaves the IPv6 flows out
      const want = expectedFlows(packets).filter((f) => version !== 5 || !f.src.includes(':'))
      expect(sorted(flows.filter(isKnown)), err).toEqual(sorted(want))
    }, 30_000)

  /** `nfdump -r FILE ...args -o csv` (TZ=UTC) written to `name` in the test's folder: its path. */
  const nfdumpCsv = (args: readonly string[], name: string): string => {
    const csv = spawnSync('nfdump', ['-r', nfcapd, ...args, '-o', 'csv'], {
      encoding: 'utf8',
      timeout: 10_000,
      env: { ...process.env, TZ: 'UTC' },
    })
    expect(csv.status, csv.stderr).toBe(0)
    const file = path.join(dir, name)
    writeFileSync(file, csv.stdout)
    return file
  }

  /** `nfdump -r FILE ...args` as CSV (TZ=UTC) read by `bulkhead flows`: its compared fields. */
  const csvFlows = (args: readonly string[]): { flows: Expected[]; stderr: string } => {
    const file = nfdumpCsv(args, 'flows.csv')
    const read = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'flows', file, '-o', 'jsonl'],
      { cwd: REPO, encoding: 'utf8', timeout: 20_000 },
    )
    expect(read.status, read.stderr).toBe(0)
    const flows = read.stdout
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => fields(JSON.parse(l) as Line))
    return { flows: flows.filter(isKnown), stderr: read.stderr }
  }
  // nfdump 1.7.1 prints times to the second (truncated)
  const toSecond = (f: Expected): Expected => ({
    ...f,
    start: `${f.start.slice(0, 19)}.000Z`,
    end: `${f.end.slice(0, 19)}.000Z`,
  })

  it('nfdump -o csv read by bulkhead flows: the two rows of each connection paired, times to the second', () => {
    const { flows, stderr } = csvFlows([])
    // each row counts one direction; the two rows of a connection (one exporter: nfpcapd's) are
    // paired as their NetFlow records are by collect, the refusal's SYN and RST-ACK into one
    // `reject`, each echo request with its reply: the flows collect gives, to the second
    expect(sorted(flows), stderr).toEqual(sorted(expectedFlows(packets).map(toSecond)))
    expect(stderr).toMatch(/paired-directions \d+/)
    expect(stderr).toMatch(/refused-by-reset 1\b/)
  })

  it('nfdump -o csv ingested: the store holds the paired flows that flows gives', async () => {
    const file = nfdumpCsv([], 'ingest.csv')
    const store = path.join(dir, 'ingest.duckdb')
    const out = await ingestFiles([{ file, format: 'csv' }], store, {
      strict: true,
      progress: false,
    })
    expect(out.failed).toEqual([])
    expect(out.notes['refused-by-reset']).toBe(1)
    const iso = (ms: number): string => new Date(ms).toISOString()
    const db = await openDuckDbStore(store, { readOnly: true })
    const stored = await all(db.flows()).finally(() => db.close())
    const rows = stored
      .map((f): Expected => ({
        src: f.src,
        srcPort: f.srcPort,
        dst: f.dst,
        dstPort: f.dstPort,
        protocol: f.protocol,
        start: iso(f.start),
        end: iso(f.end),
        packets: f.packets,
        bytes: f.bytes,
        direction: f.direction,
        observedAction: f.observedAction,
        ...(f.tcpFlags === undefined ? {} : { tcpFlags: f.tcpFlags }),
      }))
      .filter(isKnown)
    // no half is left to pair across files: every known connection is one stored flow
    expect(sorted(rows)).toEqual(sorted(expectedFlows(packets).map(toSecond)))
  }, 30_000)

  it('nfdump -B -o csv (bidirectional aggregation) read by bulkhead flows: one flow per connection, times to the second', () => {
    const { flows, stderr } = csvFlows(['-B'])
    // -B joins a connection's two records (ipkt/ibyt and opkt/obyt, added up: such a row is not
    // paired again) but prints the client's record's flags only, so the refusal's RST is not seen
    // (no reject); it joins no echo request with its reply (ports 8.0 and 0.0 are not each
    // other's reverse) but the requests of one pinger into one row and the replies into another,
    // rows of one direction each, which reading pairs as any nfdump rows: one flow per pinger
    const groups = knownGroups(packets)
    const tcpUdp = groups
      .filter(([, ps]) => ps[0]?.protocol === 6 || ps[0]?.protocol === 17)
      .map(([, ps]) => {
        const f = flowOf(ps, 'unknown')
        const client = ps.filter((p) => p.src === f.src)
        return f.protocol === 6 ? { ...f, tcpFlags: flowOf(client, 'unknown').tcpFlags ?? 0 } : f
      })
    const echoes = [1, 58].map((protocol) =>
      flowOf(
        groups.flatMap(([, g]) => g).filter((p) => p.protocol === protocol),
        'unknown',
      ),
    )
    expect(sorted(flows), stderr).toEqual(sorted([...tcpUdp, ...echoes].map(toSecond)))
  })
})
