/**
 * @module fast-check arbitraries for the model: inventories, selectors, rules, policy sets,
 * flow tuples. Small universes on purpose, so random flows hit random rules often.
 */
import fc from 'fast-check'
import {
  labelSet,
  parseCidr,
  type Cidr,
  type EnforcementEntry,
  type EnforcementMode,
  type FlowTuple,
  type Inventory,
  type LabelExpression,
  type Policy,
  type PolicySet,
  type Rule,
  type Selector,
  type Service,
  type TimedAddress,
  type Workload,
} from '../../src/core/index.js'

export const LABEL_VALUES = {
  role: ['web', 'api', 'db', 'batch'],
  app: ['shop', 'pay'],
  env: ['prod', 'dev'],
} as const
type Key = keyof typeof LABEL_VALUES
const KEYS = Object.keys(LABEL_VALUES) as Key[]

/** Addresses workloads may hold: 16 IPv4 in 10.0.0.0/28 and 8 IPv6 in 2001:db8::/125. */
export const V4 = Array.from({ length: 16 }, (_, i) => `10.0.0.${i}`)
export const V6 = Array.from({ length: 8 }, (_, i) => `2001:db8::${i.toString(16)}`)
/** Addresses outside every workload: flows to these resolve to externals or unmanaged. */
export const OUTSIDE = ['198.51.100.7', '198.51.100.200', '203.0.113.5', '2001:db8:ffff::1']
export const ALL_IPS = [...V4, ...V6, ...OUTSIDE]

const T0 = Date.UTC(2026, 9, 1)
const DAY = 86_400_000
/** Times used by flows and address validity: day 0 … day 9 of October 2026. */
export const TIMES = Array.from({ length: 10 }, (_, i) => T0 + i * DAY)

const CIDRS = [
  '10.0.0.0/28',
  '10.0.0.0/29',
  '10.0.0.8/29',
  '10.0.0.4/30',
  '10.0.0.0/8',
  '0.0.0.0/0',
  '198.51.100.0/24',
  '198.51.100.0/25',
  '2001:db8::/125',
  '2001:db8::/126',
  '::/0',
  '2001:db8::4/127',
].map((t) => parseCidr(t) as Cidr)

export const labelsArb = fc
  .record({
    role: fc.option(fc.constantFrom(...LABEL_VALUES.role), { nil: undefined }),
    app: fc.option(fc.constantFrom(...LABEL_VALUES.app), { nil: undefined }),
    env: fc.option(fc.constantFrom(...LABEL_VALUES.env), { nil: undefined }),
  })
  .map((r) =>
    labelSet(
      Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as Record<
        string,
        string
      >,
    ),
  )

/** An inventory of 1–12 workloads with distinct names and (at any time) distinct addresses. */
export const inventoryArb: fc.Arbitrary<Inventory> = fc
  .uniqueArray(fc.constantFrom(...V4, ...V6), { minLength: 1, maxLength: 14 })
  .chain((ips) =>
    fc.tuple(
      fc.constant(ips),
      fc.array(labelsArb, { minLength: ips.length, maxLength: ips.length }),
      fc.array(
        fc.option(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 1, max: 9 })), {
          freq: 3,
          nil: undefined,
        }),
        { minLength: ips.length, maxLength: ips.length },
      ),
      fc.integer({ min: 1, max: 12 }),
      fc.boolean(),
    ),
  )
  .map(([ips, labels, windows, nWorkloads, withExternal]) => {
    // assign addresses round-robin to workloads; an address holds for the whole time or a window
    const n = Math.min(nWorkloads, ips.length)
    const addrs: { ip: string; from?: number; to?: number }[][] = Array.from(
      { length: n },
      () => [],
    )
    ips.forEach((ip, i) => {
      const w = windows[i]
      const a = w
        ? {
            ip,
            from: TIMES[Math.min(w[0], 9)] as number,
            to: (TIMES[Math.min(w[0], 9)] as number) + w[1] * DAY,
          }
        : { ip }
      addrs[i % n]?.push(a)
    })
    const workloads: Workload[] = addrs.map((a, i) => ({
      name: `w${i}`,
      addresses: a,
      labels: labels[i] ?? labelSet(),
    }))
    return {
      workloads,
      externals: withExternal
        ? [
            {
              name: 'partner',
              cidr: parseCidr('198.51.100.0/24') as Cidr,
              labels: labelSet({ role: 'partner' }),
            },
            {
              name: 'partner-half',
              cidr: parseCidr('198.51.100.128/25') as Cidr,
              labels: labelSet(),
            },
          ]
        : [],
      labelRules: [],
    }
  })

