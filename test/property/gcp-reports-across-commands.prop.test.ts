/**
 * @module Property: the SRC and DEST reports of the same GCP VPC traffic are counted once whether
 * their files are read by one `ingest` command or by several (store `gcp_reports`, schema version
 * 6). Generated flow-log records of connections between four VMs, each logged by the client VM,
 * the server VM, both, or one direction only, split at random over two files (`a.json` <
 * `b.json`): stored file by file (either order) or in one command (either order), they give the
 * same `flows` rows (and unpaired-half marks) as the files concatenated in the order they were
 * read, stored as one file, the concatenation's lines mapped back to the files' own. In path
 * order (a then b) that is the concatenation of the files as a sink writes them; in the other
 * order the reports of the file read first are the ones kept (README "Limits today"). Re-ingesting
 * the files adds nothing.
 *
 * Domain: ports that orient every record (a well-known server port, an ephemeral client port), and
 * at most one surviving record per direction of a connection (see pair-across-files.prop.test.ts
 * for why three or more records of one key are order-dependent).
 */
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { ingestFiles } from '../../src/cli/commands/ingest.js'
import { openDuckDbStore } from '../../src/store/index.js'
import { SEED } from '../helpers/model.js'

const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-gcp-prop-'))
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

const RUNS = 25
const T0 = Date.UTC(2026, 0, 1, 0, 0, 0)
const HOSTS = ['10.0.1.7', '10.0.2.9', '10.0.3.4', '10.0.4.2']

/**
 * Who logged a connection: `both-vms` each VM its egress (SRC) and ingress (DEST) record;
 * `client-vm` / `server-vm` one VM only; `one-way` a request without reply seen by both VMs;
 * `far` a request seen by both VMs more than 5 s apart (two transfers, not one).
 */
type Kind = 'both-vms' | 'client-vm' | 'server-vm' | 'one-way' | 'far'

interface Connection {
  readonly client: number
  readonly server: number
  readonly protocol: number
  readonly clientPort: number
  readonly serverPort: number
  readonly kind: Kind
  /** Client VM's interval start (s after T0) and length; the server VM's offset and length. */
  readonly start: number
  readonly length: number
  readonly lag: number
  readonly serverLength: number
  readonly counters: readonly [number, number, number, number, number, number, number, number]
}

const connection: fc.Arbitrary<Connection> = fc
  .record({
    client: fc.nat(HOSTS.length - 1),
    server: fc.nat(HOSTS.length - 2),
    protocol: fc.constantFrom(6, 6, 17),
    clientPort: fc.integer({ min: 32768, max: 60999 }),
    serverPort: fc.constantFrom(443, 53, 5432, 8080),
    kind: fc.constantFrom<Kind>(
      'both-vms',
      'both-vms',
      'both-vms',
      'client-vm',
      'server-vm',
      'one-way',
      'far',
    ),
    start: fc.nat(7200),
    length: fc.nat(10),
    // each VM starts its interval at the first packet it samples: a few seconds apart
    lag: fc.integer({ min: -4, max: 4 }),
    serverLength: fc.nat(10),
    counters: fc.tuple(
      fc.nat(100_000),
      fc.nat(1000),
      fc.nat(100_000),
      fc.nat(1000),
      fc.nat(100_000),
      fc.nat(1000),
      fc.nat(100_000),
      fc.nat(1000),
    ),
  })
  .map((c) => ({ ...c, server: c.server >= c.client ? c.server + 1 : c.server }))

function keyOf(c: Connection): string {
  return `${String(c.protocol)} ${String(c.client)}:${String(c.clientPort)} ${String(c.server)}:${String(c.serverPort)}`
}

const iso = (s: number): string => new Date(T0 + s * 1000).toISOString()

/** The flow-log records of a connection (LogEntry JSON, one per line). */
function recordsOf(c: Connection): string[] {
  const rec = (
    reply: boolean,
    reporter: 'SRC' | 'DEST',
    start: number,
    length: number,
    bytes: number,
    packets: number,
  ): string => {
    const [a, ap, b, bp] = reply
      ? [c.server, c.serverPort, c.client, c.clientPort]
      : [c.client, c.clientPort, c.server, c.serverPort]
    return JSON.stringify({
      logName: 'projects/p/logs/compute.googleapis.com%2Fvpc_flows',
      jsonPayload: {
        connection: {
          src_ip: HOSTS[a],
          src_port: ap,
          dest_ip: HOSTS[b],
          dest_port: bp,
          protocol: c.protocol,
        },
        start_time: iso(start),
        end_time: iso(start + length),
        bytes_sent: String(bytes),
        packets_sent: String(packets),
        reporter,
      },
    })
  }
  const [b1, p1, b2, p2, b3, p3, b4, p4] = c.counters
  const s = c.start
  const t = Math.max(0, c.start + c.lag)
  const clientVm = [rec(false, 'SRC', s, c.length, b1, p1), rec(true, 'DEST', s, c.length, b2, p2)]
  const serverVm = [
    rec(false, 'DEST', t, c.serverLength, b3, p3),
    rec(true, 'SRC', t, c.serverLength, b4, p4),
  ]
  switch (c.kind) {
    case 'both-vms':
      return [...clientVm, ...serverVm]
    case 'client-vm':
      return clientVm
    case 'server-vm':
      return serverVm
    case 'one-way':
      return [clientVm[0] as string, serverVm[0] as string]
    case 'far':
      // 6 s to 10 min after the client VM's record ends
      return [
        clientVm[0] as string,
        rec(false, 'DEST', s + c.length + 6 + (c.lag + 4) * 70, c.serverLength, b3, p3),
      ]
  }
}

