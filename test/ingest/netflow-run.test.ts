/**
 * NetFlow v9 / IPFIX data whose template is in another file of the same read
 * (src/ingest/netflow/run.ts): taken from a file the same exporter process sent, in either order;
 * never from another exporter, a restarted one, or one too far away in time.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Flow } from '../../src/core/flow.js'
import { sameExporterProcess } from '../../src/ingest/netflow/run.js'
import type { HeaderContext } from '../../src/ingest/netflow/templates.js'
import { readFlows, summarize, type FileSummary } from '../../src/ingest/read.js'
import { cli } from '../helpers/cli.js'
import { all } from '../helpers/store.js'
import {
  concat,
  ip4,
  ipfix,
  ipfixOptionsTemplate,
  recV4,
  set,
  templateRecords,
  TPL_V4,
  u32,
  u64,
  u8,
  v9,
  type FieldSpec,
} from './netflow-builders.js'

const dir = mkdtempSync(join(tmpdir(), 'bulkhead-netflow-run-'))
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

let n = 0
function file(...datagrams: Uint8Array[]): string {
  const f = join(dir, `f${n++}.dat`)
  writeFileSync(f, concat(...datagrams))
  return f
}

const SECS = 1_700_000_000
const T0 = SECS * 1000
const record = (sp: number): Uint8Array =>
  recV4({
    src: '10.0.0.1',
    dst: '10.0.0.2',
    sp,
    dp: 443,
    proto: 6,
    pkts: 3,
    bytes: 180,
    start: T0,
    end: T0 + 5,
  })
const tpl = (id: number, fields: readonly FieldSpec[] = TPL_V4): Uint8Array =>
  templateRecords([{ id, fields }])

/** TPL_V4 with the two addresses swapped: the same record reads as the reverse flow. */
const SWAPPED: readonly FieldSpec[] = [[12, 4], [8, 4], ...TPL_V4.slice(2)]

async function read(files: string[]): Promise<{ flows: Flow[]; summaries: FileSummary[] }> {
  const summaries: FileSummary[] = []
  const flows = await all(
    readFlows(files, { format: 'netflow', strict: false, pair: false }, summaries),
  )
  return { flows, summaries }
}

const ofFile = (flows: Flow[], f: string): Flow[] => flows.filter((x) => x.source.file === f)

