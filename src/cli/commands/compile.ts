/**
 * @module `bulkhead compile --target T --out DIR`: enforcement artefacts for one target.
 */
import { readFileSync, realpathSync, statSync } from 'node:fs'
import path from 'node:path'
import { Option, type Command } from 'commander'
import {
  BulkheadError,
  ioDiagnostic,
  parseCidr,
  sortDiagnostics,
  type Cidr,
  type Diagnostic,
  type Inventory,
  type Workspace,
  counted,
} from '../../core/index.js'
import {
  AWS_SG_RULES_PER_GROUP,
  awsSgCompiler,
  azureNsgCompiler,
  calicoCompiler,
  ciliumCompiler,
  ciliumLabelFilter,
  parseCiliumLabelPrefixFile,
  type CiliumFilePrefix,
  iptablesCompiler,
  kubernetesCompiler,
  nftablesCompiler,
  podNamespace,
  DEFAULT_MAX_TIME_SLICES,
  TARGET_NAMES,
  recompileAt,
  type CompileResult,
  type Direction,
  type NftablesOptions,
} from '../../compile/index.js'
import { emit, EXIT, printDiagnostics, UsageError, makeDirectory, replaceFile } from '../output.js'
import {
  atOf,
  choiceOption,
  repeatableOption,
  formerNowOption,
  mandatory,
  outputOption,
  timeOption,
  verb,
  wholeNumber,
} from '../usage.js'
import { startQueryProgress } from '../progress.js'
import { loadOrThrow } from '../workspace.js'

/** The JSON shape of `compile -o json`. Stable. */
export interface CompileOutput {
  readonly target: string
  readonly out: string
  readonly artefacts: readonly { path: string; host?: string; mode?: string; bytes: number }[]
  readonly diagnostics: readonly Diagnostic[]
  /**
   * ISO-8601 UTC instant after `--at` at which the artefacts stop matching the policy (the
   * earliest future rule `expires` or workload address bound they do not follow; see the
   * `compile/expires-later` and `compile/address-bound-later` warnings): compile and install
   * again then. Absent when the artefacts follow every later change (or nothing is time-bound).
   */
  readonly recompileAt?: string
  /**
   * nftables and iptables: the ISO-8601 UTC instants (whole seconds) at which the installed
   * rulesets switch to their next time slice by themselves, on the kernel's clock (rule
   * expiries and address bounds; at most `--max-time-slices` − 1). Absent when there is none.
   */
  readonly switchesAt?: readonly string[]
}

/**
 * The text summary of `compile`: one line per file written (`path  host (mode, N bytes)` for a
 * host target's file, `path  (N bytes)` for a cluster target's, which has no host), then the
 * count of files and of hosts (an iptables host has four files: a host is not a file), and the
 * time-slice instants.
 * @param outDir - the `--out` folder, as given; artefact paths are relative to it.
 */
export function renderCompileText(out: CompileOutput, outDir: string): string {
  const lines = out.artefacts.map((a) =>
    a.host === undefined
      ? `${path.join(outDir, a.path)}  (${counted(a.bytes, 'byte')})`
      : `${path.join(outDir, a.path)}  ${a.host} (${a.mode ?? '-'}, ${counted(a.bytes, 'byte')})`,
  )
  const hosts = new Set(out.artefacts.flatMap((a) => (a.host === undefined ? [] : [a.host]))).size
  lines.push(
    `${counted(out.artefacts.length, 'file')}${hosts > 0 ? ` for ${counted(hosts, 'host')}` : ''} written for target ${out.target}`,
  )
  if (out.switchesAt !== undefined)
    lines.push(
      `rule expiries and address bounds in the kernel: the rulesets switch by themselves at ${out.switchesAt.join(', ')}`,
    )
  if (out.recompileAt !== undefined)
    lines.push(
      `time-bound rules or addresses: compile and install again at or after ${out.recompileAt}`,
    )
  return `${lines.join('\n')}\n`
}

