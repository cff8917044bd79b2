/**
 * Bulkhead's own flow lines (`flows -o jsonl`, `collect`) read back: the flows come back as they
 * were printed (round trip, property-based), the format is detected (it was read as CSV with 0
 * flows before), bad lines are skipped by reason, and `collect > f.jsonl; ingest f.jsonl` stores
 * what was collected.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Flow } from '../../src/core/index.js'
import { rankFormats } from '../../src/ingest/detect.js'
import { flowInvariantViolation } from '../../src/ingest/fields.js'
import { bulkheadJsonlParser, flowToJson } from '../../src/ingest/formats/bulkhead-jsonl.js'
import { cli } from '../helpers/cli.js'
import { SEED } from '../helpers/model.js'
import { fixture, runLines } from './text-helpers.js'

const T0 = Date.UTC(2026, 10, 1)
const flowArb: fc.Arbitrary<Flow> = fc
  .record({
    src: fc.constantFrom('10.0.0.1', '192.0.2.7', '2001:db8::1', 'fe80::1'),
    dst: fc.constantFrom('10.0.0.2', '198.51.100.9', '2001:db8::2', 'ff02::1:ff00:1'),
    srcPort: fc.integer({ min: 0, max: 65535 }),
    dstPort: fc.integer({ min: 0, max: 65535 }),
    protocol: fc.constantFrom(1, 6, 17, 58, 132, 47),
    start: fc.integer({ min: T0, max: T0 + 86_400_000 }),
    length: fc.integer({ min: 0, max: 3_600_000 }),
    packets: fc.nat(),
    bytes: fc.maxSafeNat(),
    observedAction: fc.constantFrom('accept' as const, 'reject' as const, 'unknown' as const),
    direction: fc.constantFrom(
      'client-to-server' as const,
      'server-to-client' as const,
      'unknown' as const,
    ),
    tcpFlags: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
    srcName: fc.option(fc.string({ maxLength: 12 }), { nil: undefined }),
    dstLabels: fc.option(fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 })), {
      nil: undefined,
    }),
  })
  .map(({ length, tcpFlags, srcName, dstLabels, ...f }) => ({
    ...f,
    end: f.start + length,
    source: { format: 'zeek', file: 'conn.log', line: 7 },
    ...(tcpFlags !== undefined ? { tcpFlags } : {}),
    ...(srcName !== undefined ? { srcName } : {}),
    ...(dstLabels !== undefined ? { dstLabels } : {}),
  }))

const linesOf = (flows: readonly Flow[]): string[] =>
  flows.map((f) => JSON.stringify(flowToJson(f)))

describe('bulkhead-jsonl: the lines `flows -o jsonl` and `collect` print, read back', () => {
  it('round trip: every flow comes back as printed, from this file and line', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(flowArb, { maxLength: 8 }), async (flows) => {
        const { flows: back, ctx } = await runLines(bulkheadJsonlParser, linesOf(flows), {
          file: 'c.jsonl',
        })
        expect(ctx.stats.skipped).toEqual({})
        expect(back).toEqual(
          flows.map((f, i) => ({
            ...f,
            source: { format: 'bulkhead-jsonl', file: 'c.jsonl', line: i + 1 },
          })),
        )
      }),
      { seed: SEED, numRuns: 200 },
    )
  })

  it('is detected ahead of CSV (whose header test the first line passed)', () => {
    const lines = linesOf(fc.sample(flowArb, { seed: SEED, numRuns: 3 }))
    const [best] = rankFormats(Buffer.from(`${lines.join('\n')}\n`))
    expect(best).toEqual({ format: 'bulkhead-jsonl', confidence: 0.98 })
  })

  it('lines written without `source` (by hand, by another program) are detected too', async () => {
    // held-out (hE, s33): such lines parse, yet detection asked for `source.format` and the file
    // was ingest/unknown-format without --format bulkhead-jsonl
    const line = (port: number): string =>
      JSON.stringify({
        src: '10.0.0.1',
        dst: '10.0.0.2',
        srcPort: 40000 + port,
        dstPort: port,
        protocol: 6,
        start: '2026-11-01T10:00:00Z',
        end: '2026-11-01T10:00:05Z',
        packets: 4,
        bytes: 400,
        observedAction: 'accept',
        direction: 'client-to-server',
      })
    const text = `${line(443)}\n${line(22)}\n`
    expect(rankFormats(Buffer.from(text))[0]).toEqual({
      format: 'bulkhead-jsonl',
      confidence: 0.95,
    })
    const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-jsonl-plain-'))
    try {
      const file = path.join(dir, 'hand.jsonl')
      writeFileSync(file, text)
      const r = await cli('flows', file, '-o', 'jsonl')
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout.trim().split('\n')).toHaveLength(2)
      // a line lacking a field the format needs is no bulkhead-jsonl line
      const partial = JSON.parse(line(80)) as Record<string, unknown>
      delete partial['observedAction']
      expect(bulkheadJsonlParser.detect(Buffer.from(JSON.stringify(partial)))).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  type Spoil = (o: Record<string, unknown>) => string
  const cases: [string, string, Spoil][] = [
    ['not json', 'bad-json', (o) => JSON.stringify(o).slice(0, -1)],
    ['an address', 'bad-address', (o) => JSON.stringify({ ...o, dst: '10.0.0.300' })],
    ['a port', 'bad-port', (o) => JSON.stringify({ ...o, srcPort: 70000 })],
    ['a protocol', 'bad-protocol', (o) => JSON.stringify({ ...o, protocol: '6' })],
    ['a time', 'bad-time', (o) => JSON.stringify({ ...o, start: '2026-02-30T00:00:00Z' })],
    ['times', 'end-before-start', (o) => JSON.stringify({ ...o, end: '2000-01-01T00:00:00Z' })],
    ['a counter', 'bad-counter', (o) => JSON.stringify({ ...o, bytes: -1 })],
    ['a direction', 'bad-field', (o) => JSON.stringify({ ...o, direction: 'inbound' })],
  ]
  it.each(cases)('a bad %s is skipped as %s, the good lines kept', async (_what, reason, spoil) => {
    const [a, b] = linesOf(fc.sample(flowArb, { seed: SEED, numRuns: 2 })) as [string, string]
    const bad = spoil(JSON.parse(a) as Record<string, unknown>)
    const { flows, ctx } = await runLines(bulkheadJsonlParser, [a, bad, '', b])
    expect(flows).toHaveLength(2)
    expect(ctx.stats.skipped).toEqual({ [reason]: 1 })
    await expect(runLines(bulkheadJsonlParser, [a, bad], { strict: true })).rejects.toThrow(
      /ingest\/malformed-record/,
    )
  })

  it('mutated lines never crash it, and what it emits is a valid flow', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(flowArb, { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), fc.string({ maxLength: 3 })), { maxLength: 4 }),
        async (flows, edits) => {
          const lines = linesOf(flows).map((l, i) => {
            const [at, text] = edits[i] ?? [0, '']
            const k = at % (l.length + 1)
            return l.slice(0, k) + text + l.slice(k + text.length)
          })
          const { flows: out } = await runLines(bulkheadJsonlParser, lines)
          for (const f of out) expect(flowInvariantViolation(f)).toBeUndefined()
        },
      ),
      { seed: SEED, numRuns: 300 },
    )
  })

  it('flows -o jsonl, then ingest: the store holds the same flows', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-jsonl-'))
    try {
      const printed = await cli('flows', fixture('zeek-conn.log'), '-o', 'jsonl')
      expect(printed.code, printed.stderr).toBe(0)
      const file = path.join(dir, 'collected.jsonl')
      writeFileSync(file, printed.stdout)
      const again = await cli('flows', file, '-o', 'jsonl')
      const strip = (out: string): unknown[] =>
        out
          .trim()
          .split('\n')
          .map((l) => ({ ...(JSON.parse(l) as Record<string, unknown>), source: null }))
      expect(strip(again.stdout)).toEqual(strip(printed.stdout))
      expect((await cli('init', '-w', dir)).code).toBe(0)
      const ingest = await cli('ingest', '-w', dir, file, '-o', 'json')
      expect(ingest.code, ingest.stderr).toBe(0)
      expect(JSON.parse(ingest.stdout)).toMatchObject({
        records: strip(printed.stdout).length,
        formats: { 'bulkhead-jsonl': strip(printed.stdout).length },
      })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
