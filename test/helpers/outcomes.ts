/**
 * @module Counts what a differential test's random flows exercise: how each verdict was
 * reached (allowed by a rule, denied by a deny rule over an allow, default deny, decided without
 * rules) and which parts of the semantics took part (an expired rule, a CIDR `except`, IPv6, a
 * port range edge, scoped and global selectors). A test asserts minimums on these counts so that
 * a generator change cannot make it vacuous without failing.
 */
import {
  isScoped,
  parseIp,
  replyConnectionPort,
  selectorMatches,
  serviceMatches,
  type Endpoint,
  type FlowTuple,
  type Inventory,
  type Policy,
  type PolicySet,
  type Rule,
  type Selector,
  type Verdict,
} from '../../src/core/index.js'
import { resolveEntity, ruleMatches } from '../../src/policy/evaluate.js'
import { hostExcepts } from './model.js'

/** Flow counts by outcome and by the semantics they touched; see {@link countOutcome}. */
export interface OutcomeCounts {
  /** Flows counted. */
  flows: number
  /** Allowed by an allow rule (`by.action === 'allow'`). */
  allowedByRule: number
  /** Denied by a deny rule (`by.action === 'deny'`). */
  deniedByRule: number
  /** Denied by a deny rule while an allow rule matched too: precedence was exercised (rule 1). */
  denyOverAllow: number
  /** Denied because no rule matched. */
  defaultDenied: number
  /** Decided without rules: link control or an ICMP error (`by` is a string other than default-deny). */
  withoutRules: number
  /** A rule matched but had expired at the judging instant (rule 4). */
  expiredHit: number
  /** Some rule would match if its CIDR selectors had no `except`, and does not match with them. */
  cidrExcept: number
  /** Source or destination is an IPv6 address. */
  ipv6: number
  /** Of {@link OutcomeCounts.cidrExcept}, the flows whose source or destination is IPv6. */
  ipv6Except: number
  /**
   * Of {@link OutcomeCounts.ipv6Except}, the flows with an end that an except of one address
   * (/128, /32) of the set names ({@link hostExcepts}).
   */
  ipv6HostExcept: number
  /**
   * Some rule's selectors match both ends and one of its services names the flow's protocol with
   * the flow's port at a range end or just outside it (lo − 1, lo, hi, hi + 1).
   */
  portEdge: number
  /** A matching rule matched an end through a scoped label or workload selector (rule 2). */
  scoped: number
  /** A matching rule matched an end through a `global` label or workload selector. */
  global: number
}

/** Zero counts. */
export function newCounts(): OutcomeCounts {
  return {
    flows: 0,
    allowedByRule: 0,
    deniedByRule: 0,
    denyOverAllow: 0,
    defaultDenied: 0,
    withoutRules: 0,
    expiredHit: 0,
    cidrExcept: 0,
    ipv6: 0,
    ipv6Except: 0,
    ipv6HostExcept: 0,
    portEdge: 0,
    scoped: 0,
    global: 0,
  }
}

const relaxed = new WeakMap<Rule, Rule | undefined>()
const hostsBySet = new WeakMap<PolicySet, Set<string>>()

/** {@link hostExcepts} of `ps`, computed once per set. */
function hostsOf(ps: PolicySet): Set<string> {
  let h = hostsBySet.get(ps)
  if (h === undefined) hostsBySet.set(ps, (h = hostExcepts(ps)))
  return h
}

/** The rule with its CIDR selectors' `except`s left out; undefined when it has none. */
function withoutExcept(rule: Rule): Rule | undefined {
  if (relaxed.has(rule)) return relaxed.get(rule)
  const has = (s: Selector): boolean => s.kind === 'cidr' && s.except.length > 0
  const strip = (s: Selector): Selector => (s.kind === 'cidr' ? { ...s, except: [] } : s)
  const r =
    rule.from.some(has) || rule.to.some(has)
      ? { ...rule, from: rule.from.map(strip), to: rule.to.map(strip) }
      : undefined
  relaxed.set(rule, r)
  return r
}

function sidesMatch(policy: Policy, rule: Rule, src: Endpoint, dst: Endpoint): boolean {
  return (
    rule.from.some((s) => selectorMatches(s, src, policy.scope)) &&
    rule.to.some((s) => selectorMatches(s, dst, policy.scope))
  )
}

/**
 * Adds one judged flow to `c`. `t` is the connection as judged (for a reply, the swapped tuple
 * the reference evaluator judges), `v` the reference verdict for it.
 */
export function countOutcome(
  c: OutcomeCounts,
  inv: Inventory,
  ps: PolicySet,
  t: FlowTuple,
  v: Verdict,
): void {
  c.flows++
  if (typeof v.by === 'string') {
    if (v.by === 'default-deny') c.defaultDenied++
    else c.withoutRules++
  } else if (v.by.action === 'allow') c.allowedByRule++
  else {
    c.deniedByRule++
    if (v.matched.allow.length > 0) c.denyOverAllow++
  }
  if (v.expired.length > 0) c.expiredHit++
  const sip = parseIp(t.src)
  const dip = parseIp(t.dst)
  if (sip === undefined || dip === undefined) return
  if (sip.family === 6 || dip.family === 6) c.ipv6++
  const src: Endpoint = { ip: sip, entity: resolveEntity(inv, t.src, t.at) }
  const dst: Endpoint = { ip: dip, entity: resolveEntity(inv, t.dst, t.at) }
  let except = false
  let edge = false
  let scoped = false
  let global = false
  for (const p of ps.policies) {
    for (const r of p.rules) {
      const sides = sidesMatch(p, r, src, dst)
      const m = sides && r.services.some((s) => serviceMatches(s, t.protocol, t.dstPort))
      if (!except && !m) {
        const wide = withoutExcept(r)
        if (wide !== undefined && ruleMatches(p, wide, src, dst, t.protocol, t.dstPort))
          except = true
      }
      if (m && !(scoped && global)) {
        const by = (sels: readonly Selector[], ep: Endpoint): Selector[] =>
          sels.filter((s) => selectorMatches(s, ep, p.scope))
        for (const s of [...by(r.from, src), ...by(r.to, dst)]) {
          if (isScoped(s)) scoped = true
          else if (s.kind === 'labels' || s.kind === 'workload') global = true
        }
      }
      if (!edge && sides) {
        edge = r.services.some(
          (s) =>
            s.protocol === t.protocol &&
            [s.ports.lo - 1, s.ports.lo, s.ports.hi, s.ports.hi + 1].includes(t.dstPort),
        )
      }
    }
  }
  if (except) c.cidrExcept++
  if (except && (sip.family === 6 || dip.family === 6)) {
    c.ipv6Except++
    const hosts = hostsOf(ps)
    if (hosts.has(t.src) || hosts.has(t.dst)) c.ipv6HostExcept++
  }
  if (edge) c.portEdge++
  if (scoped) c.scoped++
  if (global) c.global++
}

/** Adds `b` into `a`. */
export function addCounts(a: OutcomeCounts, b: OutcomeCounts): void {
  for (const k of Object.keys(a) as (keyof OutcomeCounts)[]) a[k] += b[k]
}

/**
 * The connection the reference evaluator judges for `t`: `t` itself, or for a reply the tuple
 * with its ends swapped on the connection's port (`replyConnectionPort`).
 */
export function judgedTuple(t: FlowTuple, reply: boolean): FlowTuple {
  if (!reply) return t
  return {
    src: t.dst,
    dst: t.src,
    protocol: t.protocol,
    dstPort: replyConnectionPort(t.protocol, t.srcPort ?? 0, t.dstPort),
    at: t.at,
  }
}
