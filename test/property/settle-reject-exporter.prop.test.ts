/**
 * @module Property: settling `rejected-at-other-end` of NetFlow/IPFIX and goflow2 records (one
 * exporter's records of one direction, logged forwarded and dropped: goflow2 `forwarding_status`
 * 64 and 128, RFC 7270) gives one answer read or stored, in one file or split in order over 2–3
 * files (in one command and file by file), on connections the store pairs as one file does
 * (README "Limits today": records of one direction only, or at most two records), as
 * settle-reject.prop.test.ts checks for AWS. `FC_SEED` and `FC_RUNS` explore.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ingestFiles, type IngestJob } from '../../src/cli/commands/ingest.js'
import type { Flow } from '../../src/core/index.js'
import { readFlows, type FileSummary } from '../../src/ingest/read.js'
import { openDuckDbStore } from '../../src/store/index.js'
import { tempDir } from '../helpers/files.js'
import { SEED } from '../helpers/model.js'
import { all, ingestEach } from '../helpers/store.js'

const root = tempDir('bulkhead-settle-exporter-prop')
const RUNS = Number(process.env.FC_RUNS ?? 25)
const T0 = 1_790_000_000
/** Most records of one connection: a run of one direction stays within reading's 9. */
const MAX_PER_KEY = 8

interface Rec {
  readonly reply: boolean
  readonly forwarded: boolean
  /** Seconds after T0 (a gap after the previous record, until {@link timed}). */
  readonly start: number
  readonly length: number
}

const rec = (reply: fc.Arbitrary<boolean>): fc.Arbitrary<Rec> =>
  fc.record({
    reply,
    forwarded: fc.boolean(),
    start: fc.oneof({ arbitrary: fc.nat(70), weight: 4 }, { arbitrary: fc.nat(200), weight: 1 }),
    length: fc.oneof(fc.constant(1), fc.nat(30)),
  })

function timed(recs: readonly Rec[]): Rec[] {
  let t = 0
  return recs.map((r) => ({ ...r, start: (t += r.start) }))
}

/** A run of one direction (1–8 records), or two records of any directions. */
const records: fc.Arbitrary<Rec[]> = fc.oneof(
  fc
    .boolean()
    .chain((reply) => fc.array(rec(fc.constant(reply)), { minLength: 1, maxLength: MAX_PER_KEY }))
    .map(timed),
  fc.array(rec(fc.boolean()), { minLength: 1, maxLength: 2 }).map(timed),
)

/** goflow2 v2 lines of the records (one exporter, UDP 10.0.0.5:53000 ↔ 10.0.1.9:53), and cuts. */
const scenario = fc
  .record({ recs: records, cuts: fc.uniqueArray(fc.nat(15), { minLength: 1, maxLength: 2 }) })
  .map(({ recs, cuts }) => {
    const lines = recs.map((r, i) =>
      JSON.stringify({
        type: 'IPFIX',
        time_received_ns: `${String(T0 + 1000)}000000000`,
        sampler_address: '192.0.2.1',
        time_flow_start_ns: `${String(T0 + r.start)}000000000`,
        time_flow_end_ns: `${String(T0 + r.start + r.length)}000000000`,
        bytes: 100 + i,
        packets: 1,
        src_addr: r.reply ? '10.0.1.9' : '10.0.0.5',
        dst_addr: r.reply ? '10.0.0.5' : '10.0.1.9',
        etype: 'IPv4',
        proto: 'UDP',
        src_port: r.reply ? 53 : 53000,
        dst_port: r.reply ? 53000 : 53,
        forwarding_status: r.forwarded ? 64 : 128,
      }),
    )
    const at = [...new Set(cuts.map((c) => c % lines.length).filter((c) => c > 0))].sort(
      (a, b) => a - b,
    )
    const files: string[][] = []
    let from = 0
    for (const c of [...at, lines.length]) {
      files.push(lines.slice(from, c))
      from = c
    }
    return { lines, files }
  })

function key(
  f: Pick<Flow, 'src' | 'dst' | 'srcPort' | 'dstPort' | 'protocol' | 'start'> & {
    observedAction: string
  },
): string {
  return `${f.src}:${String(f.srcPort)} > ${f.dst}:${String(f.dstPort)} p${String(f.protocol)} @${String(f.start)} ${f.observedAction}`
}

let settled = 0

async function readOne(file: string): Promise<string[]> {
  const summaries: FileSummary[] = []
  const flows = await all(readFlows([file], { format: 'goflow2', strict: true }, summaries))
  for (const s of summaries) settled += s.stats.notes['rejected-at-other-end'] ?? 0
  return flows.map(key).sort()
}

async function stored(store: string): Promise<string[]> {
  const s = await openDuckDbStore(store, { readOnly: true })
  try {
    return (await all(s.flows())).map(key).sort()
  } finally {
    await s.close()
  }
}

let runs = 0

describe('rejected-at-other-end of one exporter (property)', () => {
  it('flows over one file ≡ ingest of it, and of it split into files in one command or one by one', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ lines, files }) => {
        const dir = path.join(root, `run-${String(runs++)}`)
        mkdirSync(dir)
        const one = path.join(dir, 'all.jsonl')
        writeFileSync(one, lines.join('\n') + '\n')
        const parts = files.map((ls, i) => {
          const f = path.join(dir, `${'abc'[i] as string}.jsonl`)
          writeFileSync(f, ls.join('\n') + '\n')
          return f
        })
        const read = await readOne(one)
        const ingest = async (store: string, fs: readonly string[]): Promise<void> => {
          const jobs: IngestJob[] = fs.map((file) => ({ file, format: 'goflow2' }))
          const out = await ingestFiles(jobs, store, { strict: true, progress: false })
          expect(out.failed).toEqual([])
        }
        await ingest(path.join(dir, 'one.duckdb'), [one])
        expect(await stored(path.join(dir, 'one.duckdb')), 'one file').toEqual(read)
        await ingest(path.join(dir, 'split.duckdb'), parts)
        expect(await stored(path.join(dir, 'split.duckdb')), 'in one command').toEqual(read)
        await ingestEach(path.join(dir, 'each.duckdb'), parts, 'goflow2')
        expect(await stored(path.join(dir, 'each.duckdb')), 'one by one').toEqual(read)
      }),
      { seed: SEED, numRuns: RUNS },
    )
    expect(settled).toBeGreaterThan(0)
  }, 300_000)
})
