/**
 * Detection of a CSV flow export whose header lacks a required column: `ingest/unknown-format`
 * names the columns it lacks and the header names each takes; other undetectable files keep the
 * generic message.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { BulkheadError, type Flow } from '../../src/core/index.js'
import { detectFromHead } from '../../src/ingest/detect.js'
import { readFlows, type FileSummary } from '../../src/ingest/read.js'
import { runs } from '../helpers/fuzz.js'
import { SEED } from '../helpers/model.js'

const dir = mkdtempSync(join(tmpdir(), 'bulkhead-detect-csv-'))
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

/** The diagnostic detection throws for `text` named `file`. */
function detectError(text: string, file = 'f.csv'): BulkheadError {
  try {
    detectFromHead(Buffer.from(text), file)
  } catch (e) {
    if (e instanceof BulkheadError) return e
    throw e
  }
  throw new Error(`detected: ${text}`)
}

// the header names CSV_COLUMN_ALIASES gives, written out by hand
const PROTOCOL =
  'no protocol column (protocol, proto, ip_protocol, pr, pro, network_transport, network_iana_number)'
const DST_PORT =
  'no dst_port column (dst_port, dstport, destination_port, dest_port, dport, dp, l4_dst_port, ip_dst_port)'

describe('a CSV header lacking a required column', () => {
  it('src_ip,dst_ip,dst_port,bytes read with --format auto names the missing protocol column', async () => {
    const file = join(dir, 'no-protocol.csv')
    writeFileSync(file, 'src_ip,dst_ip,dst_port,bytes\n10.0.0.1,10.0.0.2,443,100\n')
    const summaries: FileSummary[] = []
    const flows: Flow[] = []
    const err = await (async () => {
      for await (const f of readFlows([file], { format: 'auto', strict: false }, summaries))
        flows.push(f)
    })().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BulkheadError)
    const d = (err as BulkheadError).diagnostics[0]
    // at the header's line (before: line 0, the whole file)
    expect(d).toMatchObject({
      code: 'ingest/unknown-format',
      severity: 'fatal',
      location: { file, line: 1, column: 1 },
    })
    expect(d?.message).toBe(
      `${file} reads as CSV, but its header (line 1) lacks a required column: ${PROTOCOL}`,
    )
    expect(d?.hint).toContain('--format csv')
    expect(flows).toEqual([])
  })

  it('an nProbe template without L4_DST_PORT and PROTOCOL, after a comment, names both', () => {
    const d = detectError(
      '# nProbe dump\n\nIPV4_SRC_ADDR|IPV4_DST_ADDR|L4_SRC_PORT|IN_BYTES\n10.0.0.1|10.0.0.2|5000|100\n',
    ).diagnostics[0]
    // at the header, after the comment and the blank line (before: line 0)
    expect(d).toMatchObject({
      code: 'ingest/unknown-format',
      location: { file: 'f.csv', line: 3, column: 1 },
    })
    expect(d?.message).toBe(
      `f.csv reads as CSV, but its header (line 3) lacks required columns: ${DST_PORT}; ${PROTOCOL}`,
    )
  })

  it('IPv6 address columns alone stand for the addresses', () => {
    const d = detectError('IPV6_SRC_ADDR,IPV6_DST_ADDR,PROTOCOL\n').diagnostics[0]
    expect(d?.location).toEqual({ file: 'f.csv', line: 1, column: 1 })
    expect(d?.message).toBe(
      `f.csv reads as CSV, but its header (line 1) lacks a required column: ${DST_PORT}`,
    )
  })

  it.each([
    ['a header without a destination address', 'src_ip,dst_port,protocol\n'],
    ['no delimited line', 'hello world\n'],
    ['columns no flow reader knows', 'a,b,c\n1,2,3\n'],
    ['a JSON object with address keys', '{"srcaddr":"10.0.0.1","dstaddr":"10.0.0.2","x":1}\n'],
    ['the header after another line', 'exported flows\nsrc_ip,dst_ip,bytes\n'],
  ])('%s keeps the generic message', (_, text) => {
    const d = detectError(text).diagnostics[0]
    expect(d?.code).toBe('ingest/unknown-format')
    expect(d?.message).toMatch(/^cannot tell the flow format of f\.csv/)
    expect(d?.location).toEqual({ file: 'f.csv', line: 0, column: 0 })
  })
})

