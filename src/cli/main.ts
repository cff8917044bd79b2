#!/usr/bin/env node
/**
 * @module The `bulkhead` command: maps verbs and flags to the core; no logic of its own.
 */
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Command, CommanderError } from 'commander'
import { BulkheadError, type Diagnostic } from '../core/index.js'
import {
  AfterOutputError,
  EXIT,
  UsageError,
  failureOutput,
  printDiagnostics,
  systemErrorDiagnostic,
} from './output.js'
import { VERSION } from './version.js'
import { requireWorkspace } from './workspace.js'
import { holdUsageErrors, throwUsageErrors } from './usage.js'

/**
 * Every verb, in the order the help lists them, with a loader of the module that registers it.
 * A command line naming a verb loads that verb's module only: loading every command's modules
 * (and the libraries they use) cost each such command line about 0.1 s of CPU more.
 */
const VERBS: readonly (readonly [verb: string, load: () => Promise<(program: Command) => void>])[] =
  [
    ['init', async () => (await import('./commands/init.js')).registerInit],
    ['validate', async () => (await import('./commands/validate.js')).registerValidate],
    ['eval', async () => (await import('./commands/eval.js')).registerEval],
    ['flows', async () => (await import('./commands/flows.js')).registerFlows],
    ['ingest', async () => (await import('./commands/ingest.js')).registerIngest],
    ['recommend', async () => (await import('./commands/recommend.js')).registerRecommend],
    ['discover', async () => (await import('./commands/discover.js')).registerDiscover],
    ['collect', async () => (await import('./commands/collect.js')).registerCollect],
    ['inventory', async () => (await import('./commands/inventory.js')).registerInventory],
    ['simulate', async () => (await import('./commands/simulate.js')).registerSimulate],
    ['lint', async () => (await import('./commands/lint.js')).registerLint],
    ['compile', async () => (await import('./commands/compile.js')).registerCompile],
    ['connlist', async () => (await import('./commands/connlist.js')).registerConnlist],
    ['k8s', async () => (await import('./commands/k8s.js')).registerK8s],
    ['blast-radius', async () => (await import('./commands/blast-radius.js')).registerBlastRadius],
    ['metrics', async () => (await import('./commands/metrics.js')).registerMetrics],
    ['diff', async () => (await import('./commands/diff.js')).registerDiff],
    ['demo', async () => (await import('./commands/demo.js')).registerDemo],
  ]

/**
 * Builds the program: with `argv` (user arguments only) whose first word is a verb, that verb
 * alone (its help, options and action are complete; the root's help is not asked for); otherwise
 * every verb. Exported for tests, which run it in-process.
 */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
  const first = argv?.[0]
  const named = VERBS.filter(([verb]) => verb === first)
  const loaders = named.length > 0 ? named : VERBS
  const program = new Command('bulkhead')
    .description(
      'Open-source microsegmentation: discover who talks to whom, define least-privilege policy as ' +
        'code, simulate it over real flows, compile it to the firewalls you run, and measure the blast radius.',
    )
    .version(VERSION, '-V, --version')
    // root options before the verb, so a subcommand (inventory suggest-labels) owns its -w/-o
    .enablePositionalOptions()
    .addHelpText(
      'after',
      `
Examples:
  $ bulkhead init -w my-estate                 # write a commented workspace skeleton
  $ bulkhead validate -w my-estate             # check inventory and policy, every error with file:line:col
  $ bulkhead eval "10.0.2.10 -> 10.0.3.10 tcp/5432" -w my-estate
  $ bulkhead eval "web-1 -> db-1 tcp/5432" -w my-estate --at 2026-11-01T12:00:00Z -o json

Exit codes: 0 success, 1 usage or input error, 2 a requested check failed.
Docs: README.md and DESIGN.md.`,
    )
  for (const register of await Promise.all(loaders.map(([, load]) => load()))) register(program)
  return program
}

/**
 * Runs the CLI with `argv` (user arguments only) and returns the exit code; never calls
 * process.exit. Before a verb's action: the command line's own checks (the verb's `preAction`
 * hooks, `./usage.ts`), then the workspace check ({@link requireWorkspace}). An input error is
 * printed on stderr and, when the command was asked for a machine format (`-o json|yaml|sarif|md`),
 * as that format's failure document on stdout ({@link failureOutput}); exit 1. So is a command line
 * commander itself refuses (an unknown option or verb, a missing or extra argument): `cli/usage`,
 * with the usage errors of the options read before it.
 * @param given - the program to run (tests pass one they instrumented); default
 *   {@link buildProgram} of `argv`.
 */
