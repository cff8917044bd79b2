/**
 * @module Writes the bench estate of `npm run bench -- simulate` as a workspace, for timing the
 * built CLI on a store: bulkhead.yaml, inventory/estate.yaml (20 000 workloads, seed 7),
 * policy/ (2 000 rules in one policy per app, seed 11, and the Enforcement file) and flows.csv
 * (`FLOWS` flows, seed 13, Zipf skew 1, the bench's one day moved to one of 30 days, seed 17;
 * about 8 % are skipped when read: an IPv4 and an IPv6 end, or ICMP between IPv6 addresses).
 * Same arguments, same bytes.
 *
 * ```sh
 * npx tsx bench/write-estate.ts DIR 2000000
 * node dist/cli/bulkhead.js ingest -w DIR DIR/flows.csv            # 1 834 153 flows stored
 * node dist/cli/bulkhead.js simulate -w DIR --at 2026-11-15 -o text > out.txt
 * ```
 *
 * `npm run bench -- simulate-store` does the same in a temporary folder ({@link writeEstate}).
 */
import { mkdirSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { stringify } from 'yaml'
import { generateEstate, generatePolicies, generateFlows } from './generate-estate.js'
import { mulberry32 } from './generate.js'
import { renderPolicy, selectorToYaml } from '../src/policy/render.js'

/**
 * Writes the bench estate into the folder `out` (created if missing) with `count` flows in
 * `flows.csv`, `workloads` workloads (seed 7) and a tenth as many rules (seed 11); the same
 * arguments write the same bytes.
 * @returns the number of flows written, workloads and policies.
 */
export function writeEstate(
  out: string,
  count: number,
  workloads = 20_000,
): { flows: number; workloads: number; policies: number } {
  const estate = generateEstate(workloads)
  const ps = generatePolicies(estate, Math.max(10, Math.round(workloads / 10)))
  mkdirSync(path.join(out, 'inventory'), { recursive: true })
  mkdirSync(path.join(out, 'policy'), { recursive: true })
  writeFileSync(
    path.join(out, 'bulkhead.yaml'),
    'apiVersion: bulkhead.dev/v1\nkind: Workspace\ninventory: [inventory/]\npolicy: policy/\nstore: .bulkhead/store.duckdb\n',
  )
  const inv = {
    apiVersion: 'bulkhead.dev/v1',
    kind: 'Inventory',
    workloads: estate.inventory.workloads.map((w) => ({
      name: w.name,
      addresses: w.addresses.map((a) =>
        a.from !== undefined ? { ip: a.ip, from: new Date(a.from).toISOString() } : a.ip,
      ),
      labels: { ...w.labels },
    })),
    externals: estate.inventory.externals.map((e) => ({
      name: e.name,
      cidr: e.cidr.text,
      ...(Object.keys(e.labels).length > 0 ? { labels: { ...e.labels } } : {}),
    })),
  }
  writeFileSync(path.join(out, 'inventory', 'estate.yaml'), stringify(inv, { lineWidth: 0 }))
  for (const p of ps.policies)
    writeFileSync(path.join(out, 'policy', `${p.name}.yaml`), renderPolicy(p))
  writeFileSync(
    path.join(out, 'policy', 'enforcement.yaml'),
    stringify({
      apiVersion: 'bulkhead.dev/v1',
      kind: 'Enforcement',
      modes: ps.enforcement.map((e) => ({ selector: selectorToYaml(e.selector), mode: e.mode })),
    }),
  )
  const f = generateFlows(estate, count)
  const rnd = mulberry32(17)
  const DAY = 86_400_000
  const fd = openSync(path.join(out, 'flows.csv'), 'w')
  let buf: string[] = ['src_ip,dst_ip,src_port,dst_port,protocol,start,end,packets,bytes,action\n']
  for (let i = 0; i < f.count; i++) {
    const start = (f.at[i] as number) + Math.floor(rnd() * 30) * DAY
    const sport = 32768 + Math.floor(rnd() * 28000)
    const dur = Math.floor(rnd() * 60_000)
    const action = rnd() < 0.05 ? 'reject' : 'accept'
    const proto = f.protocol[i] as number
    const src = f.src[i] as string
    const dst = f.dst[i] as string
    // ICMP: the type in dst_port, no source port
    buf.push(
      `${src},${dst},${proto === 1 || proto === 58 ? 0 : sport},${f.dstPort[i]},${proto},${start},${start + dur},${1 + (i % 7)},${100 + (i % 1000)},${action}\n`,
    )
    if (buf.length >= 100_000) {
      writeSync(fd, buf.join(''))
      buf = []
    }
  }
  writeSync(fd, buf.join(''))
  closeSync(fd)
  return {
    flows: count,
    workloads: estate.inventory.workloads.length,
    policies: ps.policies.length,
  }
}

// run as a script: `npx tsx bench/write-estate.ts DIR [COUNT]`
if (
  process.argv[1] !== undefined &&
  path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)
) {
  const w = writeEstate(process.argv[2] ?? 'bench-estate', Number(process.argv[3] ?? 2_000_000))
  process.stderr.write(`wrote ${w.flows} flows, ${w.workloads} workloads, ${w.policies} policies\n`)
}