interface CompileFlags {
  workspace: string
  target: (typeof TARGET_NAMES)[number]
  out: string
  host: string[]
  allHosts?: boolean
  direction: Direction
  antiLockout: boolean
  loadBalancerProbes: boolean
  managementCidr: Cidr[]
  monitorTimeout: number
  maxTimeSlices: number
  at: number
  /** `--now`, the former name of `--at` ({@link formerNowOption}). */
  now?: number
  output: string
  denyWith?: 'anp'
  sgRuleQuota: number
  ciliumLabels: string[]
  ciliumLabelPrefixFile?: string
}

const DIRECTIONS: readonly Direction[] = ['ingress', 'egress', 'both']

/** Most pod names a `compile/pod-skipped` warning lists. */
const SKIPPED_NAMES = 5

/**
 * The share of a host target's progress bar given to rendering the rulesets, host by host; the
 * rest is writing the files (measured at 5 000 hosts, in process: planning 0.8 s, then rendering
 * 3.6 s, which the bar shows host by host, and writing the 139 MB 0.9 s).
 */
const RENDER_SHARE = 0.8

/** `--management-cidr`: a CIDR block. @throws UsageError otherwise. */
function managementCidr(text: string): Cidr {
  const c = parseCidr(text)
  if (typeof c === 'string') throw new UsageError(`--management-cidr: ${c}`)
  return c
}

/**
 * `--cilium-label-prefix-file`: the prefixes of the file (read here, parsed by
 * `parseCiliumLabelPrefixFile`); undefined without the option.
 * @throws BulkheadError: `io/*` when the file cannot be read, the parser's located diagnostics.
 */
function readLabelPrefixFile(file: string | undefined): readonly CiliumFilePrefix[] | undefined {
  if (file === undefined) return undefined
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new BulkheadError([ioDiagnostic(err, 'read', file)])
  }
  const { prefixes, diagnostics } = parseCiliumLabelPrefixFile(text, file)
  if (prefixes === undefined) throw new BulkheadError(diagnostics)
  return prefixes
}

/**
 * The checks between `compile`'s options, once, before the workspace (`./usage.ts`): `--deny-with`
 * is the kubernetes target's, `--cilium-labels` and `--cilium-label-prefix-file` the cilium
 * target's (the file is read, and both parse as Cilium parses them); `--host` and `--all-hosts`
 * exclude each other.
 * @returns the prefixes of `--cilium-label-prefix-file`, undefined without it.
 * @throws UsageError, or BulkheadError for the label prefix file ({@link readLabelPrefixFile}).
 */
function checkCompileFlags(opts: CompileFlags): readonly CiliumFilePrefix[] | undefined {
  if (opts.denyWith !== undefined && opts.target !== 'kubernetes')
    throw new UsageError(
      `--deny-with ${opts.denyWith} is not supported`,
      'use --target kubernetes --deny-with anp',
    )
  if (opts.ciliumLabels.length > 0 && opts.target !== 'cilium')
    throw new UsageError("--cilium-labels is the cilium target's", 'use --target cilium')
  if (opts.ciliumLabelPrefixFile !== undefined && opts.target !== 'cilium')
    throw new UsageError("--cilium-label-prefix-file is the cilium target's", 'use --target cilium')
  if (opts.allHosts === true && opts.host.length > 0)
    throw new UsageError('give either --host or --all-hosts, not both')
  const file = readLabelPrefixFile(opts.ciliumLabelPrefixFile)
  try {
    ciliumLabelFilter(opts.ciliumLabels, file)
  } catch (e) {
    const flags = file === undefined ? '--cilium-labels' : '--cilium-label-prefix-file'
    throw new UsageError(`${flags}: ${(e as Error).message}`)
  }
  return file
}

/**
 * The hosts of a host target (nftables, iptables) given no `--host`: the workloads that are not
 * Kubernetes pods ({@link podNamespace}: a `namespace` label, as the Kubernetes inventory source
 * sets), in inventory order, and a `compile/pod-skipped` warning naming the pods left out and the
 * targets that enforce for them; no warning when there is none.
 */
