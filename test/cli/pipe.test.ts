/**
 * The CLI as a process in a pipeline: `bulkhead flows FILE | head` must end quietly when the
 * reader closes the pipe, not with an unhandled EPIPE and a stack trace.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { writeAwsVpcFile } from '../../bench/generate.js'

const dir = mkdtempSync(join(tmpdir(), 'bulkhead-pipe-'))
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe('bulkhead in a pipeline', () => {
  it('ends_quietly_with_exit_0_when_the_reader_closes_the_pipe', async () => {
    const file = join(dir, 'vpc.log')
    writeAwsVpcFile(file, 50_000, 3)
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url)),
        'flows',
        file,
        '-o',
        'jsonl',
      ],
      { cwd: fileURLToPath(new URL('../..', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let stderr = ''
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
    // read the first line, then close our end of the pipe, as `head -1` does
    const first = await new Promise<string>((resolve) => {
      child.stdout.once('data', (b: Buffer) => {
        resolve(b.toString().split('\n')[0] ?? '')
        child.stdout.destroy()
      })
    })
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    expect(JSON.parse(first)).toMatchObject({ source: { format: 'aws-vpc' } })
    expect(stderr).not.toMatch(/EPIPE|Error/)
    expect(code).toBe(0)
  }, 60_000)
})
