/**
 * Words of the text output: counts agree in number (`1 crown jewel`), `diff` speaks of verdicts
 * as DESIGN.md's glossary does (denied; blocked or would-be-blocked by mode), and `ingest` names
 * the twin of a file with the same bytes in one run.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { counted, plural } from '../../src/core/index.js'
import { formatRunSummary, summarize } from '../../src/ingest/index.js'
import { cli } from '../helpers/cli.js'

const tmp = mkdtempSync(path.join(tmpdir(), 'bulkhead-wording-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const BLAST =
  'blast-radius -w test/fixtures/blast-estate --baseline enforced --at 2026-11-22'.split(' ')
const D = 'test/fixtures/diff-estate'
const DIFF =
  `diff ${D}/policy-old ${D}/policy -w ${D} --at 2026-11-01 --flows ${D}/flows.csv`.split(' ')

describe('counts in text output', () => {
  it('counted and plural', () => {
    expect(counted(1, 'crown jewel')).toBe('1 crown jewel')
    expect(counted(0, 'flow')).toBe('0 flows')
    expect(counted(2, 'policy', 'policies')).toBe('2 policies')
    expect(counted(1234, 'flow', 'flows', '1,234')).toBe('1,234 flows')
    expect(plural(1, 'entity', 'entities')).toBe('entity')
  })

  it('validate, blast-radius and a run summary say 1 policy, 1 crown jewel, 1 file, 1 flow', async () => {
    const v = await cli('validate', '-w', 'test/fixtures/good', '--at', '2026-11-22T00:00:00Z')
    expect(v.stdout).toMatch(/^ok: 9 workloads, 2 externals, 1 policy, 10 rules/)
    const b = await cli(...BLAST)
    expect(b.code).toBe(0)
    expect(b.stdout).toContain('7 active workloads, 7 sources, 1 crown jewel\n')
    const one = summarize(
      [
        {
          file: 'a.csv',
          format: 'csv',
          bytes: 1,
          stats: {
            records: 1,
            skipped: { 'bad-port': 1 },
            notes: {},
            examples: [],
          },
        },
      ],
      0,
    )
    const text = formatRunSummary(one)
    expect(text).toMatch(/^read 1 file \(1 byte\) in 0\.00 s: 1 flow \(csv 1\)$/m)
    expect(text).toMatch(/^skipped 1 malformed record: bad-port 1$/m)
  })

  /** Text renderers: no count written before a plural noun without {@link counted}. */
  it('no renderer writes ${n} before a plural noun by hand', () => {
    const files = [
      ...walk('src/cli'),
      ...walk('src/discover/render'),
      'src/analyze/render.ts',
      'src/recommend/report.ts',
      'src/ingest/read.ts',
    ]
    const noun =
      /\$\{[^}]+\} (workloads|externals|policies|rules|flows|edges|entities|files|sources|crown jewels|errors|warnings|records|hosts|lines|bytes|datagrams|destinations|services|suggestions|hops|pairs|verdicts)\b(?!\/)|\b(rule|edge|file|flow|workload|host|record)\(s\)/
    // `${o.unit} pairs`: a unit (workload, identity), not a count
    const notCounts = /\$\{o\.unit\} pairs/
    const found = files.flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .map((line, i) => ({ where: `${f}:${i + 1}`, line }))
        .filter(
          ({ line }) => noun.test(line.replace(notCounts, '')) && !/^\s*(\*|\/\/)/.test(line),
        ),
    )
    expect(found).toEqual([])
  })
})

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n)
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : []
  })
}

describe('diff speaks of verdicts', () => {
  it('an edge allowed by OLD and denied by NEW is DENIED, with its outcome by mode', async () => {
    const r = await cli(...DIFF)
    expect(r.code).toBe(0)
    expect(r.stdout).not.toMatch(/BLOCKED|newly blocked/)
    expect(r.stdout).toMatch(/^ {2}DENIED {2}\S+ -> .*→ denied by default \(would-be-blocked\)$/m)
    expect(r.stdout).toMatch(/observed flows newly denied on 2 edges/)
  })
})

describe('ingest of files with the same bytes', () => {
  it('names the twin read in this run; an earlier run is "already ingested"', async () => {
    const ws = mkdtempSync(path.join(tmp, 'ws-'))
    const a = path.join(ws, 'a.csv')
    const b = path.join(ws, 'b.csv')
    copyFileSync('test/fixtures/simulate-estate/flows.csv', a)
    copyFileSync(a, b)
    const first = await cli('ingest', '-w', ws, a, b)
    expect(first.code).toBe(0)
    expect(first.stdout).toContain(`same bytes as ${a}, not read again: ${b}`)
    expect(first.stdout).not.toContain('already ingested')
    const json = await cli('ingest', '-w', ws, b, '-o', 'json')
    expect(JSON.parse(json.stdout)).toMatchObject({ alreadyIngested: [b], sameBytesAs: {} })
    const again = await cli('ingest', '-w', ws, b)
    expect(again.stdout).toContain(`already ingested, not read again: ${b}`)
  }, 30_000)
})
