/**
 * @module Every `$ bulkhead …` example of every verb's `--help` still works as users copy it.
 * Each example line is split as a POSIX shell splits it (quotes, `#` comments, `&&`, `|`, `>`,
 * `\` continuations); each `bulkhead` command in it must parse against the verb's options
 * (commander: no unknown option, no missing or extra argument, a listed choice), and, unless
 * listed in {@link PARSE_ONLY} with the reason, runs in process (globs expanded, `> FILE` written)
 * with the exit code of the verb's "Exit codes:" line that {@link EXPECTED} gives it (default 0).
 *
 * Where they run: a copy of the bundled demo (`examples/demo`) whose flows are ingested and whose
 * policy is `bulkhead recommend --out policy/`, as `bulkhead demo` makes it, in a git repository of
 * two commits (for `HEAD~1:policy`, `main:policy`), with `my-estate` and `examples/demo` naming it
 * too, and the files the examples name that the demo lacks (`conn.log`, `eni.log`, `nsg.json`,
 * `proposed/`, `old-policy/`, `label-prefixes.json`); `init` and the top-level examples in a
 * folder where `bulkhead init -w my-estate` ran (each `init` in a fresh folder); `k8s` examples
 * beside `manifests/`, a copy of test/fixtures/k8s-basic.
 */
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { gunzipSync } from 'node:zlib'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Command, CommanderError } from 'commander'
import { globSync } from 'tinyglobby'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildProgram } from '../../src/cli/main.js'
import { cli, type CliResult } from '../helpers/cli.js'
import { tempDir } from '../helpers/files.js'
import { gitIn } from '../helpers/process.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** One `bulkhead` command of an example line: its arguments, and the file `>` sends stdout to. */
interface Invocation {
  argv: string[]
  stdoutTo?: string
  /** It reads a pipe (`… | bulkhead …`). */
  piped: boolean
}

/** The example lines (`$ …`, continuations joined) of one help text. */
function exampleLines(help: string): string[] {
  const lines = help.split('\n')
  const start = lines.findIndex((l) => l.trim() === 'Examples:')
  if (start < 0) return []
  const out: string[] = []
  for (let i = start + 1; i < lines.length; i++) {
    const l = lines[i] ?? ''
    if (l.trim() === '') break
    if (!l.trimStart().startsWith('$ ')) continue
    let text = l.trimStart().slice(2)
    while (text.endsWith('\\') && i + 1 < lines.length) {
      i++
      text = `${text.slice(0, -1).trimEnd()} ${(lines[i] ?? '').trim()}`
    }
    out.push(text)
  }
  return out
}

type Token = { word: string; glob: boolean } | { op: '|' | '&&' | '>' | ';' }

/**
 * A POSIX shell's split of `line` into words and the operators `|`, `&&`, `;`, `>`: single and
 * double quotes (a quoted `*` is no glob), `#` starting a word begins a comment. Enough for help
 * examples; no `$var` expansion (single quotes keep `${version}` as the shell would).
 */
function shellSplit(line: string): Token[] {
  const out: Token[] = []
  let i = 0
  while (i < line.length) {
    const c = line[i] as string
    if (c === ' ' || c === '\t') {
      i++
      continue
    }
    if (c === '#') break
    if (line.startsWith('&&', i)) {
      out.push({ op: '&&' })
      i += 2
      continue
    }
    if (c === '|' || c === '>' || c === ';') {
      out.push({ op: c })
      i++
      continue
    }
    let word = ''
    let glob = false
    while (i < line.length && !' \t|>;'.includes(line[i] as string) && !line.startsWith('&&', i)) {
      const ch = line[i] as string
      if (ch === "'" || ch === '"') {
        const end = line.indexOf(ch, i + 1)
        if (end < 0) throw new Error(`unterminated ${ch} in: ${line}`)
        word += line.slice(i + 1, end)
        i = end + 1
        continue
      }
      if (ch === '*' || ch === '?') glob = true
      word += ch
      i++
    }
    out.push({ word, glob })
  }
  return out
}

