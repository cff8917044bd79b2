/**
 * The progress bar of the commands that query the flow store (discover, simulate, lint, diff; the
 * other dependency-map commands share discover's loader) and of `compile` for a host target
 * (a ruleset per host), as the user meets it: drawn on a
 * terminal (a pseudo-terminal from script(1), stdout sent to a file as `-o json > out.json`
 * does) and erased at the end, never in stdout, and absent when stderr is a pipe.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli } from '../helpers/cli.js'
import { runProcess } from '../helpers/process.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-query-progress-'))
const ws = path.join(dir, 'ws')
const policy = path.join(ws, 'policy')

/** Each command and the words its bar shows. */
const VERBS: readonly { args: string[]; bar: string }[] = [
  { args: ['discover', '-w', ws, '-o', 'json'], bar: 'aggregating stored flows' },
  { args: ['simulate', '-w', ws, '-o', 'json'], bar: 'grouping and judging stored flows' },
  { args: ['lint', '-w', ws, '-o', 'json'], bar: 'grouping and judging stored flows' },
  { args: ['diff', policy, policy, '-w', ws, '-o', 'json'], bar: 'replaying stored flows' },
  ...(['nftables', 'iptables'] as const).map((target) => ({
    args: ['compile', '-w', ws, '--target', target, '--out', path.join(dir, target), '-o', 'json'],
    bar: `compiling ${target} rulesets`,
  })),
]
const SEPARATOR = '--- done'

/** A program running every command of {@link VERBS} in turn, a separator line after each. */
const PROGRAM = `import { run } from './src/cli/main.ts'
for (const args of ${JSON.stringify(VERBS.map((v) => v.args))}) {
  await run(args)
  process.stdout.write('\\n${SEPARATOR}\\n')
}`

/** The JSON documents the program printed, one per command. */
function documents(stdout: string): unknown[] {
  const parts = stdout.split(`\n${SEPARATOR}\n`)
  expect(parts.at(-1)).toBe('')
  return parts.slice(0, -1).map((p) => JSON.parse(p) as unknown)
}

beforeAll(async () => {
  cpSync('test/fixtures/simulate-estate', ws, { recursive: true })
  const r = await cli('ingest', '-w', ws, path.join(ws, 'flows.csv'))
  expect(r.code, r.stderr).toBe(0)
})

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe('the progress bar of the store queries and host compiles', () => {
  it('is_drawn_on_a_terminal_and_erased_and_stdout_holds_only_the_json', async () => {
    const out = path.join(dir, 'out.json')
    const node = `${process.execPath} --import tsx --input-type=module -e "${PROGRAM.replace(/"/g, '\\"')}"`
    const r = await runProcess(['script', '-qfec', `${node} > ${out}`, '/dev/null'], {
      cwd: ROOT,
      timeoutMs: 90_000,
    })
    expect(r.code, r.stdout).toBe(0)
    const terminal = r.stdout // the pseudo-terminal: the commands' stderr
    for (const { bar } of VERBS) {
      const last = terminal.lastIndexOf(`| ${bar} |`)
      expect(last, bar).toBeGreaterThan(0)
      // erased after its last drawing: the line cleared, the cursor shown again
      expect(terminal.indexOf('\x1b[2K', last), bar).toBeGreaterThan(last)
      expect(terminal.indexOf('\x1b[?25h', last), bar).toBeGreaterThan(last)
    }
    expect(terminal).toContain('\x1b[?25l') // the bar hid the cursor while drawn
    expect(terminal).not.toContain('interrupted')
    const stdout = readFileSync(out, 'utf8')
    expect(stdout).not.toContain('\x1b')
    expect(documents(stdout)).toHaveLength(VERBS.length)
  }, 120_000)

  it('is_not_drawn_when_stderr_is_not_a_terminal', async () => {
    const r = await runProcess(
      [process.execPath, '--import', 'tsx', '--input-type=module', '-e', PROGRAM],
      { cwd: ROOT, timeoutMs: 90_000 },
    )
    expect(r.code, r.stderr).toBe(0)
    for (const { bar } of VERBS) expect(r.stderr).not.toContain(bar)
    expect(r.stderr).not.toContain('\x1b')
    expect(r.stdout).not.toContain('\x1b')
    expect(documents(r.stdout)).toHaveLength(VERBS.length)
  }, 120_000)
})
