/**
 * @module The command line's own checks, done once, by commander, before anything is read.
 *
 * A verb gives each option and argument that takes a checked value a parser (commander's
 * `argParser`: `.option(flags, description, parse, default)`), which throws a `UsageError`
 * (`cli/usage`) for a bad value, or a `BulkheadError` of the verb's own stable code where it had
 * one before (`k8s eval`'s `<service>`: `k8s/bad-connection`); the action receives the parsed value (a number, ms since the
 * epoch, a CIDR, a member of a fixed set) and checks nothing again. `run()` makes every parser
 * hold its error as the value instead of throwing ({@link holdUsageErrors}), so that commander
 * reads on (`--help` after a bad value still shows help; `-o json` after it still picks the
 * failure document); the first `preAction` hook of the verb ({@link verb}) throws them all at
 * once. Checks between options (two that exclude each other, `--until` after `--since`) are the
 * verb's own `preAction` hooks, after that one; `run()`'s workspace check comes last. A wrong
 * command line is so `cli/usage`, exit 1, wherever it is run, and not `workspace/not-found` of a
 * folder the command never needed to read.
 *
 * Commander's `.choices()` error is its own text and exit, not a `cli/usage` diagnostic:
 * {@link choiceOption} keeps the choices for `--help` and checks them itself.
 * @remarks Commander 14: `Option.argParser`, `Option.choices`, `Command.hook('preAction')`
 * (node_modules/commander/Readme.md "Custom option processing", "Life cycle hooks"). Order of a
 * parse: options (their parsers) as read, then commander's mandatory-option check (not used: see
 * {@link mandatory}), then the arguments
 * (their parsers), then the `preAction` hooks from the program down to the verb, then the action:
 * https://github.com/tj/commander.js/blob/master/docs/parsing-and-hooks.md
 */
import { Option, type Command } from 'commander'
import { BulkheadError, type Diagnostic } from '../core/index.js'
import { UsageError } from './output.js'
import { GITHUB_COMMENT_LIMIT } from './render/md.js'
import { parseTime } from './workspace.js'

/** What commander holds in place of a value whose check failed, until {@link throwUsageErrors}. */
class Invalid {
  constructor(readonly diagnostics: readonly Diagnostic[]) {}
}

type Parse = (text: string, previous: unknown) => unknown

/**
 * Makes the parser of every option and argument of `cmd` hold the {@link BulkheadError} it throws
 * (a {@link UsageError}, or a verb's own code) as the value (an {@link Invalid}, which a repeated
 * option keeps) instead of throwing it.
 */
export function holdUsageErrors(cmd: Command): void {
  for (const o of [...cmd.options, ...cmd.registeredArguments]) {
    const parse = o.parseArg?.bind(o) as Parse | undefined
    if (parse === undefined) continue
    o.parseArg = ((text: string, previous: unknown) => {
      if (previous instanceof Invalid) return previous
      try {
        return parse(text, previous)
      } catch (err) {
        if (err instanceof BulkheadError) return new Invalid(err.diagnostics)
        throw err
      }
    }) as NonNullable<typeof o.parseArg>
  }
}

/** The options {@link mandatory} marked: checked by {@link throwUsageErrors}, not by commander. */
const MANDATORY = new WeakSet<Option>()

/**
 * The {@link formerNowOption} options: that one and `--at` both given is checked by
 * {@link throwUsageErrors}, not by commander, whose `.conflicts()` stops the parse with its own
 * text, no code and no `-o json` document (as its mandatory-option check does, {@link mandatory}).
 */
const FORMER_NOW = new WeakSet<Option>()

/**
 * Marks `option` as one its verb cannot run without. Commander's own check (`requiredOption`,
 * `makeOptionMandatory`) runs before the `preAction` hooks and stops the parse with its own text,
 * no code and no `-o json` document, hiding every other error of the command line
 * (`compile --target pf` named the missing `--out`, not the unknown target); a missing option
 * marked here is a `cli/usage` error reported by {@link throwUsageErrors} with the others.
 */
export function mandatory(option: Option): Option {
  MANDATORY.add(option)
  return option
}

/**
 * Options whose value is a file or folder (`-w, --workspace <dir>`, `--out <file>`,
 * `--flows <files...>`, also spelt `<file...>`, and `--compare`/`--previous <policyDir>`: diff's
 * `<file...>` and the `<policyDir>` escaped the check until 2026-11-24).
 */
const PATH_VALUE = /<(dir|file|files?\.\.\.|policyDir)>$/
/** Options whose placeholder reads as a path but that take none. */
const NOT_PATHS: ReadonlySet<string> = new Set(['--direction'])

