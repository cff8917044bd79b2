/**
 * NetFlow v5, v9 and IPFIX datagrams sent over the loopback interface, captured by a real
 * tcpdump (libpcap's own writer: Ethernet on `lo`, Linux cooked v2 on `any`, micro- and
 * nanosecond files), then read back with format detection. The captures in
 * netflow-pcap.test.ts are built from the documented layouts; this checks the reader against
 * files a real capture tool wrote.
 *
 * IPFIX over TCP (RFC 7011 §10.4) too: a local exporter connects to a listener on 127.0.0.1 and
 * writes messages, one of them in pieces (each its own segment: Nagle off, one write at a time),
 * so that the reader must put the stream together from real segments.
 *
 * Needs tcpdump and the right to capture (root or CAP_NET_RAW). Without them the tests skip
 * with the reason, except under `BULKHEAD_REQUIRE_CAPTURE=1` (set by `.ci/run`), where a
 * missing capability fails. Traffic: 127.0.0.1 only, to a port this test binds.
 */
import { spawn, spawnSync } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { createConnection, createServer, type Socket } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readOne } from '../helpers/flows.js'
import {
  concat,
  ip4,
  ipfix,
  recV4,
  set,
  template,
  TPL_V4,
  u16,
  u32,
  u8,
  v5,
  v9,
} from './netflow-builders.js'

const T0 = 1_700_000_000

/** Why captures cannot be made here, or undefined when they can. */
function captureUnsupported(): string | undefined {
  const version = spawnSync('tcpdump', ['--version'], { encoding: 'utf8' })
  if (version.error || version.status !== 0) return 'tcpdump is not installed'
  // -d compiles the filter for the interface without capturing, but opening it needs the right
  const open = spawnSync('tcpdump', ['-i', 'lo', '-d', 'udp'], { encoding: 'utf8' })
  if (open.status !== 0) return `tcpdump cannot open lo: ${open.stderr.trim().split('\n')[0] ?? ''}`
  return undefined
}

const unsupported = captureUnsupported()
if (unsupported !== undefined && process.env['BULKHEAD_REQUIRE_CAPTURE'] === '1')
  throw new Error(`packet capture required (BULKHEAD_REQUIRE_CAPTURE=1): ${unsupported}`)

const dir = mkdtempSync(join(tmpdir(), 'bulkhead-tcpdump-'))
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

/**
 * Captures `datagrams` sent from 127.0.0.1 to a port bound here, with tcpdump given `args`
 * (interface and options), and returns the capture file (tcpdump stops after as many packets).
 */
async function capture(name: string, args: readonly string[], datagrams: readonly Uint8Array[]) {
  const receiver = createSocket('udp4')
  await new Promise<void>((resolve) => receiver.bind(0, '127.0.0.1', resolve))
  const port = receiver.address().port
  try {
    return await captureWhile(
      name,
      [...args, '-c', String(datagrams.length)],
      `udp and dst host 127.0.0.1 and dst port ${String(port)}`,
      async () => {
        const sender = createSocket('udp4')
        for (const d of datagrams)
          await new Promise<void>((resolve, reject) =>
            sender.send(d, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
          )
        sender.close()
      },
    )
  } finally {
    receiver.close()
  }
}

/**
 * Starts tcpdump with `args` and `filter`, runs `traffic` once it listens, then waits for it to
 * end — by itself when `args` hold `-c N`, else stopped (SIGINT) once the traffic is done — and
 * returns the capture file. Bounded: 10 s to start, 10 s to end.
 */
async function captureWhile(
  name: string,
  args: readonly string[],
  filter: string,
  traffic: () => Promise<void>,
): Promise<string> {
  const file = join(dir, `${name}.pcap`)
  // --immediate-mode: packets reach tcpdump as they come, not when the kernel's buffer times out
  // (else a capture stopped within a second of the traffic may hold none of it)
  const child = spawn('tcpdump', [...args, '-n', '-U', '--immediate-mode', '-w', file, filter], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`tcpdump did not start: ${stderr}`)), 10_000)
      child.stderr.on('data', (b: Buffer) => {
        stderr += b.toString()
        if (stderr.includes('listening on')) {
          clearTimeout(t)
          resolve()
        }
      })
      void exited.then(() => {
        clearTimeout(t)
        reject(new Error(`tcpdump ended before listening: ${stderr}`))
      })
    })
    await traffic()
    if (!args.includes('-c')) {
      // the last packets (FIN, ACK) are written by -U as they come; let them land, then stop
      await new Promise((resolve) => setTimeout(resolve, 300))
      child.kill('SIGINT')
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    const code = await exited
    clearTimeout(timer)
    if (code !== 0) throw new Error(`tcpdump exited ${String(code)}: ${stderr}`)
  } finally {
    child.kill('SIGKILL')
  }
  return file
}

/**
 * An exporter on 127.0.0.1 that connects to a listener bound here and writes `writes` one at a
 * time (Nagle off, each after the previous one was sent), then closes; resolves once the
 * listener saw the whole stream. Returns the listener's port through `onPort` before connecting.
 */
