/**
 * @module Renderings of a {@link BlastRadiusResult}: JSON data, a text report, Markdown and
 * Graphviz DOT (attacker paths highlighted).
 * @remarks Output shapes: issue 9 item 2.
 */
import { counted, mdCode, mdText } from '../core/index.js'
import type { BlastRadiusResult, Reduction, RolloutProgress } from './blast-radius.js'
import { edgeCount, forEachEdge, reachServiceText } from './graph.js'

/** The JSON document of `bulkhead blast-radius -o json`: the result without its graph. */
export function blastRadiusJson(result: BlastRadiusResult): Omit<BlastRadiusResult, 'graph'> {
  const { graph: _graph, ...rest } = result
  return rest
}

const fmtPct = (x: number | null): string => (x === null ? 'n/a' : `${x}%`)

function reductionText(r: Reduction): string {
  return `reduction from ${r.from} to ${r.to}: open lateral paths ${fmtPct(r.openLateralPaths)}, open source-destination pairs ${fmtPct(r.openPairs)}, mean direct reach ${fmtPct(r.meanDirect)}, mean transitive reach ${fmtPct(r.meanTransitive)}, sources reaching crown jewels ${fmtPct(r.sourcesReachingCrownJewels)}`
}

/** The rollout's progress as one sentence (`enforced` baseline). */
function rolloutText(r: RolloutProgress): string {
  return `open lateral paths ${fmtPct(r.openLateralPaths)}, open source-destination pairs ${fmtPct(r.openPairs)}, mean transitive reach ${fmtPct(r.meanTransitive)}, sources reaching crown jewels ${fmtPct(r.sourcesReachingCrownJewels)}`
}

/**
 * The comparison sentences of a summary (the compared baseline, the reduction, the policy target,
 * its reduction, the rollout), each present only when the summary has it; the same figures in
 * text and Markdown. `name` writes a baseline's label.
 */
function comparisonSentences(
  s: BlastRadiusResult['summary'],
  name: (label: string) => string,
): string[] {
  const out: string[] = []
  const c = s.comparedWith
  if (c)
    out.push(
      `${name(c.label)}: open lateral paths ${c.openLateralPaths}, transitive mean ${c.meanTransitive}, sources reaching crown jewels ${c.sourcesReachingCrownJewels}`,
    )
  if (s.reduction) out.push(reductionText(s.reduction))
  const t = s.target
  if (t)
    out.push(
      `target ${name(t.label)} (every workload enforcing): open lateral paths ${t.openLateralPaths}, transitive mean ${t.meanTransitive}, sources reaching crown jewels ${t.sourcesReachingCrownJewels}`,
    )
  if (s.targetReduction) out.push(reductionText(s.targetReduction))
  if (s.rollout)
    out.push(`rollout, share of the target's reduction in force: ${rolloutText(s.rollout)}`)
  return out
}

/** A plain-text report: summary, the largest blast radii, and paths to crown jewels. `limit` sources listed. */
export function renderBlastRadiusText(result: BlastRadiusResult, limit = 20): string {
  const s = result.summary
  const lines = [
    `baseline ${result.baseline} at ${result.at}${result.exploitable ? `, exploitable ${result.exploitable}` : ''}${result.hops !== null ? `, at most ${counted(result.hops, 'hop')}` : ''}`,
    `${counted(result.workloads, 'active workload')}, ${counted(s.sources, 'source')}, ${counted(result.crownJewels.length, 'crown jewel')}`,
    `open lateral paths ${s.openLateralPaths} (${counted(s.openPairs, 'source-destination pair')}); direct reach mean ${s.meanDirect} max ${s.maxDirect}; transitive reach mean ${s.meanTransitive} max ${s.maxTransitive}`,
    `sources reaching a crown jewel: ${s.sourcesReachingCrownJewels}`,
  ]
  lines.push(...comparisonSentences(s, (label) => label))
  lines.push('', 'WORKLOAD\tDIRECT\tTRANSITIVE\tSERVICES\tCROWN-JEWELS')
  for (const src of result.sources.slice(0, limit))
    lines.push(
      `${src.workload}\t${src.direct}\t${src.transitive}\t${src.directServices}\t${src.crownJewelsReached}`,
    )
  if (result.sources.length > limit)
    lines.push(`... ${result.sources.length - limit} more (use -o json)`)
  const allWithPaths = result.sources.filter((x) => x.paths.length > 0)
  const withPaths = allWithPaths.slice(0, limit)
  if (withPaths.length > 0) {
    lines.push('', 'paths to crown jewels:')
    for (const src of withPaths)
      for (const p of src.paths)
        lines.push(
          `  ${p.path.map((w, i) => (i === 0 ? w : `-[${p.services[i - 1] ?? ''}]-> ${w}`)).join(' ')}`,
        )
    if (allWithPaths.length > limit)
      lines.push(
        `... paths of ${counted(allWithPaths.length - limit, 'more source')} (use -o json)`,
      )
  }
  return `${lines.join('\n')}\n`
}

