/**
 * @module Property: the store pairs the two directions of a connection across files as reading
 * pairs them within one file. Generated AWS VPC v2 records, split at random over 2–3 files
 * (`a.log` < `b.log` < `c.log`), stored file by file in that order, in the reverse order, or in
 * one command (either order), give the same `flows` rows (and unpaired-half marks) as the
 * files concatenated in path order stored as one file, the concatenation's lines mapped back to
 * the files' own. Re-ingesting the files adds nothing.
 *
 * Domain: at most two records per connection key (protocol and the two endpoints): a request,
 * its reply, or both; or one direction logged at both ends, accepted at one and rejected at the
 * other; or (`run`) one direction accepted twice at the client's interface and rejected at the
 * server's, each within 60 s of the others, read `reject` at all three. With three or more records
 * of one key that include both directions, which two pair depends on the order reading meets them,
 * and a concatenation is no longer the same in both orders (README "Limits today").
 */
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { ingestFiles, type IngestJob } from '../../src/cli/commands/ingest.js'
import { openDuckDbStore } from '../../src/store/index.js'
import { SEED } from '../helpers/model.js'
import { ether, ipv4, pcap, udp } from '../ingest/capture-builders.js'
import { v5 } from '../ingest/netflow-builders.js'

const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-pair-prop-'))
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

const RUNS = 30
const T0 = 1_790_000_000
const HOSTS = ['10.0.1.7', '10.0.2.9', '10.0.3.4', '10.0.4.2']

/** How one connection was logged: which of its records exist. */
type Kind = 'both' | 'request' | 'reply' | 'split-action' | 'both-ends' | 'run'

interface Connection {
  readonly client: number
  readonly server: number
  readonly protocol: number
  readonly clientPort: number
  readonly serverPort: number
  readonly kind: Kind
  readonly action: 'ACCEPT' | 'REJECT'
  /** Request start (s after T0), its length, the reply's offset to it and length. */
  readonly start: number
  readonly length: number
  readonly lag: number
  readonly replyLength: number
  readonly counters: readonly [number, number, number, number]
}

const counter = fc.oneof(
  fc.nat(100_000),
  // near 2^53 - 1: the sum of two halves is held there
  fc.nat(1_000_000).map((d) => Number.MAX_SAFE_INTEGER - d),
)

const port = fc.oneof(
  fc.constantFrom(443, 22, 53, 5432, 8080, 50051),
  fc.integer({ min: 1024, max: 32767 }),
  fc.integer({ min: 32768, max: 65535 }),
)

const connection: fc.Arbitrary<Connection> = fc
  .record({
    client: fc.nat(HOSTS.length - 1),
    server: fc.nat(HOSTS.length - 2),
    protocol: fc.constantFrom(6, 6, 6, 17, 17, 1, 50),
    clientPort: port,
    serverPort: port,
    kind: fc.constantFrom<Kind>(
      'both',
      'both',
      'both',
      'request',
      'reply',
      'split-action',
      'both-ends',
      'run',
    ),
    action: fc.constantFrom<'ACCEPT' | 'REJECT'>('ACCEPT', 'ACCEPT', 'REJECT'),
    start: fc.nat(7200),
    length: fc.nat(600),
    // beyond ±60 s after the other's end: not near
    lag: fc.oneof(
      { arbitrary: fc.integer({ min: -60, max: 60 }), weight: 3 },
      { arbitrary: fc.integer({ min: -700, max: 700 }), weight: 1 },
    ),
    replyLength: fc.nat(600),
    counters: fc.tuple(counter, counter, counter, counter),
  })
  .map((c) => {
    // AWS writes ports 0 for protocols without ports (ICMP: no type either)
    const ports = c.protocol === 6 || c.protocol === 17
    return {
      ...c,
      server: c.server >= c.client ? c.server + 1 : c.server,
      clientPort: ports ? c.clientPort : 0,
      serverPort: ports ? c.serverPort : 0,
    }
  })

/** The connection key: protocol and the two endpoints, unordered. */
function keyOf(c: Connection): string {
  const a = `${String(c.client)}:${String(c.clientPort)}`
  const b = `${String(c.server)}:${String(c.serverPort)}`
  return `${String(c.protocol)} ${a < b ? `${a} ${b}` : `${b} ${a}`}`
}

