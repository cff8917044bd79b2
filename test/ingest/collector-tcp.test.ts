import { spawnSync } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { connect, type Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { KEEPALIVE_MS, type Collector } from '../../src/ingest/collector.js'
import { MessageFramer } from '../../src/ingest/netflow/streams.js'
import {
  body,
  collectOver,
  IPFIX_HEADER as H,
  IPFIX_MESSAGES as MESSAGES,
  runCollect,
  streamCollector,
  until,
} from './collect-helper.js'
import { concat, ip4, ipfix, set, template, TPL_V4, u16, u8, v9 } from './netflow-builders.js'

/** Opens a TCP connection to the collector on 127.0.0.1. */
async function dial(c: Collector): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: c.address.port, noDelay: true }, () => resolve(s))
    s.once('error', reject)
  })
}

/** Writes each chunk, waiting for it to be flushed, so that they arrive as separate reads. */
async function writeEach(s: Socket, chunks: readonly Uint8Array[]): Promise<void> {
  for (const c of chunks) {
    await new Promise<void>((res, rej) => s.write(c, (err) => (err ? rej(err) : res())))
    await new Promise((r) => setImmediate(r))
  }
}

/** Resolves when the peer has closed `s` (or it errors). */
const closedBy = (s: Socket): Promise<void> =>
  new Promise((r) => {
    if (s.destroyed) r()
    s.once('close', () => r())
  })

/** A TCP collector on 127.0.0.1 ({@link streamCollector}). */
const tcpCollector = (
  options: { maxConnections?: number } = {},
): ReturnType<typeof streamCollector> => streamCollector({ transport: 'tcp', ...options })

