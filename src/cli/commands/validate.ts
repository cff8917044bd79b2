/**
 * @module `bulkhead validate`: load inventory and policy; print every diagnostic.
 */
import type { Command } from 'commander'
import { sortDiagnostics, type Diagnostic, counted } from '../../core/index.js'
import { loadWorkspace } from '../../policy/files.js'
import { emit, EXIT, printDiagnostics } from '../output.js'
import { atOf, formerNowOption, outputOption, timeOption, verb } from '../usage.js'

/** The JSON shape of `validate -o json`. Stable. */
export interface ValidateOutput {
  /** No errors; under `--strict`, no diagnostic at all. */
  readonly ok: boolean
  /** `--strict` was given: warnings fail the check too. */
  readonly strict: boolean
  readonly errors: number
  readonly warnings: number
  readonly workloads: number
  readonly externals: number
  readonly policies: number
  readonly rules: number
  readonly diagnostics: readonly Diagnostic[]
}

/** The options of `validate`, as commander gives them. */
interface ValidateOptions {
  readonly workspace: string
  readonly at: number
  readonly now?: number
  readonly strict?: boolean
  readonly output: string
}

/** Registers `validate`. */
export function registerValidate(program: Command): void {
  verb(program, 'validate')
    .description(
      'load the inventory and policy and report every problem with file:line:col and a stable code',
    )
    .option('-w, --workspace <dir>', 'workspace folder', '.')
    .addOption(timeOption('--at <time>', 'the time at which rule expiry is judged (ISO-8601)'))
    .addOption(formerNowOption())
    .option(
      '--strict',
      'fail on warnings too (a selector that matches nothing, a rule already expired, …)',
    )
    .addOption(outputOption(['text', 'json', 'yaml'], 'text'))
    .addHelpText(
      'after',
      `
Examples:
  $ bulkhead validate
  $ bulkhead validate -w examples/demo -o json
  $ bulkhead validate --strict          # in CI: a warning fails the build too

Exit codes: 0 no errors (warnings allowed; with --strict, no warnings either), 1 at least one
error (with --strict, at least one warning).`,
    )
    .action(async (opts: ValidateOptions) => {
      const strict = opts.strict === true
      const result = await loadWorkspace(opts.workspace, new Date(atOf(opts)))
      const diagnostics = sortDiagnostics(result.diagnostics)
      const errors = diagnostics.filter((d) => d.severity !== 'warning').length
      const out: ValidateOutput = {
        ok: strict ? diagnostics.length === 0 : errors === 0,
        strict,
        errors,
        warnings: diagnostics.length - errors,
        workloads: result.inventory.workloads.length,
        externals: result.inventory.externals.length,
        policies: result.policySet.policies.length,
        rules: result.policySet.policies.reduce((n, p) => n + p.rules.length, 0),
        diagnostics,
      }
      if (opts.output === 'text') {
        printDiagnostics(diagnostics)
        const summary = out.ok
          ? `ok: ${counted(out.workloads, 'workload')}, ${counted(out.externals, 'external')}, ${counted(out.policies, 'policy', 'policies')}, ${counted(out.rules, 'rule')}` +
            (out.warnings > 0 ? `, ${counted(out.warnings, 'warning')}` : '')
          : errors > 0
            ? `${counted(errors, 'error')}, ${counted(out.warnings, 'warning')}: nothing loaded`
            : `${counted(out.warnings, 'warning')}, failed under --strict`
        process.stdout.write(`${summary}\n`)
      } else {
        emit(out, opts.output, () => '')
      }
      process.exitCode = out.ok ? EXIT.ok : EXIT.input
    })
}