/** The `bulkhead` commands of an example line, in order. */
function invocations(line: string): Invocation[] {
  const out: Invocation[] = []
  let words: { word: string; glob: boolean }[] = []
  let redirect: string | undefined
  let piped = false
  let afterRedirect = false
  const flush = (nextPiped: boolean): void => {
    if (words[0]?.word === 'bulkhead')
      out.push({
        argv: words.slice(1).map((w) => (w.glob ? `\0glob:${w.word}` : w.word)),
        ...(redirect !== undefined ? { stdoutTo: redirect } : {}),
        piped,
      })
    words = []
    redirect = undefined
    piped = nextPiped
  }
  for (const t of shellSplit(line)) {
    if ('op' in t) {
      if (t.op === '>') afterRedirect = true
      else flush(t.op === '|')
      continue
    }
    if (afterRedirect) {
      redirect = t.word
      afterRedirect = false
    } else words.push(t)
  }
  flush(false)
  return out
}

/** Globs expanded against the current folder, as bash does (no match: the word as written). */
function expand(argv: readonly string[]): string[] {
  return argv.flatMap((a) => {
    if (!a.startsWith('\0glob:')) return [a]
    const pattern = a.slice('\0glob:'.length)
    const found = globSync(pattern, { expandDirectories: false }).sort()
    return found.length > 0 ? found : [pattern]
  })
}

/** Every verb path (`[]` the program, `['k8s', 'eval']`), depth first, without `help`. */
function verbPaths(cmd: Command, prefix: string[] = []): string[][] {
  return [
    prefix,
    ...cmd.commands
      .filter((c) => c.name() !== 'help')
      .flatMap((c) => verbPaths(c, [...prefix, c.name()])),
  ]
}

/**
 * What commander says of `argv` (an unknown option or verb, a missing or extra argument, a value
 * not among the choices), or '' when it parses. No verb runs: each action is replaced by nothing
 * and the verbs' own hooks (which may read files) are dropped.
 */
async function parseError(argv: readonly string[]): Promise<string> {
  const program = await buildProgram()
  const quiet = (cmd: Command): void => {
    cmd.exitOverride()
    cmd.configureOutput({ writeOut: () => undefined, writeErr: () => undefined })
    // commander keeps hooks in this private field; without it this test would run the verbs' checks
    const hooked = cmd as unknown as { _lifeCycleHooks?: Record<string, unknown[]> }
    if (hooked._lifeCycleHooks === undefined)
      throw new Error('commander changed: no _lifeCycleHooks')
    hooked._lifeCycleHooks = {}
    if (cmd.commands.length === 0) cmd.action(() => undefined)
    for (const sub of cmd.commands) quiet(sub)
  }
  quiet(program)
  try {
    await program.parseAsync([...argv], { from: 'user' })
    return ''
  } catch (err) {
    if (err instanceof CommanderError) return err.message
    return err instanceof Error ? err.message : String(err)
  }
}

/**
 * Examples that parse but cannot run here, with the reason. Keyed by the example line as the help
 * prints it (after `$ `).
 */
const PARSE_ONLY: Record<string, string> = {
  'bulkhead collect --listen 0.0.0.0:2055 > flows.jsonl':
    'a live listener, on every interface (collect is run against 127.0.0.1 in test/ingest)',
  'bulkhead collect --listen 127.0.0.1:4739 --count 100': 'a live listener waiting for an exporter',
  'bulkhead collect --listen tcp://0.0.0.0:4739 > flows.jsonl': 'a live listener',
  'bulkhead collect --listen udp://0.0.0.0:4739 --listen tcp://0.0.0.0:4739': 'a live listener',
  'bulkhead collect --listen tls://0.0.0.0:4740 --tls-cert collector.pem --tls-key collector.key --tls-ca exporters-ca.pem > flows.jsonl':
    'a live TLS listener with certificates the test would have to make',
  'zcat flows.csv.gz | bulkhead flows - --format csv -o csv': 'reads stdin from a pipe',
  'bulkhead metrics -o prom --out /var/lib/node_exporter/textfile/bulkhead.prom':
    "writes into node_exporter's textfile folder, which a test machine lacks",
  "bulkhead demo                        # from the repository's root: --dir is examples/demo":
    'the whole demo: test/docs/readme-transcripts.test.ts runs it (npm start)',
  'bulkhead demo --out /tmp/demo-out':
    'the whole demo, into a fixed /tmp folder: test/docs/readme-transcripts.test.ts runs the demo',
}

