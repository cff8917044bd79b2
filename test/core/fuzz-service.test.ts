/**
 * Fuzz of the strings users type: services (`tcp/8000-8100`, src/core/service.ts, in policy
 * files and on the command line) and the `eval` flow text (`10.0.1.5 -> 10.0.2.9 tcp/5432`,
 * src/cli/commands/eval.ts), the globs of `ingest` and of the workspace's `sources`
 * (src/cli/commands/ingest.ts), and timestamps (`expires`, address validity: parseTimestamp in
 * src/core/yaml-source.ts). Generated from tokens that are almost right, and from any text.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BulkheadError, formatService, maxPort, parseService } from '../../src/core/index.js'
import { parseTimestamp } from '../../src/core/yaml-source.js'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll } from 'vitest'
import { parseEvalQuery } from '../../src/cli/commands/eval.js'
import { expandGlob } from '../../src/cli/commands/ingest.js'
import { SEED } from '../helpers/model.js'
import { PROTOTYPE_NAMES, runs } from '../helpers/fuzz.js'

const protocolToken = fc.oneof(
  fc.constantFrom('tcp', 'udp', 'sctp', 'icmp', 'icmpv6', 'proto', 'ip', 'any', '*', 'TCP', 'gre'),
  fc.constantFrom(...PROTOTYPE_NAMES),
  fc.stringMatching(/^[a-z0-9]{0,8}$/),
)
const portToken = fc.oneof(
  fc.nat({ max: 70_000 }).map(String),
  fc.tuple(fc.nat({ max: 70_000 }), fc.nat({ max: 70_000 })).map(([a, b]) => `${a}-${b}`),
  fc.constantFrom('', '*', 'any', '-1', '00080', '1e3', '0x50', '80-', '-80', '1-2-3', ' 80'),
  fc.constantFrom(...PROTOTYPE_NAMES),
  fc.string({ maxLength: 6 }),
)
const serviceText = fc.oneof(
  fc
    .tuple(protocolToken, fc.option(portToken, { nil: undefined }))
    .map(([p, port]) => (port === undefined ? p : `${p}/${port}`)),
  fc.string({ maxLength: 12 }),
)
const SERVICE_CODES = [
  'policy/unknown-protocol',
  'policy/port-out-of-range',
  'policy/reversed-port-range',
  'policy/bad-service',
]

describe('fuzz: services and eval flows as users type them', () => {
  it('parseService gives a valid service that formats and reads back the same, or a coded error', () => {
    fc.assert(
      fc.property(serviceText, (text) => {
        const s = parseService(text)
        if ('error' in s) {
          expect(SERVICE_CODES).toContain(s.code)
          return
        }
        if (s.protocol === 'any') return
        expect(Number.isInteger(s.protocol) && s.protocol >= 0 && s.protocol <= 255).toBe(true)
        const max = maxPort(s.protocol)
        expect(Number.isInteger(s.ports.lo) && Number.isInteger(s.ports.hi)).toBe(true)
        expect(0 <= s.ports.lo && s.ports.lo <= s.ports.hi && s.ports.hi <= max).toBe(true)
        expect(parseService(formatService(s))).toEqual(s)
      }),
      { seed: SEED, numRuns: runs(1000) },
    )
  })

  const endpoint = fc.oneof(
    fc.ipV4(),
    fc.ipV6(),
    fc.constantFrom('pay-api-1', 'db', '10.0.0.300', '->', '-', '>', ''),
    fc.constantFrom(...PROTOTYPE_NAMES),
    fc.string({ maxLength: 6 }),
  )

  it('parseEvalQuery reads one flow or throws a BulkheadError with a stable code', () => {
    fc.assert(
      fc.property(
        endpoint,
        fc.constantFrom(' -> ', '->', ' ', '  ->  ', ' => ', '', ' - > '),
        endpoint,
        fc.constantFrom(' ', '\t', '', '  '),
        serviceText,
        fc.option(fc.string({ maxLength: 4 }), { nil: undefined }),
        (src, arrow, dst, gap, service, extra) => {
          const text = `${src}${arrow}${dst}${gap}${service}${extra ?? ''}`
          try {
            const q = parseEvalQuery(text)
            // with the arrow a name may hold blanks (eval.ts flowParts), never at its ends
            const name = text.includes('->') ? /^\S(.*\S)?$/ : /^\S+$/
            expect(q.src).toMatch(name)
            expect(q.dst).toMatch(name)
            const p = q.service.protocol
            expect(Number.isInteger(p) && p >= 0 && p <= 255, String(p)).toBe(true)
            expect(q.dstPort >= 0 && q.dstPort <= maxPort(p)).toBe(true)
          } catch (e) {
            expect(e).toBeInstanceOf(BulkheadError)
            for (const d of (e as BulkheadError).diagnostics)
              expect(d.code).toMatch(/^[a-z0-9]+\/[a-z0-9-]+$/)
          }
        },
      ),
      { seed: SEED, numRuns: runs(1000) },
    )
  })
})

describe('fuzz: timestamps as policy and inventory files write them', () => {
  const pad = (n: number, w: number): string => String(n).padStart(w, '0')
  const leap = (y: number): boolean => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)
  const days = (y: number, m: number): number =>
    [31, leap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] ?? 0

  it('parseTimestamp agrees with a calendar and Date.parse on ISO-8601 texts, valid or not', () => {
    fc.assert(
      fc.property(
        fc.record({
          y: fc.integer({ min: 0, max: 9999 }),
          mo: fc.integer({ min: 0, max: 13 }),
          d: fc.integer({ min: 0, max: 32 }),
          h: fc.integer({ min: 0, max: 24 }),
          mi: fc.integer({ min: 0, max: 60 }),
          s: fc.integer({ min: 0, max: 60 }),
          frac: fc.option(fc.stringMatching(/^[0-9]{1,9}$/), { nil: undefined }),
          zone: fc.oneof(
            fc.constantFrom('Z', 'z'),
            fc
              .tuple(fc.constantFrom('+', '-'), fc.nat(25), fc.nat(60), fc.boolean())
              .map(([sg, hh, mm, colon]) => `${sg}${pad(hh, 2)}${colon ? ':' : ''}${pad(mm, 2)}`),
          ),
          dateOnly: fc.boolean(),
        }),
        (t) => {
          const date = `${pad(t.y, 4)}-${pad(t.mo, 2)}-${pad(t.d, 2)}`
          const dayOk = t.mo >= 1 && t.mo <= 12 && t.d >= 1 && t.d <= days(t.y, t.mo)
          if (t.dateOnly) {
            const r = parseTimestamp(date)
            if (!dayOk) expect(r).toBeUndefined()
            else expect(r).toEqual({ ms: Date.parse(`${date}T00:00:00.000Z`), dateOnly: true })
            return
          }
          const text = `${date}T${pad(t.h, 2)}:${pad(t.mi, 2)}:${pad(t.s, 2)}${t.frac === undefined ? '' : `.${t.frac}`}${t.zone}`
          const zh = t.zone.length > 1 ? Number(t.zone.slice(1, 3)) : 0
          const zm = t.zone.length > 1 ? Number(t.zone.slice(-2)) : 0
          const ok = dayOk && t.h <= 23 && t.mi <= 59 && t.s <= 59 && zh <= 23 && zm <= 59
          const r = parseTimestamp(text)
          if (!ok) {
            expect(r, text).toBeUndefined()
            return
          }
          const ms3 = (t.frac ?? '').padEnd(3, '0').slice(0, 3)
          const zone = t.zone.length > 1 ? `${t.zone.slice(0, 3)}:${t.zone.slice(-2)}` : 'Z'
          const iso = `${date}T${pad(t.h, 2)}:${pad(t.mi, 2)}:${pad(t.s, 2)}.${ms3}${zone}`
          expect(r, text).toEqual({ ms: Date.parse(iso), dateOnly: false })
        },
      ),
      { seed: SEED, numRuns: runs(1000) },
    )
  })
})

describe('fuzz: globs as ingest and bulkhead.yaml sources take them', () => {
  const root = mkdtempSync(join(tmpdir(), 'bulkhead-fuzz-glob-'))
  afterAll(() => {
    rmSync(root, { recursive: true, force: true })
  })
  mkdirSync(join(root, 'a', 'b'), { recursive: true })
  const FILES = ['x.log', 'y.log.gz', '[.log', 'a/z.log', 'a/b/w.log', 'a/b/!.txt']
  for (const f of FILES) writeFileSync(join(root, f), '')

  it('expandGlob gives existing files under the root, or the pattern itself, and never throws', () => {
    const part = fc.oneof(
      fc.constantFrom('*', '**', '?', '[', ']', '[!', '-', '/', '.', 'log', 'a', 'b', 'z', '\\'),
      fc.constantFrom('[a-z]', '[z-a]', '[]]', '[!]', '[^a]', '[[]', '[\\]', '[a-]'),
      fc.string({ maxLength: 2 }),
    )
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 6 }), (parts) => {
        const pattern = join(root, parts.join(''))
        for (const f of expandGlob(pattern))
          expect(f === pattern || FILES.map((x) => join(root, x)).includes(f), f).toBe(true)
      }),
      { seed: SEED, numRuns: runs(300) },
    )
  })
})
