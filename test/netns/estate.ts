/**
 * @module Small random test estates for the kernel harness: 3–5 workloads with addresses in
 * 10.77.0.0/16 and fd77::/64 only, label, workload, CIDR and `any` selectors, allow and deny
 * rules over the services the listeners serve; plus the (source, destination, service) pairs to
 * probe, each with the reference verdict.
 */
import fc from 'fast-check'
import {
  labelSet,
  parseCidr,
  type Cidr,
  type EnforcementMode,
  type Inventory,
  type Outcome,
  type Policy,
  type PolicySet,
  type Rule,
  type Selector,
  type Service,
  type Workload,
} from '../../src/core/index.js'
import { evaluate } from '../../src/policy/evaluate.js'
import { lbl } from '../compile/two-hosts.js'
import { labelsArb } from '../helpers/model.js'
import type { LabHost, ProbeTarget } from './harness.js'

/** Ports the listeners serve and the probes try. */
export const LISTEN = { tcp: [22, 80, 443, 8080], udp: [53, 5000] } as const

const CIDRS = [
  '10.77.0.0/16',
  '10.77.0.0/24',
  '10.77.1.0/24',
  '10.77.0.0/30',
  '10.77.0.4/30',
  '0.0.0.0/0',
  'fd77::/64',
  'fd77::/126',
  '::/0',
].map((t) => parseCidr(t) as Cidr)

const SERVICES: Service[] = [
  { protocol: 6, ports: { lo: 80, hi: 80 } },
  { protocol: 6, ports: { lo: 443, hi: 443 } },
  { protocol: 6, ports: { lo: 8000, hi: 8100 } },
  { protocol: 6, ports: { lo: 0, hi: 65535 } },
  { protocol: 6, ports: { lo: 22, hi: 22 } },
  { protocol: 17, ports: { lo: 53, hi: 53 } },
  { protocol: 17, ports: { lo: 5000, hi: 5000 } },
  { protocol: 'any' },
]

/** A test estate: inventory, policy set (modes filled in later) and the hosts of its lab. */
export interface Estate {
  readonly inventory: Inventory
  readonly policies: readonly Policy[]
  readonly hosts: readonly LabHost[]
}

const selectorArb = (n: number): fc.Arbitrary<Selector> =>
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('labels' as const),
        match: labelsArb,
        expressions: fc.constant([]),
        global: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('labels' as const),
        match: fc.constant(labelSet()),
        expressions: fc.constantFrom(
          [{ key: 'env', operator: 'NotIn' as const, values: ['dev'] }],
          [{ key: 'role', operator: 'Exists' as const, values: [] }],
        ),
        global: fc.boolean(),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('workload' as const),
        name: fc.integer({ min: 0, max: n - 1 }).map((i) => `h${i}`),
        global: fc.boolean(),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(...CIDRS).chain((cidr) => {
        const inner = CIDRS.filter(
          (c) => c.family === cidr.family && c.prefix > cidr.prefix && c.text !== cidr.text,
        )
        return fc.record({
          kind: fc.constant('cidr' as const),
          cidr: fc.constant(cidr),
          except: fc.subarray(inner, { maxLength: Math.min(1, inner.length) }),
        })
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'any' as const }) },
  )

const ruleArb = (n: number, id: string): fc.Arbitrary<Rule> =>
  fc.record({
    id: fc.constant(id),
    action: fc.constantFrom('allow' as const, 'allow' as const, 'allow' as const, 'deny' as const),
    from: fc.array(selectorArb(n), { minLength: 1, maxLength: 2 }),
    to: fc.array(selectorArb(n), { minLength: 1, maxLength: 2 }),
    services: fc.subarray(SERVICES, { minLength: 1, maxLength: 3 }),
    emergency: fc.constant(false),
  })

