/**
 * @module The recommender: a dependency map and an inventory → least-privilege allow rules between
 * label selectors, one policy per scope, each rule with id, reason, owner and evidence; plus a
 * report of coverage, over-permission, flagged rules and removal candidates. Pure.
 * @remarks Semantics: issue 5; DESIGN.md "Policy language v1" (rules 1–4).
 */
import {
  counted,
  DAY_MS,
  diagnostic,
  expressionMatches,
  labelsMatch,
  hasPorts,
  isIcmp,
  labelSet,
  maxPort,
  parseIp,
  PROTOCOL_NAMES,
  namesPorts,
  isIcmpError,
  isLinkControl,
  isPrivateIp,
  addressPieces,
  ALL_ADDRESSES,
  cidrRange,
  formatIp,
  formatRuleRef,
  PRIVATE_RANGES,
  NON_UNICAST_RANGES,
  describeSpecialAddress,
  specialAddress,
  type SpecialAddress,
  type IpAddress,
  selectorKey,
  SelectorMembers,
  IntervalSet,
  type PortRange,
  formatService,
  type Cidr,
  type Diagnostic,
  type Endpoint,
  type Entity,
  type External,
  type LabelExpression,
  type LabelSet,
  type Policy,
  type PolicySet,
  type Rule,
  type RuleRef,
  type Selector,
  type Service,
  type Workload,
  type Inventory,
  hasRealTime,
} from '../core/index.js'
import { COVERAGE, edgeFigures, windowCalendar } from '../discover/index.js'
import type { DependencyMap, Edge, EdgePattern, MapEntity } from '../discover/types.js'
import { policyBlocks } from '../policy/connlist.js'
import { isLive, ruleMatches } from '../policy/evaluate.js'
import { UNASSIGNED_OWNER } from '../policy/lint.js'
import {
  aggregateBlocks,
  blockSelector,
  entityCidr,
  hostBlocks,
  internetSelectors,
  ManagedBlocks,
} from './cidr.js'
import { INTERNET } from '../inventory/resolver.js'
import { groupPorts, isEphemeralNoise, portsByEndpoints } from './ports.js'
import { findScans, type Scan } from './scans.js'
import type {
  ExcludedEdge,
  ExpectedRhythm,
  Granularity,
  OverPermission,
  PolicyReport,
  RecommendOptions,
  RecommendReport,
  RecommendResult,
  RuleReport,
} from './types.js'

/** Patterns that get a comment and a flag (issue 5 item 5). */
export const FLAGGED_PATTERNS: ReadonlySet<EdgePattern> = new Set([
  'month-end',
  'weekly',
  'rare',
  'once',
])
/**
 * One address standing for each piece of `block` cut at `cuts` (`addressPieces`), with the
 * piece's last address value.
 */
function piecesOf(block: Cidr, cuts: readonly Cidr[]): { first: IpAddress; last: bigint }[] {
  return addressPieces(block, cuts).map((p) => ({
    first: { family: block.family, value: p.first },
    last: p.last,
  }))
}

/** True when the inclusive range from `first` to `last` lies inside `c`. */
function rangeInside(first: IpAddress, last: bigint, c: Cidr): boolean {
  const r = cidrRange(c)
  return c.family === first.family && first.value >= r.first && last <= r.last
}

/** Label keys forming selectors at each granularity, among the keys some workload carries. */
function granularityKeys(g: Granularity, inventory: Inventory): string[] {
  // keys no workload carries are left out: `DoesNotExist` on them would say nothing (and warn)
  const carried = [...new Set(inventory.workloads.flatMap((w) => Object.keys(w.labels)))].sort()
  if (g === 'role') return carried.filter((k) => k === 'app' || k === 'env' || k === 'role')
  if (g === 'app') return carried.filter((k) => k === 'app' || k === 'env')
  return carried
}

function project(labels: LabelSet, keys: readonly string[]): LabelSet {
  const out: Record<string, string> = {}
  for (const k of keys) {
    const v = labels[k]
    if (v !== undefined) out[k] = v
  }
  return labelSet(out)
}

function without(labels: LabelSet, keys: Iterable<string>): LabelSet {
  const drop = new Set(keys)
  return labelSet(Object.fromEntries(Object.entries(labels).filter(([k]) => !drop.has(k))))
}

function sameLabels(a: LabelSet, b: LabelSet): boolean {
  const ka = Object.keys(a)
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k])
}

/** Lower-case `[a-z0-9-]`, for ids and policy names. */
function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'x'
  )
}

/** Label values in the order role, app, env, then other keys sorted. */
function orderedValues(labels: LabelSet): string[] {
  const first = ['role', 'app', 'env'].filter((k) => labels[k] !== undefined)
  const rest = Object.keys(labels)
    .filter((k) => !first.includes(k))
    .sort()
  return [...first, ...rest].map((k) => labels[k] as string)
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z')
}

function serviceText(protocol: number, lo: number, hi: number): string {
  return formatService(serviceOf(protocol, lo, hi))
}

/**
 * The service for observed ports: exact for protocols the language writes ports for; every port
 * for the others (`esp`, `gre`, `proto/N`).
 */
function serviceOf(protocol: number, lo: number, hi: number): Service {
  if (!namesPorts(protocol)) return { protocol, ports: { lo: 0, hi: maxPort(protocol) } }
  return { protocol, ports: { lo, hi } }
}

/** True when a label/workload/any selector matches a workload, scope ANDed unless global. */
export function selectsWorkload(sel: Selector, w: Workload, scope: LabelSet): boolean {
  switch (sel.kind) {
    case 'any':
      return true
    case 'labels':
      return (
        labelsMatch(sel.match, w.labels) &&
        sel.expressions.every((e) => expressionMatches(e, w.labels)) &&
        (sel.global || labelsMatch(scope, w.labels))
      )
    case 'workload':
      return sel.name === w.name && (sel.global || labelsMatch(scope, w.labels))
    default:
      return false
  }
}

/** One end of an edge, classified. */
type Side =
  | {
      readonly kind: 'workload'
      readonly entity: string
      readonly workload: Workload
      /** The workload's projection on the granularity keys ({} → selected by name). */
      readonly group: LabelSet
      /** Granularity keys the workload lacks (→ DoesNotExist). */
      readonly missing: readonly string[]
      /** The workload's projection on the scope keys. */
      readonly scope: LabelSet
    }
  | { readonly kind: 'external'; readonly entity: string; readonly external: External }
  | { readonly kind: 'internet'; readonly entity: string }
  | { readonly kind: 'block'; readonly entity: string; readonly cidr: Cidr }
  /** A multicast group, the limited broadcast or an unspecified address: its host block alone. */
  | {
      readonly kind: 'special'
      readonly entity: string
      readonly cidr: Cidr
      readonly special: SpecialAddress
    }

interface Draft {
  readonly policy: string
  readonly scope: LabelSet
  readonly from: Selector[]
  readonly to: Selector[]
  readonly fromName: string
  readonly toName: string
  /** Display names for reasons (`10.9.3.0/24`, not the id form). */
  readonly fromText: string
  readonly toText: string
  /** The in-scope side's workloads, for the owner. */
  readonly protectedSide: 'from' | 'to'
  readonly protocol: number
  readonly edges: Edge[]
}

