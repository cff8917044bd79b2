/**
 * @module Kernel verification of group traffic's receivers: a sender and a receiver in network
 * namespaces on one bridge, the receiver joined to multicast groups (and listening for the
 * limited broadcast); compiled nftables and iptables rulesets applied; each datagram the sender
 * sends must reach the receiver exactly when the reference evaluator allows its flow (sender →
 * group). First with the receiver's ruleset alone (its ingress judges), then with both.
 * Runs as root with `nft`, `iptables-restore`, `ipset` and `ip netns`; skips with the reason
 * otherwise, unless BULKHEAD_REQUIRE_NETNS=1. Namespaces are named `<prefix>-…`, prefix
 * `bhmcast` or BULKHEAD_NETNS_PREFIX.
 */
import { execFile, spawn, spawnSync } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, expect, it } from 'vitest'
import {
  labelSet,
  parseCidr,
  type Cidr,
  type Inventory,
  type PolicySet,
  type Rule,
  type Selector,
} from '../../src/core/index.js'
import { iptablesCompiler } from '../../src/compile/iptables/compile.js'
import { nftablesCompiler } from '../../src/compile/nftables/compile.js'
import { evaluate } from '../../src/policy/evaluate.js'
import { cleanupLeftovers, createLab, netnsSupport, type Lab } from './harness.js'
import { describeKernel } from './probe-check.js'

const run = promisify(execFile)
const PREFIX = process.env['BULKHEAD_NETNS_PREFIX'] ?? 'bhmcast'
const NOW = new Date(Date.UTC(2026, 10, 22, 12))

function support(): { ok: true } | { ok: false; reason: string } {
  const base = netnsSupport(PREFIX)
  if (!base.ok) return base
  for (const bin of ['iptables-restore', 'ipset'])
    if (spawnSync(bin, ['--version']).status !== 0) return { ok: false, reason: `no ${bin} binary` }
  return { ok: true }
}

const cidr = (t: string): Cidr => parseCidr(t) as Cidr
const block = (c: string): Selector => ({ kind: 'cidr', cidr: cidr(c), except: [] })
const kiosk: Selector = {
  kind: 'labels',
  match: labelSet({ role: 'kiosk' }),
  expressions: [],
  global: false,
}
const udp = (id: string, to: Selector[], port: number, action: Rule['action'] = 'allow'): Rule => ({
  id,
  action,
  emergency: false,
  from: [kiosk],
  to,
  services: [{ protocol: 17, ports: { lo: port, hi: port } }],
})
const INVENTORY: Inventory = {
  workloads: [
    {
      name: 'kiosk-1',
      addresses: [{ ip: '10.5.0.11' }, { ip: '2001:db8:5::11' }],
      labels: labelSet({ role: 'kiosk', app: 'store' }),
    },
    {
      name: 'laptop-1',
      addresses: [{ ip: '10.5.0.12' }, { ip: '2001:db8:5::12' }],
      labels: labelSet({ role: 'laptop', app: 'store' }),
    },
  ],
  externals: [],
  labelRules: [],
}
const POLICY: PolicySet = {
  policies: [
    {
      name: 'store',
      owner: 'team-store',
      scope: labelSet({ app: 'store' }),
      rules: [
        udp('mdns', [block('224.0.0.251/32'), block('ff05::fb/128')], 5353),
        udp('dhcp', [block('255.255.255.255/32')], 67),
        udp('streams', [block('239.0.0.0/8')], 5000),
        udp('no-org-local', [block('239.255.0.0/16')], 5000, 'deny'),
        udp('anywhere', [{ kind: 'any' }], 6000),
      ],
      file: 'policy/store.yaml',
    },
  ],
  enforcement: [{ selector: { kind: 'any' }, mode: 'enforce' }],
}

/** What the sender sends to, each destination three datagrams from port 40000 (site-scope IPv6 groups: sent from the global address). */
const TARGETS = [
  ['224.0.0.251', 5353],
  ['224.0.0.251', 5354],
  ['224.0.0.252', 5355],
  ['255.255.255.255', 67],
  ['255.255.255.255', 68],
  ['239.1.2.3', 5000],
  ['239.255.1.1', 5001],
  ['225.9.9.9', 6000],
  ['ff05::fb', 5353],
  ['ff05::fc', 5356],
  ['ff05::c', 6000],
] as const
/** A second round: the ports above are in use by the first (every socket of a port gets every group's datagrams). */
const TARGETS_2 = [
  ['239.255.1.1', 5000],
  ['239.255.1.1', 6001],
  ['239.255.1.1', 6000],
] as const

