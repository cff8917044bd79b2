/**
 * @module Test helpers for the text flow parsers: run a parser over a string or a fixture.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Flow } from '../../src/core/index.js'
import { newStats, type LineParser, type ParseContext } from '../../src/ingest/types.js'

/** Absolute path of a fixture in test/fixtures/flows. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`../fixtures/flows/${name}`, import.meta.url))
}

/** `text` split on LF, without a final empty line. */
export function linesOf(text: string): string[] {
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  return lines
}

/** The lines as an async stream, as parsers read them. */
export async function* streamOf(lines: readonly string[]): AsyncGenerator<string> {
  for (const l of lines) yield l
}

/** Runs `parser` over `lines` (as given); returns the flows and the context (with stats). */
export async function runLines(
  parser: LineParser,
  lines: readonly string[],
  opts: { strict?: boolean; fields?: string; file?: string } = {},
): Promise<{ flows: Flow[]; ctx: ParseContext }> {
  const ctx: ParseContext = {
    file: opts.file ?? 'test.log',
    strict: opts.strict ?? false,
    stats: newStats(),
    ...(opts.fields !== undefined ? { fields: opts.fields } : {}),
  }
  const flows: Flow[] = []
  for await (const f of parser.parse(streamOf(lines), ctx)) flows.push(f)
  return { flows, ctx }
}

/** Runs `parser` over `text` split on LF (a CR before the LF dropped); see {@link runLines}. */
export function runParser(
  parser: LineParser,
  text: string,
  opts: { strict?: boolean; fields?: string; file?: string } = {},
): Promise<{ flows: Flow[]; ctx: ParseContext }> {
  return runLines(
    parser,
    linesOf(text).map((l) => l.replace(/\r$/, '')),
    opts,
  )
}

/** The text of a fixture. */
export function fixtureText(name: string): string {
  return readFileSync(fixture(name), 'utf8')
}
