/**
 * @module `bulkhead init`: write a commented workspace skeleton that validates as it is.
 */
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Command } from 'commander'
import { emit, EXIT, UsageError, makeDirectory } from '../output.js'
import { outputOption, verb } from '../usage.js'

/** The skeleton's files, by path relative to the workspace. Each validates with `bulkhead validate`. */
export const SKELETON: Readonly<Record<string, string>> = {
  'bulkhead.yaml': `# Bulkhead workspace. Every command takes -w/--workspace DIR (default: the current folder).
apiVersion: bulkhead.dev/v1
kind: Workspace
inventory: [inventory/]          # files or folders of Inventory / LabelRules documents
policy: policy/                  # Policy and Enforcement documents (keep them in git)
store: .bulkhead/store.duckdb    # where \`bulkhead ingest\` stores flows
sources: []                      # what \`bulkhead ingest\` reads when given no files, e.g.
#  - { path: "flows/*.log.gz", format: aws-vpc }
# timeZone: Europe/Berlin        # IANA zone of discover's hours, days and patterns (default UTC)
`,
  'inventory/hosts.yaml': `# Workloads: anything addressable that runs software. Labels (role, app, env, loc, ...)
# are what policy speaks of; addresses may hold only for a time (IP reuse).
apiVersion: bulkhead.dev/v1
kind: Inventory
workloads:
  - name: web-1
    addresses: [10.0.1.10]
    labels: { role: web, app: shop, env: prod }
  - name: api-1
    addresses: [10.0.2.10, "2001:db8::2:10"]
    labels: { role: api, app: shop, env: prod }
  - name: db-1
    addresses: [10.0.3.10]
    labels: { role: db, app: shop }          # env comes from the label rule below
externals:                       # named unmanaged ranges, usable in selectors as { external: NAME }
  - { name: payment-gateway, cidr: 203.0.113.0/24, labels: { role: partner } }
---
apiVersion: bulkhead.dev/v1
kind: LabelRules                 # applied in order; labels written on a workload win
rules:
  - { match: { cidr: 10.0.0.0/16 }, labels: { env: prod } }
`,
  'policy/shop.yaml': `# One policy per file. Deny by default: only what a rule allows is allowed, and deny beats allow.
apiVersion: bulkhead.dev/v1
kind: Policy
metadata:
  name: shop-prod
  owner: team-shop
scope: { app: shop, env: prod }  # label selectors below are ANDed with this scope
rules:
  - id: web-to-api
    from: [{ role: web }]
    to: [{ role: api }]
    ports: [tcp/443]
    reason: The storefront calls the shop API
  - id: api-to-db
    from: [{ role: api }]
    to: [{ role: db }]
    ports: [tcp/5432]
    reason: The API reads and writes orders
  - id: api-to-gateway
    from: [{ role: api }]
    to: [{ external: payment-gateway }]
    ports: [tcp/443]
    reason: Card payments
    expires: 2099-12-31          # a temporary rule stops applying after this date
`,
  'policy/enforcement.yaml': `# Enforcement modes, first match wins; unmatched workloads are observed only.
# observe: collect flows; monitor: report would-be-blocked flows; enforce: block.
apiVersion: bulkhead.dev/v1
kind: Enforcement
modes:
  - { selector: { app: shop, env: prod }, mode: monitor }
`,
}

/** Registers `init`. */
export function registerInit(program: Command): void {
  verb(program, 'init')
    .description('write a commented workspace skeleton (bulkhead.yaml, inventory/, policy/)')
    .option('-w, --workspace <dir>', 'workspace folder to create or fill', '.')
    .option('--force', 'overwrite files that already exist', false)
    .addOption(outputOption(['text', 'json', 'yaml'], 'text'))
    .addHelpText(
      'after',
      '\nExamples:\n  $ bulkhead init -w my-estate && bulkhead validate -w my-estate\n\n' +
        'Exit codes: 0 written, 1 a file exists (without --force) or cannot be written.',
    )
    .action(async (opts: { workspace: string; force: boolean; output: string }) => {
      const existing = Object.keys(SKELETON).filter((f) => existsSync(join(opts.workspace, f)))
      if (existing.length > 0 && !opts.force) {
        throw new UsageError(
          `${existing.map((f) => join(opts.workspace, f)).join(', ')} already exist${existing.length === 1 ? 's' : ''}`,
          'pass --force to overwrite',
        )
      }
      const written: string[] = []
      for (const [rel, text] of Object.entries(SKELETON)) {
        const path = join(opts.workspace, rel)
        makeDirectory(dirname(path))
        await writeFile(path, text)
        written.push(path)
      }
      emit({ workspace: opts.workspace, written }, opts.output, (d) =>
        [...d.written.map((f) => `wrote ${f}`), `next: bulkhead validate -w ${d.workspace}`].join(
          '\n',
        ),
      )
      process.exitCode = EXIT.ok
    })
}
