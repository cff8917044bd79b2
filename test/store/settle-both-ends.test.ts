/**
 * @module `rejected-at-other-end` for AWS VPC records, read (`flows`) and stored (`ingest`), with
 * the records in one file or in several: the expected actions are worked out by hand from the
 * README's rule (every `ACCEPT` record of one direction within 60 s of a record of that direction
 * *written* `REJECT` is read `reject`; an accept read so is no refusal itself; a flow merged from
 * both directions is neither settled nor a refusal; the direction is the record's as written).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ingestFiles } from '../../src/cli/commands/ingest.js'
import { HALF_SETTLED, HALF_UNPAIRED, type Flow } from '../../src/core/index.js'
import { readFlows, type FileSummary } from '../../src/ingest/read.js'
import { tempDir } from '../helpers/files.js'
import { all, ingestEach, storedHalves } from '../helpers/store.js'

const root = tempDir('bulkhead-settle-both-ends')
const T0 = 1_790_000_000
let cases = 0

/** An AWS VPC v2 record: `dir` `>` the client's direction, `<` the reply; times in s after T0. */
function rec(dir: '>' | '<', start: number, action: 'ACCEPT' | 'REJECT', bytes: number): string {
  const [s, d, sp, dp] =
    dir === '>' ? ['10.0.1.7', '10.0.2.9', 40001, 443] : ['10.0.2.9', '10.0.1.7', 443, 40001]
  return `2 123456789012 eni-0a ${s} ${d} ${String(sp)} ${String(dp)} 6 1 ${String(bytes)} ${String(T0 + start)} ${String(T0 + start + 1)} ${action} OK`
}

/** Writes each file's records; returns the paths, and the path of all records as one file. */
function files(parts: readonly (readonly string[])[]): { one: string; split: string[] } {
  const dir = path.join(root, `case-${String(cases++)}`)
  mkdirSync(dir)
  const one = path.join(dir, 'all.log')
  writeFileSync(one, parts.flat().join('\n') + '\n')
  const split = parts.map((p, i) => {
    const f = path.join(dir, `${'abc'[i] as string}.log`)
    writeFileSync(f, p.join('\n') + '\n')
    return f
  })
  return { one, split }
}

/** `start(s) bytes action` of each flow, by start then bytes. */
const shape = (fs: readonly Pick<Flow, 'start' | 'bytes' | 'observedAction'>[]): string[] =>
  [...fs]
    .sort((a, b) => a.start - b.start || a.bytes - b.bytes)
    .map((f) => `${String((f.start - T0 * 1000) / 1000)} ${String(f.bytes)} ${f.observedAction}`)

async function read(file: string): Promise<string[]> {
  const summaries: FileSummary[] = []
  return shape(await all(readFlows([file], { format: 'aws-vpc', strict: true }, summaries)))
}

async function stored(store: string): Promise<string[]> {
  const rows = await storedHalves(store)
  return shape(
    rows.map((r) => ({
      start: r.start,
      bytes: r.bytes,
      observedAction: r.action as Flow['observedAction'],
    })),
  )
}

/** What `flows` reads from the one file and what every way of storing the records stores. */
async function everyWay(parts: readonly (readonly string[])[]): Promise<Record<string, string[]>> {
  const { one, split } = files(parts)
  const dir = path.dirname(one)
  const out: Record<string, string[]> = { flows: await read(one) }
  await ingestEach(path.join(dir, 'one.duckdb'), [one], 'aws-vpc')
  out['ingest one file'] = await stored(path.join(dir, 'one.duckdb'))
  await ingestEach(path.join(dir, 'each.duckdb'), split, 'aws-vpc')
  out['ingest one by one'] = await stored(path.join(dir, 'each.duckdb'))
  await ingestEach(path.join(dir, 'back.duckdb'), [...split].reverse(), 'aws-vpc')
  out['ingest one by one, last first'] = await stored(path.join(dir, 'back.duckdb'))
  const r = await ingestFiles(
    split.map((file) => ({ file, format: 'aws-vpc' as const })),
    path.join(dir, 'together.duckdb'),
    { strict: true, progress: false },
  )
  expect(r.failed).toEqual([])
  out['ingest in one command'] = await stored(path.join(dir, 'together.duckdb'))
  return out
}