/** A Markdown report (summary table, sources table, paths); workload names escaped for the table. */
export function renderBlastRadiusMd(result: BlastRadiusResult, limit = 50): string {
  const s = result.summary
  const lines = [
    `# Blast radius (${result.baseline})`,
    '',
    '| figure | value |',
    '| --- | --- |',
    `| active workloads | ${result.workloads} |`,
    `| sources | ${s.sources} |`,
    `| crown jewels | ${result.crownJewels.length} |`,
    `| open lateral paths | ${s.openLateralPaths} |`,
    `| open source-destination pairs | ${s.openPairs} |`,
    `| direct reach (mean / max) | ${s.meanDirect} / ${s.maxDirect} |`,
    `| transitive reach (mean / max) | ${s.meanTransitive} / ${s.maxTransitive} |`,
    `| sources reaching crown jewels | ${s.sourcesReachingCrownJewels} |`,
  ]
  const comparison = comparisonSentences(s, (label) => `\`${label}\``)
  if (comparison.length > 0)
    lines.push('', ...comparison.map((x) => `- ${x.charAt(0).toUpperCase()}${x.slice(1)}.`))
  lines.push(
    '',
    '| workload | direct | transitive | services | crown jewels |',
    '| --- | --- | --- | --- | --- |',
  )
  for (const src of result.sources.slice(0, limit))
    lines.push(
      `| ${mdText(src.workload)} | ${src.direct} | ${src.transitive} | ${src.directServices} | ${src.crownJewelsReached} |`,
    )
  if (result.sources.length > limit)
    lines.push(
      '',
      `… ${counted(result.sources.length - limit, 'more source')}: \`-o json\` has them all.`,
    )
  const allWithPaths = result.sources.filter((x) => x.paths.length > 0)
  const withPaths = allWithPaths.slice(0, limit)
  if (withPaths.length > 0) {
    lines.push('', '## Paths to crown jewels', '')
    for (const src of withPaths)
      for (const p of src.paths)
        lines.push(
          `- ${p.path.map((w) => mdCode(w, false)).join(' → ')} (${mdText(p.services.join('; '))})`,
        )
    if (allWithPaths.length > limit)
      lines.push(
        '',
        `… the paths of ${counted(allWithPaths.length - limit, 'more source')}: \`-o json\` has them all.`,
      )
  }
  return `${lines.join('\n')}\n`
}

const q = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`

/**
 * Graphviz DOT: every workload on a listed path, crown jewels as double octagons, path hops in
 * red with their services. With at most `maxEdges` node-level edges, the rest of the graph is
 * drawn in grey between the first members of each node.
 */
export function renderBlastRadiusDot(result: BlastRadiusResult, maxEdges = 400): string {
  const lines = [
    'digraph blast_radius {',
    '  rankdir=LR;',
    '  node [shape=box, fontname="Helvetica"];',
  ]
  const jewels = new Set(result.crownJewels)
  const nodes = new Set<string>()
  const hot = new Map<string, string>()
  for (const src of result.sources)
    for (const p of src.paths)
      p.path.forEach((w, i) => {
        nodes.add(w)
        if (i > 0) hot.set(`${p.path[i - 1] ?? ''}\u0000${w}`, p.services[i - 1] ?? '')
      })
  const g = result.graph
  const grey: [string, string, string][] = []
  if (g) {
    if (edgeCount(g) <= maxEdges) {
      for (let a = 0; a < g.members.length; a++) {
        const an = g.workloads[g.members[a]?.[0] ?? -1]?.name
        if (an === undefined) continue
        forEachEdge(g, a, (b, s) => {
          if (a === b) return
          const bn = g.workloads[g.members[b]?.[0] ?? -1]?.name
          if (bn === undefined || hot.has(`${an}\u0000${bn}`)) return
          nodes.add(an)
          nodes.add(bn)
          grey.push([an, bn, reachServiceText(s)])
        })
      }
    }
  }
  for (const n of [...nodes].sort())
    lines.push(`  ${q(n)}${jewels.has(n) ? ' [shape=doubleoctagon, color=red]' : ''};`)
  for (const [a, b, s] of grey) lines.push(`  ${q(a)} -> ${q(b)} [color=grey, label=${q(s)}];`)
  for (const [k, s] of hot) {
    const [a, b] = k.split('\u0000') as [string, string]
    lines.push(`  ${q(a)} -> ${q(b)} [color=red, penwidth=2, label=${q(s)}];`)
  }
  lines.push('}')
  return `${lines.join('\n')}\n`
}
