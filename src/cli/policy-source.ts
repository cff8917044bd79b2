/**
 * @module Policy sets named on the command line (`diff OLD NEW`, `simulate --policy`,
 * `blast-radius --compare`, `metrics --previous`): a folder, or a folder of a git revision.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { BulkheadError, diagnostic, type SourceLocation } from '../core/index.js'
import { readYamlFolder } from '../policy/files.js'
import type { SourceFile } from '../policy/load.js'

const run = promisify(execFile)
const YAML_EXT = /\.ya?ml$/i

/**
 * The policy files of a policy set given on the command line: a folder on disk, or `REV:path`, a folder of a git revision
 * (`HEAD~1:policy`), read with `git ls-tree` and `git show` in the repository holding `gitDir`
 * (path relative to the repository root, or to `gitDir` when it starts with `./`).
 * @throws BulkheadError `diff/bad-revision` when git cannot read it, `diff/not-a-folder` when
 *   the path is not a folder, `io/not-found` when neither a folder nor `REV:path`.
 */
export async function readPolicySource(spec: string, gitDir: string): Promise<SourceFile[]> {
  const loc: SourceLocation = { file: spec, line: 0, column: 0 }
  const st = await stat(spec).catch(() => undefined)
  if (st) {
    if (!st.isDirectory()) {
      throw new BulkheadError([
        diagnostic('diff/not-a-folder', `"${spec}" is not a policy folder`, loc, {
          hint: 'give a folder of policy files, or a git revision and folder such as HEAD~1:policy',
        }),
      ])
    }
    return readYamlFolder(spec)
  }
  const colon = spec.indexOf(':')
  if (colon <= 0) {
    throw new BulkheadError([
      diagnostic('io/not-found', `"${spec}" is neither a folder nor a git revision REV:path`, loc),
    ])
  }
  const rev = spec.slice(0, colon)
  const dir = spec.slice(colon + 1).replace(/\/+$/, '')
  const git = async (
    args: string[],
    hint: () => Promise<string> = () => Promise.resolve(BAD_REVISION_HINT),
  ): Promise<string> => {
    try {
      const { stdout } = await run('git', args, {
        cwd: gitDir,
        maxBuffer: 256 << 20,
        encoding: 'utf8',
      })
      return stdout
    } catch (err) {
      const msg = ((err as { stderr?: string }).stderr ?? (err as Error).message)
        .trim()
        .split('\n')[0]
      throw new BulkheadError([
        diagnostic('diff/bad-revision', `cannot read "${spec}" from git: ${msg}`, loc, {
          hint: await hint(),
        }),
      ])
    }
  }
  const type = (
    await git(['cat-file', '-t', `${rev}:${dir}`], () => fromRootHint(rev, dir, gitDir))
  ).trim()
  if (type !== 'tree') {
    throw new BulkheadError([
      diagnostic('diff/not-a-folder', `"${spec}" is a git ${type}, not a policy folder`, loc, {
        hint: 'name the folder that holds the policy files, such as HEAD~1:policy',
      }),
    ])
  }
  const names = (await git(['ls-tree', '--full-tree', '-r', '-z', '--name-only', `${rev}:${dir}`]))
    .split('\0')
    .filter(
      (n) => n !== '' && YAML_EXT.test(n) && !n.split('/').some((part) => part.startsWith('.')),
    )
    .sort()
  const files: SourceFile[] = []
  for (const n of names) {
    const file = dir === '' ? n : `${dir}/${n}`
    files.push({ path: `${rev}:${file}`, text: await git(['show', `${rev}:${file}`]) })
  }
  return files
}

const BAD_REVISION_HINT =
  'name a commit of the repository and a folder in it, such as HEAD~1:policy; git ls-tree REV:path lists what it holds'

/**
 * The hint for a `REV:path` git cannot read. git reads `path` from the repository root, so for a
 * workspace in a subfolder `HEAD~1:policy` names no folder while `HEAD~1:./policy` does: when
 * `REV:./path` is a folder of that revision (read from `gitDir`), the hint names it and the path
 * from the root, as `git rev-parse` does (`git cat-file` gives no such hint); else the general one.
 * Called only once git has failed to read `REV:path`.
 */
async function fromRootHint(rev: string, dir: string, gitDir: string): Promise<string> {
  if (dir === '' || dir.startsWith('./') || dir.startsWith('/')) return BAD_REVISION_HINT
  const out = (args: string[]): Promise<string | undefined> =>
    run('git', args, { cwd: gitDir, encoding: 'utf8' }).then(
      (r) => r.stdout.trim(),
      () => undefined,
    )
  const [prefix, type] = await Promise.all([
    out(['rev-parse', '--show-prefix']),
    out(['cat-file', '-t', `${rev}:./${dir}`]),
  ])
  if (prefix === undefined || prefix === '' || type !== 'tree') return BAD_REVISION_HINT
  return `git reads ${rev}:${dir} from the repository root, and the workspace is in ${prefix} of it: write ${rev}:./${dir} (or ${rev}:${prefix}${dir})`
}

/**
 * The revision of a `REV:path` file name (a policy file read from git by
 * {@link readPolicySource}), or undefined for a file of the working tree (a Windows drive letter
 * is not a revision).
 */
export function gitRevision(file: string): string | undefined {
  const colon = file.indexOf(':')
  return colon > 1 && !file.slice(0, colon).includes('/') ? file.slice(0, colon) : undefined
}

/**
 * The root of the git working tree that holds `dir`: the nearest folder, `dir` or above, with a
 * `.git` (a folder, or the file of a linked worktree or submodule); undefined outside one.
 */
export function repositoryRoot(dir: string): string | undefined {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if (existsSync(path.join(d, '.git'))) return d
    if (path.dirname(d) === d) return undefined
  }
}

/**
 * The working-tree file of a place `REV:path` read from git in the repository holding `gitDir`
 * (as {@link readPolicySource} reads it: `path` from the repository root, or from `gitDir` when
 * it starts with `./`): an absolute path. Other file names are returned unchanged.
 */
export function revisionFile(file: string, gitDir: string): string {
  const rev = gitRevision(file)
  if (rev === undefined) return file
  const rel = file.slice(rev.length + 1)
  if (rel.startsWith('./') || rel === '.') return path.resolve(gitDir, rel)
  return path.join(repositoryRoot(gitDir) ?? path.resolve(gitDir), rel)
}
