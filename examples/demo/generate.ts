/**
 * @module The demo estate generator (`npm run demo:generate`): rewrites `examples/demo/` — a
 * Bulkhead workspace (bulkhead.yaml, inventory, enforcement) and 30 days of flow logs in three
 * formats (AWS VPC v2 for the payments VMs, Zeek conn.log for the data center, Hubble JSON for
 * the Online Boutique cluster), plus one intrusion day — from a fixed seed, so the output is the
 * same byte for byte on every run.
 * @remarks The estate: Google's Online Boutique (its documented call graph,
 * github.com/GoogleCloudPlatform/microservices-demo) in namespace `boutique`; a three-tier
 * payments application on VMs (web, app, db, admin jump host); a domain controller (DNS, Kerberos,
 * LDAP clients); monitoring scraping every host; a nightly backup; a month-end settlement batch
 * to a bank's SFTP range (a named external); a CI runner in `dev`; internet clients of the two
 * public front ends. Intrusion day 2026-11-03: pay-web-1 is compromised, scans the payments
 * subnets and moves laterally (database, jump host, domain controller SMB, bank SFTP, C2).
 * Formats: DESIGN.md and ../shared/docs/FLOW-FORMATS.md.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

const DAY = 86_400_000
const HOUR = 3_600_000
const MIN = 60_000

/** First training day (00:00 UTC) and number of training days: 2026-10-02 .. 2026-10-31. */
export const DEMO_START = Date.UTC(2026, 9, 2)
export const DEMO_DAYS = 30
/** The intrusion day, 00:00 UTC (a Tuesday, after the training window). */
export const INTRUSION_DAY = Date.UTC(2026, 10, 3)
/** The compromised workload of the intrusion day. */
export const COMPROMISED = 'pay-web-1'

/** Deterministic PRNG (mulberry32), uniform in [0, 1). */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Host {
  readonly name: string
  readonly ip: string
  readonly labels: Readonly<Record<string, string>>
}

const vm = (name: string, ip: string, labels: Record<string, string>): Host => ({
  name,
  ip,
  labels,
})

/** The payments VMs (AWS VPC 10.20.0.0/16). */
const PAYMENTS: readonly Host[] = [
  vm('pay-web-1', '10.20.1.10', { role: 'web' }),
  vm('pay-web-2', '10.20.1.11', { role: 'web' }),
  vm('pay-app-1', '10.20.2.10', { role: 'app' }),
  vm('pay-app-2', '10.20.2.11', { role: 'app' }),
  vm('pay-db-1', '10.20.3.10', { role: 'db', tier: 'crown-jewel' }),
  vm('pay-jump-1', '10.20.9.10', { role: 'admin' }),
].map((h) => ({
  ...h,
  labels: { app: 'payments', env: 'prod', owner: 'team-payments', ...h.labels },
}))

/** The data-center hosts (10.10.0.0/16, 10.30.0.0/16), seen by Zeek. */
const DC: readonly Host[] = [
  vm('dc-1', '10.10.0.10', {
    app: 'directory',
    role: 'domain-controller',
    env: 'prod',
    owner: 'team-identity',
    tier: 'crown-jewel',
  }),
  vm('mon-1', '10.10.5.10', {
    app: 'monitoring',
    role: 'prometheus',
    env: 'prod',
    owner: 'team-sre',
  }),
  vm('backup-1', '10.10.6.10', {
    app: 'backup',
    role: 'backup-server',
    env: 'prod',
    owner: 'team-sre',
  }),
  vm('settle-batch-1', '10.10.7.10', {
    app: 'settlement',
    role: 'batch',
    env: 'prod',
    owner: 'team-finance',
  }),
  vm('ci-runner-1', '10.30.0.20', {
    app: 'ci',
    role: 'runner',
    env: 'dev',
    owner: 'team-platform',
  }),
]

