/**
 * @module The store reads a refused TCP connection as reading does (ingest direction.ts
 * `refusedByReset`) when its two NetFlow records are in two files of one exporter: the client's
 * SYN without ACK and the server's RST+ACK without SYN, neither record holding an action, are one
 * flow `reject`, noted `refused-by-reset`. The expected rows are worked out by hand in the comments.
 */
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ether, ipv4, pcap, udp } from '../ingest/capture-builders.js'
import { tempDir } from '../helpers/files.js'
import { ingestEach, storedHalves } from '../helpers/store.js'
import { v5, type V5Record } from '../ingest/netflow-builders.js'

const S = 1_700_000_000_000 // ms of 1700000000 s
const UP = 100_000_000

/** One v5 record, exported at 1700000010 s with SysUptime 100 000 000 ms: starts S + `startMs`. */
function rec(
  src: string,
  dst: string,
  ports: [number, number],
  tcpFlags: number,
  startMs: number,
  bytes: number,
): V5Record {
  return {
    src,
    dst,
    srcPort: ports[0],
    dstPort: ports[1],
    protocol: 6,
    packets: 1,
    bytes,
    tcpFlags,
    first: UP - 10_000 + startMs,
    last: UP - 10_000 + startMs + 100,
  }
}

/** A capture of one datagram from exporter 192.0.2.1 holding `records`. */
function capture(file: string, records: V5Record[]): string {
  const datagram = v5({ sysUptime: UP, secs: 1_700_000_010 }, records)
  writeFileSync(
    file,
    pcap(1, [ether(0x0800, ipv4('192.0.2.1', '198.51.100.1', 17, udp(2055, 2055, datagram)))]),
  )
  return file
}

describe('a refused TCP connection whose two NetFlow records are in two files', () => {
  const dir = tempDir('bulkhead-refused-across')
  const syn = rec('10.0.0.5', '10.0.1.9', [40000, 9], 0x02, 0, 60)
  const reset = rec('10.0.1.9', '10.0.0.5', [9, 40000], 0x14, 10, 40)
  const synAck = rec('10.0.1.9', '10.0.0.5', [9, 40000], 0x12, 10, 40)

  it('is one flow, reject, as reading the two records of one file makes it', async () => {
    const a = capture(path.join(dir, 'a.pcap'), [syn])
    const b = capture(path.join(dir, 'b.pcap'), [reset])
    const both = capture(path.join(dir, 'both.pcap'), [syn, reset])
    // by hand: 10.0.0.5:40000 → 10.0.1.9:9 tcp, 60 + 40 octets, S … S + 110 ms, the SYN's file,
    // client-to-server (SYN without ACK), reject: the port answered the SYN with RST+ACK
    const want = {
      src: '10.0.0.5',
      sp: 40000,
      dst: '10.0.1.9',
      dp: 9,
      protocol: 6,
      start: S,
      end: S + 110,
      bytes: 100,
      action: 'reject',
      direction: 'client-to-server',
      half: 0,
    }
    for (const [name, order] of [
      ['ab', [a, b]],
      ['ba', [b, a]],
    ] as const) {
      const store = path.join(dir, `${name}.duckdb`)
      const notes = await ingestEach(store, order, 'netflow')
      expect(notes['paired-across-files']).toBe(1)
      expect(notes['refused-by-reset']).toBe(1)
      expect(await storedHalves(store)).toEqual([{ ...want, file: 'a.pcap', exporter: null }])
    }
    const one = path.join(dir, 'one.duckdb')
    expect((await ingestEach(one, [both], 'netflow'))['refused-by-reset']).toBe(1)
    expect(await storedHalves(one)).toEqual([{ ...want, file: 'both.pcap', exporter: null }])
  })

  it('a SYN answered by SYN+ACK is no refusal: the pair stays unknown', async () => {
    const a = capture(path.join(dir, 'a2.pcap'), [syn])
    const b = capture(path.join(dir, 'b2.pcap'), [synAck])
    const store = path.join(dir, 'ok.duckdb')
    const notes = await ingestEach(store, [a, b], 'netflow')
    expect(notes['paired-across-files']).toBe(1)
    expect(notes['refused-by-reset']).toBeUndefined()
    expect((await storedHalves(store)).map((r) => [r.action, r.half])).toEqual([['unknown', 0]])
  })
})
