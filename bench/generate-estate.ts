/**
 * @module Seeded synthetic estates for the evaluator benchmark: an inventory of labelled
 * workloads, a policy set grouped by app, and pre-generated flow tuples. Same seed, same estate.
 *
 * Workloads carry `app × role × env × loc` labels (each app uses 4 of 8 roles, 2 of 3 envs and
 * 2 of 4 locs, so 100 000 workloads have a few thousand identities); app `a` lives in
 * 10.a.0.0/16 (10 % of workloads also have an IPv6 address, 1 % get their address only from
 * 06:00). Rules are mostly label-to-label allows inside an app's scope on one or two common
 * ports, plus cross-app, CIDR (with `except`), egress, named-external, workload-name and deny
 * rules, and a few expiring ones.
 */
import {
  labelSet,
  normalizeIp,
  parseCidr,
  parseService,
  type Cidr,
  type EnforcementEntry,
  type External,
  type Inventory,
  type Policy,
  type PolicySet,
  type Rule,
  type Selector,
  type Service,
  type TimedAddress,
  type Workload,
} from '../src/core/index.js'
import { mulberry32 } from './generate.js'

/** Start of the benchmark day, ms since the epoch (2026-11-01T00:00:00Z). */
export const DAY0 = Date.UTC(2026, 10, 1)
const HOUR = 3_600_000

const ROLES = ['web', 'api', 'db', 'cache', 'batch', 'queue', 'worker', 'lb'] as const
const ENVS = ['prod', 'staging', 'dev'] as const
const LOCS = ['eu-west-1', 'eu-central-1', 'us-east-1', 'ap-south-1'] as const
/** Services rules use; flows mostly use these too. */
export const SERVICE_POOL: readonly string[] = [
  'tcp/443',
  'tcp/80',
  'tcp/8080',
  'tcp/8443',
  'tcp/5432',
  'tcp/3306',
  'tcp/6379',
  'tcp/9092',
  'tcp/9200',
  'tcp/27017',
  'tcp/22',
  'udp/53',
  'udp/123',
  'tcp/8000-8100',
  'icmp/8',
]

const svc = (t: string): Service => parseService(t) as Service
const cidr = (t: string): Cidr => parseCidr(t) as Cidr

/** One app: its label choices and its workloads (indices into the inventory). */
interface App {
  readonly name: string
  readonly roles: readonly string[]
  readonly envs: readonly string[]
  readonly locs: readonly string[]
  readonly members: number[]
}

/** A synthetic inventory and what the policy and flow generators need to know about it. */
export interface Estate {
  readonly inventory: Inventory
  readonly apps: readonly App[]
  /** Public addresses used as unmanaged flow peers. */
  readonly outside: readonly string[]
}

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)] as T
}

function choose<T>(rnd: () => number, xs: readonly T[], n: number): T[] {
  const copy = [...xs]
  const out: T[] = []
  while (out.length < n && copy.length > 0)
    out.push(copy.splice(Math.floor(rnd() * copy.length), 1)[0] as T)
  return out
}

/** The inventory of `n` workloads (at most 250 apps, one /16 each). */
export function generateEstate(n: number, seed = 7): Estate {
  const rnd = mulberry32(seed)
  const appCount = Math.min(250, Math.max(4, Math.round(n / 400)))
  const apps: App[] = Array.from({ length: appCount }, (_, a) => ({
    name: `app${String(a).padStart(3, '0')}`,
    roles: choose(rnd, ROLES, 4),
    envs: choose(rnd, ENVS, 2),
    locs: choose(rnd, LOCS, 2),
    members: [],
  }))
  const workloads: Workload[] = []
  for (let i = 0; i < n; i++) {
    const a = i % appCount
    const app = apps[a] as App
    const j = Math.floor(i / appCount)
    const addresses: TimedAddress[] = [
      rnd() < 0.01
        ? { ip: `10.${a + 1}.${j >> 8}.${j & 255}`, from: DAY0 + 6 * HOUR }
        : { ip: `10.${a + 1}.${j >> 8}.${j & 255}` },
    ]
    if (rnd() < 0.1)
      addresses.push({
        ip: normalizeIp(`2001:db8:${(a + 1).toString(16)}::${j.toString(16)}`) as string,
      })
    app.members.push(i)
    workloads.push({
      name: `w${i}`,
      addresses,
      labels: labelSet({
        app: app.name,
        role: pick(rnd, app.roles),
        env: pick(rnd, app.envs),
        loc: pick(rnd, app.locs),
      }),
    })
  }
  const externals: External[] = Array.from({ length: 16 }, (_, k) => ({
    name: `partner-${k}`,
    cidr: cidr(`198.51.100.${k * 16}/28`),
    labels: labelSet({ role: 'partner' }),
  }))
  externals.push({ name: 'saas', cidr: cidr('203.0.113.0/24'), labels: labelSet() })
  const outside: string[] = []
  for (let k = 0; k < 2000; k++) {
    const r = rnd()
    outside.push(
      r < 0.2
        ? `198.51.100.${Math.floor(rnd() * 256)}`
        : r < 0.3
          ? `203.0.113.${Math.floor(rnd() * 256)}`
          : r < 0.9
            ? `52.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}.${1 + Math.floor(rnd() * 254)}`
            : (normalizeIp(`2600:1f18::${Math.floor(rnd() * 65536).toString(16)}`) as string),
    )
  }
  return { inventory: { workloads, externals, labelRules: [] }, apps, outside }
}

