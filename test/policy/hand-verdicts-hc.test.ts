/**
 * Held-out policies and flows with verdicts worked out by hand (session 38, helper hC) from
 * DESIGN.md "Policy language v1" and the README's "Workspace and policy format", `eval`,
 * `simulate`, `connlist` and `diff`, before Bulkhead was run on them. They aim at corners the
 * estates of test/cli/hand-verdicts.test.ts leave out:
 *
 * - `hand-e`: the verdict names the first deny, else the first allow, taking policies by
 *   `metadata.name` (`aa-guard` in b.yaml before `zz-shop` in a.yaml), not by file; a policy with
 *   no scope beside a scoped one; `workload:` selectors scoped like labels and with `scope: global`;
 *   `matchExpressions` `In`/`NotIn`/`DoesNotExist`/`Exists` ANDed with the scope and with
 *   `matchLabels` pairs, on workloads lacking the key; two workloads of one identity
 *   (`web-1`, `web-2`); an address held by a workload for one day inside a named external
 *   (`tmp-1` in `office`); IPv6 CIDR with `except`; ICMP/ICMPv6 replies judged as their request,
 *   errors as related, neighbour discovery and MLD as link control, ICMPv6 redirect 137 and 144
 *   judged by the rules; a deny of an ICMP error type without effect; `expires` as a date and as a
 *   time with an offset at the boundary, in `eval` (`--at`) and in `simulate` (expiry judged at
 *   `--at`, whatever the flow's time); two Enforcement files taken in file-name order, first match
 *   wins, a `cidr` entry giving a dual-stack workload its mode at both addresses; receivers of a
 *   group; `--as-enforced`; a flow already rejected where observed; `diff` of a removed deny,
 *   a changed port and an Enforcement entry changed from enforce to monitor.
 * - `hand-f`: `{}` in a policy without scope (every workload, no unmanaged address), `{ scope:
 *   global }` as a destination, labels given by LabelRules (an explicit label wins), every
 *   workload `observe` but one, receivers of a group that hold their addresses only for a time.
 * - `hand-g`: twins of one identity told apart by a `cidr` selector, a `workload` selector and a
 *   `cidr` Enforcement entry; a workload holding several addresses in different modes; a
 *   workload inside a named external (not the external's); a deny of every non-private source;
 *   ports 0 and 65535; SCTP; an Enforcement entry by `matchExpressions` and `{}`.
 * - `hand-h`: label and `matchExpressions` values written as YAML booleans and numbers; a deny in
 *   the reply direction of an allowed connection (replies are judged as their connection); an
 *   expired deny; address bounds with an offset; IPv4-mapped flows; the workspace `timeZone`,
 *   which does not move expiry; the process's `TZ`, which must not either.
 * - `hand-i`: receivers of a group when no workload holds an address, IPv6 link-scope groups,
 *   the broadcast from `0.0.0.0`, with and without `--as-enforced`.
 * - `hand-j`: `policy/no-scoped-side` for every way a rule can lack a scoped side.
 * - `hand-k`: ICMP and ICMPv6 echo replies whose record gives another direction than the reply's
 *   (`unknown`, `client-to-server` in a `direction` column) are judged as the request they answer,
 *   as `eval` judges them (a rule naming reply types only decides none of them), and `discover`
 *   orients their edges by that request.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cli } from '../helpers/cli.js'
import { cases, evalOne, simulateJson, type SimJson } from '../helpers/verdict-table.js'

const E = 'test/fixtures/hand-e'
const F = 'test/fixtures/hand-f'
const G = 'test/fixtures/hand-g'
const H = 'test/fixtures/hand-h'
const I = 'test/fixtures/hand-i'
const J = 'test/fixtures/hand-j'
const K = 'test/fixtures/hand-k'

/** The report in one list: counts, then each denied edge, then each rule that decided a flow. */
function summary(j: SimJson): string[] {
  const o = j.outcomes
  return [
    `allowed ${o.allowed} blocked ${o.blocked} would-be-blocked ${o['would-be-blocked']} unenforced ${o.unenforced}`,
    `already-rejected ${j.alreadyRejected} link-control ${j.linkControl} related ${j.related}`,
    ...j.denied
      .map(
        (e) =>
          `${e.outcome} ${e.src.name} -> ${e.dst.name} ${e.service} ${e.flows} ${e.deniedBy.join(',')}`,
      )
      .sort(),
    ...j.rules
      .filter((r) => r.hits > 0 || r.expired)
      .map((r) => `hits ${r.rule} ${r.hits}${r.expired ? ' expired' : ''}`)
      .sort(),
  ]
}

async function connlist(ws: string, at: string): Promise<string[]> {
  const r = await cli('connlist', '-w', ws, '--at', at, '-o', 'json')
  expect(r.code, r.stderr).toBe(0)
  return (JSON.parse(r.stdout) as { src: string; dst: string; conn: string }[]).map(
    (l) => `${l.src} => ${l.dst} : ${l.conn}`,
  )
}

/** `bulkhead diff WS/policy WS/policy-new -w WS --at 2026-11-05 ...extra`; exit 0 expected. */
async function diffNew(ws: string, ...extra: string[]): Promise<string> {
  const at = '2026-11-05T00:00:00Z'
  const r = await cli('diff', `${ws}/policy`, `${ws}/policy-new`, '-w', ws, '--at', at, ...extra)
  expect(r.code, r.stderr).toBe(0)
  return r.stdout
}