async function tcpExport(writes: readonly Uint8Array[], onPort: (port: number) => void) {
  const received: Buffer[] = []
  const server = createServer((s: Socket) => {
    s.on('data', (b: Buffer) => received.push(b))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  onPort(port)
  return {
    port,
    run: async () => {
      const closed = new Promise<void>((resolve) =>
        server.on('connection', (s: Socket) => s.on('close', () => resolve())),
      )
      const client = createConnection({ port, host: '127.0.0.1', noDelay: true })
      await new Promise<void>((resolve) => client.on('connect', resolve))
      for (const w of writes) {
        await new Promise<void>((resolve, reject) =>
          client.write(w, (e) => (e ? reject(e) : resolve())),
        )
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      client.end()
      await closed
      server.close()
      return Buffer.concat(received)
    },
  }
}

/** A v5 datagram, a v9 template then its data, an IPFIX message: one flow each. */
const DATAGRAMS = [
  v5({ sysUptime: 10_000, secs: T0 }, [
    {
      src: '10.2.0.1',
      dst: '10.2.0.2',
      srcPort: 40001,
      dstPort: 22,
      protocol: 6,
      packets: 4,
      bytes: 200,
      first: 9000,
      last: 9500,
    },
  ]),
  v9({ sysUptime: 1000, secs: T0 }, template(0, 256, '8:4 12:4 7:2 11:2 4:1 2:4 1:4')),
  v9(
    { sysUptime: 2000, secs: T0 + 1 },
    set(
      256,
      concat(ip4('10.0.0.1'), ip4('10.0.0.2'), u16(40000), u16(443), u8(6), u32(5), u32(400)),
    ),
  ),
  ipfix(
    { exportTime: T0 + 2 },
    template(2, 300, TPL_V4),
    set(
      300,
      recV4({
        src: '10.1.0.1',
        dst: '10.1.0.2',
        sp: 40002,
        dp: 5432,
        proto: 6,
        pkts: 3,
        bytes: 180,
        start: T0 * 1000,
        end: T0 * 1000 + 500,
      }),
    ),
  ),
]

const CASES = [
  { name: 'lo (Ethernet link type), microseconds', args: ['-i', 'lo'] },
  { name: 'lo, nanosecond file', args: ['-i', 'lo', '--time-stamp-precision=nano'] },
  { name: 'any (Linux cooked v2), inbound only', args: ['-i', 'any', '-Q', 'in'] },
]

describe.skipIf(unsupported !== undefined)(
  `NetFlow / IPFIX captured by tcpdump${unsupported !== undefined ? ` (skipped: ${unsupported})` : ''}`,
  () => {
    for (const c of CASES)
      it(`reads v5, v9 and IPFIX from a capture on ${c.name}`, async () => {
        const file = await capture(c.name.replace(/\W+/g, '-'), c.args, DATAGRAMS)
        const { flows, summary } = await readOne(file)
        expect(summary.format).toBe('netflow')
        expect(summary.stats.skipped).toEqual({})
        expect(
          flows.map(
            (f) =>
              `${f.src}:${f.srcPort}>${f.dst}:${f.dstPort}/${f.protocol} ${f.packets}p ${f.bytes}B`,
          ),
        ).toEqual([
          '10.2.0.1:40001>10.2.0.2:22/6 4p 200B',
          '10.0.0.1:40000>10.0.0.2:443/6 5p 400B',
          '10.1.0.1:40002>10.1.0.2:5432/6 3p 180B',
        ])
        // the IPFIX record's own times, not the capture's
        expect(flows[2]).toMatchObject({ start: T0 * 1000, end: T0 * 1000 + 500 })
      })
  },
)

describe.skipIf(unsupported !== undefined)(
  `IPFIX over TCP captured by tcpdump${unsupported !== undefined ? ` (skipped: ${unsupported})` : ''}`,
  () => {
    const record = (dp: number) =>
      recV4({
        src: '10.1.0.1',
        dst: '10.1.0.2',
        sp: 40002,
        dp,
        proto: 6,
        pkts: 3,
        bytes: 180,
        start: T0 * 1000,
        end: T0 * 1000 + 500,
      })
    const first = ipfix({ exportTime: T0 }, template(2, 300, TPL_V4), set(300, record(22)))
    const second = ipfix({ exportTime: T0 + 1 }, set(300, concat(record(80), record(443))))
    const third = ipfix({ exportTime: T0 + 2 }, set(300, record(5432)))
    // the first message in three writes (cut inside its header and inside its record), the
    // last two in one
    const writes = [
      first.subarray(0, 6),
      first.subarray(6, 40),
      first.subarray(40),
      concat(second, third),
    ]

    const tcpCases = [CASES[0], CASES[1], { name: 'any (Linux cooked v2)', args: ['-i', 'any'] }]
    for (const c of tcpCases.filter((x) => x !== undefined))
      it(`reads IPFIX messages from a TCP connection captured on ${c.name}`, async () => {
        let port = 0
        const exporter = await tcpExport(writes, (p) => (port = p))
        let sent: Buffer = Buffer.alloc(0)
        const file = await captureWhile(
          `tcp-${c.name.replace(/\W+/g, '-')}`,
          c.args,
          `tcp and host 127.0.0.1 and port ${String(port)}`,
          async () => {
            sent = await exporter.run()
          },
        )
        expect(sent.byteLength).toBe(concat(first, second, third).byteLength)
        const { flows, summary } = await readOne(file)
        expect(summary.format).toBe('netflow')
        expect(summary.stats.skipped).toEqual({})
        expect(flows.map((f) => f.dstPort)).toEqual([22, 80, 443, 5432])
        expect(flows[0]).toMatchObject({ src: '10.1.0.1', dst: '10.1.0.2', start: T0 * 1000 })
      })
  },
)
