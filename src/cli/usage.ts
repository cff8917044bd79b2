/**
 * @module The command line's own checks, done once, by commander, before anything is read.
 *
 * Each option value and argument is parsed and checked by its commander `argParser` as commander
 * reads it, and the action receives the parsed value (a number, a `Date`'s ms, a CIDR, a member
 * of a fixed set). A value that fails is not thrown at once but held in its place
 * ({@link parsed}), so that commander goes on reading: `--help` after it still shows help, and an
 * `-o json` after it still picks the failure document. `run()`'s `preAction` hook then throws
 * `preAction` hook each verb has ({@link verb}) then throws every held error at once; checks
 * between options (two that exclude each other, `--until` after `--since`) are the verb's own
 * `preAction` hooks, run after that one and before `run()`'s workspace check. Every usage error is so `cli/usage`, exit 1, wherever the command
 * is run, as commander reports an unknown option, and not `workspace/not-found` of a folder the
 * command never needed to read.
 *
 * Commander's own `.choices()` error is commander's text and exit path, not a `cli/usage`
 * diagnostic (with its `-o json` failure document): {@link choiceOption} keeps the choices for
 * `--help` and checks them itself. Commander: `Option.argParser`, `Option.choices`,
 * `Command.hook('preAction')` (node_modules/commander/Readme.md "Custom option processing",
 * "Life cycle hooks").
 */
import { Argument, Option, type Command } from 'commander'
import { BulkheadError, type Diagnostic } from '../core/index.js'
import { UsageError } from './output.js'
import { parseTime } from './workspace.js'

/** What commander holds in place of a value whose check failed, until {@link throwUsageErrors}. */
class Invalid {
  constructor(readonly diagnostics: readonly Diagnostic[]) {}
}

/**
 * Parses one command-line value: `text` as given, `previous` the value so far (a repeatable
 * option's list, the default otherwise).
 * @throws UsageError (`cli/usage`) when `text` is not a value of the option.
 */
export type Parse<T> = (text: string, previous: T) => T

/**
 * `parse` as a commander `argParser` that does not throw: a {@link UsageError} becomes the
 * value ({@link Invalid}), which a later occurrence of a repeatable option keeps.
 */
export function parsed<T>(parse: Parse<T>): Parse<T> {
  return (text, previous) => {
    if (previous instanceof Invalid) return previous
    try {
      return parse(text, previous)
    } catch (err) {
      if (err instanceof UsageError) return new Invalid(err.diagnostics) as T
      throw err
    }
  }
}

/**
 * An option whose value `parse` parses and checks, once, as commander reads it.
 * @param fallback - the value when the option is not given (already parsed), shown in `--help`
 *   as `shown` (default: its JSON).
 */
export function option<T>(
  flags: string,
  description: string,
  parse: Parse<T>,
  fallback?: T,
  shown?: string,
): Option {
  const o = new Option(flags, description).argParser(parsed(parse))
  return fallback === undefined ? o : o.default(fallback, shown)
}

/** An argument whose value `parse` parses and checks, once, as commander reads it. */
export function argument<T>(name: string, description: string, parse: Parse<T>): Argument {
  return new Argument(name, description).argParser(parsed(parse))
}

/**
 * A parser that takes one of `values` and nothing else.
 * @throws UsageError `message(text)`, hint `use one of: …` (or `hint`), for anything else.
 */
export function oneOf<V extends string>(
  values: readonly V[],
  message: (text: string) => string,
  hint = `use one of: ${values.join(', ')}`,
): (text: string) => V {
  return (text) => {
    if ((values as readonly string[]).includes(text)) return text as V
    throw new UsageError(message(text), hint)
  }
}

/** An option taking one of `values`, listed in `--help`; anything else as {@link oneOf} says. */
export function choiceOption<V extends string>(
  flags: string,
  description: string,
  values: readonly V[],
  message: (text: string) => string,
  fallback?: V,
  hint?: string,
): Option {
  // choices() for --help; the check is oneOf's, so that its error is a cli/usage diagnostic
  const o = new Option(flags, description)
    .choices(values)
    .argParser(parsed(oneOf(values, message, hint)))
  return fallback === undefined ? o : o.default(fallback)
}

/** `-o, --output <format>`: one of `formats`, `fallback` when not given. */
export function outputOption<V extends string>(
  formats: readonly V[],
  fallback: V,
  description = 'output format',
): Option {
  return choiceOption(
    '-o, --output <format>',
    description,
    formats,
    (t) => `unknown output format "${t}"`,
    fallback,
  )
}

/**
 * A time option (`--at`, `--now`, `--since`, `--until`) read by {@link parseTime}: ms since the
 * epoch. With `now`, the option's default is the time the program was built (shown as `now`),
 * so that the action of one run judges everything at one instant.
 */
export function timeOption(flags: string, description: string, now = false): Option {
  return option(flags, description, parseTime, now ? Date.now() : undefined, 'now')
}

/** A parser of whole numbers from `min` to `max`. @throws UsageError `message(text)` otherwise. */
export function wholeNumber(
  min: number,
  max: number,
  message: (text: string) => string,
): (text: string) => number {
  return (text) => {
    const n = Number(text)
    if (!/^\d+$/.test(text) || n < min || n > max) throw new UsageError(message(text))
    return n
  }
}

/** A repeatable option's parser: each value parsed by `parse`, in the order given. */
export function each<T>(parse: (text: string) => T): Parse<T[]> {
  return (text, previous) => [...previous, parse(text)]
}

/**
 * Adds the verb `name` to `parent`: a command whose first `preAction` hook throws the usage
 * errors held for its command line ({@link throwUsageErrors}), on whatever program it is
 * registered; the verb's own hooks (checks between options) run after it, and `run()`'s
 * workspace check after those.
 */
export function verb(parent: Command, name: string): Command {
  return parent.command(name).hook('preAction', (cmd) => {
    throwUsageErrors(cmd)
  })
}

/**
 * Throws every usage error commander holds ({@link parsed}) for the options and arguments of
 * `cmd` and of the commands above it, in one {@link BulkheadError} (`cli/usage`, exit 1).
 */
export function throwUsageErrors(cmd: Command): void {
  const held: Diagnostic[] = []
  for (let c: Command | null = cmd; c !== null; c = c.parent)
    for (const v of [
      ...Object.values(c.opts<Record<string, unknown>>()),
      ...(c.processedArgs as unknown[]),
    ])
      if (v instanceof Invalid) held.push(...v.diagnostics)
  if (held.length > 0) throw new BulkheadError(held)
}
