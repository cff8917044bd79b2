/**
 * @module The two small node programs the kernel harness runs inside network namespaces, as
 * source text (run with `node --input-type=module -e SOURCE CONFIG_JSON`, so that they need no
 * build step and no file of their own): bounded TCP/UDP listeners and connection probes.
 */

/** Listener program. Config: `{"addresses":[ip],"tcp":[ports],"udp":[ports],"lifetimeMs":n}`. */
export const LISTENER_JS = String.raw`// Bounded TCP and UDP listeners for the kernel harness (run inside a network namespace).
// argv[1]: JSON {"addresses":[ip],"tcp":[ports],"udp":[ports],"lifetimeMs":n}. Binds every port on
// every address (so that UDP replies leave from the address that was asked). Prints one JSON line
// {"proto","src","dst","port"} per accepted connection or received datagram. Prints "ready" once every socket
// listens; exits after lifetimeMs or when stdin closes. TCP: writes "ok" and closes. UDP: echoes "ok".
import net from 'node:net'
import dgram from 'node:dgram'

const cfg = JSON.parse(process.argv[1] ?? '{}')
const servers = []
const log = (proto, src, dst, port) =>
  process.stdout.write(JSON.stringify({ proto, src: String(src).replace(/^::ffff:/, ''), dst, port }) + '\n')
const ready = []
for (const host of cfg.addresses ?? []) {
for (const port of cfg.tcp ?? []) {
  const s = net.createServer((c) => {
    c.on('error', () => {})
    log('tcp', c.remoteAddress, host, port)
    c.end('ok')
  })
  servers.push(s)
  ready.push(new Promise((res, rej) => s.listen({ port, host }, res).on('error', rej)))
}
for (const port of cfg.udp ?? []) {
  const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4')
  s.on('message', (_m, r) => {
    log('udp', r.address, host, port)
    s.send('ok', r.port, r.address)
  })
  s.on('error', () => {})
  servers.push(s)
  ready.push(new Promise((res, rej) => { s.once('error', rej); s.bind(port, host, res) }))
}
}
const stop = () => {
  for (const s of servers) try { s.close() } catch {}
  process.exit(0)
}
setTimeout(stop, cfg.lifetimeMs ?? 30000).unref()
process.stdin.on('end', stop)
process.stdin.on('close', stop)
process.stdin.resume()
Promise.all(ready).then(
  () => process.stdout.write('ready\n'),
  (e) => { process.stderr.write('listen failed: ' + e.message + '\n'); process.exit(3) },
)
`

/** Probe program. Config: `{"targets":[{"dst","proto","port"}],"timeoutMs":n,"repeat"?:n,"gapMs"?:n,"concurrency"?:n}`. */
export const PROBE_JS = String.raw`// Connection probes for the kernel harness (run inside a network namespace).
// argv[1]: JSON {"targets":[{"dst","proto":"tcp"|"udp","port"}],"timeoutMs":n,"repeat":n?,"gapMs":n?}.
// Prints a JSON array: for each target, true when it connected (TCP handshake done and "ok" read,
// or a UDP reply received) within timeoutMs. With repeat > 1 (loop mode) every target is
// probed repeat times, one round every gapMs, and the output is the number of failures per target.
import net from 'node:net'
import dgram from 'node:dgram'

const cfg = JSON.parse(process.argv[1] ?? '{}')
const timeoutMs = cfg.timeoutMs ?? 400

function tcp(dst, port) {
  return new Promise((res) => {
    const s = net.connect({ host: dst, port })
    let done = false
    const finish = (ok) => { if (!done) { done = true; clearTimeout(t); s.destroy(); res(ok) } }
    const t = setTimeout(() => finish(false), timeoutMs)
    s.on('data', () => finish(true))
    s.on('error', () => finish(false))
    s.on('end', () => finish(false))
  })
}

function udp(dst, port) {
  return new Promise((res) => {
    const s = dgram.createSocket(dst.includes(':') ? 'udp6' : 'udp4')
    let done = false
    const finish = (ok) => { if (!done) { done = true; clearTimeout(t); try { s.close() } catch {} res(ok) } }
    const t = setTimeout(() => finish(false), timeoutMs)
    s.on('message', () => finish(true))
    s.on('error', () => finish(false))
    s.send('hi', port, dst, (e) => { if (e) finish(false) })
  })
}

const probe = (x) => (x.proto === 'tcp' ? tcp(x.dst, x.port) : udp(x.dst, x.port))

// At most limit probes in flight, so that each probe's timer starts when its connect does and a
// busy event loop cannot expire timers of connections it has not yet served.
async function pool(targets, limit) {
  const out = new Array(targets.length).fill(false)
  let next = 0
  const worker = async () => {
    while (next < targets.length) {
      const i = next++
      out[i] = await probe(targets[i])
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, targets.length) }, worker))
  return out
}

const repeat = Math.min(cfg.repeat ?? 1, 10000)
if (repeat <= 1) {
  const out = await pool(cfg.targets, cfg.concurrency ?? 64)
  process.stdout.write(JSON.stringify(out) + '\n')
} else {
  const failures = cfg.targets.map(() => 0)
  for (let i = 0; i < repeat; i++) {
    const r = await Promise.all(cfg.targets.map(probe))
    r.forEach((ok, j) => { if (!ok) failures[j]++ })
    await new Promise((res) => setTimeout(res, cfg.gapMs ?? 10))
  }
  process.stdout.write(JSON.stringify(failures) + '\n')
}
`
