/**
 * Verbs run outside a workspace: one check for every verb with `-w`, `workspace/not-found`, exit 1.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Command } from 'commander'
import { afterAll, describe, expect, it } from 'vitest'
import { buildProgram } from '../../src/cli/main.js'
import { cli } from '../helpers/cli.js'

const tmp = mkdtempSync(join(tmpdir(), 'bulkhead-no-workspace-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** Each verb with `-w`, by command path, with the arguments it needs besides `-w DIR`. */
const VERBS: Readonly<Record<string, readonly string[]>> = {
  validate: [],
  eval: ['10.0.0.1 -> 10.0.0.2 tcp/22'],
  ingest: [],
  recommend: [],
  discover: [],
  inventory: [],
  'inventory suggest-labels': [],
  simulate: [],
  lint: [],
  compile: ['--target', 'nftables', '--out', join(tmp, 'out')],
  connlist: [],
  'blast-radius': [],
  metrics: [],
  diff: [join(tmp, 'old'), join(tmp, 'new')],
}
/**
 * Each verb with `-w`, with a command line that is wrong by itself (a bad option value, or two
 * options that exclude each other): reported as `cli/usage`, exit 1, even where there is no
 * workspace, as commander reports an unknown option.
 */
const BAD_USAGE: Readonly<Record<string, readonly string[]>> = {
  validate: ['--at', 'yesterday'],
  eval: ['10.0.0.1 -> 10.0.0.2 tcp/22', '--at', 'yesterday'],
  ingest: ['--format', 'nope'],
  recommend: ['--granularity', 'team'],
  discover: ['--top', 'many'],
  inventory: ['-o', 'xml'],
  'inventory suggest-labels': ['--group', 'team'],
  simulate: ['--flows', 'f.csv', '--since', '2026-11-01'],
  lint: ['--expiring-days', 'soon'],
  compile: ['--target', 'pf', '--out', join(tmp, 'out')],
  connlist: ['--at', 'yesterday'],
  'blast-radius': ['--baseline', 'none'],
  metrics: ['--expiring-days', 'soon'],
  diff: [join(tmp, 'old'), join(tmp, 'new'), '--flows', 'f.csv', '--until', '2026-11-01'],
}

/** Verbs that may run where there is no workspace yet. */
const EXEMPT = new Set(['init'])

function withWorkspaceOption(cmd: Command, prefix = ''): string[] {
  const out: string[] = []
  for (const sub of cmd.commands) {
    const name = `${prefix}${sub.name()}`
    if (sub.options.some((o) => o.long === '--workspace')) out.push(name)
    out.push(...withWorkspaceOption(sub, `${name} `))
  }
  return out
}