/**
 * True when `o`, an option taking a path, was given an empty one on the command line. Node reads
 * "" as the current folder (`path.resolve('')`): `k8s import --out ""` wrote its policy files
 * there, `init -w ""` its skeleton, while `validate -w ""` said the folder does not exist.
 */
function emptyPath(c: Command, o: Option): boolean {
  if (!PATH_VALUE.test(o.flags) || NOT_PATHS.has(o.long ?? '')) return false
  if (c.getOptionValueSource(o.attributeName()) !== 'cli') return false
  const v: unknown = c.getOptionValue(o.attributeName())
  return v === '' || (Array.isArray(v) && v.includes(''))
}

/**
 * Throws every usage error held ({@link holdUsageErrors}) for the options and arguments of `cmd`
 * and of the commands above it, and a `cli/usage` error for each {@link mandatory} option not
 * given, and for {@link formerNowOption} given with `--at`, in one {@link BulkheadError}
 * (`cli/usage`, exit 1).
 */
export function throwUsageErrors(cmd: Command): void {
  const held: Diagnostic[] = []
  for (let c: Command | null = cmd; c !== null; c = c.parent) {
    for (const v of [
      ...Object.values(c.opts<Record<string, unknown>>()),
      ...(c.processedArgs as unknown[]),
    ])
      if (v instanceof Invalid) held.push(...v.diagnostics)
    for (const o of c.options) {
      if (emptyPath(c, o))
        held.push(
          ...new UsageError(
            `option '${o.flags}' is empty`,
            o.flags.endsWith('<file>')
              ? 'give a file path'
              : 'give a path ("." for the current folder)',
          ).diagnostics,
        )
      if (MANDATORY.has(o) && c.getOptionValue(o.attributeName()) === undefined)
        held.push(...new UsageError(`required option '${o.flags}' not specified`).diagnostics)
      if (
        FORMER_NOW.has(o) &&
        c.getOptionValueSource(o.attributeName()) === 'cli' &&
        c.getOptionValueSource('at') === 'cli'
      )
        held.push(
          ...new UsageError(
            '--now and --at both given',
            '--now is the former name of --at: give one of them',
          ).diagnostics,
        )
    }
  }
  if (held.length > 0) throw new BulkheadError(held)
}

/**
 * Adds `--since` and `--until` to `cmd` (ms, {@link parseTime}: the window `[since, until)` of
 * the stored `flows` read) and, as a `preAction` hook, the check that the window is not empty.
 * Call it once the verb's `-w, --workspace` is added, so that `--help` lists the workspace first.
 * @param note - said of both, e.g. that flows with no real time are left out.
 * @throws UsageError (from the hook) when `--until` is not after `--since`: an empty window
 *   would select no flows and pass every check.
 */
export function windowOptions(cmd: Command, flows = 'flows', note = ''): Command {
  return cmd
    .option(
      '--since <time>',
      `${flows} starting at or after this time (ISO-8601, a date or epoch seconds)${note}`,
      parseTime,
    )
    .option('--until <time>', `${flows} starting before this time${note}`, parseTime)
    .hook('preAction', (c) => {
      const { since, until } = c.opts<{ since?: number; until?: number }>()
      if (since !== undefined && until !== undefined && until <= since)
        throw new UsageError(
          '--until must be after --since',
          'the window [--since, --until) is empty',
        )
    })
}

/**
 * Adds `--no-flows <description>` to `cmd`, a verb that reads `--flows <files...>` or the store
 * (`--since`/`--until`, {@link windowOptions}), and, as a `preAction` hook, the check that no
 * flows were asked for beside it. Commander keeps one value for `--flows` and `--no-flows`, the
 * last given, so without the check `--flows f.log --no-flows` dropped the files and
 * `--no-flows --flows f.log` the `--no-flows`, silently; `--since`/`--until` beside it were
 * dropped too (as `metrics` refuses them).
 * @throws UsageError (from the hook) for `--no-flows` with `--flows` or with `--since`/`--until`.
 */
export function noFlowsOption(cmd: Command, description: string): Command {
  const given = new Set<string>()
  return cmd
    .option('--no-flows', description)
    .on('option:flows', () => given.add('--flows'))
    .on('option:no-flows', () => given.add('--no-flows'))
    .hook('preAction', (c) => {
      if (!given.has('--no-flows')) return
      const { since, until } = c.opts<{ since?: number; until?: number }>()
      if (given.has('--flows'))
        throw new UsageError(
          '--no-flows reads no flows; it cannot be used with --flows',
          'give --flows FILE... or --no-flows, not both',
        )
      if (since !== undefined || until !== undefined)
        throw new UsageError(
          '--since/--until select stored flows; --no-flows reads none',
          'leave out --no-flows to read the stored flows of the window',
        )
    })
}