/** Random estates of 3–5 workloads; each has one IPv4 address, maybe a second, maybe an IPv6 one. */
export const estateArb: fc.Arbitrary<Estate> = fc.integer({ min: 3, max: 5 }).chain((n) =>
  fc
    .tuple(
      fc.array(fc.tuple(labelsArb, fc.boolean(), fc.boolean()), { minLength: n, maxLength: n }),
      fc.array(
        fc.tuple(
          fc.option(labelsArb, { freq: 2, nil: undefined }),
          fc
            .integer({ min: 1, max: 4 })
            .chain((k) => fc.tuple(...Array.from({ length: k }, (_, i) => ruleArb(n, `r${i}`)))),
        ),
        { minLength: 1, maxLength: 2 },
      ),
    )
    .map(([ws, pols]) => {
      const workloads: Workload[] = ws.map(([labels, second, v6], i) => ({
        name: `h${i}`,
        labels,
        addresses: [
          { ip: `10.77.0.${i + 1}` },
          ...(second ? [{ ip: `10.77.1.${i + 1}` }] : []),
          ...(v6 ? [{ ip: `fd77::${i + 1}` }] : []),
        ],
      }))
      const policies: Policy[] = pols.map(([scope, rules], i) => ({
        name: `p${i}`,
        owner: 'team',
        scope: scope ?? labelSet(),
        rules,
        file: `p${i}.yaml`,
      }))
      // a fixed deny that overlaps many random allows (tcp/443 from h0–h2's first addresses),
      // so that every estate has flows where deny beats allow
      policies.push({
        name: 'zz-guard',
        owner: 'team',
        scope: labelSet(),
        file: 'zz-guard.yaml',
        rules: [
          {
            id: 'no-443-from-low',
            action: 'deny',
            emergency: false,
            from: [{ kind: 'cidr', cidr: parseCidr('10.77.0.0/30') as Cidr, except: [] }],
            to: [{ kind: 'any' }],
            services: [{ protocol: 6, ports: { lo: 443, hi: 443 } }],
          },
        ],
      })
      return {
        inventory: { workloads, externals: [], labelRules: [] },
        policies,
        hosts: workloads.map((w) => ({ name: w.name, addresses: w.addresses.map((a) => a.ip) })),
      }
    }),
)

/** The estate's policy set with each workload in its own mode (by name, in host order). */
export function withModes(e: Estate, modes: readonly EnforcementMode[]): PolicySet {
  return {
    policies: e.policies,
    enforcement: e.hosts.map((h, i) => ({
      selector: { kind: 'workload' as const, name: h.name, global: true },
      mode: modes[i % modes.length] ?? 'observe',
    })),
  }
}

/** The estate's policy set with every workload in `mode`. */
export function withMode(e: Estate, mode: EnforcementMode): PolicySet {
  return { policies: e.policies, enforcement: [{ selector: { kind: 'any' }, mode }] }
}

/** One probe: from a host to a target, with the reference verdict. */
export interface Probe extends ProbeTarget {
  readonly src: string
  readonly srcIp: string
  readonly dstHost: string
  readonly allowed: boolean
  /** Enforcement modes of the source and destination, and the reference outcome. */
  readonly srcMode: EnforcementMode
  readonly dstMode: EnforcementMode
  readonly outcome: Outcome
  /** A deny rule decided it although some allow rule matched (deny beats allow). */
  readonly denyOverAllow: boolean
}

/**
 * Every (source workload, destination workload address, listened service) with the source's
 * first address of the same family as the source address the kernel will pick (hosts have one
 * IPv4 subnet, so the kernel picks the primary, first-added address).
 */
export function probesOf(e: Estate, policySet: PolicySet, at: number): Probe[] {
  const out: Probe[] = []
  for (const { src, srcIp, dstHost, dst } of addressPairs(e)) {
    for (const proto of ['tcp', 'udp'] as const) {
      for (const port of LISTEN[proto]) {
        const v = evaluate(e.inventory, policySet, {
          src: srcIp,
          dst,
          protocol: proto === 'tcp' ? 6 : 17,
          dstPort: port,
          at,
        })
        out.push({
          src,
          srcIp,
          dstHost,
          dst,
          proto,
          port,
          allowed: v.decision === 'allowed',
          srcMode: v.srcMode,
          dstMode: v.dstMode,
          outcome: v.outcome,
          denyOverAllow:
            typeof v.by !== 'string' && v.by.action === 'deny' && v.matched.allow.length > 0,
        })
      }
    }
  }
  return out
}