const E_EVAL = cases(`
2026-11-05T00:00:00Z | web-1 -> api-1 tcp/443 | allowed | aa-guard/dup-allow-443 |
2026-11-05T00:00:00Z | web-2 -> api-2 tcp/8085 | denied | aa-guard/deny-8085 | would-be-blocked
2026-11-05T00:00:00Z | web-2 -> api-2 tcp/8090 | allowed | zz-shop/web-to-api |
2026-11-05T00:00:00Z | web-2 -> api-2 tcp/8091 | denied | default-deny | would-be-blocked
2026-11-05T00:00:00Z | web-2 -> api-2 tcp/8079 | denied | default-deny | would-be-blocked
2026-11-05T00:00:00Z | blog-1 -> api-1 tcp/443 | allowed | aa-guard/dup-allow-443 |
2026-11-05T00:00:00Z | blog-1 -> api-1 tcp/8080 | denied | default-deny | would-be-blocked
2026-11-05T00:00:00Z | api-1 -> db-1 tcp/5432 | allowed | zz-shop/gold-to-db |
2026-11-05T00:00:00Z | api-2 -> db-1 tcp/5432 | denied | default-deny | blocked
2026-11-05T00:00:00Z | api-2 -> db-1 tcp/5433 | allowed | zz-shop/untiered-api-db |
2026-11-05T00:00:00Z | 10.5.1.11 -> db-1 tcp/5433 | denied | default-deny | blocked
2026-11-05T00:00:00Z | web-1 -> db-1 udp/514 | allowed | zz-shop/notgold-syslog |
2026-11-05T00:00:00Z | api-1 -> db-1 udp/514 | denied | default-deny | blocked
2026-11-05T00:00:00Z | db-1 -> db-1 udp/514 | allowed | zz-shop/notgold-syslog |
2026-11-05T00:00:00Z | dev-1 -> db-1 udp/514 | denied | aa-guard/deny-dev | blocked
2026-11-05T00:00:00Z | blog-1 -> db-1 udp/514 | denied | default-deny | blocked
2026-11-05T00:00:00Z | db-1 -> web-2 tcp/9000 | allowed | zz-shop/tiered |
2026-11-05T00:00:00Z | db-1 -> blog-1 tcp/9000 | denied | default-deny | blocked
2026-11-05T00:00:00Z | 10.5.0.11 -> 10.5.1.11 tcp/9000 | denied | default-deny | would-be-blocked
2026-11-05T00:00:00Z | ops-1 -> blog-1 tcp/22 | denied | default-deny | blocked
2026-11-05T00:00:00Z | ops-1 -> db-1 tcp/22 | allowed | zz-shop/ops-ssh |
2026-11-05T00:00:00Z | 2001:db8:80::5 -> 2001:db8:51::11 tcp/22 | allowed | zz-shop/ops-ssh |
2026-11-05T00:00:00Z | 2001:db8:80::5 -> 2001:db8:51::11 tcp/23 | denied | default-deny | blocked
2026-11-05T00:00:00Z | 192.0.2.10 -> 10.5.0.11 tcp/443 | allowed | zz-shop/office-web |
2026-11-05T00:00:00Z | 192.0.2.77 -> 10.5.0.11 tcp/443 | allowed | zz-shop/office-web |
2026-11-01T12:00:00Z | 192.0.2.77 -> 10.5.0.11 tcp/443 | denied | default-deny | would-be-blocked
2026-11-01T12:00:00Z | 192.0.2.77 -> 198.51.100.9 tcp/22 | allowed | zz-shop/batch-out |
2026-11-02T00:00:00Z | 192.0.2.77 -> 198.51.100.9 tcp/22 | denied | default-deny | unenforced
2026-11-01T00:00:00Z | 192.0.2.77 -> 198.51.100.9 tcp/22 | allowed | zz-shop/batch-out |
2026-10-31T23:59:59.999Z | 192.0.2.77 -> 198.51.100.9 tcp/22 | denied | default-deny | unenforced
2026-11-01T12:00:00Z | 192.0.2.77 -> 198.51.100.200 tcp/22 | denied | default-deny | would-be-blocked
2026-11-05T00:00:00Z | 10.6.0.11 -> 10.5.1.11 tcp/8443 | allowed | zz-shop/net-8443 |
2026-11-05T00:00:00Z | 10.5.0.11 -> 10.5.1.11 tcp/8443 | denied | default-deny | would-be-blocked
2026-11-05T00:00:00Z | 10.7.255.255 -> 10.5.1.11 tcp/8443 | denied | default-deny | would-be-blocked
2026-11-05T00:00:00Z | 10.8.0.5 -> 10.5.1.11 tcp/8443 | allowed | zz-shop/net-8443 |
2026-11-05T00:00:00Z | 11.0.0.1 -> 10.5.1.11 tcp/8443 | denied | default-deny | would-be-blocked
2026-11-05T00:00:00Z | 10.5.1.12 -> 10.5.1.11 tcp/8443 | denied | default-deny | would-be-blocked
2026-11-05T00:00:00Z | 10.6.0.11 -> 10.5.1.12 tcp/8443 | denied | default-deny | would-be-blocked
2026-11-05T00:00:00Z | 2001:db8:80::5 -> 2001:db8:51::11 tcp/8444 | allowed | zz-shop/v6-8444 |
2026-11-05T00:00:00Z | 2001:db8:50::11 -> 2001:db8:51::11 tcp/8444 | denied | default-deny | would-be-blocked
2026-11-05T00:00:00Z | 2001:db8:50:ffff::1 -> 2001:db8:51::11 tcp/8444 | denied | default-deny | would-be-blocked
2026-11-05T00:00:00Z | 2001:db8:c0::1 -> 2001:db8:51::11 tcp/8444 | allowed | zz-shop/v6-8444 |
2026-11-05T00:00:00Z | 2001:db9::1 -> 2001:db8:51::11 tcp/8444 | denied | default-deny | would-be-blocked
2026-11-05T00:00:00Z | blog-1 -> api-1 tcp/7000 | denied | default-deny | would-be-blocked
2026-11-05T00:00:00Z | blog-1 -> api-2 tcp/7001 | allowed | zz-shop/blog-global |
2026-11-05T00:00:00Z | ops-1 -> db-1 icmp/8 | allowed | zz-shop/ops-ping |
2026-11-05T00:00:00Z | db-1 -> ops-1 icmp/0 | allowed | zz-shop/ops-ping |
2026-11-05T00:00:00Z | ops-1 -> db-1 icmp/0 | denied | default-deny | blocked
2026-11-05T00:00:00Z | db-1 -> ops-1 icmp/14 | allowed | zz-shop/ops-ping |
2026-11-05T00:00:00Z | ops-1 -> db-1 icmp/14 | denied | default-deny | blocked
2026-11-05T00:00:00Z | 2001:db8:80::5 -> 2001:db8:51::11 icmpv6/128 | allowed | zz-shop/ops-ping |
2026-11-05T00:00:00Z | 2001:db8:51::11 -> 2001:db8:80::5 icmpv6/129 | allowed | zz-shop/ops-ping |
2026-11-05T00:00:00Z | ops-1 -> db-1 icmp/9 | denied | default-deny | blocked
2026-11-05T00:00:00Z | db-1 -> ops-1 icmp/11 | allowed | related |
2026-11-05T00:00:00Z | db-1 -> ops-1 icmp/12 | allowed | related |
2026-11-05T00:00:00Z | 2001:db8:51::11 -> 2001:db8:80::5 icmpv6/127 | allowed | related |
2026-11-05T00:00:00Z | 2001:db8:51::11 -> 2001:db8:80::5 icmpv6/137 | denied | default-deny | blocked
2026-11-05T00:00:00Z | 2001:db8:51::11 -> 2001:db8:50::11 icmpv6/136 | allowed | link-control |
2026-11-05T00:00:00Z | 2001:db8:51::11 -> ff02::16 icmpv6/143 | allowed | link-control |
2026-11-05T00:00:00Z | 2001:db8:51::11 -> 2001:db8:50::11 icmpv6/144 | denied | default-deny | would-be-blocked
2026-11-05T00:00:00Z | web-1 -> db-1 icmp/8 | denied | aa-guard/deny-echo | blocked
2026-11-05T00:00:00Z | web-1 -> db-1 icmp/13 | allowed | aa-guard/icmp-all |
2026-11-05T00:00:00Z | web-1 -> db-1 icmp/3 | allowed | related |
2026-11-05T00:00:00Z | db-1 -> web-1 icmp/14 | allowed | aa-guard/icmp-all |
2026-11-05T00:00:00Z | 10.5.0.11 -> 10.5.1.11 icmp/8 | allowed | aa-guard/v4-ping-api |
2026-11-05T00:00:00Z | 2001:db8:50::11 -> 2001:db8:51::11 icmpv6/128 | denied | default-deny | would-be-blocked
2026-11-10T23:59:59.999Z | ops-1 -> db-1 tcp/5000 | allowed | aa-guard/expiry-date |
2026-11-11T00:00:00Z | ops-1 -> db-1 tcp/5000 | denied | default-deny | blocked
2026-11-10T11:59:59.999Z | ops-1 -> db-1 tcp/5001 | allowed | aa-guard/expiry-ts |
2026-11-10T12:00:00Z | ops-1 -> db-1 tcp/5001 | denied | default-deny | blocked
2026-11-05T00:00:00Z | web-1 -> 224.0.0.251 udp/5353 | allowed | zz-shop/mdns |
2026-11-05T00:00:00Z | blog-1 -> 224.0.0.251 udp/5353 | denied | default-deny | blocked
2026-11-05T00:00:00Z | web-1 -> 224.0.0.252 udp/5353 | denied | default-deny | blocked
2026-11-05T00:00:00Z | web-1 -> 10.5.0.255 udp/137 | denied | default-deny | would-be-blocked
2026-11-05T00:00:00Z | 203.0.113.5 -> 255.255.255.255 udp/67 | denied | default-deny | blocked
2026-11-05T00:00:00Z | web-1 -> 8.8.8.8 udp/53 | allowed | zz-shop/web-dns |
2026-11-05T00:00:00Z | dev-1 -> 8.8.8.8 udp/53 | denied | default-deny | would-be-blocked
2026-11-05T00:00:00Z | web-2 -> 224.0.0.252 udp/53 | allowed | zz-shop/web-dns |
2026-11-05T00:00:00Z | dev-1 -> web-1 tcp/443 | denied | aa-guard/deny-dev | would-be-blocked
2026-11-05T00:00:00Z | dev-1 -> blog-1 tcp/443 | denied | aa-guard/deny-dev | would-be-blocked
2026-11-05T00:00:00Z | ops-1 -> web-2 esp | allowed | zz-shop/ops-any-web |
2026-11-05T00:00:00Z | 2001:db8:80::5 -> 2001:db8:50::11 proto/4 | allowed | zz-shop/ops-any-web |
2026-11-05T00:00:00Z | ops-1 -> web-2 tcp/8085 | denied | aa-guard/deny-8085 | blocked
2026-11-05T00:00:00Z | ops-1 -> dev-1 tcp/22 | denied | default-deny | blocked
2026-11-05T00:00:00Z | 10.7.0.5 -> 10.7.0.99 tcp/22 | denied | default-deny | would-be-blocked
2026-11-05T00:00:00Z | 10.9.0.1 -> 10.9.0.2 tcp/22 | denied | default-deny | unenforced
`)