/** The AWS VPC v2 records of a connection. */
function recordsOf(c: Connection): string[] {
  const line = (
    src: number,
    dst: number,
    sp: number,
    dp: number,
    start: number,
    length: number,
    packets: number,
    bytes: number,
    action: string,
    eni: string,
  ): string =>
    `2 123456789012 ${eni} ${HOSTS[src] as string} ${HOSTS[dst] as string} ${String(sp)} ${String(dp)} ` +
    `${String(c.protocol)} ${String(packets)} ${String(bytes)} ${String(T0 + start)} ${String(T0 + start + length)} ${action} OK`
  const [p1, b1, p2, b2] = c.counters
  const replyStart = Math.max(0, c.start + c.lag)
  const request = (action: string, eni = 'eni-0c'): string =>
    line(c.client, c.server, c.clientPort, c.serverPort, c.start, c.length, p1, b1, action, eni)
  const reply = (action: string): string =>
    line(
      c.server,
      c.client,
      c.serverPort,
      c.clientPort,
      replyStart,
      c.replyLength,
      p2,
      b2,
      action,
      'eni-0c',
    )
  switch (c.kind) {
    case 'both':
      return [request(c.action), reply(c.action)]
    case 'request':
      return [request(c.action)]
    case 'reply':
      return [reply(c.action)]
    case 'split-action':
      return [request('ACCEPT'), reply('REJECT')]
    case 'both-ends':
      // the client's interface let it out, the server's refused it (near in time)
      return [
        request('ACCEPT'),
        line(
          c.client,
          c.server,
          c.clientPort,
          c.serverPort,
          Math.max(0, c.start + (c.lag % 50)),
          c.replyLength,
          p2,
          b2,
          'REJECT',
          'eni-0s',
        ),
      ]
    case 'run': {
      // as goflow2's run below: every two of the three start within 30 s of each other
      const lag = Math.abs(c.lag)
      const at = (start: number, length: number, bytes: number, action: string, eni: string) =>
        line(c.client, c.server, c.clientPort, c.serverPort, start, length, p2, bytes, action, eni)
      return [
        request('ACCEPT'),
        at(c.start + (lag % 20), c.length, b2 + 1, 'ACCEPT', 'eni-0c'),
        at(c.start + (lag % 30), c.replyLength, b2, 'REJECT', 'eni-0s'),
      ]
    }
  }
}

/** A case: connections with distinct keys, their records in an order, each in one of `files` files. */
const scenario = fc
  .record({
    connections: fc.uniqueArray(connection, { minLength: 1, maxLength: 12, selector: keyOf }),
    files: fc.integer({ min: 2, max: 3 }),
    seed: fc.infiniteStream(fc.tuple(fc.nat(1000), fc.nat(2))),
  })
  .map(({ connections, files, seed }) => {
    const records = connections.flatMap(recordsOf)
    const placed = records.map((text) => {
      const [order, file] = seed.next().value as [number, number]
      return { text, order, file: file % files }
    })
    placed.sort((x, y) => x.order - y.order)
    const byFile: string[][] = Array.from({ length: files }, () => [])
    for (const p of placed) (byFile[p.file] as string[]).push(p.text)
    return byFile.filter((lines) => lines.length > 0)
  })

let runs = 0
/** What the stores settled across files over all runs: the generator must reach both. */
const across = { paired: 0, rejected: 0, unknownDirection: 0 }

/** The `flows` rows of the store at `ws` (without `rowid`), each with its `half`, sorted. */
async function rows(
  store: string,
  mapLine?: (file: string, line: number) => [string, number],
): Promise<string[]> {
  const s = await openDuckDbStore(store, { readOnly: true })
  try {
    const got = await s.query<Record<string, unknown>>(
      'SELECT v.* EXCLUDE (rowid), fr.half FROM flows v JOIN flow_rows fr ON fr.rowid = v.rowid',
    )
    return got
      .map((r) => {
        if (mapLine !== undefined) {
          const [file, line] = mapLine(r['file'] as string, r['line'] as number)
          r['file'] = file
          r['line'] = line
        }
        return JSON.stringify(r)
      })
      .sort()
  } finally {
    await s.close()
  }
}

