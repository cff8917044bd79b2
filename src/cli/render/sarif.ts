/**
 * @module SARIF 2.1.0 writer for findings (`lint -o sarif`, `diff -o sarif`), for GitHub code
 * scanning and other SARIF viewers. Generic: it knows nothing about what a finding means.
 * @remarks Format: OASIS SARIF 2.1.0,
 * https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html; GitHub's accepted subset:
 * https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning
 */
import { createHash } from 'node:crypto'
import path from 'node:path'
import { counted, type SourceLocation } from '../../core/index.js'

/** SARIF result levels used here (SARIF §3.27.10; `none` is not used). */
export type SarifLevel = 'error' | 'warning' | 'note'

/** One finding to report: a stable rule id (e.g. `lint/expired`), a level, a message, where. */
export interface SarifFinding {
  readonly ruleId: string
  readonly level: SarifLevel
  readonly message: string
  /** 1-based line and column; `line` 0 (unknown) gives a file-only location. */
  readonly location?: SourceLocation
  /** Other places involved (SARIF `relatedLocations`), e.g. the rule that shadows this one. */
  readonly related?: readonly SourceLocation[]
  /**
   * What the finding is about, independent of where it sits and of words that change from run to
   * run (a date, a count): e.g. the rule `payments/web-to-api`, or the edge
   * `web -> db tcp/5432`. Given, the result carries `partialFingerprints` from it and `ruleId`
   * ({@link FINGERPRINT_NAME}), so that code scanning keeps one alert while the rule's lines move
   * or its message changes. Absent: no fingerprint (GitHub's upload action then hashes the line).
   */
  readonly key?: string
}

/**
 * The name of the fingerprint {@link toSarif} writes (SARIF §3.27.17: a versioned name; the value
 * is the first 32 hex digits of SHA-256 over `ruleId`, a NUL and {@link SarifFinding.key}).
 * Stable: code scanning matches alerts on it; change the version if its input changes.
 */
export const FINGERPRINT_NAME = 'bulkheadFindingKey/v1'

/** The {@link FINGERPRINT_NAME} fingerprint of a finding with rule id `ruleId` about `key`. */
export function findingFingerprint(ruleId: string, key: string): string {
  return createHash('sha256').update(`${ruleId}\0${key}`).digest('hex').slice(0, 32)
}

/** A description of one rule id, shown by viewers next to its results. */
export interface SarifRuleInfo {
  /** One sentence. */
  readonly description: string
  /** Level when a result gives none; default `warning`. */
  readonly defaultLevel?: SarifLevel
  readonly helpUri?: string
}

/** The tool that produced the findings. */
export interface SarifTool {
  /** e.g. `bulkhead`. */
  readonly name: string
  readonly version: string
  readonly informationUri?: string
  /** Descriptions by rule id; rule ids of findings that are missing here get a bare entry. */
  readonly rules?: Readonly<Record<string, SarifRuleInfo>>
  /**
   * Folder that file paths are made relative to (a repository root), so that code scanning can
   * match them to files; paths outside it stay absolute (as `file://` URIs). Default: leave
   * paths as given.
   */
  readonly baseDir?: string
  /**
   * Folder that relative file paths are relative to (the working directory they were named
   * from), so that they are re-expressed from `baseDir` when the two differ. Default: relative
   * paths are taken as relative to `baseDir` already.
   */
  readonly cwd?: string
}

/** The SARIF log object (only the members written). */
export interface SarifLog {
  readonly $schema: string
  readonly version: '2.1.0'
  readonly runs: readonly {
    readonly tool: {
      readonly driver: {
        readonly name: string
        readonly version: string
        readonly semanticVersion: string
        readonly informationUri?: string
        readonly rules: readonly Record<string, unknown>[]
      }
    }
    readonly results: readonly Record<string, unknown>[]
  }[]
}

/** The SARIF 2.1.0 schema URI. */
export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json'

function uriOf(file: string, baseDir: string | undefined, cwd?: string): string {
  if (cwd !== undefined && !path.isAbsolute(file)) file = path.resolve(cwd, file)
  if (baseDir !== undefined && path.isAbsolute(file) === path.isAbsolute(baseDir)) {
    const rel = path.relative(baseDir, file)
    // outside baseDir when its first segment is `..` (a folder named `..dots` is inside)
    if (rel.split(path.sep)[0] !== '..' && !path.isAbsolute(rel))
      return encodeUri(rel.split(path.sep).join('/'))
  }
  if (path.isAbsolute(file)) return `file://${encodeUri(file.split(path.sep).join('/'))}`
  return encodeUri(file.split(path.sep).join('/'))
}

/** Percent-encodes what RFC 3986 does not allow in a path (keeps `/`). */
function encodeUri(p: string): string {
  return p
    .split('/')
    .map((seg) => encodeURIComponent(seg))
    .join('/')
}

function physical(
  loc: SourceLocation,
  baseDir: string | undefined,
  cwd?: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = { artifactLocation: { uri: uriOf(loc.file, baseDir, cwd) } }
  if (loc.line > 0) {
    out['region'] = { startLine: loc.line, ...(loc.column > 0 ? { startColumn: loc.column } : {}) }
  }
  return { physicalLocation: out }
}

