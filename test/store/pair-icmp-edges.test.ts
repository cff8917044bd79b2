/**
 * @module Edge cases of the store's pairing of typed ICMP halves across files and of its settling
 * of one exporter's accepted and rejected halves across files (s29 review): the answer across
 * files must be the answer reading gives when the same records are one file (ingest direction.ts
 * `icmpKey`, `DirectionPairer.push`). Each case's rows are worked out by hand in its comment from
 * RFC 792 (ICMP: echo 8/0, timestamp 13/14, information 15/16; RFC 950 address mask 17/18), RFC
 * 4443 (ICMPv6: echo 128/129, nothing else a request/reply pair here), the 60 s pairing slack
 * (`PAIR_SLACK_MS`: intervals at most 60 000 ms apart, inclusive) and the exporter scope
 * (goflow2's `sampler_address`).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ingestFiles } from '../../src/cli/commands/ingest.js'
import { openDuckDbStore } from '../../src/store/index.js'

const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-pair-icmp-edges-'))
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

const S = 1_700_000_000_000 // ms of 1700000000 s
const A = '10.0.0.5'
const B = '10.0.1.9'
const A6 = '2001:db8::5'
const B6 = '2001:db8::9'

interface Rec {
  src: string
  dst: string
  /** ICMP type; undefined: the record gives none (read as an echo request, typeless). */
  type?: number
  code?: number
  /** ms after S */
  start: number
  end: number
  bytes: number
  sampler?: string
  /** goflow2 forwarding_status: 64 forwarded (accept), 128 dropped (reject) */
  status?: number
}

/** One goflow2 v2 JSON line (times in ns). */
function line(r: Rec): string {
  const six = r.src.includes(':')
  return JSON.stringify({
    type: 'IPFIX',
    time_received_ns: '1700000100000000000',
    sampler_address: r.sampler ?? '192.0.2.1',
    time_flow_start_ns: `${String(S + r.start)}000000`,
    time_flow_end_ns: `${String(S + r.end)}000000`,
    bytes: r.bytes,
    packets: 1,
    src_addr: r.src,
    dst_addr: r.dst,
    etype: six ? 'IPv6' : 'IPv4',
    proto: six ? 'ICMPv6' : 'ICMP',
    ...(r.type === undefined ? {} : { icmp_type: r.type, icmp_code: r.code ?? 0 }),
    forwarding_status: r.status ?? 64,
  })
}

interface Row {
  src: string
  dst: string
  sp: number
  dp: number
  start: number
  end: number
  bytes: number
  action: string
  half: number
}

/** A stored row, in {@link Row}'s order (`action` as stored, `half` its mark). */
const row = (
  src: string,
  dst: string,
  sp: number,
  dp: number,
  start: number,
  end: number,
  bytes: number,
  action: string,
  half: number,
): Row => ({ src, dst, sp, dp, start, end, bytes, action, half })

async function stored(store: string): Promise<Row[]> {
  const s = await openDuckDbStore(store, { readOnly: true })
  try {
    const rows = await s.query<Record<string, unknown>>(
      `SELECT v.*, fr.half FROM flows v JOIN flow_rows fr ON fr.rowid = v.rowid ORDER BY v.bytes`,
    )
    return rows.map((r) => ({
      src: r['src'] as string,
      dst: r['dst'] as string,
      sp: r['src_port'] as number,
      dp: r['dst_port'] as number,
      start: (r['start_ms'] as number) - S,
      end: (r['end_ms'] as number) - S,
      bytes: r['bytes'] as number,
      action: r['observed_action'] as string,
      half: r['half'] as number,
    }))
  } finally {
    await s.close()
  }
}

let caseNo = 0

/**
 * The stored rows when each of `files` (records in order) is ingested by its own command, and
 * when all of them are one file: both must be `expected`.
 */
async function check(files: readonly (readonly Rec[])[], expected: readonly Row[]): Promise<void> {
  const dir = path.join(root, String(++caseNo))
  mkdirSync(dir, { recursive: true })
  const names = files.map((recs, i) => {
    const f = path.join(dir, `${String(i)}.jsonl`)
    writeFileSync(f, recs.map(line).join('\n') + '\n')
    return f
  })
  const across = path.join(dir, 'across.duckdb')
  for (const file of names) {
    const out = await ingestFiles([{ file, format: 'goflow2' }], across, {
      strict: true,
      progress: false,
    })
    expect(out.failed).toEqual([])
  }
  expect(await stored(across), 'across files').toEqual(expected)
  const whole = path.join(dir, 'whole.jsonl')
  writeFileSync(whole, files.flat().map(line).join('\n') + '\n')
  const one = path.join(dir, 'one.duckdb')
  const out = await ingestFiles([{ file: whole, format: 'goflow2' }], one, {
    strict: true,
    progress: false,
  })
  expect(out.failed).toEqual([])
  expect(await stored(one), 'one file').toEqual(expected)
}

