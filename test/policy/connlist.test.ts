/**
 * connlist: the CONNS formatter, the four output formats (goldens), np-guard's own outputs
 * re-rendered through the formatter, and a differential property test against the reference
 * evaluator on small random estates.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  cidrRange,
  familyBits,
  formatIp,
  IntervalSet,
  isIcmpReply,
  labelSet,
  NO_CONNECTION_SERVICES,
  parseIp,
  type IpAddress,
  ServiceSet,
  type Inventory,
  type PolicySet,
  type Service,
} from '../../src/core/index.js'
import {
  connlist,
  connlistEntities,
  formatConnlist,
  formatConns,
  type Connection,
  type ConnlistEntity,
} from '../../src/policy/connlist.js'
import { evaluate } from '../../src/policy/evaluate.js'
import { isAllowedCode, PolicyIndex } from '../../src/policy/policy-index.js'
import { loadWorkspace } from '../../src/policy/files.js'
import { defaultWorkspace, loadFromSources, type SourceFile } from '../../src/policy/index.js'
import { ALL_IPS, inventoryArb, policySetArb, SEED, TIMES } from '../helpers/model.js'
import { CORPUS_SKIP, corpusFiles, corpusPath, corpusTitle } from '../helpers/corpora.js'

const svc = (protocol: number, lo: number, hi = lo): Service => ({ protocol, ports: { lo, hi } })

describe('formatConns', () => {
  it('prints All Connections and No Connections', () => {
    expect(formatConns(ServiceSet.ANY)).toBe('All Connections')
    expect(formatConns(ServiceSet.EMPTY)).toBe('No Connections')
  })
  it('orders SCTP, TCP, UDP, ICMP, ICMPv6, then protocol numbers, with merged port ranges', () => {
    const set = ServiceSet.of([
      svc(17, 53),
      svc(6, 8000, 8100),
      svc(6, 443),
      svc(6, 80),
      svc(132, 3868),
      svc(58, 128),
      svc(1, 8),
      svc(47, 0, 65535),
      svc(6, 444),
    ])
    expect(formatConns(set)).toBe('SCTP 3868,TCP 80,443-444,8000-8100,UDP 53,ICMP 8,ICMPv6 128,GRE')
  })
  it('any less every protocol number, one by one, has no "other protocols" left (k8s import of an ANP deny)', () => {
    // the deny k8s import writes for an ANP Deny after an Allow of tcp/80: every protocol number
    // but TCP, and TCP less 80 (hL, session 31: printed "TCP 80,ICMPv6 0-255,other protocols except
    // 0,2,3,…" on an IPv4 line)
    const deny = ServiceSet.of([
      ...Array.from({ length: 256 }, (_, p) => p)
        .filter((p) => p !== 6)
        .map((p) => svc(p, 0, p === 1 || p === 58 ? 255 : 65535)),
      svc(6, 0, 79),
      svc(6, 81, 65535),
    ])
    expect(formatConns(ServiceSet.ANY.subtract(deny))).toBe('TCP 80')
  })
  it('names what is missing from an almost-everything set', () => {
    const noSsh = ServiceSet.ANY.subtract(ServiceSet.single(svc(6, 22)))
    expect(formatConns(noSsh)).toBe(
      'SCTP 0-65535,TCP 0-21,23-65535,UDP 0-65535,ICMP 0-255,ICMPv6 0-255,other protocols',
    )
    const noGre = ServiceSet.ANY.subtract(ServiceSet.single(svc(47, 0, 65535)))
    expect(formatConns(noGre)).toBe(
      'SCTP 0-65535,TCP 0-65535,UDP 0-65535,ICMP 0-255,ICMPv6 0-255,other protocols except GRE',
    )
    // a number without a keyword is named as in the list, proto-N (s45 QA sem3 F2: `except 4,GRE`)
    const noIpInIp = ServiceSet.ANY.subtract(ServiceSet.of([svc(4, 0, 65535), svc(47, 0, 65535)]))
    expect(formatConns(noIpInIp)).toBe(
      'SCTP 0-65535,TCP 0-65535,UDP 0-65535,ICMP 0-255,ICMPv6 0-255,other protocols except proto-4,GRE',
    )
    const noIcmp = ServiceSet.ANY.subtract(ServiceSet.single(svc(1, 0, 255)))
    expect(formatConns(noIcmp)).toBe(
      'SCTP 0-65535,TCP 0-65535,UDP 0-65535,ICMPv6 0-255,other protocols',
    )
  })
})

describe('formatConnlist', () => {
  const conns: Connection[] = [
    { src: 'b', dst: 'a', services: ServiceSet.ANY },
    { src: 'a|x', dst: 'b', services: ServiceSet.of([svc(6, 80), svc(17, 53)]) },
    { src: 'a', dst: 'b', services: ServiceSet.of([svc(6, 443)]) },
  ]
  it('sorts by source then destination and quotes csv fields with commas', () => {
    expect(formatConnlist(conns, 'txt')).toBe(
      'a => b : TCP 443\na|x => b : TCP 80,UDP 53\nb => a : All Connections\n',
    )
    expect(formatConnlist(conns, 'csv')).toBe(
      'src,dst,conn\na,b,TCP 443\na|x,b,"TCP 80,UDP 53"\nb,a,All Connections\n',
    )
    expect(formatConnlist(conns, 'md')).toBe(
      '| src | dst | conn |\n|-----|-----|------|\n| a | b | TCP 443 |\n| a\\|x | b | TCP 80,UDP 53 |\n| b | a | All Connections |\n',
    )
    expect(JSON.parse(formatConnlist(conns, 'json'))).toEqual([
      { src: 'a', dst: 'b', conn: 'TCP 443' },
      { src: 'a|x', dst: 'b', conn: 'TCP 80,UDP 53' },
      { src: 'b', dst: 'a', conn: 'All Connections' },
    ])
    expect(formatConnlist([], 'txt')).toBe('')
  })
})

const FIXTURE = fileURLToPath(new URL('../fixtures/connlist-estate/', import.meta.url))
const NOW = new Date('2026-11-01T00:00:00Z')

describe('connlist on test/fixtures/connlist-estate', async () => {
  const loaded = await loadWorkspace(FIXTURE, NOW)
  const conns = connlist(loaded.inventory, loaded.policySet, { now: NOW })
  it('loads cleanly', () => {
    expect(loaded.diagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
  })
  it.each(['txt', 'md', 'csv', 'json'] as const)('matches the %s golden file', async (format) => {
    await expect(formatConnlist(conns, format)).toMatchFileSnapshot(
      `../golden/policy/connlist-estate.${format}`,
    )
  })
  it('hand-checked lines', () => {
    const lines = formatConnlist(conns, 'txt').split('\n')
    // the except block 10.0.0.0/8 splits the internet; the /26 ping rule splits payments-psp
    expect(lines).toContain(
      '0.0.0.0-9.255.255.255[External] => shop/frontend[Deployment] : TCP 80,443',
    )
    expect(lines).toContain(
      '11.0.0.0-203.0.112.255[External] => shop/frontend[Deployment] : TCP 80,443',
    )
    expect(lines).toContain(
      'shop/cart[Deployment] => payments-psp(203.0.113.0-203.0.113.63)[External] : TCP 443,ICMP 8',
    )
    expect(lines).toContain(
      'shop/cart[Deployment] => payments-psp(203.0.113.64-203.0.113.127)[External] : TCP 443',
    )
    // the nested named external is its own entity, and not a destination of cart-to-psp
    expect(lines).toContain('psp-sandbox[External] => shop/frontend[Deployment] : TCP 80,443')
    expect(lines.some((l) => l.startsWith('shop/cart[Deployment] => psp-sandbox'))).toBe(false)
    // deny tcp/22 carves SSH out of `any`
    expect(lines).toContain(
      '10.9.0.0-10.9.255.255[External] => shop/redis[StatefulSet] : SCTP 0-65535,TCP 0-21,23-65535,UDP 0-65535,ICMP 0-255,ICMPv6 0-255,other protocols',
    )
    // old-batch holds no address at NOW: its `any` rule gives nothing
    expect(lines.some((l) => l.includes('old-batch'))).toBe(false)
    // no connection of a workload to itself, although `dns` allows {} -> dns
    expect(lines.some((l) => l.startsWith('shop/dns => shop/dns'))).toBe(false)
    // ... but on 2026-03-01 old-batch held its address
    const march = formatConnlist(
      connlist(loaded.inventory, loaded.policySet, { now: new Date('2026-03-01T00:00:00Z') }),
      'txt',
    )
    expect(march).toContain('old-batch => shop/cart[Deployment] : All Connections\n')
  })
})

/** Two dual-stack workloads `a` ({role: a}) and `b` ({role: b}). */
const DUAL_STACK: SourceFile = {
  path: 'inventory/hosts.yaml',
  text: `apiVersion: bulkhead.dev/v1
kind: Inventory
workloads:
  - { name: a, addresses: [10.0.0.1, "2001:db8::1"], labels: { role: a } }
  - { name: b, addresses: [10.0.0.2, "2001:db8::2"], labels: { role: b } }
`,
}

