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

/** Runs `parser` over `text` split on LF; returns the flows and the context (with stats). */
export async function runParser(
  parser: LineParser,
  text: string,
  opts: { strict?: boolean; fields?: string; file?: string } = {},
): Promise<{ flows: Flow[]; ctx: ParseContext }> {
  const ctx: ParseContext = {
    file: opts.file ?? 'test.log',
    strict: opts.strict ?? false,
    stats: newStats(),
    ...(opts.fields !== undefined ? { fields: opts.fields } : {}),
  }
  async function* lines(): AsyncGenerator<string> {
    const parts = text.split('\n')
    if (parts[parts.length - 1] === '') parts.pop()
    for (const l of parts) yield l.replace(/\r$/, '')
  }
  const flows: Flow[] = []
  for await (const f of parser.parse(lines(), ctx)) flows.push(f)
  return { flows, ctx }
}

/** The text of a fixture. */
export function fixtureText(name: string): string {
  return readFileSync(fixture(name), 'utf8')
}