/** Connections with distinct keys, their records in a random order, each in one of two files. */
const scenario = fc
  .record({
    connections: fc.uniqueArray(connection, { minLength: 1, maxLength: 10, selector: keyOf }),
    seed: fc.infiniteStream(fc.tuple(fc.nat(1000), fc.nat(1))),
  })
  .map(({ connections, seed }) => {
    const placed = connections.flatMap(recordsOf).map((text) => {
      const [order, file] = seed.next().value as [number, number]
      return { text, order, file }
    })
    placed.sort((x, y) => x.order - y.order)
    const byFile: string[][] = [[], []]
    for (const p of placed) (byFile[p.file] as string[]).push(p.text)
    return byFile
  })

let runs = 0
/** Reports dropped by a later command: the generator must reach it. */
let droppedByLaterCommand = 0

/** The `flows` rows of a store (without `rowid`), each with its `half`, sorted. */
async function rows(
  store: string,
  mapLine?: (file: string, line: number) => [string, number],
): Promise<string[]> {
  const s = await openDuckDbStore(store, { readOnly: true })
  try {
    const got = await s.query<Record<string, unknown>>(
      'SELECT v.* EXCLUDE (rowid), fr.half FROM flows v JOIN flow_rows fr ON fr.rowid = v.rowid',
    )
    return got
      .map((r) => {
        if (mapLine !== undefined) {
          const [file, line] = mapLine(r['file'] as string, r['line'] as number)
          r['file'] = file
          r['line'] = line
        }
        return JSON.stringify(r)
      })
      .sort()
  } finally {
    await s.close()
  }
}

async function ingest(store: string, files: readonly string[]): Promise<number> {
  const out = await ingestFiles(
    files.map((file) => ({ file, format: 'gcp-vpc' as const })),
    store,
    { strict: true, progress: false },
  )
  expect(out.failed).toEqual([])
  return out.notes['duplicate-report'] ?? 0
}

/** The rows of `files` concatenated in this order and stored as one file, mapped back. */
async function concatenation(
  dir: string,
  files: readonly string[],
  tag: string,
): Promise<string[]> {
  const concat = path.join(dir, `all-${tag}.json`)
  writeFileSync(concat, '')
  const offsets: number[] = []
  let at = 0
  for (const f of files) {
    offsets.push(at)
    at += readFileSync(f, 'utf8').split('\n').length - 1
    appendFileSync(concat, readFileSync(f))
  }
  const back = (file: string, line: number): [string, number] => {
    if (file !== concat) return [file, line]
    let i = offsets.length - 1
    while ((offsets[i] as number) >= line) i--
    return [files[i] as string, line - (offsets[i] as number)]
  }
  const store = path.join(dir, `concat-${tag}.duckdb`)
  await ingest(store, [concat])
  return rows(store, back)
}

describe('GCP reports across commands (property)', () => {
  it('files stored one by one or in one command store what their concatenation in read order stores', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (byFile) => {
        const dir = path.join(root, `run-${String(runs++)}`)
        mkdirSync(dir)
        const names = ['a', 'b'].map((n) => path.join(dir, `${n}.json`))
        byFile.forEach((lines, i) => {
          writeFileSync(names[i] as string, lines.map((l) => l + '\n').join(''))
        })
        const store = (name: string): string => path.join(dir, `${name}.duckdb`)
        const forward = await concatenation(dir, names, 'ab')
        const reversed = [...names].reverse()
        const backward = await concatenation(dir, reversed, 'ba')

        for (const name of names) {
          const dropped = await ingest(store('forward'), [name])
          if (name === names[1]) droppedByLaterCommand += dropped
        }
        expect(await rows(store('forward'))).toEqual(forward)
        // idempotent: stored again, nothing changes
        await ingest(store('forward'), names)
        for (const name of names) await ingest(store('forward'), [name])
        expect(await rows(store('forward'))).toEqual(forward)

        for (const name of reversed) await ingest(store('backward'), [name])
        expect(await rows(store('backward'))).toEqual(backward)
        // never counted twice: as many flows in either order
        expect(backward.length).toBe(forward.length)

        await ingest(store('one-run'), names)
        expect(await rows(store('one-run'))).toEqual(forward)
        await ingest(store('one-run-reversed'), reversed)
        expect(await rows(store('one-run-reversed'))).toEqual(backward)
        rmSync(dir, { recursive: true, force: true })
      }),
      { seed: SEED, numRuns: RUNS },
    )
    expect(droppedByLaterCommand).toBeGreaterThan(RUNS)
  }, 600_000)
})
