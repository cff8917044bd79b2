/**
 * @module Connlist: every allowed directed connection between the entities of an estate under a
 * policy set, and the np-guard connlist text formats (`txt`, `json`, `csv`, `md`).
 *
 * Entities (decided from DESIGN.md "The command line" and np-guard's netpol-analyzer output):
 *
 * - every **workload**, by its workspace name, with the addresses it holds at `now` (an address
 *   held by two workloads at once belongs to the first, as {@link resolveEntity} decides). A
 *   workload holding no address at `now` has no connections. A workload with several addresses
 *   connects on a service when **some** address of the source reaches **some** address of the
 *   destination on it (the union over address pairs).
 * - the **unmanaged address space** (every IPv4 and IPv6 address no workload holds at `now`),
 *   split into ranges exactly where the policy distinguishes addresses: at the edges of every
 *   CIDR block of a live rule's selectors (and their `except` blocks), of every named external and
 *   of the blocks in `splitBy`. Inside one range every unmanaged address gets the same verdict
 *   from every rule, as np-guard splits `0.0.0.0/0` by the ipBlocks of the policies.
 *   - A range outside every named external prints as `first-last[External]`
 *     (`0.0.0.0-9.255.255.255[External]`, np-guard's spelling); adjacent ranges that the policy
 *     does not distinguish are one range. This is the `internet` entity, and it also holds the
 *     unmanaged private addresses: deviation from the brief, which excluded private ranges;
 *     np-guard does not split them out, and doing so would turn one np-guard line into a dozen.
 *   - The addresses of a named external (those whose longest-prefix named external it is) print
 *     as `name[External]` (the `[Kind]` suffix as in `namespace/name[Kind]` workload names),
 *     or, when the policy splits them, `name(first-last,…)[External]` for each part.
 *
 * Addresses of different families never connect. ICMPv6 (protocol 58) over IPv4 and ICMP
 * (protocol 1) over IPv6 cannot occur, although the evaluator would judge such flows, so ICMP is
 * judged on the IPv4 address pairs of a connection only and ICMPv6 on its IPv6 pairs only (an
 * IPv6 `any` between two dual-stack workloads does not hide a deny of `icmp` between their IPv4
 * addresses). In a connection with no address pair of one family, that family's ICMP is counted
 * allowed exactly when every unlisted protocol is (so `any` still prints `All Connections` and
 * `icmpv6/128` does not show on IPv4 lines). A connection of an entity to itself is omitted.
 * Connections with no allowed service are omitted.
 *
 * Messages that are no connection of their own (core `NO_CONNECTION_SERVICES`): ICMP errors and
 * link control (core `decidedWithoutRules`: ICMP 3, 4, 5, 11, 12 and IGMP between IPv4
 * addresses, ICMPv6 0–127 and neighbour and multicast listener discovery between IPv6 ones),
 * allowed whatever the rules, so they would be on every line, and ICMP reply types (0, 14, 16,
 * 18; ICMPv6 129), judged as the request they answer in the other direction. They are listed
 * where some live allow rule of the pair names them, even when a deny rule names them too (such
 * a deny decides no flow: `allow icmp` with `deny icmp/3` or `deny icmp/0` prints `ICMP 0-255`),
 * and never make a line on their own: a pair the rules allow nothing else (a `tcp/443` rule
 * denied, an `any` rule under a `deny any`, only `icmp/0` or `icmp/3` allowed) has no line, and a
 * pair the rules allow only `tcp/443` prints `TCP 443` without them.
 * @remarks Semantics: DESIGN.md "Policy language v1" (as {@link evaluate} implements them);
 * format: DESIGN.md "The command line" and np-guard/netpol-analyzer
 * `pkg/netpol/connlist/conns_formatter*.go` (lines sorted by source then destination; md table
 * `| src | dst | conn |`; csv header `src,dst,conn`; json `[{"src","dst","conn"}]`).
 */
import {
  addressPieces,
  ALL_ADDRESSES,
  CidrTrie,
  ICMP_OF_FAMILY,
  NO_CONNECTION_SERVICES,
  formatIp,
  maxPort,
  hasPorts,
  isIcmp,
  type Cidr,
  type External,
  type Inventory,
  type IpFamily,
  type PolicySet,
  ServiceSet,
  mdText,
} from '../core/index.js'
import { addressHoldsAt, isLive } from './evaluate.js'
import { PolicyIndex } from './policy-index.js'

