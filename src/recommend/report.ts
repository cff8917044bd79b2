/**
 * @module Text and Markdown rendering of a {@link RecommendReport} (issue 5 item 7); JSON is the
 * report itself. Pure.
 */
import { counted, formatDiagnostic, mdCode, mdText } from '../core/index.js'
import type { RecommendReport } from './types.js'

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`
}

/** Flagged rules: any flag (time pattern, port range, no owner). */
function flagged(report: RecommendReport): RecommendReport['rules'] {
  return report.rules.filter((r) => r.flags.length > 0)
}

/**
 * Renders the report as plain text: window, totals, one line per policy, over-permission, flagged
 * rules, excluded edges by reason, removal candidates and warnings.
 */
export function renderReportText(report: RecommendReport): string {
  const out: string[] = []
  const w = report.window
  out.push(
    `recommend: granularity ${report.granularity}, scope by ${report.scopeBy.join(',') || '(none)'}` +
      (w
        ? `, window ${w.start} – ${w.end} (${counted(w.days, 'day')})`
        : report.untimed
          ? ''
          : ', no flows') +
      (report.untimed ? `; ${counted(report.untimed, 'flow')} with no real time` : ''),
  )
  const t = report.totals
  out.push(
    `${counted(t.rules, 'rule')} in ${counted(t.policies, 'policy', 'policies')}; coverage ${pct(t.coverage)} of ${counted(t.flows, 'observed flow')} (${counted(t.edges, 'edge')})` +
      partlyDenied(t),
  )
  for (const p of report.policies) {
    out.push(
      `  ${p.file}: ${counted(p.rules, 'rule')}, owner ${p.owner}, coverage ${pct(p.coverage)}`,
    )
  }
  for (const o of report.overPermission) {
    out.push(
      `over-permission (${o.unit} pairs × ports): ${o.extra} of ${o.allowed} allowed never observed (${pct(o.share)})`,
    )
    for (const e of o.examples.slice(0, 5)) out.push(`  e.g. ${e}`)
  }
  for (const a of report.aggregated) out.push(`aggregated: ${a.cover} ⊇ ${a.blocks.join(', ')}`)
  const f = flagged(report)
  if (f.length > 0) {
    out.push(`flagged rules (${f.length}):`)
    for (const r of f) out.push(`  ${r.policy}/${r.id}: ${r.flags.join(', ')}`)
  }
  const reasons = new Map<string, { edges: number; flows: number }>()
  for (const e of report.excluded) {
    const c = reasons.get(e.reason) ?? { edges: 0, flows: 0 }
    reasons.set(e.reason, { edges: c.edges + 1, flows: c.flows + e.flows })
  }
  for (const [reason, c] of reasons)
    out.push(
      `no rule proposed (${reason}): ${counted(c.edges, 'edge')}, ${counted(c.flows, 'flow')}`,
    )
  if (report.removalCandidates.length > 0) {
    out.push(`existing rules no flow used (removal candidates, not deleted):`)
    for (const r of report.removalCandidates) out.push(`  ${r.policy}/${r.id}`)
  }
  for (const d of report.diagnostics) out.push(formatDiagnostic(d))
  return `${out.join('\n')}\n`
}

/** Renders the report as Markdown: a summary, a table of policies and one of flagged rules. */
export function renderReportMarkdown(report: RecommendReport): string {
  const out: string[] = ['# Recommended policy', '']
  const w = report.window
  const t = report.totals
  out.push(
    `Granularity **${report.granularity}**, scope by ${mdCode(report.scopeBy.join(','), false)}` +
      (w ? `, window ${w.start} – ${w.end} (${counted(w.days, 'day')})` : '') +
      (report.untimed ? `; ${counted(report.untimed, 'flow')} with no real time.` : '.'),
    '',
    `${counted(t.rules, 'rule', 'rules', `**${String(t.rules)}**`)} in ${counted(t.policies, 'policy', 'policies', `**${String(t.policies)}**`)} ${t.rules === 1 ? 'covers' : 'cover'} **${pct(t.coverage)}** of ${counted(t.flows, 'observed flow')}${partlyDenied(t)}.`,
    '',
    '| policy | rules | owner | coverage |',
    '| --- | ---: | --- | ---: |',
    ...report.policies.map(
      (p) => `| ${mdCode(p.file)} | ${p.rules} | ${mdText(p.owner)} | ${pct(p.coverage)} |`,
    ),
    '',
    '## Over-permission',
    '',
    '| unit | allowed | observed | never observed | share |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...report.overPermission.map(
      (o) => `| ${o.unit} | ${o.allowed} | ${o.observed} | ${o.extra} | ${pct(o.share)} |`,
    ),
  )
  const f = flagged(report)
  if (f.length > 0) {
    out.push('', '## Flagged rules', '', '| rule | flags | flows |', '| --- | --- | ---: |')
    for (const r of f)
      out.push(`| ${mdCode(`${r.policy}/${r.id}`)} | ${r.flags.join(', ')} | ${r.flows} |`)
  }
  if (report.removalCandidates.length > 0) {
    out.push('', '## Removal candidates', '')
    for (const r of report.removalCandidates) out.push(`- ${mdCode(`${r.policy}/${r.id}`, false)}`)
  }
  if (report.diagnostics.length > 0) {
    out.push('', '## Warnings', '')
    for (const d of report.diagnostics) out.push(`- ${mdText(formatDiagnostic(d))}`)
  }
  return `${out.join('\n')}\n`
}

/** The coverage caveat of edges partly under existing deny rules (`--merge`), or nothing. */
function partlyDenied(t: RecommendReport['totals']): string {
  const n = t.partlyDeniedFlows
  return n === undefined ? '' : `, ${n} of them on edges partly blocked by existing deny rules`
}
