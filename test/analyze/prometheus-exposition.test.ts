/**
 * @module `metrics -o prom` read by a strict parser of the Prometheus text exposition format
 * (version 0.0.4, prometheus.io "Exposition formats"), written from that page, not from
 * Bulkhead's renderer:
 * - lines end in `\n` (the last one too); `#` lines are comments unless the token after `#` is
 *   `HELP` or `TYPE`; blank lines are ignored;
 * - `# HELP name docstring`: the docstring escapes `\\` and `\n` only; at most one per name;
 * - `# TYPE name type`: type `counter|gauge|histogram|summary|untyped`; at most one per name, and
 *   before the name's first sample;
 * - a sample: `name{label="value",...} value [timestamp]`; metric names `[a-zA-Z_:][a-zA-Z0-9_:]*`,
 *   label names `[a-zA-Z_][a-zA-Z0-9_]*` and not `__`-prefixed (reserved); a label value escapes
 *   `\\`, `\"` and `\n`; a value as Go's `strconv.ParseFloat` takes it (`NaN`, `+Inf`, `-Inf`); a
 *   timestamp an int64 of milliseconds;
 * - every line of a family in one group, HELP and TYPE first; no two samples with the same name
 *   and label set; a counter's samples end in `_total` (the naming convention, required by
 *   OpenMetrics).
 * Then what node_exporter's textfile collector adds: no client-side timestamps (it refuses a
 * file with them).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderPrometheus, type MetricsResult } from '../../src/analyze/metrics.js'
import { cli } from '../helpers/cli.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const fixtures = path.join(here, '..', 'fixtures')

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
  timestamp?: number
}
interface Exposition {
  help: Map<string, string>
  type: Map<string, string>
  samples: Sample[]
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/
// Go strconv.ParseFloat, decimal forms and the special values (case-insensitive)
const GO_FLOAT = /^[+-]?(?:(?:\d+(?:_\d+)*)?\.?\d*(?:[eE][+-]?\d+)?|inf|infinity|nan)$/i

function parseGoFloat(s: string): number {
  if (!GO_FLOAT.test(s) || !/\d|inf|nan/i.test(s)) throw new Error(`not a Go float: ${s}`)
  const l = s.toLowerCase().replace(/^\+/, '')
  if (l === 'nan') return NaN
  if (l === 'inf' || l === 'infinity') return Infinity
  if (l === '-inf' || l === '-infinity') return -Infinity
  const n = Number(s.replace(/_/g, ''))
  if (Number.isNaN(n)) throw new Error(`not a Go float: ${s}`)
  return n
}

/** The family a sample name belongs to (histogram and summary suffixes). */
function familyOf(name: string, types: Map<string, string>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.endsWith(suffix) ? name.slice(0, -suffix.length) : undefined
    if (base !== undefined && ['histogram', 'summary'].includes(types.get(base) ?? '')) return base
  }
  return name
}