/**
 * Every (source host, destination host address) of distinct hosts, with the source's first
 * address of the destination's family: the one the kernel picks, since hosts have one IPv4
 * subnet and add their primary address first. Pairs whose source has no such address are left
 * out.
 */
export function* addressPairs(
  e: Estate,
): Generator<{ src: string; srcIp: string; dstHost: string; dst: string }> {
  for (const s of e.hosts) {
    for (const d of e.hosts) {
      if (s.name === d.name) continue
      for (const dst of d.addresses) {
        const v6 = dst.includes(':')
        const srcIp = s.addresses.find((a) => a.includes(':') === v6)
        if (srcIp !== undefined) yield { src: s.name, srcIp, dstHost: d.name, dst }
      }
    }
  }
}

/**
 * The estate of the atomic-replacement tests: host `a` (10.77.0.1, role web) and `b` (10.77.0.2,
 * role api), every workload enforced, and the policy version that allows web → api on the TCP
 * `ports` given.
 */
/** `web → api` on `protocol` and each of `ports`, every workload enforced. */
function reapplyEstateWith(protocol: number, ...ports: readonly number[]): PolicySet {
  return {
    policies: [
      {
        name: 'p',
        owner: 'o',
        scope: labelSet(),
        file: 'p.yaml',
        rules: [
          {
            id: 'web-to-api',
            action: 'allow',
            emergency: false,
            from: [lbl({ role: 'web' })],
            to: [lbl({ role: 'api' })],
            services: ports.map((p) => ({ protocol, ports: { lo: p, hi: p } })),
          },
        ],
      },
    ],
    enforcement: [{ selector: { kind: 'any' }, mode: 'enforce' }],
  }
}

export const reapplyEstate = {
  hosts: [
    { name: 'a', addresses: ['10.77.0.1'] },
    { name: 'b', addresses: ['10.77.0.2'] },
  ] as const satisfies readonly LabHost[],
  inventory: {
    workloads: [
      { name: 'a', addresses: [{ ip: '10.77.0.1' }], labels: labelSet({ role: 'web' }) },
      { name: 'b', addresses: [{ ip: '10.77.0.2' }], labels: labelSet({ role: 'api' }) },
    ],
    externals: [],
    labelRules: [],
  } satisfies Inventory,
  version(ports: readonly number[]): PolicySet {
    return reapplyEstateWith(6, ...ports)
  },
}

/**
 * Two enforced dual-stack hosts for the ICMP error check: `a` (web) may send `udp/5353` to `b`
 * (api), where nothing listens, so `b`'s kernel answers with a port unreachable (ICMP type 3,
 * ICMPv6 type 1), which no rule allows from `b` to `a`: it passes only as related traffic.
 */
export const icmpErrorEstate = {
  hosts: [
    { name: 'a', addresses: ['10.77.2.1', 'fd77:2::1'] },
    { name: 'b', addresses: ['10.77.2.2', 'fd77:2::2'] },
  ] as const satisfies readonly LabHost[],
  port: 5353,
  inventory: {
    workloads: [
      {
        name: 'a',
        addresses: [{ ip: '10.77.2.1' }, { ip: 'fd77:2::1' }],
        labels: labelSet({ role: 'web' }),
      },
      {
        name: 'b',
        addresses: [{ ip: '10.77.2.2' }, { ip: 'fd77:2::2' }],
        labels: labelSet({ role: 'api' }),
      },
    ],
    externals: [],
    labelRules: [],
  } satisfies Inventory,
  policySet: reapplyEstateWith(17, 5353),
}
