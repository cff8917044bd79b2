/**
 * @module `discover -o dot`: the dependency map as a Graphviz digraph, one cluster per `app`
 * label, edges labelled with service, flows and pattern.
 * @see https://graphviz.org/doc/info/lang.html
 */
import type { DependencyMap, MapEntity } from '../types.js'
import { serviceText } from './json.js'
import { counted } from '../../core/index.js'

/** A DOT double-quoted string: `"` and `\` escaped, newlines as `\n`. */
function q(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`
}

function nodeLine(e: MapEntity, indent: string): string {
  const role = e.labels['role']
  const label = role !== undefined && e.kind !== 'identity' ? `${e.name}\n${role}` : e.name
  const shape = e.kind === 'workload' || e.kind === 'identity' ? 'box' : 'ellipse'
  const style = e.kind === 'unmanaged' ? ', style=dashed' : ''
  return `${indent}${q(e.id)} [label=${q(label)}, shape=${shape}${style}];`
}

/**
 * Renders the map as DOT: workloads and identities grouped into `subgraph cluster_<n>` by their
 * `app` label (sorted), others at top level; edges in map order, labelled
 * `tcp/5432\n12 flows, nightly`, pen width growing with log10(flows). Deterministic.
 */
export function renderDot(map: DependencyMap): string {
  const lines = [
    'digraph bulkhead {',
    '  rankdir=LR;',
    '  node [fontname="Helvetica"];',
    '  edge [fontname="Helvetica", fontsize=10];',
  ]
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
    lines.push(`  subgraph cluster_${i} {`, `    label=${q(`app=${app}`)};`)
    for (const e of byApp.get(app) ?? []) lines.push(nodeLine(e, '    '))
    lines.push('  }')
  })
  for (const e of loose) lines.push(nodeLine(e, '  '))
  for (const e of map.edges) {
    const width = (1 + Math.log10(Math.max(1, e.flows))).toFixed(1)
    const label = `${serviceText(e.protocol, e.dstPort)}\n${counted(e.flows, 'flow')}, ${e.pattern}`
    lines.push(`  ${q(e.src)} -> ${q(e.dst)} [label=${q(label)}, penwidth=${width}];`)
  }
  lines.push('}')
  return `${lines.join('\n')}\n`
}
