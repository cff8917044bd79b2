/**
 * @module The summary reporter's last line (`N passed, N failed, N skipped`, which CI reads)
 * counts every failure Vitest fails the run for, also those outside any test: a beforeAll or
 * afterAll that throws (Vitest reports the tests of a failed beforeAll as skipped), a file that
 * cannot be collected, an unhandled rejection. It counted only the last, so a broken setup read
 * as skips.
 */
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { runProcess } from './helpers/process.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CONFIG = fileURLToPath(new URL('fixtures/reporter/vitest.config.ts', import.meta.url))

describe('summary reporter', () => {
  it('counts a failure outside the tests as failed, not as skipped tests', async () => {
    const r = await runProcess(
      [process.execPath, 'node_modules/vitest/vitest.mjs', 'run', '--config', CONFIG],
      { cwd: ROOT },
    )
    expect(r.code).toBe(1)
    // passed: c, e; skipped: a, b (suite setup) and d (module setup); failed: the two suite
    // hooks, the module hook, the file that cannot be collected, the unhandled rejection
    const lines = r.stdout.split('\n').filter((l) => /^\d+ passed, \d+ failed/.test(l))
    expect(lines).toEqual(['2 passed, 5 failed, 3 skipped'])
  }, 60_000)
})
