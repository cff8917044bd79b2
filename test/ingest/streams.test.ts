/**
 * Files that can be read once (FIFOs, pipes), damaged gzip, and containers no parser reads:
 * detection looks at the head of the one stream the parser then reads whole.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { createWriteStream } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { open, type FileHandle } from 'node:fs/promises'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { BulkheadError, type Flow } from '../../src/core/index.js'
import { openBytes } from '../../src/ingest/lines.js'
import { readFlows, type FileSummary, type ReadOptions } from '../../src/ingest/read.js'
import { fixtureText } from './text-helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'bulkhead-streams-'))
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

async function read(
  file: string,
  format: ReadOptions['format'] = 'auto',
): Promise<{ flows: Flow[]; summaries: FileSummary[] }> {
  const summaries: FileSummary[] = []
  const flows: Flow[] = []
  for await (const f of readFlows([file], { format, strict: false }, summaries)) flows.push(f)
  return { flows, summaries }
}

const codeOf = async (p: Promise<unknown>): Promise<string | undefined> => {
  try {
    await p
    return undefined
  } catch (e) {
    return e instanceof BulkheadError ? e.diagnostics[0]?.code : String(e)
  }
}

describe('a FIFO is opened once', () => {
  it.skipIf(process.platform === 'win32')(
    'every record is read, none lost to detection, no hang',
    async () => {
      const fifo = join(dir, 'flows.fifo')
      execFileSync('mkfifo', [fifo])
      const text = fixtureText('aws-v2.log')
      const writer = createWriteStream(fifo)
      writer.end(text)
      const { flows, summaries } = await read(fifo)
      const plain = join(dir, 'plain.log')
      writeFileSync(plain, text)
      expect(flows).toEqual(
        (await read(plain)).flows.map((f) => ({ ...f, source: { ...f.source, file: fifo } })),
      )
      expect(summaries[0]?.format).toBe('aws-vpc')
    },
    20_000,
  )
})

describe('a file of many read chunks', () => {
  // 1 300 000 bytes of text (no gzip magic, no CR): five chunks of 256 KiB and a short last one
  const bytes = Buffer.alloc(1_300_000)
  for (let i = 0; i < bytes.length; i++) bytes[i] = i % 97 === 96 ? 10 : 97 + ((i * 7919) % 26)
  const file = join(dir, 'chunks.txt')
  writeFileSync(file, bytes)
  // descriptors of this process open on the file (Linux: /proc/self/fd)
  const handles = (): number =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === file
      } catch {
        return false
      }
    }).length

  it('is read whole and in order, each chunk in a buffer of its own', async () => {
    const chunks: Uint8Array[] = []
    for await (const c of openBytes(file)) chunks.push(c)
    expect(chunks.length).toBeGreaterThan(4)
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true)
    expect(new Set(chunks.map((c) => c.buffer)).size).toBe(chunks.length)
  })

  it.skipIf(process.platform !== 'linux')(
    'closes the file when its reader stops early, the read ahead in flight included (needs /proc)',
    async () => {
      const before = handles()
      let n = 0
      for await (const c of openBytes(file)) {
        n += c.length
        expect(handles()).toBe(before + 1)
        break
      }
      expect(n).toBeGreaterThan(0)
      expect(handles()).toBe(before)
    },
  )

  it('a read that fails while the chunk before is still being used is io/read-failed, no unhandled rejection', async () => {
    // the read of the next chunk is started before a chunk is given out; it may fail while the
    // consumer still works on that chunk, with nothing awaiting it yet
    const probe = await open(file, 'r')
    const proto = Object.getPrototypeOf(probe) as { read: FileHandle['read'] }
    await probe.close()
    // the FileHandle method, called with a handle as `this` below
    const read = proto.read
    let reads = 0
    const spy = vi.spyOn(proto, 'read').mockImplementation(function (this: FileHandle, ...args) {
      if (++reads === 2)
        return Promise.reject(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }))
      return (read as (...a: unknown[]) => ReturnType<FileHandle['read']>).apply(this, args)
    })
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason)
    }
    process.on('unhandledRejection', onUnhandled)
    try {
      const err = await (async () => {
        for await (const c of openBytes(file)) {
          void c
          // the consumer at work (I/O of its own) while the next read fails
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
      })().catch((e: unknown) => e)
      expect(err).toBeInstanceOf(BulkheadError)
      expect((err as BulkheadError).diagnostics[0]?.code).toBe('io/read-failed')
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
      spy.mockRestore()
    }
  })

  it('a folder read as a file is io/read-failed', async () => {
    const err = await (async () => {
      for await (const c of openBytes(dir)) void c
    })().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BulkheadError)
    expect((err as BulkheadError).diagnostics[0]?.code).toBe('io/read-failed')
  })
})

describe('damaged gzip', () => {
  const text = fixtureText('aws-v2.log')

  it('a small gzip cut or corrupt before any flow is ingest/truncated-input, not an empty file', async () => {
    const gz = gzipSync(text)
    const cut = join(dir, 'cut.log.gz')
    writeFileSync(cut, gz.subarray(0, 10))
    expect(await codeOf(read(cut))).toBe('ingest/truncated-input')
    const corrupt = join(dir, 'corrupt.log.gz')
    const bad = Buffer.from(gz)
    bad[bad.length - 6] = (bad[bad.length - 6] ?? 0) ^ 0xff // the CRC-32 at the end
    writeFileSync(corrupt, bad)
    expect(await codeOf(read(corrupt))).toBe('ingest/truncated-input')
  })
})

describe('bytes after the last gzip member', () => {
  const text = fixtureText('aws-v2.log')

  it('are ignored and noted, as gzip(1) does; every record of the members is read', async () => {
    const plain = join(dir, 'whole.log')
    writeFileSync(plain, text)
    const whole = (await read(plain)).flows
    const junk = join(dir, 'junk.log.gz')
    writeFileSync(junk, Buffer.concat([gzipSync(text), Buffer.from('<html>AccessDenied</html>\n')]))
    const { flows, summaries } = await read(junk)
    expect(flows.map((f) => ({ ...f, source: { ...f.source, file: plain } }))).toEqual(whole)
    expect(summaries[0]?.stats.notes['gzip-trailing-garbage']).toBe(1)
    expect(summaries[0]?.diagnostics ?? []).toEqual([])
    // zero padding (tape blocks, some transfer tools) is not worth a note
    const padded = join(dir, 'padded.log.gz')
    writeFileSync(padded, Buffer.concat([gzipSync(text), Buffer.alloc(512)]))
    const p = await read(padded)
    expect(p.flows.length).toBe(whole.length)
    expect(p.summaries[0]?.stats.notes['gzip-trailing-garbage']).toBeUndefined()
  })
})

describe('compressions and archives no parser reads are named', () => {
  const cases: [string, Uint8Array][] = [
    ['bzip2', Buffer.from('BZh91AY&SY', 'latin1')],
    ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 0])],
    ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0])],
    ['zip', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0])],
    ['tar', Buffer.concat([Buffer.alloc(257), Buffer.from('ustar\0' + '0'.repeat(250))])],
    ['gzip inside gzip', gzipSync(gzipSync(fixtureText('aws-v2.log')))],
  ]
  cases.forEach(([kind, bytes], i) => {
    // a format named on the command line (or for a workspace source) does not make it readable
    it.each(['auto', 'aws-vpc', 'netflow', 'csv'] as const)(
      `${kind}, --format %s`,
      async (format) => {
        const file = join(dir, `download-${i}.log`)
        writeFileSync(file, bytes)
        const err = await read(file, format).catch((e: unknown) => e)
        expect(err).toBeInstanceOf(BulkheadError)
        const d = (err as BulkheadError).diagnostics[0]
        expect(d?.code).toBe('ingest/unknown-format')
        expect(d?.message).toContain(kind)
      },
    )
  })

  it('a CSV whose first lines are blank is detected, as the parser reads it', async () => {
    const file = join(dir, 'blank-first.csv')
    writeFileSync(file, `\uFEFF\n \r\n\n${fixtureText('flows.csv')}`)
    const auto = await read(file)
    const given = await read(file, 'csv')
    expect(auto.summaries[0]?.format).toBe('csv')
    expect(auto.flows.length).toBeGreaterThan(0)
    expect(auto.flows).toEqual(given.flows)
  })

  it('a gcloud export in YAML is named YAML, with the JSON export to use instead', async () => {
    const yaml = [
      '---',
      'insertId: abc',
      'jsonPayload:',
      '  bytes_sent: "1640"',
      '  connection:',
      '    dest_ip: 10.128.0.5',
      '    src_ip: 10.128.0.2',
      '',
    ].join('\n')
    const file = join(dir, 'flows.yaml')
    writeFileSync(file, yaml)
    const err = await read(file).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BulkheadError)
    expect((err as BulkheadError).diagnostics[0]).toMatchObject({
      code: 'ingest/unknown-format',
      message: expect.stringContaining('YAML'),
      hint: expect.stringContaining('--format=json'),
    })
  })

  it.each([
    [
      'Hubble compact',
      'Aug 12 06:08:59.855: default/xwing:43966 (ID:10135) -> default/deathstar-b4b8ccfb5-wc4vr:80 (ID:58295) to-endpoint FORWARDED (TCP Flags: SYN)\n',
      'hubble observe -o jsonpb',
    ],
    [
      'Hubble table',
      'TIMESTAMP             SOURCE                 DESTINATION          TYPE          VERDICT     SUMMARY\nDec 14 08:39:13.654   kube-system/relay:4245   10.0.0.69:47142   to-stack   FORWARDED   TCP Flags: ACK\n',
      'hubble observe -o jsonpb',
    ],
    [
      'Hubble dict',
      '  TIMESTAMP: Jan  1 00:20:34.567\n     SOURCE: 1.1.1.1:31793\nDESTINATION: 2.2.2.2:8080\n       TYPE: Policy denied\n    VERDICT: DROPPED\n    SUMMARY: TCP Flags: SYN\n',
      'hubble observe -o jsonpb',
    ],
    // `hubble observe --print-node-name` (cilium hubble pkg/printer printer_test.go) (s45 QA zhv F2)
    [
      'Hubble compact',
      'Jan  1 00:20:34.567 [k8s1]: 1.1.1.1:31793 (health) -> 2.2.2.2:8080 (ID:12345) Policy denied DROPPED (TCP Flags: SYN)\n',
      'hubble observe -o jsonpb',
    ],
    [
      'Hubble table',
      'TIMESTAMP             NODE   SOURCE          DESTINATION    TYPE            VERDICT   SUMMARY\nJan  1 00:20:34.567   k8s1   1.1.1.1:31793   2.2.2.2:8080   Policy denied   DROPPED   TCP Flags: SYN\n',
      'hubble observe -o jsonpb',
    ],
    [
      'Hubble dict',
      '  TIMESTAMP: Jan  1 00:20:34.567\n       NODE: k8s1\n     SOURCE: 1.1.1.1:31793\nDESTINATION: 2.2.2.2:8080\n       TYPE: Policy denied\n    VERDICT: DROPPED\n    SUMMARY: TCP Flags: SYN\n',
      'hubble observe -o jsonpb',
    ],
    // docs.zeek.org "conn.log" shows records as `jq . conn.log` prints them (s45 QA zhv F3)
    [
      'Zeek JSON pretty-printed or in an array',
      '{\n  "ts": 1591367999.305988,\n  "uid": "CMdzit1AMNsmfAIiQc",\n  "id.orig_h": "192.168.4.76",\n  "id.orig_p": 36844,\n  "id.resp_h": "192.168.4.1",\n  "id.resp_p": 53,\n  "proto": "udp"\n}\n',
      'jq -c',
    ],
    [
      'Zeek JSON pretty-printed or in an array',
      '[{"ts":1591367999.305988,"uid":"CMdzit1AMNsmfAIiQc","id.orig_h":"192.168.4.76","id.orig_p":36844,"id.resp_h":"192.168.4.1","id.resp_p":53,"proto":"udp"}]\n',
      'jq -c',
    ],
    [
      'Zeek conn.log rows without their header',
      '1312967066.683089\tCbrbq2sEpsICunI53\t147.32.84.165\t1027\t74.125.232.195\t80\ttcp\thttp\t0.045\t393\t77\tRSTO\n',
      'zeek-cut -c',
    ],
  ])('%s text is named, with the export to use', async (kind, text, hint) => {
    const file = join(dir, `${kind.replace(/\W+/g, '-')}-${String(text.length)}.txt`)
    writeFileSync(file, text)
    const err = await read(file).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BulkheadError)
    expect((err as BulkheadError).diagnostics[0]).toMatchObject({
      code: 'ingest/unknown-format',
      message: expect.stringContaining(kind),
      hint: expect.stringContaining(hint),
    })
  })

  it('a tar whose first member is a flow log is still named a tar, not read as text', async () => {
    const member = Buffer.from(fixtureText('aws-v2.log'))
    const header = Buffer.alloc(512)
    header.write('vpc.log', 0)
    header.write('ustar\0', 257, 'latin1')
    const file = join(dir, 'logs.tar')
    writeFileSync(file, Buffer.concat([header, member, Buffer.alloc(1024)]))
    expect(await codeOf(read(file))).toBe('ingest/unknown-format')
  })
})
