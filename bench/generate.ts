/**
 * @module Seeded synthetic flow files for benchmarks and tests: AWS VPC Flow Logs (version 2,
 * with the S3 header line) and Zeek TSV conn.log, from one environment of workloads and peers.
 * @remarks Formats: shared/docs/FLOW-FORMATS.md. Same seed, same bytes.
 */
import { closeSync, openSync, writeSync } from 'node:fs'

/** mulberry32: a small, fast 32-bit PRNG. Returns floats in [0, 1). Same seed, same sequence. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A service and its relative weight among connections. */
interface Svc {
  readonly protocol: 6 | 17 | 1
  readonly port: number
  readonly weight: number
}

const SERVICES: readonly Svc[] = [
  { protocol: 6, port: 443, weight: 30 },
  { protocol: 6, port: 80, weight: 8 },
  { protocol: 6, port: 5432, weight: 10 },
  { protocol: 6, port: 3306, weight: 5 },
  { protocol: 6, port: 6379, weight: 8 },
  { protocol: 17, port: 53, weight: 12 },
  { protocol: 6, port: 22, weight: 2 },
  { protocol: 6, port: 8080, weight: 6 },
  { protocol: 6, port: 9092, weight: 5 },
  { protocol: 6, port: 27017, weight: 2 },
  { protocol: 6, port: 9200, weight: 3 },
  { protocol: 17, port: 123, weight: 2 },
  { protocol: 6, port: 2049, weight: 1 },
  { protocol: 1, port: 8, weight: 1 },
]

/** The environment every generator draws from. */
export interface SyntheticEnv {
  /** 2 000 workload addresses in 10.0.0.0/16. */
  readonly workloads: readonly string[]
  /** A few hundred external peers (documentation and public-looking ranges). */
  readonly externals: readonly string[]
  /** Start of the day the flows fall in, ms since the epoch (2026-11-01T00:00:00Z). */
  readonly dayStart: number
}

/** The environment for `seed`: 2 000 workloads, 300 external peers. */
export function syntheticEnv(seed = 42): SyntheticEnv {
  const rnd = mulberry32(seed)
  const workloads = new Set<string>()
  while (workloads.size < 2000)
    workloads.add(`10.0.${Math.floor(rnd() * 256)}.${1 + Math.floor(rnd() * 254)}`)
  const externals = new Set<string>()
  const prefixes = ['198.51.100', '203.0.113', '192.0.2', '52.94', '34.117', '151.101']
  while (externals.size < 300) {
    const p = prefixes[Math.floor(rnd() * prefixes.length)] as string
    externals.add(
      p.split('.').length === 3
        ? `${p}.${1 + Math.floor(rnd() * 254)}`
        : `${p}.${Math.floor(rnd() * 256)}.${1 + Math.floor(rnd() * 254)}`,
    )
  }
  return { workloads: [...workloads], externals: [...externals], dayStart: Date.UTC(2026, 10, 1) }
}

/** One synthetic connection, client → server. Times in ms. */
interface Conn {
  client: string
  server: string
  clientPort: number
  svc: Svc
  start: number
  duration: number
  packets: number
  bytes: number
  reject: boolean
}

function connections(env: SyntheticEnv, rnd: () => number) {
  const totalWeight = SERVICES.reduce((n, s) => n + s.weight, 0)
  const cumulative: number[] = []
  let acc = 0
  for (const s of SERVICES) cumulative.push((acc += s.weight / totalWeight))
  const pickSvc = (): Svc => {
    const x = rnd()
    for (let i = 0; i < cumulative.length; i++)
      if (x < (cumulative[i] as number)) return SERVICES[i] as Svc
    return SERVICES[SERVICES.length - 1] as Svc
  }
  // servers: each service is offered by a fixed slice of the workloads (a skewed fan-in)
  const serversOf = new Map<Svc, string[]>()
  SERVICES.forEach((s, i) =>
    serversOf.set(s, env.workloads.slice((i * 97) % 1800, ((i * 97) % 1800) + 40)),
  )
  const conn: Conn = {
    client: '',
    server: '',
    clientPort: 0,
    svc: SERVICES[0] as Svc,
    start: 0,
    duration: 0,
    packets: 0,
    bytes: 0,
    reject: false,
  }
  return (t: number): Conn => {
    const svc = pickSvc()
    const inbound = rnd() < 0.08 // internet → workload
    const outbound = !inbound && rnd() < 0.1 // workload → internet
    const servers = serversOf.get(svc) as string[]
    conn.svc = svc
    conn.client = inbound
      ? (env.externals[Math.floor(rnd() * env.externals.length)] as string)
      : (env.workloads[Math.floor(rnd() * rnd() * env.workloads.length)] as string)
    conn.server = outbound
      ? (env.externals[Math.floor(rnd() * env.externals.length)] as string)
      : (servers[Math.floor(rnd() * servers.length)] as string)
    conn.clientPort = svc.protocol === 1 ? 0 : 32768 + Math.floor(rnd() * 28232)
    conn.start = t
    conn.duration = Math.floor(rnd() * rnd() * 60_000)
    conn.packets = 1 + Math.floor(rnd() * rnd() * 200)
    conn.bytes = conn.packets * (40 + Math.floor(rnd() * 1400))
    conn.reject = rnd() < (inbound ? 0.4 : 0.02)
    return conn
  }
}

