/**
 * @module `bulkhead collect --listen [udp://|tcp://|tls://]HOST:PORT`: a NetFlow v1/v5/v7/v9 /
 * IPFIX UDP collector, or an IPFIX collector over TCP (RFC 7011 §10.4) or TLS (§11), that prints
 * flows.
 *
 * The `tcp://` / `udp://` prefix is how Telegraf's netflow input (`service_address =
 * "udp://:2055"`) and goflow2 (`-listen netflow://:2055`) name a listener's transport; without
 * one, `HOST:PORT` is UDP, as before. `tls://` is TCP with TLS: `--tls-cert` and `--tls-key` are
 * the collector's, `--tls-ca` (optional) the CAs that must sign exporters' certificates.
 * `--listen` repeats, one collector per listener (IANA assigns port 4739 to IPFIX over UDP, TCP
 * and SCTP alike, and 4740 to IPFIX over TLS/DTLS, `ipfixs`).
 *
 * @remarks Sources: Telegraf's netflow input `service_address`
 *   (https://github.com/influxdata/telegraf/tree/master/plugins/inputs/netflow), goflow2's
 *   `-listen` (https://github.com/netsampler/goflow2), RFC 7011 §10 (transports) and §11 (TLS),
 *   https://www.iana.org/assignments/service-names-port-numbers (ipfix, 4739; ipfixs, 4740).
 */
import { readFileSync } from 'node:fs'
import { createSecureContext } from 'node:tls'
import { Option, type Command } from 'commander'
import type { Flow } from '../../core/flow.js'
import {
  DEFAULT_MAX_CONNECTIONS,
  hostPort,
  startCollector,
  type Collector,
  type CollectorTls,
  type CollectorTransport,
} from '../../ingest/collector.js'
import type { ParseStats } from '../../ingest/types.js'
import { UsageError } from '../output.js'
import { mandatory, outputOption, verb } from '../usage.js'
import { flowToJson } from '../../ingest/index.js'
import { counted } from '../../core/index.js'

/** Options of the `collect` verb as commander passes them. */
interface CollectOptions {
  /** Every `--listen`, in the order given. */
  listen: Listen[]
  output: string
  count?: number
  duration?: number
  /** False with `--no-pair`. */
  pair: boolean
  tlsCert?: string
  tlsKey?: string
  tlsCa?: string
}

/** Where `collect` listens: a transport, an address and a port. */
export interface Listen {
  readonly transport: CollectorTransport
  readonly host: string
  readonly port: number
}

/**
 * Parses `HOST:PORT`, `[IPV6]:PORT` or `:PORT` (all IPv4 interfaces), each optionally prefixed
 * `udp://`, `tcp://` or `tls://` (no prefix: UDP). Port 0 picks a free port.
 * @throws UsageError on anything else.
 */
export function parseListen(text: string): Listen {
  const t = /^(udp|tcp|tls):\/\/(.*)$/i.exec(text.trim())
  const scheme = t?.[1]?.toLowerCase()
  const transport = scheme === 'tcp' || scheme === 'tls' ? scheme : 'udp'
  const rest = t ? (t[2] ?? '') : text.trim()
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]/]*)):(\d{1,5})$/.exec(rest)
  const port = m ? Number(m[3]) : NaN
  if (!m || port > 65535) {
    throw new UsageError(
      `cannot read --listen "${text}"`,
      'write [udp://|tcp://|tls://]HOST:PORT, e.g. 127.0.0.1:2055, [::1]:4739 or tcp://0.0.0.0:4739',
    )
  }
  const host = m[1] ?? (m[2] === '' || m[2] === undefined ? '0.0.0.0' : m[2])
  return { transport, host, port }
}

/**
 * The TLS material of the `tls://` listeners: the PEM files of `--tls-cert`, `--tls-key` and
 * `--tls-ca` (optional), read and checked by the TLS library; undefined when no listener is
 * `tls://`.
 * @throws UsageError when a `tls://` listener lacks `--tls-cert` or `--tls-key`, when those
 *   options come without a `tls://` listener, when a file cannot be read, or when the TLS library
 *   refuses them (not PEM, a key that does not match the certificate).
 */