describe('a verb that needs a workspace, run where there is none', () => {
  it('every verb with -w is listed here', async () => {
    const program = await buildProgram()
    expect(withWorkspaceOption(program).filter((v) => !EXEMPT.has(v))).toEqual(
      expect.arrayContaining(Object.keys(VERBS)),
    )
    expect(Object.keys(VERBS)).toEqual(
      expect.arrayContaining(withWorkspaceOption(program).filter((v) => !EXEMPT.has(v))),
    )
  })

  it.each(Object.entries(VERBS))('%s: workspace/not-found, exit 1', async (verb, args) => {
    const bare = mkdtempSync(join(tmp, 'bare-'))
    mkdirSync(join(tmp, 'old'), { recursive: true })
    mkdirSync(join(tmp, 'new'), { recursive: true })
    const r = await cli(...verb.split(' '), '-w', bare, ...args)
    expect(r.stderr).toContain('error workspace/not-found')
    expect(r.code).toBe(1)
    // nothing written where it ran
    expect(existsSync(join(bare, '.bulkhead'))).toBe(false)
  })

  it('every verb with -w has a bad command line here', () => {
    expect(Object.keys(BAD_USAGE).sort()).toEqual(Object.keys(VERBS).sort())
  })

  it.each(Object.entries(BAD_USAGE))(
    '%s: a bad command line is cli/usage before the workspace check, exit 1',
    async (verb, args) => {
      const bare = mkdtempSync(join(tmp, 'usage-'))
      const r = await cli(...verb.split(' '), '-w', bare, ...args)
      expect(r.code).toBe(1)
      expect(r.stderr).toContain('error cli/usage')
      expect(r.stderr).not.toContain('workspace/not-found')
    },
  )

  it('-o json of a bad command line gives the failure document with cli/usage', async () => {
    const bare = mkdtempSync(join(tmp, 'usage-'))
    const r = await cli('compile', '-w', bare, '--target', 'pf', '--out', bare, '-o', 'json')
    expect(r.code).toBe(1)
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: false,
      diagnostics: [expect.objectContaining({ code: 'cli/usage' })],
    })
  })

  it('-o json gives the failure document; a missing folder is io/not-found', async () => {
    const bare = mkdtempSync(join(tmp, 'bare-'))
    const r = await cli('lint', '-w', bare, '-o', 'json')
    expect(r.code).toBe(1)
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: false,
      diagnostics: [expect.objectContaining({ code: 'workspace/not-found' })],
    })
    const missing = await cli('connlist', '-w', join(tmp, 'nosuch'))
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('error io/not-found')
    expect(missing.stderr).toContain('bulkhead init -w')
    // a file, as `-w ws/bulkhead.yaml`: no advice to init there (s44 QA hostile F11)
    const file = join(bare, 'bulkhead.yaml')
    writeFileSync(file, '')
    const onFile = await cli('validate', '-w', file)
    expect(onFile.code).toBe(1)
    expect(onFile.stderr).toContain(
      `it is a file: -w takes the workspace folder, e.g. -w "${bare}"`,
    )
    expect(onFile.stderr).not.toContain('bulkhead init')
    // another file: its folder is no workspace to point at (s44 QA retest F10)
    const other = join(bare, 'flows.log')
    writeFileSync(other, '')
    const onOther = await cli('validate', '-w', other)
    expect(onOther.stderr).toContain('it is a file: -w takes a workspace folder')
    expect(onOther.stderr).not.toContain('e.g. -w')
  })

  it('bulkhead.yaml, or an inventory/, policy/ or .bulkhead/ folder, makes a workspace', async () => {
    for (const mark of ['bulkhead.yaml', 'inventory', 'policy', '.bulkhead']) {
      const ws = mkdtempSync(join(tmp, 'ws-'))
      if (mark.endsWith('.yaml'))
        writeFileSync(join(ws, mark), 'apiVersion: bulkhead.dev/v1\nkind: Workspace\n')
      else mkdirSync(join(ws, mark))
      const r = await cli('validate', '-w', ws, '-o', 'json')
      expect(r.code, `${mark}: ${r.stderr}`).toBe(0)
    }
  })

  it('init writes one; ingest FILE stores into the folder (it becomes one)', async () => {
    const ws = mkdtempSync(join(tmp, 'init-'))
    expect((await cli('init', '-w', ws)).code).toBe(0)
    expect((await cli('validate', '-w', ws)).code).toBe(0)
    const bare = mkdtempSync(join(tmp, 'ingest-'))
    const flows = join(bare, 'flows.csv')
    writeFileSync(flows, 'src_ip,dst_ip,src_port,dst_port,protocol\n10.0.0.1,10.0.0.2,1,2,tcp\n')
    const ingest = await cli('ingest', '-w', bare, flows)
    expect(ingest.code, ingest.stderr).toBe(0)
    expect((await cli('discover', '-w', bare, '-o', 'json')).code).toBe(0)
  }, 30_000)

  it('ingest FILE where nothing usable is read creates no store and no .bulkhead/', async () => {
    const bare = mkdtempSync(join(tmp, 'unusable-'))
    const junk = join(bare, 'junk.txt')
    writeFileSync(junk, 'this is not a flow log\n')
    const r = await cli('ingest', '-w', bare, junk, '-o', 'json')
    expect(r.code).toBe(1)
    expect(existsSync(join(bare, '.bulkhead'))).toBe(false)
    expect(JSON.parse(r.stdout)).toMatchObject({
      failed: [junk],
      records: 0,
      storeCreated: false,
      storeRemoved: true,
    })
    // the folder is still no workspace
    expect((await cli('discover', '-w', bare)).stderr).toContain('error workspace/not-found')
    const text = await cli('ingest', '-w', bare, junk)
    expect(text.code).toBe(1)
    expect(existsSync(join(bare, '.bulkhead'))).toBe(false)
    // a usable file creates it, and says so
    const flows = join(bare, 'flows.csv')
    writeFileSync(flows, 'src_ip,dst_ip,src_port,dst_port,protocol\n10.0.0.1,10.0.0.2,1,2,tcp\n')
    const ok = await cli('ingest', '-w', bare, flows, '-o', 'json')
    expect(ok.code, ok.stderr).toBe(0)
    expect(JSON.parse(ok.stdout)).toMatchObject({ records: 1, storeCreated: true })
    expect(existsSync(join(bare, '.bulkhead', 'store.duckdb'))).toBe(true)
    // a store that was there stays, whatever the run stores
    const again = await cli('ingest', '-w', bare, junk, '-o', 'json')
    expect(JSON.parse(again.stdout)).toMatchObject({ storeCreated: false })
    expect(existsSync(join(bare, '.bulkhead', 'store.duckdb'))).toBe(true)
  }, 30_000)
})
