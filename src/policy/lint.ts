/**
 * @module Lint: findings about the rules of a policy set — ownership, expiry, breadth, rules
 * shadowed by a deny or made redundant by other rules, selectors that match nothing, unused rules.
 *
 * Pure: inventory, policy set and the instant `now` in; {@link LintFinding}s out, each with a
 * stable code, a severity and the rule's (or selector's) source location.
 *
 * Shadowed and redundant are exact, not heuristic. Every flow endpoint falls into an endpoint
 * class (as in {@link PolicyIndex}): a workload address, keyed by (label set, name, region), or an
 * address that is unmanaged at some time (no workload holds it then; workloads that hand an
 * address over leave it no such time), keyed by region, where a region is a CIDR block of the policy
 * set or of the named externals minus the blocks nested in it (blocks are nested or disjoint, so
 * the region decides every CIDR and external selector). One representative endpoint per class is
 * matched against every selector with the reference {@link selectorMatches}; classes with the same
 * list of matching rules are merged; then for each (source group, destination group) the rules
 * matching both are compared with exact service-set algebra ({@link ServiceSet}).
 *
 * Time: every `from`/`to` bound of an inventory address cuts time into elementary intervals
 * (half-open, as holds are), and each class carries its life, the intervals in which it exists:
 * a workload class those in which one of its addresses is held by its workload, an unmanaged
 * region those in which one of its addresses is held by no workload. A life is kept as merged
 * spans of time, so an estate with no time-bounded address has one span, `(-∞, ∞)`, and costs
 * what it did before lives existed. A group lives while one of its classes does, and a (source,
 * destination) pair of groups counts only when their lives meet: every class of a group matches
 * the same rules, so two groups whose lives meet have two classes that exist at one instant, and
 * the findings are those of the flows that can happen (exact, not only sound). Rule expiry is
 * judged at `now` (live rules only) and by comparing expiries, as without time-bounded addresses.
 * @remarks Issue 6 item 4; semantics DESIGN.md "Policy language v1" rules 1, 2, 4.
 */
import {
  DAY_MS,
  HOUR_MS,
  cidrContains,
  cidrCovers,
  cidrRange,
  formatIp,
  formatLabelSet,
  formatRuleRef,
  formatService,
  hasPorts,
  isIcmpError,
  isIcmpReply,
  IGMP_PROTOCOL,
  isLinkControl,
  maxPort,
  parseCidr,
  parseIp,
  selectorKey,
  selectorMatches,
  ICMP_OF_FAMILY,
  ServiceSet,
  type Cidr,
  type Diagnostic,
  type Endpoint,
  type Entity,
  type ErrorCode,
  type Inventory,
  type IpFamily,
  type IpAddress,
  type Policy,
  type PolicySet,
  type Rule,
  type RuleRef,
  type Selector,
  type SourceLocation,
} from '../core/index.js'
import { isLive } from './evaluate.js'

/** The stable codes lint reports. Stable: SARIF rule ids and users' CI match on these. */
export type LintCode = Extract<ErrorCode, `lint/${string}`>

/** One finding: a {@link Diagnostic} with a lint code, `error` or `warning`, and the rule it is about. */
export interface LintFinding extends Diagnostic {
  readonly code: LintCode
  readonly severity: 'error' | 'warning'
  /** The rule the finding is about. */
  readonly rule?: RuleRef
  /**
   * What in the rule the finding is about, where a rule can have several findings of one code:
   * a selector (`from any`, `to 10.0.0.0/8`) or a service (`tcp/0-65535`). With the code and the
   * rule it identifies the finding from run to run (SARIF fingerprints).
   */
  readonly subject?: string
}

/** Options of {@link lint}. */
export interface LintOptions {
  /** The instant expiry is judged at, ms since the epoch, UTC. */
  readonly now: number
  /** Rules expiring within this many days of `now` are `lint/expiring`. Default 30. */
  readonly expiringDays?: number
  /**
   * Flows each rule decided (`policy/id` → count), e.g. from simulate; when given, live rules with
   * no hit are `lint/unused`. Absent: no unused findings.
   */
  readonly hits?: ReadonlyMap<string, number>
}

/** The owner `recommend` writes when it can derive none; `lint/no-owner` treats it as none. */
export const UNASSIGNED_OWNER = 'unassigned'

/** What each code means and how bad it is (for `lint` help and SARIF rule descriptions). */
export const LINT_CODES: Readonly<
  Record<
    LintCode,
    {
      /** The usual severity (SARIF's default level). */
      readonly severity: 'error' | 'warning'
      readonly description: string
      /** When a finding of this code takes the other severity. */
      readonly otherwise?: string
    }
  >