describe('hand-e: hand-computed verdicts', () => {
  it.each(E_EVAL)('eval at %s: %s', async (at, flow, decision, by, outcome) => {
    expect(await evalOne(E, at, flow)).toBe([decision, by, outcome].join('|'))
  })

  const base = [
    'already-rejected api-1 -> db-1 tcp/5433 1 default-deny',
    'blocked api-2 -> db-1 tcp/5432 1 default-deny',
    'blocked blog-1 -> 224.0.0.251 udp/5353 1 default-deny',
    'blocked internet -> db-1 tcp/5432 1 default-deny',
    'blocked web-1 -> db-1 icmp/8 1 aa-guard/deny-echo',
    'unenforced 10.9.0.0/24 -> 10.9.0.0/24 tcp/22 1 default-deny',
    'unenforced office -> partner tcp/22 1 default-deny',
  ]
  const monitored = [
    'would-be-blocked dev-1 -> web-1 tcp/443 1 aa-guard/deny-dev',
    'would-be-blocked tmp-1 -> web-1 tcp/443 1 default-deny',
    'would-be-blocked web-2 -> api-2 tcp/8085 1 aa-guard/deny-8085',
  ]
  const hits = (expiryTs: string): string[] => [
    'hits aa-guard/deny-8085 1',
    'hits aa-guard/deny-dev 1',
    'hits aa-guard/deny-echo 1',
    'hits aa-guard/dup-allow-443 1',
    'hits aa-guard/expiry-date 1',
    `hits aa-guard/expiry-ts ${expiryTs}`,
    'hits zz-shop/batch-out 1',
    'hits zz-shop/gold-to-db 1',
    'hits zz-shop/mdns 1',
    'hits zz-shop/net-8443 1',
    'hits zz-shop/office-web 1',
    'hits zz-shop/ops-ping 2',
    'hits zz-shop/ops-ssh 1',
  ]

  it('simulate_judges_expiry_at_at_and_addresses_at_each_flow_time', async () => {
    expect(summary(await simulateJson(E, '2026-11-05T00:00:00Z'))).toEqual([
      'allowed 13 blocked 4 would-be-blocked 3 unenforced 2',
      'already-rejected 1 link-control 1 related 1',
      ...[...base, ...monitored].sort(),
      ...hits('1'),
    ])
  })

  it('simulate_at_the_expiry_instant_of_a_time_with_an_offset', async () => {
    expect(summary(await simulateJson(E, '2026-11-10T12:00:00Z'))).toEqual([
      'allowed 12 blocked 5 would-be-blocked 3 unenforced 2',
      'already-rejected 1 link-control 1 related 1',
      ...[...base, 'blocked ops-1 -> db-1 tcp/5001 1 default-deny', ...monitored].sort(),
      ...hits('0 expired'),
    ])
  })

  it('simulate_as_enforced_leaves_flows_between_unmanaged_addresses_unenforced', async () => {
    expect(summary(await simulateJson(E, '2026-11-05T00:00:00Z', '--as-enforced'))).toEqual([
      'allowed 13 blocked 7 would-be-blocked 0 unenforced 2',
      'already-rejected 1 link-control 1 related 1',
      ...[...base, ...monitored.map((l) => l.replace('would-be-blocked', 'blocked'))].sort(),
      ...hits('1'),
    ])
  })

  it('connlist_between_workloads', async () => {
    const names = new Set(['web-1', 'web-2', 'api-1', 'api-2', 'db-1', 'blog-1', 'dev-1', 'ops-1'])
    const lines = (await connlist(E, '2026-11-05T00:00:00Z')).filter((l) => {
      const [src, rest] = l.split(' => ')
      return names.has(src!) && names.has(rest!.split(' : ')[0]!)
    })
    const anyBut8085 =
      'SCTP 0-65535,TCP 0-8084,8086-65535,UDP 0-65535,ICMP 0-255,ICMPv6 0-255,other protocols'
    expect(lines).toEqual([
      'api-1 => api-2 : TCP 9000',
      'api-1 => db-1 : TCP 5432,9000',
      'api-1 => web-1 : TCP 9000',
      'api-1 => web-2 : TCP 9000',
      'api-2 => db-1 : TCP 5433,UDP 514',
      'blog-1 => api-1 : TCP 443,7001,8443,ICMP 8',
      'blog-1 => api-2 : TCP 443,7001,ICMP 8',
      'blog-1 => db-1 : ICMP 0-7,9-255',
      'db-1 => api-1 : TCP 9000',
      'db-1 => api-2 : TCP 9000',
      'db-1 => web-1 : TCP 9000',
      'db-1 => web-2 : TCP 9000',
      'ops-1 => api-1 : TCP 22,8443-8444,ICMP 8,13,ICMPv6 128',
      'ops-1 => api-2 : TCP 22,ICMP 8,13',
      'ops-1 => db-1 : TCP 22,5000-5001,ICMP 8,13',
      `ops-1 => web-1 : ${anyBut8085}`,
      `ops-1 => web-2 : ${anyBut8085}`,
      'web-1 => api-1 : TCP 443,8080-8084,8086-8090,UDP 53,ICMP 8',
      'web-1 => api-2 : TCP 443,8080-8084,8086-8090,UDP 53,ICMP 8',
      'web-1 => blog-1 : UDP 53',
      'web-1 => db-1 : UDP 53,514,ICMP 0-7,9-255',
      'web-1 => dev-1 : UDP 53',
      'web-1 => ops-1 : UDP 53',
      'web-1 => web-2 : UDP 53',
      'web-2 => api-1 : TCP 443,8080-8084,8086-8090,UDP 53,ICMP 8',
      'web-2 => api-2 : TCP 443,8080-8084,8086-8090,UDP 53,ICMP 8',
      'web-2 => blog-1 : UDP 53',
      'web-2 => db-1 : UDP 53,514,ICMP 0-7,9-255',
      'web-2 => dev-1 : UDP 53',
      'web-2 => ops-1 : UDP 53',
      'web-2 => web-1 : UDP 53',
    ])
  })

  it('connlist_while_a_workload_holds_an_address_inside_an_external', async () => {
    const lines = (await connlist(E, '2026-11-01T12:00:00Z')).filter((l) =>
      /tmp-1|office|partner/.test(l),
    )
    expect(lines).toEqual([
      'api-1 => tmp-1 : TCP 9000',
      'db-1 => tmp-1 : TCP 9000',
      'office[External] => web-1 : TCP 443',
      'office[External] => web-2 : TCP 443',
      'ops-1 => tmp-1 : TCP 22,ICMP 8,13',
      'tmp-1 => db-1 : UDP 514',
      'tmp-1 => partner[External] : TCP 22',
      'web-1 => office[External] : UDP 53',
      'web-1 => partner[External] : UDP 53',
      'web-1 => tmp-1 : UDP 53',
      'web-2 => office[External] : UDP 53',
      'web-2 => partner[External] : UDP 53',
      'web-2 => tmp-1 : UDP 53',
    ])
  })

  it('diff_of_a_removed_deny_a_changed_port_and_a_mode_change', async () => {
    const out = await diffNew(E, '--flows', `${E}/flows.csv`, '-o', 'json')
    interface Edge {
      change?: string
      src: string
      dst: string
      service: string
      old: { by: string; outcome: string }
      new: { by: string; outcome: string }
    }
    const j = JSON.parse(out) as {
      flows: { edges: Edge[]; outcomeChanges: { edges: Edge[] } }
    }
    const line = (e: Edge): string =>
      `${e.change ?? ''} ${e.src} -> ${e.dst} ${e.service} ${e.old.by} ${e.old.outcome} => ${e.new.by} ${e.new.outcome}`.trim()
    expect(j.flows.edges.map(line).sort()).toEqual([
      'allowed web-2 -> api-2 tcp/8085 aa-guard/deny-8085 would-be-blocked => zz-shop/web-to-api allowed',
      'blocked tmp-1 -> partner tcp/22 zz-shop/batch-out allowed => default-deny would-be-blocked',
    ])
    expect(j.flows.outcomeChanges.edges.map(line).sort()).toEqual([
      'looser api-1 -> db-1 tcp/5433 default-deny blocked => default-deny would-be-blocked',
      'looser api-2 -> db-1 tcp/5432 default-deny blocked => default-deny would-be-blocked',
      'looser internet -> db-1 tcp/5432 default-deny blocked => default-deny would-be-blocked',
      'looser web-1 -> db-1 icmp/8 aa-guard/deny-echo blocked => aa-guard/deny-echo would-be-blocked',
    ])
  })

  it('diff_connectivity_names_the_rule_behind_each_line', async () => {
    const out = await diffNew(E, '--no-flows')
    const block = out.split('Connectivity:\n')[1]!.split('\n\n')[0]!
    const any =
      'SCTP 0-65535,TCP 0-8084,8086-65535,UDP 0-65535,ICMP 0-255,ICMPv6 0-255,other protocols'
    const api = (ports: string): string[] =>
      ['web-1 => api-1', 'web-1 => api-2', 'web-2 => api-1', 'web-2 => api-2'].map(
        (p) => `${p} : TCP 443,${ports},UDP 53,ICMP 8  (rule zz-shop/web-to-api)`,
      )
    expect(block.split('\n').map((l) => l.trim())).toEqual([
      `- ops-1 => web-1 : ${any}  (rule zz-shop/ops-any-web)`,
      `- ops-1 => web-2 : ${any}  (rule zz-shop/ops-any-web)`,
      ...api('8080-8084,8086-8090').map((l) => `- ${l}`),
      '+ ops-1 => web-1 : All Connections  (rule zz-shop/ops-any-web)',
      '+ ops-1 => web-2 : All Connections  (rule zz-shop/ops-any-web)',
      ...api('8080-8090').map((l) => `+ ${l}`),
    ])
  })
})

