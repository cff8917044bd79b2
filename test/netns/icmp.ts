/**
 * @module ICMP echo probes for the kernel harness: echo requests (IPv4 type 8, ICMPv6 type 128)
 * from one namespace to many addresses at once, answered by the kernel of the destination, and
 * the reference verdict of each. The host has no `ping` binary everywhere, so the prober is a
 * short python3 script on raw sockets (root only, as the whole harness).
 */
import { spawnSync } from 'node:child_process'
import { expect } from 'vitest'
import type { Inventory, PolicySet } from '../../src/core/index.js'
import { evaluate } from '../../src/policy/evaluate.js'
import { addressPairs, icmpErrorEstate, type Estate } from './estate.js'
import { createLab, type Lab } from './harness.js'

/** Whether echo probes can run: a python3 interpreter. */
export function icmpSupport(): { ok: true } | { ok: false; reason: string } {
  const r = spawnSync('python3', ['-c', 'import socket, select, struct, json'])
  return r.status === 0 ? { ok: true } : { ok: false, reason: 'no python3 for ICMP echo probes' }
}

/**
 * Sends one echo request to every target (all at once, sequence number = index) and waits up
 * to `timeoutMs` for the replies; prints a JSON array of booleans (reply seen), in order.
 */
const ECHO_PY = String.raw`
import json, os, select, socket, struct, sys, time
a = json.loads(sys.argv[1]); targets = a['targets']; end = time.time() + a['timeoutMs'] / 1000.0
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return (~s) & 0xffff
def key(t):
    return socket.inet_pton(socket.AF_INET6 if ':' in t else socket.AF_INET, t)
ident = os.getpid() & 0xffff
s4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
for i, t in enumerate(targets):
    v6 = ':' in t
    m = struct.pack('!BBHHH', 128 if v6 else 8, 0, 0, ident, i) + b'bulkhead'
    if not v6: m = m[:2] + struct.pack('!H', csum(m)) + m[4:]
    try: (s6 if v6 else s4).sendto(m, (t, 0))
    except OSError: pass
got = [False] * len(targets)
while not all(got):
    left = end - time.time()
    if left <= 0: break
    r, _, _ = select.select([s4, s6], [], [], left)
    for s in r:
        data, addr = s.recvfrom(4096)
        if s is s4: data = data[(data[0] & 15) * 4:]
        if len(data) < 8: continue
        typ, _, _, pid, seq = struct.unpack('!BBHHH', data[:8])
        if typ == (0 if s is s4 else 129) and pid == ident and seq < len(targets) and key(targets[seq]) == key(addr[0]):
            got[seq] = True
print(json.dumps(got))
`

/** One echo probe: from a host's address to another host's address, with the reference verdict. */
export interface EchoProbe {
  readonly src: string
  readonly srcIp: string
  readonly dst: string
  readonly allowed: boolean
  /** The reference outcome: `blocked` when denied and either side enforces. */
  readonly blocked: boolean
}

/**
 * Every (source host, destination host address) echo probe, from the source's first address of
 * the destination's family (the one the kernel picks, as in {@link probesOf}), evaluated as
 * ICMP type 8 (IPv4) or ICMPv6 type 128 (IPv6) by the reference evaluator.
 */
export function echoProbesOf(e: Estate, policySet: PolicySet, at: number): EchoProbe[] {
  return [...addressPairs(e)].map(({ src, srcIp, dst }) => {
    const v6 = dst.includes(':')
    const v = evaluate(e.inventory, policySet, {
      src: srcIp,
      dst,
      protocol: v6 ? 58 : 1,
      dstPort: v6 ? 128 : 8,
      at,
    })
    return { src, srcIp, dst, allowed: v.decision === 'allowed', blocked: v.outcome === 'blocked' }
  })
}

async function echoFrom(
  lab: Lab,
  src: string,
  targets: readonly string[],
  timeoutMs: number,
): Promise<boolean[]> {
  if (targets.length === 0) return []
  const out = await lab.exec(
    src,
    ['python3', '-c', ECHO_PY, JSON.stringify({ targets, timeoutMs })],
    timeoutMs + 10_000,
  )
  return JSON.parse(out) as boolean[]
}

/**
 * Runs every echo probe (all sources at once) and returns the mismatches with the reference:
 * a reply must come back exactly when the outcome is not `blocked`. Expected replies that do
 * not come are retried once with a longer wait (a loaded machine); denied ones never are.
 * Counts `icmp-allowed`, `icmp-blocked` and `icmp-unenforced` (denied, reply expected) in `seen`.
 */
