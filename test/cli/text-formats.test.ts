/**
 * @module The CSV, Markdown and DOT outputs read by parsers written from their specifications,
 * on an estate whose workload names, rule reason and flow file path hold the characters those
 * formats must escape: a comma, a double quote, a `|`, a backslash, `->`, `;` (a line break in a
 * name is refused when the inventory loads, since 2026-11-25: test/policy/load-bad.test.ts).
 * - CSV (RFC 4180): a field with a comma, quote, CR or LF is quoted and its quotes doubled; one
 *   header; every record has the header's number of fields; each field reads back as written.
 * - Markdown (GitHub Flavored Markdown, tables): a row is split at every `|` not escaped by a
 *   backslash and ends at a line break, so a cell must escape `|` and hold no line break;
 *   every row then has the header's number of cells. A cell's text is inline Markdown: a
 *   backtick, `*`, `_`, `~`, `<`, `&` and `](` start code, emphasis, strikethrough, HTML, an
 *   entity or a link unless escaped with a backslash (CommonMark "Backslash escapes": any ASCII
 *   punctuation), so each must be escaped, and the text is the cell with the escapes undone.
 *   A `diff` code block has one `+`/`-` line per connection.
 * - DOT (the Graphviz DOT language): a quoted ID may hold anything but an unescaped `"`; edges
 *   name only IDs the graph declares as nodes.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli } from '../helpers/cli.js'

const WEB = 'web|1,"a" *b* _c_ `t`'
// (no line break: a name holds none since 2026-11-25, inventory `NAME_TEXT`)
const DB = 'db\\x line2 <script>x</script> &lt; \\|'
const API = 'api "q"; x=1 -> y [l](u) ~~s~~'
const AT = '2026-11-01'

/** RFC 4180 records of `text` (CRLF or LF line ends); throws on a malformed quoted field. */
function parseCsv(text: string): string[][] {
  const records: string[][] = []
  let record: string[] = []
  let field = ''
  let i = 0
  let quoted = false
  const endField = (): void => {
    record.push(field)
    field = ''
  }
  while (i < text.length) {
    const c = text[i]!
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"'
        i += 2
      } else if (c === '"') {
        quoted = false
        i++
        const next = text[i]
        if (next !== undefined && next !== ',' && next !== '\r' && next !== '\n')
          throw new Error(`text after a closing quote at ${String(i)}`)
      } else {
        field += c
        i++
      }
    } else if (c === '"') {
      if (field !== '') throw new Error(`a quote inside an unquoted field at ${String(i)}`)
      quoted = true
      i++
    } else if (c === ',') {
      endField()
      i++
    } else if (c === '\r' || c === '\n') {
      endField()
      records.push(record)
      record = []
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1
    } else {
      field += c
      i++
    }
  }
  if (quoted) throw new Error('unterminated quoted field')
  if (field !== '' || record.length > 0) {
    endField()
    records.push(record)
  }
  return records
}

function checkCsv(text: string): string[][] {
  const records = parseCsv(text)
  const width = records[0]!.length
  records.forEach((r, i) => {
    expect(r.length, `record ${String(i)} of ${JSON.stringify(text)}`).toBe(width)
  })
  return records
}

/** GFM table cells of a row: split at unescaped `|`, outer pipes dropped, `\|` unescaped. */
function gfmCells(row: string): string[] {
  const cells: string[] = []
  let cell = ''
  for (let i = 0; i < row.length; i++) {
    const c = row[i]!
    if (c === '\\' && row[i + 1] === '|') {
      cell += '|'
      i++
    } else if (c === '|') {
      cells.push(cell)
      cell = ''
    } else cell += c
  }
  cells.push(cell)
  if (row.trimStart().startsWith('|')) cells.shift()
  if (row.trimEnd().endsWith('|') && !row.trimEnd().endsWith('\\|')) cells.pop()
  return cells.map((x) => x.trim())
}

/**
 * The text a table cell shows when it holds plain text only: CommonMark backslash escapes undone.
 * Throws on a character that would start inline markup unescaped (see the module comment).
 */
