/**
 * @module The store pairs NetFlow/IPFIX and goflow2 records of one direction across files only
 * within one exporter (store schema version 5, `flow_rows.exporter`): hand-written goflow2 lines
 * and NetFlow v5 captures, the expected flows worked out by hand from the pairing rules (README
 * `bulkhead flows`, "Direction"). The property over generated files is
 * test/property/pair-across-files.prop.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ingestFiles } from '../../src/cli/commands/ingest.js'
import { ether, ipv4, pcap, udp } from '../ingest/capture-builders.js'
import { ingestEach, storedHalves } from '../helpers/store.js'
import {
  ipfix,
  recV4,
  set,
  template,
  TPL_V4,
  v5,
  type V5Record,
} from '../ingest/netflow-builders.js'

const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-pair-exporters-'))
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

const S = 1_700_000_000_000 // ms of 1700000000 s

interface Row {
  src: string
  sp: number
  dst: string
  dp: number
  start: number
  end: number
  bytes: number
  file: string
  half: number
  exporter: string | null
}

/** The stored flows by bytes, with the fields these cases compare. */
async function stored(store: string): Promise<Row[]> {
  return (await storedHalves(store)).map(
    ({ src, sp, dst, dp, start, end, bytes, file, half, exporter }) => ({
      src,
      sp,
      dst,
      dp,
      start,
      end,
      bytes,
      file,
      half,
      exporter,
    }),
  )
}

/** A goflow2 v2 line: one direction of a DNS query, from `sampler`. */
function line(
  sampler: string,
  src: string,
  sp: number,
  dst: string,
  dp: number,
  startNs: string,
  endNs: string,
  bytes: number,
): string {
  return JSON.stringify({
    type: 'IPFIX',
    time_received_ns: '1700000010000000000',
    sampler_address: sampler,
    time_flow_start_ns: startNs,
    time_flow_end_ns: endNs,
    bytes,
    packets: 1,
    src_addr: src,
    dst_addr: dst,
    etype: 'IPv4',
    proto: 'UDP',
    src_port: sp,
    dst_port: dp,
  })
}

describe('goflow2: halves of two files pair only when one sampler logged both', () => {
  // a.jsonl: the query 10.0.0.5:53000 → 10.0.1.9:53 seen by 192.0.2.1 (64 octets, 0–1 s).
  // b.jsonl: its reply seen by 192.0.2.2 (1000 octets, 0.5–1.5 s), and seen by 192.0.2.1
  // (128 octets, 0.5–1.5 s). By hand: the query pairs with 192.0.2.1's reply only: one flow
  // 10.0.0.5:53000 → 10.0.1.9:53, 0–1.5 s, 192 octets, no longer a half; 192.0.2.2's reply stays
  // a half (UNPAIRED | SWAPPED = 3: stored turned round, client first), its exporter
  // "IPFIX\0192.0.2.2".
  const dir = path.join(root, 'goflow2')
  const a = path.join(dir, 'a.jsonl')
  const b = path.join(dir, 'b.jsonl')
  const q = ['10.0.0.5', 53000, '10.0.1.9', 53] as const
  const r = ['10.0.1.9', 53, '10.0.0.5', 53000] as const
  const expected: Row[] = [
    {
      src: '10.0.0.5',
      sp: 53000,
      dst: '10.0.1.9',
      dp: 53,
      start: S,
      end: S + 1500,
      bytes: 192,
      file: 'a.jsonl',
      half: 0,
      exporter: null,
    },
    {
      src: '10.0.0.5',
      sp: 53000,
      dst: '10.0.1.9',
      dp: 53,
      start: S + 500,
      end: S + 1500,
      bytes: 1000,
      file: 'b.jsonl',
      half: 3,
      exporter: 'IPFIX\u0000192.0.2.2',
    },
  ]

  it('a then b, b then a, and both in one command', async () => {
    mkdirSync(dir, { recursive: true })
    writeFileSync(
      a,
      line('192.0.2.1', ...q, '1700000000000000000', '1700000001000000000', 64) + '\n',
    )
    writeFileSync(
      b,
      [
        line('192.0.2.2', ...r, '1700000000500000000', '1700000001500000000', 1000),
        line('192.0.2.1', ...r, '1700000000500000000', '1700000001500000000', 128),
      ].join('\n') + '\n',
    )
    const ab = path.join(dir, 'ab.duckdb')
    expect((await ingestEach(ab, [a, b], 'goflow2'))['paired-across-files']).toBe(1)
    expect(await stored(ab)).toEqual(expected)
    const ba = path.join(dir, 'ba.duckdb')
    expect((await ingestEach(ba, [b, a], 'goflow2'))['paired-across-files']).toBe(1)
    expect(await stored(ba)).toEqual(expected)
    const one = path.join(dir, 'one.duckdb')
    const out = await ingestFiles(
      [a, b].map((file) => ({ file, format: 'goflow2' })),
      one,
      { strict: true, progress: false },
    )
    expect(out.notes['paired-across-files']).toBe(1)
    expect(await stored(one)).toEqual(expected)
  })

  it('two samplers only: nothing pairs, both stay halves', async () => {
    const c = path.join(dir, 'c.jsonl')
    const d = path.join(dir, 'd.jsonl')
    writeFileSync(
      c,
      line('192.0.2.1', ...q, '1700000000000000000', '1700000001000000000', 64) + '\n',
    )
    writeFileSync(
      d,
      line('192.0.2.2', ...r, '1700000000500000000', '1700000001500000000', 1000) + '\n',
    )
    const store = path.join(dir, 'cd.duckdb')
    expect((await ingestEach(store, [c, d], 'goflow2'))['paired-across-files']).toBeUndefined()
    expect(await stored(store)).toEqual([
      {
        src: '10.0.0.5',
        sp: 53000,
        dst: '10.0.1.9',
        dp: 53,
        start: S,
        end: S + 1000,
        bytes: 64,
        file: 'c.jsonl',
        half: 1,
        exporter: 'IPFIX\u0000192.0.2.1',
      },
      { ...(expected[1] as Row), file: 'd.jsonl' },
    ])
  })
})

