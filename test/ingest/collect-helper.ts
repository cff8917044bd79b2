/**
 * @module Sends datagrams to a live {@link startCollector} on 127.0.0.1 and gathers its flows,
 * for the collector tests.
 */
import { createSocket, type Socket } from 'node:dgram'
import type { Flow } from '../../src/core/flow.js'
import {
  startCollector,
  type Collector,
  type CollectorOptions,
} from '../../src/ingest/collector.js'

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