/** Online Boutique services: name, pod IP, listening port (the manifests' container ports). */
const BOUTIQUE_SERVICES: readonly (readonly [string, string, number])[] = [
  ['frontend', '10.244.1.10', 8080],
  ['productcatalogservice', '10.244.1.11', 3550],
  ['currencyservice', '10.244.1.12', 7000],
  ['cartservice', '10.244.2.10', 7070],
  ['recommendationservice', '10.244.2.11', 8080],
  ['shippingservice', '10.244.2.12', 50051],
  ['checkoutservice', '10.244.3.10', 5050],
  ['paymentservice', '10.244.3.11', 50051],
  ['emailservice', '10.244.3.12', 8080],
  ['adservice', '10.244.3.13', 9555],
  ['redis-cart', '10.244.3.14', 6379],
]

const BOUTIQUE: readonly Host[] = BOUTIQUE_SERVICES.map(([svc, ip]) => ({
  name: `boutique-${svc}`,
  ip,
  labels: { app: 'boutique', role: svc, env: 'prod', namespace: 'boutique', owner: 'team-shop' },
}))

const ALL: readonly Host[] = [...PAYMENTS, ...DC, ...BOUTIQUE]
const byName = new Map(ALL.map((h) => [h.name, h]))
const ip = (name: string): string => {
  const h = byName.get(name)
  if (!h) throw new Error(`no host ${name}`)
  return h.ip
}
const port = (svc: string): number => BOUTIQUE_SERVICES.find((s) => s[0] === svc)?.[2] ?? 0

/** The bank's SFTP range (a named external) and the address the batch uploads to. */
const BANK_CIDR = '198.51.100.0/24'
const BANK_SFTP = '198.51.100.20'
/** Office admin workstations (unmanaged), reaching the jump host. */
const ADMINS = ['10.99.1.21', '10.99.1.22', '10.99.1.23', '10.99.1.24']
/** Package registries the CI runner fetches from. */
const REGISTRIES = ['151.101.0.223', '151.101.64.223', '104.16.24.35', '140.82.112.4']
/** Attacker command and control. */
const C2 = '45.77.120.9'

/** One connection, oriented client → server. Times in ms UTC. */
interface Conn {
  readonly t: number
  readonly client: string
  readonly cport: number
  readonly server: string
  readonly sport: number
  /** IANA protocol number: 6 TCP, 17 UDP. */
  readonly proto: number
  readonly packets: number
  readonly bytes: number
  readonly dur: number
  /** Recorded as rejected (AWS REJECT, Zeek REJ), no reply. */
  readonly rejected?: boolean
  /** Request only, no reply half (a probe to an address nobody holds). */
  readonly noReply?: boolean
}

