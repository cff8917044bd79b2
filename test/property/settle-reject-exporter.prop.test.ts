/**
 * @module Property: settling `rejected-at-other-end` of NetFlow/IPFIX and goflow2 records (one
 * exporter's records of one direction, logged forwarded and dropped: goflow2 `forwarding_status`
 * 64 and 128, RFC 7270) gives one answer read or stored, in one file or split in order over 2–3
 * files (in one command and file by file), on connections the store pairs as one file does
 * (README "Limits today": records of one direction only, or at most two records), as
 * settle-reject.prop.test.ts checks for AWS. `FC_SEED` and `FC_RUNS` explore.
 */
import path from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { readFlows, type FileSummary } from '../../src/ingest/read.js'
import { tempDir } from '../helpers/files.js'
import { SEED } from '../helpers/model.js'
import {
  all,
  flowKey,
  ingestEach,
  ingestTogether,
  splitAtCuts,
  storedKeys,
  writeSplit,
} from '../helpers/store.js'

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
    const files = splitAtCuts(lines, cuts)
    return { lines, files }
  })

let settled = 0

async function readOne(file: string): Promise<string[]> {
  const summaries: FileSummary[] = []
  const flows = await all(readFlows([file], { format: 'goflow2', strict: true }, summaries))
  for (const s of summaries) settled += s.stats.notes['rejected-at-other-end'] ?? 0
  return flows.map(flowKey).sort()
}

let runs = 0

describe('rejected-at-other-end of one exporter (property)', () => {
  it('flows over one file ≡ ingest of it, and of it split into files in one command or one by one', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ lines, files }) => {
        const dir = path.join(root, `run-${String(runs++)}`)
        const { one, parts } = writeSplit(dir, lines, files, 'jsonl')
        const read = await readOne(one)
        await ingestTogether(path.join(dir, 'one.duckdb'), [one], 'goflow2')
        expect(await storedKeys(path.join(dir, 'one.duckdb')), 'one file').toEqual(read)
        await ingestTogether(path.join(dir, 'split.duckdb'), parts, 'goflow2')
        expect(await storedKeys(path.join(dir, 'split.duckdb')), 'in one command').toEqual(read)
        await ingestEach(path.join(dir, 'each.duckdb'), parts, 'goflow2')
        expect(await storedKeys(path.join(dir, 'each.duckdb')), 'one by one').toEqual(read)
      }),
      { seed: SEED, numRuns: RUNS },
    )
    expect(settled).toBeGreaterThan(0)
  }, 300_000)
})