// half marks: 1 unpaired, 4 echo assumed (typeless), 8 typed ICMP
const TYPED = 9

describe('typed ICMP: which types pair differs between ICMP and ICMPv6', () => {
  it('ICMP (protocol 1) types 128 and 129 are no request and reply: two halves', async () => {
    // by hand: RFC 792 has no type 128/129, so neither answers the other; each record is kept as
    // written (no swap for ICMP), direction unknown, a typed half (9)
    await check(
      [
        [{ src: A, dst: B, type: 128, start: 0, end: 1000, bytes: 100 }],
        [{ src: B, dst: A, type: 129, start: 500, end: 1500, bytes: 200 }],
      ],
      [
        row(A, B, 0, 128, 0, 1000, 100, 'accept', TYPED),
        row(B, A, 0, 129, 500, 1500, 200, 'accept', TYPED),
      ],
    )
  })

  it('ICMPv6 types 8 and 0 (code 1) are no request and reply; ICMP 8 and 0 (code 1) are', async () => {
    // by hand: ICMPv6 echo is 128/129 (RFC 4443), so 8 and 0 stay two typed halves; for ICMP
    // (RFC 792) echo request 8 and echo reply 0 with the same code pair: one flow, the request's
    // (A → B type 8 code 1), 100 + 200 octets, 0 … 1.5 s, no longer a half
    await check(
      [
        [{ src: A6, dst: B6, type: 8, code: 1, start: 0, end: 1000, bytes: 100 }],
        [{ src: B6, dst: A6, type: 0, code: 1, start: 500, end: 1500, bytes: 200 }],
      ],
      [
        row(A6, B6, 1, 8, 0, 1000, 100, 'accept', TYPED),
        row(B6, A6, 1, 0, 500, 1500, 200, 'accept', TYPED),
      ],
    )
    await check(
      [
        [{ src: A, dst: B, type: 8, code: 1, start: 0, end: 1000, bytes: 100 }],
        [{ src: B, dst: A, type: 0, code: 1, start: 500, end: 1500, bytes: 200 }],
      ],
      [row(A, B, 1, 8, 0, 1500, 300, 'accept', 0)],
    )
  })

  it('an address mask reply (18) pairs with its request (17); a request code 0 with a reply code 1 does not', async () => {
    // by hand: RFC 950 17/18 pair → A → B type 17, 0 … 1.2 s, 60 octets; echo 8 code 0 and 0
    // code 1: the code is part of the key (icmpKey), so two halves
    await check(
      [
        [{ src: A, dst: B, type: 17, start: 0, end: 1000, bytes: 20 }],
        [{ src: B, dst: A, type: 18, start: 200, end: 1200, bytes: 40 }],
      ],
      [row(A, B, 0, 17, 0, 1200, 60, 'accept', 0)],
    )
    await check(
      [
        [{ src: A, dst: B, type: 8, code: 0, start: 0, end: 1000, bytes: 100 }],
        [{ src: B, dst: A, type: 0, code: 1, start: 500, end: 1500, bytes: 200 }],
      ],
      [
        row(A, B, 0, 8, 0, 1000, 100, 'accept', TYPED),
        row(B, A, 1, 0, 500, 1500, 200, 'accept', TYPED),
      ],
    )
  })
})

