import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, expect } from 'vitest'
import { azureNsgParser, azureVnetParser } from '../../src/ingest/formats/azure.js'
import { jsonErrorOffset } from '../../src/ingest/json-objects.js'
import { readFlows, type FileSummary } from '../../src/ingest/read.js'
import { readAsFile } from '../helpers/files.js'
import { fixture, fixtureText, runParser } from './text-helpers.js'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

describe('azure-nsg parser (v2)', () => {
  it('reads every tuple with decision, protocol, summed counters, record index', async () => {
    const { flows, ctx } = await runParser(azureNsgParser, fixtureText('azure-nsg-v2.json'), {
      file: 'nsg.json',
    })
    expect(flows).toHaveLength(6)
    expect(flows[0]).toEqual({
      src: '94.102.49.190',
      dst: '10.5.16.4',
      srcPort: 28746,
      dstPort: 443,
      protocol: 17,
      start: 1542110402000,
      end: 1542110402000,
      packets: 0,
      bytes: 0,
      observedAction: 'reject',
      direction: 'client-to-server',
      source: { format: 'azure-nsg', file: 'nsg.json', record: 0 },
    })
    // E with counters 1,66,1,66 → both directions summed
    expect(flows[3]).toMatchObject({
      dst: '13.67.143.117',
      packets: 2,
      bytes: 132,
      observedAction: 'accept',
      direction: 'client-to-server',
    })
    expect(flows[4]).toMatchObject({ packets: 54, bytes: 30986, source: { record: 4 } })
    expect(ctx.stats.skipped).toEqual({ 'bad-address': 1 })
    expect(ctx.stats.examples[0]?.where).toBe('nsg.json#6')
  })

  it('every tuple names its flow as it began: client-to-server as written, never turned or paired', async () => {
    // record 5 is a C tuple from 13.67.143.118:443 (our fixture writes it so on purpose)
    const all = []
    for await (const f of readFlows(
      [fixture('azure-nsg-v2.json')],
      { format: 'azure-nsg', strict: false },
      [],
    ))
      all.push(f)
    expect(all).toHaveLength(6)
    expect(all.every((f) => f.direction === 'client-to-server')).toBe(true)
    expect(all.find((f) => f.source.record === 5)).toMatchObject({
      src: '13.67.143.118',
      srcPort: 443,
      dst: '10.5.16.4',
      dstPort: 59831,
    })
  })

  it('a denied inbound tuple from port 53 stays as the NSG logged it (Microsoft v1 sample)', async () => {
    const doc = JSON.stringify({
      records: [
        {
          properties: {
            Version: 1,
            flows: [
              {
                rule: 'DefaultRule_DenyAllInBound',
                flows: [
                  { mac: 'm', flowTuples: ['1487282481,198.51.100.194,10.1.0.4,53,1732,U,I,D'] },
                ],
              },
            ],
          },
        },
      ],
    })
    const dir = mkdtempSync(join(tmpdir(), 'bulkhead-azure-'))
    const path = join(dir, 'PT1H.json')
    writeFileSync(path, doc)
    const all = []
    try {
      for await (const f of readFlows([path], { format: 'auto', strict: false }, [])) all.push(f)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    expect(all).toEqual([
      expect.objectContaining({
        src: '198.51.100.194',
        srcPort: 53,
        dst: '10.1.0.4',
        dstPort: 1732,
        protocol: 17,
        observedAction: 'reject',
        direction: 'client-to-server',
      }),
    ])
  })

  it('a record nested as {"records": [...]} is read; a record without flows is counted', async () => {
    const rec = (t: string): unknown => ({
      properties: { Version: 1, flows: [{ rule: 'r', flows: [{ mac: 'm', flowTuples: [t] }] }] },
    })
    const doc = JSON.stringify({
      records: [
        rec('1487282421,42.119.146.95,10.1.0.4,51529,5358,T,I,D'),
        { records: [rec('1487282492,175.182.69.29,10.1.0.4,28918,5358,T,I,D')] },
        { time: '2017-02-16T22:00:32Z', category: 'NetworkSecurityGroupFlowEvent' },
      ],
    })
    const { flows, ctx } = await runParser(azureNsgParser, doc)
    expect(flows.map((f) => f.src)).toEqual(['42.119.146.95', '175.182.69.29'])
    expect(ctx.stats.skipped).toEqual({ 'bad-record': 1 })
  })

  it('reads v1 tuples (8 fields, no counters) and skips bad JSON by reason', async () => {
    const v1 = JSON.stringify({
      records: [
        {
          properties: {
            Version: 1,
            flows: [
              {
                rule: 'r',
                flows: [
                  { mac: 'm', flowTuples: ['1487282421,42.119.146.95,10.1.0.4,51529,5358,T,I,D'] },
                ],
              },
            ],
          },
        },
      ],
    })
    const { flows } = await runParser(azureNsgParser, v1)
    expect(flows[0]).toMatchObject({
      src: '42.119.146.95',
      dstPort: 5358,
      protocol: 6,
      observedAction: 'reject',
      packets: 0,
    })
    const bad = await runParser(azureNsgParser, '{"records": [')
    expect(bad.flows).toEqual([])
    expect(bad.ctx.stats.skipped).toEqual({ 'bad-json': 1 })
  })

  it('detects NSG but not VNet documents', () => {
    expect(azureNsgParser.detect(enc(fixtureText('azure-nsg-v2.json')))).toBeGreaterThanOrEqual(0.5)
    expect(azureNsgParser.detect(enc(fixtureText('azure-vnet-v4.json')))).toBeLessThan(0.5)
  })
})

describe('azure-vnet parser (v4)', () => {
  it('reads epoch-ms tuples with IANA protocol, B/C/E accepted and D rejected', async () => {
    const { flows, ctx } = await runParser(azureVnetParser, fixtureText('azure-vnet-v4.json'), {
      file: 'v.json',
    })
    expect(ctx.stats.skipped).toEqual({})
    expect(flows.map((f) => [f.start, f.protocol, f.observedAction, f.packets, f.bytes])).toEqual([
      [1663146003599, 6, 'accept', 0, 0],
      [1663146003606, 6, 'accept', 5, 2347],
      [1663146003637, 6, 'accept', 9, 3000],
      [1663146003640, 17, 'accept', 2, 200],
      [1663146004000, 6, 'reject', 0, 0],
    ])
    expect(flows[1]?.direction).toBe('client-to-server')
    expect(flows[3]).toMatchObject({ src: '2001:db8::6', dst: '2001:db8::99' })
  })

  it("a tuple time in seconds (Microsoft's bandwidth example) is read as seconds and noted", async () => {
    const text = fixtureText('azure-vnet-v4.json').replace('1663146003599,', '1663146003,')
    const { flows, ctx } = await runParser(azureVnetParser, text, { file: 'v.json' })
    expect(flows[0]?.start).toBe(1663146003000)
    expect(flows[1]?.start).toBe(1663146003606)
    expect(ctx.stats.notes['time-in-seconds']).toBe(1)
  })

  it('detects VNet documents, not NSG ones', () => {
    expect(azureVnetParser.detect(enc(fixtureText('azure-vnet-v4.json')))).toBeGreaterThanOrEqual(
      0.5,
    )
    expect(azureVnetParser.detect(enc(fixtureText('azure-nsg-v2.json')))).toBe(0)
  })

  it('auto-detects and reads through readFlows', async () => {
    const s: FileSummary[] = []
    const all = []
    for await (const f of readFlows(
      [fixture('azure-vnet-v4.json')],
      { format: 'auto', strict: false },
      s,
    ))
      all.push(f)
    expect(s[0]?.format).toBe('azure-vnet')
    expect(all).toHaveLength(5)
  })
})

describe('Azure blobs as they arrive', () => {
  const tuple = (i: number): string =>
    `1542110377,10.0.0.4,13.67.143.118,${40000 + (i % 20000)},443,T,O,A,E,1,66,1,66`
  const doc = (n: number): string =>
    JSON.stringify({
      records: [
        {
          properties: {
            Version: 2,
            flows: [
              {
                rule: 'r',
                flows: [{ mac: 'm', flowTuples: Array.from({ length: n }, (_, i) => tuple(i)) }],
              },
            ],
          },
        },
      ],
    })
  const readFile = async (
    name: string,
    text: string | Buffer,
  ): Promise<{ n: number; s: FileSummary }> => {
    const { flows, summary } = await readAsFile(text, { name })
    return { n: flows.length, s: summary }
  }

  it('one compact document on a single line longer than 1 MiB is read whole', async () => {
    const text = doc(40_000)
    expect(text.length).toBeGreaterThan(2 * 1024 * 1024)
    const { n, s } = await readFile('PT1H.json', text)
    expect(n).toBe(40_000)
    expect(s.stats.skipped).toEqual({})
  })

  it('NUL bytes after the document (a preallocated blob) are not JSON and are ignored', async () => {
    const { n, s } = await readFile(
      'nul.json',
      Buffer.concat([Buffer.from(doc(3)), Buffer.alloc(4096)]),
    )
    expect(n).toBe(3)
    expect(s.stats.skipped).toEqual({})
  })

  it('a broken document is one bad-json record located at its line', async () => {
    const pretty = JSON.stringify(JSON.parse(doc(3)), null, 2).replace(
      '"Version": 2,',
      '"Version": 2,,',
    )
    const { n, s } = await readFile('broken.json', pretty)
    expect(n).toBe(0)
    expect(s.stats.skipped).toEqual({ 'bad-json': 1 })
    expect(s.stats.examples[0]?.where).toMatch(/broken\.json:\d+$/)
  })

  it('a broken document is located also when V8 names the token, not the position', async () => {
    // Microsoft's NSG v2 sample as its page prints it: a literal `...` for the records left out
    const lines = JSON.stringify(JSON.parse(doc(3)), null, 2).split('\n')
    lines.splice(lines.length - 3, 0, '    ,', '    ...')
    const { s } = await readFile('ellipsis.json', lines.join('\n'))
    const at = lines.indexOf('    ...') + 1
    expect(s.stats.examples[0]?.where).toMatch(new RegExp(`ellipsis\\.json:${String(at)}$`))
    expect(
      jsonErrorOffset(
        'Unexpected token \'x\', ..."8, 9, 10, x, 11, 12,"... is not valid JSON',
        '[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, x, 11, 12, 13]',
      ),
    ).toBe(32)
    expect(jsonErrorOffset('Unexpected end of JSON input', '{"a":')).toBe(5)
    expect(jsonErrorOffset('something else', '{')).toBeUndefined()
  })

  it('a record nested thousands deep is counted, not a crash', async () => {
    const deep = `${'{"a":'.repeat(6000)}{"x":1}${'}'.repeat(6000)}`
    const { ctx } = await runParser(azureNsgParser, `{"records":[${deep}]}`)
    expect(ctx.stats.skipped).toEqual({ 'bad-record': 1 })
  })

  it('NSG times in milliseconds (seconds expected) are bad-time, not year 50 000', async () => {
    const ms = doc(1).replace('1542110377,', '1542110377000,')
    const { ctx } = await runParser(azureNsgParser, ms)
    expect(ctx.stats.skipped).toEqual({ 'bad-time': 1 })
  })
})
