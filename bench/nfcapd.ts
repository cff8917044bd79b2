/**
 * @module Bench helper: turns flow records into nfcapd files the way a router would — NetFlow v5
 * datagrams sent over UDP on the loopback to `nfcapd -b 127.0.0.1 -p PORT -w DIR` — and runs
 * `nfdump` on them. Installs Debian's nfdump with apt-get when missing and running as root.
 * @remarks Formats: Cisco NetFlow v5 export format (24-octet header, at most 30 records of 48
 * octets; https://www.cisco.com/c/en/us/td/docs/net_mgmt/netflow_collection_engine/3-6/user/guide/format.html);
 * nfcapd(1), nfdump(1) (https://github.com/phaag/nfdump).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import dgram from 'node:dgram'
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/** One flow to export: IPv4 addresses, ports, IANA protocol, counters, times in ms UTC. */
export interface V5Flow {
  readonly src: string
  readonly dst: string
  readonly srcPort: number
  readonly dstPort: number
  readonly protocol: number
  readonly packets: number
  readonly bytes: number
  readonly start: number
  readonly end: number
}

/** Records per NetFlow v5 datagram (the format's maximum). */
export const V5_MAX_RECORDS = 30
const HEADER = 24
const RECORD = 48

function ipv4(text: string): number {
  const p = text.split('.')
  if (p.length !== 4) throw new Error(`not an IPv4 address: ${text}`)
  return ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0
}

/**
 * Encodes up to {@link V5_MAX_RECORDS} flows as one NetFlow v5 datagram. `boot` is the
 * exporter's boot time (ms UTC): `first`/`last` are uptime milliseconds, so flows must lie
 * within 49 days after it. The header's export time is the latest flow end.
 * @throws Error for more than 30 flows or a non-IPv4 address.
 */
export function encodeV5(flows: readonly V5Flow[], sequence: number, boot: number): Buffer {
  if (flows.length > V5_MAX_RECORDS) throw new Error('NetFlow v5 holds at most 30 records')
  const buf = Buffer.alloc(HEADER + RECORD * flows.length)
  const now = flows.reduce((m, f) => Math.max(m, f.end), boot)
  buf.writeUInt16BE(5, 0)
  buf.writeUInt16BE(flows.length, 2)
  buf.writeUInt32BE((now - boot) >>> 0, 4)
  buf.writeUInt32BE(Math.floor(now / 1000), 8)
  buf.writeUInt32BE((now % 1000) * 1_000_000, 12)
  buf.writeUInt32BE(sequence >>> 0, 16)
  flows.forEach((f, i) => {
    const o = HEADER + i * RECORD
    buf.writeUInt32BE(ipv4(f.src), o)
    buf.writeUInt32BE(ipv4(f.dst), o + 4)
    buf.writeUInt32BE(f.packets >>> 0, o + 16)
    buf.writeUInt32BE(f.bytes >>> 0, o + 20)
    buf.writeUInt32BE((f.start - boot) >>> 0, o + 24)
    buf.writeUInt32BE((f.end - boot) >>> 0, o + 28)
    buf.writeUInt16BE(f.srcPort, o + 32)
    buf.writeUInt16BE(f.dstPort, o + 34)
    buf.writeUInt8(f.protocol === 6 ? 0x1b : 0, o + 37) // SYN ACK PSH FIN for TCP
    buf.writeUInt8(f.protocol, o + 38)
  })
  return buf
}

/** Why nfdump cannot run here, or undefined when `nfcapd` and `nfdump` are on the PATH. */
export function ensureNfdump(log: (line: string) => void): string | undefined {
  const have = (): boolean =>
    spawnSync('nfdump', ['-V'], { encoding: 'utf8' }).status === 0 &&
    spawnSync('sh', ['-c', 'command -v nfcapd'], { encoding: 'utf8' }).status === 0
  if (have()) return undefined
  if (process.getuid?.() !== 0)
    return 'nfdump is not installed and the bench is not root (apt-get install -y nfdump)'
  log('installing nfdump (apt-get install -y nfdump)')
  const r = spawnSync('apt-get', ['install', '-y', 'nfdump'], {
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  })
  if (r.status !== 0 || !have())
    return `apt-get install -y nfdump failed: ${(r.stderr || r.error?.message || '').trim().split('\n').at(-1) ?? ''}`
  return undefined
}

