/**
 * @module Kernel verification of the iptables target: random estates compiled, applied in
 * network namespaces with `ipset restore` + `iptables-restore` + `ip6tables-restore` (whichever
 * backend `iptables` is, nf_tables or legacy), and probed; every probe must agree with the
 * reference evaluator, and in monitor mode each host's would-be-blocked ipsets must hold exactly
 * its denied flows. Runs as root with `ip netns`, `iptables-restore` and `ipset`; skips with the
 * reason otherwise, unless BULKHEAD_REQUIRE_NETNS=1 (CI), where that fails the suite.
 */
import { spawnSync } from 'node:child_process'
import fc from 'fast-check'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type EnforcementMode, type Inventory, type PolicySet } from '../../src/core/index.js'
import { iptablesCompiler } from '../../src/compile/iptables/compile.js'
import { wbbIpsetName } from '../../src/compile/iptables/render.js'
import { cleanupLeftovers, createLab, netnsSupport, type Lab } from './harness.js'
import { checkIcmpErrorsPass } from './icmp.js'
import {
  checkConnections,
  checkVersionSwitch,
  describeKernel,
  monitoredExpectations,
} from './probe-check.js'
import {
  estateArb,
  LISTEN,
  probesOf,
  reapplyEstate,
  withMode,
  withModes,
  type Estate,
  type Probe,
} from './estate.js'

/** Every namespace and temporary folder of this suite starts with this (bhnft is nftables'). */
/** Namespaces are named `<prefix>-…`: `bhipt`, or BULKHEAD_NETNS_PREFIX (one value per file run). */
const PREFIX = process.env['BULKHEAD_NETNS_PREFIX'] ?? 'bhipt'
const NOW = new Date(Date.UTC(2026, 10, 22, 12))
const SEED = 7_2027
/** Random estates probed (each in three phases: enforce, monitor, mixed). */
const ESTATES = 2

/** {@link netnsSupport} plus `iptables-restore`, `ip6tables-restore` and a working `ipset` in a namespace. */
function iptablesSupport(): { ok: true } | { ok: false; reason: string } {
  const base = netnsSupport(PREFIX)
  if (!base.ok) return base
  for (const bin of ['iptables-restore', 'ip6tables-restore', 'ipset']) {
    if (spawnSync(bin, ['--version']).status !== 0) return { ok: false, reason: `no ${bin} binary` }
  }
  const ns = `${PREFIX}-check`
  spawnSync('ip', ['netns', 'add', ns])
  const r = spawnSync('ip', ['netns', 'exec', ns, 'ipset', 'create', 'bh-probe', 'hash:net'], {
    encoding: 'utf8',
  })
  spawnSync('ip', ['netns', 'del', ns])
  if (r.status !== 0) return { ok: false, reason: `ipset unusable: ${(r.stderr || '').trim()}` }
  return { ok: true }
}
const support = iptablesSupport()

/**
 * python3: sends 3 IPv4 datagrams of protocol argv[3] from argv[1] to argv[2] (raw, own header);
 * one the sender's egress chain drops (EPERM) is not sent, and that is not an error.
 */
const RAW_SEND = `import socket, struct, sys
src, dst, proto = socket.inet_aton(sys.argv[1]), socket.inet_aton(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 28, 1, 0, 64, proto, 0, src, dst)
for _ in range(3):
    try: s.sendto(hdr + bytes(8), (sys.argv[2], 0))
    except PermissionError: pass`

/**
 * Compiles for every host and runs each host's `<name>.apply.sh` (ipset file, rules files with
 * `--noflush`, hooks) in its namespace, one host at a time.
 */
async function compileAndApply(
  lab: Lab,
  inventory: Inventory,
  policySet: PolicySet,
): Promise<void> {
  const { artefacts } = iptablesCompiler.compile(inventory, policySet, {
    now: NOW,
    antiLockout: false,
  })
  const byHost = new Map<string, Map<string, string>>()
  for (const a of artefacts) {
    const files = byHost.get(a.host ?? '') ?? new Map<string, string>()
    files.set(a.path, a.content)
    byHost.set(a.host ?? '', files)
  }
  for (const [host, files] of byHost) {
    const script = [...files.keys()].find((f) => f.endsWith('.apply.sh'))
    if (script === undefined) throw new Error(`no apply script for ${host}`)
    await lab.applyFiles(host, files, (dir) => ['sh', `${dir}/${script}`])
  }
}