/**
 * Recommends least-privilege allow rules from observed edges (issue 5).
 *
 * Each edge (client → server) becomes part of one allow rule in the policy of the server's scope
 * (the projection of its labels on `scopeBy`); an edge to an unmanaged or external server goes to
 * the client's scope. Workloads are selected by labels at the chosen {@link Granularity}, with
 * `scope: global` on the side outside the policy's scope; named externals by name; the internet
 * by `0.0.0.0/0` and `::/0` minus private and non-unicast ranges; a multicast group, the
 * broadcast or `0.0.0.0` by its own `/32` (`/128`), named by its protocol (core
 * `specialAddress`), never aggregated; unmanaged private ranges by CIDR aggregated to
 * at most `/maxPrefix`. Ports: one rule per service; clusters of high ports become one range
 * (flagged). Edges that look like replies recorded in the wrong direction are excluded.
 *
 * Guarantees (tested against the reference evaluator): every edge not excluded is allowed by the
 * result; at `identity` granularity, a rule between workloads allows only (source identity,
 * destination identity, service) triples that were observed, apart from merged port ranges.
 *
 * @param map - a workload-level dependency map (entities `workload`, `external`, `unmanaged`);
 *   `identity` entities (from `--group-by`) are excluded with `recommend/grouped-entity`.
 * @param inventory - the inventory the map was resolved with (workloads looked up by name).
 * @returns policies (rules sorted by id), comments for rendering, and the report. Never throws.
 */
