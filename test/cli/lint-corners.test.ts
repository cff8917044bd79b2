/**
 * `bulkhead lint` on the hand estates of test/fixtures/lint-corners, whose findings were worked
 * out by hand from the YAML before Bulkhead ran on them (session 34): shadowed corners (a union of
 * denies, a partial cover, a deny that expires first, a global deny of another policy, a CIDR
 * `except`, split port ranges, `any` against tcp + udp + icmp, IPv6), redundant corners
 * (duplicates, unions, expiry, scope against `scope: global`, matchExpressions), and edges (nested
 * externals, an address a workload always holds, IPv4-mapped blocks, a scoped workload out of
 * scope, NotIn on a missing key, no-effect services, whole environments, handed-over addresses).
 * Codes, severities and locations only, never messages.
 */
import { describe, expect, it } from 'vitest'
import type { LintOutput } from '../../src/cli/commands/lint.js'
import { cli } from '../helpers/cli.js'

const W = 'test/fixtures/lint-corners'
const AT = '2026-12-01'

async function lintJson(estate: string): Promise<{ code: number; out: LintOutput }> {
  const r = await cli('lint', '-w', `${W}/${estate}`, '--at', AT, '--no-flows', '-o', 'json')
  return { code: r.code, out: JSON.parse(r.stdout) as LintOutput }
}

/** `file:line:col severity code rule [related...]`, the file relative to the estate. */
function brief(estate: string, o: LintOutput): string[] {
  const rel = (l: string | null): string => (l ?? '').replace(`${W}/${estate}/`, '')
  return o.findings.map((f) =>
    [rel(f.location), f.severity, f.code, f.rule, ...f.related.map(rel)].join(' '),
  )
}