/** The endpoint class and family of an entity's addresses, and one address that has them. */
interface Side {
  readonly cls: number
  readonly family: IpFamily
  readonly ip: string
}

/** One allowed directed connection: entity names (see the module comment) and the services allowed. */
export interface Connection {
  readonly src: string
  readonly dst: string
  readonly services: ServiceSet
}

/** An inclusive range of addresses of one family, as integers. */
export interface AddressRange {
  readonly family: IpFamily
  readonly first: bigint
  readonly last: bigint
}

/**
 * One entity of a connlist. `addresses` are the canonical addresses it holds at `now`
 * (workloads), or, for ranges, the one unmanaged address used to judge it. `ranges` are the
 * address ranges of a `range` entity (the addresses in them that no workload holds at `now`).
 */
export interface ConnlistEntity {
  readonly name: string
  readonly kind: 'workload' | 'external' | 'range'
  readonly addresses: readonly string[]
  readonly ranges?: readonly AddressRange[]
  /** The named external, for `kind: 'external'`. */
  readonly external?: string
}

/** Options of {@link connlist}. */
export interface ConnlistOptions {
  /** Decides rule expiry (expired rules are absent) and which addresses workloads hold. */
  readonly now: Date
  /**
   * More blocks to split the unmanaged address space at, so that two connlists (of two policy
   * sets, in `diff`) use the same ranges. Splitting finer never changes what is allowed.
   */
  readonly splitBy?: readonly Cidr[]
  /**
   * The {@link PolicyIndex} of the same inventory and policy set built at `now`, when the caller
   * has one (`diff` judges samples with it too); built here otherwise.
   */
  readonly index?: PolicyIndex
}

/** The CIDR blocks of the selectors of live rules (with `except` blocks). */
export function policyBlocks(policySet: PolicySet, now: Date): Cidr[] {
  const out = new Map<string, Cidr>()
  for (const p of policySet.policies) {
    for (const r of p.rules) {
      if (!isLive(r, now.getTime())) continue
      for (const s of [...r.from, ...r.to]) {
        if (s.kind === 'cidr') for (const c of [s.cidr, ...s.except]) out.set(c.text, c)
      }
    }
  }
  return [...out.values()]
}

function rangeText(family: IpFamily, first: bigint, last: bigint): string {
  return `${formatIp({ family, value: first })}-${formatIp({ family, value: last })}`
}

/**
 * The entities of a connlist (see the module comment), workloads in inventory order, then
 * ranges by family and address.
 */
