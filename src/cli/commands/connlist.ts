/**
 * @module `bulkhead connlist`: every allowed directed connection under the workspace policy, in
 * np-guard's connlist format.
 */
import type { Command } from 'commander'
import { connlist, formatConnlist, type ConnlistFormat } from '../../policy/connlist.js'
import { EXIT, toYaml } from '../output.js'
import { outputOption, policyOption, timeOption, verb } from '../usage.js'
import { loadOrThrow } from '../workspace.js'

const FORMATS = ['txt', 'text', 'json', 'yaml', 'csv', 'md'] as const

/** Registers `connlist`. */
export function registerConnlist(program: Command): void {
  verb(program, 'connlist')
    .description(
      'list every allowed directed connection between workloads, named externals and address ranges (np-guard format)',
    )
    .option('-w, --workspace <dir>', 'workspace folder', '.')
    .addOption(
      timeOption(
        '--at <time>',
        'when to judge (ISO-8601): decides which rules have expired and which addresses workloads hold',
      ),
    )
    .addOption(policyOption('list'))
    .addOption(outputOption(FORMATS, 'txt', ' (text = txt)'))
    .addHelpText(
      'after',
      `
Each line is "SRC => DST : CONNS", sorted. SRC and DST are workload names, named externals
("bank-sftp[External]") or unmanaged address ranges ("0.0.0.0-9.255.255.255[External]"), split
where the policy's CIDR blocks split them. CONNS is "All Connections" or protocols with ports,
e.g. "TCP 80,443,8000-8100,UDP 53". A workload's connections to itself are left out.

Examples:
  $ bulkhead connlist -w my-estate
  $ bulkhead connlist -o md > connectivity.md
  $ bulkhead connlist --at 2027-07-01 -o json
  $ bulkhead connlist --policy recommended/ > proposed.txt  # what a proposal would allow

Exit codes: 0 listed, 1 bad input.`,
    )
    .action(async (opts: { workspace: string; policy?: string; at: number; output: string }) => {
      const { inventory, policySet } = await loadOrThrow(
        opts.workspace,
        new Date(opts.at),
        opts.policy,
      )
      const conns = connlist(inventory, policySet, { now: new Date(opts.at) })
      if (opts.output === 'yaml') {
        // the rows of -o json, as YAML
        process.stdout.write(toYaml(JSON.parse(formatConnlist(conns, 'json'))))
      } else {
        const format: ConnlistFormat =
          opts.output === 'text' ? 'txt' : (opts.output as ConnlistFormat)
        process.stdout.write(formatConnlist(conns, format))
      }
      process.exitCode = EXIT.ok
    })
}