describe('TCP collector (IPFIX, RFC 7011 §10.4)', () => {
  it('frames messages split one octet at a time, or several in one write, and gives the flows UDP gives', async () => {
    const udp = await collectOver(MESSAGES, 4)
    expect(udp.flows).toHaveLength(4)
    const all = concat(...MESSAGES)
    const bytewise = [...all].map((b) => new Uint8Array([b]))
    // awkward cuts: inside the first header's length, across message boundaries
    const cuts = [all.subarray(0, 3), all.subarray(3, 30), all.subarray(30, 97), all.subarray(97)]
    for (const chunks of [bytewise, [all], cuts]) {
      const { c, flows } = await tcpCollector()
      const s = await dial(c)
      const port = s.localPort
      try {
        await writeEach(s, chunks)
        await until(() => flows.length === 4)
      } finally {
        s.destroy()
        await c.close()
      }
      expect(flows.map(body)).toEqual(udp.flows.map(body))
      expect(flows[0]?.source.file).toBe(`tcp://127.0.0.1:${String(port)}`)
      expect(flows.map((f) => f.source.record)).toEqual([1, 2, 2, 3])
      expect(c.datagrams()).toBe(4)
      expect(c.stats.skipped).toEqual({})
      expect(c.stats.notes['lost-records']).toBeUndefined()
    }
  }, 15000)

  it('keeps templates per connection and drops them when it closes (RFC 7011 §8)', async () => {
    const data = concat(ip4('10.9.0.3'), ip4('10.9.0.4'), u8(17), u16(53))
    const tpl = (a: number, b: number): Uint8Array =>
      ipfix(
        H,
        template(2, 400, [
          [a, 4],
          [b, 4],
          [4, 1],
          [11, 2],
        ]),
      )
    const { c, flows } = await tcpCollector()
    const one = await dial(c)
    const two = await dial(c)
    try {
      // the same template id in two layouts, one per connection
      await writeEach(one, [tpl(8, 12)])
      await writeEach(two, [tpl(12, 8)])
      await until(() => c.datagrams() === 2)
      await writeEach(one, [ipfix(H, set(400, data))])
      await until(() => flows.length === 1)
      await writeEach(two, [ipfix(H, set(400, data))])
      await until(() => flows.length === 2)
      expect(flows.map((f) => [f.src, f.dst])).toEqual([
        ['10.9.0.3', '10.9.0.4'],
        ['10.9.0.4', '10.9.0.3'],
      ])
      // a reconnect must send its templates again: data alone waits, and is lost at close
      one.destroy()
      await until(() => c.connections() === 1)
      const three = await dial(c)
      await writeEach(three, [ipfix(H, set(400, data))])
      await until(() => c.datagrams() === 5)
      three.end()
      await until(() => c.connections() === 1)
      expect(flows).toHaveLength(2)
      expect(c.stats.skipped).toEqual({ 'no-template': 1 })
    } finally {
      one.destroy()
      two.destroy()
      await c.close()
    }
  }, 8000)

  it('closes a stream that stops framing (garbage, NetFlow v9), counts it, warns, and serves the others', async () => {
    const { c, flows, warnings } = await tcpCollector()
    const good = await dial(c)
    const bad = await dial(c)
    const old = await dial(c)
    try {
      await writeEach(good, [MESSAGES[0] ?? new Uint8Array()])
      const badClosed = closedBy(bad)
      await writeEach(bad, [concat(MESSAGES[0] ?? new Uint8Array(), new Uint8Array(64).fill(7))])
      await badClosed
      const oldClosed = closedBy(old)
      await writeEach(old, [
        v9({ sysUptime: 1, secs: 1_700_000_000, sourceId: 4 }, template(0, 256, TPL_V4)),
      ])
      await oldClosed
      await writeEach(good, MESSAGES.slice(1))
      await until(() => flows.length === 4)
      expect(c.stats.skipped).toEqual({ 'bad-stream': 1, 'netflow-v9-over-tcp': 1 })
      expect(warnings).toHaveLength(2)
      expect(c.connections()).toBe(1)
    } finally {
      for (const s of [good, bad, old]) s.destroy()
      await c.close()
    }
  }, 8000)

  it('holds at most maxConnections connections; the next is counted and closed', async () => {
    const { c, flows } = await tcpCollector({ maxConnections: 1 })
    const first = await dial(c)
    await until(() => c.connections() === 1)
    const second = await dial(c)
    try {
      await closedBy(second)
      expect(c.stats.skipped).toEqual({ 'too-many-connections': 1 })
      await writeEach(first, MESSAGES)
      await until(() => flows.length === 4)
    } finally {
      first.destroy()
      second.destroy()
      await c.close()
    }
  }, 8000)

  it('stops cleanly with connections open, counting a message cut short', async () => {
    const { c } = await tcpCollector()
    const s = await dial(c)
    const gone = closedBy(s)
    try {
      await writeEach(s, [
        MESSAGES[0] ?? new Uint8Array(),
        (MESSAGES[1] ?? new Uint8Array()).subarray(0, 10),
      ])
      await until(() => c.datagrams() === 1)
      await c.close()
      await gone
      expect(c.connections()).toBe(0)
      expect(c.stats.skipped).toEqual({ 'tcp-cut': 1 })
    } finally {
      s.destroy()
    }
  }, 8000)

  it('frames in linear time: one Message joined once, whatever the writes', () => {
    const f = new MessageFramer()
    const all = concat(...MESSAGES)
    const out: Uint8Array[] = []
    for (const b of all) out.push(...f.push(new Uint8Array([b])).messages)
    expect(out.map((m) => Buffer.from(m).toString('hex'))).toEqual(
      MESSAGES.map((m) => Buffer.from(m).toString('hex')),
    )
    expect(f.buffered).toBe(0)
    expect(f.push(new Uint8Array([0, 9, 0, 1])).bad?.octets).toBe(4)
  })
})

describe('bulkhead collect --listen tcp://', () => {
  it('prints the flows of a TCP exporter and stops on SIGINT with the connection open', async () => {
    const { out, err, run, restore } = runCollect([
      '--listen',
      'tcp://127.0.0.1:0',
      '--duration',
      '6',
    ])
    let s: Socket | undefined
    try {
      let port = 0
      await until(() => {
        const m = /listening on tcp 127\.0\.0\.1:(\d+)/.exec(err.join(''))
        port = m ? Number(m[1]) : 0
        return port > 0
      })
      const sock = connect({ host: '127.0.0.1', port })
      s = sock
      await new Promise<void>((r) => sock.once('connect', () => r()))
      await writeEach(sock, [concat(...MESSAGES)])
      await until(() => out.join('').trim().split('\n').length === 4)
      const gone = closedBy(sock)
      process.emit('SIGINT')
      const early = await Promise.race([
        run.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 3000)),
      ])
      expect(early).toBe(true)
      await gone
    } finally {
      s?.destroy()
      restore()
    }
    const printed = out
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(printed.map((f) => f['srcPort'])).toEqual([1, 2, 3, 4])
    expect(err.join('')).toMatch(
      /printed 4 of 4 decoded flows from 4 messages on tcp 127\.0\.0\.1:/,
    )
  }, 8000)
})

