/**
 * @module The README's command transcripts still print what the README shows. Each chosen block is
 * found in README.md by its `$ bulkhead …` command line (or, for `npm start`, by its
 * `<!-- transcript: demo -->` marker), the command is run in process from the repository root on
 * the fixtures it names (the demo writes its workspace to a temporary folder), and its stderr then
 * stdout, as a terminal shows them, is compared with the block.
 *
 * In a block, a line `...` stands for any number of lines and `...` inside a line for any text;
 * timing figures (`in 1.7 s`, `(3.9 s in all)`, `1953 flows/s`) are masked on both sides.
 *
 * The `yaml` examples of "Workspace and policy format" (LabelRules, Policy, Enforcement), found
 * by their `kind:`, are loaded as written into a workspace whose inventory gives each selector a
 * workload, and give the labels and verdicts their comments promise.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli } from '../helpers/cli.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8')

/** One README block: the command line (without `$ `) and the output lines shown under it. */
interface Block {
  line: number
  command: string
  expected: string[]
}

/** The fenced blocks of `text` (1-based line of the opening fence, body lines). */
function fencedBlocks(text: string): { line: number; before: string; body: string[] }[] {
  const lines = text.split('\n')
  const out: { line: number; before: string; body: string[] }[] = []
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]?.startsWith('```')) continue
    const end = lines.findIndex((l, j) => j > i && l.startsWith('```'))
    if (end < 0) break
    out.push({ line: i + 1, before: lines[i - 1] ?? '', body: lines.slice(i + 1, end) })
    i = end
  }
  return out
}

/** The block whose first line is `$ bulkhead <command>`; throws when there is not exactly one. */
function blockByCommand(text: string, command: string): Block {
  const found = fencedBlocks(text).filter((b) => b.body[0] === `$ bulkhead ${command}`)
  if (found.length !== 1)
    throw new Error(`README has ${String(found.length)} blocks for ${command}`)
  const b = found[0] as (typeof found)[number]
  return { line: b.line, command, expected: b.body.slice(1) }
}

/** The block right after the line `<!-- transcript: NAME ... -->`. */
function blockByMarker(text: string, name: string): Block {
  const found = fencedBlocks(text).filter((b) => b.before.startsWith(`<!-- transcript: ${name} `))
  if (found.length !== 1) throw new Error(`README has ${String(found.length)} blocks for ${name}`)
  const b = found[0] as (typeof found)[number]
  return { line: b.line, command: name, expected: b.body }
}

