/**
 * @module The known traffic of the exporter tests (test/netns/softflowd-kernel, argus-kernel, nfdump-kernel): a
 * server for namespace b, a client and an ICMP echo sender for namespace a, run with
 * `node --input-type=module -e` / `python3 -c`, and bounded waits on the processes they run in.
 */
import { spawnSync, type ChildProcess } from 'node:child_process'
import { expect } from 'vitest'
import { netnsSupport, type Lab } from './harness.js'

/** Server in b: TCP 8080 / 8081 read to EOF then send 5000 / 2000 octets; UDP 5300 answers 50 octets; UDP 9999 (filler) discards. */
export const SERVER_JS = String.raw`
import net from 'node:net'
import dgram from 'node:dgram'
const [a4, a6] = JSON.parse(process.argv[1])
const reply = { 8080: 5000, 8081: 2000 }
const ready = []
for (const host of [a4, a6]) {
  for (const port of [8080, 8081]) {
    const s = net.createServer((c) => {
      c.on('error', () => {})
      c.on('data', () => {})
      c.on('end', () => c.end(Buffer.alloc(reply[port], 121)))
    })
    ready.push(new Promise((res) => s.listen({ port, host }, res)))
  }
  const u = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4')
  u.on('message', (_m, r) => u.send(Buffer.alloc(50, 114), r.port, r.address))
  ready.push(new Promise((res) => u.bind(5300, host, res)))
  const f = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4')
  ready.push(new Promise((res) => f.bind(9999, host, res)))
}
await Promise.all(ready)
process.stdout.write('ready\n')
setTimeout(() => process.exit(0), 20000)
process.stdin.on('end', () => process.exit(0)).resume()
`

/**
 * Client in a, one step per argv[1] "what": "traffic" (the known connections, one after the
 * other), "filler" (n datagrams of 1400 octets to UDP 9999) or "unreach" (a datagram of 20
 * octets to the closed UDP port 7777 of b over IPv4 from 40002 and over IPv6 from 40003, each
 * answered with an ICMP / ICMPv6 port unreachable; prints how many were sent).
 */
export const CLIENT_JS = String.raw`
import net from 'node:net'
import dgram from 'node:dgram'
const { what, b4, b6, n } = JSON.parse(process.argv[1])
function tcp(host, localPort, port, size) {
  return new Promise((res) => {
    const c = net.connect({ host, port, localPort })
    let got = 0
    c.on('connect', () => c.end(Buffer.alloc(size, 120)))
    c.on('data', (d) => (got += d.length))
    c.on('close', () => res(got))
    c.on('error', (e) => res(e.code))
    c.setTimeout(3000, () => c.destroy())
  })
}
async function udp(host, localPort, count) {
  const s = dgram.createSocket('udp4')
  await new Promise((r) => s.bind(localPort, r))
  let got = 0
  for (let i = 0; i < count; i++) {
    const answered = new Promise((r) => { s.once('message', (m) => { got += m.length; r() }); setTimeout(r, 2000) })
    s.send(Buffer.alloc(100, 117), 5300, host)
    await answered
  }
  s.close()
  return got
}
if (what === 'traffic') {
  const out = {}
  out.tcp4 = await tcp(b4, 41001, 8080, 1000)
  out.tcp6 = await tcp(b6, 41002, 8081, 300)
  out.refused = await tcp(b4, 41003, 9, 10)
  out.udp = await udp(b4, 40001, 3)
  process.stdout.write(JSON.stringify(out) + '\n')
} else if (what === 'unreach') {
  let sent = 0
  for (const [fam, host, lp] of [['udp4', b4, 40002], ['udp6', b6, 40003]]) {
    const s = dgram.createSocket(fam)
    s.on('error', () => {})
    await new Promise((r) => s.bind(lp, r))
    await new Promise((r) => s.send(Buffer.alloc(20, 117), 7777, host, (e) => r(e || sent++)))
    await new Promise((r) => setTimeout(r, 300))
    s.close()
  }
  process.stdout.write(JSON.stringify(sent) + '\n')
} else {
  const s = dgram.createSocket('udp4')
  await new Promise((r) => s.bind(40999, r))
  const d = Buffer.alloc(1400, 102)
  for (let i = 0; i < n; i++) await new Promise((r) => s.send(d, 9999, b4, r))
  s.close()
}
`

/**
 * Echo requests from a (node has no raw sockets): 3 to b over IPv4 (type 8), 2 over IPv6 (type
 * 128), 56 octets of payload each, one after the other's reply; prints the replies counted.
 */