> = {
  'lint/no-owner': {
    severity: 'error',
    description: `The rule has no owner (neither its own nor its policy's, or "${UNASSIGNED_OWNER}").`,
  },
  'lint/no-reason': { severity: 'error', description: 'The rule gives no reason.' },
  'lint/expired': {
    severity: 'error',
    description: 'The rule has expired and is ignored; remove it or extend it.',
  },
  'lint/expiring': { severity: 'warning', description: 'The rule expires soon.' },
  'lint/emergency': {
    severity: 'warning',
    description: 'An emergency exception; review it before it expires.',
  },
  'lint/broad-source': {
    severity: 'warning',
    description: 'An allow rule from any source (any, or 0.0.0.0/0, ::/0).',
  },
  'lint/broad-port': {
    severity: 'warning',
    description: 'An allow rule on any port (any, or every port of a protocol).',
  },
  'lint/broad-cidr': {
    severity: 'warning',
    description: 'An allow rule with a CIDR block wider than /16 (IPv4) or /48 (IPv6).',
  },
  'lint/whole-environment': {
    severity: 'warning',
    description:
      'An allow rule whose selector picks a whole environment (only env=…, or every workload).',
  },
  'lint/shadowed': {
    severity: 'error',
    description:
      'An allow rule that never allows anything: deny rules cover every flow it matches.',
    otherwise: 'warning when one of those denies expires',
  },
  'lint/redundant': {
    severity: 'warning',
    description:
      'Removing the rule would change no verdict: other rules cover every flow it matches.',
  },
  'lint/no-effect': {
    severity: 'warning',
    description:
      'A service of the rule that no rule decides: ICMP error messages and link control (IPv6 neighbour and multicast listener discovery, IGMP) are allowed whatever the rules, and an ICMP reply is judged as the request it answers.',
  },
  'lint/matches-nothing': {
    severity: 'warning',
    description: 'A selector (or a whole rule) that matches no endpoint.',
    otherwise: 'error when a whole side of the rule matches nothing',
  },
  'lint/unused': {
    severity: 'warning',
    description: 'A live rule that decided none of the observed flows.',
  },
}

/** Widest CIDR blocks not reported as broad: /16 for IPv4, /48 for IPv6. */
const BROAD_PREFIX = { 4: 16, 6: 48 } as const

function finding(
  code: LintCode,
  message: string,
  rule: RuleRef,
  location: SourceLocation | undefined,
  more: {
    readonly related?: readonly SourceLocation[]
    readonly severity?: 'error' | 'warning'
    readonly subject?: string
  } = {},
): LintFinding {
  const { related, subject } = more
  return {
    code,
    severity: more.severity ?? LINT_CODES[code].severity,
    message,
    rule,
    ...(location ? { location } : {}),
    ...(related && related.length > 0 ? { related } : {}),
    ...(subject !== undefined ? { subject } : {}),
  }
}

/**
 * How long until an expiry, `ms` > 0 milliseconds away, as a person reads it: whole hours
 * (rounded up) under a day, else whole days (rounded up). "in 1 day" for a rule that expires
 * within the hour read as more time than is left.
 */
function timeLeft(ms: number): string {
  const hours = Math.ceil(ms / HOUR_MS)
  const [n, unit] = hours < 24 ? [hours, 'hour'] : [Math.ceil(ms / DAY_MS), 'day']
  return `${n} ${unit}${n === 1 ? '' : 's'}`
}

function isoDay(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z')
}

/**
 * Lints the policy set. Codes and severities: {@link LINT_CODES}. Findings are sorted by file,
 * line, column and code.
 *
 * - `lint/no-owner`, `lint/no-reason`: an empty or missing owner (rule's, else policy's) or reason;
 *   the owner {@link UNASSIGNED_OWNER} (what `recommend` writes when it can derive none) is none.
 * - `lint/expired` (`expires <= now`), `lint/expiring` (`now < expires <= now + expiringDays`),
 *   `lint/emergency`.
 * - Breadth, for allow rules only (a broad deny is a guardrail): `lint/broad-source` (a `from`
 *   selector `any` or a /0 block), `lint/broad-port` (service `any`, or every port of a protocol
 *   that has ports), `lint/broad-cidr` (a block wider than /16, or /48 for IPv6, other than a /0
 *   source), `lint/whole-environment` (a label selector whose constraints, scope included, use no
 *   key but `env`).
 * - `lint/shadowed` (allow rules): every flow the rule matches is matched by a live deny, so it
 *   allows nothing; `related` lists those denies (for an error, those that last as long as the
 *   allow). A warning, not an error, when it takes a deny that expires before the allow does: once
 *   that deny has gone, the allow decides.
 * - `lint/redundant`: not shadowed, and every flow it matches is matched by another live rule that
 *   lasts at least as long (any other rule for an allow, another deny for a deny) and is itself
 *   kept. Rules are decided from the last to the first, each against the rules not reported, so
 *   removing every rule reported together changes no verdict, and of two duplicates only the
 *   later is reported. A deny covered by other denies is reported whether or not an allow
 *   matches its flows. Only live rules take part.
 * - `lint/no-effect`: each service of a rule (allow or deny) whose every message type is an ICMP
 *   error or link control ({@link isIcmpError}, {@link isLinkControl}: IGMP is link control
 *   whole, unless the rule matches an IPv6 pair: see `noEffect`), which the model decides
 *   without rules (README "Semantics"), or an ICMP reply
 *   ({@link isIcmpReply}), judged as the request it answers (`judgedAsReply`): an allow adds
 *   nothing, a deny blocks nothing.
 * - `lint/matches-nothing`: a rule none of whose `from` (or `to`) selectors matches an endpoint
 *   (severity error, at the rule); else each selector that matches nothing (warning).
 * - `lint/unused`: live rules with zero hits, when `options.hits` is given.
 */
