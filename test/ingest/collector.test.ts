import { createSocket } from 'node:dgram'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command } from 'commander'
import { describe, expect, it, vi } from 'vitest'
import {
  formatCollectSummary,
  parseListen,
  listenText,
  registerCollect,
} from '../../src/cli/commands/collect.js'
import type { Flow } from '../../src/core/flow.js'
import { exporterHost, startCollector } from '../../src/ingest/collector.js'
import { readFlows } from '../../src/ingest/read.js'
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
  v9,
} from './netflow-builders.js'
import { collectOver, rec, runCollect, T0 } from './collect-helper.js'

describe('UDP collector', () => {
  it('decodes v9 and IPFIX sent over UDP, template then data, and counts garbage', async () => {
    const H9 = { sysUptime: 1, secs: 1_700_000_000, sourceId: 4 }
    const { flows, collector: c } = await collectOver(
      [
        v9(H9, template(0, 256, TPL_V4)),
        new Uint8Array([1, 2, 3]), // garbage
        concat(u16(99), new Uint8Array(30)), // unknown version
        new Uint8Array(2500), // too large
        v9(H9, set(256, rec(1))),
        ipfix({ exportTime: 1_700_000_000, domain: 9 }, template(2, 400, '8:4 12:4 4:1 32:2')),
        ipfix(
          { exportTime: 1_700_000_000, domain: 9 },
          set(400, concat(ip4('10.9.0.3'), ip4('10.9.0.4'), u8(1), u16(0x0800))),
        ),
        v9(H9, set(256, rec(2))),
      ],
      3,
      { maxDatagramBytes: 2000 },
    )
    expect(flows.map((f) => [f.source.format, f.src, f.srcPort, f.dstPort])).toEqual([
      ['netflow-v9', '10.9.0.1', 1, 5432],
      ['ipfix', '10.9.0.3', 0, 8],
      ['netflow-v9', '10.9.0.1', 2, 5432],
    ])
    expect(flows[0]?.source.file).toMatch(/^udp:\/\/127\.0\.0\.1:\d+$/)
    expect(flows[0]?.source.record).toBe(4)
    expect(c.stats.records).toBe(3)
    expect(c.stats.skipped).toEqual({ 'bad-length': 1, 'bad-version': 1, 'too-large': 1 })
    expect(c.datagrams()).toBe(8)
    await c.close() // idempotent
  }, 5000)

  it('gives the flows reading the same datagrams from a file gives (oriented client→server)', async () => {
    const H9 = { sysUptime: 1, secs: 1_700_000_000, sourceId: 4 }
    const back = recV4({
      src: '10.9.0.2',
      dst: '10.9.0.1',
      sp: 5432,
      dp: 40001,
      proto: 6,
      pkts: 3,
      bytes: 300,
      start: T0,
      end: T0 + 50,
    })
    const datagram = v9(H9, template(0, 256, TPL_V4), set(256, concat(rec(40000), back)))
    const dir = mkdtempSync(join(tmpdir(), 'bulkhead-collect-'))
    const read: Flow[] = []
    try {
      writeFileSync(join(dir, 'one.dat'), datagram)
      for await (const f of readFlows(
        [join(dir, 'one.dat')],
        { format: 'netflow', strict: false },
        [],
      ))
        read.push(f)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    const { flows } = await collectOver([datagram], 2)
    const body = ({ source: _, ...f }: Flow): Omit<Flow, 'source'> => f
    expect(flows.map(body)).toEqual(read.map(body))
    // the record from the server's port 5432 is turned round
    expect(flows[1]).toMatchObject({
      src: '10.9.0.1',
      srcPort: 40001,
      dst: '10.9.0.2',
      dstPort: 5432,
      direction: 'client-to-server',
    })
  })

  it('keeps IPFIX templates per transport session: two exporters behind one address (RFC 7011 §8)', async () => {
    const H = { exportTime: 1_700_000_000, domain: 9 }
    const tpl = (fields: [number, number][]): Uint8Array => ipfix(H, template(2, 400, fields))
    const data = concat(ip4('10.9.0.3'), ip4('10.9.0.4'), u8(17), u16(53))
    const { flows } = await collectOver(
      [
        // the same template id, in two layouts: sender 1's order of addresses is the reverse
        {
          sender: 0,
          bytes: tpl([
            [8, 4],
            [12, 4],
            [4, 1],
            [11, 2],
          ]),
        },
        {
          sender: 1,
          bytes: tpl([
            [12, 4],
            [8, 4],
            [4, 1],
            [11, 2],
          ]),
        },
        { sender: 0, bytes: ipfix(H, set(400, data)) },
        { sender: 1, bytes: ipfix(H, set(400, data)) },
      ],
      2,
    )
    expect(flows.map((f) => [f.src, f.dst])).toEqual([
      ['10.9.0.3', '10.9.0.4'],
      ['10.9.0.4', '10.9.0.3'],
    ])
  })

  it('counts the datagrams the sequence numbers show lost, and the summary says so', async () => {
    const H9 = { sysUptime: 1, secs: 1_700_000_000, sourceId: 4 }
    const { collector: c } = await collectOver(
      [
        v9({ ...H9, sequence: 0 }, template(0, 256, TPL_V4)),
        v9({ ...H9, sequence: 1 }, set(256, rec(1))),
        v9({ ...H9, sequence: 4 }, set(256, rec(2))), // 2 and 3 never came
      ],
      2,
    )
    expect(c.stats.notes['lost-datagrams']).toBe(2)
    expect(formatCollectSummary(c.stats, 2, c.datagrams(), '127.0.0.1:2055')).toBe(
      "printed 2 of 2 decoded flows from 3 datagrams on 127.0.0.1:2055; missing by the exporters' sequence numbers: datagrams=2",
    )
  })

  it("names the summary's notes notes, not 'not flows': most describe flows it printed", () => {
    // nfreplay's v9 header clock is a day before its flows (ends-after-export, on printed flows);
    // a refusal's flow is noted refused-by-reset; only a pair's second record became no flow
    const stats = {
      records: 4,
      skipped: {},
      notes: { 'ends-after-export': 6, 'paired-directions': 2, 'refused-by-reset': 1 },
      examples: [],
    }
    expect(formatCollectSummary(stats, 4, 1, 'udp 127.0.0.1:2055')).toBe(
      'printed 4 of 4 decoded flows from 1 datagram on udp 127.0.0.1:2055; notes: ends-after-export=6, paired-directions=2, refused-by-reset=1',
    )
  })

  it('counts data still waiting for a template as no-template on close', async () => {
    const c = await startCollector({ host: '127.0.0.1', port: 0, onFlow: () => undefined })
    const sender = createSocket('udp4')
    try {
      const seen = new Promise<void>((res) => {
        const t = setInterval(() => {
          if (c.datagrams() >= 1) {
            clearInterval(t)
            res()
          }
        }, 10)
        setTimeout(() => {
          clearInterval(t)
          res()
        }, 3000)
      })
      sender.send(
        v9({ sysUptime: 1, secs: 1, sourceId: 1 }, set(256, concat(u32(1), u32(2)))),
        c.address.port,
        '127.0.0.1',
      )
      await seen
    } finally {
      sender.close()
      await c.close()
    }
    expect(c.stats.skipped).toEqual({ 'no-template': 1 })
  }, 5000)

  it('rejects when the port is taken', async () => {
    const a = await startCollector({ host: '127.0.0.1', port: 0, onFlow: () => undefined })
    try {
      await expect(
        startCollector({ host: '127.0.0.1', port: a.address.port, onFlow: () => undefined }),
      ).rejects.toThrow(/EADDRINUSE/)
    } finally {
      await a.close()
    }
  })
})

describe('an IPv4 exporter seen through a dual-stack socket (s44 QA ipv6 F7)', () => {
  it('is named by its IPv4 address, not ::ffff:a.b.c.d', () => {
    expect(exporterHost('::ffff:127.0.0.1')).toBe('127.0.0.1')
    expect(exporterHost('::FFFF:10.0.0.1')).toBe('10.0.0.1')
    expect(exporterHost('::1')).toBe('::1')
    expect(exporterHost('2001:db8::ffff:1.2.3.4')).toBe('2001:db8::ffff:1.2.3.4')
  })

  it('in source.file, listening on [::]', async (ctx) => {
    const flows: Flow[] = []
    let c: Awaited<ReturnType<typeof startCollector>>
    try {
      c = await startCollector({ host: '::', port: 0, pair: false, onFlow: (f) => flows.push(f) })
    } catch (err) {
      // visible: a machine without IPv6 sockets has no dual-stack listener to test
      ctx.skip(`no IPv6 socket here: ${String(err)}`)
      return
    }
    const sender = createSocket('udp4')
    try {
      const H9 = { sysUptime: 1, secs: 1_700_000_000, sourceId: 4 }
      const dgram = v9(H9, template(0, 256, TPL_V4), set(256, rec(1)))
      await new Promise<void>((res, rej) =>
        sender.send(dgram, c.address.port, '127.0.0.1', (e) => (e ? rej(e) : res())),
      )
      for (let i = 0; i < 200 && flows.length === 0; i++)
        await new Promise((r) => setTimeout(r, 10))
    } finally {
      sender.close()
      await c.close()
    }
    expect(flows.map((f) => f.source.file)).toEqual([
      expect.stringMatching(/^udp:\/\/127\.0\.0\.1:\d+$/),
    ])
  })
})

describe('bulkhead collect', () => {
  it('names an IPv6 listening address in brackets, as --listen takes it (s44 QA ipv6 F6)', () => {
    // (no socket: IPv6 loopback may be off where the tests run)
    expect(listenText('udp', '::1', 2055)).toBe('udp [::1]:2055')
    expect(listenText('tcp', '::', 4739)).toBe('tcp [::]:4739')
    expect(listenText('udp', '127.0.0.1', 2055)).toBe('udp 127.0.0.1:2055')
  })

  it('prints flows as JSON lines, stops after --count, summary on stderr', async () => {
    const sender = createSocket('udp4')
    const { out, err, run, restore } = runCollect([
      '--listen',
      '127.0.0.1:0',
      '--count',
      '2',
      '--duration',
      '4',
    ])
    try {
      let port = 0
      for (let i = 0; i < 200 && port === 0; i++) {
        await new Promise((r) => setTimeout(r, 10))
        const m = /listening on udp 127\.0\.0\.1:(\d+)/.exec(err.join(''))
        if (m) port = Number(m[1])
      }
      expect(port).toBeGreaterThan(0)
      const H9 = { sysUptime: 1, secs: 1_700_000_000, sourceId: 4 }
      sender.send(
        v9(H9, template(0, 256, TPL_V4), set(256, concat(rec(1), rec(2), rec(3)))),
        port,
        '127.0.0.1',
      )
      await run
    } finally {
      sender.close()
      restore()
    }
    const lines = out.join('').trim().split('\n')
    const printed = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(printed.map((f) => f['srcPort'])).toEqual([1, 2])
    // the shape of `bulkhead flows -o jsonl`: ISO-8601 times
    expect(printed[0]).toMatchObject({ start: new Date(T0).toISOString() })
    expect(err.join('')).toMatch(/printed 2 of 3 decoded flows from 1 datagram on/)
  }, 5000)

  it('pairs the two directions by default, --no-pair keeps them apart', async () => {
    const H9 = { sysUptime: 1, secs: 1_700_000_000, sourceId: 4 }
    const back = recV4({
      src: '10.9.0.2',
      dst: '10.9.0.1',
      sp: 5432,
      dp: 1,
      proto: 6,
      pkts: 3,
      bytes: 300,
      start: T0,
      end: T0 + 50,
    })
    const printed = async (pair: boolean): Promise<unknown[]> => {
      const sender = createSocket('udp4')
      const { out, err, run, restore } = runCollect(
        ['--listen', '127.0.0.1:0', '--count', '2', '--duration', '1'],
        { pair },
      )
      try {
        let port = 0
        for (let i = 0; i < 200 && port === 0; i++) {
          await new Promise((r) => setTimeout(r, 10))
          const m = /listening on udp 127\.0\.0\.1:(\d+)/.exec(err.join(''))
          if (m) port = Number(m[1])
        }
        sender.send(
          v9(H9, template(0, 256, TPL_V4), set(256, concat(rec(1), back))),
          port,
          '127.0.0.1',
        )
        await run
      } finally {
        sender.close()
        restore()
      }
      return out
        .join('')
        .trim()
        .split('\n')
        .map((l) => {
          const f = JSON.parse(l) as Record<string, unknown>
          return [f['srcPort'], f['packets'], f['bytes']]
        })
    }
    // both ports are listed servers (1 < 1024, 5432): no evidence, so the pair is the record
    // read first, 10.9.0.1:1 → 10.9.0.2:5432, 4 + 3 packets, 400 + 300 octets; apart, each as written
    expect(await printed(true)).toEqual([[1, 7, 700]])
    expect(await printed(false)).toEqual([
      [1, 4, 400],
      [5432, 3, 300],
    ])
  }, 8000)

  it('stops on SIGTERM as on Ctrl-C, and prints its summary', async () => {
    const listeners = process.listenerCount('SIGTERM')
    const err: string[] = []
    const so = vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
    const se = vi
      .spyOn(process.stderr, 'write')
      .mockImplementation((c) => (err.push(String(c)), true))
    try {
      const program = new Command('bulkhead').exitOverride()
      registerCollect(program)
      const run = program.parseAsync(['collect', '--listen', '127.0.0.1:0', '--duration', '6'], {
        from: 'user',
      })
      for (let i = 0; i < 200 && !err.join('').includes('listening on udp'); i++)
        await new Promise((r) => setTimeout(r, 10))
      process.emit('SIGTERM')
      // stopped by the signal, not by --duration
      const early = await Promise.race([
        run.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 3000)),
      ])
      expect(early).toBe(true)
    } finally {
      so.mockRestore()
      se.mockRestore()
    }
    expect(err.join('')).toMatch(/printed 0 of 0 decoded flows from 0 datagrams/)
    expect(process.listenerCount('SIGTERM')).toBe(listeners)
  }, 8000)

  it('parses --listen forms and rejects others', () => {
    expect(parseListen('127.0.0.1:2055')).toEqual({
      transport: 'udp',
      host: '127.0.0.1',
      port: 2055,
    })
    expect(parseListen('[::1]:4739')).toEqual({ transport: 'udp', host: '::1', port: 4739 })
    expect(parseListen(':2055')).toEqual({ transport: 'udp', host: '0.0.0.0', port: 2055 })
    // a transport prefix, as Telegraf's `service_address = "udp://:2055"`
    expect(parseListen('tcp://127.0.0.1:4739')).toEqual({
      transport: 'tcp',
      host: '127.0.0.1',
      port: 4739,
    })
    expect(parseListen('TCP://[::1]:4739')).toEqual({ transport: 'tcp', host: '::1', port: 4739 })
    expect(parseListen('udp://:2055')).toEqual({ transport: 'udp', host: '0.0.0.0', port: 2055 })
    expect(() => parseListen('sctp://127.0.0.1:4739')).toThrow(/--listen/)
    expect(() => parseListen('127.0.0.1')).toThrow(/--listen/)
    expect(() => parseListen('host:70000')).toThrow(/--listen/)
  })
})