export function connlistEntities(
  inventory: Inventory,
  policySet: PolicySet,
  options: ConnlistOptions,
): ConnlistEntity[] {
  const now = options.now.getTime()
  const out: ConnlistEntity[] = []
  // workloads: addresses they hold at now, first holder wins
  const holder = new Map<string, number>()
  inventory.workloads.forEach((w, i) => {
    for (const a of w.addresses)
      if (addressHoldsAt(a, now) && !holder.has(a.ip)) holder.set(a.ip, i)
  })
  const held = new Set<string>()
  inventory.workloads.forEach((w, i) => {
    const addrs = [...new Set(w.addresses.filter((a) => holder.get(a.ip) === i).map((a) => a.ip))]
    out.push({ name: w.name, kind: 'workload', addresses: addrs })
  })
  for (const ip of holder.keys()) held.add(ip)

  // the unmanaged address space, per family
  const cuts: Cidr[] = [
    ...policyBlocks(policySet, options.now),
    ...(options.splitBy ?? []),
    ...inventory.externals.map((x) => x.cidr),
  ]
  const blockTrie = new CidrTrie<number>()
  ;[...policyBlocks(policySet, options.now), ...(options.splitBy ?? [])].forEach((c, i) => {
    if (blockTrie.get(c) === undefined) blockTrie.set(c, i)
  })
  const externalTrie = new CidrTrie<External>()
  for (const x of inventory.externals) {
    if (externalTrie.get(x.cidr) === undefined) externalTrie.set(x.cidr, x)
  }
  for (const family of [4, 6] as const) {
    // elementary intervals with their key
    const pieces = addressPieces(ALL_ADDRESSES[family], cuts).map(({ first, last }) => {
      const ip = { family, value: first }
      return {
        first,
        last,
        block: blockTrie.lookup(ip)?.value ?? -1,
        external: externalTrie.lookup(ip)?.value,
      }
    })
    // unnamed: merge adjacent pieces with the same block; named: group by (external, block)
    const groups = new Map<string, { external: External | undefined; ranges: AddressRange[] }>()
    const order: string[] = []
    let run = 0
    let prevKey = ''
    for (const p of pieces) {
      let key: string
      if (p.external) key = JSON.stringify(['x', p.external.name, p.block])
      else {
        const k = JSON.stringify(['u', p.block])
        if (k !== prevKey) run++
        key = `${k}#${run}`
      }
      prevKey = p.external ? '' : JSON.stringify(['u', p.block])
      let g = groups.get(key)
      if (!g) {
        g = { external: p.external, ranges: [] }
        groups.set(key, g)
        order.push(key)
      }
      const lastRange = g.ranges[g.ranges.length - 1]
      if (lastRange && lastRange.last + 1n === p.first) {
        g.ranges[g.ranges.length - 1] = { family, first: lastRange.first, last: p.last }
      } else g.ranges.push({ family, first: p.first, last: p.last })
    }
    const partsOf = new Map<string, number>()
    for (const g of groups.values()) {
      if (g.external) partsOf.set(g.external.name, (partsOf.get(g.external.name) ?? 0) + 1)
    }
    for (const key of order) {
      const g = groups.get(key) as { external: External | undefined; ranges: AddressRange[] }
      const rep = unmanagedAddress(g.ranges, held)
      if (rep === undefined) continue // every address is a workload's
      const ranges = g.ranges.map((r) => rangeText(family, r.first, r.last)).join(',')
      if (g.external) {
        const name =
          (partsOf.get(g.external.name) ?? 0) > 1
            ? `${g.external.name}(${ranges})[External]`
            : `${g.external.name}[External]`
        out.push({
          name,
          kind: 'external',
          addresses: [rep],
          ranges: g.ranges,
          external: g.external.name,
        })
      } else
        out.push({ name: `${ranges}[External]`, kind: 'range', addresses: [rep], ranges: g.ranges })
    }
  }
  return out
}

/** The first address of the ranges that no workload holds, as canonical text. */
function unmanagedAddress(
  ranges: readonly AddressRange[],
  held: ReadonlySet<string>,
): string | undefined {
  for (const r of ranges) {
    for (let v = r.first; v <= r.last; v++) {
      const text = formatIp({ family: r.family, value: v })
      if (!held.has(text)) return text
    }
  }
  return undefined
}

/**
 * Every allowed directed connection between the entities of the estate (see the module
 * comment), in no particular order; {@link formatConnlist} sorts. Uses {@link PolicyIndex}
 * (`allowedServicesClasses` and `namedWithoutRulesClasses`), one computation per pair of
 * endpoint classes.
 * @param options - `now` decides expiry and address holding; `splitBy` splits ranges further.
 * @returns connections with a non-empty service set, never an entity to itself.
 */