const expressionArb: fc.Arbitrary<LabelExpression> = fc.constantFrom(...KEYS).chain((key) =>
  fc.oneof(
    fc.record({
      key: fc.constant(key),
      operator: fc.constantFrom('In' as const, 'NotIn' as const),
      values: fc.uniqueArray(fc.constantFrom(...LABEL_VALUES[key]), {
        minLength: 1,
        maxLength: 2,
      }),
    }),
    fc.record({
      key: fc.constant(key),
      operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const),
      values: fc.constant([] as string[]),
    }),
  ),
)

export const selectorArb: fc.Arbitrary<Selector> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('labels' as const),
      match: labelsArb,
      expressions: fc.array(expressionArb, { maxLength: 2 }),
      global: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('workload' as const),
      name: fc.constantFrom('w0', 'w1', 'w2', 'w3'),
      global: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('external' as const),
      name: fc.constantFrom('partner', 'partner-half'),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(...CIDRS).chain((cidr) => {
      const inner = CIDRS.filter((c) => c.family === cidr.family && c.prefix > cidr.prefix)
      return fc.record({
        kind: fc.constant('cidr' as const),
        cidr: fc.constant(cidr),
        except: fc.subarray(inner, { maxLength: Math.min(2, inner.length) }),
      })
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'any' as const }) },
)

/** Ports drawn from a few values around the edges that matter. */
export const PORTS = [0, 1, 22, 53, 79, 80, 81, 443, 8000, 8100, 65535]
export const serviceArb: fc.Arbitrary<Service> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ protocol: 'any' as const }) },
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.constantFrom(6, 17, 132), fc.constantFrom(...PORTS), fc.constantFrom(...PORTS))
      .map(([protocol, a, b]) => ({ protocol, ports: { lo: Math.min(a, b), hi: Math.max(a, b) } })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(1, 58), fc.constantFrom(0, 8, 128, 135, 255))
      .map(([protocol, t]) => ({ protocol, ports: { lo: t, hi: t } })),
  },
)

export const ruleArb = (id: string): fc.Arbitrary<Rule> =>
  fc
    .record({
      id: fc.constant(id),
      action: fc.constantFrom('allow' as const, 'allow' as const, 'deny' as const),
      from: fc.array(selectorArb, { minLength: 1, maxLength: 2 }),
      to: fc.array(selectorArb, { minLength: 1, maxLength: 2 }),
      services: fc.array(serviceArb, { minLength: 1, maxLength: 2 }),
      emergency: fc.constant(false),
      expires: fc.option(fc.constantFrom(...TIMES), { freq: 4, nil: undefined }),
    })
    .map((r) => (r.expires === undefined ? (({ expires: _e, ...rest }) => rest)(r) : r) as Rule)

export const policyArb = (name: string): fc.Arbitrary<Policy> =>
  fc
    .tuple(fc.option(labelsArb, { freq: 2, nil: undefined }), fc.integer({ min: 0, max: 5 }))
    .chain(([scope, n]) =>
      fc.tuple(
        fc.constant(scope),
        fc.tuple(...Array.from({ length: n }, (_, i) => ruleArb(`r${i}`))),
      ),
    )
    .map(([scope, rules]) => ({
      name,
      owner: 'team',
      scope: scope ?? labelSet(),
      rules,
      file: `${name}.yaml`,
    }))

const modeArb = fc.constantFrom<EnforcementMode>('observe', 'monitor', 'enforce')
export const enforcementArb: fc.Arbitrary<EnforcementEntry[]> = fc.array(
  fc.record({ selector: selectorArb, mode: modeArb }),
  { maxLength: 3 },
)

/**
 * Enforcement entries that give most estates a mix of modes (first match wins, unmatched
 * workloads `observe`): either one entry per workload name `w0`…`w11` with a random mode, or 1–4
 * entries mostly on one label pair (`{role: db}`), some on any selector.
 */