describe('hand-f: every workload observe but one, labels from LabelRules', () => {
  it.each(
    cases(`
2026-11-02T00:00:00Z | k-1 -> k-2 udp/9999 | allowed | base/r1 |
2026-11-02T00:00:00Z | s-1 -> k-1 udp/9999 | allowed | base/r1 |
2026-11-02T00:00:00Z | 10.9.9.9 -> k-1 udp/9999 | denied | default-deny | unenforced
2026-11-02T00:00:00Z | k-1 -> s-1 udp/9999 | denied | default-deny | blocked
2026-11-02T00:00:00Z | k-1 -> k-2 tcp/22 | denied | default-deny | unenforced
2026-11-02T00:00:00Z | k-1 -> 239.255.255.250 udp/1900 | allowed | base/r2 |
2026-11-02T00:00:00Z | k-1 -> 239.255.255.250 udp/1901 | denied | default-deny | blocked
2026-10-20T00:00:00Z | k-1 -> 239.255.255.250 udp/1901 | denied | default-deny | would-be-blocked
2026-11-05T00:00:00Z | 10.9.9.9 -> 239.255.255.250 udp/1901 | denied | default-deny | blocked
2026-11-05T00:00:00Z | 10.9.9.9 -> 255.255.255.255 udp/1901 | denied | default-deny | blocked
2026-11-02T00:00:00Z | k-1 -> s-1 tcp/443 | allowed | store/r3 |
2026-11-02T00:00:00Z | k-1 -> m-1 tcp/443 | allowed | store/r3 |
2026-11-05T00:00:00Z | k-1 -> 10.3.2.1 tcp/443 | denied | default-deny | unenforced
2026-11-02T00:00:00Z | s-1 -> k-2 tcp/8080 | allowed | store/r4 |
2026-11-02T00:00:00Z | s-1 -> 10.9.9.9 tcp/8080 | denied | default-deny | blocked
2026-11-02T00:00:00Z | m-1 -> k-1 tcp/8080 | denied | default-deny | would-be-blocked
2026-10-20T00:00:00Z | 10.3.1.1 -> k-1 tcp/8080 | denied | default-deny | unenforced
2026-11-02T00:00:00Z | 10.3.0.3 -> k-1 udp/9999 | denied | default-deny | unenforced
`),
  )('eval at %s: %s', async (at, flow, decision, by, outcome) => {
    expect(await evalOne(F, at, flow)).toBe([decision, by, outcome].join('|'))
  })

  it('simulate_with_and_without_as_enforced', async () => {
    const edges = [
      'blocked s-1 -> 10.3.2.1 tcp/8080 1 default-deny',
      'unenforced 10.3.1.1 -> k-1 tcp/8080 1 default-deny',
      'unenforced 10.9.9.0/24 -> 10.9.9.0/24 tcp/22 1 default-deny',
      'unenforced 10.9.9.0/24 -> k-1 udp/9998 1 default-deny',
      'unenforced k-1 -> k-2 tcp/22 1 default-deny',
      'would-be-blocked 10.9.9.0/24 -> 239.255.255.250 udp/1901 1 default-deny',
    ]
    const hits = ['hits base/r2 1', 'hits store/r4 2']
    expect(summary(await simulateJson(F, '2026-11-05T00:00:00Z'))).toEqual([
      'allowed 3 blocked 1 would-be-blocked 1 unenforced 4',
      'already-rejected 0 link-control 0 related 0',
      ...edges,
      ...hits,
    ])
    expect(summary(await simulateJson(F, '2026-11-05T00:00:00Z', '--as-enforced'))).toEqual([
      'allowed 3 blocked 5 would-be-blocked 0 unenforced 1',
      'already-rejected 0 link-control 0 related 0',
      ...edges
        .map((l) =>
          l.includes('10.9.9.0/24 -> 10.9.9.0/24')
            ? l
            : l.replace(/^(unenforced|would-be-blocked)/, 'blocked'),
        )
        .sort(),
      ...hits,
    ])
  })
})