export function lint(
  inventory: Inventory,
  policySet: PolicySet,
  options: LintOptions,
): LintFinding[] {
  const now = options.now
  const horizon = now + (options.expiringDays ?? 30) * DAY_MS
  const out: LintFinding[] = []
  const classes = timedEndpointClasses(inventory, policySet)
  for (const p of policySet.policies) {
    for (const r of p.rules) {
      const ref = { policy: p.name, id: r.id }
      const loc = r.location
      const owner = (r.owner ?? p.owner).trim()
      if (owner === '' || owner === UNASSIGNED_OWNER)
        out.push(
          finding(
            'lint/no-owner',
            owner === ''
              ? `rule ${formatRuleRef(ref)} has no owner`
              : `rule ${formatRuleRef(ref)} has the owner "${UNASSIGNED_OWNER}" that recommend writes when it knows none`,
            ref,
            loc,
          ),
        )
      if ((r.reason ?? '').trim() === '') {
        out.push(finding('lint/no-reason', `rule ${formatRuleRef(ref)} gives no reason`, ref, loc))
      }
      if (r.expires !== undefined) {
        if (r.expires <= now) {
          out.push(
            finding(
              'lint/expired',
              `rule ${formatRuleRef(ref)} expired at ${isoDay(r.expires)} and is ignored`,
              ref,
              loc,
            ),
          )
        } else if (r.expires <= horizon) {
          out.push(
            finding(
              'lint/expiring',
              `rule ${formatRuleRef(ref)} expires at ${isoDay(r.expires)} (in ${timeLeft(r.expires - now)})`,
              ref,
              loc,
            ),
          )
        }
      }
      if (r.emergency) {
        out.push(
          finding(
            'lint/emergency',
            `rule ${formatRuleRef(ref)} is an emergency exception${r.expires !== undefined ? ` until ${isoDay(r.expires)}` : ''}`,
            ref,
            loc,
          ),
        )
      }
      if (r.action === 'allow') out.push(...breadth(p, r, ref))
      for (const f of noEffect(p, r, ref, classes)) out.push(f)
    }
  }
  // one by one: a finding per workload can be more than a spread takes (about 125 000)
  for (const f of coverage(policySet, now, classes)) out.push(f)
  if (options.hits) {
    for (const p of policySet.policies) {
      for (const r of p.rules) {
        const ref = { policy: p.name, id: r.id }
        if (isLive(r, now) && (options.hits.get(formatRuleRef(ref)) ?? 0) === 0) {
          out.push(
            finding(
              'lint/unused',
              `rule ${formatRuleRef(ref)} decided none of the observed flows`,
              ref,
              r.location,
            ),
          )
        }
      }
    }
  }
  return sortFindings(out)
}

/** Sorts by file, line, column, code, then rule. */
function sortFindings(xs: LintFinding[]): LintFinding[] {
  const key = (f: LintFinding): [string, number, number, string, string] => [
    f.location?.file ?? '',
    f.location?.line ?? 0,
    f.location?.column ?? 0,
    f.code,
    f.rule ? formatRuleRef(f.rule) : '',
  ]
  return xs.sort((a, b) => {
    const ka = key(a)
    const kb = key(b)
    for (let i = 0; i < ka.length; i++) {
      const x = ka[i] as string | number
      const y = kb[i] as string | number
      if (x !== y) return x < y ? -1 : 1
    }
    return 0
  })
}

/**
 * `lint/no-effect`: the rule's services that only name messages no rule decides. IGMP is link
 * control between IPv4 addresses only: between IPv6 ones the rules judge protocol 2 as any other
 * number (core `decidedWithoutRules`; `eval`, `connlist` and `diff` show it), so a rule that
 * matches an IPv6 source and an IPv6 destination among `classes` (at any time, which can only
 * leave a finding out) has an effect there. ICMP of the other family (ICMP between IPv6
 * addresses, ICMPv6 between IPv4 ones) is no packet anyone sends: `eval` refuses it and `connlist`
 * leaves it out, so it does not count.
 */