/**
 * The entries of a would-be-blocked ipset as `src dst proto/port`, read with
 * `ipset list -o save NAME` (lines `add NAME SRC,PROTO:PORT,DST timeout N`).
 */
async function readWbb(lab: Lab, host: string, name: string): Promise<string[]> {
  const text = await lab.exec(host, ['ipset', 'list', '-o', 'save', name])
  const out: string[] = []
  for (const line of text.split('\n')) {
    const w = line.split(' ')
    if (w[0] !== 'add' || w[1] !== name) continue
    const [src = '', pp = '', dst = ''] = (w[2] ?? '').split(',')
    const [proto = '', port = ''] = pp.split(':')
    out.push(`${src} ${dst} ${proto}/${port}`)
  }
  return out
}

/** Empties every would-be-blocked ipset of every host (`ipset flush NAME`; missing sets are fine). */
async function flushWbb(lab: Lab, estate: Estate): Promise<void> {
  const names = (['in', 'out'] as const).flatMap((d) => [wbbIpsetName(d, 4), wbbIpsetName(d, 6)])
  for (const h of estate.hosts) {
    await lab.exec(h.name, [
      'sh',
      '-c',
      `for s in ${names.join(' ')}; do ipset flush "$s" 2>/dev/null; done; true`,
    ])
  }
}