describe('hand-g: twins of one identity told apart by address', () => {
  it.each(
    cases(`
2026-11-05T00:00:00Z | twin-a -> nt tcp/100 | allowed | t/cidr-one-twin |
2026-11-05T00:00:00Z | twin-b -> nt tcp/100 | denied | default-deny | blocked
2026-11-05T00:00:00Z | 10.4.0.9 -> nt tcp/100 | allowed | t/cidr-one-twin |
2026-11-05T00:00:00Z | 10.4.1.9 -> nt tcp/100 | allowed | t/sctp |
2026-11-05T00:00:00Z | twin-b -> nt tcp/101 | allowed | t/named-twin |
2026-11-05T00:00:00Z | twin-a -> nt tcp/101 | denied | default-deny | would-be-blocked
2026-11-05T00:00:00Z | 192.0.2.10 -> nt tcp/102 | denied | default-deny | would-be-blocked
2026-11-05T00:00:00Z | 192.0.2.11 -> nt tcp/102 | allowed | t/office-to-nt |
2026-11-05T00:00:00Z | 192.0.2.11 -> nt tcp/103 | denied | t/deny-not-private | unenforced
2026-11-05T00:00:00Z | twin-a -> nt tcp/103 | allowed | t/allow-any-103 |
2026-11-05T00:00:00Z | 10.200.0.1 -> nt tcp/103 | allowed | t/allow-any-103 |
2026-11-05T00:00:00Z | twin-a -> nt tcp/0 | allowed | t/port-edges |
2026-11-05T00:00:00Z | twin-a -> nt tcp/1 | denied | default-deny | would-be-blocked
2026-11-05T00:00:00Z | twin-a -> nt udp/65535 | allowed | t/port-edges |
2026-11-05T00:00:00Z | twin-a -> nt udp/65534 | denied | default-deny | would-be-blocked
2026-11-05T00:00:00Z | twin-a -> nt tcp/65530 | allowed | t/port-edges |
2026-11-05T00:00:00Z | twin-a -> nt tcp/65529 | denied | default-deny | would-be-blocked
2026-11-05T00:00:00Z | 10.4.1.9 -> nt sctp/3868 | allowed | t/sctp |
2026-11-05T00:00:00Z | 10.4.1.9 -> nt sctp/3869 | denied | default-deny | blocked
2026-11-05T00:00:00Z | 10.4.1.9 -> nt udp/3868 | denied | default-deny | blocked
2026-11-05T00:00:00Z | 10.4.0.9 -> nt sctp/3869 | denied | default-deny | blocked
2026-11-05T00:00:00Z | nt -> twin-b tcp/5 | denied | default-deny | blocked
2026-11-05T00:00:00Z | nt -> twin-a tcp/5 | denied | default-deny | would-be-blocked
2026-11-05T00:00:00Z | nt -> 10.4.2.2 tcp/5 | denied | default-deny | unenforced
`),
  )('eval at %s: %s', async (at, flow, decision, by, outcome) => {
    expect(await evalOne(G, at, flow)).toBe([decision, by, outcome].join('|'))
  })

  it('an_external_wholly_held_by_a_workload_is_a_usage_error_in_eval', async () => {
    const r = await cli('eval', 'twin-slot -> nt tcp/100', '-w', G, '--at', '2026-11-05T00:00:00Z')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('cli/usage')
  })

  it('connlist', async () => {
    // `lab` is cut at the rule's 10.4.0.0/24 and loses `twin-slot`'s block (a narrower external,
    // itself without a line: `twin-a` holds all of it); the addresses of workloads inside a
    // range are not cut out of its name (`office` holds `desk`). The `lab` lines were corrected
    // after the first run: the hand answer had forgotten `twin-slot`.
    expect(await connlist(G, '2026-11-05T00:00:00Z')).toEqual([
      '10.0.0.0-10.3.255.255[External] => nt : TCP 103',
      '10.4.2.0-10.255.255.255[External] => nt : TCP 103',
      'dual => nt : SCTP 3868,TCP 0-65535',
      'lab(10.4.0.0-10.4.0.0,10.4.0.2-10.4.0.255)[External] => nt : TCP 100,103',
      'lab(10.4.1.0-10.4.1.255)[External] => nt : TCP 103',
      'office[External] => nt : TCP 102',
      'twin-a => nt : TCP 0,100,103,65530-65535,UDP 65535',
      'twin-b => nt : TCP 0,101,103,65530-65535,UDP 65535',
    ])
  })
})

