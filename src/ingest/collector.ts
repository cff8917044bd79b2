/**
 * @module Collector for NetFlow v1 / v5 / v7 / v9 and IPFIX: receives datagrams over UDP, or IPFIX
 * Messages over TCP, and decodes them live.
 *
 * One {@link NetflowDecoder} serves every exporter; its template state is keyed by the exporter
 * plus the source id / observation domain in each datagram, with the memory bounds of
 * templates.ts. The exporter is the remote address for NetFlow v9 (RFC 3954 §5.1: source address
 * and source id) and the remote address and port for IPFIX (RFC 7011 §8: templates belong to one
 * transport session; over UDP, RFC 7011 §10.3.1, one exporter address and port), so two IPFIX
 * exporting processes behind one address keep their own templates. Flows carry
 * `source.file = udp://<exporter address>:<exporter port>` (IPv6 addresses in brackets) and
 * `source.record` = the datagram's index since the collector started (0-based). Flows are
 * oriented client→server where the evidence allows (direction.ts `orient`), as reading the same
 * datagrams from a file orients them (read.ts), and the two one-direction records of a
 * connection from one exporter (and source id / observation domain) are paired into one flow as
 * reading pairs them, each record held for its other direction at most
 * {@link CollectorOptions.pairHoldMs} (default 10 s) after it arrived, so a record with no
 * partner comes out up to that late. The events of one firewall connection (Cisco
 * NSEL) are one flow, given out at its teardown, or by {@link Collector.close} while still open
 * (netflow/events.ts). Datagrams and records that the exporters' sequence numbers show missing
 * (lost on the way, or arriving out of order) are counted as the notes `lost-datagrams` (v9) and
 * `lost-records` (v5, v7, IPFIX).
 *
 * Over TCP (`transport: 'tcp'`, RFC 7011 §10.4) each connection is one Transport Session: the
 * exporter writes IPFIX Messages back to back and each ends where its header's Length says
 * (§10.4.1; {@link MessageFramer}, shared with captures of TCP in netflow/streams.ts). Templates
 * belong to the connection (§8: a Template ID is unique per Transport Session; §10.4.2: an
 * exporter that reconnects sends its Templates again): each connection has its own decoder, and
 * what it held (data waiting for a template, counted `no-template`; a Message begun, counted
 * `tcp-cut`) goes when the connection closes. Flows carry `source.file =
 * tcp://<exporter address>:<exporter port>` and `source.record` = the Message's index since the
 * collector started. A stream that stops framing (a version other than 10, a length below 16)
 * closes its connection, counted `bad-stream` and warned; NetFlow v9 over TCP is no standard (an
 * export packet's header counts records and gives no length to frame it by, RFC 3954 §5.1;
 * Cisco's draft-djernaes-netflow-9-transport adds SCTP, not TCP), so a v9 stream is refused the
 * same way, counted `netflow-v9-over-tcp`. Memory:
 * at most `maxConnections` connections at once (more are closed at once, counted
 * `too-many-connections`), each holding at most one Message begun (< 64 KiB) and the template
 * cache bounds of UDP divided among the connections ({@link tcpLimits}).
 *
 * Over TLS (`transport: 'tls'`, TLS 1.2 or 1.3 as RFC 7011 §11 asks of IPFIX over TCP) it is the
 * same once a connection's handshake is done, with `source.file = tls://<exporter address>:<port>`.
 * With {@link CollectorTls.ca} an exporter must present a certificate those CAs sign (mutual TLS);
 * a handshake that fails (no certificate, one they did not sign, a client that speaks no TLS) is
 * counted `tls-handshake` and warned.
 *
 * @see https://datatracker.ietf.org/doc/html/rfc7011 (§8 Template Management, §10.4 TCP, §11 TLS)
 * @see https://datatracker.ietf.org/doc/html/rfc3954 (NetFlow v9 header, §5.1)
 * @see https://datatracker.ietf.org/doc/html/draft-djernaes-netflow-9-transport-00 (v9 over SCTP)
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import { createServer, type Server, type Socket as TcpSocket } from 'node:net'
import { createServer as createTlsServer, type TLSSocket } from 'node:tls'
import type { Flow } from '../core/flow.js'
import { normalizeIp } from '../core/ip.js'
import { senderFirst } from './direction.js'
import { reportProblem } from './formats/netflow.js'
import { NetflowDecoder, type DecodeProblem, type PairHalf } from './netflow/decoder.js'
import { ExporterPairer } from './netflow/pairing.js'
import { FirewallEventMerger } from './netflow/events.js'
import { MessageFramer } from './netflow/streams.js'
import { DEFAULT_LIMITS, type TemplateLimits } from './netflow/templates.js'
import {
  countFlowNotes,
  newStats,
  note,
  skip,
  type ParseContext,
  type ParseStats,
} from './types.js'

/** Options of {@link startCollector}. */
export interface CollectorOptions {
  /** Address to bind: an IPv4 address (udp4 socket) or an IPv6 address (udp6), e.g. `127.0.0.1`, `::`. */
  readonly host: string
  /** UDP or TCP port; 0 picks a free port (read it from the returned `address`). */
  readonly port: number
  /**
   * `udp` (default): NetFlow v1/v5/v7/v9 and IPFIX datagrams; `tcp`: IPFIX Messages, one
   * Transport Session per connection (see the module comment); `tls`: the same over TLS
   * ({@link CollectorOptions.tls} required).
   */
  readonly transport?: CollectorTransport
  /** The collector's certificate and key, and the CAs of the exporters, for `transport: 'tls'`. */
  readonly tls?: CollectorTls
  /** TCP: connections held at once; more are closed at once (`too-many-connections`). Default 64. */
  readonly maxConnections?: number
  /** Called with a one-line warning when a TCP connection is closed for what it sent. */
  readonly onWarning?: (text: string) => void
  /** Called for every decoded flow, oriented (see the module comment), in arrival order. */
  readonly onFlow: (flow: Flow) => void
  /** Called after each datagram with the running counts (the same object each time). */
  readonly onStats?: (stats: ParseStats) => void
  /** Datagrams longer than this are counted `too-large` and not decoded. Default 65535. */
  readonly maxDatagramBytes?: number
  /** Template cache bounds (defaults in templates.ts). */
  readonly limits?: Partial<TemplateLimits>
  /**
   * Pair the two one-direction records of a connection from the same exporter (and source id /
   * observation domain) into one client→server flow, as reading a file does (read.ts
   * `EXPORTER_PAIRED_FORMATS`; noted `paired-directions`). Default true. A record is held for
   * its other direction at most {@link CollectorOptions.pairHoldMs} after it arrived (and while
   * fewer than 10 000 records are held), then given out alone.
   */
  readonly pair?: boolean
  /** How long a record waits for its other direction, ms of wall-clock time. Default {@link PAIR_HOLD_MS}. */
  readonly pairHoldMs?: number
}