describeKernel(`kernel verification (iptables)`, support, () => {
  beforeAll(() => cleanupLeftovers(PREFIX))
  afterAll(() => cleanupLeftovers(PREFIX))

  async function checkPhase(
    lab: Lab,
    estate: Estate,
    policySet: PolicySet,
    seen: Record<string, number>,
  ): Promise<void> {
    await compileAndApply(lab, estate.inventory, policySet)
    const probes = probesOf(estate, policySet, NOW.getTime())
    await checkConnections(lab, probes, seen)
    const key = (p: Probe): string => `${p.srcIp} ${p.dst} ${p.proto}/${p.port}`
    for (const m of monitoredExpectations(estate, probes)) {
      const expectIn = m.ingress.map(key)
      const expectOut = m.egress.map(key)
      const read = async (dir: 'in' | 'out'): Promise<string[]> =>
        [
          ...(await readWbb(lab, m.host, wbbIpsetName(dir, 4))),
          ...(await readWbb(lab, m.host, wbbIpsetName(dir, 6))),
        ].sort()
      expect(await read('in'), `${m.host} ingress would-be-blocked`).toEqual(
        [...new Set(expectIn)].sort(),
      )
      expect(await read('out'), `${m.host} egress would-be-blocked`).toEqual(
        [...new Set(expectOut)].sort(),
      )
      seen['recorded'] = (seen['recorded'] ?? 0) + expectIn.length + expectOut.length
    }
  }

  it('random estates in enforce, monitor and mixed modes agree with the reference evaluator', async () => {
    let estateNo = 0
    const seen: Record<string, number> = {}
    const modeArb = fc
      .array(fc.constantFrom<EnforcementMode>('observe', 'monitor', 'enforce'), {
        minLength: 2,
        maxLength: 2,
      })
      .map((rest): EnforcementMode[] => ['enforce', 'monitor', 'observe', ...rest])
    await fc.assert(
      fc.asyncProperty(estateArb, modeArb, async (estate: Estate, modes: EnforcementMode[]) => {
        // a fresh lab per estate: the monitor sets of one estate must not leak into the next
        const lab = await createLab(`${PREFIX}-e${estateNo++}`, estate.hosts)
        try {
          await lab.listen(LISTEN, 40_000)
          await checkPhase(lab, estate, withMode(estate, 'enforce'), seen)
          await checkPhase(lab, estate, withMode(estate, 'monitor'), seen)
          // mixed: each host in its own mode (the monitor sets are emptied first: they keep
          // their entries across a re-apply, by design)
          await flushWbb(lab, estate)
          await checkPhase(lab, estate, withModes(estate, modes), seen)
        } finally {
          await lab.destroy()
        }
      }),
      { seed: SEED, numRuns: ESTATES, endOnFailure: true },
    )
    process.stderr.write(`[iptables kernel] outcomes: ${JSON.stringify(seen)}\n`)
    expect(seen['allowed-allowed']).toBeGreaterThan(10)
    expect(seen['denied-blocked']).toBeGreaterThan(10)
    expect(seen['denied-would-be-blocked']).toBeGreaterThan(10)
    expect(seen['recorded']).toBeGreaterThan(10)
    expect(seen['denied-unenforced']).toBeGreaterThan(0)
  }, 60_000)

  it('re-applying a changed ruleset under a running probe loop loses no allowed connection', async () => {
    const { inventory, hosts } = reapplyEstate
    const lab = await createLab(`${PREFIX}-atomic`, hosts)
    try {
      await lab.listen({ tcp: [80, 443], udp: [] }, 30_000)
      // a rule of another tool in the filter table, which applying Bulkhead must leave alone
      await lab.exec('b', [
        'iptables',
        '-w',
        '-A',
        'INPUT',
        '-p',
        'tcp',
        '--dport',
        '9',
        '-m',
        'comment',
        '--comment',
        'not-bulkhead',
        '-j',
        'ACCEPT',
      ])
      const last = await checkVersionSwitch(
        lab,
        (ps) => compileAndApply(lab, inventory, ps),
        'iptables atomic replace',
      )
      // after all those applies: the other tool's rule is still there, each hook is there once
      const input = await lab.exec('b', ['iptables', '-w', '-S', 'INPUT'])
      expect(input).toContain('not-bulkhead')
      expect(input.match(/-j BULKHEAD-IN\b/g)).toHaveLength(1)
      expect(
        (await lab.exec('b', ['ip6tables', '-w', '-S', 'OUTPUT'])).match(/-j BULKHEAD-OUT\b/g),
      ).toHaveLength(1)
      // a Bulkhead set the new ruleset does not use is destroyed; another tool's set is kept
      await lab.exec('b', ['ipset', 'create', 'bh-stale-v4', 'hash:net'])
      await lab.exec('b', ['ipset', 'create', 'other-tool-v4', 'hash:net'])
      await compileAndApply(lab, inventory, last)
      const sets = (await lab.exec('b', ['ipset', 'list', '-n'])).split('\n')
      expect(sets).not.toContain('bh-stale-v4')
      expect(sets).toContain('other-tool-v4')
      expect(sets.filter((n) => n.startsWith('bh-')).length).toBeGreaterThan(0)
    } finally {
      await lab.destroy()
    }
  }, 60_000)

  it('IP protocol 0 from the allowed peer is accepted, and only it: u32 on the IPv4 protocol byte (s13/hR D10)', async () => {
    const { inventory, hosts } = reapplyEstate
    const tcp80 = reapplyEstate.version([80])
    const withZero: PolicySet = {
      ...tcp80,
      policies: tcp80.policies.map((p) => ({
        ...p,
        rules: p.rules.map((r) => ({
          ...r,
          services: [...r.services, { protocol: 0, ports: { lo: 0, hi: 65535 } }],
        })),
      })),
    }
    const lab = await createLab(`${PREFIX}-proto0`, hosts)
    try {
      // a datagram of IP protocol N that b accepts reaches no protocol handler: IpInUnknownProtos
      const unknownProtos = async (): Promise<number> => {
        const lines = (await lab.exec('b', ['cat', '/proc/net/snmp']))
          .split('\n')
          .filter((l) => l.startsWith('Ip:'))
        const i = lines[0]?.split(/\s+/).indexOf('InUnknownProtos') ?? -1
        return Number(lines[1]?.split(/\s+/)[i])
      }
      const send = (proto: number): Promise<string> =>
        lab.exec('a', ['python3', '-c', RAW_SEND, '10.77.0.1', '10.77.0.2', String(proto)])
      for (const [ps, want] of [
        [withZero, 3],
        [tcp80, 0],
      ] as const) {
        await compileAndApply(lab, inventory, ps)
        const before = await unknownProtos()
        await send(0)
        await send(99) // no rule allows it: dropped (at a's egress) by both rulesets
        await new Promise((r) => setTimeout(r, 300))
        expect((await unknownProtos()) - before).toBe(want)
      }
    } finally {
      await lab.destroy()
    }
  }, 60_000)

  it("an ICMP error about an allowed connection passes both enforced hosts, as the model's related verdict says", async () => {
    await checkIcmpErrorsPass('iptables', `${PREFIX}-icmperr`, (lab, inv, ps) =>
      compileAndApply(lab, inv, ps),
    )
  }, 60_000)
})
