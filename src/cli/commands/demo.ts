/**
 * @module `bulkhead demo [--dir examples/demo] [--out DIR]`: the whole job on the demo estate, in
 * process, with a progress line per step — ingest → discover → recommend → validate/lint →
 * simulate (training flows, then the intrusion day) → compile (nftables for the VMs, Kubernetes
 * NetworkPolicy and Cilium for the cluster) → blast radius flat vs recommended — and one
 * self-contained HTML report.
 * @remarks Issue 10 items 1–2. Every step calls the same core functions as its own verb; the
 * store is created afresh under the out folder on every run, so reruns give the same report.
 */
import { copyFileSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Command } from 'commander'
import {
  BulkheadError,
  counted,
  DAY_MS,
  formatDiagnostic,
  formatRuleRef,
  type Diagnostic,
  type Inventory,
  type Policy,
  type PolicySet,
} from '../../core/index.js'
import {
  answerBlastRadius,
  type BlastRadiusFigures,
  type BlastRadiusResult,
} from '../../analyze/index.js'
import { renderHtml, type DependencyMap, type EdgePattern } from '../../discover/index.js'
import { lint, type LintFinding } from '../../policy/lint.js'
import { loadWorkspace } from '../../policy/files.js'
import { PolicyIndex } from '../../policy/policy-index.js'
import { Simulator } from '../../policy/simulate.js'
import {
  FLAGGED_PATTERNS,
  recommend,
  renderRecommendation,
  type RecommendReport,
} from '../../recommend/index.js'
import { loadDependencyMap } from '../dependency-map.js'
import { makeDirectory, UsageError } from '../output.js'
import { cytoscapeSource } from './discover.js'
import { compileDemoTargets, type DemoTargetResult } from './demo-targets.js'
import { expandGlob, ingestFiles, type IngestJob, type IngestOutput } from './ingest.js'
import { loadOrThrow } from '../workspace.js'
import { feedFlows, simulateOutput, type SimulateOutput } from './simulate.js'

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** The demo workspace folder (holds bulkhead.yaml). Default `examples/demo`. */
  readonly dir?: string
  /** Where the store, policy, compiled artefacts and report go. Default `<dir>/out`. */
  readonly out?: string
  /** Receives one progress line per step (without newline). Default: stderr. */
  readonly log?: (line: string) => void
}

/** Blast-radius figures of one baseline, as the report shows them. */
export interface DemoBlastFigures {
  readonly openLateralPaths: number
  readonly openPairs: number
  readonly meanTransitive: number
  readonly sourcesReachingCrownJewels: number
}

/** What {@link runDemo} did: the figures of every step and where the files are. Stable. */
export interface DemoResult {
  readonly out: string
  readonly report: string
  readonly ingest: Pick<IngestOutput, 'files' | 'records' | 'formats' | 'skipped' | 'seconds'>
  readonly map: {
    readonly entities: number
    readonly edges: number
    readonly window: { start: string; end: string }
  }
  readonly recommend: RecommendReport['totals'] & {
    readonly written: readonly string[]
    /** The recommendation's warnings (time patterns, short window), `recommend/*` codes. */
    readonly warnings: readonly Diagnostic[]
    /** Rules from edges with a rhythm (month-end, weekly, rare, once), with their evidence. */
    readonly rhythms: readonly DemoRhythmRule[]
  }
  readonly validate: { readonly errors: number; readonly warnings: number }
  readonly lint: { readonly errors: number; readonly warnings: number }
  /** Training flows judged against the recommended policy. */
  readonly training: SimulateOutput
  /** The intrusion day's flow files judged against the recommended policy. */
  readonly intrusion: SimulateOutput
  readonly compile: {
    /** Every file written, relative to the out folder (`<target>/<file>`). */
    readonly artefacts: readonly string[]
    /** Compiler warnings over all targets. */
    readonly warnings: number
    /** Per target: the workloads it enforces, its rules, files and what it could not express. */
    readonly targets: readonly DemoTargetResult[]
  }
  readonly blastRadius: {
    readonly flat: DemoBlastFigures
    readonly recommended: DemoBlastFigures
    /** Reduction in percent (null when the flat figure is 0). */
    readonly reduction: Readonly<Record<keyof DemoBlastFigures, number | null>>
  }
  readonly seconds: number
}