/** Parses `text` strictly; throws on the first departure from the format, naming the line. */
function parseExposition(text: string): Exposition {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('the last line has no \\n')
  const out: Exposition = { help: new Map(), type: new Map(), samples: [] }
  const seenSeries = new Set<string>()
  const closed = new Set<string>() // families whose group has ended
  let current: string | undefined
  const enter = (family: string, n: number): void => {
    if (family === current) return
    if (closed.has(family)) throw new Error(`line ${String(n)}: family ${family} is split`)
    if (current !== undefined) closed.add(current)
    current = family
  }
  const lines = text.split('\n').slice(0, -1)
  lines.forEach((line, i) => {
    const n = i + 1
    if (line.trim() === '') return
    if (/^\s*#/.test(line)) {
      const m = /^\s*#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line)
      if (!m) return // a plain comment
      const [, kind, name = '', rest = ''] = m
      if (METRIC_NAME.exec(name)?.[0] !== name)
        throw new Error(`line ${String(n)}: bad name ${name}`)
      if (kind === 'HELP') {
        if (out.help.has(name)) throw new Error(`line ${String(n)}: second HELP for ${name}`)
        if (/\\(?![\\n])/.test(rest)) throw new Error(`line ${String(n)}: bad escape in HELP`)
        enter(name, n)
        out.help.set(
          name,
          rest.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\')),
        )
      } else {
        if (out.type.has(name)) throw new Error(`line ${String(n)}: second TYPE for ${name}`)
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest.trim()))
          throw new Error(`line ${String(n)}: bad type ${rest}`)
        if (out.samples.some((s) => familyOf(s.name, out.type) === name))
          throw new Error(`line ${String(n)}: TYPE of ${name} after its samples`)
        enter(name, n)
        out.type.set(name, rest.trim())
      }
      return
    }
    // a sample
    let rest = line.replace(/^\s+/, '')
    const name = METRIC_NAME.exec(rest)?.[0]
    if (!name) throw new Error(`line ${String(n)}: no metric name`)
    rest = rest.slice(name.length)
    const labels: Record<string, string> = {}
    if (rest.startsWith('{')) {
      rest = rest.slice(1)
      for (;;) {
        rest = rest.replace(/^\s+/, '')
        if (rest.startsWith('}')) break
        const ln = LABEL_NAME.exec(rest)?.[0]
        if (!ln) throw new Error(`line ${String(n)}: bad label name at ${rest}`)
        if (ln.startsWith('__')) throw new Error(`line ${String(n)}: reserved label ${ln}`)
        if (ln in labels) throw new Error(`line ${String(n)}: label ${ln} twice`)
        rest = rest.slice(ln.length).replace(/^\s+/, '')
        if (!rest.startsWith('="')) throw new Error(`line ${String(n)}: expected =" after ${ln}`)
        rest = rest.slice(2)
        let value = ''
        for (;;) {
          const c = rest[0]
          if (c === undefined) throw new Error(`line ${String(n)}: unterminated label value`)
          if (c === '"') break
          if (c === '\\') {
            const e = rest[1]
            if (e === '\\') value += '\\'
            else if (e === '"') value += '"'
            else if (e === 'n') value += '\n'
            else throw new Error(`line ${String(n)}: bad escape \\${e ?? ''} in a label value`)
            rest = rest.slice(2)
          } else {
            value += c
            rest = rest.slice(1)
          }
        }
        labels[ln] = value
        rest = rest.slice(1).replace(/^\s+/, '')
        if (rest.startsWith(',')) rest = rest.slice(1)
        else if (!rest.startsWith('}')) throw new Error(`line ${String(n)}: expected , or }`)
      }
      rest = rest.slice(1)
    }
    const fields = rest.trim().split(/[ \t]+/)
    if (!/^[ \t]/.test(rest) || fields.length < 1 || fields.length > 2)
      throw new Error(`line ${String(n)}: expected value [timestamp], got "${rest}"`)
    const value = parseGoFloat(fields[0] ?? '')
    let timestamp: number | undefined
    if (fields[1] !== undefined) {
      if (!/^-?\d+$/.test(fields[1])) throw new Error(`line ${String(n)}: bad timestamp`)
      timestamp = Number(fields[1])
    }
    const family = familyOf(name, out.type)
    enter(family, n)
    if (out.type.get(family) === 'counter' && !name.endsWith('_total'))
      throw new Error(`line ${String(n)}: counter ${name} not named _total`)
    const key = `${name}{${Object.entries(labels)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',')}}`
    if (seenSeries.has(key)) throw new Error(`line ${String(n)}: series ${key} twice`)
    seenSeries.add(key)
    out.samples.push({ name, labels, value, ...(timestamp !== undefined ? { timestamp } : {}) })
  })
  return out
}

