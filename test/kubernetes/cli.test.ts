import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { cli } from '../helpers/cli.js'

const BASIC = fileURLToPath(new URL('../fixtures/k8s-basic/', import.meta.url))
const INVALID = fileURLToPath(new URL('../fixtures/k8s-invalid/', import.meta.url))

describe('bulkhead k8s', () => {
  it('connlist prints np-guard lines and notes skipped files on stderr', async () => {
    const r = await cli('k8s', 'connlist', BASIC)
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('shop/web[Deployment] => shop/api[Deployment] : TCP 9000\n')
    expect(r.stderr).toContain('warning k8s/not-kubernetes')
  })

  it('connlist -o json prints rows', async () => {
    const r = await cli('k8s', 'connlist', BASIC, '-o', 'json')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toContainEqual({
      src: 'shop/api[Deployment]',
      dst: 'shop/db[StatefulSet]',
      conn: 'TCP 5432',
    })
  })

  it('connlist -o yaml prints the rows of -o json, as bulkhead connlist -o yaml does', async () => {
    const json = await cli('k8s', 'connlist', BASIC, '-o', 'json')
    const yaml = await cli('k8s', 'connlist', BASIC, '-o', 'yaml')
    expect(yaml.code).toBe(0)
    expect(parse(yaml.stdout)).toEqual(JSON.parse(json.stdout))
  })

  it('connlist refuses invalid policies with a located error, exit 1', async () => {
    const r = await cli('k8s', 'connlist', INVALID)
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(
      /bad\.yaml:12:\d+ error k8s\/except-outside-cidr: NetworkPolicy default\/broken/,
    )
  })

  it('eval prints the verdict and the deciding rules', async () => {
    const r = await cli('k8s', 'eval', BASIC, 'ops/agent', 'shop/db', 'tcp/5432')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('ops/agent[DaemonSet] => shop/db[StatefulSet] : TCP 5432 DENIED')
    expect(r.stdout).toContain('AdminNetworkPolicy ops-guard rule deny-db-port: Deny')
    const j = await cli('k8s', 'eval', BASIC, 'shop/web', 'shop/api', 'tcp/9000', '-o', 'json')
    expect(JSON.parse(j.stdout)).toMatchObject({ allowed: true, protocol: 6, port: 9000 })
  })

  it('eval rejects a bad service and an unknown endpoint', async () => {
    expect((await cli('k8s', 'eval', BASIC, 'shop/web', 'shop/api', 'icmp/8')).code).toBe(1)
    // a name of Object.prototype is no protocol
    const proto = await cli('k8s', 'eval', BASIC, 'shop/web', 'shop/api', 'constructor/80')
    expect(proto.code).toBe(1)
    expect(proto.stderr).toContain('k8s/bad-connection')
    const r = await cli('k8s', 'eval', BASIC, 'shop/nope', 'shop/api', 'tcp/80')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('k8s/unknown-endpoint')
  })
})