async function ingest(store: string, files: readonly string[]): Promise<void> {
  const jobs: IngestJob[] = files.map((file) => ({ file, format: 'aws-vpc' }))
  const out = await ingestFiles(jobs, store, { strict: true, progress: false })
  expect(out.failed).toEqual([])
  across.paired += out.notes['paired-across-files'] ?? 0
  across.rejected += out.notes['rejected-at-other-end'] ?? 0
}

describe('pairing across files (property)', () => {
  it('files stored one by one (either order) or in one command store what their concatenation stores', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (byFile) => {
        const dir = path.join(root, `run-${String(runs++)}`)
        mkdirSync(dir)
        const names = byFile.map((_, i) => path.join(dir, `${'abc'[i] as string}.log`))
        byFile.forEach((lines, i) => {
          writeFileSync(names[i] as string, lines.join('\n') + '\n')
        })
        // the files concatenated in path order, and where each one's lines start
        const concat = path.join(dir, 'all.log')
        writeFileSync(concat, '')
        const offsets: number[] = []
        let at = 0
        for (const [i, lines] of byFile.entries()) {
          offsets.push(at)
          at += lines.length
          appendFileSync(concat, readFileSync(names[i] as string))
        }
        const back = (file: string, line: number): [string, number] => {
          if (file !== concat) return [file, line]
          let i = offsets.length - 1
          while ((offsets[i] as number) >= line) i--
          return [names[i] as string, line - (offsets[i] as number)]
        }
        const store = (name: string): string => path.join(dir, `${name}.duckdb`)
        await ingest(store('concat'), [concat])
        const expected = await rows(store('concat'), back)
        // merged pairs whose direction neither half showed: the client is the first in path order
        across.unknownDirection += expected.filter(
          (r) => r.includes('"direction":"unknown"') && r.includes('"half":0'),
        ).length

        for (const name of names) await ingest(store('forward'), [name])
        expect(await rows(store('forward'))).toEqual(expected)
        // idempotent: stored again, nothing changes
        await ingest(store('forward'), names)
        for (const name of names) await ingest(store('forward'), [name])
        expect(await rows(store('forward'))).toEqual(expected)

        for (const name of [...names].reverse()) await ingest(store('backward'), [name])
        expect(await rows(store('backward'))).toEqual(expected)

        await ingest(store('one-run'), names)
        expect(await rows(store('one-run'))).toEqual(expected)
        await ingest(store('one-run-reversed'), [...names].reverse())
        expect(await rows(store('one-run-reversed'))).toEqual(expected)
        rmSync(dir, { recursive: true, force: true })
      }),
      { seed: SEED, numRuns: RUNS },
    )
    expect(across.paired).toBeGreaterThan(RUNS)
    expect(across.rejected).toBeGreaterThan(0)
    expect(across.unknownDirection).toBeGreaterThan(0)
  }, 600_000)
})

/**
 * NetFlow/IPFIX and goflow2: records of one direction, paired per exporter within a file
 * (netflow/pairing.ts) and by the store across files (store schema version 5, `exporter`). The
 * same property as above over two exporters: a NetFlow v5 capture (one datagram per record, each
 * frame sent from the exporter's address, so the capture names its exporter) and goflow2 JSON
 * lines (`sampler_address`). Kinds: a request and its reply of one exporter, either alone, a
 * request and a reply with different actions (goflow2 `forwarding_status`), and a request seen by
 * one exporter with its reply seen by the other, which never pair, and (goflow2) one direction
 * that one exporter forwarded and dropped, which is read `reject` at both records (the store
 * settles it across files per exporter, `settleExporterEnds`). ICMP: typed requests and their
 * replies (v5: type·256 + code in the destination port; goflow2 `icmp_type`/`icmp_code`, sent as
 * `NETFLOW_V9` so that the `IPFIX` lines' typeless ICMP stays typeless: a type 0 reads as an echo
 * reply only from an exporter that gave a type before in its file, so goflow2's echo is left out),
 * and goflow2's typeless ICMP (an echo request either way, paired by its addresses). Compared: the
 * `flows` rows, with each row's `half` and its exporter's key. A `run` (goflow2): one direction
 * that one exporter forwarded twice and dropped once, each within 60 s of the others, in any order
 * and split over the files in any way: every record is read `reject` (reading holds a direction's
 * earlier records as a run, direction.ts `PAIR_RUN`; the store settles across files).
 */
