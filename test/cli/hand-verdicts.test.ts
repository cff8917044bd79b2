/**
 * Held-out policies and flows with verdicts worked out by hand (session 33, helper hB), before
 * Bulkhead was run, from DESIGN.md "Policy language v1" and the README's "Workspace and policy
 * format". Three small estates:
 *
 * - `hand-a`: IP reuse (10.1.3.7 held by `batch-a` on [10-01, 10-15) and `batch-b` on [10-15,
 *   11-01)) judged before, during, after and at both boundary instants; `expires` at the exact
 *   instant (a time is the first instant the rule is gone; a date is valid through that UTC day);
 *   `scope` with `scope: global`; `In`/`NotIn`/`Exists`/`DoesNotExist` on `tier`, which some
 *   workloads lack; CIDR with `except` at its edges; a named external inside another (`bank-core`
 *   in `bank`) and unmanaged addresses; IPv6 and an IPv4-mapped block and flow; ICMP, ICMPv6, an
 *   echo reply, an ICMP error, neighbour discovery; port ranges touching 0 and 65535; deny beating
 *   allow across two policies; replies recorded in the reply direction; modes on both sides and of
 *   the receivers of a group or the broadcast. `policy-new` changes two rules for `diff`.
 * - `hand-b`: a workload with two addresses, one in a `cidr` Enforcement entry; a policy with no
 *   scope; `any`; `scope: global` on the `to` side; ESP, `proto/4`, GRE, SCTP, IGMP; an IPv6
 *   multicast group; a flow already rejected where observed.
 * - `hand-d`: `matchExpressions` values written as YAML numbers (`values: [1, 3]`, `[1.10]`), read
 *   as their text as written, as label values are; a workload whose address moves out of a `cidr`
 *   Enforcement entry; an IPv4-mapped address in the inventory and in `except`.
 */
import { describe, expect, it } from 'vitest'
import { cli } from '../helpers/cli.js'
import { cases, evalOne, simulateJson, type SimJson } from '../helpers/verdict-table.js'

const A = 'test/fixtures/hand-a'
const B = 'test/fixtures/hand-b'
const D = 'test/fixtures/hand-d'
/** One millisecond before `shop-prod/batch-to-bank` expires, and the instant it does. */
const T1 = '2026-10-20T11:59:59.999Z'
const T2 = '2026-10-20T12:00:00Z'

