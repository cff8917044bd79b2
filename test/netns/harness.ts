/**
 * @module The kernel verification harness: one network namespace per workload, all joined by
 * veth pairs to a bridge in a namespace of its own; compiled rulesets applied per host with a
 * pluggable apply command (nftables here; iptables-restore/ipset for the iptables target);
 * bounded TCP/UDP listeners and probes run as small node scripts inside the namespaces.
 *
 * Everything is named `<prefix>-…` so that {@link cleanupLeftovers} can remove what an earlier,
 * killed run left behind; {@link Lab.destroy} deletes every namespace (and with it every veth,
 * bridge, ruleset and process-visible socket) and is safe to call twice.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { LISTENER_JS, PROBE_JS } from './agents.js'

const run = promisify(execFile)

/** Whether the kernel tests can run here, and why not. */
export function netnsSupport(prefix: string): { ok: true } | { ok: false; reason: string } {
  if (process.platform !== 'linux') return { ok: false, reason: 'not Linux' }
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not root' }
  if (spawnSync('nft', ['--version']).status !== 0) return { ok: false, reason: 'no nft binary' }
  const ns = `${prefix}-check`
  spawnSync('ip', ['netns', 'del', ns])
  const add = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' })
  if (add.status !== 0)
    return {
      ok: false,
      reason: `ip netns add failed: ${(add.stderr || add.error?.message || '').trim()}`,
    }
  spawnSync('ip', ['netns', 'del', ns])
  return { ok: true }
}

/**
 * Deletes every namespace whose name starts with `<prefix>-`, and every temporary folder
 * `<tmpdir>/<prefix>-*` (leftovers of a killed run).
 */
export function cleanupLeftovers(prefix: string): void {
  for (const name of readdirSync(tmpdir())) {
    if (name.startsWith(`${prefix}-`))
      rmSync(path.join(tmpdir(), name), { recursive: true, force: true })
  }
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout
  for (const line of list.split('\n')) {
    const name = line.split(/\s+/)[0] ?? ''
    if (name.startsWith(`${prefix}-`)) spawnSync('ip', ['netns', 'del', name])
  }
}

/** One host of a lab: a workload name and its addresses (placed on `eth0` of its namespace). */
export interface LabHost {
  readonly name: string
  readonly addresses: readonly string[]
}

/** How to load compiled artefacts into a namespace: `check` (optional) then `apply`, each an argv given the file path. */
export interface ApplyCommand {
  readonly check?: (file: string) => readonly string[]
  readonly apply: (file: string) => readonly string[]
}

/** `nft -c -f FILE` then `nft -f FILE`. */
export const NFT_APPLY: ApplyCommand = {
  check: (f) => ['nft', '-c', '-f', f],
  apply: (f) => ['nft', '-f', f],
}

/** A probe target: destination address, protocol and port. */
export interface ProbeTarget {
  readonly dst: string
  readonly proto: 'tcp' | 'udp'
  readonly port: number
}

/** One connection or datagram a listener received: source and destination address, protocol, port. */
export interface Received {
  readonly proto: 'tcp' | 'udp'
  readonly src: string
  readonly dst: string
  readonly port: number
}

/** A running lab. */
export interface Lab {
  readonly prefix: string
  /** Namespace name of each host. */
  readonly ns: ReadonlyMap<string, string>
  /** Runs argv inside a host's namespace; rejects on a non-zero exit. */
  exec(host: string, argv: readonly string[], timeoutMs?: number): Promise<string>
  /** Writes `content` to a temporary file and loads it in the host's namespace (check first). */
  apply(host: string, content: string, cmd?: ApplyCommand): Promise<void>
  /**
   * Writes `files` (name → content) into a fresh temporary folder and runs `argv(folder)` in the
   * host's namespace: for artefacts that load one another, such as an apply script.
   */
  applyFiles(
    host: string,
    files: ReadonlyMap<string, string>,
    argv: (dir: string) => readonly string[],
  ): Promise<void>
  /** Starts listeners on every address of every host; resolves once all listen. Stopped by {@link Lab.destroy}. */
  listen(
    ports: { tcp: readonly number[]; udp: readonly number[] },
    lifetimeMs: number,
  ): Promise<void>
  /**
   * What the listeners received since the last call (and forgets it): one entry per accepted TCP
   * connection or UDP datagram. A flow that a ruleset drops never appears here, however slow
   * the machine: this is the timing-independent half of a "must not connect" check.
   */
  takeReceived(): Received[]
  /** Probes targets from a host (at most 64 at once); one boolean (connected in time) per target. */
  probe(host: string, targets: readonly ProbeTarget[], timeoutMs: number): Promise<boolean[]>
  /** Probes repeatedly (`repeat` rounds); resolves to the failure count per target. */
  probeLoop(
    host: string,
    targets: readonly ProbeTarget[],
    repeat: number,
    timeoutMs: number,
    gapMs: number,
  ): Promise<number[]>
  destroy(): Promise<void>
}