export function podsSkipped(inventory: Inventory): { hosts: string[]; diagnostic?: Diagnostic } {
  const pods = inventory.workloads.filter((w) => podNamespace(w) !== undefined)
  const hosts = inventory.workloads.filter((w) => podNamespace(w) === undefined).map((w) => w.name)
  if (pods.length === 0) return { hosts }
  const names = pods.slice(0, SKIPPED_NAMES).map((w) => w.name)
  const more = pods.length > SKIPPED_NAMES ? `, … ${pods.length - SKIPPED_NAMES} more` : ''
  return {
    hosts,
    diagnostic: {
      code: 'compile/pod-skipped',
      severity: 'warning',
      message: `${counted(pods.length, 'workload')} ${pods.length === 1 ? 'is a Kubernetes pod' : 'are Kubernetes pods'} (a namespace label), with no host of ${pods.length === 1 ? 'its' : 'their'} own to load a ruleset on: no ruleset written for ${names.join(', ')}${more}`,
      hint: 'compile --target kubernetes, cilium or calico for the pods; name one with --host to write its ruleset anyway',
    },
  }
}

/**
 * The real path of `p` (links followed), also when `p` does not exist yet: the real path of its
 * deepest existing ancestor, with the rest of `p` after it.
 */
function realPathOf(p: string): string {
  const abs = path.resolve(p)
  const rest: string[] = []
  for (let at = abs; ; at = path.dirname(at)) {
    try {
      return path.join(realpathSync(at), ...rest.reverse())
    } catch {
      if (path.dirname(at) === at) return abs
      rest.push(path.basename(at))
    }
  }
}

/**
 * Refuses an `--out` folder that the workspace reads as its own YAML: its policy folder, an
 * inventory folder, or a folder inside one. The artefacts (NetworkPolicy, Cilium, Calico YAML, …)
 * would be read there as policy or inventory documents, and every later command would fail to
 * load the workspace (`schema/unknown-kind`) until they were removed.
 * @throws UsageError (`cli/usage`, exit 1) before anything is written.
 */
function checkOutFolder(out: string, workspace: Workspace): void {
  // by real paths: a link to the policy folder (or a policy folder that is a link) is that folder
  const dir = realPathOf(out)
  const read = [workspace.policy, ...workspace.inventory].filter((p) => {
    try {
      return statSync(p).isDirectory()
    } catch {
      return false
    }
  })
  const inside = read.find((p) => {
    const r = realPathOf(p)
    return dir === r || dir.startsWith(r + path.sep)
  })
  if (inside === undefined) return
  const what = inside === workspace.policy ? 'policy' : 'inventory'
  throw new UsageError(
    `--out ${out} is inside the workspace's ${what} folder ${inside}: the workspace would read the artefacts as its ${what}`,
    `write them to a folder of their own, e.g. --out build/${path.basename(dir) || 'out'}`,
  )
}