const scoped = (match: Record<string, string>): Selector => ({
  kind: 'labels',
  match: labelSet(match),
  expressions: [],
  global: false,
})
const global = (match: Record<string, string>): Selector => ({
  kind: 'labels',
  match: labelSet(match),
  expressions: [],
  global: true,
})

/** A policy set of `ruleCount` rules over the estate, one policy per app (rules dealt round-robin). */
export function generatePolicies(estate: Estate, ruleCount: number, seed = 11): PolicySet {
  const rnd = mulberry32(seed)
  const { apps } = estate
  const rulesByApp: Rule[][] = apps.map(() => [])
  for (let r = 0; r < ruleCount; r++) {
    const a = r % apps.length
    const app = apps[a] as App
    const rules = rulesByApp[a] as Rule[]
    const id = `r${rules.length}`
    const services = choose(rnd, SERVICE_POOL, rnd() < 0.7 ? 1 : 2).map(svc)
    const x = rnd()
    let from: Selector[]
    let to: Selector[]
    let action: 'allow' | 'deny' = 'allow'
    let ruleServices = services
    if (x < 0.75) {
      from = [scoped({ role: pick(rnd, app.roles) })]
      to = [
        scoped({
          role: pick(rnd, app.roles),
          ...(rnd() < 0.3 ? { env: pick(rnd, app.envs) } : {}),
        }),
      ]
    } else if (x < 0.82) {
      const other = pick(rnd, apps)
      from = [global({ app: other.name, role: pick(rnd, other.roles) })]
      to = [scoped({ role: pick(rnd, app.roles) })]
    } else if (x < 0.88) {
      const b = 1 + Math.floor(rnd() * apps.length)
      const except = rnd() < 0.5 ? [cidr(`10.${b}.${Math.floor(rnd() * 4)}.0/24`)] : []
      from = [{ kind: 'cidr', cidr: cidr(`10.${b}.0.0/16`), except }]
      to = [scoped({ role: pick(rnd, app.roles) })]
    } else if (x < 0.91) {
      from = [scoped({ role: pick(rnd, app.roles) })]
      to = [{ kind: 'cidr', cidr: cidr('0.0.0.0/0'), except: [cidr('10.0.0.0/8')] }]
      ruleServices = [svc('tcp/443')]
    } else if (x < 0.93) {
      from = [{ kind: 'external', name: `partner-${Math.floor(rnd() * 16)}` }]
      to = [scoped({ role: pick(rnd, app.roles) })]
    } else if (x < 0.94) {
      const w = app.members[Math.floor(rnd() * app.members.length)] as number
      from = [{ kind: 'workload', name: `w${w}`, global: false }]
      to = [scoped({ role: pick(rnd, app.roles) })]
    } else {
      action = 'deny'
      if (rnd() < 0.7) {
        from = [scoped({ role: pick(rnd, app.roles) })]
        to = [scoped({ role: pick(rnd, app.roles) })]
        ruleServices = [svc('tcp/22')]
      } else {
        from = [global({ env: 'dev' })]
        to = [scoped({ env: 'prod' })]
        ruleServices = [{ protocol: 'any' }]
      }
    }
    const expiring = rnd() < 0.03
    rules.push({
      id,
      action,
      from,
      to,
      services: ruleServices,
      emergency: false,
      ...(expiring ? { expires: DAY0 + (rnd() < 0.5 ? -1 : 30) * 24 * HOUR } : {}),
    })
  }
  const policies: Policy[] = apps
    .map((app, a) => ({
      name: app.name,
      owner: `team-${app.name}`,
      scope: labelSet({ app: app.name }),
      rules: rulesByApp[a] as Rule[],
      file: `${app.name}.yaml`,
    }))
    .filter((p) => p.rules.length > 0)
  const enforcement: EnforcementEntry[] = [
    ...apps.slice(0, Math.ceil(apps.length / 4)).map((app) => ({
      selector: scoped({ app: app.name, env: 'prod' }),
      mode: 'enforce' as const,
    })),
    { selector: scoped({ env: 'prod' }), mode: 'monitor' },
  ]
  return { policies, enforcement }
}

/** Pre-generated flow tuples in columns (no per-flow objects). */
export interface FlowColumns {
  readonly count: number
  readonly src: string[]
  readonly dst: string[]
  readonly protocol: Int32Array
  readonly dstPort: Int32Array
  readonly at: Float64Array
}