/** A recommended rule from an edge with a rhythm, and the evidence written on it. */
export interface DemoRhythmRule {
  readonly policy: string
  readonly id: string
  readonly pattern: EdgePattern
  readonly service: string
  readonly flows: number
  readonly activeDays: number
  readonly firstSeen: string
  readonly lastSeen: string
}

const figures = (r: BlastRadiusFigures): DemoBlastFigures => ({
  openLateralPaths: r.openLateralPaths,
  openPairs: r.openPairs,
  meanTransitive: r.meanTransitive,
  sourcesReachingCrownJewels: r.sourcesReachingCrownJewels,
})

const pct = (a: number, b: number): number | null =>
  a === 0 ? null : Math.round(((a - b) / a) * 1000) / 10

/**
 * Runs the demo pipeline on the workspace in `options.dir` and writes `<out>/report.html`.
 * The out folder's store, policy/ and nftables/ are deleted and recreated first.
 * @throws UsageError when the folder is not a demo workspace (no bulkhead.yaml, no sources, no
 *   `flows/intrusion/`); BulkheadError when a step fails (invalid workspace, no flows, a
 *   recommended policy that does not load, a rule nftables cannot express).
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const t0 = performance.now()
  const dir = path.resolve(options.dir ?? 'examples/demo')
  const out = path.resolve(options.out ?? path.join(dir, 'out'))
  const log = options.log ?? ((l: string) => process.stderr.write(`${l}\n`))
  const step = (n: number, name: string, text: string): void =>
    log(`[${n}/8] ${name.padEnd(12)} ${text}`)
  if (!existsSync(path.join(dir, 'bulkhead.yaml')))
    throw new UsageError(`${dir} has no bulkhead.yaml`, 'run npm run demo:generate, or pass --dir')
  const intrusionDir = path.join(dir, 'flows', 'intrusion')
  if (!existsSync(intrusionDir))
    throw new UsageError(`${dir} has no flows/intrusion/ folder`, 'run npm run demo:generate')

  // a fresh out folder: the store and every artefact of the previous run go
  for (const sub of [
    'store.duckdb',
    'store.duckdb.wal',
    'policy',
    'nftables',
    'kubernetes',
    'cilium',
    'report.html',
  ])
    rmSync(path.join(out, sub), { recursive: true, force: true })
  makeDirectory(out)
  const storePath = path.join(out, 'store.duckdb')

  const loaded = await loadWorkspace(dir, new Date())
  const loadErrors = loaded.diagnostics.filter((d) => d.severity === 'error')
  if (loadErrors.length > 0) throw new BulkheadError(loaded.diagnostics)
  const workspace = { ...loaded.workspace, store: storePath }
  const inventory = loaded.inventory

  // 1. ingest the training sources
  const jobs: IngestJob[] = []
  for (const s of workspace.sources)
    for (const file of expandGlob(s.path))
      jobs.push({
        file,
        format: s.format as IngestJob['format'],
        ...(s.fields ? { fields: s.fields } : {}),
      })
  if (jobs.length === 0) throw new UsageError(`${dir}: the workspace sources match no file`)
  const ingested = await ingestFiles(jobs, storePath, { strict: false, progress: false })
  if (ingested.failed.length > 0) throw new BulkheadError(ingested.diagnostics)
  step(
    1,
    'ingest',
    `${counted(ingested.records, 'flow')} from ${counted(ingested.files, 'file')} (${Object.entries(
      ingested.formats,
    )
      .map(([f, n]) => `${f} ${n}`)
      .join(', ')}) in ${ingested.seconds.toFixed(1)} s`,
  )

  // 2. discover
  const map = await loadDependencyMap(workspace, inventory, { expect: [] })
  const at = map.window.end
  step(
    2,
    'discover',
    `${counted(map.entities.length, 'entity', 'entities')}, ${counted(map.edges.length, 'edge')} over ${counted(Math.round((map.window.end - map.window.start) / DAY_MS), 'day')}`,
  )

  // 3. recommend into out/policy, with the workspace's enforcement file beside it
  // the estate has a month-end batch: ask recommend to say whether the window can show it
  const rec = recommend(map, inventory, { granularity: 'identity', expect: ['monthly'] })
  const policyDir = path.join(out, 'policy')
  makeDirectory(policyDir)
  const written: string[] = []
  for (const [file, text] of renderRecommendation(rec)) {
    writeFileSync(path.join(policyDir, file), text)
    written.push(path.join(policyDir, file))
  }
  for (const f of readdirSync(workspace.policy).filter((f) => /\.ya?ml$/i.test(f)))
    copyFileSync(path.join(workspace.policy, f), path.join(policyDir, f))
  const t = rec.report.totals
  step(
    3,
    'recommend',
    `${counted(t.rules, 'rule')} in ${counted(t.policies, 'policy', 'policies')} cover ${(t.coverage * 100).toFixed(1)} % of ${counted(t.flows, 'flow')} -> ${path.relative(process.cwd(), policyDir)}`,
  )
  const rhythms = rhythmRules(rec.policies, rec.report.rules)
  // on the terminal only the rules a reviewer must confirm (month-end, weekly, rare, once)
  for (const q of rhythms.filter((q) => FLAGGED_PATTERNS.has(q.pattern)))
    log(
      `               ${q.pattern} rule ${q.policy}/${q.id}: ${counted(q.flows, 'flow')} on ${counted(q.activeDays, 'day')}, ${q.firstSeen} – ${q.lastSeen}`,
    )
  for (const d of rec.report.diagnostics.filter((d) => d.code === 'recommend/short-window'))
    log(`               ${formatDiagnostic(d)}`)

  // 4. validate and lint the recommended policy (loading it is the validation)
  const runLoad = await loadOrThrow(dir, new Date(at), policyDir)
  const policySet = runLoad.policySet
  const validate = {
    errors: 0,
    warnings: runLoad.diagnostics.filter((d) => d.severity === 'warning').length,
  }
  const training = await simulateOn(policySet, inventory, at, { files: [] }, storePath)
  const hits = new Map(training.rules.map((r) => [r.rule, r.hits]))
  const findings = lint(inventory, policySet, { now: at, hits })
  const lintCounts = {
    errors: findings.filter((f) => f.severity === 'error').length,
    warnings: findings.filter((f) => f.severity === 'warning').length,
  }
  step(
    4,
    'validate',
    `valid (${counted(validate.warnings, 'warning')}); lint: ${counted(lintCounts.errors, 'error')}, ${counted(lintCounts.warnings, 'warning')}`,
  )

  // 5. simulate: training flows, then the intrusion day
  step(
    5,
    'simulate',
    `training: ${counted(training.flows, 'flow')}, ${training.outcomes.allowed} allowed, ${training.wouldBlockIfEnforced} would be blocked`,
  )
  const intrusionFiles = expandGlob(path.join(intrusionDir, '**', '*.gz'))
  const intrusion = await simulateOn(policySet, inventory, at, { files: intrusionFiles }, storePath)
  step(
    6,
    'intrusion',
    `${counted(intrusion.flows, 'flow')} on the intrusion day: ${intrusion.outcomes.blocked} blocked, ${intrusion.outcomes['would-be-blocked']} would-be-blocked, ${intrusion.alreadyRejected} already rejected where observed, on ${counted(intrusion.denied.length, 'edge')}`,
  )
  const lateral = lateralMovement(intrusion)
  for (const e of lateral.slice(0, 8))
    log(
      `               ${e.outcome.padEnd(16)} ${e.src.name} -> ${e.dst.name} ${e.service} (${counted(e.flows, 'flow')})`,
    )
  for (const s of scans(intrusion))
    log(
      `               scan: ${s.src} probed ${counted(s.targets, 'destination')} on ${counted(s.services.length, 'service')} (${counted(s.flows, 'flow')}, ${s.outcome})`,
    )
  if (intrusion.denied.length > 8)
    log(`               every denied edge (${intrusion.denied.length}) is in the report`)

  // 7. compile: nftables for the VMs, NetworkPolicy and Cilium for the pods
  const targets = compileDemoTargets(inventory, policySet, at)
  const artefacts: string[] = []
  for (const { result: tr, files } of targets) {
    const tdir = path.join(out, tr.target)
    makeDirectory(tdir)
    for (const a of files) {
      writeFileSync(path.join(tdir, a.path), a.content)
      artefacts.push(`${tr.target}/${a.path}`)
    }
  }
  step(
    7,
    'compile',
    targets
      .map(
        ({ result: tr }) =>
          `${tr.target}: ${counted(tr.artefacts.length, 'file')} for ${counted(tr.workloads.length, 'workload')} (${counted(tr.rules, 'rule')})` +
          (tr.notExpressed.length > 0 ? `, ${tr.notExpressed.length} NOT EXPRESSIBLE` : ''),
      )
      .join('; ') + ` -> ${path.relative(process.cwd(), out) || '.'}`,
  )
  for (const { result: tr } of targets)
    for (const n of tr.notExpressed) log(`               ${tr.target}: ${n.code} ${n.message}`)

  // 8. blast radius: flat network vs the recommended policy
  const blast = answerBlastRadius({ inventory, baseline: 'policy', policySet, at, maxPaths: 5 })
  const fromCompromised = answerBlastRadius({
    inventory,
    baseline: 'policy',
    policySet,
    at,
    maxPaths: 5,
    from: { kind: 'workload', name: 'pay-web-1', global: true },
  })
  const flatFig = figures(blast.summary.comparedWith ?? blast.summary)
  const recFig = figures(blast.summary)
  const reduction = {
    openLateralPaths: pct(flatFig.openLateralPaths, recFig.openLateralPaths),
    openPairs: pct(flatFig.openPairs, recFig.openPairs),
    meanTransitive: pct(flatFig.meanTransitive, recFig.meanTransitive),
    sourcesReachingCrownJewels: pct(
      flatFig.sourcesReachingCrownJewels,
      recFig.sourcesReachingCrownJewels,
    ),
  }
  step(
    8,
    'blast-radius',
    `open lateral paths ${flatFig.openLateralPaths} -> ${recFig.openLateralPaths} (-${reduction.openLateralPaths ?? 0} %), mean transitive reach ${flatFig.meanTransitive.toFixed(1)} -> ${recFig.meanTransitive.toFixed(1)}`,
  )

  const result: DemoResult = {
    out,
    report: path.join(out, 'report.html'),
    ingest: {
      files: ingested.files,
      records: ingested.records,
      formats: ingested.formats,
      skipped: ingested.skipped,
      seconds: ingested.seconds,
    },
    map: {
      entities: map.entities.length,
      edges: map.edges.length,
      window: { start: iso(map.window.start), end: iso(map.window.end) },
    },
    recommend: { ...t, written, warnings: rec.report.diagnostics, rhythms },
    validate,
    lint: lintCounts,
    training,
    intrusion,
    compile: {
      artefacts,
      warnings: targets.reduce((n, x) => n + x.result.warnings.length, 0),
      targets: targets.map((x) => x.result),
    },
    blastRadius: { flat: flatFig, recommended: recFig, reduction },
    seconds: (performance.now() - t0) / 1000,
  }
  writeFileSync(
    result.report,
    renderDemoReport(result, {
      map,
      rules: rec.report.rules,
      findings,
      policies: [...renderRecommendation(rec)],
      files: targets.flatMap(({ result: tr, files }) =>
        tr.target === 'nftables'
          ? []
          : files.map((f) => [`${tr.target}/${f.path}`, f.content] as const),
      ),
      paths: fromCompromised,
      largest: blast.summary.largest,
    }),
  )
  log(
    `report: ${path.relative(process.cwd(), result.report) || result.report} (${result.seconds.toFixed(1)} s in all)`,
  )
  return result
}

const iso = (ms: number): string => new Date(ms).toISOString()

/**
 * The recommended rules whose edge has a rhythm (pattern other than `continuous`), with the
 * evidence recommend wrote on them (flows, active days, first and last seen).
 */
