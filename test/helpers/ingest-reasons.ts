/**
 * @module The skip reasons and notes the flow readers count, read from the source of `src/ingest`
 * with the TypeScript parser and type checker: the reason argument of every
 * `skip(ctx, REASON, …)` and `note(ctx, REASON)` call (and `this.note(REASON)`), and where the
 * reason is passed on in a `string` variable, the literals it comes from. Used by
 * test/docs/readme-codes.test.ts to check that README names every one.
 */
import { readdirSync } from 'node:fs'
import path from 'node:path'
import ts from 'typescript'

/** One reason found: a literal, or the fixed parts of a template literal. */
export interface FoundReason {
  /**
   * The reason, or for a template literal its text with each substitution as `*`
   * (`time-from-file-*`, `ignored-field:*`, `*-protocol`).
   */
  readonly reason: string
  /** True when `reason` holds `*` (a template literal). */
  readonly pattern: boolean
  /** `file:line` of the literal, relative to the repository root. */
  readonly where: string
}

/** A call whose reason is a variable or a property: where its values come from must be known. */
export interface DynamicSite {
  /** `path/from/src/ingest:expression`, e.g. `formats/conntrack.ts:flow`. */
  readonly key: string
  readonly where: string
}

/** What {@link scanIngestReasons} found. */
export interface ScanResult {
  readonly reasons: readonly FoundReason[]
  /** Calls whose reason is a `string` variable or property that no entry of DYNAMIC_SOURCES follows. */
  readonly dynamic: readonly DynamicSite[]
  /** Entries of DYNAMIC_SOURCES that no call needs any more. */
  readonly unused: readonly string[]
}

interface Source {
  readonly rel: string
  readonly file: ts.SourceFile
}

/** Every `.ts` file under `dir` (absolute paths, sorted). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(dir, f))
    .sort()
}

function lineOf(src: Source, node: ts.Node): string {
  const { line } = src.file.getLineAndCharacterOfPosition(node.getStart(src.file))
  return `${src.rel}:${String(line + 1)}`
}

/** The string literals a type stands for, when it is a string literal or a union of them. */
function literalsOfType(type: ts.Type): string[] | undefined {
  const parts = type.isUnion() ? type.types : [type]
  const out: string[] = []
  for (const t of parts) {
    if (t.isStringLiteral()) out.push(t.value)
    else if (t.isNumberLiteral()) out.push(String(t.value))
    else return undefined
  }
  return out.length > 0 ? out : undefined
}

/**
 * The values `expr` can take: a string literal; a template literal, each substitution expanded
 * to the literal values its type allows (`${t.from}` of type `'name' | 'mtime'`) or, where the type
 * is no union of literals, kept as `*` (a pattern); either branch of `c ? a : b`; either side of
 * `a ?? b` and `a || b`; any other expression whose type (as the checker narrows it there) is a
 * union of string literals. `undefined` for the rest (a `string` variable or property): a dynamic
 * reason, followed through {@link DYNAMIC_SOURCES}.
 */
function valuesOf(
  src: Source,
  checker: ts.TypeChecker,
  expr: ts.Expression,
): FoundReason[] | undefined {
  const where = lineOf(src, expr)
  if (ts.isParenthesizedExpression(expr) || ts.isAsExpression(expr))
    return valuesOf(src, checker, expr.expression)
  if (ts.isStringLiteral(expr) || ts.isNoSubstitutionTemplateLiteral(expr))
    return [{ reason: expr.text, pattern: false, where }]
  if (ts.isTemplateExpression(expr)) {
    let texts = [{ text: expr.head.text, pattern: false }]
    for (const span of expr.templateSpans) {
      const values = literalsOfType(checker.getTypeAtLocation(span.expression)) ?? ['*']
      texts = texts.flatMap((t) =>
        values.map((v) => ({
          text: t.text + v + span.literal.text,
          pattern: t.pattern || v === '*',
        })),
      )
    }
    return texts.map((t) => ({ reason: t.text, pattern: t.pattern, where }))
  }
  if (ts.isConditionalExpression(expr)) {
    const a = valuesOf(src, checker, expr.whenTrue)
    const b = valuesOf(src, checker, expr.whenFalse)
    return a && b ? [...a, ...b] : undefined
  }
  if (
    ts.isBinaryExpression(expr) &&
    (expr.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken ||
      expr.operatorToken.kind === ts.SyntaxKind.BarBarToken)
  ) {
    // `converted ?? 'missing-tuple'`: the left side's values without undefined and null
    const a =
      valuesOf(src, checker, expr.left) ??
      literalsOfType(checker.getNonNullableType(checker.getTypeAtLocation(expr.left)))?.map(
        (reason) => ({ reason, pattern: false, where }),
      )
    const b = valuesOf(src, checker, expr.right)
    return a && b ? [...a, ...b] : undefined
  }
  const literals = literalsOfType(checker.getTypeAtLocation(expr))
  return literals?.map((reason) => ({ reason, pattern: false, where }))
}

