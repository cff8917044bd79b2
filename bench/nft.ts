/**
 * @module Benchmark `nft`: the nftables target at scale, and per-packet cost against the peer.
 *
 * - Compile time (`nftablesCompiler.compile`, one host) and `nft -f` apply time (in a throwaway
 *   network namespace, process start included) for verdict maps of 1 000 / 10 000 / 100 000
 *   elements: one allow rule from `role=client` to `role=server` tcp/443 and that many client
 *   workloads at every other address of 10.128.0.0/9 (so no two elements merge).
 * - TCP connect latency (median and p90 of 1 000 sequential connects, after 100 warm-up ones)
 *   from a client namespace to a server namespace whose ingress is filtered by the compiled
 *   ruleset, at 10 and 10 000 policy rules (rule i allows tcp/20000+2i from the client; the
 *   probed tcp/80 rule is last), next to the peer: a naive iptables chain compiled from the
 *   same policy with one `-s SRC -d DST -p tcp --dport P -j ACCEPT` rule per (rule, source,
 *   destination, service), in policy order, behind `ESTABLISHED,RELATED` accept.
 *
 * Goals (issue 7): apply of 100 000 elements under 1 s; compiled latency at 10 000 rules within
 * 10% of 10 rules while the naive chain degrades. Deterministic inputs (no randomness: the
 * estate is laid out by index). Needs root, `nft`, `iptables-restore` and `ip netns`; without
 * them the figures say why they were skipped. `BENCH_SCALE` scales the element counts.
 * Run with `npm run bench -- nft`.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import {
  formatIp,
  labelSet,
  selectorMatches,
  type Inventory,
  type Policy,
  type PolicySet,
  type Rule,
  type Workload,
} from '../src/core/index.js'
import { nftablesCompiler } from '../src/compile/nftables/compile.js'
import { iptablesCompiler } from '../src/compile/iptables/compile.js'
import { cleanupLeftovers, createLab, netnsSupport, type Lab } from '../test/netns/harness.js'

const PREFIX = 'bhbench'
const NOW = new Date(Date.UTC(2026, 10, 22, 12))

/** Figures of one element count. Times in milliseconds. */
export interface ApplyCase {
  readonly elements: number
  readonly compileMs: number
  readonly rulesetBytes: number
  /** `nft -c -f` (check only) and `nft -f` (apply), each including the `nft` process start. */
  readonly checkMs: number
  readonly applyMs: number
}

/** Connect latency through one ruleset, in microseconds. */
export interface LatencyCase {
  readonly ruleset: 'compiled-nftables' | 'compiled-iptables' | 'naive-iptables'
  readonly policyRules: number
  /** Elements of the compiled ingress map (nftables), entries of the ingress service ipset (iptables), or rules of the naive chain. */
  readonly size: number
  readonly samples: number
  readonly medianUs: number
  readonly p90Us: number
}

const lbl = (m: Record<string, string>) => ({
  kind: 'labels' as const,
  match: labelSet(m),
  expressions: [],
  global: false,
})

const policySet = (rules: Rule[]): PolicySet => ({
  policies: [{ name: 'bench', owner: 'bench', scope: labelSet(), file: 'bench.yaml', rules }],
  enforcement: [{ selector: { kind: 'any' }, mode: 'enforce' }],
})

function elementsEstate(n: number): { inventory: Inventory; policySet: PolicySet } {
  const workloads: Workload[] = [
    { name: 'server', addresses: [{ ip: '10.1.0.1' }], labels: labelSet({ role: 'server' }) },
  ]
  const base = 0x0a800000 // 10.128.0.0
  for (let i = 0; i < n; i++) {
    const ip = formatIp({ family: 4, value: BigInt(base + 2 * i) })
    workloads.push({ name: `c${i}`, addresses: [{ ip }], labels: labelSet({ role: 'client' }) })
  }
  const rule: Rule = {
    id: 'clients-to-server',
    action: 'allow',
    emergency: false,
    from: [lbl({ role: 'client' })],
    to: [lbl({ role: 'server' })],
    services: [{ protocol: 6, ports: { lo: 443, hi: 443 } }],
  }
  return { inventory: { workloads, externals: [], labelRules: [] }, policySet: policySet([rule]) }
}