/**
 * Default of {@link CollectorOptions.pairHoldMs}: 10 s. An exporter sends a connection's two
 * records when the connection leaves its cache (both directions end together, or time out
 * alike), mostly in one export or the next, so a record whose other direction has not come in
 * 10 s is given out alone; a longer hold would pair a little more and print every lone record
 * later.
 */
export const PAIR_HOLD_MS = 10_000

/** How often the held records are looked at, ms (a record waits at most this beyond its hold). */
const PAIR_TICK_MS = 1_000

/**
 * The last stage of a collector: orients, pairs (when asked), turns group ends around, counts,
 * and hands each flow to `onFlow`. `give` takes decoded flows with the exporter scopes the
 * decoder gave (netflow/decoder.ts `DecodeResult.halves`); `close` gives out what is held.
 */
function outlet(
  ctx: ParseContext,
  opts: CollectorOptions,
): {
  give: (flows: readonly Flow[], halves?: ReadonlyMap<Flow, PairHalf>) => void
  close: () => void
} {
  // (the pairer's flows come out oriented: a typeless ICMP record read as an echo request keeps
  // its `unknown` direction, which orienting its type 8 would turn into a guess)
  const emit = (f: Flow): void => {
    const g = senderFirst(ctx, f)
    if (g === undefined) return
    ctx.stats.records++
    // its records' notes ride on it (types.ts FLOW_NOTES): counted now it is given out
    opts.onFlow(countFlowNotes(ctx.stats, g))
  }
  const pairer = new ExporterPairer({ pair: opts.pair !== false })
  if (opts.pair === false)
    return {
      give: (flows, halves) => {
        const out: Flow[] = []
        for (const f of flows) pairer.push(f, halves?.get(f), out)
        out.forEach(emit)
      },
      close: () => undefined,
    }
  const hold = opts.pairHoldMs ?? PAIR_HOLD_MS
  const out: Flow[] = []
  // (a pair carries its paired-directions note, counted as `emit` gives it out)
  const drain = (): void => {
    for (const f of out.splice(0)) emit(f)
  }
  const timer = setInterval(
    () => {
      pairer.expire(Date.now() - hold, out)
      if (out.length === 0) return
      drain()
      opts.onStats?.(ctx.stats)
    },
    Math.min(PAIR_TICK_MS, Math.max(1, hold)),
  )
  timer.unref()
  return {
    give: (flows, halves) => {
      const now = Date.now()
      for (const f of flows) pairer.push(f, halves?.get(f), out, now)
      drain()
    },
    close: () => {
      clearInterval(timer)
      pairer.flush(out)
      drain()
    },
  }
}

