/**
 * The verbs that read `--flows` files (`simulate`, `lint`, `diff`) take the flow-file options of
 * `flows` and `ingest`: `--fields` for an AWS custom format without its header line, checked
 * before anything is read. Without it such a file is three `field-count` records and no flow.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { SimulateOutput } from '../../src/cli/commands/simulate.js'
import type { LintOutput } from '../../src/cli/commands/lint.js'
import { cli } from '../helpers/cli.js'

const W = 'test/fixtures/simulate-estate'
const AT = '2026-10-25T00:00:00Z'
const tmp = mkdtempSync(path.join(tmpdir(), 'bulkhead-flow-file-options-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** An AWS custom format (no header line): source and destination first, version near the end. */
const FIELDS =
  'srcaddr dstaddr srcport dstport protocol packets bytes start end action version log-status'
const T = Date.parse('2026-10-20T10:00:00Z') / 1000
const CUSTOM = path.join(tmp, 'eni-custom.log')
writeFileSync(
  CUSTOM,
  [
    // pay-web-1 -> pay-api-1 tcp/443: allowed by web-to-api
    `10.20.1.10 10.20.2.10 51000 443 6 10 2000 ${T} ${T + 1} ACCEPT 2 OK`,
    // pay-api-1 -> pay-db-1 tcp/5432: allowed by api-to-db
    `10.20.2.10 10.20.3.10 51001 5432 6 3 180 ${T + 60} ${T + 61} ACCEPT 2 OK`,
    // pay-api-dev-1 -> pay-db-1 tcp/5432: denied by no-dev-to-prod; pay-db-1 is enforced
    `10.40.2.10 10.20.3.10 51002 5432 6 3 180 ${T + 120} ${T + 121} ACCEPT 2 OK`,
    '',
  ].join('\n'),
)
const READ = ['--flows', CUSTOM, '--format', 'aws-vpc', '--fields', FIELDS]

describe('--fields where --flows files are read', () => {
  it('simulate reads the custom order: 2 allowed, 1 blocked', async () => {
    const r = await cli('simulate', '-w', W, '--at', AT, ...READ, '-o', 'json')
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout) as SimulateOutput
    expect(out.flows).toBe(3)
    expect(out.outcomes).toMatchObject({ allowed: 2, blocked: 1 })
    expect(out.readSkipped).toEqual({})
  })

  it('lint counts rule hits from the custom order', async () => {
    const r = await cli('lint', '-w', W, '--at', AT, ...READ, '-o', 'json')
    const out = JSON.parse(r.stdout) as LintOutput
    expect(out.flows?.count).toBe(3)
  })

  it('diff replays the custom order against both policy sets', async () => {
    const policy = path.join(W, 'policy')
    const r = await cli('diff', policy, policy, '-w', W, '--at', AT, ...READ, '-o', 'json')
    expect(r.code).toBe(0)
    expect((JSON.parse(r.stdout) as { flows: { flows: number } }).flows.flows).toBe(3)
  })

  it.each(['simulate', 'lint'])('%s: an unusable --fields is a usage error (exit 1)', async (v) => {
    const r = await cli(v, '-w', W, '--at', AT, ...READ.slice(0, 4), '--fields', 'version bogus')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('cli/usage')
    expect(r.stderr).toContain('--fields "version bogus" is not an AWS flow log field list')
  })

  it('a --fields list naming a field twice is a usage error (s44 QA hostile F7)', async () => {
    // the later column was read and the other dropped, exit 0
    const twice =
      'version srcaddr dstaddr srcport dstport protocol packets bytes start end action srcaddr'
    const r = await cli('flows', CUSTOM, '--format', 'aws-vpc', '--fields', twice)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('cli/usage')
    expect(r.stderr).toContain('names the field srcaddr twice')
  })
})