/** Adds the verb `name` to `parent`, its first `preAction` hook {@link throwUsageErrors}. */
export function verb(parent: Command, name: string): Command {
  return parent.command(name).hook('preAction', (cmd) => {
    throwUsageErrors(cmd)
  })
}

/**
 * An option taking one of `values`, listed in `--help`.
 * @throws UsageError `message(text)`, hint `use one of: …` (or `hint`), for anything else.
 */
export function choiceOption<V extends string>(
  flags: string,
  description: string,
  values: readonly V[],
  message: (text: string) => string,
  fallback?: V,
  hint = `use one of: ${values.join(', ')}`,
): Option {
  return new Option(flags, description)
    .choices(values)
    .default(fallback)
    .argParser((text) => {
      if ((values as readonly string[]).includes(text)) return text
      throw new UsageError(message(text), hint)
    })
}

/**
 * `--policy <dir>`: a policy folder, or `REV:path` read from git, to use in place of the
 * workspace's (its Enforcement file included), as `simulate --policy` takes it; read by
 * `loadOrThrow`'s `policy` parameter. For the verbs that judge one policy set (`simulate`, `lint`,
 * `eval`, `connlist`), so that a proposal (`recommend --out DIR`) can be checked before it
 * replaces the workspace's policy.
 * @param what - what the verb does with it, for the help (`judge`, `check`…).
 */
export function policyOption(what: string): Option {
  return new Option(
    '--policy <dir>',
    `a policy folder (or REV:path) to ${what} instead of the workspace's`,
  )
}

/** `-o, --output <format>`: one of `formats`, `fallback` when not given. */
export function outputOption(formats: readonly string[], fallback: string, about = ''): Option {
  const message = (t: string): string => `unknown output format "${t}"`
  return choiceOption('-o, --output <format>', `output format${about}`, formats, message, fallback)
}

/**
 * `--md-limit <chars>`, for every `-o md` meant for a pull-request or issue comment (`diff`,
 * `simulate`): the most characters the Markdown may take, its lists cut to fit with a note
 * saying what is left out (`./render/md.ts`, `fitMarkdownLines`); default GitHub's
 * {@link GITHUB_COMMENT_LIMIT}, 0 no limit. Other formats are never cut.
 * @param lists - what may be cut, for the help ("the denied-edge table"…).
 */
export function mdLimitOption(lists: string): Option {
  return new Option(
    '--md-limit <chars>',
    `-o md: cut ${lists} to fit this many characters (a GitHub comment), with a note saying what is left out (0: no limit)`,
  )
    .argParser(
      wholeNumber(0, Infinity, (t) => `--md-limit must be a non-negative integer, not "${t}"`),
    )
    .default(GITHUB_COMMENT_LIMIT)
}

/**
 * A time option (`--at`, `--since`…) read by {@link parseTime}, ms since the epoch; not given, the
 * time the program was built (shown as `now`), so that one run judges everything at one instant.
 */
export function timeOption(flags: string, description: string): Option {
  return new Option(flags, description).argParser(parseTime).default(Date.now(), 'now')
}

/**
 * `--now <time>`, hidden from the help: the former name of `--at` ({@link timeOption}), kept so that
 * scripts written for it still run (`validate`, `inventory` and `compile` took `--now` until
 * 2026-11, every other verb `--at`). Giving both is a usage error. Read the instant with
 * {@link atOf}.
 */
export function formerNowOption(): Option {
  const option = new Option('--now <time>').argParser(parseTime).hideHelp()
  FORMER_NOW.add(option)
  return option
}

/** The instant (ms since the epoch) of `--at`, or of {@link formerNowOption} when that is given. */
export function atOf(opts: { readonly at: number; readonly now?: number }): number {
  return opts.now ?? opts.at
}

/** A parser of whole numbers `min` to `max`. @throws UsageError `message(text)` otherwise. */
export function wholeNumber(min: number, max: number, message: (text: string) => string) {
  return (text: string): number => {
    const n = Number(text)
    if (!/^\d+$/.test(text) || n < min || n > max) throw new UsageError(message(text))
    return n
  }
}

/** A repeatable option's parser: each value parsed by `parse`, in the order given. */
export function each<T>(parse: (text: string) => T) {
  return (text: string, previous: T[] | undefined): T[] => [...(previous ?? []), parse(text)]
}

/**
 * A repeatable option (`--host a --host b`): its values parsed by `parse` ({@link each}), in the
 * order given; none given: `[]`, shown in `--help` as `(default: <defaultText>)` (what the empty
 * list means, not commander's `[]`).
 */
export function repeatableOption(
  flags: string,
  description: string,
  parse: (text: string) => unknown,
  defaultText: string,
): Option {
  return new Option(flags, description).argParser(each(parse)).default([], defaultText)
}
