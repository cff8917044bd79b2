/**
 * @module One direction of a connection that one exporter logged accepted and rejected
 * (goflow2's `forwarding_status`, RFC 7270: 64 forwarded, 128 dropped) is one refusal, read
 * `reject` at both records (`rejected-at-other-end`), within a file and across files, as for AWS
 * and GCP: reading settles two such records of one exporter held together (ingest direction.ts
 * `DirectionPairer.push`), the store the halves of different files of one exporter. Expected rows
 * worked out by hand in the comments.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ingestFiles } from '../../src/cli/commands/ingest.js'
import { storedHalves } from '../helpers/store.js'

const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-settle-exporters-'))
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

const S = 1_700_000_000_000 // ms of 1700000000 s

interface Row {
  bytes: number
  action: string
  file: string
  half: number
  exporter: string | null
}

async function stored(store: string): Promise<Row[]> {
  const rows = await storedHalves(store)
  for (const r of rows) {
    // every row here is the query 10.0.0.5:53000 → 10.0.1.9:53 as its record wrote it
    expect([r.src, r.sp, r.dst, r.dp, r.protocol]).toEqual(['10.0.0.5', 53000, '10.0.1.9', 53, 17])
    expect(r.start).toBeGreaterThanOrEqual(S)
  }
  return rows.map(({ bytes, action, file, half, exporter }) => ({
    bytes,
    action,
    file,
    half,
    exporter,
  }))
}

async function ingest(store: string, files: readonly string[]): Promise<Record<string, number>> {
  const out = await ingestFiles(
    files.map((file) => ({ file, format: 'goflow2' as const })),
    store,
    { strict: true, progress: false },
  )
  expect(out.failed).toEqual([])
  return out.notes
}

/** A goflow2 v2 line of the query 10.0.0.5:53000 → 10.0.1.9:53, `startS` s after S, 1 s long. */
function query(sampler: string, startS: number, bytes: number, status: number): string {
  return JSON.stringify({
    type: 'IPFIX',
    time_received_ns: '1700000010000000000',
    sampler_address: sampler,
    time_flow_start_ns: `${String(1_700_000_000 + startS)}000000000`,
    time_flow_end_ns: `${String(1_700_000_001 + startS)}000000000`,
    bytes,
    packets: 1,
    src_addr: '10.0.0.5',
    dst_addr: '10.0.1.9',
    etype: 'IPv4',
    proto: 'UDP',
    src_port: 53000,
    dst_port: 53,
    forwarding_status: status,
  })
}

describe('goflow2: one direction accepted and rejected by one sampler', () => {
  const dir = path.join(root, 'goflow2')
  const E1 = 'IPFIX\u0000192.0.2.1'
  // a.jsonl: 192.0.2.1 forwarded it (64 octets, 0–1 s); b.jsonl: 192.0.2.1 dropped it (65
  // octets, 1–2 s: near); c.jsonl: 192.0.2.2 dropped it (66 octets, 1–2 s).
  // By hand: with a and b (one sampler, near in time) both records are `reject`, each still an
  // unpaired half of 192.0.2.1 (mark 1: the query is stored as written, 53 names the server),
  // whatever the order or the files; with a and c (two samplers) a stays `accept`.
  const both: Row[] = [
    // the accept read reject is marked settled (1 | HALF_SETTLED 16): no refusal itself
    { bytes: 64, action: 'reject', file: 'a.jsonl', half: 17, exporter: E1 },
    { bytes: 65, action: 'reject', file: 'b.jsonl', half: 1, exporter: E1 },
  ]

  it('in one file: both rejected, both still halves of the sampler', async () => {
    mkdirSync(dir, { recursive: true })
    const ab = path.join(dir, 'ab.jsonl')
    writeFileSync(ab, [query('192.0.2.1', 0, 64, 64), query('192.0.2.1', 1, 65, 128)].join('\n'))
    const store = path.join(dir, 'one-file.duckdb')
    expect((await ingest(store, [ab]))['rejected-at-other-end']).toBe(1)
    expect(await stored(store)).toEqual(both.map((r) => ({ ...r, file: 'ab.jsonl' })))
  })

  it('in two files, in either order and in one command: both rejected', async () => {
    const a = path.join(dir, 'a.jsonl')
    const b = path.join(dir, 'b.jsonl')
    writeFileSync(a, query('192.0.2.1', 0, 64, 64) + '\n')
    writeFileSync(b, query('192.0.2.1', 1, 65, 128) + '\n')
    for (const [name, runs] of [
      ['ab', [[a], [b]]],
      ['ba', [[b], [a]]],
      ['one', [[a, b]]],
    ] as const) {
      const store = path.join(dir, `${name}.duckdb`)
      let rejected = 0
      for (const files of runs)
        rejected += (await ingest(store, files))['rejected-at-other-end'] ?? 0
      expect(rejected).toBe(1)
      expect(await stored(store)).toEqual(both)
    }
  })

  it('two samplers: not settled; a reject more than 60 s after the accept: not settled', async () => {
    const a = path.join(dir, 'a.jsonl')
    const c = path.join(dir, 'c.jsonl')
    const d = path.join(dir, 'd.jsonl')
    writeFileSync(a, query('192.0.2.1', 0, 64, 64) + '\n')
    writeFileSync(c, query('192.0.2.2', 1, 66, 128) + '\n')
    // 62 s after a's start: 61 s after its end, beyond the 60 s slack
    writeFileSync(d, query('192.0.2.1', 62, 67, 128) + '\n')
    const store = path.join(dir, 'acd.duckdb')
    let rejected = 0
    for (const f of [a, c, d]) rejected += (await ingest(store, [f]))['rejected-at-other-end'] ?? 0
    expect(rejected).toBe(0)
    expect(await stored(store)).toEqual([
      { bytes: 64, action: 'accept', file: 'a.jsonl', half: 1, exporter: E1 },
      { bytes: 66, action: 'reject', file: 'c.jsonl', half: 1, exporter: 'IPFIX\u0000192.0.2.2' },
      { bytes: 67, action: 'reject', file: 'd.jsonl', half: 1, exporter: E1 },
    ])
  })
})

