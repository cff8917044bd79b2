/**
 * NetFlow v5, v9 and IPFIX datagrams sent over the loopback interface, captured by a real
 * tcpdump (libpcap's own writer: Ethernet on `lo`, Linux cooked v2 on `any`, micro- and
 * nanosecond files), then read back with format detection. The captures in
 * netflow-pcap.test.ts are built from the documented layouts; this checks the reader against
 * files a real capture tool wrote.
 *
 * Needs tcpdump and the right to capture (root or CAP_NET_RAW). Without them the tests skip
 * with the reason, except under `BULKHEAD_REQUIRE_CAPTURE=1` (set by `.ci/run`), where a
 * missing capability fails. Traffic: 127.0.0.1 only, to a port this test binds.
 */
import { spawn, spawnSync } from 'node:child_process'
import { createSocket } from 'node:dgram'
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
 * (interface and options), and returns the capture file. Bounded: 10 s to start, 10 s to end.
 */
async function capture(name: string, args: readonly string[], datagrams: readonly Uint8Array[]) {
  const file = join(dir, `${name}.pcap`)
  const receiver = createSocket('udp4')
  await new Promise<void>((resolve) => receiver.bind(0, '127.0.0.1', resolve))
  const port = receiver.address().port
  const filter = `udp and dst host 127.0.0.1 and dst port ${port}`
  const child = spawn(
    'tcpdump',
    [...args, '-n', '-U', '-w', file, '-c', String(datagrams.length), filter],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
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
    const sender = createSocket('udp4')
    for (const d of datagrams)
      await new Promise<void>((resolve, reject) =>
        sender.send(d, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
      )
    sender.close()
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    const code = await exited
    clearTimeout(timer)
    if (code !== 0) throw new Error(`tcpdump exited ${String(code)}: ${stderr}`)
  } finally {
    child.kill('SIGKILL')
    receiver.close()
  }
  return file
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