type ExporterKind =
  'both' | 'request' | 'reply' | 'split-action' | 'two-exporters' | 'both-ends' | 'run'

interface ExporterConnection extends Omit<Connection, 'kind' | 'action'> {
  readonly kind: ExporterKind
  readonly exporter: number
  readonly action: 'accept' | 'reject' | 'unknown'
  /** ICMP: the request's type and code (the reply's type answers it); undefined: typeless. */
  readonly icmp: { readonly type: number; readonly code: number } | undefined
}

/** The reply type of each ICMP request type generated (RFC 792: echo, timestamp, information, mask). */
const REPLY_OF: Readonly<Record<number, number>> = { 8: 0, 13: 14, 15: 16, 17: 18 }

const EXPORTERS = ['192.0.2.1', '192.0.2.2']

function exporterConnection(format: 'netflow' | 'goflow2'): fc.Arbitrary<ExporterConnection> {
  return fc
    .record({
      client: fc.nat(HOSTS.length - 1),
      server: fc.nat(HOSTS.length - 2),
      // goflow2 ICMP without a type: an echo request, paired by its addresses (typeless)
      protocol:
        format === 'goflow2'
          ? fc.constantFrom(6, 6, 6, 17, 17, 1, 1)
          : fc.constantFrom(6, 6, 17, 1),
      typed: format === 'goflow2' ? fc.boolean() : fc.constant(true),
      icmpType:
        format === 'goflow2' ? fc.constantFrom(13, 15, 17) : fc.constantFrom(8, 8, 13, 15, 17),
      icmpCode: fc.constantFrom(0, 0, 1),
      clientPort: port,
      serverPort: port,
      kind: fc.constantFrom<ExporterKind>(
        'both',
        'both',
        'both',
        'request',
        'reply',
        'split-action',
        'two-exporters',
        'both-ends',
        'run',
        'run',
      ),
      exporter: fc.nat(EXPORTERS.length - 1),
      action: fc.constantFrom<'accept' | 'reject' | 'unknown'>('unknown', 'accept', 'reject'),
      start: fc.nat(7200),
      length: fc.nat(600),
      lag: fc.oneof(
        { arbitrary: fc.integer({ min: -60, max: 60 }), weight: 3 },
        { arbitrary: fc.integer({ min: -700, max: 700 }), weight: 1 },
      ),
      replyLength: fc.nat(600),
      counters: fc.tuple(fc.nat(100_000), fc.nat(100_000), fc.nat(100_000), fc.nat(100_000)),
    })
    .map(({ typed, icmpType, icmpCode, ...c }) => {
      const ports = c.protocol === 6 || c.protocol === 17
      const icmp = c.protocol === 1 && typed ? { type: icmpType, code: icmpCode } : undefined
      return {
        ...c,
        icmp,
        server: c.server >= c.client ? c.server + 1 : c.server,
        // typed ICMP: as a flow writes it, the code in the source port and the type in the
        // destination port (the connection key of reading's icmpKey: the request's)
        clientPort: ports ? c.clientPort : (icmp?.code ?? 0),
        serverPort: ports ? c.serverPort : (icmp?.type ?? 0),
        // NetFlow v5 has no action; split-action, both-ends and run need one
        kind:
          format === 'netflow' &&
          (c.kind === 'split-action' || c.kind === 'both-ends' || c.kind === 'run')
            ? 'both'
            : c.kind,
        action: format === 'netflow' ? 'unknown' : c.action,
      }
    })
}

/** One direction's record of a connection: who sent it, its ends, times (s after T0), counters. */
interface OneWay {
  readonly exporter: number
  readonly src: number
  readonly dst: number
  readonly sp: number
  readonly dp: number
  readonly protocol: number
  readonly start: number
  readonly length: number
  readonly packets: number
  readonly bytes: number
  readonly action: 'accept' | 'reject' | 'unknown'
  /** An ICMP record with its type: `dp` the type, `sp` the code. */
  readonly typed: boolean
}

