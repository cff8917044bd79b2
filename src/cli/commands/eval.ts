/**
 * @module `bulkhead eval "SRC -> DST PROTO/PORT"`: one verdict with the rule that decided it.
 */
import type { Command } from 'commander'
import {
  AddressRangeSet,
  BulkheadError,
  cidrCovers,
  entityName,
  formatIp,
  formatService,
  hasPorts,
  hostCidr,
  isIcmp,
  isIcmpReply,
  maxPort,
  normalizeIp,
  replyConnectionPort,
  parseIp,
  parseService,
  type Cidr,
  type Diagnostic,
  type Entity,
  type External,
  type Inventory,
  type PolicySet,
  type Service,
  type Verdict,
} from '../../core/index.js'
import { groupEnds } from '../../ingest/index.js'
import { addressHoldsAt, evaluate, explainVerdict } from '../../policy/evaluate.js'
import { emit, EXIT, UsageError, writePieces } from '../output.js'
import { outputOption, policyOption, timeOption, verb } from '../usage.js'
import { loadOrThrow } from '../workspace.js'

/** The options of `eval`. */
interface EvalCliOptions {
  workspace: string
  policy?: string
  at: number
  output: string
}

/** A parsed `SRC -> DST SERVICE` query ({@link parseEvalQuery}). */
export interface EvalQuery {
  readonly src: string
  readonly dst: string
  readonly service: Service & { protocol: number }
  readonly dstPort: number
}

/**
 * An endpoint written with its port, as `ss`, Zeek and URLs write one: `a.b.c.d:PORT` or
 * `[IPv6]:PORT` (RFC 3986 §3.2.2 brackets; `[IPv6]` alone is the address). Any other text
 * (an address without a port, a workload or external name) is returned as it is.
 * @throws UsageError for a port that is not a whole number 0–65535.
 */
function splitEndpoint(text: string): { host: string; port?: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3}))(?::(\d+))?$/.exec(text)
  if (m === null) return { host: text }
  const host = m[1] ?? m[2] ?? text
  if (m[3] === undefined) return { host }
  const port = Number(m[3])
  if (port > 65535)
    throw new UsageError(`port ${m[3]} of "${text}" is outside 0–65535`, 'give a port 0–65535')
  return { host, port }
}

/**
 * The three parts of `SRC -> DST PROTO/PORT`: with the arrow, SRC is all before it and the
 * service the last word after it, so that a workload name may hold blanks (an AWS `Name` tag,
 * "Web Server 1"); without it, exactly three words. Undefined for any other shape.
 */
function flowParts(text: string): [string, string, string] | undefined {
  const arrow = text.indexOf('->')
  if (arrow < 0) {
    const words = text.trim().split(/\s+/)
    return words.length === 3 ? (words as [string, string, string]) : undefined
  }
  const src = text.slice(0, arrow).trim()
  const rest = text.slice(arrow + 2).trim()
  const cut = rest.search(/\s\S+$/)
  if (src === '' || cut < 0) return undefined
  const dst = rest.slice(0, cut).trim()
  const service = rest.slice(cut).trim()
  return dst === '' ? undefined : [src, dst, service]
}

/**
 * Parses `SRC -> DST PROTO/PORT` (the arrow is optional). SRC and DST are IP addresses or
 * workload names (holding blanks only with the arrow: {@link flowParts}); the service names one protocol and one port (one ICMP type for `icmp` and
 * `icmpv6`; none for protocols without ports, such as GRE). DST may carry the port instead,
 * `10.0.2.9:5432` or `[2001:db8::9]:443`, with the bare protocol (`tcp`, `udp`, `sctp`); a port
 * on SRC is read and left out, as rules name destination services only (DESIGN.md "service").
 * @throws UsageError when the text does not have that shape, or when DST's port and the
 *   service's disagree.
 */
