/**
 * @module Flow file format detection from the first 64 KiB (after gunzip).
 *
 * A packet capture (libpcap or pcapng) is recognised by its magic number alone: the NetFlow /
 * IPFIX in it may come after more than 64 KiB of other traffic, and reading it whole finds it or
 * says there is none (formats/netflow.ts `detectNetflow`).
 */
import { BulkheadError } from '../core/index.js'
import { csvHeaderLacks, missingColumnsText, type CsvColumn } from './formats/csv.js'
import { openBytes } from './lines.js'
import { PARSERS } from './registry.js'
import type { FlowFormat } from './types.js'

/** Bytes of (decompressed) content looked at by detection. */
export const DETECT_BYTES = 64 * 1024

/** Lowest confidence accepted by {@link detectFormat}. */
export const MIN_CONFIDENCE = 0.5

/** Every registered parser's confidence for `head`, best first (ties keep registry order). */
export function rankFormats(head: Uint8Array): { format: FlowFormat; confidence: number }[] {
  const scored = PARSERS.map((p, i) => {
    let c = 0
    try {
      c = p.detect(head)
    } catch {
      c = 0
    }
    return { format: p.format, confidence: Number.isFinite(c) ? c : 0, i }
  })
  scored.sort((a, b) => b.confidence - a.confidence || a.i - b.i)
  return scored.map(({ format, confidence }) => ({ format, confidence }))
}

/** Reads up to {@link DETECT_BYTES} of the decompressed content (less if the gzip is truncated). */
export async function readHead(file: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let n = 0
  try {
    for await (const c of openBytes(file)) {
      parts.push(c)
      n += c.length
      if (n >= DETECT_BYTES) break
    }
  } catch (err) {
    // a truncated gzip still has a usable head; reading the file reports the truncation
    if (!(
      err instanceof BulkheadError &&
      err.diagnostics.some((d) => d.code === 'ingest/truncated-input')
    ))
      throw err
  }
  return Buffer.concat(parts).subarray(0, DETECT_BYTES)
}

/**
 * Reads up to 64 KiB of the (decompressed) file and picks the parser with the highest
 * `detect()` confidence.
 * @throws BulkheadError `ingest/unknown-format` (severity `fatal`) when no parser reaches
 *   {@link MIN_CONFIDENCE}, with a hint listing the `--format` values (or, when the first line
 *   that is not blank nor a `#` comment is a CSV header naming both addresses but lacking
 *   `dst_port` or `protocol`, naming each column it lacks with the header names that column
 *   takes, and a hint to add or rename it, located at the header's line, column 1; the other
 *   cases at line 0, the whole file); `ingest/empty-input` (severity `warning`: zero
 *   flows, not fatal — callers catch it and go on) when the file has no bytes; `io/*` when it
 *   cannot be read.
 */
export async function detectFormat(file: string): Promise<FlowFormat> {
  return detectFromHead(await readHead(file), file)
}

/** Magic numbers of containers and compressions no parser reads, with what to do instead. */
const FOREIGN: readonly {
  readonly magic: readonly number[]
  /** Offset of the magic, bytes (tar's `ustar` is at 257). */
  readonly at?: number
  readonly kind: string
  readonly hint: string
}[] = [
  {
    magic: [0x42, 0x5a, 0x68],
    kind: 'bzip2-compressed',
    hint: 'decompress it first: bunzip2 -k FILE',
  },
  {
    magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],
    kind: 'xz-compressed',
    hint: 'decompress it first: unxz -k FILE',
  },
  {
    magic: [0x28, 0xb5, 0x2f, 0xfd],
    kind: 'zstd-compressed',
    hint: 'decompress it first: unzstd FILE',
  },
  {
    magic: [0x50, 0x4b, 0x03, 0x04],
    kind: 'a zip archive',
    hint: 'unzip it and give the files inside',
  },
  {
    magic: [0x75, 0x73, 0x74, 0x61, 0x72],
    at: 257,
    kind: 'a tar archive',
    hint: 'unpack it first: tar -xf FILE, then give the files inside',
  },
  {
    magic: [0x1f, 0x8b],
    kind: 'gzip inside gzip',
    hint: 'decompress it once first: gunzip -c FILE > FILE.once',
  },
]