export function rhythmRules(
  policies: readonly Policy[],
  rules: RecommendReport['rules'],
): DemoRhythmRule[] {
  const out: DemoRhythmRule[] = []
  for (const q of rules) {
    if (q.pattern === 'continuous') continue
    const ev = policies.find((p) => p.name === q.policy)?.rules.find((r) => r.id === q.id)?.evidence
    const text = (k: string): string => {
      const v = ev?.[k]
      if (v instanceof Date) return v.toISOString()
      return typeof v === 'string' || typeof v === 'number' ? String(v) : ''
    }
    out.push({
      policy: q.policy,
      id: q.id,
      pattern: q.pattern,
      service: q.service,
      flows: q.flows,
      activeDays: Number(ev?.['activeDays'] ?? 0),
      firstSeen: text('firstSeen'),
      lastSeen: text('lastSeen'),
    })
  }
  return out
}

type DeniedEdgeOut = SimulateOutput['denied'][number]

/**
 * The denied edges that are lateral movement beyond a probe: to a workload, a named external or
 * the internet, with more than one flow; most flows first.
 */
export function lateralMovement(o: SimulateOutput): DeniedEdgeOut[] {
  return o.denied
    .filter(isLateral)
    .sort((a, b) => b.flows - a.flows || (a.dst.name < b.dst.name ? -1 : 1))
}