export function parseEvalQuery(text: string): EvalQuery {
  const parts = flowParts(text)
  if (parts === undefined) {
    throw new UsageError(
      `cannot read flow "${text}"`,
      'write "SRC -> DST PROTO/PORT", e.g. "10.0.1.5 -> 10.0.2.9 tcp/5432" (with the arrow, a name may hold blanks: "Web Server 1 -> db-1 tcp/5432")',
    )
  }
  const [srcText, dstText, written] = parts
  const src = splitEndpoint(srcText).host
  const { host: dst, port: dstPort } = splitEndpoint(dstText)
  const svcText = dstPort === undefined ? written : withPort(written, dstPort, dstText, dst)
  const svc = parseService(svcText)
  if ('error' in svc)
    throw new BulkheadError([{ code: svc.code, severity: 'error', message: svc.error }])
  if (svc.protocol === 'any')
    throw new UsageError('the service of one flow must name a protocol, e.g. tcp/443')
  if (hasPorts(svc.protocol) || isIcmp(svc.protocol)) {
    // one flow has one destination port (one ICMP type): `tcp` alone is not port 0, nor `icmp`
    // type 0 (an echo reply, judged in reverse)
    if (svc.ports.lo !== svc.ports.hi) {
      const icmp = isIcmp(svc.protocol)
      const what = icmp ? 'ICMP type' : 'destination port'
      const every = svc.ports.lo === 0 && svc.ports.hi === maxPort(svc.protocol)
      throw new UsageError(
        `"${svcText}" names ${every ? `every ${what}` : `a range of ${what}s`}; one flow has one ${what}`,
        icmp
          ? `e.g. ${svc.protocol === 1 ? 'icmp/8' : 'icmpv6/128'} for an echo request`
          : // the protocol by name: `proto/6` is tcp, and proto/443 would be no protocol
            `e.g. ${formatService({ protocol: svc.protocol, ports: { lo: 443, hi: 443 } })}`,
      )
    }
    checkFamilies(src, dst, svc.protocol)
    return { src, dst, service: svc, dstPort: svc.ports.lo }
  }
  checkFamilies(src, dst, svc.protocol)
  // a protocol without ports (GRE, ESP, `proto/47`): its flows have none
  return { src, dst, service: svc, dstPort: 0 }
}

/**
 * The service of a flow whose destination was written with its port: the bare protocol given
 * that port, or the service as written when it names the same one port.
 * @throws UsageError when the service names another port, or a protocol without ports (for
 *   ICMP/ICMPv6 the hint names one type, as eval takes one: `icmp/8`).
 */
function withPort(written: string, port: number, dstText: string, host: string): string {
  const svc = parseService(written)
  if ('error' in svc) return written
  const protocol = written.split('/')[0] ?? written
  const mine = `${protocol}/${String(port)}`
  if (svc.protocol !== 'any' && hasPorts(svc.protocol)) {
    if (!written.includes('/')) return mine
    if (svc.ports.lo === port && svc.ports.hi === port) return written
  }
  throw new UsageError(
    `"${dstText}" gives destination port ${String(port)} and the service is "${written}"`,
    svc.protocol === 'any'
      ? `name the protocol, e.g. "… -> ${dstText} tcp"`
      : hasPorts(svc.protocol)
        ? `give the port once, e.g. "… -> ${host} ${mine}"`
        : isIcmp(svc.protocol)
          ? // `icmp` alone names every type, which eval refuses: the hint names one
            `${protocol} has no ports; the service names one ICMP type: write "… -> ${host} ${written.includes('/') ? written : `${protocol}/${svc.protocol === 1 ? '8' : '128'}`}"`
          : `${protocol} has no ports: write "… -> ${host} ${written}"`,
  )
}

/**
 * The address family ICMP needs (4), or ICMPv6 (6) (RFC 4443); `undefined` for other protocols.
 */
function icmpFamily(protocol: number): 4 | 6 | undefined {
  return protocol === 1 ? 4 : protocol === 58 ? 6 : undefined
}

/**
 * Checks the address families of a flow's two ends: one family for both, and IPv4 for `icmp`,
 * IPv6 for `icmpv6`. An end that is no IP address (a workload name, not yet resolved) is not
 * checked, so the command line's own errors are found before the workspace is read and the
 * resolved addresses are checked again after.
 * @throws UsageError (`cli/usage`) on a mismatch.
 */
