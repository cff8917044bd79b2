/**
 * @module Sends datagrams to a live {@link startCollector} on 127.0.0.1 and gathers its flows,
 * for the collector tests.
 */
import { createSocket, type Socket } from 'node:dgram'
import { Command } from 'commander'
import { vi } from 'vitest'
import { registerCollect } from '../../src/cli/commands/collect.js'
import type { Flow } from '../../src/core/flow.js'
import {
  startCollector,
  type Collector,
  type CollectorOptions,
} from '../../src/ingest/collector.js'
import { concat, ipfix, recV4, set, template, TPL_V4 } from './netflow-builders.js'

/** The start of the sample records, ms since the epoch. */
export const T0 = 1_700_000_000_000

/** A v4-layout (TPL_V4) record 10.9.0.1:`sp` → 10.9.0.2:5432/tcp, 4 packets, 400 octets, at T0. */
export const rec = (sp: number): Uint8Array =>
  recV4({
    src: '10.9.0.1',
    dst: '10.9.0.2',
    sp,
    dp: 5432,
    proto: 6,
    pkts: 4,
    bytes: 400,
    start: T0,
    end: T0 + 50,
  })

/**
 * Starts a collector on 127.0.0.1 (a free port), sends `datagrams` in order, waits until it has
 * given `wanted` flows (at most 4 s), then closes it (which gives out what it still holds). A
 * datagram given as `{ sender, bytes }` is sent from sender socket number `sender` (each its own
 * UDP port; plain datagrams go from sender 0).
 * @returns every flow it gave, in order, and the closed collector (stats, datagram count).
 */
export async function collectOver(
  datagrams: readonly (Uint8Array | { readonly sender: number; readonly bytes: Uint8Array })[],
  wanted: number,
  options: Partial<Omit<CollectorOptions, 'host' | 'port' | 'onFlow'>> = {},
): Promise<{ flows: Flow[]; collector: Collector }> {
  const flows: Flow[] = []
  let done: () => void = () => undefined
  const got = new Promise<void>((r) => (done = r))
  const collector = await startCollector({
    // the two directions are paired only where a test asks: a record would wait for its other
    // direction (CollectorOptions.pairHoldMs) before the test sees it
    pair: false,
    ...options,
    host: '127.0.0.1',
    port: 0,
    onFlow: (f) => {
      flows.push(f)
      if (flows.length === wanted) done()
    },
  })
  const senders = new Map<number, Socket>()
  const timeout = setTimeout(done, 4000)
  try {
    for (const d of datagrams) {
      const { sender: n, bytes } = d instanceof Uint8Array ? { sender: 0, bytes: d } : d
      let sender = senders.get(n)
      if (!sender) senders.set(n, (sender = createSocket('udp4')))
      const s = sender
      await new Promise<void>((res, rej) =>
        s.send(bytes, collector.address.port, '127.0.0.1', (err) => (err ? rej(err) : res())),
      )
    }
    await got
  } finally {
    clearTimeout(timeout)
    for (const s of senders.values()) s.close()
    await collector.close()
  }
  return { flows, collector }
}

/**
 * Runs `bulkhead collect ARGS` in this process with stdout and stderr captured, with `--no-pair`
 * unless `pair` is true (a record would wait for its other direction before it is printed).
 * @returns what it wrote so far (`out`, `err`: growing arrays), the promise of its end, and
 *   `restore()`, which puts stdout and stderr back (call it in `finally`).
 */
export function runCollect(
  args: readonly string[],
  { pair = false }: { pair?: boolean } = {},
): {
  out: string[]
  err: string[]
  run: Promise<unknown>
  restore: () => void
} {
  const out: string[] = []
  const err: string[] = []
  const so = vi
    .spyOn(process.stdout, 'write')
    .mockImplementation((c) => (out.push(String(c)), true))
  const se = vi
    .spyOn(process.stderr, 'write')
    .mockImplementation((c) => (err.push(String(c)), true))
  const program = new Command('bulkhead').exitOverride()
  registerCollect(program)
  const run = program.parseAsync(['collect', ...args, ...(pair ? [] : ['--no-pair'])], {
    from: 'user',
  })
  return {
    out,
    err,
    run,
    restore: () => {
      so.mockRestore()
      se.mockRestore()
    },
  }
}

/** The IPFIX message header fields of {@link IPFIX_MESSAGES}. */
export const IPFIX_HEADER = { exportTime: 1_700_000_000, domain: 9 }

/** Template 256 (the v4 layout), then three IPFIX data messages of 1, 2 and 1 records ({@link rec} 1–4). */
export const IPFIX_MESSAGES: readonly Uint8Array[] = [
  ipfix({ ...IPFIX_HEADER, sequence: 0 }, template(2, 256, TPL_V4)),
  ipfix({ ...IPFIX_HEADER, sequence: 0 }, set(256, rec(1))),
  ipfix({ ...IPFIX_HEADER, sequence: 1 }, set(256, concat(rec(2), rec(3)))),
  ipfix({ ...IPFIX_HEADER, sequence: 3 }, set(256, rec(4))),
]

/** A flow without its `source`: what two transports of the same messages must agree on. */
export const body = ({ source: _, ...f }: Flow): Omit<Flow, 'source'> => f

/** Resolves once `ok()` holds, checking every 5 ms; rejects after 3 s (a test bound, not a measurement). */
export async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (ok()) return
    await new Promise((r) => setTimeout(r, 5))
  }
  throw new Error('condition not reached in 3 s')
}

/**
 * Starts a TCP or TLS collector on 127.0.0.1 (a free port) that gathers its flows and warnings.
 * @returns the running collector (close it), and the arrays it fills.
 */
export async function streamCollector(
  options: Pick<CollectorOptions, 'transport'> &
    Partial<Pick<CollectorOptions, 'tls' | 'maxConnections' | 'pair' | 'pairHoldMs'>>,
): Promise<{ c: Collector; flows: Flow[]; warnings: string[] }> {
  const flows: Flow[] = []
  const warnings: string[] = []
  const c = await startCollector({
    pair: false, // as in collectOver
    ...options,
    host: '127.0.0.1',
    port: 0,
    onFlow: (f) => flows.push(f),
    onWarning: (w) => warnings.push(w),
  })
  return { c, flows, warnings }
}