describe('hand-h: YAML scalars as labels, replies, offsets and time zones', () => {
  const table = cases(`
2026-11-10T11:59:59.999Z | a -> b tcp/1000 | allowed | x/naive-ts |
2026-11-10T12:00:00Z | a -> b tcp/1000 | denied | default-deny | unenforced
2026-11-01T23:59:59Z | a -> b tcp/2000 | denied | x/expired-deny | unenforced
2026-11-02T00:00:00Z | a -> b tcp/2000 | allowed | x/allow-2000 |
2026-11-05T00:00:00Z | a -> b tcp/3000 | allowed | x/bool-label |
2026-11-05T00:00:00Z | a -> b tcp/3001 | allowed | x/bool-expr |
2026-11-05T00:00:00Z | b -> a tcp/443 | denied | x/deny-b-a | unenforced
2026-10-31T23:59:59.999Z | a -> 10.0.0.3 tcp/4000 | denied | default-deny | unenforced
2026-11-01T00:00:00Z | a -> 10.0.0.3 tcp/4000 | allowed | x/to-c |
2026-11-01T18:59:59.999Z | a -> 10.0.0.3 tcp/4000 | allowed | x/to-c |
2026-11-01T19:00:00Z | a -> 10.0.0.3 tcp/4000 | denied | default-deny | unenforced
2026-11-05T00:00:00Z | 2001:db8::1 -> 2001:db8::2 icmpv6/128 | allowed | x/v6-echo |
2026-11-05T00:00:00Z | 2001:db8::2 -> 2001:db8::1 icmpv6/129 | allowed | x/v6-echo |
2026-11-05T00:00:00Z | 2001:db8::1 -> 2001:db8::2 icmpv6/129 | denied | x/deny-b-a | unenforced
`)
  it.each(table)('eval at %s: %s', async (at, flow, decision, by, outcome) => {
    expect(await evalOne(H, at, flow)).toBe([decision, by, outcome].join('|'))
  })

  it('expiry_and_address_bounds_do_not_follow_the_process_time_zone', async () => {
    const tz = process.env['TZ']
    process.env['TZ'] = 'America/New_York'
    try {
      for (const [at, flow, decision, by, outcome] of table) {
        expect(await evalOne(H, at!, flow!)).toBe([decision, by, outcome].join('|'))
      }
    } finally {
      if (tz === undefined) delete process.env['TZ']
      else process.env['TZ'] = tz
    }
  })

  it('simulate_judges_a_reply_as_its_connection', async () => {
    expect(summary(await simulateJson(H, '2026-11-01T12:00:00Z'))).toEqual([
      'allowed 3 blocked 0 would-be-blocked 0 unenforced 3',
      'already-rejected 0 link-control 0 related 0',
      'unenforced a -> b tcp/2000 1 x/expired-deny',
      'unenforced a -> b tcp/50000 1 default-deny',
      'unenforced b -> a tcp/443 1 x/deny-b-a',
      'hits x/a-b-web 2',
      'hits x/deny-b-a 1',
      'hits x/expired-deny 1',
      'hits x/v6-echo 1',
    ])
  })
})

