/**
 * @module Typed diagnostics with stable codes and 1-based source locations.
 *
 * Codes are data; messages are rendering. Tests match on `code` and `location`, never on
 * `message`. A stage returns `Diagnostic[]`; the shell decides whether to throw and how to print.
 */

/**
 * Stable diagnostic codes, `<stage>/<kebab-case>`. Stable: tests, SARIF output and users' CI
 * match on these; never rename one.
 */
export type ErrorCode =
  // YAML and schema
  | 'yaml/syntax'
  | 'yaml/duplicate-key'
  | 'yaml/unknown-tag'
  | 'schema/unknown-field'
  | 'schema/missing-field'
  | 'schema/invalid-value'
  | 'schema/unknown-kind'
  | 'io/not-found'
  | 'io/read-failed'
  | 'io/invalid-utf8'
  | 'io/write-failed'
  // workspace and inventory
  | 'workspace/bad-config'
  | 'workspace/unknown-time-zone'
  | 'workspace/not-found'
  | 'inventory/duplicate-workload'
  | 'inventory/duplicate-address'
  | 'inventory/duplicate-external'
  | 'inventory/bad-address'
  | 'inventory/bad-time-interval'
  | 'inventory/bad-label'
  | 'inventory/bad-label-rule'
  | 'inventory/conflicting-labels'
  | 'inventory/unknown-owner'
  | 'inventory/unresolved-workload-ref'
  | 'inventory/no-address'
  | 'inventory/generated-name'
  | 'inventory/malformed-csv'
  // policy
  | 'policy/duplicate-policy-name'
  | 'policy/several-policies-in-file'
  | 'policy/duplicate-rule-id'
  | 'policy/selector-matches-nothing'
  | 'policy/unknown-label-key'
  | 'policy/unknown-workload'
  | 'policy/unknown-external'
  | 'policy/port-out-of-range'
  | 'policy/reversed-port-range'
  | 'policy/unknown-protocol'
  | 'policy/bad-service'
  | 'policy/bad-cidr'
  | 'policy/except-outside-cidr'
  | 'policy/bad-selector'
  | 'policy/bad-expires'
  | 'policy/no-scoped-side'
  | 'policy/emergency-without-expires'
  | 'policy/expired-rule'
  | 'policy/bad-enforcement'
  // evaluation and CLI input
  | 'eval/bad-flow'
  | 'eval/unknown-endpoint'
  | 'cli/usage'
  // ingest
  | 'ingest/malformed-record'
  | 'ingest/unknown-format'
  | 'ingest/truncated-input'
  | 'ingest/empty-input'
  | 'ingest/all-records-skipped'
  | 'ingest/no-files'
  | 'ingest/file-named-twice'
  // recommend
  | 'recommend/short-window'
  | 'recommend/stale-files'
  | 'recommend/port-range'
  | 'recommend/ephemeral-noise'
  | 'recommend/no-workload-end'
  | 'recommend/grouped-entity'
  | 'recommend/unknown-entity'
  | 'recommend/no-owner'
  | 'recommend/unused-owner'
  | 'recommend/time-pattern'
  | 'recommend/time-bound-address'
  | 'recommend/denied-by-existing'
  | 'recommend/rejected'
  | 'recommend/scan-like'
  // compile
  | 'compile/unsupported-by-target'
  | 'compile/unknown-host'
  | 'compile/host-without-address'
  | 'compile/anti-lockout'
  | 'compile/expired-rule-omitted'
  | 'compile/expires-later'
  | 'compile/address-bound-later'
  | 'compile/mixed-mode'
  | 'compile/not-a-pod'
  | 'compile/pod-skipped'
  | 'compile/not-expressible'
  | 'compile/cloud-limit-exceeded'
  | 'compile/load-balancer-probes'
  | 'compile/icmp-errors-dropped'
  | 'compile/platform-traffic-unfiltered'
  | 'compile/node-addresses'
  | 'compile/priorities-in-order'
  | 'compile/port-zero-passes'
  | 'compile/ipv6-extension-header'
  // lint (issue 6 item 4): findings about rules, see src/policy/lint.ts
  | 'lint/no-owner'
  | 'lint/no-reason'
  | 'lint/expired'
  | 'lint/expiring'
  | 'lint/emergency'
  | 'lint/broad-source'
  | 'lint/broad-port'
  | 'lint/broad-cidr'
  | 'lint/whole-environment'
  | 'lint/shadowed'
  | 'lint/redundant'
  | 'lint/no-effect'
  | 'lint/matches-nothing'
  | 'lint/unused'
  // simulate (issue 6 item 2)
  | 'simulate/no-flows'
  // diff (issue 6 item 3)
  | 'diff/bad-revision'
  | 'diff/not-a-folder'
  | 'diff/no-flows'
  // store
  | 'store/schema-too-new'
  | 'store/not-read-only'
  | 'store/locked'
  | 'store/open-failed'
  | 'store/recovered'
  | 'store/bad-counter'
  // discover
  | 'discover/short-window'
  | 'discover/no-flows'
  | 'discover/large-html-map'
  | 'discover/untimed-flows'
  // analyze (issue 9)
  | 'analyze/bad-selector'
  // Kubernetes analysis (issue 8 item 1): `k8s connlist`, `k8s eval`, see src/kubernetes/
  | 'k8s/not-kubernetes'
  | 'k8s/duplicate-object'
  | 'k8s/bad-object'
  | 'k8s/bad-policy'
  | 'k8s/bad-selector'
  | 'k8s/bad-cidr'
  | 'k8s/cidr-host-bits'
  | 'k8s/cidr-ipv4-mapped'
  | 'k8s/ipv6-not-listed'
  | 'k8s/except-outside-cidr'
  | 'k8s/unknown-protocol'
  | 'k8s/bad-port'
  | 'k8s/priority-out-of-range'
  | 'k8s/same-priority'
  | 'k8s/unsupported-field'
  | 'k8s/named-port-address-peer'
  | 'k8s/conflicting-labels'
  | 'k8s/conflicting-ports'
  | 'k8s/no-workloads'
  | 'k8s/unknown-endpoint'
  | 'k8s/bad-connection'
  | 'k8s/not-importable'
  | 'k8s/no-pod-address'
  | 'k8s/bad-network'
  | 'k8s/network-ignored'