describe('bulkhead lint on hand estates', () => {
  it('shadowed: covered by one deny or a union, never a partial cover; a deny expiring first warns', async () => {
    const { code, out } = await lintJson('shadowed')
    expect(code).toBe(2)
    expect(brief('shadowed', out)).toEqual([
      // its `to` ANDed with the scope app=ops: no workload
      'policy/guard.yaml:12:5 error lint/matches-nothing guard/d5x',
      'policy/shop.yaml:12:5 error lint/shadowed shop-prod/a1 policy/shop.yaml:6:5',
      // neither deny alone covers it
      'policy/shop.yaml:29:5 error lint/shadowed shop-prod/a2 policy/shop.yaml:17:5 policy/shop.yaml:23:5',
      // a3 (web-2 uncovered) is not reported; d4 expires before a4 does
      'policy/shop.yaml:52:5 warning lint/shadowed shop-prod/a4 policy/shop.yaml:45:5',
      // a4b expires before d4b
      'policy/shop.yaml:64:5 error lint/shadowed shop-prod/a4b policy/shop.yaml:57:5',
      // guard/d5's `to` is global; a5x's deny matches nothing, so a5x is not reported
      'policy/shop.yaml:70:5 error lint/shadowed shop-prod/a5 policy/guard.yaml:6:5',
      // a6 reaches into d6's `except`; a6b does not
      'policy/shop.yaml:91:5 error lint/shadowed shop-prod/a6b policy/shop.yaml:80:5',
      // tcp/50-150 across tcp/1-100 and tcp/101-200; a7b's port 201 is not covered
      'policy/shop.yaml:108:5 error lint/shadowed shop-prod/a7 policy/shop.yaml:96:5 policy/shop.yaml:102:5',
      'policy/shop.yaml:124:5 error lint/shadowed shop-prod/a8 policy/shop.yaml:118:5',
      // `any` is more than tcp + udp + icmp: not shadowed
      'policy/shop.yaml:135:5 warning lint/broad-port shop-prod/a9',
      // a10's IPv4 pairs are not covered by an IPv6 deny; a10b's /64 is inside d10b's /56
      'policy/shop.yaml:157:5 error lint/shadowed shop-prod/a10b policy/shop.yaml:151:5',
    ])
  })

  it('redundant: the later duplicate, unions, covers that last as long, scope, matchExpressions', async () => {
    const { code, out } = await lintJson('redundant')
    expect(code).toBe(0)
    expect(brief('redundant', out)).toEqual([
      'policy/r-shop.yaml:11:5 warning lint/redundant r-shop/r2 policy/r-shop.yaml:6:5',
      'policy/r-shop.yaml:26:5 warning lint/redundant r-shop/r5 policy/r-shop.yaml:16:5 policy/r-shop.yaml:21:5',
      // the temporary r6 under the permanent r7, not the other way round
      'policy/r-shop.yaml:31:5 warning lint/redundant r-shop/r6 policy/r-shop.yaml:37:5',
      // to {role: db} ANDed with the scope, inside r-ops/r9's global {role: db}
      'policy/r-shop.yaml:42:5 warning lint/redundant r-shop/r8 policy/r-ops.yaml:6:5',
      'policy/r-shop.yaml:52:5 warning lint/redundant r-shop/r11 policy/r-shop.yaml:47:5',
      // only because every batch workload of the inventory carries `tier`
      'policy/r-shop.yaml:62:5 warning lint/redundant r-shop/r13 policy/r-shop.yaml:57:5',
      'policy/r-shop.yaml:67:5 warning lint/redundant r-shop/r14 policy/r-shop.yaml:72:5',
      'policy/r-shop.yaml:83:5 warning lint/redundant r-shop/r17 policy/r-shop.yaml:77:5',
      // a deny and an allow together
      'policy/r-shop.yaml:94:5 warning lint/redundant r-shop/r18 policy/r-shop.yaml:77:5 policy/r-shop.yaml:89:5',
    ])
  })

  it('edges: nested externals, held addresses, mapped blocks, NotIn, no-effect, whole environments', async () => {
    const { code, out } = await lintJson('edges')
    expect(code).toBe(2)
    expect(brief('edges', out)).toEqual([
      // {external: office} is 192.0.2.0/25 only: office-vpn, the other half, is narrower
      'policy/edge.yaml:7:5 error lint/shadowed edge/x2 policy/edge.yaml:6:5',
      // 10.1.2.1 is db-1's at every time; x5's 10.1.2.2 is db-2's only in October: not shadowed
      'policy/edge.yaml:8:5 error lint/shadowed edge/x3 policy/edge.yaml:9:5',
      // x7 (to any; denied to 0.0.0.0/0 only) keeps web-1's IPv6 pairs
      'policy/edge.yaml:14:5 error lint/shadowed edge/x9 policy/edge.yaml:15:5',
      // ::ffff:10.1.0.0/112 is 10.1.0.0/16
      'policy/edge.yaml:16:5 error lint/shadowed edge/x11 policy/edge.yaml:17:5',
      'policy/edge.yaml:18:23 warning lint/broad-cidr edge/x13',
      'policy/edge.yaml:19:5 error lint/matches-nothing edge/x14',
      // NotIn holds where the key is missing: nolabel-1 alone
      'policy/edge.yaml:22:5 error lint/shadowed edge/x17 policy/edge.yaml:23:5',
      // db holds no IPv6 address: ICMPv6 to it is no packet (s44 QA ipv6 F3)
      'policy/edge.yaml:24:5 error lint/matches-nothing edge/x19',
      'policy/edge.yaml:24:5 warning lint/no-effect edge/x19',
      'policy/edge.yaml:25:5 error lint/matches-nothing edge/x20',
      'policy/edge.yaml:26:5 warning lint/no-effect edge/x21',
      'policy/edge.yaml:28:5 warning lint/redundant edge/x26 policy/edge.yaml:27:5',
      'policy/edge.yaml:30:5 warning lint/redundant edge/x28 policy/edge.yaml:29:5',
      'policy/edge.yaml:31:5 warning lint/redundant edge/x29 policy/edge.yaml:32:5',
      'policy/global-x.yaml:6:12 warning lint/whole-environment global-x/x23',
      'policy/global-x.yaml:11:12 warning lint/whole-environment global-x/x24',
      'policy/global-x.yaml:12:10 warning lint/whole-environment global-x/x24',
    ])
  })

  it('handover: an address held by one workload until T and the next from T is never unmanaged', async () => {
    const { code, out } = await lintJson('handover')
    expect(code).toBe(2)
    expect(brief('handover', out)).toEqual([
      'policy/p.yaml:6:5 error lint/shadowed p/s1 policy/p.yaml:7:5',
      // tcp/1-65535 is not every port (0-65535): no broad-port; icmp/0-2 is decided; ICMPv6
      // between these IPv4-only workloads is no packet (s44 QA ipv6 F3)
      'policy/p.yaml:9:5 error lint/matches-nothing p/s4',
      'policy/p.yaml:9:5 warning lint/no-effect p/s4',
      'policy/p.yaml:10:5 error lint/matches-nothing p/s5',
      'policy/p.yaml:10:5 warning lint/no-effect p/s5',
      'policy/p.yaml:11:5 error lint/matches-nothing p/s6',
      'policy/p.yaml:12:5 warning lint/no-effect p/s7',
      'policy/p.yaml:14:5 warning lint/no-effect p/s9',
    ])
  })

  it('apart: endpoints that never exist at one time make no flow (web-a, db-a until T; web-b, db-b from T)', async () => {
    const { code, out } = await lintJson('apart')
    expect(code).toBe(2)
    // before 2026-11-24: web-db not shadowed (web-a → db-b escaped the denies), a-to-b redundant
    expect(brief('apart', out)).toEqual([
      'policy/p.yaml:6:5 error lint/shadowed p/web-db policy/p.yaml:7:5 policy/p.yaml:8:5',
      'policy/p.yaml:9:5 error lint/matches-nothing p/a-to-b',
    ])
  })
})