export const ECHO_PY = String.raw`
import json, socket, struct, sys, time
a = json.loads(sys.argv[1])
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return (~s) & 0xffff
out = {}
for name, fam, proto, host, n, req, rep in (('icmp4', socket.AF_INET, socket.IPPROTO_ICMP, a['b4'], 3, 8, 0),
                                          ('icmp6', socket.AF_INET6, socket.IPPROTO_ICMPV6, a['b6'], 2, 128, 129)):
    s = socket.socket(fam, socket.SOCK_RAW, proto)
    got = 0
    for seq in range(n):
        body = struct.pack('!HH', 0x4242, seq) + b'p' * 56
        # the kernel computes an ICMPv6 checksum (RFC 3542), not an ICMP one
        c = csum(struct.pack('!BBH', req, 0, 0) + body) if fam == socket.AF_INET else 0
        s.sendto(struct.pack('!BBH', req, 0, c) + body, (host, 0))
        end = time.time() + 2
        while time.time() < end:
            s.settimeout(max(0.01, end - time.time()))
            try:
                d = s.recv(2048)
            except socket.timeout:
                break
            if fam == socket.AF_INET:
                d = d[(d[0] & 15) * 4:]
            if d[0] == rep and struct.unpack('!HH', d[4:8]) == (0x4242, seq):
                got += 1
                break
    s.close()
    out[name] = got
print(json.dumps(out))
`

/** One flow line of `bulkhead collect` (the fields checked). */
export interface Line {
  src: string
  srcPort: number
  dst: string
  dstPort: number
  protocol: number
  start: string
  end: string
  packets: number
  bytes: number
  direction: string
  observedAction: string
  tcpFlags?: number
  /** Where the flow was read from: `format` names the NetFlow version (`netflow-v5`, `ipfix`…). */
  source?: { format: string }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Resolves with the first stdout line that matches, or rejects after `ms`. */
export function waitFor(child: ChildProcess, stream: 'stdout' | 'stderr', re: RegExp, ms: number) {
  return new Promise<void>((res, rej) => {
    let text = ''
    const timer = setTimeout(() => {
      rej(new Error(`timed out waiting for ${String(re)}; got ${text.slice(0, 500)}`))
    }, ms)
    child[stream]?.on('data', (d: Buffer) => {
      text += d.toString()
      if (re.test(text)) {
        clearTimeout(timer)
        res()
      }
    })
  })
}

/** The one flow of `flows` from `srcPort` (and of `protocol` when given), asserted. */
export function oneFrom(flows: readonly Line[], srcPort: number, protocol?: number): Line {
  const f = flows.filter(
    (x) => x.srcPort === srcPort && (protocol === undefined || x.protocol === protocol),
  )
  expect(f, `one flow from port ${String(srcPort)} in ${JSON.stringify(flows)}`).toHaveLength(1)
  return f[0] as Line
}

/**
 * A whole TCP connection of the client: at least SYN, SYN-ACK, ACK, data each way and FIN each
 * way; its octets the payload plus per packet `perPacket` (link and IP headers) and a TCP header
 * of 20–40 octets; FIN, SYN, PSH and ACK among its flags.
 */
export function expectTcp(f: Line, payload: number, perPacket: number): void {
  expect(f.packets).toBeGreaterThanOrEqual(7)
  expect(f.bytes).toBeGreaterThanOrEqual(payload + f.packets * (perPacket + 20))
  expect(f.bytes).toBeLessThanOrEqual(payload + f.packets * (perPacket + 40))
  expect((f.tcpFlags ?? 0) & 0x1b).toBe(0x1b)
}

/**
 * The refused connection: the SYN (with options) and the RST+ACK, each `perPacket` octets (link
 * and IP headers) besides its TCP header; SYN and RST among its flags. No exporter records an
 * action: the closed port's reset is the refusal (Zeek's REJ), the only `reject` of `all`.
 */
export function expectRefused(all: readonly Line[], refused: Line, perPacket: number): void {
  expect(refused.packets).toBe(2)
  expect(refused.bytes).toBeGreaterThanOrEqual(2 * (perPacket + 20))
  expect(refused.bytes).toBeLessThanOrEqual(perPacket + 40 + perPacket + 20)
  expect((refused.tcpFlags ?? 0) & 0x06).toBe(0x06)
  expect(all.map((f) => f.observedAction)).toEqual(
    all.map((f) => (f === refused ? 'reject' : 'unknown')),
  )
}

/** Every flow's times within the traffic's span `t0`..`t1` (ms), give or take a second. */
export function expectWithin(flows: readonly Line[], t0: number, t1: number): void {
  for (const f of flows) {
    expect(Date.parse(f.start)).toBeGreaterThanOrEqual(t0 - 1000)
    expect(Date.parse(f.end)).toBeLessThanOrEqual(t1 + 1000)
    expect(Date.parse(f.start)).toBeLessThanOrEqual(Date.parse(f.end))
  }
}

/**
 * Whether an exporter test can run: the namespaces ({@link netnsSupport}), python3 (the ICMP
 * echoes, on a raw socket) and every binary of `bins`, each with its Debian package for the reason.
 */
export function exporterSupport(
  prefix: string,
  bins: readonly (readonly [bin: string, pkg: string])[],
): { ok: true } | { ok: false; reason: string } {
  const base = netnsSupport(prefix)
  if (!base.ok) return base
  if (spawnSync('python3', ['-c', 'import socket']).status !== 0)
    return { ok: false, reason: 'no python3 for the ICMP echoes' }
  for (const [bin, pkg] of bins)
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0)
      return { ok: false, reason: `no ${bin} binary (Debian package ${pkg})` }
  return { ok: true }
}