/**
 * Examples whose right exit code is not 0, with the reason (from the verb's "Exit codes:") and the
 * diagnostic code stderr must name.
 */
const EXPECTED: Record<string, { code: number; diagnostic: string; reason: string }> = {
  'bulkhead compile --target aws-sg --out build/aws --sg-rule-quota 100': {
    code: 1,
    diagnostic: 'compile/unsupported-by-target',
    reason: 'the demo has workloads in monitor mode, which security groups cannot express',
  },
  'bulkhead compile --target azure-nsg --out build/azure': {
    code: 1,
    diagnostic: 'compile/unsupported-by-target',
    reason: 'the demo has workloads in monitor mode, which NSGs cannot express',
  },
}

const cwd = process.cwd()
const base = tempDir('bulkhead-help-examples')
/** The demo copy, ingested, with a recommended policy, in git. */
const estate = path.join(base, 'estate')
/** Where `bulkhead init -w my-estate` ran. */
const story = path.join(base, 'story')
/** Beside `manifests/` (test/fixtures/k8s-basic). */
const k8s = path.join(base, 'k8s')

/** `bulkhead ...argv` in process from `dir`, with a clear failure message on a non-zero exit. */
async function cliIn(dir: string, ...argv: string[]): Promise<CliResult> {
  process.chdir(dir)
  try {
    return await cli(...argv)
  } finally {
    process.chdir(cwd)
  }
}

async function mustRun(dir: string, ...argv: string[]): Promise<void> {
  const r = await cliIn(dir, ...argv)
  if (r.code !== 0)
    throw new Error(`bulkhead ${argv.join(' ')}: exit ${String(r.code)}\n${r.stderr}`)
}

/** Help texts by verb path (`''` for the program). */
const helps = new Map<string, string>()

beforeAll(async () => {
  for (const p of verbPaths(await buildProgram())) {
    const r = await cli(...p, '--help')
    helps.set(p.join(' '), r.stdout)
  }
  // the estate: the demo as `bulkhead demo` makes it
  cpSync(path.join(ROOT, 'examples/demo'), estate, {
    recursive: true,
    filter: (src) => !src.includes(`${path.sep}out`),
  })
  writeFileSync(path.join(estate, '.gitignore'), 'out/\nbuild/\n')
  await mustRun(estate, 'ingest')
  const zeekLogs = readdirSync(path.join(estate, 'flows/zeek')).sort()
  await mustRun(estate, 'recommend', '--out', 'policy/')
  const git = gitIn(estate)
  git('init', '-q', '-b', 'main')
  git('add', '.')
  git('commit', '-q', '-m', 'estate')
  writeFileSync(path.join(estate, 'NOTES.md'), 'second commit, so HEAD~1 exists\n')
  git('add', 'NOTES.md')
  git('commit', '-q', '-m', 'notes')
  symlinkSync('.', path.join(estate, 'my-estate'))
  mkdirSync(path.join(estate, 'examples'))
  symlinkSync('..', path.join(estate, 'examples', 'demo'))
  cpSync(path.join(estate, 'policy'), path.join(estate, 'proposed'), { recursive: true })
  cpSync(path.join(estate, 'policy'), path.join(estate, 'old-policy'), { recursive: true })
  // one of the demo's own Zeek logs (already ingested: the example adds nothing that changes later ones)
  writeFileSync(
    path.join(estate, 'conn.log'),
    gunzipSync(readFileSync(path.join(estate, 'flows/zeek', zeekLogs[0] as string))),
  )
  cpSync(path.join(ROOT, 'test/fixtures/flows/azure-nsg-v2.json'), path.join(estate, 'nsg.json'))
  // the fields of the `flows eni.log --fields …` example, in its order
  writeFileSync(
    path.join(estate, 'eni.log'),
    '5 10.20.1.10 10.20.2.10 40000 8443 6 10 840 1761000000 1761000060 ACCEPT OK 2\n',
  )
  writeFileSync(
    path.join(estate, 'label-prefixes.json'),
    JSON.stringify({
      version: 1,
      'valid-prefixes': [
        { source: 'k8s', prefix: 'io.kubernetes.pod.namespace' },
        { source: 'k8s', prefix: 'app' },
        { source: 'k8s', prefix: 'role' },
      ],
    }),
  )
  mkdirSync(story)
  await mustRun(story, 'init', '-w', 'my-estate')
  mkdirSync(k8s)
  cpSync(path.join(ROOT, 'test/fixtures/k8s-basic'), path.join(k8s, 'manifests'), {
    recursive: true,
  })
}, 60_000)