function noEffect(
  p: Policy,
  r: Rule,
  ref: RuleRef,
  classes: readonly EndpointClass[],
): LintFinding[] {
  const out: LintFinding[] = []
  let ipv6Pair: boolean | undefined
  /** Whether the rule matches an IPv6 source and an IPv6 destination (computed once). */
  const matchesIpv6Pair = (): boolean =>
    (ipv6Pair ??= (['from', 'to'] as const).every((side) =>
      classes.some(
        ({ endpoint: ep }) =>
          ep.ip.family === 6 && r[side].some((s) => selectorMatches(s, ep, p.scope)),
      ),
    ))
  for (const svc of r.services) {
    if (svc.protocol !== 1 && svc.protocol !== 58 && svc.protocol !== IGMP_PROTOCOL) continue
    const { protocol } = svc
    let errors = false
    let replies = false
    // IGMP is link control whatever its type: no need to visit its 65 536 "ports"
    const igmp = protocol === IGMP_PROTOCOL
    let linkControl = igmp
    let decided = true
    for (let t = svc.ports.lo; t <= svc.ports.hi && decided && !igmp; t++) {
      const error = isIcmpError(protocol, t)
      const control = isLinkControl(protocol, t)
      // a reply is judged as the request it answers (judgedAsReply): a rule of the request decides
      const reply = isIcmpReply(protocol, t)
      errors ||= error
      linkControl ||= control
      replies ||= reply
      decided = error || control || reply
    }
    if (!decided) continue
    if (igmp && matchesIpv6Pair()) continue
    const free = [
      ...(errors ? ['ICMP error messages (related to a connection)'] : []),
      ...(linkControl ? [igmp ? 'link control (IGMP)' : 'IPv6 link control'] : []),
    ].join(' and ')
    const what = [
      ...(free !== '' ? [`${free}, allowed whatever the rules`] : []),
      ...(replies
        ? ['ICMP replies, judged as the request they answer (a rule of the request decides)']
        : []),
    ].join('; ')
    const verb = r.action === 'allow' ? 'allows nothing more' : 'blocks nothing'
    out.push(
      finding(
        'lint/no-effect',
        `rule ${formatRuleRef(ref)} names ${formatService(svc)}: ${what}, so it ${verb} there`,
        ref,
        r.location,
        { subject: formatService(svc) },
      ),
    )
  }
  return out
}

function breadth(p: Policy, r: Rule, ref: RuleRef): LintFinding[] {
  const out: LintFinding[] = []
  const name = formatRuleRef(ref)
  for (const s of r.from) {
    if (s.kind === 'any' || (s.kind === 'cidr' && s.cidr.prefix === 0)) {
      out.push(
        finding(
          'lint/broad-source',
          `rule ${name} allows any source (${selectorKey(s)})`,
          ref,
          s.location ?? r.location,
          { subject: `from ${selectorKey(s)}` },
        ),
      )
    }
  }
  for (const svc of r.services) {
    if (svc.protocol === 'any') {
      out.push(
        finding(
          'lint/broad-port',
          `rule ${name} allows every protocol and port (any)`,
          ref,
          r.location,
          { subject: 'any' },
        ),
      )
    } else if (
      hasPorts(svc.protocol) &&
      svc.ports.lo === 0 &&
      svc.ports.hi === maxPort(svc.protocol)
    ) {
      out.push(
        finding(
          'lint/broad-port',
          `rule ${name} allows every port of ${formatService(svc)}`,
          ref,
          r.location,
          { subject: formatService(svc) },
        ),
      )
    }
  }
  const sides: [string, readonly Selector[]][] = [
    ['from', r.from],
    ['to', r.to],
  ]
  for (const [side, sels] of sides) {
    for (const s of sels) {
      if (
        s.kind === 'cidr' &&
        s.cidr.prefix < BROAD_PREFIX[s.cidr.family] &&
        !(side === 'from' && s.cidr.prefix === 0)
      ) {
        out.push(
          finding(
            'lint/broad-cidr',
            `rule ${name} uses ${s.cidr.text} in ${side}, wider than /${BROAD_PREFIX[s.cidr.family]}`,
            ref,
            s.location ?? r.location,
            { subject: `${side} ${selectorKey(s)}` },
          ),
        )
      }
      if (s.kind === 'labels') {
        const scope = s.global ? {} : p.scope
        const keys = new Set([
          ...Object.keys(s.match),
          ...Object.keys(scope),
          ...s.expressions.map((e) => e.key),
        ])
        if ([...keys].every((k) => k === 'env')) {
          const what =
            keys.size === 0
              ? 'every workload'
              : `the whole environment ${formatLabelSet({ ...scope, ...s.match }) || selectorKey(s)}`
          out.push(
            finding(
              'lint/whole-environment',
              `rule ${name} selects ${what} in ${side}`,
              ref,
              s.location ?? r.location,
              { subject: `${side} ${selectorKey(s)}` },
            ),
          )
        }
      }
    }
  }
  return out
}

// --- exact coverage: shadowed, redundant, matches nothing ---------------------------------------

/** Endpoint classes of one family with the same matching rules (on one side), and their life. */
interface Group {
  readonly family: IpFamily
  readonly rules: number[]
  /** The lives of its classes, then (once every class is in) their union. */
  readonly lives: Life[]
  life: Life
}

/** A live rule as coverage sees it. */
interface LiveRule {
  readonly policy: Policy
  readonly rule: Rule
  readonly ref: RuleRef
  readonly services: ServiceSet
}