/** Timing figures, which change from run to run, masked. */
function mask(line: string): string {
  return line
    .replace(/\bin \d+(?:\.\d+)? s\b/g, 'in <t> s')
    .replace(/\(\d+(?:\.\d+)? s in all\)/g, '(<t> s in all)')
    .replace(/\b\d+ flows\/s\b/g, '<n> flows/s')
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** One README line as a matcher: `...` inside it is any text. */
function lineMatcher(expected: string): RegExp {
  return new RegExp(`^${mask(expected).split('...').map(escape).join('.*')}$`)
}

/**
 * Whether `actual` is what `expected` shows: line by line, a line `...` (indented or not) standing
 * for any number of lines. Returns '' on a match, else the first expected line that finds no match.
 */
function mismatch(expected: readonly string[], actual: readonly string[]): string {
  const exp = [...expected]
  while (exp.length > 0 && exp.at(-1) === '') exp.pop()
  const act = [...actual]
  while (act.length > 0 && act.at(-1) === '') act.pop()
  let best = -1
  const memo = new Map<string, boolean>()
  const go = (i: number, j: number): boolean => {
    const key = `${String(i)},${String(j)}`
    const known = memo.get(key)
    if (known !== undefined) return known
    best = Math.max(best, i)
    let ok: boolean
    if (i === exp.length) ok = j === act.length
    else if ((exp[i] ?? '').trim() === '...') ok = go(i + 1, j) || (j < act.length && go(i, j + 1))
    else
      ok = j < act.length && lineMatcher(exp[i] ?? '').test(mask(act[j] ?? '')) && go(i + 1, j + 1)
    memo.set(key, ok)
    return ok
  }
  return go(0, 0) ? '' : `README line not matched: ${exp[best] ?? '(end of block)'}`
}

/** Splits a README command line into arguments: words, and "double-quoted" or 'single' ones. */
function argv(command: string): string[] {
  return [...command.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '')
}

/** Runs a README command in process from the repository root; stderr then stdout, as lines. */
async function transcript(args: string[]): Promise<{ code: number; lines: string[] }> {
  const r = await cli(...args)
  return { code: r.code, lines: (r.stderr + r.stdout).split('\n') }
}

/** The transcripts checked, by their README command (exit code as the README says or implies). */
const COMMANDS: readonly { command: string; code: number }[] = [
  { command: 'validate -w test/fixtures/multi-error', code: 1 },
  {
    command:
      'eval "pay-web-1 -> pay-db-1 tcp/5432" -w test/fixtures/eval-estate --at 2026-10-20T12:00:00Z',
    code: 0,
  },
  {
    command:
      'eval "203.0.113.9 -> 239.255.255.250 udp/1900" -w test/fixtures/eval-estate --at 2026-10-20T12:00:00Z',
    code: 0,
  },
  {
    command:
      'simulate -w test/fixtures/simulate-estate --flows test/fixtures/simulate-estate/flows.csv --at 2026-11-01',
    code: 0,
  },
  { command: 'connlist -w test/fixtures/connlist-estate --at 2026-11-01', code: 0 },
  {
    command:
      'diff test/fixtures/diff-estate/policy-old test/fixtures/diff-estate/policy -w test/fixtures/diff-estate --flows test/fixtures/diff-estate/flows.csv --at 2026-11-01',
    code: 0,
  },
  {
    command:
      'diff test/fixtures/diff-estate/policy test/fixtures/diff-estate/policy-enforce -w test/fixtures/diff-estate --flows test/fixtures/diff-estate/flows.csv --at 2026-11-01',
    code: 0,
  },
  {
    command: 'blast-radius -w test/fixtures/blast-estate --baseline enforced --at 2026-11-22',
    code: 0,
  },
  { command: 'k8s connlist test/fixtures/k8s-basic', code: 0 },
]

const cwd = process.cwd()
beforeAll(() => {
  process.chdir(ROOT)
})
afterAll(() => {
  process.chdir(cwd)
})

describe('README transcripts print what the README shows', () => {
  for (const { command, code } of COMMANDS) {
    it(command.split(' -')[0] ?? command, async () => {
      const block = blockByCommand(README, command)
      const r = await transcript(argv(command))
      expect(r.code).toBe(code)
      expect(mismatch(block.expected, r.lines), `README.md:${String(block.line)}`).toBe('')
    })
  }

  describe('npm start (bulkhead demo)', () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'bulkhead-readme-demo-'))
    afterAll(() => {
      rmSync(tmp, { recursive: true, force: true })
    })
    it('prints the Quick start summary lines', async () => {
      const block = blockByMarker(README, 'demo')
      const out = path.join(tmp, 'out')
      const r = await transcript(['demo', '--out', out])
      expect(r.code).toBe(0)
      // The README shows the default --out, examples/demo/out, as printed from the clone.
      const shown = path.relative(ROOT, out)
      const lines = r.lines.map((l) => l.split(shown).join('examples/demo/out'))
      expect(mismatch(block.expected, lines), `README.md:${String(block.line)}`).toBe('')
    }, 60_000)
  })
})

/** Writes `files` (path relative to `dir` → text) under `dir`. */
function writeTree(dir: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true })
    writeFileSync(path.join(dir, rel), text)
  }
}

/**
 * A workspace's `bulkhead.yaml` and `inventory/hosts.yaml` (for {@link writeTree}): `workloads`
 * and `externals` are flow-style YAML entries, e.g. `{ name: db-1, addresses: [10.0.0.2] }`.
 */
function estate(
  workloads: readonly string[],
  externals: readonly string[] = [],
): Record<string, string> {
  return {
    'bulkhead.yaml': 'apiVersion: bulkhead.dev/v1\nkind: Workspace\n',
    'inventory/hosts.yaml': [
      'apiVersion: bulkhead.dev/v1',
      'kind: Inventory',
      'workloads:',
      ...workloads.map((w) => `  - ${w}`),
      ...(externals.length > 0 ? ['externals:', ...externals.map((e) => `  - ${e}`)] : []),
      '',
    ].join('\n'),
  }
}

/** The README's inline example `text` (between backquotes); fails when the README lacks it. */
function inline(text: string): string {
  expect(
    README.includes(`\`${text}\``),
    `README no longer holds the inline example \`${text}\``,
  ).toBe(true)
  return text
}