/** Receiver: one socket per (group, port), joined; prints `ready`, then after `ms` the ports that got a datagram. */
const RECEIVER_JS = String.raw`import dgram from 'node:dgram'
const cfg = JSON.parse(process.argv[1])
const got = new Set()
let ready = 0
for (const [group, port] of cfg.targets) {
  const v6 = group.includes(':')
  const s = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', reuseAddr: true, ipv6Only: v6 })
  s.on('message', () => got.add((v6 ? '6/' : '4/') + port))
  s.on('error', (e) => { process.stderr.write(String(e) + '\n'); process.exit(3) })
  s.bind(port, () => {
    if (group !== '255.255.255.255') s.addMembership(group, v6 ? '::%eth0' : undefined)
    if (++ready === cfg.targets.length) process.stdout.write('ready\n')
  })
}
setTimeout(() => { process.stdout.write(JSON.stringify([...got]) + '\n'); process.exit(0) }, cfg.ms)
`

/** Sender: three datagrams to each (group, port) from port 40000, out of eth0. */
const SENDER_JS = String.raw`import dgram from 'node:dgram'
const cfg = JSON.parse(process.argv[1])
for (const [group, port] of cfg.targets) {
  const v6 = group.includes(':')
  const s = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', reuseAddr: true })
  await new Promise((res) => s.bind(40000, res))
  if (group === '255.255.255.255') s.setBroadcast(true)
  else { s.setMulticastLoopback(false); if (v6) s.setMulticastInterface('::%eth0') }
  // a datagram the sender's own egress drops fails with EPERM: that is the ruleset's answer
  for (let i = 0; i < 3; i++) await new Promise((res) => s.send('x', port, group, () => res()))
  s.close()
}
`

/**
 * Sends `targets` from kiosk-1 while laptop-1 listens, `settleMs` after laptop-1 joined the
 * groups (time for its membership reports to reach a snooping bridge); the `family/port`s
 * laptop-1 received.
 */
async function exchange(
  lab: Lab,
  targets: readonly (readonly [string, number])[],
  settleMs = 0,
): Promise<string[]> {
  const ns = lab.ns.get('laptop-1') ?? ''
  const cfg = JSON.stringify({ targets, ms: 2500 + settleMs })
  const child = spawn('ip', [
    'netns',
    'exec',
    ns,
    process.execPath,
    '--input-type=module',
    '-e',
    RECEIVER_JS,
    cfg,
  ])
  let out = ''
  let err = ''
  const done = new Promise<void>((resolve, reject) => {
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`receiver: ${code} ${err}`)),
    )
  })
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('receiver did not start')), 10_000)
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.startsWith('ready\n')) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  if (settleMs > 0) await new Promise((resolve) => setTimeout(resolve, settleMs))
  await lab.exec('kiosk-1', [
    process.execPath,
    '--input-type=module',
    '-e',
    SENDER_JS,
    JSON.stringify({ targets }),
  ])
  await done
  return JSON.parse(out.slice('ready\n'.length).trim()) as string[]
}

/** The `family/port`s of `targets` whose flow from kiosk-1 the model allows. */
function allowed(targets: readonly (readonly [string, number])[]): string[] {
  return targets
    .filter(([group, port]) => {
      const src = group.includes(':') ? '2001:db8:5::11' : '10.5.0.11'
      const t = { src, dst: group, protocol: 17, dstPort: port, at: NOW.getTime() }
      return evaluate(INVENTORY, POLICY, t).decision === 'allowed'
    })
    .map(([group, port]) => `${group.includes(':') ? 6 : 4}/${port}`)
    .sort()
}

async function applyNft(lab: Lab, host: string): Promise<void> {
  const { artefacts } = nftablesCompiler.compile(INVENTORY, POLICY, {
    now: NOW,
    antiLockout: false,
  })
  await lab.apply(host, artefacts.find((a) => a.host === host)?.content ?? '')
}

async function applyIpt(lab: Lab, host: string): Promise<void> {
  const { artefacts } = iptablesCompiler.compile(INVENTORY, POLICY, {
    now: NOW,
    antiLockout: false,
  })
  const mine = artefacts.filter((a) => a.host === host)
  const script = mine.find((a) => a.path.endsWith('.apply.sh'))?.path ?? ''
  await lab.applyFiles(host, new Map(mine.map((a) => [a.path, a.content])), (dir) => [
    'sh',
    `${dir}/${script}`,
  ])
}