/** Generates every connection of one day. */
function dayConns(day: number, seed: number): Conn[] {
  const r = rng(seed)
  const out: Conn[] = []
  const weekday = (new Date(day).getUTCDay() + 6) % 7 < 5
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T
  const eph = (): number => 49152 + Math.floor(r() * 16000)
  const conn = (
    t: number,
    client: string,
    server: string,
    sport: number,
    proto = 6,
    size = 4000,
  ): void => {
    const packets = 4 + Math.floor(r() * 20)
    out.push({
      t: Math.floor(t),
      client,
      cport: eph(),
      server,
      sport,
      proto,
      packets,
      bytes: Math.floor(size * (0.5 + r())),
      dur: Math.floor(50 + r() * 2000),
    })
  }
  // daytime-weighted instant: 06:00-23:00 mostly
  const busy = (): number => day + 6 * HOUR + Math.floor(r() * 17 * HOUR)
  const any = (): number => day + Math.floor(r() * DAY)
  const office = (): number => day + 8 * HOUR + Math.floor(r() * 10 * HOUR)
  const publicClient = (): string =>
    pick(['81.2.69', '89.160.20', '175.16.199', '2.125.160', '216.160.83']) +
    `.${1 + Math.floor(r() * 250)}`

  // payments: internet -> web -> app -> db
  const webs = ['pay-web-1', 'pay-web-2'].map(ip)
  const apps = ['pay-app-1', 'pay-app-2'].map(ip)
  for (let i = 0; i < 150; i++) conn(busy(), publicClient(), pick(webs), 443, 6, 20_000)
  for (let i = 0; i < 250; i++) conn(busy(), pick(webs), pick(apps), 8443, 6, 6_000)
  for (let i = 0; i < 350; i++) conn(busy(), pick(apps), ip('pay-db-1'), 5432, 6, 3_000)
  if (weekday) {
    for (let i = 0; i < 3; i++) conn(office(), pick(ADMINS), ip('pay-jump-1'), 22, 6, 50_000)
    for (let i = 0; i < 4; i++)
      conn(office(), ip('pay-jump-1'), ip(pick(PAYMENTS.slice(0, 5)).name), 22, 6, 30_000)
  }
  // domain controller clients: DNS, Kerberos, LDAP
  const dcClients = [...PAYMENTS, ...DC.filter((h) => h.name !== 'dc-1')]
  for (const h of dcClients) {
    for (let i = 0; i < 24; i++) conn(any(), h.ip, ip('dc-1'), 53, 17, 200)
    if (h.labels['env'] === 'dev') continue
    for (let i = 0; i < 4; i++) conn(any(), h.ip, ip('dc-1'), 88, 6, 1_500)
    for (let i = 0; i < 4; i++) conn(any(), h.ip, ip('dc-1'), 389, 6, 2_500)
  }
  // monitoring scrapes every host (VMs and DC) every 30 minutes
  for (const h of [...PAYMENTS, ...DC.filter((x) => x.name !== 'mon-1')]) {
    const offset = Math.floor(r() * 30 * MIN)
    for (let k = 0; k < 48; k++)
      conn(day + k * 30 * MIN + offset, ip('mon-1'), h.ip, 9100, 6, 12_000)
  }
  // nightly backup 01:00-03:00 of every VM and the DC
  for (const h of [...PAYMENTS, ip('dc-1')].map((x) => (typeof x === 'string' ? x : x.ip))) {
    conn(day + HOUR + Math.floor(r() * 2 * HOUR), ip('backup-1'), h, 9102, 6, 40_000_000)
  }
  // month-end settlement: the last two days of the month, 22:00
  const d = new Date(day)
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate()
  if (d.getUTCDate() >= last - 1) {
    for (let i = 0; i < 6; i++)
      conn(day + 22 * HOUR + i * 2 * MIN, ip('settle-batch-1'), ip('pay-db-1'), 5432, 6, 2_000_000)
    for (let i = 0; i < 3; i++)
      conn(day + 22 * HOUR + 15 * MIN + i * MIN, ip('settle-batch-1'), BANK_SFTP, 22, 6, 5_000_000)
  }
  // CI runner fetches packages on weekdays
  if (weekday)
    for (let i = 0; i < 30; i++)
      conn(office(), ip('ci-runner-1'), pick(REGISTRIES), 443, 6, 800_000)
  // Online Boutique: sessions through the documented call graph
  const b = (svc: string): string => ip(`boutique-${svc}`)
  const call = (t: number, from: string, to: string): void =>
    conn(t + Math.floor(r() * 500), b(from), b(to), port(to), 6, 2_000)
  for (let i = 0; i < 100; i++) {
    const t = busy()
    conn(t, publicClient(), b('frontend'), 8080, 6, 30_000)
    for (const svc of ['productcatalogservice', 'currencyservice', 'cartservice', 'adservice'])
      call(t, 'frontend', svc)
    call(t, 'frontend', 'recommendationservice')
    call(t, 'recommendationservice', 'productcatalogservice')
    call(t, 'cartservice', 'redis-cart')
    if (r() < 0.2) {
      call(t, 'frontend', 'shippingservice')
      call(t, 'frontend', 'checkoutservice')
      for (const svc of [
        'cartservice',
        'productcatalogservice',
        'currencyservice',
        'shippingservice',
        'paymentservice',
        'emailservice',
      ])
        call(t, 'checkoutservice', svc)
    }
  }
  return out.sort((x, y) => x.t - y.t)
}

