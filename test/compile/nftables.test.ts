/**
 * @module nftables target: the conformance suite (with the text-level semantics checker),
 * golden files for a fixture workspace, and the options (direction, anti-lockout, modes, hosts).
 */
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import {
  labelSet,
  parseCidr,
  type Cidr,
  type Inventory,
  type PolicySet,
} from '../../src/core/index.js'
import { resolveEntity } from '../../src/policy/evaluate.js'
import { loadWorkspace } from '../../src/policy/files.js'
import { hostFileName, nftablesCompiler, planHosts } from '../../src/compile/nftables/compile.js'
import { decidePacket, parseRuleset, type ParsedRuleset } from '../../src/compile/nftables/check.js'
import { rangeText } from '../../src/compile/nftables/render.js'
import type { CompileResult } from '../../src/compile/target.js'
import {
  CONFORMANCE_INVENTORY,
  runCompileConformance,
  type ConformanceChecker,
} from '../conformance/compile.case.js'
import { lbl, twoHosts, webToDb } from './two-hosts.js'

const parsedCache = new WeakMap<CompileResult, Map<string, ParsedRuleset>>()

/** Decides a flow from the rendered rulesets: egress of the source host, ingress of the destination host. */
const nftablesChecker: ConformanceChecker = (result, inventory, tuple) => {
  let byHost = parsedCache.get(result)
  if (!byHost) {
    byHost = new Map(result.artefacts.map((a) => [a.host ?? '', parseRuleset(a.content)]))
    parsedCache.set(result, byHost)
  }
  const s = resolveEntity(inventory, tuple.src, tuple.at)
  const d = resolveEntity(inventory, tuple.dst, tuple.at)
  const sh = s.kind === 'workload' ? byHost.get(s.workload.name) : undefined
  const dh = d.kind === 'workload' ? byHost.get(d.workload.name) : undefined
  if (s.kind === 'workload' && d.kind === 'workload' && s.workload.name === d.workload.name)
    return undefined // loopback
  if (!sh && !dh) return undefined
  const verdicts = [
    sh ? decidePacket(sh, 'egress', tuple) : 'accept',
    dh ? decidePacket(dh, 'ingress', tuple) : 'accept',
  ]
  return verdicts.every((v) => v === 'accept') ? 'allowed' : 'denied'
}

runCompileConformance({
  compiler: nftablesCompiler,
  checker: nftablesChecker,
  extraOptions: { antiLockout: false },
  numRuns: 25,
})

const FIXTURE = fileURLToPath(new URL('../fixtures/compile-nftables/', import.meta.url))
const NOW = new Date('2026-11-22T12:00:00Z')

