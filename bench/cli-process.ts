/**
 * @module Running the built CLI from a benchmark: the repository root, building `dist/`, and the
 * CPU time of waited-for child processes, so a benchmark times `bulkhead` as users run it.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root (the folder holding `package.json`). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** The built CLI's entry point, `dist/cli/bulkhead.js` (the package's `bin`, bundled). */
export const CLI = path.join(ROOT, 'dist', 'cli', 'bulkhead.js')

/**
 * CPU seconds (user + system, every thread) of this process's waited-for children
 * (`cutime + cstime` of /proc/self/stat, proc(5)), or null where /proc is missing.
 */
export function childrenCpu(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // fields 16 and 17 of proc(5), counted from 1 with pid and comm: indices 13 and 14 here;
    // in clock ticks, 1/100 s on Linux (`getconf CLK_TCK`)
    return (Number(f[13]) + Number(f[14])) / 100
  } catch {
    return null
  }
}

/**
 * Builds `dist/` (the CLI users run) from the current sources, as `npm run build` does: the
 * TypeScript build, then the bundle of the CLI (scripts/bundle-cli.mjs).
 * @throws Error when either step fails.
 */
export function build(): void {
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
  const steps = [[tsc, '-p', 'tsconfig.build.json'], [path.join(ROOT, 'scripts', 'bundle-cli.mjs')]]
  for (const args of steps) {
    const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit' })
    if (r.status !== 0) throw new Error(`the build failed (exit ${String(r.status)})`)
  }
}

/** spawnSync's standard output: null when it went to a file descriptor, which its type omits. */
function stdoutOf(out: string | null): string {
  return out ?? ''
}

/** Seconds of wall time and of the child's CPU (null without /proc) of one CLI run. */
export interface CliRun {
  readonly seconds: number
  readonly cpuSeconds: number | null
  readonly status: number | null
  /** Standard output, unless it was sent to a file. */
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs `node dist/cli/bulkhead.js ...args` and waits for it; standard output is kept (up to
 * 64 MiB), or written to the file descriptor `stdoutFd` when given (e.g. /dev/null, so that a
 * large report is produced but not held).
 */
export function runCli(args: readonly string[], stdoutFd?: number): CliRun {
  const cpu0 = childrenCpu()
  const t = performance.now()
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    stdio: ['ignore', stdoutFd ?? 'pipe', 'pipe'],
  })
  const seconds = (performance.now() - t) / 1000
  const cpu1 = childrenCpu()
  return {
    seconds,
    cpuSeconds: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0,
    status: r.status,
    stdout: stdoutOf(r.stdout),
    stderr: r.stderr,
  }
}