const A_EVAL = cases(`
2026-10-20T10:00:00Z | 10.1.0.10 -> 10.1.1.10 tcp/443 | allowed | shop-prod/web-to-api |
2026-10-20T10:00:00Z | 10.1.0.11 -> 10.1.1.10 tcp/8100 | allowed | shop-prod/web-to-api |
2026-10-20T10:00:00Z | 10.1.0.11 -> 10.1.1.10 tcp/8101 | denied | default-deny | would-be-blocked
2026-10-20T10:00:00Z | 10.2.0.5 -> 10.1.1.10 tcp/443 | denied | prod-guard/no-dev-to-prod | would-be-blocked
2026-10-20T10:00:00Z | 10.2.0.5 -> 10.1.0.10 tcp/8443 | denied | prod-guard/no-dev-to-prod | would-be-blocked
2026-10-20T10:00:00Z | 10.2.9.9 -> 10.1.0.10 tcp/8443 | allowed | shop-prod/mapped-dev |
2026-10-20T10:00:00Z | 192.0.2.127 -> 10.1.0.11 tcp/443 | allowed | shop-prod/office-in |
2026-10-20T10:00:00Z | 192.0.2.128 -> 10.1.0.11 tcp/443 | denied | default-deny | would-be-blocked
2026-10-14T23:59:59Z | 10.1.3.7 -> 198.51.100.50 tcp/22 | allowed | shop-prod/batch-to-bank |
2026-10-15T00:00:00Z | 10.1.3.7 -> 198.51.100.50 tcp/22 | denied | default-deny | blocked
2026-10-01T00:00:00Z | 10.1.3.7 -> 198.51.100.50 tcp/22 | allowed | shop-prod/batch-to-bank |
2026-09-30T23:59:59Z | 10.1.3.7 -> 198.51.100.50 tcp/22 | denied | default-deny | unenforced
2026-11-01T00:00:00Z | 10.1.3.7 -> 198.51.100.50 tcp/22 | denied | default-deny | unenforced
${T1} | 10.1.0.10 -> 198.51.100.50 tcp/22 | denied | default-deny | would-be-blocked
2026-10-10T00:00:00Z | 10.1.3.7 -> 10.1.2.10 tcp/5 | allowed | shop-prod/untiered-low |
2026-10-20T00:00:00Z | 10.1.3.7 -> 10.1.2.10 tcp/0 | denied | prod-guard/no-dev-to-prod | blocked
2026-10-20T10:00:00Z | 10.1.0.11 -> 10.1.2.10 tcp/10 | allowed | shop-prod/untiered-low |
2026-10-20T10:00:00Z | 10.1.0.10 -> 10.1.2.10 tcp/10 | denied | default-deny | blocked
2026-10-20T10:00:00Z | 10.1.0.10 -> 10.1.2.10 udp/65535 | allowed | shop-prod/front-high |
2026-10-20T10:00:00Z | 10.1.0.10 -> 10.1.0.11 udp/65000 | allowed | shop-prod/front-high |
2026-10-20T10:00:00Z | 10.1.0.10 -> 10.1.2.10 udp/64999 | denied | default-deny | blocked
2026-10-20T10:00:00Z | 10.1.0.11 -> 10.1.0.10 udp/65535 | denied | default-deny | would-be-blocked
2026-10-20T10:00:00Z | 10.1.1.10 -> 10.1.2.10 tcp/5432 | allowed | shop-prod/api-to-db |
2026-10-20T10:00:00Z | 10.3.0.2 -> 10.1.2.10 icmp/8 | allowed | ops/mon-ping |
2026-10-20T10:00:00Z | 10.1.2.10 -> 10.3.0.2 icmp/0 | allowed | ops/mon-ping |
2026-10-20T10:00:00Z | 10.3.0.2 -> 10.1.2.10 icmp/13 | denied | default-deny | blocked
2026-10-20T10:00:00Z | 10.1.2.10 -> 10.3.0.2 icmp/3 | allowed | related |
2026-10-20T10:00:00Z | 2001:db8:3::2 -> 2001:db8:1::20 icmpv6/128 | allowed | ops/mon-ping |
2026-10-20T10:00:00Z | 2001:db8:1::20 -> ff02::1:ff00:20 icmpv6/135 | allowed | link-control |
2026-10-20T10:00:00Z | 2001:db8:3::2 -> 2001:db8:1::10 tcp/9100 | denied | default-deny | blocked
2026-10-20T10:00:00Z | 2001:db8:3::2 -> 2001:db8:5::1 tcp/9100 | allowed | ops/mon-scrape |
2026-10-20T10:00:00Z | 10.3.0.2 -> 192.0.2.53 udp/53 | allowed | ops/mon-dns |
2026-10-20T10:00:00Z | 10.3.0.2 -> 198.51.100.5 udp/53 | denied | default-deny | blocked
2026-10-10T00:00:00Z | 10.1.3.7 -> 198.51.100.5 tcp/22 | denied | prod-guard/no-bank-core-ssh | would-be-blocked
2026-10-20T10:00:00Z | 10.9.9.9 -> 239.255.255.250 udp/1900 | denied | default-deny | blocked
2026-10-20T10:00:00Z | 10.2.0.5 -> 255.255.255.255 udp/67 | denied | default-deny | blocked
2026-10-31T23:59:59.999Z | 10.1.2.10 -> 203.0.113.9 tcp/873 | allowed | shop-prod/db-backup |
2026-11-01T00:00:00Z | 10.1.2.10 -> 203.0.113.9 tcp/873 | denied | default-deny | blocked
2026-10-20T10:00:00Z | 2001:db8:1::10 -> 2001:db8:1::20 tcp/9000 | allowed | shop-prod/tiered |
2026-10-20T10:00:00Z | ::ffff:10.2.9.9 -> ::ffff:10.1.0.10 tcp/8443 | allowed | shop-prod/mapped-dev |
2026-10-10T00:00:00Z | batch-a -> bank tcp/22 | allowed | shop-prod/batch-to-bank |
2026-10-20T10:00:00Z | office -> web-1 tcp/443 | allowed | shop-prod/office-in |
2026-10-20T10:00:00Z | bank -> 10.1.2.10 tcp/5432 | denied | default-deny | blocked
`)

