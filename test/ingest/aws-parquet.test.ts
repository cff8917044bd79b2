/**
 * AWS VPC flow logs delivered as Parquet (formats/aws-parquet.ts): the same rows written as the
 * text format and as Parquet (by DuckDB, with AWS's column names and Parquet types) must give the
 * same flows, skips and notes; bad Parquet files are clear errors.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { DuckDBInstance } from '@duckdb/node-api'
import { BulkheadError } from '../../src/core/index.js'
import type { Flow } from '../../src/core/flow.js'
import { AWS_DEFAULT_FIELDS } from '../../src/ingest/formats/aws-vpc.js'
import { readFlowBatches, readFlowColumns, type FileSummary } from '../../src/ingest/read.js'
import { SEED } from '../helpers/model.js'
import { fuzzTimeout, runs } from '../helpers/fuzz.js'

const dir = mkdtempSync(join(tmpdir(), 'bulkhead-parquet-'))
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

const FIELDS = [...AWS_DEFAULT_FIELDS, 'pkt-srcaddr', 'flow-direction']
/** Parquet types of the fields, as the AWS VPC User Guide lists them ("Parquet data type"). */
const TYPES = [
  'INTEGER',
  'VARCHAR',
  'VARCHAR',
  'VARCHAR',
  'VARCHAR',
  'INTEGER',
  'INTEGER',
  'INTEGER',
  'BIGINT',
  'BIGINT',
  'BIGINT',
  'BIGINT',
  'VARCHAR',
  'VARCHAR',
  'VARCHAR',
  'VARCHAR',
]
/** Rows as the text format writes them (`-` where a field does not apply). */
const ROWS = [
  '5 123456789010 eni-0a1 10.0.1.5 10.0.2.9 49152 5432 6 10 840 1790000000 1790000060 ACCEPT OK - egress',
  '5 123456789010 eni-0a1 10.0.2.9 10.0.1.5 5432 49152 6 8 1200 1790000000 1790000060 ACCEPT OK - ingress',
  '5 123456789010 eni-0a1 203.0.113.7 10.0.1.5 51000 22 6 1 40 1790000010 1790000070 REJECT OK - ingress',
  '5 123456789010 eni-0a1 - - - - - - - 1790000100 1790000160 - NODATA - -',
  '5 123456789010 eni-0b2 2001:db8::5 2001:db8::9 40000 443 6 4 400 1790000200 1790000260 ACCEPT OK - egress',
  '5 123456789010 eni-0b2 10.0.3.3 10.0.1.5 0 0 1 2 168 1790000300 1790000360 ACCEPT OK 192.0.2.44 ingress',
  '5 123456789010 eni-0b2 10.0.1.5 10.0.4.4 40001 80 6 3 180 1790000400 1790000300 ACCEPT OK - egress',
]

/** DuckDB SQL literal of one text field in the column's type (`-` → NULL). */
function literal(text: string, type: string): string {
  if (text === '-') return 'NULL'
  return type === 'VARCHAR' ? `'${text}'` : `${text}::${type}`
}

/** Writes `rows` as Parquet with `names` as column names; returns the path. */
async function writeParquet(
  name: string,
  rows: readonly string[],
  names: readonly string[],
): Promise<string> {
  const file = join(dir, name)
  const selects = rows.map(
    (r) =>
      `SELECT ${r
        .split(' ')
        .map((t, i) => `${literal(t, TYPES[i] as string)} AS "${names[i] as string}"`)
        .join(', ')}`,
  )
  const instance = await DuckDBInstance.create(':memory:')
  const conn = await instance.connect()
  try {
    await conn.run(
      `COPY (${selects.join(' UNION ALL ')}) TO '${file}' (FORMAT parquet, COMPRESSION gzip)`,
    )
  } finally {
    conn.closeSync()
    instance.closeSync()
  }
  return file
}

async function read(
  file: string,
  format: 'auto' | 'aws-vpc' = 'auto',
): Promise<{ flows: Flow[]; summary: FileSummary }> {
  const summaries: FileSummary[] = []
  const flows: Flow[] = []
  for await (const b of readFlowBatches([file], { format, strict: false }, summaries))
    flows.push(...b)
  return { flows, summary: summaries[0] as FileSummary }
}

/** A flow without `source.file`, and with the text format's line made a row number. */
function rowed(f: Flow, headerLines: number): Flow {
  const { file: _file, ...source } = f.source
  return { ...f, source: { ...source, file: '', line: (f.source.line ?? 0) - headerLines } }
}

