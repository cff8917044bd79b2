/**
 * @module `bulkhead blast-radius`: reachability from each workload under a baseline (flat,
 * observed, policy, enforced), lateral movement, shortest paths to crown jewels, and the reduction
 * from one baseline to another. Maps flags to {@link answerBlastRadius}; no logic of its own.
 */
import type { Command } from 'commander'
import {
  BulkheadError,
  hasErrors,
  labelSet,
  parseCidr,
  parseLabel,
  parseService,
  ServiceSet,
  type Diagnostic,
  type Inventory,
  type Selector,
  type Service,
} from '../../core/index.js'
import { parseYamlFile } from '../../core/yaml-source.js'
import { parseSelector } from '../../policy/index.js'
import {
  answerBlastRadius,
  blastRadiusJson,
  blastSelectorWarnings,
  renderBlastRadiusDot,
  renderBlastRadiusMd,
  renderBlastRadiusText,
  type Baseline,
} from '../../analyze/index.js'
import { EXIT, printDiagnostics, toYaml, UsageError } from '../output.js'
import { loadDependencyMap } from '../dependency-map.js'
import {
  choiceOption,
  outputOption,
  timeOption,
  verb,
  wholeNumber,
  windowOptions,
} from '../usage.js'
import { loadOrThrow, windowOf } from '../workspace.js'

const FORMATS = ['text', 'json', 'yaml', 'md', 'dot']
const BASELINES: readonly Baseline[] = ['flat', 'observed', 'policy', 'enforced']

/**
 * Parses a workload selector as the CLI takes it: a selector as policy files write it, in YAML
 * flow style (`{app: pay, matchExpressions: [{key: env, operator: In, values: [prod]}]}`,
 * `{cidr: 10.0.0.0/8, except: [10.9.0.0/16]}`, `{external: bank-sftp}`; DESIGN.md "selector",
 * never scoped), or the short forms `k=v[,k=v...]` (labels), `cidr:BLOCK` or a bare block with
 * `/` (addresses), `any`, else a workload name; a name the inventory holds is a workload even
 * with a `/` in it (`shop/web[Deployment]`).
 * @throws BulkheadError `analyze/bad-selector` for a bad short form, `policy/unknown-workload`
 *   for a workload name the inventory does not hold (as the YAML form `{workload: NAME}` says:
 *   a typo must not quietly select no source); the policy loader's codes (`policy/bad-selector`,
 *   `policy/unknown-workload`, …) located at the flag's column for a bad YAML selector.
 */
export function parseWorkloadSelector(text: string, flag: string, inventory: Inventory): Selector {
  const t = text.trim()
  if (t.startsWith('{')) {
    const sink: Diagnostic[] = []
    const [doc] = parseYamlFile({ path: flag, text: t }, sink)
    const sel =
      doc &&
      parseSelector(doc, doc.value, [], {
        workloads: new Set(inventory.workloads.map((w) => w.name)),
        externals: new Set(inventory.externals.map((e) => e.name)),
      })
    if (!sel || hasErrors(sink)) throw new BulkheadError(sink)
    return sel.kind === 'labels' || sel.kind === 'workload' ? { ...sel, global: true } : sel
  }
  const bad = (why: string): BulkheadError =>
    new BulkheadError([
      {
        code: 'analyze/bad-selector',
        severity: 'error',
        message: `${flag} "${text}": ${why}`,
        hint: 'write app=pay,role=db, a workload name, or cidr:10.0.0.0/8',
      },
    ])
  if (t === '') throw bad('empty selector')
  if (t === 'any') return { kind: 'any' }
  // a workload the inventory holds by that name, before a bare block: Kubernetes workload names
  // have a `/` too (`shop/web[Deployment]`)
  const named = !t.startsWith('cidr:') && inventory.workloads.some((w) => w.name === t)
  if (named) return { kind: 'workload', name: t, global: true }
  if (t.startsWith('cidr:') || (t.includes('/') && !t.includes('='))) {
    const c = parseCidr(t.replace(/^cidr:/, ''))
    if (typeof c === 'string') throw bad(c)
    return { kind: 'cidr', cidr: c, except: [] }
  }
  if (t.includes('=')) {
    const pairs: Record<string, string> = {}
    for (const part of t.split(',')) {
      const l = parseLabel(part)
      if (!l || l.key === '') throw bad(`"${part}" is not key=value`)
      pairs[l.key] = l.value
    }
    return { kind: 'labels', match: labelSet(pairs), expressions: [], global: true }
  }
  throw new BulkheadError([
    {
      code: 'policy/unknown-workload',
      severity: 'error',
      message: `${flag} "${text}": no workload named "${t}" in the inventory`,
      hint: 'give a workload name as `bulkhead inventory` lists it, or a selector such as role=web',
    },
  ])
}

/** Parses `tcp/22,tcp/3389,...` into a service set. @throws UsageError. */
export function parseServiceList(text: string, flag: string): ServiceSet {
  const out: Service[] = []
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const s = parseService(part)
    if ('error' in s) throw new UsageError(`${flag}: ${s.error}`)
    out.push(s)
  }
  if (out.length === 0)
    throw new UsageError(`${flag}: give at least one service, e.g. tcp/22,tcp/3389`)
  return ServiceSet.of(out)
}

interface Opts {
  workspace: string
  at: number
  from?: string
  to?: string
  hops?: number
  baseline: Baseline
  compare?: string
  since?: number
  until?: number
  assumeExploitable?: ServiceSet
  paths: number
  output: string
}