const D_EVAL = cases(`
2026-10-05T00:00:00Z | 10.10.0.5 -> 10.8.0.1 tcp/5432 | allowed | x/tiers |
2026-10-05T00:00:00Z | 10.10.0.5 -> 10.8.0.1 tcp/6000 | allowed | x/ver |
2026-10-05T00:00:00Z | 10.10.0.5 -> 10.8.0.1 tcp/6001 | allowed | x/ver-in |
2026-10-05T00:00:00Z | 10.10.0.5 -> 10.8.0.1 tcp/7000 | allowed | x/mapped-except |
2026-10-15T00:00:00Z | 10.20.0.5 -> 10.8.0.1 tcp/7000 | denied | default-deny | would-be-blocked
2026-10-05T00:00:00Z | 10.10.0.5 -> 10.8.0.1 tcp/7001 | denied | default-deny | blocked
2026-10-05T00:00:00Z | 10.30.0.1 -> 10.8.0.1 tcp/0 | denied | x/all-tcp-deny | would-be-blocked
2026-10-05T00:00:00Z | 10.30.0.1 -> 10.8.0.1 udp/53 | allowed | x/client-any |
2026-10-05T00:00:00Z | 10.30.0.1 -> 10.8.0.1 icmp/8 | allowed | x/client-any |
2026-10-05T00:00:00Z | 10.30.0.1 -> ::ffff:10.8.0.1 tcp/5432 | denied | x/all-tcp-deny | would-be-blocked
2026-10-10T00:00:00Z | 10.10.0.5 -> 10.8.0.1 tcp/7000 | allowed | x/mapped-except |
2026-10-10T00:00:00Z | 10.10.0.5 -> 10.8.0.1 tcp/7001 | denied | default-deny | would-be-blocked
2026-10-15T00:00:00Z | mover -> mapped tcp/5432 | allowed | x/tiers |
`)

const edges = (j: SimJson): string[] =>
  j.denied
    .map(
      (e) =>
        `${e.outcome} ${e.src.name} -> ${e.dst.name} ${e.service} ${e.flows} ${e.deniedBy.join(',')}`,
    )
    .sort()
const hits = (j: SimJson): Record<string, number> =>
  Object.fromEntries(j.rules.map((r) => [r.rule, r.hits]))

