/**
 * @module Property: settling `rejected-at-other-end` gives one answer however AWS VPC records are
 * split into files and whether they are read or stored. Generated AWS VPC v2 records of two
 * connections (either direction, random actions and interfaces, in time order) give the same
 * multiset of (src, dst, ports, protocol, start, observedAction), after the usual pairing:
 *
 * 1. `flows` over one file (reading, object path) ≡ `ingest` of that file (columnar path, then
 *    the store), on connections of up to {@link MAX_PER_KEY} records of either direction, pairs
 *    merged between an accept and a refusal among them (reading keeps the run a merged pair
 *    leaves: {@link cutRuns} counts the cases, which must occur);
 * 2. `flows` over one file ≡ `ingest` of the same records split in order over 2–3 files, in one
 *    command, and file by file, on connections the store pairs across files as one file does
 *    (README "Limits today": records of one direction only, or at most two records).
 *
 * At most {@link MAX_PER_KEY} records of a connection, so a run of one direction stays within
 * reading's bound (PAIR_RUN + 1 = 9). `flows` over the split files is not compared: reading pairs
 * and settles within one file only (README `bulkhead flows`). `FC_SEED` and `FC_RUNS` explore.
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

const root = tempDir('bulkhead-settle-prop')
const RUNS = Number(process.env.FC_RUNS ?? 40)
const T0 = 1_790_000_000
/** Most records of one connection (both directions): a run of one direction stays within 9. */
const MAX_PER_KEY = 8

/** Two connections: TCP client 10.0.1.7:40001 → 10.0.2.9:443, UDP 10.0.3.4:50000 → 10.0.2.9:53. */
const CONNECTIONS = [
  { client: '10.0.1.7', server: '10.0.2.9', cp: 40001, sp: 443, protocol: 6 },
  { client: '10.0.3.4', server: '10.0.2.9', cp: 50000, sp: 53, protocol: 17 },
] as const

interface Rec {
  readonly conn: number
  readonly reply: boolean
  readonly action: 'ACCEPT' | 'REJECT'
  /** Seconds after T0. */
  readonly start: number
  readonly length: number
  readonly eni: string
}

const ACTION = fc.constantFrom<'ACCEPT' | 'REJECT'>('ACCEPT', 'REJECT')

/**
 * A record of connection `conn`; `start` is the gap after the previous one (at most 70 s, or
 * 200 s; with `gap`, the gap's arbitrary), until sorted.
 */
const rec = (
  conn: number,
  reply: fc.Arbitrary<boolean>,
  action: fc.Arbitrary<'ACCEPT' | 'REJECT'> = ACTION,
  gap: fc.Arbitrary<number> = fc.oneof(
    { arbitrary: fc.nat(70), weight: 4 },
    { arbitrary: fc.nat(200), weight: 1 },
  ),
): fc.Arbitrary<Rec> =>
  fc.record({
    conn: fc.constant(conn),
    reply,
    action,
    start: gap,
    length: fc.oneof(fc.constant(1), fc.nat(30)),
    eni: fc.constantFrom('eni-0c', 'eni-0s'),
  })

/**
 * Records of connection `conn` with a merged pair between an accept and a refusal of one
 * direction ({@link cutRun}), which random records rarely give (6 in 300 cases): a record, one
 * of its direction and that one's reply with one action (the pair), one of the first's direction
 * with the other action than the first, each at most 20 s after the one before; then up to
 * {@link MAX_PER_KEY} − 4 records of either direction.
 */
const cutRecords = (conn: number): fc.Arbitrary<Rec[]> =>
  fc
    .tuple(fc.boolean(), ACTION, ACTION)
    .chain(([reply, first, paired]) => {
      const near = (r: boolean, a: 'ACCEPT' | 'REJECT') =>
        rec(conn, fc.constant(r), fc.constant(a), fc.nat(20))
      return fc.tuple(
        near(reply, first),
        near(reply, paired),
        near(!reply, paired),
        near(reply, first === 'ACCEPT' ? 'REJECT' : 'ACCEPT'),
        fc.array(rec(conn, fc.boolean()), { maxLength: MAX_PER_KEY - 4 }),
      )
    })
    .map(([a, b, c, d, rest]) => timed([a, b, c, d, ...rest]))

/** Gaps to times: each record starts `start` seconds after the one before it. */
function timed(recs: readonly Rec[]): Rec[] {
  let t = 0
  return recs.map((r) => ({ ...r, start: (t += r.start) }))
}

/**
 * The records of connection `conn`. `general`: up to {@link MAX_PER_KEY} records of either
 * direction, random or with a merged pair between an accept and a refusal ({@link cutRecords}).
 * Otherwise what the store promises to pair across files as one file does (README
 * "Limits today": at most two records of a connection, or records of one direction only): a run
 * of one direction (1–{@link MAX_PER_KEY} records), or two records of any directions.
 */