function checkFamilies(srcText: string, dstText: string, protocol: number): void {
  const src = normalizeIp(srcText)
  const dst = normalizeIp(dstText)
  if (src !== undefined && dst !== undefined && familyOf(src) !== familyOf(dst)) {
    throw new UsageError(
      `${src} is IPv${String(familyOf(src))} and ${dst} is IPv${String(familyOf(dst))}: one flow has one address family`,
      'give two addresses of the same family',
    )
  }
  const wanted = icmpFamily(protocol)
  const wrong = [src, dst].find((ip) => ip !== undefined && familyOf(ip) !== wanted)
  if (wanted !== undefined && wrong !== undefined) {
    const flow = src !== undefined && dst !== undefined ? `${src} -> ${dst}` : wrong
    throw new UsageError(
      `${protocol === 1 ? 'icmp' : 'icmpv6'} is IPv${String(wanted)} only, and ${flow} is IPv${String(familyOf(wrong))}`,
      wanted === 4 ? 'use icmpv6 between IPv6 addresses' : 'use icmp between IPv4 addresses',
    )
  }
  // a packet no host sends (RFC 1112 §4, RFC 4291 §2.7, RFC 1122 §3.2.1.3): the flow readers turn
  // such a record round or skip it (`group-source-swapped`, `no-sender`), so judging it as
  // written would disagree with simulate on the same tuple
  if (src !== undefined && dst !== undefined) {
    const ends = groupEnds({ src, dst, protocol })
    if (ends === 'swap' || ends === 'no-sender')
      throw new UsageError(
        `${src} -> ${dst}: a multicast group or the broadcast is never a packet's source, nor 0.0.0.0 or :: its destination`,
        ends === 'swap'
          ? `write it the way the packet goes: ${dst} -> ${src}`
          : 'no host sends such a packet: flow readers skip it as no-sender',
      )
  }
}

/**
 * An IP as given, or the address a workload (or named external) holds at `at`: of a workload's
 * addresses then, the first of `family` when given and held, else the first; of an external, the
 * first address of its block that is its own ({@link externalAddress}).
 * @returns the address, and how many the workload held (1 for an IP; for an external, 2 when its
 *   block holds more than one address of its own).
 * @throws BulkheadError `eval/unknown-endpoint` for a name the inventory does not hold;
 *   UsageError for a workload that holds no address at `at`, or an external none of whose
 *   addresses is its own then.
 */
export function resolveAddress(
  inventory: Inventory,
  nameOrIp: string,
  at: number,
  family?: 4 | 6,
): { ip: string; held: number } {
  const ip = normalizeIp(nameOrIp)
  if (ip !== undefined) return { ip, held: 1 }
  const w = inventory.workloads.find((x) => x.name === nameOrIp)
  if (w) {
    const held = w.addresses.filter((x) => addressHoldsAt(x, at))
    const a = held.find((x) => familyOf(x.ip) === family) ?? held[0]
    if (!a) {
      throw new UsageError(
        `workload "${nameOrIp}" holds no address at ${new Date(at).toISOString()}`,
        'pass --at a time when it had one, or give an IP',
      )
    }
    return { ip: a.ip, held: held.length }
  }
  const x = inventory.externals.find((e) => e.name === nameOrIp)
  if (x) return externalAddress(inventory, x, at)
  throw new BulkheadError([
    {
      code: 'eval/unknown-endpoint',
      severity: 'error',
      message: `"${nameOrIp}" is neither an IP address nor a workload or external in the inventory`,
      hint: 'give an IP address, or a name `bulkhead inventory` lists',
    },
  ])
}

/**
 * The first address of external `x`'s block that resolves to `x` at `at`: not held by a workload
 * then, and not inside a narrower named external (nor an earlier external of the same block),
 * since an address belongs to the workload holding it, else to the narrowest named external
 * (README "What each form means"). Its block's first address may be neither.
 * @returns the address, and how many addresses of its own `x` has (capped: only more than 1
 *   matters, to say that one of several was judged).
 * @throws UsageError when every address of the block belongs to another entity at `at`.
 */
