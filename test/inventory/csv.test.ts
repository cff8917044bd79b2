import { describe, expect, it } from 'vitest'
import type { Diagnostic } from '../../src/core/index.js'
import { readCsvInventory } from '../../src/inventory/index.js'
import { loadFromSources } from '../../src/policy/load.js'
import { defaultWorkspace } from '../../src/policy/workspace.js'

const read = (text: string, path = 'inv.csv') => {
  const sink: Diagnostic[] = []
  const workloads = readCsvInventory({ path, text }, sink)
  return { workloads, sink }
}
const at = (d: Diagnostic) =>
  `${d.code} ${d.location?.file}:${d.location?.line}:${d.location?.column}`

describe('CSV inventory', () => {
  it('reads rows with ; or space separated addresses and key=value;key=value labels', () => {
    const { workloads, sink } = read(
      'name,addresses,labels\n' +
        'pay-api-1,10.20.1.11;2001:DB8::11,role=api;app=payments\n' +
        'batch-1,10.30.0.8  10.30.0.9 ; 10.30.0.9,role=batch\n' +
        'bare,,\n',
    )
    expect(sink).toEqual([])
    expect(workloads.map((w) => [w.name, w.addresses.map((a) => a.ip), w.labels])).toEqual([
      ['pay-api-1', ['10.20.1.11', '2001:db8::11'], { app: 'payments', role: 'api' }],
      ['batch-1', ['10.30.0.8', '10.30.0.9'], { role: 'batch' }],
      ['bare', [], {}],
    ])
    expect(workloads[0]?.labelOrigins).toEqual({ app: 'source:csv', role: 'source:csv' })
    expect(workloads[1]?.addresses[1]?.location).toEqual({ file: 'inv.csv', line: 3, column: 20 })
  })

  it('follows RFC 4180: quoted commas, doubled quotes, line breaks inside quotes, CRLF, BOM, any column order', () => {
    const text =
      '\ufeffLabels,Name,Addresses\r\n' +
      '"role=batch;note=say ""hi""","batch, nightly","10.0.0.1\r\n10.0.0.2"\r\n' +
      '\r\n' +
      'role=web,web-1,10.0.0.3\r\n'
    const { workloads, sink } = read(text)
    expect(sink).toEqual([])
    expect(workloads.map((w) => [w.name, w.addresses.map((a) => a.ip), w.labels])).toEqual([
      ['batch, nightly', ['10.0.0.1', '10.0.0.2'], { note: 'say "hi"', role: 'batch' }],
      ['web-1', ['10.0.0.3'], { role: 'web' }],
    ])
    // the second address sits on the next physical line, column 1
    expect(workloads[0]?.addresses[1]?.location).toMatchObject({ line: 3, column: 1 })
    expect(workloads[1]?.location).toMatchObject({ line: 5, column: 1 })
  })

  it.each([
    [
      'bad address',
      'name,addresses\nweb-1,10.0.0.1;10.0.0.300\n',
      ['inventory/bad-address inv.csv:2:16'],
    ],
    [
      'bad address inside quotes',
      'name,addresses\nweb-1,"10.0.0.1, nope"\n',
      ['inventory/bad-address inv.csv:2:18'],
    ],
    [
      'label without =',
      'name,addresses,labels\nweb-1,10.0.0.1,role=web;oops\n',
      ['inventory/bad-label inv.csv:2:25'],
    ],
    [
      'bad label key',
      'name,addresses,labels\nweb-1,10.0.0.1, -x=1\n',
      ['inventory/bad-label inv.csv:2:17'],
    ],
    [
      'repeated label key',
      'name,addresses,labels\nweb-1,10.0.0.1,a=1;a=2\n',
      ['inventory/bad-label inv.csv:2:20'],
    ],
    ['missing column', 'name,labels\nweb-1,a=1\n', ['schema/missing-field inv.csv:1:1']],
    [
      'unknown column',
      'name,addresses,owner\nweb-1,10.0.0.1,x\n',
      ['schema/unknown-field inv.csv:1:16'],
    ],
    ['repeated column', 'name,addresses,Name\n', ['schema/invalid-value inv.csv:1:16']],
    [
      'duplicate name',
      'name,addresses\nweb-1,10.0.0.1\nweb-2,10.0.0.2\nweb-1,10.0.0.3\n',
      ['inventory/duplicate-workload inv.csv:4:1'],
    ],
    ['empty name', 'name,addresses\n ,10.0.0.1\n', ['schema/missing-field inv.csv:2:1']],
    [
      'too many fields',
      'name,addresses\nweb-1,10.0.0.1,x\n',
      ['inventory/malformed-csv inv.csv:2:1'],
    ],
    [
      'unterminated quote',
      'name,addresses\nweb-1,"10.0.0.1\n',
      ['inventory/malformed-csv inv.csv:2:7'],
    ],
    [
      'text after closing quote',
      'name,addresses\n"web-1"x,10.0.0.1\n',
      ['inventory/malformed-csv inv.csv:2:8'],
    ],
  ])('%s is located', (_name, text, expected) => {
    const { workloads, sink } = read(text)
    expect(sink.map(at)).toEqual(expected)
    expect(sink.every((d) => d.severity === 'error')).toBe(true)
    // a bad row is never half-loaded
    if (!expected[0]?.startsWith('inventory/duplicate-workload'))
      expect(workloads.map((w) => w.name)).not.toContain('web-1')
  })

  it("skips Excel's first line sep=, and refuses sep=; with the hint a ';' header gets", () => {
    // Excel reads an optional first line "sep=X" as the field separator X; parsecsv-for-php reads
    // it as /^sep=(.)\r?\n/i (https://github.com/parsecsv/parsecsv-for-php/blob/master/src/Csv.php,
    // _get_delimiter_from_sep_row); before, "sep=" was an unknown column and nothing was read
    const comma = read(
      '\ufeffsep=,\r\nname,addresses,labels\r\nweb-1,10.0.0.1,role=web\r\nweb-2,10.0.0.x,\r\n',
    )
    expect(comma.workloads.map((w) => [w.name, w.labels])).toEqual([['web-1', { role: 'web' }]])
    // lines still count the sep= line
    expect(comma.sink.map(at)).toEqual(['inventory/bad-address inv.csv:4:7'])
    expect(read('SEP=,\nname,addresses\nweb-1,10.0.0.1\n').workloads).toHaveLength(1)
    for (const [text, shown] of [
      ['sep=;\r\nname;addresses\r\nweb-1;10.0.0.1\r\n', '";"'],
      ['sep=\t\nname\taddresses\n', 'tabs'],
      ['sep=|\nname|addresses\n', '"|"'],
    ] as const) {
      const { workloads, sink } = read(text)
      expect(workloads).toEqual([])
      expect(sink.map(at)).toEqual(['inventory/malformed-csv inv.csv:1:1'])
      expect(sink[0]?.message).toContain(`separated by ${shown}, not commas`)
      expect(sink[0]?.hint).toMatch(/^save the file with commas between fields/)
    }
    // "sep=" that is not alone on the first line is still a column name
    expect(read('sep=,name,addresses\n').sink.map((d) => d.code)).toContain('schema/unknown-field')
  })

  it('skips rows whose fields are all empty, as blank lines', () => {
    // Excel's "CSV" writes ",," for a row inside the used range whose cells were cleared, a
    // separator per column of that range (https://mrexcel.com/board/threads/vba-edit-hex-of-existing-csv-style-file.1140952),
    // and Export-Csv '"",""' for an object with empty properties; before, each was
    // schema/missing-field and the whole inventory was refused
    const text =
      'name,addresses,labels\r\n,,\r\nweb-1,10.0.0.1,role=web\r\n , ,\r\n"","",""\r\n,,\r\n'
    const { workloads, sink } = read(text)
    expect(sink).toEqual([])
    expect(workloads.map((w) => [w.name, w.location?.line])).toEqual([['web-1', 3]])
    // a row of empty fields before the header is skipped too
    expect(read(',,\nname,addresses\nweb-1,10.0.0.1\n').workloads.map((w) => w.name)).toEqual([
      'web-1',
    ])
    // a row with some field but no name is still an error
    expect(read('name,addresses,labels\n,10.0.0.1,\n').sink.map(at)).toEqual([
      'schema/missing-field inv.csv:2:1',
    ])
    expect(read('name,addresses,labels\n,,role=web\n').sink.map(at)).toEqual([
      'schema/missing-field inv.csv:2:1',
    ])
  })

  it('duplicate names across CSV files point at the first', () => {
    const r = loadFromSources(
      defaultWorkspace('.'),
      [
        { path: 'inventory/a.csv', text: 'name,addresses\nweb-1,10.0.0.1\n' },
        { path: 'inventory/b.csv', text: 'name,addresses\nweb-1,10.0.0.2\n' },
      ],
      [],
      new Date(0),
    )
    expect(r.diagnostics.map(at)).toEqual(['inventory/duplicate-workload inventory/b.csv:2:1'])
    expect(r.diagnostics[0]?.related).toEqual([{ file: 'inventory/a.csv', line: 2, column: 1 }])
    // in another file: the hint names it
    expect(r.diagnostics[0]?.hint).toMatch(/^first defined at inventory\/a\.csv:2:1; /)
    expect(r.inventory.workloads).toEqual([])
  })

  it("skips Windows PowerShell's #TYPE line, as Import-Csv does", () => {
    // Export-Csv without -NoTypeInformation (Windows PowerShell 5.1's default): a `#TYPE` line,
    // then every field quoted, CRLF (https://learn.microsoft.com/powershell/module/microsoft.powershell.utility/export-csv,
    // https://github.com/PowerShell/PowerShell/issues/5131); before, "#TYPE ..." was an unknown column
    const text = [
      '#TYPE System.Management.Automation.PSCustomObject',
      '"name","addresses","labels"',
      '"web-1","10.0.0.1;10.0.0.2","role=web;env=prod"',
      '"db-1","10.0.0.x","role=db"',
      '',
    ].join('\r\n')
    const { workloads, sink } = read(text)
    expect(workloads.map((w) => [w.name, w.addresses.map((a) => a.ip), w.labels])).toEqual([
      ['web-1', ['10.0.0.1', '10.0.0.2'], { env: 'prod', role: 'web' }],
    ])
    // lines still count the #TYPE line
    expect(sink.map(at)).toEqual(['inventory/bad-address inv.csv:4:9'])
  })

  it('a #TYPE text that is not alone on the first line is still a column name', () => {
    expect(read('#TYPE x,addresses\n').sink.map((d) => d.code)).toContain('schema/unknown-field')
  })

  it('a header separated by ";" or tabs says so in its hint', () => {
    // Excel saves "CSV" with ";" in locales whose decimal mark is ",", as PowerShell's Export-Csv
    // -UseCulture does (https://learn.microsoft.com/powershell/module/microsoft.powershell.utility/export-csv);
    // before, the hint only listed the columns
    const semi = read('name;addresses;labels\r\nweb-1;10.0.0.1;role=web\r\n').sink
    const unknown = semi.find((d) => d.code === 'schema/unknown-field')
    expect(unknown?.hint).toMatch(/^the header is separated by ";": save the file with commas/)
    const tabs = read('name\taddresses\nweb-1\t10.0.0.1\n').sink
    expect(tabs.find((d) => d.code === 'schema/unknown-field')?.hint).toMatch(
      /^the header is separated by tabs/,
    )
    expect(read('nme,addresses\n').sink[0]?.hint).toBe('the columns are name, addresses, labels')
  })
})