describe('README transcripts on estates the test writes', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'bulkhead-readme-'))
  afterAll(() => {
    rmSync(tmp, { recursive: true, force: true })
  })

  it('init -w my-estate && validate -w my-estate', async () => {
    const command = 'init -w my-estate && bulkhead validate -w my-estate'
    const block = blockByCommand(README, command)
    const lines: string[] = []
    for (const part of command.split(' && bulkhead ')) {
      const r = await transcript(argv(part.replace('my-estate', path.join(tmp, 'my-estate'))))
      expect(r.code).toBe(0)
      lines.push(...r.lines.filter((l) => l !== '').map((l) => l.split(`${tmp}/`).join('')))
    }
    expect(mismatch(block.expected, lines), `README.md:${String(block.line)}`).toBe('')
  })

  it('`flows nosuch.log` reads 0 files', async () => {
    expect(README.includes('`flows nosuch.log` reads 0 files')).toBe(true)
    const r = await transcript(['flows', path.join(tmp, 'nosuch.log')])
    expect(r.code).toBe(1)
    expect(r.lines[0]).toMatch(/^read 0 files /)
  })

  it('simulate splits an edge of blocked and already rejected flows', async () => {
    const line = inline(
      'BLOCKED internet -> db-1 tcp/5432  3 flows (1 blocked, 2 already rejected where observed)',
    )
    const ws = path.join(tmp, 'rejected')
    writeTree(ws, {
      ...estate(['{ name: db-1, addresses: [10.0.0.2], labels: { role: db } }']),
      'policy/enforcement.yaml': [
        'apiVersion: bulkhead.dev/v1',
        'kind: Enforcement',
        'modes:',
        '  - { selector: { role: db }, mode: enforce }',
        '',
      ].join('\n'),
      'flows.csv': [
        'src_ip,dst_ip,src_port,dst_port,protocol,start,end,packets,bytes,action',
        '198.51.100.7,10.0.0.2,40000,5432,tcp,2026-10-20T10:00:00Z,2026-10-20T10:00:01Z,1,60,accept',
        '198.51.100.8,10.0.0.2,40001,5432,tcp,2026-10-20T10:01:00Z,2026-10-20T10:01:01Z,1,60,reject',
        '198.51.100.9,10.0.0.2,40002,5432,tcp,2026-10-20T10:02:00Z,2026-10-20T10:02:01Z,1,60,reject',
        '',
      ].join('\n'),
    })
    const r = await transcript(['simulate', '-w', ws, '--flows', path.join(ws, 'flows.csv')])
    expect(r.code).toBe(0)
    // The report pads the outcome to a column; the README's example shows single spaces.
    const squeeze = (l: string): string => l.trim().replace(/\s+/g, ' ')
    expect(r.lines.map(squeeze), r.lines.join('\n')).toContainEqual(
      expect.stringMatching(`^${escape(squeeze(line))} `),
    )
  })

  it('diff splits a range at the blocks of both policy sets', async () => {
    const minus = inline('- office(192.0.2.128-192.0.2.255)[External] => web-1 : TCP 80')
    const plus = inline('+ office(192.0.2.128-192.0.2.255)[External] => web-1 : TCP 80,443')
    const whole = inline('office[External] => web-1 : TCP 80,443')
    const ws = path.join(tmp, 'office')
    const policy = (except: string): string =>
      [
        'apiVersion: bulkhead.dev/v1',
        'kind: Policy',
        'metadata: { name: web, owner: team-web }',
        'rules:',
        '  - { id: office-80, from: [{ external: office }], to: [{ role: web }], ports: [tcp/80], reason: r }',
        `  - { id: office-443, from: [{ cidr: 192.0.2.0/24${except} }], to: [{ role: web }], ports: [tcp/443], reason: r }`,
        '',
      ].join('\n')
    writeTree(ws, {
      ...estate(
        ['{ name: web-1, addresses: [10.0.0.1], labels: { role: web } }'],
        ['{ name: office, cidr: 192.0.2.0/24 }'],
      ),
      'old/web.yaml': policy(', except: [192.0.2.128/25]'),
      'policy/web.yaml': policy(''),
    })
    const d = await transcript(['diff', path.join(ws, 'old'), path.join(ws, 'policy'), '-w', ws])
    expect(d.code).toBe(0)
    const lines = d.lines.map((l) => l.trim())
    expect(lines).toContainEqual(`${minus}  (rule web/office-443)`)
    expect(lines).toContainEqual(`${plus}  (rule web/office-443)`)
    const c = await transcript(['connlist', '-w', ws])
    expect(c.lines).toContain(whole)
  })
})