/**
 * When an endpoint class exists: sorted, disjoint, non-touching half-open spans of time
 * `[s0, e0, s1, e1, …]` in ms since the epoch, ±Infinity for unbounded. Every bound is a bound of
 * some inventory address, so a life is a union of the elementary intervals those bounds cut time
 * into. {@link ALWAYS} for an estate with no time-bounded address.
 */
type Life = readonly number[]

const ALWAYS: Life = [-Infinity, Infinity]
const NEVER: Life = []

/** The union of two lives. */
function lifeUnion(a: Life, b: Life): Life {
  if (a.length === 0) return b
  if (b.length === 0) return a
  return lifeOfAll([a, b])
}

/** The union of many lives, at once (adding them one by one would sort again and again). */
function lifeOfAll(lives: readonly Life[]): Life {
  if (lives.length === 1) return lives[0] as Life
  if (lives.includes(ALWAYS)) return ALWAYS
  const spans: [number, number][] = []
  for (const l of lives)
    for (let k = 0; k < l.length; k += 2) spans.push([l[k] as number, l[k + 1] as number])
  return lifeOf(spans)
}

/** A life from any half-open spans (empty ones ignored). */
function lifeOf(spans: [number, number][]): Life {
  spans.sort((x, y) => x[0] - y[0])
  const out: number[] = []
  for (const [s, e] of spans) {
    if (!(s < e)) continue
    if (out.length > 0 && s <= (out[out.length - 1] as number)) {
      out[out.length - 1] = Math.max(out[out.length - 1] as number, e)
    } else out.push(s, e)
  }
  return out.length === 2 && out[0] === -Infinity && out[1] === Infinity ? ALWAYS : out
}

/** Whether two lives share an instant. */
function lifeMeets(a: Life, b: Life): boolean {
  if (a === ALWAYS) return b.length > 0
  if (b === ALWAYS) return a.length > 0
  let i = 0
  let j = 0
  while (i < a.length && j < b.length) {
    if ((a[i + 1] as number) <= (b[j] as number)) i += 2
    else if ((b[j + 1] as number) <= (a[i] as number)) j += 2
    else return true
  }
  return false
}

/** One endpoint class: its representative endpoint and when some endpoint of it exists. */
interface EndpointClass {
  readonly endpoint: Endpoint
  readonly life: Life
}

/**
 * Representative endpoints, one per endpoint class. Exported for the property test, which checks
 * the partition against the reference evaluator.
 */
export function endpointClasses(inventory: Inventory, policySet: PolicySet): Endpoint[] {
  return timedEndpointClasses(inventory, policySet).map((c) => c.endpoint)
}

/**
 * The endpoint classes with their lives: a workload class exists while one of its addresses is
 * held by its workload, an unmanaged region while one of its addresses is held by none.
 */
function timedEndpointClasses(inventory: Inventory, policySet: PolicySet): EndpointClass[] {
  const blocks = new Map<string, Cidr>()
  const addBlock = (c: Cidr): void => {
    if (!blocks.has(c.text)) blocks.set(c.text, c)
  }
  for (const p of policySet.policies) {
    for (const r of p.rules) {
      for (const s of [...r.from, ...r.to]) {
        if (s.kind === 'cidr') {
          addBlock(s.cidr)
          s.except.forEach(addBlock)
        }
      }
    }
  }
  for (const x of inventory.externals) addBlock(x.cidr)
  for (const e of policySet.enforcement) {
    if (e.selector.kind === 'cidr') {
      addBlock(e.selector.cidr)
      e.selector.except.forEach(addBlock)
    }
  }
  addBlock(parseCidr('0.0.0.0/0') as Cidr)
  addBlock(parseCidr('::/0') as Cidr)
  const all = [...blocks.values()]
  /** Longest block containing an address. */
  const regionOf = (ip: IpAddress): Cidr => {
    let best: Cidr | undefined
    for (const c of all)
      if (cidrContains(c, ip) && (best === undefined || c.prefix > best.prefix)) best = c
    return best as Cidr
  }
  // when each held address is held (by some workload); absent: never held, unmanaged always
  const held = heldLives(inventory)
  const named = new Set<string>()
  for (const p of policySet.policies) {
    for (const r of p.rules)
      for (const s of [...r.from, ...r.to]) if (s.kind === 'workload') named.add(s.name)
  }
  for (const e of policySet.enforcement)
    if (e.selector.kind === 'workload') named.add(e.selector.name)

  const reps = new Map<string, { endpoint: Endpoint; lives: Life[] }>()
  // unmanaged and external endpoints: one per non-empty region
  for (const c of all) {
    const children = all
      .filter((d) => d !== c && cidrCovers(c, d) && d.prefix > c.prefix)
      .filter((d, _, xs) => !xs.some((e) => e !== d && e.prefix < d.prefix && cidrCovers(e, d)))
      .map(cidrRange)
      .sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0))
    const free = freeAddress(c, children, held)
    if (free === undefined) continue
    const entity = externalEntity(inventory, free.ip)
    reps.set(`u:${c.text}`, { endpoint: { ip: free.ip, entity }, lives: [free.life] })
  }
  // workload endpoints
  for (const w of inventory.workloads) {
    const entity: Entity = { kind: 'workload', workload: w }
    for (const a of w.addresses) {
      const ip = parseIp(a.ip)
      if (!ip) continue
      const key = JSON.stringify([
        'w',
        formatLabelSet(w.labels),
        named.has(w.name) ? w.name : null,
        regionOf(ip).text,
      ])
      const life =
        a.from === undefined && a.to === undefined
          ? ALWAYS
          : lifeOf([[a.from ?? -Infinity, a.to ?? Infinity]])
      const had = reps.get(key)
      if (!had) reps.set(key, { endpoint: { ip, entity }, lives: [life] })
      else had.lives.push(life)
    }
  }
  return [...reps.values()]
    .map((c) => ({ endpoint: c.endpoint, life: lifeOfAll(c.lives) }))
    .filter((c) => c.life.length > 0)
}