/** Registers `compile`. */
export function registerCompile(program: Command): void {
  // the prefixes of --cilium-label-prefix-file, read once by the preAction check
  let labelPrefixFile: readonly CiliumFilePrefix[] | undefined
  verb(program, 'compile')
    .description(
      'compile the workspace policy to enforcement artefacts for one target (host rulesets, Kubernetes manifests or Terraform JSON)',
    )
    .addOption(
      mandatory(
        choiceOption(
          '--target <target>',
          'enforcement target',
          TARGET_NAMES,
          (t) => `unknown target "${t}"`,
        ),
      ),
    )
    .addOption(
      mandatory(new Option('--out <dir>', 'folder to write the artefacts to (created if missing)')),
    )
    .addOption(
      repeatableOption(
        '--host <name>',
        'compile for this workload only (repeatable): nftables, iptables write its ruleset (a Kubernetes pod too); the other targets only its groups or policies (azure-nsg: one virtual network at a time)',
        String,
        'every host',
      ),
    )
    .option(
      '--all-hosts',
      'nftables, iptables: compile for every workload that is not a Kubernetes pod (the default when no --host is given)',
    )
    .addOption(
      choiceOption(
        '--direction <dir>',
        'which traffic to filter',
        DIRECTIONS,
        (t) => `unknown direction "${t}"`,
        'both',
        'use ingress, egress or both',
      ),
    )
    .option(
      '--no-anti-lockout',
      'do not accept tcp/22 from the management ranges whatever the policy says',
    )
    .option(
      '--no-load-balancer-probes',
      'azure-nsg: do not allow the Azure load balancer health probes (AzureLoadBalancer) whatever the policy says',
    )
    .addOption(
      repeatableOption(
        '--management-cidr <cidr>',
        'anti-lockout source range (repeatable)',
        managementCidr,
        '10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7',
      ),
    )
    .option(
      '--monitor-timeout <seconds>',
      'how long a would-be-blocked connection stays in the monitor set',
      wholeNumber(
        1,
        86_400 * 30,
        (t) => `--monitor-timeout "${t}" must be a whole number of seconds, 1 to 2592000`,
      ),
      3600,
    )
    .option(
      '--max-time-slices <n>',
      'nftables, iptables: most time slices per ruleset; the rulesets switch by themselves at the first n-1 rule expiries and address bounds (1: what holds at --at alone)',
      wholeNumber(1, 1000, (t) => `--max-time-slices "${t}" must be a whole number, 1 to 1000`),
      DEFAULT_MAX_TIME_SLICES,
    )
    .addOption(
      timeOption(
        '--at <time>',
        'compile time: decides expired rules and which addresses workloads hold (ISO-8601)',
      ),
    )
    .addOption(formerNowOption())
    .addOption(
      choiceOption(
        '--deny-with <how>',
        'kubernetes: express deny rules as anp (AdminNetworkPolicy)',
        ['anp'],
        (t) => `--deny-with ${t} is not supported`,
        undefined,
        'use --target kubernetes --deny-with anp',
      ),
    )
    .option(
      '--sg-rule-quota <n>',
      'aws-sg: inbound or outbound rules per security group the account allows (warns above it)',
      wholeNumber(1, 1000, (t) => `--sg-rule-quota "${t}" must be a whole number, 1 to 1000`),
      AWS_SG_RULES_PER_GROUP,
    )
    .addOption(
      repeatableOption(
        '--cilium-labels <prefix>',
        "cilium: a label prefix the cluster's Cilium agents are started with (their --labels, [source:][!]regexp; repeatable): decides which pod labels are identity labels, which Cilium's selectors see",
        String,
        "Cilium's default label filter",
      ),
    )
    .option(
      '--cilium-label-prefix-file <file>',
      'cilium: the label prefix file the cluster\'s Cilium agents are started with (their --label-prefix-file, JSON {"version": 1, "valid-prefixes": [{"source", "prefix", "invert"}]}): replaces Cilium\'s default label filter; --cilium-labels are added to it',
    )
    .option('-w, --workspace <dir>', 'workspace folder', '.')
    .addOption(
      outputOption(['text', 'json', 'yaml'], 'text', ' (the summary; the artefacts go to --out)'),
    )
    .addHelpText(
      'after',
      `
Examples:
  $ bulkhead compile --target nftables --out build/nft --all-hosts
  $ bulkhead compile --target nftables --out build/nft --host pay-db-1 --direction ingress
  $ bulkhead compile --target nftables --out build/nft --management-cidr 192.0.2.0/24
  $ bulkhead compile --target iptables --out build/ipt --all-hosts
  $ bulkhead compile --target kubernetes --out build/k8s --deny-with anp
  $ bulkhead compile --target cilium --out build/cilium
  $ bulkhead compile --target cilium --out build/cilium --cilium-labels k8s:app --cilium-labels k8s:role
  $ bulkhead compile --target cilium --out build/cilium --cilium-label-prefix-file label-prefixes.json
  $ bulkhead compile --target calico --out build/calico
  $ bulkhead compile --target aws-sg --out build/aws --sg-rule-quota 100
  $ bulkhead compile --target azure-nsg --out build/azure
  $ bulkhead compile --target azure-nsg --out build/azure-web --host pay-web-1 --host pay-web-2

A host is a workload that is not a Kubernetes pod: pods (a namespace label, as a Kubernetes
inventory gives them) get a ruleset only when named with --host (compile/pod-skipped names the
others); compile the kubernetes, cilium or calico target for them.

Each host gets <workload name>.nft holding "table inet bulkhead". Load it with
  nft -c -f pay-db-1.nft && nft -f pay-db-1.nft
which replaces the previous table atomically. In monitor mode, read the would-be-blocked
connections with: nft -j list set inet bulkhead wbb_in_v4 (also wbb_out_v4, *_v6, *_noport).

With --target iptables each host gets <name>.ipset, <name>.rules.v4, <name>.rules.v6 and
<name>.apply.sh, which loads them in order and hooks the chains in once:
  sudo sh pay-db-1.apply.sh
Only Bulkhead's chains (BULKHEAD-IN/-OUT, replaced atomically with iptables-restore --noflush)
and ipsets are touched; the rest of the filter table stays. In monitor mode read the
would-be-blocked connections with: ipset list -o save bh-wbb-in-v4.

With --target kubernetes each namespace gets <ns>.networkpolicies.yaml (a default-deny policy
and one NetworkPolicy per rule, direction and protected group); with --deny-with anp deny rules
go to cluster.adminnetworkpolicies.yaml (priorities from 10). Apply with kubectl apply -f DIR.
--target cilium writes <ns>.ciliumnetworkpolicies.yaml and
cluster.ciliumclusterwidenetworkpolicies.yaml; --target calico writes <ns>.calico.yaml and
cluster.globalnetworkpolicies.yaml (Staged kinds when pods are in monitor mode).

With --target aws-sg the folder gets bulkhead-aws-sg.tf.json (Terraform JSON, AWS provider v5):
one security group per class of enforced workloads allowing what the policy set allows, and
their attachment to the network interfaces you list per workload. Apply with
  terraform init && terraform apply -var vpc_id=vpc-... -var-file=interfaces.tfvars.json
where interfaces.tfvars.json holds {"network_interface_ids": {"pay-db-1": ["eni-..."], ...}}.
Remove every other security group from those interfaces (the attachment adds; AWS unites the
groups of an interface). Workloads in monitor mode are refused (security groups cannot report).

With --target azure-nsg the folder gets bulkhead-azure-nsg.tf.json, Terraform JSON for the
azurerm provider: one network security group per label set and class of enforced workloads,
named after the labels (bh-nsg.app.payments.role.api), associated with their network
interfaces, and one application security group per label group the rules name.
Set the variables resource_group_name, location and network_interface_ids (workload name ->
NIC resource id), then: terraform init && terraform plan && terraform apply. Health probes of
the Azure load balancer stay allowed unless --no-load-balancer-probes. Security rules are named
and keyed after their policy and rule id, never their priority, and NSGs after their labels,
never their first workload, so a policy edit plans as the rules it changes (README "compile
--target azure-nsg").

Rule expiry and workload address bounds: the nftables and iptables rulesets follow them by
themselves, on the kernel's clock (one time slice per instant after --at, chosen with meta time
or -m time; JSON: switchesAt), up to --max-time-slices (default ${DEFAULT_MAX_TIME_SLICES}). The other
targets, and the instants beyond that bound, hold what is true at --at (default: the current
time) for good: each is a compile/expires-later or compile/address-bound-later warning; compile
again at the earliest instant printed (JSON: recompileAt), e.g. from a timer, or the installed
rules keep allowing what has expired.

Exit codes: 0 artefacts written, 1 usage or input error (including rules the target cannot express).`,
    )
    .hook('preAction', (c) => {
      labelPrefixFile = checkCompileFlags(c.opts<CompileFlags>())
    })
    .action(async (opts: CompileFlags) => {
      const { monitorTimeout, sgRuleQuota, maxTimeSlices, managementCidr: management } = opts
      const now = new Date(atOf(opts))
      const { inventory, policySet, workspace } = await loadOrThrow(opts.workspace, now)
      checkOutFolder(opts.out, workspace)
      // a host ruleset is loaded on a host: pods (no host of their own) only when named
      const hostTarget = opts.target === 'nftables' || opts.target === 'iptables'
      const skipped = hostTarget && opts.host.length === 0 ? podsSkipped(inventory) : undefined
      // a host target renders a ruleset per host (71 s for 20 000 hosts: README Performance)
      const progress = startQueryProgress(
        `compiling ${opts.target} rulesets`,
        hostTarget && process.stderr.isTTY,
      )
      const options: NftablesOptions = {
        now,
        direction: opts.direction,
        antiLockout: opts.antiLockout,
        monitorTimeout,
        maxTimeSlices,
        ...(opts.host.length > 0 ? { hosts: opts.host } : {}),
        ...(skipped ? { hosts: skipped.hosts } : {}),
        ...(management.length > 0 ? { managementCidrs: management } : {}),
        onProgress: (done, total) => {
          progress.onProgress((done / total) * RENDER_SHARE)
        },
      }
      // the iptables target takes the same options (IptablesOptions = NftablesOptions)
      const compiler = opts.target === 'iptables' ? iptablesCompiler : nftablesCompiler
      const k8sOptions = {
        now,
        direction: options.direction ?? 'both',
        ...(options.hosts ? { hosts: options.hosts } : {}),
      }
      const compileFor = (target: string): CompileResult => {
        switch (target) {
          case 'kubernetes':
            return kubernetesCompiler.compile(inventory, policySet, {
              ...k8sOptions,
              ...(opts.denyWith === 'anp' ? { denyWith: 'anp' as const } : {}),
            })
          case 'cilium':
            return ciliumCompiler.compile(inventory, policySet, {
              ...k8sOptions,
              ...(opts.ciliumLabels.length > 0 ? { labelPrefixes: opts.ciliumLabels } : {}),
              ...(labelPrefixFile !== undefined ? { labelPrefixFile } : {}),
            })
          case 'calico':
            return calicoCompiler.compile(inventory, policySet, k8sOptions)
          case 'aws-sg':
            return awsSgCompiler.compile(inventory, policySet, {
              ...k8sOptions,
              rulesPerGroupQuota: sgRuleQuota,
            })
          case 'azure-nsg':
            return azureNsgCompiler.compile(inventory, policySet, {
              ...k8sOptions,
              loadBalancerProbes: opts.loadBalancerProbes,
            })
          default:
            return compiler.compile(inventory, policySet, options)
        }
      }
      let result: CompileResult
      try {
        result = compileFor(opts.target)
        makeDirectory(opts.out)
        for (const [i, a] of result.artefacts.entries()) {
          const file = path.join(opts.out, a.path)
          await replaceFile(file, `${file}.tmp-${String(process.pid)}`, a.content)
          progress.onProgress(
            RENDER_SHARE + ((i + 1) / result.artefacts.length) * (1 - RENDER_SHARE),
          )
        }
      } finally {
        progress.stop()
      }
      const diagnostics = sortDiagnostics([
        ...result.diagnostics,
        ...(skipped?.diagnostic ? [skipped.diagnostic] : []),
      ])
      let out: CompileOutput = {
        target: opts.target,
        out: opts.out,
        artefacts: result.artefacts.map((a) => ({
          path: a.path,
          ...(a.host !== undefined ? { host: a.host } : {}),
          ...(a.mode !== undefined ? { mode: a.mode } : {}),
          bytes: Buffer.byteLength(a.content),
        })),
        diagnostics,
      }
      const slicing = result.timeSlicing
      const again = slicing
        ? slicing.recompileAt
        : recompileAt(inventory, policySet, now)?.getTime()
      if (again !== undefined) out = { ...out, recompileAt: new Date(again).toISOString() }
      if (slicing && slicing.starts.length > 0)
        out = { ...out, switchesAt: slicing.starts.map((t) => new Date(t).toISOString()) }
      if (opts.output === 'text') {
        printDiagnostics(diagnostics)
        process.stdout.write(renderCompileText(out, opts.out))
      } else emit(out, opts.output, () => '')
      process.exitCode = EXIT.ok
    })
}