describe('hand-i: receivers of a group that hold their addresses for a time', () => {
  it('simulate_with_and_without_as_enforced', async () => {
    expect(summary(await simulateJson(I, '2026-11-05T00:00:00Z'))).toEqual([
      'allowed 1 blocked 0 would-be-blocked 1 unenforced 5',
      'already-rejected 0 link-control 0 related 0',
      'unenforced 0.0.0.0 -> 255.255.255.255 udp/67 1 default-deny',
      'unenforced 10.0.0.1 -> 224.0.0.251 udp/5353 1 default-deny',
      'unenforced fe80::/64 -> ff02::fb udp/5353 1 default-deny',
      'would-be-blocked 10.9.0.0/24 -> 224.0.0.251 udp/5353 3 default-deny',
      'hits x/late-mdns 1',
    ])
    expect(summary(await simulateJson(I, '2026-11-05T00:00:00Z', '--as-enforced'))).toEqual([
      'allowed 1 blocked 3 would-be-blocked 0 unenforced 3',
      'already-rejected 0 link-control 0 related 0',
      'blocked 10.9.0.0/24 -> 224.0.0.251 udp/5353 3 default-deny',
      'blocked fe80::/64 -> ff02::fb udp/5353 1 default-deny',
      'unenforced 0.0.0.0 -> 255.255.255.255 udp/67 1 default-deny',
      'unenforced 10.0.0.1 -> 224.0.0.251 udp/5353 1 default-deny',
      'hits x/late-mdns 1',
    ])
  })

  it('fail_on_block_counts_a_group_flow_only_while_a_workload_holds_an_address', async () => {
    const gate = async (file: string): Promise<number> =>
      (
        await cli(
          'simulate',
          '-w',
          I,
          '--flows',
          `${I}/${file}`,
          '--at',
          '2026-11-05T00:00:00Z',
          '--fail-on-block',
        )
      ).code
    // denied: an unmanaged sender to a group and to the broadcast, and a late workload's address
    // before it holds it, all on 2026-10-20, when no workload holds an address
    expect(await gate('flows-no-holder.csv')).toBe(0)
    // the same group flow on 2026-10-10, when `early` holds its address: a receiver
    expect(await gate('flows-early-holds.csv')).toBe(2)
  })
})