/**
 * The most results one SARIF run may hold: GitHub code scanning rejects the whole upload when a
 * run has more ("SARIF support for code scanning", upload limits: results per run 25,000; of
 * those it keeps the 5,000 most severe).
 */
export const SARIF_MAX_RESULTS = 25_000

/** The rule id of the note that says how many findings {@link toSarif} left out. */
export const RESULTS_LEFT_OUT_RULE = 'bulkhead/results-left-out'

const LEVEL_RANK: Readonly<Record<SarifLevel, number>> = { error: 0, warning: 1, note: 2 }

/**
 * At most `max` findings: when there are more, the `max - 1` most severe (errors, then warnings,
 * then notes; the first of each level), in their own order, then one note saying how many were
 * left out, placed where the first finding left out is.
 */
function capFindings(findings: readonly SarifFinding[], max: number): readonly SarifFinding[] {
  if (findings.length <= max) return findings
  const order = findings
    .map((f, i) => ({ rank: LEVEL_RANK[f.level], i }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
  const kept = new Set(order.slice(0, max - 1).map((o) => o.i))
  const left = findings.filter((_, i) => !kept.has(i))
  const where = left.find((f) => f.location !== undefined)?.location
  return [
    ...findings.filter((_, i) => kept.has(i)),
    {
      ruleId: RESULTS_LEFT_OUT_RULE,
      level: 'note',
      message: `${counted(left.length, 'more finding')} left out (${counted(left.filter((f) => f.level === 'error').length, 'error')}, ${counted(left.filter((f) => f.level === 'warning').length, 'warning')}, ${counted(left.filter((f) => f.level === 'note').length, 'note')}): GitHub code scanning rejects a run of more than ${String(max)} results; the other output formats list them all`,
      ...(where !== undefined ? { location: where } : {}),
      key: 'results-left-out',
    },
  ]
}

/**
 * Builds a SARIF 2.1.0 log with one run: `tool.driver.rules` lists every rule id described in
 * `tool.rules` or used by a finding (sorted), and each finding becomes one result with `ruleId`, `ruleIndex`,
 * `level`, `message.text` and, when it has a location, `locations[0].physicalLocation` (artifact
 * URI and 1-based `startLine`/`startColumn`) and, when it has a {@link SarifFinding.key},
 * `partialFingerprints`. Findings keep their order. Over {@link SARIF_MAX_RESULTS} findings, the
 * most severe are kept and a last note ({@link RESULTS_LEFT_OUT_RULE}) counts the others. Pure:
 * no I/O.
 * @returns a plain object; `JSON.stringify` it to write the file.
 */
export function toSarif(allFindings: readonly SarifFinding[], tool: SarifTool): SarifLog {
  const findings = capFindings(allFindings, SARIF_MAX_RESULTS)
  const ids = [
    ...new Set([...Object.keys(tool.rules ?? {}), ...findings.map((f) => f.ruleId)]),
  ].sort()
  const index = new Map(ids.map((id, i) => [id, i]))
  // GitHub code scanning documents shortDescription.text, fullDescription.text and help.text
  // of every rule as required (non-empty): a rule id with no description is described by its id
  const rules = ids.map((id) => {
    const info =
      tool.rules?.[id] ??
      (id === RESULTS_LEFT_OUT_RULE
        ? {
            description: `Findings left out of this log: code scanning takes at most ${String(SARIF_MAX_RESULTS)} results in a run.`,
            defaultLevel: 'note' as const,
          }
        : undefined)
    const text = info?.description ?? `Bulkhead finding ${id}.`
    return {
      id,
      name: id,
      shortDescription: { text },
      fullDescription: { text },
      help: { text: info?.helpUri !== undefined ? `${text} See ${info.helpUri}` : text },
      ...(info
        ? {
            defaultConfiguration: { level: info.defaultLevel ?? 'warning' },
            ...(info.helpUri !== undefined ? { helpUri: info.helpUri } : {}),
          }
        : {}),
    }
  })
  const results = findings.map((f) => ({
    ruleId: f.ruleId,
    ruleIndex: index.get(f.ruleId) as number,
    level: f.level,
    message: { text: f.message },
    ...(f.location ? { locations: [physical(f.location, tool.baseDir, tool.cwd)] } : {}),
    ...(f.key !== undefined
      ? { partialFingerprints: { [FINGERPRINT_NAME]: findingFingerprint(f.ruleId, f.key) } }
      : {}),
    ...(f.related && f.related.length > 0
      ? {
          relatedLocations: f.related.map((r, i) => ({
            id: i + 1,
            ...physical(r, tool.baseDir, tool.cwd),
          })),
        }
      : {}),
  }))
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: tool.name,
            version: tool.version,
            semanticVersion: tool.version,
            ...(tool.informationUri !== undefined ? { informationUri: tool.informationUri } : {}),
            rules,
          },
        },
        results,
      },
    ],
  }
}