/** How a collector receives: UDP datagrams, or IPFIX Messages over TCP or TLS over TCP. */
export type CollectorTransport = 'udp' | 'tcp' | 'tls'

/**
 * TLS material of a `tls` collector, as PEM text (RFC 7468). The collector speaks TLS 1.2 or 1.3.
 * @remarks RFC 7011 §11 (Security Considerations) gives TLS as the protection of IPFIX over TCP,
 *   with the exporter and the collector authenticated by certificates.
 */
export interface CollectorTls {
  /** The collector's certificate, or its chain, leaf first. */
  readonly cert: string | Buffer
  /** The private key of `cert`. */
  readonly key: string | Buffer
  /**
   * The CAs that sign exporters' certificates. Given: an exporter must present a certificate
   * they sign, or its handshake fails (mutual TLS; counted `tls-handshake`). Not given: any
   * exporter may connect, unauthenticated (the connection is still encrypted).
   */
  readonly ca?: string | Buffer
}

/** A running collector. */
export interface Collector {
  /** The bound address and port, and the transport. */
  readonly address: {
    readonly address: string
    readonly port: number
    readonly family: string
    readonly transport: CollectorTransport
  }
  /** Running counts: `records` = flows emitted; `skipped`/`notes` by reason. */
  readonly stats: ParseStats
  /** Datagrams (UDP) or IPFIX Messages (TCP, TLS) received so far. */
  readonly datagrams: () => number
  /** TCP or TLS connections open now (0 over UDP). */
  readonly connections: () => number
  /**
   * Stops listening (and closes the TCP connections still open): data sets still waiting for a
   * template count as `no-template`, and firewall connections still open are given to `onFlow`.
   * Idempotent.
   */
  close(): Promise<void>
}

/**
 * Starts a UDP, TCP or TLS collector.
 *
 * @returns once the socket is bound.
 * @throws the bind error (e.g. `EADDRINUSE`, `EACCES`) as the rejected promise; for `tls`, the
 *   TLS library's error when the PEM text cannot be read or the key does not match the
 *   certificate, and a TypeError when `tls` is missing.
 */