function allAre(got: Record<string, string[]>, expected: string[]): void {
  for (const [way, rows] of Object.entries(got)) expect(rows, way).toEqual(expected)
}

describe('rejected-at-other-end: read and stored, in one file or several', () => {
  it('does not chain: R at 0 s, A at 50 s, A at 100 s read reject, reject, accept', async () => {
    // A@50 starts 49 s after R ends: settled. A@100 starts 99 s after R ends and 49 s after
    // A@50, which was written accept: not settled
    const got = await everyWay([
      [rec('>', 0, 'REJECT', 1)],
      [rec('>', 50, 'ACCEPT', 2)],
      [rec('>', 100, 'ACCEPT', 3)],
    ])
    allAre(got, ['0 1 reject', '50 2 reject', '100 3 accept'])
  })

  it('does not chain from an accept settled by an earlier ingest of the same file', async () => {
    // stored first: R@0 and A@50 in one file (A@50 settled by reading, marked so); then A@100
    const got = await everyWay([
      [rec('>', 0, 'REJECT', 1), rec('>', 50, 'ACCEPT', 2)],
      [rec('>', 100, 'ACCEPT', 3)],
    ])
    allAre(got, ['0 1 reject', '50 2 reject', '100 3 accept'])
  })

  it('marks a settled half HALF_SETTLED, and a refusal not', async () => {
    const { one } = files([[rec('>', 0, 'REJECT', 1), rec('>', 50, 'ACCEPT', 2)]])
    const store = path.join(path.dirname(one), 'marks.duckdb')
    await ingestEach(store, [one], 'aws-vpc')
    const rows = await storedHalves(store)
    expect(rows.map((r) => [r.bytes, r.action, r.half])).toEqual([
      [1, 'reject', HALF_UNPAIRED],
      [2, 'reject', HALF_UNPAIRED | HALF_SETTLED],
    ])
  })

  it('does not settle a merged pair: request and reply accepted, then the request refused at the other end', async () => {
    // one interface logged both directions accepted (the reply came back): the request reached
    // its server, so the later refusal of the same direction does not turn it into a refusal;
    // reading merges the two before the refusal comes
    const got = await everyWay([
      [rec('>', 0, 'ACCEPT', 1), rec('<', 1, 'ACCEPT', 2)],
      [rec('>', 10, 'REJECT', 4)],
    ])
    allAre(got, ['0 3 accept', '10 4 reject'])
  })

  it('a merged refused pair refuses nothing', async () => {
    // both directions rejected and paired (one flow), then an accept of the request 10 s later:
    // reading has merged the refusal away when the accept comes
    const got = await everyWay([
      [rec('>', 0, 'REJECT', 1), rec('<', 1, 'REJECT', 2)],
      [rec('>', 10, 'ACCEPT', 4)],
    ])
    allAre(got, ['0 3 reject', '10 4 accept'])
  })

  it('GCP: the source report and the firewall DENIED record, in two files, are both stored reject', async () => {
    // by hand: the source VM reported the attempt (egress is sampled before the firewall, 3:01:55
    // to 3:02:01); the destination's firewall logged it DENIED at 3:02:00.374: one direction, both
    // unpaired halves, near: the report is read reject
    const attempt = {
      src_ip: '10.10.0.12',
      src_port: 40001,
      dest_ip: '10.20.0.31',
      dest_port: 3306,
      protocol: 6,
    }
    const report = JSON.stringify({
      jsonPayload: {
        connection: attempt,
        start_time: '2026-11-01T03:01:55Z',
        end_time: '2026-11-01T03:02:01Z',
        bytes_sent: '180',
        packets_sent: '3',
        reporter: 'SRC',
      },
      logName: 'projects/apps/logs/compute.googleapis.com%2Fvpc_flows',
    })
    const denied = JSON.stringify({
      jsonPayload: {
        connection: attempt,
        disposition: 'DENIED',
        rule_details: { action: 'DENY', direction: 'INGRESS', priority: 65000 },
        instance: { project_id: 'apps', vm_name: 'crm-db-1' },
      },
      logName: 'projects/apps/logs/compute.googleapis.com%2Ffirewall',
      timestamp: '2026-11-01T03:02:00.374Z',
    })
    const dir = path.join(root, `case-${String(cases++)}`)
    mkdirSync(dir)
    const a = path.join(dir, 'a.json')
    const b = path.join(dir, 'b.json')
    writeFileSync(a, report + '\n')
    writeFileSync(b, denied + '\n')
    for (const order of [
      [a, b],
      [b, a],
    ]) {
      const store = path.join(dir, `${path.basename(order[0] as string)}.duckdb`)
      const notes = await ingestEach(store, order, 'gcp-vpc')
      expect(notes['rejected-at-other-end']).toBe(1)
      expect((await storedHalves(store)).map((r) => [r.bytes, r.action])).toEqual([
        [0, 'reject'],
        [180, 'reject'],
      ])
    }
  })

  it('a record of the other direction between an accept and its refusal does not keep them apart', async () => {
    // A@0, a refused reply @1 (other actions: no pair), A@5, R@10: reading holds them all
    // together (the reply joins the run), so R@10 settles both accepts, as the store does. In one
    // file only: across files, four records of both directions may pair otherwise (README Limits)
    const { one } = files([
      [
        rec('>', 0, 'ACCEPT', 1),
        rec('<', 1, 'REJECT', 2),
        rec('>', 5, 'ACCEPT', 3),
        rec('>', 10, 'REJECT', 4),
      ],
    ])
    const store = path.join(path.dirname(one), 'one.duckdb')
    await ingestEach(store, [one], 'aws-vpc')
    allAre({ flows: await read(one), 'ingest one file': await stored(store) }, [
      '0 1 reject',
      '1 2 reject',
      '5 3 reject',
      '10 4 reject',
    ])
  })

  it('ingest settles an accept that reading held apart from its refusal (9 records between)', async () => {
    // A@0, nine accepts of the direction @1…9, R@10: reading keeps at most 9 records of the
    // connection together, so R@10 settles A@1…9 and leaves A@0 accept; the store settles the unpaired halves of one
    // file as of several (README Limits), so `ingest` stores every accept reject: the halves of
    // the one transaction that stores the file meet among themselves
    const records = [rec('>', 0, 'ACCEPT', 1)]
    for (let t = 1; t <= 9; t++) records.push(rec('>', t, 'ACCEPT', 1 + t))
    records.push(rec('>', 10, 'REJECT', 11))
    const { one } = files([records])
    const store = path.join(path.dirname(one), 'one.duckdb')
    await ingestEach(store, [one], 'aws-vpc')
    const read9 = await read(one)
    expect(read9.slice(0, 3)).toEqual(['0 1 accept', '1 2 reject', '2 3 reject'])
    expect(await stored(store)).toEqual(
      records.map((_, i) => `${String(i)} ${String(i + 1)} reject`),
    )
  })

  it('a refused reply does not settle the accepted request (another direction)', async () => {
    // the request got through; the reply was refused (a stateless network ACL): the records do
    // not pair (other actions), and the reply, stored turned round, has the request's ends
    const got = await everyWay([[rec('>', 0, 'ACCEPT', 1)], [rec('<', 5, 'REJECT', 2)]])
    allAre(got, ['0 1 accept', '5 2 reject'])
  })
})
