import {
  copyFileSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { expandInputs } from '../../src/cli/inputs.js'
import type { Diagnostic } from '../../src/core/index.js'
import { cli } from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'bulkhead-inputs-'))
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe('a folder on the command line stands for every file beneath it', () => {
  // laid out as `aws s3 sync s3://bucket/AWSLogs/ flows/` does
  const root = join(dir, 'flows')
  const day = (d: string): string =>
    join(root, '123456789012', 'vpcflowlogs', 'eu-west-1', '2026', '11', d)
  mkdirSync(day('21'), { recursive: true })
  mkdirSync(day('22'), { recursive: true })
  mkdirSync(join(root, '.cache'), { recursive: true })
  writeFileSync(join(day('22'), 'b.log.gz'), '')
  writeFileSync(join(day('21'), 'a.log.gz'), '')
  writeFileSync(join(root, '.cache', 'x'), '')
  writeFileSync(join(root, '.DS_Store'), '')

  it('at any depth, sorted, hidden names left out; files, - and missing paths as given', () => {
    expect(expandInputs(['-', root, join(dir, 'missing.log')])).toEqual([
      '-',
      join(day('21'), 'a.log.gz'),
      join(day('22'), 'b.log.gz'),
      join(dir, 'missing.log'),
    ])
  })

  it('a symbolic link cycle or a second link to a file gives each file once, at its shortest path', () => {
    const top = join(dir, 'linked')
    mkdirSync(join(top, 'sub'), { recursive: true })
    writeFileSync(join(top, 'sub', 'a.log'), 'x')
    symlinkSync('..', join(top, 'sub', 'up')) // a link to the folder it is inside
    symlinkSync(join(top, 'sub', 'a.log'), join(top, 'again.log')) // the file once more
    symlinkSync(join(top, 'nowhere'), join(top, 'dangling.log'))
    writeFileSync(join(dir, 'outside.log'), 'y')
    symlinkSync(join(dir, 'outside.log'), join(top, 'z-outside.log')) // a file elsewhere: read
    expect(expandInputs([top])).toEqual([join(top, 'again.log'), join(top, 'z-outside.log')])
  })

  it('ingest of standard input is a usage error that says what to do', async () => {
    const r = await cli('ingest', '-w', dir, '-')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/does not read standard input/)
  })
})

describe('an input that stands for no file is a warning, not a silent empty ingest', () => {
  const ws = join(dir, 'ws-no-files')
  mkdirSync(join(ws, 'empty'), { recursive: true })
  writeFileSync(
    join(ws, 'bulkhead.yaml'),
    'apiVersion: bulkhead.dev/v1\nkind: Workspace\nsources:\n  - { path: "flows/*.log.gz", format: aws-vpc }\n',
  )

  it('a source glob matching nothing, and an empty folder, each give ingest/no-files', async () => {
    const fromSources = await cli('ingest', '-w', ws, '-o', 'json')
    expect(fromSources.code).toBe(0)
    const doc = JSON.parse(fromSources.stdout) as { files: number; diagnostics: { code: string }[] }
    expect(doc.files).toBe(0)
    expect(doc.diagnostics.map((d) => d.code)).toEqual(['ingest/no-files'])
    const folder = await cli('ingest', '-w', ws, join(ws, 'empty'))
    expect(folder.code).toBe(0)
    expect(folder.stderr).toContain('warning ingest/no-files')
  })

  it('flows of an empty folder warns too, on stderr and in the -o json summary', async () => {
    const text = await cli('flows', join(ws, 'empty'))
    expect(text.code).toBe(0)
    expect(text.stderr).toContain('warning ingest/no-files')
    const json = await cli('flows', join(ws, 'empty'), '-o', 'json')
    const doc = JSON.parse(json.stdout) as { summary: { diagnostics: { code: string }[] } }
    expect(doc.summary.diagnostics.map((d) => d.code)).toEqual(['ingest/no-files'])
  })
})