export async function startCollector(opts: CollectorOptions): Promise<Collector> {
  if (opts.transport === 'tcp' || opts.transport === 'tls') return startTcpCollector(opts)
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

  const report = (p: DecodeProblem): void => reportProblem(ctx, p)
  const connections = new FirewallEventMerger((reason) => note(ctx, reason))
  const { give, close: closeOutlet } = outlet(ctx, opts)

  socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    if (closed) return
    const record = count++
    const file = `udp://${hostPort(rinfo.address, rinfo.port)}`
    if (msg.byteLength > maxBytes) {
      skip(ctx, 'too-large', `${file}#${record}`, `${msg.byteLength} octets > ${maxBytes}`)
    } else {
      const ipfix = msg.byteLength >= 2 && msg.readUInt16BE(0) === 10
      const exporter = ipfix ? hostPort(rinfo.address, rinfo.port) : exporterHost(rinfo.address)
      const r = decoder.decode(msg, { exporter, file, record })
      for (const p of r.problems) report(p)
      for (const f of r.flows) give(connections.add(f, r.events.get(f)), r.halves)
    }
    opts.onStats?.(stats)
  })

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      closeOutlet()
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
    address: { address: a.address, port: a.port, family: a.family, transport: 'udp' },
    stats,
    datagrams: () => count,
    connections: () => 0,
    close: async () => {
      if (closed) return
      closed = true
      for (const p of decoder.flush().problems) report(p)
      give(connections.end())
      closeOutlet()
      opts.onStats?.(stats)
      await new Promise<void>((resolve) => socket.close(() => resolve()))
    },
  }
}

/** Default of {@link CollectorOptions.maxConnections}. */
export const DEFAULT_MAX_CONNECTIONS = 64

/**
 * Silence on a TCP connection after which the kernel starts keepalive probes (ms): a dead
 * exporter's connection is then closed after the system's probe count and interval (Linux:
 * `net.ipv4.tcp_keepalive_probes` × `tcp_keepalive_intvl`).
 */
export const KEEPALIVE_MS = 60_000

/**
 * The template cache bounds of one TCP connection: the UDP collector's bounds over all exporters
 * ({@link DEFAULT_LIMITS}: 1 Mi template fields, 16 MiB held data) divided among
 * `maxConnections`, at least 1 024 fields and 64 KiB each; `given` overrides.
 */
export function tcpLimits(
  maxConnections: number,
  given: Partial<TemplateLimits> = {},
): TemplateLimits {
  const fields = Math.max(1024, Math.floor(DEFAULT_LIMITS.maxTemplateFieldsTotal / maxConnections))
  const held = Math.max(65536, Math.floor(DEFAULT_LIMITS.maxPendingBytesTotal / maxConnections))
  return {
    ...DEFAULT_LIMITS,
    maxExporters: 1,
    maxTemplateFieldsPerExporter: Math.min(DEFAULT_LIMITS.maxTemplateFieldsPerExporter, fields),
    maxTemplateFieldsTotal: fields,
    maxPendingBytesPerExporter: Math.min(DEFAULT_LIMITS.maxPendingBytesPerExporter, held),
    maxPendingBytesTotal: held,
    ...given,
  }
}