function inlineText(cell: string): string {
  let out = ''
  for (let i = 0; i < cell.length; i++) {
    const c = cell[i]!
    const next = cell[i + 1]
    if (c === '\\' && next !== undefined && /[!-/:-@[-`{-~]/.test(next)) {
      out += next
      i++
    } else if ('`*_~<&'.includes(c) || (c === ']' && next === '(')) {
      throw new Error(`unescaped ${c} at ${String(i)} in ${JSON.stringify(cell)}`)
    } else out += c
  }
  return out
}

/** Every GFM table of `md`: its rows (header first) as cells; each row as wide as the header. */
function checkGfmTables(md: string): string[][][] {
  const lines = md.split('\n')
  const tables: string[][][] = []
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!/^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/.test(lines[i + 1]!)) continue
    if (!lines[i]!.includes('|')) continue
    const head = gfmCells(lines[i]!)
    const rows = [head]
    let j = i + 2
    // a table ends at a blank line (or another block: a heading, a fence)
    for (; j < lines.length && lines[j]!.trim() !== '' && !/^(#|```)/.test(lines[j]!); j++) {
      const cells = gfmCells(lines[j]!)
      expect(cells.length, `row ${JSON.stringify(lines[j])} under ${lines[i]!}`).toBe(head.length)
      rows.push(cells)
    }
    tables.push(rows)
    i = j
  }
  return tables
}

/** DOT tokens: quoted strings kept whole (only `\"` escapes a quote inside), others split. */
function dotTokens(dot: string): string[] {
  const tokens: string[] = []
  let i = 0
  while (i < dot.length) {
    const c = dot[i]!
    if (/\s/.test(c)) i++
    else if (c === '"') {
      let j = i + 1
      while (j < dot.length && dot[j] !== '"') j += dot[j] === '\\' ? 2 : 1
      if (j >= dot.length) throw new Error(`unterminated quoted ID at ${String(i)}`)
      tokens.push(dot.slice(i, j + 1))
      i = j + 1
    } else if (dot.startsWith('->', i) || dot.startsWith('--', i)) {
      tokens.push(dot.slice(i, i + 2))
      i += 2
    } else if ('{}[];,='.includes(c)) {
      tokens.push(c)
      i++
    } else {
      const m = /^[A-Za-z_\u0080-\uffff][A-Za-z_0-9\u0080-\uffff]*|^-?(\.\d+|\d+(\.\d*)?)/.exec(
        dot.slice(i),
      )
      if (!m) throw new Error(`not a DOT token at ${JSON.stringify(dot.slice(i, i + 20))}`)
      tokens.push(m[0])
      i += m[0].length
    }
  }
  return tokens
}

/** Node IDs declared (an ID opening a statement, not followed by `->` or `=`) and edges. */
function checkDot(dot: string): { nodes: Set<string>; edges: [string, string][] } {
  const t = dotTokens(dot)
  expect(t.filter((x) => x === '{').length).toBe(t.filter((x) => x === '}').length)
  const nodes = new Set<string>()
  const edges: [string, string][] = []
  let depth = 0 // inside an attribute list
  for (let i = 0; i < t.length; i++) {
    if (t[i] === '[') depth++
    else if (t[i] === ']') depth--
    if (depth > 0) continue
    const x = t[i]!
    if (!x.startsWith('"')) continue
    const before = t[i - 1]
    const after = t[i + 1]
    if (after === '->') edges.push([x, t[i + 2]!])
    else if (['{', '}', ';'].includes(before ?? ';') && after !== '=') nodes.add(x)
  }
  for (const [a, b] of edges) {
    expect(nodes.has(a), `edge from undeclared ${a}`).toBe(true)
    expect(nodes.has(b), `edge to undeclared ${b}`).toBe(true)
  }
  return { nodes, edges }
}

let ws: string
let flowFile: string
beforeAll(async () => {
  ws = mkdtempSync(path.join(tmpdir(), 'bulkhead-text-formats-'))
  mkdirSync(path.join(ws, 'inventory'))
  mkdirSync(path.join(ws, 'policy'))
  mkdirSync(path.join(ws, 'policy-old'))
  mkdirSync(path.join(ws, 'flows,dir'))
  writeFileSync(
    path.join(ws, 'bulkhead.yaml'),
    'apiVersion: bulkhead.dev/v1\nkind: Workspace\ninventory: [inventory/]\npolicy: policy/\nstore: out/store.duckdb\n',
  )
  const w = (name: string, ip: string, role: string): string =>
    `  - name: ${JSON.stringify(name)}\n    addresses: [${ip}]\n    labels: { app: shop, role: ${role} }\n`
  writeFileSync(
    path.join(ws, 'inventory', 'estate.yaml'),
    `apiVersion: bulkhead.dev/v1\nkind: Inventory\nworkloads:\n${w(WEB, '10.1.0.1', 'web')}${w(DB, '10.1.0.2', 'db')}${w(API, '10.1.0.3', 'api')}`,
  )
  const head = `apiVersion: bulkhead.dev/v1
kind: Policy
metadata: { name: shop, owner: team-shop }
scope: { app: shop }
rules:
  - { id: web-to-api, from: [{ role: web }], to: [{ role: api }], ports: [tcp/443], reason: "calls, | the api" }
`
  writeFileSync(path.join(ws, 'policy-old', 'shop.yaml'), head)
  writeFileSync(
    path.join(ws, 'policy', 'shop.yaml'),
    `${head}  - { id: api-to-db, from: [{ role: api }], to: [{ role: db }], ports: [tcp/5432], reason: orders }\n`,
  )
  flowFile = path.join(ws, 'flows,dir', 'f|1.csv')
  writeFileSync(
    flowFile,
    `src_ip,dst_ip,src_port,dst_port,protocol,start,end,packets,bytes
10.1.0.1,10.1.0.3,40000,443,tcp,2026-10-20T10:00:00Z,2026-10-20T10:00:01Z,3,300
10.1.0.1,10.1.0.2,40001,5432,tcp,2026-10-20T10:00:00Z,2026-10-20T10:00:01Z,3,300
10.1.0.3,10.1.0.2,40002,5432,tcp,2026-10-20T10:00:00Z,2026-10-20T10:00:01Z,3,300
`,
  )
  const r = await cli('ingest', '-w', ws, flowFile)
  expect(r.code, r.stderr).toBe(0)
}, 60_000)
afterAll(() => {
  rmSync(ws, { recursive: true, force: true })
})

describe('CSV (RFC 4180)', () => {
  it('connlist -o csv: names read back whole', async () => {
    const r = await cli('connlist', '-w', ws, '--at', AT, '-o', 'csv')
    expect(r.code).toBe(0)
    const rows = checkCsv(r.stdout)
    expect(rows.slice(1).map((x) => [x[0], x[1]])).toEqual([
      [API, DB],
      [WEB, API],
    ])
  })

  it('simulate -o csv: names and the example file:line', async () => {
    const r = await cli('simulate', '-w', ws, '--at', AT, '--as-enforced', '-o', 'csv')
    expect(r.code).toBe(0)
    const rows = checkCsv(r.stdout)
    const head = rows[0]!
    const row = rows[1]!
    expect(row[head.indexOf('src')]).toBe(WEB)
    expect(row[head.indexOf('dst')]).toBe(DB)
    expect(row[head.indexOf('examples')]).toBe(`${flowFile}:3`)
  })

  it.each(['zeek-conn.log', 'azure-nsg-v2.json', 'hubble-jsonpb.json', 'aws-ecs.log'])(
    'flows -o csv of %s reads back with --format csv as the same flows',
    async (name) => {
      const fixture = path.join('test/fixtures/flows', name)
      const jsonl = await cli('flows', fixture, '-o', 'jsonl')
      const csv = await cli('flows', fixture, '-o', 'csv')
      expect(csv.code).toBe(0)
      const file = path.join(ws, `${name}.csv`)
      writeFileSync(file, csv.stdout)
      const back = await cli('flows', file, '--format', 'csv', '-o', 'jsonl')
      expect(back.code, back.stderr).toBe(0)
      // what a CSV row holds: every field but the source (now this file) and the labels (no column)
      const fields = (text: string): unknown[] =>
        text
          .trim()
          .split('\n')
          .map((l) => {
            const f = JSON.parse(l) as Record<string, unknown>
            delete f.source
            delete f.srcLabels
            delete f.dstLabels
            return f
          })
      expect(fields(back.stdout)).toEqual(fields(jsonl.stdout))
    },
  )

  it('flows -o csv: the file path with a comma', async () => {
    const r = await cli('flows', flowFile, '-o', 'csv')
    expect(r.code).toBe(0)
    const rows = checkCsv(r.stdout)
    const file = rows[0]!.indexOf('file')
    expect(new Set(rows.slice(1).map((x) => x[file]))).toEqual(new Set([flowFile]))
  })
})

describe('Markdown (GFM tables)', () => {
  it('connlist -o md: | escaped, a line break written as a space', async () => {
    const r = await cli('connlist', '-w', ws, '--at', AT, '-o', 'md')
    expect(r.code).toBe(0)
    const [table] = checkGfmTables(r.stdout)
    expect(table!.slice(1).map((x) => [inlineText(x[0]!), inlineText(x[1]!)])).toEqual([
      [API, DB.replace('\n', ' ')],
      [WEB, API],
    ])
  })

  it('blast-radius -o md: the workload column', async () => {
    const r = await cli('blast-radius', '-w', ws, '--at', AT, '-o', 'md')
    expect(r.code).toBe(0)
    const tables = checkGfmTables(r.stdout)
    const sources = tables.find((t) => t[0]![0] === 'workload')!
    expect(new Set(sources.slice(1).map((x) => inlineText(x[0]!)))).toEqual(
      new Set([WEB, API, DB.replace('\n', ' ')]),
    )
  })

  it('simulate -o md and diff -o md: tables, and one diff line per connection', async () => {
    const s = await cli(
      'simulate',
      '-w',
      ws,
      '--flows',
      flowFile,
      '--at',
      AT,
      '--as-enforced',
      '-o',
      'md',
    )
    expect(s.code).toBe(0)
    const denied = checkGfmTables(s.stdout).find((t) => t[0]![1] === 'source')!
    expect(denied.slice(1).map((x) => [inlineText(x[1]!), inlineText(x[2]!)])).toEqual([
      [WEB, DB.replace('\n', ' ')],
    ])
    // the flow file's path, in the paragraph above the tables
    expect(inlineText(/^\d+ flows? from (.*); rule expiry/m.exec(s.stdout)![1]!)).toBe(flowFile)
    const d = await cli(
      'diff',
      path.join(ws, 'policy-old'),
      path.join(ws, 'policy'),
      '-w',
      ws,
      '--at',
      AT,
      '-o',
      'md',
    )
    expect(d.code).toBe(0)
    const rules = checkGfmTables(d.stdout).find((t) => t[0]![1] === 'rule')!
    expect(rules.slice(1).map((x) => x[1])).toEqual(['`shop/api-to-db`'])
    const block = /```diff\n([\s\S]*?)\n```/.exec(d.stdout)![1]!.split('\n')
    expect(block).toEqual([
      `+ ${API} => ${DB.replace('\n', ' ')} : TCP 5432  (rule shop/api-to-db)`,
    ])
  })
})

describe('DOT', () => {
  it('discover -o dot and blast-radius -o dot: quoted IDs, edges between declared nodes', async () => {
    const d = await cli('discover', '-w', ws, '-o', 'dot')
    expect(d.code).toBe(0)
    expect(checkDot(d.stdout).nodes.size).toBe(3)
    const b = await cli('blast-radius', '-w', ws, '--at', AT, '-o', 'dot')
    expect(b.code).toBe(0)
    expect(checkDot(b.stdout).nodes.size).toBe(3)
  })
})