describe('goflow2: a run of one direction, accepted twice then dropped by one sampler', () => {
  const dir = path.join(root, 'run')
  const E1 = 'IPFIX\u0000192.0.2.1'
  // 192.0.2.1 forwarded the query at 0–1 s (64 octets) and 1–2 s (65), and dropped it at 2–3 s
  // (66). By hand: each accept is within 60 s of the drop, so all three are `reject`, two of them
  // settled, each still an unpaired half of 192.0.2.1 (mark 1), whether the records are one file
  // (reading settles them: the pairer holds the two accepts as a run) or three files (the store,
  // settleExporterEnds), and in any order of the records within the file.
  const all = (file?: string): Row[] =>
    [64, 65, 66].map((bytes) => ({
      bytes,
      action: 'reject',
      file: file ?? `r${String(bytes)}.jsonl`,
      // the two accepts read reject are marked settled (1 | HALF_SETTLED 16)
      half: bytes === 66 ? 1 : 17,
      exporter: E1,
    }))
  const lines = [
    query('192.0.2.1', 0, 64, 64),
    query('192.0.2.1', 1, 65, 64),
    query('192.0.2.1', 2, 66, 128),
  ] as const

  it('in one file, in any order: all three rejected, as across three files', async () => {
    mkdirSync(dir, { recursive: true })
    for (const [name, order] of [
      ['aar', [0, 1, 2]],
      ['raa', [2, 0, 1]],
      ['ara', [0, 2, 1]],
    ] as const) {
      const file = path.join(dir, `${name}.jsonl`)
      writeFileSync(file, order.map((i) => lines[i]).join('\n') + '\n')
      const store = path.join(dir, `${name}.duckdb`)
      expect((await ingest(store, [file]))['rejected-at-other-end']).toBe(2)
      expect(await stored(store)).toEqual(all(`${name}.jsonl`))
    }
  })

  it('in three files, ingested one by one: all three rejected', async () => {
    mkdirSync(dir, { recursive: true })
    const files = lines.map((l, i) => {
      const f = path.join(dir, `r${String(64 + i)}.jsonl`)
      writeFileSync(f, l + '\n')
      return f
    })
    const store = path.join(dir, 'three.duckdb')
    let rejected = 0
    for (const f of files) rejected += (await ingest(store, [f]))['rejected-at-other-end'] ?? 0
    expect(rejected).toBe(2)
    expect(await stored(store)).toEqual(all())
  })
})

describe('goflow2: settling does not chain across files', () => {
  const dir = path.join(root, 'chain')
  const E1 = 'IPFIX\u0000192.0.2.1'
  // 192.0.2.1 dropped the query at 0–1 s (64 octets) and forwarded it at 50–51 s (65) and
  // 100–101 s (66), each in a file of its own. By hand: 65 starts 49 s after 64 ends: reject
  // (marked settled, 1 | 16); 66 starts 99 s after 64 ends, and 65 was written forwarded: it is
  // no refusal, so 66 stays accept
  it('dropped at 0 s, forwarded at 50 s and 100 s, three files one by one: reject, reject, accept', async () => {
    mkdirSync(dir, { recursive: true })
    const files = [
      query('192.0.2.1', 0, 64, 128),
      query('192.0.2.1', 50, 65, 64),
      query('192.0.2.1', 100, 66, 64),
    ].map((l, i) => {
      const f = path.join(dir, `c${String(i)}.jsonl`)
      writeFileSync(f, l + '\n')
      return f
    })
    const store = path.join(dir, 'chain.duckdb')
    let rejected = 0
    for (const f of files) rejected += (await ingest(store, [f]))['rejected-at-other-end'] ?? 0
    expect(rejected).toBe(1)
    expect(await stored(store)).toEqual([
      { bytes: 64, action: 'reject', file: 'c0.jsonl', half: 1, exporter: E1 },
      { bytes: 65, action: 'reject', file: 'c1.jsonl', half: 17, exporter: E1 },
      { bytes: 66, action: 'accept', file: 'c2.jsonl', half: 1, exporter: E1 },
    ])
  })
})