describe('hand-a: hand-computed verdicts', () => {
  it.each(A_EVAL)('eval at %s: %s', async (at, flow, decision, by, outcome) => {
    expect(await evalOne(A, at, flow)).toBe([decision, by, outcome].join('|'))
  })

  it('eval_of_a_workload_holding_no_address_at_the_instant_is_a_usage_error', async () => {
    const r = await cli('eval', 'batch-a -> bank tcp/22', '-w', A, '--at', T1)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('cli/usage')
  })

  it('simulate_one_millisecond_before_the_expiry_instant', async () => {
    const j = await simulateJson(A, T1)
    expect(j.outcomes).toEqual({ allowed: 21, blocked: 10, 'would-be-blocked': 6, unenforced: 2 })
    expect([j.linkControl, j.related]).toEqual([1, 1])
    expect(edges(j)).toEqual(
      [
        'blocked web-1 -> db-1 tcp/10 2 default-deny',
        'blocked 10.9.9.0/24 -> 239.255.255.250 udp/1900 1 default-deny',
        'blocked batch-b -> bank tcp/22 1 default-deny',
        'blocked batch-b -> db-1 tcp/0 1 prod-guard/no-dev-to-prod',
        'blocked dev-1 -> 255.255.255.255 udp/67 1 default-deny',
        'blocked mon-1 -> bank-core udp/53 1 default-deny',
        'blocked mon-1 -> db-1 icmp/13 1 default-deny',
        'blocked mon-1 -> web-1 tcp/9100 1 default-deny',
        'blocked web-1 -> db-1 udp/64999 1 default-deny',
        'would-be-blocked batch-a -> bank-core tcp/22 1 prod-guard/no-bank-core-ssh',
        'would-be-blocked dev-1 -> api-1 tcp/443 1 prod-guard/no-dev-to-prod',
        'would-be-blocked dev-1 -> web-1 tcp/8443 1 prod-guard/no-dev-to-prod',
        'would-be-blocked office -> web-2 tcp/443 1 default-deny',
        'would-be-blocked web-2 -> api-1 tcp/8101 1 default-deny',
        'would-be-blocked web-2 -> web-1 udp/65535 1 default-deny',
        'unenforced 10.1.3.7 -> bank tcp/22 2 default-deny',
      ].sort(),
    )
    expect(hits(j)).toEqual({
      'ops/mon-ping': 3,
      'ops/mon-scrape': 1,
      'ops/mon-dns': 1,
      'prod-guard/no-dev-to-prod': 3,
      'prod-guard/no-bank-core-ssh': 1,
      'shop-prod/web-to-api': 2,
      'shop-prod/api-to-db': 1,
      'shop-prod/batch-to-bank': 2,
      'shop-prod/office-in': 1,
      'shop-prod/untiered-low': 2,
      'shop-prod/front-high': 2,
      'shop-prod/mapped-dev': 2,
      'shop-prod/db-backup': 1,
      'shop-prod/tiered': 1,
    })
    expect(j.unused).toEqual([])
  })

  it('simulate_at_the_expiry_instant_treats_the_rule_as_absent', async () => {
    const j = await simulateJson(A, T2)
    expect(j.outcomes).toEqual({ allowed: 19, blocked: 10, 'would-be-blocked': 8, unenforced: 2 })
    expect(edges(j)).toContain('would-be-blocked batch-a -> bank tcp/22 2 default-deny')
    expect(j.rules.find((r) => r.rule === 'shop-prod/batch-to-bank')).toMatchObject({
      hits: 0,
      expired: true,
    })
  })

  it('connlist_between_workloads', async () => {
    const r = await cli('connlist', '-w', A, '--at', T1)
    expect(r.code, r.stderr).toBe(0)
    const names = new Set([
      'web-1',
      'web-2',
      'api-1',
      'db-1',
      'dev-1',
      'batch-a',
      'batch-b',
      'mon-1',
    ])
    const lines = r.stdout
      .trim()
      .split('\n')
      .filter((l) => {
        const [src, rest] = l.split(' => ')
        return names.has(src!) && names.has(rest!.split(' : ')[0]!)
      })
    expect(lines).toEqual([
      'api-1 => db-1 : TCP 5432,9000',
      'api-1 => web-1 : TCP 9000',
      'db-1 => api-1 : TCP 9000',
      'db-1 => web-1 : TCP 9000',
      'mon-1 => api-1 : ICMP 8,ICMPv6 128',
      'mon-1 => batch-b : ICMP 8',
      'mon-1 => db-1 : ICMP 8',
      'mon-1 => dev-1 : ICMP 8',
      'mon-1 => web-1 : ICMP 8,ICMPv6 128',
      'mon-1 => web-2 : ICMP 8',
      'web-1 => api-1 : TCP 443,8000-8100,9000,UDP 65000-65535',
      'web-1 => db-1 : TCP 9000,UDP 65000-65535',
      'web-1 => web-2 : UDP 65000-65535',
      'web-2 => api-1 : TCP 443,8000-8100',
      'web-2 => db-1 : TCP 0-10',
    ])
    expect(r.stdout).toContain('office(192.0.2.0-192.0.2.127)[External] => web-2 : TCP 443\n')
    expect(r.stdout).not.toContain('office(192.0.2.128-192.0.2.255)[External] => web')
    expect(r.stdout).toContain('db-1 => 203.0.113.0-203.0.113.255[External] : TCP 873\n')
  })

  it('diff_with_two_rules_changed', async () => {
    const r = await cli(
      'diff',
      `${A}/policy`,
      `${A}/policy-new`,
      '-w',
      A,
      '--flows',
      `${A}/flows.csv`,
      '--at',
      T1,
      '-o',
      'json',
    )
    expect(r.code, r.stderr).toBe(0)
    const j = JSON.parse(r.stdout) as {
      flows: {
        newlyBlocked: number
        newlyAllowed: number
        edges: {
          change: string
          src: string
          dst: string
          service: string
          new: { by: string; outcome: string }
        }[]
      }
    }
    expect(
      j.flows.edges.map(
        (e) => `${e.change} ${e.src} -> ${e.dst} ${e.service} ${e.new.by} ${e.new.outcome}`,
      ),
    ).toEqual([
      'blocked web-2 -> api-1 tcp/8100 default-deny would-be-blocked',
      'allowed office -> web-2 tcp/443 shop-prod/office-in allowed',
    ])
  })

  it('blast_radius_policy_and_enforced', async () => {
    const figures = async (...extra: string[]): Promise<unknown> => {
      const r = await cli('blast-radius', '-w', A, '--at', T1, '-o', 'json', ...extra)
      expect(r.code, r.stderr).toBe(0)
      const s = (JSON.parse(r.stdout) as { summary: Record<string, unknown> }).summary
      return [s.openLateralPaths, s.openPairs, s.transitivePairs]
    }
    expect(await figures()).toEqual([23, 15, 18])
    expect(await figures('--baseline', 'enforced')).toEqual([27, 23, 26])
  })
})