/**
 * When each address some workload holds is held, by any workload (intervals are half-open:
 * workloads that hand an address over, `{ to: T }` then `{ from: T }`, leave it no unmanaged
 * instant). {@link ALWAYS} for an address held at every instant, as an unbounded one is.
 */
function heldLives(inventory: Inventory): Map<string, Life> {
  const spans = new Map<string, [number, number][]>()
  for (const w of inventory.workloads) {
    for (const a of w.addresses) {
      const list = spans.get(a.ip) ?? []
      list.push([a.from ?? -Infinity, a.to ?? Infinity])
      spans.set(a.ip, list)
    }
  }
  const out = new Map<string, Life>()
  for (const [ip, list] of spans) out.set(ip, lifeOf(list))
  return out
}

/** When an address held during `heldLife` is held by no workload. */
function unheld(heldLife: Life): Life {
  if (heldLife === ALWAYS) return NEVER
  const out: number[] = []
  let cur = -Infinity
  for (let k = 0; k < heldLife.length; k += 2) {
    const [s, e] = [heldLife[k] as number, heldLife[k + 1] as number]
    if (cur < s) out.push(cur, s)
    cur = e
  }
  if (cur < Infinity) out.push(cur, Infinity)
  return out.length === 2 && out[0] === -Infinity && out[1] === Infinity ? ALWAYS : out
}

/**
 * An address of `c` outside `children` (sorted, disjoint ranges) to stand for its unmanaged
 * endpoints, and when one of them is unmanaged: the addresses are visited in order until one
 * is never held, or every instant is covered; undefined when every address is always held.
 */
function freeAddress(
  c: Cidr,
  children: readonly { first: bigint; last: bigint }[],
  held: ReadonlyMap<string, Life>,
): { ip: IpAddress; life: Life } | undefined {
  const { first, last } = cidrRange(c)
  let cur = first
  let rep: IpAddress | undefined
  let life: Life = NEVER
  /** True when done: an address unmanaged at every instant the ones before it are not. */
  const tryGap = (lo: bigint, hi: bigint): boolean => {
    for (let v = lo; v <= hi; v++) {
      const ip: IpAddress = { family: c.family, value: v }
      const h = held.get(formatIp(ip))
      const free = h === undefined ? ALWAYS : unheld(h)
      if (free.length > 0) {
        rep ??= ip
        life = lifeUnion(life, free)
        if (life === ALWAYS) return true
      }
      if (v - lo > BigInt(held.size)) return true // at most |held| addresses are held
    }
    return false
  }
  let done = false
  for (const ch of children) {
    if (ch.first > cur && tryGap(cur, ch.first - 1n)) {
      done = true
      break
    }
    if (ch.last + 1n > cur) cur = ch.last + 1n
  }
  if (!done && cur <= last) tryGap(cur, last)
  return rep === undefined ? undefined : { ip: rep, life }
}

/** What an address no workload holds resolves to: the longest named external, else unmanaged. */
function externalEntity(inventory: Inventory, ip: IpAddress): Entity {
  let best: Entity | undefined
  let bestPrefix = -1
  for (const x of inventory.externals) {
    if (cidrContains(x.cidr, ip) && x.cidr.prefix > bestPrefix) {
      best = { kind: 'external', name: x.name, named: true, external: x }
      bestPrefix = x.cidr.prefix
    }
  }
  return best ?? { kind: 'external', name: formatIp(ip), named: false }
}

/**
 * A pair of groups a rule matches (lint's coverage): the rule lists of the pair, and the other
 * family's ICMP, which is no packet of the pair and so left out of what must be covered.
 */
interface MatchedPair {
  readonly list: readonly number[]
  readonly foreign: ServiceSet
}