function externalAddress(
  inventory: Inventory,
  x: External,
  at: number,
): { ip: string; held: number } {
  const family = x.cidr.family
  const index = inventory.externals.indexOf(x)
  const others = inventory.externals.filter(
    (e, i) =>
      e.cidr.family === family &&
      cidrCovers(x.cidr, e.cidr) &&
      (e.cidr.prefix > x.cidr.prefix || i < index),
  )
  const held: Cidr[] = []
  for (const w of inventory.workloads)
    for (const a of w.addresses) {
      const ip = addressHoldsAt(a, at) ? parseIp(a.ip) : undefined
      if (ip?.family === family) held.push(hostCidr(ip))
    }
  const own = AddressRangeSet.fromCidrs(family, [x.cidr]).minus(
    AddressRangeSet.fromCidrs(family, [...others.map((e) => e.cidr), ...held]),
  )
  const first = own.ranges[0]
  if (first === undefined) {
    throw new UsageError(
      `external "${x.name}" (${x.cidr.text}) holds no address of its own at ${new Date(at).toISOString()}: narrower externals or workloads hold all of it`,
      'give an IP address',
    )
  }
  return { ip: formatIp({ family, value: first.lo }), held: own.size > 1n ? 2 : 1 }
}

function familyOf(ip: string): 4 | 6 {
  return ip.includes(':') ? 6 : 4
}

/** The JSON shape of `eval -o json`. Stable. */
export interface EvalOutput {
  readonly flow: { src: string; dst: string; service: string; at: string }
  readonly decision: Verdict['decision']
  /**
   * What decided: `rule` (named in `rule`), `default-deny` (no live allow rule matches), or one
   * of the two allowances no rule judges (README "Semantics"): `link-control` (IPv6 neighbour
   * and multicast listener discovery, IPv4 IGMP) and `related` (an ICMP error message).
   */
  readonly by: 'rule' | 'default-deny' | 'link-control' | 'related'
  readonly rule: { policy: string; id: string } | null
  readonly action: 'allow' | 'deny' | null
  readonly reason: string
  readonly srcMode: Verdict['srcMode']
  readonly dstMode: Verdict['dstMode']
  /**
   * Only for a flow to a multicast group or the broadcast: the strongest mode of the workloads
   * that may receive it (every workload holding an address then), which judge it at their ingress.
   */
  readonly receiversMode?: Verdict['receiversMode']
  readonly outcome: Verdict['outcome']
  readonly src: { name: string; kind: string }
  readonly dst: { name: string; kind: string }
  readonly matched: Verdict['matched']
  readonly expired: Verdict['expired']
  /**
   * For an ICMP reply type (echo reply, ...): the request it answers, on which it was judged
   * (DESIGN.md rule 3: an allowed flow's replies are allowed), as `SRC -> DST SERVICE`.
   */
  readonly judgedAs?: string
  /**
   * Workloads named in the query that held several addresses, and externals named in it whose
   * block holds several of its own: the one judged is in `flow`.
   */
  readonly severalAddresses?: readonly string[]
}

function entityOut(e: Entity): { name: string; kind: string } {
  return {
    name: entityName(e),
    kind: e.kind === 'workload' ? 'workload' : e.named ? 'external' : 'unmanaged',
  }
}