describe("README's format examples load and mean what their comments say", () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'bulkhead-readme-format-'))
  afterAll(() => {
    rmSync(tmp, { recursive: true, force: true })
  })

  /** The body of the one ```yaml block of "Workspace and policy format" of `kind`. */
  function yamlOf(kind: string): string {
    const found = fencedBlocks(README).filter(
      (b) =>
        README.split('\n')[b.line - 1] === '```yaml' &&
        b.body.some((l) => l.startsWith(`kind: ${kind}`)),
    )
    expect(found.length, `README has ${String(found.length)} yaml blocks of kind ${kind}`).toBe(1)
    return `${(found[0]?.body ?? []).join('\n')}\n`
  }

  it('LabelRules, Policy and Enforcement: no error, and the verdicts their comments give', async () => {
    const ws = path.join(tmp, 'format')
    writeTree(ws, {
      // one workload for each selector of the examples, so that none matches nothing
      ...estate(
        [
          '{ name: pay-web-1, addresses: [10.20.1.10], labels: { app: payments, env: prod, role: web } }',
          '{ name: pay-api-1, addresses: [10.20.2.10], labels: { app: payments, env: prod, role: api } }',
          '{ name: pay-batch-1, addresses: [10.20.4.10], labels: { app: payments, env: prod, role: batch } }',
          '{ name: db-1, addresses: [10.20.3.10], labels: { app: payments } }',
          '{ name: dev-1, addresses: [10.50.0.5], labels: { app: payments, env: dev } }',
        ],
        ['{ name: bank-sftp, cidr: 203.0.113.0/24 }'],
      ),
      'inventory/rules.yaml': yamlOf('LabelRules'),
      'policy/payments.yaml': yamlOf('Policy'),
      'policy/enforcement.yaml': yamlOf('Enforcement'),
    })
    const at = ['-w', ws, '--at', '2026-10-20T12:00:00Z']
    const v = await cli('validate', ...at, '-o', 'json')
    expect(v.code, v.stdout + v.stderr).toBe(0)
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, errors: 0, warnings: 0, rules: 4 })
    // the LabelRules: db-1 gets env=prod (cidr), role=db (name), owner (labels) from the rules
    const inv = JSON.parse((await cli('inventory', ...at, '-o', 'json')).stdout) as {
      workloads: { name: string; labels: { key: string; value: string }[] }[]
    }
    const db = inv.workloads.find((w) => w.name === 'db-1')?.labels ?? []
    expect(Object.fromEntries(db.map((l) => [l.key, l.value]))).toEqual({
      app: 'payments',
      env: 'prod',
      role: 'db',
      owner: 'team-payments',
    })
    const verdict = async (flow: string, when = '2026-10-20T12:00:00Z') => {
      const r = await cli('eval', flow, '-w', ws, '--at', when, '-o', 'json')
      const o = JSON.parse(r.stdout) as { decision: string; rule?: { id: string }; outcome: string }
      return `${o.decision} ${o.rule?.id ?? '-'} ${o.outcome}`
    }
    expect(await verdict('pay-web-1 -> pay-api-1 tcp/8050')).toBe('allowed web-to-api allowed')
    // "deny beats allow", `scope: global` on the source, `{}` = every workload in scope
    expect(await verdict('dev-1 -> pay-api-1 tcp/443')).toBe('denied no-dev-to-prod blocked')
    // `except` takes 10.40.0.0/16 out of the office block
    expect(await verdict('10.30.1.1 -> pay-web-1 tcp/443')).toBe('allowed office-to-web allowed')
    expect(await verdict('10.40.1.1 -> pay-web-1 tcp/443')).toMatch(/^denied - /)
    // "valid through that UTC day, then ignored"
    expect(await verdict('pay-batch-1 -> 203.0.113.5 tcp/22', '2026-10-31T23:59:59Z')).toBe(
      'allowed month-end-export allowed',
    )
    expect(await verdict('pay-batch-1 -> 203.0.113.5 tcp/22', '2026-11-01T00:00:00Z')).toMatch(
      /^denied - /,
    )
    // Enforcement: first match wins (payments prod: enforce), unmatched: observe
    expect(await verdict('db-1 -> dev-1 tcp/5432')).toBe('denied - blocked')
    expect(await verdict('dev-1 -> 10.99.0.1 tcp/5432')).toBe('denied - unenforced')
  })
})

describe('the comparison is strict where the README shows a value', () => {
  it('a figure changed in a block no longer matches', () => {
    expect(mismatch(['a 715 b', '...', 'c'], ['a 715 b', 'x', 'c'])).toBe('')
    expect(mismatch(['a 716 b', '...', 'c'], ['a 715 b', 'x', 'c'])).not.toBe('')
    expect(mismatch(['a ... b'], ['a 1 2 b'])).toBe('')
    expect(mismatch(['a ... b'], ['a 1 2 c'])).not.toBe('')
    expect(
      mismatch(['read 1 file in 0.01 s, 9 flows/s'], ['read 1 file in 3.2 s, 17 flows/s']),
    ).toBe('')
    expect(mismatch(['a', 'b'], ['a', 'b', 'c'])).not.toBe('')
  })

  it('every checked block, with one of its digits changed, no longer matches what it showed', () => {
    for (const { command } of COMMANDS) {
      const block = blockByCommand(README, command)
      const i = block.expected.findIndex((l) => /\d/.test(mask(l).replace(/\.\.\./g, '')))
      expect(i, command).toBeGreaterThanOrEqual(0)
      const changed = mask(block.expected[i] ?? '').replace(/\d/, (d) =>
        String((Number(d) + 1) % 10),
      )
      const edited = block.expected.map((l, k) => (k === i ? changed : l))
      expect(mismatch(edited, block.expected), command).not.toBe('')
    }
  })
})