describe('hand-j: a rule with no scoped side', () => {
  it('each_is_an_error_at_the_rule_and_nothing_loads', async () => {
    const r = await cli('validate', '-w', J, '--at', '2026-11-05T00:00:00Z', '-o', 'json')
    expect(r.code).toBe(1)
    const j = JSON.parse(r.stdout) as {
      diagnostics: { code: string; location: { file: string; line: number } }[]
    }
    expect(
      j.diagnostics
        .map((d) => `${d.code} ${d.location.file.split('/').pop()}:${d.location.line}`)
        .sort(),
    ).toEqual([
      'policy/no-scoped-side p.yaml:11',
      'policy/no-scoped-side p.yaml:16',
      'policy/no-scoped-side p.yaml:21',
      'policy/no-scoped-side p.yaml:6',
      'policy/no-scoped-side q.yaml:5',
    ])
  })
})

describe('hand-k: an echo reply is judged as its request, whatever direction its record gives', () => {
  it.each(
    cases(`
2026-11-05T00:00:00Z | s -> k icmp/0 | denied | default-deny | blocked
2026-11-05T00:00:00Z | k -> s icmp/0 | allowed | k/ping |
2026-11-05T00:00:00Z | 2001:db8:6::1 -> 2001:db8:6::2 icmpv6/129 | denied | default-deny | blocked
2026-11-05T00:00:00Z | 2001:db8:6::2 -> 2001:db8:6::1 icmpv6/129 | allowed | k/ping |
`),
  )('eval at %s: %s', async (at, flow, decision, by, outcome) => {
    expect(await evalOne(K, at, flow)).toBe([decision, by, outcome].join('|'))
  })

  it('simulate_judges_recorded_echo_replies_as_eval_does', async () => {
    // s -> k echo replies (unknown, blank: inferred) answer k -> s requests, which no rule allows;
    // k -> s echo replies recorded client-to-server answer s -> k requests, which `ping` allows
    expect(summary(await simulateJson(K, '2026-11-05T00:00:00Z'))).toEqual([
      'allowed 2 blocked 3 would-be-blocked 0 unenforced 0',
      'already-rejected 0 link-control 0 related 0',
      'blocked k -> s icmp/8 2 default-deny',
      'blocked k -> s icmpv6/128 1 default-deny',
      'hits k/ping 2',
    ])
  })

  it('diff_of_dropping_a_rule_of_reply_types_changes_no_verdict', async () => {
    const out = await diffNew(K, '--flows', `${K}/flows.csv`, '-o', 'json')
    const j = JSON.parse(out) as { flows: { flows: number; edges: unknown[] } }
    expect([j.flows.flows, j.flows.edges]).toEqual([5, []])
  })

  it('discover_orients_recorded_echo_replies_by_their_request', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'bulkhead-hand-k-'))
    try {
      cpSync(K, ws, { recursive: true })
      const ingest = await cli('ingest', `${ws}/flows.csv`, '-w', ws)
      expect(ingest.code, ingest.stderr).toBe(0)
      const r = await cli('discover', '-w', ws, '-o', 'json')
      expect(r.code, r.stderr).toBe(0)
      interface Edge {
        src: string
        dst: string
        protocol: string
        port: number
        flows: number
        unknownDirection: number
      }
      const edges = (JSON.parse(r.stdout) as { edges: Edge[] }).edges
      const line = (e: Edge): string =>
        `${e.src} -> ${e.dst} ${e.protocol}/${e.port} ${e.flows} ${e.unknownDirection}`
      // blank direction (inferred a reply), unknown and client-to-server alike
      expect(edges.map(line)).toEqual([
        'k -> s icmp/8 2 0',
        'k -> s icmpv6/128 1 0',
        's -> k icmp/8 1 0',
        's -> k icmpv6/128 1 0',
      ])
    } finally {
      rmSync(ws, { recursive: true, force: true })
    }
  })
})
