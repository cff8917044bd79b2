/**
 * @module A two-host estate shared by the host-target tests: `a` (role=web, IPv4) and `b`
 * (role=db, IPv4 and IPv6), and one rule web → db on tcp/5432 in a chosen enforcement mode.
 */
import { expect } from 'vitest'
import { labelSet, type PolicySet } from '../../src/core/index.js'
import type { Compiler } from '../../src/compile/target.js'
import { inventoryOf, workload } from '../helpers/workloads.js'

export const lbl = (m: Record<string, string>) => ({
  kind: 'labels' as const,
  match: labelSet(m),
  expressions: [],
  global: false,
})
export const twoHosts = inventoryOf(
  workload('a', '10.9.0.1', { role: 'web' }),
  workload('b', ['10.9.0.2', '2001:db8::2'], { role: 'db' }),
)
export const webToDb = (mode: 'enforce' | 'monitor' | 'observe'): PolicySet => ({
  policies: [
    {
      name: 'p',
      owner: 'o',
      scope: labelSet(),
      file: 'p.yaml',
      rules: [
        {
          id: 'w2d',
          action: 'allow',
          emergency: false,
          from: [lbl({ role: 'web' })],
          to: [lbl({ role: 'db' })],
          services: [{ protocol: 6, ports: { lo: 5432, hi: 5432 } }],
        },
      ],
    },
  ],
  enforcement: [{ selector: { kind: 'any' }, mode }],
})

/**
 * Checks a host target's checker on ICMP from `b` to a peer (no rule allows `b → a`): errors of
 * the addresses' family (ICMP 3 and 11, ICMPv6 1) pass as related, other types (echo 8, router
 * advertisement 9, ICMPv6 echo 128) and ICMPv6 between IPv4 addresses meet the rules (drop).
 * `egressOfB` decides a packet at `b`'s egress.
 */
export function expectIcmpErrorsRelated(
  egressOfB: (p: { src: string; dst: string; protocol: number; dstPort: number }) => string,
): void {
  const out = (protocol: number, dstPort: number, dst = '10.9.0.1', src = '10.9.0.2'): string =>
    egressOfB({ src, dst, protocol, dstPort })
  expect([out(1, 3), out(1, 11), out(1, 8), out(1, 9)]).toEqual([
    'accept',
    'accept',
    'drop',
    'drop',
  ])
  const v6 = ['2001:db8::9', '2001:db8::2'] as const
  expect([out(58, 1, ...v6), out(58, 128, ...v6), out(58, 1)]).toEqual(['accept', 'drop', 'drop'])
}

/**
 * Checks a host target's checker on link control at `b` in `enforce` and `monitor` (no rule
 * names ICMPv6 or IGMP): IGMP (protocol 2, any type: flows carry dstPort 0) between IPv4
 * addresses, `b`'s reports out and queries in (from `0.0.0.0` too), and ICMPv6 neighbour
 * solicitation pass (`accept`, not recorded as would-be-blocked); protocol 2 between IPv6
 * addresses is no IGMP and meets the rules, as does tcp/22 (`drop` in enforce, `record` in
 * monitor). `decide(mode, direction, packet)` decides a packet at `b`.
 */
export function expectLinkControlPasses(
  decide: (
    mode: 'enforce' | 'monitor',
    direction: 'ingress' | 'egress',
    p: { src: string; dst: string; protocol: number; dstPort: number },
  ) => string,
): void {
  for (const mode of ['enforce', 'monitor'] as const) {
    const at = (
      dir: 'ingress' | 'egress',
      src: string,
      dst: string,
      protocol: number,
      dstPort = 0,
    ) => decide(mode, dir, { src, dst, protocol, dstPort })
    const denied = mode === 'enforce' ? 'drop' : 'record'
    expect(
      [
        at('egress', '10.9.0.2', '224.0.0.22', 2), // IGMPv3 report
        at('egress', '10.9.0.2', '224.0.0.2', 2), // IGMPv2 leave
        at('egress', '10.9.0.2', '10.9.0.1', 2),
        at('ingress', '10.9.0.1', '224.0.0.1', 2), // general query
        at('ingress', '0.0.0.0', '224.0.0.1', 2), // query of a querier without an address
        at('ingress', '10.9.0.1', '10.9.0.2', 2, 17), // a type in dstPort: still IGMP
        at('egress', '2001:db8::2', 'ff02::1:ff00:9', 58, 135),
        at('egress', '2001:db8::2', '2001:db8::9', 2),
        at('egress', '10.9.0.2', '10.9.0.1', 6, 22),
      ],
      mode,
    ).toEqual([
      'accept',
      'accept',
      'accept',
      'accept',
      'accept',
      'accept',
      'accept',
      denied,
      denied,
    ])
  }
}