/** {@link startCollector} over TCP, or TLS over TCP (see the module comment). */
async function startTcpCollector(opts: CollectorOptions): Promise<Collector> {
  const scheme = opts.transport === 'tls' ? 'tls' : 'tcp'
  if (scheme === 'tls' && opts.tls === undefined)
    throw new TypeError("a collector with transport 'tls' needs its tls options")
  const maxConnections = opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS
  const limits = tcpLimits(maxConnections, opts.limits)
  const stats = newStats()
  const ctx: ParseContext = {
    file: `${scheme}://${hostPort(opts.host, opts.port)}`,
    strict: false,
    stats,
  }
  const merger = new FirewallEventMerger((reason) => note(ctx, reason))
  const { give, close: closeOutlet } = outlet(ctx, opts)
  const open = new Map<TcpSocket, () => void>()
  let count = 0
  let closed = false

  // TCP keepalive after KEEPALIVE_MS of silence: an exporter whose host died (no FIN, no RST) is
  // found by the kernel's probes and its connection closed, so it does not hold its place for
  // ever; an exporter alive but idle answers the probes and keeps its place and templates
  const options = { noDelay: true, keepAlive: true, keepAliveInitialDelay: KEEPALIVE_MS }
  const session = (sock: TcpSocket): void => {
    const file = `${scheme}://${hostPort(sock.remoteAddress ?? '?', sock.remotePort ?? 0)}`
    if (closed || open.size >= maxConnections) {
      if (!closed)
        skip(ctx, 'too-many-connections', file, `${String(maxConnections)} connections open`)
      sock.destroy()
      return
    }
    // one decoder per connection: its templates are the Transport Session's (RFC 7011 §8)
    const decoder = new NetflowDecoder(limits, { sequenceGaps: true })
    const framer = new MessageFramer()
    const report = (p: DecodeProblem): void => reportProblem(ctx, p)
    let ended = false
    const end = (): void => {
      if (ended) return
      ended = true
      open.delete(sock)
      if (framer.buffered > 0)
        skip(
          ctx,
          'tcp-cut',
          file,
          `a message cut short by the connection's end (${String(framer.buffered)} octets)`,
        )
      framer.clear()
      for (const p of decoder.flush().problems) report(p)
      opts.onStats?.(stats)
    }
    open.set(sock, end)
    sock.on('data', (chunk: Buffer) => {
      if (ended) return
      const r = framer.push(chunk)
      for (const m of r.messages) {
        const record = count++
        const d = decoder.decode(m, { exporter: file, file, record })
        for (const p of d.problems) report(p)
        for (const f of d.flows) give(merger.add(f, d.events.get(f)), d.halves)
      }
      if (r.bad) {
        const h = r.bad.header
        const v9 = h[0] === 0 && h[1] === 9
        const reason = v9 ? 'netflow-v9-over-tcp' : 'bad-stream'
        const what = v9
          ? 'NetFlow v9 over TCP (not a standard; export it over UDP)'
          : `${String(r.bad.octets)} octets that start no IPFIX message (version ${String((h[0] ?? 0) * 256 + (h[1] ?? 0))}, length ${String((h[2] ?? 0) * 256 + (h[3] ?? 0))})`
        skip(ctx, reason, file, what)
        opts.onWarning?.(`${file}: ${what}: connection closed (${reason})`)
        end()
        sock.destroy()
        return
      }
      opts.onStats?.(stats)
    })
    sock.on('error', (err) => {
      note(ctx, 'connection-error')
      if (!ended) opts.onWarning?.(`${file}: ${err.message}`)
    })
    sock.on('close', end)
  }
  // over TLS a connection is a Transport Session once its handshake is done; a handshake that
  // fails (no certificate, or one the CAs did not sign, or no TLS at all) is counted and warned.
  // A certificate the CAs did not sign is refused by Node after the handshake: it destroys the
  // socket, so the error is a reset and the address is gone; the exporter is then named by the
  // address its TCP connection came from, kept when it was accepted
  const peers = new WeakMap<object, string>()
  const server: Server =
    opts.tls === undefined || scheme === 'tcp'
      ? createServer(options, session)
      : createTlsServer({ ...options, ...tlsServerOptions(opts.tls) }, session)
          .on('connection', (raw: TcpSocket) => {
            peers.set(raw, hostPort(raw.remoteAddress ?? '?', raw.remotePort ?? 0))
          })
          .on('tlsClientError', (err: Error, sock: TLSSocket) => {
            const where =
              sock.remoteAddress !== undefined
                ? hostPort(sock.remoteAddress, sock.remotePort ?? 0)
                : (peers.get(tlsParent(sock) ?? {}) ?? '?:0')
            const file = `tls://${where}`
            const why = tlsReason(err, sock)
            skip(ctx, 'tls-handshake', file, why)
            opts.onWarning?.(`${file}: TLS handshake failed (${why})`)
          })

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      closeOutlet()
      reject(err)
    }
    server.once('error', onError)
    server.listen({ port: opts.port, host: opts.host }, () => {
      server.off('error', onError)
      server.on('error', (err) => skip(ctx, 'socket-error', ctx.file, err.message))
      resolve()
    })
  })
  const a = server.address()
  const bound =
    typeof a === 'object' && a !== null ? a : { address: opts.host, port: opts.port, family: '' }

  return {
    address: { address: bound.address, port: bound.port, family: bound.family, transport: scheme },
    stats,
    datagrams: () => count,
    connections: () => open.size,
    close: async () => {
      if (closed) return
      closed = true
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const [sock, end] of [...open]) {
        end()
        sock.destroy()
      }
      give(merger.end())
      closeOutlet()
      opts.onStats?.(stats)
      await stopped
    },
  }
}

