import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { cli } from '../helpers/cli.js'

const BASIC = fileURLToPath(new URL('../fixtures/k8s-basic/', import.meta.url))
const INVALID = fileURLToPath(new URL('../fixtures/k8s-invalid/', import.meta.url))
const tmp = mkdtempSync(join(tmpdir(), 'bulkhead-k8s-cli-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
/** A manifests folder that does not exist. */
const MISSING = join(tmp, 'no-manifests')

/** The codes of the `-o json` failure document on stdout. */
const failureCodes = (stdout: string): string[] =>
  (JSON.parse(stdout) as { diagnostics: { code: string }[] }).diagnostics.map((d) => d.code)

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

  it('connlist lists IPv4 ranges only, as np-guard, and says so; --ipv6 lists IPv6 ranges too', async () => {
    // np-guard's anp_and_banp_using_networks_with_ipv6_test: it skips IPv6 blocks, lists no IPv6 line
    const dir = mkdtempSync(join(tmp, 'dual-stack-'))
    writeFileSync(
      join(dir, 'm.yaml'),
      `apiVersion: v1
kind: Pod
metadata: { name: a, namespace: x, labels: { app: a } }
spec: { containers: [{ name: c, image: i }] }
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: out, namespace: x }
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress: [{ to: [{ ipBlock: { cidr: 10.0.0.0/8 } }, { ipBlock: { cidr: '2001:db8::/32' } }] }]
`,
    )
    const plain = await cli('k8s', 'connlist', dir)
    expect(plain.code).toBe(0)
    expect(plain.stdout.split('\n').filter(Boolean)).toEqual([
      '0.0.0.0-255.255.255.255[External] => x/a[Pod] : All Connections',
      'x/a[Pod] => 10.0.0.0-10.255.255.255[External] : All Connections',
    ])
    // x/a => 2001:db8::/32, and ::/0 => x/a (no ingress policy: every IPv6 source)
    expect(plain.stderr).toMatch(/warning k8s\/ipv6-not-listed: 2 connections of IPv6/)
    const v6 = await cli('k8s', 'connlist', dir, '--ipv6', '-o', 'json')
    expect(v6.code).toBe(0)
    expect(v6.stderr).not.toContain('ipv6-not-listed')
    expect(JSON.parse(v6.stdout)).toContainEqual({
      src: 'x/a[Pod]',
      dst: '2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff[External]',
      conn: 'All Connections',
    })
    expect(JSON.parse(v6.stdout)).toContainEqual({
      src: '::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff[External]',
      dst: 'x/a[Pod]',
      conn: 'All Connections',
    })
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

  it("eval: a bad <service> is a usage error with the command line's others, before the folder is read", async () => {
    const r = await cli('k8s', 'eval', MISSING, 'shop/web', 'shop/api', 'udp/0', '--output', 'xml')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('k8s/bad-connection')
    expect(r.stderr).toContain('cli/usage')
    expect(r.stderr).not.toContain('io/not-found')
    const j = await cli('k8s', 'eval', MISSING, 'shop/web', 'shop/api', 'tcp/70000', '-o', 'json')
    expect(j.code).toBe(1)
    expect(failureCodes(j.stdout)).toEqual(['k8s/bad-connection'])
  })

  it('import: a bad --assign-addresses is cli/usage before the folder is read, nothing written', async () => {
    const out = join(tmp, 'policy')
    for (const bad of ['10.0.0.1/8', '10.0.0.0/33', 'ten/8']) {
      const r = await cli(
        'k8s',
        'import',
        MISSING,
        '--out',
        out,
        '--assign-addresses',
        bad,
        '-o',
        'json',
      )
      expect(r.code).toBe(1)
      expect(failureCodes(r.stdout)).toEqual(['cli/usage'])
      expect(r.stderr).toContain('--assign-addresses')
      expect(r.stderr).not.toContain('io/not-found')
    }
    expect(existsSync(out)).toBe(false)
    // a good block and the missing folder: the folder is what is wrong
    const ok = await cli('k8s', 'import', MISSING, '--out', out, '--assign-addresses', '10.0.0.0/8')
    expect(ok.code).toBe(1)
    expect(ok.stderr).toContain('io/not-found')
  })
})