export const enforcementMixArb: fc.Arbitrary<EnforcementEntry[]> = fc.oneof(
  fc.array(modeArb, { minLength: 12, maxLength: 12 }).map((modes) =>
    modes.map((mode, i): EnforcementEntry => ({
      selector: { kind: 'workload', name: `w${i}`, global: true },
      mode,
    })),
  ),
  fc.array(
    fc.record({
      selector: fc.oneof(
        {
          weight: 3,
          arbitrary: fc.constantFrom(...KEYS).chain((key) =>
            fc.constantFrom(...LABEL_VALUES[key]).map((value): Selector => ({
              kind: 'labels',
              match: labelSet({ [key]: value }),
              expressions: [],
              global: true,
            })),
          ),
        },
        { weight: 1, arbitrary: selectorArb },
      ),
      mode: modeArb,
    }),
    { minLength: 1, maxLength: 4 },
  ),
)

export const policySetArb: fc.Arbitrary<PolicySet> = fc
  .tuple(fc.integer({ min: 0, max: 3 }), enforcementArb)
  .chain(([n, enforcement]) =>
    fc.tuple(
      fc.tuple(...Array.from({ length: n }, (_, i) => policyArb(`p${i}`))),
      fc.constant(enforcement),
    ),
  )
  .map(([policies, enforcement]) => ({ policies, enforcement }))

export const tupleArb: fc.Arbitrary<FlowTuple> = fc
  .tuple(
    fc.constantFrom(...ALL_IPS),
    fc.constantFrom(...ALL_IPS),
    fc.constantFrom(6, 6, 17, 1, 58, 132, 47, 2),
    fc.constantFrom(...PORTS, 8, 128, 135),
    fc.constantFrom(...TIMES),
    fc.constantFrom(...PORTS),
  )
  .map(([src, dst, protocol, dstPort, at, srcPort]) => ({
    src,
    dst,
    protocol,
    // GRE and IGMP carry no ports: ingest gives their flows dstPort 0
    dstPort:
      protocol === 1 || protocol === 58
        ? dstPort % 256
        : protocol === 47 || protocol === 2
          ? 0
          : dstPort,
    srcPort,
    at,
  }))

/**
 * Group destinations (README "Limits": a multicast group or the broadcast is judged at the
 * sender's egress and at every receiver's ingress): mDNS, SSDP, the IPv4 limited broadcast and
 * IPv6 mDNS.
 */
export const GROUPS = ['224.0.0.251', '239.255.255.250', '255.255.255.255', 'ff02::fb']

/**
 * Flow tuples to a group ({@link GROUPS}) from any address of {@link ALL_IPS}, mostly UDP (what
 * groups carry), some TCP and ICMP.
 */
export const groupTupleArb: fc.Arbitrary<FlowTuple> = fc
  .tuple(
    fc.constantFrom(...ALL_IPS),
    fc.constantFrom(...GROUPS),
    fc.constantFrom(17, 17, 17, 6, 1, 58, 2),
    fc.constantFrom(...PORTS, 5353, 1900),
    fc.constantFrom(...TIMES),
    fc.constantFrom(...PORTS),
  )
  .map(([src, dst, protocol, dstPort, at, srcPort]) => ({
    src,
    dst,
    protocol,
    dstPort: protocol === 1 || protocol === 58 ? dstPort % 256 : protocol === 2 ? 0 : dstPort,
    srcPort,
    at,
  }))

/** Fixed seed for every property test; override with FC_SEED to explore. */
export const SEED = Number(process.env.FC_SEED ?? 20261122)

/**
 * `inventory` with the addresses of workload `name` set by `addresses` (given its current ones);
 * the other workloads as they are.
 */
export function withAddresses(
  inventory: Inventory,
  name: string,
  addresses: (current: readonly TimedAddress[]) => readonly TimedAddress[],
): Inventory {
  return {
    ...inventory,
    workloads: inventory.workloads.map((w) =>
      w.name === name ? { ...w, addresses: addresses(w.addresses) } : w,
    ),
  }
}

/**
 * `ps` with policy `name` replaced by `policy`, or removed when `policy` is undefined; the
 * policies kept sorted by name (code-unit order), as `PolicyIndex.updatePolicy` expects the
 * policy set to look after the same update.
 */
export function withPolicy(ps: PolicySet, name: string, policy: Policy | undefined): PolicySet {
  const rest = ps.policies.filter((p) => p.name !== name)
  const policies = policy
    ? [...rest, policy].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    : rest
  return { ...ps, policies }
}
