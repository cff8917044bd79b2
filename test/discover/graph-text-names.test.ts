/**
 * @module `discover -o mermaid` and `-o dot` with workload names that hold the characters each
 * grammar gives a meaning to: every name must read back as itself through the format's own
 * rules (Mermaid's flowchart grammar and entity codes; Graphviz's DOT lexer and escString).
 */
import { describe, expect, it } from 'vitest'
import {
  classifyPattern,
  emptyProfile,
  renderDot,
  renderMermaid,
  type DependencyMap,
  type Edge,
  type MapEntity,
} from '../../src/discover/index.js'

const T = Date.UTC(2026, 9, 5, 10)

/** Names as inventories allow them (a YAML string may hold any of these). */
const NAMES = [
  'web-<script>alert(1)</script>',
  `api "quoted" & 'single' &amp;`,
  'a[b](c)|d#e;f{g} --> end',
  'hash #lt; #35; #quot; #9829;',
  'line1\nline2\r\nline3',
  '`**markdown**`',
  '100% %% not a comment',
  'back\\slash\\',
  'esc\\l mid\\n end\\r x\\N\\G\\E\\T\\H\\L',
  'zürich-東京-🚀',
]

function edge(src: string, dst: string): Edge {
  const profile = emptyProfile()
  profile.hourOfWeek[10] = 1
  return {
    src,
    dst,
    protocol: 6,
    dstPort: 443,
    flows: 1,
    packets: 2,
    bytes: 100,
    firstSeen: T,
    lastSeen: T,
    activeDays: 1,
    days: [Math.floor(T / 86_400_000)],
    profile,
    pattern: classifyPattern(profile, 1, 30),
    unknownDirection: 0,
    rejected: 0,
  }
}

const entities: MapEntity[] = NAMES.map((name, i) => ({
  id: name,
  kind: i % 3 === 2 ? 'external' : 'workload',
  name,
  labels: i % 2 === 0 ? { app: `app ${name}`, role: `r#${i}` } : {},
}))
const MAP: DependencyMap = {
  window: { start: T, end: T + 86_400_000 },
  entities,
  edges: NAMES.slice(1).map((n, i) => edge(NAMES[i]!, n)),
  sources: [],
  diagnostics: [],
}

/**
 * What Mermaid shows for the text of a `"..."` label: entity codes `#name;` / `#123;` become
 * HTML entities (mermaid's encodeEntities/decodeEntities), `<br>` a line break, and the label
 * is HTML, so the entities are decoded once. Only the entities the renderer may emit are known
 * here; any other `#…;` or `&…;` left in the text fails the comparison.
 */
function mermaidShows(text: string): string {
  const named: Record<string, string> = { amp: '&', quot: '"', lt: '<', gt: '>' }
  // one pass: a raw `&` would start an HTML entity, so it is marked and fails the comparison
  return text.replace(/#(\w+);|<br>|&/g, (m, code: string | undefined) => {
    if (m === '<br>') return '\n'
    if (code === undefined) return '?raw&?'
    return /^\d+$/.test(code) ? String.fromCodePoint(Number(code)) : (named[code] ?? `?${code}?`)
  })
}