export function recommend(
  map: DependencyMap,
  inventory: Inventory,
  options: RecommendOptions = {},
): RecommendResult {
  const granularity = options.granularity ?? 'identity'
  const scopeBy = [...(options.scopeBy ?? ['app', 'env'])]
  const ownerLabel = options.ownerLabel ?? 'owner'
  // the window of flows with a real time: a map of untimed flows only has {0, 0}, not a window
  const window = map.window && hasRealTime(map.window.start) ? map.window : undefined
  const keys = granularityKeys(granularity, inventory)
  const diagnostics: Diagnostic[] = []
  const excluded: ExcludedEdge[] = []
  const workloads = new Map(inventory.workloads.map((w) => [w.name, w]))
  const selected = memberCache(inventory)
  const externals = new Map(inventory.externals.map((x) => [x.name, x]))
  const entities = new Map(map.entities.map((e) => [e.id, e]))
  const totalFlows = map.edges.reduce((n, e) => n + e.flows, 0)
  const existing = options.existing
  const now = options.now ?? map.window?.end ?? 0

  // --- classify entities -------------------------------------------------------------------
  const blockNames: Cidr[] = []
  // an unmanaged entity named by one of these is an address a workload holds at other times
  const workloadAddresses = new Set(
    inventory.workloads.flatMap((w) => w.addresses.map((a) => a.ip)),
  )
  const sides = new Map<string, Side | string>()
  const classify = (e: MapEntity | undefined, id: string): Side | string => {
    if (!e) return 'unknown-entity'
    if (e.kind === 'identity') return 'grouped-entity'
    if (e.kind === 'workload') {
      const w = workloads.get(e.name)
      if (!w) return 'unknown-entity'
      const group = project(w.labels, keys)
      return {
        kind: 'workload',
        entity: id,
        workload: w,
        group,
        missing: keys.filter((k) => w.labels[k] === undefined),
        scope: project(w.labels, scopeBy),
      }
    }
    if (e.kind === 'external') {
      const x = externals.get(e.name)
      return x ? { kind: 'external', entity: id, external: x } : 'unknown-entity'
    }
    if (e.name === INTERNET) return { kind: 'internet', entity: id }
    // an address a workload holds at other times (IP reuse): a CIDR selector has no time, so a
    // rule for it would reach that workload too; no rule, a warning
    if (workloadAddresses.has(e.name)) return 'time-bound-address'
    const cidr = entityCidr(e.name)
    if (!cidr) return 'unknown-entity'
    const isHost = cidr.prefix === (cidr.family === 4 ? 32 : 128)
    // a multicast group (mDNS 224.0.0.251), the broadcast or 0.0.0.0: its own /32 (/128), never
    // the internet and never aggregated with its neighbours (224.0.0.252 is another protocol)
    const special = isHost ? specialAddress({ family: cidr.family, value: cidr.base }) : undefined
    if (special) return { kind: 'special', entity: id, cidr, special }
    const isPublicHost =
      cidr.prefix === (cidr.family === 4 ? 32 : 128) &&
      !isPrivateIp({ family: cidr.family, value: cidr.base })
    if (isPublicHost && options.keepPublicIps !== true) return { kind: 'internet', entity: id }
    // --keep-public-ips: a rule per public address, never a block aggregated with its
    // neighbours (another party's addresses); only unmanaged private blocks are aggregated
    if (!isPublicHost) blockNames.push(cidr)
    return { kind: 'block', entity: id, cidr }
  }
  for (const e of map.entities) sides.set(e.id, classify(e, e.id))
  const sideOf = (id: string): Side | string => sides.get(id) ?? classify(entities.get(id), id)
  // managed address space: never part of an `internet` or unmanaged-block selector
  const managed = [
    ...hostBlocks(inventory.workloads.flatMap((w) => w.addresses.map((a) => a.ip))),
    ...inventory.externals.map((x) => x.cidr),
  ]
  const cover = aggregateBlocks(blockNames, options.maxPrefix ?? 24, options.maxPrefix6 ?? 64)
  // the selectors of the unmanaged sides, made once each (an `internet` selector excepts every
  // public managed block; a block's, the managed blocks inside it): edges share them, read-only
  const managedIndex = new ManagedBlocks(managed)
  let internet: Selector[] | undefined
  const blockSels = new Map<string, Selector>()
  // their keys too: an `internet` selector's names every excepted block
  const sharedKeys = new WeakMap<Selector, string>()
  const keyOf = (sel: Selector): string => {
    if (sel.kind !== 'cidr') return selectorKey(sel)
    let key = sharedKeys.get(sel)
    if (key === undefined) sharedKeys.set(sel, (key = selectorKey(sel)))
    return key
  }
  const blockSel = (c: Cidr): Selector => {
    let sel = blockSels.get(c.text)
    if (sel === undefined) blockSels.set(c.text, (sel = blockSelector(c, managedIndex)))
    return sel
  }

  // --- the existing set: which edges it already allows, which of its rules are used ----------
  const usedExisting = new Set<string>()
  // an entity stands for all its addresses: a workload for each of its own, a block (named
  // external, unmanaged block, the internet) for every address in it; the existing rules' CIDR
  // blocks cut a block into pieces whose addresses the rules cannot tell apart, so the first
  // address of each piece stands for the piece
  const cuts = existing ? policyBlocks(existing, new Date(now)) : []
  const externalBlocks = inventory.externals.map((x) => x.cidr)
  // the addresses a block entity stands for: not a named external's (those resolve to it), not
  // an address a workload holds, and for the internet not a private or non-unicast one
  const notInternet = [...PRIVATE_RANGES, ...NON_UNICAST_RANGES]
  const blockProbes = (blocks: readonly Cidr[], internet: boolean, entity: Entity): Endpoint[] =>
    blocks.flatMap((b) =>
      piecesOf(b, [...cuts, ...externalBlocks, ...(internet ? notInternet : [])])
        .filter(
          ({ first, last }) =>
            !externalBlocks.some((c) => rangeInside(first, last, c)) &&
            !(internet && notInternet.some((c) => rangeInside(first, last, c))) &&
            !(first.value === last && workloadAddresses.has(formatIp(first))),
        )
        .map(({ first }) => ({ ip: first, entity })),
    )
  const probeCache = new Map<string, Endpoint[]>()
  const probesOf = (s: Side): Endpoint[] => {
    const known = probeCache.get(s.entity)
    if (known) return known
    let probes: Endpoint[]
    if (s.kind === 'workload') {
      const entity: Entity = { kind: 'workload', workload: s.workload }
      const ips = [...new Set(s.workload.addresses.map((a) => a.ip))]
      probes = ips.flatMap((t) => {
        const ip = parseIp(t)
        return ip ? [{ ip, entity }] : []
      })
    } else if (s.kind === 'external') {
      const entity: Entity = {
        kind: 'external',
        name: s.external.name,
        named: true,
        external: s.external,
      }
      probes = piecesOf(s.external.cidr, cuts).map(({ first }) => ({ ip: first, entity }))
    } else {
      const entity: Entity = { kind: 'external', name: s.entity, named: false }
      probes =
        s.kind === 'block' || s.kind === 'special'
          ? blockProbes([s.cidr], false, entity)
          : blockProbes([ALL_ADDRESSES[4], ALL_ADDRESSES[6]], true, entity)
    }
    probeCache.set(s.entity, probes)
    return probes
  }
  /**
   * How the existing rules judge the edge, over every address the source stands for and every
   * address of that family the destination stands for: `allowed` when an allow rule and no deny
   * rule match every such pair (and there is one), `denied` when a deny rule matches every pair,
   * and the deny rules that match some pair (`policy/id`).
   */
  const judgeExisting = (
    set: PolicySet,
    src: Side,
    dst: Side,
    edge: Edge,
  ): { allowed: boolean; denied: boolean; denyRules: string[] } => {
    let pairs = 0
    let allowedPairs = 0
    let deniedPairs = 0
    const denyRules = new Set<string>()
    for (const a of probesOf(src)) {
      for (const b of probesOf(dst)) {
        if (a.ip.family !== b.ip.family) continue
        pairs++
        let allow = false
        let deny = false
        for (const p of set.policies) {
          for (const r of p.rules) {
            if (!isLive(r, now) || !ruleMatches(p, r, a, b, edge.protocol, edge.dstPort)) continue
            if (r.action === 'deny') {
              deny = true
              denyRules.add(formatRuleRef({ policy: p.name, id: r.id }))
            } else {
              allow = true
              usedExisting.add(`${p.name}\u0000${r.id}`)
            }
          }
        }
        if (allow && !deny) allowedPairs++
        if (deny) deniedPairs++
      }
    }
    return {
      allowed: pairs > 0 && allowedPairs === pairs,
      denied: pairs > 0 && deniedPairs === pairs,
      denyRules: [...denyRules].sort(),
    }
  }
  /** Edges an existing deny rule blocks, wholly (excluded) or in part (proposed anyway). */
  const underDeny: { edge: string; denyRules: string[]; whole: boolean }[] = []

  // --- edges → drafts --------------------------------------------------------------------------
  const reverse = portsByEndpoints(map.edges)
  // scans: probes of many ports or many destinations in one burst (replies recorded the wrong way
  // round are no attempts); their accepted edges are reconnaissance, not dependencies
  const scans = findScans(map.edges.filter((e) => !isEphemeralNoise(e, reverse)))
  const inScan = new Set(scans.flatMap((s) => s.edges))
  const includeScans = options.includeScans === true
  /** Accepted scan edges that reached the scan check: excluded, or kept with `includeScans`. */
  const scanHits = new Set<Edge>()
  const drafts = new Map<string, Draft>()
  const policyScopes = new Map<string, LabelSet>()
  const policyName = (scope: LabelSet): string => {
    const values = scopeBy.map((k) => scope[k]).filter((v): v is string => v !== undefined)
    const base = values.length > 0 ? slug(values.join('-')) : 'unscoped'
    let name = base
    for (let i = 2; ; i++) {
      const seen = policyScopes.get(name)
      if (!seen || sameLabels(seen, scope)) break
      name = `${base}-${i}`
    }
    policyScopes.set(name, scope)
    return name
  }
  const describe = (
    s: Side,
    scope: LabelSet,
    inScope: boolean,
  ): { sels: Selector[]; name: string; text?: string } => {
    switch (s.kind) {
      case 'workload': {
        if (Object.keys(s.group).length === 0) {
          return {
            sels: [{ kind: 'workload', name: s.workload.name, global: !inScope }],
            name: slug(s.workload.name),
          }
        }
        const match = inScope ? without(s.group, Object.keys(scope)) : s.group
        const expressions: LabelExpression[] = s.missing
          .filter((k) => !(inScope && k in scope))
          .map((key) => ({ key, operator: 'DoesNotExist', values: [] }))
        const values = orderedValues(without(match, [ownerLabel])) // ids name roles, not owners
        const name =
          values.length > 0
            ? values.join('-')
            : inScope
              ? orderedValues(scope).join('-') || 'all'
              : 'unlabelled'
        return {
          sels: [{ kind: 'labels', match, expressions, global: !inScope }],
          name: slug(name),
        }
      }
      case 'external':
        return { sels: [{ kind: 'external', name: s.external.name }], name: slug(s.external.name) }
      case 'internet':
        return { sels: (internet ??= internetSelectors(managed)), name: 'internet' }
      case 'block': {
        const c = cover.get(s.cidr.text) ?? s.cidr
        return { sels: [blockSel(c)], name: slug(c.text), text: c.text }
      }
      case 'special': {
        const address = formatIp({ family: s.cidr.family, value: s.cidr.base })
        return {
          sels: [blockSel(s.cidr)],
          name: slug(s.special.wellKnown ? `${s.special.use} ${address}` : address),
          text: `${address} (${describeSpecialAddress(s.special)})`,
        }
      }
    }
  }

  let alreadyAllowedFlows = 0
  let partlyDeniedFlows = 0
  for (const edge of map.edges) {
    const svc = serviceText(edge.protocol, edge.dstPort, edge.dstPort)
    const exclude = (reason: string): void => {
      excluded.push({ src: edge.src, dst: edge.dst, service: svc, flows: edge.flows, reason })
    }
    const src = sideOf(edge.src)
    const dst = sideOf(edge.dst)
    if (typeof src === 'string' || typeof dst === 'string') {
      exclude(typeof src === 'string' ? src : (dst as string))
      continue
    }
    // every flow refused where it was observed (a security group, a firewall: AWS `REJECT`):
    // attempts, not a dependency; an allow rule would open what the network already closes
    if (edge.flows > 0 && edge.rejected >= edge.flows) {
      exclude('rejected')
      continue
    }
    // link control needs no rule: ICMPv6 neighbour and multicast listener discovery, IGMP
    if (isLinkControl(edge.protocol, edge.dstPort)) {
      exclude('link-control')
      continue
    }
    // an ICMP error (unreachable, time exceeded) is part of the connection it reports on
    if (isIcmpError(edge.protocol, edge.dstPort)) {
      exclude('related')
      continue
    }
    if (isEphemeralNoise(edge, reverse)) {
      exclude('ephemeral-noise')
      continue
    }
    const owner = dst.kind === 'workload' ? dst : src.kind === 'workload' ? src : undefined
    if (!owner) {
      exclude('no-workload-end')
      continue
    }
    if (existing) {
      const judged = judgeExisting(existing, src, dst, edge)
      if (judged.allowed) {
        alreadyAllowedFlows += edge.flows
        exclude('already-allowed')
        continue
      }
      // deny beats allow (DESIGN.md rule 1): an allow proposed under a deny allows nothing
      if (judged.denyRules.length > 0)
        underDeny.push({
          edge: `${edge.src} -> ${edge.dst} ${svc}`,
          denyRules: judged.denyRules,
          whole: judged.denied,
        })
      if (judged.denied) {
        exclude('denied-by-existing')
        continue
      }
      if (judged.denyRules.length > 0) partlyDeniedFlows += edge.flows
    }
    // an answered probe of a port or host sweep: least privilege does not learn from scans
    // (after the existing set's judgement: what it already allows is covered, not proposed)
    if (inScan.has(edge)) {
      scanHits.add(edge)
      if (!includeScans) {
        exclude('scan-like')
        continue
      }
    }
    const scope = owner.scope
    const name = policyName(scope)
    const inScope = (s: Side): boolean => s.kind === 'workload' && sameLabels(s.scope, scope)
    const f = describe(src, scope, inScope(src))
    const t = describe(dst, scope, inScope(dst))
    const key = [name, ...f.sels.map(keyOf), '=>', ...t.sels.map(keyOf), edge.protocol].join(
      '\u0000',
    )
    let d = drafts.get(key)
    if (!d) {
      d = {
        policy: name,
        scope,
        from: f.sels,
        to: t.sels,
        fromName: f.name,
        toName: t.name,
        fromText: f.text ?? f.name,
        toText: t.text ?? t.name,
        protectedSide: owner === dst ? 'to' : 'from',
        protocol: edge.protocol,
        edges: [],
      }
      drafts.set(key, d)
    }
    d.edges.push(edge)
  }
  // --- drafts → rules ----------------------------------------------------------------------------
  const ruleCount = new Map<string, number>()
  interface Built {
    policy: string
    rule: Rule
    flows: number
    pattern: EdgePattern
    flags: string[]
    comment?: string
  }
  const built: Built[] = []
  const reservedIds = new Map<string, Set<string>>()
  const existingNames = new Set(existing?.policies.map((p) => p.name) ?? [])
  const finalName = (name: string): string => (existingNames.has(name) ? `${name}-proposed` : name)
  for (const p of existing?.policies ?? [])
    reservedIds.set(finalName(p.name), new Set(p.rules.map((r) => r.id)))
  const samplePairs = options.samplePairs ?? 3
  const sortedDrafts = [...drafts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  for (const [, d] of sortedDrafts) {
    // ports of scans kept (--include-scans) stay single: never merged into a range
    const groups = groupPorts(
      d.protocol,
      d.edges.map((e) => e.dstPort),
      options.portRanges,
      new Set(d.edges.filter((e) => scanHits.has(e)).map((e) => e.dstPort)),
    )
    for (const g of groups) {
      const edges = d.edges.filter((e) => e.dstPort >= g.lo && e.dstPort <= g.hi)
      const service = serviceOf(d.protocol, g.lo, g.hi)
      const policy = finalName(d.policy)
      const proto = PROTOCOL_NAMES[d.protocol] ?? `proto-${d.protocol}`
      const portPart = !namesPorts(d.protocol)
        ? ''
        : g.lo === g.hi
          ? `-${g.lo}`
          : `-${g.lo}-${g.hi}`
      const baseId = `${d.fromName}-to-${d.toName}-${proto}${portPart}`
      const taken = reservedIds.get(policy) ?? new Set<string>()
      reservedIds.set(policy, taken)
      let id = baseId
      for (let i = 2; taken.has(id); i++) id = `${baseId}-${i}`
      taken.add(id)
      ruleCount.set(policy, (ruleCount.get(policy) ?? 0) + 1)

      // the rule's traffic is all its pairs' together: days united, pattern classified again
      // (each pair seen once on another day is traffic of two days, not a rare rule)
      const {
        flows,
        bytes,
        firstSeen: first,
        lastSeen: last,
        activeDays,
        pattern,
      } = edgeFigures(edges, windowCalendar(map.window, map.timeZone))
      const pairs = [...new Set(edges.map((e) => `${e.src} -> ${e.dst}`))].sort()
      const svcText = formatService(service)
      const flags: string[] = []
      const notes: string[] = []
      if (FLAGGED_PATTERNS.has(pattern)) {
        flags.push(pattern)
        notes.push(
          `pattern ${pattern}: active on ${activeDays} day(s), ${hasRealTime(first) ? `${iso(first)} – ${iso(last)}` : 'no real time'}; kept because it was observed, confirm it is still needed`,
        )
      }
      const scanned = edges.filter((e) => scanHits.has(e))
      if (scanned.length > 0) {
        flags.push('scan-like')
        notes.push(
          `scan-like: ${scanned.length === edges.length ? 'all' : `${scanned.length} of ${edges.length}`} of its edges answered probes of a port or host sweep; kept by --include-scans, confirm it is a dependency`,
        )
      }
      if (g.range) {
        flags.push('port-range')
        notes.push(
          `port range ${g.lo}-${g.hi} proposed from ${g.observed.length} observed high ports (dynamic RPC or passive FTP?); narrow it if the service has a fixed range`,
        )
        diagnostics.push(
          diagnostic(
            'recommend/port-range',
            `${policy}/${id}: ${g.observed.length} observed ports ${g.lo}–${g.hi} merged into the range ${svcText}`,
            undefined,
            { severity: 'warning' },
          ),
        )
      }
      const evidence: Record<string, unknown> = {
        flows,
        bytes,
        // a rule of flows with no real time only (both at NO_TIME_MS) has no dates, not 1970
        ...(hasRealTime(first) ? { firstSeen: iso(first), lastSeen: iso(last) } : {}),
        activeDays,
        pattern,
        ...(g.range ? { observedPorts: g.observed.length } : {}),
        pairs: pairs.slice(0, samplePairs),
        ...(pairs.length > samplePairs ? { morePairs: pairs.length - samplePairs } : {}),
      }
      // owner: the common owner label of the protected side's workloads
      const protectedSels = d.protectedSide === 'to' ? d.to : d.from
      const members = selected(protectedSels, d.scope)
      const ownerValues = new Set(members.map((w) => w.labels[ownerLabel]))
      const ruleOwner = ownerValues.size === 1 ? [...ownerValues][0] : undefined
      const rule: Rule = {
        id,
        action: 'allow',
        from: d.from,
        to: d.to,
        services: [service],
        ...(ruleOwner !== undefined ? { owner: ruleOwner } : {}),
        reason: `Observed ${d.fromText} -> ${d.toText} on ${svcText}: ${flows} flow(s) on ${activeDays} day(s), ${pattern}. Say why it is needed.`,
        evidence,
        emergency: false,
      }
      built.push({
        policy,
        rule,
        flows,
        pattern,
        flags,
        ...(notes.length > 0 ? { comment: notes.join('\n') } : {}),
      })
    }
  }

  // --- policies -------------------------------------------------------------------------------
  const byPolicy = new Map<string, Built[]>()
  for (const b of built) byPolicy.set(b.policy, [...(byPolicy.get(b.policy) ?? []), b])
  const scopeOfFinal = new Map<string, LabelSet>()
  for (const d of drafts.values()) scopeOfFinal.set(finalName(d.policy), d.scope)
  const policies: Policy[] = []
  const comments = new Map<string, Map<string, string>>()
  const policyReports: PolicyReport[] = []
  const ruleReports: RuleReport[] = []
  const windowText = window
    ? ` from flows ${iso(window.start)} – ${iso(window.end)}`
    : map.untimed
      ? ' from flows with no real time'
      : ''
  // the --owner keys some proposed policy is named or has as a scope value: any other is a typo
  const ownerKeysMatched = new Set<string>()
  for (const name of [...byPolicy.keys()].sort()) {
    const list = (byPolicy.get(name) ?? []).sort((a, b) => (a.rule.id < b.rule.id ? -1 : 1))
    const scope = scopeOfFinal.get(name) ?? labelSet()
    const scopeMembers = inventory.workloads.filter((w) => labelsMatch(scope, w.labels))
    const scopeOwners = new Set(scopeMembers.map((w) => w.labels[ownerLabel]))
    const basePolicyName =
      name.endsWith('-proposed') && existingNames.has(name.slice(0, -9)) ? name.slice(0, -9) : name
    // a merged proposal (`<policy>-proposed`) is named by its own name or the policy it extends
    ownerKeysMatched.add(basePolicyName).add(name)
    for (const k of scopeBy) if (scope[k] !== undefined) ownerKeysMatched.add(scope[k])
    const mapped =
      options.owners?.[basePolicyName] ??
      options.owners?.[name] ??
      scopeBy
        .map((k) => (scope[k] !== undefined ? options.owners?.[scope[k]] : undefined))
        .find((v) => v !== undefined)
    const common = scopeOwners.size === 1 ? [...scopeOwners][0] : undefined
    const owner = mapped ?? common ?? UNASSIGNED_OWNER
    if (owner === UNASSIGNED_OWNER) {
      diagnostics.push(
        diagnostic(
          'recommend/no-owner',
          `policy ${name}: no owner mapping and no common "${ownerLabel}" label; written as "${UNASSIGNED_OWNER}"`,
          undefined,
          {
            severity: 'warning',
            hint: `pass --owner ${basePolicyName}=TEAM or label the workloads with ${ownerLabel}=TEAM`,
          },
        ),
      )
    }
    // a rule owner equal to the policy owner says nothing: leave it to the fallback
    const rules = list.map((b) => {
      if (b.rule.owner !== owner) return b.rule
      const { owner: _same, ...rest } = b.rule
      b.rule = rest
      return rest
    })
    policies.push({
      name,
      owner,
      description: `Recommended by bulkhead recommend (granularity ${granularity})${windowText}. Review reasons and owners.`,
      scope,
      rules,
      file: `${name}.yaml`,
    })
    const c = new Map<string, string>()
    for (const b of list) if (b.comment !== undefined) c.set(b.rule.id, b.comment)
    if (c.size > 0) comments.set(name, c)
    const flows = list.reduce((n, b) => n + b.flows, 0)
    policyReports.push({
      name,
      file: `${name}.yaml`,
      scope,
      owner,
      rules: rules.length,
      flows,
      coverage: share(flows, totalFlows),
    })
    for (const b of list) {
      const flags = [...b.flags]
      if (owner === UNASSIGNED_OWNER && b.rule.owner === undefined) flags.push('no-owner')
      ruleReports.push({
        policy: name,
        id: b.rule.id,
        from: b.rule.from.map(selectorKey).join(' | '),
        to: b.rule.to.map(selectorKey).join(' | '),
        service: b.rule.services.map(formatService).join(','),
        flows: b.flows,
        coverage: share(b.flows, totalFlows),
        pattern: b.pattern,
        flags,
      })
    }
  }

  for (const [key, team] of Object.entries(options.owners ?? {})) {
    if (ownerKeysMatched.has(key)) continue
    diagnostics.push(
      diagnostic(
        'recommend/unused-owner',
        `--owner ${key}=${team}: no proposed policy is named "${key}" or has it as a scope value (${scopeBy.join(', ')}), so it owns nothing`,
        undefined,
        {
          severity: 'warning',
          hint: `the policies proposed: ${policies.map((p) => p.name).join(', ') || 'none'}`,
        },
      ),
    )
  }

  // --- removal candidates, diagnostics ----------------------------------------------------------
  const removalCandidates: RuleRef[] = []
  if (existing) {
    // mark every existing rule any edge uses, not only those of edges it fully allows
    for (const edge of map.edges) {
      const src = sideOf(edge.src)
      const dst = sideOf(edge.dst)
      if (typeof src !== 'string' && typeof dst !== 'string')
        judgeExisting(existing, src, dst, edge)
    }
    for (const p of existing.policies) {
      for (const r of p.rules) {
        if (r.action === 'allow' && !usedExisting.has(`${p.name}\u0000${r.id}`)) {
          removalCandidates.push({ policy: p.name, id: r.id })
        }
      }
    }
  }
  const noise = excluded.filter((e) => e.reason === 'ephemeral-noise')
  if (noise.length > 0) {
    diagnostics.push(
      diagnostic(
        'recommend/ephemeral-noise',
        `${noise.length} edge(s) (${noise.reduce((n, e) => n + e.flows, 0)} flows) to ephemeral ports look like replies recorded in the wrong direction; no rule proposed (their connection's rule allows the replies)`,
        undefined,
        { severity: 'warning' },
      ),
    )
  }
  const count = (reason: string): ExcludedEdge[] => excluded.filter((e) => e.reason === reason)
  diagnostics.push(...scanWarnings(scans, scanHits, includeScans))
  const rejected = count('rejected')
  const firstRejected = rejected[0]
  if (firstRejected !== undefined) {
    diagnostics.push(
      diagnostic(
        'recommend/rejected',
        `${rejected.length} edge(s) (${rejected.reduce((n, e) => n + e.flows, 0)} flows) were rejected on every flow, as the flow source recorded them (a security group's or firewall's REJECT, a TCP attempt refused by a reset or never answered); no rule proposed (e.g. ${firstRejected.src} -> ${firstRejected.dst} ${firstRejected.service}); write the rule by hand if the traffic is wanted`,
        undefined,
        { severity: 'warning' },
      ),
    )
  }
  for (const [reason, code] of [
    ['no-workload-end', 'recommend/no-workload-end'],
    ['time-bound-address', 'recommend/time-bound-address'],
    ['grouped-entity', 'recommend/grouped-entity'],
    ['unknown-entity', 'recommend/unknown-entity'],
  ] as const) {
    const list = count(reason)
    if (list.length > 0) {
      diagnostics.push(
        diagnostic(
          code,
          `${list.length} edge(s) got no rule: ${reason} (e.g. ${list[0]?.src} -> ${list[0]?.dst} ${list[0]?.service})`,
          undefined,
          {
            severity: 'warning',
          },
        ),
      )
    }
  }
  for (const whole of [true, false]) {
    const list = underDeny.filter((u) => u.whole === whole)
    const first = list[0]
    if (first === undefined) continue
    diagnostics.push(
      diagnostic(
        'recommend/denied-by-existing',
        whole
          ? `${list.length} edge(s) got no rule: existing deny rules block them, and deny beats allow (e.g. ${first.edge}, denied by ${first.denyRules.join(', ')}); change the deny rule if the traffic is wanted`
          : `${list.length} proposed rule(s) are partly under existing deny rules, which beat them (e.g. ${first.edge}, partly denied by ${first.denyRules.join(', ')})`,
        undefined,
        { severity: 'warning' },
      ),
    )
  }
  const flaggedRules = ruleReports.filter((r) =>
    r.flags.some((f) => FLAGGED_PATTERNS.has(f as EdgePattern)),
  )
  if (flaggedRules.length > 0) {
    diagnostics.push(
      diagnostic(
        'recommend/time-pattern',
        `${flaggedRules.length} rule(s) come from edges seen only rarely (month-end, weekly, rare or once): ${flaggedRules
          .slice(0, 5)
          .map((r) => `${r.policy}/${r.id}`)
          .join(', ')}${
          // the rest counted, so that five names do not read as the whole list
          flaggedRules.length > 5
            ? `, and ${String(flaggedRules.length - 5)} more (see the flagged rules)`
            : ''
        }`,
        undefined,
        { severity: 'warning' },
      ),
    )
  }
  diagnostics.push(...windowWarnings(map, options.expect ?? []))

  const coveredFlows = ruleReports.reduce((n, r) => n + r.flows, 0) + alreadyAllowedFlows
  const aggregated = new Map<string, Set<string>>()
  for (const [from, c] of cover) {
    if (from === c.text) continue
    const set = aggregated.get(c.text) ?? new Set<string>()
    set.add(from)
    aggregated.set(c.text, set)
  }
  const report: RecommendReport = {
    granularity,
    scopeBy,
    ...(window
      ? {
          window: {
            start: iso(window.start),
            end: iso(window.end),
            days: Math.round(((window.end - window.start) / DAY_MS) * 10) / 10,
          },
        }
      : {}),
    ...(map.untimed ? { untimed: map.untimed } : {}),
    totals: {
      edges: map.edges.length,
      flows: totalFlows,
      coveredFlows,
      coverage: share(coveredFlows, totalFlows),
      ...(partlyDeniedFlows > 0 ? { partlyDeniedFlows } : {}),
      rules: built.length,
      policies: policies.length,
    },
    policies: policyReports,
    rules: ruleReports,
    overPermission: overPermission(policies, inventory, map, sides, options.examples ?? 10),
    aggregated: [...aggregated.entries()].map(([c, blocks]) => ({
      cover: c,
      blocks: [...blocks].sort(),
    })),
    excluded,
    removalCandidates,
    diagnostics,
  }
  return { policies, comments, report }
}

/** Most scans named one by one in `recommend/scan-like` warnings; the rest are counted. */
const SCANS_NAMED = 5

/** `90 s`, `12 min`: a scan's duration. */
function duration(ms: number): string {
  const s = Math.round(ms / 1000)
  return s < 120 ? `${s} s` : `${Math.round(s / 60)} min`
}

/**
 * `recommend/scan-like` warnings: one per scan whose accepted edges were excluded (or, with
 * `includeScans`, kept and flagged), naming source, destination(s), protocol, how many ports or
 * destinations were probed, how many answered, and how long the burst lasted; the first
 * {@link SCANS_NAMED}, then one counting the rest.
 */
function scanWarnings(
  scans: readonly Scan[],
  hits: ReadonlySet<Edge>,
  included: boolean,
): Diagnostic[] {
  const found = scans.filter((s) => s.edges.some((e) => hits.has(e)))
  const outcome = included
    ? 'kept by --include-scans and flagged scan-like'
    : 'no rule proposed for them'
  const out = found.slice(0, SCANS_NAMED).map((s) => {
    const answered = s.edges.filter((e) => hits.has(e))
    // the first five answered ports or destinations, then `...`
    const few = (names: string[]): string =>
      names.slice(0, 5).join(', ') + (names.length > 5 ? ', ...' : '')
    const proto = PROTOCOL_NAMES[s.protocol] ?? `proto/${s.protocol}`
    const when = `in ${duration(s.end - s.start)} from ${iso(s.start)}`
    const what =
      s.kind === 'vertical'
        ? `${s.src} -> ${s.dsts[0] ?? ''} ${proto}: ${s.ports.length} ports probed ${when} (${s.edges.length - answered.length} refused), ${answered.length} accepted (${few(answered.map((e) => serviceText(e.protocol, e.dstPort, e.dstPort)))})`
        : `${s.src} -> ${s.dsts.length} destinations (${s.dsts.slice(0, 3).join(', ')}${s.dsts.length > 3 ? ', ...' : ''}) ${serviceText(s.protocol, s.ports[0] ?? 0, s.ports[0] ?? 0)}: probed ${when} (${s.edges.length - answered.length} refused), ${answered.length} accepted (${few(answered.map((e) => e.dst))})`
    return diagnostic('recommend/scan-like', `${s.kind} scan ${what}: ${outcome}`, undefined, {
      severity: 'warning',
      hint: included
        ? 'review the flagged rules: a scan is no dependency'
        : 'write the rule by hand if the traffic is wanted, or pass --include-scans',
    })
  })
  if (found.length > SCANS_NAMED)
    out.push(
      diagnostic(
        'recommend/scan-like',
        `${counted(found.length - SCANS_NAMED, 'more scan')} with accepted probes: ${outcome} (see the excluded edges)`,
        undefined,
        { severity: 'warning' },
      ),
    )
  return out
}

function share(n: number, total: number): number {
  return total === 0 ? 0 : n / total
}

/** What a rhythm's jobs are, for the `recommend/short-window` message. */
const RHYTHM_JOBS: Readonly<Record<ExpectedRhythm, string>> = {
  daily: 'daily jobs (nightly backups, reports)',
  weekly: 'weekly jobs (weekend batches, maintenance windows)',
  monthly: 'month-end jobs',
  quarterly: 'quarterly jobs (failover tests, quarter-end reports)',
}

/**
 * `recommend/short-window` warnings: the observation window is shorter than an expected rhythm
 * needs (discover's `COVERAGE`: daily at least 2 days, weekly at least 14, monthly more than 31
 * and a month end inside, quarterly more than 92), so edges of such jobs may be missing from the
 * recommendation (issue 5 item 5).
 */
export function windowWarnings(
  map: DependencyMap,
  expect: readonly ExpectedRhythm[],
): Diagnostic[] {
  const out: Diagnostic[] = []
  const w = map.window
  for (const rhythm of new Set(expect)) {
    const { days: need, strict } = COVERAGE[rhythm]
    const days = w ? (w.end - w.start) / DAY_MS : 0
    const monthEnd = w ? containsMonthEnd(w.start, w.end) : false
    const long = strict ? days > need : days >= need
    if (long && (rhythm !== 'monthly' || monthEnd)) continue
    const what = RHYTHM_JOBS[rhythm]
    const span = w ? `${iso(w.start)} – ${iso(w.end)}, ${days.toFixed(1)} days` : 'no flows'
    const why = !long
      ? `it must span ${strict ? 'more than' : 'at least'} ${need} days to see ${rhythm} traffic`
      : 'it contains no month end (the last or first day of a month)'
    out.push(
      diagnostic(
        'recommend/short-window',
        `the observation window (${span}) is too short for ${rhythm} patterns: ${why}, so ${what} may be missing and their flows would be blocked`,
        undefined,
        {
          severity: 'warning',
          hint: `observe for ${strict ? 'more than' : 'at least'} ${need} days, or add the ${rhythm} rules by hand`,
        },
      ),
    )
  }
  return out
}

/** True when [start, end] contains the last day of a month or the first day of the next one (UTC). */
function containsMonthEnd(start: number, end: number): boolean {
  for (let t = Math.floor(start / DAY_MS) * DAY_MS; t <= end; t += DAY_MS) {
    const d = new Date(t)
    const next = new Date(t + DAY_MS)
    if (d.getUTCDate() === 1 || next.getUTCDate() === 1) return true
  }
  return false
}

/**
 * A memoised "which inventory workloads do these selectors (any of them) select, with this scope
 * ANDed in" (label, workload and `any` selectors; others select no workload here), in inventory
 * order: the same lists as `inventory.workloads.filter((w) => sels.some((s) =>
 * selectsWorkload(s, w, scope)))`, for workloads that are distinct objects. Rules share selectors,
 * so each distinct (selectors, scope) is computed once, and each label or workload selector is
 * answered by {@link SelectorMembers} (an index of `key=value` labels and names: only the
 * workloads of the selector's rarest required label, scope included, or of its name are tested)
 * rather than by testing every workload.
 *
 * @internal exported for test/recommend/member-cache.prop.test.ts only.
 */
export function memberCache(
  inventory: Inventory,
): (sels: readonly Selector[], scope: LabelSet) => readonly Workload[] {
  const members = new SelectorMembers(inventory.workloads)
  const cache = new Map<string, readonly Workload[]>()
  let position: Map<Workload, number> | undefined
  const union = (sels: readonly Selector[], scope: LabelSet): readonly Workload[] => {
    if (sels.some((s) => s.kind === 'any')) return inventory.workloads
    const lists = sels.flatMap((s) =>
      s.kind === 'labels' || s.kind === 'workload' ? [members.of(s, scope)] : [],
    )
    if (lists.length <= 1) return lists[0] ?? []
    // several selectors: their members once each, back in inventory order
    if (!position) {
      position = new Map()
      inventory.workloads.forEach((w, i) => position?.set(w, i))
    }
    const at = position
    const seen = new Set<Workload>()
    for (const list of lists) for (const w of list) seen.add(w)
    return [...seen].sort((a, b) => (at.get(a) ?? 0) - (at.get(b) ?? 0))
  }
  return (sels, scope) => {
    const key = `${sels.map(selectorKey).join('|')}\u0000${JSON.stringify(scope)}`
    let hit = cache.get(key)
    if (!hit) {
      hit = union(sels, scope)
      cache.set(key, hit)
    }
    return hit
  }
}

/** A pair's allowed service count, observed count and unobserved services (issue 5 item 2). */
interface PairMeasure {
  size: number
  seen: number
  unseen: Service[]
}

/**
 * Measures one pair: `services` are what the rules allow it, in their push order (rules in policy
 * order), `seenHere` the observed `proto/port` strings. Allowed ports are merged per protocol
 * (rules here never allow `any` protocol); a protocol without ports (GRE, ESP, ...) is one
 * service, observed or not. `unseen` lists the allowed services not observed, protocols in their
 * first-allowed order, filled only when `wantUnseen`.
 */
function measurePair(
  services: readonly Service[],
  seenHere: ReadonlySet<string>,
  wantUnseen: boolean,
): PairMeasure {
  const byProto = new Map<number, PortRange[]>()
  for (const sv of services) {
    if (sv.protocol === 'any') continue
    const ranges = byProto.get(sv.protocol)
    if (ranges) ranges.push(sv.ports)
    else byProto.set(sv.protocol, [sv.ports])
  }
  let size = 0
  let seen = 0
  const unseen: Service[] = []
  for (const [proto, ranges] of byProto) {
    if (!hasPorts(proto) && !isIcmp(proto)) {
      size += 1
      const hit = [...seenHere].some((sv) => Number(sv.split('/')[0]) === proto)
      if (hit) seen += 1
      else unseen.push({ protocol: proto, ports: { lo: 0, hi: maxPort(proto) } })
      continue
    }
    const ports = IntervalSet.of(ranges)
    size += ports.size
    const hits: PortRange[] = []
    for (const sv of seenHere) {
      const [pr, po] = sv.split('/').map(Number) as [number, number]
      if (pr === proto && ports.has(po)) hits.push({ lo: po, hi: po })
    }
    seen += hits.length
    if (hits.length < ports.size && wantUnseen) {
      for (const r of ports.subtract(IntervalSet.of(hits)).ranges)
        unseen.push({ protocol: proto, ports: r })
    }
  }
  return { size, seen, unseen }
}

/** The figures of one unit: `allowed` and `observed` services, `extra` their difference. */
function overPermissionOf(
  unit: OverPermission['unit'],
  allowed: number,
  observed: number,
  examples: string[],
): OverPermission {
  const extra = allowed - observed
  return { unit, allowed, observed, extra, share: share(extra, allowed), examples }
}

/** Appends `values` to the list of `key` in `m` (in place: lists here grow long). */
function append<K, V>(m: Map<K, V[]>, key: K, values: readonly V[]): void {
  const list = m.get(key)
  if (list) for (const v of values) list.push(v)
  else m.set(key, [...values])
}

/** Plain string order (that of `Array.prototype.sort` without a comparator). */
const byText = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0)

