import { describe, it, expect } from 'vitest'
import { formatDiagnostic } from '../../src/core/index.js'
import { loadWorkspace } from '../../src/policy/index.js'
import { NOW } from './helpers.js'

const INV = 'test/fixtures/multi-error/inventory/hosts.yaml'
const POL = 'test/fixtures/multi-error/policy/bad.yaml'

describe('multi-error workspace', () => {
  it('reports_every_error_at_once_sorted_and_loads_nothing', async () => {
    const r = await loadWorkspace('test/fixtures/multi-error', NOW)
    const errors = r.diagnostics
      .filter((d) => d.severity === 'error')
      .map((d) => [
        d.location?.file,
        d.location?.line,
        d.location?.column,
        d.code,
        d.related?.map((l) => `${l.line}:${l.column}`),
      ])
    expect(errors).toEqual([
      [INV, 8, 17, 'inventory/bad-address', undefined],
      [INV, 10, 5, 'inventory/duplicate-workload', ['4:5']],
      [POL, 11, 13, 'policy/port-out-of-range', undefined],
      [POL, 12, 9, 'policy/duplicate-rule-id', ['8:9']],
      [POL, 14, 39, 'policy/except-outside-cidr', undefined],
      [POL, 16, 14, 'policy/bad-expires', undefined],
      [POL, 17, 5, 'policy/no-scoped-side', undefined],
      [POL, 21, 16, 'policy/emergency-without-expires', undefined],
      [POL, 22, 5, 'schema/unknown-field', undefined],
      [POL, 27, 29, 'policy/unknown-workload', undefined],
    ])
    expect(r.inventory).toEqual({ workloads: [], externals: [], labelRules: [] })
    expect(r.policySet).toEqual({ policies: [], enforcement: [] })
  })

  it('a duplicate says in its hint where the first one is, and what to do', async () => {
    // the text line prints no `related` location: the hint carries it
    const r = await loadWorkspace('test/fixtures/multi-error', NOW)
    const hint = (code: string): string | undefined =>
      r.diagnostics.find((d) => d.code === code)?.hint
    expect(hint('inventory/duplicate-workload')).toMatch(/^first defined at 4:5; /)
    expect(hint('policy/duplicate-rule-id')).toMatch(/^first used at 8:9; /)
  })

  it('formats_as_file_line_col_severity_code', async () => {
    const r = await loadWorkspace('test/fixtures/multi-error', NOW)
    const dup = r.diagnostics.find((d) => d.code === 'policy/duplicate-rule-id')
    expect(dup && formatDiagnostic(dup)).toMatch(
      /^test\/fixtures\/multi-error\/policy\/bad\.yaml:12:9 error policy\/duplicate-rule-id: /,
    )
  })
})