function coverage(
  policySet: PolicySet,
  now: number,
  classes: readonly EndpointClass[],
): LintFinding[] {
  const live: LiveRule[] = []
  for (const p of policySet.policies) {
    for (const r of p.rules) {
      if (isLive(r, now))
        live.push({
          policy: p,
          rule: r,
          ref: { policy: p.name, id: r.id },
          services: ServiceSet.of(r.services),
        })
    }
  }
  // which selector of which rule matches anything; per class the rules matching as source / destination
  const selHit = live.map((l) => ({
    from: l.rule.from.map(() => false),
    to: l.rule.to.map(() => false),
  }))
  const fromGroups = new Map<string, Group>()
  const toGroups = new Map<string, Group>()
  /** Adds a class to the group of its rules: the group lives while one of its classes does. */
  const join = (
    groups: Map<string, Group>,
    family: IpFamily,
    rules: number[],
    life: Life,
  ): void => {
    const key = `${family}:${rules.join(',')}`
    const g = groups.get(key)
    if (g) g.lives.push(life)
    else groups.set(key, { family, rules, lives: [life], life: NEVER })
  }
  for (const { endpoint: ep, life } of classes) {
    const from: number[] = []
    const to: number[] = []
    live.forEach((l, i) => {
      const hit = selHit[i] as { from: boolean[]; to: boolean[] }
      const f = l.rule.from.map((s) => selectorMatches(s, ep, l.policy.scope))
      const t = l.rule.to.map((s) => selectorMatches(s, ep, l.policy.scope))
      f.forEach((m, k) => {
        if (m) hit.from[k] = true
      })
      t.forEach((m, k) => {
        if (m) hit.to[k] = true
      })
      if (f.includes(true)) from.push(i)
      if (t.includes(true)) to.push(i)
    })
    // a group is of one address family: IPv4 and IPv6 addresses never connect (as connlist)
    const family = ep.ip.family
    if (from.length > 0) join(fromGroups, family, from, life)
    if (to.length > 0) join(toGroups, family, to, life)
  }
  for (const g of [...fromGroups.values(), ...toGroups.values()]) g.life = lifeOfAll(g.lives)

  // the live rules matching both sides of each (source group, destination group) of one family
  // that exist at one time (some source class and some destination class of them do: a class
  // list of matching rules is the same for every class of the group, so the pair is exact)
  const matched = new Array<boolean>(live.length).fill(false)
  // matched by two groups of one family that never exist at one time
  const apart = new Array<boolean>(live.length).fill(false)
  // matched by two groups of one family only, whose ICMP the rule's services are not: ICMP is no
  // packet between IPv6 addresses nor ICMPv6 between IPv4 ones (eval refuses such a flow)
  const otherIcmp = new Array<boolean>(live.length).fill(false)
  const onlyIcmp4 = live.map((l) => l.services.subtract(ICMP_OF_FAMILY[4]).isEmpty)
  const onlyIcmp6 = live.map((l) => l.services.subtract(ICMP_OF_FAMILY[6]).isEmpty)
  // per rule, the rule lists of the pairs it matches, each with the other family's ICMP (no packet
  // of the pair: left out of what must be covered)
  const pairsOf = live.map((): MatchedPair[] => [])
  for (const f of fromGroups.values()) {
    const inF = new Set(f.rules)
    for (const g of toGroups.values()) {
      if (g.family !== f.family) continue
      const list = g.rules.filter((i) => inF.has(i))
      if (list.length === 0) continue
      if (!lifeMeets(f.life, g.life)) {
        for (const i of list) apart[i] = true
        continue
      }
      const foreign = ICMP_OF_FAMILY[f.family === 4 ? 6 : 4]
      const none = f.family === 4 ? onlyIcmp6 : onlyIcmp4
      for (const i of list) {
        if (none[i] === true) {
          otherIcmp[i] = true
          continue
        }
        matched[i] = true
        ;(pairsOf[i] as MatchedPair[]).push({ list, foreign })
      }
    }
  }
  const rule = (i: number): LiveRule => live[i] as LiveRule
  /** Whether rule `j` lives at least as long as rule `i` (so that it covers `i` for its life). */
  const outlives = (j: number, i: number): boolean => {
    const ej = rule(j).rule.expires
    const ei = rule(i).rule.expires
    return ej === undefined || (ei !== undefined && ej >= ei)
  }
  /** Whether, in every pair of `i`, the rules `by` admits cover all of `i`'s services. */
  const coveredBy = (i: number, by: (j: number) => boolean): boolean =>
    (pairsOf[i] as MatchedPair[]).every(({ list, foreign }) => {
      let union = foreign
      for (const j of list) if (j !== i && by(j)) union = union.union(rule(j).services)
      return rule(i).services.subtract(union).isEmpty
    })
  const isDeny = (j: number): boolean => rule(j).rule.action === 'deny'
  // shadowed: an allow every flow of which a deny matches; `forLife` when the denies that do
  // so last as long as the allow (else it decides once they have expired)
  const shadowed = live.map(
    (l, i) => matched[i] === true && l.rule.action === 'allow' && coveredBy(i, isDeny),
  )
  const forLife = live.map(
    (_, i) => shadowed[i] && coveredBy(i, (j) => isDeny(j) && outlives(j, i)),
  )
  // redundant: decided from the last rule to the first, each against the rules still kept, so
  // that removing every rule reported (shadowed or redundant) together changes no verdict, and
  // of two duplicates the later is reported. A cover must last as long as the rule it covers.
  const redundant = new Array<boolean>(live.length).fill(false)
  for (let i = live.length - 1; i >= 0; i--) {
    if (!matched[i] || shadowed[i]) continue
    const allow = rule(i).rule.action === 'allow'
    redundant[i] = coveredBy(
      i,
      (j) => !redundant[j] && !shadowed[j] && (allow || isDeny(j)) && outlives(j, i),
    )
  }
  /** The other rules `admit` lets cover `i` that share a service with it. */
  const coverers = (i: number, admit: (j: number) => boolean): LiveRule[] => {
    const js = new Set<number>()
    for (const { list } of pairsOf[i] as MatchedPair[])
      for (const j of list)
        if (j !== i && admit(j) && !rule(j).services.intersect(rule(i).services).isEmpty) js.add(j)
    return [...js].sort((a, b) => a - b).map(rule)
  }

  const out: LintFinding[] = []
  live.forEach((l, i) => {
    const name = formatRuleRef(l.ref)
    const hit = selHit[i] as { from: boolean[]; to: boolean[] }
    if (!matched[i]) {
      const deadSides = (['from', 'to'] as const).filter((side) => !hit[side].some(Boolean))
      if (deadSides.length > 0) {
        out.push(
          finding(
            'lint/matches-nothing',
            `rule ${name} matches no flow: no endpoint matches its ${deadSides.join(' or ')}`,
            l.ref,
            l.rule.location,
            { severity: 'error' },
          ),
        )
        return
      }
      if (otherIcmp[i]) {
        // both sides match endpoints of one family, whose ICMP the rule does not name
        out.push(
          finding(
            'lint/matches-nothing',
            `rule ${name} matches no flow: its services are ICMP of the other address family than its endpoints' (icmp is IPv4's, icmpv6 IPv6's)`,
            l.ref,
            l.rule.location,
            { severity: 'error' },
          ),
        )
        return
      }
      if (apart[i]) {
        // both sides match endpoints of one family, never two that exist at one time
        out.push(
          finding(
            'lint/matches-nothing',
            `rule ${name} matches no flow: its from and its to match only endpoints that never exist at the same time (addresses held for a time)`,
            l.ref,
            l.rule.location,
            { severity: 'error' },
          ),
        )
        return
      }
      // both sides match endpoints, never two of one address family
      out.push(
        finding(
          'lint/matches-nothing',
          `rule ${name} matches no flow: its from and its to match only endpoints of different address families (IPv4 and IPv6 never connect)`,
          l.ref,
          l.rule.location,
          { severity: 'error' },
        ),
      )
      return
    }
    for (const side of ['from', 'to'] as const) {
      if (!hit[side].some(Boolean)) continue
      l.rule[side].forEach((s, k) => {
        if (!hit[side][k]) {
          out.push(
            finding(
              'lint/matches-nothing',
              `selector ${selectorKey(s)} in ${side} of rule ${name} matches no endpoint`,
              l.ref,
              s.location ?? l.rule.location,
              { subject: `${side} ${selectorKey(s)}` },
            ),
          )
        }
      })
    }
    if (shadowed[i]) {
      // for life: the denies that last as long as the allow (others may overlap it too, and a
      // temporary one among them is not why it never allows anything)
      const by = coverers(i, forLife[i] === true ? (j) => isDeny(j) && outlives(j, i) : isDeny)
      const denies = `deny rule${by.length === 1 ? '' : 's'} ${by.map((d) => formatRuleRef(d.ref)).join(', ')} cover${by.length === 1 ? 's' : ''} every flow it matches`
      const related = by.flatMap((d) => (d.rule.location ? [d.rule.location] : []))
      const expiring = by.filter((d) => d.rule.expires !== undefined)
      out.push(
        forLife[i] === true
          ? finding(
              'lint/shadowed',
              `rule ${name} never allows anything: ${denies}` +
                (expiring.length > 0 ? ` until ${name} expires` : ''),
              l.ref,
              l.rule.location,
              { related },
            )
          : // a temporary deny: the allow is what decides once it has expired
            finding(
              'lint/shadowed',
              `rule ${name} allows nothing while ${denies} (${expiring.map((d) => `${formatRuleRef(d.ref)} expires ${isoDay(d.rule.expires ?? 0)}`).join(', ')})`,
              l.ref,
              l.rule.location,
              { related, severity: 'warning' },
            ),
      )
    } else if (redundant[i]) {
      const allow = l.rule.action === 'allow'
      const by = coverers(
        i,
        (j) => !redundant[j] && !shadowed[j] && (allow || isDeny(j)) && outlives(j, i),
      )
      out.push(
        finding(
          'lint/redundant',
          `rule ${name} is redundant: every flow it matches is matched by ${by.map((d) => formatRuleRef(d.ref)).join(', ')}, so removing it changes no verdict`,
          l.ref,
          l.rule.location,
          { related: by.flatMap((d) => (d.rule.location ? [d.rule.location] : [])) },
        ),
      )
    }
  })
  return out
}