/**
 * Over-permission of workload-to-workload rules (issue 5 item 2): the (source, destination,
 * protocol, port) combinations the rules allow minus those observed, counted per workload pair and
 * per identity pair (label sets), a workload with itself left out (as connlist leaves it out:
 * its traffic to itself crosses no firewall) from what is allowed, and from what is observed per
 * workload pair; per identity pair it is observed traffic of its label set's pair, so that at
 * identity granularity the identity count stays 0 (the rule recommended from a workload's traffic
 * to itself allows other workloads of its label set: the workload count shows those pairs); a
 * protocol without ports (GRE, ESP) counts as one service. A pair counts on a service only when
 * the two workloads hold addresses of one family (at any time): ICMP an IPv4 pair, ICMPv6 an IPv6
 * pair, other protocols either (IPv4 and IPv6 never connect, as in connlist). Rules
 * with a CIDR, external or internet side are not counted here (their widening is reported under
 * `aggregated`). Examples are the first `examples` over-permitted pairs in the plain string order
 * of their `source -> destination` text.
 *
 * Without visiting every workload pair (which exceeded 16.7 M pairs, a `Map`'s limit, on a
 * 20 000-workload estate): workloads are grouped into classes of the same rules selecting them as
 * source, the same as destination and the same address families; every pair of distinct
 * workloads of two classes is allowed the same services in the same order, so the allowed count
 * is the class pair's size times its number of workload pairs, the observed count comes from the
 * observed pairs (at most the map's edges), and the examples are searched pair by pair in key
 * order, stopping at `examples`. Per identity pair, each rule adds its services once per family
 * combination, in the order in which the old pair-by-pair visit (sources, then destinations, in
 * inventory order) first met that combination: the same merged ports and protocol order.
 * Workload names are unique in an inventory (a duplicate is dropped when loading).
 *
 * @internal exported for test/recommend/over-permission.prop.test.ts only.
 */