async function ip(args: readonly string[]): Promise<void> {
  await run('ip', [...args], { timeout: 10_000 })
}

/**
 * Creates a lab: namespace `<prefix>-br` with bridge `br0`, and per host `<prefix>-h<i>` with
 * `lo` up and `eth0` (veth to port `p<i>` of the bridge) holding its addresses (IPv4 as /16,
 * IPv6 as /64 without duplicate address detection), and permanent neighbour entries for every
 * other host's addresses. On any failure the partial lab is deleted
 * before the error is rethrown.
 */
export async function createLab(prefix: string, hosts: readonly LabHost[]): Promise<Lab> {
  const br = `${prefix}-br`
  const ns = new Map<string, string>()
  const addressesOf = new Map(hosts.map((h) => [h.name, h.addresses]))
  const children = new Set<ChildProcess>()
  const received: Received[] = []
  const tmp = mkdtempSync(path.join(tmpdir(), `${prefix}-`))
  let destroyed = false
  const destroy = async (): Promise<void> => {
    if (destroyed) return
    destroyed = true
    for (const c of children) c.kill('SIGKILL')
    for (const n of [...ns.values(), br]) spawnSync('ip', ['netns', 'del', n])
    rmSync(tmp, { recursive: true, force: true })
  }
  try {
    await ip(['netns', 'add', br])
    await ip(['-n', br, 'link', 'add', 'br0', 'type', 'bridge'])
    await ip(['-n', br, 'link', 'set', 'br0', 'up'])
    for (const [i, h] of hosts.entries()) {
      const n = `${prefix}-h${i}`
      await ip(['netns', 'add', n])
      ns.set(h.name, n)
      await ip([
        '-n',
        br,
        'link',
        'add',
        `p${i}`,
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'netns',
        n,
      ])
      await ip(['-n', br, 'link', 'set', `p${i}`, 'master', 'br0', 'up'])
      await ip(['-n', n, 'link', 'set', 'lo', 'up'])
      for (const a of h.addresses) {
        if (a.includes(':')) await ip(['-n', n, 'addr', 'add', `${a}/64`, 'dev', 'eth0', 'nodad'])
        else await ip(['-n', n, 'addr', 'add', `${a}/16`, 'dev', 'eth0'])
      }
      await ip(['-n', n, 'link', 'set', 'eth0', 'up'])
    }
    // Permanent neighbour entries: no ARP or neighbour discovery during the probes, so that the
    // first packets to a peer are never lost in an unresolved-neighbour queue (a loaded CI
    // machine otherwise loses a first SYN or datagram and the probe times out).
    const macs = await Promise.all(
      hosts.map(async (_, i) => {
        const { stdout } = await run(
          'ip',
          ['-n', `${prefix}-h${i}`, '-j', 'link', 'show', 'eth0'],
          { timeout: 10_000 },
        )
        return (JSON.parse(stdout) as { address: string }[])[0]?.address ?? ''
      }),
    )
    for (const [i] of hosts.entries()) {
      for (const [j, peer] of hosts.entries()) {
        if (i === j) continue
        for (const a of peer.addresses) {
          await ip([
            '-n',
            `${prefix}-h${i}`,
            'neigh',
            'replace',
            a,
            'lladdr',
            macs[j] ?? '',
            'dev',
            'eth0',
            'nud',
            'permanent',
          ])
        }
      }
    }
  } catch (err) {
    await destroy()
    throw err
  }
  const nsOf = (host: string): string => {
    const n = ns.get(host)
    if (!n) throw new Error(`no host ${host} in lab ${prefix}`)
    return n
  }
  let fileNo = 0
  const lab: Lab = {
    prefix,
    ns,
    async exec(host, argv, timeoutMs = 10_000) {
      const { stdout } = await run('ip', ['netns', 'exec', nsOf(host), ...argv], {
        timeout: timeoutMs,
        maxBuffer: 64 << 20,
      })
      return stdout
    },
    async apply(host, content, cmd = NFT_APPLY) {
      const file = path.join(tmp, `ruleset-${fileNo++}`)
      writeFileSync(file, content)
      if (cmd.check) await lab.exec(host, cmd.check(file))
      await lab.exec(host, cmd.apply(file))
    },
    async applyFiles(host, files, argv) {
      const dir = path.join(tmp, `files-${fileNo++}`)
      mkdirSync(dir)
      for (const [name, content] of files) writeFileSync(path.join(dir, name), content)
      await lab.exec(host, argv(dir))
    },
    async listen(ports, lifetimeMs) {
      const starts = [...ns.keys()].map(
        (host) =>
          new Promise<void>((resolve, reject) => {
            const c = spawn(
              'ip',
              [
                'netns',
                'exec',
                nsOf(host),
                process.execPath,
                '--input-type=module',
                '-e',
                LISTENER_JS,
                JSON.stringify({ ...ports, lifetimeMs, addresses: addressesOf.get(host) ?? [] }),
              ],
              {
                stdio: ['pipe', 'pipe', 'pipe'],
              },
            )
            children.add(c)
            let err = ''
            const timer = setTimeout(
              () => reject(new Error(`listener in ${host} did not start`)),
              10_000,
            )
            let buf = ''
            c.stdout.on('data', (d: Buffer) => {
              buf += d.toString()
              const lines = buf.split('\n')
              buf = lines.pop() ?? ''
              for (const line of lines) {
                if (line === 'ready') {
                  clearTimeout(timer)
                  resolve()
                } else if (line.startsWith('{')) received.push(JSON.parse(line) as Received)
              }
            })
            c.stderr.on('data', (d: Buffer) => (err += d.toString()))
            c.on('exit', (code) => {
              children.delete(c)
              clearTimeout(timer)
              reject(new Error(`listener in ${host} exited with ${code}: ${err}`))
            })
          }),
      )
      await Promise.all(starts)
    },
    takeReceived() {
      return received.splice(0, received.length)
    },
    async probe(host, targets, timeoutMs) {
      if (targets.length === 0) return []
      const out = await lab.exec(
        host,
        [
          process.execPath,
          '--input-type=module',
          '-e',
          PROBE_JS,
          JSON.stringify({ targets, timeoutMs }),
        ],
        30_000,
      )
      return JSON.parse(out) as boolean[]
    },
    async probeLoop(host, targets, repeat, timeoutMs, gapMs) {
      const out = await lab.exec(
        host,
        [
          process.execPath,
          '--input-type=module',
          '-e',
          PROBE_JS,
          JSON.stringify({ targets, timeoutMs, repeat, gapMs }),
        ],
        60_000,
      )
      return JSON.parse(out) as number[]
    },
    destroy,
  }
  return lab
}