describe('the strict exposition parser itself', () => {
  it('accepts the example of the format page and rejects what the format forbids', () => {
    const ok = parseExposition(
      [
        '# HELP http_requests_total The total number of HTTP requests.',
        '# TYPE http_requests_total counter',
        'http_requests_total{method="post",code="200"} 1027 1395066363000',
        'http_requests_total{method="post",code="400"}    3 1395066363000',
        '',
        '# Escaping in label values:',
        'msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9',
        'metric_without_timestamp_and_labels 12.47',
        'something_weird{problem="division by zero"} +Inf -3982045',
        '',
      ].join('\n'),
    )
    expect(ok.samples.map((s) => s.value)).toEqual([1027, 3, 1.458255915e9, 12.47, Infinity])
    expect(ok.samples[2]!.labels).toEqual({
      path: 'C:\\DIR\\FILE.TXT',
      error: 'Cannot find file:\n"FILE.TXT"',
    })
    for (const bad of [
      'a 1', // no final newline
      'a{b="x\\t"} 1\n', // \t is no escape of the format
      'a{b="x"} 1\na{b="x"} 2\n', // the same series twice
      'a 1\nb 1\na 2\n', // family split
      'a 1\n# TYPE a gauge\n', // TYPE after the samples
      '# TYPE c counter\nc 1\n', // a counter not named _total
      'a{__x="1"} 1\n',
      'a one\n',
      '0a 1\n',
    ])
      expect(() => parseExposition(bad), JSON.stringify(bad)).toThrow()
  })
})

describe('metrics -o prom', () => {
  let ws: string
  beforeAll(async () => {
    // the simulate estate with its flows stored: every family, east-west included
    const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-prom-'))
    ws = path.join(root, 'ws')
    cpSync(path.join(fixtures, 'simulate-estate'), ws, { recursive: true })
    const r = await cli('ingest', '-w', ws, path.join(ws, 'flows.csv'))
    expect(r.code, r.stderr).toBe(0)
  }, 60_000)
  afterAll(() => {
    rmSync(path.dirname(ws), { recursive: true, force: true })
  })

  it('parses strictly, with HELP and TYPE for every family and no timestamps', async () => {
    const r = await cli('metrics', '-w', ws, '--at', '2026-11-01', '-o', 'prom')
    expect(r.code, r.stderr).toBe(0)
    const exp = parseExposition(r.stdout)
    const families = new Set(exp.samples.map((s) => familyOf(s.name, exp.type)))
    expect(families.has('bulkhead_unexpected_east_west_edges')).toBe(true)
    expect(families.has('bulkhead_open_lateral_paths')).toBe(true)
    for (const f of families) {
      expect(exp.help.get(f), f).toBeTruthy()
      expect(exp.type.get(f), f).toBe('gauge')
    }
    expect(exp.samples.filter((s) => s.timestamp !== undefined)).toEqual([])
    expect(exp.samples.every((s) => Number.isFinite(s.value))).toBe(true)
  })

  it('--out writes the same text atomically to a .prom file', async () => {
    const file = path.join(path.dirname(ws), 'bulkhead.prom')
    const r = await cli('metrics', '-w', ws, '--at', '2026-11-01', '-o', 'prom', '--out', file)
    expect(r.code, r.stderr).toBe(0)
    parseExposition(readFileSync(file, 'utf8'))
  })

  it('escapes label values and HELP text as the format says', () => {
    // no label value comes from the workspace today (they are fixed words); the renderer's
    // escaping is checked on a result that carries the three characters anyway
    const m = {
      at: '2026-11-01T00:00:00.000Z',
      rules: { total: 1, live: 1, allow: 1, deny: 0 },
      broadAllowRules: { count: 1, byCode: { 'a"b\\c\nd': 1 }, rules: ['p/r'] },
      sensitiveWorkloads: {
        total: 0,
        enforced: 0,
        byKind: {
          'crown-jewel': { observe: 0, monitor: 0, enforce: 0 },
          database: { observe: 0, monitor: 0, enforce: 0 },
          admin: { observe: 0, monitor: 0, enforce: 0 },
        },
        notEnforced: [],
      },
      lateralMovement: null,
      unexpectedEastWest: null,
      exceptions: { temporary: 0, emergency: 0 },
      rulesWithoutOwner: 0,
      rulesExpiringSoon: 0,
      expiringWithinDays: 30,
      expiredRules: 0,
    } satisfies MetricsResult
    const exp = parseExposition(renderPrometheus(m))
    expect(
      exp.samples.find((s) => s.name === 'bulkhead_broad_allow_rules_by_reason')!.labels,
    ).toEqual({ code: 'a"b\\c\nd' })
  })
})