describe('a file named twice is read once (s44 QA hostile F2)', () => {
  const top = join(dir, 'twice')
  mkdirSync(join(top, 'logs'), { recursive: true })
  const a = join(top, 'logs', 'a.csv')
  writeFileSync(a, 'x')
  symlinkSync(a, join(top, 'link.csv'))
  linkSync(a, join(top, 'hard.csv'))

  it('by name, through its folder, through .., through a symbolic or hard link, with a warning each time', () => {
    const sink: Diagnostic[] = []
    const again = `${top}/logs/../logs/a.csv` // (join would fold the ..)
    const named = [a, a, join(top, 'logs'), again, join(top, 'link.csv'), join(top, 'hard.csv')]
    expect(expandInputs(named, sink)).toEqual([a])
    expect(sink.map((d) => d.code)).toEqual(Array(5).fill('ingest/file-named-twice'))
    expect(sink[0]?.message).toBe(`${a} is named more than once: read once`)
    expect(sink[1]?.message).toBe(
      `${a} (in folder ${join(top, 'logs')}) is named before: read once`,
    )
    expect(sink[2]?.message).toBe(`${again} is the same file as ${a}: read once`)
    // a folder named twice: one warning for it, not one per file
    const folder: Diagnostic[] = []
    writeFileSync(join(top, 'logs', 'b.csv'), 'y')
    expandInputs([join(top, 'logs'), join(top, 'logs')], folder)
    expect(folder.map((d) => d.message)).toEqual([
      `folder ${join(top, 'logs')}: 2 of its files are named before (${a}, ${join(top, 'logs', 'b.csv')}): read once`,
    ])
    // standard input, which can be read once (s44 QA retest F12)
    expect(expandInputs(['-', '-'], sink)).toEqual(['-'])
    expect(sink.at(-1)?.message).toBe('- is named more than once: read once')
  })

  it('flows and simulate --flows count its flows once', async () => {
    const W = 'test/fixtures/simulate-estate'
    const folder = join(top, 'estate-flows')
    mkdirSync(folder)
    const file = join(folder, 'flows.csv')
    copyFileSync(join(W, 'flows.csv'), file)
    const once = await cli('simulate', '-w', W, '--flows', file, '-o', 'json')
    const twice = await cli('simulate', '-w', W, '--flows', file, folder, '-o', 'json')
    expect(twice.code).toBe(once.code)
    expect(twice.stderr).toContain('warning ingest/file-named-twice')
    const flows = (r: { stdout: string }): unknown =>
      (JSON.parse(r.stdout) as { flows: unknown }).flows
    expect(flows(twice)).toEqual(flows(once))
    // a name given twice is named once where the report says what it read
    const same = await cli('simulate', '-w', W, '--flows', file, file, '-o', 'json')
    expect((JSON.parse(same.stdout) as { source: { what: string } }).source.what).toBe(file)
    // also spelled two ways (s45 QA retest F8); a folder keeps its name beside a file in it
    const again = `${folder}/../estate-flows/flows.csv`
    const spelled = await cli('simulate', '-w', W, '--flows', file, again, folder, '-o', 'json')
    expect((JSON.parse(spelled.stdout) as { source: { what: string } }).source.what).toBe(
      `${file}, ${folder}`,
    )
    const listed = await cli('flows', file, file, '-o', 'json')
    const doc = JSON.parse(listed.stdout) as {
      summary: { files: number; diagnostics: { code: string }[] }
    }
    expect(doc.summary.files).toBe(1)
    expect(doc.summary.diagnostics.map((d) => d.code)).toContain('ingest/file-named-twice')
  })
})

describe("a source glob that reaches the workspace's own files (s44 QA hostile F8)", () => {
  it('leaves out bulkhead.yaml, the inventory, the policy, the store, .bulkhead/ and .git/', async () => {
    const ws = join(dir, 'ws-glob')
    expect((await cli('init', '-w', ws)).code).toBe(0)
    mkdirSync(join(ws, 'flows'))
    writeFileSync(
      join(ws, 'flows', 'a.csv'),
      'src_ip,dst_ip,src_port,dst_port,protocol\n10.0.0.1,10.0.0.2,40000,443,tcp\n',
    )
    // a flow log kept in the inventory folder is a source's; git's files are not (s44 QA retest F8)
    writeFileSync(
      join(ws, 'inventory', 'kept.csv.log'),
      'src_ip,dst_ip,src_port,dst_port,protocol\n10.0.0.3,10.0.0.4,40000,443,tcp\n',
    )
    mkdirSync(join(ws, '.git'))
    writeFileSync(join(ws, '.git', 'HEAD'), 'ref: refs/heads/main\n')
    const yaml = join(ws, 'bulkhead.yaml')
    writeFileSync(
      yaml,
      'apiVersion: bulkhead.dev/v1\nkind: Workspace\nsources:\n  - { path: "**", format: auto }\n',
    )
    // twice: the second run finds the store the first made
    for (const run of [1, 2]) {
      const r = await cli('ingest', '-w', ws, '-o', 'json')
      expect(r.code, `run ${String(run)}: ${r.stderr}`).toBe(0)
      const doc = JSON.parse(r.stdout) as { files: number; diagnostics: { code: string }[] }
      expect(doc.diagnostics.map((d) => d.code)).not.toContain('ingest/unknown-format')
      expect(doc.files).toBe(run === 1 ? 2 : 0) // the second: already ingested
    }
  })
})