class Sink {
  private buf: string[] = []
  private size = 0
  bytes = 0
  constructor(private readonly fd: number) {}
  write(s: string): void {
    this.buf.push(s)
    this.size += s.length
    if (this.size > 1 << 20) this.flush()
  }
  flush(): void {
    if (this.buf.length === 0) return
    const b = Buffer.from(this.buf.join(''), 'latin1')
    writeSync(this.fd, b)
    this.bytes += b.length
    this.buf = []
    this.size = 0
  }
}

/** What a generator wrote. */
export interface Generated {
  readonly file: string
  /** Flow records (lines that are not headers). */
  readonly records: number
  readonly bytes: number
}

/**
 * Writes `records` AWS VPC Flow Log records (version 2, default 14 fields) to `file`, after the
 * S3 header line, over one day in time order. Accepted connections log both directions (the
 * reply with addresses swapped) 80 % of the time; rejected ones only the request. Aggregation
 * windows are 60 s, as AWS uses; `start`/`end` are Unix seconds.
 */
export function writeAwsVpcFile(file: string, records: number, seed = 42): Generated {
  const env = syntheticEnv(seed)
  const rnd = mulberry32(seed + 1)
  const next = connections(env, rnd)
  const fd = openSync(file, 'w')
  const out = new Sink(fd)
  try {
    out.write(
      'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n',
    )
    const daySec = env.dayStart / 1000
    let n = 0
    while (n < records) {
      const t = env.dayStart + Math.floor((n / records) * 86_400_000)
      const c = next(t)
      const eni = `eni-${(0x10000000 + ((c.server.length * 7919 + n) % 2000)).toString(16)}abcdef0`
      const s = Math.floor(c.start / 1000)
      const window0 = Math.max(daySec, s - (s % 60))
      const action = c.reject ? 'REJECT' : 'ACCEPT'
      out.write(
        `2 123456789010 ${eni} ${c.client} ${c.server} ${c.clientPort} ${c.svc.port} ${c.svc.protocol} ${c.packets} ${c.bytes} ${window0} ${window0 + 60} ${action} OK\n`,
      )
      n++
      if (n < records && !c.reject && rnd() < 0.8) {
        const rp = Math.max(1, Math.floor(c.packets * 0.8))
        out.write(
          `2 123456789010 ${eni} ${c.server} ${c.client} ${c.svc.port} ${c.clientPort} ${c.svc.protocol} ${rp} ${rp * 900} ${window0} ${window0 + 60} ACCEPT OK\n`,
        )
        n++
      }
    }
    out.flush()
    return { file, records, bytes: out.bytes }
  } finally {
    closeSync(fd)
  }
}

const ZEEK_STATES = ['SF', 'SF', 'SF', 'SF', 'S1', 'S0', 'REJ', 'RSTO', 'OTH'] as const

/**
 * Writes `records` Zeek conn.log records in TSV form (with the `#separator`, `#fields`, `#types`
 * header and `#close` footer) to `file`, over one day in time order.
 */
export function writeZeekConnLog(file: string, records: number, seed = 42): Generated {
  const env = syntheticEnv(seed)
  const rnd = mulberry32(seed + 2)
  const next = connections(env, rnd)
  const fd = openSync(file, 'w')
  const out = new Sink(fd)
  try {
    out.write(
      [
        '#separator \\x09',
        '#set_separator\t,',
        '#empty_field\t(empty)',
        '#unset_field\t-',
        '#path\tconn',
        '#open\t2026-11-01-00-00-00',
        '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents',
        '#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]',
        '',
      ].join('\n'),
    )
    for (let n = 0; n < records; n++) {
      const t = env.dayStart + Math.floor((n / records) * 86_400_000) + Math.floor(rnd() * 1000)
      const c = next(t)
      const proto = c.svc.protocol === 6 ? 'tcp' : c.svc.protocol === 17 ? 'udp' : 'icmp'
      const state =
        c.svc.protocol === 6
          ? (ZEEK_STATES[Math.floor(rnd() * ZEEK_STATES.length)] as string)
          : 'SF'
      const service =
        c.svc.port === 443 ? 'ssl' : c.svc.port === 53 ? 'dns' : c.svc.port === 80 ? 'http' : '-'
      const uid = `C${((n * 2654435761) >>> 0).toString(36)}${n.toString(36)}`
      const ob = Math.floor(c.bytes * 0.3)
      const rb = c.bytes - ob
      const op = Math.max(1, Math.floor(c.packets / 2))
      const rp = c.packets - op
      // Zeek writes ICMP type and code in the orig and resp port columns
      const origPort = c.svc.protocol === 1 ? c.svc.port : c.clientPort
      const respPort = c.svc.protocol === 1 ? 0 : c.svc.port
      out.write(
        `${(t / 1000).toFixed(6)}\t${uid}\t${c.client}\t${origPort}\t${c.server}\t${respPort}\t${proto}\t${service}\t${(c.duration / 1000).toFixed(6)}\t${ob}\t${rb}\t${state}\tT\tT\t0\tShADadFf\t${op}\t${ob + op * 40}\t${rp}\t${rb + rp * 40}\t(empty)\n`,
      )
    }
    out.write('#close\t2026-11-02-00-00-00\n')
    out.flush()
    return { file, records, bytes: out.bytes }
  } finally {
    closeSync(fd)
  }
}