const isLateral = (e: DeniedEdgeOut): boolean =>
  e.flows > 1 && (e.dst.kind !== 'unmanaged' || e.dst.name === 'internet')

/** A scan: one source with denied single-flow probes to many (destination, service) pairs. */
export interface Scan {
  readonly src: string
  /** Distinct destination entities probed (workloads and unmanaged ranges). */
  readonly targets: number
  readonly services: readonly string[]
  readonly flows: number
  readonly outcome: string
}

/**
 * Scans among the denied edges that are not {@link lateralMovement} (single probes, or sweeps of
 * unmanaged ranges): sources with at least 10 such edges on at least 3 services.
 */
export function scans(o: SimulateOutput): Scan[] {
  const by = new Map<string, DeniedEdgeOut[]>()
  for (const e of o.denied) {
    if (isLateral(e)) continue
    const list = by.get(e.src.name) ?? []
    list.push(e)
    by.set(e.src.name, list)
  }
  const out: Scan[] = []
  for (const [src, edges] of by) {
    const services = [...new Set(edges.map((e) => e.service))].sort()
    if (edges.length < 10 || services.length < 3) continue
    out.push({
      src,
      targets: new Set(edges.map((e) => e.dst.name)).size,
      services,
      flows: edges.reduce((n, e) => n + e.flows, 0),
      outcome: edges.some((e) => e.outcome === 'blocked') ? 'blocked' : (edges[0]?.outcome ?? ''),
    })
  }
  return out.sort((a, b) => b.flows - a.flows)
}