/** A parser of whole numbers ≥ `min` for `flag`. */
const atLeast = (min: number, flag: string): ((text: string) => number) =>
  wholeNumber(min, Infinity, (t) => `${flag}: "${t}" is not a whole number ≥ ${min}`)

/** Registers `blast-radius`. */
export function registerBlastRadius(program: Command): void {
  const br = verb(program, 'blast-radius')
    .description(
      'what an attacker holding each workload reaches directly and by lateral movement, and the paths to crown jewels',
    )
    .option('-w, --workspace <dir>', 'workspace folder', '.')
    .addOption(
      timeOption('--at <time>', 'when to judge rule expiry and address holding (ISO-8601)'),
    )
    .option(
      '--from <selector>',
      'source workloads: a selector {k: v, matchExpressions: [...]}, k=v[,k=v], a workload name, or cidr:BLOCK (default: every workload)',
    )
    .option('--to <selector>', 'crown jewels (default: workloads labelled tier=crown-jewel)')
    .option('--hops <n>', 'limit lateral movement to N hops', atLeast(1, '--hops'))
    .addOption(
      choiceOption(
        '--baseline <name>',
        'what is open before',
        BASELINES,
        (t) => `--baseline: unknown baseline "${t}"`,
        'policy',
      ),
    )
    .option(
      '--compare <policyDir>',
      'another policy folder (or REV:path) to compare with: the reduction from the baseline to it',
    )
    .option(
      '--assume-exploitable <services>',
      'only these services are footholds, e.g. tcp/22,tcp/3389,tcp/445',
      (t) => parseServiceList(t, '--assume-exploitable'),
    )
    .option('--paths <n>', 'shortest paths listed per source', atLeast(0, '--paths'), 5)
    .addOption(outputOption(FORMATS, 'text'))
  windowOptions(br, '--baseline observed: stored flows')
    .addHelpText(
      'after',
      `
Baselines: flat (no segmentation: every workload reaches every other of an address family it
shares), observed (only what the stored flows show), policy (what the workspace policy allows, as if every workload enforced it),
enforced (what is closed today: a denied flow is open unless its source or destination is in
enforce mode, from the Enforcement file). "direct" counts workloads reached in one hop,
"transitive" those reached by lateral movement; open lateral paths count allowed (source,
destination, service) triples. Without --compare a non-flat baseline is compared with flat;
enforced also shows its target (policy) and the rollout's progress towards it.

Examples:
  $ bulkhead blast-radius -w my-estate
  $ bulkhead blast-radius --baseline enforced            # how far the enforcement rollout has got
  $ bulkhead blast-radius --baseline observed --since 2026-11-01
  $ bulkhead blast-radius --baseline flat --compare policy -o md
  $ bulkhead blast-radius --from role=web --to role=db --assume-exploitable tcp/22,tcp/3389 -o dot | dot -Tsvg > paths.svg

Exit codes: 0 success, 1 usage or input error.`,
    )
    .hook('preAction', (c) => {
      const o = c.opts<Opts>()
      if (o.baseline !== 'observed' && (o.since !== undefined || o.until !== undefined))
        throw new UsageError(
          `--since/--until select the stored flows of --baseline observed, not of ${o.baseline}`,
        )
    })
    .action(async (opts: Opts) => {
      const { baseline, at, hops, paths: maxPaths } = opts
      const load = await loadOrThrow(opts.workspace, new Date(at))
      const { inventory, policySet, workspace } = load
      const dependencyMap =
        baseline === 'observed'
          ? await loadDependencyMap(workspace, inventory, { expect: [], ...windowOf(opts) })
          : undefined
      const compare =
        opts.compare !== undefined
          ? {
              label: `policy:${opts.compare}`,
              policySet: (await loadOrThrow(opts.workspace, new Date(at), opts.compare, load))
                .policySet,
            }
          : undefined
      const from =
        opts.from !== undefined ? parseWorkloadSelector(opts.from, '--from', inventory) : undefined
      const to =
        opts.to !== undefined ? parseWorkloadSelector(opts.to, '--to', inventory) : undefined
      printDiagnostics([
        ...(from ? blastSelectorWarnings(from, `--from "${opts.from}"`, inventory, at) : []),
        ...(to ? blastSelectorWarnings(to, `--to "${opts.to}"`, inventory, at) : []),
      ])
      const result = answerBlastRadius({
        inventory,
        baseline,
        policySet,
        at,
        maxPaths,
        ...(dependencyMap ? { dependencyMap } : {}),
        ...(from ? { from } : {}),
        ...(to ? { to } : {}),
        ...(hops !== undefined ? { hops } : {}),
        ...(opts.assumeExploitable !== undefined ? { exploitable: opts.assumeExploitable } : {}),
        ...(compare ? { compare } : {}),
      })
      let text: string
      switch (opts.output) {
        case 'json':
          text = `${JSON.stringify(blastRadiusJson(result), null, 2)}\n`
          break
        case 'yaml':
          text = toYaml(blastRadiusJson(result))
          break
        case 'md':
          text = renderBlastRadiusMd(result)
          break
        case 'dot':
          text = renderBlastRadiusDot(result)
          break
        default:
          text = renderBlastRadiusText(result)
      }
      process.stdout.write(text)
      process.exitCode = EXIT.ok
    })
}