afterAll(() => {
  process.chdir(cwd)
})

/** The folder an example of `verb` runs in: `init` gets a fresh one each time. */
function folderFor(verb: string, line: string): string {
  if (/^bulkhead init\b/.test(line)) return mkdtempSync(path.join(base, 'init-'))
  if (verb === '' || verb === 'init') return story
  if (verb.startsWith('k8s')) return k8s
  return estate
}

describe('every --help example parses and, offline, runs', () => {
  it('finds examples and an "Exit codes:" line in every verb', () => {
    const without = [...helps].filter(([, h]) => exampleLines(h).length === 0).map(([v]) => v)
    expect(without).toEqual([])
    const noCodes = [...helps].filter(([, h]) => !h.includes('\nExit codes: ')).map(([v]) => v)
    expect(noCodes).toEqual([])
  })

  it('lists only examples that exist', () => {
    const all = new Set([...helps.values()].flatMap(exampleLines))
    const stale = [...Object.keys(PARSE_ONLY), ...Object.keys(EXPECTED)].filter((l) => !all.has(l))
    expect(stale).toEqual([])
  })

  it('splits example lines as a shell does', () => {
    expect(invocations(`bulkhead a 'x y' "z" # comment`)).toEqual([
      { argv: ['a', 'x y', 'z'], piped: false },
    ])
    expect(invocations('zcat f | bulkhead flows - > out.csv && bulkhead b f/*.gz')).toEqual([
      { argv: ['flows', '-'], stdoutTo: 'out.csv', piped: true },
      { argv: ['b', '\0glob:f/*.gz'], piped: false },
    ])
  })

  it('runs every example', async () => {
    const failures: string[] = []
    for (const [verb, help] of helps) {
      for (const line of exampleLines(help)) {
        const runs = invocations(line)
        if (runs.length === 0) failures.push(`${verb}: no bulkhead command in: ${line}`)
        const dir = folderFor(verb, line)
        // from the example's folder: -w names a folder that must exist when the option is read
        for (const inv of runs) {
          process.chdir(dir)
          try {
            const err = await parseError(inv.argv.map((a) => a.replace('\0glob:', '')))
            if (err !== '') failures.push(`${verb}: ${line}\n  does not parse: ${err}`)
          } finally {
            process.chdir(cwd)
          }
        }
        if (line in PARSE_ONLY) continue
        for (const inv of runs) {
          process.chdir(dir)
          let argv: string[]
          try {
            argv = expand(inv.argv)
          } finally {
            process.chdir(cwd)
          }
          const r = await cliIn(dir, ...argv)
          if (inv.stdoutTo !== undefined) writeFileSync(path.resolve(dir, inv.stdoutTo), r.stdout)
          const want = EXPECTED[line]?.code ?? 0
          const diagnostic = EXPECTED[line]?.diagnostic
          if (
            r.code !== want ||
            (diagnostic !== undefined && !r.stderr.includes(` ${diagnostic}:`))
          )
            failures.push(
              `${verb}: ${line}\n  exit ${String(r.code)}, not ${String(want)}:\n${r.stderr.slice(0, 800)}`,
            )
        }
      }
    }
    expect(failures.join('\n\n')).toBe('')
  }, 120_000)
})