describe('v9: the exporter is known by its boot time (unix_secs − sysUptime)', () => {
  // boot at SECS − 1000 s; the template 30 s later than the data
  const data = v9({ sysUptime: 1_000_000, secs: SECS, sequence: 7 }, set(256, record(40000)))
  const template = v9({ sysUptime: 1_030_000, secs: SECS + 30, sequence: 8 }, set(0, tpl(256)))

  it('data_before_its_template_file_decodes_as_its_own_file', async () => {
    const d = file(data)
    const t = file(template)
    const { flows, summaries } = await read([d, t])
    expect(flows).toHaveLength(1)
    expect(flows[0]).toMatchObject({
      src: '10.0.0.1',
      dst: '10.0.0.2',
      srcPort: 40000,
      dstPort: 443,
      packets: 3,
      bytes: 180,
      source: { format: 'netflow-v9', file: d, record: 0 },
    })
    expect(summaries.map((s) => s.stats.records)).toEqual([1, 0])
    expect(summarize(summaries, 0).skipped).toEqual({})
  })

  it('template_file_first_decodes_the_same', async () => {
    const d = file(data)
    const t = file(template)
    const { flows } = await read([t, d])
    expect(flows.map((f) => [f.srcPort, f.source.file])).toEqual([[40000, d]])
  })

  it('a_restarted_exporter_or_another_device_does_not_lend_its_template', async () => {
    // same header times but the uptime says the device booted 10 s later: another process
    const other = v9({ sysUptime: 1_020_000, secs: SECS + 30 }, set(0, tpl(256)))
    const d = file(data)
    const { flows, summaries } = await read([d, file(other)])
    expect(flows).toEqual([])
    expect(summarize(summaries, 0).skipped).toEqual({ 'no-template': 1 })
  })

  it('boot_times_agree_within_two_seconds_of_rounding', async () => {
    // unix_secs has whole seconds; uptime has ms: 1.4 s apart is the same boot
    const near = v9({ sysUptime: 1_028_600, secs: SECS + 30 }, set(0, tpl(256)))
    const { flows } = await read([file(data), file(near)])
    expect(flows).toHaveLength(1)
  })

  it('an uptime clock drifting against the wall clock (0.12 % over a day) is the same process', async () => {
    // a day later, the boot time computed from the headers has moved 100 s (a router's NTP-steered
    // clock; 0.24 % was seen in the wild); 1 000 s (1.2 %) is not a drift any more
    const dayLater = (driftSecs: number): Uint8Array =>
      v9(
        { sysUptime: 1_000_000 + 86_400_000 - driftSecs * 1000, secs: SECS + 86_400 },
        set(0, tpl(256)),
      )
    expect((await read([file(data), file(dayLater(100))])).flows).toHaveLength(1)
    expect((await read([file(data), file(dayLater(1000))])).flows).toEqual([])
  })

  it('another_source_id_does_not_lend_its_template', async () => {
    const other = v9({ sysUptime: 1_030_000, secs: SECS + 30, sourceId: 5 }, set(0, tpl(256)))
    const { flows } = await read([file(data), file(other)])
    expect(flows).toEqual([])
  })

  it('a_file_with_its_own_template_decodes_with_it_not_with_another_files', async () => {
    // f1 defines 256 as TPL_V4; f2 holds data for 256 and then its own 256 (addresses swapped)
    const f1 = file(template)
    const f2 = file(
      v9({ sysUptime: 1_000_000, secs: SECS }, set(256, record(40001))),
      v9({ sysUptime: 1_001_000, secs: SECS + 1 }, set(0, tpl(256, SWAPPED))),
    )
    const { flows } = await read([f1, f2])
    expect(ofFile(flows, f2).map((f) => [f.src, f.dst])).toEqual([['10.0.0.2', '10.0.0.1']])
  })

  it('without_other_files_a_file_keeps_to_its_own_templates', async () => {
    const { flows, summaries } = await read([file(data)])
    expect(flows).toEqual([])
    expect(summarize(summaries, 0).skipped).toEqual({ 'no-template': 1 })
  })
})

