/**
 * `bulkhead connlist`: prints what the pure connlist formats give (goldens shared with
 * test/policy/connlist.test.ts), and bad input exits 1 with a stable code.
 */
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { cli } from '../helpers/cli.js'

const W = 'test/fixtures/connlist-estate'
const AT = '2026-11-01T00:00:00Z'

describe('bulkhead connlist', () => {
  it.each([
    ['txt', 'txt'],
    ['text', 'txt'],
    ['md', 'md'],
    ['csv', 'csv'],
    ['json', 'json'],
  ])('-o %s prints the %s golden', async (flag, golden) => {
    const r = await cli('connlist', '-w', W, '--at', AT, '-o', flag)
    expect(r.code).toBe(0)
    await expect(r.stdout).toMatchFileSnapshot(`../golden/policy/connlist-estate.${golden}`)
  })
  it('-o yaml holds the rows of -o json', async () => {
    const json = await cli('connlist', '-w', W, '--at', AT, '-o', 'json')
    const yaml = await cli('connlist', '-w', W, '--at', AT, '-o', 'yaml')
    expect(yaml.code).toBe(0)
    expect(parse(yaml.stdout)).toEqual(JSON.parse(json.stdout))
  })
  it('defaults to txt lines', async () => {
    const r = await cli('connlist', '-w', W, '--at', AT)
    expect(r.code).toBe(0)
    expect(r.stdout.split('\n')).toContain(
      'shop/cart[Deployment] => shop/redis[StatefulSet] : TCP 6379',
    )
  })
  it('--at decides which addresses workloads hold', async () => {
    const r = await cli('connlist', '-w', W, '--at', '2026-03-01')
    expect(r.stdout).toContain('old-batch => shop/cart[Deployment] : All Connections\n')
  })
  it.each([
    [['-o', 'dot'], 'cli/usage'],
    [['--at', 'yesterday'], 'cli/usage'],
    [['-w', 'test/fixtures/no-such-workspace'], 'io/not-found'],
    [['-w', 'test/fixtures/bad-workspace-yaml'], 'error '],
  ])('bad input %j exits 1 with %s', async (args, code) => {
    const r = await cli('connlist', ...(args.includes('-w') ? [] : ['-w', W]), ...args)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(code)
    expect(r.stdout).toBe('')
  })
})
