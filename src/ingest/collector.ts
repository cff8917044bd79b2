/**
 * @module UDP collector for NetFlow v1 / v5 / v7 / v9 and IPFIX: receives datagrams and decodes
 * them live.
 *
 * One {@link NetflowDecoder} serves every exporter; its template state is keyed by the exporter
 * plus the source id / observation domain in each datagram, with the memory bounds of
 * templates.ts. The exporter is the remote address for NetFlow v9 (RFC 3954 §5.1: source address
 * and source id) and the remote address and port for IPFIX (RFC 7011 §8: templates belong to one
 * transport session; over UDP, RFC 7011 §10.3.1, one exporter address and port), so two IPFIX
 * exporting processes behind one address keep their own templates. Flows carry
 * `source.file = udp://<exporter address>:<exporter port>` (IPv6 addresses in brackets) and
 * `source.record` = the datagram's index since the collector started (0-based). Flows are
 * oriented client→server where the evidence allows ({@link orient}), as reading the same
 * datagrams from a file orients them (read.ts). The events of one firewall connection (Cisco
 * NSEL) are one flow, given out at its teardown, or by {@link Collector.close} while still open
 * (netflow/events.ts). Datagrams and records that the exporters' sequence numbers show missing
 * (lost on the way, or arriving out of order) are counted as the notes `lost-datagrams` (v9) and
 * `lost-records` (v5, v7, IPFIX).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import type { Flow } from '../core/flow.js'
import { orient } from './direction.js'
import { NetflowDecoder, type DecodeProblem } from './netflow/decoder.js'
import { FirewallEventMerger } from './netflow/events.js'
import type { TemplateLimits } from './netflow/templates.js'
import { newStats, note, skip, type ParseContext, type ParseStats } from './types.js'

/** Options of {@link startCollector}. */
export interface CollectorOptions {
  /** Address to bind: an IPv4 address (udp4 socket) or an IPv6 address (udp6), e.g. `127.0.0.1`, `::`. */
  readonly host: string
  /** UDP port; 0 picks a free port (read it from the returned `address`). */
  readonly port: number
  /** Called for every decoded flow, oriented (see the module comment), in arrival order. */
  readonly onFlow: (flow: Flow) => void
  /** Called after each datagram with the running counts (the same object each time). */
  readonly onStats?: (stats: ParseStats) => void
  /** Datagrams longer than this are counted `too-large` and not decoded. Default 65535. */
  readonly maxDatagramBytes?: number
  /** Template cache bounds (defaults in templates.ts). */
  readonly limits?: Partial<TemplateLimits>
}

/** A running collector. */
export interface Collector {
  /** The bound address and port. */
  readonly address: { readonly address: string; readonly port: number; readonly family: string }
  /** Running counts: `records` = flows emitted; `skipped`/`notes` by reason. */
  readonly stats: ParseStats
  /** Datagrams received so far. */
  readonly datagrams: () => number
  /**
   * Stops listening: data sets still waiting for a template count as `no-template`, and firewall
   * connections still open are given to `onFlow`. Idempotent.
   */
  close(): Promise<void>
}

/**
 * Starts a UDP collector.
 *
 * @returns once the socket is bound.
 * @throws the bind error (e.g. `EADDRINUSE`, `EACCES`) as the rejected promise.
 */
export async function startCollector(opts: CollectorOptions): Promise<Collector> {
  const maxBytes = opts.maxDatagramBytes ?? 65535
  const decoder = new NetflowDecoder(opts.limits ?? {}, { sequenceGaps: true })
  const stats = newStats()
  const ctx: ParseContext = {
    file: `udp://${hostPort(opts.host, opts.port)}`,
    strict: false,
    stats,
  }
  const socket: Socket = createSocket({ type: opts.host.includes(':') ? 'udp6' : 'udp4' })
  let count = 0
  let closed = false

  const report = (p: DecodeProblem): void => {
    if (p.kind === 'note') note(ctx, p.reason, p.count)
    else skip(ctx, p.reason, `${p.file}#${p.record}`, p.detail)
  }
  const connections = new FirewallEventMerger((reason) => note(ctx, reason))
  const give = (flows: readonly Flow[]): void => {
    for (const f of flows) {
      stats.records++
      opts.onFlow(f.direction === 'unknown' ? orient(f) : f)
    }
  }

  socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    if (closed) return
    const record = count++
    const file = `udp://${hostPort(rinfo.address, rinfo.port)}`
    if (msg.byteLength > maxBytes) {
      skip(ctx, 'too-large', `${file}#${record}`, `${msg.byteLength} octets > ${maxBytes}`)
    } else {
      const ipfix = msg.byteLength >= 2 && msg.readUInt16BE(0) === 10
      const exporter = ipfix ? hostPort(rinfo.address, rinfo.port) : rinfo.address
      const r = decoder.decode(msg, { exporter, file, record })
      for (const p of r.problems) report(p)
      for (const f of r.flows) give(connections.add(f, r.events.get(f)))
    }
    opts.onStats?.(stats)
  })

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      socket.close()
      reject(err)
    }
    socket.once('error', onError)
    socket.bind(opts.port, opts.host, () => {
      socket.off('error', onError)
      // later socket errors (rare for UDP) are counted, not thrown
      socket.on('error', (err) => skip(ctx, 'socket-error', ctx.file, err.message))
      resolve()
    })
  })
  const a = socket.address()

  return {
    address: { address: a.address, port: a.port, family: a.family },
    stats,
    datagrams: () => count,
    close: async () => {
      if (closed) return
      closed = true
      for (const p of decoder.flush().problems) report(p)
      give(connections.end())
      opts.onStats?.(stats)
      await new Promise<void>((resolve) => socket.close(() => resolve()))
    },
  }
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