function calleeName(call: ts.CallExpression): string | undefined {
  const c = call.expression
  if (ts.isIdentifier(c)) return c.text
  if (ts.isPropertyAccessExpression(c)) return c.name.text
  return undefined
}

/**
 * Every call of a function or method named one of `names` in `src`; with `bare`, of a function
 * only (`push(out, …)`, not `out.push(…)`).
 */
function callsOf(src: Source, names: readonly string[], bare = false): ts.CallExpression[] {
  const out: ts.CallExpression[] = []
  const visit = (n: ts.Node): void => {
    if (ts.isCallExpression(n) && (!bare || ts.isIdentifier(n.expression))) {
      const name = calleeName(n)
      if (name !== undefined && names.includes(name)) out.push(n)
    }
    ts.forEachChild(n, visit)
  }
  visit(src.file)
  return out
}

/** The reason argument of a `skip`/`note` call: the second, or the first of `this.note(r)`. */
function reasonArgument(call: ts.CallExpression): ts.Expression | undefined {
  const [a, b] = call.arguments
  return call.arguments.length === 1 ? a : b
}

/** The files of `src/ingest` parsed and type-checked together. */
class IngestSources {
  readonly checker: ts.TypeChecker
  private readonly byRel = new Map<string, Source>()

  constructor(repoRoot: string) {
    const dir = path.join(repoRoot, 'src', 'ingest')
    const files = filesUnder(dir)
    // only the reasons' types matter: the files of src/ingest alone, no imports followed (the
    // types of the core and of Node are `any` here), so that checking takes seconds
    const program = ts.createProgram(files, {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      exactOptionalPropertyTypes: true,
      noEmit: true,
      noResolve: true,
      types: [],
      lib: ['lib.es2023.d.ts'],
    })
    this.checker = program.getTypeChecker()
    for (const f of files) {
      const file = program.getSourceFile(f)
      if (!file) throw new Error(`not parsed: ${f}`)
      const rel = path.relative(dir, f).split(path.sep).join('/')
      this.byRel.set(rel, { rel: `src/ingest/${rel}`, file })
    }
  }

  /** The file at `rel` under src/ingest (`formats/zeek.ts`). */
  get(rel: string): Source {
    const s = this.byRel.get(rel)
    if (!s) throw new Error(`no src/ingest/${rel}`)
    return s
  }

  entries(): [string, Source][] {
    return [...this.byRel]
  }

  values(src: Source, expr: ts.Expression): FoundReason[] | undefined {
    return valuesOf(src, this.checker, expr)
  }

  /** Literal values of the `reason` property of every object literal in `rel`. */
  reasonProperties(rel: string): FoundReason[] {
    const src = this.get(rel)
    const out: FoundReason[] = []
    const visit = (n: ts.Node): void => {
      if (
        ts.isPropertyAssignment(n) &&
        ts.isIdentifier(n.name) &&
        n.name.text === 'reason' &&
        ts.isObjectLiteralExpression(n.parent)
      )
        out.push(...(this.values(src, n.initializer) ?? []))
      ts.forEachChild(n, visit)
    }
    visit(src.file)
    return out
  }

  /** Literal values of argument `index` of every call of `name` in `rel` (see {@link callsOf}). */
  argumentValues(rel: string, name: string, index: number, bare = false): FoundReason[] {
    const src = this.get(rel)
    return callsOf(src, [name], bare).flatMap((c) => {
      const a = c.arguments[index]
      return a === undefined ? [] : (this.values(src, a) ?? [])
    })
  }