describe('a CSV flow export that opens with # comment lines', () => {
  // a header after two comment lines, and a comment between records, as exporters write a
  // provenance line. Worked by hand: --format auto detects csv; the two records are the flows
  // (lines 4 and 6), without packets (counters-not-logged) or times (the file's mtime); the three
  // comment lines are noted comment-line, nothing is skipped. Before: `cannot tell the flow
  // format` (CSV's detection read the first line only), and with --format csv the two leading
  // comments were skipped as no-header and the third as field-count (malformed; fatal with --strict)
  const text = [
    '# exported by flowtool 1.2',
    '  # 2024-05-01, UTC',
    'src_ip,dst_ip,dst_port,protocol,bytes',
    '10.0.0.1,10.0.0.2,443,tcp,100',
    '# next batch',
    '10.0.0.3,10.0.0.4,53,udp,60',
    '',
  ].join('\n')

  it('is detected as csv, and its comments are skipped and counted, not malformed', async () => {
    expect(detectFromHead(Buffer.from(text), 'c.csv')).toBe('csv')
    const file = join(dir, 'commented.csv')
    writeFileSync(file, text)
    for (const strict of [false, true]) {
      const summaries: FileSummary[] = []
      const flows: Flow[] = []
      for await (const f of readFlows([file], { format: 'auto', strict }, summaries)) flows.push(f)
      expect(
        flows.map((f) => [f.src, f.dst, f.protocol, f.dstPort, f.bytes, f.source.line]),
      ).toEqual([
        ['10.0.0.1', '10.0.0.2', 6, 443, 100, 4],
        ['10.0.0.3', '10.0.0.4', 17, 53, 60, 6],
      ])
      expect(summaries[0]?.format).toBe('csv')
      expect(summaries[0]?.stats.skipped).toEqual({})
      expect(summaries[0]?.stats.notes).toEqual({
        'comment-line': 3,
        'counters-not-logged': 2,
        'time-from-file-mtime': 2,
      })
    }
  })

  it('a # line inside a quoted field is part of the record, not a comment', async () => {
    const file = join(dir, 'quoted.csv')
    writeFileSync(
      file,
      'src_ip,dst_ip,dst_port,protocol,note\n10.0.0.1,10.0.0.2,443,tcp,"two\n# lines"\n',
    )
    const summaries: FileSummary[] = []
    const flows: Flow[] = []
    for await (const f of readFlows([file], { format: 'csv', strict: true }, summaries))
      flows.push(f)
    expect(flows.map((f) => f.source.line)).toEqual([2])
    expect(summaries[0]?.stats.notes['comment-line']).toBeUndefined()
  })
})

describe('a CSV header written as a # comment (s32)', () => {
  // nProbe's text dumps open with the template as a comment: `#IPV4_SRC_ADDR|IPV4_DST_ADDR|…`.
  // By hand: a comment before it that is no header is a comment; the `#` line that reads as a
  // complete header is the header (not noted), its repeat later is skipped as a repeated header
  // is, and a comment between records is noted. Flows: lines 3 and 5. Before: `cannot tell the
  // flow format` (the header was taken for a comment)
  const text = [
    '# nprobe -P /var/nprobe -D t',
    '#IPV4_SRC_ADDR|IPV4_DST_ADDR|L4_SRC_PORT|L4_DST_PORT|PROTOCOL|IN_PKTS|IN_BYTES|FIRST_SWITCHED|LAST_SWITCHED',
    '10.0.0.1|10.0.0.2|40000|443|6|10|1000|1700000000|1700000060',
    '#IPV4_SRC_ADDR|IPV4_DST_ADDR|L4_SRC_PORT|L4_DST_PORT|PROTOCOL|IN_PKTS|IN_BYTES|FIRST_SWITCHED|LAST_SWITCHED',
    '10.0.0.3|10.0.0.4|40001|53|17|1|60|1700000001|1700000001',
    '# end',
    '',
  ].join('\n')

  it('is the header, detected and read; its repeat is no comment', async () => {
    expect(detectFromHead(Buffer.from(text), 'dump.txt')).toBe('csv')
    const file = join(dir, 'nprobe.txt')
    writeFileSync(file, text)
    const summaries: FileSummary[] = []
    const flows: Flow[] = []
    for await (const f of readFlows([file], { format: 'auto', strict: true }, summaries))
      flows.push(f)
    expect(flows.map((f) => [f.src, f.dstPort, f.protocol, f.bytes, f.source.line])).toEqual([
      ['10.0.0.1', 443, 6, 1000, 3],
      ['10.0.0.3', 53, 17, 60, 5],
    ])
    expect(summaries[0]?.stats.skipped).toEqual({})
    expect(summaries[0]?.stats.notes['comment-line']).toBe(2)
  })
})

