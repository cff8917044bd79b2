/**
 * @module Runs the CLI in-process and captures stdout, stderr and the exit code.
 */
import { run } from '../../src/cli/main.js'

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs `bulkhead ...args` in this process. Not reentrant: tests using it must not run concurrently in one file. */
export async function cli(...args: string[]): Promise<CliResult> {
  let stdout = ''
  let stderr = ''
  const out = process.stdout.write.bind(process.stdout)
  const err = process.stderr.write.bind(process.stderr)
  process.stdout.write = (chunk: string | Uint8Array) => {
    stdout += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()
    return true
  }
  process.stderr.write = (chunk: string | Uint8Array) => {
    stderr += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()
    return true
  }
  process.exitCode = undefined
  try {
    const code = await run(args)
    return { code, stdout, stderr }
  } finally {
    process.stdout.write = out
    process.stderr.write = err
    process.exitCode = undefined
  }
}

/** `bulkhead compile --target TARGET --out OUT -w WS --at NOW ...extra` ({@link cli}). */
export function compileCli(
  target: string,
  out: string,
  ws: string,
  now: string,
  ...extra: string[]
): Promise<CliResult> {
  return cli('compile', '--target', target, '--out', out, '-w', ws, '--at', now, ...extra)
}
