/**
 * @module `discover -o mermaid`: the dependency map as a Mermaid flowchart, one subgraph per
 * `app` label.
 * @see https://mermaid.js.org/syntax/flowchart.html
 */
import type { DependencyMap, MapEntity } from '../types.js'
import { serviceText } from './json.js'
import { counted } from '../../core/index.js'

/**
 * Mermaid label text inside `"..."`, shown as itself. Mermaid reads `#name;` and `#123;` in a
 * label as entity codes and renders the label as HTML, so `#` is written `#35;` first (else a
 * name holding `#lt;` would show `<`), then `&` `#amp;` (else `&amp;` would show `&`), `"`
 * `#quot;`, `<` `#lt;`, `>` `#gt;`, and a backtick `#96;` (a label in backticks is Markdown).
 * A line break (CR, LF or CRLF) becomes `<br>`, Mermaid's line break in labels, so that each
 * node and edge stays on one line of the flowchart.
 * @see https://mermaid.js.org/syntax/flowchart.html#entity-codes-to-escape-characters
 */
function label(s: string): string {
  return s
    .replace(/#/g, '#35;')
    .replace(/&/g, '#amp;')
    .replace(/"/g, '#quot;')
    .replace(/</g, '#lt;')
    .replace(/>/g, '#gt;')
    .replace(/`/g, '#96;')
    .replace(/\r\n|\r|\n/g, '<br>')
}

/**
 * Renders the map as a Mermaid `flowchart LR`. Node ids are `n0, n1, …` in entity order (names
 * may hold characters Mermaid ids cannot); the name is the label. Workloads and identities are
 * rectangles, externals stadiums, unmanaged ranges rounded boxes. Edges in map
 * order, labelled `tcp/5432 · 12 flows · nightly`. Deterministic.
 */
export function renderMermaid(map: DependencyMap): string {
  const ids = new Map<string, string>()
  map.entities.forEach((e, i) => ids.set(e.id, `n${i}`))
  const node = (e: MapEntity): string => {
    const id = ids.get(e.id) ?? e.id
    const text = label(e.name)
    if (e.kind === 'external') return `${id}(["${text}"])`
    if (e.kind === 'unmanaged') return `${id}("${text}")`
    return `${id}["${text}"]`
  }
  const lines = ['flowchart LR']
  const byApp = new Map<string, MapEntity[]>()
  const loose: MapEntity[] = []
  for (const e of map.entities) {
    const app = e.labels['app']
    if (app !== undefined && (e.kind === 'workload' || e.kind === 'identity')) {
      const list = byApp.get(app) ?? []
      list.push(e)
      byApp.set(app, list)
    } else loose.push(e)
  }
  ;[...byApp.keys()].sort().forEach((app, i) => {
    lines.push(`  subgraph app${i}["app=${label(app)}"]`)
    for (const e of byApp.get(app) ?? []) lines.push(`    ${node(e)}`)
    lines.push('  end')
  })
  for (const e of loose) lines.push(`  ${node(e)}`)
  for (const e of map.edges) {
    const text = `${serviceText(e.protocol, e.dstPort)} · ${counted(e.flows, 'flow')} · ${e.pattern}`
    lines.push(`  ${ids.get(e.src) ?? e.src} -->|"${label(text)}"| ${ids.get(e.dst) ?? e.dst}`)
  }
  return `${lines.join('\n')}\n`
}