describe('IPFIX: export times within 31 days and sequence numbers that do not run backwards', () => {
  const data = ipfix({ exportTime: SECS, sequence: 500 }, set(256, record(50000)))
  const tplAt = (
    secs: number,
    sequence: number,
    fields: readonly FieldSpec[] = TPL_V4,
  ): Uint8Array => ipfix({ exportTime: secs, sequence }, set(2, tpl(256, fields)))

  it('a_template_a_week_earlier_decodes_the_data', async () => {
    const d = file(data)
    const { flows } = await read([file(tplAt(SECS - 7 * 86400, 100)), d])
    expect(flows.map((f) => [f.srcPort, f.source.format, f.source.file])).toEqual([
      [50000, 'ipfix', d],
    ])
  })

  it('a_template_forty_days_away_does_not', async () => {
    const { flows, summaries } = await read([file(data), file(tplAt(SECS + 40 * 86400, 9000))])
    expect(flows).toEqual([])
    expect(summarize(summaries, 0).skipped).toEqual({ 'no-template': 1 })
  })

  it('a_later_template_with_a_lower_sequence_number_is_from_a_restart', async () => {
    const { flows } = await read([file(data), file(tplAt(SECS + 60, 3))])
    expect(flows).toEqual([])
  })

  it('of_several_templates_the_one_nearest_in_time_is_used', async () => {
    // the far ones read the addresses swapped; file order does not decide
    const before = file(tplAt(SECS - 10 * 86400, 10, SWAPPED))
    const near = file(tplAt(SECS + 3600, 900))
    const d = file(data)
    const after = file(tplAt(SECS + 20 * 86400, 90000, SWAPPED))
    const { flows } = await read([before, near, d, after])
    expect(flows.map((f) => [f.src, f.dst])).toEqual([['10.0.0.1', '10.0.0.2']])
  })

  it('the system init time (options data) comes from the other file too', async () => {
    // templates and options data in one file, data with uptime-relative times in another
    const init = T0 - 3_600_000
    const options = ipfix(
      { exportTime: SECS - 60, sequence: 400 },
      ipfixOptionsTemplate(500, 1, [
        [144, 4],
        [160, 8],
      ]),
      set(500, concat(u32(1), u64(init))),
      set(
        2,
        tpl(257, [
          [8, 4],
          [12, 4],
          [4, 1],
          [22, 4],
          [21, 4],
        ]),
      ),
    )
    const dataUp = ipfix(
      { exportTime: SECS, sequence: 500 },
      set(257, concat(ip4('10.0.0.1'), ip4('10.0.0.2'), u8(17), u32(1000), u32(4000))),
    )
    const { flows } = await read([file(dataUp), file(options)])
    expect(flows).toEqual([expect.objectContaining({ start: init + 1000, end: init + 4000 })])
  })

  it('another_observation_domain_does_not_lend_its_template', async () => {
    const other = ipfix({ exportTime: SECS, sequence: 400, domain: 9 }, set(2, tpl(256)))
    const { flows } = await read([file(data), file(other)])
    expect(flows).toEqual([])
  })
})

describe('sameExporterProcess', () => {
  const h = (over: Partial<HeaderContext>): HeaderContext => ({
    version: 10,
    exportMs: T0,
    domain: 0,
    sequence: 0,
    record: 0,
    file: 'x',
    ...over,
  })

  it('ipfix_sequence_numbers_wrap_modulo_2_32', () => {
    const t = h({ exportMs: T0, sequence: 0xffff_fff0 })
    expect(sameExporterProcess(h({ exportMs: T0 + 1000, sequence: 5 }), t)).toBe(true)
    expect(sameExporterProcess(h({ exportMs: T0 + 1000, sequence: 0xffff_ff00 }), t)).toBe(false)
  })

  it('never_across_versions', () => {
    expect(sameExporterProcess(h({ version: 9, sysUptimeMs: 0 }), h({}))).toBe(false)
  })
})

describe('the CLI reads every file of a command as one read', () => {
  const data = v9({ sysUptime: 1_000_000, secs: SECS }, set(256, record(40000)))
  const template = v9({ sysUptime: 1_030_000, secs: SECS + 30 }, set(0, tpl(256)))

  it('flows_data_then_template_prints_the_flow', async () => {
    const d = file(data)
    const r = await cli('flows', d, file(template), '-o', 'jsonl')
    expect(r.code, r.stderr).toBe(0)
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { srcPort: number }),
    ).toEqual([
      expect.objectContaining({
        srcPort: 40000,
        source: { format: 'netflow-v9', file: d, record: 0 },
      }),
    ])
  })

  it('ingest_takes_templates_from_a_file_ingested_before', async () => {
    const ws = mkdtempSync(join(dir, 'ws-'))
    const t = file(template)
    const first = await cli('ingest', '-w', ws, t, file(data), '-o', 'json')
    expect(first.code, first.stderr).toBe(0)
    expect(JSON.parse(first.stdout)).toMatchObject({ records: 1 })
    // the template file is not stored again, but its templates still serve new data
    const more = file(
      v9({ sysUptime: 1_060_000, secs: SECS + 60 }, set(256, concat(record(40002), record(40003)))),
    )
    const second = await cli('ingest', '-w', ws, t, more, '-o', 'json')
    expect(second.code, second.stderr).toBe(0)
    expect(JSON.parse(second.stdout)).toMatchObject({ records: 2, skipped: {} })
  })
})
