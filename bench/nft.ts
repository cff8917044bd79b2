/**
 * @module Benchmark `nft`: the nftables target at scale, and per-packet cost against the peer.
 *
 * - Compile time (`nftablesCompiler.compile`, one host) and `nft -f` apply time (in a throwaway
 *   network namespace, process start included; wall and CPU time of the `nft` process) for
 *   1 000 / 10 000 / 100 000 client workloads: one allow rule from `role=client` to
 *   `role=server` tcp/443 and that many clients at every other address of 10.128.0.0/9 (so no
 *   two peers merge into a range). Two shapes: `one-identity` (every client has the same labels,
 *   so the clients are matched through their identity set) and `many-identities` (clients
 *   spread over 1 000 identities by a `shard` label, so most are elements of the peer map
 *   as well as of their identity set: the largest ruleset of the two). `elements` counts every
 *   set and map element of the file.
 * - TCP connect latency (median and p90 of 1 000 sequential connects per case, taken in
 *   {@link LATENCY_ROUNDS} rounds that alternate the two rule counts in one lab, each round
 *   after 100 warm-up connects) from a client namespace to a server namespace whose ingress is
 *   filtered by the compiled ruleset, at 10 and 10 000 policy rules (rule i allows tcp/20000+2i from the client; the
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
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
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
  readonly shape: 'one-identity' | 'many-identities'
  readonly clients: number
  /** Elements of every set and map in the ruleset (identity sets included). */
  readonly elements: number
  readonly compileMs: number
  readonly rulesetBytes: number
  /** `nft -c -f` (check only) and `nft -f` (apply), each including the `nft` process start. */
  readonly checkMs: number
  readonly applyMs: number
  /** User plus system CPU time of the applying `nft` process (wall time suffers on a loaded machine). */
  readonly applyCpuMs: number
  /** One-minute load average after the apply. */
  readonly load1: number
}