/** The intrusion: pay-web-1 scans the payments subnets, then moves laterally. */
function attackConns(day: number, seed: number): Conn[] {
  const r = rng(seed)
  const out: Conn[] = []
  const src = ip(COMPROMISED)
  const live = new Set(ALL.map((h) => h.ip))
  let t = day + 2 * HOUR + 13 * MIN
  const probe = (dst: string, p: number): void => {
    t += 150 + Math.floor(r() * 300)
    const isLive = live.has(dst)
    out.push({
      t,
      client: src,
      cport: 40000 + Math.floor(r() * 20000),
      server: dst,
      sport: p,
      proto: 6,
      packets: 1,
      bytes: 44,
      dur: 0,
      ...(isLive ? { rejected: true } : { noReply: true }),
    })
  }
  for (const subnet of ['10.20.1', '10.20.2', '10.20.3', '10.20.9'])
    for (let h = 1; h <= 30; h++)
      for (const p of [22, 445, 3389, 5432, 6379, 8443])
        if (`${subnet}.${h}` !== src) probe(`${subnet}.${h}`, p)
  const move = (dst: string, p: number, n: number, size: number): void => {
    for (let i = 0; i < n; i++) {
      t += 20_000 + Math.floor(r() * 60_000)
      out.push({
        t,
        client: src,
        cport: 40000 + Math.floor(r() * 20000),
        server: dst,
        sport: p,
        proto: 6,
        packets: 10 + Math.floor(r() * 500),
        bytes: size,
        dur: 5_000,
      })
    }
  }
  move(ip('pay-db-1'), 5432, 12, 80_000_000) // dump the database
  move(ip('pay-jump-1'), 22, 5, 20_000) // SSH to the jump host with stolen keys
  move(ip('dc-1'), 445, 4, 300_000) // SMB to the domain controller
  move(ip('backup-1'), 9102, 2, 10_000) // the backup agent port
  move(BANK_SFTP, 22, 2, 60_000_000) // exfiltration to the bank range
  move(C2, 4444, 6, 200_000) // command and control
  return out
}

// --- writers ---------------------------------------------------------------------------------------

const AWS_HEADER =
  'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n'

/** AWS VPC flow log v2 lines: both halves of an accepted connection in its 60 s window. */
function awsLines(conns: readonly Conn[]): string {
  const lines: string[] = [AWS_HEADER]
  for (const c of conns) {
    const eni = `eni-0${(Number(c.client.split('.').at(-1)) * 7919).toString(16).padStart(8, '0')}a1b2c3d4`
    const s = Math.floor(c.t / 1000)
    const w = s - (s % 60)
    const action = c.rejected ? 'REJECT' : 'ACCEPT'
    lines.push(
      `2 123456789010 ${eni} ${c.client} ${c.server} ${c.cport} ${c.sport} ${c.proto} ${c.packets} ${c.bytes} ${w} ${w + 60} ${action} OK\n`,
    )
    if (!c.rejected && !c.noReply) {
      const rp = Math.max(1, c.packets - 1)
      lines.push(
        `2 123456789010 ${eni} ${c.server} ${c.client} ${c.sport} ${c.cport} ${c.proto} ${rp} ${Math.floor(c.bytes / 3)} ${w} ${w + 60} ACCEPT OK\n`,
      )
    }
  }
  return lines.join('')
}

/** Zeek conn.log TSV with its header and footer. */
function zeekLines(conns: readonly Conn[], day: number, seed: number): string {
  const stamp = (ms: number): string =>
    new Date(ms).toISOString().slice(0, 19).replace('T', '-').replaceAll(':', '-')
  const lines = [
    '#separator \\x09',
    '#set_separator\t,',
    '#empty_field\t(empty)',
    '#unset_field\t-',
    '#path\tconn',
    `#open\t${stamp(day)}`,
    '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents',
    '#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]',
  ]
  let n = 0
  for (const c of conns) {
    const proto = c.proto === 17 ? 'udp' : 'tcp'
    const service =
      c.sport === 53
        ? 'dns'
        : c.sport === 22
          ? 'ssh'
          : c.sport === 88
            ? 'krb_tcp'
            : c.sport === 389
              ? 'ldap'
              : '-'
    const uid = `C${(((n++ + seed) * 2654435761) >>> 0).toString(36)}${n.toString(36)}`
    const ob = Math.floor(c.bytes * 0.3)
    const rb = c.bytes - ob
    const op = Math.max(1, Math.floor(c.packets / 2))
    const rp = c.packets - op
    const state = c.rejected ? 'REJ' : proto === 'udp' ? 'SF' : 'SF'
    const history = proto === 'udp' ? 'Dd' : c.rejected ? 'Sr' : 'ShADadFf'
    lines.push(
      `${(c.t / 1000).toFixed(6)}\t${uid}\t${c.client}\t${c.cport}\t${c.server}\t${c.sport}\t${proto}\t${service}\t${(c.dur / 1000).toFixed(6)}\t${ob}\t${rb}\t${state}\tT\tT\t0\t${history}\t${op}\t${ob + op * 40}\t${rp}\t${rb + rp * 40}\t(empty)`,
    )
  }
  lines.push(`#close\t${stamp(day + DAY)}`)
  return `${lines.join('\n')}\n`
}