const connectionRecords = (conn: number, general: boolean): fc.Arbitrary<Rec[]> =>
  general
    ? fc.oneof(
        {
          arbitrary: fc.array(rec(conn, fc.boolean()), { maxLength: MAX_PER_KEY }).map(timed),
          weight: 2,
        },
        { arbitrary: cutRecords(conn), weight: 1 },
      )
    : fc.oneof(
        fc
          .boolean()
          .chain((reply) =>
            fc.array(rec(conn, fc.constant(reply)), { minLength: 1, maxLength: MAX_PER_KEY }),
          )
          .map(timed),
        fc.array(rec(conn, fc.boolean()), { minLength: 1, maxLength: 2 }).map(timed),
      )

/** AWS VPC v2 lines of the records of both connections, in time order, and cuts into 2–3 files. */
const scenario = (general: boolean) =>
  fc
    .record({
      records: fc.tuple(...CONNECTIONS.map((_, i) => connectionRecords(i, general))),
      cuts: fc.uniqueArray(fc.nat(15), { minLength: 1, maxLength: 2 }),
    })
    .filter(({ records }) => records.flat().length > 0)
    .map(({ records, cuts }) => {
      const all = records.flat().sort((a, b) => a.start - b.start)
      const lines = all.map((r, i) => {
        const c = CONNECTIONS[r.conn] as (typeof CONNECTIONS)[number]
        const [src, dst, sp, dp] = r.reply
          ? [c.server, c.client, c.sp, c.cp]
          : [c.client, c.server, c.cp, c.sp]
        return (
          `2 123456789012 ${r.eni} ${src} ${dst} ${String(sp)} ${String(dp)} ${String(c.protocol)} ` +
          `1 ${String(100 + i)} ${String(T0 + r.start)} ${String(T0 + r.start + r.length)} ${r.action} OK`
        )
      })
      const files = splitAtCuts(lines, cuts)
      return { records: all, lines, files }
    })

/** The flows `flows` reads from `file`, as {@link key}s, and the bytes of each. */
async function readOne(file: string): Promise<{ keys: string[]; bytes: Set<number> }> {
  const summaries: FileSummary[] = []
  const flows = await all(readFlows([file], { format: 'aws-vpc', strict: true }, summaries))
  for (const s of summaries) settled += s.stats.notes['rejected-at-other-end'] ?? 0
  return { keys: flows.map(flowKey).sort(), bytes: new Set(flows.map((f) => f.bytes)) }
}

/**
 * True when a merged pair stands between two records of one direction of a connection, one
 * written `ACCEPT` and one `REJECT`, near in time (at most 60 s apart), both left unpaired
 * (`halves`: the bytes of the flows read; record `i` has bytes `100 + i`): the case where reading
 * once released the accept when the pair merged and read it `accept`, while the store settled it
 * (README `bulkhead ingest`: a merged pair does not cut the run).
 */
function cutRun(records: readonly Rec[], halves: ReadonlySet<number>): boolean {
  for (let i = 0; i < records.length; i++) {
    const a = records[i] as Rec
    for (let j = i + 1; j < records.length; j++) {
      const b = records[j] as Rec
      if (b.conn !== a.conn || b.reply !== a.reply || b.action === a.action) continue
      if (!halves.has(100 + i) || !halves.has(100 + j)) continue
      if (b.start > a.start + a.length + 60) continue
      for (let k = i + 1; k < j; k++)
        if ((records[k] as Rec).conn === a.conn && !halves.has(100 + k)) return true
    }
  }
  return false
}

let runs = 0
/** How often the generator reached a settled record: it must, or the property says nothing. */
let settled = 0
/** Cases with a merged pair between an accept and a refusal ({@link cutRun}): they must occur. */
let cutRuns = 0

/** Writes the one file and the split files of a case into a fresh folder. */
function write(lines: readonly string[], files: readonly (readonly string[])[]) {
  const dir = path.join(root, `run-${String(runs++)}`)
  return { dir, ...writeSplit(dir, lines, files, 'log') }
}

describe('rejected-at-other-end (property)', () => {
  it('flows over one file ≡ ingest of that file', async () => {
    await fc.assert(
      fc.asyncProperty(scenario(true), async ({ records, lines, files }) => {
        const { dir, one } = write(lines, files)
        const read = await readOne(one)
        if (cutRun(records, read.bytes)) cutRuns++
        await ingestTogether(path.join(dir, 'one.duckdb'), [one], 'aws-vpc')
        expect(await storedKeys(path.join(dir, 'one.duckdb'))).toEqual(read.keys)
      }),
      { seed: SEED, numRuns: RUNS },
    )
    expect(settled).toBeGreaterThan(0)
    expect(cutRuns).toBeGreaterThan(0)
  }, 300_000)

  it('flows over one file ≡ ingest of it split into files, in one command or one by one', async () => {
    await fc.assert(
      fc.asyncProperty(scenario(false), async ({ lines, files }) => {
        const { dir, one, parts } = write(lines, files)
        const read = (await readOne(one)).keys
        await ingestTogether(path.join(dir, 'split.duckdb'), parts, 'aws-vpc')
        expect(await storedKeys(path.join(dir, 'split.duckdb')), 'in one command').toEqual(read)
        await ingestEach(path.join(dir, 'each.duckdb'), parts, 'aws-vpc')
        expect(await storedKeys(path.join(dir, 'each.duckdb')), 'one by one').toEqual(read)
      }),
      { seed: SEED, numRuns: RUNS },
    )
  }, 300_000)
})