describeKernel('kernel verification: receivers of multicast and broadcast', support(), () => {
  beforeAll(() => cleanupLeftovers(PREFIX))
  afterAll(() => cleanupLeftovers(PREFIX))

  it('the hand-computed verdicts are the model', () => {
    expect(allowed(TARGETS)).toEqual(['4/5000', '4/5353', '4/6000', '4/67', '6/5353', '6/6000'])
    expect(allowed(TARGETS_2)).toEqual(['4/6000'])
  })

  for (const [target, apply] of [
    ['nftables', applyNft],
    ['iptables', applyIpt],
  ] as const) {
    it(`${target}: a receiver gets exactly the group and broadcast datagrams the model allows`, async () => {
      const lab = await createLab(`${PREFIX}-${target === 'nftables' ? 'n' : 'i'}`, [
        { name: 'kiosk-1', addresses: ['10.5.0.11', '2001:db8:5::11'] },
        { name: 'laptop-1', addresses: ['10.5.0.12', '2001:db8:5::12'] },
      ])
      try {
        // the bridge floods group traffic (no IGMP snooping; the next test snoops); a route for
        // the groups and the broadcast
        await run('ip', [
          '-n',
          `${lab.prefix}-br`,
          'link',
          'set',
          'br0',
          'type',
          'bridge',
          'mcast_snooping',
          '0',
        ])
        for (const h of ['kiosk-1', 'laptop-1']) {
          await lab.exec(h, ['ip', 'route', 'add', '224.0.0.0/4', 'dev', 'eth0'])
          await lab.exec(h, ['ip', 'route', 'add', 'default', 'dev', 'eth0'])
        }
        // without rulesets, everything arrives (the lab works)
        expect((await exchange(lab, TARGETS)).sort()).toEqual(
          [...new Set(TARGETS.map(([g, p]) => `${g.includes(':') ? 6 : 4}/${p}`))].sort(),
        )
        // the receiver's ingress alone judges; then the sender's egress too
        await apply(lab, 'laptop-1')
        expect((await exchange(lab, TARGETS)).sort(), 'receiver filtering').toEqual(
          allowed(TARGETS),
        )
        expect((await exchange(lab, TARGETS_2)).sort()).toEqual(allowed(TARGETS_2))
        await apply(lab, 'kiosk-1')
        expect((await exchange(lab, TARGETS)).sort(), 'both filtering').toEqual(allowed(TARGETS))
      } finally {
        await lab.destroy()
      }
    }, 60_000)

    it(`${target}: an enforcing receiver behind an IGMP-snooping bridge gets its group, as its IGMP reports are link control`, async () => {
      // by hand: no rule names IGMP (protocol 2); it is link control between IPv4 addresses, so
      // laptop-1's reports (to 224.0.0.22, IGMPv3) and the bridge's queries (from 0.0.0.0 to
      // 224.0.0.1) pass whatever the rules, and udp/5000 to 239.1.2.3 is allowed by `streams`
      const at = NOW.getTime()
      for (const [src, dst] of [
        ['10.5.0.12', '224.0.0.22'],
        ['0.0.0.0', '224.0.0.1'],
      ] as const)
        expect(evaluate(INVENTORY, POLICY, { src, dst, protocol: 2, dstPort: 0, at }).by).toBe(
          'link-control',
        )
      expect(allowed([['239.1.2.3', 5000]])).toEqual(['4/5000'])
      const lab = await createLab(`${PREFIX}-${target === 'nftables' ? 'sn' : 'si'}`, [
        { name: 'kiosk-1', addresses: ['10.5.0.11', '2001:db8:5::11'] },
        { name: 'laptop-1', addresses: ['10.5.0.12', '2001:db8:5::12'] },
      ])
      try {
        // a snooping bridge that is its own querier forwards a group outside 224.0.0.0/24 only to
        // the ports whose hosts reported membership (no querier: it would flood), and with
        // mcast_flood off on laptop-1's port (p1) no unknown group either (Linux floods them).
        // The bridge counts as querier one response interval after it becomes one: 1 s, not 10
        const br = ['-n', `${lab.prefix}-br`]
        const set = (...a: string[]) =>
          run('ip', [...br, 'link', 'set', 'br0', 'type', 'bridge', ...a])
        await set('mcast_snooping', '1', 'mcast_query_response_interval', '100')
        await set('mcast_querier', '1')
        await run('bridge', [...br, 'link', 'set', 'dev', 'p1', 'mcast_flood', 'off'])
        for (const h of ['kiosk-1', 'laptop-1']) {
          await lab.exec(h, ['ip', 'route', 'add', '224.0.0.0/4', 'dev', 'eth0'])
          await lab.exec(h, ['ip', 'route', 'add', 'default', 'dev', 'eth0'])
        }
        await apply(lab, 'laptop-1')
        await apply(lab, 'kiosk-1')
        const group = [['239.1.2.3', 5000]] as const
        expect(await exchange(lab, group, 2000), 'group datagrams reach the receiver').toEqual([
          '4/5000',
        ])
        // the bridge learnt the membership from laptop-1's port (p1): its report passed
        const mdb = (await run('bridge', [...br, 'mdb', 'show'])).stdout
        expect(mdb).toMatch(/port p1 grp 239\.1\.2\.3/)
      } finally {
        await lab.destroy()
      }
    }, 60_000)
  }
})