describe('NetFlow v5: captures name their exporter, bare datagram files do not', () => {
  // One datagram per record, exported at 1700000010 s with SysUptime 100 000 000 ms: a record's
  // first/last uptime u is at S + 10 000 − (100 000 000 − u) ms.
  const dir = path.join(root, 'netflow')
  const UP = 100_000_000
  const rec = (
    src: string,
    sp: number,
    dst: string,
    dp: number,
    startMs: number,
    bytes: number,
  ): V5Record => ({
    src,
    dst,
    srcPort: sp,
    dstPort: dp,
    protocol: 17,
    packets: 1,
    bytes,
    first: UP - 10_000 + startMs,
    last: UP - 10_000 + startMs + 1000,
  })
  const datagram = (r: V5Record): Uint8Array => v5({ sysUptime: UP, secs: 1_700_000_010 }, [r])
  const frame = (exporter: string, r: V5Record): Uint8Array =>
    ether(0x0800, ipv4(exporter, '198.51.100.1', 17, udp(2055, 2055, datagram(r))))
  const query = rec('10.0.0.5', 53000, '10.0.1.9', 53, 0, 64)
  const reply = rec('10.0.1.9', 53, '10.0.0.5', 53000, 500, 128)

  it('a capture of each direction from one exporter: one flow; from two exporters: two halves', async () => {
    mkdirSync(dir, { recursive: true })
    const a = path.join(dir, 'a.pcap')
    const b = path.join(dir, 'b.pcap')
    const c = path.join(dir, 'c.pcap')
    writeFileSync(a, pcap(1, [frame('192.0.2.1', query)]))
    writeFileSync(b, pcap(1, [frame('192.0.2.1', reply)]))
    writeFileSync(c, pcap(1, [frame('192.0.2.2', reply)]))
    const same = path.join(dir, 'ab.duckdb')
    expect((await ingestEach(same, [b, a], 'netflow'))['paired-across-files']).toBe(1)
    // by hand: 64 + 128 octets, 0 … 1.5 s, the query's file (its client's record)
    expect(await stored(same)).toEqual([
      {
        src: '10.0.0.5',
        sp: 53000,
        dst: '10.0.1.9',
        dp: 53,
        start: S,
        end: S + 1500,
        bytes: 192,
        file: 'a.pcap',
        half: 0,
        exporter: null,
      },
    ])
    const two = path.join(dir, 'ac.duckdb')
    expect((await ingestEach(two, [a, c], 'netflow'))['paired-across-files']).toBeUndefined()
    expect(await stored(two)).toEqual([
      {
        src: '10.0.0.5',
        sp: 53000,
        dst: '10.0.1.9',
        dp: 53,
        start: S,
        end: S + 1000,
        bytes: 64,
        file: 'a.pcap',
        half: 1,
        exporter: 'netflow-v5\u0000192.0.2.1:2055',
      },
      {
        src: '10.0.0.5',
        sp: 53000,
        dst: '10.0.1.9',
        dp: 53,
        start: S + 500,
        end: S + 1500,
        bytes: 128,
        file: 'c.pcap',
        half: 3,
        exporter: 'netflow-v5\u0000192.0.2.2:2055',
      },
    ])
  })

  it('bare datagram files (no sender): never paired across files, stored unmarked', async () => {
    const a = path.join(dir, 'a.nf')
    const b = path.join(dir, 'b.nf')
    writeFileSync(a, datagram(query))
    writeFileSync(b, datagram(reply))
    const store = path.join(dir, 'bare.duckdb')
    expect((await ingestEach(store, [a, b], 'netflow'))['paired-across-files']).toBeUndefined()
    expect((await stored(store)).map((r) => [r.bytes, r.half, r.exporter])).toEqual([
      [64, 0, null],
      [128, 0, null],
    ])
  })
})