/** Text outputs of tools whose other output a parser reads, recognised to say what to export. */
const TEXT_OUTPUTS: readonly {
  readonly test: RegExp
  readonly kind: string
  readonly hint: string
}[] = [
  {
    // `gcloud logging read ... --format=yaml` (blanks, not `\s`, around the key: with `m`, a
    // leading `\s*` ran from every line start over every blank line after it, quadratically)
    test: /^[ \t]*(?:-[ \t]+)?jsonPayload:[ \t]*\r?$/m,
    kind: 'YAML (a gcloud export?)',
    hint: 'export it as JSON: gcloud logging read ... --format=json',
  },
  {
    // `hubble observe -o compact`: `Aug 12 06:08:59.855: default/xwing:43966 (ID:10135) -> …`,
    // with `--print-node-name` `Aug 12 06:08:59.855 [k8s1]: …`
    test: /^\w{3} +\d{1,2} \d\d:\d\d:\d\d\.\d+(?: \[[^\]\n]*\])?: \S+ .*(?:->|<-|<>) \S+/m,
    kind: 'Hubble compact text (hubble observe -o compact)',
    hint: 'export JSON: hubble observe -o jsonpb > flows.json',
  },
  {
    // `hubble observe` (table; `--print-node-name` adds NODE)
    test: /^TIMESTAMP\s+(?:NODE\s+)?SOURCE\s+DESTINATION\s+TYPE\s+VERDICT\s+SUMMARY/m,
    kind: 'a Hubble table (hubble observe)',
    hint: 'export JSON: hubble observe -o jsonpb > flows.json',
  },
  {
    // `hubble observe -o dict`: one `KEY: value` line per field, `TIMESTAMP:` first (`NODE:`
    // next with `--print-node-name`)
    test: /^ *TIMESTAMP: .*\n(?: *NODE: .*\n)? *SOURCE: .*\n *DESTINATION: /m,
    kind: 'Hubble dict text (hubble observe -o dict)',
    hint: 'export JSON: hubble observe -o jsonpb > flows.json',
  },
  {
    // Zeek's JSON conn records pretty-printed (`jq . conn.log`, as docs.zeek.org shows them) or
    // gathered in one array (`jq -s`): the reader takes one record per line
    // (one `\s*` for the blanks and line ends after `{`: two in a row would backtrack through a
    // head of blank lines quadratically)
    test: /^\s*(?:\[\s*)?\{\s*"(?:ts|uid|_path)"\s*:[^\n]*(?:\n[^\n]*){0,8}?"id[._]orig_h"\s*:/,
    kind: 'Zeek JSON pretty-printed or in an array',
    hint: 'write one record per line: jq -c . conn.log > conn.json (an array: jq -c ".[]")',
  },
  {
    // `zeek-cut` rows of conn.log: ts, uid, orig_h, orig_p, resp_h, resp_p, proto, no header
    test: /^\d{9,10}\.\d+\t\S+\t[\d.:a-fA-F]+\t\d+\t[\d.:a-fA-F]+\t\d+\t(?:tcp|udp|icmp|unknown_transport)\t/,
    kind: 'Zeek conn.log rows without their header (zeek-cut output?)',
    hint: 'give conn.log itself, or keep the header: zeek-cut -c',
  },
]

/**
 * The head's first line that is not blank nor a `#` comment, when it reads as a CSV header
 * naming the source and the destination address columns (any of their header names, as the CSV
 * reader takes them: `src_ip`, `srcaddr`, `IPV4_SRC_ADDR`…) but not every other required column:
 * its 1-based line number and the required columns it lacks (`dst_port`, `protocol`). Undefined
 * for any other head (a JSON object or array, a line without both addresses, a complete header),
 * so a file is called CSV only when its header names the addresses of a flow.
 */
function incompleteCsvHeader(
  text: string,
): { line: number; lacks: readonly CsvColumn[] } | undefined {
  const lines = text.split('\n')
  const i = lines.findIndex((l) => !/^[\s\uFEFF]*(?:#|$)/.test(l))
  const first = lines[i]?.replace(/\r$/, '')
  // a JSON object or array is no header, though its keys split at commas read as column names
  if (first === undefined || /^[\s\uFEFF]*[{[]/.test(first)) return undefined
  const lacks = csvHeaderLacks(first)
  if (lacks.length === 0 || lacks.includes('src_ip') || lacks.includes('dst_ip')) return undefined
  return { line: i + 1, lacks }
}

/** Bytes of (decompressed) content {@link assertNotForeign} looks at (a tar's magic is at 257). */
export const FOREIGN_BYTES = 512

/**
 * Refuses a head (the first bytes of the decompressed content) that is a compression or an
 * archive no parser reads: bzip2, xz, zstd, zip, tar, gzip inside gzip. Applies whatever the
 * format (given or detected): no flow log starts so, and read as one it gives only garbage.
 * @throws BulkheadError `ingest/unknown-format` (fatal) saying which, with what to do.
 */
export function assertNotForeign(head: Uint8Array, file: string): void {
  // a tar's first member may look like a flow log
  const foreign = FOREIGN.find((f) => f.magic.every((b, i) => head[(f.at ?? 0) + i] === b))
  if (foreign) {
    throw new BulkheadError([
      {
        code: 'ingest/unknown-format',
        severity: 'fatal',
        message: `${file} is ${foreign.kind}, not a flow log`,
        location: { file, line: 0, column: 0 },
        hint: foreign.hint,
      },
    ])
  }
}

/**
 * {@link detectFormat} on a head already read (the first 64 KiB of the decompressed bytes, or
 * fewer when the file is shorter); `file` names it in errors. Throws as {@link detectFormat}; a
 * head that is a compression or an archive no parser reads (bzip2, xz, zstd, zip, tar, gzip
 * inside gzip) is `ingest/unknown-format` saying which, with what to do.
 */
export function detectFromHead(head: Uint8Array, file: string): FlowFormat {
  assertNotForeign(head, file)
  if (
    head.length === 0 ||
    head.every((b) => b === 0x0a || b === 0x0d || b === 0x20 || b === 0x09)
  ) {
    throw new BulkheadError([
      {
        code: 'ingest/empty-input',
        severity: 'warning',
        message: `${file} is empty: no flows`,
        location: { file, line: 0, column: 0 },
      },
    ])
  }
  const ranked = rankFormats(head)
  const best = ranked[0]
  if (best && best.confidence >= MIN_CONFIDENCE) return best.format
  const formats = PARSERS.map((p) => p.format).join(', ')
  // text outputs of the tools whose other output Bulkhead reads: say which, and what to export
  const text = Buffer.from(head).toString('utf8')
  const known = TEXT_OUTPUTS.find((t) => t.test.test(text))
  if (known) {
    throw new BulkheadError([
      {
        code: 'ingest/unknown-format',
        severity: 'fatal',
        message: `${file} is ${known.kind}, not a flow log format Bulkhead reads`,
        location: { file, line: 0, column: 0 },
        hint: known.hint,
      },
    ])
  }
  // a CSV header that names a flow's addresses but lacks another required column: say which,
  // with the header names it takes (as `--format csv` does for each line)
  const csv = incompleteCsvHeader(text)
  if (csv) {
    throw new BulkheadError([
      {
        code: 'ingest/unknown-format',
        severity: 'fatal',
        message: `${file} reads as CSV, but its header (line ${String(csv.line)}) lacks ${csv.lacks.length === 1 ? 'a required column' : 'required columns'}: ${missingColumnsText(csv.lacks)}`,
        // at the header, not the whole file (line 0): an editor jumps to the line to fix
        location: { file, line: csv.line, column: 1 },
        hint: `add each missing column to the header, or rename the column that holds it to one of its names (any case; a space, dot or dash reads as _); --format csv reads the file as CSV and names what each line lacks`,
      },
    ])
  }
  throw new BulkheadError([
    {
      code: 'ingest/unknown-format',
      severity: 'fatal',
      message: `cannot tell the flow format of ${file}${best && best.confidence > 0 ? ` (closest: ${best.format}, confidence ${best.confidence.toFixed(2)})` : ''}`,
      location: { file, line: 0, column: 0 },
      hint: `name it with --format, one of: ${formats} (an AWS custom format without its header line also needs --fields "version srcaddr ...")`,
    },
  ])
}