function oneWays(c: ExporterConnection): OneWay[] {
  const [p1, b1, p2, b2] = c.counters
  const other = (c.exporter + 1) % EXPORTERS.length
  const request = (action = c.action): OneWay => ({
    exporter: c.exporter,
    src: c.client,
    dst: c.server,
    sp: c.clientPort,
    dp: c.serverPort,
    protocol: c.protocol,
    start: c.start,
    length: c.length,
    packets: p1,
    bytes: b1,
    action,
    typed: c.icmp !== undefined,
  })
  const reply = (action = c.action, exporter = c.exporter): OneWay => ({
    exporter,
    src: c.server,
    dst: c.client,
    // a typed ICMP reply: its own type (answering the request's), the same code
    sp: c.icmp === undefined ? c.serverPort : c.icmp.code,
    dp: c.icmp === undefined ? c.clientPort : (REPLY_OF[c.icmp.type] as number),
    protocol: c.protocol,
    start: Math.max(0, c.start + c.lag),
    length: c.replyLength,
    packets: p2,
    bytes: b2,
    action,
    typed: c.icmp !== undefined,
  })
  switch (c.kind) {
    case 'both':
      return [request(), reply()]
    case 'request':
      return [request()]
    case 'reply':
      return [reply()]
    case 'split-action':
      return [request('accept'), reply('reject')]
    case 'two-exporters':
      return [request(), reply(c.action, other)]
    case 'both-ends':
      // the exporter forwarded it and dropped it (logged at two interfaces), near in time
      return [
        request('accept'),
        {
          ...request('reject'),
          start: Math.max(0, c.start + (c.lag % 50)),
          length: c.replyLength,
          packets: p2,
          bytes: b2,
        },
      ]
    case 'run': {
      // forwarded at `start` and up to 19 s later, dropped up to 29 s after `start`: each
      // record starts within 30 s of the others' starts, so every two are near (60 s slack)
      const lag = Math.abs(c.lag)
      return [
        request('accept'),
        { ...request('accept'), start: c.start + (lag % 20), packets: p2, bytes: b2 + 1 },
        { ...request('reject'), start: c.start + (lag % 30), length: c.replyLength, bytes: b2 },
      ]
    }
  }
}

/** goflow2 v2 JSON line of a record (times in ns as decimal strings, as protobuf JSON writes). */
function goflow2Line(r: OneWay): string {
  const ns = (s: number): string => `${String(T0 + s)}000000000`
  const status = r.action === 'accept' ? 64 : r.action === 'reject' ? 128 : 0
  return JSON.stringify({
    type: r.typed ? 'NETFLOW_V9' : 'IPFIX',
    time_received_ns: ns(r.start + r.length + 5),
    sampler_address: EXPORTERS[r.exporter],
    time_flow_start_ns: ns(r.start),
    time_flow_end_ns: ns(r.start + r.length),
    bytes: r.bytes,
    packets: r.packets,
    src_addr: HOSTS[r.src],
    dst_addr: HOSTS[r.dst],
    etype: 'IPv4',
    proto: r.protocol === 6 ? 'TCP' : r.protocol === 17 ? 'UDP' : 'ICMP',
    src_port: r.sp,
    dst_port: r.dp,
    forwarding_status: status,
    ...(r.protocol === 1
      ? r.typed
        ? { icmp_type: r.dp, icmp_code: r.sp }
        : { icmp_type: 0, icmp_code: 0 }
      : {}),
  })
}

/** SysUptime (ms) and export time (s after T0) of every v5 datagram. */
const UPTIME = 100_000_000
const EXPORT_S = 10_000