export function overPermission(
  policies: readonly Policy[],
  inventory: Inventory,
  map: DependencyMap,
  sides: ReadonlyMap<string, Side | string>,
  examples: number,
): OverPermission[] {
  const selected = memberCache(inventory)
  const ids = new Map<Workload, string>()
  const idOf = (w: Workload): string => {
    let id = ids.get(w)
    if (id === undefined) {
      id = `{${Object.entries(w.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')}}`
      ids.set(w, id)
    }
    return id
  }
  const isWorkloadSel = (s: Selector): boolean => s.kind === 'labels' || s.kind === 'workload'
  const families = new Map<Workload, number>()
  /** 1 when `w` holds an IPv4 address, + 2 when an IPv6 one. */
  const familiesOf = (w: Workload): number => {
    let f = families.get(w)
    if (f === undefined) {
      const fs = new Set(w.addresses.map((a) => parseIp(a.ip)?.family))
      f = (fs.has(4) ? 1 : 0) + (fs.has(6) ? 2 : 0)
      families.set(w, f)
    }
    return f
  }
  /** The services on which a pair of families `fa`, `fb` can connect: over one family. */
  const connecting = (fa: number, fb: number, services: readonly Service[]): Service[] => {
    const v4 = (fa & fb & 1) !== 0
    const v6 = (fa & fb & 2) !== 0
    return services.filter((sv) => (sv.protocol === 1 ? v4 : sv.protocol === 58 ? v6 : v4 || v6))
  }
  // the workload-to-workload rules, in policy order, with their sources and destinations
  const rules: {
    services: readonly Service[]
    froms: readonly Workload[]
    tos: readonly Workload[]
  }[] = []
  for (const p of policies) {
    for (const r of p.rules) {
      if (!r.from.every(isWorkloadSel) || !r.to.every(isWorkloadSel)) continue
      rules.push({
        services: r.services,
        froms: selected(r.from, p.scope),
        tos: selected(r.to, p.scope),
      })
    }
  }

  // workload classes: the same rules select them as source and as destination, same families
  const fromSlots = new Map<Workload, number[]>()
  const toSlots = new Map<Workload, number[]>()
  rules.forEach((r, i) => {
    for (const a of r.froms) append(fromSlots, a, [i])
    for (const b of r.tos) append(toSlots, b, [i])
  })
  const classIds = new Map<string, number>()
  const classOf = new Map<Workload, number>()
  const classSize: number[] = []
  const classFam: number[] = []
  for (const w of inventory.workloads) {
    const f = fromSlots.get(w)
    const t = toSlots.get(w)
    if (!f && !t) continue
    const key = `${(f ?? []).join(',')}|${(t ?? []).join(',')}|${String(familiesOf(w))}`
    let c = classIds.get(key)
    if (c === undefined) {
      c = classSize.length
      classIds.set(key, c)
      classSize.push(0)
      classFam.push(familiesOf(w))
    }
    classOf.set(w, c)
    classSize[c] = (classSize[c] ?? 0) + 1
  }
  const nClasses = classSize.length
  // per class pair (source class * nClasses + destination class): the allowed services in order
  const pairServices = new Map<number, Service[]>()
  rules.forEach((r) => {
    const fc = new Set(r.froms.map((a) => classOf.get(a) ?? 0))
    const tc = new Set(r.tos.map((b) => classOf.get(b) ?? 0))
    for (const ca of fc) {
      for (const cb of tc) {
        const services = connecting(classFam[ca] ?? 0, classFam[cb] ?? 0, r.services)
        if (services.length === 0) continue
        const k = ca * nClasses + cb
        append(pairServices, k, services)
      }
    }
  })
  const pairSize = new Map<number, number>()
  let allowedW = 0
  for (const [k, services] of pairServices) {
    const ca = Math.floor(k / nClasses)
    const cb = k % nClasses
    const size = measurePair(services, new Set(), false).size
    pairSize.set(k, size)
    const na = classSize[ca] ?? 0
    allowedW += (na * (classSize[cb] ?? 0) - (ca === cb ? na : 0)) * size
  }

  // observed (protocol, port) per pair, as `proto/port` strings
  const observedW = new Map<string, Set<string>>()
  const observedPairs = new Map<string, [Workload, Workload]>()
  const observedI = new Map<string, Set<string>>()
  const note = (m: Map<string, Set<string>>, key: string, value: string): void => {
    const set = m.get(key)
    if (set) set.add(value)
    else m.set(key, new Set([value]))
  }
  for (const e of map.edges) {
    const a = sides.get(e.src)
    const b = sides.get(e.dst)
    if (
      typeof a !== 'object' ||
      typeof b !== 'object' ||
      a.kind !== 'workload' ||
      b.kind !== 'workload'
    )
      continue
    const svc = `${e.protocol}/${e.dstPort}`
    // a workload's traffic to itself is no pair of distinct workloads, but it is traffic of its
    // label set's pair: the identity rule recommended from it allows that pair and no more
    if (a.workload !== b.workload) {
      const key = `${a.workload.name} -> ${b.workload.name}`
      note(observedW, key, svc)
      observedPairs.set(key, [a.workload, b.workload])
    }
    note(observedI, `${idOf(a.workload)} -> ${idOf(b.workload)}`, svc)
  }
  const classPair = (a: Workload, b: Workload): number | undefined => {
    const ca = classOf.get(a)
    const cb = classOf.get(b)
    return ca === undefined || cb === undefined ? undefined : ca * nClasses + cb
  }
  let observedWCount = 0
  for (const [key, [a, b]] of observedPairs) {
    const services = pairServices.get(classPair(a, b) ?? -1)
    if (services)
      observedWCount += measurePair(services, observedW.get(key) ?? new Set(), false).seen
  }
  // examples: pairs in the order of their `source -> destination` text, stopping at `examples`
  const exW: string[] = []
  const named = inventory.workloads.filter((w) => classOf.has(w))
  const sources = named
    .map((w) => ({ w, text: `${w.name} -> ` }))
    .sort((x, y) => byText(x.text, y.text))
  // sorting sources by `name -> ` then destinations by name is the order of the whole text unless
  // one source's `name -> ` begins another's (a name holding ` -> `): then sort the whole texts
  const prefixed = sources.some((s, i) => i > 0 && s.text.startsWith(sources[i - 1]?.text ?? ''))
  const dests = named.map((w) => w).sort((x, y) => byText(x.name, y.name))
  const consider = (a: Workload, b: Workload): void => {
    const services = pairServices.get(classPair(a, b) ?? -1)
    if (!services) return
    const key = `${a.name} -> ${b.name}`
    const m = measurePair(services, observedW.get(key) ?? new Set(), true)
    if (m.size > m.seen) exW.push(`${key} ${m.unseen.map(formatService).join(',')}`)
  }
  if (examples > 0 && !prefixed) {
    search: for (const { w: a } of sources) {
      for (const b of dests) {
        if (a === b) continue
        consider(a, b)
        if (exW.length >= examples) break search
      }
    }
  } else if (examples > 0) {
    const all: { a: Workload; b: Workload; key: string }[] = []
    for (const a of named)
      for (const b of named) if (a !== b) all.push({ a, b, key: `${a.name} -> ${b.name}` })
    for (const { a, b } of all.sort((x, y) => byText(x.key, y.key))) {
      consider(a, b)
      if (exW.length >= examples) break
    }
  }
  const workload = overPermissionOf('workload', allowedW, observedWCount, exW)

  // identity pairs: per rule, each family combination's services once, in first-visit order
  const allowedI = new Map<string, Service[]>()
  for (const r of rules) {
    const groups = (
      list: readonly Workload[],
    ): Map<string, { id: string; fam: number; first: number[] }> => {
      const g = new Map<string, { id: string; fam: number; first: number[] }>()
      list.forEach((w, i) => {
        const id = idOf(w)
        const fam = familiesOf(w)
        const k = `${String(fam)}${id}`
        const hit = g.get(k)
        if (!hit) g.set(k, { id, fam, first: [i] })
        else if (hit.first.length < 2) hit.first.push(i)
      })
      return g
    }
    const fg = groups(r.froms)
    const tg = groups(r.tos)
    // per identity pair: family combination -> first visit position [source index, dest index]
    const firsts = new Map<string, Map<number, [number, number]>>()
    for (const ga of fg.values()) {
      for (const gb of tg.values()) {
        const combo = ga.fam & gb.fam
        if (combo === 0) continue
        const [a0, a1] = ga.first as [number, number | undefined]
        const [b0, b1] = gb.first as [number, number | undefined]
        let pos: [number, number] | undefined
        if (r.froms[a0] !== r.tos[b0]) pos = [a0, b0]
        else if (b1 !== undefined) pos = [a0, b1]
        else if (a1 !== undefined) pos = [a1, b0]
        if (!pos) continue
        const key = `${ga.id} -> ${gb.id}`
        const m = firsts.get(key) ?? new Map<number, [number, number]>()
        firsts.set(key, m)
        const old = m.get(combo)
        if (!old || pos[0] < old[0] || (pos[0] === old[0] && pos[1] < old[1])) m.set(combo, pos)
      }
    }
    for (const [key, m] of firsts) {
      const order = [...m].sort(([, x], [, y]) => x[0] - y[0] || x[1] - y[1])
      for (const [combo] of order) {
        const services = connecting(combo, combo, r.services)
        if (services.length === 0) continue
        append(allowedI, key, services)
      }
    }
  }
  let nAllowed = 0
  let nObserved = 0
  const exI: string[] = []
  for (const key of [...allowedI.keys()].sort()) {
    const m = measurePair(
      allowedI.get(key) ?? [],
      observedI.get(key) ?? new Set(),
      exI.length < examples,
    )
    nAllowed += m.size
    nObserved += m.seen
    if (m.size > m.seen && exI.length < examples)
      exI.push(`${key} ${m.unseen.map(formatService).join(',')}`)
  }
  return [workload, overPermissionOf('identity', nAllowed, nObserved, exI)]
}
