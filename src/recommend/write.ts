/**
 * @module Rendering a recommendation to policy files (path → YAML text). Pure; the CLI writes them.
 */
import { renderPolicy } from '../policy/render.js'
import type { RecommendResult } from './types.js'

/**
 * The policy files of a recommendation one at a time, sorted by file name: `[<policy name>.yaml,
 * YAML text]`, with the rule comments (time patterns, port ranges) above their rules. Each text is
 * rendered when asked for, so that a caller writing them one by one holds only one at a time (the
 * files of a large estate are hundreds of megabytes together).
 */
export function* recommendationFiles(
  result: Pick<RecommendResult, 'policies' | 'comments'>,
): Generator<[file: string, text: string]> {
  for (const p of [...result.policies].sort((a, b) => (a.file < b.file ? -1 : 1))) {
    const ruleComments = result.comments.get(p.name)
    yield [p.file, renderPolicy(p, ruleComments ? { ruleComments } : {})]
  }
}

/**
 * The policy files of a recommendation: `<policy name>.yaml` → YAML text, with the rule comments
 * (time patterns, port ranges) above their rules. Sorted by file name. All of them at once; see
 * {@link recommendationFiles} for one at a time.
 */
export function renderRecommendation(
  result: Pick<RecommendResult, 'policies' | 'comments'>,
): Map<string, string> {
  return new Map(recommendationFiles(result))
}
