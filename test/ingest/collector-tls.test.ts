/**
 * @module `collect` over TLS: IPFIX Messages in TLS over TCP on 127.0.0.1, with and without
 * client certificates (test/fixtures/tls, see its README).
 */
import { readFileSync } from 'node:fs'
import { connect as tcpConnect } from 'node:net'
import { connect, type TLSSocket } from 'node:tls'
import { describe, expect, it } from 'vitest'
import { parseListen, tlsMaterial } from '../../src/cli/commands/collect.js'
import { UsageError } from '../../src/cli/output.js'
import { startCollector, type Collector, type CollectorTls } from '../../src/ingest/collector.js'
import {
  body,
  collectOver,
  IPFIX_MESSAGES as MESSAGES,
  runCollect,
  streamCollector,
  until,
} from './collect-helper.js'
import { concat } from './netflow-builders.js'

const DIR = 'test/fixtures/tls'
const pem = (name: string): Buffer => readFileSync(`${DIR}/${name}`)
const SERVER: CollectorTls = { cert: pem('collector.pem'), key: pem('collector.key') }
const MUTUAL: CollectorTls = { ...SERVER, ca: pem('ca.pem') }

/** A TLS collector on 127.0.0.1 ({@link streamCollector}). */
const tlsCollector = (tls: CollectorTls): ReturnType<typeof streamCollector> =>
  streamCollector({ transport: 'tls', tls })

/**
 * A TLS exporter on 127.0.0.1 that checks the collector's certificate against the test CA and
 * presents `client` (a fixture name without extension) when given.
 * @returns the socket once the handshake is done, or the handshake's error.
 */
async function exporter(port: number, client?: string): Promise<TLSSocket | Error> {
  return new Promise((resolve) => {
    const s = connect({
      host: '127.0.0.1',
      port,
      ca: pem('ca.pem'),
      ...(client !== undefined ? { cert: pem(`${client}.pem`), key: pem(`${client}.key`) } : {}),
    })
    s.once('secureConnect', () => resolve(s))
    s.once('error', (err: Error) => resolve(err))
  })
}

/** Writes `bytes` and waits until the collector has them (TLS 1.3 refusals come after the handshake). */
async function send(s: TLSSocket, bytes: Uint8Array): Promise<void> {
  await new Promise<void>((res, rej) => s.write(bytes, (err) => (err ? rej(err) : res())))
}

describe('TLS collector (IPFIX over TLS, RFC 7011 §11)', () => {
  it('decodes IPFIX in TLS as over UDP, its flows from tls://', async () => {
    const udp = await collectOver(MESSAGES, 4)
    const { c, flows } = await tlsCollector(SERVER)
    expect(c.address.transport).toBe('tls')
    const s = await exporter(c.address.port)
    if (s instanceof Error) throw s
    const port = s.localPort
    try {
      await send(s, concat(...MESSAGES))
      await until(() => flows.length === 4)
    } finally {
      s.destroy()
      await c.close()
    }
    expect(flows.map(body)).toEqual(udp.flows.map(body))
    expect(flows[0]?.source.file).toBe(`tls://127.0.0.1:${String(port)}`)
    expect(c.datagrams()).toBe(4)
    expect(c.stats.skipped).toEqual({})
  })

  it('with CAs, takes an exporter they sign and refuses one with no certificate or another', async () => {
    const { c, flows, warnings } = await tlsCollector(MUTUAL)
    try {
      const signed = await exporter(c.address.port, 'exporter')
      if (signed instanceof Error) throw signed
      await send(signed, concat(...MESSAGES))
      await until(() => flows.length === 4)
      signed.end() // closed in good order: a reset would add a warning of its own
      await until(() => c.connections() === 0)
      for (const client of [undefined, 'stranger']) {
        const s = await exporter(c.address.port, client)
        // TLS 1.3: the client may finish its side before the collector refuses the certificate
        if (!(s instanceof Error)) s.write(concat(...MESSAGES), () => undefined)
      }
      await until(() => c.stats.skipped['tls-handshake'] === 2)
    } finally {
      await c.close()
    }
    expect(flows).toHaveLength(4)
    expect(warnings).toHaveLength(2)
    // OpenSSL's reason, one line: `peer did not return a certificate`, `certificate verify failed`…
    expect(warnings[0]).toMatch(/^tls:\/\/127\.0\.0\.1:\d+: TLS handshake failed \([a-z ]+\)$/)
    // a certificate the CAs did not sign: Node closes the socket after the handshake (no OpenSSL
    // error, so "socket hang up" and no address) and keeps the reason in authorizationError
    expect(warnings[1]).toMatch(
      /^tls:\/\/127\.0\.0\.1:\d+: TLS handshake failed \(certificate not verified: DEPTH_ZERO_SELF_SIGNED_CERT\)$/,
    )
  })

  it('counts an exporter that speaks plain TCP to the TLS port as a failed handshake', async () => {
    const { c, flows } = await tlsCollector(SERVER)
    try {
      const s = tcpConnect({ host: '127.0.0.1', port: c.address.port })
      s.on('error', () => undefined)
      s.write(concat(...MESSAGES))
      await until(() => c.stats.skipped['tls-handshake'] === 1)
      s.destroy()
    } finally {
      await c.close()
    }
    expect(flows).toHaveLength(0)
  })

  it('refuses to start without its TLS material, or with a key of another certificate', async () => {
    const start = (tls?: CollectorTls): Promise<Collector> =>
      startCollector({
        host: '127.0.0.1',
        port: 0,
        transport: 'tls',
        ...(tls ? { tls } : {}),
        onFlow: () => undefined,
      })
    await expect(start()).rejects.toThrow(TypeError)
    await expect(start({ cert: SERVER.cert, key: pem('exporter.key') })).rejects.toThrow(
      /key values mismatch/,
    )
  })
})