export async function run(argv: readonly string[], given?: Command): Promise<number> {
  const program = given ?? (await buildProgram(argv))
  let invoked: Command | undefined
  program.hook('preAction', (_program, action) => {
    invoked = action
  })
  // the command whose own command-line check (commander's: an unknown option or verb, a missing
  // or extra argument) failed; its message becomes a cli/usage diagnostic below
  let refusedBy: Command | undefined
  // every level, sub-verbs (k8s connlist, inventory suggest-labels) too: commander would
  // otherwise call process.exit itself on their --help or a bad option; a bad value waits for
  // the verb's hooks; the workspace check is each verb's last hook, after those of its command line
  const prepare = (cmd: Command): void => {
    cmd.exitOverride()
    cmd.configureOutput({
      outputError: () => {
        refusedBy = cmd
      },
    })
    holdUsageErrors(cmd)
    cmd.hook('preAction', (hooked, action) =>
      hooked === action ? requireWorkspace(action) : undefined,
    )
    for (const sub of cmd.commands) prepare(sub)
  }
  prepare(program)
  const fail = (diagnostics: readonly Diagnostic[], written = false): number => {
    printDiagnostics(diagnostics)
    const format: unknown =
      invoked === undefined || invoked.getOptionValueSource('output') !== 'cli'
        ? (outputInArgv(argv) ?? invoked?.opts()['output'])
        : invoked.opts()['output']
    const ws: unknown = invoked?.opts()['workspace']
    const doc =
      typeof format === 'string' && !written
        ? failureOutput(diagnostics, format, typeof ws === 'string' ? ws : '.')
        : undefined
    if (doc !== undefined) process.stdout.write(doc)
    return EXIT.input
  }
  try {
    await program.parseAsync([...argv], { from: 'user' })
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version are "errors" to commander with exit code 0; the help shown for a missing
      // verb (`bulkhead`, `bulkhead k8s`) with exit code 1
      if (err.exitCode === 0 || refusedBy === undefined)
        return err.exitCode === 0 ? EXIT.ok : EXIT.input
      invoked = refusedBy
      const message = err.message.replace(/^error: /, '').replace(/\n/g, ' ')
      // with the errors held for the options read before commander stopped (./usage.ts)
      const held: Diagnostic[] = []
      try {
        throwUsageErrors(refusedBy)
      } catch (e) {
        if (!(e instanceof BulkheadError)) throw e
        held.push(...e.diagnostics)
      }
      return fail([...new UsageError(message, 'run with --help for usage').diagnostics, ...held])
    }
    if (err instanceof BulkheadError) return fail(err.diagnostics, err instanceof AfterOutputError)
    // a file or folder the environment refuses (permissions, a file where a folder goes, a full
    // disk) is bad input, not a bug
    const io = systemErrorDiagnostic(err)
    if (io !== undefined) return fail([io])
    throw err
  }
}

/**
 * The value of the last `-o`/`--output` in `argv` (`-o json`, `-ojson`, `--output=json`), for a
 * command line commander stopped reading before it (an unknown option comes first), so that the
 * failure document is still the one asked for; `undefined` when there is none.
 */
function outputInArgv(argv: readonly string[]): string | undefined {
  let format: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? ''
    if (a === '--') break
    if (a === '-o' || a === '--output') format = argv[++i]
    else if (a.startsWith('--output=')) format = a.slice('--output='.length)
    else if (/^-o./.test(a)) format = a.slice(2)
  }
  return format
}

function isMain(): boolean {
  const entry = process.argv[1]
  if (!entry) return false
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url))
  } catch {
    return false
  }
}

if (isMain()) {
  // `bulkhead flows … | head`: the reader closed the pipe, so there is no one left to write for;
  // stop quietly (exit 0) instead of dying on an unhandled EPIPE. Output that cannot be written
  // otherwise (a full disk) is an input error, not a crash.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.ok)
    printDiagnostics([
      systemErrorDiagnostic(err) ?? {
        code: 'io/write-failed',
        severity: 'error',
        message: `cannot write the output: ${err.message}`,
      },
    ])
    process.exit(EXIT.input)
  })
  run(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code
    },
    (err: unknown) => {
      process.stderr.write(
        `internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      )
      process.exitCode = EXIT.input
    },
  )
}