/**
 * Every {@link ErrorCode}, in the union's order (by stage). The compiler checks that the list is
 * complete and holds nothing else (`satisfies Record<ErrorCode, true>`: a code missing is an error,
 * as is one that is no ErrorCode). README's "Diagnostic codes" table is checked against it
 * (test/docs/readme-codes.test.ts).
 */
export const ERROR_CODES: readonly ErrorCode[] = Object.freeze(
  Object.keys({
    // YAML and schema
    'yaml/syntax': true,
    'yaml/duplicate-key': true,
    'yaml/unknown-tag': true,
    'schema/unknown-field': true,
    'schema/missing-field': true,
    'schema/invalid-value': true,
    'schema/unknown-kind': true,
    'io/not-found': true,
    'io/read-failed': true,
    'io/invalid-utf8': true,
    'io/write-failed': true,
    // workspace and inventory
    'workspace/bad-config': true,
    'workspace/unknown-time-zone': true,
    'workspace/not-found': true,
    'inventory/duplicate-workload': true,
    'inventory/duplicate-address': true,
    'inventory/duplicate-external': true,
    'inventory/bad-address': true,
    'inventory/bad-time-interval': true,
    'inventory/bad-label': true,
    'inventory/bad-label-rule': true,
    'inventory/conflicting-labels': true,
    'inventory/unknown-owner': true,
    'inventory/unresolved-workload-ref': true,
    'inventory/no-address': true,
    'inventory/generated-name': true,
    'inventory/malformed-csv': true,
    // policy
    'policy/duplicate-policy-name': true,
    'policy/several-policies-in-file': true,
    'policy/duplicate-rule-id': true,
    'policy/selector-matches-nothing': true,
    'policy/unknown-label-key': true,
    'policy/unknown-workload': true,
    'policy/unknown-external': true,
    'policy/port-out-of-range': true,
    'policy/reversed-port-range': true,
    'policy/unknown-protocol': true,
    'policy/bad-service': true,
    'policy/bad-cidr': true,
    'policy/except-outside-cidr': true,
    'policy/bad-selector': true,
    'policy/bad-expires': true,
    'policy/no-scoped-side': true,
    'policy/emergency-without-expires': true,
    'policy/expired-rule': true,
    'policy/bad-enforcement': true,
    // evaluation and CLI input
    'eval/bad-flow': true,
    'eval/unknown-endpoint': true,
    'cli/usage': true,
    // ingest
    'ingest/malformed-record': true,
    'ingest/unknown-format': true,
    'ingest/truncated-input': true,
    'ingest/empty-input': true,
    'ingest/all-records-skipped': true,
    'ingest/no-files': true,
    'ingest/file-named-twice': true,
    // recommend
    'recommend/short-window': true,
    'recommend/stale-files': true,
    'recommend/port-range': true,
    'recommend/ephemeral-noise': true,
    'recommend/no-workload-end': true,
    'recommend/grouped-entity': true,
    'recommend/unknown-entity': true,
    'recommend/no-owner': true,
    'recommend/unused-owner': true,
    'recommend/time-pattern': true,
    'recommend/time-bound-address': true,
    'recommend/denied-by-existing': true,
    'recommend/rejected': true,
    'recommend/scan-like': true,
    // compile
    'compile/unsupported-by-target': true,
    'compile/unknown-host': true,
    'compile/host-without-address': true,
    'compile/anti-lockout': true,
    'compile/expired-rule-omitted': true,
    'compile/expires-later': true,
    'compile/address-bound-later': true,
    'compile/mixed-mode': true,
    'compile/not-a-pod': true,
    'compile/pod-skipped': true,
    'compile/not-expressible': true,
    'compile/cloud-limit-exceeded': true,
    'compile/load-balancer-probes': true,
    'compile/icmp-errors-dropped': true,
    'compile/platform-traffic-unfiltered': true,
    'compile/node-addresses': true,
    'compile/priorities-in-order': true,
    'compile/port-zero-passes': true,
    'compile/ipv6-extension-header': true,
    // lint (issue 6 item 4): findings about rules, see src/policy/lint.ts
    'lint/no-owner': true,
    'lint/no-reason': true,
    'lint/expired': true,
    'lint/expiring': true,
    'lint/emergency': true,
    'lint/broad-source': true,
    'lint/broad-port': true,
    'lint/broad-cidr': true,
    'lint/whole-environment': true,
    'lint/shadowed': true,
    'lint/redundant': true,
    'lint/no-effect': true,
    'lint/matches-nothing': true,
    'lint/unused': true,
    // simulate (issue 6 item 2)
    'simulate/no-flows': true,
    // diff (issue 6 item 3)
    'diff/bad-revision': true,
    'diff/not-a-folder': true,
    'diff/no-flows': true,
    // store
    'store/schema-too-new': true,
    'store/not-read-only': true,
    'store/locked': true,
    'store/open-failed': true,
    'store/recovered': true,
    'store/bad-counter': true,
    // discover
    'discover/short-window': true,
    'discover/no-flows': true,
    'discover/large-html-map': true,
    'discover/untimed-flows': true,
    // analyze (issue 9)
    'analyze/bad-selector': true,
    // Kubernetes analysis (issue 8 item 1): `k8s connlist`, `k8s eval`, see src/kubernetes/
    'k8s/not-kubernetes': true,
    'k8s/duplicate-object': true,
    'k8s/bad-object': true,
    'k8s/bad-policy': true,
    'k8s/bad-selector': true,
    'k8s/bad-cidr': true,
    'k8s/cidr-host-bits': true,
    'k8s/cidr-ipv4-mapped': true,
    'k8s/ipv6-not-listed': true,
    'k8s/except-outside-cidr': true,
    'k8s/unknown-protocol': true,
    'k8s/bad-port': true,
    'k8s/priority-out-of-range': true,
    'k8s/same-priority': true,
    'k8s/unsupported-field': true,
    'k8s/named-port-address-peer': true,
    'k8s/conflicting-labels': true,
    'k8s/conflicting-ports': true,
    'k8s/no-workloads': true,
    'k8s/unknown-endpoint': true,
    'k8s/bad-connection': true,
    'k8s/not-importable': true,
    'k8s/no-pod-address': true,
    'k8s/bad-network': true,
    'k8s/network-ignored': true,
  } satisfies Record<ErrorCode, true>) as ErrorCode[],
)