/** Hubble `observe -o jsonpb` lines: one object per line, the flow under `flow`. */
function hubbleLines(conns: readonly Conn[]): string {
  const endpoint = (addr: string): Record<string, unknown> => {
    const h = ALL.find((x) => x.ip === addr)
    if (!h) return { identity: 2, labels: ['reserved:world'] }
    const role = h.labels['role'] ?? ''
    return {
      identity: 10000 + BOUTIQUE.indexOf(h),
      namespace: 'boutique',
      labels: [`k8s:app=boutique`, `k8s:role=${role}`, 'k8s:io.kubernetes.pod.namespace=boutique'],
      pod_name: `${role}-7d9f8c6b5-${h.ip.split('.').slice(2).join('')}x`,
      workloads: [{ name: role, kind: 'Deployment' }],
    }
  }
  const lines: string[] = []
  for (const c of conns) {
    const time = new Date(c.t).toISOString().replace('Z', '000000Z')
    const flow = {
      time,
      verdict: 'FORWARDED',
      IP: { source: c.client, destination: c.server, ipVersion: 'IPv4' },
      l4: { TCP: { source_port: c.cport, destination_port: c.sport, flags: { SYN: true } } },
      source: endpoint(c.client),
      destination: endpoint(c.server),
      Type: 'L3_L4',
      node_name: 'node-a',
      traffic_direction: c.client.startsWith('10.244.') ? 'EGRESS' : 'INGRESS',
      is_reply: false,
    }
    lines.push(JSON.stringify({ flow, node_name: 'node-a', time }))
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : ''
}

/** Which log sees a connection: the cluster (Hubble), the VPC (AWS) or the data center (Zeek). */
function formatOf(c: Conn): 'hubble' | 'aws' | 'zeek' {
  if (c.client.startsWith('10.244.') || c.server.startsWith('10.244.')) return 'hubble'
  if (c.client.startsWith('10.20.') || c.server.startsWith('10.20.')) return 'aws'
  return 'zeek'
}

// --- workspace files ------------------------------------------------------------------------------

const yamlLabels = (l: Readonly<Record<string, string>>): string =>
  `{ ${Object.entries(l)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ')} }`

function inventoryYaml(): string {
  const section = (title: string, hosts: readonly Host[]): string =>
    `  # ${title}\n` +
    hosts
      .map((h) => `  - { name: ${h.name}, addresses: [${h.ip}], labels: ${yamlLabels(h.labels)} }`)
      .join('\n')
  return `# Generated by examples/demo/generate.ts (npm run demo:generate); do not edit by hand.
apiVersion: bulkhead.dev/v1
kind: Inventory
workloads:
${section('payments: three-tier application on AWS VMs (VPC 10.20.0.0/16)', PAYMENTS)}
${section('data center (10.10.0.0/16) and the dev network (10.30.0.0/16)', DC)}
${section('Online Boutique in the Kubernetes namespace boutique (pods 10.244.0.0/16)', BOUTIQUE)}
externals:
  - { name: bank-sftp, cidr: ${BANK_CIDR}, labels: { role: partner } }
`
}

const WORKSPACE_YAML = `# The demo workspace: run \`bulkhead demo\` (or \`npm start\`) from the repository root.
# Generated by examples/demo/generate.ts (npm run demo:generate).
apiVersion: bulkhead.dev/v1
kind: Workspace
inventory: [inventory/]
policy: policy/
store: out/store.duckdb
sources:
  - { path: flows/aws/*.log.gz, format: aws-vpc }
  - { path: flows/zeek/*.log.gz, format: zeek }
  - { path: flows/hubble/*.json.gz, format: hubble }
`

const ENFORCEMENT_YAML = `# Generated by examples/demo/generate.ts (npm run demo:generate).
# First match wins; unmatched workloads are observe.
apiVersion: bulkhead.dev/v1
kind: Enforcement
modes:
  - { selector: { app: payments, env: prod }, mode: enforce }
  - { selector: { env: prod }, mode: monitor }
`

/** What {@link generateDemo} wrote. */
export interface DemoSummary {
  /** Training flow records (connections) per format, and the intrusion day's. */
  readonly connections: Readonly<Record<'aws' | 'zeek' | 'hubble' | 'intrusion', number>>
  /** Files written, relative to the demo folder. */
  readonly files: readonly string[]
  /** Bytes written. */
  readonly bytes: number
}

/**
 * Rewrites the demo workspace in `dir` (its `flows/`, `inventory/`, `policy/` and
 * `bulkhead.yaml`; `out/` is left alone). Deterministic: the same seed gives the same bytes
 * (gzip output of Node's zlib at its default level).
 */
export function generateDemo(dir: string, seed = 20261102): DemoSummary {
  for (const sub of ['flows', 'inventory', 'policy'])
    rmSync(path.join(dir, sub), { recursive: true, force: true })
  const files: string[] = []
  let bytes = 0
  const write = (rel: string, text: string, gzip = false): void => {
    const file = path.join(dir, rel)
    mkdirSync(path.dirname(file), { recursive: true })
    const data = gzip ? gzipSync(text, { level: 9 }) : Buffer.from(text)
    writeFileSync(file, data)
    files.push(rel)
    bytes += data.length
  }
  write('bulkhead.yaml', WORKSPACE_YAML)
  write('inventory/estate.yaml', inventoryYaml())
  write('policy/enforcement.yaml', ENFORCEMENT_YAML)
  const counts = { aws: 0, zeek: 0, hubble: 0, intrusion: 0 }
  const writeDay = (conns: readonly Conn[], day: number, prefix: string): void => {
    const iso = new Date(day).toISOString().slice(0, 10)
    const by = { aws: [] as Conn[], zeek: [] as Conn[], hubble: [] as Conn[] }
    for (const c of conns) by[formatOf(c)].push(c)
    write(`${prefix}aws/${iso}.log.gz`, awsLines(by.aws), true)
    write(`${prefix}zeek/${iso}-conn.log.gz`, zeekLines(by.zeek, day, seed), true)
    write(`${prefix}hubble/${iso}.json.gz`, hubbleLines(by.hubble), true)
    if (prefix === 'flows/') {
      counts.aws += by.aws.length
      counts.zeek += by.zeek.length
      counts.hubble += by.hubble.length
    } else counts.intrusion += conns.length
  }
  for (let i = 0; i < DEMO_DAYS; i++) {
    const day = DEMO_START + i * DAY
    writeDay(dayConns(day, seed + i), day, 'flows/')
  }
  const normal = dayConns(INTRUSION_DAY, seed + 1000)
  const attack = attackConns(INTRUSION_DAY, seed + 2000)
  writeDay(
    [...normal, ...attack].sort((x, y) => x.t - y.t),
    INTRUSION_DAY,
    'flows/intrusion/',
  )
  return { connections: counts, files, bytes }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = path.dirname(fileURLToPath(import.meta.url))
  const t = performance.now()
  const s = generateDemo(dir)
  process.stdout.write(
    `wrote ${s.files.length} files (${(s.bytes / 1e6).toFixed(2)} MB) to ${path.relative(process.cwd(), dir) || '.'}: ` +
      `connections aws ${s.connections.aws}, zeek ${s.connections.zeek}, hubble ${s.connections.hubble}, ` +
      `intrusion day ${s.connections.intrusion} (${((performance.now() - t) / 1000).toFixed(1)} s)\n`,
  )
}