describe('AWS VPC flow logs as Parquet', () => {
  it('gives_the_flows_skips_and_notes_of_the_same_rows_as_text', async () => {
    const text = join(dir, 'rows.log')
    writeFileSync(text, [FIELDS.join(' '), ...ROWS].join('\n') + '\n')
    const underscored = FIELDS.map((n) => n.replaceAll('-', '_'))
    const parquet = await writeParquet('rows.parquet', ROWS, underscored)
    const a = await read(text)
    const b = await read(parquet)
    expect(b.summary.format).toBe('aws-vpc')
    expect(b.flows.length).toBeGreaterThan(0)
    expect(b.flows.map((f) => rowed(f, 0))).toEqual(a.flows.map((f) => rowed(f, 1)))
    expect(b.summary.stats.skipped).toEqual(a.summary.stats.skipped)
    expect(b.summary.stats.notes).toEqual(a.summary.stats.notes)
    expect(b.summary.stats.notes).toMatchObject({ nodata: 1, 'paired-directions': 1 })
    expect(b.summary.stats.skipped).toEqual({ 'end-before-start': 1 })
    expect(b.summary.stats.examples[0]?.where).toBe(`${parquet}:7`)
    // the ICMP row takes its addresses from pkt-srcaddr, as in text
    expect(b.flows.some((f) => f.src === '192.0.2.44' && f.protocol === 1)).toBe(true)
    // the column path (ingest) reads Parquet as flow objects, the same flows
    const columns: Flow[] = []
    for await (const batch of readFlowColumns([parquet], { format: 'auto', strict: false }, []))
      columns.push(...(Array.isArray(batch) ? batch : batch.toFlows()))
    expect(columns).toEqual(b.flows)
  })

  it('reads_only_the_files_columns_under_a_hive_compatible_prefix', async () => {
    // AWS's Hive-compatible S3 prefixes (`--destination-options HiveCompatiblePartitions=true`)
    // put `key=value` folders in the path; they are no columns of the file (DuckDB would add them)
    const prefix =
      'AWSLogs/aws-account-id=123456789010/aws-service=vpcflowlogs/aws-region=us-east-1/year=2026/month=03/day=02/hour=10'
    mkdirSync(join(dir, prefix), { recursive: true })
    const underscored = FIELDS.map((n) => n.replaceAll('-', '_'))
    const plain = await writeParquet('plain.parquet', ROWS, underscored)
    const hive = await writeParquet(
      `${prefix}/123456789010_vpcflowlogs_us-east-1_fl-0a1_20260302T1000Z_0a1b2c3d.log.parquet`,
      ROWS,
      underscored,
    )
    const a = await read(plain)
    const b = await read(hive)
    expect(b.summary.stats.notes).toEqual(a.summary.stats.notes)
    expect(Object.keys(b.summary.stats.notes).filter((n) => n.startsWith('ignored-field'))).toEqual(
      [],
    )
    expect(b.flows.map((f) => rowed(f, 0))).toEqual(a.flows.map((f) => rowed(f, 0)))
  })

  it('reads_a_file_whose_name_has_glob_characters_alone_not_its_siblings_too', async () => {
    // DuckDB reads a path as a glob: `a*b.parquet` also matched `azzb.parquet`, `q?.parquet`
    // `qa.parquet`, and their rows were read as the file's
    const underscored = FIELDS.map((n) => n.replaceAll('-', '_'))
    const own = ROWS.slice(0, 3)
    const other = ROWS.slice(4, 6)
    for (const [name, sibling] of [
      ['a*b.parquet', 'azzb.parquet'],
      ['q?.parquet', 'qa.parquet'],
      ['[r].parquet', 'r.parquet'],
    ] as const) {
      const file = await writeParquet(name, own, underscored)
      await writeParquet(sibling, other, underscored)
      const got = await read(file)
      const expected = await read(
        await writeParquet(`plain-${String(own.length)}.parquet`, own, underscored),
      )
      expect(got.summary.stats.records).toBe(expected.summary.stats.records)
      expect(got.flows.map((f) => rowed(f, 0))).toEqual(expected.flows.map((f) => rowed(f, 0)))
    }
  })

  it('reports_progress_in_bytes_by_the_share_of_rows_read', async () => {
    const file = join(dir, 'many.parquet')
    const instance = await DuckDBInstance.create(':memory:')
    const conn = await instance.connect()
    await conn.run(
      `COPY (SELECT 2 AS version, '123456789010' AS account_id, 'eni-1' AS interface_id,
         '10.0.0.1' AS srcaddr, '10.0.0.2' AS dstaddr, (1024 + range)::INTEGER AS srcport,
         443 AS dstport, 6 AS protocol, 1::BIGINT AS packets, 40::BIGINT AS bytes,
         (1790000000 + range)::BIGINT AS start, (1790000060 + range)::BIGINT AS "end",
         'ACCEPT' AS action, 'OK' AS log_status FROM range(10000))
       TO '${file}' (FORMAT parquet, ROW_GROUP_SIZE 2048)`,
    )
    conn.closeSync()
    instance.closeSync()
    const seen: number[] = []
    let flows = 0
    for await (const b of readFlowBatches(
      [file],
      { format: 'auto', strict: false, onProgress: (p) => seen.push(p.bytesRead) },
      [],
    ))
      flows += b.length
    expect(flows).toBe(10_000)
    const size = statSync(file).size
    expect(seen.at(-1)).toBe(size)
    expect(seen.filter((n) => n > 0 && n < size).length).toBeGreaterThan(2)
    expect(seen).toEqual([...seen].sort((a, b) => a - b))
  })

  it('reads_an_empty_string_cell_as_no_value_not_as_a_missing_column', async () => {
    // Parquet rewritten by other tools (Athena CTAS, Spark) may hold '' where AWS writes `-`;
    // as a token, '' shifted the later columns and the row was lost as field-count
    const file = join(dir, 'empty-strings.parquet')
    const instance = await DuckDBInstance.create(':memory:')
    const conn = await instance.connect()
    await conn.run(
      `COPY (SELECT 5 AS version, '' AS account_id, 'eni-0a1' AS interface_id,
         '2001:db8::5' AS srcaddr, '2001:db8::9' AS dstaddr, 40000 AS srcport, 443 AS dstport,
         6 AS protocol, 4::BIGINT AS packets, 400::BIGINT AS bytes, 1790000200::BIGINT AS start,
         1790000260::BIGINT AS "end", 'ACCEPT' AS action, 'OK' AS log_status,
         ' ' AS pkt_srcaddr, 'egress' AS flow_direction)
       TO '${file}' (FORMAT parquet)`,
    )
    conn.closeSync()
    instance.closeSync()
    const { flows, summary } = await read(file)
    expect(summary.stats.skipped).toEqual({})
    expect(flows).toHaveLength(1)
    expect(flows[0]).toMatchObject({
      src: '2001:db8::5',
      srcPort: 40000,
      dst: '2001:db8::9',
      dstPort: 443,
      protocol: 6,
      start: 1790000200_000,
      end: 1790000260_000,
      packets: 4,
      bytes: 400,
      observedAction: 'accept',
      source: { line: 1 },
    })
  })

  it('reads_the_field_names_with_hyphens_too', async () => {
    const parquet = await writeParquet('hyphens.parquet', ROWS.slice(0, 3), FIELDS)
    const { flows } = await read(parquet, 'aws-vpc')
    expect(flows.map((f) => `${f.src} ${f.dst} ${String(f.dstPort)}`)).toEqual([
      '10.0.1.5 10.0.2.9 5432',
      '203.0.113.7 10.0.1.5 22',
    ])
  })

  it('refuses_a_parquet_file_without_aws_flow_log_columns', async () => {
    const file = join(dir, 'other.parquet')
    const instance = await DuckDBInstance.create(':memory:')
    const conn = await instance.connect()
    await conn.run(`COPY (SELECT 1 AS a, 'x' AS b) TO '${file}' (FORMAT parquet)`)
    conn.closeSync()
    instance.closeSync()
    await expect(read(file)).rejects.toMatchObject({
      diagnostics: [{ code: 'ingest/unknown-format', location: { file } }],
    })
  })

  it(
    'survives_byte_mutations_of_a_parquet_file_with_flows_or_a_clear_error',
    async () => {
      const whole = readFileSync(await writeParquet('fuzz-base.parquet', ROWS, FIELDS))
      const file = join(dir, 'fuzz.parquet')
      const outcomes = new Set<string>()
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.nat(whole.length - 9), fc.nat(255)), { minLength: 1, maxLength: 8 }),
          async (edits) => {
            const bytes = Buffer.from(whole)
            // keep the leading magic, so the file is still taken for Parquet
            for (const [at, value] of edits) bytes[4 + at] = value
            writeFileSync(file, bytes)
            try {
              const { flows } = await read(file)
              outcomes.add('flows')
              for (const f of flows) expect(f.source.file).toBe(file)
            } catch (err) {
              expect(err).toBeInstanceOf(BulkheadError)
              outcomes.add((err as BulkheadError).diagnostics[0]?.code ?? '?')
            }
          },
        ),
        { seed: SEED, numRuns: runs(150) },
      )
      expect(outcomes).toContain('ingest/truncated-input')
    },
    fuzzTimeout(30_000),
  )

  it('reports_a_cut_parquet_file_as_truncated_input', async () => {
    const whole = await writeParquet('whole.parquet', ROWS, FIELDS)
    const bytes = readFileSync(whole)
    const cut = join(dir, 'cut.parquet')
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)))
    await expect(read(cut)).rejects.toMatchObject({
      diagnostics: [{ code: 'ingest/truncated-input', location: { file: cut } }],
    })
  })
})