/** The Ethernet frame of a NetFlow v5 datagram of one record, sent from its exporter. */
function v5Frame(r: OneWay): Uint8Array {
  const first = UPTIME - (EXPORT_S - r.start) * 1000
  const datagram = v5({ sysUptime: UPTIME, secs: T0 + EXPORT_S }, [
    {
      src: HOSTS[r.src] as string,
      dst: HOSTS[r.dst] as string,
      // ICMP: type·256 + code in the destination port, 0 in the source port
      srcPort: r.protocol === 1 ? 0 : r.sp,
      dstPort: r.protocol === 1 ? r.dp * 256 + r.sp : r.dp,
      protocol: r.protocol,
      packets: r.packets,
      bytes: r.bytes,
      first,
      last: first + r.length * 1000,
    },
  ])
  return ether(
    0x0800,
    ipv4(EXPORTERS[r.exporter] as string, '198.51.100.1', 17, udp(2055, 2055, datagram)),
  )
}

function exporterScenario(format: 'netflow' | 'goflow2') {
  return fc
    .record({
      connections: fc.uniqueArray(exporterConnection(format), {
        minLength: 1,
        maxLength: 12,
        selector: (c) => keyOf({ ...c, kind: 'both', action: 'ACCEPT' }),
      }),
      files: fc.integer({ min: 2, max: 3 }),
      seed: fc.infiniteStream(fc.tuple(fc.nat(1000), fc.nat(2))),
    })
    .map(({ connections, files, seed }) => {
      const records = connections.flatMap(oneWays)
      const placed = records.map((r) => {
        const [order, file] = seed.next().value as [number, number]
        return { r, order, file: file % files }
      })
      placed.sort((x, y) => x.order - y.order)
      const byFile: OneWay[][] = Array.from({ length: files }, () => [])
      for (const p of placed) (byFile[p.file] as OneWay[]).push(p.r)
      return byFile.filter((rs) => rs.length > 0)
    })
}

/** The `flows` rows of the store (without `rowid`), each with its `half` and exporter key, sorted. */
async function exporterRows(
  store: string,
  mapPos?: (file: string, pos: number) => [string, number],
): Promise<string[]> {
  const s = await openDuckDbStore(store, { readOnly: true })
  try {
    const got = await s.query<Record<string, unknown>>(
      `SELECT v.* EXCLUDE (rowid), fr.half, e.key AS exporter FROM flows v
       JOIN flow_rows fr ON fr.rowid = v.rowid LEFT JOIN exporters e ON e.id = fr.exporter`,
    )
    return got
      .map((r) => {
        if (mapPos !== undefined) {
          const which = r['line'] !== null ? 'line' : 'record'
          const [file, pos] = mapPos(r['file'] as string, r[which] as number)
          r['file'] = file
          r[which] = pos
        }
        return JSON.stringify(r)
      })
      .sort()
  } finally {
    await s.close()
  }
}

const acrossExporters = { paired: 0, apart: 0, icmp: 0, rejected: 0, runs: 0 }