/**
 * {@link webToDb} whose tcp/5432 allow expires at `expires` (ms), plus web → db tcp/6432 allowed
 * for good but denied by a rule that also expires at `expires`: before it 5432 is allowed and
 * 6432 denied, from it the reverse.
 */
export const expiringWebToDb = (
  mode: 'enforce' | 'monitor' | 'observe',
  expires: number,
): PolicySet => {
  const base = webToDb(mode)
  const policy = base.policies[0] as PolicySet['policies'][number]
  const w2d = policy.rules[0] as PolicySet['policies'][number]['rules'][number]
  return {
    ...base,
    policies: [
      {
        ...policy,
        rules: [
          { ...w2d, expires },
          {
            ...w2d,
            id: 'w2d-6432',
            services: [{ protocol: 6, ports: { lo: 6432, hi: 6432 } }],
          },
          {
            ...w2d,
            id: 'no-6432-yet',
            action: 'deny',
            services: [{ protocol: 6, ports: { lo: 6432, hi: 6432 } }],
            expires,
          },
        ],
      },
    ],
  }
}

/**
 * Checks a ruleset of {@link expiringWebToDb} (compiled at `compiledAt`, rules expiring at
 * `expires`, not a whole second) at `b`'s ingress: before the expiry, up to the end of the second
 * it falls in (the kernel switches at whole seconds), 5432 is accepted and 6432 dropped; from the
 * next whole second on, the reverse. `ingressOfB(port, at)` decides a tcp packet a → b at `at`.
 */
export function expectSwitchAtSecond(
  ingressOfB: (port: number, at: number) => string,
  compiledAt: number,
  expires: number,
): void {
  const switchAt = Math.ceil(expires / 1000) * 1000
  for (const [at, want5432, want6432] of [
    [compiledAt, 'accept', 'drop'],
    [switchAt - 1000, 'accept', 'drop'],
    [switchAt - 1, 'accept', 'drop'],
    [switchAt, 'drop', 'accept'],
    [switchAt + 86_400_000 * 400, 'drop', 'accept'],
  ] as const) {
    expect(ingressOfB(5432, at), `5432 at ${at - compiledAt}`).toBe(want5432)
    expect(ingressOfB(6432, at), `6432 at ${at - compiledAt}`).toBe(want6432)
  }
}

/** A tcp packet from `a` (10.9.0.1) to `b` (10.9.0.2) on `port`, at `at` (ms). */
export const tcpWebToDb = (port: number, at: number) => ({
  src: '10.9.0.1',
  dst: '10.9.0.2',
  protocol: 6,
  dstPort: port,
  at,
})

/**
 * A host target tells `onProgress` (hosts done, hosts in all) once per host, in order, and the
 * artefacts are those of a compile without it.
 */
export function expectProgressPerHost(compiler: Compiler): void {
  const now = new Date('2026-11-22T12:00:00Z')
  const calls: [number, number][] = []
  const told = compiler.compile(twoHosts, webToDb('enforce'), {
    now,
    onProgress: (done, total) => calls.push([done, total]),
  })
  expect(calls).toEqual([
    [1, 2],
    [2, 2],
  ])
  expect(told).toEqual(compiler.compile(twoHosts, webToDb('enforce'), { now }))
}
