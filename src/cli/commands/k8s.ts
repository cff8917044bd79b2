/**
 * @module `bulkhead k8s connlist DIR` and `bulkhead k8s eval DIR SRC DST PROTO/PORT`: the
 * connectivity that Kubernetes manifests (NetworkPolicy, AdminNetworkPolicy,
 * BaselineAdminNetworkPolicy, Ingress, Route) allow, in np-guard's connlist format; and
 * `bulkhead k8s import DIR --out POLICY_DIR`: those policies as Bulkhead policy files.
 */
import { existsSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { Option, type Command } from 'commander'
import {
  BulkheadError,
  hasErrors,
  parseCidr,
  type Cidr,
  type Diagnostic,
  counted,
} from '../../core/index.js'
import {
  analyzeModel,
  evaluateK8s,
  findEndpoint,
  formatK8sConnlist,
  importManifests,
  k8sProtocol,
  loadModel,
  npGuardConnections,
  readManifestFiles,
  renderImport,
  type DirectionDecision,
  type K8sConnlistFormat,
  type K8sVerdict,
} from '../../kubernetes/index.js'
import { emit, EXIT, printDiagnostics, UsageError, makeDirectory, toYaml } from '../output.js'
import { mandatory, outputOption, verb } from '../usage.js'

const CONNLIST_FORMATS = ['txt', 'text', 'json', 'yaml', 'csv', 'md', 'dot'] as const
const EVAL_FORMATS = ['text', 'json', 'yaml'] as const
const PROTOCOL_TEXT: Readonly<Record<number, string>> = { 6: 'TCP', 17: 'UDP', 132: 'SCTP' }

/** Loads a manifest folder; errors (bad YAML, invalid policies) throw, warnings print to stderr. */
function load(dir: string): ReturnType<typeof loadModel> {
  if (!existsSync(dir)) {
    throw new BulkheadError([
      { code: 'io/not-found', severity: 'error', message: `${dir} does not exist` },
    ])
  }
  const loaded = loadModel(readManifestFiles(dir))
  if (hasErrors(loaded.diagnostics)) throw new BulkheadError(loaded.diagnostics)
  const notes: Diagnostic[] = loaded.diagnostics
  printDiagnostics(notes)
  return loaded
}

/**
 * Parses `tcp/80` (TCP, UDP or SCTP, one port 1–65535): `k8s eval`'s `<service>` argument, checked
 * by commander before the manifests are read (`../usage.ts`).
 * @throws BulkheadError `k8s/bad-connection` (its code since `k8s eval` began; a usage error,
 *   exit 1, held with the command line's other errors by `holdUsageErrors`).
 */
export function parseK8sService(text: string): { protocol: number; port: number } {
  const m = /^([a-zA-Z]+)\/(\d{1,5})$/.exec(text.trim())
  const protocol = m ? k8sProtocol((m[1] as string).toUpperCase()) : undefined
  const port = m ? Number(m[2]) : NaN
  if (!m || protocol === undefined || port < 1 || port > 65535) {
    throw new BulkheadError([
      {
        code: 'k8s/bad-connection',
        severity: 'error',
        message: `cannot read "${text}" as PROTO/PORT`,
        hint: 'write tcp/8080, udp/53 or sctp/9003 (port 1–65535)',
      },
    ])
  }
  return { protocol, port }
}

function renderDirection(d: DirectionDecision): string[] {
  const out = [`  ${d.direction} at ${d.pod}: ${d.allowed ? 'allowed' : 'denied'}`]
  for (const s of d.steps) {
    const who = s.policy ? ` ${s.policy}${s.rule ? ` rule ${s.rule}` : ''}` : ''
    out.push(`    ${s.layer}${who}: ${s.action} (${s.detail})`)
  }
  return out
}

/** The text rendering of a verdict. */
export function renderK8sVerdict(v: K8sVerdict): string {
  const svc = `${PROTOCOL_TEXT[v.protocol] ?? v.protocol} ${v.port}`
  const lines = [`${v.src} => ${v.dst} : ${svc} ${v.allowed ? 'ALLOWED' : 'DENIED'}`]
  for (const n of v.notes ?? []) lines.push(`  ${n}`)
  if (v.egress) lines.push(...renderDirection(v.egress))
  if (v.ingress) lines.push(...renderDirection(v.ingress))
  if (!v.egress && !v.ingress) lines.push('  two addresses: not connections the cluster carries')
  return `${lines.join('\n')}\n`
}

/** What `k8s import` reports (`-o json`). */
export interface K8sImportOutput {
  readonly policies: number
  readonly rules: number
  readonly workloads: number
  readonly externals: number
  readonly written: readonly string[]
}

/**
 * `k8s import --assign-addresses`: CIDR blocks (host bits zero), comma-separated or in repeated
 * options, at most one per address family (added to `previous`, the blocks of earlier options).
 * @throws UsageError otherwise.
 */
function assignAddresses(text: string, previous: readonly Cidr[] = []): Cidr[] {
  const out = [...previous]
  for (const part of text.split(',')) {
    const c = parseCidr(part.trim())
    if (typeof c === 'string') throw new UsageError(`--assign-addresses: ${c}`)
    if (out.some((b) => b.family === c.family))
      throw new UsageError(
        `--assign-addresses: at most one IPv${String(c.family)} block (${c.text} after ${out.find((b) => b.family === c.family)?.text ?? ''})`,
      )
    out.push(c)
  }
  return out
}

/**
 * `k8s import`: imports the manifests under `dir`, refusing (exit 1, nothing written) when any
 * policy is invalid or not importable, or when a file to write exists and `force` is not set.
 * Policies go to `out/<policy>.yaml`, the inventory to `inventoryFile`; pods without an address
 * get consecutive ones from `assignAddresses` (already parsed: the command line's blocks, one per family).
 */
export function runK8sImport(
  dir: string,
  opts: { out: string; inventory?: string; force?: boolean; assignAddresses?: readonly Cidr[] },
): K8sImportOutput {
  if (!existsSync(dir)) {
    throw new BulkheadError([
      { code: 'io/not-found', severity: 'error', message: `${dir} does not exist` },
    ])
  }
  const assign = opts.assignAddresses
  const result = importManifests(readManifestFiles(dir), assign ? { assignAddresses: assign } : {})
  if (hasErrors(result.diagnostics)) throw new BulkheadError(result.diagnostics)
  printDiagnostics(result.diagnostics)
  const files = renderImport(result)
  const inventoryFile =
    opts.inventory ??
    path.join(path.dirname(path.resolve(opts.out)), 'inventory', 'kubernetes.yaml')
  const targets: [string, string][] = [...files].map(([f, text]) =>
    f === 'inventory.yaml' ? [inventoryFile, text] : [path.join(opts.out, f), text],
  )
  const existing = targets.filter(([p]) => existsSync(p)).map(([p]) => p)
  if (existing.length > 0 && opts.force !== true) {
    throw new UsageError(
      `${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}; nothing written`,
      'pass --force to overwrite',
    )
  }
  for (const [p, text] of targets) {
    makeDirectory(path.dirname(p))
    writeFileSync(p, text)
  }
  return {
    policies: result.policies.length,
    rules: result.policies.reduce((n, p) => n + p.rules.length, 0),
    workloads: result.inventory.workloads.length,
    externals: result.inventory.externals.length,
    written: targets.map(([p]) => p),
  }
}

/** Registers `k8s connlist`, `k8s eval` and `k8s import`. */
export function registerK8s(program: Command): void {
  const k8s = program
    .command('k8s')
    .description(
      'analyse Kubernetes manifests: NetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy',
    )
    // `eval [options] <dir> <src> <dst> <service>` leaves 34 columns of 80 for the descriptions,
    // below commander's default of 40 for wrapping: wrap them there too, as every other list
    .configureHelp({ minWidthToWrap: 30 })
    .addHelpText(
      'after',
      `
Examples:
  $ bulkhead k8s connlist manifests/                      # every allowed connection, np-guard format
  $ bulkhead k8s eval manifests/ shop/web shop/api tcp/9000
  $ bulkhead k8s import manifests/ --out ws/policy --assign-addresses 10.244.0.0/16

Exit codes: each subcommand's (bulkhead k8s <subcommand> --help): 0 done, 1 bad input.`,
    )
  verb(k8s, 'connlist')
    .description(
      'list every connection the policies in a folder of Kubernetes manifests allow (np-guard format)',
    )
    .argument(
      '<dir>',
      'folder (or file) of YAML/JSON manifests: workloads, namespaces, services, policies, Ingress, Route',
    )
    .addOption(outputOption(CONNLIST_FORMATS, 'txt', ' (text = txt)'))
    .option(
      '--ipv6',
      'also list the connections of IPv6 address ranges (np-guard lists IPv4 ranges only)',
    )
    .addHelpText(
      'after',
      `
Each line is "SRC => DST : CONNS", sorted. Workloads are "namespace/name[Kind]" after their
owner, address ranges "first-last[External]" split at the edges of what each ipBlock admits
(IPv4 only, as np-guard lists them; --ipv6 adds IPv6 ranges, with a warning when left out), and
"{ingress-controller}" reaches what Ingress and Route objects expose. CONNS is "All Connections"
or e.g. "SCTP 1-65535,TCP 1-79,81-65535,UDP 53". Invalid policies are errors with file:line:col.

Examples:
  $ bulkhead k8s connlist manifests/
  $ bulkhead k8s connlist manifests/ -o md > connectivity.md

Exit codes: 0 listed, 1 bad input.`,
    )
    .action((dir: string, opts: { output: string; ipv6?: boolean }) => {
      const { model, diagnostics } = load(dir)
      const a = analyzeModel(model, diagnostics)
      const listed = npGuardConnections(a)
      const connections = opts.ipv6 === true ? a.connections : listed.connections
      if (opts.ipv6 !== true && listed.ipv6LeftOut > 0)
        printDiagnostics([
          {
            code: 'k8s/ipv6-not-listed',
            severity: 'warning',
            message: `${counted(listed.ipv6LeftOut, 'connection')} of IPv6 address ranges not listed, as np-guard lists none; --ipv6 lists them`,
          },
        ])
      if (opts.output === 'yaml') {
        // the rows of -o json, as YAML (as `bulkhead connlist -o yaml`)
        process.stdout.write(toYaml(JSON.parse(formatK8sConnlist(connections, 'json'))))
      } else {
        const format = (opts.output === 'text' ? 'txt' : opts.output) as K8sConnlistFormat
        process.stdout.write(formatK8sConnlist(connections, format))
      }
      process.exitCode = EXIT.ok
    })
  verb(k8s, 'eval')
    .description('the verdict on one connection, with the policies and rules that decide it')
    .argument('<dir>', 'folder (or file) of Kubernetes manifests')
    .argument(
      '<src>',
      'source: namespace/name[Kind], namespace/name, a pod namespace/pod, an IP, or {ingress-controller}',
    )
    .argument('<dst>', 'destination, as the source')
    .argument('<service>', 'PROTO/PORT: tcp/8080, udp/53, sctp/9003', parseK8sService)
    .addOption(outputOption(EVAL_FORMATS, 'text'))
    .addHelpText(
      'after',
      `
Examples:
  $ bulkhead k8s eval manifests/ shop/web shop/api tcp/9000
  $ bulkhead k8s eval manifests/ "shop/web[Deployment]" 8.8.8.8 udp/53 -o json

Exit codes: 0 evaluated (allowed or denied), 1 bad input.`,
    )
    .action(
      (
        dir: string,
        srcText: string,
        dstText: string,
        { protocol, port }: ReturnType<typeof parseK8sService>,
        opts: { output: string },
      ) => {
        const { model } = load(dir)
        const src = findEndpoint(model, srcText)
        const dst = findEndpoint(model, dstText)
        for (const e of [src, dst]) {
          if (typeof e === 'string')
            throw new BulkheadError([
              { code: 'k8s/unknown-endpoint', severity: 'error', message: e },
            ])
        }
        if (typeof src === 'string' || typeof dst === 'string') throw new UsageError('unreachable')
        const v = evaluateK8s(model, src, dst, protocol, port)
        emit(v, opts.output, (x) => renderK8sVerdict(x))
        process.exitCode = EXIT.ok
      },
    )
  verb(k8s, 'import')
    .description(
      'turn the NetworkPolicies (and AdminNetworkPolicies where expressible) of a folder of manifests into Bulkhead policy files and an inventory',
    )
    .argument('<dir>', 'folder (or file) of Kubernetes manifests')
    .addOption(
      mandatory(new Option('--out <dir>', 'policy folder to write <policy>.yaml files to')),
    )
    .option(
      '--inventory <file>',
      'where to write the inventory of the pods (default: <out>/../inventory/kubernetes.yaml)',
    )
    .option(
      '--assign-addresses <cidrs>',
      'give pods without an IP (plain manifests) an address from each block (one per family: 10.244.0.0/16,fd00:10:244::/64)',
      assignAddresses,
    )
    .option('--force', 'overwrite files that exist')
    .addOption(outputOption(EVAL_FORMATS, 'text'))
    .addHelpText(
      'after',
      `
One policy per NetworkPolicy (np-<namespace>-<name>), AdminNetworkPolicy (anp-<name>) and
BaselineAdminNetworkPolicy (banp-<name>), plus k8s-unisolated for pods no policy isolates.
Owner: the annotation bulkhead.dev/owner, else "imported". \`bulkhead connlist\` of the result
gives the connections \`bulkhead k8s connlist\` of the manifests gives (ranges named after the
imported block-<cidr> externals) once the pods have addresses: plain manifests have none
(warning k8s/no-pod-address), so pass --assign-addresses, with an IPv6 block too when the
policies name IPv6 blocks (k8s connlist takes both families for such pods). The admin policies' first-match order (Allow,
Deny, Pass) is worked out per pod and written as deny rules, or rules to peers by name, where
Bulkhead's deny-beats-allow needs them. A pod selector on the namespace key or on a namespace
label is a k8s/not-importable error; nothing is written then.

Examples:
  $ bulkhead k8s import manifests/ --out policy/
  $ bulkhead k8s import manifests/ --out ws/policy --assign-addresses 10.244.0.0/16 --force

Exit codes: 0 written, 1 bad input, not importable, or files exist without --force.`,
    )
    .action(
      (
        dir: string,
        opts: {
          out: string
          inventory?: string
          force?: boolean
          assignAddresses?: readonly Cidr[]
          output: string
        },
      ) => {
        const out = runK8sImport(dir, opts)
        emit(
          out,
          opts.output,
          (x) =>
            `imported ${counted(x.policies, 'policy', 'policies')} (${counted(x.rules, 'rule')}), ${counted(x.workloads, 'workload')}, ${counted(x.externals, 'external')}\n${x.written.map((w) => `  wrote ${w}`).join('\n')}\n`,
        )
        process.exitCode = EXIT.ok
      },
    )
}