  /** The string literals the functions named `names` in `rel` return. */
  returnedLiterals(rel: string, names: readonly string[]): FoundReason[] {
    const src = this.get(rel)
    const out: FoundReason[] = []
    const inFunction = (n: ts.Node): boolean => {
      // the nearest function around the return (not a callback inside one of them)
      let p = n.parent
      while (!ts.isFunctionLike(p) && !ts.isSourceFile(p)) p = p.parent
      return ts.isFunctionDeclaration(p) && p.name !== undefined && names.includes(p.name.text)
    }
    const visit = (n: ts.Node): void => {
      if (ts.isReturnStatement(n) && n.expression !== undefined && inFunction(n)) {
        const type = this.checker.getTypeAtLocation(n.expression)
        const parts = type.isUnion() ? type.types : [type]
        for (const t of parts)
          if (t.isStringLiteral())
            out.push({ reason: t.value, pattern: false, where: lineOf(src, n) })
      }
      ts.forEachChild(n, visit)
    }
    visit(src.file)
    return out
  }
}

/**
 * Where the reasons passed on in a `string` variable come from, per call site (`file under
 * src/ingest:expression`), read from the code. A site missing here is reported (the test fails),
 * so that a reason passed on in a new way is followed, not missed. The key is the expression's
 * text, so a second call in the same file with the same expression is followed the same way:
 * read it when adding one.
 */
const DYNAMIC_SOURCES: Readonly<Record<string, (s: IngestSources) => FoundReason[]>> = {
  // split() and toFlow() return a skip reason instead of a record or a flow
  'formats/conntrack.ts:flow': (s) =>
    s.returnedLiterals('formats/conntrack.ts', ['split', 'toFlow']),
  // JsonObjectSplitter's onBad(reason, line, text)
  'formats/hubble.ts:reason': (s) => s.argumentValues('json-objects.ts', 'onBad', 0),
  'formats/gcp-vpc.ts:reason': (s) => s.argumentValues('json-objects.ts', 'onBad', 0),
  // NetflowDecoder's DecodeProblem: push(out, kind, reason, …), pushFlowNote(out, reason, …) and
  // { reason } literals (the collector reports them through formats/netflow.ts reportProblem)
  'formats/netflow.ts:p.reason': netflowProblems,
  // FirewallEventMerger's note(reason)
  'formats/netflow.ts:reason': (s) => s.argumentValues('netflow/events.ts', 'note', 0),
  'collector.ts:reason': (s) => s.argumentValues('netflow/events.ts', 'note', 0),
}

function netflowProblems(s: IngestSources): FoundReason[] {
  return [
    ...s.argumentValues('netflow/decoder.ts', 'push', 2, true),
    ...s.argumentValues('netflow/decoder.ts', 'pushFlowNote', 1, true),
    ...s.reasonProperties('netflow/decoder.ts'),
  ]
}

/**
 * The skip reasons and notes of `src/ingest` under `repoRoot`: the values of the reason argument
 * of every `skip`/`note` call (see {@link valuesOf}), and for a reason in a `string` variable the
 * literals {@link DYNAMIC_SOURCES} names (a site it does not name is returned in `dynamic`).
 * Takes a few seconds: the files are type-checked.
 */
export function scanIngestReasons(repoRoot: string): ScanResult {
  const s = new IngestSources(repoRoot)
  const reasons: FoundReason[] = []
  const dynamic: DynamicSite[] = []
  const followed = new Set<string>()
  for (const [rel, src] of s.entries()) {
    for (const call of callsOf(src, ['skip', 'note'])) {
      const arg = reasonArgument(call)
      if (arg === undefined) continue
      const v = s.values(src, arg)
      if (v) {
        reasons.push(...v)
        continue
      }
      const key = `${rel}:${arg.getText(src.file)}`
      const follow = DYNAMIC_SOURCES[key]
      if (follow) {
        if (!followed.has(key)) reasons.push(...follow(s))
        followed.add(key)
      } else dynamic.push({ key, where: lineOf(src, call) })
    }
  }
  const unused = Object.keys(DYNAMIC_SOURCES).filter((k) => !followed.has(k))
  return { reasons, dynamic, unused }
}
