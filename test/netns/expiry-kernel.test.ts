/**
 * @module Kernel verification of rule expiry: a ruleset compiled with the real clock, whose
 * allow rule expires and whose deny rule expires a few seconds later, is applied in network
 * namespaces; a new connection the allow lets through before its instant is refused after it,
 * and one the deny refuses before is let through after, with no recompile (nftables `meta
 * time`, iptables `-m time`). The kernel's real-time clock cannot be faked in a namespace, so
 * the test waits for the instant (a few seconds). Runs as root; skips with the reason
 * otherwise, unless BULKHEAD_REQUIRE_NETNS=1 (CI), where a missing capability fails the suite.
 */
import { spawnSync } from 'node:child_process'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { labelSet, type Inventory } from '../../src/core/index.js'
import { nftablesCompiler } from '../../src/compile/nftables/compile.js'
import { iptablesCompiler } from '../../src/compile/iptables/compile.js'
import type { CompileResult } from '../../src/compile/target.js'
import { expiringWebToDb } from '../compile/two-hosts.js'
import { cleanupLeftovers, createLab, netnsSupport, type Lab } from './harness.js'
import { describeKernel } from './probe-check.js'

/** Every namespace and temporary folder of this suite starts with this. */
/** Namespaces are named `<prefix>-…`: `bhtime`, or BULKHEAD_NETNS_PREFIX (one value per file run). */
const PREFIX = process.env['BULKHEAD_NETNS_PREFIX'] ?? 'bhtime'
const support = ((): { ok: true } | { ok: false; reason: string } => {
  const base = netnsSupport(PREFIX)
  if (!base.ok) return base
  for (const bin of ['iptables-restore', 'ip6tables-restore', 'ipset'])
    if (spawnSync(bin, ['--version']).status !== 0) return { ok: false, reason: `no ${bin} binary` }
  return { ok: true }
})()

/**
 * a (web, 10.77.0.1) → b (db, 10.77.0.2): tcp/5432 allowed until the instant, tcp/6432 denied
 * until then ({@link expiringWebToDb}).
 */
const inventory: Inventory = {
  workloads: [
    { name: 'a', addresses: [{ ip: '10.77.0.1' }], labels: labelSet({ role: 'web' }) },
    { name: 'b', addresses: [{ ip: '10.77.0.2' }], labels: labelSet({ role: 'db' }) },
  ],
  externals: [],
  labelRules: [],
}
const HOSTS = [
  { name: 'a', addresses: ['10.77.0.1'] },
  { name: 'b', addresses: ['10.77.0.2'] },
] as const

/** Loads one compile result into the lab's namespaces. */
type Apply = (lab: Lab, result: CompileResult) => Promise<void>

const applyNft: Apply = async (lab, result) => {
  await Promise.all(result.artefacts.map((a) => lab.apply(a.host ?? '', a.content)))
}

const applyIptables: Apply = async (lab, result) => {
  const byHost = new Map<string, Map<string, string>>()
  for (const a of result.artefacts) {
    const files = byHost.get(a.host ?? '') ?? new Map<string, string>()
    files.set(a.path, a.content)
    byHost.set(a.host ?? '', files)
  }
  for (const [host, files] of byHost) {
    const script = [...files.keys()].find((f) => f.endsWith('.apply.sh')) ?? ''
    await lab.applyFiles(host, files, (dir) => ['sh', `${dir}/${script}`])
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * Compiles at the real time with the rules expiring `lead` ms later (on a whole second), applies,
 * and checks a → b before and after that instant. When applying took so long that the probes
 * before the instant could not finish in time, it tries again with a longer lead (the clock is
 * real; nothing is asserted about how fast the machine is).
 */
async function checkExpiry(
  target: 'nftables' | 'iptables',
  apply: Apply,
): Promise<{ before: boolean[]; after: boolean[]; result: CompileResult; expires: number }> {
  const lab = await createLab(`${PREFIX}-${target === 'nftables' ? 'nft' : 'ipt'}`, HOSTS)
  const probe = (timeoutMs: number): Promise<boolean[]> =>
    lab.probe(
      'a',
      [
        { dst: '10.77.0.2', proto: 'tcp', port: 5432 },
        { dst: '10.77.0.2', proto: 'tcp', port: 6432 },
      ],
      timeoutMs,
    )
  try {
    await lab.listen({ tcp: [5432, 6432], udp: [] }, 60_000)
    for (const lead of [3000, 6000, 12_000]) {
      const now = new Date()
      const expires = Math.ceil((now.getTime() + lead) / 1000) * 1000
      const compiler = target === 'nftables' ? nftablesCompiler : iptablesCompiler
      const result = compiler.compile(inventory, expiringWebToDb('enforce', expires), {
        now,
        antiLockout: false,
      })
      await apply(lab, result)
      if (Date.now() > expires - 1500) continue // too slow to probe before the instant: longer lead
      const before = await probe(1000)
      if (Date.now() >= expires) continue
      await sleep(expires - Date.now() + 200)
      // new connections only: the earlier ones are closed (an established connection is
      // conntrack's, and outlives the rule as it outlives a re-apply)
      let after = await probe(1000)
      if (after[1] !== true) after = await probe(4000) // slow machine: one retry of the expected connection
      return { before, after, result, expires }
    }
    throw new Error('could not apply the ruleset a second and a half before the expiry')
  } finally {
    await lab.destroy()
  }
}

describeKernel(
  'kernel verification of rule expiry (nftables meta time, iptables -m time)',
  support,
  () => {
    beforeAll(() => cleanupLeftovers(PREFIX))
    afterAll(() => cleanupLeftovers(PREFIX))

    const targets = [
      ['nftables', applyNft, 'meta time'],
      ['iptables', applyIptables, '-m time --datestart/--datestop, UTC'],
    ] as const
    for (const [target, apply, how] of targets) {
      it(`${target} (${how}): the expiring allow lets new connections through until its instant only; the expiring deny blocks them until then`, async () => {
        const { before, after, result, expires } = await checkExpiry(target, apply)
        // [tcp/5432 (allowed until the instant), tcp/6432 (denied until the instant)]
        expect({ before, after }).toEqual({ before: [true, false], after: [false, true] })
        expect(result.timeSlicing?.starts).toEqual([expires])
        expect(result.diagnostics.map((d) => d.code)).not.toContain('compile/expires-later')
      }, 60_000)
    }
  },
)
