/**
 * README names every stable code Bulkhead prints: each diagnostic code (`ErrorCode`) has its row
 * in "Diagnostic codes", and so has each SARIF rule id of `diff`; every lint code is in the `lint`
 * table; every skip reason and note of the flow readers (src/ingest) is named somewhere.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ERROR_CODES } from '../../src/core/index.js'
import { LINT_CODES } from '../../src/policy/lint.js'
import { DIFF_SARIF_RULES } from '../../src/cli/commands/diff.js'
import { RESULTS_LEFT_OUT_RULE } from '../../src/cli/render/sarif.js'
import { scanIngestReasons } from '../helpers/ingest-reasons.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const README = readFileSync(`${ROOT}README.md`, 'utf8')

/**
 * The text of the README section under `heading` (a whole `## …` or `### …` line), to the next
 * heading of its level or above; '' when there is none.
 */
function section(heading: string): string {
  const lines = README.split('\n')
  const start = lines.indexOf(heading)
  if (start < 0) return ''
  const level = /^#+/.exec(heading)?.[0].length ?? 2
  const end = lines.findIndex(
    (l, i) => i > start && /^#+ /.test(l) && (/^#+/.exec(l)?.[0].length ?? 0) <= level,
  )
  return lines.slice(start, end < 0 ? undefined : end).join('\n')
}

/** The codes in the first column of the tables of `text` (`` | `code` | … ``). */
function rowCodes(text: string): string[] {
  return [...text.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1] as string)
}

/** Every `code` in backticks in `text`. */
function backticked(text: string): Set<string> {
  return new Set([...text.matchAll(/`([^`\n]+)`/g)].map((m) => m[1] as string))
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

describe('README names every stable code', () => {
  const codes = section('## Diagnostic codes')
  const rows = rowCodes(codes)

  it('has a section "Diagnostic codes"', () => {
    expect(codes).not.toBe('')
  })

  it('has one row per diagnostic code (ErrorCode) in "Diagnostic codes"', () => {
    const missing = ERROR_CODES.filter((c) => !rows.includes(c))
    expect(missing, 'codes without a row in README "Diagnostic codes"').toEqual([])
    const twice = rows.filter((c, i) => rows.indexOf(c) !== i)
    expect(twice, 'codes with two rows').toEqual([])
  })

  it('has a row for each SARIF rule id of diff, and no row for a code that does not exist', () => {
    const diffIds = Object.keys(DIFF_SARIF_RULES)
    expect(
      diffIds.filter((c) => !rows.includes(c)),
      'diff rule ids without a row',
    ).toEqual([])
    const known = new Set<string>([...ERROR_CODES, ...diffIds, RESULTS_LEFT_OUT_RULE])
    expect(rows, 'the note of a SARIF log cut at the code scanning limit').toContain(
      RESULTS_LEFT_OUT_RULE,
    )
    expect(
      rows.filter((c) => !known.has(c)),
      'rows of codes that are neither ErrorCode nor diff rule ids',
    ).toEqual([])
  })

  it('names every lint code in the lint table', () => {
    const lint = backticked(section('### `bulkhead lint`'))
    expect(Object.keys(LINT_CODES).filter((c) => !lint.has(c))).toEqual([])
  })

  it('names every skip reason and note of the flow readers', () => {
    const scan = scanIngestReasons(ROOT)
    // a reason passed on in a variable must be followed (test/helpers/ingest-reasons.ts)
    expect(scan.dynamic, 'skip()/note() calls whose reason is not followed').toEqual([])
    expect(scan.unused, 'DYNAMIC_SOURCES entries no call needs').toEqual([])
    expect(scan.reasons.length).toBeGreaterThan(100)
    const named = [...backticked(README)]
    const missing = new Map<string, string>()
    for (const r of scan.reasons) {
      const ok = r.pattern
        ? // a template literal (`ignored-field:${name}`): its fixed parts, the rest any text
          named.some((n) =>
            new RegExp(`^${r.reason.split('*').map(escape).join('[^`\\s]*')}$`).test(n),
          )
        : named.includes(r.reason)
      if (!ok && !missing.has(r.reason)) missing.set(r.reason, r.where)
    }
    expect(Object.fromEntries(missing), 'reasons README does not name (with where)').toEqual({})
  }, 60_000)
})