/** Registers `eval`. */
export function registerEval(program: Command): void {
  verb(program, 'eval')
    .description('evaluate flows against the workspace policy and say which rule decided each')
    .argument(
      '<flow...>',
      'one or more flows, each "SRC -> DST PROTO/PORT"; SRC and DST are IP addresses, workload names or external names; "SRC -> ADDR:PORT PROTO" and [IPv6]:PORT also read',
      readFlow,
    )
    .option('-w, --workspace <dir>', 'workspace folder', '.')
    .addOption(policyOption('judge the flow by'))
    .addOption(
      timeOption(
        '--at <time>',
        'when the flow happens (ISO-8601); decides which workload holds an address and which rules have expired',
      ),
    )
    .addOption(outputOption(['text', 'json', 'yaml', 'jsonl'], 'text'))
    .addHelpText(
      'after',
      `
Several flows are judged in one run: text prints their verdicts one after the other, json and yaml
a list (one flow: the verdict itself), jsonl one verdict per line whatever their number. A flow
that cannot be read or resolved stops the run before any verdict is printed, with every such flow
named.

Examples:
  $ bulkhead eval "10.20.2.10 -> 10.20.3.10 tcp/5432"
  $ bulkhead eval "pay-web-1 -> pay-db-1 tcp/5432" -o json
  $ bulkhead eval "ci-runner-1 -> 10.20.1.11 tcp/22" --at 2026-11-01T12:00:00Z
  $ bulkhead eval "2001:db8::11 -> 2001:db8::20 icmpv6/128"
  $ bulkhead eval "10.20.1.10:51234 -> 10.20.3.10:5432 tcp"     # as ss and Zeek write endpoints
  $ bulkhead eval "pay-web-1 -> pay-db-1 tcp/5432" --policy HEAD~1:policy
  $ bulkhead eval "pay-web-1 -> pay-db-1 tcp/5432" "pay-web-1 -> dc-1 tcp/445" -o jsonl

Exit codes: 0 the flows were evaluated (allowed or denied), 1 bad input.`,
    )
    // every flow that cannot be read, named, before the workspace is read
    .hook('preAction', (_, action) => {
      const flows = action.processedArgs[0] as EvalFlows
      if (flows.problems.length > 0)
        throw new BulkheadError(flows.problems.map(namedIn(flows.texts)))
    })
    .action(async (flows: EvalFlows, opts: EvalCliOptions) => {
      const at = opts.at
      const { inventory, policySet } = await loadOrThrow(opts.workspace, new Date(at), opts.policy)
      const problems: (Diagnostic & { readonly flow: number })[] = []
      const outs: EvalOutput[] = []
      flows.queries.forEach((q, i) => {
        try {
          outs.push(evalQuery(inventory, policySet, q, at))
        } catch (err) {
          if (!(err instanceof BulkheadError)) throw err
          problems.push(...err.diagnostics.map((d) => ({ ...d, flow: i })))
        }
      })
      // nothing printed half: every flow that cannot be resolved, named
      if (problems.length > 0) throw new BulkheadError(problems.map(namedIn(flows.texts)))
      if (opts.output === 'jsonl') writePieces(outs.map((o) => `${JSON.stringify(o)}\n`))
      else if (outs.length === 1) emit(outs[0] as EvalOutput, opts.output, renderEvalText)
      else emit(outs, opts.output, (list) => list.map(renderEvalText).join('\n\n'))
      process.exitCode = EXIT.ok
    })
}

/**
 * The flows of the command line ({@link readFlow}): their texts, the parsed ones in order, and
 * the problems of the others, each with the index of its flow.
 */
interface EvalFlows {
  readonly texts: string[]
  readonly queries: EvalQuery[]
  readonly problems: (Diagnostic & { readonly flow: number })[]
}

/**
 * The argument parser of `<flow...>` (commander calls it once a flow, with what it returned
 * before): reads `text` with {@link parseEvalQuery} and keeps its problems instead of throwing, so
 * that every flow that cannot be read is reported at once (by the verb's `preAction` hook).
 */
function readFlow(text: string, previous: EvalFlows | undefined): EvalFlows {
  const flows = previous ?? { texts: [], queries: [], problems: [] }
  const flow = flows.texts.length
  flows.texts.push(text)
  try {
    flows.queries.push(parseEvalQuery(text))
  } catch (err) {
    if (!(err instanceof BulkheadError)) throw err
    flows.problems.push(...err.diagnostics.map((d) => ({ ...d, flow })))
  }
  return flows
}

/**
 * A problem of one flow as reported: its message names the flow (`flow 2 "…": …`) when the
 * command line gave several.
 */
function namedIn(
  texts: readonly string[],
): (d: Diagnostic & { readonly flow: number }) => Diagnostic {
  return ({ flow, ...d }) =>
    texts.length > 1
      ? { ...d, message: `flow ${String(flow + 1)} "${texts[flow] ?? ''}": ${d.message}` }
      : d
}