// a few header names of each required column, by hand from the README's CSV section
const NAMES = {
  src: ['src_ip', 'srcaddr', 'source', 'sa', 'ipv4_src_addr'],
  dst: ['dst_ip', 'dstaddr', 'destination', 'da', 'ipv4_dst_addr'],
  src6: ['ipv6_src_addr'],
  dst6: ['ipv6_dst_addr'],
  dst_port: ['dst_port', 'dstport', 'dp', 'l4_dst_port'],
  protocol: ['protocol', 'proto', 'pr', 'network_transport'],
  other: ['bytes', 'packets', 'start', 'src_port', 'note', 'host', 'port', 'addr'],
} as const
const POOL = Object.values(NAMES).flat()

describe('detection of generated CSV headers', () => {
  it('names what a header with both addresses lacks; any other header keeps the generic message', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...POOL), { minLength: 1, maxLength: 7 }),
        fc.constantFrom(',', ';', '\t', '|'),
        fc.boolean(),
        fc.boolean(),
        (names, delim, upper, comment) => {
          const has = (k: keyof typeof NAMES): boolean =>
            names.some((n) => (NAMES[k] as readonly string[]).includes(n))
          // IPv6 columns stand for the addresses only when there is no IPv4 one of either end
          const six = !has('src') && !has('dst') && has('src6') && has('dst6')
          const lacks = [
            ...(has('src') || six ? [] : ['src_ip']),
            ...(has('dst') || six ? [] : ['dst_ip']),
            ...(has('dst_port') ? [] : ['dst_port']),
            ...(has('protocol') ? [] : ['protocol']),
          ]
          const header = names.map((n) => (upper ? n.toUpperCase() : n)).join(delim)
          const text = `${comment ? '# exported\n' : ''}${header}\n`
          let d
          try {
            // another reader may take it (`srcaddr<TAB>dstaddr` is an AWS custom-format header)
            if (detectFromHead(Buffer.from(text), 'f.csv') === 'csv') expect(lacks).toEqual([])
            return
          } catch (e) {
            if (!(e instanceof BulkheadError)) throw e
            d = e.diagnostics[0]
          }
          expect(d?.code).toBe('ingest/unknown-format')
          // a complete header is detected, after a comment line too (before: the generic
          // message there, CSV's detection reading the first line only)
          expect(lacks).not.toEqual([])
          if (!lacks.includes('src_ip') && !lacks.includes('dst_ip')) {
            const line = comment ? 2 : 1
            expect(d?.message).toContain(`header (line ${String(line)})`)
            // located at the header (before: line 0, the whole file)
            expect(d?.location).toEqual({ file: 'f.csv', line, column: 1 })
            for (const c of ['dst_port', 'protocol'])
              expect(d?.message.includes(`no ${c} column (`)).toBe(lacks.includes(c))
          } else {
            expect(d?.message).toMatch(/^cannot tell the flow format of f\.csv/)
            expect(d?.location).toEqual({ file: 'f.csv', line: 0, column: 0 })
          }
        },
      ),
      { seed: SEED, numRuns: runs(300) },
    )
  })

  it('any text: detection returns a format or throws a BulkheadError, never another error', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        try {
          detectFromHead(Buffer.from(text), 'f')
        } catch (e) {
          expect(e).toBeInstanceOf(BulkheadError)
        }
      }),
      { seed: SEED, numRuns: runs(300) },
    )
  })
})