/** Node's TLS server options for {@link CollectorTls}: TLS 1.2 or later; exporters' certificates checked when `ca` is given. */
function tlsServerOptions(tls: CollectorTls): {
  cert: string | Buffer
  key: string | Buffer
  ca?: string | Buffer
  requestCert: boolean
  rejectUnauthorized: boolean
  minVersion: 'TLSv1.2'
} {
  const mutual = tls.ca !== undefined
  return {
    cert: tls.cert,
    key: tls.key,
    ...(mutual ? { ca: tls.ca } : {}),
    requestCert: mutual,
    rejectUnauthorized: mutual,
    minVersion: 'TLSv1.2',
  }
}

/**
 * What went wrong: a certificate that did not verify against the CAs, `certificate not verified:
 * DEPTH_ZERO_SELF_SIGNED_CERT` (Node's `authorizationError`, OpenSSL's X509 verify code: Node
 * refuses it after the handshake, so `err` is only the reset); else what OpenSSL says, e.g. `peer
 * did not return a certificate` (its `reason`), else the first line of the message (OpenSSL's
 * messages go on with its source file and line).
 */
function tlsReason(err: Error, sock: TLSSocket): string {
  const unverified: unknown = sock.authorizationError
  if (typeof unverified === 'string' && unverified !== '')
    return `certificate not verified: ${unverified}`
  const reason = (err as { reason?: unknown }).reason
  return typeof reason === 'string' && reason !== ''
    ? reason
    : (err.message.split('\n')[0] ?? '').trim()
}

/**
 * The TCP socket a server-side TLS socket wraps (Node's `TLSSocket._parent`, not typed): the key
 * of the address kept when it was accepted. `undefined` if Node no longer has it there.
 */
function tlsParent(sock: TLSSocket): object | undefined {
  const parent: unknown = (sock as unknown as { _parent?: unknown })._parent
  return typeof parent === 'object' && parent !== null ? parent : undefined
}

/**
 * An exporter's address as flows write an IPv4 one: an IPv4-mapped IPv6 address, which a
 * dual-stack socket (`--listen [::]:2055`) gives for an IPv4 peer (RFC 4291 §2.5.5.2), as its
 * IPv4 address, so that the exporter is named (`source.file`, its template scope, its store key)
 * the same whichever socket it reached.
 */
export function exporterHost(address: string): string {
  // core's reading of an address takes a mapped one as IPv4 (core/ip.ts `parseIp`)
  const ip = normalizeIp(address)
  return ip !== undefined && !ip.includes(':') ? ip : address
}

/**
 * `host:port` of a socket end as `--listen` takes it and `source.file` writes it: an IPv6 address
 * in brackets (RFC 3986 §3.2.2), an IPv4-mapped one as IPv4 ({@link exporterHost}).
 */
export function hostPort(host: string, port: number): string {
  const h = exporterHost(host)
  return h.includes(':') ? `[${h}]:${port}` : `${h}:${port}`
}
