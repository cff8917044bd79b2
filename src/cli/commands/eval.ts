/**
 * @module `bulkhead eval "SRC -> DST PROTO/PORT"`: one verdict with the rule that decided it.
 */
import type { Command } from 'commander'
import {
  BulkheadError,
  entityName,
  formatService,
  normalizeIp,
  parseService,
  type Entity,
  type Inventory,
  type Service,
  type Verdict,
} from '../../core/index.js'
import { addressHoldsAt, evaluate, explainVerdict } from '../../policy/evaluate.js'
import { checkFormat, emit, EXIT, UsageError } from '../output.js'
import { loadOrThrow, parseTime } from '../workspace.js'

/** A parsed `SRC -> DST SERVICE` query. */
export interface EvalQuery {
  readonly src: string
  readonly dst: string
  readonly service: Service & { protocol: number }
  readonly dstPort: number
}

/**
 * Parses `SRC -> DST PROTO/PORT` (the arrow is optional). SRC and DST are IP addresses or
 * workload names; the service names one protocol and one port (or ICMP type, or none for `icmp`).
 * @throws UsageError when the text does not have that shape.
 */
export function parseEvalQuery(text: string): EvalQuery {
  const parts = text.replace('->', ' ').trim().split(/\s+/)
  if (parts.length !== 3) {
    throw new UsageError(
      `cannot read flow "${text}"`,
      'write "SRC -> DST PROTO/PORT", e.g. "10.0.1.5 -> 10.0.2.9 tcp/5432"',
    )
  }
  const [src = '', dst = '', svcText = ''] = parts
  const svc = parseService(svcText)
  if ('error' in svc)
    throw new BulkheadError([{ code: svc.code, severity: 'error', message: svc.error }])
  if (svc.protocol === 'any')
    throw new UsageError('the service of one flow must name a protocol, e.g. tcp/443')
  if (svc.ports.lo !== svc.ports.hi && svc.ports.lo !== 0) {
    throw new UsageError(`"${svcText}" is a range; one flow has one destination port`)
  }
  return { src, dst, service: svc, dstPort: svc.ports.lo }
}

/** An IP as given, or the address a workload (or named external) holds at `at`. */
export function resolveAddress(inventory: Inventory, nameOrIp: string, at: number): string {
  const ip = normalizeIp(nameOrIp)
  if (ip !== undefined) return ip
  const w = inventory.workloads.find((x) => x.name === nameOrIp)
  if (w) {
    const a = w.addresses.find((x) => addressHoldsAt(x, at))
    if (!a) {
      throw new UsageError(
        `workload "${nameOrIp}" holds no address at ${new Date(at).toISOString()}`,
        'pass --at a time when it had one, or give an IP',
      )
    }
    return a.ip
  }
  const x = inventory.externals.find((e) => e.name === nameOrIp)
  if (x) return normalizeIp(x.cidr.text.split('/')[0] ?? '') ?? x.cidr.text
  throw new UsageError(
    `"${nameOrIp}" is neither an IP address nor a workload or external in the inventory`,
  )
}

/** The JSON shape of `eval -o json`. Stable. */
export interface EvalOutput {
  readonly flow: { src: string; dst: string; service: string; at: string }
  readonly decision: Verdict['decision']
  readonly rule: { policy: string; id: string } | null
  readonly action: 'allow' | 'deny' | null
  readonly reason: string
  readonly srcMode: Verdict['srcMode']
  readonly dstMode: Verdict['dstMode']
  readonly outcome: Verdict['outcome']
  readonly src: { name: string; kind: string }
  readonly dst: { name: string; kind: string }
  readonly matched: Verdict['matched']
  readonly expired: Verdict['expired']
}

function entityOut(e: Entity): { name: string; kind: string } {
  return {
    name: entityName(e),
    kind: e.kind === 'workload' ? 'workload' : e.named ? 'external' : 'unmanaged',
  }
}

/** Registers `eval`. */
export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('evaluate one flow against the workspace policy and say which rule decided it')
    .argument('<flow>', '"SRC -> DST PROTO/PORT"; SRC and DST are IP addresses or workload names')
    .option('-w, --workspace <dir>', 'workspace folder', '.')
    .option(
      '--at <time>',
      'when the flow happens (ISO-8601); decides which workload holds an address and which rules have expired',
      'now',
    )
    .option('-o, --output <format>', 'text | json | yaml', 'text')
    .addHelpText(
      'after',
      `
Examples:
  $ bulkhead eval "10.20.1.11 -> 10.20.2.5 tcp/5432"
  $ bulkhead eval "pay-web-1 -> pay-db-1 tcp/5432" -o json
  $ bulkhead eval "ci-runner-7 -> 10.20.1.11 tcp/22" --at 2026-10-05T12:00:00Z
  $ bulkhead eval "2001:db8::11 -> 2001:db8::20 icmpv6/128"

Exit codes: 0 the flow was evaluated (allowed or denied), 1 bad input.`,
    )
    .action(async (flowText: string, opts: { workspace: string; at: string; output: string }) => {
      checkFormat(opts.output, ['text', 'json', 'yaml'])
      const at = parseTime(opts.at)
      const query = parseEvalQuery(flowText)
      const { inventory, policySet } = await loadOrThrow(opts.workspace, new Date(at))
      const src = resolveAddress(inventory, query.src, at)
      const dst = resolveAddress(inventory, query.dst, at)
      const v = evaluate(inventory, policySet, {
        src,
        dst,
        protocol: query.service.protocol,
        dstPort: query.dstPort,
        at,
      })
      const out: EvalOutput = {
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
        rule: v.by === 'default-deny' ? null : v.by.rule,
        action: v.by === 'default-deny' ? null : v.by.action,
        reason: explainVerdict(v),
        srcMode: v.srcMode,
        dstMode: v.dstMode,
        outcome: v.outcome,
        src: entityOut(v.src),
        dst: entityOut(v.dst),
        matched: v.matched,
        expired: v.expired,
      }
      emit(out, opts.output, renderEvalText)
      process.exitCode = EXIT.ok
    })
}

/** Human-readable rendering of an {@link EvalOutput}. */
export function renderEvalText(o: EvalOutput): string {
  const name = (ip: string, e: { name: string; kind: string }): string =>
    e.name === ip ? ip : `${ip} (${e.name})`
  const lines = [
    `${name(o.flow.src, o.src)} -> ${name(o.flow.dst, o.dst)} ${o.flow.service} at ${o.flow.at}`,
    `${o.decision.toUpperCase()}: ${o.reason}`,
    `enforcement: source ${o.srcMode}, destination ${o.dstMode} => ${o.outcome}`,
  ]
  return lines.join('\n')
}