async function simulateOn(
  policySet: PolicySet,
  inventory: Inventory,
  at: number,
  input: { files: readonly string[] },
  storePath: string,
): Promise<SimulateOutput> {
  const index = PolicyIndex.build(inventory, policySet, at)
  const sim = new Simulator(index, inventory, at, { examplesPerEdge: 3, policySet })
  const flowInput = { files: input.files, format: 'auto' as const }
  const fed = await feedFlows(sim, index, flowInput, storePath)
  return simulateOutput(sim.report(), fed, flowInput)
}

// --- the report ------------------------------------------------------------------------------------

interface ReportExtras {
  readonly map: DependencyMap
  readonly rules: RecommendReport['rules']
  readonly findings: readonly LintFinding[]
  readonly policies: readonly (readonly [string, string])[]
  /** The cluster targets' manifests: (`<target>/<file>`, content). */
  readonly files: readonly (readonly [string, string])[]
  readonly paths: BlastRadiusResult
  readonly largest: BlastRadiusResult['summary']['largest']
}

const esc = (s: unknown): string =>
  String(s)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;')

/**
 * A table cell. Text over {@link LONG_CELL} characters may break anywhere (`class="long"`): a
 * selector's CIDR list (`0.0.0.0/0 except 10.0.0.0/8,…`) has no space to wrap at and pushed the
 * rules table to 2 948 px; short cells keep their words whole.
 */
