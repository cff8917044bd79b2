/**
 * @module Vitest reporter that ends the run with one plain line, `N passed, N failed, N skipped`,
 * which CI reads (Vitest's own summary is decorated and not parsed by CI).
 */
import type { SerializedError } from 'vitest'
import type { Reporter, TestModule } from 'vitest/node'

export default class SummaryReporter implements Reporter {
  onTestRunEnd(
    testModules: readonly TestModule[],
    unhandledErrors: readonly SerializedError[] = [],
  ): void {
    let passed = 0
    let failed = 0
    let skipped = 0
    for (const mod of testModules) {
      const tests = [...mod.children.allTests()]
      for (const test of tests) {
        const state = test.result().state
        if (state === 'passed') passed++
        else if (state === 'failed') failed++
        else skipped++
      }
      // An error outside any test is a failure of its own: a module that failed to load (syntax
      // error, import failure, a throw while collecting), or a beforeAll/afterAll that threw,
      // whose tests Vitest then reports as skipped.
      if (mod.errors().length > 0 || (mod.state() === 'failed' && tests.length === 0)) failed++
      for (const suite of mod.children.allSuites()) if (suite.errors().length > 0) failed++
    }
    // errors Vitest caught outside every test (an unhandled rejection): the run fails for them
    failed += unhandledErrors.length
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`)
  }
}