/**
 * The verdict of one parsed flow at `at` (ms) as `eval -o json` prints it: workload and external
 * names resolved to the address they hold then, judged by the reference evaluator (an ICMP reply
 * as the request it answers).
 * @throws as {@link resolveAddress}; UsageError when the resolved addresses' families differ.
 */
function evalQuery(
  inventory: Inventory,
  policySet: PolicySet,
  query: EvalQuery,
  at: number,
): EvalOutput {
  const protocol = query.service.protocol
  // ICMP is IPv4's and ICMPv6 IPv6's (RFC 4443); otherwise the other side's address family
  // decides which of a dual-stack workload's addresses
  const wanted = icmpFamily(protocol)
  const srcFirst = resolveAddress(inventory, query.src, at, wanted)
  const dstR = resolveAddress(inventory, query.dst, at, wanted ?? familyOf(srcFirst.ip))
  const srcR = resolveAddress(inventory, query.src, at, wanted ?? familyOf(dstR.ip))
  const src = srcR.ip
  const dst = dstR.ip
  // again with the addresses workload names resolved to
  checkFamilies(src, dst, protocol)
  // an ICMP reply is judged as the request it answers, as simulate judges replies read
  // from flow logs (DESIGN.md rule 3)
  const reply = isIcmpReply(protocol, query.dstPort)
  const v = evaluate(
    inventory,
    policySet,
    { src, dst, protocol, dstPort: query.dstPort, at },
    { reply },
  )
  const request = replyConnectionPort(protocol, 0, query.dstPort)
  const several = [
    ...(srcR.held > 1 ? [query.src] : []),
    ...(dstR.held > 1 && query.dst !== query.src ? [query.dst] : []),
  ]
  return {
    flow: {
      src,
      dst,
      service: formatService({
        protocol: query.service.protocol,
        ports: { lo: query.dstPort, hi: query.dstPort },
      }),
      at: new Date(at).toISOString(),
    },
    decision: v.decision,
    by: typeof v.by === 'string' ? v.by : 'rule',
    rule: typeof v.by === 'string' ? null : v.by.rule,
    action: typeof v.by === 'string' ? null : v.by.action,
    reason: explainVerdict(v),
    // the verdict is the connection's (reversed for a reply); shown the flow's way round
    srcMode: reply ? v.dstMode : v.srcMode,
    dstMode: reply ? v.srcMode : v.dstMode,
    ...(v.receiversMode !== undefined ? { receiversMode: v.receiversMode } : {}),
    outcome: v.outcome,
    src: entityOut(reply ? v.dst : v.src),
    dst: entityOut(reply ? v.src : v.dst),
    matched: v.matched,
    expired: v.expired,
    ...(reply
      ? {
          judgedAs: `${dst} -> ${src} ${formatService({ protocol, ports: { lo: request, hi: request } })}`,
        }
      : {}),
    ...(several.length > 0 ? { severalAddresses: several } : {}),
  }
}

/** Human-readable rendering of an {@link EvalOutput}. */
export function renderEvalText(o: EvalOutput): string {
  const name = (ip: string, e: { name: string; kind: string }): string =>
    e.name === ip ? ip : `${ip} (${e.name})`
  const lines = [
    `${name(o.flow.src, o.src)} -> ${name(o.flow.dst, o.dst)} ${o.flow.service} at ${o.flow.at}`,
    ...(o.judgedAs !== undefined
      ? [
          `a reply: judged as the request it answers, ${o.judgedAs} (replies of allowed flows are allowed)`,
        ]
      : []),
    ...(o.severalAddresses ?? []).map(
      (n) => `${n} holds several addresses: this one judged; give an address to judge another`,
    ),
    `${o.decision.toUpperCase()}: ${o.reason}`,
    `enforcement: source ${o.srcMode}, destination ${o.dstMode}${o.receiversMode !== undefined ? `, receivers of the group ${o.receiversMode}` : ''} => ${o.outcome}`,
  ]
  return lines.join('\n')
}
