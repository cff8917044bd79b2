/**
 * @module `bulkhead validate`: load inventory and policy; print every diagnostic.
 */
import type { Command } from 'commander'
import { hasErrors, sortDiagnostics, type Diagnostic, counted } from '../../core/index.js'
import { loadWorkspace } from '../../policy/files.js'
import { emit, EXIT, printDiagnostics } from '../output.js'
import { atOf, formerNowOption, outputOption, timeOption, verb } from '../usage.js'

/** The JSON shape of `validate -o json`. Stable. */
export interface ValidateOutput {
  readonly ok: boolean
  readonly errors: number
  readonly warnings: number
  readonly workloads: number
  readonly externals: number
  readonly policies: number
  readonly rules: number
  readonly diagnostics: readonly Diagnostic[]
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
    .addOption(outputOption(['text', 'json', 'yaml'], 'text'))
    .addHelpText(
      'after',
      `
Examples:
  $ bulkhead validate
  $ bulkhead validate -w examples/demo -o json

Exit codes: 0 no errors (warnings allowed), 1 at least one error.`,
    )
    .action(async (opts: { workspace: string; at: number; now?: number; output: string }) => {
      const result = await loadWorkspace(opts.workspace, new Date(atOf(opts)))
      const diagnostics = sortDiagnostics(result.diagnostics)
      const errors = diagnostics.filter((d) => d.severity !== 'warning').length
      const out: ValidateOutput = {
        ok: errors === 0,
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
          : `${counted(errors, 'error')}, ${counted(out.warnings, 'warning')}: nothing loaded`
        process.stdout.write(`${summary}\n`)
      } else {
        emit(out, opts.output, () => '')
      }
      process.exitCode = hasErrors(diagnostics) ? EXIT.input : EXIT.ok
    })
}