export function connlist(
  inventory: Inventory,
  policySet: PolicySet,
  options: ConnlistOptions,
): Connection[] {
  const now = options.now.getTime()
  const index = options.index ?? PolicyIndex.build(inventory, policySet, now)
  const entities = connlistEntities(inventory, policySet, options).filter(
    (e) => e.addresses.length > 0,
  )
  // (class, family) of each address; addresses of one class and family are judged alike, and
  // entities with the same (class, family) pairs are judged alike: each such group is a source
  // and a destination once, so the cost is in the groups and the output, not entities squared
  const groups = new Map<string, { sides: Side[]; members: number[] }>()
  entities.forEach((e, i) => {
    const m = new Map<string, Side>()
    for (const ip of e.addresses) {
      const cls = index.endpointClass(ip, now)
      const family: IpFamily = ip.includes(':') ? 6 : 4
      const key = `${cls}/${family}`
      if (!m.has(key)) m.set(key, { cls, family, ip })
    }
    const key = [...m.keys()].sort().join(' ')
    const g = groups.get(key)
    if (g === undefined) groups.set(key, { sides: [...m.values()], members: [i] })
    else g.members.push(i)
  })
  // the services of one pair of (class, family), without the other family's ICMP: whether the
  // rules allow a connection (`some`: a service they allow that is not a message of another
  // connection, core NO_CONNECTION_SERVICES), and what the rules allow with those messages some
  // allow rule names (`listed`: a deny of an ICMP error, of link control or of a reply type
  // decides no flow)
  const cache = new Map<number, { some: boolean; listed: ServiceSet }>()
  const pair = (s: Side, d: Side, family: IpFamily): { some: boolean; listed: ServiceSet } => {
    const key = (s.cls * 4194304 + d.cls) * 2 + (family === 6 ? 1 : 0) // class ids < 2²²
    let sets = cache.get(key)
    if (sets === undefined) {
      const byRule = index
        .allowedServicesClasses(s.cls, d.cls)
        .subtract(ICMP_OF_FAMILY[family === 4 ? 6 : 4])
      const named = index.namedNoConnectionClasses(s.cls, d.cls)
      sets = {
        some: !byRule.subtract(NO_CONNECTION_SERVICES[family]).isEmpty,
        listed: named.isEmpty ? byRule : byRule.union(named),
      }
      cache.set(key, sets)
    }
    return sets
  }
  const out: Connection[] = []
  for (const src of groups.values()) {
    for (const dst of groups.values()) {
      let set: ServiceSet | undefined
      let some = false
      let has4 = false
      let has6 = false
      for (const s of src.sides) {
        for (const d of dst.sides) {
          if (s.family !== d.family) continue
          if (s.family === 4) has4 = true
          else has6 = true
          const x = pair(s, d, s.family)
          if (x.some) some = true
          set = set === undefined ? x.listed : set.union(x.listed)
        }
      }
      // a connection needs some service the rules allow that is a connection: the messages of
      // other connections are listed beside it, never alone
      if (set === undefined || !some) continue
      // a family's ICMP is judged on that family's address pairs only; where the connection has
      // no pair of one family, that family's ICMP follows `rest`, so that it never shows alone
      if (set.rest && !has4) set = set.union(ICMP_OF_FAMILY[4])
      if (set.rest && !has6) set = set.union(ICMP_OF_FAMILY[6])
      for (const i of src.members) {
        const a = (entities[i] as ConnlistEntity).name
        for (const j of dst.members) {
          if (i !== j)
            out.push({ src: a, dst: (entities[j] as ConnlistEntity).name, services: set })
        }
      }
    }
  }
  return out
}

/** Order in which protocols are listed: np-guard's SCTP, TCP, UDP, then ICMP and ICMPv6. */
const NAMED_ORDER = [132, 6, 17, 1, 58] as const
const CONN_NAMES: Readonly<Record<number, string>> = {
  132: 'SCTP',
  6: 'TCP',
  17: 'UDP',
  1: 'ICMP',
  58: 'ICMPv6',
  47: 'GRE',
  50: 'ESP',
  51: 'AH',
}

function protoPart(proto: number, set: ServiceSet): string {
  const ports = set.ports(proto)
  const name = CONN_NAMES[proto] ?? `proto-${String(proto)}`
  const full = ports.size === maxPort(proto) + 1
  if (full && !hasPorts(proto) && !isIcmp(proto)) return name
  return `${name} ${ports.toString()}`
}

/**
 * The CONNS column of a connlist line (DESIGN.md "The command line"):
 *
 * - `All Connections` for every protocol and port; `No Connections` for none.
 * - Otherwise protocols in the order SCTP, TCP, UDP, ICMP, ICMPv6, then other protocol numbers
 *   ascending as their IANA keyword (`GRE`, `ESP`, `AH`) or `proto-N`, each with its
 *   comma-separated ports and ranges (`TCP 80,443,8000-8100,UDP 53`; for ICMP the ports are ICMP
 *   types, `ICMP 8`). Every port is listed as it is: all TCP ports print `TCP 0-65535` (np-guard,
 *   whose port 0 does not exist, prints `TCP 1-65535`). A protocol without ports prints bare
 *   (`ESP`, `proto-99`) when whole.
 * - SCTP, TCP, UDP, ICMP and ICMPv6 are always listed when any of their ports is in the set. A
 *   set that holds every other protocol number ends with `other protocols`, or
 *   `other protocols except proto-4,GRE` when some of those numbers are wholly absent (each
 *   named as in the list). A connection with no address pair of one family lists that family's
 *   ICMP exactly when the set ends in `other protocols` ({@link connlist} adds it).
 */