describe('IPFIX: one sender, two observation domains are two exporters', () => {
  // Each frame one IPFIX message from 192.0.2.1:2055 with the TPL_V4 template (id 256) and one
  // record (times in ms). a.pcap: domain 1's query 10.0.0.5:53000 → 10.0.1.9:53, 64 octets,
  // S … S+1000. b.pcap: the reply 10.0.1.9:53 → 10.0.0.5:53000, S+500 … S+1500, from domain 2
  // (1000 octets) and from domain 1 (128 octets). By hand: the query pairs with domain 1's reply
  // only (192 octets, S … S+1500, a.pcap's record); domain 2's reply stays a half, turned round
  // (3), its exporter "ipfix\0192.0.2.1:2055/2".
  const dir = path.join(root, 'ipfix')
  const message = (domain: number, r: Parameters<typeof recV4>[0]): Uint8Array =>
    ipfix({ exportTime: 1_700_000_010, domain }, template(2, 256, TPL_V4), set(256, recV4(r)))
  const frame = (m: Uint8Array): Uint8Array =>
    ether(0x0800, ipv4('192.0.2.1', '198.51.100.1', 17, udp(2055, 4739, m)))
  const q = { src: '10.0.0.5', sp: 53000, dst: '10.0.1.9', dp: 53, proto: 17, pkts: 1 }
  const r = { src: '10.0.1.9', sp: 53, dst: '10.0.0.5', dp: 53000, proto: 17, pkts: 1 }

  it('b then a: only the same domain pairs', async () => {
    mkdirSync(dir, { recursive: true })
    const a = path.join(dir, 'a.pcap')
    const b = path.join(dir, 'b.pcap')
    writeFileSync(a, pcap(1, [frame(message(1, { ...q, bytes: 64, start: S, end: S + 1000 }))]))
    writeFileSync(
      b,
      pcap(1, [
        frame(message(2, { ...r, bytes: 1000, start: S + 500, end: S + 1500 })),
        frame(message(1, { ...r, bytes: 128, start: S + 500, end: S + 1500 })),
      ]),
    )
    const store = path.join(dir, 'ba.duckdb')
    expect((await ingestEach(store, [b, a], 'netflow'))['paired-across-files']).toBe(1)
    expect(await stored(store)).toEqual([
      {
        src: '10.0.0.5',
        sp: 53000,
        dst: '10.0.1.9',
        dp: 53,
        start: S,
        end: S + 1500,
        bytes: 192,
        file: 'a.pcap',
        half: 0,
        exporter: null,
      },
      {
        src: '10.0.0.5',
        sp: 53000,
        dst: '10.0.1.9',
        dp: 53,
        start: S + 500,
        end: S + 1500,
        bytes: 1000,
        file: 'b.pcap',
        half: 3,
        exporter: 'ipfix\u0000192.0.2.1:2055/2',
      },
    ])
  })
})