function timeSync(argv: readonly string[]): number {
  const t = performance.now()
  const r = spawnSync(argv[0] ?? '', argv.slice(1), { encoding: 'utf8', maxBuffer: 1 << 28 })
  const ms = performance.now() - t
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`)
  return ms
}

async function benchApply(scale: number): Promise<ApplyCase[]> {
  const out: ApplyCase[] = []
  const tmp = mkdtempSync(path.join(tmpdir(), `${PREFIX}-`))
  const ns = `${PREFIX}-apply`
  try {
    for (const n0 of [1_000, 10_000, 100_000]) {
      const n = Math.max(10, Math.round(n0 * scale))
      const { inventory, policySet: ps } = elementsEstate(n)
      const t = performance.now()
      const r = nftablesCompiler.compile(inventory, ps, {
        now: NOW,
        hosts: ['server'],
        direction: 'ingress',
        antiLockout: false,
      })
      const compileMs = performance.now() - t
      const content = r.artefacts[0]?.content ?? ''
      const elements = (content.match(/ : accept/g) ?? []).length
      const file = path.join(tmp, `server-${n}.nft`)
      writeFileSync(file, content)
      spawnSync('ip', ['netns', 'del', ns])
      timeSync(['ip', 'netns', 'add', ns])
      const checkMs = timeSync(['ip', 'netns', 'exec', ns, 'nft', '-c', '-f', file])
      const applyMs = timeSync(['ip', 'netns', 'exec', ns, 'nft', '-f', file])
      spawnSync('ip', ['netns', 'del', ns])
      out.push({ elements, compileMs, rulesetBytes: Buffer.byteLength(content), checkMs, applyMs })
      process.stderr.write(
        `[nft] ${elements} elements: compile ${compileMs.toFixed(0)} ms, apply ${applyMs.toFixed(0)} ms\n`,
      )
    }
  } finally {
    spawnSync('ip', ['netns', 'del', ns])
    rmSync(tmp, { recursive: true, force: true })
  }
  return out
}

const CLIENT_IP = '10.77.0.1'
const SERVER_IP = '10.77.0.2'

/** `rules` allow rules client → server: tcp/20000+2i for i < rules-1, then tcp/80 (the probed one) last. */
function latencyEstate(rules: number): { inventory: Inventory; policySet: PolicySet } {
  const inventory: Inventory = {
    workloads: [
      { name: 'client', addresses: [{ ip: CLIENT_IP }], labels: labelSet({ role: 'client' }) },
      { name: 'server', addresses: [{ ip: SERVER_IP }], labels: labelSet({ role: 'server' }) },
    ],
    externals: [],
    labelRules: [],
  }
  const list: Rule[] = []
  for (let i = 0; i < rules; i++) {
    const port = i === rules - 1 ? 80 : 20_000 + 2 * i
    list.push({
      id: `r${i}`,
      action: 'allow',
      emergency: false,
      from: [lbl({ role: 'client' })],
      to: [lbl({ role: 'server' })],
      services: [{ protocol: 6, ports: { lo: port, hi: port } }],
    })
  }
  return { inventory, policySet: policySet(list) }
}

/**
 * The peer: a naive `iptables-restore` file for one host's ingress, one ACCEPT rule per
 * (allow rule, source address, destination address of the host, TCP/UDP service) in policy
 * order, then DROP. Deny rules and other selectors than workloads are not handled (the bench
 * policy has none).
 */
export function naiveIptables(
  inventory: Inventory,
  policies: readonly Policy[],
  host: string,
): string {
  const w = inventory.workloads.find((x) => x.name === host)
  const lines = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]']
  lines.push(
    '-A INPUT -i lo -j ACCEPT',
    '-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
  )
  const ep = (x: Workload, ip: string) => ({
    ip: {
      family: 4 as const,
      value: BigInt(ip.split('.').reduce((a, o) => a * 256 + Number(o), 0)),
    },
    entity: { kind: 'workload' as const, workload: x },
  })
  for (const p of policies) {
    for (const r of p.rules) {
      if (r.action !== 'allow') continue
      for (const dIp of w?.addresses.map((a) => a.ip) ?? []) {
        if (!w || !r.to.some((s) => selectorMatches(s, ep(w, dIp), p.scope))) continue
        for (const s of inventory.workloads) {
          for (const sIp of s.addresses.map((a) => a.ip)) {
            if (!r.from.some((sel) => selectorMatches(sel, ep(s, sIp), p.scope))) continue
            for (const svc of r.services) {
              if (svc.protocol !== 6 && svc.protocol !== 17) continue
              const proto = svc.protocol === 6 ? 'tcp' : 'udp'
              const ports =
                svc.ports.lo === svc.ports.hi
                  ? `${svc.ports.lo}`
                  : `${svc.ports.lo}:${svc.ports.hi}`
              lines.push(
                `-A INPUT -s ${sIp}/32 -d ${dIp}/32 -p ${proto} -m ${proto} --dport ${ports} -j ACCEPT`,
              )
            }
          }
        }
      }
    }
  }
  lines.push('-A INPUT -j DROP', 'COMMIT', '')
  return lines.join('\n')
}

/** Sequential TCP connects, timing each from `connect()` to the handshake; prints microseconds. */
const LATENCY_JS = String.raw`
import net from 'node:net'
const { host, port, warmup, samples } = JSON.parse(process.argv[1])
const once = () => new Promise((res, rej) => {
  const t = process.hrtime.bigint()
  const s = net.connect({ host, port })
  s.once('connect', () => { const us = Number(process.hrtime.bigint() - t) / 1000; s.destroy(); res(us) })
  s.once('error', rej)
  s.setTimeout(3000, () => { s.destroy(); rej(new Error('timeout')) })
})
const out = []
for (let i = 0; i < warmup + samples; i++) { const us = await once(); if (i >= warmup) out.push(us) }
process.stdout.write(JSON.stringify(out))
`

async function measure(lab: Lab, samples: number): Promise<{ medianUs: number; p90Us: number }> {
  const text = await lab.exec(
    'client',
    [
      process.execPath,
      '--input-type=module',
      '-e',
      LATENCY_JS,
      JSON.stringify({ host: SERVER_IP, port: 80, warmup: 100, samples }),
    ],
    120_000,
  )
  const xs = (JSON.parse(text) as number[]).sort((a, b) => a - b)
  const q = (f: number): number =>
    Math.round((xs[Math.min(xs.length - 1, Math.floor(f * xs.length))] ?? 0) * 10) / 10
  return { medianUs: q(0.5), p90Us: q(0.9) }
}

async function benchLatency(samples: number): Promise<LatencyCase[]> {
  const out: LatencyCase[] = []
  for (const rules of [10, 10_000]) {
    const { inventory, policySet: ps } = latencyEstate(rules)
    const compiled =
      nftablesCompiler.compile(inventory, ps, {
        now: NOW,
        hosts: ['server'],
        direction: 'ingress',
        antiLockout: false,
      }).artefacts[0]?.content ?? ''
    const naive = naiveIptables(inventory, ps.policies, 'server')
    const ipt = iptablesCompiler.compile(inventory, ps, {
      now: NOW,
      hosts: ['server'],
      direction: 'ingress',
      antiLockout: false,
    }).artefacts
    const iptFile = (suffix: string): string =>
      ipt.find((a) => a.path.endsWith(suffix))?.content ?? ''
    for (const ruleset of ['compiled-nftables', 'compiled-iptables', 'naive-iptables'] as const) {
      const lab = await createLab(`${PREFIX}-l`, [
        { name: 'client', addresses: [CLIENT_IP] },
        { name: 'server', addresses: [SERVER_IP] },
      ])
      try {
        await lab.listen({ tcp: [80], udp: [] }, 120_000)
        if (ruleset === 'compiled-nftables') await lab.apply('server', compiled)
        else if (ruleset === 'compiled-iptables') {
          await lab.apply('server', iptFile('.ipset'), {
            apply: (f) => ['ipset', 'restore', '-file', f],
          })
          await lab.apply('server', iptFile('.rules.v4'), { apply: (f) => ['iptables-restore', f] })
        } else await lab.apply('server', naive, { apply: (f) => ['iptables-restore', f] })
        const size =
          ruleset === 'compiled-nftables'
            ? (compiled.match(/ : accept/g) ?? []).length
            : ruleset === 'compiled-iptables'
              ? iptFile('.ipset')
                  .split('\n')
                  .filter((l) => l.startsWith('add bh-in-v4-svc.n ')).length
              : naive.split('\n').filter((l) => l.startsWith('-A INPUT -s ')).length
        const m = await measure(lab, samples)
        out.push({ ruleset, policyRules: rules, size, samples, ...m })
        process.stderr.write(`[nft] ${ruleset} at ${rules} rules: median ${m.medianUs} µs\n`)
      } finally {
        await lab.destroy()
      }
    }
  }
  return out
}

/** Runs the benchmark; see the module comment. */
export async function benchNft(scale: number): Promise<unknown> {
  const support = netnsSupport(PREFIX)
  if (!support.ok) return { skipped: support.reason }
  if (spawnSync('iptables-restore', ['--version']).status !== 0)
    return { skipped: 'no iptables-restore' }
  cleanupLeftovers(PREFIX)
  try {
    const iptablesVersion = spawnSync('iptables', ['--version'], { encoding: 'utf8' }).stdout.trim()
    const nftVersion = spawnSync('nft', ['--version'], { encoding: 'utf8' }).stdout.trim()
    const apply = await benchApply(scale)
    const latency = await benchLatency(1000)
    const med = (r: LatencyCase['ruleset'], n: number): number =>
      latency.find((c) => c.ruleset === r && c.policyRules === n)?.medianUs ?? NaN
    return {
      nftVersion,
      iptablesVersion,
      apply,
      latency,
      goals: {
        apply100kMs: apply.find((a) => a.elements >= 100_000)?.applyMs ?? null,
        compiledLatencyRatio10kTo10:
          med('compiled-nftables', 10_000) / med('compiled-nftables', 10),
        naiveLatencyRatio10kTo10: med('naive-iptables', 10_000) / med('naive-iptables', 10),
      },
    }
  } finally {
    cleanupLeftovers(PREFIX)
  }
}