describe('UDP collector: the two directions of a connection', () => {
  const H9 = { sysUptime: 1, secs: 1_700_000_000, sourceId: 4 }
  // the reply of rec(40000): 10.9.0.2:5432 → 10.9.0.1:40000, 3 packets, 300 octets, T0 … T0 + 50
  const back = recV4({
    src: '10.9.0.2',
    dst: '10.9.0.1',
    sp: 5432,
    dp: 40000,
    proto: 6,
    pkts: 3,
    bytes: 300,
    start: T0,
    end: T0 + 50,
  })
  const datagrams = [
    v9(H9, template(0, 256, TPL_V4), set(256, rec(40000))),
    v9(H9, template(0, 256, TPL_V4), set(256, back)),
  ]

  it('pairs them into one client→server flow, as reading the datagrams from a file does', async () => {
    const started = Date.now()
    const { flows, collector: c } = await collectOver(datagrams, 1, { pair: true })
    // given out when the reply came, not when the collector closed (4 s at most)
    expect(Date.now() - started).toBeLessThan(3000)
    // by hand: 10.9.0.1:40000 → 10.9.0.2:5432 (5432 a server port), 4 + 3 packets, 400 + 300 octets
    expect(flows).toHaveLength(1)
    expect(flows[0]).toMatchObject({
      src: '10.9.0.1',
      srcPort: 40000,
      dst: '10.9.0.2',
      dstPort: 5432,
      packets: 7,
      bytes: 700,
      start: T0,
      end: T0 + 50,
      direction: 'client-to-server',
      source: { format: 'netflow-v9', record: 0 },
    })
    expect(c.stats.records).toBe(1)
    expect(c.stats.notes['paired-directions']).toBe(1)
    const dir = mkdtempSync(join(tmpdir(), 'bulkhead-collect-'))
    const read: Flow[] = []
    try {
      writeFileSync(join(dir, 'two.dat'), concat(...datagrams))
      for await (const f of readFlows(
        [join(dir, 'two.dat')],
        { format: 'netflow', strict: false },
        [],
      ))
        read.push(f)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    const body = ({ source: _, ...f }: Flow): Omit<Flow, 'source'> => f
    expect(flows.map(body)).toEqual(read.map(body))
  })

  it('never pairs the records of two exporters: IPFIX from two ports are two; v9 from one address and source id is one', async () => {
    // IPFIX over UDP: the exporter is its address and port (RFC 7011 §8, §10.3.1)
    const H = { exportTime: 1_700_000_000, domain: 9 }
    const { flows, collector: c } = await collectOver(
      [
        { sender: 0, bytes: ipfix(H, template(2, 256, TPL_V4), set(256, rec(40000))) },
        { sender: 1, bytes: ipfix(H, template(2, 256, TPL_V4), set(256, back)) },
      ],
      2,
      { pair: true, pairHoldMs: 50 },
    )
    expect(flows.map((f) => [f.packets, f.bytes])).toEqual([
      [4, 400],
      [3, 300],
    ])
    expect(c.stats.notes['paired-directions']).toBeUndefined()
    // NetFlow v9: the exporter is its address and source id (RFC 3954 §5.1), whatever the port
    const v9Pair = await collectOver(
      [
        { sender: 0, bytes: datagrams[0] as Uint8Array },
        { sender: 1, bytes: datagrams[1] as Uint8Array },
      ],
      1,
      { pair: true },
    )
    expect(v9Pair.flows.map((f) => [f.packets, f.bytes])).toEqual([[7, 700]])
  })

  it('gives out a record whose other direction does not come once its hold is over', async () => {
    const started = Date.now()
    let atClose = -1
    const { flows } = await collectOver([datagrams[0] as Uint8Array], 1, {
      pair: true,
      pairHoldMs: 100,
      onStats: (s) => {
        if (s.records === 1 && atClose < 0) atClose = Date.now() - started
      },
    })
    expect(flows).toHaveLength(1)
    // by the timer (ticks of at most 100 ms here), well before collectOver's 4 s wait ends
    expect(atClose).toBeGreaterThanOrEqual(0)
    expect(atClose).toBeLessThan(3000)
  })
})