describe('nftables golden files', () => {
  it('fixture workspace compiles to the reviewed rulesets', async () => {
    const { inventory, policySet, diagnostics } = await loadWorkspace(FIXTURE, NOW)
    expect(diagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
    const r = nftablesCompiler.compile(inventory, policySet, { now: NOW })
    expect(r.artefacts.map((a) => [a.path, a.mode])).toEqual([
      ['pay-web-1.nft', 'monitor'],
      ['pay-api-1.nft', 'observe'],
      ['pay-db-1.nft', 'enforce'],
      ['dev-api-1.nft', 'observe'],
    ])
    for (const a of r.artefacts) {
      await expect(a.content).toMatchFileSnapshot(`../golden/compile/compile-nftables.${a.path}`)
    }
    const codes = r.diagnostics.map((d) => d.code).sort()
    expect(codes).toEqual([
      'compile/anti-lockout',
      'compile/anti-lockout',
      'compile/expired-rule-omitted',
    ])
    const expired = r.diagnostics.find((d) => d.code === 'compile/expired-rule-omitted')
    expect(expired?.location).toMatchObject({
      file: expect.stringContaining('payments.yaml'),
      line: 23,
    })
  })
})

describe('nftables options', () => {
  const now = NOW
  it('direction ingress renders only the input chain; egress only the output chain', () => {
    const i = nftablesCompiler.compile(twoHosts, webToDb('enforce'), { now, direction: 'ingress' })
    const e = nftablesCompiler.compile(twoHosts, webToDb('enforce'), { now, direction: 'egress' })
    for (const a of i.artefacts) {
      expect(a.content).toContain('chain input {')
      expect(a.content).not.toContain('chain output {')
    }
    for (const a of e.artefacts) {
      expect(a.content).not.toContain('chain input {')
      expect(a.content).toContain('chain output {')
    }
  })

  it('anti-lockout is on by default, reported, and off with antiLockout: false', () => {
    const on = nftablesCompiler.compile(twoHosts, webToDb('enforce'), { now })
    expect(on.artefacts[0]?.content).toContain('ip saddr @mgmt_v4 tcp dport 22 accept')
    expect(on.diagnostics.filter((d) => d.code === 'compile/anti-lockout')).toHaveLength(2)
    const mgmt = [parseCidr('192.0.2.0/24') as Cidr]
    const custom = nftablesCompiler.compile(twoHosts, webToDb('enforce'), {
      now,
      managementCidrs: mgmt,
    })
    expect(custom.artefacts[0]?.content).toMatch(/set mgmt_v4 \{[^}]*192\.0\.2\.0\/24/)
    expect(custom.artefacts[0]?.content).not.toContain('mgmt_v6')
    const off = nftablesCompiler.compile(twoHosts, webToDb('enforce'), { now, antiLockout: false })
    expect(off.artefacts[0]?.content).not.toContain('mgmt_')
    expect(off.diagnostics.filter((d) => d.code === 'compile/anti-lockout')).toEqual([])
  })

  it('enforce drops, monitor records and accepts, observe only counts', () => {
    const get = (mode: 'enforce' | 'monitor' | 'observe'): string =>
      nftablesCompiler.compile(twoHosts, webToDb(mode), { now }).artefacts[1]?.content ?? ''
    expect(get('enforce')).toContain('counter name blocked_in drop')
    expect(get('enforce')).not.toContain('wbb_')
    expect(get('monitor')).toContain(
      'update @wbb_in_v4 { ip saddr . ip daddr . meta l4proto . th dport }',
    )
    expect(get('monitor')).toContain('counter name would_block_in accept')
    expect(get('monitor')).not.toContain(' drop')
    const observe = get('observe')
    expect(observe).toContain('counter name seen_in')
    expect(observe).not.toContain('map ')
    expect(observe).not.toContain('drop')
  })

  it('the allowed pair is the only element: per-host maps key on addresses and ports', () => {
    const { plans } = planHosts(twoHosts, webToDb('enforce'), { now, antiLockout: false })
    const b = plans.find((p) => p.host === 'b')
    expect(b?.maps.ingress[4].ports).toEqual([
      {
        src: { lo: 0x0a090001n, hi: 0x0a090001n },
        dst: { lo: 0x0a090002n, hi: 0x0a090002n },
        proto: { lo: 6, hi: 6 },
        port: { lo: 5432, hi: 5432 },
      },
    ])
    expect(b?.maps.ingress[6].ports).toEqual([])
    const a = plans.find((p) => p.host === 'a')
    expect(a?.maps.egress[4].ports).toHaveLength(1)
    expect(a?.maps.ingress[4].ports).toEqual([])
  })

  it('a deny rule punches a hole in the allowed ports', () => {
    const ps = webToDb('enforce')
    const withDeny: PolicySet = {
      ...ps,
      policies: [
        {
          ...(ps.policies[0] as PolicySet['policies'][number]),
          rules: [
            {
              id: 'w2d',
              action: 'allow',
              emergency: false,
              from: [lbl({ role: 'web' })],
              to: [lbl({ role: 'db' })],
              services: [{ protocol: 6, ports: { lo: 5000, hi: 6000 } }],
            },
            {
              id: 'no-5432',
              action: 'deny',
              emergency: false,
              from: [{ kind: 'any' }],
              to: [{ kind: 'any' }],
              services: [{ protocol: 6, ports: { lo: 5432, hi: 5432 } }],
            },
          ],
        },
      ],
    }
    const r = nftablesCompiler.compile(twoHosts, withDeny, {
      now,
      hosts: ['b'],
      antiLockout: false,
    })
    expect(r.artefacts).toHaveLength(1)
    expect(r.artefacts[0]?.content).toContain('10.9.0.1 . 10.9.0.2 . 6 . 5000-5431 : accept,')
    expect(r.artefacts[0]?.content).toContain('10.9.0.1 . 10.9.0.2 . 6 . 5433-6000 : accept')
    const rs = parseRuleset(r.artefacts[0]?.content ?? '')
    expect(
      decidePacket(rs, 'ingress', { src: '10.9.0.1', dst: '10.9.0.2', protocol: 6, dstPort: 5432 }),
    ).toBe('drop')
    expect(
      decidePacket(rs, 'ingress', { src: '10.9.0.1', dst: '10.9.0.2', protocol: 6, dstPort: 5431 }),
    ).toBe('accept')
  })

  it('a host without an address at compile time is reported', () => {
    const inv: Inventory = {
      ...twoHosts,
      workloads: [
        ...twoHosts.workloads,
        {
          name: 'gone',
          addresses: [{ ip: '10.9.0.9', to: NOW.getTime() - 1 }],
          labels: labelSet(),
        },
      ],
    }
    const r = nftablesCompiler.compile(inv, webToDb('enforce'), { now, hosts: ['gone'] })
    expect(r.diagnostics.map((d) => d.code)).toContain('compile/host-without-address')
  })

  it('file names are safe for any workload name', () => {
    expect(hostFileName('pay-api-1')).toBe('pay-api-1.nft')
    expect(hostFileName('shop/web-5d9f[Deployment]')).toBe('shop_web-5d9f_Deployment_.nft')
    expect(hostFileName('../../etc/passwd')).toBe('__.._etc_passwd.nft')
    expect(hostFileName('')).toBe('_.nft')
    const inv: Inventory = {
      ...CONFORMANCE_INVENTORY,
      workloads: [
        ...CONFORMANCE_INVENTORY.workloads,
        { name: 'web/1', addresses: [{ ip: '10.3.0.1' }], labels: labelSet() },
        { name: 'web_1', addresses: [{ ip: '10.3.0.2' }], labels: labelSet() },
      ],
    }
    const paths = nftablesCompiler
      .compile(inv, { policies: [], enforcement: [] }, { now })
      .artefacts.map((a) => a.path)
    expect(new Set(paths).size).toBe(paths.length)
  })

  it('address ranges render as blocks where they are blocks', () => {
    expect(rangeText(4, { lo: 0n, hi: 0xffffffffn })).toBe('0.0.0.0/0')
    expect(rangeText(4, { lo: 0x0a000000n, hi: 0x0a0000ffn })).toBe('10.0.0.0/24')
    expect(rangeText(4, { lo: 0x0a000001n, hi: 0x0a0000ffn })).toBe('10.0.0.1-10.0.0.255')
    expect(rangeText(6, { lo: 1n, hi: 1n })).toBe('::1')
  })
})
