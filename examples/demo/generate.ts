/**
 * @module The demo estate generator (`npm run demo:generate`): rewrites `examples/demo/` — a
 * Bulkhead workspace (bulkhead.yaml, inventory with the cluster's Kubernetes manifests and pod
 * dump, enforcement) and 30 days of flow logs in three
 * formats (AWS VPC v2 for the payments VMs, Zeek conn.log for the data center, Hubble JSON for
 * the Online Boutique cluster), plus one intrusion day — from a fixed seed, so the output is the
 * same byte for byte on every run.
 * @remarks The estate: Google's Online Boutique (its documented call graph,
 * github.com/GoogleCloudPlatform/microservices-demo) in namespace `boutique`; a three-tier
 * payments application on VMs (web, app, db, admin jump host); a domain controller (DNS, Kerberos,
 * LDAP clients); monitoring scraping every host; a nightly backup; a month-end settlement batch
 * to a bank's SFTP range (a named external); a CI runner in `dev`; internet clients of the two
 * public front ends. Intrusion day 2026-11-19: pay-web-1 is compromised, scans the payments
 * subnets and moves laterally (database, jump host, domain controller SMB, bank SFTP, C2).
 * Formats: DESIGN.md and ../shared/docs/FLOW-FORMATS.md.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { stringify } from 'yaml'

const DAY = 86_400_000
const HOUR = 3_600_000
const MIN = 60_000

/**
 * First training day (00:00 UTC) and number of training days: 2026-10-20 .. 2026-11-18, so the
 * window holds one month end (30 and 31 October, when the settlement batch runs) in its middle.
 */
export const DEMO_START = Date.UTC(2026, 9, 20)
export const DEMO_DAYS = 30
/** The intrusion day, 00:00 UTC (Thursday 2026-11-19, the day after the training window). */
export const INTRUSION_DAY = Date.UTC(2026, 10, 19)
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

/** The Kubernetes namespace of Online Boutique. */
export const BOUTIQUE_NAMESPACE = 'boutique'

/** The pod labels of a boutique Deployment's template (the Kubernetes source adds `namespace`). */
const boutiqueLabels = (svc: string): Record<string, string> => ({
  app: 'boutique',
  role: svc,
  env: 'prod',
  owner: 'team-shop',
})

/**
 * The boutique pods, one replica per Deployment: named as the Kubernetes inventory source names
 * them (`boutique/<deployment>[Deployment]`), with the pod's own name for Hubble's `pod_name`.
 */
const BOUTIQUE: readonly (Host & { readonly svc: string; readonly pod: string })[] =
  BOUTIQUE_SERVICES.map(([svc, ip], i) => ({
    name: `${BOUTIQUE_NAMESPACE}/${svc}[Deployment]`,
    svc,
    ip,
    pod: `${svc}-${replicaSetHash(i)}-${podSuffix(i)}`,
    labels: { ...boutiqueLabels(svc), namespace: BOUTIQUE_NAMESPACE },
  }))

/** A ReplicaSet's pod-template-hash (10 characters of Kubernetes' safe alphabet), fixed per index. */
function replicaSetHash(i: number): string {
  return safeChars(0x9e3779b9 ^ (i * 0x85ebca6b), 10)
}

/** A pod name's 5-character random suffix, fixed per index. */
function podSuffix(i: number): string {
  return safeChars(0xc2b2ae35 ^ (i * 0x27d4eb2f), 5)
}

/** `n` characters of `bcdfghjklmnpqrstvwxz2456789` (Kubernetes' name suffix alphabet) from a seed. */
function safeChars(seed: number, n: number): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789'
  const r = rng(seed)
  let out = ''
  for (let k = 0; k < n; k++) out += alphabet[Math.floor(r() * alphabet.length)] ?? 'b'
  return out
}

const ALL: readonly Host[] = [...PAYMENTS, ...DC, ...BOUTIQUE]
const byName = new Map(ALL.map((h) => [h.name, h]))
const ip = (name: string): string => {
  const h = byName.get(name)
  if (!h) throw new Error(`no host ${name}`)
  return h.ip
}
/** The pod IP of a boutique service. */
const podIp = (svc: string): string => ip(`${BOUTIQUE_NAMESPACE}/${svc}[Deployment]`)
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
  const b = podIp
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
    const i = BOUTIQUE.findIndex((x) => x.ip === addr)
    const h = BOUTIQUE[i]
    if (!h) return { identity: 2, labels: ['reserved:world'] }
    return {
      identity: 10000 + i,
      namespace: BOUTIQUE_NAMESPACE,
      labels: [
        ...Object.entries(boutiqueLabels(h.svc)).map(([k, v]) => `k8s:${k}=${v}`),
        `k8s:io.kubernetes.pod.namespace=${BOUTIQUE_NAMESPACE}`,
      ],
      pod_name: h.pod,
      workloads: [{ name: h.svc, kind: 'Deployment' }],
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
externals:
  - { name: bank-sftp, cidr: ${BANK_CIDR}, labels: { role: partner } }
`
}

/** Service port of each boutique Service where it differs from the container port (upstream manifests). */
const SERVICE_PORT: Readonly<Record<string, number>> = { frontend: 80, emailservice: 5000 }
const IMAGE = 'us-central1-docker.pkg.dev/google-samples/microservices-demo'

/** A stable fake UID (RFC 4122 layout) for object `kind/name`. */
function uid(kind: string, name: string): string {
  let h = 2166136261
  for (const ch of `${kind}/${name}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0
  const r = rng(h)
  const hex = (n: number): string =>
    Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('')
  return `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`
}