export function tlsMaterial(
  opts: Pick<CollectOptions, 'listen' | 'tlsCert' | 'tlsKey' | 'tlsCa'>,
): CollectorTls | undefined {
  const { tlsCert: cert, tlsKey: key, tlsCa: ca } = opts
  if (!opts.listen.some((l) => l.transport === 'tls')) {
    const given = Object.entries({ '--tls-cert': cert, '--tls-key': key, '--tls-ca': ca })
      .filter(([, file]) => file !== undefined)
      .map(([flag]) => flag)
    if (given.length > 0)
      throw new UsageError(
        `${given.join(', ')}: only a tls:// listener uses ${given.length > 1 ? 'them' : 'it'}`,
        'add --listen tls://HOST:PORT, or leave the option out',
      )
    return undefined
  }
  if (cert === undefined || key === undefined)
    throw new UsageError(
      'a tls:// listener needs --tls-cert and --tls-key',
      "give the collector's certificate and its private key as PEM files",
    )
  const read = (flag: string, file: string): Buffer => {
    try {
      return readFileSync(file)
    } catch (err) {
      throw new UsageError(
        `cannot read ${flag} ${file}: ${err instanceof Error ? err.message : String(err)}`,
      )
    }
  }
  const tls = {
    cert: read('--tls-cert', cert),
    key: read('--tls-key', key),
    ...(ca !== undefined ? { ca: read('--tls-ca', ca) } : {}),
  }
  try {
    createSecureContext(tls)
  } catch (err) {
    throw new UsageError(
      `cannot use --tls-cert ${cert} with --tls-key ${key}${ca !== undefined ? ` and --tls-ca ${ca}` : ''}: ${err instanceof Error ? err.message : String(err)}`,
      'give PEM files: the certificate (a chain: leaf first), its private key, the CA certificates that sign the exporters',
    )
  }
  return tls
}

/** A parser of `name`'s positive numbers, whole when `integer`. @throws UsageError otherwise. */
function positive(name: string, integer: boolean): (text: string) => number {
  return (text) => {
    const n = Number(text)
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
      throw new UsageError(
        `${name} must be a positive ${integer ? 'integer' : 'number'}, got "${text}"`,
      )
    return n
  }
}

/**
 * One-line summary printed on stderr when collection stops. `printed` is the number of flows
 * written (with --count, flows decoded after the N-th are not printed); `datagrams` counts
 * `unit`s: UDP datagrams, or IPFIX messages over TCP. The notes other than `lost-*` are listed
 * under `notes`: records that became no flow of their own (`paired-directions`,
 * `options-record`) and notes about flows printed (`ends-after-export`, `refused-by-reset`).
 */
export function formatCollectSummary(
  stats: ParseStats,
  printed: number,
  datagrams: number,
  address: string,
  unit: 'datagram' | 'message' = 'datagram',
): string {
  const by = (r: Record<string, number>): string =>
    Object.entries(r)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')
  const lost: Record<string, number> = {}
  const others: Record<string, number> = {}
  for (const [k, v] of Object.entries(stats.notes)) {
    if (k.startsWith('lost-')) lost[k.slice('lost-'.length)] = v
    else others[k] = v
  }
  const skipped = by(stats.skipped)
  const notes = by(others)
  const missing = by(lost)
  return (
    `printed ${printed} of ${counted(stats.records, 'decoded flow')} from ${counted(datagrams, unit)} on ${address}` +
    (missing ? `; missing by the exporters' sequence numbers: ${missing}` : '') +
    (skipped ? `; skipped: ${skipped}` : '') +
    (notes ? `; notes: ${notes}` : '')
  )
}

/**
 * Where a collector listens, as `--listen` takes it: `udp 127.0.0.1:2055`, an IPv6 address in
 * brackets (`udp [::1]:2055`, RFC 3986 §3.2.2), so that the line can be given back to `--listen`.
 */
export function listenText(transport: string, address: string, port: number): string {
  return `${transport} ${hostPort(address, port)}`
}

/**
 * Registers `collect`. Prints one JSON object per flow on stdout (JSON lines, the shape of
 * `bulkhead flows -o jsonl`: times as ISO-8601 UTC), the summary on stderr.
 */