export function formatConns(services: ServiceSet): string {
  if (services.isAny) return 'All Connections'
  if (services.isEmpty) return 'No Connections'
  const explicit = [...services.byProtocol.keys()]
  const named = NAMED_ORDER.filter((p) => services.rest || services.byProtocol.has(p))
  const others = explicit
    .filter((p) => !(NAMED_ORDER as readonly number[]).includes(p))
    .sort((a, b) => a - b)
  const parts: string[] = []
  for (const p of [...named, ...others]) {
    if (!services.ports(p).isEmpty) parts.push(protoPart(p, services))
  }
  if (services.rest) {
    const absent = others.filter((p) => services.ports(p).isEmpty)
    const names = absent.map((p) => CONN_NAMES[p] ?? `proto-${String(p)}`)
    parts.push(absent.length > 0 ? `other protocols except ${names.join(',')}` : 'other protocols')
  }
  return parts.join(',')
}

/** Output formats of {@link formatConnlist}. */
export type ConnlistFormat = 'txt' | 'json' | 'csv' | 'md'

/** One formatted row, as in np-guard's JSON. Stable: `connlist -o json`. */
export interface ConnlistRow {
  readonly src: string
  readonly dst: string
  readonly conn: string
}

/** Rows sorted by source, then destination (plain string order, as np-guard sorts). */
export function connlistRows(conns: readonly Connection[]): ConnlistRow[] {
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
  const texts = new WeakMap<ServiceSet, string>() // connections often share one set
  const text = (set: ServiceSet): string => {
    let t = texts.get(set)
    if (t === undefined) texts.set(set, (t = formatConns(set)))
    return t
  }
  return conns
    .map((c) => ({ src: c.src, dst: c.dst, conn: text(c.services) }))
    .sort((a, b) => cmp(a.src, b.src) || cmp(a.dst, b.dst))
}

/** `SRC => DST : CONNS`, one connlist line. */
export function connlistLine(r: ConnlistRow): string {
  return `${r.src} => ${r.dst} : ${r.conn}`
}

function csvField(s: string): string {
  // as Go's encoding/csv: quote fields with a comma, quote, CR/LF or a leading space
  return /[",\r\n]|^[ \t]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/**
 * Renders connections in np-guard's connlist formats, sorted by source then destination:
 *
 * - `txt`: `SRC => DST : CONNS` per line.
 * - `json`: `[{"src","dst","conn"}]`, two-space indented.
 * - `csv`: header `src,dst,conn`, RFC 4180 quoting (fields with commas are quoted).
 * - `md`: a table `| src | dst | conn |` / `|-----|-----|------|`; each cell is {@link mdText}:
 *   Markdown's inline syntax escaped, a line break written as a space.
 *
 * Every format ends with a newline; `txt` of no connections is the empty string. Independent of
 * the workspace model, so that `k8s connlist` prints through it too.
 */
export function formatConnlist(conns: readonly Connection[], format: ConnlistFormat): string {
  const rows = connlistRows(conns)
  switch (format) {
    case 'txt':
      return rows.map((r) => `${connlistLine(r)}\n`).join('')
    case 'json':
      return `${JSON.stringify(rows, null, 2)}\n`
    case 'csv':
      return ['src,dst,conn', ...rows.map((r) => [r.src, r.dst, r.conn].map(csvField).join(','))]
        .map((l) => `${l}\n`)
        .join('')
    case 'md':
      return [
        '| src | dst | conn |',
        '|-----|-----|------|',
        ...rows.map((r) => `| ${mdText(r.src)} | ${mdText(r.dst)} | ${mdText(r.conn)} |`),
      ]
        .map((l) => `${l}\n`)
        .join('')
  }
}