describe('bulkhead collect --listen tls://', () => {
  it('parses tls:// listeners', () => {
    expect(parseListen('tls://127.0.0.1:4740')).toEqual({
      transport: 'tls',
      host: '127.0.0.1',
      port: 4740,
    })
  })

  it('prints the flows of an exporter with a signed certificate', async () => {
    const { out, err, run, restore } = runCollect([
      '--listen',
      'tls://127.0.0.1:0',
      '--tls-cert',
      `${DIR}/collector.pem`,
      '--tls-key',
      `${DIR}/collector.key`,
      '--tls-ca',
      `${DIR}/ca.pem`,
      '--count',
      '4',
      '--duration',
      '6',
    ])
    let s: TLSSocket | Error | undefined
    try {
      let port = 0
      await until(() => {
        const m = /listening on tls 127\.0\.0\.1:(\d+)/.exec(err.join(''))
        port = m ? Number(m[1]) : 0
        return port > 0
      })
      s = await exporter(port, 'exporter')
      if (s instanceof Error) throw s
      await send(s, concat(...MESSAGES))
      await run
    } finally {
      if (s && !(s instanceof Error)) s.destroy()
      restore()
    }
    const printed = out.map((l) => JSON.parse(l) as { srcPort: number; source: { file: string } })
    expect(printed.map((f) => f.srcPort)).toEqual([1, 2, 3, 4])
    expect(printed[0]?.source.file).toMatch(/^tls:\/\/127\.0\.0\.1:/)
    expect(err.join('')).toMatch(
      /printed 4 of 4 decoded flows from 4 messages on tls 127\.0\.0\.1:/,
    )
  }, 8000)

  it('says what is wrong with the TLS options, each a usage error', () => {
    const tls = parseListen('tls://127.0.0.1:0')
    const tcp = parseListen('tcp://127.0.0.1:0')
    const files = { tlsCert: `${DIR}/collector.pem`, tlsKey: `${DIR}/collector.key` }
    expect(tlsMaterial({ listen: [tcp] })).toBeUndefined()
    expect(tlsMaterial({ listen: [tcp, tls], ...files })?.ca).toBeUndefined()
    const cases: [Parameters<typeof tlsMaterial>[0], RegExp][] = [
      [{ listen: [tls] }, /needs --tls-cert and --tls-key/],
      [{ listen: [tls], tlsCert: files.tlsCert }, /needs --tls-cert and --tls-key/],
      [{ listen: [tcp], ...files }, /--tls-cert, --tls-key: only a tls:\/\/ listener/],
      [{ listen: [tls], ...files, tlsCa: `${DIR}/missing.pem` }, /cannot read --tls-ca .*ENOENT/],
      // a certificate given as the key, and a key of another certificate
      [{ listen: [tls], ...files, tlsKey: files.tlsCert }, /cannot use --tls-cert/],
      [{ listen: [tls], ...files, tlsKey: `${DIR}/exporter.key` }, /cannot use --tls-cert/],
    ]
    for (const [opts, message] of cases) {
      let thrown: unknown
      try {
        tlsMaterial(opts)
      } catch (err) {
        thrown = err
      }
      expect(thrown, String(message)).toBeInstanceOf(UsageError)
      expect((thrown as Error).message).toMatch(message)
    }
  })
})
