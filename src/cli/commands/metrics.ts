/**
 * @module `bulkhead metrics`: segmentation metrics as JSON or in the Prometheus text format (for
 * node-exporter's textfile collector). Maps flags to {@link answerMetrics}.
 */
import type { Command } from 'commander'
import { answerMetrics, renderPrometheus } from '../../analyze/index.js'
import type { DependencyMap } from '../../discover/index.js'
import { EXIT, replaceFile, toYaml, UsageError } from '../output.js'
import { outputOption, timeOption, verb, wholeNumber, windowOptions } from '../usage.js'
import { loadOrThrow, windowOf } from '../workspace.js'
import { loadDependencyMap } from '../dependency-map.js'
import { BulkheadError } from '../../core/index.js'

interface Opts {
  workspace: string
  at: number
  previous?: string
  flows: boolean
  since?: number
  until?: number
  lateral: boolean
  expiringDays: number
  output: string
  out?: string
}

/** Registers `metrics`. */
export function registerMetrics(program: Command): void {
  windowOptions(
    verb(program, 'metrics')
      .description(
        'segmentation metrics: broad rules, sensitive workloads under enforce, lateral movement open today, unexpected east-west traffic, exceptions, owners, expiry',
      )
      .option('-w, --workspace <dir>', 'workspace folder', '.'),
    'unexpected east-west: stored flows',
  )
    .addOption(timeOption('--at <time>', 'when to judge expiry (ISO-8601)'))
    .option(
      '--previous <policyDir>',
      'the previous policy version (folder or REV:path): count broad rules removed',
    )
    .option('--no-flows', 'skip unexpected east-west connections (no store needed)')
    .option('--no-lateral', 'skip lateral movement (three reachability graphs; the slow part)')
    .option(
      '--expiring-days <n>',
      'rules expiring within N days are "expiring soon"',
      wholeNumber(0, Infinity, (t) => `--expiring-days: "${t}" is not a whole number`),
      30,
    )
    .addOption(outputOption(['json', 'yaml', 'prom'], 'json'))
    .option(
      '--out <file>',
      'write to this file (atomically: FILE.tmp then rename), e.g. for the textfile collector',
    )
    .addHelpText(
      'after',
      `
Unexpected east-west connections are observed workload-to-workload edges (from the store) that no
live rule allows; without a store they are left out (with a warning), or skip them with --no-flows.
Lateral movement gives the open lateral paths, open pairs and sources reaching crown jewels with
no segmentation (flat), today (enforced: each workload in its enforcement mode) and with the
policy enforced everywhere (policy), as blast-radius --baseline enforced does.

Examples:
  $ bulkhead metrics -w my-estate
  $ bulkhead metrics -o prom --out /var/lib/node_exporter/textfile/bulkhead.prom
  $ bulkhead metrics --previous HEAD~1:policy -o json
  $ bulkhead metrics --since 2026-11-01     # unexpected east-west traffic of November on

Exit codes: 0 success, 1 usage or input error.`,
    )
    .hook('preAction', (c) => {
      const o = c.opts<Opts>()
      if (!o.flows && (o.since !== undefined || o.until !== undefined))
        throw new UsageError(
          '--since/--until select the stored flows of unexpected east-west; --no-flows reads none',
        )
    })
    .action(async (opts: Opts) => {
      const now = opts.at
      const load = await loadOrThrow(opts.workspace, new Date(now))
      const { inventory, policySet, workspace } = load
      let dependencyMap: DependencyMap | undefined
      if (opts.flows) {
        try {
          dependencyMap = await loadDependencyMap(workspace, inventory, {
            expect: [],
            ...windowOf(opts),
          })
        } catch (err) {
          if (!(err instanceof BulkheadError) || err.diagnostics[0]?.code !== 'discover/no-flows')
            throw err
          process.stderr.write(
            `warning discover/no-flows: ${err.diagnostics[0].message}; unexpected east-west connections left out\n`,
          )
        }
      }
      const previous =
        opts.previous !== undefined
          ? (await loadOrThrow(opts.workspace, new Date(now), opts.previous, load)).policySet
          : undefined
      const m = answerMetrics({
        inventory,
        policySet,
        now,
        expiringDays: opts.expiringDays,
        lateral: opts.lateral,
        ...(previous ? { previous } : {}),
        ...(dependencyMap ? { dependencyMap } : {}),
      })
      const text =
        opts.output === 'prom'
          ? renderPrometheus(m)
          : opts.output === 'yaml'
            ? toYaml(m)
            : `${JSON.stringify(m, null, 2)}\n`
      if (opts.out !== undefined) {
        await replaceFile(opts.out, `${opts.out}.tmp`, text)
      } else process.stdout.write(text)
      process.exitCode = EXIT.ok
    })
}
