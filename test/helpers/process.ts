/**
 * @module Runs a command as its own process and collects what it printed, for the tests that
 * meet the CLI as a user does (a pseudo-terminal from script(1), a pipe).
 */
import { execFileSync, spawn } from 'node:child_process'

/** What a process printed, and its exit code (null when a signal ended it). */
export interface ProcessResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs `command` (argv) with stdin closed and stdout and stderr piped, from `cwd` (default the
 * current folder); kills it with SIGKILL after `timeoutMs` (default 60 s).
 */
export async function runProcess(
  command: readonly string[],
  options: { readonly cwd?: string; readonly timeoutMs?: number } = {},
): Promise<ProcessResult> {
  const child = spawn(command[0] as string, command.slice(1), {
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()))
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
  const code = await new Promise<number | null>((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
    child.on('exit', (c) => {
      clearTimeout(t)
      resolve(c)
    })
  })
  return { code, stdout, stderr }
}

/**
 * A `git` runner in `dir` for tests that build a repository: commits need no configured
 * identity and are never signed; output is dropped.
 * @throws Error (from execFileSync) when git exits non-zero.
 */
export function gitIn(dir: string): (...args: string[]) => void {
  return (...args) => {
    execFileSync(
      'git',
      [
        '-c',
        'user.name=t',
        '-c',
        'user.email=t@example.org',
        '-c',
        'commit.gpgsign=false',
        ...args,
      ],
      { cwd: dir, stdio: 'ignore' },
    )
  }
}