/** The nfdump version line (`nfdump: Version: ...`). */
export function nfdumpVersion(): string {
  return spawnSync('nfdump', ['-V'], { encoding: 'utf8' }).stdout.trim()
}

/** A free UDP port on 127.0.0.1 (bound then released). */
async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve))
  const port = s.address().port
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
  await done
  clearTimeout(timer)
}

/** What {@link captureV5} did. */
export interface Capture {
  readonly datagrams: number
  readonly flows: number
  readonly seconds: number
  /** nfcapd files written in the folder. */
  readonly files: readonly string[]
}

/**
 * Starts `nfcapd -b 127.0.0.1 -p PORT -w DIR -B 8M`, sends every flow of `flows` to it as NetFlow
 * v5 datagrams from 127.0.0.1 (paced at `rate` datagrams per second so the loopback socket
 * buffer does not overflow), then stops it with SIGTERM so that it closes its file.
 * @throws Error when nfcapd exits early or writes no file.
 */
export async function captureV5(
  flows: AsyncIterable<V5Flow>,
  dir: string,
  options: { boot: number; rate?: number; log?: (line: string) => void },
): Promise<Capture> {
  const port = await freePort()
  const child = spawn(
    'nfcapd',
    ['-b', '127.0.0.1', '-p', String(port), '-w', dir, '-B', String(8 << 20), '-t', '3600'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  await sleep(800)
  if (child.exitCode !== null) throw new Error(`nfcapd exited: ${stderr.trim()}`)
  const sock = dgram.createSocket('udp4')
  const rate = options.rate ?? 10_000
  const t0 = performance.now()
  let datagrams = 0
  let sent = 0
  let batch: V5Flow[] = []
  const send = async (): Promise<void> => {
    const buf = encodeV5(batch, sent, options.boot)
    sent += batch.length
    batch = []
    await new Promise<void>((resolve, reject) =>
      sock.send(buf, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
    )
    datagrams++
    // pace: never ahead of `rate` datagrams per second
    const ahead = datagrams / rate - (performance.now() - t0) / 1000
    if (ahead > 0.002) await sleep(ahead * 1000)
  }
  try {
    for await (const f of flows) {
      batch.push(f)
      if (batch.length === V5_MAX_RECORDS) await send()
    }
    if (batch.length > 0) await send()
    await sleep(1500) // let nfcapd drain its socket
  } finally {
    sock.close()
    await stop(child)
  }
  const seconds = (performance.now() - t0) / 1000
  const files = readdirSync(dir)
    .filter((f) => f.startsWith('nfcapd.') && !f.includes('current'))
    .map((f) => path.join(dir, f))
  if (files.length === 0) throw new Error(`nfcapd wrote no file in ${dir}: ${stderr.trim()}`)
  options.log?.(`nfcapd: ${sent} flows in ${datagrams} datagrams, ${seconds.toFixed(1)} s`)
  return { datagrams, flows: sent, seconds, files }
}

/**
 * Flows stored in nfcapd files: the sum of the `Flows:` lines of `nfdump -r FILE -I` (each
 * file's statistics record). Undefined when nfdump prints none.
 */
export function nfcapdFlows(files: readonly string[]): number | undefined {
  let total = 0
  for (const f of files) {
    const r = spawnSync('nfdump', ['-r', f, '-I'], { encoding: 'utf8', timeout: 60_000 })
    const m = /^Flows:\s+(\d+)/m.exec(r.stdout)
    if (!m) return undefined
    total += Number(m[1])
  }
  return total
}

/**
 * Runs `nfdump -R DIR -A srcip,dstip,dstport,proto -q -o csv` and counts the aggregated records
 * it prints (one line each), streaming its output.
 * @returns the group count and nfdump's wall-clock seconds.
 */
export async function nfdumpAggregate(dir: string): Promise<{ groups: number; seconds: number }> {
  const t0 = performance.now()
  const child = spawn('nfdump', ['-R', dir, '-A', 'srcip,dstip,dstport,proto', '-q', '-o', 'csv'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let lines = 0
  let tail = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => {
    const text = tail + d.toString('latin1')
    const parts = text.split('\n')
    tail = parts.pop() ?? ''
    for (const l of parts) if (/^\d/.test(l)) lines++
  })
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)))
  if (/^\d/.test(tail)) lines++
  if (code !== 0) throw new Error(`nfdump exited ${code}: ${stderr.trim()}`)
  return { groups: lines, seconds: (performance.now() - t0) / 1000 }
}