describe('-f, the short --format of flows, wherever flow files are read', () => {
  it.each([
    ['simulate', ['simulate', '-w', W, '--at', AT]],
    ['lint', ['lint', '-w', W, '--at', AT]],
    ['diff', ['diff', `${W}/policy`, `${W}/policy`, '-w', W, '--at', AT]],
  ])('%s --flows F -f aws-vpc --fields ...', async (_, args) => {
    const r = await cli(
      ...args,
      '--flows',
      CUSTOM,
      '-f',
      'aws-vpc',
      '--fields',
      FIELDS,
      '-o',
      'json',
    )
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
  })

  it('ingest -f zeek reads as --format zeek', async () => {
    const ws = path.join(tmp, 'ws')
    const zeek = path.join(tmp, 'conn.log')
    writeFileSync(
      zeek,
      '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tconn_state\n' +
        `${T}\tC1\t10.20.1.10\t51000\t10.20.2.10\t443\ttcp\tSF\n`,
    )
    const r = await cli('ingest', '-w', ws, '-f', 'zeek', zeek, '-o', 'json')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ records: 1, formats: { zeek: 1 } })
  })
})

describe('simulate/no-flows names what to do for the input it had', () => {
  it('files: no advice about --since/--until, which --flows refuses', async () => {
    const r = await cli('simulate', '-w', W, '--at', AT, '--flows', path.join(tmp, 'nosuch.log'))
    expect(r.code).toBe(1)
    const line = r.stderr.split('\n').find((l) => l.includes('simulate/no-flows')) ?? ''
    expect(line).toContain('no flow was read from the files')
    expect(line).not.toContain('--since')
  })

  it('a valid file of no record: no "said above", and no rule called unused (s44 QA sem2 F3)', async () => {
    const empty = path.join(tmp, 'header-only.csv')
    writeFileSync(empty, 'src,dst,dst_port,protocol,start\n')
    const r = await cli('simulate', '-w', W, '--at', AT, '--flows', empty)
    expect(r.code).toBe(0)
    const line = r.stderr.split('\n').find((l) => l.includes('simulate/no-flows')) ?? ''
    expect(line).toContain('the files hold no flow record')
    expect(line).not.toContain('said above')
    expect(r.stdout).toContain('unused rules not checked: no flows were judged')
    const json = await cli('simulate', '-w', W, '--at', AT, '--flows', empty, '-o', 'json')
    expect(JSON.parse(json.stdout)).toMatchObject({ flows: 0, unused: [] })
  })
})

describe('--no-flows with flows asked for is a usage error, as metrics has it', () => {
  // Before, lint and diff took whichever of --flows FILE and --no-flows came last and silently
  // dropped the other (`lint --flows f.log --no-flows` checked no unused rule), and dropped
  // --since/--until beside --no-flows, where metrics already refused them (README "Commands").
  const D = 'test/fixtures/diff-estate'
  const CSV = `${W}/flows.csv`
  it.each([
    ['lint', ['lint', '-w', W, '--at', AT, '--flows', CSV, '--no-flows'], '--flows'],
    ['lint', ['lint', '-w', W, '--at', AT, '--no-flows', '--flows', CSV], '--flows'],
    ['lint', ['lint', '-w', W, '--at', AT, '--no-flows', '--since', '2026-10-01'], '--since'],
    ['lint', ['lint', '-w', W, '--at', AT, '--until', '2026-11-01', '--no-flows'], '--since'],
    [
      'diff',
      ['diff', `${D}/policy-old`, `${D}/policy`, '-w', D, '--flows', CSV, '--no-flows'],
      '--flows',
    ],
    [
      'diff',
      ['diff', `${D}/policy-old`, `${D}/policy`, '-w', D, '--no-flows', '--since', '2026-10-01'],
      '--since',
    ],
  ])('%s %j exits 1 with cli/usage naming %s', async (_verb, args, named) => {
    const r = await cli(...args)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('cli/usage')
    expect(r.stderr).toContain('--no-flows')
    expect(r.stderr).toContain(named)
  })
  it('--no-flows alone still runs', async () => {
    const r = await cli('lint', '-w', W, '--at', AT, '--no-flows')
    expect(r.stderr).not.toContain('cli/usage')
    expect(r.stdout).toContain('unused rules not checked (--no-flows)')
  })
})
