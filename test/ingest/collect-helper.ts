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
import { recV4 } from './netflow-builders.js'

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
 * Runs `bulkhead collect ARGS` in this process with stdout and stderr captured.
 * @returns what it wrote so far (`out`, `err`: growing arrays), the promise of its end, and
 *   `restore()`, which puts stdout and stderr back (call it in `finally`).
 */
export function runCollect(args: readonly string[]): {
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
  const run = program.parseAsync(['collect', ...args], { from: 'user' })
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