/**
 * A Zipf sampler over `n` ranks (rank r has weight 1 / (r + 1)^s), mapped through a seeded
 * permutation so that hot items are spread over the estate rather than the first addresses.
 */
function zipf(rnd: () => number, n: number, s: number): () => number {
  const cdf = new Float64Array(n)
  let acc = 0
  for (let r = 0; r < n; r++) cdf[r] = acc += 1 / (r + 1) ** s
  const perm = Int32Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1))
    const t = perm[i] as number
    perm[i] = perm[j] as number
    perm[j] = t
  }
  return () => {
    const x = rnd() * acc
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((cdf[mid] as number) < x) lo = mid + 1
      else hi = mid
    }
    return perm[lo] as number
  }
}

/**
 * `count` flows with a Zipf skew (exponent `skew`, default 1: a few hot workloads such as
 * shared databases and caches take most of the traffic, as in real east-west traffic):
 * 85 % workload → workload (60 % of those to a Zipf-chosen member of the source's app, the rest
 * to a Zipf-chosen workload anywhere), 10 % workload → outside, 5 % outside → workload; 80 % on
 * pool services, 20 % on random TCP/UDP ports; times spread over one day. `skew = 0` draws
 * every workload uniformly (the worst case for caches).
 */
export function generateFlows(estate: Estate, count: number, seed = 13, skew = 1): FlowColumns {
  const rnd = mulberry32(seed)
  const { workloads } = estate.inventory
  const n = workloads.length
  const poolServices = SERVICE_POOL.map(svc)
  const addressOf = (w: number): string => {
    const addrs = (workloads[w] as Workload).addresses
    return ((addrs.length > 1 && rnd() < 0.5 ? addrs[1] : addrs[0]) as TimedAddress).ip
  }
  const anyWorkload = zipf(rnd, n, skew)
  const inApp = estate.apps.map((app) => {
    const z = zipf(rnd, app.members.length, skew)
    return () => app.members[z()] as number
  })
  const cols: FlowColumns = {
    count,
    src: new Array<string>(count),
    dst: new Array<string>(count),
    protocol: new Int32Array(count),
    dstPort: new Int32Array(count),
    at: new Float64Array(count),
  }
  for (let i = 0; i < count; i++) {
    const x = rnd()
    const w = anyWorkload()
    let src: string
    let dst: string
    if (x < 0.85) {
      src = addressOf(w)
      const d = rnd() < 0.6 ? (inApp[w % estate.apps.length] as () => number)() : anyWorkload()
      dst = addressOf(d)
    } else if (x < 0.95) {
      src = addressOf(w)
      dst = pick(rnd, estate.outside)
    } else {
      src = pick(rnd, estate.outside)
      dst = addressOf(w)
    }
    cols.src[i] = src
    cols.dst[i] = dst
    const s = pick(rnd, poolServices)
    if (rnd() < 0.8 && s.protocol !== 'any') {
      cols.protocol[i] = s.protocol
      cols.dstPort[i] = s.ports.lo + Math.floor(rnd() * (s.ports.hi - s.ports.lo + 1))
    } else {
      cols.protocol[i] = rnd() < 0.8 ? 6 : 17
      cols.dstPort[i] = 1 + Math.floor(rnd() * 65535)
    }
    cols.at[i] = DAY0 + Math.floor(rnd() * 24 * HOUR)
  }
  return cols
}

/**
 * The one-rule edits both update benchmarks replay (`eval` on the index, `reach` on
 * reachability): 200 draws (seed 99) of a policy and one of its label-only rules, whose services
 * become one of five and whose action turns `deny` one time in ten. Each edit is made to the
 * policy as the previous edits left it; a draw that finds no label-only rule is skipped.
 */
export function* oneRuleEdits(policySet: PolicySet): Generator<{ name: string; next: Policy }> {
  const rnd = mulberry32(99)
  const current = new Map(policySet.policies.map((p) => [p.name, p]))
  const names = [...current.keys()]
  const ports = ['tcp/443', 'tcp/5432', 'tcp/22', 'tcp/8080', 'udp/53']
  for (let k = 0; k < 200; k++) {
    const name = names[Math.floor(rnd() * names.length)] as string
    const p = current.get(name) as Policy
    const idx = p.rules.findIndex(
      (r, i) =>
        i >= Math.floor(rnd() * p.rules.length) &&
        r.from.concat(r.to).every((s) => s.kind === 'labels'),
    )
    if (idx < 0) continue
    const rule = p.rules[idx] as Rule
    const changed: Rule = {
      ...rule,
      services: [parseService(ports[Math.floor(rnd() * ports.length)] as string) as Service],
      action: rnd() < 0.1 ? 'deny' : 'allow',
    }
    const next: Policy = { ...p, rules: p.rules.map((r, i) => (i === idx ? changed : r)) }
    current.set(name, next)
    yield { name, next }
  }
}