/** How bad a diagnostic is. `fatal` stops the stage; `error` fails the load; `warning` does not. */
export type Severity = 'fatal' | 'error' | 'warning'

/**
 * Where a diagnostic points. `line` and `column` are 1-based, as editors show them; 0 means
 * unknown. `path` is the YAML/JSON path inside the document, e.g. `['rules', 1, 'id']`.
 */
export interface SourceLocation {
  readonly file: string
  readonly line: number
  readonly column: number
  readonly path?: readonly (string | number)[]
}

/** One problem found in the input, with a stable code and, where known, where it is. */
export interface Diagnostic {
  readonly code: ErrorCode
  readonly severity: Severity
  readonly message: string
  readonly location?: SourceLocation
  /** Other places involved, e.g. the first definition of a duplicated id. */
  readonly related?: readonly SourceLocation[]
  /** What the user can do about it. */
  readonly hint?: string
}

/** `file:line:col` (or `file` when the line is unknown). */
export function formatLocation(loc: SourceLocation): string {
  if (loc.line <= 0) return loc.file
  return `${loc.file}:${loc.line}:${loc.column}`
}

/**
 * Where `loc` is, as seen from `here`: `line:col` when both are in one file, else
 * {@link formatLocation} (`file:line:col`). For messages that point at a first definition.
 */