/** Connect latency through one ruleset, in microseconds. */
export interface LatencyCase {
  readonly ruleset: 'compiled-nftables' | 'compiled-iptables' | 'naive-iptables'
  readonly policyRules: number
  /** Elements of every set and map of the compiled ruleset (nftables), entries of the ingress service ipset (iptables), or rules of the naive chain. */
  readonly size: number
  readonly samples: number
  readonly medianUs: number
  readonly p90Us: number
  /** One-minute load average when the measurement ended (the machine may be shared). */
  readonly load1: number
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

function elementsEstate(
  n: number,
  shape: ApplyCase['shape'],
): { inventory: Inventory; policySet: PolicySet } {
  const workloads: Workload[] = [
    { name: 'server', addresses: [{ ip: '10.1.0.1' }], labels: labelSet({ role: 'server' }) },
  ]
  const base = 0x0a800000 // 10.128.0.0
  for (let i = 0; i < n; i++) {
    const ip = formatIp({ family: 4, value: BigInt(base + 2 * i) })
    const labels =
      shape === 'one-identity' ? { role: 'client' } : { role: 'client', shard: `${i % 1000}` }
    workloads.push({ name: `c${i}`, addresses: [{ ip }], labels: labelSet(labels) })
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
  return timeCpu(argv).ms
}

/** Runs `argv` under `/usr/bin/time` (when present): wall time and the child's user+system CPU time, in ms. */
function timeCpu(argv: readonly string[]): { ms: number; cpuMs: number } {
  const timed = existsSync('/usr/bin/time')
  const full = timed ? ['/usr/bin/time', '-f', 'BENCHCPU %U %S', ...argv] : argv
  const t = performance.now()
  const r = spawnSync(full[0] ?? '', full.slice(1), { encoding: 'utf8', maxBuffer: 1 << 28 })
  const ms = performance.now() - t
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`)
  const m = /BENCHCPU ([\d.]+) ([\d.]+)/.exec(r.stderr)
  return { ms, cpuMs: m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN }
}

/** Every element of every set and map: the lines inside `elements = { ... }` blocks. */
export function countElements(ruleset: string): number {
  let n = 0
  let inside = false
  for (const line of ruleset.split('\n')) {
    const t = line.trim()
    if (t === 'elements = {') inside = true
    else if (inside && t === '}') inside = false
    else if (inside) n++
  }
  return n
}

/** The apply figures (see the module comment). */
export async function benchApply(scale: number): Promise<ApplyCase[]> {
  const out: ApplyCase[] = []
  const tmp = mkdtempSync(path.join(tmpdir(), `${PREFIX}-`))
  const ns = `${PREFIX}-apply`
  try {
    for (const shape of ['one-identity', 'many-identities'] as const) {
      for (const n0 of [1_000, 10_000, 100_000]) {
        const n = Math.max(10, Math.round(n0 * scale))
        const { inventory, policySet: ps } = elementsEstate(n, shape)
        const t = performance.now()
        const r = nftablesCompiler.compile(inventory, ps, {
          now: NOW,
          hosts: ['server'],
          direction: 'ingress',
          antiLockout: false,
        })
        const compileMs = performance.now() - t
        const content = r.artefacts[0]?.content ?? ''
        const elements = countElements(content)
        const file = path.join(tmp, `server-${shape}-${n}.nft`)
        writeFileSync(file, content)
        spawnSync('ip', ['netns', 'del', ns])
        timeSync(['ip', 'netns', 'add', ns])
        const checkMs = timeSync(['ip', 'netns', 'exec', ns, 'nft', '-c', '-f', file])
        const apply = timeCpu(['ip', 'netns', 'exec', ns, 'nft', '-f', file])
        spawnSync('ip', ['netns', 'del', ns])
        out.push({
          shape,
          clients: n,
          elements,
          compileMs,
          rulesetBytes: Buffer.byteLength(content),
          checkMs,
          applyMs: apply.ms,
          applyCpuMs: apply.cpuMs,
          load1: loadavg()[0] ?? NaN,
        })
        process.stderr.write(
          `[nft] ${shape}, ${n} clients, ${elements} elements: compile ${compileMs.toFixed(0)} ms, apply ${apply.ms.toFixed(0)} ms (cpu ${apply.cpuMs.toFixed(0)} ms; load ${loadavg()[0]?.toFixed(2)})\n`,
        )
      }
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

/** `samples` sequential connect times in microseconds, after 100 warm-up connects. */
async function sample(lab: Lab, samples: number): Promise<number[]> {
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
  return JSON.parse(text) as number[]
}

function quantiles(samples: readonly number[]): { medianUs: number; p90Us: number } {
  const xs = [...samples].sort((a, b) => a - b)
  const q = (f: number): number =>
    Math.round((xs[Math.min(xs.length - 1, Math.floor(f * xs.length))] ?? 0) * 10) / 10
  return { medianUs: q(0.5), p90Us: q(0.9) }
}

/**
 * Rounds per latency comparison: within one lab per ruleset kind, the 10-rule and the
 * 10 000-rule versions are applied in turn, `samples / LATENCY_ROUNDS` connects each time, so
 * that a change of load on a shared machine hits both sizes alike.
 */
const LATENCY_ROUNDS = 5

/** The latency figures (see the module comment); `samples` connects per case. */
export async function benchLatency(samples: number): Promise<LatencyCase[]> {
  const out: LatencyCase[] = []
  const builds = [10, 10_000].map((rules) => {
    const { inventory, policySet: ps } = latencyEstate(rules)
    const options = {
      now: NOW,
      hosts: ['server'],
      direction: 'ingress' as const,
      antiLockout: false,
    }
    const compiled = nftablesCompiler.compile(inventory, ps, options).artefacts[0]?.content ?? ''
    const naive = naiveIptables(inventory, ps.policies, 'server')
    const ipt = iptablesCompiler.compile(inventory, ps, options).artefacts
    const iptFile = (suffix: string): string =>
      ipt.find((a) => a.path.endsWith(suffix))?.content ?? ''
    return {
      rules,
      compiled,
      naive,
      ipset: iptFile('.ipset'),
      iptables: new Map(ipt.map((a) => [a.path, a.content])),
    }
  })
  for (const ruleset of ['compiled-nftables', 'compiled-iptables', 'naive-iptables'] as const) {
    const lab = await createLab(`${PREFIX}-l`, [
      { name: 'client', addresses: [CLIENT_IP] },
      { name: 'server', addresses: [SERVER_IP] },
    ])
    try {
      await lab.listen({ tcp: [80], udp: [] }, 300_000)
      const got = new Map<number, number[]>(builds.map((b) => [b.rules, []]))
      for (let round = 0; round < LATENCY_ROUNDS; round++) {
        for (const b of builds) {
          if (ruleset === 'compiled-nftables') await lab.apply('server', b.compiled)
          else if (ruleset === 'compiled-iptables') {
            const script = [...b.iptables.keys()].find((f) => f.endsWith('.apply.sh')) ?? ''
            await lab.applyFiles('server', b.iptables, (dir) => ['sh', `${dir}/${script}`])
          } else await lab.apply('server', b.naive, { apply: (f) => ['iptables-restore', f] })
          got.get(b.rules)?.push(...(await sample(lab, Math.ceil(samples / LATENCY_ROUNDS))))
        }
      }
      const load1 = loadavg()[0] ?? NaN
      for (const b of builds) {
        const size =
          ruleset === 'compiled-nftables'
            ? countElements(b.compiled)
            : ruleset === 'compiled-iptables'
              ? b.ipset.split('\n').filter((l) => l.startsWith('add bh-in-v4-svc.n ')).length
              : b.naive.split('\n').filter((l) => l.startsWith('-A INPUT -s ')).length
        const xs = got.get(b.rules) ?? []
        const m = quantiles(xs)
        out.push({ ruleset, policyRules: b.rules, size, samples: xs.length, ...m, load1 })
        process.stderr.write(
          `[nft] ${ruleset} at ${b.rules} rules: median ${m.medianUs} µs (load ${load1.toFixed(2)})\n`,
        )
      }
    } finally {
      await lab.destroy()
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
        apply100kMs: Object.fromEntries(
          apply.filter((a) => a.clients >= 100_000 * scale).map((a) => [a.shape, a.applyMs]),
        ),
        compiledLatencyRatio10kTo10:
          med('compiled-nftables', 10_000) / med('compiled-nftables', 10),
        naiveLatencyRatio10kTo10: med('naive-iptables', 10_000) / med('naive-iptables', 10),
      },
    }
  } finally {
    cleanupLeftovers(PREFIX)
  }
}