export async function checkEcho(
  lab: Lab,
  probes: readonly EchoProbe[],
  seen: Record<string, number>,
): Promise<string[]> {
  const run = async (idx: readonly number[], timeoutMs: number): Promise<Map<number, boolean>> => {
    const bySrc = new Map<string, number[]>()
    for (const i of idx) {
      const p = probes[i] as EchoProbe
      bySrc.set(p.src, [...(bySrc.get(p.src) ?? []), i])
    }
    const got = new Map<number, boolean>()
    await Promise.all(
      [...bySrc].map(async ([src, list]) => {
        const r = await echoFrom(
          lab,
          src,
          list.map((i) => (probes[i] as EchoProbe).dst),
          timeoutMs,
        )
        list.forEach((i, j) => got.set(i, r[j] === true))
      }),
    )
    return got
  }
  const got = await run(
    probes.map((_, i) => i),
    1000,
  )
  const slow = probes.flatMap((p, i) => (!p.blocked && got.get(i) !== true ? [i] : []))
  if (slow.length > 0) for (const [i, v] of await run(slow, 4000)) got.set(i, v)
  const wrong: string[] = []
  probes.forEach((p, i) => {
    const k = p.allowed ? 'icmp-allowed' : p.blocked ? 'icmp-blocked' : 'icmp-unenforced'
    seen[k] = (seen[k] ?? 0) + 1
    if ((got.get(i) === true) === p.blocked)
      wrong.push(
        `echo ${p.srcIp} -> ${p.dst}: model ${p.allowed ? 'allows' : 'denies'}${p.blocked ? ' (blocked)' : ''}, reply ${got.get(i) === true ? 'came' : 'did not come'}`,
      )
  })
  return wrong
}

/**
 * Sends one UDP datagram from a connected socket to each target (`[address, port]`) and waits up
 * to `timeoutMs` for each: prints a JSON array of `refused` (an ICMP port unreachable came
 * back: Linux reports it on the connected socket as ECONNREFUSED), `reply` or `silent`.
 */
const UDP_PY = String.raw`
import errno, json, socket, sys
a = json.loads(sys.argv[1]); out = []
for host, port in a['targets']:
    s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(a['timeoutMs'] / 1000.0)
    try:
        s.connect((host, port)); s.send(b'bulkhead'); s.recv(64); out.append('reply')
    except socket.timeout: out.append('silent')
    except OSError as e: out.append('refused' if e.errno == errno.ECONNREFUSED else 'error %d' % e.errno)
    finally: s.close()
print(json.dumps(out))
`

/**
 * The ICMP error check: from `a` of {@link icmpErrorEstate}, a UDP datagram to each address of
 * `b` on the allowed port where nothing listens. `b`'s port unreachable (ICMP 3 / ICMPv6 1,
 * `b → a`) matches no allow rule; the reference evaluator allows it as `related` (part of the
 * allowed connection), so the enforced rulesets of both hosts, loaded by `apply`, must pass it
 * and the sender must see the port refused. Without python3 it is skipped with the reason, or
 * fails where BULKHEAD_REQUIRE_NETNS=1.
 */
export async function checkIcmpErrorsPass(
  suite: string,
  prefix: string,
  apply: (lab: Lab, inventory: Inventory, policySet: PolicySet) => Promise<unknown>,
): Promise<void> {
  const support = icmpSupport()
  if (!support.ok) {
    if (process.env['BULKHEAD_REQUIRE_NETNS'] === '1')
      throw new Error(`python3 required (BULKHEAD_REQUIRE_NETNS=1): ${support.reason}`)
    process.stderr.write(`[${suite} kernel] ICMP error check skipped: ${support.reason}\n`)
    return
  }
  const e = icmpErrorEstate
  const lab = await createLab(prefix, e.hosts)
  try {
    await apply(lab, e.inventory, e.policySet)
    const b = e.hosts[1].addresses
    const targets = b.map((d) => [d, e.port])
    const out = await lab.exec(
      'a',
      ['python3', '-c', UDP_PY, JSON.stringify({ targets, timeoutMs: 3000 })],
      20_000,
    )
    const seen = JSON.parse(out) as string[]
    const got = b.map((dst, i) => {
      const v6 = dst.includes(':')
      const v = evaluate(e.inventory, e.policySet, {
        src: dst,
        dst: e.hosts[0].addresses[v6 ? 1 : 0],
        protocol: v6 ? 58 : 1,
        dstPort: v6 ? 1 : 3,
        at: Date.UTC(2026, 10, 22, 12),
      })
      return { dst, by: v.by, seen: seen[i] ?? 'none' }
    })
    // b's port unreachable to a matches no rule; it is related to a's allowed datagram, so it
    // comes back and a's socket sees the port refused
    expect(got).toEqual([
      { dst: '10.77.2.2', by: 'related', seen: 'refused' },
      { dst: 'fd77:2::2', by: 'related', seen: 'refused' },
    ])
  } finally {
    await lab.destroy()
  }
}