describe('bulkhead collect with several --listen', () => {
  it('listens on UDP and TCP at once, prints the flows of both, one summary each', async () => {
    const { out, err, run, restore } = runCollect([
      '--listen',
      'udp://127.0.0.1:0',
      '--listen',
      'tcp://127.0.0.1:0',
      '--count',
      '8',
      '--duration',
      '6',
    ])
    const udp = createSocket('udp4')
    let s: Socket | undefined
    try {
      const ports: Record<string, number> = {}
      await until(() => {
        for (const m of err.join('').matchAll(/listening on (udp|tcp) 127\.0\.0\.1:(\d+)/g))
          ports[m[1] ?? ''] = Number(m[2])
        return ports['udp'] !== undefined && ports['tcp'] !== undefined
      })
      for (const m of MESSAGES)
        await new Promise<void>((res, rej) =>
          udp.send(m, ports['udp'], '127.0.0.1', (e) => (e ? rej(e) : res())),
        )
      await until(() => out.join('').trim().split('\n').length === 4)
      const sock = connect({ host: '127.0.0.1', port: ports['tcp'] ?? 0 })
      s = sock
      await new Promise<void>((r) => sock.once('connect', () => r()))
      await writeEach(sock, [concat(...MESSAGES)])
      await run // --count 8
    } finally {
      s?.destroy()
      udp.close()
      restore()
    }
    const files = out.map((l) => (JSON.parse(l) as { source: { file: string } }).source.file)
    expect(files.map((f) => f.slice(0, 6))).toEqual([
      ...Array(4).fill('udp://'),
      ...Array(4).fill('tcp://'),
    ])
    expect(err.join('')).toMatch(
      /printed 4 of 4 decoded flows from 4 datagrams on udp 127\.0\.0\.1:/,
    )
    expect(err.join('')).toMatch(
      /printed 4 of 4 decoded flows from 4 messages on tcp 127\.0\.0\.1:/,
    )
  }, 8000)

  it('fails with a usage error when any of them cannot listen, first or last', async () => {
    const { c } = await tcpCollector()
    const taken = `tcp://127.0.0.1:${String(c.address.port)}`
    try {
      for (const listens of [
        [taken, 'udp://127.0.0.1:0'],
        ['udp://127.0.0.1:0', taken],
      ]) {
        const { run, restore } = runCollect([
          ...listens.flatMap((l) => ['--listen', l]),
          '--duration',
          '2',
        ])
        try {
          await expect(run).rejects.toThrow(/cannot listen on tcp 127\.0\.0\.1:\d+: .*EADDRINUSE/)
        } finally {
          restore()
        }
      }
    } finally {
      await c.close()
    }
  }, 8000)
})

describe('TCP collector keepalive', () => {
  const ss = spawnSync('ss', ['-V'])
  const why = ss.error
    ? 'ss (iproute2) is not installed: cannot read the socket timers'
    : process.platform !== 'linux'
      ? 'ss shows socket timers on Linux'
      : undefined
  it.skipIf(why !== undefined)(
    `probes a silent exporter after KEEPALIVE_MS, so a dead one does not hold its place${why !== undefined ? ` (skipped: ${why})` : ''}`,
    async () => {
      const { c } = await tcpCollector()
      const s = await dial(c)
      try {
        // the collector's end of the connection: source port = the collector's
        const out = spawnSync(
          'ss',
          ['-tnoH', 'state', 'established', `( sport = :${String(c.address.port)} )`],
          { encoding: 'utf8', timeout: 5000 },
        ).stdout
        expect(out).toMatch(/timer:\(keepalive,(\d+)(min|sec)/)
        const [, n = '0', unit] = /timer:\(keepalive,(\d+)(min|sec)/.exec(out) ?? []
        expect(Number(n) * (unit === 'min' ? 60 : 1)).toBeLessThanOrEqual(KEEPALIVE_MS / 1000)
      } finally {
        s.destroy()
        await c.close()
      }
    },
  )
})