export function registerCollect(program: Command): void {
  verb(program, 'collect')
    .description(
      'receive NetFlow v1/v5/v7/v9 and IPFIX over UDP, or IPFIX over TCP or TLS, and print the flows as JSON lines',
    )
    .addOption(
      mandatory(
        new Option(
          '--listen <[udp://|tcp://|tls://]host:port>',
          'address to listen on (UDP unless tcp:// or tls://), e.g. 127.0.0.1:2055, [::]:4739, tcp://0.0.0.0:4739, tls://0.0.0.0:4740; repeat it to listen on several (UDP and TCP on one port: IANA gives 4739 to IPFIX on both)',
        ).argParser((text: string, before: Listen[] | undefined) => [
          ...(before ?? []),
          parseListen(text),
        ]),
      ),
    )
    .option('--tls-cert <file>', "tls://: the collector's certificate (PEM; a chain, leaf first)")
    .option('--tls-key <file>', "tls://: the certificate's private key (PEM)")
    .option(
      '--tls-ca <file>',
      "tls://: CA certificates (PEM) that must sign each exporter's certificate (mutual TLS); without it any exporter may connect",
    )
    .addOption(outputOption(['jsonl'], 'jsonl'))
    .option(
      '--no-pair',
      'do not merge the two one-direction records of a connection (paired per exporter by default; a record waits at most 10 s for its other direction)',
    )
    .option('--count <n>', 'stop after N flows', positive('--count', true))
    .option('--duration <seconds>', 'stop after S seconds', positive('--duration', false))
    .addHelpText(
      'after',
      `
Stops after --count flows, after --duration seconds, or on Ctrl-C (SIGINT) or SIGTERM, then gives
out what it still holds (firewall connections still open) and prints a summary on stderr.
Templates are kept per exporter and source id / observation domain; the exporter is its address
for NetFlow v9 and its address and port (the transport session, RFC 7011 §8) for IPFIX.
Over TCP (tcp://) it takes IPFIX only (RFC 7011 §10.4): each connection is one transport
session, whose templates go when it closes; a stream that is not IPFIX (NetFlow v9 included)
closes its connection with a warning. At most ${String(DEFAULT_MAX_CONNECTIONS)} connections at once.
Over TLS (tls://) the same inside TLS 1.2 or 1.3 (RFC 7011 §11), with --tls-cert and --tls-key;
with --tls-ca only exporters whose certificate those CAs sign are taken, and a failed handshake
is warned and counted (tls-handshake).

Examples:
  $ bulkhead collect --listen 0.0.0.0:2055 > flows.jsonl
  $ bulkhead collect --listen 127.0.0.1:4739 --count 100
  $ bulkhead collect --listen tcp://0.0.0.0:4739 > flows.jsonl
  $ bulkhead collect --listen udp://0.0.0.0:4739 --listen tcp://0.0.0.0:4739
  $ bulkhead collect --listen tls://0.0.0.0:4740 --tls-cert collector.pem --tls-key collector.key \\
      --tls-ca exporters-ca.pem > flows.jsonl

Exit codes: 0 stopped (--count, --duration, Ctrl-C or SIGTERM), 1 usage error (a --listen that
cannot be read or bound, unreadable or mismatched TLS files).`,
    )
    .action(async (opts: CollectOptions) => {
      const { count: maxFlows, duration: seconds } = opts
      const tls = tlsMaterial(opts)

      let stop: () => void = () => undefined
      const stopped = new Promise<void>((resolve) => {
        stop = resolve
      })
      let emitted = 0
      const onWarning = (text: string): void => {
        process.stderr.write(`warning: ${text}\n`)
      }
      // one collector per --listen; flows of all go to stdout, each has its own summary
      const running: { collector: Collector; count: { printed: number }; where: string }[] = []
      try {
        for (const { host, port, transport } of opts.listen) {
          const count = { printed: 0 }
          const onFlow = (f: Flow): void => {
            if (maxFlows !== undefined && emitted >= maxFlows) return
            emitted++
            count.printed++
            process.stdout.write(`${JSON.stringify(flowToJson(f))}\n`)
            if (maxFlows !== undefined && emitted >= maxFlows) stop()
          }
          const collector = await startCollector({
            host,
            port,
            transport,
            ...(transport === 'tls' && tls ? { tls } : {}),
            onFlow,
            onWarning,
            pair: opts.pair,
          }).catch((err: unknown) => {
            throw new UsageError(
              `cannot listen on ${listenText(transport, host, port)}: ${err instanceof Error ? err.message : String(err)}`,
            )
          })
          const where = listenText(transport, collector.address.address, collector.address.port)
          running.push({ collector, count, where })
          process.stderr.write(`listening on ${where}\n`)
        }
      } catch (err) {
        for (const r of running) await r.collector.close()
        throw err
      }
      const timer = seconds !== undefined ? setTimeout(stop, seconds * 1000) : undefined
      // Ctrl-C, and the SIGTERM of `kill`, systemd or a container stop: give out what is held
      // (connections still open, data waiting for a template) and print the summary
      const onSignal = (): void => {
        stop()
      }
      process.once('SIGINT', onSignal)
      process.once('SIGTERM', onSignal)
      try {
        await stopped
      } finally {
        if (timer) clearTimeout(timer)
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
        for (const r of running) await r.collector.close()
      }
      for (const { collector: c, count, where } of running)
        process.stderr.write(
          `${formatCollectSummary(c.stats, count.printed, c.datagrams(), where, c.address.transport === 'udp' ? 'datagram' : 'message')}\n`,
        )
    })
}