/** Multi-document YAML of Kubernetes objects, each opened by `---`, under a header comment. */
function k8sYaml(header: string, objects: readonly Record<string, unknown>[]): string {
  return `${header}${objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join('')}`
}

/**
 * Online Boutique as applied (`kubectl apply -f`): the Namespace, and per service a Deployment
 * (one replica, the pod labels on its template) and a ClusterIP Service selecting its pods.
 * @remarks Upstream: github.com/GoogleCloudPlatform/microservices-demo `release/kubernetes-manifests.yaml`
 * (image names, container and Service ports); the pod labels are the demo's.
 */
function boutiqueManifests(): string {
  const objects: Record<string, unknown>[] = [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: BOUTIQUE_NAMESPACE,
        labels: { 'kubernetes.io/metadata.name': BOUTIQUE_NAMESPACE },
      },
    },
  ]
  for (const [svc, , containerPort] of BOUTIQUE_SERVICES) {
    const selector = { app: 'boutique', role: svc }
    objects.push(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: svc, namespace: BOUTIQUE_NAMESPACE, labels: selector },
        spec: {
          replicas: 1,
          selector: { matchLabels: selector },
          template: {
            metadata: { labels: boutiqueLabels(svc) },
            spec: {
              containers: [
                {
                  name: svc === 'redis-cart' ? 'redis' : 'server',
                  image: svc === 'redis-cart' ? 'redis:alpine' : `${IMAGE}/${svc}:v0.10.3`,
                  ports: [{ containerPort }],
                },
              ],
            },
          },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: svc, namespace: BOUTIQUE_NAMESPACE, labels: selector },
        spec: {
          type: 'ClusterIP',
          selector,
          ports: [
            {
              name: svc === 'redis-cart' ? 'tcp-redis' : svc === 'frontend' ? 'http' : 'grpc',
              port: SERVICE_PORT[svc] ?? containerPort,
              targetPort: containerPort,
            },
          ],
        },
      },
    )
  }
  return k8sYaml(
    `# Online Boutique manifests as applied to the cluster (kubectl apply -f).\n# Generated by examples/demo/generate.ts (npm run demo:generate); do not edit by hand.\n`,
    objects,
  )
}

/**
 * What `kubectl get replicasets,pods -n boutique -o yaml` prints for the running estate: a
 * `kind: List` whose Pods (with `status.podIPs`) are owned by ReplicaSets owned by the Deployments
 * of {@link boutiqueManifests} (matched by namespace, kind and name), so the Kubernetes inventory source names each workload `boutique/<name>[Deployment]`
 * and gives it the pod's address.
 */
function boutiquePods(): string {
  const created = new Date(DEMO_START - 7 * DAY).toISOString().replace('.000Z', 'Z')
  const items: Record<string, unknown>[] = []
  BOUTIQUE.forEach((h, i) => {
    const rs = `${h.svc}-${replicaSetHash(i)}`
    const selector = { app: 'boutique', role: h.svc }
    const rsUid = uid('ReplicaSet', rs)
    items.push(
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: rs,
          namespace: BOUTIQUE_NAMESPACE,
          uid: rsUid,
          creationTimestamp: created,
          labels: { ...selector, 'pod-template-hash': replicaSetHash(i) },
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              name: h.svc,
              uid: uid('Deployment', h.svc),
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: { replicas: 1 },
        status: { replicas: 1, readyReplicas: 1 },
      },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: h.pod,
          namespace: BOUTIQUE_NAMESPACE,
          uid: uid('Pod', h.pod),
          creationTimestamp: created,
          labels: { ...boutiqueLabels(h.svc), 'pod-template-hash': replicaSetHash(i) },
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'ReplicaSet',
              name: rs,
              uid: rsUid,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: { nodeName: `node-${'abc'[Number(h.ip.split('.')[2]) - 1] ?? 'a'}` },
        status: { phase: 'Running', podIP: h.ip, podIPs: [{ ip: h.ip }] },
      },
    )
  })
  return (
    `# kubectl get replicasets,pods -n ${BOUTIQUE_NAMESPACE} -o yaml (trimmed): the running pods and their owners.\n` +
    `# Generated by examples/demo/generate.ts (npm run demo:generate); do not edit by hand.\n` +
    stringify({ apiVersion: 'v1', kind: 'List', items }, { lineWidth: 0 })
  )
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
  # the cluster is enforced: NetworkPolicy and Cilium policies have no monitor-only mode
  - { selector: { namespace: boutique }, mode: enforce }
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
  write('inventory/boutique-manifests.yaml', boutiqueManifests())
  write('inventory/boutique-pods.yaml', boutiquePods())
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