for (const format of ['netflow', 'goflow2'] as const) {
  describe(`pairing across files per exporter (${format}, property)`, () => {
    it('files stored one by one (either order) or in one command store what their concatenation stores', async () => {
      acrossExporters.paired = 0
      acrossExporters.apart = 0
      acrossExporters.icmp = 0
      acrossExporters.rejected = 0
      acrossExporters.runs = 0
      await fc.assert(
        fc.asyncProperty(exporterScenario(format), async (byFile) => {
          const dir = path.join(root, `${format}-${String(runs++)}`)
          mkdirSync(dir)
          const ext = format === 'netflow' ? 'pcap' : 'jsonl'
          const names = byFile.map((_, i) => path.join(dir, `${'abc'[i] as string}.${ext}`))
          const write = (file: string, rs: readonly OneWay[]): void => {
            if (format === 'netflow') writeFileSync(file, pcap(1, rs.map(v5Frame)))
            else writeFileSync(file, rs.map(goflow2Line).join('\n') + '\n')
          }
          byFile.forEach((rs, i) => {
            write(names[i] as string, rs)
          })
          // the files concatenated in path order (one capture of all the frames), and where each
          // one's records (1-based lines, 0-based datagrams) start
          const concat = path.join(dir, `all.${ext}`)
          write(concat, byFile.flat())
          const offsets: number[] = []
          let at = 0
          for (const rs of byFile) {
            offsets.push(at)
            at += rs.length
          }
          const base = format === 'netflow' ? 0 : 1
          const back = (file: string, pos: number): [string, number] => {
            if (file !== concat) return [file, pos]
            let i = offsets.length - 1
            while ((offsets[i] as number) + base > pos) i--
            return [names[i] as string, pos - (offsets[i] as number)]
          }
          const store = (name: string): string => path.join(dir, `${name}.duckdb`)
          const load = async (s: string, files: readonly string[]): Promise<void> => {
            const jobs: IngestJob[] = files.map((file) => ({ file, format }))
            const out = await ingestFiles(jobs, s, { strict: true, progress: false })
            expect(out.failed).toEqual([])
            acrossExporters.paired += out.notes['paired-across-files'] ?? 0
          }
          await load(store('concat'), [concat])
          const expected = await exporterRows(store('concat'), back)
          // halves of two exporters on one connection key that stayed apart
          acrossExporters.apart += byFile
            .flat()
            .filter((r, _, all) =>
              all.some(
                (o) =>
                  o.exporter !== r.exporter &&
                  o.src === r.dst &&
                  o.sp === r.dp &&
                  o.protocol === r.protocol,
              ),
            ).length

          // typed ICMP requests whose reply of the same exporter is in another file
          acrossExporters.icmp += byFile
            .flatMap((rs, file) => rs.map((r) => ({ r, file })))
            .filter(
              ({ r, file }, _, all) =>
                r.typed &&
                REPLY_OF[r.dp] !== undefined &&
                all.some(
                  (o) =>
                    o.file !== file &&
                    o.r.exporter === r.exporter &&
                    o.r.src === r.dst &&
                    o.r.dst === r.src &&
                    o.r.dp === REPLY_OF[r.dp],
                ),
            ).length

          // one direction forwarded in one file and dropped in another by the same exporter, near
          acrossExporters.rejected += byFile
            .flatMap((rs, file) => rs.map((r) => ({ r, file })))
            .filter(
              ({ r, file }, _, all) =>
                r.action === 'accept' &&
                all.some(
                  (o) =>
                    o.file !== file &&
                    o.r.action === 'reject' &&
                    o.r.exporter === r.exporter &&
                    o.r.src === r.src &&
                    o.r.dst === r.dst &&
                    o.r.sp === r.sp &&
                    o.r.dp === r.dp &&
                    o.r.protocol === r.protocol &&
                    o.r.start <= r.start + r.length + 60 &&
                    r.start <= o.r.start + o.r.length + 60,
                ),
            ).length

          // a run's two accepts before its drop in the concatenation (the first accept is the
          // one a single held record lost)
          const flat = byFile.flat()
          acrossExporters.runs += flat.filter((r, i) => {
            if (r.action !== 'reject') return false
            const same = (o: OneWay): boolean =>
              o.exporter === r.exporter &&
              o.src === r.src &&
              o.sp === r.sp &&
              o.dst === r.dst &&
              o.dp === r.dp &&
              o.protocol === r.protocol
            return flat.slice(0, i).filter((o) => o.action === 'accept' && same(o)).length >= 2
          }).length

          for (const name of names) await load(store('forward'), [name])
          expect(await exporterRows(store('forward'))).toEqual(expected)
          await load(store('forward'), names)
          expect(await exporterRows(store('forward'))).toEqual(expected)

          for (const name of [...names].reverse()) await load(store('backward'), [name])
          expect(await exporterRows(store('backward'))).toEqual(expected)

          await load(store('one-run'), names)
          expect(await exporterRows(store('one-run'))).toEqual(expected)
          await load(store('one-run-reversed'), [...names].reverse())
          expect(await exporterRows(store('one-run-reversed'))).toEqual(expected)
          rmSync(dir, { recursive: true, force: true })
        }),
        { seed: SEED, numRuns: RUNS },
      )
      expect(acrossExporters.paired).toBeGreaterThan(RUNS)
      expect(acrossExporters.apart).toBeGreaterThan(0)
      expect(acrossExporters.icmp).toBeGreaterThan(0)
      if (format === 'goflow2') expect(acrossExporters.rejected).toBeGreaterThan(0)
      if (format === 'goflow2') expect(acrossExporters.runs).toBeGreaterThan(0)
    }, 600_000)
  })
}