describe('hand-b: hand-computed verdicts', () => {
  it('simulate', async () => {
    const j = await simulateJson(B, '2026-10-15T10:00:00Z')
    expect(j.outcomes).toEqual({ allowed: 16, blocked: 6, 'would-be-blocked': 8, unenforced: 0 })
    expect([j.alreadyRejected, j.linkControl]).toEqual([1, 1])
    expect(edges(j)).toEqual(
      [
        'blocked app-1 -> gw-1 sctp/3868 1 default-deny',
        'blocked app-2 -> ff02::fb udp/5353 1 default-deny',
        'blocked dns-1 -> 224.0.0.251 udp/5353 1 default-deny',
        'blocked internet -> gw-1 tcp/22 1 default-deny',
        'blocked partner -> tun-1 udp/4500 1 default-deny',
        'blocked tun-1 -> partner gre 1 default-deny',
        'would-be-blocked 2001:db8:9::11 -> app-2 tcp/60000 1 default-deny',
        'would-be-blocked app-2 -> app-2 tcp/60000 1 default-deny',
        'would-be-blocked app-2 -> internet sctp/3868 1 default-deny',
        'would-be-blocked dns-1 -> app-1 udp/53 1 default-deny',
        'would-be-blocked internet -> app-2 tcp/59999 1 default-deny',
        'would-be-blocked kiosk -> app-1 icmp/8 1 baseline/deny-kiosk',
        'would-be-blocked kiosk -> dns-1 udp/53 1 baseline/deny-kiosk',
        'would-be-blocked old-kiosk -> dns-1 udp/53 1 baseline/deny-kiosk',
        'already-rejected internet -> gw-1 tcp/3389 1 default-deny',
      ].sort(),
    )
    expect(hits(j)).toMatchObject({
      'baseline/legacy-ok': 0,
      'baseline/deny-kiosk': 3,
      'baseline/ping-all': 3,
      'edge/gw-in': 2,
      'edge/gw-to-app': 2,
      'edge/app-dns': 4,
      'edge/tunnels': 3,
      'edge/v6-range': 1,
      'edge/sctp': 0,
    })
    expect(j.unused).toEqual(['baseline/legacy-ok', 'edge/sctp'])
  })
})

describe('hand-d: matchExpressions values written as YAML numbers', () => {
  it('loads_without_diagnostics', async () => {
    const r = await cli('validate', '-w', D, '--at', '2026-10-05T00:00:00Z')
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
  })

  it.each(D_EVAL)('eval at %s: %s', async (at, flow, decision, by, outcome) => {
    expect(await evalOne(D, at, flow)).toBe([decision, by, outcome].join('|'))
  })
})