/** One element of a would-be-blocked set: source, destination, protocol number, port (undefined in `_noport` sets). */
export interface SetElement {
  readonly src: string
  readonly dst: string
  readonly proto: number
  readonly port?: number
  readonly packets?: number
}

const PROTO_NUM: Record<string, number> = {
  tcp: 6,
  udp: 17,
  sctp: 132,
  dccp: 33,
  udplite: 136,
  icmp: 1,
  'ipv6-icmp': 58,
}

function setElements(set: { elem?: unknown[] }): SetElement[] {
  const elems: SetElement[] = []
  for (const e of set.elem ?? []) {
    const wrapped = (e as { elem?: { val?: unknown; counter?: { packets?: number } } }).elem
    const val = (wrapped?.val ?? e) as { concat?: unknown[] }
    const c = val.concat ?? []
    const proto = typeof c[2] === 'number' ? c[2] : (PROTO_NUM[String(c[2])] ?? Number(c[2]))
    elems.push({
      src: String(c[0]),
      dst: String(c[1]),
      proto,
      ...(c[3] !== undefined ? { port: Number(c[3]) } : {}),
      ...(wrapped?.counter?.packets !== undefined ? { packets: wrapped.counter.packets } : {}),
    })
  }
  return elems
}

/** Reads a set with `nft -j list set inet bulkhead NAME` in a host's namespace. */
export async function readSet(lab: Lab, host: string, name: string): Promise<SetElement[]> {
  return (await readSets(lab, host, [name])).get(name) ?? []
}

/**
 * Reads several sets of `table inet bulkhead` at once (`nft -j list table inet bulkhead`, one
 * process). A set that the table lacks is absent from the result.
 */
export async function readSets(
  lab: Lab,
  host: string,
  names: readonly string[],
): Promise<Map<string, SetElement[]>> {
  const out = await lab.exec(host, ['nft', '-j', 'list', 'table', 'inet', 'bulkhead'])
  const doc = JSON.parse(out) as { nftables: Record<string, unknown>[] }
  const result = new Map<string, SetElement[]>()
  for (const item of doc.nftables) {
    const set = item.set as { name?: string; elem?: unknown[] } | undefined
    if (set?.name !== undefined && names.includes(set.name)) result.set(set.name, setElements(set))
  }
  return result
}

/** A counter of the `TcpExt` line of /proc/net/netstat in a host's namespace (e.g. `TCPSynRetrans`). */
export async function tcpExtCounter(lab: Lab, host: string, name: string): Promise<number> {
  const text = await lab.exec(host, ['cat', '/proc/net/netstat'])
  const lines = text.split('\n').filter((l) => l.startsWith('TcpExt:'))
  const keys = lines[0]?.split(/\s+/) ?? []
  const values = lines[1]?.split(/\s+/) ?? []
  const i = keys.indexOf(name)
  if (i < 0) throw new Error(`no TcpExt counter ${name}`)
  return Number(values[i])
}
