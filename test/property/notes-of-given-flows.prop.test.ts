/**
 * @module A note about a record's flow (types.ts `flowNote`: `counters-not-logged`, ...) counts
 * only when the flow is given out: in a file whose every record lacks its counters, the note
 * `counters-not-logged` equals the flows given out, however many of the records are skipped, by
 * their parser after it noted them (an AWS VPC record's bad action or times) or by reading
 * (`mixed-address-families` as it takes the record, `no-sender` after pairing: a group to a
 * group), on both read paths (objects, columns), with pairing on and off. Expected counts are
 * worked out from the generated records: each record is either kept (one flow: no two records
 * are one connection's) or skipped for a reason named here.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { FlowColumns } from '../../src/ingest/columnar.js'
import {
  readFlowBatches,
  readFlowColumns,
  summarize,
  type FileSummary,
} from '../../src/ingest/read.js'
import type { FlowFormat } from '../../src/ingest/types.js'
import { SEED } from '../helpers/model.js'

const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-notes-of-given-flows-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** How a generated record ends: kept, or skipped with this reason. */
type Fate = 'kept' | 'mixed-address-families' | 'bad-action' | 'end-before-start' | 'no-sender'

/** One record of `format` without counters, whose fate is `fate`, its client port `port`. */
function record(format: FlowFormat, fate: Fate, port: number): string {
  // group to group: no sender can have written it, skipped after pairing (direction.ts groupEnds)
  const src = fate === 'no-sender' ? '224.0.0.1' : '10.0.0.1'
  const dst =
    fate === 'mixed-address-families'
      ? '2001:db8::2'
      : fate === 'no-sender'
        ? '239.1.1.1'
        : '10.0.0.2'
  switch (format) {
    case 'csv': {
      const action = fate === 'bad-action' ? 'maybe' : 'accept'
      const end = fate === 'end-before-start' ? '2026-01-01T00:00:00Z' : '2026-01-01T00:01:00Z'
      return `${src},${dst},${String(port)},443,tcp,2026-01-01T00:00:30Z,${end},${action}`
    }
    case 'zeek-tsv' as FlowFormat:
      return ['1700000000.5', `C${String(port)}`, src, String(port), dst, '443', 'tcp', 'SF'].join(
        '\t',
      )
    case 'zeek':
      return JSON.stringify({
        ts: 1700000000.5,
        uid: `C${String(port)}`,
        'id.orig_h': src,
        'id.orig_p': port,
        'id.resp_h': dst,
        'id.resp_p': 443,
        proto: 'tcp',
        conn_state: 'SF',
      })
    default: {
      // AWS VPC, custom format without packets and bytes
      const end = fate === 'end-before-start' ? 1699999990 : 1700000060
      const action = fate === 'bad-action' ? 'MAYBE' : 'ACCEPT'
      return `2 1 eni-1 ${src} ${dst} ${String(port)} 443 6 1700000000 ${String(end)} ${action} OK`
    }
  }
}

const HEADERS: Partial<Record<string, string>> = {
  csv: 'src_ip,dst_ip,src_port,dst_port,protocol,start,end,action',
  // a zeek-cut-like subset without counters: read from bytes, a line with an IPv6 end by the
  // line reader
  'zeek-tsv': [
    '#separator \\x09',
    '#set_separator\t,',
    '#empty_field\t(empty)',
    '#unset_field\t-',
    '#path\tconn',
    '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tconn_state',
    '#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring',
  ].join('\n'),
  'aws-vpc':
    'version account-id interface-id srcaddr dstaddr srcport dstport protocol start end action log-status',
}

const FATES: Record<string, readonly Fate[]> = {
  zeek: ['kept', 'mixed-address-families', 'no-sender'],
  'zeek-tsv': ['kept', 'mixed-address-families', 'no-sender'],
  csv: ['kept', 'mixed-address-families', 'bad-action', 'end-before-start', 'no-sender'],
  // AWS keeps a record with an IPv4 and an IPv6 end (interface-address-stand-in)
  'aws-vpc': ['kept', 'bad-action', 'end-before-start', 'no-sender'],
}

let fileNo = 0

describe('notes count only the flows given out', () => {
  for (const name of ['zeek', 'zeek-tsv', 'csv', 'aws-vpc'] as const) {
    const format: FlowFormat = name === 'zeek-tsv' ? 'zeek' : name
    it(`${name}: counters-not-logged equals the flows given out, on both read paths`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.constantFrom(...(FATES[name] ?? [])), { minLength: 1, maxLength: 30 }),
          async (fates) => {
            const lines = fates.map((f, i) => record(name as FlowFormat, f, 40000 + i))
            const header = HEADERS[name]
            const file = path.join(dir, `${String(++fileNo)}.log`)
            writeFileSync(file, [...(header ? [header] : []), ...lines, ''].join('\n'))
            const kept = fates.filter((f) => f === 'kept').length
            const skipped: Record<string, number> = {}
            for (const f of fates) if (f !== 'kept') skipped[f] = (skipped[f] ?? 0) + 1
            // paired or not (no two records are one connection's): the notes ride through the pairer
            for (const [columnar, pair] of [
              [false, false],
              [true, false],
              [false, true],
              [true, true],
            ] as const) {
              const summaries: FileSummary[] = []
              const opts = { format, strict: false, pair }
              let flows = 0
              if (columnar) {
                for await (const b of readFlowColumns([file], opts, summaries))
                  flows += b instanceof FlowColumns ? b.n : b.length
              } else
                for await (const b of readFlowBatches([file], opts, summaries)) flows += b.length
              const s = summarize(summaries, 0)
              expect(flows).toBe(kept)
              expect(s.records).toBe(kept)
              expect(s.skipped).toEqual(skipped)
              expect(s.notes['counters-not-logged'] ?? 0).toBe(kept)
            }
          },
        ),
        { seed: SEED, numRuns: 60 },
      )
    })
  }
})