/** {@link DUAL_STACK} and one policy `p` of `rules` (YAML list items), loaded at NOW. */
function loadDualStack(rules: string): { inventory: Inventory; policySet: PolicySet } {
  const policy: SourceFile = {
    path: 'policy/p.yaml',
    text: `apiVersion: bulkhead.dev/v1
kind: Policy
metadata: { name: p, owner: t }
rules:
${rules}`,
  }
  const loaded = loadFromSources(defaultWorkspace('.'), [DUAL_STACK], [policy], NOW)
  expect(loaded.diagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
  return loaded
}

/** The connlist text lines of {@link loadDualStack}. */
function dualStackLines(rules: string): string[] {
  const { inventory, policySet } = loadDualStack(rules)
  return formatConnlist(connlist(inventory, policySet, { now: NOW }), 'txt')
    .split('\n')
    .filter((l) => l !== '')
}

describe('connlist of dual-stack workloads', () => {
  const lines = dualStackLines
  const allowAny = `  - { id: any, from: [{ role: a }], to: [{ role: b }], ports: [any] }\n`
  it('judges ICMP on the IPv4 address pair only (s11/hN D1)', () => {
    // the IPv6 pair allows every protocol number, 1 included, but no ICMP crosses IPv6; the
    // ICMP errors stay (allowed whatever the rules, and `any` names them)
    const denyIcmp4 = `  - { id: no-ping, action: deny, from: [{ cidr: 10.0.0.0/8 }], to: [{ role: b }], ports: [icmp] }\n`
    expect(lines(allowAny + denyIcmp4)).toEqual([
      'a => b : SCTP 0-65535,TCP 0-65535,UDP 0-65535,ICMP 0,3-5,11-12,14,16,18,ICMPv6 0-255,other protocols',
    ])
    const denyIcmp6 = `  - { id: no-ping6, action: deny, from: [{ cidr: "2001:db8::/64" }], to: [{ role: b }], ports: [icmpv6] }\n`
    expect(lines(allowAny + denyIcmp6)).toEqual([
      'a => b : SCTP 0-65535,TCP 0-65535,UDP 0-65535,ICMP 0-255,ICMPv6 0-127,129-136,143,other protocols',
    ])
  })
  it('still prints All Connections for `any`, and a family-bound ICMP rule as it is', () => {
    expect(lines(allowAny)).toEqual(['a => b : All Connections'])
    const ping6 = `  - { id: ping6, from: [{ role: a }], to: [{ role: b }], ports: [icmpv6/128] }\n`
    expect(lines(ping6)).toEqual(['a => b : ICMPv6 128'])
  })
})

describe('connlist and a deny of an ICMP type allowed whatever the rules (s35 review)', () => {
  // ICMP errors (related) and link control are allowed whatever a deny says (core
  // decidedWithoutRules), so such a deny has no effect and must not carve them out of a line
  const load = loadDualStack
  const lines = dualStackLines
  const rule = (id: string, action: string, ports: string): string =>
    `  - { id: ${id}, action: ${action}, from: [{ role: a }], to: [{ role: b }], ports: [${ports}] }\n`
  it('a deny of icmp/3 or icmpv6/1 leaves the allowed ICMP whole', () => {
    expect(lines(rule('ping', 'allow', 'icmp') + rule('no-unreach', 'deny', 'icmp/3'))).toEqual([
      'a => b : ICMP 0-255',
    ])
    expect(
      lines(rule('ping6', 'allow', 'icmpv6') + rule('no-unreach6', 'deny', 'icmpv6/1')),
    ).toEqual(['a => b : ICMPv6 0-255'])
    // neighbour discovery (icmpv6/135) is link control
    expect(lines(rule('all', 'allow', 'any') + rule('no-ns', 'deny', 'icmpv6/135'))).toEqual([
      'a => b : All Connections',
    ])
    // IGMP between IPv4 addresses is link control
    expect(lines(rule('all', 'allow', 'any') + rule('no-igmp', 'deny', 'proto/2'))).toEqual([
      'a => b : All Connections',
    ])
  })
  it('a deny of all ICMP under `any` keeps the ICMP errors and replies', () => {
    // replies: judged as the request they answer, in the other direction (s44 QA sem2 F1)
    expect(lines(rule('all', 'allow', 'any') + rule('no-icmp', 'deny', 'icmp'))).toEqual([
      'a => b : SCTP 0-65535,TCP 0-65535,UDP 0-65535,ICMP 0,3-5,11-12,14,16,18,ICMPv6 0-255,other protocols',
    ])
  })
  it('a rule naming only an ICMP reply type makes no line and takes nothing out of one (s44 QA sem2 F1)', () => {
    // an echo reply a -> b is judged as the echo request b -> a: no rule of a -> b decides it
    expect(lines(rule('pong', 'allow', 'icmp/0'))).toEqual([])
    expect(lines(rule('pong6', 'allow', 'icmpv6/129'))).toEqual([])
    expect(lines(rule('ping', 'allow', 'icmp') + rule('no-pong', 'deny', 'icmp/0'))).toEqual([
      'a => b : ICMP 0-255',
    ])
    expect(
      lines(rule('ping6', 'allow', 'icmpv6') + rule('no-pong6', 'deny', 'icmpv6/129')),
    ).toEqual(['a => b : ICMPv6 0-255'])
    // beside a connection, a reply type an allow rule names is listed, as an ICMP error is
    expect(lines(rule('web', 'allow', 'tcp/443') + rule('pong', 'allow', 'icmp/0'))).toEqual([
      'a => b : TCP 443,ICMP 0',
    ])
    // an ICMP error alone makes no line either
    expect(lines(rule('unreach', 'allow', 'icmp/3'))).toEqual([])
  })
  it('lists no ICMP error on a pair that no rule allows ICMP on (unchanged)', () => {
    expect(lines(rule('web', 'allow', 'tcp/443'))).toEqual(['a => b : TCP 443'])
    expect(lines(rule('web', 'allow', 'tcp/443') + rule('no-unreach', 'deny', 'icmp/3'))).toEqual([
      'a => b : TCP 443',
    ])
    expect(lines(rule('ping', 'allow', 'icmp/8'))).toEqual(['a => b : ICMP 8'])
  })
  it('lists every ICMP and ICMPv6 type that the evaluators allow and some allow rule names', () => {
    const rules = [
      rule('all', 'allow', 'any'),
      rule('no-icmp', 'deny', 'icmp/0-7'),
      rule('no-icmp6', 'deny', 'icmpv6/0-140'),
    ].join('')
    const { inventory: inv, policySet } = load(rules)
    const at = NOW.getTime()
    const index = PolicyIndex.build(inv, policySet, at)
    const rows = JSON.parse(formatConnlist(connlist(inv, policySet, { now: NOW }), 'json')) as {
      src: string
      dst: string
      conn: string
    }[]
    expect(rows.map((r) => `${r.src} => ${r.dst}`)).toEqual(['a => b'])
    const conn = rows[0]?.conn ?? ''
    for (const [protocol, src, dst] of [
      [1, '10.0.0.1', '10.0.0.2'],
      [58, '2001:db8::1', '2001:db8::2'],
    ] as const) {
      for (let type = 0; type < 256; type++) {
        const v = evaluate(inv, policySet, { src, dst, protocol, dstPort: type, at }, { now: at })
        expect(isAllowedCode(index.decide(src, dst, protocol, type, at))).toBe(
          v.decision === 'allowed',
        )
        // a reply type is listed where an allow rule names it, whatever a deny says, as an error is
        const want =
          (v.decision === 'allowed' || isIcmpReply(protocol, type)) && v.matched.allow.length > 0
        expect(connsHas(conn, protocol, type), `${protocol}/${type} in "${conn}"`).toBe(want)
      }
    }
  })
})

// --- np-guard's own outputs, re-rendered -------------------------------------------------------

const NP_GUARD = corpusPath('np-guard/test_outputs/connlist/')
const NAMES: Record<string, number> = { SCTP: 132, TCP: 6, UDP: 17 }

/** Parses np-guard's CONNS (SCTP/TCP/UDP only) into a ServiceSet. */
function parseNpGuardConns(text: string): ServiceSet {
  if (text === 'All Connections') return ServiceSet.ANY
  const services: Service[] = []
  let proto = -1
  for (const tok of text.split(',')) {
    const m = /^(?:([A-Z]+) )?(\d+)(?:-(\d+))?$/.exec(tok)
    if (!m) throw new Error(`cannot read "${tok}" in "${text}"`)
    if (m[1] !== undefined) proto = NAMES[m[1]] ?? -1
    const lo = Number(m[2])
    services.push(svc(proto, lo, m[3] === undefined ? lo : Number(m[3])))
  }
  return ServiceSet.of(services)
}

describe.skipIf(CORPUS_SKIP !== undefined)(
  corpusTitle('np-guard connlist outputs re-rendered'),
  () => {
    const files = corpusFiles('np-guard/test_outputs/connlist/')
    const txt = files.filter((f) => f.endsWith('.txt'))
    it("holds the 22 cases' text outputs", () => {
      expect(txt).toHaveLength(22)
    })
    it.each(txt)('%s', (f) => {
      const lines = readFileSync(NP_GUARD + f, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
      const conns = lines.map((l): Connection => {
        const m = /^(.*) => (.*) : (.*)$/.exec(l)
        if (!m) throw new Error(`not a connlist line: ${l}`)
        return {
          src: m[1] as string,
          dst: m[2] as string,
          services: parseNpGuardConns(m[3] as string),
        }
      })
      // same lines, in the same order: the sort and the CONNS spelling agree with np-guard's
      expect(formatConnlist([...conns].reverse(), 'txt')).toBe(lines.map((l) => `${l}\n`).join(''))
      const json = `${f.slice(0, -4)}.json`
      if (files.includes(json)) {
        expect(JSON.parse(formatConnlist(conns, 'json'))).toEqual(
          JSON.parse(readFileSync(NP_GUARD + json, 'utf8')),
        )
      }
    })
  },
)

// --- differential property test against the reference evaluator -------------------------------

/** Parses our CONNS text back into a membership test (an independent reading of the format). */
function connsHas(text: string, protocol: number, port: number): boolean {
  if (text === 'All Connections') return true
  const named: Record<string, number> = { SCTP: 132, TCP: 6, UDP: 17, ICMP: 1, ICMPv6: 58 }
  const listed = new Map<number, IntervalSet>()
  let other: { except: number[] } | undefined
  let proto = -1
  let mode: 'ports' | 'except' = 'ports'
  for (const tok of text.split(',')) {
    let rest = tok
    const other1 = /^other protocols(?: except (\d+))?$/.exec(tok)
    if (other1) {
      other = { except: other1[1] === undefined ? [] : [Number(other1[1])] }
      mode = 'except'
      continue
    }
    if (mode === 'except') {
      other?.except.push(Number(tok))
      continue
    }
    const head = /^(SCTP|TCP|UDP|ICMPv6|ICMP|proto-(\d+))(?: (.*))?$/.exec(tok)
    if (head) {
      proto = head[2] !== undefined ? Number(head[2]) : (named[head[1] as string] as number)
      if (head[3] === undefined) {
        listed.set(proto, IntervalSet.range(0, 65535))
        continue
      }
      rest = head[3]
    }
    const m = /^(\d+)(?:-(\d+))?$/.exec(rest)
    if (!m) throw new Error(`cannot read "${tok}" in "${text}"`)
    const r = IntervalSet.range(Number(m[1]), m[2] === undefined ? Number(m[1]) : Number(m[2]))
    listed.set(proto, (listed.get(proto) ?? IntervalSet.EMPTY).union(r))
  }
  const ports = listed.get(protocol)
  if (ports) return ports.has(port)
  if (Object.values(named).includes(protocol)) return false
  return other !== undefined && !other.except.includes(protocol)
}

/** Samples the services a random rule can tell apart (ports at the edges of serviceArb's). */
const SAMPLES: [number, number][] = [
  ...[0, 1, 22, 53, 79, 80, 81, 443, 444, 8000, 8100, 8101, 65535].map((p): [number, number] => [
    6,
    p,
  ]),
  ...[0, 53, 80, 65535].map((p): [number, number] => [17, p]),
  ...[0, 80, 443].map((p): [number, number] => [132, p]),
  [1, 0],
  [1, 8],
  [1, 14],
  [58, 128],
  [58, 129],
  [47, 0],
  // allowed whatever the rules (core decidedWithoutRules): ICMP errors, link control
  [1, 3],
  [1, 11],
  [58, 1],
  [58, 8],
  [58, 135],
  [2, 0],
]

/** Unmanaged probe addresses inside a range entity (other than the one it is judged by). */
function rangeProbes(
  e: ConnlistEntity,
  held: ReadonlySet<string>,
  probes: readonly IpAddress[],
): string[] {
  const out = new Set<string>()
  for (const r of e.ranges ?? []) {
    const inside = probes.filter((p) => p.family === r.family).map((p) => p.value)
    for (const v of [r.first, r.last, (r.first + r.last) / 2n, ...inside]) {
      if (v < r.first || v > r.last) continue
      const ip = formatIp({ family: r.family, value: v })
      if (!held.has(ip)) out.add(ip)
    }
  }
  return [...out]
}

function possible(a: string, b: string, protocol: number): boolean {
  const v4 = !a.includes(':')
  if (v4 !== !b.includes(':')) return false
  return !((v4 && protocol === 58) || (!v4 && protocol === 1)) // cannot occur
}

/**
 * Checks one estate: (1) for every ordered pair of distinct entities and sampled service, the
 * line lists the service iff the evaluator allows it from some address of the source to some
 * address of the destination (a range judged by its representative address); (2) every probe
 * address inside a range gets the same verdicts as the representative, to and from every
 * workload address, so the representative stands for the whole range.
 */
function check(inventory: Inventory, policySet: PolicySet, at: number): void {
  const now = new Date(at)
  const entities = connlistEntities(inventory, policySet, { now }).filter(
    (e) => e.addresses.length > 0,
  )
  const parsed = JSON.parse(formatConnlist(connlist(inventory, policySet, { now }), 'json')) as {
    src: string
    dst: string
    conn: string
  }[]
  const rows = new Map(parsed.map((r) => [`${r.src}\u0000${r.dst}`, r.conn]))
  // listed: allowed, by a rule or as link control or an ICMP error that some allow rule names.
  // Those two are allowed whatever the rules (a deny naming them has no effect), but are listed
  // only where a rule names them, and only on a line that has some service the rules allow
  // (`byRule`: an allow rule and no deny rule matches), so that they are no connections of
  // their own
  const verdict = (a: string, b: string, protocol: number, dstPort: number) =>
    evaluate(inventory, policySet, { src: a, dst: b, protocol, dstPort, at }, { now: at })
  // ICMP reply types likewise: judged as the request they answer (core judgedAsReply), no rule
  // naming them decides a flow, so they are listed where an allow rule names them, whatever a
  // deny says, and never make a line alone (core NO_CONNECTION_SERVICES)
  const allowed = (a: string, b: string, protocol: number, dstPort: number): boolean => {
    const v = verdict(a, b, protocol, dstPort)
    const reply = isIcmpReply(protocol, dstPort) && possible(a, b, protocol)
    return (v.decision === 'allowed' || reply) && v.matched.allow.length > 0
  }
  const byRule = (a: string, b: string, protocol: number, dstPort: number): boolean => {
    const v = verdict(a, b, protocol, dstPort)
    const family = a.includes(':') ? 6 : 4
    if (NO_CONNECTION_SERVICES[family].has(protocol, dstPort)) return false
    return v.matched.allow.length > 0 && v.matched.deny.length === 0
  }
  for (const src of entities) {
    for (const dst of entities) {
      const conn = rows.get(`${src.name}\u0000${dst.name}`)
      if (src === dst) {
        expect(conn).toBeUndefined()
        continue
      }
      for (const [protocol, port] of SAMPLES) {
        let any = false
        let can = false
        for (const a of src.addresses) {
          for (const b of dst.addresses) {
            if (!possible(a, b, protocol)) continue
            can = true
            if (allowed(a, b, protocol, port)) any = true
            if (conn === undefined && byRule(a, b, protocol, port)) {
              throw new Error(
                `${src.name} => ${dst.name}: no line, but the rules allow ${a} -> ${b} ${protocol}/${port}`,
              )
            }
          }
        }
        if (!can) continue
        const listed = conn !== undefined && connsHas(conn, protocol, port)
        if (listed !== (conn !== undefined && any)) {
          throw new Error(
            `${src.name} (${src.addresses.join(' ')}) => ${dst.name} (${dst.addresses.join(' ')}) ${protocol}/${port}: evaluator says ${any ? 'allowed' : 'denied'}, connlist says "${conn ?? '(no line)'}"`,
          )
        }
      }
    }
  }
  // (2) ranges are homogeneous
  const workloadAddrs = entities.filter((e) => e.kind === 'workload').flatMap((e) => e.addresses)
  const held = new Set(workloadAddrs)
  const probes: IpAddress[] = ALL_IPS.map((ip) => parseIp(ip) as IpAddress)
  const blocks = [
    ...policySet.policies.flatMap((p) =>
      p.rules
        .flatMap((r) => [...r.from, ...r.to])
        .flatMap((s) => (s.kind === 'cidr' ? [s.cidr, ...s.except] : [])),
    ),
    ...inventory.externals.map((x) => x.cidr),
  ]
  for (const c of blocks) {
    const { first, last } = cidrRange(c)
    const top = (1n << BigInt(familyBits(c.family))) - 1n
    for (const v of [first - 1n, first, first + 1n, last - 1n, last, last + 1n]) {
      if (v >= 0n && v <= top) probes.push({ family: c.family, value: v })
    }
  }
  for (const e of entities) {
    if (e.kind === 'workload') continue
    const rep = e.addresses[0] as string
    for (const p of rangeProbes(e, held, probes)) {
      for (const w of workloadAddrs) {
        for (const [protocol, port] of SAMPLES) {
          if (!possible(p, w, protocol)) continue
          for (const [a, b, ra, rb] of [
            [p, w, rep, w],
            [w, p, w, rep],
          ] as const) {
            if (
              allowed(a, b, protocol, port) !== allowed(ra, rb, protocol, port) ||
              byRule(a, b, protocol, port) !== byRule(ra, rb, protocol, port)
            ) {
              throw new Error(
                `${e.name}: ${a} -> ${b} ${protocol}/${port} is judged unlike ${ra} -> ${rb}`,
              )
            }
          }
        }
      }
    }
  }
}

/** Services of ICMP types and IGMP that are allowed whatever the rules (core decidedWithoutRules). */
const RULELESS_SERVICES: Service[] = [
  svc(1, 3),
  svc(1, 0, 15),
  svc(58, 1),
  svc(58, 0, 140),
  svc(58, 135),
  svc(2, 0, 65535),
]

/**
 * Policy sets with deny rules that have no effect: policySetArb's (whose ICMP types are mostly
 * ones the rules decide, and whose deny rules mostly name TCP, UDP or `any`) with one more
 * policy, unscoped, whose deny rule from and to anything names only ICMP error or link-control
 * types, so that it meets every allow rule.
 */
const rulelessPolicySetArb: fc.Arbitrary<PolicySet> = fc
  .tuple(policySetArb, fc.subarray(RULELESS_SERVICES, { minLength: 1, maxLength: 2 }))
  .map(([ps, services]) => ({
    ...ps,
    policies: [
      ...ps.policies,
      {
        name: 'p9',
        owner: 'team',
        scope: labelSet(),
        rules: [
          {
            id: 'no-effect',
            action: 'deny' as const,
            from: [{ kind: 'any' as const }],
            to: [{ kind: 'any' as const }],
            services,
            emergency: false,
          },
        ],
        file: 'p9.yaml',
      },
    ],
  }))

describe('connlist agrees with the reference evaluator', () => {
  it.each([
    ['on random small estates (fixed seed)', policySetArb],
    [
      'on random small estates with a no-effect deny of ICMP errors or link control (fixed seed)',
      rulelessPolicySetArb,
    ],
  ] as const)(
    '%s',
    (_title, setArb) => {
      fc.assert(
        fc.property(inventoryArb, setArb, fc.constantFrom(...TIMES), (inv, ps, at) => {
          check(inv, ps, at)
        }),
        { seed: SEED, numRuns: 30 },
      )
    },
    120_000,
  )
  it('on the fixture estate', async () => {
    const loaded = await loadWorkspace(FIXTURE, NOW)
    check(loaded.inventory, loaded.policySet, NOW.getTime())
  })
})
