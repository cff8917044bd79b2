/**
 * The CLI as a process in a pipeline: `bulkhead flows FILE | head` must end quietly when the
 * reader closes the pipe, not with an unhandled EPIPE and a stack trace.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { writeAwsVpcFile } from '../../bench/generate.js'

const dir = mkdtempSync(join(tmpdir(), 'bulkhead-pipe-'))
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

/** `bulkhead ...args` as its own process (run from the sources with tsx). */
function spawnCli(args: string[], stdin: 'ignore' | 'pipe'): ChildProcessWithoutNullStreams {
  return spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url)), ...args],
    { cwd: fileURLToPath(new URL('../..', import.meta.url)), stdio: [stdin, 'pipe', 'pipe'] },
  ) as ChildProcessWithoutNullStreams
}

describe('bulkhead in a pipeline', () => {
  it('ends_quietly_with_exit_0_when_the_reader_closes_the_pipe', async () => {
    const file = join(dir, 'vpc.log')
    writeAwsVpcFile(file, 50_000, 3)
    const child = spawnCli(['flows', file, '-o', 'jsonl'], 'ignore')
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

describe('bulkhead reading standard input', () => {
  it('output to a full disk (/dev/full) is io/write-failed, exit 1, no stack trace', async () => {
    const file = join(dir, 'full.log')
    writeAwsVpcFile(file, 5_000, 5)
    const out = openSync('/dev/full', 'w')
    try {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url)),
          'flows',
          file,
        ],
        { cwd: fileURLToPath(new URL('../..', import.meta.url)), stdio: ['ignore', out, 'pipe'] },
      )
      let stderr = ''
      child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()))
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
      expect(code).toBe(1)
      expect(stderr).toContain('error io/write-failed')
      expect(stderr).toContain('the disk is full')
      expect(stderr).not.toContain('internal error')
    } finally {
      closeSync(out)
    }
  }, 30_000)

  it('reads every record of a pipe without --format: detection does not eat the head', async () => {
    // a custom-format header on line 1 and more than the 64 KiB detection reads
    const lines = [
      'version srcaddr dstaddr srcport dstport protocol bytes packets start end action',
    ]
    for (let i = 0; i < 3000; i++)
      lines.push(`3 10.0.0.1 10.0.0.2 ${10_000 + i} 443 6 5585 7 1418530010 1418530070 ACCEPT`)
    const child = spawnCli(['flows', '-', '-o', 'jsonl'], 'pipe')
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()))
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
    child.stdin.end(`${lines.join('\n')}\n`)
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    expect(code, stderr).toBe(0)
    const flows = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { packets: number; bytes: number; source: { line: number } })
    expect(flows).toHaveLength(3000)
    // the header's order (bytes before packets), and line numbers from the first line
    expect(flows[0]).toMatchObject({ packets: 7, bytes: 5585, source: { line: 2 } })
    expect(flows[2999]?.source.line).toBe(3001)
  }, 60_000)
})
