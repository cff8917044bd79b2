/**
 * An unusable flow file among several: `flows`, `simulate --flows`, `lint --flows` and
 * `diff --flows` report it, read the others, and exit 1 (as `ingest` does); `--strict` stops at
 * it. The run summary counts only the files something was read from, as `ingest` counts them.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, describe, expect, it } from 'vitest'
import type { SimulateOutput } from '../../src/cli/commands/simulate.js'
import type { LintOutput } from '../../src/cli/commands/lint.js'
import { cli } from '../helpers/cli.js'

const W = 'test/fixtures/simulate-estate'
const FLOWS = `${W}/flows.csv`
const AT = '2026-10-25T00:00:00Z'
const tmp = mkdtempSync(path.join(tmpdir(), 'bulkhead-unusable-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const MISSING = path.join(tmp, 'nosuch.log')
/** A gzip cut short: its first records are read, then `ingest/truncated-input`. */
const TRUNCATED = path.join(tmp, 'cut.csv.gz')
{
  const rows = Array.from({ length: 3000 }, (_, i) => `10.0.0.1,10.0.0.2,${i + 1},443,tcp`)
  const gz = gzipSync(`src_ip,dst_ip,src_port,dst_port,protocol\n${rows.join('\n')}\n`)
  writeFileSync(TRUNCATED, gz.subarray(0, Math.floor(gz.length / 2)))
}

/** `bulkhead VERB -w W --at AT ...args`. */
const inEstate = (verb: string, ...args: string[]): ReturnType<typeof cli> =>
  cli(verb, '-w', W, '--at', AT, ...args)

describe('simulate --flows with an unusable file', () => {
  it('judges the other files, names the unusable one in source.failed, exits 1', async () => {
    const alone = await inEstate('simulate', '--flows', FLOWS, '-o', 'json')
    expect(alone.code).toBe(0)
    const both = await inEstate('simulate', '--flows', FLOWS, MISSING, '-o', 'json')
    expect(both.code).toBe(1)
    expect(both.stderr).toContain('fatal io/not-found')
    const out = JSON.parse(both.stdout) as SimulateOutput
    expect(out.source.failed).toEqual([MISSING])
    // the same judgement as without the missing file
    const first = JSON.parse(alone.stdout) as SimulateOutput
    expect(out.flows).toBe(first.flows)
    expect(out.outcomes).toEqual(first.outcomes)
    expect(first.source.failed).toEqual([])
  })

  it('a blocking run with an unusable file exits 1, not 2: the gate saw only part', async () => {
    const r = await inEstate('simulate', '--flows', FLOWS, MISSING, '--fail-on-block')
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('outcomes:')
  })

  it('--strict stops at it: no report, exit 1', async () => {
    const r = await inEstate('simulate', '--flows', MISSING, FLOWS, '--strict', '-o', 'json')
    expect(r.code).toBe(1)
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: false,
      diagnostics: [expect.objectContaining({ code: 'io/not-found' })],
    })
  })
})

describe('lint --flows and diff --flows with an unusable file', () => {
  it('lint reports the findings over the other files and exits 1', async () => {
    const r = await inEstate('lint', '--flows', FLOWS, MISSING, '-o', 'json')
    expect(r.code).toBe(1)
    const out = JSON.parse(r.stdout) as LintOutput
    expect(out.flows).toMatchObject({ failed: [MISSING] })
    expect(out.flows?.count).toBeGreaterThan(0)
  })

  it('diff replays the other files and exits 1', async () => {
    const policy = path.join(W, 'policy')
    const r = await cli('diff', policy, policy, '-w', W, '--flows', FLOWS, MISSING, '-o', 'json')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('fatal io/not-found')
    expect((JSON.parse(r.stdout) as { flows: { flows: number } }).flows.flows).toBeGreaterThan(0)
  })
})

describe('flows counts files as ingest does', () => {
  it('a missing file is not read: 0 files, and it is in failed', async () => {
    const r = await cli('flows', MISSING, '-o', 'json')
    expect(r.code).toBe(1)
    const doc = JSON.parse(r.stdout) as { failed: string[]; summary: { files: number } }
    expect(doc).toMatchObject({ failed: [MISSING], summary: { files: 0 } })
    const ingestWs = mkdtempSync(path.join(tmp, 'ws-'))
    const ingest = await cli('ingest', '-w', ingestWs, MISSING, '-o', 'json')
    expect(ingest.code).toBe(1)
    expect(JSON.parse(ingest.stdout)).toMatchObject({ files: 0, failed: [MISSING] })
  })

  it('a file read up to an error counts with the flows it gave', async () => {
    const r = await cli('flows', FLOWS, TRUNCATED, MISSING, '-o', 'json')
    expect(r.code).toBe(1)
    const doc = JSON.parse(r.stdout) as {
      flows: unknown[]
      failed: string[]
      summary: { files: number; records: number }
    }
    expect(doc.failed).toEqual([TRUNCATED, MISSING])
    expect(doc.summary.files).toBe(2)
    expect(doc.summary.records).toBe(doc.flows.length)
    expect(doc.flows.length).toBeGreaterThan(readFileSync(FLOWS, 'utf8').split('\n').length)
  })
})