export function formatLocationFrom(loc: SourceLocation, here: SourceLocation | undefined): string {
  return here !== undefined && here.file === loc.file && loc.line > 0
    ? `${loc.line}:${loc.column}`
    : formatLocation(loc)
}

/**
 * Renders one diagnostic as `file:line:col severity code: message`, as compilers print them.
 * @example `policy/payments.yaml:14:7 error policy/duplicate-rule-id: rule id "web-to-api" is already used at 9:7`
 */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.location ? `${formatLocation(d.location)} ` : ''
  const hint = d.hint ? ` (${d.hint})` : ''
  return `${where}${d.severity} ${d.code}: ${d.message}${hint}`
}

/** True when any diagnostic is `error` or `fatal`. */
export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity !== 'warning')
}

/** Sorts diagnostics by file, line, column, then code, for stable output. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort((a, b) => {
    const la = a.location
    const lb = b.location
    const fa = la?.file ?? ''
    const fb = lb?.file ?? ''
    if (fa !== fb) return fa < fb ? -1 : 1
    const d = (la?.line ?? 0) - (lb?.line ?? 0) || (la?.column ?? 0) - (lb?.column ?? 0)
    if (d !== 0) return d
    return a.code < b.code ? -1 : a.code > b.code ? 1 : 0
  })
}

/**
 * An error carrying one or more diagnostics. Thrown by shells and by loaders that refuse to
 * return a half-loaded result.
 */
export class BulkheadError extends Error {
  override name = 'BulkheadError'
  constructor(
    readonly diagnostics: readonly Diagnostic[],
    options?: { cause?: unknown },
  ) {
    super(diagnostics.map(formatDiagnostic).join('\n'), options)
  }
}

/** Shorthand for building a diagnostic. */
export function diagnostic(
  code: ErrorCode,
  message: string,
  location?: SourceLocation,
  extra: { severity?: Severity; related?: readonly SourceLocation[]; hint?: string } = {},
): Diagnostic {
  return {
    code,
    severity: extra.severity ?? 'error',
    message,
    ...(location ? { location } : {}),
    ...(extra.related ? { related: extra.related } : {}),
    ...(extra.hint ? { hint: extra.hint } : {}),
  }
}

/** What to do about a system error, by its errno `code`. */
const IO_HINTS: Readonly<Record<string, string>> = {
  EACCES: 'check the permissions of the path',
  EPERM: 'check the permissions of the path',
  EROFS: 'the file system is read-only: give a path on a writable one',
  EEXIST: 'a file is in the way: give a folder path, or remove the file',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'the path is a folder: give a file path',
  ENOSPC: 'the disk is full',
  ENOENT: 'check the path: its folder must exist',
  ELOOP: 'a symbolic link loop: correct the link, or remove it',
}

/**
 * A failed read or write of a file as a diagnostic, the one mapping every stage uses: errno
 * `ENOENT` is `io/not-found`, anything else `io/read-failed` or `io/write-failed` (as `op`
 * says), located at `file` (line and column 0: the whole file), with a hint by errno code.
 * @param err - a Node system error (`code` such as `EACCES`, optionally `syscall`), or any
 *   `{code?, message?}` (a worker's report), or anything else (its text is the message).
 * @param op - what was being done: the message says `cannot <syscall or op>`.
 */
export function ioDiagnostic(
  err: unknown,
  op: 'read' | 'write',
  file?: string,
  severity: Severity = 'error',
): Diagnostic {
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    code?: unknown
    syscall?: unknown
    message?: unknown
  }
  const code = typeof e.code === 'string' ? e.code : undefined
  const message = typeof e.message === 'string' ? e.message : String(err)
  const what = typeof e.syscall === 'string' ? e.syscall : op
  const hint = code === undefined ? undefined : IO_HINTS[code]
  return diagnostic(
    code === 'ENOENT' ? 'io/not-found' : op === 'read' ? 'io/read-failed' : 'io/write-failed',
    `cannot ${what}${file === undefined ? '' : ` "${file}"`}: ${message}`,
    file === undefined ? undefined : { file, line: 0, column: 0 },
    { severity, ...(hint === undefined ? {} : { hint }) },
  )
}
