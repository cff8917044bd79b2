/**
 * @module Rendering a recommendation to policy files (path → YAML text). Pure; the CLI writes them.
 */
import { renderPolicy } from '../policy/render.js'
import type { RecommendResult } from './types.js'

/**
 * The policy files of a recommendation: `<policy name>.yaml` → YAML text, with the rule comments
 * (time patterns, port ranges) above their rules. Sorted by file name.
 */
export function renderRecommendation(
  result: Pick<RecommendResult, 'policies' | 'comments'>,
): Map<string, string> {
  const out = new Map<string, string>()
  for (const p of [...result.policies].sort((a, b) => (a.file < b.file ? -1 : 1))) {
    const ruleComments = result.comments.get(p.name)
    out.set(p.file, renderPolicy(p, ruleComments ? { ruleComments } : {}))
  }
  return out
}
