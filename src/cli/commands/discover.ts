/**
 * @module `bulkhead discover`: the dependency map of the workspace's stored flows, as a table,
 * JSON/YAML, Graphviz DOT, Mermaid, or a self-contained interactive HTML page.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { Option, type Command } from 'commander'
import {
  COVERAGE,
  discoverOutput,
  groupBy,
  MAX_SOURCES_LISTED,
  renderDot,
  renderHtmlPieces,
  renderMermaid,
  renderText,
  topEdges,
  type DependencyMap,
  type DiscoverOutputOptions,
  type Expectation,
} from '../../discover/index.js'
import { jsonLines, printDiagnostics, UsageError, writePieces, yamlChunks } from '../output.js'
import { loadDependencyMap } from '../dependency-map.js'
import { outputOption, verb, wholeNumber, windowOptions } from '../usage.js'
import { loadOrThrow, parseTimeZone } from '../workspace.js'
import { counted } from '../../core/index.js'

/** Options of the `discover` verb as commander passes them. */
interface DiscoverCliOptions {
  workspace: string
  since?: number
  until?: number
  groupBy?: string
  top?: number
  keepPublicIps?: boolean
  privateGrouping: number
  expect: Expectation[]
  timeZone?: string
  maxSources: number
  output: string
  out?: string
}

const FORMATS = ['text', 'table', 'json', 'yaml', 'dot', 'mermaid', 'html']

/** The text of Cytoscape.js's browser build, resolved from the installed package. */
export function cytoscapeSource(): string {
  const file = createRequire(import.meta.url).resolve('cytoscape/dist/cytoscape.min.js')
  return readFileSync(file, 'utf8')
}

function parseExpect(text: string): Expectation[] {
  const out: Expectation[] = []
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (!Object.hasOwn(COVERAGE, part))
      throw new UsageError(
        `--expect: unknown pattern "${part}"`,
        `use any of: ${Object.keys(COVERAGE).join(', ')}`,
      )
    out.push(part as Expectation)
  }
  return out
}

function parseCount(flag: string, max: number): (text: string) => number {
  return wholeNumber(0, max, (t) => `${flag}: "${t}" is not a whole number 0–${max}`)
}

/**
 * Renders `map` in `format` (json/yaml as data, the rest as text), in pieces to write one after
 * the other: JSON, YAML and HTML in many ({@link jsonLines}, {@link yamlChunks},
 * {@link renderHtmlPieces}), so that a map of hundreds of thousands of edges is never one
 * string; the other formats in one.
 * @param textLimit - edges the text table shows.
 * @param output - for json/yaml: how many flow sources to list (`--max-sources`).
 */
export function renderMap(
  map: DependencyMap,
  format: string,
  textLimit: number,
  output: DiscoverOutputOptions = {},
): Iterable<string> {
  switch (format) {
    case 'json':
      return jsonLines(discoverOutput(map, output))
    case 'yaml':
      return yamlChunks(discoverOutput(map, output))
    case 'html':
      return renderHtmlPieces(map, cytoscapeSource())
    case 'dot':
      return [renderDot(map)]
    case 'mermaid':
      return [renderMermaid(map)]
    default:
      return [`${renderText(map, textLimit)}\n`]
  }
}

/**
 * Edges above which `-o html` warns (`discover/large-html-map`). Measured in headless Chromium
 * (2 cores, other work running, 2026-11-23): a page of 250 entities is laid out and ready in
 * 7 s with 5 000 edges and 54 s with 20 000.
 */
export const HTML_EDGES_HINT = 5000

/** Registers `discover`. */
export function registerDiscover(program: Command): void {
  windowOptions(
    verb(program, 'discover')
      .description(
        'the dependency map of the stored flows: who talks to whom, on which service, how often and when (pattern)',
      )
      .option('-w, --workspace <dir>', 'workspace folder', '.'),
  )
    .option(
      '--group-by <keys>',
      'collapse workloads into identities by these label keys, e.g. app,role',
    )
    .option('--top <n>', 'only the N edges with the most flows', parseCount('--top', 1e9))
    .option('--keep-public-ips', 'each public address its own entity instead of "internet"')
    .option(
      '--private-grouping <prefix>',
      'group unmanaged private IPv4 addresses to this prefix length',
      parseCount('--private-grouping', 32),
      24,
    )
    .addOption(
      new Option(
        '--expect <patterns>',
        'rhythms you must see: daily,weekly,monthly,quarterly (warns when the window is too short)',
      )
        .argParser(parseExpect)
        .default(['monthly'], 'monthly'),
    )
    .option(
      '--time-zone <zone>',
      "IANA zone of the profiles' hours and days and so of the patterns (default: the workspace's timeZone, else UTC)",
      parseTimeZone,
    )
    .option(
      '--max-sources <n>',
      'json/yaml: list at most N flow sources (files), summing up the rest in sourcesNotListed; 0 lists every one',
      parseCount('--max-sources', 1e9),
      MAX_SOURCES_LISTED,
    )
    .addOption(outputOption(FORMATS, 'text'))
    .option('--out <file>', 'write the output to this file instead of stdout')
    .addHelpText(
      'after',
      `
Edges are (client, server, protocol, port), oriented client -> server, resolved at each flow's
time. Patterns: continuous, business-hours, nightly, weekly, month-end, rare, once (thresholds:
README "Discover"). The window must be long enough for the rhythms you expect: monthly needs
more than 31 days, weekly 14, quarterly more than 92; otherwise discover/short-window warns.

Examples:
  $ bulkhead discover -w my-estate --top 20
  $ bulkhead discover --group-by app,role -o dot | dot -Tsvg > map.svg
  $ bulkhead discover -o html --out map.html      # open map.html in a browser
  $ bulkhead discover -o json --since 2026-10-01 --until 2026-11-01
  $ bulkhead discover --time-zone Asia/Singapore   # nightly = 20:00-06:00 Singapore time

Exit codes: 0 success (warnings on stderr), 1 usage error or no flows in the store/window.`,
    )
    .action(async (opts: DiscoverCliOptions) => {
      const { since, until, expect, timeZone, top, privateGrouping: grouping } = opts
      const keys = (opts.groupBy ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
      const { inventory, workspace } = await loadOrThrow(opts.workspace, new Date())
      let map: DependencyMap = await loadDependencyMap(workspace, inventory, {
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
        keepPublicIps: opts.keepPublicIps === true,
        privateGrouping: grouping,
        expect,
        ...(timeZone !== undefined ? { timeZone } : {}),
      })
      printDiagnostics(map.diagnostics)
      if (keys.length > 0) map = groupBy(map, keys)
      if (top !== undefined) map = topEdges(map, top)
      if (opts.output === 'html' && map.edges.length > HTML_EDGES_HINT)
        printDiagnostics([
          {
            code: 'discover/large-html-map',
            severity: 'warning',
            message: `${counted(map.edges.length, 'edge')} in one HTML page: a browser lays out a few thousand at most`,
            hint: `draw fewer: --top ${HTML_EDGES_HINT} (the edges with the most flows), or --group-by app,role (one node per identity)`,
          },
        ])
      writePieces(renderMap(map, opts.output, top ?? 50, { maxSources: opts.maxSources }), opts.out)
      if (opts.out !== undefined)
        process.stderr.write(
          `wrote ${opts.out}: ${counted(map.entities.length, 'entity', 'entities')}, ${counted(map.edges.length, 'edge')}\n`,
        )
    })
}