/** Runs {@link CLIENT_JS} step `what` in host a of `lab` (10 s at most); its output. */
export function runClient(lab: Lab, what: string, b4: string, b6: string, n = 0): Promise<string> {
  return lab.exec(
    'a',
    [process.execPath, '--input-type=module', '-e', CLIENT_JS, JSON.stringify({ what, b4, b6, n })],
    10_000,
  )
}

/** What {@link runTraffic} resolves to when the traffic went as planned. */
export const PLANNED: Readonly<Record<string, unknown>> = {
  tcp4: 5000,
  tcp6: 2000,
  refused: 'ECONNREFUSED',
  udp: 150,
  icmp4: 3,
  icmp6: 2,
}

/** Runs the known traffic, then the echoes, from host a of `lab`: what each step counted. */
export async function runTraffic(
  lab: Lab,
  b4: string,
  b6: string,
): Promise<Record<string, unknown>> {
  const result = JSON.parse(await runClient(lab, 'traffic', b4, b6)) as Record<string, unknown>
  const echoes = await lab.exec('a', ['python3', '-c', ECHO_PY, JSON.stringify({ b4, b6 })], 10_000)
  return { ...result, ...(JSON.parse(echoes) as Record<string, unknown>) }
}

/**
 * The argv of `bulkhead collect` from the sources (run it with the repository as its working
 * folder, in the namespace the exporter sends to): listening on `listen` (a port: UDP on
 * 127.0.0.1; or a `--listen` value such as `tcp://127.0.0.1:4739`), for at most `seconds`.
 */
export const collectArgv = (listen: number | string, seconds = 25): string[] => [
  process.execPath,
  '--import',
  'tsx',
  'src/cli/main.ts',
  'collect',
  '--listen',
  typeof listen === 'number' ? `127.0.0.1:${String(listen)}` : listen,
  '--duration',
  String(seconds),
]

/**
 * What `bulkhead collect` (or `flows -o jsonl`) running as `c` prints: its flow lines, parsed,
 * and its standard error, once it has exited.
 */
export function collected(c: ChildProcess): Promise<{ flows: Line[]; stderr: string }> {
  let out = ''
  let err = ''
  c.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  c.stderr?.on('data', (d: Buffer) => (err += d.toString()))
  return new Promise((res) =>
    c.once('close', () =>
      res({
        flows: out
          .split('\n')
          .filter((l) => l.length > 0)
          .map((l) => JSON.parse(l) as Line),
        stderr: err,
      }),
    ),
  )
}

/** Resolves when `c` has exited (at once if it has), rejects after `ms` naming `what`. */
export function closed(c: ChildProcess, ms: number, what = 'a child'): Promise<void> {
  return new Promise((res, rej) => {
    if (c.exitCode !== null || c.signalCode !== null) return res()
    const t = setTimeout(() => rej(new Error(`${what} did not exit in time`)), ms)
    c.once('close', () => {
      clearTimeout(t)
      res()
    })
  })
}

/**
 * The echoes of {@link ECHO_PY} in `flows`: one flow per family, the request's (ICMP type 8 /
 * ICMPv6 128, code 0 in `srcPort`) from `a` to `b`, requests and replies counted: IPv4 6 × (20 + 8
 * + 56) octets, IPv6 4 × (40 + 8 + 56), plus `eth` octets a packet where the exporter counts the
 * Ethernet header (IPv4 only: `eth6` for IPv6); none for IPv6 when `v4Only` (NetFlow v5).
 * @returns the two families' echo flows.
 */
export function expectEchoes(
  flows: readonly Line[],
  ends: { a4: string; b4: string; a6: string; b6: string },
  { eth = 0, eth6 = 0, v4Only = false }: { eth?: number; eth6?: number; v4Only?: boolean } = {},
): Line[] {
  const echo = (protocol: number, type: number): Line[] =>
    flows.filter((x) => x.protocol === protocol && x.dstPort === type)
  const icmp4 = echo(1, 8)
  const icmp6 = echo(58, 128)
  const fields = (f: Line) => [f.src, f.dst, f.srcPort, f.packets, f.bytes, f.direction]
  expect(icmp4.map(fields)).toEqual([[ends.a4, ends.b4, 0, 6, 6 * (84 + eth), 'client-to-server']])
  expect(icmp6.map(fields)).toEqual(
    v4Only ? [] : [[ends.a6, ends.b6, 0, 4, 4 * (104 + eth6), 'client-to-server']],
  )
  return [...icmp4, ...icmp6]
}