describe('discover -o mermaid with hostile names', () => {
  const out = renderMermaid(MAP)
  // subgraphs: the workloads with an app label
  const grouped = entities.filter((e) => e.kind === 'workload' && e.labels['app'] !== undefined)
  const lines = out.trimEnd().split('\n')

  it('keeps every statement on one line of the documented flowchart grammar', () => {
    const label = '"([^"\\n`]*)"'
    const statement = new RegExp(
      [
        '^flowchart LR$',
        `^  subgraph app\\d+\\[${label}\\]$`,
        '^  end$',
        `^ {2,4}n\\d+(?:\\[${label}\\]|\\(\\[${label}\\]\\)|\\(${label}\\))$`,
        `^  n\\d+ -->\\|${label}\\| n\\d+$`,
      ].join('|'),
    )
    for (const line of lines) expect(line).toMatch(statement)
    // one line per node, subgraph and its end, edge, and the header
    expect(lines).toHaveLength(1 + NAMES.length + 2 * grouped.length + MAP.edges.length)
  })

  it('shows each name as itself', () => {
    const shown = lines
      .map((l) => /^ {2,4}n(\d+)[[(]+"(.*)"[\])]+$/.exec(l))
      .filter((m) => m !== null)
      .map((m) => [Number(m[1]), mermaidShows(m[2]!)] as const)
      .sort((a, b) => a[0] - b[0])
      .map(([, s]) => s)
    expect(shown).toEqual(NAMES.map((n) => n.replace(/\r\n|\r/g, '\n')))
    const titles = lines
      .map((l) => /^ {2}subgraph app\d+\["(.*)"\]$/.exec(l)?.[1])
      .filter((t) => t !== undefined)
      .map(mermaidShows)
      .sort()
    expect(titles).toEqual(
      grouped.map((e) => `app=${e.labels['app']!.replace(/\r\n|\r/g, '\n')}`).sort(),
    )
  })

  it('writes the escapes Mermaid documents, # first', () => {
    expect(out).toContain('n3["hash #35;lt; #35;35; #35;quot; #35;9829;"]')
    expect(out).toContain('n1["api #quot;quoted#quot; #amp; \'single\' #amp;amp;"]')
    expect(out).toContain('n4["line1<br>line2<br>line3"]')
    expect(out).toContain('n5(["#96;**markdown**#96;"])')
  })
})

/**
 * What Graphviz shows for a DOT double-quoted string used as a label (or as a node name shown
 * through the default label `\N`): the lexer (lib/cgraph/scan.l) turns `\"` into `"` and keeps
 * `\\` as two characters, a backslash before a newline joins lines; then the label's escString
 * rules turn `\\` into `\`, `\n` `\l` `\r` into line ends, and drop a backslash before any other
 * character (https://graphviz.org/docs/attr-types/escString/). `\N`, `\G`, `\E`, `\T`, `\H`,
 * `\L` would be replaced by names: none may survive.
 */
function graphvizShows(quoted: string): string {
  expect(quoted.startsWith('"') && quoted.endsWith('"')).toBe(true)
  let lexed = ''
  const body = quoted.slice(1, -1)
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!
    const d = body[i + 1]
    if (c === '"') throw new Error(`unescaped quote in ${quoted}`)
    if (c === '\\' && d === '"') {
      lexed += '"'
      i++
    } else if (c === '\\' && d === '\\') {
      lexed += '\\\\'
      i++
    } else if (c === '\\' && d === '\n') i++
    else lexed += c
  }
  let shown = ''
  for (let i = 0; i < lexed.length; i++) {
    const c = lexed[i]!
    if (c !== '\\') {
      shown += c
      continue
    }
    const d = lexed[++i] ?? ''
    if ('nlr'.includes(d) && d !== '') shown += '\n'
    else if ('NGETHL'.includes(d) && d !== '') throw new Error(`\\${d} in ${quoted}`)
    else shown += d
  }
  return shown
}

describe('discover -o dot with hostile names', () => {
  const out = renderDot(MAP)
  const quoted = '"(?:[^"\\\\]|\\\\[^])*"'

  it('closes every quoted string and shows each name and label as itself', () => {
    const nodes = [
      ...out.matchAll(
        new RegExp(`^ +(${quoted}) \\[label=(${quoted}), shape=\\w+[^\\]]*\\];$`, 'gm'),
      ),
    ]
    expect(nodes).toHaveLength(NAMES.length)
    const byName = new Map(nodes.map((m) => [graphvizShows(m[1]!), graphvizShows(m[2]!)]))
    for (const [i, n] of NAMES.entries()) {
      const e = entities[i]!
      const role = e.labels['role']
      // a line break in a name shows as a line break
      const name = n.replace(/\r\n/g, '\n')
      expect(byName.get(name.replace(/\n/g, '\n'))).toBe(
        role === undefined ? name : `${name}\n${role}`,
      )
    }
    const edges = [...out.matchAll(new RegExp(`^ {2}(${quoted}) -> (${quoted}) \\[`, 'gm'))]
    expect(edges.map((m) => [graphvizShows(m[1]!), graphvizShows(m[2]!)])).toEqual(
      MAP.edges.map((e) => [e.src.replace(/\r\n/g, '\n'), e.dst.replace(/\r\n/g, '\n')]),
    )
  })
})