function cell(c: unknown): string {
  const text = String(c)
  return `<td${text.length > LONG_CELL ? ' class="long"' : ''}>${esc(text)}</td>`
}

const LONG_CELL = 40

function table(id: string, head: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return (
    `<table id="${id}"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('') +
    '</tbody></table>'
  )
}

const fmt = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: 1 })

/**
 * Renders the self-contained report: summary figures, the dependency map (the `discover -o html`
 * page in an iframe, Cytoscape inlined), the proposed rules with evidence, lint findings, the
 * simulation of the training flows and of the intrusion day, the nftables rulesets and the
 * blast-radius figures and paths. No request leaves the file. Figures are also on `<body>` as
 * `data-*` attributes for tests.
 */
export function renderDemoReport(r: DemoResult, x: ReportExtras): string {
  const mapPage = renderHtml(x.map, cytoscapeSource(), 'Demo estate: dependency map')
  const b = r.blastRadius
  const cards: [string, string, string][] = [
    ['flows', fmt(r.ingest.records), `ingested from ${counted(r.ingest.files, 'file')}`],
    ['edges', fmt(r.map.edges), `between ${counted(r.map.entities, 'entity', 'entities')}`],
    [
      'rules',
      fmt(r.recommend.rules),
      `in ${counted(r.recommend.policies, 'policy', 'policies')}, ${(r.recommend.coverage * 100).toFixed(1)} % coverage`,
    ],
    [
      'training-blocked',
      fmt(r.training.wouldBlockIfEnforced),
      'training flows the policy would block',
    ],
    [
      'intrusion-blocked',
      fmt(r.intrusion.outcomes.blocked),
      `intrusion-day flows blocked on ${counted(r.intrusion.denied.length, 'edge')}`,
    ],
    [
      'lateral-reduction',
      `${b.reduction.openLateralPaths ?? 0} %`,
      `fewer open lateral paths (${fmt(b.flat.openLateralPaths)} → ${fmt(b.recommended.openLateralPaths)})`,
    ],
  ]
  const data = {
    'data-flows': r.ingest.records,
    'data-rules': r.recommend.rules,
    'data-training-blocked': r.training.wouldBlockIfEnforced,
    'data-intrusion-blocked': r.intrusion.outcomes.blocked,
    'data-intrusion-edges': r.intrusion.denied.length,
    'data-flat-paths': b.flat.openLateralPaths,
    'data-policy-paths': b.recommended.openLateralPaths,
  }
  const outcomes = (o: SimulateOutput): (string | number)[][] => [
    ['flows judged', o.flows],
    ['allowed', o.outcomes.allowed],
    ['blocked', o.outcomes.blocked],
    ['would-be-blocked', o.outcomes['would-be-blocked']],
    ['unenforced', o.outcomes.unenforced],
    ['denied with a workload on either side', o.wouldBlockIfEnforced],
  ]
  const denied = (o: SimulateOutput): string =>
    table(
      'intrusion-edges',
      ['outcome', 'from', 'to', 'service', 'flows', 'first seen', 'denied by', 'example'],
      o.denied.map((e) => [
        e.outcome,
        e.src.name,
        e.dst.name,
        e.service,
        e.flows,
        e.firstSeen,
        e.deniedBy.join(', '),
        e.examples[0] ? path.basename(e.examples[0].where) : '',
      ]),
    )
  const blastRows = (
    [
      ['open lateral paths (source, destination, service)', 'openLateralPaths'],
      ['open workload pairs', 'openPairs'],
      ['mean transitive reach (workloads)', 'meanTransitive'],
      ['sources reaching a crown jewel', 'sourcesReachingCrownJewels'],
    ] as const
  ).map(([label, k]) => [
    label,
    fmt(b.flat[k]),
    fmt(b.recommended[k]),
    b.reduction[k] === null ? '–' : `${b.reduction[k]} %`,
  ])
  const src = x.paths.sources[0]
  const pathRows = (src?.paths ?? []).map((p) => [
    p.to,
    p.hops,
    p.path.join(' → '),
    p.services.join(' | '),
  ])
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bulkhead demo report</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:1em 2em;color:#1b1f24}
h1{margin-bottom:.2em}h2{margin-top:2em;border-bottom:1px solid #ddd}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px}
.card{border:1px solid #ccd;border-radius:8px;padding:10px}.card b{display:block;font-size:1.8em}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}td.long{overflow-wrap:anywhere}
th{background:#f3f4f6}td{font-variant-numeric:tabular-nums}
iframe{width:100%;height:720px;border:1px solid #ccd}pre{background:#f6f8fa;padding:8px;overflow:auto;max-height:400px}
.blocked{color:#b00020;font-weight:600}
</style></head>
<body ${Object.entries(data)
    .map(([k, v]) => `${k}="${esc(v)}"`)
    .join(' ')}>
<h1>Bulkhead demo report</h1>
<p>Estate: Online Boutique (pods in the Kubernetes namespace boutique, Hubble flows), payments on AWS VMs
(VPC flow logs), data-center services (Zeek). Training window ${esc(r.map.window.start)} – ${esc(r.map.window.end)}; the report took
${r.seconds.toFixed(1)} s to produce.</p>
<section id="sec-summary"><h2>Summary</h2><div class="cards">
${cards.map(([id, v, l]) => `<div class="card" id="fig-${id}"><b>${esc(v)}</b>${esc(l)}</div>`).join('\n')}
</div>
${table('ingest', ['format', 'flows'], Object.entries(r.ingest.formats))}
</section>
<section id="sec-map"><h2>Dependency map</h2>
<p>${counted(r.map.entities, 'entity', 'entities')}, ${counted(r.map.edges, 'edge')}. Click an edge for its evidence.</p>
<iframe id="map-frame" title="dependency map" srcdoc="${esc(mapPage)}"></iframe></section>
<section id="sec-policy"><h2>Proposed policy</h2>
<p>${counted(r.recommend.rules, 'rule')} in ${counted(r.recommend.policies, 'policy', 'policies')}, covering ${(r.recommend.coverage * 100).toFixed(1)} % of
${counted(r.recommend.flows, 'observed flow', 'observed flows', fmt(r.recommend.flows))}. Validation: ${counted(r.validate.errors, 'error')}, ${counted(r.validate.warnings, 'warning')}.
Lint: ${counted(r.lint.errors, 'error')}, ${counted(r.lint.warnings, 'warning')}.</p>
${table(
  'rules',
  ['policy', 'rule', 'from', 'to', 'service', 'flows (evidence)', 'pattern', 'flags'],
  x.rules.map((q) => [
    q.policy,
    q.id,
    q.from,
    q.to,
    q.service,
    q.flows,
    q.pattern,
    q.flags.join(', '),
  ]),
)}
<h3>Rules from rhythmic edges</h3>
<p>Edges seen on a few days only (the month-end settlement batch, nightly jobs): each rule keeps its
evidence so that a reviewer can confirm it is still needed.</p>
${table(
  'rhythms',
  ['policy', 'rule', 'pattern', 'service', 'flows', 'active days', 'first seen', 'last seen'],
  r.recommend.rhythms.map((q) => [
    q.policy,
    q.id,
    q.pattern,
    q.service,
    q.flows,
    q.activeDays,
    q.firstSeen,
    q.lastSeen,
  ]),
)}
<h3>Recommendation warnings</h3>
${table(
  'recommend-warnings',
  ['code', 'message'],
  r.recommend.warnings.map((d) => [d.code, d.message]),
)}
<h3>Lint findings</h3>
${table(
  'lint',
  ['severity', 'code', 'rule', 'message'],
  x.findings.map((f) => [f.severity, f.code, f.rule ? formatRuleRef(f.rule) : '', f.message]),
)}
<details><summary>Policy files (${x.policies.length})</summary>
${x.policies.map(([f, text]) => `<h4>${esc(f)}</h4><pre>${esc(text)}</pre>`).join('\n')}
</details></section>
<section id="sec-simulation"><h2>Simulation</h2>
<h3>Training flows</h3>
${table('training', ['', 'flows'], outcomes(r.training))}
<h3>Intrusion day</h3>
<p>pay-web-1 is compromised: it scans the payments subnets and moves laterally. The recommended
policy denies <span class="blocked">${fmt(r.intrusion.outcomes.blocked)}</span> of its flows (blocked
where the enforcement mode is enforce).</p>
${table('intrusion', ['', 'flows'], outcomes(r.intrusion))}
<h4>Lateral movement</h4>
${table(
  'lateral',
  ['outcome', 'from', 'to', 'service', 'flows', 'first seen'],
  lateralMovement(r.intrusion).map((e) => [
    e.outcome,
    e.src.name,
    e.dst.name,
    e.service,
    e.flows,
    e.firstSeen,
  ]),
)}
<h4>Scans</h4>
${table(
  'scans',
  ['source', 'destinations probed', 'services', 'flows', 'outcome'],
  scans(r.intrusion).map((s) => [s.src, s.targets, s.services.join(', '), s.flows, s.outcome]),
)}
<h4>Every denied edge</h4>
${denied(r.intrusion)}
</section>
<section id="sec-compile"><h2>Enforcement</h2>
<p>The recommended policy compiled for each workload to the target that can enforce it: nftables on the
VMs and hosts, Kubernetes NetworkPolicy and Cilium policies in the cluster. A target that cannot express
a rule (or a workload's enforcement mode) writes nothing and lists it here.</p>
${table(
  'targets',
  [
    'target',
    'workloads',
    'rules enforced',
    'rules for other targets',
    'files',
    'warnings',
    'not expressible',
  ],
  r.compile.targets.map((tr) => [
    tr.target,
    tr.workloads.length,
    tr.rules,
    tr.otherRules,
    tr.artefacts.length,
    tr.warnings.length,
    tr.notExpressed.length === 0 ? 'none' : tr.notExpressed.map((n) => n.what).join(', '),
  ]),
)}
${table(
  'artefacts',
  ['target', 'file', 'enforces for'],
  r.compile.targets.flatMap((tr) =>
    tr.artefacts.map((a) => [
      tr.target,
      `${tr.target}/${a}`,
      tr.target === 'nftables' ? a.replace(/\.nft$/, '') : tr.workloads.join(', '),
    ]),
  ),
)}
${
  r.compile.targets.some((tr) => tr.notExpressed.length > 0)
    ? table(
        'not-expressible',
        ['target', 'rule or workload', 'code', 'message'],
        r.compile.targets.flatMap((tr) =>
          tr.notExpressed.map((n) => [tr.target, n.what, n.code, n.message]),
        ),
      )
    : ''
}
${x.files.map(([f, text]) => `<details><summary>${esc(f)}</summary><pre>${esc(text)}</pre></details>`).join('\n')}
</section>
<section id="sec-blast"><h2>Blast radius</h2>
${table('blast', ['figure', 'flat network', 'recommended policy', 'reduction'], blastRows)}
<h3>Largest remaining blast radius</h3>
${table(
  'largest',
  ['workload', 'transitive', 'direct'],
  x.largest.map((l) => [l.workload, l.transitive, l.direct]),
)}
<h3>Paths from pay-web-1 to crown jewels under the policy</h3>
${pathRows.length > 0 ? table('paths', ['crown jewel', 'hops', 'path', 'services'], pathRows) : '<p id="paths">No crown jewel is reachable from pay-web-1.</p>'}
</section>
</body></html>
`
}

/** Registers `demo`. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'run the whole job on the demo estate: ingest, discover, recommend, lint, simulate, compile, blast radius, HTML report',
    )
    .option('--dir <dir>', 'the demo workspace', 'examples/demo')
    .option(
      '--out <dir>',
      'where the store, policy, compiled artefacts and report go (default: <dir>/out)',
    )
    .addHelpText(
      'after',
      `
The out folder's store, policy/, nftables/, kubernetes/, cilium/ and report.html are recreated on
every run.

Examples:
  $ bulkhead demo                        # from the repository's root: --dir is examples/demo
  $ bulkhead demo --out /tmp/demo-out

Exit codes: 0 done, 1 usage or input error.`,
    )
    .action(async (opts: { dir: string; out?: string }) => {
      await runDemo({ dir: opts.dir, ...(opts.out !== undefined ? { out: opts.out } : {}) })
    })
}