describe('typed ICMP: exporters and the 60 s slack', () => {
  it('a reply of one sampler before a request of another: two halves', async () => {
    // by hand: exporters differ (192.0.2.1, 192.0.2.2), so neither file nor store pairs them; the
    // reply stays as written (B → A type 0), server-to-client
    await check(
      [
        [
          {
            src: B,
            dst: A,
            type: 0,
            code: 3,
            start: 0,
            end: 1000,
            bytes: 200,
            sampler: '192.0.2.1',
          },
        ],
        [
          {
            src: A,
            dst: B,
            type: 8,
            code: 3,
            start: 100,
            end: 900,
            bytes: 100,
            sampler: '192.0.2.2',
          },
        ],
      ],
      [
        row(A, B, 3, 8, 100, 900, 100, 'accept', TYPED),
        row(B, A, 3, 0, 0, 1000, 200, 'accept', TYPED),
      ],
    )
  })

  it('a reply exactly 60 s after its request pairs; 1 ms later it does not', async () => {
    // by hand: the request ends at 1 000 ms; a reply starting at 61 000 ms is 60 000 ms after it
    // (the slack, inclusive): one flow 0 … 62 s, 300 octets; at 61 001 ms: two halves
    await check(
      [
        [{ src: A, dst: B, type: 13, start: 0, end: 1000, bytes: 100 }],
        [{ src: B, dst: A, type: 14, start: 61_000, end: 62_000, bytes: 200 }],
      ],
      [row(A, B, 0, 13, 0, 62_000, 300, 'accept', 0)],
    )
    await check(
      [
        [{ src: A, dst: B, type: 13, start: 0, end: 1000, bytes: 100 }],
        [{ src: B, dst: A, type: 14, start: 61_001, end: 62_000, bytes: 200 }],
      ],
      [
        row(A, B, 0, 13, 0, 1000, 100, 'accept', TYPED),
        row(B, A, 0, 14, 61_001, 62_000, 200, 'accept', TYPED),
      ],
    )
  })

  it('timestamp requests every second, each record in its own file: request n pairs with reply n', async () => {
    // (timestamp 13/14: an echo reply 0/0 alone in its file is read typeless, README Limits)
    // by hand: time order R1 P1 R2 P2 in one group; each neighbour links to the next, and the run
    // pairs the first with the second, the third with the fourth: (R1, P1) 0 … 0.6 s 100 + 200,
    // (R2, P2) 1 … 1.6 s 101 + 201; as one file, R1 P1 pair at P1, then R2 P2
    await check(
      [
        [{ src: A, dst: B, type: 13, start: 0, end: 500, bytes: 100 }],
        [{ src: B, dst: A, type: 14, start: 100, end: 600, bytes: 200 }],
        [{ src: A, dst: B, type: 13, start: 1000, end: 1500, bytes: 101 }],
        [{ src: B, dst: A, type: 14, start: 1100, end: 1600, bytes: 201 }],
      ],
      [row(A, B, 0, 13, 0, 600, 300, 'accept', 0), row(A, B, 0, 13, 1000, 1600, 302, 'accept', 0)],
    )
  })
})

describe('settling one exporter across files', () => {
  it('an accepted echo request and the same request dropped exactly 60 s later: both reject; 1 ms later: not', async () => {
    // by hand: same sampler, same record (A → B type 8 code 0), accept 0 … 1 s and reject from
    // 61 s: 60 000 ms apart, inclusive: the accept is read reject (both stay typed halves)
    await check(
      [
        [{ src: A, dst: B, type: 8, start: 0, end: 1000, bytes: 100 }],
        [{ src: A, dst: B, type: 8, start: 61_000, end: 62_000, bytes: 200, status: 128 }],
      ],
      [
        // the accept read reject is marked settled (HALF_SETTLED 16)
        row(A, B, 0, 8, 0, 1000, 100, 'reject', TYPED | 16),
        row(A, B, 0, 8, 61_000, 62_000, 200, 'reject', TYPED),
      ],
    )
    await check(
      [
        [{ src: A, dst: B, type: 8, start: 0, end: 1000, bytes: 100 }],
        [{ src: A, dst: B, type: 8, start: 61_001, end: 62_000, bytes: 200, status: 128 }],
      ],
      [
        row(A, B, 0, 8, 0, 1000, 100, 'accept', TYPED),
        row(A, B, 0, 8, 61_001, 62_000, 200, 'reject', TYPED),
      ],
    )
  })

  it('a typed echo request and a typeless one of the same ends are not one record', async () => {
    // by hand: the typeless record is read as an echo request (8, ports 0) by the other pairer,
    // half 1 | 4 = 5; the typed pairer never sees it, so the accept stays accept
    await check(
      [
        [{ src: A, dst: B, type: 8, start: 0, end: 1000, bytes: 100 }],
        [{ src: A, dst: B, start: 500, end: 1500, bytes: 200, status: 128 }],
      ],
      [
        row(A, B, 0, 8, 0, 1000, 100, 'accept', TYPED),
        row(A, B, 0, 8, 500, 1500, 200, 'reject', 5),
      ],
    )
  })
})
